/*
 * store.c: the store's engine room, the same whatever the database: the bounded queue of writes,
 * the writer thread that runs them in batches, and the completions handed back to the loop.
 *
 * The loop thread queues jobs (copies of their arguments) on a bounded list under a mutex; the
 * writer takes everything queued, has the backend (store_backend.h: SQLite by default,
 * PostgreSQL with store_open_pg) run it as one transaction with each job able to fail alone,
 * and hands the jobs that have something to report back through a second list and an eventfd.
 * A client's read (store_hands) and a node's takeover of a table (store_table_take) ride the same
 * queue and are run by the writer after its batch; store_load's and store_ledger's reads go
 * straight to the backend on the loop thread. One mutex (read_mu) keeps the two threads off the
 * reader connection at the same time. A database is opened, checked and
 * migrated by its backend; store.c then starts the writer.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "store_backend.h"

struct store_fence {
    char id[PROTO_GAME_ID_MAX + 1]; /* "" for an empty slot */
    int64_t fence;
};

struct store {
    struct store_db *db;
    const struct store_backend *ops;
    char what[96]; /* names the store in messages: its folder or the PostgreSQL server */
    int efd;
    pthread_t writer;
    bool writer_started;

    pthread_mutex_t read_mu; /* held around every call of a backend's read functions */
    pthread_mutex_t mu; /* guards everything down to error_arg */
    pthread_cond_t work, flushed;
    struct store_job *queue, **queue_tail; /* waiting for the writer */
    struct store_job *done, **done_tail;   /* waiting for store_dispatch */
    size_t inflight;                       /* jobs queued, being written or in done */
    uint64_t queued, finished, unflushed_failures;
    bool stopping;
    store_done_fn error_hook;
    void *error_arg;

    _Atomic uint64_t jobs, transactions, failures;

    /* store_table_fence's fences by table id (loop thread only): open addressing, linear
     * probing, fence_cap a power of two at most half full. */
    struct store_fence *fences;
    size_t nfences, fence_cap;
};

/* ---- the writer thread -------------------------------------------------------------------- */

static void store_job_free(struct store_job *j)
{
    for (size_t i = 0; i < j->nrows; i++) {
        free((char *)j->rows[i].state);
        free((char *)j->rows[i].record_json);
        free((char *)j->rows[i].results_json);
    }
    free(j->rows);
    if (j->take) {
        free(j->take->seats);
        free(j->take->departures);
        free(j->take->voided);
        free(j->take);
    }
    free(j->record);
    free(j->results);
    free(j);
}

/* Under s->mu: accounts for a finished batch, frees the jobs nobody waits for, hands the
 * others to store_dispatch and wakes the loop and any store_flush. */
static void store_finish(struct store *s, struct store_job *batch)
{
    uint64_t n = 0, failed = 0;
    bool wake = false;
    for (struct store_job *j = batch, *next; j; j = next) {
        next = j->next;
        n++;
        /* a failed read or take is its caller's alone */
        failed += !j->ok && j->kind != JOB_READ_HANDS && j->kind != JOB_TAKE;
        if (j->done || j->order_done || j->hands_done || j->take || (!j->ok && s->error_hook)) {
            j->next = NULL;
            *s->done_tail = j;
            s->done_tail = &j->next;
            wake = true;
        } else {
            store_job_free(j);
            s->inflight--;
        }
    }
    s->finished += n;
    s->unflushed_failures += failed;
    atomic_fetch_add(&s->jobs, n);
    atomic_fetch_add(&s->failures, failed);
    pthread_cond_broadcast(&s->flushed);
    uint64_t one = 1;
    if (wake && write(s->efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
        felt_fatal("store: eventfd write failed: %s", strerror(errno));
}

/* Writer thread: a store_hands row, copied into its job. */
static int store_hands_copy_row(void *user, const struct store_hand_row *h)
{
    struct store_job *j = user;
    if (j->nrows == j->rows_cap) {
        j->rows_cap = j->rows_cap ? 2 * j->rows_cap : 16;
        j->rows = xrealloc(j->rows, j->rows_cap * sizeof(*j->rows));
    }
    struct store_hand_row *r = &j->rows[j->nrows++];
    *r = *h;
    r->state = xstrdup(h->state);
    r->record_json = xstrdup(h->record_json);
    r->results_json = xstrdup(h->results_json);
    return 0;
}

/* Writer thread: runs a store_hands job. */
static void store_read_hands(struct store *s, struct store_job *j)
{
    struct felt_err err = {0};
    pthread_mutex_lock(&s->read_mu);
    j->ok = s->ops->read_hands(s->db, j->u.hand.table_id, j->u.hand.hand_id, (int)j->amount,
                               store_hands_copy_row, j, &err) == 0;
    pthread_mutex_unlock(&s->read_mu);
    if (!j->ok) snprintf(j->why, sizeof(j->why), "%s", err.message);
}

/* The backend's reads, each under read_mu: the loop thread runs store_load's and the writer
 * store_hands' and store_table_take's, on the same reader connection. */
static int store_read_running(struct store *s, struct store_voided **out, size_t *n,
                              struct felt_err *err)
{
    pthread_mutex_lock(&s->read_mu);
    int rc = s->ops->read_running(s->db, out, n, err);
    pthread_mutex_unlock(&s->read_mu);
    return rc;
}

static int store_read_rows(struct store *s, const struct store_load_ops *ops, void *user,
                           struct felt_err *err)
{
    pthread_mutex_lock(&s->read_mu);
    int rc = s->ops->read_rows(s->db, ops, user, err);
    pthread_mutex_unlock(&s->read_mu);
    return rc;
}

/* ---- a take, on the writer thread ------------------------------------------------------ */

/* store_table_take's rows of its one table, kept in its job until store_dispatch. */
static void store_take_keep_table(void *user, const struct store_table *t)
{
    struct store_job *j = user;
    if (strcmp(t->id, j->u.table.id) == 0) {
        j->take->table = *t;
        j->take->have_table = true;
    }
}

static void store_take_keep_seat(void *user, const struct store_seat *seat)
{
    struct store_job *j = user;
    struct store_take_rows *k = j->take;
    if (strcmp(seat->table_id, j->u.table.id) != 0) return;
    k->seats = xrealloc(k->seats, (k->nseats + 1) * sizeof(*k->seats));
    k->seats[k->nseats++] = *seat;
}

static void store_take_keep_departure(void *user, const struct store_departure *d)
{
    struct store_job *j = user;
    struct store_take_rows *k = j->take;
    if (strcmp(d->table_id, j->u.table.id) != 0) return;
    k->departures = xrealloc(k->departures, (k->ndepartures + 1) * sizeof(*k->departures));
    k->departures[k->ndepartures++] = *d;
}

static const struct store_load_ops store_take_keep_ops = {
    .table = store_take_keep_table,
    .seat = store_take_keep_seat,
    .departure = store_take_keep_departure,
};

/* One write of a take (the fence raised, the running hands voided) as a batch of its own;
 * false with the take's code and why set when it was not stored. */
static bool store_take_step(struct store *s, struct store_job *take, enum store_job_kind kind,
                            const char *step)
{
    struct store_job w = {.kind = kind, .fence = take->fence};
    memcpy(w.at, take->at, sizeof(w.at));
    w.u.table = take->u.table;
    if (s->ops->run_batch(s->db, &w)) atomic_fetch_add(&s->transactions, 1);
    if (w.ok) return true;
    take->take->code = w.fenced ? "store_fenced" : "store_io"; /* else not stored at all */
    store_backend_reject(take, "cannot %s the table: %s", step, w.why);
    return false;
}

/* Runs a store_table_take job: the fence, the running hands, the rows. */
static void store_take_run(struct store *s, struct store_job *j)
{
    struct store_take_rows *k = j->take;
    struct store_voided *running = NULL;
    struct felt_err err = {0};
    size_t nrunning = 0;
    j->ok = false;
    if (!store_take_step(s, j, JOB_TABLE_FENCE, "take")) {
        /* Refused: the table's row says which fence is stored, the one to beat (a Redis that
         * forgot its counter hands out lower ones). */
        if (strcmp(k->code, "store_fenced") == 0)
            store_read_rows(s, &store_take_keep_ops, j, &err);
        k->nseats = k->ndepartures = 0;
        goto out;
    }
    /* From here no older owner can begin or commit a hand at this table, so the hands found
     * running are all there are, and stay so. */
    if (store_read_running(s, &running, &nrunning, &err) != 0) goto failed;
    for (size_t i = 0; i < nrunning; i++)
        if (strcmp(running[i].table_id, j->u.table.id) == 0) {
            k->voided = xrealloc(k->voided, (k->nvoided + 1) * sizeof(*k->voided));
            k->voided[k->nvoided++] = running[i].hand_id;
        }
    if (k->nvoided > 0 && !store_take_step(s, j, JOB_VOID_TABLE, "void the hand cut short at"))
        goto out;
    if (store_read_rows(s, &store_take_keep_ops, j, &err) != 0) goto failed;
    j->ok = true;
    goto out;
failed:
    k->code = strcmp(err.code, "store_not_felt") == 0 ? "store_not_felt" : "store_io";
    snprintf(j->why, sizeof(j->why), "%s", err.message);
out:
    free(running);
}

/* The writer: takes everything queued, writes it (the reads among it after the writes have
 * committed), reports it; on stop, drains the queue. */
static void *store_writer(void *arg)
{
    struct store *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->queue && !s->stopping)
            pthread_cond_wait(&s->work, &s->mu);
        struct store_job *batch = s->queue;
        if (!batch) break;
        s->queue = NULL;
        s->queue_tail = &s->queue;
        pthread_mutex_unlock(&s->mu);
        struct store_job *writes = NULL, **wt = &writes, *reads = NULL, **rt = &reads;
        for (struct store_job *j = batch, *next; j; j = next) {
            next = j->next;
            j->next = NULL;
            if (j->kind == JOB_READ_HANDS || j->kind == JOB_TAKE) {
                *rt = j;
                rt = &j->next;
            } else {
                *wt = j;
                wt = &j->next;
            }
        }
        if (writes && s->ops->run_batch(s->db, writes)) atomic_fetch_add(&s->transactions, 1);
        for (struct store_job *j = reads; j; j = j->next)
            if (j->kind == JOB_TAKE)
                store_take_run(s, j);
            else
                store_read_hands(s, j);
        *wt = reads; /* one list again: the writes, then the reads */
        pthread_mutex_lock(&s->mu);
        store_finish(s, writes);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* The writer runs with every signal blocked: asynchronous ones go to the loop thread, and a
 * SIGXFSZ raised by a write past RLIMIT_FSIZE stays pending on the writer instead of killing
 * feltd, so the write fails (EFBIG) and the transaction is reported failed like a full disk. */
static int store_start(struct store *s, struct felt_err *err)
{
    sigset_t all, old;
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->efd < 0)
        return store_backend_fail(err, "store_io", "%s: eventfd: %s", s->what, strerror(errno));
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&s->writer, NULL, store_writer, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0)
        return store_backend_fail(err, "store_io", "%s: cannot start the writer: %s", s->what,
                                  strerror(e));
    s->writer_started = true;
    /* Named so that top -H, perf and felt-bench can tell the store's CPU from the loop's. */
    pthread_setname_np(s->writer, STORE_THREAD_NAME);
    return 0;
}

/* ---- open, close -------------------------------------------------------------------------- */

typedef int (*store_backend_open_fn)(const char *where, struct store_db **db,
                                     const struct store_backend **ops, struct felt_err *err);

static int store_open_with(store_backend_open_fn open_fn, const char *where, const char *what,
                           struct store **out, struct felt_err *err)
{
    struct store *s = xcalloc(1, sizeof(*s));
    *out = NULL;
    s->efd = -1;
    s->queue_tail = &s->queue;
    s->done_tail = &s->done;
    snprintf(s->what, sizeof(s->what), "%s", what);
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->read_mu, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->flushed, NULL);
    if (open_fn(where, &s->db, &s->ops, err) != 0 || store_start(s, err) != 0) {
        store_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

int store_open(const char *dir, struct store **out, struct felt_err *err)
{
    return store_open_with(store_sqlite_open, dir, dir, out, err);
}

int store_open_pg(const char *conninfo, struct store **out, struct felt_err *err)
{
    return store_open_with(store_pg_open, conninfo, "PostgreSQL", out, err);
}

void store_close(struct store *s)
{
    if (!s) return;
    if (s->writer_started) {
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        pthread_cond_signal(&s->work);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->writer, NULL);
    }
    if (s->db) s->ops->close(s->db);
    for (struct store_job *j = s->done, *next; j; j = next) {
        next = j->next;
        if (j->hands_done) j->hands_done(j->arg, NULL, 0, "the store closed");
        if (j->take) j->take->done(j->arg, "store_io", "the store closed");
        store_job_free(j);
    }
    if (s->efd >= 0) close(s->efd);
    pthread_cond_destroy(&s->flushed);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->read_mu);
    free(s->fences);
    free(s);
}

/* ---- fences ------------------------------------------------------------------------------ */

/* The slot holding id, or the empty slot where it would go. fence_cap > 0. */
static struct store_fence *store_fence_slot(struct store_fence *fences, size_t cap, const char *id)
{
    size_t mask = cap - 1;
    for (size_t i = felt_hash_str(id) & mask;; i = (i + 1) & mask)
        if (!fences[i].id[0] || strcmp(fences[i].id, id) == 0) return &fences[i];
}

static int64_t store_fence_of(const struct store *s, const char *table_id)
{
    if (s->fence_cap == 0) return 0;
    const struct store_fence *f = store_fence_slot(s->fences, s->fence_cap, table_id);
    return f->id[0] ? f->fence : 0;
}

int store_table_fence(struct store *s, const char *table_id, int64_t fence)
{
    if (!store_backend_len_ok(table_id, 1, PROTO_GAME_ID_MAX) || fence < 0) return -1;
    if (2 * (s->nfences + 1) > s->fence_cap) {
        size_t cap = s->fence_cap ? 2 * s->fence_cap : 64;
        struct store_fence *grown = xcalloc(cap, sizeof(*grown));
        for (size_t i = 0; i < s->fence_cap; i++)
            if (s->fences[i].id[0]) *store_fence_slot(grown, cap, s->fences[i].id) = s->fences[i];
        free(s->fences);
        s->fences = grown;
        s->fence_cap = cap;
    }
    struct store_fence *f = store_fence_slot(s->fences, s->fence_cap, table_id);
    if (!f->id[0]) {
        memcpy(f->id, table_id, strlen(table_id) + 1);
        s->nfences++;
    }
    f->fence = fence;
    return 0;
}

/* ---- writes ------------------------------------------------------------------------------- */

/* A job for table_id (NULL: every table), carrying the table's fence. */
static struct store_job *store_job_new(const struct store *s, enum store_job_kind kind,
                                       const char *table_id)
{
    struct store_job *j = xcalloc(1, sizeof(*j));
    j->kind = kind;
    j->fence = table_id ? store_fence_of(s, table_id) : 0;
    store_backend_iso(felt_now_ms(), j->at);
    return j;
}

/* Queues j, or frees it and returns -1 when the queue is full. */
static int store_push(struct store *s, struct store_job *j)
{
    pthread_mutex_lock(&s->mu);
    bool full = s->inflight >= STORE_QUEUE_MAX;
    if (!full) {
        *s->queue_tail = j;
        s->queue_tail = &j->next;
        s->inflight++;
        s->queued++;
        pthread_cond_signal(&s->work);
    }
    pthread_mutex_unlock(&s->mu);
    if (full) store_job_free(j);
    return full ? -1 : 0;
}

/* A seat job for table_id/player_id, or NULL when either is malformed. */
static struct store_job *store_seat_job(const struct store *s, enum store_job_kind kind,
                                        const char *table_id, const char *player_id)
{
    if (!store_backend_len_ok(table_id, 1, PROTO_GAME_ID_MAX) ||
        !store_backend_len_ok(player_id, STORE_PLAYER_ID_LEN, STORE_PLAYER_ID_LEN))
        return NULL;
    struct store_job *j = store_job_new(s, kind, table_id);
    memcpy(j->u.seat.table_id, table_id, strlen(table_id) + 1);
    memcpy(j->u.seat.player_id, player_id, STORE_PLAYER_ID_LEN + 1);
    return j;
}

int store_table_put(struct store *s, const struct store_table *t)
{
    if (!store_backend_len_ok(t->id, 1, PROTO_GAME_ID_MAX)) return -1;
    struct store_job *j = store_job_new(s, JOB_TABLE_PUT, t->id);
    j->u.table = *t;
    return store_push(s, j);
}

/* Queues j with the order o (NULL: none), or frees it and returns -1 (the queue full). */
static int store_push_ordered(struct store *s, struct store_job *j, const struct store_order *o)
{
    if (o) {
        FELT_ASSERT(o->seq >= 0);
        j->seq = o->seq;
        j->order_done = o->done;
        j->arg = o->arg;
    }
    return store_push(s, j);
}

int store_order_skip(struct store *s, const char *table_id, const struct store_order *o)
{
    if (!store_backend_len_ok(table_id, 1, PROTO_GAME_ID_MAX)) return -1;
    struct store_job *j = store_job_new(s, JOB_ORDER_SKIP, table_id);
    memcpy(j->u.table.id, table_id, strlen(table_id) + 1);
    return store_push_ordered(s, j, o);
}

int store_seat_join(struct store *s, const struct store_seat *seat, int64_t buy_in,
                    const struct store_order *o)
{
    if (!store_backend_len_ok(seat->name, 0, PROTO_NAME_MAX_BYTES)) return -1;
    struct store_job *j = store_seat_job(s, JOB_SEAT_JOIN, seat->table_id, seat->player_id);
    if (!j) return -1;
    j->u.seat = *seat;
    j->amount = buy_in;
    return store_push_ordered(s, j, o);
}

int store_seat_update(struct store *s, const char *table_id, const char *player_id,
                      bool sitting_out, const struct store_order *o)
{
    struct store_job *j = store_seat_job(s, JOB_SEAT_UPDATE, table_id, player_id);
    if (!j) return -1;
    j->u.seat.sitting_out = sitting_out;
    return store_push_ordered(s, j, o);
}

int store_seat_leave(struct store *s, const char *table_id, const char *player_id, int64_t cash_out,
                     const struct store_order *o)
{
    struct store_job *j = store_seat_job(s, JOB_SEAT_LEAVE, table_id, player_id);
    if (!j) return -1;
    j->amount = cash_out;
    return store_push_ordered(s, j, o);
}

int store_seat_rebuy(struct store *s, const char *table_id, const char *player_id, int64_t amount,
                     const struct store_order *o)
{
    struct store_job *j = store_seat_job(s, JOB_SEAT_REBUY, table_id, player_id);
    if (!j) return -1;
    j->amount = amount;
    return store_push_ordered(s, j, o);
}

int store_hand_begin(struct store *s, const char *table_id, int64_t hand_id, int64_t started_ms,
                     const char *partial_record_json)
{
    if (!store_backend_len_ok(table_id, 1, PROTO_GAME_ID_MAX) || !partial_record_json) return -1;
    struct store_job *j = store_job_new(s, JOB_HAND_BEGIN, table_id);
    memcpy(j->u.hand.table_id, table_id, strlen(table_id) + 1);
    j->u.hand.hand_id = hand_id;
    j->u.hand.started_ms = started_ms;
    j->record = xstrdup(partial_record_json);
    return store_push(s, j);
}

int store_hand_commit(struct store *s, const struct store_hand *h, const struct store_order *o)
{
    if (!store_backend_len_ok(h->table_id, 1, PROTO_GAME_ID_MAX) || !h->record_json ||
        h->nplayers < 0 || h->nplayers > STORE_HAND_PLAYERS_MAX)
        return -1;
    for (int i = 0; i < h->nplayers; i++)
        if (!store_backend_len_ok(h->players[i].player_id, STORE_PLAYER_ID_LEN,
                                  STORE_PLAYER_ID_LEN))
            return -1;
    struct store_job *j = store_job_new(s, JOB_HAND_COMMIT, h->table_id);
    j->u.hand = *h;
    j->u.hand.record_json = j->u.hand.results_json = NULL;
    j->record = xstrdup(h->record_json);
    j->results = xstrdup(h->results_json ? h->results_json : "[]");
    return store_push_ordered(s, j, o);
}

void store_set_error_hook(struct store *s, store_done_fn fn, void *arg)
{
    pthread_mutex_lock(&s->mu);
    s->error_hook = fn;
    s->error_arg = arg;
    pthread_mutex_unlock(&s->mu);
}

int store_event_fd(const struct store *s)
{
    return s->efd;
}

/* Loop thread: a take's outcome to its caller, the rows first in store_load's order. */
static void store_take_report(const struct store_job *j)
{
    const struct store_take_rows *k = j->take;
    const struct store_load_ops *ops = k->ops;
    if (!j->ok) {
        if (ops->table && k->have_table && k->code && strcmp(k->code, "store_fenced") == 0)
            ops->table(j->arg, &k->table); /* its fence is the one to beat */
        k->done(j->arg, k->code ? k->code : "store_io", j->why);
        return;
    }
    if (ops->table && k->have_table) ops->table(j->arg, &k->table);
    for (size_t i = 0; i < k->nseats && ops->seat; i++) ops->seat(j->arg, &k->seats[i]);
    for (size_t i = 0; i < k->ndepartures && ops->departure; i++)
        ops->departure(j->arg, &k->departures[i]);
    for (size_t i = 0; i < k->nvoided && ops->voided; i++)
        ops->voided(j->arg, j->u.table.id, k->voided[i]);
    k->done(j->arg, NULL, NULL);
}

static enum store_outcome store_outcome_of(const struct store_job *j)
{
    if (j->ok) return STORE_STORED;
    return j->early ? STORE_EARLY : j->refused ? STORE_REFUSED : STORE_FAILED;
}

void store_dispatch(struct store *s)
{
    uint64_t n;
    /* Read before taking the list: a completion added after the read wakes the loop again. */
    if (read(s->efd, &n, sizeof(n)) < 0 && errno != EAGAIN && errno != EINTR)
        felt_fatal("store: eventfd read failed: %s", strerror(errno));
    pthread_mutex_lock(&s->mu);
    struct store_job *list = s->done;
    s->done = NULL;
    s->done_tail = &s->done;
    store_done_fn hook = s->error_hook;
    void *hook_arg = s->error_arg;
    pthread_mutex_unlock(&s->mu);

    size_t count = 0;
    for (struct store_job *j = list, *next; j; j = next) {
        next = j->next;
        if (j->hands_done)
            j->hands_done(j->arg, j->ok ? j->rows : NULL, j->ok ? j->nrows : 0,
                          j->ok ? NULL : j->why);
        else if (j->take)
            store_take_report(j);
        else if (j->order_done)
            j->order_done(j->arg, store_outcome_of(j), j->ok ? NULL : j->why);
        else if (j->done)
            j->done(j->arg, j->ok, j->ok ? NULL : j->why);
        else if (!j->ok && hook)
            hook(hook_arg, false, j->why);
        store_job_free(j);
        count++;
    }
    pthread_mutex_lock(&s->mu);
    s->inflight -= count;
    pthread_mutex_unlock(&s->mu);
}

int store_flush(struct store *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t target = s->queued;
    while (s->finished < target)
        pthread_cond_wait(&s->flushed, &s->mu);
    int rc = s->unflushed_failures ? -1 : 0;
    s->unflushed_failures = 0;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void store_stats(const struct store *s, struct store_stats *out)
{
    out->jobs = atomic_load(&s->jobs);
    out->transactions = atomic_load(&s->transactions);
    out->failures = atomic_load(&s->failures);
}

/* ---- reads ------------------------------------------------------------------------------- */

/* What a job run by store_run_now reported. */
struct store_now_result {
    bool ok;
    char why[STORE_WHY_LEN];
};

static void store_now_done(void *arg, bool ok, const char *why)
{
    struct store_now_result *r = arg;
    r->ok = ok;
    snprintf(r->why, sizeof(r->why), "%s", why ? why : "");
}

/* Runs j through the writer, like every write, and waits for it on the loop thread (store_flush,
 * then store_dispatch: completions of other jobs ready by then are delivered too). 0, or -1 with
 * r->why. */
static int store_run_now(struct store *s, struct store_job *j, struct store_now_result *r)
{
    r->ok = false;
    j->done = store_now_done;
    j->arg = r;
    if (store_push(s, j) != 0) {
        snprintf(r->why, sizeof(r->why), "the store's queue is full");
        return -1;
    }
    store_flush(s);
    store_dispatch(s);
    return r->ok ? 0 : -1;
}

int store_claim(struct store *s, int timeout_ms, struct felt_err *err)
{
    pthread_mutex_lock(&s->mu);
    bool wrote = s->queued > 0;
    pthread_mutex_unlock(&s->mu);
    FELT_ASSERT(!wrote); /* the writer's connection must be idle: nothing queued yet */
    return s->ops->claim ? s->ops->claim(s->db, timeout_ms, err) : 0;
}

int store_load(struct store *s, const struct store_load_ops *ops, void *user, struct felt_err *err)
{
    struct store_voided *voided = NULL;
    struct store_now_result result;
    size_t nvoided = 0;
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    bool wrote = s->queued > 0;
    pthread_mutex_unlock(&s->mu);
    FELT_ASSERT(!wrote); /* the voiding below would void hands this run has begun */

    if (store_read_running(s, &voided, &nvoided, err) != 0) goto out;
    if (nvoided > 0 && store_run_now(s, store_job_new(s, JOB_VOID_RUNNING, NULL), &result) != 0) {
        store_backend_fail(err, "store_io", "%s: cannot void the hands cut short: %s", s->what,
                           result.why);
        goto out;
    }
    if (store_read_rows(s, ops, user, err) != 0) goto out;
    for (size_t i = 0; i < nvoided && ops->voided; i++)
        ops->voided(user, voided[i].table_id, voided[i].hand_id);
    rc = 0;
out:
    free(voided);
    return rc;
}

int store_table_take(struct store *s, const char *table_id, int64_t fence,
                     const struct store_load_ops *ops, store_take_done_fn done, void *user)
{
    if (!ops || !done || !store_backend_len_ok(table_id, 1, PROTO_GAME_ID_MAX)) return -1;
    int64_t before = store_fence_of(s, table_id);
    if (store_table_fence(s, table_id, fence) != 0) return -1;
    struct store_job *j = store_job_new(s, JOB_TAKE, table_id);
    memcpy(j->u.table.id, table_id, strlen(table_id) + 1);
    j->take = xcalloc(1, sizeof(*j->take));
    j->take->ops = ops;
    j->take->done = done;
    j->arg = user;
    if (store_push(s, j) == 0) return 0;
    /* Not queued: the table's later writes keep the fence they had. */
    store_table_fence(s, table_id, before);
    return -1;
}

int store_hands(struct store *s, const char *table_id, int64_t since, int limit,
                store_hands_done_fn done, void *arg)
{
    if (!store_backend_len_ok(table_id, 1, PROTO_GAME_ID_MAX) || !done) return -1;
    struct store_job *j = store_job_new(s, JOB_READ_HANDS, NULL);
    memcpy(j->u.hand.table_id, table_id, strlen(table_id) + 1);
    j->u.hand.hand_id = since;
    j->amount = limit < 1 ? 1 : limit > 100 ? 100 : limit;
    j->hands_done = done;
    j->arg = arg;
    return store_push(s, j);
}

int store_ledger(struct store *s, const char *table_id, struct store_ledger *out,
                 struct felt_err *err)
{
    pthread_mutex_lock(&s->read_mu);
    int rc = s->ops->read_ledger(s->db, table_id, out, err);
    pthread_mutex_unlock(&s->read_mu);
    return rc;
}
