/*
 * proto.h: the felt wire protocol, version 1 (sub-protocol "felt.v1"), and its codec.
 *
 * Bump PROTO_VERSION and the sub-protocol name if a message shape changes incompatibly;
 * docs/protocol.md documents every message. Client messages are decoded strictly: unknown type,
 * missing or wrong-typed fields, negative or absurd numbers, over-long strings and invalid UTF-8
 * are rejected with a code and a reason. Server messages all share one envelope:
 *   {"type": T, "seq": N, "timestamp": MS, "data": {...}}
 * where seq is present only on game events (snapshot, state_update, animation, notification,
 * chat) and absent on per-connection replies (ack, error, pong).
 *
 * The codec knows nothing of sockets; it is used by feltd, felt, the benchmark and the tests.
 */
#ifndef FELT_PROTO_H
#define FELT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

struct json_object;
struct felt_err;

#define PROTO_VERSION 1
#define PROTO_SUBPROTOCOL "felt.v1"

#define PROTO_MAX_FRAME 16384       /* bytes of one client message; larger frames close 1009 */
#define PROTO_TOKEN_MAX 128         /* bytes */
#define PROTO_REQUEST_ID_MAX 64     /* bytes, printable ASCII */
#define PROTO_CHAT_MAX_CHARS 280    /* code points, after sanitizing */
#define PROTO_CHAT_MAX_BYTES (PROTO_CHAT_MAX_CHARS * 4)
#define PROTO_NAME_MAX_CHARS 24     /* code points, after sanitizing */
#define PROTO_NAME_MAX_BYTES (PROTO_NAME_MAX_CHARS * 4)
#define PROTO_GAME_ID_MAX 32        /* bytes, [A-Za-z0-9_-] */
#define PROTO_AMOUNT_MAX 1000000000000LL /* no amount, stack or buy-in may exceed this */

/* Client-to-server message types; the order is the dispatch-table index. */
enum proto_ctype {
    PROTO_C_HELLO,
    PROTO_C_JOIN,
    PROTO_C_ACTION,
    PROTO_C_CHAT,
    PROTO_C_SIT_OUT,
    PROTO_C_SIT_IN,
    PROTO_C_LEAVE,
    PROTO_C_PING,
    PROTO_C_COUNT
};

struct proto_cmsg {
    enum proto_ctype type;
    /* hello */
    char token[PROTO_TOKEN_MAX + 1];
    bool has_last_seq;
    uint64_t last_seq;
    /* join (also the HTTP join body) */
    char name[PROTO_NAME_MAX_BYTES + 1]; /* sanitized, 1..PROTO_NAME_MAX_CHARS code points */
    int64_t buy_in;                      /* 0 when absent: the table's default */
    /* action */
    enum engine_action action;
    bool has_amount;
    int64_t amount;                      /* "raise to" */
    char request_id[PROTO_REQUEST_ID_MAX + 1]; /* "" when absent */
    bool has_hand_id;
    int64_t hand_id;
    /* chat */
    char text[PROTO_CHAT_MAX_BYTES + 1]; /* sanitized, 1..PROTO_CHAT_MAX_CHARS code points */
    /* ping */
    int64_t ping_id;
};

/* Decodes one client message. Returns 0, or -1 with err: "bad_json", "bad_type" (missing or
 * unknown type), "bad_field" (missing/wrong type/out of range, message names the field),
 * "too_long", "invalid_utf8", "too_large" (len > PROTO_MAX_FRAME). */
int proto_decode_client(const char *buf, size_t len, struct proto_cmsg *m, struct felt_err *err);

/* Encodes a client message (for felt, the bench and the tests). Returns a malloc'd string. */
char *proto_encode_client(const struct proto_cmsg *m);

const char *proto_ctype_name(enum proto_ctype t); /* "hello", "join", ... */

/* Server-to-client message types. */
enum proto_stype {
    PROTO_S_SNAPSHOT,
    PROTO_S_STATE_UPDATE,
    PROTO_S_ANIMATION,
    PROTO_S_NOTIFICATION,
    PROTO_S_CHAT,
    PROTO_S_ACK,
    PROTO_S_ERROR,
    PROTO_S_PONG,
    PROTO_S_COUNT
};

const char *proto_stype_name(enum proto_stype t); /* "snapshot", "state_update", ... */
bool proto_stype_is_event(enum proto_stype t);    /* true for the five that carry seq */

/* Builds the envelope around data (reference taken: the envelope owns it) and serializes it.
 * seq is written only for event types. Returns a malloc'd, NUL-terminated string and its length
 * in *len_out (if non-NULL). */
char *proto_encode_server(enum proto_stype type, uint64_t seq, int64_t timestamp_ms,
                          struct json_object *data, size_t *len_out);

/* A decoded server message (client side). data is owned by the struct: proto_smsg_clear(). */
struct proto_smsg {
    enum proto_stype type;
    bool has_seq;
    uint64_t seq;
    int64_t timestamp;
    struct json_object *data;
};
int proto_decode_server(const char *buf, size_t len, struct proto_smsg *m, struct felt_err *err);
void proto_smsg_clear(struct proto_smsg *m);

/* Convenience builders for the per-connection replies. */
char *proto_encode_error(const char *code, const char *message, size_t *len_out);
char *proto_encode_ack(const char *request_id, bool accepted, const char *code,
                       const char *message, int64_t hand_id, size_t *len_out);
char *proto_encode_pong(int64_t id, size_t *len_out);

/* Game ids: 1..PROTO_GAME_ID_MAX bytes of [A-Za-z0-9_-]. */
bool proto_game_id_valid(const char *s, size_t len);

#endif
