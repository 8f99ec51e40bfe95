/*
 * server_test_actions.c: actions applied exactly once and never to another hand
 * (server_test.h): a request_id sent twice, an action for a hand that has ended, heads-up turn
 * order, and the action clock acting for a player who does not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_test.h"

/* ---- actions: exactly once, never for another hand ------------------------------------------- */

void test_duplicate_request_id(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    struct http_reply r;
    (void)state;
    START(&bb, "--hand-delay", "200");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    wait_snapshot(&bb, spec);
    struct tc *ps[3] = {tc_join(&bb, "ann", "main", false), tc_join(&bb, "bob", "main", false),
                        tc_join(&bb, "cat", "main", false)};
    for (int i = 0; i < 3; i++)
        wait_snapshot(&bb, ps[i]);
    long hs = wait_full_hand_start(&bb, spec, 3);
    int64_t hand = jval_int(spec->msgs[hs].data, "hand_id", -1);
    struct tc *x = to_act_player(spec->msgs[hs].data, ps, 3);
    assert_non_null(x);

    /* x calls the big blind; the identical resend gets the identical ack. */
    tc_act(x, "call", 0, hand, "dup-1");
    json_object *a0 = wait_reply(&bb, x, PROTO_S_ACK, 0);
    assert_string_equal(jval_str(a0, "status"), "accepted");
    assert_string_equal(jval_str(a0, "request_id"), "dup-1");
    assert_int_equal(jval_int(a0, "hand_id", -1), hand);
    tc_act(x, "call", 0, hand, "dup-1");
    wait_reply(&bb, x, PROTO_S_ACK, 1);
    assert_string_equal(raw_of_reply(x, PROTO_S_ACK, 1), raw_of_reply(x, PROTO_S_ACK, 0));
    /* ... and over HTTP too: the same bytes. */
    char body[160];
    snprintf(body, sizeof(body),
             "{\"action\": \"call\", \"request_id\": \"dup-1\", \"hand_id\": %lld}",
             (long long)hand);
    bb_http(&bb, "/api/games/main/action", body, x->token, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, raw_of_reply(x, PROTO_S_ACK, 0));
    http_reply_free(&r);

    /* A rejected action replays its rejection too. */
    long upd = wait_msg(&bb, spec, (size_t)hs, PROTO_S_STATE_UPDATE, "event", "action");
    struct tc *next = to_act_player(spec->msgs[upd].data, ps, 3);
    assert_non_null(next);
    assert_ptr_not_equal(next, x);
    struct tc *idle = NULL;
    for (int i = 0; i < 3; i++)
        if (ps[i] != x && ps[i] != next) idle = ps[i];
    tc_act(idle, "check", 0, hand, "dup-2");
    json_object *r0 = wait_reply(&bb, idle, PROTO_S_ACK, 0);
    assert_string_equal(jval_str(r0, "status"), "rejected");
    assert_string_equal(jval_str(r0, "code"), "not_your_turn");
    tc_act(idle, "check", 0, hand, "dup-2");
    wait_reply(&bb, idle, PROTO_S_ACK, 1);
    assert_string_equal(raw_of_reply(idle, PROTO_S_ACK, 1), raw_of_reply(idle, PROTO_S_ACK, 0));

    /* Applied once: one action update by x, one turn for the next player, in this hand. */
    tc_send(x, "{\"type\": \"chat\", \"text\": \"marker\"}");
    wait_msg(&bb, spec, 0, PROTO_S_CHAT, "text", "marker");
    assert_int_equal(tc_count_updates(spec, "action", x->player_id), 1);
    assert_int_equal(tc_count_updates(spec, "action", NULL), 1);
    size_t turns = 0;
    for (long i = find_update(spec, 0, "action", hand); i >= 0 && (size_t)i < spec->n; i++) {
        const char *kind = jval_str(spec->msgs[i].data, "kind");
        turns += spec->msgs[i].type == PROTO_S_NOTIFICATION && kind && strcmp(kind, "turn") == 0;
    }
    assert_int_equal(turns, 1);
    bb_stop_clean(&bb);
}

void test_stale_hand(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    (void)state;
    START(&bb, "--hand-delay", "200");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    wait_snapshot(&bb, spec);
    struct tc *ps[2] = {tc_join(&bb, "ann", "main", false), tc_join(&bb, "bob", "main", false)};
    wait_snapshot(&bb, ps[0]);
    wait_snapshot(&bb, ps[1]);
    long hs = wait_full_hand_start(&bb, spec, 2);
    int64_t hand = jval_int(spec->msgs[hs].data, "hand_id", -1);
    struct tc *x = to_act_player(spec->msgs[hs].data, ps, 2);
    struct tc *other = x == ps[0] ? ps[1] : ps[0];
    assert_non_null(x);

    tc_act(x, "call", 0, hand + 1, NULL); /* a hand that has not started */
    tc_act(x, "call", 0, hand - 1, NULL); /* the previous one (0: before the first) */
    tc_act(other, "call", 0, hand, NULL); /* the right hand, not other's turn */
    const char *want[][2] = {{"stale_hand", "x"}, {"stale_hand", "x"}, {"not_your_turn", "o"}};
    for (size_t i = 0; i < 3; i++) {
        struct tc *who = want[i][1][0] == 'x' ? x : other;
        json_object *ack = wait_reply(&bb, who, PROTO_S_ACK, who == x ? i : 0);
        assert_string_equal(jval_str(ack, "status"), "rejected");
        assert_string_equal(jval_str(ack, "code"), want[i][0]);
        assert_non_null(jval_str(ack, "message"));
        assert_int_equal(jval_int(ack, "hand_id", -1), hand);
    }
    tc_send(x, "{\"type\": \"chat\", \"text\": \"marker\"}");
    wait_msg(&bb, spec, 0, PROTO_S_CHAT, "text", "marker");
    assert_int_equal(tc_count_updates(spec, "action", NULL), 0);
    /* The right hand at the right turn is applied. */
    tc_act(x, "call", 0, hand, NULL);
    assert_string_equal(jval_str(wait_reply(&bb, x, PROTO_S_ACK, 2), "status"), "accepted");
    long u = wait_msg(&bb, spec, 0, PROTO_S_STATE_UPDATE, "event", "action");
    assert_string_equal(jval_str(spec->msgs[u].data, "player_id"), x->player_id);
    assert_int_equal(jval_int(spec->msgs[u].data, "hand_id", -1), hand);
    bb_stop_clean(&bb);

    /* Before any hand: no_hand. */
    START(&bb, "--hand-delay", "600000");
    struct tc *ann = tc_join(&bb, "ann", "main", false);
    struct tc *bob = tc_join(&bb, "bob", "main", false);
    wait_snapshot(&bb, ann);
    wait_snapshot(&bb, bob);
    tc_act(ann, "check", 0, 1, NULL);
    json_object *ack = wait_reply(&bb, ann, PROTO_S_ACK, 0);
    assert_string_equal(jval_str(ack, "status"), "rejected");
    assert_string_equal(jval_str(ack, "code"), "no_hand");
    bb_stop_clean(&bb);
}

/* Heads-up, everyone checking or calling: every turn is announced, also when the player who
 * closed one street opens the next (the big blind preflop, then first on the flop). */
void test_heads_up_turns(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    (void)state;
    START(&bb, "--hand-delay", "200");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    wait_snapshot(&bb, spec);
    struct tc *ps[2] = {tc_join(&bb, "ann", "main", false), tc_join(&bb, "bob", "main", false)};
    for (int i = 0; i < 2; i++) {
        ps[i]->play = TC_PLAY_CALL;
        wait_snapshot(&bb, ps[i]);
    }
    long hs = wait_full_hand_start(&bb, spec, 2);
    int64_t hand = jval_int(spec->msgs[hs].data, "hand_id", -1);
    if (!BB_WAIT(&bb, find_update(spec, 0, "hand_end", hand) >= 0 || ps[0]->bad || ps[1]->bad,
                 BB_TIMEOUT_MS))
        print_error("hand %lld stalled; turns without options: %d %d\n", (long long)hand,
                    ps[0]->turns_without_options, ps[1]->turns_without_options);
    bb_assert_tc_ok(ps[0]);
    bb_assert_tc_ok(ps[1]);
    long he = find_update(spec, 0, "hand_end", hand);
    assert_true(he > hs);
    /* 2 preflop (call, check) + 2 on each street, each after a turn for its player. */
    size_t actions = 0;
    for (long i = hs; i < he; i++) {
        const struct rmsg *m = &spec->msgs[i];
        const char *ev = jval_str(m->data, "event");
        if (m->type != PROTO_S_STATE_UPDATE || !ev || strcmp(ev, "action") != 0) continue;
        actions++;
        long t = -1;
        for (long k = i - 1; k >= hs && t < 0; k--) {
            const char *kind = jval_str(spec->msgs[k].data, "kind");
            if (spec->msgs[k].type == PROTO_S_NOTIFICATION && kind && strcmp(kind, "turn") == 0)
                t = k;
        }
        assert_true(t >= 0);
        assert_string_equal(jval_str(spec->msgs[t].data, "player_id"), jval_str(m->data, "player_id"));
        /* nothing else acted between that turn and this action */
        for (long k = t + 1; k < i; k++)
            assert_false(spec->msgs[k].type == PROTO_S_STATE_UPDATE &&
                         strcmp(jval_str(spec->msgs[k].data, "event"), "action") == 0);
    }
    assert_int_equal(actions, 8);
    assert_int_equal(tc_find_note(spec, (size_t)hs, "timeout", NULL), -1);
    bb_stop_clean(&bb);
}

/* ---- the action clock ------------------------------------------------------------------------ */

void test_action_clock(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    (void)state;
    START(&bb, "--action-timeout", "1", "--hand-delay", "200");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    wait_snapshot(&bb, spec);
    struct tc *ps[2] = {tc_join(&bb, "ann", "main", false), tc_join(&bb, "bob", "main", false)};
    wait_snapshot(&bb, ps[0]);
    wait_snapshot(&bb, ps[1]);
    long hs = wait_full_hand_start(&bb, spec, 2);
    json_object *ta = jval_get(spec->msgs[hs].data, "to_act");
    struct tc *x = to_act_player(spec->msgs[hs].data, ps, 2);
    assert_non_null(x);
    bool can_check = jval_bool(ta, "can_check", true);
    /* Nobody acts: a warning, then the timeout, then the server acts for x. */
    long turn = tc_find_note(spec, (size_t)hs, "turn", x->player_id);
    if (turn < 0) turn = wait_msg(&bb, spec, (size_t)hs, PROTO_S_NOTIFICATION, "kind", "turn");
    long warn = wait_msg(&bb, spec, (size_t)turn, PROTO_S_NOTIFICATION, "kind", "timer_warning");
    long to = wait_msg(&bb, spec, (size_t)warn, PROTO_S_NOTIFICATION, "kind", "timeout");
    long act = wait_msg(&bb, spec, (size_t)to, PROTO_S_STATE_UPDATE, "event", "action");
    assert_string_equal(jval_str(spec->msgs[warn].data, "player_id"), x->player_id);
    assert_true(jval_int(spec->msgs[warn].data, "seconds_left", -1) >= 0);
    assert_int_equal(jval_int(spec->msgs[warn].data, "deadline", -1), jval_int(ta, "deadline", -2));
    assert_string_equal(jval_str(spec->msgs[to].data, "player_id"), x->player_id);
    assert_string_equal(jval_str(spec->msgs[act].data, "player_id"), x->player_id);
    assert_string_equal(jval_str(spec->msgs[act].data, "action"), can_check ? "check" : "fold");
    /* x's own socket saw the same. */
    assert_true(BB_WAIT(&bb, tc_find_note(x, 0, "timeout", x->player_id) >= 0, BB_TIMEOUT_MS));
    bb_assert_tc_ok(x);
    bb_stop_clean(&bb);
}
