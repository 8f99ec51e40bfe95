/*
 * equity_job.c: the equity of tabled hands, counted exactly without holding up other tables
 * (contracts in equity_job.h).
 *
 * Where the time goes (bench/bench_equity.c, docs/performance.md): hands tabled from the flop on
 * cost at most C(45,2) boards per hand, a few microseconds, and are counted on the spot. Hands
 * tabled preflop cost C(52 - 2n, 5) boards: 3.4, 4.3 and 3.9 million hand evaluations for 2, 4
 * and 6 hands, several milliseconds, far past the 1 ms another table may be kept waiting. Three
 * ways were weighed:
 *  - a worker thread: the count would run beside the loop (on a second core, when there is one)
 *    but its result must come back through the loop (an eventfd adopted by net.c, as the store
 *    does), the table must still wait for it, and a table freed meanwhile must be fenced off;
 *  - a cache: a hand class table covers heads-up only (and takes minutes to fill); 3 to 6 hands
 *    never repeat;
 *  - slices on the loop (chosen): equity_step() counts at most EQUITY_JOB_SLICE_EVALS
 *    evaluations a slice (0.1 to 0.2 ms measured, 0.45 ms of CPU at worst under load); a timer
 *    run does slices until EQUITY_JOB_RUN_US have passed (so at most about 0.75 ms), then the
 *    count goes on EQUITY_JOB_PAUSE_MS later, and the loop serves every other table and socket
 *    in between. (The pause cannot be 0: timer_run_due runs a timer due "now" again within the
 *    same run, so the loop would never get its turn.) No thread, no lock, and a fake clock
 *    drives it like any timer (EQUITY_JOB_RUN_SLICES bounds a run whose clock does not move). The
 * cost: the held table waits for the whole count on one core (20 to 80 ms measured, by hands and
 * load), a short pause in a run-out the engine deals at once anyway. Each table keeps the last few
 * results (the streets of the hand in progress), so a snapshot or a resumed batch never counts
 * twice.
 */
#include "equity_job.h"

#include <stdlib.h>
#include <string.h>

#include "server.h"

#define EQJ_CACHE 6 /* preflop, flop, turn, river, and room for a snapshot's */

struct eqj_key {
    int nhands, nboard;
    card_t hands[EQUITY_MAX_HANDS][2];
    card_t board[5];
};

struct eqj_entry {
    bool used;
    struct eqj_key key;
    struct equity_result res;
};

struct equity_job {
    struct table *t;
    struct timer *step;
    struct engine before; /* t->eng as the last batch published left it */
    bool have_before;
    /* the batch held */
    bool held;
    struct engine after;
    struct engine_events evs;
    bool from_action;
    equity_job_resume_fn resume;
    struct eqj_key counting;
    struct equity_walk walk;
    int slices;
    int64_t started_us;
    /* the results of this hand */
    int64_t cache_hand;
    int cache_next;
    struct eqj_entry cache[EQJ_CACHE];
};

static void equity_job_step_fire(void *arg);

static struct equity_job *equity_job_of(struct table *t)
{
    if (!t->eq) {
        t->eq = xcalloc(1, sizeof(*t->eq));
        t->eq->t = t;
        t->eq->step = timer_new(equity_job_step_fire, t);
    }
    return t->eq;
}

static void equity_job_key(struct eqj_key *k, const card_t hands[][2], int n, const card_t *board,
                           int nboard)
{
    memset(k, 0, sizeof(*k));
    k->nhands = n;
    k->nboard = nboard;
    memcpy(k->hands, hands, sizeof(card_t) * 2 * (size_t)n);
    memcpy(k->board, board, (size_t)nboard);
}

static const struct equity_result *equity_job_cached(const struct table *t, const struct eqj_key *k)
{
    const struct equity_job *j = t->eq;
    if (!j || j->cache_hand != t->hand_id) return NULL;
    for (int i = 0; i < EQJ_CACHE; i++)
        if (j->cache[i].used && memcmp(&j->cache[i].key, k, sizeof(*k)) == 0)
            return &j->cache[i].res;
    return NULL;
}

static void equity_job_store(struct equity_job *j, const struct eqj_key *k,
                             const struct equity_result *res)
{
    if (j->cache_hand != j->t->hand_id) {
        memset(j->cache, 0, sizeof(j->cache));
        j->cache_hand = j->t->hand_id;
        j->cache_next = 0;
    }
    struct eqj_entry *e = &j->cache[j->cache_next];
    j->cache_next = (j->cache_next + 1) % EQJ_CACHE;
    e->used = true;
    e->key = *k;
    e->res = *res;
}

bool equity_job_result(const struct table *t, const card_t hands[][2], int n, const card_t *board,
                       int nboard, struct equity_result *out)
{
    struct eqj_key k;
    struct felt_err err;
    if (n < 2 || n > EQUITY_MAX_HANDS || nboard < 0 || nboard > 5) return false;
    equity_job_key(&k, hands, n, board, nboard);
    const struct equity_result *c = equity_job_cached(t, &k);
    if (c) {
        *out = *c;
        return true;
    }
    if (equity_cost(n, nboard) > EQUITY_JOB_INLINE_EVALS) return false;
    return equity_exact(hands, n, board, nboard, out, &err) == 0;
}

bool equity_job_hold(struct table *t, const struct engine_events *evs, bool from_action,
                     equity_job_resume_fn resume)
{
    const struct engine *e = &t->eng;
    uint16_t tabled = 0;
    int streeted = 0;
    bool shows = false;
    for (int s = 0; s < e->nseats; s++)
        if (t->shown[s] && e->p[s].dealt && !e->p[s].folded) tabled |= (uint16_t)(1u << s);
    for (int i = 0; i < evs->n; i++) {
        const struct engine_event *ev = &evs->ev[i];
        if (ev->kind == ENGINE_EV_DEAL_HOLE) return false; /* a new hand: see equity_job.h */
        if (ev->kind == ENGINE_EV_SHOW) {
            shows = true;
            tabled |= (uint16_t)(1u << ev->seat);
        }
        if (ev->kind == ENGINE_EV_STREET) streeted += ev->ncards;
    }
    struct equity_job *j = equity_job_of(t);
    if (!shows || !j->have_before || j->held) return false;

    card_t hands[EQUITY_MAX_HANDS][2];
    int n = 0, nboard = e->board_dealt - streeted;
    for (int s = 0; s < e->nseats; s++) {
        if (!(tabled >> s & 1)) continue;
        if (n == EQUITY_MAX_HANDS) return false; /* more hands than equity counts: none sent */
        memcpy(hands[n++], e->p[s].hole, 2);
    }
    struct eqj_key k;
    if (n < 2 || nboard < 0 || equity_cost(n, nboard) <= EQUITY_JOB_INLINE_EVALS) return false;
    equity_job_key(&k, (const card_t(*)[2])hands, n, e->board, nboard);
    if (equity_job_cached(t, &k)) return false;
    struct felt_err err;
    if (equity_start(&j->walk, (const card_t(*)[2])hands, n, e->board, nboard, &err) != 0)
        return false; /* cards the engine cannot have dealt: render leaves equity out */

    j->counting = k;
    j->held = true;
    j->after = t->eng;
    t->eng = j->before;
    j->evs = *evs;
    j->from_action = from_action;
    j->resume = resume;
    j->slices = 0;
    j->started_us = timer_now_us();
    timer_cancel(t->clock);
    timer_cancel(t->bot_turn);
    timer_arm(j->step, EQUITY_JOB_PAUSE_MS);
    return true;
}

/* A few slices (see the top); the last one hands the batch back to table.c. */
static void equity_job_step_fire(void *arg)
{
    struct table *t = arg;
    struct equity_job *j = t->eq;
    struct equity_result res;
    /* Shutting down: like the table's own timers (table_shutdown), the count stops; the hand
     * stays unfinished and is voided at the next start, as any hand in play at shutdown. */
    if (!j || !j->held || t->srv->shutting_down) return;
    int64_t run_start = timer_now_us();
    for (int i = 0;; i++) {
        j->slices++;
        if (equity_step(&j->walk, EQUITY_JOB_SLICE_EVALS)) break;
        if (i + 1 == EQUITY_JOB_RUN_SLICES || timer_now_us() - run_start >= EQUITY_JOB_RUN_US) {
            timer_arm(j->step, EQUITY_JOB_PAUSE_MS);
            return;
        }
    }
    equity_finish(&j->walk, &res);
    equity_job_store(j, &j->counting, &res);
    log_line(LOG_DEBUG,
             "table %s: equity of %d hands on %d board cards: %llu boards in %d "
             "slices, %lld us",
             t->cfg.id, j->counting.nhands, j->counting.nboard, (unsigned long long)res.boards,
             j->slices, (long long)(timer_now_us() - j->started_us));
    j->held = false;
    t->eng = j->after;
    j->resume(t, &j->evs, j->from_action);
}

void equity_job_settled(struct table *t)
{
    struct equity_job *j = equity_job_of(t);
    j->before = t->eng;
    j->have_before = true;
}

bool equity_job_held(const struct table *t)
{
    return t->eq && t->eq->held;
}

void equity_job_free(struct table *t)
{
    if (!t->eq) return;
    timer_free(t->eq->step);
    free(t->eq);
    t->eq = NULL;
}
