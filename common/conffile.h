/*
 * conffile.h: the `key = value` settings files of felt (~/.config/felt/config) and feltd
 * (/etc/felt/feltd.conf, --config FILE).
 *
 * One setting per line, `key = value`; blanks around the key and the value are dropped; blank
 * lines and lines whose first non-blank character is '#' are ignored (a '#' later in a line is
 * part of the value). This module only splits the file: what a key means, whether it may be
 * given twice and whether its value is good is the caller's, through a callback per setting.
 * Errors are user errors, reported as "FILE:LINE: reason" (felt_err code "config").
 */
#ifndef FELT_CONFFILE_H
#define FELT_CONFFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define CONFFILE_MAX 65536   /* bytes: a larger file is not a settings file */
#define CONFFILE_LINE_MAX 1024 /* bytes per line, newline excluded, plus one */

/* One setting, on line `line` (from 1): key and value are NUL-terminated, trimmed and
 * non-empty. Returns 0, or -1 with the reason (without file or line) in why; an empty why means
 * the callback reported the error itself, and err then says only where. */
typedef int (*conffile_fn)(void *user, int line, const char *key, const char *value, char *why,
                           size_t whysz);

/* Splits text (len bytes; a NUL byte is refused) and calls fn for each setting in order.
 * origin names the file in messages. Returns 0, or -1 with err at the first bad line (no '=',
 * no key, no value, a line of CONFFILE_LINE_MAX bytes or more, or fn's refusal); the settings
 * before it were already passed to fn. */
int conffile_parse(const char *text, size_t len, const char *origin, conffile_fn fn, void *user,
                   struct felt_err *err);

/* Reads path whole and parses it. Returns 1 when read, 0 when the file does not exist and
 * !must_exist, -1 with err when it cannot be read, is not a regular file, is larger than
 * CONFFILE_MAX, or conffile_parse refuses it. */
int conffile_load(const char *path, bool must_exist, conffile_fn fn, void *user,
                  struct felt_err *err);

/* An on/off value: on, yes, true, 1 or off, no, false, 0 (any case). Returns 1, 0, or -1 when
 * value is none of them. */
int conffile_flag(const char *value);

#endif
