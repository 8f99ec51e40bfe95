/*
 * cluster.c: feltd as one node of several (cluster.h): the leases' hooks turned into tables
 * played or standing by, and the nodes' URLs for the clients sent elsewhere.
 *
 * Per table: the lease is wanted for as long as the node runs. When it is acquired (fence F),
 * the table is taken from the store with F (store_table_take, on the store's thread: the loop
 * never waits); the take's rows restore its seats, departures and voided hands into the table,
 * which stands by until the take is done, and then plays (table_own). A take overtaken by a
 * loss or a newer acquire is orphaned: its rows and its answer change nothing. One answered while
 * the lease has just run out stands the table by again, which empties what its rows put back
 * (the lost hook follows). A take the store refuses (a fence not above the stored one: a Redis
 * that forgot its counter) reports the stored fence; the node lets the lease go and wants it
 * again a second later with that fence as its floor, so the next grant is above it.
 *
 * The table asks srv->may_play (cluster_may_play: the lease, by this node's clock) before it
 * deals or acts. A stopping node (cluster_stop) plays nothing more and keeps its leases until
 * its last writes are stored (cluster_free releases them).
 *
 * Every second the node says its URL in felt:nodes and reads back every node's said within
 * 5 s (sent to clients as "servers" in the lobby and the join answer), and each
 * standing-by table learns its owner's URL (lease_holder, as Redis last answered) for the
 * "not_owner" answers (http.c); it also writes the lobby entry of each table it plays
 * (felt:{T}:lobby, expiring after 3 s) and reads those of the others, which GET /api/games lists
 * in their place: every node's lobby is the same, a second behind at most.
 *
 * The tables spread over the nodes that serve the same ones (peer_set; a fair share each:
 * ceil(tables / such nodes alive)). A node that
 * holds its share tries no more leases, except of a table whose owner's lobby entry is gone
 * (its owner silent for 3 s: dead, stopped or cut off, whose lease runs out meanwhile), so a
 * table that comes free goes to a node that plays fewer. A node that has held more than its
 * share for CLUSTER_SETTLE_MS (longer than a dead node stays listed, so a death does not look
 * like a newcomer) hands one table over: the one with the fewest people seated; it deals no new
 * hand there, waits until everything played is stored, releases the lease, stands the table by
 * (its players reconnect, to the new owner) and wants it again only CLUSTER_MOVE_MS later,
 * leaving it to the others meanwhile. One table at a time (the next a tick after the last is
 * gone, while the node is still over its share), between two hands: nothing is voided.
 */
#include "cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "lease.h"
#include "redis.h"
#include "relay.h"
#include "store.h"

#define CLUSTER_TICK_MS 1000  /* the URL map's refresh */
#define CLUSTER_RETAKE_MS 1000 /* a refused take wants the lease again after this */
#define CLUSTER_LOBBY_TTL_MS 3000 /* an owner's lobby entry outlives it this long */
#define CLUSTER_ALIVE_MS 5000     /* a node silent this long is no longer listed */
#define CLUSTER_SETTLE_MS 7000    /* more than its share this long: a node hands a table over */
#define CLUSTER_MOVE_MS 3000      /* a table handed over is left to the others this long */

struct cluster_take;

/* What the node knows of one of its tables. */
struct cluster_table {
    struct cluster *c;
    struct table *t;
    uint64_t gen;         /* moves on with every acquire and loss: older takes are stale */
    struct cluster_take *take; /* the take in flight, or NULL */
    int64_t write_seq;    /* from the take's table row */
    int64_t floor;        /* the highest fence the store was found to hold (lease_want) */
    struct timer *retake; /* wants the lease again after a refused take */
    int watch_told;       /* this node's spectators of it, as last written to Redis */
    bool owner_listed;    /* standing by: its owner's lobby entry was there at the last read */
    bool moving;          /* being handed over: no new hand, released once settled */
};

/* A take in flight; it outlives its cluster (cluster_free) until the store answers. */
struct cluster_take {
    struct cluster_table *ct; /* NULL once orphaned */
    uint64_t gen;
    int64_t fence;
    int64_t stored_fence;     /* a refused take's: the fence stored for the table */
};

struct cluster {
    struct server *srv;
    bool stopped;                 /* cluster_stop: nothing is played any more */
    char node_id[LEASE_NODE_ID_MAX + 1];
    char redis_url[TABLE_URL_MAX + 1];
    char advertise[TABLE_URL_MAX + 1];
    void (*owned)(struct server *srv, struct table *t);
    struct redis *redis;
    struct lease_set *leases;
    struct relay *relay;          /* the tables' events to and from the other nodes */
    struct cluster_table *tables; /* parallel to srv->tables */
    int ntables;
    struct timer *tick;
    char secret_candidate[2 * SERVER_SECRET_BYTES + 1]; /* felt:secret if none is set yet */
    char **node_ids, **node_urls; /* the last map read */
    int nnodes;
    /* The nodes that serve the same tables as this one (the same --table names, in any order),
     * among whom the tables are shared out: a sorted set of their own, named after a digest of
     * the names. Nodes given other tables (a cluster sharded by hand) share nothing. */
    char peer_set[64];
    int npeers;
    int64_t over_since_ms;        /* since when this node holds more than its share (0: not) */
    int nheld;                    /* the leases held at cluster_stop, released by cluster_free */
    const char **held_tables;
    int64_t *held_fences;
};

static struct cluster_table *cluster_find(struct cluster *c, const char *table_id)
{
    for (int i = 0; i < c->ntables; i++)
        if (strcmp(table_config(c->tables[i].t)->id, table_id) == 0)
            return &c->tables[i];
    return NULL;
}

/* ---- the take's rows, restored into the table (it stands by meanwhile) ------------------- */

static struct table *cluster_take_table(void *user)
{
    struct cluster_take *k = user;
    return k->ct && k->gen == k->ct->gen ? k->ct->t : NULL;
}

static void cluster_take_row(void *user, const struct store_table *st)
{
    struct cluster_take *k = user;
    struct table *t = cluster_take_table(user);
    k->stored_fence = st->fence;
    if (!t)
        return;
    table_set_last_hand_id(t, st->last_hand_id);
    k->ct->write_seq = st->write_seq;
}

static void cluster_take_seat(void *user, const struct store_seat *s)
{
    struct table *t = cluster_take_table(user);
    if (t)
        table_restore(t, s);
}

static void cluster_take_departure(void *user, const struct store_departure *d)
{
    struct table *t = cluster_take_table(user);
    if (t)
        table_departed(t, d->player_id, d->token_hash, d->stack);
}

static void cluster_take_voided(void *user, const char *table_id, int64_t hand_id)
{
    (void)table_id;
    struct table *t = cluster_take_table(user);
    if (t)
        table_voided(t, hand_id);
}

static const struct store_load_ops cluster_take_ops = {
    .table = cluster_take_row,
    .seat = cluster_take_seat,
    .departure = cluster_take_departure,
    .voided = cluster_take_voided,
};

static void cluster_retake_fire(void *arg)
{
    struct cluster_table *ct = arg;
    lease_want(ct->c->leases, table_config(ct->t)->id, ct->floor);
}

static void cluster_take_done(void *user, const char *code, const char *why)
{
    struct cluster_take *k = user;
    struct cluster_table *ct = k->ct;
    if (!ct) { /* the node stopped meanwhile */
        free(k);
        return;
    }
    ct->take = NULL; /* the one in flight (an older one was orphaned when it went stale) */
    const char *id = table_config(ct->t)->id;
    int64_t fence = 0;
    if (k->gen != ct->gen) { /* an older take: what came after it decides */
        free(k);
        return;
    }
    if (code) {
        if (k->stored_fence > ct->floor) /* a Redis that forgot its counter: the next is above */
            ct->floor = k->stored_fence;
        log_line(LOG_ERROR, "table %s: cannot take it with fence %lld (%s: %s); letting the "
                 "lease go and trying again above fence %lld", id, (long long)k->fence, code,
                 why ? why : "", (long long)ct->floor);
        table_stand_by(ct->t, "its take failed");
        relay_follow(ct->c->relay, ct->t);
        ct->gen++;
        lease_drop(ct->c->leases, id); /* released: the next acquire is a new fence */
        timer_arm(ct->retake, CLUSTER_RETAKE_MS);
    } else if (!lease_held(ct->c->leases, id, &fence) || fence != k->fence) {
        table_stand_by(ct->t, "lease lost while it was taken"); /* empties what the rows put back */
        relay_follow(ct->c->relay, ct->t);
        ct->gen++;
    } else {
        log_line(LOG_INFO, "table %s: played on this node now (fence %lld)", id,
                 (long long)k->fence);
        table_own(ct->t, ct->write_seq);
        relay_own(ct->c->relay, ct->t, k->fence);
        if (ct->c->owned)
            ct->c->owned(ct->c->srv, ct->t);
    }
    free(k);
}

/* The take in flight (if any) goes stale: its rows and its answer change nothing, and its
 * answer frees it. */
static void cluster_orphan_take(struct cluster_table *ct)
{
    ct->gen++;
    if (ct->take)
        ct->take->ct = NULL;
    ct->take = NULL;
}

/* srv->may_play: this node plays t only while it holds t's lease, by its own clock (a node
 * woken from a pause stops before its lease timer has even run). */
static bool cluster_may_play(void *arg, const struct table *t)
{
    struct cluster *c = arg;
    return !c->stopped && lease_held(c->leases, table_config(t)->id, NULL);
}

/* ---- the leases' hooks ------------------------------------------------------------------ */

static void cluster_acquired(void *arg, const char *table_id, int64_t fence)
{
    struct cluster *c = arg;
    struct cluster_table *ct = cluster_find(c, table_id);
    if (!ct)
        return;
    table_stand_by(ct->t, "a new owner's fence"); /* empty already, unless a loss went unseen */
    relay_idle(c->relay, ct->t); /* no mirror while the take's rows come in */
    cluster_orphan_take(ct); /* stale: its rows and its answer go nowhere */
    ct->write_seq = 0;
    struct cluster_take *k = xcalloc(1, sizeof(*k));
    k->ct = ct;
    k->gen = ct->gen;
    k->fence = fence;
    log_line(LOG_INFO, "table %s: lease acquired (fence %lld); taking it from the store",
             table_id, (long long)fence);
    if (store_table_take(c->srv->store, table_id, fence, &cluster_take_ops, cluster_take_done,
                         k) != 0) {
        log_line(LOG_WARNING, "table %s: the store cannot take it now; trying again", table_id);
        free(k);
        relay_follow(c->relay, ct->t);
        lease_drop(c->leases, table_id);
        timer_arm(ct->retake, CLUSTER_RETAKE_MS);
        return;
    }
    ct->take = k;
}

static void cluster_lost(void *arg, const char *table_id, int64_t fence, const char *why)
{
    struct cluster *c = arg;
    struct cluster_table *ct = cluster_find(c, table_id);
    if (!ct)
        return;
    char reason[LEASE_NODE_ID_MAX + 64];
    snprintf(reason, sizeof(reason), "lease of fence %lld lost: %s", (long long)fence, why);
    cluster_orphan_take(ct);
    ct->moving = false;
    table_stand_by(ct->t, reason);
    relay_follow(c->relay, ct->t);
    table_set_owner_url(ct->t, NULL); /* not this node's any more; the next tick names the owner */
}

/* ---- a fair share of the tables --------------------------------------------------------- */

/* The tables this node should play at most: ceil(tables / live peers); all of them until the
 * first list of its peers has been read. */
static int cluster_share(const struct cluster *c)
{
    int n = c->npeers > 0 ? c->npeers : 1;
    return (c->ntables + n - 1) / n;
}

/* lease hook: a node below its share tries every free table; one at its share only a table
 * whose owner has gone quiet (no lobby entry at the last read). */
static bool cluster_may_acquire(void *arg, const char *table_id)
{
    struct cluster *c = arg;
    struct cluster_table *ct = cluster_find(c, table_id);
    if (c->stopped || !ct)
        return false;
    return lease_count_held(c->leases) < cluster_share(c) || !ct->owner_listed;
}

/* The table handed over: released, stood by, wanted again after CLUSTER_MOVE_MS. */
static void cluster_hand_over(struct cluster_table *ct)
{
    struct cluster *c = ct->c;
    const char *id = table_config(ct->t)->id;
    log_line(LOG_INFO, "table %s: handed over to another node (this node plays more than its "
             "share, %d of %d tables for %d nodes)", id, lease_count_held(c->leases), c->ntables,
             c->npeers);
    ct->moving = false;
    ct->owner_listed = true; /* its entry, as this node last wrote it, lives on for a while */
    cluster_orphan_take(ct);
    lease_drop(c->leases, id); /* released in Redis: the others may take it at once */
    table_stand_by(ct->t, "handed over to another node");
    relay_follow(c->relay, ct->t);
    table_set_owner_url(ct->t, NULL);
    timer_arm(ct->retake, CLUSTER_MOVE_MS);
}

/* Each tick: a table being handed over goes once it is settled; a node over its share for
 * CLUSTER_SETTLE_MS starts handing one over. */
static void cluster_rebalance(struct cluster *c)
{
    struct cluster_table *pick = NULL;
    for (int i = 0; i < c->ntables; i++) {
        struct cluster_table *ct = &c->tables[i];
        if (!ct->moving)
            continue;
        if (!lease_held(c->leases, table_config(ct->t)->id, NULL) || table_standby(ct->t)) {
            ct->moving = false; /* lost meanwhile: nothing left to hand over */
            continue;
        }
        if (lease_count_held(c->leases) <= cluster_share(c)) { /* a node went meanwhile */
            ct->moving = false;
            table_hold_deal(ct->t, false);
            continue;
        }
        if (table_settled(ct->t))
            cluster_hand_over(ct);
        return; /* one at a time */
    }
    int held = lease_count_held(c->leases), share = cluster_share(c);
    int64_t now = timer_now_us() / 1000;
    if (c->stopped || c->npeers < 2 || held <= share) {
        c->over_since_ms = 0;
        return;
    }
    if (c->over_since_ms == 0)
        c->over_since_ms = now;
    if (now - c->over_since_ms < CLUSTER_SETTLE_MS)
        return;
    for (int i = 0; i < c->ntables; i++) {
        struct cluster_table *ct = &c->tables[i];
        if (ct->take || table_standby(ct->t) ||
            !lease_held(c->leases, table_config(ct->t)->id, NULL))
            continue;
        if (!pick || table_people(ct->t) < table_people(pick->t))
            pick = ct;
    }
    if (!pick)
        return;
    pick->moving = true; /* over_since_ms stays: the next goes a tick after, while still over */
    table_hold_deal(pick->t, true);
    log_line(LOG_INFO, "table %s: to be handed over after its hand (this node plays %d of %d "
             "tables, its share for %d nodes is %d)", table_config(pick->t)->id, held, c->ntables,
             c->npeers, share);
    if (table_settled(pick->t))
        cluster_hand_over(pick);
}

static const struct lease_hooks cluster_lease_hooks = {
    .acquired = cluster_acquired,
    .lost = cluster_lost,
    .may_acquire = cluster_may_acquire,
};

/* ---- the nodes' URLs -------------------------------------------------------------------- */

static void cluster_nodes_clear(struct cluster *c)
{
    if (c->srv->node_urls == (const char *const *)c->node_urls) {
        c->srv->node_urls = NULL;
        c->srv->nnode_urls = 0;
    }
    for (int i = 0; i < c->nnodes; i++) {
        free(c->node_ids[i]);
        free(c->node_urls[i]);
    }
    free(c->node_ids);
    free(c->node_urls);
    c->node_ids = c->node_urls = NULL;
    c->nnodes = 0;
}

static void cluster_nodes_read(void *arg, int n, const char *const *ids, const char *const *urls)
{
    struct cluster *c = arg;
    cluster_nodes_clear(c);
    c->node_ids = xcalloc((size_t)n + 1, sizeof(*c->node_ids));
    c->node_urls = xcalloc((size_t)n + 1, sizeof(*c->node_urls));
    for (int i = 0; i < n; i++) {
        c->node_ids[i] = xstrdup(ids[i]);
        c->node_urls[i] = xstrdup(urls[i]);
    }
    c->nnodes = n;
    c->srv->node_urls = (const char *const *)c->node_urls;
    c->srv->nnode_urls = n;
    for (int i = 0; i < c->ntables; i++) {
        struct cluster_table *ct = &c->tables[i];
        const char *holder = lease_holder(c->leases, table_config(ct->t)->id), *url = "";
        if (strcmp(holder, c->node_id) == 0) /* its own, being taken: nobody else to name */
            holder = "";
        else if (!holder[0]) /* not tried lately (the fair share): cluster_lease_read names it */
            continue;
        for (int j = 0; holder[0] && j < n; j++)
            if (strcmp(c->node_ids[j], holder) == 0)
                url = c->node_urls[j];
        table_set_owner_url(ct->t, url);
    }
}

/* ---- the lobby: the owners' entries, for the nodes that stand the tables by ------------- */

static void cluster_lobby_read(void *arg, const char *table_id, const char *json, size_t len)
{
    struct cluster *c = arg;
    struct cluster_table *ct = cluster_find(c, table_id);
    if (ct)
        ct->owner_listed = json != NULL;
    if (ct && table_standby(ct->t))
        table_set_owner_lobby(ct->t, json, len);
}

/* A standing-by table's lease as Redis has it ("NODE FENCE", or NULL: free): its owner's URL
 * for the "not_owner" answers. A node at its share does not try the lease, so it does not
 * learn the holder from the attempts' answers (lease_holder). */
static void cluster_lease_read(void *arg, const char *table_id, const char *val, size_t len)
{
    struct cluster *c = arg;
    struct cluster_table *ct = cluster_find(c, table_id);
    if (!ct || !table_standby(ct->t) || lease_held(c->leases, table_id, NULL))
        return;
    char holder[LEASE_NODE_ID_MAX + 1] = "";
    size_t n = 0;
    while (val && n < len && n < LEASE_NODE_ID_MAX && val[n] != ' ')
        n++;
    if (val && n < len && val[n] == ' ') {
        memcpy(holder, val, n);
        holder[n] = '\0';
    }
    const char *url = "";
    for (int j = 0; holder[0] && j < c->nnodes; j++)
        if (strcmp(c->node_ids[j], holder) == 0 && strcmp(holder, c->node_id) != 0)
            url = c->node_urls[j];
    table_set_owner_url(ct->t, url);
}

static void cluster_watchers_read(void *arg, const char *table_id, int sum)
{
    struct cluster *c = arg;
    struct cluster_table *ct = cluster_find(c, table_id);
    if (ct && !table_standby(ct->t))
        table_set_remote_spectators(ct->t, sum);
}

/* Every table's spectators here to Redis (while there are some, and once more when they are
 * gone); for each table this node plays, the other nodes' read back and counted with its own. */
static void cluster_watchers_sync(struct cluster *c)
{
    const char **others = xcalloc((size_t)c->nnodes + 1, sizeof(*others));
    int nothers = 0;
    for (int j = 0; j < c->nnodes; j++)
        if (strcmp(c->node_ids[j], c->node_id) != 0)
            others[nothers++] = c->node_ids[j];
    for (int i = 0; i < c->ntables; i++) {
        struct cluster_table *ct = &c->tables[i];
        const char *id = table_config(ct->t)->id;
        int n = table_local_spectators(ct->t);
        if (n > 0 || ct->watch_told > 0) {
            redis_watchers_put(c->redis, id, c->node_id, n, CLUSTER_LOBBY_TTL_MS);
            ct->watch_told = n;
        }
        if (!table_standby(ct->t) && nothers > 0)
            redis_watchers_sum(c->redis, id, nothers, others, cluster_watchers_read, c);
        else if (!table_standby(ct->t))
            table_set_remote_spectators(ct->t, 0);
    }
    free(others);
}

/* Each table this node plays: its lobby entry to Redis; the others': read back. */
static void cluster_lobby_sync(struct cluster *c)
{
    const char **standing = xcalloc((size_t)c->ntables + 1, sizeof(*standing));
    int n = 0;
    for (int i = 0; i < c->ntables; i++) {
        struct table *t = c->tables[i].t;
        if (table_standby(t) || !lease_held(c->leases, table_config(t)->id, NULL)) {
            standing[n++] = table_config(t)->id;
            continue;
        }
        struct json_object *j = table_lobby_json(t);
        size_t len;
        const char *s = json_object_to_json_string_length(j, JSON_C_TO_STRING_PLAIN, &len);
        redis_lobby_put(c->redis, table_config(t)->id, s, len, CLUSTER_LOBBY_TTL_MS);
        json_object_put(j);
    }
    if (n > 0) {
        redis_lobby_get(c->redis, n, standing, cluster_lobby_read, c);
        redis_leases_get(c->redis, n, standing, cluster_lease_read, c);
    }
    free(standing);
}

static void cluster_peers_read(void *arg, int n, const char *const *ids, const char *const *urls)
{
    (void)ids;
    (void)urls;
    struct cluster *c = arg;
    c->npeers = n;
}

/* felt:nodes:DIGEST, the set of the nodes serving exactly these tables: the first 16 bytes of
 * the SHA-256 of their names, sorted, a line each, in hex. */
static void cluster_peer_set(struct cluster *c)
{
    const char **ids = xcalloc((size_t)c->ntables + 1, sizeof(*ids));
    for (int i = 0; i < c->ntables; i++)
        ids[i] = table_config(c->srv->tables[i])->id;
    for (int i = 1; i < c->ntables; i++) /* insertion sort: a few tables, once */
        for (int j = i; j > 0 && strcmp(ids[j - 1], ids[j]) > 0; j--) {
            const char *x = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = x;
        }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        felt_fatal("SHA-256 is not available");
    for (int i = 0; i < c->ntables; i++)
        if (EVP_DigestUpdate(md, ids[i], strlen(ids[i])) != 1 ||
            EVP_DigestUpdate(md, "\n", 1) != 1)
            felt_fatal("SHA-256 failed");
    if (EVP_DigestFinal_ex(md, sum, &len) != 1 || len < 16)
        felt_fatal("SHA-256 failed");
    EVP_MD_CTX_free(md);
    free(ids);
    int n = snprintf(c->peer_set, sizeof(c->peer_set), "felt:nodes:");
    for (int i = 0; i < 16; i++)
        n += snprintf(c->peer_set + n, sizeof(c->peer_set) - (size_t)n, "%02x", sum[i]);
}

/* felt:secret's value: the nodes' shared secret from now on (a Redis that forgot it has a new
 * one, set by whichever node asked first). */
static void cluster_secret_read(void *arg, const char *secret)
{
    struct cluster *c = arg;
    struct server *srv = c->srv;
    if (strlen(secret) == sizeof(srv->node_secret) - 1)
        memcpy(srv->node_secret, secret, sizeof(srv->node_secret));
}

static void cluster_tick_fire(void *arg)
{
    struct cluster *c = arg;
    if (redis_connected(c->redis)) {
        redis_secret_sync(c->redis, c->secret_candidate, cluster_secret_read, c);
        redis_nodes_sync(c->redis, "felt:nodes", c->node_id, c->advertise, CLUSTER_ALIVE_MS,
                         cluster_nodes_read, c);
        redis_nodes_sync(c->redis, c->peer_set, c->node_id, c->advertise, CLUSTER_ALIVE_MS,
                         cluster_peers_read, c);
        cluster_lobby_sync(c);
        cluster_watchers_sync(c);
        cluster_rebalance(c);
    }
    timer_arm(c->tick, CLUSTER_TICK_MS);
}

/* ---- the cluster_* interface ------------------------------------------------------------ */

int cluster_check(const struct cluster_options *o, struct felt_err *err)
{
    if (!o->node_id || !o->redis_url || !o->advertise)
        return felt_err_set(err, "bad_cluster", "--node-id, --redis and --advertise go together");
    if (!lease_node_id_valid(o->node_id))
        return felt_err_set(err, "bad_cluster", "--node-id is 1 to %d of A-Z a-z 0-9 . _ -",
                            LEASE_NODE_ID_MAX);
    const char *host = strstr(o->advertise, "://");
    if (strlen(o->advertise) > TABLE_URL_MAX ||
        (strncmp(o->advertise, "ws://", 5) != 0 && strncmp(o->advertise, "wss://", 6) != 0) ||
        !host || !host[3] || strpbrk(host + 3, " \t\r\n/?#"))
        return felt_err_set(err, "bad_cluster", "--advertise takes the ws:// or wss:// URL "
                            "clients reach this node by (ws://HOST:PORT, no path)");
    return redis_url_check(o->redis_url, err);
}

struct cluster *cluster_new(struct server *srv, struct ev_loop *loop,
                            const struct cluster_options *o, struct felt_err *err)
{
    if (cluster_check(o, err) != 0)
        return NULL;
    if (!loop) {
        felt_err_set(err, "bad_cluster", "several nodes need the libev loop (--event-lib libev)");
        return NULL;
    }
    struct cluster *c = xcalloc(1, sizeof(*c));
    c->srv = srv;
    snprintf(c->redis_url, sizeof(c->redis_url), "%s", o->redis_url);
    c->owned = o->owned;
    snprintf(c->advertise, sizeof(c->advertise), "%s", o->advertise);
    snprintf(c->node_id, sizeof(c->node_id), "%s", o->node_id ? o->node_id : "");
    c->redis = redis_new(loop, o->redis_url, err);
    struct lease_config lc = {.node_id = o->node_id, .ttl_ms = o->lease_ttl_ms};
    if (c->redis)
        c->leases = lease_set_new(&lc, &redis_lease_ops, c->redis, &cluster_lease_hooks, c, err);
    if (c->leases)
        c->relay = relay_new(srv, loop, c->redis, o->redis_url, o->node_id, err);
    if (!c->relay) {
        lease_set_free(c->leases);
        redis_free(c->redis);
        free(c);
        return NULL;
    }
    redis_set_leases(c->redis, c->leases);
    c->ntables = srv->ntables;
    c->tables = xcalloc((size_t)c->ntables, sizeof(*c->tables));
    for (int i = 0; i < c->ntables; i++) {
        struct cluster_table *ct = &c->tables[i];
        ct->c = c;
        ct->t = srv->tables[i];
        ct->retake = timer_new(cluster_retake_fire, ct);
        table_stand_by(ct->t, "waiting for its lease");
        relay_follow(c->relay, ct->t);
        lease_want(c->leases, table_config(ct->t)->id, 0);
    }
    cluster_peer_set(c);
    srv->may_play = cluster_may_play;
    srv->may_play_arg = c;
    c->tick = timer_new(cluster_tick_fire, c);
    rng_token_hex(c->secret_candidate, SERVER_SECRET_BYTES);
    timer_arm(c->tick, 0);
    log_line(LOG_INFO, "node %s of a cluster (Redis %s), reached at %s: %d table%s wanted",
             c->node_id, o->redis_url, c->advertise, c->ntables, c->ntables == 1 ? "" : "s");
    return c;
}

void cluster_stop(struct cluster *c)
{
    if (!c || c->stopped)
        return;
    c->stopped = true; /* cluster_may_play: no table plays on */
    c->held_tables = xcalloc((size_t)c->ntables + 1, sizeof(*c->held_tables));
    c->held_fences = xcalloc((size_t)c->ntables + 1, sizeof(*c->held_fences));
    for (int i = 0; i < c->ntables; i++) {
        struct cluster_table *ct = &c->tables[i];
        const char *id = table_config(ct->t)->id;
        if (lease_held(c->leases, id, &c->held_fences[c->nheld]))
            c->held_tables[c->nheld++] = id;
        cluster_orphan_take(ct);
        timer_cancel(ct->retake);
    }
    lease_set_abandon(c->leases); /* released by cluster_free, once the last writes are stored */
    c->leases = NULL;
    relay_stop(c->relay); /* before the connection it sends on */
    redis_set_leases(c->redis, NULL);
    redis_free(c->redis);
    c->redis = NULL;
    timer_cancel(c->tick);
}

void cluster_free(struct cluster *c)
{
    if (!c)
        return;
    cluster_stop(c);
    if (c->nheld > 0) {
        int n = redis_release_now(c->redis_url, c->node_id, c->nheld, c->held_tables,
                                  c->held_fences, 1000);
        log_line(LOG_INFO, "released %d of the %d table lease%s this node held", n, c->nheld,
                 c->nheld == 1 ? "" : "s");
    }
    if (c->srv->may_play_arg == c) {
        c->srv->may_play = NULL;
        c->srv->may_play_arg = NULL;
    }
    for (int i = 0; i < c->ntables; i++)
        timer_free(c->tables[i].retake);
    relay_free(c->relay);
    timer_free(c->tick);
    cluster_nodes_clear(c);
    free(c->held_tables);
    free(c->held_fences);
    free(c->tables);
    free(c);
}
