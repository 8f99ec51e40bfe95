/*
 * test_jbuf.c: the JSON text writer under wire.c's encoder (common/jbuf.c): commas and nesting,
 * integers at their limits, strings escaped exactly as json-c writes them (every byte value, and
 * random strings compared with json-c's own output), the reserved head, the buffer growing from
 * its smallest size, and text json-c parses back to the same tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "jbuf.h"

/* The finished text of b (freed by the caller through *buf). */
static const char *finish(struct jbuf *b, char **buf, size_t *len)
{
    size_t head = b->head;
    *buf = jbuf_finish(b, len);
    return *buf + head;
}

static void test_shapes(void **state)
{
    (void)state;
    struct jbuf b;
    char *buf;
    size_t len;
    jbuf_init(&b, 0, 0);
    jbuf_begin_object(&b);
    jbuf_key_string(&b, "a", "x");
    jbuf_key(&b, "b");
    jbuf_begin_array(&b);
    jbuf_end_array(&b);
    jbuf_key(&b, "c");
    jbuf_begin_array(&b);
    jbuf_int(&b, 1);
    jbuf_begin_object(&b);
    jbuf_end_object(&b);
    jbuf_null(&b);
    jbuf_bool(&b, true);
    jbuf_raw(&b, "0.25");
    jbuf_end_array(&b);
    jbuf_key_bool(&b, "d", false);
    jbuf_key_null(&b, "e");
    jbuf_key_int(&b, "f", -7);
    jbuf_end_object(&b);
    const char *s = finish(&b, &buf, &len);
    assert_string_equal(s, "{\"a\":\"x\",\"b\":[],\"c\":[1,{},null,true,0.25],\"d\":false,"
                           "\"e\":null,\"f\":-7}");
    assert_int_equal(len, strlen(s));
    free(buf);

    /* a lone value is a whole text too */
    jbuf_init(&b, 0, 0);
    jbuf_null(&b);
    s = finish(&b, &buf, &len);
    assert_string_equal(s, "null");
    free(buf);
}

static void test_integers(void **state)
{
    (void)state;
    static const int64_t v[] = {0, 9, 10, -1, 1764120030123, INT64_MAX, INT64_MIN};
    static const char *const want = "[0,9,10,-1,1764120030123,9223372036854775807,"
                                    "-9223372036854775808]";
    struct jbuf b;
    char *buf;
    size_t len;
    jbuf_init(&b, 0, 0);
    jbuf_begin_array(&b);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        jbuf_int(&b, v[i]);
    jbuf_end_array(&b);
    assert_string_equal(finish(&b, &buf, &len), want);
    free(buf);
}

/* s as json-c writes it with the flags feltd used (plain, no slash escaping). */
static char *jsonc_string(const char *s)
{
    struct json_object *o = json_object_new_string(s);
    char *r = strdup(json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return r;
}

static void expect_like_jsonc(const char *s)
{
    struct jbuf b;
    char *buf;
    size_t len;
    jbuf_init(&b, 0, 0);
    jbuf_string(&b, s);
    char *want = jsonc_string(s);
    assert_string_equal(finish(&b, &buf, &len), want);
    free(want);
    free(buf);
}

static void test_escaping(void **state)
{
    (void)state;
    expect_like_jsonc("");
    expect_like_jsonc("plain ann");
    expect_like_jsonc("q\"uote back\\slash /slash tab\t nl\n cr\r bs\b ff\f");
    expect_like_jsonc("\x01\x1f\x7f caf\xc3\xa9 \xe2\x99\xa0");
    /* every byte value but NUL, one at a time and all together */
    char all[256];
    for (int c = 1; c < 256; c++) {
        char one[2] = {(char)c, 0};
        expect_like_jsonc(one);
        all[c - 1] = (char)c;
    }
    all[255] = 0;
    expect_like_jsonc(all);
    /* random strings, compared with json-c */
    srand(12345);
    for (int n = 0; n < 2000; n++) {
        char s[40];
        int len = rand() % 39;
        for (int i = 0; i < len; i++)
            s[i] = (char)(1 + rand() % 255);
        s[len] = 0;
        expect_like_jsonc(s);
    }
    /* keys are escaped the same way */
    struct jbuf b;
    char *buf;
    size_t len;
    jbuf_init(&b, 0, 0);
    jbuf_begin_object(&b);
    jbuf_key_int(&b, "k\"1", 1);
    jbuf_end_object(&b);
    assert_string_equal(finish(&b, &buf, &len), "{\"k\\\"1\":1}");
    free(buf);
}

/* A large document with a reserved head: the head is kept in front, the text grows from the
 * smallest buffer, and json-c reads back what was written. */
static void test_head_growth_and_parse(void **state)
{
    (void)state;
    struct jbuf b;
    char *buf;
    size_t len;
    jbuf_init(&b, 48, 0);
    memset(b.buf, 'H', 48);
    jbuf_begin_object(&b);
    jbuf_key(&b, "items");
    jbuf_begin_array(&b);
    for (int i = 0; i < 500; i++) {
        jbuf_begin_object(&b);
        jbuf_key_int(&b, "i", i);
        jbuf_key_string(&b, "name", i % 2 ? "odd \"one\"" : "even\\one");
        jbuf_end_object(&b);
    }
    jbuf_end_array(&b);
    jbuf_end_object(&b);
    const char *s = finish(&b, &buf, &len);
    for (int i = 0; i < 48; i++)
        assert_int_equal(buf[i], 'H');
    assert_int_equal(strlen(s), len);
    struct json_object *o = json_tokener_parse(s);
    assert_non_null(o);
    struct json_object *items = json_object_object_get(o, "items");
    assert_int_equal(json_object_array_length(items), 500);
    struct json_object *last = json_object_array_get_idx(items, 499);
    assert_int_equal(json_object_get_int(json_object_object_get(last, "i")), 499);
    assert_string_equal(json_object_get_string(json_object_object_get(last, "name")),
                        "odd \"one\"");
    json_object_put(o);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_head_growth_and_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
