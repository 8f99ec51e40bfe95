/*
 * server.h: feltd's one internal header, organised by file like a table of contents.
 *
 * Calls run one way, from the wire inwards; no file calls a file above it (the table notifies
 * its subscribers, and conn.c reaches the network, only through function pointers set from
 * above):
 *
 *   feltd.c    the entry point: command line, tables, bots, the sweeps; starts net.c.
 *   net.c      libwebsockets: the context, the one callback for HTTP and WebSocket, the event
 *              loop and its one lws timer, which runs timer.c's heap. The only file of feltd
 *              that includes libwebsockets.h.
 *   conn.c     a WebSocket connection (player, spectator) or an HTTP request's connection:
 *              decoding, its bounded reply queue and its cursor into the table's event history.
 *              Knows nothing of lws beyond an opaque handle and the conn_io it was given.
 *   http.c     the HTTP API: lobby, the polling fallback, /healthz, /metrics.
 *   command.c  the client commands (hello, join, action, chat, sit_out, sit_in, leave, ping) in
 *              one table serving WebSocket and HTTP: who may send each, and what it does.
 *   lobby.c    the set of tables, looked up by game id.
 *   table.c    one table: seats, players, the hand in progress, the action clock, presence, and
 *              the publishing of its events to its history and its subscribers. All changes to
 *              a table and its players go through table_*.
 *   render.c   pure renderings of a table's state and of the engine's events into protocol
 *              events and messages (privacy is decided there).
 *   history.c  the bounded rings of a table's recent events, for resume and slow readers.
 *   event.c    immutable, refcounted messages and events (one public rendering plus private
 *              renderings for individual players).
 *   limit.c    token buckets, the chat window of one sender and the registry of client
 *              addresses (connections, joins, chat each address holds or spends).
 *   bot.c      the built-in bots' strategy.
 *   metrics.c  counters and the latency histogram, in Prometheus text format.
 *   timer.c    the clocks and the heap of one-shot timers (no sockets: tests run a fake clock).
 *   log.c      the log on stderr.
 *
 * Below them all: common/ (engine, codec, cards, rng, text). The sections below go from the
 * bottom up, so every type is defined before a later section embeds it.
 */
#ifndef FELT_SERVER_H
#define FELT_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "handrec.h"
#include "proto.h"
#include "rng.h"
#include "store.h"
#include "util.h"
#include "wire.h"

struct json_object;
struct conn;
struct table;
struct outbox;
struct player;
struct server;

/* ---- log.c ------------------------------------------------------------------------------ */

/* The levels, most severe first: a line is written when its level is at most the one set
 * (default LOG_INFO; -q sets LOG_WARNING, -v LOG_DEBUG). */
enum log_level { LOG_ERROR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
/* The line's shape (log.c): text for a terminal, journal when stderr is the systemd journal,
 * json for --log-json. */
enum log_format { LOG_TEXT, LOG_JOURNAL, LOG_JSON };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_set_format(enum log_format f);
/* Whether stderr is the systemd journal: $JOURNAL_STREAM holds stderr's device:inode. */
bool log_stderr_is_journal(void);
/* One line on stderr, when lvl is within the level set; a message is cut at 1023 bytes. */
void log_line(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- timer.c ---------------------------------------------------------------------------- */

struct timer;

/* The clocks: monotonic microseconds (when timers are due) and epoch milliseconds (deadlines,
 * presence, rate limits, timestamps). NULL restores the default (felt_mono_us, felt_now_ms). */
void timer_set_clock(int64_t (*mono_us)(void), int64_t (*wall_ms)(void));
int64_t timer_now_us(void);
int64_t timer_wall_ms(void);
/* fn is called after every timer_arm() with the earliest due time, so that a sleeping event
 * loop can wake up in time. */
void timer_set_wakeup(void (*fn)(int64_t due_us));

struct timer *timer_new(void (*cb)(void *arg), void *arg);
/* (Re)arms the timer to fire once after delay_ms (<= 0: at the next timer_run_due). */
void timer_arm(struct timer *t, int64_t delay_ms);
void timer_cancel(struct timer *t);
bool timer_armed(const struct timer *t);
void timer_free(struct timer *t);
/* When the earliest armed timer is due (timer_now_us's clock), or -1 when none is armed. */
int64_t timer_next_due_us(void);
/* Runs every timer due by now_us, earliest first; a callback may arm, cancel or free any
 * timer, itself included. */
void timer_run_due(int64_t now_us);

/* ---- heartbeat.c ------------------------------------------------------------------------ */

/* A member of the heartbeat's sweep (one WebSocket), embedded in the transport's own object. */
struct heartbeat_node {
    struct heartbeat_node *prev, *next;
};

/* What the sweep asks of the transport about one member. */
struct heartbeat_ops {
    /* Milliseconds since anything (a message, a pong) last arrived from the peer, or -1 when
     * unknown (the member is left alone this time). */
    int64_t (*idle_ms)(struct heartbeat_node *n);
    void (*ping)(struct heartbeat_node *n);   /* send one (empty) ping */
    void (*hangup)(struct heartbeat_node *n); /* close the socket; the member is removed later */
};

struct heartbeat {
    const struct heartbeat_ops *ops;
    int64_t ping_ms, hangup_ms;
    int64_t cycle_ms;    /* every member is looked at once per cycle */
    int64_t tick_ms;     /* a slice of the members is looked at every tick */
    struct heartbeat_node *head, *cursor; /* cursor: the next to look at (NULL: the head) */
    int count;
    int64_t carry;       /* slices' rounding, in members x tick_ms */
    struct timer *timer; /* armed while there are members */
    uint64_t probes, pings, hangups;
};

/* ping_secs of silence from a peer earn it a ping, hangup_secs (> ping_secs) a hang-up. */
void heartbeat_init(struct heartbeat *hb, const struct heartbeat_ops *ops, int ping_secs,
                    int hangup_secs);
void heartbeat_add(struct heartbeat *hb, struct heartbeat_node *n);
void heartbeat_remove(struct heartbeat *hb, struct heartbeat_node *n);
/* Looks at the next slice of members (the timer calls it; tests may too). */
void heartbeat_tick(struct heartbeat *hb);
void heartbeat_free(struct heartbeat *hb);

/* ---- metrics.c -------------------------------------------------------------------------- */

struct metrics {
    int64_t conns[4];            /* open connections by enum conn_role */
    uint64_t msgs_in, msgs_out, bytes_in, bytes_out;
    uint64_t frames_out;         /* WebSocket frames sent (felt.v2 puts several messages in one) */
    uint64_t actions, actions_rejected;
    uint64_t resumes, resume_snapshots, hellos_rejected;
    uint64_t http_requests;
    uint64_t conns_refused;      /* connections refused by the per-address cap */
    uint64_t lat_count, lat_sum_us;
    uint64_t lat_buckets[16];    /* action-to-broadcast latency, see metrics.c for bounds */
};

void metrics_latency(struct metrics *m, int64_t us);
char *metrics_text(const struct server *srv, size_t *len_out);

/* ---- limit.c ---------------------------------------------------------------------------- */

#define LIMIT_IP_MAX 48 /* an IPv6 address in text, with room for the NUL */

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

/* The chat limit of one sender (a player, over any transport, or a spectator's socket): at most
 * LIMIT_SENDER_CHATS messages in any LIMIT_SENDER_WINDOW_MS. */
#define LIMIT_SENDER_CHATS 5
#define LIMIT_SENDER_WINDOW_MS 10000
struct limit_window {
    int64_t ms[LIMIT_SENDER_CHATS]; /* times of the last messages (a ring; 0: unused) */
    int next;                       /* the oldest of them */
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
/* True (and the time recorded) if the window holds room for one more message at now_ms. */
bool limit_window_take(struct limit_window *w, int64_t now_ms);
/* The entry of ip, created if new. Entries live until limit_sweep() finds them unused. */
struct limit_addr *limit_addr_get(struct limit_registry *r, const char *ip);
struct limit_addr *limit_addr_find(const struct limit_registry *r, const char *ip);
/* Frees the entries with no connection whose buckets are full again. */
void limit_sweep(struct limit_registry *r, const struct limits *l, int64_t now_ms);
void limit_free(struct limit_registry *r);
bool limit_join_allowed(struct limit_addr *a, const struct limits *l, int64_t now_ms);
void limit_leave_charge(struct limit_addr *a, const struct limits *l, int64_t now_ms);
bool limit_chat_allowed(struct limit_addr *a, const struct limits *l, int64_t now_ms);

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
/* A copy of json's len bytes as a message (another node's rendering: relay.c). */
struct msg *msg_from_bytes(const char *json, size_t len);
/* A game event's message (wire_encode_into), written in place after the headroom: no copy.
 * One reference. */
struct msg *msg_from_wire(const struct wire_event *w, uint64_t seq, int64_t ts);
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
/* Renders w (of ev's type) as the public rendering. */
void event_set_public(struct event *ev, int64_t ts, const struct wire_event *w);
/* Renders w (of ev's type) as uid's private rendering. */
void event_set_private(struct event *ev, uint64_t uid, int64_t ts, const struct wire_event *w);
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

/* ---- bot.c ------------------------------------------------------------------------------ */

/* Chooses an action for the engine's player to act: equity against random hands (Monte Carlo
 * over the evaluator) compared with pot odds, with some randomness so it is not exploitable by
 * a fixed rule. */
void bot_decide(const struct engine *e, struct rng *r, enum engine_action *action,
                int64_t *amount);

/* ---- table.c: types --------------------------------------------------------------------- */

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
#define TABLE_DEPARTED_MAX 64   /* departures a table remembers (struct table) */
#define TABLE_URL_MAX 255       /* bytes of an owner's URL (struct table) */
#define PLAYER_TOKEN_BYTES 32  /* 256 random bits per token */
#define PLAYER_ACK_CACHE 64    /* request_ids remembered per player for exactly-once actions */
/* A player without a WebSocket counts as connected while their HTTP requests (polls) come at
 * most this far apart (docs/protocol.md, "connected"). */
#define TABLE_POLL_PRESENCE_MS 10000

/* Why a table lets go of a player's subscriber (table_sub_ops.dropped). */
enum table_drop {
    TABLE_DROP_REPLACED, /* a newer socket of the same player said hello */
    TABLE_DROP_LEFT,     /* the player stood up (left, idle or sat out too long) */
    TABLE_DROP_MOVED,    /* the table is now played on another node (table_stand_by) */
};

struct table_sub;

/* What a table asks of its subscribers (conn.c implements it for WebSockets): the table calls
 * these and never touches a subscriber's own object. */
struct table_sub_ops {
    /* A new event was published: pull it (table_event) when you can write. */
    void (*wake)(struct table_sub *s);
    /* The events the subscriber was reading are gone (a table that stands by, or whose
     * mirror starts again: table_mirror_reset): it needs a snapshot (table_snapshot) before
     * anything else. */
    void (*resync)(struct table_sub *s);
    /* s no longer speaks for its player (why, and a reason for people); it should close. */
    void (*dropped)(struct table_sub *s, enum table_drop why, const char *reason);
};

/* A subscription to a table's events, embedded in the subscriber's own object. The links are
 * table.c's; the subscriber sets ops and reads `subscribed`. */
struct table_sub {
    const struct table_sub_ops *ops;
    struct table_sub *prev, *next;
    bool subscribed;
    bool spectator;   /* counted in the table's spectators */
};

/* A seated player. Written only by table.c (render.c and the layers above read it). */
struct player {
    uint64_t uid;                          /* server-unique, never reused */
    char id[PLAYER_ID_LEN + 1];            /* public, appears in URLs and events */
    char token[PLAYER_TOKEN_BYTES * 2 + 1];/* secret: never logged, only ever sent to its owner;
                                            * "" for a player restored after a restart (only
                                            * the hash survives) */
    unsigned char token_hash[STORE_TOKEN_HASH_LEN]; /* SHA-256 of the token: what is checked */
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
    bool polling;           /* present through HTTP requests (no WebSocket; see table_seen) */
    char addr[LIMIT_IP_MAX];/* the client address that joined ("" for bots) */
    char leave_reason[16];  /* why `leaving` was set: "left", "idle", "sitting_out" */
    struct table_sub *sub;  /* the live WebSocket, or NULL */
    struct limit_window chat; /* this player's own chat limit, over every transport */
    struct {
        char request_id[PROTO_REQUEST_ID_MAX + 1];
        struct msg *ack;
        int64_t hand_id;    /* the hand it was for: its hand_id, else the hand then current */
    } acks[PLAYER_ACK_CACHE];
    int ack_next;
};

/* Events rendered in publishing order, with consecutive seqs (references held). */
struct render_list {
    struct event **ev;
    int n, cap;
};

/* One table. Written only by table.c; render.c reads it to render events and snapshots. */
struct table {
    struct server *srv;
    struct table_config cfg;
    struct player *seat[ENGINE_MAX_SEATS];
    int nplayers;
    struct rng rng;

    bool hand_running;
    int64_t hand_id;               /* id of the current (or last) hand; 0 before the first */
    int button;                    /* seat of the button, -1 before the first hand */
    struct engine eng;
    bool shown[ENGINE_MAX_SEATS];  /* cards shown in this hand (public from then on) */
    int64_t deadline_ms;           /* action clock of eng.to_act */
    int64_t next_deadline_ms;      /* the deadline of the turn being announced (0: none) */
    bool warned;                   /* the timer warning for this turn was sent */
    int clock_seat;                /* the seat the clock runs for, -1 none */

    struct timer *clock;           /* action clock: warning, then expiry */
    struct timer *next_hand;       /* pause between hands */
    struct timer *bot_turn;        /* a bot's (or absent player's) turn */
    struct timer *spectators;      /* coalesces spectator-count notifications */

    /* Durability (NULL store: nothing is kept, as in the unit tests). The hand being played is
     * recorded as it goes; when it ends its commit (record, stacks, ledger) goes to the outbox
     * with the table's other chip writes, and the next hand is dealt only once it is stored. */
    struct handrec rec;            /* the hand in progress (valid while hand_running) */
    int64_t hand_started_ms;
    int64_t stack_before[ENGINE_MAX_SEATS];
    struct outbox *out;            /* the chip writes not yet stored (outbox.c; NULL: no store) */
    int nvoided;                   /* hands voided by this run's restart (wire snapshot) */
    int64_t voided[WIRE_VOIDED_MAX];
    /* Players who left with chips, newest last (a ring: the oldest is forgotten first). A join
     * with one's token seats that player again, same id and token, with the chips they left. */
    struct table_departed {
        char id[PLAYER_ID_LEN + 1];
        unsigned char token_hash[STORE_TOKEN_HASH_LEN];
        int64_t stack;              /* 0: an empty slot */
    } departed[TABLE_DEPARTED_MAX];
    int departed_next;
    int spectators_told;           /* the count last published */
    bool spectators_pending;

    struct history hist;
    uint64_t seq;                  /* seq of the last published event */
    struct limit_bucket chat_bucket; /* chat messages per 10 s at this table */
    struct table_sub *subs;        /* subscribers */
    int nspectators;               /* this node's */
    int remote_spectators;         /* several nodes: the others' (table_set_remote_spectators) */
    struct equity_job *eq;         /* equity of tabled hands (equity_job.c; NULL until needed) */
    /* Several nodes (cluster.c): while another node owns the table (or nobody yet), it stands
     * by here: no seat, no player's socket, nothing dealt; joins and polls are answered
     * "not_owner" with owner_url, the owner's advertised URL ("" when unknown); spectators
     * watch the owner's play, mirrored (relay.c). */
    bool standby;
    bool hold_deal;                /* table_hold_deal: no new hand (a move between two hands) */
    char owner_url[TABLE_URL_MAX + 1];
    struct json_object *owner_lobby; /* while standing by: the owner's lobby entry, or NULL */
    /* While standing by: the owner's events, mirrored from its stream (relay.c), start from
     * this snapshot of the owner's (public; mirror_seq its seq), or NULL when there is none yet:
     * spectators then wait. */
    struct msg *mirror;
    uint64_t mirror_seq;
    uint64_t seq_high;             /* the highest seq t has had on this node (mirrors included) */
    void *node_data;               /* the cluster's own state for t (table_set_node_data) */
};

/* Everyone watching t: this node's spectators and, with several nodes, the other nodes'. */
static inline int table_spectators(const struct table *t)
{
    return t->nspectators + t->remote_spectators;
}

/* The number of the decision the running hand waits for: 1 for the first, one more after every
 * action applied (a player's, the clock's, a bot's, a sitting-out player's: the hand record
 * counts them all). Sent as to_act.decision; an action naming another one is refused with
 * "stale_decision", so an action typed for one decision never lands on a later one. */
static inline int64_t table_decision(const struct table *t)
{
    return (int64_t)t->rec.nactions + 1;
}

/* ---- render.c --------------------------------------------------------------------------- */


/* Everything one engine call produced (state updates, animations, hand_won), numbered from
 * t->seq + 1. Reads t as it is after the call (the engine's state, t->next_deadline_ms for the
 * next turn's deadline) with the player stacks of before it. */
void render_engine_events(const struct table *t, const struct engine_events *evs,
                          bool from_action, int64_t now_ms, struct render_list *out);
/* A "seat" state_update: p's seat changed (joined, left, sat_out, ...). */
struct event *render_seat_update(const struct table *t, uint64_t seq, int64_t now_ms,
                                 const struct player *p, enum wire_seat_change what);
/* A notification of n->kind with the fields that kind carries, naming p (NULL: nobody; n's
 * player fields are ignored). */
struct event *render_notification(uint64_t seq, int64_t now_ms, const struct player *p,
                                  const struct wire_notification *n);
/* The turn notification for the player to act: "turn" for everyone, "your_turn" for them. */
struct event *render_turn(const struct table *t, uint64_t seq, int64_t now_ms,
                          const struct player *p);
/* A chat message from p, or from a spectator (p == NULL). */
struct event *render_chat(uint64_t seq, int64_t now_ms, const struct player *p,
                          const char *text);
/* The whole table as `viewer` may see it (NULL: a spectator), as a snapshot message. */
struct msg *render_snapshot(const struct table *t, const struct player *viewer, int64_t now_ms);
/* The lobby entry for GET /api/games. */
struct json_object *render_lobby(const struct table *t);
/* A stored hand for GET /api/games/{id}/hands, with the hole cards viewer (NULL: anyone) may
 * see. malloc'd JSON, or NULL with err for a record that cannot be read. */
char *render_hand(const struct store_hand_row *row, const struct player *viewer,
                  struct felt_err *err);
void render_list_free(struct render_list *l);
/* Appends ev (its reference taken). */
void render_list_push(struct render_list *l, struct event *ev);

/* ---- table.c ---------------------------------------------------------------------------- */

/* A new, empty table. With a store (srv->store), its settings are stored at once and every
 * later change (seats, stacks, hands) is written through the store; last_hand_id is the
 * highest hand id ever used here (0 for a new table): the next hand is last_hand_id + 1. */
struct table *table_new(struct server *srv, const struct table_config *cfg);
void table_set_last_hand_id(struct table *t, int64_t last_hand_id);
/* Where the table's sequence of ordered writes stands in the store (store_table.write_seq), before
 * any write of this run. */
void table_set_write_seq(struct table *t, int64_t write_seq);
/* Puts back a stored seat after a restart: the player, their stack as of the last completed
 * hand and their sitting-out state; their token is checked against the stored hash. Publishes
 * nothing (a snapshot shows it). Returns the player, or NULL (with a log line) if the seat
 * does not fit this table (a seat number past its size, a seat taken). */
struct player *table_restore(struct table *t, const struct store_seat *s);
/* A hand this table was playing when the server stopped was voided by the load (its chips are
 * back with their owners): remembered for snapshots and acks, and a hand_voided notification is
 * published. */
void table_voided(struct table *t, int64_t hand_id);
/* The bots seated at the table. */
int table_bots(const struct table *t);
/* SHA-256 of a token (OpenSSL's libcrypto), as stored and compared. */
void table_token_hash(const char *token, unsigned char out[STORE_TOKEN_HASH_LEN]);
void table_free(struct table *t);
const struct table_config *table_config(const struct table *t);
/* Deals from a seeded generator instead of the OS CSPRNG: for tests only, never in feltd. */
void table_set_rng_seed(struct table *t, uint64_t seed);
/* Several nodes (cluster.c). table_stand_by: this node stops playing t at once (its lease is
 * lost, or it never had it): its timers stop, the hand in play is dropped (its chips are the
 * store's, as of the last completed hand; the next owner voids it), what waits in its outbox is
 * dropped, every seat is emptied and every player's socket closed (TABLE_DROP_MOVED: its client
 * reconnects, to the owner); spectators stay, resynchronised, and wait for the owner's mirror
 * (table_mirror_reset). Called again while it stands by, it empties what was restored since (a
 * take that came too late). Then table_restore and friends load it again from the store (its
 * new owner's take); table_own(t, write_seq) starts playing it once they are done, and its
 * spectators get its own snapshot. */
void table_stand_by(struct table *t, const char *why);
void table_own(struct table *t, int64_t write_seq);
bool table_standby(const struct table *t);
/* While held, t deals no new hand (the hand in play goes on to its end): how a node hands a
 * table over between two hands (cluster.c). Letting go schedules the next hand. */
void table_hold_deal(struct table *t, bool hold);
/* Whether t is between two hands with everything it wrote stored (its outbox empty): what a
 * node waits for before handing t over, so that the next owner takes exactly what was played. */
bool table_settled(const struct table *t);
/* How many of t's seats are people's (not bots): a node hands over the table that disturbs the
 * fewest. */
int table_people(const struct table *t);
/* The URL clients should use for t while it stands by here (NULL or "": unknown). */
void table_set_owner_url(struct table *t, const char *url);
/* While t stands by: its owner's entry of the lobby (render_lobby's JSON, len bytes), listed in
 * its place; NULL, or an entry that is not one of t's, lists t empty. */
void table_set_owner_lobby(struct table *t, const char *json, size_t len);
/* While t stands by, the owner's play is mirrored for the spectators here (relay.c): the
 * owner's public snapshot json (len bytes) as of seq, and then its public events in order.
 * table_mirror_reset starts the mirror again from the snapshot (the history is emptied, seq
 * becomes seq and every subscriber is resynchronised); table_mirror_snapshot only swaps in a
 * newer snapshot for the subscribers to come, and changes nothing (false) unless the history
 * goes on from it (seq between the oldest event held and table_seq); table_mirror_event
 * publishes the next event (seq table_seq + 1, its JSON an event of that seq: else -1, and
 * nothing changes); table_mirror_clear drops the snapshot, and resynchronises every subscriber:
 * they wait for the next reset. No-ops (-1, false) while t is played here. */
void table_mirror_reset(struct table *t, uint64_t seq, const char *json, size_t len);
bool table_mirror_snapshot(struct table *t, uint64_t seq, const char *json, size_t len);
int table_mirror_event(struct table *t, uint64_t seq, const char *json, size_t len);
void table_mirror_clear(struct table *t);
/* The seq of the mirror's snapshot (0: none). */
uint64_t table_mirror_seq(const struct table *t);
/* Several nodes: how many watch t on the other nodes (their spectators of its mirror), counted
 * in the snapshot, the lobby and the "spectators" notification; this node's own count is
 * t->nspectators. */
void table_set_remote_spectators(struct table *t, int n);
int table_local_spectators(const struct table *t);
/* An opaque pointer the cluster keeps with t (NULL until set). */
void table_set_node_data(struct table *t, void *data);
void *table_node_data(const struct table *t);

/* Seats a player. A human's join (bot false) from addr spends one of its join tokens and is
 * refused ("rate_limited", "too_many_seats") past the limits; addr may be NULL (no limits). sub
 * is the WebSocket the player joined through, which becomes theirs (NULL over HTTP). token (may
 * be NULL) is the token of a seat its holder left at this table: they sit down again as that
 * player (same id, same token) with the chips they left with, or buy_in if that is more (the
 * departure is then forgotten); a token the table does not know is ignored (a new player). */
struct player *table_join(struct table *t, const char *name, int64_t buy_in, bool bot,
                          const char *token, struct limit_addr *addr, struct table_sub *sub,
                          struct felt_err *err);
/* Remembers a stored departure after a restart (store_load_ops.departure). */
void table_departed(struct table *t, const char *player_id,
                    const unsigned char token_hash[STORE_TOKEN_HASH_LEN], int64_t stack);
struct player *table_player_by_id(struct table *t, const char *player_id, size_t len);
/* Constant-time token check; NULL when no player at this table has it. */
struct player *table_player_by_token(struct table *t, const char *token);
int table_sit_out(struct table *t, struct player *p, struct felt_err *err);
int table_sit_in(struct table *t, struct player *p, struct felt_err *err);
/* Leaves (at the end of the hand when still in it). Never refused; spends a join token of addr. */
int table_leave(struct table *t, struct player *p, struct limit_addr *addr, struct felt_err *err);
/* Applies an action and returns its ack (a new reference): a request_id seen before returns the
 * original ack and changes nothing. */
struct msg *table_act(struct table *t, struct player *p, const struct proto_cmsg *m);
/* Chat from a player, or from a spectator (p == NULL), sent from addr (may be NULL). Refused
 * ("chat_disabled", "rate_limited") by the spectator rule, the sender's own limit (the
 * player's, whatever the transport; for a spectator, `own`, its socket's), and the per-address
 * and per-table limits. */
int table_chat(struct table *t, struct player *p, struct limit_window *own,
               struct limit_addr *addr, const char *text, struct felt_err *err);

/* Presence. A player is connected while they have a WebSocket (attached after a valid hello or
 * a join through it) or, without one, while their HTTP requests come within
 * TABLE_POLL_PRESENCE_MS of each other; every change is published (player_connected,
 * player_disconnected). Attaching a socket drops the player's previous one
 * (TABLE_DROP_REPLACED). */
void table_attach(struct table *t, struct player *p, struct table_sub *s);
/* The socket s of p went away (nothing happens if it was not p's socket). */
void table_detach(struct table *t, struct player *p, struct table_sub *s);
/* A sign of life from a player's HTTP request. */
void table_seen(struct table *t, struct player *p);
/* Marks polling players whose requests stopped as disconnected, and stands up the players who
 * have been away (no WebSocket, no request) for idle_seat_secs. */
void table_sweep(struct table *t, int64_t now_ms);

/* Subscribers are woken (ops->wake) on every new event; spectator ones are counted. */
void table_subscribe(struct table *t, struct table_sub *s, bool spectator);
void table_unsubscribe(struct table *t, struct table_sub *s);
uint64_t table_seq(const struct table *t);  /* seq of the last event (0: none yet) */
struct event *table_event(struct table *t, uint64_t seq);
/* The whole table as `viewer` may see it (NULL: a spectator), as a snapshot message as of
 * *seq (the next event a reader wants is *seq + 1). NULL while there is none to give: t stands
 * by and mirrors nothing usable (table_snapshot_ready); the reader waits for a resync. */
struct msg *table_snapshot(struct table *t, const struct player *viewer, uint64_t *seq);
bool table_snapshot_ready(struct table *t);
/* The lobby entry for GET /api/games. */
struct json_object *table_lobby_json(const struct table *t);
/* Stops timers and bots; used at shutdown. */
void table_shutdown(struct table *t);

/* ---- lobby.c ---------------------------------------------------------------------------- */

void lobby_add(struct server *srv, struct table *t);
struct table *lobby_find(struct server *srv, const char *id, size_t len);
struct json_object *lobby_json(struct server *srv);
/* srv->node_urls as a JSON array, or NULL when there are none (one node). */
struct json_object *lobby_servers_json(const struct server *srv);
void lobby_free(struct server *srv);

/* ---- command.c -------------------------------------------------------------------------- */

/* Who sends a command. A WebSocket (conn.c) starts as CONN_PENDING (a player's socket before
 * hello) or CONN_SPECTATOR and becomes CONN_PLAYER; an HTTP request's connection is CONN_HTTP
 * and sends its command as CONN_PLAYER (with a player's bearer token) or CONN_SPECTATOR. */
enum conn_role { CONN_HTTP, CONN_PENDING, CONN_PLAYER, CONN_SPECTATOR };

struct command_ctx;

/* What the transport does with a command's outcome (conn.c for WebSocket, http.c for HTTP). */
struct command_ops {
    /* An answer for the sender alone (an ack, a pong); takes the reference. */
    void (*reply)(struct command_ctx *x, struct msg *m);
    /* The command was refused (code and message as in struct felt_err). */
    void (*refuse)(struct command_ctx *x, const char *code, const char *message);
    /* The command was taken and has no answer of its own (chat, sit_out, sit_in, leave). */
    void (*done)(struct command_ctx *x);
    /* join: the sender now holds p's seat, and alone may learn its token. */
    void (*seated)(struct command_ctx *x, struct player *p);
    /* hello: the sender proved it is p (already attached), or p is NULL: a wrong token.
     * WebSocket only: no HTTP route sends hello. */
    void (*hello)(struct command_ctx *x, struct player *p, const struct proto_cmsg *m);
};

/* One command from one sender, described by its transport. */
struct command_ctx {
    struct server *srv;
    struct table *table;
    enum conn_role role;
    struct player *player;      /* CONN_PLAYER: the sender */
    const char *claim;          /* CONN_PENDING: the player id the socket was opened for */
    struct limit_addr *addr;    /* the client's address, or NULL */
    struct limit_window *chat;  /* a spectator's own chat limit (its socket's), or NULL */
    struct table_sub *sub;      /* the sender's WebSocket subscription, or NULL (HTTP) */
    const struct command_ops *ops;
    void *owner;                /* the transport's object (struct conn, struct http_response) */
};

/* Checks that the sender's role may send m, then applies it; the outcome goes to x->ops. */
void command_run(struct command_ctx *x, const struct proto_cmsg *m);

/* ---- conn.c ----------------------------------------------------------------------------- */

#define CONN_MAX_REPLIES 32   /* unsent acks/errors/pongs; beyond it we stop reading */

/* What the network layer does for a connection (net.c provides it). Each op gets the
 * connection's `link`, the network layer's own handle, which only the network layer reads. */
struct conn_io {
    /* Asks for a write callback: conn_next() has something. */
    void (*wake)(void *link);
    /* Stops or resumes reading (flow control for unread replies). */
    void (*rx_pause)(void *link, bool pause);
};

/* A connection as the layers below the network see it. The transport's own state (the socket,
 * a fragmented message being joined, an HTTP request being read and answered) is net.c's,
 * behind `link`. */
struct conn {
    struct server *srv;
    const struct conn_io *io;
    void *link;                 /* the network layer's handle: opaque here, passed to io */
    enum conn_role role;
    struct table *table;
    struct player *player;      /* CONN_PLAYER: the owner (NULL once they left) */
    char claim[PLAYER_ID_LEN + 1]; /* CONN_PENDING: the player id in the URL, unproven; an id,
                                    * not a pointer, since the player may leave before hello */
    uint64_t next_seq;          /* next event to send; 0 while not subscribed */
    bool need_snapshot;         /* send a fresh snapshot before the next event */
    struct table_sub sub;       /* this connection's subscription to its table */
    struct conn *all_prev, *all_next; /* the server's list of WebSocket connections */
    struct msg *replies[CONN_MAX_REPLIES];
    int reply_head, reply_count;
    bool rx_paused;             /* reading stopped until replies drain */
    struct limit_window chat;   /* a spectator's chat limit (a player's is the player's) */
    int out_kind;               /* what conn_next() returned: see conn.c */
    struct msg *snap;           /* a snapshot being sent */
    uint64_t snap_seq;          /* its seq: the stream goes on after it */
    double flood_tokens;        /* token bucket for all messages */
    int64_t flood_ms;
    struct limit_addr *addr;    /* the client's address (lives as long as the socket), or NULL */
    struct timer *hello_timer;  /* CONN_PENDING: closes the socket if no hello comes */
    int close_code;             /* non-zero: close with this code on the next write */
    char close_reason[64];
    int64_t bad_messages;
};

/* A connection of `role` on the network layer's handle `link` (given back to io's ops, never
 * read here; it must outlive the connection); for WebSockets, at table t (a CONN_PENDING socket
 * claims to be player `claim`). A spectator starts its stream at once. */
struct conn *conn_new(struct server *srv, const struct conn_io *io, void *link,
                      enum conn_role role, struct table *t, const char *claim,
                      struct limit_addr *addr);
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

/* ---- http.c ----------------------------------------------------------------------------- */

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_OTHER };

struct http_later; /* an answer still being produced (http.c's own) */
struct http_response;
/* Called once, on the loop thread, with the answer of a request http_handle left for later;
 * the transport takes resp over (its body included). */
typedef void (*http_ready_fn)(void *arg, struct http_response *resp);

struct http_request {
    enum http_method method; /* HEAD is routed as GET; the network layer drops the body */
    const char *path;       /* without the query string */
    const char *query;      /* "since=12" or "" */
    const char *bearer;     /* token from Authorization: Bearer, or NULL */
    const char *body;
    size_t body_len;
    struct limit_addr *addr; /* the client's address (limit.c), or NULL */
    http_ready_fn ready;     /* brings an answer left for later (http_response.later) */
    void *ready_arg;
};


struct http_response {
    int status;
    const char *content_type;
    struct msg *body;       /* with MSG_HEADROOM, so it is written in place */
    const char *allow;      /* the Allow header of a 405 (static), or NULL */
    struct http_later *later; /* non-NULL: no answer yet, nothing else is set; the request's
                                 ready brings it */
};

/* A request that goes away before its later answer (the client hung up) is cancelled: ready is
 * never called, and the later frees itself. */
void http_later_cancel(struct http_later *later);

/* The largest request body the network layer reads (a longer one is answered with 413). */
#define HTTP_MAX_BODY PROTO_MAX_FRAME

/* Routes one request through the route table; always fills resp. This is all http.c sees of a
 * request: net.c reads it off the socket (into its own per-request state), passes it here as
 * values and writes resp out. */
void http_handle(struct server *srv, const struct http_request *req, struct http_response *resp);

/* ---- net.c ------------------------------------------------------------------------------ */

/* The event loop lws runs on: libev (epoll, through lws's evlib plugin; the default) or lws's
 * own poll() loop, which walks every descriptor on each wake-up (kept for comparison and for a
 * system without the plugin). */
enum net_event_lib { NET_EVENT_LIBEV, NET_EVENT_POLL };

struct net_options {
    const char *host;
    enum net_event_lib event_lib;
    int port;                  /* 0: any free port (printed on stdout) */
    const char *tls_cert, *tls_key;
    int ping_secs, hangup_secs;
    void (*on_ready)(struct server *srv); /* called once the context exists (seat bots...) */
    void (*on_stop)(struct server *srv);  /* the shutdown begins (before the tables stop); may
                                             be NULL */
};
/* Creates the context, serves until SIGINT/SIGTERM/SIGHUP, then closes every client with 1001.
 * Returns the process exit status. */
int net_run(struct server *srv, const struct net_options *o);
/* The libev loop net_run runs on, from on_ready to on_stop; NULL with --event-lib poll. */
struct ev_loop *net_loop(void);

/* ---- feltd.c: the server object --------------------------------------------------------- */

#define SERVER_EPOCH_BYTES 16 /* random bytes of a run's epoch (32 hex characters) */

#define SERVER_SECRET_BYTES 32 /* the nodes' shared secret (below) */

struct server {
    struct lws_context *ctx;
    /* This run's id, random: in every snapshot, and a hello or poll from another epoch gets a
     * snapshot instead of a replay, since seqs start again after a restart. */
    char epoch[2 * SERVER_EPOCH_BYTES + 1];
    struct table **tables;
    int ntables;
    struct metrics metrics;
    bool shutting_down;
    uint64_t next_uid;
    struct conn *conns_head;   /* every WebSocket connection, for shutdown */
    struct limits limits;
    struct limit_registry addrs; /* client addresses (limit.c) */
    struct store *store;       /* durable storage (store.h), or NULL: nothing kept */
    int conns_open;            /* accepted TCP connections still open */
    struct heartbeat hb;       /* pings and hang-ups of silent WebSockets (heartbeat.c) */
    /* Several nodes (cluster.c): whether this node may play t now (it holds t's lease); NULL:
     * always (one node). A table asks before it deals, acts or seats anyone (table.c). */
    bool (*may_play)(void *arg, const struct table *t);
    void *may_play_arg;
    /* Several nodes (relay.c): every event t publishes while played here, once, in seq order,
     * after it is in t's history; NULL: nobody is told (one node). */
    void (*published)(void *arg, struct table *t, struct event *ev);
    void *published_arg;
    /* Several nodes: every node's --advertise URL as last read from Redis (cluster.c owns the
     * strings); sent in the lobby and the join answer ("servers") so that clients learn them. */
    const char *const *node_urls;
    int nnode_urls;
    /* Several nodes: the secret the nodes share (felt:secret in Redis, cluster.c), which a
     * node's proxy (proxy.h) sends to the owner so that the owner takes the player's address
     * from it (X-Forwarded-For) rather than counting every player the node carries as one
     * client. "" until read. Never logged, never sent to a client. */
    char node_secret[2 * SERVER_SECRET_BYTES + 1];
};

#endif
