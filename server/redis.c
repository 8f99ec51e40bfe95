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

#include "proto.h"
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
    struct feed *feed;
    char **subs;           /* tables subscribed to (a subscriber connection) */
    int nsubs, subs_cap;
    int resub_pending;     /* confirmations awaited before telling the feed to catch up */
};

/* What a request needs back in its reply callback; freed there (hiredis calls it exactly once,
 * with no reply when the connection goes). */
struct redis_req {
    struct redis *r;
    uint64_t req;
    redis_append_fn done;
    redis_nodes_fn nodes;
    redis_snap_fn snap;
    redis_secret_fn secret;
    void *arg;
    char table_id[PROTO_GAME_ID_MAX + 1];
};

static void redis_connect(struct redis *r);
static void redis_send_subscribe(struct redis *r, const char *table_id);

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

/* KEYS: n leases; ARGV: node, ttl, then the n fences. One {ok, fence, holder} per lease. */
static const char redis_renew_batch_lua[] =
    "local out = {}\n"
    "for i, key in ipairs(KEYS) do\n"
    "  local cur = redis.call('GET', key)\n"
    "  if cur == ARGV[1] .. ' ' .. ARGV[2 + i] then\n"
    "    redis.call('PEXPIRE', key, ARGV[2])\n"
    "    out[i] = {1, tonumber(ARGV[2 + i]), ARGV[1]}\n"
    "  elseif not cur then\n"
    "    out[i] = {0, 0, ''}\n"
    "  else\n"
    "    local sep = string.find(cur, ' ', 1, true)\n"
    "    out[i] = {0, tonumber(string.sub(cur, sep + 1)), string.sub(cur, 1, sep - 1)}\n"
    "  end\n"
    "end\n"
    "return out\n";

/* KEYS lease, events, pub, epoch, base; ARGV node, fence, first, keep, epoch, start, then one
 * JSON per event (seqs first, first + 1, ...). {code, have, epoch}: 1 appended (have: the last
 * seq), 0 fenced, 2 out of sequence, 3 another epoch (or none); nothing is written unless all
 * are. base is the seq before a stream's first event (an empty stream's last seq). A seq is
 * written with string.format('%d') (Lua 5.1's tostring would print %.14g: not digits past
 * 10^14). */
static const char redis_append_lua[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] .. ' ' .. ARGV[2] then return {0, 0, ''} end\n"
    "local cur = redis.call('GET', KEYS[4])\n"
    "local first = tonumber(ARGV[3])\n"
    "local fresh = false\n"
    "if ARGV[6] == '1' and cur ~= ARGV[5] then\n"
    "  redis.call('DEL', KEYS[2])\n"
    "  redis.call('SET', KEYS[4], ARGV[5])\n"
    "  redis.call('SET', KEYS[5], first - 1)\n"
    "  cur = ARGV[5]\n"
    "  fresh = true\n"
    "end\n"
    "local have = tonumber(redis.call('GET', KEYS[5]) or '0')\n"
    "local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)\n"
    "if #last > 0 then have = tonumber(string.match(last[1][1], '^(%d+)')) end\n"
    "if cur ~= ARGV[5] then return {3, have, cur or ''} end\n"
    "if not fresh and first ~= have + 1 then return {2, have, cur} end\n"
    "for i = 7, #ARGV do\n"
    "  local seq = string.format('%d', first + i - 7)\n"
    "  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], seq .. '-0', 'e', ARGV[i])\n"
    "  redis.call('PUBLISH', KEYS[3], ARGV[5] .. ' ' .. seq .. ' ' .. ARGV[i])\n"
    "end\n"
    "return {1, first + #ARGV - 7, cur}\n";

/* KEYS events, epoch; ARGV from, count. {epoch or '', XRANGE's entries}: one snapshot. */
static const char redis_range_lua[] =
    "return {redis.call('GET', KEYS[2]) or '',\n"
    "        redis.call('XRANGE', KEYS[1], ARGV[1] .. '-0', '+', 'COUNT', ARGV[2])}\n";

/* KEYS lease, snap, events, epoch, base; ARGV node, fence, epoch, seq, json, start.
 * 1 written, 0 fenced. start: the snapshot starts the stream of epoch (unless it is that one
 * already), empty, its next event seq + 1. */
static const char redis_snap_put_lua[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] .. ' ' .. ARGV[2] then return 0 end\n"
    "if ARGV[6] == '1' and redis.call('GET', KEYS[4]) ~= ARGV[3] then\n"
    "  redis.call('DEL', KEYS[3])\n"
    "  redis.call('SET', KEYS[4], ARGV[3])\n"
    "  redis.call('SET', KEYS[5], ARGV[4])\n"
    "end\n"
    "redis.call('SET', KEYS[2], ARGV[3] .. ' ' .. ARGV[4] .. ' ' .. ARGV[5])\n"
    "return 1\n";

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
    ev_timer_stop(r->loop, &r->retry); /* libev: never set an active watcher */
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
    r->resub_pending = 0;
    for (int i = 0; i < r->nsubs; i++)
        redis_send_subscribe(r, r->subs[i]);
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

int redis_url_check(const char *url, struct felt_err *err)
{
    struct redis r;
    return redis_parse_url(&r, url, err);
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
    for (int i = 0; i < r->nsubs; i++)
        free(r->subs[i]);
    free(r->subs);
    free(r);
}

/* ---- the lease requests ----------------------------------------------------------------- */

/* A reply arrived (NULL: the connection went): the watchdog's accounting. */
static void redis_reply_seen(struct redis *r, const redisReply *reply)
{
    if (!reply) return;
    r->inflight--;
    r->progress = ev_now(r->loop);
}

/* Passes one lease's answer {ok, fence, holder} (NULL: none came) on to the leases. */
static void redis_lease_answer(struct redis *r, uint64_t req, const redisReply *a)
{
    enum lease_result res = LEASE_R_ERROR;
    long long fence = 0;
    const char *holder = NULL;
    if (a && a->type == REDIS_REPLY_ARRAY && a->elements == 3 &&
        a->element[0]->type == REDIS_REPLY_INTEGER &&
        a->element[1]->type == REDIS_REPLY_INTEGER &&
        a->element[2]->type == REDIS_REPLY_STRING) {
        res = a->element[0]->integer == 1 ? LEASE_R_OK : LEASE_R_TAKEN;
        fence = a->element[1]->integer;
        holder = a->element[2]->str;
    } else if (a) {
        log_line(LOG_WARNING, "redis %s:%d: unexpected answer to a lease request: %s", r->host,
                 r->port, a->type == REDIS_REPLY_ERROR ? a->str : "not {ok, fence, holder}");
    }
    if (r->leases) lease_on_reply(r->leases, req, res, fence, holder);
}

static void redis_lease_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    (void)ac;
    struct redis_req *q = privdata;
    redis_reply_seen(q->r, reply_);
    redis_lease_answer(q->r, q->req, reply_);
    free(q);
}

/* A batch of renewals: reqs[i] answers for the i-th lease. */
struct redis_batch {
    struct redis *r;
    int n;
    uint64_t reqs[];
};

static void redis_batch_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    (void)ac;
    struct redis_batch *b = privdata;
    const redisReply *reply = reply_;
    redis_reply_seen(b->r, reply);
    bool whole = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == (size_t)b->n;
    if (reply && !whole)
        log_line(LOG_WARNING, "redis %s:%d: unexpected answer to %d renewals: %s", b->r->host,
                 b->r->port, b->n, reply->type == REDIS_REPLY_ERROR ? reply->str : "not n answers");
    for (int i = 0; i < b->n; i++)
        redis_lease_answer(b->r, b->reqs[i], whole ? reply->element[i] : NULL);
    free(b);
}

/* Sends one command whose reply goes to cb with q (NULL cb: no reply awaited, q NULL). fmt is
 * hiredis's format (printf's, plus %b for a pointer and a size_t length: binary-safe), so the
 * compiler cannot check it. 0, or -1 when there is no connection to send it on (q is then
 * freed). */
static int redis_send(struct redis *r, redisCallbackFn *cb, struct redis_req *q,
                      const char *fmt, ...)
{
    if (!r->ac) {
        free(q);
        return -1;
    }
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAsyncCommand(r->ac, cb, q, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK) {
        free(q);
        return -1;
    }
    if (cb && r->inflight++ == 0) r->progress = ev_now(r->loop);
    return 0;
}

static struct redis_req *redis_req_new(struct redis *r, uint64_t req, const char *table_id)
{
    struct redis_req *q = xcalloc(1, sizeof(*q));
    q->r = r;
    q->req = req;
    if (table_id) snprintf(q->table_id, sizeof(q->table_id), "%s", table_id);
    return q;
}

static int redis_lease_acquire(void *user, uint64_t req, const char *table_id,
                               const char *node_id, int64_t ttl_ms, int64_t floor)
{
    struct redis *r = user;
    return redis_send(r, redis_lease_reply, redis_req_new(r, req, NULL),
                      "EVAL %s 2 felt:{%s}:lease felt:{%s}:fence %s %lld %lld", redis_acquire_lua,
                      table_id, table_id, node_id, (long long)ttl_ms, (long long)floor);
}

static int redis_lease_renew(void *user, uint64_t req, const char *table_id, const char *node_id,
                             int64_t fence, int64_t ttl_ms)
{
    struct redis *r = user;
    return redis_send(r, redis_lease_reply, redis_req_new(r, req, NULL),
                      "EVAL %s 1 felt:{%s}:lease %s %lld %lld", redis_renew_lua, table_id,
                      node_id, (long long)fence, (long long)ttl_ms);
}

static int redis_lease_renew_batch(void *user, int n, const uint64_t *reqs,
                                   const char *const *tables, const char *node_id,
                                   const int64_t *fences, int64_t ttl_ms)
{
    struct redis *r = user;
    if (!r->ac || n < 1 || n > LEASE_BATCH_MAX) return -1;
    /* EVAL script n key... node ttl fence... */
    enum { FIXED = 3 };
    int argc = FIXED + n + 2 + n;
    const char **argv = xcalloc((size_t)argc, sizeof(*argv));
    size_t *lens = xcalloc((size_t)argc, sizeof(*lens));
    char *text = xmalloc((size_t)(n * 2 + 2) * 48); /* keys, fences and the numbers */
    char *p = text;
    int k = 0;
    argv[k++] = "EVAL";
    argv[k++] = redis_renew_batch_lua;
    argv[k] = p;
    p += sprintf(p, "%d", n) + 1;
    k++;
    for (int i = 0; i < n; i++) {
        argv[k++] = p;
        p += sprintf(p, "felt:{%.*s}:lease", PROTO_GAME_ID_MAX, tables[i]) + 1;
    }
    argv[k++] = node_id;
    argv[k] = p;
    p += sprintf(p, "%lld", (long long)ttl_ms) + 1;
    k++;
    for (int i = 0; i < n; i++) {
        argv[k++] = p;
        p += sprintf(p, "%lld", (long long)fences[i]) + 1;
    }
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    struct redis_batch *b = xmalloc(sizeof(*b) + (size_t)n * sizeof(b->reqs[0]));
    b->r = r;
    b->n = n;
    memcpy(b->reqs, reqs, (size_t)n * sizeof(b->reqs[0]));
    int rc = redisAsyncCommandArgv(r->ac, redis_batch_reply, b, argc, argv, lens);
    free(argv);
    free(lens);
    free(text);
    if (rc != REDIS_OK) {
        free(b);
        return -1;
    }
    if (r->inflight++ == 0) r->progress = ev_now(r->loop);
    return 0;
}

static int redis_lease_release(void *user, const char *table_id, const char *node_id,
                               int64_t fence)
{
    return redis_send(user, NULL, NULL, "EVAL %s 1 felt:{%s}:lease %s %lld", redis_release_lua,
                      table_id, node_id, (long long)fence);
}

int redis_release_now(const char *url, const char *node_id, int n, const char *const *tables,
                      const int64_t *fences, int timeout_ms)
{
    struct redis r; /* for its host and port */
    if (n <= 0 || redis_parse_url(&r, url, NULL) != 0) return 0;
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(r.host, r.port, tv);
    int released = 0;
    if (c && !c->err && redisSetTimeout(c, tv) == REDIS_OK) {
        for (int i = 0; i < n; i++) {
            redisReply *rep = redisCommand(c, "EVAL %s 1 felt:{%s}:lease %s %lld",
                                           redis_release_lua, tables[i], node_id,
                                           (long long)fences[i]);
            if (!rep) break; /* the connection failed: the rest expire by themselves */
            released += rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
            freeReplyObject(rep);
        }
    }
    if (c) redisFree(c);
    return released;
}

const struct lease_ops redis_lease_ops = {
    .acquire = redis_lease_acquire,
    .renew = redis_lease_renew,
    .renew_batch = redis_lease_renew_batch,
    .release = redis_lease_release,
};

/* ---- the nodes' URLs -------------------------------------------------------------------- */

/* felt:nodes, a sorted set of "ID URL" scored by when it was last said (Redis's own clock, so
 * that the nodes' clocks need not agree): this node's entry renewed, entries silent for a minute
 * removed, and those said within the last 5 s returned, in one atomic call. A set nobody has
 * written for a minute goes (a group of nodes whose tables changed: cluster.c's peer sets). */
static const char redis_nodes_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('ZADD', KEYS[1], now, ARGV[1])\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)\n"
    "redis.call('PEXPIRE', KEYS[1], 60000)\n"
    "return redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[2]), '+inf')\n";

static void redis_nodes_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    (void)ac;
    struct redis_req *q = privdata;
    const redisReply *reply = reply_;
    redis_reply_seen(q->r, reply);
    if (reply && reply->type == REDIS_REPLY_ARRAY) {
        size_t n = reply->elements;
        const char **ids = xcalloc(n + 1, sizeof(*ids)), **urls = xcalloc(n + 1, sizeof(*urls));
        char **own = xcalloc(n + 1, sizeof(*own));
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            const redisReply *e = reply->element[i];
            const char *sp = e->type == REDIS_REPLY_STRING ? memchr(e->str, ' ', e->len) : NULL;
            if (!sp || sp == e->str || strlen(e->str) != e->len)
                continue;
            own[k] = xstrdup(e->str);
            own[k][sp - e->str] = '\0';
            ids[k] = own[k];
            urls[k] = own[k] + (sp - e->str) + 1;
            k++;
        }
        q->nodes(q->arg, (int)k, ids, urls);
        for (size_t i = 0; i < k; i++)
            free(own[i]);
        free(own);
        free(ids);
        free(urls);
    }
    free(q);
}

int redis_nodes_sync(struct redis *r, const char *set, const char *node_id, const char *url,
                     int64_t alive_ms, redis_nodes_fn fn, void *arg)
{
    struct redis_req *q = redis_req_new(r, 0, NULL);
    q->nodes = fn;
    q->arg = arg;
    char member[LEASE_NODE_ID_MAX + 1 + 512];
    snprintf(member, sizeof(member), "%s %s", node_id, url);
    return redis_send(r, redis_nodes_reply, q, "EVAL %s 1 %s %b %lld", redis_nodes_lua, set,
                      member, strlen(member), (long long)alive_ms);
}

/* ---- the nodes' shared secret ---------------------------------------------------------- */

static const char redis_secret_lua[] =
    "redis.call('SET', KEYS[1], ARGV[1], 'NX')\n"
    "return redis.call('GET', KEYS[1])\n";

static void redis_secret_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    (void)ac;
    struct redis_req *q = privdata;
    const redisReply *reply = reply_;
    redis_reply_seen(q->r, reply);
    if (reply && reply->type == REDIS_REPLY_STRING && strlen(reply->str) == reply->len)
        q->secret(q->arg, reply->str);
    free(q);
}

int redis_secret_sync(struct redis *r, const char *candidate, redis_secret_fn fn, void *arg)
{
    struct redis_req *q = redis_req_new(r, 0, NULL);
    q->secret = fn;
    q->arg = arg;
    return redis_send(r, redis_secret_reply, q, "EVAL %s 1 felt:secret %s", redis_secret_lua,
                      candidate);
}

/* ---- the lobby ------------------------------------------------------------------------- */

int redis_lobby_put(struct redis *r, const char *table_id, const char *json, size_t len,
                    int64_t ttl_ms)
{
    return redis_send(r, NULL, NULL, "SET felt:{%s}:lobby %b PX %lld", table_id, json, len,
                      (long long)ttl_ms);
}

/* MGET's reply: one string or nil per table asked, in order. */
struct redis_lobby_req {
    struct redis *r;
    redis_lobby_fn fn;
    void *arg;
    int n;
    char (*tables)[PROTO_GAME_ID_MAX + 1];
};

static void redis_lobby_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    (void)ac;
    struct redis_lobby_req *q = privdata;
    const redisReply *reply = reply_;
    redis_reply_seen(q->r, reply);
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == (size_t)q->n)
        for (int i = 0; i < q->n; i++) {
            const redisReply *e = reply->element[i];
            bool str = e->type == REDIS_REPLY_STRING;
            q->fn(q->arg, q->tables[i], str ? e->str : NULL, str ? e->len : 0);
        }
    free(q->tables);
    free(q);
}

/* MGET of n keys, keys[i] "felt:{tables[i or 0]}:SUFFIX" (suffixes[i], or suffix for all),
 * its reply to cb with privdata q. 0, or -1 (nothing sent). */
#define REDIS_KEY_MAX (PROTO_GAME_ID_MAX + LEASE_NODE_ID_MAX + 24)
static int redis_mget(struct redis *r, int n, const char *const *tables, bool one_table,
                      const char *suffix, const char *const *suffixes, redisCallbackFn *cb,
                      void *q)
{
    const char **argv = xcalloc((size_t)n + 1, sizeof(*argv));
    size_t *lens = xcalloc((size_t)n + 1, sizeof(*lens));
    char (*keys)[REDIS_KEY_MAX] = xcalloc((size_t)n, sizeof(*keys));
    argv[0] = "MGET";
    lens[0] = 4;
    for (int i = 0; i < n; i++) {
        snprintf(keys[i], sizeof(keys[i]), "felt:{%s}:%s", tables[one_table ? 0 : i],
                 suffixes ? suffixes[i] : suffix);
        argv[i + 1] = keys[i];
        lens[i + 1] = strlen(keys[i]);
    }
    int rc = redisAsyncCommandArgv(r->ac, cb, q, n + 1, argv, lens);
    free(argv);
    free(lens);
    free(keys);
    if (rc != REDIS_OK) return -1;
    if (r->inflight++ == 0) r->progress = ev_now(r->loop);
    return 0;
}

static int redis_keys_get(struct redis *r, int n, const char *const *tables, const char *suffix,
                          redis_lobby_fn fn, void *arg)
{
    if (!r->ac || n < 1) return -1;
    struct redis_lobby_req *q = xcalloc(1, sizeof(*q));
    q->r = r;
    q->fn = fn;
    q->arg = arg;
    q->n = n;
    q->tables = xcalloc((size_t)n, sizeof(*q->tables));
    for (int i = 0; i < n; i++)
        snprintf(q->tables[i], sizeof(q->tables[i]), "%s", tables[i]);
    if (redis_mget(r, n, tables, false, suffix, NULL, redis_lobby_reply, q) != 0) {
        free(q->tables);
        free(q);
        return -1;
    }
    return 0;
}

int redis_lobby_get(struct redis *r, int n, const char *const *tables, redis_lobby_fn fn,
                    void *arg)
{
    return redis_keys_get(r, n, tables, "lobby", fn, arg);
}

int redis_leases_get(struct redis *r, int n, const char *const *tables, redis_lobby_fn fn,
                     void *arg)
{
    return redis_keys_get(r, n, tables, "lease", fn, arg);
}

/* ---- the spectators of a table on every node -------------------------------------------- */

int redis_watchers_put(struct redis *r, const char *table_id, const char *node_id, int count,
                       int64_t ttl_ms)
{
    return redis_send(r, NULL, NULL, "SET felt:{%s}:watch:%s %d PX %lld", table_id, node_id,
                      count, (long long)ttl_ms);
}

struct redis_watchers_req {
    struct redis *r;
    redis_watchers_fn fn;
    void *arg;
    char table_id[PROTO_GAME_ID_MAX + 1];
};

static void redis_watchers_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    (void)ac;
    struct redis_watchers_req *q = privdata;
    const redisReply *reply = reply_;
    redis_reply_seen(q->r, reply);
    if (reply && reply->type == REDIS_REPLY_ARRAY) {
        long long sum = 0;
        for (size_t i = 0; i < reply->elements; i++) {
            const redisReply *e = reply->element[i];
            long long v = e->type == REDIS_REPLY_STRING ? strtoll(e->str, NULL, 10) : 0;
            if (v > 0 && v < 1000000) sum += v; /* a count no node could have: ignored */
        }
        q->fn(q->arg, q->table_id, (int)(sum < 1000000000 ? sum : 1000000000));
    }
    free(q);
}

int redis_watchers_sum(struct redis *r, const char *table_id, int n, const char *const *node_ids,
                       redis_watchers_fn fn, void *arg)
{
    if (!r->ac || n < 1) return -1;
    struct redis_watchers_req *q = xcalloc(1, sizeof(*q));
    q->r = r;
    q->fn = fn;
    q->arg = arg;
    snprintf(q->table_id, sizeof(q->table_id), "%s", table_id);
    char (*sfx)[LEASE_NODE_ID_MAX + 8] = xcalloc((size_t)n, sizeof(*sfx));
    const char **sfxs = xcalloc((size_t)n, sizeof(*sfxs));
    for (int i = 0; i < n; i++) {
        snprintf(sfx[i], sizeof(sfx[i]), "watch:%s", node_ids[i]);
        sfxs[i] = sfx[i];
    }
    int rc = redis_mget(r, n, &table_id, true, NULL, sfxs, redis_watchers_reply, q);
    free(sfx);
    free(sfxs);
    if (rc != 0) free(q);
    return rc;
}

/* ---- a table's events ------------------------------------------------------------------- */

/* {code, have, epoch}: 1 appended, 0 fenced, 2 out of sequence, 3 another epoch or none */
static void redis_append_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    (void)ac;
    struct redis_req *q = privdata;
    const redisReply *reply = reply_;
    enum redis_append_result res = REDIS_APPEND_ERROR;
    long long have = 0;
    char epoch[FEED_EPOCH_MAX + 1] = "";

    redis_reply_seen(q->r, reply);
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER &&
        reply->element[1]->type == REDIS_REPLY_INTEGER &&
        reply->element[2]->type == REDIS_REPLY_STRING &&
        (reply->element[2]->len == 0 ||
         feed_epoch_valid(reply->element[2]->str, reply->element[2]->len))) {
        static const enum redis_append_result codes[] = {REDIS_APPEND_FENCED, REDIS_APPEND_OK,
                                                         REDIS_APPEND_SEQ, REDIS_APPEND_EPOCH};
        long long code = reply->element[0]->integer;
        have = reply->element[1]->integer;
        memcpy(epoch, reply->element[2]->str, reply->element[2]->len + 1);
        res = code >= 0 && code <= 3 ? codes[code] : REDIS_APPEND_ERROR;
    } else if (reply) {
        log_line(LOG_WARNING, "redis %s:%d: unexpected answer to an append: %s", q->r->host,
                 q->r->port,
                 reply->type == REDIS_REPLY_ERROR ? reply->str : "not {code, have, epoch}");
    }
    if (q->done) q->done(q->arg, res, have, epoch);
    free(q);
}

int redis_append_batch(struct redis *r, const char *table_id, const char *node_id,
                       int64_t fence, const char *epoch, bool start, int64_t first, int n,
                       const char *const *jsons, const size_t *lens, redis_append_fn done,
                       void *arg)
{
    if (!epoch || !feed_epoch_valid(epoch, strlen(epoch)) || n < 1 || n > REDIS_APPEND_MAX ||
        !r->ac)
        return -1;
    enum { HEAD = 14 }; /* EVAL, the script, 5, five keys, six arguments */
    const char *argv[HEAD + REDIS_APPEND_MAX];
    size_t argl[HEAD + REDIS_APPEND_MAX];
    char keys[5][PROTO_GAME_ID_MAX + 16], nums[3][24];
    static const char *const kinds[5] = {"lease", "events", "pub", "epoch", "base"};
    argv[0] = "EVAL";
    argv[1] = redis_append_lua;
    argv[2] = "5";
    for (int k = 0; k < 5; k++) {
        snprintf(keys[k], sizeof(keys[k]), "felt:{%s}:%s", table_id, kinds[k]);
        argv[3 + k] = keys[k];
    }
    snprintf(nums[0], sizeof(nums[0]), "%lld", (long long)fence);
    snprintf(nums[1], sizeof(nums[1]), "%lld", (long long)first);
    snprintf(nums[2], sizeof(nums[2]), "%d", REDIS_EVENTS_KEEP);
    argv[8] = node_id;
    argv[9] = nums[0];
    argv[10] = nums[1];
    argv[11] = nums[2];
    argv[12] = epoch;
    argv[13] = start ? "1" : "0";
    int argc = HEAD;
    for (int i = 0; i < argc; i++)
        argl[i] = strlen(argv[i]);
    for (int i = 0; i < n; i++) {
        argv[argc] = jsons[i];
        argl[argc++] = lens[i];
    }
    struct redis_req *q = redis_req_new(r, 0, table_id);
    q->done = done;
    q->arg = arg;
    if (redisAsyncCommandArgv(r->ac, redis_append_reply, q, argc, argv, argl) != REDIS_OK) {
        free(q);
        return -1;
    }
    if (r->inflight++ == 0) r->progress = ev_now(r->loop);
    return 0;
}

int redis_append(struct redis *r, const char *table_id, const char *node_id, int64_t fence,
                 const char *epoch, bool start, int64_t seq, const char *json, size_t len,
                 redis_append_fn done, void *arg)
{
    return redis_append_batch(r, table_id, node_id, fence, epoch, start, seq, 1, &json, &len,
                              done, arg);
}

/* redis_range_lua's reply: [epoch, entries], the entries XRANGE's: [[id, [field, value, ...]],
 * ...], id "SEQ-0", the event in field "e". */
static void redis_range_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    (void)ac;
    struct redis_req *q = privdata;
    struct redis *r = q->r;
    const redisReply *full = reply_, *reply = NULL;
    struct feed_event *ev = NULL;
    char epoch[FEED_EPOCH_MAX + 1] = "";
    int n = 0;
    bool ok = false;

    redis_reply_seen(r, full);
    if (full && full->type == REDIS_REPLY_ARRAY && full->elements == 2 &&
        full->element[0]->type == REDIS_REPLY_STRING &&
        (full->element[0]->len == 0 ||
         feed_epoch_valid(full->element[0]->str, full->element[0]->len)) &&
        full->element[1]->type == REDIS_REPLY_ARRAY) {
        memcpy(epoch, full->element[0]->str, full->element[0]->len + 1);
        reply = full->element[1];
    }
    if (reply) {
        ok = true;
        ev = xcalloc(reply->elements ? reply->elements : 1, sizeof(*ev));
        for (size_t i = 0; i < reply->elements && ok; i++) {
            const redisReply *e = reply->element[i];
            ok = e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
                 e->element[0]->type == REDIS_REPLY_STRING &&
                 e->element[1]->type == REDIS_REPLY_ARRAY && e->element[1]->elements == 2 &&
                 e->element[1]->element[1]->type == REDIS_REPLY_STRING;
            if (!ok) break;
            char *end;
            long long seq = strtoll(e->element[0]->str, &end, 10);
            ok = seq > 0 && *end == '-';
            ev[n].seq = seq;
            ev[n].payload = e->element[1]->element[1]->str;
            ev[n].len = e->element[1]->element[1]->len;
            n++;
        }
        if (!ok)
            log_line(LOG_WARNING, "redis %s:%d: felt:{%s}:events holds an entry that is not ours",
                     r->host, r->port, q->table_id);
    } else if (full) {
        log_line(LOG_WARNING, "redis %s:%d: unexpected answer to a range read: %s", r->host,
                 r->port, full->type == REDIS_REPLY_ERROR ? full->str : "not {epoch, entries}");
    }
    if (r->feed) feed_on_range(r->feed, q->table_id, q->req, ok, epoch, ev, ok ? n : 0);
    free(ev);
    free(q);
}

static int redis_feed_range(void *user, uint64_t req, const char *table_id, int64_t from,
                            int count)
{
    struct redis *r = user;
    return redis_send(r, redis_range_reply, redis_req_new(r, req, table_id),
                      "EVAL %s 2 felt:{%s}:events felt:{%s}:epoch %lld %d", redis_range_lua,
                      table_id, table_id, (long long)from, count);
}

const struct feed_ops redis_feed_ops = {
    .range = redis_feed_range,
};

void redis_reconnect(struct redis *r, const char *why)
{
    if (r->ac && r->connected)
        redis_drop(r, why);
}

void redis_set_feed(struct redis *r, struct feed *f)
{
    r->feed = f;
}

/* ---- a table's snapshot ------------------------------------------------------------------ */

static void redis_snap_put_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    (void)ac;
    struct redis_req *q = privdata;
    const redisReply *reply = reply_;
    enum redis_append_result res = REDIS_APPEND_ERROR;
    redis_reply_seen(q->r, reply);
    if (reply && reply->type == REDIS_REPLY_INTEGER && (reply->integer == 0 || reply->integer == 1))
        res = reply->integer == 1 ? REDIS_APPEND_OK : REDIS_APPEND_FENCED;
    else if (reply)
        log_line(LOG_WARNING, "redis %s:%d: unexpected answer to a snapshot's write: %s",
                 q->r->host, q->r->port, reply->type == REDIS_REPLY_ERROR ? reply->str : "not 0/1");
    if (q->done) q->done(q->arg, res, 0, "");
    free(q);
}

int redis_snap_put(struct redis *r, const char *table_id, const char *node_id, int64_t fence,
                   const char *epoch, bool start, int64_t seq, const char *json, size_t len,
                   redis_append_fn done, void *arg)
{
    if (!epoch || !feed_epoch_valid(epoch, strlen(epoch))) return -1;
    struct redis_req *q = redis_req_new(r, 0, table_id);
    q->done = done;
    q->arg = arg;
    return redis_send(r, redis_snap_put_reply, q,
                      "EVAL %s 5 felt:{%s}:lease felt:{%s}:snap felt:{%s}:events felt:{%s}:epoch "
                      "felt:{%s}:base %s %lld %s %lld %b %d",
                      redis_snap_put_lua, table_id, table_id, table_id, table_id, table_id,
                      node_id, (long long)fence, epoch, (long long)seq, json, len, start ? 1 : 0);
}

/* GET's reply: "EPOCH SEQ JSON", or nil. */
static void redis_snap_get_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    (void)ac;
    struct redis_req *q = privdata;
    const redisReply *reply = reply_;
    char epoch[FEED_EPOCH_MAX + 1] = "";
    long long seq = 0;
    const char *json = NULL;
    size_t len = 0;
    bool ok = false;
    redis_reply_seen(q->r, reply);
    if (reply && reply->type == REDIS_REPLY_NIL) {
        ok = true; /* none yet */
    } else if (reply && reply->type == REDIS_REPLY_STRING) {
        const char *sp = memchr(reply->str, ' ', reply->len), *sp2 = NULL;
        if (sp && feed_epoch_valid(reply->str, (size_t)(sp - reply->str))) {
            memcpy(epoch, reply->str, (size_t)(sp - reply->str));
            epoch[sp - reply->str] = '\0';
            char *end;
            seq = strtoll(sp + 1, &end, 10);
            sp2 = end;
        }
        if (sp2 && seq >= 0 && sp2 < reply->str + reply->len && *sp2 == ' ') {
            json = sp2 + 1;
            len = reply->len - (size_t)(json - reply->str);
            ok = true;
        } else {
            log_line(LOG_WARNING, "redis %s:%d: felt:{%s}:snap is not \"EPOCH SEQ JSON\"",
                     q->r->host, q->r->port, q->table_id);
        }
    }
    q->snap(q->arg, q->table_id, ok, epoch, seq, json, len);
    free(q);
}

int redis_snap_get(struct redis *r, const char *table_id, redis_snap_fn fn, void *arg)
{
    struct redis_req *q = redis_req_new(r, 0, table_id);
    q->snap = fn;
    q->arg = arg;
    return redis_send(r, redis_snap_get_reply, q, "GET felt:{%s}:snap", table_id);
}

/* The table named by a channel "felt:{T}:pub", into out; false if it is not one. */
static bool redis_channel_table(const redisReply *ch, char *out, size_t n)
{
    static const char head[] = "felt:{", tail[] = "}:pub";
    size_t h = sizeof(head) - 1, t = sizeof(tail) - 1;
    if (ch->type != REDIS_REPLY_STRING || ch->len <= h + t || ch->len - h - t >= n ||
        memcmp(ch->str, head, h) != 0 || memcmp(ch->str + ch->len - t, tail, t) != 0)
        return false;
    memcpy(out, ch->str + h, ch->len - h - t);
    out[ch->len - h - t] = '\0';
    return true;
}

/* Every reply on a subscribed channel: ["subscribe", ch, count] or
 * ["message", ch, "EPOCH SEQ JSON"];
 * none when the connection goes (it is then resubscribed on reconnecting). */
static void redis_sub_reply(redisAsyncContext *ac, void *reply_, void *privdata)
{
    (void)ac;
    struct redis *r = privdata;
    const redisReply *reply = reply_;
    char table[PROTO_GAME_ID_MAX + 1];
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        !redis_channel_table(reply->element[1], table, sizeof(table)))
        return;
    const char *kind = reply->element[0]->str;
    if (strcmp(kind, "subscribe") == 0) {
        r->progress = ev_now(r->loop);
        if (r->resub_pending > 0 && --r->resub_pending == 0 && r->feed)
            feed_resync(r->feed); /* everything subscribed again: catch up on the gap */
        return;
    }
    const redisReply *m = reply->element[2];
    if (strcmp(kind, "message") != 0 || m->type != REDIS_REPLY_STRING) return;
    char epoch[FEED_EPOCH_MAX + 1], *end = NULL;
    const char *sp = memchr(m->str, ' ', m->len);
    size_t elen = sp ? (size_t)(sp - m->str) : 0;
    long long seq = 0;
    if (sp && feed_epoch_valid(m->str, elen)) {
        memcpy(epoch, m->str, elen);
        epoch[elen] = '\0';
        seq = strtoll(sp + 1, &end, 10);
    }
    if (seq < 1 || *end != ' ') {
        log_line(LOG_WARNING, "redis %s:%d: a message on felt:{%s}:pub that is not ours",
                 r->host, r->port, table);
        return;
    }
    if (r->feed)
        feed_on_publish(r->feed, table, epoch, seq, end + 1,
                        m->len - (size_t)(end + 1 - m->str));
}

static void redis_send_subscribe(struct redis *r, const char *table_id)
{
    if (!r->ac) return;
    if (redisAsyncCommand(r->ac, redis_sub_reply, r, "SUBSCRIBE felt:{%s}:pub", table_id) ==
        REDIS_OK)
        r->resub_pending++;
}

int redis_subscribe(struct redis *r, const char *table_id)
{
    size_t n = table_id ? strlen(table_id) : 0;
    if (n == 0 || n > PROTO_GAME_ID_MAX) return -1;
    for (int i = 0; i < r->nsubs; i++)
        if (strcmp(r->subs[i], table_id) == 0) return 0;
    if (r->nsubs == r->subs_cap) {
        r->subs_cap = r->subs_cap ? r->subs_cap * 2 : 16;
        r->subs = xrealloc(r->subs, (size_t)r->subs_cap * sizeof(*r->subs));
    }
    r->subs[r->nsubs] = xmalloc(n + 1);
    memcpy(r->subs[r->nsubs++], table_id, n + 1);
    /* While connected, subscribe now; the feed's own first read covers what came before. Not
     * connected: redis_on_connect subscribes everything, then the feed catches up. */
    if (r->connected) {
        int pending = r->resub_pending;
        redis_send_subscribe(r, table_id);
        if (pending == 0) r->resub_pending = 0; /* not part of a resubscription */
    }
    return 0;
}
