/*
 * test_rng.c: unit tests for common/rng.c: bounded draws, the shuffle and secret tokens.
 *
 * The statistical tests use the seeded generator with fixed seeds, so they are deterministic;
 * their thresholds are set so that a correct shuffle would fail them for a random seed with
 * probability below one in a billion, while the classic mistakes (swapping with any position,
 * reducing with a plain modulo) fail them by orders of magnitude, which the tests also show.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "card.h"
#include "rng.h"
#include "util.h"

/* Pearson's statistic for observed counts against one common expected count. */
static double chi_square(const uint64_t *observed, int cells, double expected)
{
    double x = 0;
    for (int i = 0; i < cells; i++) {
        double d = (double)observed[i] - expected;
        x += d * d / expected;
    }
    return x;
}

static void test_seeded_reproducible(void **state)
{
    (void)state;
    struct rng a, b, c;
    rng_init_seeded(&a, 42);
    rng_init_seeded(&b, 42);
    rng_init_seeded(&c, 43);
    int same_as_other_seed = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rng_u64(&a);
        assert_true(x == rng_u64(&b));
        same_as_other_seed += x == rng_u64(&c);
    }
    assert_int_equal(same_as_other_seed, 0);

    /* Seed 0 still gives a live generator (xoshiro must not start from all zeros). */
    struct rng z;
    rng_init_seeded(&z, 0);
    assert_false(z.s[0] == 0 && z.s[1] == 0 && z.s[2] == 0 && z.s[3] == 0);
    uint64_t first = rng_u64(&z);
    int repeats = 0;
    for (int i = 0; i < 100; i++)
        repeats += rng_u64(&z) == first;
    assert_true(repeats < 2);
}

static void test_bounded_range(void **state)
{
    (void)state;
    static const uint64_t bounds[] = {
        1,
        2,
        3,
        5,
        7,
        52,
        1000,
        UINT64_C(1) << 32,
        (UINT64_C(1) << 32) + 1,
        (UINT64_C(1) << 63) + 1,
        UINT64_C(3) << 62,
        UINT64_MAX,
    };
    struct rng seeded, os;
    rng_init_seeded(&seeded, 7);
    rng_init_os(&os);
    for (size_t b = 0; b < FELT_ARRAY_LEN(bounds); b++) {
        for (int i = 0; i < 20000; i++)
            assert_true(rng_bounded(&seeded, bounds[b]) < bounds[b]);
        for (int i = 0; i < 200; i++)
            assert_true(rng_bounded(&os, bounds[b]) < bounds[b]);
    }
    for (int i = 0; i < 100; i++)
        assert_true(rng_bounded(&seeded, 1) == 0);
}

/*
 * With bound = 3 * 2^62, a plain modulo maps the top quarter of 64-bit values onto [0, 2^62),
 * making that third of the range twice as likely (1/2 instead of 1/3). N = 60,000 draws give a
 * standard deviation of sqrt(N * 1/3 * 2/3) = 115 around 20,000; the bound of +-1,000 is more
 * than 8 deviations (a correct draw fails it with probability below 1e-15) while the modulo
 * mistake lands 10,000 away.
 */
static void test_bounded_unbiased(void **state)
{
    (void)state;
    const uint64_t bound = UINT64_C(3) << 62;
    struct rng r;
    rng_init_seeded(&r, 11);
    int low = 0;
    for (int i = 0; i < 60000; i++)
        low += rng_bounded(&r, bound) < (UINT64_C(1) << 62);
    assert_in_range(low, 19000, 21000);

    /* The same statistic for the plain-modulo mistake, to show the check can fail. */
    rng_init_seeded(&r, 11);
    int naive = 0;
    for (int i = 0; i < 60000; i++)
        naive += rng_u64(&r) % bound < (UINT64_C(1) << 62);
    assert_false(naive >= 19000 && naive <= 21000);
}

/* The index of a permutation of 0..3 in 0..23 (Lehmer code). */
static int perm4_index(const card_t p[4])
{
    int index = 0;
    for (int i = 0; i < 4; i++) {
        int smaller_after = 0;
        for (int j = i + 1; j < 4; j++)
            smaller_after += p[j] < p[i];
        index = index * (4 - i) + smaller_after;
    }
    return index;
}

/* The classic broken shuffle: swap each position with any position. 4^4 = 256 equally likely
 * runs cannot spread evenly over 24 orders. */
static void naive_shuffle(struct rng *r, card_t *cards, int n)
{
    for (int i = 0; i < n; i++) {
        int j = (int)rng_bounded(r, (uint64_t)n);
        card_t t = cards[i];
        cards[i] = cards[j];
        cards[j] = t;
    }
}

/*
 * All 24 orders of 4 cards over N = 240,000 shuffles: 10,000 expected each, 23 degrees of
 * freedom. P(chi-square > 90) is 7e-10 for a uniform shuffle, so a correct implementation
 * essentially never fails; the naive shuffle above scores in the thousands.
 */
static void test_shuffle_chi_square_4(void **state)
{
    (void)state;
    const int n = 240000;
    uint64_t count[24] = {0}, naive[24] = {0};
    struct rng r;
    rng_init_seeded(&r, 2024);
    for (int i = 0; i < n; i++) {
        card_t p[4] = {0, 1, 2, 3};
        rng_shuffle(&r, p, 4);
        count[perm4_index(p)]++;
    }
    for (int i = 0; i < 24; i++)
        assert_true(count[i] > 0);
    assert_true(chi_square(count, 24, n / 24.0) < 90);

    rng_init_seeded(&r, 2024);
    for (int i = 0; i < n; i++) {
        card_t p[4] = {0, 1, 2, 3};
        naive_shuffle(&r, p, 4);
        naive[perm4_index(p)]++;
    }
    assert_true(chi_square(naive, 24, n / 24.0) > 90);
}

/*
 * Where each of the 52 cards lands over N = 52,000 seeded decks: every card reaches every
 * position, and for each card the 52 position counts (1,000 expected each, 51 degrees of
 * freedom) stay below chi-square 150, which a uniform shuffle exceeds with probability 1e-11
 * per card (under 1e-9 for all 52).
 */
static void test_deck_positions(void **state)
{
    (void)state;
    const int n = 52000;
    static uint64_t at[CARD_COUNT][CARD_COUNT]; /* [card][position] */
    memset(at, 0, sizeof(at));
    struct rng r;
    rng_init_seeded(&r, 99);
    for (int i = 0; i < n; i++) {
        card_t deck[CARD_COUNT];
        rng_deck(&r, deck);
        uint64_t seen = 0;
        for (int pos = 0; pos < CARD_COUNT; pos++) {
            assert_true(card_valid(deck[pos]));
            seen |= UINT64_C(1) << deck[pos];
            at[deck[pos]][pos]++;
        }
        assert_true(seen == (UINT64_C(1) << 52) - 1); /* a permutation */
    }
    for (int c = 0; c < CARD_COUNT; c++) {
        for (int pos = 0; pos < CARD_COUNT; pos++)
            assert_true(at[c][pos] > 0);
        assert_true(chi_square(at[c], CARD_COUNT, n / 52.0) < 150);
    }
}

static void test_shuffle_small(void **state)
{
    (void)state;
    struct rng r;
    rng_init_seeded(&r, 5);
    card_t one[1] = {17};
    rng_shuffle(&r, one, 1);
    assert_int_equal(one[0], 17);
    rng_shuffle(&r, NULL, 0);
}

static void test_os_mode(void **state)
{
    (void)state;
    struct rng r;
    rng_init_os(&r);
    assert_int_equal(r.mode, RNG_OS);
    card_t a[CARD_COUNT], b[CARD_COUNT];
    rng_deck(&r, a);
    rng_deck(&r, b);
    /* Two OS decks match with probability 1/52!, about 1e-68. */
    assert_memory_not_equal(a, b, sizeof(a));
    uint64_t seen = 0;
    for (int i = 0; i < CARD_COUNT; i++)
        seen |= UINT64_C(1) << a[i];
    assert_true(seen == (UINT64_C(1) << 52) - 1);
}

static void test_os_bytes(void **state)
{
    (void)state;
    /* More than 256 bytes, so a short read would show as a zero tail. */
    unsigned char a[1000], b[1000];
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    rng_os_bytes(a, sizeof(a));
    rng_os_bytes(b, sizeof(b));
    assert_memory_not_equal(a, b, sizeof(a));
    int zero_tail = 0;
    for (size_t i = sizeof(a) - 32; i < sizeof(a); i++)
        zero_tail += a[i] == 0;
    assert_true(zero_tail < 32);
    rng_os_bytes(a, 0);
}

static void check_token(size_t nbytes)
{
    char t1[2 * 100 + 1], t2[2 * 100 + 1];
    memset(t1, 'x', sizeof(t1));
    rng_token_hex(t1, nbytes);
    rng_token_hex(t2, nbytes);
    assert_int_equal(strlen(t1), 2 * nbytes);
    assert_int_equal(strspn(t1, "0123456789abcdef"), 2 * nbytes);
    assert_string_not_equal(t1, t2);
}

static void test_token(void **state)
{
    (void)state;
    check_token(16);
    check_token(32);
    check_token(100); /* spans several internal chunks */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeded_reproducible),
        cmocka_unit_test(test_bounded_range),
        cmocka_unit_test(test_bounded_unbiased),
        cmocka_unit_test(test_shuffle_chi_square_4),
        cmocka_unit_test(test_deck_positions),
        cmocka_unit_test(test_shuffle_small),
        cmocka_unit_test(test_os_mode),
        cmocka_unit_test(test_os_bytes),
        cmocka_unit_test(test_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
