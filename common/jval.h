/*
 * jval.h: the one set of small json-c getters that felt's code and tests share.
 *
 * They read a field of an object without asserting anything about it: a NULL or non-object
 * container, a missing key and a value of the wrong type all read as "absent" (NULL, false or
 * the default given). Strict, typed decoding of messages is proto.c's (client messages) and
 * wire.c's (server messages); these are for the loose questions a test or a lenient reader asks.
 */
#ifndef FELT_JVAL_H
#define FELT_JVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* The value at key (any type, JSON null reads as NULL), or NULL. */
struct json_object *jval_get(struct json_object *o, const char *key);
/* The value at key if it has this type, else NULL. */
struct json_object *jval_typed(struct json_object *o, const char *key, json_type type);
/* The string at key, or NULL. */
const char *jval_str(struct json_object *o, const char *key);
/* The integer at key, or dflt. */
int64_t jval_int(struct json_object *o, const char *key, int64_t dflt);
/* true and *out set when key holds an integer; false (out untouched) otherwise. */
bool jval_int_ok(struct json_object *o, const char *key, int64_t *out);
/* The boolean at key, or dflt. */
bool jval_bool(struct json_object *o, const char *key, bool dflt);
/* Parses JSON text of len bytes (need not be NUL-terminated); NULL if it is not exactly one
 * JSON value. The caller owns the result (json_object_put). */
struct json_object *jval_parse(const char *s, size_t len);

#endif
