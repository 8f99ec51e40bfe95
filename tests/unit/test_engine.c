/*
 * test_engine.c: unit tests for common/engine.c, the No-Limit Hold'em rules engine.
 *
 * Each rule of docs/engine.md has a hand-built scenario whose expected stacks, pots, options and
 * events were worked out by hand (the arithmetic is in the comments). A seeded property test then
 * plays many thousands of random hands with random legal (and some illegal) actions, checking
 * after every call that no chip is created or lost, that every option the engine offers is
 * accepted, that refusals change nothing, and that every hand ends with the starting chips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "card.h"
#include "engine.h"
#include "eval.h"
#include "rng.h"
#include "util.h"

/* ---- helpers ---- */

static card_t C(const char *s)
{
    card_t c = CARD_NONE;
    assert_int_equal(card_parse(s, &c, NULL), 0);
    return c;
}

static void setup(struct engine_setup *s, int nseats, int button, int64_t sb, int64_t bb,
                  int64_t ante)
{
    memset(s, 0, sizeof(*s));
    s->nseats = nseats;
    s->button = button;
    s->small_blind = sb;
    s->big_blind = bb;
    s->ante = ante;
    memset(s->hole, CARD_NONE, sizeof(s->hole));
    memset(s->board, CARD_NONE, sizeof(s->board));
}

static void hole(struct engine_setup *s, int seat, const char *a, const char *b)
{
    s->hole[seat][0] = C(a);
    s->hole[seat][1] = C(b);
}

static void board(struct engine_setup *s, const char *cards)
{
    assert_int_equal(card_parse_list(cards, s->board, 5, NULL), 5);
}

static void start(struct engine *e, const struct engine_setup *s, struct engine_events *ev)
{
    struct felt_err err = {0};
    ev->n = 0;
    int rc = engine_start(e, s, ev, &err);
    if (rc != 0) print_error("engine_start: %s: %s\n", err.code, err.message);
    assert_int_equal(rc, 0);
}

static void act(struct engine *e, int seat, enum engine_action a, int64_t amount,
                struct engine_events *ev)
{
    ev->n = 0;
    enum engine_status st = engine_act(e, seat, a, amount, ev);
    if (st != ENGINE_OK)
        print_error("seat %d %s %lld: %s\n", seat, engine_action_name(a), (long long)amount,
                    engine_status_code(st));
    assert_int_equal(st, ENGINE_OK);
}

/* An action that must be refused with `want` and leave the engine byte-for-byte unchanged. */
static void refuse(struct engine *e, int seat, enum engine_action a, int64_t amount,
                   enum engine_status want)
{
    struct engine before;
    struct engine_events ev = {0};
    memcpy(&before, e, sizeof(before));
    enum engine_status st = engine_act(e, seat, a, amount, &ev);
    if (st != want)
        print_error("seat %d %s %lld: got %s, want %s\n", seat, engine_action_name(a),
                    (long long)amount, engine_status_code(st), engine_status_code(want));
    assert_int_equal(st, want);
    assert_int_equal(ev.n, 0);
    assert_memory_equal(&before, e, sizeof(before));
}

/* Options of the player to act; min/max are checked only when can_raise. */
static void expect_options(const struct engine *e, int seat, int64_t call, bool can_check,
                           bool can_raise, int64_t min_to, int64_t max_to)
{
    struct engine_options o;
    engine_options(e, &o);
    assert_int_equal(o.seat, seat);
    assert_int_equal(o.call, call);
    assert_int_equal(o.can_check, can_check);
    assert_int_equal(o.can_raise, can_raise);
    if (can_raise) {
        assert_int_equal(o.min_raise_to, min_to);
        assert_int_equal(o.max_raise_to, max_to);
    }
}

static int count_kind(const struct engine_events *ev, enum engine_event_kind k)
{
    int n = 0;
    for (int i = 0; i < ev->n; i++)
        n += ev->ev[i].kind == k;
    return n;
}

/* Index of the first event of kind k at or after `from`, or -1. */
static int find_kind(const struct engine_events *ev, enum engine_event_kind k, int from)
{
    for (int i = from; i < ev->n; i++)
        if (ev->ev[i].kind == k) return i;
    return -1;
}

static int64_t chips_in_play(const struct engine *e)
{
    int64_t t = 0;
    for (int i = 0; i < e->nseats; i++)
        t += e->p[i].stack + (e->over ? 0 : e->p[i].committed);
    return t;
}

static void expect_stacks(const struct engine *e, const int64_t *want, int n)
{
    for (int i = 0; i < n; i++) {
        if (e->p[i].stack != want[i])
            print_error("seat %d: stack %lld, want %lld\n", i, (long long)e->p[i].stack,
                        (long long)want[i]);
        assert_int_equal(e->p[i].stack, want[i]);
    }
}

#define BIT(s) ((uint16_t)(1u << (s)))

/* ---- seat order and blinds ---- */

static void test_three_handed_order(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;
    setup(&s, 3, 0, 5, 10, 0);
    s.stack[0] = s.stack[1] = s.stack[2] = 1000;
    start(&e, &s, &ev);

    /* SB = seat after the button, BB next, first to act = the seat after the BB. */
    assert_int_equal(e.sb_seat, 1);
    assert_int_equal(e.bb_seat, 2);
    assert_int_equal(ev.n, 5);
    assert_int_equal(ev.ev[0].kind, ENGINE_EV_BLIND);
    assert_int_equal(ev.ev[0].seat, 1);
    assert_int_equal(ev.ev[0].amount, 5);
    assert_false(ev.ev[0].blind_big);
    assert_int_equal(ev.ev[1].kind, ENGINE_EV_BLIND);
    assert_int_equal(ev.ev[1].seat, 2);
    assert_int_equal(ev.ev[1].amount, 10);
    assert_true(ev.ev[1].blind_big);
    for (int i = 2; i < 5; i++) {
        assert_int_equal(ev.ev[i].kind, ENGINE_EV_DEAL_HOLE);
        assert_int_equal(ev.ev[i].seat, (i - 1) % 3); /* 1, 2, 0: from the small blind */
    }
    expect_options(&e, 0, 10, false, true, 20, 1000);
    refuse(&e, 1, ENGINE_CALL, 0, ENGINE_E_NOT_YOUR_TURN);

    act(&e, 0, ENGINE_CALL, 0, &ev);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.ev[0].kind, ENGINE_EV_ACTION);
    assert_int_equal(ev.ev[0].action, ENGINE_CALL);
    assert_int_equal(ev.ev[0].amount, 10);
    assert_int_equal(ev.ev[0].to, 10);
    expect_options(&e, 1, 5, false, true, 20, 1000);
    act(&e, 1, ENGINE_CALL, 0, &ev);
    /* The big blind's option: check or raise. */
    expect_options(&e, 2, 0, true, true, 20, 1000);
    act(&e, 2, ENGINE_CHECK, 0, &ev);
    assert_int_equal(ev.n, 2);
    assert_int_equal(ev.ev[1].kind, ENGINE_EV_STREET);
    assert_int_equal(ev.ev[1].street, ENGINE_FLOP);
    assert_int_equal(ev.ev[1].ncards, 3);
    assert_int_equal(e.street, ENGINE_FLOP);

    /* After the flop the first seat after the button acts first. */
    expect_options(&e, 1, 0, true, true, 10, 990);
    act(&e, 1, ENGINE_CHECK, 0, &ev);
    act(&e, 2, ENGINE_CHECK, 0, &ev);
    act(&e, 0, ENGINE_RAISE, 30, &ev);
    assert_int_equal(ev.ev[0].action, ENGINE_RAISE);
    assert_int_equal(ev.ev[0].amount, 30);
    assert_int_equal(e.last_aggressor, 0);
    expect_options(&e, 1, 30, false, true, 60, 990);
    act(&e, 1, ENGINE_FOLD, 0, &ev);
    act(&e, 2, ENGINE_FOLD, 0, &ev);

    /* One player left: the uncalled 30 goes back, the 30 of blinds is won, nothing shown. */
    assert_true(engine_over(&e));
    assert_int_equal(ev.ev[1].kind, ENGINE_EV_UNCALLED);
    assert_int_equal(ev.ev[1].seat, 0);
    assert_int_equal(ev.ev[1].amount, 30);
    assert_int_equal(ev.ev[2].kind, ENGINE_EV_POT);
    assert_int_equal(ev.ev[2].amount, 30);
    assert_int_equal(ev.ev[2].winners, BIT(0));
    assert_int_equal(ev.ev[2].share[0], 30);
    assert_int_equal(ev.ev[3].kind, ENGINE_EV_HAND_END);
    assert_int_equal(ev.n, 4);
    assert_int_equal(count_kind(&ev, ENGINE_EV_SHOW), 0);
    assert_int_equal(e.shown, 0);
    int64_t want[] = {1020, 990, 990};
    expect_stacks(&e, want, 3);
    refuse(&e, 1, ENGINE_CHECK, 0, ENGINE_E_HAND_OVER);
}

static void test_heads_up_order(void **state)
{
    (void)state;
    for (int button = 3; button <= 7; button += 4) {
        int other = button == 3 ? 7 : 3;
        struct engine_setup s;
        struct engine e;
        struct engine_events ev;
        setup(&s, 8, button, 5, 10, 0);
        s.stack[3] = s.stack[7] = 500;
        start(&e, &s, &ev);
        /* Heads-up: the button posts the small blind and acts first before the flop. */
        assert_int_equal(e.sb_seat, button);
        assert_int_equal(e.bb_seat, other);
        expect_options(&e, button, 5, false, true, 20, 500);
        act(&e, button, ENGINE_CALL, 0, &ev);
        expect_options(&e, other, 0, true, true, 20, 500);
        act(&e, other, ENGINE_CHECK, 0, &ev);
        /* ... and last after it. */
        for (int street = ENGINE_FLOP; street <= ENGINE_RIVER; street++) {
            assert_int_equal(e.street, street);
            expect_options(&e, other, 0, true, true, 10, 490);
            act(&e, other, ENGINE_CHECK, 0, &ev);
            act(&e, button, ENGINE_CHECK, 0, &ev);
        }
        assert_true(engine_over(&e));
        assert_true(e.showdown_unknown); /* no cards were given */
        assert_int_equal(chips_in_play(&e), 1000);
    }
}

static void test_dead_button(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;
    /* The button is on an empty seat (4): the small blind is the first dealt seat after it. */
    setup(&s, 9, 4, 5, 10, 0);
    s.stack[1] = s.stack[5] = s.stack[8] = 300;
    start(&e, &s, &ev);
    assert_int_equal(e.sb_seat, 5);
    assert_int_equal(e.bb_seat, 8);
    assert_int_equal(e.to_act, 1);
    act(&e, 1, ENGINE_CALL, 0, &ev);
    act(&e, 5, ENGINE_CALL, 0, &ev);
    act(&e, 8, ENGINE_CHECK, 0, &ev);
    assert_int_equal(e.to_act, 5);

    /* Heads-up with the button on an empty seat: the big blind still acts first postflop. */
    setup(&s, 7, 4, 5, 10, 0);
    s.stack[2] = s.stack[6] = 300;
    start(&e, &s, &ev);
    assert_int_equal(e.sb_seat, 6);
    assert_int_equal(e.bb_seat, 2);
    assert_int_equal(e.to_act, 6);
    act(&e, 6, ENGINE_CALL, 0, &ev);
    act(&e, 2, ENGINE_CHECK, 0, &ev);
    assert_int_equal(e.street, ENGINE_FLOP);
    assert_int_equal(e.to_act, 2);
}

static void test_short_blinds(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;

    /* Big blind short (7 of 10): the amount to call is 7, a min raise adds the big blind: 17. */
    setup(&s, 4, 0, 5, 10, 0);
    s.stack[0] = s.stack[1] = s.stack[3] = 1000;
    s.stack[2] = 7;
    start(&e, &s, &ev);
    assert_int_equal(ev.ev[1].kind, ENGINE_EV_BLIND);
    assert_int_equal(ev.ev[1].amount, 7);
    assert_true(ev.ev[1].all_in);
    assert_int_equal(e.bet_to, 7);
    expect_options(&e, 3, 7, false, true, 17, 1000);
    refuse(&e, 3, ENGINE_RAISE, 16, ENGINE_E_RAISE_TOO_SMALL);
    act(&e, 3, ENGINE_RAISE, 17, &ev);
    expect_options(&e, 0, 17, false, true, 27, 1000);

    /* Small blind short (3 of 5): to call is the big blind, min raise 20. */
    setup(&s, 4, 0, 5, 10, 0);
    s.stack[0] = s.stack[2] = s.stack[3] = 1000;
    s.stack[1] = 3;
    start(&e, &s, &ev);
    assert_int_equal(ev.ev[0].amount, 3);
    assert_true(ev.ev[0].all_in);
    expect_options(&e, 3, 10, false, true, 20, 1000);

    /* Both blinds short and all-in: the button can only call 7 or fold; the board runs out.
     * Pots: 3 x 3 = 9 for all three, (7 - 3) x 2 = 8 for the big blind and the button. */
    setup(&s, 3, 0, 5, 10, 0);
    s.stack[0] = 1000;
    s.stack[1] = 3;
    s.stack[2] = 7;
    hole(&s, 0, "Qs", "Qd");
    hole(&s, 1, "As", "Ah");
    hole(&s, 2, "3s", "4d");
    board(&s, "2c 7d 9h Jc Ks");
    start(&e, &s, &ev);
    expect_options(&e, 0, 7, false, false, 0, 0);
    refuse(&e, 0, ENGINE_RAISE, 100, ENGINE_E_CANNOT_RAISE);
    act(&e, 0, ENGINE_CALL, 0, &ev);
    assert_true(engine_over(&e));
    assert_int_equal(e.npots, 2);
    assert_int_equal(e.pots[0].amount, 9);
    assert_int_equal(e.pots[0].eligible, BIT(0) | BIT(1) | BIT(2));
    assert_int_equal(e.pots[0].winners, BIT(1));
    assert_int_equal(e.pots[1].amount, 8);
    assert_int_equal(e.pots[1].eligible, BIT(0) | BIT(2));
    assert_int_equal(e.pots[1].winners, BIT(0));
    int64_t want[] = {1001, 9, 0};
    expect_stacks(&e, want, 3);
}

static void test_ante_all_in(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;
    /* Ante 10; the big blind has only 6 and is all-in on the ante, so posts no blind: the
     * largest bet is the small blind's 5, and the min raise is 5 + 10 = 15. */
    setup(&s, 3, 0, 5, 10, 10);
    s.stack[0] = 1000;
    s.stack[1] = 1000;
    s.stack[2] = 6;
    hole(&s, 0, "Qs", "Qd");
    hole(&s, 1, "8s", "8h");
    hole(&s, 2, "As", "Ah");
    board(&s, "2c 7d 9h Jc Ks");
    start(&e, &s, &ev);
    assert_int_equal(ev.ev[0].kind, ENGINE_EV_ANTE);
    assert_int_equal(ev.ev[0].seat, 1);
    assert_int_equal(ev.ev[0].amount, 10);
    assert_int_equal(ev.ev[1].kind, ENGINE_EV_ANTE);
    assert_int_equal(ev.ev[1].seat, 2);
    assert_int_equal(ev.ev[1].amount, 6);
    assert_true(ev.ev[1].all_in);
    assert_int_equal(ev.ev[2].kind, ENGINE_EV_ANTE);
    assert_int_equal(ev.ev[2].seat, 0);
    assert_int_equal(ev.ev[3].kind, ENGINE_EV_BLIND);
    assert_int_equal(ev.ev[3].seat, 1);
    assert_int_equal(count_kind(&ev, ENGINE_EV_BLIND), 1);
    assert_int_equal(engine_pot_total(&e), 31);

    expect_options(&e, 0, 5, false, true, 15, 990);
    act(&e, 0, ENGINE_CALL, 0, &ev);
    expect_options(&e, 1, 0, true, true, 15, 990);
    act(&e, 1, ENGINE_CHECK, 0, &ev);
    for (int street = ENGINE_FLOP; street <= ENGINE_RIVER; street++) {
        act(&e, 1, ENGINE_CHECK, 0, &ev);
        act(&e, 0, ENGINE_CHECK, 0, &ev);
    }
    /* Committed: 15, 15, 6. Main pot 6 x 3 = 18 (aces win), side 9 x 2 = 18 (queens win). */
    assert_true(engine_over(&e));
    assert_int_equal(e.npots, 2);
    assert_int_equal(e.pots[0].amount, 18);
    assert_int_equal(e.pots[0].winners, BIT(2));
    assert_int_equal(e.pots[1].amount, 18);
    assert_int_equal(e.pots[1].eligible, BIT(0) | BIT(1));
    assert_int_equal(e.pots[1].winners, BIT(0));
    int64_t want[] = {1003, 985, 18};
    expect_stacks(&e, want, 3);
}

/* ---- raises ---- */

static void test_min_raise_and_errors(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;
    setup(&s, 3, 0, 5, 10, 0);
    s.stack[0] = s.stack[1] = s.stack[2] = 1000;
    start(&e, &s, &ev);
    refuse(&e, 1, ENGINE_FOLD, 0, ENGINE_E_NOT_YOUR_TURN);
    refuse(&e, 42, ENGINE_FOLD, 0, ENGINE_E_NOT_YOUR_TURN);
    refuse(&e, -1, ENGINE_FOLD, 0, ENGINE_E_NOT_YOUR_TURN);
    refuse(&e, 0, ENGINE_CHECK, 0, ENGINE_E_CANNOT_CHECK);
    refuse(&e, 0, ENGINE_RAISE, 0, ENGINE_E_BAD_AMOUNT);
    refuse(&e, 0, ENGINE_RAISE, -20, ENGINE_E_BAD_AMOUNT);
    refuse(&e, 0, ENGINE_RAISE, 1001, ENGINE_E_ABOVE_STACK);
    refuse(&e, 0, ENGINE_RAISE, 19, ENGINE_E_RAISE_TOO_SMALL);
    refuse(&e, 0, ENGINE_RAISE, 10, ENGINE_E_RAISE_TOO_SMALL);
    refuse(&e, 0, (enum engine_action)9, 0, ENGINE_E_UNKNOWN_ACTION);

    /* Raise to 30: a raise of 20, so the next minimum is 50. */
    act(&e, 0, ENGINE_RAISE, 30, &ev);
    expect_options(&e, 1, 25, false, true, 50, 1000);
    refuse(&e, 1, ENGINE_RAISE, 49, ENGINE_E_RAISE_TOO_SMALL);
    /* Re-raise to 100 (a raise of 70): the minimum becomes 170. */
    act(&e, 1, ENGINE_RAISE, 100, &ev);
    expect_options(&e, 2, 90, false, true, 170, 1000);
    act(&e, 2, ENGINE_FOLD, 0, &ev);
    expect_options(&e, 0, 70, false, true, 170, 1000);
    act(&e, 0, ENGINE_CALL, 0, &ev);
    assert_int_equal(e.street, ENGINE_FLOP);
    /* A new round: the minimum bet is the big blind again. */
    expect_options(&e, 1, 0, true, true, 10, 900);
    act(&e, 1, ENGINE_CHECK, 0, &ev);
    /* CALL with nothing to call is accepted as a check. */
    act(&e, 0, ENGINE_CALL, 0, &ev);
    assert_int_equal(ev.ev[0].action, ENGINE_CHECK);
    assert_int_equal(e.street, ENGINE_TURN);
}

static void test_short_all_in_raise_accepted(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;
    /* A stack of 18 cannot make the 20 minimum; raise to 18 is accepted as an all-in. */
    setup(&s, 3, 0, 5, 10, 0);
    s.stack[0] = 18;
    s.stack[1] = s.stack[2] = 1000;
    start(&e, &s, &ev);
    expect_options(&e, 0, 10, false, true, 18, 18);
    refuse(&e, 0, ENGINE_RAISE, 17, ENGINE_E_RAISE_TOO_SMALL);
    act(&e, 0, ENGINE_RAISE, 18, &ev);
    assert_int_equal(ev.ev[0].action, ENGINE_RAISE);
    assert_true(ev.ev[0].all_in);
    assert_int_equal(ev.ev[0].to, 18);
    /* Incomplete (8 < 10): the minimum stays one big blind over it. */
    assert_int_equal(e.last_raise, 10);
    assert_int_equal(e.reopen_pending, 8);
    expect_options(&e, 1, 13, false, true, 28, 1000);

    /* Same with ALL_IN. */
    start(&e, &s, &ev);
    act(&e, 0, ENGINE_ALL_IN, 0, &ev);
    assert_int_equal(ev.ev[0].to, 18);
    assert_true(ev.ev[0].all_in);
}

static void test_incomplete_all_in_does_not_reopen(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;
    /* Seats: 0 button, 1 SB (45 in all), 2 BB, 3 UTG. */
    setup(&s, 4, 0, 5, 10, 0);
    s.stack[0] = s.stack[2] = s.stack[3] = 1000;
    s.stack[1] = 45;
    start(&e, &s, &ev);
    act(&e, 3, ENGINE_RAISE, 30, &ev); /* a raise of 20 */
    act(&e, 0, ENGINE_CALL, 0, &ev);
    act(&e, 1, ENGINE_ALL_IN, 0, &ev); /* to 45: a raise of 15 < 20, incomplete */
    assert_int_equal(ev.ev[0].action, ENGINE_RAISE);
    assert_int_equal(ev.ev[0].amount, 40);
    assert_true(ev.ev[0].all_in);
    /* The big blind has not acted yet: it may raise, by at least the last full raise (20). */
    expect_options(&e, 2, 35, false, true, 65, 1000);
    act(&e, 2, ENGINE_CALL, 0, &ev);
    /* UTG and the button already acted and face only 15 more: call or fold. */
    expect_options(&e, 3, 15, false, false, 0, 0);
    refuse(&e, 3, ENGINE_RAISE, 65, ENGINE_E_CANNOT_RAISE);
    refuse(&e, 3, ENGINE_ALL_IN, 0, ENGINE_E_CANNOT_RAISE);
    refuse(&e, 3, ENGINE_CHECK, 0, ENGINE_E_CANNOT_CHECK);
    act(&e, 3, ENGINE_CALL, 0, &ev);
    expect_options(&e, 0, 15, false, false, 0, 0);
    act(&e, 0, ENGINE_CALL, 0, &ev);
    assert_int_equal(e.street, ENGINE_FLOP);
    assert_int_equal(e.to_act, 2); /* first after the button still able to act */
    assert_int_equal(engine_pot_total(&e), 180);
}

static void test_two_incomplete_all_ins_reopen(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;
    /* Seats: 0 button (55), 1 SB, 2 BB, 3 UTG, 4 MP (42). Preflop order 3 4 0 1 2. */
    setup(&s, 5, 0, 5, 10, 0);
    s.stack[1] = s.stack[2] = s.stack[3] = 1000;
    s.stack[4] = 42;
    s.stack[0] = 55;
    start(&e, &s, &ev);
    act(&e, 3, ENGINE_RAISE, 30, &ev); /* full raise of 20 */
    act(&e, 4, ENGINE_ALL_IN, 0, &ev); /* to 42: +12, incomplete */
    act(&e, 0, ENGINE_ALL_IN, 0, &ev); /* to 55: +13, incomplete; 25 over UTG's 30 */
    assert_int_equal(e.reopen_pending, 25);
    act(&e, 1, ENGINE_FOLD, 0, &ev);
    expect_options(&e, 2, 45, false, true, 75, 1000);
    act(&e, 2, ENGINE_CALL, 0, &ev);
    /* Together the two all-ins make a full raise over what UTG matched: re-opened. */
    expect_options(&e, 3, 25, false, true, 75, 1000);
    act(&e, 3, ENGINE_RAISE, 75, &ev);
    expect_options(&e, 2, 20, false, true, 95, 1000);
    act(&e, 2, ENGINE_CALL, 0, &ev);
    assert_int_equal(e.street, ENGINE_FLOP);

    /* The same with the button's all-in only to 45 (15 over UTG's 30): not re-opened. */
    s.stack[0] = 45;
    start(&e, &s, &ev);
    act(&e, 3, ENGINE_RAISE, 30, &ev);
    act(&e, 4, ENGINE_ALL_IN, 0, &ev);
    act(&e, 0, ENGINE_ALL_IN, 0, &ev);
    act(&e, 1, ENGINE_FOLD, 0, &ev);
    act(&e, 2, ENGINE_CALL, 0, &ev);
    expect_options(&e, 3, 15, false, false, 0, 0);
    refuse(&e, 3, ENGINE_RAISE, 100, ENGINE_E_CANNOT_RAISE);
}

static void test_incomplete_opening_bet(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;
    setup(&s, 3, 0, 5, 10, 0);
    s.stack[0] = s.stack[1] = 1000;
    s.stack[2] = 15;
    start(&e, &s, &ev);
    act(&e, 0, ENGINE_CALL, 0, &ev);
    act(&e, 1, ENGINE_CALL, 0, &ev);
    act(&e, 2, ENGINE_CHECK, 0, &ev);
    /* Flop: SB checks, BB bets its last 5 (less than a big blind). */
    act(&e, 1, ENGINE_CHECK, 0, &ev);
    act(&e, 2, ENGINE_ALL_IN, 0, &ev);
    assert_int_equal(ev.ev[0].action, ENGINE_RAISE);
    assert_int_equal(ev.ev[0].to, 5);
    /* The button has not acted: it may raise to 5 + 10. */
    expect_options(&e, 0, 5, false, true, 15, 990);
    act(&e, 0, ENGINE_CALL, 0, &ev);
    /* The small blind checked and faces less than a full bet: call or fold only. */
    expect_options(&e, 1, 5, false, false, 0, 0);
    act(&e, 1, ENGINE_CALL, 0, &ev);
    assert_int_equal(e.street, ENGINE_TURN);
}

static void test_pointless_raise(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;
    /* Heads-up, the small blind shoves: the big blind can only call or fold. */
    setup(&s, 2, 0, 5, 10, 0);
    s.stack[0] = 1000;
    s.stack[1] = 2000;
    start(&e, &s, &ev);
    act(&e, 0, ENGINE_ALL_IN, 0, &ev);
    expect_options(&e, 1, 990, false, false, 0, 0);
    refuse(&e, 1, ENGINE_RAISE, 1500, ENGINE_E_CANNOT_RAISE);
    refuse(&e, 1, ENGINE_ALL_IN, 0, ENGINE_E_CANNOT_RAISE);
    refuse(&e, 1, ENGINE_RAISE, 2000, ENGINE_E_CANNOT_RAISE);
    act(&e, 1, ENGINE_CALL, 0, &ev);
    assert_true(engine_over(&e));
    assert_int_equal(chips_in_play(&e), 3000);

    /* UTG shoves 300; the button has chips but the others still to act have at most 300 in
     * all, so nobody could call a raise: call or fold. */
    setup(&s, 4, 0, 5, 10, 0);
    s.stack[0] = 1000;
    s.stack[1] = 250;
    s.stack[2] = 300;
    s.stack[3] = 300;
    start(&e, &s, &ev);
    act(&e, 3, ENGINE_ALL_IN, 0, &ev);
    expect_options(&e, 0, 300, false, false, 0, 0);
    act(&e, 0, ENGINE_CALL, 0, &ev);
    act(&e, 1, ENGINE_FOLD, 0, &ev);
    /* The big blind has exactly 300: its all-in is a call. */
    expect_options(&e, 2, 290, false, false, 0, 0);
    act(&e, 2, ENGINE_ALL_IN, 0, &ev);
    assert_int_equal(ev.ev[0].action, ENGINE_CALL);
    assert_true(engine_over(&e));
}

static void test_covered_player(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;
    setup(&s, 2, 0, 5, 10, 0);
    s.stack[0] = 1000;
    s.stack[1] = 300;
    hole(&s, 0, "Ah", "Kh");
    hole(&s, 1, "2c", "2d");
    board(&s, "3c 8d 9s Js Qc");
    start(&e, &s, &ev);
    act(&e, 0, ENGINE_RAISE, 500, &ev);
    /* 300 in all facing 500: covered, call (all-in, 290 more) or fold. */
    expect_options(&e, 1, 290, false, false, 0, 0);
    refuse(&e, 1, ENGINE_RAISE, 200, ENGINE_E_CANNOT_RAISE);
    refuse(&e, 1, ENGINE_RAISE, 301, ENGINE_E_ABOVE_STACK);
    /* RAISE to exactly the all-in total is taken as the all-in, here a call for less. */
    act(&e, 1, ENGINE_RAISE, 300, &ev);
    assert_int_equal(ev.ev[0].kind, ENGINE_EV_ACTION);
    assert_int_equal(ev.ev[0].action, ENGINE_CALL);
    assert_int_equal(ev.ev[0].amount, 290);
    assert_true(ev.ev[0].all_in);
    /* The 200 nobody could call goes back before the run-out. */
    assert_int_equal(ev.ev[1].kind, ENGINE_EV_UNCALLED);
    assert_int_equal(ev.ev[1].seat, 0);
    assert_int_equal(ev.ev[1].amount, 200);
    assert_true(engine_over(&e));
    assert_int_equal(e.npots, 1);
    assert_int_equal(e.pots[0].amount, 600);
    assert_int_equal(e.pots[0].winners, BIT(1));
    int64_t want[] = {700, 600};
    expect_stacks(&e, want, 2);
}

/* ---- pots and showdown ---- */

static void test_multiway_side_pots(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;
    /* Stacks 1000 (button), 100, 200, 300; everyone in: three all-ins and a caller. */
    setup(&s, 4, 0, 5, 10, 0);
    s.stack[0] = 1000;
    s.stack[1] = 100;
    s.stack[2] = 200;
    s.stack[3] = 300;
    hole(&s, 0, "Ah", "Qd");
    hole(&s, 1, "Kh", "Kd");
    hole(&s, 2, "Jh", "Jd");
    hole(&s, 3, "9c", "9d");
    board(&s, "2c 5d 9h Jc Ks");
    start(&e, &s, &ev);
    act(&e, 3, ENGINE_ALL_IN, 0, &ev);
    refuse(&e, 0, ENGINE_ALL_IN, 0, ENGINE_E_CANNOT_RAISE); /* nobody could call more */
    act(&e, 0, ENGINE_CALL, 0, &ev);
    act(&e, 1, ENGINE_ALL_IN, 0, &ev);
    act(&e, 2, ENGINE_ALL_IN, 0, &ev);
    assert_true(engine_over(&e));

    /* Events: the action, the hands shown (from the seat after the button), the run-out, the
     * pots, the end. */
    assert_int_equal(ev.ev[0].kind, ENGINE_EV_ACTION);
    int order[] = {1, 2, 3, 0};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ev.ev[1 + i].kind, ENGINE_EV_SHOW);
        assert_int_equal(ev.ev[1 + i].seat, order[i]);
        assert_int_equal(ev.ev[1 + i].rank, 0); /* no board yet */
    }
    assert_int_equal(ev.ev[5].kind, ENGINE_EV_STREET);
    assert_int_equal(ev.ev[5].ncards, 3);
    assert_int_equal(ev.ev[5].cards[0], C("2c"));
    assert_int_equal(ev.ev[6].street, ENGINE_TURN);
    assert_int_equal(ev.ev[6].cards[0], C("Jc"));
    assert_int_equal(ev.ev[7].street, ENGINE_RIVER);
    assert_int_equal(ev.ev[7].cards[0], C("Ks"));
    for (int i = 8; i < 11; i++)
        assert_int_equal(ev.ev[i].kind, ENGINE_EV_POT);
    assert_int_equal(ev.ev[11].kind, ENGINE_EV_HAND_END);
    assert_int_equal(ev.n, 12);

    /* Pots: 100 x 4, 100 x 3, 100 x 2. Kings, then jacks, then nines win them. */
    assert_int_equal(e.npots, 3);
    assert_int_equal(e.pots[0].amount, 400);
    assert_int_equal(e.pots[0].eligible, BIT(0) | BIT(1) | BIT(2) | BIT(3));
    assert_int_equal(e.pots[0].winners, BIT(1));
    assert_int_equal(e.pots[1].amount, 300);
    assert_int_equal(e.pots[1].eligible, BIT(0) | BIT(2) | BIT(3));
    assert_int_equal(e.pots[1].winners, BIT(2));
    assert_int_equal(e.pots[2].amount, 200);
    assert_int_equal(e.pots[2].eligible, BIT(0) | BIT(3));
    assert_int_equal(e.pots[2].winners, BIT(3));
    int64_t want[] = {700, 400, 300, 200};
    expect_stacks(&e, want, 4);
    assert_false(e.showdown_unknown);
}

static void test_folded_chips_and_pot_merge(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;
    struct engine_pot pots[ENGINE_MAX_POTS];
    /* UTG all-in 50, the button raises to 90 and later folds, SB and BB put in 200 each. The
     * button's 90 makes no pot of its own: pots are 50 x 4 = 200 {1,2,3} and
     * 40 + 150 + 150 = 340 {1,2}. */
    setup(&s, 4, 0, 5, 10, 0);
    s.stack[0] = s.stack[1] = s.stack[2] = 1000;
    s.stack[3] = 50;
    hole(&s, 0, "7c", "2d");
    hole(&s, 1, "Qh", "Qd");
    hole(&s, 2, "Th", "Td");
    hole(&s, 3, "Ah", "Ad");
    board(&s, "2c 5d 9h Jc Ks");
    start(&e, &s, &ev);
    act(&e, 3, ENGINE_ALL_IN, 0, &ev); /* +40 over the big blind: a full raise */
    expect_options(&e, 0, 50, false, true, 90, 1000);
    act(&e, 0, ENGINE_RAISE, 90, &ev);
    act(&e, 1, ENGINE_RAISE, 200, &ev);
    act(&e, 2, ENGINE_CALL, 0, &ev);
    act(&e, 0, ENGINE_FOLD, 0, &ev);
    assert_int_equal(e.street, ENGINE_FLOP);
    int n = engine_pots(&e, pots);
    assert_int_equal(n, 2);
    assert_int_equal(pots[0].amount, 200);
    assert_int_equal(pots[0].eligible, BIT(1) | BIT(2) | BIT(3));
    assert_int_equal(pots[1].amount, 340);
    assert_int_equal(pots[1].eligible, BIT(1) | BIT(2));
    assert_int_equal(engine_pot_total(&e), 540);
    for (int street = ENGINE_FLOP; street <= ENGINE_RIVER; street++) {
        act(&e, 1, ENGINE_CHECK, 0, &ev);
        act(&e, 2, ENGINE_CHECK, 0, &ev);
    }
    assert_true(engine_over(&e));
    /* No river bet: the seat after the button shows first (queens), tens are worse in both
     * pots and muck, the all-in aces always show. */
    assert_int_equal(ev.ev[1].kind, ENGINE_EV_SHOW);
    assert_int_equal(ev.ev[1].seat, 1);
    assert_int_equal(ev.ev[2].kind, ENGINE_EV_MUCK);
    assert_int_equal(ev.ev[2].seat, 2);
    assert_int_equal(ev.ev[3].kind, ENGINE_EV_SHOW);
    assert_int_equal(ev.ev[3].seat, 3);
    assert_int_equal(e.shown, BIT(1) | BIT(3));
    int64_t want[] = {910, 1140, 800, 200};
    expect_stacks(&e, want, 4);
}

static void test_odd_chips(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;
    /* Ante 2, UTG folds, three see a royal flush on the board: pot 4 x 2 + 3 x 10 = 38, 12
     * each and the whole remainder of 2 to the first winner left of the button (seat 1). */
    setup(&s, 4, 0, 5, 10, 2);
    for (int i = 0; i < 4; i++)
        s.stack[i] = 1000;
    hole(&s, 0, "2c", "3c");
    hole(&s, 1, "2d", "3d");
    hole(&s, 2, "2h", "3h");
    hole(&s, 3, "4c", "4d");
    board(&s, "As Ks Qs Js Ts");
    start(&e, &s, &ev);
    act(&e, 3, ENGINE_FOLD, 0, &ev);
    act(&e, 0, ENGINE_CALL, 0, &ev);
    act(&e, 1, ENGINE_CALL, 0, &ev);
    act(&e, 2, ENGINE_CHECK, 0, &ev);
    for (int street = ENGINE_FLOP; street <= ENGINE_RIVER; street++)
        for (int k = 0; k < 3; k++)
            act(&e, e.to_act, ENGINE_CHECK, 0, &ev);
    assert_true(engine_over(&e));
    assert_int_equal(e.npots, 1);
    assert_int_equal(e.pots[0].amount, 38);
    assert_int_equal(e.pots[0].winners, BIT(0) | BIT(1) | BIT(2));
    assert_int_equal(e.pots[0].share[1], 14);
    assert_int_equal(e.pots[0].share[2], 12);
    assert_int_equal(e.pots[0].share[0], 12);
    int p = find_kind(&ev, ENGINE_EV_POT, 0);
    assert_true(p >= 0);
    assert_int_equal(ev.ev[p].share[1], 14);
    int64_t want[] = {1000, 1002, 1000, 998};
    expect_stacks(&e, want, 4);

    /* The small blind folds after posting 5; the button and the big blind tie: 5 + 10 + 10 =
     * 25, 12 each and the odd chip to the big blind, the first winner left of the button. */
    setup(&s, 3, 0, 5, 10, 0);
    for (int i = 0; i < 3; i++)
        s.stack[i] = 1000;
    hole(&s, 0, "2c", "3c");
    hole(&s, 1, "2d", "3d");
    hole(&s, 2, "2h", "3h");
    board(&s, "As Ks Qs Js Ts");
    start(&e, &s, &ev);
    act(&e, 0, ENGINE_CALL, 0, &ev);
    act(&e, 1, ENGINE_FOLD, 0, &ev);
    act(&e, 2, ENGINE_CHECK, 0, &ev);
    for (int street = ENGINE_FLOP; street <= ENGINE_RIVER; street++) {
        act(&e, 2, ENGINE_CHECK, 0, &ev);
        act(&e, 0, ENGINE_CHECK, 0, &ev);
    }
    assert_int_equal(e.pots[0].amount, 25);
    assert_int_equal(e.pots[0].winners, BIT(0) | BIT(2));
    assert_int_equal(e.pots[0].share[2], 13);
    assert_int_equal(e.pots[0].share[0], 12);
    int64_t want3[] = {1002, 995, 1003};
    expect_stacks(&e, want3, 3);
}

static void test_live_pots(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;
    struct engine_pot pots[ENGINE_MAX_POTS];
    /* Heads-up, the button raises to 30 over the big blind's 10: one pot of 40 both can win
     * (the unmatched 20 is not a pot of its own while the big blind can still call it). */
    setup(&s, 2, 0, 5, 10, 0);
    s.stack[0] = s.stack[1] = 1000;
    start(&e, &s, &ev);
    act(&e, 0, ENGINE_RAISE, 30, &ev);
    assert_int_equal(engine_pots(&e, pots), 1);
    assert_int_equal(pots[0].amount, 40);
    assert_int_equal(pots[0].eligible, BIT(0) | BIT(1));

    /* Three-handed: the button is all-in for 50, the small blind calls; the big blind, still
     * to act, can win everything up to 50; nothing is above it yet. Then the big blind raises
     * to 200: the 150 above the all-in is a side pot for the blinds only. */
    setup(&s, 3, 0, 5, 10, 0);
    s.stack[0] = 50;
    s.stack[1] = s.stack[2] = 1000;
    start(&e, &s, &ev);
    act(&e, 0, ENGINE_ALL_IN, 0, &ev);
    act(&e, 1, ENGINE_CALL, 0, &ev);
    assert_int_equal(engine_pots(&e, pots), 1);
    assert_int_equal(pots[0].amount, 110);
    assert_int_equal(pots[0].eligible, BIT(0) | BIT(1) | BIT(2));
    act(&e, 2, ENGINE_RAISE, 200, &ev);
    assert_int_equal(engine_pots(&e, pots), 2);
    assert_int_equal(pots[0].amount, 150);
    assert_int_equal(pots[1].amount, 150);
    assert_int_equal(pots[1].eligible, BIT(1) | BIT(2));
    assert_int_equal(engine_pot_total(&e), 300);
}

static void test_uncalled_blind_returned(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;
    setup(&s, 3, 0, 5, 10, 0);
    s.stack[0] = s.stack[1] = s.stack[2] = 1000;
    start(&e, &s, &ev);
    act(&e, 0, ENGINE_FOLD, 0, &ev);
    act(&e, 1, ENGINE_FOLD, 0, &ev);
    /* Folded to the big blind: its 5 over the small blind is returned, it wins 10. */
    assert_true(engine_over(&e));
    assert_int_equal(ev.ev[1].kind, ENGINE_EV_UNCALLED);
    assert_int_equal(ev.ev[1].seat, 2);
    assert_int_equal(ev.ev[1].amount, 5);
    assert_int_equal(ev.ev[2].kind, ENGINE_EV_POT);
    assert_int_equal(ev.ev[2].amount, 10);
    int64_t want[] = {1000, 995, 1005};
    expect_stacks(&e, want, 3);
}

static void test_all_in_on_blinds_runs_out_at_start(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;
    setup(&s, 2, 0, 5, 10, 0);
    s.stack[0] = 5;
    s.stack[1] = 8;
    hole(&s, 0, "Ah", "Ad");
    hole(&s, 1, "Kh", "Kd");
    board(&s, "2c 5d 9h Jc 3s");
    start(&e, &s, &ev);
    assert_true(engine_over(&e));
    /* BLIND x2, DEAL_HOLE x2, UNCALLED 3, SHOW x2, STREET x3, POT, HAND_END. */
    int u = find_kind(&ev, ENGINE_EV_UNCALLED, 0);
    assert_int_equal(u, 4);
    assert_int_equal(ev.ev[u].seat, 1);
    assert_int_equal(ev.ev[u].amount, 3);
    assert_int_equal(ev.ev[5].kind, ENGINE_EV_SHOW);
    assert_int_equal(ev.ev[6].kind, ENGINE_EV_SHOW);
    assert_int_equal(count_kind(&ev, ENGINE_EV_STREET), 3);
    assert_true(find_kind(&ev, ENGINE_EV_STREET, 0) > 6);
    assert_int_equal(ev.ev[ev.n - 1].kind, ENGINE_EV_HAND_END);
    int64_t want[] = {10, 3};
    expect_stacks(&e, want, 2);
}

static void test_showdown_reveal_order(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct engine_events ev;
    setup(&s, 3, 0, 5, 10, 0);
    s.stack[0] = s.stack[1] = s.stack[2] = 1000;
    hole(&s, 0, "3h", "4d"); /* worst */
    hole(&s, 1, "Ah", "Ad"); /* best */
    hole(&s, 2, "Qh", "Qd");
    board(&s, "2c 7d 9h Jc Ks");
    start(&e, &s, &ev);
    act(&e, 0, ENGINE_CALL, 0, &ev);
    act(&e, 1, ENGINE_CALL, 0, &ev);
    act(&e, 2, ENGINE_CHECK, 0, &ev);
    for (int street = ENGINE_FLOP; street <= ENGINE_TURN; street++)
        for (int k = 0; k < 3; k++)
            act(&e, e.to_act, ENGINE_CHECK, 0, &ev);
    /* River: SB checks, BB bets, both call. The bettor shows first; the button's worse hand
     * is mucked; the small blind's better hand is shown. */
    act(&e, 1, ENGINE_CHECK, 0, &ev);
    act(&e, 2, ENGINE_RAISE, 50, &ev);
    act(&e, 0, ENGINE_CALL, 0, &ev);
    act(&e, 1, ENGINE_CALL, 0, &ev);
    assert_true(engine_over(&e));
    assert_int_equal(e.street, ENGINE_SHOWDOWN);
    assert_int_equal(ev.ev[1].kind, ENGINE_EV_SHOW);
    assert_int_equal(ev.ev[1].seat, 2);
    assert_int_equal(ev.ev[1].cards[0], C("Qh"));
    assert_true(ev.ev[1].rank > 0);
    assert_int_equal(eval_category(ev.ev[1].rank), EVAL_PAIR);
    assert_int_equal(ev.ev[2].kind, ENGINE_EV_MUCK);
    assert_int_equal(ev.ev[2].seat, 0);
    assert_int_equal(ev.ev[2].cards[0], 0); /* a muck carries no cards */
    assert_int_equal(ev.ev[3].kind, ENGINE_EV_SHOW);
    assert_int_equal(ev.ev[3].seat, 1);
    assert_true(ev.ev[3].rank > ev.ev[1].rank);
    assert_int_equal(ev.ev[4].kind, ENGINE_EV_POT);
    assert_int_equal(ev.ev[4].winners, BIT(1));
    assert_int_equal(e.shown, BIT(1) | BIT(2));
    int64_t want[] = {940, 1120, 940};
    expect_stacks(&e, want, 3);
}

static void test_bad_setup(void **state)
{
    (void)state;
    struct engine_setup s;
    struct engine e;
    struct felt_err err = {0};
    setup(&s, 3, 0, 5, 10, 0);
    s.stack[0] = 1000;
    assert_int_equal(engine_start(&e, &s, NULL, &err), -1);
    assert_string_equal(err.code, "bad_setup");

    s.stack[1] = 1000;
    hole(&s, 0, "Ah", "Kd");
    hole(&s, 1, "Ah", "2c");
    assert_int_equal(engine_start(&e, &s, NULL, &err), -1);
    hole(&s, 1, "Kh", "2c");
    s.board[4] = C("Kd");
    assert_int_equal(engine_start(&e, &s, NULL, &err), -1);
    s.board[4] = 60;
    assert_int_equal(engine_start(&e, &s, NULL, &err), -1);
    s.board[4] = CARD_NONE;
    assert_int_equal(engine_start(&e, &s, NULL, &err), 0);

    struct engine_setup bad = s;
    bad.small_blind = 20;
    assert_int_equal(engine_start(&e, &bad, NULL, &err), -1);
    bad = s;
    bad.big_blind = 0;
    bad.small_blind = 0;
    assert_int_equal(engine_start(&e, &bad, NULL, &err), -1);
    bad = s;
    bad.nseats = ENGINE_MAX_SEATS + 1;
    assert_int_equal(engine_start(&e, &bad, NULL, &err), -1);
    bad = s;
    bad.button = 3;
    assert_int_equal(engine_start(&e, &bad, NULL, &err), -1);
    bad = s;
    bad.stack[2] = ENGINE_CHIPS_MAX + 1;
    assert_int_equal(engine_start(&e, &bad, NULL, &err), -1);
    bad = s;
    bad.ante = -1;
    assert_int_equal(engine_start(&e, &bad, NULL, &err), -1);
    /* Cards of a seat that is not dealt in are ignored. */
    bad = s;
    bad.hole[2][0] = C("Ah");
    assert_int_equal(engine_start(&e, &bad, NULL, &err), 0);
}

static void test_names_and_next_button(void **state)
{
    (void)state;
    enum engine_action a;
    const char *codes[] = {"not_your_turn", "raise_too_small", "amount_above_stack",
                           "cannot_check",  "unknown_action",  "hand_over",
                           "cannot_raise",  "bad_amount"};
    for (int i = 0; i < 8; i++) {
        assert_string_equal(engine_status_code((enum engine_status)(i + 1)), codes[i]);
        assert_true(strlen(engine_status_message((enum engine_status)(i + 1))) > 5);
    }
    for (int i = ENGINE_FOLD; i <= ENGINE_ALL_IN; i++) {
        assert_int_equal(engine_action_parse(engine_action_name((enum engine_action)i), &a), 0);
        assert_int_equal(a, i);
    }
    assert_int_equal(engine_action_parse("bet", &a), -1);
    assert_string_equal(engine_street_name(ENGINE_TURN), "turn");

    int64_t stacks[4] = {0, 5, 0, 7};
    assert_int_equal(engine_next_button(4, 1, stacks), 3);
    assert_int_equal(engine_next_button(4, 3, stacks), 1);
    assert_int_equal(engine_next_button(4, 0, stacks), 1);
    int64_t none[4] = {0};
    assert_int_equal(engine_next_button(4, 0, none), -1);
}

/* ---- property test ---- */

static int64_t pick(struct rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)rng_bounded(r, (uint64_t)(hi - lo + 1));
}

/* Every event batch: bounded, stacks and pots consistent with the events' own amounts. */
static void check_events(const struct engine_events *ev)
{
    assert_true(ev->n <= ENGINE_EVENTS_PER_CALL);
    for (int i = 0; i < ev->n; i++) {
        const struct engine_event *x = &ev->ev[i];
        if (x->kind != ENGINE_EV_POT) continue;
        int64_t sum = 0;
        for (int s = 0; s < ENGINE_MAX_SEATS; s++) {
            assert_true(x->share[s] >= 0);
            assert_true(x->share[s] == 0 || (x->winners >> s & 1));
            sum += x->share[s];
        }
        assert_int_equal(sum, x->amount);
    }
}

static void check_options(const struct engine *e)
{
    struct engine_options o;
    engine_options(e, &o);
    if (e->over) {
        assert_int_equal(o.seat, -1);
        return;
    }
    assert_true(o.seat >= 0 && o.seat < e->nseats);
    const struct engine_player *p = &e->p[o.seat];
    assert_true(p->dealt && !p->folded && !p->all_in && p->stack > 0);
    assert_true(o.call >= 0 && o.call <= p->stack);
    assert_int_equal(o.can_check, o.call == 0);
    if (o.can_raise) {
        assert_int_equal(o.max_raise_to, p->bet + p->stack);
        assert_true(o.min_raise_to > e->bet_to);
        assert_true(o.min_raise_to <= o.max_raise_to);
        assert_true(o.min_raise_to == o.max_raise_to || o.min_raise_to - e->bet_to >= e->big_blind);
    }
}

/* Independent check of the awards: each pot goes to the eligible hands of the best 7-card rank,
 * split evenly, the remainder whole to the first of them left of the button; without a
 * showdown, the one player left takes everything in one pot. */
static void check_awards(const struct engine *e)
{
    if (e->street != ENGINE_SHOWDOWN) {
        /* (No pot at all when only an uncalled blind was in: a small blind of 0.) */
        assert_int_equal(e->npots, engine_pot_total(e) > 0 ? 1 : 0);
        if (e->npots) assert_int_equal(__builtin_popcount(e->pots[0].winners), 1);
        return;
    }
    uint16_t rank[ENGINE_MAX_SEATS] = {0};
    for (int i = 0; i < e->nseats; i++) {
        if (!e->p[i].dealt || e->p[i].folded) continue;
        card_t c[7] = {e->p[i].hole[0], e->p[i].hole[1]};
        memcpy(c + 2, e->board, 5);
        rank[i] = eval_7(c);
    }
    for (int k = 0; k < e->npots; k++) {
        const struct engine_pot *pot = &e->pots[k];
        uint16_t best = 0, winners = 0;
        for (int i = 0; i < e->nseats; i++)
            if ((pot->eligible >> i & 1) && rank[i] > best) best = rank[i];
        for (int i = 0; i < e->nseats; i++)
            if ((pot->eligible >> i & 1) && rank[i] == best) winners |= (uint16_t)(1u << i);
        assert_int_equal(pot->winners, winners);
        int n = __builtin_popcount(winners);
        bool first = true;
        for (int j = 1; j <= e->nseats; j++) {
            int sseat = (e->button + j) % e->nseats;
            if (!(winners >> sseat & 1)) continue;
            assert_int_equal(pot->share[sseat], pot->amount / n + (first ? pot->amount % n : 0));
            first = false;
        }
    }
}

static void test_random_hands(void **state)
{
    (void)state;
    struct rng r;
    rng_init_seeded(&r, 20240601);
    int hands = 20000, showdowns = 0, runouts = 0, multi_pot = 0, refused = 0, mucks = 0;
    for (int h = 0; h < hands; h++) {
        struct engine_setup s;
        struct engine e;
        struct engine_events ev;
        card_t deck[CARD_COUNT];
        int nseats = (int)pick(&r, 2, ENGINE_MAX_SEATS);
        int64_t bb = pick(&r, 1, 50);
        setup(&s, nseats, (int)pick(&r, 0, nseats - 1), pick(&r, 0, bb), bb,
              rng_bounded(&r, 3) == 0 ? pick(&r, 1, bb) : 0);
        rng_deck(&r, deck);
        int64_t total = 0, dealt = 0;
        for (int i = 0; i < nseats; i++) {
            switch (rng_bounded(&r, 5)) {
            case 0:
                s.stack[i] = 0; /* empty seat */
                break;
            case 1:
                s.stack[i] = pick(&r, 1, 2 * bb); /* short: all-in on blinds and antes */
                break;
            default:
                s.stack[i] = pick(&r, 1, 200 * bb);
            }
            total += s.stack[i];
            dealt += s.stack[i] > 0;
            s.hole[i][0] = deck[2 * i];
            s.hole[i][1] = deck[2 * i + 1];
        }
        if (dealt < 2) {
            s.stack[0] = s.stack[1] = 10 * bb;
            total = 0;
            for (int i = 0; i < nseats; i++)
                total += s.stack[i];
        }
        memcpy(s.board, &deck[2 * ENGINE_MAX_SEATS], 5);
        start(&e, &s, &ev);
        check_events(&ev);
        bool runout = false;
        for (int steps = 0; !engine_over(&e); steps++) {
            assert_true(steps < 1000);
            assert_int_equal(chips_in_play(&e), total);
            int64_t behind = 0;
            for (int i = 0; i < nseats; i++)
                behind += e.p[i].stack;
            assert_int_equal(behind + engine_pot_total(&e), total);
            struct engine_pot live[ENGINE_MAX_POTS];
            int nlive = engine_pots(&e, live);
            int64_t in_pots = 0;
            for (int k = 0; k < nlive; k++) {
                assert_true(live[k].amount > 0 && live[k].eligible != 0);
                in_pots += live[k].amount;
            }
            assert_int_equal(in_pots, engine_pot_total(&e));
            check_options(&e);
            struct engine_options o;
            engine_options(&e, &o);
            /* Now and then an illegal action, which must change nothing. */
            if (rng_bounded(&r, 8) == 0) {
                int other = (o.seat + 1 + (int)rng_bounded(&r, (uint64_t)nseats - 1)) % nseats;
                refuse(&e, other, ENGINE_FOLD, 0, ENGINE_E_NOT_YOUR_TURN);
                if (!o.can_check) refuse(&e, o.seat, ENGINE_CHECK, 0, ENGINE_E_CANNOT_CHECK);
                int64_t all_in_to = e.p[o.seat].bet + e.p[o.seat].stack;
                int64_t want_to = e.bet_to + e.last_raise;
                if (!o.can_raise && o.call < e.p[o.seat].stack)
                    refuse(&e, o.seat, ENGINE_RAISE, want_to < all_in_to ? want_to : all_in_to,
                           ENGINE_E_CANNOT_RAISE);
                if (o.can_raise && o.min_raise_to < o.max_raise_to && o.min_raise_to > 1)
                    refuse(&e, o.seat, ENGINE_RAISE, o.min_raise_to - 1, ENGINE_E_RAISE_TOO_SMALL);
                refuse(&e, o.seat, ENGINE_RAISE, all_in_to + 1, ENGINE_E_ABOVE_STACK);
                refused++;
            }
            enum engine_action a;
            int64_t amount = 0;
            switch (rng_bounded(&r, 20)) {
            case 0:
            case 1:
                a = ENGINE_FOLD;
                break;
            case 2:
                a = o.can_raise ? ENGINE_ALL_IN : ENGINE_CALL;
                break;
            case 3:
            case 4:
            case 5:
            case 6:
                if (o.can_raise) {
                    a = ENGINE_RAISE;
                    amount = pick(&r, o.min_raise_to, o.max_raise_to);
                    break;
                }
                /* fall through */
            default:
                a = o.can_check ? ENGINE_CHECK : ENGINE_CALL;
            }
            int64_t before = e.p[o.seat].stack;
            act(&e, o.seat, a, amount, &ev);
            check_events(&ev);
            mucks += count_kind(&ev, ENGINE_EV_MUCK);
            if (count_kind(&ev, ENGINE_EV_SHOW) > 0 &&
                find_kind(&ev, ENGINE_EV_STREET, 0) > find_kind(&ev, ENGINE_EV_SHOW, 0))
                runout = true;
            int i = find_kind(&ev, ENGINE_EV_ACTION, 0);
            assert_int_equal(i, 0);
            assert_int_equal(ev.ev[i].seat, o.seat);
            if (a == ENGINE_RAISE || a == ENGINE_ALL_IN)
                assert_int_equal(ev.ev[i].action, ENGINE_RAISE);
            if (!engine_over(&e)) assert_true(e.p[o.seat].stack <= before);
        }
        int64_t sum = 0;
        for (int i = 0; i < ENGINE_MAX_SEATS; i++) {
            assert_true(e.p[i].stack >= 0);
            sum += e.p[i].stack;
        }
        assert_int_equal(sum, total);
        int64_t pots = 0;
        for (int k = 0; k < e.npots; k++) {
            pots += e.pots[k].amount;
            assert_true(e.pots[k].winners != 0);
            assert_int_equal(e.pots[k].winners & ~e.pots[k].eligible, 0);
            if (k > 0) assert_int_not_equal(e.pots[k].eligible, e.pots[k - 1].eligible);
        }
        assert_int_equal(pots, engine_pot_total(&e));
        assert_false(e.showdown_unknown);
        check_awards(&e);
        showdowns += e.street == ENGINE_SHOWDOWN;
        runouts += runout;
        multi_pot += e.npots > 1;
    }
    print_message("%d hands: %d showdowns, %d all-in run-outs, %d with side pots, %d with "
                  "refused actions, %d mucks\n",
                  hands, showdowns, runouts, multi_pot, refused, mucks);
    /* The generator must actually reach the interesting cases. */
    assert_true(showdowns > hands / 20);
    assert_true(runouts > hands / 20);
    assert_true(multi_pot > hands / 50);
    assert_true(refused > hands / 10);
    assert_true(mucks > hands / 50);
}

int main(void)
{
    eval_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_handed_order),
        cmocka_unit_test(test_heads_up_order),
        cmocka_unit_test(test_dead_button),
        cmocka_unit_test(test_short_blinds),
        cmocka_unit_test(test_ante_all_in),
        cmocka_unit_test(test_min_raise_and_errors),
        cmocka_unit_test(test_short_all_in_raise_accepted),
        cmocka_unit_test(test_incomplete_all_in_does_not_reopen),
        cmocka_unit_test(test_two_incomplete_all_ins_reopen),
        cmocka_unit_test(test_incomplete_opening_bet),
        cmocka_unit_test(test_pointless_raise),
        cmocka_unit_test(test_covered_player),
        cmocka_unit_test(test_multiway_side_pots),
        cmocka_unit_test(test_folded_chips_and_pot_merge),
        cmocka_unit_test(test_odd_chips),
        cmocka_unit_test(test_live_pots),
        cmocka_unit_test(test_uncalled_blind_returned),
        cmocka_unit_test(test_all_in_on_blinds_runs_out_at_start),
        cmocka_unit_test(test_showdown_reveal_order),
        cmocka_unit_test(test_bad_setup),
        cmocka_unit_test(test_names_and_next_button),
        cmocka_unit_test(test_random_hands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
