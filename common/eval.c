/*
 * eval.c: the poker hand evaluator: tables built at start-up, then two or three lookups a hand.
 *
 * How a hand is ranked. Every rank (2..A) has a rank key chosen so that the sum of the keys of
 * any seven cards (at most four of a rank) identifies the multiset of their ranks; the same then
 * holds for five and six cards. Each card adds its rank key to the low 32 bits of a 64-bit sum
 * and 1 to a 4-bit counter of its suit in the high bits. When no suit reaches five cards, the
 * hand's rank depends only on the rank multiset, and a perfect hash of the key sum finds it in
 * a packed table (one table each for 5, 6 and 7 cards). When a suit reaches five, which a
 * counter started at 3 reveals in its top bit, the rank is read from a table indexed by that
 * suit's 13-bit rank mask. No more than seven cards can hold two flushes, so one suit decides.
 *
 * How the tables are made. Nothing is pasted in: eval_init() lists every 5-card class (6,175
 * rank multisets and 1,287 flush rank masks), orders them with eval_class_code() (category,
 * then the deciding ranks), and numbers them 1..7462. A 6-card multiset's rank is the best of
 * the 5-card multisets left by removing one card, and a 7-card one's the best of its 6-card
 * ones; flush masks of 6 and 7 ranks likewise.
 *
 * The perfect hash is row displacement. A sum of five to seven valid cards is below 2^23; it
 * is multiplied by an odd constant modulo 2^23 (a permutation, so still distinct, and better
 * spread). The low 10, 12 or 13 bits of that pick one of 1,024, 4,096 or 8,192 rows (5, 6, 7
 * cards), and the remaining bits are a column within the row. Each row gets an offset into one
 * value array, chosen so that the occupied cells of all rows interleave without overlap (first
 * fit, fullest rows first; see eval_place). The 7-card array is 98% full. Multiplication
 * distributes over the sum, so each card's key is stored premultiplied and a hand's sum arrives
 * already mixed: a lookup is two loads and a few shifts and masks.
 *
 * The rank keys are the greedy sequence: each is the smallest number above the previous one
 * that keeps every 7-card rank multiset's sum distinct (found once by an offline search over
 * the differences of partial sums). Their only job is to be collision-free, and eval_init()
 * checks exactly that while it places the sums: it stops loudly if two collide.
 *
 * Naming: eval_describe() turns the best five (eval_best5, deciding ranks first) into the words
 * every screen uses ("two pair, Nines and Fours"), so no caller spells a hand on its own.
 *
 * Memory is eval_table_bytes() = sizeof(eval_tab_), about 202 KiB: 4 KiB of per-card keys,
 * 16 KiB of flush ranks, 26 KiB of row offsets and 156 KiB of rank values.
 */
#include "eval.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct eval_tables_ eval_tab_;

/* Placement tuning (see eval_place): rows of at least EVAL_HOLE_FILLER sums start their search
 * EVAL_HOLE_WINDOW rows' width behind the frontier. Measured on the real tables: 5 and 4 pack
 * the 7-card table to 98% in about 13 ms; searching everything packs 0.4% tighter in 35 ms. */
#define EVAL_HOLE_FILLER 5
#define EVAL_HOLE_WINDOW 4
#define EVAL_CLASSES 7462
#define EVAL_RANK_MULTISETS5 6175
#define EVAL_RANK_MULTISETS6 18395
#define EVAL_RANK_MULTISETS7 49205

static const uint32_t eval_rank_key[13] = {
    0, 1, 5, 22, 98, 453, 2031, 8698, 22854, 83661, 262349, 636345, EVAL_RANK_KEY_TOP_,
};

/* eval_cat_first[c] is the lowest rank in category c; [EVAL_CATEGORIES] is one past the top. */
static uint16_t eval_cat_first[EVAL_CATEGORIES + 1];
static pthread_once_t eval_once = PTHREAD_ONCE_INIT;

/* ---------------------------------------------------------------------------------------- */
/* The order of five-card hands, stated directly. Used only while building the tables.       */

/* The top rank of a 5-rank straight in mask (3 for the wheel A-2-3-4-5), or -1. */
static int eval_straight_top(unsigned mask)
{
    for (int top = 12; top >= 4; top--)
        if (mask == (0x1fu << (top - 4))) return top;
    return mask == 0x100fu ? 3 : -1;
}

/* A number that orders 5-card classes like poker does: the category in bits 20 and up, then
 * the ranks that break ties, most important first, four bits each (the pair before the
 * kickers, the trips before the pair; a straight is decided by its top card alone). */
static uint32_t eval_class_code(const uint8_t cnt[13], bool flush)
{
    int order[5], n = 0;
    unsigned mask = 0;
    for (int c = 4; c >= 1; c--)
        for (int r = 12; r >= 0; r--)
            if (cnt[r] == c) order[n++] = r;
    for (int r = 0; r < 13; r++)
        if (cnt[r]) mask |= 1u << r;

    enum eval_category cat;
    int top = n == 5 ? eval_straight_top(mask) : -1;
    switch (n) {
    case 2:
        cat = cnt[order[0]] == 4 ? EVAL_QUADS : EVAL_FULL_HOUSE;
        break;
    case 3:
        cat = cnt[order[0]] == 3 ? EVAL_TRIPS : EVAL_TWO_PAIR;
        break;
    case 4:
        cat = EVAL_PAIR;
        break;
    case 5:
        if (top >= 0)
            cat = flush ? EVAL_STRAIGHT_FLUSH : EVAL_STRAIGHT;
        else
            cat = flush ? EVAL_FLUSH : EVAL_HIGH_CARD;
        break;
    default:
        felt_fatal("eval: a 5-card class with %d distinct ranks", n);
    }
    FELT_ASSERT(!flush || n == 5);

    uint32_t code = (uint32_t)cat << 20;
    if (top >= 0) return code | (uint32_t)top << 16;
    for (int i = 0; i < n; i++)
        code |= (uint32_t)order[i] << (16 - 4 * i);
    return code;
}

/* ---------------------------------------------------------------------------------------- */
/* Table construction.                                                                        */

struct eval_class {
    uint32_t code;
    uint32_t key; /* rank-key sum, or the rank mask for a flush */
    bool flush;
};

/* Entries destined for one perfect-hash table: (rank-key sum, rank). */
struct eval_entries {
    uint32_t *key;
    uint16_t *rank;
    int n;
};

struct eval_build {
    int size;                   /* cards per multiset being enumerated */
    struct eval_class *classes; /* size 5: the classes found */
    int nclasses;
    /* size 6, 7: the table for size - 1 */
    unsigned bits;
    const uint16_t *row, *val;
    struct eval_entries *out; /* size 6, 7: where to put (sum, rank) */
};

/* A rank-key sum as the hash sees it: times EVAL_HASH_MUL_, modulo 2^23. */
static inline uint32_t eval_mix(uint32_t sum)
{
    return (sum * EVAL_HASH_MUL_) & ((1u << EVAL_HASH_BITS_) - 1);
}

/* Looks up a plain (unmixed) rank-key sum: for building the tables. */
static inline uint16_t eval_lookup(unsigned bits, const uint16_t *row, const uint16_t *val,
                                   uint32_t sum)
{
    return EVAL_HASH_(eval_mix(sum), bits, row, val);
}

static void eval_visit(struct eval_build *b, const uint8_t cnt[13], uint32_t sum)
{
    if (b->size == 5) {
        struct eval_class *c = &b->classes[b->nclasses++];
        c->code = eval_class_code(cnt, false);
        c->key = sum;
        c->flush = false;
        return;
    }
    /* The best hand of size cards is the best of those left by dropping one card. */
    uint16_t best = 0;
    for (int r = 0; r < 13; r++) {
        if (cnt[r]) {
            uint16_t v = eval_lookup(b->bits, b->row, b->val, sum - eval_rank_key[r]);
            FELT_ASSERT(v != 0);
            if (v > best) best = v;
        }
    }
    b->out->key[b->out->n] = sum;
    b->out->rank[b->out->n] = best;
    b->out->n++;
}

/* Visits every multiset of `left` more ranks from rank.. 12, at most four of each. */
static void eval_multisets(struct eval_build *b, uint8_t cnt[13], int rank, int left, uint32_t sum)
{
    if (rank == 13) {
        if (left == 0) eval_visit(b, cnt, sum);
        return;
    }
    if (left > 4 * (13 - rank)) return;
    for (int c = 0; c <= 4 && c <= left; c++) {
        cnt[rank] = (uint8_t)c;
        eval_multisets(b, cnt, rank + 1, left - c, sum + (uint32_t)c * eval_rank_key[rank]);
    }
    cnt[rank] = 0;
}

static int eval_cmp_class(const void *a, const void *b)
{
    uint32_t x = ((const struct eval_class *)a)->code, y = ((const struct eval_class *)b)->code;
    return (x > y) - (x < y);
}

static int eval_cmp_desc(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x < y) - (x > y);
}

/* Bits pos..pos+63 of occ (which has a spare zero word past any pos asked for). */
static inline uint64_t eval_bits64(const uint64_t *occ, size_t pos)
{
    size_t w = pos >> 6;
    unsigned b = pos & 63;
    return b ? occ[w] >> b | occ[w + 1] << (64 - b) : occ[w];
}

/* The first clear bit at or after pos in occ[0..nwords), or nwords * 64 if none. */
static size_t eval_next_free(const uint64_t *occ, size_t nwords, size_t pos)
{
    size_t w = pos >> 6;
    if (w >= nwords) return nwords * 64;
    uint64_t free = ~occ[w] & (~UINT64_C(0) << (pos & 63));
    while (!free) {
        if (++w == nwords) return nwords * 64;
        free = ~occ[w];
    }
    return w * 64 + (size_t)__builtin_ctzll(free);
}

/*
 * Places the entries into row[0..2^bits) and val[0..cap) by row displacement: a sum s, mixed
 * to x = eval_mix(s), is then found at val[row[x % 2^bits] + x / 2^bits]. Rows hold a few
 * mixed sums each, scattered over 2^(23 - bits) columns. They are packed fullest first, each at
 * the lowest offset where none of its cells is taken (first fit decreasing), except that rows
 * of EVAL_HOLE_FILLER or more sums skip the nearly full region well behind the frontier, where
 * they would not fit anyway: that keeps the build in milliseconds, while the many small rows
 * that come last still fill the holes. Two entries with the same sum would need the same cell,
 * which is caught here: the rank keys were not collision-free. Returns the cells in use (the
 * highest offset plus a full row), which must fit in cap.
 */
static size_t eval_place(const struct eval_entries *e, unsigned bits, uint16_t *row, uint16_t *val,
                         size_t cap, const char *what)
{
    const size_t rows = (size_t)1 << bits, cols = (size_t)1 << (EVAL_HASH_BITS_ - bits);
    int *count = xcalloc(rows, sizeof(int)), *start = xcalloc(rows + 1, sizeof(int));
    unsigned *order = xcalloc(rows, sizeof(unsigned));
    int *member = xmalloc(sizeof(int) * (size_t)e->n);
    size_t *col = xmalloc(sizeof(size_t) * (size_t)e->n); /* a row's columns */
    size_t nwords = (cap + 63) / 64;
    uint64_t *occ = xcalloc(nwords + 2, sizeof(uint64_t)); /* + 2: room for eval_bits64 */
    size_t reach = 0, lowest_free = 0, frontier = 0;

    /* Bucket the entries by row, then order the rows fullest first (ties by row number, so the
     * layout is the same on every run). */
    for (int i = 0; i < e->n; i++)
        count[eval_mix(e->key[i]) % rows]++;
    for (size_t r = 0; r < rows; r++)
        start[r + 1] = start[r] + count[r];
    for (int i = 0; i < e->n; i++)
        member[start[eval_mix(e->key[i]) % rows]++] = i;
    for (size_t r = 0; r < rows; r++)
        start[r] -= count[r];
    for (size_t r = 0; r < rows; r++)
        order[r] = (unsigned)count[r] << 16 | (unsigned)r; /* count < 2^16, r < 2^16 */
    qsort(order, rows, sizeof(order[0]), eval_cmp_desc);

    memset(row, 0, rows * sizeof(*row));
    memset(val, 0, cap * sizeof(*val));
    for (size_t k = 0; k < rows && (order[k] >> 16) > 0; k++) {
        size_t r = order[k] & 0xffff;
        const int *m = member + start[r];
        int n = count[r];
        size_t leftmost = cols, rightmost = 0;
        for (int j = 0; j < n; j++) {
            col[j] = eval_mix(e->key[m[j]]) >> bits;
            if (col[j] < leftmost) leftmost = col[j];
            if (col[j] > rightmost) rightmost = col[j];
        }
        /* Every cell below lowest_free is taken, so the leftmost entry cannot go there. The
         * search tests 64 consecutive offsets at once: bit i of `fits` says whether offset
         * off + i has every cell of the row free. */
        size_t off = lowest_free > leftmost ? lowest_free - leftmost : 0;
        if (n >= EVAL_HOLE_FILLER && off + EVAL_HOLE_WINDOW * cols < frontier)
            off = frontier - EVAL_HOLE_WINDOW * cols;
        for (;;) {
            if (off + cols > cap) felt_fatal("eval: %s table needs more than %zu cells", what, cap);
            uint64_t fits = ~UINT64_C(0);
            for (int j = 0; j < n && fits; j++)
                fits &= ~eval_bits64(occ, off + col[j]);
            if (fits) {
                off += (size_t)__builtin_ctzll(fits);
                break;
            }
            off += 64;
        }
        if (off + cols > cap) felt_fatal("eval: %s table needs more than %zu cells", what, cap);
        if (off > UINT16_MAX) felt_fatal("eval: %s row offset %zu does not fit 16 bits", what, off);
        for (int j = 0; j < n; j++) {
            size_t cell = off + col[j];
            if (occ[cell >> 6] >> (cell & 63) & 1)
                felt_fatal("eval: two %s rank multisets share the key sum %u", what, e->key[m[j]]);
            occ[cell >> 6] |= UINT64_C(1) << (cell & 63);
            val[cell] = e->rank[m[j]];
        }
        row[r] = (uint16_t)off;
        lowest_free = eval_next_free(occ, nwords, lowest_free);
        if (off + cols > reach) reach = off + cols;
        if (off + rightmost + 1 > frontier) frontier = off + rightmost + 1;
    }

    free(occ);
    free(col);
    free(member);
    free(order);
    free(start);
    free(count);
    return reach;
}

static void eval_entries_alloc(struct eval_entries *e, int n)
{
    e->key = xmalloc(sizeof(uint32_t) * (size_t)n);
    e->rank = xmalloc(sizeof(uint16_t) * (size_t)n);
    e->n = 0;
}

static void eval_entries_free(struct eval_entries *e)
{
    free(e->key);
    free(e->rank);
}

/* Builds the 6- or 7-card table from the (size - 1)-card one. */
static void eval_build_size(int size, unsigned prev_bits, const uint16_t *prev_row,
                            const uint16_t *prev_val, unsigned bits, uint16_t *row, uint16_t *val,
                            size_t cap, int expect)
{
    struct eval_entries e;
    uint8_t cnt[13] = {0};
    eval_entries_alloc(&e, expect);
    struct eval_build b = {
        .size = size, .bits = prev_bits, .row = prev_row, .val = prev_val, .out = &e};
    eval_multisets(&b, cnt, 0, size, 0);
    FELT_ASSERT(e.n == expect);
    eval_place(&e, bits, row, val, cap, size == 6 ? "6-card" : "7-card");
    eval_entries_free(&e);
}

static void eval_build_tables(void)
{
    struct eval_tables_ *t = &eval_tab_;
    FELT_ASSERT(eval_rank_key[12] == EVAL_RANK_KEY_TOP_);
    /* The largest sum of seven valid cards (four aces, three kings) must stay below 2^23 for
     * eval_mix to keep distinct sums distinct. */
    FELT_ASSERT(4 * eval_rank_key[12] + 3 * eval_rank_key[11] < (1u << EVAL_HASH_BITS_));

    memset(t, 0, sizeof(*t));
    for (int c = 0; c < CARD_COUNT; c++) {
        t->card_sum[c] = eval_mix(eval_rank_key[card_rank((card_t)c)]) +
                         (UINT64_C(1) << (32 + 4 * card_suit((card_t)c)));
        t->card_bit[c] = UINT64_C(1) << (16 * card_suit((card_t)c) + card_rank((card_t)c));
    }

    /* Every 5-card class: the rank multisets, then the flush rank masks. */
    struct eval_class *classes = xmalloc(sizeof(*classes) * EVAL_CLASSES);
    uint8_t cnt[13] = {0};
    struct eval_build b = {.size = 5, .classes = classes};
    eval_multisets(&b, cnt, 0, 5, 0);
    FELT_ASSERT(b.nclasses == EVAL_RANK_MULTISETS5);
    for (unsigned mask = 0; mask < (1u << 13); mask++) {
        if (__builtin_popcount(mask) != 5) continue;
        for (int r = 0; r < 13; r++)
            cnt[r] = (uint8_t)(mask >> r & 1);
        struct eval_class *c = &classes[b.nclasses++];
        c->code = eval_class_code(cnt, true);
        c->key = mask;
        c->flush = true;
    }
    FELT_ASSERT(b.nclasses == EVAL_CLASSES);

    /* Number them in poker order; the codes are distinct because each names its class. */
    qsort(classes, EVAL_CLASSES, sizeof(*classes), eval_cmp_class);
    struct eval_entries e5;
    eval_entries_alloc(&e5, EVAL_RANK_MULTISETS5);
    for (int i = EVAL_CATEGORIES - 1; i >= 0; i--)
        eval_cat_first[i] = EVAL_CLASSES + 1;
    eval_cat_first[EVAL_CATEGORIES] = EVAL_CLASSES + 1;
    for (int i = 0; i < EVAL_CLASSES; i++) {
        uint16_t rank = (uint16_t)(i + 1);
        unsigned cat = classes[i].code >> 20;
        FELT_ASSERT(i == 0 || classes[i].code != classes[i - 1].code);
        if (rank < eval_cat_first[cat]) eval_cat_first[cat] = rank;
        if (classes[i].flush) {
            t->flush[classes[i].key] = rank;
        } else {
            e5.key[e5.n] = classes[i].key;
            e5.rank[e5.n++] = rank;
        }
    }
    for (int c = 0; c < EVAL_CATEGORIES; c++)
        FELT_ASSERT(eval_cat_first[c] <= EVAL_CLASSES);
    free(classes);
    eval_place(&e5, EVAL_ROW_BITS5_, t->row5, t->val5, EVAL_VALS5_, "5-card");
    eval_entries_free(&e5);

    eval_build_size(6, EVAL_ROW_BITS5_, t->row5, t->val5, EVAL_ROW_BITS6_, t->row6, t->val6,
                    EVAL_VALS6_, EVAL_RANK_MULTISETS6);
    eval_build_size(7, EVAL_ROW_BITS6_, t->row6, t->val6, EVAL_ROW_BITS7_, t->row7, t->val7,
                    EVAL_VALS7_, EVAL_RANK_MULTISETS7);

    /* Flushes of six and seven cards: the best five of the suit. Removing a bit gives a
     * smaller mask, so ascending order has every sub-mask ready. */
    for (unsigned mask = 0; mask < (1u << 13); mask++) {
        int bits = __builtin_popcount(mask);
        if (bits < 6 || bits > 7) continue;
        uint16_t best = 0;
        for (unsigned rest = mask; rest; rest &= rest - 1) {
            uint16_t v = t->flush[mask & ~(rest & -rest)];
            if (v > best) best = v;
        }
        t->flush[mask] = best;
    }
}

void eval_init(void)
{
    if (pthread_once(&eval_once, eval_build_tables) != 0)
        felt_fatal("eval_init: pthread_once failed");
}

size_t eval_table_bytes(void)
{
    return sizeof(eval_tab_) + sizeof(eval_cat_first);
}

/* ---------------------------------------------------------------------------------------- */
/* Evaluation.                                                                                */

/* The flush path for an array of cards: rare (3% of 7-card hands), so kept out of line. */
__attribute__((noinline)) static uint16_t eval_flush_cards(const card_t *c, int n, uint64_t sum)
{
    struct eval_key k = {sum, 0};
    for (int i = 0; i < n; i++)
        k.bits |= eval_tab_.card_bit[c[i]];
    return eval_key_flush_(k);
}

#define EVAL_SUM(c, i) eval_tab_.card_sum[(c)[i]]

uint16_t eval_5(const card_t c[5])
{
    uint64_t s = EVAL_SUIT_BASE_ + EVAL_SUM(c, 0) + EVAL_SUM(c, 1) + EVAL_SUM(c, 2) +
                 EVAL_SUM(c, 3) + EVAL_SUM(c, 4);
    if (s & EVAL_FLUSH_BITS_) return eval_flush_cards(c, 5, s);
    return EVAL_HASH_(s, EVAL_ROW_BITS5_, eval_tab_.row5, eval_tab_.val5);
}

uint16_t eval_6(const card_t c[6])
{
    uint64_t s = EVAL_SUIT_BASE_ + EVAL_SUM(c, 0) + EVAL_SUM(c, 1) + EVAL_SUM(c, 2) +
                 EVAL_SUM(c, 3) + EVAL_SUM(c, 4) + EVAL_SUM(c, 5);
    if (s & EVAL_FLUSH_BITS_) return eval_flush_cards(c, 6, s);
    return EVAL_HASH_(s, EVAL_ROW_BITS6_, eval_tab_.row6, eval_tab_.val6);
}

uint16_t eval_7(const card_t c[7])
{
    uint64_t s = EVAL_SUIT_BASE_ + EVAL_SUM(c, 0) + EVAL_SUM(c, 1) + EVAL_SUM(c, 2) +
                 EVAL_SUM(c, 3) + EVAL_SUM(c, 4) + EVAL_SUM(c, 5) + EVAL_SUM(c, 6);
    if (s & EVAL_FLUSH_BITS_) return eval_flush_cards(c, 7, s);
    return EVAL_HASH_(s, EVAL_ROW_BITS7_, eval_tab_.row7, eval_tab_.val7);
}

/* The checked entry point: eval_n and eval_best5 are not on hot paths, so they verify their
 * preconditions (and initialise) instead of trusting the caller. */
static void eval_check(const card_t *c, int n)
{
    uint64_t seen = 0;
    if (n < 5 || n > 7) felt_fatal("eval: %d cards (5 to 7 expected)", n);
    for (int i = 0; i < n; i++) {
        if (!card_valid(c[i]) || (seen >> c[i] & 1))
            felt_fatal("eval: card %d (value %d) is invalid or repeated", i, c[i]);
        seen |= UINT64_C(1) << c[i];
    }
    eval_init();
}

uint16_t eval_n(const card_t *c, int n)
{
    eval_check(c, n);
    switch (n) {
    case 5:
        return eval_5(c);
    case 6:
        return eval_6(c);
    default:
        return eval_7(c);
    }
}

enum eval_category eval_category(uint16_t rank)
{
    if (rank < 1 || rank > EVAL_RANK_MAX) felt_fatal("eval_category: rank %u out of range", rank);
    eval_init();
    int cat = EVAL_CATEGORIES - 1;
    while (rank < eval_cat_first[cat])
        cat--;
    return (enum eval_category)cat;
}

static const char *const eval_cat_names[EVAL_CATEGORIES] = {
    [EVAL_HIGH_CARD] = "high card",
    [EVAL_PAIR] = "pair",
    [EVAL_TWO_PAIR] = "two pair",
    [EVAL_TRIPS] = "three of a kind",
    [EVAL_STRAIGHT] = "straight",
    [EVAL_FLUSH] = "flush",
    [EVAL_FULL_HOUSE] = "full house",
    [EVAL_QUADS] = "four of a kind",
    [EVAL_STRAIGHT_FLUSH] = "straight flush",
};

static const char *const eval_cat_codes[EVAL_CATEGORIES] = {
    [EVAL_HIGH_CARD] = "high_card",
    [EVAL_PAIR] = "pair",
    [EVAL_TWO_PAIR] = "two_pair",
    [EVAL_TRIPS] = "three_of_a_kind",
    [EVAL_STRAIGHT] = "straight",
    [EVAL_FLUSH] = "flush",
    [EVAL_FULL_HOUSE] = "full_house",
    [EVAL_QUADS] = "four_of_a_kind",
    [EVAL_STRAIGHT_FLUSH] = "straight_flush",
};

const char *eval_category_name(enum eval_category cat)
{
    if ((unsigned)cat >= EVAL_CATEGORIES) felt_fatal("eval_category_name: category %d", (int)cat);
    return eval_cat_names[cat];
}

const char *eval_category_code(enum eval_category cat)
{
    if ((unsigned)cat >= EVAL_CATEGORIES) felt_fatal("eval_category_code: category %d", (int)cat);
    return eval_cat_codes[cat];
}

uint16_t eval_best5(const card_t *c, int n, card_t out[5])
{
    static const uint8_t pick[21][5] = {
        {0, 1, 2, 3, 4}, {0, 1, 2, 3, 5}, {0, 1, 2, 3, 6}, {0, 1, 2, 4, 5}, {0, 1, 2, 4, 6},
        {0, 1, 2, 5, 6}, {0, 1, 3, 4, 5}, {0, 1, 3, 4, 6}, {0, 1, 3, 5, 6}, {0, 1, 4, 5, 6},
        {0, 2, 3, 4, 5}, {0, 2, 3, 4, 6}, {0, 2, 3, 5, 6}, {0, 2, 4, 5, 6}, {0, 3, 4, 5, 6},
        {1, 2, 3, 4, 5}, {1, 2, 3, 4, 6}, {1, 2, 3, 5, 6}, {1, 2, 4, 5, 6}, {1, 3, 4, 5, 6},
        {2, 3, 4, 5, 6},
    };
    uint16_t best = eval_n(c, n);
    card_t h[5];
    int k;

    /* The first 5-card subset (in a fixed order) worth the whole hand. The table lists the
     * subsets of seven cards; those of fewer cards are the rows whose indices are all < n. */
    for (k = 0; k < 21; k++) {
        if (pick[k][4] >= n) continue;
        for (int i = 0; i < 5; i++)
            h[i] = c[pick[k][i]];
        if (eval_5(h) == best) break;
    }
    FELT_ASSERT(k < 21);

    /* Most important first: bigger groups, then higher ranks (suits only make the order
     * deterministic). A wheel's ace plays low, so it goes last. */
    int cnt[13] = {0};
    for (int i = 0; i < 5; i++)
        cnt[card_rank(h[i])]++;
    for (int i = 1; i < 5; i++) {
        card_t x = h[i];
        int j = i;
        while (j > 0) {
            card_t y = h[j - 1];
            int kx = cnt[card_rank(x)] * 64 + x, ky = cnt[card_rank(y)] * 64 + y;
            if (ky >= kx) break;
            h[j] = y;
            j--;
        }
        h[j] = x;
    }
    enum eval_category cat = eval_category(best);
    if ((cat == EVAL_STRAIGHT || cat == EVAL_STRAIGHT_FLUSH) && card_rank(h[0]) == 12 &&
        card_rank(h[1]) == 3) {
        card_t ace = h[0];
        memmove(h, h + 1, 4);
        h[4] = ace;
    }
    memcpy(out, h, 5);
    return best;
}

static const char *const eval_rank_one[13] = {"Two",   "Three", "Four", "Five", "Six",
                                              "Seven", "Eight", "Nine", "Ten",  "Jack",
                                              "Queen", "King",  "Ace"};
static const char *const eval_rank_many[13] = {"Twos",   "Threes", "Fours", "Fives", "Sixes",
                                               "Sevens", "Eights", "Nines", "Tens",  "Jacks",
                                               "Queens", "Kings",  "Aces"};

uint16_t eval_describe(const card_t *c, int n, char *out, size_t outsz)
{
    card_t best[5];
    uint64_t seen = 0;
    if (outsz == 0) return 0;
    out[0] = '\0';
    if (!c || n < 5 || n > 7) return 0;
    for (int i = 0; i < n; i++) {
        if (!card_valid(c[i]) || (seen >> c[i] & 1)) return 0;
        seen |= UINT64_C(1) << c[i];
    }
    /* best[] puts the deciding ranks first: the group(s), then the top of a straight or flush
     * (a wheel's five leads). */
    uint16_t rank = eval_best5(c, n, best);
    const char *one = eval_rank_one[card_rank(best[0])];
    const char *many = eval_rank_many[card_rank(best[0])];
    switch (eval_category(rank)) {
    case EVAL_HIGH_CARD:
        snprintf(out, outsz, "high card, %s", one);
        break;
    case EVAL_PAIR:
        snprintf(out, outsz, "pair of %s", many);
        break;
    case EVAL_TWO_PAIR:
        snprintf(out, outsz, "two pair, %s and %s", many, eval_rank_many[card_rank(best[2])]);
        break;
    case EVAL_TRIPS:
        snprintf(out, outsz, "three of a kind, %s", many);
        break;
    case EVAL_STRAIGHT:
        snprintf(out, outsz, "straight, %s high", one);
        break;
    case EVAL_FLUSH:
        snprintf(out, outsz, "flush, %s high", one);
        break;
    case EVAL_FULL_HOUSE:
        snprintf(out, outsz, "full house, %s full of %s", many, eval_rank_many[card_rank(best[3])]);
        break;
    case EVAL_QUADS:
        snprintf(out, outsz, "four of a kind, %s", many);
        break;
    case EVAL_STRAIGHT_FLUSH:
        if (card_rank(best[0]) == 12)
            snprintf(out, outsz, "royal flush");
        else
            snprintf(out, outsz, "straight flush, %s high", one);
        break;
    }
    return rank;
}
