/*
 * table.c: one poker table, owned here and only here.
 *
 * A table holds its seats and players, the hand in progress (a struct engine), the action
 * clock, the bots' turns, and the history of its events. Every change to a table goes through
 * a table_* function, which applies it and publishes the resulting events: each event gets the
 * next seq of the table, is rendered once per audience (public, plus private renderings for the
 * players who may see more, such as their own hole cards), appended to the history, and the
 * subscribed connections are woken to pull it. Nothing outside this file reads or writes a
 * table's state, which is what lets persistence (SQLite) and several nodes (Redis) attach here
 * later: the state and its event history have one owner and one narrow interface.
 *
 * Privacy rule: a card appears only in a private rendering for its owner, until the engine shows
 * it (SHOW event). Mucked and folded cards never appear in any rendering.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "eval.h"
#include "server.h"
#include "text.h"

struct table {
    struct server *srv;
    struct table_config cfg;
    struct player *seat[ENGINE_MAX_SEATS];
    int nplayers;
    struct rng rng;

    bool hand_running;
    int64_t hand_id;               /* id of the current (or last) hand; 0 before the first */
    int button;                    /* seat of the button, -1 before the first hand */
    struct engine eng;
    bool shown[ENGINE_MAX_SEATS];  /* cards shown in this hand (public from then on) */
    int64_t deadline_ms;           /* action clock of eng.to_act */
    int64_t next_deadline_ms;      /* the deadline of the turn being announced (0: none) */
    bool warned;                   /* the timer warning for this turn was sent */
    int clock_seat;                /* the seat the clock runs for, -1 none */

    struct net_timer *clock;       /* action clock: warning, then expiry */
    struct net_timer *next_hand;   /* pause between hands */
    struct net_timer *bot_turn;    /* a bot's (or absent player's) turn */
    struct net_timer *spectators;  /* coalesces spectator-count notifications */
    int spectators_told;           /* the count last published */
    bool spectators_pending;

    struct history hist;
    uint64_t seq;                  /* seq of the last published event */
    struct limit_bucket chat_bucket; /* chat messages per 10 s at this table */
    struct conn *subs;             /* subscribed connections */
    int nspectators;
};

static void table_after_change(struct table *t);
static void table_clock_fire(void *arg);
static void table_next_hand_fire(void *arg);
static void table_auto_turn_fire(void *arg);
static void table_spectators_fire(void *arg);

/* ---- rendering helpers ----------------------------------------------------------------- */

static struct json_object *table_cards_json(const card_t *cards, int n)
{
    struct json_object *a = json_object_new_array();
    char buf[3];
    for (int i = 0; i < n; i++)
        if (card_valid(cards[i]))
            json_object_array_add(a, json_object_new_string(card_str(cards[i], buf)));
    return a;
}

static struct json_object *table_id_json(const struct table *t, int seat)
{
    if (seat < 0 || seat >= ENGINE_MAX_SEATS || !t->seat[seat])
        return NULL;
    return json_object_new_string(t->seat[seat]->id);
}

static const char *table_player_status(const struct table *t, const struct player *p)
{
    if (t->hand_running && p->in_hand) {
        const struct engine_player *ep = &t->eng.p[p->seat];
        if (ep->folded)
            return "folded";
        if (ep->all_in)
            return "all_in";
        return "active";
    }
    if (p->sitting_out)
        return "sitting_out";
    return "waiting";
}

static struct json_object *table_pots_json(const struct table *t)
{
    struct engine_pot pots[ENGINE_MAX_POTS];
    struct json_object *a = json_object_new_array();
    if (!t->hand_running)
        return a;
    int n = engine_pots(&t->eng, pots);
    for (int i = 0; i < n; i++) {
        struct json_object *o = json_object_new_object();
        struct json_object *el = json_object_new_array();
        json_object_object_add(o, "amount", json_object_new_int64(pots[i].amount));
        for (int s = 0; s < t->cfg.seats; s++)
            if ((pots[i].eligible >> s) & 1 && t->seat[s])
                json_object_array_add(el, json_object_new_string(t->seat[s]->id));
        json_object_object_add(o, "eligible", el);
        json_object_array_add(a, o);
    }
    return a;
}

/* The player to act with their legal options: the shape of `felt replay`'s to_act plus
 * player_id, seat and deadline; NULL (JSON null) when nobody is to act. */
static struct json_object *table_to_act_json(const struct table *t)
{
    struct engine_options o;
    if (!t->hand_running)
        return NULL;
    engine_options(&t->eng, &o);
    if (o.seat < 0 || !t->seat[o.seat])
        return NULL;
    struct json_object *j = json_object_new_object();
    json_object_object_add(j, "player_id", json_object_new_string(t->seat[o.seat]->id));
    json_object_object_add(j, "name", json_object_new_string(t->seat[o.seat]->name));
    json_object_object_add(j, "seat", json_object_new_int(o.seat));
    json_object_object_add(j, "call", json_object_new_int64(o.call));
    json_object_object_add(j, "can_check", json_object_new_boolean(o.can_check));
    json_object_object_add(j, "min_raise_to",
                           o.can_raise ? json_object_new_int64(o.min_raise_to) : NULL);
    json_object_object_add(j, "max_raise_to",
                           o.can_raise ? json_object_new_int64(o.max_raise_to) : NULL);
    /* While a batch announces a new turn, its clock has not started yet: give the deadline
     * it will have, so to_act and the turn notification agree. */
    json_object_object_add(j, "deadline", json_object_new_int64(t->next_deadline_ms
                                                                    ? t->next_deadline_ms
                                                                    : t->deadline_ms));
    return j;
}

static struct json_object *table_player_json(const struct table *t, const struct player *p,
                                             const struct player *viewer)
{
    struct json_object *j = json_object_new_object();
    bool dealt = t->hand_running && p->in_hand;
    json_object_object_add(j, "player_id", json_object_new_string(p->id));
    json_object_object_add(j, "name", json_object_new_string(p->name));
    json_object_object_add(j, "seat", json_object_new_int(p->seat));
    json_object_object_add(j, "stack", json_object_new_int64(p->stack));
    json_object_object_add(j, "bet", json_object_new_int64(dealt ? t->eng.p[p->seat].bet : 0));
    json_object_object_add(j, "status", json_object_new_string(table_player_status(t, p)));
    json_object_object_add(j, "connected", json_object_new_boolean(p->bot || p->conn != NULL));
    json_object_object_add(j, "bot", json_object_new_boolean(p->bot));
    if (dealt && !t->eng.p[p->seat].folded && (p == viewer || t->shown[p->seat]))
        json_object_object_add(j, "cards", table_cards_json(t->eng.p[p->seat].hole, 2));
    return j;
}

/* Starts the data object every state_update carries: event name, hand_id and to_act. to_act is
 * only filled by the caller for the last update of a batch (earlier ones describe a moment when
 * nobody was to act yet). */
static struct json_object *table_update_json(const struct table *t, const char *what)
{
    struct json_object *d = json_object_new_object();
    json_object_object_add(d, "event", json_object_new_string(what));
    json_object_object_add(d, "hand_id", json_object_new_int64(t->hand_id));
    json_object_object_add(d, "to_act", NULL);
    return d;
}

/* ---- publishing ------------------------------------------------------------------------ */

static struct event *table_event_new(struct table *t, enum proto_stype type)
{
    return event_new(t->seq + 1, type);
}

/* Appends a rendered event to the history and wakes every subscriber. Takes ev's reference. */
static void table_publish(struct table *t, struct event *ev)
{
    FELT_ASSERT(ev->pub != NULL && ev->seq == t->seq + 1);
    t->seq = ev->seq;
    history_push(&t->hist, ev);
    for (struct conn *c = t->subs; c; c = c->sub_next)
        conn_wake(c);
}

/* Publishes an event with one rendering for everyone. Takes data's reference. */
static void table_publish_public(struct table *t, enum proto_stype type, struct json_object *data)
{
    struct event *ev = table_event_new(t, type);
    event_set_public(ev, felt_now_ms(), data);
    table_publish(t, ev);
}

static void table_notify(struct table *t, const char *kind, struct player *p,
                         struct json_object *extra)
{
    struct json_object *d = extra ? extra : json_object_new_object();
    json_object_object_add(d, "kind", json_object_new_string(kind));
    if (p) {
        json_object_object_add(d, "player_id", json_object_new_string(p->id));
        json_object_object_add(d, "name", json_object_new_string(p->name));
    }
    table_publish_public(t, PROTO_S_NOTIFICATION, d);
}

static void table_seat_update(struct table *t, struct player *p, const char *what)
{
    struct json_object *d = table_update_json(t, "seat");
    json_object_object_add(d, "change", json_object_new_string(what));
    json_object_object_add(d, "player", table_player_json(t, p, NULL));
    json_object_object_add(d, "to_act", table_to_act_json(t));
    table_publish_public(t, PROTO_S_STATE_UPDATE, d);
}

/* ---- turning engine events into protocol events ---------------------------------------- */

struct table_batch {
    struct table *t;
    int64_t stack[ENGINE_MAX_SEATS]; /* stacks as of the event being rendered */
    struct json_object *last_data;
    struct json_object *shows;       /* pending "showdown" update */
    struct json_object *mucks;
    struct json_object *awards;      /* pots won, for hand_end */
    bool from_action;
};

/* State updates are published in order; the last one of the batch is held back so that it can
 * carry the final to_act. */
static void table_batch_update(struct table_batch *b, struct json_object *data)
{
    struct table *t = b->t;
    if (b->last_data) {
        struct event *ev = table_event_new(t, PROTO_S_STATE_UPDATE);
        ev->from_action = b->from_action;
        event_set_public(ev, felt_now_ms(), b->last_data);
        table_publish(t, ev);
    }
    b->last_data = data;
}

static void table_batch_animation(struct table_batch *b, struct json_object *data)
{
    /* Animations follow the update they illustrate. */
    table_batch_update(b, NULL);
    table_publish_public(b->t, PROTO_S_ANIMATION, data);
}

static struct json_object *table_stack_json(struct table_batch *b, int seat)
{
    struct json_object *s = json_object_new_object();
    if (b->t->seat[seat])
        json_object_object_add(s, b->t->seat[seat]->id, json_object_new_int64(b->stack[seat]));
    return s;
}

static void table_batch_flush_showdown(struct table_batch *b)
{
    if (!b->shows)
        return;
    struct json_object *d = table_update_json(b->t, "showdown");
    struct json_object *shows = b->shows;
    json_object_object_add(d, "shows", json_object_get(shows));
    json_object_object_add(d, "mucks", b->mucks);
    b->shows = b->mucks = NULL;
    table_batch_update(b, d);
    /* Then one reveal animation per hand shown, after the update that makes them public. */
    for (size_t i = 0; i < json_object_array_length(shows); i++) {
        struct json_object *o = json_object_array_get_idx(shows, i), *v;
        struct json_object *a = json_object_new_object();
        json_object_object_add(a, "kind", json_object_new_string("reveal"));
        json_object_object_get_ex(o, "player_id", &v);
        json_object_object_add(a, "player_id", json_object_get(v));
        json_object_object_get_ex(o, "cards", &v);
        json_object_object_add(a, "cards", json_object_get(v));
        table_batch_animation(b, a);
    }
    json_object_put(shows);
}

static void table_batch_hand_start(struct table_batch *b, const struct engine_events *evs)
{
    struct table *t = b->t;
    struct event *ev = table_event_new(t, PROTO_S_STATE_UPDATE);
    struct json_object *posts = json_object_new_array();
    int64_t now = felt_now_ms();
    /* hand_start carries to_act unless later updates of this batch (an all-in run-out) do. */
    bool hand_start_is_last = !engine_over(&t->eng);

    for (int i = 0; i < evs->n; i++) {
        const struct engine_event *e = &evs->ev[i];
        if (e->kind != ENGINE_EV_ANTE && e->kind != ENGINE_EV_BLIND &&
            e->kind != ENGINE_EV_DEAL_HOLE)
            hand_start_is_last = false;
        if (e->kind != ENGINE_EV_ANTE && e->kind != ENGINE_EV_BLIND)
            continue;
        b->stack[e->seat] -= e->amount;
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "player_id", table_id_json(t, e->seat));
        json_object_object_add(o, "kind", json_object_new_string(
            e->kind == ENGINE_EV_ANTE ? "ante" : e->blind_big ? "big_blind" : "small_blind"));
        json_object_object_add(o, "amount", json_object_new_int64(e->amount));
        json_object_array_add(posts, o);
    }

    /* One public rendering without hole cards, one private per dealt player with theirs. */
    for (int pass = -1; pass < t->cfg.seats; pass++) {
        struct player *viewer = pass >= 0 ? t->seat[pass] : NULL;
        if (pass >= 0 && (!viewer || !viewer->in_hand || viewer->bot))
            continue;
        struct json_object *d = table_update_json(t, "hand_start");
        struct json_object *players = json_object_new_array();
        json_object_object_add(d, "button", json_object_new_int(t->button));
        json_object_object_add(d, "small_blind_seat", json_object_new_int(t->eng.sb_seat));
        json_object_object_add(d, "big_blind_seat", json_object_new_int(t->eng.bb_seat));
        json_object_object_add(d, "posts", json_object_get(posts));
        for (int s = 0; s < t->cfg.seats; s++) {
            if (!t->seat[s])
                continue;
            /* Chips behind after the posts (p->stack is updated only after the batch). */
            struct json_object *pj = table_player_json(t, t->seat[s], viewer);
            json_object_object_add(pj, "stack", json_object_new_int64(b->stack[s]));
            json_object_array_add(players, pj);
        }
        json_object_object_add(d, "players", players);
        json_object_object_add(d, "pots", table_pots_json(t));
        if (hand_start_is_last)
            json_object_object_add(d, "to_act", table_to_act_json(t));
        if (viewer)
            event_set_private(ev, viewer->uid, now, d);
        else
            event_set_public(ev, now, d);
    }
    json_object_put(posts);
    table_publish(t, ev);

    struct json_object *a = json_object_new_object();
    struct json_object *seats = json_object_new_array();
    json_object_object_add(a, "kind", json_object_new_string("deal"));
    for (int s = 0; s < t->cfg.seats; s++)
        if (t->seat[s] && t->seat[s]->in_hand)
            json_object_array_add(seats, json_object_new_string(t->seat[s]->id));
    json_object_object_add(a, "players", seats);
    table_publish_public(t, PROTO_S_ANIMATION, a);
}

static void table_batch_event(struct table_batch *b, const struct engine_event *e)
{
    struct table *t = b->t;
    struct json_object *d, *a;

    if (e->kind != ENGINE_EV_SHOW && e->kind != ENGINE_EV_MUCK)
        table_batch_flush_showdown(b);

    switch (e->kind) {
    case ENGINE_EV_ANTE:
    case ENGINE_EV_BLIND:
    case ENGINE_EV_DEAL_HOLE:
        break; /* rendered together by table_batch_hand_start */
    case ENGINE_EV_ACTION:
        b->stack[e->seat] -= e->amount;
        d = table_update_json(t, "action");
        json_object_object_add(d, "player_id", table_id_json(t, e->seat));
        json_object_object_add(d, "seat", json_object_new_int(e->seat));
        json_object_object_add(d, "action", json_object_new_string(engine_action_name(e->action)));
        json_object_object_add(d, "amount", json_object_new_int64(e->amount));
        json_object_object_add(d, "to", json_object_new_int64(e->to));
        json_object_object_add(d, "all_in", json_object_new_boolean(e->all_in));
        json_object_object_add(d, "stacks", table_stack_json(b, e->seat));
        json_object_object_add(d, "pots", table_pots_json(t));
        if (e->amount > 0) {
            a = json_object_new_object();
            json_object_object_add(a, "kind", json_object_new_string("chips_to_pot"));
            json_object_object_add(a, "player_id", table_id_json(t, e->seat));
            json_object_object_add(a, "amount", json_object_new_int64(e->amount));
            table_batch_animation(b, a);
        }
        table_batch_update(b, d);
        break;
    case ENGINE_EV_STREET:
        d = table_update_json(t, "street");
        json_object_object_add(d, "street", json_object_new_string(engine_street_name(e->street)));
        json_object_object_add(d, "cards", table_cards_json(e->cards, e->ncards));
        json_object_object_add(d, "pots", table_pots_json(t));
        a = json_object_new_object();
        json_object_object_add(a, "kind", json_object_new_string("deal_board"));
        json_object_object_add(a, "street", json_object_new_string(engine_street_name(e->street)));
        json_object_object_add(a, "cards", table_cards_json(e->cards, e->ncards));
        table_batch_animation(b, a);
        table_batch_update(b, d);
        break;
    case ENGINE_EV_UNCALLED:
        b->stack[e->seat] += e->amount;
        d = table_update_json(t, "uncalled");
        json_object_object_add(d, "player_id", table_id_json(t, e->seat));
        json_object_object_add(d, "amount", json_object_new_int64(e->amount));
        json_object_object_add(d, "stacks", table_stack_json(b, e->seat));
        table_batch_update(b, d);
        break;
    case ENGINE_EV_SHOW: {
        t->shown[e->seat] = true;
        if (!b->shows) {
            b->shows = json_object_new_array();
            b->mucks = json_object_new_array();
        }
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "player_id", table_id_json(t, e->seat));
        json_object_object_add(o, "cards", table_cards_json(e->cards, 2));
        json_object_object_add(o, "hand", e->rank ? json_object_new_string(eval_category_name(
                                                        eval_category(e->rank)))
                                                  : NULL);
        json_object_array_add(b->shows, o);
        break;
    }
    case ENGINE_EV_MUCK:
        if (!b->shows) {
            b->shows = json_object_new_array();
            b->mucks = json_object_new_array();
        }
        json_object_array_add(b->mucks, table_id_json(t, e->seat));
        break;
    case ENGINE_EV_POT: {
        struct json_object *winners = json_object_new_array();
        for (int s = 0; s < t->cfg.seats; s++) {
            if (!((e->winners >> s) & 1))
                continue;
            b->stack[s] += e->share[s];
            struct json_object *w = json_object_new_object();
            json_object_object_add(w, "player_id", table_id_json(t, s));
            json_object_object_add(w, "amount", json_object_new_int64(e->share[s]));
            json_object_array_add(winners, w);
        }
        struct json_object *pot = json_object_new_object();
        json_object_object_add(pot, "pot", json_object_new_int(e->pot));
        json_object_object_add(pot, "amount", json_object_new_int64(e->amount));
        json_object_object_add(pot, "winners", winners);
        if (!b->awards)
            b->awards = json_object_new_array();
        json_object_array_add(b->awards, json_object_get(pot));
        json_object_object_add(pot, "kind", json_object_new_string("award"));
        table_batch_animation(b, pot);
        break;
    }
    case ENGINE_EV_HAND_END: {
        d = table_update_json(t, "hand_end");
        struct json_object *stacks = json_object_new_object();
        for (int s = 0; s < t->cfg.seats; s++)
            if (t->seat[s] && t->seat[s]->in_hand)
                json_object_object_add(stacks, t->seat[s]->id, json_object_new_int64(b->stack[s]));
        json_object_object_add(d, "pots", b->awards ? b->awards : json_object_new_array());
        json_object_object_add(d, "stacks", stacks);
        struct json_object *won = json_object_new_object();
        json_object_object_add(won, "pots", json_object_get(b->awards));
        b->awards = NULL;
        table_batch_update(b, d);
        table_batch_update(b, NULL);
        table_notify(t, "hand_won", NULL, won);
        break;
    }
    }
}

/* Publishes everything one engine call produced, in order, then the bookkeeping that follows
 * (stacks, hand end, the next turn). */
static void table_emit(struct table *t, const struct engine_events *evs, bool from_action)
{
    struct table_batch b = {.t = t, .from_action = from_action};
    bool start = false;
    /* Every batch ends a turn; the next one (if any) starts its clock in table_after_change. */
    t->next_deadline_ms = felt_now_ms() + t->cfg.action_timeout_ms;
    for (int s = 0; s < ENGINE_MAX_SEATS; s++)
        b.stack[s] = t->seat[s] ? t->seat[s]->stack : 0;
    for (int i = 0; i < evs->n; i++)
        if (evs->ev[i].kind == ENGINE_EV_DEAL_HOLE)
            start = true;
    if (start)
        table_batch_hand_start(&b, evs);
    for (int i = 0; i < evs->n; i++)
        table_batch_event(&b, &evs->ev[i]);
    table_batch_flush_showdown(&b);

    /* The engine is the authority for the stacks of the players in the hand. */
    for (int s = 0; s < t->cfg.seats; s++)
        if (t->seat[s] && t->seat[s]->in_hand)
            t->seat[s]->stack = t->eng.p[s].stack;
    json_object_put(b.awards); /* only non-NULL if the engine reported pots without an end */
    if (b.last_data) {
        struct event *ev = table_event_new(t, PROTO_S_STATE_UPDATE);
        ev->from_action = from_action;
        if (!engine_over(&t->eng))
            json_object_object_add(b.last_data, "to_act", table_to_act_json(t));
        event_set_public(ev, felt_now_ms(), b.last_data);
        table_publish(t, ev);
    }
}

/* ---- hands ----------------------------------------------------------------------------- */

static bool table_player_eligible(const struct player *p)
{
    return p && !p->sitting_out && !p->leaving && p->stack > 0;
}

static int table_eligible_count(const struct table *t)
{
    int n = 0;
    for (int s = 0; s < t->cfg.seats; s++)
        n += table_player_eligible(t->seat[s]);
    return n;
}

static void table_maybe_schedule_hand(struct table *t)
{
    if (!t->hand_running && !t->srv->shutting_down && table_eligible_count(t) >= 2)
        net_timer_arm(t->next_hand, t->cfg.hand_delay_ms);
}

static void table_start_hand(struct table *t)
{
    struct engine_setup setup;
    struct engine_events evs;
    struct felt_err err;
    card_t deck[CARD_COUNT];
    int next = 0;

    if (t->hand_running || table_eligible_count(t) < 2)
        return;
    memset(&setup, 0, sizeof(setup));
    setup.small_blind = t->cfg.small_blind;
    setup.big_blind = t->cfg.big_blind;
    setup.ante = t->cfg.ante;
    setup.nseats = t->cfg.seats;
    /* The button moves to the next eligible seat clockwise. */
    for (int i = 1; i <= t->cfg.seats; i++) {
        int s = (t->button + i + t->cfg.seats) % t->cfg.seats;
        if (table_player_eligible(t->seat[s])) {
            t->button = s;
            break;
        }
    }
    setup.button = t->button;
    rng_deck(&t->rng, deck);
    for (int s = 0; s < t->cfg.seats; s++) {
        struct player *p = t->seat[s];
        setup.hole[s][0] = setup.hole[s][1] = CARD_NONE;
        if (p)
            p->in_hand = table_player_eligible(p);
        if (!p || !p->in_hand)
            continue;
        setup.stack[s] = p->stack;
        setup.hole[s][0] = deck[next++];
        setup.hole[s][1] = deck[next++];
    }
    for (int i = 0; i < 5; i++)
        setup.board[i] = deck[next++];
    memset(t->shown, 0, sizeof(t->shown));
    evs.n = 0;
    if (engine_start(&t->eng, &setup, &evs, &err) != 0)
        felt_fatal("table %s: engine refused a setup it was built for: %s", t->cfg.id,
                   err.message);
    t->hand_id++;
    t->hand_running = true;
    server_log(t->srv, LOG_VERBOSE, "table %s: hand %lld starts", t->cfg.id,
               (long long)t->hand_id);
    table_emit(t, &evs, false);
    table_after_change(t);
}

/* Stands a player up: their chips leave with them, everyone is told why ("left", "idle" or
 * "sitting_out"), and their token stops working (the player and its token are gone). */
static void table_remove_player(struct table *t, struct player *p, const char *reason)
{
    struct conn *c = p->conn;
    const char *why = strcmp(reason, "left") == 0   ? "left the table"
                      : strcmp(reason, "idle") == 0 ? "stood up: away too long"
                                                    : "stood up: sat out too many hands";
    struct json_object *d = json_object_new_object();
    json_object_object_add(d, "reason", json_object_new_string(reason));
    json_object_object_add(d, "stack", json_object_new_int64(p->stack));
    server_log(t->srv, LOG_NORMAL, "table %s: %s (%s) %s with %lld", t->cfg.id, p->name, p->id,
               why, (long long)p->stack);
    table_seat_update(t, p, "left");
    table_notify(t, "player_left", p, d);
    t->seat[p->seat] = NULL;
    t->nplayers--;
    if (c) {
        c->player = NULL;
        conn_close(c, 1000, why);
    }
    for (int i = 0; i < PLAYER_ACK_CACHE; i++)
        msg_unref(p->acks[i].ack);
    memset(p->token, 0, sizeof(p->token));
    free(p->fold);
    free(p);
}

static void table_end_hand(struct table *t)
{
    t->hand_running = false;
    t->clock_seat = -1;
    t->next_deadline_ms = 0;
    net_timer_cancel(t->clock);
    net_timer_cancel(t->bot_turn);
    for (int s = 0; s < t->cfg.seats; s++) {
        struct player *p = t->seat[s];
        if (!p)
            continue;
        p->in_hand = false;
        if (p->sitting_out && !p->bot)
            p->sitout_hands++;
        if (p->leaving) {
            table_remove_player(t, p, p->leave_reason[0] ? p->leave_reason : "left");
        } else if (p->sitting_out && !p->bot && t->srv->limits.sitout_hands > 0 &&
                   p->sitout_hands >= t->srv->limits.sitout_hands) {
            table_remove_player(t, p, "sitting_out");
        } else if (p->stack == 0 && p->bot) {
            p->stack = t->cfg.buy_in; /* bots re-buy so a table with bots keeps playing */
            table_seat_update(t, p, "rebuy");
        } else if (p->stack == 0 && !p->sitting_out) {
            p->sitting_out = true;
            table_seat_update(t, p, "busted");
            table_notify(t, "busted", p, NULL);
        }
    }
    table_maybe_schedule_hand(t);
}

/* After any change: end the hand if it is over, otherwise start the clock for the player to
 * act, tell them it is their turn, and let bots and absent players act. */
static void table_after_change(struct table *t)
{
    struct engine_options o;
    if (!t->hand_running)
        return;
    if (engine_over(&t->eng)) {
        table_end_hand(t);
        return;
    }
    engine_options(&t->eng, &o);
    if (o.seat < 0)
        felt_fatal("table %s: hand not over but nobody to act", t->cfg.id);
    struct player *p = t->seat[o.seat];
    FELT_ASSERT(p != NULL);
    /* Only applied actions and new hands get here, so this is a new turn even when the same
     * seat acts again (the last to act on one street can be the first on the next). */
    t->clock_seat = o.seat;
    t->deadline_ms = t->next_deadline_ms ? t->next_deadline_ms
                                         : felt_now_ms() + t->cfg.action_timeout_ms;
    t->next_deadline_ms = 0;
    t->warned = false;
    int64_t warn_at = t->cfg.action_timeout_ms > 20000 ? t->cfg.action_timeout_ms - 10000
                                                       : t->cfg.action_timeout_ms / 2;
    net_timer_arm(t->clock, warn_at);

    struct event *ev = table_event_new(t, PROTO_S_NOTIFICATION);
    int64_t now = felt_now_ms();
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && p->bot)
            break;
        struct json_object *d = json_object_new_object();
        json_object_object_add(d, "kind", json_object_new_string(pass ? "your_turn" : "turn"));
        json_object_object_add(d, "player_id", json_object_new_string(p->id));
        json_object_object_add(d, "name", json_object_new_string(p->name));
        json_object_object_add(d, "deadline", json_object_new_int64(t->deadline_ms));
        if (pass)
            event_set_private(ev, p->uid, now, d);
        else
            event_set_public(ev, now, d);
    }
    table_publish(t, ev);

    if (p->bot)
        net_timer_arm(t->bot_turn, t->cfg.bot_delay_ms);
    else if (p->sitting_out || p->leaving)
        net_timer_arm(t->bot_turn, 0);
}

/* Applies an action the server takes for a player (clock expiry, bot, sitting out). */
static void table_act_for(struct table *t, int seat, enum engine_action a, int64_t amount)
{
    struct engine_events evs;
    evs.n = 0;
    enum engine_status st = engine_act(&t->eng, seat, a, amount, &evs);
    if (st != ENGINE_OK) {
        /* Fall back to the always-legal choice rather than stall the table. */
        struct engine_options o;
        engine_options(&t->eng, &o);
        evs.n = 0;
        st = engine_act(&t->eng, seat, o.can_check ? ENGINE_CHECK : ENGINE_FOLD, 0, &evs);
        if (st != ENGINE_OK)
            felt_fatal("table %s: check/fold refused: %s", t->cfg.id, engine_status_code(st));
    }
    t->srv->metrics.actions++;
    table_emit(t, &evs, true);
    table_after_change(t);
}

static void table_clock_fire(void *arg)
{
    struct table *t = arg;
    struct engine_options o;
    if (!t->hand_running || t->clock_seat < 0)
        return;
    engine_options(&t->eng, &o);
    struct player *p = t->seat[o.seat];
    if (!t->warned) {
        int64_t left = t->deadline_ms - felt_now_ms();
        struct json_object *d = json_object_new_object();
        t->warned = true;
        json_object_object_add(d, "seconds_left", json_object_new_int64((left + 999) / 1000));
        json_object_object_add(d, "deadline", json_object_new_int64(t->deadline_ms));
        table_notify(t, "timer_warning", p, d);
        net_timer_arm(t->clock, left > 0 ? left : 0);
        return;
    }
    p->timeouts++;
    server_log(t->srv, LOG_VERBOSE, "table %s: %s timed out", t->cfg.id, p->id);
    table_notify(t, "timeout", p, NULL);
    if (p->timeouts >= 3 && !p->sitting_out) {
        p->sitting_out = true;
        table_seat_update(t, p, "sat_out");
        table_notify(t, "player_sat_out", p, NULL);
    }
    table_act_for(t, o.seat, o.can_check ? ENGINE_CHECK : ENGINE_FOLD, 0);
}

static void table_auto_turn_fire(void *arg)
{
    struct table *t = arg;
    struct engine_options o;
    enum engine_action a;
    int64_t amount = 0;
    if (!t->hand_running)
        return;
    engine_options(&t->eng, &o);
    if (o.seat < 0 || !t->seat[o.seat])
        return;
    struct player *p = t->seat[o.seat];
    if (p->bot)
        bot_decide(&t->eng, &t->rng, &a, &amount);
    else if (p->sitting_out || p->leaving)
        a = o.can_check ? ENGINE_CHECK : ENGINE_FOLD;
    else
        return;
    table_act_for(t, o.seat, a, amount);
}

static void table_next_hand_fire(void *arg)
{
    table_start_hand(arg);
}

/* ---- the table_* interface ------------------------------------------------------------- */

struct table *table_new(struct server *srv, const struct table_config *cfg)
{
    struct table *t = xcalloc(1, sizeof(*t));
    t->srv = srv;
    t->cfg = *cfg;
    t->button = -1;
    t->clock_seat = -1;
    rng_init_os(&t->rng);
    history_init(&t->hist, cfg->history);
    t->clock = net_timer_new(srv, table_clock_fire, t);
    t->next_hand = net_timer_new(srv, table_next_hand_fire, t);
    t->bot_turn = net_timer_new(srv, table_auto_turn_fire, t);
    t->spectators = net_timer_new(srv, table_spectators_fire, t);
    return t;
}

void table_shutdown(struct table *t)
{
    net_timer_cancel(t->spectators);
    net_timer_cancel(t->clock);
    net_timer_cancel(t->next_hand);
    net_timer_cancel(t->bot_turn);
}

void table_free(struct table *t)
{
    if (!t)
        return;
    FELT_ASSERT(t->subs == NULL);
    net_timer_free(t->clock);
    net_timer_free(t->next_hand);
    net_timer_free(t->bot_turn);
    net_timer_free(t->spectators);
    for (int s = 0; s < ENGINE_MAX_SEATS; s++) {
        struct player *p = t->seat[s];
        if (!p)
            continue;
        for (int i = 0; i < PLAYER_ACK_CACHE; i++)
            msg_unref(p->acks[i].ack);
        free(p->fold);
        free(p);
    }
    history_free(&t->hist);
    free(t);
}

const struct table_config *table_config(const struct table *t)
{
    return &t->cfg;
}

struct player *table_join(struct table *t, const char *name, int64_t buy_in, bool bot,
                          struct limit_addr *addr, struct felt_err *err)
{
    int seat = -1, from_addr = 0;
    unsigned char idbytes[PLAYER_ID_LEN / 2];
    const struct limits *l = &t->srv->limits;
    /* Every attempt from an address spends a join token, refused ones included. */
    if (!bot && addr && !limit_join_allowed(addr, l, felt_now_ms())) {
        felt_err_set(err, "rate_limited", "too many joins from your address; wait a minute");
        return NULL;
    }
    if (buy_in == 0)
        buy_in = t->cfg.buy_in;
    if (buy_in < t->cfg.big_blind || buy_in > t->cfg.buy_in) {
        felt_err_set(err, "bad_buy_in", "buy-in must be between %lld and %lld",
                     (long long)t->cfg.big_blind, (long long)t->cfg.buy_in);
        return NULL;
    }
    /* Names collide on their fold (case, compatibility forms, look-alike letters), so nobody
     * can sit down as "Ann" or a Cyrillic "аnn" beside ann. */
    char fold[TEXT_FOLD_MAX];
    if (text_name_fold(name, fold, sizeof(fold)) < 0)
        felt_fatal("table %s: a decoded name did not fold", t->cfg.id);
    for (int s = 0; s < t->cfg.seats; s++) {
        if (t->seat[s] && strcmp(t->seat[s]->fold, fold) == 0) {
            felt_err_set(err, "name_taken", "the name '%s' is taken at this table",
                         t->seat[s]->name);
            return NULL;
        }
        if (!t->seat[s] && seat < 0)
            seat = s;
        if (t->seat[s] && addr && strcmp(t->seat[s]->addr, addr->ip) == 0)
            from_addr++;
    }
    if (!bot && addr && l->seats_per_address > 0 && from_addr >= l->seats_per_address) {
        felt_err_set(err, "too_many_seats", "your address already holds %d seat%s at this table",
                     from_addr, from_addr == 1 ? "" : "s");
        return NULL;
    }
    if (seat < 0) {
        felt_err_set(err, "table_full", "table %s is full (%d seats)", t->cfg.id, t->cfg.seats);
        return NULL;
    }
    struct player *p = xcalloc(1, sizeof(*p));
    p->uid = ++t->srv->next_uid;
    rng_os_bytes(idbytes, sizeof(idbytes));
    for (size_t i = 0; i < sizeof(idbytes); i++)
        snprintf(p->id + 2 * i, 3, "%02x", idbytes[i]);
    rng_token_hex(p->token, PLAYER_TOKEN_BYTES);
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->fold = xstrdup(fold);
    p->table = t;
    p->seat = seat;
    p->stack = buy_in;
    p->bot = bot;
    p->last_seen_ms = felt_now_ms();
    if (addr)
        snprintf(p->addr, sizeof(p->addr), "%s", addr->ip);
    t->seat[seat] = p;
    t->nplayers++;
    server_log(t->srv, LOG_NORMAL, "table %s: %s joined seat %d as %s", t->cfg.id, p->name, seat,
               p->id);
    table_seat_update(t, p, "joined");
    table_notify(t, "player_joined", p, NULL);
    table_maybe_schedule_hand(t);
    return p;
}

struct player *table_player_by_id(struct table *t, const char *player_id, size_t len)
{
    for (int s = 0; s < t->cfg.seats; s++) {
        struct player *p = t->seat[s];
        if (p && strlen(p->id) == len && memcmp(p->id, player_id, len) == 0)
            return p;
    }
    return NULL;
}

/* Compares in time independent of where the strings differ. */
static bool table_token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

struct player *table_player_by_token(struct table *t, const char *token)
{
    struct player *found = NULL;
    for (int s = 0; s < t->cfg.seats; s++)
        if (t->seat[s] && !t->seat[s]->bot && table_token_equal(t->seat[s]->token, token))
            found = t->seat[s];
    return found;
}

int table_sit_out(struct table *t, struct player *p, struct felt_err *err)
{
    if (p->sitting_out)
        return felt_err_set(err, "already_sitting_out", "you are already sitting out");
    p->sitting_out = true;
    table_seat_update(t, p, "sat_out");
    table_notify(t, "player_sat_out", p, NULL);
    if (t->hand_running && p->in_hand && t->eng.to_act == p->seat)
        net_timer_arm(t->bot_turn, 0);
    return 0;
}

int table_sit_in(struct table *t, struct player *p, struct felt_err *err)
{
    if (!p->sitting_out)
        return felt_err_set(err, "not_sitting_out", "you are not sitting out");
    if (p->stack == 0 && !(t->hand_running && p->in_hand))
        p->stack = t->cfg.buy_in; /* play money: a busted player re-buys on sitting in */
    p->sitting_out = false;
    p->sitout_hands = 0;
    p->timeouts = 0;
    table_seat_update(t, p, "sat_in");
    table_notify(t, "player_sat_in", p, NULL);
    table_maybe_schedule_hand(t);
    return 0;
}

/* Leaves now, or at the end of the hand when still in it (folding when it is their turn). */
static void table_stand_up(struct table *t, struct player *p, const char *reason)
{
    if (t->hand_running && p->in_hand && !t->eng.p[p->seat].folded) {
        if (p->leaving)
            return;
        p->leaving = true; /* folds when it is their turn, cashes out at the end of the hand */
        snprintf(p->leave_reason, sizeof(p->leave_reason), "%s", reason);
        table_seat_update(t, p, "leaving");
        if (t->eng.to_act == p->seat)
            net_timer_arm(t->bot_turn, 0);
        return;
    }
    table_remove_player(t, p, reason);
}

int table_leave(struct table *t, struct player *p, struct limit_addr *addr, struct felt_err *err)
{
    (void)err;
    /* Leaving always works; it spends a join token, so join/leave churn runs dry like joins. */
    if (addr)
        limit_leave_charge(addr, &t->srv->limits, felt_now_ms());
    table_stand_up(t, p, "left");
    return 0;
}

void table_seen(struct table *t, struct player *p)
{
    (void)t;
    p->last_seen_ms = felt_now_ms();
}

void table_sweep(struct table *t, int64_t now_ms)
{
    int64_t idle_ms = (int64_t)t->srv->limits.idle_seat_secs * 1000;
    if (idle_ms <= 0)
        return;
    for (int s = 0; s < t->cfg.seats; s++) {
        struct player *p = t->seat[s];
        if (p && !p->bot && !p->conn && now_ms - p->last_seen_ms >= idle_ms)
            table_stand_up(t, p, "idle");
    }
}

static struct msg *table_ack(struct table *t, const struct proto_cmsg *m, enum engine_status st,
                             const char *code, const char *message)
{
    size_t len;
    char *s = proto_encode_ack(m->request_id, st == ENGINE_OK, code, message, t->hand_id, &len);
    return msg_from_string(s, len);
}

struct msg *table_act(struct table *t, struct player *p, const struct proto_cmsg *m)
{
    struct msg *ack;
    struct engine_events evs;
    enum engine_status st = ENGINE_OK;
    const char *code = NULL, *message = NULL;

    if (m->request_id[0]) {
        for (int i = 0; i < PLAYER_ACK_CACHE; i++) {
            if (!p->acks[i].ack || strcmp(p->acks[i].request_id, m->request_id) != 0)
                continue;
            /* The same request again (a resend after a cut, which carries the hand it was
             * made for): the first answer, nothing applied, even when that hand is over. The
             * same id for a later hand (or, without hand_id, once the hand has moved on) is
             * another action that will not be taken: say so rather than replay "accepted". */
            int64_t for_hand = m->has_hand_id ? m->hand_id : t->hand_id;
            if (p->acks[i].hand_id == for_hand)
                return msg_ref(p->acks[i].ack);
            t->srv->metrics.actions_rejected++;
            return table_ack(t, m, ENGINE_E_HAND_OVER, "stale_request",
                             "that request_id was used in an earlier hand; use a new one");
        }
    }
    if (!t->hand_running) {
        st = ENGINE_E_HAND_OVER;
        code = "no_hand";
        message = "no hand is in progress";
    } else if (m->has_hand_id && m->hand_id != t->hand_id) {
        st = ENGINE_E_HAND_OVER;
        code = "stale_hand";
        message = "that action was for another hand";
    } else if (!p->in_hand) {
        st = ENGINE_E_NOT_YOUR_TURN;
        code = "not_in_hand";
        message = "you are not in this hand";
    } else {
        evs.n = 0;
        st = engine_act(&t->eng, p->seat, m->action, m->has_amount ? m->amount : 0, &evs);
        if (st != ENGINE_OK) {
            code = engine_status_code(st);
            message = engine_status_message(st);
        }
    }
    ack = table_ack(t, m, st, code, message);
    if (st == ENGINE_OK) {
        t->srv->metrics.actions++;
        p->timeouts = 0;
    } else {
        t->srv->metrics.actions_rejected++;
    }
    if (m->request_id[0]) {
        int i = p->ack_next;
        p->ack_next = (p->ack_next + 1) % PLAYER_ACK_CACHE;
        msg_unref(p->acks[i].ack);
        snprintf(p->acks[i].request_id, sizeof(p->acks[i].request_id), "%s", m->request_id);
        p->acks[i].ack = msg_ref(ack);
        p->acks[i].hand_id = m->has_hand_id ? m->hand_id : t->hand_id; /* as looked up above */
    }
    if (st == ENGINE_OK) {
        table_emit(t, &evs, true);
        table_after_change(t);
    }
    return ack;
}

int table_chat(struct table *t, struct player *p, struct limit_addr *addr, const char *text,
               struct felt_err *err)
{
    const struct limits *l = &t->srv->limits;
    int64_t now = felt_now_ms();
    if (!p && !t->cfg.spectator_chat)
        return felt_err_set(err, "chat_disabled", "spectators may not chat at this table");
    if (addr && !limit_chat_allowed(addr, l, now))
        return felt_err_set(err, "rate_limited", "too much chat from your address; slow down");
    if (!limit_bucket_take(&t->chat_bucket, l->chat_per_table / 10.0, l->chat_per_table, 1.0, now))
        return felt_err_set(err, "rate_limited", "this table is chatting too fast; slow down");
    struct json_object *d = json_object_new_object();
    json_object_object_add(d, "player_id", p ? json_object_new_string(p->id) : NULL);
    json_object_object_add(d, "name", json_object_new_string(p ? p->name : "spectator"));
    json_object_object_add(d, "spectator", json_object_new_boolean(p == NULL));
    json_object_object_add(d, "text", json_object_new_string(text));
    table_publish_public(t, PROTO_S_CHAT, d);
    return 0;
}

void table_presence(struct table *t, struct player *p, bool connected)
{
    p->last_seen_ms = felt_now_ms();
    table_notify(t, connected ? "player_connected" : "player_disconnected", p, NULL);
}

/* Everyone sees how many watch, at most once a second per table: one notification per join
 * would cost O(spectators^2) messages when a crowd arrives. */
static void table_spectators_fire(void *arg)
{
    struct table *t = arg;
    t->spectators_pending = false;
    if (t->srv->shutting_down || t->nspectators == t->spectators_told)
        return;
    t->spectators_told = t->nspectators;
    struct json_object *d = json_object_new_object();
    json_object_object_add(d, "count", json_object_new_int(t->nspectators));
    table_notify(t, "spectators", NULL, d);
}

static void table_spectators_changed(struct table *t)
{
    if (t->spectators_pending || t->srv->shutting_down)
        return;
    t->spectators_pending = true;
    net_timer_arm(t->spectators, 1000);
}

void table_subscribe(struct table *t, struct conn *c)
{
    FELT_ASSERT(!c->subscribed);
    c->subscribed = true;
    c->sub_prev = NULL;
    c->sub_next = t->subs;
    if (t->subs)
        t->subs->sub_prev = c;
    t->subs = c;
    if (c->role == CONN_SPECTATOR) {
        t->nspectators++;
        table_spectators_changed(t);
    }
}

void table_unsubscribe(struct table *t, struct conn *c)
{
    if (!c->subscribed)
        return;
    if (c->sub_prev)
        c->sub_prev->sub_next = c->sub_next;
    else
        t->subs = c->sub_next;
    if (c->sub_next)
        c->sub_next->sub_prev = c->sub_prev;
    c->sub_prev = c->sub_next = NULL;
    c->subscribed = false;
    if (c->role == CONN_SPECTATOR) {
        t->nspectators--;
        table_spectators_changed(t);
    }
}

uint64_t table_seq(const struct table *t)
{
    return t->seq;
}

struct event *table_event(struct table *t, uint64_t seq)
{
    return history_get(&t->hist, seq);
}

int table_spectators(const struct table *t)
{
    return t->nspectators;
}

struct msg *table_snapshot(struct table *t, const struct player *viewer)
{
    struct json_object *d = json_object_new_object();
    struct json_object *cfg = json_object_new_object();
    struct json_object *players = json_object_new_array();
    size_t len;

    json_object_object_add(cfg, "id", json_object_new_string(t->cfg.id));
    json_object_object_add(cfg, "seats", json_object_new_int(t->cfg.seats));
    json_object_object_add(cfg, "small_blind", json_object_new_int64(t->cfg.small_blind));
    json_object_object_add(cfg, "big_blind", json_object_new_int64(t->cfg.big_blind));
    json_object_object_add(cfg, "ante", json_object_new_int64(t->cfg.ante));
    json_object_object_add(cfg, "buy_in", json_object_new_int64(t->cfg.buy_in));
    json_object_object_add(cfg, "action_timeout_ms",
                           json_object_new_int64(t->cfg.action_timeout_ms));
    json_object_object_add(cfg, "spectator_chat", json_object_new_boolean(t->cfg.spectator_chat));
    json_object_object_add(d, "table", cfg);
    json_object_object_add(d, "hand_id", json_object_new_int64(t->hand_id));
    json_object_object_add(d, "hand_running", json_object_new_boolean(t->hand_running));
    json_object_object_add(d, "button", t->button >= 0 ? json_object_new_int(t->button) : NULL);
    json_object_object_add(d, "street", t->hand_running ? json_object_new_string(
                                                              engine_street_name(t->eng.street))
                                                        : NULL);
    json_object_object_add(d, "board", table_cards_json(t->eng.board,
                                                        t->hand_running ? t->eng.board_dealt : 0));
    json_object_object_add(d, "pots", table_pots_json(t));
    for (int s = 0; s < t->cfg.seats; s++)
        if (t->seat[s])
            json_object_array_add(players, table_player_json(t, t->seat[s], viewer));
    json_object_object_add(d, "players", players);
    json_object_object_add(d, "to_act", table_to_act_json(t));
    if (viewer) {
        struct json_object *you = json_object_new_object();
        json_object_object_add(you, "player_id", json_object_new_string(viewer->id));
        json_object_object_add(you, "name", json_object_new_string(viewer->name));
        json_object_object_add(you, "seat", json_object_new_int(viewer->seat));
        json_object_object_add(you, "sitting_out", json_object_new_boolean(viewer->sitting_out));
        json_object_object_add(d, "you", you);
    } else {
        json_object_object_add(d, "you", NULL);
    }
    json_object_object_add(d, "spectators", json_object_new_int(t->nspectators));
    char *s = proto_encode_server(PROTO_S_SNAPSHOT, t->seq, felt_now_ms(), d, &len);
    return msg_from_string(s, len);
}

struct json_object *table_lobby_json(const struct table *t)
{
    struct json_object *j = json_object_new_object();
    struct json_object *players = json_object_new_array();
    json_object_object_add(j, "id", json_object_new_string(t->cfg.id));
    json_object_object_add(j, "seats", json_object_new_int(t->cfg.seats));
    json_object_object_add(j, "seats_taken", json_object_new_int(t->nplayers));
    json_object_object_add(j, "small_blind", json_object_new_int64(t->cfg.small_blind));
    json_object_object_add(j, "big_blind", json_object_new_int64(t->cfg.big_blind));
    json_object_object_add(j, "ante", json_object_new_int64(t->cfg.ante));
    json_object_object_add(j, "buy_in", json_object_new_int64(t->cfg.buy_in));
    for (int s = 0; s < t->cfg.seats; s++) {
        const struct player *p = t->seat[s];
        if (!p)
            continue;
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(p->name));
        json_object_object_add(o, "seat", json_object_new_int(s));
        json_object_object_add(o, "stack", json_object_new_int64(p->stack));
        json_object_object_add(o, "bot", json_object_new_boolean(p->bot));
        json_object_array_add(players, o);
    }
    json_object_object_add(j, "players", players);
    json_object_object_add(j, "spectators", json_object_new_int(t->nspectators));
    json_object_object_add(j, "hand_id", json_object_new_int64(t->hand_id));
    return j;
}
