/*
 * cluster.h: feltd as one node of several (feltd --node-id --redis --postgres --advertise;
 * docs/scaling.md). Every table is played by exactly one node at a time, its owner, chosen by a
 * Redis lease with a fencing counter (lease.h over redis.h). The owner takes the table from
 * PostgreSQL with its fence (store_table_take: from then on no older owner's write is stored,
 * the hand the older owner left running is voided, its chips back with their players) and plays
 * it; every other node keeps the table standing by (table_stand_by): no seat, no player's
 * socket, and its joins and polls are answered "not_owner" with the owner's advertised URL,
 * which the nodes publish to each other through Redis (felt:nodes). A node that loses a lease
 * (not renewed in time: Redis unreachable, the process stopped) stands the table by at once and
 * closes its players' sockets; their clients reconnect, to the owner.
 *
 * The owner relays the table's events to Redis and the others mirror them for their spectators
 * (relay.h: relay_own, relay_follow as the leases come and go). Every node's lobby (GET
 * /api/games) lists the owners' entries, read through Redis each second.
 *
 * A player's socket that reaches a node that does not play the table is carried to the owner
 * (proxy.h, through net.c); cluster.c keeps owner_url, which it follows, and the nodes' shared
 * secret (srv->node_secret, felt:secret), which the owner checks on such a socket.
 *
 * Calls run cluster.c -> lease.c, redis.c, relay.c, store.h and table.c; nothing calls back into
 * here but the hooks it registers (the leases', the store's, srv->may_play).
 */
#ifndef FELT_CLUSTER_H
#define FELT_CLUSTER_H

#include <stdint.h>

#include "server.h"

struct ev_loop;
struct cluster;

struct cluster_options {
    const char *node_id;   /* [A-Za-z0-9._-], at most LEASE_NODE_ID_MAX bytes */
    const char *redis_url; /* redis://HOST[:PORT] */
    const char *advertise; /* the ws:// or wss:// URL clients reach this node by */
    int64_t lease_ttl_ms;  /* 0: lease.h's default (4 s) */
    /* This node now plays t (its seats are back from the store): top up its bots. May be NULL. */
    void (*owned)(struct server *srv, struct table *t);
};

/* Whether o can work (node id, URLs; all three given): 0, or -1 with err. */
int cluster_check(const struct cluster_options *o, struct felt_err *err);
/* Stands every table of srv by and starts wanting their leases, on loop. NULL with err for a
 * bad node id, URL or timing. srv->store must be open (and not claimed: the nodes share it). */
struct cluster *cluster_new(struct server *srv, struct ev_loop *loop,
                            const struct cluster_options *o, struct felt_err *err);
/* The node stops (net's on_stop, while the loop still runs): nothing is played from now on
 * (srv->may_play says no), the leases are no longer renewed, the Redis connection closes. The
 * leases held are kept until cluster_free: released before the node's last writes are stored,
 * they would let the next owner take the tables without them. */
void cluster_stop(struct cluster *c);
/* After store_close: releases the leases held at cluster_stop over a short blocking connection
 * (the next owner takes the tables at once rather than after the ttl; what cannot be released
 * expires) and frees. Calls cluster_stop first if it was not. NULL: no-op. */
void cluster_free(struct cluster *c);

#endif
