/*
 * net.c: feltd's libwebsockets layer, and the only server file that includes libwebsockets.h.
 *
 * One vhost serves HTTP and WebSocket on one port from one event loop. One protocol callback
 * handles both; its per-session data is a single pointer to our own struct net_link, the
 * transport's state of one socket: its wsi, a fragmented message being joined, an HTTP request
 * being read and answered (struct net_http), and the struct conn it carries. net.c allocates and
 * frees both. Everything but the framing lives in conn.c and http.c and the layers below them:
 * conn.c reaches back here only through the struct conn_io given to it (net_conn_io), with the
 * link as an opaque handle; http.c sees a request only as the values http_handle() is given.
 *
 * The loop is libev's (epoll; lws runs on it through its evlib plugin, net_run lends it our
 * ev_loop), so a wake-up costs what is ready rather than a walk over every descriptor; lws's own
 * poll() loop stays behind --event-lib poll.
 *
 * Rules kept here: we write only from WRITEABLE callbacks, exactly one lws_write per callback,
 * from messages that already carry LWS_PRE headroom (struct msg) or, on felt.v2, from one
 * shared buffer with that headroom into which everything due to the connection is gathered (one
 * frame, a message a line), and ask for another callback when more is pending. A ping the
 * heartbeat asked for is such a write too. permessage-deflate is offered. One lws_sul runs
 * timer.c's heap of timers.
 *
 * Heartbeats are heartbeat.c's sweep, not lws's idle policy (switched off): net.c gives it the
 * kernel's time since the socket last received anything (TCP_INFO), sends its empty pings and
 * closes what it hangs up on. lws 4.1's policy kept a timer per connection in one sorted list
 * with O(connections) insertion, re-inserted on every ping and pong: at 10,000 connections the
 * pings of connections opened together stalled feltd for a second or more every 20 s.
 *
 * Listening (listen.c, net_accept): feltd binds and accepts itself and hands each socket to lws
 * (lws_adopt_descriptor_vhost), so that a host or port it cannot use is one clear error, and so
 * that it can stop accepting before it runs out of descriptors without lws's fd_limit_per_thread
 * (which makes lws look every event's wsi up by a linear search).
 *
 * Client addresses (limit.c): every accepted socket is attributed to its peer's address in
 * net_accept, where the per-address cap is applied before a byte is read; the attribution rides
 * on the wsi's opaque user data until LWS_CALLBACK_WSI_DESTROY, the one callback every wsi gets
 * at the end. Behind --trust-proxy the socket is moved to the address in X-Forwarded-For once the
 * request headers are in.
 *
 * HTTP: a request is answered exactly once, and it is the last request of its connection: every
 * answer says Connection: close and the connection is closed once it is written, so bytes after a
 * request (pipelined requests, bytes past a body) are never taken for a request. Keep-alive is
 * given up on purpose: lws 4.1.6 spins at full CPU, never delivering the body, on a POST
 * pipelined behind another request on a kept-alive connection. Transfer-Encoding is refused
 * (400 with Content-Length, 411 without): bodies are small JSON objects with a length.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>

#include "listen.h"
#include "proxy.h"
#include "server.h"

_Static_assert(MSG_HEADROOM >= LWS_PRE, "message headroom must cover the WebSocket header");

static volatile sig_atomic_t net_signalled; /* SIGINT/SIGTERM seen */
static struct lws_context *net_signal_ctx;
static int net_stop;                         /* leave the service loop */
static struct ev_loop *net_ev_loop;          /* our libev loop, lent to lws; NULL: lws's poll() */

/* One HTTP request on its socket, as it comes in and as its answer goes out. */
struct net_http {
    char path[256];
    char query[128];
    char bearer[PROTO_TOKEN_MAX + 1];
    bool has_bearer;
    enum http_method method;
    bool too_large;
    bool answered;          /* the request was handled: later body completions are ignored */
    bool refuse;            /* net.c filled the answer (resp) itself */
    bool close_after;       /* Connection: close, and close once the answer is written */
    char *body;
    size_t body_len;
    struct http_response resp; /* resp.later: the answer comes later (cancelled if we go first) */
    int phase;              /* 0: nothing to send, 1: headers next, 2: body next */
};

/* The transport's state of one socket (WebSocket or HTTP), from the callback that makes its
 * connection (ESTABLISHED, HTTP) to the one that closes it. conn.c holds it as an opaque
 * handle (conn->link) and only passes it back to net_conn_io. */
struct net_link {
    struct lws *wsi;        /* NULL once lws has closed it */
    struct server *srv;
    struct conn *conn;      /* NULL on a proxied player's socket */
    struct proxy *proxy;    /* a proxied player's socket (proxy.h), else NULL */
    struct lws *up;         /* ... its upstream to the owner, while one is open or opening */
    struct net_pss *up_pss; /* ... the upstream's per-session data (ours: freed at its end) */
    char *up_rx;            /* ... a fragmented frame from the owner being joined */
    size_t up_rx_len;
    int up_close_code;      /* ... the owner's close code and reason, once it sent them */
    char up_close_reason[124];
    struct net_link *proxy_prev, *proxy_next; /* ... in net_proxies */
    char *rx;               /* WebSocket: a fragmented message being joined */
    size_t rx_len;
    size_t rx_dropped;      /* bytes of an over-16-KiB message read and dropped so far */
    struct net_http *http;  /* HTTP only */
    bool batch;             /* felt.v2: what is due goes out in one frame, a message a line */
    struct heartbeat_node hb; /* WebSocket: in the server's heartbeat sweep */
    bool in_hb;
    bool ping_due;          /* the heartbeat asked for a ping: the next write sends it */
    bool woken;             /* net_wake asked lws for a WRITEABLE while its message was handled */
    struct net_link *defer_prev, *defer_next; /* in net_deferred while its wake waits (NULL */
    bool deferred;                            /* prev: first, next: last) */
};

/* The sub-protocols, by their lws_protocols id: felt.v1 (a message a frame) and felt.v2 (what
 * is due in one frame, a message a line; proto.h). */
enum { NET_PROTO_SINGLE = 1, NET_PROTO_BATCH = 2 };

/* Per-session data: only a pointer to our own object. An upstream's (a proxied player's
 * socket to the owner) is allocated by us and names the player's link; the link clears it when
 * it goes first. */
struct net_pss {
    struct net_link *link;
    bool upstream;
};

static struct net_link *net_proxies; /* every proxied player's link, for the shutdown */

/* The one lws timer that runs timer.c's heap. It is re-armed only when the earliest deadline
 * moves earlier, never further out than NET_TIMER_TICK_US, so that its own insertion into lws's
 * sorted timer list stays near the head (that list's O(length) insertion is why the heap is
 * ours: timer.c). */
#define NET_TIMER_TICK_US (1000 * LWS_US_PER_MS)

#define NET_FD_FILES 16  /* descriptors kept for feltd's own files (12 to 15 in use) */
#define NET_FD_HEALTH 16 /* connections past max_conns, for /healthz */

static lws_sorted_usec_list_t net_timer_sul;
static ev_timer net_timer_ev;      /* net_timer_sul's stand-in on libev */
static lws_usec_t net_timer_armed; /* when the timer fires; 0: not armed */
static struct lws_context *net_timer_ctx;

static void net_timer_sul_fire(lws_sorted_usec_list_t *sul);

/* Makes the timer fire by the earliest deadline (or within a tick). On libev it is a libev
 * timer of its own: lws 4.1.6's libev glue moves its one timer earlier with ev_timer_set() on
 * an active watcher, which libev ignores, so an lws_sul armed while a later one was pending
 * fired only then, or at the next I/O (a table of bots with nobody connected stalled). */
static void net_timer_schedule(void)
{
    int64_t due = timer_next_due_us();
    if (!net_timer_ctx || due < 0)
        return;
    lws_usec_t now = lws_now_usecs();
    if (due > now + NET_TIMER_TICK_US)
        due = now + NET_TIMER_TICK_US;
    if (net_timer_armed && net_timer_armed <= due)
        return; /* it fires in time anyway, and looks again then */
    net_timer_armed = due;
    lws_usec_t in = due > now ? due - now : 1;
    if (net_ev_loop) {
        ev_timer_stop(net_ev_loop, &net_timer_ev);
        ev_now_update(net_ev_loop);
        ev_timer_set(&net_timer_ev, (double)in / 1e6, 0.);
        ev_timer_start(net_ev_loop, &net_timer_ev);
    } else
        lws_sul_schedule(net_timer_ctx, 0, &net_timer_sul, net_timer_sul_fire, in);
}

static void net_timer_wakeup(int64_t due_us)
{
    (void)due_us;
    net_timer_schedule();
}

static void net_timer_fire(void)
{
    net_timer_armed = 0;
    timer_run_due(lws_now_usecs());
    net_timer_schedule();
}

static void net_timer_sul_fire(lws_sorted_usec_list_t *sul)
{
    (void)sul;
    net_timer_fire();
}

/* lws's own timers (each connection's ping and hang-up, handshake and close timeouts) ride on
 * one libev timer that lws 4.1.6 cannot move earlier (above), so with nothing else happening a
 * silent peer was never dropped. While connections are open, this wakes lws once a second to
 * look at them (lws_cancel_service: a write to its pipe); an idle feltd without connections is
 * not woken. */
static ev_timer net_lws_tick;
#define NET_LWS_TICK_S 1.0

static void net_lws_tick_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct server *srv = w->data;
    (void)revents;
    if (srv->conns_open > 0)
        lws_cancel_service(srv->ctx);
    else
        ev_timer_stop(loop, w); /* net_attach_pending starts it again */
}

/* A connection was accepted: lws's timers need looking at from now on. */
static void net_lws_tick_need(void)
{
    if (net_ev_loop && !ev_is_active(&net_lws_tick))
        ev_timer_again(net_ev_loop, &net_lws_tick);
}

static void net_timer_ev_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    net_timer_fire();
}

static int64_t net_now_us(void)
{
    return lws_now_usecs();
}

/* ---- the sender first ---------------------------------------------------------------------
 * A message a client sends (an action, chat) usually wakes every connection of its table at
 * once: the sender for its ack, the others for the event. Woken together, the sender is served
 * last: its socket is the one just read, so epoll reports it first among those that became
 * writable, and libev runs one poll's watchers last in, first out (docs/performance.md, issue
 * 12). So while a connection's message is handled (net_rx_holder), the wakes of other
 * connections wait in net_deferred, and a zero timer of the lowest priority wakes them in the
 * next turn of the loop, after the sender's write (its watcher has the default priority and
 * runs first in that turn). The others' frames go out one loop turn later; the sender's reply
 * goes out alone and first. With lws's own poll() loop there is no such timer and nothing
 * waits. A sender whose socket cannot take its reply holds nobody: the timer fires regardless. */
static struct net_link *net_rx_holder;
static struct net_link *net_deferred;
static ev_timer net_defer_ev;

static void net_defer_unlink(struct net_link *l)
{
    if (!l->deferred)
        return;
    if (l->defer_next)
        l->defer_next->defer_prev = l->defer_prev;
    if (net_deferred == l)
        net_deferred = l->defer_next;
    else
        l->defer_prev->defer_next = l->defer_next;
    l->deferred = false;
    l->defer_prev = l->defer_next = NULL;
}

static void net_defer_flush(void)
{
    while (net_deferred) {
        struct net_link *l = net_deferred;
        net_defer_unlink(l);
        if (l->wsi)
            lws_callback_on_writable(l->wsi);
    }
    if (net_ev_loop)
        ev_timer_stop(net_ev_loop, &net_defer_ev);
}

static void net_defer_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    net_defer_flush();
}

static void net_wake(void *link)
{
    struct net_link *l = link;
    if (!l->wsi)
        return;
    if (!net_rx_holder || l == net_rx_holder || !net_ev_loop) {
        l->woken = true;
        lws_callback_on_writable(l->wsi);
        return;
    }
    if (l->deferred)
        return;
    l->deferred = true;
    l->defer_next = net_deferred;
    l->defer_prev = NULL;
    if (net_deferred)
        net_deferred->defer_prev = l;
    net_deferred = l;
    if (!ev_is_active(&net_defer_ev)) {
        ev_timer_set(&net_defer_ev, 0., 0.);
        ev_timer_start(net_ev_loop, &net_defer_ev);
    }
}

/* conn_on_message for l, with the wakes of other connections held back until l has written
 * (above). A message that gave l nothing to send holds nobody. */
static void net_ws_message(struct net_link *l, const char *in, size_t len)
{
    if (l->proxy) {
        proxy_player_message(l->proxy, in, len);
        return;
    }
    net_rx_holder = l;
    l->woken = false;
    conn_on_message(l->conn, in, len);
    net_rx_holder = NULL;
    if (!l->woken)
        net_defer_flush();
}

static void net_rx_pause(void *link, bool pause)
{
    struct net_link *l = link;
    if (l->wsi)
        lws_rx_flow_control(l->wsi, pause ? 0 : 1);
}

static const struct conn_io net_conn_io = {
    .wake = net_wake,
    .rx_pause = net_rx_pause,
};

/* ---- heartbeats (heartbeat.c sweeps; these are its hooks) -------------------------------- */

static struct net_link *net_hb_link(struct heartbeat_node *n)
{
    return (struct net_link *)((char *)n - offsetof(struct net_link, hb));
}

/* How long the kernel has received nothing on the socket: every message, ping and pong of the
 * peer counts, without lws having to report them (lws 4.1 does not report an empty pong). */
static int64_t net_hb_idle_ms(struct heartbeat_node *n)
{
    struct net_link *l = net_hb_link(n);
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    if (!l->wsi || getsockopt(lws_get_socket_fd(l->wsi), IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return -1;
    return ti.tcpi_last_data_recv;
}

static void net_hb_ping(struct heartbeat_node *n)
{
    struct net_link *l = net_hb_link(n);
    if (!l->wsi || l->ping_due)
        return;
    l->ping_due = true;
    lws_callback_on_writable(l->wsi);
}

/* A silent peer reads no close frame: the socket is closed at once. */
static void net_hb_hangup(struct heartbeat_node *n)
{
    struct net_link *l = net_hb_link(n);
    if (!l->wsi)
        return;
    log_line(LOG_DEBUG, "hung up on a connection silent for too long");
    lws_set_timeout(l->wsi, PENDING_TIMEOUT_WS_PONG_CHECK_GET_PONG, LWS_TO_KILL_ASYNC);
}

static const struct heartbeat_ops net_hb_ops = {
    .idle_ms = net_hb_idle_ms,
    .ping = net_hb_ping,
    .hangup = net_hb_hangup,
};

/* Appends a fragment of a message to the buffer *rx of *rx_len bytes (NUL room kept); the
 * callers bound the total. */
static void net_rx_join(char **rx, size_t *rx_len, const char *in, size_t len)
{
    *rx = xrealloc(*rx, *rx_len + len + 1);
    memcpy(*rx + *rx_len, in, len);
    *rx_len += len;
}

static struct net_link *net_link_new(struct lws *wsi, struct server *srv)
{
    struct net_link *l = xcalloc(1, sizeof(*l));
    l->wsi = wsi;
    l->srv = srv;
    return l;
}

static void net_proxy_drop(void *link);

/* lws has closed the socket: the connection goes first (with wsi cleared, so nothing it does
 * while going asks lws for anything), then the transport's state. */
static void net_link_free(struct net_link *l)
{
    l->wsi = NULL;
    net_defer_unlink(l);
    if (net_rx_holder == l)
        net_rx_holder = NULL;
    if (l->in_hb)
        heartbeat_remove(&l->srv->hb, &l->hb);
    if (l->proxy) {
        net_proxy_drop(l);
        proxy_free(l->proxy);
        if (l->proxy_next)
            l->proxy_next->proxy_prev = l->proxy_prev;
        if (l->proxy_prev)
            l->proxy_prev->proxy_next = l->proxy_next;
        else
            net_proxies = l->proxy_next;
    }
    conn_free(l->conn);
    free(l->rx);
    if (l->http) {
        if (l->http->resp.later)
            http_later_cancel(l->http->resp.later);
        free(l->http->body);
        msg_unref(l->http->resp.body);
        free(l->http);
    }
    free(l);
}

/* ---- proxied players (proxy.h) ----------------------------------------------------------
 * A player's socket at a table another node plays is carried to that node over an upstream
 * WebSocket of ours (an lws client on this same loop and vhost, in the same sub-protocol, so
 * the frames pass unchanged). The upstream's per-session data is allocated here, names the
 * player's link, and is freed at the upstream's WSI_DESTROY; a link that goes first (or drops
 * the upstream because the table moved) clears the name, so nothing reaches it afterwards. The
 * upstream says it is one (NET_PROXIED_HDR): a node never proxies a proxied socket. */
#define NET_PROXIED_HDR "x-felt-proxied:"

/* Whether the upgrade request came from another node's proxy. */
static bool net_ws_proxied(struct lws *wsi)
{
    return lws_hdr_custom_length(wsi, NET_PROXIED_HDR, (int)strlen(NET_PROXIED_HDR)) > 0;
}

/* Whether the upgrade request came from another node's proxy that knows the nodes' secret
 * (redis.h, felt:secret): then its X-Forwarded-For names the player's address. Compared in
 * constant time; never logged. */
static bool net_from_node(struct server *srv, struct lws *wsi)
{
    char v[sizeof(srv->node_secret) + 1];
    size_t want = strlen(srv->node_secret);
    if (!want)
        return false;
    int n = lws_hdr_custom_copy(wsi, v, (int)sizeof(v), NET_PROXIED_HDR,
                                (int)strlen(NET_PROXIED_HDR));
    return n == (int)want && CRYPTO_memcmp(v, srv->node_secret, want) == 0;
}

/* Forgets the upstream (its callbacks no longer reach l) and has lws close it. */
static void net_proxy_detach(struct net_link *l)
{
    if (l->up_pss)
        l->up_pss->link = NULL;
    l->up_pss = NULL;
    l->up = NULL;
    free(l->up_rx);
    l->up_rx = NULL;
    l->up_rx_len = 0;
}

static void net_proxy_drop(void *link)
{
    struct net_link *l = link;
    if (l->up)
        lws_set_timeout(l->up, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    net_proxy_detach(l);
}

static int net_proxy_connect(void *link, const char *url, const char *path)
{
    struct net_link *l = link;
    char buf[TABLE_URL_MAX + 1];
    const char *prot, *ads, *upath;
    int port;
    if (!l->wsi || strlen(url) >= sizeof(buf))
        return -1;
    memcpy(buf, url, strlen(url) + 1);
    if (lws_parse_uri(buf, &prot, &ads, &port, &upath) ||
        (strcmp(prot, "ws") != 0 && strcmp(prot, "wss") != 0))
        return -1;
    net_proxy_drop(l);
    struct lws_client_connect_info i;
    memset(&i, 0, sizeof(i));
    i.context = l->srv->ctx;
    i.vhost = lws_get_vhost(l->wsi);
    i.address = ads;
    i.port = port;
    i.path = path;
    i.host = ads;
    i.origin = ads;
    i.ssl_connection = strcmp(prot, "wss") == 0 ? LCCSCF_USE_SSL : 0;
    i.protocol = l->batch ? PROTO_SUBPROTOCOL_BATCH : PROTO_SUBPROTOCOL;
    i.local_protocol_name = i.protocol;
    struct net_pss *pss = xcalloc(1, sizeof(*pss));
    pss->link = l;
    pss->upstream = true;
    l->up_pss = pss;
    i.userdata = pss; /* no pwsi: lws would write through it after the link is gone */
    struct lws *up = lws_client_connect_via_info(&i);
    if (l->up_pss != pss)
        return -1; /* failed at once, and already destroyed (WSI_DESTROY freed pss) */
    if (!up) {
        net_proxy_detach(l);
        free(pss);
        return -1;
    }
    l->up = up;
    return 0;
}

static void net_proxy_wake_player(void *link)
{
    struct net_link *l = link;
    if (l->wsi)
        lws_callback_on_writable(l->wsi);
}

static void net_proxy_wake_owner(void *link)
{
    struct net_link *l = link;
    if (l->up)
        lws_callback_on_writable(l->up);
}

static void net_proxy_pause_owner(void *link, bool pause)
{
    struct net_link *l = link;
    if (l->up)
        lws_rx_flow_control(l->up, pause ? 0 : 1);
}

/* An upstream refused or broken is tried again after 250 ms, then 0.5, 1, 2 and 4 s (and every
 * 4 s after that), each with up to 20 % more at random, so that the sockets a node carries to a
 * dead owner do not all come back at the same moment. */
static const uint32_t net_proxy_backoff_ms[] = {250, 500, 1000, 2000, 4000};
static const lws_retry_bo_t net_proxy_retry = {
    .retry_ms_table = net_proxy_backoff_ms,
    .retry_ms_table_count = sizeof(net_proxy_backoff_ms) / sizeof(net_proxy_backoff_ms[0]),
    .conceal_count = LWS_RETRY_CONCEAL_ALWAYS,
    .jitter_percent = 20,
};

static int64_t net_proxy_retry_ms(void *link, unsigned tries)
{
    struct net_link *l = link;
    uint16_t ctry = tries > UINT16_MAX ? UINT16_MAX : (uint16_t)tries;
    char conceal;
    return lws_retry_get_delay_ms(l->srv->ctx, &net_proxy_retry, &ctry, &conceal);
}

static const struct proxy_io net_proxy_io = {
    .connect = net_proxy_connect,
    .retry_ms = net_proxy_retry_ms,
    .drop = net_proxy_drop,
    .wake_player = net_proxy_wake_player,
    .wake_owner = net_proxy_wake_owner,
    .pause_player = net_rx_pause,
    .pause_owner = net_proxy_pause_owner,
};

/* The upstream's callbacks; l is the player's link (pss->link), or NULL once it let go. */
static int net_proxy_callback(struct lws *wsi, enum lws_callback_reasons reason,
                              struct net_pss *pss, void *in, size_t len)
{
    struct net_link *l = pss->link;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        /* The nodes' secret ("-" while unknown: a proxied socket all the same), and the
         * player's address, which the owner takes from a node that knows the secret. */
        unsigned char **p = in, *end = *p + len;
        const char *secret = l && l->srv->node_secret[0] ? l->srv->node_secret : "-";
        struct limit_addr *a = l && l->wsi ? lws_get_opaque_user_data(l->wsi) : NULL;
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)NET_PROXIED_HDR,
                                        (const unsigned char *)secret, (int)strlen(secret), p,
                                        end))
            return -1;
        if (a && lws_add_http_header_by_name(wsi, (const unsigned char *)"x-forwarded-for:",
                                             (const unsigned char *)a->ip, (int)strlen(a->ip),
                                             p, end))
            return -1;
        return 0;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (l)
            proxy_upstream_open(l->proxy);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (!l)
            return -1;
        if (lws_frame_is_binary(wsi))
            return 0; /* a node sends text only */
        if (l->up_rx_len + len > PROXY_MSG_MAX) {
            proxy_close(l->proxy, 1009, "a message from the table's server was too long");
            return -1;
        }
        if (lws_is_first_fragment(wsi) && lws_is_final_fragment(wsi) && !l->up_rx_len) {
            proxy_owner_message(l->proxy, in, len);
            return 0;
        }
        net_rx_join(&l->up_rx, &l->up_rx_len, in, len);
        if (lws_is_final_fragment(wsi)) {
            proxy_owner_message(l->proxy, l->up_rx, l->up_rx_len);
            free(l->up_rx);
            l->up_rx = NULL;
            l->up_rx_len = 0;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        if (!l)
            return -1;
        const struct msg *m = proxy_next_up(l->proxy);
        if (!m)
            return 0;
        if (lws_write(wsi, (unsigned char *)msg_payload(m), m->len, LWS_WRITE_TEXT) <
            (int)m->len)
            return -1;
        proxy_sent_up(l->proxy);
        if (proxy_next_up(l->proxy))
            lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (l && len >= 2) {
            const unsigned char *c = in;
            size_t n = len - 2 < sizeof(l->up_close_reason) - 1 ? len - 2
                                                                : sizeof(l->up_close_reason) - 1;
            l->up_close_code = (c[0] << 8) | c[1];
            memcpy(l->up_close_reason, c + 2, n);
            l->up_close_reason[n] = '\0';
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (l) {
            int code = reason == LWS_CALLBACK_CLIENT_CLOSED ? l->up_close_code : 0;
            char why[sizeof(l->up_close_reason)];
            memcpy(why, l->up_close_reason, sizeof(why));
            /* The owner refused the upgrade with 403: it does not know the player (any other
             * refusal, 421 above all, means "look for the owner again"). What the owner's
             * hello would have said to a token it does not know. */
            if (reason == LWS_CALLBACK_CLIENT_CONNECTION_ERROR &&
                lws_http_client_http_response(wsi) == HTTP_STATUS_FORBIDDEN) {
                code = 4401;
                snprintf(why, sizeof(why), "the table's server does not know this player");
            }
            net_proxy_detach(l);
            proxy_upstream_closed(l->proxy, code, why);
        }
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (l && l->up_pss == pss)
            net_proxy_detach(l);
        free(pss);
        return 0;
    default:
        return 0;
    }
}

/* A proxied player's socket is writable: the owner's next frame, or the close. */
static int net_proxy_writeable(struct lws *wsi, struct net_link *l)
{
    int code;
    const char *why;
    const struct msg *m = proxy_next_down(l->proxy);
    if (!m) {
        if (proxy_close_due(l->proxy, &code, &why)) {
            lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)why,
                             strlen(why));
            return -1;
        }
        return 0;
    }
    if (lws_write(wsi, (unsigned char *)msg_payload(m), m->len, LWS_WRITE_TEXT) < (int)m->len)
        return -1;
    l->srv->metrics.frames_out++;
    l->srv->metrics.bytes_out += m->len;
    proxy_sent_down(l->proxy);
    if (proxy_next_down(l->proxy) || proxy_close_due(l->proxy, &code, &why))
        lws_callback_on_writable(wsi);
    return 0;
}

/* ---- WebSocket paths ------------------------------------------------------------------- */

/* A player's socket at a table another node plays: carried to it (proxy.h). Not a conn_role:
 * no struct conn is made for it. */
#define NET_ROUTE_PROXY 100

/* Whether s is a player id's shape (PLAYER_ID_LEN lowercase hex digits): the owner checks the
 * rest. */
static bool net_player_id_shape(const char *s)
{
    size_t n = strspn(s, "0123456789abcdef");
    return n == PLAYER_ID_LEN && s[n] == '\0';
}

/* Splits /ws/game/{game}/{player} and /ws/spectate/{game}. Returns the role (a conn_role, or
 * NET_ROUTE_PROXY for a player at a table standing by here, unless the socket comes from another
 * node's proxy: may_proxy false, so that two nodes that each think the other plays a table never
 * pass a socket back and forth), or -1. */
static int net_route_ws(struct server *srv, const char *uri, bool may_proxy, struct table **t,
                        struct player **p)
{
    const char *game, *slash;
    *t = NULL;
    *p = NULL;
    if (strncmp(uri, "/ws/spectate/", 13) == 0) {
        game = uri + 13;
        *t = lobby_find(srv, game, strlen(game));
        return *t ? CONN_SPECTATOR : -1; /* standing by: the owner's play, mirrored */
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
    if ((*t)->standby)
        return may_proxy && net_player_id_shape(slash + 1) ? NET_ROUTE_PROXY : -1;
    *p = table_player_by_id(*t, slash + 1, strlen(slash + 1));
    return *p && !(*p)->bot ? CONN_PENDING : -1;
}

/* permessage-deflate's memory, per socket. lws 4.1 sizes both the deflater of what we send and
 * the inflater of what the client sends from one option, server_max_window_bits (default 15:
 * 128 KiB of deflate window plus 128 KiB of hash at mem_level 8, and a 32 KiB inflate window),
 * and keeps the deflater for the socket's life: 212 kB per socket on an active table. A client
 * that asks for client_no_context_takeover (felt does) compresses each message on its own, and
 * lws 4.1 then also ends our deflater after every message we send, so its memory is held only
 * while a message is compressed. Such a client's message refers at most its own length back, and
 * a message is at most 16 KiB (PROTO_MAX_FRAME), so a 16 KiB window inflates every message we
 * accept (a 4 KiB one did not: "invalid distance too far back" on a 16 KiB message). The kept
 * inflater is then about 23 KiB; the deflater, with mem_level 4, about 72 KiB while a message is
 * compressed. The price is compression without the previous messages (docs/performance.md). A
 * client that keeps its context (a browser) may refer 32 KiB back, so it keeps the default
 * window; only the hash shrinks. */
static void net_ws_deflate_options(struct lws *wsi)
{
    char ext[256];
    if (lws_hdr_copy(wsi, ext, sizeof(ext), WSI_TOKEN_EXTENSIONS) <= 0)
        return;
    lws_set_extension_option(wsi, "permessage-deflate", "mem_level", "4");
    if (strstr(ext, "client_no_context_takeover"))
        lws_set_extension_option(wsi, "permessage-deflate", "server_max_window_bits", "14");
}

static int net_ws_established(struct lws *wsi, struct server *srv, struct net_pss *pss)
{
    char uri[256];
    struct table *t;
    struct player *p;
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0)
        return -1;
    int role = net_route_ws(srv, uri, !net_ws_proxied(wsi), &t, &p);
    if (role < 0)
        return -1;
    net_ws_deflate_options(wsi);
    struct net_link *l = net_link_new(wsi, srv);
    l->batch = lws_get_protocol(wsi)->id == NET_PROTO_BATCH;
    if (role == NET_ROUTE_PROXY) {
        l->proxy = proxy_new(t, uri, &net_proxy_io, l);
        l->proxy_next = net_proxies;
        if (net_proxies)
            net_proxies->proxy_prev = l;
        net_proxies = l;
    } else
        l->conn = conn_new(srv, &net_conn_io, l, (enum conn_role)role, t, p ? p->id : NULL,
                           lws_get_opaque_user_data(wsi));
    pss->link = l;
    heartbeat_add(&srv->hb, &l->hb);
    l->in_hb = true;
    return 0;
}

/* Refuses what the client sent: an error (code 0), or a close with code; a proxied player's
 * by this node (its owner never sees the frame), the same as the owner would. */
static void net_ws_refuse(struct net_link *l, int code, const char *error, const char *why)
{
    if (l->proxy && code)
        proxy_close(l->proxy, code, why);
    else if (l->proxy)
        proxy_reply_error(l->proxy, error, why);
    else if (code)
        conn_close(l->conn, code, why);
    else
        conn_reply_error(l->conn, error, why);
}

/* Assembles fragments into one message, bounded by PROTO_MAX_FRAME. Returns -1 to close. */
static int net_ws_receive(struct lws *wsi, struct net_link *l, const char *in, size_t len)
{
    struct conn *c = l->conn;
    if (lws_frame_is_binary(wsi)) {
        if (lws_is_final_fragment(wsi))
            net_ws_refuse(l, 0, "binary_frame", "felt.v1 messages are JSON text frames");
        return 0;
    }
    if (c ? c->close_code != 0 : proxy_closing(l->proxy))
        return 0; /* closing: what still arrives is dropped unread */
    if (l->rx_dropped || l->rx_len + len + lws_remaining_packet_payload(wsi) > PROTO_MAX_FRAME) {
        /* Closed from the WRITEABLE callback like any close: lws 4.1 ignores -1 returned here
         * while it drains an inflated (permessage-deflate) message, which left the socket open
         * and silent when a compressed message inflated just past the limit. The rest of the
         * message is read and dropped first (up to 1 MiB): a socket closed with unread input
         * answers with a reset, which can destroy the close frame before the client reads it
         * (seen with a 1 KiB rx buffer). */
        free(l->rx);
        l->rx = NULL;
        l->rx_len = 0;
        l->rx_dropped += len;
        /* A message whose declared rest is beyond that allowance is closed at once: waiting for
         * bytes a hostile client never sends would leave the 1009 unsent. */
        if (lws_is_final_fragment(wsi) ||
            l->rx_dropped + lws_remaining_packet_payload(wsi) > (1u << 20))
            net_ws_refuse(l, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, "message over 16 KiB");
        return 0;
    }
    if (lws_is_first_fragment(wsi) && lws_is_final_fragment(wsi)) {
        net_ws_message(l, in, len);
        return 0;
    }
    net_rx_join(&l->rx, &l->rx_len, in, len);
    if (lws_is_final_fragment(wsi)) {
        net_ws_message(l, l->rx, l->rx_len);
        free(l->rx);
        l->rx = NULL;
        l->rx_len = 0;
    }
    return 0;
}

/* One frame of felt.v2, gathered: the messages due to one connection, a line each. Shared by
 * every connection: lws_write() has sent or copied a frame before it returns (a partial send is
 * buffered by lws), so the buffer is free again at the next callback, and batching allocates
 * nothing. A message that does not fit after others waits for the next frame; one longer than
 * the whole buffer (a large snapshot) goes alone from its own storage. */
#define NET_BATCH_MAX 16384
static unsigned char net_batch_buf[LWS_PRE + NET_BATCH_MAX];

/* Copies m and then whatever else is due to c, while it fits, into net_batch_buf, marking each
 * one sent. Returns the frame's length. */
static size_t net_ws_gather(struct conn *c, const struct msg *m)
{
    unsigned char *out = net_batch_buf + LWS_PRE;
    size_t len = 0;
    do {
        if (len + (len > 0) + m->len > NET_BATCH_MAX)
            break; /* not marked sent: conn_next() offers it again next time */
        if (len > 0)
            out[len++] = '\n';
        memcpy(out + len, msg_payload(m), m->len);
        len += m->len;
        c->srv->metrics.msgs_out++;
        conn_sent(c);
    } while (conn_pending(c) && (m = conn_next(c)) != NULL);
    return len;
}

static int net_ws_writeable(struct lws *wsi, struct net_link *l)
{
    struct conn *c = l->conn;
    if (l->ping_due) {
        static unsigned char ping[LWS_PRE];
        l->ping_due = false;
        if (lws_write(wsi, ping + LWS_PRE, 0, LWS_WRITE_PING) < 0)
            return -1;
        if (l->proxy || conn_pending(c) || c->close_code)
            lws_callback_on_writable(wsi);
        return 0;
    }
    if (l->proxy)
        return net_proxy_writeable(wsi, l);
    const struct msg *m = conn_next(c);
    if (!m) {
        if (c->close_code) {
            lws_close_reason(wsi, (enum lws_close_status)c->close_code,
                             (unsigned char *)c->close_reason, strlen(c->close_reason));
            return -1;
        }
        return 0;
    }
    unsigned char *frame = (unsigned char *)msg_payload(m);
    size_t len = m->len;
    bool gathered = l->batch && m->len <= NET_BATCH_MAX;
    if (gathered) {
        len = net_ws_gather(c, m);
        frame = net_batch_buf + LWS_PRE;
    }
    int n = lws_write(wsi, frame, len, LWS_WRITE_TEXT);
    if (n < (int)len)
        return -1;
    if (!gathered) {
        c->srv->metrics.msgs_out++;
        conn_sent(c); /* after the write: a reply is freed once sent */
    }
    c->srv->metrics.frames_out++;
    c->srv->metrics.bytes_out += len;
    if (conn_pending(c) || c->close_code)
        lws_callback_on_writable(wsi);
    return 0;
}

/* ---- client addresses ------------------------------------------------------------------ */

/* The peer's address of an accepted socket, as text (an IPv4 address mapped into IPv6 as the
 * IPv4 address it is). */
static void net_peer_ip(const struct sockaddr_storage *ss, char *ip, size_t len)
{
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
    const void *addr = NULL;
    int family = ss->ss_family;
    if (family == AF_INET) {
        addr = &((const struct sockaddr_in *)ss)->sin_addr;
    } else if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
        family = AF_INET;
        addr = &s6->sin6_addr.s6_addr[12];
    } else if (family == AF_INET6) {
        addr = &s6->sin6_addr;
    }
    if (!addr || !inet_ntop(family, addr, ip, (socklen_t)len))
        snprintf(ip, len, "unknown");
}

/* Accepts or refuses a new TCP connection by its peer's address (before anything is read).
 * Returns the address it is attributed to, or NULL: refused. */
static struct limit_addr *net_filter_peer(struct server *srv, const struct sockaddr_storage *ss)
{
    char ip[LIMIT_IP_MAX];
    const struct limits *l = &srv->limits;
    net_peer_ip(ss, ip, sizeof(ip));
    struct limit_addr *a = limit_addr_get(&srv->addrs, ip);
    bool proxy = l->trust_proxy && strcmp(l->trust_proxy, ip) == 0;
    if (!proxy && l->max_conns_per_address && a->conns >= l->max_conns_per_address) {
        srv->metrics.conns_refused++;
        log_line(LOG_DEBUG, "refused a connection from %s: %d open", ip, a->conns);
        return NULL;
    }
    return a;
}

static void net_listen_modulate(struct server *srv);

static void net_detach(struct server *srv, struct lws *wsi)
{
    struct limit_addr *a = lws_get_opaque_user_data(wsi);
    if (!a)
        return;
    a->conns--;
    srv->conns_open--;
    lws_set_opaque_user_data(wsi, NULL);
    net_listen_modulate(srv);
}

/* ---- the listening socket ---------------------------------------------------------------- */

/* feltd listens itself (listen.c) and hands every socket it accepts to lws. It stops watching
 * the listening socket while it holds net_accept_cap connections (the descriptor limit less
 * NET_FD_FILES for its own files), so a flood waits in the kernel's backlog instead of running
 * the process out of descriptors, and lws's descriptor table stays a direct lookup (lws 4.1.6's
 * own cap, fd_limit_per_thread, makes it a linear search on every event: 53 % of feltd's CPU at
 * 10,000 connections). If accept() fails for want of descriptors all the same (our own files
 * past their reserve), accepting pauses for NET_ACCEPT_RETRY_MS, and the log says so once a
 * second at most. */
#define NET_ACCEPT_BURST 64      /* accepts per wake-up, so that one flood cannot starve play */
#define NET_ACCEPT_RETRY_MS 100

static int net_listen_fd = -1;
static struct lws *net_listen_wsi;  /* the listening socket, adopted into lws's loop */
static bool net_listen_paused;      /* not watched: full, out of descriptors, or shutting down */
static bool net_listen_starved;     /* accept() ran out of descriptors: wait for the timer */
static struct timer *net_listen_retry;
static int net_accept_cap;
static bool net_tls;

static int64_t net_emfile_log_ms; /* last "out of descriptors" line */
static unsigned net_emfile_hidden;

static void net_listen_modulate(struct server *srv)
{
    bool pause = srv->shutting_down || net_listen_starved || srv->conns_open >= net_accept_cap;
    if (!net_listen_wsi || pause == net_listen_paused)
        return;
    net_listen_paused = pause;
    lws_rx_flow_control(net_listen_wsi, pause ? 0 : 1);
}

static void net_listen_retry_fire(void *arg)
{
    net_listen_starved = false;
    net_listen_modulate(arg);
}

static void net_accept_emfile(struct server *srv)
{
    int64_t now = felt_now_ms();
    net_listen_starved = true;
    timer_arm(net_listen_retry, NET_ACCEPT_RETRY_MS);
    if (now - net_emfile_log_ms < 1000) {
        net_emfile_hidden++;
        return;
    }
    net_emfile_log_ms = now;
    log_line(LOG_WARNING, "out of file descriptors, not accepting for a moment (%u more such "
                        "errors)", net_emfile_hidden);
    net_emfile_hidden = 0;
    (void)srv;
}

/* The listening socket is readable: accept what is waiting (up to a burst), refuse by address,
 * and give the rest to lws. */
static void net_accept(struct server *srv)
{
    struct lws_vhost *vh = lws_get_vhost_by_name(srv->ctx, "feltd");
    for (int i = 0; i < NET_ACCEPT_BURST && !net_listen_paused; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(net_listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                net_accept_emfile(srv);
            else if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break; /* EAGAIN: nothing more waiting */
        }
        struct limit_addr *a = net_filter_peer(srv, &ss);
        if (!a) {
            close(fd);
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        lws_sock_file_fd_type d = {.sockfd = fd};
        struct lws *wsi = lws_adopt_descriptor_vhost(
            vh, LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP | (net_tls ? LWS_ADOPT_ALLOW_SSL : 0), d, NULL,
            NULL);
        if (!wsi)
            continue; /* lws closed it */
        lws_set_opaque_user_data(wsi, a);
        a->conns++;
        srv->conns_open++;
        net_lws_tick_need();
        net_listen_modulate(srv);
    }
    net_listen_modulate(srv);
}

/* The client's address for this request: the peer, or, from the trusted proxy (--trust-proxy,
 * or another node's proxy that sent the nodes' secret: net_from_node), the last address of
 * X-Forwarded-For (the one the proxy itself added). The socket is re-attributed to it, and
 * *learned says so. */
static struct limit_addr *net_client_addr(struct server *srv, struct lws *wsi, bool *learned)
{
    struct limit_addr *a = lws_get_opaque_user_data(wsi);
    char xff[256], ip[LIMIT_IP_MAX];
    struct in_addr v4;
    struct in6_addr v6;
    *learned = false;
    if (!a || !((srv->limits.trust_proxy && strcmp(a->ip, srv->limits.trust_proxy) == 0) ||
                net_from_node(srv, wsi)))
        return a;
    if (lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR) <= 0)
        return a;
    const char *last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    last += strspn(last, " \t");
    size_t n = strcspn(last, " \t");
    if (n == 0 || n >= sizeof(ip))
        return a;
    memcpy(ip, last, n);
    ip[n] = '\0';
    if (inet_pton(AF_INET, ip, &v4) != 1 && inet_pton(AF_INET6, ip, &v6) != 1)
        return a; /* not an address: keep the proxy's */
    struct limit_addr *client = limit_addr_get(&srv->addrs, ip);
    a->conns--;
    client->conns++;
    lws_set_opaque_user_data(wsi, client);
    *learned = true;
    return client;
}

/* Whether a request from `a` may go on: the per-address cap for addresses learnt from a proxy,
 * and the total cap, past which only /healthz is served (the descriptors between max_conns and
 * the process limit are the reserve that keeps the health check and the players' own sockets
 * working). Returns 0 or the HTTP status to refuse with. */
static int net_admit(struct server *srv, const struct limit_addr *a, bool learned,
                     const char *path)
{
    const struct limits *l = &srv->limits;
    if (a && learned && l->max_conns_per_address && a->conns > l->max_conns_per_address)
        return 429;
    if (l->max_conns && srv->conns_open > l->max_conns && strcmp(path, "/healthz") != 0)
        return 503;
    return 0;
}

/* ---- HTTP ------------------------------------------------------------------------------ */

static const struct {
    enum lws_token_indexes token;
    enum http_method method;
} net_http_methods[] = {
    {WSI_TOKEN_GET_URI, HTTP_GET},       {WSI_TOKEN_POST_URI, HTTP_POST},
    {WSI_TOKEN_HEAD_URI, HTTP_HEAD},     {WSI_TOKEN_PUT_URI, HTTP_OTHER},
    {WSI_TOKEN_PATCH_URI, HTTP_OTHER},   {WSI_TOKEN_DELETE_URI, HTTP_OTHER},
    {WSI_TOKEN_OPTIONS_URI, HTTP_OTHER},
};

static enum http_method net_http_method(struct lws *wsi)
{
    for (size_t i = 0; i < FELT_ARRAY_LEN(net_http_methods); i++)
        if (lws_hdr_total_length(wsi, net_http_methods[i].token) > 0)
            return net_http_methods[i].method;
    return HTTP_OTHER;
}

/* Answers without routing (refusals decided by the network layer). */
static void net_http_refuse(struct net_http *h, int status, const char *code, const char *message)
{
    char *s = proto_encode_error(code, message, NULL);
    msg_unref(h->resp.body);
    memset(&h->resp, 0, sizeof(h->resp));
    h->resp.status = status;
    h->resp.content_type = "application/json";
    h->resp.body = msg_from_string(s, strlen(s));
    h->close_after = true;
}

/* The answer is ready: written from the next WRITEABLE callback. */
static void net_http_answer(struct net_link *l)
{
    l->http->phase = 1;
    lws_callback_on_writable(l->wsi);
}

/* http.c's later answer (a store read) has come. */
static void net_http_ready(void *arg, struct http_response *resp)
{
    struct net_link *l = arg;
    l->http->resp = *resp; /* resp.later NULL: answered */
    net_http_answer(l);
}

/* Produces the answer, once: later completions of the same request are ignored. */
static void net_http_respond(struct net_link *l)
{
    struct net_http *h = l->http;
    if (h->answered)
        return;
    h->answered = true;
    struct http_request req = {
        .method = h->method,
        .path = h->path,
        .query = h->query,
        .bearer = h->has_bearer ? h->bearer : NULL,
        .body = h->body ? h->body : "",
        .body_len = h->body_len,
        .addr = l->conn->addr,
        .ready = net_http_ready,
        .ready_arg = l,
    };
    if (h->refuse) {
        /* already filled by net_http_refuse */
    } else if (h->too_large) {
        net_http_refuse(h, 413, "too_large", "request body over 16 KiB");
    } else {
        http_handle(l->conn->srv, &req, &h->resp);
    }
    /* Every request ends its connection (see the file comment), so bytes after it are never
     * parsed as a request. Until the answer is written lws may report the completion again for
     * such bytes (lws 4.1 re-runs it while they sit in its buffer): answered ignores that.
     * Pausing reading instead would stop lws 4.1 from offering the HTTP write as well. */
    h->close_after = true;
    if (h->resp.later) /* http.c answers later, through net_http_ready */
        return;
    net_http_answer(l);
}


/* The query string as the client sent it (a=1&b=2). lws keeps each argument as a fragment and
 * lws_hdr_copy would join them with ','; a query too long for out is dropped whole. */
static void net_http_query(struct lws *wsi, char *out, size_t outsz)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0;; i++) {
        char frag[128];
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n <= 0)
            return;
        if (len + (size_t)n + 2 > outsz) {
            out[0] = '\0';
            return;
        }
        if (len)
            out[len++] = '&';
        memcpy(out + len, frag, (size_t)n + 1);
        len += (size_t)n;
    }
}

static int net_http_start(struct lws *wsi, struct server *srv, struct net_pss *pss,
                          const char *path)
{
    char auth[PROTO_TOKEN_MAX + 16];
    if (pss->link) /* a second request on one connection: never served (see above) */
        return -1;
    struct net_link *l = net_link_new(wsi, srv);
    struct net_http *h = xcalloc(1, sizeof(*h));
    l->http = h;
    bool learned;
    l->conn = conn_new(srv, &net_conn_io, l, CONN_HTTP, NULL, NULL,
                       net_client_addr(srv, wsi, &learned));
    pss->link = l;
    srv->metrics.http_requests++;
    snprintf(h->path, sizeof(h->path), "%s", path);
    net_http_query(wsi, h->query, sizeof(h->query));
    int n = lws_hdr_copy(wsi, auth, sizeof(auth), WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n > 7 && strncasecmp(auth, "Bearer ", 7) == 0) {
        /* An over-long token cannot be anyone's: keep it empty so it matches nobody. */
        size_t tlen = strlen(auth + 7);
        if (tlen < sizeof(h->bearer))
            memcpy(h->bearer, auth + 7, tlen + 1);
        h->has_bearer = true;
    }
    h->method = net_http_method(wsi);
    bool has_length = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0;
    int admit = net_admit(srv, l->conn->addr, learned, h->path);
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        /* RFC 9112 6.1: with both, the message is not to be trusted; bodies here are small JSON
         * objects with a length, so chunked ones are not taken either. */
        h->refuse = true;
        if (has_length)
            net_http_refuse(h, 400, "bad_request",
                            "Content-Length together with Transfer-Encoding");
        else
            net_http_refuse(h, 411, "length_required", "send the body with a Content-Length");
    } else if (admit) {
        h->refuse = true;
        net_http_refuse(h, admit, admit == 429 ? "too_many_connections" : "server_full",
                        admit == 429 ? "too many connections from your address"
                                     : "the server is full; try again later");
    }
    if (h->refuse || h->method != HTTP_POST)
        net_http_respond(l);
    return 0; /* a POST is answered once its body is complete */
}

static int net_http_body(struct net_link *l, const char *in, size_t len)
{
    struct net_http *h = l->http;
    if (h->answered)
        return 0;
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

static int net_http_writeable(struct lws *wsi, struct net_link *l)
{
    struct net_http *h = l->http;
    if (h->phase == 1) {
        unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start,
                                         *end = hdr + sizeof(hdr) - 1;
        if (lws_add_http_common_headers(wsi, (unsigned)h->resp.status, h->resp.content_type,
                                        h->resp.body->len, &p, end))
            return -1;
        if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                         (unsigned char *)"no-store", 8, &p, end))
            return -1;
        if (h->resp.allow &&
            lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
                                        (const unsigned char *)h->resp.allow,
                                        (int)strlen(h->resp.allow), &p, end))
            return -1;
        if (h->close_after &&
            lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (unsigned char *)"close", 5,
                                         &p, end))
            return -1;
        if (lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        if (h->method == HTTP_HEAD) { /* the headers of a GET, without its body */
            h->phase = 0;
            return h->close_after || lws_http_transaction_completed(wsi) ? -1 : 0;
        }
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
        l->conn->srv->metrics.bytes_out += m->len;
        if (h->close_after || lws_http_transaction_completed(wsi))
            return -1;
    }
    return 0;
}

/* lws's log goes through log.c (its errors as errors, its warnings as warnings, its notices as
 * debug lines), at most NET_LOG_BURST lines a second: a client can make lws log a line per
 * refused connection, and the log must not grow at the rate of an attack. Lines held back are
 * counted in the next one that is written. */
#define NET_LOG_BURST 20

static void net_log_emit(int level, const char *line)
{
    static struct limit_bucket bucket;
    static unsigned hidden;
    enum log_level lvl = level & LLL_ERR ? LOG_ERROR : level & LLL_WARN ? LOG_WARNING : LOG_DEBUG;
    int64_t now = felt_now_ms();
    size_t n = strlen(line);
    if (!limit_bucket_take(&bucket, NET_LOG_BURST, NET_LOG_BURST, 1.0, now)) {
        hidden++;
        return;
    }
    if (hidden)
        log_line(LOG_WARNING, "lws: (%u lines left out)", hidden);
    hidden = 0;
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--; /* lws ends its lines with a newline; log_line adds its own */
    log_line(lvl, "lws: %.*s", (int)n, line);
}

/* ---- the callback ---------------------------------------------------------------------- */

static void net_shutdown_begin(struct server *srv);

static int net_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    struct server *srv = ctx ? lws_context_user(ctx) : NULL;


    struct net_pss *pss = user;
    struct net_link *l = pss ? pss->link : NULL; /* dereferenced only by per-session cases */
    /* An upstream's callbacks (user is then its per-session data, as for every wsi's own
     * callbacks; for others, such as the poll-descriptor ones, user is something else). */
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
    case LWS_CALLBACK_CLIENT_RECEIVE:
    case LWS_CALLBACK_CLIENT_WRITEABLE:
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
    case LWS_CALLBACK_WSI_DESTROY:
        if (pss && pss->upstream)
            return net_proxy_callback(wsi, reason, pss, in, len);
        break;
    default:
        break;
    }
    switch (reason) {
    case LWS_CALLBACK_WSI_DESTROY:
        if (srv)
            net_detach(srv, wsi);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char uri[256];
        struct table *t;
        struct player *p;
        bool proxied = net_ws_proxied(wsi);
        t = NULL;
        if (srv->shutting_down || lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 ||
            net_route_ws(srv, uri, !proxied, &t, &p) < 0) {
            /* An answer, as docs/protocol.md says, rather than a silently closed socket: 403
             * for an unknown path, table or player. Another node's proxy is told 421 when this
             * node does not play the table (any longer) or is stopping, so that it looks for
             * the owner again, and 403 only when the owner does not know the player. */
            bool elsewhere = proxied && (srv->shutting_down || (t && t->standby));
            lws_return_http_status(wsi, elsewhere ? 421 : HTTP_STATUS_FORBIDDEN, NULL);
            return 1;
        }
        bool learned;
        struct limit_addr *a = net_client_addr(srv, wsi, &learned);
        int admit = net_admit(srv, a, learned, uri);
        if (admit) {
            lws_return_http_status(wsi, (unsigned)admit, NULL);
            return 1;
        }
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED:
        return net_ws_established(wsi, srv, pss);
    case LWS_CALLBACK_RECEIVE:
        return l ? net_ws_receive(wsi, l, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return l ? net_ws_writeable(wsi, l) : 0;
    case LWS_CALLBACK_CLOSED:
        if (l) {
            net_link_free(l);
            pss->link = NULL;
        }
        return 0;

    case LWS_CALLBACK_HTTP:
        return net_http_start(wsi, srv, pss, in ? (const char *)in : "/");
    case LWS_CALLBACK_HTTP_BODY:
        return l && l->http ? net_http_body(l, in, len) : -1;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (l && l->http)
            net_http_respond(l);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return l && l->http ? net_http_writeable(wsi, l) : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (l && l->http) { /* an HTTP request's link; a WebSocket's is freed at CLOSED */
            net_link_free(l);
            pss->link = NULL;
        }
        return 0;

    /* The store's completions (its eventfd, adopted in net_run): the done() callbacks run
     * here, on the loop thread. */
    case LWS_CALLBACK_RAW_RX_FILE:
        if (srv && wsi == net_listen_wsi)
            net_accept(srv);
        else if (srv && srv->store)
            store_dispatch(srv->store);
        return 0;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
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

/* The most one send() may carry. Without it lws caps a send at the rx buffer (1 KiB) and
 * copies the rest of a longer frame into a buffer of its own, to go out at the next WRITEABLE:
 * two send()s, two loop turns and a malloc for every frame over 1 KiB (most frames that start a
 * hand or carry an ack). Nothing is allocated at this size; a send the kernel takes only part of
 * is still buffered by lws. */
#define NET_TX_PACKET_MAX 65536

static const struct lws_protocols net_protocols[] = {
    /* First, so HTTP requests and WebSocket upgrades without a sub-protocol land here too.
     * rx buffer 1 KiB: lws allocates it for every WebSocket, and with 4 KiB it was two thirds
     * of an idle socket's memory (felt-bench, 10,000 idle sockets: 6.3 KB each, 3.3 KB with
     * 1 KiB). Longer messages (up to 16 KiB) arrive in pieces that net_ws_receive joins. */
    {PROTO_SUBPROTOCOL, net_callback, sizeof(struct net_pss), 1024, NET_PROTO_SINGLE, NULL,
     NET_TX_PACKET_MAX},
    {PROTO_SUBPROTOCOL_BATCH, net_callback, sizeof(struct net_pss), 1024, NET_PROTO_BATCH, NULL,
     NET_TX_PACKET_MAX},
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

static struct timer *net_stop_timer;

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
static const struct net_options *net_opts; /* net_run's, until its on_stop was called */

struct ev_loop *net_loop(void)
{
    return net_ev_loop;
}

/* o->on_stop, once: at the shutdown's start, else (the loop failed) before the cleanup. */
static void net_on_stop(struct server *srv)
{
    const struct net_options *o = net_opts;
    net_opts = NULL;
    if (o && o->on_stop)
        o->on_stop(srv);
}

static void net_shutdown_begin(struct server *srv)
{
    log_line(LOG_INFO, "shutting down");
    net_on_stop(srv);
    srv->shutting_down = true;
    net_listen_modulate(srv); /* stop accepting */
    for (int i = 0; i < srv->ntables; i++)
        table_shutdown(srv->tables[i]);
    for (struct conn *c = srv->conns_head; c; c = c->all_next)
        conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "going away");
    for (struct net_link *l = net_proxies; l; l = l->proxy_next)
        proxy_close(l->proxy, LWS_CLOSE_STATUS_GOINGAWAY, "going away");
    timer_arm(net_stop_timer, srv->conns_head || net_proxies ? 300 : 0);
}

/* Everything net_run set up once the context exists, undone (the context with it). */
static void net_run_cleanup(struct server *srv)
{
    timer_free(net_stop_timer);
    net_stop_timer = NULL;
    timer_free(net_listen_retry);
    net_listen_retry = NULL;
    lws_sul_cancel(&net_timer_sul);
    if (net_ev_loop) {
        ev_timer_stop(net_ev_loop, &net_timer_ev);
        ev_timer_stop(net_ev_loop, &net_lws_tick);
        ev_timer_stop(net_ev_loop, &net_defer_ev);
    }
    net_timer_armed = 0;
    net_timer_ctx = NULL; /* timers armed from here on (lws closing sockets) wait for nothing */
    timer_set_wakeup(NULL);
    net_listen_wsi = NULL;
    lws_context_destroy(srv->ctx);
    srv->ctx = NULL;
    heartbeat_free(&srv->hb); /* after the context: closing sockets leave the sweep */
    net_signal_ctx = NULL;
    net_listen_fd = -1;
    if (net_ev_loop) {
        ev_loop_destroy(net_ev_loop);
        net_ev_loop = NULL;
    }
}

int net_run(struct server *srv, const struct net_options *o)
{
    struct lws_context_creation_info info;
    static lws_retry_bo_t idle_policy;
    int rc = 0;

    timer_set_clock(net_now_us, NULL); /* the clock lws's own timer runs on */
    lws_set_log_level(log_get_level() == LOG_DEBUG ? LLL_ERR | LLL_WARN | LLL_NOTICE
                      : log_get_level() == LOG_ERROR ? LLL_ERR
                                                     : LLL_ERR | LLL_WARN,
                      net_log_emit);
    /* lws's own heartbeat is off (a hang-up time of 0): heartbeat.c's sweep does it. */
    idle_policy.secs_since_valid_ping = 0;
    idle_policy.secs_since_valid_hangup = 0;

    /* Descriptors: feltd accepts while it holds fewer than net_accept_cap sockets (the limit
     * less NET_FD_FILES for its own files; net_accept); of those, the last NET_FD_HEALTH are
     * kept for /healthz (net_admit). */
    struct rlimit rl;
    unsigned fd_limit = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        fd_limit = (unsigned)(rl.rlim_cur < (1u << 20) ? rl.rlim_cur : (1u << 20));
    if (fd_limit < NET_FD_FILES + NET_FD_HEALTH + 16) {
        fprintf(stderr, "feltd: the descriptor limit (%u) is too low; raise ulimit -n\n", fd_limit);
        return 1;
    }
    net_accept_cap = (int)(fd_limit - NET_FD_FILES);
    int conn_cap = net_accept_cap - NET_FD_HEALTH;
    if (srv->limits.max_conns == 0 || srv->limits.max_conns > conn_cap)
        srv->limits.max_conns = conn_cap;

    char why[256];
    struct listen_info li;
    net_listen_fd = listen_open(o->host, o->port, 512, &li, why, sizeof(why));
    if (net_listen_fd < 0) {
        fprintf(stderr, "feltd: %s\n", why);
        return 1;
    }
    net_tls = o->tls_cert != NULL;

    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER; /* we listen (listen.c); lws serves what we accept */
    info.protocols = net_protocols;
    info.extensions = net_extensions;
    info.retry_and_idle_policy = &idle_policy;
    info.user = srv;
    info.vhost_name = "feltd";
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (o->tls_cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = o->tls_cert;
        info.ssl_private_key_filepath = o->tls_key;
        /* HTTP/1.1 only: lws would offer h2 by ALPN, and feltd's HTTP handlers (http.c) and
         * its adopted sockets speak HTTP/1.1; a client that took h2 (curl does) failed. */
        info.alpn = "http/1.1";
    }
    /* Signals are ours: lws must not install handlers of its own. */
    signal(SIGPIPE, SIG_IGN);

    void *foreign_loops[1];
    if (o->event_lib == NET_EVENT_LIBEV) {
        net_ev_loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
        if (!net_ev_loop) {
            fprintf(stderr, "feltd: cannot create the libev event loop\n");
            close(net_listen_fd);
            return 1;
        }
        ev_timer_init(&net_timer_ev, net_timer_ev_fire, 0., 0.);
        ev_timer_init(&net_defer_ev, net_defer_fire, 0., 0.);
        ev_set_priority(&net_defer_ev, EV_MINPRI);
        ev_init(&net_lws_tick, net_lws_tick_fire);
        net_lws_tick.repeat = NET_LWS_TICK_S;
        net_lws_tick.data = srv;
        foreign_loops[0] = net_ev_loop;
        info.foreign_loops = foreign_loops;
        info.options |= LWS_SERVER_OPTION_LIBEV;
    }
    srv->ctx = lws_create_context(&info);
    if (!srv->ctx) {
        if (net_ev_loop)
            fprintf(stderr, "feltd: libwebsockets cannot run on libev (is the package "
                            "libwebsockets-evlib-ev installed?); --event-lib poll runs without "
                            "it\n");
        else
            fprintf(stderr, "feltd: cannot start libwebsockets%s\n",
                    o->tls_cert ? " (are the certificate and key readable and a pair?)" : "");
        if (net_ev_loop)
            ev_loop_destroy(net_ev_loop);
        net_ev_loop = NULL;
        close(net_listen_fd);
        return 1;
    }
    heartbeat_init(&srv->hb, &net_hb_ops, o->ping_secs, o->hangup_secs);
    net_signal_ctx = srv->ctx;
    net_timer_ctx = srv->ctx;
    timer_set_wakeup(net_timer_wakeup);
    net_timer_schedule(); /* timers armed before the context existed */
    net_stop_timer = timer_new(net_stop_fire, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = net_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); /* the terminal or the supervisor went away: the same */
    signal(SIGUSR1, SIG_IGN);     /* no meaning here; ignored rather than fatal */
    signal(SIGUSR2, SIG_IGN);

    /* The store's writer thread signals completed commits on an eventfd: it joins the loop
     * like a socket. lws closes what it adopts, so it gets a duplicate; the store keeps its own
     * descriptor (both name the same eventfd). */
    if (srv->store) {
        lws_sock_file_fd_type fd = {.filefd = dup(store_event_fd(srv->store))};
        if (fd.filefd < 0 ||
            !lws_adopt_descriptor_vhost(lws_get_vhost_by_name(srv->ctx, "feltd"),
                                        LWS_ADOPT_RAW_FILE_DESC, fd, PROTO_SUBPROTOCOL, NULL)) {
            fprintf(stderr, "feltd: cannot watch the storage thread's descriptor\n");
            if (fd.filefd >= 0)
                close(fd.filefd);
            close(net_listen_fd);
            net_run_cleanup(srv);
            return 1;
        }
    }

    /* The listening socket joins the loop like the store's eventfd; lws owns it from here and
     * closes it with the context. */
    lws_sock_file_fd_type lfd = {.filefd = net_listen_fd};
    net_listen_retry = timer_new(net_listen_retry_fire, srv);
    net_listen_paused = net_listen_starved = false;
    net_listen_wsi = lws_adopt_descriptor_vhost(lws_get_vhost_by_name(srv->ctx, "feltd"),
                                                LWS_ADOPT_RAW_FILE_DESC, lfd, PROTO_SUBPROTOCOL,
                                                NULL);
    if (!net_listen_wsi) {
        fprintf(stderr, "feltd: cannot watch the listening socket\n");
        net_run_cleanup(srv);
        return 1;
    }
    printf("feltd: listening on %s://%s:%d\n", o->tls_cert ? "https" : "http", li.url_host,
           li.port);
    fflush(stdout);
    net_opts = o;
    if (o->on_ready)
        o->on_ready(srv);

    /* On libev, lws arms its timer (the one our net_timer_sul and lws's own timeouts ride on)
     * only after an I/O event or a timer of its own: a timer scheduled before the loop runs
     * (the bots' first moves, above) would wait for the first client. One wake-up of the loop
     * makes lws look at its timers. */
    lws_cancel_service(srv->ctx);
    while (!net_stop) {
        if (net_ev_loop)
            ev_run(net_ev_loop, EVRUN_ONCE);
        else if (lws_service(srv->ctx, 0) < 0) {
            rc = 1;
            break;
        }
        if (net_signalled && !srv->shutting_down)
            net_shutdown_begin(srv);
    }
    net_on_stop(srv);
    net_run_cleanup(srv);
    return rc;
}
