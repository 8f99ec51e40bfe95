/*
 * server_test_wsclient.c: the shared client module (wsclient/) against the real feltd
 * (server_test.h): opens, messages, closes from inside a callback, reconnect backoff, a dead URL
 * followed by its live alternate, adopted descriptors, timers and HTTP requests on the same loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_test.h"

struct wc_probe {
    struct bb *bb;
    int opens, messages, closes, states, reconnecting;
    int last_code, max_attempt;
    int64_t max_next_in;
    bool close_on_message;
    struct wsconn *c;
};

static void wc_open(struct wsconn *c, void *user)
{
    struct wc_probe *p = user;
    (void)c;
    p->opens++;
    wsloop_stop(p->bb->loop);
}

static void wc_message(struct wsconn *c, void *user, const char *buf, size_t len)
{
    struct wc_probe *p = user;
    (void)buf;
    (void)len;
    p->messages++;
    if (p->close_on_message) {
        wsconn_close(c, 1000, "done"); /* from inside its own callback */
        p->c = NULL;
    }
    wsloop_stop(p->bb->loop);
}

static void wc_close(struct wsconn *c, void *user, int code, const char *reason)
{
    struct wc_probe *p = user;
    (void)c;
    (void)reason;
    p->closes++;
    p->last_code = code;
    wsloop_stop(p->bb->loop);
}

static void wc_state(struct wsconn *c, void *user, enum wsconn_state st)
{
    struct wc_probe *p = user;
    p->states++;
    if (st == WSCONN_RECONNECTING) {
        int attempt;
        int64_t next;
        wsconn_retry_info(c, &attempt, &next);
        p->reconnecting++;
        if (attempt > p->max_attempt) p->max_attempt = attempt;
        if (next > p->max_next_in) p->max_next_in = next;
        if (attempt != p->reconnecting)
            p->last_code = -1000 - attempt; /* attempts must count 1, 2, 3, ... */
    }
    wsloop_stop(p->bb->loop);
}

static struct wsconn *wc_new(struct bb *bb, struct wc_probe *p, const char *path, bool deflate,
                             bool reconnect)
{
    char url[128];
    struct wsconn_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    snprintf(url, sizeof(url), "%s%s", bb->ws, path);
    cfg.url = url;
    cfg.subprotocol = PROTO_SUBPROTOCOL;
    cfg.deflate = deflate;
    cfg.reconnect = reconnect;
    cfg.user = p;
    cfg.on_open = wc_open;
    cfg.on_message = wc_message;
    cfg.on_close = wc_close;
    cfg.on_state = wc_state;
    p->bb = bb;
    p->c = wsconn_new(bb->loop, &cfg, NULL, 0);
    return p->c;
}

struct fd_probe {
    struct bb *bb;
    int fd, calls, eof;
    char got[16];
    size_t len;
    bool forgotten;
};

static void fd_readable(void *arg)
{
    struct fd_probe *f = arg;
    char buf[16];
    f->calls++;
    ssize_t n = read(f->fd, buf, sizeof(buf));
    if (n > 0 && f->len + (size_t)n < sizeof(f->got)) {
        memcpy(f->got + f->len, buf, (size_t)n);
        f->len += (size_t)n;
    }
    if (n == 0) {
        f->eof++;
        wsloop_forget_fd(f->bb->loop, f->fd);
        f->forgotten = true;
    }
    wsloop_stop(f->bb->loop);
}

struct timer_probe {
    struct bb *bb;
    int fired;
    int order;
};

static int timer_seq;
static void timer_fire(void *arg)
{
    struct timer_probe *t = arg;
    t->fired++;
    t->order = ++timer_seq;
    wsloop_stop(t->bb->loop);
}

struct http_probe {
    struct bb *bb;
    int status;
    bool done, error;
};

static void http_probe_done(void *arg, const struct wshttp_result *res)
{
    struct http_probe *h = arg;
    h->done = true;
    h->status = res->status;
    h->error = res->error != NULL;
    wsloop_stop(h->bb->loop);
}

/* permessage-deflate is negotiated when offered (z), not otherwise (plain); the byte counters
 * include the framing and the upgrade. Both probes go on receiving the table's events. */
static void check_deflate_negotiated(struct bb *bb, struct wc_probe *z, struct wc_probe *plain)
{
    struct wsconn *cz = wc_new(bb, z, "/ws/spectate/main", true, false);
    struct wsconn *cp = wc_new(bb, plain, "/ws/spectate/main", false, false);
    assert_true(BB_WAIT(bb, z->messages > 0 && plain->messages > 0, BB_TIMEOUT_MS));
    assert_true(wsconn_compressed(cz));
    assert_false(wsconn_compressed(cp));
    assert_int_equal(wsconn_state(cz), WSCONN_OPEN);
    uint64_t wire, payload;
    wsconn_bytes(cp, &wire, &payload);
    assert_true(payload > 0 && wire > payload); /* framing and the upgrade on top */
}

/* With deflate, a message that compresses to more than lws's buffers (random text) and the
 * message queued right behind it both arrive whole and in order. */
static void check_deflate_big_messages(struct bb *bb)
{
    struct tc *zc = tc_spectator(bb, "zc", "main", false);
    wait_snapshot(bb, zc);
    assert_true(wsconn_compressed(zc->ws));
    size_t zlen = 12000;
    char *rnd = xmalloc(zlen + 64);
    int off = snprintf(rnd, zlen + 64, "{\"type\": \"chat\", \"text\": \"");
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < zlen; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        rnd[off + (int)i] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[x & 63];
    }
    snprintf(rnd + off + zlen, 64, "\"}");
    for (int i = 0; i < 3; i++) {
        tc_send(zc, rnd);
        tc_send(zc, "{\"type\": \"ping\", \"id\": 5}");
    }
    free(rnd);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(jval_str(wait_reply(bb, zc, PROTO_S_ERROR, i), "code"), "too_long");
        assert_int_equal(jval_int(wait_reply(bb, zc, PROTO_S_PONG, i), "id", -1), 5);
    }
    assert_int_equal(zc->closes, 0);
}

/* Closing from inside on_message: no callback afterwards (and nothing freed early), while z, a
 * spectator left open, goes on receiving. */
static void check_close_in_callback(struct bb *bb, struct wc_probe *z)
{
    /* static: it is the connection's user data, and the loop runs on after this step */
    static struct wc_probe once = {.close_on_message = true};
    wc_new(bb, &once, "/ws/spectate/main", true, false);
    assert_true(BB_WAIT(bb, once.messages > 0, BB_TIMEOUT_MS));
    struct tc *ann = tc_join(bb, "ann", "main", false); /* events every spectator would get */
    wait_snapshot(bb, ann);
    assert_true(BB_WAIT(bb, z->messages >= 4, BB_TIMEOUT_MS));
    assert_int_equal(once.messages, 1);
    assert_int_equal(once.closes, 0);
    assert_int_equal(metric_value(bb, "felt_connections{role=\"spectator\"} "),
                     3); /* z, plain, zc */
}

/* More connections at once than the loop runs handshakes at once: they wait their turn. The
 * server already has `before` spectators. */
static void check_crowd(struct bb *bb, uint64_t before)
{
    struct tc *crowd[150];
    for (size_t i = 0; i < FELT_ARRAY_LEN(crowd); i++)
        crowd[i] = tc_spectator(bb, "crowd", "main", false);
    for (size_t i = 0; i < FELT_ARRAY_LEN(crowd); i++) {
        wait_snapshot(bb, crowd[i]);
        assert_int_equal(crowd[i]->closes, 0);
    }
    assert_int_equal(metric_value(bb, "felt_connections{role=\"spectator\"} "),
                     before + FELT_ARRAY_LEN(crowd));
    for (size_t i = 0; i < FELT_ARRAY_LEN(crowd); i++)
        tc_free(crowd[i]);
}

/* The queue is bounded; a URL that is not ws:// is refused at once, with a reason. */
static void check_queue_bound(struct bb *bb)
{
    static struct wc_probe q; /* static: the connection's user data, as above */
    q.bb = bb;
    char url[128], err[128];
    struct wsconn_config qc;
    memset(&qc, 0, sizeof(qc));
    snprintf(url, sizeof(url), "%s/ws/spectate/main", bb->ws);
    qc.url = url;
    qc.max_queue = 3;
    qc.user = &q;
    struct wsconn *cq = wsconn_new(bb->loop, &qc, NULL, 0);
    assert_non_null(cq);
    for (int i = 0; i < 3; i++)
        assert_int_equal(wsconn_send(cq, "{}", 2), 0);
    assert_int_equal(wsconn_send(cq, "{}", 2), -1);
    assert_int_equal(wsconn_send_first(cq, "{}", 2), -1);
    assert_int_equal(wsconn_queued(cq), 3);
    wsconn_clear_queue(cq);
    assert_int_equal(wsconn_queued(cq), 0);
    wsconn_close(cq, 1000, "bye");
    struct wsconn_config bad = qc;
    bad.url = "http://127.0.0.1:1/x";
    assert_null(wsconn_new(bb->loop, &bad, err, sizeof(err)));
    assert_true(strlen(err) > 0);
    assert_int_equal(wshttp_request(bb->loop, "ws://127.0.0.1:1/", NULL, NULL, NULL, NULL), -1);
}

/* Timers fire in order; a cancelled one does not. */
static void check_timers(struct bb *bb)
{
    struct timer_probe t1 = {bb, 0, 0}, t2 = {bb, 0, 0}, t3 = {bb, 0, 0};
    struct wstimer *w1 = wstimer_new(bb->loop, timer_fire, &t1);
    struct wstimer *w2 = wstimer_new(bb->loop, timer_fire, &t2);
    struct wstimer *w3 = wstimer_new(bb->loop, timer_fire, &t3);
    wstimer_arm(w1, 30);
    wstimer_arm(w2, 10);
    wstimer_arm(w3, 20);
    wstimer_cancel(w3);
    assert_true(BB_WAIT(bb, t1.fired > 0, BB_TIMEOUT_MS));
    assert_int_equal(t2.fired, 1);
    assert_int_equal(t3.fired, 0);
    assert_true(t2.order < t1.order);
    wstimer_free(w1);
    wstimer_free(w2);
    wstimer_free(w3);
}

/* An adopted descriptor: data, then EOF, in the same loop. */
static void check_adopted_fd(struct bb *bb)
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    struct fd_probe f = {.bb = bb, .fd = pfd[0]};
    assert_int_equal(wsloop_adopt_fd(bb->loop, pfd[0], fd_readable, &f), 0);
    assert_int_equal(write(pfd[1], "hi", 2), 2);
    assert_true(BB_WAIT(bb, f.len == 2, BB_TIMEOUT_MS));
    assert_memory_equal(f.got, "hi", 2);
    close(pfd[1]);
    assert_true(BB_WAIT(bb, f.eof > 0, BB_TIMEOUT_MS));
    assert_true(f.forgotten);
    assert_int_equal(fcntl(pfd[0], F_GETFD), 0); /* still the caller's, still open */
    close(pfd[0]);
}

/* "Nowhere": a loopback port held bound but never listened on, so nothing else can take it
 * meanwhile. Returns the socket holding it (to close) and sets *port. */
static int bind_dead_port(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Reconnects to nowhere back off and count attempts; HTTP to nowhere fails cleanly while the
 * live server still answers; nothing is called back after wsconn_close. */
static void check_reconnect_to_nowhere(struct bb *bb)
{
    struct http_reply r;
    char url[128];
    int dead_port, dead_fd = bind_dead_port(&dead_port);
    static struct wc_probe rc; /* static: the connection's user data, as above */
    rc.bb = bb;
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws/spectate/main", dead_port);
    struct wsconn_config rcfg = {
        .url = url, .reconnect = true, .user = &rc, .on_close = wc_close, .on_state = wc_state};
    struct wsconn *crc = wsconn_new(bb->loop, &rcfg, NULL, 0);
    assert_true(BB_WAIT(bb, rc.reconnecting >= 3, BB_TIMEOUT_MS));
    assert_int_equal(rc.max_attempt, 3);
    assert_int_equal(rc.closes, 3);
    assert_int_equal(rc.last_code, 0);
    assert_int_equal(rc.opens, 0);
    assert_true(rc.max_next_in <= 2400); /* 2 s and its jitter at the third attempt */
    assert_int_equal(wsconn_state(crc), WSCONN_RECONNECTING);
    wsconn_close(crc, 1000, "bye");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", dead_port);
    struct http_probe hp = {.bb = bb, .status = -1};
    assert_int_equal(wshttp_request(bb->loop, url, NULL, NULL, http_probe_done, &hp), 0);
    assert_true(BB_WAIT(bb, hp.done, BB_TIMEOUT_MS));
    assert_int_equal(hp.status, 0);
    assert_true(hp.error);
    bb_http(bb, "/healthz", NULL, NULL, &r); /* the live one answers */
    assert_int_equal(r.status, 200);
    http_reply_free(&r);
    assert_int_equal(rc.closes, 3); /* nothing after wsconn_close */
    close(dead_fd);
}

/* A socket given a dead URL and the live server as its alternate: the first attempt fails, the
 * next goes to the alternate and opens; wsconn_url_index says which. Too many URLs are refused. */
static void check_alternate_url(struct bb *bb)
{
    char dead[128], live[128], err[128];
    int dead_port, dead_fd = bind_dead_port(&dead_port);
    static struct wc_probe ap; /* static: the connection's user data, as above */
    ap.bb = bb;
    snprintf(dead, sizeof(dead), "ws://127.0.0.1:%d/ws/spectate/main", dead_port);
    snprintf(live, sizeof(live), "%s/ws/spectate/main", bb->ws);
    const char *alt[] = {live};
    struct wsconn_config cfg = {.url = dead, .alt_urls = alt, .nalt = 1, .reconnect = true,
                                .user = &ap, .on_open = wc_open, .on_close = wc_close,
                                .on_state = wc_state};
    struct wsconn *c = wsconn_new(bb->loop, &cfg, NULL, 0);
    assert_non_null(c);
    assert_int_equal(wsconn_url_index(c), 0);
    assert_true(BB_WAIT(bb, ap.opens == 1, BB_TIMEOUT_MS));
    assert_int_equal(ap.closes, 1); /* the dead one's */
    assert_int_equal(wsconn_url_index(c), 1);
    assert_int_equal(wsconn_state(c), WSCONN_OPEN);
    wsconn_close(c, 1000, "bye");
    const char *many[] = {live, live, live, live};
    struct wsconn_config too = cfg;
    too.alt_urls = many;
    too.nalt = WSCONN_URLS_MAX;
    assert_null(wsconn_new(bb->loop, &too, err, sizeof(err)));
    assert_non_null(strstr(err, "at most"));
    close(dead_fd);
}

void test_wsclient(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    struct wc_probe z = {0}, plain = {0};
    (void)state;
    START(&bb, "--hand-delay", "600000");
    check_deflate_negotiated(&bb, &z, &plain);
    check_deflate_big_messages(&bb);
    check_close_in_callback(&bb, &z);
    check_crowd(&bb, 3);
    check_queue_bound(&bb);
    check_timers(&bb);
    check_adopted_fd(&bb);
    check_reconnect_to_nowhere(&bb);
    check_alternate_url(&bb);
    bb_stop_clean(&bb);
}
