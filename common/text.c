/*
 * text.c: strict UTF-8 validation and the terminal-safety sanitizer (see text.h).
 *
 * text_sanitize() works in two passes: the whole input is validated first (so "invalid_utf8"
 * wins over "too_long" and never depends on where the bad byte sits), then it is decoded code
 * point by code point through a small state machine modelled on how a VT/xterm parser consumes
 * escape sequences (ECMA-48). The machine only decides how much is swallowed: whatever it lets
 * through is filtered again, so the output can never contain a C0/C1 control, DEL, a bidi
 * control or a zero-width character, whatever the shape of a malformed sequence.
 */
#define _GNU_SOURCE /* wcwidth */
#include "text.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <wchar.h>

#include "util.h"

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

/* Formatting code points that are invisible or reorder text, so could disguise a name or a chat
 * line: bidi embeddings/overrides/isolates and marks, zero-width characters, invisible operators,
 * deprecated format controls, interlinear annotation and tag characters. Tag characters also
 * build subdivision flags (England's flag degrades to a black flag), an accepted trade-off:
 * they are otherwise a known way to smuggle invisible text. */
static const struct {
    uint32_t lo, hi;
} text_invisible[] = {
    {0x061C, 0x061C},   /* ARABIC LETTER MARK */
    {0x180E, 0x180E},   /* MONGOLIAN VOWEL SEPARATOR */
    {0x200B, 0x200D},   /* ZERO WIDTH SPACE, NON-JOINER, JOINER */
    {0x200E, 0x200F},   /* LRM, RLM */
    {0x202A, 0x202E},   /* LRE, RLE, PDF, LRO, RLO */
    {0x2060, 0x2064},   /* WORD JOINER, invisible operators */
    {0x2066, 0x2069},   /* LRI, RLI, FSI, PDI */
    {0x206A, 0x206F},   /* deprecated format controls */
    {0xFEFF, 0xFEFF},   /* ZERO WIDTH NO-BREAK SPACE (BOM) */
    {0xFFF9, 0xFFFB},   /* interlinear annotation */
    {0xE0001, 0xE0001}, /* LANGUAGE TAG */
    {0xE0020, 0xE007F}, /* tag characters */
};

/* Unicode White_Space outside C0/C1 (U+0085 NEL is C1 and is stripped instead). */
static const struct {
    uint32_t lo, hi;
} text_spaces[] = {
    {0x0020, 0x0020}, {0x00A0, 0x00A0}, {0x1680, 0x1680}, {0x2000, 0x200A},
    {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000},
};

static bool text_is_invisible(uint32_t cp)
{
    for (size_t k = 0; k < FELT_ARRAY_LEN(text_invisible); k++)
        if (cp >= text_invisible[k].lo && cp <= text_invisible[k].hi) return true;
    return false;
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

/* A visible code point: flush one pending space (never at the start: that trims the front). */
static void text_emit(struct text_out *o, uint32_t cp)
{
    if (o->pending_space && o->chars > 0) text_put(o, ' ');
    o->pending_space = false;
    text_put(o, cp);
}

/* Ordinary text: starts sequences, drops controls and invisibles, collapses whitespace. */
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
    if (text_is_space(cp))
        o->pending_space = true;
    else if (!text_is_control(cp) && !text_is_invisible(cp))
        text_emit(o, cp);
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
