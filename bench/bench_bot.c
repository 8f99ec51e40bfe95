/*
 * bench_bot.c: felt-bench's clients as bots (bench.h): the server's messages, scanned in place
 * (bench_scan.h) and dispatched by type through bench_bot_handlers[]; a player's choice of action
 * on its turn, within the server's flood limit (a token bucket) or after --think-ms; and the
 * matching of each action broadcast to the send that caused it, for the latency histogram.
 */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const bench_bot_events[BENCH_NEVENTS] = {"hand_start", "action",   "street", "uncalled",
                                                     "showdown",   "hand_end", "seat",   "other"};

/* ---- latency matching ------------------------------------------------------------------- */

static void bench_bot_record_send(struct bench_client *c)
{
    struct bench_table *t = c->t;
    int i = t->sent_next;
    t->sent_next = (t->sent_next + 1) % BENCH_SENT_RING;
    t->sent[i].hand_id = c->hand_id;
    t->sent[i].seen_seq = c->last_seq;
    t->sent[i].actor = c->id;
    t->sent[i].t_ns = bench_now_ns();
}

/* c received the broadcast (seq) of an action of hand hand_id made by player_id. */
static void bench_bot_record_receive(struct bench_client *c, int64_t hand_id, uint64_t seq,
                                     const char *player_id)
{
    struct bench_table *t = c->t;
    struct bench_phase *ph = c->ph;
    int best = -1;
    if (!c->b->recording) return;
    for (int i = 0; i < BENCH_SENT_RING; i++) {
        if (t->sent[i].t_ns == 0 || t->sent[i].hand_id != hand_id || t->sent[i].seen_seq >= seq ||
            (best >= 0 && t->sent[i].seen_seq <= t->sent[best].seen_seq) ||
            strcmp(ph->clients[t->sent[i].actor].player_id, player_id) != 0)
            continue;
        best = i;
    }
    if (best < 0)
        ph->ctr.unmatched++;
    else if (t->sent[best].actor != c->id) {
        uint64_t ns = (uint64_t)(bench_now_ns() - t->sent[best].t_ns);
        bench_hist_add(&ph->lat, ns);
        if (c->srv != ph->clients[t->sent[best].actor].srv) /* relayed by Redis */
            bench_hist_add(&ph->lat_remote, ns);
    }
}

/* ---- the bots --------------------------------------------------------------------------- */

static void bench_bot_act(struct bench_client *c);

static void bench_bot_act_fire(void *arg)
{
    struct bench_client *c = arg;
    c->act_armed = false;
    bench_bot_act(c);
}

static bool bench_bot_my_turn(const struct bench_client *c)
{
    return c->role == BENCH_PLAYER && c->ta.valid && strcmp(c->ta.player_id, c->player_id) == 0 &&
           !(c->acted && c->acted_hand == c->hand_id && c->acted_idx == c->nact);
}

static void bench_bot_arm_act(struct bench_client *c, int64_t delay_ms)
{
    if (!c->act_timer) c->act_timer = wstimer_new(c->b->loop, bench_bot_act_fire, c);
    c->act_armed = true;
    wstimer_arm(c->act_timer, delay_ms);
}

/* Called whenever c's view changed: acts if it is this bot's turn (after its think time and
 * within its message budget). */
void bench_bot_consider(struct bench_client *c)
{
    if (c->act_armed || c->post_inflight || !bench_bot_my_turn(c) || c->closed) return;
    if (c->b->o.think_ms > 0) {
        bench_bot_arm_act(c, c->b->o.think_ms);
        return;
    }
    bench_bot_act(c);
}

/* The server drops a WebSocket's messages beyond 50/s (burst 100): stay under --rate. */
bool bench_bot_take_token(struct bench_client *c, int64_t *wait_ms)
{
    double rate = c->b->o.rate, burst = 10;
    int64_t now = bench_now_ns();
    if (c->tokens_ns == 0) {
        c->tokens = burst;
        c->tokens_ns = now;
    }
    c->tokens += (double)(now - c->tokens_ns) * rate / 1e9;
    if (c->tokens > burst) c->tokens = burst;
    c->tokens_ns = now;
    if (c->tokens >= 1.0) {
        c->tokens -= 1.0;
        return true;
    }
    *wait_ms = (int64_t)ceil((1.0 - c->tokens) * 1000.0 / rate);
    return false;
}

static void bench_bot_choose(struct bench_client *c, struct proto_cmsg *m)
{
    const struct bench_to_act *ta = &c->ta;
    uint64_t r = rng_bounded(&c->b->rng, 100);
    /* Raise only while the bets are small, never all-in: stacks stay deep, nobody busts. */
    bool raise_ok = ta->can_raise && ta->min_raise < ta->max_raise &&
                    ta->min_raise <= 10 * c->t->big_blind && !c->safe_next;
    m->action = ta->can_check ? ENGINE_CHECK : ENGINE_CALL;
    if (c->safe_next) {
        c->safe_next = false;
        return;
    }
    if (raise_ok && r < (ta->can_check ? 15u : 10u)) {
        int64_t span = ta->max_raise - 1 - ta->min_raise;
        if (span > 2 * c->t->big_blind) span = 2 * c->t->big_blind;
        m->action = ENGINE_RAISE;
        m->has_amount = true;
        m->amount = ta->min_raise + (int64_t)rng_bounded(&c->b->rng, (uint64_t)span + 1);
    } else if (!ta->can_check && r >= 90) {
        m->action = ENGINE_FOLD;
    }
}

static void bench_bot_act(struct bench_client *c)
{
    struct bench *b = c->b;
    struct proto_cmsg m;
    int64_t wait_ms;
    if (!bench_bot_my_turn(c) || c->closed || c->post_inflight) return;
    if (!c->poll && !bench_bot_take_token(c, &wait_ms)) {
        bench_bot_arm_act(c, wait_ms);
        return;
    }
    memset(&m, 0, sizeof(m));
    m.type = PROTO_C_ACTION;
    bench_bot_choose(c, &m);
    snprintf(m.request_id, sizeof(m.request_id), "r%d-%u", c->id, ++c->req_n);
    m.has_hand_id = true;
    m.hand_id = c->hand_id;
    char *s = proto_encode_client(&m);
    bench_bot_record_send(c);
    c->sent_ns = bench_now_ns();
    if (c->poll) {
        char url[256];
        snprintf(url, sizeof(url), "%s/api/games/%s/action", b->http_bases[c->srv], c->t->id);
        if (wshttp_request(b->loop, url, s, c->token, bench_net_action_done, c) == 0) {
            c->post_inflight = true;
            b->http_inflight++;
            if (b->recording) c->ph->ctr.requests++;
        }
    } else if (wsconn_send(c->ws, s, strlen(s)) == 0 && b->recording) {
        c->ph->ctr.client_msgs++;
    }
    free(s);
    if (b->recording) c->ph->ctr.sent++;
    c->acted = true;
    c->acted_hand = c->hand_id;
    c->acted_idx = c->nact;
}

/* A plain message on c's socket (sit_in, leave), within the rate budget as far as possible. */
void bench_bot_send_type(struct bench_client *c, enum proto_ctype type)
{
    struct proto_cmsg m;
    int64_t wait_ms;
    memset(&m, 0, sizeof(m));
    m.type = type;
    bench_bot_take_token(c, &wait_ms); /* charged; these are rare */
    char *s = proto_encode_client(&m);
    wsconn_send(c->ws, s, strlen(s));
    free(s);
}

/* ---- server messages, dispatched by type ------------------------------------------------ */

/* The fields of one server message the handlers need. */
struct bench_bot_msg {
    size_t len; /* of the whole message */
    struct bscan data;
    bool has_seq;
    uint64_t seq;
};

static void bench_bot_to_act(struct bench_client *c, struct bscan v)
{
    struct bench_to_act *ta = &c->ta;
    struct bscan_iter it;
    struct bscan k, x;
    memset(ta, 0, sizeof(*ta));
    if (c->role != BENCH_PLAYER || bscan_is_null(v) || !bscan_begin(&it, v)) return;
    while (bscan_next(&it, &k, &x)) {
        if (bscan_key_is(k, "player_id")) {
            if (!bscan_str(x, ta->player_id, sizeof(ta->player_id))) return;
            if (strcmp(ta->player_id, c->player_id) != 0) {
                ta->valid = true; /* someone else's turn: the rest is not needed */
                return;
            }
        } else if (bscan_key_is(k, "call")) {
            bscan_int(x, &ta->call);
        } else if (bscan_key_is(k, "can_check")) {
            bscan_bool(x, &ta->can_check);
        } else if (bscan_key_is(k, "min_raise_to")) {
            ta->can_raise = bscan_int(x, &ta->min_raise);
        } else if (bscan_key_is(k, "max_raise_to")) {
            if (!bscan_int(x, &ta->max_raise)) ta->can_raise = false;
        }
    }
    ta->valid = ta->player_id[0] != '\0';
}

static void bench_bot_on_snapshot(struct bench_client *c, const struct bench_bot_msg *m)
{
    struct bscan v, tbl, bb;
    int64_t hand = 0;
    if (c->ready && c->b->recording) c->ph->ctr.resyncs++;
    if (bscan_get(m->data, "hand_id", &v)) bscan_int(v, &hand);
    if (bscan_get(m->data, "table", &tbl) && bscan_get(tbl, "big_blind", &bb))
        bscan_int(bb, &c->t->big_blind);
    c->hand_id = hand;
    c->nact = 0;
    if (bscan_get(m->data, "to_act", &v))
        bench_bot_to_act(c, v);
    else
        memset(&c->ta, 0, sizeof(c->ta));
    if (!c->ready) {
        c->ready = true;
        c->b->ready++;
        if (c->connecting) {
            c->connecting = false;
            c->b->connect_inflight--;
        }
    }
}

static void bench_bot_on_update(struct bench_client *c, const struct bench_bot_msg *m)
{
    struct bscan_iter it;
    struct bscan k, v, event = {0}, to_act = {0}, change = {0};
    int64_t hand = -1;
    char player[BENCH_ID_MAX + 1] = "";
    if (!bscan_begin(&it, m->data)) goto bad;
    while (bscan_next(&it, &k, &v)) {
        if (bscan_key_is(k, "event"))
            event = v;
        else if (bscan_key_is(k, "hand_id"))
            bscan_int(v, &hand);
        else if (bscan_key_is(k, "to_act"))
            to_act = v;
        else if (bscan_key_is(k, "player_id"))
            bscan_str(v, player, sizeof(player));
        else if (bscan_key_is(k, "change"))
            change = v;
        else if (bscan_key_is(k, "player") && c->role == BENCH_PLAYER && change.p &&
                 bscan_str_is(change, "busted")) {
            struct bscan pid;
            if (bscan_get(v, "player_id", &pid)) bscan_str(pid, player, sizeof(player));
        }
    }
    if (!event.p || hand < 0) goto bad;
    if (c->b->recording) {
        int e = 0;
        while (e < BENCH_NEVENTS - 1 && !bscan_str_is(event, bench_bot_events[e]))
            e++;
        c->ph->ctr.event_bytes[e] += m->len;
    }
    if (bscan_str_is(event, "hand_start")) {
        c->hand_id = hand;
        c->nact = 0;
    } else if (bscan_str_is(event, "action")) {
        if (hand != c->hand_id) { /* a hand whose start this client did not see */
            c->hand_id = hand;
            c->nact = 0;
        }
        if (m->has_seq) bench_bot_record_receive(c, hand, m->seq, player);
        c->nact++;
    } else if (bscan_str_is(event, "seat") && change.p && bscan_str_is(change, "busted") &&
               c->role == BENCH_PLAYER && strcmp(player, c->player_id) == 0 && !c->poll) {
        bench_bot_send_type(c, PROTO_C_SIT_IN); /* buys in again (play money) */
    }
    if (to_act.p)
        bench_bot_to_act(c, to_act);
    else
        memset(&c->ta, 0, sizeof(c->ta));
    return;
bad:
    if (c->b->recording) c->ph->ctr.bad++;
}

static void bench_bot_on_ack(struct bench_client *c, const struct bench_bot_msg *m)
{
    struct bscan v;
    struct bench_counters *ctr = &c->ph->ctr;
    bool rec = c->b->recording;
    if (rec && c->sent_ns) bench_hist_add(&c->ph->ack, (uint64_t)(bench_now_ns() - c->sent_ns));
    c->sent_ns = 0;
    if (!bscan_get(m->data, "status", &v)) {
        if (rec) ctr->bad++;
        return;
    }
    if (bscan_str_is(v, "accepted")) {
        if (rec) ctr->accepted++;
        return;
    }
    if (rec) ctr->rejected++;
    /* A refused choice (our bug, or a stale view): retry with check/call if still our turn. */
    if (bscan_get(m->data, "code", &v) &&
        (bscan_str_is(v, "raise_too_small") || bscan_str_is(v, "cannot_check") ||
         bscan_str_is(v, "cannot_raise") || bscan_str_is(v, "amount_above_stack") ||
         bscan_str_is(v, "bad_amount"))) {
        c->acted = false;
        c->safe_next = true;
    }
}

static void bench_bot_on_error(struct bench_client *c, const struct bench_bot_msg *m)
{
    struct bscan v;
    if (!c->b->recording) return;
    if (bscan_get(m->data, "code", &v) && bscan_str_is(v, "rate_limited"))
        c->ph->ctr.rate_limited++;
    else
        c->ph->ctr.errors++;
}

static void bench_bot_on_other(struct bench_client *c, const struct bench_bot_msg *m)
{
    (void)c;
    (void)m; /* animations, notifications, chat, pong: counted as deliveries only */
}

static const struct {
    const char *type;
    void (*fn)(struct bench_client *c, const struct bench_bot_msg *m);
} bench_bot_handlers[PROTO_S_COUNT] = {
    [PROTO_S_SNAPSHOT] = {"snapshot", bench_bot_on_snapshot},
    [PROTO_S_STATE_UPDATE] = {"state_update", bench_bot_on_update},
    [PROTO_S_ANIMATION] = {"animation", bench_bot_on_other},
    [PROTO_S_NOTIFICATION] = {"notification", bench_bot_on_other},
    [PROTO_S_CHAT] = {"chat", bench_bot_on_other},
    [PROTO_S_ACK] = {"ack", bench_bot_on_ack},
    [PROTO_S_ERROR] = {"error", bench_bot_on_error},
    [PROTO_S_PONG] = {"pong", bench_bot_on_other},
};

/* One server message (a WebSocket message, or one event of a poll answer) for client c. */
void bench_bot_message(struct bench_client *c, const char *buf, size_t len)
{
    struct bscan_iter it;
    struct bscan k, v, type = {0};
    struct bench_bot_msg m = {.len = len};
    struct bench *b = c->b;
    if (b->recording) c->ph->ctr.deliveries++;
    if (!bscan_begin(&it, (struct bscan){buf, len})) goto bad;
    while (bscan_next(&it, &k, &v)) {
        if (bscan_key_is(k, "type")) {
            type = v;
        } else if (bscan_key_is(k, "seq")) {
            int64_t s;
            if (!bscan_int(v, &s) || s < 0) goto bad;
            m.has_seq = true;
            m.seq = (uint64_t)s;
        } else if (bscan_key_is(k, "data")) {
            m.data = v;
        }
    }
    if (!type.p || !m.data.p) goto bad;
    for (int t = 0; t < PROTO_S_COUNT; t++) {
        if (!bscan_str_is(type, bench_bot_handlers[t].type)) continue;
        if (m.has_seq) {
            if (t != PROTO_S_SNAPSHOT && c->have_seq && m.seq != c->last_seq + 1 && b->recording)
                c->ph->ctr.gaps++;
            c->have_seq = true;
            c->last_seq = m.seq;
        }
        if (b->recording) c->ph->ctr.type_bytes[t] += len;
        bench_bot_handlers[t].fn(c, &m);
        return;
    }
bad:
    if (b->recording) c->ph->ctr.bad++;
}
