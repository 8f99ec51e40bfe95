/*
 * history.c: the bounded ring of a table's most recent events.
 *
 * Every connection reads the table's events through its own cursor (a seq) into this ring, the
 * pattern of lws's minimal-ws-server-ring: an event is rendered once and kept once, however
 * many connections send it. A connection whose cursor falls off the end of the ring (a slow
 * reader, or a resume from too long ago) gets a snapshot instead, so no per-connection backlog
 * can grow. Memory is cap events per table, whatever the number of readers.
 */
#include <stdlib.h>

#include "server.h"

void history_init(struct history *h, size_t cap)
{
    FELT_ASSERT(cap > 0);
    h->ring = xcalloc(cap, sizeof(*h->ring));
    h->cap = cap;
    h->first_seq = 1;
    h->count = 0;
}

void history_free(struct history *h)
{
    for (size_t i = 0; i < h->cap; i++)
        event_unref(h->ring[i]);
    free(h->ring);
    h->ring = NULL;
}

void history_push(struct history *h, struct event *ev)
{
    FELT_ASSERT(ev->seq == h->first_seq + h->count);
    size_t slot = ev->seq % h->cap;
    if (h->count == h->cap) {
        event_unref(h->ring[slot]);
        h->first_seq++;
    } else {
        h->count++;
    }
    h->ring[slot] = ev;
}

struct event *history_get(const struct history *h, uint64_t seq)
{
    if (h->count == 0 || seq < h->first_seq || seq >= h->first_seq + h->count)
        return NULL;
    return h->ring[seq % h->cap];
}
