/*
 * jval.c: the shared lenient json-c getters (contracts in jval.h).
 */
#include "jval.h"

#include <limits.h>

#include "util.h"

struct json_object *jval_get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

struct json_object *jval_typed(struct json_object *o, const char *key, json_type type)
{
    struct json_object *v = jval_get(o, key);
    return v && json_object_is_type(v, type) ? v : NULL;
}

const char *jval_str(struct json_object *o, const char *key)
{
    struct json_object *v = jval_typed(o, key, json_type_string);
    return v ? json_object_get_string(v) : NULL;
}

int64_t jval_int(struct json_object *o, const char *key, int64_t dflt)
{
    struct json_object *v = jval_typed(o, key, json_type_int);
    return v ? json_object_get_int64(v) : dflt;
}

bool jval_int_ok(struct json_object *o, const char *key, int64_t *out)
{
    struct json_object *v = jval_typed(o, key, json_type_int);
    if (!v) return false;
    *out = json_object_get_int64(v);
    return true;
}

bool jval_bool(struct json_object *o, const char *key, bool dflt)
{
    struct json_object *v = jval_typed(o, key, json_type_boolean);
    return v ? json_object_get_boolean(v) : dflt;
}

struct json_object *jval_parse(const char *s, size_t len)
{
    if (len > INT_MAX) return NULL;
    json_tokener *tok = json_tokener_new();
    if (!tok) felt_fatal("out of memory");
    struct json_object *o = json_tokener_parse_ex(tok, s, (int)len);
    enum json_tokener_error e = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    /* A bare number or literal that ends the input leaves json-c waiting for more: a NUL byte
     * is how json-c is told the input is over. */
    if (!o && e == json_tokener_continue && end == len) {
        o = json_tokener_parse_ex(tok, "", 1);
        e = json_tokener_get_error(tok);
    }
    if (o && (e != json_tokener_success || end != len)) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}
