/*
 * text.h: UTF-8 validation, the terminal-safety sanitizer, and the rules for player names.
 *
 * Every string that may end up on someone's terminal (player names, chat) passes through
 * text_sanitize() on the server before anyone sees it, and again in the client before drawing:
 * invalid UTF-8 is rejected outright; C0 and C1 control characters, DEL, and whole escape
 * sequences (CSI, OSC, DCS, SOS/PM/APC, and two-byte ESC sequences) are removed; so are Unicode
 * bidirectional overrides, zero-width formatting and other invisible code points that could
 * disguise text, and combining marks beyond two per base character. Tabs and newlines become
 * single spaces; leading and trailing spaces are trimmed.
 *
 * Precisely (text_sanitize):
 *  - removed: C0 controls other than tab/LF/CR, DEL, C1 controls U+0080..U+009F;
 *  - removed whole: ESC [ params(0x30-0x3F) intermediates(0x20-0x2F) final(0x40-0x7E) (CSI);
 *    ESC ] ... terminated by BEL or ST (OSC); ESC P / ESC X / ESC ^ / ESC _ ... ST (DCS, SOS, PM,
 *    APC); ESC intermediates* final(0x30-0x7E) (e.g. ESC c, ESC ( B); the 8-bit forms U+009B
 *    (CSI), U+009D (OSC), U+0090/U+0098/U+009E/U+009F (DCS/SOS/PM/APC). ST is ESC \ or U+009C;
 *    CAN/SUB abort a string; an unterminated string swallows the rest of the input. A sequence
 *    broken by a character that cannot belong to it ends there and that character is handled as
 *    ordinary text (so filtered again);
 *  - removed: bidi controls U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069; zero-width
 *    and invisible format characters U+200B..U+200D, U+2060..U+2064, U+FEFF, U+180E,
 *    U+206A..U+206F, U+FFF9..U+FFFB and the tag characters U+E0001, U+E0020..U+E007F;
 *  - removed: every other code point that Unicode marks Default_Ignorable_Code_Point (as ICU
 *    reports it), which among others covers U+00AD SOFT HYPHEN, U+034F COMBINING GRAPHEME
 *    JOINER, the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, and the variation selectors
 *    U+FE00..U+FE0F, U+E0100..U+E01EF (so an emoji keeps its base character but loses a
 *    presentation selector); private-use code points (general category Co: U+E000..U+F8FF and
 *    planes 15 and 16); U+2800 BRAILLE PATTERN BLANK, which draws as a blank;
 *  - combining marks (general category Mn, Mc or Me) are kept at most TEXT_MAX_MARKS in a row
 *    after one base character (whatever was output before them: a letter, a symbol, a space;
 *    marks at the very start count as following nothing); the excess is dropped, so "zalgo"
 *    text cannot pile marks over the neighbouring lines;
 *  - whitespace (tab, LF, CR, space and the other Unicode White_Space characters such as U+00A0,
 *    U+2000..U+200A, U+2028, U+2029, U+3000) collapses, run by run, to one U+0020; leading and
 *    trailing whitespace is dropped. Other C0 controls (VT, FF) are removed, not spaced.
 * The output therefore never contains a control character, an invisible formatting character,
 * more than TEXT_MAX_MARKS combining marks in a row or two spaces in a row, and never starts or
 * ends with a space. Sanitizing is idempotent.
 *
 * Amounts and cards (text_chips, text_card) are written the same way everywhere: "1,250" and
 * "A\u2665", the forms the table draws, so the log and the table always agree.
 *
 * Names (text_name_check, text_name_fold): a name must contain a letter or a digit; names are
 * compared on a folded form so that look-alikes collide: NFKC_Casefold ("Ann" = "ann", fullwidth
 * = ASCII), then the Unicode confusables skeleton of UTS #39 (Cyrillic U+0430 or Greek U+0391
 * followed by "nn" = "ann", "0" = "O", "m" = "rn"), then NFKC_Casefold again, the last two
 * repeated until the result no longer changes. A few names that could pass for the system or its
 * staff are reserved, judged on the fold.
 *
 * The Unicode properties, normalization and confusables data come from ICU (Debian's
 * libicu-dev): it is the only library Debian ships with the UTS #39 confusables data (libunistring
 * has case folding and NFKC but no confusables), and hand-written tables would go stale.
 */
#ifndef FELT_TEXT_H
#define FELT_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "card.h"

struct felt_err;

/* True if s[0..len) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF, no NUL). */
bool text_utf8_valid(const char *s, size_t len);

/* Number of code points in valid UTF-8 (for invalid input: the number of non-continuation
 * bytes, never more than len). */
size_t text_utf8_len(const char *s, size_t len);

/* Sanitizes in[0..len) into out (NUL-terminated, at most outsz-1 bytes, never splitting a code
 * point). Returns the number of code points written, or -1 with err "invalid_utf8" when the
 * input is not valid UTF-8, or "too_long" when the result exceeds max_chars code points.
 * The whole input is validated before anything else, so invalid UTF-8 anywhere wins over
 * too_long. A result that does not fit in outsz-1 bytes is also "too_long" (never truncated).
 * On error out is "". outsz must be > 0 (a caller bug otherwise: fatal). The result may be
 * empty (0): callers that need a non-empty string check that themselves. */
int text_sanitize(const char *in, size_t len, char *out, size_t outsz, size_t max_chars,
                  struct felt_err *err);

/* Terminal display width in columns of valid UTF-8 (wcwidth per code point, 0 for unprintable,
 * i.e. where wcwidth is negative). wcwidth depends on LC_CTYPE: the caller must have called
 * setlocale(LC_CTYPE, "") (or set a UTF-8 locale) first; in the "C" locale every non-ASCII code
 * point counts 0. An ill-formed byte counts 1 column (a terminal draws one replacement character
 * for it). Saturates at INT_MAX. */
int text_width(const char *s, size_t len);

/* ---- the one way amounts and cards are written on every screen and in every log ---------- */

/* Chips with thousands separators, as the table shows them: "12,500", "-1,000", "0". Writes at
 * most bufsz-1 bytes and a NUL (TEXT_CHIPS_MAX always suffices); returns buf. */
#define TEXT_CHIPS_MAX 32
const char *text_chips(int64_t n, char *buf, size_t bufsz);

/* The four suit symbols in card.h's suit order (clubs, diamonds, hearts, spades): U+2663 U+2666
 * U+2665 U+2660. */
extern const char *const text_suit_symbols[4];
/* A card's compact text as the table draws it: rank and suit symbol ("A\u2665", "T\u2660"), or
 * with ascii the two-character form ("Ah"); "??" for CARD_NONE or an invalid card. buf holds at
 * least TEXT_CARD_MAX bytes (cut otherwise); returns buf. */
#define TEXT_CARD_MAX 8
const char *text_card(card_t card, bool ascii, char *buf, size_t bufsz);

/* Combining marks kept after one base character by text_sanitize (the excess is dropped). */
#define TEXT_MAX_MARKS 2

/* Upper bound on the UTF-8 bytes of text_name_fold's output per code point of its input: the
 * largest single code point fold with ICU 72 is U+FDFA's, 30 bytes (tests/unit/test_text.c checks
 * every code point against this bound). */
#define TEXT_FOLD_FACTOR 48
/* A text_name_fold output buffer big enough for any name the protocol accepts (24 code points:
 * PROTO_NAME_MAX_CHARS; text.c checks at compile time that the two agree), NUL included. */
#define TEXT_FOLD_MAX (24 * TEXT_FOLD_FACTOR + 1)

/* Checks a sanitized name (the output of text_sanitize) for use as a player name: it must contain
 * at least one letter or digit (ICU's u_isalnum: general category L* or Nd) and must not be
 * reserved. Reserved, judged on the fold (text_name_fold), so whatever case or look-alike
 * letters: "server", "feltd", "felt", "spectator", "system", "admin", "dealer", and any name whose
 * fold starts with '[' and ends with ']' (the form of the server's own notices). Returns 0, or -1
 * with err code "bad_name" (no letter or digit, or not valid UTF-8, or too long to fold: longer
 * than any name the protocol accepts) or "reserved_name". */
int text_name_check(const char *name, struct felt_err *err);

/* Writes the folded form of a name into out (NUL-terminated; outsz >= TEXT_FOLD_MAX suffices for
 * any name of at most PROTO_NAME_MAX_CHARS code points): NFKC_Casefold, then the UTS #39
 * confusables skeleton, then NFKC_Casefold again, the last two repeated until the result is
 * stable (fold(fold(x)) == fold(x); at most 8 passes, every single code point settles within 3).
 * Two names collide at a table when their folds are equal.
 * Returns the length in bytes, or -1 (out is then "") if the fold did not fit in outsz or an
 * internal buffer (caller bug: size out generously, e.g. TEXT_FOLD_MAX, and pass names no longer
 * than the protocol allows) or name is not valid UTF-8. */
int text_name_fold(const char *name, char *out, size_t outsz);

#endif
