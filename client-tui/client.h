/*
 * client.h: felt's one internal header, organised by file like a table of contents.
 *
 * The layers, from the wire inwards:
 *   felt.c     the entry point: command line, then the TUI (tui_run) or the bot mode
 *              (jsonmode_run), or `felt replay` (replay_main).
 *   session.c  one seat (or one spectator view) at one table: join or resume with a stored
 *              token, the connection and its state, ping/pong round-trip time, the bounded
 *              outgoing queue that survives reconnects, refusals. Owns the model.
 *   outbox.c   the bounded queue of what the user typed and the server has not confirmed, and
 *              its encoding (the same on every transport).
 *   poll.c     the HTTP polling transport (GET state?since=), used by session.c when the
 *              WebSocket cannot be used (--transport poll, or auto after an upgrade failure).
 *   token.c    the token store under $XDG_STATE_HOME/felt/, so a restarted felt keeps its seat.
 *   model.c    the table as this client knows it, built only from server messages
 *              (model_apply), plus the hand log, the chat list and the all-in equity.
 *   jsonmode.c --json mode: server messages out as JSON lines, commands in from stdin.
 *   tui*.c, layout*.c   the ncurses table (another engineer's files; entry point tui_run).
 *   replay.c   `felt replay` (entry point replay_main, in replay.h).
 *
 * Threading: none. Everything runs on the one wsloop (wsclient/wsclient.h); callbacks into the UI
 * come from inside wsloop_run(). Nothing here includes libwebsockets.h.
 *
 * Text safety: every string in the model that came from the network (names, chat, log lines
 * built from them, server error messages) has been through text_sanitize() before it is stored,
 * so a UI may draw model strings as they are.
 */
#ifndef FELT_CLIENT_H
#define FELT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "card.h"
#include "engine.h"
#include "equity.h"
#include "eval.h"
#include "proto.h"
#include "util.h"

struct wsloop;
struct proto_smsg;
struct session;

/* ---- model.c ---------------------------------------------------------------------------- */

#define MODEL_MAX_SEATS ENGINE_MAX_SEATS
#define MODEL_MAX_POTS ENGINE_MAX_POTS
#define MODEL_ID_MAX 32 /* bytes of a player id (feltd uses 16 hex) */
#define MODEL_NAME_MAX (PROTO_NAME_MAX_BYTES + 1)
#define MODEL_LOG_MAX 256  /* hand log lines kept (oldest dropped) */
#define MODEL_LOG_LINE 200 /* bytes per log line, NUL included */
#define MODEL_CHAT_MAX 128 /* chat lines kept (oldest dropped) */
#define MODEL_CHAT_TEXT (PROTO_CHAT_MAX_BYTES + 1)

/* A seat's status as the server reports it ("waiting" between hands or before the first). */
enum model_status {
    MODEL_WAITING,
    MODEL_ACTIVE,
    MODEL_FOLDED,
    MODEL_ALL_IN,
    MODEL_SITTING_OUT,
};

struct model_player {
    bool present; /* false: the seat is empty (every other field is zero) */
    char id[MODEL_ID_MAX + 1];
    char name[MODEL_NAME_MAX];
    int seat;
    int64_t stack; /* chips behind */
    int64_t bet;   /* chips in front of the seat this betting round */
    enum model_status status;
    bool leaving; /* asked to leave: cashes out after the hand */
    bool sits_out; /* sat out (or busted) during the hand: sitting out once it ends */
    bool connected;
    bool bot;
    bool in_hand;    /* dealt into the current hand */
    int ncards;      /* 0 or 2: hole cards this client may see */
    card_t cards[2]; /* own cards, or cards shown at showdown */
    bool shown;      /* cards were shown (public), not just our own */
    char hand[EVAL_DESCRIBE_MAX]; /* a shown hand named with its ranks ("two pair, Nines and
                                   * Fours", eval_describe), "" if none */
    int64_t won;     /* chips won in the last finished hand (0 when none) */
    bool has_equity; /* the server sent this hand's equity (see model_equity_read) */
    double equity;   /* chance 0..1 to win outright, as the server counted it */
    double tie;      /* chance 0..1 to split the pot */
    double equity_tabled, tie_tabled; /* the same when the hands were tabled (kept after the end) */
};

/* The player to act and their legal options; active false between hands or during a run-out. */
struct model_to_act {
    bool active;
    char player_id[MODEL_ID_MAX + 1];
    int seat;
    int64_t call; /* chips a call puts in now (0: check) */
    bool can_check;
    bool can_raise;       /* false: min/max below are meaningless ("none") */
    int64_t min_raise_to; /* "raise to" totals, as in the protocol */
    int64_t max_raise_to; /* the all-in total */
    int64_t deadline;     /* ms since the epoch (compare with felt_now_ms()) */
    int64_t decision;     /* the server's number of this decision (0: not sent) */
};

struct model_table {
    char id[PROTO_GAME_ID_MAX + 1];
    int seats;
    int64_t small_blind, big_blind, ante, buy_in;
    int64_t action_timeout_ms;
    bool spectator_chat;
};

struct model_pot {
    int64_t amount;
    uint16_t eligible; /* bitmask of seats that can win it */
};

/* One pot awarded at the end of the last hand (kept until the next hand starts). */
struct model_award {
    int pot; /* 0 main pot, 1.. side pots */
    int64_t amount;
    uint16_t winners; /* bitmask of seats */
    int64_t share[MODEL_MAX_SEATS];
};

enum model_log_kind {
    MODEL_LOG_HAND,   /* "Hand #12", blinds posted */
    MODEL_LOG_ACTION, /* "ann raises to 300" */
    MODEL_LOG_BOARD,  /* "Flop: Ah Kd 2c" */
    MODEL_LOG_RESULT, /* shows, "bob wins 450" */
    MODEL_LOG_TABLE,  /* joins, leaves, sitting out, (dis)connections */
    MODEL_LOG_CLIENT, /* client-side lines: refusals, errors, connection news */
};

struct model_log_line {
    enum model_log_kind kind;
    int64_t hand_id; /* hand it belongs to, 0 when none */
    char text[MODEL_LOG_LINE];
};

struct model_chat {
    char name[MODEL_NAME_MAX];
    char text[MODEL_CHAT_TEXT];
    bool spectator;
    bool own;          /* sent by this client's player */
    int64_t timestamp; /* server time, ms since the epoch */
};

/* The last animation the server asked for (the TUI plays it without delaying input). */
enum model_anim_kind {
    MODEL_ANIM_NONE,
    MODEL_ANIM_DEAL,         /* seats: the players dealt in */
    MODEL_ANIM_CHIPS_TO_POT, /* seat, amount */
    MODEL_ANIM_DEAL_BOARD,   /* cards/ncards: the new board cards */
    MODEL_ANIM_REVEAL,       /* seat, cards */
    MODEL_ANIM_AWARD,        /* pot, amount, seats (winners) */
};

struct model_anim {
    enum model_anim_kind kind;
    uint64_t serial; /* increases with every animation received */
    int seat;        /* -1 when not about one seat */
    uint16_t seats;
    int64_t amount;
    int pot;
    card_t cards[5];
    int ncards;
};

struct model {
    struct model_table table;
    bool have_snapshot; /* false until the first snapshot: nothing else is valid */
    int64_t hand_id;    /* current or last hand, 0 before the first */
    bool hand_running;
    int button, sb_seat, bb_seat; /* -1 when unknown */
    int street;                   /* enum engine_street, or -1 between hands */
    card_t board[5];
    int nboard;
    struct model_pot pots[MODEL_MAX_POTS];
    int npots;
    struct model_award awards[MODEL_MAX_POTS];
    int nawards;                                  /* pots of the last finished hand */
    struct model_player players[MODEL_MAX_SEATS]; /* indexed by seat */
    struct model_to_act to_act;

    /* This client: me_id is set by the session (join/token) and by the snapshot's "you". */
    char me_id[MODEL_ID_MAX + 1]; /* "" for a spectator */
    int me_seat;                  /* -1 when not seated */
    bool me_sitting_out;
    uint64_t your_turn_serial; /* increases with every your_turn notification (the bell) */

    int spectators;
    bool has_seq;
    uint64_t last_seq; /* seq of the last event applied: hello's last_seq */
    char epoch[PROTO_EPOCH_MAX + 1]; /* the server run last_seq belongs to: hello's epoch */
    bool equity_shown; /* some player has_equity */
    uint64_t version; /* increases with every change (cheap "redraw?" check) */
    struct model_anim anim;

    /* Rings: entry i (0 oldest) is at (head + i) % MAX. */
    struct model_log_line log[MODEL_LOG_MAX];
    int log_head, log_count;
    struct model_chat chat[MODEL_CHAT_MAX];
    int chat_head, chat_count;
};

/* What model_apply made of a message. */
enum model_result {
    MODEL_APPLIED,     /* applied (replies change nothing: the session reports them) */
    MODEL_OLD,         /* an event with seq <= last_seq: already applied, ignored */
    MODEL_GAP,         /* an event after a gap in seq: not applied; resync needed */
    MODEL_NO_SNAPSHOT, /* an event before the first snapshot: ignored */
};

void model_init(struct model *m);
/* Sets this client's own player id (after a join or from the token store). */
void model_set_me(struct model *m, const char *player_id);

/* Applies one decoded server message of any type (dispatch by type through a const table).
 * Missing or wrong-typed fields in data are skipped, never trusted: no message can crash the
 * client or break the model's invariants (seats in range, ncards 0 or 2, bounded strings).
 * Takes the all-in equity from the updates that carry it (the server counts it). */
enum model_result model_apply(struct model *m, const struct proto_smsg *msg);

/* Forgets the seq so that the next snapshot is taken whatever its seq (after a rejoin). */
void model_reset_seq(struct model *m);


/* Lookups: NULL when absent. */
const struct model_player *model_player_by_id(const struct model *m, const char *id);
const struct model_player *model_me(const struct model *m);
/* True when the player to act is this client. */
bool model_my_turn(const struct model *m);
/* Sum of the pots plus the bets in front of the seats (what the centre shows as "pot"). */
int64_t model_pot_total(const struct model *m);

/* The i-th log line / chat entry, 0 the oldest; NULL when out of range. */
const struct model_log_line *model_log_get(const struct model *m, int i);
const struct model_chat *model_chat_get(const struct model *m, int i);
/* Adds a client-side line to the log (sanitized; truncated to MODEL_LOG_LINE at a code point). */
void model_log_add(struct model *m, enum model_log_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

const char *model_status_name(enum model_status s); /* "active", "folded", "all_in", ... */

/* ---- token.c ---------------------------------------------------------------------------- */

/* What the token store keeps per server + game + name: enough to say hello again. */
struct token_record {
    char player_id[MODEL_ID_MAX + 1];
    char token[PROTO_TOKEN_MAX + 1];
    /* The seat joined, or -1 once the seat was given up: the session saves -1 when the server
     * confirms our leave or closes the seat's socket for a leave or a stand-up (1000), so that
     * a later start told "invalid token" can say the player left rather than that the server
     * forgot the seat. */
    int seat;
};

/* The directory: $XDG_STATE_HOME/felt, else $HOME/.local/state/felt. Returns 0 or -1 (no
 * HOME). */
int token_dir(char *out, size_t outsz, struct felt_err *err);
/* The file for one server URL + game + name (each component escaped to [A-Za-z0-9._-]). */
int token_path(const char *server, const char *game, const char *name, char *out, size_t outsz,
               struct felt_err *err);
/* Returns 1 and fills rec when a valid record exists, 0 when none, -1 with err when the file
 * exists but cannot be read or is malformed (callers then join afresh). */
int token_load(const char *server, const char *game, const char *name, struct token_record *rec,
               struct felt_err *err);
/* Writes atomically (temporary file + rename), file mode 0600, creating the directories with
 * mode 0700. Returns 0 or -1 with err. */
int token_save(const char *server, const char *game, const char *name,
               const struct token_record *rec, struct felt_err *err);
/* Removes the record (a missing file is not an error). Returns 0 or -1. */
int token_remove(const char *server, const char *game, const char *name, struct felt_err *err);
/* Days after which a server's tokens are forgotten (felt prunes at startup). */
#define TOKEN_PRUNE_DAYS 30
/* Forgets servers not seen for `days`: removes every token file (and leftover temporary file)
 * of each server whose newest file is older than now_s (seconds since the epoch) - days
 * (token_load marks a file seen by setting its mtime). keep_server's files are never removed;
 * nor is anything that is not a regular file named like ours. Sets *removed (if non-NULL).
 * Returns 0 (also when the directory does not exist) or -1 with err. */
int token_prune(const char *keep_server, int64_t now_s, int days, int *removed,
                struct felt_err *err);

/* ---- outbox.c --------------------------------------------------------------------------- */

#define OUTBOX_MAX 32 /* outgoing actions/chat kept while offline or unconfirmed */

/* One outgoing message. An action's request_id and hand_id are fixed when it is typed
 * (session_act / session_send), so a resend after a reconnect is applied at most once by the
 * server and refused if its hand is over. */
struct outbox_item {
    enum proto_ctype type; /* ACTION, CHAT, SIT_OUT, SIT_IN, LEAVE */
    enum engine_action action;
    bool has_amount;
    int64_t amount;
    char request_id[PROTO_REQUEST_ID_MAX + 1];
    bool has_hand_id;
    int64_t hand_id;
    bool has_decision; /* the to_act.decision it answers: refused, not applied, once past */
    int64_t decision;
    char text[PROTO_CHAT_MAX_BYTES + 1];
    bool sent; /* written at least once on the current connection */
};

/* The queue, oldest first. */
struct outbox {
    struct {
        struct outbox_item it;
        int64_t barrier; /* id of the ping written after it; its pong confirms it (0: unsent) */
    } e[OUTBOX_MAX];
    size_t n;
};

/* The item as a client message (malloc'd JSON), the same on every transport. */
char *outbox_item_encode(const struct outbox_item *it);
/* "check", "raise to 120", "chat"... for messages to the user. Returns buf. */
const char *outbox_item_what(const struct outbox_item *it, char *buf, size_t n);
/* Appends a copy (unsent). Returns 0, or -1 when the outbox is full. */
int outbox_push(struct outbox *o, const struct outbox_item *it);
void outbox_remove(struct outbox *o, size_t i);
/* Every item back to unsent: the next connection writes them all again, in order. */
void outbox_unsend(struct outbox *o);
void outbox_clear(struct outbox *o);

/* ---- session.c -------------------------------------------------------------------------- */

#define SESSION_PING_MS 5000 /* ping period for the round-trip time */
/* A ping of ours unanswered this long: the server is silent (session_status.silent_ms, "no
 * answer" on the status line, "no_answer" in --json). */
#define SESSION_SILENT_MS 2000
/* ... and this long: the connection is dead, dropped and made again (two ping periods). */
#define SESSION_DEAD_MS (2 * SESSION_PING_MS)

enum session_transport {
    SESSION_TRANSPORT_AUTO, /* WebSocket, falling back to polling if it cannot be used */
    SESSION_TRANSPORT_WS,
    SESSION_TRANSPORT_POLL,
};

enum session_state {
    SESSION_CONNECTING,   /* the first connection (join, then socket) in progress */
    SESSION_CONNECTED,    /* resumed: the server accepted hello (or polling works) */
    SESSION_RECONNECTING, /* lost; attempt/next_try_ms say when the next try is */
    SESSION_OFFLINE,      /* closed for good: left the table, replaced (4409), or closed */
    SESSION_REJECTED,     /* the server no longer knows our token (4401 / HTTP 401):
                           * session_rejoin() joins afresh */
    SESSION_FAILED,       /* could not start: unreachable, table full, name taken, bad
                           * game... reason says which; the process should exit 1 */
};

struct session_status {
    enum session_state state;
    enum session_transport transport; /* WS or POLL: the one in use */
    bool fell_back;                   /* auto switched from WebSocket to polling */
    int attempt;                      /* reconnect attempt number (1 = first retry) */
    int64_t next_try_ms;              /* ms until that attempt, while RECONNECTING */
    /* The last ping/pong round trip, -1 before the first; while the server is silent, how long
     * our oldest ping has waited (the round trip is at least that): silent_ms. */
    int64_t rtt_ms;
    /* 0, or how long our oldest unanswered ping has waited once that is SESSION_SILENT_MS or
     * more, while CONNECTED (or saying hello) over a WebSocket. At SESSION_DEAD_MS the socket
     * is dropped and the session goes RECONNECTING. */
    int64_t silent_ms;
    size_t queued;                    /* outgoing items not yet confirmed by the server */
    bool spectator;
    bool left; /* REJECTED: this seat's token was given up when the player left the table (or
                * was stood up) before, as the token file says; not a server restart */
    char reason[160]; /* why, for RECONNECTING/OFFLINE/REJECTED/FAILED (sanitized) */
    const char *server; /* the server in use, or tried next (ws(s)://HOST:PORT) */
    int nservers;       /* the servers given (session_options.nmore + 1) */
};

#define SESSION_SERVERS_MAX 4

struct session_options {
    const char *server; /* ws://HOST:PORT or wss://... (http(s):// accepted too) */
    /* More servers of the same tables (the nodes of one cluster, a standby on the same data):
     * the join goes to the first that answers; a lost connection tries them in turn (a
     * WebSocket the one it was on first; polling moves on at its first failed poll). The token
     * is kept under the first server's name. */
    const char *more_servers[SESSION_SERVERS_MAX - 1];
    int nmore;
    const char *game;
    const char *name;
    int64_t buy_in; /* 0: the table's default */
    bool spectate;
    enum session_transport transport;
    bool no_deflate; /* offer no permessage-deflate (felt always offers it; the fault tests'
                      * fleet runs half its bots without, as other clients may) */
    /* --ca / the config file's ca: the PEM file to trust for wss:// and https:// instead of the
     * system's store, or NULL. It belongs to the loop, not the session: felt.c creates the loop
     * with it (wsloop_config.ca_file), and the session reads the loop's (wsloop_ca_file). */
    const char *ca_file;
};

enum session_notice_kind {
    SESSION_NOTICE_INFO,    /* e.g. "switched to HTTP polling" */
    SESSION_NOTICE_REFUSED, /* the server refused an action of ours (ack rejected) */
    SESSION_NOTICE_ERROR,   /* an error reply, or a local failure */
};

/* All optional (NULL to ignore). Called from inside wsloop_run(). */
struct session_callbacks {
    void *user;
    /* Every server message, as received (raw, len bytes, not NUL-terminated), after the model
     * has applied it. In poll mode, raw is each event envelope of the HTTP answer. */
    void (*on_message)(void *user, const struct proto_smsg *m, const char *raw, size_t len);
    /* Every decoded server message and what the model made of it, before the session reacts
     * to it (on_message, replies, a resync). Unlike on_message it also sees an event the model
     * refused because of a gap in seq (MODEL_GAP: the session then resumes from its last seq),
     * so a client that checks the stream itself (the fault tests' fleet) misses nothing. m is
     * the session's: read it, do not change it. */
    void (*on_received)(void *user, const struct proto_smsg *m, enum model_result r);
    /* The connection state, the queue or the round-trip time changed. */
    void (*on_state)(void *user, const struct session_status *st);
    /* Something the user should be told (also written to the model's log). */
    void (*on_notice)(void *user, enum session_notice_kind kind, const char *text);
    /* The model changed (after on_message): redraw. */
    void (*on_change)(void *user);
};

/* Creates a session on loop. Checks the options (server URL scheme/host, and wsurl_usable's
 * rule; game id, name) and returns NULL with err ("bad_url", "bad_game", "bad_name") without
 * touching the network. */
struct session *session_new(struct wsloop *loop, const struct session_options *o,
                            struct felt_err *err);
void session_set_callbacks(struct session *s, const struct session_callbacks *cb);
/* Starts: a player with a stored token says hello with it, otherwise joins over HTTP first and
 * stores the token; a spectator opens the spectator socket. The work begins inside the next
 * wsloop_run() (a 0 ms timer), so callbacks set between session_start and wsloop_run miss
 * nothing. Progress and failure are reported through on_state (SESSION_FAILED before the first
 * successful connection: the reason is one clear line for stderr). Returns 0, or -1 if already
 * started. */
int session_start(struct session *s);

const struct model *session_model(const struct session *s);
void session_status(const struct session *s, struct session_status *out);

/* Queues an action for the current hand after checking it against the model's to_act: not our
 * turn, cannot check, raise below min or above max, no raise possible... are refused here with
 * a reason (err->message is one sentence for the user) and nothing is queued. amount is the
 * "raise to" total for ENGINE_RAISE and ignored otherwise. Returns 0 or -1. */
int session_act(struct session *s, enum engine_action a, int64_t amount, struct felt_err *err);
/* Queues a chat line (sanitized; empty or over PROTO_CHAT_MAX_CHARS refused). 0 or -1. */
int session_chat(struct session *s, const char *text, struct felt_err *err);
/* Queues a message as given, without the to_act check (the --json mode; the server decides).
 * An action without request_id gets a random one, without hand_id the model's current hand.
 * Queue full, spectator sending an action, or an unsupported type are refused. 0 or -1. */
int session_send(struct session *s, const struct proto_cmsg *m, struct felt_err *err);
/* sit_out / sit_in / leave: session_send of that type. */
int session_sit_out(struct session *s, struct felt_err *err);
int session_sit_in(struct session *s, struct felt_err *err);
int session_leave(struct session *s, struct felt_err *err);

/* What a request of the caller's own needs to reach this table (the TUI's hand history): the
 * server in use (ws(s)://HOST:PORT), the game id, and the seat's token (NULL for a spectator or
 * before the join; never print it). The strings stay valid while the session lives; the server's
 * content changes when the session moves to another of its servers. */
void session_endpoint(const struct session *s, const char **server, const char **game,
                      const char **bearer);
/* The name the seat's token is stored under (token.c): the first server, normalised. */
const char *session_token_key(const struct session *s);

/* The queue, oldest first (what the UI shows as "queued"). */
size_t session_queue_count(const struct session *s);
const struct outbox_item *session_queue_get(const struct session *s, size_t i);

/* After SESSION_REJECTED: forgets the stored token and joins again with the same name and
 * buy-in (a new seat). Returns 0, or -1 with err if not rejected or for a spectator. */
int session_rejoin(struct session *s, struct felt_err *err);
/* Closes the connection cleanly (no reconnect); state becomes OFFLINE. */
void session_close(struct session *s);
/* Frees the session. Call it after wsloop_free(): the loop owns (and frees) the connections;
 * the session's HTTP requests still pending are inert by then, and are cancelled (freed) here. */
void session_free(struct session *s);

/* The one line felt says when it cannot reach url (the session's FAILED reason, `felt
 * history`'s error): "cannot reach the server at URL: ERROR"; or, when error is
 * WSCLIENT_CERT_UNVERIFIED, that the TLS certificate of url could not be verified, with what to
 * do: --ca FILE when ca_file is NULL (the system's store), else that ca_file did not vouch for
 * it. error NULL reads "no answer". Cut to outsz. */
void session_unreachable_text(char *out, size_t outsz, const char *url, const char *error,
                              const char *ca_file);

const char *session_state_name(enum session_state st);        /* "connecting", ... */
const char *session_transport_name(enum session_transport t); /* "auto", "ws", "poll" */

/* ---- poll.c (used by session.c only) ---------------------------------------------------- */

#define POLL_MIN_MS 250  /* poll period while things happen (or it is our turn) */
#define POLL_MAX_MS 2000 /* idle period: the interval doubles up to this */

struct poll;
struct poll_callbacks {
    void *user;
    /* One event envelope (raw JSON of the answer's events array, in order). */
    void (*on_event)(void *user, const char *raw, size_t len);
    /* A poll succeeded (status 200) / failed: status 0 unreachable, 401 token unknown, ... */
    void (*on_result)(void *user, int status, const char *error, int64_t rtt_ms);
    /* The answer to a POST of item (status as above; body the JSON answer, e.g. an ack). */
    void (*on_posted)(void *user, int status, const char *body, size_t len);
};

/* base_url is http(s)://HOST:PORT; bearer may be NULL (spectator). Copies its arguments. */
struct poll *poll_new(struct wsloop *loop, const char *base_url, const char *game,
                      const char *bearer, const struct poll_callbacks *cb);
/* Starts polling from since (has_since false: ask for a snapshot) of the server run epoch ("":
 * unknown; a poll from another run gets a snapshot). */
void poll_start(struct poll *p, bool has_since, uint64_t since, const char *epoch);
/* The next requests go to base_url (another server of the same tables); those in flight are
 * answered from the old one. */
void poll_set_base(struct poll *p, const char *base_url);
/* Polls soon (POLL_MIN_MS) and keeps the fast period for a while (it is our turn, we acted). */
void poll_hurry(struct poll *p);
/* Advances the cursor (the session applies events and tells poll.c the last seq and its epoch). */
void poll_set_since(struct poll *p, uint64_t since, const char *epoch);
/* POSTs one action or chat item; at most one POST is in flight (returns -1 if busy). */
int poll_post(struct poll *p, const struct outbox_item *it);
bool poll_busy(const struct poll *p);
/* ms until the next poll (for the status line while polls fail). */
int64_t poll_next_ms(const struct poll *p);
void poll_stop(struct poll *p);
/* Frees p and cancels its requests in flight (their answers are never delivered). Valid also
 * after wsloop_free(). */
void poll_free(struct poll *p);

/* ---- jsonmode.c ------------------------------------------------------------------------- */

/* --json mode: runs the loop until stdin EOF (leaves the table, waits until the leave is
 * delivered, bounded) or the session ends. Returns the exit status (0 after a clean EOF). */
int jsonmode_run(struct wsloop *loop, struct session *s);
/* --json-events: print only the lines of these comma-separated types: a message type
 * (snapshot, state_update, animation, notification, chat, ack, error, pong), felt's own
 * "connection", a state_update's event (hand_start, action, ...) or a notification's or an
 * animation's kind (your_turn, deal_board, ...). Returns 0, or -1 with err ("bad_events") for an
 * unknown name or an empty list. Without it every line is printed. */
int jsonmode_set_events(const char *list, struct felt_err *err);

/* ---- tui.c (the TUI engineer's) --------------------------------------------------------- */

struct tui_options {
    bool ascii;      /* "Ah Kd" text cards instead of Unicode suits */
    bool no_color;   /* $NO_COLOR, then the config file's color, then --no-color/--color */
    bool quiet;      /* no terminal bell */
    bool four_color; /* four-colour deck */
    bool spectate;   /* read-only: no action bar */
};

/* Runs the table UI on s (already started by felt.c) inside wsloop_run(loop) until the user
 * quits or the session fails. Sets its own callbacks with session_set_callbacks. On
 * SESSION_FAILED it restores the terminal and returns 1 without printing (felt.c prints the
 * status reason); otherwise returns the exit status (0 for a normal quit). */
int tui_run(struct wsloop *loop, struct session *s, const struct tui_options *o);

/* ---- replay.c: see replay.h (replay_main) ------------------------------------------------ */

#endif
