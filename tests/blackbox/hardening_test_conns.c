/*
 * hardening_test_conns.c: connections and the process (hardening_test.h): the cap per address,
 * running out of descriptors (feltd under ulimit -n, through a wrapper script), the hello
 * deadline for silent sockets, polls far behind the history, and SIGHUP.
 */
#include "hardening_test.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- B3: connections ------------------------------------------------------------------------- */

static char wrapper_dir[64]; /* fd_exhaustion's wrapper script, removed by wrapper_remove */

/* Removes fd_exhaustion's wrapper script (bb_main's cleanup after every case). */
void wrapper_remove(void)
{
    char path[128];
    if (!wrapper_dir[0]) return;
    snprintf(path, sizeof(path), "%s/feltd-nofile.sh", wrapper_dir);
    unlink(path);
    rmdir(wrapper_dir);
    wrapper_dir[0] = '\0';
}

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

void test_conn_cap(void **state)
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
    bb_stop_clean(&bb);
}

#define FD_LIMIT 128
#define FD_FLOOD 200

void test_fd_exhaustion(void **state)
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
    assert_true(jval_bool(x.r[0].json, "ok", false));
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
    bb_assert_tc_ok(rail);
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
    bb_stop_clean(&bb);
    wrapper_remove();
}

void test_hello_timeout(void **state)
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
    bb_stop_clean(&bb);
}

void test_poll_far_behind(void **state)
{
    static struct bb bb;
    (void)state;
    START(&bb, "--bots", "3", "--bot-delay", "0", "--hand-delay", "0");
    struct tc *rail = tc_spectator(&bb, "rail", "main", false);
    wait_snapshot(&bb, rail);
    assert_true(BB_WAIT(&bb, rail->max_seq > 300 || rail->closes, BB_TIMEOUT_MS));
    json_object *j = poll_state(&bb, "main", -1, NULL);
    int64_t seq = jval_int(j, "seq", -1);
    json_object_put(j);
    assert_true(seq > 300);

    /* since=1: event 2 is still in the history (4,096 game events by default)... */
    j = poll_state(&bb, "main", 1, NULL);
    int64_t now = jval_int(j, "seq", -1);
    json_object *evs = jval_get(j, "events");
    print_message("poll_far_behind: seq %lld; since=1 answered with %zu event(s)\n", (long long)now,
                  evs ? json_object_array_length(evs) : 0);
    assert_true(now < 4000);
    /* ... yet a poll that far behind gets one snapshot, not hundreds of events. */
    assert_non_null(evs);
    assert_int_equal(json_object_array_length(evs), 1);
    assert_string_equal(jval_str(json_object_array_get_idx(evs, 0), "type"), "snapshot");
    json_object_put(j);

    /* A few events behind: exactly those events, in order, no snapshot. */
    int64_t since = now - 5;
    j = poll_state(&bb, "main", since, NULL);
    now = jval_int(j, "seq", -1);
    evs = jval_get(j, "events");
    assert_non_null(evs);
    assert_true(now - since >= 5);
    assert_int_equal((int64_t)json_object_array_length(evs), now - since);
    for (size_t i = 0; i < json_object_array_length(evs); i++) {
        json_object *e = json_object_array_get_idx(evs, i);
        assert_string_not_equal(jval_str(e, "type"), "snapshot");
        assert_int_equal(jval_int(e, "seq", -1), since + 1 + (int64_t)i);
    }
    json_object_put(j);
    bb_stop_clean(&bb);
}

/* ---- signals --------------------------------------------------------------------------------- */

void test_sighup(void **state)
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
    bb_stop_clean(&bb);

    /* SIGHUP: the same as SIGTERM: clients get 1001, feltd exits 0 by itself. */
    START(&bb, "--hand-delay", "600000");
    spec = tc_spectator(&bb, "spec", "main", false);
    wait_snapshot(&bb, spec);
    assert_int_equal(kill(bb.srv.pid, SIGHUP), 0);
    assert_true(BB_WAIT(&bb, spec->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(spec->close_code, 1001);
    assert_true(wait_exit(&bb.srv, BB_TIMEOUT_MS));
    bb_stop_clean(&bb); /* collects the exit status */
}
