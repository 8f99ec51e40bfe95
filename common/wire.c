/*
 * wire.c: the server-to-client messages, typed: one encoder (feltd) and one decoder (felt, the
 * fleet, the tests). Contracts in wire.h; the shapes are docs/protocol.md's.
 *
 * Both directions are table-driven by kind: wire_kinds[] names each kind and points at its
 * encoder and decoder, so a new event is one row and two functions. The decoder's field readers
 * (wd_*) all follow one rule: on a missing, mistyped or out-of-range field they fill err with
 * the field's name and return false, and the caller returns -1 at once.
 */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jbuf.h"
#include "jval.h"
#include "util.h"

/* ---- names ------------------------------------------------------------------------------ */

static const char *const wire_status_names[] = {
    [WIRE_WAITING] = "waiting", [WIRE_ACTIVE] = "active",           [WIRE_FOLDED] = "folded",
    [WIRE_ALL_IN] = "all_in",   [WIRE_SITTING_OUT] = "sitting_out",
};

static const char *const wire_seat_names[] = {
    [WIRE_SEAT_JOINED] = "joined",   [WIRE_SEAT_LEFT] = "left",     [WIRE_SEAT_LEAVING] = "leaving",
    [WIRE_SEAT_SAT_OUT] = "sat_out", [WIRE_SEAT_SAT_IN] = "sat_in", [WIRE_SEAT_BUSTED] = "busted",
    [WIRE_SEAT_REBUY] = "rebuy",
};

static const char *const wire_anim_names[] = {
    [WIRE_ANIM_DEAL] = "deal",
    [WIRE_ANIM_CHIPS_TO_POT] = "chips_to_pot",
    [WIRE_ANIM_DEAL_BOARD] = "deal_board",
    [WIRE_ANIM_REVEAL] = "reveal",
    [WIRE_ANIM_AWARD] = "award",
};

static const char *const wire_note_names[] = {
    [WIRE_NOTE_TURN] = "turn",
    [WIRE_NOTE_YOUR_TURN] = "your_turn",
    [WIRE_NOTE_TIMER_WARNING] = "timer_warning",
    [WIRE_NOTE_TIMEOUT] = "timeout",
    [WIRE_NOTE_PLAYER_JOINED] = "player_joined",
    [WIRE_NOTE_PLAYER_LEFT] = "player_left",
    [WIRE_NOTE_PLAYER_SAT_OUT] = "player_sat_out",
    [WIRE_NOTE_PLAYER_SAT_IN] = "player_sat_in",
    [WIRE_NOTE_BUSTED] = "busted",
    [WIRE_NOTE_PLAYER_CONNECTED] = "player_connected",
    [WIRE_NOTE_PLAYER_DISCONNECTED] = "player_disconnected",
    [WIRE_NOTE_HAND_WON] = "hand_won",
    [WIRE_NOTE_SPECTATORS] = "spectators",
    [WIRE_NOTE_HAND_VOIDED] = "hand_voided",
};

static const char *const wire_post_names[] = {
    [WIRE_POST_ANTE] = "ante",
    [WIRE_POST_SMALL_BLIND] = "small_blind",
    [WIRE_POST_BIG_BLIND] = "big_blind",
};

#define WIRE_NAME(table, i)                                                                        \
    ((unsigned)(i) < FELT_ARRAY_LEN(table) && (table)[i] ? (table)[i] : "unknown")

const char *wire_status_name(enum wire_status s)
{
    return WIRE_NAME(wire_status_names, s);
}
const char *wire_seat_change_name(enum wire_seat_change c)
{
    return WIRE_NAME(wire_seat_names, c);
}
const char *wire_anim_name(enum wire_anim_kind k)
{
    return WIRE_NAME(wire_anim_names, k);
}
const char *wire_note_name(enum wire_note_kind k)
{
    return WIRE_NAME(wire_note_names, k);
}

/* Index of s in names[0..n), or -1. */
static int wire_lookup(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (names[i] && strcmp(names[i], s) == 0) return (int)i;
    return -1;
}
#define WIRE_LOOKUP(table, s) wire_lookup(table, FELT_ARRAY_LEN(table), s)

/* ---- encoding: shared shapes ------------------------------------------------------------ */

/* The encoders write JSON text (jbuf.c) rather than json-c objects: every event feltd publishes
 * passes through here, and a tree of json-c objects costs several allocations per field. Keys
 * come in the documented order, as the writes do. */

/* A player id, or null when "" (a seat whose player is gone). */
static void we_id(struct jbuf *b, const char *key, const char *id)
{
    if (id[0])
        jbuf_key_string(b, key, id);
    else
        jbuf_key_null(b, key);
}

static void we_cards(struct jbuf *b, const char *key, const card_t *cards, int n)
{
    char buf[3];
    jbuf_key(b, key);
    jbuf_begin_array(b);
    for (int i = 0; i < n; i++)
        jbuf_string(b, card_str(cards[i], buf));
    jbuf_end_array(b);
}

static void we_player(struct jbuf *b, const struct wire_player *p)
{
    jbuf_begin_object(b);
    jbuf_key_string(b, "player_id", p->id);
    jbuf_key_string(b, "name", p->name);
    jbuf_key_int(b, "seat", p->seat);
    jbuf_key_int(b, "stack", p->stack);
    jbuf_key_int(b, "bet", p->bet);
    jbuf_key_string(b, "status", wire_status_name(p->status));
    jbuf_key_bool(b, "connected", p->connected);
    jbuf_key_bool(b, "bot", p->bot);
    if (p->ncards == 2) we_cards(b, "cards", p->cards, 2);
    jbuf_end_object(b);
}

static void we_players(struct jbuf *b, const struct wire_player *p, int n)
{
    jbuf_key(b, "players");
    jbuf_begin_array(b);
    for (int i = 0; i < n; i++)
        we_player(b, &p[i]);
    jbuf_end_array(b);
}

unsigned wire_to_act_legal(const struct wire_to_act *t)
{
    unsigned m = 1u << ENGINE_FOLD;
    m |= t->can_check ? 1u << ENGINE_CHECK : 1u << ENGINE_CALL;
    if (t->can_raise) m |= 1u << ENGINE_RAISE | 1u << ENGINE_ALL_IN;
    return m;
}

/* to_act's value: the object, or null when nobody is to act. */
static void we_to_act(struct jbuf *b, const struct wire_to_act *t)
{
    if (!t->present) {
        jbuf_null(b);
        return;
    }
    jbuf_begin_object(b);
    if (t->has_player) jbuf_key_string(b, "player_id", t->player_id);
    jbuf_key_string(b, "name", t->name);
    if (t->has_player) jbuf_key_int(b, "seat", t->seat);
    jbuf_key_int(b, "call", t->call);
    jbuf_key_bool(b, "can_check", t->can_check);
    if (t->can_raise) {
        jbuf_key_int(b, "min_raise_to", t->min_raise_to);
        jbuf_key_int(b, "max_raise_to", t->max_raise_to);
    } else {
        jbuf_key_null(b, "min_raise_to");
        jbuf_key_null(b, "max_raise_to");
    }
    if (t->has_deadline) jbuf_key_int(b, "deadline", t->deadline);
    if (t->decision > 0) jbuf_key_int(b, "decision", t->decision);
    jbuf_key(b, "legal");
    jbuf_begin_array(b);
    unsigned m = wire_to_act_legal(t);
    for (int a = ENGINE_FOLD; a <= ENGINE_ALL_IN; a++)
        if (m >> a & 1) jbuf_string(b, engine_action_name((enum engine_action)a));
    jbuf_end_array(b);
    jbuf_end_object(b);
}

/* The text written into b, parsed back into json-c (for the callers that want a tree; none is
 * on the path that renders events). Frees b. */
static struct json_object *we_parse(struct jbuf *b)
{
    size_t len;
    char *buf = jbuf_finish(b, &len);
    struct json_object *o = json_tokener_parse(buf);
    if (!o) felt_fatal("wire: the encoder wrote text json-c cannot parse");
    free(buf);
    return o;
}

struct json_object *wire_encode_to_act(const struct wire_to_act *t)
{
    if (!t->present) return NULL;
    struct jbuf b;
    jbuf_init(&b, 0, 256);
    we_to_act(&b, t);
    return we_parse(&b);
}

/* A probability, rounded to 4 decimals and written without trailing zeros ("0.6214", "0.5",
 * "1"), so the wire carries what a person reads, not 17 digits of binary noise. */
static void we_prob(struct jbuf *b, const char *key, double p)
{
    char buf[16];
    int n = snprintf(buf, sizeof(buf), "%.4f", p < 0 ? 0 : p > 1 ? 1 : p);
    while (n > 1 && buf[n - 1] == '0')
        buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '.') buf[--n] = '\0';
    jbuf_key(b, key);
    jbuf_raw(b, buf);
}

static void we_equity(struct jbuf *b, const struct wire_equity *e, int n)
{
    jbuf_key(b, "equity");
    jbuf_begin_object(b);
    for (int i = 0; i < n; i++) {
        jbuf_key(b, e[i].player_id);
        jbuf_begin_object(b);
        we_prob(b, "win", e[i].win);
        we_prob(b, "tie", e[i].tie);
        jbuf_end_object(b);
    }
    jbuf_end_object(b);
}

static void we_pots(struct jbuf *b, const struct wire_pot *pots, int n)
{
    jbuf_key(b, "pots");
    jbuf_begin_array(b);
    for (int i = 0; i < n; i++) {
        jbuf_begin_object(b);
        jbuf_key_int(b, "amount", pots[i].amount);
        jbuf_key(b, "eligible");
        jbuf_begin_array(b);
        for (int k = 0; k < pots[i].neligible; k++)
            jbuf_string(b, pots[i].eligible[k]);
        jbuf_end_array(b);
        jbuf_end_object(b);
    }
    jbuf_end_array(b);
}

/* The fields of an award (hand_end's and hand_won's pots, the award animation). */
static void we_award_fields(struct jbuf *b, const struct wire_award *aw)
{
    jbuf_key_int(b, "pot", aw->pot);
    jbuf_key_int(b, "amount", aw->amount);
    jbuf_key(b, "winners");
    jbuf_begin_array(b);
    for (int i = 0; i < aw->nwinners; i++) {
        jbuf_begin_object(b);
        we_id(b, "player_id", aw->winners[i].player_id);
        jbuf_key_int(b, "amount", aw->winners[i].amount);
        jbuf_end_object(b);
    }
    jbuf_end_array(b);
}

static void we_awards(struct jbuf *b, const struct wire_award *aw, int n)
{
    jbuf_key(b, "pots");
    jbuf_begin_array(b);
    for (int i = 0; i < n; i++) {
        jbuf_begin_object(b);
        we_award_fields(b, &aw[i]);
        jbuf_end_object(b);
    }
    jbuf_end_array(b);
}

static void we_stacks(struct jbuf *b, const struct wire_stacks *st)
{
    jbuf_key(b, "stacks");
    jbuf_begin_object(b);
    for (int i = 0; i < st->n; i++)
        if (st->s[i].player_id[0]) jbuf_key_int(b, st->s[i].player_id, st->s[i].amount);
    jbuf_end_object(b);
}

static void we_ids(struct jbuf *b, const char *key, const char (*ids)[WIRE_ID_MAX + 1], int n)
{
    jbuf_key(b, key);
    jbuf_begin_array(b);
    for (int i = 0; i < n; i++) {
        if (ids[i][0])
            jbuf_string(b, ids[i]);
        else
            jbuf_null(b);
    }
    jbuf_end_array(b);
}

/* ---- encoding: per kind ------------------------------------------------------------------ */

static void we_snapshot(const struct wire_event *ev, struct jbuf *b)
{
    const struct wire_snapshot *s = &ev->u.snapshot;
    jbuf_key_string(b, "epoch", s->epoch);
    jbuf_key(b, "table");
    jbuf_begin_object(b);
    jbuf_key_string(b, "id", s->table.id);
    jbuf_key_int(b, "seats", s->table.seats);
    jbuf_key_int(b, "small_blind", s->table.small_blind);
    jbuf_key_int(b, "big_blind", s->table.big_blind);
    jbuf_key_int(b, "ante", s->table.ante);
    jbuf_key_int(b, "buy_in", s->table.buy_in);
    jbuf_key_int(b, "action_timeout_ms", s->table.action_timeout_ms);
    jbuf_key_bool(b, "spectator_chat", s->table.spectator_chat);
    jbuf_end_object(b);
    jbuf_key_int(b, "hand_id", ev->hand_id);
    jbuf_key_bool(b, "hand_running", s->hand_running);
    if (s->button >= 0)
        jbuf_key_int(b, "button", s->button);
    else
        jbuf_key_null(b, "button");
    if (s->street >= 0)
        jbuf_key_string(b, "street", engine_street_name((enum engine_street)s->street));
    else
        jbuf_key_null(b, "street");
    we_cards(b, "board", s->board, s->nboard);
    we_pots(b, s->pots, s->npots);
    we_players(b, s->players, s->nplayers);
    jbuf_key(b, "to_act");
    we_to_act(b, &ev->to_act);
    jbuf_key(b, "you");
    if (s->has_you) {
        jbuf_begin_object(b);
        jbuf_key_string(b, "player_id", s->you.player_id);
        jbuf_key_string(b, "name", s->you.name);
        jbuf_key_int(b, "seat", s->you.seat);
        jbuf_key_bool(b, "sitting_out", s->you.sitting_out);
        jbuf_end_object(b);
    } else {
        jbuf_null(b);
    }
    jbuf_key_int(b, "spectators", s->spectators);
    if (s->nvoided > 0) {
        jbuf_key(b, "voided_hands");
        jbuf_begin_array(b);
        for (int i = 0; i < s->nvoided; i++)
            jbuf_int(b, s->voided[i]);
        jbuf_end_array(b);
    }
}

static void we_hand_start(const struct wire_event *ev, struct jbuf *b)
{
    const struct wire_hand_start *h = &ev->u.hand_start;
    jbuf_key_int(b, "button", h->button);
    jbuf_key_int(b, "small_blind_seat", h->small_blind_seat);
    jbuf_key_int(b, "big_blind_seat", h->big_blind_seat);
    jbuf_key(b, "posts");
    jbuf_begin_array(b);
    for (int i = 0; i < h->nposts; i++) {
        jbuf_begin_object(b);
        we_id(b, "player_id", h->posts[i].player_id);
        jbuf_key_string(b, "kind", WIRE_NAME(wire_post_names, h->posts[i].kind));
        jbuf_key_int(b, "amount", h->posts[i].amount);
        jbuf_end_object(b);
    }
    jbuf_end_array(b);
    we_players(b, h->players, h->nplayers);
    we_pots(b, h->pots, h->npots);
}

static void we_action(const struct wire_event *ev, struct jbuf *b)
{
    const struct wire_action *a = &ev->u.action;
    we_id(b, "player_id", a->player_id);
    jbuf_key_int(b, "seat", a->seat);
    jbuf_key_string(b, "action", engine_action_name(a->action));
    jbuf_key_int(b, "amount", a->amount);
    jbuf_key_int(b, "to", a->to);
    jbuf_key_bool(b, "all_in", a->all_in);
    we_stacks(b, &a->stacks);
    we_pots(b, a->pots, a->npots);
}

static void we_street(const struct wire_event *ev, struct jbuf *b)
{
    const struct wire_street *s = &ev->u.street;
    jbuf_key_string(b, "street", engine_street_name(s->street));
    we_cards(b, "cards", s->cards, s->ncards);
    we_pots(b, s->pots, s->npots);
}

static void we_uncalled(const struct wire_event *ev, struct jbuf *b)
{
    we_id(b, "player_id", ev->u.uncalled.player_id);
    jbuf_key_int(b, "amount", ev->u.uncalled.amount);
    we_stacks(b, &ev->u.uncalled.stacks);
}

static void we_showdown(const struct wire_event *ev, struct jbuf *b)
{
    const struct wire_showdown *s = &ev->u.showdown;
    jbuf_key(b, "shows");
    jbuf_begin_array(b);
    for (int i = 0; i < s->nshows; i++) {
        jbuf_begin_object(b);
        we_id(b, "player_id", s->shows[i].player_id);
        we_cards(b, "cards", s->shows[i].cards, 2);
        if (s->shows[i].hand[0])
            jbuf_key_string(b, "hand", s->shows[i].hand);
        else
            jbuf_key_null(b, "hand");
        jbuf_end_object(b);
    }
    jbuf_end_array(b);
    we_ids(b, "mucks", s->mucks, s->nmucks);
}

static void we_hand_end(const struct wire_event *ev, struct jbuf *b)
{
    we_awards(b, ev->u.hand_end.awards, ev->u.hand_end.nawards);
    we_stacks(b, &ev->u.hand_end.stacks);
}

static void we_seat(const struct wire_event *ev, struct jbuf *b)
{
    jbuf_key_string(b, "change", wire_seat_change_name(ev->u.seat.change));
    jbuf_key(b, "player");
    we_player(b, &ev->u.seat.player);
}

static void we_animation(const struct wire_event *ev, struct jbuf *b)
{
    const struct wire_animation *a = &ev->u.animation;
    jbuf_key_string(b, "kind", wire_anim_name(a->kind));
    switch (a->kind) {
    case WIRE_ANIM_DEAL:
        we_ids(b, "players", a->players, a->nplayers);
        break;
    case WIRE_ANIM_CHIPS_TO_POT:
        we_id(b, "player_id", a->player_id);
        jbuf_key_int(b, "amount", a->amount);
        break;
    case WIRE_ANIM_DEAL_BOARD:
        jbuf_key_string(b, "street", engine_street_name(a->street));
        we_cards(b, "cards", a->cards, a->ncards);
        break;
    case WIRE_ANIM_REVEAL:
        we_id(b, "player_id", a->player_id);
        we_cards(b, "cards", a->cards, a->ncards);
        break;
    case WIRE_ANIM_AWARD:
        we_award_fields(b, &a->award);
        break;
    case WIRE_ANIM_OTHER:
        felt_fatal("wire: an animation of unknown kind cannot be encoded");
    }
}

static void we_notification(const struct wire_event *ev, struct jbuf *b)
{
    const struct wire_notification *n = &ev->u.note;
    FELT_ASSERT(n->kind != WIRE_NOTE_OTHER);
    jbuf_key_string(b, "kind", wire_note_name(n->kind));
    if (n->has_player) {
        jbuf_key_string(b, "player_id", n->player_id);
        jbuf_key_string(b, "name", n->player_name);
    }
    switch (n->kind) {
    case WIRE_NOTE_TIMER_WARNING:
        jbuf_key_int(b, "seconds_left", n->seconds_left);
        /* fall through */
    case WIRE_NOTE_TURN:
    case WIRE_NOTE_YOUR_TURN:
        jbuf_key_int(b, "deadline", n->deadline);
        break;
    case WIRE_NOTE_PLAYER_LEFT:
        jbuf_key_string(b, "reason", n->reason);
        jbuf_key_int(b, "stack", n->stack);
        break;
    case WIRE_NOTE_HAND_WON:
        we_awards(b, n->awards, n->nawards);
        break;
    case WIRE_NOTE_SPECTATORS:
        jbuf_key_int(b, "count", n->count);
        break;
    case WIRE_NOTE_HAND_VOIDED:
        jbuf_key_int(b, "hand_id", n->hand_id);
        break;
    default:
        break;
    }
}

static void we_chat(const struct wire_event *ev, struct jbuf *b)
{
    const struct wire_chat *c = &ev->u.chat;
    if (c->has_player)
        jbuf_key_string(b, "player_id", c->player_id);
    else
        jbuf_key_null(b, "player_id");
    jbuf_key_string(b, "name", c->name);
    jbuf_key_bool(b, "spectator", c->spectator);
    jbuf_key_string(b, "text", c->text);
    if (c->expired) jbuf_key_bool(b, "expired", true);
}

/* ---- decoding: field readers ------------------------------------------------------------- */

static bool wd_fail(struct felt_err *err, const char *key, const char *what)
{
    felt_err_set(err, "bad_field", "%s %s", key, what);
    return false;
}

static bool wd_int(struct json_object *o, const char *key, int64_t min, int64_t max, int64_t *out,
                   struct felt_err *err)
{
    if (!jval_int_ok(o, key, out)) return wd_fail(err, key, "must be an integer");
    if (*out < min || *out > max) return wd_fail(err, key, "is out of range");
    return true;
}

/* An int field read into an int (its range must fit). */
static bool wd_small(struct json_object *o, const char *key, int min, int max, int *out,
                     struct felt_err *err)
{
    int64_t v;
    if (!wd_int(o, key, min, max, &v, err)) return false;
    *out = (int)v;
    return true;
}

static bool wd_amount(struct json_object *o, const char *key, int64_t *out, struct felt_err *err)
{
    return wd_int(o, key, 0, PROTO_AMOUNT_MAX, out, err);
}

/* A non-negative integer: a hand id, a deadline, a count. */
static bool wd_count(struct json_object *o, const char *key, int64_t *out, struct felt_err *err)
{
    return wd_int(o, key, 0, PROTO_INT_MAX, out, err);
}

static bool wd_seat(struct json_object *o, const char *key, int *out, struct felt_err *err)
{
    return wd_small(o, key, 0, ENGINE_MAX_SEATS - 1, out, err);
}

/* An integer or null (-1) field, like button. */
static bool wd_seat_or_null(struct json_object *o, const char *key, int *out, struct felt_err *err)
{
    struct json_object *v;
    if (json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v) && !v) {
        *out = -1;
        return true;
    }
    return wd_seat(o, key, out, err);
}

static bool wd_bool(struct json_object *o, const char *key, bool *out, struct felt_err *err)
{
    struct json_object *v = jval_typed(o, key, json_type_boolean);
    if (!v) return wd_fail(err, key, "must be true or false");
    *out = json_object_get_boolean(v);
    return true;
}

static bool wd_copy(const char *s, const char *key, char *out, size_t outsz, struct felt_err *err)
{
    size_t n = strlen(s);
    if (n >= outsz) return wd_fail(err, key, "is too long");
    memcpy(out, s, n + 1);
    return true;
}

static bool wd_str(struct json_object *o, const char *key, char *out, size_t outsz,
                   struct felt_err *err)
{
    const char *s = jval_str(o, key);
    if (!s) return wd_fail(err, key, "must be a string");
    return wd_copy(s, key, out, outsz, err);
}

/* A string or null ("") field. */
static bool wd_str_or_null(struct json_object *o, const char *key, char *out, size_t outsz,
                           struct felt_err *err)
{
    struct json_object *v;
    if (json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v) && !v) {
        out[0] = '\0';
        return true;
    }
    return wd_str(o, key, out, outsz, err);
}

/* A free-text field: absent is "", a longer one is cut at a code point boundary. */
static void wd_text(struct json_object *o, const char *key, char *out, size_t outsz)
{
    const char *s = jval_str(o, key);
    size_t n = s ? strlen(s) : 0;
    if (n >= outsz) {
        n = outsz - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(out, s ? s : "", n);
    out[n] = '\0';
}

static bool wd_id(struct json_object *o, const char *key, char *out, struct felt_err *err)
{
    return wd_str_or_null(o, key, out, WIRE_ID_MAX + 1, err);
}

static bool wd_name(struct json_object *o, const char *key, char *out, struct felt_err *err)
{
    return wd_str(o, key, out, PROTO_NAME_MAX_BYTES + 1, err);
}

/* A required array of at most max elements; its length in *n. */
static struct json_object *wd_array(struct json_object *o, const char *key, int max, int *n,
                                    struct felt_err *err)
{
    struct json_object *a = jval_typed(o, key, json_type_array);
    if (!a) {
        wd_fail(err, key, "must be an array");
        return NULL;
    }
    size_t len = json_object_array_length(a);
    if (len > (size_t)max) {
        wd_fail(err, key, "has too many elements");
        return NULL;
    }
    *n = (int)len;
    return a;
}

static bool wd_cards(struct json_object *o, const char *key, card_t *out, int max, int *n,
                     struct felt_err *err)
{
    struct json_object *a = wd_array(o, key, max, n, err);
    if (!a) return false;
    for (int i = 0; i < *n; i++) {
        struct json_object *c = json_object_array_get_idx(a, (size_t)i);
        if (!json_object_is_type(c, json_type_string) ||
            card_parse(json_object_get_string(c), &out[i], NULL) != 0)
            return wd_fail(err, key, "holds something that is not a card");
        for (int j = 0; j < i; j++)
            if (out[j] == out[i]) return wd_fail(err, key, "holds a card twice");
    }
    return true;
}

static bool wd_cards_exact(struct json_object *o, const char *key, card_t *out, int count,
                           struct felt_err *err)
{
    int n;
    if (!wd_cards(o, key, out, count, &n, err)) return false;
    return n == count || wd_fail(err, key, "has the wrong number of cards");
}

static bool wd_enum(struct json_object *o, const char *key, const char *const *names, size_t n,
                    int *out, struct felt_err *err)
{
    const char *s = jval_str(o, key);
    int i = wire_lookup(names, n, s);
    if (i < 0) return wd_fail(err, key, "is not one of the known values");
    *out = i;
    return true;
}
#define WD_ENUM(o, key, table, out, err)                                                           \
    wd_enum(o, key, table, FELT_ARRAY_LEN(table), (int *)(out), err)

static bool wd_street(struct json_object *o, const char *key, enum engine_street *out,
                      struct felt_err *err)
{
    const char *s = jval_str(o, key);
    for (int i = ENGINE_PREFLOP; s && i <= ENGINE_SHOWDOWN; i++)
        if (strcmp(s, engine_street_name((enum engine_street)i)) == 0) {
            *out = (enum engine_street)i;
            return true;
        }
    return wd_fail(err, key, "is not a street");
}

/* An array of player ids (or null entries, read as ""). */
static bool wd_ids(struct json_object *o, const char *key, char (*ids)[WIRE_ID_MAX + 1], int *n,
                   struct felt_err *err)
{
    struct json_object *a = wd_array(o, key, ENGINE_MAX_SEATS, n, err);
    for (int i = 0; a && i < *n; i++) {
        struct json_object *v = json_object_array_get_idx(a, (size_t)i);
        if (!v)
            ids[i][0] = '\0';
        else if (!json_object_is_type(v, json_type_string) ||
                 !wd_copy(json_object_get_string(v), key, ids[i], WIRE_ID_MAX + 1, err))
            return wd_fail(err, key, "must hold player ids");
    }
    return a != NULL;
}

static bool wd_player(struct json_object *o, struct wire_player *p, struct felt_err *err)
{
    if (!json_object_is_type(o, json_type_object))
        return wd_fail(err, "player", "must be an object");
    if (!wd_str(o, "player_id", p->id, sizeof(p->id), err) || !wd_name(o, "name", p->name, err) ||
        !wd_seat(o, "seat", &p->seat, err) || !wd_amount(o, "stack", &p->stack, err) ||
        !wd_amount(o, "bet", &p->bet, err) ||
        !WD_ENUM(o, "status", wire_status_names, &p->status, err) ||
        !wd_bool(o, "connected", &p->connected, err) || !wd_bool(o, "bot", &p->bot, err))
        return false;
    p->ncards = 0;
    if (jval_get(o, "cards")) {
        if (!wd_cards_exact(o, "cards", p->cards, 2, err)) return false;
        p->ncards = 2;
    }
    return true;
}

static bool wd_players(struct json_object *o, const char *key, struct wire_player *p, int *n,
                       struct felt_err *err)
{
    struct json_object *a = wd_array(o, key, ENGINE_MAX_SEATS, n, err);
    for (int i = 0; a && i < *n; i++)
        if (!wd_player(json_object_array_get_idx(a, (size_t)i), &p[i], err)) return false;
    return a != NULL;
}

/* "legal": distinct action names, into a bitmask of (1u << enum engine_action). */
static bool wd_legal(struct json_object *o, unsigned *out, struct felt_err *err)
{
    int n;
    struct json_object *a = wd_array(o, "legal", ENGINE_ALL_IN + 1, &n, err);
    enum engine_action act;
    if (!a) return false;
    *out = 0;
    for (int i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(a, (size_t)i);
        if (!json_object_is_type(v, json_type_string) ||
            engine_action_parse(json_object_get_string(v), &act) != 0)
            return wd_fail(err, "legal", "holds something that is not an action");
        if (*out >> act & 1) return wd_fail(err, "legal", "holds an action twice");
        *out |= 1u << act;
    }
    return true;
}

/* A number 0..1 (an integer 0 or 1 too). */
static bool wd_prob(struct json_object *o, const char *key, double *out, struct felt_err *err)
{
    struct json_object *v;
    if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
        !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
        return wd_fail(err, key, "must be a number");
    *out = json_object_get_double(v);
    if (!(*out >= 0 && *out <= 1)) return wd_fail(err, key, "must be between 0 and 1");
    return true;
}

static bool wd_to_act(struct json_object *d, struct wire_to_act *t, struct felt_err *err)
{
    struct json_object *o;
    memset(t, 0, sizeof(*t));
    t->seat = -1;
    if (!json_object_object_get_ex(d, "to_act", &o)) return wd_fail(err, "to_act", "is missing");
    if (!o) return true;
    if (!json_object_is_type(o, json_type_object))
        return wd_fail(err, "to_act", "must be an object or null");
    if (!wd_str(o, "player_id", t->player_id, sizeof(t->player_id), err) ||
        !wd_seat(o, "seat", &t->seat, err) || !wd_name(o, "name", t->name, err) ||
        !wd_amount(o, "call", &t->call, err) || !wd_bool(o, "can_check", &t->can_check, err) ||
        !wd_count(o, "deadline", &t->deadline, err))
        return false;
    t->present = t->has_player = t->has_deadline = true;
    t->can_raise = jval_get(o, "min_raise_to") != NULL;
    if (t->can_raise && (!wd_amount(o, "min_raise_to", &t->min_raise_to, err) ||
                         !wd_amount(o, "max_raise_to", &t->max_raise_to, err)))
        return false;
    /* decision: absent from a server from before it (0), else at least 1 */
    if (jval_get(o, "decision") && !wd_int(o, "decision", 1, PROTO_INT_MAX, &t->decision, err))
        return false;
    t->legal = wire_to_act_legal(t); /* a server from before "legal" */
    return !jval_get(o, "legal") || wd_legal(o, &t->legal, err);
}

/* "equity": {player_id: {"win": p, "tie": p}}, at most one entry per seat. */
static bool wd_equity(struct json_object *d, struct wire_event *ev, struct felt_err *err)
{
    struct json_object *m;
    if (!json_object_object_get_ex(d, "equity", &m)) return true;
    if (!json_object_is_type(m, json_type_object))
        return wd_fail(err, "equity", "must be an object");
    json_object_object_foreach(m, key, val)
    {
        if (ev->nequity == ENGINE_MAX_SEATS) return wd_fail(err, "equity", "has too many entries");
        struct wire_equity *e = &ev->equity[ev->nequity++];
        if (!wd_copy(key, "equity", e->player_id, sizeof(e->player_id), err) ||
            !wd_prob(val, "win", &e->win, err) || !wd_prob(val, "tie", &e->tie, err))
            return false;
        if (e->win + e->tie > 1.001) return wd_fail(err, "equity", "win + tie is above 1");
    }
    return true;
}

static bool wd_pots(struct json_object *o, const char *key, struct wire_pot *pots, int *n,
                    struct felt_err *err)
{
    struct json_object *a = wd_array(o, key, ENGINE_MAX_POTS, n, err);
    for (int i = 0; a && i < *n; i++) {
        struct json_object *p = json_object_array_get_idx(a, (size_t)i);
        if (!wd_amount(p, "amount", &pots[i].amount, err) ||
            !wd_ids(p, "eligible", pots[i].eligible, &pots[i].neligible, err))
            return false;
    }
    return a != NULL;
}

static bool wd_shares(struct json_object *o, const char *key, struct wire_share *s, int *n,
                      struct felt_err *err)
{
    struct json_object *a = wd_array(o, key, ENGINE_MAX_SEATS, n, err);
    for (int i = 0; a && i < *n; i++) {
        struct json_object *w = json_object_array_get_idx(a, (size_t)i);
        if (!wd_id(w, "player_id", s[i].player_id, err) ||
            !wd_amount(w, "amount", &s[i].amount, err))
            return false;
    }
    return a != NULL;
}

static bool wd_award(struct json_object *o, struct wire_award *aw, struct felt_err *err)
{
    return wd_small(o, "pot", 0, ENGINE_MAX_POTS - 1, &aw->pot, err) &&
           wd_amount(o, "amount", &aw->amount, err) &&
           wd_shares(o, "winners", aw->winners, &aw->nwinners, err);
}

static bool wd_awards(struct json_object *o, const char *key, struct wire_award *aw, int *n,
                      struct felt_err *err)
{
    struct json_object *a = wd_array(o, key, ENGINE_MAX_POTS, n, err);
    for (int i = 0; a && i < *n; i++)
        if (!wd_award(json_object_array_get_idx(a, (size_t)i), &aw[i], err)) return false;
    return a != NULL;
}

/* "stacks": {player_id: stack, ...} */
static bool wd_stacks(struct json_object *o, struct wire_stacks *st, struct felt_err *err)
{
    struct json_object *m = jval_typed(o, "stacks", json_type_object);
    st->n = 0;
    if (!m) return wd_fail(err, "stacks", "must be an object");
    json_object_object_foreach(m, key, val)
    {
        if (st->n == ENGINE_MAX_SEATS) return wd_fail(err, "stacks", "has too many entries");
        struct wire_share *s = &st->s[st->n++];
        if (!json_object_is_type(val, json_type_int) || json_object_get_int64(val) < 0 ||
            json_object_get_int64(val) > PROTO_AMOUNT_MAX)
            return wd_fail(err, "stacks", "must map player ids to amounts");
        if (!wd_copy(key, "stacks", s->player_id, sizeof(s->player_id), err)) return false;
        s->amount = json_object_get_int64(val);
    }
    return true;
}

/* ---- decoding: per kind ------------------------------------------------------------------ */

static bool wd_snapshot(struct json_object *d, struct wire_event *ev, struct felt_err *err)
{
    struct wire_snapshot *s = &ev->u.snapshot;
    struct json_object *t = jval_typed(d, "table", json_type_object), *you;
    if (!t) return wd_fail(err, "table", "must be an object");
    if (jval_get(d, "epoch") && !wd_str(d, "epoch", s->epoch, sizeof(s->epoch), err)) return false;
    if (jval_get(d, "voided_hands")) {
        struct json_object *v = jval_typed(d, "voided_hands", json_type_array);
        size_t n = v ? json_object_array_length(v) : 0;
        if (!v || n > WIRE_VOIDED_MAX)
            return wd_fail(err, "voided_hands", "must be an array of at most 8 hand ids");
        for (size_t i = 0; i < n; i++) {
            struct json_object *h = json_object_array_get_idx(v, i);
            if (!json_object_is_type(h, json_type_int) || json_object_get_int64(h) < 0 ||
                json_object_get_int64(h) > PROTO_INT_MAX)
                return wd_fail(err, "voided_hands", "must be an array of at most 8 hand ids");
            s->voided[s->nvoided++] = json_object_get_int64(h);
        }
    }
    if (!wd_str(t, "id", s->table.id, sizeof(s->table.id), err) ||
        !wd_small(t, "seats", 2, ENGINE_MAX_SEATS, &s->table.seats, err) ||
        !wd_amount(t, "small_blind", &s->table.small_blind, err) ||
        !wd_amount(t, "big_blind", &s->table.big_blind, err) ||
        !wd_amount(t, "ante", &s->table.ante, err) ||
        !wd_amount(t, "buy_in", &s->table.buy_in, err) ||
        !wd_amount(t, "action_timeout_ms", &s->table.action_timeout_ms, err) ||
        !wd_bool(t, "spectator_chat", &s->table.spectator_chat, err) ||
        !wd_count(d, "hand_id", &ev->hand_id, err) ||
        !wd_bool(d, "hand_running", &s->hand_running, err) ||
        !wd_seat_or_null(d, "button", &s->button, err) ||
        !wd_cards(d, "board", s->board, 5, &s->nboard, err) ||
        !wd_pots(d, "pots", s->pots, &s->npots, err) ||
        !wd_players(d, "players", s->players, &s->nplayers, err) ||
        !wd_small(d, "spectators", 0, INT32_MAX, &s->spectators, err))
        return false;
    s->street = -1;
    if (jval_get(d, "street")) {
        enum engine_street st;
        if (!wd_street(d, "street", &st, err)) return false;
        s->street = (int)st;
    }
    you = jval_get(d, "you");
    s->has_you = you != NULL;
    if (you &&
        (!wd_str(you, "player_id", s->you.player_id, sizeof(s->you.player_id), err) ||
         !wd_name(you, "name", s->you.name, err) || !wd_seat(you, "seat", &s->you.seat, err) ||
         !wd_bool(you, "sitting_out", &s->you.sitting_out, err)))
        return false;
    return wd_to_act(d, &ev->to_act, err);
}

static bool wd_hand_start(struct json_object *d, struct wire_event *ev, struct felt_err *err)
{
    struct wire_hand_start *h = &ev->u.hand_start;
    struct json_object *posts = wd_array(d, "posts", 2 * ENGINE_MAX_SEATS, &h->nposts, err);
    if (!posts || !wd_seat(d, "button", &h->button, err) ||
        !wd_seat(d, "small_blind_seat", &h->small_blind_seat, err) ||
        !wd_seat(d, "big_blind_seat", &h->big_blind_seat, err) ||
        !wd_players(d, "players", h->players, &h->nplayers, err) ||
        !wd_pots(d, "pots", h->pots, &h->npots, err))
        return false;
    for (int i = 0; i < h->nposts; i++) {
        struct json_object *p = json_object_array_get_idx(posts, (size_t)i);
        if (!wd_id(p, "player_id", h->posts[i].player_id, err) ||
            !WD_ENUM(p, "kind", wire_post_names, &h->posts[i].kind, err) ||
            !wd_amount(p, "amount", &h->posts[i].amount, err))
            return false;
    }
    return true;
}

static bool wd_action(struct json_object *d, struct wire_event *ev, struct felt_err *err)
{
    struct wire_action *a = &ev->u.action;
    if (!wd_id(d, "player_id", a->player_id, err) || !wd_seat(d, "seat", &a->seat, err) ||
        !wd_amount(d, "amount", &a->amount, err) || !wd_amount(d, "to", &a->to, err) ||
        !wd_bool(d, "all_in", &a->all_in, err) || !wd_stacks(d, &a->stacks, err) ||
        !wd_pots(d, "pots", a->pots, &a->npots, err))
        return false;
    if (engine_action_parse(jval_str(d, "action") ? jval_str(d, "action") : "", &a->action) != 0)
        return wd_fail(err, "action", "is not an action");
    return true;
}

static bool wd_street_ev(struct json_object *d, struct wire_event *ev, struct felt_err *err)
{
    struct wire_street *s = &ev->u.street;
    return wd_street(d, "street", &s->street, err) &&
           wd_cards(d, "cards", s->cards, 5, &s->ncards, err) &&
           wd_pots(d, "pots", s->pots, &s->npots, err);
}

static bool wd_uncalled(struct json_object *d, struct wire_event *ev, struct felt_err *err)
{
    return wd_id(d, "player_id", ev->u.uncalled.player_id, err) &&
           wd_amount(d, "amount", &ev->u.uncalled.amount, err) &&
           wd_stacks(d, &ev->u.uncalled.stacks, err);
}

static bool wd_showdown(struct json_object *d, struct wire_event *ev, struct felt_err *err)
{
    struct wire_showdown *s = &ev->u.showdown;
    struct json_object *shows = wd_array(d, "shows", ENGINE_MAX_SEATS, &s->nshows, err);
    if (!shows || !wd_ids(d, "mucks", s->mucks, &s->nmucks, err)) return false;
    for (int i = 0; i < s->nshows; i++) {
        struct json_object *o = json_object_array_get_idx(shows, (size_t)i);
        if (!wd_id(o, "player_id", s->shows[i].player_id, err) ||
            !wd_cards_exact(o, "cards", s->shows[i].cards, 2, err) ||
            !wd_str_or_null(o, "hand", s->shows[i].hand, sizeof(s->shows[i].hand), err))
            return false;
    }
    return true;
}

static bool wd_hand_end(struct json_object *d, struct wire_event *ev, struct felt_err *err)
{
    return wd_awards(d, "pots", ev->u.hand_end.awards, &ev->u.hand_end.nawards, err) &&
           wd_stacks(d, &ev->u.hand_end.stacks, err);
}

static bool wd_seat_ev(struct json_object *d, struct wire_event *ev, struct felt_err *err)
{
    return WD_ENUM(d, "change", wire_seat_names, &ev->u.seat.change, err) &&
           wd_player(jval_get(d, "player"), &ev->u.seat.player, err);
}

static bool wd_animation(struct json_object *d, struct wire_event *ev, struct felt_err *err)
{
    struct wire_animation *a = &ev->u.animation;
    if (!wd_str(d, "kind", a->name, sizeof(a->name), err)) return false;
    int k = WIRE_LOOKUP(wire_anim_names, a->name);
    a->kind = k < 0 ? WIRE_ANIM_OTHER : (enum wire_anim_kind)k;
    switch (a->kind) {
    case WIRE_ANIM_DEAL:
        return wd_ids(d, "players", a->players, &a->nplayers, err);
    case WIRE_ANIM_CHIPS_TO_POT:
        return wd_id(d, "player_id", a->player_id, err) && wd_amount(d, "amount", &a->amount, err);
    case WIRE_ANIM_DEAL_BOARD:
        return wd_street(d, "street", &a->street, err) &&
               wd_cards(d, "cards", a->cards, 5, &a->ncards, err);
    case WIRE_ANIM_REVEAL:
        a->ncards = 2;
        return wd_id(d, "player_id", a->player_id, err) &&
               wd_cards_exact(d, "cards", a->cards, 2, err);
    case WIRE_ANIM_AWARD:
        return wd_award(d, &a->award, err);
    case WIRE_ANIM_OTHER:
        break;
    }
    return true;
}

static bool wd_notification(struct json_object *d, struct wire_event *ev, struct felt_err *err)
{
    struct wire_notification *n = &ev->u.note;
    if (!wd_str(d, "kind", n->name, sizeof(n->name), err)) return false;
    int k = WIRE_LOOKUP(wire_note_names, n->name);
    n->kind = k < 0 ? WIRE_NOTE_OTHER : (enum wire_note_kind)k;
    n->has_player = jval_get(d, "player_id") != NULL;
    if (n->has_player && (!wd_str(d, "player_id", n->player_id, sizeof(n->player_id), err) ||
                          !wd_name(d, "name", n->player_name, err)))
        return false;
    switch (n->kind) {
    case WIRE_NOTE_TIMER_WARNING:
        if (!wd_int(d, "seconds_left", 0, INT32_MAX, &n->seconds_left, err)) return false;
        /* fall through */
    case WIRE_NOTE_TURN:
    case WIRE_NOTE_YOUR_TURN:
        return wd_count(d, "deadline", &n->deadline, err);
    case WIRE_NOTE_PLAYER_LEFT:
        return wd_str(d, "reason", n->reason, sizeof(n->reason), err) &&
               wd_amount(d, "stack", &n->stack, err);
    case WIRE_NOTE_HAND_WON:
        return wd_awards(d, "pots", n->awards, &n->nawards, err);
    case WIRE_NOTE_SPECTATORS:
        return wd_int(d, "count", 0, INT32_MAX, &n->count, err);
    case WIRE_NOTE_HAND_VOIDED:
        return wd_count(d, "hand_id", &n->hand_id, err);
    default:
        return true;
    }
}

static bool wd_chat(struct json_object *d, struct wire_event *ev, struct felt_err *err)
{
    struct wire_chat *c = &ev->u.chat;
    c->expired = jval_bool(d, "expired", false);
    c->has_player = jval_get(d, "player_id") != NULL;
    if (!wd_id(d, "player_id", c->player_id, err) ||
        !wd_str(d, "name", c->name, sizeof(c->name), err) ||
        !wd_bool(d, "spectator", &c->spectator, err))
        return false;
    return wd_str(d, "text", c->text, sizeof(c->text), err);
}

static bool wd_ack(struct json_object *d, struct wire_event *ev, struct felt_err *err)
{
    struct wire_ack *a = &ev->u.ack;
    const char *status = jval_str(d, "status");
    if (!status || (strcmp(status, "accepted") != 0 && strcmp(status, "rejected") != 0))
        return wd_fail(err, "status", "must be \"accepted\" or \"rejected\"");
    a->accepted = strcmp(status, "accepted") == 0;
    a->has_request_id = jval_get(d, "request_id") != NULL;
    if (!wd_str_or_null(d, "request_id", a->request_id, sizeof(a->request_id), err)) return false;
    wd_text(d, "code", a->code, sizeof(a->code));
    wd_text(d, "message", a->message, sizeof(a->message));
    a->has_hand_id = jval_get(d, "hand_id") != NULL;
    if (a->has_hand_id && !wd_count(d, "hand_id", &a->hand_id, err)) return false;
    a->has_seat = jval_get(d, "token") != NULL;
    return !a->has_seat || (wd_str(d, "player_id", a->player_id, sizeof(a->player_id), err) &&
                            wd_str(d, "token", a->token, sizeof(a->token), err) &&
                            wd_seat(d, "seat", &a->seat, err) && wd_name(d, "name", a->name, err));
}

static bool wd_error(struct json_object *d, struct wire_event *ev, struct felt_err *err)
{
    if (!wd_str(d, "code", ev->u.error.code, sizeof(ev->u.error.code), err)) return false;
    wd_text(d, "message", ev->u.error.message, sizeof(ev->u.error.message));
    return true;
}

static bool wd_pong(struct json_object *d, struct wire_event *ev, struct felt_err *err)
{
    return wd_int(d, "id", PROTO_INT_MIN, PROTO_INT_MAX, &ev->u.pong_id, err);
}

/* ---- the table of kinds ------------------------------------------------------------------ */

static const struct {
    const char *name; /* the update's "event", else the envelope type */
    enum proto_stype stype;
    void (*encode)(const struct wire_event *ev, struct jbuf *b); /* the kind's own members */
    bool (*decode)(struct json_object *d, struct wire_event *ev, struct felt_err *err);
} wire_kinds[WIRE_KIND_COUNT] = {
    [WIRE_SNAPSHOT] = {"snapshot", PROTO_S_SNAPSHOT, we_snapshot, wd_snapshot},
    [WIRE_HAND_START] = {"hand_start", PROTO_S_STATE_UPDATE, we_hand_start, wd_hand_start},
    [WIRE_ACTION] = {"action", PROTO_S_STATE_UPDATE, we_action, wd_action},
    [WIRE_STREET] = {"street", PROTO_S_STATE_UPDATE, we_street, wd_street_ev},
    [WIRE_UNCALLED] = {"uncalled", PROTO_S_STATE_UPDATE, we_uncalled, wd_uncalled},
    [WIRE_SHOWDOWN] = {"showdown", PROTO_S_STATE_UPDATE, we_showdown, wd_showdown},
    [WIRE_HAND_END] = {"hand_end", PROTO_S_STATE_UPDATE, we_hand_end, wd_hand_end},
    [WIRE_SEAT] = {"seat", PROTO_S_STATE_UPDATE, we_seat, wd_seat_ev},
    [WIRE_ANIMATION] = {"animation", PROTO_S_ANIMATION, we_animation, wd_animation},
    [WIRE_NOTIFICATION] = {"notification", PROTO_S_NOTIFICATION, we_notification, wd_notification},
    [WIRE_CHAT] = {"chat", PROTO_S_CHAT, we_chat, wd_chat},
    [WIRE_ACK] = {"ack", PROTO_S_ACK, NULL, wd_ack},
    [WIRE_ERROR] = {"error", PROTO_S_ERROR, NULL, wd_error},
    [WIRE_PONG] = {"pong", PROTO_S_PONG, NULL, wd_pong},
};

enum proto_stype wire_stype(enum wire_kind k)
{
    FELT_ASSERT((unsigned)k < WIRE_KIND_COUNT);
    return wire_kinds[k].stype;
}

const char *wire_kind_name(enum wire_kind k)
{
    return (unsigned)k < WIRE_KIND_COUNT ? wire_kinds[k].name : "unknown";
}

void wire_init(struct wire_event *ev, enum wire_kind kind)
{
    memset(ev, 0, sizeof(*ev));
    ev->kind = kind;
    ev->to_act.seat = -1;
    if (kind == WIRE_SNAPSHOT) ev->u.snapshot.button = ev->u.snapshot.street = -1;
}

/* The members of ev's "data" object into b (the braces are the caller's). */
static void we_data(struct jbuf *b, const struct wire_event *ev)
{
    FELT_ASSERT((unsigned)ev->kind < WIRE_KIND_COUNT && wire_kinds[ev->kind].encode);
    if (wire_kinds[ev->kind].stype == PROTO_S_STATE_UPDATE) {
        jbuf_key_string(b, "event", wire_kinds[ev->kind].name);
        jbuf_key_int(b, "hand_id", ev->hand_id);
        jbuf_key(b, "to_act");
        we_to_act(b, &ev->to_act);
    }
    wire_kinds[ev->kind].encode(ev, b);
    if (ev->nequity > 0 &&
        (ev->kind == WIRE_SNAPSHOT || wire_kinds[ev->kind].stype == PROTO_S_STATE_UPDATE))
        we_equity(b, ev->equity, ev->nequity);
}

struct json_object *wire_encode_data(const struct wire_event *ev)
{
    struct jbuf b;
    jbuf_init(&b, 0, 1024);
    jbuf_begin_object(&b);
    we_data(&b, ev);
    jbuf_end_object(&b);
    return we_parse(&b);
}

char *wire_encode_into(const struct wire_event *ev, uint64_t seq, int64_t timestamp_ms,
                       size_t head, size_t *len_out)
{
    FELT_ASSERT((unsigned)ev->kind < WIRE_KIND_COUNT);
    enum proto_stype type = wire_kinds[ev->kind].stype;
    struct jbuf b;
    jbuf_init(&b, head, 1024);
    jbuf_begin_object(&b);
    jbuf_key_string(&b, "type", proto_stype_name(type));
    if (proto_stype_is_event(type)) {
        FELT_ASSERT(seq <= (uint64_t)PROTO_INT_MAX);
        jbuf_key_int(&b, "seq", (int64_t)seq);
    }
    jbuf_key_int(&b, "timestamp", timestamp_ms);
    jbuf_key(&b, "data");
    jbuf_begin_object(&b);
    we_data(&b, ev);
    jbuf_end_object(&b);
    jbuf_end_object(&b);
    return jbuf_finish(&b, len_out);
}

char *wire_encode(const struct wire_event *ev, uint64_t seq, int64_t timestamp_ms, size_t *len_out)
{
    return wire_encode_into(ev, seq, timestamp_ms, 0, len_out);
}

/* The kind of a decoded envelope: the update's event for state_update, else by type. */
static int wire_kind_of(const struct proto_smsg *m, struct felt_err *err)
{
    if (m->type != PROTO_S_STATE_UPDATE) {
        for (int k = 0; k < WIRE_KIND_COUNT; k++)
            if (wire_kinds[k].stype == m->type) return k;
        return felt_err_set(err, "bad_type", "unknown message type");
    }
    const char *event = jval_str(m->data, "event");
    if (!event) return felt_err_set(err, "bad_field", "event must be a string");
    for (int k = 0; k < WIRE_KIND_COUNT; k++)
        if (wire_kinds[k].stype == PROTO_S_STATE_UPDATE && strcmp(wire_kinds[k].name, event) == 0)
            return k;
    return felt_err_set(err, "unknown_event", "unknown state_update event \"%.32s\"", event);
}

int wire_decode(const struct proto_smsg *m, struct wire_event *ev, struct felt_err *err)
{
    int k = wire_kind_of(m, err);
    wire_init(ev, k < 0 ? WIRE_SNAPSHOT : (enum wire_kind)k);
    if (k < 0) return -1;
    ev->has_seq = m->has_seq;
    ev->seq = m->seq;
    ev->timestamp = m->timestamp;
    if (wire_kinds[k].stype == PROTO_S_STATE_UPDATE &&
        (!wd_count(m->data, "hand_id", &ev->hand_id, err) || !wd_to_act(m->data, &ev->to_act, err)))
        return -1;
    if ((k == WIRE_SNAPSHOT || wire_kinds[k].stype == PROTO_S_STATE_UPDATE) &&
        !wd_equity(m->data, ev, err))
        return -1;
    return wire_kinds[k].decode(m->data, ev, err) ? 0 : -1;
}

int wire_decode_text(const char *buf, size_t len, struct wire_event *ev, struct felt_err *err)
{
    struct proto_smsg m;
    memset(&m, 0, sizeof(m));
    if (proto_decode_server(buf, len, &m, err) != 0) {
        wire_init(ev, WIRE_SNAPSHOT);
        return -1;
    }
    int rc = wire_decode(&m, ev, err);
    proto_smsg_clear(&m);
    return rc;
}
