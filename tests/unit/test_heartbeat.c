/*
 * test_heartbeat.c: unit tests for feltd's heartbeat sweep (server/heartbeat.c), without a socket.
 *
 * Fake members stand in for WebSockets: each records when its peer last sent something (on a
 * fake clock), and counts the pings and hang-ups the sweep asks for. A pinged member "answers"
 * when the test says so. The clock drives timer.c's heap, so the sweep runs as it does in feltd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server.h"

static int64_t fake_us;

static int64_t fake_mono(void)
{
    return fake_us;
}

static int64_t fake_wall(void)
{
    return fake_us / 1000;
}

struct member {
    struct heartbeat_node node; /* first: the hooks cast back */
    struct heartbeat *hb;
    int64_t last_rx_ms;         /* fake clock, ms */
    int pings, hangups;
    int64_t first_ping_ms, hangup_ms;
    bool answers;               /* a ping is answered at once (data arrives) */
    bool remove_on_hangup;      /* the transport closes at once (net.c closes later) */
    bool present;
};

static int64_t probes_unknown; /* members whose idle time the transport could not tell */

static int64_t now_ms(void)
{
    return fake_us / 1000;
}

static int64_t member_idle(struct heartbeat_node *n)
{
    struct member *m = (struct member *)n;
    if (m->last_rx_ms < 0) {
        probes_unknown++;
        return -1;
    }
    return now_ms() - m->last_rx_ms;
}

static void member_ping(struct heartbeat_node *n)
{
    struct member *m = (struct member *)n;
    if (m->pings++ == 0)
        m->first_ping_ms = now_ms();
    if (m->answers)
        m->last_rx_ms = now_ms();
}

static void member_hangup(struct heartbeat_node *n)
{
    struct member *m = (struct member *)n;
    if (m->hangups++ == 0)
        m->hangup_ms = now_ms();
    if (m->remove_on_hangup) {
        heartbeat_remove(m->hb, n);
        m->present = false;
    }
}

static const struct heartbeat_ops member_ops = {
    .idle_ms = member_idle,
    .ping = member_ping,
    .hangup = member_hangup,
};

static void advance(int64_t ms)
{
    for (int64_t i = 0; i < ms; i += 10) { /* 10 ms steps: timers fire close to their time */
        fake_us += 10 * 1000;
        timer_run_due(fake_us);
    }
}

static void member_join(struct heartbeat *hb, struct member *m)
{
    memset(m, 0, sizeof(*m));
    m->hb = hb;
    m->last_rx_ms = now_ms();
    m->present = true;
    heartbeat_add(hb, &m->node);
}

static int setup(void **state)
{
    (void)state;
    fake_us = INT64_C(1000000000);
    probes_unknown = 0;
    timer_set_clock(fake_mono, fake_wall);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(timer_next_due_us(), -1); /* no member left: the sweep's timer is off */
    return 0;
}

/* A peer that talks is never pinged; a silent one is pinged once after ping_secs and hung up
 * after hangup_secs, no later than one cycle after each. */
static void test_silent_peer_pinged_then_hung_up(void **state)
{
    (void)state;
    struct heartbeat hb;
    struct member talker, silent;
    heartbeat_init(&hb, &member_ops, 20, 60);
    assert_int_equal(hb.cycle_ms, 10000);
    int64_t t0 = now_ms();
    member_join(&hb, &talker);
    member_join(&hb, &silent);
    for (int s = 0; s < 90; s++) {
        talker.last_rx_ms = now_ms(); /* a message every second */
        advance(1000);
    }
    assert_int_equal(talker.pings, 0);
    assert_int_equal(talker.hangups, 0);
    assert_true(silent.pings >= 1);
    assert_true(silent.first_ping_ms - t0 >= 20000);
    assert_true(silent.first_ping_ms - t0 <= 20000 + hb.cycle_ms + hb.tick_ms);
    assert_true(silent.hangups >= 1);
    assert_true(silent.hangup_ms - t0 >= 60000);
    assert_true(silent.hangup_ms - t0 <= 60000 + hb.cycle_ms + hb.tick_ms);
    /* pinged at most once per cycle until then, not on every tick */
    assert_true(silent.pings <= (60000 - 20000) / hb.cycle_ms + 1);
    heartbeat_remove(&hb, &talker.node);
    heartbeat_remove(&hb, &silent.node);
    heartbeat_free(&hb);
}

/* A peer that answers the ping stays. */
static void test_answered_ping_keeps_peer(void **state)
{
    (void)state;
    struct heartbeat hb;
    struct member m;
    heartbeat_init(&hb, &member_ops, 5, 15);
    member_join(&hb, &m);
    m.answers = true;
    advance(120000);
    assert_int_equal(m.hangups, 0);
    assert_true(m.pings >= 120 / 10 && m.pings <= 120 / 5 + 1); /* about one per ping_secs */
    heartbeat_remove(&hb, &m.node);
    heartbeat_free(&hb);
}

/* Each member is looked at once per cycle: the work per tick is the members over the ticks of a
 * cycle, not all of them, and nobody is skipped. */
static void test_each_member_once_per_cycle(void **state)
{
    (void)state;
    enum { N = 1000 };
    static struct member ms[N];
    struct heartbeat hb;
    heartbeat_init(&hb, &member_ops, 20, 60);
    for (int i = 0; i < N; i++)
        member_join(&hb, &ms[i]);
    int64_t ticks_per_cycle = hb.cycle_ms / hb.tick_ms;
    uint64_t before = hb.probes;
    advance(hb.tick_ms);
    uint64_t one_tick = hb.probes - before;
    assert_int_equal(one_tick, N / ticks_per_cycle);
    before = hb.probes;
    advance(hb.cycle_ms * 3);
    int64_t probed = (int64_t)(hb.probes - before);
    assert_true(probed >= 3 * N - N / ticks_per_cycle);
    assert_true(probed <= 3 * N + N / ticks_per_cycle);
    for (int i = 0; i < N; i++)
        heartbeat_remove(&hb, &ms[i].node);
    heartbeat_free(&hb);
}

/* Members may leave in the middle of a sweep, the one under the cursor included, and a hang-up
 * may remove its member at once; the sweep goes on with the others. */
static void test_removal_during_sweep(void **state)
{
    (void)state;
    enum { N = 50 };
    static struct member ms[N];
    struct heartbeat hb;
    heartbeat_init(&hb, &member_ops, 4, 12); /* a cycle of 2 ticks: half the members a tick */
    assert_int_equal(hb.cycle_ms, 2 * hb.tick_ms);
    for (int i = 0; i < N; i++) {
        member_join(&hb, &ms[i]);
        ms[i].remove_on_hangup = true;
        ms[i].answers = i % 2 == 0; /* the odd ones go silent and are hung up */
    }
    advance(hb.tick_ms + 10);
    /* the cursor's member (half way through the list) leaves */
    struct heartbeat_node *cur = hb.cursor;
    assert_non_null(cur);
    struct member *m = (struct member *)cur;
    heartbeat_remove(&hb, cur);
    m->present = false;
    advance(30000);
    int left = 0;
    for (int i = 0; i < N; i++) {
        if (!ms[i].present)
            continue;
        left++;
        assert_int_equal(i % 2, 0);
        assert_int_equal(ms[i].hangups, 0);
    }
    assert_int_equal(left, hb.count);
    assert_true(left >= N / 2 - 1);
    for (int i = 0; i < N; i++)
        if (ms[i].present)
            heartbeat_remove(&hb, &ms[i].node);
    heartbeat_free(&hb);
}

/* A member whose idle time cannot be read is left alone; with no members the timer is off (an
 * idle server does not wake up for heartbeats). */
static void test_unknown_idle_and_no_members(void **state)
{
    (void)state;
    struct heartbeat hb;
    struct member m;
    heartbeat_init(&hb, &member_ops, 1, 2);
    assert_int_equal(timer_next_due_us(), -1);
    member_join(&hb, &m);
    assert_true(timer_next_due_us() > 0);
    m.last_rx_ms = -1;
    advance(10000);
    assert_true(probes_unknown > 0);
    assert_int_equal(m.pings, 0);
    assert_int_equal(m.hangups, 0);
    heartbeat_remove(&hb, &m.node);
    assert_int_equal(timer_next_due_us(), -1);
    heartbeat_free(&hb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_silent_peer_pinged_then_hung_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answered_ping_keeps_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_member_once_per_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removal_during_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_idle_and_no_members, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
