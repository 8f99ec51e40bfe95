/*
 * server.h: feltd's one internal header, organised by file like a table of contents.
 *
 * The layers, from the wire inwards:
 *   net.c      libwebsockets: the context, the one callback for HTTP and WebSocket, timers.
 *              The only file of feltd that includes libwebsockets.h.
 *   conn.c     a client connection (player, spectator or HTTP request): decoding, the dispatch
 *              table of client messages, its bounded reply queue and its cursor into the table's
 *              event history. Knows nothing of lws beyond an opaque handle.
 *   http.c     the HTTP fallback API (the old polling transport) and /healthz, /metrics.
 *   lobby.c    the set of tables, looked up by game id.
 *   table.c    one table: seats, players, the hand in progress, the action clock, its event
 *              history, and the per-viewer renderings of its events (privacy is decided there).
 *              Everything about a table goes through table_*; nothing else touches its state.
 *              This is the seam where persistence and multi-node sharing will attach.
 *   event.c    immutable, refcounted messages and events (one public rendering plus private
 *              renderings for individual players).
 *   history.c  the bounded ring of a table's recent events, for resume and slow readers.
 *   limit.c    token buckets and the registry of client addresses (connections, joins, chat
 *              each address holds or spends): the limits against abusive clients.
 *   bot.c      the built-in bots' strategy.
 *   metrics.c  counters and the latency histogram, in Prometheus text format.
 */
#ifndef FELT_SERVER_H
#define FELT_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "proto.h"
#include "rng.h"
#include "util.h"

struct json_object;
struct lws;
struct limit_addr;

#define LIMIT_IP_MAX 48 /* an IPv6 address in text, with room for the NUL (limit.c) */
struct conn;
struct table;
struct player;
struct server;

/* ---- event.c ---------------------------------------------------------------------------- */

/* Bytes reserved in front of every message payload for the WebSocket framing (>= LWS_PRE,
 * checked at compile time in net.c), so a message is written without copying. */
#define MSG_HEADROOM 32

/* An immutable serialized message, shared by every connection that sends it. */
struct msg {
    unsigned refs;
    size_t len;
    unsigned char buf[]; /* MSG_HEADROOM bytes, then len bytes of payload, then a NUL */
};

/* Takes a malloc'd JSON string (freed here) and returns a message holding one reference. */
struct msg *msg_from_string(char *json, size_t len);
struct msg *msg_ref(struct msg *m);
void msg_unref(struct msg *m);
static inline char *msg_payload(const struct msg *m)
{
    return (char *)m->buf + MSG_HEADROOM;
}

/* One game event of a table: a public rendering and, for some players, a private one (their own
 * hole cards, "your turn"). A viewer is identified by its player uid (0 for spectators). */
struct event {
    unsigned refs;
    uint64_t seq;
    enum proto_stype type;
    int64_t created_us;   /* monotonic, for the action-to-broadcast latency metric */
    bool from_action;     /* the state_update that a player's action produced */
    struct msg *pub;
    int npriv;
    struct {
        uint64_t uid;
        struct msg *m;
    } priv[ENGINE_MAX_SEATS];
};

struct event *event_new(uint64_t seq, enum proto_stype type);
/* Serializes data (reference taken) as the public rendering. */
void event_set_public(struct event *ev, int64_t ts, struct json_object *data);
/* Serializes data (reference taken) as uid's private rendering. */
void event_set_private(struct event *ev, uint64_t uid, int64_t ts, struct json_object *data);
const struct msg *event_msg_for(const struct event *ev, uint64_t uid);
struct event *event_ref(struct event *ev);
void event_unref(struct event *ev);

/* ---- history.c -------------------------------------------------------------------------- */

#define HISTORY_CHAT_CAP 256 /* chat messages kept for resume, apart from the game events */

/* Events in seq order (seqs need not be consecutive: chat and game events interleave). */
struct history_ring {
    struct event **ev;
    size_t cap, head, count;
};

/* The last `cap` game events and the last HISTORY_CHAT_CAP chat messages of a table. */
struct history {
    struct history_ring game, chat;
    uint64_t last_seq;  /* seq of the newest event pushed (0: none) */
    uint64_t lost_seq;  /* seq of the newest game event dropped (0: none): resume after it only */
    struct event *stub; /* the last expired-chat placeholder handed out */
};

void history_init(struct history *h, size_t cap);
void history_free(struct history *h);
/* Appends ev (its seq must follow the last one); takes the caller's reference. */
void history_push(struct history *h, struct event *ev);
/* The event with this seq, or NULL when a game event after it is no longer held (a reader there
 * needs a snapshot) or it was never published. A chat message no longer held comes back as an
 * expired placeholder, valid until the next history_get. */
struct event *history_get(struct history *h, uint64_t seq);

/* ---- table.c ---------------------------------------------------------------------------- */

struct table_config {
    char id[PROTO_GAME_ID_MAX + 1];
    int seats;                 /* 2..ENGINE_MAX_SEATS */
    int64_t small_blind, big_blind, ante, buy_in;
    int64_t action_timeout_ms; /* the action clock */
    int64_t hand_delay_ms;     /* pause between hands */
    int64_t bot_delay_ms;      /* bots' thinking time */
    bool spectator_chat;
    size_t history;            /* events kept for resume (>= 1024) */
};

#define PLAYER_ID_LEN 16       /* hex characters of a public player id */
#define PLAYER_TOKEN_BYTES 32  /* 256 random bits per token */
#define PLAYER_ACK_CACHE 64    /* request_ids remembered per player for exactly-once actions */

struct player {
    uint64_t uid;                          /* server-unique, never reused */
    char id[PLAYER_ID_LEN + 1];            /* public, appears in URLs and events */
    char token[PLAYER_TOKEN_BYTES * 2 + 1];/* secret: never logged, only ever sent to its owner */
    char name[PROTO_NAME_MAX_BYTES + 1];   /* sanitized */
    char *fold;                            /* text_name_fold(name): what uniqueness is judged on */
    struct table *table;
    int seat;
    int64_t stack;          /* chips behind when no hand is in progress (engine's during one) */
    bool bot;
    bool sitting_out;
    bool leaving;           /* leaves (cashes out) at the end of the hand */
    bool in_hand;           /* dealt into the current hand */
    int timeouts;           /* consecutive action-clock expiries */
    int sitout_hands;       /* hands ended while sitting out (stood up at limits.sitout_hands) */
    int64_t last_seen_ms;   /* last sign of life: join, hello, a disconnect, an HTTP request */
    char addr[LIMIT_IP_MAX];/* the client address that joined ("" for bots) */
    char leave_reason[16];  /* why `leaving` was set: "left", "idle", "sitting_out" */
    struct conn *conn;      /* the live WebSocket, or NULL */
    int64_t chat_ms[5];     /* chat rate limit over HTTP (WebSockets limit per connection) */
    int chat_next;
    struct {
        char request_id[PROTO_REQUEST_ID_MAX + 1];
        struct msg *ack;
        int64_t hand_id;    /* the hand it was for: its hand_id, else the hand then current */
    } acks[PLAYER_ACK_CACHE];
    int ack_next;
};

struct table *table_new(struct server *srv, const struct table_config *cfg);
void table_free(struct table *t);
const struct table_config *table_config(const struct table *t);

/* Seats a player. A human's join (bot false) from addr spends one of its join tokens and is
 * refused ("rate_limited", "too_many_seats") past the limits; addr may be NULL (no limits). */
struct player *table_join(struct table *t, const char *name, int64_t buy_in, bool bot,
                          struct limit_addr *addr, struct felt_err *err);
struct player *table_player_by_id(struct table *t, const char *player_id, size_t len);
/* Constant-time token check; NULL when no player at this table has it. */
struct player *table_player_by_token(struct table *t, const char *token);
int table_sit_out(struct table *t, struct player *p, struct felt_err *err);
int table_sit_in(struct table *t, struct player *p, struct felt_err *err);
/* Leaves (at the end of the hand when still in it). Never refused; spends a join token of addr. */
int table_leave(struct table *t, struct player *p, struct limit_addr *addr, struct felt_err *err);
/* A sign of life from a player without a WebSocket (an HTTP poll or request). */
void table_seen(struct table *t, struct player *p);
/* Stands up the players who have been away (no WebSocket, no request) for idle_seat_secs. */
void table_sweep(struct table *t, int64_t now_ms);
/* Applies an action and returns its ack (a new reference): a request_id seen before returns the
 * original ack and changes nothing. */
struct msg *table_act(struct table *t, struct player *p, const struct proto_cmsg *m);
/* Chat from a player, or from a spectator (p == NULL), sent from addr (may be NULL). Refused
 * ("chat_disabled", "rate_limited") by the spectator rule and the per-address and per-table
 * limits; the per-connection limit is the caller's. */
int table_chat(struct table *t, struct player *p, struct limit_addr *addr, const char *text,
               struct felt_err *err);
/* A player's WebSocket came or went (presence notifications). */
void table_presence(struct table *t, struct player *p, bool connected);

/* Connections subscribed to this table's events are woken (conn_wake) on every new event. */
void table_subscribe(struct table *t, struct conn *c);
void table_unsubscribe(struct table *t, struct conn *c);
uint64_t table_seq(const struct table *t);  /* seq of the last event (0: none yet) */
struct event *table_event(struct table *t, uint64_t seq);
/* The whole table as `viewer` may see it (NULL: a spectator), as a snapshot message. */
struct msg *table_snapshot(struct table *t, const struct player *viewer);
/* The lobby entry for GET /api/games. */
struct json_object *table_lobby_json(const struct table *t);
int table_spectators(const struct table *t);
/* Stops timers and bots; used at shutdown. */
void table_shutdown(struct table *t);

/* ---- lobby.c ---------------------------------------------------------------------------- */

void lobby_add(struct server *srv, struct table *t);
struct table *lobby_find(struct server *srv, const char *id, size_t len);
struct json_object *lobby_json(struct server *srv);
void lobby_free(struct server *srv);

/* ---- conn.c ----------------------------------------------------------------------------- */

enum conn_role { CONN_HTTP, CONN_PENDING, CONN_PLAYER, CONN_SPECTATOR };

#define CONN_MAX_REPLIES 32   /* unsent acks/errors/pongs; beyond it we stop reading */
#define CONN_CHAT_BURST 5     /* chat messages ... */
#define CONN_CHAT_WINDOW_MS 10000 /* ... per this window */

struct conn {
    struct server *srv;
    struct lws *wsi;
    enum conn_role role;
    struct table *table;
    struct player *player;      /* CONN_PLAYER: the owner (NULL once they left) */
    char claim[PLAYER_ID_LEN + 1]; /* CONN_PENDING: the player id in the URL, unproven; an id,
                                    * not a pointer, since the player may leave before hello */
    uint64_t next_seq;          /* next event to send; 0 while not subscribed */
    bool need_snapshot;         /* send a fresh snapshot before the next event */
    bool subscribed;
    struct conn *sub_prev, *sub_next; /* the table's subscriber list */
    struct conn *all_prev, *all_next; /* the server's list of WebSocket connections */
    struct msg *replies[CONN_MAX_REPLIES];
    int reply_head, reply_count;
    bool rx_paused;             /* reading stopped until replies drain */
    char *rx;                   /* a fragmented message being assembled */
    size_t rx_len;
    size_t rx_dropped;          /* bytes of an over-16-KiB message read and dropped so far */
    int64_t chat_ms[CONN_CHAT_BURST]; /* times of the last chat messages (ring) */
    int chat_next;
    int out_kind;               /* what conn_next() returned: see conn.c */
    struct msg *snap;           /* a snapshot being sent */
    double flood_tokens;        /* token bucket for all messages */
    int64_t flood_ms;
    struct conn_http *http;     /* CONN_HTTP only */
    struct limit_addr *addr;    /* the client's address (lives as long as the socket), or NULL */
    struct net_timer *hello_timer; /* CONN_PENDING: closes the socket if no hello comes */
    int close_code;             /* non-zero: close with this code on the next write */
    char close_reason[64];
    int64_t bad_messages;
};

struct conn *conn_new(struct server *srv, struct lws *wsi, enum conn_role role);
void conn_free(struct conn *c);
/* Handles one complete client text message. */
void conn_on_message(struct conn *c, const char *buf, size_t len);
/* Queues a per-connection reply (reference taken). */
void conn_reply(struct conn *c, struct msg *m);
void conn_reply_error(struct conn *c, const char *code, const char *message);
/* Asks for the connection to be closed with code/reason after what is already queued. */
void conn_close(struct conn *c, int code, const char *reason);
/* The next message to write (a borrowed reference valid until conn_sent()), or NULL. */
const struct msg *conn_next(struct conn *c);
/* The message from conn_next() was written. */
void conn_sent(struct conn *c);
bool conn_pending(const struct conn *c);
/* A new event or reply is available: ask the network layer for a write. */
void conn_wake(struct conn *c);
/* Starts a player connection's stream after a valid hello (resume from last_seq if possible). */
void conn_start_stream(struct conn *c, bool has_last_seq, uint64_t last_seq);

/* ---- http.c ----------------------------------------------------------------------------- */

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_OTHER };

struct http_request {
    enum http_method method; /* HEAD is routed as GET; the network layer drops the body */
    const char *path;       /* without the query string */
    const char *query;      /* "since=12" or "" */
    const char *bearer;     /* token from Authorization: Bearer, or NULL */
    const char *body;
    size_t body_len;
    struct limit_addr *addr; /* the client's address (limit.c), or NULL */
};

struct http_response {
    int status;
    const char *content_type;
    struct msg *body;       /* with MSG_HEADROOM, so it is written in place */
    const char *allow;      /* the Allow header of a 405 (static), or NULL */
};

/* The state of one HTTP request on its connection. */
struct conn_http {
    char path[256];
    char query[128];
    char bearer[PROTO_TOKEN_MAX + 1];
    bool has_bearer;
    enum http_method method;
    bool too_large;
    bool answered;          /* the request was handled: later body completions are ignored */
    bool refuse;            /* the network layer filled the answer (resp) itself */
    bool close_after;       /* Connection: close, and close once the answer is written */
    char *body;
    size_t body_len;
    struct http_response resp;
    int phase;              /* 0: nothing to send, 1: headers next, 2: body next */
};

#define HTTP_MAX_BODY PROTO_MAX_FRAME

/* Routes one request through the route table; always fills resp. */
void http_handle(struct server *srv, const struct http_request *req, struct http_response *resp);

/* Sliding-window limiter: true (and the time recorded) if fewer than CONN_CHAT_BURST of the
 * times in ring[] fall within the last CONN_CHAT_WINDOW_MS. */
bool conn_chat_allowed(int64_t ring[CONN_CHAT_BURST], int *next, int64_t now_ms);

/* ---- limit.c ---------------------------------------------------------------------------- */

/* The limits against abusive clients (docs/security.md lists them with their defaults). A
 * value of 0 means "no limit" unless said otherwise. */
struct limits {
    int idle_seat_secs;        /* stand up a seated player unseen for this long */
    int sitout_hands;          /* ... or sat out for this many hands */
    int joins_per_minute;      /* joins (and leaves) per client address, also the burst */
    int seats_per_address;     /* seats one address may hold at one table */
    int max_conns_per_address; /* open connections per client address */
    int max_conns;             /* open connections in all (the rest of the descriptors are a
                                * reserve for /healthz and the server's own files) */
    int hello_secs;            /* a player socket must say hello within this (not 0) */
    int chat_per_address;      /* chat messages per 10 s per client address, also the burst */
    int chat_per_table;        /* chat messages per 10 s per table, also the burst */
    int poll_max_events;       /* a poll further behind than this gets a snapshot */
    const char *trust_proxy;   /* the reverse proxy whose X-Forwarded-For is believed */
};

/* A token bucket: `tokens` as of `ms` (0: never used, i.e. full). */
struct limit_bucket {
    double tokens;
    int64_t ms;
};


/* One client address. */
struct limit_addr {
    struct limit_addr *next;   /* hash chain */
    char ip[LIMIT_IP_MAX];
    int conns;                 /* open TCP connections attributed to it */
    struct limit_bucket joins;
    struct limit_bucket chat;
};

struct limit_registry {
    struct limit_addr **buckets;
    size_t cap, count;
};

/* Takes `cost` tokens if there are that many (true); refills at per_sec up to burst. per_sec
 * <= 0: unlimited (always true). */
bool limit_bucket_take(struct limit_bucket *b, double per_sec, double burst, double cost,
                       int64_t now_ms);
/* The entry of ip, created if new. Entries live until limit_sweep() finds them unused. */
struct limit_addr *limit_addr_get(struct limit_registry *r, const char *ip);
struct limit_addr *limit_addr_find(const struct limit_registry *r, const char *ip);
/* Frees the entries with no connection whose buckets are full again. */
void limit_sweep(struct limit_registry *r, const struct limits *l, int64_t now_ms);
void limit_free(struct limit_registry *r);
bool limit_join_allowed(struct limit_addr *a, const struct limits *l, int64_t now_ms);
void limit_leave_charge(struct limit_addr *a, const struct limits *l, int64_t now_ms);
bool limit_chat_allowed(struct limit_addr *a, const struct limits *l, int64_t now_ms);

/* ---- bot.c ------------------------------------------------------------------------------ */

/* Chooses an action for the engine's player to act: equity against random hands (Monte Carlo
 * over the evaluator) compared with pot odds, with some randomness so it is not exploitable by
 * a fixed rule. */
void bot_decide(const struct engine *e, struct rng *r, enum engine_action *action,
                int64_t *amount);

/* ---- metrics.c -------------------------------------------------------------------------- */

struct metrics {
    int64_t conns[4];            /* open connections by enum conn_role */
    uint64_t msgs_in, msgs_out, bytes_in, bytes_out;
    uint64_t actions, actions_rejected;
    uint64_t resumes, resume_snapshots, hellos_rejected;
    uint64_t http_requests;
    uint64_t conns_refused;      /* connections refused by the per-address cap */
    uint64_t lat_count, lat_sum_us;
    uint64_t lat_buckets[16];    /* action-to-broadcast latency, see metrics.c for bounds */
};

void metrics_latency(struct metrics *m, int64_t us);
char *metrics_text(const struct server *srv, size_t *len_out);

/* ---- net.c ------------------------------------------------------------------------------ */

struct net_timer;
struct net_timer *net_timer_new(struct server *srv, void (*cb)(void *arg), void *arg);
/* (Re)arms the timer to fire once after delay_ms. */
void net_timer_arm(struct net_timer *t, int64_t delay_ms);
void net_timer_cancel(struct net_timer *t);
void net_timer_free(struct net_timer *t);
/* Asks lws for a WRITEABLE callback on the connection. */
void net_wake(struct conn *c);
/* Stops or resumes reading from a connection (flow control for unread replies). */
void net_rx_pause(struct conn *c, bool pause);

struct net_options {
    const char *host;
    int port;                  /* 0: any free port (printed on stdout) */
    const char *tls_cert, *tls_key;
    int ping_secs, hangup_secs;
    void (*on_ready)(struct server *srv); /* called once the context exists (seat bots...) */
};
/* Creates the context, serves until SIGINT/SIGTERM/SIGHUP, then closes every client with 1001.
 * Returns the process exit status. */
int net_run(struct server *srv, const struct net_options *o);

/* ---- feltd.c: the server object ------------------------------------------------------------ */

enum log_level { LOG_QUIET, LOG_NORMAL, LOG_VERBOSE };

struct server {
    struct lws_context *ctx;
    struct table **tables;
    int ntables;
    struct metrics metrics;
    enum log_level log_level;
    bool shutting_down;
    uint64_t next_uid;
    struct conn *conns_head;   /* every WebSocket connection, for shutdown */
    struct limits limits;
    struct limit_registry addrs; /* client addresses (limit.c) */
    int conns_open;            /* accepted TCP connections still open */
};

void server_log(const struct server *srv, enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
