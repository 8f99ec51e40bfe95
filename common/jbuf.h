/*
 * jbuf.h: JSON text written straight into one growable buffer, for the messages feltd renders
 * for every event (wire.c's encoder).
 *
 * Why not json-c, which reads every message: building a json-c tree costs an allocation per
 * object, array, string and number (an object alone is two callocs that bypass glibc's fast
 * caches), and its text is copied twice more before it reaches a socket. Profiles put that at
 * about a third of feltd's CPU per action (docs/performance.md). jbuf writes the same text in
 * one buffer, grown by doubling, optionally behind `head` reserved bytes so the caller can turn
 * the buffer into its own message type without a copy (feltd's struct msg with its WebSocket
 * headroom). Parsing stays json-c's.
 *
 * Usage: begin/end objects and arrays, jbuf_key() before each member's value (or the jbuf_key_*
 * shorthands); commas are placed here. Strings are escaped as json-c does with
 * JSON_C_TO_STRING_NOSLASHESCAPE: \" \\ \b \f \n \r \t and \u00XX for other bytes below 0x20;
 * other bytes (UTF-8) are copied. Misuse (a value where a key is due, unbalanced ends, more than
 * JBUF_MAX_DEPTH levels) is a bug and stops loudly. Out of memory stops loudly (xrealloc).
 */
#ifndef FELT_JBUF_H
#define FELT_JBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JBUF_MAX_DEPTH 16

struct jbuf {
    char *buf;     /* head reserved bytes, then the text */
    size_t head;   /* bytes reserved in front of the text */
    size_t len;    /* bytes of text */
    size_t cap;    /* bytes allocated after head, the final NUL included */
    int depth;     /* open objects and arrays */
    bool in_object[JBUF_MAX_DEPTH + 1];
    bool has_member[JBUF_MAX_DEPTH + 1]; /* something written at this depth: a comma is due */
    bool after_key;                      /* a key was written: its value is due */
};

/* An empty buffer with `head` bytes reserved in front and room for about `hint` bytes. */
void jbuf_init(struct jbuf *b, size_t head, size_t hint);
void jbuf_free(struct jbuf *b);

void jbuf_begin_object(struct jbuf *b);
void jbuf_end_object(struct jbuf *b);
void jbuf_begin_array(struct jbuf *b);
void jbuf_end_array(struct jbuf *b);
/* A member's name, in an object; its value comes next. */
void jbuf_key(struct jbuf *b, const char *key);

void jbuf_string(struct jbuf *b, const char *s);
void jbuf_int(struct jbuf *b, int64_t v);
void jbuf_bool(struct jbuf *b, bool v);
void jbuf_null(struct jbuf *b);
/* A value already written as JSON text (a number formatted by the caller). */
void jbuf_raw(struct jbuf *b, const char *json);

/* key and value in one call */
void jbuf_key_string(struct jbuf *b, const char *key, const char *s);
void jbuf_key_int(struct jbuf *b, const char *key, int64_t v);
void jbuf_key_bool(struct jbuf *b, const char *key, bool v);
void jbuf_key_null(struct jbuf *b, const char *key);

/* Ends the text (everything closed, else fatal) with a NUL and hands the buffer over: the text
 * is at result + head, *len_out bytes (not counting the NUL). The caller frees the result; b is
 * empty again. */
char *jbuf_finish(struct jbuf *b, size_t *len_out);

#endif
