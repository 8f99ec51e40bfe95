/*
 * conn.c: one client connection of feltd, independent of libwebsockets.
 *
 * A connection is a player's socket (CONN_PENDING until a valid hello, then CONN_PLAYER), a
 * spectator's socket, or an HTTP request. Client messages are decoded by the protocol codec and
 * run through command.c's table, with this connection as their sender; what comes back (acks,
 * errors, pongs, a new seat) is turned into replies here.
 *
 * Output is pulled, never pushed: the network layer asks conn_next() for one message per
 * WRITEABLE callback. Per-connection replies (ack, error, pong) come first, from a bounded
 * queue; then a snapshot when one is due; then the table's events, read through this
 * connection's cursor (next_seq) into the table's shared history. Nothing is copied per
 * connection, so a reader that stops reading costs nothing but its cursor: when the history
 * moves past it, it gets a snapshot. When the reply queue is full we stop reading from the
 * socket (flow control), so a client that floods without reading cannot grow our memory either.
 *
 * The network layer is reached only through the struct conn_io it passed in, with the opaque
 * handle (link) it passed along, which is never read here: the socket, the joining of
 * fragmented messages and an HTTP request's reading and writing are net.c's. The table reaches
 * a connection only through its table_sub (conn_sub_ops).
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

static struct conn *conn_of_sub(struct table_sub *s)
{
    return (struct conn *)((char *)s - offsetof(struct conn, sub));
}

/* A new event or reply is available: ask the network layer for a write. */
static void conn_wake(struct conn *c)
{
    c->io->wake(c->link);
}

static void conn_sub_wake(struct table_sub *s)
{
    conn_wake(conn_of_sub(s));
}

static void conn_sub_resync(struct table_sub *s)
{
    struct conn *c = conn_of_sub(s);
    c->need_snapshot = true;
    conn_wake(c);
}

static void conn_sub_dropped(struct table_sub *s, enum table_drop why, const char *reason)
{
    struct conn *c = conn_of_sub(s);
    c->player = NULL;
    table_unsubscribe(c->table, &c->sub);
    /* 1012 (service restart): a client connects again, and finds the table's owner. */
    conn_close(c, why == TABLE_DROP_REPLACED ? 4409 : why == TABLE_DROP_MOVED ? 1012 : 1000,
               reason);
}

static const struct table_sub_ops conn_sub_ops = {
    .wake = conn_sub_wake,
    .resync = conn_sub_resync,
    .dropped = conn_sub_dropped,
};

/* Subscribes to the table's events, resuming after last_seq if the history still holds
 * everything after it, else starting with a snapshot. */
static void conn_start_stream(struct conn *c, bool has_last_seq, uint64_t last_seq)
{
    struct table *t = c->table;
    uint64_t now = table_seq(t);
    if (!c->sub.subscribed)
        table_subscribe(t, &c->sub, c->role == CONN_SPECTATOR);
    /* A table standing by mirrors its owner's events, whose seqs start again with every new
     * owner: a resume there is always a snapshot, never a guess across owners. */
    if (has_last_seq && !table_standby(t) && last_seq <= now &&
        (last_seq == now || table_event(t, last_seq + 1))) {
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

/* A player's socket that has not said hello in time: closed, so an unauthenticated socket
 * cannot sit on a descriptor for as long as it answers pings. */
static void conn_hello_late(void *arg)
{
    struct conn *c = arg;
    if (c->role == CONN_PENDING)
        conn_close(c, 4408, "no hello in time");
}

struct conn *conn_new(struct server *srv, const struct conn_io *io, void *link,
                      enum conn_role role, struct table *t, const char *claim,
                      struct limit_addr *addr)
{
    struct conn *c = xcalloc(1, sizeof(*c));
    c->srv = srv;
    c->io = io;
    c->link = link;
    c->role = role;
    c->table = t;
    c->addr = addr;
    c->sub.ops = &conn_sub_ops;
    c->flood_tokens = CONN_FLOOD_BURST;
    c->flood_ms = timer_wall_ms();
    if (claim)
        snprintf(c->claim, sizeof(c->claim), "%s", claim); /* hello proves it with the token */
    srv->metrics.conns[role]++;
    if (role == CONN_PENDING) {
        c->hello_timer = timer_new(conn_hello_late, c);
        timer_arm(c->hello_timer, (int64_t)srv->limits.hello_secs * 1000);
    }
    if (role != CONN_HTTP) {
        c->all_next = srv->conns_head;
        if (srv->conns_head)
            srv->conns_head->all_prev = c;
        srv->conns_head = c;
    }
    if (role == CONN_SPECTATOR)
        conn_start_stream(c, false, 0);
    return c;
}

void conn_free(struct conn *c)
{
    if (!c)
        return;
    timer_free(c->hello_timer);
    if (c->table)
        table_unsubscribe(c->table, &c->sub);
    if (c->player) {
        table_detach(c->table, c->player, &c->sub);
        c->player = NULL;
    }
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
    free(c);
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
        c->io->rx_pause(c->link, true);
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
        table_unsubscribe(c->table, &c->sub);
    conn_wake(c);
}

/* ---- command outcomes, as WebSocket replies -------------------------------------------- */

static void conn_cmd_reply(struct command_ctx *x, struct msg *m)
{
    conn_reply(x->owner, m);
}

static void conn_cmd_refuse(struct command_ctx *x, const char *code, const char *message)
{
    conn_reply_error(x->owner, code, message);
}

static void conn_cmd_done(struct command_ctx *x)
{
    (void)x; /* the events the command caused are the answer */
}

static void conn_set_role(struct conn *c, enum conn_role role)
{
    c->srv->metrics.conns[c->role]--;
    c->role = role;
    c->srv->metrics.conns[c->role]++;
}

/* A join on a spectator's socket: the socket becomes this player's; the token goes to it alone. */
static void conn_cmd_seated(struct command_ctx *x, struct player *p)
{
    struct conn *c = x->owner;
    table_unsubscribe(c->table, &c->sub);
    conn_set_role(c, CONN_PLAYER);
    c->player = p;
    size_t len;
    char *s = proto_encode_seat(true, p->id, p->token, p->seat, p->name, &len);
    conn_reply(c, msg_from_string(s, len));
    conn_start_stream(c, false, 0);
}

static void conn_cmd_hello(struct command_ctx *x, struct player *p, const struct proto_cmsg *m)
{
    struct conn *c = x->owner;
    if (!p) {
        conn_close(c, 4401, "invalid token");
        return;
    }
    timer_free(c->hello_timer);
    c->hello_timer = NULL;
    conn_set_role(c, CONN_PLAYER);
    c->player = p;
    /* A last_seq from another run of the server counts for nothing: its seqs started again. */
    bool same_run = !m->epoch[0] || strcmp(m->epoch, c->srv->epoch) == 0;
    conn_start_stream(c, m->has_last_seq && same_run, m->last_seq);
}

static const struct command_ops conn_command_ops = {
    .reply = conn_cmd_reply,
    .refuse = conn_cmd_refuse,
    .done = conn_cmd_done,
    .seated = conn_cmd_seated,
    .hello = conn_cmd_hello,
};

/* Refills the token bucket and takes one token; false when the client is flooding. */
static bool conn_flood_allowed(struct conn *c)
{
    int64_t now = timer_wall_ms();
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
    if (c->table && table_standby(c->table) && c->role != CONN_SPECTATOR) {
        /* Opened while this node played the table (a socket still before its hello): its
         * client connects again, and finds the owner. Spectators watch the mirror. */
        conn_close(c, 1012, "the table moved to another server");
        return;
    }
    if (!conn_flood_allowed(c)) {
        conn_reply_error(c, "rate_limited", "too many messages; slow down");
        return;
    }
    if (proto_decode_client(buf, len, &m, &err) != 0) {
        c->bad_messages++;
        conn_reply_error(c, err.code, err.message);
        return;
    }
    struct command_ctx x = {
        .srv = c->srv,
        .table = c->table,
        .role = c->role,
        .player = c->player,
        .claim = c->claim,
        .addr = c->addr,
        .chat = &c->chat,
        .sub = &c->sub,
        .ops = &conn_command_ops,
        .owner = c,
    };
    command_run(&x, &m);
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
    if (c->close_code || !c->sub.subscribed)
        return NULL;
    if (!c->need_snapshot && c->next_seq <= table_seq(t) && !table_event(t, c->next_seq))
        c->need_snapshot = true; /* fell behind the history: resynchronise */
    if (c->need_snapshot) {
        msg_unref(c->snap);
        c->snap = table_snapshot(t, c->role == CONN_PLAYER ? c->player : NULL, &c->snap_seq);
        if (!c->snap) /* a mirror not there yet: its resync wakes us */
            return NULL;
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
            c->io->rx_pause(c->link, false);
        }
        break;
    case OUT_SNAPSHOT:
        msg_unref(c->snap);
        c->snap = NULL;
        c->need_snapshot = false;
        c->next_seq = c->snap_seq + 1;
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
    if (c->close_code || !c->sub.subscribed)
        return false;
    if (c->need_snapshot)
        return table_snapshot_ready(c->table);
    return c->next_seq != 0 && c->next_seq <= table_seq(c->table);
}
