/*
 * hardening_test.c: feltd against hostile clients (issue 8, "hardening feltd against hostile
 * clients"): the HTTP layer (one answer per request, pipelining, Transfer-Encoding, methods,
 * strict bodies), seats (idle and sat-out players stood up, join rate, seats per address, the
 * trusted proxy), connections (per-address cap, descriptor exhaustion, the hello deadline, polls
 * far behind), chat (spectators, per-address and per-table rates, chat never pushing game events
 * out of the resume history, join/leave churn), signals, stale request ids and names.
 *
 * Every case starts the real feltd with its own defaults for the limits (bb_start_ex(..., false))
 * and passes only the options it is about, so each defence is on as a deployment would have it;
 * each case fails if its defence is removed. Raw sockets do what real clients never would:
 * pipeline requests, send a body and more, never read, hold descriptors, never say hello.
 *
 * Usage: hardening_test FELTD_PATH TEST_NAME
 * Waits are bounded (BB_TIMEOUT_MS or less) so a missing event fails instead of hanging. A few
 * cases must let time pass (a seat going idle, the hello deadline, sampling feltd's CPU time to
 * tell a spinning loop from an idle one); each says so where it waits. The CPU bounds are there to
 * catch a busy loop (a whole core), not to measure performance.
 */
#define _GNU_SOURCE /* asprintf, memmem */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "rawws.h"
#include "util.h"

static const char *feltd_path;
static struct bb *running_bb; /* stopped by the teardown when a test fails half-way */
static char wrapper_dir[64];  /* fd_exhaustion's wrapper script, removed by the teardown */

static void wrapper_remove(void)
{
    char path[128];
    if (!wrapper_dir[0]) return;
    snprintf(path, sizeof(path), "%s/feltd-nofile.sh", wrapper_dir);
    unlink(path);
    rmdir(wrapper_dir);
    wrapper_dir[0] = '\0';
}

static int teardown(void **state)
{
    (void)state;
    if (running_bb) bb_stop(running_bb);
    running_bb = NULL;
    wrapper_remove();
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- starting and stopping feltd ------------------------------------------------------------- */

/* Starts path with args and feltd's own defaults for the limits; tables main and other (6 seats)
 * unless args name tables themselves. */
static void start_path(struct bb *bb, const char *path, const char *const *extra)
{
    const char *args[48];
    size_t n = 0;
    bool tables = false;
    for (size_t i = 0; extra && extra[i]; i++)
        tables |= strcmp(extra[i], "--table") == 0;
    if (!tables) {
        args[n++] = "--table";
        args[n++] = "main:6:5/10:1000";
        args[n++] = "--table";
        args[n++] = "other:6:5/10:1000";
    }
    for (size_t i = 0; extra && extra[i] && n < FELT_ARRAY_LEN(args) - 1; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    memset(bb, 0, sizeof(*bb));
    assert_int_equal(bb_start_ex(bb, path, args, false), 0);
    running_bb = bb;
}

#define START(bb, ...) start_path((bb), feltd_path, (const char *const[]){__VA_ARGS__, NULL})

/* Stops the server and checks that it exited on its own with status 0. */
static void stop_clean(struct bb *bb)
{
    running_bb = NULL;
    int st = bb_stop(bb);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* Waits up to ms for feltd to exit by itself (its stdout reaches EOF). */
static bool wait_exit(struct feltd *f, int ms)
{
    char buf[256];
    int64_t deadline = now_ms() + ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        struct pollfd p = {.fd = f->out_fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) return false;
        if (read(f->out_fd, buf, sizeof(buf)) <= 0) return true;
    }
}

static void assert_tc_ok(const struct tc *t)
{
    assert_non_null(t);
    if (t->bad) print_error("client %s: %d problem(s), first: %s\n", t->name, t->bad, t->bad_text);
    assert_int_equal(t->bad, 0);
}

static void wait_snapshot(struct bb *bb, struct tc *t)
{
    assert_non_null(t);
    if (!BB_WAIT(bb, tc_count(t, PROTO_S_SNAPSHOT) >= 1 || t->closes > 0 || t->bad, BB_TIMEOUT_MS))
        print_error("client %s: no snapshot\n", t->name);
    if (t->closes)
        print_error("client %s closed with %d %s\n", t->name, t->close_code, t->close_reason);
    assert_tc_ok(t);
    assert_int_equal(t->closes, 0);
    assert_true(tc_count(t, PROTO_S_SNAPSHOT) >= 1);
}

/* The index of the notification kind (for player_id, if given) from index from, or -1. */
static long find_note(const struct tc *t, size_t from, const char *kind, const char *player_id)
{
    for (size_t i = from; i < t->n; i++) {
        const struct rmsg *m = &t->msgs[i];
        const char *k = jstr(m->data, "kind"), *p = jstr(m->data, "player_id");
        if (m->type == PROTO_S_NOTIFICATION && k && strcmp(k, kind) == 0 &&
            (!player_id || (p && strcmp(p, player_id) == 0)))
            return (long)i;
    }
    return -1;
}

/* The index of the seat state_update with this change for player_id from index from, or -1. */
static long find_seat(const struct tc *t, size_t from, const char *change, const char *player_id)
{
    for (size_t i = from; i < t->n; i++) {
        const struct rmsg *m = &t->msgs[i];
        const char *ev = jstr(m->data, "event"), *ch = jstr(m->data, "change");
        const char *pid = jstr(jget(m->data, "player"), "player_id");
        if (m->type == PROTO_S_STATE_UPDATE && ev && strcmp(ev, "seat") == 0 && ch &&
            strcmp(ch, change) == 0 && pid && strcmp(pid, player_id) == 0)
            return (long)i;
    }
    return -1;
}

static size_t count_chats(const struct tc *t, const char *text)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const char *s = jstr(t->msgs[i].data, "text");
        n += t->msgs[i].type == PROTO_S_CHAT && (!text || (s && strcmp(s, text) == 0));
    }
    return n;
}

static size_t count_errors(const struct tc *t, const char *code)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const char *c = jstr(t->msgs[i].data, "code");
        n += t->msgs[i].type == PROTO_S_ERROR && (!code || (c && strcmp(c, code) == 0));
    }
    return n;
}

/* Sends json and returns the data of the next error the client gets. */
static json_object *expect_error(struct bb *bb, struct tc *t, const char *json, const char *code)
{
    size_t from = t->n;
    tc_send(t, json);
    if (!BB_WAIT(bb, tc_find(t, from, PROTO_S_ERROR, NULL, NULL) >= 0 || t->closes || t->bad,
                 BB_TIMEOUT_MS))
        print_error("%s: no error after %.200s\n", t->name, json);
    long i = tc_find(t, from, PROTO_S_ERROR, NULL, NULL);
    assert_true(i >= 0);
    const char *got = jstr(t->msgs[i].data, "code");
    if (code && (!got || strcmp(got, code) != 0))
        print_error("%s: %.200s -> error %s, want %s\n", t->name, json, got ? got : "?", code);
    assert_non_null(got);
    if (code) assert_string_equal(got, code);
    return t->msgs[i].data;
}

/* The socket still works: a ping is answered. */
static void expect_alive(struct bb *bb, struct tc *t)
{
    size_t from = t->n;
    tc_send(t, "{\"type\":\"ping\",\"id\":77}");
    assert_true(
        BB_WAIT(bb, tc_find(t, from, PROTO_S_PONG, NULL, NULL) >= 0 || t->closes, BB_TIMEOUT_MS));
    assert_int_equal(t->closes, 0);
}

/* ---- feltd's process: CPU time and resident memory ------------------------------------------- */

/* utime + stime of pid in seconds (from /proc/PID/stat), or -1. */
static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    unsigned long ut = 0, st = 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long vm_rss_kib(pid_t pid)
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

/* Lets ms pass (no event is awaited: the test samples what the server does meanwhile). */
static void let_time_pass(int ms)
{
    poll(NULL, 0, ms);
}

/* ---- raw TCP and HTTP ------------------------------------------------------------------------ */

/* Connects to 127.0.0.1:port within ms; returns a blocking socket or -1. */
static int tcp_connect(int port, int ms)
{
    struct sockaddr_in a;
    int one = 1, err = 0;
    socklen_t elen = sizeof(err);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (errno != EINPROGRESS || poll(&p, 1, ms) != 1 ||
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
            close(fd);
            return -1;
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

static int tcp_write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

#define RESP_MAX 8

/* One response as parsed from the raw bytes. */
struct hresp {
    int status;
    char head[2048]; /* status line and headers */
    char *body;      /* malloc'd, NUL-terminated */
    size_t body_len;
    json_object *json; /* the body when it is JSON */
};

/* One raw HTTP exchange: everything the server sent on one connection. */
struct hx {
    char *raw;
    size_t len, cap;
    bool eof;   /* the server closed the connection (EOF or reset) */
    bool reset; /* ECONNRESET */
    struct hresp r[RESP_MAX];
    int n;        /* complete responses */
    size_t extra; /* bytes after the last complete response */
};

static void hx_clear_responses(struct hx *x)
{
    for (int i = 0; i < x->n; i++) {
        free(x->r[i].body);
        json_object_put(x->r[i].json);
    }
    memset(x->r, 0, sizeof(x->r));
    x->n = 0;
}

static void hx_free(struct hx *x)
{
    hx_clear_responses(x);
    free(x->raw);
    memset(x, 0, sizeof(*x));
}

/* The value of header name (case-insensitive) in a response head, copied to out; false if
 * absent. */
static bool hdr_get(const char *head, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *line = strstr(head, "\r\n");
    while (line) {
        line += 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1, *end = strstr(v, "\r\n");
            v += strspn(v, " \t");
            size_t len = end ? (size_t)(end - v) : strlen(v);
            while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
                len--;
            snprintf(out, cap, "%.*s", (int)len, v);
            return true;
        }
        line = strstr(line, "\r\n");
    }
    return false;
}

/* Parses the responses in x->raw from the start. heads[i] == 'H' marks response i as the answer
 * to a HEAD (no body whatever its Content-Length); heads may be NULL. */
static void hx_parse(struct hx *x, const char *heads)
{
    size_t off = 0;
    hx_clear_responses(x);
    while (x->n < RESP_MAX && off < x->len) {
        const char *start = x->raw + off, *end = memmem(start, x->len - off, "\r\n\r\n", 4);
        if (!end) break;
        struct hresp *r = &x->r[x->n];
        size_t hlen = (size_t)(end - start) + 4, blen = 0;
        char cl[32];
        snprintf(r->head, sizeof(r->head), "%.*s", (int)(hlen - 2), start);
        if (strncmp(r->head, "HTTP/1.", 7) != 0 || r->head[8] != ' ') break;
        r->status = atoi(r->head + 9);
        bool is_head = heads && (size_t)x->n < strlen(heads) && heads[x->n] == 'H';
        if (!is_head && hdr_get(r->head, "content-length", cl, sizeof(cl)))
            blen = (size_t)strtoul(cl, NULL, 10);
        else if (!is_head && x->eof)
            blen = x->len - off - hlen; /* no length: the body runs to the end */
        if (off + hlen + blen > x->len) break;
        r->body = xstrndup(start + hlen, blen);
        r->body_len = blen;
        r->json = jparse(r->body, blen);
        off += hlen + blen;
        x->n++;
    }
    x->extra = x->len - off;
}

/* Reads from fd into x until EOF, a reset, ms passing, or (want > 0) want complete responses. */
static void hx_read(int fd, struct hx *x, int ms, int want, const char *heads)
{
    int64_t deadline = now_ms() + ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) break;
        if (x->cap - x->len < 4096) {
            x->cap = x->cap ? x->cap * 2 : 16384;
            x->raw = xrealloc(x->raw, x->cap + 1);
        }
        ssize_t n = read(fd, x->raw + x->len, x->cap - x->len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            x->eof = true;
            x->reset = n < 0 && errno == ECONNRESET;
            break;
        }
        x->len += (size_t)n;
        x->raw[x->len] = '\0';
        hx_parse(x, heads);
        if (want > 0 && x->n >= want) break;
    }
    if (x->raw) x->raw[x->len] = '\0';
    hx_parse(x, heads);
}

/* Connects, writes req in one write, reads as hx_read does. */
static void raw_http(int port, const char *req, size_t len, const char *heads, int want, int ms,
                     struct hx *x)
{
    memset(x, 0, sizeof(*x));
    int fd = tcp_connect(port, BB_TIMEOUT_MS);
    if (fd < 0) print_error("cannot connect to 127.0.0.1:%d\n", port);
    assert_true(fd >= 0);
    assert_int_equal(tcp_write_all(fd, req, len), 0);
    hx_read(fd, x, ms, want, heads);
    close(fd);
}

static void raw_http_s(int port, const char *req, int want, struct hx *x)
{
    raw_http(port, req, strlen(req), NULL, want, BB_TIMEOUT_MS, x);
}

static void hx_dump(const struct hx *x, const char *what)
{
    print_message("%s: %zu bytes%s%s, %d response(s), %zu extra: %.600s\n", what, x->len,
                  x->eof ? ", then closed" : "", x->reset ? " (reset)" : "", x->n, x->extra,
                  x->raw ? x->raw : "");
}

/* The code of an HTTP error answer ({"type":"error","data":{"code":...}}), or NULL. */
static const char *err_code(json_object *json)
{
    return jstr(jget(json, "data"), "code");
}

/* A POST request with a JSON body and optional extra header lines (each ending in \r\n). */
static char *post_req(const char *path, const char *body, const char *headers)
{
    char *s;
    if (asprintf(&s,
                 "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 "%sContent-Length: %zu\r\n\r\n%s",
                 path, headers ? headers : "", strlen(body), body) < 0)
        fail();
    return s;
}

/* A response to a closing request: exactly one, then the server closed the connection. */
static const struct hresp *expect_one_then_close(const struct hx *x, const char *what)
{
    if (x->n != 1 || !x->eof || x->extra != 0) hx_dump(x, what);
    assert_int_equal(x->n, 1);
    assert_int_equal(x->extra, 0);
    assert_true(x->eof);
    return &x->r[0];
}

static void expect_code(const struct hresp *r, int status, const char *code)
{
    if (r->status != status ||
        (code && (!err_code(r->json) || strcmp(err_code(r->json), code) != 0)))
        print_error("got %d %s, want %d %s\n", r->status, r->body ? r->body : "", status,
                    code ? code : "");
    assert_int_equal(r->status, status);
    if (code) {
        assert_non_null(err_code(r->json));
        assert_string_equal(err_code(r->json), code);
    }
}

/* ---- the lobby and joins --------------------------------------------------------------------- */

struct joined {
    int status;
    char code[32];
    char id[32];
    char token[160];
};

static void joined_from(struct joined *j, int status, json_object *json)
{
    memset(j, 0, sizeof(*j));
    j->status = status;
    snprintf(j->code, sizeof(j->code), "%s", err_code(json) ? err_code(json) : "");
    snprintf(j->id, sizeof(j->id), "%s", jstr(json, "player_id") ? jstr(json, "player_id") : "");
    snprintf(j->token, sizeof(j->token), "%s", jstr(json, "token") ? jstr(json, "token") : "");
}

/* Joins game over HTTP with the name as JSON string content (escapes allowed). */
static void join_http(struct bb *bb, const char *game, const char *name, struct joined *j)
{
    char path[128], body[512];
    struct http_reply r;
    snprintf(path, sizeof(path), "/api/games/%s/join", game);
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    bb_http(bb, path, body, NULL, &r);
    joined_from(j, r.status, r.json);
    if (r.status == 200 && (!j->id[0] || !j->token[0])) j->status = -1;
    http_reply_free(&r);
}

static void join_ok(struct bb *bb, const char *game, const char *name, struct joined *j)
{
    join_http(bb, game, name, j);
    if (j->status != 200) print_error("join of %s at %s: %d %s\n", name, game, j->status, j->code);
    assert_int_equal(j->status, 200);
}

static void join_refused(struct bb *bb, const char *game, const char *name, int status,
                         const char *code)
{
    struct joined j;
    join_http(bb, game, name, &j);
    if (j.status != status || strcmp(j.code, code) != 0)
        print_error("join of %s at %s: %d %s, want %d %s\n", name, game, j.status, j.code, status,
                    code);
    assert_int_equal(j.status, status);
    assert_string_equal(j.code, code);
}

/* Joins over a raw connection with extra header lines. */
static void join_raw(int port, const char *game, const char *name, const char *headers,
                     struct joined *j)
{
    char path[128], body[256];
    struct hx x;
    snprintf(path, sizeof(path), "/api/games/%s/join", game);
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    char *req = post_req(path, body, headers);
    raw_http_s(port, req, 1, &x);
    free(req);
    if (x.n != 1) hx_dump(&x, "join");
    assert_int_equal(x.n, 1);
    joined_from(j, x.r[0].status, x.r[0].json);
    hx_free(&x);
}

/* The lobby entry of game (a new reference), asserting it exists. */
static json_object *lobby_game(struct bb *bb, const char *game)
{
    struct http_reply r;
    json_object *found = NULL;
    bb_http(bb, "/api/games", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    json_object *games = jget(r.json, "games");
    for (size_t i = 0; games && i < json_object_array_length(games); i++) {
        json_object *g = json_object_array_get_idx(games, i);
        if (jstr(g, "id") && strcmp(jstr(g, "id"), game) == 0) found = json_object_get(g);
    }
    http_reply_free(&r);
    assert_non_null(found);
    return found;
}

static int64_t seats_taken(struct bb *bb, const char *game)
{
    json_object *g = lobby_game(bb, game);
    int64_t n = jint(g, "seats_taken", -1);
    json_object_put(g);
    return n;
}

/* How many players named name (exactly) sit at game. */
static int players_named(struct bb *bb, const char *game, const char *name)
{
    json_object *g = lobby_game(bb, game), *ps = jget(g, "players");
    int n = 0;
    for (size_t i = 0; ps && i < json_object_array_length(ps); i++) {
        const char *s = jstr(json_object_array_get_idx(ps, i), "name");
        n += s && strcmp(s, name) == 0;
    }
    json_object_put(g);
    return n;
}

static void healthz(struct bb *bb)
{
    struct http_reply r;
    bb_http(bb, "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(jbool(r.json, "ok", false));
    http_reply_free(&r);
}

/* ---- B1: HTTP -------------------------------------------------------------------------------- */

#define CPU_IDLE_BOUND_S 0.5 /* over 2 s: a spinning loop burns ~2 s */
#define RSS_GROWTH_BOUND_KIB 5120

static void test_http_body_loop(void **state)
{
    static struct bb bb;
    static const char req[] = "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}x";
    struct hx x;
    char allow[64];
    (void)state;
    START(&bb, "--hand-delay", "600000");

    /* A POST with one byte past its body: one answer (405), then the server closes; and it does
     * not keep working on the leftover byte (lws re-reporting the completion would spin). */
    double cpu0 = proc_cpu_s(bb.srv.pid);
    long rss0 = vm_rss_kib(bb.srv.pid);
    assert_true(cpu0 >= 0 && rss0 > 0);
    raw_http(bb.srv.port, req, sizeof(req) - 1, NULL, 0, BB_TIMEOUT_MS, &x);
    const struct hresp *r = expect_one_then_close(&x, "POST /healthz with a byte past its body");
    expect_code(r, 405, NULL);
    assert_true(hdr_get(r->head, "allow", allow, sizeof(allow)));
    assert_string_equal(allow, "GET, HEAD");
    hx_free(&x);
    let_time_pass(2000); /* what the server does after the answer: the CPU and memory it uses */
    double cpu1 = proc_cpu_s(bb.srv.pid);
    long rss1 = vm_rss_kib(bb.srv.pid);
    print_message("body loop: feltd used %.2f CPU s and %+ld KiB from the request to 2 s after "
                  "the answer\n",
                  cpu1 - cpu0, rss1 - rss0);
    assert_true(cpu1 - cpu0 < CPU_IDLE_BOUND_S);
    assert_true(rss1 - rss0 < RSS_GROWTH_BOUND_KIB);

    /* The same from a client that never reads (its answer waits in the socket). */
    cpu0 = proc_cpu_s(bb.srv.pid);
    rss0 = vm_rss_kib(bb.srv.pid);
    int fd = tcp_connect(bb.srv.port, BB_TIMEOUT_MS);
    assert_true(fd >= 0);
    assert_int_equal(tcp_write_all(fd, req, sizeof(req) - 1), 0);
    let_time_pass(2000); /* not reading, on purpose: the server's CPU meanwhile is the point */
    cpu1 = proc_cpu_s(bb.srv.pid);
    rss1 = vm_rss_kib(bb.srv.pid);
    print_message("body loop, reader asleep: %.2f CPU s and %+ld KiB over 2 s\n", cpu1 - cpu0,
                  rss1 - rss0);
    assert_true(cpu1 - cpu0 < CPU_IDLE_BOUND_S);
    assert_true(rss1 - rss0 < RSS_GROWTH_BOUND_KIB);
    memset(&x, 0, sizeof(x));
    hx_read(fd, &x, BB_TIMEOUT_MS, 0, NULL);
    close(fd);
    r = expect_one_then_close(&x, "the same, read late");
    expect_code(r, 405, NULL);
    hx_free(&x);

    /* A chat POST with a GET pipelined behind it in the same write: the chat is applied once,
     * answered once, and the connection ends there (the GET is not answered). */
    struct joined p;
    join_ok(&bb, "other", "talker", &p);
    struct tc *spec = tc_spectator(&bb, "spec", "other", false);
    wait_snapshot(&bb, spec);
    char hdrs[256], *chat;
    snprintf(hdrs, sizeof(hdrs), "Authorization: Bearer %s\r\n", p.token);
    chat = post_req("/api/games/other/chat", "{\"text\":\"once\"}", hdrs);
    char *both = NULL;
    assert_true(asprintf(&both, "%sGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", chat) > 0);
    raw_http_s(bb.srv.port, both, 0, &x);
    r = expect_one_then_close(&x, "chat POST + pipelined GET");
    expect_code(r, 200, NULL);
    assert_true(jbool(r->json, "ok", false));
    hx_free(&x);
    free(chat);
    free(both);
    /* A marker chat afterwards: everything the first request caused has reached the spectator
     * by the time the marker does. */
    struct http_reply hr;
    bb_http(&bb, "/api/games/other/chat", "{\"text\":\"marker\"}", p.token, &hr);
    assert_int_equal(hr.status, 200);
    http_reply_free(&hr);
    assert_true(BB_WAIT(&bb, count_chats(spec, "marker") == 1 || spec->closes, BB_TIMEOUT_MS));
    assert_int_equal(count_chats(spec, "once"), 1);
    assert_int_equal(count_chats(spec, NULL), 2);
    assert_tc_ok(spec);
    stop_clean(&bb);
}

/* One request per connection (docs/protocol.md, "HTTP"): the first request of a write is
 * answered, with Connection: close, and nothing after it is read as a request, in either order of
 * GET and POST. */
static void expect_closing(const struct hresp *r)
{
    char conn[32];
    assert_true(hdr_get(r->head, "connection", conn, sizeof(conn)));
    assert_int_equal(strcasecmp(conn, "close"), 0);
}

static void test_http_pipelining(void **state)
{
    static struct bb bb;
    struct hx x;
    char *join, *join2, *both;
    const struct hresp *r;
    (void)state;
    START(&bb, "--hand-delay", "600000", "--seats-per-address", "0");

    /* (a) Two GETs in one write: the first is answered, then the connection ends. */
    raw_http_s(bb.srv.port,
               "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /api/games HTTP/1.1\r\nHost: x\r\n\r\n",
               0, &x);
    r = expect_one_then_close(&x, "GET+GET");
    expect_code(r, 200, NULL);
    expect_closing(r);
    assert_true(jbool(r->json, "ok", false));
    assert_null(jget(r->json, "games"));
    hx_free(&x);

    /* (b) A GET, then a POST join: the GET is answered, the POST is never read, let alone
     * applied. (lws 4.1.6 spins at full CPU on this one when the connection is kept alive.) */
    join = post_req("/api/games/other/join", "{\"name\":\"bea\"}", NULL);
    assert_true(asprintf(&both, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n%s", join) > 0);
    double cpu0 = proc_cpu_s(bb.srv.pid);
    raw_http_s(bb.srv.port, both, 0, &x);
    r = expect_one_then_close(&x, "GET+POST");
    expect_code(r, 200, NULL);
    expect_closing(r);
    assert_true(jbool(r->json, "ok", false));
    hx_free(&x);
    free(join);
    free(both);
    healthz(&bb);
    assert_int_equal(players_named(&bb, "other", "bea"), 0);
    assert_int_equal(seats_taken(&bb, "other"), 0);
    let_time_pass(1000); /* a loop left behind would burn the whole second */
    double cpu1 = proc_cpu_s(bb.srv.pid);
    print_message("pipelining: %.2f CPU s from GET+POST to a second later\n", cpu1 - cpu0);
    assert_true(cpu1 - cpu0 < CPU_IDLE_BOUND_S);

    /* (c) A POST join, then a GET: exactly one answer (the join), then EOF; applied once. */
    join = post_req("/api/games/other/join", "{\"name\":\"cid\"}", NULL);
    assert_true(asprintf(&both, "%sGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", join) > 0);
    raw_http_s(bb.srv.port, both, 0, &x);
    r = expect_one_then_close(&x, "POST+GET");
    expect_code(r, 200, NULL);
    expect_closing(r);
    assert_non_null(jstr(r->json, "token"));
    hx_free(&x);
    free(join);
    free(both);
    assert_int_equal(players_named(&bb, "other", "cid"), 1);
    assert_int_equal(seats_taken(&bb, "other"), 1);

    /* (d) Two POST joins in one write: the second is never taken for a request. */
    join = post_req("/api/games/other/join", "{\"name\":\"dan\"}", NULL);
    join2 = post_req("/api/games/other/join", "{\"name\":\"eve\"}", NULL);
    assert_true(asprintf(&both, "%s%s", join, join2) > 0);
    raw_http_s(bb.srv.port, both, 0, &x);
    r = expect_one_then_close(&x, "POST+POST");
    expect_code(r, 200, NULL);
    assert_string_equal(jstr(r->json, "name"), "dan");
    hx_free(&x);
    free(join);
    free(join2);
    free(both);
    assert_int_equal(players_named(&bb, "other", "dan"), 1);
    assert_int_equal(players_named(&bb, "other", "eve"), 0);
    assert_int_equal(seats_taken(&bb, "other"), 2);
    stop_clean(&bb);
}

static void test_http_te_cl(void **state)
{
    static struct bb bb;
    struct hx x;
    (void)state;
    START(&bb, "--hand-delay", "600000");
    /* Content-Length and Transfer-Encoding together: 400, nothing joined. */
    char *req =
        post_req("/api/games/other/join", "{\"name\":\"smug\"}", "Transfer-Encoding: chunked\r\n");
    raw_http_s(bb.srv.port, req, 0, &x);
    free(req);
    const struct hresp *r = expect_one_then_close(&x, "CL + TE");
    expect_code(r, 400, "bad_request");
    hx_free(&x);
    /* The same with the body actually chunked, and TE before CL. */
    raw_http_s(bb.srv.port,
               "POST /api/games/other/join HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               "Content-Length: 5\r\n\r\n10\r\n{\"name\":\"smug2\"}\r\n0\r\n\r\n",
               0, &x);
    r = expect_one_then_close(&x, "TE + CL, chunked body");
    expect_code(r, 400, "bad_request");
    hx_free(&x);
    /* Transfer-Encoding alone: 411. */
    raw_http_s(bb.srv.port,
               "POST /api/games/other/join HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               "\r\n10\r\n{\"name\":\"smug3\"}\r\n0\r\n\r\n",
               0, &x);
    r = expect_one_then_close(&x, "TE alone");
    expect_code(r, 411, NULL);
    hx_free(&x);
    assert_int_equal(seats_taken(&bb, "other"), 0);
    assert_int_equal(players_named(&bb, "other", "smug"), 0);
    /* The server is fine, and a proper join works. */
    struct joined j;
    join_ok(&bb, "other", "proper", &j);
    assert_int_equal(seats_taken(&bb, "other"), 1);
    stop_clean(&bb);
}

static void test_http_methods(void **state)
{
    static struct bb bb;
    static const char *const methods[] = {"PUT", "DELETE", "PATCH", "OPTIONS"};
    static const char *const paths[] = {"/healthz", "/api/games"};
    struct hx x;
    char req[256], allow[64], cl[32];
    (void)state;
    START(&bb, "--hand-delay", "600000");
    for (size_t m = 0; m < FELT_ARRAY_LEN(methods); m++) {
        for (size_t p = 0; p < FELT_ARRAY_LEN(paths); p++) {
            snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
                     methods[m], paths[p]);
            raw_http_s(bb.srv.port, req, 1, &x);
            if (x.n != 1 || x.r[0].status != 405) hx_dump(&x, req);
            assert_int_equal(x.n, 1);
            expect_code(&x.r[0], 405, NULL);
            assert_true(hdr_get(x.r[0].head, "allow", allow, sizeof(allow)));
            assert_string_equal(allow, "GET, HEAD");
            hx_free(&x);
        }
    }
    /* GET on a POST endpoint. */
    raw_http_s(bb.srv.port, "GET /api/games/other/join HTTP/1.1\r\nHost: x\r\n\r\n", 1, &x);
    assert_int_equal(x.n, 1);
    expect_code(&x.r[0], 405, NULL);
    assert_true(hdr_get(x.r[0].head, "allow", allow, sizeof(allow)));
    assert_string_equal(allow, "POST");
    hx_free(&x);

    /* HEAD: a GET's headers (a non-zero Content-Length) and no body: the connection ends
     * right after the blank line. A GET pipelined behind it is not answered. */
    static const char head_get[] =
        "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    raw_http(bb.srv.port, head_get, sizeof(head_get) - 1, "HG", 0, BB_TIMEOUT_MS, &x);
    const struct hresp *r = expect_one_then_close(&x, "HEAD+GET");
    expect_code(r, 200, NULL);
    assert_true(hdr_get(r->head, "content-length", cl, sizeof(cl)));
    assert_true(atol(cl) > 0);
    assert_int_equal(r->body_len, 0);
    hx_free(&x);

    /* An unknown path. */
    raw_http_s(bb.srv.port, "GET /nothing/here HTTP/1.1\r\nHost: x\r\n\r\n", 1, &x);
    assert_int_equal(x.n, 1);
    expect_code(&x.r[0], 404, NULL);
    hx_free(&x);
    healthz(&bb);
    stop_clean(&bb);
}

static void test_http_strict_body(void **state)
{
    static struct bb bb;
    static const char *const bad_json[] = {
        "{\"name\":\"bob\"} x",
        "{\"name\":\"bob\"}/*c*/",
        "{'name':'bob'}",
        "{\"name\":\"bob\",}",
    };
    struct http_reply r;
    (void)state;
    START(&bb, "--hand-delay", "600000");
    for (size_t i = 0; i < FELT_ARRAY_LEN(bad_json); i++) {
        bb_http(&bb, "/api/games/other/join", bad_json[i], NULL, &r);
        if (r.status != 400 || !err_code(r.json) || strcmp(err_code(r.json), "bad_json"))
            print_error("join body %s -> %d %s\n", bad_json[i], r.status, r.body);
        assert_int_equal(r.status, 400);
        assert_string_equal(err_code(r.json), "bad_json");
        http_reply_free(&r);
    }
    bb_http(&bb, "/api/games/other/join", "{\"type\":\"chat\",\"name\":\"bob\"}", NULL, &r);
    if (r.status != 400) print_error("join as chat -> %d %s\n", r.status, r.body);
    assert_int_equal(r.status, 400);
    assert_string_equal(err_code(r.json), "bad_type");
    http_reply_free(&r);
    assert_int_equal(seats_taken(&bb, "other"), 0);
    bb_http(&bb, "/api/games/other/join", "{\"name\":\"bob\"}", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "name"), "bob");
    http_reply_free(&r);
    assert_int_equal(seats_taken(&bb, "other"), 1);
    stop_clean(&bb);
}

/* ---- B2: seats ------------------------------------------------------------------------------- */

static void test_seat_idle(void **state)
{
    static struct bb bb;
    struct http_reply r;
    struct joined idle, poller, fresh;
    char path[128];
    int status;
    (void)state;
    START(&bb, "--hand-delay", "600000", "--idle-seat-secs", "3");
    struct tc *spec = tc_spectator(&bb, "spec", "other", false);
    wait_snapshot(&bb, spec);
    int64_t t0 = now_ms();
    join_ok(&bb, "other", "sleepy", &idle);
    join_ok(&bb, "other", "poller", &poller);
    assert_int_equal(seats_taken(&bb, "other"), 2);

    /* sleepy never connects nor polls; poller polls its state about every second. Both are
     * waited on for real: the idle limit is seconds. */
    int64_t gone_at = 0;
    while (now_ms() - t0 < 12000) {
        if (!gone_at && find_note(spec, 0, "player_left", idle.id) >= 0) gone_at = now_ms();
        if (gone_at && now_ms() - gone_at >= 3000) break; /* a sweep and more after it */
        (void)BB_WAIT(&bb, !gone_at && find_note(spec, 0, "player_left", idle.id) >= 0, 1000);
        bb_http(&bb, "/api/games/other/state", NULL, poller.token, &r);
        assert_int_equal(r.status, 200);
        http_reply_free(&r);
    }
    if (!gone_at) print_error("no player_left for the idle player within 12 s\n");
    assert_true(gone_at > 0);
    print_message("seat_idle: the idle player was stood up %.1f s after joining\n",
                  (double)(gone_at - t0) / 1000.0);
    assert_true(gone_at - t0 >= 2900); /* not before its 3 s were up */
    long left = find_note(spec, 0, "player_left", idle.id);
    assert_string_equal(jstr(spec->msgs[left].data, "reason"), "idle");
    assert_true(find_seat(spec, 0, "left", idle.id) >= 0);
    /* The poller, unseen by no socket but polling, kept its seat. */
    assert_int_equal(find_note(spec, 0, "player_left", poller.id), -1);
    assert_int_equal(find_seat(spec, 0, "left", poller.id), -1);
    assert_int_equal(seats_taken(&bb, "other"), 1);

    /* The idle player's token no longer works: polling 401, its socket path is gone (403),
     * and its token opens no other seat (4401). */
    bb_http(&bb, "/api/games/other/state", NULL, idle.token, &r);
    assert_int_equal(r.status, 401);
    http_reply_free(&r);
    snprintf(path, sizeof(path), "/ws/game/other/%s", idle.id);
    assert_int_equal(rawws_connect(bb.srv.port, path, &status), -1);
    assert_int_equal(status, 403);
    struct tc *imp = tc_player(&bb, "ghost", "other", poller.id, idle.token, false);
    assert_true(BB_WAIT(&bb, imp->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(imp->close_code, 4401);
    assert_int_equal(tc_count(imp, PROTO_S_SNAPSHOT), 0);
    /* The seat is free again, also for this address (2 seats per address by default). */
    join_ok(&bb, "other", "fresh", &fresh);
    assert_int_equal(seats_taken(&bb, "other"), 2);
    assert_tc_ok(spec);
    stop_clean(&bb);
}

static void test_seat_sitout(void **state)
{
    static struct bb bb;
    (void)state;
    START(&bb, "--sitout-hands", "2", "--bots", "2", "--bot-delay", "0", "--hand-delay", "50");
    struct tc *rail = tc_spectator(&bb, "rail", "main", false);
    wait_snapshot(&bb, rail);
    struct tc *p = tc_join(&bb, "napper", "main", false);
    wait_snapshot(&bb, p);
    tc_send(p, "{\"type\":\"sit_out\"}");
    assert_true(BB_WAIT(&bb, find_seat(rail, 0, "sat_out", p->player_id) >= 0 || rail->closes,
                        BB_TIMEOUT_MS));
    long sat = find_seat(rail, 0, "sat_out", p->player_id);
    assert_true(sat >= 0);
    if (!BB_WAIT(&bb,
                 find_note(rail, (size_t)sat, "player_left", p->player_id) >= 0 || rail->closes,
                 3 * BB_TIMEOUT_MS))
        print_error("napper was not stood up; %zu hand_end(s) since sitting out\n",
                    tc_count_updates(rail, "hand_end", NULL));
    long left = find_note(rail, (size_t)sat, "player_left", p->player_id);
    assert_true(left >= 0);
    assert_string_equal(jstr(rail->msgs[left].data, "reason"), "sitting_out");
    /* Exactly two hands ended between sitting out and being stood up. */
    size_t ends = 0;
    for (long i = sat; i < left; i++) {
        const char *ev = jstr(rail->msgs[i].data, "event");
        ends += rail->msgs[i].type == PROTO_S_STATE_UPDATE && ev && strcmp(ev, "hand_end") == 0;
    }
    assert_int_equal(ends, 2);
    assert_true(find_seat(rail, (size_t)sat, "left", p->player_id) >= 0);
    /* ... and the server closed their socket. */
    assert_true(BB_WAIT(&bb, p->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(p->close_code, 1000);
    assert_tc_ok(rail);
    stop_clean(&bb);
}

static void test_join_rate(void **state)
{
    static struct bb bb;
    struct joined j;
    char name[16];
    (void)state;
    START(&bb, "--table", "big:10:5/10:1000", "--table", "other:6:5/10:1000", "--hand-delay",
          "600000", "--seats-per-address", "0");
    /* The spectator is opened first: opening a socket is no join. */
    struct tc *spec = tc_spectator(&bb, "spec", "other", false);
    wait_snapshot(&bb, spec);
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof(name), "j%d", i);
        join_ok(&bb, "big", name, &j);
    }
    join_refused(&bb, "big", "j6", 429, "rate_limited");
    assert_int_equal(seats_taken(&bb, "big"), 6);
    /* The budget is the address's, whatever the table or the transport. */
    join_refused(&bb, "other", "j7", 429, "rate_limited");
    expect_error(&bb, spec, "{\"type\":\"join\",\"name\":\"j8\"}", "rate_limited");
    assert_int_equal(spec->closes, 0);
    assert_int_equal(seats_taken(&bb, "other"), 0);
    stop_clean(&bb);
}

static void test_seats_per_address(void **state)
{
    static struct bb bb;
    struct joined j;
    (void)state;
    START(&bb, "--hand-delay", "600000");
    join_ok(&bb, "other", "one", &j);
    join_ok(&bb, "other", "two", &j);
    join_refused(&bb, "other", "three", 409, "too_many_seats");
    assert_int_equal(seats_taken(&bb, "other"), 2);
    /* Per table: the same address may sit at another. */
    join_ok(&bb, "main", "three", &j);
    assert_int_equal(seats_taken(&bb, "main"), 1);
    stop_clean(&bb);
}

static void test_trust_proxy(void **state)
{
    static struct bb bb;
    struct joined j;
    (void)state;
    /* Behind the trusted proxy (127.0.0.1), the last X-Forwarded-For entry is the client. */
    START(&bb, "--hand-delay", "600000", "--trust-proxy", "127.0.0.1", "--seats-per-address", "1");
    join_raw(bb.srv.port, "other", "xa", "X-Forwarded-For: 10.0.0.1\r\n", &j);
    if (j.status != 200) print_error("xa: %d %s\n", j.status, j.code);
    assert_int_equal(j.status, 200);
    join_raw(bb.srv.port, "other", "xb", "X-Forwarded-For: 10.0.0.2\r\n", &j);
    if (j.status != 200) print_error("xb: %d %s\n", j.status, j.code);
    assert_int_equal(j.status, 200);
    join_raw(bb.srv.port, "other", "xc", "X-Forwarded-For: 203.0.113.5, 10.0.0.1\r\n", &j);
    if (j.status != 409) print_error("xc: %d %s\n", j.status, j.code);
    assert_int_equal(j.status, 409);
    assert_string_equal(j.code, "too_many_seats");
    assert_int_equal(seats_taken(&bb, "other"), 2);
    stop_clean(&bb);

    /* Without --trust-proxy the header is only text: both joins are 127.0.0.1's. */
    START(&bb, "--hand-delay", "600000", "--seats-per-address", "1");
    join_raw(bb.srv.port, "other", "ya", "X-Forwarded-For: 10.0.0.1\r\n", &j);
    assert_int_equal(j.status, 200);
    join_raw(bb.srv.port, "other", "yb", "X-Forwarded-For: 10.0.0.2\r\n", &j);
    if (j.status != 409) print_error("yb: %d %s\n", j.status, j.code);
    assert_int_equal(j.status, 409);
    assert_string_equal(j.code, "too_many_seats");
    assert_int_equal(seats_taken(&bb, "other"), 1);
    stop_clean(&bb);
}

/* ---- B3: connections ------------------------------------------------------------------------- */

/* A counter's value in /metrics, or -1. */
static long long metric(struct bb *bb, const char *name)
{
    struct http_reply r;
    char needle[128];
    long long v = -1;
    bb_http(bb, "/metrics", NULL, NULL, &r);
    snprintf(needle, sizeof(needle), "\n%s ", name);
    const char *at = r.body ? strstr(r.body, needle) : NULL;
    if (at) v = atoll(at + strlen(needle));
    http_reply_free(&r);
    return v;
}

#define CONN_CAP 8

static void test_conn_cap(void **state)
{
    static struct bb bb;
    int fds[CONN_CAP];
    struct hx x;
    (void)state;
    START(&bb, "--hand-delay", "600000", "--max-conns-per-address", "8");
    /* Eight idle sockets (the harness holds none yet). */
    for (int i = 0; i < CONN_CAP; i++) {
        fds[i] = tcp_connect(bb.srv.port, BB_TIMEOUT_MS);
        assert_true(fds[i] >= 0);
    }
    /* The ninth: the kernel accepts it, the server closes it before reading anything. */
    int ninth = tcp_connect(bb.srv.port, BB_TIMEOUT_MS);
    assert_true(ninth >= 0);
    (void)tcp_write_all(ninth, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                        strlen("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    memset(&x, 0, sizeof(x));
    hx_read(ninth, &x, BB_TIMEOUT_MS, 0, NULL);
    if (!x.eof || x.n) hx_dump(&x, "the ninth connection");
    assert_true(x.eof);
    assert_int_equal(x.n, 0);
    hx_free(&x);
    close(ninth);
    /* The eight are still open; none was disturbed. */
    struct pollfd pf = {.fd = fds[0], .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 0), 0);
    for (int i = 0; i < CONN_CAP; i++)
        close(fds[i]);
    /* Once the server has seen the eight go (it learns of closes asynchronously, so the first
     * attempts may still be refused), a new request works. */
    bool ok = false;
    for (int64_t t0 = now_ms(); !ok && now_ms() - t0 < 5000;) {
        memset(&x, 0, sizeof(x));
        raw_http_s(bb.srv.port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 1,
                   &x);
        ok = x.n == 1 && x.r[0].status == 200;
        hx_free(&x);
        if (!ok) let_time_pass(100);
    }
    assert_true(ok);
    long long refused = metric(&bb, "felt_connections_refused_total");
    print_message("conn_cap: felt_connections_refused_total %lld\n", refused);
    assert_true(refused >= 1);
    healthz(&bb);
    stop_clean(&bb);
}

#define FD_LIMIT 128
#define FD_FLOOD 200

static void test_fd_exhaustion(void **state)
{
    static struct bb bb;
    char script[128], req[256];
    int fds[FD_FLOOD];
    struct hx x;
    (void)state;
    /* feltd under a descriptor limit of 128: a wrapper script sets it and execs feltd (same pid,
     * so the harness still sees feltd itself). */
    snprintf(wrapper_dir, sizeof(wrapper_dir), "/tmp/felt-hardening-XXXXXX");
    assert_non_null(mkdtemp(wrapper_dir));
    snprintf(script, sizeof(script), "%s/feltd-nofile.sh", wrapper_dir);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\nulimit -n %d || exit 125\nexec '%s' \"$@\"\n", FD_LIMIT, feltd_path);
    fclose(f);
    assert_int_equal(chmod(script, 0700), 0);
    start_path(&bb, script,
               (const char *const[]){"--bots", "3", "--bot-delay", "200", "--hand-delay", "100",
                                     "--max-conns-per-address", "0", NULL});
    struct tc *rail = tc_spectator(&bb, "rail", "main", false);
    wait_snapshot(&bb, rail);

    /* 200 sockets asking to spectate, without waiting for any of them (those past the limit
     * wait in the kernel's backlog; the server must neither block nor spin on them). */
    int opened = 0;
    double cpu0 = proc_cpu_s(bb.srv.pid);
    for (int i = 0; i < FD_FLOOD; i++) {
        struct sockaddr_in a;
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        assert_true(fds[i] >= 0);
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)bb.srv.port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fds[i], (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS)
            continue;
        opened++;
        int n =
            snprintf(req, sizeof(req),
                     "GET /ws/spectate/main HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket"
                     "\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="
                     "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: felt.v1\r\n\r\n");
        (void)!write(fds[i], req, (size_t)n); /* may not be connected yet: fine */
    }
    print_message("fd_exhaustion: %d of %d connects started\n", opened, FD_FLOOD);

    /* /healthz on a fresh connection still answers: the reserve is for it. */
    raw_http_s(bb.srv.port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 1, &x);
    if (x.n != 1) hx_dump(&x, "/healthz with the descriptors in use");
    assert_int_equal(x.n, 1);
    expect_code(&x.r[0], 200, NULL);
    assert_true(jbool(x.r[0].json, "ok", false));
    hx_free(&x);

    /* The spectator connected before keeps receiving main's events. */
    size_t from = rail->n;
    assert_true(BB_WAIT(&bb, rail->n >= from + 5 || rail->closes, BB_TIMEOUT_MS));
    assert_int_equal(rail->closes, 0);
    /* No spinning: over 3 s (bots playing at a 200 ms pace) feltd uses well under a core. */
    double cpu1 = proc_cpu_s(bb.srv.pid);
    (void)BB_WAIT(&bb, false, 3000); /* lets 3 s pass with the rail served; nothing is awaited */
    double cpu2 = proc_cpu_s(bb.srv.pid);
    print_message("fd_exhaustion: feltd used %.2f CPU s taking the flood, %.2f over the next 3 s\n",
                  cpu1 - cpu0, cpu2 - cpu1);
    assert_true(cpu2 - cpu1 < 1.5);
    assert_true(rail->n > from + 5);
    assert_int_equal(rail->closes, 0);
    assert_tc_ok(rail);
    /* The premise: the flood went past --max-conns (the descriptor limit less the reserve):
     * some sockets became spectators (101), those past the cap were refused (503). */
    int upgraded = 0, full = 0, closed = 0, other = 0, silent = 0;
    for (int i = 0; i < FD_FLOOD; i++) {
        char head[32];
        struct pollfd pf = {.fd = fds[i], .events = POLLIN};
        ssize_t n = poll(&pf, 1, 0) == 1 ? read(fds[i], head, sizeof(head) - 1) : -2;
        if (n >= 12) head[n] = '\0';
        int st = n >= 12 && strncmp(head, "HTTP/1.", 7) == 0 ? atoi(head + 9) : 0;
        if (st == 101)
            upgraded++;
        else if (st == 503)
            full++;
        else if (n == 0 || (n == -1 && errno == ECONNRESET))
            closed++;
        else if (n == -2)
            silent++;
        else {
            if (!other++) print_message("fd_exhaustion: a socket read %zd bytes\n", n);
        }
        close(fds[i]);
    }
    print_message("fd_exhaustion: %d sockets upgraded, %d refused with 503, %d closed without an "
                  "answer, %d not answered yet, %d other\n",
                  upgraded, full, closed, silent, other);
    assert_true(upgraded >= 1);
    assert_true(full >= 1);

    /* Then 200 sockets that never send a byte (nothing to refuse them by until they time
     * out): /healthz still gets its answer, the rail its events, and nothing spins. */
    for (int i = 0; i < FD_FLOOD; i++) {
        struct sockaddr_in a;
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        assert_true(fds[i] >= 0);
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)bb.srv.port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        (void)connect(fds[i], (struct sockaddr *)&a, sizeof(a)); /* EINPROGRESS is fine */
    }
    cpu1 = proc_cpu_s(bb.srv.pid);
    int64_t t0 = now_ms();
    raw_http_s(bb.srv.port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 1, &x);
    int64_t took = now_ms() - t0;
    cpu2 = proc_cpu_s(bb.srv.pid);
    print_message("fd_exhaustion: with %d silent sockets /healthz answered %d after %.1f s; feltd "
                  "used %.2f CPU s meanwhile\n",
                  FD_FLOOD, x.n ? x.r[0].status : 0, (double)took / 1000.0, cpu2 - cpu1);
    assert_int_equal(x.n, 1);
    expect_code(&x.r[0], 200, NULL);
    hx_free(&x);
    assert_true(cpu2 - cpu1 < 0.5 * ((double)took / 1000.0) + 0.5);
    from = rail->n;
    assert_true(BB_WAIT(&bb, rail->n >= from + 5 || rail->closes, BB_TIMEOUT_MS));
    assert_int_equal(rail->closes, 0);
    /* The log is not flooded with one line per failed accept, after both floods. */
    char *log = feltd_log(&bb.srv);
    int lines = 0;
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
        lines += strstr(line, "descriptors") || strstr(line, "errno");
    free(log);
    print_message("fd_exhaustion: %d log line(s) about descriptors\n", lines);
    assert_true(lines < 10);
    for (int i = 0; i < FD_FLOOD; i++)
        close(fds[i]);
    healthz(&bb);
    stop_clean(&bb);
    wrapper_remove();
}

static void test_hello_timeout(void **state)
{
    static struct bb bb;
    struct joined q;
    (void)state;
    START(&bb, "--hand-delay", "600000", "--hello-secs", "2");
    join_ok(&bb, "other", "quiet", &q);
    struct tc *talker = tc_join(&bb, "talker", "other", false);
    struct tc *quiet = tc_player(&bb, "quiet", "other", q.id, NULL, false); /* no hello */
    struct tc *spec = tc_spectator(&bb, "spec", "other", false);
    assert_true(BB_WAIT(&bb, quiet->opens > 0 || quiet->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(quiet->opens, 1);
    int64_t t0 = now_ms();
    wait_snapshot(&bb, talker);
    wait_snapshot(&bb, spec);
    assert_true(BB_WAIT(&bb, quiet->closes > 0, 8000));
    int64_t took = now_ms() - t0;
    print_message("hello_timeout: the silent socket was closed after %.1f s with %d\n",
                  (double)took / 1000.0, quiet->close_code);
    assert_int_equal(quiet->close_code, 4408);
    assert_true(took >= 1500); /* it had its 2 s */
    assert_int_equal(tc_count(quiet, PROTO_S_SNAPSHOT), 0);
    /* Well past the deadline, the socket that said hello and the silent spectator are open. */
    (void)BB_WAIT(&bb, talker->closes || spec->closes, 1500); /* lets the time pass */
    assert_int_equal(talker->closes, 0);
    assert_int_equal(spec->closes, 0);
    expect_alive(&bb, talker);
    expect_alive(&bb, spec);
    stop_clean(&bb);
}

/* GET .../state (since >= 0: ?since=), parsed. */
static json_object *poll_state(struct bb *bb, const char *game, int64_t since, const char *bearer)
{
    char path[128];
    struct http_reply r;
    if (since >= 0)
        snprintf(path, sizeof(path), "/api/games/%s/state?since=%lld", game, (long long)since);
    else
        snprintf(path, sizeof(path), "/api/games/%s/state", game);
    bb_http(bb, path, NULL, bearer, &r);
    assert_int_equal(r.status, 200);
    json_object *j = json_object_get(r.json);
    http_reply_free(&r);
    assert_non_null(j);
    return j;
}

static void test_poll_far_behind(void **state)
{
    static struct bb bb;
    (void)state;
    START(&bb, "--bots", "3", "--bot-delay", "0", "--hand-delay", "0");
    struct tc *rail = tc_spectator(&bb, "rail", "main", false);
    wait_snapshot(&bb, rail);
    assert_true(BB_WAIT(&bb, rail->max_seq > 300 || rail->closes, BB_TIMEOUT_MS));
    json_object *j = poll_state(&bb, "main", -1, NULL);
    int64_t seq = jint(j, "seq", -1);
    json_object_put(j);
    assert_true(seq > 300);

    /* since=1: event 2 is still in the history (4,096 game events by default)... */
    j = poll_state(&bb, "main", 1, NULL);
    int64_t now = jint(j, "seq", -1);
    json_object *evs = jget(j, "events");
    print_message("poll_far_behind: seq %lld; since=1 answered with %zu event(s)\n", (long long)now,
                  evs ? json_object_array_length(evs) : 0);
    assert_true(now < 4000);
    /* ... yet a poll that far behind gets one snapshot, not hundreds of events. */
    assert_non_null(evs);
    assert_int_equal(json_object_array_length(evs), 1);
    assert_string_equal(jstr(json_object_array_get_idx(evs, 0), "type"), "snapshot");
    json_object_put(j);

    /* A few events behind: exactly those events, in order, no snapshot. */
    int64_t since = now - 5;
    j = poll_state(&bb, "main", since, NULL);
    now = jint(j, "seq", -1);
    evs = jget(j, "events");
    assert_non_null(evs);
    assert_true(now - since >= 5);
    assert_int_equal((int64_t)json_object_array_length(evs), now - since);
    for (size_t i = 0; i < json_object_array_length(evs); i++) {
        json_object *e = json_object_array_get_idx(evs, i);
        assert_string_not_equal(jstr(e, "type"), "snapshot");
        assert_int_equal(jint(e, "seq", -1), since + 1 + (int64_t)i);
    }
    json_object_put(j);
    stop_clean(&bb);
}

/* ---- B4: chat -------------------------------------------------------------------------------- */

static void test_spectator_chat_default(void **state)
{
    static struct bb bb;
    (void)state;
    START(&bb, "--hand-delay", "600000");
    struct tc *a = tc_spectator(&bb, "a", "other", false);
    struct tc *b = tc_spectator(&bb, "b", "other", false);
    wait_snapshot(&bb, a);
    wait_snapshot(&bb, b);
    expect_error(&bb, a, "{\"type\":\"chat\",\"text\":\"psst\"}", "chat_disabled");
    /* A player's chat still goes out; the spectator's never did. */
    struct tc *p = tc_join(&bb, "pat", "other", false);
    wait_snapshot(&bb, p);
    tc_send(p, "{\"type\":\"chat\",\"text\":\"from a player\"}");
    assert_true(BB_WAIT(&bb, count_chats(b, "from a player") == 1 || b->closes, BB_TIMEOUT_MS));
    assert_int_equal(count_chats(b, "psst"), 0);
    assert_int_equal(count_chats(b, NULL), 1);
    stop_clean(&bb);

    START(&bb, "--hand-delay", "600000", "--spectator-chat");
    a = tc_spectator(&bb, "a", "other", false);
    b = tc_spectator(&bb, "b", "other", false);
    wait_snapshot(&bb, a);
    wait_snapshot(&bb, b);
    tc_send(a, "{\"type\":\"chat\",\"text\":\"psst\"}");
    assert_true(BB_WAIT(&bb, count_chats(b, "psst") == 1 || b->closes, BB_TIMEOUT_MS));
    json_object *c = tc_last(b, PROTO_S_CHAT, "text", "psst");
    assert_true(jbool(c, "spectator", false));
    assert_int_equal(count_errors(a, NULL), 0);
    stop_clean(&bb);
}

/* nplayers players at other each send per chats at once; returns how many the spectator saw
 * (every message is accounted for: seen, or refused with rate_limited) and the time it took. */
static size_t chat_burst(struct bb *bb, int nplayers, int per, size_t *limited, double *secs)
{
    struct tc *ps[8], *spec = tc_spectator(bb, "spec", "other", false);
    char name[16], msg[96];
    wait_snapshot(bb, spec);
    for (int i = 0; i < nplayers; i++) {
        snprintf(name, sizeof(name), "ch%d", i);
        ps[i] = tc_join(bb, name, "other", false);
        wait_snapshot(bb, ps[i]);
    }
    int64_t t0 = now_ms();
    for (int k = 0; k < per; k++)
        for (int i = 0; i < nplayers; i++) {
            snprintf(msg, sizeof(msg), "{\"type\":\"chat\",\"text\":\"m%d-%d\"}", i, k);
            tc_send(ps[i], msg);
        }
    size_t total = (size_t)(nplayers * per);
#define CHAT_ERRS()                                                                                \
    ({                                                                                             \
        size_t e_ = 0;                                                                             \
        for (int i_ = 0; i_ < nplayers; i_++)                                                      \
            e_ += count_errors(ps[i_], NULL);                                                      \
        e_;                                                                                        \
    })
    if (!BB_WAIT(bb, count_chats(spec, NULL) + CHAT_ERRS() >= total, BB_TIMEOUT_MS))
        print_error("chat: %zu seen, %zu refused of %zu\n", count_chats(spec, NULL), CHAT_ERRS(),
                    total);
    *secs = (double)(now_ms() - t0) / 1000.0;
    assert_int_equal(count_chats(spec, NULL) + CHAT_ERRS(), total);
#undef CHAT_ERRS
    *limited = 0;
    for (int i = 0; i < nplayers; i++) {
        *limited += count_errors(ps[i], "rate_limited");
        assert_int_equal(ps[i]->closes, 0);
    }
    return count_chats(spec, NULL);
}

static void test_chat_per_address(void **state)
{
    static struct bb bb;
    size_t limited;
    double secs;
    (void)state;
    START(&bb, "--hand-delay", "600000", "--chat-per-address", "4", "--chat-per-table", "0",
          "--seats-per-address", "0", "--joins-per-minute", "0");
    size_t seen = chat_burst(&bb, 4, 2, &limited, &secs);
    size_t allowance = (size_t)(0.4 * secs) + 1; /* the bucket refills at 4 per 10 s */
    print_message("chat_per_address: %zu of 8 accepted, %zu rate_limited, in %.2f s\n", seen,
                  limited, secs);
    assert_true(seen >= 4);
    assert_true(seen <= 4 + allowance);
    assert_true(limited >= 1);
    assert_int_equal(seen + limited, 8);
    stop_clean(&bb);
}

static void test_chat_per_table(void **state)
{
    static struct bb bb;
    size_t limited;
    double secs;
    (void)state;
    START(&bb, "--hand-delay", "600000", "--chat-per-address", "0", "--chat-per-table", "5",
          "--seats-per-address", "0", "--joins-per-minute", "0");
    size_t seen = chat_burst(&bb, 4, 3, &limited, &secs);
    size_t allowance = (size_t)(0.5 * secs) + 1; /* the bucket refills at 5 per 10 s */
    print_message("chat_per_table: %zu of 12 accepted, %zu rate_limited, in %.2f s\n", seen,
                  limited, secs);
    assert_true(seen >= 5);
    assert_true(seen <= 5 + allowance);
    assert_true(limited >= 1);
    assert_int_equal(seen + limited, 12);
    stop_clean(&bb);
}

#define CHAT_SOCKETS 300
#define CHAT_PER_SOCKET 5 /* the per-connection chat limit: 5 per 10 s */

/* One spectator socket sends CHAT_PER_SOCKET chats and a ping, and waits for the pong (by then
 * the chats were handled). Returns the errors it got, or -1. */
static int chat_socket(int port, int k)
{
    struct rawws_reader rd = {0};
    struct rawws_msg m;
    char text[96];
    int status, errors = 0, rc = -1;
    int fd = rawws_connect(port, "/ws/spectate/main", &status);
    if (fd < 0) return -1;
    for (int i = 0; i < CHAT_PER_SOCKET; i++) {
        int n = snprintf(text, sizeof(text), "{\"type\":\"chat\",\"text\":\"s%d-%d\"}", k, i);
        if (rawws_send_text(fd, text, (size_t)n) != 0) goto out;
    }
    if (rawws_send_text(fd, "{\"type\":\"ping\",\"id\":9}", 22) != 0) goto out;
    while (rawws_recv(fd, &rd, &m, BB_TIMEOUT_MS) == 1) {
        bool pong = strstr(m.data, "\"type\":\"pong\"") != NULL;
        errors += strstr(m.data, "\"type\":\"error\"") != NULL;
        rawws_msg_free(&m);
        if (pong) {
            rc = errors;
            break;
        }
    }
out:
    rawws_reader_free(&rd);
    close(fd);
    return rc;
}

static void test_chat_history(void **state)
{
    static struct bb bb;
    (void)state;
    /* Bots at main at a 100 ms pace: game events flow, but far fewer than the history's 1,024
     * while the player is away; chat fills the rest. */
    START(&bb, "--bots", "2", "--bot-delay", "100", "--hand-delay", "100", "--history", "1024",
          "--spectator-chat", "--chat-per-address", "0", "--chat-per-table", "0", "--sitout-hands",
          "0");
    struct tc *rail = tc_spectator(&bb, "rail", "main", false);
    wait_snapshot(&bb, rail);
    struct tc *p = tc_join(&bb, "away", "main", false);
    wait_snapshot(&bb, p);
    char id[32], token[160];
    snprintf(id, sizeof(id), "%s", p->player_id);
    snprintf(token, sizeof(token), "%s", p->token);
    /* Sat out, so the hands go on without them while they are away. */
    tc_send(p, "{\"type\":\"sit_out\"}");
    assert_true(BB_WAIT(&bb, find_seat(p, 0, "sat_out", id) >= 0 || p->closes, BB_TIMEOUT_MS));
    uint64_t h0 = p->max_seq;
    assert_true(BB_WAIT(&bb, p->max_seq > h0 + 3 || p->closes, BB_TIMEOUT_MS)); /* hands go on */
    uint64_t last = p->max_seq;
    size_t rail_from = rail->n;
    tc_free(p);
    /* Gone for the server too before the chat starts. */
    assert_true(BB_WAIT(&bb,
                        find_note(rail, rail_from, "player_disconnected", id) >= 0 || rail->closes,
                        BB_TIMEOUT_MS));
    assert_int_equal(rail->closes, 0);

    /* While they are away: 1,500 chat messages from 300 spectator sockets. */
    int64_t t0 = now_ms();
    int errors = 0;
    for (int k = 0; k < CHAT_SOCKETS; k++) {
        int e = chat_socket(bb.srv.port, k);
        if (e < 0) print_error("chat socket %d failed\n", k);
        assert_true(e >= 0);
        errors += e;
    }
    assert_int_equal(errors, 0);
    json_object *j = poll_state(&bb, "main", -1, NULL);
    uint64_t target = (uint64_t)jint(j, "seq", 0);
    json_object_put(j);
    print_message("chat_history: %d chats pushed in %.1f s; away from seq %llu to %llu\n",
                  CHAT_SOCKETS * CHAT_PER_SOCKET, (double)(now_ms() - t0) / 1000.0,
                  (unsigned long long)last, (unsigned long long)target);

    /* Back, resuming from the last seq seen. */
    p = tc_player(&bb, "back", "main", id, token, false);
    p->resume = true;
    p->max_seq = last;
    if (!BB_WAIT(&bb, p->max_seq >= target || p->closes || p->bad, 2 * BB_TIMEOUT_MS))
        print_error("resumed to %llu of %llu\n", (unsigned long long)p->max_seq,
                    (unsigned long long)target);
    assert_tc_ok(p);
    assert_int_equal(p->closes, 0);
    assert_true(p->max_seq >= target);
    assert_int_equal(tc_count(p, PROTO_S_SNAPSHOT), 0);
    /* Every seq after last, gap-free, each exactly once. */
    uint64_t want = last + 1;
    size_t chats = 0, expired = 0, game = 0;
    for (size_t i = 0; i < p->n; i++) {
        const struct rmsg *m = &p->msgs[i];
        if (!m->has_seq) continue;
        if (m->seq != want)
            print_error("after seq %llu came %llu (%s)\n", (unsigned long long)want - 1,
                        (unsigned long long)m->seq, proto_stype_name(m->type));
        assert_int_equal(m->seq, want);
        want++;
        if (m->type == PROTO_S_CHAT) {
            chats++;
            expired += jbool(m->data, "expired", false);
        } else {
            game++;
        }
    }
    print_message("chat_history: resumed with %zu chats (%zu expired) and %zu game events\n", chats,
                  expired, game);
    assert_true(game < 1024); /* the premise: the game events while away all fit the history */
    assert_true(game >= 1);
    assert_true(chats >= (size_t)CHAT_SOCKETS * CHAT_PER_SOCKET);
    assert_true(expired >= 1);
    assert_true(expired < chats);
    stop_clean(&bb);
}

static void test_churn(void **state)
{
    static struct bb bb;
    char name[16];
    (void)state;
    START(&bb, "--hand-delay", "600000", "--joins-per-minute", "4", "--seats-per-address", "0");
    /* Join over HTTP, leave over the player's socket: two tokens a cycle. */
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof(name), "churn%d", i);
        struct tc *p = tc_join(&bb, name, "other", false);
        wait_snapshot(&bb, p);
        tc_send(p, "{\"type\":\"leave\"}");
        assert_true(BB_WAIT(&bb, p->closes > 0, BB_TIMEOUT_MS));
        assert_int_equal(p->close_code, 1000);
        assert_int_equal(seats_taken(&bb, "other"), 0);
    }
    join_refused(&bb, "other", "churn2", 429, "rate_limited");
    assert_int_equal(seats_taken(&bb, "other"), 0);
    stop_clean(&bb);
}

/* ---- signals --------------------------------------------------------------------------------- */

static void test_sighup(void **state)
{
    static struct bb bb;
    (void)state;
    /* SIGUSR1 means nothing: feltd goes on, then stops cleanly on SIGTERM. */
    START(&bb, "--hand-delay", "600000");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    wait_snapshot(&bb, spec);
    assert_int_equal(kill(bb.srv.pid, SIGUSR1), 0);
    healthz(&bb);
    expect_alive(&bb, spec);
    assert_true(feltd_running(&bb.srv));
    stop_clean(&bb);

    /* SIGHUP: the same as SIGTERM: clients get 1001, feltd exits 0 by itself. */
    START(&bb, "--hand-delay", "600000");
    spec = tc_spectator(&bb, "spec", "main", false);
    wait_snapshot(&bb, spec);
    assert_int_equal(kill(bb.srv.pid, SIGHUP), 0);
    assert_true(BB_WAIT(&bb, spec->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(spec->close_code, 1001);
    assert_true(wait_exit(&bb.srv, BB_TIMEOUT_MS));
    stop_clean(&bb); /* collects the exit status */
}

/* ---- stale request ids ----------------------------------------------------------------------- */

/* Waits until it is p's turn in a hand after `after`; returns that hand's id. */
static int64_t wait_my_turn(struct bb *bb, struct tc *p, int64_t after)
{
#define MY_TURN()                                                                                  \
    (p->to_act && jstr(p->to_act, "player_id") &&                                                  \
     strcmp(jstr(p->to_act, "player_id"), p->player_id) == 0 &&                                    \
     jint(p->to_act, "hand_id", -1) > after)
    if (!BB_WAIT(bb, MY_TURN() || p->closes || p->bad, 3 * BB_TIMEOUT_MS))
        print_error("%s: no turn in a hand after %lld\n", p->name, (long long)after);
    assert_tc_ok(p);
    assert_true(MY_TURN());
#undef MY_TURN
    return jint(p->to_act, "hand_id", -1);
}

/* The k-th ack (0-based) p received, waiting for it; returns its index in p->msgs. */
static long wait_ack(struct bb *bb, struct tc *p, size_t k)
{
    assert_true(BB_WAIT(bb, tc_count(p, PROTO_S_ACK) > k || p->closes || p->bad, BB_TIMEOUT_MS));
    size_t seen = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->msgs[i].type == PROTO_S_ACK && seen++ == k) return (long)i;
    fail();
    return -1;
}

/* Action updates by player_id in hand from index from. */
static size_t actions_in_hand(const struct tc *t, size_t from, const char *player_id, int64_t hand)
{
    size_t n = 0;
    for (size_t i = from; i < t->n; i++) {
        const struct rmsg *m = &t->msgs[i];
        const char *ev = jstr(m->data, "event"), *pid = jstr(m->data, "player_id");
        n += m->type == PROTO_S_STATE_UPDATE && ev && strcmp(ev, "action") == 0 && pid &&
             strcmp(pid, player_id) == 0 && jint(m->data, "hand_id", -1) == hand;
    }
    return n;
}

static void test_stale_request(void **state)
{
    static struct bb bb;
    (void)state;
    START(&bb, "--table", "main:2:5/10:1000", "--bots", "1", "--bot-delay", "0", "--hand-delay",
          "100");
    struct tc *p = tc_join(&bb, "heads", "main", false);
    wait_snapshot(&bb, p);

    /* Hand N, our turn: r1 is a raise of 1 (under the minimum: rejected, the hand waits on
     * us); the same r1 again within hand N gets the very same ack. */
    int64_t n = wait_my_turn(&bb, p, 0);
    tc_act(p, "raise", 1, n, "r1");
    long a0 = wait_ack(&bb, p, 0);
    assert_string_equal(jstr(p->msgs[a0].data, "status"), "rejected");
    tc_act(p, "raise", 1, n, "r1");
    long a1 = wait_ack(&bb, p, 1);
    assert_string_equal(p->msgs[a1].raw, p->msgs[a0].raw);
    /* Fold (a fresh id) to end hand N. */
    tc_act(p, "fold", 0, n, "f1");
    long a2 = wait_ack(&bb, p, 2);
    assert_string_equal(jstr(p->msgs[a2].data, "status"), "accepted");

    /* A later hand, our turn: r1 again, a legal fold this time, is stale: refused, not
     * applied, and not answered with hand N's ack. */
    int64_t m = wait_my_turn(&bb, p, n);
    size_t from = p->n;
    tc_act(p, "fold", 0, m, "r1");
    long a3 = wait_ack(&bb, p, 3);
    json_object *ack = p->msgs[a3].data;
    print_message("stale_request: hand %lld's r1 resent in hand %lld: %s\n", (long long)n,
                  (long long)m, p->msgs[a3].raw);
    assert_string_equal(jstr(ack, "request_id"), "r1");
    assert_string_equal(jstr(ack, "status"), "rejected");
    assert_non_null(jstr(ack, "code"));
    assert_string_equal(jstr(ack, "code"), "stale_request");
    /* Nothing applied: a chat marker sent after it comes back with no action of ours before
     * it in hand m, and it is still our turn. */
    tc_send(p, "{\"type\":\"chat\",\"text\":\"marker\"}");
    assert_true(BB_WAIT(&bb, count_chats(p, "marker") == 1 || p->closes, BB_TIMEOUT_MS));
    assert_int_equal(actions_in_hand(p, from, p->player_id, m), 0);
    assert_string_equal(jstr(p->to_act, "player_id"), p->player_id);
    assert_int_equal(jint(p->to_act, "hand_id", -1), m);
    /* A fresh id is taken. */
    tc_act(p, "fold", 0, m, "f2");
    long a4 = wait_ack(&bb, p, 4);
    assert_string_equal(jstr(p->msgs[a4].data, "status"), "accepted");
    assert_tc_ok(p);
    stop_clean(&bb);
}

/* ---- B5: names ------------------------------------------------------------------------------- */

static void test_names(void **state)
{
    static struct bb bb;
    struct joined j;
    struct http_reply r;
    (void)state;
    START(&bb, "--hand-delay", "600000", "--seats-per-address", "0", "--joins-per-minute", "0");
    join_ok(&bb, "other", "ann", &j);
    char ann_token[160];
    snprintf(ann_token, sizeof(ann_token), "%s", j.token);
    /* The same name folded: case, an invisible soft hyphen, a Cyrillic look-alike. */
    static const char *const same[] = {"Ann", "ann\\u00ad", "\\u0430nn"};
    for (size_t i = 0; i < FELT_ARRAY_LEN(same); i++) {
        join_http(&bb, "other", same[i], &j);
        if (j.status != 409 || strcmp(j.code, "name_taken") != 0)
            print_error("name %s: %d %s, want 409 name_taken\n", same[i], j.status, j.code);
        assert_int_equal(j.status, 409);
        assert_string_equal(j.code, "name_taken");
    }
    /* Nothing visible. */
    join_http(&bb, "other", "\\u3164", &j);
    if (j.status != 400) print_error("name U+3164: %d %s, want 400\n", j.status, j.code);
    assert_int_equal(j.status, 400);
    assert_true(strcmp(j.code, "bad_name") == 0 || strcmp(j.code, "bad_field") == 0);
    /* Reserved. */
    static const char *const reserved[] = {"server", "[server]", "Spectator", "felt"};
    for (size_t i = 0; i < FELT_ARRAY_LEN(reserved); i++) {
        join_http(&bb, "other", reserved[i], &j);
        if (j.status != 400 || strcmp(j.code, "reserved_name") != 0)
            print_error("name %s: %d %s, want 400 reserved_name\n", reserved[i], j.status, j.code);
        assert_int_equal(j.status, 400);
        assert_string_equal(j.code, "reserved_name");
    }
    assert_int_equal(seats_taken(&bb, "other"), 1);

    /* A letter under 270 combining accents arrives with at most 2. */
    struct tc *spec = tc_spectator(&bb, "spec", "other", false);
    wait_snapshot(&bb, spec);
    size_t cap = 64 + 270 * 2;
    char *body = xmalloc(cap);
    size_t len = (size_t)snprintf(body, cap, "{\"text\":\"a");
    for (int i = 0; i < 270; i++) {
        body[len++] = (char)0xcc; /* U+0301 in UTF-8 */
        body[len++] = (char)0x81;
    }
    len += (size_t)snprintf(body + len, cap - len, "\"}");
    bb_http(&bb, "/api/games/other/chat", body, ann_token, &r);
    if (r.status != 200) print_error("zalgo chat: %d %s\n", r.status, r.body);
    assert_int_equal(r.status, 200);
    http_reply_free(&r);
    free(body);
    assert_true(BB_WAIT(&bb, count_chats(spec, NULL) >= 1 || spec->closes, BB_TIMEOUT_MS));
    const char *text = jstr(tc_last(spec, PROTO_S_CHAT, NULL, NULL), "text");
    assert_non_null(text);
    int marks = 0;
    for (const char *s = text; (s = strstr(s, "\xcc\x81")); s += 2)
        marks++;
    print_message("names: the chat arrived as %zu bytes with %d combining acute(s)\n", strlen(text),
                  marks);
    assert_true(text[0] == 'a');
    assert_true(marks <= 2);
    stop_clean(&bb);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_http_body_loop, teardown),
        cmocka_unit_test_teardown(test_http_pipelining, teardown),
        cmocka_unit_test_teardown(test_http_te_cl, teardown),
        cmocka_unit_test_teardown(test_http_methods, teardown),
        cmocka_unit_test_teardown(test_http_strict_body, teardown),
        cmocka_unit_test_teardown(test_seat_idle, teardown),
        cmocka_unit_test_teardown(test_seat_sitout, teardown),
        cmocka_unit_test_teardown(test_join_rate, teardown),
        cmocka_unit_test_teardown(test_seats_per_address, teardown),
        cmocka_unit_test_teardown(test_trust_proxy, teardown),
        cmocka_unit_test_teardown(test_conn_cap, teardown),
        cmocka_unit_test_teardown(test_fd_exhaustion, teardown),
        cmocka_unit_test_teardown(test_hello_timeout, teardown),
        cmocka_unit_test_teardown(test_poll_far_behind, teardown),
        cmocka_unit_test_teardown(test_spectator_chat_default, teardown),
        cmocka_unit_test_teardown(test_chat_per_address, teardown),
        cmocka_unit_test_teardown(test_chat_per_table, teardown),
        cmocka_unit_test_teardown(test_chat_history, teardown),
        cmocka_unit_test_teardown(test_churn, teardown),
        cmocka_unit_test_teardown(test_sighup, teardown),
        cmocka_unit_test_teardown(test_stale_request, teardown),
        cmocka_unit_test_teardown(test_names, teardown),
    };
    if (argc < 2) {
        fprintf(stderr, "usage: %s FELTD_PATH [TEST_NAME]\n", argv[0]);
        return 2;
    }
    feltd_path = argv[1];
    signal(SIGPIPE, SIG_IGN);
    if (argc > 2) {
        char pattern[128];
        snprintf(pattern, sizeof(pattern), "test_%s", argv[2]);
        cmocka_set_test_filter(pattern);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
