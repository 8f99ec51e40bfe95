/*
 * fleet_model.c: the fleet's own model of the table (fl_model_*), and the checks made on it, on
 * the stream and on felt's model (fleet_internal.h).
 *
 * The bots' view of the table is felt's: the model (client-tui/model.c) inside each in-process
 * bot's session, or, for a felt process, felt's model fed with the messages it printed. The
 * bots act from it, and at the end it must equal the server's final snapshot (fl_model_compare):
 * hand id, button, board, pots, and every player's id, name, stack, bet and presence.
 *
 * What the fleet keeps itself, from the same events, is only what an independent check needs,
 * which felt's model must not be trusted for, or does not keep:
 *   - the chips: every seat's stack, the pots, and the chips brought to the table (joins,
 *     rebuys, leaves), so that at every consistent point of the stream (every snapshot, every
 *     update that carries to_act, every hand_start and hand_end, seat changes between hands)
 *     the stacks plus the pots equal the chips brought (felt's model copies what it is told and
 *     checks no sums);
 *   - who sits out, from the seat changes, which the fleet needs to see when a table has
 *     finished (the final check compares felt's model's statuses with the server's);
 *   - every seq's public content, per table, so that every client at a table is checked to
 *     receive the same events and nothing private of anyone else (fl_model_check_order).
 * The seq-gap check (fleet_bot.c) counts the seqs itself, too.
 */
#include "fleet_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the model ------------------------------------------------------------------------- */

static int fl_model_seat_of(const struct fl_model *m, const char *id)
{
    for (int s = 0; id && s < ENGINE_MAX_SEATS; s++)
        if (m->p[s].present && strcmp(m->p[s].id, id) == 0) return s;
    return -1;
}

static int64_t fl_model_sum_stacks(const struct fl_model *m)
{
    int64_t sum = 0;
    for (int s = 0; s < ENGINE_MAX_SEATS; s++)
        if (m->p[s].present) sum += m->p[s].stack;
    return sum;
}

int64_t fl_model_sum_pots(json_object *pots)
{
    int64_t sum = 0;
    for (size_t i = 0;
         pots && json_object_is_type(pots, json_type_array) && i < json_object_array_length(pots);
         i++)
        sum += jval_int(json_object_array_get_idx(pots, i), "amount", 0);
    return sum;
}

/* Sets a seat from a player object (snapshot, hand_start, seat update). Returns the seat. */
static int fl_model_player(struct fl_bot *b, json_object *pj)
{
    struct fl_model *m = &b->m;
    int seat = (int)jval_int(pj, "seat", -1);
    const char *id = jval_str(pj, "player_id"), *st = jval_str(pj, "status");
    if (seat < 0 || seat >= ENGINE_MAX_SEATS || !id || !jval_str(pj, "name") || !st) {
        fl_bad(b, "malformed player object");
        return -1;
    }
    struct fl_player *p = &m->p[seat];
    if (p->present && strcmp(p->id, id) != 0)
        fl_bad(b, "seat %d holds %s, player object says %s", seat, p->id, id);
    p->present = true;
    snprintf(p->id, sizeof(p->id), "%s", id);
    p->stack = jval_int(pj, "stack", -1);
    if (strcmp(st, "sitting_out") == 0)
        p->sitting_out = true;
    else if (strcmp(st, "waiting") == 0)
        p->sitting_out = false;
    return seat;
}

void fl_model_snapshot(struct fl_bot *b, json_object *d)
{
    struct fl_model *m = &b->m;
    json_object *players = jval_get(d, "players");
    memset(m, 0, sizeof(*m));
    m->have = true;
    m->hand_id = jval_int(d, "hand_id", -1);
    m->hand_running = jval_bool(d, "hand_running", false);
    m->pots = fl_model_sum_pots(jval_get(d, "pots"));
    for (size_t i = 0; players && i < json_object_array_length(players); i++)
        fl_model_player(b, json_object_array_get_idx(players, i));
    m->chips = fl_model_sum_stacks(m) + m->pots;
}

/* At a consistent point of the stream the chips on the table equal the chips brought to it. */
void fl_model_check_chips(struct fl_bot *b, const char *where, uint64_t seq)
{
    int64_t have = fl_model_sum_stacks(&b->m) + b->m.pots;
    if (have != b->m.chips)
        fl_bad(b, "chips at seq %" PRIu64 " (%s): stacks+pots %lld, brought %lld", seq, where,
               (long long)have, (long long)b->m.chips);
}

static void fl_model_stacks(struct fl_bot *b, json_object *stacks)
{
    if (!stacks || !json_object_is_type(stacks, json_type_object)) return;
    json_object_object_foreach(stacks, k, v)
    {
        int s = fl_model_seat_of(&b->m, k);
        if (s < 0 || !json_object_is_type(v, json_type_int)) {
            fl_bad(b, "stack of unknown player %s", k);
            continue;
        }
        b->m.p[s].stack = json_object_get_int64(v);
    }
}

static void fl_model_seat(struct fl_bot *b, json_object *d, uint64_t seq)
{
    struct fl_model *m = &b->m;
    const char *change = jval_str(d, "change");
    json_object *pj = jval_get(d, "player");
    const char *id = jval_str(pj, "player_id");
    int old = fl_model_seat_of(m, id);
    int64_t old_stack = old >= 0 ? m->p[old].stack : 0;
    if (!change || !id) {
        fl_bad(b, "malformed seat update at seq %" PRIu64, seq);
        return;
    }
    if (strcmp(change, "left") == 0) {
        if (old < 0) {
            fl_bad(b, "%s left but was not seated", id);
            return;
        }
        m->chips -= old_stack;
        memset(&m->p[old], 0, sizeof(m->p[old]));
        return;
    }
    int seat = fl_model_player(b, pj);
    if (seat < 0) return;
    int64_t diff = m->p[seat].stack - old_stack;
    if (strcmp(change, "joined") == 0) {
        if (old >= 0) fl_bad(b, "%s joined twice", id);
        m->chips += m->p[seat].stack;
    } else if (strcmp(change, "rebuy") == 0 || strcmp(change, "sat_in") == 0) {
        m->chips += diff;
    } else if (diff != 0) {
        fl_bad(b, "seat update '%s' at seq %" PRIu64 " changed %s's stack by %lld", change, seq, id,
               (long long)diff);
    }
    if (strcmp(change, "sat_out") == 0 || strcmp(change, "busted") == 0)
        m->p[seat].sitting_out = true;
    else if (strcmp(change, "sat_in") == 0)
        m->p[seat].sitting_out = false;
    if (strcmp(id, b->player_id) == 0 && strcmp(change, "sat_out") == 0) b->sat_out_seen = true;
    if (!m->hand_running) fl_model_check_chips(b, change, seq);
}

/* What applying one state_update left the model as. */
enum fl_up { FL_UP_STOP, FL_UP_APPLIED, FL_UP_CONSISTENT };

static enum fl_up fl_up_hand_start(struct fl_bot *b, json_object *d, uint64_t seq)
{
    struct fl_model *m = &b->m;
    json_object *players = jval_get(d, "players");
    (void)seq;
    m->hand_id = jval_int(d, "hand_id", -1);
    m->hand_running = true;
    for (size_t i = 0; players && i < json_object_array_length(players); i++)
        fl_model_player(b, json_object_array_get_idx(players, i));
    m->pots = fl_model_sum_pots(jval_get(d, "pots"));
    return FL_UP_CONSISTENT;
}

static enum fl_up fl_up_action(struct fl_bot *b, json_object *d, uint64_t seq)
{
    struct fl_model *m = &b->m;
    int s = fl_model_seat_of(m, jval_str(d, "player_id"));
    if (s < 0) {
        fl_bad(b, "action of an unknown player at seq %" PRIu64, seq);
        return FL_UP_STOP;
    }
    fl_model_stacks(b, jval_get(d, "stacks"));
    m->pots = fl_model_sum_pots(jval_get(d, "pots"));
    return FL_UP_APPLIED;
}

static enum fl_up fl_up_street(struct fl_bot *b, json_object *d, uint64_t seq)
{
    (void)seq;
    b->m.pots = fl_model_sum_pots(jval_get(d, "pots"));
    return FL_UP_APPLIED;
}

static enum fl_up fl_up_uncalled(struct fl_bot *b, json_object *d, uint64_t seq)
{
    (void)seq;
    fl_model_stacks(b, jval_get(d, "stacks"));
    b->m.pots -= jval_int(d, "amount", 0); /* the update names no pots: the bet left them */
    return FL_UP_APPLIED;
}

static enum fl_up fl_up_showdown(struct fl_bot *b, json_object *d, uint64_t seq)
{
    (void)b, (void)d, (void)seq; /* cards only */
    return FL_UP_APPLIED;
}

static enum fl_up fl_up_hand_end(struct fl_bot *b, json_object *d, uint64_t seq)
{
    struct fl_model *m = &b->m;
    (void)seq;
    fl_model_stacks(b, jval_get(d, "stacks"));
    m->pots = 0;
    m->hand_running = false;
    return FL_UP_CONSISTENT;
}

static enum fl_up fl_up_seat(struct fl_bot *b, json_object *d, uint64_t seq)
{
    fl_model_seat(b, d, seq); /* checks the chips itself, between hands */
    return FL_UP_STOP;
}

static const struct {
    const char *event;
    enum fl_up (*fn)(struct fl_bot *b, json_object *d, uint64_t seq);
} fl_updates[] = {
    {"hand_start", fl_up_hand_start},
    {"action", fl_up_action},
    {"street", fl_up_street},
    {"uncalled", fl_up_uncalled},
    {"showdown", fl_up_showdown},
    {"hand_end", fl_up_hand_end},
    {"seat", fl_up_seat},
};

/* Applies a state_update; at a consistent point (the batch's last update, which carries to_act,
 * or a hand's start and end) the chips are checked. */
void fl_model_update(struct fl_bot *b, json_object *d, uint64_t seq)
{
    const char *ev = jval_str(d, "event");
    json_object *to_act = jval_get(d, "to_act");
    for (size_t i = 0; ev && i < FELT_ARRAY_LEN(fl_updates); i++) {
        if (strcmp(ev, fl_updates[i].event) != 0) continue;
        enum fl_up r = fl_updates[i].fn(b, d, seq);
        if (r == FL_UP_CONSISTENT ||
            (r == FL_UP_APPLIED && to_act && json_object_is_type(to_act, json_type_object)))
            fl_model_check_chips(b, ev, seq);
        return;
    }
    fl_bad(b, "state_update with unknown event '%s' at seq %" PRIu64, ev ? ev : "(none)", seq);
}

/* ---- ordering and privacy -------------------------------------------------------------- */

/* FNV-1a, 64 bits. */
static uint64_t fl_model_fnv(uint64_t h, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Removes what may differ between viewers (their own cards, your_turn) and checks that nothing
 * private of anyone else is there. Returns the hash of the public content. sm may be felt's (a
 * session's message): what is removed is removed from a copy. */
static uint64_t fl_model_public_hash(struct fl_bot *b, const struct proto_smsg *sm)
{
    json_object *d = sm->data, *copy = NULL;
    bool hand_start = sm->type == PROTO_S_STATE_UPDATE && fl_is_str(d, "event", "hand_start");
    bool your_turn = sm->type == PROTO_S_NOTIFICATION && fl_is_str(d, "kind", "your_turn");
    if (hand_start || your_turn) {
        if (json_object_deep_copy(sm->data, &copy, NULL) != 0) felt_fatal("out of memory");
        d = copy;
    }
    if (hand_start) {
        json_object *players = jval_get(d, "players");
        for (size_t i = 0; players && i < json_object_array_length(players); i++) {
            json_object *p = json_object_array_get_idx(players, i);
            if (!jval_get(p, "cards")) continue;
            if (b->spectator || !fl_is_str(p, "player_id", b->player_id))
                fl_bad(b, "hand %lld: saw the hole cards of %s", (long long)jval_int(d, "hand_id", 0),
                       jval_str(p, "player_id") ? jval_str(p, "player_id") : "?");
            json_object_object_del(p, "cards");
        }
    }
    if (your_turn) {
        if (b->spectator || !fl_is_str(d, "player_id", b->player_id))
            fl_bad(b, "received someone else's your_turn at seq %" PRIu64, sm->seq);
        json_object_object_add(d, "kind", json_object_new_string("turn"));
    }
    char head[96];
    int n = snprintf(head, sizeof(head), "%s|%" PRIu64 "|%" PRId64 "|", proto_stype_name(sm->type),
                     sm->seq, sm->timestamp);
    size_t len;
    const char *s = json_object_to_json_string_length(d, JSON_C_TO_STRING_PLAIN, &len);
    uint64_t h = fl_model_fnv(fl_model_fnv(0xcbf29ce484222325ULL, head, (size_t)n), s, len);
    json_object_put(copy);
    return h ? h : 1;
}

void fl_model_check_order(struct fl_bot *b, const struct proto_smsg *sm)
{
    struct fl_table *t = b->t;
    uint64_t h = fl_model_public_hash(b, sm);
    if (sm->seq >= t->nhash) {
        size_t n = t->nhash ? t->nhash : 1024;
        while (n <= sm->seq)
            n *= 2;
        t->hash = xrealloc(t->hash, n * sizeof(*t->hash));
        memset(t->hash + t->nhash, 0, (n - t->nhash) * sizeof(*t->hash));
        t->nhash = n;
    }
    if (t->hash[sm->seq] == 0)
        t->hash[sm->seq] = h;
    else if (t->hash[sm->seq] != h)
        fl_bad(b, "seq %" PRIu64 " differs from what another client at %s received", sm->seq,
               t->id);
}

/* Compares a client's final view (felt's model) with the server's final snapshot; who sits out
 * is compared from the fleet's own model (the comment at the top says why). */
void fl_model_compare(struct fleet *f, struct fl_table *t, struct fl_bot *b)
{
    json_object *d = t->final;
    const struct model *m = b->view;
    char who[80];
    snprintf(who, sizeof(who), "table %s, %s's view", t->id, b->name);
    if (!m || !m->have_snapshot) {
        fl_fail(f, "%s: felt has no model of the table", who);
        return;
    }
    if (jval_int(d, "hand_id", -2) != m->hand_id)
        fl_fail(f, "%s: hand %lld, server %lld", who, (long long)m->hand_id,
                (long long)jval_int(d, "hand_id", -2));
    if (jval_bool(d, "hand_running", true) != m->hand_running)
        fl_fail(f, "%s: hand_running %d, server %d", who, m->hand_running,
                jval_bool(d, "hand_running", true));
    if (jval_int(d, "button", -2) != m->button)
        fl_fail(f, "%s: button %d, server %lld", who, m->button, (long long)jval_int(d, "button", -2));
    json_object *board = jval_get(d, "board");
    int nboard = m->hand_running ? m->nboard : 0;
    if (!board || (int)json_object_array_length(board) != nboard)
        fl_fail(f, "%s: board of %d cards, server's differs", who, nboard);
    for (int i = 0; board && i < nboard && i < (int)json_object_array_length(board); i++) {
        char card[3];
        if (strcmp(json_object_get_string(json_object_array_get_idx(board, (size_t)i)),
                   card_str(m->board[i], card)) != 0)
            fl_fail(f, "%s: board card %d is %s, server's differs", who, i, card);
    }
    int64_t pots = 0;
    for (int i = 0; i < m->npots; i++)
        pots += m->pots[i].amount;
    if (fl_model_sum_pots(jval_get(d, "pots")) != pots)
        fl_fail(f, "%s: pots %lld, server %lld", who, (long long)pots,
                (long long)fl_model_sum_pots(jval_get(d, "pots")));
    json_object *players = jval_get(d, "players");
    int seen = 0;
    for (size_t i = 0; players && i < json_object_array_length(players); i++) {
        json_object *p = json_object_array_get_idx(players, i);
        int seat = (int)jval_int(p, "seat", -1);
        if (seat < 0 || seat >= MODEL_MAX_SEATS || !m->players[seat].present) {
            fl_fail(f, "%s: server has a player at seat %d the client does not know", who, seat);
            continue;
        }
        const struct model_player *mp = &m->players[seat];
        const char *status = model_status_name(mp->status);
        seen++;
        if (!fl_is_str(p, "player_id", mp->id) || !fl_is_str(p, "name", mp->name) ||
            jval_int(p, "stack", -1) != mp->stack || jval_int(p, "bet", -1) != mp->bet ||
            (!m->hand_running && !fl_is_str(p, "status", status)) ||
            jval_bool(p, "connected", !mp->connected) != mp->connected)
            fl_fail(f, "%s: seat %d is %s/%s stack %lld bet %lld %s %s; server: %s", who, seat,
                    mp->id, mp->name, (long long)mp->stack, (long long)mp->bet, status,
                    mp->connected ? "connected" : "disconnected",
                    json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
    }
    int known = 0;
    for (int s = 0; s < MODEL_MAX_SEATS; s++)
        known += m->players[s].present;
    if (known != seen) fl_fail(f, "%s: %d players, server %d", who, known, seen);
}
