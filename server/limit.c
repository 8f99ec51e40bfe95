/*
 * limit.c: what one client address, one sender or one table may do: token buckets, the sliding
 * chat window of one sender, and the registry of client addresses with what each one holds (open
 * connections) and spends (joins, chat).
 *
 * A client address is the peer's IP, or, when the peer is the proxy named by --trust-proxy, the
 * address that proxy put last in X-Forwarded-For. Entries are created on first use and kept while
 * anything refers to them (a connection) or any of their buckets is still refilling: forgetting
 * a drained bucket would hand its owner a fresh burst. limit_sweep() frees the rest, so memory is
 * bounded by the live connections plus the addresses seen in the last minute or so.
 *
 * The registry is a chained hash table keyed by the address text, resized by doubling; O(1) per
 * lookup. No I/O here, so it is unit-testable without a socket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

bool limit_bucket_take(struct limit_bucket *b, double per_sec, double burst, double cost,
                       int64_t now_ms)
{
    if (per_sec <= 0)
        return true; /* unlimited */
    if (b->ms == 0) {
        b->tokens = burst;
    } else if (now_ms > b->ms) {
        b->tokens += (double)(now_ms - b->ms) * per_sec / 1000.0;
        if (b->tokens > burst)
            b->tokens = burst;
    }
    b->ms = now_ms;
    if (b->tokens < cost)
        return false;
    b->tokens -= cost;
    return true;
}

/* True when the bucket would be back at its burst by now (so forgetting it loses nothing). */
static bool limit_bucket_full(const struct limit_bucket *b, double per_sec, double burst,
                              int64_t now_ms)
{
    if (b->ms == 0 || per_sec <= 0)
        return true;
    return b->tokens + (double)(now_ms - b->ms) * per_sec / 1000.0 >= burst;
}

static void limit_grow(struct limit_registry *r)
{
    size_t ncap = r->cap ? r->cap * 2 : 64;
    struct limit_addr **nb = xcalloc(ncap, sizeof(*nb));
    for (size_t i = 0; i < r->cap; i++) {
        struct limit_addr *a = r->buckets[i], *next;
        for (; a; a = next) {
            next = a->next;
            size_t j = felt_hash_str(a->ip) & (ncap - 1);
            a->next = nb[j];
            nb[j] = a;
        }
    }
    free(r->buckets);
    r->buckets = nb;
    r->cap = ncap;
}

struct limit_addr *limit_addr_get(struct limit_registry *r, const char *ip)
{
    if (r->cap == 0 || r->count >= r->cap)
        limit_grow(r);
    size_t i = felt_hash_str(ip) & (r->cap - 1);
    for (struct limit_addr *a = r->buckets[i]; a; a = a->next)
        if (strcmp(a->ip, ip) == 0)
            return a;
    struct limit_addr *a = xcalloc(1, sizeof(*a));
    snprintf(a->ip, sizeof(a->ip), "%s", ip);
    a->next = r->buckets[i];
    r->buckets[i] = a;
    r->count++;
    return a;
}

struct limit_addr *limit_addr_find(const struct limit_registry *r, const char *ip)
{
    if (r->cap == 0)
        return NULL;
    for (struct limit_addr *a = r->buckets[felt_hash_str(ip) & (r->cap - 1)]; a; a = a->next)
        if (strcmp(a->ip, ip) == 0)
            return a;
    return NULL;
}

void limit_sweep(struct limit_registry *r, const struct limits *l, int64_t now_ms)
{
    for (size_t i = 0; i < r->cap; i++) {
        struct limit_addr **pp = &r->buckets[i];
        while (*pp) {
            struct limit_addr *a = *pp;
            if (a->conns == 0 &&
                limit_bucket_full(&a->joins, l->joins_per_minute / 60.0, l->joins_per_minute,
                                  now_ms) &&
                limit_bucket_full(&a->chat, l->chat_per_address / 10.0, l->chat_per_address,
                                  now_ms)) {
                *pp = a->next;
                free(a);
                r->count--;
            } else {
                pp = &a->next;
            }
        }
    }
}

void limit_free(struct limit_registry *r)
{
    for (size_t i = 0; i < r->cap; i++) {
        struct limit_addr *a = r->buckets[i], *next;
        for (; a; a = next) {
            next = a->next;
            free(a);
        }
    }
    free(r->buckets);
    memset(r, 0, sizeof(*r));
}

bool limit_window_take(struct limit_window *w, int64_t now_ms)
{
    /* ms[next] is the oldest of the last LIMIT_SENDER_CHATS messages. */
    if (w->ms[w->next] != 0 && now_ms - w->ms[w->next] < LIMIT_SENDER_WINDOW_MS)
        return false;
    w->ms[w->next] = now_ms;
    w->next = (w->next + 1) % LIMIT_SENDER_CHATS;
    return true;
}

bool limit_join_allowed(struct limit_addr *a, const struct limits *l, int64_t now_ms)
{
    return limit_bucket_take(&a->joins, l->joins_per_minute / 60.0, l->joins_per_minute, 1.0,
                             now_ms);
}

void limit_leave_charge(struct limit_addr *a, const struct limits *l, int64_t now_ms)
{
    /* A leave always goes through; it costs a join token when one is left, so that join/leave
     * churn from one address runs out as joins do. */
    (void)limit_bucket_take(&a->joins, l->joins_per_minute / 60.0, l->joins_per_minute, 1.0,
                            now_ms);
}

bool limit_chat_allowed(struct limit_addr *a, const struct limits *l, int64_t now_ms)
{
    return limit_bucket_take(&a->chat, l->chat_per_address / 10.0, l->chat_per_address, 1.0,
                             now_ms);
}
