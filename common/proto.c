/*
 * proto.c: the felt.v1 wire codec (see proto.h for every message shape).
 *
 * Client messages are decoded strictly, in this order: frame size, NUL bytes, UTF-8 validity of
 * the whole frame, unpaired surrogate escapes, JSON syntax (json-c in strict mode with a depth
 * limit), then the type, dispatched through proto_ctypes[], whose decoder checks each field.
 * Text that can reach a terminal (names, chat) leaves the decoder already sanitized.
 *
 * json-c allocation failures are treated as out-of-memory (fatal), as xmalloc does.
 */
#include "proto.h"

#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include <json-c/json.h>

#include "text.h"
#include "util.h"

/* JSON nesting accepted from the server: snapshots are deeper than client messages. */
#define PROTO_SERVER_MAX_DEPTH 32

/* Action names in enum engine_action order, the same strings as engine_action_name(). Kept
 * here so the codec does not depend on the rules engine being linked in. */
static const char *const proto_action_names[] = {
    [ENGINE_FOLD] = "fold",   [ENGINE_CHECK] = "check",   [ENGINE_CALL] = "call",
    [ENGINE_RAISE] = "raise", [ENGINE_ALL_IN] = "all_in",
};

/* ---- json-c helpers: allocation failure is fatal ---- */

static struct json_object *proto_jnew(struct json_object *o)
{
    if (!o) felt_fatal("json-c: out of memory");
    return o;
}

/* Adds val (reference transferred) under key. */
/* key must be a string literal: json-c keeps the pointer rather than a copy. */
static void proto_jadd(struct json_object *obj, const char *key, struct json_object *val)
{
    if (json_object_object_add_ex(obj, key, val, JSON_C_OBJECT_ADD_CONSTANT_KEY) != 0)
        felt_fatal("json-c: out of memory adding \"%s\"", key);
}

static void proto_jadd_str(struct json_object *obj, const char *key, const char *s, size_t len)
{
    FELT_ASSERT(len <= INT_MAX);
    proto_jadd(obj, key, proto_jnew(json_object_new_string_len(s, (int)len)));
}

static void proto_jadd_int(struct json_object *obj, const char *key, int64_t v)
{
    proto_jadd(obj, key, proto_jnew(json_object_new_int64(v)));
}

/* Serializes o compactly into a malloc'd copy and drops the caller's reference to o. */
static char *proto_serialize(struct json_object *o, size_t *len_out)
{
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (!s) felt_fatal("json-c: out of memory serializing");
    char *r = xstrndup(s, n);
    json_object_put(o);
    if (len_out) *len_out = n;
    return r;
}

/* ---- frame checks and parsing ---- */

static bool proto_hex4(const char *s, size_t avail, unsigned *out)
{
    unsigned v = 0;
    if (avail < 4) return false;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return false;
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

/* False if a string in the JSON text holds a \uD800..\uDFFF escape that is not a high surrogate
 * immediately followed by a low one. json-c would silently turn such an escape into U+FFFD; the
 * protocol calls it what it is, invalid UTF-8. Malformed escapes are left to the tokener. */
static bool proto_surrogates_paired(const char *s, size_t len)
{
    char quote = 0; /* the quote that opened the current string, 0 outside strings */

    for (size_t i = 0; i < len; i++) {
        unsigned u, v;
        if (!quote) {
            if (s[i] == '"' || s[i] == '\'') /* json-c also accepts single quotes */
                quote = s[i];
            continue;
        }
        if (s[i] == quote) {
            quote = 0;
            continue;
        }
        if (s[i] != '\\' || i + 1 >= len) continue;
        if (s[i + 1] != 'u' || !proto_hex4(s + i + 2, len - (i + 2), &u)) {
            i++; /* a two-character escape such as \" or \\ */
            continue;
        }
        i += 5; /* on the last hex digit */
        if (u >= 0xDC00 && u <= 0xDFFF) return false;
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (i + 2 >= len || s[i + 1] != '\\' || s[i + 2] != 'u' ||
                !proto_hex4(s + i + 3, len - (i + 3), &v) || v < 0xDC00 || v > 0xDFFF)
                return false;
            i += 6;
        }
    }
    return true;
}

/* Parses one JSON object from buf[0..len). Returns it (a new reference) or NULL with err. */
/* json-c accepts the literals NaN, Infinity and -Infinity even in strict mode; JSON has no such
 * tokens. True if any number in the tree (depth already bounded by the tokener) was written as
 * one. A number too big for a double (1e400) is valid JSON and is left to the field checks,
 * which name the field; json-c keeps each parsed double's original text, which tells them apart. */
static bool proto_has_non_json_number(struct json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_double: {
        const char *txt = json_object_get_string(o);
        return txt && strspn(txt, "0123456789+-.eE") != strlen(txt);
    }
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(o); i++)
            if (proto_has_non_json_number(json_object_array_get_idx(o, i))) return true;
        return false;
    case json_type_object: {
        json_object_object_foreach(o, key, val)
        {
            (void)key;
            if (proto_has_non_json_number(val)) return true;
        }
        return false;
    }
    default:
        return false;
    }
}

static struct json_object *proto_parse_object(const char *buf, size_t len, int depth,
                                              struct felt_err *err)
{
    struct json_tokener *tok = NULL;
    struct json_object *root = NULL;

    if (len > 0 && memchr(buf, '\0', len)) {
        felt_err_set(err, "bad_json", "message contains a NUL byte");
        goto fail;
    }
    if (!text_utf8_valid(buf, len)) {
        felt_err_set(err, "invalid_utf8", "message is not valid UTF-8");
        goto fail;
    }
    if (!proto_surrogates_paired(buf, len)) {
        felt_err_set(err, "invalid_utf8", "message contains an unpaired UTF-16 surrogate escape");
        goto fail;
    }
    tok = json_tokener_new_ex(depth);
    if (!tok) felt_fatal("json-c: out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, buf ? buf : "", (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    bool all_read = false;
    if (jerr == json_tokener_continue) {
        /* A frame is the whole message: a top-level number ("7") waits for a delimiter, so
         * end the input with one whitespace character, which JSON ignores anyway. */
        all_read = true;
        root = json_tokener_parse_ex(tok, " ", 1);
        jerr = json_tokener_get_error(tok);
    }
    if (jerr == json_tokener_error_depth) {
        felt_err_set(err, "bad_json", "JSON nested deeper than %d levels", depth);
        goto fail;
    }
    if (jerr == json_tokener_continue) {
        felt_err_set(err, "bad_json", "incomplete JSON");
        goto fail;
    }
    if (jerr != json_tokener_success) {
        felt_err_set(err, "bad_json", "malformed JSON: %s", json_tokener_error_desc(jerr));
        goto fail;
    }
    if (!all_read && json_tokener_get_parse_end(tok) != len) {
        felt_err_set(err, "bad_json", "trailing data after the JSON message");
        goto fail;
    }
    if (!json_object_is_type(root, json_type_object)) {
        felt_err_set(err, "bad_json", "message must be a JSON object");
        goto fail;
    }
    if (proto_has_non_json_number(root)) {
        felt_err_set(err, "bad_json", "NaN and Infinity are not JSON numbers");
        goto fail;
    }
    json_tokener_free(tok);
    return root;
fail:
    json_object_put(root);
    if (tok) json_tokener_free(tok);
    return NULL;
}

/* ---- field readers: each names its field in the error ---- */

/* The value under key, or NULL when absent or JSON null. */
static struct json_object *proto_field(struct json_object *obj, const char *key)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v)) return NULL;
    return v;
}

/* An integer in [lo, hi] (lo >= PROTO_INT_MIN, hi <= PROTO_INT_MAX). Absent: *present false,
 * or an error when required. */
static int proto_get_int(struct json_object *obj, const char *key, int64_t lo, int64_t hi,
                         bool required, bool *present, int64_t *out, struct felt_err *err)
{
    struct json_object *v = proto_field(obj, key);
    int64_t x;

    *present = false;
    if (!v) {
        if (!required) return 0;
        return felt_err_set(err, "bad_field",
                            "%s is required (an integer between %" PRId64 " and %" PRId64 ")", key,
                            lo, hi);
    }
    if (!json_object_is_type(v, json_type_int)) goto bad;
    /* Literals beyond int64 saturate to INT64_MIN/INT64_MAX, outside every [lo, hi]. */
    x = json_object_get_int64(v);
    if (x < lo || x > hi) goto bad;
    *present = true;
    *out = x;
    return 0;
bad:
    return felt_err_set(err, "bad_field", "%s must be an integer between %" PRId64 " and %" PRId64,
                        key, lo, hi);
}

/* A string, as bytes (may contain NUL: callers check). */
static int proto_get_str(struct json_object *obj, const char *key, const char **s, size_t *len,
                         struct felt_err *err)
{
    struct json_object *v = proto_field(obj, key);
    int n;

    if (!v) return felt_err_set(err, "bad_field", "%s is required (a string)", key);
    if (!json_object_is_type(v, json_type_string))
        return felt_err_set(err, "bad_field", "%s must be a string", key);
    n = json_object_get_string_len(v);
    *s = json_object_get_string(v);
    *len = n > 0 ? (size_t)n : 0;
    return 0;
}

/* 1..max bytes of printable ASCII (0x20..0x7E), copied into dst[dstsz] (dstsz > max). */
static int proto_get_ascii(struct json_object *obj, const char *key, size_t max, bool required,
                           char *dst, size_t dstsz, struct felt_err *err)
{
    const char *s;
    size_t len;

    FELT_ASSERT(dstsz > max);
    dst[0] = '\0';
    if (!required && !proto_field(obj, key)) return 0;
    if (proto_get_str(obj, key, &s, &len, err) < 0) return -1;
    if (len < 1 || len > max) goto bad;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E) goto bad;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
bad:
    return felt_err_set(err, "bad_field", "%s must be 1 to %zu printable ASCII characters", key,
                        max);
}

/* Terminal-safe text: sanitized into dst, 1..max_chars code points. */
static int proto_get_text(struct json_object *obj, const char *key, size_t max_chars, char *dst,
                          size_t dstsz, struct felt_err *err)
{
    struct felt_err serr = {0};
    const char *s = NULL;
    size_t len = 0;
    int n;

    if (proto_get_str(obj, key, &s, &len, err) < 0) return -1;
    n = text_sanitize(s, len, dst, dstsz, max_chars, &serr);
    if (n < 0 && strcmp(serr.code, "invalid_utf8") == 0)
        return felt_err_set(err, serr.code, "%s is not valid UTF-8", key);
    if (n < 0)
        return felt_err_set(err, serr.code, "%s is longer than %zu characters", key, max_chars);
    if (n == 0)
        return felt_err_set(err, "bad_field", "%s must have 1 to %zu visible characters", key,
                            max_chars);
    return 0;
}

/* A player name: terminal-safe text as proto_get_text reads it (so an empty one is "bad_field"),
 * which must also pass text_name_check: "bad_name" without a letter or digit, "reserved_name" for
 * a reserved name (judged on its fold, see text.h). */
static int proto_get_name(struct json_object *obj, const char *key, char *dst, size_t dstsz,
                          struct felt_err *err)
{
    struct felt_err nerr = {0};

    if (proto_get_text(obj, key, PROTO_NAME_MAX_CHARS, dst, dstsz, err) < 0) return -1;
    if (text_name_check(dst, &nerr) == 0) return 0;
    if (strcmp(nerr.code, "reserved_name") == 0)
        return felt_err_set(err, nerr.code, "%s is reserved", key);
    return felt_err_set(err, nerr.code, "%s must contain a letter or a digit", key);
}

/* ---- client messages: one decoder and one encoder per type ---- */

static int proto_dec_hello(struct json_object *o, struct proto_cmsg *m, struct felt_err *err)
{
    int64_t seq = 0;

    if (proto_get_ascii(o, "token", PROTO_TOKEN_MAX, true, m->token, sizeof(m->token), err) < 0 ||
        proto_get_int(o, "last_seq", 0, PROTO_INT_MAX, false, &m->has_last_seq, &seq, err) < 0 ||
        proto_get_ascii(o, "epoch", PROTO_EPOCH_MAX, false, m->epoch, sizeof(m->epoch), err) < 0)
        return -1;
    m->last_seq = (uint64_t)seq;
    return 0;
}

static void proto_enc_hello(const struct proto_cmsg *m, struct json_object *o)
{
    proto_jadd_str(o, "token", m->token, strnlen(m->token, sizeof(m->token)));
    if (m->has_last_seq) proto_jadd(o, "last_seq", proto_jnew(json_object_new_uint64(m->last_seq)));
    if (m->epoch[0]) proto_jadd_str(o, "epoch", m->epoch, strnlen(m->epoch, sizeof(m->epoch)));
}

static int proto_dec_join(struct json_object *o, struct proto_cmsg *m, struct felt_err *err)
{
    bool has_buy_in;

    if (proto_get_name(o, "name", m->name, sizeof(m->name), err) < 0 ||
        proto_get_int(o, "buy_in", 1, PROTO_AMOUNT_MAX, false, &has_buy_in, &m->buy_in, err) < 0 ||
        proto_get_ascii(o, "token", PROTO_TOKEN_MAX, false, m->token, sizeof(m->token), err) < 0)
        return -1;
    return 0;
}

static void proto_enc_join(const struct proto_cmsg *m, struct json_object *o)
{
    proto_jadd_str(o, "name", m->name, strnlen(m->name, sizeof(m->name)));
    if (m->buy_in != 0) proto_jadd_int(o, "buy_in", m->buy_in);
    if (m->token[0]) proto_jadd_str(o, "token", m->token, strnlen(m->token, sizeof(m->token)));
}

static int proto_dec_action(struct json_object *o, struct proto_cmsg *m, struct felt_err *err)
{
    const char *s;
    size_t len, k;

    if (proto_get_str(o, "action", &s, &len, err) < 0) return -1;
    for (k = 0; k < FELT_ARRAY_LEN(proto_action_names); k++)
        if (strlen(proto_action_names[k]) == len && memcmp(proto_action_names[k], s, len) == 0)
            break;
    if (k == FELT_ARRAY_LEN(proto_action_names))
        return felt_err_set(err, "bad_field",
                            "action must be one of fold, check, call, raise, all_in");
    m->action = (enum engine_action)k;
    if (proto_get_int(o, "amount", 0, PROTO_AMOUNT_MAX, m->action == ENGINE_RAISE, &m->has_amount,
                      &m->amount, err) < 0 ||
        proto_get_ascii(o, "request_id", PROTO_REQUEST_ID_MAX, false, m->request_id,
                        sizeof(m->request_id), err) < 0 ||
        proto_get_int(o, "hand_id", 0, PROTO_INT_MAX, false, &m->has_hand_id, &m->hand_id, err) < 0 ||
        proto_get_int(o, "decision", 1, PROTO_INT_MAX, false, &m->has_decision, &m->decision,
                      err) < 0)
        return -1;
    return 0;
}

static void proto_enc_action(const struct proto_cmsg *m, struct json_object *o)
{
    size_t rlen = strnlen(m->request_id, sizeof(m->request_id));

    FELT_ASSERT((unsigned)m->action < FELT_ARRAY_LEN(proto_action_names));
    proto_jadd_str(o, "action", proto_action_names[m->action],
                   strlen(proto_action_names[m->action]));
    if (m->has_amount) proto_jadd_int(o, "amount", m->amount);
    if (rlen > 0) proto_jadd_str(o, "request_id", m->request_id, rlen);
    if (m->has_hand_id) proto_jadd_int(o, "hand_id", m->hand_id);
    if (m->has_decision) proto_jadd_int(o, "decision", m->decision);
}

static int proto_dec_chat(struct json_object *o, struct proto_cmsg *m, struct felt_err *err)
{
    return proto_get_text(o, "text", PROTO_CHAT_MAX_CHARS, m->text, sizeof(m->text), err);
}

static void proto_enc_chat(const struct proto_cmsg *m, struct json_object *o)
{
    proto_jadd_str(o, "text", m->text, strnlen(m->text, sizeof(m->text)));
}

/* sit_out, sit_in, leave: no fields. */
static int proto_dec_none(struct json_object *o, struct proto_cmsg *m, struct felt_err *err)
{
    (void)o;
    (void)m;
    (void)err;
    return 0;
}

static void proto_enc_none(const struct proto_cmsg *m, struct json_object *o)
{
    (void)m;
    (void)o;
}

static int proto_dec_ping(struct json_object *o, struct proto_cmsg *m, struct felt_err *err)
{
    return proto_get_int(o, "id", PROTO_INT_MIN, PROTO_INT_MAX, false, &m->has_ping_id, &m->ping_id,
                         err);
}

static void proto_enc_ping(const struct proto_cmsg *m, struct json_object *o)
{
    if (m->has_ping_id) proto_jadd_int(o, "id", m->ping_id);
}

static const struct proto_ctype_def {
    const char *name;
    int (*decode)(struct json_object *o, struct proto_cmsg *m, struct felt_err *err);
    void (*encode)(const struct proto_cmsg *m, struct json_object *o);
} proto_ctypes[PROTO_C_COUNT] = {
    [PROTO_C_HELLO] = {"hello", proto_dec_hello, proto_enc_hello},
    [PROTO_C_JOIN] = {"join", proto_dec_join, proto_enc_join},
    [PROTO_C_ACTION] = {"action", proto_dec_action, proto_enc_action},
    [PROTO_C_CHAT] = {"chat", proto_dec_chat, proto_enc_chat},
    [PROTO_C_SIT_OUT] = {"sit_out", proto_dec_none, proto_enc_none},
    [PROTO_C_SIT_IN] = {"sit_in", proto_dec_none, proto_enc_none},
    [PROTO_C_LEAVE] = {"leave", proto_dec_none, proto_enc_none},
    [PROTO_C_PING] = {"ping", proto_dec_ping, proto_enc_ping},
};

const char *proto_ctype_name(enum proto_ctype t)
{
    return (unsigned)t < PROTO_C_COUNT ? proto_ctypes[t].name : "unknown";
}

/* Decodes buf as a client message. With as_type >= 0 the message is of that type and "type" may
 * be left out (the HTTP endpoints, whose path names the type); otherwise "type" is required. */
static int proto_decode_typed(const char *buf, size_t len, int as_type, struct proto_cmsg *m,
                              struct felt_err *err)
{
    struct json_object *root = NULL, *tv;
    const char *ts;
    size_t tlen, k;
    int rc = -1;

    memset(m, 0, sizeof(*m));
    if (len > PROTO_MAX_FRAME) {
        felt_err_set(err, "too_large", "message is larger than %d bytes", PROTO_MAX_FRAME);
        goto done;
    }
    root = proto_parse_object(buf, len, PROTO_MAX_DEPTH, err);
    if (!root) goto done;
    tv = proto_field(root, "type");
    if (!tv && as_type >= 0) {
        k = (size_t)as_type;
    } else {
        if (!tv) {
            felt_err_set(err, "bad_type", "type is required");
            goto done;
        }
        if (!json_object_is_type(tv, json_type_string)) {
            felt_err_set(err, "bad_type", "type must be a string");
            goto done;
        }
        ts = json_object_get_string(tv);
        tlen = (size_t)json_object_get_string_len(tv);
        for (k = 0; k < PROTO_C_COUNT; k++)
            if (strlen(proto_ctypes[k].name) == tlen &&
                memcmp(proto_ctypes[k].name, ts, tlen) == 0)
                break;
        if (k == PROTO_C_COUNT) {
            felt_err_set(err, "bad_type", "unknown message type");
            goto done;
        }
        if (as_type >= 0 && k != (size_t)as_type) {
            felt_err_set(err, "bad_type", "this endpoint takes a '%s' message",
                         proto_ctypes[as_type].name);
            goto done;
        }
    }
    m->type = (enum proto_ctype)k;
    rc = proto_ctypes[k].decode(root, m, err);
done:
    json_object_put(root);
    if (rc < 0) memset(m, 0, sizeof(*m));
    return rc;
}

int proto_decode_client(const char *buf, size_t len, struct proto_cmsg *m, struct felt_err *err)
{
    return proto_decode_typed(buf, len, -1, m, err);
}

int proto_decode_client_as(const char *buf, size_t len, enum proto_ctype type,
                           struct proto_cmsg *m, struct felt_err *err)
{
    FELT_ASSERT((unsigned)type < PROTO_C_COUNT);
    return proto_decode_typed(buf, len, (int)type, m, err);
}

char *proto_encode_client(const struct proto_cmsg *m)
{
    struct json_object *o;

    FELT_ASSERT((unsigned)m->type < PROTO_C_COUNT);
    o = proto_jnew(json_object_new_object());
    proto_jadd_str(o, "type", proto_ctypes[m->type].name, strlen(proto_ctypes[m->type].name));
    proto_ctypes[m->type].encode(m, o);
    return proto_serialize(o, NULL);
}

/* ---- server messages ---- */

static const struct proto_stype_def {
    const char *name;
    bool event; /* a table event: carries seq */
} proto_stypes[PROTO_S_COUNT] = {
    [PROTO_S_SNAPSHOT] = {"snapshot", true},   [PROTO_S_STATE_UPDATE] = {"state_update", true},
    [PROTO_S_ANIMATION] = {"animation", true}, [PROTO_S_NOTIFICATION] = {"notification", true},
    [PROTO_S_CHAT] = {"chat", true},           [PROTO_S_ACK] = {"ack", false},
    [PROTO_S_ERROR] = {"error", false},        [PROTO_S_PONG] = {"pong", false},
};

const char *proto_stype_name(enum proto_stype t)
{
    return (unsigned)t < PROTO_S_COUNT ? proto_stypes[t].name : "unknown";
}

bool proto_stype_is_event(enum proto_stype t)
{
    return (unsigned)t < PROTO_S_COUNT && proto_stypes[t].event;
}

char *proto_encode_server(enum proto_stype type, uint64_t seq, int64_t timestamp_ms,
                          struct json_object *data, size_t *len_out)
{
    struct json_object *env;

    if (!data) data = proto_jnew(json_object_new_object());
    FELT_ASSERT((unsigned)type < PROTO_S_COUNT);
    FELT_ASSERT(json_object_is_type(data, json_type_object));
    env = proto_jnew(json_object_new_object());
    proto_jadd_str(env, "type", proto_stypes[type].name, strlen(proto_stypes[type].name));
    if (proto_stypes[type].event) {
        FELT_ASSERT(seq <= (uint64_t)PROTO_INT_MAX);
        proto_jadd_int(env, "seq", (int64_t)seq);
    }
    proto_jadd_int(env, "timestamp", timestamp_ms);
    proto_jadd(env, "data", data);
    return proto_serialize(env, len_out);
}

int proto_decode_server(const char *buf, size_t len, struct proto_smsg *m, struct felt_err *err)
{
    struct json_object *root = NULL, *tv, *dv;
    const char *ts;
    size_t tlen, k;
    int64_t seq = 0;
    bool has_ts;
    int rc = -1;

    memset(m, 0, sizeof(*m));
    if (len > INT_MAX) {
        felt_err_set(err, "too_large", "message is larger than %d bytes", INT_MAX);
        goto done;
    }
    root = proto_parse_object(buf, len, PROTO_SERVER_MAX_DEPTH, err);
    if (!root) goto done;
    tv = proto_field(root, "type");
    if (!tv || !json_object_is_type(tv, json_type_string)) {
        felt_err_set(err, "bad_type", "type is required (a string)");
        goto done;
    }
    ts = json_object_get_string(tv);
    tlen = (size_t)json_object_get_string_len(tv);
    for (k = 0; k < PROTO_S_COUNT; k++)
        if (strlen(proto_stypes[k].name) == tlen && memcmp(proto_stypes[k].name, ts, tlen) == 0)
            break;
    if (k == PROTO_S_COUNT) {
        felt_err_set(err, "bad_type", "unknown message type");
        goto done;
    }
    m->type = (enum proto_stype)k;
    if (!proto_stypes[k].event && proto_field(root, "seq")) {
        felt_err_set(err, "bad_field", "seq must be absent on %s", proto_stypes[k].name);
        goto done;
    }
    if (proto_stypes[k].event &&
        proto_get_int(root, "seq", 0, PROTO_INT_MAX, true, &m->has_seq, &seq, err) < 0)
        goto done;
    m->seq = (uint64_t)seq;
    if (proto_get_int(root, "timestamp", 0, PROTO_INT_MAX, true, &has_ts, &m->timestamp, err) < 0)
        goto done;
    dv = proto_field(root, "data");
    if (!dv || !json_object_is_type(dv, json_type_object)) {
        felt_err_set(err, "bad_field", "data must be an object");
        goto done;
    }
    m->data = json_object_get(dv);
    rc = 0;
done:
    json_object_put(root);
    if (rc < 0) memset(m, 0, sizeof(*m));
    return rc;
}

void proto_smsg_clear(struct proto_smsg *m)
{
    json_object_put(m->data);
    m->data = NULL;
}

char *proto_encode_error(const char *code, const char *message, size_t *len_out)
{
    struct json_object *d = proto_jnew(json_object_new_object());

    FELT_ASSERT(code != NULL);
    if (!message) message = "";
    proto_jadd_str(d, "code", code, strlen(code));
    proto_jadd_str(d, "message", message, strlen(message));
    return proto_encode_server(PROTO_S_ERROR, 0, felt_now_ms(), d, len_out);
}

char *proto_encode_ack(const char *request_id, bool accepted, const char *code, const char *message,
                       int64_t hand_id, size_t *len_out)
{
    struct json_object *d = proto_jnew(json_object_new_object());
    const char *status = accepted ? "accepted" : "rejected";

    if (request_id && request_id[0])
        proto_jadd_str(d, "request_id", request_id, strlen(request_id));
    else
        proto_jadd(d, "request_id", NULL);
    proto_jadd_str(d, "status", status, strlen(status));
    if (code) proto_jadd_str(d, "code", code, strlen(code));
    if (message) proto_jadd_str(d, "message", message, strlen(message));
    if (hand_id >= 0)
        proto_jadd_int(d, "hand_id", hand_id);
    else
        proto_jadd(d, "hand_id", NULL);
    return proto_encode_server(PROTO_S_ACK, 0, felt_now_ms(), d, len_out);
}

char *proto_encode_pong(int64_t id, size_t *len_out)
{
    struct json_object *d = proto_jnew(json_object_new_object());

    proto_jadd_int(d, "id", id);
    return proto_encode_server(PROTO_S_PONG, 0, felt_now_ms(), d, len_out);
}

char *proto_encode_seat(bool as_ack, const char *player_id, const char *token, int seat,
                        const char *name, size_t *len_out)
{
    struct json_object *d = proto_jnew(json_object_new_object());
    if (as_ack) {
        proto_jadd_str(d, "request_id", "", 0);
        proto_jadd_str(d, "status", "accepted", 8);
    }
    proto_jadd_str(d, "player_id", player_id, strlen(player_id));
    proto_jadd_str(d, "token", token, strlen(token));
    proto_jadd_int(d, "seat", seat);
    proto_jadd_str(d, "name", name, strlen(name));
    if (as_ack) return proto_encode_server(PROTO_S_ACK, 0, felt_now_ms(), d, len_out);
    return proto_serialize(d, len_out);
}

bool proto_game_id_valid(const char *s, size_t len)
{
    if (!s || len < 1 || len > PROTO_GAME_ID_MAX) return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}
