/*
 * bench_phase.c: felt-bench's phases (bench.h): idle (spectator sockets that only receive their
 * snapshot), WebSocket (with and without permessage-deflate) and polling. Each joins its players,
 * connects or starts polling, warms up, measures one window (server CPU and RSS from /proc, the
 * clients' bytes), and tears down until the server's tables are empty again. Every wait runs the
 * loop until a done condition holds (bench_run), bounded by a deadline.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- done conditions -------------------------------------------------------------------- */

static bool bench_phase_joins_done(struct bench *b)
{
    return b->joins_left == 0;
}

static bool bench_phase_connects_done(struct bench *b)
{
    struct bench_phase *ph = b->ph;
    bench_net_connect_more(b, ph->clients, ph->nclients, ph->deflate);
    return b->failed > 0 || (b->connect_next >= ph->nclients && b->connect_inflight == 0);
}

static bool bench_phase_idle_connects_done(struct bench *b)
{
    bench_net_connect_more(b, b->idle_clients, b->nidle, false);
    return b->failed > 0 || (b->connect_next >= b->nidle && b->connect_inflight == 0);
}

static bool bench_phase_poll_ready(struct bench *b)
{
    return b->ready == b->ph->nclients;
}

static bool bench_phase_http_idle(struct bench *b)
{
    return b->http_inflight == 0;
}

static bool bench_phase_players_closed(struct bench *b)
{
    struct bench_phase *ph = b->ph;
    for (int i = 0; i < ph->nclients; i++)
        if (ph->clients[i].role == BENCH_PLAYER && !ph->clients[i].closed) return false;
    return true;
}

/* Asks the lobby every 200 ms until the phase's tables have no one seated. */
static bool bench_phase_lobby_empty(struct bench *b)
{
    if (b->lobby_busy == 0) return true;
    if (!b->lobby_pending) {
        b->lobby_pending = true;
        wstimer_arm(b->lobby_timer, b->lobby_busy < 0 ? 0 : 200);
    }
    return false;
}

/* ---- phases ----------------------------------------------------------------------------- */

void bench_phase_tables(struct bench *b, struct bench_phase *ph, int ntables, const char *prefix)
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
        c->srv = c->t->srv = (i / per) % (b->nservers > 0 ? b->nservers : 1);
    }
}

static void bench_phase_window_open(struct bench *b, struct bench_phase *ph, int64_t *t0,
                                    double *cpu0, double *self0)
{
    memset(&ph->ctr, 0, sizeof(ph->ctr));
    bench_hist_reset(&ph->lat);
    bench_hist_reset(&ph->lat_remote);
    bench_hist_reset(&ph->ack);
    for (int i = 0; i < ph->nclients; i++) {
        struct bench_client *c = &ph->clients[i];
        if (c->ws) wsconn_bytes(c->ws, &c->wire0, &c->pay0);
    }
    ph->load_start = bench_proc_loadavg();
    *cpu0 = bench_server_cpu_s(b, ph->pid_cpu_s); /* the readings; the window's use at close */
    ph->store_cpu0 = b->pid ? bench_proc_thread_cpu_s(b->pid, BENCH_STORE_THREAD) : -1;
    *self0 = bench_self_cpu_s();
    *t0 = bench_now_ns();
    b->recording = true;
}

static void bench_phase_window_close(struct bench *b, struct bench_phase *ph, int64_t t0,
                                     double cpu0, double self0)
{
    b->recording = false;
    ph->seconds = (double)(bench_now_ns() - t0) / 1e9;
    double each[BENCH_MAX_PIDS];
    double cpu1 = bench_server_cpu_s(b, each);
    ph->srv_cpu_s = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1;
    for (int i = 0; i < BENCH_MAX_PIDS && i < (b->o.npids > 1 ? b->o.npids : 1); i++)
        ph->pid_cpu_s[i] = ph->pid_cpu_s[i] >= 0 && each[i] >= 0 ? each[i] - ph->pid_cpu_s[i] : -1;
    double store1 = b->pid ? bench_proc_thread_cpu_s(b->pid, BENCH_STORE_THREAD) : -1;
    ph->store_cpu_s = ph->store_cpu0 >= 0 && store1 >= 0 ? store1 - ph->store_cpu0 : -1;
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

static bool bench_phase_join_all(struct bench *b, struct bench_phase *ph)
{
    b->joins_left = ph->nplayers;
    b->join_next = 0;
    b->join_failed = 0;
    bench_log(b, "%s: joining %d players at %d tables", ph->name, ph->nplayers, ph->ntables);
    bench_net_join_next(b);
    if (!bench_run(b, bench_phase_joins_done, BENCH_SETUP_SECS) || b->join_failed) {
        snprintf(ph->note, sizeof(ph->note), "%d of %d joins failed%s", b->join_failed,
                 ph->nplayers, b->timed_out ? " (timed out)" : "");
        return false;
    }
    return true;
}

/* Measures one phase; the clients are joined, connected and ready. */
static void bench_phase_measure(struct bench *b, struct bench_phase *ph)
{
    int64_t t0;
    double cpu0, self0;
    bench_log(b, "%s: warming up %.1f s, then measuring %.1f s", ph->name, b->o.warmup,
              b->o.seconds);
    bench_run(b, NULL, b->o.warmup);
    bench_phase_window_open(b, ph, &t0, &cpu0, &self0);
    bench_run(b, NULL, b->o.seconds);
    bench_phase_window_close(b, ph, t0, cpu0, self0);
    ph->ok = !bench_interrupted && ph->ctr.accepted > 0 && ph->ctr.deliveries > 0;
    if (!ph->ok && !ph->note[0])
        snprintf(ph->note, sizeof(ph->note), "no actions were accepted in the window");
}

void bench_phase_ws(struct bench *b, struct bench_phase *ph)
{
    b->ph = ph;
    ph->ran = true;
    ph->rss_before_kib = b->pid ? bench_proc_rss_kib(b->pid) : -1;
    if (!bench_phase_join_all(b, ph)) goto teardown;
    bench_log(b, "%s: opening %d sockets", ph->name, ph->nclients);
    b->connect_next = 0;
    b->connect_inflight = 0;
    b->ready = 0;
    b->failed = 0;
    if (!bench_run(b, bench_phase_connects_done, BENCH_SETUP_SECS) || b->failed) {
        snprintf(ph->note, sizeof(ph->note), "%d sockets failed to open%s", b->failed,
                 b->timed_out ? " (timed out)" : "");
        goto teardown;
    }
    bench_phase_measure(b, ph);

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
            bench_bot_send_type(c, PROTO_C_LEAVE);
        } else {
            c->closed = true;
            wsconn_close(c->ws, 1000, "done");
            c->ws = NULL;
        }
    }
    bench_run(b, bench_phase_players_closed, BENCH_TEARDOWN_SECS);
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
    bench_run(b, bench_phase_lobby_empty, BENCH_TEARDOWN_SECS);
    wstimer_cancel(b->lobby_timer);
    bench_run(b, bench_phase_http_idle, BENCH_TEARDOWN_SECS);
    b->ph = NULL;
}

void bench_phase_poll(struct bench *b, struct bench_phase *ph)
{
    b->ph = ph;
    ph->ran = true;
    ph->rss_before_kib = b->pid ? bench_proc_rss_kib(b->pid) : -1;
    if (!bench_phase_join_all(b, ph)) goto teardown;
    bench_log(b, "%s: %d clients polling every %d ms", ph->name, ph->nclients, ph->interval_ms);
    b->ready = 0;
    for (int i = 0; i < ph->nclients; i++) {
        struct bench_client *c = &ph->clients[i];
        c->tick = wstimer_new(b->loop, bench_net_poll_tick, c);
        wstimer_arm(c->tick, (int64_t)rng_bounded(&b->rng, (uint64_t)ph->interval_ms));
    }
    if (!bench_run(b, bench_phase_poll_ready, BENCH_SETUP_SECS)) {
        snprintf(ph->note, sizeof(ph->note), "only %d of %d clients got a first answer", b->ready,
                 ph->nclients);
        goto teardown;
    }
    bench_phase_measure(b, ph);

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
    bench_run(b, bench_phase_http_idle, BENCH_TEARDOWN_SECS);
    b->ph = NULL;
}

void bench_phase_idle(struct bench *b)
{
    struct bench_idle *id = &b->idle;
    int n = b->o.idle;
    int64_t t0;
    id->ran = true;
    id->conns = n;
    b->nidle_tables = bench_opts_idle_tables(&b->o);
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
    if (!bench_run(b, bench_phase_idle_connects_done, BENCH_SETUP_SECS) || b->failed) {
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
