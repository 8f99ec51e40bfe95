/*
 * text.h: UTF-8 validation and the terminal-safety sanitizer.
 *
 * Every string that may end up on someone's terminal (player names, chat) passes through
 * text_sanitize() on the server before anyone sees it, and again in the client before drawing:
 * invalid UTF-8 is rejected outright; C0 and C1 control characters, DEL, and whole escape
 * sequences (CSI, OSC, DCS, SOS/PM/APC, and two-byte ESC sequences) are removed; so are Unicode
 * bidirectional overrides and zero-width formatting that could disguise text. Tabs and newlines
 * become single spaces; leading and trailing spaces are trimmed.
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
 *  - whitespace (tab, LF, CR, space and the other Unicode White_Space characters such as U+00A0,
 *    U+2000..U+200A, U+2028, U+2029, U+3000) collapses, run by run, to one U+0020; leading and
 *    trailing whitespace is dropped. Other C0 controls (VT, FF) are removed, not spaced.
 * The output therefore never contains a control character, an invisible formatting character or
 * two spaces in a row, and never starts or ends with a space.
 */
#ifndef FELT_TEXT_H
#define FELT_TEXT_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
