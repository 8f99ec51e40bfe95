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
 *
 * Client messages (one JSON object per text frame; "?" marks an optional field; an optional
 * field given as JSON null counts as absent; unknown extra fields are ignored, so a newer
 * client can add fields without breaking an older server):
 *   {"type": "hello",   "token": STR(1..128 bytes printable ASCII), "last_seq"?: INT(>= 0),
 *                       "epoch"?: STR(1..32 bytes printable ASCII: the snapshot's epoch)}
 *   {"type": "join",    "name": STR(1..24 code points after sanitizing),
 *                       "buy_in"?: INT(1..PROTO_AMOUNT_MAX),
 *                       "token"?: STR(as hello's: the token of a seat left at this table, so
 *                       the player sits down again with the chips they left with)}
 *   {"type": "action",  "action": "fold"|"check"|"call"|"raise"|"all_in",
 *                       "amount"?: INT(0..PROTO_AMOUNT_MAX, "raise to"; required for raise),
 *                       "request_id"?: STR(1..64 bytes printable ASCII), "hand_id"?: INT(>= 0),
 *                       "decision"?: INT(>= 1: the to_act.decision this action answers)}
 *   {"type": "chat",    "text": STR(1..280 code points after sanitizing)}
 *   {"type": "sit_out"}  {"type": "sit_in"}  {"type": "leave"}
 *   {"type": "ping",    "id"?: INT}
 * INT is a JSON integer literal within PROTO_INT_MIN..PROTO_INT_MAX (and the range shown):
 * 1.5, 1e3, 1.0, true and "7" are all "bad_field". The whole frame must be valid UTF-8 with no
 * NUL byte and no unpaired \uD800..\uDFFF escape ("invalid_utf8"), nest at most
 * PROTO_MAX_DEPTH levels and carry nothing after the object ("bad_json").
 *
 * Per-connection replies built here (no seq):
 *   error: "data": {"code": STR, "message": STR}
 *   ack:   "data": {"request_id": STR|null, "status": "accepted"|"rejected",
 *                   "code"?: STR, "message"?: STR, "hand_id": INT|null}
 *          (request_id null when the action carried none; code/message present when given,
 *          normally on rejection; hand_id null when no hand was in progress)
 *   pong:  "data": {"id": INT} (the ping's id, 0 when it had none)
 * The data of the game events (snapshot, state_update, animation, notification, chat) is built
 * by feltd and documented in docs/protocol.md.
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
/* felt.v1's messages, several to a frame: a text frame carries one or more messages, each one
 * JSON object, separated by a newline ('\n'; JSON text as we write it never holds a raw
 * newline). The server sends what is due to a connection in one frame, so one action reaches
 * each client in one write; the client sends one message per frame as in felt.v1. */
#define PROTO_SUBPROTOCOL_BATCH "felt.v2"

#define PROTO_MAX_FRAME 16384       /* bytes of one client message; larger frames close 1009 */
#define PROTO_TOKEN_MAX 128         /* bytes */
#define PROTO_REQUEST_ID_MAX 64     /* bytes, printable ASCII */
#define PROTO_CHAT_MAX_CHARS 280    /* code points, after sanitizing */
#define PROTO_CHAT_MAX_BYTES (PROTO_CHAT_MAX_CHARS * 4)
#define PROTO_NAME_MAX_CHARS 24     /* code points, after sanitizing */
#define PROTO_NAME_MAX_BYTES (PROTO_NAME_MAX_CHARS * 4)
#define PROTO_GAME_ID_MAX 32        /* bytes, [A-Za-z0-9_-] */
#define PROTO_EPOCH_MAX 32          /* bytes of a server run's epoch (feltd's are 32 hex) */
#define PROTO_AMOUNT_MAX 1000000000000LL /* no amount, stack or buy-in may exceed this */
#define PROTO_MAX_DEPTH 16          /* JSON nesting levels accepted in a client message */
/* The widest integers any field accepts. json-c saturates literals beyond int64 to INT64_MAX /
 * INT64_MIN, so those two values are indistinguishable from overflow and always rejected. */
#define PROTO_INT_MAX (INT64_MAX - 1)
#define PROTO_INT_MIN (INT64_MIN + 1)

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
    /* hello; join's optional token ("" when absent) */
    char token[PROTO_TOKEN_MAX + 1];
    bool has_last_seq;
    uint64_t last_seq;
    char epoch[PROTO_EPOCH_MAX + 1];     /* "" when absent */
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
    bool has_decision;
    int64_t decision;                    /* to_act.decision answered (>= 1) */
    /* chat */
    char text[PROTO_CHAT_MAX_BYTES + 1]; /* sanitized, 1..PROTO_CHAT_MAX_CHARS code points */
    /* ping */
    bool has_ping_id;
    int64_t ping_id;                     /* 0 when absent */
};

/* Decodes one client message. Returns 0, or -1 with err: "bad_json", "bad_type" (missing or
 * unknown type), "bad_field" (missing/wrong type/out of range, message names the field),
 * "too_long", "invalid_utf8", "too_large" (len > PROTO_MAX_FRAME), and for a join's name
 * "bad_name" (no letter or digit) or "reserved_name" (text_name_check). buf need not be
 * NUL-terminated. m is fully overwritten; on failure it is all zero. A name or chat text that
 * sanitizes to nothing is "bad_field"; one over its limit is "too_long". */
int proto_decode_client(const char *buf, size_t len, struct proto_cmsg *m, struct felt_err *err);
/* The same decoder for a message whose type is known from elsewhere (an HTTP endpoint's path):
 * "type" may be absent; when present it must be `type` ("bad_type" otherwise). Exactly as strict
 * as proto_decode_client otherwise. */
int proto_decode_client_as(const char *buf, size_t len, enum proto_ctype type,
                           struct proto_cmsg *m, struct felt_err *err);

/* Encodes a client message (for felt, the bench and the tests). Returns a malloc'd string.
 * Writes only the fields of m->type, and the optional ones only when present (has_* set,
 * request_id non-empty, buy_in non-zero). It does not validate: what it is given it encodes, so
 * tests can build bad messages too. Strings are read up to their array size even without NUL. */
char *proto_encode_client(const struct proto_cmsg *m);

const char *proto_ctype_name(enum proto_ctype t); /* "hello", "join", ...; "unknown" if invalid */

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

const char *proto_stype_name(enum proto_stype t); /* "snapshot", "state_update", ...; "unknown" */
bool proto_stype_is_event(enum proto_stype t);    /* true for the five that carry seq */

/* Builds the envelope around data (reference taken: the envelope owns it) and serializes it.
 * seq is written only for event types. Returns a malloc'd, NUL-terminated string and its length
 * in *len_out (if non-NULL). Compact JSON, keys in the order type, seq, timestamp, data.
 * data NULL means {}; data must be a JSON object, and seq at most PROTO_INT_MAX (fatal
 * otherwise: caller bugs). */
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
/* Validates the envelope: known type ("bad_type"), seq an integer >= 0 present exactly on event
 * types, timestamp an integer >= 0, data an object (else "bad_field"); the frame must be valid
 * UTF-8 ("invalid_utf8") JSON nesting at most 32 levels ("bad_json"); len > INT_MAX is
 * "too_large". The contents of data are not checked. m is overwritten without being cleared
 * first (call proto_smsg_clear before reusing one that holds data); on failure m->data is NULL. */
int proto_decode_server(const char *buf, size_t len, struct proto_smsg *m, struct felt_err *err);
void proto_smsg_clear(struct proto_smsg *m); /* releases data; safe on a zeroed or cleared m */

/* Convenience builders for the per-connection replies (shapes above), stamped with
 * felt_now_ms(). Return a malloc'd string, its length in *len_out if non-NULL. NULL message or
 * code in ack means the field is left out; NULL or "" request_id is null; hand_id < 0 is null.
 * proto_encode_error: code must not be NULL; a NULL message is "". */
char *proto_encode_error(const char *code, const char *message, size_t *len_out);
char *proto_encode_ack(const char *request_id, bool accepted, const char *code,
                       const char *message, int64_t hand_id, size_t *len_out);
char *proto_encode_pong(int64_t id, size_t *len_out);
/* The seat a join gave: {"player_id","token","seat","name"}, the answer to POST .../join; with
 * as_ack, the data of an accepted ack (request_id "", status "accepted"), the answer to a join on
 * a spectator's socket. The token goes to its owner only: callers send this to the joiner. */
char *proto_encode_seat(bool as_ack, const char *player_id, const char *token, int seat,
                        const char *name, size_t *len_out);

/* Game ids: 1..PROTO_GAME_ID_MAX bytes of [A-Za-z0-9_-]. */
bool proto_game_id_valid(const char *s, size_t len);

#endif
