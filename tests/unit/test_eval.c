/*
 * test_eval.c: unit tests for common/eval.c, the hand evaluator (5 and 6 cards, sampled 7).
 *
 * The core check compares the evaluator with a small reference written here from the rules of
 * poker: over all 2,598,960 five-card hands, hands the reference calls equal get the same
 * rank, and sorting the reference's classes gives ranks 1, 2, ..., 7462 in order, so the table
 * order is exactly poker's order. The category counts must match the known totals. Six- and
 * seven-card evaluation is checked against the best 5-card subset on seeded random hands, the
 * incremental key API against eval_N, and hand-picked cases cover wheels, kickers and
 * eval_best5's ordering. eval_describe's names are checked by example for every category, against
 * bad input from the network, and over random hands (category first, the leading ranks named,
 * one name per rank). The exhaustive 7-card counts are in test_eval7.c (label "slow").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "card.h"
#include "eval.h"
#include "rng.h"
#include "util.h"

/* ---- helpers ---- */

/* Parses exactly n cards. */
static void cards(const char *text, card_t *out, int n)
{
    struct felt_err err = {0};
    assert_int_equal(card_parse_list(text, out, n, &err), n);
}

static uint16_t rank_of(const char *text)
{
    card_t c[7];
    struct felt_err err = {0};
    int n = card_parse_list(text, c, 7, &err);
    assert_in_range(n, 5, 7);
    return eval_n(c, n);
}

/* n distinct random cards (partial Fisher-Yates). */
static void random_hand(struct rng *r, card_t *out, int n)
{
    card_t deck[CARD_COUNT];
    for (int i = 0; i < CARD_COUNT; i++)
        deck[i] = (card_t)i;
    for (int i = 0; i < n; i++) {
        int j = i + (int)rng_bounded(r, (uint64_t)(CARD_COUNT - i));
        card_t t = deck[i];
        deck[i] = deck[j];
        deck[j] = t;
        out[i] = deck[i];
    }
}

/* The best eval_5 over every 5-card subset of c[n]: the definition eval_6/7 must meet. */
static uint16_t best_subset(const card_t *c, int n)
{
    uint16_t best = 0;
    for (unsigned mask = 0; mask < (1u << n); mask++) {
        if (__builtin_popcount(mask) != 5) continue;
        card_t h[5];
        int k = 0;
        for (int i = 0; i < n; i++)
            if (mask >> i & 1) h[k++] = c[i];
        uint16_t v = eval_5(h);
        if (v > best) best = v;
    }
    return best;
}

/* ---- the reference 5-card ranking, straight from the rules ---- */

/*
 * Returns a number that orders 5-card hands: category * 2^20, plus the ranks that decide
 * within the category, most significant first, 4 bits each. Ranks are sorted by how many
 * times they occur, then by rank, so "the pair, then kickers" falls out of the sort. A
 * straight (or straight flush) counts only its top card, and A-2-3-4-5 tops at the 5.
 */
static uint32_t reference_code(const card_t h[5], enum eval_category *cat_out)
{
    int count[13] = {0}, r[5];
    bool flush = true;
    for (int i = 0; i < 5; i++) {
        count[card_rank(h[i])]++;
        flush = flush && card_suit(h[i]) == card_suit(h[0]);
    }
    for (int i = 0; i < 5; i++)
        r[i] = card_rank(h[i]);
    /* Sort by (count desc, rank desc): bubble sort on five items. */
    for (int i = 0; i < 5; i++) {
        for (int j = 0; j + 1 < 5 - i; j++) {
            int a = count[r[j]] * 16 + r[j], b = count[r[j + 1]] * 16 + r[j + 1];
            if (a < b) {
                int t = r[j];
                r[j] = r[j + 1];
                r[j + 1] = t;
            }
        }
    }
    int top_count = count[r[0]], second_count = count[r[top_count]];
    bool distinct = top_count == 1;
    int straight_top = -1;
    if (distinct && r[0] - r[4] == 4) straight_top = r[0];
    if (distinct && r[0] == 12 && r[1] == 3) /* A 5 4 3 2 */
        straight_top = 3;

    enum eval_category cat;
    if (straight_top >= 0 && flush)
        cat = EVAL_STRAIGHT_FLUSH;
    else if (top_count == 4)
        cat = EVAL_QUADS;
    else if (top_count == 3 && second_count == 2)
        cat = EVAL_FULL_HOUSE;
    else if (flush)
        cat = EVAL_FLUSH;
    else if (straight_top >= 0)
        cat = EVAL_STRAIGHT;
    else if (top_count == 3)
        cat = EVAL_TRIPS;
    else if (top_count == 2 && second_count == 2)
        cat = EVAL_TWO_PAIR;
    else if (top_count == 2)
        cat = EVAL_PAIR;
    else
        cat = EVAL_HIGH_CARD;
    *cat_out = cat;

    uint32_t code = (uint32_t)cat << 20;
    if (straight_top >= 0) return code | (uint32_t)straight_top << 16;
    for (int i = 0; i < 5; i++)
        code |= (uint32_t)r[i] << (16 - 4 * i);
    return code;
}

#define REF_CODES (9u << 20)

/* ---- tests ---- */

static void test_init(void **state)
{
    (void)state;
    eval_init();
    eval_init(); /* idempotent */
    assert_true(eval_table_bytes() <= 256 * 1024);
}

static void test_five_card_exhaustive(void **state)
{
    (void)state;
    static const uint64_t expected[EVAL_CATEGORIES] = {
        1302540, 1098240, 123552, 54912, 10200, 5108, 3744, 624, 40,
    };
    uint64_t count[EVAL_CATEGORIES] = {0}, total = 0, key_mismatch = 0, cat_mismatch = 0;
    uint64_t class_mismatch = 0;
    uint16_t *rank_of_code = xcalloc(REF_CODES, sizeof(uint16_t));
    card_t h[5];

    for (h[0] = 0; h[0] < 52; h[0]++)
        for (h[1] = h[0] + 1; h[1] < 52; h[1]++)
            for (h[2] = h[1] + 1; h[2] < 52; h[2]++)
                for (h[3] = h[2] + 1; h[3] < 52; h[3]++)
                    for (h[4] = h[3] + 1; h[4] < 52; h[4]++) {
                        uint16_t v = eval_5(h);
                        assert_in_range(v, 1, EVAL_RANK_MAX);
                        enum eval_category cat = eval_category(v), ref_cat;
                        count[cat]++;
                        total++;
                        uint32_t code = reference_code(h, &ref_cat);
                        cat_mismatch += cat != ref_cat;
                        if (rank_of_code[code] == 0) rank_of_code[code] = v;
                        class_mismatch += rank_of_code[code] != v;
                        struct eval_key k = eval_key_empty();
                        for (int i = 0; i < 5; i++)
                            k = eval_key_add(k, h[i]);
                        key_mismatch += eval_key_rank5(k) != v;
                    }
    assert_true(total == 2598960);
    for (int c = 0; c < EVAL_CATEGORIES; c++)
        assert_true(count[c] == expected[c]);
    assert_true(cat_mismatch == 0);
    assert_true(class_mismatch == 0);
    assert_true(key_mismatch == 0);

    /* In the reference's order, the ranks must be exactly 1, 2, ..., 7462. */
    uint32_t distinct = 0;
    uint16_t prev = 0;
    for (uint32_t code = 0; code < REF_CODES; code++) {
        if (!rank_of_code[code]) continue;
        distinct++;
        assert_int_equal(rank_of_code[code], prev + 1);
        prev = rank_of_code[code];
    }
    assert_int_equal(distinct, 7462);
    assert_int_equal(prev, EVAL_RANK_MAX);
    free(rank_of_code);
}

static void test_six_card_sample(void **state)
{
    (void)state;
    struct rng r;
    rng_init_seeded(&r, 6);
    for (int i = 0; i < 200000; i++) {
        card_t c[6];
        random_hand(&r, c, 6);
        uint16_t v = eval_6(c);
        assert_int_equal(v, best_subset(c, 6));
        assert_int_equal(eval_n(c, 6), v);
        struct eval_key k = eval_key_empty();
        for (int j = 0; j < 6; j++)
            k = eval_key_add(k, c[j]);
        assert_int_equal(eval_key_rank6(k), v);
    }
}

static void test_seven_card_sample(void **state)
{
    (void)state;
    struct rng r;
    rng_init_seeded(&r, 7);
    for (int i = 0; i < 100000; i++) {
        card_t c[7];
        random_hand(&r, c, 7);
        uint16_t v = eval_7(c);
        assert_int_equal(v, best_subset(c, 7));
        assert_int_equal(eval_n(c, 7), v);
        /* Board and hole cards joined, as the equity enumerator does. */
        struct eval_key hole = eval_key_add(eval_key_add(eval_key_empty(), c[0]), c[1]);
        struct eval_key board = eval_key_empty();
        for (int j = 2; j < 7; j++)
            board = eval_key_add(board, c[j]);
        assert_int_equal(eval_key_rank7(eval_key_join(hole, board)), v);
    }
}

/* Seven-card hands built to hold flushes, where a random sample has few. */
static void test_seven_card_flush_heavy(void **state)
{
    (void)state;
    struct rng r;
    rng_init_seeded(&r, 77);
    for (int i = 0; i < 50000; i++) {
        int suit = (int)rng_bounded(&r, 4), nsuited = 5 + (int)rng_bounded(&r, 3);
        card_t c[7];
        uint64_t used = 0;
        for (int j = 0; j < 7; j++) {
            card_t x;
            do {
                int rank = (int)rng_bounded(&r, 13);
                int s = j < nsuited ? suit : (int)rng_bounded(&r, 4);
                x = card_make(rank, s);
            } while (used >> x & 1);
            used |= UINT64_C(1) << x;
            c[j] = x;
        }
        uint16_t v = eval_7(c);
        assert_int_equal(v, best_subset(c, 7));
        assert_true(eval_category(v) == EVAL_FLUSH || eval_category(v) == EVAL_STRAIGHT_FLUSH);
    }
}

static void test_orderings(void **state)
{
    (void)state;
    /* Extremes. */
    assert_int_equal(rank_of("Ah Kh Qh Jh Th"), EVAL_RANK_MAX);
    assert_int_equal(rank_of("7c 5d 4h 3s 2c"), 1);
    /* The wheel is the lowest straight but beats three aces. */
    assert_true(rank_of("5c 4d 3h 2s Ah") < rank_of("6c 5d 4h 3s 2h"));
    assert_true(rank_of("5c 4d 3h 2s Ah") > rank_of("Ac Ad Ah Ks Qd"));
    assert_true(rank_of("Ac Kd Qh Js Tc") > rank_of("Kc Qd Jh Ts 9c"));
    /* Steel wheel: the lowest straight flush, still above quads. */
    assert_true(rank_of("5h 4h 3h 2h Ah") < rank_of("6h 5h 4h 3h 2h"));
    assert_true(rank_of("5h 4h 3h 2h Ah") > rank_of("Ac Ad Ah As Kc"));
    /* A-K-Q-J-9 is no straight; K-A-2-3-4 does not wrap. */
    assert_int_equal(eval_category(rank_of("Ac Kd Qh Js 9c")), EVAL_HIGH_CARD);
    assert_int_equal(eval_category(rank_of("Kc Ad 2h 3s 4c")), EVAL_HIGH_CARD);
    /* Categories in order at their boundaries. */
    assert_true(rank_of("2h 3h 4h 5h 7h") > rank_of("Ac Kd Qh Js Tc"));
    assert_true(rank_of("2c 2d 2h 3c 3d") > rank_of("Ah Kh Qh Jh 9h"));
    assert_true(rank_of("2c 2d 2h 2s 3d") > rank_of("Ac Ad Ah Kc Kd"));
    assert_true(rank_of("2c 2d 3h 3s 4d") > rank_of("Ac Ad Kh Qc Jd"));
    /* Kickers. */
    assert_true(rank_of("Ac Ad Kh Qs Jd") > rank_of("Ah As Kd Qc Td"));
    assert_true(rank_of("Ac Ad Kc Kd 3h") > rank_of("Ah As Kh Ks 2c"));
    assert_true(rank_of("Ac Ad Kc Kd 2h") > rank_of("Ah As Qc Qd Kh"));
    assert_true(rank_of("9c 9d 9h 9s Ac") > rank_of("9c 9d 9h 9s Kc"));
    assert_true(rank_of("Ah Qh 9h 7h 5h") > rank_of("As Qs 9s 7s 4s"));
    assert_true(rank_of("3c 3d 3h Ac Ad") < rank_of("4c 4d 4h 2c 2d"));
    assert_true(rank_of("Tc Td Th 4c 2d") > rank_of("Ts Td Tc 3c 2d"));
    /* Suits never matter without a flush. */
    assert_int_equal(rank_of("Ac Kd Qh Js 9c"), rank_of("Ad Ks Qc Jh 9d"));
    /* Seven cards: the board plays for both; a sixth card can only help. */
    assert_int_equal(rank_of("2c 3d Ah Kh Qs Js Ts"), rank_of("4c 5d Ah Kh Qs Js Ts"));
    assert_true(rank_of("Ac Ad Kh Qs Jd 2c") >= rank_of("Ac Ad Kh Qs Jd"));
    /* Three pairs: the best two and the best kicker, which may come from the third pair. */
    assert_int_equal(rank_of("Ac Ad Kc Kd Qc Qd 2h"), rank_of("Ah As Kh Ks Qh"));
    /* Two trips make a full house of the higher over the lower. */
    assert_int_equal(rank_of("9c 9d 9h 5c 5d 5h 2c"), rank_of("9c 9d 9h 5c 5d"));
}

static void test_category_names(void **state)
{
    (void)state;
    static const char *const names[] = {
        "high card", "pair",       "two pair",       "three of a kind", "straight",
        "flush",     "full house", "four of a kind", "straight flush",
    };
    static const char *const codes[] = {
        "high_card", "pair",       "two_pair",       "three_of_a_kind", "straight",
        "flush",     "full_house", "four_of_a_kind", "straight_flush",
    };
    for (int c = 0; c < EVAL_CATEGORIES; c++) {
        assert_string_equal(eval_category_name((enum eval_category)c), names[c]);
        assert_string_equal(eval_category_code((enum eval_category)c), codes[c]);
    }
    assert_int_equal(eval_category(1), EVAL_HIGH_CARD);
    assert_int_equal(eval_category(EVAL_RANK_MAX), EVAL_STRAIGHT_FLUSH);
}

/* The ranks of out[5] as text, e.g. "KKK22". */
static void best5_ranks(const char *hand, char ranks[6])
{
    card_t c[7], out[5];
    struct felt_err err = {0};
    int n = card_parse_list(hand, c, 7, &err);
    assert_in_range(n, 5, 7);
    uint16_t v = eval_best5(c, n, out);
    assert_int_equal(v, eval_n(c, n));
    assert_int_equal(eval_5(out), v);
    for (int i = 0; i < 5; i++)
        ranks[i] = CARD_RANKS[card_rank(out[i])];
    ranks[5] = '\0';
}

static void test_best5_examples(void **state)
{
    (void)state;
    char r[6];
    best5_ranks("2s Kc 2d Kd Kh", r);
    assert_string_equal(r, "KKK22");
    best5_ranks("Ah 2c 3d 4h 5s Kd Qc", r);
    assert_string_equal(r, "5432A");
    best5_ranks("Ah 2c 3d 4h 5s 6d Kc", r);
    assert_string_equal(r, "65432");
    best5_ranks("5h 4h 3h 2h Ah", r);
    assert_string_equal(r, "5432A");
    best5_ranks("Ac Ad Kc Kd Qc Qd 2h", r);
    assert_string_equal(r, "AAKKQ");
    best5_ranks("3c 9d 9h Jc 2d 9s 7h", r);
    assert_string_equal(r, "999J7");
    best5_ranks("4c 4d 4h 4s Kc Kd 2h", r);
    assert_string_equal(r, "4444K");
    best5_ranks("2h 9h Kh 4h 7h Jh As", r);
    assert_string_equal(r, "KJ974");
    best5_ranks("Td 7c Ts 2h 7d 3s", r);
    assert_string_equal(r, "TT773");

    /* The flush cards themselves, not another suit's copies of their ranks. */
    card_t c[7], out[5];
    cards("Ah Kh 9h 5h 2h As Ks", c, 7);
    eval_best5(c, 7, out);
    for (int i = 0; i < 5; i++)
        assert_int_equal(card_suit(out[i]), 2);
}

static void test_best5_sample(void **state)
{
    (void)state;
    struct rng r;
    rng_init_seeded(&r, 55);
    for (int i = 0; i < 30000; i++) {
        int n = 5 + (int)rng_bounded(&r, 3);
        card_t c[7], out[5];
        random_hand(&r, c, n);
        uint16_t v = eval_best5(c, n, out);
        assert_int_equal(v, eval_n(c, n));
        assert_int_equal(eval_5(out), v);
        uint64_t in = 0, picked = 0;
        for (int j = 0; j < n; j++)
            in |= UINT64_C(1) << c[j];
        for (int j = 0; j < 5; j++) {
            assert_false(picked >> out[j] & 1);
            picked |= UINT64_C(1) << out[j];
        }
        assert_true((picked & ~in) == 0);
        /* Ordered: group sizes never grow; within a group size ranks fall (straights too,
         * except the wheel's ace, which comes last). */
        int count[13] = {0};
        for (int j = 0; j < 5; j++)
            count[card_rank(out[j])]++;
        enum eval_category cat = eval_category(v);
        bool wheel = (cat == EVAL_STRAIGHT || cat == EVAL_STRAIGHT_FLUSH) && card_rank(out[0]) == 3;
        for (int j = 0; j + 1 < 5; j++) {
            int a = card_rank(out[j]), b = card_rank(out[j + 1]);
            if (wheel && j == 3) {
                assert_int_equal(b, 12);
                continue;
            }
            assert_true(count[a] >= count[b]);
            if (count[a] == count[b]) assert_true(a >= b);
        }
    }
}

/* The name of a hand of 5..7 cards written as text. */
static const char *describe(const char *hand)
{
    static char out[EVAL_DESCRIBE_MAX];
    card_t c[7];
    struct felt_err err = {0};
    int n = card_parse_list(hand, c, 7, &err);
    assert_in_range(n, 5, 7);
    uint16_t v = eval_describe(c, n, out, sizeof(out));
    assert_int_equal(v, eval_n(c, n));
    return out;
}

/* Every category with its ranks, as the issue (#11) spells them; seven cards where the board
 * plays, the wheel and the steel wheel (the five leads), a sixth card that changes nothing. */
static void test_describe_examples(void **state)
{
    (void)state;
    assert_string_equal(describe("9c 9d 4h 4s Kc"), "two pair, Nines and Fours");
    assert_string_equal(describe("4c 9d 4h Kc 9s 2d 3h"), "two pair, Nines and Fours");
    assert_string_equal(describe("Ac Ad Kc Kd Qc Qd 2h"), "two pair, Aces and Kings");
    assert_string_equal(describe("Ah 9h 5h 4h 2h Kc Kd"), "flush, Ace high");
    assert_string_equal(describe("Ah 2c 3d 4h 5s Kd Qc"), "straight, Five high");
    assert_string_equal(describe("Ts Jd Qc Kh Ah"), "straight, Ace high");
    assert_string_equal(describe("Kc Kd Kh 2c 2d"), "full house, Kings full of Twos");
    assert_string_equal(describe("9c 9d 9h 5c 5d 5h 2c"), "full house, Nines full of Fives");
    assert_string_equal(describe("7c 7d 7h Ac Qd"), "three of a kind, Sevens");
    assert_string_equal(describe("Jc Jd 2h 5c 8d 9s Kh"), "pair of Jacks");
    assert_string_equal(describe("6c 6d 2h 5c 8d"), "pair of Sixes");
    assert_string_equal(describe("Ac Jd 2h 5c 8d 9s 3h"), "high card, Ace");
    assert_string_equal(describe("5h 6h 7h 8h 9h"), "straight flush, Nine high");
    assert_string_equal(describe("Ah 2h 3h 4h 5h 9c"), "straight flush, Five high");
    assert_string_equal(describe("Ts Js Qs Ks As 2c 2d"), "royal flush");
    assert_string_equal(describe("Qc Qd Qh Qs 3c"), "four of a kind, Queens");
    assert_string_equal(describe("Tc Td Th Ts 3c 3d 3h"), "four of a kind, Tens");
    assert_string_equal(describe("3c 3d 3h 8s 8c 2d Kh"), "full house, Threes full of Eights");
}

/* Cards that may come from the network: a wrong count, an invalid or a repeated card give 0 and
 * "", never a crash; a small buffer is cut, never overrun; every name fits EVAL_DESCRIBE_MAX. */
static void test_describe_checks(void **state)
{
    (void)state;
    char out[EVAL_DESCRIBE_MAX];
    card_t c[8];
    cards("Ac Kd Qh Js 9c 2d 3h", c, 7);
    c[7] = card_make(4, 0);
    for (int n = -1; n <= 8; n++) {
        snprintf(out, sizeof(out), "x");
        uint16_t v = eval_describe(c, n, out, sizeof(out));
        if (n >= 5 && n <= 7) {
            assert_int_equal(v, eval_n(c, n));
            assert_string_equal(out, "high card, Ace");
        } else {
            assert_int_equal(v, 0);
            assert_string_equal(out, "");
        }
    }
    assert_int_equal(eval_describe(NULL, 5, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    card_t bad[5];
    cards("Ac Kd Qh Js 9c", bad, 5);
    bad[3] = bad[0]; /* repeated */
    assert_int_equal(eval_describe(bad, 5, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    bad[3] = (card_t)52; /* not a card */
    assert_int_equal(eval_describe(bad, 5, out, sizeof(out)), 0);
    bad[3] = CARD_NONE;
    assert_int_equal(eval_describe(bad, 5, out, sizeof(out)), 0);
    char tiny[6];
    memset(tiny, '#', sizeof(tiny));
    assert_true(eval_describe(c, 5, tiny, sizeof(tiny)) > 0);
    assert_string_equal(tiny, "high ");
    assert_int_equal(eval_describe(c, 5, tiny, 0), 0);
    assert_int_equal(tiny[0], 'h'); /* outsz 0: nothing written */
}

/* Over random hands: the name starts with the category's name (a royal flush is the ace-high
 * straight flush), fits EVAL_DESCRIBE_MAX with room to spare, names the ranks of best5's leading
 * cards, and equal ranks always get the same name. */
static void test_describe_sample(void **state)
{
    (void)state;
    static const char *const many[13] = {"Twos",   "Threes", "Fours", "Fives", "Sixes",
                                         "Sevens", "Eights", "Nines", "Tens",  "Jacks",
                                         "Queens", "Kings",  "Aces"};
    static char seen[EVAL_RANK_MAX + 1][EVAL_DESCRIBE_MAX];
    struct rng r;
    rng_init_seeded(&r, 77);
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < 60000; i++) {
        int n = 5 + (int)rng_bounded(&r, 3);
        card_t c[7], best[5];
        char out[EVAL_DESCRIBE_MAX + 8];
        random_hand(&r, c, n);
        uint16_t v = eval_describe(c, n, out, sizeof(out));
        assert_int_equal(v, eval_best5(c, n, best));
        assert_true(strlen(out) < EVAL_DESCRIBE_MAX);
        enum eval_category cat = eval_category(v);
        if (cat == EVAL_STRAIGHT_FLUSH && card_rank(best[0]) == 12)
            assert_string_equal(out, "royal flush");
        else
            assert_memory_equal(out, eval_category_name(cat), strlen(eval_category_name(cat)));
        if (cat == EVAL_PAIR || cat == EVAL_TWO_PAIR || cat == EVAL_TRIPS || cat == EVAL_QUADS ||
            cat == EVAL_FULL_HOUSE)
            assert_non_null(strstr(out, many[card_rank(best[0])]));
        if (seen[v][0])
            assert_string_equal(out, seen[v]);
        else
            memcpy(seen[v], out, strlen(out) + 1); /* fits: checked < EVAL_DESCRIBE_MAX above */
    }
    /* The longest names there are. */
    assert_string_equal(describe("Qc Qd Qh 7c 7d"), "full house, Queens full of Sevens");
    assert_true(strlen("full house, Queens full of Sevens") < EVAL_DESCRIBE_MAX);
}

/* The hot paths trust their callers, but a broken caller (repeated cards, values that are not
 * cards) must get some rank, not a crash: every lookup stays inside the tables. */
static void test_garbage_no_crash(void **state)
{
    (void)state;
    struct rng r;
    rng_init_seeded(&r, 13);
    for (int i = 0; i < 100000; i++) {
        card_t c[7];
        for (int j = 0; j < 7; j++)
            c[j] = (card_t)(i & 1 ? rng_bounded(&r, 256) : rng_bounded(&r, 4) + 48);
        assert_true(eval_5(c) <= EVAL_RANK_MAX);
        assert_true(eval_6(c) <= EVAL_RANK_MAX);
        assert_true(eval_7(c) <= EVAL_RANK_MAX);
        struct eval_key k = eval_key_empty();
        for (int j = 0; j < 7; j++)
            k = eval_key_add(k, c[j]);
        assert_true(eval_key_rank7(k) <= EVAL_RANK_MAX);
    }
    /* Seven aces: the largest sum seven card values can make. */
    card_t aces[7] = {51, 51, 51, 51, 51, 51, 51};
    assert_true(eval_7(aces) <= EVAL_RANK_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_five_card_exhaustive),
        cmocka_unit_test(test_six_card_sample),
        cmocka_unit_test(test_seven_card_sample),
        cmocka_unit_test(test_seven_card_flush_heavy),
        cmocka_unit_test(test_orderings),
        cmocka_unit_test(test_category_names),
        cmocka_unit_test(test_best5_examples),
        cmocka_unit_test(test_best5_sample),
        cmocka_unit_test(test_garbage_no_crash),
        cmocka_unit_test(test_describe_examples),
        cmocka_unit_test(test_describe_checks),
        cmocka_unit_test(test_describe_sample),
    };
    eval_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
