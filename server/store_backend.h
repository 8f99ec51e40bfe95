/*
 * store_backend.h: what store.c (the queue, the writer thread, the completions) needs from a
 * database, and what the databases share. Private to the felt_store library: table.c and the
 * rest of feltd see only store.h.
 *
 * A backend is a handle (struct store_db, its own) and a const table of functions
 * (struct store_backend). store.c owns the threads: it calls run_batch on its writer thread, one
 * batch at a time, and the read functions on the loop thread or the writer thread (never two at
 * once); a backend whose writer and reader share one connection serialises them itself. Two
 * backends: SQLite (store_sqlite.c, one folder, the single-node default) and PostgreSQL
 * (store_pg.c, a server several feltd nodes share).
 * Both store the same rows with the same constraints, so every rule of store.h holds for either.
 *
 * Calls run one way: store.c -> store_sqlite.c / store_pg.c -> store_backend.c (the helpers at
 * the end of this header).
 */
#ifndef FELT_STORE_BACKEND_H
#define FELT_STORE_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

#define STORE_ISO_LEN 40
#define STORE_WHY_LEN 160

/* clang-format off */
enum store_job_kind {
    JOB_TABLE_PUT, JOB_SEAT_JOIN, JOB_SEAT_UPDATE, JOB_SEAT_LEAVE, JOB_SEAT_REBUY,
    JOB_HAND_BEGIN, JOB_HAND_COMMIT, JOB_VOID_RUNNING, JOB_TABLE_FENCE, JOB_VOID_TABLE,
    JOB_ORDER_SKIP, /* store_order_skip: the order check alone (u.table.id) */
    JOB_READ_HANDS, /* store_hands: not a write; store.c runs it, never a backend's run_batch */
    JOB_TAKE        /* store_table_take: store.c runs it (two one-job batches and two reads) */
};
/* clang-format on */

/* A store_table_take job's own: the caller's ops and done, then what the writer found. */
struct store_take_rows {
    const struct store_load_ops *ops;
    store_take_done_fn done;
    const char *code; /* store.h's, when the take failed */
    bool have_table;
    struct store_table table;
    struct store_seat *seats;
    struct store_departure *departures;
    int64_t *voided;
    size_t nseats, ndepartures, nvoided;
};

/* One queued write (or store_hands' read): a copy of its arguments, then its outcome (written by
 * the writer thread, read by the loop thread only after the job is handed back under store.c's
 * mutex). */
struct store_job {
    struct store_job *next;
    enum store_job_kind kind;
    char at[STORE_ISO_LEN]; /* when it was queued (ISO 8601 UTC): the time of its ledger row */
    union {
        struct store_table table; /* table_put; the id of table_fence and void_table */
        struct store_seat seat;   /* seat_*: update and leave use the ids and sitting_out */
        struct store_hand hand;   /* hand_*: its two pointers are unused, see record/results */
    } u;
    int64_t amount; /* buy-in or cash-out */
    int64_t fence;  /* store_table_fence's for the job's table when it was queued */
    int64_t seq;    /* its place in its table's order (struct store_order); 0: not ordered */
    char *record, *results;
    store_done_fn done;        /* the store's own reads (store_run_now) */
    store_order_fn order_done; /* an ordered write's (struct store_order) */
    void *arg;
    bool ok;
    bool left_out; /* a backend's own: failed alone, left out of the batch's next attempt */
    bool refused;  /* failed alone: the job itself (a constraint, bad data, a fence), not the
                      transaction (store_backend_refuse) */
    bool fenced;   /* failed because a newer owner's fence is stored (store_backend_fenced) */
    bool early;    /* failed because it came before its predecessor (store_backend_out_of_order) */
    char why[STORE_WHY_LEN];
    /* JOB_READ_HANDS: u.hand.table_id, since in u.hand.hand_id, limit in amount; the rows read
     * (owned copies) and who waits for them. */
    store_hands_done_fn hands_done;
    struct store_hand_row *rows;
    size_t nrows, rows_cap;
    struct store_take_rows *take; /* JOB_TAKE: the table's id in u.table.id */
};

/* The fence check's refusal, in a job's why. */
#define STORE_FENCED_FMT "table %s is missing or fenced (an owner newer than fence %lld wrote it)"

/* The order check's refusal (store_backend_out_of_order), in a job's why. */
#define STORE_ORDER_FMT "write %lld of table %s is out of order (the last one stored is %lld)"

/* A hand that store_load found still running (feltd stopped during it). */
struct store_voided {
    char table_id[PROTO_GAME_ID_MAX + 1];
    int64_t hand_id;
};

struct store_db; /* a backend's own */

struct store_backend {
    /* Writer thread. Runs the batch (a list through next) as one transaction, each job alone
     * able to fail (a constraint, a seat that is not there: rolled back alone, j->ok false and
     * j->why set) without its neighbours; when the transaction itself fails nothing of the batch
     * is stored and every job says why. Sets every job's ok and why; true if it committed. */
    bool (*run_batch)(struct store_db *db, struct store_job *batch);
    /* Loop thread, or the writer thread for store_hands and store_table_take (store.c never
     * runs two at once: its read mutex). Each reads one consistent snapshot; 0, or -1 with err
     * ("store_io", or "store_not_felt" for a row that cannot be ours). */
    int (*read_running)(struct store_db *db, struct store_voided **out, size_t *n,
                        struct felt_err *err); /* *out: malloc'd, the caller frees it */
    int (*read_rows)(struct store_db *db, const struct store_load_ops *ops, void *user,
                     struct felt_err *err); /* tables, then seats, then departures */
    int (*read_hands)(struct store_db *db, const char *table_id, int64_t since, int limit,
                      store_hand_fn cb, void *user, struct felt_err *err); /* limit 1..100 */
    int (*read_ledger)(struct store_db *db, const char *table_id, struct store_ledger *out,
                       struct felt_err *err);
    /* Loop thread, before any write (store_claim); NULL when the database needs no claim (a
     * SQLite folder is locked by its open). */
    int (*claim)(struct store_db *db, int timeout_ms, struct felt_err *err);
    /* After the writer thread has stopped: commits nothing more, closes every connection. */
    void (*close)(struct store_db *db);
};

/* The backends' constructors (store.c calls them from store_open and store_open_pg). Each
 * returns 0 with *db and *ops, or -1 with err (store.h's codes) and nothing left open. */
int store_sqlite_open(const char *dir, struct store_db **db, const struct store_backend **ops,
                      struct felt_err *err);
int store_pg_open(const char *conninfo, struct store_db **db, const struct store_backend **ops,
                  struct felt_err *err);

/* ---- shared by the backends (store_backend.c) ---------------------------------------------- */

/* felt_err_set, with the message kept to one line whatever a path or a server put in it. */
int store_backend_fail(struct felt_err *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A job refused by its table's fence: j->fenced, and STORE_FENCED_FMT in j->why; returns -1. */
int store_backend_fenced(struct store_job *j, const char *table_id);
/* An ordered job that comes too early (its table's stored write_seq, last, is below seq - 1; -1
 * when the table is not stored): j->early, STORE_ORDER_FMT in j->why; returns -1. */
int store_backend_out_of_order(struct store_job *j, int64_t last);
/* The order check of an ordered job whose UPDATE of write_seq (from seq - 1, under the fence)
 * changed nothing, given what the table's row holds (found false: no row): 1 when the job is
 * stored already, else -1 with j->why set (fenced: a newer owner's fence, or no row; early). */
int store_backend_order_found(struct store_job *j, bool found, int64_t write_seq, int64_t fence);
/* The table an ordered job (a seat's, a hand's) is for. */
const char *store_backend_job_table(const struct store_job *j);
/* Sets j->why; returns -1 (a job's own failure). */
int store_backend_reject(struct store_job *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* str is non-NULL and min..max bytes long. */
bool store_backend_len_ok(const char *str, size_t min, size_t max);
/* ms since the epoch as ISO 8601 UTC with milliseconds ("2026-12-04T18:56:13.123Z"), and back
 * (0 for anything else, NULL included). */
void store_backend_iso(int64_t ms, char out[STORE_ISO_LEN]);
int64_t store_backend_ms(const char *iso);
/* Whether a batch holding this job must be durable against a power cut when it commits:
 * everything with a ledger row (chips moving) and the voiding of cut-short hands. A hand's
 * start, a sit-out flag and a table's settings need not be: they ride on the next durable
 * commit. */
bool store_backend_job_durable(const struct store_job *j);
bool store_backend_batch_durable(const struct store_job *batch);

#endif
