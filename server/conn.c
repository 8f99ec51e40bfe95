/*
 * conn.c: one client connection of feltd, independent of libwebsockets.
 *
 * A connection is a player's socket (CONN_PENDING until a valid hello, then CONN_PLAYER), a
 * spectator's socket, or an HTTP request. Client messages are decoded by the protocol codec and
 * dispatched through conn_handlers[], a const table keyed by message type that also says which
 * roles may send each type.
 *
 * Output is pulled, never pushed: net.c asks conn_next() for one message per WRITEABLE
 * callback. Per-connection replies (ack, error, pong) come first, from a bounded queue; then a
 * snapshot when one is due; then the table's events, read through this connection's cursor
 * (next_seq) into the table's shared history. Nothing is copied per connection, so a reader that
 * stops reading costs nothing but its cursor: when the history moves past it, it gets a snapshot.
 * When the reply queue is full we stop reading from the socket (flow control), so a client that
 * floods without reading cannot grow our memory either.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "server.h"

enum { OUT_NONE, OUT_REPLY, OUT_SNAPSHOT, OUT_EVENT };

/* Whole-connection flood limit: a sustained rate and a burst, in messages. */
#define CONN_FLOOD_RATE 50.0
#define CONN_FLOOD_BURST 100.0

/* A player's socket that has not said hello in time: closed, so an unauthenticated socket
 * cannot sit on a descriptor for as long as it answers pings. */
static void conn_hello_late(void *arg)
{
    struct conn *c = arg;
    if (c->role == CONN_PENDING)
        conn_close(c, 4408, "no hello in time");
}

struct conn *conn_new(struct server *srv, struct lws *wsi, enum conn_role role)
{
    struct conn *c = xcalloc(1, sizeof(*c));
    c->srv = srv;
    c->wsi = wsi;
    c->role = role;
    c->flood_tokens = CONN_FLOOD_BURST;
    c->flood_ms = felt_now_ms();
    srv->metrics.conns[role]++;
    if (role == CONN_PENDING) {
        c->hello_timer = net_timer_new(srv, conn_hello_late, c);
        net_timer_arm(c->hello_timer, (int64_t)srv->limits.hello_secs * 1000);
    }
    if (role != CONN_HTTP) {
        c->all_next = srv->conns_head;
        if (srv->conns_head)
            srv->conns_head->all_prev = c;
        srv->conns_head = c;
    }
    return c;
}

static void conn_drop_player(struct conn *c, bool presence)
{
    struct player *p = c->player;
    if (!p)
        return;
    c->player = NULL;
    if (p->conn == c) {
        p->conn = NULL;
        if (presence && c->role == CONN_PLAYER && !c->srv->shutting_down)
            table_presence(p->table, p, false);
    }
}

void conn_free(struct conn *c)
{
    if (!c)
        return;
    net_timer_free(c->hello_timer);
    if (c->table)
        table_unsubscribe(c->table, c);
    conn_drop_player(c, true);
    c->srv->metrics.conns[c->role]--;
    if (c->role != CONN_HTTP) {
        if (c->all_prev)
            c->all_prev->all_next = c->all_next;
        else
            c->srv->conns_head = c->all_next;
        if (c->all_next)
            c->all_next->all_prev = c->all_prev;
    }
    while (c->reply_count > 0) {
        msg_unref(c->replies[c->reply_head]);
        c->reply_head = (c->reply_head + 1) % CONN_MAX_REPLIES;
        c->reply_count--;
    }
    msg_unref(c->snap);
    free(c->rx);
    if (c->http) {
        free(c->http->body);
        msg_unref(c->http->resp.body);
        free(c->http);
    }
    free(c);
}

void conn_wake(struct conn *c)
{
    net_wake(c);
}

void conn_reply(struct conn *c, struct msg *m)
{
    if (c->reply_count == CONN_MAX_REPLIES) {
        /* Only reachable with frames lws had already buffered when reading was paused. */
        msg_unref(m);
        return;
    }
    c->replies[(c->reply_head + c->reply_count) % CONN_MAX_REPLIES] = m;
    c->reply_count++;
    if (c->reply_count >= CONN_MAX_REPLIES - 1 && !c->rx_paused) {
        c->rx_paused = true;
        net_rx_pause(c, true);
    }
    conn_wake(c);
}

void conn_reply_error(struct conn *c, const char *code, const char *message)
{
    size_t len;
    char *s = proto_encode_error(code, message, &len);
    conn_reply(c, msg_from_string(s, len));
}

void conn_close(struct conn *c, int code, const char *reason)
{
    if (c->close_code)
        return;
    c->close_code = code;
    snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason);
    if (c->table && c->role == CONN_SPECTATOR)
        table_unsubscribe(c->table, c);
    conn_wake(c);
}

bool conn_chat_allowed(int64_t ring[CONN_CHAT_BURST], int *next, int64_t now_ms)
{
    /* ring[*next] is the oldest of the last CONN_CHAT_BURST messages. */
    if (ring[*next] != 0 && now_ms - ring[*next] < CONN_CHAT_WINDOW_MS)
        return false;
    ring[*next] = now_ms;
    *next = (*next + 1) % CONN_CHAT_BURST;
    return true;
}

void conn_start_stream(struct conn *c, bool has_last_seq, uint64_t last_seq)
{
    struct table *t = c->table;
    uint64_t now = table_seq(t);
    if (!c->subscribed)
        table_subscribe(t, c);
    if (has_last_seq && last_seq <= now && (last_seq == now || table_event(t, last_seq + 1))) {
        c->next_seq = last_seq + 1;
        c->need_snapshot = false;
        c->srv->metrics.resumes++;
    } else {
        c->need_snapshot = true;
        if (has_last_seq)
            c->srv->metrics.resume_snapshots++;
    }
    conn_wake(c);
}

/* ---- handlers, one per client message type --------------------------------------------- */

static void conn_on_hello(struct conn *c, const struct proto_cmsg *m)
{
    if (c->role != CONN_PENDING) {
        conn_reply_error(c, "already_authenticated", "hello was already accepted");
        return;
    }
    struct player *p = table_player_by_id(c->table, c->claim, strlen(c->claim));
    if (!p || table_player_by_token(c->table, m->token) != p) {
        c->srv->metrics.hellos_rejected++;
        server_log(c->srv, LOG_VERBOSE, "rejected a hello for player %s", c->claim);
        conn_close(c, 4401, "invalid token");
        return;
    }
    bool was_connected = p->conn != NULL;
    if (p->conn) {
        struct conn *old = p->conn;
        old->player = NULL;
        p->conn = NULL;
        table_unsubscribe(old->table, old);
        conn_close(old, 4409, "replaced by a newer connection");
    }
    net_timer_free(c->hello_timer);
    c->hello_timer = NULL;
    c->srv->metrics.conns[c->role]--;
    c->role = CONN_PLAYER;
    c->srv->metrics.conns[c->role]++;
    c->player = p;
    p->conn = c;
    if (!was_connected)
        table_presence(c->table, p, true);
    conn_start_stream(c, m->has_last_seq, m->last_seq);
}

static void conn_on_join(struct conn *c, const struct proto_cmsg *m)
{
    struct felt_err err;
    struct player *p = table_join(c->table, m->name, m->buy_in, false, c->addr, &err);
    if (!p) {
        conn_reply_error(c, err.code, err.message);
        return;
    }
    /* The spectator socket becomes this player's socket; the token goes to it alone. */
    table_unsubscribe(c->table, c);
    c->srv->metrics.conns[c->role]--;
    c->role = CONN_PLAYER;
    c->srv->metrics.conns[c->role]++;
    c->player = p;
    p->conn = c;
    struct json_object *d = json_object_new_object();
    json_object_object_add(d, "request_id", json_object_new_string(""));
    json_object_object_add(d, "status", json_object_new_string("accepted"));
    json_object_object_add(d, "player_id", json_object_new_string(p->id));
    json_object_object_add(d, "token", json_object_new_string(p->token));
    json_object_object_add(d, "seat", json_object_new_int(p->seat));
    json_object_object_add(d, "name", json_object_new_string(p->name));
    size_t len;
    char *s = proto_encode_server(PROTO_S_ACK, 0, felt_now_ms(), d, &len);
    conn_reply(c, msg_from_string(s, len));
    conn_start_stream(c, false, 0);
}

static void conn_on_action(struct conn *c, const struct proto_cmsg *m)
{
    conn_reply(c, table_act(c->table, c->player, m));
}

static void conn_on_chat(struct conn *c, const struct proto_cmsg *m)
{
    struct felt_err err;
    if (!conn_chat_allowed(c->chat_ms, &c->chat_next, felt_now_ms())) {
        conn_reply_error(c, "rate_limited", "at most 5 chat messages per 10 seconds");
        return;
    }
    if (table_chat(c->table, c->player, c->addr, m->text, &err) != 0)
        conn_reply_error(c, err.code, err.message);
}

static void conn_on_sit_out(struct conn *c, const struct proto_cmsg *m)
{
    struct felt_err err;
    (void)m;
    if (table_sit_out(c->table, c->player, &err) != 0)
        conn_reply_error(c, err.code, err.message);
}

static void conn_on_sit_in(struct conn *c, const struct proto_cmsg *m)
{
    struct felt_err err;
    (void)m;
    if (table_sit_in(c->table, c->player, &err) != 0)
        conn_reply_error(c, err.code, err.message);
}

static void conn_on_leave(struct conn *c, const struct proto_cmsg *m)
{
    struct felt_err err;
    (void)m;
    if (table_leave(c->table, c->player, c->addr, &err) != 0)
        conn_reply_error(c, err.code, err.message);
}

static void conn_on_ping(struct conn *c, const struct proto_cmsg *m)
{
    size_t len;
    char *s = proto_encode_pong(m->ping_id, &len);
    conn_reply(c, msg_from_string(s, len));
}

#define R_PENDING (1u << CONN_PENDING)
#define R_PLAYER (1u << CONN_PLAYER)
#define R_SPECTATOR (1u << CONN_SPECTATOR)
#define R_ANY (R_PENDING | R_PLAYER | R_SPECTATOR)

static const struct {
    void (*fn)(struct conn *c, const struct proto_cmsg *m);
    unsigned roles; /* which roles may send this type */
} conn_handlers[PROTO_C_COUNT] = {
    [PROTO_C_HELLO] = {conn_on_hello, R_PENDING | R_PLAYER},
    [PROTO_C_JOIN] = {conn_on_join, R_SPECTATOR},
    [PROTO_C_ACTION] = {conn_on_action, R_PLAYER},
    [PROTO_C_CHAT] = {conn_on_chat, R_PLAYER | R_SPECTATOR},
    [PROTO_C_SIT_OUT] = {conn_on_sit_out, R_PLAYER},
    [PROTO_C_SIT_IN] = {conn_on_sit_in, R_PLAYER},
    [PROTO_C_LEAVE] = {conn_on_leave, R_PLAYER},
    [PROTO_C_PING] = {conn_on_ping, R_ANY},
};

/* Refills the token bucket and takes one token; false when the client is flooding. */
static bool conn_flood_allowed(struct conn *c)
{
    int64_t now = felt_now_ms();
    c->flood_tokens += (double)(now - c->flood_ms) * CONN_FLOOD_RATE / 1000.0;
    if (c->flood_tokens > CONN_FLOOD_BURST)
        c->flood_tokens = CONN_FLOOD_BURST;
    c->flood_ms = now;
    if (c->flood_tokens < 1.0)
        return false;
    c->flood_tokens -= 1.0;
    return true;
}

void conn_on_message(struct conn *c, const char *buf, size_t len)
{
    struct proto_cmsg m;
    struct felt_err err;

    c->srv->metrics.msgs_in++;
    c->srv->metrics.bytes_in += len;
    if (c->close_code || c->role == CONN_HTTP)
        return;
    if (!conn_flood_allowed(c)) {
        conn_reply_error(c, "rate_limited", "too many messages; slow down");
        return;
    }
    if (proto_decode_client(buf, len, &m, &err) != 0) {
        c->bad_messages++;
        conn_reply_error(c, err.code, err.message);
        return;
    }
    if (!(conn_handlers[m.type].roles & (1u << c->role))) {
        if (c->role == CONN_PENDING)
            conn_reply_error(c, "hello_required", "send hello with your token first");
        else if (c->role == CONN_SPECTATOR)
            conn_reply_error(c, "spectator", "spectators cannot do that");
        else
            conn_reply_error(c, "not_allowed", "that message is not allowed here");
        return;
    }
    conn_handlers[m.type].fn(c, &m);
}

/* ---- output ---------------------------------------------------------------------------- */

const struct msg *conn_next(struct conn *c)
{
    struct table *t = c->table;
    c->out_kind = OUT_NONE;
    if (c->reply_count > 0) {
        c->out_kind = OUT_REPLY;
        return c->replies[c->reply_head];
    }
    if (c->close_code || !c->subscribed)
        return NULL;
    if (!c->need_snapshot && c->next_seq <= table_seq(t) && !table_event(t, c->next_seq))
        c->need_snapshot = true; /* fell behind the history: resynchronise */
    if (c->need_snapshot) {
        msg_unref(c->snap);
        c->snap = table_snapshot(t, c->role == CONN_PLAYER ? c->player : NULL);
        c->out_kind = OUT_SNAPSHOT;
        return c->snap;
    }
    if (c->next_seq == 0 || c->next_seq > table_seq(t))
        return NULL;
    struct event *ev = table_event(t, c->next_seq);
    c->out_kind = OUT_EVENT;
    if (ev->from_action && ev->type == PROTO_S_STATE_UPDATE)
        metrics_latency(&c->srv->metrics, felt_mono_us() - ev->created_us);
    return event_msg_for(ev, c->role == CONN_PLAYER && c->player ? c->player->uid : 0);
}

void conn_sent(struct conn *c)
{
    switch (c->out_kind) {
    case OUT_REPLY:
        msg_unref(c->replies[c->reply_head]);
        c->reply_head = (c->reply_head + 1) % CONN_MAX_REPLIES;
        c->reply_count--;
        if (c->rx_paused && c->reply_count <= CONN_MAX_REPLIES / 2) {
            c->rx_paused = false;
            net_rx_pause(c, false);
        }
        break;
    case OUT_SNAPSHOT:
        msg_unref(c->snap);
        c->snap = NULL;
        c->need_snapshot = false;
        c->next_seq = table_seq(c->table) + 1;
        break;
    case OUT_EVENT:
        c->next_seq++;
        break;
    }
    c->out_kind = OUT_NONE;
}

bool conn_pending(const struct conn *c)
{
    if (c->reply_count > 0)
        return true;
    if (c->close_code || !c->subscribed)
        return false;
    return c->need_snapshot || (c->next_seq != 0 && c->next_seq <= table_seq(c->table));
}
