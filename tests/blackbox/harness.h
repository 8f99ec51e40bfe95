/*
 * harness.h: the black-box test harness for feltd: starts the real server binary on a free
 * loopback port, drives it with real WebSocket and HTTP clients (wsclient/), records every
 * byte each client receives, and stops the server at the end. Every wait runs the client event
 * loop against a deadline, so a test blocks only on events and fails (never hangs) when an
 * expected event does not come.
 *
 * Failures inside event callbacks are not asserted there (cmocka would longjmp out of
 * libwebsockets); they are counted on the client (tc->bad) and asserted by the test afterwards.
 */
#ifndef FELT_BB_HARNESS_H
#define FELT_BB_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "jval.h"
#include "proto.h"
#include "wire.h"
#include "wsclient.h"

/* Upper bound of any single wait: an expected event that takes longer is a failure. */
#define BB_TIMEOUT_MS 20000

/* ---- the server process ------------------------------------------------------------------ */

struct feltd {
    pid_t pid;  /* 0 when not running */
    int out_fd; /* its stdout: EOF when it exits */
    int port;
    char log[64]; /* its stderr: a temporary file, copied to ours and removed when it stops */
};

/* Starts `path --host 127.0.0.1 --port 0 args...` (args NULL-terminated) and reads the port it
 * prints (tests/tools/listenproc.h). Returns 0, or -1 (message and feltd's log on stderr) if it
 * did not come up within the timeout. The child dies with the test process (PR_SET_PDEATHSIG). */
int feltd_start(struct feltd *f, const char *path, const char *const *args);
/* The same; test_limits false keeps feltd's own defaults for the limits against abusive clients
 * (feltd_start turns them off, as a dozen clients of one test share one address). */
int feltd_start_ex(struct feltd *f, const char *path, const char *const *args, bool test_limits);
/* Sends sig (SIGTERM to stop), waits for the exit (SIGKILL after the timeout) and returns the
 * exit status (as from waitpid), or -1. Safe on a server that is not running. */
int feltd_stop(struct feltd *f, int sig);
/* True while the process is running (it has not closed its stdout). */
bool feltd_running(struct feltd *f);
/* Everything feltd has logged so far (malloc'd, NUL-terminated; "" if none). */
char *feltd_log(const struct feltd *f);

/* ---- the test environment ---------------------------------------------------------------- */

struct bb {
    struct wsloop *loop;
    struct feltd srv;
    const char *feltd_path;
    char http[64]; /* "http://127.0.0.1:PORT" */
    char ws[64];   /* "ws://127.0.0.1:PORT" */
    struct wstimer *deadline;
    bool timed_out;
    bool no_deflate; /* clients opened from now on do not offer permessage-deflate */
};

/* The resident memory of a process in KiB (VmRSS), or -1. */
long bb_rss_kib(pid_t pid);

/* Starts feltd with args and a client loop. Returns 0 or -1. */
int bb_start(struct bb *bb, const char *feltd_path, const char *const *args);
int bb_start_ex(struct bb *bb, const char *feltd_path, const char *const *args, bool test_limits);
/* Closes the clients' loop and stops the server; returns its exit status (0: clean exit). */
int bb_stop(struct bb *bb);

/* Runs the loop once: returns after the next client callback or the deadline. */
void bb_turn(struct bb *bb);
void bb_deadline_start(struct bb *bb, int ms);
void bb_deadline_stop(struct bb *bb);
/* Runs the loop until cond holds (true) or ms pass (false). cond is re-evaluated after every
 * callback; it is an expression over state the callbacks update. */
#define BB_WAIT(bb, cond, ms)                                                                      \
    ({                                                                                             \
        bb_deadline_start((bb), (ms));                                                             \
        while (!(cond) && !(bb)->timed_out)                                                        \
            bb_turn(bb);                                                                           \
        bb_deadline_stop(bb);                                                                      \
        (bool)(cond);                                                                              \
    })

/* ---- synchronous HTTP -------------------------------------------------------------------- */

struct http_reply {
    int status; /* 0: the request failed */
    char *body; /* malloc'd, NUL-terminated */
    size_t len;
    json_object *json; /* parsed body when it is JSON, else NULL */
};

/* GET (body NULL) or POST path (e.g. "/api/games/main/join") on the server, with an optional
 * bearer token; waits for the answer. */
void bb_http(struct bb *bb, const char *path, const char *body, const char *bearer,
             struct http_reply *r);
void http_reply_free(struct http_reply *r);

/* ---- recording clients ------------------------------------------------------------------- */

/* One message as received: the raw bytes and the decoded envelope. */
struct rmsg {
    char *raw;
    size_t len;
    enum proto_stype type;
    bool has_seq;
    uint64_t seq;
    json_object *data; /* owned */
    int session;       /* which socket of the client (1 for the first open) */
    uint64_t frame;    /* which frame of the client it came in (felt.v2: several share one) */
};

enum tc_play { TC_PLAY_NONE, TC_PLAY_CALL, TC_PLAY_FOLD };

struct tc {
    struct bb *bb;
    char name[32];
    struct wsconn *ws;
    bool player; /* a player's socket (hello on open) */
    char player_id[32];
    char token[160];
    bool hello_on_open;
    bool resume; /* hello carries last_seq = highest seq received so far */
    char epoch[PROTO_EPOCH_MAX + 1]; /* sent with hello when not "" */
    struct rmsg *msgs;
    size_t n, cap;
    int opens;      /* sockets opened */
    int closes;     /* sockets closed (or attempts failed) */
    int close_code; /* of the last close */
    char close_reason[128];
    int bad;            /* problems seen in callbacks (asserted by tests) */
    char bad_text[256]; /* the first of them */
    uint64_t max_seq;   /* highest event seq received */
    /* Autoplay: act on "your_turn" with the options of the last to_act seen for this player. */
    enum tc_play play;
    int actions_sent;
    int request_counter;
    struct wire_to_act to_act; /* of the last snapshot or state_update (present: not null) */
    int64_t to_act_hand;       /* the hand_id of that message */
    int turns_without_options; /* your_turn with no matching to_act before it */
};

/* A spectator socket of game (reconnecting or not). */
struct tc *tc_spectator(struct bb *bb, const char *name, const char *game, bool reconnect);
/* A player socket of game for player_id, sending hello with token on open. */
struct tc *tc_player(struct bb *bb, const char *name, const char *game, const char *player_id,
                     const char *token, bool reconnect);
/* Joins game over HTTP (asserting success) and opens the player's socket. */
struct tc *tc_join(struct bb *bb, const char *name, const char *game, bool reconnect);
void tc_free(struct tc *t);
/* Queues a raw text frame. */
void tc_send(struct tc *t, const char *json);
/* Sends an action (request_id NULL: a fresh one; hand_id < 0: none); returns the request_id. */
const char *tc_act(struct tc *t, const char *action, int64_t amount, int64_t hand_id,
                   const char *request_id);

/* Queries over what a client received. index_from: start scanning there. */
size_t tc_count(const struct tc *t, enum proto_stype type);
/* Index of the first message at or after from of this type whose data[key] is the string val
 * (key NULL: any), or -1. */
long tc_find(const struct tc *t, size_t from, enum proto_stype type, const char *key,
             const char *val);
/* The data of the last message of type (key/val as in tc_find), or NULL. */
json_object *tc_last(const struct tc *t, enum proto_stype type, const char *key, const char *val);
/* Index of the first notification of this kind (for player_id, if given) at or after from, or
 * -1. */
long tc_find_note(const struct tc *t, size_t from, const char *kind, const char *player_id);
/* Number of state_updates with data.event == event (and, if player_id, data.player_id). */
size_t tc_count_updates(const struct tc *t, const char *event, const char *player_id);

/* JSON: the lenient getters of common/jval.h (jval_get, jval_str, jval_int, jval_bool,
 * jval_parse) are the one set the tests use. */

#endif
