/*
 * harness.c: the black-box harness for feltd (see harness.h): the server process, the
 * deadline-bounded event loop, synchronous HTTP and recording WebSocket clients.
 */
#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listenproc.h"
#include "util.h"

/* ---- the server process ------------------------------------------------------------------ */

/* The limits against abusive clients (docs/security.md) count every client of a test as one
 * address, 127.0.0.1; tests that are not about those limits turn them off (0), so that a dozen
 * players from one address can join, chat and sit out as before. Later arguments override. */
static const char *const feltd_test_limits[] = {
    "--joins-per-minute", "0", "--seats-per-address", "0", "--max-conns-per-address", "0",
    "--chat-per-address", "0", "--chat-per-table", "0", "--sitout-hands", "0",
    "--poll-max-events", "0", "--spectator-chat", NULL,
};

int feltd_start(struct feltd *f, const char *path, const char *const *args)
{
    return feltd_start_ex(f, path, args, true);
}

int feltd_start_ex(struct feltd *f, const char *path, const char *const *args, bool test_limits)
{
    size_t n = 0, nargs = 0;
    struct listenproc p;

    memset(f, 0, sizeof(*f));
    f->out_fd = -1;
    snprintf(f->log, sizeof(f->log), "/tmp/feltd-log-XXXXXX");
    int log_fd = mkstemp(f->log);
    if (log_fd < 0) return -1;
    while (args && args[nargs])
        nargs++;
    const char **argv = xcalloc(6 + FELT_ARRAY_LEN(feltd_test_limits) + nargs, sizeof(*argv));
    argv[n++] = path;
    argv[n++] = "--host";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--port";
    argv[n++] = "0";
    for (size_t i = 0; test_limits && feltd_test_limits[i]; i++)
        argv[n++] = feltd_test_limits[i];
    for (size_t i = 0; i < nargs; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int rc = listenproc_start(&p, argv, log_fd, SIGKILL, BB_TIMEOUT_MS);
    free(argv);
    close(log_fd);
    if (rc != 0) {
        char *log = feltd_log(f); /* why it did not come up */
        fputs(log, stderr);
        free(log);
        unlink(f->log);
        return -1;
    }
    f->pid = p.pid;
    f->out_fd = p.out_fd;
    f->port = p.port;
    return 0;
}

int feltd_stop(struct feltd *f, int sig)
{
    struct listenproc p = {.pid = f->pid, .out_fd = f->out_fd, .port = f->port};
    if (f->pid <= 0) return -1;
    int st = listenproc_stop(&p, sig, NULL, 0, BB_TIMEOUT_MS);
    f->out_fd = -1;
    f->pid = 0;
    char *log = feltd_log(f); /* into this test's output, as if feltd had shared our stderr */
    fputs(log, stderr);
    free(log);
    unlink(f->log);
    return st;
}

char *feltd_log(const struct feltd *f)
{
    size_t len = 0, cap = 4096;
    char *s = xmalloc(cap);
    FILE *fp = fopen(f->log, "r");
    while (fp) {
        size_t n = fread(s + len, 1, cap - len - 1, fp);
        len += n;
        if (n == 0) break;
        if (len == cap - 1) s = xrealloc(s, cap *= 2);
    }
    if (fp) fclose(fp);
    s[len] = '\0';
    return s;
}

bool feltd_running(struct feltd *f)
{
    struct pollfd p = {.fd = f->out_fd, .events = POLLIN};
    if (f->pid <= 0) return false;
    /* feltd writes nothing after its first line: readable means EOF, i.e. it exited. */
    return poll(&p, 1, 0) == 0;
}

/* ---- the environment --------------------------------------------------------------------- */

struct http_wait {
    struct http_wait *next;
    bool done;
    struct http_reply r;
    struct bb *bb;
};

/* Every tc and pending HTTP request, freed by bb_stop. */
static struct tc **bb_clients;
static size_t bb_nclients;
static struct http_wait *bb_http_waits;

static void bb_deadline_fire(void *arg)
{
    struct bb *bb = arg;
    bb->timed_out = true;
    wsloop_stop(bb->loop);
}

int bb_start(struct bb *bb, const char *feltd_path, const char *const *args)
{
    return bb_start_ex(bb, feltd_path, args, true);
}

int bb_start_ex(struct bb *bb, const char *feltd_path, const char *const *args, bool test_limits)
{
    struct wsloop_config lc = {.max_conns = 64, .quiet = false};
    memset(bb, 0, sizeof(*bb));
    bb->feltd_path = feltd_path;
    if (feltd_start_ex(&bb->srv, feltd_path, args, test_limits) != 0) return -1;
    snprintf(bb->http, sizeof(bb->http), "http://127.0.0.1:%d", bb->srv.port);
    snprintf(bb->ws, sizeof(bb->ws), "ws://127.0.0.1:%d", bb->srv.port);
    bb->loop = wsloop_new(&lc);
    if (!bb->loop) {
        feltd_stop(&bb->srv, SIGKILL);
        return -1;
    }
    bb->deadline = wstimer_new(bb->loop, bb_deadline_fire, bb);
    return 0;
}

int bb_stop(struct bb *bb)
{
    while (bb_nclients > 0)
        tc_free(bb_clients[bb_nclients - 1]);
    free(bb_clients);
    bb_clients = NULL;
    wstimer_free(bb->deadline);
    bb->deadline = NULL;
    wsloop_free(bb->loop);
    bb->loop = NULL;
    while (bb_http_waits) {
        struct http_wait *w = bb_http_waits;
        bb_http_waits = w->next;
        http_reply_free(&w->r);
        free(w);
    }
    return feltd_stop(&bb->srv, SIGTERM);
}

void bb_turn(struct bb *bb)
{
    wsloop_run(bb->loop);
}

void bb_deadline_start(struct bb *bb, int ms)
{
    bb->timed_out = false;
    wstimer_arm(bb->deadline, ms);
}

void bb_deadline_stop(struct bb *bb)
{
    wstimer_cancel(bb->deadline);
}

/* ---- synchronous HTTP -------------------------------------------------------------------- */

static void bb_http_done(void *arg, const struct wshttp_result *res)
{
    struct http_wait *w = arg;
    w->done = true;
    w->r.status = res->status;
    w->r.len = res->body_len;
    w->r.body = xstrndup(res->body ? res->body : "", res->body_len);
    if (res->status == 0)
        fprintf(stderr, "harness: HTTP request failed: %s\n", res->error ? res->error : "?");
    wsloop_stop(w->bb->loop);
}

void bb_http(struct bb *bb, const char *path, const char *body, const char *bearer,
             struct http_reply *r)
{
    char url[512];
    struct http_wait *w = xcalloc(1, sizeof(*w));
    w->bb = bb;
    w->next = bb_http_waits; /* freed by bb_stop, even if the answer never comes */
    bb_http_waits = w;
    memset(r, 0, sizeof(*r));
    snprintf(url, sizeof(url), "%s%s", bb->http, path);
    if (wshttp_request(bb->loop, url, body, bearer, bb_http_done, w) != 0) return;
    if (!BB_WAIT(bb, w->done, BB_TIMEOUT_MS)) return;
    *r = w->r;
    memset(&w->r, 0, sizeof(w->r));
    r->json = jval_parse(r->body, r->len);
}

void http_reply_free(struct http_reply *r)
{
    free(r->body);
    json_object_put(r->json);
    memset(r, 0, sizeof(*r));
}

/* ---- recording clients ------------------------------------------------------------------- */

static void tc_bad(struct tc *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tc_bad(struct tc *t, const char *fmt, ...)
{
    va_list ap;
    if (t->bad++ == 0) {
        va_start(ap, fmt);
        vsnprintf(t->bad_text, sizeof(t->bad_text), fmt, ap);
        va_end(ap);
    }
}

static void tc_on_open(struct wsconn *c, void *user)
{
    struct tc *t = user;
    t->opens++;
    if (t->hello_on_open) {
        struct proto_cmsg m;
        memset(&m, 0, sizeof(m));
        m.type = PROTO_C_HELLO;
        memcpy(m.token, t->token, strnlen(t->token, sizeof(m.token) - 1));
        if (t->resume && t->max_seq > 0) {
            m.has_last_seq = true;
            m.last_seq = t->max_seq;
        }
        snprintf(m.epoch, sizeof(m.epoch), "%s", t->epoch);
        char *s = proto_encode_client(&m);
        if (wsconn_send_first(c, s, strlen(s)) != 0) tc_bad(t, "hello did not fit in the queue");
        free(s);
    }
    wsloop_stop(t->bb->loop);
}

/* Autoplay: our turn, with the options from the last to_act. */
static void tc_autoplay(struct tc *t, const struct wire_notification *note)
{
    const struct wire_to_act *ta = &t->to_act;
    if (!ta->present || strcmp(ta->player_id, t->player_id) != 0 ||
        ta->deadline != note->deadline) {
        t->turns_without_options++;
        return;
    }
    const char *a = ta->can_check ? "check" : t->play == TC_PLAY_FOLD ? "fold" : "call";
    tc_act(t, a, 0, t->to_act_hand, NULL);
    t->actions_sent++;
}

static void tc_on_message(struct wsconn *c, void *user, const char *buf, size_t len)
{
    struct tc *t = user;
    struct proto_smsg sm;
    struct felt_err err;
    memset(&sm, 0, sizeof(sm));
    if (proto_decode_server(buf, len, &sm, &err) != 0) {
        tc_bad(t, "undecodable server message (%s): %.100s", err.message, buf);
        wsloop_stop(t->bb->loop);
        return;
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->msgs = xrealloc(t->msgs, t->cap * sizeof(*t->msgs));
    }
    struct rmsg *m = &t->msgs[t->n++];
    m->raw = xstrndup(buf, len);
    m->len = len;
    m->type = sm.type;
    m->has_seq = sm.has_seq;
    m->seq = sm.seq;
    m->data = sm.data; /* ownership moves to the record */
    m->session = t->opens;
    m->frame = wsconn_frames_in(c);
    if (m->has_seq) t->max_seq = m->seq;

    /* Every message must satisfy the one decoder felt uses (common/wire.c): what the server
     * sends and what its clients read are checked against each other in every black-box test. */
    struct wire_event *ev = xmalloc(sizeof(*ev));
    if (wire_decode(&sm, ev, &err) != 0) {
        tc_bad(t, "the wire decoder refuses a server message (%s): %.300s", err.message, buf);
    } else if (ev->kind == WIRE_SNAPSHOT || wire_stype(ev->kind) == PROTO_S_STATE_UPDATE) {
        t->to_act = ev->to_act; /* with the hand it belongs to, for the action's hand_id */
        t->to_act_hand = ev->hand_id;
    } else if (ev->kind == WIRE_NOTIFICATION && ev->u.note.kind == WIRE_NOTE_YOUR_TURN &&
               t->play != TC_PLAY_NONE) {
        tc_autoplay(t, &ev->u.note);
    } else if (ev->kind == WIRE_ACK && t->play != TC_PLAY_NONE && !ev->u.ack.accepted &&
               ev->u.ack.has_request_id) {
        tc_bad(t, "autoplay action rejected: %.200s", buf);
    }
    free(ev);
    wsloop_stop(t->bb->loop);
}

static void tc_on_close(struct wsconn *c, void *user, int code, const char *reason)
{
    struct tc *t = user;
    (void)c;
    t->closes++;
    t->close_code = code;
    snprintf(t->close_reason, sizeof(t->close_reason), "%s", reason ? reason : "");
    wsloop_stop(t->bb->loop);
}

static void tc_on_state(struct wsconn *c, void *user, enum wsconn_state st)
{
    struct tc *t = user;
    (void)c;
    (void)st;
    wsloop_stop(t->bb->loop);
}

static struct tc *tc_open(struct bb *bb, const char *name, const char *path, bool reconnect,
                          bool player, const char *player_id, const char *token)
{
    struct tc *t = xcalloc(1, sizeof(*t));
    char url[256], err[128];
    struct wsconn_config cfg;
    t->bb = bb;
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->player = player;
    if (player_id) snprintf(t->player_id, sizeof(t->player_id), "%s", player_id);
    if (token) snprintf(t->token, sizeof(t->token), "%s", token);
    t->hello_on_open = player && token;
    snprintf(url, sizeof(url), "%s%s", bb->ws, path);
    memset(&cfg, 0, sizeof(cfg));
    cfg.url = url;
    cfg.subprotocol = PROTO_SUBPROTOCOL_BATCH;
    cfg.lines = true;
    cfg.deflate = !bb->no_deflate;
    cfg.reconnect = reconnect;
    cfg.max_queue = 256;
    cfg.user = t;
    cfg.on_open = tc_on_open;
    cfg.on_message = tc_on_message;
    cfg.on_close = tc_on_close;
    cfg.on_state = tc_on_state;
    t->ws = wsconn_new(bb->loop, &cfg, err, sizeof(err));
    if (!t->ws) tc_bad(t, "wsconn_new: %s", err);
    bb_clients = xrealloc(bb_clients, (bb_nclients + 1) * sizeof(*bb_clients));
    bb_clients[bb_nclients++] = t;
    return t;
}

struct tc *tc_spectator(struct bb *bb, const char *name, const char *game, bool reconnect)
{
    char path[128];
    snprintf(path, sizeof(path), "/ws/spectate/%s", game);
    return tc_open(bb, name, path, reconnect, false, NULL, NULL);
}

struct tc *tc_player(struct bb *bb, const char *name, const char *game, const char *player_id,
                     const char *token, bool reconnect)
{
    char path[128];
    snprintf(path, sizeof(path), "/ws/game/%s/%s", game, player_id);
    return tc_open(bb, name, path, reconnect, true, player_id, token);
}

struct tc *tc_join(struct bb *bb, const char *name, const char *game, bool reconnect)
{
    char path[128], body[128];
    struct http_reply r;
    struct tc *t = NULL;
    snprintf(path, sizeof(path), "/api/games/%s/join", game);
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    bb_http(bb, path, body, NULL, &r);
    if (r.status == 200 && jval_str(r.json, "player_id") && jval_str(r.json, "token"))
        t = tc_player(bb, name, game, jval_str(r.json, "player_id"), jval_str(r.json, "token"), reconnect);
    else
        fprintf(stderr, "harness: join of %s failed: %d %s\n", name, r.status,
                r.body ? r.body : "");
    http_reply_free(&r);
    return t;
}

void tc_free(struct tc *t)
{
    if (!t) return;
    for (size_t i = 0; i < bb_nclients; i++) {
        if (bb_clients[i] == t) {
            bb_clients[i] = bb_clients[--bb_nclients];
            break;
        }
    }
    if (t->ws) wsconn_close(t->ws, 1000, "bye");
    if (getenv("BB_DUMP")) /* debugging aid: every message each client received */
        for (size_t i = 0; i < t->n; i++)
            fprintf(stderr, "[%s #%d] %s\n", t->name, t->msgs[i].session, t->msgs[i].raw);
    for (size_t i = 0; i < t->n; i++) {
        free(t->msgs[i].raw);
        json_object_put(t->msgs[i].data);
    }
    free(t->msgs);
    free(t);
}

void tc_send(struct tc *t, const char *json)
{
    if (wsconn_send(t->ws, json, strlen(json)) != 0) tc_bad(t, "send queue full");
}

const char *tc_act(struct tc *t, const char *action, int64_t amount, int64_t hand_id,
                   const char *request_id)
{
    static char rid[PROTO_REQUEST_ID_MAX + 1];
    struct proto_cmsg m;
    memset(&m, 0, sizeof(m));
    m.type = PROTO_C_ACTION;
    if (strcmp(action, "fold") == 0)
        m.action = ENGINE_FOLD;
    else if (strcmp(action, "check") == 0)
        m.action = ENGINE_CHECK;
    else if (strcmp(action, "call") == 0)
        m.action = ENGINE_CALL;
    else if (strcmp(action, "raise") == 0)
        m.action = ENGINE_RAISE;
    else
        m.action = ENGINE_ALL_IN;
    if (amount > 0) {
        m.has_amount = true;
        m.amount = amount;
    }
    if (hand_id >= 0) {
        m.has_hand_id = true;
        m.hand_id = hand_id;
    }
    if (request_id)
        snprintf(rid, sizeof(rid), "%s", request_id);
    else
        snprintf(rid, sizeof(rid), "%s-%d", t->name, ++t->request_counter);
    snprintf(m.request_id, sizeof(m.request_id), "%s", rid);
    char *s = proto_encode_client(&m);
    tc_send(t, s);
    free(s);
    return rid;
}

/* ---- queries ----------------------------------------------------------------------------- */

size_t tc_count(const struct tc *t, enum proto_stype type)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += t->msgs[i].type == type;
    return n;
}

long tc_find(const struct tc *t, size_t from, enum proto_stype type, const char *key,
             const char *val)
{
    for (size_t i = from; i < t->n; i++) {
        if (t->msgs[i].type != type) continue;
        if (!key) return (long)i;
        const char *s = jval_str(t->msgs[i].data, key);
        if (s && strcmp(s, val) == 0) return (long)i;
    }
    return -1;
}

json_object *tc_last(const struct tc *t, enum proto_stype type, const char *key, const char *val)
{
    for (size_t i = t->n; i-- > 0;) {
        if (t->msgs[i].type != type) continue;
        const char *s = key ? jval_str(t->msgs[i].data, key) : NULL;
        if (!key || (s && strcmp(s, val) == 0)) return t->msgs[i].data;
    }
    return NULL;
}

size_t tc_count_updates(const struct tc *t, const char *event, const char *player_id)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct rmsg *m = &t->msgs[i];
        const char *ev = jval_str(m->data, "event"), *pid = jval_str(m->data, "player_id");
        if (m->type != PROTO_S_STATE_UPDATE || !ev || strcmp(ev, event) != 0) continue;
        if (player_id && (!pid || strcmp(pid, player_id) != 0)) continue;
        n++;
    }
    return n;
}

long tc_find_note(const struct tc *t, size_t from, const char *kind, const char *player_id)
{
    for (size_t i = from; i < t->n; i++) {
        const struct rmsg *m = &t->msgs[i];
        const char *k = jval_str(m->data, "kind"), *p = jval_str(m->data, "player_id");
        if (m->type == PROTO_S_NOTIFICATION && k && strcmp(k, kind) == 0 &&
            (!player_id || (p && strcmp(p, player_id) == 0)))
            return (long)i;
    }
    return -1;
}

long bb_rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    fclose(f);
    return kib;
}
