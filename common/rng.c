/*
 * rng.c: the OS CSPRNG (getrandom) for play and tokens, and a seeded generator for tests.
 *
 * RNG_OS asks the kernel for every 64-bit draw. That costs one system call per draw (about 51
 * for a shuffle), which is negligible next to a hand of poker and means no random state is ever
 * buffered in our memory where it could leak or be shared between tables. RNG_SEEDED is
 * xoshiro256** seeded through splitmix64: fast, reproducible, and not cryptographic, so it is
 * only for tests and replays.
 */
#include "rng.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "util.h"

void rng_os_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        /* Flags 0: block until the pool is initialised, then never block again. Reads of more
         * than 256 bytes may come back short, and a signal may interrupt: both just loop. */
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            felt_fatal("getrandom: %s", strerror(errno));
        }
        p += got;
        n -= (size_t)got;
    }
}

static uint64_t rng_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void rng_init_os(struct rng *r)
{
    memset(r, 0, sizeof(*r));
    r->mode = RNG_OS;
}

void rng_init_seeded(struct rng *r, uint64_t seed)
{
    memset(r, 0, sizeof(*r));
    r->mode = RNG_SEEDED;
    /* splitmix64 never yields four zero words in a row, so the xoshiro state is valid for every
     * seed, including 0. */
    for (int i = 0; i < 4; i++)
        r->s[i] = rng_splitmix64(&seed);
}

static inline uint64_t rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_xoshiro(uint64_t s[4])
{
    uint64_t out = rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return out;
}

uint64_t rng_u64(struct rng *r)
{
    switch (r->mode) {
    case RNG_OS: {
        uint64_t x;
        rng_os_bytes(&x, sizeof(x));
        return x;
    }
    case RNG_SEEDED:
        return rng_xoshiro(r->s);
    }
    felt_fatal("rng_u64: bad mode %d", (int)r->mode);
}

uint64_t rng_bounded(struct rng *r, uint64_t bound)
{
    if (bound == 0) felt_fatal("rng_bounded: bound 0");
    /* Lemire's method: the high word of x * bound is uniform in [0, bound) once the draws whose
     * low word falls below 2^64 mod bound are rejected; those are exactly the surplus that would
     * make some results more likely. The rejection threshold is computed only when needed. */
    unsigned __int128 m = (unsigned __int128)rng_u64(r) * bound;
    uint64_t low = (uint64_t)m;
    if (low < bound) {
        uint64_t threshold = (0 - bound) % bound; /* 2^64 mod bound */
        while (low < threshold) {
            m = (unsigned __int128)rng_u64(r) * bound;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

void rng_shuffle(struct rng *r, card_t *cards, int n)
{
    FELT_ASSERT(n >= 0);
    /* Fisher-Yates: position i takes a uniformly chosen card among the i + 1 not yet placed. */
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_bounded(r, (uint64_t)i + 1);
        card_t t = cards[i];
        cards[i] = cards[j];
        cards[j] = t;
    }
}

void rng_deck(struct rng *r, card_t deck[CARD_COUNT])
{
    for (int i = 0; i < CARD_COUNT; i++)
        deck[i] = (card_t)i;
    rng_shuffle(r, deck, CARD_COUNT);
}

void rng_token_hex(char *out, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char chunk[32];

    if (nbytes < 16) felt_fatal("rng_token_hex: %zu bytes is too short for a secret", nbytes);
    for (size_t done = 0; done < nbytes;) {
        size_t n = nbytes - done < sizeof(chunk) ? nbytes - done : sizeof(chunk);
        rng_os_bytes(chunk, n);
        for (size_t i = 0; i < n; i++) {
            out[2 * (done + i)] = hex[chunk[i] >> 4];
            out[2 * (done + i) + 1] = hex[chunk[i] & 15];
        }
        done += n;
    }
    out[2 * nbytes] = '\0';
    /* The token is a secret: do not leave its bytes behind on the stack. */
    explicit_bzero(chunk, sizeof(chunk));
}
