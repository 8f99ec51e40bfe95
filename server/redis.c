/*
 * redis.c: one asynchronous hiredis connection on feltd's libev loop, kept up by reconnecting,
 * and the table leases' requests as Lua scripts (redis.h).
 *
 * The connection is never trusted to answer: hiredis 0.14 has no timeouts of its own, so a
 * watchdog (one libev timer, REDIS_WATCHDOG_MS) closes a connection whose oldest request has
 * waited REDIS_STALL_MS (Redis stopped, the path black-holed) or that has not connected within
 * REDIS_CONNECT_MS, and reconnects. Closing answers every request in flight with
 * LEASE_R_ERROR (hiredis runs their callbacks with no reply), so nothing waits forever and the
 * memory queued for a dead connection is freed with it. The leases' own deadlines do not
 * depend on any of this: lease.c stops believing in a lease on time whatever the connection
 * does.
 *
 * The scripts keep the lease's value as "NODE FENCE". Each reply is an array {ok, fence,
 * holder}: ok 1 when granted (fence is ours), 0 when refused (fence and holder are the current
 * owner's, holder "" when nobody holds it).
 */
#include "redis.h"

#include <ev.h>
#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

#define REDIS_HOST_MAX 255
#define REDIS_BACKOFF_MIN_MS 100
#define REDIS_BACKOFF_MAX_MS 2000
#define REDIS_CONNECT_MS 2000  /* a connect not done by then is abandoned */
#define REDIS_STALL_MS 3000    /* a request unanswered this long closes the connection */
#define REDIS_WATCHDOG_MS 500

struct redis {
    struct ev_loop *loop;
    char host[REDIS_HOST_MAX + 1];
    int port;
    redisAsyncContext *ac; /* NULL while waiting to reconnect */
    bool connected;
    bool down_logged;      /* this outage has been logged */
    int backoff_ms;
    int inflight;          /* requests sent and not yet answered */
    ev_tstamp progress;    /* last connect or reply (ev_now) */
    ev_tstamp connect_started;
    ev_timer retry, watchdog;
    struct lease_set *leases;
};

/* A request's number travels through hiredis as this, freed by its callback. */
struct redis_req {
    struct redis *r;
    uint64_t req;
};

static void redis_connect(struct redis *r);

static const char redis_acquire_lua[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur then\n"
    "  local sep = string.find(cur, ' ', 1, true)\n"
    "  local holder = string.sub(cur, 1, sep - 1)\n"
    "  if holder ~= ARGV[1] then\n"
    "    return {0, tonumber(string.sub(cur, sep + 1)), holder}\n"
    "  end\n"
    "end\n"
    "local f = redis.call('INCR', KEYS[2])\n"
    "if f <= tonumber(ARGV[3]) then\n"
    "  f = tonumber(ARGV[3]) + 1\n"
    "  redis.call('SET', KEYS[2], f)\n"
    "end\n"
    "redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. f, 'PX', ARGV[2])\n"
    "return {1, f, ARGV[1]}\n";

static const char redis_renew_lua[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur == ARGV[1] .. ' ' .. ARGV[2] then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
    "  return {1, tonumber(ARGV[2]), ARGV[1]}\n"
    "end\n"
    "if not cur then return {0, 0, ''} end\n"
    "local sep = string.find(cur, ' ', 1, true)\n"
    "return {0, tonumber(string.sub(cur, sep + 1)), string.sub(cur, 1, sep - 1)}\n";

static const char redis_release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] .. ' ' .. ARGV[2] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0\n";

/* ---- the connection --------------------------------------------------------------------- */

static void redis_schedule_reconnect(struct redis *r, const char *why)
{
    r->ac = NULL;
    r->connected = false;
    r->inflight = 0;
    if (!r->down_logged) {
        log_line(LOG_WARNING, "redis %s:%d: %s; reconnecting", r->host, r->port, why);
        r->down_logged = true;
    }
    ev_timer_set(&r->retry, r->backoff_ms / 1000.0, 0.);
    ev_timer_start(r->loop, &r->retry);
    r->backoff_ms = r->backoff_ms * 2 > REDIS_BACKOFF_MAX_MS ? REDIS_BACKOFF_MAX_MS
                                                              : r->backoff_ms * 2;
}

static void redis_on_connect(const redisAsyncContext *ac, int status)
{
    struct redis *r = ac->data;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this returns. */
        redis_schedule_reconnect(r, ac->errstr[0] ? ac->errstr : "cannot connect");
        return;
    }
    r->connected = true;
    r->backoff_ms = REDIS_BACKOFF_MIN_MS;
    r->progress = ev_now(r->loop);
    if (r->down_logged || log_get_level() >= LOG_DEBUG)
        log_line(LOG_INFO, "redis %s:%d: connected", r->host, r->port);
    r->down_logged = false;
}

static void redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis *r = ac->data;
    if (!r) return; /* redis_free: nothing to reconnect */
    redis_schedule_reconnect(r, status == REDIS_OK ? "connection closed"
                                : ac->errstr[0] ? ac->errstr : "connection lost");
}

static void redis_connect(struct redis *r)
{
    redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);
    if (!ac) felt_fatal("redis: out of memory");
    if (ac->err) {
        char why[160];
        snprintf(why, sizeof(why), "%s", ac->errstr);
        redisAsyncFree(ac);
        redis_schedule_reconnect(r, why);
        return;
    }
    ac->data = r;
    if (redisLibevAttach(r->loop, ac) != REDIS_OK) felt_fatal("redis: cannot attach to libev");
    redisAsyncSetConnectCallback(ac, redis_on_connect);
    redisAsyncSetDisconnectCallback(ac, redis_on_disconnect);
    r->ac = ac;
    r->connect_started = ev_now(r->loop);
}

static void redis_retry_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    redis_connect(w->data);
}

/* Closes the connection now (answering what is in flight with errors) and reconnects. */
static void redis_drop(struct redis *r, const char *why)
{
    redisAsyncContext *ac = r->ac;
    ac->data = NULL; /* no disconnect callback work: we reconnect ourselves */
    r->ac = NULL;
    redisAsyncFree(ac);
    redis_schedule_reconnect(r, why);
}

static void redis_watchdog_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct redis *r = w->data;
    ev_tstamp now = ev_now(loop);
    if (!r->ac) return;
    if (!r->connected && now - r->connect_started > REDIS_CONNECT_MS / 1000.0)
        redis_drop(r, "no connection within 2 s");
    else if (r->connected && r->inflight > 0 && now - r->progress > REDIS_STALL_MS / 1000.0)
        redis_drop(r, "no answer for 3 s");
}

static int redis_parse_url(struct redis *r, const char *url, struct felt_err *err)
{
    static const char scheme[] = "redis://";
    if (!url || strncmp(url, scheme, sizeof(scheme) - 1) != 0)
        return felt_err_set(err, "bad_redis_url", "a Redis URL is redis://HOST[:PORT]: '%s'",
                            url ? url : "");
    const char *h = url + sizeof(scheme) - 1, *end, *port = NULL;
    if (*h == '[') { /* [IPv6] */
        end = strchr(h, ']');
        if (!end) return felt_err_set(err, "bad_redis_url", "unclosed '[' in '%s'", url);
        h++;
        if (end[1] == ':') port = end + 2;
        else if (end[1] != '\0')
            return felt_err_set(err, "bad_redis_url", "a Redis URL is redis://HOST[:PORT]: '%s'",
                                url);
    } else {
        end = h + strcspn(h, ":/");
        if (*end == ':') port = end + 1;
        else if (*end != '\0')
            return felt_err_set(err, "bad_redis_url",
                                "a Redis URL is redis://HOST[:PORT], no path: '%s'", url);
    }
    size_t n = (size_t)(end - h);
    if (n == 0 || n > REDIS_HOST_MAX)
        return felt_err_set(err, "bad_redis_url", "no host in '%s'", url);
    memcpy(r->host, h, n);
    r->host[n] = '\0';
    r->port = 6379;
    if (port) {
        char *stop;
        long p = strtol(port, &stop, 10);
        if (*port == '\0' || *stop != '\0' || p < 1 || p > 65535)
            return felt_err_set(err, "bad_redis_url", "bad port in '%s'", url);
        r->port = (int)p;
    }
    return 0;
}

struct redis *redis_new(struct ev_loop *loop, const char *url, struct felt_err *err)
{
    struct redis *r = xcalloc(1, sizeof(*r));
    if (redis_parse_url(r, url, err) != 0) {
        free(r);
        return NULL;
    }
    r->loop = loop;
    r->backoff_ms = REDIS_BACKOFF_MIN_MS;
    ev_timer_init(&r->retry, redis_retry_fire, 0., 0.);
    r->retry.data = r;
    ev_timer_init(&r->watchdog, redis_watchdog_fire, REDIS_WATCHDOG_MS / 1000.0,
                  REDIS_WATCHDOG_MS / 1000.0);
    r->watchdog.data = r;
    ev_timer_start(loop, &r->watchdog);
    redis_connect(r);
    return r;
}

void redis_set_leases(struct redis *r, struct lease_set *ls)
{
    r->leases = ls;
}

bool redis_connected(const struct redis *r)
{
    return r->connected;
}

void redis_free(struct redis *r)
{
    if (!r) return;
    ev_timer_stop(r->loop, &r->retry);
    ev_timer_stop(r->loop, &r->watchdog);
    if (r->ac) {
        redisAsyncContext *ac = r->ac;
        ac->data = NULL;
        r->ac = NULL;
        redisAsyncFree(ac); /* runs the pending callbacks with no reply: LEASE_R_ERROR */
    }
    free(r);
}

/* ---- the lease requests ----------------------------------------------------------------- */

static void redis_lease_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    (void)ac;
    struct redis_req *q = privdata;
    struct redis *r = q->r;
    const redisReply *reply = reply_;
    enum lease_result res = LEASE_R_ERROR;
    long long fence = 0;
    const char *holder = NULL;

    if (reply) {
        r->inflight--;
        r->progress = ev_now(r->loop);
    }
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER &&
        reply->element[1]->type == REDIS_REPLY_INTEGER &&
        reply->element[2]->type == REDIS_REPLY_STRING) {
        res = reply->element[0]->integer == 1 ? LEASE_R_OK : LEASE_R_TAKEN;
        fence = reply->element[1]->integer;
        holder = reply->element[2]->str;
    } else if (reply) {
        log_line(LOG_WARNING, "redis %s:%d: unexpected answer to a lease request: %s", r->host,
                 r->port, reply->type == REDIS_REPLY_ERROR ? reply->str : "not {ok, fence, holder}");
    }
    if (r->leases) lease_on_reply(r->leases, q->req, res, fence, holder);
    free(q);
}

/* Sends one EVAL; 0, or -1 when there is no connection to send it on. */
static int redis_eval(struct redis *r, uint64_t req, bool want_reply, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int redis_eval(struct redis *r, uint64_t req, bool want_reply, const char *fmt, ...)
{
    if (!r->ac) return -1;
    struct redis_req *q = NULL;
    if (want_reply) {
        q = xmalloc(sizeof(*q));
        q->r = r;
        q->req = req;
    }
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAsyncCommand(r->ac, want_reply ? redis_lease_reply : NULL, q, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK) {
        free(q);
        return -1;
    }
    if (want_reply) {
        if (r->inflight++ == 0) r->progress = ev_now(r->loop);
    }
    return 0;
}

static int redis_lease_acquire(void *user, uint64_t req, const char *table_id,
                               const char *node_id, int64_t ttl_ms, int64_t floor)
{
    return redis_eval(user, req, true, "EVAL %s 2 felt:{%s}:lease felt:{%s}:fence %s %lld %lld",
                      redis_acquire_lua, table_id, table_id, node_id, (long long)ttl_ms,
                      (long long)floor);
}

static int redis_lease_renew(void *user, uint64_t req, const char *table_id, const char *node_id,
                             int64_t fence, int64_t ttl_ms)
{
    return redis_eval(user, req, true, "EVAL %s 1 felt:{%s}:lease %s %lld %lld",
                      redis_renew_lua, table_id, node_id, (long long)fence, (long long)ttl_ms);
}

static int redis_lease_release(void *user, const char *table_id, const char *node_id,
                               int64_t fence)
{
    return redis_eval(user, 0, false, "EVAL %s 1 felt:{%s}:lease %s %lld", redis_release_lua,
                      table_id, node_id, (long long)fence);
}

const struct lease_ops redis_lease_ops = {
    .acquire = redis_lease_acquire,
    .renew = redis_lease_renew,
    .release = redis_lease_release,
};
