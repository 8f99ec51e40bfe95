/*
 * wshttp.c: one-shot HTTP requests of felt_wsclient (contract in wsclient.h): the session's join
 * and probe, the polling transport, the benchmark and the black-box tests. A request starts from
 * an lws_sul timer (never inside wshttp_start), waits for one of the loop's slots, connects
 * through the loop's one connect helper (wsloop_connect), writes its POST body in one lws_write
 * from the WRITEABLE callback (the body was copied with LWS_PRE headroom up front), and collects
 * at most 4 MiB of answer. Every request ends: besides lws's own timeouts (connect, the
 * server's first answer), a whole request has WSHTTP_DEADLINE_MS from its connect to its last
 * byte, so an answer that stops halfway (a stalled server or network) fails too.
 *
 * Requests are cancellable: the caller holds the struct wshttp until its callback has run or it
 * calls wshttp_cancel. Cancelling detaches the object from its wsi (lws callbacks that find no
 * object do nothing), asks lws to kill the socket, and frees the object at once: lws keeps no
 * pointer to it. So a caller that goes away cancels what it started, and needs no list of
 * orphaned requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsclient_internal.h"

#define WSHTTP_MAX_BODY (4u << 20) /* largest HTTP response body */
#define WSHTTP_DEADLINE_MS 30000   /* a whole request, from the connect to the last byte */

struct wshttp {
    struct wsloop *loop; /* NULL once the loop is gone (an inert handle) */
    struct wshttp *prev, *next;
    char *url;
    struct wsurl u; /* points into url */
    struct lws *wsi;
    lws_sorted_usec_list_t sul; /* starts the request from the loop */
    lws_sorted_usec_list_t deadline_sul; /* WSHTTP_DEADLINE_MS after the connect */
    struct wsslot slot;
    bool post;
    unsigned char *body; /* LWS_PRE + body_len */
    size_t body_len;
    char *bearer;
    void (*cb)(void *arg, const struct wshttp_result *r);
    void *arg;
    bool held;  /* the caller holds the handle (wshttp_start, not wshttp_request) */
    bool in_cb; /* inside cb: wshttp_cancel is then a no-op */
    bool in_connect, failed_in_connect;
    bool cert_failed; /* the TLS certificate failed the check */
    int status;
    char *resp;
    size_t resp_len, resp_cap;
};

static void wshttp_free(struct wshttp *h)
{
    if (h->loop) {
        lws_sul_cancel(&h->sul);
        lws_sul_cancel(&h->deadline_sul);
        wsloop_slot_release(h->loop, &h->slot);
        WS_UNLINK(h->loop->https, h);
    }
    free(h->url);
    free(h->body);
    if (h->bearer) explicit_bzero(h->bearer, strlen(h->bearer));
    free(h->bearer);
    free(h->resp);
    free(h);
}

static void wshttp_detach(struct wshttp *h)
{
    if (h->wsi) {
        lws_set_opaque_user_data(h->wsi, NULL);
        h->wsi = NULL;
    }
}

/* Answers the request once (error NULL: success) and frees it. While the loop is being freed
 * nobody is answered, and wshttp_loop_freed settles the memory. */
static void wshttp_finish(struct wshttp *h, const char *error)
{
    struct wshttp_result r;
    wshttp_detach(h);
    if (h->loop->freeing) return;
    /* However lws words it, a certificate that failed the check is the reason. */
    if (h->cert_failed && error) error = WSCLIENT_CERT_UNVERIFIED;
    if (h->in_connect) h->failed_in_connect = true;
    wsloop_slot_release(h->loop, &h->slot);
    memset(&r, 0, sizeof(r));
    if (!h->resp) h->resp = xcalloc(1, 1);
    r.status = error ? 0 : h->status;
    r.body = h->resp;
    r.body_len = h->resp_len;
    r.error = error;
    if (!error && h->status == 0) r.error = "no HTTP status";
    h->in_cb = true;
    h->cb(h->arg, &r);
    h->in_cb = false;
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

void wshttp_cert_failed(struct lws *wsi)
{
    struct wshttp *h = lws_get_opaque_user_data(wsi);
    if (h && h->wsi == wsi) h->cert_failed = true;
}

int wshttp_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
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
            wsloop_in_text(why, sizeof(why), in, len);
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

/* The request is not over after WSHTTP_DEADLINE_MS: its socket is let go and it fails. */
static void wshttp_deadline_cb(lws_sorted_usec_list_t *sul)
{
    struct wshttp *h = lws_container_of(sul, struct wshttp, deadline_sul);
    struct lws *wsi = h->wsi;
    wshttp_finish(h, "timed out"); /* detaches (and frees) h */
    if (wsi) lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static void wshttp_start_cb(lws_sorted_usec_list_t *sul)
{
    struct wshttp *h = lws_container_of(sul, struct wshttp, sul);

    if (!wsloop_slot_acquire(h->loop, &h->slot)) return;
    lws_sul_schedule(h->loop->ctx, 0, &h->deadline_sul, wshttp_deadline_cb,
                     (lws_usec_t)WSHTTP_DEADLINE_MS * LWS_US_PER_MS);
    struct lws *wsi = wsloop_connect(h->loop, &h->u, h->post ? "POST" : "GET", NULL, h, &h->wsi,
                                     &h->in_connect, &h->failed_in_connect);
    if (h->failed_in_connect) {
        wshttp_free(h); /* answered from inside the connect call */
        return;
    }
    if (!wsi) wshttp_finish(h, "cannot start a connection");
}

struct wshttp *wshttp_start(struct wsloop *loop, const char *url, const char *body,
                            const char *bearer,
                            void (*cb)(void *arg, const struct wshttp_result *r), void *arg)
{
    struct wsurl u;
    if (wsurl_parse(&u, url, NULL, 0) != 0 || !u.http || wsurl_usable(&u, url, NULL, 0) != 0)
        return NULL;
    struct wshttp *h = xcalloc(1, sizeof(*h));
    h->loop = loop;
    h->url = xstrdup(url);
    if (wsurl_parse(&h->u, h->url, NULL, 0) != 0) felt_fatal("wshttp: URL changed under us");
    h->cb = cb;
    h->arg = arg;
    h->held = true;
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
    return h;
}

int wshttp_request(struct wsloop *loop, const char *url, const char *body, const char *bearer,
                   void (*cb)(void *arg, const struct wshttp_result *r), void *arg)
{
    struct wshttp *h = wshttp_start(loop, url, body, bearer, cb, arg);
    if (!h) return -1;
    h->held = false;
    return 0;
}

void wshttp_cancel(struct wshttp *h)
{
    if (!h || h->in_cb) return;
    FELT_ASSERT(!h->in_connect); /* only its own callbacks run inside its connect call */
    if (h->wsi) {
        struct lws *wsi = h->wsi;
        wshttp_detach(h);
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
    wshttp_free(h);
}

/* ---- the loop is going away ---------------------------------------------------------------- */

void wshttp_loop_freeing(struct wsloop *loop)
{
    for (struct wshttp *h = loop->https; h; h = h->next) {
        lws_sul_cancel(&h->sul);
        lws_sul_cancel(&h->deadline_sul);
    }
}

void wshttp_loop_freed(struct wsloop *loop)
{
    while (loop->https) {
        struct wshttp *h = loop->https;
        h->wsi = NULL;
        wsloop_slot_release(loop, &h->slot);
        WS_UNLINK(loop->https, h);
        h->loop = NULL;
        if (!h->held) wshttp_free(h); /* a held one waits for wshttp_cancel */
    }
}
