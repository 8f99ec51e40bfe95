/*
 * wsloop.c: the loop of felt_wsclient (contract in wsclient.h): one lws context per struct wsloop,
 * its event loop, the slots that bound connection attempts in flight, the one helper that fills
 * struct lws_client_connect_info for WebSockets (wsconn.c) and HTTP requests (wshttp.c) alike,
 * timers (wstimer_*, on lws_sul) and adopted file descriptors (wsfd: stdin).
 *
 * The context has three protocols: WebSocket connections (first, because lws asks protocols[0]
 * which extensions a client may offer), HTTP requests and adopted descriptors; each wsi carries
 * only a pointer to our object. wsloop_run() sleeps in lws_service() until a socket or a timer is
 * due: no busy loop. Reconnect backoff and the WebSocket heartbeat are one lws_retry_bo_t (500 ms
 * doubling to 8 s, plus up to 20 % jitter, so never more than 10 s between attempts, forever),
 * kept here and used by wsconn.c.
 *
 * User callbacks are never called from inside the API call that caused them (connection attempts
 * and HTTP requests start from a timer), so callers need not be re-entrant.
 *
 * TLS: the context's client SSL_CTX trusts either the system's store or only the caller's CA
 * file (wsloop_config.ca_file), and lws checks the chain and the URL's host on every socket
 * (LCCSCF_USE_SSL without any of the ALLOW_* or SKIP_* flags). A certificate that fails is
 * reported through LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION (wsloop_cert_verify),
 * so the attempt's error says so instead of OpenSSL's bare "connect SSL err 1".
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

#include "wsclient_internal.h"

#define WSLOOP_DEFAULT_CONNECTING 64 /* connection attempts and HTTP requests in flight */
#define WSLOOP_CA_MAX (1 << 20)      /* bytes: a larger file is not a CA file */
/* The system's CA bundle (Debian's ca-certificates), unless $SSL_CERT_FILE names another: see
 * wsloop_system_ca. */
#define WSLOOP_SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

/* 500 ms doubling to 8 s; the last entry repeats forever (conceal_count never runs out). lws adds
 * up to jitter_percent on top, so the cap, jitter included, is 8 s * 1.2 = 9.6 s: under 10 s. */
#define WSLOOP_JITTER_PERCENT 20
static const uint32_t wsloop_backoff_ms[] = {500, 1000, 2000, 4000, 8000};

struct wstimer {
    lws_sorted_usec_list_t sul; /* first: lws_container_of works either way */
    ev_timer ev;                /* instead of sul on a libev loop (wstimer_arm says why) */
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

/* ---- slots for work in flight ----------------------------------------------------------- */

/* True if s holds a slot (taking a free one); otherwise s waits in the queue and its start
 * callback runs again when a slot frees up. */
bool wsloop_slot_acquire(struct wsloop *loop, struct wsslot *s)
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
void wsloop_slot_release(struct wsloop *loop, struct wsslot *s)
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

/* ---- the one connect helper ------------------------------------------------------------- */

struct lws *wsloop_connect(struct wsloop *loop, const struct wsurl *u, const char *method,
                           const char *subprotocol, void *opaque, struct lws **pwsi,
                           bool *in_connect, bool *failed)
{
    struct lws_client_connect_info i;
    struct lws *wsi;

    memset(&i, 0, sizeof(i));
    i.context = loop->ctx;
    i.vhost = loop->vhost;
    i.address = u->host;
    i.port = u->port;
    i.host = u->host;
    i.path = u->path[0] == '/' ? u->path : "/";
    i.ssl_connection = u->tls ? LCCSCF_USE_SSL : 0;
    i.opaque_user_data = opaque;
    i.pwsi = pwsi;
    if (method) {
        i.method = method;
        i.local_protocol_name = WSLOOP_PROTO_HTTP;
        i.protocol = WSLOOP_PROTO_HTTP;
    } else {
        i.protocol = subprotocol;
        i.local_protocol_name = WSLOOP_PROTO_WS;
        i.retry_and_idle_policy = &loop->policy;
    }
    *in_connect = true;
    *failed = false;
    wsi = lws_client_connect_via_info(&i);
    *in_connect = false;
    if (!wsi) *pwsi = NULL;
    return wsi;
}

/* ---- TLS ------------------------------------------------------------------------------- */

int wsloop_ca_check(const char *path, char *errbuf, size_t errlen)
{
    static const char marker[] = "-----BEGIN CERTIFICATE-----";
    char dummy[8];
    char *buf = NULL;
    struct stat st;
    size_t got = 0;
    ssize_t n;
    int rc = -1;

    if (!errbuf) {
        errbuf = dummy;
        errlen = sizeof(dummy);
    }
    if (!path || !path[0]) {
        snprintf(errbuf, errlen, "no CA file given");
        return -1;
    }
    /* O_NONBLOCK: a FIFO given by mistake is refused below instead of blocking the open. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(errbuf, errlen, "cannot read the CA file '%.200s': %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(errbuf, errlen, "the CA file '%.200s' is not a regular file", path);
        goto out;
    }
    if (st.st_size > WSLOOP_CA_MAX) {
        snprintf(errbuf, errlen, "the CA file '%.200s' is larger than %d bytes", path,
                 WSLOOP_CA_MAX);
        goto out;
    }
    /* One byte more than the limit: a file that grew since fstat is refused too. */
    buf = xmalloc(WSLOOP_CA_MAX + 1);
    while (got <= WSLOOP_CA_MAX && (n = read(fd, buf + got, WSLOOP_CA_MAX + 1 - got)) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            snprintf(errbuf, errlen, "cannot read the CA file '%.200s': %s", path, strerror(errno));
            goto out;
        }
        got += (size_t)n;
    }
    if (got > WSLOOP_CA_MAX) {
        snprintf(errbuf, errlen, "the CA file '%.200s' is larger than %d bytes", path,
                 WSLOOP_CA_MAX);
        goto out;
    }
    if (!memmem(buf, got, marker, sizeof(marker) - 1)) {
        snprintf(errbuf, errlen, "the CA file '%.200s' holds no PEM certificate (%s)", path,
                 marker);
        goto out;
    }
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

/* The file to name as the context's CA file when the caller gives none. lws 4.1.6 (as Debian
 * builds it: LWS_OPENSSL_CLIENT_CERTS "../share") trusts, besides OpenSSL's default paths, a
 * directory ../share relative to the current directory when it is given no CA file: /tmp/share
 * for a felt started in /tmp/x, which anyone on the machine may create. Naming the system bundle
 * skips that directory and changes nothing else, since OpenSSL's default paths (which hold the
 * same bundle, or $SSL_CERT_FILE's) are loaded all the same. It is named even when it does not
 * exist (a system without ca-certificates): lws then logs that it cannot load it (unless quiet)
 * and goes on with OpenSSL's default paths, still without ../share. */
static const char *wsloop_system_ca(void)
{
    const char *env = getenv("SSL_CERT_FILE");
    return env && env[0] ? env : WSLOOP_SYSTEM_CA_FILE;
}

void wsloop_cert_verify(struct lws *wsi, int preverify_ok)
{
    const struct lws_protocols *p = wsi ? lws_get_protocol(wsi) : NULL;
    if (preverify_ok || !p || !p->name) return;
    if (strcmp(p->name, WSLOOP_PROTO_WS) == 0)
        wsconn_cert_failed(wsi);
    else if (strcmp(p->name, WSLOOP_PROTO_HTTP) == 0)
        wshttp_cert_failed(wsi);
}

const char *wsloop_ca_file(const struct wsloop *loop)
{
    return loop->ca_file;
}

/* ---- wire helpers ---------------------------------------------------------------------- */

/* Copies lws's error text (in, len; len may be 0 for a NUL-terminated string) into out. */
void wsloop_in_text(char *out, size_t outsz, const void *in, size_t len)
{
    size_t n = in ? strnlen(in, len ? len : outsz - 1) : 0;
    if (n >= outsz) n = outsz - 1;
    if (n) memcpy(out, in, n);
    out[n] = '\0';
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
    ad.vh_prot_name = WSLOOP_PROTO_FD;
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

static void wstimer_ev_cb(struct ev_loop *evl, ev_timer *w, int revents)
{
    struct wstimer *t = lws_container_of(w, struct wstimer, ev);
    (void)evl;
    (void)revents;
    t->cb(t->arg);
}

struct wstimer *wstimer_new(struct wsloop *loop, void (*cb)(void *arg), void *arg)
{
    struct wstimer *t = xcalloc(1, sizeof(*t));
    t->loop = loop;
    t->cb = cb;
    t->arg = arg;
    ev_timer_init(&t->ev, wstimer_ev_cb, 0., 0.);
    WS_LINK(loop->timers, t);
    return t;
}

/* Stops the timer in whichever form it runs. */
static void wstimer_stop(struct wstimer *t)
{
    if (t->loop->ev)
        ev_timer_stop(t->loop->ev, &t->ev);
    else
        lws_sul_cancel(&t->sul);
}

/* On a libev loop the timer is a libev timer of its own: lws 4.1.6's libev glue moves its one
 * timer earlier with ev_timer_set() on an active watcher, which libev ignores, so an lws_sul
 * armed while a later one is pending fired only at that later time or at the next I/O (one
 * table of felt-bench made 11 actions a second instead of 260). */
void wstimer_arm(struct wstimer *t, int64_t delay_ms)
{
    if (!t->loop) return;
    if (t->loop->ev) {
        ev_timer_stop(t->loop->ev, &t->ev);
        ev_now_update(t->loop->ev);
        ev_timer_set(&t->ev, (double)(delay_ms > 0 ? delay_ms : 0) / 1000.0, 0.);
        ev_timer_start(t->loop->ev, &t->ev);
        return;
    }
    lws_sul_schedule(t->loop->ctx, 0, &t->sul, wstimer_cb,
                     (lws_usec_t)(delay_ms > 0 ? delay_ms : 0) * LWS_US_PER_MS);
}

void wstimer_cancel(struct wstimer *t)
{
    if (t->loop) wstimer_stop(t);
}

void wstimer_free(struct wstimer *t)
{
    if (!t) return;
    if (t->loop) {
        wstimer_stop(t);
        WS_UNLINK(t->loop->timers, t);
    }
    free(t);
}

/* ---- the loop ---------------------------------------------------------------------------- */

static const struct lws_protocols wsloop_protocols[] = {
    /* First: lws asks protocols[0] which extensions each client socket may offer. */
    {WSLOOP_PROTO_WS, wsconn_callback, 0, 0, 0, NULL, 0},
    {WSLOOP_PROTO_HTTP, wshttp_callback, 0, 0, 0, NULL, 0},
    {WSLOOP_PROTO_FD, wsfd_callback, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* client_no_context_takeover: each message we send is compressed on its own. Ours are short,
 * so little is lost, and it lets feltd inflate them with a small window (server/net.c bounds
 * its deflate memory per socket that way). */
static const struct lws_extension wsloop_extensions[] = {
    {"permessage-deflate", lws_extension_callback_pm_deflate,
     "permessage-deflate; client_no_context_takeover; client_max_window_bits"},
    {NULL, NULL, NULL},
};

static void wsloop_log(int level, const char *line)
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
    void *foreign_loops[1];

    if (cfg && cfg->ca_file && wsloop_ca_check(cfg->ca_file, NULL, 0) != 0) return NULL;
    struct wsloop *loop = xcalloc(1, sizeof(*loop));
    loop->quiet = cfg && cfg->quiet;
    if (loop->quiet)
        lws_set_log_level(0, NULL);
    else
        lws_set_log_level(LLL_ERR | LLL_WARN, wsloop_log);
    wsloop_raise_fd_limit(cfg ? cfg->max_conns : 0);

    loop->policy.retry_ms_table = wsloop_backoff_ms;
    loop->policy.retry_ms_table_count = FELT_ARRAY_LEN(wsloop_backoff_ms);
    loop->policy.conceal_count = LWS_RETRY_CONCEAL_ALWAYS;
    if (!cfg || cfg->ping_secs >= 0) {
        loop->policy.secs_since_valid_ping =
            (uint16_t)(cfg && cfg->ping_secs ? cfg->ping_secs : 20);
        loop->policy.secs_since_valid_hangup =
            (uint16_t)(cfg && cfg->hangup_secs > 0 ? cfg->hangup_secs : 60);
    }
    loop->policy.jitter_percent = WSLOOP_JITTER_PERCENT;
    loop->max_connecting =
        cfg && cfg->max_connecting > 0 ? cfg->max_connecting : WSLOOP_DEFAULT_CONNECTING;

    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = wsloop_protocols;
    info.extensions = wsloop_extensions;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.user = loop;
    if (cfg && cfg->ca_file) {
        /* Only the caller's certificates: lws loads no OS store then. */
        loop->ca_file = xstrdup(cfg->ca_file);
        info.client_ssl_ca_filepath = loop->ca_file;
        info.options |= LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
    } else {
        info.client_ssl_ca_filepath = wsloop_system_ca();
    }
    if (cfg && cfg->libev) {
        loop->ev = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
        if (!loop->ev) goto fail;
        foreign_loops[0] = loop->ev;
        info.foreign_loops = foreign_loops;
        info.options |= LWS_SERVER_OPTION_LIBEV;
    }
    loop->ctx = lws_create_context(&info);
    if (!loop->ctx) goto fail;
    loop->vhost = lws_get_vhost_by_name(loop->ctx, "default");
    return loop;
fail:
    if (loop->ev)
        ev_loop_destroy(loop->ev);
    free(loop->ca_file);
    free(loop);
    return NULL;
}

int wsloop_run(struct wsloop *loop)
{
    int rc = 0;
    /* On libev, lws looks at its timers only after an I/O event or one of its timers: one
     * wake-up makes it see those armed outside the loop (before this call). */
    if (loop->ev)
        lws_cancel_service(loop->ctx);
    while (!loop->stop) {
        if (loop->ev)
            ev_run(loop->ev, EVRUN_ONCE);
        else if (lws_service(loop->ctx, 0) < 0) {
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
    wsconn_loop_freeing(loop);
    wshttp_loop_freeing(loop);
    for (struct wstimer *t = loop->timers; t; t = t->next)
        wstimer_stop(t);
    /* Closes every wsi; our callbacks detach the objects (closing ones land on the dead list). */
    lws_context_destroy(loop->ctx);
    if (loop->ev)
        ev_loop_destroy(loop->ev);
    wsconn_loop_freed(loop);
    wshttp_loop_freed(loop);
    while (loop->fds) {
        loop->fds->wsi = NULL;
        wsfd_free(loop->fds);
    }
    while (loop->timers) {
        struct wstimer *t = loop->timers;
        WS_UNLINK(loop->timers, t);
        t->loop = NULL;
    }
    free(loop->ca_file);
    free(loop);
}
