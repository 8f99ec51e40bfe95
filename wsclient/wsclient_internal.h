/*
 * wsclient_internal.h: what the files of felt_wsclient share, and nothing any user of the library
 * sees (their contract is wsclient.h). Organised by file: wsloop.c (the context, the slots for
 * work in flight, the one connect helper, timers, adopted descriptors), wsconn.c (WebSocket
 * connections), wshttp.c (HTTP requests), wsurl.c (the URL parser).
 *
 * The lws rules every file keeps: we write only from WRITEABLE callbacks, one lws_write per
 * callback, from buffers allocated with LWS_PRE bytes of headroom up front; queues are bounded;
 * timers are lws_sul; reconnects wait as the loop's lws_retry_bo_t says. Every wsi carries a
 * single pointer to our own object in lws's opaque user data, set when the wsi is created (so it
 * is there for the very first callback); an object is detached from its wsi (pointer cleared)
 * before it is freed, and lws callbacks that find no object do nothing.
 */
#ifndef FELT_WSCLIENT_INTERNAL_H
#define FELT_WSCLIENT_INTERNAL_H

#include <signal.h>

#include <libwebsockets.h>

struct ev_loop;

#include "util.h"
#include "wsclient.h"

/* The loop's three lws protocols (WebSocket first: lws asks protocols[0] which extensions a
 * client may offer). */
#define WSLOOP_PROTO_WS "felt-ws-client"
#define WSLOOP_PROTO_HTTP "felt-http-client"
#define WSLOOP_PROTO_FD "felt-fd"

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

/* ---- wsloop.c ---------------------------------------------------------------------------- */

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

struct wsloop {
    struct lws_context *ctx;
    struct ev_loop *ev;             /* our libev loop lent to lws (wsloop_config.libev), or NULL */
    struct lws_vhost *vhost;
    volatile sig_atomic_t stop;
    bool quiet;
    bool freeing;                   /* inside wsloop_free: no user callback any more */
    lws_retry_bo_t policy;          /* backoff and heartbeat of every WebSocket */
    char *ca_file;                  /* wsloop_config.ca_file (ours), or NULL: the system's */
    int max_connecting, connecting; /* slots: see struct wsslot */
    struct wsslot *wait_head, *wait_tail;
    struct wsconn *conns, *dead;
    struct wshttp *https;
    struct wsfd *fds;
    struct wstimer *timers;
    lws_sorted_usec_list_t reap_sul; /* frees the dead connections (wsconn.c) */
};

/* True if s holds a slot (taking a free one); otherwise s waits in the queue and its start
 * callback runs again when a slot frees up. */
bool wsloop_slot_acquire(struct wsloop *loop, struct wsslot *s);
/* Leaves the queue and gives back the slot, if held, starting the next waiter. */
void wsloop_slot_release(struct wsloop *loop, struct wsslot *s);

/* The one place that fills struct lws_client_connect_info: connects to u as a WebSocket (method
 * NULL: subprotocol offered, the loop's retry and heartbeat policy) or as an HTTP request
 * (method "GET" or "POST"). opaque becomes the wsi's opaque user data; *pwsi gets the wsi early.
 * *in_connect is true during the lws call (callbacks may run from inside it); *failed is set
 * by the caller's callbacks when the attempt failed in there. Returns lws's wsi or NULL. */
struct lws *wsloop_connect(struct wsloop *loop, const struct wsurl *u, const char *method,
                           const char *subprotocol, void *opaque, struct lws **pwsi,
                           bool *in_connect, bool *failed);

/* Copies lws's error text (in, len; len may be 0 for a NUL-terminated string) into out. */
void wsloop_in_text(char *out, size_t outsz, const void *in, size_t len);

/* LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION, which lws sends to protocols[0] (so to
 * wsconn_callback) for every certificate of every TLS socket, WebSocket or HTTP, while OpenSSL
 * checks it: when preverify_ok is 0 (no trusted chain, or another host's certificate), marks the
 * socket's object, by the protocol the wsi is bound to, so that its failure reads
 * WSCLIENT_CERT_UNVERIFIED. Never changes OpenSSL's verdict. */
void wsloop_cert_verify(struct lws *wsi, int preverify_ok);

/* ---- wsconn.c ---------------------------------------------------------------------------- */

int wsconn_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);
/* wsi's connection (if any) failed the certificate check: its attempt's reason will say so. */
void wsconn_cert_failed(struct lws *wsi);
/* For wsloop_free: silences every connection, then frees all once lws closed their sockets. */
void wsconn_loop_freeing(struct wsloop *loop);
void wsconn_loop_freed(struct wsloop *loop);

/* ---- wshttp.c ---------------------------------------------------------------------------- */

int wshttp_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);
/* wsi's request (if any) failed the certificate check: its error will say so. */
void wshttp_cert_failed(struct lws *wsi);
/* For wsloop_free: stops requests waiting to start; once lws closed their sockets, frees those
 * nobody holds and makes held ones inert (wshttp_cancel frees them). */
void wshttp_loop_freeing(struct wsloop *loop);
void wshttp_loop_freed(struct wsloop *loop);

#endif
