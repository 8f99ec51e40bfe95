/*
 * bench_equity.c: what feltd's all-in equity costs (felt-bench-equity): exact preflop equity of
 * 2, 4 and 6 tabled hands, counted in one call (equity_exact) and in feltd's slices
 * (equity_step with EQUITY_JOB_SLICE_EVALS, server/equity_job.h), plus a flop run-out, the
 * largest case feltd counts on the spot (EQUITY_JOB_INLINE_EVALS).
 *
 * For each case: the boards and evaluations, the whole count (best and median of
 * BENCH_EQ_ROUNDS), and for the sliced count the number of slices and the longest and median
 * slice, in wall time and in this thread's CPU time: the longest slice is the most another
 * table can be kept waiting by an equity count, and its CPU time is that wait without the time
 * the machine gave to other processes meanwhile (on a busy machine the wall maximum is a
 * preemption, which delays every table alike, equity or not).
 * Then feltd's schedule as server/equity_job.c runs it: timer runs of slices until
 * EQUITY_JOB_RUN_US have passed (or EQUITY_JOB_RUN_SLICES are done), EQUITY_JOB_PAUSE_MS apart
 * (slept here): the number of runs, the longest run (wall and CPU: what another table may wait)
 * and the whole wait of the table whose hands are tabled. The hands are fixed (printed), so
 * runs compare. Results feed a printed checksum so the
 * compiler cannot drop the work. docs/performance.md records what it printed; nothing here is
 * asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "card.h"
#include "equity.h"
#include "equity_job.h"
#include "eval.h"
#include "util.h"

#define BENCH_EQ_ROUNDS 7
#define BENCH_EQ_MAX_SLICES 4096

static double bench_eq_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int bench_eq_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void bench_eq_schedule(const card_t hands[][2], int n, const card_t *board, int nb,
                              double *checksum);

/* One case: hands (as text, two cards each) and a board (text, may be ""). */
static void bench_eq_case(const char *label, const char *hands_text, const char *board_text,
                          double *checksum)
{
    card_t c[2 * EQUITY_MAX_HANDS], board[5], hands[EQUITY_MAX_HANDS][2];
    struct felt_err err = {0};
    int nc = card_parse_list(hands_text, c, 2 * EQUITY_MAX_HANDS, &err);
    int nb = card_parse_list(board_text, board, 5, &err);
    if (nc < 4 || nc % 2 || nb < 0) felt_fatal("bench: bad cards in %s", label);
    int n = nc / 2;
    for (int i = 0; i < nc; i++)
        hands[i / 2][i % 2] = c[i];

    double whole[BENCH_EQ_ROUNDS], sliced[BENCH_EQ_ROUNDS];
    static double slice_us[BENCH_EQ_MAX_SLICES * BENCH_EQ_ROUNDS];
    static double slice_cpu[BENCH_EQ_MAX_SLICES * BENCH_EQ_ROUNDS];
    int nslices = 0, total_slices = 0;
    struct equity_result r;
    for (int round = 0; round < BENCH_EQ_ROUNDS; round++) {
        int64_t t0 = felt_mono_us();
        if (equity_exact((const card_t(*)[2])hands, n, board, nb, &r, &err) != 0)
            felt_fatal("bench: %s", err.message);
        whole[round] = (double)(felt_mono_us() - t0) / 1000.0;
        *checksum += r.equity[0];

        struct equity_walk w;
        if (equity_start(&w, (const card_t(*)[2])hands, n, board, nb, &err) != 0)
            felt_fatal("bench: %s", err.message);
        int64_t s0 = felt_mono_us();
        bool done = false;
        nslices = 0;
        while (!done) {
            int64_t a = felt_mono_us();
            double ac = bench_eq_cpu_us();
            done = equity_step(&w, EQUITY_JOB_SLICE_EVALS);
            if (total_slices < BENCH_EQ_MAX_SLICES * BENCH_EQ_ROUNDS) {
                slice_cpu[total_slices] = bench_eq_cpu_us() - ac;
                slice_us[total_slices++] = (double)(felt_mono_us() - a);
            }
            nslices++;
        }
        sliced[round] = (double)(felt_mono_us() - s0) / 1000.0;
        equity_finish(&w, &r);
        *checksum += r.equity[n - 1];
    }
    qsort(whole, BENCH_EQ_ROUNDS, sizeof(double), bench_eq_cmp);
    qsort(sliced, BENCH_EQ_ROUNDS, sizeof(double), bench_eq_cmp);
    qsort(slice_us, (size_t)total_slices, sizeof(double), bench_eq_cmp);
    qsort(slice_cpu, (size_t)total_slices, sizeof(double), bench_eq_cmp);
    printf("%s: %s%s%s\n", label, hands_text, nb ? " on " : "", board_text);
    printf("  %llu boards, %llu evaluations; win of hand 1 %.4f\n", (unsigned long long)r.boards,
           (unsigned long long)equity_cost(n, nb), (double)r.wins[0] / (double)r.boards);
    printf("  whole count  %8.2f ms best, %8.2f median (%d runs)\n", whole[0],
           whole[BENCH_EQ_ROUNDS / 2], BENCH_EQ_ROUNDS);
    printf("  sliced count %8.2f ms best, %8.2f median; %d slices of %d evaluations\n", sliced[0],
           sliced[BENCH_EQ_ROUNDS / 2], nslices, EQUITY_JOB_SLICE_EVALS);
    bench_eq_schedule((const card_t(*)[2])hands, n, board, nb, checksum);
    printf("  one slice    %8.3f ms median, %.3f p99, %.3f longest (wall); CPU %.3f median, "
           "%.3f longest\n",
           slice_us[total_slices / 2] / 1000.0, slice_us[total_slices * 99 / 100] / 1000.0,
           slice_us[total_slices - 1] / 1000.0, slice_cpu[total_slices / 2] / 1000.0,
           slice_cpu[total_slices - 1] / 1000.0);
}

/* feltd's schedule for one count (see the top); prints one line. */
static void bench_eq_schedule(const card_t hands[][2], int n, const card_t *board, int nb,
                              double *checksum)
{
    struct equity_walk w;
    struct equity_result r;
    struct felt_err err;
    double longest = 0, longest_cpu = 0;
    int runs = 0;
    if (equity_start(&w, hands, n, board, nb, &err) != 0) felt_fatal("bench: %s", err.message);
    int64_t t0 = felt_mono_us();
    for (bool done = false; !done;) {
        int64_t a = felt_mono_us();
        double ac = bench_eq_cpu_us();
        for (int i = 0; i < EQUITY_JOB_RUN_SLICES && !done; i++) {
            done = equity_step(&w, EQUITY_JOB_SLICE_EVALS);
            if (felt_mono_us() - a >= EQUITY_JOB_RUN_US) break;
        }
        double us = (double)(felt_mono_us() - a), cpu = bench_eq_cpu_us() - ac;
        longest = us > longest ? us : longest;
        longest_cpu = cpu > longest_cpu ? cpu : longest_cpu;
        runs++;
        if (!done) usleep(EQUITY_JOB_PAUSE_MS * 1000);
    }
    double held = (double)(felt_mono_us() - t0) / 1000.0;
    equity_finish(&w, &r);
    *checksum += r.equity[0];
    printf("  feltd's runs %5d runs, longest %.3f ms (wall), %.3f ms (CPU); table held %.1f ms\n",
           runs, longest / 1000.0, longest_cpu / 1000.0, held);
}

int main(void)
{
    double checksum = 0;
    eval_init();
    bench_eq_case("2 hands preflop", "Ah Kh Qs Qd", "", &checksum);
    bench_eq_case("4 hands preflop", "Ah Kh Qs Qd 7c 2d Jc Tc", "", &checksum);
    bench_eq_case("6 hands preflop", "Ah Kh Qs Qd 7c 2d Jc Tc 9s 9h 5d 4d", "", &checksum);
    bench_eq_case("6 hands on the flop (counted on the spot)",
                  "Ah Kh Qs Qd 7c 2d Jc Tc 9s 9h 5d 4d", "2c 8s Kd", &checksum);
    printf("checksum %.6f\n", checksum);
    return 0;
}
