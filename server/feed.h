/*
 * feed.h: one node's reading of the tables' event streams when feltd runs as several nodes
 * (issue 14, docs/scaling.md; relay.c follows the tables it mirrors through it).
 *
 * A table's owner appends every event to the table's stream in Redis (gap-free seq, fenced:
 * redis.h) and publishes it. Every node that serves the table follows it here: events are
 * delivered to the node's own sockets in seq order, each exactly once, from the publishes when
 * they arrive in order (the fast path), and from the stream (a range read) when one is missing:
 * a publish that skips ahead, a subscription that was down, a node that starts following late.
 * Publishes that arrive while a range read is in flight are not kept: the stream has them, and
 * the read is repeated until it has caught up with the highest seq published.
 *
 * A stream has an epoch, a name the owner gives it when it starts it (docs/scaling.md): seqs are
 * numbered within an epoch, so (epoch, seq) names an event for good. A stream lost with a Redis
 * that forgot is started again by its owner under a new epoch; a node that sees the epoch change
 * reads the new stream from its start and reports the break (reset): whoever reads the table on
 * that node needs a snapshot.
 *
 * Socket-free: range reads go out through struct feed_ops (redis.c; fakes in tests), and their
 * replies and the publishes come in through feed_on_range and feed_on_publish. A failed read is
 * retried on timer.c's timers.
 */
#ifndef FELT_FEED_H
#define FELT_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FEED_RANGE_MAX 512     /* events asked for per range read */
#define FEED_RETRY_MS 200      /* a failed range read is sent again after this */
#define FEED_EPOCH_MAX 32      /* bytes of a stream's epoch, at most (no spaces in it) */

struct feed;

struct feed_ops {
    /* Read the events of table_id with seq >= from, at most count, oldest first; the reply
     * comes through feed_on_range with req, exactly once (a lost connection: ok false).
     * Returns 0, or -1 when it cannot be sent now (retried after FEED_RETRY_MS). */
    int (*range)(void *user, uint64_t req, const char *table_id, int64_t from, int count);
};

struct feed_hooks {
    /* The next event of table_id, in order: seq of epoch. payload is valid only during the
     * call. */
    void (*deliver)(void *arg, const char *table_id, const char *epoch, int64_t seq,
                    const char *payload, size_t len);
    /* The events from the next expected one on are not all there: the stream was trimmed past
     * them (same epoch), or it is a new stream (another epoch: the old one was lost with a Redis
     * that forgot). Whoever reads this table here needs a snapshot. Delivery goes on from seq
     * first of epoch. May be NULL. */
    void (*reset)(void *arg, const char *table_id, const char *epoch, int64_t first);
};

struct feed_event {
    int64_t seq;
    const char *payload;
    size_t len;
};

/* An epoch of n bytes as streams and channels carry it: 1..FEED_EPOCH_MAX bytes, none of them a
 * space or a control character. */
bool feed_epoch_valid(const char *epoch, size_t n);

struct feed *feed_new(const struct feed_ops *ops, void *ops_user, const struct feed_hooks *hooks,
                      void *hooks_arg);
void feed_free(struct feed *f);

/* Start delivering table_id's events from seq next (>= 1) of epoch: a range read catches up on
 * what the stream already holds. epoch NULL or "": the stream's, whatever it is. Returns 0, or -1
 * for a malformed table id or epoch, or next < 1. Following a table already followed changes
 * nothing. */
int feed_follow(struct feed *f, const char *table_id, const char *epoch, int64_t next);
void feed_unfollow(struct feed *f, const char *table_id);
/* The seq the next delivery of table_id will have; 0 when not followed. */
int64_t feed_next(const struct feed *f, const char *table_id);

/* A published event (table_id's channel said "epoch seq payload"). */
void feed_on_publish(struct feed *f, const char *table_id, const char *epoch, int64_t seq,
                     const char *payload, size_t len);
/* The reply to range read req of table_id: ok false when it failed (retried), else the stream's
 * epoch ("": there is no stream now) and the n events found, oldest first (none: the stream
 * holds nothing from there on). */
void feed_on_range(struct feed *f, const char *table_id, uint64_t req, bool ok, const char *epoch,
                   const struct feed_event *ev, int n);
/* The subscription was (re)established: what was published meanwhile is lost, so every
 * followed table catches up from its stream. */
void feed_resync(struct feed *f);

#endif
