/*
 * bench_hist.h: felt-bench's latency histogram: fixed memory, any number of samples.
 *
 * Log-linear buckets over nanoseconds (HDR-histogram style): values below 128 ns are exact,
 * larger ones fall in one of 64 sub-buckets per power of two, so a reported quantile is within
 * 1/64 (1.6 %) of the true sample; the maximum is kept exactly. Values up to 2^47 ns (39 h) are
 * bucketed; larger ones are clamped into the last bucket (and still set the exact max).
 */
#ifndef FELT_BENCH_HIST_H
#define FELT_BENCH_HIST_H

#include <stdint.h>

#define BHIST_SUB_BITS 6
#define BHIST_MAX_EXP 47
#define BHIST_BUCKETS                                                                              \
    ((2 << BHIST_SUB_BITS) + (BHIST_MAX_EXP - BHIST_SUB_BITS) * (1 << BHIST_SUB_BITS))

struct bench_hist {
    uint64_t count;
    uint64_t max_ns;
    double sum_ns;
    uint64_t b[BHIST_BUCKETS];
};

void bench_hist_reset(struct bench_hist *h);
void bench_hist_add(struct bench_hist *h, uint64_t ns);
/* The q-quantile (0 < q <= 1) in ns: the midpoint of the bucket holding it (the exact max for
 * q == 1); 0 when empty. */
double bench_hist_quantile(const struct bench_hist *h, double q);
double bench_hist_mean(const struct bench_hist *h);

#endif
