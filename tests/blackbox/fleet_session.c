/*
 * fleet_session.c: the in-process bots (fleet_internal.h) run felt's own client core, one
 * struct session (client-tui/client.h, the felt_client library) per player or spectator, on the
 * fleet's loop. The session joins over HTTP (through the proxy, like felt), says hello with the
 * seq of the last event its model applied on every new socket, resumes, and writes what is still
 * in its outbox once more after each resume (an action with its original request_id and
 * hand_id). So the fault tests check felt's resume and exactly-once resending, not a copy of
 * them. The fleet only chooses the actions (fleet_bot.c; they carry the fleet's request_ids, so
 * that it can follow each one's acks), sees every message the session decoded before the session
 * reacts to it (on_received: also an event the model refused for a gap) and follows the
 * connection state (on_state).
 *
 * Half the bots offer permessage-deflate and half do not (felt always does; other clients may
 * not). The sessions keep their tokens in felt's token store under $XDG_STATE_HOME, which
 * fleet_run points at the test's temporary directory.
 */
#include "fleet_internal.h"

#include <stdio.h>
#include <string.h>

static void fl_session_received(void *user, const struct proto_smsg *m, enum model_result r)
{
    fl_bot_receive(user, m, r);
}

static void fl_session_state(void *user, const struct session_status *st)
{
    struct fl_bot *b = user;
    switch (st->state) {
    case SESSION_CONNECTED:
        fl_bot_connected(b);
        break;
    case SESSION_CONNECTING:
    case SESSION_RECONNECTING:
        fl_bot_disconnected(b);
        break;
    default: /* OFFLINE, REJECTED, FAILED: the session gave up (said once) */
        if (!b->gave_up)
            fl_bad(b, "felt's session is %s: %s", session_state_name(st->state), st->reason);
        b->gave_up = true;
        fl_bot_disconnected(b);
        break;
    }
}

int fl_session_start_all(struct fleet *f)
{
    char server[64];
    snprintf(server, sizeof(server), "ws://127.0.0.1:%d", f->o->client_port);
    for (int i = 0; i < f->nbots; i++) {
        struct fl_bot *b = &f->bots[i];
        struct felt_err err;
        if (b->felt) continue;
        struct session_options so = {
            .server = server,
            .game = b->t->id,
            .name = b->name,
            .buy_in = f->o->buy_in,
            .spectate = b->spectator,
            .transport = SESSION_TRANSPORT_WS,
            .no_deflate = b->idx % 2 != 0,
        };
        b->s = session_new(f->loop, &so, &err);
        if (!b->s) {
            fl_fail(f, "%s: session_new: %s", b->name, err.message);
            return -1;
        }
        struct session_callbacks cb = {
            .user = b,
            .on_received = fl_session_received,
            .on_state = fl_session_state,
        };
        session_set_callbacks(b->s, &cb);
        b->view = session_model(b->s);
        session_start(b->s);
    }
    return 0;
}

void fl_session_act(struct fl_bot *b, const struct fl_action *a)
{
    struct proto_cmsg m;
    struct felt_err err;
    memset(&m, 0, sizeof(m));
    m.type = PROTO_C_ACTION;
    m.action = a->action;
    if (a->action == ENGINE_RAISE) {
        m.has_amount = true;
        m.amount = a->amount;
    }
    m.has_hand_id = true;
    m.hand_id = a->hand_id;
    snprintf(m.request_id, sizeof(m.request_id), "%s", a->rid);
    if (session_send(b->s, &m, &err) != 0)
        fl_bad(b, "felt refused to queue %s: %s", a->rid, err.message);
}

void fl_session_sit_out(struct fl_bot *b)
{
    struct felt_err err;
    if (session_sit_out(b->s, &err) != 0)
        fl_bad(b, "felt refused to queue sit_out: %s", err.message);
}

/* The loop has gone (it owned the sockets); the sessions' requests still held are inert. */
void fl_session_free_all(struct fleet *f)
{
    for (int i = 0; i < f->nbots; i++) {
        session_free(f->bots[i].s);
        f->bots[i].s = NULL;
    }
}
