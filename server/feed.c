/*
 * feed.c: the tables' event streams as one node reads them (feed.h): in seq order, each event
 * once, from publishes while they come in order and from range reads of the stream otherwise.
 *
 * Each followed table is an entry: the next seq to deliver, whether a range read is in flight
 * (and its request number: a reply names its table and is stale unless its number is the
 * entry's latest), and the highest seq published while it was
 * in flight. A read that comes back full, or short of that highest seq, is followed by another
 * from where it ended; a failed one is retried on the entry's timer. Nothing published is
 * buffered here: a publish is delivered at once or dropped, since the stream keeps everything
 * the owner appended and a read finds it again, so a burst costs no memory on this side.
 *
 * An entry also knows its stream's epoch. A publish of another epoch is not delivered: it makes
 * a read, and a read that finds another epoch than the entry's starts the entry again on the new
 * stream (a read from its start, whose first event is delivered after a reset).
 */
#include "feed.h"

#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "server.h"

#define FEED_BUCKETS 256

struct feed_table {
    char table_id[PROTO_GAME_ID_MAX + 1];
    struct feed_table *next_in_bucket;
    struct feed *f;
    int64_t next;      /* the seq to deliver next */
    int64_t seen_max;  /* highest seq published while a read was in flight */
    char epoch[FEED_EPOCH_MAX + 1]; /* the stream's epoch; "" until the first read says */
    bool rebase;       /* a new epoch: the next read's first event starts delivery (a reset) */
    bool recheck;      /* a publish of another epoch came during the read in flight */
    bool reading;      /* a range read is in flight */
    uint64_t req;      /* its number */
    struct timer *retry;
};

struct feed {
    const struct feed_ops *ops;
    void *ops_user;
    struct feed_hooks hooks;
    void *hooks_arg;
    uint64_t next_req;
    struct feed_table *buckets[FEED_BUCKETS];
};

static struct feed_table **feed_slot(struct feed *f, const char *table_id)
{
    struct feed_table **pp = &f->buckets[felt_hash_str(table_id) % FEED_BUCKETS];
    while (*pp && strcmp((*pp)->table_id, table_id) != 0)
        pp = &(*pp)->next_in_bucket;
    return pp;
}

static struct feed_table *feed_find(const struct feed *f, const char *table_id)
{
    return *feed_slot((struct feed *)f, table_id);
}

struct feed *feed_new(const struct feed_ops *ops, void *ops_user, const struct feed_hooks *hooks,
                      void *hooks_arg)
{
    struct feed *f = xcalloc(1, sizeof(*f));
    f->ops = ops;
    f->ops_user = ops_user;
    if (hooks) f->hooks = *hooks;
    f->hooks_arg = hooks_arg;
    return f;
}

static void feed_table_free(struct feed_table *t)
{
    timer_free(t->retry);
    free(t);
}

void feed_free(struct feed *f)
{
    if (!f) return;
    for (int b = 0; b < FEED_BUCKETS; b++) {
        while (f->buckets[b]) {
            struct feed_table *t = f->buckets[b];
            f->buckets[b] = t->next_in_bucket;
            feed_table_free(t);
        }
    }
    free(f);
}

/* Asks the stream for what follows t->next. */
static void feed_read(struct feed_table *t)
{
    struct feed *f = t->f;
    t->req = ++f->next_req;
    t->reading = true;
    if (f->ops->range(f->ops_user, t->req, t->table_id, t->next, FEED_RANGE_MAX) != 0) {
        t->reading = false;
        timer_arm(t->retry, FEED_RETRY_MS);
    }
}

static void feed_retry_fire(void *arg)
{
    struct feed_table *t = arg;
    if (!t->reading) feed_read(t);
}

bool feed_epoch_valid(const char *epoch, size_t n)
{
    if (!epoch || n == 0 || n > FEED_EPOCH_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)epoch[i] <= ' ') return false;
    return true;
}

int feed_follow(struct feed *f, const char *table_id, const char *epoch, int64_t next)
{
    size_t n = table_id ? strlen(table_id) : 0;
    bool any_epoch = !epoch || !epoch[0];
    if (n == 0 || n > PROTO_GAME_ID_MAX || next < 1 || (!any_epoch && !feed_epoch_valid(epoch, strlen(epoch))))
        return -1;
    struct feed_table **slot = feed_slot(f, table_id);
    if (*slot) return 0;
    struct feed_table *t = xcalloc(1, sizeof(*t));
    memcpy(t->table_id, table_id, n + 1);
    if (!any_epoch) memcpy(t->epoch, epoch, strlen(epoch) + 1);
    t->f = f;
    t->next = next;
    t->retry = timer_new(feed_retry_fire, t);
    *slot = t;
    feed_read(t);
    return 0;
}

void feed_unfollow(struct feed *f, const char *table_id)
{
    struct feed_table **slot = feed_slot(f, table_id);
    struct feed_table *t = *slot;
    if (!t) return;
    *slot = t->next_in_bucket;
    feed_table_free(t);
}

int64_t feed_next(const struct feed *f, const char *table_id)
{
    const struct feed_table *t = feed_find(f, table_id);
    return t ? t->next : 0;
}

/* Delivers seq (== t->next). The hook may unfollow the table: returns false then (t freed). */
static bool feed_deliver(struct feed_table *t, int64_t seq, const char *payload, size_t len)
{
    struct feed *f = t->f;
    char id[PROTO_GAME_ID_MAX + 1];
    memcpy(id, t->table_id, sizeof(id));
    t->next = seq + 1;
    if (f->hooks.deliver) f->hooks.deliver(f->hooks_arg, id, t->epoch, seq, payload, len);
    return feed_find(f, id) == t;
}

/* The events from t->next on are not all there: reset, then on from first. The hook may
 * unfollow the table: returns false then (t freed). */
static bool feed_reset(struct feed_table *t, int64_t first)
{
    struct feed *f = t->f;
    char id[PROTO_GAME_ID_MAX + 1];
    memcpy(id, t->table_id, sizeof(id));
    t->next = first;
    if (f->hooks.reset) f->hooks.reset(f->hooks_arg, id, t->epoch, first);
    return feed_find(f, id) == t;
}

void feed_on_publish(struct feed *f, const char *table_id, const char *epoch, int64_t seq,
                     const char *payload, size_t len)
{
    struct feed_table *t = feed_find(f, table_id);
    if (!t) return; /* not followed */
    if (!epoch || strcmp(epoch, t->epoch) != 0) {
        /* Another epoch than the one being delivered (or none known yet): the stream says
         * which is current. */
        if (t->reading)
            t->recheck = true; /* the read in flight may predate it: read once more after */
        else
            feed_read(t);
        return;
    }
    if (seq < t->next && !t->rebase) return; /* already delivered */
    if (t->reading || t->rebase) { /* a read is (or must be) in flight: it will get this too */
        if (seq > t->seen_max) t->seen_max = seq;
        if (!t->reading) feed_read(t);
        return;
    }
    if (seq == t->next) {
        (void)feed_deliver(t, seq, payload, len);
        return;
    }
    t->seen_max = seq; /* a gap: the stream has what is missing */
    feed_read(t);
}

void feed_on_range(struct feed *f, const char *table_id, uint64_t req, bool ok, const char *epoch,
                   const struct feed_event *ev, int n)
{
    struct feed_table *t = feed_find(f, table_id);
    if (!t || !t->reading || t->req != req) return; /* unfollowed, or an older read */
    t->reading = false;
    if (!ok || (epoch && epoch[0] && !feed_epoch_valid(epoch, strlen(epoch)))) {
        timer_arm(t->retry, FEED_RETRY_MS);
        return;
    }
    bool recheck = t->recheck;
    t->recheck = false;
    if (!epoch || !epoch[0]) {
        /* No stream now (not started yet, or lost with a Redis that forgot): its owner's next
         * append starts one, and its publish brings a read. */
        if (recheck || t->seen_max >= t->next) timer_arm(t->retry, FEED_RETRY_MS);
        return;
    }
    if (strcmp(epoch, t->epoch) != 0) {
        bool known = t->epoch[0] != '\0';
        memcpy(t->epoch, epoch, strlen(epoch) + 1);
        if (known) {
            /* A new stream: its seqs say nothing of the old one's. Read it from its start. */
            t->next = 1;
            t->seen_max = 0;
            t->rebase = true;
            feed_read(t);
            return;
        }
    }
    for (int i = 0; i < n; i++) {
        if (t->rebase) {
            t->rebase = false;
            if (!feed_reset(t, ev[i].seq)) return;
        }
        if (ev[i].seq < t->next) continue;
        /* The stream starts after what we expected: those events are gone. */
        if (ev[i].seq > t->next && !feed_reset(t, ev[i].seq)) return;
        if (!feed_deliver(t, ev[i].seq, ev[i].payload, ev[i].len)) return;
    }
    if (recheck) {
        feed_read(t);
        return;
    }
    /* More to read: a full batch, or publishes seen beyond what the read returned. */
    if (n == FEED_RANGE_MAX || t->seen_max >= t->next) {
        if (n == 0) {
            /* Published but not in the stream (yet, on a replica): look again shortly. */
            timer_arm(t->retry, FEED_RETRY_MS);
            return;
        }
        feed_read(t);
    }
}

void feed_resync(struct feed *f)
{
    for (int b = 0; b < FEED_BUCKETS; b++)
        for (struct feed_table *t = f->buckets[b]; t; t = t->next_in_bucket)
            if (!t->reading) feed_read(t);
}
