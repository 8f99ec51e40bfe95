/*
 * fleet_internal.h: the fleet's state and what its files share (fleet.h is the interface the
 * tests use). One bot (struct fl_bot) is a player or a spectator at one table, on either
 * transport; every bot and table lives in one struct fleet, on one wsloop. Functions are
 * grouped by the file that defines them.
 */
#ifndef FELT_BB_FLEET_INTERNAL_H
#define FELT_BB_FLEET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "engine.h"
#include "fleet.h"
#include "harness.h"
#include "proto.h"
#include "rng.h"
#include "util.h"
#include "wsclient.h"

#define FL_PING_BASE 500000000LL /* our ping ids */
#define FL_JOINS_IN_FLIGHT 32
#define FL_BAD_KEPT 3
#define FL_STATE_ROUNDS 50 /* final snapshot fetches per table before giving up */

/* ---- the state ------------------------------------------------------------------------------- */

struct fl_player {
    bool present;
    char id[PROTO_NAME_MAX_BYTES + 1];
    char name[PROTO_NAME_MAX_BYTES + 1];
    int64_t stack, bet;
    bool sitting_out, connected;
};

/* The table as one client knows it from its events. */
struct fl_model {
    bool have;
    int64_t hand_id;
    bool hand_running;
    int button;
    char board[5][3];
    int nboard;
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
    int sent_session;  /* in-process: the socket it was last written on */
    int first_session; /* the socket (or felt session) it was first sent on */
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
    char token[PROTO_TOKEN_MAX + 1];
    struct rng rng;

    /* in-process transport */
    struct wsconn *ws;
    int64_t hello_ping;
    int64_t next_ping;
    bool resumed; /* the hello of the current socket was accepted */
    /* felt transport */
    pid_t pid;
    int in_fd, out_fd;
    char *line;
    size_t line_len, line_cap;
    bool out_eof;

    /* connection bookkeeping */
    int sessions;
    bool connected;
    int64_t first_connected_ms, connected_since_ms, connected_ms, disconnected_at_ms;
    uint64_t disconnects, reconnects;
    int64_t max_reconnect_ms;

    /* the stream */
    bool have_seq;
    uint64_t last_seq;
    int snapshots;
    int session_of_seq; /* spectators: the socket the last seq came on */
    uint64_t events;
    struct fl_model m;
    json_object *to_act; /* the last to_act seen (owned), or NULL */
    int64_t to_act_hand;
    bool acted; /* acted on the current turn; cleared by our next
                 * action event (applied, or made by the server) */
    struct wstimer *think;

    /* our actions and their fate */
    struct fl_action *acts;
    size_t nacts, acts_cap;
    struct fl_hand *hands;
    size_t nhands;
    int server_pending; /* timeouts announced whose action has not come yet */
    bool sit_out_sent, sat_out_seen, sit_out_confirmed;
    bool sit_out_session; /* in-process: sit_out written on this socket */
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
    int next_join, joins_in_flight, joined, join_failed;
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
/* Presence (player_connected, player_disconnected). */
void fl_model_notification(struct fl_bot *b, json_object *d);
/* At a consistent point of the stream the chips on the table equal the chips brought to it. */
void fl_model_check_chips(struct fl_bot *b, const char *where, uint64_t seq);
/* Event sm (seq) has the same public content as every other client at the table received, and
 * nothing private of anyone else. */
void fl_model_check_order(struct fl_bot *b, const struct proto_smsg *sm);
/* Compares a client's final model with the server's final snapshot. */
void fl_model_compare(struct fleet *f, struct fl_table *t, struct fl_bot *b);
/* The sum of the amounts of a pots array. */
int64_t fl_model_sum_pots(json_object *pots);

/* ---- fleet_bot.c ----------------------------------------------------------------------------- */

/* One message from the server (either transport). */
void fl_bot_message(struct fl_bot *b, const char *buf, size_t len);
/* The think timer: acts if it is still the bot's turn. */
void fl_bot_think_fire(void *arg);
/* Sits the bot out (once; players only). */
void fl_bot_sit_out(struct fl_bot *b);
/* Connection bookkeeping: a socket (or felt's session) up, or lost; connected time counted up to
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

/* ---- fleet_ws.c ------------------------------------------------------------------------------ */

/* Writes an action (again) on the current socket, once its hello is confirmed. */
void fl_ws_send_action(struct fl_bot *b, struct fl_action *a);
/* Writes sit_out on the current socket, once its hello is confirmed. */
void fl_ws_sit_out(struct fl_bot *b);
/* Joins in-process players over HTTP, straight to feltd, a few at a time, and connects them
 * (spectators just connect). */
void fl_ws_join_next(struct fleet *f);

/* ---- fleet_felt.c ---------------------------------------------------------------------------- */

/* Starts the bot's felt --json process, its stdout read on the fleet's loop. Returns 0 or -1. */
int fl_felt_spawn(struct fl_bot *b);
/* Writes one line to felt's stdin (non-blocking: a felt that stopped reading is a failure). */
void fl_felt_write(struct fl_bot *b, const char *line);
/* Closes felt's stdin (it leaves the table and exits 0) and collects its exit status. */
void fl_felt_finish(struct fleet *f);

#endif
