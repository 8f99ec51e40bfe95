/*
 * engine.c: the No-Limit Texas Hold'em rules engine (see engine.h for the contract and
 * docs/engine.md for the rules and where they come from).
 *
 * The state is struct engine and nothing else: no globals, no allocation, no I/O. Every change
 * goes through engine_start() or engine_act(), which append events describing it. The betting
 * round closes when nobody needs to act; the hand then moves to the next street, runs the board
 * out (everyone but at most one all-in), or ends (one player left, or the river closed).
 *
 * Re-opening after incomplete all-in raises is decided per player: a player who has acted in this
 * round may raise again only when the bet they now face exceeds what they last matched by at
 * least a full raise (engine->last_raise). One incomplete all-in cannot do that; several in a row
 * can, which is WSOP rule 96/96a. A full raise clears everyone's `acted` flag.
 */
#include "engine.h"

#include <string.h>

#include "eval.h"
#include "util.h"

static struct engine_event *ev_push(struct engine_events *out, enum engine_event_kind kind)
{
    FELT_ASSERT(out->n < ENGINE_MAX_EVENTS);
    struct engine_event *ev = &out->ev[out->n++];
    memset(ev, 0, sizeof(*ev));
    ev->kind = kind;
    ev->seat = -1;
    ev->pot = -1;
    return ev;
}

/* A call must start with room for everything it may append (engine.h: ENGINE_EVENTS_PER_CALL). */
static void ev_check_room(const struct engine_events *out)
{
    if (out->n < 0 || out->n > ENGINE_MAX_EVENTS - ENGINE_EVENTS_PER_CALL)
        felt_fatal("engine: events buffer holds %d events; reset it before each call", out->n);
}

static int seat_after(const struct engine *e, int seat)
{
    return (seat + 1) % e->nseats;
}

static bool in_hand(const struct engine_player *p)
{
    return p->dealt && !p->folded;
}

static bool can_act(const struct engine_player *p)
{
    return in_hand(p) && !p->all_in;
}

static int count_in_hand(const struct engine *e)
{
    int n = 0;
    for (int i = 0; i < e->nseats; i++)
        n += in_hand(&e->p[i]);
    return n;
}

static int count_can_act(const struct engine *e)
{
    int n = 0;
    for (int i = 0; i < e->nseats; i++)
        n += can_act(&e->p[i]);
    return n;
}

/* The first dealt seat strictly after `seat`, clockwise (seat itself if it is the only one). */
static int next_dealt(const struct engine *e, int seat)
{
    int s = seat;
    for (int i = 0; i < e->nseats; i++) {
        s = seat_after(e, s);
        if (e->p[s].dealt) return s;
    }
    felt_fatal("engine: no dealt seat");
}

/* Moves chips from a seat's stack into its round bet (amount <= stack). */
static void put_chips(struct engine_player *p, int64_t amount)
{
    FELT_ASSERT(amount >= 0 && amount <= p->stack);
    p->stack -= amount;
    p->bet += amount;
    p->committed += amount;
    p->all_in = p->stack == 0;
}

/* A seat needs to act when it can act and either faces a bet, or has not acted since betting was
 * (re)opened while someone else could still act too (otherwise its "option" would be pointless). */
static bool needs_action(const struct engine *e, int seat, int actors)
{
    const struct engine_player *p = &e->p[seat];
    if (!can_act(p)) return false;
    return p->bet < e->bet_to || (!p->acted && actors >= 2);
}

static int find_actor(const struct engine *e, int start)
{
    int actors = count_can_act(e);
    for (int i = 0; i < e->nseats; i++) {
        int s = (start + i) % e->nseats;
        if (needs_action(e, s, actors)) return s;
    }
    return -1;
}

/* True if some other player still in the hand could put in more than the current bet, i.e. a
 * raise by `seat` would not be pointless. */
static bool raise_has_caller(const struct engine *e, int seat)
{
    for (int i = 0; i < e->nseats; i++) {
        const struct engine_player *p = &e->p[i];
        if (i != seat && in_hand(p) && p->bet + p->stack > e->bet_to) return true;
    }
    return false;
}

void engine_options(const struct engine *e, struct engine_options *o)
{
    memset(o, 0, sizeof(*o));
    o->seat = -1;
    if (e->over || e->to_act < 0) return;
    const struct engine_player *p = &e->p[e->to_act];
    int64_t need = e->bet_to - p->bet;
    o->seat = e->to_act;
    o->call = need < p->stack ? need : p->stack;
    o->can_check = need <= 0;
    bool reopened = !p->acted || need >= e->last_raise;
    o->can_raise = p->stack > need && reopened && raise_has_caller(e, e->to_act);
    if (o->can_raise) {
        int64_t all_in = p->bet + p->stack;
        int64_t full = e->bet_to + e->last_raise;
        o->max_raise_to = all_in;
        o->min_raise_to = full < all_in ? full : all_in;
    }
}

/* Builds pots from the players' total contributions. Pots split only at the totals of all-in
 * players still in the hand: each all-in total caps a pot, and one last pot takes everything
 * above the highest of them. A pot holds every seat's chips (folded seats' included) between the
 * previous cap and its own; it can be won by the players still in the hand who are not all-in,
 * and by the all-in players whose total reaches its cap. Pots whose eligible sets are equal are
 * merged (a pot nobody could win, which cannot happen, would join the one before). At the end
 * of a hand, once uncalled bets are returned, the players not all-in have all put in the same
 * total, so this is exactly the usual main pot and side pots; during a hand it keeps the bets
 * not yet matched in the pot they are heading for instead of making pots of them. */
static int build_pots(const struct engine *e, struct engine_pot out[ENGINE_MAX_POTS])
{
    int64_t caps[ENGINE_MAX_SEATS + 1];
    int ncaps = 0;
    int64_t top = 0;
    for (int i = 0; i < e->nseats; i++) {
        const struct engine_player *p = &e->p[i];
        if (!p->dealt) continue;
        if (p->committed > top) top = p->committed;
        if (p->folded || !p->all_in || p->committed <= 0) continue;
        int k = ncaps;
        while (k > 0 && caps[k - 1] > p->committed)
            k--;
        if (k > 0 && caps[k - 1] == p->committed) continue;
        memmove(&caps[k + 1], &caps[k], (size_t)(ncaps - k) * sizeof(caps[0]));
        caps[k] = p->committed;
        ncaps++;
    }
    if (ncaps == 0 || caps[ncaps - 1] < top) caps[ncaps++] = top;

    int npots = 0;
    int64_t prev = 0;
    for (int l = 0; l < ncaps; l++) {
        int64_t cap = caps[l], amount = 0;
        uint16_t eligible = 0;
        for (int i = 0; i < e->nseats; i++) {
            const struct engine_player *p = &e->p[i];
            if (!p->dealt) continue;
            int64_t hi = p->committed < cap ? p->committed : cap;
            int64_t lo = p->committed < prev ? p->committed : prev;
            amount += hi - lo;
            if (!p->folded && (!p->all_in || p->committed >= cap)) eligible |= (uint16_t)(1u << i);
        }
        prev = cap;
        if (amount == 0) continue;
        if (npots > 0 && (out[npots - 1].eligible == eligible || eligible == 0)) {
            out[npots - 1].amount += amount;
            continue;
        }
        FELT_ASSERT(npots < ENGINE_MAX_POTS && eligible != 0);
        memset(&out[npots], 0, sizeof(out[npots]));
        out[npots].amount = amount;
        out[npots].eligible = eligible;
        npots++;
    }
    return npots;
}

int engine_pots(const struct engine *e, struct engine_pot out[ENGINE_MAX_POTS])
{
    if (e->over) {
        memcpy(out, e->pots, (size_t)e->npots * sizeof(out[0]));
        return e->npots;
    }
    return build_pots(e, out);
}

int64_t engine_pot_total(const struct engine *e)
{
    int64_t total = 0;
    for (int i = 0; i < e->nseats; i++)
        if (e->p[i].dealt) total += e->p[i].committed;
    return total;
}

/* Returns the part of the highest bet of the round that nobody matched. */
static void return_uncalled(struct engine *e, struct engine_events *out)
{
    int top = -1;
    int64_t second = 0;
    for (int i = 0; i < e->nseats; i++) {
        const struct engine_player *p = &e->p[i];
        if (!p->dealt) continue;
        if (top < 0 || p->bet > e->p[top].bet) {
            if (top >= 0 && e->p[top].bet > second) second = e->p[top].bet;
            top = i;
        } else if (p->bet > second) {
            second = p->bet;
        }
    }
    if (top < 0 || e->p[top].bet <= second) return;
    struct engine_player *p = &e->p[top];
    FELT_ASSERT(!p->folded);
    int64_t back = p->bet - second;
    p->bet -= back;
    p->committed -= back;
    p->stack += back;
    p->all_in = p->stack == 0;
    e->bet_to = second;
    struct engine_event *ev = ev_push(out, ENGINE_EV_UNCALLED);
    ev->seat = top;
    ev->amount = back;
}

/* Rank of a seat's hand with the first nboard board cards; 0 if fewer than five cards or any is
 * unknown. */
static uint16_t hand_rank(const struct engine *e, int seat, int nboard)
{
    card_t c[7];
    c[0] = e->p[seat].hole[0];
    c[1] = e->p[seat].hole[1];
    for (int i = 0; i < nboard; i++)
        c[2 + i] = e->board[i];
    if (2 + nboard < 5) return 0;
    for (int i = 0; i < 2 + nboard; i++)
        if (!card_valid(c[i])) return 0;
    return eval_n(c, 2 + nboard);
}

static void emit_show(struct engine *e, int seat, uint16_t rank, struct engine_events *out)
{
    struct engine_event *ev = ev_push(out, ENGINE_EV_SHOW);
    ev->seat = seat;
    ev->cards[0] = e->p[seat].hole[0];
    ev->cards[1] = e->p[seat].hole[1];
    ev->ncards = 2;
    ev->rank = rank;
    e->shown |= (uint16_t)(1u << seat);
}

static void deal_street(struct engine *e, struct engine_events *out)
{
    int n = e->board_dealt == 0 ? 3 : 1;
    FELT_ASSERT(e->board_dealt + n <= 5);
    struct engine_event *ev = ev_push(out, ENGINE_EV_STREET);
    for (int i = 0; i < n; i++)
        ev->cards[i] = e->board[e->board_dealt + i];
    ev->ncards = n;
    e->board_dealt += n;
    e->street = e->board_dealt == 3   ? ENGINE_FLOP
                : e->board_dealt == 4 ? ENGINE_TURN
                                      : ENGINE_RIVER;
    ev->street = e->street;
}

/* Splits each pot among its best eligible shown hands; the remainder of a split goes whole to the
 * first winner clockwise from the button. rank[] holds the final ranks; seats not in `live`
 * (mucked) cannot win. Then the hand is over. */
static void award(struct engine *e, const uint16_t rank[ENGINE_MAX_SEATS], uint16_t live,
                  struct engine_events *out)
{
    for (int k = 0; k < e->npots; k++) {
        struct engine_pot *pot = &e->pots[k];
        uint16_t contenders = pot->eligible & live;
        FELT_ASSERT(contenders != 0);
        int best = -1;
        for (int i = 0; i < e->nseats; i++)
            if ((contenders >> i & 1) && (best < 0 || rank[i] > best)) best = rank[i];
        int nwin = 0;
        for (int i = 0; i < e->nseats; i++)
            if ((contenders >> i & 1) && rank[i] == best) {
                pot->winners |= (uint16_t)(1u << i);
                nwin++;
            }
        int64_t share = pot->amount / nwin;
        int64_t rest = pot->amount % nwin;
        for (int j = 1; j <= e->nseats; j++) {
            int s = (e->button + j) % e->nseats;
            if (!(pot->winners >> s & 1)) continue;
            pot->share[s] = share + rest;
            rest = 0;
            e->p[s].stack += pot->share[s];
        }
        struct engine_event *ev = ev_push(out, ENGINE_EV_POT);
        ev->pot = k;
        ev->amount = pot->amount;
        ev->winners = pot->winners;
        memcpy(ev->share, pot->share, sizeof(ev->share));
    }
    e->over = true;
    e->to_act = -1;
    ev_push(out, ENGINE_EV_HAND_END);
}

/* Everyone else folded: the last player takes every pot, showing nothing. */
static void finish_uncontested(struct engine *e, struct engine_events *out)
{
    uint16_t rank[ENGINE_MAX_SEATS] = {0};
    uint16_t live = 0;
    return_uncalled(e, out);
    for (int i = 0; i < e->nseats; i++)
        if (in_hand(&e->p[i])) live |= (uint16_t)(1u << i);
    e->npots = build_pots(e, e->pots);
    award(e, rank, live, out);
}

/* The showdown after the river (or after a run-out, where every hand is already shown). After
 * river betting, hands are revealed clockwise from the river's last aggressor (else from the
 * first seat after the button); an all-in player always shows, and anyone else shows only when
 * their hand is at least as good as the best shown so far in some pot they are eligible for,
 * otherwise mucks. */
static void showdown(struct engine *e, bool all_shown, struct engine_events *out)
{
    uint16_t rank[ENGINE_MAX_SEATS] = {0};
    uint16_t live = 0;
    uint16_t best[ENGINE_MAX_POTS] = {0};
    bool any_shown[ENGINE_MAX_POTS] = {false};

    e->street = ENGINE_SHOWDOWN;
    e->to_act = -1;
    e->npots = build_pots(e, e->pots);
    for (int i = 0; i < e->nseats; i++) {
        if (!in_hand(&e->p[i])) continue;
        rank[i] = hand_rank(e, i, 5);
        if (rank[i] == 0) e->showdown_unknown = true;
    }
    if (all_shown) {
        for (int i = 0; i < e->nseats; i++)
            if (in_hand(&e->p[i])) live |= (uint16_t)(1u << i);
        award(e, rank, live, out);
        return;
    }
    int start = e->last_aggressor >= 0 && in_hand(&e->p[e->last_aggressor])
                    ? e->last_aggressor
                    : seat_after(e, e->button);
    for (int j = 0; j < e->nseats; j++) {
        int s = (start + j) % e->nseats;
        if (!in_hand(&e->p[s])) continue;
        bool show = e->p[s].all_in;
        for (int k = 0; k < e->npots && !show; k++)
            if ((e->pots[k].eligible >> s & 1) && (!any_shown[k] || rank[s] >= best[k]))
                show = true;
        if (!show) {
            struct engine_event *ev = ev_push(out, ENGINE_EV_MUCK);
            ev->seat = s;
            continue;
        }
        live |= (uint16_t)(1u << s);
        emit_show(e, s, rank[s], out);
        for (int k = 0; k < e->npots; k++) {
            if (!(e->pots[k].eligible >> s & 1)) continue;
            if (!any_shown[k] || rank[s] > best[k]) best[k] = rank[s];
            any_shown[k] = true;
        }
    }
    award(e, rank, live, out);
}

/* Starts the next betting round with a new street dealt. */
static void next_round(struct engine *e, struct engine_events *out)
{
    for (int i = 0; i < e->nseats; i++) {
        e->p[i].bet = 0;
        e->p[i].acted = false;
    }
    e->bet_to = 0;
    e->last_raise = e->big_blind;
    e->reopen_pending = 0;
    e->last_aggressor = -1;
    deal_street(e, out);
}

static void close_round(struct engine *e, struct engine_events *out);

/* After a change: the hand ends if one player is left, else the next player who needs to act is
 * found from `start`, else the round closes. */
static void advance(struct engine *e, int start, struct engine_events *out)
{
    if (count_in_hand(e) <= 1) {
        finish_uncontested(e, out);
        return;
    }
    int s = find_actor(e, start);
    if (s >= 0)
        e->to_act = s;
    else
        close_round(e, out);
}

static void close_round(struct engine *e, struct engine_events *out)
{
    e->to_act = -1;
    return_uncalled(e, out);
    if (e->board_dealt == 5) {
        showdown(e, false, out);
        return;
    }
    if (count_can_act(e) <= 1) {
        /* All-in run-out: every remaining hand is shown before the board is dealt. */
        for (int j = 1; j <= e->nseats; j++) {
            int s = (e->button + j) % e->nseats;
            if (in_hand(&e->p[s])) emit_show(e, s, hand_rank(e, s, e->board_dealt), out);
        }
        while (e->board_dealt < 5)
            deal_street(e, out);
        showdown(e, true, out);
        return;
    }
    next_round(e, out);
    /* Heads-up the big blind acts first after the flop; otherwise the first seat after the
     * button does (which is the small blind's seat when it is still in). */
    bool heads_up = next_dealt(e, e->bb_seat) == e->sb_seat;
    int start = heads_up ? e->bb_seat : seat_after(e, e->button);
    advance(e, start, out);
}

static int validate_setup(const struct engine_setup *s, struct felt_err *err)
{
    if (s->nseats < 2 || s->nseats > ENGINE_MAX_SEATS)
        return felt_err_set(err, "bad_setup", "nseats must be 2..%d", ENGINE_MAX_SEATS);
    if (s->button < 0 || s->button >= s->nseats)
        return felt_err_set(err, "bad_setup", "button must be a seat 0..%d", s->nseats - 1);
    if (s->big_blind < 1 || s->big_blind > ENGINE_CHIPS_MAX)
        return felt_err_set(err, "bad_setup", "big blind must be 1..%lld", ENGINE_CHIPS_MAX);
    if (s->small_blind < 0 || s->small_blind > s->big_blind)
        return felt_err_set(err, "bad_setup", "small blind must be 0..big blind");
    if (s->ante < 0 || s->ante > ENGINE_CHIPS_MAX)
        return felt_err_set(err, "bad_setup", "ante must be 0..%lld", ENGINE_CHIPS_MAX);
    int dealt = 0;
    bool used[CARD_COUNT] = {false};
    for (int i = 0; i < s->nseats + 1; i++) {
        const card_t *cards = i < s->nseats ? s->hole[i] : s->board;
        int ncards = i < s->nseats ? 2 : 5;
        if (i < s->nseats) {
            if (s->stack[i] < 0 || s->stack[i] > ENGINE_CHIPS_MAX)
                return felt_err_set(err, "bad_setup", "seat %d: stack must be 0..%lld", i,
                                    ENGINE_CHIPS_MAX);
            if (s->stack[i] == 0) continue;
            dealt++;
        }
        for (int c = 0; c < ncards; c++) {
            if (cards[c] == CARD_NONE) continue;
            if (!card_valid(cards[c]))
                return felt_err_set(err, "bad_setup", "invalid card value %d", cards[c]);
            if (used[cards[c]]) return felt_err_set(err, "bad_setup", "a card is dealt twice");
            used[cards[c]] = true;
        }
    }
    if (dealt < 2) return felt_err_set(err, "bad_setup", "at least two players need chips");
    return 0;
}

static void post_blind(struct engine *e, int seat, int64_t size, bool big,
                       struct engine_events *out)
{
    struct engine_player *p = &e->p[seat];
    int64_t amount = size < p->stack ? size : p->stack;
    if (amount <= 0) return;
    put_chips(p, amount);
    struct engine_event *ev = ev_push(out, ENGINE_EV_BLIND);
    ev->seat = seat;
    ev->amount = amount;
    ev->to = p->bet;
    ev->blind_big = big;
    ev->all_in = p->all_in;
}

int engine_start(struct engine *e, const struct engine_setup *s, struct engine_events *out,
                 struct felt_err *err)
{
    struct engine_events scratch;
    if (!out) {
        scratch.n = 0;
        out = &scratch;
    }
    ev_check_room(out);
    if (validate_setup(s, err) < 0) return -1;
    eval_init();

    memset(e, 0, sizeof(*e));
    e->nseats = s->nseats;
    e->button = s->button;
    e->small_blind = s->small_blind;
    e->big_blind = s->big_blind;
    e->ante = s->ante;
    memcpy(e->board, s->board, sizeof(e->board));
    e->street = ENGINE_PREFLOP;
    e->to_act = -1;
    e->last_aggressor = -1;
    e->last_raise = s->big_blind;
    int ndealt = 0;
    for (int i = 0; i < ENGINE_MAX_SEATS; i++) {
        struct engine_player *p = &e->p[i];
        p->hole[0] = p->hole[1] = CARD_NONE;
        if (i >= s->nseats || s->stack[i] == 0) continue;
        p->stack = s->stack[i];
        p->dealt = true;
        p->hole[0] = s->hole[i][0];
        p->hole[1] = s->hole[i][1];
        ndealt++;
    }
    /* Heads-up the button (when dealt in) posts the small blind; otherwise the small blind is
     * the first dealt seat after the button, dead or not. */
    e->sb_seat = ndealt == 2 && e->p[e->button].dealt ? e->button : next_dealt(e, e->button);
    e->bb_seat = next_dealt(e, e->sb_seat);

    for (int j = 0, s0 = e->sb_seat; j < e->nseats; j++) {
        int i = (s0 + j) % e->nseats;
        struct engine_player *p = &e->p[i];
        int64_t amount = e->ante < p->stack ? e->ante : p->stack;
        if (!p->dealt || amount <= 0) continue;
        p->stack -= amount;
        p->committed += amount;
        p->all_in = p->stack == 0;
        struct engine_event *ev = ev_push(out, ENGINE_EV_ANTE);
        ev->seat = i;
        ev->amount = amount;
        ev->all_in = p->all_in;
    }
    post_blind(e, e->sb_seat, e->small_blind, false, out);
    post_blind(e, e->bb_seat, e->big_blind, true, out);
    for (int i = 0; i < e->nseats; i++)
        if (e->p[i].bet > e->bet_to) e->bet_to = e->p[i].bet;
    for (int j = 0; j < e->nseats; j++) {
        int i = (e->sb_seat + j) % e->nseats;
        if (!e->p[i].dealt) continue;
        struct engine_event *ev = ev_push(out, ENGINE_EV_DEAL_HOLE);
        ev->seat = i;
        ev->cards[0] = e->p[i].hole[0];
        ev->cards[1] = e->p[i].hole[1];
        ev->ncards = 2;
    }
    advance(e, seat_after(e, e->bb_seat), out);
    return 0;
}

static void emit_action(struct engine *e, int seat, enum engine_action a, int64_t moved,
                        struct engine_events *out)
{
    struct engine_event *ev = ev_push(out, ENGINE_EV_ACTION);
    ev->seat = seat;
    ev->action = a;
    ev->amount = moved;
    ev->to = e->p[seat].bet;
    ev->all_in = e->p[seat].all_in;
    ev->street = e->street;
}

/* Raises `seat`'s bet to `to` (already validated). A full raise re-opens the betting for all. */
static void raise_to(struct engine *e, int seat, int64_t to, struct engine_events *out)
{
    struct engine_player *p = &e->p[seat];
    int64_t increment = to - e->bet_to;
    int64_t moved = to - p->bet;
    put_chips(p, moved);
    if (increment >= e->last_raise) {
        e->last_raise = increment;
        e->reopen_pending = 0;
        for (int i = 0; i < e->nseats; i++)
            e->p[i].acted = false;
    } else {
        e->reopen_pending += increment;
    }
    e->bet_to = to;
    e->last_aggressor = seat;
    emit_action(e, seat, ENGINE_RAISE, moved, out);
}

enum engine_status engine_act(struct engine *e, int seat, enum engine_action a, int64_t amount,
                              struct engine_events *out)
{
    struct engine_events scratch;
    struct engine_options o;
    if (!out) {
        scratch.n = 0;
        out = &scratch;
    }
    ev_check_room(out);
    if (e->over) return ENGINE_E_HAND_OVER;
    if (seat < 0 || seat != e->to_act) return ENGINE_E_NOT_YOUR_TURN;
    if ((unsigned)a > (unsigned)ENGINE_ALL_IN) return ENGINE_E_UNKNOWN_ACTION;
    engine_options(e, &o);
    struct engine_player *p = &e->p[seat];
    int64_t all_in_to = p->bet + p->stack;

    if (a == ENGINE_RAISE) {
        if (amount <= 0) return ENGINE_E_BAD_AMOUNT;
        if (amount > all_in_to) return ENGINE_E_ABOVE_STACK;
        if (amount == all_in_to) a = ENGINE_ALL_IN;
    }
    if (a == ENGINE_ALL_IN && all_in_to <= e->bet_to)
        a = ENGINE_CALL; /* an all-in for no more than the bet is a call */
    if (a == ENGINE_CALL && o.call == 0) a = ENGINE_CHECK;

    switch (a) {
    case ENGINE_FOLD:
        p->folded = true;
        emit_action(e, seat, ENGINE_FOLD, 0, out);
        break;
    case ENGINE_CHECK:
        if (!o.can_check) return ENGINE_E_CANNOT_CHECK;
        emit_action(e, seat, ENGINE_CHECK, 0, out);
        break;
    case ENGINE_CALL:
        put_chips(p, o.call);
        emit_action(e, seat, ENGINE_CALL, o.call, out);
        break;
    case ENGINE_ALL_IN:
        if (!o.can_raise) return ENGINE_E_CANNOT_RAISE;
        raise_to(e, seat, all_in_to, out);
        break;
    case ENGINE_RAISE:
        if (!o.can_raise) return ENGINE_E_CANNOT_RAISE;
        if (amount < o.min_raise_to) return ENGINE_E_RAISE_TOO_SMALL;
        raise_to(e, seat, amount, out);
        break;
    }
    p->acted = true;
    advance(e, seat_after(e, seat), out);
    return ENGINE_OK;
}

int engine_next_button(int nseats, int button, const int64_t stack[])
{
    if (nseats < 1 || nseats > ENGINE_MAX_SEATS || button < 0 || button >= nseats) return -1;
    for (int j = 1; j <= nseats; j++) {
        int s = (button + j) % nseats;
        if (stack[s] > 0) return s;
    }
    return -1;
}

static const char *const status_codes[] = {
    [ENGINE_OK] = "ok",
    [ENGINE_E_NOT_YOUR_TURN] = "not_your_turn",
    [ENGINE_E_RAISE_TOO_SMALL] = "raise_too_small",
    [ENGINE_E_ABOVE_STACK] = "amount_above_stack",
    [ENGINE_E_CANNOT_CHECK] = "cannot_check",
    [ENGINE_E_UNKNOWN_ACTION] = "unknown_action",
    [ENGINE_E_HAND_OVER] = "hand_over",
    [ENGINE_E_CANNOT_RAISE] = "cannot_raise",
    [ENGINE_E_BAD_AMOUNT] = "bad_amount",
};

static const char *const status_messages[] = {
    [ENGINE_OK] = "ok",
    [ENGINE_E_NOT_YOUR_TURN] = "it is not this player's turn to act",
    [ENGINE_E_RAISE_TOO_SMALL] = "the raise is smaller than the minimum raise and is not all-in",
    [ENGINE_E_ABOVE_STACK] = "the amount is more than the player has",
    [ENGINE_E_CANNOT_CHECK] = "the player faces a bet and cannot check",
    [ENGINE_E_UNKNOWN_ACTION] = "unknown action",
    [ENGINE_E_HAND_OVER] = "the hand is over",
    [ENGINE_E_CANNOT_RAISE] = ("raising is not allowed here (covered by the bet, nobody could "
                               "call a raise, or the betting was not re-opened)"),
    [ENGINE_E_BAD_AMOUNT] = "a raise needs a positive amount (the total to raise to)",
};

const char *engine_status_code(enum engine_status s)
{
    if ((unsigned)s >= FELT_ARRAY_LEN(status_codes)) return "unknown_status";
    return status_codes[s];
}

const char *engine_status_message(enum engine_status s)
{
    if ((unsigned)s >= FELT_ARRAY_LEN(status_messages)) return "unknown status";
    return status_messages[s];
}

static const char *const action_names[] = {
    [ENGINE_FOLD] = "fold",   [ENGINE_CHECK] = "check",   [ENGINE_CALL] = "call",
    [ENGINE_RAISE] = "raise", [ENGINE_ALL_IN] = "all_in",
};

const char *engine_action_name(enum engine_action a)
{
    if ((unsigned)a >= FELT_ARRAY_LEN(action_names)) return "unknown";
    return action_names[a];
}

int engine_action_parse(const char *s, enum engine_action *out)
{
    for (unsigned i = 0; i < FELT_ARRAY_LEN(action_names); i++) {
        if (strcmp(s, action_names[i]) == 0) {
            *out = (enum engine_action)i;
            return 0;
        }
    }
    return -1;
}

static const char *const street_names[] = {
    [ENGINE_PREFLOP] = "preflop", [ENGINE_FLOP] = "flop",         [ENGINE_TURN] = "turn",
    [ENGINE_RIVER] = "river",     [ENGINE_SHOWDOWN] = "showdown",
};

const char *engine_street_name(enum engine_street s)
{
    if ((unsigned)s >= FELT_ARRAY_LEN(street_names)) return "unknown";
    return street_names[s];
}
