/*
 * bench_hist.c: the log-linear latency histogram of felt-bench (contract in bench_hist.h).
 */
#include "bench_hist.h"

#include <string.h>

#define BHIST_SUB (1u << BHIST_SUB_BITS)

/* Bucket of v: v itself below 2*SUB, else (octave, top SUB_BITS+1 bits). */
static unsigned bench_hist_index(uint64_t v)
{
    if (v < 2 * BHIST_SUB) return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= SUB_BITS + 1 */
    if (e > BHIST_MAX_EXP) return BHIST_BUCKETS - 1;
    unsigned top = (unsigned)(v >> (e - BHIST_SUB_BITS)); /* in [SUB, 2*SUB) */
    return 2 * BHIST_SUB + (e - BHIST_SUB_BITS - 1) * BHIST_SUB + (top - BHIST_SUB);
}

/* The smallest value of bucket i and the bucket's width. */
static void bench_hist_bounds(unsigned i, double *lo, double *width)
{
    if (i < 2 * BHIST_SUB) {
        *lo = i;
        *width = 1;
        return;
    }
    unsigned k = i - 2 * BHIST_SUB;
    unsigned e = k / BHIST_SUB + BHIST_SUB_BITS + 1;
    unsigned top = k % BHIST_SUB + BHIST_SUB;
    *width = (double)(UINT64_C(1) << (e - BHIST_SUB_BITS));
    *lo = (double)top * *width;
}

void bench_hist_reset(struct bench_hist *h)
{
    memset(h, 0, sizeof(*h));
}

void bench_hist_add(struct bench_hist *h, uint64_t ns)
{
    h->b[bench_hist_index(ns)]++;
    h->count++;
    h->sum_ns += (double)ns;
    if (ns > h->max_ns) h->max_ns = ns;
}

double bench_hist_quantile(const struct bench_hist *h, double q)
{
    if (h->count == 0) return 0;
    if (q >= 1.0) return (double)h->max_ns;
    uint64_t rank = (uint64_t)(q * (double)h->count);
    if (rank >= h->count) rank = h->count - 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < BHIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen > rank) {
            double lo, w;
            bench_hist_bounds(i, &lo, &w);
            double mid = lo + (w - 1) / 2;
            return mid > (double)h->max_ns ? (double)h->max_ns : mid;
        }
    }
    return (double)h->max_ns;
}

double bench_hist_mean(const struct bench_hist *h)
{
    return h->count ? h->sum_ns / (double)h->count : 0;
}
