/*
 * test_text.c: unit tests for common/text.c, the UTF-8 validator and the terminal-safety
 * sanitizer. Every class of escape sequence and invisible character is checked for removal,
 * every class of ill-formed UTF-8 for rejection, and a seeded random test checks the sanitizer's
 * output invariants (no control, no invisible, no double or edge space, idempotent) on inputs
 * assembled from hostile fragments.
 */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"
#include "util.h"

struct sample {
    const char *in;
    size_t len; /* 0: strlen(in) */
    const char *want;
};

#define S(in, want)                                                                                \
    {                                                                                              \
        in, sizeof(in) - 1, want                                                                   \
    }

static void check_samples(const struct sample *v, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        char out[256];
        struct felt_err err = {0};
        int rc = text_sanitize(v[k].in, v[k].len, out, sizeof(out), 1000, &err);
        if (rc < 0 || strcmp(out, v[k].want) != 0)
            print_error("sample %zu: got rc=%d \"%s\" (%s), want \"%s\"\n", k, rc, out,
                        err.code ? err.code : "-", v[k].want);
        assert_int_equal(rc, (int)text_utf8_len(v[k].want, strlen(v[k].want)));
        assert_string_equal(out, v[k].want);
    }
}

/* ---- UTF-8 validity ---- */

static const struct sample valid_utf8[] = {
    S("plain ascii", ""),
    S("\xc2\x80", ""),         /* U+0080, smallest 2-byte */
    S("\xdf\xbf", ""),         /* U+07FF */
    S("\xe0\xa0\x80", ""),     /* U+0800, smallest 3-byte */
    S("\xed\x9f\xbf", ""),     /* U+D7FF, just below the surrogates */
    S("\xee\x80\x80", ""),     /* U+E000, just above */
    S("\xef\xbf\xbf", ""),     /* U+FFFF */
    S("\xf0\x90\x80\x80", ""), /* U+10000, smallest 4-byte */
    S("\xf4\x8f\xbf\xbf", ""), /* U+10FFFF, the largest */
    S("h\xc3\xa9llo \xe2\x82\xac", ""),
};

static const struct sample invalid_utf8[] = {
    S("\xc0\xaf", ""),                 /* overlong '/' (2 bytes) */
    S("\xc1\xbf", ""),                 /* overlong U+007F */
    S("\xe0\x80\xaf", ""),             /* overlong '/' (3 bytes) */
    S("\xe0\x9f\xbf", ""),             /* overlong U+07FF */
    S("\xf0\x80\x80\xaf", ""),         /* overlong '/' (4 bytes) */
    S("\xf0\x8f\xbf\xbf", ""),         /* overlong U+FFFF */
    S("\xed\xa0\x80", ""),             /* U+D800, high surrogate */
    S("\xed\xbf\xbf", ""),             /* U+DFFF, low surrogate */
    S("\xed\xa0\xbd\xed\xb8\x80", ""), /* CESU-8 surrogate pair */
    S("\xf4\x90\x80\x80", ""),         /* U+110000 */
    S("\xf5\x80\x80\x80", ""),         /* lead byte beyond the range */
    S("\xf8\x88\x80\x80\x80", ""),     /* old 5-byte form */
    S("\xfe", ""),
    S("\xff", ""),
    S("\xc3", ""), /* truncated at the end */
    S("\xe2\x82", ""),
    S("\xf0\x9f\x98", ""),
    S("\xc3x", ""), /* truncated, followed by ASCII */
    S("\xe2\x82x", ""),
    S("\x80", ""), /* lone continuation bytes */
    S("a\xbf", ""),
    S("a\0b", ""),         /* NUL */
    S("ok then \xff", ""), /* the bad byte at the very end */
};

static void test_utf8_valid(void **state)
{
    (void)state;
    for (size_t k = 0; k < FELT_ARRAY_LEN(valid_utf8); k++)
        assert_true(text_utf8_valid(valid_utf8[k].in, valid_utf8[k].len));
    for (size_t k = 0; k < FELT_ARRAY_LEN(invalid_utf8); k++) {
        if (text_utf8_valid(invalid_utf8[k].in, invalid_utf8[k].len))
            print_error("invalid sample %zu accepted\n", k);
        assert_false(text_utf8_valid(invalid_utf8[k].in, invalid_utf8[k].len));
    }
    assert_true(text_utf8_valid(NULL, 0));
}

static void test_sanitize_rejects_invalid_utf8(void **state)
{
    (void)state;
    for (size_t k = 0; k < FELT_ARRAY_LEN(invalid_utf8); k++) {
        char out[64];
        struct felt_err err = {0};
        memset(out, 'Z', sizeof(out));
        assert_int_equal(
            text_sanitize(invalid_utf8[k].in, invalid_utf8[k].len, out, sizeof(out), 100, &err),
            -1);
        assert_string_equal(err.code, "invalid_utf8");
        assert_string_equal(out, "");
    }
    /* invalid_utf8 wins over too_long wherever the bad byte is */
    {
        char out[8];
        struct felt_err err = {0};
        const char in[] = "aaaaaaaaaaaaaaaaaaaaaaaa\xff";
        assert_int_equal(text_sanitize(in, sizeof(in) - 1, out, sizeof(out), 3, &err), -1);
        assert_string_equal(err.code, "invalid_utf8");
    }
}

static void test_utf8_len(void **state)
{
    (void)state;
    const char s[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"; /* a, e-acute, euro, emoji */
    assert_int_equal(text_utf8_len(s, sizeof(s) - 1), 4);
    assert_int_equal(text_utf8_len("", 0), 0);
    assert_int_equal(text_utf8_len("abc", 3), 3);
}

/* ---- escape sequences ---- */

static const struct sample escapes[] = {
    /* CSI */
    S("\x1b[31mred\x1b[0m", "red"),
    S("\x1b[1;38;5;196mX\x1b[m", "X"),
    S("a\x1b[2Jb", "ab"),
    S("a\x1b[?1049hb", "ab"), /* private parameters */
    S("a\x1b[2 qb", "ab"),    /* intermediate byte (DECSCUSR) */
    S("a\x1b[>0;1;2cb", "ab"),
    S("\x1b\x1b[31mx", "x"), /* ESC ESC: the second starts the sequence */
    S("\x1b[31"
      "\xc3\xa9",
      "\xc3\xa9"),    /* cut short by a letter that cannot belong */
    S("a\x1b[", "a"), /* unterminated at the end */
    /* OSC */
    S("\x1b]0;evil title\x07ok", "ok"),                             /* BEL terminated */
    S("\x1b]0;evil title\x1b\\ok", "ok"),                           /* ST terminated */
    S("\x1b]8;;http://x.example/\x1b\\link\x1b]8;;\x1b\\", "link"), /* hyperlink */
    S("\x1b]52;c;ZXZpbA==\x07hi", "hi"),                            /* clipboard write */
    S("\x1b]0;t\x18ok", "ok"),                                      /* CAN aborts */
    S("\x1b]0;t\x1a"
      "ok",
      "ok"), /* SUB aborts */
    S("ok\x1b]0;never terminated", "ok"),
    S("\x1b]0;t\x1b[31mx", "x"), /* ESC inside starts a new sequence */
    /* DCS, SOS, PM, APC: ended by ST only */
    S("\x1bP1$qm\x1b\\ok", "ok"),
    S("\x1bP+q\x07still\x1b\\ok", "ok"), /* BEL does not end a DCS */
    S("\x1bXsecret\x1b\\ok", "ok"),
    S("\x1b^private\x1b\\ok", "ok"),
    S("\x1b_app\x1b\\ok", "ok"),
    /* ESC + one byte, and ESC intermediates final */
    S("a\x1b"
      "cb",
      "ab"), /* RIS: full reset */
    S("a\x1b"
      "7b",
      "ab"),
    S("a\x1b=b", "ab"),
    S("\x1b(Bx", "x"),
    S("\x1b#8x", "x"),
    S("ab\x1b", "ab"),
    /* 8-bit C1 forms, as code points */
    S("\xc2\x9b"
      "31mred",
      "red"), /* U+009B CSI */
    S("\xc2\x9d"
      "0;title\xc2\x9cok",
      "ok"), /* U+009D OSC, U+009C ST */
    S("\xc2\x9d"
      "0;title\x07ok",
      "ok"),
    S("\xc2\x90"
      "1$qm\xc2\x9cok",
      "ok"), /* U+0090 DCS */
    S("\xc2\x98"
      "x\x1b\\ok",
      "ok"), /* U+0098 SOS */
    S("\xc2\x9e"
      "x\xc2\x9cok",
      "ok"), /* U+009E PM */
    S("\xc2\x9f"
      "x\xc2\x9cok",
      "ok"), /* U+009F APC */
    /* other controls */
    S("a\x01\x02\x03"
      "b\x7f",
      "ab"),
    S("a\x07"
      "b",
      "ab"),
    S("a\x0b\x0c"
      "b",
      "ab"), /* VT, FF: removed, not spaced */
    S("a\x08\x08"
      "b",
      "ab"), /* backspace */
    S("a\xc2\x85"
      "b",
      "ab"), /* NEL */
    S("a\xc2\x80\xc2\x9c"
      "b",
      "ab"),
};

static void test_sanitize_escapes(void **state)
{
    (void)state;
    check_samples(escapes, FELT_ARRAY_LEN(escapes));
}

static const struct sample invisibles[] = {
    S(u8"a\u202Ab", "ab"),
    S(u8"a\u202Bb", "ab"),
    S(u8"a\u202Cb", "ab"),
    S(u8"a\u202Db", "ab"),
    S(u8"a\u202Eb", "ab"),
    S(u8"a\u2066b", "ab"),
    S(u8"a\u2067b", "ab"),
    S(u8"a\u2068b", "ab"),
    S(u8"a\u2069b", "ab"),
    S(u8"a\u200Eb", "ab"),
    S(u8"a\u200Fb", "ab"),
    S(u8"a\u061Cb", "ab"),
    S(u8"a\u200Bb", "ab"),
    S(u8"a\u200Cb", "ab"),
    S(u8"a\u200Db", "ab"),
    S(u8"a\u2060b", "ab"),
    S(u8"a\uFEFFb", "ab"),
    S(u8"a\U000E0041b", "ab"),
    /* the classic disguise: "exe.txt" shown reversed */
    S(u8"ann\u202Etxt.exe", "anntxt.exe"),
    /* printable non-ASCII stays */
    S(u8"\u00e9\u65e5\u672c\U0001F600", u8"\u00e9\u65e5\u672c\U0001F600"),
};

static void test_sanitize_invisibles(void **state)
{
    (void)state;
    check_samples(invisibles, FELT_ARRAY_LEN(invisibles));
}

static const struct sample spaces[] = {
    S("  a \t\n\r b  ", "a b"),
    S("a\t\tb", "a b"),
    S(u8"a\u00A0\u3000b", "a b"),
    S(u8"\u2028x\u2029", "x"),
    S("a \x1b[0m b", "a b"),
    S(u8"a \u200B b", "a b"),
    S("   ", ""),
    S("\x1b[31m", ""),
    S("", ""),
};

static void test_sanitize_whitespace(void **state)
{
    (void)state;
    check_samples(spaces, FELT_ARRAY_LEN(spaces));
}

/* ---- limits ---- */

static void test_sanitize_max_chars(void **state)
{
    char in[2048], out[2048];
    struct felt_err err = {0};
    size_t n;

    (void)state;
    memset(in, 'x', 281);
    assert_int_equal(text_sanitize(in, 280, out, sizeof(out), 280, &err), 280);
    assert_int_equal(strlen(out), 280);
    assert_int_equal(text_sanitize(in, 281, out, sizeof(out), 280, &err), -1);
    assert_string_equal(err.code, "too_long");
    assert_string_equal(out, "");

    /* counted in code points, not bytes: 280 two-byte letters fit, 281 do not */
    for (n = 0; n < 281; n++)
        memcpy(in + 2 * n, "\xc3\xa9", 2);
    assert_int_equal(text_sanitize(in, 2 * 280, out, sizeof(out), 280, &err), 280);
    assert_int_equal(strlen(out), 560);
    assert_int_equal(text_sanitize(in, 2 * 281, out, sizeof(out), 280, &err), -1);
    assert_string_equal(err.code, "too_long");

    /* counted after sanitizing: stripped sequences and collapsed whitespace do not count.
     * 140 x "y" "e-acute" wrapped in CSI = 280 code points; one more letter is 281. */
    n = 0;
    for (int k = 0; k < 140; k++)
        n += (size_t)snprintf(in + n, sizeof(in) - n, "\x1b[1my\x1b[0m\xc3\xa9");
    assert_int_equal(text_sanitize(in, n, out, sizeof(out), 280, &err), 280);
    n += (size_t)snprintf(in + n, sizeof(in) - n, "\x1b]0;title\x07z");
    assert_int_equal(text_sanitize(in, n, out, sizeof(out), 280, &err), -1);
    assert_string_equal(err.code, "too_long");

    /* 140 x "y" + a whitespace run with a sequence inside: 140 y + 139 spaces, edges trimmed */
    n = (size_t)snprintf(in, sizeof(in), "  \t");
    for (int k = 0; k < 140; k++)
        n += (size_t)snprintf(in + n, sizeof(in) - n, "y\t\x1b[0m \n");
    assert_int_equal(text_sanitize(in, n, out, sizeof(out), 279, &err), 279);
    assert_int_equal(text_sanitize(in, n, out, sizeof(out), 278, &err), -1);
    assert_string_equal(err.code, "too_long");
}

static void test_sanitize_outsz_never_splits(void **state)
{
    const char in[] = "a\xc3\xa9"; /* "a" + U+00E9 (2 bytes) */
    const char emoji[] = "\xf0\x9f\x98\x80";
    char out[16];
    struct felt_err err = {0};

    (void)state;
    /* "a\xc3\xa9" needs 3 bytes + NUL */
    memset(out, 'Z', sizeof(out));
    assert_int_equal(text_sanitize(in, 3, out, 3, 100, &err), -1);
    assert_string_equal(err.code, "too_long");
    assert_string_equal(out, "");
    assert_int_equal(out[3], 'Z'); /* nothing written past outsz */
    memset(out, 'Z', sizeof(out));
    assert_int_equal(text_sanitize(in, 3, out, 4, 100, &err), 2);
    assert_string_equal(out, "a\xc3\xa9");
    assert_int_equal(out[4], 'Z');

    for (size_t sz = 1; sz <= 4; sz++) {
        memset(out, 'Z', sizeof(out));
        assert_int_equal(text_sanitize(emoji, 4, out, sz, 100, &err), -1);
        assert_string_equal(out, "");
        assert_int_equal(out[sz], 'Z');
    }
    assert_int_equal(text_sanitize(emoji, 4, out, 5, 100, &err), 1);
    assert_string_equal(out, emoji);

    /* outsz 1 holds only the empty string */
    assert_int_equal(text_sanitize("  ", 2, out, 1, 100, &err), 0);
    assert_string_equal(out, "");
    assert_int_equal(text_sanitize("a", 1, out, 1, 100, &err), -1);
}

static void test_width(void **state)
{
    (void)state;
    assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
    assert_int_equal(text_width("abc", 3), 3);
    assert_int_equal(text_width(u8"\u65e5\u672c", strlen(u8"\u65e5\u672c")), 4); /* wide */
    assert_int_equal(text_width(u8"e\u0301", strlen(u8"e\u0301")), 1);           /* combining */
    assert_int_equal(text_width("a\x07"
                                "b",
                                3),
                     2); /* control: 0 */
    assert_int_equal(text_width("a\xff"
                                "b",
                                3),
                     3); /* bad byte: 1 */
    assert_int_equal(text_width("", 0), 0);
}

/* ---- invariants on random hostile input ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static const char *const fragments[] = {
    "\x1b",     "[",        "]",        "P",        "X",        "^",
    "_",        "\\",       ";",        "0",        "31",       "m",
    "?",        " ",        "\t",       "\n",       "\x07",     "\x18",
    "\x7f",     "\x01",     "\xc2\x9b", "\xc2\x9c", "\xc2\x9d", "\xc2\x90",
    "\xc2\x85", "a",        "Z",        "(",        "#",        u8"\u00e9",
    u8"\u202E", u8"\u2066", u8"\u200B", u8"\uFEFF", u8"\u3000", u8"\U0001F600",
    u8"\u65e5", "\xc3\xa0",
};

/* Fails the test if out breaks a promise of text.h. */
static void check_invariants(const char *out)
{
    static const char *const forbidden[] = {
        u8"\u202A", u8"\u202B", u8"\u202C", u8"\u202D", u8"\u202E", u8"\u2066", u8"\u2067",
        u8"\u2068", u8"\u2069", u8"\u200B", u8"\u200E", u8"\uFEFF", u8"\u3000", "  "};
    size_t len = strlen(out);

    assert_true(text_utf8_valid(out, len));
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)out[i];
        assert_true(c >= 0x20 && c != 0x7f);
        if (c == 0xc2 && i + 1 < len)
            assert_false((unsigned char)out[i + 1] >= 0x80 && (unsigned char)out[i + 1] <= 0x9f);
    }
    for (size_t k = 0; k < FELT_ARRAY_LEN(forbidden); k++)
        assert_null(strstr(out, forbidden[k]));
    if (len > 0) {
        assert_true(out[0] != ' ');
        assert_true(out[len - 1] != ' ');
    }
}

static void test_sanitize_random_invariants(void **state)
{
    (void)state;
    for (int iter = 0; iter < 20000; iter++) {
        char in[512], out[512], again[512];
        struct felt_err err = {0};
        size_t n = 0;
        int pieces = (int)(rnd() % 40);

        for (int p = 0; p < pieces; p++) {
            const char *f = fragments[rnd() % FELT_ARRAY_LEN(fragments)];
            size_t fl = strlen(f);
            memcpy(in + n, f, fl);
            n += fl;
        }
        int rc = text_sanitize(in, n, out, sizeof(out), 1000, &err);
        assert_int_equal(rc, (int)text_utf8_len(out, strlen(out)));
        check_invariants(out);
        /* sanitizing is idempotent */
        assert_int_equal(text_sanitize(out, strlen(out), again, sizeof(again), 1000, &err), rc);
        assert_string_equal(again, out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_sanitize_rejects_invalid_utf8),
        cmocka_unit_test(test_utf8_len),
        cmocka_unit_test(test_sanitize_escapes),
        cmocka_unit_test(test_sanitize_invisibles),
        cmocka_unit_test(test_sanitize_whitespace),
        cmocka_unit_test(test_sanitize_max_chars),
        cmocka_unit_test(test_sanitize_outsz_never_splits),
        cmocka_unit_test(test_width),
        cmocka_unit_test(test_sanitize_random_invariants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
