/*
 * felt_bench.c: felt-bench, the load generator and meter for feltd: WebSocket push against the
 * old HTTP polling, from one process and one event loop (common/wsclient.h).
 *
 * One run is a sequence of phases against one feltd (started here with --feltd, or attached to
 * with --server and --pid), each measured over the same window (--seconds, after --warmup):
 *   idle        C spectator sockets that only receive their snapshot: server RSS per connection
 *               and the server CPU they cost while nothing happens;
 *   ws          N tables of P bot players and S spectators on WebSockets, bots acting as fast as
 *               the server's per-connection flood limit allows (or after --think-ms), without and
 *               with permessage-deflate;
 *   poll        the same shape over the HTTP fallback (GET .../state?since=SEQ every 2 s and every
 *               250 ms, actions by POST), on tables of their own.
 * Measured per phase: action-to-broadcast latency (a bot stamps a monotonic time when it sends an
 * action; every other client of that table stamps the arrival of the state_update "action" it
 * produced; same process, same clock), actions/s, deliveries/s (messages, or polled events,
 * received by all clients), server CPU per 1,000 actions (/proc/PID/stat), bytes per action and
 * per minute per client (payload, and wire bytes from TCP_INFO or /proc/self/io), server RSS.
 * Results are printed as a table and written as JSON (--json-out). The numbers are benchmarks
 * against the targets of docs/performance.md, never assertions: the exit status says only
 * whether the run itself worked (every client connected, actions flowed).
 *
 * Memory is bounded by the number of clients: latency goes to a fixed-size histogram, every
 * client holds a fixed-size record, and messages are scanned in place (bench_scan.h) instead of
 * being parsed into trees. Server messages are dispatched by type through bench_handlers[].
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench_hist.h"
#include "bench_proc.h"
#include "bench_scan.h"
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
#define BENCH_BUY_IN 100000
#define BENCH_BIG_BLIND 10

/* ---- options ---------------------------------------------------------------------------- */

struct bench_opts {
    const char *feltd;  /* start this feltd ... */
    const char *server; /* ... or attach to this one */
    pid_t pid;          /* its pid, for /proc (attach mode) */
    int tables, players, spectators;
    double seconds, warmup;
    int think_ms;
    double rate;        /* client-side cap on a player's messages per second */
    bool ws_off, ws_on; /* phases: permessage-deflate off / on */
    int poll_ms[BENCH_MAX_POLL];
    int npoll;
    int poll_tables;
    int idle; /* idle connections; 0: no idle phase */
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

static int bench_idle_tables(const struct bench_opts *o);

/* ---- state ------------------------------------------------------------------------------ */

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

/* state_update events whose bytes are counted apart (the rest: "other"). */
static const char *const bench_events[] = {"hand_start", "action",   "street", "uncalled",
                                           "showdown",   "hand_end", "seat",   "other"};
#define BENCH_NEVENTS ((int)FELT_ARRAY_LEN(bench_events))

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
    struct bench_hist ack; /* an actor's own round trip: action sent to its ack */
    double srv_cpu_s, bench_cpu_s;
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
    char http_base[80], ws_base[80];
    pid_t pid; /* the server's, 0 when unknown */
    bool own_server;
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
    int http_header_base; /* see bench_http_header_base(); -1 unknown */
};

static volatile sig_atomic_t bench_interrupted;
static struct wsloop *bench_signal_loop;

static void bench_log(const struct bench *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void bench_log(const struct bench *b, const char *fmt, ...)
{
    va_list ap;
    if (b->o.quiet) return;
    fputs("felt-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double bench_self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- running the loop until something is done ------------------------------------------ */

static void bench_poke(struct bench *b)
{
    if (b->done && b->done(b)) wsloop_stop(b->loop);
}

static void bench_deadline_fire(void *arg)
{
    struct bench *b = arg;
    b->timed_out = true;
    wsloop_stop(b->loop);
}

/* Runs the loop until done(b) holds (true), or for `seconds` (false; with done NULL, the loop
 * simply runs that long and the answer is true), or until interrupted (false). */
static bool bench_run(struct bench *b, bool (*done)(struct bench *b), double seconds)
{
    if (bench_interrupted) return false;
    if (done && done(b)) return true;
    b->done = done;
    b->timed_out = false;
    wstimer_arm(b->deadline, (int64_t)(seconds * 1000));
    if (wsloop_run(b->loop) != 0) felt_fatal("the event loop failed");
    wstimer_cancel(b->deadline);
    b->done = NULL;
    if (bench_interrupted) return false;
    return done ? done(b) : true;
}

/* ---- latency matching ------------------------------------------------------------------- */

static void bench_record_send(struct bench_client *c)
{
    struct bench_table *t = c->t;
    int i = t->sent_next;
    t->sent_next = (t->sent_next + 1) % BENCH_SENT_RING;
    t->sent[i].hand_id = c->hand_id;
    t->sent[i].seen_seq = c->last_seq;
    t->sent[i].actor = c->id;
    t->sent[i].t_ns = bench_now_ns();
}

/* c received the broadcast (seq) of an action of hand hand_id made by player_id. */
static void bench_record_receive(struct bench_client *c, int64_t hand_id, uint64_t seq,
                                 const char *player_id)
{
    struct bench_table *t = c->t;
    struct bench_phase *ph = c->ph;
    int best = -1;
    if (!c->b->recording) return;
    for (int i = 0; i < BENCH_SENT_RING; i++) {
        if (t->sent[i].t_ns == 0 || t->sent[i].hand_id != hand_id || t->sent[i].seen_seq >= seq ||
            (best >= 0 && t->sent[i].seen_seq <= t->sent[best].seen_seq) ||
            strcmp(ph->clients[t->sent[i].actor].player_id, player_id) != 0)
            continue;
        best = i;
    }
    if (best < 0)
        ph->ctr.unmatched++;
    else if (t->sent[best].actor != c->id)
        bench_hist_add(&ph->lat, (uint64_t)(bench_now_ns() - t->sent[best].t_ns));
}

/* ---- the bots --------------------------------------------------------------------------- */

static void bench_act(struct bench_client *c);

static void bench_act_fire(void *arg)
{
    struct bench_client *c = arg;
    c->act_armed = false;
    bench_act(c);
}

static bool bench_my_turn(const struct bench_client *c)
{
    return c->role == BENCH_PLAYER && c->ta.valid && strcmp(c->ta.player_id, c->player_id) == 0 &&
           !(c->acted && c->acted_hand == c->hand_id && c->acted_idx == c->nact);
}

static void bench_arm_act(struct bench_client *c, int64_t delay_ms)
{
    if (!c->act_timer) c->act_timer = wstimer_new(c->b->loop, bench_act_fire, c);
    c->act_armed = true;
    wstimer_arm(c->act_timer, delay_ms);
}

/* Called whenever c's view changed: acts if it is this bot's turn (after its think time and
 * within its message budget). */
static void bench_consider(struct bench_client *c)
{
    if (c->act_armed || c->post_inflight || !bench_my_turn(c) || c->closed) return;
    if (c->b->o.think_ms > 0) {
        bench_arm_act(c, c->b->o.think_ms);
        return;
    }
    bench_act(c);
}

/* The server drops a WebSocket's messages beyond 50/s (burst 100): stay under --rate. */
static bool bench_take_token(struct bench_client *c, int64_t *wait_ms)
{
    double rate = c->b->o.rate, burst = 10;
    int64_t now = bench_now_ns();
    if (c->tokens_ns == 0) {
        c->tokens = burst;
        c->tokens_ns = now;
    }
    c->tokens += (double)(now - c->tokens_ns) * rate / 1e9;
    if (c->tokens > burst) c->tokens = burst;
    c->tokens_ns = now;
    if (c->tokens >= 1.0) {
        c->tokens -= 1.0;
        return true;
    }
    *wait_ms = (int64_t)ceil((1.0 - c->tokens) * 1000.0 / rate);
    return false;
}

static void bench_choose(struct bench_client *c, struct proto_cmsg *m)
{
    const struct bench_to_act *ta = &c->ta;
    uint64_t r = rng_bounded(&c->b->rng, 100);
    /* Raise only while the bets are small, never all-in: stacks stay deep, nobody busts. */
    bool raise_ok = ta->can_raise && ta->min_raise < ta->max_raise &&
                    ta->min_raise <= 10 * c->t->big_blind && !c->safe_next;
    m->action = ta->can_check ? ENGINE_CHECK : ENGINE_CALL;
    if (c->safe_next) {
        c->safe_next = false;
        return;
    }
    if (raise_ok && r < (ta->can_check ? 15u : 10u)) {
        int64_t span = ta->max_raise - 1 - ta->min_raise;
        if (span > 2 * c->t->big_blind) span = 2 * c->t->big_blind;
        m->action = ENGINE_RAISE;
        m->has_amount = true;
        m->amount = ta->min_raise + (int64_t)rng_bounded(&c->b->rng, (uint64_t)span + 1);
    } else if (!ta->can_check && r >= 90) {
        m->action = ENGINE_FOLD;
    }
}

static void bench_http_action_done(void *arg, const struct wshttp_result *r);

static void bench_act(struct bench_client *c)
{
    struct bench *b = c->b;
    struct proto_cmsg m;
    int64_t wait_ms;
    if (!bench_my_turn(c) || c->closed || c->post_inflight) return;
    if (!c->poll && !bench_take_token(c, &wait_ms)) {
        bench_arm_act(c, wait_ms);
        return;
    }
    memset(&m, 0, sizeof(m));
    m.type = PROTO_C_ACTION;
    bench_choose(c, &m);
    snprintf(m.request_id, sizeof(m.request_id), "r%d-%u", c->id, ++c->req_n);
    m.has_hand_id = true;
    m.hand_id = c->hand_id;
    char *s = proto_encode_client(&m);
    bench_record_send(c);
    c->sent_ns = bench_now_ns();
    if (c->poll) {
        char url[256];
        snprintf(url, sizeof(url), "%s/api/games/%s/action", b->http_base, c->t->id);
        if (wshttp_request(b->loop, url, s, c->token, bench_http_action_done, c) == 0) {
            c->post_inflight = true;
            b->http_inflight++;
            if (b->recording) c->ph->ctr.requests++;
        }
    } else if (wsconn_send(c->ws, s, strlen(s)) == 0 && b->recording) {
        c->ph->ctr.client_msgs++;
    }
    free(s);
    if (b->recording) c->ph->ctr.sent++;
    c->acted = true;
    c->acted_hand = c->hand_id;
    c->acted_idx = c->nact;
}

/* A plain message on c's socket (sit_in, leave), within the rate budget as far as possible. */
static void bench_ws_send_type(struct bench_client *c, enum proto_ctype type)
{
    struct proto_cmsg m;
    int64_t wait_ms;
    memset(&m, 0, sizeof(m));
    m.type = type;
    bench_take_token(c, &wait_ms); /* charged; these are rare */
    char *s = proto_encode_client(&m);
    wsconn_send(c->ws, s, strlen(s));
    free(s);
}

/* ---- server messages, dispatched by type ------------------------------------------------ */

/* The fields of one server message the handlers need. */
struct bench_msg {
    size_t len; /* of the whole message */
    struct bscan data;
    bool has_seq;
    uint64_t seq;
};

static void bench_parse_to_act(struct bench_client *c, struct bscan v)
{
    struct bench_to_act *ta = &c->ta;
    struct bscan_iter it;
    struct bscan k, x;
    memset(ta, 0, sizeof(*ta));
    if (c->role != BENCH_PLAYER || bscan_is_null(v) || !bscan_begin(&it, v)) return;
    while (bscan_next(&it, &k, &x)) {
        if (bscan_key_is(k, "player_id")) {
            if (!bscan_str(x, ta->player_id, sizeof(ta->player_id))) return;
            if (strcmp(ta->player_id, c->player_id) != 0) {
                ta->valid = true; /* someone else's turn: the rest is not needed */
                return;
            }
        } else if (bscan_key_is(k, "call")) {
            bscan_int(x, &ta->call);
        } else if (bscan_key_is(k, "can_check")) {
            bscan_bool(x, &ta->can_check);
        } else if (bscan_key_is(k, "min_raise_to")) {
            ta->can_raise = bscan_int(x, &ta->min_raise);
        } else if (bscan_key_is(k, "max_raise_to")) {
            if (!bscan_int(x, &ta->max_raise)) ta->can_raise = false;
        }
    }
    ta->valid = ta->player_id[0] != '\0';
}

static void bench_on_snapshot(struct bench_client *c, const struct bench_msg *m)
{
    struct bscan v, tbl, bb;
    int64_t hand = 0;
    if (c->ready && c->b->recording) c->ph->ctr.resyncs++;
    if (bscan_get(m->data, "hand_id", &v)) bscan_int(v, &hand);
    if (bscan_get(m->data, "table", &tbl) && bscan_get(tbl, "big_blind", &bb))
        bscan_int(bb, &c->t->big_blind);
    c->hand_id = hand;
    c->nact = 0;
    if (bscan_get(m->data, "to_act", &v))
        bench_parse_to_act(c, v);
    else
        memset(&c->ta, 0, sizeof(c->ta));
    if (!c->ready) {
        c->ready = true;
        c->b->ready++;
        if (c->connecting) {
            c->connecting = false;
            c->b->connect_inflight--;
        }
    }
}

static void bench_on_update(struct bench_client *c, const struct bench_msg *m)
{
    struct bscan_iter it;
    struct bscan k, v, event = {0}, to_act = {0}, change = {0};
    int64_t hand = -1;
    char player[BENCH_ID_MAX + 1] = "";
    if (!bscan_begin(&it, m->data)) goto bad;
    while (bscan_next(&it, &k, &v)) {
        if (bscan_key_is(k, "event"))
            event = v;
        else if (bscan_key_is(k, "hand_id"))
            bscan_int(v, &hand);
        else if (bscan_key_is(k, "to_act"))
            to_act = v;
        else if (bscan_key_is(k, "player_id"))
            bscan_str(v, player, sizeof(player));
        else if (bscan_key_is(k, "change"))
            change = v;
        else if (bscan_key_is(k, "player") && c->role == BENCH_PLAYER && change.p &&
                 bscan_str_is(change, "busted")) {
            struct bscan pid;
            if (bscan_get(v, "player_id", &pid)) bscan_str(pid, player, sizeof(player));
        }
    }
    if (!event.p || hand < 0) goto bad;
    if (c->b->recording) {
        int e = 0;
        while (e < BENCH_NEVENTS - 1 && !bscan_str_is(event, bench_events[e]))
            e++;
        c->ph->ctr.event_bytes[e] += m->len;
    }
    if (bscan_str_is(event, "hand_start")) {
        c->hand_id = hand;
        c->nact = 0;
    } else if (bscan_str_is(event, "action")) {
        if (hand != c->hand_id) { /* a hand whose start this client did not see */
            c->hand_id = hand;
            c->nact = 0;
        }
        if (m->has_seq) bench_record_receive(c, hand, m->seq, player);
        c->nact++;
    } else if (bscan_str_is(event, "seat") && change.p && bscan_str_is(change, "busted") &&
               c->role == BENCH_PLAYER && strcmp(player, c->player_id) == 0 && !c->poll) {
        bench_ws_send_type(c, PROTO_C_SIT_IN); /* buys in again (play money) */
    }
    if (to_act.p)
        bench_parse_to_act(c, to_act);
    else
        memset(&c->ta, 0, sizeof(c->ta));
    return;
bad:
    if (c->b->recording) c->ph->ctr.bad++;
}

static void bench_on_ack(struct bench_client *c, const struct bench_msg *m)
{
    struct bscan v;
    struct bench_counters *ctr = &c->ph->ctr;
    bool rec = c->b->recording;
    if (rec && c->sent_ns) bench_hist_add(&c->ph->ack, (uint64_t)(bench_now_ns() - c->sent_ns));
    c->sent_ns = 0;
    if (!bscan_get(m->data, "status", &v)) {
        if (rec) ctr->bad++;
        return;
    }
    if (bscan_str_is(v, "accepted")) {
        if (rec) ctr->accepted++;
        return;
    }
    if (rec) ctr->rejected++;
    /* A refused choice (our bug, or a stale view): retry with check/call if still our turn. */
    if (bscan_get(m->data, "code", &v) &&
        (bscan_str_is(v, "raise_too_small") || bscan_str_is(v, "cannot_check") ||
         bscan_str_is(v, "cannot_raise") || bscan_str_is(v, "amount_above_stack") ||
         bscan_str_is(v, "bad_amount"))) {
        c->acted = false;
        c->safe_next = true;
    }
}

static void bench_on_error(struct bench_client *c, const struct bench_msg *m)
{
    struct bscan v;
    if (!c->b->recording) return;
    if (bscan_get(m->data, "code", &v) && bscan_str_is(v, "rate_limited"))
        c->ph->ctr.rate_limited++;
    else
        c->ph->ctr.errors++;
}

static void bench_on_other(struct bench_client *c, const struct bench_msg *m)
{
    (void)c;
    (void)m; /* animations, notifications, chat, pong: counted as deliveries only */
}

static const struct {
    const char *type;
    void (*fn)(struct bench_client *c, const struct bench_msg *m);
} bench_handlers[PROTO_S_COUNT] = {
    [PROTO_S_SNAPSHOT] = {"snapshot", bench_on_snapshot},
    [PROTO_S_STATE_UPDATE] = {"state_update", bench_on_update},
    [PROTO_S_ANIMATION] = {"animation", bench_on_other},
    [PROTO_S_NOTIFICATION] = {"notification", bench_on_other},
    [PROTO_S_CHAT] = {"chat", bench_on_other},
    [PROTO_S_ACK] = {"ack", bench_on_ack},
    [PROTO_S_ERROR] = {"error", bench_on_error},
    [PROTO_S_PONG] = {"pong", bench_on_other},
};

/* One server message (a WebSocket message, or one event of a poll answer) for client c. */
static void bench_on_server_msg(struct bench_client *c, const char *buf, size_t len)
{
    struct bscan_iter it;
    struct bscan k, v, type = {0};
    struct bench_msg m = {.len = len};
    struct bench *b = c->b;
    if (b->recording) c->ph->ctr.deliveries++;
    if (!bscan_begin(&it, (struct bscan){buf, len})) goto bad;
    while (bscan_next(&it, &k, &v)) {
        if (bscan_key_is(k, "type")) {
            type = v;
        } else if (bscan_key_is(k, "seq")) {
            int64_t s;
            if (!bscan_int(v, &s) || s < 0) goto bad;
            m.has_seq = true;
            m.seq = (uint64_t)s;
        } else if (bscan_key_is(k, "data")) {
            m.data = v;
        }
    }
    if (!type.p || !m.data.p) goto bad;
    for (int t = 0; t < PROTO_S_COUNT; t++) {
        if (!bscan_str_is(type, bench_handlers[t].type)) continue;
        if (m.has_seq) {
            if (t != PROTO_S_SNAPSHOT && c->have_seq && m.seq != c->last_seq + 1 && b->recording)
                c->ph->ctr.gaps++;
            c->have_seq = true;
            c->last_seq = m.seq;
        }
        if (b->recording) c->ph->ctr.type_bytes[t] += len;
        bench_handlers[t].fn(c, &m);
        return;
    }
bad:
    if (b->recording) c->ph->ctr.bad++;
}

/* ---- WebSocket clients ------------------------------------------------------------------ */

static void bench_ws_open(struct wsconn *ws, void *user)
{
    struct bench_client *c = user;
    if (c->role != BENCH_PLAYER) return;
    struct proto_cmsg m;
    memset(&m, 0, sizeof(m));
    m.type = PROTO_C_HELLO;
    snprintf(m.token, sizeof(m.token), "%s", c->token);
    char *s = proto_encode_client(&m);
    int64_t wait_ms;
    bench_take_token(c, &wait_ms);
    wsconn_send_first(ws, s, strlen(s));
    free(s);
}

static void bench_ws_message(struct wsconn *ws, void *user, const char *buf, size_t len)
{
    struct bench_client *c = user;
    (void)ws;
    bool was_ready = c->ready;
    bench_on_server_msg(c, buf, len);
    bench_consider(c);
    if (!was_ready && c->ready) bench_poke(c->b);
}

static void bench_ws_close(struct wsconn *ws, void *user, int code, const char *reason)
{
    struct bench_client *c = user;
    struct bench *b = c->b;
    (void)ws;
    if (c->closed) return;
    c->closed = true;
    if (c->connecting) {
        c->connecting = false;
        b->connect_inflight--;
        b->failed++;
        fprintf(stderr, "felt-bench: %s socket at %s failed: %d %s\n",
                c->role == BENCH_PLAYER ? "player" : "spectator", c->t->id, code, reason);
    } else if (b->recording) {
        /* The first few are named: a drop in the window is a finding, not noise. */
        if (c->ph->ctr.dropped++ < 3)
            fprintf(stderr, "felt-bench: %s socket at %s lost: %d %s\n",
                    c->role == BENCH_PLAYER ? "player" : "spectator", c->t->id, code, reason);
    }
    bench_poke(b);
}

static void bench_ws_connect(struct bench_client *c, bool deflate)
{
    struct bench *b = c->b;
    char url[256], err[128];
    if (c->role == BENCH_PLAYER)
        snprintf(url, sizeof(url), "%s/ws/game/%s/%s", b->ws_base, c->t->id, c->player_id);
    else
        snprintf(url, sizeof(url), "%s/ws/spectate/%s", b->ws_base, c->t->id);
    struct wsconn_config cfg = {
        .url = url,
        .subprotocol = PROTO_SUBPROTOCOL,
        .deflate = deflate,
        .reconnect = false,
        .max_queue = 16,
        .user = c,
        .on_open = bench_ws_open,
        .on_message = bench_ws_message,
        .on_close = bench_ws_close,
    };
    c->connecting = true;
    b->connect_inflight++;
    c->ws = wsconn_new(b->loop, &cfg, err, sizeof(err));
    if (!c->ws) felt_fatal("bad WebSocket URL %s: %s", url, err);
}

/* Keeps BENCH_CONNECT_INFLIGHT sockets connecting until every client of the array is started. */
static void bench_connect_more(struct bench *b, struct bench_client *cl, int n, bool deflate)
{
    while (b->connect_next < n && b->connect_inflight < BENCH_CONNECT_INFLIGHT)
        bench_ws_connect(&cl[b->connect_next++], deflate);
}

/* ---- HTTP: joins and polling ------------------------------------------------------------ */

static void bench_join_next(struct bench *b);

static void bench_join_done(void *arg, const struct wshttp_result *r)
{
    struct bench_client *c = arg;
    struct bench *b = c->b;
    b->joins_inflight--;
    b->http_inflight--;
    struct json_object *j = r->status == 200 ? json_tokener_parse(r->body) : NULL, *pid, *tok;
    if (j && json_object_object_get_ex(j, "player_id", &pid) &&
        json_object_object_get_ex(j, "token", &tok) &&
        json_object_get_string_len(pid) <= BENCH_ID_MAX &&
        json_object_get_string_len(tok) <= PROTO_TOKEN_MAX) {
        snprintf(c->player_id, sizeof(c->player_id), "%s", json_object_get_string(pid));
        snprintf(c->token, sizeof(c->token), "%s", json_object_get_string(tok));
        c->joined = true;
    } else {
        b->join_failed++;
        fprintf(stderr, "felt-bench: join at %s failed: %s %.200s\n", c->t->id,
                r->status ? "HTTP" : r->error, r->status ? r->body : "");
    }
    json_object_put(j);
    b->joins_left--;
    bench_join_next(b);
    bench_poke(b);
}

static void bench_join_next(struct bench *b)
{
    struct bench_phase *ph = b->ph;
    while (b->joins_inflight < BENCH_JOIN_INFLIGHT && b->join_next < ph->nclients) {
        struct bench_client *c = &ph->clients[b->join_next++];
        if (c->role != BENCH_PLAYER) continue;
        struct proto_cmsg m;
        char url[256];
        memset(&m, 0, sizeof(m));
        m.type = PROTO_C_JOIN;
        snprintf(m.name, sizeof(m.name), "%s-%d", ph->poll ? "p" : "w", c->id);
        m.buy_in = BENCH_BUY_IN;
        char *s = proto_encode_client(&m);
        snprintf(url, sizeof(url), "%s/api/games/%s/join", b->http_base, c->t->id);
        if (wshttp_request(b->loop, url, s, NULL, bench_join_done, c) != 0)
            felt_fatal("bad URL %s", url);
        free(s);
        b->joins_inflight++;
        b->http_inflight++;
    }
}

static void bench_poll_tick(void *arg);

/* Counts an HTTP answer's body, and its wire size with the header feltd sends. */
static void bench_count_http(struct bench_client *c, const struct wshttp_result *r)
{
    struct bench *b = c->b;
    if (!b->recording) return;
    c->ph->ctr.payload += r->body_len;
    if (b->http_header_base > 0)
        c->ph->ctr.wire += r->body_len + (uint64_t)b->http_header_base +
                           (uint64_t)snprintf(NULL, 0, "%zu", r->body_len);
}

static void bench_poll_done(void *arg, const struct wshttp_result *r)
{
    struct bench_client *c = arg;
    struct bench *b = c->b;
    struct bscan top = {r->body, r->body_len}, v, ev;
    struct bscan_iter it;
    int64_t seq;
    c->get_inflight = false;
    b->http_inflight--;
    if (b->ph != c->ph) /* an answer that outlived its phase */
        goto out;
    if (r->status != 200 || !bscan_get(top, "seq", &v) || !bscan_int(v, &seq) ||
        !bscan_get(top, "events", &v) || !bscan_begin(&it, v)) {
        if (b->recording) c->ph->ctr.errors++;
        goto out;
    }
    bench_count_http(c, r);
    while (bscan_next(&it, NULL, &ev))
        bench_on_server_msg(c, ev.p, ev.n);
    /* The answer's seq is the table's latest: the next poll asks for what follows it. */
    c->have_seq = true;
    c->last_seq = (uint64_t)seq;
    bench_consider(c);
out:
    bench_poke(b);
}

static void bench_poll_tick(void *arg)
{
    struct bench_client *c = arg;
    struct bench *b = c->b;
    char url[256];
    wstimer_arm(c->tick, c->ph->interval_ms);
    if (c->get_inflight) return; /* the last answer has not come yet: this tick is skipped */
    if (c->have_seq)
        snprintf(url, sizeof(url), "%s/api/games/%s/state?since=%llu", b->http_base, c->t->id,
                 (unsigned long long)c->last_seq);
    else
        snprintf(url, sizeof(url), "%s/api/games/%s/state", b->http_base, c->t->id);
    if (wshttp_request(b->loop, url, NULL, c->role == BENCH_PLAYER ? c->token : NULL,
                       bench_poll_done, c) != 0)
        felt_fatal("bad URL %s", url);
    c->get_inflight = true;
    b->http_inflight++;
    if (b->recording) c->ph->ctr.requests++;
}

static void bench_http_action_done(void *arg, const struct wshttp_result *r)
{
    struct bench_client *c = arg;
    struct bench *b = c->b;
    c->post_inflight = false;
    b->http_inflight--;
    if (b->ph == c->ph) {
        if (r->status == 200) {
            bench_count_http(c, r);
            bench_on_server_msg(c, r->body, r->body_len);
        } else if (b->recording) {
            c->ph->ctr.errors++;
        }
    }
    bench_poke(b);
}

/* ---- /api/games: are the phase's tables empty again? ------------------------------------ */

static void bench_lobby_done(void *arg, const struct wshttp_result *r)
{
    struct bench *b = arg;
    struct bscan top = {r->body, r->body_len}, games, g, id, taken;
    struct bscan_iter it;
    struct bench_phase *ph = b->ph;
    int busy = 0;
    b->lobby_pending = false;
    b->http_inflight--;
    if (!ph) return;
    if (r->status != 200 || !bscan_get(top, "games", &games) || !bscan_begin(&it, games)) {
        b->lobby_busy = -1;
        bench_poke(b);
        return;
    }
    while (bscan_next(&it, NULL, &g)) {
        char name[PROTO_GAME_ID_MAX + 1];
        int64_t n = 0;
        if (!bscan_get(g, "id", &id) || !bscan_str(id, name, sizeof(name)) ||
            !bscan_get(g, "seats_taken", &taken) || !bscan_int(taken, &n))
            continue;
        for (int i = 0; i < ph->ntables; i++)
            if (strcmp(ph->tables[i].id, name) == 0) busy += (int)n;
    }
    b->lobby_busy = busy;
    bench_poke(b);
}

static void bench_lobby_fetch(struct bench *b)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/api/games", b->http_base);
    if (wshttp_request(b->loop, url, NULL, NULL, bench_lobby_done, b) == 0)
        b->http_inflight++;
    else
        b->lobby_pending = false;
}

/* ---- done conditions -------------------------------------------------------------------- */

static bool bench_joins_done(struct bench *b)
{
    return b->joins_left == 0;
}

static bool bench_connects_done(struct bench *b)
{
    struct bench_phase *ph = b->ph;
    bench_connect_more(b, ph->clients, ph->nclients, ph->deflate);
    return b->failed > 0 || (b->connect_next >= ph->nclients && b->connect_inflight == 0);
}

static bool bench_idle_connects_done(struct bench *b)
{
    bench_connect_more(b, b->idle_clients, b->nidle, false);
    return b->failed > 0 || (b->connect_next >= b->nidle && b->connect_inflight == 0);
}

static bool bench_poll_ready(struct bench *b)
{
    return b->ready == b->ph->nclients;
}

static bool bench_http_idle(struct bench *b)
{
    return b->http_inflight == 0;
}

static bool bench_players_closed(struct bench *b)
{
    struct bench_phase *ph = b->ph;
    for (int i = 0; i < ph->nclients; i++)
        if (ph->clients[i].role == BENCH_PLAYER && !ph->clients[i].closed) return false;
    return true;
}

static void bench_lobby_fire(void *arg)
{
    bench_lobby_fetch(arg);
}

/* Asks the lobby every 200 ms until the phase's tables have no one seated. */
static bool bench_lobby_empty(struct bench *b)
{
    if (b->lobby_busy == 0) return true;
    if (!b->lobby_pending) {
        b->lobby_pending = true;
        wstimer_arm(b->lobby_timer, b->lobby_busy < 0 ? 0 : 200);
    }
    return false;
}

/* ---- phases ----------------------------------------------------------------------------- */

static void bench_phase_tables(struct bench *b, struct bench_phase *ph, int ntables,
                               const char *prefix)
{
    ph->ntables = ntables;
    ph->tables = xcalloc((size_t)ntables, sizeof(*ph->tables));
    for (int i = 0; i < ntables; i++) {
        snprintf(ph->tables[i].id, sizeof(ph->tables[i].id), "%s%d", prefix, i);
        ph->tables[i].big_blind = BENCH_BIG_BLIND;
    }
    int per = b->o.players + b->o.spectators;
    ph->nclients = ntables * per;
    ph->nplayers = ntables * b->o.players;
    ph->clients = xcalloc((size_t)ph->nclients, sizeof(*ph->clients));
    for (int i = 0; i < ph->nclients; i++) {
        struct bench_client *c = &ph->clients[i];
        c->b = b;
        c->ph = ph;
        c->t = &ph->tables[i / per];
        c->id = i;
        c->role = i % per < b->o.players ? BENCH_PLAYER : BENCH_SPECTATOR;
        c->poll = ph->poll;
    }
}

static void bench_window_open(struct bench *b, struct bench_phase *ph, int64_t *t0, double *cpu0,
                              double *self0)
{
    memset(&ph->ctr, 0, sizeof(ph->ctr));
    bench_hist_reset(&ph->lat);
    bench_hist_reset(&ph->ack);
    for (int i = 0; i < ph->nclients; i++) {
        struct bench_client *c = &ph->clients[i];
        if (c->ws) wsconn_bytes(c->ws, &c->wire0, &c->pay0);
    }
    ph->load_start = bench_proc_loadavg();
    *cpu0 = b->pid ? bench_proc_cpu_s(b->pid) : -1;
    *self0 = bench_self_cpu_s();
    *t0 = bench_now_ns();
    b->recording = true;
}

static void bench_window_close(struct bench *b, struct bench_phase *ph, int64_t t0, double cpu0,
                               double self0)
{
    b->recording = false;
    ph->seconds = (double)(bench_now_ns() - t0) / 1e9;
    double cpu1 = b->pid ? bench_proc_cpu_s(b->pid) : -1;
    ph->srv_cpu_s = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
    ph->bench_cpu_s = bench_self_cpu_s() - self0;
    ph->rss_end_kib = b->pid ? bench_proc_rss_kib(b->pid) : -1;
    ph->load_end = bench_proc_loadavg();
    for (int i = 0; i < ph->nclients; i++) {
        struct bench_client *c = &ph->clients[i];
        uint64_t wire, pay;
        if (!c->ws) continue;
        wsconn_bytes(c->ws, &wire, &pay);
        ph->wire_in += wire - c->wire0;
        ph->payload_in += pay - c->pay0;
        ph->compressed += wsconn_compressed(c->ws);
    }
}

static bool bench_join_all(struct bench *b, struct bench_phase *ph)
{
    b->joins_left = ph->nplayers;
    b->join_next = 0;
    b->join_failed = 0;
    bench_log(b, "%s: joining %d players at %d tables", ph->name, ph->nplayers, ph->ntables);
    bench_join_next(b);
    if (!bench_run(b, bench_joins_done, BENCH_SETUP_SECS) || b->join_failed) {
        snprintf(ph->note, sizeof(ph->note), "%d of %d joins failed%s", b->join_failed,
                 ph->nplayers, b->timed_out ? " (timed out)" : "");
        return false;
    }
    return true;
}

/* Measures one phase; the clients are joined, connected and ready. */
static void bench_measure(struct bench *b, struct bench_phase *ph)
{
    int64_t t0;
    double cpu0, self0;
    bench_log(b, "%s: warming up %.1f s, then measuring %.1f s", ph->name, b->o.warmup,
              b->o.seconds);
    bench_run(b, NULL, b->o.warmup);
    bench_window_open(b, ph, &t0, &cpu0, &self0);
    bench_run(b, NULL, b->o.seconds);
    bench_window_close(b, ph, t0, cpu0, self0);
    ph->ok = !bench_interrupted && ph->ctr.accepted > 0 && ph->ctr.deliveries > 0;
    if (!ph->ok && !ph->note[0])
        snprintf(ph->note, sizeof(ph->note), "no actions were accepted in the window");
}

static void bench_phase_ws(struct bench *b, struct bench_phase *ph)
{
    b->ph = ph;
    ph->ran = true;
    ph->rss_before_kib = b->pid ? bench_proc_rss_kib(b->pid) : -1;
    if (!bench_join_all(b, ph)) goto teardown;
    bench_log(b, "%s: opening %d sockets", ph->name, ph->nclients);
    b->connect_next = 0;
    b->connect_inflight = 0;
    b->ready = 0;
    b->failed = 0;
    if (!bench_run(b, bench_connects_done, BENCH_SETUP_SECS) || b->failed) {
        snprintf(ph->note, sizeof(ph->note), "%d sockets failed to open%s", b->failed,
                 b->timed_out ? " (timed out)" : "");
        goto teardown;
    }
    bench_measure(b, ph);

teardown:
    /* Players leave (the server closes their sockets once their hand is over); spectators and
     * whatever is left are closed from here. */
    bench_log(b, "%s: leaving", ph->name);
    for (int i = 0; i < ph->nclients; i++) {
        struct bench_client *c = &ph->clients[i];
        if (c->act_timer) wstimer_cancel(c->act_timer);
        c->act_armed = true; /* no more actions */
        if (!c->ws || c->closed) continue;
        if (c->role == BENCH_PLAYER && c->ready) {
            bench_ws_send_type(c, PROTO_C_LEAVE);
        } else {
            c->closed = true;
            wsconn_close(c->ws, 1000, "done");
            c->ws = NULL;
        }
    }
    bench_run(b, bench_players_closed, BENCH_TEARDOWN_SECS);
    for (int i = 0; i < ph->nclients; i++) {
        struct bench_client *c = &ph->clients[i];
        c->closed = true;
        if (c->ws) wsconn_close(c->ws, 1000, "done");
        c->ws = NULL;
        wstimer_free(c->act_timer);
        c->act_timer = NULL;
    }
    b->lobby_busy = -1;
    b->lobby_pending = false;
    bench_run(b, bench_lobby_empty, BENCH_TEARDOWN_SECS);
    wstimer_cancel(b->lobby_timer);
    bench_run(b, bench_http_idle, BENCH_TEARDOWN_SECS);
    b->ph = NULL;
}

static void bench_phase_poll(struct bench *b, struct bench_phase *ph)
{
    b->ph = ph;
    ph->ran = true;
    ph->rss_before_kib = b->pid ? bench_proc_rss_kib(b->pid) : -1;
    if (!bench_join_all(b, ph)) goto teardown;
    bench_log(b, "%s: %d clients polling every %d ms", ph->name, ph->nclients, ph->interval_ms);
    b->ready = 0;
    for (int i = 0; i < ph->nclients; i++) {
        struct bench_client *c = &ph->clients[i];
        c->tick = wstimer_new(b->loop, bench_poll_tick, c);
        wstimer_arm(c->tick, (int64_t)rng_bounded(&b->rng, (uint64_t)ph->interval_ms));
    }
    if (!bench_run(b, bench_poll_ready, BENCH_SETUP_SECS)) {
        snprintf(ph->note, sizeof(ph->note), "only %d of %d clients got a first answer", b->ready,
                 ph->nclients);
        goto teardown;
    }
    bench_measure(b, ph);

teardown:
    /* There is no HTTP leave: these players stay seated, their table idle. */
    for (int i = 0; i < ph->nclients; i++) {
        struct bench_client *c = &ph->clients[i];
        c->closed = true;
        wstimer_free(c->tick);
        c->tick = NULL;
        wstimer_free(c->act_timer);
        c->act_timer = NULL;
    }
    bench_run(b, bench_http_idle, BENCH_TEARDOWN_SECS);
    b->ph = NULL;
}

static void bench_phase_idle(struct bench *b)
{
    struct bench_idle *id = &b->idle;
    int n = b->o.idle;
    int64_t t0;
    id->ran = true;
    id->conns = n;
    b->nidle_tables = bench_idle_tables(&b->o);
    b->idle_tables = xcalloc((size_t)b->nidle_tables, sizeof(*b->idle_tables));
    for (int i = 0; i < b->nidle_tables; i++)
        snprintf(b->idle_tables[i].id, sizeof(b->idle_tables[i].id), "idle%d", i);
    b->idle_clients = xcalloc((size_t)n, sizeof(*b->idle_clients));
    b->nidle = n;
    static struct bench_phase idle_ph; /* counters the handlers may touch, never reported */
    idle_ph.clients = b->idle_clients;
    idle_ph.nclients = n;
    for (int i = 0; i < n; i++) {
        struct bench_client *c = &b->idle_clients[i];
        c->b = b;
        c->ph = &idle_ph;
        c->t = &b->idle_tables[i / b->o.idle_per_table];
        c->id = i;
        c->role = BENCH_SPECTATOR;
    }
    id->rss_before_kib = b->pid ? bench_proc_rss_kib(b->pid) : -1;
    bench_log(b, "idle: opening %d spectator sockets at %d tables", n, b->nidle_tables);
    b->connect_next = 0;
    b->connect_inflight = 0;
    b->ready = 0;
    b->failed = 0;
    if (!bench_run(b, bench_idle_connects_done, BENCH_SETUP_SECS) || b->failed) {
        snprintf(id->note, sizeof(id->note), "%d sockets failed to open%s", b->failed,
                 b->timed_out ? " (timed out)" : "");
        goto out;
    }
    bench_run(b, NULL, 1.0); /* let the snapshots drain */
    id->rss_after_kib = b->pid ? bench_proc_rss_kib(b->pid) : -1;
    bench_log(b, "idle: %d sockets open, measuring CPU for %.0f s", n, b->o.idle_seconds);
    double cpu0 = b->pid ? bench_proc_cpu_s(b->pid) : -1, self0 = bench_self_cpu_s();
    t0 = bench_now_ns();
    bench_run(b, NULL, b->o.idle_seconds);
    id->seconds = (double)(bench_now_ns() - t0) / 1e9;
    double cpu1 = b->pid ? bench_proc_cpu_s(b->pid) : -1;
    id->srv_cpu_s = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
    id->bench_cpu_s = bench_self_cpu_s() - self0;
    id->ok = !bench_interrupted;
out:
    for (int i = 0; i < n; i++) {
        struct bench_client *c = &b->idle_clients[i];
        c->closed = true;
        if (c->ws) wsconn_close(c->ws, 1000, "done");
        c->ws = NULL;
    }
    bench_run(b, NULL, 0.5); /* let the closes go out */
}

/* ---- report ----------------------------------------------------------------------------- */

static double bench_div(double a, double b)
{
    return b > 0 ? a / b : 0;
}

static int bench_conns_per_table(const struct bench *b)
{
    return b->o.players + b->o.spectators;
}

/* Bytes each client of a table received per action at that table, from the total a phase
 * received (every table has the same number of clients). */
static double bench_bytes_per_action(const struct bench_phase *ph, uint64_t bytes)
{
    return bench_div((double)bytes, (double)ph->ctr.accepted * ph->nclients / ph->ntables);
}

static uint64_t bench_phase_wire(const struct bench_phase *ph)
{
    return ph->poll ? ph->ctr.wire : ph->wire_in;
}

static uint64_t bench_phase_payload(const struct bench_phase *ph)
{
    return ph->poll ? ph->ctr.payload : ph->payload_in;
}

static struct json_object *bench_json_latency(const struct bench_hist *h)
{
    struct json_object *j = json_object_new_object();
    json_object_object_add(j, "samples", json_object_new_int64((int64_t)h->count));
    json_object_object_add(j, "mean", json_object_new_double(bench_hist_mean(h) / 1e3));
    json_object_object_add(j, "p50", json_object_new_double(bench_hist_quantile(h, 0.5) / 1e3));
    json_object_object_add(j, "p90", json_object_new_double(bench_hist_quantile(h, 0.9) / 1e3));
    json_object_object_add(j, "p99", json_object_new_double(bench_hist_quantile(h, 0.99) / 1e3));
    json_object_object_add(j, "p99_9", json_object_new_double(bench_hist_quantile(h, 0.999) / 1e3));
    json_object_object_add(j, "max", json_object_new_double((double)h->max_ns / 1e3));
    return j;
}

static struct json_object *bench_json_phase(const struct bench_phase *ph)
{
    struct json_object *j = json_object_new_object();
    const struct bench_counters *k = &ph->ctr;
    double minutes = ph->seconds / 60;
    json_object_object_add(j, "name", json_object_new_string(ph->name));
    json_object_object_add(j, "transport", json_object_new_string(ph->poll ? "poll" : "websocket"));
    if (ph->poll)
        json_object_object_add(j, "interval_ms", json_object_new_int(ph->interval_ms));
    else
        json_object_object_add(j, "deflate", json_object_new_boolean(ph->deflate));
    json_object_object_add(j, "ok", json_object_new_boolean(ph->ok));
    if (ph->note[0]) json_object_object_add(j, "note", json_object_new_string(ph->note));
    json_object_object_add(j, "tables", json_object_new_int(ph->ntables));
    json_object_object_add(j, "clients", json_object_new_int(ph->nclients));
    json_object_object_add(j, "seconds", json_object_new_double(ph->seconds));
    json_object_object_add(j, "actions", json_object_new_int64((int64_t)k->accepted));
    json_object_object_add(j, "actions_per_s",
                           json_object_new_double(bench_div((double)k->accepted, ph->seconds)));
    json_object_object_add(j, "deliveries", json_object_new_int64((int64_t)k->deliveries));
    json_object_object_add(j, "deliveries_per_s",
                           json_object_new_double(bench_div((double)k->deliveries, ph->seconds)));
    json_object_object_add(j, "latency_us", bench_json_latency(&ph->lat));
    json_object_object_add(j, "ack_latency_us", bench_json_latency(&ph->ack));
    json_object_object_add(j, "server_cpu_s", json_object_new_double(ph->srv_cpu_s));
    json_object_object_add(
        j, "server_cpu_s_per_1000_actions",
        json_object_new_double(
            ph->srv_cpu_s < 0 ? -1 : bench_div(ph->srv_cpu_s * 1000, (double)k->accepted)));
    json_object_object_add(j, "bench_cpu_s", json_object_new_double(ph->bench_cpu_s));
    struct json_object *bpa = json_object_new_object();
    json_object_object_add(
        bpa, "payload",
        json_object_new_double(bench_bytes_per_action(ph, bench_phase_payload(ph))));
    json_object_object_add(
        bpa, "wire", json_object_new_double(bench_bytes_per_action(ph, bench_phase_wire(ph))));
    json_object_object_add(j, "bytes_per_action_per_client", bpa);
    struct json_object *bpm = json_object_new_object();
    json_object_object_add(
        bpm, "payload",
        json_object_new_double(bench_div((double)bench_phase_payload(ph), ph->nclients * minutes)));
    json_object_object_add(
        bpm, "wire",
        json_object_new_double(bench_div((double)bench_phase_wire(ph), ph->nclients * minutes)));
    json_object_object_add(j, "bytes_per_min_per_client", bpm);
    json_object_object_add(
        j, "requests_per_min_per_client",
        json_object_new_double(
            bench_div((double)(ph->poll ? k->requests : k->client_msgs), ph->nclients * minutes)));
    if (!ph->poll)
        json_object_object_add(j, "compressed_sockets", json_object_new_int(ph->compressed));
    json_object_object_add(j, "server_rss_kib_before", json_object_new_int64(ph->rss_before_kib));
    json_object_object_add(j, "server_rss_kib_end", json_object_new_int64(ph->rss_end_kib));
    json_object_object_add(
        j, "server_rss_bytes_per_client_busy",
        json_object_new_double(
            ph->rss_end_kib < 0
                ? -1
                : bench_div((double)(ph->rss_end_kib - ph->rss_before_kib) * 1024, ph->nclients)));
    struct json_object *e = json_object_new_object();
    json_object_object_add(e, "sent", json_object_new_int64((int64_t)k->sent));
    json_object_object_add(e, "rejected", json_object_new_int64((int64_t)k->rejected));
    json_object_object_add(e, "rate_limited", json_object_new_int64((int64_t)k->rate_limited));
    json_object_object_add(e, "errors", json_object_new_int64((int64_t)k->errors));
    json_object_object_add(e, "unmatched", json_object_new_int64((int64_t)k->unmatched));
    json_object_object_add(e, "seq_gaps", json_object_new_int64((int64_t)k->gaps));
    json_object_object_add(e, "resyncs", json_object_new_int64((int64_t)k->resyncs));
    json_object_object_add(e, "dropped", json_object_new_int64((int64_t)k->dropped));
    json_object_object_add(e, "unreadable", json_object_new_int64((int64_t)k->bad));
    json_object_object_add(j, "counts", e);
    /* Where the bytes go: payload bytes per action per client, by message type and event. */
    struct json_object *bt = json_object_new_object(), *be = json_object_new_object();
    for (int t = 0; t < PROTO_S_COUNT; t++)
        json_object_object_add(
            bt, proto_stype_name((enum proto_stype)t),
            json_object_new_double(bench_bytes_per_action(ph, k->type_bytes[t])));
    for (int i = 0; i < BENCH_NEVENTS; i++)
        json_object_object_add(
            be, bench_events[i],
            json_object_new_double(bench_bytes_per_action(ph, k->event_bytes[i])));
    json_object_object_add(j, "payload_per_action_per_client_by_type", bt);
    json_object_object_add(j, "state_update_payload_per_action_per_client_by_event", be);
    json_object_object_add(j, "load_start", json_object_new_double(ph->load_start));
    json_object_object_add(j, "load_end", json_object_new_double(ph->load_end));
    return j;
}

/* The targets of docs/performance.md, judged on this run where its shape fits. */
struct bench_target {
    const char *what;
    const char *status; /* "met", "missed" or "n/a" */
    char measured[96];
};

static const char *bench_verdict(bool applies, bool met)
{
    return !applies ? "n/a" : met ? "met" : "missed";
}

static int bench_targets(const struct bench *b, struct bench_target *t)
{
    const struct bench_phase *ws = NULL;
    for (int i = 0; i < b->nphases; i++)
        if (!b->phases[i].poll && !b->phases[i].deflate && b->phases[i].ok) ws = &b->phases[i];
    int n = 0, conns = b->o.tables * bench_conns_per_table(b);
    double p50 = ws ? bench_hist_quantile(&ws->lat, 0.5) / 1e3 : 0;
    double p99 = ws ? bench_hist_quantile(&ws->lat, 0.99) / 1e3 : 0;
    bool one = ws && b->o.tables == 1 && conns == 10;
    bool big = ws && conns >= 10000;
    t[n] = (struct bench_target){"1 table x 10 connections: p50 <= 50 us",
                                 bench_verdict(one, p50 <= 50), ""};
    snprintf(t[n++].measured, sizeof(t[0].measured), ws ? "p50 %.1f us" : "-", p50);
    t[n] = (struct bench_target){"1 table x 10 connections: p99 <= 250 us",
                                 bench_verdict(one, p99 <= 250), ""};
    snprintf(t[n++].measured, sizeof(t[0].measured), ws ? "p99 %.1f us" : "-", p99);
    t[n] = (struct bench_target){"10,000 connections: p99 <= 5 ms", bench_verdict(big, p99 <= 5000),
                                 ""};
    snprintf(t[n++].measured, sizeof(t[0].measured), ws ? "p99 %.1f us at %d connections" : "-",
             p99, conns);
    double dps = ws ? bench_div((double)ws->ctr.deliveries, ws->seconds) : 0;
    t[n] = (struct bench_target){"10,000 connections: >= 300,000 deliveries/s",
                                 bench_verdict(big, dps >= 300000), ""};
    snprintf(t[n++].measured, sizeof(t[0].measured), ws ? "%.0f deliveries/s" : "-", dps);
    const struct bench_idle *id = &b->idle;
    double per = id->ok && id->rss_after_kib >= 0
                     ? bench_div((double)(id->rss_after_kib - id->rss_before_kib) * 1024, id->conns)
                     : -1;
    t[n] = (struct bench_target){"<= 4 KiB server RSS per idle connection at 10,000",
                                 bench_verdict(per >= 0 && id->conns >= 10000, per <= 4096), ""};
    snprintf(t[n++].measured, sizeof(t[0].measured), per >= 0 ? "%.0f B per connection at %d" : "-",
             per, id->conns);
    double share = id->ok && id->srv_cpu_s >= 0 ? bench_div(id->srv_cpu_s, id->seconds) : -1;
    t[n] = (struct bench_target){"idle connections cost no CPU (<= 1% of a core)",
                                 bench_verdict(share >= 0, share <= 0.01), ""};
    snprintf(t[n++].measured, sizeof(t[0].measured),
             share >= 0 ? "%.2f CPU s in %.0f s (%.2f%% of a core), %d connections" : "-",
             id->srv_cpu_s, id->seconds, share * 100, id->conns);
    double bpa = ws ? bench_bytes_per_action(ws, ws->payload_in) : 0;
    t[n] = (struct bench_target){"<= 200 bytes per action per client uncompressed",
                                 bench_verdict(ws != NULL, bpa <= 200), ""};
    snprintf(t[n++].measured, sizeof(t[0].measured), ws ? "%.0f B payload (%.0f B wire)" : "-", bpa,
             ws ? bench_bytes_per_action(ws, ws->wire_in) : 0);
    return n;
}

/* One line of the table: label, then get() of each phase with `decimals` decimals. */
static void bench_row(const struct bench *b, const char *label, int decimals,
                      double (*get)(const struct bench_phase *ph))
{
    printf("%-34s", label);
    for (int i = 0; i < b->nphases; i++) {
        const struct bench_phase *ph = &b->phases[i];
        char cell[32];
        if (!ph->ran || !ph->ok)
            snprintf(cell, sizeof(cell), "-");
        else
            snprintf(cell, sizeof(cell), "%.*f", decimals, get(ph));
        printf(" %16s", cell);
    }
    putchar('\n');
}

/* A row of payload bytes per action per client for one message type (or state_update event);
 * rows that are zero in every phase are left out. */
static void bench_row_typed(const struct bench *b, const char *label, int type, int event)
{
    double v[2 + BENCH_MAX_POLL];
    bool any = false;
    for (int i = 0; i < b->nphases; i++) {
        const struct bench_phase *ph = &b->phases[i];
        uint64_t n = type >= 0 ? ph->ctr.type_bytes[type] : ph->ctr.event_bytes[event];
        v[i] = bench_bytes_per_action(ph, n);
        any |= v[i] >= 0.5;
    }
    if (!any) return;
    printf("%-34s", label);
    for (int i = 0; i < b->nphases; i++) {
        if (!b->phases[i].ran || !b->phases[i].ok)
            printf(" %16s", "-");
        else
            printf(" %16.0f", v[i]);
    }
    putchar('\n');
}

static double bench_g_clients(const struct bench_phase *p)
{
    return p->nclients;
}
static double bench_g_aps(const struct bench_phase *p)
{
    return bench_div((double)p->ctr.accepted, p->seconds);
}
static double bench_g_dps(const struct bench_phase *p)
{
    return bench_div((double)p->ctr.deliveries, p->seconds);
}
static double bench_g_samples(const struct bench_phase *p)
{
    return (double)p->lat.count;
}
static double bench_g_p50(const struct bench_phase *p)
{
    return bench_hist_quantile(&p->lat, 0.5) / 1e3;
}
static double bench_g_p90(const struct bench_phase *p)
{
    return bench_hist_quantile(&p->lat, 0.9) / 1e3;
}
static double bench_g_p99(const struct bench_phase *p)
{
    return bench_hist_quantile(&p->lat, 0.99) / 1e3;
}
static double bench_g_p999(const struct bench_phase *p)
{
    return bench_hist_quantile(&p->lat, 0.999) / 1e3;
}
static double bench_g_max(const struct bench_phase *p)
{
    return (double)p->lat.max_ns / 1e3;
}
static double bench_g_ack50(const struct bench_phase *p)
{
    return bench_hist_quantile(&p->ack, 0.5) / 1e3;
}
static double bench_g_ack99(const struct bench_phase *p)
{
    return bench_hist_quantile(&p->ack, 0.99) / 1e3;
}
static double bench_g_cpu(const struct bench_phase *p)
{
    return p->srv_cpu_s;
}
static double bench_g_cpuk(const struct bench_phase *p)
{
    return bench_div(p->srv_cpu_s * 1000, (double)p->ctr.accepted);
}
static double bench_g_bcpu(const struct bench_phase *p)
{
    return p->bench_cpu_s;
}
static double bench_g_bpa_pay(const struct bench_phase *p)
{
    return bench_bytes_per_action(p, bench_phase_payload(p));
}
static double bench_g_bpa_wire(const struct bench_phase *p)
{
    return bench_bytes_per_action(p, bench_phase_wire(p));
}
static double bench_g_rpm(const struct bench_phase *p)
{
    return bench_div((double)(p->poll ? p->ctr.requests : p->ctr.client_msgs),
                     p->nclients * p->seconds / 60);
}
static double bench_g_bpm_pay(const struct bench_phase *p)
{
    return bench_div((double)bench_phase_payload(p), p->nclients * p->seconds / 60);
}
static double bench_g_bpm_wire(const struct bench_phase *p)
{
    return bench_div((double)bench_phase_wire(p), p->nclients * p->seconds / 60);
}
static double bench_g_rss(const struct bench_phase *p)
{
    return (double)p->rss_end_kib;
}
static double bench_g_rss_conn(const struct bench_phase *p)
{
    return bench_div((double)(p->rss_end_kib - p->rss_before_kib) * 1024, p->nclients);
}
static double bench_g_problems(const struct bench_phase *p)
{
    const struct bench_counters *k = &p->ctr;
    return (double)(k->rejected + k->rate_limited + k->errors + k->gaps + k->dropped + k->bad);
}
static double bench_g_unmatched(const struct bench_phase *p)
{
    return (double)p->ctr.unmatched;
}

static void bench_print(const struct bench *b)
{
    struct bench_target t[8];
    printf("\nfelt-bench: %d table(s) x (%d players + %d spectators), %.0f s per phase "
           "(after %.0f s warm-up), think %d ms; feltd pid %d (%s); %ld CPUs, felt-bench on the "
           "same machine\n\n",
           b->o.tables, b->o.players, b->o.spectators, b->o.seconds, b->o.warmup, b->o.think_ms,
           (int)b->pid, b->own_server ? "started by felt-bench" : "attached",
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-34s", "");
    for (int i = 0; i < b->nphases; i++)
        printf(" %16s", b->phases[i].name);
    putchar('\n');
    bench_row(b, "clients", 0, bench_g_clients);
    bench_row(b, "actions/s", 1, bench_g_aps);
    bench_row(b, "deliveries/s", 0, bench_g_dps);
    bench_row(b, "latency samples", 0, bench_g_samples);
    bench_row(b, "latency p50 (us)", 1, bench_g_p50);
    bench_row(b, "latency p90 (us)", 1, bench_g_p90);
    bench_row(b, "latency p99 (us)", 1, bench_g_p99);
    bench_row(b, "latency p99.9 (us)", 1, bench_g_p999);
    bench_row(b, "latency max (us)", 1, bench_g_max);
    bench_row(b, "actor's ack p50 (us)", 1, bench_g_ack50);
    bench_row(b, "actor's ack p99 (us)", 1, bench_g_ack99);
    bench_row(b, "server CPU s", 2, bench_g_cpu);
    bench_row(b, "server CPU s / 1000 actions", 3, bench_g_cpuk);
    bench_row(b, "felt-bench CPU s", 2, bench_g_bcpu);
    bench_row(b, "bytes/action/client payload", 0, bench_g_bpa_pay);
    bench_row(b, "bytes/action/client wire", 0, bench_g_bpa_wire);
    for (int ty = 0; ty < PROTO_S_COUNT; ty++) {
        char label[48];
        snprintf(label, sizeof(label), "  of which %s", proto_stype_name((enum proto_stype)ty));
        bench_row_typed(b, label, ty, -1);
    }
    for (int i = 0; i < BENCH_NEVENTS; i++) {
        char label[48];
        snprintf(label, sizeof(label), "    state_update %s", bench_events[i]);
        bench_row_typed(b, label, -1, i);
    }
    bench_row(b, "requests|msgs sent/min/client", 1, bench_g_rpm);
    bench_row(b, "bytes/min/client payload", 0, bench_g_bpm_pay);
    bench_row(b, "bytes/min/client wire", 0, bench_g_bpm_wire);
    bench_row(b, "server RSS at end (KiB)", 0, bench_g_rss);
    bench_row(b, "server RSS/client busy (B)", 0, bench_g_rss_conn);
    bench_row(b, "problems (see JSON counts)", 0, bench_g_problems);
    bench_row(b, "broadcasts without a send", 0, bench_g_unmatched);
    for (int i = 0; i < b->nphases; i++)
        if (b->phases[i].ran && !b->phases[i].ok)
            printf("  %s: FAILED: %s\n", b->phases[i].name, b->phases[i].note);
    if (b->idle.ran) {
        const struct bench_idle *id = &b->idle;
        if (id->ok)
            printf("\nidle: %d connections: server RSS +%lld KiB (%.0f B per connection); "
                   "server CPU %.2f s in %.1f s; felt-bench CPU %.2f s\n",
                   id->conns, (long long)(id->rss_after_kib - id->rss_before_kib),
                   bench_div((double)(id->rss_after_kib - id->rss_before_kib) * 1024, id->conns),
                   id->srv_cpu_s, id->seconds, id->bench_cpu_s);
        else
            printf("\nidle: FAILED: %s\n", id->note);
    }
    int n = bench_targets(b, t);
    printf("\ntargets (benchmarks, not assertions):\n");
    for (int i = 0; i < n; i++)
        printf("  %-7s %-52s %s\n", t[i].status, t[i].what, t[i].measured);
    fflush(stdout);
}

static int bench_write_json(const struct bench *b, const char *path)
{
    struct json_object *j = json_object_new_object(), *cfg = json_object_new_object();
    json_object_object_add(cfg, "tables", json_object_new_int(b->o.tables));
    json_object_object_add(cfg, "players", json_object_new_int(b->o.players));
    json_object_object_add(cfg, "spectators", json_object_new_int(b->o.spectators));
    json_object_object_add(cfg, "seconds", json_object_new_double(b->o.seconds));
    json_object_object_add(cfg, "warmup", json_object_new_double(b->o.warmup));
    json_object_object_add(cfg, "think_ms", json_object_new_int(b->o.think_ms));
    json_object_object_add(cfg, "rate", json_object_new_double(b->o.rate));
    json_object_object_add(cfg, "poll_tables", json_object_new_int(b->o.poll_tables));
    json_object_object_add(cfg, "cpus", json_object_new_int((int)sysconf(_SC_NPROCESSORS_ONLN)));
    json_object_object_add(cfg, "server_pid", json_object_new_int((int)b->pid));
    json_object_object_add(cfg, "server_started_by_bench", json_object_new_boolean(b->own_server));
    json_object_object_add(cfg, "nofile", json_object_new_int64((int64_t)b->nofile));
    json_object_object_add(j, "config", cfg);

    struct json_object *idle = json_object_new_object();
    const struct bench_idle *id = &b->idle;
    json_object_object_add(idle, "ran", json_object_new_boolean(id->ran));
    json_object_object_add(idle, "ok", json_object_new_boolean(id->ok));
    if (id->note[0]) json_object_object_add(idle, "note", json_object_new_string(id->note));
    json_object_object_add(idle, "connections", json_object_new_int(id->conns));
    json_object_object_add(idle, "server_rss_kib_before",
                           json_object_new_int64(id->rss_before_kib));
    json_object_object_add(idle, "server_rss_kib_after", json_object_new_int64(id->rss_after_kib));
    json_object_object_add(
        idle, "server_rss_bytes_per_connection",
        json_object_new_double(
            bench_div((double)(id->rss_after_kib - id->rss_before_kib) * 1024, id->conns)));
    json_object_object_add(idle, "seconds", json_object_new_double(id->seconds));
    json_object_object_add(idle, "server_cpu_s", json_object_new_double(id->srv_cpu_s));
    json_object_object_add(idle, "bench_cpu_s", json_object_new_double(id->bench_cpu_s));
    json_object_object_add(j, "idle", idle);

    struct json_object *ws = json_object_new_array(), *poll = json_object_new_array();
    for (int i = 0; i < b->nphases; i++)
        if (b->phases[i].ran)
            json_object_array_add(b->phases[i].poll ? poll : ws, bench_json_phase(&b->phases[i]));
    json_object_object_add(j, "websocket", ws);
    json_object_object_add(j, "polling", poll);

    struct bench_target t[8];
    int n = bench_targets(b, t);
    struct json_object *ta = json_object_new_array();
    for (int i = 0; i < n; i++) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "target", json_object_new_string(t[i].what));
        json_object_object_add(o, "status", json_object_new_string(t[i].status));
        json_object_object_add(o, "measured", json_object_new_string(t[i].measured));
        json_object_array_add(ta, o);
    }
    json_object_object_add(j, "targets", ta);

    int rc = json_object_to_file_ext(path, j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
    if (rc != 0)
        fprintf(stderr, "felt-bench: cannot write %s: %s\n", path, json_util_get_last_err());
    json_object_put(j);
    return rc;
}

/* ---- setup ------------------------------------------------------------------------------ */

static const char bench_usage[] =
    "usage: felt-bench (--feltd PATH | --server URL [--pid PID]) [options]\n"
    "\n"
    "Drives N tables of bot players and spectators against feltd over WebSocket and over the\n"
    "HTTP polling fallback, and reports latency, throughput, bytes, CPU and memory.\n"
    "\n"
    "  --feltd PATH          start this feltd on a free loopback port (stopped at the end)\n"
    "  --feltd-arg ARG       pass ARG to that feltd as well (repeatable)\n"
    "  --server URL          attach to a running feltd (http://127.0.0.1:PORT; loopback only)\n"
    "  --pid PID             its pid, for CPU and RSS from /proc (without it: not measured)\n"
    "  --tables N            tables (default 1)\n"
    "  --players P           bot players per table (default 6, 2..10)\n"
    "  --spectators S        spectators per table (default 4)\n"
    "  --seconds S           measurement window of each phase (default 10)\n"
    "  --warmup S            unmeasured time before each window (default 1)\n"
    "  --think-ms MS         bots wait MS before acting (default 0: as fast as allowed)\n"
    "  --rate R              a bot's messages per second at most (default 45; feltd allows 50)\n"
    "  --deflate on|off|both|none  WebSocket phases without and/or with permessage-deflate\n"
    "                        (default both; none: no WebSocket phase)\n"
    "  --poll LIST           polling phases, intervals in ms (default 2000,250; none: skip)\n"
    "  --poll-tables N       tables in each polling phase (default: --tables)\n"
    "  --idle C              idle connections for the idle phase (default: tables x (P+S);\n"
    "                        0 skips the phase)\n"
    "  --idle-seconds T      how long the idle connections are watched (default 10)\n"
    "  --idle-per-table N    idle spectators per table (default P+S; tables idle0, idle1...)\n"
    "  --json-out FILE       write the results as JSON\n"
    "  --seed N              seed of the bots' choices (default: from the OS)\n"
    "  --ping-secs S         the clients' heartbeat: ping after S s without a pong (default 20,\n"
    "                        as felt)\n"
    "  --print-feltd-args    print the feltd arguments this run needs and exit\n"
    "  -q, --quiet           no progress lines on stderr\n"
    "  -h, --help            this help\n"
    "\n"
    "Tables: WebSocket phases use t0..t{N-1} (seats = P, blinds 5/10, buy-in 100000); polling\n"
    "phase of interval I uses pI-0..pI-{N-1}; idle spectators watch idle0, idle1, ... where\n"
    "nobody plays.\n"
    "feltd is started with --hand-delay 0 --action-timeout 3600 and needs a file descriptor per\n"
    "connection: see docs/performance.md for ulimit -n.\n";

static double bench_num(const char *opt, const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno || !(v >= lo && v <= hi)) {
        fprintf(stderr, "felt-bench: %s wants a number from %g to %g\n", opt, lo, hi);
        exit(2);
    }
    return v;
}

static void bench_parse_poll(struct bench_opts *o, const char *s)
{
    o->npoll = 0;
    if (strcmp(s, "none") == 0 || *s == '\0') return;
    char *copy = xstrdup(s), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (o->npoll == BENCH_MAX_POLL) {
            fprintf(stderr, "felt-bench: at most %d polling intervals\n", BENCH_MAX_POLL);
            exit(2);
        }
        int ms = (int)bench_num("--poll", tok, 10, 600000);
        for (int i = 0; i < o->npoll; i++)
            if (o->poll_ms[i] == ms) {
                fprintf(stderr, "felt-bench: --poll lists %d ms twice\n", ms);
                exit(2);
            }
        o->poll_ms[o->npoll++] = ms;
    }
    free(copy);
}

static void bench_parse_args(struct bench_opts *o, int argc, char **argv)
{
    enum {
        O_FELTD = 256,
        O_FELTD_ARG,
        O_SERVER,
        O_PID,
        O_TABLES,
        O_PLAYERS,
        O_SPECT,
        O_SECONDS,
        O_WARMUP,
        O_THINK,
        O_RATE,
        O_DEFLATE,
        O_POLL,
        O_POLL_TABLES,
        O_IDLE,
        O_IDLE_SECS,
        O_IDLE_TABLE,
        O_JSON,
        O_SEED,
        O_PRINT,
        O_PING
    };
    static const struct option opts[] = {
        {"feltd", required_argument, NULL, O_FELTD},
        {"feltd-arg", required_argument, NULL, O_FELTD_ARG},
        {"server", required_argument, NULL, O_SERVER},
        {"pid", required_argument, NULL, O_PID},
        {"tables", required_argument, NULL, O_TABLES},
        {"players", required_argument, NULL, O_PLAYERS},
        {"spectators", required_argument, NULL, O_SPECT},
        {"seconds", required_argument, NULL, O_SECONDS},
        {"warmup", required_argument, NULL, O_WARMUP},
        {"think-ms", required_argument, NULL, O_THINK},
        {"rate", required_argument, NULL, O_RATE},
        {"deflate", required_argument, NULL, O_DEFLATE},
        {"poll", required_argument, NULL, O_POLL},
        {"poll-tables", required_argument, NULL, O_POLL_TABLES},
        {"idle", required_argument, NULL, O_IDLE},
        {"idle-seconds", required_argument, NULL, O_IDLE_SECS},
        {"idle-per-table", required_argument, NULL, O_IDLE_TABLE},
        {"json-out", required_argument, NULL, O_JSON},
        {"seed", required_argument, NULL, O_SEED},
        {"print-feltd-args", no_argument, NULL, O_PRINT},
        {"ping-secs", required_argument, NULL, O_PING},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    bool idle_set = false, poll_tables_set = false;
    *o = (struct bench_opts){.tables = 1,
                             .players = 6,
                             .spectators = 4,
                             .seconds = 10,
                             .warmup = 1,
                             .rate = 45,
                             .ws_off = true,
                             .ws_on = true,
                             .poll_ms = {2000, 250},
                             .npoll = 2,
                             .idle_seconds = 10,
                             .idle_per_table = 0};
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case O_FELTD:
            o->feltd = optarg;
            break;
        case O_FELTD_ARG:
            o->feltd_args = xrealloc(o->feltd_args, sizeof(char *) * (size_t)(o->nfeltd_args + 1));
            o->feltd_args[o->nfeltd_args++] = optarg;
            break;
        case O_SERVER:
            o->server = optarg;
            break;
        case O_PID:
            o->pid = (pid_t)bench_num("--pid", optarg, 1, 1 << 30);
            break;
        case O_TABLES:
            o->tables = (int)bench_num("--tables", optarg, 1, 100000);
            break;
        case O_PLAYERS:
            o->players = (int)bench_num("--players", optarg, 2, ENGINE_MAX_SEATS);
            break;
        case O_SPECT:
            o->spectators = (int)bench_num("--spectators", optarg, 0, 1000);
            break;
        case O_SECONDS:
            o->seconds = bench_num("--seconds", optarg, 0.1, 86400);
            break;
        case O_WARMUP:
            o->warmup = bench_num("--warmup", optarg, 0, 3600);
            break;
        case O_THINK:
            o->think_ms = (int)bench_num("--think-ms", optarg, 0, 600000);
            break;
        case O_RATE:
            o->rate = bench_num("--rate", optarg, 1, 1e6);
            break;
        case O_DEFLATE:
            o->ws_off = strcmp(optarg, "off") == 0 || strcmp(optarg, "both") == 0;
            o->ws_on = strcmp(optarg, "on") == 0 || strcmp(optarg, "both") == 0;
            if (!o->ws_off && !o->ws_on && strcmp(optarg, "none") != 0) {
                fprintf(stderr, "felt-bench: --deflate wants on, off, both or none\n");
                exit(2);
            }
            break;
        case O_POLL:
            bench_parse_poll(o, optarg);
            break;
        case O_POLL_TABLES:
            o->poll_tables = (int)bench_num("--poll-tables", optarg, 1, 100000);
            poll_tables_set = true;
            break;
        case O_IDLE:
            o->idle = (int)bench_num("--idle", optarg, 0, 1000000);
            idle_set = true;
            break;
        case O_IDLE_SECS:
            o->idle_seconds = bench_num("--idle-seconds", optarg, 0.1, 86400);
            break;
        case O_IDLE_TABLE:
            o->idle_per_table = (int)bench_num("--idle-per-table", optarg, 1, 1000000);
            break;
        case O_JSON:
            o->json_out = optarg;
            break;
        case O_SEED:
            o->seed = (uint64_t)bench_num("--seed", optarg, 0, 9e15);
            break;
        case O_PING:
            o->ping_secs = (int)bench_num("--ping-secs", optarg, 1, 3600);
            break;
        case O_PRINT:
            o->print_feltd_args = true;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            fputs(bench_usage, stdout);
            exit(0);
        default:
            fputs(bench_usage, stderr);
            exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "felt-bench: unexpected argument '%s'\n%s", argv[optind], bench_usage);
        exit(2);
    }
    if (!o->print_feltd_args && !o->feltd == !o->server) {
        fprintf(stderr, "felt-bench: give either --feltd PATH or --server URL\n%s", bench_usage);
        exit(2);
    }
    if (!idle_set) o->idle = o->tables * (o->players + o->spectators);
    if (!poll_tables_set) o->poll_tables = o->tables;
    if (o->idle_per_table == 0) o->idle_per_table = o->players + o->spectators;
}

/* Idle connections are spread over tables as the busy ones are: every join of a spectator is
 * announced to the table ('spectators' notification), so one table of 10,000 watchers would
 * cost 10,000^2 / 2 messages before anything was idle. */
static int bench_idle_tables(const struct bench_opts *o)
{
    return (o->idle + o->idle_per_table - 1) / o->idle_per_table;
}

/* The --table arguments of a feltd serving this run (ws tables, polling tables, idle tables). */
static char **bench_feltd_argv(const struct bench_opts *o, int *n)
{
    int cap =
            24 + 2 * (o->tables + o->npoll * o->poll_tables + bench_idle_tables(o)) + o->nfeltd_args,
        k = 0;
    char **v = xcalloc((size_t)cap, sizeof(*v));
    char spec[96];
    v[k++] = xstrdup("--hand-delay");
    v[k++] = xstrdup("0");
    v[k++] = xstrdup("--action-timeout");
    v[k++] = xstrdup("3600");
    /* Every simulated client is 127.0.0.1: the per-address limits (docs/security.md) are off. */
    static const char *const limits_off[] = {
        "--joins-per-minute", "0", "--seats-per-address", "0", "--max-conns-per-address", "0",
        "--chat-per-address", "0", "--chat-per-table", "0", "--sitout-hands", "0",
        "--idle-seat-secs", "0"};
    for (size_t i = 0; i < FELT_ARRAY_LEN(limits_off); i++)
        v[k++] = xstrdup(limits_off[i]);
    for (int i = 0; i < o->tables; i++) {
        snprintf(spec, sizeof(spec), "t%d:%d:5/%d:%d", i, o->players, BENCH_BIG_BLIND,
                 BENCH_BUY_IN);
        v[k++] = xstrdup("--table");
        v[k++] = xstrdup(spec);
    }
    for (int p = 0; p < o->npoll; p++)
        for (int i = 0; i < o->poll_tables; i++) {
            snprintf(spec, sizeof(spec), "p%d-%d:%d:5/%d:%d", o->poll_ms[p], i, o->players,
                     BENCH_BIG_BLIND, BENCH_BUY_IN);
            v[k++] = xstrdup("--table");
            v[k++] = xstrdup(spec);
        }
    for (int i = 0; i < bench_idle_tables(o); i++) {
        snprintf(spec, sizeof(spec), "idle%d:2:5/10:1000", i);
        v[k++] = xstrdup("--table");
        v[k++] = xstrdup(spec);
    }
    for (int i = 0; i < o->nfeltd_args; i++)
        v[k++] = xstrdup(o->feltd_args[i]);
    *n = k;
    return v;
}

/* Raises the soft RLIMIT_NOFILE to the hard limit and says when even that is too low. */
static rlim_t bench_raise_nofile(const struct bench_opts *o)
{
    struct rlimit rl;
    int conns = o->tables * (o->players + o->spectators);
    if (o->idle > conns) conns = o->idle;
    rlim_t want = (rlim_t)conns + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want)
        fprintf(stderr,
                "felt-bench: warning: this run needs about %llu file descriptors (and feltd as "
                "many), but the limit is %llu: raise it (as root: ulimit -Hn %llu; ulimit -n "
                "%llu, or LimitNOFILE= for a service) or run fewer connections\n",
                (unsigned long long)want, (unsigned long long)rl.rlim_cur, (unsigned long long)want,
                (unsigned long long)want);
    return rl.rlim_cur;
}

/* In attach mode: feltd's own open-files limit, from /proc/PID/limits. */
static void bench_check_server_nofile(const struct bench *b)
{
    char path[64], line[256];
    unsigned long long soft;
    int conns = b->o.tables * (b->o.players + b->o.spectators);
    if (!b->pid) return;
    snprintf(path, sizeof(path), "/proc/%d/limits", (int)b->pid);
    FILE *f = fopen(path, "r");
    if (!f) return;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Max open files %llu", &soft) == 1 &&
            soft < (unsigned long long)conns + 64)
            fprintf(stderr,
                    "felt-bench: warning: feltd may open only %llu files but this run "
                    "makes %d connections: start it after ulimit -n %d\n",
                    soft, conns, conns + 256);
    fclose(f);
}

static void bench_on_signal(int sig)
{
    (void)sig;
    bench_interrupted = 1;
    if (bench_signal_loop) wsloop_stop(bench_signal_loop);
}

/* Derives the http:// and ws:// bases of a loopback server URL. */
static int bench_set_server(struct bench *b, const char *url)
{
    int port = 0;
    char host[64];
    if (sscanf(url, "http://%63[^:/]:%d", host, &port) != 2 || port <= 0 || port > 65535) {
        fprintf(stderr, "felt-bench: --server wants http://127.0.0.1:PORT\n");
        return -1;
    }
    if (strcmp(host, "127.0.0.1") != 0 && strcmp(host, "localhost") != 0) {
        fprintf(stderr, "felt-bench: loopback only: the server must be on 127.0.0.1\n");
        return -1;
    }
    snprintf(b->http_base, sizeof(b->http_base), "http://127.0.0.1:%d", port);
    snprintf(b->ws_base, sizeof(b->ws_base), "ws://127.0.0.1:%d", port);
    return 0;
}

static void bench_free_phase(struct bench_phase *ph)
{
    free(ph->clients);
    free(ph->tables);
    ph->clients = NULL;
    ph->tables = NULL;
}

int main(int argc, char **argv)
{
    static struct bench bench;
    struct bench *b = &bench;
    int nfa = 0, rc = 0;
    char **fa;

    bench_parse_args(&b->o, argc, argv);
    fa = bench_feltd_argv(&b->o, &nfa);
    if (b->o.print_feltd_args) {
        for (int i = 0; i < nfa; i++)
            printf("%s%s", fa[i], i + 1 < nfa ? " " : "\n");
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    b->nofile = bench_raise_nofile(&b->o);
    if (b->o.seed)
        rng_init_seeded(&b->rng, b->o.seed);
    else
        rng_init_os(&b->rng);

    if (b->o.feltd) {
        int port = 0;
        pid_t pid = bench_feltd_start(b->o.feltd, fa, nfa, &port);
        if (pid < 0) return 1;
        b->pid = pid;
        b->own_server = true;
        snprintf(b->http_base, sizeof(b->http_base), "http://127.0.0.1:%d", port);
        snprintf(b->ws_base, sizeof(b->ws_base), "ws://127.0.0.1:%d", port);
        bench_log(b, "started %s (pid %d) on port %d", b->o.feltd, (int)pid, port);
    } else {
        if (bench_set_server(b, b->o.server) != 0) return 2;
        b->pid = b->o.pid;
        bench_check_server_nofile(b);
        bench_log(b, "attached to %s%s; it needs: %s", b->http_base,
                  b->pid ? "" : " (no --pid: server CPU and RSS are not measured)",
                  "felt-bench --print-feltd-args with the same options");
    }
    for (int i = 0; i < nfa; i++)
        free(fa[i]);
    free(fa);
    int port = 0;
    sscanf(b->http_base, "http://127.0.0.1:%d", &port);
    b->http_header_base = bench_http_header_base(port);
    if (b->http_header_base < 0)
        fprintf(stderr, "felt-bench: cannot measure feltd's HTTP header size: polling wire "
                        "bytes are not reported\n");

    int conns = b->o.tables * (b->o.players + b->o.spectators);
    struct wsloop_config lc = {.max_conns = conns > b->o.idle ? conns : b->o.idle,
                               .ping_secs = b->o.ping_secs,
                               .hangup_secs = b->o.ping_secs ? 3 * b->o.ping_secs : 0};
    b->loop = wsloop_new(&lc);
    if (!b->loop) {
        fprintf(stderr, "felt-bench: cannot create the event loop\n");
        rc = 1;
        goto out;
    }
    b->deadline = wstimer_new(b->loop, bench_deadline_fire, b);
    b->lobby_timer = wstimer_new(b->loop, bench_lobby_fire, b);
    bench_signal_loop = b->loop;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = bench_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* Phases: idle first (a fresh heap measures memory best), then WebSocket, then polling. */
    if (b->o.ws_off) {
        struct bench_phase *ph = &b->phases[b->nphases++];
        snprintf(ph->name, sizeof(ph->name), "ws");
    }
    if (b->o.ws_on) {
        struct bench_phase *ph = &b->phases[b->nphases++];
        snprintf(ph->name, sizeof(ph->name), "ws+deflate");
        ph->deflate = true;
    }
    for (int i = 0; i < b->o.npoll; i++) {
        struct bench_phase *ph = &b->phases[b->nphases++];
        snprintf(ph->name, sizeof(ph->name), "poll %d ms", b->o.poll_ms[i]);
        ph->poll = true;
        ph->interval_ms = b->o.poll_ms[i];
    }
    if (b->o.idle > 0) bench_phase_idle(b);
    for (int i = 0; i < b->nphases && !bench_interrupted; i++) {
        struct bench_phase *ph = &b->phases[i];
        if (ph->poll) {
            char prefix[32];
            snprintf(prefix, sizeof(prefix), "p%d-", ph->interval_ms);
            bench_phase_tables(b, ph, b->o.poll_tables, prefix);
            bench_phase_poll(b, ph);
        } else {
            bench_phase_tables(b, ph, b->o.tables, "t");
            bench_phase_ws(b, ph);
        }
    }
    if (bench_interrupted) {
        fprintf(stderr, "felt-bench: interrupted\n");
        rc = 130;
    }
    bench_print(b);
    if (b->o.json_out && bench_write_json(b, b->o.json_out) != 0) rc = rc ? rc : 1;
    for (int i = 0; i < b->nphases; i++)
        if (b->phases[i].ran && !b->phases[i].ok) rc = rc ? rc : 1;
    if (b->idle.ran && !b->idle.ok) rc = rc ? rc : 1;

out:
    bench_signal_loop = NULL;
    if (b->loop) {
        wstimer_free(b->deadline);
        wstimer_free(b->lobby_timer);
        wsloop_free(b->loop);
    }
    for (int i = 0; i < b->nphases; i++)
        bench_free_phase(&b->phases[i]);
    free(b->idle_clients);
    free(b->idle_tables);
    if (b->own_server) {
        int st = bench_feltd_stop(b->pid);
        if (st != 0) fprintf(stderr, "felt-bench: feltd did not exit cleanly (status %d)\n", st);
    }
    free(b->o.feltd_args);
    return rc;
}
