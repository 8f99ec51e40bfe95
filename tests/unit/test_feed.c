/*
 * test_feed.c: a node's reading of the tables' event streams (server/feed.c) with a fake
 * stream and fake publishes on a fake clock: every event delivered once, in order, whatever
 * order, duplication and loss the publishes come with; catching up from the stream in batches;
 * publishes during a read; a stream that no longer holds what was expected (reset); a new
 * stream under another epoch (reset, read from its start); failed reads retried; a
 * resubscription; unfollowing from inside the delivery hook.
 * The same module against a real Redis: tests/cluster/test_cluster_feed.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "feed.h"
#include "server.h"

static int64_t fake_us;
static int64_t fake_mono(void) { return fake_us; }
static int64_t fake_wall(void) { return fake_us / 1000; }

/* The stream: events first..last of table "t" exist, payload "e<seq>", under epoch ("" when
 * there is no stream). */
static int64_t stream_first, stream_last;
static char stream_epoch[FEED_EPOCH_MAX + 1];
static char payloads[2048][16];

/* Range reads asked for, answered by the test. */
struct read {
    uint64_t req;
    char table[40];
    int64_t from;
    int count;
};
static struct read reads[64];
static int nreads;
static bool reads_fail; /* ops->range cannot send */

static int fake_range(void *u, uint64_t req, const char *t, int64_t from, int count)
{
    (void)u;
    if (reads_fail) return -1;
    assert_true(nreads < 64);
    reads[nreads] = (struct read){.req = req, .from = from, .count = count};
    snprintf(reads[nreads].table, sizeof(reads[nreads].table), "%s", t);
    nreads++;
    return 0;
}

static const struct feed_ops ops = {fake_range};

/* Answers read i from the stream. */
static void answer(struct feed *f, int i)
{
    static struct feed_event ev[FEED_RANGE_MAX];
    int n = 0;
    int64_t from = reads[i].from < stream_first ? stream_first : reads[i].from;
    for (int64_t s = from; s <= stream_last && n < reads[i].count; s++, n++) {
        ev[n].seq = s;
        ev[n].payload = payloads[s];
        ev[n].len = strlen(payloads[s]);
    }
    feed_on_range(f, reads[i].table, reads[i].req, true, stream_epoch, ev, n);
}

static void answer_last(struct feed *f)
{
    answer(f, nreads - 1);
}

/* Appends seq to the stream; returns its payload. */
static const char *append(int64_t seq)
{
    assert_int_equal(seq, stream_last + 1);
    stream_last = seq;
    snprintf(payloads[seq], sizeof(payloads[seq]), "e%lld", (long long)seq);
    return payloads[seq];
}

static void publish(struct feed *f, int64_t seq)
{
    feed_on_publish(f, "t", stream_epoch, seq, payloads[seq], strlen(payloads[seq]));
}

/* What was delivered. */
static int64_t got[4096];
static int ngot;
static int64_t reset_first;
static char reset_epoch[FEED_EPOCH_MAX + 1], got_epoch[4096][8];
static int resets;
static bool unfollow_at_3;
static struct feed *the_feed;

static void on_deliver(void *arg, const char *t, const char *epoch, int64_t seq, const char *p,
                       size_t len)
{
    (void)arg;
    assert_string_equal(t, "t");
    snprintf(got_epoch[ngot], sizeof(got_epoch[0]), "%s", epoch);
    char want[16];
    snprintf(want, sizeof(want), "e%lld", (long long)seq);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(p, want, len);
    assert_true(ngot < 4096);
    got[ngot++] = seq;
    if (unfollow_at_3 && seq == 3) feed_unfollow(the_feed, t);
}

static void on_reset(void *arg, const char *t, const char *epoch, int64_t first)
{
    (void)arg;
    (void)t;
    resets++;
    snprintf(reset_epoch, sizeof(reset_epoch), "%s", epoch);
    reset_first = first;
}

static const struct feed_hooks hooks = {on_deliver, on_reset};

/* Delivered exactly from..to, in order. */
static void assert_got(int64_t from, int64_t to)
{
    assert_int_equal(ngot, to - from + 1);
    for (int i = 0; i < ngot; i++)
        assert_int_equal(got[i], from + i);
}

static int setup(void **state)
{
    (void)state;
    fake_us = INT64_C(7000000000);
    timer_set_clock(fake_mono, fake_wall);
    stream_first = 1;
    stream_last = 0;
    snprintf(stream_epoch, sizeof(stream_epoch), "A");
    nreads = ngot = resets = 0;
    reads_fail = unfollow_at_3 = false;
    the_feed = feed_new(&ops, NULL, &hooks, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    feed_free(the_feed);
    return 0;
}

static void advance_ms(int64_t ms)
{
    fake_us += ms * 1000;
    timer_run_due(fake_us);
}

/* Following reads what the stream holds; then in-order publishes are delivered without reads,
 * duplicates and old ones dropped. */
static void test_in_order(void **state)
{
    (void)state;
    struct feed *f = the_feed;
    for (int s = 1; s <= 5; s++)
        append(s);
    assert_int_equal(feed_follow(f, "t", NULL, 1), 0);
    assert_int_equal(feed_follow(f, "t", NULL, 3), 0); /* already followed */
    assert_int_equal(nreads, 1);
    assert_int_equal(reads[0].from, 1);
    answer(f, 0);
    assert_got(1, 5);
    for (int s = 6; s <= 20; s++) {
        append(s);
        publish(f, s);
        publish(f, s);     /* a duplicate */
        publish(f, s - 3); /* an old one */
    }
    assert_int_equal(nreads, 1);
    assert_got(1, 20);
    assert_int_equal(feed_next(f, "t"), 21);
    assert_int_equal(feed_next(f, "other"), 0);
    assert_int_equal(feed_follow(f, "", NULL, 1), -1);
    assert_int_equal(feed_follow(f, "u", NULL, 0), -1);
}

/* A publish that skips ahead reads the gap from the stream; publishes meanwhile are not kept
 * but make the read go on until it has them. */
static void test_gap_filled(void **state)
{
    (void)state;
    struct feed *f = the_feed;
    feed_follow(f, "t", NULL, 1);
    answer(f, 0); /* empty stream */
    assert_int_equal(ngot, 0);
    append(1);
    publish(f, 1);
    for (int s = 2; s <= 4; s++)
        append(s); /* 2..4 published but lost */
    append(5);
    publish(f, 5);
    assert_int_equal(nreads, 2);
    assert_int_equal(reads[1].from, 2);
    /* while that read is in flight, 6..8 are published; the stream has 6 only when it is read */
    append(6);
    publish(f, 6);
    answer(f, 1); /* gives 2..6 */
    append(7);
    publish(f, 7); /* no read in flight, in order: delivered */
    assert_got(1, 7);
    assert_int_equal(nreads, 2);
    /* a read returns less than was published meanwhile: read again */
    append(8);
    append(9);
    publish(f, 9); /* gap: read from 8 */
    assert_int_equal(reads[nreads - 1].from, 8);
    append(10);
    publish(f, 10);
    stream_last = 9; /* the read sees only 8..9 */
    int before = nreads;
    answer_last(f);
    assert_int_equal(nreads, before + 1); /* 10 was published: read on */
    stream_last = 10;
    answer_last(f);
    assert_got(1, 10);
}

/* Catching up on a long stream goes batch by batch. */
static void test_batches(void **state)
{
    (void)state;
    struct feed *f = the_feed;
    for (int s = 1; s <= 2 * FEED_RANGE_MAX + 10; s++)
        append(s);
    feed_follow(f, "t", NULL, 1);
    answer_last(f);
    assert_int_equal(nreads, 2);
    assert_int_equal(reads[1].from, FEED_RANGE_MAX + 1);
    answer_last(f);
    assert_int_equal(nreads, 3);
    answer_last(f);
    assert_int_equal(nreads, 3);
    assert_got(1, 2 * FEED_RANGE_MAX + 10);
}

/* The stream was trimmed past what this node expected: reset, then on from its first event. */
static void test_reset(void **state)
{
    (void)state;
    struct feed *f = the_feed;
    for (int s = 1; s <= 30; s++)
        append(s);
    stream_first = 21;
    feed_follow(f, "t", NULL, 5);
    answer_last(f);
    assert_int_equal(resets, 1);
    assert_string_equal(reset_epoch, "A");
    assert_int_equal(reset_first, 21);
    assert_got(21, 30);
}

/* A read that fails, or cannot be sent, is retried after FEED_RETRY_MS; a stale reply (an
 * older read, another table) changes nothing. */
static void test_retry_and_stale(void **state)
{
    (void)state;
    struct feed *f = the_feed;
    for (int s = 1; s <= 3; s++)
        append(s);
    reads_fail = true;
    feed_follow(f, "t", NULL, 1);
    assert_int_equal(nreads, 0);
    reads_fail = false;
    advance_ms(FEED_RETRY_MS - 1);
    assert_int_equal(nreads, 0);
    advance_ms(1);
    assert_int_equal(nreads, 1);
    feed_on_range(f, "t", reads[0].req, false, NULL, NULL, 0);
    assert_int_equal(nreads, 1);
    advance_ms(FEED_RETRY_MS);
    assert_int_equal(nreads, 2);
    answer(f, 0); /* the first read's number: stale */
    assert_int_equal(ngot, 0);
    feed_on_range(f, "u", reads[1].req, true, "A", NULL, 0); /* not followed */
    answer(f, 1);
    assert_got(1, 3);
}

/* Redis forgets (no stream, no epoch), then the owner starts a new stream under epoch B with its
 * seqs from 1 again: the publish of another epoch makes a read, the read finds B, the node reads
 * B from its start and reports the break (reset, B, 1) before delivering B's events; a late
 * publish of the old epoch costs one read and delivers nothing twice. Following with epoch NULL
 * takes the stream's as it is, without a reset; following with a stale epoch resets at once. */
static void test_new_epoch(void **state)
{
    (void)state;
    struct feed *f = the_feed;
    for (int s = 1; s <= 10; s++)
        append(s);
    assert_int_equal(feed_follow(f, "t", "A", 1), 0);
    answer_last(f);
    assert_got(1, 10);
    assert_string_equal(got_epoch[9], "A");

    stream_epoch[0] = '\0'; /* Redis restarted empty */
    stream_last = 0;
    feed_resync(f);
    answer_last(f);
    assert_int_equal(resets, 0);
    assert_int_equal(ngot, 10);

    snprintf(stream_epoch, sizeof(stream_epoch), "B"); /* the owner starts B at 1 */
    for (int s = 1; s <= 4; s++)
        append(s);
    int before = nreads;
    publish(f, 1);
    assert_int_equal(nreads, before + 1);
    assert_int_equal(reads[nreads - 1].from, 11); /* where A left off */
    answer_last(f);                                /* B, nothing from 11 */
    assert_int_equal(nreads, before + 2);
    assert_int_equal(reads[nreads - 1].from, 1); /* B from its start */
    assert_int_equal(ngot, 10);
    answer_last(f);
    assert_int_equal(resets, 1);
    assert_string_equal(reset_epoch, "B");
    assert_int_equal(reset_first, 1);
    assert_int_equal(ngot, 14);
    for (int i = 10; i < 14; i++) {
        assert_int_equal(got[i], i - 9);
        assert_string_equal(got_epoch[i], "B");
    }
    append(5);
    publish(f, 5); /* B's, in order: delivered without a read */
    assert_int_equal(ngot, 15);
    before = nreads;
    feed_on_publish(f, "t", "A", 11, "e11", 3); /* a late one of A */
    assert_int_equal(nreads, before + 1);
    answer_last(f);
    assert_int_equal(nreads, before + 1);
    assert_int_equal(ngot, 15);
    assert_int_equal(resets, 1);

    feed_unfollow(f, "t");
    ngot = 0;
    assert_int_equal(feed_follow(f, "t", NULL, 3), 0);
    answer_last(f);
    assert_got(3, 5);
    assert_int_equal(resets, 1);
    feed_unfollow(f, "t");
    ngot = 0;
    assert_int_equal(feed_follow(f, "t", "A", 9), 0); /* a client's old epoch */
    answer_last(f);
    answer_last(f);
    assert_int_equal(resets, 2);
    assert_got(1, 5);
    assert_int_equal(feed_follow(f, "u", "with space", 1), -1);
}

/* After a resubscription every table reads what it missed. */
static void test_resync(void **state)
{
    (void)state;
    struct feed *f = the_feed;
    feed_follow(f, "t", NULL, 1);
    answer_last(f);
    for (int s = 1; s <= 5; s++)
        append(s); /* published while the subscription was down */
    feed_resync(f);
    assert_int_equal(nreads, 2);
    assert_int_equal(reads[1].from, 1);
    answer_last(f);
    assert_got(1, 5);
}

/* The delivery hook may unfollow: nothing more is delivered, later replies are ignored. */
static void test_unfollow_in_hook(void **state)
{
    (void)state;
    struct feed *f = the_feed;
    for (int s = 1; s <= 6; s++)
        append(s);
    unfollow_at_3 = true;
    feed_follow(f, "t", NULL, 1);
    answer_last(f);
    assert_got(1, 3);
    assert_int_equal(feed_next(f, "t"), 0);
    answer_last(f);
    publish(f, 4);
    assert_got(1, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gap_filled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_epoch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_and_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unfollow_in_hook, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
