/*
 * randhand.h: random hands for the unit tests of hand records and their exports (test_handrec.c,
 * test_pokerstars.c): a random table (blinds, maybe an ante, a button, stacks from none to deep,
 * a shuffled deck's hole cards and board) and random legal actions, so that both tests play the
 * same kind of hands from one piece of code. Header-only: each test is one file.
 *
 * Stacks: a seat is empty `empty` times in four, short (at most three big blinds: all-ins for
 * less, short blinds) `shorts` times in four, deep otherwise; the last two seats are always
 * dealt in, deep. Names are "p0", "p 1", "p2", ... (odd seats with a space: names need not be
 * words).
 */
#ifndef FELT_TEST_RANDHAND_H
#define FELT_TEST_RANDHAND_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "rng.h"

#define RANDHAND_NAME_MAX 8

/* A number in lo..hi. */
static inline int64_t randhand_pick(struct rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)rng_bounded(r, (uint64_t)(hi - lo + 1));
}

/* A random table into s (empty + shorts at most 4: more empty seats, more hands won uncontested;
 * more short stacks, more all-ins), the seats' names into namebuf and names (one for every seat).
 * Returns the chips on the table. */
static inline int64_t randhand_setup(struct rng *r, struct engine_setup *s, unsigned empty,
                                     unsigned shorts,
                                     char namebuf[ENGINE_MAX_SEATS][RANDHAND_NAME_MAX],
                                     const char *names[ENGINE_MAX_SEATS])
{
    card_t deck[CARD_COUNT];
    int64_t total = 0;
    memset(s, 0, sizeof(*s));
    s->nseats = ENGINE_MAX_SEATS;
    s->big_blind = randhand_pick(r, 2, 100);
    s->small_blind = randhand_pick(r, 1, s->big_blind);
    s->ante = rng_bounded(r, 2) ? randhand_pick(r, 1, s->big_blind / 2 + 1) : 0;
    s->button = (int)randhand_pick(r, 0, ENGINE_MAX_SEATS - 1);
    rng_deck(r, deck);
    for (int i = 0; i < ENGINE_MAX_SEATS; i++) {
        uint64_t kind = rng_bounded(r, 4);
        s->stack[i] = kind < empty            ? 0
                      : kind < empty + shorts ? randhand_pick(r, 1, 3 * s->big_blind)
                                              : randhand_pick(r, 1, 100 * s->big_blind);
        if (i >= ENGINE_MAX_SEATS - 2) s->stack[i] = randhand_pick(r, 1, 100 * s->big_blind);
        total += s->stack[i];
        s->hole[i][0] = deck[2 * i];
        s->hole[i][1] = deck[2 * i + 1];
        snprintf(namebuf[i], RANDHAND_NAME_MAX, i % 2 ? "p %d" : "p%d", i);
        names[i] = namebuf[i];
    }
    memcpy(s->board, deck + 2 * ENGINE_MAX_SEATS, 5);
    return total;
}

/* A random legal action for the options o, into *a and *amount (the raise-to, else 0), by a roll
 * of 0..19: below fold_below a fold when facing a bet, else below all_in_below an all-in and below
 * raise_below a raise when raising is allowed, otherwise a check or a call. */
static inline void randhand_action(struct rng *r, const struct engine_options *o,
                                   unsigned fold_below, unsigned all_in_below, unsigned raise_below,
                                   enum engine_action *a, int64_t *amount)
{
    uint64_t roll = rng_bounded(r, 20);
    *amount = 0;
    if (roll < fold_below && !o->can_check)
        *a = ENGINE_FOLD;
    else if (roll < all_in_below && o->can_raise)
        *a = ENGINE_ALL_IN;
    else if (roll < raise_below && o->can_raise) {
        *a = ENGINE_RAISE;
        *amount = randhand_pick(r, o->min_raise_to, o->max_raise_to);
    } else
        *a = o->can_check ? ENGINE_CHECK : ENGINE_CALL;
}

#endif
