/*
 * jbuf.c: JSON text written straight into one growable buffer (contract in jbuf.h).
 *
 * The buffer doubles when it runs out, so a message costs one allocation and a few reallocs at
 * most; jbuf_finish() gives back the spare room when it is more than a quarter of the text, since
 * rendered messages stay in each table's history.
 */
#include "jbuf.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void jbuf_init(struct jbuf *b, size_t head, size_t hint)
{
    memset(b, 0, sizeof(*b));
    b->head = head;
    b->cap = hint < 64 ? 64 : hint;
    b->buf = xmalloc(head + b->cap);
}

void jbuf_free(struct jbuf *b)
{
    free(b->buf);
    memset(b, 0, sizeof(*b));
}

/* Room for n more bytes and the final NUL. */
static char *jbuf_room(struct jbuf *b, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap;
        while (b->len + n + 1 > cap)
            cap *= 2;
        b->buf = xrealloc(b->buf, b->head + cap);
        b->cap = cap;
    }
    return b->buf + b->head + b->len;
}

static void jbuf_put(struct jbuf *b, const char *s, size_t n)
{
    memcpy(jbuf_room(b, n), s, n);
    b->len += n;
}

static void jbuf_putc(struct jbuf *b, char c)
{
    *jbuf_room(b, 1) = c;
    b->len++;
}

/* Before a value: the comma between array elements, or nothing after a key. */
static void jbuf_value(struct jbuf *b)
{
    if (b->after_key) {
        b->after_key = false;
        return;
    }
    if (b->depth > 0 && b->in_object[b->depth])
        felt_fatal("jbuf: a value without a key in an object");
    if (b->depth == 0 && b->len > 0)
        felt_fatal("jbuf: a second value at the top level");
    if (b->has_member[b->depth]) jbuf_putc(b, ',');
    b->has_member[b->depth] = true;
}

static void jbuf_escaped(struct jbuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    jbuf_putc(b, '"');
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        jbuf_put(b, run, (size_t)(s - run));
        run = s + 1;
        char esc[6] = {'\\', 0};
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        jbuf_put(b, esc, n);
    }
    jbuf_put(b, run, (size_t)(s - run));
    jbuf_putc(b, '"');
}

static void jbuf_open(struct jbuf *b, bool object)
{
    jbuf_value(b);
    if (b->depth == JBUF_MAX_DEPTH) felt_fatal("jbuf: nested deeper than %d", JBUF_MAX_DEPTH);
    b->depth++;
    b->in_object[b->depth] = object;
    b->has_member[b->depth] = false;
    jbuf_putc(b, object ? '{' : '[');
}

static void jbuf_close(struct jbuf *b, bool object)
{
    if (b->depth == 0 || b->in_object[b->depth] != object || b->after_key)
        felt_fatal("jbuf: unbalanced %s", object ? "object" : "array");
    b->depth--;
    jbuf_putc(b, object ? '}' : ']');
}

void jbuf_begin_object(struct jbuf *b)
{
    jbuf_open(b, true);
}

void jbuf_end_object(struct jbuf *b)
{
    jbuf_close(b, true);
}

void jbuf_begin_array(struct jbuf *b)
{
    jbuf_open(b, false);
}

void jbuf_end_array(struct jbuf *b)
{
    jbuf_close(b, false);
}

void jbuf_key(struct jbuf *b, const char *key)
{
    if (b->depth == 0 || !b->in_object[b->depth] || b->after_key)
        felt_fatal("jbuf: a key outside an object, or two keys in a row");
    if (b->has_member[b->depth]) jbuf_putc(b, ',');
    b->has_member[b->depth] = true;
    jbuf_escaped(b, key);
    jbuf_putc(b, ':');
    b->after_key = true;
}

void jbuf_string(struct jbuf *b, const char *s)
{
    jbuf_value(b);
    jbuf_escaped(b, s);
}

void jbuf_int(struct jbuf *b, int64_t v)
{
    char digits[24], *p = digits + sizeof(digits);
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    jbuf_value(b);
    jbuf_put(b, p, (size_t)(digits + sizeof(digits) - p));
}

void jbuf_bool(struct jbuf *b, bool v)
{
    jbuf_value(b);
    jbuf_put(b, v ? "true" : "false", v ? 4 : 5);
}

void jbuf_null(struct jbuf *b)
{
    jbuf_value(b);
    jbuf_put(b, "null", 4);
}

void jbuf_raw(struct jbuf *b, const char *json)
{
    jbuf_value(b);
    jbuf_put(b, json, strlen(json));
}

void jbuf_key_string(struct jbuf *b, const char *key, const char *s)
{
    jbuf_key(b, key);
    jbuf_string(b, s);
}

void jbuf_key_int(struct jbuf *b, const char *key, int64_t v)
{
    jbuf_key(b, key);
    jbuf_int(b, v);
}

void jbuf_key_bool(struct jbuf *b, const char *key, bool v)
{
    jbuf_key(b, key);
    jbuf_bool(b, v);
}

void jbuf_key_null(struct jbuf *b, const char *key)
{
    jbuf_key(b, key);
    jbuf_null(b);
}

char *jbuf_finish(struct jbuf *b, size_t *len_out)
{
    if (b->depth != 0 || b->after_key || b->len == 0)
        felt_fatal("jbuf: the text is not one complete value");
    *jbuf_room(b, 0) = '\0';
    char *out = b->buf;
    if (b->cap - b->len - 1 > b->len / 4) out = xrealloc(out, b->head + b->len + 1);
    if (len_out) *len_out = b->len;
    b->buf = NULL;
    jbuf_free(b);
    return out;
}
