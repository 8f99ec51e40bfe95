/*
 * wire.h: the server-to-client messages of the felt protocol as typed structs, with the one
 * encoder feltd renders its events with and the one decoder felt, the bot fleet and the tests
 * read them with. docs/protocol.md shows every message; proto.h holds the envelope and the
 * client messages.
 *
 * Encoding: wire_encode() and wire_encode_into() write a struct as the whole message's JSON text
 * (common/jbuf.c, no json-c tree: this is the path every published event takes), with the keys
 * in the order docs/protocol.md shows. It trusts its input (feltd builds it); privacy is decided by
 * whoever fills the struct (render.c), never here. The per-connection replies (ack, error, pong,
 * the join answer) are encoded by proto.c's proto_encode_* and only decoded here.
 *
 * Decoding: wire_decode() checks every field it stores, since a client must not trust a server's
 * shapes: required fields present and of the right type, integers in range (seats
 * 0..ENGINE_MAX_SEATS-1, amounts 0..PROTO_AMOUNT_MAX), strings no longer than their buffers,
 * cards valid and distinct, arrays no longer than what a table can hold. A message that breaks
 * any of these is refused whole ("bad_field", naming the field), so a reader never applies half
 * of one. Unknown extra fields are ignored (a newer server may add some); an unknown
 * state_update event is "unknown_event", and an unknown animation or notification kind decodes
 * as WIRE_ANIM_OTHER / WIRE_NOTE_OTHER with its name, so newer servers stay readable. Strings
 * are copied as sent: sanitizing for a terminal is the reader's job (a test must be able to see
 * what the server really sent).
 */
#ifndef FELT_WIRE_H
#define FELT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "card.h"
#include "engine.h"
#include "proto.h"

struct json_object;
struct felt_err;

#define WIRE_ID_MAX 32     /* bytes of a player id (feltd's are 16 hex characters) */
#define WIRE_WORD_MAX 31   /* bytes of a code, a kind, a reason or a hand category */
#define WIRE_TEXT_MAX 511  /* bytes kept of a reply's free-text message (cut at a code point) */

enum wire_kind {
    WIRE_SNAPSHOT,
    /* state_update, by data.event */
    WIRE_HAND_START,
    WIRE_ACTION,
    WIRE_STREET,
    WIRE_UNCALLED,
    WIRE_SHOWDOWN,
    WIRE_HAND_END,
    WIRE_SEAT,
    WIRE_ANIMATION,
    WIRE_NOTIFICATION,
    WIRE_CHAT,
    /* per-connection replies */
    WIRE_ACK,
    WIRE_ERROR,
    WIRE_PONG,
    WIRE_KIND_COUNT
};

enum wire_status { WIRE_WAITING, WIRE_ACTIVE, WIRE_FOLDED, WIRE_ALL_IN, WIRE_SITTING_OUT };

/* A player: the shared shape of snapshots, hand_start and seat updates. */
struct wire_player {
    char id[WIRE_ID_MAX + 1];
    char name[PROTO_NAME_MAX_BYTES + 1];
    int seat;
    int64_t stack, bet;
    enum wire_status status;
    bool connected, bot;
    int ncards; /* 2 when the cards are known to this reader, else 0 */
    card_t cards[2];
};

/* to_act; present false is JSON null. A replay's to_act (handrec.c) has no player_id, seat or
 * deadline: has_player and has_deadline say which of those the struct carries. "legal", the
 * moves the server accepts now, is derived from call, can_check and can_raise by the encoder
 * (wire_to_act_legal); the decoder stores the list as sent in `legal`. */
struct wire_to_act {
    bool present;
    bool has_player;
    char player_id[WIRE_ID_MAX + 1];
    int seat;
    char name[PROTO_NAME_MAX_BYTES + 1];
    int64_t call;
    bool can_check;
    bool can_raise; /* min_raise_to and max_raise_to are null when false */
    int64_t min_raise_to, max_raise_to;
    bool has_deadline;
    int64_t deadline; /* ms since the epoch */
    int64_t decision; /* the server's number of this decision in the hand (1, 2, ...): an action
                       * carrying it is refused ("stale_decision") once the table has moved on;
                       * 0: not sent (a replay, or a server from before it) */
    unsigned legal;   /* decoded: bit (1u << enum engine_action) per action listed in "legal" */
};

/* The legal moves of t as a bitmask of (1u << enum engine_action): fold always; check when
 * can_check, else call; raise and all_in when can_raise. (The engine also takes a call when
 * checking is free, as a check, and an all_in that raises nothing, as the call.) */
unsigned wire_to_act_legal(const struct wire_to_act *t);

/* A tabled hand's chance to win outright and to tie (split the pot) over every completion of
 * the board ("equity": {player_id: {"win", "tie"}}). Sent rounded to 4 decimals. */
struct wire_equity {
    char player_id[WIRE_ID_MAX + 1];
    double win, tie; /* 0..1 */
};

struct wire_pot {
    int64_t amount;
    int neligible;
    char eligible[ENGINE_MAX_SEATS][WIRE_ID_MAX + 1];
};

struct wire_share {
    char player_id[WIRE_ID_MAX + 1];
    int64_t amount;
};

/* A pot awarded: hand_end's pots, hand_won's pots, the award animation. */
struct wire_award {
    int pot; /* 0 the main pot, then the side pots in order */
    int64_t amount;
    int nwinners;
    struct wire_share winners[ENGINE_MAX_SEATS];
};

struct wire_table {
    char id[PROTO_GAME_ID_MAX + 1];
    int seats;
    int64_t small_blind, big_blind, ante, buy_in, action_timeout_ms;
    bool spectator_chat;
};

#define WIRE_VOIDED_MAX 8

struct wire_snapshot {
    char epoch[PROTO_EPOCH_MAX + 1]; /* the server run's id ("" from a server without one) */
    struct wire_table table;
    bool hand_running;
    int button; /* -1: null (before the first hand) */
    int street; /* enum engine_street, -1: null (between hands) */
    int nboard;
    card_t board[5];
    int npots;
    struct wire_pot pots[ENGINE_MAX_POTS];
    int nplayers;
    struct wire_player players[ENGINE_MAX_SEATS];
    bool has_you; /* false: "you" is null (a spectator) */
    struct {
        char player_id[WIRE_ID_MAX + 1];
        char name[PROTO_NAME_MAX_BYTES + 1];
        int seat;
        bool sitting_out;
    } you;
    int spectators;
    /* Hands at this table that the server voided when it restarted during them (their chips
     * went back to their owners), newest last; "voided_hands", omitted when there are none. */
    int nvoided;
    int64_t voided[WIRE_VOIDED_MAX];
};

enum wire_post_kind { WIRE_POST_ANTE, WIRE_POST_SMALL_BLIND, WIRE_POST_BIG_BLIND };

struct wire_hand_start {
    int button, small_blind_seat, big_blind_seat;
    int nposts;
    struct {
        char player_id[WIRE_ID_MAX + 1];
        enum wire_post_kind kind;
        int64_t amount;
    } posts[2 * ENGINE_MAX_SEATS];
    int nplayers;
    struct wire_player players[ENGINE_MAX_SEATS];
    int npots;
    struct wire_pot pots[ENGINE_MAX_POTS];
};

struct wire_stacks {
    int n;
    struct wire_share s[ENGINE_MAX_SEATS]; /* amount is the stack */
};

struct wire_action {
    char player_id[WIRE_ID_MAX + 1];
    int seat;
    enum engine_action action; /* fold, check, call or raise: what the move amounted to */
    int64_t amount, to;
    bool all_in;
    struct wire_stacks stacks;
    int npots;
    struct wire_pot pots[ENGINE_MAX_POTS];
};

struct wire_street {
    enum engine_street street;
    int ncards;
    card_t cards[5];
    int npots;
    struct wire_pot pots[ENGINE_MAX_POTS];
};

struct wire_uncalled {
    char player_id[WIRE_ID_MAX + 1];
    int64_t amount;
    struct wire_stacks stacks;
};

struct wire_showdown {
    int nshows;
    struct {
        char player_id[WIRE_ID_MAX + 1];
        card_t cards[2];
        char hand[WIRE_WORD_MAX + 1]; /* eval category name; "" is null */
    } shows[ENGINE_MAX_SEATS];
    int nmucks;
    char mucks[ENGINE_MAX_SEATS][WIRE_ID_MAX + 1];
};

struct wire_hand_end {
    int nawards;
    struct wire_award awards[ENGINE_MAX_POTS];
    struct wire_stacks stacks;
};

enum wire_seat_change {
    WIRE_SEAT_JOINED,
    WIRE_SEAT_LEFT,
    WIRE_SEAT_LEAVING,
    WIRE_SEAT_SAT_OUT,
    WIRE_SEAT_SAT_IN,
    WIRE_SEAT_BUSTED,
    WIRE_SEAT_REBUY
};

struct wire_seat {
    enum wire_seat_change change;
    struct wire_player player;
};

enum wire_anim_kind {
    WIRE_ANIM_DEAL,         /* players */
    WIRE_ANIM_CHIPS_TO_POT, /* player_id, amount */
    WIRE_ANIM_DEAL_BOARD,   /* street, cards */
    WIRE_ANIM_REVEAL,       /* player_id, cards */
    WIRE_ANIM_AWARD,        /* award */
    WIRE_ANIM_OTHER         /* decoded only: a kind this build does not know (name) */
};

struct wire_animation {
    enum wire_anim_kind kind;
    char name[WIRE_WORD_MAX + 1]; /* the kind as sent */
    char player_id[WIRE_ID_MAX + 1];
    int64_t amount;
    enum engine_street street;
    int ncards;
    card_t cards[5];
    int nplayers;
    char players[ENGINE_MAX_SEATS][WIRE_ID_MAX + 1];
    struct wire_award award;
};

enum wire_note_kind {
    WIRE_NOTE_TURN,                /* deadline */
    WIRE_NOTE_YOUR_TURN,           /* deadline */
    WIRE_NOTE_TIMER_WARNING,       /* seconds_left, deadline */
    WIRE_NOTE_TIMEOUT,
    WIRE_NOTE_PLAYER_JOINED,
    WIRE_NOTE_PLAYER_LEFT,         /* reason, stack */
    WIRE_NOTE_PLAYER_SAT_OUT,
    WIRE_NOTE_PLAYER_SAT_IN,
    WIRE_NOTE_BUSTED,
    WIRE_NOTE_PLAYER_CONNECTED,
    WIRE_NOTE_PLAYER_DISCONNECTED,
    WIRE_NOTE_HAND_WON,            /* pots (no player) */
    WIRE_NOTE_SPECTATORS,          /* count (no player) */
    WIRE_NOTE_HAND_VOIDED,         /* hand_id (no player): the server restarted during it */
    WIRE_NOTE_OTHER                /* decoded only: a kind this build does not know (name) */
};

struct wire_notification {
    enum wire_note_kind kind;
    char name[WIRE_WORD_MAX + 1]; /* the kind as sent */
    bool has_player;              /* player_id and player_name are given */
    char player_id[WIRE_ID_MAX + 1];
    char player_name[PROTO_NAME_MAX_BYTES + 1];
    int64_t deadline, seconds_left, stack, count, hand_id;
    char reason[WIRE_WORD_MAX + 1];
    int nawards;
    struct wire_award awards[ENGINE_MAX_POTS];
};

struct wire_chat {
    bool has_player; /* false: player_id null (a spectator, or an expired placeholder) */
    char player_id[WIRE_ID_MAX + 1];
    char name[PROTO_NAME_MAX_BYTES + 1];
    bool spectator;
    bool expired; /* a placeholder for a chat the server no longer keeps: skip it */
    char text[PROTO_CHAT_MAX_BYTES + 1];
};

struct wire_ack {
    bool has_request_id; /* false: null */
    char request_id[PROTO_REQUEST_ID_MAX + 1];
    bool accepted;
    char code[WIRE_WORD_MAX + 1];    /* "" when absent */
    char message[WIRE_TEXT_MAX + 1]; /* "" when absent */
    bool has_hand_id;
    int64_t hand_id;
    bool has_seat; /* the ack of a join: the seat it gave */
    char player_id[WIRE_ID_MAX + 1];
    char token[PROTO_TOKEN_MAX + 1];
    int seat;
    char name[PROTO_NAME_MAX_BYTES + 1];
};

struct wire_error {
    char code[WIRE_WORD_MAX + 1];
    char message[WIRE_TEXT_MAX + 1];
};

struct wire_event {
    enum wire_kind kind;
    bool has_seq; /* game events carry a seq; replies do not */
    uint64_t seq;
    int64_t timestamp;
    int64_t hand_id;           /* snapshot and state_update */
    struct wire_to_act to_act; /* snapshot and state_update */
    /* snapshot and state_update: the equity of the hands tabled (shown to everyone) when two or
     * more are and the board is still to come or just completed; "equity", omitted when 0. */
    int nequity;
    struct wire_equity equity[ENGINE_MAX_SEATS];
    union {
        struct wire_snapshot snapshot;
        struct wire_hand_start hand_start;
        struct wire_action action;
        struct wire_street street;
        struct wire_uncalled uncalled;
        struct wire_showdown showdown;
        struct wire_hand_end hand_end;
        struct wire_seat seat;
        struct wire_animation animation;
        struct wire_notification note;
        struct wire_chat chat;
        struct wire_ack ack;
        struct wire_error error;
        int64_t pong_id;
    } u;
};

/* The envelope type of a kind (PROTO_S_STATE_UPDATE for the seven updates). */
enum proto_stype wire_stype(enum wire_kind k);
/* Names as on the wire: the update's "event", the animation's and notification's "kind". */
const char *wire_kind_name(enum wire_kind k);
const char *wire_status_name(enum wire_status s);
const char *wire_seat_change_name(enum wire_seat_change c);
const char *wire_anim_name(enum wire_anim_kind k);
const char *wire_note_name(enum wire_note_kind k);

/* Zeroes ev and sets kind, with every "none" value that is not zero set (seats -1, streets
 * -1): start here when filling one to encode. */
void wire_init(struct wire_event *ev, enum wire_kind kind);

/* The whole message of a game event (snapshot, the updates, animation, notification, chat;
 * fatal for the replies, which proto_encode_* builds): the envelope (type, seq for the event
 * types, timestamp_ms) around its data, as proto_encode_server would write it. Written as text
 * in one buffer (common/jbuf.c), with `head` bytes reserved in front for the caller: the
 * malloc'd result holds them, then the text (NUL-terminated), its length in *len_out if
 * non-NULL. */
char *wire_encode_into(const struct wire_event *ev, uint64_t seq, int64_t timestamp_ms,
                       size_t head, size_t *len_out);
/* The same with no head: a malloc'd string. */
char *wire_encode(const struct wire_event *ev, uint64_t seq, int64_t timestamp_ms,
                  size_t *len_out);
/* The "data" object alone as a json-c tree (the text above parsed back; not for hot paths).
 * The caller owns the result. */
struct json_object *wire_encode_data(const struct wire_event *ev);
/* to_act alone (NULL when not present), for the replay output of handrec.c. */
struct json_object *wire_encode_to_act(const struct wire_to_act *t);

/* Decodes a message whose envelope proto_decode_server accepted. Returns 0, or -1 with err
 * ("bad_field", "unknown_event"); ev is fully overwritten either way. */
int wire_decode(const struct proto_smsg *m, struct wire_event *ev, struct felt_err *err);
/* Envelope and data in one step: proto_decode_server's codes, then wire_decode's. */
int wire_decode_text(const char *buf, size_t len, struct wire_event *ev, struct felt_err *err);

#endif
