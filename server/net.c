/*
 * net.c: feltd's libwebsockets layer, and the only server file that includes libwebsockets.h.
 *
 * One vhost serves HTTP and WebSocket on one port from one event loop. One protocol callback
 * handles both; its per-session data is a single pointer to our own struct conn, so everything
 * but the framing lives in conn.c, http.c and table.c.
 *
 * Rules kept here: we write only from WRITEABLE callbacks, exactly one lws_write per callback,
 * from messages that already carry LWS_PRE headroom (struct msg), and ask for another callback
 * when more is pending. Heartbeats are lws's idle policy (ping after 20 s of silence, hang up
 * after 60 s without a valid pong). permessage-deflate is offered. Timers are lws_sul.
 *
 * Known cost (docs/performance.md): that policy keeps one timer per connection in lws's sorted
 * timer list, whose insertion is O(connections), so at 10,000 connections each ping and pong
 * costs about half a millisecond (10,000 idle sockets: 9.4 CPU s per 45 s). One sweeping timer
 * of our own cut that to 3.2 s but was reverted: lws 4.1 reports no empty pong to user code,
 * and an lws 4.1 client that answers a non-empty ping while sending its own corrupts its stream
 * under load (feltd closed ~1 % of felt-bench's sockets with 1007 "bad utf8").
 */
#include <signal.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

#include <libwebsockets.h>

#include "server.h"

_Static_assert(MSG_HEADROOM >= LWS_PRE, "message headroom must cover the WebSocket header");

static volatile sig_atomic_t net_signalled; /* SIGINT/SIGTERM seen */
static struct lws_context *net_signal_ctx;
static int net_stop;                         /* leave the service loop */

/* Per-session data: only a pointer to our own object. */
struct net_pss {
    struct conn *conn;
};

/* Our timers (tables' action clocks, hand delays, bots' turns) live in a min-heap of our own
 * behind one lws timer. lws 4.1 keeps its timers in one sorted list with O(length) insertion,
 * and that list also holds a validity (heartbeat) timer per WebSocket: arming each table's
 * action clock as its own lws timer walked all of them, on every action. At 10,000 connections
 * that walk was 40 % of feltd's CPU (felt-bench, 1,000 tables of 10: 835 actions/s at 1.19 CPU
 * s per 1,000; with this heap 2,457 actions/s at 0.40; docs/performance.md). Here
 * arming is O(log timers), and the lws timer is re-armed only when the earliest deadline moves
 * earlier, never further out than NET_HEAP_TICK_US, so that its own insertion stays near the
 * head of lws's list. */
#define NET_HEAP_TICK_US (1000 * LWS_US_PER_MS)

struct net_timer {
    struct server *srv;
    void (*cb)(void *arg);
    void *arg;
    lws_usec_t due;   /* while armed */
    int idx;          /* position in net_heap, -1 when not armed */
};

static struct net_timer **net_heap;
static int net_heap_n, net_heap_cap;
static lws_sorted_usec_list_t net_heap_sul;
static lws_usec_t net_heap_armed; /* when net_heap_sul fires; 0: not armed */
static struct server *net_heap_srv;

static void net_heap_set(int i, struct net_timer *t)
{
    net_heap[i] = t;
    t->idx = i;
}

static void net_heap_up(int i)
{
    struct net_timer *t = net_heap[i];
    while (i > 0 && net_heap[(i - 1) / 2]->due > t->due) {
        net_heap_set(i, net_heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    net_heap_set(i, t);
}

static void net_heap_down(int i)
{
    struct net_timer *t = net_heap[i];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= net_heap_n)
            break;
        if (c + 1 < net_heap_n && net_heap[c + 1]->due < net_heap[c]->due)
            c++;
        if (net_heap[c]->due >= t->due)
            break;
        net_heap_set(i, net_heap[c]);
        i = c;
    }
    net_heap_set(i, t);
}

static void net_heap_remove(struct net_timer *t)
{
    int i = t->idx;
    if (i < 0)
        return;
    t->idx = -1;
    struct net_timer *last = net_heap[--net_heap_n];
    if (last == t)
        return;
    net_heap_set(i, last);
    net_heap_down(i);
    net_heap_up(last->idx);
}

static void net_heap_fire(lws_sorted_usec_list_t *sul);

/* Makes the lws timer fire by the earliest deadline (or within a tick). */
static void net_heap_schedule(void)
{
    if (!net_heap_srv || !net_heap_srv->ctx || net_heap_n == 0)
        return;
    lws_usec_t now = lws_now_usecs(), due = net_heap[0]->due;
    if (due > now + NET_HEAP_TICK_US)
        due = now + NET_HEAP_TICK_US;
    if (net_heap_armed && net_heap_armed <= due)
        return; /* it fires in time anyway, and looks again then */
    net_heap_armed = due;
    lws_sul_schedule(net_heap_srv->ctx, 0, &net_heap_sul, net_heap_fire,
                     due > now ? due - now : 1);
}

/* Runs every due timer; a callback may arm, cancel or free any timer, itself included. */
static void net_heap_fire(lws_sorted_usec_list_t *sul)
{
    (void)sul;
    net_heap_armed = 0;
    lws_usec_t now = lws_now_usecs();
    while (net_heap_n > 0 && net_heap[0]->due <= now) {
        struct net_timer *t = net_heap[0];
        net_heap_remove(t);
        t->cb(t->arg);
    }
    net_heap_schedule();
}

struct net_timer *net_timer_new(struct server *srv, void (*cb)(void *arg), void *arg)
{
    struct net_timer *t = xcalloc(1, sizeof(*t));
    t->srv = srv;
    t->cb = cb;
    t->arg = arg;
    t->idx = -1;
    net_heap_srv = srv;
    return t;
}

void net_timer_arm(struct net_timer *t, int64_t delay_ms)
{
    net_heap_remove(t);
    t->due = lws_now_usecs() + (lws_usec_t)(delay_ms > 0 ? delay_ms : 0) * LWS_US_PER_MS;
    if (net_heap_n == net_heap_cap) {
        net_heap_cap = net_heap_cap ? 2 * net_heap_cap : 64;
        net_heap = xrealloc(net_heap, sizeof(*net_heap) * (size_t)net_heap_cap);
    }
    net_heap_set(net_heap_n++, t);
    net_heap_up(t->idx);
    net_heap_schedule();
}

void net_timer_cancel(struct net_timer *t)
{
    net_heap_remove(t); /* an early lws wake-up finds nothing due and looks again */
}

void net_timer_free(struct net_timer *t)
{
    if (!t)
        return;
    net_heap_remove(t);
    free(t);
}

void net_wake(struct conn *c)
{
    if (c->wsi)
        lws_callback_on_writable(c->wsi);
}

void net_rx_pause(struct conn *c, bool pause)
{
    if (c->wsi)
        lws_rx_flow_control(c->wsi, pause ? 0 : 1);
}

/* ---- WebSocket paths ------------------------------------------------------------------- */

/* Splits /ws/game/{game}/{player} and /ws/spectate/{game}. Returns the role, or -1. */
static int net_route_ws(struct server *srv, const char *uri, struct table **t, struct player **p)
{
    const char *game, *slash;
    *t = NULL;
    *p = NULL;
    if (strncmp(uri, "/ws/spectate/", 13) == 0) {
        game = uri + 13;
        *t = lobby_find(srv, game, strlen(game));
        return *t ? CONN_SPECTATOR : -1;
    }
    if (strncmp(uri, "/ws/game/", 9) != 0)
        return -1;
    game = uri + 9;
    slash = strchr(game, '/');
    if (!slash)
        return -1;
    *t = lobby_find(srv, game, (size_t)(slash - game));
    if (!*t)
        return -1;
    *p = table_player_by_id(*t, slash + 1, strlen(slash + 1));
    return *p && !(*p)->bot ? CONN_PENDING : -1;
}

static int net_ws_established(struct lws *wsi, struct server *srv, struct net_pss *pss)
{
    char uri[256];
    struct table *t;
    struct player *p;
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0)
        return -1;
    int role = net_route_ws(srv, uri, &t, &p);
    if (role < 0)
        return -1;
    struct conn *c = conn_new(srv, wsi, (enum conn_role)role);
    c->table = t;
    if (p)
        snprintf(c->claim, sizeof(c->claim), "%s", p->id); /* hello proves it with the token */
    pss->conn = c;
    if (role == CONN_SPECTATOR)
        conn_start_stream(c, false, 0);
    return 0;
}

/* Assembles fragments into one message, bounded by PROTO_MAX_FRAME. Returns -1 to close. */
static int net_ws_receive(struct lws *wsi, struct conn *c, const char *in, size_t len)
{
    if (lws_frame_is_binary(wsi)) {
        if (lws_is_final_fragment(wsi))
            conn_reply_error(c, "binary_frame", "felt.v1 messages are JSON text frames");
        return 0;
    }
    if (c->close_code)
        return 0; /* closing: what still arrives is dropped unread */
    if (c->rx_dropped || c->rx_len + len + lws_remaining_packet_payload(wsi) > PROTO_MAX_FRAME) {
        /* Closed from the WRITEABLE callback like any close: lws 4.1 ignores -1 returned here
         * while it drains an inflated (permessage-deflate) message, which left the socket open
         * and silent when a compressed message inflated just past the limit. The rest of the
         * message is read and dropped first (up to 1 MiB): a socket closed with unread input
         * answers with a reset, which can destroy the close frame before the client reads it
         * (seen with a 1 KiB rx buffer). */
        free(c->rx);
        c->rx = NULL;
        c->rx_len = 0;
        c->rx_dropped += len;
        /* A message whose declared rest is beyond that allowance is closed at once: waiting for
         * bytes a hostile client never sends would leave the 1009 unsent. */
        if (lws_is_final_fragment(wsi) ||
            c->rx_dropped + lws_remaining_packet_payload(wsi) > (1u << 20))
            conn_close(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message over 16 KiB");
        return 0;
    }
    if (lws_is_first_fragment(wsi) && lws_is_final_fragment(wsi)) {
        conn_on_message(c, in, len);
        return 0;
    }
    c->rx = xrealloc(c->rx, c->rx_len + len + 1);
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (lws_is_final_fragment(wsi)) {
        conn_on_message(c, c->rx, c->rx_len);
        free(c->rx);
        c->rx = NULL;
        c->rx_len = 0;
    }
    return 0;
}

static int net_ws_writeable(struct lws *wsi, struct conn *c)
{
    const struct msg *m = conn_next(c);
    if (!m) {
        if (c->close_code) {
            lws_close_reason(wsi, (enum lws_close_status)c->close_code,
                             (unsigned char *)c->close_reason, strlen(c->close_reason));
            return -1;
        }
        return 0;
    }
    int n = lws_write(wsi, (unsigned char *)msg_payload(m), m->len, LWS_WRITE_TEXT);
    if (n < (int)m->len)
        return -1;
    c->srv->metrics.msgs_out++;
    c->srv->metrics.bytes_out += m->len;
    conn_sent(c);
    if (conn_pending(c) || c->close_code)
        lws_callback_on_writable(wsi);
    return 0;
}

/* ---- HTTP ------------------------------------------------------------------------------ */

static void net_http_respond(struct lws *wsi, struct conn *c)
{
    struct conn_http *h = c->http;
    struct http_request req = {
        .post = h->post,
        .path = h->path,
        .query = h->query,
        .bearer = h->has_bearer ? h->bearer : NULL,
        .body = h->body ? h->body : "",
        .body_len = h->body_len,
    };
    if (h->too_large) {
        char *s = proto_encode_error("too_large", "request body over 16 KiB", NULL);
        h->resp.status = 413;
        h->resp.content_type = "application/json";
        h->resp.body = msg_from_string(s, strlen(s));
    } else {
        http_handle(c->srv, &req, &h->resp);
    }
    h->phase = 1;
    lws_callback_on_writable(wsi);
}

static int net_http_start(struct lws *wsi, struct server *srv, struct net_pss *pss,
                          const char *path)
{
    char auth[PROTO_TOKEN_MAX + 16];
    struct conn *c = conn_new(srv, wsi, CONN_HTTP);
    struct conn_http *h = xcalloc(1, sizeof(*h));
    c->http = h;
    pss->conn = c;
    srv->metrics.http_requests++;
    snprintf(h->path, sizeof(h->path), "%s", path);
    if (lws_hdr_copy(wsi, h->query, sizeof(h->query), WSI_TOKEN_HTTP_URI_ARGS) < 0)
        h->query[0] = '\0';
    int n = lws_hdr_copy(wsi, auth, sizeof(auth), WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n > 7 && strncasecmp(auth, "Bearer ", 7) == 0) {
        /* An over-long token cannot be anyone's: keep it empty so it matches nobody. */
        size_t tlen = strlen(auth + 7);
        if (tlen < sizeof(h->bearer))
            memcpy(h->bearer, auth + 7, tlen + 1);
        h->has_bearer = true;
    }
    h->post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    if (!h->post)
        net_http_respond(wsi, c);
    return 0; /* a POST is answered once its body is complete */
}

static int net_http_body(struct conn *c, const char *in, size_t len)
{
    struct conn_http *h = c->http;
    if (h->too_large || h->body_len + len > HTTP_MAX_BODY) {
        h->too_large = true;
        return 0;
    }
    h->body = xrealloc(h->body, h->body_len + len + 1);
    memcpy(h->body + h->body_len, in, len);
    h->body_len += len;
    h->body[h->body_len] = '\0';
    return 0;
}

static int net_http_writeable(struct lws *wsi, struct conn *c)
{
    struct conn_http *h = c->http;
    if (h->phase == 1) {
        unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start,
                                         *end = hdr + sizeof(hdr) - 1;
        if (lws_add_http_common_headers(wsi, (unsigned)h->resp.status, h->resp.content_type,
                                        h->resp.body->len, &p, end))
            return -1;
        if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                         (unsigned char *)"no-store", 8, &p, end))
            return -1;
        if (lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        h->phase = 2;
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (h->phase == 2) {
        struct msg *m = h->resp.body;
        if (lws_write(wsi, (unsigned char *)msg_payload(m), m->len, LWS_WRITE_HTTP_FINAL) <
            (int)m->len)
            return -1;
        h->phase = 0;
        c->srv->metrics.bytes_out += m->len;
        if (lws_http_transaction_completed(wsi))
            return -1;
    }
    return 0;
}

/* ---- the callback ---------------------------------------------------------------------- */

static void net_shutdown_begin(struct server *srv);

static int net_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    struct net_pss *pss = user;
    struct lws_context *ctx = lws_get_context(wsi);
    struct server *srv = ctx ? lws_context_user(ctx) : NULL;
    struct conn *c = pss ? pss->conn : NULL;

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char uri[256];
        struct table *t;
        struct player *p;
        if (srv->shutting_down || lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
            net_route_ws(srv, uri, &t, &p) < 0) {
            /* An answer, as docs/protocol.md says, rather than a silently closed socket. */
            lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, NULL);
            return 1; /* refuse the upgrade: unknown path, table or player */
        }
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        return net_ws_established(wsi, srv, pss);
    case LWS_CALLBACK_RECEIVE:
        return c ? net_ws_receive(wsi, c, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c ? net_ws_writeable(wsi, c) : 0;
    case LWS_CALLBACK_CLOSED:
        if (c) {
            c->wsi = NULL;
            conn_free(c);
            pss->conn = NULL;
        }
        return 0;

    case LWS_CALLBACK_HTTP:
        return net_http_start(wsi, srv, pss, in ? (const char *)in : "/");
    case LWS_CALLBACK_HTTP_BODY:
        return c && c->http ? net_http_body(c, in, len) : -1;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (c && c->http)
            net_http_respond(wsi, c);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return c && c->http ? net_http_writeable(wsi, c) : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (c && c->role == CONN_HTTP) {
            c->wsi = NULL;
            conn_free(c);
            pss->conn = NULL;
        }
        return 0;

    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (srv && net_signalled && !srv->shutting_down)
            net_shutdown_begin(srv);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- start, run, stop ------------------------------------------------------------------ */

static const struct lws_protocols net_protocols[] = {
    /* First, so HTTP requests and WebSocket upgrades without a sub-protocol land here too.
     * rx buffer 1 KiB: lws allocates it for every WebSocket, and with 4 KiB it was two thirds
     * of an idle socket's memory (felt-bench, 10,000 idle sockets: 6.3 KB each, 3.3 KB with
     * 1 KiB). Longer messages (up to 16 KiB) arrive in pieces that net_ws_receive joins. */
    {PROTO_SUBPROTOCOL, net_callback, sizeof(struct net_pss), 1024, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static const struct lws_extension net_extensions[] = {
    {"permessage-deflate", lws_extension_callback_pm_deflate,
     "permessage-deflate; client_no_context_takeover; client_max_window_bits"},
    {NULL, NULL, NULL},
};

static void net_on_signal(int sig)
{
    (void)sig;
    net_signalled = 1;
    if (net_signal_ctx)
        lws_cancel_service(net_signal_ctx);
}

static struct net_timer *net_stop_timer;

static void net_stop_fire(void *arg)
{
    (void)arg;
    net_stop = 1;
    /* Timers run before lws polls: wake that poll, or the loop sleeps on until the next event
     * before it sees net_stop. */
    lws_cancel_service(net_signal_ctx);
}

/* Stop accepting, tell every client we are going away (1001), then leave the loop once the
 * close frames have had a moment to go out. */
static void net_shutdown_begin(struct server *srv)
{
    server_log(srv, LOG_NORMAL, "shutting down");
    srv->shutting_down = true;
    for (int i = 0; i < srv->ntables; i++)
        table_shutdown(srv->tables[i]);
    for (struct conn *c = srv->conns_head; c; c = c->all_next)
        conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "going away");
    net_timer_arm(net_stop_timer, srv->conns_head ? 300 : 0);
}

static void net_log_emit(int level, const char *line)
{
    (void)level;
    fprintf(stderr, "feltd: lws: %s", line);
}

int net_run(struct server *srv, const struct net_options *o)
{
    struct lws_context_creation_info info;
    static lws_retry_bo_t idle_policy;
    int rc = 0;

    lws_set_log_level(srv->log_level == LOG_VERBOSE ? LLL_ERR | LLL_WARN | LLL_NOTICE
                      : srv->log_level == LOG_QUIET ? LLL_ERR
                                                    : LLL_ERR | LLL_WARN,
                      net_log_emit);
    idle_policy.secs_since_valid_ping = (uint16_t)o->ping_secs;
    idle_policy.secs_since_valid_hangup = (uint16_t)o->hangup_secs;

    memset(&info, 0, sizeof(info));
    info.port = o->port;
    info.iface = o->host;
    info.protocols = net_protocols;
    info.extensions = net_extensions;
    info.retry_and_idle_policy = &idle_policy;
    info.user = srv;
    info.vhost_name = "feltd";
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
    if (o->tls_cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = o->tls_cert;
        info.ssl_private_key_filepath = o->tls_key;
    }
    /* Signals are ours: lws must not install handlers of its own. */
    signal(SIGPIPE, SIG_IGN);

    srv->ctx = lws_create_context(&info);
    if (!srv->ctx) {
        fprintf(stderr, "feltd: cannot listen on %s:%d (in use, or not an address of this "
                        "machine?)\n", o->host, o->port);
        return 1;
    }
    net_signal_ctx = srv->ctx;
    net_stop_timer = net_timer_new(srv, net_stop_fire, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = net_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int port = lws_get_vhost_listen_port(lws_get_vhost_by_name(srv->ctx, "feltd"));
    printf("feltd: listening on %s://%s:%d\n", o->tls_cert ? "https" : "http", o->host, port);
    fflush(stdout);
    if (o->on_ready)
        o->on_ready(srv);

    while (!net_stop) {
        if (lws_service(srv->ctx, 0) < 0) {
            rc = 1;
            break;
        }
        if (net_signalled && !srv->shutting_down)
            net_shutdown_begin(srv);
    }
    net_timer_free(net_stop_timer);
    net_stop_timer = NULL;
    lws_sul_cancel(&net_heap_sul);
    net_heap_armed = 0;
    lws_context_destroy(srv->ctx);
    srv->ctx = NULL;
    net_signal_ctx = NULL;
    return rc;
}
