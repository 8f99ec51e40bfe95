/*
 * eval.h: the poker hand evaluator.
 *
 * eval_N() maps 5, 6 or 7 distinct cards to a rank in 1..7462 where a higher rank is a better
 * hand and equal ranks tie, so ranks compare totally. The lookup tables are built once by
 * eval_init() (idempotent, a few milliseconds, at most 256 KiB); call it at start-up before any
 * evaluation. After that every function here is read-only and thread-safe.
 */
#ifndef FELT_EVAL_H
#define FELT_EVAL_H

#include <stdint.h>

#include "card.h"

enum eval_category {
    EVAL_HIGH_CARD,
    EVAL_PAIR,
    EVAL_TWO_PAIR,
    EVAL_TRIPS,
    EVAL_STRAIGHT,
    EVAL_FLUSH,
    EVAL_FULL_HOUSE,
    EVAL_QUADS,
    EVAL_STRAIGHT_FLUSH,
};
#define EVAL_CATEGORIES 9
#define EVAL_RANK_MAX 7462

void eval_init(void);

uint16_t eval_5(const card_t c[5]);
uint16_t eval_6(const card_t c[6]);
uint16_t eval_7(const card_t c[7]);
/* n in 5..7; fatal otherwise. */
uint16_t eval_n(const card_t *c, int n);

enum eval_category eval_category(uint16_t rank);
/* "high card", "pair", "two pair", "three of a kind", "straight", "flush", "full house",
 * "four of a kind", "straight flush". */
const char *eval_category_name(enum eval_category cat);
/* Stable machine name: "high_card" ... "straight_flush". */
const char *eval_category_code(enum eval_category cat);

/* The best five of n (5..7) cards, in out[5], ordered by importance (e.g. the pair first). */
uint16_t eval_best5(const card_t *c, int n, card_t out[5]);

#endif
