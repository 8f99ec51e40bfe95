/*
 * store.c: the SQLite backend of store.h.
 *
 * One database file (dir/felt.db) in WAL mode, two connections: the writer, owned by the writer
 * thread, and a read-only reader for the loop thread (WAL lets it read a committed snapshot while
 * the writer writes). The loop thread queues jobs (copies of their arguments) on a bounded list
 * under a mutex; the writer takes everything queued, runs it as one transaction with a savepoint
 * per job, commits, and hands the jobs that have something to report back through a second list
 * and an eventfd. A job that breaks a constraint is rolled back to its savepoint alone; an I/O
 * error (disk full) rolls the whole transaction back: the rows of a hand are always stored
 * together or not at all.
 *
 * Durability: synchronous=FULL for every batch that moves chips (a completed hand, a buy-in, a
 * re-buy, a cash-out: the jobs with ledger rows) or voids hands. Its commit returns only once the
 * WAL is fsynced, so a hand reported stored survives kill -9 of feltd (NORMAL would already give
 * that: the frames are in the OS before COMMIT returns) and also a power cut or a kernel crash,
 * which NORMAL would not. The other batches (a hand's start, a sit-out flag, a table's settings)
 * commit with synchronous=NORMAL: no fsync of their own, still safe from kill -9 at any moment,
 * and covered by the next FULL commit's fsync (one fsync of the WAL file makes every frame
 * before it durable too, and a power cut can only lose a suffix of the WAL, never a frame from
 * before a synced one: WAL recovery stops at the first frame whose checksum chain breaks).
 * A checkpoint syncs the WAL before copying it into the database at either level. What a power
 * cut can then lose is at most the starts of hands not completed since, sit-out flags and table
 * settings written since the last FULL commit: never a completed hand or a chip. This about
 * halves the fsyncs (each hand's start no longer has its own), and a hand's end no longer queues
 * behind the fsync of another table's start. The fsync is paid on the writer thread, never on the
 * loop, and grouping every hand that finished while the previous commit ran shares one fsync
 * among them.
 *
 * ":memory:" is one private in-memory database: no WAL, so the reader is the writer's own
 * connection, taken in turn under db_mu (a batch holds it for microseconds, no disk involved).
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

#define STORE_APP_ID 0x46454c54 /* PRAGMA application_id: "FELT" */
#define STORE_ISO_LEN 40
#define STORE_REJECTED (-1) /* a job's own failure (not an SQLite code): set why, roll it back */

/* The schema's forward migrations: entry i takes user_version i to i + 1. Append, never edit. */
static const char *const store_migrations[] = {
    /* 1: the first schema. tables.id is the game id; amounts are chips; times ISO 8601 UTC. */
    "CREATE TABLE tables (id TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 32),"
    " seats INTEGER NOT NULL, small_blind INTEGER NOT NULL, big_blind INTEGER NOT NULL,"
    " ante INTEGER NOT NULL, buy_in INTEGER NOT NULL, action_timeout_ms INTEGER NOT NULL,"
    " last_hand_id INTEGER NOT NULL DEFAULT 0) STRICT;"
    "CREATE TABLE seats (table_id TEXT NOT NULL REFERENCES tables (id),"
    " player_id TEXT NOT NULL CHECK (length(player_id) = 16), name TEXT NOT NULL,"
    " seat INTEGER NOT NULL, stack INTEGER NOT NULL, sitting_out INTEGER NOT NULL,"
    " bot INTEGER NOT NULL, token_hash BLOB NOT NULL CHECK (length(token_hash) = 32),"
    " PRIMARY KEY (table_id, player_id), UNIQUE (table_id, seat)) STRICT;"
    "CREATE TABLE hands (table_id TEXT NOT NULL REFERENCES tables (id),"
    " hand_id INTEGER NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('running', 'complete', 'voided')),"
    " started_at TEXT NOT NULL, ended_at TEXT, record TEXT NOT NULL,"
    " results TEXT NOT NULL DEFAULT '[]', shown_mask INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (table_id, hand_id)) STRICT;"
    "CREATE INDEX hands_running ON hands (state) WHERE state = 'running';"
    "CREATE TABLE hand_players (table_id TEXT NOT NULL, hand_id INTEGER NOT NULL,"
    " player_id TEXT NOT NULL, seat INTEGER NOT NULL, stack_after INTEGER NOT NULL,"
    " net INTEGER NOT NULL, PRIMARY KEY (table_id, hand_id, seat),"
    " FOREIGN KEY (table_id, hand_id) REFERENCES hands (table_id, hand_id)) STRICT;"
    "CREATE TABLE ledger (id INTEGER PRIMARY KEY, table_id TEXT NOT NULL REFERENCES tables (id),"
    " player_id TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('buy_in', 'cash_out', 'hand')),"
    " amount INTEGER NOT NULL, hand_id INTEGER, at TEXT NOT NULL) STRICT;"
    "CREATE INDEX ledger_by_table ON ledger (table_id, kind);",
    /* 2: players who left a table with chips, so that their token seats them again with them. */
    "CREATE TABLE departures (table_id TEXT NOT NULL REFERENCES tables (id),"
    " player_id TEXT NOT NULL CHECK (length(player_id) = 16), name TEXT NOT NULL,"
    " token_hash BLOB NOT NULL CHECK (length(token_hash) = 32), stack INTEGER NOT NULL,"
    " left_at TEXT NOT NULL, PRIMARY KEY (table_id, player_id)) STRICT;",
};
#define STORE_SCHEMA_VERSION ((int64_t)FELT_ARRAY_LEN(store_migrations))

/* The writer's statements, prepared once. */
/* clang-format off */
enum {
    W_BEGIN, W_COMMIT, W_ROLLBACK, W_SAVEPOINT, W_RELEASE, W_ROLLBACK_TO,
    W_TABLE_PUT, W_TABLE_HAND_ID, W_SEAT_ADD, W_SEAT_SIT, W_SEAT_STACK, W_SEAT_ADD_CHIPS,
    W_SEAT_DEL, W_LEDGER, W_DEPART_ADD, W_DEPART_DEL,
    W_HAND_BEGIN, W_HAND_COMPLETE, W_HAND_PLAYER, W_VOID, W_COUNT
};
/* clang-format on */
static const char *const store_wsql[W_COUNT] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    [W_SAVEPOINT] = "SAVEPOINT job",
    [W_RELEASE] = "RELEASE job",
    [W_ROLLBACK_TO] = "ROLLBACK TO job",
    [W_TABLE_PUT] = "INSERT INTO tables (id, seats, small_blind, big_blind, ante, buy_in,"
                    " action_timeout_ms, last_hand_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                    " ON CONFLICT (id) DO UPDATE SET seats = excluded.seats,"
                    " small_blind = excluded.small_blind, big_blind = excluded.big_blind,"
                    " ante = excluded.ante, buy_in = excluded.buy_in,"
                    " action_timeout_ms = excluded.action_timeout_ms,"
                    " last_hand_id = max(last_hand_id, excluded.last_hand_id)",
    [W_TABLE_HAND_ID] = "UPDATE tables SET last_hand_id = max(last_hand_id, ?2) WHERE id = ?1",
    [W_SEAT_ADD] = "INSERT INTO seats (table_id, player_id, name, seat, stack, sitting_out, bot,"
                   " token_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [W_SEAT_SIT] = "UPDATE seats SET sitting_out = ?3 WHERE table_id = ?1 AND player_id = ?2",
    [W_SEAT_STACK] = "UPDATE seats SET stack = ?3 WHERE table_id = ?1 AND player_id = ?2",
    [W_SEAT_ADD_CHIPS] = "UPDATE seats SET stack = stack + ?3 WHERE table_id = ?1 AND player_id = ?2",
    [W_SEAT_DEL] = "DELETE FROM seats WHERE table_id = ?1 AND player_id = ?2",
    [W_DEPART_ADD] = "INSERT OR REPLACE INTO departures (table_id, player_id, name, token_hash,"
                     " stack, left_at) SELECT table_id, player_id, name, token_hash, ?3, ?4"
                     " FROM seats WHERE table_id = ?1 AND player_id = ?2 AND bot = 0 AND ?3 > 0",
    [W_DEPART_DEL] = "DELETE FROM departures WHERE table_id = ?1 AND player_id = ?2",
    [W_LEDGER] = "INSERT INTO ledger (table_id, player_id, kind, amount, hand_id, at)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [W_HAND_BEGIN] = "INSERT INTO hands (table_id, hand_id, state, started_at, record)"
                     " VALUES (?1, ?2, 'running', ?3, ?4)",
    [W_HAND_COMPLETE] = "INSERT INTO hands (table_id, hand_id, state, started_at, ended_at,"
                        " record, results, shown_mask)"
                        " VALUES (?1, ?2, 'complete', ?3, ?4, ?5, ?6, ?7)"
                        " ON CONFLICT (table_id, hand_id) DO UPDATE SET state = 'complete',"
                        " ended_at = excluded.ended_at, record = excluded.record,"
                        " results = excluded.results, shown_mask = excluded.shown_mask"
                        " WHERE state = 'running'",
    [W_HAND_PLAYER] = "INSERT INTO hand_players (table_id, hand_id, player_id, seat,"
                      " stack_after, net) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [W_VOID] = "UPDATE hands SET state = 'voided', ended_at = ?1 WHERE state = 'running'",
};

/* The reader's statements. */
/* clang-format off */
enum {
    R_BEGIN, R_END, R_TABLES, R_SEATS, R_RUNNING, R_HANDS, R_HANDS_LAST, R_HAND_PLAYERS, R_LEDGER,
    R_DEPARTURES, R_COUNT
};
/* clang-format on */
static const char *const store_rsql[R_COUNT] = {
    [R_BEGIN] = "BEGIN",
    [R_END] = "COMMIT",
    [R_TABLES] = "SELECT id, seats, small_blind, big_blind, ante, buy_in, action_timeout_ms,"
                 " last_hand_id FROM tables ORDER BY id",
    [R_SEATS] = "SELECT table_id, player_id, name, seat, stack, sitting_out, bot, token_hash"
                " FROM seats ORDER BY table_id, seat",
    [R_DEPARTURES] = "SELECT table_id, player_id, name, token_hash, stack FROM departures"
                     " ORDER BY table_id, left_at, player_id",
    [R_RUNNING] = "SELECT table_id, hand_id FROM hands WHERE state = 'running'"
                  " ORDER BY table_id, hand_id",
    [R_HANDS] = "SELECT hand_id, started_at, ended_at, state, record, results, shown_mask"
                " FROM hands WHERE table_id = ?1 AND hand_id > ?2 AND state <> 'running'"
                " ORDER BY hand_id LIMIT ?3",
    [R_HANDS_LAST] = "SELECT * FROM (SELECT hand_id, started_at, ended_at, state, record, results,"
                     " shown_mask FROM hands WHERE table_id = ?1 AND hand_id > ?2"
                     " AND state <> 'running' ORDER BY hand_id DESC LIMIT ?3) ORDER BY hand_id",
    [R_HAND_PLAYERS] = "SELECT player_id, seat, stack_after, net FROM hand_players"
                       " WHERE table_id = ?1 AND hand_id = ?2 ORDER BY seat",
    [R_LEDGER] = "SELECT (SELECT coalesce(sum(amount), 0) FROM ledger"
                 "  WHERE table_id = ?1 AND kind = 'buy_in'),"
                 " (SELECT coalesce(sum(amount), 0) FROM ledger"
                 "  WHERE table_id = ?1 AND kind = 'cash_out'),"
                 " (SELECT coalesce(sum(amount), 0) FROM ledger"
                 "  WHERE table_id = ?1 AND kind = 'hand'),"
                 " (SELECT coalesce(sum(stack), 0) FROM seats WHERE table_id = ?1)",
};

_Static_assert((int)R_COUNT <= (int)W_COUNT, "store_conn.st holds either set");

/* A connection and its prepared statements. Each is used by one thread at a time. */
struct store_conn {
    sqlite3 *db;
    bool owns_db;
    sqlite3_stmt *st[W_COUNT]; /* W_COUNT >= R_COUNT */
    size_t nst;
};

/* clang-format off */
enum store_job_kind {
    JOB_TABLE_PUT, JOB_SEAT_JOIN, JOB_SEAT_UPDATE, JOB_SEAT_LEAVE, JOB_SEAT_REBUY,
    JOB_HAND_BEGIN, JOB_HAND_COMMIT, JOB_VOID_RUNNING
};
/* clang-format on */

/* One queued write: a copy of its arguments, then its outcome (written by the writer thread,
 * read by the loop thread only after the job is handed back under the mutex). */
struct store_job {
    struct store_job *next;
    enum store_job_kind kind;
    char at[STORE_ISO_LEN]; /* when it was queued: the time of its ledger row */
    union {
        struct store_table table; /* table_put */
        struct store_seat seat;   /* seat_*: update and leave use the ids and sitting_out */
        struct store_hand hand;   /* hand_*: its two pointers are unused, see record/results */
    } u;
    int64_t amount; /* buy-in or cash-out */
    char *record, *results;
    store_done_fn done;
    void *arg;
    bool ok;
    char why[160];
};

struct store {
    char *path;  /* dir/felt.db, or ":memory:" */
    bool shared; /* ":memory:": r is w's connection, used under db_mu */
    struct store_conn w, r;
    pthread_mutex_t db_mu;
    int lock_fd, efd;
    pthread_t writer;
    bool writer_started;
    bool w_sync_full; /* the writer's synchronous level: FULL (true) or NORMAL */

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
};

/* ---- small helpers ------------------------------------------------------------------------ */

/* felt_err_set, with the message kept to one line whatever a path or SQLite put in it. */
__attribute__((format(printf, 3, 4))) static int store_fail(struct felt_err *err, const char *code,
                                                            const char *fmt, ...)
{
    char msg[sizeof(err->message)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    for (char *c = msg; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = ' ';
    return felt_err_set(err, code, "%s", msg);
}

static const char *store_errno_code(int e)
{
    return e == EACCES || e == EPERM || e == EROFS ? "store_readonly" : "store_io";
}

/* Maps an SQLite failure to store.h's codes, with what was being done and SQLite's reason. */
static int store_db_fail(const struct store *s, struct felt_err *err, sqlite3 *db, int rc,
                         const char *what)
{
    const char *why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int sys = db ? sqlite3_system_errno(db) : 0;
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return store_fail(err, "store_not_felt", "%s is not a felt database or is damaged (%s)",
                          s->path, why);
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return store_fail(err, "store_readonly", "%s is not writable (%s)", s->path, why);
    case SQLITE_CANTOPEN:
        return store_fail(err, store_errno_code(sys), "%s: %s: %s", s->path, what,
                          sys ? strerror(sys) : why);
    default:
        return store_fail(err, "store_io", "%s: %s: %s", s->path, what, why);
    }
}

static bool store_len_ok(const char *str, size_t min, size_t max)
{
    size_t n = str ? strnlen(str, max + 1) : 0;
    return str && n >= min && n <= max;
}

/* ms since the epoch as ISO 8601 UTC with milliseconds: "2026-12-04T18:56:13.123Z". */
static void store_iso(int64_t ms, char out[STORE_ISO_LEN])
{
    time_t t = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    struct tm tm;
    if (frac < 0) {
        frac += 1000;
        t--;
    }
    if (!gmtime_r(&t, &tm)) {
        t = 0;
        gmtime_r(&t, &tm);
    }
    size_t n = strftime(out, STORE_ISO_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, STORE_ISO_LEN - n, ".%03dZ", frac % 1000);
}

/* The inverse of store_iso; 0 for anything else (NULL included). */
static int64_t store_ms(const unsigned char *iso)
{
    struct tm tm = {0};
    int ms = 0, n = 0;
    const char *s = (const char *)iso;
    if (!s ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &n) != 7 ||
        n == 0 || s[n] != '\0')
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* Copies column col into buf when its length is min..size-1; false otherwise. */
static bool store_col_text(sqlite3_stmt *st, int col, char *buf, size_t size, size_t min)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (!t || n < min || n >= size) return false;
    memcpy(buf, t, n + 1);
    return true;
}

static const char *store_col_str(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

/* Binds ?1.. from fmt, one letter each: 'i' int64_t, 'd' int, 't' text, 'h' a token hash
 * (STORE_TOKEN_HASH_LEN bytes), 'n' NULL. Strings are bound SQLITE_STATIC: they must outlive
 * the statement's step. */
static int store_bind(sqlite3_stmt *st, const char *fmt, va_list ap)
{
    int rc = SQLITE_OK;
    for (int i = 1; rc == SQLITE_OK && fmt[i - 1]; i++) {
        switch (fmt[i - 1]) {
        case 'i':
            rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
            break;
        case 'd':
            rc = sqlite3_bind_int(st, i, va_arg(ap, int));
            break;
        case 't':
            rc = sqlite3_bind_text(st, i, va_arg(ap, const char *), -1, SQLITE_STATIC);
            break;
        case 'h':
            rc = sqlite3_bind_blob(st, i, va_arg(ap, const void *), STORE_TOKEN_HASH_LEN,
                                   SQLITE_STATIC);
            break;
        case 'n':
            rc = sqlite3_bind_null(st, i);
            break;
        default:
            felt_fatal("store_bind: bad format '%c'", fmt[i - 1]);
        }
    }
    return rc;
}

/* Binds, runs a statement that returns no rows to completion and resets it: SQLITE_OK or the
 * error (whose message sqlite3_errmsg still holds). */
static int store_exec(sqlite3_stmt *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = store_bind(st, fmt, ap);
    va_end(ap);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
        else if (rc == SQLITE_ROW)
            felt_fatal("store: a write statement returned a row: %s", sqlite3_sql(st));
    }
    int reset = sqlite3_reset(st);
    return rc != SQLITE_OK ? rc : reset;
}

static int store_bind_args(sqlite3_stmt *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = store_bind(st, fmt, ap);
    va_end(ap);
    return rc;
}

/* One row of a one-column query, as a number (num) or text (text, size). */
static int store_query(sqlite3 *db, const char *sql, int64_t *num, char *text, size_t size)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            rc = SQLITE_OK;
            if (num) *num = sqlite3_column_int64(st, 0);
            if (text) snprintf(text, size, "%s", store_col_str(st, 0));
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_ERROR;
        }
    }
    sqlite3_finalize(st); /* repeats the step's error, already in rc */
    return rc;
}

/* ---- connections -------------------------------------------------------------------------- */

static int store_conn_prepare(struct store *s, struct store_conn *c, const char *const *sql,
                              size_t n, struct felt_err *err)
{
    for (c->nst = 0; c->nst < n; c->nst++) {
        int rc = sqlite3_prepare_v3(c->db, sql[c->nst], -1, SQLITE_PREPARE_PERSISTENT,
                                    &c->st[c->nst], NULL);
        if (rc != SQLITE_OK) return store_db_fail(s, err, c->db, rc, "cannot prepare a statement");
    }
    return 0;
}

static void store_conn_close(struct store_conn *c)
{
    for (size_t i = 0; i < c->nst; i++)
        sqlite3_finalize(c->st[i]); /* returns the statement's last error, reported then */
    c->nst = 0;
    if (c->owns_db && sqlite3_close_v2(c->db) != SQLITE_OK)
        felt_fatal("store: sqlite3_close_v2 failed: %s", sqlite3_errmsg(c->db));
    c->db = NULL;
}

/* mkdir -p dir (mode 0700); 0, or -1 with errno. */
static int store_mkdirs(const char *dir)
{
    char *p = xstrdup(dir);
    struct stat st;
    int rc = 0;
    for (char *c = p + 1; rc == 0 && *p; c++) {
        char saved = *c;
        if (saved != '/' && saved != '\0') continue;
        *c = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) rc = -1;
        *c = saved;
        if (!saved) break;
    }
    if (rc == 0 && stat(dir, &st) != 0)
        rc = -1;
    else if (rc == 0 && !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        rc = -1;
    }
    int e = errno;
    free(p);
    errno = e;
    return rc;
}

/* The folder: created, writable, and ours alone (an flock on felt.lock, released by the kernel
 * however feltd ends, so kill -9 never leaves it stale). */
static int store_prepare_dir(struct store *s, const char *dir, struct felt_err *err)
{
    char *lock = NULL;
    int rc = -1;
    if (!*dir || store_mkdirs(dir) != 0) {
        rc = store_fail(err, store_errno_code(errno), "cannot create the data folder %s: %s", dir,
                        *dir ? strerror(errno) : "empty path");
        goto out;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        rc = store_fail(err, store_errno_code(errno), "the data folder %s is not writable: %s", dir,
                        strerror(errno));
        goto out;
    }
    if (access(s->path, F_OK) == 0 && access(s->path, R_OK | W_OK) != 0) {
        rc = store_fail(err, store_errno_code(errno), "%s is not writable: %s", s->path,
                        strerror(errno));
        goto out;
    }
    size_t n = strlen(dir) + sizeof("/felt.lock");
    lock = xmalloc(n);
    snprintf(lock, n, "%s/felt.lock", dir);
    s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        rc = store_fail(err, store_errno_code(errno), "cannot open %s: %s", lock, strerror(errno));
        goto out;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK
                 ? store_fail(err, "store_io", "%s is in use by another feltd", dir)
                 : store_fail(err, "store_io", "cannot lock %s: %s", lock, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(lock);
    return rc;
}

/* Runs the migrations from version `from` in one transaction, stamping the file as felt's. */
static int store_migrate(struct store *s, int64_t from, struct felt_err *err)
{
    sqlite3 *db = s->w.db;
    char stamp[96];
    if (from == STORE_SCHEMA_VERSION) return 0;
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (int64_t v = from; rc == SQLITE_OK && v < STORE_SCHEMA_VERSION; v++)
        rc = sqlite3_exec(db, store_migrations[v], NULL, NULL, NULL);
    snprintf(stamp, sizeof(stamp), "PRAGMA user_version = %lld; PRAGMA application_id = %d",
             (long long)STORE_SCHEMA_VERSION, STORE_APP_ID);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, stamp, NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK) return 0;
    store_db_fail(s, err, db, rc, "cannot update the schema");
    if (!sqlite3_get_autocommit(db) && sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
        felt_fatal("store: ROLLBACK failed: %s", sqlite3_errmsg(db));
    return -1;
}

/* Opens the writer connection and makes sure the file is a felt database (or a new, empty
 * file), reading only, before anything is written to it; then WAL and the migrations. */
static int store_open_writer(struct store *s, struct felt_err *err)
{
    int64_t app = 0, version = 0, objects = 0;
    char text[160];
    int rc = sqlite3_open_v2(
        s->path, &s->w.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    s->w.owns_db = s->w.db != NULL;
    if (rc != SQLITE_OK) return store_db_fail(s, err, s->w.db, rc, "cannot open");
    if ((rc = sqlite3_extended_result_codes(s->w.db, 1)) != SQLITE_OK ||
        (rc = sqlite3_busy_timeout(s->w.db, 5000)) != SQLITE_OK ||
        (rc = store_query(s->w.db, "PRAGMA application_id", &app, NULL, 0)) != SQLITE_OK ||
        (rc = store_query(s->w.db, "PRAGMA user_version", &version, NULL, 0)) != SQLITE_OK ||
        (rc = store_query(s->w.db, "SELECT count(*) FROM sqlite_schema", &objects, NULL, 0)) !=
            SQLITE_OK)
        return store_db_fail(s, err, s->w.db, rc, "cannot read");
    bool fresh = app == 0 && version == 0 && objects == 0;
    if (app != STORE_APP_ID && !fresh)
        return store_fail(err, "store_not_felt",
                          "%s is not a felt database (application_id %#llx, has tables)", s->path,
                          (unsigned long long)app);
    if (version > STORE_SCHEMA_VERSION)
        return store_fail(err, "store_newer",
                          "%s was written by a newer feltd (schema %lld, this feltd knows %lld)",
                          s->path, (long long)version, (long long)STORE_SCHEMA_VERSION);
    if (!fresh) {
        rc = store_query(s->w.db, "PRAGMA quick_check(1)", NULL, text, sizeof(text));
        if (rc != SQLITE_OK) return store_db_fail(s, err, s->w.db, rc, "cannot check");
        if (strcmp(text, "ok") != 0)
            return store_fail(err, "store_not_felt", "%s is damaged: %s", s->path, text);
    }
    if (!s->shared) {
        rc = store_query(s->w.db, "PRAGMA journal_mode = WAL", NULL, text, sizeof(text));
        if (rc != SQLITE_OK) return store_db_fail(s, err, s->w.db, rc, "cannot switch to WAL");
        if (strcmp(text, "wal") != 0)
            return store_fail(err, "store_io", "%s: cannot use WAL here (journal mode %s)", s->path,
                              text);
    }
    /* temp_store: a job's savepoint journal (the pages it changed, to roll it back alone) stays
     * in memory instead of spilling past 64 KiB into a new temporary file in /var/tmp, as it
     * did for about one hand in 35. */
    rc = sqlite3_exec(s->w.db,
                      "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
                      " PRAGMA temp_store = MEMORY",
                      NULL, NULL, NULL);
    s->w_sync_full = true;
    if (rc != SQLITE_OK) return store_db_fail(s, err, s->w.db, rc, "cannot configure");
    if (store_migrate(s, version, err) != 0) return -1;
    return store_conn_prepare(s, &s->w, store_wsql, W_COUNT, err);
}

static int store_open_reader(struct store *s, struct felt_err *err)
{
    if (s->shared) {
        s->r.db = s->w.db;
    } else {
        int rc =
            sqlite3_open_v2(s->path, &s->r.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
        s->r.owns_db = s->r.db != NULL;
        if (rc == SQLITE_OK) rc = sqlite3_busy_timeout(s->r.db, 200);
        if (rc != SQLITE_OK) return store_db_fail(s, err, s->r.db, rc, "cannot open for reading");
    }
    return store_conn_prepare(s, &s->r, store_rsql, R_COUNT, err);
}

/* ---- the writer thread -------------------------------------------------------------------- */

static int store_reject(struct store_job *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int store_reject(struct store_job *j, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->why, sizeof(j->why), fmt, ap);
    va_end(ap);
    return STORE_REJECTED;
}

/* The job runners return SQLITE_OK, an SQLite error, or STORE_REJECTED with j->why set. */
static int store_run_table_put(struct store *s, struct store_job *j)
{
    const struct store_table *t = &j->u.table;
    return store_exec(s->w.st[W_TABLE_PUT], "tdiiiiii", t->id, t->seats, t->small_blind,
                      t->big_blind, t->ante, t->buy_in, t->action_timeout_ms, t->last_hand_id);
}

static int store_run_seat_join(struct store *s, struct store_job *j)
{
    const struct store_seat *e = &j->u.seat;
    int rc = store_exec(s->w.st[W_SEAT_ADD], "tttdiddh", e->table_id, e->player_id, e->name,
                        e->seat, e->stack, (int)e->sitting_out, (int)e->bot, e->token_hash);
    if (rc == SQLITE_OK) rc = store_exec(s->w.st[W_DEPART_DEL], "tt", e->table_id, e->player_id);
    if (rc == SQLITE_OK)
        rc = store_exec(s->w.st[W_LEDGER], "tttint", e->table_id, e->player_id, "buy_in", j->amount,
                        j->at);
    return rc;
}

static int store_run_seat_update(struct store *s, struct store_job *j)
{
    const struct store_seat *e = &j->u.seat;
    int rc = store_exec(s->w.st[W_SEAT_SIT], "ttd", e->table_id, e->player_id, (int)e->sitting_out);
    if (rc == SQLITE_OK && sqlite3_changes(s->w.db) != 1)
        rc = store_reject(j, "no seat for player %s at table %s", e->player_id, e->table_id);
    return rc;
}

static int store_run_seat_leave(struct store *s, struct store_job *j)
{
    const struct store_seat *e = &j->u.seat;
    /* A human leaving with chips is remembered (store_load_ops.departure); a bot is not. */
    int rc = store_exec(s->w.st[W_DEPART_ADD], "ttit", e->table_id, e->player_id, j->amount, j->at);
    if (rc == SQLITE_OK) rc = store_exec(s->w.st[W_SEAT_DEL], "tt", e->table_id, e->player_id);
    if (rc == SQLITE_OK && sqlite3_changes(s->w.db) != 1)
        rc = store_reject(j, "no seat for player %s at table %s", e->player_id, e->table_id);
    if (rc == SQLITE_OK)
        rc = store_exec(s->w.st[W_LEDGER], "tttint", e->table_id, e->player_id, "cash_out",
                        j->amount, j->at);
    return rc;
}

static int store_run_seat_rebuy(struct store *s, struct store_job *j)
{
    const struct store_seat *e = &j->u.seat;
    int rc = store_exec(s->w.st[W_SEAT_ADD_CHIPS], "tti", e->table_id, e->player_id, j->amount);
    if (rc == SQLITE_OK && sqlite3_changes(s->w.db) != 1)
        rc = store_reject(j, "no seat for player %s at table %s", e->player_id, e->table_id);
    if (rc == SQLITE_OK)
        rc = store_exec(s->w.st[W_LEDGER], "tttint", e->table_id, e->player_id, "buy_in",
                        j->amount, j->at);
    return rc;
}

static int store_run_hand_begin(struct store *s, struct store_job *j)
{
    const struct store_hand *h = &j->u.hand;
    char started[STORE_ISO_LEN];
    store_iso(h->started_ms, started);
    int rc = store_exec(s->w.st[W_TABLE_HAND_ID], "ti", h->table_id, h->hand_id);
    if (rc == SQLITE_OK && sqlite3_changes(s->w.db) != 1)
        rc = store_reject(j, "no table %s", h->table_id);
    if (rc == SQLITE_OK)
        rc = store_exec(s->w.st[W_HAND_BEGIN], "titt", h->table_id, h->hand_id, started, j->record);
    return rc;
}

static int store_run_hand_commit(struct store *s, struct store_job *j)
{
    const struct store_hand *h = &j->u.hand;
    char started[STORE_ISO_LEN], ended[STORE_ISO_LEN];
    store_iso(h->started_ms, started);
    store_iso(h->ended_ms, ended);
    int rc = store_exec(s->w.st[W_HAND_COMPLETE], "tittttd", h->table_id, h->hand_id, started,
                        ended, j->record, j->results, (int)h->shown_mask);
    if (rc == SQLITE_OK && sqlite3_changes(s->w.db) != 1)
        rc = store_reject(j, "hand %lld of table %s is already complete or voided",
                          (long long)h->hand_id, h->table_id);
    if (rc == SQLITE_OK) rc = store_exec(s->w.st[W_TABLE_HAND_ID], "ti", h->table_id, h->hand_id);
    for (int i = 0; rc == SQLITE_OK && i < h->nplayers; i++) {
        const struct store_hand_player *p = &h->players[i];
        /* No row changed: the player left during the hand; the ledger still gets the net. */
        rc = store_exec(s->w.st[W_SEAT_STACK], "tti", h->table_id, p->player_id, p->stack_after);
        if (rc == SQLITE_OK)
            rc = store_exec(s->w.st[W_LEDGER], "tttiit", h->table_id, p->player_id, "hand", p->net,
                            h->hand_id, ended);
        if (rc == SQLITE_OK)
            rc = store_exec(s->w.st[W_HAND_PLAYER], "titdii", h->table_id, h->hand_id, p->player_id,
                            p->seat, p->stack_after, p->net);
    }
    return rc;
}

static int store_run_void(struct store *s, struct store_job *j)
{
    return store_exec(s->w.st[W_VOID], "t", j->at);
}

static int (*const store_job_run[])(struct store *, struct store_job *) = {
    [JOB_TABLE_PUT] = store_run_table_put,     [JOB_SEAT_JOIN] = store_run_seat_join,
    [JOB_SEAT_UPDATE] = store_run_seat_update, [JOB_SEAT_LEAVE] = store_run_seat_leave,
    [JOB_SEAT_REBUY] = store_run_seat_rebuy,
    [JOB_HAND_BEGIN] = store_run_hand_begin,   [JOB_HAND_COMMIT] = store_run_hand_commit,
    [JOB_VOID_RUNNING] = store_run_void,
};

/* Errors that concern the job's own rows: the transaction can go on without them. */
static bool store_job_only(int rc)
{
    int primary = rc & 0xff;
    return rc == STORE_REJECTED || primary == SQLITE_CONSTRAINT || primary == SQLITE_MISMATCH ||
           primary == SQLITE_TOOBIG || primary == SQLITE_RANGE;
}

/* Whether a job must be durable against a power cut when its batch commits: everything with a
 * ledger row (chips moving: a completed hand, a buy-in, a re-buy, a cash-out) and the voiding of
 * cut-short hands. A hand's start, a sit-out flag and a table's settings need not be: they ride
 * on the next durable commit's fsync (see the top of this file). */
static bool store_job_durable(const struct store_job *j)
{
    switch (j->kind) {
    case JOB_HAND_BEGIN:
    case JOB_SEAT_UPDATE:
    case JOB_TABLE_PUT:
        return false;
    case JOB_SEAT_JOIN:
    case JOB_SEAT_LEAVE:
    case JOB_SEAT_REBUY:
    case JOB_HAND_COMMIT:
    case JOB_VOID_RUNNING:
        return true;
    }
    felt_fatal("store: job kind %d", (int)j->kind);
}

/* Sets the writer's synchronous level for the next transaction (between transactions only, as
 * SQLite requires): FULL if any job of the batch must be durable, else NORMAL. In memory there is
 * nothing to sync. A PRAGMA takes effect when it is prepared, so it cannot be kept prepared; it
 * runs only when the level changes. */
static int store_sync_level(struct store *s, const struct store_job *batch)
{
    bool full = false;
    for (const struct store_job *j = batch; j && !full; j = j->next)
        full = store_job_durable(j);
    if (s->shared || full == s->w_sync_full) return SQLITE_OK;
    const char *sql = full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";
    int rc = sqlite3_exec(s->w.db, sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK) s->w_sync_full = full;
    return rc;
}

/* Runs a batch as one transaction, each job in its own savepoint, and sets every job's ok and
 * why. When the transaction itself fails, no job of the batch is stored. */
static void store_run_batch(struct store *s, struct store_job *batch)
{
    sqlite3 *db = s->w.db;
    sqlite3_stmt **st = s->w.st;
    char why[160] = "";
    struct store_job *j;
    int rc = store_sync_level(s, batch);
    if (rc == SQLITE_OK) rc = store_exec(st[W_BEGIN], "");
    if (rc != SQLITE_OK) {
        snprintf(why, sizeof(why), "%s", sqlite3_errmsg(db));
        goto failed;
    }
    for (j = batch; j; j = j->next) {
        rc = store_exec(st[W_SAVEPOINT], "");
        if (rc == SQLITE_OK) rc = store_job_run[j->kind](s, j);
        if (rc == SQLITE_OK) rc = store_exec(st[W_RELEASE], "");
        j->ok = rc == SQLITE_OK;
        if (j->ok) continue;
        if (!j->why[0]) snprintf(j->why, sizeof(j->why), "%s", sqlite3_errmsg(db));
        if (store_job_only(rc) && !sqlite3_get_autocommit(db) &&
            store_exec(st[W_ROLLBACK_TO], "") == SQLITE_OK &&
            store_exec(st[W_RELEASE], "") == SQLITE_OK)
            continue;
        snprintf(why, sizeof(why), "%s", j->why);
        goto failed;
    }
    rc = store_exec(st[W_COMMIT], "");
    if (rc == SQLITE_OK) {
        atomic_fetch_add(&s->transactions, 1);
        return;
    }
    snprintf(why, sizeof(why), "%s", sqlite3_errmsg(db));
failed:
    /* In WAL mode a rollback writes nothing, so it cannot fail on a full disk. */
    if (!sqlite3_get_autocommit(db) && store_exec(st[W_ROLLBACK], "") != SQLITE_OK)
        felt_fatal("store: ROLLBACK failed: %s", sqlite3_errmsg(db));
    for (j = batch; j; j = j->next) {
        if (j->ok || !j->why[0])
            snprintf(j->why, sizeof(j->why), "not stored, the transaction failed: %.120s", why);
        j->ok = false;
    }
}

static void store_job_free(struct store_job *j)
{
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
        failed += !j->ok;
        if (j->done || (!j->ok && s->error_hook)) {
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

/* The writer: takes everything queued, writes it, reports it; on stop, drains the queue and
 * closes its connection (the last one, so its final checkpoint happens here too). */
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
        if (s->shared) pthread_mutex_lock(&s->db_mu);
        store_run_batch(s, batch);
        if (s->shared) pthread_mutex_unlock(&s->db_mu);
        pthread_mutex_lock(&s->mu);
        store_finish(s, batch);
    }
    pthread_mutex_unlock(&s->mu);
    store_conn_close(&s->w);
    return NULL;
}

/* The writer runs with every signal blocked: asynchronous ones go to the loop thread, and a
 * SIGXFSZ raised by a write past RLIMIT_FSIZE stays pending on the writer instead of killing
 * feltd, so the write fails (EFBIG) and the transaction is reported failed like a full disk. */
static int store_start(struct store *s, struct felt_err *err)
{
    sigset_t all, old;
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->efd < 0) return store_fail(err, "store_io", "%s: eventfd: %s", s->path, strerror(errno));
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&s->writer, NULL, store_writer, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0)
        return store_fail(err, "store_io", "%s: cannot start the writer: %s", s->path, strerror(e));
    s->writer_started = true;
    /* Named so that top -H, perf and felt-bench can tell the store's CPU from the loop's. */
    pthread_setname_np(s->writer, STORE_THREAD_NAME);
    return 0;
}

/* ---- open, close -------------------------------------------------------------------------- */

int store_open(const char *dir, struct store **out, struct felt_err *err)
{
    struct store *s = xcalloc(1, sizeof(*s));
    *out = NULL;
    s->lock_fd = s->efd = -1;
    s->queue_tail = &s->queue;
    s->done_tail = &s->done;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->db_mu, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->flushed, NULL);
    s->shared = strcmp(dir, ":memory:") == 0;
    if (s->shared) {
        s->path = xstrdup(dir);
    } else {
        size_t n = strlen(dir) + sizeof("/felt.db");
        s->path = xmalloc(n);
        snprintf(s->path, n, "%s/felt.db", dir);
    }
    if ((!s->shared && store_prepare_dir(s, dir, err) != 0) || store_open_writer(s, err) != 0 ||
        store_open_reader(s, err) != 0 || store_start(s, err) != 0) {
        store_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

void store_close(struct store *s)
{
    if (!s) return;
    if (s->shared) pthread_mutex_lock(&s->db_mu);
    store_conn_close(&s->r);
    if (s->shared) pthread_mutex_unlock(&s->db_mu);
    if (s->writer_started) {
        pthread_mutex_lock(&s->mu);
        s->stopping = true;
        pthread_cond_signal(&s->work);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->writer, NULL);
    } else {
        store_conn_close(&s->w);
    }
    for (struct store_job *j = s->done, *next; j; j = next) {
        next = j->next;
        store_job_free(j);
    }
    if (s->efd >= 0) close(s->efd);
    if (s->lock_fd >= 0) close(s->lock_fd); /* releases the flock */
    pthread_cond_destroy(&s->flushed);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->db_mu);
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}

/* ---- writes ------------------------------------------------------------------------------- */

static struct store_job *store_job_new(enum store_job_kind kind)
{
    struct store_job *j = xcalloc(1, sizeof(*j));
    j->kind = kind;
    store_iso(felt_now_ms(), j->at);
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
static struct store_job *store_seat_job(enum store_job_kind kind, const char *table_id,
                                        const char *player_id)
{
    if (!store_len_ok(table_id, 1, PROTO_GAME_ID_MAX) ||
        !store_len_ok(player_id, STORE_PLAYER_ID_LEN, STORE_PLAYER_ID_LEN))
        return NULL;
    struct store_job *j = store_job_new(kind);
    memcpy(j->u.seat.table_id, table_id, strlen(table_id) + 1);
    memcpy(j->u.seat.player_id, player_id, STORE_PLAYER_ID_LEN + 1);
    return j;
}

int store_table_put(struct store *s, const struct store_table *t)
{
    if (!store_len_ok(t->id, 1, PROTO_GAME_ID_MAX)) return -1;
    struct store_job *j = store_job_new(JOB_TABLE_PUT);
    j->u.table = *t;
    return store_push(s, j);
}

int store_seat_join(struct store *s, const struct store_seat *seat, int64_t buy_in)
{
    if (!store_len_ok(seat->name, 0, PROTO_NAME_MAX_BYTES)) return -1;
    struct store_job *j = store_seat_job(JOB_SEAT_JOIN, seat->table_id, seat->player_id);
    if (!j) return -1;
    j->u.seat = *seat;
    j->amount = buy_in;
    return store_push(s, j);
}

int store_seat_update(struct store *s, const char *table_id, const char *player_id,
                      bool sitting_out)
{
    struct store_job *j = store_seat_job(JOB_SEAT_UPDATE, table_id, player_id);
    if (!j) return -1;
    j->u.seat.sitting_out = sitting_out;
    return store_push(s, j);
}

int store_seat_leave(struct store *s, const char *table_id, const char *player_id, int64_t cash_out)
{
    struct store_job *j = store_seat_job(JOB_SEAT_LEAVE, table_id, player_id);
    if (!j) return -1;
    j->amount = cash_out;
    return store_push(s, j);
}

int store_seat_rebuy(struct store *s, const char *table_id, const char *player_id, int64_t amount)
{
    struct store_job *j = store_seat_job(JOB_SEAT_REBUY, table_id, player_id);
    if (!j) return -1;
    j->amount = amount;
    return store_push(s, j);
}

int store_hand_begin(struct store *s, const char *table_id, int64_t hand_id, int64_t started_ms,
                     const char *partial_record_json)
{
    if (!store_len_ok(table_id, 1, PROTO_GAME_ID_MAX) || !partial_record_json) return -1;
    struct store_job *j = store_job_new(JOB_HAND_BEGIN);
    memcpy(j->u.hand.table_id, table_id, strlen(table_id) + 1);
    j->u.hand.hand_id = hand_id;
    j->u.hand.started_ms = started_ms;
    j->record = xstrdup(partial_record_json);
    return store_push(s, j);
}

int store_hand_commit(struct store *s, const struct store_hand *h, store_done_fn done, void *arg)
{
    if (!store_len_ok(h->table_id, 1, PROTO_GAME_ID_MAX) || !h->record_json || h->nplayers < 0 ||
        h->nplayers > STORE_HAND_PLAYERS_MAX)
        return -1;
    for (int i = 0; i < h->nplayers; i++)
        if (!store_len_ok(h->players[i].player_id, STORE_PLAYER_ID_LEN, STORE_PLAYER_ID_LEN))
            return -1;
    struct store_job *j = store_job_new(JOB_HAND_COMMIT);
    j->u.hand = *h;
    j->u.hand.record_json = j->u.hand.results_json = NULL;
    j->record = xstrdup(h->record_json);
    j->results = xstrdup(h->results_json ? h->results_json : "[]");
    j->done = done;
    j->arg = arg;
    return store_push(s, j);
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
        if (j->done)
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

/* Runs fn in one read transaction on the reader (one snapshot for all it reads). fn returns
 * SQLITE_OK, an SQLite error, or STORE_REJECTED for a row that cannot be ours. The error is
 * described before the transaction ends (the next call would replace SQLite's message). */
static int store_read(struct store *s, int (*fn)(struct store *, void *), void *ctx,
                      const char *what, struct felt_err *err)
{
    if (s->shared) pthread_mutex_lock(&s->db_mu);
    int rc = store_exec(s->r.st[R_BEGIN], "");
    if (rc == SQLITE_OK) {
        rc = fn(s, ctx);
        if (rc == STORE_REJECTED)
            store_fail(err, "store_not_felt", "%s is damaged: a malformed row in %s", s->path,
                       what);
        else if (rc != SQLITE_OK)
            store_db_fail(s, err, s->r.db, rc, what);
        int end = store_exec(s->r.st[R_END], "");
        if (rc == SQLITE_OK && end != SQLITE_OK) store_db_fail(s, err, s->r.db, rc = end, what);
    } else {
        store_db_fail(s, err, s->r.db, rc, what);
    }
    if (s->shared) pthread_mutex_unlock(&s->db_mu);
    return rc == SQLITE_OK ? 0 : -1;
}

/* Ends a loop of sqlite3_step over st that stopped with rc: SQLITE_OK once every row is read
 * (or the caller stopped with SQLITE_DONE), else the error. */
static int store_rows_end(sqlite3_stmt *st, int rc)
{
    int reset = sqlite3_reset(st);
    return rc == SQLITE_DONE ? reset : rc;
}

struct store_voided {
    char table_id[PROTO_GAME_ID_MAX + 1];
    int64_t hand_id;
};

struct store_load_ctx {
    const struct store_load_ops *ops;
    void *user;
    struct store_voided *voided; /* the hands left running by the previous run */
    size_t nvoided, cap;
    bool void_ok;
    char void_why[160];
};

static int store_load_running(struct store *s, void *arg)
{
    struct store_load_ctx *c = arg;
    sqlite3_stmt *st = s->r.st[R_RUNNING];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (c->nvoided == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 8;
            c->voided = xrealloc(c->voided, c->cap * sizeof(*c->voided));
        }
        struct store_voided *v = &c->voided[c->nvoided++];
        v->hand_id = sqlite3_column_int64(st, 1);
        if (!store_col_text(st, 0, v->table_id, sizeof(v->table_id), 1)) rc = STORE_REJECTED;
        if (rc != SQLITE_ROW) break;
    }
    return store_rows_end(st, rc);
}

/* Reports the departures, oldest first. */
static int store_load_departures(struct store *s, const struct store_load_ctx *c)
{
    sqlite3_stmt *e = s->r.st[R_DEPARTURES];
    int rc;
    while ((rc = sqlite3_step(e)) == SQLITE_ROW) {
        struct store_departure d = {.stack = sqlite3_column_int64(e, 4)};
        const void *hash = sqlite3_column_blob(e, 3);
        if (!store_col_text(e, 0, d.table_id, sizeof(d.table_id), 1) ||
            !store_col_text(e, 1, d.player_id, sizeof(d.player_id), STORE_PLAYER_ID_LEN) ||
            !store_col_text(e, 2, d.name, sizeof(d.name), 0) || !hash ||
            sqlite3_column_bytes(e, 3) != STORE_TOKEN_HASH_LEN) {
            rc = STORE_REJECTED;
            break;
        }
        memcpy(d.token_hash, hash, STORE_TOKEN_HASH_LEN);
        if (c->ops->departure) c->ops->departure(c->user, &d);
    }
    return store_rows_end(e, rc);
}

/* Reports the tables, then the seats, then the departures. */
static int store_load_rows(struct store *s, void *arg)
{
    const struct store_load_ctx *c = arg;
    sqlite3_stmt *t = s->r.st[R_TABLES], *e = s->r.st[R_SEATS];
    int rc;
    while ((rc = sqlite3_step(t)) == SQLITE_ROW) {
        struct store_table tb = {
            .seats = sqlite3_column_int(t, 1),
            .small_blind = sqlite3_column_int64(t, 2),
            .big_blind = sqlite3_column_int64(t, 3),
            .ante = sqlite3_column_int64(t, 4),
            .buy_in = sqlite3_column_int64(t, 5),
            .action_timeout_ms = sqlite3_column_int64(t, 6),
            .last_hand_id = sqlite3_column_int64(t, 7),
        };
        if (!store_col_text(t, 0, tb.id, sizeof(tb.id), 1)) {
            rc = STORE_REJECTED;
            break;
        }
        if (c->ops->table) c->ops->table(c->user, &tb);
    }
    if ((rc = store_rows_end(t, rc)) != SQLITE_OK) return rc;
    while ((rc = sqlite3_step(e)) == SQLITE_ROW) {
        struct store_seat st = {
            .seat = sqlite3_column_int(e, 3),
            .stack = sqlite3_column_int64(e, 4),
            .sitting_out = sqlite3_column_int(e, 5) != 0,
            .bot = sqlite3_column_int(e, 6) != 0,
        };
        const void *hash = sqlite3_column_blob(e, 7);
        if (!store_col_text(e, 0, st.table_id, sizeof(st.table_id), 1) ||
            !store_col_text(e, 1, st.player_id, sizeof(st.player_id), STORE_PLAYER_ID_LEN) ||
            !store_col_text(e, 2, st.name, sizeof(st.name), 0) || !hash ||
            sqlite3_column_bytes(e, 7) != STORE_TOKEN_HASH_LEN) {
            rc = STORE_REJECTED;
            break;
        }
        memcpy(st.token_hash, hash, STORE_TOKEN_HASH_LEN);
        if (c->ops->seat) c->ops->seat(c->user, &st);
    }
    if ((rc = store_rows_end(e, rc)) != SQLITE_OK) return rc;
    return store_load_departures(s, c);
}

static void store_void_done(void *arg, bool ok, const char *why)
{
    struct store_load_ctx *c = arg;
    c->void_ok = ok;
    snprintf(c->void_why, sizeof(c->void_why), "%s", why ? why : "");
}

int store_load(struct store *s, const struct store_load_ops *ops, void *user, struct felt_err *err)
{
    struct store_load_ctx c = {.ops = ops, .user = user};
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    bool wrote = s->queued > 0;
    pthread_mutex_unlock(&s->mu);
    FELT_ASSERT(!wrote); /* the voiding below would void hands this run has begun */

    if (store_read(s, store_load_running, &c, "the running hands", err) != 0) goto out;
    if (c.nvoided > 0) { /* voided through the writer, like every write */
        struct store_job *j = store_job_new(JOB_VOID_RUNNING);
        j->done = store_void_done;
        j->arg = &c;
        FELT_ASSERT(store_push(s, j) == 0); /* the queue is empty */
        store_flush(s);
        store_dispatch(s); /* runs store_void_done */
        if (!c.void_ok) {
            store_fail(err, "store_io", "%s: cannot void the hands cut short: %s", s->path,
                       c.void_why);
            goto out;
        }
    }
    if (store_read(s, store_load_rows, &c, "the tables and seats", err) != 0) goto out;
    for (size_t i = 0; i < c.nvoided && ops->voided; i++)
        ops->voided(user, c.voided[i].table_id, c.voided[i].hand_id);
    rc = 0;
out:
    free(c.voided);
    return rc;
}

struct store_hands_ctx {
    const char *table_id;
    int64_t since;
    int limit;
    store_hand_fn cb;
    void *user;
};

/* Reads the players of one hand into row. */
static int store_read_hand_players(struct store *s, const char *table_id,
                                   struct store_hand_row *row)
{
    sqlite3_stmt *st = s->r.st[R_HAND_PLAYERS];
    int rc = store_bind_args(st, "ti", table_id, row->hand_id);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_hand_player *p = &row->players[row->nplayers];
        if (row->nplayers == STORE_HAND_PLAYERS_MAX ||
            !store_col_text(st, 0, p->player_id, sizeof(p->player_id), STORE_PLAYER_ID_LEN)) {
            rc = STORE_REJECTED;
            break;
        }
        p->seat = sqlite3_column_int(st, 1);
        p->stack_after = sqlite3_column_int64(st, 2);
        p->net = sqlite3_column_int64(st, 3);
        row->nplayers++;
        rc = SQLITE_OK;
    }
    return store_rows_end(st, rc);
}

static int store_read_hands(struct store *s, void *arg)
{
    const struct store_hands_ctx *c = arg;
    sqlite3_stmt *st = s->r.st[c->since < 0 ? R_HANDS_LAST : R_HANDS];
    int rc = store_bind_args(st, "tid", c->table_id, c->since < 0 ? -1 : c->since, c->limit);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_hand_row row = {
            .hand_id = sqlite3_column_int64(st, 0),
            .started_ms = store_ms(sqlite3_column_text(st, 1)),
            .ended_ms = store_ms(sqlite3_column_text(st, 2)),
            .state = store_col_str(st, 3),
            .record_json = store_col_str(st, 4),
            .results_json = store_col_str(st, 5),
            .shown_mask = (uint16_t)sqlite3_column_int(st, 6),
        };
        rc = store_read_hand_players(s, c->table_id, &row);
        if (rc == SQLITE_OK && c->cb(c->user, &row) != 0) rc = SQLITE_DONE;
    }
    return store_rows_end(st, rc);
}

int store_hands(struct store *s, const char *table_id, int64_t since, int limit, store_hand_fn cb,
                void *user, struct felt_err *err)
{
    struct store_hands_ctx c = {table_id, since,
                                limit < 1     ? 1
                                : limit > 100 ? 100
                                              : limit,
                                cb, user};
    return store_read(s, store_read_hands, &c, "the hands", err);
}

struct store_ledger_ctx {
    const char *table_id;
    struct store_ledger *out;
};

static int store_read_ledger(struct store *s, void *arg)
{
    struct store_ledger_ctx *c = arg;
    sqlite3_stmt *st = s->r.st[R_LEDGER];
    int rc = store_bind_args(st, "t", c->table_id);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        c->out->buy_ins = sqlite3_column_int64(st, 0);
        c->out->cash_outs = sqlite3_column_int64(st, 1);
        c->out->hand_net = sqlite3_column_int64(st, 2);
        c->out->on_table = sqlite3_column_int64(st, 3);
        rc = SQLITE_DONE;
    }
    return store_rows_end(st, rc);
}

int store_ledger(struct store *s, const char *table_id, struct store_ledger *out,
                 struct felt_err *err)
{
    struct store_ledger_ctx c = {table_id, out};
    return store_read(s, store_read_ledger, &c, "the ledger", err);
}
