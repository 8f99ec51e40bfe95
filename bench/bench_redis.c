/*
 * bench_redis.c: felt-bench-redis, what crossing Redis costs a table's events when feltd runs
 * as several nodes (issue 14, docs/scaling.md): an owner appends every event of T tables to
 * their streams (redis_append: the fenced Lua script, XADD and PUBLISH), a second node follows
 * them (server/feed.c over its own command and subscriber connections), and this reports the
 * latency from an append being sent to the event's delivery on the other node, the events per
 * second, and the CPU per event of Redis (INFO's used_cpu_*) and of this process (both nodes).
 *
 * Both nodes are one process on one libev loop, so the latency is Redis's round trip plus the
 * publish, the same clock at both ends. Redis is the caller's (--redis URL): start one without
 * persistence for a clean figure. The bench deletes the streams and leases of its own tables
 * (felt:{bench-N}:*) first. Nothing is asserted: speed is measured (docs/performance.md).
 */
#define _GNU_SOURCE
#include <ev.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_hist.h"
#include "feed.h"
#include "lease.h"
#include "redis.h"
#include "server.h"

#define RB_RING 8192 /* send times kept per table, by seq modulo */

struct rb_opts {
    const char *url;
    int tables, rate, window, seconds, warmup, bytes;
};

struct rb_table {
    char id[32];
    int64_t next_seq;   /* the next to append */
    int64_t acked;      /* appends answered */
    int inflight;
    int64_t sent_ns[RB_RING];
};

static struct rb_opts opt = {.tables = 20, .rate = 0, .window = 8, .seconds = 8, .warmup = 1,
                             .bytes = 300};
static struct ev_loop *rb_loop;
static struct rb_table *rb_tables;
static struct redis *rb_owner, *rb_cmd, *rb_sub;
static struct lease_set *rb_leases;
static struct feed *rb_feed;
static char *rb_payload;
static struct bench_hist rb_hist;
static uint64_t rb_delivered, rb_appended, rb_refused;
static bool rb_measuring;

static int64_t rb_ns(void)
{
    return felt_mono_us() * 1000;
}

static _Noreturn void rb_usage(int code)
{
    fprintf(code ? stderr : stdout,
            "usage: felt-bench-redis --redis redis://HOST:PORT [--tables N] [--rate EVENTS_PER_S]\n"
            "                        [--window N] [--seconds S] [--warmup S] [--bytes B]\n"
            "  --tables N    tables, each with its own stream and channel (20)\n"
            "  --rate R      events per second per table; 0: flat out, --window in flight (0)\n"
            "  --window N    appends in flight per table when flat out (8)\n"
            "  --seconds S   measured (8), after --warmup S (1)\n"
            "  --bytes B     an event's JSON size (300, about an update of one action)\n");
    exit(code);
}

static void rb_parse(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"redis", required_argument, NULL, 'r'},   {"tables", required_argument, NULL, 't'},
        {"rate", required_argument, NULL, 'R'},    {"window", required_argument, NULL, 'w'},
        {"seconds", required_argument, NULL, 's'}, {"warmup", required_argument, NULL, 'W'},
        {"bytes", required_argument, NULL, 'b'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int *slot = NULL;
        switch (c) {
        case 'r': opt.url = optarg; continue;
        case 't': slot = &opt.tables; break;
        case 'R': slot = &opt.rate; break;
        case 'w': slot = &opt.window; break;
        case 's': slot = &opt.seconds; break;
        case 'W': slot = &opt.warmup; break;
        case 'b': slot = &opt.bytes; break;
        case 'h': rb_usage(0);
        default: rb_usage(2);
        }
        char *end;
        long v = strtol(optarg, &end, 10);
        if (*optarg == '\0' || *end != '\0' || v < 0 || v > 1000000) rb_usage(2);
        *slot = (int)v;
    }
    if (!opt.url || opt.tables < 1 || opt.window < 1 || opt.seconds < 1 || opt.bytes < 16)
        rb_usage(2);
}

/* ---- the owner ---------------------------------------------------------------------------- */

static bool rb_append(struct rb_table *t);
static char rb_epoch[FEED_EPOCH_MAX + 1]; /* this run's streams' epoch */

static void rb_append_done(void *arg, enum redis_append_result res, int64_t have,
                           const char *epoch)
{
    (void)have;
    (void)epoch;
    struct rb_table *t = arg;
    t->inflight--;
    t->acked++;
    if (res != REDIS_APPEND_OK) rb_refused++;
    if (opt.rate == 0) (void)rb_append(t);
}

/* Appends the table's next event; false when it cannot now (lease not held, no connection). */
static bool rb_append(struct rb_table *t)
{
    int64_t fence;
    if (!lease_held(rb_leases, t->id, &fence)) return false;
    /* an event of --bytes: {"seq":N,"pad":"xxx..."} */
    int head = snprintf(rb_payload, (size_t)opt.bytes, "{\"seq\":%lld,\"pad\":\"",
                        (long long)t->next_seq);
    memset(rb_payload + head, 'x', (size_t)(opt.bytes - head - 2));
    memcpy(rb_payload + opt.bytes - 2, "\"}", 2);
    t->sent_ns[t->next_seq % RB_RING] = rb_ns();
    /* The first event starts the table's stream, under this run's epoch. */
    if (redis_append(rb_owner, t->id, "bench-owner", fence, rb_epoch, t->next_seq == 1,
                     t->next_seq, rb_payload, (size_t)opt.bytes, rb_append_done, t) == 0) {
        t->next_seq++;
        t->inflight++;
        if (rb_measuring) rb_appended++;
        return true;
    }
    return false;
}

/* Paced: every millisecond, each table appends what its rate says is due by now; table i's
 * events are offset by i/T of the interval, so the tables do not all append at once. */
static ev_timer rb_pace;
static int64_t rb_pace_start_ns;

static void rb_pace_fire(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    int64_t elapsed_us = (rb_ns() - rb_pace_start_ns) / 1000;
    int64_t interval_us = 1000000 / opt.rate;
    for (int i = 0; i < opt.tables; i++) {
        int64_t offset_us = interval_us * i / opt.tables;
        if (elapsed_us < offset_us) continue;
        int64_t due = (elapsed_us - offset_us) * opt.rate / 1000000 + 1;
        while (rb_tables[i].next_seq <= due && rb_tables[i].inflight < RB_RING / 2 &&
               rb_append(&rb_tables[i]))
            ;
    }
}

/* ---- the follower ------------------------------------------------------------------------- */

static void rb_deliver(void *arg, const char *table_id, const char *epoch, int64_t seq,
                       const char *p, size_t len)
{
    (void)arg;
    (void)epoch;
    (void)p;
    (void)len;
    int idx = atoi(table_id + strlen("bench-"));
    if (idx < 0 || idx >= opt.tables) return;
    if (rb_measuring) {
        bench_hist_add(&rb_hist, (uint64_t)(rb_ns() - rb_tables[idx].sent_ns[seq % RB_RING]));
        rb_delivered++;
    }
}

static const struct feed_hooks rb_feed_hooks = {rb_deliver, NULL};

/* ---- Redis's own CPU ---------------------------------------------------------------------- */

static double rb_redis_cpu(void)
{
    const char *hp = opt.url + strlen("redis://");
    char host[256];
    int port = 6379;
    size_t n = strcspn(hp, ":");
    snprintf(host, sizeof(host), "%.*s", (int)n, hp);
    if (hp[n] == ':') port = atoi(hp + n + 1);
    redisContext *c = redisConnect(host, port);
    if (!c || c->err) {
        fprintf(stderr, "felt-bench-redis: cannot reach %s\n", opt.url);
        exit(1);
    }
    redisReply *r = redisCommand(c, "INFO cpu");
    double user = 0, sys = 0;
    if (r && r->type == REDIS_REPLY_STRING) {
        const char *u = strstr(r->str, "used_cpu_user:"), *s = strstr(r->str, "used_cpu_sys:");
        if (u) user = atof(u + strlen("used_cpu_user:"));
        if (s) sys = atof(s + strlen("used_cpu_sys:"));
    }
    freeReplyObject(r);
    redisFree(c);
    return user + sys;
}

static void rb_clear_keys(void)
{
    double ignored = rb_redis_cpu(); /* checks the URL */
    (void)ignored;
    const char *hp = opt.url + strlen("redis://");
    char host[256];
    size_t n = strcspn(hp, ":");
    snprintf(host, sizeof(host), "%.*s", (int)n, hp);
    redisContext *c = redisConnect(host, hp[n] == ':' ? atoi(hp + n + 1) : 6379);
    for (int i = 0; i < opt.tables; i++)
        freeReplyObject(redisCommand(c, "DEL felt:{bench-%d}:events felt:{bench-%d}:lease", i, i));
    redisFree(c);
}

static double rb_self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* ---- the loop ----------------------------------------------------------------------------- */

static ev_timer rb_timers_ev;
static ev_prepare rb_timers_prep;

static void rb_timers_fire(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    timer_run_due(timer_now_us());
}

static void rb_timers_prepare(struct ev_loop *l, ev_prepare *w, int revents)
{
    (void)w;
    (void)revents;
    int64_t due = timer_next_due_us();
    ev_timer_stop(l, &rb_timers_ev);
    if (due < 0) return;
    int64_t in = due - timer_now_us();
    ev_timer_set(&rb_timers_ev, in > 0 ? (double)in / 1e6 : 0., 0.);
    ev_timer_start(l, &rb_timers_ev);
}

static void rb_run_for(double seconds)
{
    int64_t end = rb_ns() + (int64_t)(seconds * 1e9);
    while (rb_ns() < end)
        ev_run(rb_loop, EVRUN_ONCE);
}

int main(int argc, char **argv)
{
    rb_parse(argc, argv);
    log_set_level(LOG_WARNING);
    rb_clear_keys();
    rb_loop = ev_loop_new(EVFLAG_AUTO);
    ev_timer_init(&rb_timers_ev, rb_timers_fire, 0., 0.);
    ev_prepare_init(&rb_timers_prep, rb_timers_prepare);
    ev_prepare_start(rb_loop, &rb_timers_prep);
    rb_payload = xmalloc((size_t)opt.bytes + 1);
    rb_tables = xcalloc((size_t)opt.tables, sizeof(*rb_tables));

    struct felt_err err;
    rb_owner = redis_new(rb_loop, opt.url, &err);
    rb_cmd = redis_new(rb_loop, opt.url, &err);
    rb_sub = redis_new(rb_loop, opt.url, &err);
    if (!rb_owner || !rb_cmd || !rb_sub) {
        fprintf(stderr, "felt-bench-redis: %s\n", err.message);
        return 2;
    }
    snprintf(rb_epoch, sizeof(rb_epoch), "bench-%lld-%d", (long long)time(NULL), (int)getpid());
    struct lease_config cfg = {.node_id = "bench-owner"};
    rb_leases = lease_set_new(&cfg, &redis_lease_ops, rb_owner, NULL, NULL, &err);
    redis_set_leases(rb_owner, rb_leases);
    rb_feed = feed_new(&redis_feed_ops, rb_cmd, &rb_feed_hooks, NULL);
    redis_set_feed(rb_cmd, rb_feed);
    redis_set_feed(rb_sub, rb_feed);
    for (int i = 0; i < opt.tables; i++) {
        snprintf(rb_tables[i].id, sizeof(rb_tables[i].id), "bench-%d", i);
        rb_tables[i].next_seq = 1;
        lease_want(rb_leases, rb_tables[i].id, 0);
        redis_subscribe(rb_sub, rb_tables[i].id);
        feed_follow(rb_feed, rb_tables[i].id, rb_epoch, 1);
    }
    rb_run_for(0.5); /* leases held, channels subscribed */
    if (lease_count_held(rb_leases) != opt.tables) {
        fprintf(stderr, "felt-bench-redis: holds %d of %d leases after 0.5 s\n",
                lease_count_held(rb_leases), opt.tables);
        return 1;
    }

    if (opt.rate > 0) {
        rb_pace_start_ns = rb_ns();
        ev_timer_init(&rb_pace, rb_pace_fire, 0.001, 0.001);
        ev_timer_start(rb_loop, &rb_pace);
    } else {
        for (int i = 0; i < opt.tables; i++)
            for (int k = 0; k < opt.window; k++)
                (void)rb_append(&rb_tables[i]);
    }
    rb_run_for(opt.warmup);
    rb_measuring = true;
    bench_hist_reset(&rb_hist);
    double redis0 = rb_redis_cpu(), self0 = rb_self_cpu();
    int64_t t0 = rb_ns();
    rb_run_for(opt.seconds);
    double secs = (double)(rb_ns() - t0) / 1e9;
    double redis_cpu = rb_redis_cpu() - redis0, self_cpu = rb_self_cpu() - self0;
    rb_measuring = false;

    double per = rb_delivered ? 1e6 / (double)rb_delivered : 0;
    printf("felt-bench-redis: %d tables, %s, %d-byte events, %d s\n", opt.tables,
           opt.rate ? "paced" : "flat out", opt.bytes, opt.seconds);
    if (opt.rate) printf("  rate per table            %d events/s\n", opt.rate);
    else printf("  in flight per table       %d\n", opt.window);
    printf("  appended / delivered      %.0f / %.0f events/s\n", (double)rb_appended / secs,
           (double)rb_delivered / secs);
    printf("  append -> delivery p50    %.0f us\n", bench_hist_quantile(&rb_hist, 0.50) / 1e3);
    printf("  append -> delivery p99    %.0f us\n", bench_hist_quantile(&rb_hist, 0.99) / 1e3);
    printf("  append -> delivery max    %.0f us\n", bench_hist_quantile(&rb_hist, 1.0) / 1e3);
    printf("  Redis CPU per event       %.1f us (%.0f %% of a core)\n", redis_cpu * per,
           100 * redis_cpu / secs);
    printf("  this process per event    %.1f us (owner and follower; %.0f %% of a core)\n",
           self_cpu * per, 100 * self_cpu / secs);
    printf("  refused appends           %llu\n", (unsigned long long)rb_refused);

    lease_set_free(rb_leases);
    redis_set_leases(rb_owner, NULL);
    rb_run_for(0.05);
    redis_set_feed(rb_cmd, NULL);
    redis_set_feed(rb_sub, NULL);
    feed_free(rb_feed);
    redis_free(rb_owner);
    redis_free(rb_cmd);
    redis_free(rb_sub);
    free(rb_tables);
    free(rb_payload);
    ev_loop_destroy(rb_loop);
    return 0;
}
