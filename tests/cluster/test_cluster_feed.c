/*
 * test_cluster_feed.c: a table's event stream through a real redis-server (tests/cluster/
 * harness.c starts it): the owner's fenced, gap-free appends (redis_append) and a reading
 * node's feed (server/feed.c over a command and a subscriber connection):
 *   - 200 appends reach a following node in order, each once, and a node that follows later
 *     catches up from the stream;
 *   - appends refused: a fence that is not the lease's, a seq that is not last + 1, and a
 *     stale owner's after another node took the table over (fence + 1), which learns the
 *     stream's epoch from its first refused append and appends on in it;
 *   - Redis forgets the stream (its keys deleted, as a restart without persistence would):
 *     the owner's next append is refused for want of an epoch, it starts a new stream under a
 *     new epoch from seq 1, and the reading node reports the break (reset) and delivers the
 *     new stream from its start;
 *   - the subscriber connection killed in the middle of 300 appends (CLIENT KILL), 20 appended
 *     while it is down and none after until it is back: the node reconnects, subscribes again,
 *     catches up from the stream (nothing else could bring those 20), and has every event
 *     once, in order.
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

#include "feed.h"
#include "harness.h"
#include "lease.h"
#include "redis.h"
#include "server.h"

#define TTL_MS 1200
#define MAXEV 512

/* ---- a reading node --------------------------------------------------------------------- */

struct reader {
    struct redis *cmd, *sub;
    struct feed *feed;
    int64_t got[MAXEV];
    char epoch[MAXEV][FEED_EPOCH_MAX + 1];
    int ngot;
    int bad; /* payloads that did not match their seq */
    int resets, reset_at; /* resets, and how many events had been delivered at the last one */
    char reset_epoch[FEED_EPOCH_MAX + 1];
};

static void reader_deliver(void *arg, const char *t, const char *epoch, int64_t seq,
                           const char *p, size_t len)
{
    (void)t;
    struct reader *rd = arg;
    char want[64];
    int n = snprintf(want, sizeof(want), "{\"seq\":%lld}", (long long)seq);
    if ((size_t)n != len || memcmp(p, want, len) != 0) rd->bad++;
    if (rd->ngot < MAXEV) {
        snprintf(rd->epoch[rd->ngot], sizeof(rd->epoch[0]), "%s", epoch);
        rd->got[rd->ngot++] = seq;
    }
}

static void reader_reset(void *arg, const char *t, const char *epoch, int64_t first)
{
    (void)t;
    (void)first;
    struct reader *rd = arg;
    rd->resets++;
    rd->reset_at = rd->ngot;
    snprintf(rd->reset_epoch, sizeof(rd->reset_epoch), "%s", epoch);
}

static const struct feed_hooks reader_hooks = {reader_deliver, reader_reset};

static void reader_open(struct reader *rd, const char *table, int64_t from)
{
    memset(rd, 0, sizeof(*rd));
    struct felt_err err;
    rd->cmd = redis_new(harness_loop, harness_redis_url, &err);
    rd->sub = redis_new(harness_loop, harness_redis_url, &err);
    assert_non_null(rd->cmd);
    assert_non_null(rd->sub);
    rd->feed = feed_new(&redis_feed_ops, rd->cmd, &reader_hooks, rd);
    redis_set_feed(rd->cmd, rd->feed);
    redis_set_feed(rd->sub, rd->feed);
    assert_int_equal(redis_subscribe(rd->sub, table), 0);
    assert_int_equal(feed_follow(rd->feed, table, NULL, from), 0);
}

static void reader_close(struct reader *rd)
{
    redis_set_feed(rd->cmd, NULL);
    redis_set_feed(rd->sub, NULL);
    feed_free(rd->feed);
    redis_free(rd->cmd);
    redis_free(rd->sub);
}

/* Delivered exactly 1..n, in order, payloads right. */
static void assert_got_all(const struct reader *rd, int n)
{
    assert_int_equal(rd->bad, 0);
    assert_int_equal(rd->ngot, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(rd->got[i], i + 1);
}

struct want_n {
    struct reader *rd;
    int n;
};

static bool reader_has(void *arg)
{
    struct want_n *w = arg;
    return w->rd->ngot >= w->n;
}

/* ---- an owner --------------------------------------------------------------------------- */

struct owner {
    char id[32];
    char epoch[FEED_EPOCH_MAX + 1]; /* the stream's, as far as this owner knows */
    bool start;                     /* its next append starts a new stream under epoch */
    struct redis *r;
    struct lease_set *ls;
    int answered;
    enum redis_append_result last;
    int64_t have;
    char stored_epoch[FEED_EPOCH_MAX + 1]; /* the last answer's */
    int results[5]; /* by enum redis_append_result */
};

static void owner_done(void *arg, enum redis_append_result res, int64_t have, const char *epoch)
{
    struct owner *o = arg;
    o->answered++;
    o->last = res;
    o->have = have;
    snprintf(o->stored_epoch, sizeof(o->stored_epoch), "%s", epoch);
    o->results[res]++;
}

static void owner_open(struct owner *o, const char *id, const char *table)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->id, sizeof(o->id), "%s", id);
    snprintf(o->epoch, sizeof(o->epoch), "%s-1", id);
    o->start = true; /* every test's table starts with no stream */
    struct felt_err err;
    o->r = redis_new(harness_loop, harness_redis_url, &err);
    assert_non_null(o->r);
    struct lease_config cfg = {.node_id = o->id, .ttl_ms = TTL_MS};
    o->ls = lease_set_new(&cfg, &redis_lease_ops, o->r, NULL, NULL, &err);
    assert_non_null(o->ls);
    redis_set_leases(o->r, o->ls);
    assert_int_equal(lease_want(o->ls, table, 0), 0);
}

struct holds {
    struct owner *o;
    const char *table;
};

static bool owner_holds(void *arg)
{
    struct holds *h = arg;
    return lease_held(h->o->ls, h->table, NULL);
}

static int64_t owner_fence(struct owner *o, const char *table)
{
    struct holds h = {o, table};
    assert_true(harness_run_until(owner_holds, &h, 5000));
    int64_t fence = 0;
    assert_true(lease_held(o->ls, table, &fence));
    return fence;
}

static int owner_append(struct owner *o, const char *table, int64_t fence, int64_t seq)
{
    char json[64];
    int n = snprintf(json, sizeof(json), "{\"seq\":%lld}", (long long)seq);
    bool start = o->start;
    o->start = false; /* the appends pipelined after it find the stream it starts */
    return redis_append(o->r, table, o->id, fence, o->epoch, start, seq, json, (size_t)n,
                        owner_done, o);
}

static bool owner_answered(void *arg)
{
    struct owner *o = arg;
    return o->answered > 0;
}

/* One append, waited for; its result. */
static enum redis_append_result append_once(struct owner *o, const char *table, int64_t fence,
                                            int64_t seq)
{
    o->answered = 0;
    assert_int_equal(owner_append(o, table, fence, seq), 0);
    assert_true(harness_run_until(owner_answered, o, 3000));
    return o->last;
}

static void owner_close(struct owner *o, bool release)
{
    redis_set_leases(o->r, NULL);
    if (release)
        lease_set_free(o->ls);
    else
        lease_set_abandon(o->ls);
    harness_run_until(harness_never, NULL, 50);
    redis_free(o->r);
}

static long long stream_len(const char *table)
{
    redisContext *c = harness_connect();
    assert_non_null(c);
    redisReply *r = redisCommand(c, "XLEN felt:{%s}:events", table);
    assert_non_null(r);
    long long n = r->integer;
    freeReplyObject(r);
    redisFree(c);
    return n;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_append_and_follow(void **state)
{
    (void)state;
    harness_loop_open();
    struct owner o;
    owner_open(&o, "own-1", "f1");
    int64_t fence = owner_fence(&o, "f1");
    struct reader rd;
    reader_open(&rd, "f1", 1);
    harness_run_until(harness_never, NULL, 200); /* subscribed */
    for (int s = 1; s <= 200; s++)
        assert_int_equal(owner_append(&o, "f1", fence, s), 0); /* pipelined */
    struct want_n w = {&rd, 200};
    assert_true(harness_run_until(reader_has, &w, 5000));
    harness_run_until(harness_never, NULL, 200); /* nothing more comes */
    assert_int_equal(o.results[REDIS_APPEND_OK], 200);
    assert_got_all(&rd, 200);
    assert_int_equal(stream_len("f1"), 200);

    /* a node that follows later catches up from the stream */
    struct reader late;
    reader_open(&late, "f1", 1);
    struct want_n wl = {&late, 200};
    assert_true(harness_run_until(reader_has, &wl, 5000));
    assert_got_all(&late, 200);
    reader_close(&late);
    reader_close(&rd);
    owner_close(&o, true);
    harness_loop_close();
}

static void test_refused(void **state)
{
    (void)state;
    harness_loop_open();
    struct owner a;
    owner_open(&a, "own-a", "f2");
    int64_t fa = owner_fence(&a, "f2");
    struct reader rd;
    reader_open(&rd, "f2", 1);
    for (int s = 1; s <= 3; s++)
        assert_int_equal(append_once(&a, "f2", fa, s), REDIS_APPEND_OK);
    /* a fence that is not the lease's */
    assert_int_equal(append_once(&a, "f2", fa + 1, 4), REDIS_APPEND_FENCED);
    /* not last + 1: a gap, and a repeat */
    assert_int_equal(append_once(&a, "f2", fa, 5), REDIS_APPEND_SEQ);
    assert_int_equal(a.have, 3);
    assert_int_equal(append_once(&a, "f2", fa, 3), REDIS_APPEND_SEQ);
    assert_int_equal(stream_len("f2"), 3);

    /* a dies without releasing; b takes over after the ttl with fence + 1 */
    struct owner dead = a;
    redis_set_leases(a.r, NULL);
    lease_set_abandon(a.ls); /* a's connection stays: a stale owner that still talks */
    struct owner b;
    owner_open(&b, "own-b", "f2");
    b.start = false; /* a new owner goes on in the stream it finds */
    int64_t fb = owner_fence(&b, "f2");
    assert_int_equal(fb, fa + 1);
    /* the stale owner's append is refused, the new owner's goes on from 4 */
    dead.answered = 0;
    assert_int_equal(owner_append(&dead, "f2", fa, 4), 0);
    assert_true(harness_run_until(owner_answered, &dead, 3000));
    assert_int_equal(dead.last, REDIS_APPEND_FENCED);
    /* b's first append names its own epoch: refused with the stream's, which b adopts */
    assert_int_equal(append_once(&b, "f2", fb, 4), REDIS_APPEND_EPOCH);
    assert_string_equal(b.stored_epoch, "own-a-1");
    assert_int_equal(b.have, 3);
    assert_int_equal(stream_len("f2"), 3);
    snprintf(b.epoch, sizeof(b.epoch), "%s", b.stored_epoch);
    assert_int_equal(append_once(&b, "f2", fb, 4), REDIS_APPEND_OK);
    struct want_n w = {&rd, 4};
    assert_true(harness_run_until(reader_has, &w, 3000));
    harness_run_until(harness_never, NULL, 100);
    assert_got_all(&rd, 4);
    assert_int_equal(rd.resets, 0);
    assert_string_equal(rd.epoch[3], "own-a-1");
    redis_free(dead.r);
    reader_close(&rd);
    owner_close(&b, true);
    harness_loop_close();
}

/* Redis forgets the table's stream and its epoch (the keys deleted, as a restart without
 * persistence or a failover to a replica that had not received them would leave it; the lease is
 * kept so the owner stays the owner). */
static void test_stream_forgotten(void **state)
{
    (void)state;
    harness_loop_open();
    struct owner o;
    owner_open(&o, "own-f", "f4");
    int64_t fence = owner_fence(&o, "f4");
    struct reader rd;
    reader_open(&rd, "f4", 1);
    harness_run_until(harness_never, NULL, 200); /* subscribed */
    for (int s = 1; s <= 5; s++)
        assert_int_equal(append_once(&o, "f4", fence, s), REDIS_APPEND_OK);
    struct want_n w5 = {&rd, 5};
    assert_true(harness_run_until(reader_has, &w5, 3000));

    redisContext *c = harness_connect();
    assert_non_null(c);
    redisReply *r = redisCommand(c, "DEL felt:{f4}:events felt:{f4}:epoch");
    assert_non_null(r);
    assert_int_equal(r->integer, 2);
    freeReplyObject(r);
    redisFree(c);

    /* the owner's next append: no stream, no epoch; it starts a new one from 1 */
    assert_int_equal(append_once(&o, "f4", fence, 6), REDIS_APPEND_EPOCH);
    assert_string_equal(o.stored_epoch, "");
    snprintf(o.epoch, sizeof(o.epoch), "own-f-2");
    o.start = true;
    for (int s = 1; s <= 3; s++)
        assert_int_equal(append_once(&o, "f4", fence, s), REDIS_APPEND_OK);
    assert_int_equal(stream_len("f4"), 3);
    struct want_n w8 = {&rd, 8};
    assert_true(harness_run_until(reader_has, &w8, 5000));
    harness_run_until(harness_never, NULL, 200); /* nothing more comes */
    assert_int_equal(rd.bad, 0);
    assert_int_equal(rd.ngot, 8);
    assert_int_equal(rd.resets, 1);
    assert_int_equal(rd.reset_at, 5);
    assert_string_equal(rd.reset_epoch, "own-f-2");
    for (int i = 0; i < 8; i++) {
        assert_int_equal(rd.got[i], i < 5 ? i + 1 : i - 4);
        assert_string_equal(rd.epoch[i], i < 5 ? "own-f-1" : "own-f-2");
    }
    reader_close(&rd);
    owner_close(&o, true);
    harness_loop_close();
}

/* Appends one event every 5 ms from a libev timer until 300. */
struct pacer {
    ev_timer t;
    struct owner *o;
    int64_t fence, next;
};

static void pacer_fire(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)revents;
    struct pacer *p = (struct pacer *)w;
    if (owner_append(p->o, "f3", p->fence, p->next) == 0) p->next++;
    if (p->next > 300) ev_timer_stop(l, w);
}

static int64_t kill_subscribers(void)
{
    redisContext *c = harness_connect();
    assert_non_null(c);
    redisReply *r = redisCommand(c, "CLIENT KILL TYPE pubsub");
    assert_non_null(r);
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    redisFree(c);
    return n;
}

static void test_subscriber_killed(void **state)
{
    (void)state;
    harness_loop_open();
    struct owner o;
    owner_open(&o, "own-k", "f3");
    struct reader rd;
    reader_open(&rd, "f3", 1);
    struct pacer p = {.o = &o, .fence = owner_fence(&o, "f3"), .next = 1};
    harness_run_until(harness_never, NULL, 200);
    ev_timer_init(&p.t, pacer_fire, 0.005, 0.005);
    ev_timer_start(harness_loop, &p.t);
    struct want_n w100 = {&rd, 100};
    assert_true(harness_run_until(reader_has, &w100, 5000));
    /* cut the subscriber's connection and append 20 while it is down (it reconnects after
     * 100 ms), then nothing more for now: only its catching up from the stream once it has
     * subscribed again can bring them */
    assert_int_equal(kill_subscribers(), 1);
    ev_timer_stop(harness_loop, &p.t);
    for (int i = 0; i < 20; i++, p.next++)
        assert_int_equal(owner_append(&o, "f3", p.fence, p.next), 0);
    int64_t appended = p.next - 1;
    struct want_n wall = {&rd, (int)appended};
    assert_true(harness_run_until(reader_has, &wall, 5000));
    assert_got_all(&rd, (int)appended);
    print_message("subscriber killed: events up to %lld delivered after it was back\n",
                  (long long)appended);
    ev_timer_start(harness_loop, &p.t); /* and on to 300 */
    struct want_n w = {&rd, 300};
    assert_true(harness_run_until(reader_has, &w, 10000));
    harness_run_until(harness_never, NULL, 200);
    assert_int_equal(o.results[REDIS_APPEND_OK], 300);
    assert_got_all(&rd, 300);
    assert_true(redis_connected(rd.sub));
    ev_timer_stop(harness_loop, &p.t);
    reader_close(&rd);
    owner_close(&o, true);
    harness_loop_close();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_follow),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_stream_forgotten),
        cmocka_unit_test(test_subscriber_killed),
    };
    return cmocka_run_group_tests(tests, harness_start_redis, harness_stop_redis);
}
