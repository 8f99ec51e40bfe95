/*
 * fleet_ws.c: the in-process bots (fleet_internal.h): players joined over HTTP straight to feltd
 * and spectators, on the shared wsclient module, resuming exactly as felt does (hello with
 * last_seq and a ping; once the pong confirms the hello, every unconfirmed action is written
 * again with its original request_id and hand_id).
 */
#include "fleet_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fl_ws_send(struct fl_bot *b, const char *s)
{
    if (wsconn_send(b->ws, s, strlen(s)) != 0) fl_bad(b, "the socket's send queue is full");
}

void fl_ws_send_action(struct fl_bot *b, struct fl_action *a)
{
    struct proto_cmsg m;
    if (!b->resumed) return; /* written after the next hello is confirmed */
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
    char *s = proto_encode_client(&m);
    fl_ws_send(b, s);
    free(s);
    a->sent_session = b->sessions;
}

void fl_ws_sit_out(struct fl_bot *b)
{
    if (!b->resumed) return;
    fl_ws_send(b, "{\"type\":\"sit_out\"}");
    b->sit_out_session = true;
}

static void fl_ws_open(struct wsconn *c, void *user)
{
    struct fl_bot *b = user;
    b->sessions++;
    b->resumed = false;
    b->sit_out_session = false;
    if (b->spectator) return; /* the server sends a snapshot */
    /* Like felt: what the old socket did not write is dropped (it is resent after the hello
     * is confirmed), then hello with the last seq applied, then a ping whose pong confirms it. */
    wsconn_clear_queue(c);
    struct proto_cmsg m;
    memset(&m, 0, sizeof(m));
    m.type = PROTO_C_HELLO;
    snprintf(m.token, sizeof(m.token), "%s", b->token);
    if (b->have_seq) {
        m.has_last_seq = true;
        m.last_seq = b->last_seq;
    }
    char *s = proto_encode_client(&m);
    if (wsconn_send_first(c, s, strlen(s)) != 0) fl_bad(b, "hello did not fit in the queue");
    free(s);
    char ping[64];
    b->hello_ping = FL_PING_BASE + ++b->next_ping;
    snprintf(ping, sizeof(ping), "{\"type\":\"ping\",\"id\":%lld}", (long long)b->hello_ping);
    fl_ws_send(b, ping);
}

static void fl_ws_message(struct wsconn *c, void *user, const char *buf, size_t len)
{
    (void)c;
    fl_bot_message(user, buf, len);
}

static void fl_ws_close(struct wsconn *c, void *user, int code, const char *reason)
{
    struct fl_bot *b = user;
    (void)c;
    b->resumed = false;
    if (code == 4401 || code == 4409 || code == 1000)
        fl_bad(b, "closed by the server: %d %s", code, reason ? reason : "");
    fl_bot_disconnected(b);
}

static void fl_ws_connect(struct fl_bot *b)
{
    struct fleet *f = b->f;
    char url[256], err[128];
    struct wsconn_config cfg;
    if (b->spectator)
        snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws/spectate/%s", f->o->client_port, b->t->id);
    else
        snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws/game/%s/%s", f->o->client_port, b->t->id,
                 b->player_id);
    memset(&cfg, 0, sizeof(cfg));
    cfg.url = url;
    cfg.subprotocol = PROTO_SUBPROTOCOL;
    cfg.deflate = b->idx % 2 == 0; /* half the fleet compressed, half not */
    cfg.reconnect = true;
    cfg.max_queue = 256;
    cfg.user = b;
    cfg.on_open = fl_ws_open;
    cfg.on_message = fl_ws_message;
    cfg.on_close = fl_ws_close;
    b->ws = wsconn_new(f->loop, &cfg, err, sizeof(err));
    if (!b->ws) fl_bad(b, "wsconn_new: %s", err);
}

static void fl_ws_join_done(void *arg, const struct wshttp_result *r)
{
    struct fl_bot *b = arg;
    struct fleet *f = b->f;
    json_object *j = r->status == 200 ? jparse(r->body, r->body_len) : NULL;
    f->joins_in_flight--;
    if (jstr(j, "player_id") && jstr(j, "token")) {
        snprintf(b->player_id, sizeof(b->player_id), "%s", jstr(j, "player_id"));
        snprintf(b->token, sizeof(b->token), "%s", jstr(j, "token"));
        f->joined++;
        fl_ws_connect(b);
    } else {
        f->join_failed++;
        fl_bad(b, "join failed: HTTP %d %.200s", r->status, r->body ? r->body : r->error);
    }
    json_object_put(j);
    fl_ws_join_next(f);
    fl_poke(f);
}

/* Joins in-process players over HTTP, straight to feltd, a few at a time. */
void fl_ws_join_next(struct fleet *f)
{
    while (f->joins_in_flight < FL_JOINS_IN_FLIGHT && f->next_join < f->nbots) {
        struct fl_bot *b = &f->bots[f->next_join++];
        if (b->felt) continue;
        if (b->spectator) {
            fl_ws_connect(b);
            continue;
        }
        char url[256], body[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/games/%s/join", f->o->server_port,
                 b->t->id);
        snprintf(body, sizeof(body), "{\"name\":\"%s\",\"buy_in\":%lld}", b->name,
                 (long long)f->o->buy_in);
        if (wshttp_request(f->loop, url, body, NULL, fl_ws_join_done, b) != 0) {
            f->join_failed++;
            fl_bad(b, "bad join URL");
            continue;
        }
        f->joins_in_flight++;
    }
}
