/*
 * bench_eval.c: how fast the hand evaluator and exact equity run (felt-bench-eval).
 *
 * Prints the table build time and size, 7-card evaluations per second over all 133,784,560
 * hands in order (with incremental keys, as an enumerator uses them, and with eval_7 on each
 * hand) and over random hands (eval_7 on pregenerated hands, so drawing them is not timed),
 * and milliseconds per heads-up preflop equity. Each result feeds a checksum that is printed, so the compiler cannot drop the work.
 * It runs in a few seconds on one core; docs/performance.md records its numbers. Timing is
 * measured here and never asserted anywhere.
 */
#include <stdio.h>
#include <stdlib.h>

#include "card.h"
#include "equity.h"
#include "eval.h"
#include "rng.h"
#include "util.h"

#define BENCH_RANDOM_HANDS (1 << 21) /* 14 MiB of hands: bigger than the caches, like real use */
#define BENCH_RANDOM_PASSES 16
#define BENCH_EQUITY_ROUNDS 5

#define BENCH_REPEATS 5 /* each rate is measured this many times; best and median printed */

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Runs fn BENCH_REPEATS times and prints its rate in millions of evaluations per second. */
static void bench_rate(const char *label, uint64_t (*fn)(void *, uint64_t *), void *ctx,
                       uint64_t *checksum)
{
    double rate[BENCH_REPEATS];
    uint64_t n = 0;
    for (int i = 0; i < BENCH_REPEATS; i++) {
        int64_t t0 = felt_mono_us();
        n = fn(ctx, checksum);
        int64_t t1 = felt_mono_us();
        rate[i] = (double)n / ((double)(t1 - t0) / 1e6) / 1e6;
    }
    qsort(rate, BENCH_REPEATS, sizeof(rate[0]), bench_cmp_double);
    printf("%-34s %6.1f M evals/s best, %6.1f median (%llu evals x %d)\n", label,
           rate[BENCH_REPEATS - 1], rate[BENCH_REPEATS / 2], (unsigned long long)n,
           BENCH_REPEATS);
}

/* All 7-card hands, each level of the loop nest keeping its partial key. */
static uint64_t bench_sequential(void *ctx, uint64_t *checksum)
{
    (void)ctx;
    uint64_t n = 0, sum = 0;
    struct eval_key k0 = eval_key_empty();
    for (card_t a = 0; a < 46; a++) {
        struct eval_key ka = eval_key_add(k0, a);
        for (card_t b = a + 1; b < 47; b++) {
            struct eval_key kb = eval_key_add(ka, b);
            for (card_t c = b + 1; c < 48; c++) {
                struct eval_key kc = eval_key_add(kb, c);
                for (card_t d = c + 1; d < 49; d++) {
                    struct eval_key kd = eval_key_add(kc, d);
                    for (card_t e = d + 1; e < 50; e++) {
                        struct eval_key ke = eval_key_add(kd, e);
                        for (card_t f = e + 1; f < 51; f++) {
                            struct eval_key kf = eval_key_add(ke, f);
                            for (card_t g = f + 1; g < 52; g++)
                                sum += eval_key_rank7(eval_key_add(kf, g));
                            n += (uint64_t)(51 - f);
                        }
                    }
                }
            }
        }
    }
    *checksum += sum;
    return n;
}

/* The same hands in the same order, each ranked from scratch by eval_7. */
static uint64_t bench_sequential_eval7(void *ctx, uint64_t *checksum)
{
    (void)ctx;
    uint64_t n = 0, sum = 0;
    card_t h[7];
    for (h[0] = 0; h[0] < 46; h[0]++)
        for (h[1] = h[0] + 1; h[1] < 47; h[1]++)
            for (h[2] = h[1] + 1; h[2] < 48; h[2]++)
                for (h[3] = h[2] + 1; h[3] < 49; h[3]++)
                    for (h[4] = h[3] + 1; h[4] < 50; h[4]++)
                        for (h[5] = h[4] + 1; h[5] < 51; h[5]++)
                            for (h[6] = h[5] + 1; h[6] < 52; h[6]++) {
                                sum += eval_7(h);
                                n++;
                            }
    *checksum += sum;
    return n;
}

/* Fills hands[n][7] with random distinct cards (a partial Fisher-Yates of a fresh deck). */
static void bench_random_hands(card_t (*hands)[7], int n)
{
    struct rng r;
    rng_init_seeded(&r, 20240601);
    for (int i = 0; i < n; i++) {
        card_t deck[CARD_COUNT];
        for (int c = 0; c < CARD_COUNT; c++)
            deck[c] = (card_t)c;
        for (int j = 0; j < 7; j++) {
            int k = j + (int)rng_bounded(&r, (uint64_t)(CARD_COUNT - j));
            card_t t = deck[j];
            deck[j] = deck[k];
            deck[k] = t;
            hands[i][j] = deck[j];
        }
    }
}

/* BENCH_RANDOM_PASSES passes of eval_7 over the pregenerated hands. */
static uint64_t bench_random(void *ctx, uint64_t *checksum)
{
    card_t(*hands)[7] = ctx;
    uint64_t sum = 0;
    for (int pass = 0; pass < BENCH_RANDOM_PASSES; pass++)
        for (int i = 0; i < BENCH_RANDOM_HANDS; i++)
            sum += eval_7(hands[i]);
    *checksum += sum;
    return (uint64_t)BENCH_RANDOM_PASSES * BENCH_RANDOM_HANDS;
}

int main(void)
{
    uint64_t checksum = 0;

    /* Other work on the machine skews every number below: say how busy it was. */
    FILE *f = fopen("/proc/loadavg", "r");
    char load[64];
    if (f && fgets(load, sizeof(load), f))
        printf("%-34s %s", "load average at start", load);
    if (f)
        fclose(f);

    int64_t t0 = felt_mono_us();
    eval_init();
    int64_t t1 = felt_mono_us();
    printf("%-34s %6.2f ms, %zu bytes (%.1f KiB)\n", "table build (eval_init)",
           (double)(t1 - t0) / 1e3, eval_table_bytes(), (double)eval_table_bytes() / 1024);

    bench_rate("sequential 7-card, incremental keys", bench_sequential, NULL, &checksum);
    bench_rate("sequential 7-card, eval_7 each", bench_sequential_eval7, NULL, &checksum);
    card_t(*hands)[7] = xmalloc(sizeof(*hands) * BENCH_RANDOM_HANDS);
    bench_random_hands(hands, BENCH_RANDOM_HANDS);
    bench_rate("random 7-card, eval_7", bench_random, hands, &checksum);
    free(hands);

    /* Heads-up preflop: a suited, an offsuit and a pair matchup, each a few times. */
    static const char *const matchups[][2] = {
        {"Ah Kh", "Qs Qd"},
        {"7c 2d", "Ts 9s"},
        {"As Ad", "Kc Kd"},
    };
    double ms[FELT_ARRAY_LEN(matchups) * BENCH_EQUITY_ROUNDS];
    int runs = 0;
    for (size_t m = 0; m < FELT_ARRAY_LEN(matchups); m++) {
        card_t hc[2][2];
        struct felt_err err;
        struct equity_result res;
        if (card_parse_list(matchups[m][0], hc[0], 2, &err) != 2 ||
            card_parse_list(matchups[m][1], hc[1], 2, &err) != 2)
            felt_fatal("bench: bad matchup");
        for (int round = 0; round < BENCH_EQUITY_ROUNDS; round++) {
            t0 = felt_mono_us();
            if (equity_exact(hc, 2, NULL, 0, &res, &err) < 0)
                felt_fatal("bench: equity: %s", err.message);
            t1 = felt_mono_us();
            ms[runs++] = (double)(t1 - t0) / 1e3;
            checksum += res.wins[0];
        }
        printf("equity %s vs %s: %.3f%% / %.3f%% over %llu boards\n", matchups[m][0],
               matchups[m][1], 100 * res.equity[0], 100 * res.equity[1],
               (unsigned long long)res.boards);
    }
    qsort(ms, (size_t)runs, sizeof(ms[0]), bench_cmp_double);
    printf("%-34s %6.2f ms best, %6.2f median (%d runs)\n", "heads-up preflop equity", ms[0],
           ms[runs / 2], runs);
    printf("checksum %llu\n", (unsigned long long)checksum);
    return 0;
}
