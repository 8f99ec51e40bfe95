/*
 * outbox.c: a table's chip writes, in order, each kept until the store says it is stored
 * (outbox.h says why and what it promises).
 *
 * The writes wait in a list, oldest first, each with its seq. A write goes to the store as soon
 * as it is added, unless the outbox is stalled: a write failed and the retry timer runs. The
 * store answers each attempt once, in the order they were sent. A write reported stored is
 * stored with everything before it (the sequence allows nothing else), so it and its elders
 * leave the list. A failure stalls the outbox; the timer then sends the whole list again, once
 * no answer is still due (an answer still due could be a success the retry would have to wait
 * for anyway). A write sent again that was stored after all (its answer lost) comes back ok.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbox.h"
#include "server.h"

enum outbox_kind { OUTBOX_JOIN, OUTBOX_LEAVE, OUTBOX_REBUY, OUTBOX_SIT, OUTBOX_HAND, OUTBOX_SKIP };

struct outbox_write {
    struct outbox_write *next;
    struct outbox *box;
    enum outbox_kind kind;
    int64_t seq;
    bool sent; /* an answer is due */
    int64_t amount;
    struct store_seat seat; /* join: the seat; leave, re-buy: player_id; sit: and sitting_out */
    struct store_hand hand; /* its record and results point into record and results */
    char *record, *results;
};

struct outbox {
    struct store *store;
    char table_id[PROTO_GAME_ID_MAX + 1];
    int64_t last_seq; /* the seq given to the newest write */
    const struct outbox_ops *ops;
    void *arg;
    struct outbox_write *head, **tail;
    size_t n, hands, due; /* writes; hands' commits among them; answers due */
    bool stalled;         /* a write failed: the retry timer sends the list again */
    bool stopping;        /* outbox_shutdown: no more retries */
    bool dead;            /* a skip was refused: nothing is kept any more */
    bool orphan;          /* outbox_abandon: the table has let go; freed by the last answer */
    struct outbox *next_orphan;
    struct timer *retry;
};

/* The outboxes abandoned with answers still due (outbox_free_orphans frees them at exit). */
static struct outbox *outbox_orphans;

static void outbox_done(void *arg, enum store_outcome r, const char *why);

static void outbox_write_free(struct outbox_write *w)
{
    free(w->record);
    free(w->results);
    free(w);
}

/* One attempt at w. The store refusing to queue it (its queue full) is a failure like any. */
static void outbox_send(struct outbox *o, struct outbox_write *w)
{
    const struct store_order ord = {.seq = w->seq, .done = outbox_done, .arg = w};
    int rc = -1;
    switch (w->kind) {
    case OUTBOX_JOIN:
        rc = store_seat_join(o->store, &w->seat, w->amount, &ord);
        break;
    case OUTBOX_LEAVE:
        rc = store_seat_leave(o->store, o->table_id, w->seat.player_id, w->amount, &ord);
        break;
    case OUTBOX_REBUY:
        rc = store_seat_rebuy(o->store, o->table_id, w->seat.player_id, w->amount, &ord);
        break;
    case OUTBOX_SIT:
        rc = store_seat_update(o->store, o->table_id, w->seat.player_id, w->seat.sitting_out,
                               &ord);
        break;
    case OUTBOX_HAND:
        rc = store_hand_commit(o->store, &w->hand, &ord);
        break;
    case OUTBOX_SKIP:
        rc = store_order_skip(o->store, o->table_id, &ord);
        break;
    }
    if (rc == 0) {
        w->sent = true;
        o->due++;
    } else {
        outbox_done(w, STORE_FAILED, "the storage queue is full");
    }
}

/* What w carries, for the log: "hand 41", "a re-buy". */
static void outbox_what(const struct outbox_write *w, char *out, size_t size)
{
    static const char *const what[] = {[OUTBOX_JOIN] = "a buy-in",
                                       [OUTBOX_LEAVE] = "a cash-out",
                                       [OUTBOX_REBUY] = "a re-buy",
                                       [OUTBOX_SIT] = "a sit-out change",
                                       [OUTBOX_SKIP] = "a skipped write"};
    if (w->kind == OUTBOX_HAND)
        snprintf(out, size, "hand %lld", (long long)w->hand.hand_id);
    else
        snprintf(out, size, "%s", what[w->kind]);
}

/* w leaves the list; a hand's commit leaving lets the table deal again. */
static void outbox_unlink(struct outbox *o, struct outbox_write *w)
{
    struct outbox_write **at = &o->head;
    while (*at != w) {
        FELT_ASSERT(*at != NULL);
        at = &(*at)->next;
    }
    *at = w->next;
    if (o->tail == &w->next)
        o->tail = at;
    o->n--;
    bool hand = w->kind == OUTBOX_HAND;
    int64_t hand_id = w->hand.hand_id;
    if (hand)
        o->hands--;
    outbox_write_free(w);
    if (hand && o->ops->hand_settled && !o->orphan)
        o->ops->hand_settled(o->arg, hand_id);
}

/* A skip was refused: the table is not ours to write (a newer owner's fence) or not stored.
 * Everything waiting is dropped, and so is everything added later. */
static void outbox_die(struct outbox *o, const char *why)
{
    log_line(LOG_ERROR, "table %s: the store refuses this table's writes (%s); %zu waiting and "
             "every later one will not be stored", o->table_id, why ? why : "refused", o->n);
    o->dead = true;
    timer_cancel(o->retry);
    for (struct outbox_write *w = o->head, *next; w; w = next) {
        next = w->next;
        if (!w->sent) /* those in flight go when answered */
            outbox_unlink(o, w);
    }
}

static void outbox_stall(struct outbox *o, const struct outbox_write *w, const char *why)
{
    char what[32];
    outbox_what(w, what, sizeof(what));
    if (!o->stalled)
        log_line(LOG_WARNING, "table %s: %s (write %lld) not stored (%s); trying again in %d s",
                 o->table_id, what, (long long)w->seq, why ? why : "unknown error",
                 OUTBOX_RETRY_MS / 1000);
    o->stalled = true;
    if (!o->stopping && !timer_armed(o->retry))
        timer_arm(o->retry, OUTBOX_RETRY_MS);
}

/* The store's answer to one attempt at w (or the queue's refusal, from outbox_send). */
static void outbox_answer(struct outbox *o, struct outbox_write *w, enum store_outcome r,
                          const char *why)
{
    char what[32];
    if (o->dead && r != STORE_STORED) {
        outbox_unlink(o, w);
        return;
    }
    switch (r) {
    case STORE_STORED:
        /* Stored, and so is every write before it (the sequence allows nothing else). Answers
         * come in the order of the attempts, and a retry sends only when none is due: every
         * elder's answer has come. */
        for (bool last = false; !last;) {
            FELT_ASSERT(o->head != NULL && !o->head->sent);
            last = o->head == w;
            outbox_unlink(o, o->head);
        }
        return;
    case STORE_FAILED:
    case STORE_EARLY:
        outbox_stall(o, w, why);
        return;
    case STORE_REFUSED:
        if (w->kind == OUTBOX_SKIP) {
            outbox_die(o, why);
            return;
        }
        outbox_what(w, what, sizeof(what));
        log_line(LOG_ERROR, "table %s: %s (write %lld) refused by the store (%s); dropped, so "
                 "this table's books no longer match its seats", o->table_id, what,
                 (long long)w->seq, why ? why : "refused");
        /* It stays in its place as a skip of its number, sent as any write would be. */
        if (w->kind == OUTBOX_HAND) {
            o->hands--;
            if (o->ops->hand_settled && !o->orphan)
                o->ops->hand_settled(o->arg, w->hand.hand_id);
        }
        w->kind = OUTBOX_SKIP;
        if (!o->stalled)
            outbox_send(o, w);
        return;
    }
}

static void outbox_done(void *arg, enum store_outcome r, const char *why)
{
    struct outbox_write *w = arg;
    struct outbox *o = w->box;
    if (w->sent) {
        w->sent = false;
        o->due--;
    }
    outbox_answer(o, w, r, why);
    if (o->orphan && o->due == 0)
        outbox_free(o);
}

static void outbox_send_all(struct outbox *o)
{
    o->stalled = false;
    for (struct outbox_write *w = o->head; w && !o->stalled; w = w->next)
        if (!w->sent)
            outbox_send(o, w);
}

static void outbox_retry_fire(void *arg)
{
    struct outbox *o = arg;
    if (o->stopping || o->dead)
        return;
    if (o->due > 0) { /* an answer is still due: wait for it */
        timer_arm(o->retry, OUTBOX_RETRY_MS);
        return;
    }
    outbox_send_all(o);
}

struct outbox *outbox_new(struct store *s, const char *table_id, int64_t last_seq,
                          const struct outbox_ops *ops, void *arg)
{
    struct outbox *o = xcalloc(1, sizeof(*o));
    o->store = s;
    snprintf(o->table_id, sizeof(o->table_id), "%s", table_id);
    o->last_seq = last_seq;
    o->ops = ops;
    o->arg = arg;
    o->tail = &o->head;
    o->retry = timer_new(outbox_retry_fire, o);
    return o;
}

void outbox_free(struct outbox *o)
{
    if (!o)
        return;
    for (struct outbox **at = &outbox_orphans; o->orphan && *at; at = &(*at)->next_orphan)
        if (*at == o) {
            *at = o->next_orphan;
            break;
        }
    while (o->head) {
        struct outbox_write *w = o->head;
        o->head = w->next;
        outbox_write_free(w);
    }
    timer_free(o->retry);
    free(o);
}

void outbox_abandon(struct outbox *o)
{
    if (!o)
        return;
    o->orphan = o->dead = true;
    timer_cancel(o->retry);
    for (struct outbox_write *w = o->head, *next; w; w = next) {
        next = w->next;
        if (!w->sent)
            outbox_unlink(o, w);
    }
    if (o->due == 0) {
        outbox_free(o);
        return;
    }
    o->next_orphan = outbox_orphans;
    outbox_orphans = o;
}

void outbox_free_orphans(void)
{
    while (outbox_orphans)
        outbox_free(outbox_orphans);
}

void outbox_set_seq(struct outbox *o, int64_t last_seq)
{
    FELT_ASSERT(o->n == 0);
    o->last_seq = last_seq;
}

void outbox_shutdown(struct outbox *o)
{
    o->stopping = true;
    timer_cancel(o->retry);
    /* Those not sent go now, behind those still in flight: the sequence keeps them in order, and
     * refuses any whose elder fails. Their answers are never dispatched (store_close). */
    if (o->stalled && !o->dead) {
        size_t unsent = 0;
        for (struct outbox_write *w = o->head; w; w = w->next)
            unsent += !w->sent;
        log_line(LOG_WARNING,
                 "table %s: stopping with %zu writes not stored; trying them once more",
                 o->table_id, unsent);
        outbox_send_all(o);
    }
}

/* A new write of kind, numbered and listed (outbox_go sends it). */
static struct outbox_write *outbox_add(struct outbox *o, enum outbox_kind kind,
                                       const char *player_id)
{
    struct outbox_write *w = xcalloc(1, sizeof(*w));
    w->box = o;
    w->kind = kind;
    w->seq = ++o->last_seq;
    snprintf(w->seat.table_id, sizeof(w->seat.table_id), "%s", o->table_id);
    if (player_id)
        snprintf(w->seat.player_id, sizeof(w->seat.player_id), "%s", player_id);
    *o->tail = w;
    o->tail = &w->next;
    o->n++;
    if (kind == OUTBOX_HAND)
        o->hands++;
    return w;
}

/* Sends w, unless the outbox is stalled: the retry sends it then, after those before it. A dead
 * outbox drops it at once. */
static void outbox_go(struct outbox *o, struct outbox_write *w)
{
    if (o->dead) {
        char what[32];
        outbox_what(w, what, sizeof(what));
        log_line(LOG_ERROR, "table %s: %s not stored (the store refuses this table's writes)",
                 o->table_id, what);
        outbox_unlink(o, w);
    } else if (!o->stalled) {
        outbox_send(o, w);
    }
}

void outbox_join(struct outbox *o, const struct store_seat *seat, int64_t buy_in)
{
    struct outbox_write *w = outbox_add(o, OUTBOX_JOIN, NULL);
    w->seat = *seat;
    w->amount = buy_in;
    outbox_go(o, w);
}

void outbox_leave(struct outbox *o, const char *player_id, int64_t cash_out)
{
    struct outbox_write *w = outbox_add(o, OUTBOX_LEAVE, player_id);
    w->amount = cash_out;
    outbox_go(o, w);
}

void outbox_rebuy(struct outbox *o, const char *player_id, int64_t amount)
{
    struct outbox_write *w = outbox_add(o, OUTBOX_REBUY, player_id);
    w->amount = amount;
    outbox_go(o, w);
}

bool outbox_sit(struct outbox *o, const char *player_id, bool sitting_out)
{
    struct outbox_write *last = NULL;
    for (struct outbox_write *w = o->head; w; w = w->next)
        last = w;
    /* The same player's change, still waiting behind a failed write: this one replaces it. */
    if (last && !last->sent && last->kind == OUTBOX_SIT &&
        strcmp(last->seat.player_id, player_id) == 0) {
        last->seat.sitting_out = sitting_out;
        return true;
    }
    if (outbox_full(o))
        return false;
    struct outbox_write *w = outbox_add(o, OUTBOX_SIT, player_id);
    w->seat.sitting_out = sitting_out;
    outbox_go(o, w);
    return true;
}

void outbox_hand(struct outbox *o, const struct store_hand *h)
{
    struct outbox_write *w = outbox_add(o, OUTBOX_HAND, NULL);
    w->hand = *h;
    w->record = xstrdup(h->record_json ? h->record_json : "{}");
    w->results = h->results_json ? xstrdup(h->results_json) : NULL;
    w->hand.record_json = w->record;
    w->hand.results_json = w->results;
    outbox_go(o, w);
}

bool outbox_hand_pending(const struct outbox *o)
{
    return o->hands > 0 && !o->dead;
}

size_t outbox_len(const struct outbox *o)
{
    return o->n;
}

bool outbox_full(const struct outbox *o)
{
    return o->n >= OUTBOX_MAX;
}
