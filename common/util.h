/*
 * util.h: the error tiers and small helpers every part of felt shares.
 *
 * Tier 1, user and protocol errors, are returned as a code plus a reason the caller reports
 * (see struct felt_err). Tier 2, impossible states and out-of-memory, stop the process loudly:
 * felt_fatal() and the x*alloc() wrappers never return on failure, so callers need not check.
 */
#ifndef FELT_UTIL_H
#define FELT_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* A user/protocol error: a stable machine code ("raise_too_small") and a human message. */
struct felt_err {
    const char *code; /* static string, never NULL once set */
    char message[160];
};

/* Fills err (if non-NULL) and returns -1, so callers can `return felt_err_set(...)`. */
int felt_err_set(struct felt_err *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Stops the process with a message: for states that must be impossible. */
_Noreturn void felt_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define FELT_ASSERT(cond)                                                                      \
    do {                                                                                       \
        if (!(cond))                                                                           \
            felt_fatal("%s:%d: assertion failed: %s", __FILE__, __LINE__, #cond);              \
    } while (0)

/* Allocation that cannot fail: out-of-memory is fatal. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* A growing text buffer: felt_buf_printf appends (p is malloc'd, NUL-terminated once anything
 * was written; the owner frees p). Out of memory stops loudly, like xmalloc. */
struct felt_buf {
    char *p;
    size_t n, cap;
};
void felt_buf_printf(struct felt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Milliseconds since the epoch (wall clock, for message timestamps and deadlines). */
int64_t felt_now_ms(void);
/* Microseconds from a monotonic clock (for measuring intervals). */
int64_t felt_mono_us(void);
/* FNV-1a of a NUL-terminated string: for the small hash tables keyed by names (not secure
 * against chosen keys; callers bound their chains or key by server-chosen names). */
uint32_t felt_hash_str(const char *s);

#define FELT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
