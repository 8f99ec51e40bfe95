/*
 * lease.c: the table leases of one node (lease.h): when to acquire, renew and give up, and
 * what this node believes it owns. No socket, no clock of its own: requests go out through
 * struct lease_ops, replies come back through lease_on_reply, time is timer.c's.
 *
 * Each wanted table is an entry with one timer and at most one request in flight. The timer
 * fires at the earliest of: the local validity running out (the lease is then lost, whatever
 * Redis says later), the next renewal, the next acquire attempt, or a request given up on (no
 * reply within ttl_ms: Redis stopped; its reply, if it ever comes, carries an old request
 * number and is ignored). Request numbers are the entry's id in the high 32 bits and a
 * per-entry sequence in the low 32, so a reply finds its entry by id and is stale unless it
 * answers the entry's latest request.
 *
 * With ops->renew_batch, renewals are not sent by their entries but queued and sent together
 * by the set's flush timer (armed 1 ms on by the first one queued), and each entry's next
 * renewal is rounded down to a multiple of renew_ms / 4 of the monotonic clock, so that the
 * entries of a node renew on the same few instants a second whatever their acquire times.
 *
 * Validity is counted from when a request was sent (lease.h explains why that is safe). A
 * renewal that succeeds after the local validity has already run out does not bring the lease
 * back: the node has told its tables to stop, so it acquires again, with a new fence.
 */
#include "lease.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define LEASE_BUCKETS 256
#define LEASE_TTL_DEFAULT_MS 4000

enum lease_kind { LEASE_K_ACQUIRE, LEASE_K_RENEW };

struct lease_entry {
    char table_id[PROTO_GAME_ID_MAX + 1];
    uint32_t id;                  /* unique within the set, never reused */
    uint32_t seq;                 /* the latest request's number */
    struct lease_entry *by_name;  /* bucket chains */
    struct lease_entry *by_id;
    struct lease_set *ls;
    struct timer *timer;
    bool pending;                 /* a request is in flight */
    enum lease_kind kind;         /* of the request in flight */
    int64_t sent_us;              /* when it was sent */
    bool held;
    int64_t fence;
    int64_t floor;                /* acquires hand out fences above this */
    char holder[LEASE_NODE_ID_MAX + 1]; /* who held it at the last answer ("": unknown) */
    int64_t valid_until_us;       /* while held */
    int64_t next_us;              /* next renewal (held) or acquire attempt (not held) */
    bool in_hook, dropped;
    int batch_idx;                /* position in the set's renewal batch, -1 when not queued */
};

struct lease_set {
    char node_id[LEASE_NODE_ID_MAX + 1];
    int64_t ttl_ms, renew_ms, retry_ms, margin_ms;
    const struct lease_ops *ops;
    void *ops_user;
    struct lease_hooks hooks;
    void *hooks_arg;
    uint32_t next_id;
    int count, held;
    struct timer *flush;          /* sends the queued renewals */
    struct lease_entry **batch;   /* renewals queued for it */
    int nbatch, batch_cap;
    struct lease_entry *names[LEASE_BUCKETS];
    struct lease_entry *ids[LEASE_BUCKETS];
};

static unsigned lease_hash_name(const char *s)
{
    return felt_hash_str(s) % LEASE_BUCKETS;
}

static void lease_flush(void *arg);

static struct lease_entry *lease_find(const struct lease_set *ls, const char *table_id)
{
    struct lease_entry *e = ls->names[lease_hash_name(table_id)];
    while (e && strcmp(e->table_id, table_id) != 0)
        e = e->by_name;
    return e;
}

static struct lease_entry *lease_find_id(const struct lease_set *ls, uint32_t id)
{
    struct lease_entry *e = ls->ids[id % LEASE_BUCKETS];
    while (e && e->id != id)
        e = e->by_id;
    return e;
}

bool lease_node_id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > LEASE_NODE_ID_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

struct lease_set *lease_set_new(const struct lease_config *cfg, const struct lease_ops *ops,
                                void *ops_user, const struct lease_hooks *hooks, void *hooks_arg,
                                struct felt_err *err)
{
    if (!lease_node_id_valid(cfg->node_id)) {
        felt_err_set(err, "bad_node_id", "a node id is 1 to %d of A-Z a-z 0-9 . _ -",
                     LEASE_NODE_ID_MAX);
        return NULL;
    }
    int64_t ttl = cfg->ttl_ms > 0 ? cfg->ttl_ms : LEASE_TTL_DEFAULT_MS;
    int64_t renew = cfg->renew_ms > 0 ? cfg->renew_ms : ttl / 4;
    int64_t retry = cfg->retry_ms > 0 ? cfg->retry_ms : renew;
    int64_t margin = cfg->margin_ms > 0 ? cfg->margin_ms : ttl / 8;
    /* At least one renewal must fit inside the local validity, with room for its reply. */
    if (renew <= 0 || margin <= 0 || renew + margin >= ttl) {
        felt_err_set(err, "bad_lease_timing",
                     "lease timings do not fit: renew %lld ms + margin %lld ms must be below "
                     "ttl %lld ms", (long long)renew, (long long)margin, (long long)ttl);
        return NULL;
    }
    struct lease_set *ls = xcalloc(1, sizeof(*ls));
    strcpy(ls->node_id, cfg->node_id);
    ls->ttl_ms = ttl;
    ls->renew_ms = renew;
    ls->retry_ms = retry;
    ls->margin_ms = margin;
    ls->ops = ops;
    ls->ops_user = ops_user;
    if (hooks) ls->hooks = *hooks;
    ls->hooks_arg = hooks_arg;
    ls->flush = timer_new(lease_flush, ls);
    return ls;
}

/* Takes e out of the renewal batch, if it is queued there. */
static void lease_unbatch(struct lease_entry *e)
{
    struct lease_set *ls = e->ls;
    if (e->batch_idx < 0) return;
    struct lease_entry *last = ls->batch[--ls->nbatch];
    ls->batch[e->batch_idx] = last;
    last->batch_idx = e->batch_idx;
    e->batch_idx = -1;
}

static void lease_unlink(struct lease_entry *e)
{
    struct lease_set *ls = e->ls;
    lease_unbatch(e);
    struct lease_entry **pp = &ls->names[lease_hash_name(e->table_id)];
    while (*pp != e)
        pp = &(*pp)->by_name;
    *pp = e->by_name;
    pp = &ls->ids[e->id % LEASE_BUCKETS];
    while (*pp != e)
        pp = &(*pp)->by_id;
    *pp = e->by_id;
    ls->count--;
    if (e->held) ls->held--;
    timer_free(e->timer);
    free(e);
}

static void lease_free_all(struct lease_set *ls, bool release)
{
    if (!ls) return;
    for (int b = 0; b < LEASE_BUCKETS; b++) {
        while (ls->names[b]) {
            struct lease_entry *e = ls->names[b];
            if (release && e->held)
                (void)ls->ops->release(ls->ops_user, e->table_id, ls->node_id, e->fence);
            lease_unlink(e);
        }
    }
    timer_free(ls->flush);
    free(ls->batch);
    free(ls);
}

void lease_set_free(struct lease_set *ls)
{
    lease_free_all(ls, true);
}

void lease_set_abandon(struct lease_set *ls)
{
    lease_free_all(ls, false);
}

/* The entry's timer, at the earliest moment something is due. */
static void lease_schedule(struct lease_entry *e)
{
    struct lease_set *ls = e->ls;
    /* With a request in flight the next one waits for its reply, or for giving up on it. */
    int64_t due = e->pending ? e->sent_us + ls->ttl_ms * 1000 : e->next_us;
    if (e->held && e->valid_until_us < due) due = e->valid_until_us;
    int64_t now = timer_now_us();
    int64_t ms = due > now ? (due - now + 999) / 1000 : 0;
    timer_arm(e->timer, ms);
}

/* Tells the hook that the lease is gone; false when the hook dropped the entry (freed). */
static bool lease_lose(struct lease_entry *e, const char *why)
{
    struct lease_set *ls = e->ls;
    e->held = false;
    ls->held--;
    e->next_us = timer_now_us() + ls->retry_ms * 1000;
    if (ls->hooks.lost) {
        e->in_hook = true;
        ls->hooks.lost(ls->hooks_arg, e->table_id, e->fence, why);
        e->in_hook = false;
        if (e->dropped) {
            lease_unlink(e);
            return false;
        }
    }
    return true;
}

static uint64_t lease_req(const struct lease_entry *e)
{
    return (uint64_t)e->id << 32 | e->seq;
}

/* A request could not be sent: try again after retry_ms; a held lease lives on until its
 * validity runs out. */
static void lease_unsent(struct lease_entry *e)
{
    e->pending = false;
    e->next_us = e->sent_us + e->ls->retry_ms * 1000;
}

/* Sends the queued renewals, LEASE_BATCH_MAX a request. */
static void lease_flush(void *arg)
{
    struct lease_set *ls = arg;
    uint64_t reqs[LEASE_BATCH_MAX];
    const char *tables[LEASE_BATCH_MAX];
    int64_t fences[LEASE_BATCH_MAX];
    while (ls->nbatch > 0) {
        int n = ls->nbatch < LEASE_BATCH_MAX ? ls->nbatch : LEASE_BATCH_MAX;
        struct lease_entry *chunk[LEASE_BATCH_MAX];
        int64_t now = timer_now_us();
        for (int i = 0; i < n; i++) {
            struct lease_entry *e = ls->batch[ls->nbatch - 1 - i];
            chunk[i] = e;
            e->sent_us = now; /* validity counts from the real send */
            reqs[i] = lease_req(e);
            tables[i] = e->table_id;
            fences[i] = e->fence;
        }
        int rc = ls->ops->renew_batch(ls->ops_user, n, reqs, tables, ls->node_id, fences,
                                      ls->ttl_ms);
        for (int i = 0; i < n; i++) {
            struct lease_entry *e = chunk[i];
            lease_unbatch(e);
            if (rc != 0) {
                lease_unsent(e);
                lease_schedule(e);
            }
        }
    }
}

/* When a held lease renews next: renew_ms after sent_us, rounded down to the batch grid. */
static int64_t lease_next_renewal(const struct lease_set *ls, int64_t sent_us)
{
    int64_t due = sent_us + ls->renew_ms * 1000;
    if (!ls->ops->renew_batch) return due;
    int64_t grid = ls->renew_ms * 1000 / 4;
    return due - due % grid;
}

static void lease_send(struct lease_entry *e, enum lease_kind kind)
{
    struct lease_set *ls = e->ls;
    e->seq++;
    uint64_t req = lease_req(e);
    e->pending = true;
    e->kind = kind;
    e->sent_us = timer_now_us();
    if (kind == LEASE_K_RENEW && ls->ops->renew_batch) {
        if (ls->nbatch == ls->batch_cap) {
            ls->batch_cap = ls->batch_cap ? ls->batch_cap * 2 : 64;
            ls->batch = xrealloc(ls->batch, (size_t)ls->batch_cap * sizeof(*ls->batch));
        }
        e->batch_idx = ls->nbatch;
        ls->batch[ls->nbatch++] = e;
        /* 1 ms on, not "now": the other entries due at this grid instant may come after the
         * flush in the same pass over the due timers, and should go in the same request. */
        if (!timer_armed(ls->flush)) timer_arm(ls->flush, 1);
        return;
    }
    int rc = kind == LEASE_K_ACQUIRE
                 ? ls->ops->acquire(ls->ops_user, req, e->table_id, ls->node_id, ls->ttl_ms,
                                    e->floor)
                 : ls->ops->renew(ls->ops_user, req, e->table_id, ls->node_id, e->fence,
                                  ls->ttl_ms);
    if (rc != 0) lease_unsent(e); /* no connection */
}

static void lease_fire(void *arg)
{
    struct lease_entry *e = arg;
    struct lease_set *ls = e->ls;
    int64_t now = timer_now_us();
    if (e->held && now >= e->valid_until_us) {
        if (!lease_lose(e, "not renewed in time")) return;
    }
    if (e->pending && now >= e->sent_us + ls->ttl_ms * 1000) {
        e->pending = false; /* no answer: its reply, if any, will be stale */
        e->seq++;
        e->next_us = now;
    }
    if (!e->pending && now >= e->next_us) {
        if (!e->held && ls->hooks.may_acquire &&
            !ls->hooks.may_acquire(ls->hooks_arg, e->table_id))
            e->next_us = now + ls->retry_ms * 1000; /* not now: asked again then */
        else
            lease_send(e, e->held ? LEASE_K_RENEW : LEASE_K_ACQUIRE);
    }
    lease_schedule(e);
}

int lease_want(struct lease_set *ls, const char *table_id, int64_t floor)
{
    size_t n = table_id ? strlen(table_id) : 0;
    if (n == 0 || n > PROTO_GAME_ID_MAX) return -1;
    struct lease_entry *e = lease_find(ls, table_id);
    if (e) {
        if (floor > e->floor) e->floor = floor;
        return 0;
    }
    e = xcalloc(1, sizeof(*e));
    memcpy(e->table_id, table_id, n + 1);
    e->floor = floor;
    e->ls = ls;
    e->batch_idx = -1;
    e->id = ++ls->next_id;
    e->timer = timer_new(lease_fire, e);
    unsigned b = lease_hash_name(table_id);
    e->by_name = ls->names[b];
    ls->names[b] = e;
    e->by_id = ls->ids[e->id % LEASE_BUCKETS];
    ls->ids[e->id % LEASE_BUCKETS] = e;
    ls->count++;
    e->next_us = timer_now_us();
    lease_fire(e); /* the first attempt now, unless may_acquire says not yet */
    return 0;
}

void lease_drop(struct lease_set *ls, const char *table_id)
{
    struct lease_entry *e = lease_find(ls, table_id);
    if (!e || e->dropped) return;
    if (e->held) {
        (void)ls->ops->release(ls->ops_user, e->table_id, ls->node_id, e->fence);
        e->held = false;
        ls->held--;
    }
    if (e->in_hook)
        e->dropped = true; /* freed when the hook returns */
    else
        lease_unlink(e);
}

bool lease_held(const struct lease_set *ls, const char *table_id, int64_t *fence)
{
    const struct lease_entry *e = lease_find(ls, table_id);
    if (!e || !e->held || timer_now_us() >= e->valid_until_us) return false;
    if (fence) *fence = e->fence;
    return true;
}

const char *lease_holder(const struct lease_set *ls, const char *table_id)
{
    const struct lease_entry *e = lease_find(ls, table_id);
    if (!e) return "";
    if (lease_held(ls, table_id, NULL)) return ls->node_id;
    return strcmp(e->holder, ls->node_id) == 0 ? "" : e->holder;
}

int lease_count_held(const struct lease_set *ls)
{
    return ls->held;
}

void lease_on_reply(struct lease_set *ls, uint64_t req, enum lease_result r, int64_t fence,
                    const char *holder)
{
    struct lease_entry *e = lease_find_id(ls, (uint32_t)(req >> 32));
    if (!e || e->dropped || !e->pending || e->seq != (uint32_t)req) return;
    e->pending = false;
    int64_t now = timer_now_us();
    int64_t valid = e->sent_us + (ls->ttl_ms - ls->margin_ms) * 1000;
    char why[LEASE_NODE_ID_MAX + 16];

    /* Run out by now, though its timer has not fired yet (a busy loop): lost first, so that a
     * late renewal cannot bring it back unseen (lease_held has said no since). */
    if (e->held && now >= e->valid_until_us && !lease_lose(e, "not renewed in time"))
        return;

    if (r == LEASE_R_OK)
        snprintf(e->holder, sizeof(e->holder), "%s", ls->node_id);
    else if (r == LEASE_R_TAKEN)
        snprintf(e->holder, sizeof(e->holder), "%s", holder ? holder : "");
    switch (r) {
    case LEASE_R_OK:
        if (e->kind == LEASE_K_ACQUIRE) {
            if (now >= valid) { /* granted, but too late to be believed: try again */
                e->next_us = now;
                break;
            }
            if (fence <= e->floor) { /* a script that ignored the floor: never believe it */
                log_line(LOG_ERROR, "lease %s: granted fence %lld at or below the floor %lld",
                         e->table_id, (long long)fence, (long long)e->floor);
                e->next_us = now + ls->retry_ms * 1000;
                break;
            }
            e->held = true;
            ls->held++;
            e->fence = fence;
            e->valid_until_us = valid;
            e->next_us = lease_next_renewal(ls, e->sent_us);
            if (ls->hooks.acquired) {
                e->in_hook = true;
                ls->hooks.acquired(ls->hooks_arg, e->table_id, fence);
                e->in_hook = false;
                if (e->dropped) {
                    lease_unlink(e);
                    return;
                }
            }
        } else if (e->held) {
            /* Renewed: the validity moves on (never back). A renewal of a lease already given
             * up locally changes nothing: e->held is false and an acquire follows. */
            if (valid > e->valid_until_us) e->valid_until_us = valid;
            e->next_us = lease_next_renewal(ls, e->sent_us);
        }
        break;
    case LEASE_R_TAKEN:
        if (e->held) {
            if (holder && *holder)
                snprintf(why, sizeof(why), "taken by %s", holder);
            else
                snprintf(why, sizeof(why), "expired in Redis");
            if (!lease_lose(e, why)) return;
        }
        e->next_us = now + ls->retry_ms * 1000;
        break;
    case LEASE_R_ERROR:
    default:
        /* Try again soon; a held lease lives on until its validity runs out. */
        e->next_us = now + (e->held ? ls->renew_ms : ls->retry_ms) * 1000 / 4;
        break;
    }
    lease_schedule(e);
}
