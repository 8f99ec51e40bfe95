/*
 * test_eval7.c: the exhaustive 7-card check of common/eval.c (ctest label "slow").
 *
 * Evaluates all 133,784,560 seven-card hands with eval_7 and requires the known category
 * totals. The same loop nest keeps incremental keys, one per level, and requires
 * eval_key_rank7 to agree with eval_7 on every hand, so the enumerators built on the key API
 * (equity, the benchmark) rank exactly like eval_7. About a second normally; it is its own
 * executable so ctest can label it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "card.h"
#include "eval.h"

static void test_seven_card_exhaustive(void **state)
{
    (void)state;
    static const uint64_t expected[EVAL_CATEGORIES] = {
        23294460, 58627800, 31433400, 6461620, 6180020, 4047644, 3473184, 224848, 41584,
    };
    uint64_t by_rank[EVAL_RANK_MAX + 1] = {0}, total = 0, key_mismatch = 0;
    card_t h[7];
    struct eval_key k[7];

    eval_init();
    for (h[0] = 0; h[0] < 52; h[0]++) {
        k[0] = eval_key_add(eval_key_empty(), h[0]);
        for (h[1] = h[0] + 1; h[1] < 52; h[1]++) {
            k[1] = eval_key_add(k[0], h[1]);
            for (h[2] = h[1] + 1; h[2] < 52; h[2]++) {
                k[2] = eval_key_add(k[1], h[2]);
                for (h[3] = h[2] + 1; h[3] < 52; h[3]++) {
                    k[3] = eval_key_add(k[2], h[3]);
                    for (h[4] = h[3] + 1; h[4] < 52; h[4]++) {
                        k[4] = eval_key_add(k[3], h[4]);
                        for (h[5] = h[4] + 1; h[5] < 52; h[5]++) {
                            k[5] = eval_key_add(k[4], h[5]);
                            for (h[6] = h[5] + 1; h[6] < 52; h[6]++) {
                                uint16_t v = eval_7(h);
                                by_rank[v]++;
                                key_mismatch += eval_key_rank7(eval_key_add(k[5], h[6])) != v;
                                total++;
                            }
                        }
                    }
                }
            }
        }
    }
    assert_true(total == 133784560);
    assert_true(key_mismatch == 0);
    assert_true(by_rank[0] == 0);

    /* Categories from ranks once per rank, not once per hand. Seven cards can make only 4,824
     * of the 7,462 ranks (never, say, 7-5-4-3-2 high: two more cards always pair or improve). */
    uint64_t count[EVAL_CATEGORIES] = {0};
    int distinct = 0;
    for (int v = 1; v <= EVAL_RANK_MAX; v++) {
        if (by_rank[v]) {
            distinct++;
            count[eval_category((uint16_t)v)] += by_rank[v];
        }
    }
    assert_int_equal(distinct, 4824);
    for (int c = 0; c < EVAL_CATEGORIES; c++)
        assert_true(count[c] == expected[c]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seven_card_exhaustive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
