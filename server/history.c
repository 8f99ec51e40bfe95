/*
 * history.c: the bounded rings of a table's most recent events.
 *
 * Every connection reads the table's events through its own cursor (a seq) into these rings,
 * the pattern of lws's minimal-ws-server-ring: an event is rendered once and kept once, however
 * many connections send it. A connection whose cursor falls off the end (a slow reader, or a
 * resume from too long ago) gets a snapshot instead, so no per-connection backlog can grow.
 *
 * Game events and chat are kept in two rings, so that chat can never push game events out: the
 * game ring holds the last `cap` game events, the chat ring the last HISTORY_CHAT_CAP chat
 * messages, each in seq order (seqs interleave, so each ring is searched by bisection). A
 * cursor is still good as long as no game event after it has been dropped. A chat message
 * dropped from its ring while the game events around it are still held is replayed as an
 * "expired" chat placeholder with its seq (docs/protocol.md), so seqs stay gap-free. Memory is
 * cap + HISTORY_CHAT_CAP events per table, whatever the number of readers.
 */
#include <stdlib.h>

#include <json-c/json.h>

#include "server.h"

static void history_ring_init(struct history_ring *r, size_t cap)
{
    FELT_ASSERT(cap > 0);
    r->ev = xcalloc(cap, sizeof(*r->ev));
    r->cap = cap;
    r->head = r->count = 0;
}

static void history_ring_free(struct history_ring *r)
{
    for (size_t i = 0; i < r->count; i++)
        event_unref(r->ev[(r->head + i) % r->cap]);
    free(r->ev);
    r->ev = NULL;
}

/* Appends ev; returns the seq of the event it pushed out (0: none). */
static uint64_t history_ring_push(struct history_ring *r, struct event *ev)
{
    uint64_t dropped = 0;
    if (r->count == r->cap) {
        struct event *old = r->ev[r->head];
        dropped = old->seq;
        event_unref(old);
        r->ev[r->head] = ev;
        r->head = (r->head + 1) % r->cap;
        return dropped;
    }
    r->ev[(r->head + r->count) % r->cap] = ev;
    r->count++;
    return 0;
}

static struct event *history_ring_find(const struct history_ring *r, uint64_t seq)
{
    size_t lo = 0, hi = r->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        struct event *ev = r->ev[(r->head + mid) % r->cap];
        if (ev->seq == seq)
            return ev;
        if (ev->seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void history_init(struct history *h, size_t cap)
{
    history_ring_init(&h->game, cap);
    history_ring_init(&h->chat, HISTORY_CHAT_CAP);
    h->last_seq = 0;
    h->lost_seq = 0;
    h->stub = NULL;
}

void history_free(struct history *h)
{
    history_ring_free(&h->game);
    history_ring_free(&h->chat);
    event_unref(h->stub);
    h->stub = NULL;
}

void history_push(struct history *h, struct event *ev)
{
    FELT_ASSERT(ev->seq == h->last_seq + 1);
    h->last_seq = ev->seq;
    if (ev->type == PROTO_S_CHAT) {
        history_ring_push(&h->chat, ev);
        return;
    }
    uint64_t dropped = history_ring_push(&h->game, ev);
    if (dropped)
        h->lost_seq = dropped;
}

/* The placeholder of an expired chat message (see the file comment). */
static struct event *history_stub(struct history *h, uint64_t seq)
{
    if (h->stub && h->stub->seq == seq)
        return h->stub;
    event_unref(h->stub);
    struct wire_event w;
    wire_init(&w, WIRE_CHAT);
    w.u.chat.expired = true;
    h->stub = event_new(seq, PROTO_S_CHAT);
    event_set_public(h->stub, felt_now_ms(), &w);
    return h->stub;
}

struct event *history_get(struct history *h, uint64_t seq)
{
    if (seq == 0 || seq > h->last_seq || seq <= h->lost_seq)
        return NULL;
    struct event *ev = history_ring_find(&h->game, seq);
    if (!ev)
        ev = history_ring_find(&h->chat, seq);
    /* Neither ring has it, yet no game event after lost_seq was dropped: it was chat. */
    return ev ? ev : history_stub(h, seq);
}
