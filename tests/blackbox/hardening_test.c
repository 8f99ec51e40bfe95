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
 * This file holds what the cases share (hardening_test.h: starting feltd with its own limits,
 * feltd's CPU time and memory, a raw TCP and HTTP client, joins and the lobby) and the table of
 * cases; the cases are in hardening_test_<topic>.c (http, seats, conns, chat).
 *
 * Usage: hardening_test FELTD_PATH TEST_NAME
 * Waits are bounded (BB_TIMEOUT_MS or less) so a missing event fails instead of hanging. A few
 * cases must let time pass (a seat going idle, the hello deadline, sampling feltd's CPU time to
 * tell a spinning loop from an idle one); each says so where it waits. The CPU bounds are there to
 * catch a busy loop (a whole core), not to measure performance.
 */
#define _GNU_SOURCE /* asprintf, memmem */
#include "hardening_test.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

const char *feltd_path;

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- starting and stopping feltd ------------------------------------------------------------- */

/* Starts path with args and feltd's own defaults for the limits; tables main and other (6 seats)
 * unless args name tables themselves. */
void start_path(struct bb *bb, const char *path, const char *const *extra)
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
    bb_running = bb;
}

/* Waits up to ms for feltd to exit by itself (its stdout reaches EOF). */
bool wait_exit(struct feltd *f, int ms)
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

void wait_snapshot(struct bb *bb, struct tc *t)
{
    assert_non_null(t);
    if (!BB_WAIT(bb, tc_count(t, PROTO_S_SNAPSHOT) >= 1 || t->closes > 0 || t->bad, BB_TIMEOUT_MS))
        print_error("client %s: no snapshot\n", t->name);
    if (t->closes)
        print_error("client %s closed with %d %s\n", t->name, t->close_code, t->close_reason);
    bb_assert_tc_ok(t);
    assert_int_equal(t->closes, 0);
    assert_true(tc_count(t, PROTO_S_SNAPSHOT) >= 1);
}

/* The index of the seat state_update with this change for player_id from index from, or -1. */
long find_seat(const struct tc *t, size_t from, const char *change, const char *player_id)
{
    for (size_t i = from; i < t->n; i++) {
        const struct rmsg *m = &t->msgs[i];
        const char *ev = jval_str(m->data, "event"), *ch = jval_str(m->data, "change");
        const char *pid = jval_str(jval_get(m->data, "player"), "player_id");
        if (m->type == PROTO_S_STATE_UPDATE && ev && strcmp(ev, "seat") == 0 && ch &&
            strcmp(ch, change) == 0 && pid && strcmp(pid, player_id) == 0)
            return (long)i;
    }
    return -1;
}

size_t count_chats(const struct tc *t, const char *text)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const char *s = jval_str(t->msgs[i].data, "text");
        n += t->msgs[i].type == PROTO_S_CHAT && (!text || (s && strcmp(s, text) == 0));
    }
    return n;
}

size_t count_errors(const struct tc *t, const char *code)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const char *c = jval_str(t->msgs[i].data, "code");
        n += t->msgs[i].type == PROTO_S_ERROR && (!code || (c && strcmp(c, code) == 0));
    }
    return n;
}

/* Sends json and returns the data of the next error the client gets. */
json_object *expect_error(struct bb *bb, struct tc *t, const char *json, const char *code)
{
    size_t from = t->n;
    tc_send(t, json);
    if (!BB_WAIT(bb, tc_find(t, from, PROTO_S_ERROR, NULL, NULL) >= 0 || t->closes || t->bad,
                 BB_TIMEOUT_MS))
        print_error("%s: no error after %.200s\n", t->name, json);
    long i = tc_find(t, from, PROTO_S_ERROR, NULL, NULL);
    assert_true(i >= 0);
    const char *got = jval_str(t->msgs[i].data, "code");
    if (code && (!got || strcmp(got, code) != 0))
        print_error("%s: %.200s -> error %s, want %s\n", t->name, json, got ? got : "?", code);
    assert_non_null(got);
    if (code) assert_string_equal(got, code);
    return t->msgs[i].data;
}

/* The socket still works: a ping is answered. */
void expect_alive(struct bb *bb, struct tc *t)
{
    size_t from = t->n;
    tc_send(t, "{\"type\":\"ping\",\"id\":77}");
    assert_true(
        BB_WAIT(bb, tc_find(t, from, PROTO_S_PONG, NULL, NULL) >= 0 || t->closes, BB_TIMEOUT_MS));
    assert_int_equal(t->closes, 0);
}

/* ---- feltd's process: CPU time and resident memory ------------------------------------------- */

/* utime + stime of pid in seconds (from /proc/PID/stat), or -1. */
double proc_cpu_s(pid_t pid)
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

/* Lets ms pass (no event is awaited: the test samples what the server does meanwhile). */
void let_time_pass(int ms)
{
    poll(NULL, 0, ms);
}

/* ---- raw TCP and HTTP ------------------------------------------------------------------------ */

/* Connects to 127.0.0.1:port within ms; returns a blocking socket or -1. */
int tcp_connect(int port, int ms)
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

int tcp_write_all(int fd, const char *buf, size_t n)
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

static void hx_clear_responses(struct hx *x)
{
    for (int i = 0; i < x->n; i++) {
        free(x->r[i].body);
        json_object_put(x->r[i].json);
    }
    memset(x->r, 0, sizeof(x->r));
    x->n = 0;
}

void hx_free(struct hx *x)
{
    hx_clear_responses(x);
    free(x->raw);
    memset(x, 0, sizeof(*x));
}

/* The value of header name (case-insensitive) in a response head, copied to out; false if
 * absent. */
bool hdr_get(const char *head, const char *name, char *out, size_t cap)
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
        r->json = jval_parse(r->body, blen);
        off += hlen + blen;
        x->n++;
    }
    x->extra = x->len - off;
}

/* Reads from fd into x until EOF, a reset, ms passing, or (want > 0) want complete responses. */
void hx_read(int fd, struct hx *x, int ms, int want, const char *heads)
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
void raw_http(int port, const char *req, size_t len, const char *heads, int want, int ms,
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

void raw_http_s(int port, const char *req, int want, struct hx *x)
{
    raw_http(port, req, strlen(req), NULL, want, BB_TIMEOUT_MS, x);
}

void hx_dump(const struct hx *x, const char *what)
{
    print_message("%s: %zu bytes%s%s, %d response(s), %zu extra: %.600s\n", what, x->len,
                  x->eof ? ", then closed" : "", x->reset ? " (reset)" : "", x->n, x->extra,
                  x->raw ? x->raw : "");
}

/* The code of an HTTP error answer ({"type":"error","data":{"code":...}}), or NULL. */
const char *err_code(json_object *json)
{
    return jval_str(jval_get(json, "data"), "code");
}

/* A POST request with a JSON body and optional extra header lines (each ending in \r\n). */
char *post_req(const char *path, const char *body, const char *headers)
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
const struct hresp *expect_one_then_close(const struct hx *x, const char *what)
{
    if (x->n != 1 || !x->eof || x->extra != 0) hx_dump(x, what);
    assert_int_equal(x->n, 1);
    assert_int_equal(x->extra, 0);
    assert_true(x->eof);
    return &x->r[0];
}

void expect_code(const struct hresp *r, int status, const char *code)
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

static void joined_from(struct joined *j, int status, json_object *json)
{
    memset(j, 0, sizeof(*j));
    j->status = status;
    snprintf(j->code, sizeof(j->code), "%s", err_code(json) ? err_code(json) : "");
    snprintf(j->id, sizeof(j->id), "%s", jval_str(json, "player_id") ? jval_str(json, "player_id") : "");
    snprintf(j->token, sizeof(j->token), "%s", jval_str(json, "token") ? jval_str(json, "token") : "");
}

/* Joins game over HTTP with the name as JSON string content (escapes allowed). */
void join_http(struct bb *bb, const char *game, const char *name, struct joined *j)
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

void join_ok(struct bb *bb, const char *game, const char *name, struct joined *j)
{
    join_http(bb, game, name, j);
    if (j->status != 200) print_error("join of %s at %s: %d %s\n", name, game, j->status, j->code);
    assert_int_equal(j->status, 200);
}

void join_refused(struct bb *bb, const char *game, const char *name, int status, const char *code)
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
void join_raw(int port, const char *game, const char *name, const char *headers, struct joined *j)
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
    json_object *games = jval_get(r.json, "games");
    for (size_t i = 0; games && i < json_object_array_length(games); i++) {
        json_object *g = json_object_array_get_idx(games, i);
        if (jval_str(g, "id") && strcmp(jval_str(g, "id"), game) == 0) found = json_object_get(g);
    }
    http_reply_free(&r);
    assert_non_null(found);
    return found;
}

int64_t seats_taken(struct bb *bb, const char *game)
{
    json_object *g = lobby_game(bb, game);
    int64_t n = jval_int(g, "seats_taken", -1);
    json_object_put(g);
    return n;
}

/* How many players named name (exactly) sit at game. */
int players_named(struct bb *bb, const char *game, const char *name)
{
    json_object *g = lobby_game(bb, game), *ps = jval_get(g, "players");
    int n = 0;
    for (size_t i = 0; ps && i < json_object_array_length(ps); i++) {
        const char *s = jval_str(json_object_array_get_idx(ps, i), "name");
        n += s && strcmp(s, name) == 0;
    }
    json_object_put(g);
    return n;
}

void healthz(struct bb *bb)
{
    struct http_reply r;
    bb_http(bb, "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(jval_bool(r.json, "ok", false));
    http_reply_free(&r);
}

/* GET .../state (since >= 0: ?since=), parsed. */
json_object *poll_state(struct bb *bb, const char *game, int64_t since, const char *bearer)
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

/* ---- the cases ----------------------------------------------------------------------------- */

/* The cases, in the order they run without a name; ctest registers one per row (bb_main.h). */
static const struct bb_test hardening_tests[] = {
    BB_TEST(http_body_loop),
    BB_TEST(http_pipelining),
    BB_TEST(http_te_cl),
    BB_TEST(http_methods),
    BB_TEST(http_strict_body),
    BB_TEST(seat_idle),
    BB_TEST(seat_sitout),
    BB_TEST(join_rate),
    BB_TEST(seats_per_address),
    BB_TEST(trust_proxy),
    BB_TEST(conn_cap),
    BB_TEST(fd_exhaustion),
    BB_TEST(hello_timeout),
    BB_TEST(poll_far_behind),
    BB_TEST(spectator_chat_default),
    BB_TEST(chat_per_address),
    BB_TEST(chat_per_table),
    BB_TEST(chat_history),
    BB_TEST(churn),
    BB_TEST(sighup),
    BB_TEST(stale_request),
    BB_TEST(names),
};

int main(int argc, char **argv)
{
    return bb_main(argc, argv, &feltd_path, hardening_tests, FELT_ARRAY_LEN(hardening_tests),
                   wrapper_remove);
}
