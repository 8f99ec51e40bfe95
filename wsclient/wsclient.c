/*
 * wsclient.c: felt's client-side libwebsockets layer (contract in wsclient.h), and the only
 * client code that includes libwebsockets.h.
 *
 * One lws context per struct wsloop, with three protocols: WebSocket connections (first, because
 * lws asks protocols[0] which extensions a client may offer), one-shot HTTP requests and adopted
 * file descriptors. Every wsi carries a single pointer to our own object (struct wsconn, wshttp
 * or wsfd) in lws's opaque user data, set when the wsi is created, so it is there for the very
 * first callback; lws allocates no per-session data of ours. An object is detached from its wsi
 * (pointer cleared) before it is freed, and lws callbacks that find no object do nothing.
 *
 * Rules kept here: we write only from WRITEABLE callbacks, one lws_write per callback, from
 * messages that were allocated with LWS_PRE bytes of headroom when queued; the queue of each
 * connection is bounded. Reconnects wait as lws_retry_bo_t says (500 ms doubling to a 10 s cap,
 * plus up to 20 % jitter, forever); the same policy carries the idle heartbeat. Timers are
 * lws_sul. wsloop_run() sleeps in lws_service() until a socket or a timer is due: no busy loop.
 *
 * User callbacks are never called from inside the API call that caused them (connection attempts
 * and HTTP requests start from a timer), so callers need not be re-entrant; and an object closed
 * by its user is freed from a timer, never under a callback that may still use it.
 */
#include "wsclient.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_received */
#include <netinet/in.h>

#include <libwebsockets.h>

#include "util.h"

#define WSCLIENT_MAX_MESSAGE (1u << 20) /* largest message we assemble */
#define WSHTTP_MAX_BODY (4u << 20)      /* largest HTTP response body */
#define WSCONN_DEFAULT_QUEUE 64
#define WSCLIENT_CLOSE_WAIT_SECS 5   /* a clean close that gets no WRITEABLE is killed */
#define WSLOOP_DEFAULT_CONNECTING 64 /* connection attempts and HTTP requests in flight */

static const char wsclient_proto_ws[] = "felt-ws-client";
static const char wsclient_proto_http[] = "felt-http-client";
static const char wsclient_proto_fd[] = "felt-fd";

/* 500 ms doubling to 10 s; the last entry repeats forever (conceal_count never runs out). */
static const uint32_t wsclient_backoff_ms[] = {500, 1000, 2000, 4000, 8000, 10000};

/* ---- objects ----------------------------------------------------------------------------- */

/* An outgoing message: LWS_PRE bytes of headroom, then the payload. */
struct wsmsg {
    size_t len;
    bool binary;
    unsigned char buf[]; /* LWS_PRE + len */
};

struct wsurl {
    char *buf;        /* lws_parse_uri works in place on this copy */
    const char *host; /* into buf */
    char *path;       /* "/..." (own allocation) */
    int port;
    bool tls;
};

/* A connection attempt or HTTP request waiting for, or holding, one of the loop's slots for
 * work in flight. Slots bound how many handshakes run at once: thousands of simultaneous
 * connects overflow the server's accept queue and, since lws 4.1 keeps its timers in one
 * sorted list, make every new timer a walk over thousands of others. */
struct wsslot {
    struct wsslot *next;         /* in the loop's wait queue */
    lws_sorted_usec_list_t *sul; /* started again through this timer ... */
    sul_cb_t start;              /* ... calling this, once a slot is free */
    bool queued, held;
};

struct wstimer {
    lws_sorted_usec_list_t sul; /* first: lws_container_of works either way */
    struct wsloop *loop;        /* NULL once the loop is gone */
    struct wstimer *prev, *next;
    void (*cb)(void *arg);
    void *arg;
};

struct wsfd {
    struct wsloop *loop;
    struct wsfd *prev, *next;
    int fd;          /* the caller's */
    struct lws *wsi; /* watches a dup of fd, which lws closes */
    void (*cb)(void *arg);
    void *arg;
};

struct wsconn {
    struct wsloop *loop;
    struct wsconn *prev, *next; /* the loop's live list, or its dead list once closed */
    struct wsconn_config cfg;   /* url and subprotocol point at our copies */
    char *url;
    char *subprotocol;
    struct wsurl u;
    struct lws *wsi; /* the current socket, NULL between attempts */
    enum wsconn_state state;
    lws_sorted_usec_list_t sul; /* the next connection attempt */
    struct wsslot slot;
    uint16_t retry_count;   /* lws's backoff counter; 0 after a successful open */
    int64_t retry_at_us;    /* lws_now_usecs() of the next attempt */
    bool in_connect;        /* inside lws_client_connect_via_info */
    bool failed_in_connect; /* ... and the attempt already failed through a callback */
    bool established;       /* the current socket completed the handshake */
    bool compressed;        /* ... with permessage-deflate */
    bool dropping;          /* wsconn_drop killed the current socket */
    bool closing;           /* wsconn_close was called: silent from now on */
    int close_code;
    char close_reason[124]; /* a close frame's reason is at most 123 bytes */
    int peer_code;          /* from the peer's close frame, 0 if none */
    char peer_reason[124];
    struct wsmsg **q; /* ring of queued messages */
    size_t qcap, qhead, qcount;
    char *rx; /* the message being assembled, NUL-terminated when delivered */
    size_t rx_len, rx_cap;
    bool rx_active, rx_binary;
    uint64_t wire_done; /* wire bytes of sockets already closed */
    uint64_t payload_in;
};

struct wshttp {
    struct wsloop *loop;
    struct wshttp *prev, *next;
    struct wsurl u;
    struct lws *wsi;
    lws_sorted_usec_list_t sul; /* starts the request from the loop */
    struct wsslot slot;
    bool post;
    unsigned char *body; /* LWS_PRE + body_len */
    size_t body_len;
    char *bearer;
    void (*cb)(void *arg, const struct wshttp_result *r);
    void *arg;
    bool in_connect, failed_in_connect;
    int status;
    char *resp;
    size_t resp_len, resp_cap;
};

struct wsloop {
    struct lws_context *ctx;
    struct lws_vhost *vhost;
    volatile sig_atomic_t stop;
    bool quiet;
    bool freeing;
    lws_retry_bo_t policy;          /* backoff and heartbeat of every WebSocket */
    int max_connecting, connecting; /* slots: see struct wsslot */
    struct wsslot *wait_head, *wait_tail;
    struct wsconn *conns, *dead;
    struct wshttp *https;
    struct wsfd *fds;
    struct wstimer *timers;
    lws_sorted_usec_list_t reap_sul;
};

/* Doubly linked list helpers on objects with prev/next members. */
#define WS_LINK(head, o)                                                                           \
    do {                                                                                           \
        (o)->prev = NULL;                                                                          \
        (o)->next = (head);                                                                        \
        if (head) (head)->prev = (o);                                                              \
        (head) = (o);                                                                              \
    } while (0)
#define WS_UNLINK(head, o)                                                                         \
    do {                                                                                           \
        if ((o)->prev)                                                                             \
            (o)->prev->next = (o)->next;                                                           \
        else                                                                                       \
            (head) = (o)->next;                                                                    \
        if ((o)->next) (o)->next->prev = (o)->prev;                                                \
        (o)->prev = (o)->next = NULL;                                                              \
    } while (0)

/* ---- URLs -------------------------------------------------------------------------------- */

static void wsurl_free(struct wsurl *u)
{
    free(u->buf);
    free(u->path);
    memset(u, 0, sizeof(*u));
}

/* Parses scheme://host[:port][/path] where scheme is plain or tls. Returns 0, or -1 with errbuf
 * filled. u is untouched on failure. */
static int wsurl_parse(struct wsurl *u, const char *url, const char *plain, const char *tls,
                       char *errbuf, size_t errlen)
{
    struct wsurl n = {0};
    const char *prot = NULL, *ads = NULL, *path = NULL;
    int port = 0, rc = -1;

    if (!url || !strstr(url, "://")) {
        snprintf(errbuf, errlen, "not a URL: '%s'", url ? url : "(null)");
        goto out;
    }
    n.buf = xstrdup(url);
    if (lws_parse_uri(n.buf, &prot, &ads, &port, &path) != 0 || !ads || !*ads) {
        snprintf(errbuf, errlen, "cannot parse URL '%s'", url);
        goto out;
    }
    if (strcmp(prot, plain) == 0) {
        n.tls = false;
    } else if (strcmp(prot, tls) == 0) {
        n.tls = true;
    } else {
        snprintf(errbuf, errlen, "URL '%s' is not %s:// or %s://", url, plain, tls);
        goto out;
    }
    if (port <= 0 || port > 65535) {
        snprintf(errbuf, errlen, "bad port in URL '%s'", url);
        goto out;
    }
    n.host = ads;
    n.port = port;
    n.path = xmalloc(strlen(path ? path : "") + 2);
    n.path[0] = '/';
    strcpy(n.path + 1, path ? path : "");
    *u = n;
    memset(&n, 0, sizeof(n));
    rc = 0;
out:
    wsurl_free(&n);
    return rc;
}

/* ---- wire byte counting ------------------------------------------------------------------ */

/* TCP payload bytes received so far on wsi's socket (0 if unknown). */
static uint64_t wsclient_tcp_bytes_in(struct lws *wsi)
{
    struct tcp_info ti;
    socklen_t sl = sizeof(ti);
    int fd = wsi ? (int)lws_get_socket_fd(wsi) : -1;
    memset(&ti, 0, sizeof(ti));
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &sl) != 0) return 0;
    return ti.tcpi_bytes_received;
}

/* Copies lws's error text (in, len; len may be 0 for a NUL-terminated string) into out. */
static void wsclient_in_text(char *out, size_t outsz, const void *in, size_t len)
{
    size_t n = in ? strnlen(in, len ? len : outsz - 1) : 0;
    if (n >= outsz) n = outsz - 1;
    if (n) memcpy(out, in, n);
    out[n] = '\0';
}

/* ---- slots for work in flight ----------------------------------------------------------- */

/* True if s holds a slot (taking a free one); otherwise s waits in the queue and its start
 * callback runs again when a slot frees up. */
static bool wsslot_acquire(struct wsloop *loop, struct wsslot *s)
{
    if (s->held) return true;
    if (loop->connecting >= loop->max_connecting) {
        if (!s->queued) {
            s->queued = true;
            s->next = NULL;
            if (loop->wait_tail)
                loop->wait_tail->next = s;
            else
                loop->wait_head = s;
            loop->wait_tail = s;
        }
        return false;
    }
    loop->connecting++;
    s->held = true;
    return true;
}

/* Leaves the queue and gives back the slot, if held, starting the next waiter. */
static void wsslot_release(struct wsloop *loop, struct wsslot *s)
{
    if (s->queued) {
        struct wsslot *prev = NULL;
        for (struct wsslot *w = loop->wait_head; w; prev = w, w = w->next) {
            if (w != s) continue;
            if (prev)
                prev->next = s->next;
            else
                loop->wait_head = s->next;
            if (loop->wait_tail == s) loop->wait_tail = prev;
            break;
        }
        s->queued = false;
    }
    if (!s->held) return;
    s->held = false;
    loop->connecting--;
    struct wsslot *n = loop->wait_head;
    if (!n || loop->freeing) return;
    loop->wait_head = n->next;
    if (!loop->wait_head) loop->wait_tail = NULL;
    n->queued = false;
    lws_sul_schedule(loop->ctx, 0, n->sul, n->start, 1);
}

/* ---- the reaper: frees closed connections from a timer ----------------------------------- */

static void wsconn_destroy(struct wsconn *c)
{
    while (c->qcount > 0) {
        free(c->q[c->qhead]);
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qcount--;
    }
    wsslot_release(c->loop, &c->slot);
    free(c->q);
    free(c->rx);
    free(c->url);
    free(c->subprotocol);
    wsurl_free(&c->u);
    free(c);
}

static void wsloop_reap_cb(lws_sorted_usec_list_t *sul)
{
    struct wsloop *loop = lws_container_of(sul, struct wsloop, reap_sul);
    while (loop->dead) {
        struct wsconn *c = loop->dead;
        WS_UNLINK(loop->dead, c);
        wsconn_destroy(c);
    }
}

/* Moves a closed connection without a socket to the dead list; freed on the next loop turn. */
static void wsconn_reap(struct wsconn *c)
{
    struct wsloop *loop = c->loop;
    FELT_ASSERT(c->wsi == NULL && c->closing);
    lws_sul_cancel(&c->sul);
    wsslot_release(loop, &c->slot);
    WS_UNLINK(loop->conns, c);
    WS_LINK(loop->dead, c);
    if (!loop->freeing) lws_sul_schedule(loop->ctx, 0, &loop->reap_sul, wsloop_reap_cb, 1);
}

/* ---- WebSocket connections --------------------------------------------------------------- */

static void wsconn_set_state(struct wsconn *c, enum wsconn_state st)
{
    c->state = st;
    if (!c->closing && c->cfg.on_state) c->cfg.on_state(c, c->cfg.user, st);
}

static void wsconn_connect_cb(lws_sorted_usec_list_t *sul);

/* Waits as the backoff table says, then tries again. */
static void wsconn_schedule_retry(struct wsconn *c)
{
    char conceal;
    unsigned int ms =
        lws_retry_get_delay_ms(c->loop->ctx, &c->loop->policy, &c->retry_count, &conceal);
    c->retry_at_us = lws_now_usecs() + (lws_usec_t)ms * LWS_US_PER_MS;
    lws_sul_schedule(c->loop->ctx, 0, &c->sul, wsconn_connect_cb, (lws_usec_t)ms * LWS_US_PER_MS);
    wsconn_set_state(c, WSCONN_RECONNECTING);
}

/* The current socket (or attempt) is gone: tell the user, then retry or stay closed. */
static void wsconn_gone(struct wsconn *c, struct lws *wsi, int code, const char *reason)
{
    if (wsi && c->wsi != wsi) return; /* a stale socket: already handled */
    if (c->wsi) {
        c->wire_done += wsclient_tcp_bytes_in(c->wsi);
        lws_set_opaque_user_data(c->wsi, NULL);
    }
    c->wsi = NULL;
    if (c->in_connect) c->failed_in_connect = true;
    wsslot_release(c->loop, &c->slot);
    c->established = false;
    c->compressed = false;
    c->dropping = false;
    c->rx_active = false;
    c->rx_len = 0;
    c->peer_code = 0;
    c->peer_reason[0] = '\0';
    if (c->closing) {
        wsconn_reap(c);
        return;
    }
    if (c->cfg.on_close) c->cfg.on_close(c, c->cfg.user, code, reason ? reason : "");
    if (c->closing) { /* closed from on_close */
        wsconn_reap(c);
        return;
    }
    if (c->cfg.reconnect)
        wsconn_schedule_retry(c);
    else
        wsconn_set_state(c, WSCONN_CLOSED);
}

static void wsconn_connect_cb(lws_sorted_usec_list_t *sul)
{
    struct wsconn *c = lws_container_of(sul, struct wsconn, sul);
    struct lws_client_connect_info i;
    struct lws *wsi;

    if (c->closing || c->wsi || !wsslot_acquire(c->loop, &c->slot)) return;
    memset(&i, 0, sizeof(i));
    i.context = c->loop->ctx;
    i.vhost = c->loop->vhost;
    i.address = c->u.host;
    i.port = c->u.port;
    i.host = c->u.host;
    i.path = c->u.path;
    i.ssl_connection = c->u.tls ? LCCSCF_USE_SSL : 0;
    i.protocol = c->subprotocol;
    i.local_protocol_name = wsclient_proto_ws;
    i.retry_and_idle_policy = &c->loop->policy;
    i.opaque_user_data = c;
    i.pwsi = &c->wsi;
    c->in_connect = true;
    c->failed_in_connect = false;
    wsi = lws_client_connect_via_info(&i);
    c->in_connect = false;
    if (!wsi) {
        c->wsi = NULL;
        if (!c->failed_in_connect) wsconn_gone(c, NULL, 0, "cannot start a connection");
    }
}

static struct wsmsg *wsmsg_new(const void *buf, size_t len, bool binary)
{
    struct wsmsg *m = xmalloc(sizeof(*m) + LWS_PRE + len + 1);
    m->len = len;
    m->binary = binary;
    memcpy(m->buf + LWS_PRE, buf, len);
    m->buf[LWS_PRE + len] = '\0';
    return m;
}

static int wsconn_enqueue(struct wsconn *c, const void *buf, size_t len, bool binary, bool first)
{
    if (c->closing || c->state == WSCONN_CLOSED || c->qcount == c->qcap) return -1;
    struct wsmsg *m = wsmsg_new(buf, len, binary);
    if (first) {
        c->qhead = (c->qhead + c->qcap - 1) % c->qcap;
        c->q[c->qhead] = m;
    } else {
        c->q[(c->qhead + c->qcount) % c->qcap] = m;
    }
    c->qcount++;
    if (c->wsi && c->established) lws_callback_on_writable(c->wsi);
    return 0;
}

/* One lws_write per WRITEABLE: a clean close if asked, else the oldest queued message. */
static int wsconn_writeable(struct lws *wsi, struct wsconn *c)
{
    if (c->closing) {
        lws_close_reason(wsi, (enum lws_close_status)c->close_code,
                         (unsigned char *)c->close_reason, strlen(c->close_reason));
        return -1;
    }
    if (c->qcount == 0) return 0;
    struct wsmsg *m = c->q[c->qhead];
    c->q[c->qhead] = NULL;
    c->qhead = (c->qhead + 1) % c->qcap;
    c->qcount--;
    /* The message leaves the queue either way: lws masks the buffer in place while writing. */
    int n = lws_write(wsi, m->buf + LWS_PRE, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    bool ok = n >= 0 && (size_t)n >= m->len;
    free(m);
    if (!ok) return -1;
    if (c->qcount > 0) lws_callback_on_writable(wsi);
    return 0;
}

/* Assembles fragments (and inflated pieces) into one message of at most WSCLIENT_MAX_MESSAGE
 * bytes. Binary messages are read and dropped. Returns -1 to close. */
static int wsconn_receive(struct lws *wsi, struct wsconn *c, const char *in, size_t len)
{
    c->payload_in += len;
    if (!c->rx_active) {
        c->rx_active = true;
        c->rx_binary = lws_frame_is_binary(wsi);
        c->rx_len = 0;
    }
    if (!c->rx_binary) {
        if (c->rx_len + len > WSCLIENT_MAX_MESSAGE) {
            static const char why[] = "message over 1 MiB";
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)why,
                             sizeof(why) - 1);
            return -1;
        }
        if (c->rx_len + len + 1 > c->rx_cap) {
            c->rx_cap = (c->rx_len + len + 1) * 2;
            if (c->rx_cap > WSCLIENT_MAX_MESSAGE + 1) c->rx_cap = WSCLIENT_MAX_MESSAGE + 1;
            c->rx = xrealloc(c->rx, c->rx_cap);
        }
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0) return 0;
    c->rx_active = false;
    if (c->rx_binary || !c->rx) return 0;
    c->rx[c->rx_len] = '\0';
    if (c->cfg.on_message && !c->closing) c->cfg.on_message(c, c->cfg.user, c->rx, c->rx_len);
    c->rx_len = 0;
    return 0;
}

static void wsconn_established(struct lws *wsi, struct wsconn *c)
{
    (void)wsi;
    wsslot_release(c->loop, &c->slot); /* the handshake is over */
    c->established = true;
    c->retry_count = 0;
    c->retry_at_us = 0;
    wsconn_set_state(c, WSCONN_OPEN);
    if (!c->closing && c->cfg.on_open) c->cfg.on_open(c, c->cfg.user);
    if (c->wsi && (c->qcount > 0 || c->closing)) lws_callback_on_writable(c->wsi);
}

static void wsconn_peer_close(struct wsconn *c, const unsigned char *in, size_t len)
{
    c->peer_code = len >= 2 ? (in[0] << 8) | in[1] : 0;
    size_t n = len > 2 ? len - 2 : 0;
    if (n >= sizeof(c->peer_reason)) n = sizeof(c->peer_reason) - 1;
    if (n) memcpy(c->peer_reason, in + 2, n);
    c->peer_reason[n] = '\0';
}

static int wsclient_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                                void *in, size_t len)
{
    struct wsconn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    char why[128];

    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONFIRM_EXTENSION_SUPPORTED:
        /* Asked of protocols[0] for every client socket; nonzero refuses the extension. */
        return c && c->cfg.deflate && in && strcmp(in, "permessage-deflate") == 0 ? 0 : 1;
    case LWS_CALLBACK_WS_EXT_DEFAULTS:
        /* An extension was negotiated; its name comes in `user` here, not `in`. */
        if (c && user && strcmp(user, "permessage-deflate") == 0) c->compressed = true;
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!c || c->wsi != wsi) return -1;
        wsconn_established(wsi, c);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return c ? wsconn_receive(wsi, c, in, len) : -1;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return c ? wsconn_writeable(wsi, c) : -1;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (c) wsconn_peer_close(c, in, len);
        return 0; /* lws echoes the close */
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c) {
            wsclient_in_text(why, sizeof(why), in, len);
            wsconn_gone(c, wsi, 0, why[0] ? why : "connection failed");
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c) {
            int code = c->dropping ? 0 : c->peer_code;
            snprintf(why, sizeof(why), "%s",
                     c->dropping ? "dropped"
                     : code      ? c->peer_reason
                                 : "connection lost");
            wsconn_gone(c, wsi, code, why);
        }
        return 0;
    default:
        break;
    }
    return 0;
}

struct wsconn *wsconn_new(struct wsloop *loop, const struct wsconn_config *cfg, char *errbuf,
                          size_t errlen)
{
    struct wsurl u;
    char dummy[8];
    if (!errbuf) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    if (wsurl_parse(&u, cfg->url, "ws", "wss", errbuf, errlen) != 0) return NULL;
    struct wsconn *c = xcalloc(1, sizeof(*c));
    c->loop = loop;
    c->cfg = *cfg;
    c->url = xstrdup(cfg->url);
    c->subprotocol = cfg->subprotocol ? xstrdup(cfg->subprotocol) : NULL;
    c->cfg.url = c->url;
    c->cfg.subprotocol = c->subprotocol;
    c->u = u;
    c->qcap = cfg->max_queue ? cfg->max_queue : WSCONN_DEFAULT_QUEUE;
    c->q = xcalloc(c->qcap, sizeof(*c->q));
    c->slot.sul = &c->sul;
    c->slot.start = wsconn_connect_cb;
    c->state = WSCONN_CONNECTING;
    WS_LINK(loop->conns, c);
    lws_sul_schedule(loop->ctx, 0, &c->sul, wsconn_connect_cb, 1);
    return c;
}

int wsconn_send(struct wsconn *c, const char *buf, size_t len)
{
    return wsconn_enqueue(c, buf, len, false, false);
}

int wsconn_send_first(struct wsconn *c, const char *buf, size_t len)
{
    return wsconn_enqueue(c, buf, len, false, true);
}

int wsconn_send_binary(struct wsconn *c, const void *buf, size_t len)
{
    return wsconn_enqueue(c, buf, len, true, false);
}

size_t wsconn_queued(const struct wsconn *c)
{
    return c->qcount;
}

void wsconn_clear_queue(struct wsconn *c)
{
    while (c->qcount > 0) {
        free(c->q[c->qhead]);
        c->q[c->qhead] = NULL;
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qcount--;
    }
}

enum wsconn_state wsconn_state(const struct wsconn *c)
{
    return c->state;
}

void wsconn_retry_info(const struct wsconn *c, int *attempt, int64_t *next_in_ms)
{
    int64_t left = 0;
    if (c->state == WSCONN_RECONNECTING && c->retry_at_us) {
        left = (c->retry_at_us - lws_now_usecs()) / LWS_US_PER_MS;
        if (left < 0) left = 0;
    }
    if (attempt) *attempt = c->state == WSCONN_RECONNECTING ? c->retry_count : 0;
    if (next_in_ms) *next_in_ms = left;
}

void wsconn_drop(struct wsconn *c)
{
    if (c->closing || c->dropping) return;
    if (!c->wsi) {
        /* Waiting out the backoff: "reconnect now" means the next attempt starts at once. */
        if (c->state == WSCONN_RECONNECTING)
            lws_sul_schedule(c->loop->ctx, 0, &c->sul, wsconn_connect_cb, 1);
        return;
    }
    c->dropping = true;
    /* Killed at lws's next timeout check, without a close frame, as a dead network would. */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

void wsconn_close(struct wsconn *c, int code, const char *reason)
{
    if (c->closing) return;
    c->closing = true;
    c->close_code = code ? code : LWS_CLOSE_STATUS_NORMAL;
    snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason ? reason : "");
    lws_sul_cancel(&c->sul);
    wsconn_clear_queue(c);
    c->state = WSCONN_CLOSED;
    if (!c->wsi) {
        wsconn_reap(c);
    } else if (c->established && !c->dropping) {
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, WSCLIENT_CLOSE_WAIT_SECS);
        lws_callback_on_writable(c->wsi);
    } else {
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
}

void wsconn_bytes(const struct wsconn *c, uint64_t *wire_in, uint64_t *payload_in)
{
    if (wire_in) *wire_in = c->wire_done + wsclient_tcp_bytes_in(c->wsi);
    if (payload_in) *payload_in = c->payload_in;
}

bool wsconn_compressed(const struct wsconn *c)
{
    return c->established && c->compressed;
}

/* ---- one-shot HTTP ----------------------------------------------------------------------- */

static void wshttp_free(struct wshttp *h)
{
    lws_sul_cancel(&h->sul);
    wsslot_release(h->loop, &h->slot);
    WS_UNLINK(h->loop->https, h);
    wsurl_free(&h->u);
    free(h->body);
    free(h->bearer);
    free(h->resp);
    free(h);
}

/* Answers the request once (error NULL: success) and frees it. */
static void wshttp_finish(struct wshttp *h, const char *error)
{
    struct wshttp_result r;
    if (h->wsi) {
        lws_set_opaque_user_data(h->wsi, NULL);
        h->wsi = NULL;
    }
    if (h->in_connect) h->failed_in_connect = true;
    wsslot_release(h->loop, &h->slot);
    memset(&r, 0, sizeof(r));
    if (!h->resp) h->resp = xcalloc(1, 1);
    r.status = error ? 0 : h->status;
    r.body = h->resp;
    r.body_len = h->resp_len;
    r.error = error;
    if (!error && h->status == 0) r.error = "no HTTP status";
    if (!h->loop->freeing) h->cb(h->arg, &r);
    if (!h->in_connect) wshttp_free(h);
}

static int wshttp_append(struct wshttp *h, const char *in, size_t len)
{
    if (h->resp_len + len > WSHTTP_MAX_BODY) return -1;
    if (h->resp_len + len + 1 > h->resp_cap) {
        h->resp_cap = (h->resp_len + len + 1) * 2;
        h->resp = xrealloc(h->resp, h->resp_cap);
    }
    memcpy(h->resp + h->resp_len, in, len);
    h->resp_len += len;
    h->resp[h->resp_len] = '\0';
    return 0;
}

static int wshttp_headers(struct lws *wsi, struct wshttp *h, unsigned char **p, size_t len)
{
    unsigned char *end = *p + len;
    char num[32];
    if (h->bearer) {
        size_t n = strlen(h->bearer) + 8;
        char *auth = xmalloc(n);
        snprintf(auth, n, "Bearer %s", h->bearer);
        int rc = lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                                              (unsigned char *)auth, (int)strlen(auth), p, end);
        free(auth);
        if (rc) return -1;
    }
    if (!h->post) return 0;
    snprintf(num, sizeof(num), "%zu", h->body_len);
    if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                     (unsigned char *)"application/json", 16, p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, (unsigned char *)num,
                                     (int)strlen(num), p, end))
        return -1;
    lws_client_http_body_pending(wsi, 1);
    lws_callback_on_writable(wsi);
    return 0;
}

static int wshttp_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                           size_t len)
{
    struct wshttp *h = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    (void)user;

    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        return h ? wshttp_headers(wsi, h, (unsigned char **)in, len) : 0;
    case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
        if (!h || !h->post) return 0;
        lws_client_http_body_pending(wsi, 0);
        if (lws_write(wsi, h->body + LWS_PRE, h->body_len, LWS_WRITE_HTTP_FINAL) < (int)h->body_len)
            return -1;
        return 0;
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        if (h) h->status = (int)lws_http_client_http_response(wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        char buf[LWS_PRE + 4096];
        char *p = buf + LWS_PRE;
        int n = (int)sizeof(buf) - LWS_PRE;
        return lws_http_client_read(wsi, &p, &n) < 0 ? -1 : 0;
    }
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        if (h && wshttp_append(h, in, len) != 0) {
            wshttp_finish(h, "response body over 4 MiB");
            return -1;
        }
        return 0;
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        if (h) wshttp_finish(h, NULL);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (h) {
            char why[128];
            wsclient_in_text(why, sizeof(why), in, len);
            wshttp_finish(h, why[0] ? why : "connection failed");
        }
        return 0;
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        if (h) wshttp_finish(h, "connection closed before the response was complete");
        return 0;
    default:
        break;
    }
    return 0;
}

static void wshttp_start_cb(lws_sorted_usec_list_t *sul)
{
    struct wshttp *h = lws_container_of(sul, struct wshttp, sul);
    struct lws_client_connect_info i;

    if (!wsslot_acquire(h->loop, &h->slot)) return;
    memset(&i, 0, sizeof(i));
    i.context = h->loop->ctx;
    i.vhost = h->loop->vhost;
    i.address = h->u.host;
    i.port = h->u.port;
    i.host = h->u.host;
    i.path = h->u.path;
    i.ssl_connection = h->u.tls ? LCCSCF_USE_SSL : 0;
    i.method = h->post ? "POST" : "GET";
    i.local_protocol_name = wsclient_proto_http;
    i.protocol = wsclient_proto_http;
    i.opaque_user_data = h;
    i.pwsi = &h->wsi;
    h->in_connect = true;
    h->failed_in_connect = false;
    struct lws *wsi = lws_client_connect_via_info(&i);
    h->in_connect = false;
    if (h->failed_in_connect) {
        wshttp_free(h); /* answered from inside the connect call */
        return;
    }
    if (!wsi) {
        h->wsi = NULL;
        wshttp_finish(h, "cannot start a connection");
    }
}

int wshttp_request(struct wsloop *loop, const char *url, const char *body, const char *bearer,
                   void (*cb)(void *arg, const struct wshttp_result *r), void *arg)
{
    struct wsurl u;
    char err[128];
    if (wsurl_parse(&u, url, "http", "https", err, sizeof(err)) != 0) return -1;
    struct wshttp *h = xcalloc(1, sizeof(*h));
    h->loop = loop;
    h->u = u;
    h->cb = cb;
    h->arg = arg;
    h->post = body != NULL;
    if (body) {
        h->body_len = strlen(body);
        h->body = xmalloc(LWS_PRE + h->body_len + 1);
        memcpy(h->body + LWS_PRE, body, h->body_len + 1);
    }
    h->bearer = bearer ? xstrdup(bearer) : NULL;
    h->slot.sul = &h->sul;
    h->slot.start = wshttp_start_cb;
    WS_LINK(loop->https, h);
    lws_sul_schedule(loop->ctx, 0, &h->sul, wshttp_start_cb, 1);
    return 0;
}

/* ---- adopted file descriptors ------------------------------------------------------------ */

static int wsfd_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    struct wsfd *f = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    (void)user;
    (void)in;
    (void)len;

    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        if (f) f->cb(f->arg); /* may forget f: nothing touches it afterwards */
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (f) {
            /* Hangup: detach, then let the reader see the EOF once. */
            lws_set_opaque_user_data(wsi, NULL);
            f->wsi = NULL;
            if (!f->loop->freeing) f->cb(f->arg);
        }
        return 0;
    default:
        break;
    }
    return 0;
}

int wsloop_adopt_fd(struct wsloop *loop, int fd, void (*on_readable)(void *arg), void *arg)
{
    lws_adopt_desc_t ad;
    int dupfd = dup(fd);
    if (dupfd < 0) return -1;
    struct wsfd *f = xcalloc(1, sizeof(*f));
    f->loop = loop;
    f->fd = fd;
    f->cb = on_readable;
    f->arg = arg;
    memset(&ad, 0, sizeof(ad));
    ad.vh = loop->vhost;
    ad.type = LWS_ADOPT_RAW_FILE_DESC;
    ad.fd.filefd = dupfd;
    ad.vh_prot_name = wsclient_proto_fd;
    ad.opaque = f;
    f->wsi = lws_adopt_descriptor_vhost_via_info(&ad); /* closes dupfd on failure */
    if (!f->wsi) {
        free(f);
        return -1;
    }
    WS_LINK(loop->fds, f);
    return 0;
}

static void wsfd_free(struct wsfd *f)
{
    if (f->wsi) {
        lws_set_opaque_user_data(f->wsi, NULL);
        lws_set_timeout(f->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        f->wsi = NULL;
    }
    WS_UNLINK(f->loop->fds, f);
    free(f);
}

void wsloop_forget_fd(struct wsloop *loop, int fd)
{
    for (struct wsfd *f = loop->fds; f; f = f->next) {
        if (f->fd == fd) {
            wsfd_free(f);
            return;
        }
    }
}

/* ---- timers ------------------------------------------------------------------------------ */

static void wstimer_cb(lws_sorted_usec_list_t *sul)
{
    struct wstimer *t = lws_container_of(sul, struct wstimer, sul);
    t->cb(t->arg);
}

struct wstimer *wstimer_new(struct wsloop *loop, void (*cb)(void *arg), void *arg)
{
    struct wstimer *t = xcalloc(1, sizeof(*t));
    t->loop = loop;
    t->cb = cb;
    t->arg = arg;
    WS_LINK(loop->timers, t);
    return t;
}

void wstimer_arm(struct wstimer *t, int64_t delay_ms)
{
    if (!t->loop) return;
    lws_sul_schedule(t->loop->ctx, 0, &t->sul, wstimer_cb,
                     (lws_usec_t)(delay_ms > 0 ? delay_ms : 0) * LWS_US_PER_MS);
}

void wstimer_cancel(struct wstimer *t)
{
    if (t->loop) lws_sul_cancel(&t->sul);
}

void wstimer_free(struct wstimer *t)
{
    if (!t) return;
    if (t->loop) {
        lws_sul_cancel(&t->sul);
        WS_UNLINK(t->loop->timers, t);
    }
    free(t);
}

/* ---- the loop ---------------------------------------------------------------------------- */

static const struct lws_protocols wsclient_protocols[] = {
    /* First: lws asks protocols[0] which extensions each client socket may offer. */
    {wsclient_proto_ws, wsclient_ws_callback, 0, 0, 0, NULL, 0},
    {wsclient_proto_http, wshttp_callback, 0, 0, 0, NULL, 0},
    {wsclient_proto_fd, wsfd_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* client_no_context_takeover: each message we send is compressed on its own. Ours are short,
 * so little is lost, and it lets feltd inflate them with a small window (server/net.c bounds
 * its deflate memory per socket that way). */
static const struct lws_extension wsclient_extensions[] = {
    {"permessage-deflate", lws_extension_callback_pm_deflate,
     "permessage-deflate; client_no_context_takeover; client_max_window_bits"},
    {NULL, NULL, NULL},
};

static void wsclient_log(int level, const char *line)
{
    (void)level;
    fprintf(stderr, "wsclient: lws: %s", line);
}

/* Makes room for max_conns sockets (plus slack for HTTP requests and lws's own fds). */
static void wsloop_raise_fd_limit(int max_conns)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)max_conns + 128;
    if (max_conns <= 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want) return;
    rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl); /* best effort: lws sizes its tables from the result */
}

struct wsloop *wsloop_new(const struct wsloop_config *cfg)
{
    struct lws_context_creation_info info;
    struct wsloop *loop = xcalloc(1, sizeof(*loop));

    loop->quiet = cfg && cfg->quiet;
    if (loop->quiet)
        lws_set_log_level(0, NULL);
    else
        lws_set_log_level(LLL_ERR | LLL_WARN, wsclient_log);
    wsloop_raise_fd_limit(cfg ? cfg->max_conns : 0);

    loop->policy.retry_ms_table = wsclient_backoff_ms;
    loop->policy.retry_ms_table_count = FELT_ARRAY_LEN(wsclient_backoff_ms);
    loop->policy.conceal_count = LWS_RETRY_CONCEAL_ALWAYS;
    if (!cfg || cfg->ping_secs >= 0) {
        loop->policy.secs_since_valid_ping =
            (uint16_t)(cfg && cfg->ping_secs ? cfg->ping_secs : 20);
        loop->policy.secs_since_valid_hangup =
            (uint16_t)(cfg && cfg->hangup_secs > 0 ? cfg->hangup_secs : 60);
    }
    loop->policy.jitter_percent = 20;
    loop->max_connecting =
        cfg && cfg->max_connecting > 0 ? cfg->max_connecting : WSLOOP_DEFAULT_CONNECTING;

    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = wsclient_protocols;
    info.extensions = wsclient_extensions;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.user = loop;
    loop->ctx = lws_create_context(&info);
    if (!loop->ctx) {
        free(loop);
        return NULL;
    }
    loop->vhost = lws_get_vhost_by_name(loop->ctx, "default");
    return loop;
}

int wsloop_run(struct wsloop *loop)
{
    int rc = 0;
    while (!loop->stop) {
        if (lws_service(loop->ctx, 0) < 0) {
            rc = -1;
            break;
        }
    }
    loop->stop = 0;
    return rc;
}

void wsloop_stop(struct wsloop *loop)
{
    loop->stop = 1;
    lws_cancel_service(loop->ctx);
}

void wsloop_free(struct wsloop *loop)
{
    if (!loop) return;
    loop->freeing = true;
    for (struct wsconn *c = loop->conns; c; c = c->next) {
        c->closing = true; /* silent from now on */
        lws_sul_cancel(&c->sul);
    }
    for (struct wshttp *h = loop->https; h; h = h->next)
        lws_sul_cancel(&h->sul);
    for (struct wstimer *t = loop->timers; t; t = t->next)
        lws_sul_cancel(&t->sul);
    lws_sul_cancel(&loop->reap_sul);
    /* Closes every wsi; our callbacks detach the objects (closing ones land on the dead list). */
    lws_context_destroy(loop->ctx);
    while (loop->conns) {
        struct wsconn *c = loop->conns;
        WS_UNLINK(loop->conns, c);
        wsconn_destroy(c);
    }
    wsloop_reap_cb(&loop->reap_sul);
    while (loop->https) {
        loop->https->wsi = NULL;
        wshttp_free(loop->https);
    }
    while (loop->fds) {
        loop->fds->wsi = NULL;
        wsfd_free(loop->fds);
    }
    while (loop->timers) {
        struct wstimer *t = loop->timers;
        WS_UNLINK(loop->timers, t);
        t->loop = NULL;
    }
    free(loop);
}
