/*
 * store.h: feltd's durable storage, the one interface between the game and its database.
 *
 * Everything feltd keeps across a restart goes through here: tables and their settings, seats
 * (with stacks and token hashes), every hand (begun, completed or voided) and a chip ledger.
 * Two backends store the same rows under the same rules: SQLite (store_open: a folder, the
 * single-node default; store_sqlite.c) and PostgreSQL (store_open_pg: a server that several feltd
 * nodes can share; store_pg.c). table.c never knows which. This header includes only common/
 * headers: the store sits below table.c and knows nothing of feltd's other modules.
 *
 * Threads: every function here is called on one thread, the event loop's ("the loop thread").
 * Writes never wait on the database: they copy their arguments into a job and queue it for the
 * store's own writer thread, which runs everything queued in one transaction (the hands of many
 * tables finishing together share one commit), then reports completions back through an eventfd
 * (store_event_fd, store_dispatch). Reads go through a second connection (with SQLite a read-only
 * one, which WAL lets read while the writer writes): the hand histories a client asks for
 * (store_hands) and a node's takeover of a table (store_table_take) are queued and answered like
 * writes; the rest (store_load, store_ledger: start-up, tests) run synchronously on the loop
 * thread.
 */
#ifndef FELT_STORE_H
#define FELT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"
#include "util.h"

/* Jobs in flight (queued, being written, or waiting for store_dispatch) at most: a write past
 * this returns -1, so a stalled disk never grows memory without bound. */
#define STORE_QUEUE_MAX 65536
/* The writer thread's name (/proc/PID/task/TID/comm), for profilers and felt-bench. */
#define STORE_THREAD_NAME "feltd-store"
#define STORE_PLAYER_ID_LEN 16  /* player ids are 16 hex characters */
#define STORE_TOKEN_HASH_LEN 32 /* SHA-256 */
#define STORE_HAND_PLAYERS_MAX 10

struct store;

/*
 * Opens (creating if needed) the database in folder dir, or a private in-memory database when
 * dir is ":memory:" (benchmarks and tests; nothing survives store_close). dir is created like
 * mkdir -p (mode 0700); the database is dir/felt.db, and dir/felt.lock (held with flock) keeps a
 * second feltd off the same folder. Runs the schema's forward migrations, then starts the writer
 * thread. On success *out is the store and 0 is returned.
 *
 * On failure returns -1 with err->code and a one-line message naming the path:
 *   "store_newer"    the file was written by a newer feltd (its schema version is above ours);
 *   "store_not_felt" not a SQLite file, another application's database, or a damaged one
 *                    (PRAGMA quick_check runs at every open);
 *   "store_readonly" the folder or the file is not writable;
 *   "store_io"       anything else (disk full, I/O error, folder in use by another feltd).
 * A file that is not ours is never written to: it is identified with reads only.
 */
int store_open(const char *dir, struct store **out, struct felt_err *err);

/*
 * Opens the PostgreSQL database conninfo names (a libpq connection string:
 * "postgresql://USER@HOST:PORT/DB" or "host=... dbname=..."), creating felt's tables in it if it
 * has none, or migrating them forward (several feltd starting together migrate once: the migration
 * holds an advisory lock). Two connections, the writer's and the reader's. The errors are
 * store_open's: "store_newer" (felt_schema says a newer feltd wrote it), "store_not_felt" (the
 * database holds a table named like one of ours but no felt_schema), "store_io" (cannot connect,
 * authentication, anything else; the message has the server's reason, never the password).
 *
 * The server going away later (a restart, a network cut) is not fatal: the batch in flight fails
 * (reported like a full disk: done(ok=false), the error hook) and each later batch or read first
 * reconnects; a write is never replayed on its own, since the caller is told it failed.
 */
int store_open_pg(const char *conninfo, struct store **out, struct felt_err *err);

/*
 * One feltd's claim on its database, before store_load (a single node; several nodes sharing one
 * database are kept apart by fencing instead, and do not claim). PostgreSQL: waits up to
 * timeout_ms for every other claimant's session to end, then holds the database for as long as
 * the store is open (a session lock, taken again whenever the writer reconnects; while another
 * feltd holds it, nothing is written). A feltd killed with SIGKILL may leave its last transaction
 * in flight on the server, and it settles (commits or rolls back) before its session, and so its
 * claim, ends: a store that claims never loads the database under it. SQLite: nothing to do, the
 * open's flock already keeps a second feltd off the folder. Returns 0, or -1 with err:
 * "store_busy" (another feltd still holds it after timeout_ms), "store_io".
 */
int store_claim(struct store *s, int timeout_ms, struct felt_err *err);

/* Commits everything queued (the writer drains its queue), joins the writer thread and closes.
 * The completions of writes not yet dispatched are dropped without their callbacks (call
 * store_flush and store_dispatch first if they matter); reads and takes still waiting are
 * answered "the store closed" (store_hands, store_table_take). NULL is a no-op. */
void store_close(struct store *s);

struct store_table {
    char id[PROTO_GAME_ID_MAX + 1]; /* the game id */
    int seats;
    int64_t small_blind, big_blind, ante, buy_in, action_timeout_ms;
    int64_t last_hand_id; /* the highest hand id ever begun at this table (never reused) */
    int64_t fence;        /* store_load: the highest fence a write for the table carried (0 when
                             none did); ignored by store_table_put (store_table_fence) */
    int64_t write_seq;    /* store_load: the seq of the table's last ordered write stored (0 when
                             none was: struct store_order); ignored by store_table_put */
};

struct store_seat {
    char table_id[PROTO_GAME_ID_MAX + 1];
    char player_id[STORE_PLAYER_ID_LEN + 1];
    char name[PROTO_NAME_MAX_BYTES + 1];
    int seat;
    int64_t stack; /* as of the last completed hand */
    bool sitting_out;
    bool bot;
    unsigned char token_hash[STORE_TOKEN_HASH_LEN]; /* SHA-256 of the token; zeros for a bot */
};

/* A human player who left a table with chips (store_seat_leave): the token they held (its hash)
 * seats them again with them (a join carrying that token). Kept until they sit down again. */
struct store_departure {
    char table_id[PROTO_GAME_ID_MAX + 1];
    char player_id[STORE_PLAYER_ID_LEN + 1];
    char name[PROTO_NAME_MAX_BYTES + 1];
    int64_t stack; /* what they left with */
    unsigned char token_hash[STORE_TOKEN_HASH_LEN];
};

/* What store_load reports. Every callback may be NULL; the pointers are valid only during the
 * call. */
struct store_load_ops {
    void (*table)(void *user, const struct store_table *t);
    void (*seat)(void *user, const struct store_seat *s);
    /* After the seats: each table's departures, oldest first. */
    void (*departure)(void *user, const struct store_departure *d);
    /* A hand that was begun (store_hand_begin) and never committed: feltd stopped during it.
     * The load marks it "voided" (keeping its partial record; the stacks, written only by
     * store_hand_commit, are still those from before it, so every chip bet in it is back with
     * its owner) and reports it here, after every table and seat. */
    void (*voided)(void *user, const char *table_id, int64_t hand_id);
};

/* Reports every stored table, then every seat (by table, then seat number), then the
 * departures, then the hands it voided. Call it once, after store_open and before any write (it
 * runs on the loop thread and waits for its own voiding to be committed). Returns 0, or -1 with err
 * ("store_io", or "store_not_felt" for a row that cannot be ours). */
int store_load(struct store *s, const struct store_load_ops *ops, void *user, struct felt_err *err);

/* What store_table_take answers (on the loop thread, from store_dispatch): code NULL when the
 * table was taken, its rows having gone through the ops first; else store.h's code and a
 * one-line why. */
typedef void (*store_take_done_fn)(void *user, const char *code, const char *why);

/*
 * A node takes over one table (several nodes, docs/scaling.md). Queued like a write and run by
 * the writer thread, so the loop never waits on it: sets the table's fence (store_table_fence, at
 * once) and raises the stored fence to it in a durable commit, so that from then on no older
 * owner can write for the table; then voids the hands the older owner left running there; then
 * reads the table as store_load does. When done, from store_dispatch: its row (ops->table), its
 * seats (stacks as of its last completed hand, the only writes that change them), its departures,
 * each hand voided (ops->voided), then done(user, NULL, NULL). Or done(user, code, why):
 * "store_fenced" (the stored fence is not below this one: a take needs a fence above every
 * older owner's; or the table was never stored: store_table_put it first; ops->table reports
 * the stored row first, when there is one, its fence the one to beat), "store_not_felt", "store_io" (also "the store closed", from
 * store_close). ops must outlive the take. The rows of other tables are read and skipped (the
 * reads are store_load's). Returns 0, or -1 without queueing (a malformed table id, a negative
 * fence, ops or done NULL, the queue full): done is not called.
 */
int store_table_take(struct store *s, const char *table_id, int64_t fence,
                     const struct store_load_ops *ops, store_take_done_fn done, void *user);

/*
 * Writes. Each copies its arguments, queues a job and returns 0 at once; it returns -1 without
 * queueing when the queue is full (STORE_QUEUE_MAX) or an argument is malformed (a table id
 * not 1..PROTO_GAME_ID_MAX bytes, a player id not 16 bytes, a NULL record, more than 10
 * players): the caller treats that like a failed write. Jobs are applied in the order they were
 * queued. A job that fails alone (a constraint: a second seat for a player, a hand id reused,
 * a seat that is not there) is rolled back alone; an I/O failure (disk full) rolls back its
 * whole transaction.
 * Either way nothing committed earlier is lost; failures are counted (store_stats), reported to
 * store_flush, to the hand's done() and to the error hook (store_set_error_hook).
 * Every committed write survives a crash of feltd (kill -9). Those that move chips (a hand's
 * commit, a join, a leave, a re-buy) are also fsynced before they are reported, so they survive
 * a power cut; a hand's start, a sit-out flag and a table's settings are fsynced with the next
 * of those, and a power cut before it can lose them.
 */

/*
 * Fencing, for several feltd nodes sharing one database (docs/scaling.md): from now on every
 * write for table_id carries fence (the owner's lease fence; 0, the default, for a single node).
 * A write is stored only if the table's stored fence is at most its own, and raises the stored
 * fence to it, in the same transaction; a write that finds a higher fence (a newer owner has
 * written since) fails alone, with "fenced" in its reason, and changes nothing. So an owner that
 * lost its lease and has not noticed (paused, partitioned) can never move a chip. Returns -1 for
 * a malformed table id or a negative fence.
 */
int store_table_fence(struct store *s, const char *table_id, int64_t fence);

/* Inserts or updates a table's settings; last_hand_id only ever grows. */
int store_table_put(struct store *s, const struct store_table *t);

/* Called on the loop thread by store_dispatch. why is NULL when ok, else a one-line reason. */
typedef void (*store_done_fn)(void *arg, bool ok, const char *why);

/*
 * Ordered writes: the writes that move chips (a join, a leave, a re-buy, a hand's commit), and a
 * seat's sitting-out flag, may carry an order, the next number of their table's sequence (1, 2,
 * ...; store_table.write_seq says where a loaded table's sequence stands). Such a write is applied
 * only right after its predecessor: in its transaction the table's stored write_seq goes from seq
 * - 1 to seq (under the fence check, store_table_fence). One already stored (write_seq >= seq) is
 * not applied again and reports STORE_STORED: so a write whose answer was lost (PostgreSQL gone
 * during its COMMIT: stored or not, nobody knows) is simply sent again, and is stored exactly
 * once. One that comes too early (write_seq < seq - 1: an earlier one is not stored) fails alone,
 * STORE_EARLY, and changes nothing. The caller keeps each write until it is reported stored and
 * sends again, in order, whatever failed (server/outbox.c). done runs once per attempt, from
 * store_dispatch (or never, if the store closes first). A NULL order is an unordered write, whose
 * failure goes to the error hook (store_set_error_hook).
 */
enum store_outcome {
    STORE_STORED,  /* stored, now or by an earlier attempt */
    STORE_FAILED,  /* not stored: the transaction failed (I/O, the server gone); may work later */
    STORE_EARLY,   /* not stored: an earlier write of the table's sequence is not stored yet */
    STORE_REFUSED, /* not stored, and never will be: the write itself is refused (a constraint,
                      a seat that is not there, a newer owner's fence) */
};
typedef void (*store_order_fn)(void *arg, enum store_outcome r, const char *why);
struct store_order {
    int64_t seq; /* 1, 2, ... at each table; 0: not ordered (done still runs) */
    store_order_fn done;
    void *arg;
};

/* Only the order check of o->seq: the sequence moves on past a write that was refused (outbox.c
 * drops it), so that those after it can be stored. */
int store_order_skip(struct store *s, const char *table_id, const struct store_order *o);

/* A player sits down: the seat row (stack = seat->stack) and a ledger row "buy_in" of buy_in;
 * a departure of the same player id at the table is forgotten (they are back). The table must
 * have been put first. */
int store_seat_join(struct store *s, const struct store_seat *seat, int64_t buy_in,
                    const struct store_order *o);
/* A seat's sitting-out flag (o: as above; a seat's flag is ordered after its join). */
int store_seat_update(struct store *s, const char *table_id, const char *player_id,
                      bool sitting_out, const struct store_order *o);
/* A player leaves: the seat row is deleted and a ledger row "cash_out" of cash_out added; a
 * human leaving with chips (cash_out > 0) becomes a departure (store_load_ops.departure). */
int store_seat_leave(struct store *s, const char *table_id, const char *player_id,
                     int64_t cash_out, const struct store_order *o);
/* A player buys chips again without leaving (a bust bot's re-buy, a busted player sitting in):
 * the seat's stack grows by amount and a ledger row "buy_in" of amount is added. */
int store_seat_rebuy(struct store *s, const char *table_id, const char *player_id, int64_t amount,
                     const struct store_order *o);
/* A hand starts: reserves its id (the table's last_hand_id = max(last_hand_id, hand_id); an id
 * already used at this table fails the job) and stores a "running" hand row with the record so
 * far, which a restart reports as voided. */
int store_hand_begin(struct store *s, const char *table_id, int64_t hand_id, int64_t started_ms,
                     const char *partial_record_json);

struct store_hand_player {
    char player_id[STORE_PLAYER_ID_LEN + 1];
    int seat;
    int64_t stack_after; /* the player's stack once the hand is settled */
    int64_t net;         /* chips won (> 0) or lost (< 0) in the hand */
};

struct store_hand {
    char table_id[PROTO_GAME_ID_MAX + 1];
    int64_t hand_id;
    int64_t started_ms, ended_ms;
    const char *record_json;  /* the full hand record, every hole card in it (the reader applies
                                 privacy when serving it); copied */
    const char *results_json; /* the pot results; copied; NULL stores "[]" */
    uint16_t shown_mask;      /* bit i: seat i's cards were shown at showdown */
    int nplayers;
    struct store_hand_player players[STORE_HAND_PLAYERS_MAX];
};

/*
 * A hand completes. In one transaction (with the rest of its batch): the hand row becomes
 * "complete" with its record, results, shown mask and ended_at (it is inserted if it was never
 * begun; a hand already complete or voided fails the job), the table's last_hand_id grows to
 * hand_id, each player's seat stack becomes stack_after (a player who already left keeps no
 * seat), and each player gets a ledger row "hand" of net and a hand_players row (an ordered
 * commit found stored already is not applied again: STORE_STORED). o->done (o may be NULL) runs
 * later on the loop thread, from store_dispatch; when the transaction failed it is rolled back
 * and nothing stored before is lost.
 */
int store_hand_commit(struct store *s, const struct store_hand *h, const struct store_order *o);

/* Failed writes without an order (struct store_order) are reported to fn (on the loop thread,
 * from store_dispatch) with ok=false and the reason; NULL stops reporting them. */
void store_set_error_hook(struct store *s, store_done_fn fn, void *arg);

/* An eventfd (non-blocking) that becomes readable when completions are pending: the network
 * layer adopts it into the loop and calls store_dispatch when it is. Owned by the store. */
int store_event_fd(const struct store *s);
/* Runs the pending done() callbacks and error hooks on the caller's thread and clears the
 * eventfd. Callbacks may queue new writes. */
void store_dispatch(struct store *s);
/* Blocks until every job queued so far is committed or failed (tests, shutdown). Returns -1 if
 * any job failed since the previous store_flush, else 0. Runs no callbacks (store_dispatch
 * does). */
int store_flush(struct store *s);

/* A stored hand as store_hands reports it; every pointer is valid only during the callback. */
struct store_hand_row {
    int64_t hand_id;
    int64_t started_ms, ended_ms;
    const char *state; /* "complete" | "voided" */
    const char *record_json;
    const char *results_json; /* "[]" for a voided hand */
    uint16_t shown_mask;
    int nplayers; /* 0 for a voided hand */
    struct store_hand_player players[STORE_HAND_PLAYERS_MAX];
};
typedef int (*store_hand_fn)(void *user, const struct store_hand_row *h); /* non-zero stops */

/* What store_hands answers, on the loop thread: the rows (valid only during the call), or why
 * (non-NULL: rows is NULL and n 0) when they could not be read. */
typedef void (*store_hands_done_fn)(void *arg, const struct store_hand_row *rows, size_t n,
                                    const char *why);

/*
 * Reads the table's complete and voided hands with hand_id > since, oldest first, at most limit
 * of them (clamped to 1..100): the first limit after since, or, when since < 0, the newest limit
 * hands (still reported oldest first). Hands still running are not reported.
 *
 * The read does not run on the loop thread: it is queued like a write and run by the writer
 * thread right after the batch it is queued in has committed (so it sees every write queued
 * before it, and never waits a round trip to PostgreSQL on the loop). done runs once, from
 * store_dispatch, or from store_close with why "the store closed" if it had not run by then.
 * Returns 0, or -1 without queueing (queue full, a malformed table id, done NULL).
 */
int store_hands(struct store *s, const char *table_id, int64_t since, int limit,
                store_hands_done_fn done, void *arg);

struct store_ledger {
    int64_t buy_ins, cash_outs, hand_net;
    int64_t on_table; /* the sum of the seats' stacks */
};
/* The table's ledger totals, from one snapshot. The books balance when
 * buy_ins - cash_outs + hand_net == on_table; hand_net is 0 as long as hands only move chips
 * between players. Returns 0, or -1 with err ("store_io"). */
int store_ledger(struct store *s, const char *table_id, struct store_ledger *out,
                 struct felt_err *err);

struct store_stats {
    uint64_t jobs;         /* jobs the writer has finished, ok or not */
    uint64_t transactions; /* transactions committed */
    uint64_t failures;     /* jobs that failed */
};
void store_stats(const struct store *s, struct store_stats *out);

#endif
