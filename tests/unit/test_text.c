/*
 * test_text.c: unit tests for common/text.c, the UTF-8 validator, the terminal-safety sanitizer
 * and the name rules. Every class of escape sequence and invisible character is checked for
 * removal, every class of ill-formed UTF-8 for rejection, and seeded random tests check the
 * sanitizer's output invariants (no control, no invisible, no double or edge space, no pile of
 * combining marks, idempotent) on inputs assembled from hostile fragments. Names: look-alikes
 * (case, compatibility forms, Cyrillic and Greek letters) must fold equal, blank and
 * punctuation-only names are refused, reserved names are refused whatever their disguise, and
 * names in other scripts pass; every code point's fold is checked against TEXT_FOLD_FACTOR.
 * Amounts (text_chips: separators, signs, extremes, short buffers) and cards (text_card: both
 * forms, one column per suit symbol).
 */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include "proto.h"
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

/* 20,000 random concatenations of fragments: the result's length is its code points, check()
 * holds for it, and sanitizing it again changes nothing. */
static void sanitize_random(const char *const *frags, size_t nfrags, void (*check)(const char *))
{
    for (int iter = 0; iter < 20000; iter++) {
        char in[512], out[512], again[512];
        struct felt_err err = {0};
        size_t n = 0;
        int pieces = (int)(rnd() % 40);

        for (int p = 0; p < pieces; p++) {
            const char *f = frags[rnd() % nfrags];
            size_t fl = strlen(f);
            memcpy(in + n, f, fl);
            n += fl;
        }
        int rc = text_sanitize(in, n, out, sizeof(out), 1000, &err);
        assert_int_equal(rc, (int)text_utf8_len(out, strlen(out)));
        check(out);
        /* sanitizing is idempotent */
        assert_int_equal(text_sanitize(out, strlen(out), again, sizeof(again), 1000, &err), rc);
        assert_string_equal(again, out);
    }
}

static void test_sanitize_random_invariants(void **state)
{
    (void)state;
    sanitize_random(fragments, FELT_ARRAY_LEN(fragments), check_invariants);
}

/* ---- default-ignorable, private-use and blank-looking code points ---- */

static const struct sample ignorables[] = {
    S(u8"ann\u00AD", "ann"), /* soft hyphen: "ann" and this look the same */
    S(u8"ann\u034F", "ann"), /* combining grapheme joiner */
    S(u8"a\u00ADn\u034Fn", "ann"),
    S(u8"\u3164", ""), /* HANGUL FILLER: a blank-looking "letter" */
    S(u8"\u2800", ""), /* BRAILLE PATTERN BLANK */
    S(u8"\u115F\u1160\uFFA0", ""),
    S(u8"a\u3164 \u2800b", "a b"),
    S(u8"a\uE000b", "ab"), /* private use */
    S(u8"a\uF8FFb", "ab"),
    S(u8"a\U000F0000\U0010FFFDb", "ab"),
    S(u8"a\uFE0Fb", "ab"),     /* variation selector 16 */
    S(u8"a\uFE00b", "ab"),     /* variation selector 1 */
    S(u8"a\U000E0100b", "ab"), /* variation selector 17 */
    S(u8"a\u180Bb", "ab"),     /* Mongolian free variation selector */
    S(u8"a\U0001BCA0b", "ab"), /* shorthand format control */
    S(u8"a\U0001D173b", "ab"), /* musical symbol begin beam */
    S(u8"a\u2065b", "ab"),     /* unassigned but default-ignorable */
    S(u8"ann \u3164", "ann"),  /* a trailing filler does not leave a trailing space */
    S(u8"\u2800 ann", "ann"),
    /* chat keeps emoji; a presentation selector goes, its emoji stays */
    S(u8"gg \U0001F44D", u8"gg \U0001F44D"),
    S(u8"\U0001F44D\uFE0F", u8"\U0001F44D"),
    S(u8"\u2764\uFE0F", u8"\u2764"),
    S(u8"\U0001F44D\U0001F3FD", u8"\U0001F44D\U0001F3FD"), /* skin tone: not a mark */
    S(u8"\U0001F1EB\U0001F1F7", u8"\U0001F1EB\U0001F1F7"), /* a flag */
    /* visible format characters and ordinary letters stay */
    S(u8"\u0600\u0661", u8"\u0600\u0661"),
    S(u8"Jos\u00e9 Zo\u00eb \u674e\u96f7", u8"Jos\u00e9 Zo\u00eb \u674e\u96f7"),
};

static void test_sanitize_ignorables(void **state)
{
    (void)state;
    check_samples(ignorables, FELT_ARRAY_LEN(ignorables));
}

/* Writes cp as UTF-8 into b (5 bytes), returns its length. */
static size_t put_cp(char *b, uint32_t cp)
{
    int32_t n = 0;
    UBool bad = false;
    U8_APPEND((uint8_t *)b, n, 4, (UChar32)cp, bad);
    assert_false(bad);
    b[n] = '\0';
    return (size_t)n;
}

/* Every code point the contract in text.h names, one by one between two letters. */
static void test_sanitize_contract_ranges(void **state)
{
    static const struct {
        uint32_t lo, hi;
    } removed[] = {
        {0x061C, 0x061C},   {0x180E, 0x180E},     {0x200B, 0x200D},   {0x200E, 0x200F},
        {0x202A, 0x202E},   {0x2060, 0x2064},     {0x2066, 0x2069},   {0x206A, 0x206F},
        {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},     {0xE0001, 0xE0001}, {0xE0020, 0xE007F},
        {0x00AD, 0x00AD},   {0x034F, 0x034F},     {0x115F, 0x1160},   {0x3164, 0x3164},
        {0xFFA0, 0xFFA0},   {0xFE00, 0xFE0F},     {0xE0100, 0xE01EF}, {0xE000, 0xF8FF},
        {0xF0000, 0xFFFFD}, {0x100000, 0x10FFFD}, {0x2800, 0x2800},
    };
    (void)state;
    for (size_t k = 0; k < FELT_ARRAY_LEN(removed); k++) {
        for (uint32_t cp = removed[k].lo; cp <= removed[k].hi; cp++) {
            char in[16], out[16];
            struct felt_err err = {0};
            size_t n = 0;
            in[n++] = 'a';
            n += put_cp(in + n, cp);
            in[n++] = 'b';
            if (text_sanitize(in, n, out, sizeof(out), 100, &err) != 2 || strcmp(out, "ab") != 0)
                print_error("U+%04X kept\n", (unsigned)cp);
            assert_string_equal(out, "ab");
        }
    }
}

/* ---- combining marks ---- */

static void test_sanitize_marks(void **state)
{
    static const struct sample marks[] = {
        S(u8"e\u0301", u8"e\u0301"),             /* one mark: kept */
        S(u8"e\u0323\u0302", u8"e\u0323\u0302"), /* two (a decomposed Vietnamese letter) */
        S(u8"e\u0301\u0301\u0301", u8"e\u0301\u0301"),
        S(u8"e\u0301\u20DD\u0903\u0302", u8"e\u0301\u20DD"), /* Mn, Me, Mc all count */
        S(u8"a\u0301\u0301\u0301b\u0301\u0301\u0301", u8"a\u0301\u0301b\u0301\u0301"),
        S(u8"a \u0301\u0301\u0301", u8"a \u0301\u0301"),           /* the space is the base */
        S(u8"\u0301\u0301\u0301x", u8"\u0301\u0301x"),             /* no base at all */
        S(u8"  \u0301\u0301\u0301x", u8"\u0301\u0301x"),           /* a trimmed space is no base */
        S(u8"a\u0301\u00AD\u0301\u034F\u0301", u8"a\u0301\u0301"), /* removed code points */
        S(u8"a\u0301\x1b[0m\u0301\x07\u0301", u8"a\u0301\u0301"),  /* nor sequences, controls */
        S(u8"\u0915\u0948\u0902", u8"\u0915\u0948\u0902"),         /* Devanagari: 2 signs */
    };
    char in[1024], out[1024];
    struct felt_err err = {0};
    size_t n = 0;

    (void)state;
    check_samples(marks, FELT_ARRAY_LEN(marks));

    /* a chat line of one letter and 270 combining marks keeps the letter and 2 marks; the
     * dropped ones do not count against the limit */
    in[n++] = 'a';
    for (int k = 0; k < 270; k++)
        n += put_cp(in + n, 0x0301);
    assert_int_equal(text_sanitize(in, n, out, sizeof(out), PROTO_CHAT_MAX_CHARS, &err), 3);
    assert_string_equal(out, u8"a\u0301\u0301");
    assert_int_equal(text_sanitize(in, n, out, sizeof(out), 3, &err), 3);
    assert_int_equal(text_sanitize(in, n, out, sizeof(out), 2, &err), -1);
    assert_string_equal(err.code, "too_long");
}

/* ---- invariants on random input with marks and invisibles ---- */

static const char *const unicode_fragments[] = {
    "a",        "Z",        " ",        "\x1b[0m",      u8"\u0301",     u8"\u0301", u8"\u20DD",
    u8"\u0903", u8"\u00AD", u8"\u034F", u8"\u3164",     u8"\u2800",     u8"\uE000", u8"\uFE0F",
    u8"\u200D", u8"\u115F", u8"\u00e9", u8"\U0001F44D", u8"\U000E0100", u8"\u0430", u8"\u3000",
    "\t",
};

/* Fails the test if out has an invisible code point or more than TEXT_MAX_MARKS marks in a
 * row, judged by ICU's properties independently of text.c's own classification. */
static void check_unicode_invariants(const char *out)
{
    int32_t len = (int32_t)strlen(out), i = 0, run = 0;
    UChar32 c;

    check_invariants(out);
    while (i < len) {
        U8_NEXT((const uint8_t *)out, i, len, c);
        assert_true(c >= 0);
        assert_false(u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT));
        assert_int_not_equal(u_charType(c), U_PRIVATE_USE_CHAR);
        assert_int_not_equal(c, 0x2800);
        run = (U_GET_GC_MASK(c) & U_GC_M_MASK) ? run + 1 : 0;
        assert_true(run <= TEXT_MAX_MARKS);
    }
}

static void test_sanitize_random_unicode(void **state)
{
    (void)state;
    sanitize_random(unicode_fragments, FELT_ARRAY_LEN(unicode_fragments), check_unicode_invariants);
}

/* ---- names ---- */

static void fold_ok(const char *name, char *out)
{
    int n = text_name_fold(name, out, TEXT_FOLD_MAX);
    if (n < 0) print_error("fold of \"%s\" failed\n", name);
    assert_true(n >= 0);
    assert_int_equal((size_t)n, strlen(out));
}

static void assert_fold_equal(const char *a, const char *b)
{
    char fa[TEXT_FOLD_MAX], fb[TEXT_FOLD_MAX];
    fold_ok(a, fa);
    fold_ok(b, fb);
    if (strcmp(fa, fb) != 0) print_error("\"%s\" -> \"%s\" but \"%s\" -> \"%s\"\n", a, fa, b, fb);
    assert_string_equal(fa, fb);
}

static void assert_fold_differ(const char *a, const char *b)
{
    char fa[TEXT_FOLD_MAX], fb[TEXT_FOLD_MAX];
    fold_ok(a, fa);
    fold_ok(b, fb);
    assert_string_not_equal(fa, fb);
}

static void test_name_fold(void **state)
{
    char out[TEXT_FOLD_MAX], again[TEXT_FOLD_MAX];
    (void)state;

    assert_fold_equal("Ann", "ann");
    assert_fold_equal("ANN", "ann");
    assert_fold_equal(u8"\u0430nn", "ann");           /* Cyrillic a */
    assert_fold_equal(u8"\u0410nn", "ann");           /* Cyrillic capital A */
    assert_fold_equal(u8"\u0391nn", "ann");           /* Greek capital Alpha */
    assert_fold_equal(u8"\u03b1nn", "ann");           /* Greek small alpha */
    assert_fold_equal(u8"\uFF21\uFF4E\uFF4E", "ann"); /* fullwidth */
    assert_fold_equal(u8"\u0455erver", "server");     /* Cyrillic dze */
    assert_fold_equal(u8"\u039Fscar", "oscar");       /* Greek capital Omicron */
    assert_fold_equal("0scar", "oscar");              /* digit zero */
    assert_fold_equal("bi11", "bill");
    assert_fold_equal(u8"Stra\u00dfe", "strasse");    /* sharp s */
    assert_fold_equal(u8"Jos\u00e9", u8"JOSE\u0301"); /* composed or not */
    assert_fold_differ("ann", "anne");
    assert_fold_differ("ann", "bob");
    assert_fold_differ(u8"\u674e\u96f7", u8"\u674e");

    /* the fold is stable, including for characters whose skeleton needs a second pass */
    static const char *const names[] = {
        "Ann",      u8"\u0430nn", "%",
        "100%",     u8"\u03DA",   u8"\u13B7",
        u8"\u0609", u8"\u1403x",  u8"\u0394\u03b7\u03bc\u03ae\u03c4\u03c1\u03b7\u03c2"};
    for (size_t k = 0; k < FELT_ARRAY_LEN(names); k++) {
        fold_ok(names[k], out);
        fold_ok(out, again);
        assert_string_equal(out, again);
    }

    /* too small an output: -1 and "", never a partial fold */
    assert_int_equal(text_name_fold("Ann", out, 4), 3);
    assert_string_equal(out, "ann");
    memset(out, 'Z', 8);
    assert_int_equal(text_name_fold("Ann", out, 3), -1);
    assert_string_equal(out, "");
    assert_int_equal(out[3], 'Z');
    assert_int_equal(text_name_fold("Ann", out, 1), -1);
    assert_int_equal(text_name_fold("", out, 1), 0);
    /* not UTF-8, or far longer than any name: -1 */
    assert_int_equal(text_name_fold("a\xff", out, sizeof(out)), -1);
    {
        char big[4 * TEXT_FOLD_MAX];
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(text_name_fold(big, out, sizeof(out)), -1);
        assert_string_equal(out, "");
    }
}

/* TEXT_FOLD_FACTOR bounds the fold of every single code point (so a name of
 * PROTO_NAME_MAX_CHARS code points fits TEXT_FOLD_MAX), and the worst one repeated to the
 * protocol's limit does fit. */
static void test_name_fold_bound(void **state)
{
    char in[8], out[TEXT_FOLD_MAX], name[PROTO_NAME_MAX_BYTES + 1];
    int worst = 0;

    (void)state;
    for (uint32_t cp = 1; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        put_cp(in, cp);
        int n = text_name_fold(in, out, sizeof(out));
        if (n < 0 || n > TEXT_FOLD_FACTOR) print_error("U+%04X folds to %d bytes\n", cp, n);
        assert_true(n >= 0 && n <= TEXT_FOLD_FACTOR);
        if (n > worst) worst = n;
    }
    assert_true(worst >= 18); /* U+FDFA expands to 18 code points */

    name[0] = '\0';
    for (int k = 0; k < PROTO_NAME_MAX_CHARS; k++)
        strcat(name, u8"\uFDFA");
    int len = text_name_fold(name, out, sizeof(out));
    assert_true(len >= PROTO_NAME_MAX_CHARS * 18 && len < TEXT_FOLD_MAX);
}

struct name_case {
    const char *name;
    const char *code; /* NULL: accepted */
};

static void test_name_check(void **state)
{
    static const struct name_case cases[] = {
        /* no letter or digit */
        {"", "bad_name"},
        {"---", "bad_name"},
        {"!?", "bad_name"},
        {u8"\U0001F44D", "bad_name"},
        {u8"\u2800", "bad_name"},
        {u8"\u3164", "bad_name"}, /* a Lo letter, but an invisible one */
        {u8"\u3164\u3164 \u2800", "bad_name"},
        {u8"\u2164", "bad_name"}, /* ROMAN NUMERAL FIVE: Nl, not a digit */
        {"a\xff", "bad_name"},
        /* reserved, whatever the case, width or script of the letters */
        {"server", "reserved_name"},
        {"Server", "reserved_name"},
        {"SERVER", "reserved_name"},
        {u8"\u0455erver", "reserved_name"},
        {u8"\u0405\u0415RV\u0415R", "reserved_name"},
        {u8"\uFF33\uFF25\uFF32\uFF36\uFF25\uFF32", "reserved_name"},
        {"[server]", "reserved_name"},
        {"[ann]", "reserved_name"},
        {"[ ]x]", "reserved_name"},
        {u8"\uFF3Bserver\uFF3D", "reserved_name"},
        {"spectator", "reserved_name"},
        {"Spectator", "reserved_name"},
        {"felt", "reserved_name"},
        {"FELT", "reserved_name"},
        {"feltd", "reserved_name"},
        {"system", "reserved_name"},
        {"admin", "reserved_name"},
        {"Admin", "reserved_name"},
        {"dealer", "reserved_name"},
        /* fine */
        {"ann", NULL},
        {"Ann", NULL},
        {"a", NULL},
        {"7", NULL},
        {"R2-D2", NULL},
        {u8"Jos\u00e9", NULL},
        {u8"Zo\u00eb", NULL},
        {u8"\u674e\u96f7", NULL},
        {u8"\u0394\u03b7\u03bc\u03ae\u03c4\u03c1\u03b7\u03c2", NULL},
        {u8"\u0418\u0432\u0430\u043d", NULL},
        {"server fan", NULL},
        {"servers", NULL},
        {"[ann", NULL},
        {"ann]", NULL},
        {"felty", NULL},
        {u8"ann \U0001F44D", NULL},
    };
    (void)state;
    for (size_t k = 0; k < FELT_ARRAY_LEN(cases); k++) {
        struct felt_err err = {0};
        int rc = text_name_check(cases[k].name, &err);
        const char *want = cases[k].code;
        if ((rc == 0) != (want == NULL) || (want && strcmp(err.code, want) != 0))
            print_error("case %zu \"%s\": rc=%d %s\n", k, cases[k].name, rc,
                        err.code ? err.code : "-");
        if (!want) {
            assert_int_equal(rc, 0);
            continue;
        }
        assert_int_equal(rc, -1);
        assert_string_equal(err.code, want);
        assert_non_null(strstr(err.message, "name"));
    }
}

/* What the server sees: raw input sanitized, then checked (the examples of issue 8). */
static void test_name_sanitize_then_check(void **state)
{
    static const struct {
        const char *raw, *clean, *code;
    } cases[] = {
        {u8"ann\u00AD", "ann", NULL},
        {u8"ann\u034F", "ann", NULL},
        {u8"\u3164", "", "bad_name"},
        {u8"\u2800", "", "bad_name"},
        {u8"\u2800\u3164\uFE0F", "", "bad_name"},
        {u8"\uE000ann", "ann", NULL},
        {u8"\x1b[1m[server]\x1b[0m", "[server]", "reserved_name"},
        {u8"SER\u00ADVER", "SERVER", "reserved_name"},
    };
    (void)state;
    for (size_t k = 0; k < FELT_ARRAY_LEN(cases); k++) {
        char out[PROTO_NAME_MAX_BYTES + 1];
        struct felt_err err = {0};
        assert_true(text_sanitize(cases[k].raw, strlen(cases[k].raw), out, sizeof(out),
                                  PROTO_NAME_MAX_CHARS, &err) >= 0);
        assert_string_equal(out, cases[k].clean);
        if (cases[k].code) {
            assert_int_equal(text_name_check(out, &err), -1);
            assert_string_equal(err.code, cases[k].code);
        } else {
            assert_int_equal(text_name_check(out, &err), 0);
        }
    }
}

/* Amounts with thousands separators, signs and the extremes; a short buffer is cut at a digit,
 * never after a separator, and never overrun. */
static void test_chips(void **state)
{
    (void)state;
    char b[TEXT_CHIPS_MAX];
    assert_string_equal(text_chips(0, b, sizeof(b)), "0");
    assert_string_equal(text_chips(999, b, sizeof(b)), "999");
    assert_string_equal(text_chips(1000, b, sizeof(b)), "1,000");
    assert_string_equal(text_chips(12500, b, sizeof(b)), "12,500");
    assert_string_equal(text_chips(1234567, b, sizeof(b)), "1,234,567");
    assert_string_equal(text_chips(-1000, b, sizeof(b)), "-1,000");
    assert_string_equal(text_chips(INT64_MAX, b, sizeof(b)), "9,223,372,036,854,775,807");
    assert_string_equal(text_chips(INT64_MIN, b, sizeof(b)), "-9,223,372,036,854,775,808");
    char s[6];
    memset(s, '#', sizeof(s));
    assert_string_equal(text_chips(1234567, s, sizeof(s)), "1,234");
    char t[3];
    assert_string_equal(text_chips(1234, t, sizeof(t)), "1");
    assert_ptr_equal(text_chips(5, t, 0), t);
}

/* A card as the table draws it, in both forms, and what is not a card. */
static void test_card(void **state)
{
    (void)state;
    char b[TEXT_CARD_MAX];
    assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
    assert_string_equal(text_card(card_make(12, 2), false, b, sizeof(b)), "A\u2665");
    assert_string_equal(text_card(card_make(8, 3), false, b, sizeof(b)), "T\u2660");
    assert_string_equal(text_card(card_make(0, 0), false, b, sizeof(b)), "2\u2663");
    assert_string_equal(text_card(card_make(11, 1), false, b, sizeof(b)), "K\u2666");
    assert_string_equal(text_card(card_make(12, 2), true, b, sizeof(b)), "Ah");
    assert_string_equal(text_card(card_make(0, 1), true, b, sizeof(b)), "2d");
    assert_string_equal(text_card(CARD_NONE, false, b, sizeof(b)), "??");
    assert_string_equal(text_card((card_t)52, true, b, sizeof(b)), "??");
    for (int s = 0; s < 4; s++)
        assert_int_equal(text_width(text_suit_symbols[s], strlen(text_suit_symbols[s])), 1);
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
        cmocka_unit_test(test_sanitize_ignorables),
        cmocka_unit_test(test_sanitize_contract_ranges),
        cmocka_unit_test(test_sanitize_marks),
        cmocka_unit_test(test_sanitize_random_unicode),
        cmocka_unit_test(test_name_fold),
        cmocka_unit_test(test_name_fold_bound),
        cmocka_unit_test(test_name_check),
        cmocka_unit_test(test_name_sanitize_then_check),
        cmocka_unit_test(test_chips),
        cmocka_unit_test(test_card),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
