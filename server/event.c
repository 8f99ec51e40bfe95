/*
 * event.c: immutable, refcounted messages and table events.
 *
 * A message is serialized once and shared by every connection that sends it, with MSG_HEADROOM
 * bytes in front for the WebSocket header so lws can frame it in place. An event carries a public
 * rendering and optional private ones keyed by player uid: privacy is decided when the event is
 * rendered (render.c), never when it is sent, so the send path cannot leak a card.
 */
#include <stdlib.h>
#include <string.h>


#include "server.h"

struct msg *msg_from_bytes(const char *json, size_t len)
{
    struct msg *m = xmalloc(sizeof(*m) + MSG_HEADROOM + len + 1);
    m->refs = 1;
    m->len = len;
    memcpy(m->buf + MSG_HEADROOM, json, len);
    m->buf[MSG_HEADROOM + len] = '\0';
    return m;
}

struct msg *msg_from_string(char *json, size_t len)
{
    struct msg *m = msg_from_bytes(json, len);
    free(json);
    return m;
}

struct msg *msg_from_wire(const struct wire_event *w, uint64_t seq, int64_t ts)
{
    size_t len;
    struct msg *m = (struct msg *)(void *)wire_encode_into(
        w, seq, ts, offsetof(struct msg, buf) + MSG_HEADROOM, &len);
    m->refs = 1;
    m->len = len;
    return m;
}

struct msg *msg_ref(struct msg *m)
{
    m->refs++;
    return m;
}

void msg_unref(struct msg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

struct event *event_new(uint64_t seq, enum proto_stype type)
{
    struct event *ev = xcalloc(1, sizeof(*ev));
    FELT_ASSERT(proto_stype_is_event(type));
    ev->refs = 1;
    ev->seq = seq;
    ev->type = type;
    ev->created_us = felt_mono_us();
    return ev;
}

static struct msg *event_render(const struct event *ev, int64_t ts, const struct wire_event *w)
{
    FELT_ASSERT(wire_stype(w->kind) == ev->type);
    return msg_from_wire(w, ev->seq, ts);
}

void event_set_public(struct event *ev, int64_t ts, const struct wire_event *w)
{
    FELT_ASSERT(ev->pub == NULL);
    ev->pub = event_render(ev, ts, w);
}

void event_set_private(struct event *ev, uint64_t uid, int64_t ts, const struct wire_event *w)
{
    FELT_ASSERT(ev->npriv < ENGINE_MAX_SEATS && uid != 0);
    ev->priv[ev->npriv].uid = uid;
    ev->priv[ev->npriv].m = event_render(ev, ts, w);
    ev->npriv++;
}

const struct msg *event_msg_for(const struct event *ev, uint64_t uid)
{
    for (int i = 0; uid && i < ev->npriv; i++)
        if (ev->priv[i].uid == uid)
            return ev->priv[i].m;
    return ev->pub;
}

struct event *event_ref(struct event *ev)
{
    ev->refs++;
    return ev;
}

void event_unref(struct event *ev)
{
    if (!ev || --ev->refs > 0)
        return;
    msg_unref(ev->pub);
    for (int i = 0; i < ev->npriv; i++)
        msg_unref(ev->priv[i].m);
    free(ev);
}
