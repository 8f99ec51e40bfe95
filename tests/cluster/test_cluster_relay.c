/*
 * test_cluster_relay.c: a table's play relayed from its owner to another node (server/relay.c)
 * through a real redis-server (tests/cluster/harness.c starts it). Two nodes in one process,
 * each a struct server with table "rt" and a relay on its own connections: the owner's table
 * plays (its events are spectators' chat, so no clock is needed), the other's stands by and
 * mirrors it for a spectator of its own.
 *   - every event of the owner's reaches the mirror, in order, byte for byte, and a spectator
 *     arriving later gets the owner's snapshot;
 *   - the stream forgotten under the owner (its keys deleted, as a Redis that lost them): the
 *     owner starts a new stream from its snapshot, the mirror starts again from it (the
 *     spectator resynchronised) and catches up;
 *   - Redis down while the owner publishes more than its queue holds (4,096): once Redis is
 *     back the owner starts a new stream from its snapshot, and the mirror is again exactly the
 *     owner's table;
 *   - an event in the stream that no publish announced (what a half-open subscriber connection
 *     loses): the mirror finds it is behind the owner's snapshot and reads the stream;
 *   - the lease taken by another node: the owner's next append is refused, it relays nothing
 *     more, and the stream keeps what it had.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "redis.h"
#include "relay.h"
#include "server.h"

#define TABLE "rt"

/* ---- a node ----------------------------------------------------------------------------- */

/* A spectator: counts what the table asks of it. */
struct watcher {
    struct table_sub sub; /* first */
    int wakes, resyncs, drops;
};

static void watcher_wake(struct table_sub *s)
{
    ((struct watcher *)s)->wakes++;
}
static void watcher_resync(struct table_sub *s)
{
    ((struct watcher *)s)->resyncs++;
}
static void watcher_dropped(struct table_sub *s, enum table_drop why, const char *reason)
{
    (void)why, (void)reason;
    ((struct watcher *)s)->drops++;
}
static const struct table_sub_ops watcher_ops = {
    .wake = watcher_wake, .resync = watcher_resync, .dropped = watcher_dropped};

struct node {
    struct server *srv;
    struct table *t;
    struct redis *cmd;
    struct relay *relay;
};

static void node_open(struct node *n, const char *id, bool owner)
{
    memset(n, 0, sizeof(*n));
    n->srv = calloc(1, sizeof(*n->srv));
    n->srv->limits.hello_secs = 10;
    n->srv->limits.chat_per_table = 1000000000; /* the test's chat is the events */
    struct table_config cfg = {.seats = 6, .small_blind = 5, .big_blind = 10, .buy_in = 1000,
                               .action_timeout_ms = 30000, .hand_delay_ms = 1000,
                               .bot_delay_ms = 100, .spectator_chat = true, .history = 1024};
    snprintf(cfg.id, sizeof(cfg.id), "%s", TABLE);
    n->t = table_new(n->srv, &cfg);
    lobby_add(n->srv, n->t);
    struct felt_err err;
    n->cmd = redis_new(harness_loop, harness_redis_url, &err);
    assert_non_null(n->cmd);
    n->relay = relay_new(n->srv, harness_loop, n->cmd, harness_redis_url, id, &err);
    assert_non_null(n->relay);
    if (!owner) {
        table_stand_by(n->t, "a test");
        relay_follow(n->relay, n->t);
    }
}

static void node_close(struct node *n)
{
    relay_stop(n->relay);
    redis_free(n->cmd);
    relay_free(n->relay);
    table_shutdown(n->t);
    lobby_free(n->srv); /* frees the table */
    limit_free(&n->srv->addrs);
    free(n->srv);
}

/* SET key value (value not NULL), or the command cmd of words. */
static void redis_do(const char *cmd, const char *value)
{
    redisContext *c = harness_connect();
    assert_non_null(c);
    redisReply *r = value ? redisCommand(c, "SET %s %s", cmd, value) : redisCommand(c, cmd);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    redisFree(c);
}

/* The lease, as the owner's lease set would hold it (node "own", fence 1). */
static void owner_lease(void)
{
    redis_do("felt:{" TABLE "}:lease", "own 1");
}

static void chat(struct node *o, int n)
{
    struct felt_err err;
    for (int i = 0; i < n; i++) {
        char text[32];
        snprintf(text, sizeof(text), "line %d", i);
        assert_int_equal(table_chat(o->t, NULL, NULL, NULL, text, &err), 0);
    }
}

struct pair {
    struct node *o, *f;
};

/* The mirror has every event the owner published. */
static bool caught_up(void *arg)
{
    struct pair *p = arg;
    if (getenv("RELAY_DEBUG"))
        fprintf(stderr, "owner %llu mirror %llu snap %llu standby %d ready %d\n",
                (unsigned long long)table_seq(p->o->t), (unsigned long long)table_seq(p->f->t),
                (unsigned long long)table_mirror_seq(p->f->t), table_standby(p->f->t),
                table_snapshot_ready(p->f->t));
    if (getenv("RELAY_DEBUG")) {
        char v[120];
        harness_get("felt:{" TABLE "}:snap", v, sizeof(v));
        fprintf(stderr, "snap: %.100s\n", v);
        harness_get("felt:{" TABLE "}:epoch", v, sizeof(v));
        fprintf(stderr, "epoch: %.100s\n", v);
    }
    return table_standby(p->f->t) && table_seq(p->f->t) == table_seq(p->o->t) &&
           table_snapshot_ready(p->f->t);
}

/* The last n events of the owner's and the mirror's history are the same bytes. */
static void assert_same_events(struct node *o, struct node *f, int n)
{
    uint64_t last = table_seq(o->t);
    assert_int_equal(table_seq(f->t), last);
    for (uint64_t s = last - (uint64_t)n + 1; s <= last; s++) {
        const struct msg *a = event_msg_for(table_event(o->t, s), 0);
        const struct msg *b = event_msg_for(table_event(f->t, s), 0);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(a->len, b->len);
        assert_memory_equal(msg_payload(a), msg_payload(b), a->len);
    }
}

struct want_seq {
    struct table *t;
    uint64_t seq;
};

static bool mirror_at(void *arg)
{
    struct want_seq *w = arg;
    return table_seq(w->t) >= w->seq;
}

static void stream_forget(void)
{
    redis_do("DEL felt:{" TABLE "}:events felt:{" TABLE "}:epoch felt:{" TABLE "}:base", NULL);
}

/* ---- the test --------------------------------------------------------------------------- */

static void test_relay(void **state)
{
    (void)state;
    harness_loop_open();
    struct node o, f;
    node_open(&o, "own", true);
    node_open(&f, "fol", false);
    struct pair p = {&o, &f};
    struct watcher w = {.sub.ops = &watcher_ops};
    table_subscribe(f.t, &w.sub, true);

    /* Every event, in order, byte for byte; the spectator waited, then was woken. */
    owner_lease();
    relay_own(o.relay, o.t, 1);
    harness_run_until(harness_never, NULL, 100);
    for (int burst = 0; burst < 10; burst++) {
        chat(&o, 30);
        harness_run_until(harness_never, NULL, 20);
    }
    assert_true(harness_run_until(caught_up, &p, 5000));
    assert_int_equal(table_seq(o.t), 300);
    /* The mirror started from whichever snapshot it read first; what follows came through the
     * stream, each event the owner's bytes. */
    chat(&o, 40);
    assert_true(harness_run_until(caught_up, &p, 5000));
    assert_same_events(&o, &f, 40);
    assert_true(w.wakes > 0);
    assert_int_equal(w.drops, 0);
    uint64_t snap_seq = 0;
    struct msg *m = table_snapshot(f.t, NULL, &snap_seq);
    assert_non_null(m);
    assert_non_null(strstr(msg_payload(m), "\"type\":\"snapshot\""));
    msg_unref(m);
    /* A later spectator is sent a snapshot at most a tick's worth of events old. */
    harness_run_until(harness_never, NULL, 3500);
    assert_int_equal(table_mirror_seq(f.t), 340);

    /* The stream forgotten under the owner: a new stream from its snapshot. */
    int resyncs = w.resyncs;
    stream_forget();
    chat(&o, 50);
    assert_true(harness_run_until(caught_up, &p, 5000));
    assert_int_equal(table_seq(f.t), 390);
    assert_true(w.resyncs > resyncs); /* the mirror started again: the spectator was told */
    chat(&o, 20);
    assert_true(harness_run_until(caught_up, &p, 5000));
    assert_same_events(&o, &f, 10);

    /* Redis down while the owner publishes more than its queue holds. */
    harness_redis_crash();
    harness_run_until(harness_never, NULL, 300);
    chat(&o, RELAY_QUEUE_MAX + 500);
    harness_run_until(harness_never, NULL, 300);
    harness_redis_restart();
    owner_lease(); /* back before the relay reconnects (its backoff is at least 100 ms) */
    assert_true(harness_run_until(caught_up, &p, 10000));
    chat(&o, 5);
    assert_true(harness_run_until(caught_up, &p, 5000));
    assert_same_events(&o, &f, 5);

    /* An event in the stream that no publish announced (a subscriber connection that went
     * half-open loses publishes without an error): the mirror sees, from the owner's snapshot
     * read every 3 s, that it is behind, and reads the stream. Written here by hand, with the
     * owner idle; its next append would find it (this phase comes last for that reason). */
    harness_run_until(harness_never, NULL, 1500); /* the owner's tick has written its snapshot */
    uint64_t next = table_seq(o.t) + 1;
    char epoch[64], ev[128], snapv[256];
    harness_get("felt:{" TABLE "}:epoch", epoch, sizeof(epoch));
    int evn = snprintf(ev, sizeof(ev), "{\"type\":\"chat\",\"seq\":%llu,\"timestamp\":1,"
                       "\"data\":{\"name\":\"x\",\"text\":\"unannounced\"}}",
                       (unsigned long long)next);
    redisContext *rc = harness_connect();
    assert_non_null(rc);
    redisReply *rr = redisCommand(rc, "XADD felt:{%s}:events %llu-0 e %b", TABLE,
                                  (unsigned long long)next, ev, (size_t)evn);
    assert_non_null(rr);
    assert_int_equal(rr->type, REDIS_REPLY_STRING);
    freeReplyObject(rr);
    snprintf(snapv, sizeof(snapv), "%s %llu {\"type\":\"snapshot\",\"seq\":%llu}", epoch,
             (unsigned long long)next, (unsigned long long)next);
    rr = redisCommand(rc, "SET felt:{%s}:snap %s", TABLE, snapv);
    assert_non_null(rr);
    freeReplyObject(rr);
    redisFree(rc);
    assert_true(harness_run_until(mirror_at, &(struct want_seq){f.t, next}, 10000));
    const struct msg *got = event_msg_for(table_event(f.t, next), 0);
    assert_int_equal(got->len, (size_t)evn);
    assert_memory_equal(msg_payload(got), ev, (size_t)evn);

    /* Another node's lease now: the owner's appends are refused, the stream keeps its events. */
    redis_do("felt:{" TABLE "}:lease", "other 2");
    uint64_t before = table_seq(f.t);
    chat(&o, 40);
    harness_run_until(harness_never, NULL, 1500);
    assert_int_equal(table_seq(f.t), before); /* nothing more reached the mirror */
    redis_do("DEL felt:{" TABLE "}:lease", NULL);

    table_unsubscribe(f.t, &w.sub);
    node_close(&f);
    node_close(&o);
    harness_loop_close();
}

int main(void)
{
    log_set_level(getenv("RELAY_DEBUG") ? LOG_DEBUG : LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relay),
    };
    return cmocka_run_group_tests(tests, harness_start_redis, harness_stop_redis);
}
