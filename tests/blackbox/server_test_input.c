/*
 * server_test_input.c: bad input on a socket (server_test.h): malformed JSON, unknown types,
 * wrong field types and oversized messages each get the error the protocol names for them, and
 * the connection and the table go on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_test.h"

/* Each malformed message, and a binary frame, gets the error the protocol names for it, in
 * order, with a message; ann's socket stays open. */
static void check_bad_messages(struct bb *bb, struct tc *ann)
{
    char deep[256] = "{\"type\": \"chat\", \"text\": \"x\", \"n\": ";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    for (int i = 0; i < 40; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    static const struct {
        const char *msg, *code;
    } cases[] = {
        {"{", "bad_json"},
        {"[1, 2]", "bad_json"},
        {"{\"type\": \"chat\", \"text\": \"a\"} trailing", "bad_json"},
        {"{\"type\": \"dance\"}", "bad_type"},
        {"{\"text\": \"no type\"}", "bad_type"},
        {"{\"type\": 5}", "bad_type"},
        {"{\"type\": \"chat\", \"text\": 5}", "bad_field"},
        {"{\"type\": \"action\", \"action\": \"raise\", \"amount\": \"100\"}", "bad_field"},
        {"{\"type\": \"action\", \"action\": \"raise\", \"amount\": 1.5}", "bad_field"},
        {"{\"type\": \"action\", \"action\": \"raise\", \"amount\": 99999999999999999999999}",
         "bad_field"},
        {"{\"type\": \"action\", \"action\": \"raise\", \"amount\": 9223372036854775807}",
         "bad_field"},
        {"{\"type\": \"action\", \"action\": \"raise\", \"amount\": -5}", "bad_field"},
        {"{\"type\": \"action\", \"action\": \"dance\"}", "bad_field"},
        {"{\"type\": \"ping\", \"id\": 1e400}", "bad_field"},
        {"{\"type\": \"chat\", \"text\": \"\\ud800\"}", "invalid_utf8"},
        {NULL, "bad_json"}, /* the deep one */
    };
    for (size_t i = 0; i < FELT_ARRAY_LEN(cases); i++)
        tc_send(ann, cases[i].msg ? cases[i].msg : deep);
    const char bin[] = {0x00, 0x01, 0x02, (char)0xff};
    assert_int_equal(wsconn_send_binary(ann->ws, bin, sizeof(bin)), 0);
    tc_send(ann, "{\"type\": \"ping\", \"id\": 42}");
    assert_int_equal(jval_int(wait_reply(bb, ann, PROTO_S_PONG, 0), "id", -1), 42);
    for (size_t i = 0; i < FELT_ARRAY_LEN(cases); i++) {
        json_object *e = wait_reply(bb, ann, PROTO_S_ERROR, i);
        if (strcmp(jval_str(e, "code"), cases[i].code) != 0)
            print_error("case %zu (%s): got %s\n", i, cases[i].msg ? cases[i].msg : "deep",
                        json_object_to_json_string(e));
        assert_string_equal(jval_str(e, "code"), cases[i].code);
        assert_true(strlen(jval_str(e, "message")) > 0);
    }
    assert_string_equal(jval_str(wait_reply(bb, ann, PROTO_S_ERROR, FELT_ARRAY_LEN(cases)), "code"),
                        "binary_frame");
    assert_int_equal(ann->closes, 0);
}

/* A message over 16 KiB closes that socket with 1009, and only that one: sent plain, and sent
 * with permessage-deflate (where it is small on the wire and only its inflated size tells). */
static void check_oversized(struct bb *bb)
{
    size_t blen = 20000;
    char *huge = xmalloc(blen + 1);
    memset(huge, ' ', blen);
    memcpy(huge, "{\"type\": \"chat\", \"text\": \"", 26);
    memcpy(huge + blen - 2, "\"}", 2);
    huge[blen] = '\0';
    for (int deflate = 0; deflate < 2; deflate++) {
        bb->no_deflate = !deflate;
        struct tc *big = tc_spectator(bb, deflate ? "big-z" : "big", "main", false);
        bb->no_deflate = false;
        wait_snapshot(bb, big);
        assert_int_equal(wsconn_compressed(big->ws), deflate);
        tc_send(big, huge);
        assert_true(BB_WAIT(bb, big->closes > 0, BB_TIMEOUT_MS));
        if (big->close_code != 1009)
            print_error("%s: closed with %d (%s)\n", big->name, big->close_code, big->close_reason);
        assert_int_equal(big->close_code, 1009);
    }
    free(huge);
}

/* Invalid UTF-8 in a text frame is a protocol error of WebSocket itself (1007). */
static void check_invalid_utf8_frame(struct bb *bb)
{
    struct tc *raw = tc_spectator(bb, "raw", "main", false);
    wait_snapshot(bb, raw);
    tc_send(raw, "{\"type\": \"chat\", \"text\": \"\xff\xfe\"}");
    assert_true(BB_WAIT(bb, raw->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(raw->close_code, 1007);
}

/* A flood is throttled, not fatal: the connection stays and is answered. */
static void check_flood_throttled(struct bb *bb)
{
    struct tc *flood = tc_spectator(bb, "flood", "main", false);
    wait_snapshot(bb, flood);
    for (int i = 0; i < 250; i++)
        tc_send(flood, "{\"type\": \"ping\", \"id\": 1}");
    assert_true(BB_WAIT(bb, tc_count(flood, PROTO_S_ERROR) > 0 || flood->closes, BB_TIMEOUT_MS));
    assert_string_equal(jval_str(tc_last(flood, PROTO_S_ERROR, NULL, NULL), "code"), "rate_limited");
    assert_int_equal(flood->closes, 0);
}

void test_malformed(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    struct http_reply r;
    (void)state;
    START(&bb, "--hand-delay", "600000");
    struct tc *ann = tc_join(&bb, "ann", "main", false);
    wait_snapshot(&bb, ann);
    check_bad_messages(&bb, ann);
    check_oversized(&bb);
    check_invalid_utf8_frame(&bb);
    check_flood_throttled(&bb);

    /* The server and the other connections carry on. */
    tc_send(ann, "{\"type\": \"ping\", \"id\": 43}");
    assert_int_equal(jval_int(wait_reply(&bb, ann, PROTO_S_PONG, 1), "id", -1), 43);
    tc_send(ann, "{\"type\": \"chat\", \"text\": \"still fine\"}");
    wait_msg(&bb, ann, 0, PROTO_S_CHAT, "text", "still fine");
    bb_http(&bb, "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    http_reply_free(&r);
    assert_true(feltd_running(&bb.srv));
    bb_assert_tc_ok(ann);
    bb_stop_clean(&bb);
}
