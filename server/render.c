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
 *
 * Equity (render_equity) is computed from the tabled hands alone, the hands shown face up to
 * everyone (in t->shown, or shown earlier in the batch being rendered), and the board as it
 * stands in the update that carries it: it is public like them, and rendered once for everyone.
 * The numbers come from equity_job.c (its cache, or counted on the spot when cheap).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "equity_job.h"
#include "eval.h"
#include "handrec.h"
#include "server.h"
#include "wire.h"

static void render_id(const struct table *t, int seat, char out[WIRE_ID_MAX + 1])
{
    const char *id = seat >= 0 && seat < ENGINE_MAX_SEATS && t->seat[seat] ? t->seat[seat]->id : "";
    snprintf(out, WIRE_ID_MAX + 1, "%s", id);
}

static enum wire_status render_player_status(const struct table *t, const struct player *p)
{
    if (t->hand_running && p->in_hand) {
        const struct engine_player *ep = &t->eng.p[p->seat];
        if (ep->folded)
            return WIRE_FOLDED;
        if (ep->all_in)
            return WIRE_ALL_IN;
        return WIRE_ACTIVE;
    }
    if (p->sitting_out)
        return WIRE_SITTING_OUT;
    return WIRE_WAITING;
}

/* The pots with the players eligible for each; none between hands. Returns how many. */
static int render_pots(const struct table *t, struct wire_pot *out)
{
    struct engine_pot pots[ENGINE_MAX_POTS];
    if (!t->hand_running)
        return 0;
    int n = engine_pots(&t->eng, pots);
    for (int i = 0; i < n; i++) {
        out[i].amount = pots[i].amount;
        out[i].neligible = 0;
        for (int s = 0; s < t->cfg.seats; s++)
            if ((pots[i].eligible >> s) & 1 && t->seat[s])
                render_id(t, s, out[i].eligible[out[i].neligible++]);
    }
    return n;
}

/* The player to act with their legal options: the shape of `felt replay`'s to_act plus
 * player_id, seat and deadline; not present (JSON null) when nobody is to act. */
static void render_to_act(const struct table *t, struct wire_to_act *ta)
{
    struct engine_options o;
    memset(ta, 0, sizeof(*ta));
    ta->seat = -1;
    if (!t->hand_running)
        return;
    engine_options(&t->eng, &o);
    if (o.seat < 0 || !t->seat[o.seat])
        return;
    handrec_to_act_fill(&o, t->seat[o.seat]->name, ta);
    ta->has_player = true;
    render_id(t, o.seat, ta->player_id);
    ta->seat = o.seat;
    ta->decision = table_decision(t);
    /* While a batch announces a new turn, its clock has not started yet: give the deadline
     * it will have, so to_act and the turn notification agree. */
    ta->has_deadline = true;
    ta->deadline = t->next_deadline_ms ? t->next_deadline_ms : t->deadline_ms;
}

/* The equity of the tabled seats (a mask) with board[0..nboard) into w; nothing when fewer than
 * two or more than EQUITY_MAX_HANDS are tabled, or when the count is not at hand (a hand dealt
 * with everyone all-in: see equity_job.h). */
static void render_equity(const struct table *t, uint16_t tabled, const card_t *board, int nboard,
                          struct wire_event *w)
{
    card_t hands[EQUITY_MAX_HANDS][2];
    int seats[EQUITY_MAX_HANDS], n = 0;
    struct equity_result r;
    w->nequity = 0;
    for (int s = 0; s < t->eng.nseats; s++) {
        if (!(tabled >> s & 1) || t->eng.p[s].folded)
            continue;
        if (n == EQUITY_MAX_HANDS)
            return;
        memcpy(hands[n], t->eng.p[s].hole, 2);
        seats[n++] = s;
    }
    if (n < 2 || !equity_job_result(t, (const card_t(*)[2])hands, n, board, nboard, &r) ||
        r.boards == 0)
        return;
    for (int i = 0; i < n; i++) {
        struct wire_equity *e = &w->equity[w->nequity++];
        render_id(t, seats[i], e->player_id);
        e->win = (double)r.wins[i] / (double)r.boards;
        e->tie = (double)r.ties[i] / (double)r.boards;
    }
}

/* p as viewer may see it: cards only for their owner, or once shown. */
static void render_player(const struct table *t, const struct player *p,
                          const struct player *viewer, struct wire_player *out)
{
    bool dealt = t->hand_running && p->in_hand;
    memset(out, 0, sizeof(*out));
    render_id(t, p->seat, out->id);
    snprintf(out->name, sizeof(out->name), "%s", p->name);
    out->seat = p->seat;
    out->stack = p->stack;
    out->bet = dealt ? t->eng.p[p->seat].bet : 0;
    out->status = render_player_status(t, p);
    out->connected = p->bot || p->sub != NULL || p->polling;
    out->bot = p->bot;
    if (dealt && !t->eng.p[p->seat].folded && (p == viewer || t->shown[p->seat])) {
        out->ncards = 2;
        memcpy(out->cards, t->eng.p[p->seat].hole, sizeof(out->cards));
    }
}

/* Starts a state_update of kind: its hand_id set, to_act null. to_act is only filled by the
 * caller for the last update of a batch (earlier ones describe a moment when nobody was to act
 * yet). */
static struct wire_event *render_update(const struct table *t, enum wire_kind kind)
{
    struct wire_event *ev = xmalloc(sizeof(*ev));
    wire_init(ev, kind);
    ev->hand_id = t->hand_id;
    return ev;
}

static struct event *render_public(uint64_t seq, int64_t now_ms, const struct wire_event *w)
{
    struct event *ev = event_new(seq, wire_stype(w->kind));
    event_set_public(ev, now_ms, w);
    return ev;
}

struct event *render_notification(uint64_t seq, int64_t now_ms, const struct player *p,
                                  const struct wire_notification *n)
{
    struct wire_event *w = xmalloc(sizeof(*w));
    wire_init(w, WIRE_NOTIFICATION);
    w->u.note = *n;
    w->u.note.has_player = p != NULL;
    if (p) {
        snprintf(w->u.note.player_id, sizeof(w->u.note.player_id), "%s", p->id);
        snprintf(w->u.note.player_name, sizeof(w->u.note.player_name), "%s", p->name);
    }
    struct event *ev = render_public(seq, now_ms, w);
    free(w);
    return ev;
}

struct event *render_seat_update(const struct table *t, uint64_t seq, int64_t now_ms,
                                 const struct player *p, enum wire_seat_change what)
{
    struct wire_event *w = render_update(t, WIRE_SEAT);
    w->u.seat.change = what;
    render_player(t, p, NULL, &w->u.seat.player);
    render_to_act(t, &w->to_act);
    struct event *ev = render_public(seq, now_ms, w);
    free(w);
    return ev;
}

struct event *render_turn(const struct table *t, uint64_t seq, int64_t now_ms,
                          const struct player *p)
{
    struct event *ev = event_new(seq, PROTO_S_NOTIFICATION);
    struct wire_event w;
    wire_init(&w, WIRE_NOTIFICATION);
    w.u.note.has_player = true;
    snprintf(w.u.note.player_id, sizeof(w.u.note.player_id), "%s", p->id);
    snprintf(w.u.note.player_name, sizeof(w.u.note.player_name), "%s", p->name);
    w.u.note.deadline = t->deadline_ms;
    w.u.note.kind = WIRE_NOTE_TURN;
    event_set_public(ev, now_ms, &w);
    if (!p->bot) {
        w.u.note.kind = WIRE_NOTE_YOUR_TURN;
        event_set_private(ev, p->uid, now_ms, &w);
    }
    return ev;
}

struct event *render_chat(uint64_t seq, int64_t now_ms, const struct player *p, const char *text)
{
    struct wire_event w;
    wire_init(&w, WIRE_CHAT);
    w.u.chat.has_player = p != NULL;
    w.u.chat.spectator = p == NULL;
    snprintf(w.u.chat.player_id, sizeof(w.u.chat.player_id), "%s", p ? p->id : "");
    snprintf(w.u.chat.name, sizeof(w.u.chat.name), "%s", p ? p->name : "spectator");
    snprintf(w.u.chat.text, sizeof(w.u.chat.text), "%s", text);
    return render_public(seq, now_ms, &w);
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
    struct wire_event *last;         /* the update held back (see render_batch_update) */
    struct wire_event *showdown;     /* pending "showdown" update */
    struct wire_event *hand_end;     /* pots won so far, for hand_end */
    bool from_action;
    uint16_t tabled; /* seats whose hands are face up as of the event being rendered */
    int nboard;      /* board cards dealt as of the event being rendered */
};

void render_list_push(struct render_list *l, struct event *ev)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->ev = xrealloc(l->ev, sizeof(*l->ev) * (size_t)l->cap);
    }
    l->ev[l->n++] = ev;
}

/* Appends ev; its seq must be the batch's next. */
static void render_batch_add(struct render_batch *b, struct event *ev)
{
    FELT_ASSERT(ev->seq == b->next_seq);
    b->next_seq++;
    render_list_push(b->out, ev);
}

static void render_batch_public(struct render_batch *b, const struct wire_event *w)
{
    render_batch_add(b, render_public(b->next_seq, b->now, w));
}

/* State updates are appended in order; the last one of the batch is held back so that it can
 * carry the final to_act. Takes w (NULL: just flush the one held). */
static void render_batch_update(struct render_batch *b, struct wire_event *w)
{
    if (b->last) {
        struct event *ev = event_new(b->next_seq, PROTO_S_STATE_UPDATE);
        ev->from_action = b->from_action;
        event_set_public(ev, b->now, b->last);
        render_batch_add(b, ev);
        free(b->last);
    }
    b->last = w;
}

static void render_batch_animation(struct render_batch *b, const struct wire_event *w)
{
    /* Animations follow the update they illustrate. */
    render_batch_update(b, NULL);
    render_batch_public(b, w);
}

static void render_batch_stack(struct render_batch *b, int seat, struct wire_stacks *st)
{
    st->n = 0;
    if (b->t->seat[seat]) {
        render_id(b->t, seat, st->s[0].player_id);
        st->s[0].amount = b->stack[seat];
        st->n = 1;
    }
}

static void render_batch_flush_showdown(struct render_batch *b)
{
    struct wire_event *sd = b->showdown;
    if (!sd)
        return;
    b->showdown = NULL;
    struct wire_showdown shows = sd->u.showdown;
    render_equity(b->t, b->tabled, b->t->eng.board, b->nboard, sd);
    render_batch_update(b, sd);
    /* Then one reveal animation per hand shown, after the update that makes them public. */
    for (int i = 0; i < shows.nshows; i++) {
        struct wire_event a;
        wire_init(&a, WIRE_ANIMATION);
        a.u.animation.kind = WIRE_ANIM_REVEAL;
        memcpy(a.u.animation.player_id, shows.shows[i].player_id, WIRE_ID_MAX + 1);
        a.u.animation.ncards = 2;
        memcpy(a.u.animation.cards, shows.shows[i].cards, 2);
        render_batch_animation(b, &a);
    }
}

static void render_batch_hand_start(struct render_batch *b, const struct engine_events *evs)
{
    const struct table *t = b->t;
    struct event *ev = event_new(b->next_seq, PROTO_S_STATE_UPDATE);
    struct wire_event *w = render_update(t, WIRE_HAND_START);
    struct wire_hand_start *hs = &w->u.hand_start;
    /* hand_start carries to_act unless later updates of this batch (an all-in run-out) do. */
    bool hand_start_is_last = !engine_over(&t->eng);

    for (int i = 0; i < evs->n; i++) {
        const struct engine_event *e = &evs->ev[i];
        if (e->kind != ENGINE_EV_ANTE && e->kind != ENGINE_EV_BLIND &&
            e->kind != ENGINE_EV_DEAL_HOLE)
            hand_start_is_last = false;
        if ((e->kind != ENGINE_EV_ANTE && e->kind != ENGINE_EV_BLIND) ||
            hs->nposts == (int)FELT_ARRAY_LEN(hs->posts))
            continue;
        b->stack[e->seat] -= e->amount;
        render_id(t, e->seat, hs->posts[hs->nposts].player_id);
        hs->posts[hs->nposts].kind = e->kind == ENGINE_EV_ANTE ? WIRE_POST_ANTE
                                     : e->blind_big             ? WIRE_POST_BIG_BLIND
                                                                : WIRE_POST_SMALL_BLIND;
        hs->posts[hs->nposts++].amount = e->amount;
    }
    hs->button = t->button;
    hs->small_blind_seat = t->eng.sb_seat;
    hs->big_blind_seat = t->eng.bb_seat;
    hs->npots = render_pots(t, hs->pots);
    if (hand_start_is_last)
        render_to_act(t, &w->to_act);

    /* One public rendering without hole cards, one private per dealt player with theirs. */
    for (int pass = -1; pass < t->cfg.seats; pass++) {
        const struct player *viewer = pass >= 0 ? t->seat[pass] : NULL;
        if (pass >= 0 && (!viewer || !viewer->in_hand || viewer->bot))
            continue;
        hs->nplayers = 0;
        for (int s = 0; s < t->cfg.seats; s++) {
            if (!t->seat[s])
                continue;
            /* Chips behind after the posts (p->stack is updated only after the batch). */
            struct wire_player *wp = &hs->players[hs->nplayers++];
            render_player(t, t->seat[s], viewer, wp);
            wp->stack = b->stack[s];
        }
        if (viewer)
            event_set_private(ev, viewer->uid, b->now, w);
        else
            event_set_public(ev, b->now, w);
    }
    render_batch_add(b, ev);

    wire_init(w, WIRE_ANIMATION);
    w->u.animation.kind = WIRE_ANIM_DEAL;
    for (int s = 0; s < t->cfg.seats; s++)
        if (t->seat[s] && t->seat[s]->in_hand)
            render_id(t, s, w->u.animation.players[w->u.animation.nplayers++]);
    render_batch_public(b, w);
    free(w);
}

static void render_batch_action(struct render_batch *b, const struct engine_event *e)
{
    struct wire_event *w = render_update(b->t, WIRE_ACTION);
    struct wire_action *a = &w->u.action;
    b->stack[e->seat] -= e->amount;
    render_id(b->t, e->seat, a->player_id);
    a->seat = e->seat;
    a->action = e->action;
    a->amount = e->amount;
    a->to = e->to;
    a->all_in = e->all_in;
    render_batch_stack(b, e->seat, &a->stacks);
    a->npots = render_pots(b->t, a->pots);
    if (e->amount > 0) {
        struct wire_event an;
        wire_init(&an, WIRE_ANIMATION);
        an.u.animation.kind = WIRE_ANIM_CHIPS_TO_POT;
        memcpy(an.u.animation.player_id, a->player_id, WIRE_ID_MAX + 1);
        an.u.animation.amount = e->amount;
        render_batch_animation(b, &an);
    }
    render_batch_update(b, w);
}

static void render_batch_street(struct render_batch *b, const struct engine_event *e)
{
    struct wire_event *w = render_update(b->t, WIRE_STREET);
    struct wire_event an;
    int n = e->ncards < 5 ? e->ncards : 5;
    w->u.street.street = e->street;
    w->u.street.ncards = n;
    memcpy(w->u.street.cards, e->cards, (size_t)n);
    w->u.street.npots = render_pots(b->t, w->u.street.pots);
    b->nboard += n;
    render_equity(b->t, b->tabled, b->t->eng.board, b->nboard, w);
    wire_init(&an, WIRE_ANIMATION);
    an.u.animation.kind = WIRE_ANIM_DEAL_BOARD;
    an.u.animation.street = e->street;
    an.u.animation.ncards = n;
    memcpy(an.u.animation.cards, e->cards, (size_t)n);
    render_batch_animation(b, &an);
    render_batch_update(b, w);
}

static void render_batch_uncalled(struct render_batch *b, const struct engine_event *e)
{
    struct wire_event *w = render_update(b->t, WIRE_UNCALLED);
    b->stack[e->seat] += e->amount;
    render_id(b->t, e->seat, w->u.uncalled.player_id);
    w->u.uncalled.amount = e->amount;
    render_batch_stack(b, e->seat, &w->u.uncalled.stacks);
    render_batch_update(b, w);
}

/* A hand shown or mucked: gathered into one showdown update, flushed by the next other event. */
static void render_batch_show(struct render_batch *b, const struct engine_event *e)
{
    if (!b->showdown)
        b->showdown = render_update(b->t, WIRE_SHOWDOWN);
    struct wire_showdown *sd = &b->showdown->u.showdown;
    if (e->kind == ENGINE_EV_MUCK) {
        if (sd->nmucks < ENGINE_MAX_SEATS)
            render_id(b->t, e->seat, sd->mucks[sd->nmucks++]);
        return;
    }
    if (sd->nshows == ENGINE_MAX_SEATS)
        return;
    b->tabled |= (uint16_t)(1u << e->seat);
    render_id(b->t, e->seat, sd->shows[sd->nshows].player_id);
    memcpy(sd->shows[sd->nshows].cards, e->cards, 2);
    snprintf(sd->shows[sd->nshows].hand, sizeof(sd->shows[0].hand), "%s",
             e->rank ? eval_category_name(eval_category(e->rank)) : "");
    sd->nshows++;
}

static void render_batch_pot(struct render_batch *b, const struct engine_event *e)
{
    if (!b->hand_end)
        b->hand_end = render_update(b->t, WIRE_HAND_END);
    struct wire_hand_end *he = &b->hand_end->u.hand_end;
    struct wire_event an;
    wire_init(&an, WIRE_ANIMATION);
    an.u.animation.kind = WIRE_ANIM_AWARD;
    struct wire_award *aw = &an.u.animation.award;
    aw->pot = e->pot;
    aw->amount = e->amount;
    for (int s = 0; s < b->t->cfg.seats; s++) {
        if (!((e->winners >> s) & 1))
            continue;
        b->stack[s] += e->share[s];
        render_id(b->t, s, aw->winners[aw->nwinners].player_id);
        aw->winners[aw->nwinners++].amount = e->share[s];
    }
    if (he->nawards < ENGINE_MAX_POTS)
        he->awards[he->nawards++] = *aw;
    render_batch_animation(b, &an);
}

static void render_batch_hand_end(struct render_batch *b)
{
    const struct table *t = b->t;
    struct wire_event *w = b->hand_end ? b->hand_end : render_update(t, WIRE_HAND_END);
    struct wire_hand_end *he = &w->u.hand_end;
    struct wire_notification won = {.kind = WIRE_NOTE_HAND_WON};
    b->hand_end = NULL;
    w->hand_id = t->hand_id;
    he->stacks.n = 0;
    for (int s = 0; s < t->cfg.seats; s++)
        if (t->seat[s] && t->seat[s]->in_hand) {
            render_id(t, s, he->stacks.s[he->stacks.n].player_id);
            he->stacks.s[he->stacks.n++].amount = b->stack[s];
        }
    won.nawards = he->nawards;
    memcpy(won.awards, he->awards, sizeof(won.awards));
    render_batch_update(b, w);
    render_batch_update(b, NULL);
    render_batch_add(b, render_notification(b->next_seq, b->now, NULL, &won));
}

static void render_batch_event(struct render_batch *b, const struct engine_event *e)
{
    if (e->kind != ENGINE_EV_SHOW && e->kind != ENGINE_EV_MUCK)
        render_batch_flush_showdown(b);

    switch (e->kind) {
    case ENGINE_EV_ANTE:
    case ENGINE_EV_BLIND:
    case ENGINE_EV_DEAL_HOLE:
        break; /* rendered together by render_batch_hand_start */
    case ENGINE_EV_ACTION:
        render_batch_action(b, e);
        break;
    case ENGINE_EV_STREET:
        render_batch_street(b, e);
        break;
    case ENGINE_EV_UNCALLED:
        render_batch_uncalled(b, e);
        break;
    case ENGINE_EV_SHOW:
    case ENGINE_EV_MUCK:
        render_batch_show(b, e);
        break;
    case ENGINE_EV_POT:
        render_batch_pot(b, e);
        break;
    case ENGINE_EV_HAND_END:
        render_batch_hand_end(b);
        break;
    }
}

void render_engine_events(const struct table *t, const struct engine_events *evs,
                          bool from_action, int64_t now_ms, struct render_list *out)
{
    struct render_batch b = {.t = t, .out = out, .next_seq = t->seq + 1, .now = now_ms,
                             .from_action = from_action};
    bool start = false;
    for (int s = 0; s < ENGINE_MAX_SEATS; s++) {
        b.stack[s] = t->seat[s] ? t->seat[s]->stack : 0;
        if (t->shown[s])
            b.tabled |= (uint16_t)(1u << s);
    }
    /* The board as the batch found it: the engine's, less the streets this batch deals. */
    b.nboard = t->eng.board_dealt;
    for (int i = 0; i < evs->n; i++) {
        if (evs->ev[i].kind == ENGINE_EV_DEAL_HOLE)
            start = true;
        if (evs->ev[i].kind == ENGINE_EV_STREET)
            b.nboard -= evs->ev[i].ncards < 5 ? evs->ev[i].ncards : 5;
    }

    if (start)
        render_batch_hand_start(&b, evs);
    for (int i = 0; i < evs->n; i++)
        render_batch_event(&b, &evs->ev[i]);
    render_batch_flush_showdown(&b);
    free(b.hand_end); /* only non-NULL if the engine reported pots without an end */
    if (b.last) {
        struct event *ev = event_new(b.next_seq, PROTO_S_STATE_UPDATE);
        ev->from_action = from_action;
        if (!engine_over(&t->eng))
            render_to_act(t, &b.last->to_act);
        event_set_public(ev, b.now, b.last);
        render_batch_add(&b, ev);
        free(b.last);
    }
}

/* ---- snapshot and lobby ---------------------------------------------------------------- */

struct msg *render_snapshot(const struct table *t, const struct player *viewer, int64_t now_ms)
{
    struct wire_event *w = xmalloc(sizeof(*w));
    struct wire_snapshot *s = &w->u.snapshot;

    wire_init(w, WIRE_SNAPSHOT);
    snprintf(s->epoch, sizeof(s->epoch), "%s", t->srv->epoch);
    snprintf(s->table.id, sizeof(s->table.id), "%s", t->cfg.id);
    s->table.seats = t->cfg.seats;
    s->table.small_blind = t->cfg.small_blind;
    s->table.big_blind = t->cfg.big_blind;
    s->table.ante = t->cfg.ante;
    s->table.buy_in = t->cfg.buy_in;
    s->table.action_timeout_ms = t->cfg.action_timeout_ms;
    s->table.spectator_chat = t->cfg.spectator_chat;
    w->hand_id = t->hand_id;
    s->hand_running = t->hand_running;
    s->button = t->button >= 0 ? t->button : -1;
    s->street = t->hand_running ? (int)t->eng.street : -1;
    s->nboard = t->hand_running ? t->eng.board_dealt : 0;
    memcpy(s->board, t->eng.board, (size_t)s->nboard);
    s->npots = render_pots(t, s->pots);
    for (int i = 0; i < t->cfg.seats; i++)
        if (t->seat[i])
            render_player(t, t->seat[i], viewer, &s->players[s->nplayers++]);
    render_to_act(t, &w->to_act);
    if (t->hand_running) {
        uint16_t tabled = 0;
        for (int i = 0; i < t->cfg.seats; i++)
            if (t->shown[i])
                tabled |= (uint16_t)(1u << i);
        render_equity(t, tabled, t->eng.board, t->eng.board_dealt, w);
    }
    s->has_you = viewer != NULL;
    if (viewer) {
        snprintf(s->you.player_id, sizeof(s->you.player_id), "%s", viewer->id);
        snprintf(s->you.name, sizeof(s->you.name), "%s", viewer->name);
        s->you.seat = viewer->seat;
        s->you.sitting_out = viewer->sitting_out;
    }
    s->spectators = table_spectators(t);
    s->nvoided = t->nvoided;
    memcpy(s->voided, t->voided, sizeof(s->voided));
    struct msg *m = msg_from_wire(w, t->seq, now_ms);
    free(w);
    return m;
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
    json_object_object_add(j, "spectators", json_object_new_int(table_spectators(t)));
    json_object_object_add(j, "hand_id", json_object_new_int64(t->hand_id));
    return j;
}

/* A stored hand as GET /api/games/{id}/hands serves it: the record with its status and times,
 * and only the hole cards this viewer may see: those shown at showdown, and the viewer's own
 * (viewer: the requesting player, or NULL for a spectator or a stranger). The viewer's seat in
 * the hand comes from the hand's players (by id); a voided hand has none stored, so there it is
 * the seat that still holds the viewer's name. malloc'd JSON, or NULL when the stored record
 * cannot be read (err says why). */
char *render_hand(const struct store_hand_row *row, const struct player *viewer,
                  struct felt_err *err)
{
    struct handrec h;
    uint16_t reveal = row->shown_mask;
    if (handrec_parse(row->record_json, strlen(row->record_json), &h, err) != 0)
        return NULL;
    snprintf(h.status, sizeof(h.status), "%s", row->state);
    handrec_format_time(row->started_ms, h.started_at);
    if (row->ended_ms > 0)
        handrec_format_time(row->ended_ms, h.ended_at);
    for (int i = 0; viewer && i < row->nplayers; i++)
        if (strcmp(row->players[i].player_id, viewer->id) == 0)
            reveal |= (uint16_t)(1u << row->players[i].seat);
    for (int i = 0; viewer && row->nplayers == 0 && i < h.nseats; i++)
        if (h.seat[i].seat == viewer->seat && strcmp(h.seat[i].name, viewer->name) == 0)
            reveal |= (uint16_t)(1u << viewer->seat);
    char *json = handrec_to_json(&h, reveal);
    handrec_free(&h);
    return json;
}

