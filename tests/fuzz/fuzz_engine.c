/*
 * fuzz_engine.c: libFuzzer target for the rules engine (common/engine.c) driven by arbitrary
 * action sequences, legal and illegal, over one or more hands.
 *
 * Input layout (every read past the end yields zeros, so any byte string is a valid input):
 *   flags u8        bit 0: raw setup (unclamped values, to test engine_start's validation);
 *                   bit 1: antes; bit 2: no board cards (showdowns with unknown cards);
 *                   bit 3: after the seed, a card slot and a value overwrite one card of the
 *                   first hand (a duplicate, an invalid value or CARD_NONE)
 *   nseats, button  one byte each
 *   big blind, small blind, ante (bit 1), then one stack per seat: an amount is a class byte
 *                   choosing u8/u16/u32/u64 followed by that many bytes, and each stack is
 *                   preceded by a byte whose value % 4 == 0 means an empty seat (raw setup: each
 *                   value is a class byte and its bytes, possibly negative or out of range)
 *   seed u64        for rng_init_seeded(): the cards of every hand come from its shuffles
 *   then triples    seat byte (bit 7 clear: the seat to act; set: any seat -2..11),
 *                   action byte (% 7: fold, check, call, raise, all_in, or two invalid values),
 *                   amount mode byte (min/max raise, off by one, zero, negative, extremes, ...)
 * When a hand ends and input is left, the next hand starts with the final stacks and the
 * button moved by engine_next_button().
 *
 * After every call it checks, and abort()s on a violation: chip conservation (sum of stack +
 * committed constant during a hand, sum of stacks at its end, pots summing to what was
 * committed, shares to each pot's amount); that the events describe every chip movement (a
 * mirror of each stack kept only from ANTE/BLIND/ACTION/UNCALLED/POT events equals the engine's);
 * that every accepted action was legal by the engine_options() taken just before (the seat to
 * act; check only when can_check; a call moves exactly options.call; a raise lands within
 * [min_raise_to, max_raise_to], or is an all-in for no more than the bet, i.e. a call); that a
 * refused action changed nothing (memcmp of struct engine) and emitted nothing; that a hand not
 * over always has someone to act; and that no call appends more than ENGINE_EVENTS_PER_CALL.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "rng.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_engine: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_HANDS 8

struct reader {
    const uint8_t *p;
    size_t n;
};

static uint8_t rd_u8(struct reader *r)
{
    if (r->n == 0) return 0;
    r->n--;
    return *r->p++;
}

static uint64_t rd_bytes(struct reader *r, int nbytes)
{
    uint64_t v = 0;
    for (int i = 0; i < nbytes; i++)
        v = v << 8 | rd_u8(r);
    return v;
}

/* An amount in 0..max: a class byte picks its width so small and huge values are both cheap
 * for the fuzzer to reach. */
static int64_t rd_amount(struct reader *r, int64_t max)
{
    static const int width[4] = {1, 2, 4, 8};
    uint64_t v = rd_bytes(r, width[rd_u8(r) % 4]);
    return (int64_t)(v % ((uint64_t)max + 1));
}

/* A raw value for the unclamped setup: around the valid range and beyond it on both sides. */
static int64_t rd_raw(struct reader *r)
{
    switch (rd_u8(r) % 6) {
    case 0:
        return -(int64_t)rd_u8(r);
    case 1:
        return rd_u8(r);
    case 2:
        return (int64_t)rd_bytes(r, 4);
    case 3:
        return ENGINE_CHIPS_MAX - 1 + rd_u8(r) % 3;
    case 4:
        return INT64_MIN + rd_u8(r);
    default:
        return (int64_t)rd_bytes(r, 8);
    }
}

/* What engine_start must accept, from engine.h's rules. */
static bool setup_valid(const struct engine_setup *s)
{
    bool used[CARD_COUNT] = {false};
    if (s->nseats < 2 || s->nseats > ENGINE_MAX_SEATS) return false;
    if (s->button < 0 || s->button >= s->nseats) return false;
    if (s->big_blind < 1 || s->big_blind > ENGINE_CHIPS_MAX) return false;
    if (s->small_blind < 0 || s->small_blind > s->big_blind) return false;
    if (s->ante < 0 || s->ante > ENGINE_CHIPS_MAX) return false;
    int dealt = 0;
    for (int i = 0; i <= s->nseats; i++) {
        /* The hole cards of the seats dealt in, then the board: known cards valid and distinct. */
        const card_t *c = i < s->nseats ? s->hole[i] : s->board;
        int n = i < s->nseats ? 2 : 5;
        if (i < s->nseats) {
            if (s->stack[i] < 0 || s->stack[i] > ENGINE_CHIPS_MAX) return false;
            if (s->stack[i] == 0) continue;
            dealt++;
        }
        for (int k = 0; k < n; k++) {
            if (c[k] == CARD_NONE) continue;
            if (!card_valid(c[k]) || used[c[k]]) return false;
            used[c[k]] = true;
        }
    }
    return dealt >= 2;
}

/* Deals a fresh shuffle: two hole cards per seat, then the board (or no board). */
static void deal(struct rng *rng, struct engine_setup *s, bool no_board)
{
    card_t deck[CARD_COUNT];
    int k = 0;
    rng_deck(rng, deck);
    for (int i = 0; i < ENGINE_MAX_SEATS; i++) {
        s->hole[i][0] = deck[k++];
        s->hole[i][1] = deck[k++];
    }
    for (int i = 0; i < 5; i++)
        s->board[i] = no_board ? CARD_NONE : deck[k++];
}

/* The state checked after every call. */
struct tracker {
    int64_t total;                    /* chips at the table */
    int64_t mirror[ENGINE_MAX_SEATS]; /* each stack as the events tell it */
};

/* Applies the chip movements the events describe to the mirror. */
static void track_events(struct tracker *t, const struct engine_events *ev)
{
    CHECK(ev->n >= 0 && ev->n <= ENGINE_EVENTS_PER_CALL);
    for (int i = 0; i < ev->n; i++) {
        const struct engine_event *x = &ev->ev[i];
        switch (x->kind) {
        case ENGINE_EV_ANTE:
        case ENGINE_EV_BLIND:
        case ENGINE_EV_ACTION:
            CHECK(x->seat >= 0 && x->seat < ENGINE_MAX_SEATS && x->amount >= 0);
            t->mirror[x->seat] -= x->amount;
            break;
        case ENGINE_EV_UNCALLED:
            CHECK(x->seat >= 0 && x->seat < ENGINE_MAX_SEATS && x->amount > 0);
            t->mirror[x->seat] += x->amount;
            break;
        case ENGINE_EV_POT: {
            int64_t sum = 0;
            for (int s = 0; s < ENGINE_MAX_SEATS; s++) {
                CHECK(x->share[s] >= 0);
                CHECK(x->share[s] == 0 || (x->winners >> s & 1));
                t->mirror[s] += x->share[s];
                sum += x->share[s];
            }
            CHECK(sum == x->amount);
            break;
        }
        default:
            break;
        }
    }
}

static void check_invariants(const struct engine *e, const struct tracker *t)
{
    struct engine_pot pots[ENGINE_MAX_POTS];
    struct engine_options o;
    int64_t sum = 0, committed = 0, potsum = 0;

    for (int i = 0; i < ENGINE_MAX_SEATS; i++) {
        const struct engine_player *p = &e->p[i];
        CHECK(p->stack >= 0 && p->bet >= 0 && p->committed >= 0);
        CHECK(p->stack == t->mirror[i]);
        if (!p->dealt) {
            CHECK(p->committed == 0);
            continue;
        }
        sum += p->stack + (e->over ? 0 : p->committed);
        committed += p->committed;
    }
    CHECK(sum == t->total);

    int npots = engine_pots(e, pots);
    CHECK(npots >= 0 && npots <= ENGINE_MAX_POTS);
    for (int k = 0; k < npots; k++) {
        CHECK(pots[k].amount > 0 && pots[k].eligible != 0);
        potsum += pots[k].amount;
        if (e->over) {
            int64_t shares = 0;
            CHECK(pots[k].winners != 0 && (pots[k].winners & ~pots[k].eligible) == 0);
            for (int s = 0; s < ENGINE_MAX_SEATS; s++)
                shares += pots[k].share[s];
            CHECK(shares == pots[k].amount);
        }
    }
    CHECK(potsum == committed);

    engine_options(e, &o);
    if (e->over) {
        CHECK(o.seat == -1);
        return;
    }
    /* A hand in progress always waits for someone who can act. */
    CHECK(o.seat >= 0 && o.seat < e->nseats);
    const struct engine_player *p = &e->p[o.seat];
    CHECK(p->dealt && !p->folded && !p->all_in && p->stack > 0);
    CHECK(o.call >= 0 && o.call <= p->stack);
    CHECK(o.can_check == (p->bet >= e->bet_to));
    if (o.can_raise) {
        CHECK(o.max_raise_to == p->bet + p->stack);
        CHECK(o.min_raise_to > e->bet_to && o.min_raise_to <= o.max_raise_to);
    }
}

/* The amount the fuzzer asks for, relative to what is legal now. */
static int64_t pick_amount(struct reader *r, const struct engine *e, const struct engine_options *o)
{
    int64_t all_in = 0;
    if (o->seat >= 0) all_in = e->p[o->seat].bet + e->p[o->seat].stack;
    switch (rd_u8(r) % 12) {
    case 0:
        return o->min_raise_to;
    case 1:
        return o->max_raise_to;
    case 2:
        return o->min_raise_to - 1;
    case 3:
        return o->max_raise_to + 1;
    case 4:
        return all_in;
    case 5:
        return e->bet_to;
    case 6:
        return 0;
    case 7:
        return -(int64_t)rd_u8(r);
    case 8:
        return INT64_MAX - rd_u8(r);
    case 9:
        return INT64_MIN + rd_u8(r);
    case 10:
        return o->min_raise_to + rd_amount(r, ENGINE_CHIPS_MAX);
    default:
        return rd_amount(r, ENGINE_CHIPS_MAX);
    }
}

/* Checks that an accepted action was legal by the options taken just before it. */
static void check_accepted(const struct engine *before, const struct engine_options *o, int seat,
                           enum engine_action a, int64_t amount, const struct engine_events *ev)
{
    CHECK(!before->over && o->seat >= 0 && seat == o->seat);
    CHECK(ev->n >= 1 && ev->ev[0].kind == ENGINE_EV_ACTION && ev->ev[0].seat == seat);
    const struct engine_player *p = &before->p[seat];
    const struct engine_event *x = &ev->ev[0];
    int64_t all_in = p->bet + p->stack;

    CHECK(x->amount >= 0 && x->amount <= p->stack);
    CHECK(x->to == p->bet + x->amount);
    CHECK(x->all_in == (x->amount == p->stack));
    switch (x->action) {
    case ENGINE_FOLD:
        CHECK(a == ENGINE_FOLD && x->amount == 0);
        break;
    case ENGINE_CHECK:
        CHECK(a == ENGINE_CHECK || a == ENGINE_CALL);
        CHECK(o->can_check && x->amount == 0);
        break;
    case ENGINE_CALL:
        /* A call, or an all-in (by raise to the all-in total or all_in) for no more than the
         * bet, which is a call. */
        CHECK(a == ENGINE_CALL || (a == ENGINE_RAISE && amount == all_in) || a == ENGINE_ALL_IN);
        CHECK(a == ENGINE_CALL || all_in <= before->bet_to);
        CHECK(!o->can_check && x->amount == o->call);
        break;
    case ENGINE_RAISE:
        CHECK(a == ENGINE_RAISE || a == ENGINE_ALL_IN);
        CHECK(o->can_raise);
        CHECK(x->to > before->bet_to);
        CHECK(x->to >= o->min_raise_to && x->to <= o->max_raise_to);
        CHECK(a == ENGINE_RAISE ? x->to == amount : x->to == o->max_raise_to);
        break;
    default:
        CHECK(!"an ACTION event carries ALL_IN or an unknown action");
    }
}

enum hand_end { HAND_REFUSED, HAND_UNFINISHED, HAND_OVER };

/* Plays one hand from the reader. When it ends, final[] holds the stacks it ended with. */
static enum hand_end play_hand(struct reader *r, const struct engine_setup *s, bool expect_valid,
                               int64_t final[ENGINE_MAX_SEATS])
{
    static struct engine e, before; /* static: kept off the fuzzer's stack */
    static struct engine_events ev;
    static const enum engine_action actions[7] = {
        ENGINE_FOLD,           ENGINE_CHECK,           ENGINE_CALL, ENGINE_RAISE, ENGINE_ALL_IN,
        (enum engine_action)5, (enum engine_action)99,
    };
    struct tracker t = {0};
    struct felt_err err = {0};

    ev.n = 0;
    int rc = engine_start(&e, s, &ev, &err);
    CHECK((rc == 0) == expect_valid);
    if (rc < 0) {
        CHECK(err.code && strcmp(err.code, "bad_setup") == 0 && ev.n == 0);
        return HAND_REFUSED;
    }
    /* A valid setup: nseats and every stack are in range, so the sums cannot overflow. */
    for (int i = 0; i < s->nseats; i++) {
        t.mirror[i] = s->stack[i];
        t.total += s->stack[i];
    }
    track_events(&t, &ev);
    check_invariants(&e, &t);

    /* Triples until the input runs out. After the hand is over, an action byte with bit 7 set
     * keeps acting on it (every such action must be refused); otherwise the next hand starts. */
    while (r->n >= 3) {
        struct engine_options o;
        engine_options(&e, &o);
        uint8_t sb = rd_u8(r), ab = rd_u8(r);
        int seat = (sb & 0x80) ? (int)(sb & 0x7F) % (ENGINE_MAX_SEATS + 4) - 2
                               : (o.seat >= 0 ? o.seat : 0);
        enum engine_action a = actions[ab % 7];
        int64_t amount = pick_amount(r, &e, &o);

        memcpy(&before, &e, sizeof(e));
        ev.n = 0;
        enum engine_status st = engine_act(&e, seat, a, amount, &ev);
        if (st == ENGINE_OK) {
            check_accepted(&before, &o, seat, a, amount, &ev);
        } else {
            CHECK(memcmp(&before, &e, sizeof(e)) == 0);
            CHECK(ev.n == 0);
            CHECK(!before.over || st == ENGINE_E_HAND_OVER);
            CHECK(before.over || seat == o.seat || st == ENGINE_E_NOT_YOUR_TURN);
        }
        track_events(&t, &ev);
        check_invariants(&e, &t);
        if (e.over && !(ab & 0x80)) break;
    }
    if (!e.over) return HAND_UNFINISHED;
    for (int i = 0; i < ENGINE_MAX_SEATS; i++)
        final[i] = e.p[i].stack;
    return HAND_OVER;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reader r = {data, size};
    struct engine_setup s;
    struct rng rng;
    int64_t final[ENGINE_MAX_SEATS];
    uint8_t flags = rd_u8(&r);

    memset(&s, 0, sizeof(s));
    if (flags & 1) {
        s.nseats = (int)(rd_u8(&r) % 13) - 1;
        s.button = (int)(int8_t)rd_u8(&r);
        s.big_blind = rd_raw(&r);
        s.small_blind = rd_raw(&r);
        s.ante = (flags & 2) ? rd_raw(&r) : 0;
        for (int i = 0; i < ENGINE_MAX_SEATS; i++)
            s.stack[i] = i < s.nseats ? rd_raw(&r) : 0;
    } else {
        s.nseats = 2 + rd_u8(&r) % (ENGINE_MAX_SEATS - 1);
        s.button = rd_u8(&r) % s.nseats;
        s.big_blind = 1 + rd_amount(&r, ENGINE_CHIPS_MAX - 1);
        s.small_blind = rd_amount(&r, s.big_blind);
        s.ante = (flags & 2) ? rd_amount(&r, ENGINE_CHIPS_MAX) : 0;
        for (int i = 0; i < s.nseats; i++)
            s.stack[i] = rd_u8(&r) % 4 == 0 ? 0 : rd_amount(&r, ENGINE_CHIPS_MAX);
    }
    rng_init_seeded(&rng, rd_bytes(&r, 8));
    uint8_t slot = 0, value = 0;
    if (flags & 8) {
        slot = rd_u8(&r) % (2 * ENGINE_MAX_SEATS + 5);
        value = rd_u8(&r);
    }

    for (int hand = 0; hand < MAX_HANDS; hand++) {
        deal(&rng, &s, flags & 4);
        if ((flags & 8) && hand == 0) {
            card_t *c = slot < 2 * ENGINE_MAX_SEATS ? &s.hole[slot / 2][slot % 2]
                                                    : &s.board[slot - 2 * ENGINE_MAX_SEATS];
            *c = value;
        }
        if (play_hand(&r, &s, setup_valid(&s), final) != HAND_OVER || r.n < 3) break;
        for (int i = 0; i < s.nseats; i++)
            s.stack[i] = final[i];
        /* Chips are conserved, so some seat still has them. */
        int b = engine_next_button(s.nseats, s.button, s.stack);
        CHECK(b >= 0 && b < s.nseats && s.stack[b] > 0);
        s.button = b;
    }
    return 0;
}
