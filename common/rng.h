/*
 * rng.h: randomness for felt: the OS CSPRNG for play and tokens, a seeded mode for tests.
 *
 * Play always uses RNG_OS (getrandom(2)); the seeded mode exists only so tests and replays are
 * reproducible and is never the server's default. Nothing here is ever seeded from the time.
 * Bounded draws use rejection sampling, so no value is more likely than another.
 */
#ifndef FELT_RNG_H
#define FELT_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "card.h"

enum rng_mode { RNG_OS, RNG_SEEDED };

struct rng {
    enum rng_mode mode;
    uint64_t s[4]; /* seeded-mode state (xoshiro256**); unused for RNG_OS */
};

void rng_init_os(struct rng *r);
void rng_init_seeded(struct rng *r, uint64_t seed);

uint64_t rng_u64(struct rng *r);
/* Uniform in [0, bound), bound >= 1, without modulo bias. */
uint64_t rng_bounded(struct rng *r, uint64_t bound);

/* Fills buf from the OS CSPRNG, whatever the mode; fatal if the kernel cannot supply it. */
void rng_os_bytes(void *buf, size_t n);

/* Fisher-Yates shuffle of n cards. */
void rng_shuffle(struct rng *r, card_t *cards, int n);
/* Fills deck[52] with all cards in order, then shuffles it. */
void rng_deck(struct rng *r, card_t deck[CARD_COUNT]);

/* A secret token: nbytes (>= 16) from the OS CSPRNG as lowercase hex into out[2*nbytes+1]. */
void rng_token_hex(char *out, size_t nbytes);

#endif
