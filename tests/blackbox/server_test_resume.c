/*
 * server_test_resume.c: a lost socket resumed (server_test.h): the events missed replayed from
 * the client's last seq, gap-free and without a second snapshot, and a client too far behind
 * the history sent a fresh snapshot instead, and a last_seq from another run of the server
 * (another epoch) answered with a snapshot, never a replay.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_test.h"

/* The messages of session (1-based) of t, from index *i on; returns the first index or -1. */
static long first_of_session(const struct tc *t, int session)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->msgs[i].session == session) return (long)i;
    return -1;
}

/* A resume with nothing missed: ann's socket closed cleanly (the server publishes
 * player_disconnected) and a new one resumed from her last seq gets no snapshot and no replay:
 * the next events are last_seq + 1 (her disconnection), + 2 (her connection), + 3 (bob's chat). */
static void check_resume_nothing_missed(struct bb *bb, struct tc *ann, struct tc *bob)
{
    uint64_t now = ann->max_seq;
    char id[32], token[160];
    snprintf(id, sizeof(id), "%s", ann->player_id);
    snprintf(token, sizeof(token), "%s", ann->token);
    size_t mark = bob->n;
    tc_free(ann); /* a clean close: the server publishes player_disconnected */
    /* Once the server has seen it: a hello arriving first would replace the old socket (no
     * notes at all), a race between two sockets that is not what this checks. */
    wait_msg(bb, bob, mark, PROTO_S_NOTIFICATION, "kind", "player_disconnected");
    struct tc *ann2 = tc_player(bb, "ann2", "main", id, token, false);
    ann2->resume = true;
    ann2->max_seq = now;
    wait_open(bb, ann2);
    long c = wait_msg(bb, ann2, 0, PROTO_S_NOTIFICATION, "kind", "player_connected");
    assert_true(ann2->msgs[0].type == PROTO_S_NOTIFICATION);
    assert_int_equal(ann2->msgs[0].seq, now + 1);
    assert_string_equal(jval_str(ann2->msgs[0].data, "kind"), "player_disconnected");
    assert_int_equal(ann2->msgs[c].seq, now + 2);
    tc_send(bob, "{\"type\": \"chat\", \"text\": \"after\"}");
    long a = wait_msg(bb, ann2, 0, PROTO_S_CHAT, "text", "after");
    assert_int_equal(ann2->msgs[a].seq, now + 3);
    assert_int_equal(tc_count(ann2, PROTO_S_SNAPSHOT), 0);
    bb_assert_tc_ok(ann2);
}

void test_resume(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    (void)state;
    START(&bb, "--hand-delay", "600000");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    struct tc *bob = tc_join(&bb, "bob", "main", false);
    struct tc *ann = tc_join(&bb, "ann", "main", true);
    ann->resume = true;
    wait_snapshot(&bb, spec);
    wait_snapshot(&bb, bob);
    wait_snapshot(&bb, ann);
    tc_send(bob, "{\"type\": \"chat\", \"text\": \"before\"}");
    wait_msg(&bb, ann, 0, PROTO_S_CHAT, "text", "before");
    uint64_t last = ann->max_seq;
    size_t spec_mark = spec->n;

    /* The network fails under ann; the server notices; the table moves on without her. */
    wsconn_drop(ann->ws);
    wait_msg(&bb, spec, spec_mark, PROTO_S_NOTIFICATION, "kind", "player_disconnected");
    const char *texts[] = {"m1", "m2", "m3"};
    for (size_t i = 0; i < 3; i++) {
        char m[64];
        snprintf(m, sizeof(m), "{\"type\": \"chat\", \"text\": \"%s\"}", texts[i]);
        tc_send(bob, m);
    }
    wait_msg(&bb, spec, spec_mark, PROTO_S_CHAT, "text", "m3");

    /* wsclient reconnects by itself; hello carries last_seq; exactly the missed events follow. */
    assert_true(BB_WAIT(&bb, ann->opens == 2 || ann->bad, BB_TIMEOUT_MS));
    assert_int_equal(ann->closes, 1);
    assert_int_equal(ann->close_code, 0); /* no close frame: a network failure */
    long back = tc_find_note(spec, spec_mark, "player_connected", ann->player_id);
    if (back < 0)
        back = wait_msg(&bb, spec, spec_mark, PROTO_S_NOTIFICATION, "kind", "player_connected");
    uint64_t upto = spec->msgs[back].seq;
    assert_true(BB_WAIT(&bb, ann->max_seq >= upto || ann->bad, BB_TIMEOUT_MS));
    bb_assert_tc_ok(ann);
    long s2 = first_of_session(ann, 2);
    assert_true(s2 >= 0);
    uint64_t expect = last + 1;
    size_t replayed = 0;
    for (size_t i = (size_t)s2; i < ann->n; i++) {
        const struct rmsg *m = &ann->msgs[i];
        assert_int_not_equal(m->type, PROTO_S_SNAPSHOT);
        if (!m->has_seq) continue;
        assert_int_equal(m->seq, expect);
        const struct rmsg *o = msg_at_seq(spec, m->seq);
        assert_non_null(o);
        assert_string_equal(m->raw, o->raw);
        expect++;
        replayed++;
    }
    assert_true(replayed >= 5); /* disconnected, m1..m3, connected */
    for (size_t i = 0; i < 3; i++)
        assert_true(find_chat(ann, (size_t)s2, texts[i]) >= 0);
    assert_true(tc_find_note(ann, (size_t)s2, "player_disconnected", ann->player_id) >= 0);

    check_resume_nothing_missed(&bb, ann, bob);
    bb_stop_clean(&bb);
}

void test_resume_snapshot(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    (void)state;
    START(&bb, "--history", "1024", "--bots", "3", "--bot-delay", "0", "--hand-delay", "0");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    struct tc *ann = tc_join(&bb, "ann", "main", false);
    wait_snapshot(&bb, spec);
    wait_snapshot(&bb, ann);
    uint64_t last = ann->max_seq;
    char id[32], token[160];
    snprintf(id, sizeof(id), "%s", ann->player_id);
    snprintf(token, sizeof(token), "%s", ann->token);
    tc_send(ann, "{\"type\": \"sit_out\"}");
    wait_msg(&bb, spec, 0, PROTO_S_NOTIFICATION, "kind", "player_sat_out");
    tc_free(ann);
    /* The bots play on until ann's last seq has left the 1024-event history. */
    if (!BB_WAIT(&bb, spec->max_seq > last + 1100 || spec->bad, 6 * BB_TIMEOUT_MS))
        print_error("the bots reached seq %llu only\n", (unsigned long long)spec->max_seq);
    assert_true(spec->max_seq > last + 1100);

    struct tc *old = tc_player(&bb, "old", "main", id, token, false);
    old->resume = true;
    old->max_seq = last;
    wait_snapshot(&bb, old);
    assert_int_equal(old->msgs[0].type, PROTO_S_SNAPSHOT);
    assert_true(old->msgs[0].seq > last + 1100);
    assert_string_equal(jval_str(jval_get(old->msgs[0].data, "you"), "player_id"), id);
    assert_true(jval_bool(jval_get(old->msgs[0].data, "you"), "sitting_out", false));
    /* ... and then follows without gaps. */
    uint64_t next = old->msgs[0].seq + 1;
    assert_true(BB_WAIT(&bb, old->n >= 20 || old->bad, BB_TIMEOUT_MS));
    for (size_t i = 1; i < old->n; i++)
        if (old->msgs[i].has_seq) assert_int_equal(old->msgs[i].seq, next++);
    /* A last_seq from the future is not served from history either. */
    struct tc *future = tc_player(&bb, "future", "main", id, token, false);
    future->resume = true;
    future->max_seq = 1ull << 40;
    wait_snapshot(&bb, future);
    assert_int_equal(future->msgs[0].type, PROTO_S_SNAPSHOT);
    assert_true(future->msgs[0].seq < (1ull << 40));
    assert_int_equal(metric_value(&bb, "felt_resume_snapshots_total "), 2);
    bb_stop_clean(&bb);
}

/* ann's last_seq with a hello naming another epoch (a server restarted since): a snapshot, not
 * a replay, although the seq is one this run has; with the right epoch, the replay. */
void test_resume_epoch(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    (void)state;
    START(&bb, "--hand-delay", "600000");
    struct tc *bob = tc_join(&bb, "bob", "main", false);
    struct tc *ann = tc_join(&bb, "ann", "main", false);
    wait_snapshot(&bb, bob);
    wait_snapshot(&bb, ann);
    json_object *snap = tc_last(ann, PROTO_S_SNAPSHOT, NULL, NULL);
    const char *epoch = jval_str(snap, "epoch");
    assert_non_null(epoch);
    assert_int_equal(strlen(epoch), 32);
    char id[32], token[160], right[PROTO_EPOCH_MAX + 1];
    snprintf(id, sizeof(id), "%s", ann->player_id);
    snprintf(token, sizeof(token), "%s", ann->token);
    snprintf(right, sizeof(right), "%s", epoch);
    uint64_t last = ann->max_seq;
    tc_free(ann);

    const char *epochs[] = {"0123456789abcdef0123456789abcdef", right};
    for (int i = 0; i < 2; i++) {
        struct tc *a = tc_player(&bb, i ? "ann-right" : "ann-wrong", "main", id, token, false);
        a->resume = true;
        a->max_seq = last;
        snprintf(a->epoch, sizeof(a->epoch), "%s", epochs[i]);
        wait_open(&bb, a);
        /* An event after the resume: a resume that missed nothing is sent nothing, and whether
         * the previous socket's close was seen before this hello (a player_disconnected note
         * to replay) or not (the hello replaced it: no note) is a race. */
        tc_send(bob, "{\"type\": \"chat\", \"text\": \"after the resume\"}");
        assert_true(BB_WAIT(&bb, a->n > 0 || a->bad, BB_TIMEOUT_MS));
        bb_assert_tc_ok(a);
        if (i == 0) {
            assert_int_equal(a->msgs[0].type, PROTO_S_SNAPSHOT);
        } else {
            assert_int_not_equal(a->msgs[0].type, PROTO_S_SNAPSHOT);
            assert_int_equal(a->msgs[0].seq, last + 1);
        }
        last = a->max_seq; /* the next socket resumes from what this one saw */
        tc_free(a);
    }
    bb_stop_clean(&bb);
}
