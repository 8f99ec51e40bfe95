/*
 * table.c: one poker table: its seats and players, the hand in progress (a struct engine), the
 * action clock, the bots' turns, presence, and the publishing of its events.
 *
 * Every change to a table or to one of its players goes through a table_* function, which
 * applies it and publishes the resulting events: each event gets the next seq of the table, is
 * rendered once per audience by render.c, appended to the history, and the subscribers are
 * woken (table_sub_ops.wake) to pull it. The layers above hold pointers to tables and players
 * but only read them; the table reaches its subscribers only through their table_sub_ops. That
 * narrow interface is where persistence and several nodes would attach: the state and its event
 * history have one writer.
 *
 * Durability goes through store.h (srv->store; NULL keeps nothing): each hand is recorded
 * (handrec) as it is played, stored as "running" when it is dealt and committed with the new
 * stacks and ledger rows when it ends. The writes that move chips (buy-ins, cash-outs, re-buys,
 * the hands' commits) go through the table's outbox (outbox.c), which keeps them in order and
 * sends them again until each is stored; the next hand is dealt only once the last one's commit is
 * (outbox_hand_pending), so a crash loses at most the hand in play, which the next start voids
 * with every chip back where it was. A seat's sit-out flag goes through the outbox too (after its
 * join); a hand's start goes to the store directly (a failed one loses nothing: the commit stores
 * the hand whole). Writes never wait on the disk: the store's writer thread reports back through
 * store_dispatch.
 *
 * Time comes from timer.c (timer_wall_ms and the timers), so a test drives a table on a fake
 * clock without a socket.
 *
 * A batch that tables hands before the flop waits a few milliseconds for their equity
 * (equity_job.c counts it in slices between other work): table_emit hands it over, the table
 * takes no action meanwhile (equity_job_held), and table_resume publishes it afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "equity_job.h"
#include "jval.h"
#include "outbox.h"
#include "server.h"
#include "text.h"

static void table_after_change(struct table *t);
static void table_resume(struct table *t, const struct engine_events *evs, bool from_action);
static void table_remove_player(struct table *t, struct player *p, const char *reason);
static void table_maybe_schedule_hand(struct table *t);

/* ---- durability ------------------------------------------------------------------------ */

/* A write the store refused to queue (its queue is full: the disk stalls): said loudly, since
 * what it carried is not stored; the game goes on. */
static void table_store_check(const struct table *t, int rc, const char *what)
{
    if (rc != 0)
        log_line(LOG_ERROR, "table %s: storage queue full: %s not stored", t->cfg.id, what);
}

static void table_store_seat_update(struct table *t, const struct player *p)
{
    if (t->out && !outbox_sit(t->out, p->id, p->sitting_out))
        table_store_check(t, store_seat_update(t->srv->store, t->cfg.id, p->id, p->sitting_out,
                                               NULL),
                          "a sit-out change");
}

static void table_store_rebuy(struct table *t, const struct player *p, int64_t amount)
{
    if (t->out)
        outbox_rebuy(t->out, p->id, amount);
}

/* The outbox settled a hand's commit (stored, or dropped as refused): the next hand may be
 * dealt. */
static void table_hand_settled(void *arg, int64_t hand_id)
{
    struct table *t = arg;
    log_line(LOG_DEBUG, "table %s: hand %lld settled", t->cfg.id, (long long)hand_id);
    table_maybe_schedule_hand(t);
}

static const struct outbox_ops table_outbox_ops = {.hand_settled = table_hand_settled};

/* The hand just dealt: its record starts, and it is stored as running (voided if the server
 * stops before it ends). */
static void table_record_begin(struct table *t, const struct engine_setup *setup)
{
    const char *names[ENGINE_MAX_SEATS] = {0};
    struct felt_err err;
    for (int s = 0; s < t->cfg.seats; s++) {
        struct player *p = t->seat[s];
        names[s] = p && p->in_hand ? p->name : NULL;
        t->stack_before[s] = p && p->in_hand ? p->stack : 0;
    }
    handrec_free(&t->rec);
    if (handrec_begin(&t->rec, setup, names, &err) != 0)
        felt_fatal("table %s: hand record refused a dealt hand: %s", t->cfg.id, err.message);
    t->hand_started_ms = timer_wall_ms();
    t->rec.has_hand_id = true;
    t->rec.hand_id = t->hand_id;
    snprintf(t->rec.game_id, sizeof(t->rec.game_id), "%s", t->cfg.id);
    handrec_format_time(t->hand_started_ms, t->rec.started_at);
    if (!t->srv->store)
        return;
    char *json = handrec_to_json(&t->rec, 0xFFFF);
    table_store_check(t, store_hand_begin(t->srv->store, t->cfg.id, t->hand_id,
                                          t->hand_started_ms, json),
                      "a hand's start");
    free(json);
}

/* The hand is over (stacks settled, before anyone stands up): its commit is queued, and the
 * next hand waits for it. Every player dealt in is in it, even one who has left since. */
static void table_record_end(struct table *t)
{
    if (!t->srv->store)
        return;
    struct store_hand commit, *h = &commit;
    handrec_finish(&t->rec, &t->eng);
    handrec_set_results(&t->rec, &t->eng);
    snprintf(t->rec.status, sizeof(t->rec.status), "complete");
    int64_t ended = timer_wall_ms();
    handrec_format_time(ended, t->rec.ended_at);
    memset(h, 0, sizeof(*h));
    snprintf(h->table_id, sizeof(h->table_id), "%s", t->cfg.id);
    h->hand_id = t->hand_id;
    h->started_ms = t->hand_started_ms;
    h->ended_ms = ended;
    char *record = handrec_to_json(&t->rec, 0xFFFF);
    h->record_json = record;
    for (int s = 0; s < t->cfg.seats; s++) {
        struct player *p = t->seat[s];
        if (t->shown[s])
            h->shown_mask |= (uint16_t)(1u << s);
        if (!p || !p->in_hand)
            continue;
        struct store_hand_player *hp = &h->players[h->nplayers++];
        snprintf(hp->player_id, sizeof(hp->player_id), "%s", p->id);
        hp->seat = s;
        hp->stack_after = p->stack;
        hp->net = p->stack - t->stack_before[s];
    }
    outbox_hand(t->out, h);
    free(record);
}

/* ---- publishing ------------------------------------------------------------------------ */

/* Appends a rendered event to the history and wakes every subscriber. Takes ev's reference. */
static void table_publish(struct table *t, struct event *ev)
{
    FELT_ASSERT(ev->pub != NULL && ev->seq == t->seq + 1);
    t->seq = ev->seq;
    history_push(&t->hist, ev);
    for (struct table_sub *s = t->subs; s; s = s->next)
        s->ops->wake(s);
    if (!t->standby && t->srv->published)
        t->srv->published(t->srv->published_arg, t, ev);
}

/* Every subscriber needs a snapshot (its cursor means nothing any more). */
static void table_resync_subs(struct table *t)
{
    for (struct table_sub *s = t->subs; s; s = s->next)
        s->ops->resync(s);
}

/* The history starts again after seq: nothing up to it can be replayed. */
static void table_history_restart(struct table *t, uint64_t seq)
{
    if (t->seq > t->seq_high)
        t->seq_high = t->seq;
    history_free(&t->hist);
    history_init(&t->hist, t->cfg.history);
    t->seq = seq;
    t->hist.last_seq = t->hist.lost_seq = seq;
}

/* A notification naming p (NULL: nobody), with the fields of n that its kind carries. */
static void table_notify_with(struct table *t, const struct player *p,
                              const struct wire_notification *n)
{
    table_publish(t, render_notification(t->seq + 1, timer_wall_ms(), p, n));
}

static void table_notify(struct table *t, enum wire_note_kind kind, const struct player *p)
{
    struct wire_notification n = {.kind = kind};
    table_notify_with(t, p, &n);
}

static void table_seat_update(struct table *t, const struct player *p,
                              enum wire_seat_change what)
{
    table_publish(t, render_seat_update(t, t->seq + 1, timer_wall_ms(), p, what));
}

/* Publishes everything one engine call produced, in order, then the bookkeeping that follows
 * (shown cards, stacks); the caller goes on with table_after_change. */
static void table_emit(struct table *t, const struct engine_events *evs, bool from_action)
{
    struct render_list l = {0};
    /* Hands tabled preflop: equity_job counts their equity first, then calls table_resume. */
    if (equity_job_hold(t, evs, from_action, table_resume))
        return;
    /* Every batch ends a turn; the next one (if any) starts its clock in table_after_change. */
    t->next_deadline_ms = timer_wall_ms() + t->cfg.action_timeout_ms;
    render_engine_events(t, evs, from_action, timer_wall_ms(), &l);
    /* Shown cards are public from now on (in snapshots, not in what was just rendered). */
    for (int i = 0; i < evs->n; i++) {
        if (evs->ev[i].kind == ENGINE_EV_SHOW)
            t->shown[evs->ev[i].seat] = true;
    }
    /* The engine is the authority for the stacks of the players in the hand. */
    for (int s = 0; s < t->cfg.seats; s++)
        if (t->seat[s] && t->seat[s]->in_hand)
            t->seat[s]->stack = t->eng.p[s].stack;
    for (int i = 0; i < l.n; i++) {
        table_publish(t, l.ev[i]);
        l.ev[i] = NULL;
    }
    l.n = 0;
    render_list_free(&l);
    equity_job_settled(t);
}

/* A batch equity_job held, published now that its equity is counted. */
static void table_resume(struct table *t, const struct engine_events *evs, bool from_action)
{
    table_emit(t, evs, from_action);
    table_after_change(t);
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

/* Whether this node may play t now: always with one node; with several, only while it holds
 * t's lease (srv->may_play), so that a node woken from a pause deals, acts and seats nothing
 * before its lease's own timer has stood the table by. */
static bool table_may_play(const struct table *t)
{
    return !t->standby && (!t->srv->may_play || t->srv->may_play(t->srv->may_play_arg, t));
}

static void table_maybe_schedule_hand(struct table *t)
{
    if (!t->hand_running && !t->standby && !t->hold_deal &&
        !(t->out && outbox_hand_pending(t->out)) &&
        !t->srv->shutting_down && table_eligible_count(t) >= 2)
        timer_arm(t->next_hand, t->cfg.hand_delay_ms);
}

static void table_start_hand(struct table *t)
{
    struct engine_setup setup;
    struct engine_events evs;
    struct felt_err err;
    card_t deck[CARD_COUNT];
    int next = 0;

    if (t->hand_running || t->hold_deal || (t->out && outbox_hand_pending(t->out)) ||
        table_eligible_count(t) < 2 || !table_may_play(t))
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
    log_line(LOG_DEBUG, "table %s: hand %lld starts", t->cfg.id, (long long)t->hand_id);
    table_record_begin(t, &setup);
    table_emit(t, &evs, false);
    table_after_change(t);
}

static void table_player_free(struct player *p)
{
    for (int i = 0; i < PLAYER_ACK_CACHE; i++)
        msg_unref(p->acks[i].ack);
    memset(p->token, 0, sizeof(p->token));
    free(p->fold);
    free(p);
}

/* Stands a player up: their chips leave with them, everyone is told why ("left", "idle" or
 * "sitting_out"), their socket is let go (TABLE_DROP_LEFT), and their token stops working (the
 * player and its token are gone). */
static void table_remove_player(struct table *t, struct player *p, const char *reason)
{
    struct table_sub *s = p->sub;
    const char *why = strcmp(reason, "left") == 0   ? "left the table"
                      : strcmp(reason, "idle") == 0 ? "stood up: away too long"
                                                    : "stood up: sat out too many hands";
    struct wire_notification n = {.kind = WIRE_NOTE_PLAYER_LEFT, .stack = p->stack};
    snprintf(n.reason, sizeof(n.reason), "%s", reason);
    log_line(LOG_INFO, "table %s: %s (%s) %s with %lld", t->cfg.id, p->name, p->id, why,
             (long long)p->stack);
    if (t->out)
        outbox_leave(t->out, p->id, p->stack);
    if (!p->bot && p->stack > 0)
        table_departed(t, p->id, p->token_hash, p->stack);
    table_seat_update(t, p, WIRE_SEAT_LEFT);
    table_notify_with(t, p, &n);
    t->seat[p->seat] = NULL;
    t->nplayers--;
    p->sub = NULL;
    if (s)
        s->ops->dropped(s, TABLE_DROP_LEFT, why);
    table_player_free(p);
}

static void table_end_hand(struct table *t)
{
    table_record_end(t);
    t->hand_running = false;
    t->clock_seat = -1;
    t->next_deadline_ms = 0;
    timer_cancel(t->clock);
    timer_cancel(t->bot_turn);
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
            table_store_rebuy(t, p, p->stack);
            table_seat_update(t, p, WIRE_SEAT_REBUY);
        } else if (p->stack == 0 && !p->sitting_out) {
            p->sitting_out = true;
            table_store_seat_update(t, p);
            table_seat_update(t, p, WIRE_SEAT_BUSTED);
            table_notify(t, WIRE_NOTE_BUSTED, p);
        }
    }
    table_maybe_schedule_hand(t);
}

/* After any change: end the hand if it is over, otherwise start the clock for the player to
 * act, tell them it is their turn, and let bots and absent players act. */
static void table_after_change(struct table *t)
{
    struct engine_options o;
    if (!t->hand_running || equity_job_held(t))
        return; /* a held batch: table_resume comes back here */
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
                                         : timer_wall_ms() + t->cfg.action_timeout_ms;
    t->next_deadline_ms = 0;
    t->warned = false;
    int64_t warn_at = t->cfg.action_timeout_ms > 20000 ? t->cfg.action_timeout_ms - 10000
                                                       : t->cfg.action_timeout_ms / 2;
    timer_arm(t->clock, warn_at);
    table_publish(t, render_turn(t, t->seq + 1, timer_wall_ms(), p));

    if (p->bot)
        timer_arm(t->bot_turn, t->cfg.bot_delay_ms);
    else if (p->sitting_out || p->leaving)
        timer_arm(t->bot_turn, 0);
}

/* Applies an action the server takes for a player (clock expiry, bot, sitting out). */
static void table_act_for(struct table *t, int seat, enum engine_action a, int64_t amount)
{
    struct engine_events evs;
    evs.n = 0;
    if (equity_job_held(t))
        return; /* the hand's last batch is waiting for its equity: nobody is to act */
    enum engine_status st = engine_act(&t->eng, seat, a, amount, &evs);
    if (st != ENGINE_OK) {
        /* Fall back to the always-legal choice rather than stall the table. */
        struct engine_options o;
        engine_options(&t->eng, &o);
        evs.n = 0;
        a = o.can_check ? ENGINE_CHECK : ENGINE_FOLD;
        amount = 0;
        st = engine_act(&t->eng, seat, a, 0, &evs);
        if (st != ENGINE_OK)
            felt_fatal("table %s: check/fold refused: %s", t->cfg.id, engine_status_code(st));
    }
    handrec_add_action(&t->rec, seat, a, amount);
    t->srv->metrics.actions++;
    table_emit(t, &evs, true);
    table_after_change(t);
}

static void table_clock_fire(void *arg)
{
    struct table *t = arg;
    struct engine_options o;
    if (!t->hand_running || t->clock_seat < 0 || !table_may_play(t))
        return;
    engine_options(&t->eng, &o);
    struct player *p = t->seat[o.seat];
    if (!t->warned) {
        int64_t left = t->deadline_ms - timer_wall_ms();
        struct wire_notification n = {.kind = WIRE_NOTE_TIMER_WARNING,
                                      .seconds_left = (left + 999) / 1000,
                                      .deadline = t->deadline_ms};
        t->warned = true;
        table_notify_with(t, p, &n);
        timer_arm(t->clock, left > 0 ? left : 0);
        return;
    }
    p->timeouts++;
    log_line(LOG_DEBUG, "table %s: %s timed out", t->cfg.id, p->id);
    table_notify(t, WIRE_NOTE_TIMEOUT, p);
    if (p->timeouts >= 3 && !p->sitting_out) {
        p->sitting_out = true;
        table_store_seat_update(t, p);
        table_seat_update(t, p, WIRE_SEAT_SAT_OUT);
        table_notify(t, WIRE_NOTE_PLAYER_SAT_OUT, p);
    }
    table_act_for(t, o.seat, o.can_check ? ENGINE_CHECK : ENGINE_FOLD, 0);
}

static void table_auto_turn_fire(void *arg)
{
    struct table *t = arg;
    struct engine_options o;
    enum engine_action a;
    int64_t amount = 0;
    if (!t->hand_running || !table_may_play(t))
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

/* Everyone sees how many watch, at most once a second per table: one notification per join
 * would cost O(spectators^2) messages when a crowd arrives. */
static void table_spectators_fire(void *arg)
{
    struct table *t = arg;
    t->spectators_pending = false;
    /* Standing by, the table publishes nothing of its own: its events are the owner's. */
    if (t->srv->shutting_down || t->standby || table_spectators(t) == t->spectators_told)
        return;
    t->spectators_told = table_spectators(t);
    struct wire_notification n = {.kind = WIRE_NOTE_SPECTATORS, .count = t->spectators_told};
    table_notify_with(t, NULL, &n);
}

static void table_spectators_changed(struct table *t)
{
    if (t->spectators_pending || t->srv->shutting_down || t->standby)
        return;
    t->spectators_pending = true;
    timer_arm(t->spectators, 1000);
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
    t->clock = timer_new(table_clock_fire, t);
    t->next_hand = timer_new(table_next_hand_fire, t);
    t->bot_turn = timer_new(table_auto_turn_fire, t);
    t->spectators = timer_new(table_spectators_fire, t);
    handrec_init(&t->rec);
    if (srv->store) {
        struct store_table st = {.seats = cfg->seats,
                                 .small_blind = cfg->small_blind,
                                 .big_blind = cfg->big_blind,
                                 .ante = cfg->ante,
                                 .buy_in = cfg->buy_in,
                                 .action_timeout_ms = cfg->action_timeout_ms};
        snprintf(st.id, sizeof(st.id), "%s", cfg->id);
        table_store_check(t, store_table_put(srv->store, &st), "the table's settings");
        t->out = outbox_new(srv->store, cfg->id, 0, &table_outbox_ops, t);
    }
    return t;
}

void table_set_last_hand_id(struct table *t, int64_t last_hand_id)
{
    if (last_hand_id > t->hand_id)
        t->hand_id = last_hand_id;
}

void table_set_write_seq(struct table *t, int64_t write_seq)
{
    if (t->out)
        outbox_set_seq(t->out, write_seq);
}

int table_bots(const struct table *t)
{
    int n = 0;
    for (int s = 0; s < t->cfg.seats; s++)
        n += t->seat[s] && t->seat[s]->bot;
    return n;
}

void table_token_hash(const char *token, unsigned char out[STORE_TOKEN_HASH_LEN])
{
    unsigned int len = 0;
    if (EVP_Digest(token, strlen(token), out, &len, EVP_sha256(), NULL) != 1 ||
        len != STORE_TOKEN_HASH_LEN)
        felt_fatal("SHA-256 failed (libcrypto)");
}

void table_voided(struct table *t, int64_t hand_id)
{
    if (t->nvoided == WIRE_VOIDED_MAX) {
        memmove(t->voided, t->voided + 1, sizeof(t->voided[0]) * (WIRE_VOIDED_MAX - 1));
        t->nvoided--;
    }
    t->voided[t->nvoided++] = hand_id;
    table_set_last_hand_id(t, hand_id);
    log_line(LOG_INFO, "table %s: hand %lld was voided (its server stopped during it)",
             t->cfg.id, (long long)hand_id);
    struct wire_notification n = {.kind = WIRE_NOTE_HAND_VOIDED, .hand_id = hand_id};
    table_notify_with(t, NULL, &n);
}

void table_stand_by(struct table *t, const char *why)
{
    if (!t->standby)
        log_line(LOG_WARNING, "table %s: stands by on this node (%s)%s", t->cfg.id, why,
                 t->hand_running ? "; the hand in play is left to the next owner, who voids it"
                                 : "");
    t->standby = true;
    t->hold_deal = false; /* a hold is the owner's; the next owner deals as it likes */
    /* Every player's socket goes (its client reconnects, to the owner), every seat with it;
     * spectators stay, and watch the owner's mirror once relay.c has it. */
    struct table_sub *next;
    for (struct table_sub *sub = t->subs; sub; sub = next) {
        next = sub->next;
        if (sub->spectator)
            continue;
        sub->ops->dropped(sub, TABLE_DROP_MOVED, "the table moved to another server");
        if (sub->subscribed) /* a subscriber that did not let go itself */
            table_unsubscribe(t, sub);
    }
    timer_cancel(t->clock);
    timer_cancel(t->next_hand);
    timer_cancel(t->bot_turn);
    timer_cancel(t->spectators);
    t->spectators_pending = false;
    if (t->out) { /* the next owner starts from what the store holds */
        outbox_abandon(t->out);
        t->out = outbox_new(t->srv->store, t->cfg.id, 0, &table_outbox_ops, t);
    }
    equity_job_free(t);
    handrec_free(&t->rec);
    handrec_init(&t->rec);
    t->hand_running = false;
    t->clock_seat = -1;
    t->deadline_ms = t->next_deadline_ms = 0;
    for (int s = 0; s < ENGINE_MAX_SEATS; s++) {
        if (t->seat[s])
            table_player_free(t->seat[s]);
        t->seat[s] = NULL;
    }
    t->nplayers = 0;
    memset(t->departed, 0, sizeof(t->departed));
    t->departed_next = 0;
    t->nvoided = 0;
    t->button = -1;
    t->spectators_told = 0;
    t->remote_spectators = 0; /* the owner counts everyone now */
    /* The events seen here so far say nothing of what the owner does next: a resume from any of
     * them gets a snapshot (the seq skips one, which no event carries), the owner's mirror. */
    msg_unref(t->mirror);
    t->mirror = NULL;
    t->mirror_seq = 0;
    /* Above every seq this node has shown for t (a mirror's may have been lower): a resume
     * from any of them can never name an event of what this node plays next. */
    if (t->seq > 0 || t->seq_high > 0 || t->hist.game.count > 0 || t->hist.chat.count > 0)
        table_history_restart(t, (t->seq > t->seq_high ? t->seq : t->seq_high) + 1);
    table_resync_subs(t);
}

void table_own(struct table *t, int64_t write_seq)
{
    FELT_ASSERT(t->standby);
    t->standby = false;
    table_set_owner_lobby(t, NULL, 0);
    msg_unref(t->mirror);
    t->mirror = NULL;
    t->mirror_seq = 0;
    if (t->out)
        outbox_set_seq(t->out, write_seq);
    /* The spectators who waited get this node's own snapshot now. */
    for (struct table_sub *s = t->subs; s; s = s->next)
        s->ops->wake(s);
    table_spectators_changed(t);
    table_maybe_schedule_hand(t);
}

/* ---- the owner's play mirrored while standing by (relay.c) ------------------------------ */

void table_mirror_reset(struct table *t, uint64_t seq, const char *json, size_t len)
{
    if (!t->standby)
        return;
    msg_unref(t->mirror);
    t->mirror = msg_from_bytes(json, len);
    t->mirror_seq = seq;
    table_history_restart(t, seq);
    table_resync_subs(t);
}

bool table_mirror_snapshot(struct table *t, uint64_t seq, const char *json, size_t len)
{
    if (!t->standby || !t->mirror || seq <= t->mirror_seq || seq > t->seq ||
        (seq < t->seq && !history_get(&t->hist, seq + 1)))
        return false;
    msg_unref(t->mirror);
    t->mirror = msg_from_bytes(json, len);
    t->mirror_seq = seq;
    for (struct table_sub *s = t->subs; s; s = s->next) /* one waiting for a usable one */
        s->ops->wake(s);
    return true;
}

/* The type of an event rendered by wire.c, which opens every one with {"type":"NAME","seq":N;
 * PROTO_S_COUNT unless it is an event of seq. */
static enum proto_stype table_mirror_type(const char *json, size_t len, uint64_t seq)
{
    static const char open[] = "{\"type\":\"";
    if (len < sizeof(open) || memcmp(json, open, sizeof(open) - 1) != 0)
        return PROTO_S_COUNT;
    const char *name = json + sizeof(open) - 1, *end = memchr(name, '"', len - (sizeof(open) - 1));
    if (!end)
        return PROTO_S_COUNT;
    char want[40];
    int n = snprintf(want, sizeof(want), "\",\"seq\":%llu", (unsigned long long)seq);
    if ((size_t)(json + len - end) <= (size_t)n || memcmp(end, want, (size_t)n) != 0 ||
        (end[n] != ',' && end[n] != '}'))
        return PROTO_S_COUNT;
    for (int k = 0; k < PROTO_S_COUNT; k++) {
        const char *kn = proto_stype_name((enum proto_stype)k);
        if (proto_stype_is_event((enum proto_stype)k) && strlen(kn) == (size_t)(end - name) &&
            memcmp(kn, name, (size_t)(end - name)) == 0)
            return (enum proto_stype)k;
    }
    return PROTO_S_COUNT;
}

int table_mirror_event(struct table *t, uint64_t seq, const char *json, size_t len)
{
    if (!t->standby || !t->mirror || seq != t->seq + 1)
        return -1;
    enum proto_stype type = table_mirror_type(json, len, seq);
    if (type == PROTO_S_COUNT)
        return -1;
    struct event *ev = event_new(seq, type);
    ev->pub = msg_from_bytes(json, len);
    table_publish(t, ev);
    return 0;
}

void table_mirror_clear(struct table *t)
{
    if (!t->standby)
        return;
    msg_unref(t->mirror);
    t->mirror = NULL;
    t->mirror_seq = 0;
    table_history_restart(t, t->seq + 1);
    table_resync_subs(t);
}

uint64_t table_mirror_seq(const struct table *t)
{
    return t->mirror ? t->mirror_seq : 0;
}

void table_set_remote_spectators(struct table *t, int n)
{
    if (n < 0 || n == t->remote_spectators)
        return;
    t->remote_spectators = n;
    table_spectators_changed(t);
}

int table_local_spectators(const struct table *t)
{
    return t->nspectators;
}

void table_set_node_data(struct table *t, void *data)
{
    t->node_data = data;
}

void *table_node_data(const struct table *t)
{
    return t->node_data;
}

bool table_standby(const struct table *t)
{
    return t->standby;
}

void table_hold_deal(struct table *t, bool hold)
{
    t->hold_deal = hold;
    if (!hold)
        table_maybe_schedule_hand(t);
}

bool table_settled(const struct table *t)
{
    return !t->hand_running && !(t->out && outbox_len(t->out) > 0);
}

int table_people(const struct table *t)
{
    int n = 0;
    for (int s = 0; s < t->cfg.seats; s++)
        n += t->seat[s] && !t->seat[s]->bot;
    return n;
}

void table_set_owner_url(struct table *t, const char *url)
{
    snprintf(t->owner_url, sizeof(t->owner_url), "%s", url ? url : "");
}

void table_set_owner_lobby(struct table *t, const char *json, size_t len)
{
    json_object_put(t->owner_lobby);
    t->owner_lobby = NULL;
    if (!json || !t->standby || len > PROTO_MAX_FRAME)
        return;
    struct json_tokener *tok = json_tokener_new();
    struct json_object *j = json_tokener_parse_ex(tok, json, (int)len);
    bool done = json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    const char *id = jval_str(j, "id");
    if (done && json_object_is_type(j, json_type_object) && id && strcmp(id, t->cfg.id) == 0)
        t->owner_lobby = j;
    else
        json_object_put(j);
}

void table_set_rng_seed(struct table *t, uint64_t seed)
{
    rng_init_seeded(&t->rng, seed);
}

void table_shutdown(struct table *t)
{
    timer_cancel(t->spectators);
    timer_cancel(t->clock);
    timer_cancel(t->next_hand);
    timer_cancel(t->bot_turn);
    if (t->out)
        outbox_shutdown(t->out);
}

void table_free(struct table *t)
{
    if (!t)
        return;
    FELT_ASSERT(t->subs == NULL);
    timer_free(t->clock);
    timer_free(t->next_hand);
    timer_free(t->bot_turn);
    timer_free(t->spectators);
    json_object_put(t->owner_lobby);
    msg_unref(t->mirror);
    outbox_free(t->out);
    equity_job_free(t);
    handrec_free(&t->rec);
    for (int s = 0; s < ENGINE_MAX_SEATS; s++)
        if (t->seat[s])
            table_player_free(t->seat[s]);
    history_free(&t->hist);
    free(t);
}

const struct table_config *table_config(const struct table *t)
{
    return &t->cfg;
}

void table_departed(struct table *t, const char *player_id,
                    const unsigned char token_hash[STORE_TOKEN_HASH_LEN], int64_t stack)
{
    struct table_departed *d = &t->departed[t->departed_next];
    for (int i = 0; i < TABLE_DEPARTED_MAX; i++) /* one entry per player: the last departure */
        if (t->departed[i].stack > 0 && strcmp(t->departed[i].id, player_id) == 0)
            t->departed[i].stack = 0;
    snprintf(d->id, sizeof(d->id), "%s", player_id);
    memcpy(d->token_hash, token_hash, sizeof(d->token_hash));
    d->stack = stack;
    t->departed_next = (t->departed_next + 1) % TABLE_DEPARTED_MAX;
}

/* The departure whose token this is, or NULL; compared in constant time, every slot. */
static struct table_departed *table_departed_find(struct table *t, const char *token)
{
    struct table_departed *found = NULL;
    unsigned char h[STORE_TOKEN_HASH_LEN];
    table_token_hash(token, h);
    for (int i = 0; i < TABLE_DEPARTED_MAX; i++)
        if (t->departed[i].stack > 0 &&
            CRYPTO_memcmp(t->departed[i].token_hash, h, sizeof(h)) == 0)
            found = &t->departed[i];
    return found;
}

struct player *table_join(struct table *t, const char *name, int64_t buy_in, bool bot,
                          const char *token, struct limit_addr *addr, struct table_sub *sub,
                          struct felt_err *err)
{
    int seat = -1, from_addr = 0;
    unsigned char idbytes[PLAYER_ID_LEN / 2];
    struct table_departed *back = NULL;
    const struct limits *l = &t->srv->limits;
    if (!table_may_play(t)) {
        felt_err_set(err, "not_owner", "this server does not play table %s now", t->cfg.id);
        return NULL;
    }
    /* Every attempt from an address spends a join token, refused ones included. */
    if (!bot && addr && !limit_join_allowed(addr, l, timer_wall_ms())) {
        felt_err_set(err, "rate_limited", "too many joins from your address; wait a minute");
        return NULL;
    }
    /* Chip writes wait for the store (outbox.c): while it is down they pile up, and a join is
     * where that stops. */
    if (t->out && outbox_full(t->out)) {
        felt_err_set(err, "store_busy", "the server cannot store a buy-in right now; try again");
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
    if (!bot && token && strlen(token) < sizeof(p->token))
        back = table_departed_find(t, token);
    if (back) { /* the player who left comes back: same id, same token, their chips */
        snprintf(p->id, sizeof(p->id), "%s", back->id);
        snprintf(p->token, sizeof(p->token), "%s", token);
        if (back->stack > buy_in)
            buy_in = back->stack;
        back->stack = 0;
    } else {
        rng_os_bytes(idbytes, sizeof(idbytes));
        for (size_t i = 0; i < sizeof(idbytes); i++)
            snprintf(p->id + 2 * i, 3, "%02x", idbytes[i]);
        rng_token_hex(p->token, PLAYER_TOKEN_BYTES);
    }
    table_token_hash(p->token, p->token_hash);
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->fold = xstrdup(fold);
    p->table = t;
    p->seat = seat;
    p->stack = buy_in;
    p->bot = bot;
    p->sub = sub;
    p->last_seen_ms = timer_wall_ms();
    if (addr)
        snprintf(p->addr, sizeof(p->addr), "%s", addr->ip);
    t->seat[seat] = p;
    t->nplayers++;
    log_line(LOG_INFO, "table %s: %s %s seat %d as %s with %lld", t->cfg.id, p->name,
             back ? "came back to" : "joined", seat, p->id, (long long)buy_in);
    if (t->srv->store) {
        struct store_seat ss = {.seat = seat, .stack = buy_in, .bot = bot};
        snprintf(ss.table_id, sizeof(ss.table_id), "%s", t->cfg.id);
        snprintf(ss.player_id, sizeof(ss.player_id), "%s", p->id);
        snprintf(ss.name, sizeof(ss.name), "%s", p->name);
        if (!bot)
            memcpy(ss.token_hash, p->token_hash, sizeof(ss.token_hash));
        outbox_join(t->out, &ss, buy_in);
    }
    table_seat_update(t, p, WIRE_SEAT_JOINED);
    table_notify(t, WIRE_NOTE_PLAYER_JOINED, p);
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

/* The token's hash is compared, in constant time, with every human player's: what is kept (and
 * stored) is the hash, so a token works again after a restart and a stolen database holds none. */
struct player *table_player_by_token(struct table *t, const char *token)
{
    struct player *found = NULL;
    unsigned char h[STORE_TOKEN_HASH_LEN];
    table_token_hash(token, h);
    for (int s = 0; s < t->cfg.seats; s++)
        if (t->seat[s] && !t->seat[s]->bot &&
            CRYPTO_memcmp(t->seat[s]->token_hash, h, sizeof(h)) == 0)
            found = t->seat[s];
    return found;
}

struct player *table_restore(struct table *t, const struct store_seat *s)
{
    char fold[TEXT_FOLD_MAX];
    if (s->seat < 0 || s->seat >= t->cfg.seats || t->seat[s->seat] ||
        text_name_fold(s->name, fold, sizeof(fold)) < 0) {
        log_line(LOG_WARNING, "table %s: stored seat %d of %s does not fit this table; left out",
                 t->cfg.id, s->seat, s->player_id);
        return NULL;
    }
    struct player *p = xcalloc(1, sizeof(*p));
    p->uid = ++t->srv->next_uid;
    snprintf(p->id, sizeof(p->id), "%s", s->player_id);
    memcpy(p->token_hash, s->token_hash, sizeof(p->token_hash));
    snprintf(p->name, sizeof(p->name), "%s", s->name);
    p->fold = xstrdup(fold);
    p->table = t;
    p->seat = s->seat;
    p->stack = s->stack;
    p->bot = s->bot;
    p->sitting_out = s->sitting_out;
    p->last_seen_ms = timer_wall_ms(); /* the idle clock starts again: time to come back */
    t->seat[s->seat] = p;
    t->nplayers++;
    log_line(LOG_DEBUG, "table %s: %s back in seat %d with %lld", t->cfg.id, p->name, p->seat,
             (long long)p->stack);
    table_maybe_schedule_hand(t);
    return p;
}

int table_sit_out(struct table *t, struct player *p, struct felt_err *err)
{
    if (p->sitting_out)
        return felt_err_set(err, "already_sitting_out", "you are already sitting out");
    p->sitting_out = true;
    table_store_seat_update(t, p);
    table_seat_update(t, p, WIRE_SEAT_SAT_OUT);
    table_notify(t, WIRE_NOTE_PLAYER_SAT_OUT, p);
    if (t->hand_running && p->in_hand && t->eng.to_act == p->seat)
        timer_arm(t->bot_turn, 0);
    return 0;
}

int table_sit_in(struct table *t, struct player *p, struct felt_err *err)
{
    if (!p->sitting_out)
        return felt_err_set(err, "not_sitting_out", "you are not sitting out");
    if (p->stack == 0 && !(t->hand_running && p->in_hand)) {
        p->stack = t->cfg.buy_in; /* play money: a busted player re-buys on sitting in */
        table_store_rebuy(t, p, p->stack);
    }
    p->sitting_out = false;
    table_store_seat_update(t, p);
    p->sitout_hands = 0;
    p->timeouts = 0;
    table_seat_update(t, p, WIRE_SEAT_SAT_IN);
    table_notify(t, WIRE_NOTE_PLAYER_SAT_IN, p);
    table_maybe_schedule_hand(t);
    return 0;
}

/* Leaves now, or at the end of the hand when still in it (folding when it is their turn). */
/* A player dealt into the hand stays seated, even folded, until it ends: their chips are
 * settled, and stored, with the hand (a hand voided by a crash gives them back to a seat that
 * is still there). */
static void table_stand_up(struct table *t, struct player *p, const char *reason)
{
    if (t->hand_running && p->in_hand) {
        if (p->leaving)
            return;
        p->leaving = true; /* folds when it is their turn, cashes out at the end of the hand */
        snprintf(p->leave_reason, sizeof(p->leave_reason), "%s", reason);
        table_seat_update(t, p, WIRE_SEAT_LEAVING);
        if (!t->eng.p[p->seat].folded && t->eng.to_act == p->seat)
            timer_arm(t->bot_turn, 0);
        return;
    }
    table_remove_player(t, p, reason);
}

int table_leave(struct table *t, struct player *p, struct limit_addr *addr, struct felt_err *err)
{
    if (!table_may_play(t)) /* its chips are the next owner's to pay out */
        return felt_err_set(err, "not_owner", "this server does not play table %s now",
                            t->cfg.id);
    /* Leaving always works here; it spends a join token, so join/leave churn runs dry like
     * joins. */
    if (addr)
        limit_leave_charge(addr, &t->srv->limits, timer_wall_ms());
    table_stand_up(t, p, "left");
    return 0;
}

void table_attach(struct table *t, struct player *p, struct table_sub *s)
{
    struct table_sub *old = p->sub;
    bool was_present = old != NULL || p->polling;
    p->sub = s;
    p->polling = false; /* the socket carries the presence now */
    p->last_seen_ms = timer_wall_ms();
    if (old)
        old->ops->dropped(old, TABLE_DROP_REPLACED, "replaced by a newer connection");
    if (!was_present)
        table_notify(t, WIRE_NOTE_PLAYER_CONNECTED, p);
}

void table_detach(struct table *t, struct player *p, struct table_sub *s)
{
    if (p->sub != s)
        return;
    p->sub = NULL;
    p->last_seen_ms = timer_wall_ms();
    if (!t->srv->shutting_down)
        table_notify(t, WIRE_NOTE_PLAYER_DISCONNECTED, p);
}

void table_seen(struct table *t, struct player *p)
{
    p->last_seen_ms = timer_wall_ms();
    if (p->sub || p->polling)
        return;
    p->polling = true;
    table_notify(t, WIRE_NOTE_PLAYER_CONNECTED, p);
}

void table_sweep(struct table *t, int64_t now_ms)
{
    int64_t idle_ms = (int64_t)t->srv->limits.idle_seat_secs * 1000;
    for (int s = 0; s < t->cfg.seats; s++) {
        struct player *p = t->seat[s];
        if (p && p->polling && now_ms - p->last_seen_ms >= TABLE_POLL_PRESENCE_MS) {
            p->polling = false;
            table_notify(t, WIRE_NOTE_PLAYER_DISCONNECTED, p);
        }
    }
    if (idle_ms <= 0)
        return;
    for (int s = 0; s < t->cfg.seats; s++) {
        struct player *p = t->seat[s];
        if (p && !p->bot && !p->sub && now_ms - p->last_seen_ms >= idle_ms)
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
    if (!table_may_play(t))
        return table_ack(t, m, ENGINE_E_HAND_OVER, "not_owner",
                         "this server does not play this table now; the action was not made");
    bool voided = false;
    for (int i = 0; m->has_hand_id && i < t->nvoided; i++)
        voided |= t->voided[i] == m->hand_id;
    if (voided) {
        st = ENGINE_E_HAND_OVER;
        code = "hand_voided";
        message = "that hand was voided when its server stopped; its chips went back";
    } else if (m->has_hand_id && m->hand_id >= 1 && m->hand_id <= t->hand_id &&
               !(t->hand_running && m->hand_id == t->hand_id)) {
        /* Before no_hand: an action for a hand that was dealt and has ended is answered as
         * such even in the pause before the next one (a queued action arriving after a
         * reconnect), not as if nothing had been played. */
        st = ENGINE_E_HAND_OVER;
        code = "stale_hand";
        message = "that hand is over";
    } else if (!t->hand_running) {
        st = ENGINE_E_HAND_OVER;
        code = "no_hand";
        message = "no hand is in progress";
    } else if (m->has_hand_id && m->hand_id != t->hand_id) {
        st = ENGINE_E_HAND_OVER;
        code = "stale_hand";
        message = "that action was for another hand";
    } else if (m->has_decision && m->decision != table_decision(t)) {
        /* Typed for a decision the table has left behind (the clock acted meanwhile, or the
         * action waited out a reconnect): never applied to the decision now open. */
        st = ENGINE_E_NOT_YOUR_TURN;
        code = "stale_decision";
        message = "the table moved on since that action was chosen";
    } else if (!p->in_hand) {
        st = ENGINE_E_NOT_YOUR_TURN;
        code = "not_in_hand";
        message = "you are not in this hand";
    } else if (equity_job_held(t)) {
        st = ENGINE_E_NOT_YOUR_TURN; /* the betting is over; the run-out is being published */
        code = engine_status_code(st);
        message = engine_status_message(st);
    } else {
        evs.n = 0;
        st = engine_act(&t->eng, p->seat, m->action, m->has_amount ? m->amount : 0, &evs);
        if (st != ENGINE_OK) {
            code = engine_status_code(st);
            message = engine_status_message(st);
        } else {
            handrec_add_action(&t->rec, p->seat, m->action, m->has_amount ? m->amount : 0);
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

int table_chat(struct table *t, struct player *p, struct limit_window *own,
               struct limit_addr *addr, const char *text, struct felt_err *err)
{
    const struct limits *l = &t->srv->limits;
    int64_t now = timer_wall_ms();
    struct limit_window *w = p ? &p->chat : own;
    if (!p && !t->cfg.spectator_chat)
        return felt_err_set(err, "chat_disabled", "spectators may not chat at this table");
    if (t->standby) /* its events are the owner's (a mirror): nothing is published here */
        return felt_err_set(err, "not_owner", "chat at table %s goes through the server that "
                            "plays it", t->cfg.id);
    if (w && !limit_window_take(w, now))
        return felt_err_set(err, "rate_limited", "at most %d chat messages per %d seconds",
                            LIMIT_SENDER_CHATS, LIMIT_SENDER_WINDOW_MS / 1000);
    if (addr && !limit_chat_allowed(addr, l, now))
        return felt_err_set(err, "rate_limited", "too much chat from your address; slow down");
    if (!limit_bucket_take(&t->chat_bucket, l->chat_per_table / 10.0, l->chat_per_table, 1.0, now))
        return felt_err_set(err, "rate_limited", "this table is chatting too fast; slow down");
    table_publish(t, render_chat(t->seq + 1, now, p, text));
    return 0;
}

void table_subscribe(struct table *t, struct table_sub *s, bool spectator)
{
    FELT_ASSERT(!s->subscribed);
    s->subscribed = true;
    s->spectator = spectator;
    s->prev = NULL;
    s->next = t->subs;
    if (t->subs)
        t->subs->prev = s;
    t->subs = s;
    if (spectator) {
        t->nspectators++;
        table_spectators_changed(t);
    }
}

void table_unsubscribe(struct table *t, struct table_sub *s)
{
    if (!s->subscribed)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        t->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    s->subscribed = false;
    if (s->spectator) {
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

bool table_snapshot_ready(struct table *t)
{
    if (!t->standby)
        return true;
    return t->mirror && (t->mirror_seq == t->seq || history_get(&t->hist, t->mirror_seq + 1));
}

struct msg *table_snapshot(struct table *t, const struct player *viewer, uint64_t *seq)
{
    if (t->standby) { /* the owner's, mirrored; nothing of this node's own (it plays nothing) */
        if (!table_snapshot_ready(t))
            return NULL;
        *seq = t->mirror_seq;
        return msg_ref(t->mirror);
    }
    *seq = t->seq;
    return render_snapshot(t, viewer, timer_wall_ms());
}

struct json_object *table_lobby_json(const struct table *t)
{
    if (t->standby && t->owner_lobby) /* another node plays it: its owner's entry */
        return json_object_get(t->owner_lobby);
    return render_lobby(t);
}
