/*
 * hardening_test_http.c: feltd's HTTP layer against hostile clients (hardening_test.h): a body
 * followed by more (no loop, no growth), pipelined requests (one answer per connection),
 * Transfer-Encoding with Content-Length, methods feltd does not serve, and strict JSON bodies.
 */
#define _GNU_SOURCE /* asprintf, memmem */
#include "hardening_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- B1: HTTP -------------------------------------------------------------------------------- */

#define CPU_IDLE_BOUND_S 0.5 /* over 2 s: a spinning loop burns ~2 s */
#define RSS_GROWTH_BOUND_KIB 5120

void test_http_body_loop(void **state)
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
    long rss0 = bb_rss_kib(bb.srv.pid);
    assert_true(cpu0 >= 0 && rss0 > 0);
    raw_http(bb.srv.port, req, sizeof(req) - 1, NULL, 0, BB_TIMEOUT_MS, &x);
    const struct hresp *r = expect_one_then_close(&x, "POST /healthz with a byte past its body");
    expect_code(r, 405, NULL);
    assert_true(hdr_get(r->head, "allow", allow, sizeof(allow)));
    assert_string_equal(allow, "GET, HEAD");
    hx_free(&x);
    let_time_pass(2000); /* what the server does after the answer: the CPU and memory it uses */
    double cpu1 = proc_cpu_s(bb.srv.pid);
    long rss1 = bb_rss_kib(bb.srv.pid);
    print_message("body loop: feltd used %.2f CPU s and %+ld KiB from the request to 2 s after "
                  "the answer\n",
                  cpu1 - cpu0, rss1 - rss0);
    assert_true(cpu1 - cpu0 < CPU_IDLE_BOUND_S);
    assert_true(rss1 - rss0 < RSS_GROWTH_BOUND_KIB);

    /* The same from a client that never reads (its answer waits in the socket). */
    cpu0 = proc_cpu_s(bb.srv.pid);
    rss0 = bb_rss_kib(bb.srv.pid);
    int fd = tcp_connect(bb.srv.port, BB_TIMEOUT_MS);
    assert_true(fd >= 0);
    assert_int_equal(tcp_write_all(fd, req, sizeof(req) - 1), 0);
    let_time_pass(2000); /* not reading, on purpose: the server's CPU meanwhile is the point */
    cpu1 = proc_cpu_s(bb.srv.pid);
    rss1 = bb_rss_kib(bb.srv.pid);
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
    assert_true(jval_bool(r->json, "ok", false));
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
    bb_assert_tc_ok(spec);
    bb_stop_clean(&bb);
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

void test_http_pipelining(void **state)
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
    assert_true(jval_bool(r->json, "ok", false));
    assert_null(jval_get(r->json, "games"));
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
    assert_true(jval_bool(r->json, "ok", false));
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
    assert_non_null(jval_str(r->json, "token"));
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
    assert_string_equal(jval_str(r->json, "name"), "dan");
    hx_free(&x);
    free(join);
    free(join2);
    free(both);
    assert_int_equal(players_named(&bb, "other", "dan"), 1);
    assert_int_equal(players_named(&bb, "other", "eve"), 0);
    assert_int_equal(seats_taken(&bb, "other"), 2);
    bb_stop_clean(&bb);
}

void test_http_te_cl(void **state)
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
    bb_stop_clean(&bb);
}

void test_http_methods(void **state)
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
    bb_stop_clean(&bb);
}

void test_http_strict_body(void **state)
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
    assert_string_equal(jval_str(r.json, "name"), "bob");
    http_reply_free(&r);
    assert_int_equal(seats_taken(&bb, "other"), 1);
    bb_stop_clean(&bb);
}
