/*
 * render.c: a table's state and the engine's events, rendered as protocol events and messages.
 *
 * Pure functions: they read a table (and its players and engine) and return new events,
 * messages or JSON; they change nothing and publish nothing (table.c numbers and publishes what
 * they return). Every event is rendered once per audience: one public rendering, plus private
 * renderings for the players who may see more (their own hole cards, "your turn").
 *
 * Privacy rule: a card appears only in a private rendering for its owner, until the engine shows
 * it (SHOW event, after which table.c marks it in t->shown). Mucked and folded cards never
 * appear in any rendering.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "eval.h"
#include "handrec.h"
#include "server.h"

static struct json_object *render_cards(const card_t *cards, int n)
{
    struct json_object *a = json_object_new_array();
    char buf[3];
    for (int i = 0; i < n; i++)
        if (card_valid(cards[i]))
            json_object_array_add(a, json_object_new_string(card_str(cards[i], buf)));
    return a;
}

static struct json_object *render_id(const struct table *t, int seat)
{
    if (seat < 0 || seat >= ENGINE_MAX_SEATS || !t->seat[seat])
        return NULL;
    return json_object_new_string(t->seat[seat]->id);
}

static const char *render_player_status(const struct table *t, const struct player *p)
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

static struct json_object *render_pots(const struct table *t)
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
static struct json_object *render_to_act(const struct table *t)
{
    struct engine_options o;
    if (!t->hand_running)
        return NULL;
    engine_options(&t->eng, &o);
    if (o.seat < 0 || !t->seat[o.seat])
        return NULL;
    struct json_object *j = handrec_to_act_json(&o, t->seat[o.seat]->name);
    json_object_object_add(j, "player_id", json_object_new_string(t->seat[o.seat]->id));
    json_object_object_add(j, "seat", json_object_new_int(o.seat));
    /* While a batch announces a new turn, its clock has not started yet: give the deadline
     * it will have, so to_act and the turn notification agree. */
    json_object_object_add(j, "deadline", json_object_new_int64(t->next_deadline_ms
                                                                    ? t->next_deadline_ms
                                                                    : t->deadline_ms));
    return j;
}

static struct json_object *render_player(const struct table *t, const struct player *p,
                                         const struct player *viewer)
{
    struct json_object *j = json_object_new_object();
    bool dealt = t->hand_running && p->in_hand;
    json_object_object_add(j, "player_id", json_object_new_string(p->id));
    json_object_object_add(j, "name", json_object_new_string(p->name));
    json_object_object_add(j, "seat", json_object_new_int(p->seat));
    json_object_object_add(j, "stack", json_object_new_int64(p->stack));
    json_object_object_add(j, "bet", json_object_new_int64(dealt ? t->eng.p[p->seat].bet : 0));
    json_object_object_add(j, "status", json_object_new_string(render_player_status(t, p)));
    json_object_object_add(j, "connected",
                           json_object_new_boolean(p->bot || p->sub != NULL || p->polling));
    json_object_object_add(j, "bot", json_object_new_boolean(p->bot));
    if (dealt && !t->eng.p[p->seat].folded && (p == viewer || t->shown[p->seat]))
        json_object_object_add(j, "cards", render_cards(t->eng.p[p->seat].hole, 2));
    return j;
}

/* Starts the data object every state_update carries: event name, hand_id and to_act. to_act is
 * only filled by the caller for the last update of a batch (earlier ones describe a moment when
 * nobody was to act yet). */
static struct json_object *render_update_data(const struct table *t, const char *what)
{
    struct json_object *d = json_object_new_object();
    json_object_object_add(d, "event", json_object_new_string(what));
    json_object_object_add(d, "hand_id", json_object_new_int64(t->hand_id));
    json_object_object_add(d, "to_act", NULL);
    return d;
}

static struct event *render_public(uint64_t seq, enum proto_stype type, int64_t now_ms,
                                   struct json_object *data)
{
    struct event *ev = event_new(seq, type);
    event_set_public(ev, now_ms, data);
    return ev;
}

struct event *render_notification(uint64_t seq, int64_t now_ms, const char *kind,
                                  const struct player *p, struct json_object *extra)
{
    struct json_object *d = extra ? extra : json_object_new_object();
    json_object_object_add(d, "kind", json_object_new_string(kind));
    if (p) {
        json_object_object_add(d, "player_id", json_object_new_string(p->id));
        json_object_object_add(d, "name", json_object_new_string(p->name));
    }
    return render_public(seq, PROTO_S_NOTIFICATION, now_ms, d);
}

struct event *render_seat_update(const struct table *t, uint64_t seq, int64_t now_ms,
                                 const struct player *p, const char *what)
{
    struct json_object *d = render_update_data(t, "seat");
    json_object_object_add(d, "change", json_object_new_string(what));
    json_object_object_add(d, "player", render_player(t, p, NULL));
    json_object_object_add(d, "to_act", render_to_act(t));
    return render_public(seq, PROTO_S_STATE_UPDATE, now_ms, d);
}

struct event *render_turn(const struct table *t, uint64_t seq, int64_t now_ms,
                          const struct player *p)
{
    struct event *ev = event_new(seq, PROTO_S_NOTIFICATION);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && p->bot)
            break;
        struct json_object *d = json_object_new_object();
        json_object_object_add(d, "kind", json_object_new_string(pass ? "your_turn" : "turn"));
        json_object_object_add(d, "player_id", json_object_new_string(p->id));
        json_object_object_add(d, "name", json_object_new_string(p->name));
        json_object_object_add(d, "deadline", json_object_new_int64(t->deadline_ms));
        if (pass)
            event_set_private(ev, p->uid, now_ms, d);
        else
            event_set_public(ev, now_ms, d);
    }
    return ev;
}

struct event *render_chat(uint64_t seq, int64_t now_ms, const struct player *p, const char *text)
{
    struct json_object *d = json_object_new_object();
    json_object_object_add(d, "player_id", p ? json_object_new_string(p->id) : NULL);
    json_object_object_add(d, "name", json_object_new_string(p ? p->name : "spectator"));
    json_object_object_add(d, "spectator", json_object_new_boolean(p == NULL));
    json_object_object_add(d, "text", json_object_new_string(text));
    return render_public(seq, PROTO_S_CHAT, now_ms, d);
}

void render_list_free(struct render_list *l)
{
    for (int i = 0; i < l->n; i++)
        event_unref(l->ev[i]);
    free(l->ev);
    memset(l, 0, sizeof(*l));
}

/* ---- engine events -------------------------------------------------------------------- */

struct render_batch {
    const struct table *t;
    struct render_list *out;
    uint64_t next_seq;
    int64_t now;
    int64_t stack[ENGINE_MAX_SEATS]; /* stacks as of the event being rendered */
    struct json_object *last_data;
    struct json_object *shows;       /* pending "showdown" update */
    struct json_object *mucks;
    struct json_object *awards;      /* pots won, for hand_end */
    bool from_action;
};

/* Appends ev; its seq must be the batch's next. */
static void render_batch_add(struct render_batch *b, struct event *ev)
{
    struct render_list *l = b->out;
    FELT_ASSERT(ev->seq == b->next_seq);
    b->next_seq++;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->ev = xrealloc(l->ev, sizeof(*l->ev) * (size_t)l->cap);
    }
    l->ev[l->n++] = ev;
}

static void render_batch_public(struct render_batch *b, enum proto_stype type,
                                struct json_object *data)
{
    render_batch_add(b, render_public(b->next_seq, type, b->now, data));
}

/* State updates are appended in order; the last one of the batch is held back so that it can
 * carry the final to_act. */
static void render_batch_update(struct render_batch *b, struct json_object *data)
{
    if (b->last_data) {
        struct event *ev = event_new(b->next_seq, PROTO_S_STATE_UPDATE);
        ev->from_action = b->from_action;
        event_set_public(ev, b->now, b->last_data);
        render_batch_add(b, ev);
    }
    b->last_data = data;
}

static void render_batch_animation(struct render_batch *b, struct json_object *data)
{
    /* Animations follow the update they illustrate. */
    render_batch_update(b, NULL);
    render_batch_public(b, PROTO_S_ANIMATION, data);
}

static struct json_object *render_batch_stack(struct render_batch *b, int seat)
{
    struct json_object *s = json_object_new_object();
    if (b->t->seat[seat])
        json_object_object_add(s, b->t->seat[seat]->id, json_object_new_int64(b->stack[seat]));
    return s;
}

static void render_batch_flush_showdown(struct render_batch *b)
{
    if (!b->shows)
        return;
    struct json_object *d = render_update_data(b->t, "showdown");
    struct json_object *shows = b->shows;
    json_object_object_add(d, "shows", json_object_get(shows));
    json_object_object_add(d, "mucks", b->mucks);
    b->shows = b->mucks = NULL;
    render_batch_update(b, d);
    /* Then one reveal animation per hand shown, after the update that makes them public. */
    for (size_t i = 0; i < json_object_array_length(shows); i++) {
        struct json_object *o = json_object_array_get_idx(shows, i), *v;
        struct json_object *a = json_object_new_object();
        json_object_object_add(a, "kind", json_object_new_string("reveal"));
        json_object_object_get_ex(o, "player_id", &v);
        json_object_object_add(a, "player_id", json_object_get(v));
        json_object_object_get_ex(o, "cards", &v);
        json_object_object_add(a, "cards", json_object_get(v));
        render_batch_animation(b, a);
    }
    json_object_put(shows);
}

static void render_batch_hand_start(struct render_batch *b, const struct engine_events *evs)
{
    const struct table *t = b->t;
    struct event *ev = event_new(b->next_seq, PROTO_S_STATE_UPDATE);
    struct json_object *posts = json_object_new_array();
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
        json_object_object_add(o, "player_id", render_id(t, e->seat));
        json_object_object_add(o, "kind", json_object_new_string(
            e->kind == ENGINE_EV_ANTE ? "ante" : e->blind_big ? "big_blind" : "small_blind"));
        json_object_object_add(o, "amount", json_object_new_int64(e->amount));
        json_object_array_add(posts, o);
    }

    /* One public rendering without hole cards, one private per dealt player with theirs. */
    for (int pass = -1; pass < t->cfg.seats; pass++) {
        const struct player *viewer = pass >= 0 ? t->seat[pass] : NULL;
        if (pass >= 0 && (!viewer || !viewer->in_hand || viewer->bot))
            continue;
        struct json_object *d = render_update_data(t, "hand_start");
        struct json_object *players = json_object_new_array();
        json_object_object_add(d, "button", json_object_new_int(t->button));
        json_object_object_add(d, "small_blind_seat", json_object_new_int(t->eng.sb_seat));
        json_object_object_add(d, "big_blind_seat", json_object_new_int(t->eng.bb_seat));
        json_object_object_add(d, "posts", json_object_get(posts));
        for (int s = 0; s < t->cfg.seats; s++) {
            if (!t->seat[s])
                continue;
            /* Chips behind after the posts (p->stack is updated only after the batch). */
            struct json_object *pj = render_player(t, t->seat[s], viewer);
            json_object_object_add(pj, "stack", json_object_new_int64(b->stack[s]));
            json_object_array_add(players, pj);
        }
        json_object_object_add(d, "players", players);
        json_object_object_add(d, "pots", render_pots(t));
        if (hand_start_is_last)
            json_object_object_add(d, "to_act", render_to_act(t));
        if (viewer)
            event_set_private(ev, viewer->uid, b->now, d);
        else
            event_set_public(ev, b->now, d);
    }
    json_object_put(posts);
    render_batch_add(b, ev);

    struct json_object *a = json_object_new_object();
    struct json_object *seats = json_object_new_array();
    json_object_object_add(a, "kind", json_object_new_string("deal"));
    for (int s = 0; s < t->cfg.seats; s++)
        if (t->seat[s] && t->seat[s]->in_hand)
            json_object_array_add(seats, json_object_new_string(t->seat[s]->id));
    json_object_object_add(a, "players", seats);
    render_batch_public(b, PROTO_S_ANIMATION, a);
}

static void render_batch_event(struct render_batch *b, const struct engine_event *e)
{
    const struct table *t = b->t;
    struct json_object *d, *a;

    if (e->kind != ENGINE_EV_SHOW && e->kind != ENGINE_EV_MUCK)
        render_batch_flush_showdown(b);

    switch (e->kind) {
    case ENGINE_EV_ANTE:
    case ENGINE_EV_BLIND:
    case ENGINE_EV_DEAL_HOLE:
        break; /* rendered together by render_batch_hand_start */
    case ENGINE_EV_ACTION:
        b->stack[e->seat] -= e->amount;
        d = render_update_data(t, "action");
        json_object_object_add(d, "player_id", render_id(t, e->seat));
        json_object_object_add(d, "seat", json_object_new_int(e->seat));
        json_object_object_add(d, "action", json_object_new_string(engine_action_name(e->action)));
        json_object_object_add(d, "amount", json_object_new_int64(e->amount));
        json_object_object_add(d, "to", json_object_new_int64(e->to));
        json_object_object_add(d, "all_in", json_object_new_boolean(e->all_in));
        json_object_object_add(d, "stacks", render_batch_stack(b, e->seat));
        json_object_object_add(d, "pots", render_pots(t));
        if (e->amount > 0) {
            a = json_object_new_object();
            json_object_object_add(a, "kind", json_object_new_string("chips_to_pot"));
            json_object_object_add(a, "player_id", render_id(t, e->seat));
            json_object_object_add(a, "amount", json_object_new_int64(e->amount));
            render_batch_animation(b, a);
        }
        render_batch_update(b, d);
        break;
    case ENGINE_EV_STREET:
        d = render_update_data(t, "street");
        json_object_object_add(d, "street", json_object_new_string(engine_street_name(e->street)));
        json_object_object_add(d, "cards", render_cards(e->cards, e->ncards));
        json_object_object_add(d, "pots", render_pots(t));
        a = json_object_new_object();
        json_object_object_add(a, "kind", json_object_new_string("deal_board"));
        json_object_object_add(a, "street", json_object_new_string(engine_street_name(e->street)));
        json_object_object_add(a, "cards", render_cards(e->cards, e->ncards));
        render_batch_animation(b, a);
        render_batch_update(b, d);
        break;
    case ENGINE_EV_UNCALLED:
        b->stack[e->seat] += e->amount;
        d = render_update_data(t, "uncalled");
        json_object_object_add(d, "player_id", render_id(t, e->seat));
        json_object_object_add(d, "amount", json_object_new_int64(e->amount));
        json_object_object_add(d, "stacks", render_batch_stack(b, e->seat));
        render_batch_update(b, d);
        break;
    case ENGINE_EV_SHOW: {
        if (!b->shows) {
            b->shows = json_object_new_array();
            b->mucks = json_object_new_array();
        }
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "player_id", render_id(t, e->seat));
        json_object_object_add(o, "cards", render_cards(e->cards, 2));
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
        json_object_array_add(b->mucks, render_id(t, e->seat));
        break;
    case ENGINE_EV_POT: {
        struct json_object *winners = json_object_new_array();
        for (int s = 0; s < t->cfg.seats; s++) {
            if (!((e->winners >> s) & 1))
                continue;
            b->stack[s] += e->share[s];
            struct json_object *w = json_object_new_object();
            json_object_object_add(w, "player_id", render_id(t, s));
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
        render_batch_animation(b, pot);
        break;
    }
    case ENGINE_EV_HAND_END: {
        d = render_update_data(t, "hand_end");
        struct json_object *stacks = json_object_new_object();
        for (int s = 0; s < t->cfg.seats; s++)
            if (t->seat[s] && t->seat[s]->in_hand)
                json_object_object_add(stacks, t->seat[s]->id, json_object_new_int64(b->stack[s]));
        json_object_object_add(d, "pots", b->awards ? b->awards : json_object_new_array());
        json_object_object_add(d, "stacks", stacks);
        struct json_object *won = json_object_new_object();
        json_object_object_add(won, "pots", json_object_get(b->awards));
        b->awards = NULL;
        render_batch_update(b, d);
        render_batch_update(b, NULL);
        render_batch_add(b, render_notification(b->next_seq, b->now, "hand_won", NULL, won));
        break;
    }
    }
}

void render_engine_events(const struct table *t, const struct engine_events *evs,
                          bool from_action, int64_t now_ms, struct render_list *out)
{
    struct render_batch b = {.t = t, .out = out, .next_seq = t->seq + 1, .now = now_ms,
                             .from_action = from_action};
    bool start = false;
    for (int s = 0; s < ENGINE_MAX_SEATS; s++)
        b.stack[s] = t->seat[s] ? t->seat[s]->stack : 0;
    for (int i = 0; i < evs->n; i++)
        if (evs->ev[i].kind == ENGINE_EV_DEAL_HOLE)
            start = true;
    if (start)
        render_batch_hand_start(&b, evs);
    for (int i = 0; i < evs->n; i++)
        render_batch_event(&b, &evs->ev[i]);
    render_batch_flush_showdown(&b);
    json_object_put(b.awards); /* only non-NULL if the engine reported pots without an end */
    if (b.last_data) {
        struct event *ev = event_new(b.next_seq, PROTO_S_STATE_UPDATE);
        ev->from_action = from_action;
        if (!engine_over(&t->eng))
            json_object_object_add(b.last_data, "to_act", render_to_act(t));
        event_set_public(ev, b.now, b.last_data);
        render_batch_add(&b, ev);
    }
}

/* ---- snapshot and lobby ---------------------------------------------------------------- */

struct msg *render_snapshot(const struct table *t, const struct player *viewer, int64_t now_ms)
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
    json_object_object_add(d, "board", render_cards(t->eng.board,
                                                    t->hand_running ? t->eng.board_dealt : 0));
    json_object_object_add(d, "pots", render_pots(t));
    for (int s = 0; s < t->cfg.seats; s++)
        if (t->seat[s])
            json_object_array_add(players, render_player(t, t->seat[s], viewer));
    json_object_object_add(d, "players", players);
    json_object_object_add(d, "to_act", render_to_act(t));
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
    char *s = proto_encode_server(PROTO_S_SNAPSHOT, t->seq, now_ms, d, &len);
    return msg_from_string(s, len);
}

struct json_object *render_lobby(const struct table *t)
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
