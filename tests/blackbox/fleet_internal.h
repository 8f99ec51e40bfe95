/*
 * fleet_internal.h: the fleet's state and what its files share (fleet.h is the interface the
 * tests use). One bot (struct fl_bot) is a player or a spectator at one table, either a felt
 * session in this process (felt_client's struct session) or a `felt --json` process; every bot
 * and table lives in one struct fleet, on one wsloop. Functions are grouped by the file that
 * defines them.
 */
#ifndef FELT_BB_FLEET_INTERNAL_H
#define FELT_BB_FLEET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "client.h"
#include "engine.h"
#include "fleet.h"
#include "harness.h"
#include "proto.h"
#include "rng.h"
#include "util.h"
#include "wsclient.h"

#define FL_BAD_KEPT 3
#define FL_STATE_ROUNDS 50 /* final snapshot fetches per table before giving up */

/* ---- the state ------------------------------------------------------------------------------- */

/* One seat as the fleet's own model keeps it (fleet_model.c says why it keeps any). */
struct fl_player {
    bool present;
    char id[PROTO_NAME_MAX_BYTES + 1];
    int64_t stack;
    bool sitting_out;
};

/* The chips at the table and who sits out, from one client's events, independently of felt's
 * model (struct model): what the chip-conservation check and the end of the run need. */
struct fl_model {
    bool have;
    int64_t hand_id;
    bool hand_running;
    int64_t pots; /* sum of the pots' amounts */
    struct fl_player p[ENGINE_MAX_SEATS];
    int64_t chips; /* chips brought to the table (joins, rebuys, leaves) */
};

struct fl_action {
    char rid[32];
    int64_t hand_id;
    enum engine_action action;
    int64_t amount;
    int acks;
    bool accepted;
    char code[40];
    int first_session; /* the connection (fl_bot.sessions) it was first sent on */
    bool resent;       /* its first ack came on a later socket */
};

struct fl_hand {
    int accepted;    /* actions of ours the server accepted */
    int events;      /* action events of ours, minus the server's own */
    int server_acts; /* actions the server made for us */
};

struct fl_table;
struct fleet;

struct fl_bot {
    struct fleet *f;
    struct fl_table *t;
    int idx;
    bool spectator;
    bool felt;
    char name[32];
    char player_id[PROTO_NAME_MAX_BYTES + 1];
    struct rng rng;

    /* in-process: felt's session (join, hello with last_seq, resume, the outbox) */
    struct session *s;
    bool gave_up; /* the session ended (offline, rejected, failed) */
    /* felt process */
    pid_t pid;
    int in_fd, out_fd;
    char *line;
    size_t line_len, line_cap;
    bool out_eof;
    struct model *own; /* felt's model (model.c) fed with what the process printed */
    /* felt's model of the table: the session's, or own */
    const struct model *view;

    /* connection bookkeeping */
    int sessions; /* connections accepted so far (each resume starts one) */
    bool connected;
    int64_t first_connected_ms, connected_since_ms, connected_ms, disconnected_at_ms;
    uint64_t disconnects, reconnects;
    int64_t max_reconnect_ms;

    /* the stream */
    bool have_seq;
    uint64_t last_seq;
    int snapshots;
    bool need_snapshot; /* spectators: lost the socket, so the next event is a snapshot */
    uint64_t events;
    struct fl_model m;
    bool acted; /* acted on the current turn; cleared by our next
                 * action event (applied, or made by the server) */
    struct wstimer *think;

    /* our actions and their fate */
    struct fl_action *acts;
    size_t nacts, acts_cap;
    struct fl_hand *hands;
    size_t nhands;
    int server_pending; /* timeouts announced whose action has not come yet */
    bool sit_out_sent, sat_out_seen;
    uint64_t rejected;

    int bad;
    char bad_text[FL_BAD_KEPT][300];
};

struct fl_table {
    char id[PROTO_GAME_ID_MAX + 1];
    struct fl_bot **bots; /* players and spectators */
    int nbots;
    uint64_t *hash; /* public content by seq (0: not seen yet) */
    size_t nhash;
    bool finished;
    bool checked;
    int state_rounds;
    bool state_in_flight;
    json_object *final; /* the server's final snapshot data */
    uint64_t final_seq;
};

struct fleet {
    const struct fleet_opts *o;
    struct wsloop *loop;
    struct fl_table *tables;
    struct fl_bot *bots;
    int nbots;
    bool stop_play; /* time is up: sit out now */
    bool calm;
    bool leaving; /* felt processes were told to leave */
    int64_t calm_ms;
    bool timed_out;
    struct wstimer *deadline, *play_timer;
    int failures;
    char first_failure[512];
};

/* ---- fleet.c --------------------------------------------------------------------------------- */

/* Records a problem a bot saw (the first FL_BAD_KEPT are kept); counted as failures at the end. */
void fl_bad(struct fl_bot *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records a failure of the run (the first few are printed on stderr). */
void fl_fail(struct fleet *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int64_t fl_now_ms(void);
/* Stops the loop's current run, so that the phase waiting on it looks again. */
void fl_poke(struct fleet *f);
/* o[key] is the string val. */
bool fl_is_str(json_object *o, const char *key, const char *val);

/* ---- fleet_model.c --------------------------------------------------------------------------- */

/* The model from a snapshot (chips brought: what is on the table). */
void fl_model_snapshot(struct fl_bot *b, json_object *d);
/* Applies a state_update; at a consistent point (the batch's last update, which carries to_act,
 * or a hand's start and end) the chips are checked. */
void fl_model_update(struct fl_bot *b, json_object *d, uint64_t seq);
/* At a consistent point of the stream the chips on the table equal the chips brought to it. */
void fl_model_check_chips(struct fl_bot *b, const char *where, uint64_t seq);
/* Event sm (seq) has the same public content as every other client at the table received, and
 * nothing private of anyone else. */
void fl_model_check_order(struct fl_bot *b, const struct proto_smsg *sm);
/* Compares a client's final view (felt's model) with the server's final snapshot. */
void fl_model_compare(struct fleet *f, struct fl_table *t, struct fl_bot *b);
/* The sum of the amounts of a pots array. */
int64_t fl_model_sum_pots(json_object *pots);

/* ---- fleet_bot.c ----------------------------------------------------------------------------- */

/* One decoded server message (either kind of bot), after felt's model made r of it. */
void fl_bot_receive(struct fl_bot *b, const struct proto_smsg *sm, enum model_result r);
/* The think timer: acts if it is still the bot's turn. */
void fl_bot_think_fire(void *arg);
/* Sits the bot out (once; players only). */
void fl_bot_sit_out(struct fl_bot *b);
/* Connection bookkeeping: a connection accepted (a resume), or lost; connected time counted up to
 * now (until the calm). */
void fl_bot_connected(struct fl_bot *b);
void fl_bot_disconnected(struct fl_bot *b);
void fl_bot_connected_time(struct fl_bot *b, int64_t now);
/* A table is finished when every client at it sees no hand running and every player sitting
 * out, after the last hand. */
bool fl_bot_sees_finished(const struct fl_bot *b);
void fl_bot_check_finished(struct fl_bot *b);
/* Every check of one bot that needs the whole run. */
void fl_bot_final(struct fleet *f, struct fl_bot *b);

/* ---- fleet_session.c ------------------------------------------------------------------------- */

/* Creates and starts the felt session of every in-process bot (players join over HTTP through
 * the proxy, like felt). Returns 0, or -1 when a session cannot be created. */
int fl_session_start_all(struct fleet *f);
/* Queues an action (with the fleet's request_id and hand_id) or sit_out on the bot's session. */
void fl_session_act(struct fl_bot *b, const struct fl_action *a);
void fl_session_sit_out(struct fl_bot *b);
/* Frees the sessions (after wsloop_free). */
void fl_session_free_all(struct fleet *f);

/* ---- fleet_felt.c ---------------------------------------------------------------------------- */

/* Starts the bot's felt --json process, its stdout read on the fleet's loop. Returns 0 or -1. */
int fl_felt_spawn(struct fl_bot *b);
/* Writes one line to felt's stdin (non-blocking: a felt that stopped reading is a failure). */
void fl_felt_write(struct fl_bot *b, const char *line);
/* Closes felt's stdin (it leaves the table and exits 0) and collects its exit status. */
void fl_felt_finish(struct fleet *f);

#endif
