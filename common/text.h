/*
 * text.h: UTF-8 validation and the terminal-safety sanitizer.
 *
 * Every string that may end up on someone's terminal (player names, chat) passes through
 * text_sanitize() on the server before anyone sees it, and again in the client before drawing:
 * invalid UTF-8 is rejected outright; C0 and C1 control characters, DEL, and whole escape
 * sequences (CSI, OSC, DCS, SOS/PM/APC, and two-byte ESC sequences) are removed; so are Unicode
 * bidirectional overrides and zero-width formatting that could disguise text. Tabs and newlines
 * become single spaces; leading and trailing spaces are trimmed.
 */
#ifndef FELT_TEXT_H
#define FELT_TEXT_H

#include <stdbool.h>
#include <stddef.h>

struct felt_err;

/* True if s[0..len) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF, no NUL). */
bool text_utf8_valid(const char *s, size_t len);

/* Number of code points in valid UTF-8. */
size_t text_utf8_len(const char *s, size_t len);

/* Sanitizes in[0..len) into out (NUL-terminated, at most outsz-1 bytes, never splitting a code
 * point). Returns the number of code points written, or -1 with err "invalid_utf8" when the
 * input is not valid UTF-8, or "too_long" when the result exceeds max_chars code points. */
int text_sanitize(const char *in, size_t len, char *out, size_t outsz, size_t max_chars,
                  struct felt_err *err);

/* Terminal display width in columns of valid UTF-8 (wcwidth per code point, 0 for unprintable). */
int text_width(const char *s, size_t len);

#endif
