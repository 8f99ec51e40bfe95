/*
 * fuzz_proto.c: libFuzzer target for the felt.v1 codec (common/proto.c) and the terminal-safety
 * sanitizer (common/text.c), fed arbitrary bytes.
 *
 * Beyond "never crashes, never leaks" (ASan/UBSan/LeakSanitizer do that part) it checks what
 * proto.h and text.h promise: a client message that decodes satisfies every documented field
 * constraint, re-encodes with proto_encode_client() and decodes again to an equal struct, and the
 * encoding is stable; a failed decode leaves the struct all zero with one of the documented error
 * codes. A server envelope that decodes re-encodes to an equal envelope (data compared as text).
 * text_utf8_valid() agrees with an independent reference validator; text_sanitize()'s output is
 * valid UTF-8 without any control, escape, invisible or non-U+0020 whitespace character, without
 * edge or double spaces, with the returned code point count, idempotent, and bounded exactly as
 * documented. A broken promise prints what broke and abort()s, which libFuzzer reports as a crash.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "proto.h"
#include "text.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_proto: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* ---- an independent UTF-8 reader, to check text.c against ---- */

/* Decodes one code point at s[*i] by computing its value and rejecting overlong forms,
 * surrogates and values above U+10FFFF afterwards (text.c instead restricts the second byte per
 * Unicode Table 3-7). Returns false on any ill-formed sequence. */
static bool ref_utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp)
{
    unsigned char b0 = s[*i];
    size_t n;
    uint32_t c, min;

    if (b0 < 0x80) {
        *cp = b0;
        (*i)++;
        return true;
    }
    if ((b0 & 0xE0) == 0xC0) {
        n = 1, c = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        n = 2, c = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        n = 3, c = b0 & 0x07, min = 0x10000;
    } else {
        return false;
    }
    if (len - *i <= n) return false;
    for (size_t k = 1; k <= n; k++) {
        if ((s[*i + k] & 0xC0) != 0x80) return false;
        c = c << 6 | (s[*i + k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
    *cp = c;
    *i += n + 1;
    return true;
}

/* text_utf8_valid()'s contract: well-formed and no NUL. */
static bool ref_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    uint32_t cp;
    while (i < len)
        if (!ref_utf8_next(s, len, &i, &cp) || cp == 0) return false;
    return true;
}

/* What text.h says the sanitizer's output never contains. */
static bool ref_forbidden(uint32_t cp)
{
    static const uint32_t ranges[][2] = {
        /* controls: C0, DEL, C1 */
        {0x00, 0x1F},
        {0x7F, 0x9F},
        /* bidi controls, zero-width and invisible formatting, tags */
        {0x061C, 0x061C},
        {0x180E, 0x180E},
        {0x200B, 0x200F},
        {0x202A, 0x202E},
        {0x2060, 0x2064},
        {0x2066, 0x206F},
        {0xFEFF, 0xFEFF},
        {0xFFF9, 0xFFFB},
        {0xE0001, 0xE0001},
        {0xE0020, 0xE007F},
        /* Unicode White_Space other than U+0020 (all collapse to U+0020) */
        {0x00A0, 0x00A0},
        {0x1680, 0x1680},
        {0x2000, 0x200A},
        {0x2028, 0x2029},
        {0x202F, 0x202F},
        {0x205F, 0x205F},
        {0x3000, 0x3000},
    };
    for (size_t k = 0; k < FELT_ARRAY_LEN(ranges); k++)
        if (cp >= ranges[k][0] && cp <= ranges[k][1]) return true;
    return false;
}

/* Checks a sanitizer output that claims n code points: well-formed, nothing forbidden, no edge
 * or double space, and exactly n code points. */
static void check_clean_text(const char *s, int n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s), i = 0;
    uint32_t cp, prev = 0;
    int count = 0;

    CHECK(ref_utf8_valid(u, len));
    while (i < len) {
        CHECK(ref_utf8_next(u, len, &i, &cp));
        CHECK(!ref_forbidden(cp));
        CHECK(!(cp == ' ' && (count == 0 || prev == ' ')));
        prev = cp;
        count++;
    }
    CHECK(count == 0 || prev != ' ');
    CHECK(count == n);
}

static bool err_code_is(const struct felt_err *err, const char *const *codes)
{
    if (!err->code) return false;
    for (; *codes; codes++)
        if (strcmp(err->code, *codes) == 0) return true;
    return false;
}

/* ---- text ---- */

static void fuzz_text(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    bool valid = text_utf8_valid(in, size);
    struct felt_err err = {0};
    size_t outsz = size + 1; /* the sanitizer never lengthens text */
    char *out = xmalloc(outsz), *again = xmalloc(outsz);
    int n;

    CHECK(valid == ref_utf8_valid(data, size));
    CHECK(text_utf8_len(in, size) <= size);
    if (valid) {
        size_t i = 0, cps = 0;
        uint32_t cp;
        while (i < size && ref_utf8_next(data, size, &i, &cp))
            cps++;
        CHECK(text_utf8_len(in, size) == cps);
        /* wcwidth gives at most 2 columns per code point. */
        int w = text_width(in, size);
        CHECK(w >= 0 && (size_t)w <= 2 * cps);
    } else {
        /* Plus one column per ill-formed byte. */
        int w = text_width(in, size);
        CHECK(w >= 0 && (size_t)w <= 2 * size);
    }

    n = text_sanitize(in, size, out, outsz, (size_t)-1, &err);
    if (!valid) {
        CHECK(n == -1 && err.code && strcmp(err.code, "invalid_utf8") == 0 && out[0] == '\0');
        goto done;
    }
    CHECK(n >= 0);
    check_clean_text(out, n);

    /* Idempotent: sanitizing the output changes nothing. */
    size_t olen = strlen(out);
    CHECK(text_sanitize(out, olen, again, olen + 1, (size_t)n, &err) == n);
    CHECK(strcmp(out, again) == 0);

    /* Bounded: with a code point limit and a buffer size taken from the input, the result is
     * the same text when it fits both, else "too_long" with an empty output. */
    if (size >= 2) {
        size_t max_chars = data[0] % 64, bsz = 1 + data[1] % 128;
        char *small = xmalloc(bsz);
        struct felt_err serr = {0};
        int m = text_sanitize(in, size, small, bsz, max_chars, &serr);
        if ((size_t)n <= max_chars && olen < bsz) {
            CHECK(m == n && strcmp(small, out) == 0);
        } else {
            CHECK(m == -1 && serr.code && strcmp(serr.code, "too_long") == 0 && small[0] == '\0');
        }
        free(small);
    }
done:
    free(out);
    free(again);
}

/* ---- client messages ---- */

/* Printable ASCII of length lo..hi. */
static bool ascii_ok(const char *s, size_t lo, size_t hi)
{
    size_t len = strlen(s);
    if (len < lo || len > hi) return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E) return false;
    return true;
}

/* Sanitized terminal text of 1..max_chars code points (text_sanitize leaves it unchanged). */
static void check_sanitized(const char *s, size_t max_chars)
{
    size_t len = strlen(s);
    char *again = xmalloc(len + 1);
    int n = text_sanitize(s, len, again, len + 1, max_chars, NULL);
    CHECK(n >= 1 && (size_t)n <= max_chars);
    CHECK(strcmp(again, s) == 0);
    check_clean_text(s, n);
    free(again);
}

/* The field constraints proto.h documents for a decoded message. */
static void check_cmsg_fields(const struct proto_cmsg *m)
{
    CHECK((unsigned)m->type < PROTO_C_COUNT);
    switch (m->type) {
    case PROTO_C_HELLO:
        CHECK(ascii_ok(m->token, 1, PROTO_TOKEN_MAX));
        CHECK(!m->has_last_seq || m->last_seq <= (uint64_t)PROTO_INT_MAX);
        break;
    case PROTO_C_JOIN:
        check_sanitized(m->name, PROTO_NAME_MAX_CHARS);
        CHECK(m->buy_in >= 0 && m->buy_in <= PROTO_AMOUNT_MAX);
        break;
    case PROTO_C_ACTION:
        CHECK((unsigned)m->action <= ENGINE_ALL_IN);
        CHECK(m->action != ENGINE_RAISE || m->has_amount);
        CHECK(!m->has_amount || (m->amount >= 0 && m->amount <= PROTO_AMOUNT_MAX));
        CHECK(m->request_id[0] == '\0' || ascii_ok(m->request_id, 1, PROTO_REQUEST_ID_MAX));
        CHECK(!m->has_hand_id || m->hand_id >= 0);
        break;
    case PROTO_C_CHAT:
        check_sanitized(m->text, PROTO_CHAT_MAX_CHARS);
        break;
    case PROTO_C_PING:
        CHECK(m->has_ping_id || m->ping_id == 0);
        break;
    default:
        break;
    }
}

#define SAME(field)                                                                                \
    do {                                                                                           \
        if (a->field != b->field) {                                                                \
            fprintf(stderr, "fuzz_proto: round trip changed " #field "\n");                        \
            return false;                                                                          \
        }                                                                                          \
    } while (0)
#define SAME_STR(field)                                                                            \
    do {                                                                                           \
        if (strncmp(a->field, b->field, sizeof(a->field)) != 0) {                                  \
            fprintf(stderr, "fuzz_proto: round trip changed " #field ": \"%s\" -> \"%s\"\n",       \
                    a->field, b->field);                                                           \
            return false;                                                                          \
        }                                                                                          \
    } while (0)

/* Field by field: the string arrays may differ after their NUL. */
static bool cmsg_equal(const struct proto_cmsg *a, const struct proto_cmsg *b)
{
    SAME(type);
    SAME_STR(token);
    SAME(has_last_seq);
    SAME(last_seq);
    SAME_STR(name);
    SAME(buy_in);
    SAME(action);
    SAME(has_amount);
    SAME(amount);
    SAME_STR(request_id);
    SAME(has_hand_id);
    SAME(hand_id);
    SAME_STR(text);
    SAME(has_ping_id);
    SAME(ping_id);
    return true;
}

static void fuzz_client(const uint8_t *data, size_t size)
{
    static const char *const codes[] = {"bad_json",     "bad_type",  "bad_field", "too_long",
                                        "invalid_utf8", "too_large", "bad_name",  "reserved_name",
                                        NULL};
    static const struct proto_cmsg zero;
    struct proto_cmsg m, m2;
    struct felt_err err = {0};
    char *enc, *enc2;

    /* Pre-fill with garbage: the decoder must overwrite all of it. */
    memset(&m, 0xA5, sizeof(m));
    if (proto_decode_client((const char *)data, size, &m, &err) < 0) {
        CHECK(err_code_is(&err, codes));
        CHECK(memcmp(&m, &zero, sizeof(m)) == 0);
        CHECK(size <= PROTO_MAX_FRAME || strcmp(err.code, "too_large") == 0);
        return;
    }
    CHECK(size <= PROTO_MAX_FRAME);
    check_cmsg_fields(&m);

    enc = proto_encode_client(&m);
    memset(&err, 0, sizeof(err));
    if (proto_decode_client(enc, strlen(enc), &m2, &err) < 0) {
        fprintf(stderr, "fuzz_proto: re-encoded message %s does not decode: %s: %s\n", enc,
                err.code, err.message);
        abort();
    }
    if (!cmsg_equal(&m, &m2)) {
        fprintf(stderr, "fuzz_proto: re-encoded as %s\n", enc);
        abort();
    }
    enc2 = proto_encode_client(&m2);
    CHECK(strcmp(enc, enc2) == 0);
    free(enc);
    free(enc2);
}

/* ---- server envelopes ---- */

static void fuzz_server(const uint8_t *data, size_t size)
{
    static const char *const codes[] = {"bad_json",     "bad_type",  "bad_field",
                                        "invalid_utf8", "too_large", NULL};
    struct proto_smsg m, m2;
    struct felt_err err = {0};
    size_t len = 0;
    char *enc;

    memset(&m, 0xA5, sizeof(m));
    if (proto_decode_server((const char *)data, size, &m, &err) < 0) {
        CHECK(err_code_is(&err, codes));
        CHECK(m.data == NULL);
        return;
    }
    CHECK((unsigned)m.type < PROTO_S_COUNT);
    CHECK(m.has_seq == proto_stype_is_event(m.type));
    CHECK(m.has_seq ? m.seq <= (uint64_t)PROTO_INT_MAX : m.seq == 0);
    CHECK(m.timestamp >= 0);
    CHECK(m.data && json_object_is_type(m.data, json_type_object));

    /* proto_encode_server takes a reference to data. */
    enc = proto_encode_server(m.type, m.seq, m.timestamp, json_object_get(m.data), &len);
    CHECK(len == strlen(enc));
    memset(&err, 0, sizeof(err));
    if (proto_decode_server(enc, len, &m2, &err) < 0) {
        fprintf(stderr, "fuzz_proto: re-encoded envelope %s does not decode: %s: %s\n", enc,
                err.code, err.message);
        abort();
    }
    CHECK(m2.type == m.type && m2.has_seq == m.has_seq && m2.seq == m.seq);
    CHECK(m2.timestamp == m.timestamp);
    /* Compared as text, not with json_object_equal: json-c accepts NaN, and NaN != NaN. */
    const char *d1 = json_object_to_json_string_ext(m.data, JSON_C_TO_STRING_PLAIN);
    const char *d2 = json_object_to_json_string_ext(m2.data, JSON_C_TO_STRING_PLAIN);
    if (!d1 || !d2 || strcmp(d1, d2) != 0) {
        fprintf(stderr, "fuzz_proto: envelope data changed in the round trip: %s\n", enc);
        abort();
    }
    free(enc);
    proto_smsg_clear(&m);
    proto_smsg_clear(&m2);
}

/* ---- game ids ---- */

static void fuzz_game_id(const uint8_t *data, size_t size)
{
    bool want = size >= 1 && size <= PROTO_GAME_ID_MAX;
    for (size_t i = 0; i < size && want; i++) {
        uint8_t c = data[i];
        want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    }
    CHECK(proto_game_id_valid((const char *)data, size) == want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_client(data, size);
    fuzz_server(data, size);
    fuzz_text(data, size);
    fuzz_game_id(data, size);
    return 0;
}
