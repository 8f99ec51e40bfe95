/*
 * command.c: the client commands, in one table that serves the WebSocket (conn.c) and the HTTP
 * fallback (http.c).
 *
 * command_handlers[] is a const table keyed by message type: the roles that may send each
 * command and the function that applies it. A transport decodes the message, says who sent it
 * (struct command_ctx: role, player, address, its own chat limit and subscription) and gets the
 * outcome back through its struct command_ops: an answer for the sender (ack, pong), a refusal
 * (code and message), "done", a new seat, or a hello's verdict. So the rules (who may do what,
 * the chat limits, the exactly-once actions) are the same whatever the transport, and each
 * transport only decides how an outcome looks on its wire.
 */
#include <string.h>

#include "server.h"

static void command_hello(struct command_ctx *x, const struct proto_cmsg *m)
{
    if (x->role != CONN_PENDING) {
        x->ops->refuse(x, "already_authenticated", "hello was already accepted");
        return;
    }
    struct player *p = table_player_by_id(x->table, x->claim, strlen(x->claim));
    if (!p || table_player_by_token(x->table, m->token) != p) {
        x->srv->metrics.hellos_rejected++;
        log_line(LOG_DEBUG, "rejected a hello for player %s", x->claim);
        x->ops->hello(x, NULL, m);
        return;
    }
    table_attach(x->table, p, x->sub);
    x->ops->hello(x, p, m);
}

static void command_join(struct command_ctx *x, const struct proto_cmsg *m)
{
    struct felt_err err;
    struct player *p = table_join(x->table, m->name, m->buy_in, false,
                                  m->token[0] ? m->token : NULL, x->addr, x->sub, &err);
    if (!p)
        x->ops->refuse(x, err.code, err.message);
    else
        x->ops->seated(x, p);
}

static void command_action(struct command_ctx *x, const struct proto_cmsg *m)
{
    x->ops->reply(x, table_act(x->table, x->player, m));
}

/* The outcome of a table_* call that answers nothing when it works. */
static void command_outcome(struct command_ctx *x, int rc, const struct felt_err *err)
{
    if (rc != 0)
        x->ops->refuse(x, err->code, err->message);
    else
        x->ops->done(x);
}

static void command_chat(struct command_ctx *x, const struct proto_cmsg *m)
{
    struct felt_err err;
    int rc = table_chat(x->table, x->player, x->chat, x->addr, m->text, &err);
    command_outcome(x, rc, &err);
}

static void command_sit_out(struct command_ctx *x, const struct proto_cmsg *m)
{
    struct felt_err err;
    (void)m;
    command_outcome(x, table_sit_out(x->table, x->player, &err), &err);
}

static void command_sit_in(struct command_ctx *x, const struct proto_cmsg *m)
{
    struct felt_err err;
    (void)m;
    command_outcome(x, table_sit_in(x->table, x->player, &err), &err);
}

static void command_leave(struct command_ctx *x, const struct proto_cmsg *m)
{
    struct felt_err err;
    (void)m;
    command_outcome(x, table_leave(x->table, x->player, x->addr, &err), &err);
}

static void command_ping(struct command_ctx *x, const struct proto_cmsg *m)
{
    size_t len;
    char *s = proto_encode_pong(m->ping_id, &len);
    x->ops->reply(x, msg_from_string(s, len));
}

#define R_PENDING (1u << CONN_PENDING)
#define R_PLAYER (1u << CONN_PLAYER)
#define R_SPECTATOR (1u << CONN_SPECTATOR)
#define R_ANY (R_PENDING | R_PLAYER | R_SPECTATOR)

static const struct {
    void (*fn)(struct command_ctx *x, const struct proto_cmsg *m);
    unsigned roles; /* which roles may send this type */
} command_handlers[PROTO_C_COUNT] = {
    [PROTO_C_HELLO] = {command_hello, R_PENDING | R_PLAYER},
    [PROTO_C_JOIN] = {command_join, R_SPECTATOR},
    [PROTO_C_ACTION] = {command_action, R_PLAYER},
    [PROTO_C_CHAT] = {command_chat, R_PLAYER | R_SPECTATOR},
    [PROTO_C_SIT_OUT] = {command_sit_out, R_PLAYER},
    [PROTO_C_SIT_IN] = {command_sit_in, R_PLAYER},
    [PROTO_C_LEAVE] = {command_leave, R_PLAYER},
    [PROTO_C_PING] = {command_ping, R_ANY},
};

/* What a role is told when it sends a type it may not. */
static const struct {
    const char *code, *message;
} command_role_refusals[] = {
    [CONN_HTTP] = {"not_allowed", "that message is not allowed here"},
    [CONN_PENDING] = {"hello_required", "send hello with your token first"},
    [CONN_PLAYER] = {"not_allowed", "that message is not allowed here"},
    [CONN_SPECTATOR] = {"spectator", "spectators cannot do that"},
};

void command_run(struct command_ctx *x, const struct proto_cmsg *m)
{
    FELT_ASSERT((unsigned)m->type < PROTO_C_COUNT && command_handlers[m->type].fn);
    if (!(command_handlers[m->type].roles & (1u << x->role))) {
        x->ops->refuse(x, command_role_refusals[x->role].code,
                       command_role_refusals[x->role].message);
        return;
    }
    /* A player's socket whose player left is closing and reads nothing more (conn.c). */
    FELT_ASSERT(x->role != CONN_PLAYER || x->player != NULL);
    command_handlers[m->type].fn(x, m);
}
