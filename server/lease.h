/*
 * lease.h: which tables this node owns when feltd runs as several nodes (issue 14's first
 * building block; cluster.c runs it for feltd --node-id, see docs/scaling.md).
 *
 * Every table has at most one owner at a time, the only node that may act on it. Ownership is a
 * lease kept in Redis: a key that names the owner and expires after ttl_ms unless the owner
 * renews it, plus a per-table fencing counter that grows by one with every new owner. The
 * fence goes with everything an owner writes (stream appends, PostgreSQL commits), and the
 * stores refuse a write whose fence is not the current one, so an owner that was paused or cut
 * off and wakes up believing it still owns the table cannot write.
 *
 * An owner also stops by itself: a lease is held, as far as this node is concerned, only until
 * the time its last successful acquire or renew was SENT plus ttl_ms minus a margin for clock
 * drift. Redis starts its ttl_ms when it receives the request, later than that, so this node's
 * belief always ends before Redis lets anyone else in; a node that cannot renew in time (Redis
 * unreachable, the process stopped) reports the lease lost (hooks.lost) at its own deadline,
 * never after someone else took over.
 *
 * This module is the state machine only: it owns no socket and no clock. It asks for requests
 * through struct lease_ops (server/redis.c implements them with Lua scripts; the tests with
 * fakes), hears the replies through lease_on_reply, and keeps time with timer.c's timers, so it
 * runs on a fake clock in tests/unit/test_lease.c.
 */
#ifndef FELT_LEASE_H
#define FELT_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"
#include "util.h"

#define LEASE_NODE_ID_MAX 64 /* bytes of a node id: [A-Za-z0-9._-] */
#define LEASE_BATCH_MAX 256  /* leases renewed in one request at most */

struct lease_set;

/* The requests a lease needs. Each returns 0 when sent (its reply comes later through
 * lease_on_reply, exactly once, with the same req; a lost connection answers LEASE_R_ERROR),
 * or -1 when it cannot be sent now (not connected), which the lease treats as that error. */
struct lease_ops {
    /* Take the table's lease for ttl_ms when nobody else holds it: the fence grows by one,
     * and is never at or below floor (the highest fence the durable store has seen). */
    int (*acquire)(void *user, uint64_t req, const char *table_id, const char *node_id,
                   int64_t ttl_ms, int64_t floor);
    /* Extend the lease to ttl_ms from now if it is still node's with this fence. */
    int (*renew)(void *user, uint64_t req, const char *table_id, const char *node_id,
                 int64_t fence, int64_t ttl_ms);
    /* Optional (NULL: one renew per lease): renew n leases (n <= LEASE_BATCH_MAX) in one
     * request, as renew would each: tables[i] with fences[i], answered by its own
     * lease_on_reply with reqs[i], later (never from inside this call). With it, a node's
     * renewals fall on a common grid of renew_ms / 4 and go out together: a few requests a
     * second, not one per table. */
    int (*renew_batch)(void *user, int n, const uint64_t *reqs, const char *const *tables,
                       const char *node_id, const int64_t *fences, int64_t ttl_ms);
    /* Delete the lease if it is still node's with this fence; no reply is awaited. */
    int (*release)(void *user, const char *table_id, const char *node_id, int64_t fence);
};

enum lease_result {
    LEASE_R_OK,    /* acquired or renewed; fence is the lease's */
    LEASE_R_TAKEN, /* someone else holds it (holder, fence: theirs) */
    LEASE_R_ERROR, /* no answer: connection lost, Redis error */
};

/* What the node hears about its tables. Both may be NULL. */
struct lease_hooks {
    /* This node now owns table_id with this fence (a new fence: every acquire after a loss is
     * a new owner, even if the same node). */
    void (*acquired)(void *arg, const char *table_id, int64_t fence);
    /* This node no longer owns table_id: it must stop acting on it at once. why is one line:
     * "taken by NODE", "expired in Redis" or "not renewed in time". The table stays wanted:
     * the set tries to acquire it again (a new fence) unless the caller drops it (lease_drop). */
    void (*lost)(void *arg, const char *table_id, int64_t fence, const char *why);
    /* Optional: asked before each acquire attempt of a wanted table this node does not hold;
     * false skips the attempt (the next comes retry_ms later). How a node leaves a free table
     * to the nodes that play fewer (cluster.c's fair share). */
    bool (*may_acquire)(void *arg, const char *table_id);
};

struct lease_config {
    const char *node_id;
    int64_t ttl_ms;    /* lease lifetime in Redis; 4,000 by default (a dead owner's tables are
                          taken over within ttl_ms + retry_ms) */
    int64_t renew_ms;  /* renew this often while held; ttl_ms / 4 by default */
    int64_t retry_ms;  /* try again this often while someone else holds it; = renew_ms */
    int64_t margin_ms; /* subtracted from the local validity for clock drift; ttl_ms / 8 */
};

/* Whether s can be a node id: 1..LEASE_NODE_ID_MAX bytes of [A-Za-z0-9._-]. */
bool lease_node_id_valid(const char *s);

/* 0 values in cfg take the defaults. NULL (with err) for a bad node id or timings that cannot
 * work (margin_ms + renew_ms must leave room within ttl_ms). */
struct lease_set *lease_set_new(const struct lease_config *cfg, const struct lease_ops *ops,
                                void *ops_user, const struct lease_hooks *hooks, void *hooks_arg,
                                struct felt_err *err);
/* Releases every lease held (best effort) and frees. NULL is a no-op. */
void lease_set_free(struct lease_set *ls);
/* Frees without releasing: what a node that dies leaves behind (tests). */
void lease_set_abandon(struct lease_set *ls);

/* Start trying to own table_id: acquire now, and again every retry_ms while someone else holds
 * it; once held, renew every renew_ms. floor is the highest fence the durable store has seen
 * for the table (a commit it accepted; 0 if none): every fence this node is granted is above
 * it, also from a Redis that lost its counter (restarted without persistence). Returns 0, or
 * -1 for a malformed table id. Wanting a table already wanted only raises its floor. */
int lease_want(struct lease_set *ls, const char *table_id, int64_t floor);
/* Stop wanting table_id: released if held (no lost hook), forgotten either way. */
void lease_drop(struct lease_set *ls, const char *table_id);
/* Whether this node holds table_id now (its local validity has not run out); *fence (may be
 * NULL) gets the lease's fence. Check it right before every fenced write. */
bool lease_held(const struct lease_set *ls, const char *table_id, int64_t *fence);
/* Who holds table_id, as far as this node knows: its own node id while lease_held, else the
 * holder named by Redis's last answer about it ("" when unknown or nobody: free, expired, or
 * this node's own lease lost). Only a hint (the lease may have changed since): for telling a
 * client where the table is played, never for deciding who may write. */
const char *lease_holder(const struct lease_set *ls, const char *table_id);
/* How many tables this node holds now. */
int lease_count_held(const struct lease_set *ls);

/* A reply to the request numbered req (stale ones, for a dropped table or an older request,
 * are ignored). holder may be NULL. */
void lease_on_reply(struct lease_set *ls, uint64_t req, enum lease_result r, int64_t fence,
                    const char *holder);

#endif
