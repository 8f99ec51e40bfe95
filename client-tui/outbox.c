/*
 * outbox.c: what the player typed and the server has not confirmed yet.
 *
 * The outbox is a bounded FIFO (OUTBOX_MAX) of client messages, kept across any number of
 * reconnects and transports. Each item remembers whether it was written on the current connection
 * (sent) and, for items without a request_id (chat, sit_out, sit_in, leave), the id of the
 * "barrier" ping written after it, whose pong confirms it (session.c). An action's request_id,
 * hand_id and decision are fixed when it is typed, so writing it again after a reconnect is
 * applied at most once by the server, and only to the decision it was typed for.
 *
 * Items are encoded here, once, the same for every transport (a WebSocket frame or an HTTP POST
 * body), so the transports depend on the outbox and not on the session. No I/O.
 */
#include <stdio.h>
#include <string.h>

#include "client.h"

char *outbox_item_encode(const struct outbox_item *it)
{
    struct proto_cmsg m;
    memset(&m, 0, sizeof(m));
    m.type = it->type;
    m.action = it->action;
    m.has_amount = it->has_amount;
    m.amount = it->amount;
    memcpy(m.request_id, it->request_id, sizeof(m.request_id));
    m.has_hand_id = it->has_hand_id;
    m.hand_id = it->hand_id;
    m.has_decision = it->has_decision;
    m.decision = it->decision;
    memcpy(m.text, it->text, sizeof(m.text));
    return proto_encode_client(&m);
}

const char *outbox_item_what(const struct outbox_item *it, char *buf, size_t n)
{
    if (it->type != PROTO_C_ACTION)
        snprintf(buf, n, "%s", proto_ctype_name(it->type));
    else if (it->action == ENGINE_RAISE)
        snprintf(buf, n, "raise to %lld", (long long)it->amount);
    else
        snprintf(buf, n, "%s", engine_action_name(it->action));
    return buf;
}

int outbox_push(struct outbox *o, const struct outbox_item *it)
{
    if (o->n == OUTBOX_MAX)
        return -1;
    o->e[o->n].it = *it;
    o->e[o->n].it.sent = false;
    o->e[o->n].barrier = 0;
    o->n++;
    return 0;
}

void outbox_remove(struct outbox *o, size_t i)
{
    FELT_ASSERT(i < o->n);
    memmove(&o->e[i], &o->e[i + 1], (o->n - i - 1) * sizeof(o->e[0]));
    o->n--;
}

void outbox_unsend(struct outbox *o)
{
    for (size_t i = 0; i < o->n; i++) {
        o->e[i].it.sent = false;
        o->e[i].barrier = 0;
    }
}

void outbox_clear(struct outbox *o)
{
    o->n = 0;
}
