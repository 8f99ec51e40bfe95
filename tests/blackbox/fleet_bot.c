/*
 * fleet_bot.c: one bot, whichever kind (fleet_internal.h): the server's messages and events it
 * receives (gap-free, one snapshot), the actions it chooses (from felt's model of the table) and
 * the acks they get, sitting out, its connected time, and the checks on it that need the whole
 * run.
 */
#include "fleet_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- our actions ----------------------------------------------------------------------- */

static struct fl_hand *fl_bot_hand(struct fl_bot *b, int64_t hand_id)
{
    if (hand_id < 0 || hand_id > 10000000) return NULL;
    if ((size_t)hand_id >= b->nhands) {
        size_t n = b->nhands ? b->nhands : 64;
        while (n <= (size_t)hand_id)
            n *= 2;
        b->hands = xrealloc(b->hands, n * sizeof(*b->hands));
        memset(b->hands + b->nhands, 0, (n - b->nhands) * sizeof(*b->hands));
        b->nhands = n;
    }
    return &b->hands[hand_id];
}

static struct fl_action *fl_bot_action_by_rid(struct fl_bot *b, const char *rid)
{
    /* Our request ids are "<bot>-<n>": n indexes acts. */
    const char *dash = rid ? strrchr(rid, '-') : NULL;
    if (!dash) return NULL;
    long n = strtol(dash + 1, NULL, 10);
    if (n < 1 || (size_t)n > b->nacts || strcmp(b->acts[n - 1].rid, rid) != 0) return NULL;
    return &b->acts[n - 1];
}

static void fl_bot_on_ack(struct fl_bot *b, json_object *d)
{
    const char *rid = jval_str(d, "request_id"), *status = jval_str(d, "status");
    const char *code = jval_str(d, "code") ? jval_str(d, "code") : "";
    struct fl_action *a = fl_bot_action_by_rid(b, rid);
    if (!a || !status) {
        fl_bad(b, "ack for an unknown request %s", rid ? rid : "(none)");
        return;
    }
    bool accepted = strcmp(status, "accepted") == 0;
    if (a->acks == 0) {
        a->resent = b->sessions != a->first_session;
        a->accepted = accepted;
        snprintf(a->code, sizeof(a->code), "%s", code);
        if (accepted) {
            struct fl_hand *h = fl_bot_hand(b, a->hand_id);
            if (h) h->accepted++;
        } else {
            b->rejected++;
        }
    } else if (a->accepted != accepted || strcmp(a->code, code) != 0) {
        fl_bad(b, "request %s acked '%s%s%s' and then '%s%s%s'", rid,
               a->accepted ? "accepted" : "rejected", a->code[0] ? " " : "", a->code, status,
               code[0] ? " " : "", code);
    }
    if (jval_int(d, "hand_id", -1) != a->hand_id && strcmp(code, "stale_hand") != 0)
        fl_bad(b, "ack of %s names hand %lld, the action was for hand %lld", rid,
               (long long)jval_int(d, "hand_id", -1), (long long)a->hand_id);
    a->acks++;
    if (b->f->calm) fl_poke(b->f); /* the final phase waits for every action's answer */
}

static bool fl_bot_my_turn(const struct fl_bot *b)
{
    return b->view && model_my_turn(b->view) && !b->acted && !b->sit_out_sent;
}

/* Chooses an action from felt's model of the turn (seeded) and gives it to felt: its session
 * queues it with the fleet's request_id and hand_id and writes it when connected. */
static void fl_bot_act(struct fl_bot *b)
{
    const struct model_to_act *ta = &b->view->to_act;
    enum engine_action a;
    int64_t amount = 0;
    uint64_t r = rng_bounded(&b->rng, 100);
    if (ta->can_check)
        a = r < 75 || !ta->can_raise ? ENGINE_CHECK : ENGINE_RAISE;
    else if (r < 65)
        a = ENGINE_CALL;
    else if (r < 85 || !ta->can_raise)
        a = ENGINE_FOLD;
    else
        a = ENGINE_RAISE;
    if (a == ENGINE_RAISE)
        amount = ta->min_raise_to < ta->max_raise_to ? ta->min_raise_to : ta->max_raise_to;
    if (b->nacts == b->acts_cap) {
        b->acts_cap = b->acts_cap ? b->acts_cap * 2 : 64;
        b->acts = xrealloc(b->acts, b->acts_cap * sizeof(*b->acts));
    }
    struct fl_action *act = &b->acts[b->nacts++];
    memset(act, 0, sizeof(*act));
    snprintf(act->rid, sizeof(act->rid), "b%d-%zu", b->idx, b->nacts);
    act->hand_id = b->view->hand_id;
    act->action = a;
    act->amount = amount;
    act->first_session = b->sessions;
    b->acted = true;
    if (b->felt) {
        char line[256];
        if (a == ENGINE_RAISE)
            snprintf(line, sizeof(line),
                     "{\"type\":\"action\",\"action\":\"raise\",\"amount\":%lld,"
                     "\"request_id\":\"%s\",\"hand_id\":%lld}",
                     (long long)amount, act->rid, (long long)act->hand_id);
        else
            snprintf(line, sizeof(line),
                     "{\"type\":\"action\",\"action\":\"%s\",\"request_id\":\"%s\","
                     "\"hand_id\":%lld}",
                     engine_action_name(a), act->rid, (long long)act->hand_id);
        fl_felt_write(b, line);
    } else {
        fl_session_act(b, act);
    }
}

void fl_bot_think_fire(void *arg)
{
    struct fl_bot *b = arg;
    if (fl_bot_my_turn(b)) fl_bot_act(b);
}

void fl_bot_sit_out(struct fl_bot *b)
{
    if (b->sit_out_sent || b->spectator) return;
    b->sit_out_sent = true;
    if (b->think) wstimer_cancel(b->think);
    if (b->felt)
        fl_felt_write(b, "{\"type\":\"sit_out\"}");
    else
        fl_session_sit_out(b);
}

/* ---- one server message ---------------------------------------------------------------- */

void fl_bot_connected(struct fl_bot *b)
{
    int64_t now = fl_now_ms();
    if (b->connected) return;
    b->connected = true;
    b->sessions++;
    b->connected_since_ms = now;
    if (b->first_connected_ms == 0) {
        b->first_connected_ms = now;
    } else {
        int64_t took = now - b->disconnected_at_ms;
        b->reconnects++;
        if (took > b->max_reconnect_ms) b->max_reconnect_ms = took;
    }
    fl_poke(b->f);
}

void fl_bot_connected_time(struct fl_bot *b, int64_t now)
{
    struct fleet *f = b->f;
    if (!b->connected || f->calm) return;
    b->connected_ms += now - b->connected_since_ms;
}

void fl_bot_disconnected(struct fl_bot *b)
{
    int64_t now = fl_now_ms();
    if (!b->connected) return;
    fl_bot_connected_time(b, now);
    b->connected = false;
    b->disconnected_at_ms = now;
    b->disconnects++;
    b->need_snapshot = b->spectator;
    fl_poke(b->f);
}

static void fl_bot_event(struct fl_bot *b, const struct proto_smsg *sm, enum model_result r)
{
    json_object *d = sm->data;
    b->events++;
    if (sm->type == PROTO_S_SNAPSHOT) {
        b->snapshots++;
        if (b->snapshots > 1 && !b->spectator)
            fl_bad(b,
                   "a second snapshot (seq %" PRIu64 "): a resume was not served from the "
                   "history",
                   sm->seq);
        fl_model_snapshot(b, d);
        fl_model_check_chips(b, "snapshot", sm->seq);
        b->have_seq = true;
        b->last_seq = sm->seq;
        b->need_snapshot = false;
        json_object *you = jval_get(d, "you");
        if (!b->spectator && jval_str(you, "player_id"))
            snprintf(b->player_id, sizeof(b->player_id), "%s", jval_str(you, "player_id"));
    } else {
        if (!b->have_seq) {
            fl_bad(b, "event seq %" PRIu64 " before any snapshot", sm->seq);
            return;
        }
        if (sm->seq != b->last_seq + 1) {
            fl_bad(b, "gap: seq %" PRIu64 " after %" PRIu64 " (connection %d)", sm->seq,
                   b->last_seq, b->sessions);
            return;
        }
        if (b->need_snapshot) {
            fl_bad(b, "a spectator's new socket started without a snapshot");
            return;
        }
        /* The fleet's own count says this is the next event: felt's model must agree. */
        if (r != MODEL_APPLIED)
            fl_bad(b, "felt's model did not apply seq %" PRIu64 " (result %d)", sm->seq, (int)r);
        b->last_seq = sm->seq;
        fl_model_check_order(b, sm);
        if (sm->type == PROTO_S_STATE_UPDATE) {
            bool mine = !b->spectator && fl_is_str(d, "player_id", b->player_id);
            if (fl_is_str(d, "event", "hand_start")) b->acted = false;
            if (fl_is_str(d, "event", "action") && mine) {
                b->acted = false;
                struct fl_hand *h = fl_bot_hand(b, jval_int(d, "hand_id", -1));
                if (!h) {
                    fl_bad(b, "action event without a hand id");
                } else if (b->server_pending > 0) {
                    b->server_pending--;
                    h->server_acts++;
                } else if (b->sat_out_seen) {
                    h->server_acts++;
                } else {
                    h->events++;
                }
            }
            fl_model_update(b, d, sm->seq);
        } else if (sm->type == PROTO_S_NOTIFICATION) {
            if (fl_is_str(d, "kind", "timeout") && !b->spectator &&
                fl_is_str(d, "player_id", b->player_id))
                b->server_pending++;
        }
    }
    if (b->f->calm) fl_poke(b->f); /* the final phase waits for every client to catch up */
    if (sm->type == PROTO_S_SNAPSHOT || sm->type == PROTO_S_STATE_UPDATE) {
        if (sm->type == PROTO_S_STATE_UPDATE && fl_is_str(d, "event", "hand_start") &&
            b->f->o->hands > 0 && jval_int(d, "hand_id", 0) >= b->f->o->hands)
            fl_bot_sit_out(b);
        if (!b->spectator && fl_bot_my_turn(b)) {
            if (b->think)
                wstimer_arm(b->think, b->f->o->think_ms);
            else
                fl_bot_act(b);
        }
        fl_bot_check_finished(b);
    }
}

/* One decoded server message (either kind of bot), after felt's model made r of it. */
void fl_bot_receive(struct fl_bot *b, const struct proto_smsg *sm, enum model_result r)
{
    switch (sm->type) {
    case PROTO_S_ACK:
        fl_bot_on_ack(b, sm->data);
        break;
    case PROTO_S_ERROR:
        /* A sit_out felt wrote again after a resume, which the server had already applied. */
        if (b->sit_out_sent && fl_is_str(sm->data, "code", "already_sitting_out")) break;
        fl_bad(b, "error reply: %s: %s", jval_str(sm->data, "code") ? jval_str(sm->data, "code") : "?",
               jval_str(sm->data, "message") ? jval_str(sm->data, "message") : "");
        break;
    case PROTO_S_PONG:
        break; /* felt's own pings (the hello's confirmation, round trips) */
    default:
        fl_bot_event(b, sm, r);
        break;
    }
}

/* A table is finished when every client at it sees no hand running and every player sitting
 * out, after the last hand. */
bool fl_bot_sees_finished(const struct fl_bot *b)
{
    const struct fleet *f = b->f;
    if (!b->m.have || b->m.hand_running) return false;
    if (f->o->hands > 0 && b->m.hand_id < f->o->hands) return false;
    if (f->o->hands == 0 && !f->stop_play) return false;
    int players = 0;
    for (int s = 0; s < ENGINE_MAX_SEATS; s++) {
        if (!b->m.p[s].present) continue;
        players++;
        if (!b->m.p[s].sitting_out) return false;
    }
    return players == f->o->bots;
}

void fl_bot_check_finished(struct fl_bot *b)
{
    struct fl_table *t = b->t;
    if (t->finished || !fl_bot_sees_finished(b)) return;
    for (int i = 0; i < t->nbots; i++)
        if (!fl_bot_sees_finished(t->bots[i])) return;
    t->finished = true;
    fl_poke(b->f);
}

/* Every check of one bot that needs the whole run. */
void fl_bot_final(struct fleet *f, struct fl_bot *b)
{
    for (int i = 0; i < b->bad && i < FL_BAD_KEPT; i++)
        fl_fail(f, "%s: %s", b->name, b->bad_text[i]);
    if (b->bad > FL_BAD_KEPT)
        fl_fail(f, "%s: ... and %d more problems", b->name, b->bad - FL_BAD_KEPT);
    if (!b->connected) fl_fail(f, "%s: not connected at the end", b->name);
    if (b->disconnects != b->reconnects)
        fl_fail(f, "%s: %" PRIu64 " disconnects but %" PRIu64 " resumes", b->name, b->disconnects,
                b->reconnects);
    if (b->spectator) return;
    if (b->snapshots != 1)
        fl_fail(f, "%s: %d snapshots (want exactly one: every resume replays)", b->name,
                b->snapshots);
    for (size_t i = 0; i < b->nacts; i++)
        if (b->acts[i].acks == 0)
            fl_fail(f, "%s: action %s (hand %lld) was never acked", b->name, b->acts[i].rid,
                    (long long)b->acts[i].hand_id);
    for (size_t h = 0; h < b->nhands; h++)
        if (b->hands[h].accepted != b->hands[h].events)
            fl_fail(f,
                    "%s: hand %zu: %d actions accepted but %d action events of ours "
                    "(besides %d the server made)",
                    b->name, h, b->hands[h].accepted, b->hands[h].events, b->hands[h].server_acts);
    if (!b->sat_out_seen) fl_fail(f, "%s: its sit_out never showed in the stream", b->name);
    int64_t brought = (int64_t)f->o->bots * f->o->buy_in;
    if (b->m.chips != brought)
        fl_fail(f, "%s: the table holds %lld chips, %lld were brought", b->name,
                (long long)b->m.chips, (long long)brought);
}
