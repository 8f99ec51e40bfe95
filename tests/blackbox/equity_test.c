/*
 * equity_test.c: the all-in equity and to_act's "legal" as feltd really sends them
 * (docs/protocol.md), seen by a spectator and by the players.
 *
 * Players on a real feltd go all-in before the flop, 2 and 3 of them. Every message goes through
 * the harness's wire_decode. Then, in the spectator's stream of that hand: no update before the
 * showdown carries equity (nothing is computed from cards not yet shown); the showdown and each
 * street of the run-out carry one entry per tabled hand, equal (to the 4 decimals sent) to what
 * equity_exact counts here from the shown cards and the board of that update; the wins and ties
 * add up; on the river the winner has 1 and matches hand_end's winners. Every to_act seen by
 * anyone lists "legal" exactly as its call, can_check and can_raise say.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bb_main.h"
#include "equity.h"
#include "jval.h"
#include "util.h"
#include "wire.h"

static const char *feltd_path;

static long eq_find_update(const struct tc *t, size_t from, const char *event, int64_t hand)
{
    for (size_t i = from; i < t->n; i++) {
        const struct rmsg *m = &t->msgs[i];
        const char *ev = jval_str(m->data, "event");
        if (m->type == PROTO_S_STATE_UPDATE && ev && strcmp(ev, event) == 0 &&
            jval_int(m->data, "hand_id", -1) == hand)
            return (long)i;
    }
    return -1;
}

static void eq_cards(json_object *arr, card_t *out, int *n)
{
    for (size_t i = 0; i < json_object_array_length(arr); i++)
        assert_int_equal(card_parse(json_object_get_string(json_object_array_get_idx(arr, i)),
                                    &out[(*n)++], NULL),
                         0);
}

/* Every to_act in t's messages lists legal as its fields say. Returns how many were checked. */
static int eq_check_legal(const struct tc *t)
{
    int checked = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct rmsg *m = &t->msgs[i];
        struct wire_event ev;
        struct felt_err err;
        if (m->type != PROTO_S_STATE_UPDATE && m->type != PROTO_S_SNAPSHOT) continue;
        assert_int_equal(wire_decode_text(m->raw, m->len, &ev, &err), 0);
        json_object *ta = jval_get(m->data, "to_act");
        if (!ta) continue;
        json_object *legal = jval_get(ta, "legal");
        assert_non_null(legal);
        unsigned want = wire_to_act_legal(&ev.to_act);
        assert_int_equal(ev.to_act.legal, want);
        /* in the documented order */
        const char *prev = NULL;
        for (size_t k = 0; k < json_object_array_length(legal); k++) {
            enum engine_action a, p;
            assert_int_equal(engine_action_parse(
                                 json_object_get_string(json_object_array_get_idx(legal, k)), &a),
                             0);
            if (prev) {
                assert_int_equal(engine_action_parse(prev, &p), 0);
                assert_true(p < a);
            }
            prev = json_object_get_string(json_object_array_get_idx(legal, k));
        }
        checked++;
    }
    return checked;
}

/* The equity of update data d (NULL when absent) against an exact count of the shown hands
 * (ids[i] with hands[i]) on board[0..nboard). */
static void eq_check_update(json_object *d, char ids[][40], card_t hands[][2], int n,
                            const card_t *board, int nboard)
{
    struct equity_result r;
    struct felt_err err;
    json_object *eq = jval_get(d, "equity");
    if (!eq) fail_msg("no equity in %s", json_object_to_json_string(d));
    assert_int_equal(json_object_object_length(eq), n);
    assert_int_equal(equity_exact((const card_t(*)[2])hands, n, board, nboard, &r, &err), 0);
    double wins = 0;
    for (int i = 0; i < n; i++) {
        json_object *e = jval_get(eq, ids[i]);
        assert_non_null(e);
        double win = json_object_get_double(jval_get(e, "win"));
        double tie = json_object_get_double(jval_get(e, "tie"));
        assert_float_equal(win, (double)r.wins[i] / (double)r.boards, 0.00005);
        assert_float_equal(tie, (double)r.ties[i] / (double)r.boards, 0.00005);
        assert_true(win + tie <= 1.0001);
        wins += win;
    }
    assert_true(wins <= 1.0001);
}

/* n players go all-in preflop while a spectator watches; then the checks above. */
static void eq_all_in(int n)
{
    static struct bb bb;
    const char *args[] = {"--hand-delay", "200", "--action-timeout", "20", NULL};
    const char *names[] = {"ann", "bob", "cat"};
    struct tc *p[3] = {NULL};
    uint64_t acted_at[3] = {0};
    memset(&bb, 0, sizeof(bb));
    assert_int_equal(bb_start(&bb, feltd_path, args), 0);
    bb_running = &bb;
    struct tc *rail = tc_spectator(&bb, "rail", "main", false);
    for (int i = 0; i < n; i++)
        p[i] = tc_join(&bb, names[i], "main", false);

    /* A hand with all n dealt in, played all-in by whoever is to act. */
    int64_t hand = -1;
    size_t from = 0;
    while (hand < 0) {
        assert_true(BB_WAIT(&bb,
                            tc_find(rail, from, PROTO_S_STATE_UPDATE, "event", "hand_start") >= 0,
                            BB_TIMEOUT_MS));
        long hs = tc_find(rail, from, PROTO_S_STATE_UPDATE, "event", "hand_start");
        json_object *players = jval_get(rail->msgs[hs].data, "players");
        int dealt = 0;
        for (size_t k = 0; k < json_object_array_length(players); k++) {
            const char *st = jval_str(json_object_array_get_idx(players, k), "status");
            dealt += st && (strcmp(st, "active") == 0 || strcmp(st, "all_in") == 0);
        }
        if (dealt == n) hand = jval_int(rail->msgs[hs].data, "hand_id", -1);
        from = (size_t)hs + 1;
    }
    for (;;) {
        int who = -1;
        BB_WAIT(&bb, (eq_find_update(rail, 0, "hand_end", hand) >= 0) || ({
                         who = -1;
                         for (int i = 0; i < n; i++)
                             if (p[i]->to_act.present && p[i]->to_act_hand == hand &&
                                 strcmp(p[i]->to_act.player_id, p[i]->player_id) == 0 &&
                                 p[i]->max_seq > acted_at[i])
                                 who = i;
                         who >= 0;
                     }),
                BB_TIMEOUT_MS);
        if (eq_find_update(rail, 0, "hand_end", hand) >= 0) break;
        assert_true(who >= 0);
        acted_at[who] = p[who]->max_seq;
        bool raise = p[who]->to_act.can_raise;
        tc_act(p[who], raise ? "all_in" : "call", 0, hand, NULL);
    }

    /* The spectator's stream of the hand. */
    long sd = eq_find_update(rail, 0, "showdown", hand);
    long he = eq_find_update(rail, 0, "hand_end", hand);
    assert_true(sd > 0 && he > sd);
    for (long i = 0; i < sd; i++)
        if (jval_get(rail->msgs[i].data, "equity"))
            fail_msg("equity before the cards were shown: %s", rail->msgs[i].raw);
    json_object *shows = jval_get(rail->msgs[sd].data, "shows");
    assert_int_equal(json_object_array_length(shows), n);
    char ids[3][40];
    card_t hands[3][2], board[5];
    int nboard = 0;
    for (int i = 0; i < n; i++) {
        json_object *s = json_object_array_get_idx(shows, (size_t)i);
        int k = 0;
        snprintf(ids[i], sizeof(ids[i]), "%s", jval_str(s, "player_id"));
        eq_cards(jval_get(s, "cards"), hands[i], &k);
    }
    /* Equity is keyed by player: the order of the shows does not matter. */
    eq_check_update(rail->msgs[sd].data, ids, hands, n, board, 0);
    int streets = 0;
    json_object *last = NULL;
    for (long i = sd + 1; i < he; i++) {
        const char *ev = jval_str(rail->msgs[i].data, "event");
        if (rail->msgs[i].type != PROTO_S_STATE_UPDATE || !ev || strcmp(ev, "street") != 0)
            continue;
        eq_cards(jval_get(rail->msgs[i].data, "cards"), board, &nboard);
        eq_check_update(rail->msgs[i].data, ids, hands, n, board, nboard);
        last = rail->msgs[i].data;
        streets++;
    }
    assert_int_equal(streets, 3);
    assert_int_equal(nboard, 5);
    /* On the river: a winner has 1, or the split hands tie 1; hand_end agrees. */
    json_object *pots = jval_get(rail->msgs[he].data, "pots");
    json_object *winners = jval_get(json_object_array_get_idx(pots, 0), "winners");
    size_t nw = json_object_array_length(winners);
    for (size_t k = 0; k < nw; k++) {
        json_object *e = jval_get(jval_get(last, "equity"),
                                  jval_str(json_object_array_get_idx(winners, k), "player_id"));
        assert_float_equal(json_object_get_double(jval_get(e, nw == 1 ? "win" : "tie")), 1.0, 1e-9);
    }
    /* The players saw the same equity as the spectator (it is public). Each socket is written
     * on its own turn of the loop: a player's showdown may still be on its way when the
     * spectator already has the hand's end. */
    for (int i = 0; i < n; i++) {
        assert_true(BB_WAIT(&bb, eq_find_update(p[i], 0, "showdown", hand) >= 0, BB_TIMEOUT_MS));
        long psd = eq_find_update(p[i], 0, "showdown", hand);
        assert_string_equal(json_object_to_json_string(jval_get(p[i]->msgs[psd].data, "equity")),
                            json_object_to_json_string(jval_get(rail->msgs[sd].data, "equity")));
        assert_true(eq_check_legal(p[i]) > 0);
        bb_assert_tc_ok(p[i]);
    }
    assert_true(eq_check_legal(rail) > 0);
    bb_assert_tc_ok(rail);
    bb_stop_clean(&bb);
}

static void test_heads_up(void **state)
{
    (void)state;
    eq_all_in(2);
}

static void test_three_way(void **state)
{
    (void)state;
    eq_all_in(3);
}

static const struct bb_test equity_tests[] = {
    BB_TEST(heads_up),
    BB_TEST(three_way),
};

int main(int argc, char **argv)
{
    return bb_main(argc, argv, &feltd_path, equity_tests, FELT_ARRAY_LEN(equity_tests), NULL);
}
