/*
 * redis.h: feltd's connection to Redis when it runs as several nodes (issue 14: cluster.c opens
 * it for feltd --node-id, see docs/scaling.md). One asynchronous hiredis connection on feltd's libev
 * loop, reconnected with a capped backoff when it drops, and the table leases' requests
 * (lease.h) as Lua scripts, so that each check-and-set runs atomically in Redis; the owner's
 * fenced appends to a table's event stream, and range reads and subscriptions for the nodes
 * that follow it (feed.h). A connection that subscribes does nothing else (RESP2's rule), so a
 * node has two: one for commands, one for subscriptions.
 *
 * Keys, per table T (the braces keep a table's keys in one Redis Cluster slot):
 *   felt:{T}:lease  "NODE FENCE", expiring after the lease's ttl unless renewed
 *   felt:{T}:fence  the fencing counter, incremented by every acquire, never reset
 *   felt:{T}:events the event stream, felt:{T}:pub its channel (below)
 *   felt:{T}:snap   the owner's snapshot that mirrors start from (below)
 *   felt:{T}:watch:NODE  how many watch T on NODE (below)
 */
#ifndef FELT_REDIS_H
#define FELT_REDIS_H

#include <stdbool.h>

#include "feed.h"
#include "lease.h"
#include "util.h"

struct ev_loop;
struct redis;

/* Parses url ("redis://HOST[:PORT]", PORT 6379 by default, HOST a name, an IPv4 address or
 * [IPv6]) and starts connecting on loop; a failed or lost connection is retried after 100 ms,
 * doubling to 2 s, and logged once per outage. NULL with err ("bad_redis_url") for a URL it
 * cannot use. */
struct redis *redis_new(struct ev_loop *loop, const char *url, struct felt_err *err);
/* Whether redis_new could use url: 0, or -1 with err as redis_new's. */
int redis_url_check(const char *url, struct felt_err *err);
/* Where the replies of redis_lease_ops go (NULL: dropped). Set it before wanting a lease. */
void redis_set_leases(struct redis *r, struct lease_set *ls);
bool redis_connected(const struct redis *r);
/* Closes at once: requests not yet answered are answered LEASE_R_ERROR first. NULL: no-op. */
void redis_free(struct redis *r);

/* Releases n leases (tables[i], still node_id's with fences[i]) over a blocking connection of
 * its own, each request given timeout_ms at most: for a node stopping after its loop has ended
 * and its last writes are stored, so that the next owner need not wait out the ttl. Returns how
 * many were released; the others expire by themselves. */
int redis_release_now(const char *url, const char *node_id, int n, const char *const *tables,
                      const int64_t *fences, int timeout_ms);

/* lease_ops over this connection; their user pointer is the struct redis. */
extern const struct lease_ops redis_lease_ops;

/* ---- the nodes' URLs ----
 * felt:nodes is a sorted set of "ID URL" (the URL its clients use: feltd --advertise), scored
 * by Redis's clock when each node last said it, so that a node can tell a client where a table
 * it does not play is played, and which nodes there are. */
typedef void (*redis_nodes_fn)(void *arg, int n, const char *const *ids, const char *const *urls);
/* Says that node_id is alive at url, and answers fn(arg, n, ids, urls) with every node that
 * said so within alive_ms, once, when the answer comes (not at all when the connection goes
 * first); the strings are valid only during the call. 0, or -1 without a connection. set is
 * the sorted set's key: "felt:nodes" for every node, or another for a group of nodes (cluster.c:
 * the nodes that serve the same tables, "felt:nodes:" and a digest of the tables' names). */
int redis_nodes_sync(struct redis *r, const char *set, const char *node_id, const char *url,
                     int64_t alive_ms, redis_nodes_fn fn, void *arg);

/* ---- the nodes' shared secret ----
 * felt:secret is a random secret that every node of the cluster reads (the first node to ask
 * sets it: candidate, 64 hex characters from the OS CSPRNG; the others get that one). A node's
 * proxy sends it to the owner, which then trusts the client address the proxy names
 * (server/net.c). A Redis that forgot it gets a new one, which every node reads within a tick. */
typedef void (*redis_secret_fn)(void *arg, const char *secret);
/* fn(arg, secret) once, when the answer comes (not at all when the connection goes first). 0, or
 * -1 without a connection. */
int redis_secret_sync(struct redis *r, const char *candidate, redis_secret_fn fn, void *arg);

/* ---- the lobby ----
 * felt:{T}:lobby is table T's entry of GET /api/games as its owner renders it, kept for ttl_ms
 * (the owner writes it again every second), so that every node lists the same players. */
int redis_lobby_put(struct redis *r, const char *table_id, const char *json, size_t len,
                    int64_t ttl_ms);
/* fn(arg, table, json, len) once per table asked, when the answer comes (json NULL: no entry);
 * not at all when the connection goes first. 0, or -1 without a connection. */
typedef void (*redis_lobby_fn)(void *arg, const char *table_id, const char *json, size_t len);
int redis_lobby_get(struct redis *r, int n, const char *const *tables, redis_lobby_fn fn,
                    void *arg);
/* The same for the tables' leases (felt:{T}:lease, "NODE FENCE"): who holds each, as Redis has
 * it now, for a node that does not try to acquire them (cluster.c's fair share). */
int redis_leases_get(struct redis *r, int n, const char *const *tables, redis_lobby_fn fn,
                     void *arg);

/* ---- the spectators of a table on every node ----
 * felt:{T}:watch:NODE is how many watch table T on node NODE (its spectators of the table's
 * mirror, or of the table it plays), kept for ttl_ms (each node writes it again every second),
 * so that the owner counts everyone watching. */
int redis_watchers_put(struct redis *r, const char *table_id, const char *node_id, int count,
                       int64_t ttl_ms);
/* fn(arg, table_id, sum) once, with the sum over node_ids[0..n) when the answer comes (not at
 * all when the connection goes first). 0, or -1 without a connection. */
typedef void (*redis_watchers_fn)(void *arg, const char *table_id, int sum);
int redis_watchers_sum(struct redis *r, const char *table_id, int n, const char *const *node_ids,
                       redis_watchers_fn fn, void *arg);

/* ---- a table's events ----
 * felt:{T}:events is the table's stream: one entry per event, its id "SEQ-0" (so the stream's
 * order is the table's seq order), one field "e" holding the event's JSON, trimmed to about
 * REDIS_EVENTS_KEEP entries. felt:{T}:epoch names the stream (feed.h): set by the owner's append
 * or snapshot (redis_snap_put) that starts it, gone with a Redis that forgot; felt:{T}:base is
 * the seq before its first event. felt:{T}:pub is its channel: "EPOCH SEQ JSON"
 * per event. */
#define REDIS_EVENTS_KEEP 10000

enum redis_append_result {
    REDIS_APPEND_OK,     /* appended and published */
    REDIS_APPEND_FENCED, /* the lease is not (node, fence): a stale owner; nothing written */
    REDIS_APPEND_SEQ,    /* seq is not the stream's last + 1 (last in have); nothing written */
    REDIS_APPEND_EPOCH,  /* the stream is another epoch's (in epoch), or there is none (epoch
                            ""): start one (start true) or go on in that one */
    REDIS_APPEND_ERROR,  /* no answer (connection lost, Redis error) */
};

/* done runs once, on the loop; have is the stream's last seq (REDIS_APPEND_SEQ, _EPOCH), epoch
 * the stream's (REDIS_APPEND_EPOCH: "" when there is none). */
typedef void (*redis_append_fn)(void *arg, enum redis_append_result res, int64_t have,
                                const char *epoch);

/* The owner appends event seq of table_id to the stream of epoch, atomically only if the lease
 * is still node's with this fence, the stream is epoch's, and seq follows its last (gap-free),
 * and publishes it. start: the append starts a new stream named epoch (after the owner found
 * none, REDIS_APPEND_EPOCH with ""), at seq, whatever the old one held; it leaves felt:{T}:snap
 * as it was (feltd's owners start their streams with redis_snap_put instead, which writes both:
 * relay.c; a start here is the feed tests' and felt-bench-redis's). epoch is 1..32 bytes
 * without spaces (feed.h). Returns 0, or -1 when there is no connection or epoch is malformed
 * (done is not called). */
int redis_append(struct redis *r, const char *table_id, const char *node_id, int64_t fence,
                 const char *epoch, bool start, int64_t seq, const char *json, size_t len,
                 redis_append_fn done, void *arg);
/* The same for n events (1..REDIS_APPEND_MAX) with seqs first, first + 1, ...: in one script
 * call, all or none (have: the last seq appended); one publish each. */
#define REDIS_APPEND_MAX 32
int redis_append_batch(struct redis *r, const char *table_id, const char *node_id,
                       int64_t fence, const char *epoch, bool start, int64_t first, int n,
                       const char *const *jsons, const size_t *lens, redis_append_fn done,
                       void *arg);

/* felt:{T}:snap is "EPOCH SEQ JSON": the owner's public snapshot of table T (JSON) as of
 * event SEQ of its stream of EPOCH, from which a node that mirrors the table starts (relay.h).
 * The owner writes it only while the lease is still (node_id, fence): done(arg, OK or FENCED
 * or ERROR, 0, ""), once. start: this snapshot starts the stream of epoch (unless the stream is
 * that one already), empty, its next event seq + 1 (felt:{T}:base holds seq), so that the
 * stream and the snapshot change epoch together. 0, or -1 (done is not called) without a
 * connection or for a malformed epoch. */
int redis_snap_put(struct redis *r, const char *table_id, const char *node_id, int64_t fence,
                   const char *epoch, bool start, int64_t seq, const char *json, size_t len,
                   redis_append_fn done, void *arg);
/* Reads it: fn(arg, table_id, ok, epoch, seq, json, len) exactly once, also when the
 * connection goes first (ok false); ok with json NULL: there is none. 0, or -1 (fn is not
 * called) without a connection. */
typedef void (*redis_snap_fn)(void *arg, const char *table_id, bool ok, const char *epoch,
                              int64_t seq, const char *json, size_t len);
int redis_snap_get(struct redis *r, const char *table_id, redis_snap_fn fn, void *arg);

/* feed_ops over this connection (range reads: a script returning the stream's epoch and its
 * XRANGE, one snapshot), replies to redis_set_feed's feed. */
extern const struct feed_ops redis_feed_ops;
/* On a command connection: where range replies go. On a subscriber connection: where publishes
 * go, and whom to tell to catch up (feed_resync) once its subscriptions are back after a
 * reconnect. NULL: dropped. */
void redis_set_feed(struct redis *r, struct feed *f);
/* Drops the connection (logged with why) and connects again, as after a loss: for a
 * subscriber connection that has stopped delivering (relay.c sees it by the stream). */
void redis_reconnect(struct redis *r, const char *why);
/* Makes r a subscriber connection (it then sends nothing else) to table_id's channel; kept
 * across reconnects. 0, or -1 for a malformed table id. */
int redis_subscribe(struct redis *r, const char *table_id);

#endif
