/*
 * bench_net.c: felt-bench's connections (bench.h): WebSocket clients (opened a bounded number at
 * a time), joins over HTTP, the polling clients' GET .../state?since=SEQ on a timer and their
 * POSTed actions, the bytes those answers take on the wire, and the lobby asked whether a phase's
 * tables are empty again.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* ---- WebSocket clients ------------------------------------------------------------------ */

static void bench_net_ws_open(struct wsconn *ws, void *user)
{
    struct bench_client *c = user;
    if (c->role != BENCH_PLAYER) return;
    struct proto_cmsg m;
    memset(&m, 0, sizeof(m));
    m.type = PROTO_C_HELLO;
    snprintf(m.token, sizeof(m.token), "%s", c->token);
    char *s = proto_encode_client(&m);
    int64_t wait_ms;
    bench_bot_take_token(c, &wait_ms);
    wsconn_send_first(ws, s, strlen(s));
    free(s);
}

static void bench_net_ws_message(struct wsconn *ws, void *user, const char *buf, size_t len)
{
    struct bench_client *c = user;
    (void)ws;
    bool was_ready = c->ready;
    bench_bot_message(c, buf, len);
    bench_bot_consider(c);
    if (!was_ready && c->ready) bench_poke(c->b);
}

static void bench_net_ws_close(struct wsconn *ws, void *user, int code, const char *reason)
{
    struct bench_client *c = user;
    struct bench *b = c->b;
    (void)ws;
    if (c->closed) return;
    c->closed = true;
    if (c->connecting) {
        c->connecting = false;
        b->connect_inflight--;
        b->failed++;
        fprintf(stderr, "felt-bench: %s socket at %s failed: %d %s\n",
                c->role == BENCH_PLAYER ? "player" : "spectator", c->t->id, code, reason);
    } else if (b->recording) {
        /* The first few are named: a drop in the window is a finding, not noise. */
        if (c->ph->ctr.dropped++ < 3)
            fprintf(stderr, "felt-bench: %s socket at %s lost: %d %s\n",
                    c->role == BENCH_PLAYER ? "player" : "spectator", c->t->id, code, reason);
    }
    bench_poke(b);
}

static void bench_net_ws_connect(struct bench_client *c, bool deflate)
{
    struct bench *b = c->b;
    char url[256], err[128];
    /* Players on the table's owner, or on the next node, which carries their sockets to the
     * owner (--players-on other); spectators on the owner too, or on the next node (their
     * events then cross Redis: --spectators-on other). */
    c->srv = c->t->srv;
    if (b->nservers > 1 && (c->role == BENCH_SPECTATOR ? b->o.spectate_other : b->o.play_other))
        c->srv = (c->t->srv + 1) % b->nservers;
    if (c->role == BENCH_PLAYER)
        snprintf(url, sizeof(url), "%s/ws/game/%s/%s", b->ws_bases[c->srv], c->t->id,
                 c->player_id);
    else
        snprintf(url, sizeof(url), "%s/ws/spectate/%s", b->ws_bases[c->srv], c->t->id);
    struct wsconn_config cfg = {
        .url = url,
        .subprotocol = b->o.single ? PROTO_SUBPROTOCOL : PROTO_SUBPROTOCOL_BATCH,
        .lines = !b->o.single,
        .deflate = deflate,
        .reconnect = false,
        .max_queue = 16,
        .user = c,
        .on_open = bench_net_ws_open,
        .on_message = bench_net_ws_message,
        .on_close = bench_net_ws_close,
    };
    c->connecting = true;
    b->connect_inflight++;
    c->ws = wsconn_new(b->loop, &cfg, err, sizeof(err));
    if (!c->ws) felt_fatal("bad WebSocket URL %s: %s", url, err);
}

/* Keeps BENCH_CONNECT_INFLIGHT sockets connecting until every client of the array is started. */
void bench_net_connect_more(struct bench *b, struct bench_client *cl, int n, bool deflate)
{
    while (b->connect_next < n && b->connect_inflight < BENCH_CONNECT_INFLIGHT)
        bench_net_ws_connect(&cl[b->connect_next++], deflate);
}

/* ---- HTTP: joins and polling ------------------------------------------------------------ */

static void bench_net_join_send(struct bench_client *c);

/* A 421 "not_owner" to a join: the server its data.owner names, if it is one of --server's. */
static int bench_net_owner(const struct bench *b, const struct wshttp_result *r)
{
    struct json_object *j = json_tokener_parse(r->body), *data, *owner;
    int found = -1;
    if (j && json_object_object_get_ex(j, "data", &data) &&
        json_object_object_get_ex(data, "owner", &owner))
        for (int i = 0; i < b->nservers; i++)
            if (strcmp(json_object_get_string(owner), b->ws_bases[i]) == 0)
                found = i;
    json_object_put(j);
    return found;
}

static void bench_net_join_done(void *arg, const struct wshttp_result *r)
{
    struct bench_client *c = arg;
    struct bench *b = c->b;
    b->joins_inflight--;
    b->http_inflight--;
    int owner = r->status == 421 ? bench_net_owner(b, r) : -1;
    if (owner >= 0 && c->join_tries++ < 3) { /* a cluster: join where the table is played */
        c->t->srv = c->srv = owner;
        bench_net_join_send(c);
        return;
    }
    struct json_object *j = r->status == 200 ? json_tokener_parse(r->body) : NULL, *pid, *tok;
    if (j && json_object_object_get_ex(j, "player_id", &pid) &&
        json_object_object_get_ex(j, "token", &tok) &&
        json_object_get_string_len(pid) <= BENCH_ID_MAX &&
        json_object_get_string_len(tok) <= PROTO_TOKEN_MAX) {
        snprintf(c->player_id, sizeof(c->player_id), "%s", json_object_get_string(pid));
        snprintf(c->token, sizeof(c->token), "%s", json_object_get_string(tok));
        c->joined = true;
    } else {
        b->join_failed++;
        fprintf(stderr, "felt-bench: join at %s failed: %s %.200s\n", c->t->id,
                r->status ? "HTTP" : r->error, r->status ? r->body : "");
    }
    json_object_put(j);
    b->joins_left--;
    bench_net_join_next(b);
    bench_poke(b);
}

/* POST .../join for player c, at the server it talks to. */
static void bench_net_join_send(struct bench_client *c)
{
    struct bench *b = c->b;
    struct proto_cmsg m;
    char url[256];
    memset(&m, 0, sizeof(m));
    m.type = PROTO_C_JOIN;
    snprintf(m.name, sizeof(m.name), "%s-%d", c->ph->poll ? "p" : "w", c->id);
    m.buy_in = BENCH_BUY_IN;
    char *s = proto_encode_client(&m);
    snprintf(url, sizeof(url), "%s/api/games/%s/join", b->http_bases[c->srv], c->t->id);
    if (wshttp_request(b->loop, url, s, NULL, bench_net_join_done, c) != 0)
        felt_fatal("bad URL %s", url);
    free(s);
    b->joins_inflight++;
    b->http_inflight++;
}

void bench_net_join_next(struct bench *b)
{
    struct bench_phase *ph = b->ph;
    while (b->joins_inflight < BENCH_JOIN_INFLIGHT && b->join_next < ph->nclients) {
        struct bench_client *c = &ph->clients[b->join_next++];
        if (c->role != BENCH_PLAYER) continue;
        c->srv = c->t->srv; /* where an earlier player of its table found it played */
        bench_net_join_send(c);
    }
}

/* Counts an HTTP answer's body, and its wire size with the header feltd sends. */
static void bench_net_count_http(struct bench_client *c, const struct wshttp_result *r)
{
    struct bench *b = c->b;
    if (!b->recording) return;
    c->ph->ctr.payload += r->body_len;
    if (b->http_header_base > 0)
        c->ph->ctr.wire += r->body_len + (uint64_t)b->http_header_base +
                           (uint64_t)snprintf(NULL, 0, "%zu", r->body_len);
}

static void bench_net_poll_done(void *arg, const struct wshttp_result *r)
{
    struct bench_client *c = arg;
    struct bench *b = c->b;
    struct bscan top = {r->body, r->body_len}, v, ev;
    struct bscan_iter it;
    int64_t seq;
    c->get_inflight = false;
    b->http_inflight--;
    if (b->ph != c->ph) /* an answer that outlived its phase */
        goto out;
    if (r->status != 200 || !bscan_get(top, "seq", &v) || !bscan_int(v, &seq) ||
        !bscan_get(top, "events", &v) || !bscan_begin(&it, v)) {
        if (b->recording) c->ph->ctr.errors++;
        goto out;
    }
    bench_net_count_http(c, r);
    while (bscan_next(&it, NULL, &ev))
        bench_bot_message(c, ev.p, ev.n);
    /* The answer's seq is the table's latest: the next poll asks for what follows it. */
    c->have_seq = true;
    c->last_seq = (uint64_t)seq;
    bench_bot_consider(c);
out:
    bench_poke(b);
}

void bench_net_poll_tick(void *arg)
{
    struct bench_client *c = arg;
    struct bench *b = c->b;
    char url[256];
    wstimer_arm(c->tick, c->ph->interval_ms);
    if (c->get_inflight) return; /* the last answer has not come yet: this tick is skipped */
    if (c->have_seq)
        snprintf(url, sizeof(url), "%s/api/games/%s/state?since=%llu", b->http_bases[c->srv], c->t->id,
                 (unsigned long long)c->last_seq);
    else
        snprintf(url, sizeof(url), "%s/api/games/%s/state", b->http_bases[c->srv], c->t->id);
    if (wshttp_request(b->loop, url, NULL, c->role == BENCH_PLAYER ? c->token : NULL,
                       bench_net_poll_done, c) != 0)
        felt_fatal("bad URL %s", url);
    c->get_inflight = true;
    b->http_inflight++;
    if (b->recording) c->ph->ctr.requests++;
}

void bench_net_action_done(void *arg, const struct wshttp_result *r)
{
    struct bench_client *c = arg;
    struct bench *b = c->b;
    c->post_inflight = false;
    b->http_inflight--;
    if (b->ph == c->ph) {
        if (r->status == 200) {
            bench_net_count_http(c, r);
            bench_bot_message(c, r->body, r->body_len);
        } else if (b->recording) {
            c->ph->ctr.errors++;
        }
    }
    bench_poke(b);
}

/* ---- /api/games: are the phase's tables empty again? ------------------------------------ */

static void bench_net_lobby_done(void *arg, const struct wshttp_result *r)
{
    struct bench *b = arg;
    struct bscan top = {r->body, r->body_len}, games, g, id, taken;
    struct bscan_iter it;
    struct bench_phase *ph = b->ph;
    int busy = 0;
    b->lobby_pending = false;
    b->http_inflight--;
    if (!ph) return;
    if (r->status != 200 || !bscan_get(top, "games", &games) || !bscan_begin(&it, games)) {
        b->lobby_busy = -1;
        bench_poke(b);
        return;
    }
    while (bscan_next(&it, NULL, &g)) {
        char name[PROTO_GAME_ID_MAX + 1];
        int64_t n = 0;
        if (!bscan_get(g, "id", &id) || !bscan_str(id, name, sizeof(name)) ||
            !bscan_get(g, "seats_taken", &taken) || !bscan_int(taken, &n))
            continue;
        for (int i = 0; i < ph->ntables; i++)
            if (strcmp(ph->tables[i].id, name) == 0) busy += (int)n;
    }
    b->lobby_busy = busy;
    bench_poke(b);
}

static void bench_net_lobby_fetch(struct bench *b)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/api/games", b->http_base);
    if (wshttp_request(b->loop, url, NULL, NULL, bench_net_lobby_done, b) == 0)
        b->http_inflight++;
    else
        b->lobby_pending = false;
}

void bench_net_lobby_fire(void *arg)
{
    bench_net_lobby_fetch(arg);
}
