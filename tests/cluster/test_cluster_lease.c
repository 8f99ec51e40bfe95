/*
 * test_cluster_lease.c: table leases (server/lease.c) over real Redis connections
 * (server/redis.c) against a real redis-server that the test starts on a free loopback port in
 * a temporary folder (no persistence) and stops at the end:
 *   - Redis URLs: the malformed refused with a reason, the rest accepted;
 *   - one node acquires, renews past several ttls and releases (the keys checked in Redis);
 *   - a fence counter lost by Redis never brings a fence at or below the store's floor;
 *   - 300 leases of one node renewed in a few script calls, not one per lease;
 *   - 100 nodes, each with its own connection, race for one table through 5 owner deaths:
 *     never two holders at any turn of the harness_loop, each fence owned by exactly one node, fences
 *     1..5 in order, each takeover within ttl + retry of the death;
 *   - an owner stopped with SIGSTOP for longer than its lease (a forked process): another node
 *     takes over with fence + 1, and the stopped one, woken, reports the lease lost, had stopped
 *     believing in it before the other acquired it, and never overwrites the new owner's lease;
 *   - Redis killed under a holder and restarted empty: the lease given up within the ttl, the
 *     connection back, the table taken again with a fence above the store's floor.
 * Bounded: every wait has a deadline; redis-server is killed whatever happens.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signal.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "lease.h"
#include "redis.h"
#include "server.h"

/* Renew every 300 ms, retry every 300 ms, margin 150 ms: a holder's loop must stall for 750 ms
 * (a loaded CI machine under ASan) before it loses its lease by itself. */
#define TTL_MS 1200
#define NODES 100
#define ROUNDS 5

/* ---- nodes ------------------------------------------------------------------------------ */

struct node {
    int idx;
    char id[32];
    struct redis *r;
    struct lease_set *ls;
    int acquired, lost;
    int64_t fence;
    char why[80];
};

static struct node nodes[NODES];
static int fence_owner[64]; /* node index + 1 that acquired fence f; 0 none */
static int fence_dups, next_fence_seen;
static int64_t acquired_at_us;

static void node_acquired(void *arg, const char *t, int64_t fence)
{
    (void)t;
    struct node *n = arg;
    n->acquired++;
    n->fence = fence;
    acquired_at_us = timer_now_us();
    if (fence > 0 && fence < 64) {
        if (fence_owner[fence]) fence_dups++;
        fence_owner[fence] = n->idx + 1;
    }
    next_fence_seen = (int)fence;
}

static void node_lost(void *arg, const char *t, int64_t fence, const char *why)
{
    (void)t;
    (void)fence;
    struct node *n = arg;
    n->lost++;
    snprintf(n->why, sizeof(n->why), "%s", why);
}

static const struct lease_hooks node_hooks = {.acquired = node_acquired, .lost = node_lost};

static void node_open(struct node *n, int idx, const char *prefix)
{
    memset(n, 0, sizeof(*n));
    n->idx = idx;
    snprintf(n->id, sizeof(n->id), "%s-%d", prefix, idx);
    struct felt_err err;
    n->r = redis_new(harness_loop, harness_redis_url, &err);
    assert_non_null(n->r);
    struct lease_config cfg = {.node_id = n->id, .ttl_ms = TTL_MS};
    n->ls = lease_set_new(&cfg, &redis_lease_ops, n->r, &node_hooks, n, &err);
    assert_non_null(n->ls);
    redis_set_leases(n->r, n->ls);
}

/* Gone as a crashed node goes: nothing released, the connection just closes. */
static void node_kill(struct node *n)
{
    redis_set_leases(n->r, NULL);
    lease_set_abandon(n->ls);
    redis_free(n->r);
    n->ls = NULL;
    n->r = NULL;
}

static void node_close(struct node *n)
{
    if (!n->ls) return;
    lease_set_free(n->ls); /* queues the releases */
    redis_set_leases(n->r, NULL);
    n->ls = NULL;
}

/* A node and one of its tables, for harness_run_until. */
struct holding {
    struct node *node;
    const char *table;
};

static bool node_holds_table(void *arg)
{
    const struct holding *h = arg;
    return h->node->ls && lease_held(h->node->ls, h->table, NULL);
}

static bool node_holds(void *arg) /* table t1 */
{
    return node_holds_table(&(struct holding){arg, "t1"});
}

/* ---- tests ------------------------------------------------------------------------------ */

static bool key_gone(void *arg)
{
    char v[64];
    harness_get(arg, v, sizeof(v));
    return v[0] == '\0';
}

static void test_acquire_renew_release(void **state)
{
    (void)state;
    harness_loop_open();
    struct node *n = &nodes[0];
    node_open(n, 0, "solo");
    assert_int_equal(lease_want(n->ls, "t1", 0), 0);
    assert_true(harness_run_until(node_holds, n, 3000));
    int64_t fence = 0;
    assert_true(lease_held(n->ls, "t1", &fence));
    char v[64], want[64];
    snprintf(want, sizeof(want), "solo-0 %lld", (long long)fence);
    harness_get("felt:{t1}:lease", v, sizeof(v));
    assert_string_equal(v, want);
    /* kept through 4 ttls by renewals */
    harness_run_until(harness_never, NULL, 4 * TTL_MS);
    assert_true(lease_held(n->ls, "t1", NULL));
    assert_int_equal(n->acquired, 1);
    assert_int_equal(n->lost, 0);
    harness_get("felt:{t1}:lease", v, sizeof(v));
    assert_string_equal(v, want);
    long long pttl = harness_pttl("felt:{t1}:lease");
    assert_true(pttl > 0 && pttl <= TTL_MS);
    /* released on close: the key goes (long before its ttl would) */
    node_close(n);
    assert_true(harness_run_until(key_gone, "felt:{t1}:lease", TTL_MS / 2));
    redis_free(n->r);
    harness_loop_close();
}

/* A Redis that lost its fence counter (restarted without persistence) still never grants a
 * fence at or below the floor the durable store gave. */
static void test_fence_floor(void **state)
{
    (void)state;
    harness_loop_open();
    struct node *n = &nodes[0];
    node_open(n, 0, "floor");
    redisContext *c = harness_connect();
    freeReplyObject(redisCommand(c, "DEL felt:{t3}:lease felt:{t3}:fence"));
    assert_int_equal(lease_want(n->ls, "t3", 41), 0);
    assert_true(harness_run_until(node_holds_table, &(struct holding){n, "t3"}, 3000));
    int64_t fence = 0;
    assert_true(lease_held(n->ls, "t3", &fence));
    assert_int_equal(fence, 42);
    char v[64];
    harness_get("felt:{t3}:fence", v, sizeof(v));
    assert_string_equal(v, "42");
    /* let it lapse: the next owner gets 43 from Redis's own counter, above the floor */
    lease_drop(n->ls, "t3");
    assert_int_equal(lease_want(n->ls, "t3", 41), 0);
    n->acquired = 0;
    assert_true(harness_run_until(node_holds_table, &(struct holding){n, "t3"}, 3000));
    assert_true(lease_held(n->ls, "t3", &fence));
    assert_int_equal(fence, 43);
    redisFree(c);
    node_close(n);
    harness_run_until(harness_never, NULL, 100);
    redis_free(n->r);
    harness_loop_close();
}

/* Redis killed under a holder, and back empty a moment later: the holder gives the lease up
 * at its own deadline (no answer can come), reconnects, and takes the table again with a fence
 * above the durable store's floor, though Redis forgot its counter. */
static bool node_lost_once(void *arg)
{
    struct node *n = arg;
    return n->lost > 0;
}

static void test_redis_restart(void **state)
{
    (void)state;
    harness_loop_open();
    struct node *n = &nodes[0];
    node_open(n, 0, "survivor");
    assert_int_equal(lease_want(n->ls, "t4", 0), 0);
    assert_true(harness_run_until(node_holds_table, &(struct holding){n, "t4"}, 3000));
    int64_t before = 0;
    assert_true(lease_held(n->ls, "t4", &before));
    int64_t crashed_at = timer_now_us();
    harness_redis_crash();
    assert_true(harness_run_until(node_lost_once, n, 2 * TTL_MS));
    int64_t lost_after_ms = (timer_now_us() - crashed_at) / 1000;
    print_message("Redis killed: lease given up after %lld ms (\"%s\")\n",
                  (long long)lost_after_ms, n->why);
    assert_string_equal(n->why, "not renewed in time");
    assert_true(lost_after_ms <= TTL_MS);
    harness_redis_restart();
    /* the table's store has seen fence `before` committed: that is the floor */
    assert_int_equal(lease_want(n->ls, "t4", before), 0);
    assert_true(harness_run_until(node_holds_table, &(struct holding){n, "t4"}, 5000));
    int64_t after = 0;
    assert_true(lease_held(n->ls, "t4", &after));
    print_message("back: fence %lld before the crash, %lld after\n", (long long)before,
                  (long long)after);
    assert_true(after > before);
    assert_true(redis_connected(n->r));
    node_close(n);
    harness_run_until(harness_never, NULL, 100);
    redis_free(n->r);
    harness_loop_close();
}

static bool is_connected(void *arg)
{
    return redis_connected(arg);
}

/* Redis URLs: what redis_new takes and what it refuses, each with a reason. */
static void test_redis_url(void **state)
{
    (void)state;
    harness_loop_open();
    static const char *const bad[] = {
        NULL, "", "localhost:6379", "http://127.0.0.1:6379", "redis://", "redis://:6379",
        "redis://host:0", "redis://host:65536", "redis://host:63x9", "redis://host:",
        "redis://host/0", "redis://[::1", "redis://[::1]x", "redis://[]:6379",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct felt_err err = {0};
        assert_null(redis_new(harness_loop, bad[i], &err));
        assert_non_null(err.code);
        assert_string_equal(err.code, "bad_redis_url");
        assert_true(err.message[0] != '\0');
    }
    char longhost[300] = "redis://";
    memset(longhost + 8, 'h', 260);
    struct felt_err err = {0};
    assert_null(redis_new(harness_loop, longhost, &err));
    /* accepted: they connect in the background; nothing listens on port 1 (refused, retried) */
    static const char *const good[] = {"redis://127.0.0.1", "redis://localhost:1",
                                       "redis://[::1]:1", "redis://127.0.0.1:65535"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct redis *r = redis_new(harness_loop, good[i], &err);
        assert_non_null(r);
        harness_run_until(harness_never, NULL, 20);
        if (i == 1 || i == 2) assert_false(redis_connected(r));
        redis_free(r);
    }
    /* and the test's own server is reached */
    struct redis *r = redis_new(harness_loop, harness_redis_url, &err);
    assert_non_null(r);
    assert_true(harness_run_until(is_connected, r, 3000));
    redis_free(r);
    harness_loop_close();
}

/* Calls of EVAL Redis has run so far (INFO commandstats). */
static long long eval_calls(void)
{
    redisContext *c = harness_connect();
    assert_non_null(c);
    redisReply *r = redisCommand(c, "INFO commandstats");
    assert_non_null(r);
    long long n = 0;
    const char *p = r->type == REDIS_REPLY_STRING ? strstr(r->str, "cmdstat_eval:calls=") : NULL;
    if (p) n = atoll(p + strlen("cmdstat_eval:calls="));
    freeReplyObject(r);
    redisFree(c);
    return n;
}

static bool holds_all_300(void *arg)
{
    struct node *n = arg;
    return lease_count_held(n->ls) == 300;
}

/* 300 tables held by one node: renewed in a few requests a second, not 300. */
static void test_batched_renewals(void **state)
{
    (void)state;
    harness_loop_open();
    struct node *n = &nodes[0];
    node_open(n, 0, "many");
    char name[16];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        assert_int_equal(lease_want(n->ls, name, 0), 0);
    }
    assert_true(harness_run_until(holds_all_300, n, 5000));
    long long before = eval_calls();
    harness_run_until(harness_never, NULL, 3 * TTL_MS);
    long long calls = eval_calls() - before;
    print_message("300 leases kept for %d ms with %lld script calls (one per lease per renewal "
                  "would be %d)\n", 3 * TTL_MS, calls, 300 * 3 * 4);
    assert_int_equal(lease_count_held(n->ls), 300);
    assert_int_equal(n->lost, 0);
    /* renewals every ttl/4 on a grid of ttl/16, in chunks of 256: at most 2 x 16 per 3 ttls
     * plus the two sync reads above */
    assert_true(calls <= 2 * 3 * 4 * 2 + 4);
    node_close(n);
    harness_run_until(harness_never, NULL, 100);
    redis_free(n->r);
    harness_loop_close();
}

/* Checked after every turn of the loop: how many nodes believe they hold t1. */
static int max_holders;
static void count_holders(struct ev_loop *l, ev_check *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    int held = 0;
    for (int i = 0; i < NODES; i++)
        if (nodes[i].ls && lease_held(nodes[i].ls, "t1", NULL)) held++;
    if (held > max_holders) max_holders = held;
}

static bool someone_holds(void *arg)
{
    (void)arg;
    for (int i = 0; i < NODES; i++)
        if (node_holds(&nodes[i])) return true;
    return false;
}

static void test_hundred_node_race(void **state)
{
    (void)state;
    harness_loop_open();
    ev_check check;
    ev_check_init(&check, count_holders);
    ev_check_start(harness_loop, &check);
    ev_unref(harness_loop);
    memset(fence_owner, 0, sizeof(fence_owner));
    fence_dups = 0;
    max_holders = 0;
    /* a fresh table name: the solo test used t1's fence; clear it */
    redisContext *c = harness_connect();
    freeReplyObject(redisCommand(c, "DEL felt:{t1}:lease felt:{t1}:fence"));
    redisFree(c);

    for (int i = 0; i < NODES; i++)
        node_open(&nodes[i], i, "racer");
    for (int i = 0; i < NODES; i++)
        assert_int_equal(lease_want(nodes[i].ls, "t1", 0), 0);

    int64_t died_at = 0;
    for (int round = 1; round <= ROUNDS; round++) {
        assert_true(harness_run_until(someone_holds, NULL, 5000));
        int owner = -1;
        for (int i = 0; i < NODES; i++)
            if (node_holds(&nodes[i])) owner = i;
        int64_t fence = 0;
        assert_true(lease_held(nodes[owner].ls, "t1", &fence));
        assert_int_equal(fence, round); /* 1..5: one new owner per death */
        assert_int_equal(fence_owner[round], owner + 1);
        if (died_at) {
            /* taken over within ttl + retry (300 ms), with 1 s for a loaded machine */
            int64_t took = (acquired_at_us - died_at) / 1000;
            print_message("round %d: node %d took over after %lld ms\n", round, owner,
                          (long long)took);
            assert_true(took <= TTL_MS + TTL_MS / 4 + 1000);
        }
        /* it keeps it while alive */
        harness_run_until(harness_never, NULL, TTL_MS);
        assert_true(node_holds(&nodes[owner]));
        node_kill(&nodes[owner]);
        died_at = timer_now_us();
    }
    assert_true(harness_run_until(someone_holds, NULL, 5000));
    assert_int_equal(fence_dups, 0);
    assert_int_equal(next_fence_seen, ROUNDS + 1);
    assert_int_equal(max_holders, 1);

    for (int i = 0; i < NODES; i++)
        if (nodes[i].ls) node_close(&nodes[i]);
    harness_run_until(harness_never, NULL, 200);
    for (int i = 0; i < NODES; i++)
        if (nodes[i].r) redis_free(nodes[i].r);
    ev_ref(harness_loop);
    ev_check_stop(harness_loop, &check);
    harness_loop_close();
}

/* The stopped owner, in a child process: reports on fd "A <fence> <us>" when it acquires and
 * "L <fence> <last_held_us> <why>" when it loses, last_held_us being the last time it believed
 * it held the lease (probed after every turn of its harness_loop); exits after the loss plus 2 ttls. */
static int64_t child_last_held;
static struct node *child_node;
static void child_probe(struct ev_loop *l, ev_prepare *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    if (lease_held(child_node->ls, "t2", NULL)) child_last_held = timer_now_us();
}

static void child_acquired(void *arg, const char *t, int64_t fence)
{
    (void)t;
    child_last_held = timer_now_us();
    dprintf(*(int *)arg, "A %lld %lld\n", (long long)fence, (long long)child_last_held);
}

static void child_lost(void *arg, const char *t, int64_t fence, const char *why)
{
    (void)t;
    dprintf(*(int *)arg, "L %lld %lld %s\n", (long long)fence, (long long)child_last_held, why);
}

static bool child_lost_seen;
static void child_lost_flag(void *arg, const char *t, int64_t fence, const char *why)
{
    child_lost(arg, t, fence, why);
    child_lost_seen = true;
}

static bool flag_set(void *arg)
{
    return *(bool *)arg;
}

static _Noreturn void child_run(int fd)
{
    harness_loop_open();
    static struct node n;
    struct felt_err err;
    snprintf(n.id, sizeof(n.id), "stopped");
    n.r = redis_new(harness_loop, harness_redis_url, &err);
    struct lease_config cfg = {.node_id = n.id, .ttl_ms = TTL_MS};
    static const struct lease_hooks hooks = {.acquired = child_acquired,
                                             .lost = child_lost_flag};
    static int out;
    out = fd;
    n.ls = lease_set_new(&cfg, &redis_lease_ops, n.r, &hooks, &out, &err);
    if (!n.r || !n.ls) _exit(2);
    redis_set_leases(n.r, n.ls);
    child_node = &n;
    /* before every poll, after the callbacks: what it believes while it runs */
    ev_prepare probe;
    ev_prepare_init(&probe, child_probe);
    ev_prepare_start(harness_loop, &probe);
    ev_unref(harness_loop);
    lease_want(n.ls, "t2", 0);
    if (!harness_run_until(flag_set, &child_lost_seen, 30000)) _exit(3);
    harness_run_until(harness_never, NULL, 2 * TTL_MS); /* it keeps trying; the new owner keeps it */
    _exit(lease_held(n.ls, "t2", NULL) ? 4 : 0);
}

static bool line_ready(void *arg)
{
    int fd = *(int *)arg;
    fd_set set;
    FD_ZERO(&set);
    FD_SET(fd, &set);
    struct timeval tv = {0, 0};
    return select(fd + 1, &set, NULL, NULL, &tv) > 0;
}

static void read_line(int fd, char *buf, size_t n)
{
    size_t k = 0;
    while (k + 1 < n) {
        char ch;
        if (read(fd, &ch, 1) != 1 || ch == '\n') break;
        buf[k++] = ch;
    }
    buf[k] = '\0';
}

static void test_stopped_owner(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(p[0]);
        child_run(p[1]);
    }
    close(p[1]);
    harness_loop_open();
    char line[160];
    /* the child acquires t2 (fence 1) */
    assert_true(harness_run_until(line_ready, &p[0], 5000));
    read_line(p[0], line, sizeof(line));
    long long f1 = 0, t1 = 0;
    assert_int_equal(sscanf(line, "A %lld %lld", &f1, &t1), 2);
    assert_int_equal(f1, 1);

    /* stopped for 3 ttls; meanwhile this process's node takes over */
    struct node *n = &nodes[0];
    node_open(n, 0, "waker");
    assert_int_equal(kill(child, SIGSTOP), 0);
    assert_int_equal(lease_want(n->ls, "t2", 0), 0);
    int64_t stopped_at = timer_now_us();
    while (!lease_held(n->ls, "t2", NULL) && timer_now_us() < stopped_at + 5000 * 1000)
        ev_run(harness_loop, EVRUN_ONCE);
    int64_t fence = 0;
    assert_true(lease_held(n->ls, "t2", &fence));
    assert_int_equal(fence, 2);
    int64_t taken_at = acquired_at_us;
    harness_run_until(harness_never, NULL, 3 * TTL_MS - (timer_now_us() - stopped_at) / 1000);
    assert_int_equal(kill(child, SIGCONT), 0);

    /* woken: it reports the lease lost; it had stopped believing before the takeover */
    assert_true(harness_run_until(line_ready, &p[0], 5000));
    read_line(p[0], line, sizeof(line));
    long long lf = 0, last_held = 0;
    char why[80] = "";
    assert_int_equal(sscanf(line, "L %lld %lld %79[^\n]", &lf, &last_held, why), 3);
    print_message("stopped owner: \"%s\"; believed it held until %lld ms before the "
                  "takeover\n", why, (long long)(taken_at - last_held) / 1000);
    assert_int_equal(lf, 1);
    assert_true(last_held >= t1); /* it did believe it, from its acquire on */
    assert_true(last_held < taken_at);
    assert_true(strcmp(why, "not renewed in time") == 0 || strcmp(why, "taken by waker-0") == 0);

    /* it keeps trying for 2 ttls while this node renews: the lease stays this node's */
    int st = -1;
    while (waitpid(child, &st, WNOHANG) == 0)
        ev_run(harness_loop, EVRUN_NOWAIT), usleep(1000);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    char v[64];
    harness_get("felt:{t2}:lease", v, sizeof(v));
    assert_string_equal(v, "waker-0 2");
    assert_true(lease_held(n->ls, "t2", NULL));
    assert_int_equal(n->lost, 0);
    close(p[0]);
    node_close(n);
    harness_run_until(harness_never, NULL, 100);
    redis_free(n->r);
    harness_loop_close();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_url),
        cmocka_unit_test(test_acquire_renew_release),
        cmocka_unit_test(test_fence_floor),
        cmocka_unit_test(test_batched_renewals),
        cmocka_unit_test(test_hundred_node_race),
        cmocka_unit_test(test_stopped_owner),
        cmocka_unit_test(test_redis_restart),
    };
    return cmocka_run_group_tests(tests, harness_start_redis, harness_stop_redis);
}
