/*
 * relay.h: a table's play carried from its owner to the other nodes of a cluster (issue 14,
 * docs/scaling.md), so that a spectator can watch any table from any node.
 *
 * The owner (relay_own) appends every event the table publishes, its public rendering only
 * (a hole card never leaves the node that deals it), to the table's Redis stream, in seq order,
 * fenced by its lease (redis_append), and writes its public snapshot (felt:{T}:snap) when it
 * starts the stream and then every RELAY_SNAP_EVERY events or every second the table moved. A
 * stream is started under a new epoch by each new owner, and again whenever the owner cannot
 * go on without a gap (its queue overflowed while Redis was away, or Redis forgot the stream):
 * the snapshot that starts it covers whatever was not appended.
 *
 * Every other node (relay_follow) mirrors the table: it reads the snapshot, starts the table's
 * mirror from it (table_mirror_reset), and follows the stream from the next seq (feed.h: from
 * the publishes, gaps filled from the stream); each event goes into the table's history
 * (table_mirror_event), whence its spectators read it as from a table played here. A new
 * epoch starts the mirror again from the new snapshot (every spectator is resynchronised with
 * it); a snapshot newer than the mirror's is read again now and then, so that a spectator who
 * arrives later need not be sent more than the history holds.
 *
 * Players are not relayed: a player's socket on another node is carried to the owner whole
 * (proxy.h), so that their private renderings never cross Redis.
 *
 * Calls run relay.c -> redis.h, feed.h, table.c; cluster.c calls relay_* as the leases come and
 * go; the tables reach it only through srv->published.
 */
#ifndef FELT_RELAY_H
#define FELT_RELAY_H

#include <stdint.h>

#include "server.h"

#define RELAY_QUEUE_MAX 4096   /* events waiting for their append, per table */
#define RELAY_WINDOW 16        /* requests in flight per table (a snapshot, or up to
                                  REDIS_APPEND_MAX events each) */
#define RELAY_RETRY_MS 200     /* after a failed append or read */
#define RELAY_SNAP_EVERY 256   /* the owner writes a snapshot at least this often (events) */
#define RELAY_REFRESH_TICK 32  /* a mirror this far past its snapshot reads the owner's newer
                                  one at the next second's tick */
#define RELAY_REFRESH 1024     /* ... and at once, this far past it */

struct ev_loop;
struct redis;
struct relay;

/* Relays srv's tables through cmd (the node's command connection, cluster.c's: it must outlive
 * the relay's last use, relay_stop) and a subscriber connection of its own to url; node_id is
 * this node's (the leases'). Every table starts idle. NULL with err for a URL it cannot use. */
struct relay *relay_new(struct server *srv, struct ev_loop *loop, struct redis *cmd,
                        const char *url, const char *node_id, struct felt_err *err);
/* This node plays t now, under the lease of fence: a new stream, from t's snapshot. */
void relay_own(struct relay *r, struct table *t, int64_t fence);
/* Another node plays t (or nobody yet): t stands by here (table_stand_by) and mirrors it. */
void relay_follow(struct relay *r, struct table *t);
/* Neither, for now (t is being taken by this node): nothing is appended or mirrored. */
void relay_idle(struct relay *r, struct table *t);
/* The node stops: nothing more is sent or mirrored; the subscriber connection closes. Replies
 * still to come on cmd are ignored (relay_free after cmd is freed). */
void relay_stop(struct relay *r);
void relay_free(struct relay *r);

#endif
