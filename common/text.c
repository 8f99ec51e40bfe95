/*
 * text.c: strict UTF-8 validation, the terminal-safety sanitizer and the name rules (see text.h).
 *
 * text_sanitize() works in two passes: the whole input is validated first (so "invalid_utf8"
 * wins over "too_long" and never depends on where the bad byte sits), then it is decoded code
 * point by code point through a small state machine modelled on how a VT/xterm parser consumes
 * escape sequences (ECMA-48). The machine only decides how much is swallowed: whatever it lets
 * through is filtered again, so the output can never contain a C0/C1 control, DEL, a bidi
 * control or a zero-width character, whatever the shape of a malformed sequence.
 *
 * Unicode properties (Default_Ignorable_Code_Point, general categories), NFKC_Casefold and the
 * UTS #39 confusables skeleton come from ICU: the only library Debian ships with the confusables
 * data (libunistring has case folding and NFKC, not confusables). The sanitizer, on the chat hot
 * path, decodes UTF-8 itself and asks ICU only two table lookups per non-ASCII code point; the
 * folding, done once per join, goes through ICU's UTF-16 API with fixed stack buffers. ICU's
 * normalizer and spoof checker are opened once, lazily, and shared (both are safe to use from
 * several threads once open).
 */
#define _GNU_SOURCE /* wcwidth */
#include "text.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>

#include "proto.h"
#include "util.h"

_Static_assert(TEXT_FOLD_MAX == PROTO_NAME_MAX_CHARS * TEXT_FOLD_FACTOR + 1,
               "TEXT_FOLD_MAX must follow PROTO_NAME_MAX_CHARS");

/* Skeleton + NFKC_Casefold passes before text_name_fold gives up waiting for a fixed point (every
 * single code point reaches one within 3 with ICU 72). The fold is deterministic either way. */
#define TEXT_FOLD_PASSES 8

#define CP_ESC 0x1Bu
#define CP_BEL 0x07u
#define CP_CAN 0x18u
#define CP_SUB 0x1Au
#define CP_DEL 0x7Fu
#define CP_C1_DCS 0x90u
#define CP_C1_SOS 0x98u
#define CP_C1_CSI 0x9Bu
#define CP_C1_ST 0x9Cu
#define CP_C1_OSC 0x9Du
#define CP_C1_PM 0x9Eu
#define CP_C1_APC 0x9Fu

/* Decodes one code point at s[*i] (i < len) per Unicode Table 3-7 (well-formed UTF-8: no
 * overlongs, no surrogates, nothing above U+10FFFF, no truncated sequence). Returns false on an
 * ill-formed sequence, leaving *i unchanged. NUL is decoded as U+0000; callers decide. */
static bool utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp)
{
    size_t p = *i;
    unsigned char b0 = s[p];
    uint32_t c;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */

    if (b0 < 0x80) {
        *cp = b0;
        *i = p + 1;
        return true;
    }
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        n = 1;
        c = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 2;
        c = b0 & 0x0Fu;
        if (b0 == 0xE0)
            lo = 0xA0; /* overlong below U+0800 */
        else if (b0 == 0xED)
            hi = 0x9F; /* surrogates U+D800..U+DFFF */
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 3;
        c = b0 & 0x07u;
        if (b0 == 0xF0)
            lo = 0x90; /* overlong below U+10000 */
        else if (b0 == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return false; /* continuation byte, C0/C1 overlong lead, or F5..FF */
    }
    if (len - p - 1 < n) return false; /* truncated */
    for (size_t k = 1; k <= n; k++) {
        unsigned char b = s[p + k];
        if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return false;
        c = (c << 6) | (b & 0x3Fu);
    }
    *cp = c;
    *i = p + 1 + n;
    return true;
}

bool text_utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    uint32_t cp;

    while (i < len) {
        if (!utf8_next(u, len, &i, &cp) || cp == 0) return false;
    }
    return true;
}

size_t text_utf8_len(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0u) != 0x80u;
    return n;
}

/* Code points that are invisible or reorder text, so could disguise a name or a chat line, are
 * found with ICU's Default_Ignorable_Code_Point (bidi embeddings/overrides/isolates and marks,
 * zero-width characters, invisible operators, deprecated format controls, tag characters, soft
 * hyphen, grapheme joiner, Hangul fillers, variation selectors) and general category Co (private
 * use: its glyphs are whatever a font puts there). Tag characters also build subdivision flags
 * (England's flag degrades to a black flag) and ZWJ builds emoji sequences (a family shows as its
 * members), accepted trade-offs: they are otherwise known ways to smuggle invisible text. This
 * list holds only what those properties miss: interlinear annotation controls (format
 * characters, but not default-ignorable) and BRAILLE PATTERN BLANK (a symbol that draws as
 * nothing). */
static const struct {
    uint32_t lo, hi;
} text_invisible_extra[] = {
    {0x2800, 0x2800}, /* BRAILLE PATTERN BLANK */
    {0xFFF9, 0xFFFB}, /* interlinear annotation */
};

/* Unicode White_Space outside C0/C1 (U+0085 NEL is C1 and is stripped instead). */
static const struct {
    uint32_t lo, hi;
} text_spaces[] = {
    {0x0020, 0x0020}, {0x00A0, 0x00A0}, {0x1680, 0x1680}, {0x2000, 0x200A},
    {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000},
};

/* What the sanitizer does with a code point that is neither whitespace nor a control. */
enum text_class {
    TC_BASE, /* kept; combining marks after it count from zero */
    TC_MARK, /* a combining mark (Mn, Mc, Me): kept up to TEXT_MAX_MARKS after one base */
    TC_DROP, /* invisible: removed */
};

static enum text_class text_classify(uint32_t cp)
{
    uint32_t gc;

    if (cp < 0x80) return TC_BASE; /* ASCII has no ignorable, private-use or combining code point */
    gc = U_GET_GC_MASK((UChar32)cp);
    if ((gc & U_GC_CO_MASK) || u_hasBinaryProperty((UChar32)cp, UCHAR_DEFAULT_IGNORABLE_CODE_POINT))
        return TC_DROP;
    for (size_t k = 0; k < FELT_ARRAY_LEN(text_invisible_extra); k++)
        if (cp >= text_invisible_extra[k].lo && cp <= text_invisible_extra[k].hi) return TC_DROP;
    return (gc & U_GC_M_MASK) ? TC_MARK : TC_BASE;
}

static bool text_is_space(uint32_t cp)
{
    if (cp == '\t' || cp == '\n' || cp == '\r') return true;
    for (size_t k = 0; k < FELT_ARRAY_LEN(text_spaces); k++)
        if (cp >= text_spaces[k].lo && cp <= text_spaces[k].hi) return true;
    return false;
}

static bool text_is_control(uint32_t cp)
{
    return cp < 0x20u || cp == CP_DEL || (cp >= 0x80u && cp <= 0x9Fu);
}

/* Where the escape-sequence parser stands. */
enum text_state {
    TS_GROUND,     /* ordinary text */
    TS_ESC,        /* after ESC */
    TS_ESC_INTER,  /* ESC followed by intermediates 0x20..0x2F, waiting for the final byte */
    TS_CSI,        /* inside a control sequence, waiting for the final byte 0x40..0x7E */
    TS_STRING,     /* inside DCS/SOS/PM/APC, until ST */
    TS_OSC,        /* inside OSC, until ST or BEL */
    TS_STRING_ESC, /* ESC seen inside a string: ESC \ is ST, anything else starts anew */
};

/* The sanitizer's output: bounded by both outsz and max_chars. */
struct text_out {
    char *buf;
    size_t size, used; /* used excludes the NUL */
    size_t chars, max_chars;
    size_t marks; /* combining marks written since the last other code point */
    bool pending_space;
    bool overflow;
};

static void text_put(struct text_out *o, uint32_t cp)
{
    unsigned char b[4];
    size_t n;

    if (o->overflow) return;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    /* The whole code point and the final NUL must fit, or nothing of it is written. */
    if (o->chars >= o->max_chars || o->chars >= (size_t)INT_MAX || n + 1 > o->size - o->used) {
        o->overflow = true;
        return;
    }
    memcpy(o->buf + o->used, b, n);
    o->used += n;
    o->chars++;
}

/* A visible code point: flush one pending space (never at the start: that trims the front).
 * A combining mark beyond TEXT_MAX_MARKS after its base is dropped. The count depends only on
 * what was written, so sanitizing the output again keeps every mark. */
static void text_emit(struct text_out *o, uint32_t cp, bool mark)
{
    if (o->pending_space && o->chars > 0) {
        text_put(o, ' ');
        o->marks = 0;
    }
    o->pending_space = false;
    if (mark && o->marks >= TEXT_MAX_MARKS) return;
    o->marks = mark ? o->marks + 1 : 0;
    text_put(o, cp);
}

/* Ordinary text: starts sequences, drops controls and invisibles, collapses whitespace, limits
 * combining marks. */
static enum text_state text_ground(struct text_out *o, uint32_t cp)
{
    switch (cp) {
    case CP_ESC:
        return TS_ESC;
    case CP_C1_CSI:
        return TS_CSI;
    case CP_C1_OSC:
        return TS_OSC;
    case CP_C1_DCS:
    case CP_C1_SOS:
    case CP_C1_PM:
    case CP_C1_APC:
        return TS_STRING;
    default:
        break;
    }
    if (text_is_space(cp)) {
        o->pending_space = true;
    } else if (!text_is_control(cp)) {
        enum text_class c = text_classify(cp);
        if (c != TC_DROP) text_emit(o, cp, c == TC_MARK);
    }
    return TS_GROUND;
}

/* Advances the parser by one code point. A sequence cut short by something that cannot belong
 * to it (a control, non-ASCII text) ends there and that code point is treated as ground text,
 * which filters it again; CAN and SUB abort a sequence as they do in a terminal. */
static enum text_state text_step(struct text_out *o, enum text_state st, uint32_t cp)
{
    switch (st) {
    case TS_GROUND:
        return text_ground(o, cp);
    case TS_ESC:
        if (cp == '[') return TS_CSI;
        if (cp == ']') return TS_OSC;
        if (cp == 'P' || cp == 'X' || cp == '^' || cp == '_') return TS_STRING;
        if (cp >= 0x20 && cp <= 0x2F) return TS_ESC_INTER;
        if (cp >= 0x30 && cp <= 0x7E)
            return TS_GROUND; /* two-character sequence (ESC 7, ESC c, ESC =, ...) */
        return text_ground(o, cp);
    case TS_ESC_INTER:
        if (cp >= 0x20 && cp <= 0x2F) return TS_ESC_INTER;
        if (cp >= 0x30 && cp <= 0x7E) return TS_GROUND; /* e.g. ESC ( B */
        return text_ground(o, cp);
    case TS_CSI:
        if (cp >= 0x20 && cp <= 0x3F) return TS_CSI; /* parameters and intermediates */
        if (cp >= 0x40 && cp <= 0x7E) return TS_GROUND;
        return text_ground(o, cp);
    case TS_STRING:
    case TS_OSC:
        if (cp == CP_ESC) return TS_STRING_ESC;
        if (cp == CP_C1_ST || cp == CP_CAN || cp == CP_SUB || (st == TS_OSC && cp == CP_BEL))
            return TS_GROUND;
        return st;
    case TS_STRING_ESC:
        if (cp == '\\') return TS_GROUND;
        return text_step(o, TS_ESC, cp);
    }
    felt_fatal("text: impossible parser state %d", (int)st);
}

int text_sanitize(const char *in, size_t len, char *out, size_t outsz, size_t max_chars,
                  struct felt_err *err)
{
    const unsigned char *u = (const unsigned char *)in;
    struct text_out o = {.buf = out, .size = outsz, .max_chars = max_chars};
    enum text_state st = TS_GROUND;
    size_t i = 0;
    uint32_t cp;
    int rc = -1;

    FELT_ASSERT(out != NULL && outsz > 0);
    FELT_ASSERT(in != NULL || len == 0);
    if (!text_utf8_valid(in, len)) {
        felt_err_set(err, "invalid_utf8", "text is not valid UTF-8");
        goto done;
    }
    while (i < len && !o.overflow) {
        if (!utf8_next(u, len, &i, &cp)) felt_fatal("text: validated input failed to decode");
        st = text_step(&o, st, cp);
    }
    if (o.overflow) {
        felt_err_set(err, "too_long", "text is longer than %zu characters", max_chars);
        goto done;
    }
    rc = (int)o.chars;
done:
    if (rc < 0) o.used = 0;
    out[o.used] = '\0';
    return rc;
}

int text_width(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    long long w = 0;
    uint32_t cp;

    while (i < len && w < INT_MAX) {
        if (!utf8_next(u, len, &i, &cp)) {
            i++; /* a terminal draws one replacement character per bad byte */
            w++;
            continue;
        }
        int cw = wcwidth((wchar_t)cp);
        if (cw > 0) w += cw;
    }
    return w > INT_MAX ? INT_MAX : (int)w;
}

/* ---- names ---- */

/* Names that could pass for the system or its staff (also judged on their fold). */
static const char *const text_reserved[] = {
    "server", "feltd", "felt", "spectator", "system", "admin", "dealer",
};

static pthread_once_t text_icu_once = PTHREAD_ONCE_INIT;
static const UNormalizer2 *text_nfkc_cf; /* owned by ICU, never closed */
static USpoofChecker *text_spoof;        /* opened once, kept for the life of the process */
static char text_reserved_fold[FELT_ARRAY_LEN(text_reserved)][32];

/* The fold proper (ICU already open): UTF-8 -> UTF-16 -> NFKC_Casefold, then skeleton +
 * NFKC_Casefold until a fixed point (or TEXT_FOLD_PASSES) -> UTF-8. ICU's normalizer needs
 * distinct source and destination, hence three buffers. Any ICU error (invalid UTF-8, a buffer
 * too small) makes the fold -1. */
static int text_fold(const char *name, char *out, size_t outsz)
{
    UChar a[TEXT_FOLD_MAX], b[TEXT_FOLD_MAX], t[TEXT_FOLD_MAX];
    const int32_t cap = TEXT_FOLD_MAX;
    UErrorCode st = U_ZERO_ERROR;
    int32_t n = 0, m = 0, len = 0;
    int rc = -1;

    out[0] = '\0';
    u_strFromUTF8(a, cap, &n, name, -1, &st);
    n = unorm2_normalize(text_nfkc_cf, a, n, b, cap, &st);
    for (int pass = 0; pass < TEXT_FOLD_PASSES && U_SUCCESS(st); pass++) {
        m = uspoof_getSkeleton(text_spoof, 0, b, n, t, cap, &st);
        m = unorm2_normalize(text_nfkc_cf, t, m, a, cap, &st);
        if (U_FAILURE(st) || (m == n && memcmp(a, b, (size_t)n * sizeof(UChar)) == 0)) break;
        memcpy(b, a, (size_t)m * sizeof(UChar));
        n = m;
    }
    /* b now holds the fold: the fixed point, or the last pass when none was reached */
    if (U_FAILURE(st)) goto done;
    u_strToUTF8(out, outsz > INT32_MAX ? INT32_MAX : (int32_t)outsz, &len, b, n, &st);
    if (U_FAILURE(st) || len < 0 || (size_t)len >= outsz) goto done;
    rc = (int)len;
done:
    if (rc < 0 && outsz > 0) out[0] = '\0';
    return rc;
}

/* Opens ICU's NFKC_Casefold normalizer and a spoof checker (for the confusables skeleton), and
 * folds the reserved names. ICU failing here means its data is missing: nothing can work. */
static void text_icu_open(void)
{
    UErrorCode st = U_ZERO_ERROR;

    text_nfkc_cf = unorm2_getNFKCCasefoldInstance(&st);
    if (U_FAILURE(st)) felt_fatal("text: ICU NFKC_Casefold unavailable: %s", u_errorName(st));
    text_spoof = uspoof_open(&st);
    if (U_FAILURE(st)) felt_fatal("text: ICU spoof checker unavailable: %s", u_errorName(st));
    for (size_t k = 0; k < FELT_ARRAY_LEN(text_reserved); k++)
        if (text_fold(text_reserved[k], text_reserved_fold[k], sizeof(text_reserved_fold[k])) <= 0)
            felt_fatal("text: cannot fold reserved name \"%s\"", text_reserved[k]);
}

static void text_icu_init(void)
{
    if (pthread_once(&text_icu_once, text_icu_open) != 0) felt_fatal("text: pthread_once failed");
}

int text_name_fold(const char *name, char *out, size_t outsz)
{
    FELT_ASSERT(name != NULL && out != NULL && outsz > 0);
    text_icu_init();
    return text_fold(name, out, outsz);
}

int text_name_check(const char *name, struct felt_err *err)
{
    const unsigned char *u = (const unsigned char *)name;
    char fold[TEXT_FOLD_MAX];
    size_t len, i = 0;
    bool alnum = false;
    uint32_t cp;
    int n;

    FELT_ASSERT(name != NULL);
    len = strlen(name);
    /* A letter that the sanitizer would remove (U+3164 HANGUL FILLER is a letter) does not count,
     * so the answer is the same for a name that was not sanitized first. */
    while (i < len) {
        if (!utf8_next(u, len, &i, &cp))
            return felt_err_set(err, "bad_name", "name is not valid UTF-8");
        if (u_isalnum((UChar32)cp) && text_classify(cp) != TC_DROP) alnum = true;
    }
    if (!alnum) return felt_err_set(err, "bad_name", "name must contain a letter or a digit");
    n = text_name_fold(name, fold, sizeof(fold));
    if (n < 0) return felt_err_set(err, "bad_name", "name is too long");
    if (n >= 2 && fold[0] == '[' && fold[n - 1] == ']')
        return felt_err_set(err, "reserved_name", "name is reserved");
    for (size_t k = 0; k < FELT_ARRAY_LEN(text_reserved); k++)
        if (strcmp(fold, text_reserved_fold[k]) == 0)
            return felt_err_set(err, "reserved_name", "name is reserved");
    return 0;
}

/* ---- amounts and cards --------------------------------------------------------------------- */

const char *text_chips(int64_t n, char *buf, size_t bufsz)
{
    char digits[24];
    size_t out = 0;
    uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    int nd = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)u);
    if (bufsz == 0) return buf;
    if (n < 0 && out + 1 < bufsz) buf[out++] = '-';
    /* A separator goes only with the digit after it, so a cut never ends on a comma. */
    for (int i = 0; i < nd; i++) {
        bool sep = i > 0 && (nd - i) % 3 == 0;
        if (out + (sep ? 2 : 1) >= bufsz) break;
        if (sep) buf[out++] = ',';
        buf[out++] = digits[i];
    }
    buf[out] = '\0';
    return buf;
}

const char *const text_suit_symbols[4] = {"\u2663", "\u2666", "\u2665", "\u2660"};

const char *text_card(card_t card, bool ascii, char *buf, size_t bufsz)
{
    if (bufsz == 0) return buf;
    if (!card_valid(card))
        snprintf(buf, bufsz, "??");
    else if (ascii)
        snprintf(buf, bufsz, "%c%c", CARD_RANKS[card_rank(card)], CARD_SUITS[card_suit(card)]);
    else
        snprintf(buf, bufsz, "%c%s", CARD_RANKS[card_rank(card)],
                 text_suit_symbols[card_suit(card)]);
    return buf;
}
