/*
 * wsconn.c: WebSocket connections of felt_wsclient (contract in wsclient.h): one struct wsconn is
 * one WebSocket to one URL (or to one of a few, in turn) that, when asked, reconnects forever with
 * the loop's lws_retry_bo_t backoff (wsloop.c), through the loop's one connect helper
 * (wsloop_connect).
 *
 * Rules kept here: we write only from the WRITEABLE callback, one lws_write per callback, from
 * messages allocated with LWS_PRE bytes of headroom when queued; each connection's queue is a
 * bounded ring (a full queue refuses, the caller decides what to tell the user). Incoming
 * fragments are joined up to 1 MiB. Attempts start from an lws_sul timer, never inside the API
 * call; a connection closed by its user goes to the loop's dead list and is freed from a timer,
 * never under a callback that may still use it.
 *
 * Every attempt ends, one way or the other: each has its own deadline (WSCONN_ATTEMPT_MS, from
 * the connect to the end of the upgrade), after which the socket is let go and the attempt counts
 * as failed, whatever lws does or does not report. lws 4.1 reports an upgrade that got no answer
 * (a server that accepts the TCP connection and then says nothing: stopped, overloaded or behind
 * a black hole) as LWS_CALLBACK_CLOSED_CLIENT_HTTP, the plain HTTP client's close, and never as a
 * connection error; that callback is handled too. Before both, such an attempt kept its dead wsi
 * forever and no further attempt was ever made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_received */
#include <netinet/in.h>

#include "wsclient_internal.h"

#define WSCONN_MAX_MESSAGE (1u << 20) /* largest message we assemble */
#define WSCONN_DEFAULT_QUEUE 64
#define WSCONN_CLOSE_WAIT_SECS 5 /* a clean close that gets no WRITEABLE is killed */
/* An attempt (TCP connect, TLS, the upgrade) not open by then failed. lws's own timeouts
 * (5 s for the server's answer, 20 s for the connect) usually end it first. */
#define WSCONN_ATTEMPT_MS 10000

/* An outgoing message: LWS_PRE bytes of headroom, then the payload. */
struct wsmsg {
    size_t len;
    bool binary;
    unsigned char buf[]; /* LWS_PRE + len */
};

struct wsconn {
    struct wsloop *loop;
    struct wsconn *prev, *next; /* the loop's live list, or its dead list once closed */
    struct wsconn_config cfg;   /* url and subprotocol point at our copies; alt_urls unused */
    char *urls[WSCONN_URLS_MAX]; /* url, then the alternates */
    struct wsurl us[WSCONN_URLS_MAX]; /* each points into its URL */
    int nurls;
    int cur; /* the URL of the current (or next) attempt */
    char *subprotocol;
    struct lws *wsi; /* the current socket, NULL between attempts */
    enum wsconn_state state;
    lws_sorted_usec_list_t sul; /* the next connection attempt */
    lws_sorted_usec_list_t deadline_sul; /* the current attempt's WSCONN_ATTEMPT_MS */
    struct wsslot slot;
    uint16_t retry_count;   /* lws's backoff counter; 0 after a successful open */
    int64_t retry_at_us;    /* lws_now_usecs() of the next attempt */
    bool in_connect;        /* inside lws_client_connect_via_info */
    bool failed_in_connect; /* ... and the attempt already failed through a callback */
    bool established;       /* the current socket completed the handshake */
    bool compressed;        /* ... with permessage-deflate */
    bool dropping;          /* wsconn_drop killed the current socket */
    bool skip_url;          /* wsconn_skip_url: the next attempt goes to the next URL */
    bool cert_failed;       /* the current attempt's TLS certificate failed the check */
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
    uint64_t frames_in;     /* text messages received (wsconn_frames_in) */
};

/* ---- wire byte counting ------------------------------------------------------------------ */

/* TCP payload bytes received so far on wsi's socket (0 if unknown). */
static uint64_t wsconn_tcp_bytes_in(struct lws *wsi)
{
    struct tcp_info ti;
    socklen_t sl = sizeof(ti);
    int fd = wsi ? (int)lws_get_socket_fd(wsi) : -1;
    memset(&ti, 0, sizeof(ti));
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &sl) != 0) return 0;
    return ti.tcpi_bytes_received;
}

/* ---- the reaper: frees closed connections from a timer ----------------------------------- */

static void wsconn_destroy(struct wsconn *c)
{
    while (c->qcount > 0) {
        free(c->q[c->qhead]);
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qcount--;
    }
    wsloop_slot_release(c->loop, &c->slot);
    free(c->q);
    free(c->rx);
    for (int i = 0; i < c->nurls; i++)
        free(c->urls[i]);
    free(c->subprotocol);
    free(c);
}

static void wsconn_reap_cb(lws_sorted_usec_list_t *sul)
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
    lws_sul_cancel(&c->deadline_sul);
    wsloop_slot_release(loop, &c->slot);
    WS_UNLINK(loop->conns, c);
    WS_LINK(loop->dead, c);
    if (!loop->freeing) lws_sul_schedule(loop->ctx, 0, &loop->reap_sul, wsconn_reap_cb, 1);
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
    bool opened = c->established;
    /* However lws words it ("connect SSL err 1: ..."), an attempt whose certificate failed the
     * check ends with the one reason a caller can recognise. */
    if (c->cert_failed && !c->established) reason = WSCLIENT_CERT_UNVERIFIED;
    c->cert_failed = false;
    if (c->wsi) {
        c->wire_done += wsconn_tcp_bytes_in(c->wsi);
        lws_set_opaque_user_data(c->wsi, NULL);
    }
    c->wsi = NULL;
    lws_sul_cancel(&c->deadline_sul);
    if (c->in_connect) c->failed_in_connect = true;
    wsloop_slot_release(c->loop, &c->slot);
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
    if (!c->cfg.reconnect) {
        wsconn_set_state(c, WSCONN_CLOSED);
        return;
    }
    /* After on_close (which may ask about the URL that failed): an attempt that never opened
     * moves on to the next URL; a socket that was open is tried again where it was first (its
     * server restarting is the likelier story). */
    if (!opened || c->skip_url) c->cur = (c->cur + 1) % c->nurls;
    c->skip_url = false;
    wsconn_schedule_retry(c);
}

/* The attempt is not open after WSCONN_ATTEMPT_MS: let its socket go (its callbacks find no
 * connection from now on) and count the attempt as failed. */
static void wsconn_deadline_cb(lws_sorted_usec_list_t *sul)
{
    struct wsconn *c = lws_container_of(sul, struct wsconn, deadline_sul);
    struct lws *wsi = c->wsi;
    if (c->closing || !wsi || c->established) return;
    lws_set_opaque_user_data(wsi, NULL);
    c->wsi = NULL;
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    wsconn_gone(c, NULL, 0, "no answer to the connection attempt (timed out)");
}

static void wsconn_connect_cb(lws_sorted_usec_list_t *sul)
{
    struct wsconn *c = lws_container_of(sul, struct wsconn, sul);

    if (c->closing || c->wsi || !wsloop_slot_acquire(c->loop, &c->slot)) return;
    c->cert_failed = false;
    /* Armed first: callbacks from inside the connect call may already end the attempt. */
    lws_sul_schedule(c->loop->ctx, 0, &c->deadline_sul, wsconn_deadline_cb,
                     (lws_usec_t)WSCONN_ATTEMPT_MS * LWS_US_PER_MS);
    if (!wsloop_connect(c->loop, &c->us[c->cur], NULL, c->subprotocol, c, &c->wsi, &c->in_connect,
                        &c->failed_in_connect) &&
        !c->failed_in_connect)
        wsconn_gone(c, NULL, 0, "cannot start a connection");
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

/* felt.v2: the message in c->rx holds one or more, a line each; each is handed on alone, NUL
 * terminated in place. A callback that closes c stops the rest. */
static void wsconn_deliver_lines(struct wsconn *c)
{
    char *p = c->rx, *end = c->rx + c->rx_len;
    while (p < end && c->cfg.on_message && !c->closing) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        *stop = '\0';
        if (stop > p)
            c->cfg.on_message(c, c->cfg.user, p, (size_t)(stop - p));
        p = stop + 1;
    }
}

/* Assembles fragments (and inflated pieces) into one message of at most WSCONN_MAX_MESSAGE
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
        if (c->rx_len + len > WSCONN_MAX_MESSAGE) {
            static const char why[] = "message over 1 MiB";
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)why,
                             sizeof(why) - 1);
            return -1;
        }
        if (c->rx_len + len + 1 > c->rx_cap) {
            c->rx_cap = (c->rx_len + len + 1) * 2;
            if (c->rx_cap > WSCONN_MAX_MESSAGE + 1) c->rx_cap = WSCONN_MAX_MESSAGE + 1;
            c->rx = xrealloc(c->rx, c->rx_cap);
        }
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0) return 0;
    c->rx_active = false;
    if (c->rx_binary || !c->rx) return 0;
    c->rx[c->rx_len] = '\0';
    c->frames_in++;
    if (c->cfg.lines)
        wsconn_deliver_lines(c);
    else if (c->cfg.on_message && !c->closing)
        c->cfg.on_message(c, c->cfg.user, c->rx, c->rx_len);
    c->rx_len = 0;
    return 0;
}

static void wsconn_established(struct lws *wsi, struct wsconn *c)
{
    (void)wsi;
    lws_sul_cancel(&c->deadline_sul);
    wsloop_slot_release(c->loop, &c->slot); /* the handshake is over */
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

void wsconn_cert_failed(struct lws *wsi)
{
    struct wsconn *c = lws_get_opaque_user_data(wsi);
    if (c && c->wsi == wsi) c->cert_failed = true;
}

int wsconn_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    struct wsconn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    char why[128];

    switch (reason) {
    case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
        /* For every TLS socket of the context, HTTP ones included (wsi's opaque data may be a
         * struct wshttp: c is not used here). len is OpenSSL's preverify_ok; 0 keeps its
         * verdict. */
        wsloop_cert_verify(wsi, (int)len);
        return 0;
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
            wsloop_in_text(why, sizeof(why), in, len);
            wsconn_gone(c, wsi, 0, why[0] ? why : "connection failed");
        }
        return 0;
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        /* lws 4.1's report of an upgrade that timed out waiting for the server's answer (the
         * wsi still has the HTTP client's role then); after CLIENT_ESTABLISHED it never comes. */
        if (c && !c->established) wsconn_gone(c, wsi, 0, "no answer to the WebSocket upgrade");
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
    char dummy[8];
    if (!errbuf) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    if (cfg->nalt < 0 || cfg->nalt >= WSCONN_URLS_MAX || (cfg->nalt > 0 && !cfg->alt_urls)) {
        snprintf(errbuf, errlen, "at most %d URLs", WSCONN_URLS_MAX);
        return NULL;
    }
    for (int i = 0; i <= cfg->nalt; i++) {
        const char *url = i == 0 ? cfg->url : cfg->alt_urls[i - 1];
        struct wsurl u;
        if (!url || wsurl_parse(&u, url, errbuf, errlen) != 0) return NULL;
        if (u.http) {
            snprintf(errbuf, errlen, "URL '%.60s' is not ws:// or wss://", url);
            return NULL;
        }
        if (wsurl_usable(&u, url, errbuf, errlen) != 0) return NULL;
    }
    struct wsconn *c = xcalloc(1, sizeof(*c));
    c->loop = loop;
    c->cfg = *cfg;
    c->nurls = cfg->nalt + 1;
    for (int i = 0; i < c->nurls; i++) {
        c->urls[i] = xstrdup(i == 0 ? cfg->url : cfg->alt_urls[i - 1]);
        if (wsurl_parse(&c->us[i], c->urls[i], NULL, 0) != 0)
            felt_fatal("wsconn: URL changed under us");
    }
    c->subprotocol = cfg->subprotocol ? xstrdup(cfg->subprotocol) : NULL;
    c->cfg.url = c->urls[0];
    c->cfg.alt_urls = NULL;
    c->cfg.nalt = 0;
    c->cfg.subprotocol = c->subprotocol;
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

int wsconn_url_index(const struct wsconn *c)
{
    return c->cur;
}

void wsconn_skip_url(struct wsconn *c)
{
    c->skip_url = true;
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
    lws_sul_cancel(&c->deadline_sul);
    wsconn_clear_queue(c);
    c->state = WSCONN_CLOSED;
    if (!c->wsi) {
        wsconn_reap(c);
    } else if (c->established && !c->dropping) {
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, WSCONN_CLOSE_WAIT_SECS);
        lws_callback_on_writable(c->wsi);
    } else {
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
}

uint64_t wsconn_frames_in(const struct wsconn *c)
{
    return c->frames_in;
}

void wsconn_bytes(const struct wsconn *c, uint64_t *wire_in, uint64_t *payload_in)
{
    if (wire_in) *wire_in = c->wire_done + wsconn_tcp_bytes_in(c->wsi);
    if (payload_in) *payload_in = c->payload_in;
}

bool wsconn_compressed(const struct wsconn *c)
{
    return c->established && c->compressed;
}

/* ---- the loop is going away ---------------------------------------------------------------- */

void wsconn_loop_freeing(struct wsloop *loop)
{
    for (struct wsconn *c = loop->conns; c; c = c->next) {
        c->closing = true; /* silent from now on */
        lws_sul_cancel(&c->sul);
        lws_sul_cancel(&c->deadline_sul);
    }
    lws_sul_cancel(&loop->reap_sul);
}

void wsconn_loop_freed(struct wsloop *loop)
{
    while (loop->conns) {
        struct wsconn *c = loop->conns;
        WS_UNLINK(loop->conns, c);
        wsconn_destroy(c);
    }
    wsconn_reap_cb(&loop->reap_sul);
}
