/*
 * hostile_test.c: feltd against hostile and abusive clients (issue 5, "Hostile input" and the
 * slow consumers of "Faults and soak"), and the session the valgrind test runs feltd through.
 *
 * Every case starts the real feltd with two tables: "main", where built-in bots play (watched by
 * a spectator, the rail), and "other", where the attacks happen. Each hostile attempt must get an
 * error (an error reply, a refusal, or the close code the protocol names for it), the server
 * must stay up (/healthz answers, it exits cleanly on SIGTERM) and the other table must be
 * unaffected (the rail keeps receiving its events). Raw sockets (rawws.c) do what the real
 * client module never would: stop reading, flood, send invalid UTF-8 or lie about a frame's size.
 *
 * Usage: hostile_test FELTD_PATH TEST_NAME   (FELTD_PATH may be a wrapper: valgrind_feltd.sh)
 * Waits are bounded by BB_TIMEOUT_MS only so a missing event fails instead of hanging.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bb_main.h"
#include "harness.h"
#include "rawws.h"
#include "util.h"

static const char *feltd_path;

/* ---- the environment: two tables, bots at main, a rail watching them -------------------- */

struct env {
    struct bb bb;
    struct tc *rail; /* spectator of main */
};

static void env_start_args(struct env *e, const char *const *extra)
{
    const char *args[32] = {"--table", "main:6:5/10:1000", "--table", "other:6:5/10:1000", "--bots",
                            "3",       "--bot-delay",      "20",      "--hand-delay",      "100"};
    size_t n = 10;
    for (size_t i = 0; extra && extra[i] && n < FELT_ARRAY_LEN(args) - 1; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    memset(e, 0, sizeof(*e));
    assert_int_equal(bb_start(&e->bb, feltd_path, args), 0);
    bb_running = &e->bb;
    e->rail = tc_spectator(&e->bb, "rail", "main", false);
    assert_true(BB_WAIT(&e->bb, tc_count(e->rail, PROTO_S_SNAPSHOT) == 1, BB_TIMEOUT_MS));
}

static void env_start(struct env *e)
{
    env_start_args(e, NULL);
}

/* The rail's events of main keep coming (n more from now). */
static void rail_moves(struct env *e, size_t n)
{
    size_t from = e->rail->n;
    if (!BB_WAIT(&e->bb, e->rail->n >= from + n || e->rail->closes > 0, BB_TIMEOUT_MS))
        print_error("the rail of main received %zu events, not %zu\n", e->rail->n - from, n);
    assert_int_equal(e->rail->closes, 0);
    assert_true(e->rail->n >= from + n);
}

static void healthz(struct env *e)
{
    struct http_reply r;
    bb_http(&e->bb, "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(jval_bool(r.json, "ok", false));
    http_reply_free(&r);
}

/* The other table was unaffected, the server is up, and it stops cleanly. */
static void env_finish(struct env *e)
{
    rail_moves(e, 5);
    bb_assert_tc_ok(e->rail);
    healthz(e);
    bb_stop_clean(&e->bb);
}

/* ---- replies ------------------------------------------------------------------------------ */

/* Sends json and waits for the next reply of type (ack, error, pong); returns its data. */
static json_object *send_expect(struct env *e, struct tc *t, const char *json,
                                enum proto_stype type)
{
    size_t from = t->n;
    tc_send(t, json);
    if (!BB_WAIT(&e->bb, tc_find(t, from, type, NULL, NULL) >= 0 || t->closes > 0 || t->bad,
                 BB_TIMEOUT_MS))
        print_error("%s: no %s after sending %.200s\n", t->name, proto_stype_name(type), json);
    long i = tc_find(t, from, type, NULL, NULL);
    if (i < 0)
        print_error("%s: no %s after sending %.200s (closed %d, code %d)\n", t->name,
                    proto_stype_name(type), json, t->closes, t->close_code);
    assert_true(i >= 0);
    return t->msgs[i].data;
}

/* Sends json and checks that it is answered by an error with this code (any code if NULL). */
static void expect_error(struct env *e, struct tc *t, const char *json, const char *code)
{
    json_object *d = send_expect(e, t, json, PROTO_S_ERROR);
    const char *got = jval_str(d, "code");
    if (code && (!got || strcmp(got, code) != 0))
        print_error("%s: %.200s -> error %s, want %s\n", t->name, json, got ? got : "?", code);
    assert_non_null(got);
    if (code) assert_string_equal(got, code);
}

/* The connection still works: a ping is answered. */
static void expect_alive(struct env *e, struct tc *t)
{
    json_object *d = send_expect(e, t, "{\"type\":\"ping\",\"id\":4242}", PROTO_S_PONG);
    assert_int_equal(jval_int(d, "id", -1), 4242);
}

/* A player at table other, joined over HTTP, its socket open and its snapshot in. */
static struct tc *join_other(struct env *e, const char *name)
{
    struct tc *t = tc_join(&e->bb, name, "other", false);
    assert_non_null(t);
    assert_true(BB_WAIT(&e->bb, tc_count(t, PROTO_S_SNAPSHOT) == 1 || t->closes, BB_TIMEOUT_MS));
    assert_int_equal(t->closes, 0);
    return t;
}

static struct tc *spectate_other(struct env *e, const char *name)
{
    struct tc *t = tc_spectator(&e->bb, name, "other", false);
    assert_true(BB_WAIT(&e->bb, tc_count(t, PROTO_S_SNAPSHOT) == 1 || t->closes, BB_TIMEOUT_MS));
    assert_int_equal(t->closes, 0);
    return t;
}

/* Text a terminal could be fooled by: C0 and C1 controls, DEL, ESC. */
static bool has_controls(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    for (; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) return true;
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) return true; /* U+0080..U+009F */
    }
    return false;
}

/* ---- impersonation ------------------------------------------------------------------------ */

/* Another player's id with one's own (valid) token, a guessed token (into guess), the victim's
 * token with its last character changed: each is closed with 4401 before the server sends
 * anything. */
static void check_wrong_tokens(struct env *e, const struct tc *vic, const char *eve_token,
                               char guess[65])
{
    char near[160];
    for (int i = 0; i < 64; i++)
        guess[i] = "0123456789abcdef"[(i * 7 + 3) % 16];
    guess[64] = '\0';
    snprintf(near, sizeof(near), "%s", vic->token);
    near[strlen(near) - 1] = near[strlen(near) - 1] == '0' ? '1' : '0';
    const char *tokens[] = {eve_token, guess, near};
    for (size_t k = 0; k < FELT_ARRAY_LEN(tokens); k++) {
        struct tc *imp = tc_player(&e->bb, "imp", "other", vic->player_id, tokens[k], false);
        assert_true(BB_WAIT(&e->bb, imp->closes > 0, BB_TIMEOUT_MS));
        if (imp->close_code != 4401)
            print_error("impersonation %zu closed with %d\n", k, imp->close_code);
        assert_int_equal(imp->close_code, 4401);
        assert_int_equal(tc_count(imp, PROTO_S_SNAPSHOT), 0);
        assert_int_equal(tc_count(imp, PROTO_S_STATE_UPDATE), 0);
        tc_free(imp);
    }
}

/* An empty token, one over the protocol's limit, or none: refused by the codec, or closed like
 * a wrong one; either way the socket never becomes the victim's (acting still needs a hello). */
static void check_malformed_hellos(struct env *e, const struct tc *vic)
{
    struct tc *longt = tc_player(&e->bb, "longtoken", "other", vic->player_id, NULL, false);
    assert_true(BB_WAIT(&e->bb, longt->opens > 0, BB_TIMEOUT_MS));
    char big[400];
    memset(big, 'a', 300);
    big[300] = '\0';
    char hello[512];
    snprintf(hello, sizeof(hello), "{\"type\":\"hello\",\"token\":\"%s\"}", big);
    expect_error(e, longt, hello, NULL);
    expect_error(e, longt, "{\"type\":\"hello\"}", "bad_field");
    expect_error(e, longt, "{\"type\":\"action\",\"action\":\"fold\"}", "hello_required");
    size_t from = longt->n;
    tc_send(longt, "{\"type\":\"hello\",\"token\":\"\"}");
    assert_true(BB_WAIT(&e->bb,
                        longt->closes > 0 || tc_find(longt, from, PROTO_S_ERROR, NULL, NULL) >= 0,
                        BB_TIMEOUT_MS));
    assert_true(longt->closes == 0 || longt->close_code == 4401);
    assert_int_equal(tc_count(longt, PROTO_S_SNAPSHOT), 0);
}

/* Over HTTP: a guessed bearer token acts, chats and reads as nobody (401). */
static void check_guessed_bearer(struct env *e, const char *guess)
{
    struct http_reply r;
    bb_http(&e->bb, "/api/games/other/action", "{\"action\":\"fold\"}", guess, &r);
    assert_int_equal(r.status, 401);
    http_reply_free(&r);
    bb_http(&e->bb, "/api/games/other/chat", "{\"text\":\"hi\"}", guess, &r);
    assert_int_equal(r.status, 401);
    http_reply_free(&r);
    bb_http(&e->bb, "/api/games/other/state", NULL, guess, &r);
    assert_int_equal(r.status, 401);
    http_reply_free(&r);
}

/* Unknown ids and bots' ids cannot even open a player's socket (403). */
static void check_foreign_ids_refused(struct env *e)
{
    char path[128];
    int status;
    snprintf(path, sizeof(path), "/ws/game/other/%s", "0123456789abcdef");
    assert_int_equal(rawws_connect(e->bb.srv.port, path, &status), -1);
    assert_int_equal(status, 403);
    json_object *snap = tc_last(e->rail, PROTO_S_SNAPSHOT, NULL, NULL);
    json_object *bot = json_object_array_get_idx(jval_get(snap, "players"), 0);
    assert_true(jval_bool(bot, "bot", false));
    snprintf(path, sizeof(path), "/ws/game/main/%s", jval_str(bot, "player_id"));
    assert_int_equal(rawws_connect(e->bb.srv.port, path, &status), -1);
    assert_int_equal(status, 403);
}

static void test_impersonation(void **state)
{
    static struct env e;
    struct http_reply r;
    char guess[65];
    (void)state;
    env_start(&e);
    struct tc *vic = join_other(&e, "vic");

    bb_http(&e.bb, "/api/games/other/join", "{\"name\":\"eve\"}", NULL, &r);
    assert_int_equal(r.status, 200);
    char eve_token[160];
    snprintf(eve_token, sizeof(eve_token), "%s", jval_str(r.json, "token"));
    http_reply_free(&r);

    check_wrong_tokens(&e, vic, eve_token, guess);
    check_malformed_hellos(&e, vic);
    /* The victim was never replaced or disturbed. */
    assert_int_equal(vic->closes, 0);
    expect_alive(&e, vic);
    check_guessed_bearer(&e, guess);
    check_foreign_ids_refused(&e);

    /* Taking the victim's name is refused too. */
    struct tc *spec = spectate_other(&e, "namethief");
    expect_error(&e, spec, "{\"type\":\"join\",\"name\":\"vic\"}", "name_taken");
    env_finish(&e);
}

/* ---- spectators ------------------------------------------------------------------------- */

static void test_spectator_actions(void **state)
{
    static struct env e;
    (void)state;
    env_start(&e);
    struct tc *vic = join_other(&e, "vic");
    struct tc *spec = spectate_other(&e, "spec");
    const char *msgs[] = {
        "{\"type\":\"action\",\"action\":\"fold\",\"request_id\":\"s1\"}",
        "{\"type\":\"action\",\"action\":\"raise\",\"amount\":100}",
        "{\"type\":\"sit_out\"}",
        "{\"type\":\"sit_in\"}",
        "{\"type\":\"leave\"}",
    };
    for (size_t i = 0; i < FELT_ARRAY_LEN(msgs); i++)
        expect_error(&e, spec, msgs[i], "spectator");
    /* A spectator's socket cannot become someone's by saying hello with their token. */
    char hello[256];
    snprintf(hello, sizeof(hello), "{\"type\":\"hello\",\"token\":\"%s\"}", vic->token);
    expect_error(&e, spec, hello, "spectator");
    /* It is still a spectator's socket: no private rendering ever reaches it. */
    expect_error(&e, spec, "{\"type\":\"sit_out\"}", "spectator");
    assert_int_equal(tc_count(spec, PROTO_S_ACK), 0);
    assert_int_equal(spec->closes, 0);
    assert_int_equal(vic->closes, 0);
    env_finish(&e);
}

/* ---- sizes and nesting ------------------------------------------------------------------ */

/* A ping padded with an ignored field to exactly len bytes. */
static char *padded_ping(size_t len)
{
    const char *head = "{\"type\":\"ping\",\"id\":1,\"pad\":\"", *tail = "\"}";
    char *s = xmalloc(len + 1);
    size_t h = strlen(head), t = strlen(tail);
    memcpy(s, head, h);
    memset(s + h, 'x', len - h - t);
    memcpy(s + len - t, tail, t);
    s[len] = '\0';
    return s;
}

static void test_huge_json(void **state)
{
    static struct env e;
    struct rawws_reader rd = {0};
    struct rawws_msg m;
    int status;
    (void)state;
    env_start(&e);
    struct tc *p = join_other(&e, "big");

    /* 16 KiB exactly is allowed (the unknown field is ignored); one byte more closes 1009. */
    char *ok = padded_ping(16384), *over = padded_ping(16385);
    json_object *d = send_expect(&e, p, ok, PROTO_S_PONG);
    assert_int_equal(jval_int(d, "id", -1), 1);
    size_t from = p->n;
    tc_send(p, over);
    if (!BB_WAIT(&e.bb, p->closes > 0, BB_TIMEOUT_MS))
        for (size_t i = from; i < p->n; i++)
            if (!p->msgs[i].has_seq) print_error("after 16385 bytes: %.300s\n", p->msgs[i].raw);
    assert_true(p->closes > 0);
    assert_int_equal(p->close_code, 1009);
    free(ok);
    free(over);

    /* A frame that claims to be a terabyte is refused from its header alone (1009), without
     * waiting for (or buffering) its payload. */
    int fd = rawws_connect(e.bb.srv.port, "/ws/spectate/other", &status);
    assert_true(fd >= 0);
    assert_int_equal(rawws_recv(fd, &rd, &m, BB_TIMEOUT_MS), 1); /* the snapshot */
    assert_int_equal(m.opcode, RAWWS_TEXT);
    rawws_msg_free(&m);
    unsigned char hdr[] = {0x81, 0x80 | 127, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3, 4, '{', '"'};
    assert_int_equal(write(fd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
    int got;
    while ((got = rawws_recv(fd, &rd, &m, BB_TIMEOUT_MS)) == 1 && m.opcode != RAWWS_CLOSE)
        rawws_msg_free(&m);
    assert_int_equal(got, 1);
    assert_int_equal(m.close_code, 1009);
    rawws_msg_free(&m);
    rawws_reader_free(&rd);
    close(fd);

    /* A binary frame is answered with an error, and the socket stays open. */
    struct tc *q = join_other(&e, "binary");
    from = q->n;
    assert_int_equal(wsconn_send_binary(q->ws, "\x01\x02\x03", 3), 0);
    assert_true(BB_WAIT(&e.bb, tc_find(q, from, PROTO_S_ERROR, "code", "binary_frame") >= 0,
                        BB_TIMEOUT_MS));
    expect_alive(&e, q);
    env_finish(&e);
}

static void test_nested_json(void **state)
{
    static struct env e;
    (void)state;
    env_start(&e);
    struct tc *p = join_other(&e, "deep");
    /* Nested beyond the codec's limit, in an ignored field, and far beyond it (still under
     * 16 KiB): each an error; the socket stays usable. */
    const int depths[] = {17, 100, 5000};
    for (size_t k = 0; k < FELT_ARRAY_LEN(depths); k++) {
        int depth = depths[k];
        size_t len = 0;
        char *s = xmalloc((size_t)depth * 2 + 64);
        len += (size_t)sprintf(s, "{\"type\":\"ping\",\"id\":2,\"x\":");
        for (int i = 0; i < depth; i++)
            s[len++] = '[';
        for (int i = 0; i < depth; i++)
            s[len++] = ']';
        s[len++] = '}';
        s[len] = '\0';
        expect_error(&e, p, s, "bad_json");
        free(s);
    }
    /* Objects nested in objects too. */
    char obj[4096];
    size_t len = (size_t)sprintf(obj, "{\"type\":\"chat\",\"text\":\"hi\",\"x\":");
    for (int i = 0; i < 600; i++)
        len += (size_t)sprintf(obj + len, "{\"a\":");
    len += (size_t)sprintf(obj + len, "1");
    for (int i = 0; i < 600; i++)
        obj[len++] = '}';
    obj[len++] = '}';
    obj[len] = '\0';
    expect_error(&e, p, obj, "bad_json");
    expect_alive(&e, p);
    env_finish(&e);
}

/* ---- numbers ------------------------------------------------------------------------------ */

static void test_big_numbers(void **state)
{
    static struct env e;
    struct http_reply r;
    char msg[256];
    (void)state;
    env_start(&e);
    struct tc *p = join_other(&e, "num");
    /* At and beyond 2^63 (and their negatives), beyond 2^64, floats and exponents where an
     * integer is expected: every one an error, never a wrapped or saturated value. */
    const char *nums[] = {"9223372036854775807",
                          "9223372036854775808",
                          "18446744073709551615",
                          "18446744073709551616",
                          "-9223372036854775808",
                          "-9223372036854775809",
                          "1e19",
                          "1.5",
                          "1e400",
                          "123456789012345678901234567890",
                          "-1",
                          "1000000000001"};
    for (size_t i = 0; i < FELT_ARRAY_LEN(nums); i++) {
        snprintf(msg, sizeof(msg), "{\"type\":\"action\",\"action\":\"raise\",\"amount\":%s}",
                 nums[i]);
        expect_error(&e, p, msg, "bad_field");
        /* The last two are only out of an amount's range (0 to 10^12). */
        if (i + 2 >= FELT_ARRAY_LEN(nums)) continue;
        snprintf(msg, sizeof(msg),
                 "{\"type\":\"action\",\"action\":\"call\",\"hand_id\":%s,\"request_id\":\"n%zu\"}",
                 nums[i], i);
        expect_error(&e, p, msg, "bad_field");
        snprintf(msg, sizeof(msg), "{\"type\":\"ping\",\"id\":%s}", nums[i]);
        expect_error(&e, p, msg, "bad_field");
    }
    /* hello's last_seq on a pending socket: an error, not a resume from a wrapped seq. */
    struct tc *pend = tc_player(&e.bb, "pending", "other", p->player_id, NULL, false);
    assert_true(BB_WAIT(&e.bb, pend->opens > 0, BB_TIMEOUT_MS));
    snprintf(msg, sizeof(msg), "{\"type\":\"hello\",\"token\":\"%s\",\"last_seq\":%s}", p->token,
             "18446744073709551615");
    expect_error(&e, pend, msg, "bad_field");
    snprintf(msg, sizeof(msg), "{\"type\":\"hello\",\"token\":\"%s\",\"last_seq\":%s}", p->token,
             "9223372036854775808");
    expect_error(&e, pend, msg, "bad_field");
    assert_int_equal(tc_count(pend, PROTO_S_SNAPSHOT), 0);
    /* Over HTTP: a buy-in at 2^63 is a bad request. */
    bb_http(&e.bb, "/api/games/other/join", "{\"name\":\"rich\",\"buy_in\":9223372036854775808}",
            NULL, &r);
    assert_int_equal(r.status, 400);
    http_reply_free(&r);
    expect_alive(&e, p);
    env_finish(&e);
}

/* ---- invalid UTF-8 ------------------------------------------------------------------------ */

/* Sends one text frame with these bytes on a fresh player socket that said hello, and returns
 * the first reply: an error (code copied) or a close (its code). */
static void raw_text_attempt(struct env *e, const char *id, const char *token,
                             const unsigned char *bytes, size_t n, char *code, size_t codesz,
                             int *close_code)
{
    struct rawws_reader rd = {0};
    struct rawws_msg m;
    char path[128], hello[256];
    int status;
    snprintf(path, sizeof(path), "/ws/game/other/%s", id);
    int fd = rawws_connect(e->bb.srv.port, path, &status);
    assert_true(fd >= 0);
    snprintf(hello, sizeof(hello), "{\"type\":\"hello\",\"token\":\"%s\"}", token);
    assert_int_equal(rawws_send_text(fd, hello, strlen(hello)), 0);
    assert_int_equal(rawws_recv(fd, &rd, &m, BB_TIMEOUT_MS), 1);
    assert_non_null(strstr(m.data, "\"snapshot\""));
    rawws_msg_free(&m);
    assert_int_equal(rawws_send(fd, RAWWS_TEXT, bytes, n), 0);
    code[0] = '\0';
    *close_code = 0;
    for (;;) {
        int got = rawws_recv(fd, &rd, &m, BB_TIMEOUT_MS);
        assert_int_equal(got, 1);
        if (m.opcode == RAWWS_CLOSE) {
            *close_code = m.close_code;
            rawws_msg_free(&m);
            break;
        }
        json_object *j = jval_parse(m.data, m.len);
        if (j && strcmp(jval_str(j, "type") ? jval_str(j, "type") : "", "error") == 0) {
            snprintf(code, codesz, "%s", jval_str(jval_get(j, "data"), "code"));
            json_object_put(j);
            rawws_msg_free(&m);
            break;
        }
        json_object_put(j); /* an event of the table: keep waiting for the reply */
        rawws_msg_free(&m);
    }
    rawws_reader_free(&rd);
    close(fd);
}

static void test_invalid_utf8(void **state)
{
    static struct env e;
    struct http_reply r;
    char code[64];
    int close_code;
    (void)state;
    env_start(&e);
    struct tc *p = join_other(&e, "utf");
    struct tc *watch = spectate_other(&e, "watch");
    /* Invalid UTF-8 inside a chat text: a lone continuation byte, an overlong encoding, a
     * UTF-16 surrogate, a truncated sequence, bytes that never occur (0xff), a code point
     * beyond U+10FFFF. Each is an error (the codec's invalid_utf8), or the WebSocket's own
     * refusal of a text frame that is not UTF-8 (close 1007); never a chat line. */
    static const char *bad[] = {"\x80",     "\xc0\xaf", "\xed\xa0\x80",
                                "\xe2\x82", "\xff",     "\xf4\x90\x80\x80"};
    for (size_t i = 0; i < FELT_ARRAY_LEN(bad); i++) {
        char frame[128];
        int n = snprintf(frame, sizeof(frame), "{\"type\":\"chat\",\"text\":\"a%sb\"}", bad[i]);
        raw_text_attempt(&e, p->player_id, p->token, (const unsigned char *)frame, (size_t)n, code,
                         sizeof(code), &close_code);
        if (!(strcmp(code, "invalid_utf8") == 0 || close_code == 1007))
            print_error("invalid UTF-8 %zu: error '%s', close %d\n", i, code, close_code);
        assert_true(strcmp(code, "invalid_utf8") == 0 || close_code == 1007);
        print_message("invalid UTF-8 %zu: %s%s\n", i, code[0] ? "error " : "closed with 1007",
                      code);
    }
    /* The raw sockets took p's seat over (4409); p comes back with a socket of its own. A lone
     * surrogate written as a JSON escape is valid UTF-8 on the wire, but invalid text. */
    assert_true(BB_WAIT(&e.bb, p->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(p->close_code, 4409);
    struct tc *p2 = tc_player(&e.bb, "utf2", "other", p->player_id, p->token, false);
    assert_true(BB_WAIT(&e.bb, tc_count(p2, PROTO_S_SNAPSHOT) == 1, BB_TIMEOUT_MS));
    expect_error(&e, p2, "{\"type\":\"chat\",\"text\":\"a\\ud800b\"}", NULL);
    expect_error(&e, p2, "{\"type\":\"chat\",\"text\":\"\\udc00\"}", NULL);
    /* No chat line came out of any of it. */
    assert_int_equal(tc_count(watch, PROTO_S_CHAT), 0);
    /* Over HTTP: a name that is not UTF-8. */
    bb_http(&e.bb, "/api/games/other/join", "{\"name\":\"a\xff\xfe\"}", NULL, &r);
    assert_int_equal(r.status, 400);
    http_reply_free(&r);
    expect_alive(&e, p2);
    env_finish(&e);
}

/* ---- terminal escapes --------------------------------------------------------------------- */

static void test_escapes(void **state)
{
    static struct env e;
    struct http_reply r;
    (void)state;
    env_start(&e);
    struct tc *watch = spectate_other(&e, "watch");
    struct tc *p = join_other(&e, "plain");

    /* A name full of escape sequences (CSI colour, OSC title, BEL, C1 CSI): accepted in its
     * sanitized form, and that is all anyone else ever sees. */
    struct tc *evil = spectate_other(&e, "evil");
    size_t from = watch->n;
    json_object *ack = send_expect(&e, evil,
                                   "{\"type\":\"join\",\"name\":\"\\u001b[31mmal\\u001b]0;pwned"
                                   "\\u0007lo\\u009b2Jry\\r\\n\"}",
                                   PROTO_S_ACK);
    const char *name = jval_str(ack, "name");
    assert_non_null(name);
    assert_false(has_controls(name));
    assert_non_null(strstr(name, "mal"));
    long j;
    assert_true(BB_WAIT(&e.bb,
                        (j = tc_find(watch, from, PROTO_S_STATE_UPDATE, "event", "seat")) >= 0,
                        BB_TIMEOUT_MS));
    const char *seen = jval_str(jval_get(watch->msgs[j].data, "player"), "name");
    assert_non_null(seen);
    assert_string_equal(seen, name);
    assert_false(has_controls(seen));

    /* Over HTTP too. */
    bb_http(&e.bb, "/api/games/other/join", "{\"name\":\"\\u001b[2Jhttp\\u0007guy\"}", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_false(has_controls(jval_str(r.json, "name")));
    http_reply_free(&r);
    /* A name that is nothing but escapes sanitizes to nothing: refused. */
    struct tc *empty = spectate_other(&e, "empty");
    expect_error(&e, empty, "{\"type\":\"join\",\"name\":\"\\u001b[31m\\u0007\"}", "bad_field");

    /* Chat with escapes: clear screen, cursor moves, a title, C1 controls, CR/LF. */
    from = watch->n;
    tc_send(p, "{\"type\":\"chat\",\"text\":\"\\u001b[2J\\u001b[1;1Hhi \\u009b31mthere"
               "\\u001b]2;title\\u0007\\r\\nfriend\\u001bc\"}");
    assert_true(BB_WAIT(&e.bb, tc_find(watch, from, PROTO_S_CHAT, NULL, NULL) >= 0, BB_TIMEOUT_MS));
    const char *text = jval_str(tc_last(watch, PROTO_S_CHAT, NULL, NULL), "text");
    assert_non_null(text);
    assert_false(has_controls(text));
    assert_non_null(strstr(text, "hi"));
    assert_non_null(strstr(text, "there"));
    assert_non_null(strstr(text, "friend"));
    assert_null(strstr(text, "title"));
    /* Raw control bytes inside a JSON string are not JSON: refused, or sanitized - never
     * passed on. */
    from = watch->n;
    size_t pfrom = p->n;
    tc_send(p, "{\"type\":\"chat\",\"text\":\"raw\x1b[31mred\x07\"}");
    assert_true(BB_WAIT(&e.bb,
                        tc_find(watch, from, PROTO_S_CHAT, NULL, NULL) >= 0 ||
                            tc_find(p, pfrom, PROTO_S_ERROR, NULL, NULL) >= 0,
                        BB_TIMEOUT_MS));
    for (size_t i = from; i < watch->n; i++)
        if (watch->msgs[i].type == PROTO_S_CHAT)
            assert_false(has_controls(jval_str(watch->msgs[i].data, "text")));
    bb_assert_tc_ok(watch);
    env_finish(&e);
}

/* ---- flood -------------------------------------------------------------------------------- */

#define FLOOD_RATE 10000 /* messages per second */
#define FLOOD_SECONDS 3
#define FLOOD_N (FLOOD_RATE * FLOOD_SECONDS)

/* The flooder (a child process): says hello on a raw socket, then writes FLOOD_RATE pings a
 * second for FLOOD_SECONDS (the load; nothing is asserted about time) while reading every
 * reply; reports "start" when it begins and the counts at the end on its pipe. */
static void flood_child(int port, const char *id, const char *token, int out)
{
    struct rawws_reader rd = {0};
    struct rawws_msg m;
    char path[128], hello[256], line[256];
    int status;
    unsigned char *buf = NULL;
    size_t len = 0, off = 0, *ends = xcalloc(FLOOD_N + 1, sizeof(size_t));
    long pongs = 0, limited = 0, others = 0;
    snprintf(path, sizeof(path), "/ws/game/other/%s", id);
    int fd = rawws_connect(port, path, &status);
    if (fd < 0) _exit(3);
    snprintf(hello, sizeof(hello), "{\"type\":\"hello\",\"token\":\"%s\"}", token);
    if (rawws_send_text(fd, hello, strlen(hello)) != 0 ||
        rawws_recv(fd, &rd, &m, BB_TIMEOUT_MS) != 1)
        _exit(4);
    rawws_msg_free(&m);
    for (int i = 1; i <= FLOOD_N; i++) {
        char ping[64];
        int n = snprintf(ping, sizeof(ping), "{\"type\":\"ping\",\"id\":%d}", i);
        rawws_frame(&buf, &len, RAWWS_TEXT, ping, (size_t)n);
        ends[i] = len;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int64_t t0 = felt_mono_us(), sent_us = 0, deadline = t0 / 1000 + 4 * BB_TIMEOUT_MS;
    if (write(out, "start\n", 6) != 6) _exit(5);
    while (pongs + limited + others < FLOOD_N && felt_mono_us() / 1000 < deadline) {
        /* Up to the messages due by now at FLOOD_RATE. */
        int64_t due = (felt_mono_us() - t0) * FLOOD_RATE / 1000000 + 1;
        size_t upto = ends[due < FLOOD_N ? due : FLOOD_N];
        struct pollfd pf = {.fd = fd, .events = POLLIN | (off < upto ? POLLOUT : 0)};
        if (poll(&pf, 1, off < len ? 2 : 1000) < 0 && errno != EINTR) break;
        if ((pf.revents & POLLOUT) && off < upto) {
            ssize_t w = write(fd, buf + off, upto - off);
            if (w > 0) off += (size_t)w;
            if (off == len) sent_us = felt_mono_us() - t0;
        }
        if (pf.revents & (POLLIN | POLLHUP)) {
            ssize_t n = rawws_fill(&rd, fd);
            if (n == 0) break;
            while (rawws_parse(&rd, &m)) {
                if (strstr(m.data, "\"type\":\"pong\""))
                    pongs++;
                else if (strstr(m.data, "\"rate_limited\""))
                    limited++;
                else if (strstr(m.data, "\"type\":\"error\""))
                    others++;
                rawws_msg_free(&m);
            }
        }
    }
    int n = snprintf(line, sizeof(line), "done %ld %ld %ld %lld %lld\n", pongs, limited, others,
                     (long long)sent_us, (long long)(felt_mono_us() - t0));
    if (write(out, line, (size_t)n) != n) _exit(6);
    _exit(0);
}

struct flood_watch {
    struct bb *bb;
    int fd;
    char buf[512];
    size_t len;
    bool started, done, eof;
};

static void flood_readable(void *arg)
{
    struct flood_watch *w = arg;
    ssize_t n = read(w->fd, w->buf + w->len, sizeof(w->buf) - 1 - w->len);
    if (n <= 0) {
        w->eof = true;
        wsloop_forget_fd(w->bb->loop, w->fd);
    } else {
        w->len += (size_t)n;
        w->buf[w->len] = '\0';
        w->started = strstr(w->buf, "start\n") != NULL;
        w->done = strstr(w->buf, "done ") && strchr(strstr(w->buf, "done "), '\n');
    }
    wsloop_stop(w->bb->loop);
}

static void test_flood(void **state)
{
    static struct env e;
    struct flood_watch w;
    int fds[2];
    (void)state;
    env_start(&e);
    struct tc *p = join_other(&e, "flood");
    struct tc *calm = join_other(&e, "calm");
    char id[64], token[160];
    snprintf(id, sizeof(id), "%s", p->player_id);
    snprintf(token, sizeof(token), "%s", p->token);
    tc_free(p); /* the flooder takes over p's seat with its own socket */

    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a test that failed half-way */
        close(fds[0]);
        flood_child(e.bb.srv.port, id, token, fds[1]);
    }
    close(fds[1]);
    memset(&w, 0, sizeof(w));
    w.bb = &e.bb;
    w.fd = fds[0];
    assert_int_equal(wsloop_adopt_fd(e.bb.loop, w.fd, flood_readable, &w), 0);
    assert_true(BB_WAIT(&e.bb, w.started || w.eof, BB_TIMEOUT_MS));
    assert_true(w.started);
    size_t rail_at_start = e.rail->n, calm_at_start = calm->n;
    assert_true(BB_WAIT(&e.bb, w.done || w.eof, 5 * BB_TIMEOUT_MS));
    size_t rail_at_end = e.rail->n;
    int st;
    waitpid(pid, &st, 0);
    close(fds[0]);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    long pongs, limited, others;
    long long sent_us, total_us;
    assert_int_equal(sscanf(strstr(w.buf, "done "), "done %ld %ld %ld %lld %lld", &pongs, &limited,
                            &others, &sent_us, &total_us),
                     5);
    print_message("flood: %d pings written in %.3f s, all answered after %.3f s (%.0f/s), "
                  "%ld pongs, %ld rate_limited, %ld other errors; the rail of main received %zu "
                  "events meanwhile\n",
                  FLOOD_N, (double)sent_us / 1e6, (double)total_us / 1e6,
                  total_us > 0 ? FLOOD_N / ((double)total_us / 1e6) : 0.0, pongs, limited, others,
                  rail_at_end - rail_at_start);
    /* Every message got its answer: a pong within the rate, rate_limited beyond it. */
    assert_int_equal(others, 0);
    assert_int_equal(pongs + limited, FLOOD_N);
    assert_true(limited > 0);
    assert_true(pongs > 0);
    /* Meanwhile the bots' table kept going and its rail kept receiving. */
    assert_true(rail_at_end > rail_at_start);
    /* The other player at the flooded table was not disturbed either. */
    assert_int_equal(calm->closes, 0);
    expect_alive(&e, calm);
    (void)calm_at_start;
    env_finish(&e);
}

/* ---- slow consumers ----------------------------------------------------------------------- */

#define SLOW_READERS 24
#define SLOW_HISTORY 1024
#define SLOW_BOUND_KIB (8 * 1024)
#define SLOW_PINGS 200000

/* The slow consumers at main: a player who said hello and sat out (fds[0]) and spectators,
 * all with small receive buffers, none of which ever reads again. */
static void open_slow_readers(struct env *e, int fds[SLOW_READERS])
{
    struct http_reply r;
    int status;
    bb_http(&e->bb, "/api/games/main/join", "{\"name\":\"sloth\"}", NULL, &r);
    assert_int_equal(r.status, 200);
    char path[128], hello[256];
    snprintf(path, sizeof(path), "/ws/game/main/%s", jval_str(r.json, "player_id"));
    snprintf(hello, sizeof(hello), "{\"type\":\"hello\",\"token\":\"%s\"}", jval_str(r.json, "token"));
    http_reply_free(&r);
    for (int i = 0; i < SLOW_READERS; i++) {
        fds[i] = rawws_connect(e->bb.srv.port, i == 0 ? path : "/ws/spectate/main", &status);
        assert_true(fds[i] >= 0);
        rawws_small_rcvbuf(fds[i], 4096);
        if (i == 0) {
            assert_int_equal(rawws_send_text(fds[0], hello, strlen(hello)), 0);
            assert_int_equal(rawws_send_text(fds[0], "{\"type\":\"sit_out\"}", 18), 0);
        }
    }
}

/* One more spectator floods pings without reading (a non-blocking socket with a small receive
 * buffer; SLOW_PINGS ping frames in *pings, *plen bytes, for the caller to write): the server
 * must stop reading it rather than queue its replies. Returns the socket. */
static int open_flooder(struct env *e, unsigned char **pings, size_t *plen)
{
    int status;
    int flood = rawws_connect(e->bb.srv.port, "/ws/spectate/main", &status);
    assert_true(flood >= 0);
    rawws_small_rcvbuf(flood, 4096);
    fcntl(flood, F_SETFL, fcntl(flood, F_GETFL) | O_NONBLOCK);
    *pings = NULL;
    *plen = 0;
    for (int i = 0; i < SLOW_PINGS; i++)
        rawws_frame(pings, plen, RAWWS_TEXT, "{\"type\":\"ping\",\"id\":7}", 22);
    return flood;
}

/* The flooder that never reads was throttled: the server stopped reading its pings once their
 * unsent pongs filled its reply queue (the kernel's buffers hold what was written). Every
 * message any other client (a and b at other, sloth) sent is accounted for; what is left is the
 * flooder's. */
static void check_flooder_throttled(struct env *e, const struct tc *a, const struct tc *b)
{
    struct http_reply r;
    bb_http(&e->bb, "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    const char *mi = strstr(r.body, "\nfelt_messages_in_total ");
    assert_non_null(mi);
    long long msgs_in = atoll(mi + strlen("\nfelt_messages_in_total "));
    http_reply_free(&r);
    /* + a and b's hellos, sloth's hello and sit_out */
    long long others = a->actions_sent + b->actions_sent + 4;
    long long flooded = msgs_in - others;
    print_message("slow consumers: the server read %lld of the flooder's %d pings\n", flooded,
                  SLOW_PINGS);
    assert_true(flooded >= 0);
    assert_true(flooded < SLOW_PINGS / 2);
}

static void test_slow_consumer(void **state)
{
    static struct env e;
    int fds[SLOW_READERS];
    (void)state;
    /* Bots at main play as fast as they can: thousands of events a second, a short history.
     * The hand histories go to a folder: in memory (the tests' FELT_DATA=:memory:) the
     * database grows by every hand played (tens of MiB in this test on a fast machine), which
     * is storage, not the per-reader backlog this test bounds. */
    char data[] = "/tmp/felt-slow-XXXXXX";
    assert_non_null(mkdtemp(data));
    const char *args[] = {"--table",     "main:6:5/10:1000",
                          "--table",     "other:6:5/10:1000",
                          "--bots",      "5",
                          "--bot-delay", "0",
                          "--hand-delay", "0",
                          "--history",   "1024",
                          "--data",      data,
                          NULL};
    memset(&e, 0, sizeof(e));
    assert_int_equal(bb_start(&e.bb, feltd_path, args), 0);
    bb_running = &e.bb;
    e.rail = tc_spectator(&e.bb, "rail", "main", false);
    assert_true(BB_WAIT(&e.bb, tc_count(e.rail, PROTO_S_SNAPSHOT) == 1, BB_TIMEOUT_MS));

    /* The other table: two players who call everything, over real clients. */
    struct tc *a = tc_join(&e.bb, "ann", "other", false),
              *b = tc_join(&e.bb, "bob", "other", false);
    a->play = b->play = TC_PLAY_CALL;

    open_slow_readers(&e, fds);
    unsigned char *pings;
    size_t plen, poff = 0;
    int flood = open_flooder(&e, &pings, &plen);

    /* Warm up until the history has wrapped twice past every slow reader; then the baseline. */
    uint64_t h0 = e.rail->max_seq;
    assert_true(
        BB_WAIT(&e.bb, e.rail->max_seq >= h0 + 2 * SLOW_HISTORY || e.rail->closes, BB_TIMEOUT_MS));
    long base = bb_rss_kib(e.bb.srv.pid), peak = base;
    assert_true(base > 0);
    size_t other_a = a->n, other_b = b->n;
    /* Then ten more history lengths of events, sampling the server's memory after each, and
     * checking each time that the other table's players kept receiving their events. */
    for (int round = 0; round < 10; round++) {
        uint64_t from = e.rail->max_seq;
        if (poff < plen) {
            ssize_t w = write(flood, pings + poff, plen - poff);
            if (w > 0) poff += (size_t)w;
        }
        assert_true(BB_WAIT(&e.bb, e.rail->max_seq >= from + SLOW_HISTORY || e.rail->closes,
                            BB_TIMEOUT_MS));
        assert_true(BB_WAIT(&e.bb, (a->n > other_a && b->n > other_b) || a->closes || b->closes,
                            BB_TIMEOUT_MS));
        assert_int_equal(a->closes + b->closes, 0);
        other_a = a->n;
        other_b = b->n;
        long now = bb_rss_kib(e.bb.srv.pid);
        if (now > peak) peak = now;
    }
    print_message("slow consumers: %d readers stopped; server RSS %ld KiB after the history "
                  "filled, peak %ld KiB over %d more history lengths (+%ld KiB); the flooder "
                  "wrote %zu of %zu bytes of pings\n",
                  SLOW_READERS, base, peak, 10, peak - base, poff, plen);
    /* Justification of the bound: once the history is full nothing in feltd grows with
     * events; a per-connection backlog would cost 24 readers x 10 x 1024 events x ~300 bytes
     * (about 70 MiB) here, so 8 MiB separates "bounded" from "queues per reader" by far. */
    assert_true(peak - base < SLOW_BOUND_KIB);
    check_flooder_throttled(&e, a, b);
    bb_assert_tc_ok(a);
    bb_assert_tc_ok(b);
    for (int i = 0; i < SLOW_READERS; i++)
        close(fds[i]);
    close(flood);
    free(pings);
    env_finish(&e);
    char path[64];
    const char *files[] = {"felt.db", "felt.db-wal", "felt.db-shm", "felt.lock"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", data, files[i]);
        unlink(path);
    }
    assert_int_equal(rmdir(data), 0);
}

/* ---- the valgrind session ----------------------------------------------------------------- */

/* A short but complete session for feltd under valgrind: bots play, a player joins, plays,
 * chats, loses its socket and resumes, a spectator joins through its socket and leaves, a few
 * bad messages and a polling client, then SIGTERM (the wrapper's exit status carries
 * valgrind's verdict). */
static void test_session(void **state)
{
    static struct env e;
    struct http_reply r;
    (void)state;
    const char *extra[] = {"--action-timeout", "30", NULL};
    env_start_args(&e, extra);
    struct tc *p = tc_join(&e.bb, "val", "main", true);
    assert_non_null(p);
    p->resume = true;
    p->play = TC_PLAY_CALL;
    assert_true(BB_WAIT(&e.bb, tc_count(p, PROTO_S_SNAPSHOT) == 1, BB_TIMEOUT_MS));
    /* Play until two hands of ours have ended. */
    assert_true(BB_WAIT(&e.bb, tc_count_updates(p, "hand_end", NULL) >= 2, 6 * BB_TIMEOUT_MS));
    tc_send(p, "{\"type\":\"chat\",\"text\":\"hello \\u001b[31mvalgrind\"}");
    assert_true(BB_WAIT(&e.bb, tc_count(p, PROTO_S_CHAT) >= 1, BB_TIMEOUT_MS));
    /* Lose the socket; the client resumes from its last seq. */
    int opens = p->opens;
    wsconn_drop(p->ws);
    assert_true(BB_WAIT(&e.bb, p->opens > opens, 2 * BB_TIMEOUT_MS));
    assert_true(BB_WAIT(&e.bb, tc_count_updates(p, "hand_end", NULL) >= 3, 6 * BB_TIMEOUT_MS));
    assert_int_equal(tc_count(p, PROTO_S_SNAPSHOT), 1);
    /* A spectator at other joins through its socket, chats, and leaves. */
    struct tc *s = spectate_other(&e, "vspec");
    json_object *ack = send_expect(&e, s, "{\"type\":\"join\",\"name\":\"vs\"}", PROTO_S_ACK);
    assert_non_null(jval_str(ack, "token"));
    tc_send(s, "{\"type\":\"chat\",\"text\":\"bye\"}");
    tc_send(s, "{\"type\":\"leave\"}");
    assert_true(BB_WAIT(&e.bb, s->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(s->close_code, 1000);
    /* Some bad input on the way. */
    struct tc *q = join_other(&e, "vbad");
    expect_error(&e, q, "{\"type\":", "bad_json");
    expect_error(&e, q, "{\"type\":\"action\",\"action\":\"raise\",\"amount\":1e400}", NULL);
    char *over = padded_ping(16385);
    tc_send(q, over);
    free(over);
    assert_true(BB_WAIT(&e.bb, q->closes > 0, BB_TIMEOUT_MS));
    /* The polling transport. */
    bb_http(&e.bb, "/api/games/main/state?since=1", NULL, p->token, &r);
    assert_int_equal(r.status, 200);
    http_reply_free(&r);
    /* An action over HTTP for hand 1, long over: answered (stale_hand, or no_hand between hands)
     * and never applied, so it cannot race the player's own autoplay over its socket (a fold for
     * the current hand could, and one of the two was then rightly rejected: seen once under
     * valgrind). */
    bb_http(&e.bb, "/api/games/main/action",
            "{\"action\":\"fold\",\"request_id\":\"poll1\",\"hand_id\":1}", p->token, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jval_str(jval_get(r.json, "data"), "status"), "rejected");
    http_reply_free(&r);
    bb_http(&e.bb, "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    http_reply_free(&r);
    assert_int_equal(p->bad, 0);
    env_finish(&e);
}

/* The cases, in the order they run without a name; ctest registers one per row (bb_main.h). */
static const struct bb_test hostile_tests[] = {
    BB_TEST(impersonation), BB_TEST(spectator_actions), BB_TEST(huge_json), BB_TEST(nested_json),
    BB_TEST(big_numbers),   BB_TEST(invalid_utf8),      BB_TEST(escapes),   BB_TEST(flood),
    BB_TEST(slow_consumer), BB_TEST(session),
};

int main(int argc, char **argv)
{
    return bb_main(argc, argv, &feltd_path, hostile_tests, FELT_ARRAY_LEN(hostile_tests), NULL);
}
