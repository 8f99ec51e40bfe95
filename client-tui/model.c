/*
 * model.c: the table as this client knows it, built only from what the server sends.
 *
 * model_apply() takes every server message, dispatched by type through model_handlers[] (and
 * state updates, animations and notifications by their event or kind through smaller const
 * tables). The server is the authority: the model never computes game rules, it copies stacks,
 * bets, pots, to_act and the all-in equity (counted by the server) from the messages. Two things
 * are derived here: the hand log (one human line per action, street and result) and the names of
 * shown hands.
 *
 * The log reads like a poker room's, in one vocabulary: "bets" when nobody has bet on the street
 * yet, "raises to" after (the blinds count as bets); amounts as the table shows them ("1,250",
 * text_chips); cards with the table's suit symbols ("A\u2665", text_card; the layout turns them
 * into letters for --ascii); shown hands named with their ranks from the cards and the board
 * (eval_describe), renamed as the board runs out, so an all-in's winner is named too. Each hand
 * opens with a separator line, and nothing of an earlier hand is removed from the log.
 *
 * Robustness contract: the server is trusted for the rules but not for the shapes. Every message
 * is decoded by wire_decode() (common/wire.c), which refuses a message with a missing, mistyped
 * or out-of-range field whole, so the model applies such a message as a no-op (its seq still
 * counts). An unknown player id makes that part of a message a no-op, and every string is
 * sanitized for the terminal before it is stored. Events are applied in seq order only
 * (MODEL_GAP otherwise), so a replayed event is never applied twice.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client.h"
#include "handrec.h"
#include "text.h"
#include "wire.h"

/* Sanitizes a network string into out; "?" when it is invalid, empty or too long. */
static void model_text(const char *in, char *out, size_t outsz, size_t max_chars)
{
    struct felt_err err;
    if (!in || text_sanitize(in, strlen(in), out, outsz, max_chars, &err) <= 0)
        snprintf(out, outsz, "?");
}

/* Names p's shown hand with the board dealt so far (handrec_name_hand); keeps the server's word
 * (its category) when there are fewer than three board cards to name it with. */
static void model_name_hand(struct model *m, struct model_player *p)
{
    char name[EVAL_DESCRIBE_MAX];
    if (p->ncards == 2 && handrec_name_hand(p->cards, m->board, m->nboard, name))
        snprintf(p->hand, sizeof(p->hand), "%s", name);
}

/* ---- lookups --------------------------------------------------------------------------- */

static struct model_player *model_find(struct model *m, const char *id)
{
    if (!id || !id[0]) return NULL;
    for (int s = 0; s < MODEL_MAX_SEATS; s++)
        if (m->players[s].present && strcmp(m->players[s].id, id) == 0) return &m->players[s];
    return NULL;
}

const struct model_player *model_player_by_id(const struct model *m, const char *id)
{
    return model_find((struct model *)m, id);
}

const struct model_player *model_me(const struct model *m)
{
    if (m->me_seat >= 0 && m->me_seat < MODEL_MAX_SEATS && m->players[m->me_seat].present)
        return &m->players[m->me_seat];
    return model_player_by_id(m, m->me_id);
}

bool model_my_turn(const struct model *m)
{
    return m->to_act.active && m->me_id[0] && strcmp(m->to_act.player_id, m->me_id) == 0;
}

int64_t model_pot_total(const struct model *m)
{
    int64_t sum = 0;
    for (int i = 0; i < m->npots; i++)
        sum += m->pots[i].amount;
    /* The server's pots are built from committed chips, bets of this round included; when it
     * sent none (between streets of an old snapshot) fall back to the bets. */
    if (m->npots == 0)
        for (int s = 0; s < MODEL_MAX_SEATS; s++)
            if (m->players[s].present) sum += m->players[s].bet;
    return sum;
}

static const char *const model_status_names[] = {
    [MODEL_WAITING] = "waiting", [MODEL_ACTIVE] = "active",           [MODEL_FOLDED] = "folded",
    [MODEL_ALL_IN] = "all_in",   [MODEL_SITTING_OUT] = "sitting_out",
};

const char *model_status_name(enum model_status s)
{
    return (unsigned)s < FELT_ARRAY_LEN(model_status_names) ? model_status_names[s] : "unknown";
}

static enum model_status model_status_of(enum wire_status s)
{
    static const enum model_status map[] = {
        [WIRE_WAITING] = MODEL_WAITING,         [WIRE_ACTIVE] = MODEL_ACTIVE,
        [WIRE_FOLDED] = MODEL_FOLDED,           [WIRE_ALL_IN] = MODEL_ALL_IN,
        [WIRE_SITTING_OUT] = MODEL_SITTING_OUT,
    };
    return (unsigned)s < FELT_ARRAY_LEN(map) ? map[s] : MODEL_WAITING;
}

/* ---- the log and the chat rings -------------------------------------------------------- */

__attribute__((format(printf, 3, 0)))
static void model_log_vadd(struct model *m, enum model_log_kind kind, const char *fmt, va_list ap)
{
    char raw[MODEL_LOG_LINE * 2];
    struct model_log_line *l;
    struct felt_err err;
    int n;

    vsnprintf(raw, sizeof(raw), fmt, ap);
    if (m->log_count == MODEL_LOG_MAX) {
        l = &m->log[m->log_head];
        m->log_head = (m->log_head + 1) % MODEL_LOG_MAX;
    } else {
        l = &m->log[(m->log_head + m->log_count) % MODEL_LOG_MAX];
        m->log_count++;
    }
    l->kind = kind;
    l->hand_id = m->hand_running ? m->hand_id : 0;
    /* Cut at a code point boundary before sanitizing, so an over-long line is shortened, not
     * refused. The pieces that come from the network were sanitized already. */
    size_t len = strlen(raw);
    if (len >= MODEL_LOG_LINE) {
        len = MODEL_LOG_LINE - 1;
        while (len > 0 && ((unsigned char)raw[len] & 0xc0) == 0x80)
            len--;
        raw[len] = '\0';
    }
    n = text_sanitize(raw, len, l->text, sizeof(l->text), MODEL_LOG_LINE, &err);
    if (n < 0) snprintf(l->text, sizeof(l->text), "?");
    m->version++;
}

void model_log_add(struct model *m, enum model_log_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    model_log_vadd(m, kind, fmt, ap);
    va_end(ap);
}

const struct model_log_line *model_log_get(const struct model *m, int i)
{
    if (i < 0 || i >= m->log_count) return NULL;
    return &m->log[(m->log_head + i) % MODEL_LOG_MAX];
}

const struct model_chat *model_chat_get(const struct model *m, int i)
{
    if (i < 0 || i >= m->chat_count) return NULL;
    return &m->chat[(m->chat_head + i) % MODEL_CHAT_MAX];
}

static struct model_chat *model_chat_push(struct model *m)
{
    struct model_chat *c;
    if (m->chat_count == MODEL_CHAT_MAX) {
        c = &m->chat[m->chat_head];
        m->chat_head = (m->chat_head + 1) % MODEL_CHAT_MAX;
    } else {
        c = &m->chat[(m->chat_head + m->chat_count) % MODEL_CHAT_MAX];
        m->chat_count++;
    }
    memset(c, 0, sizeof(*c));
    return c;
}

/* ---- shared shapes --------------------------------------------------------------------- */

/* Puts a player into the seat it names. Keeps the cards we already know of the same player
 * when the object carries none (a seat update is rendered without anyone's cards). */
static struct model_player *model_player_read(struct model *m, const struct wire_player *o)
{
    if (m->table.seats > 0 && o->seat >= m->table.seats) return NULL;
    /* Same id at the same seat: update in place, keeping what this object does not carry
     * (cards). A new player: start from zero. A player who moved (never happens today): carry
     * the old entry over and free the old seat. */
    struct model_player *old = model_find(m, o->id);
    struct model_player *p = &m->players[o->seat];
    if (old != p) {
        struct model_player keep = {0};
        if (old) {
            keep = *old;
            memset(old, 0, sizeof(*old));
        }
        *p = keep;
    }
    p->present = true;
    snprintf(p->id, sizeof(p->id), "%s", o->id);
    model_text(o->name, p->name, sizeof(p->name), PROTO_NAME_MAX_CHARS);
    p->seat = o->seat;
    p->stack = o->stack;
    p->bet = o->bet;
    p->status = model_status_of(o->status);
    p->connected = o->connected;
    p->bot = o->bot;
    if (o->ncards == 2) {
        p->ncards = 2;
        memcpy(p->cards, o->cards, sizeof(o->cards));
        p->shown = strcmp(o->id, m->me_id) != 0;
    }
    if (strcmp(o->id, m->me_id) == 0) m->me_seat = p->seat;
    return p;
}

static void model_to_act_read(struct model *m, const struct wire_to_act *o)
{
    struct model_to_act *t = &m->to_act;
    memset(t, 0, sizeof(*t));
    t->seat = -1;
    if (!o->present) return;
    t->active = true;
    snprintf(t->player_id, sizeof(t->player_id), "%s", o->player_id);
    t->seat = o->seat;
    t->call = o->call;
    t->can_check = o->can_check;
    t->can_raise = o->can_raise;
    t->min_raise_to = o->can_raise ? o->min_raise_to : 0;
    t->max_raise_to = o->can_raise ? o->max_raise_to : 0;
    t->deadline = o->deadline;
    t->decision = o->decision;
}

/* Seat mask of a list of player ids (unknown ones left out). */
static uint16_t model_seat_mask(struct model *m, const char (*ids)[WIRE_ID_MAX + 1], int n)
{
    uint16_t mask = 0;
    for (int i = 0; i < n; i++) {
        struct model_player *p = model_find(m, ids[i]);
        if (p) mask |= (uint16_t)(1u << p->seat);
    }
    return mask;
}

static void model_pots_read(struct model *m, const struct wire_pot *pots, int n)
{
    m->npots = 0;
    for (int i = 0; i < n && m->npots < MODEL_MAX_POTS; i++) {
        struct model_pot *pot = &m->pots[m->npots++];
        pot->amount = pots[i].amount;
        pot->eligible = model_seat_mask(m, pots[i].eligible, pots[i].neligible);
    }
}

static void model_stacks_read(struct model *m, const struct wire_stacks *st)
{
    for (int i = 0; i < st->n; i++) {
        struct model_player *p = model_find(m, st->s[i].player_id);
        if (p) p->stack = st->s[i].amount;
    }
}

/* Clears what belongs to one hand: bets, cards, shown hands, equity, results. */
static void model_clear_hand(struct model *m)
{
    m->nboard = 0;
    m->npots = 0;
    m->nawards = 0;
    m->equity_shown = false;
    for (int s = 0; s < MODEL_MAX_SEATS; s++) {
        struct model_player *p = &m->players[s];
        p->bet = 0;
        p->in_hand = false;
        p->ncards = 0;
        p->shown = false;
        p->hand[0] = '\0';
        p->won = 0;
        p->has_equity = false;
        p->equity = p->tie = p->equity_tabled = p->tie_tabled = 0;
    }
}

/* ---- equity ---------------------------------------------------------------------------- */

/* The server's "equity" of a snapshot or state_update: the tabled hands' chances, street by
 * street of the run-out. An update without it leaves the numbers standing (they change only
 * with the board); a snapshot replaces them. The first numbers of a hand, from when the hands
 * were tabled, are kept too: hand_end puts them back, so the all-in equity stays beside the
 * hands until the next one is dealt (the run-out is dealt at once, its streets never linger). */
static void model_equity_read(struct model *m, const struct wire_event *ev)
{
    if (ev->nequity == 0 && ev->kind != WIRE_SNAPSHOT) return;
    bool first = !m->equity_shown;
    for (int s = 0; s < MODEL_MAX_SEATS; s++)
        m->players[s].has_equity = false;
    m->equity_shown = false;
    for (int i = 0; i < ev->nequity; i++) {
        struct model_player *p = model_find(m, ev->equity[i].player_id);
        if (!p) continue;
        p->has_equity = true;
        p->equity = ev->equity[i].win;
        p->tie = ev->equity[i].tie;
        if (first) {
            p->equity_tabled = p->equity;
            p->tie_tabled = p->tie;
        }
        m->equity_shown = true;
    }
}

/* ---- state_update events --------------------------------------------------------------- */

static void model_up_hand_start(struct model *m, const struct wire_event *ev)
{
    const struct wire_hand_start *h = &ev->u.hand_start;
    static const enum handrec_post posts[] = {[WIRE_POST_ANTE] = HANDREC_POST_ANTE,
                                              [WIRE_POST_SMALL_BLIND] = HANDREC_POST_SMALL_BLIND,
                                              [WIRE_POST_BIG_BLIND] = HANDREC_POST_BIG_BLIND};
    char line[HANDREC_LINE_MAX];
    model_clear_hand(m);
    m->hand_running = true;
    m->street = ENGINE_PREFLOP;
    m->button = h->button;
    m->sb_seat = h->small_blind_seat;
    m->bb_seat = h->big_blind_seat;
    model_log_add(m, MODEL_LOG_HAND, "-- Hand #%lld --", (long long)m->hand_id);
    /* The list is every seated player: anyone not in it has gone. */
    bool seen[MODEL_MAX_SEATS] = {false};
    for (int i = 0; i < h->nplayers; i++) {
        struct model_player *p = model_player_read(m, &h->players[i]);
        if (p) {
            seen[p->seat] = true;
            p->in_hand = p->status == MODEL_ACTIVE || p->status == MODEL_ALL_IN;
            p->sits_out = false; /* the status is the server's again */
        }
    }
    for (int s = 0; s < MODEL_MAX_SEATS; s++)
        if (!seen[s]) memset(&m->players[s], 0, sizeof(m->players[s]));
    for (int i = 0; i < h->nposts; i++) {
        struct model_player *p = model_find(m, h->posts[i].player_id);
        if (p && (unsigned)h->posts[i].kind < FELT_ARRAY_LEN(posts))
            model_log_add(m, MODEL_LOG_HAND, "%s",
                          handrec_say_post(line, sizeof(line), p->name, posts[h->posts[i].kind],
                                           h->posts[i].amount, false));
    }
    model_pots_read(m, h->pots, h->npots);
}

static void model_up_action(struct model *m, const struct wire_event *ev)
{
    const struct wire_action *a = &ev->u.action;
    struct model_player *p = model_find(m, a->player_id);
    char line[HANDREC_LINE_MAX];
    if (!p) return;
    /* The largest bet on the street before this action: none means this raise opens it. */
    int64_t bet_before = 0;
    for (int s = 0; s < MODEL_MAX_SEATS; s++)
        if (m->players[s].present && m->players[s].bet > bet_before) bet_before = m->players[s].bet;
    p->bet = a->to;
    if (a->action == ENGINE_FOLD)
        p->status = MODEL_FOLDED;
    else if (a->all_in)
        p->status = MODEL_ALL_IN;
    model_stacks_read(m, &a->stacks);
    model_pots_read(m, a->pots, a->npots);
    model_log_add(m, MODEL_LOG_ACTION, "%s",
                  handrec_say_action(line, sizeof(line), p->name, a->action, a->amount, a->to,
                                     a->all_in, bet_before));
}

static void model_up_street(struct model *m, const struct wire_event *ev)
{
    const struct wire_street *st = &ev->u.street;
    char line[HANDREC_LINE_MAX];
    if (m->nboard + st->ncards > 5) return;
    m->street = (int)st->street;
    memcpy(m->board + m->nboard, st->cards, (size_t)st->ncards);
    m->nboard += st->ncards;
    for (int s = 0; s < MODEL_MAX_SEATS; s++)
        m->players[s].bet = 0;
    model_pots_read(m, st->pots, st->npots);
    model_log_add(m, MODEL_LOG_BOARD, "%s",
                  handrec_say_street(line, sizeof(line), st->street, m->board, m->nboard, false));
    /* Hands shown before the run-out (all-in) take their name from the board as it comes. */
    for (int s = 0; s < MODEL_MAX_SEATS; s++)
        if (m->players[s].present && m->players[s].shown) model_name_hand(m, &m->players[s]);
}

static void model_up_uncalled(struct model *m, const struct wire_event *ev)
{
    const struct wire_uncalled *u = &ev->u.uncalled;
    struct model_player *p = model_find(m, u->player_id);
    if (!p) return;
    p->bet = p->bet > u->amount ? p->bet - u->amount : 0;
    model_stacks_read(m, &u->stacks);
    char line[HANDREC_LINE_MAX];
    model_log_add(m, MODEL_LOG_ACTION, "%s",
                  handrec_say_uncalled(line, sizeof(line), p->name, u->amount));
}

static void model_up_showdown(struct model *m, const struct wire_event *ev)
{
    const struct wire_showdown *sd = &ev->u.showdown;
    char line[HANDREC_LINE_MAX];
    for (int i = 0; i < sd->nshows; i++) {
        struct model_player *p = model_find(m, sd->shows[i].player_id);
        if (!p) continue;
        memcpy(p->cards, sd->shows[i].cards, 2);
        p->ncards = 2;
        p->shown = true;
        p->hand[0] = '\0';
        if (sd->shows[i].hand[0])
            model_text(sd->shows[i].hand, p->hand, sizeof(p->hand), sizeof(p->hand) - 1);
        if (strcmp(p->hand, "?") == 0) p->hand[0] = '\0';
        model_name_hand(m, p);
        model_log_add(m, MODEL_LOG_RESULT, "%s",
                      handrec_say_show(line, sizeof(line), p->name, p->cards, p->hand, false));
    }
    for (int i = 0; i < sd->nmucks; i++) {
        struct model_player *p = model_find(m, sd->mucks[i]);
        if (p) model_log_add(m, MODEL_LOG_RESULT, "%s mucks", p->name);
    }
}

static void model_up_hand_end(struct model *m, const struct wire_event *ev)
{
    const struct wire_hand_end *he = &ev->u.hand_end;
    m->nawards = 0;
    for (int s = 0; s < MODEL_MAX_SEATS; s++)
        m->players[s].won = 0;
    for (int i = 0; i < he->nawards && m->nawards < MODEL_MAX_POTS; i++) {
        const struct wire_award *w = &he->awards[i];
        struct model_award *aw = &m->awards[m->nawards++];
        memset(aw, 0, sizeof(*aw));
        aw->pot = w->pot;
        aw->amount = w->amount;
        for (int j = 0; j < w->nwinners; j++) {
            struct model_player *p = model_find(m, w->winners[j].player_id);
            int64_t v = w->winners[j].amount;
            if (!p) continue;
            aw->winners |= (uint16_t)(1u << p->seat);
            aw->share[p->seat] = v;
            p->won += v;
            char line[HANDREC_LINE_MAX];
            model_log_add(m, MODEL_LOG_RESULT, "%s",
                          handrec_say_win(line, sizeof(line), p->name, v, aw->pot,
                                          p->shown ? p->hand : NULL));
        }
    }
    model_stacks_read(m, &he->stacks);
    m->hand_running = false;
    m->street = -1;
    m->npots = 0;
    for (int s = 0; s < MODEL_MAX_SEATS; s++) {
        struct model_player *p = &m->players[s];
        p->bet = 0;
        p->equity = p->equity_tabled; /* the all-in equity, shown until the next hand */
        p->tie = p->tie_tabled;
        if (p->present && p->sits_out) p->status = MODEL_SITTING_OUT;
        if (p->present && p->status != MODEL_SITTING_OUT) p->status = MODEL_WAITING;
    }
}

/* What follows the player's name in the log, by seat change. */
static const char *const model_seat_changes[] = {
    [WIRE_SEAT_JOINED] = "sits down",    [WIRE_SEAT_LEFT] = "leaves the table",
    [WIRE_SEAT_LEAVING] = "is leaving",  [WIRE_SEAT_SAT_OUT] = "sits out",
    [WIRE_SEAT_SAT_IN] = "is back",      [WIRE_SEAT_BUSTED] = "is busted",
    [WIRE_SEAT_REBUY] = "buys in again",
};

static void model_up_seat(struct model *m, const struct wire_event *ev)
{
    enum wire_seat_change change = ev->u.seat.change;
    if (change == WIRE_SEAT_LEFT) {
        struct model_player *p = model_find(m, ev->u.seat.player.id);
        if (p) {
            model_log_add(m, MODEL_LOG_TABLE, "%s leaves the table", p->name);
            if (strcmp(p->id, m->me_id) == 0) m->me_seat = -1;
            memset(p, 0, sizeof(*p));
        }
        return;
    }
    struct model_player *p = model_player_read(m, &ev->u.seat.player);
    if (!p) return;
    if (change == WIRE_SEAT_LEAVING) p->leaving = true;
    if (change == WIRE_SEAT_JOINED) p->in_hand = false;
    /* Sitting out during a hand leaves the player in it (the update says "active"): the seat
     * sits out when the hand ends. */
    if (change == WIRE_SEAT_SAT_OUT || change == WIRE_SEAT_BUSTED) p->sits_out = true;
    if (change == WIRE_SEAT_SAT_IN || change == WIRE_SEAT_REBUY) p->sits_out = false;
    if (strcmp(p->id, m->me_id) == 0) {
        if (change == WIRE_SEAT_SAT_OUT || change == WIRE_SEAT_BUSTED)
            m->me_sitting_out = true;
        else if (change == WIRE_SEAT_SAT_IN)
            m->me_sitting_out = false;
    }
    model_log_add(m, MODEL_LOG_TABLE, "%s %s", p->name, model_seat_changes[change]);
}

/* ---- notifications --------------------------------------------------------------------- */

static void model_on_notification(struct model *m, const struct wire_event *ev)
{
    const struct wire_notification *n = &ev->u.note;
    struct model_player *p = n->has_player ? model_find(m, n->player_id) : NULL;
    /* Kinds not handled (turn, player_joined/left/sat_out/sat_in, hand_won, busted) repeat what
     * a state_update already told the model and the log. */
    switch (n->kind) {
    case WIRE_NOTE_YOUR_TURN:
        m->your_turn_serial++;
        break;
    case WIRE_NOTE_TIMER_WARNING:
        if (p)
            model_log_add(m, MODEL_LOG_TABLE, "%s has %lld s left to act", p->name,
                          (long long)n->seconds_left);
        break;
    case WIRE_NOTE_TIMEOUT:
        if (p) model_log_add(m, MODEL_LOG_TABLE, "%s ran out of time", p->name);
        break;
    case WIRE_NOTE_PLAYER_CONNECTED:
    case WIRE_NOTE_PLAYER_DISCONNECTED:
        if (!p || p->bot) break;
        p->connected = n->kind == WIRE_NOTE_PLAYER_CONNECTED;
        model_log_add(m, MODEL_LOG_TABLE, p->connected ? "%s connected" : "%s lost the connection",
                      p->name);
        break;
    case WIRE_NOTE_SPECTATORS:
        m->spectators = (int)n->count;
        break;
    default:
        break;
    }
}

/* ---- animations ------------------------------------------------------------------------ */

static void model_on_animation(struct model *m, const struct wire_event *ev)
{
    static const enum model_anim_kind kinds[] = {
        [WIRE_ANIM_DEAL] = MODEL_ANIM_DEAL,
        [WIRE_ANIM_CHIPS_TO_POT] = MODEL_ANIM_CHIPS_TO_POT,
        [WIRE_ANIM_DEAL_BOARD] = MODEL_ANIM_DEAL_BOARD,
        [WIRE_ANIM_REVEAL] = MODEL_ANIM_REVEAL,
        [WIRE_ANIM_AWARD] = MODEL_ANIM_AWARD,
    };
    const struct wire_animation *w = &ev->u.animation;
    struct model_anim *a = &m->anim;
    if (w->kind == WIRE_ANIM_OTHER) return;
    uint64_t serial = a->serial + 1;
    struct model_player *p = model_find(m, w->player_id);
    memset(a, 0, sizeof(*a));
    a->kind = kinds[w->kind];
    a->serial = serial;
    a->seat = p ? p->seat : -1;
    a->amount = w->kind == WIRE_ANIM_AWARD ? w->award.amount : w->amount;
    a->pot = w->award.pot;
    a->ncards = w->ncards;
    memcpy(a->cards, w->cards, sizeof(a->cards));
    a->seats = model_seat_mask(m, w->players, w->nplayers);
    for (int i = 0; i < w->award.nwinners; i++) {
        struct model_player *wp = model_find(m, w->award.winners[i].player_id);
        if (wp) a->seats |= (uint16_t)(1u << wp->seat);
    }
}

/* ---- per message type ------------------------------------------------------------------ */

static void model_on_snapshot(struct model *m, const struct wire_event *ev)
{
    const struct wire_snapshot *s = &ev->u.snapshot;
    struct model_table *c = &m->table;
    if (proto_game_id_valid(s->table.id, strlen(s->table.id)))
        snprintf(c->id, sizeof(c->id), "%s", s->table.id);
    c->seats = s->table.seats;
    c->small_blind = s->table.small_blind;
    c->big_blind = s->table.big_blind;
    c->ante = s->table.ante;
    c->buy_in = s->table.buy_in;
    c->action_timeout_ms = s->table.action_timeout_ms;
    c->spectator_chat = s->table.spectator_chat;
    /* The hand this model was following, voided by a server restart: said once, in the log
     * (the server gave every chip in it back). */
    for (int i = 0; m->hand_running && i < s->nvoided; i++)
        if (s->voided[i] == m->hand_id)
            model_log_add(m, MODEL_LOG_TABLE,
                          "Hand #%lld was voided (its server stopped): its chips went back",
                          (long long)m->hand_id);
    snprintf(m->epoch, sizeof(m->epoch), "%s", s->epoch);
    model_clear_hand(m);
    memset(m->players, 0, sizeof(m->players));
    m->hand_id = ev->hand_id;
    m->hand_running = s->hand_running;
    m->button = s->button;
    m->sb_seat = m->bb_seat = -1;
    m->street = m->hand_running ? s->street : -1;
    m->nboard = s->nboard;
    memcpy(m->board, s->board, sizeof(s->board));
    if (s->has_you) {
        snprintf(m->me_id, sizeof(m->me_id), "%s", s->you.player_id);
        m->me_sitting_out = s->you.sitting_out;
    }
    m->me_seat = -1;
    for (int i = 0; i < s->nplayers; i++) {
        struct model_player *p = model_player_read(m, &s->players[i]);
        if (p)
            p->in_hand =
                m->hand_running && (p->status == MODEL_ACTIVE || p->status == MODEL_ALL_IN ||
                                    p->status == MODEL_FOLDED);
    }
    model_pots_read(m, s->pots, s->npots);
    m->spectators = s->spectators;
    m->have_snapshot = true;
}

static void model_on_chat(struct model *m, const struct wire_event *ev)
{
    const struct wire_chat *w = &ev->u.chat;
    char clean[MODEL_CHAT_TEXT];
    struct felt_err err;
    if (w->expired || text_sanitize(w->text, strlen(w->text), clean, sizeof(clean),
                                    PROTO_CHAT_MAX_CHARS, &err) <= 0)
        return;
    struct model_chat *c = model_chat_push(m);
    snprintf(c->text, sizeof(c->text), "%s", clean);
    model_text(w->name, c->name, sizeof(c->name), PROTO_NAME_MAX_CHARS);
    c->spectator = w->spectator;
    c->own = w->has_player && m->me_id[0] && strcmp(w->player_id, m->me_id) == 0;
}

/* Replies (ack, error, pong) concern one connection: the session reports them. */
static void model_on_reply(struct model *m, const struct wire_event *ev)
{
    (void)m;
    (void)ev;
}

static void (*const model_handlers[WIRE_KIND_COUNT])(struct model *m,
                                                     const struct wire_event *ev) = {
    [WIRE_SNAPSHOT] = model_on_snapshot,   [WIRE_HAND_START] = model_up_hand_start,
    [WIRE_ACTION] = model_up_action,       [WIRE_STREET] = model_up_street,
    [WIRE_UNCALLED] = model_up_uncalled,   [WIRE_SHOWDOWN] = model_up_showdown,
    [WIRE_HAND_END] = model_up_hand_end,   [WIRE_SEAT] = model_up_seat,
    [WIRE_ANIMATION] = model_on_animation, [WIRE_NOTIFICATION] = model_on_notification,
    [WIRE_CHAT] = model_on_chat,           [WIRE_ACK] = model_on_reply,
    [WIRE_ERROR] = model_on_reply,         [WIRE_PONG] = model_on_reply,
};

void model_init(struct model *m)
{
    memset(m, 0, sizeof(*m));
    m->button = m->sb_seat = m->bb_seat = -1;
    m->street = -1;
    m->me_seat = -1;
    m->to_act.seat = -1;
    m->anim.seat = -1;
}

void model_set_me(struct model *m, const char *player_id)
{
    snprintf(m->me_id, sizeof(m->me_id), "%s", player_id ? player_id : "");
    m->me_seat = -1;
    const struct model_player *p = model_player_by_id(m, m->me_id);
    if (p) m->me_seat = p->seat;
    m->version++;
}

void model_reset_seq(struct model *m)
{
    m->has_seq = false;
    m->last_seq = 0;
    m->have_snapshot = false;
}

enum model_result model_apply(struct model *m, const struct proto_smsg *msg)
{
    if ((unsigned)msg->type >= PROTO_S_COUNT) return MODEL_APPLIED;
    if (proto_stype_is_event(msg->type) && msg->type != PROTO_S_SNAPSHOT) {
        if (!m->have_snapshot) return MODEL_NO_SNAPSHOT;
        if (m->has_seq && msg->seq <= m->last_seq) return MODEL_OLD;
        if (m->has_seq && msg->seq != m->last_seq + 1) return MODEL_GAP;
    }
    /* Decoded on the heap: a wire_event is several KiB. A message the decoder refuses changes
     * nothing, but its seq counts (the stream stays in order). */
    struct wire_event *ev = xmalloc(sizeof(*ev));
    struct felt_err err;
    if (wire_decode(msg, ev, &err) == 0) {
        if (ev->kind == WIRE_SNAPSHOT || wire_stype(ev->kind) == PROTO_S_STATE_UPDATE) {
            if (ev->kind != WIRE_SNAPSHOT) m->hand_id = ev->hand_id;
            model_handlers[ev->kind](m, ev);
            model_to_act_read(m, &ev->to_act);
            model_equity_read(m, ev);
        } else {
            model_handlers[ev->kind](m, ev);
        }
    }
    free(ev);
    if (proto_stype_is_event(msg->type) && msg->has_seq) {
        m->has_seq = true;
        m->last_seq = msg->seq;
    }
    m->version++;
    return MODEL_APPLIED;
}
