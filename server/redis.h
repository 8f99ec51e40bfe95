/*
 * redis.h: feltd's connection to Redis when it runs as several nodes (issue 14; feltd does not
 * open one yet, see docs/scaling.md). One asynchronous hiredis connection on feltd's libev
 * loop, reconnected with a capped backoff when it drops, and the table leases' requests
 * (lease.h) as Lua scripts, so that each check-and-set runs atomically in Redis.
 *
 * Keys, per table T (the braces keep a table's keys in one Redis Cluster slot):
 *   felt:{T}:lease  "NODE FENCE", expiring after the lease's ttl unless renewed
 *   felt:{T}:fence  the fencing counter, incremented by every acquire, never reset
 */
#ifndef FELT_REDIS_H
#define FELT_REDIS_H

#include <stdbool.h>

#include "lease.h"
#include "util.h"

struct ev_loop;
struct redis;

/* Parses url ("redis://HOST[:PORT]", PORT 6379 by default, HOST a name, an IPv4 address or
 * [IPv6]) and starts connecting on loop; a failed or lost connection is retried after 100 ms,
 * doubling to 2 s, and logged once per outage. NULL with err ("bad_redis_url") for a URL it
 * cannot use. */
struct redis *redis_new(struct ev_loop *loop, const char *url, struct felt_err *err);
/* Where the replies of redis_lease_ops go (NULL: dropped). Set it before wanting a lease. */
void redis_set_leases(struct redis *r, struct lease_set *ls);
bool redis_connected(const struct redis *r);
/* Closes at once: requests not yet answered are answered LEASE_R_ERROR first. NULL: no-op. */
void redis_free(struct redis *r);

/* lease_ops over this connection; their user pointer is the struct redis. */
extern const struct lease_ops redis_lease_ops;

#endif
