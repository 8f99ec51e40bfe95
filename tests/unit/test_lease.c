/*
 * test_lease.c: the table leases' state machine (server/lease.c) on a fake clock, with a fake
 * Redis that records each request and answers only when the test says so: when a lease is
 * acquired, renewed, given up locally (never after its validity ran out, whatever the replies
 * say), retried, released; stale and late replies; a hook that drops its own lease.
 * The same module against a real Redis: tests/cluster/test_cluster_lease.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lease.h"
#include "server.h"

static int64_t fake_us;
static int64_t fake_mono(void) { return fake_us; }
static int64_t fake_wall(void) { return fake_us / 1000; }

#define MAXREQ 1024
struct sent {
    char kind; /* 'a' acquire, 'r' renew, 'x' release */
    uint64_t req;
    char table[40];
    int64_t fence;
    int64_t at_us;
};
static struct sent sent[MAXREQ];
static int nsent;
static bool ops_down; /* requests cannot be sent */

static int record(char kind, uint64_t req, const char *table, int64_t fence)
{
    if (ops_down) return -1;
    assert_true(nsent < MAXREQ);
    sent[nsent] = (struct sent){.kind = kind, .req = req, .fence = fence, .at_us = fake_us};
    snprintf(sent[nsent].table, sizeof(sent[nsent].table), "%s", table);
    nsent++;
    return 0;
}

static int fake_acquire(void *u, uint64_t req, const char *t, const char *node, int64_t ttl,
                        int64_t floor)
{
    (void)u;
    assert_string_equal(node, "node-a");
    assert_int_equal(ttl, 4000);
    return record('a', req, t, floor); /* an acquire records its floor as its fence */
}

static int fake_renew(void *u, uint64_t req, const char *t, const char *node, int64_t fence,
                      int64_t ttl)
{
    (void)u;
    (void)node;
    (void)ttl;
    return record('r', req, t, fence);
}

static int fake_release(void *u, const char *t, const char *node, int64_t fence)
{
    (void)u;
    (void)node;
    return record('x', 0, t, fence);
}

static const struct lease_ops fake_ops = {.acquire = fake_acquire, .renew = fake_renew,
                                          .release = fake_release};

/* The batched variant: each call is recorded, its renewals answered later by the test. */
static int nbatches, batch_sizes[256];
static uint64_t batch_reqs[4096];
static int64_t batch_fences[4096];
static int nbatch_reqs;
static int64_t first_batch_us; /* when the first recorded batch was sent */

static int fake_renew_batch(void *u, int n, const uint64_t *reqs, const char *const *tables,
                            const char *node, const int64_t *fences, int64_t ttl)
{
    (void)u;
    (void)tables;
    (void)ttl;
    if (ops_down) return -1;
    assert_string_equal(node, "node-a");
    assert_true(n >= 1 && n <= LEASE_BATCH_MAX);
    assert_true(nbatches < 256 && nbatch_reqs + n <= 4096);
    if (nbatches == 0) first_batch_us = fake_us;
    batch_sizes[nbatches++] = n;
    for (int i = 0; i < n; i++) {
        batch_reqs[nbatch_reqs] = reqs[i];
        batch_fences[nbatch_reqs++] = fences[i];
    }
    return 0;
}

static const struct lease_ops batch_ops = {.acquire = fake_acquire, .renew = fake_renew,
                                           .renew_batch = fake_renew_batch,
                                           .release = fake_release};

struct heard {
    int acquired, lost;
    int64_t fence;
    char why[80];
    bool drop_on_lost;
    struct lease_set *ls;
};
static struct heard heard;

static void on_acquired(void *arg, const char *t, int64_t fence)
{
    (void)arg;
    (void)t;
    heard.acquired++;
    heard.fence = fence;
}

static void on_lost(void *arg, const char *t, int64_t fence, const char *why)
{
    (void)arg;
    heard.lost++;
    heard.fence = fence;
    snprintf(heard.why, sizeof(heard.why), "%s", why);
    if (heard.drop_on_lost) lease_drop(heard.ls, t);
}

static const struct lease_hooks hooks = {.acquired = on_acquired, .lost = on_lost};

/* may_acquire: a node at its fair share (cluster.c) says no until told otherwise. */
static bool gate_open;
static int gate_asked;
static bool on_may_acquire(void *arg, const char *t)
{
    (void)arg;
    assert_string_equal(t, "t1");
    gate_asked++;
    return gate_open;
}
static const struct lease_hooks gated_hooks = {
    .acquired = on_acquired, .lost = on_lost, .may_acquire = on_may_acquire};

/* ttl 4 s: renew every 1 s, retry every 1 s, margin 0.5 s (the defaults). */
static struct lease_set *new_set(void)
{
    struct lease_config cfg = {.node_id = "node-a", .ttl_ms = 4000};
    struct felt_err err;
    struct lease_set *ls = lease_set_new(&cfg, &fake_ops, NULL, &hooks, NULL, &err);
    assert_non_null(ls);
    heard.ls = ls;
    return ls;
}

static void advance_ms(int64_t ms)
{
    int64_t end = fake_us + ms * 1000;
    while (fake_us < end) {
        fake_us += 1000;
        timer_run_due(fake_us);
    }
}

static int setup(void **state)
{
    (void)state;
    fake_us = INT64_C(5000000000);
    timer_set_clock(fake_mono, fake_wall);
    nsent = 0;
    ops_down = false;
    memset(&heard, 0, sizeof(heard));
    return 0;
}

static void test_config_checked(void **state)
{
    (void)state;
    struct felt_err err;
    struct lease_config bad_id = {.node_id = "node a"};
    assert_null(lease_set_new(&bad_id, &fake_ops, NULL, NULL, NULL, &err));
    assert_string_equal(err.code, "bad_node_id");
    struct lease_config none = {.node_id = ""};
    assert_null(lease_set_new(&none, &fake_ops, NULL, NULL, NULL, &err));
    struct lease_config slow = {.node_id = "n", .ttl_ms = 1000, .renew_ms = 900};
    assert_null(lease_set_new(&slow, &fake_ops, NULL, NULL, NULL, &err));
    assert_string_equal(err.code, "bad_lease_timing");
    struct lease_set *ls = new_set();
    assert_int_equal(lease_want(ls, "", 0), -1);
    assert_int_equal(lease_want(ls, "a-table-name-far-longer-than-32-bytes", 0), -1);
    assert_int_equal(nsent, 0);
    lease_set_free(ls);
}

/* Acquired on the first reply; renewed every second while replies come; held throughout. */
static void test_acquire_and_renew(void **state)
{
    (void)state;
    struct lease_set *ls = new_set();
    assert_int_equal(lease_want(ls, "t1", 0), 0);
    assert_int_equal(lease_want(ls, "t1", 0), 0); /* wanted twice: one request */
    assert_int_equal(nsent, 1);
    assert_int_equal(sent[0].kind, 'a');
    assert_false(lease_held(ls, "t1", NULL));
    advance_ms(5);
    lease_on_reply(ls, sent[0].req, LEASE_R_OK, 7, "node-a");
    int64_t fence = 0;
    assert_true(lease_held(ls, "t1", &fence));
    assert_int_equal(fence, 7);
    assert_int_equal(heard.acquired, 1);
    assert_int_equal(lease_count_held(ls), 1);

    for (int i = 0; i < 10; i++) {
        int before = nsent;
        advance_ms(1000);
        assert_int_equal(nsent, before + 1);
        assert_int_equal(sent[nsent - 1].kind, 'r');
        assert_int_equal(sent[nsent - 1].fence, 7);
        lease_on_reply(ls, sent[nsent - 1].req, LEASE_R_OK, 7, "node-a");
        assert_true(lease_held(ls, "t1", NULL));
    }
    assert_int_equal(heard.acquired, 1);
    assert_int_equal(heard.lost, 0);
    lease_set_free(ls); /* releases what it holds */
    assert_int_equal(sent[nsent - 1].kind, 'x');
    assert_int_equal(sent[nsent - 1].fence, 7);
}

/* No renewal answered: the lease is lost exactly at sent + ttl - margin of the last granted
 * request, however late a reply then comes, and a late grant does not bring it back. */
static void test_expires_locally(void **state)
{
    (void)state;
    struct lease_set *ls = new_set();
    lease_want(ls, "t1", 0);
    int64_t sent_at = sent[0].at_us;
    advance_ms(200);
    lease_on_reply(ls, sent[0].req, LEASE_R_OK, 3, "node-a");
    /* renewals go out at +1 s, +2 s, +3 s and are never answered */
    while (fake_us < sent_at + 3499 * 1000) {
        assert_true(lease_held(ls, "t1", NULL));
        advance_ms(1);
    }
    assert_int_equal(heard.lost, 0);
    advance_ms(1);
    assert_false(lease_held(ls, "t1", NULL));
    assert_int_equal(heard.lost, 1);
    assert_string_equal(heard.why, "not renewed in time");
    assert_int_equal(lease_count_held(ls), 0);
    /* the renewal in flight is answered "granted" now: too late */
    int last_renew = nsent - 1;
    assert_int_equal(sent[last_renew].kind, 'r');
    lease_on_reply(ls, sent[last_renew].req, LEASE_R_OK, 3, "node-a");
    assert_false(lease_held(ls, "t1", NULL));
    /* it tries again: an acquire (a new fence), not a renewal */
    advance_ms(1000);
    assert_int_equal(sent[nsent - 1].kind, 'a');
    lease_on_reply(ls, sent[nsent - 1].req, LEASE_R_OK, 4, "node-a");
    int64_t fence = 0;
    assert_true(lease_held(ls, "t1", &fence));
    assert_int_equal(fence, 4);
    assert_int_equal(heard.acquired, 2);
    lease_set_free(ls);
}

/* A grant that arrives after the validity it would give has passed is not believed. */
static void test_late_grant_ignored(void **state)
{
    (void)state;
    struct lease_set *ls = new_set();
    lease_want(ls, "t1", 0);
    fake_us += 3600 * 1000; /* the reply took longer than ttl - margin */
    lease_on_reply(ls, sent[0].req, LEASE_R_OK, 1, "node-a");
    assert_false(lease_held(ls, "t1", NULL));
    assert_int_equal(heard.acquired, 0);
    lease_set_free(ls);
}

/* A renewal's grant that comes after the lease ran out by this node's clock, before its timer
 * fired (a busy loop): the loss is reported first, and the grant does not bring it back. */
static void test_late_renewal_loses_first(void **state)
{
    (void)state;
    struct lease_set *ls = new_set();
    lease_want(ls, "t1", 0);
    lease_on_reply(ls, sent[0].req, LEASE_R_OK, 3, "node-a");
    advance_ms(1000); /* a renewal goes out */
    assert_int_equal(sent[nsent - 1].kind, 'r');
    uint64_t renewal = sent[nsent - 1].req;
    fake_us += 3000 * 1000; /* past the validity (3.5 s after the acquire), no timer run */
    assert_false(lease_held(ls, "t1", NULL));
    lease_on_reply(ls, renewal, LEASE_R_OK, 3, "node-a");
    assert_int_equal(heard.lost, 1);
    assert_string_equal(heard.why, "not renewed in time");
    assert_false(lease_held(ls, "t1", NULL));
    advance_ms(1000); /* the next request is an acquire: a new owner, a new fence */
    assert_int_equal(sent[nsent - 1].kind, 'a');
    lease_set_free(ls);
}

/* Held by someone else: not held here, tried again every retry_ms; a renewal refused because
 * another node took over loses the lease at once with the taker's name. */
static void test_taken(void **state)
{
    (void)state;
    struct lease_set *ls = new_set();
    lease_want(ls, "t1", 0);
    lease_on_reply(ls, sent[0].req, LEASE_R_TAKEN, 9, "node-b");
    assert_false(lease_held(ls, "t1", NULL));
    advance_ms(999);
    assert_int_equal(nsent, 1);
    advance_ms(1);
    assert_int_equal(nsent, 2);
    assert_int_equal(sent[1].kind, 'a');
    lease_on_reply(ls, sent[1].req, LEASE_R_OK, 10, "node-a");
    assert_true(lease_held(ls, "t1", NULL));
    advance_ms(1000);
    assert_int_equal(sent[nsent - 1].kind, 'r');
    lease_on_reply(ls, sent[nsent - 1].req, LEASE_R_TAKEN, 11, "node-c");
    assert_false(lease_held(ls, "t1", NULL));
    assert_int_equal(heard.lost, 1);
    assert_int_equal(heard.fence, 10);
    assert_string_equal(heard.why, "taken by node-c");
    lease_set_free(ls);
    /* nothing held: nothing released */
    assert_int_not_equal(sent[nsent - 1].kind, 'x');
}

/* lease_holder: whom Redis last named, this node while it holds the lease, nobody ("") for a
 * table not wanted or once this node's own lease ran out. */
static void test_holder(void **state)
{
    (void)state;
    struct lease_set *ls = new_set();
    assert_string_equal(lease_holder(ls, "t1"), "");
    lease_want(ls, "t1", 0);
    assert_string_equal(lease_holder(ls, "t1"), ""); /* no answer yet */
    lease_on_reply(ls, sent[0].req, LEASE_R_TAKEN, 9, "node-b");
    assert_string_equal(lease_holder(ls, "t1"), "node-b");
    advance_ms(1000);
    lease_on_reply(ls, sent[1].req, LEASE_R_OK, 10, "node-a");
    assert_string_equal(lease_holder(ls, "t1"), "node-a");
    advance_ms(1000);
    lease_on_reply(ls, sent[nsent - 1].req, LEASE_R_TAKEN, 11, "node-c");
    assert_string_equal(lease_holder(ls, "t1"), "node-c");
    advance_ms(1000); /* acquired again, then never renewed: lost at its own deadline */
    lease_on_reply(ls, sent[nsent - 1].req, LEASE_R_OK, 12, "node-a");
    assert_string_equal(lease_holder(ls, "t1"), "node-a");
    ops_down = true;
    advance_ms(4000);
    assert_int_equal(heard.lost, 2);
    assert_string_equal(lease_holder(ls, "t1"), "");
    assert_string_equal(lease_holder(ls, "t2"), "");
    lease_set_free(ls);
}

/* Replies to an older request, to another table or to a dropped table change nothing. */
static void test_stale_replies(void **state)
{
    (void)state;
    struct lease_set *ls = new_set();
    lease_want(ls, "t1", 0);
    lease_want(ls, "t2", 0);
    uint64_t r1 = sent[0].req, r2 = sent[1].req;
    assert_true(r1 != r2);
    lease_drop(ls, "t2");
    lease_on_reply(ls, r2, LEASE_R_OK, 1, "node-a");
    assert_false(lease_held(ls, "t2", NULL));
    lease_on_reply(ls, r1 + 1, LEASE_R_OK, 1, "node-a"); /* never sent */
    assert_false(lease_held(ls, "t1", NULL));
    /* unanswered for ttl: given up and sent again; the first reply is then stale */
    advance_ms(4000);
    assert_int_equal(sent[nsent - 1].kind, 'a');
    uint64_t again = sent[nsent - 1].req;
    assert_true(again != r1);
    lease_on_reply(ls, r1, LEASE_R_OK, 1, "node-a");
    assert_false(lease_held(ls, "t1", NULL));
    lease_on_reply(ls, again, LEASE_R_OK, 2, "node-a");
    int64_t fence = 0;
    assert_true(lease_held(ls, "t1", &fence));
    assert_int_equal(fence, 2);
    assert_int_equal(heard.acquired, 1);
    lease_set_free(ls);
}

/* No connection: nothing sent, tried again after retry_ms; errors keep a held lease only until
 * its validity runs out. */
static void test_connection_down(void **state)
{
    (void)state;
    struct lease_set *ls = new_set();
    ops_down = true;
    lease_want(ls, "t1", 0);
    assert_int_equal(nsent, 0);
    ops_down = false;
    advance_ms(1000);
    assert_int_equal(nsent, 1);
    lease_on_reply(ls, sent[0].req, LEASE_R_OK, 5, "node-a");
    assert_true(lease_held(ls, "t1", NULL));
    int64_t granted_sent = sent[0].at_us;
    advance_ms(1000);
    lease_on_reply(ls, sent[nsent - 1].req, LEASE_R_ERROR, 0, NULL);
    ops_down = true; /* the connection is gone for good */
    while (lease_held(ls, "t1", NULL))
        advance_ms(1);
    assert_int_equal(fake_us, granted_sent + 3500 * 1000);
    assert_int_equal(heard.lost, 1);
    lease_set_free(ls);
}

/* The lost hook may drop its own table. */
static void test_drop_in_hook(void **state)
{
    (void)state;
    struct lease_set *ls = new_set();
    heard.drop_on_lost = true;
    lease_want(ls, "t1", 0);
    lease_on_reply(ls, sent[0].req, LEASE_R_OK, 1, "node-a");
    advance_ms(1000);
    lease_on_reply(ls, sent[nsent - 1].req, LEASE_R_TAKEN, 2, "node-b");
    assert_int_equal(heard.lost, 1);
    assert_false(lease_held(ls, "t1", NULL));
    int before = nsent;
    advance_ms(5000); /* forgotten: no more requests */
    assert_int_equal(nsent, before);
    assert_int_equal(lease_want(ls, "t1", 0), 0); /* wanted again: a fresh acquire */
    assert_int_equal(sent[nsent - 1].kind, 'a');
    lease_set_free(ls);
}

/* The floor goes with every acquire and is only ever raised; a grant at or below it is not
 * believed. */
static void test_floor(void **state)
{
    (void)state;
    struct lease_set *ls = new_set();
    lease_want(ls, "t1", 0);
    assert_int_equal(sent[0].fence, 0);
    lease_want(ls, "t1", 40); /* the store has seen fence 40 */
    lease_want(ls, "t1", 30); /* never lowered */
    assert_int_equal(nsent, 1);
    lease_on_reply(ls, sent[0].req, LEASE_R_OK, 40, "node-a");
    assert_false(lease_held(ls, "t1", NULL));
    assert_int_equal(heard.acquired, 0);
    advance_ms(1000);
    assert_int_equal(sent[nsent - 1].kind, 'a');
    assert_int_equal(sent[nsent - 1].fence, 40);
    lease_on_reply(ls, sent[nsent - 1].req, LEASE_R_OK, 41, "node-a");
    int64_t fence = 0;
    assert_true(lease_held(ls, "t1", &fence));
    assert_int_equal(fence, 41);
    lease_set_free(ls);
}

/* A set on the batched fake holding tables t0..t<n-1>, acquired spacing_ms apart (fence i + 1
 * for t<i>), the batch records cleared. */
static struct lease_set *batch_set_holding(int n, int spacing_ms)
{
    struct lease_config cfg = {.node_id = "node-a", .ttl_ms = 4000};
    struct felt_err err;
    struct lease_set *ls = lease_set_new(&cfg, &batch_ops, NULL, &hooks, NULL, &err);
    assert_non_null(ls);
    nbatches = nbatch_reqs = 0;
    char name[16];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        assert_int_equal(lease_want(ls, name, 0), 0);
        lease_on_reply(ls, sent[nsent - 1].req, LEASE_R_OK, i + 1, "node-a");
        advance_ms(spacing_ms);
    }
    assert_int_equal(lease_count_held(ls), n);
    return ls;
}

/* With renew_batch: 300 tables acquired at scattered times renew in a few requests a second
 * (chunks of at most LEASE_BATCH_MAX), never one request per table, and stay held. */
/* A wanted table is tried only while may_acquire says yes: no request while it says no (asked
 * again every retry), the first acquire at the next retry once it says yes; a held lease's
 * renewals never ask it; lost, the table is asked about again before each attempt. */
static void test_may_acquire(void **state)
{
    (void)state;
    struct lease_config cfg = {.node_id = "node-a", .ttl_ms = 4000};
    struct felt_err err;
    gate_open = false;
    gate_asked = 0;
    struct lease_set *ls = lease_set_new(&cfg, &fake_ops, NULL, &gated_hooks, NULL, &err);
    assert_non_null(ls);
    heard.ls = ls;
    assert_int_equal(lease_want(ls, "t1", 0), 0);
    assert_int_equal(nsent, 0);
    assert_int_equal(gate_asked, 1);
    advance_ms(3500);
    assert_int_equal(nsent, 0);
    assert_int_equal(gate_asked, 4); /* at 0, 1, 2 and 3 s */
    gate_open = true;
    advance_ms(600);
    assert_int_equal(nsent, 1);
    assert_int_equal(sent[0].kind, 'a');
    lease_on_reply(ls, sent[0].req, LEASE_R_OK, 3, "node-a");
    assert_true(lease_held(ls, "t1", NULL));
    gate_open = false;
    int asked = gate_asked;
    for (int i = 0; i < 5; i++) { /* renewals go on, the gate is not asked */
        advance_ms(1000);
        assert_int_equal(sent[nsent - 1].kind, 'r');
        lease_on_reply(ls, sent[nsent - 1].req, LEASE_R_OK, 3, "node-a");
    }
    assert_int_equal(gate_asked, asked);
    assert_true(lease_held(ls, "t1", NULL));
    /* Taken by another node: no acquire while the gate says no. */
    advance_ms(1000);
    lease_on_reply(ls, sent[nsent - 1].req, LEASE_R_TAKEN, 4, "node-b");
    assert_int_equal(heard.lost, 1);
    int n = nsent;
    advance_ms(3000);
    assert_int_equal(nsent, n);
    assert_true(gate_asked > asked);
    lease_set_free(ls);
}

static void test_batched_renewals(void **state)
{
    (void)state;
    struct lease_set *ls = batch_set_holding(300, 3); /* acquired over 0.9 s */
    int acquires = nsent;
    for (int second = 0; second < 5; second++) {
        int before = nbatches, reqs_before = nbatch_reqs;
        for (int ms = 0; ms < 1000; ms++) {
            advance_ms(1);
            /* answer every renewal sent so far */
            for (int k = 0; k < nbatch_reqs; k++)
                if (batch_reqs[k]) {
                    lease_on_reply(ls, batch_reqs[k], LEASE_R_OK, batch_fences[k], "node-a");
                    batch_reqs[k] = 0;
                }
        }
        int calls = nbatches - before;
        print_message("second %d: %d renewals in %d requests\n", second,
                      nbatch_reqs - reqs_before, calls);
        assert_true(calls <= 4 * 2); /* at most 4 grid instants, each at most 2 chunks */
        assert_true(nbatch_reqs - reqs_before >= 300 - 50); /* each table about once */
        assert_int_equal(lease_count_held(ls), 300);
    }
    assert_int_equal(nsent, acquires); /* no renewal went one by one */
    assert_int_equal(heard.lost, 0);
    /* unanswered: all lost at their deadlines, none believed after */
    ops_down = true;
    advance_ms(4000);
    assert_int_equal(lease_count_held(ls), 0);
    assert_int_equal(heard.lost, 300);
    lease_set_free(ls);
}

/* 300 renewals due at one instant go out as LEASE_BATCH_MAX and the rest. */
static void test_batch_chunks(void **state)
{
    (void)state;
    struct lease_set *ls = batch_set_holding(300, 0); /* all at one instant */
    advance_ms(1100);
    assert_int_equal(nbatches, 2);
    assert_int_equal(batch_sizes[0], LEASE_BATCH_MAX);
    assert_int_equal(batch_sizes[1], 300 - LEASE_BATCH_MAX);
    /* a table dropped while its renewal waits for the flush (queued on the grid instant, sent
     * 1 ms later) is not sent, and nothing dangles */
    for (int k = 0; k < nbatch_reqs; k++)
        lease_on_reply(ls, batch_reqs[k], LEASE_R_OK, batch_fences[k], "node-a");
    nbatches = nbatch_reqs = 0;
    /* the flush went at grid instant G + 1 ms; the next renewals queue at G + 1,000 ms */
    advance_ms((first_batch_us + 999 * 1000 - fake_us) / 1000);
    assert_int_equal(nbatches, 0);
    lease_drop(ls, "t7");
    advance_ms(1);
    assert_int_equal(nbatches, 2);
    assert_int_equal(nbatch_reqs, 299);
    lease_set_free(ls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_config_checked, setup),
        cmocka_unit_test_setup(test_acquire_and_renew, setup),
        cmocka_unit_test_setup(test_may_acquire, setup),
        cmocka_unit_test_setup(test_expires_locally, setup),
        cmocka_unit_test_setup(test_late_grant_ignored, setup),
        cmocka_unit_test_setup(test_late_renewal_loses_first, setup),
        cmocka_unit_test_setup(test_taken, setup),
        cmocka_unit_test_setup(test_holder, setup),
        cmocka_unit_test_setup(test_stale_replies, setup),
        cmocka_unit_test_setup(test_connection_down, setup),
        cmocka_unit_test_setup(test_drop_in_hook, setup),
        cmocka_unit_test_setup(test_floor, setup),
        cmocka_unit_test_setup(test_batched_renewals, setup),
        cmocka_unit_test_setup(test_batch_chunks, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
