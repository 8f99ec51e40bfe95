/*
 * eval.h: the poker hand evaluator.
 *
 * eval_N() maps 5, 6 or 7 distinct cards to a rank in 1..7462 where a higher rank is a better
 * hand and equal ranks tie, so ranks compare totally. The lookup tables are built once by
 * eval_init() (idempotent, about 15 ms, at most 256 KiB); call it at start-up before any
 * evaluation. After that every function here is read-only and thread-safe.
 */
#ifndef FELT_EVAL_H
#define FELT_EVAL_H

#include <stddef.h>
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

/* The hot paths: they trust the caller for valid, distinct cards (anything else gives an
 * unspecified rank, never a crash). */
uint16_t eval_5(const card_t c[5]);
uint16_t eval_6(const card_t c[6]);
uint16_t eval_7(const card_t c[7]);
/* n in 5..7; fatal otherwise. Checks its cards (invalid or repeated: fatal) and initialises. */
uint16_t eval_n(const card_t *c, int n);

/* rank in 1..EVAL_RANK_MAX; fatal otherwise. */
enum eval_category eval_category(uint16_t rank);
/* "high card", "pair", "two pair", "three of a kind", "straight", "flush", "full house",
 * "four of a kind", "straight flush". */
const char *eval_category_name(enum eval_category cat);
/* Stable machine name: "high_card", "pair", "two_pair", "three_of_a_kind", "straight",
 * "flush", "full_house", "four_of_a_kind", "straight_flush". */
const char *eval_category_code(enum eval_category cat);

/* The best five of n (5..7) cards, in out[5], ordered by importance (e.g. the pair first).
 * Groups come first, larger before smaller, then higher ranks; a straight runs from its top
 * card down, so a wheel is 5 4 3 2 A. Among equally good fives the choice is deterministic.
 * Returns the rank, as eval_n; checks its cards like eval_n. */
uint16_t eval_best5(const card_t *c, int n, card_t out[5]);

/* The name of the best five of n (5..7) cards with its ranks, as a poker room says it, into
 * out (NUL-terminated, cut if outsz is too small; EVAL_DESCRIBE_MAX always suffices):
 * "high card, Ace", "pair of Jacks", "two pair, Nines and Fours", "three of a kind, Sevens",
 * "straight, Five high" (a wheel), "flush, Ace high", "full house, Kings full of Twos",
 * "four of a kind, Aces", "straight flush, Nine high", "royal flush". Kickers are not named.
 * The one wording for every screen and log. Unlike eval_n it checks rather than trusts: n out
 * of range or an invalid or repeated card (cards from the network) gives 0 and out "".
 * Otherwise returns the rank, as eval_n. */
#define EVAL_DESCRIBE_MAX 40
uint16_t eval_describe(const card_t *c, int n, char *out, size_t outsz);

/* Bytes of lookup tables eval_init() builds (all of them; for the benchmark and docs). */
size_t eval_table_bytes(void);

/*
 * Incremental evaluation, for enumerators (equity, the benchmark).
 *
 * A struct eval_key is a value that accumulates up to seven cards: start from eval_key_empty(),
 * add cards with eval_key_add() (two integer operations), and rank a key holding exactly 5, 6
 * or 7 cards with eval_key_rank5/6/7(). An enumerator keeps one key per loop level, so its
 * innermost loop costs one addition and one lookup per hand instead of a full evaluation. The
 * ranks are the same as eval_5/6/7 give for the same cards. Preconditions as for eval_N: valid,
 * distinct cards and eval_init() done. Breaking them gives an unspecified rank (0 included) but
 * never an out-of-bounds read.
 *
 * The key: the low 32 bits of `sum` add up each card's rank key (see eval.c) premultiplied by
 * an odd constant modulo 2^23, so their low 23 bits are the rank-key sum (unique per rank
 * multiset of a given size) times that constant modulo 2^23: the hash input, ready without a
 * multiplication. One 4-bit counter per suit sits at bit 32 + 4 * suit, started at 3 so that
 * bit 3 of a counter sets exactly when that suit reaches five cards. `bits` has bit
 * 16 * suit + rank set for every card, for ranking a flush by its 13-bit rank mask.
 */
struct eval_key {
    uint64_t sum;
    uint64_t bits;
};

/* Internal: the tables behind the inline functions below. Built by eval_init(), read-only
 * afterwards; use the functions, not these fields, which may change. */
#define EVAL_HASH_BITS_ 23
#define EVAL_HASH_MUL_ 0x9e3779b1u
#define EVAL_RANK_KEY_TOP_ 1479181u /* the ace's rank key; see eval.c */
#define EVAL_ROW_BITS5_ 10
#define EVAL_ROW_BITS6_ 12
#define EVAL_ROW_BITS7_ 13
/* Value cells each table needs (measured; eval_init() stops loudly if a table outgrows them). */
#define EVAL_VALS5_ 9344
#define EVAL_VALS6_ 20032
#define EVAL_VALS7_ 50304
#define EVAL_SUIT_BASE_ (UINT64_C(0x3333) << 32)
#define EVAL_FLUSH_BITS_ (UINT64_C(0x8888) << 32)
struct eval_tables_ {
    uint64_t card_sum[256]; /* per card_t value; 0 for invalid cards */
    uint64_t card_bit[256];
    uint16_t flush[1 << 13]; /* best flush rank by the flush suit's rank mask */
    uint16_t row5[1 << EVAL_ROW_BITS5_], row6[1 << EVAL_ROW_BITS6_], row7[1 << EVAL_ROW_BITS7_];
    uint16_t val5[EVAL_VALS5_], val6[EVAL_VALS6_], val7[EVAL_VALS7_];
};
extern struct eval_tables_ eval_tab_;

static inline struct eval_key eval_key_empty(void)
{
    struct eval_key k = {EVAL_SUIT_BASE_, 0};
    return k;
}

static inline struct eval_key eval_key_add(struct eval_key k, card_t c)
{
    k.sum += eval_tab_.card_sum[c];
    k.bits |= eval_tab_.card_bit[c];
    return k;
}

/* The key of the cards of a and b together (both built from eval_key_empty(), no card in
 * both): lets an enumerator add a shared board to each player's hole cards in one step. */
static inline struct eval_key eval_key_join(struct eval_key a, struct eval_key b)
{
    struct eval_key k = {a.sum + b.sum - EVAL_SUIT_BASE_, a.bits | b.bits};
    return k;
}

/* The rank of a flush key: the suit whose counter overflowed picks 13 bits of `bits`. */
static inline uint16_t eval_key_flush_(struct eval_key k)
{
    int suit = (__builtin_ctzll(k.sum & EVAL_FLUSH_BITS_) - 35) >> 2;
    return eval_tab_.flush[(k.bits >> (16 * suit)) & 0x1fff];
}

/* Perfect hash of the rank-key sum. A sum of five to seven valid cards' rank keys is below
 * 2^23; multiplied by EVAL_HASH_MUL_ modulo 2^23 (a permutation, which spreads the sums
 * evenly) it is the low 23 bits of a key's `sum`. Of those, the low `bits` bits pick a row,
 * whose offset displaces the rest (the column) into a packed value table. Any `sum` lands
 * inside the tables, whatever cards made it. */
#define EVAL_HASH_(sum, bits, row, val)                                                            \
    ((val)[(row)[(uint32_t)(sum) & ((1u << (bits)) - 1)] +                                         \
           (((uint32_t)(sum) & ((1u << EVAL_HASH_BITS_) - 1)) >> (bits))])
#define EVAL_KEY_RANK_(k, bits, row, val)                                                          \
    (((k).sum & EVAL_FLUSH_BITS_) ? eval_key_flush_(k) : EVAL_HASH_((k).sum, bits, row, val))

static inline uint16_t eval_key_rank5(struct eval_key k)
{
    return EVAL_KEY_RANK_(k, EVAL_ROW_BITS5_, eval_tab_.row5, eval_tab_.val5);
}
static inline uint16_t eval_key_rank6(struct eval_key k)
{
    return EVAL_KEY_RANK_(k, EVAL_ROW_BITS6_, eval_tab_.row6, eval_tab_.val6);
}
static inline uint16_t eval_key_rank7(struct eval_key k)
{
    return EVAL_KEY_RANK_(k, EVAL_ROW_BITS7_, eval_tab_.row7, eval_tab_.val7);
}

#endif
