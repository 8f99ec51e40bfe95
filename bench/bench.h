/*
 * bench.h: felt-bench's internal header: its options, its state (one struct bench for the run,
 * a struct bench_phase per measured phase, a struct bench_client per connection) and its files,
 * each under its own banner. felt_bench.c has main and the loop runner every phase waits with.
 *
 * Memory is bounded by the number of clients: latency goes to a fixed-size histogram, every
 * client holds a fixed-size record, and messages are scanned in place (bench_scan.h) instead of
 * being parsed into trees.
 */
#ifndef FELT_BENCH_H
#define FELT_BENCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "bench_hist.h"
#include "bench_proc.h"
#include "bench_scan.h"
#include "listenproc.h"
#include "proto.h"
#include "rng.h"
#include "util.h"
#include "wsclient.h"

#define BENCH_ID_MAX 32            /* a player id is 16 hex characters; room to spare */
#define BENCH_SENT_RING 64         /* recent actions per table awaiting their broadcasts */
#define BENCH_JOIN_INFLIGHT 64     /* concurrent HTTP joins */
#define BENCH_CONNECT_INFLIGHT 256 /* sockets connecting at once (no SYN storms) */
#define BENCH_SETUP_SECS 180.0     /* joining and connecting must finish within this */
#define BENCH_TEARDOWN_SECS 15.0
#define BENCH_MAX_POLL 4
#define BENCH_STORE_THREAD "feltd-store" /* feltd's store writer: STORE_THREAD_NAME, server/store.h */
#define BENCH_BUY_IN 100000
#define BENCH_BIG_BLIND 10
#define BENCH_MAX_SERVERS 4 /* --server, repeated: the nodes of a cluster */
#define BENCH_MAX_PIDS 12   /* --pid, repeated: the nodes, Redis, PostgreSQL */

/* ---- options (bench_opts.c) ------------------------------------------------------------------ */

struct bench_opts {
    const char *feltd;  /* start this feltd ... */
    const char *server; /* ... or attach to this one (servers[0]) */
    const char *servers[BENCH_MAX_SERVERS]; /* several: the nodes of one cluster */
    int nservers;
    pid_t pid;          /* its pid, for /proc (attach mode): pids[0] */
    pid_t pids[BENCH_MAX_PIDS]; /* every process whose CPU counts as the server's */
    int npids;
    bool spectate_other; /* --spectators-on other: spectators on another node than the owner */
    bool play_other;     /* --players-on other: players' sockets on another node than the owner
                            (carried to it: server/proxy.h) */
    int tables, players, spectators;
    double seconds, warmup;
    int think_ms;
    double rate;        /* client-side cap on a player's messages per second */
    bool ws_off, ws_on; /* phases: permessage-deflate off / on */
    bool single;        /* --protocol v1: a message a frame (default felt.v2, several a frame) */
    int poll_ms[BENCH_MAX_POLL];
    int npoll;
    int poll_tables; /* tables of each polling phase */
    int idle;        /* idle connections; 0: no idle phase */
    double idle_seconds;
    int idle_per_table; /* idle spectators per idle table (idle0, idle1, ...) */
    const char *json_out;
    char **feltd_args; /* extra arguments for a feltd started here */
    int nfeltd_args;
    uint64_t seed;
    int ping_secs; /* the clients' WebSocket heartbeat (0: wsclient's default, 20 s) */
    bool print_feltd_args;
    bool quiet;
};

/* Parses the command line into o (defaults for what it does not give); prints the usage and
 * exits on --help (0) or a bad option (2). */
void bench_opts_parse(struct bench_opts *o, int argc, char **argv);
/* Idle connections are spread over tables of idle_per_table spectators. */
int bench_opts_idle_tables(const struct bench_opts *o);
/* The arguments of a feltd serving this run (settings, the per-address limits off, the tables
 * of every phase, then --feltd-arg): *n strings, each malloc'd, in a malloc'd array. */
char **bench_opts_feltd_argv(const struct bench_opts *o, int *n);

/* ---- state ----------------------------------------------------------------------------------- */

enum bench_role { BENCH_PLAYER, BENCH_SPECTATOR };

/* The player to act and their options, from the last state_update or snapshot. */
struct bench_to_act {
    bool valid;
    char player_id[BENCH_ID_MAX + 1];
    int64_t call, min_raise, max_raise;
    bool can_check, can_raise;
};

struct bench_phase;
struct bench;

struct bench_table {
    char id[PROTO_GAME_ID_MAX + 1];
    int srv;          /* the server (index in --server) that plays it, as the joins learned */
    int64_t big_blind;
    /* Recent actions sent here. The broadcast with seq S of an action by player P in hand H
     * belongs to the latest send by P in H made before its sender had seen S, i.e. the entry
     * with the largest seen_seq < S: a bot sends again in a hand only after it has received
     * the broadcast of its previous action (or a refusal), so no later send can precede S. */
    struct {
        int64_t hand_id;
        uint64_t seen_seq; /* the sender's last seq when it sent */
        int actor;         /* client index */
        int64_t t_ns;      /* 0: unused */
    } sent[BENCH_SENT_RING];
    int sent_next;
};

struct bench_client {
    struct bench *b;
    struct bench_phase *ph;
    struct bench_table *t;
    int id; /* index in the phase's client array */
    int srv;          /* the server it talks to (index in --server) */
    int join_tries;   /* joins answered 421 "not_owner" and sent again to the owner */
    enum bench_role role;
    bool poll;
    char player_id[BENCH_ID_MAX + 1];
    char token[PROTO_TOKEN_MAX + 1];
    struct wsconn *ws;
    struct wstimer *tick;      /* polling: the next GET */
    struct wstimer *act_timer; /* think time or rate pacing, created when first needed */
    bool joined, connecting, ready, closed;
    bool get_inflight, post_inflight;
    bool have_seq;
    uint64_t last_seq;
    /* the hand as this client has seen it */
    int64_t hand_id;
    int nact; /* actions seen in this hand (from joining, if mid-hand) */
    struct bench_to_act ta;
    /* the bot */
    bool acted; /* acted at (acted_hand, acted_idx) */
    int64_t acted_hand;
    int acted_idx;
    bool act_armed;
    bool safe_next; /* the last choice was refused: take the always-legal one */
    double tokens;
    int64_t tokens_ns;
    unsigned req_n;
    uint64_t wire0, pay0; /* byte counters at the window's start */
    int64_t sent_ns;      /* when the action awaiting its ack was sent; 0: none */
};

/* state_update events whose bytes are counted apart (the last, "other": the rest). */
#define BENCH_NEVENTS 8
extern const char *const bench_bot_events[BENCH_NEVENTS];

/* What a phase counts while its measurement window is open. */
struct bench_counters {
    uint64_t deliveries; /* messages (ws) or events (poll) received by all clients */
    uint64_t sent;       /* actions sent */
    uint64_t accepted, rejected;
    uint64_t rate_limited, errors;
    uint64_t unmatched;                  /* action broadcasts that matched no recorded send */
    uint64_t gaps;                       /* seq gaps seen */
    uint64_t resyncs;                    /* snapshots after the first */
    uint64_t dropped;                    /* sockets lost */
    uint64_t bad;                        /* messages the scanner could not read */
    uint64_t requests;                   /* HTTP requests (poll) */
    uint64_t client_msgs;                /* WebSocket messages sent by clients */
    uint64_t payload;                    /* poll: response body bytes */
    uint64_t wire;                       /* poll: the same with their HTTP headers */
    uint64_t type_bytes[PROTO_S_COUNT];  /* payload bytes by message type ... */
    uint64_t event_bytes[BENCH_NEVENTS]; /* ... and state_update bytes by event */
};

struct bench_phase {
    char name[32];
    bool poll;
    bool deflate;
    int interval_ms;
    bool ran, ok;
    char note[160];
    int ntables, nclients, nplayers;
    struct bench_table *tables;
    struct bench_client *clients;
    double seconds; /* the window as measured */
    struct bench_counters ctr;
    struct bench_hist lat;
    struct bench_hist lat_remote; /* the deliveries to clients on another node than the owner */
    struct bench_hist ack; /* an actor's own round trip: action sent to its ack */
    double srv_cpu_s, bench_cpu_s;
    double pid_cpu_s[BENCH_MAX_PIDS]; /* srv_cpu_s by process (several --pid) */
    /* Of srv_cpu_s, feltd's store writer thread (-1: no such thread, e.g. an older feltd);
     * store_cpu0 is its reading when the window opened. */
    double store_cpu_s, store_cpu0;
    int64_t rss_before_kib, rss_end_kib;
    uint64_t wire_in, payload_in; /* ws: sums of wsconn_bytes over the window */
    int compressed;               /* sockets that negotiated permessage-deflate */
    double load_start, load_end;
};

struct bench_idle {
    bool ran, ok;
    char note[160];
    int conns;
    int64_t rss_before_kib, rss_after_kib;
    double seconds, srv_cpu_s, bench_cpu_s;
};

struct bench {
    struct bench_opts o;
    struct wsloop *loop;
    char http_base[80], ws_base[80]; /* the first server's */
    char http_bases[BENCH_MAX_SERVERS][80], ws_bases[BENCH_MAX_SERVERS][80];
    int nservers;
    pid_t pid; /* the server's, 0 when unknown */
    bool own_server;
    struct listenproc feltd; /* the server, when started here */
    struct rng rng;
    struct wstimer *deadline;
    struct wstimer *lobby_timer;
    bool (*done)(struct bench *b);
    bool timed_out;
    struct bench_phase *ph; /* the phase being run */
    bool recording;         /* the measurement window is open */
    /* progress of the step being waited for */
    int joins_left, joins_inflight, join_failed, join_next;
    int connect_next, connect_inflight, ready, failed;
    int http_inflight;
    int lobby_busy; /* seats taken at the phase's tables (teardown), -1 unknown */
    bool lobby_pending;
    struct bench_phase phases[2 + BENCH_MAX_POLL];
    int nphases;
    struct bench_idle idle;
    struct bench_client *idle_clients;
    int nidle;
    struct bench_table *idle_tables;
    int nidle_tables;
    rlim_t nofile;
    int http_header_base; /* see bench_proc_http_header_base(); -1 unknown */
};

/* ---- felt_bench.c ---------------------------------------------------------------------------- */

extern volatile sig_atomic_t bench_interrupted; /* SIGINT or SIGTERM: every phase winds up */

/* A progress line on stderr (not with --quiet). */
void bench_log(const struct bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int64_t bench_now_ns(void);
/* felt-bench's own CPU time (user + system), in seconds. */
double bench_self_cpu_s(void);
/* The CPU seconds of every --pid so far (each into each[] when not NULL); -1 without one. */
double bench_server_cpu_s(const struct bench *b, double *each);
/* Stops the loop's current run when the condition being waited for holds. */
void bench_poke(struct bench *b);
/* Runs the loop until done(b) holds (true), or for `seconds` (false; with done NULL, the loop
 * simply runs that long and the answer is true), or until interrupted (false). */
bool bench_run(struct bench *b, bool (*done)(struct bench *b), double seconds);

/* ---- bench_bot.c ----------------------------------------------------------------------------- */

/* One server message (a WebSocket message, or one event of a poll answer) for client c. */
void bench_bot_message(struct bench_client *c, const char *buf, size_t len);
/* Called whenever c's view changed: acts if it is this bot's turn (after its think time and
 * within its message budget). */
void bench_bot_consider(struct bench_client *c);
/* The server drops a WebSocket's messages beyond 50/s (burst 100): stay under --rate. Takes a
 * token (true), or says how long until there is one (false). */
bool bench_bot_take_token(struct bench_client *c, int64_t *wait_ms);
/* A plain message on c's socket (sit_in, leave), within the rate budget as far as possible. */
void bench_bot_send_type(struct bench_client *c, enum proto_ctype type);

/* ---- bench_net.c ----------------------------------------------------------------------------- */

/* Keeps BENCH_CONNECT_INFLIGHT sockets connecting until every client of cl[0..n) is started. */
void bench_net_connect_more(struct bench *b, struct bench_client *cl, int n, bool deflate);
/* Joins the phase's players over HTTP, BENCH_JOIN_INFLIGHT at a time (b->joins_left counts). */
void bench_net_join_next(struct bench *b);
/* A polling client's timer (arg: the client): the next GET .../state?since=SEQ. */
void bench_net_poll_tick(void *arg);
/* The answer to a polling client's POSTed action (arg: the client). */
void bench_net_action_done(void *arg, const struct wshttp_result *r);
/* The lobby timer (arg: the bench): asks GET /api/games how many seats the phase's tables hold
 * (b->lobby_busy). */
void bench_net_lobby_fire(void *arg);

/* ---- bench_phase.c --------------------------------------------------------------------------- */

/* The phase's tables (prefix0, prefix1, ...) and their clients: players, then spectators. */
void bench_phase_tables(struct bench *b, struct bench_phase *ph, int ntables, const char *prefix);
/* Runs a WebSocket phase, a polling phase, or the idle phase (ph->ok, ph->note: how it went). */
void bench_phase_ws(struct bench *b, struct bench_phase *ph);
void bench_phase_poll(struct bench *b, struct bench_phase *ph);
void bench_phase_idle(struct bench *b);

/* ---- bench_report.c -------------------------------------------------------------------------- */

/* The targets of docs/performance.md, judged on this run where its shape fits. */
struct bench_report_target {
    const char *what;
    const char *status; /* "met", "missed" or "n/a" */
    char measured[96];
};

/* Prints the table of results, the idle phase and the targets on stdout. */
void bench_report_print(const struct bench *b);
/* Fills t (room for 8) and returns how many. */
int bench_report_targets(const struct bench *b, struct bench_report_target *t);
/* a / b, or 0 when b is not positive. */
double bench_report_div(double a, double b);
/* Bytes each client of a table received per action at that table, from the total a phase
 * received (every table has the same number of clients). */
double bench_report_bytes_per_action(const struct bench_phase *ph, uint64_t bytes);
/* What the phase's clients received: on the wire, and as payload. */
uint64_t bench_report_wire(const struct bench_phase *ph);
uint64_t bench_report_payload(const struct bench_phase *ph);

/* ---- bench_json.c ---------------------------------------------------------------------------- */

/* Writes the results to path as JSON. Returns 0, or -1 (message on stderr). */
int bench_json_write(const struct bench *b, const char *path);

#endif
