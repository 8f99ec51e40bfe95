/*
 * test_proto.c: unit tests for common/proto.c, the felt.v1 codec. Round trips for every client
 * message type (with and without optional fields), every class of rejection with its code and
 * the field its message names, the depth and size limits, the server envelope both ways, the
 * reply builders, and a seeded mutation test: decoding corrupted messages never crashes, and
 * whatever is accepted re-encodes to the same message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "proto.h"
#include "util.h"

static void assert_cmsg_equal(const struct proto_cmsg *a, const struct proto_cmsg *b)
{
    assert_int_equal(a->type, b->type);
    assert_string_equal(a->token, b->token);
    assert_int_equal(a->has_last_seq, b->has_last_seq);
    assert_true(a->last_seq == b->last_seq);
    assert_string_equal(a->epoch, b->epoch);
    assert_string_equal(a->name, b->name);
    assert_true(a->buy_in == b->buy_in);
    assert_int_equal(a->action, b->action);
    assert_int_equal(a->has_amount, b->has_amount);
    assert_true(a->amount == b->amount);
    assert_string_equal(a->request_id, b->request_id);
    assert_int_equal(a->has_hand_id, b->has_hand_id);
    assert_true(a->hand_id == b->hand_id);
    assert_int_equal(a->has_decision, b->has_decision);
    assert_true(a->decision == b->decision);
    assert_string_equal(a->text, b->text);
    assert_int_equal(a->has_ping_id, b->has_ping_id);
    assert_true(a->ping_id == b->ping_id);
}

/* encode -> decode must give back m; the JSON must carry exactly the expected keys. */
static void round_trip(const struct proto_cmsg *m, const char *const *keys)
{
    struct proto_cmsg back;
    struct felt_err err = {0};
    char *json = proto_encode_client(m);
    struct json_object *o = json_tokener_parse(json);
    size_t nkeys = 0;

    assert_non_null(o);
    for (; keys[nkeys]; nkeys++)
        assert_true(json_object_object_get_ex(o, keys[nkeys], NULL));
    assert_int_equal(json_object_object_length(o), nkeys);
    json_object_put(o);
    if (proto_decode_client(json, strlen(json), &back, &err) != 0)
        print_error("%s: %s: %s\n", json, err.code, err.message);
    assert_int_equal(proto_decode_client(json, strlen(json), &back, &err), 0);
    assert_cmsg_equal(m, &back);
    free(json);
}

static void test_round_trip_every_type(void **state)
{
    struct proto_cmsg m;
    (void)state;

    memset(&m, 0, sizeof(m));
    m.type = PROTO_C_HELLO;
    strcpy(m.token, "3f9a0c1b2d4e5f60718293a4b5c6d7e8");
    round_trip(&m, (const char *const[]){"type", "token", NULL});
    m.has_last_seq = true;
    m.last_seq = 317;
    round_trip(&m, (const char *const[]){"type", "token", "last_seq", NULL});
    m.last_seq = 0;
    round_trip(&m, (const char *const[]){"type", "token", "last_seq", NULL});
    strcpy(m.epoch, "5d41402abc4b2a76b9719d911017c592");
    round_trip(&m, (const char *const[]){"type", "token", "last_seq", "epoch", NULL});

    memset(&m, 0, sizeof(m));
    m.type = PROTO_C_JOIN;
    strcpy(m.name, u8"ann \u00e9\u65e5");
    round_trip(&m, (const char *const[]){"type", "name", NULL});
    m.buy_in = PROTO_AMOUNT_MAX;
    round_trip(&m, (const char *const[]){"type", "name", "buy_in", NULL});

    static const enum engine_action acts[] = {ENGINE_FOLD, ENGINE_CHECK, ENGINE_CALL,
                                              ENGINE_ALL_IN};
    for (size_t k = 0; k < FELT_ARRAY_LEN(acts); k++) {
        memset(&m, 0, sizeof(m));
        m.type = PROTO_C_ACTION;
        m.action = acts[k];
        round_trip(&m, (const char *const[]){"type", "action", NULL});
        strcpy(m.request_id, "6b1e2c1a-0f3e-4c1e-9a55-2f0d0b7c9e11");
        m.has_hand_id = true;
        m.hand_id = 42;
        round_trip(&m, (const char *const[]){"type", "action", "request_id", "hand_id", NULL});
    }
    memset(&m, 0, sizeof(m));
    m.type = PROTO_C_ACTION;
    m.action = ENGINE_RAISE;
    m.has_amount = true;
    m.amount = 100;
    round_trip(&m, (const char *const[]){"type", "action", "amount", NULL});
    m.amount = 0;
    m.has_hand_id = true;
    m.hand_id = 0;
    round_trip(&m, (const char *const[]){"type", "action", "amount", "hand_id", NULL});
    m.has_decision = true;
    m.decision = 3;
    round_trip(&m, (const char *const[]){"type", "action", "amount", "hand_id", "decision", NULL});

    memset(&m, 0, sizeof(m));
    m.type = PROTO_C_CHAT;
    strcpy(m.text, u8"nice hand \U0001F600 \"quoted\" back\\slash /");
    round_trip(&m, (const char *const[]){"type", "text", NULL});

    static const enum proto_ctype bare[] = {PROTO_C_SIT_OUT, PROTO_C_SIT_IN, PROTO_C_LEAVE,
                                            PROTO_C_PING};
    for (size_t k = 0; k < FELT_ARRAY_LEN(bare); k++) {
        memset(&m, 0, sizeof(m));
        m.type = bare[k];
        round_trip(&m, (const char *const[]){"type", NULL});
    }
    memset(&m, 0, sizeof(m));
    m.type = PROTO_C_PING;
    m.has_ping_id = true;
    m.ping_id = -7;
    round_trip(&m, (const char *const[]){"type", "id", NULL});
}

static struct proto_cmsg decode_ok(const char *json)
{
    struct proto_cmsg m;
    struct felt_err err = {0};
    if (proto_decode_client(json, strlen(json), &m, &err) != 0)
        print_error("rejected %s: %s: %s\n", json, err.code, err.message);
    assert_int_equal(proto_decode_client(json, strlen(json), &m, &err), 0);
    return m;
}

/* The issue's own examples, extra fields, JSON nulls, whitespace and boundary values. */
static void test_decode_accepts(void **state)
{
    struct proto_cmsg m;
    (void)state;

    m = decode_ok("{\"type\": \"action\", \"action\": \"raise\", \"amount\": 100, "
                  "\"request_id\": \"uuid\", \"hand_id\": 42, \"decision\": 3}");
    assert_int_equal(m.type, PROTO_C_ACTION);
    assert_int_equal(m.action, ENGINE_RAISE);
    assert_true(m.has_amount && m.amount == 100);
    assert_string_equal(m.request_id, "uuid");
    assert_true(m.has_hand_id && m.hand_id == 42);
    assert_true(m.has_decision && m.decision == 3);

    m = decode_ok("{\"type\": \"hello\", \"token\": \"abc\", \"last_seq\": 317}");
    assert_int_equal(m.type, PROTO_C_HELLO);
    assert_string_equal(m.token, "abc");
    assert_true(m.has_last_seq && m.last_seq == 317);
    assert_string_equal(m.epoch, "");
    m = decode_ok("{\"type\": \"hello\", \"token\": \"abc\", \"last_seq\": 3, \"epoch\": \"e1\"}");
    assert_string_equal(m.epoch, "e1");

    m = decode_ok("{\"type\": \"chat\", \"text\": \"nice hand\"}");
    assert_string_equal(m.text, "nice hand");

    /* unknown fields are ignored (forward compatibility), even nested ones */
    m = decode_ok(" {\"type\":\"ping\",\"id\":7,\"future\":{\"x\":[1,2,{\"y\":null}]}}\n");
    assert_int_equal(m.type, PROTO_C_PING);
    assert_true(m.has_ping_id && m.ping_id == 7);

    /* JSON null optional fields count as absent */
    m = decode_ok("{\"type\":\"action\",\"action\":\"call\",\"request_id\":null,"
                  "\"hand_id\":null,\"amount\":null,\"decision\":null}");
    assert_int_equal(m.action, ENGINE_CALL);
    assert_false(m.has_amount);
    assert_false(m.has_hand_id);
    assert_false(m.has_decision);
    assert_string_equal(m.request_id, "");

    /* names and chat are sanitized */
    m = decode_ok("{\"type\":\"join\",\"name\":\"\\u001b[31m ann\\u202e \\u001b[0m\","
                  "\"buy_in\":1000}");
    assert_string_equal(m.name, "ann");
    assert_true(m.buy_in == 1000);
    /* invisible code points go too: a soft hyphen and a grapheme joiner leave plain "ann" */
    m = decode_ok("{\"type\":\"join\",\"name\":\"an\\u00adn\\u034f\"}");
    assert_string_equal(m.name, "ann");
    /* names in other scripts are fine; a reserved word inside a longer name is not reserved */
    m = decode_ok("{\"type\":\"join\",\"name\":"
                  "\"\\u0394\\u03b7\\u03bc\\u03ae\\u03c4\\u03c1\\u03b7\\u03c2\"}");
    assert_string_equal(m.name, u8"\u0394\u03b7\u03bc\u03ae\u03c4\u03c1\u03b7\u03c2");
    m = decode_ok("{\"type\":\"join\",\"name\":\"server fan\"}");
    assert_string_equal(m.name, "server fan");
    m = decode_ok("{\"type\":\"chat\",\"text\":\"gg\\u001b]0;pwned\\u0007 \\t wp\"}");
    assert_string_equal(m.text, "gg wp");

    /* a proper surrogate pair escape is fine; an escaped backslash is not an escape */
    m = decode_ok("{\"type\":\"chat\",\"text\":\"\\ud83d\\ude00\"}");
    assert_string_equal(m.text, "\xf0\x9f\x98\x80");
    m = decode_ok("{\"type\":\"chat\",\"text\":\"\\\\ud800\"}");
    assert_string_equal(m.text, "\\ud800");

    /* boundaries */
    m = decode_ok("{\"type\":\"action\",\"action\":\"raise\",\"amount\":1000000000000}");
    assert_true(m.amount == PROTO_AMOUNT_MAX);
    m = decode_ok("{\"type\":\"action\",\"action\":\"raise\",\"amount\":0}");
    assert_true(m.has_amount && m.amount == 0);
    m = decode_ok("{\"type\":\"action\",\"action\":\"fold\",\"amount\":-0}");
    assert_true(m.has_amount && m.amount == 0);
    m = decode_ok("{\"type\":\"ping\",\"id\":9223372036854775806}");
    assert_true(m.ping_id == PROTO_INT_MAX);
    m = decode_ok("{\"type\":\"ping\",\"id\":-9223372036854775807}");
    assert_true(m.ping_id == PROTO_INT_MIN);
    m = decode_ok("{\"type\":\"hello\",\"token\":\"a\",\"last_seq\":0}");
    assert_true(m.has_last_seq && m.last_seq == 0);
}

static void test_decode_length_limits(void **state)
{
    char json[4096], token[PROTO_TOKEN_MAX + 2], rid[PROTO_REQUEST_ID_MAX + 2];
    char text[PROTO_CHAT_MAX_CHARS * 2 + 8], name[PROTO_NAME_MAX_CHARS * 4 + 8];
    struct proto_cmsg m;
    struct felt_err err = {0};
    (void)state;

    memset(token, 'T', sizeof(token));
    token[PROTO_TOKEN_MAX] = '\0';
    snprintf(json, sizeof(json), "{\"type\":\"hello\",\"token\":\"%s\"}", token);
    m = decode_ok(json);
    assert_string_equal(m.token, token);
    token[PROTO_TOKEN_MAX] = 'T';
    token[PROTO_TOKEN_MAX + 1] = '\0';
    snprintf(json, sizeof(json), "{\"type\":\"hello\",\"token\":\"%s\"}", token);
    assert_int_equal(proto_decode_client(json, strlen(json), &m, &err), -1);
    assert_string_equal(err.code, "bad_field");
    assert_non_null(strstr(err.message, "token"));

    memset(rid, 'r', sizeof(rid));
    rid[PROTO_REQUEST_ID_MAX] = '\0';
    snprintf(json, sizeof(json), "{\"type\":\"action\",\"action\":\"fold\",\"request_id\":\"%s\"}",
             rid);
    m = decode_ok(json);
    assert_string_equal(m.request_id, rid);
    rid[PROTO_REQUEST_ID_MAX] = 'r';
    rid[PROTO_REQUEST_ID_MAX + 1] = '\0';
    snprintf(json, sizeof(json), "{\"type\":\"action\",\"action\":\"fold\",\"request_id\":\"%s\"}",
             rid);
    assert_int_equal(proto_decode_client(json, strlen(json), &m, &err), -1);
    assert_string_equal(err.code, "bad_field");
    assert_non_null(strstr(err.message, "request_id"));

    /* chat: 280 two-byte letters accepted, 281 too long */
    for (int k = 0; k < PROTO_CHAT_MAX_CHARS + 1; k++)
        memcpy(text + 2 * k, "\xc3\xa9", 2);
    text[2 * PROTO_CHAT_MAX_CHARS] = '\0';
    snprintf(json, sizeof(json), "{\"type\":\"chat\",\"text\":\"%s\"}", text);
    m = decode_ok(json);
    assert_string_equal(m.text, text);
    memcpy(text + 2 * PROTO_CHAT_MAX_CHARS, "\xc3\xa9", 3);
    snprintf(json, sizeof(json), "{\"type\":\"chat\",\"text\":\"%s\"}", text);
    assert_int_equal(proto_decode_client(json, strlen(json), &m, &err), -1);
    assert_string_equal(err.code, "too_long");
    assert_non_null(strstr(err.message, "text"));

    /* name: 24 four-byte characters fill the buffer exactly; 25 are too long (a letter, U+20000
     * CJK ideograph, since a name needs one; symbols alone are "bad_name") */
    for (int k = 0; k < PROTO_NAME_MAX_CHARS + 1; k++)
        memcpy(name + 4 * k, "\xf0\xa0\x80\x80", 4);
    name[4 * PROTO_NAME_MAX_CHARS] = '\0';
    snprintf(json, sizeof(json), "{\"type\":\"join\",\"name\":\"%s\"}", name);
    m = decode_ok(json);
    assert_string_equal(m.name, name);
    memcpy(name + 4 * PROTO_NAME_MAX_CHARS, "\xf0\xa0\x80\x80", 5);
    snprintf(json, sizeof(json), "{\"type\":\"join\",\"name\":\"%s\"}", name);
    assert_int_equal(proto_decode_client(json, strlen(json), &m, &err), -1);
    assert_string_equal(err.code, "too_long");
    assert_non_null(strstr(err.message, "name"));
}

struct reject {
    const char *json;
    const char *code;
    const char *field; /* a word the message must contain, or NULL */
};

static const struct reject rejects[] = {
    /* not JSON, not an object, trailing data */
    {"", "bad_json", NULL},
    {"{\"type\":\"ping\"", "bad_json", NULL},
    {"{\"type\":\"ping\"} x", "bad_json", NULL},
    {"{\"type\":\"ping\"}{}", "bad_json", NULL},
    {"{\"type\":\"ping\",}", "bad_json", NULL},
    /* json-c takes these even in strict mode; JSON has no such numbers. */
    {"{\"type\":\"leave\",\"x\":NaN}", "bad_json", NULL},
    {"{\"type\":\"leave\",\"x\":[1,{\"y\":-Infinity}]}", "bad_json", NULL},
    {"{\"type\":\"ping\",\"id\":Infinity}", "bad_json", NULL},
    {"[{\"type\":\"ping\"}]", "bad_json", "object"},
    {"\"ping\"", "bad_json", "object"},
    {"7", "bad_json", "object"},
    {"null", "bad_json", "object"},
    /* type */
    {"{}", "bad_type", "type"},
    {"{\"tipe\":\"ping\"}", "bad_type", "type"},
    {"{\"type\":null}", "bad_type", "type"},
    {"{\"type\":5}", "bad_type", "type"},
    {"{\"type\":true}", "bad_type", "type"},
    {"{\"type\":[\"ping\"]}", "bad_type", "type"},
    {"{\"type\":\"dance\"}", "bad_type", "type"},
    {"{\"type\":\"PING\"}", "bad_type", "type"},
    {"{\"type\":\"ping\\u0000\"}", "bad_type", "type"},
    {"{\"type\":\"\"}", "bad_type", "type"},
    /* hello */
    {"{\"type\":\"hello\"}", "bad_field", "token"},
    {"{\"type\":\"hello\",\"token\":5}", "bad_field", "token"},
    {"{\"type\":\"hello\",\"token\":\"\"}", "bad_field", "token"},
    {"{\"type\":\"hello\",\"token\":\"a\\u0001b\"}", "bad_field", "token"},
    {"{\"type\":\"hello\",\"token\":\"a\\u0000b\"}", "bad_field", "token"},
    {"{\"type\":\"hello\",\"token\":\"\xc3\xa9\"}", "bad_field", "token"},
    {"{\"type\":\"hello\",\"token\":\"a\",\"last_seq\":-1}", "bad_field", "last_seq"},
    {"{\"type\":\"hello\",\"token\":\"a\",\"epoch\":7}", "bad_field", "epoch"},
    {"{\"type\":\"hello\",\"token\":\"a\",\"epoch\":\"\"}", "bad_field", "epoch"},
    {"{\"type\":\"hello\",\"token\":\"a\",\"epoch\":\"0123456789abcdef0123456789abcdef0\"}",
     "bad_field", "epoch"},
    {"{\"type\":\"hello\",\"token\":\"a\",\"last_seq\":\"3\"}", "bad_field", "last_seq"},
    {"{\"type\":\"hello\",\"token\":\"a\",\"last_seq\":1.5}", "bad_field", "last_seq"},
    {"{\"type\":\"hello\",\"token\":\"a\",\"last_seq\":true}", "bad_field", "last_seq"},
    {"{\"type\":\"hello\",\"token\":\"a\",\"last_seq\":9223372036854775808}", "bad_field",
     "last_seq"},
    /* join */
    {"{\"type\":\"join\"}", "bad_field", "name"},
    {"{\"type\":\"join\",\"name\":5}", "bad_field", "name"},
    {"{\"type\":\"join\",\"name\":\"\"}", "bad_field", "name"},
    {"{\"type\":\"join\",\"name\":\" \\t \"}", "bad_field", "name"},
    {"{\"type\":\"join\",\"name\":\"\\u001b[31m\\u200b\"}", "bad_field", "name"},
    {"{\"type\":\"join\",\"name\":\"abcdefghijklmnopqrstuvwxy\"}", "too_long", "name"},
    {"{\"type\":\"join\",\"name\":\"a\\u0000\"}", "invalid_utf8", "name"},
    /* names that impersonate: blank-looking (sanitized to nothing), no letter or digit, reserved */
    {"{\"type\":\"join\",\"name\":\"\\u3164\"}", "bad_field", "name"},
    {"{\"type\":\"join\",\"name\":\"\\u2800\\u3164\\u00ad\"}", "bad_field", "name"},
    {"{\"type\":\"join\",\"name\":\"---\"}", "bad_name", "name"},
    {"{\"type\":\"join\",\"name\":\"\\ud83c\\udca1\"}", "bad_name", "name"},
    {"{\"type\":\"join\",\"name\":\"server\"}", "reserved_name", "name"},
    {"{\"type\":\"join\",\"name\":\"SERVER\"}", "reserved_name", "name"},
    {"{\"type\":\"join\",\"name\":\"\\u0455erver\"}", "reserved_name", "name"},
    {"{\"type\":\"join\",\"name\":\"[server]\"}", "reserved_name", "name"},
    {"{\"type\":\"join\",\"name\":\"[ann]\"}", "reserved_name", "name"},
    {"{\"type\":\"join\",\"name\":\"spectator\",\"buy_in\":100}", "reserved_name", "name"},
    {"{\"type\":\"join\",\"name\":\"ann\",\"buy_in\":0}", "bad_field", "buy_in"},
    {"{\"type\":\"join\",\"name\":\"ann\",\"buy_in\":-5}", "bad_field", "buy_in"},
    {"{\"type\":\"join\",\"name\":\"ann\",\"buy_in\":1000000000001}", "bad_field", "buy_in"},
    {"{\"type\":\"join\",\"name\":\"ann\",\"buy_in\":1e3}", "bad_field", "buy_in"},
    {"{\"type\":\"join\",\"name\":\"ann\",\"buy_in\":1000.0}", "bad_field", "buy_in"},
    {"{\"type\":\"join\",\"name\":\"ann\",\"buy_in\":\"1000\"}", "bad_field", "buy_in"},
    {"{\"type\":\"join\",\"name\":\"ann\",\"buy_in\":false}", "bad_field", "buy_in"},
    {"{\"type\":\"join\",\"name\":\"ann\",\"buy_in\":{}}", "bad_field", "buy_in"},
    /* action */
    {"{\"type\":\"action\"}", "bad_field", "action"},
    {"{\"type\":\"action\",\"action\":3}", "bad_field", "action"},
    {"{\"type\":\"action\",\"action\":\"bet\"}", "bad_field", "action"},
    {"{\"type\":\"action\",\"action\":\"Fold\"}", "bad_field", "action"},
    {"{\"type\":\"action\",\"action\":\"fold\\u0000\"}", "bad_field", "action"},
    {"{\"type\":\"action\",\"action\":\"raise\"}", "bad_field", "amount"},
    {"{\"type\":\"action\",\"action\":\"raise\",\"amount\":null}", "bad_field", "amount"},
    {"{\"type\":\"action\",\"action\":\"raise\",\"amount\":-1}", "bad_field", "amount"},
    {"{\"type\":\"action\",\"action\":\"raise\",\"amount\":1000000000001}", "bad_field", "amount"},
    {"{\"type\":\"action\",\"action\":\"raise\",\"amount\":1.5}", "bad_field", "amount"},
    {"{\"type\":\"action\",\"action\":\"raise\",\"amount\":1e3}", "bad_field", "amount"},
    {"{\"type\":\"action\",\"action\":\"raise\",\"amount\":1E+2}", "bad_field", "amount"},
    {"{\"type\":\"action\",\"action\":\"raise\",\"amount\":true}", "bad_field", "amount"},
    {"{\"type\":\"action\",\"action\":\"raise\",\"amount\":\"100\"}", "bad_field", "amount"},
    {"{\"type\":\"action\",\"action\":\"raise\",\"amount\":[100]}", "bad_field", "amount"},
    {"{\"type\":\"action\",\"action\":\"raise\",\"amount\":9223372036854775807}", "bad_field",
     "amount"},
    {"{\"type\":\"action\",\"action\":\"raise\",\"amount\":9223372036854775808}", "bad_field",
     "amount"},
    {"{\"type\":\"action\",\"action\":\"raise\",\"amount\":18446744073709551616}", "bad_field",
     "amount"},
    {"{\"type\":\"action\",\"action\":\"raise\",\"amount\":99999999999999999999999999999}",
     "bad_field", "amount"},
    {"{\"type\":\"action\",\"action\":\"raise\",\"amount\":-9223372036854775809}", "bad_field",
     "amount"},
    {"{\"type\":\"action\",\"action\":\"raise\",\"amount\":1e30}", "bad_field", "amount"},
    {"{\"type\":\"action\",\"action\":\"call\",\"amount\":-5}", "bad_field", "amount"},
    {"{\"type\":\"action\",\"action\":\"fold\",\"request_id\":\"\"}", "bad_field", "request_id"},
    {"{\"type\":\"action\",\"action\":\"fold\",\"request_id\":7}", "bad_field", "request_id"},
    {"{\"type\":\"action\",\"action\":\"fold\",\"request_id\":\"a\\u0007\"}", "bad_field",
     "request_id"},
    {"{\"type\":\"action\",\"action\":\"fold\",\"hand_id\":-1}", "bad_field", "hand_id"},
    {"{\"type\":\"action\",\"action\":\"fold\",\"hand_id\":\"42\"}", "bad_field", "hand_id"},
    {"{\"type\":\"action\",\"action\":\"fold\",\"hand_id\":4.2e1}", "bad_field", "hand_id"},
    {"{\"type\":\"action\",\"action\":\"fold\",\"decision\":0}", "bad_field", "decision"},
    {"{\"type\":\"action\",\"action\":\"fold\",\"decision\":\"3\"}", "bad_field", "decision"},
    /* chat */
    {"{\"type\":\"chat\"}", "bad_field", "text"},
    {"{\"type\":\"chat\",\"text\":5}", "bad_field", "text"},
    {"{\"type\":\"chat\",\"text\":\"\"}", "bad_field", "text"},
    {"{\"type\":\"chat\",\"text\":\"   \"}", "bad_field", "text"},
    {"{\"type\":\"chat\",\"text\":\"\\u001b]0;title\\u0007\"}", "bad_field", "text"},
    /* invalid UTF-8: raw bytes anywhere in the frame, and unpaired surrogate escapes */
    {"{\"type\":\"chat\",\"text\":\"\xff\"}", "invalid_utf8", NULL},
    {"{\"type\":\"chat\",\"text\":\"\xc0\xaf\"}", "invalid_utf8", NULL},
    {"{\"type\":\"chat\",\"text\":\"\xe0\x80\xaf\"}", "invalid_utf8", NULL},
    {"{\"type\":\"chat\",\"text\":\"\xed\xa0\x80\"}", "invalid_utf8", NULL},
    {"{\"type\":\"chat\",\"text\":\"\xf4\x90\x80\x80\"}", "invalid_utf8", NULL},
    {"{\"type\":\"chat\",\"text\":\"ab\xe2\x82\"}", "invalid_utf8", NULL},
    {"{\"type\":\"chat\",\"text\":\"ok\",\"x\":\"\x80\"}", "invalid_utf8", NULL},
    {"{\"type\":\"chat\",\"text\":\"\\ud800\"}", "invalid_utf8", NULL},
    {"{\"type\":\"chat\",\"text\":\"\\uDBFF\"}", "invalid_utf8", NULL},
    {"{\"type\":\"chat\",\"text\":\"\\udc00\"}", "invalid_utf8", NULL},
    {"{\"type\":\"chat\",\"text\":\"\\ud800x\"}", "invalid_utf8", NULL},
    {"{\"type\":\"chat\",\"text\":\"\\ud800\\u0041\"}", "invalid_utf8", NULL},
    {"{\"type\":\"chat\",\"text\":\"\\ude00\\ud83d\"}", "invalid_utf8", NULL},
    {"{\"type\":\"chat\",\"text\":\"\\\\\\ud800\"}", "invalid_utf8", NULL},
    {"{\"type\":\"join\",\"name\":\"\\ud800\"}", "invalid_utf8", NULL},
    /* ping */
    {"{\"type\":\"ping\",\"id\":1.5}", "bad_field", "id"},
    {"{\"type\":\"ping\",\"id\":\"7\"}", "bad_field", "id"},
    {"{\"type\":\"ping\",\"id\":-9223372036854775808}", "bad_field", "id"},
};

static void test_decode_rejects(void **state)
{
    (void)state;
    for (size_t k = 0; k < FELT_ARRAY_LEN(rejects); k++) {
        const struct reject *r = &rejects[k];
        struct proto_cmsg m;
        struct felt_err err = {0};
        int rc;

        memset(&m, 0x5A, sizeof(m));
        rc = proto_decode_client(r->json, strlen(r->json), &m, &err);
        if (rc != -1 || !err.code || strcmp(err.code, r->code) != 0 ||
            (r->field && !strstr(err.message, r->field)))
            print_error("case %zu %s: rc=%d %s: %s\n", k, r->json, rc,
                        err.code ? err.code : "(none)", err.message);
        assert_int_equal(rc, -1);
        assert_non_null(err.code);
        assert_string_equal(err.code, r->code);
        assert_true(err.message[0] != '\0');
        if (r->field) assert_non_null(strstr(err.message, r->field));
        /* a failed decode leaves nothing half-filled */
        assert_int_equal(m.type, 0);
        assert_string_equal(m.name, "");
        assert_false(m.has_amount);
    }
}

static void test_decode_error_messages(void **state)
{
    struct proto_cmsg m;
    struct felt_err err = {0};
    const char *j = "{\"type\":\"action\",\"action\":\"raise\",\"amount\":1.5}";
    const char *nul = "{\"type\":\"ping\"}\0";
    (void)state;

    assert_int_equal(proto_decode_client(j, strlen(j), &m, &err), -1);
    assert_string_equal(err.message, "amount must be an integer between 0 and 1000000000000");
    /* a raw NUL inside the frame (length includes it) */
    assert_int_equal(proto_decode_client(nul, strlen(nul) + 1, &m, &err), -1);
    assert_string_equal(err.code, "bad_json");
    /* buf need not be NUL-terminated: only len bytes are read */
    char exact[15];
    memcpy(exact, "{\"type\":\"ping\"}", 15);
    assert_int_equal(proto_decode_client(exact, sizeof(exact), &m, &err), 0);
    assert_int_equal(m.type, PROTO_C_PING);
    assert_int_equal(proto_decode_client(NULL, 0, &m, &err), -1);
    assert_string_equal(err.code, "bad_json");
}

/* Builds {"type":"ping","x":[[...]]} nesting `depth` levels in all. */
static char *nested(int depth, size_t *len)
{
    size_t cap = 64 + 2 * (size_t)depth;
    char *s = xmalloc(cap);
    size_t n = (size_t)snprintf(s, cap, "{\"type\":\"ping\",\"x\":");
    for (int k = 1; k < depth; k++)
        s[n++] = '[';
    for (int k = 1; k < depth; k++)
        s[n++] = ']';
    s[n++] = '}';
    s[n] = '\0';
    *len = n;
    return s;
}

static void test_depth_limit(void **state)
{
    struct proto_cmsg m;
    struct felt_err err = {0};
    size_t len;
    char *s;
    (void)state;

    s = nested(PROTO_MAX_DEPTH, &len);
    assert_int_equal(proto_decode_client(s, len, &m, &err), 0);
    free(s);
    s = nested(PROTO_MAX_DEPTH + 1, &len);
    assert_int_equal(proto_decode_client(s, len, &m, &err), -1);
    assert_string_equal(err.code, "bad_json");
    free(s);

    /* 10,000 nested arrays (still under the frame limit): rejected, no crash */
    s = xmalloc(20001);
    memset(s, '[', 10000);
    memset(s + 10000, ']', 10000);
    assert_int_equal(proto_decode_client(s, 20000, &m, &err), -1);
    assert_string_equal(err.code, "too_large");
    assert_int_equal(proto_decode_client(s, 10000, &m, &err), -1);
    assert_string_equal(err.code, "bad_json");
    /* and 2,000 levels of objects, closed */
    size_t n = 0;
    for (int k = 0; k < 2000; k++)
        n += (size_t)sprintf(s + n, "{\"a\":");
    s[n++] = '1';
    memset(s + n, '}', 2000);
    n += 2000;
    assert_true(n <= PROTO_MAX_FRAME);
    assert_int_equal(proto_decode_client(s, n, &m, &err), -1);
    assert_string_equal(err.code, "bad_json");
    free(s);
}

static void test_too_large(void **state)
{
    struct proto_cmsg m;
    struct felt_err err = {0};
    char *s = xmalloc(PROTO_MAX_FRAME + 2);
    const char *ping = "{\"type\":\"ping\",\"id\":3}";
    (void)state;

    /* a valid message padded with whitespace to exactly the limit is accepted */
    memset(s, ' ', PROTO_MAX_FRAME + 1);
    memcpy(s, ping, strlen(ping));
    assert_int_equal(proto_decode_client(s, PROTO_MAX_FRAME, &m, &err), 0);
    assert_true(m.has_ping_id && m.ping_id == 3);
    assert_int_equal(proto_decode_client(s, PROTO_MAX_FRAME + 1, &m, &err), -1);
    assert_string_equal(err.code, "too_large");
    free(s);
}

/* ---- server messages ---- */

static struct json_object *data_k(int v)
{
    struct json_object *d = json_object_new_object();
    json_object_object_add(d, "k", json_object_new_int(v));
    return d;
}

static void test_server_round_trip(void **state)
{
    (void)state;
    for (int t = 0; t < PROTO_S_COUNT; t++) {
        size_t len = 0;
        char *s = proto_encode_server((enum proto_stype)t, 1000 + (uint64_t)t, 1700000000123,
                                      data_k(t), &len);
        struct proto_smsg m;
        struct felt_err err = {0};
        char prefix[64];

        assert_int_equal(len, strlen(s));
        snprintf(prefix, sizeof(prefix), "{\"type\":\"%s\",",
                 proto_stype_name((enum proto_stype)t));
        assert_memory_equal(s, prefix, strlen(prefix)); /* type first, compact */
        assert_null(strstr(s, ": "));
        assert_null(strstr(s, ", "));
        if (proto_stype_is_event((enum proto_stype)t))
            assert_non_null(strstr(s, "\"seq\":"));
        else
            assert_null(strstr(s, "\"seq\""));

        assert_int_equal(proto_decode_server(s, len, &m, &err), 0);
        assert_int_equal(m.type, t);
        assert_int_equal(m.has_seq, proto_stype_is_event((enum proto_stype)t));
        if (m.has_seq) assert_true(m.seq == 1000 + (uint64_t)t);
        assert_true(m.timestamp == 1700000000123);
        struct json_object *k;
        assert_true(json_object_object_get_ex(m.data, "k", &k));
        assert_int_equal(json_object_get_int(k), t);
        proto_smsg_clear(&m);
        assert_null(m.data);
        proto_smsg_clear(&m); /* idempotent */
        free(s);
    }
    /* NULL data is {} */
    char *s = proto_encode_server(PROTO_S_SNAPSHOT, 0, 5, NULL, NULL);
    assert_string_equal(s, "{\"type\":\"snapshot\",\"seq\":0,\"timestamp\":5,\"data\":{}}");
    free(s);
}

static const struct reject server_rejects[] = {
    {"not json", "bad_json", NULL},
    {"[]", "bad_json", "object"},
    {"{\"seq\":1,\"timestamp\":1,\"data\":{}}", "bad_type", "type"},
    {"{\"type\":7,\"seq\":1,\"timestamp\":1,\"data\":{}}", "bad_type", "type"},
    {"{\"type\":\"gossip\",\"seq\":1,\"timestamp\":1,\"data\":{}}", "bad_type", "type"},
    {"{\"type\":\"ack\",\"seq\":1,\"timestamp\":1,\"data\":{}}", "bad_field", "seq"},
    {"{\"type\":\"error\",\"seq\":0,\"timestamp\":1,\"data\":{}}", "bad_field", "seq"},
    {"{\"type\":\"pong\",\"seq\":1,\"timestamp\":1,\"data\":{}}", "bad_field", "seq"},
    {"{\"type\":\"chat\",\"timestamp\":1,\"data\":{}}", "bad_field", "seq"},
    {"{\"type\":\"snapshot\",\"seq\":-1,\"timestamp\":1,\"data\":{}}", "bad_field", "seq"},
    {"{\"type\":\"snapshot\",\"seq\":\"1\",\"timestamp\":1,\"data\":{}}", "bad_field", "seq"},
    {"{\"type\":\"snapshot\",\"seq\":1.0,\"timestamp\":1,\"data\":{}}", "bad_field", "seq"},
    {"{\"type\":\"snapshot\",\"seq\":9223372036854775808,\"timestamp\":1,\"data\":{}}", "bad_field",
     "seq"},
    {"{\"type\":\"state_update\",\"seq\":1,\"data\":{}}", "bad_field", "timestamp"},
    {"{\"type\":\"state_update\",\"seq\":1,\"timestamp\":\"now\",\"data\":{}}", "bad_field",
     "timestamp"},
    {"{\"type\":\"state_update\",\"seq\":1,\"timestamp\":1.5,\"data\":{}}", "bad_field",
     "timestamp"},
    {"{\"type\":\"animation\",\"seq\":1,\"timestamp\":1}", "bad_field", "data"},
    {"{\"type\":\"animation\",\"seq\":1,\"timestamp\":1,\"data\":null}", "bad_field", "data"},
    {"{\"type\":\"animation\",\"seq\":1,\"timestamp\":1,\"data\":[]}", "bad_field", "data"},
    {"{\"type\":\"pong\",\"timestamp\":1,\"data\":\"x\"}", "bad_field", "data"},
    {"{\"type\":\"pong\",\"timestamp\":1,\"data\":{\"t\":\"\xff\"}}", "invalid_utf8", NULL},
};

static void test_server_decode_rejects(void **state)
{
    (void)state;
    for (size_t k = 0; k < FELT_ARRAY_LEN(server_rejects); k++) {
        const struct reject *r = &server_rejects[k];
        struct proto_smsg m;
        struct felt_err err = {0};
        int rc = proto_decode_server(r->json, strlen(r->json), &m, &err);
        if (rc != -1 || !err.code || strcmp(err.code, r->code) != 0 ||
            (r->field && !strstr(err.message, r->field)))
            print_error("case %zu %s: rc=%d %s: %s\n", k, r->json, rc,
                        err.code ? err.code : "(none)", err.message);
        assert_int_equal(rc, -1);
        assert_string_equal(err.code, r->code);
        if (r->field) assert_non_null(strstr(err.message, r->field));
        assert_null(m.data);
    }
}

/* Decodes a reply built by the codec and returns its data (caller clears m). */
static struct json_object *reply_data(char *s, size_t len, enum proto_stype want,
                                      struct proto_smsg *m)
{
    struct felt_err err = {0};
    assert_int_equal(len, strlen(s));
    assert_int_equal(proto_decode_server(s, len, m, &err), 0);
    assert_int_equal(m->type, want);
    assert_false(m->has_seq);
    assert_true(m->timestamp > 1600000000000); /* stamped with the wall clock */
    free(s);
    return m->data;
}

static const char *str_field(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static void test_reply_builders(void **state)
{
    struct proto_smsg m;
    struct json_object *d, *v;
    size_t len = 0;
    char *s;
    (void)state;

    s = proto_encode_error("rate_limited", "at most 5 messages per 10 s", &len);
    d = reply_data(s, len, PROTO_S_ERROR, &m);
    assert_string_equal(str_field(d, "code"), "rate_limited");
    assert_string_equal(str_field(d, "message"), "at most 5 messages per 10 s");
    assert_int_equal(json_object_object_length(d), 2);
    proto_smsg_clear(&m);

    s = proto_encode_ack("req-1", false, "raise_too_small", "raise to at least 40", 42, &len);
    d = reply_data(s, len, PROTO_S_ACK, &m);
    assert_string_equal(str_field(d, "request_id"), "req-1");
    assert_string_equal(str_field(d, "status"), "rejected");
    assert_string_equal(str_field(d, "code"), "raise_too_small");
    assert_string_equal(str_field(d, "message"), "raise to at least 40");
    assert_true(json_object_object_get_ex(d, "hand_id", &v));
    assert_int_equal(json_object_get_int64(v), 42);
    proto_smsg_clear(&m);

    s = proto_encode_ack(NULL, true, NULL, NULL, -1, &len);
    d = reply_data(s, len, PROTO_S_ACK, &m);
    assert_true(json_object_object_get_ex(d, "request_id", &v));
    assert_null(v); /* JSON null */
    assert_string_equal(str_field(d, "status"), "accepted");
    assert_false(json_object_object_get_ex(d, "code", NULL));
    assert_false(json_object_object_get_ex(d, "message", NULL));
    assert_true(json_object_object_get_ex(d, "hand_id", &v));
    assert_null(v);
    proto_smsg_clear(&m);

    s = proto_encode_pong(7, &len);
    d = reply_data(s, len, PROTO_S_PONG, &m);
    assert_true(json_object_object_get_ex(d, "id", &v));
    assert_int_equal(json_object_get_int64(v), 7);
    proto_smsg_clear(&m);

    /* text with quotes and controls stays one well-formed JSON string */
    s = proto_encode_error("x", "say \"hi\"\n\x1b[0m", &len);
    d = reply_data(s, len, PROTO_S_ERROR, &m);
    assert_string_equal(str_field(d, "message"), "say \"hi\"\n\x1b[0m");
    proto_smsg_clear(&m);
}

static void test_names(void **state)
{
    static const char *const cnames[] = {"hello",   "join",   "action", "chat",
                                         "sit_out", "sit_in", "leave",  "ping"};
    static const char *const snames[] = {"snapshot", "state_update", "animation", "notification",
                                         "chat",     "ack",          "error",     "pong"};
    (void)state;
    assert_int_equal(FELT_ARRAY_LEN(cnames), PROTO_C_COUNT);
    assert_int_equal(FELT_ARRAY_LEN(snames), PROTO_S_COUNT);
    for (int t = 0; t < PROTO_C_COUNT; t++)
        assert_string_equal(proto_ctype_name((enum proto_ctype)t), cnames[t]);
    for (int t = 0; t < PROTO_S_COUNT; t++) {
        assert_string_equal(proto_stype_name((enum proto_stype)t), snames[t]);
        assert_int_equal(proto_stype_is_event((enum proto_stype)t), t < PROTO_S_ACK);
    }
    assert_string_equal(proto_ctype_name(PROTO_C_COUNT), "unknown");
    assert_string_equal(proto_stype_name((enum proto_stype) - 1), "unknown");
    assert_false(proto_stype_is_event(PROTO_S_COUNT));
}

/* The codec keeps its own action names; they must be the engine's. */
static void test_action_names_match_engine(void **state)
{
    (void)state;
    for (int a = ENGINE_FOLD; a <= ENGINE_ALL_IN; a++) {
        struct proto_cmsg m, back;
        struct felt_err err = {0};
        char json[128];

        snprintf(json, sizeof(json), "{\"type\":\"action\",\"action\":\"%s\",\"amount\":5}",
                 engine_action_name((enum engine_action)a));
        assert_int_equal(proto_decode_client(json, strlen(json), &back, &err), 0);
        assert_int_equal(back.action, a);
        memset(&m, 0, sizeof(m));
        m.type = PROTO_C_ACTION;
        m.action = (enum engine_action)a;
        char *enc = proto_encode_client(&m);
        assert_non_null(strstr(enc, engine_action_name((enum engine_action)a)));
        free(enc);
    }
}

static void test_game_id(void **state)
{
    char id[PROTO_GAME_ID_MAX + 2];
    (void)state;
    assert_true(proto_game_id_valid("main", 4));
    assert_true(proto_game_id_valid("A-b_9", 5));
    memset(id, 'g', sizeof(id));
    assert_true(proto_game_id_valid(id, PROTO_GAME_ID_MAX));
    assert_false(proto_game_id_valid(id, PROTO_GAME_ID_MAX + 1));
    assert_false(proto_game_id_valid("", 0));
    assert_false(proto_game_id_valid(NULL, 3));
    assert_false(proto_game_id_valid("a b", 3));
    assert_false(proto_game_id_valid("a/b", 3));
    assert_false(proto_game_id_valid("..", 2));
    assert_false(proto_game_id_valid("\xc3\xa9", 2));
    assert_false(proto_game_id_valid("ab\0c", 4));
}

/* ---- mutation: corrupted messages never crash, accepted ones are stable ---- */

static uint64_t rng_state = 0xD1B54A32D192ED03ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_mutations(void **state)
{
    static const char *const seeds[] = {
        ("{\"type\":\"action\",\"action\":\"raise\",\"amount\":100,\"request_id\":\"r1\","
         "\"hand_id\":42}"), /* one seed on two lines */
        "{\"type\":\"hello\",\"token\":\"abcdef\",\"last_seq\":317}",
        "{\"type\":\"join\",\"name\":\"ann\\u00e9\",\"buy_in\":1000}",
        "{\"type\":\"chat\",\"text\":\"nice \\u001b[31mhand\\ud83d\\ude00\"}",
        "{\"type\":\"ping\",\"id\":7}",
    };
    static const char alphabet[] = "{}[]\":,\\u0123456789.-+eE \x1b\x80\xc3\xa9\xed\xff"
                                   "abtrue";
    static const char *const allowed[] = {"bad_json", "bad_type",     "bad_field",
                                          "too_long", "invalid_utf8", "too_large",
                                          "bad_name", "reserved_name"};
    int accepted = 0;
    (void)state;

    for (int iter = 0; iter < 30000; iter++) {
        const char *seed = seeds[rnd() % FELT_ARRAY_LEN(seeds)];
        char buf[256];
        size_t len = strlen(seed);
        struct proto_cmsg m, back;
        struct felt_err err = {0};

        memcpy(buf, seed, len);
        for (int e = 1 + (int)(rnd() % 3); e > 0; e--) {
            size_t at = rnd() % len;
            char c = alphabet[rnd() % (sizeof(alphabet) - 1)];
            switch (rnd() % 3) {
            case 0: /* replace */
                buf[at] = c;
                break;
            case 1: /* insert */
                if (len < sizeof(buf) - 1) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = c;
                    len++;
                }
                break;
            default: /* delete */
                if (len > 1) {
                    memmove(buf + at, buf + at + 1, len - at - 1);
                    len--;
                }
            }
        }
        if (proto_decode_client(buf, len, &m, &err) < 0) {
            bool known = false;
            for (size_t k = 0; k < FELT_ARRAY_LEN(allowed); k++)
                known = known || strcmp(err.code, allowed[k]) == 0;
            assert_true(known);
            continue;
        }
        accepted++;
        char *again = proto_encode_client(&m);
        assert_int_equal(proto_decode_client(again, strlen(again), &back, &err), 0);
        assert_cmsg_equal(&m, &back);
        free(again);
    }
    /* the mutations must exercise both paths */
    assert_true(accepted > 100);
    assert_true(accepted < 29000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_decode_accepts),
        cmocka_unit_test(test_decode_length_limits),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_decode_error_messages),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_server_round_trip),
        cmocka_unit_test(test_server_decode_rejects),
        cmocka_unit_test(test_reply_builders),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_action_names_match_engine),
        cmocka_unit_test(test_game_id),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
