/*
 * model.c: the table as this client knows it, built only from what the server sends.
 *
 * model_apply() takes every server message, dispatched by type through model_handlers[] (and
 * state updates, animations and notifications by their event or kind through smaller const
 * tables). The server is the authority: the model never computes game rules, it copies stacks,
 * bets, pots and to_act from the messages. Two things are derived here: the hand log (one human
 * line per action, street and result) and the all-in equity shown next to each seat.
 *
 * Robustness contract: the server is trusted for the rules but not for the shapes. Every field is
 * read through a typed getter; a missing or mistyped field is skipped, a seat out of range or an
 * unknown player id makes that part of the message a no-op, and every string is sanitized and
 * bounded before it is stored. Events are applied in seq order only (MODEL_GAP otherwise), so a
 * replayed event is never applied twice.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "client.h"
#include "equity.h"
#include "text.h"

/* ---- typed getters --------------------------------------------------------------------- */

static struct json_object *model_jget(struct json_object *o, const char *key, json_type type)
{
    struct json_object *v;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return json_object_is_type(v, type) ? v : NULL;
}

static bool model_jint(struct json_object *o, const char *key, int64_t *out)
{
    struct json_object *v = model_jget(o, key, json_type_int);
    if (!v) return false;
    *out = json_object_get_int64(v);
    return true;
}

static const char *model_jstr(struct json_object *o, const char *key)
{
    struct json_object *v = model_jget(o, key, json_type_string);
    return v ? json_object_get_string(v) : NULL;
}

static bool model_jbool(struct json_object *o, const char *key, bool dflt)
{
    struct json_object *v = model_jget(o, key, json_type_boolean);
    return v ? json_object_get_boolean(v) : dflt;
}

/* Sanitizes a network string into out; "?" when it is invalid, empty or too long. */
static void model_text(const char *in, char *out, size_t outsz, size_t max_chars)
{
    struct felt_err err;
    if (!in || text_sanitize(in, strlen(in), out, outsz, max_chars, &err) <= 0)
        snprintf(out, outsz, "?");
}

/* Parses a JSON array of card strings into out (at most max, all valid and distinct). Returns
 * the number of cards, or -1 if the array is missing or holds anything else. */
static int model_cards(struct json_object *arr, card_t *out, int max)
{
    if (!arr || !json_object_is_type(arr, json_type_array)) return -1;
    size_t n = json_object_array_length(arr);
    if (n > (size_t)max) return -1;
    for (size_t i = 0; i < n; i++) {
        struct json_object *c = json_object_array_get_idx(arr, i);
        struct felt_err err;
        if (!json_object_is_type(c, json_type_string) ||
            card_parse(json_object_get_string(c), &out[i], &err) != 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (out[j] == out[i]) return -1;
    }
    return (int)n;
}

static void model_cards_str(const card_t *cards, int n, char *out, size_t outsz)
{
    char buf[3];
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < n && len + 4 < outsz; i++)
        len +=
            (size_t)snprintf(out + len, outsz - len, "%s%s", i ? " " : "", card_str(cards[i], buf));
}

/* ---- lookups --------------------------------------------------------------------------- */

static struct model_player *model_find(struct model *m, const char *id)
{
    if (!id || !id[0]) return NULL;
    for (int s = 0; s < MODEL_MAX_SEATS; s++)
        if (m->players[s].present && strcmp(m->players[s].id, id) == 0) return &m->players[s];
    return NULL;
}

static struct model_player *model_find_j(struct model *m, struct json_object *o, const char *key)
{
    return model_find(m, model_jstr(o, key));
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

static enum model_status model_status_parse(const char *s, enum model_status dflt)
{
    for (size_t i = 0; s && i < FELT_ARRAY_LEN(model_status_names); i++)
        if (strcmp(s, model_status_names[i]) == 0) return (enum model_status)i;
    return dflt;
}

/* ---- the log and the chat rings -------------------------------------------------------- */

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

/* Reads a player object into the seat it names. Keeps the cards we already know of the same
 * player when the object carries none (a seat update is rendered without anyone's cards). */
static struct model_player *model_player_read(struct model *m, struct json_object *o)
{
    int64_t seat;
    const char *id = model_jstr(o, "player_id");
    if (!id || strlen(id) > MODEL_ID_MAX || !model_jint(o, "seat", &seat) || seat < 0 ||
        seat >= MODEL_MAX_SEATS || (m->table.seats > 0 && seat >= m->table.seats))
        return NULL;
    /* Same id at the same seat: update in place, keeping what this object does not carry
     * (cards). A new player: start from zero. A player who moved (never happens today): carry
     * the old entry over and free the old seat. */
    struct model_player *old = model_find(m, id);
    struct model_player *p = &m->players[seat];
    if (old != p) {
        struct model_player keep = {0};
        if (old) {
            keep = *old;
            memset(old, 0, sizeof(*old));
        }
        *p = keep;
    }
    p->present = true;
    snprintf(p->id, sizeof(p->id), "%s", id);
    model_text(model_jstr(o, "name"), p->name, sizeof(p->name), PROTO_NAME_MAX_CHARS);
    p->seat = (int)seat;
    model_jint(o, "stack", &p->stack);
    model_jint(o, "bet", &p->bet);
    p->status = model_status_parse(model_jstr(o, "status"), p->status);
    p->connected = model_jbool(o, "connected", p->connected);
    p->bot = model_jbool(o, "bot", p->bot);
    card_t cards[2];
    if (model_cards(model_jget(o, "cards", json_type_array), cards, 2) == 2) {
        p->ncards = 2;
        memcpy(p->cards, cards, sizeof(cards));
        p->shown = strcmp(id, m->me_id) != 0;
    }
    if (strcmp(id, m->me_id) == 0) m->me_seat = p->seat;
    return p;
}

static void model_to_act_read(struct model *m, struct json_object *d)
{
    struct json_object *o = model_jget(d, "to_act", json_type_object);
    struct model_to_act *t = &m->to_act;
    const char *id = model_jstr(o, "player_id");
    int64_t seat = -1;
    memset(t, 0, sizeof(*t));
    t->seat = -1;
    if (!o || !id || strlen(id) > MODEL_ID_MAX || !model_jint(o, "seat", &seat) || seat < 0 ||
        seat >= MODEL_MAX_SEATS)
        return;
    t->active = true;
    snprintf(t->player_id, sizeof(t->player_id), "%s", id);
    t->seat = (int)seat;
    model_jint(o, "call", &t->call);
    t->can_check = model_jbool(o, "can_check", false);
    t->can_raise = model_jint(o, "min_raise_to", &t->min_raise_to) &&
                   model_jint(o, "max_raise_to", &t->max_raise_to);
    if (!t->can_raise) t->min_raise_to = t->max_raise_to = 0;
    model_jint(o, "deadline", &t->deadline);
}

static void model_pots_read(struct model *m, struct json_object *d)
{
    struct json_object *a = model_jget(d, "pots", json_type_array);
    if (!a) return;
    m->npots = 0;
    for (size_t i = 0; i < json_object_array_length(a) && m->npots < MODEL_MAX_POTS; i++) {
        struct json_object *o = json_object_array_get_idx(a, i);
        struct json_object *el = model_jget(o, "eligible", json_type_array);
        struct model_pot *pot = &m->pots[m->npots];
        if (!model_jint(o, "amount", &pot->amount)) continue;
        pot->eligible = 0;
        for (size_t j = 0; el && j < json_object_array_length(el); j++) {
            struct json_object *v = json_object_array_get_idx(el, j);
            struct model_player *p = json_object_is_type(v, json_type_string)
                                         ? model_find(m, json_object_get_string(v))
                                         : NULL;
            if (p) pot->eligible |= (uint16_t)(1u << p->seat);
        }
        m->npots++;
    }
}

/* "stacks": {player_id: stack, ...} */
static void model_stacks_read(struct model *m, struct json_object *d)
{
    struct json_object *o = model_jget(d, "stacks", json_type_object);
    if (!o) return;
    json_object_object_foreach(o, key, val)
    {
        struct model_player *p = model_find(m, key);
        if (p && json_object_is_type(val, json_type_int)) p->stack = json_object_get_int64(val);
    }
}

static int model_street_parse(const char *s)
{
    for (int i = ENGINE_PREFLOP; s && i <= ENGINE_SHOWDOWN; i++)
        if (strcmp(s, engine_street_name((enum engine_street)i)) == 0) return i;
    return -1;
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
        p->equity = 0;
    }
}

/* ---- equity ---------------------------------------------------------------------------- */

/* When every player still in the hand is all-in (or all but one, with nobody left to act) and
 * every one of their hands is known, sets has_equity/equity of each with equity_exact() over
 * the remaining boards; otherwise clears them. model_apply calls it after every event. */
static void model_equity_update(struct model *m)
{
    card_t hands[EQUITY_MAX_HANDS][2];
    int seats[EQUITY_MAX_HANDS];
    int n = 0, not_all_in = 0;
    bool ok = m->hand_running && !m->to_act.active;

    for (int s = 0; ok && s < MODEL_MAX_SEATS; s++) {
        const struct model_player *p = &m->players[s];
        if (!p->present || !p->in_hand || p->status == MODEL_FOLDED) continue;
        if (p->ncards != 2 || n == EQUITY_MAX_HANDS) {
            ok = false;
            break;
        }
        if (p->status != MODEL_ALL_IN) not_all_in++;
        memcpy(hands[n], p->cards, 2);
        seats[n++] = s;
    }
    /* Everyone in the hand is all-in, or all but one who has nobody left to bet against. */
    ok = ok && n >= 2 && not_all_in <= 1;

    uint8_t sig[sizeof(m->equity_sig)];
    memset(sig, 0xff, sizeof(sig));
    if (ok) {
        for (int i = 0; i < n; i++) {
            sig[2 * i] = hands[i][0];
            sig[2 * i + 1] = hands[i][1];
        }
        for (int i = 0; i < m->nboard; i++)
            sig[2 * EQUITY_MAX_HANDS + i] = m->board[i];
        if (m->equity_shown && memcmp(sig, m->equity_sig, sizeof(sig)) == 0)
            return; /* same hands, same board: the numbers stand */
    }
    for (int s = 0; s < MODEL_MAX_SEATS; s++) {
        m->players[s].has_equity = false;
        m->players[s].equity = 0;
    }
    m->equity_shown = false;
    if (!ok) return;

    struct equity_result r;
    struct felt_err err;
    if (equity_exact((const card_t(*)[2])hands, n, m->board, m->nboard, &r, &err) != 0)
        return; /* duplicate cards from a broken server: show nothing rather than nonsense */
    for (int i = 0; i < n; i++) {
        m->players[seats[i]].has_equity = true;
        m->players[seats[i]].equity = r.equity[i];
    }
    memcpy(m->equity_sig, sig, sizeof(sig));
    m->equity_shown = true;
}

/* ---- state_update events --------------------------------------------------------------- */

static void model_up_hand_start(struct model *m, struct json_object *d)
{
    int64_t v;
    struct json_object *players = model_jget(d, "players", json_type_array);

    model_clear_hand(m);
    m->hand_running = true;
    m->street = ENGINE_PREFLOP;
    m->button = model_jint(d, "button", &v) && v >= 0 && v < MODEL_MAX_SEATS ? (int)v : -1;
    m->sb_seat =
        model_jint(d, "small_blind_seat", &v) && v >= 0 && v < MODEL_MAX_SEATS ? (int)v : -1;
    m->bb_seat = model_jint(d, "big_blind_seat", &v) && v >= 0 && v < MODEL_MAX_SEATS ? (int)v : -1;
    model_log_add(m, MODEL_LOG_HAND, "-- Hand #%lld --", (long long)m->hand_id);
    if (players) {
        /* The list is every seated player: anyone not in it has gone. */
        bool seen[MODEL_MAX_SEATS] = {false};
        for (size_t i = 0; i < json_object_array_length(players); i++) {
            struct model_player *p = model_player_read(m, json_object_array_get_idx(players, i));
            if (p) {
                seen[p->seat] = true;
                p->in_hand = p->status == MODEL_ACTIVE || p->status == MODEL_ALL_IN;
            }
        }
        for (int s = 0; s < MODEL_MAX_SEATS; s++)
            if (!seen[s]) memset(&m->players[s], 0, sizeof(m->players[s]));
    }
    struct json_object *posts = model_jget(d, "posts", json_type_array);
    for (size_t i = 0; posts && i < json_object_array_length(posts); i++) {
        struct json_object *o = json_object_array_get_idx(posts, i);
        struct model_player *p = model_find_j(m, o, "player_id");
        const char *kind = model_jstr(o, "kind");
        if (p && kind && model_jint(o, "amount", &v))
            model_log_add(m, MODEL_LOG_HAND, "%s posts %s %lld", p->name,
                          strcmp(kind, "ante") == 0        ? "an ante of"
                          : strcmp(kind, "big_blind") == 0 ? "the big blind"
                                                           : "the small blind",
                          (long long)v);
    }
    model_pots_read(m, d);
}

static void model_up_action(struct model *m, struct json_object *d)
{
    struct model_player *p = model_find_j(m, d, "player_id");
    const char *act = model_jstr(d, "action");
    enum engine_action a;
    int64_t amount = 0, to = 0;
    if (!p || !act || engine_action_parse(act, &a) != 0) return;
    model_jint(d, "amount", &amount);
    if (model_jint(d, "to", &to)) p->bet = to;
    bool all_in = model_jbool(d, "all_in", false);
    if (a == ENGINE_FOLD)
        p->status = MODEL_FOLDED;
    else if (all_in)
        p->status = MODEL_ALL_IN;
    model_stacks_read(m, d);
    model_pots_read(m, d);
    const char *tail = all_in ? " (all-in)" : "";
    switch (a) {
    case ENGINE_FOLD:
        model_log_add(m, MODEL_LOG_ACTION, "%s folds", p->name);
        break;
    case ENGINE_CHECK:
        model_log_add(m, MODEL_LOG_ACTION, "%s checks", p->name);
        break;
    case ENGINE_CALL:
        model_log_add(m, MODEL_LOG_ACTION, "%s calls %lld%s", p->name, (long long)amount, tail);
        break;
    case ENGINE_RAISE:
    case ENGINE_ALL_IN:
        model_log_add(m, MODEL_LOG_ACTION, "%s raises to %lld%s", p->name, (long long)to, tail);
        break;
    }
}

static void model_up_street(struct model *m, struct json_object *d)
{
    card_t cards[5];
    int street = model_street_parse(model_jstr(d, "street"));
    int n = model_cards(model_jget(d, "cards", json_type_array), cards, 5);
    char buf[20];
    if (street < 0 || n < 0 || m->nboard + n > 5) return;
    m->street = street;
    memcpy(m->board + m->nboard, cards, (size_t)n);
    m->nboard += n;
    for (int s = 0; s < MODEL_MAX_SEATS; s++)
        m->players[s].bet = 0;
    model_pots_read(m, d);
    model_cards_str(m->board, m->nboard, buf, sizeof(buf));
    char name[16];
    snprintf(name, sizeof(name), "%s", engine_street_name((enum engine_street)street));
    name[0] = (char)(name[0] - 'a' + 'A');
    model_log_add(m, MODEL_LOG_BOARD, "%s: %s", name, buf);
}

static void model_up_uncalled(struct model *m, struct json_object *d)
{
    struct model_player *p = model_find_j(m, d, "player_id");
    int64_t amount;
    if (!p || !model_jint(d, "amount", &amount)) return;
    p->bet = p->bet > amount ? p->bet - amount : 0;
    model_stacks_read(m, d);
    model_log_add(m, MODEL_LOG_ACTION, "%lld returned to %s (uncalled)", (long long)amount,
                  p->name);
}

static void model_up_showdown(struct model *m, struct json_object *d)
{
    struct json_object *shows = model_jget(d, "shows", json_type_array);
    struct json_object *mucks = model_jget(d, "mucks", json_type_array);
    char buf[8];
    for (size_t i = 0; shows && i < json_object_array_length(shows); i++) {
        struct json_object *o = json_object_array_get_idx(shows, i);
        struct model_player *p = model_find_j(m, o, "player_id");
        card_t cards[2];
        if (!p || model_cards(model_jget(o, "cards", json_type_array), cards, 2) != 2) continue;
        memcpy(p->cards, cards, 2);
        p->ncards = 2;
        p->shown = true;
        model_text(model_jstr(o, "hand"), p->hand, sizeof(p->hand), sizeof(p->hand) - 1);
        if (strcmp(p->hand, "?") == 0) p->hand[0] = '\0';
        model_cards_str(cards, 2, buf, sizeof(buf));
        if (p->hand[0])
            model_log_add(m, MODEL_LOG_RESULT, "%s shows %s (%s)", p->name, buf, p->hand);
        else
            model_log_add(m, MODEL_LOG_RESULT, "%s shows %s", p->name, buf);
    }
    for (size_t i = 0; mucks && i < json_object_array_length(mucks); i++) {
        struct json_object *v = json_object_array_get_idx(mucks, i);
        struct model_player *p = json_object_is_type(v, json_type_string)
                                     ? model_find(m, json_object_get_string(v))
                                     : NULL;
        if (p) model_log_add(m, MODEL_LOG_RESULT, "%s mucks", p->name);
    }
}

static void model_up_hand_end(struct model *m, struct json_object *d)
{
    struct json_object *pots = model_jget(d, "pots", json_type_array);
    m->nawards = 0;
    for (int s = 0; s < MODEL_MAX_SEATS; s++)
        m->players[s].won = 0;
    for (size_t i = 0; pots && i < json_object_array_length(pots) && m->nawards < MODEL_MAX_POTS;
         i++) {
        struct json_object *o = json_object_array_get_idx(pots, i);
        struct json_object *w = model_jget(o, "winners", json_type_array);
        struct model_award *aw = &m->awards[m->nawards];
        int64_t v;
        memset(aw, 0, sizeof(*aw));
        aw->pot = model_jint(o, "pot", &v) && v >= 0 && v < MODEL_MAX_POTS ? (int)v : 0;
        model_jint(o, "amount", &aw->amount);
        for (size_t j = 0; w && j < json_object_array_length(w); j++) {
            struct json_object *wo = json_object_array_get_idx(w, j);
            struct model_player *p = model_find_j(m, wo, "player_id");
            if (!p || !model_jint(wo, "amount", &v)) continue;
            aw->winners |= (uint16_t)(1u << p->seat);
            aw->share[p->seat] = v;
            p->won += v;
            char pot[24];
            if (aw->pot == 0)
                snprintf(pot, sizeof(pot), "the pot");
            else
                snprintf(pot, sizeof(pot), "side pot %d", aw->pot);
            if (p->hand[0])
                model_log_add(m, MODEL_LOG_RESULT, "%s wins %lld from %s with %s", p->name,
                              (long long)v, pot, p->hand);
            else
                model_log_add(m, MODEL_LOG_RESULT, "%s wins %lld from %s", p->name, (long long)v,
                              pot);
        }
        m->nawards++;
    }
    model_stacks_read(m, d);
    m->hand_running = false;
    m->street = -1;
    m->npots = 0;
    for (int s = 0; s < MODEL_MAX_SEATS; s++) {
        struct model_player *p = &m->players[s];
        p->bet = 0;
        p->has_equity = false;
        if (p->present && p->status != MODEL_SITTING_OUT) p->status = MODEL_WAITING;
    }
    m->equity_shown = false;
}

static const struct {
    const char *change;
    const char *what; /* follows the player's name in the log */
} model_seat_changes[] = {
    {"joined", "sits down"},    {"left", "leaves the table"}, {"leaving", "is leaving"},
    {"sat_out", "sits out"},    {"sat_in", "is back"},        {"busted", "is busted"},
    {"rebuy", "buys in again"},
};

static void model_up_seat(struct model *m, struct json_object *d)
{
    const char *change = model_jstr(d, "change");
    struct json_object *po = model_jget(d, "player", json_type_object);
    if (!change || !po) return;
    if (strcmp(change, "left") == 0) {
        struct model_player *p = model_find_j(m, po, "player_id");
        if (p) {
            model_log_add(m, MODEL_LOG_TABLE, "%s leaves the table", p->name);
            if (strcmp(p->id, m->me_id) == 0) m->me_seat = -1;
            memset(p, 0, sizeof(*p));
        }
        return;
    }
    struct model_player *p = model_player_read(m, po);
    if (!p) return;
    if (strcmp(change, "leaving") == 0) p->leaving = true;
    if (strcmp(change, "joined") == 0) p->in_hand = false;
    if (strcmp(p->id, m->me_id) == 0) {
        if (strcmp(change, "sat_out") == 0 || strcmp(change, "busted") == 0)
            m->me_sitting_out = true;
        else if (strcmp(change, "sat_in") == 0)
            m->me_sitting_out = false;
    }
    for (size_t i = 0; i < FELT_ARRAY_LEN(model_seat_changes); i++)
        if (strcmp(change, model_seat_changes[i].change) == 0)
            model_log_add(m, MODEL_LOG_TABLE, "%s %s", p->name, model_seat_changes[i].what);
}

static const struct {
    const char *event;
    void (*fn)(struct model *m, struct json_object *d);
} model_updates[] = {
    {"hand_start", model_up_hand_start},
    {"action", model_up_action},
    {"street", model_up_street},
    {"uncalled", model_up_uncalled},
    {"showdown", model_up_showdown},
    {"hand_end", model_up_hand_end},
    {"seat", model_up_seat},
};

/* ---- notifications --------------------------------------------------------------------- */

static void model_no_your_turn(struct model *m, struct json_object *d, struct model_player *p)
{
    (void)d;
    (void)p;
    m->your_turn_serial++;
}

static void model_no_timer_warning(struct model *m, struct json_object *d, struct model_player *p)
{
    int64_t left = 0;
    model_jint(d, "seconds_left", &left);
    if (p) model_log_add(m, MODEL_LOG_TABLE, "%s has %lld s left to act", p->name, (long long)left);
}

static void model_no_timeout(struct model *m, struct json_object *d, struct model_player *p)
{
    (void)d;
    if (p) model_log_add(m, MODEL_LOG_TABLE, "%s ran out of time", p->name);
}

static void model_no_presence(struct model *m, struct json_object *d, struct model_player *p,
                              bool connected)
{
    (void)d;
    if (!p || p->bot) return;
    p->connected = connected;
    model_log_add(m, MODEL_LOG_TABLE, connected ? "%s connected" : "%s lost the connection",
                  p->name);
}

static void model_no_connected(struct model *m, struct json_object *d, struct model_player *p)
{
    model_no_presence(m, d, p, true);
}

static void model_no_disconnected(struct model *m, struct json_object *d, struct model_player *p)
{
    model_no_presence(m, d, p, false);
}

static void model_no_spectators(struct model *m, struct json_object *d, struct model_player *p)
{
    int64_t v;
    (void)p;
    if (model_jint(d, "count", &v) && v >= 0 && v < INT32_MAX) m->spectators = (int)v;
}

/* Kinds not listed (turn, player_joined/left/sat_out/sat_in, hand_won, busted) repeat what a
 * state_update already told the model and the log. */
static const struct {
    const char *kind;
    void (*fn)(struct model *m, struct json_object *d, struct model_player *p);
} model_notifications[] = {
    {"your_turn", model_no_your_turn},
    {"timer_warning", model_no_timer_warning},
    {"timeout", model_no_timeout},
    {"player_connected", model_no_connected},
    {"player_disconnected", model_no_disconnected},
    {"spectators", model_no_spectators},
};

/* ---- animations ------------------------------------------------------------------------ */

static const struct {
    const char *kind;
    enum model_anim_kind anim;
} model_anims[] = {
    {"deal", MODEL_ANIM_DEAL},
    {"chips_to_pot", MODEL_ANIM_CHIPS_TO_POT},
    {"deal_board", MODEL_ANIM_DEAL_BOARD},
    {"reveal", MODEL_ANIM_REVEAL},
    {"award", MODEL_ANIM_AWARD},
};

/* Seat mask of an array of player ids, or of objects holding player_id. */
static uint16_t model_seat_mask(struct model *m, struct json_object *a)
{
    uint16_t mask = 0;
    for (size_t i = 0; a && i < json_object_array_length(a); i++) {
        struct json_object *v = json_object_array_get_idx(a, i);
        struct model_player *p = json_object_is_type(v, json_type_string)
                                     ? model_find(m, json_object_get_string(v))
                                     : model_find_j(m, v, "player_id");
        if (p) mask |= (uint16_t)(1u << p->seat);
    }
    return mask;
}

/* ---- per message type ------------------------------------------------------------------ */

static void model_on_snapshot(struct model *m, struct json_object *d)
{
    struct json_object *t = model_jget(d, "table", json_type_object);
    struct json_object *players = model_jget(d, "players", json_type_array);
    struct json_object *you = model_jget(d, "you", json_type_object);
    int64_t v;

    if (t) {
        struct model_table *c = &m->table;
        const char *id = model_jstr(t, "id");
        if (id && proto_game_id_valid(id, strlen(id))) snprintf(c->id, sizeof(c->id), "%s", id);
        if (model_jint(t, "seats", &v) && v >= 2 && v <= MODEL_MAX_SEATS) c->seats = (int)v;
        model_jint(t, "small_blind", &c->small_blind);
        model_jint(t, "big_blind", &c->big_blind);
        model_jint(t, "ante", &c->ante);
        model_jint(t, "buy_in", &c->buy_in);
        model_jint(t, "action_timeout_ms", &c->action_timeout_ms);
        c->spectator_chat = model_jbool(t, "spectator_chat", c->spectator_chat);
    }
    model_clear_hand(m);
    memset(m->players, 0, sizeof(m->players));
    if (model_jint(d, "hand_id", &v) && v >= 0) m->hand_id = v;
    m->hand_running = model_jbool(d, "hand_running", false);
    m->button = model_jint(d, "button", &v) && v >= 0 && v < MODEL_MAX_SEATS ? (int)v : -1;
    m->sb_seat = m->bb_seat = -1;
    m->street = m->hand_running ? model_street_parse(model_jstr(d, "street")) : -1;
    int n = model_cards(model_jget(d, "board", json_type_array), m->board, 5);
    m->nboard = n > 0 ? n : 0;
    if (you) {
        const char *id = model_jstr(you, "player_id");
        if (id && strlen(id) <= MODEL_ID_MAX) snprintf(m->me_id, sizeof(m->me_id), "%s", id);
        m->me_sitting_out = model_jbool(you, "sitting_out", false);
    }
    m->me_seat = -1;
    for (size_t i = 0; players && i < json_object_array_length(players); i++) {
        struct model_player *p = model_player_read(m, json_object_array_get_idx(players, i));
        if (p)
            p->in_hand =
                m->hand_running && (p->status == MODEL_ACTIVE || p->status == MODEL_ALL_IN ||
                                    p->status == MODEL_FOLDED);
    }
    model_pots_read(m, d);
    if (model_jint(d, "spectators", &v) && v >= 0 && v < INT32_MAX) m->spectators = (int)v;
    m->have_snapshot = true;
}

static void model_on_state_update(struct model *m, struct json_object *d)
{
    const char *event = model_jstr(d, "event");
    int64_t hand_id;
    if (model_jint(d, "hand_id", &hand_id) && hand_id >= 0) m->hand_id = hand_id;
    for (size_t i = 0; event && i < FELT_ARRAY_LEN(model_updates); i++)
        if (strcmp(event, model_updates[i].event) == 0) {
            model_updates[i].fn(m, d);
            break;
        }
}

static void model_on_animation(struct model *m, struct json_object *d)
{
    const char *kind = model_jstr(d, "kind");
    struct model_anim *a = &m->anim;
    for (size_t i = 0; kind && i < FELT_ARRAY_LEN(model_anims); i++) {
        if (strcmp(kind, model_anims[i].kind) != 0) continue;
        uint64_t serial = a->serial + 1;
        struct model_player *p = model_find_j(m, d, "player_id");
        int64_t v = 0;
        memset(a, 0, sizeof(*a));
        a->kind = model_anims[i].anim;
        a->serial = serial;
        a->seat = p ? p->seat : -1;
        model_jint(d, "amount", &a->amount);
        a->pot = model_jint(d, "pot", &v) && v >= 0 && v < MODEL_MAX_POTS ? (int)v : 0;
        int n = model_cards(model_jget(d, "cards", json_type_array), a->cards, 5);
        a->ncards = n > 0 ? n : 0;
        a->seats = model_seat_mask(m, model_jget(d, "players", json_type_array)) |
                   model_seat_mask(m, model_jget(d, "winners", json_type_array));
        break;
    }
}

static void model_on_notification(struct model *m, struct json_object *d)
{
    const char *kind = model_jstr(d, "kind");
    for (size_t i = 0; kind && i < FELT_ARRAY_LEN(model_notifications); i++)
        if (strcmp(kind, model_notifications[i].kind) == 0) {
            model_notifications[i].fn(m, d, model_find_j(m, d, "player_id"));
            break;
        }
}

static void model_on_chat(struct model *m, struct json_object *d)
{
    const char *text = model_jstr(d, "text");
    const char *id = model_jstr(d, "player_id");
    char clean[MODEL_CHAT_TEXT];
    struct felt_err err;
    if (!text ||
        text_sanitize(text, strlen(text), clean, sizeof(clean), PROTO_CHAT_MAX_CHARS, &err) <= 0)
        return;
    struct model_chat *c = model_chat_push(m);
    snprintf(c->text, sizeof(c->text), "%s", clean);
    model_text(model_jstr(d, "name"), c->name, sizeof(c->name), PROTO_NAME_MAX_CHARS);
    c->spectator = model_jbool(d, "spectator", false);
    c->own = id && m->me_id[0] && strcmp(id, m->me_id) == 0;
}

/* Replies (ack, error, pong) concern one connection: the session reports them. */
static void model_on_reply(struct model *m, struct json_object *d)
{
    (void)m;
    (void)d;
}

static const struct {
    void (*fn)(struct model *m, struct json_object *d);
    bool has_to_act; /* the data carries to_act (snapshot, state_update) */
} model_handlers[PROTO_S_COUNT] = {
    [PROTO_S_SNAPSHOT] = {model_on_snapshot, true},
    [PROTO_S_STATE_UPDATE] = {model_on_state_update, true},
    [PROTO_S_ANIMATION] = {model_on_animation, false},
    [PROTO_S_NOTIFICATION] = {model_on_notification, false},
    [PROTO_S_CHAT] = {model_on_chat, false},
    [PROTO_S_ACK] = {model_on_reply, false},
    [PROTO_S_ERROR] = {model_on_reply, false},
    [PROTO_S_PONG] = {model_on_reply, false},
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
    model_handlers[msg->type].fn(m, msg->data);
    if (model_handlers[msg->type].has_to_act) model_to_act_read(m, msg->data);
    if (proto_stype_is_event(msg->type) && msg->has_seq) {
        m->has_seq = true;
        m->last_seq = msg->seq;
    }
    model_equity_update(m);
    m->version++;
    return MODEL_APPLIED;
}
