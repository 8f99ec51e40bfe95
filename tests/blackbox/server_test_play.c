/*
 * server_test_play.c: whole hands as every client sees them (server_test.h): three players and
 * two spectators (one arriving mid-hand) through a showdown and a fold, the same gap-free event
 * sequence for everyone, and hole cards reaching only their owner until shown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_test.h"

struct game {
    struct bb bb;
    struct tc *ann, *bob, *cat; /* players, autoplaying */
    struct tc *rail;            /* spectator from the start */
    struct tc *late;            /* spectator from the middle of the first hand */
    int64_t h1, h2;             /* two consecutive hands with all three players dealt in */
};

static struct tc *game_player(struct game *g, int i)
{
    return i == 0 ? g->ann : i == 1 ? g->bob : g->cat;
}

/* Waits until every client has seen the hand_end of hand. */
static void wait_hand_end(struct game *g, int64_t hand)
{
    struct tc *all[] = {g->ann, g->bob, g->cat, g->rail, g->late};
    for (size_t i = 0; i < FELT_ARRAY_LEN(all); i++) {
        if (!all[i]) continue;
        if (!BB_WAIT(&g->bb, find_update(all[i], 0, "hand_end", hand) >= 0 || all[i]->bad,
                     BB_TIMEOUT_MS))
            print_error("%s never saw the end of hand %lld (turns without options: %d)\n",
                        all[i]->name, (long long)hand, all[i]->turns_without_options);
        bb_assert_tc_ok(all[i]);
        assert_true(find_update(all[i], 0, "hand_end", hand) >= 0);
    }
}

/* Three players who check or call everything play hand h1 to a showdown; in hand h2 cat folds.
 * A spectator watches from the start, another joins during h1. */
static void game_play(struct game *g)
{
    START(&g->bb, "--hand-delay", "300");
    struct bb *bb = &g->bb;
    g->rail = tc_spectator(bb, "rail", "main", false);
    wait_snapshot(bb, g->rail);
    g->ann = tc_join(bb, "ann", "main", false);
    g->bob = tc_join(bb, "bob", "main", false);
    g->cat = tc_join(bb, "cat", "main", false);
    for (int i = 0; i < 3; i++) {
        struct tc *p = game_player(g, i);
        assert_non_null(p);
        p->play = TC_PLAY_CALL;
        wait_snapshot(bb, p);
    }
    /* The first hand may have started before the third join: wait for one with all three. */
    size_t from = 0;
    for (;;) {
        long hs = wait_msg(bb, g->rail, from, PROTO_S_STATE_UPDATE, "event", "hand_start");
        if (count_players_in_hand(g->rail->msgs[hs].data) == 3) {
            g->h1 = jval_int(g->rail->msgs[hs].data, "hand_id", -1);
            break;
        }
        from = (size_t)hs + 1;
    }
    g->h2 = g->h1 + 1;
    /* A second spectator arrives once h1 is under way. */
    wait_msg(bb, g->rail, from, PROTO_S_STATE_UPDATE, "event", "action");
    g->late = tc_spectator(bb, "late", "main", false);
    wait_snapshot(bb, g->late);
    wait_hand_end(g, g->h1);
    /* In the second hand cat folds whenever it cannot check (h2 starts after a delay). */
    g->cat->play = TC_PLAY_FOLD;
    assert_true(BB_WAIT(bb, find_update(g->rail, 0, "hand_start", g->h2) >= 0, BB_TIMEOUT_MS));
    long h2s = find_update(g->rail, 0, "hand_start", g->h2);
    assert_int_equal(count_players_in_hand(g->rail->msgs[h2s].data), 3);
    wait_hand_end(g, g->h2);
    for (int i = 0; i < 3; i++)
        assert_int_equal(game_player(g, i)->turns_without_options, 0);
}

void test_full_hand(void **state)
{
    static struct game g;
    (void)state;
    memset(&g, 0, sizeof(g));
    game_play(&g);
    struct tc *rail = g.rail;
    long hs = find_update(rail, 0, "hand_start", g.h1);
    long he = find_update(rail, 0, "hand_end", g.h1);
    assert_true(hs >= 0 && he > hs);

    /* Everyone called or checked: preflop, flop, turn, river, then a showdown. */
    const char *streets[] = {"flop", "turn", "river"};
    size_t ncards[] = {3, 1, 1};
    long at = hs;
    for (int i = 0; i < 3; i++) {
        at = tc_find(rail, (size_t)at + 1, PROTO_S_STATE_UPDATE, "street", streets[i]);
        assert_true(at > hs && at < he);
        assert_int_equal(json_object_array_length(jval_get(rail->msgs[at].data, "cards")), ncards[i]);
    }
    long sd = find_update(rail, (size_t)hs, "showdown", g.h1);
    assert_true(sd > at && sd < he);
    json_object *shows = jval_get(rail->msgs[sd].data, "shows");
    assert_true(json_object_array_length(shows) >= 1);
    assert_int_equal(json_object_array_length(shows) +
                         json_object_array_length(jval_get(rail->msgs[sd].data, "mucks")),
                     3);
    /* Each player acted in every round: 3 preflop (call, call, check) + 3 per street. */
    size_t actions = 0;
    for (long i = hs; i < he; i++) {
        const char *ev = jval_str(rail->msgs[i].data, "event");
        actions += rail->msgs[i].type == PROTO_S_STATE_UPDATE && ev && strcmp(ev, "action") == 0;
    }
    assert_int_equal(actions, 12);
    /* Chips are conserved and the pots were all awarded. */
    json_object *end = rail->msgs[he].data;
    json_object *stacks = jval_get(end, "stacks");
    int64_t total = 0, awarded = 0;
    for (int i = 0; i < 3; i++)
        total += jval_int(stacks, game_player(&g, i)->player_id, -100000);
    assert_int_equal(total, 3000);
    json_object *pots = jval_get(end, "pots");
    for (size_t i = 0; i < json_object_array_length(pots); i++)
        awarded += jval_int(json_object_array_get_idx(pots, i), "amount", 0);
    assert_int_equal(awarded, 30); /* three big blinds, checked down */
    /* Every player saw its own actions acknowledged and the same result. */
    for (int i = 0; i < 3; i++) {
        struct tc *p = game_player(&g, i);
        assert_true(p->actions_sent >= 4);
        long phe = find_update(p, 0, "hand_end", g.h1);
        assert_string_equal(json_object_to_json_string(jval_get(p->msgs[phe].data, "stacks")),
                            json_object_to_json_string(stacks));
    }
    /* The hand_won notification follows. */
    assert_true(tc_find_note(rail, (size_t)he, "hand_won", NULL) > he);
    bb_stop_clean(&g.bb);
}

/* True if m is a private rendering meant for player t (its own hand_start, its your_turn). */
static bool private_for(const struct rmsg *m, const struct tc *t)
{
    const char *ev = jval_str(m->data, "event"), *kind = jval_str(m->data, "kind");
    if (!t->player) return false;
    if (m->type == PROTO_S_STATE_UPDATE && ev && strcmp(ev, "hand_start") == 0)
        return entry_of(jval_get(m->data, "players"), t->player_id) &&
               jval_get(entry_of(jval_get(m->data, "players"), t->player_id), "cards");
    return m->type == PROTO_S_NOTIFICATION && kind && strcmp(kind, "your_turn") == 0 &&
           strcmp(jval_str(m->data, "player_id"), t->player_id) == 0;
}

/* The event sequence of t: gap-free after each snapshot, identical to the reference (ref)
 * on every seq both have; byte-identical unless it is t's private rendering. */
static void check_sequence(const struct tc *t, const struct tc *ref)
{
    uint64_t expect = 0;
    size_t events = 0, compared = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct rmsg *m = &t->msgs[i];
        if (!m->has_seq) continue;
        if (m->type == PROTO_S_SNAPSHOT) {
            /* Only as the first message of a socket here (nobody resumes or lags). */
            assert_int_equal(expect, 0);
            expect = m->seq + 1;
            continue;
        }
        if (m->seq != expect)
            print_error("%s: got seq %llu, expected %llu\n", t->name, (unsigned long long)m->seq,
                        (unsigned long long)expect);
        assert_int_equal(m->seq, expect);
        expect++;
        events++;
        const struct rmsg *o = msg_at_seq(ref, m->seq);
        if (!o) continue;
        compared++;
        assert_int_equal(m->type, o->type);
        const char *e1 = jval_str(m->data, "event"), *e2 = jval_str(o->data, "event");
        if (e1 || e2) assert_string_equal(e1 ? e1 : "-", e2 ? e2 : "-");
        if (private_for(m, t) || private_for(o, ref)) {
            const char *k1 = jval_str(m->data, "kind"), *k2 = jval_str(o->data, "kind");
            if (k1 && k2) /* your_turn for the player, turn for everyone else */
                assert_true(strcmp(k1, k2) == 0 ||
                            (strcmp(k1, "your_turn") == 0 && strcmp(k2, "turn") == 0) ||
                            (strcmp(k1, "turn") == 0 && strcmp(k2, "your_turn") == 0));
            continue;
        }
        if (strcmp(m->raw, o->raw) != 0)
            print_error("%s and %s differ at seq %llu:\n  %s\n  %s\n", t->name, ref->name,
                        (unsigned long long)m->seq, m->raw, o->raw);
        assert_string_equal(m->raw, o->raw);
    }
    assert_true(events > 20);
    if (t != ref) assert_true(compared > 20);
}

void test_event_sequence(void **state)
{
    static struct game g;
    (void)state;
    memset(&g, 0, sizeof(g));
    game_play(&g);
    struct tc *all[] = {g.rail, g.late, g.ann, g.bob, g.cat};
    for (size_t i = 0; i < FELT_ARRAY_LEN(all); i++)
        for (size_t k = 0; k < FELT_ARRAY_LEN(all); k++)
            check_sequence(all[i], all[k]);
    /* The late spectator started with a snapshot in the middle of h1 and then followed. */
    assert_int_equal(g.late->msgs[0].type, PROTO_S_SNAPSHOT);
    assert_int_equal(jval_int(g.late->msgs[0].data, "hand_id", -1), g.h1);
    assert_true(jval_bool(g.late->msgs[0].data, "hand_running", false));
    /* Each turn's deadline is the one its last state_update announced in to_act. */
    for (size_t i = 0; i < g.rail->n; i++) {
        const struct rmsg *m = &g.rail->msgs[i];
        const char *kind = jval_str(m->data, "kind");
        if (m->type != PROTO_S_NOTIFICATION || !kind || strcmp(kind, "turn") != 0) continue;
        long u = -1;
        for (long k = (long)i - 1; k >= 0 && u < 0; k--)
            if (g.rail->msgs[k].type == PROTO_S_STATE_UPDATE) u = k;
        assert_true(u >= 0);
        json_object *ta = jval_get(g.rail->msgs[u].data, "to_act");
        if (!ta || !json_object_is_type(ta, json_type_object))
            print_error("turn at seq %llu follows a state_update without to_act: %s\n",
                        (unsigned long long)m->seq, g.rail->msgs[u].raw);
        assert_true(ta && json_object_is_type(ta, json_type_object));
        assert_string_equal(jval_str(ta, "player_id"), jval_str(m->data, "player_id"));
        assert_int_equal(jval_int(ta, "deadline", -1), jval_int(m->data, "deadline", -2));
    }
    bb_stop_clean(&g.bb);
}

void test_hole_card_privacy(void **state)
{
    static struct game g;
    (void)state;
    memset(&g, 0, sizeof(g));
    game_play(&g);
    struct tc *all[] = {g.rail, g.late, g.ann, g.bob, g.cat};
    int64_t hands[] = {g.h1, g.h2};
    for (size_t h = 0; h < 2; h++) {
        int64_t hand = hands[h];
        /* The seq range of the hand: its hand_start up to the next hand_start. */
        long hs = find_update(g.rail, 0, "hand_start", hand);
        long next = find_update(g.rail, 0, "hand_start", hand + 1);
        long sd = find_update(g.rail, 0, "showdown", hand);
        uint64_t lo = g.rail->msgs[hs].seq;
        uint64_t hi = next >= 0 ? g.rail->msgs[next].seq : UINT64_MAX;
        json_object *shows = sd >= 0 ? jval_get(g.rail->msgs[sd].data, "shows") : NULL;
        for (int i = 0; i < 3; i++) {
            struct tc *p = game_player(&g, i);
            char cards[2][8];
            assert_int_equal(hole_cards(p, hand, cards), 2);
            json_object *shown = entry_of(shows, p->player_id);
            uint64_t public_from = shown ? g.rail->msgs[sd].seq : UINT64_MAX;
            if (shown) { /* what was shown is what was dealt */
                json_object *sc = jval_get(shown, "cards");
                for (int c = 0; c < 2; c++) {
                    char want[8];
                    snprintf(want, sizeof(want), "\"%s\"",
                             json_object_get_string(json_object_array_get_idx(sc, (size_t)c)));
                    assert_true(strcmp(want, cards[0]) == 0 || strcmp(want, cards[1]) == 0);
                }
            }
            for (size_t k = 0; k < FELT_ARRAY_LEN(all); k++) {
                const struct tc *o = all[k];
                size_t seen_own = 0;
                for (size_t m = 0; m < o->n; m++) {
                    const struct rmsg *msg = &o->msgs[m];
                    if (!msg->has_seq || msg->seq < lo || msg->seq >= hi) continue;
                    bool has = strstr(msg->raw, cards[0]) || strstr(msg->raw, cards[1]);
                    if (o == p) {
                        seen_own += has;
                        continue;
                    }
                    if (has && msg->seq < public_from)
                        print_error("hand %lld: %s's card %s or %s reached %s in: %s\n",
                                    (long long)hand, p->name, cards[0], cards[1], o->name,
                                    msg->raw);
                    assert_false(has && msg->seq < public_from);
                }
                if (o == p) /* the search works: the owner did get them */
                    assert_true(seen_own >= 1);
            }
        }
        /* In h2 cat folded: its cards were never shown, to anyone. */
        if (hand == g.h2) assert_null(entry_of(shows, g.cat->player_id));
    }
    /* Tokens never reach anyone else either. */
    for (int i = 0; i < 3; i++)
        for (size_t k = 0; k < FELT_ARRAY_LEN(all); k++)
            assert_false(raw_contains(all[k], game_player(&g, i)->token));
    bb_stop_clean(&g.bb);
}
