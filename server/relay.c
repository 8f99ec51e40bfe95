/*
 * relay.c: a table's play carried from its owner to the other nodes (relay.h).
 *
 * The owner's side is an ordered queue per table: snapshots and events, sent in order on the
 * command connection (at most RELAY_WINDOW requests in flight, each a snapshot or up to
 * REDIS_APPEND_MAX consecutive events), each popped when Redis says it is written. Replies come back in the order sent, so the oldest reply is always the queue's head's.
 * A reply other than "written" stops the sending; once every request in flight has answered,
 * the head is sent again after RELAY_RETRY_MS (no connection, a Redis error), the queue is
 * dropped for a new stream (a gap: the stream lost what the queue had counted on), or the
 * relay of that table stops (fenced: the lease is another node's, and the lease's own hooks
 * stand the table by). Every request carries the table's generation, which every change of
 * stream or role moves on, so a reply from before is ignored.
 *
 * Snapshots are rendered, and events sent, only when the table is quiet (a zero-delay timer,
 * never from inside a publish): the table's seq is then the snapshot's, every event up to it is
 * queued before it, and the events one action published go to Redis in one script call. The follower's side is feed.c's order and table.c's mirror; here it only decides which
 * snapshot and which stream to follow.
 */
#include "relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "redis.h"

#define RELAY_TICK_MS 1000
#define RELAY_CHECK_TICKS 3 /* a mirror reads the owner's snapshot at least this often (ticks) */
#define RELAY_EPOCH_BYTES 16 /* an epoch is 32 hex digits (FEED_EPOCH_MAX) */

enum relay_mode { RELAY_IDLE, RELAY_OWN, RELAY_FOLLOW };

/* A request waiting in the owner's queue: an event to append, or a snapshot to write. */
struct relay_item {
    struct event *ev; /* NULL: a snapshot */
    struct msg *snap;
    uint64_t seq;     /* the event's, or the snapshot's */
    bool start;       /* the snapshot starts the stream */
};

struct relay_table {
    struct relay *r;
    struct table *t;
    enum relay_mode mode;
    uint64_t gen;            /* moves on with every new stream and role */
    /* owner */
    int64_t fence;
    char epoch[FEED_EPOCH_MAX + 1];
    struct relay_item *q;    /* a ring of RELAY_QUEUE_MAX */
    int qhead, qcount, sent; /* sent: the first `sent` items are in flight */
    int reqn[RELAY_WINDOW];  /* the items of each request in flight, oldest first (a ring) */
    int req_head, nreq;
    bool halted;             /* a reply other than "written": nothing is sent until they are in */
    enum { RELAY_GO_RETRY, RELAY_GO_RESTART, RELAY_GO_FENCED } then; /* what follows the halt */
    bool restart;            /* a new stream at the next quiet moment */
    bool snap_due;           /* a snapshot at the next quiet moment */
    uint64_t snap_seq;       /* the last snapshot queued */
    struct timer *soon;      /* the next quiet moment */
    struct timer *retry;
    /* follower */
    char fepoch[FEED_EPOCH_MAX + 1]; /* the stream mirrored; "" none yet */
    bool mirrored;           /* the table's mirror holds a snapshot of fepoch */
    uint64_t behind;         /* a snapshot read was past the mirror: the seq it had (0: none) */
    bool reading;            /* a snapshot read in flight */
};

struct relay {
    struct server *srv;
    struct redis *cmd, *sub;
    struct feed *feed;
    char node_id[LEASE_NODE_ID_MAX + 1];
    struct relay_table *tables; /* parallel to srv->tables */
    int ntables;
    struct timer *tick;
    uint64_t ticks;
    bool stopped;
};

/* What a request's reply is checked against. */
struct relay_req {
    struct relay_table *rt;
    uint64_t gen;
};

static struct relay_req *relay_req_new(struct relay_table *rt)
{
    struct relay_req *q = xmalloc(sizeof(*q));
    q->rt = rt;
    q->gen = rt->gen;
    return q;
}

/* The request's table, or NULL (and q freed) when the reply is from before. */
static struct relay_table *relay_req_take(struct relay_req *q)
{
    struct relay_table *rt = q->rt;
    bool current = !rt->r->stopped && q->gen == rt->gen;
    free(q);
    return current ? rt : NULL;
}

static struct relay_table *relay_find(struct relay *r, const char *table_id)
{
    for (int i = 0; i < r->ntables; i++)
        if (strcmp(table_config(r->tables[i].t)->id, table_id) == 0)
            return &r->tables[i];
    return NULL;
}

static const char *relay_id(const struct relay_table *rt)
{
    return table_config(rt->t)->id;
}

/* ---- the owner's queue ------------------------------------------------------------------ */

static void relay_item_free(struct relay_item *it)
{
    if (it->ev)
        event_unref(it->ev);
    msg_unref(it->snap);
    memset(it, 0, sizeof(*it));
}

static void relay_queue_clear(struct relay_table *rt)
{
    while (rt->qcount > 0) {
        relay_item_free(&rt->q[rt->qhead]);
        rt->qhead = (rt->qhead + 1) % RELAY_QUEUE_MAX;
        rt->qcount--;
    }
    rt->qhead = rt->sent = 0;
    rt->req_head = rt->nreq = 0;
    rt->halted = false;
    timer_cancel(rt->retry);
}

static void relay_pop(struct relay_table *rt)
{
    relay_item_free(&rt->q[rt->qhead]);
    rt->qhead = (rt->qhead + 1) % RELAY_QUEUE_MAX;
    rt->qcount--;
}

/* A new role or stream: what is queued and in flight counts for nothing any more. */
static void relay_reset(struct relay_table *rt, enum relay_mode mode)
{
    rt->gen++;
    rt->mode = mode;
    relay_queue_clear(rt);
    rt->restart = rt->snap_due = false;
    timer_cancel(rt->soon);
    rt->reading = false;
    rt->mirrored = false;
    rt->behind = 0;
    rt->fepoch[0] = '\0';
    feed_unfollow(rt->r->feed, relay_id(rt));
}

static void relay_pump(struct relay_table *rt);

static void relay_wake_soon(struct relay_table *rt)
{
    if (!timer_armed(rt->soon))
        timer_arm(rt->soon, 0);
}

/* The reply to the head item is not "written": stop, and decide once every reply is in. */
static void relay_halt(struct relay_table *rt, int then)
{
    if (!rt->halted || then > (int)rt->then)
        rt->then = then;
    rt->halted = true;
}

/* One reply in: the oldest request's, which holds the queue's first k items (replies come in
 * order). */
static void relay_answered(struct relay_table *rt, enum redis_append_result res, int64_t have)
{
    FELT_ASSERT(rt->nreq > 0);
    int k = rt->reqn[rt->req_head];
    rt->req_head = (rt->req_head + 1) % RELAY_WINDOW;
    rt->nreq--;
    FELT_ASSERT(rt->sent >= k && rt->qcount >= rt->sent);
    rt->sent -= k;
    const struct relay_item *head = &rt->q[rt->qhead];
    if (!rt->halted) {
        if (res == REDIS_APPEND_OK) {
            for (int i = 0; i < k; i++)
                relay_pop(rt);
        } else if (res == REDIS_APPEND_SEQ && head->ev && have >= (int64_t)head->seq) {
            /* Written already, up to have, by a send whose reply was lost: the rest again. */
            int done = 0; /* the later requests were numbered from a seq that was not next */
            while (done < k && rt->q[rt->qhead].ev && (int64_t)rt->q[rt->qhead].seq <= have) {
                relay_pop(rt);
                done++;
            }
            if (done < k)
                relay_halt(rt, RELAY_GO_RETRY);
        } else if (res == REDIS_APPEND_FENCED) {
            relay_halt(rt, RELAY_GO_FENCED);
        } else if (res == REDIS_APPEND_SEQ || res == REDIS_APPEND_EPOCH) {
            /* The stream is not the one the queue goes on: a gap, or a Redis that forgot. */
            log_line(LOG_WARNING, "table %s: its event stream cannot go on from seq %llu (%s); "
                     "starting a new one", relay_id(rt), (unsigned long long)head->seq,
                     res == REDIS_APPEND_SEQ ? "out of sequence" : "the stream is gone");
            relay_halt(rt, RELAY_GO_RESTART);
        } else {
            relay_halt(rt, RELAY_GO_RETRY);
        }
    }
    if (rt->halted && rt->sent == 0) {
        if (rt->then == RELAY_GO_FENCED) {
            relay_queue_clear(rt); /* another node's lease: the lost hook stands t by */
            rt->mode = RELAY_IDLE;
        } else if (rt->then == RELAY_GO_RESTART) {
            rt->restart = true;
            relay_queue_clear(rt);
            relay_wake_soon(rt);
        } else if (!timer_armed(rt->retry)) {
            timer_arm(rt->retry, RELAY_RETRY_MS);
        }
        return;
    }
    relay_pump(rt);
}

static void relay_append_done(void *arg, enum redis_append_result res, int64_t have,
                              const char *epoch)
{
    (void)epoch;
    struct relay_table *rt = relay_req_take(arg);
    if (rt && rt->mode == RELAY_OWN)
        relay_answered(rt, res, have);
}

static void relay_retry_fire(void *arg)
{
    struct relay_table *rt = arg;
    if (rt->mode != RELAY_OWN || rt->sent > 0)
        return;
    rt->halted = false;
    relay_pump(rt);
}

/* Sends what the window allows, in order: a snapshot on its own, consecutive events together
 * (up to REDIS_APPEND_MAX in one script call: an action's events cost Redis one call). */
static void relay_pump(struct relay_table *rt)
{
    struct relay *r = rt->r;
    while (rt->mode == RELAY_OWN && !rt->halted && rt->sent < rt->qcount &&
           rt->nreq < RELAY_WINDOW) {
        const struct relay_item *it = &rt->q[(rt->qhead + rt->sent) % RELAY_QUEUE_MAX];
        struct relay_req *q = relay_req_new(rt);
        int rc, k = 1;
        if (it->ev) {
            const char *jsons[REDIS_APPEND_MAX];
            size_t lens[REDIS_APPEND_MAX];
            for (k = 0; k < REDIS_APPEND_MAX && rt->sent + k < rt->qcount; k++) {
                const struct relay_item *e =
                    &rt->q[(rt->qhead + rt->sent + k) % RELAY_QUEUE_MAX];
                if (!e->ev)
                    break;
                FELT_ASSERT(e->seq == it->seq + (uint64_t)k); /* numbered first + k in Redis */
                jsons[k] = msg_payload(e->ev->pub);
                lens[k] = e->ev->pub->len;
            }
            rc = redis_append_batch(r->cmd, relay_id(rt), r->node_id, rt->fence, rt->epoch,
                                    false, (int64_t)it->seq, k, jsons, lens, relay_append_done,
                                    q);
        } else {
            rc = redis_snap_put(r->cmd, relay_id(rt), r->node_id, rt->fence, rt->epoch,
                                it->start, (int64_t)it->seq, msg_payload(it->snap),
                                it->snap->len, relay_append_done, q);
        }
        if (rc != 0) { /* no connection now */
            free(q);
            relay_halt(rt, RELAY_GO_RETRY);
            if (rt->sent == 0 && !timer_armed(rt->retry))
                timer_arm(rt->retry, RELAY_RETRY_MS);
            return;
        }
        rt->reqn[(rt->req_head + rt->nreq) % RELAY_WINDOW] = k;
        rt->nreq++;
        rt->sent += k;
    }
}

static bool relay_push(struct relay_table *rt, struct event *ev, struct msg *snap, uint64_t seq,
                       bool start)
{
    if (rt->qcount == RELAY_QUEUE_MAX)
        return false;
    struct relay_item *it = &rt->q[(rt->qhead + rt->qcount) % RELAY_QUEUE_MAX];
    it->ev = ev;
    it->snap = snap;
    it->seq = seq;
    it->start = start;
    rt->qcount++;
    return true;
}

/* Queues the table's snapshot as of now (a quiet moment): with start, as the first of a new
 * stream, which drops whatever was queued. */
static void relay_snapshot(struct relay_table *rt, bool start)
{
    uint64_t seq;
    if (start) {
        rt->gen++; /* the old stream's replies count for nothing now */
        relay_queue_clear(rt);
        rng_token_hex(rt->epoch, RELAY_EPOCH_BYTES);
    }
    struct msg *snap = table_snapshot(rt->t, NULL, &seq);
    FELT_ASSERT(snap != NULL); /* t is played here */
    if (!relay_push(rt, NULL, snap, seq, start)) {
        msg_unref(snap);
        rt->restart = true; /* full: the next quiet moment starts afresh */
        relay_wake_soon(rt);
        return;
    }
    rt->snap_seq = seq;
    relay_pump(rt);
}

static void relay_soon_fire(void *arg)
{
    struct relay_table *rt = arg;
    if (rt->mode != RELAY_OWN)
        return;
    if (rt->restart) {
        rt->restart = rt->snap_due = false;
        relay_snapshot(rt, true);
        log_line(LOG_DEBUG, "table %s: event stream %s starts after seq %llu", relay_id(rt),
                 rt->epoch, (unsigned long long)rt->snap_seq);
    } else if (rt->snap_due) {
        rt->snap_due = false;
        relay_snapshot(rt, false);
    }
    relay_pump(rt); /* what the table published meanwhile, its events together */
}

/* srv->published: every event a table played here publishes. */
static void relay_published(void *arg, struct table *t, struct event *ev)
{
    (void)arg;
    struct relay_table *rt = table_node_data(t);
    if (!rt || rt->mode != RELAY_OWN || rt->restart)
        return; /* a new stream is coming, whose snapshot has this event */
    if (!relay_push(rt, event_ref(ev), NULL, ev->seq, false)) {
        event_unref(ev);
        log_line(LOG_WARNING, "table %s: %d events wait for Redis; the followers will start "
                 "again from a new snapshot", relay_id(rt), RELAY_QUEUE_MAX);
        rt->gen++;
        relay_queue_clear(rt);
        rt->restart = true;
        relay_wake_soon(rt);
        return;
    }
    if (ev->seq >= rt->snap_seq + RELAY_SNAP_EVERY)
        rt->snap_due = true;
    relay_wake_soon(rt); /* sent once the table is quiet: an action's events in one call */
}

/* ---- the followers' mirror -------------------------------------------------------------- */

static void relay_read(struct relay_table *rt);

static void relay_snap_read(void *arg, const char *table_id, bool ok, const char *epoch,
                            int64_t seq, const char *json, size_t len)
{
    (void)table_id;
    struct relay_table *rt = relay_req_take(arg);
    if (!rt || rt->mode != RELAY_FOLLOW)
        return;
    rt->reading = false;
    if (!ok || !json)
        return; /* no owner has written one yet, or no answer: the tick reads again */
    if (rt->mirrored && strcmp(epoch, rt->fepoch) == 0) {
        uint64_t have = table_seq(rt->t);
        table_mirror_snapshot(rt->t, (uint64_t)seq, json, len); /* newer, for those to come */
        /* The last read (a second or more ago) showed events the mirror still has not got:
         * the subscription has stopped delivering (a half-open connection sends no error).
         * Read the stream from here, and connect the subscriber again. */
        if (rt->behind && have < rt->behind) {
            log_line(LOG_WARNING, "table %s: its mirror is at seq %llu, and %llu was written "
                     "a while ago; reading the stream again", table_id,
                     (unsigned long long)have, (unsigned long long)rt->behind);
            feed_unfollow(rt->r->feed, table_id);
            feed_follow(rt->r->feed, table_id, rt->fepoch, (int64_t)have + 1);
            redis_reconnect(rt->r->sub, "the tables' events stopped arriving");
            seq = 0;
        }
        rt->behind = (uint64_t)seq > have ? (uint64_t)seq : 0;
        return;
    }
    /* Another stream (or the first): its snapshot and its epoch were written together, so this
     * is the stream now current, whatever the feed said last. */
    if (rt->mirrored)
        log_line(LOG_INFO, "table %s: its owner started stream %s; the mirror starts again from "
                 "its snapshot", table_id, epoch);
    table_mirror_reset(rt->t, (uint64_t)seq, json, len);
    snprintf(rt->fepoch, sizeof(rt->fepoch), "%s", epoch);
    rt->mirrored = true;
    rt->behind = 0;
    feed_unfollow(rt->r->feed, relay_id(rt));
    if (feed_follow(rt->r->feed, relay_id(rt), epoch, seq + 1) != 0) { /* a malformed epoch */
        table_mirror_clear(rt->t);
        rt->mirrored = false;
    }
}

static void relay_read(struct relay_table *rt)
{
    if (rt->mode != RELAY_FOLLOW || rt->reading || rt->r->stopped)
        return;
    struct relay_req *q = relay_req_new(rt);
    if (redis_snap_get(rt->r->cmd, relay_id(rt), relay_snap_read, q) != 0) {
        free(q); /* no connection: the tick reads again */
        return;
    }
    rt->reading = true;
}

static void relay_feed_deliver(void *arg, const char *table_id, const char *epoch, int64_t seq,
                               const char *payload, size_t len)
{
    struct relay_table *rt = relay_find(arg, table_id);
    if (!rt || rt->mode != RELAY_FOLLOW || !rt->mirrored || strcmp(epoch, rt->fepoch) != 0)
        return;
    if ((uint64_t)seq <= table_seq(rt->t))
        return; /* in the snapshot already */
    if (table_mirror_event(rt->t, (uint64_t)seq, payload, len) != 0) {
        log_line(LOG_WARNING, "table %s: event %lld of stream %s is not the next event; "
                 "starting the mirror again", table_id, (long long)seq, epoch);
        table_mirror_clear(rt->t);
        rt->mirrored = false;
        rt->fepoch[0] = '\0';
        feed_unfollow(rt->r->feed, table_id);
        return; /* the next tick reads the snapshot (not at once: no loop on a bad event) */
    }
    if (table_seq(rt->t) >= table_mirror_seq(rt->t) + RELAY_REFRESH)
        relay_read(rt);
}

/* The stream the mirror follows is not all there any more (a new stream, or trimmed): its
 * spectators wait for the snapshot that is current now. */
static void relay_feed_reset(void *arg, const char *table_id, const char *epoch, int64_t first)
{
    (void)first;
    (void)epoch;
    struct relay_table *rt = relay_find(arg, table_id);
    if (!rt || rt->mode != RELAY_FOLLOW)
        return;
    rt->gen++; /* a snapshot read before now may be the old stream's */
    rt->reading = false;
    table_mirror_clear(rt->t);
    rt->mirrored = false;
    rt->fepoch[0] = '\0';
    feed_unfollow(rt->r->feed, table_id);
    relay_read(rt);
}

static const struct feed_hooks relay_feed_hooks = {
    .deliver = relay_feed_deliver,
    .reset = relay_feed_reset,
};

/* ---- every second ----------------------------------------------------------------------- */

static void relay_tick_fire(void *arg)
{
    struct relay *r = arg;
    r->ticks++;
    for (int i = 0; i < r->ntables; i++) {
        struct relay_table *rt = &r->tables[i];
        if (rt->mode == RELAY_OWN && !rt->restart && !rt->halted &&
            table_seq(rt->t) > rt->snap_seq) {
            rt->snap_due = true; /* the table moved: followers who start now start from here */
            relay_wake_soon(rt);
        } else if (rt->mode == RELAY_FOLLOW &&
                   (!rt->mirrored || !table_snapshot_ready(rt->t) ||
                    table_seq(rt->t) >= table_mirror_seq(rt->t) + RELAY_REFRESH_TICK ||
                    r->ticks % RELAY_CHECK_TICKS == 0)) {
            /* A spectator who comes now gets a second of events at most; and now and then the
             * snapshot is read anyway: a new stream that has published nothing yet (a new
             * owner of an idle table), or a subscription that went quiet, is seen by it. */
            relay_read(rt);
        }
    }
    timer_arm(r->tick, RELAY_TICK_MS);
}

/* ---- the relay_* interface -------------------------------------------------------------- */

struct relay *relay_new(struct server *srv, struct ev_loop *loop, struct redis *cmd,
                        const char *url, const char *node_id, struct felt_err *err)
{
    struct redis *sub = redis_new(loop, url, err);
    if (!sub)
        return NULL;
    struct relay *r = xcalloc(1, sizeof(*r));
    r->srv = srv;
    r->cmd = cmd;
    r->sub = sub;
    snprintf(r->node_id, sizeof(r->node_id), "%s", node_id);
    r->feed = feed_new(&redis_feed_ops, cmd, &relay_feed_hooks, r);
    redis_set_feed(cmd, r->feed);
    redis_set_feed(sub, r->feed);
    r->ntables = srv->ntables;
    r->tables = xcalloc((size_t)r->ntables + 1, sizeof(*r->tables));
    for (int i = 0; i < r->ntables; i++) {
        struct relay_table *rt = &r->tables[i];
        rt->r = r;
        rt->t = srv->tables[i];
        rt->q = xcalloc(RELAY_QUEUE_MAX, sizeof(*rt->q));
        rt->soon = timer_new(relay_soon_fire, rt);
        rt->retry = timer_new(relay_retry_fire, rt);
        table_set_node_data(rt->t, rt);
        redis_subscribe(sub, relay_id(rt));
    }
    srv->published = relay_published;
    srv->published_arg = r;
    r->tick = timer_new(relay_tick_fire, r);
    timer_arm(r->tick, RELAY_TICK_MS);
    return r;
}

static struct relay_table *relay_of(struct relay *r, struct table *t)
{
    struct relay_table *rt = table_node_data(t);
    FELT_ASSERT(rt && rt->r == r);
    return rt;
}

void relay_own(struct relay *r, struct table *t, int64_t fence)
{
    struct relay_table *rt = relay_of(r, t);
    relay_reset(rt, RELAY_OWN);
    rt->fence = fence;
    rt->restart = true; /* at the next quiet moment: a new stream from t's snapshot */
    relay_wake_soon(rt);
}

void relay_follow(struct relay *r, struct table *t)
{
    struct relay_table *rt = relay_of(r, t);
    relay_reset(rt, RELAY_FOLLOW); /* also when following: t's stand-by dropped its mirror */
    relay_read(rt);
}

void relay_idle(struct relay *r, struct table *t)
{
    relay_reset(relay_of(r, t), RELAY_IDLE);
}

void relay_stop(struct relay *r)
{
    if (!r || r->stopped)
        return;
    for (int i = 0; i < r->ntables; i++)
        relay_reset(&r->tables[i], RELAY_IDLE);
    r->stopped = true;
    if (r->srv->published_arg == r) {
        r->srv->published = NULL;
        r->srv->published_arg = NULL;
    }
    timer_cancel(r->tick);
    redis_set_feed(r->cmd, NULL);
    redis_free(r->sub);
    r->sub = NULL;
}

void relay_free(struct relay *r)
{
    if (!r)
        return;
    relay_stop(r);
    for (int i = 0; i < r->ntables; i++) {
        struct relay_table *rt = &r->tables[i];
        if (table_node_data(rt->t) == rt)
            table_set_node_data(rt->t, NULL);
        timer_free(rt->soon);
        timer_free(rt->retry);
        free(rt->q);
    }
    timer_free(r->tick);
    feed_free(r->feed);
    free(r->tables);
    free(r);
}
