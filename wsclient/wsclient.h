/*
 * wsclient.h: felt's one client-side libwebsockets module, shared by felt (the TUI and --json),
 * felt-bench and the black-box tests. It is the only client code that includes libwebsockets.h;
 * it is built as its own library (felt_wsclient), apart from the socket-free felt_common.
 *
 * A struct wsloop owns one lws context and its event loop; many connections (thousands, for the
 * benchmark) share one loop. Each struct wsconn is one WebSocket to one URL (or, in turn, to one
 * of a few: wsconn_config.alt_urls) that, when asked, reconnects forever with exponential backoff
 * and jitter (lws_retry_bo_t: 500 ms doubling, never more than 10 s between attempts, jitter
 * included); every attempt, the WebSocket upgrade included, ends within 10 s, a hung one counting
 * as failed. Outgoing messages wait in a bounded per-connection queue and are written one per
 * WRITEABLE callback with LWS_PRE headroom; a full queue refuses new messages (the caller decides
 * what to tell the user). The loop also adopts file descriptors (stdin) and runs timers (lws_sul),
 * and performs one-shot HTTP requests (the polling fallback), so a client has a single event loop
 * and no busy waiting: an idle client sleeps in poll().
 *
 * TLS (wss://, https://) is always verified: the certificate chain against the system's trust
 * store or the loop's own CA file, and the URL's host against the certificate; nothing here turns
 * that off.
 *
 * All callbacks run on the loop's thread, from inside wsloop_run(). The library is split by
 * subsystem: wsloop.c (the loop, timers, adopted descriptors), wsconn.c (WebSockets), wshttp.c
 * (HTTP requests) and wsurl.c (the one URL parser), sharing wsclient_internal.h.
 */
#ifndef FELT_WSCLIENT_H
#define FELT_WSCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wsloop;
struct wsconn;
struct wstimer;
struct wshttp;

/* ---- URLs ------------------------------------------------------------------------------ */

/* The one URL parser of felt's client side (wsconn_new, wshttp_request and the session's
 * --server all use it). */
struct wsurl {
    bool tls;              /* wss:// or https:// */
    bool http;             /* http(s):// rather than ws(s):// */
    char host[256];        /* a name, an IPv4 address, or an IPv6 address without brackets */
    int port;              /* as given, else 80 (ws, http) or 443 (wss, https) */
    const char *authority; /* into the URL: HOST[:PORT] as written (IPv6 brackets kept) */
    size_t authority_len;
    const char *path;      /* into the URL from the first '/', '?' or '#' ("" if none) */
};

/* Parses SCHEME://HOST[:PORT][PATH], SCHEME one of ws, wss, http, https; HOST a name (letters,
 * digits, '.', '-'), an IPv4 address or a bracketed IPv6 address; PORT 1..65535. Returns 0, or -1
 * with a one-line reason quoting the URL in errbuf (u is then unspecified). u points into url,
 * which must outlive it. */
int wsurl_parse(struct wsurl *u, const char *url, char *errbuf, size_t errlen);

/* Whether a parsed URL can be connected to safely: a TLS URL (wss://, https://) to an IPv6
 * address cannot, because libwebsockets 4.1 cuts the host it checks against the certificate at
 * its first ':' (so "::1" would be checked against nothing at all). wsconn_new and wshttp_start
 * refuse such a URL; a caller that checks its URLs up front (felt's --server) calls this too.
 * Returns 0, or -1 with a one-line reason quoting url in errbuf. */
int wsurl_usable(const struct wsurl *u, const char *url, char *errbuf, size_t errlen);

/* ---- the loop -------------------------------------------------------------------------- */

struct wsloop_config {
    int max_conns;   /* expected connections (the benchmark passes thousands); 0: a few */
    bool quiet;      /* no lws log lines at all (the TUI owns the terminal) */
    /* Client heartbeat of every WebSocket: ping after ping_secs of silence, drop (and reconnect,
     * if asked) after hangup_secs without a valid pong. 0: 20 and 60, as the server. A negative
     * ping_secs turns the client heartbeat off (the server's still runs): for thousands of
     * connections in one loop, since lws 4.1 keeps every timer in one sorted list and re-arms a
     * connection's heartbeat timer, walking that list, as traffic arrives. */
    int ping_secs, hangup_secs;
    /* Connection attempts (until the WebSocket handshake ends) and HTTP requests in flight at
     * once; more wait their turn in order, so thousands of connections can be opened at once
     * without flooding the server's accept queue. 0: 64. */
    int max_connecting;
    /* Run lws on libev (epoll, through lws's evlib plugin) instead of its own poll() loop, which
     * walks every descriptor on each wake-up: for thousands of connections (the benchmark). */
    bool libev;
    /* TLS (wss://, https://): the certificates to trust, a PEM file (a CA, or a self-signed
     * server certificate itself), instead of the system's trust store; NULL: the system's (what
     * OpenSSL's default paths hold: /etc/ssl/certs on Debian, or $SSL_CERT_FILE/$SSL_CERT_DIR).
     * Either way the chain and the host name (or IPv4 address) of the URL are checked. The path
     * is copied; the file must pass wsloop_ca_check (read when the loop is created). */
    const char *ca_file;
};

/* An attempt that failed because the server's TLS certificate could not be verified (no
 * trusted chain, or issued for another host) reports exactly this reason: wsconn on_close's
 * reason, wshttp_result.error. A caller compares with it to give its own advice. */
#define WSCLIENT_CERT_UNVERIFIED "the server's TLS certificate could not be verified"

/* Whether path can serve as wsloop_config.ca_file: a readable regular file of at most 1 MiB
 * holding at least one PEM certificate ("-----BEGIN CERTIFICATE-----"; OpenSSL parses it when
 * the loop is created). Returns 0, or -1 with a one-line reason quoting path in errbuf. */
int wsloop_ca_check(const char *path, char *errbuf, size_t errlen);

/* NULL when lws cannot create its context, or when cfg->ca_file fails wsloop_ca_check. With
 * max_conns set, the soft RLIMIT_NOFILE is raised (up to the hard limit) to hold that many
 * sockets. */
struct wsloop *wsloop_new(const struct wsloop_config *cfg);
/* The loop's wsloop_config.ca_file (its copy), or NULL when it trusts the system's store. */
const char *wsloop_ca_file(const struct wsloop *loop);
/* Runs until wsloop_stop(). Returns 0, or -1 if the loop failed. */
int wsloop_run(struct wsloop *loop);
/* Makes wsloop_run() return after the current callback; safe from a signal handler. */
void wsloop_stop(struct wsloop *loop);
/* Closes every connection and frees the loop, without calling any callback: pending HTTP
 * requests are dropped unanswered, and timers still allocated become inert (wstimer_free still
 * frees them). Not from inside a callback. */
void wsloop_free(struct wsloop *loop);

/* ---- timers (lws_sul) ------------------------------------------------------------------ */

struct wstimer *wstimer_new(struct wsloop *loop, void (*cb)(void *arg), void *arg);
void wstimer_arm(struct wstimer *t, int64_t delay_ms); /* (re)arms a one-shot */
void wstimer_cancel(struct wstimer *t);
void wstimer_free(struct wstimer *t);

/* ---- adopted file descriptors (stdin) -------------------------------------------------- */

/* Calls on_readable whenever fd has data (or EOF/hangup: then on_readable is called and a read
 * returns 0). The fd stays owned by the caller. Returns 0 or -1. */
int wsloop_adopt_fd(struct wsloop *loop, int fd, void (*on_readable)(void *arg), void *arg);
/* Stops watching fd (after EOF, or to stop reading); fd stays open. Safe from on_readable. */
void wsloop_forget_fd(struct wsloop *loop, int fd);

/* ---- WebSocket connections ------------------------------------------------------------- */

enum wsconn_state {
    WSCONN_CONNECTING,   /* first attempt in progress */
    WSCONN_OPEN,
    WSCONN_RECONNECTING, /* waiting for the next attempt (see wsconn_retry_info) */
    WSCONN_CLOSED,       /* closed for good (no reconnect, or wsconn_close called) */
};

#define WSCONN_URLS_MAX 4 /* url and its alternates */

struct wsconn_config {
    const char *url;          /* ws://host:port/path or wss://...; copied */
    /* Other URLs of the same service (the nodes of a cluster, a standby server), copied: an
     * attempt that never opened is followed by one to the next URL (url, alt_urls[0], ..., then
     * url again), under the same backoff; after a socket that was open closes, the next attempt
     * goes to the same URL first. At most WSCONN_URLS_MAX - 1; each is checked like url. */
    const char *const *alt_urls;
    int nalt;
    const char *subprotocol;  /* e.g. "felt.v1"; NULL for none */
    bool deflate;             /* offer permessage-deflate */
    /* A text message may hold several, one per line (felt.v2): on_message gets each line. */
    bool lines;
    bool reconnect;           /* retry forever with backoff after a failure or a close */
    size_t max_queue;         /* queued outgoing messages at most (0: 64) */
    void *user;
    /* The socket is open: send hello etc. here (wsconn_send_first puts it ahead of the queue). */
    void (*on_open)(struct wsconn *c, void *user);
    /* One complete text message (fragments reassembled; at most 1 MiB, larger closes), or with
     * lines, one line of it. buf is NUL-terminated. */
    void (*on_message)(struct wsconn *c, void *user, const char *buf, size_t len);
    /* The socket closed or a connection attempt failed (also one that timed out: connect or
     * upgrade unanswered). code is the peer's close code (e.g. 4401, 1001) or 0 when there was
     * none (refused, reset, timeout); reason may be "". If
     * reconnecting, on_state follows with WSCONN_RECONNECTING. */
    void (*on_close)(struct wsconn *c, void *user, int code, const char *reason);
    /* The state changed (also each new reconnect attempt). */
    void (*on_state)(struct wsconn *c, void *user, enum wsconn_state st);
};

/* Starts connecting. Returns NULL (and err text in errbuf) for a malformed URL or one that
 * wsurl_usable refuses. */
struct wsconn *wsconn_new(struct wsloop *loop, const struct wsconn_config *cfg, char *errbuf,
                          size_t errlen);
/* Queues a text message (copied) to be sent in order while open; messages queued while not open
 * wait for the next open. Returns 0, or -1 when the queue is full. */
int wsconn_send(struct wsconn *c, const char *buf, size_t len);
/* Like wsconn_send, but ahead of everything queued (hello on open). */
int wsconn_send_first(struct wsconn *c, const char *buf, size_t len);
/* Like wsconn_send, as a binary frame (felt.v1 has none: for tests of bad input). */
int wsconn_send_binary(struct wsconn *c, const void *buf, size_t len);
size_t wsconn_queued(const struct wsconn *c);
/* Drops every queued message (e.g. after the server refused the session). */
void wsconn_clear_queue(struct wsconn *c);
enum wsconn_state wsconn_state(const struct wsconn *c);
/* Which URL the current (or next) attempt is for: 0 for url, i for alt_urls[i - 1]. */
int wsconn_url_index(const struct wsconn *c);
/* From on_close: the next attempt goes to the next URL even though this socket was open (the
 * caller found its server broken: open, but not answering as it should). */
void wsconn_skip_url(struct wsconn *c);
/* Reconnect attempt number (1 for the first retry) and ms until it, while RECONNECTING. */
void wsconn_retry_info(const struct wsconn *c, int *attempt, int64_t *next_in_ms);
/* Drops the socket now (as if the network failed) without closing it cleanly; with reconnect on,
 * a new attempt follows. While waiting to reconnect, starts the next attempt now. For tests and
 * for "reconnect now". */
void wsconn_drop(struct wsconn *c);
/* Closes cleanly with code (1000 normal) and stops reconnecting; frees on the loop later. No
 * callback of c runs after this call, and c must not be used once it returns (also valid from
 * inside c's own callbacks). */
void wsconn_close(struct wsconn *c, int code, const char *reason);
/* Bytes received on the wire (after compression) and as payload, for the benchmark. wire_in
 * counts TCP payload bytes (WebSocket framing and the HTTP upgrade included) over every socket
 * this connection has had; payload_in the message bytes after inflating. */
void wsconn_bytes(const struct wsconn *c, uint64_t *wire_in, uint64_t *payload_in);
/* Text messages (frames, with fragments joined) received over every socket this connection has
 * had; with lines, several of on_message's calls may come from one. */
uint64_t wsconn_frames_in(const struct wsconn *c);
/* True while the current socket negotiated permessage-deflate. */
bool wsconn_compressed(const struct wsconn *c);

/* ---- one-shot HTTP (the polling fallback, join) ---------------------------------------- */

struct wshttp_result {
    int status;        /* HTTP status, or 0 if the request failed (see error) */
    const char *body;  /* NUL-terminated, at most 4 MiB */
    size_t body_len;
    const char *error; /* non-NULL when status == 0 */
};

/* GET (body NULL) or POST (body JSON) to an http:// or https:// URL, with an optional bearer
 * token. cb runs once, on the loop (never from inside this call); the result and its body are
 * valid only during cb. Returns a handle for wshttp_cancel, or NULL for a malformed URL (or one
 * that wsurl_usable refuses). The handle is the caller's until cb has returned (it is freed
 * then: forget it in cb) or until wshttp_cancel. After wsloop_free a pending handle is inert: cb
 * never runs, and wshttp_cancel still frees it (as wstimer_free does a timer's). */
struct wshttp *wshttp_start(struct wsloop *loop, const char *url, const char *body,
                            const char *bearer,
                            void (*cb)(void *arg, const struct wshttp_result *r), void *arg);
/* Withdraws a request: cb is never called, the socket (if any) is dropped, and the memory is
 * freed (lws keeps no pointer to it). NULL is allowed; so is a call from inside the request's own
 * cb (then nothing changes: the request is over anyway). */
void wshttp_cancel(struct wshttp *h);
/* wshttp_start without a handle (fire and forget: cb always runs, unless the loop is freed
 * first). Returns 0 or -1 for a URL wshttp_start refuses. */
int wshttp_request(struct wsloop *loop, const char *url, const char *body, const char *bearer,
                   void (*cb)(void *arg, const struct wshttp_result *r), void *arg);

#endif
