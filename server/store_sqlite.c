/*
 * store_sqlite.c: the SQLite backend of the store (store_backend.h), feltd's single-node default.
 *
 * One database file (dir/felt.db) in WAL mode, two connections: the writer, used by store.c's
 * writer thread, and a read-only reader for the reads (store.c runs them on the loop thread or
 * the writer thread, one at a time; WAL lets it read a committed snapshot while the writer
 * writes). A batch is one transaction with a savepoint per job: a job
 * that breaks a constraint is rolled back to its savepoint alone; an I/O error (disk full) rolls
 * the whole transaction back, so the rows of a hand are always stored together or not at all.
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
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store_backend.h"

#define STORE_APP_ID 0x46454c54 /* PRAGMA application_id: "FELT" */
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
    /* 3: the fence of the last owner that wrote for a table (store_table_fence). */
    "ALTER TABLE tables ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;",
    /* 4: the seq of the table's last ordered write stored (struct store_order). */
    "ALTER TABLE tables ADD COLUMN write_seq INTEGER NOT NULL DEFAULT 0;",
};
#define STORE_SCHEMA_VERSION ((int64_t)FELT_ARRAY_LEN(store_migrations))

/* The writer's statements, prepared once. */
/* clang-format off */
enum {
    W_BEGIN, W_COMMIT, W_ROLLBACK, W_SAVEPOINT, W_RELEASE, W_ROLLBACK_TO,
    W_TABLE_PUT, W_TABLE_HAND_ID, W_FENCE, W_FENCE_ABOVE, W_SEQ, W_SEQ_GET, W_SEAT_ADD, W_SEAT_SIT, W_SEAT_STACK,
    W_SEAT_ADD_CHIPS,
    W_SEAT_DEL, W_LEDGER, W_DEPART_ADD, W_DEPART_DEL,
    W_HAND_BEGIN, W_HAND_COMPLETE, W_HAND_PLAYER, W_VOID, W_VOID_TABLE, W_COUNT
};
/* clang-format on */
static const char *const store_wsql[W_COUNT] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    [W_SAVEPOINT] = "SAVEPOINT job",
    [W_RELEASE] = "RELEASE job",
    [W_ROLLBACK_TO] = "ROLLBACK TO job",
    [W_TABLE_PUT] =
        "INSERT INTO tables (id, seats, small_blind, big_blind, ante, buy_in,"
        " action_timeout_ms, last_hand_id, fence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        " ON CONFLICT (id) DO UPDATE SET seats = excluded.seats,"
        " small_blind = excluded.small_blind, big_blind = excluded.big_blind,"
        " ante = excluded.ante, buy_in = excluded.buy_in,"
        " action_timeout_ms = excluded.action_timeout_ms,"
        " last_hand_id = max(last_hand_id, excluded.last_hand_id),"
        " fence = excluded.fence WHERE fence <= excluded.fence",
    [W_TABLE_HAND_ID] = "UPDATE tables SET last_hand_id = max(last_hand_id, ?2), fence = ?3"
                        " WHERE id = ?1 AND fence <= ?3",
    [W_FENCE] = "UPDATE tables SET fence = ?2 WHERE id = ?1 AND fence <= ?2",
    /* A take's: only a fence above every older owner's (equal would let the last one on). */
    [W_FENCE_ABOVE] = "UPDATE tables SET fence = ?2 WHERE id = ?1 AND fence < ?2",
    [W_SEQ] = "UPDATE tables SET write_seq = ?2, fence = ?3"
              " WHERE id = ?1 AND write_seq = ?2 - 1 AND fence <= ?3",
    [W_SEQ_GET] = "SELECT write_seq, fence FROM tables WHERE id = ?1",
    [W_SEAT_ADD] = "INSERT INTO seats (table_id, player_id, name, seat, stack, sitting_out, bot,"
                   " token_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [W_SEAT_SIT] = "UPDATE seats SET sitting_out = ?3 WHERE table_id = ?1 AND player_id = ?2",
    [W_SEAT_STACK] = "UPDATE seats SET stack = ?3 WHERE table_id = ?1 AND player_id = ?2",
    [W_SEAT_ADD_CHIPS] =
        "UPDATE seats SET stack = stack + ?3 WHERE table_id = ?1 AND player_id = ?2",
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
    [W_VOID_TABLE] = "UPDATE hands SET state = 'voided', ended_at = ?1"
                     " WHERE table_id = ?2 AND state = 'running'",
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
                 " last_hand_id, fence, write_seq FROM tables ORDER BY id",
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

_Static_assert((int)R_COUNT <= (int)W_COUNT, "store_sqlite_conn.st holds either set");

/* A connection and its prepared statements. Each is used by one thread at a time. */
struct store_sqlite_conn {
    sqlite3 *db;
    bool owns_db;
    sqlite3_stmt *st[W_COUNT]; /* W_COUNT >= R_COUNT */
    size_t nst;
};

struct store_db {
    char *path;  /* dir/felt.db, or ":memory:" */
    bool shared; /* ":memory:": r is w's connection, used under db_mu */
    struct store_sqlite_conn w, r;
    pthread_mutex_t db_mu;
    int lock_fd;
    bool w_sync_full; /* the writer's synchronous level: FULL (true) or NORMAL */
};

/* ---- small helpers ------------------------------------------------------------------------ */

static const char *store_sqlite_errno_code(int e)
{
    return e == EACCES || e == EPERM || e == EROFS ? "store_readonly" : "store_io";
}

/* Maps an SQLite failure to store.h's codes, with what was being done and SQLite's reason. */
static int store_sqlite_db_fail(const struct store_db *s, struct felt_err *err, sqlite3 *db, int rc,
                                const char *what)
{
    const char *why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    int sys = db ? sqlite3_system_errno(db) : 0;
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return store_backend_fail(err, "store_not_felt",
                                  "%s is not a felt database or is damaged (%s)", s->path, why);
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return store_backend_fail(err, "store_readonly", "%s is not writable (%s)", s->path, why);
    case SQLITE_CANTOPEN:
        return store_backend_fail(err, store_sqlite_errno_code(sys), "%s: %s: %s", s->path, what,
                                  sys ? strerror(sys) : why);
    default:
        return store_backend_fail(err, "store_io", "%s: %s: %s", s->path, what, why);
    }
}

/* Copies column col into buf when its length is min..size-1; false otherwise. */
static bool store_sqlite_col_text(sqlite3_stmt *st, int col, char *buf, size_t size, size_t min)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (!t || n < min || n >= size) return false;
    memcpy(buf, t, n + 1);
    return true;
}

static const char *store_sqlite_col_str(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

/* Binds ?1.. from fmt, one letter each: 'i' int64_t, 'd' int, 't' text, 'h' a token hash
 * (STORE_TOKEN_HASH_LEN bytes), 'n' NULL. Strings are bound SQLITE_STATIC: they must outlive
 * the statement's step. */
static int store_sqlite_bind(sqlite3_stmt *st, const char *fmt, va_list ap)
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
            felt_fatal("store_sqlite_bind: bad format '%c'", fmt[i - 1]);
        }
    }
    return rc;
}

/* Binds, runs a statement that returns no rows to completion and resets it: SQLITE_OK or the
 * error (whose message sqlite3_errmsg still holds). */
static int store_sqlite_exec(sqlite3_stmt *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = store_sqlite_bind(st, fmt, ap);
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

static int store_sqlite_bind_args(sqlite3_stmt *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = store_sqlite_bind(st, fmt, ap);
    va_end(ap);
    return rc;
}

/* One row of a one-column query, as a number (num) or text (text, size). */
static int store_sqlite_query(sqlite3 *db, const char *sql, int64_t *num, char *text, size_t size)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            rc = SQLITE_OK;
            if (num) *num = sqlite3_column_int64(st, 0);
            if (text) snprintf(text, size, "%s", store_sqlite_col_str(st, 0));
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_ERROR;
        }
    }
    sqlite3_finalize(st); /* repeats the step's error, already in rc */
    return rc;
}

/* ---- connections -------------------------------------------------------------------------- */

static int store_sqlite_conn_prepare(struct store_db *s, struct store_sqlite_conn *c,
                                     const char *const *sql, size_t n, struct felt_err *err)
{
    for (c->nst = 0; c->nst < n; c->nst++) {
        int rc = sqlite3_prepare_v3(c->db, sql[c->nst], -1, SQLITE_PREPARE_PERSISTENT,
                                    &c->st[c->nst], NULL);
        if (rc != SQLITE_OK)
            return store_sqlite_db_fail(s, err, c->db, rc, "cannot prepare a statement");
    }
    return 0;
}

static void store_sqlite_conn_close(struct store_sqlite_conn *c)
{
    for (size_t i = 0; i < c->nst; i++)
        sqlite3_finalize(c->st[i]); /* returns the statement's last error, reported then */
    c->nst = 0;
    if (c->owns_db && sqlite3_close_v2(c->db) != SQLITE_OK)
        felt_fatal("store: sqlite3_close_v2 failed: %s", sqlite3_errmsg(c->db));
    c->db = NULL;
}

/* mkdir -p dir (mode 0700); 0, or -1 with errno. */
static int store_sqlite_mkdirs(const char *dir)
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
static int store_sqlite_prepare_dir(struct store_db *s, const char *dir, struct felt_err *err)
{
    char *lock = NULL;
    int rc = -1;
    if (!*dir || store_sqlite_mkdirs(dir) != 0) {
        rc = store_backend_fail(err, store_sqlite_errno_code(errno),
                                "cannot create the data folder %s: %s", dir,
                                *dir ? strerror(errno) : "empty path");
        goto out;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        rc = store_backend_fail(err, store_sqlite_errno_code(errno),
                                "the data folder %s is not writable: %s", dir, strerror(errno));
        goto out;
    }
    if (access(s->path, F_OK) == 0 && access(s->path, R_OK | W_OK) != 0) {
        rc = store_backend_fail(err, store_sqlite_errno_code(errno), "%s is not writable: %s",
                                s->path, strerror(errno));
        goto out;
    }
    size_t n = strlen(dir) + sizeof("/felt.lock");
    lock = xmalloc(n);
    snprintf(lock, n, "%s/felt.lock", dir);
    s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd < 0) {
        rc = store_backend_fail(err, store_sqlite_errno_code(errno), "cannot open %s: %s", lock,
                                strerror(errno));
        goto out;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK
                 ? store_backend_fail(err, "store_io", "%s is in use by another feltd", dir)
                 : store_backend_fail(err, "store_io", "cannot lock %s: %s", lock, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(lock);
    return rc;
}

/* Runs the migrations from version `from` in one transaction, stamping the file as felt's. */
static int store_sqlite_migrate(struct store_db *s, int64_t from, struct felt_err *err)
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
    store_sqlite_db_fail(s, err, db, rc, "cannot update the schema");
    if (!sqlite3_get_autocommit(db) && sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
        felt_fatal("store: ROLLBACK failed: %s", sqlite3_errmsg(db));
    return -1;
}

/* Opens the writer connection and makes sure the file is a felt database (or a new, empty
 * file), reading only, before anything is written to it; then WAL and the migrations. */
static int store_sqlite_open_writer(struct store_db *s, struct felt_err *err)
{
    int64_t app = 0, version = 0, objects = 0;
    char text[160];
    int rc = sqlite3_open_v2(
        s->path, &s->w.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    s->w.owns_db = s->w.db != NULL;
    if (rc != SQLITE_OK) return store_sqlite_db_fail(s, err, s->w.db, rc, "cannot open");
    if ((rc = sqlite3_extended_result_codes(s->w.db, 1)) != SQLITE_OK ||
        (rc = sqlite3_busy_timeout(s->w.db, 5000)) != SQLITE_OK ||
        (rc = store_sqlite_query(s->w.db, "PRAGMA application_id", &app, NULL, 0)) != SQLITE_OK ||
        (rc = store_sqlite_query(s->w.db, "PRAGMA user_version", &version, NULL, 0)) != SQLITE_OK ||
        (rc = store_sqlite_query(s->w.db, "SELECT count(*) FROM sqlite_schema", &objects, NULL,
                                 0)) != SQLITE_OK)
        return store_sqlite_db_fail(s, err, s->w.db, rc, "cannot read");
    bool fresh = app == 0 && version == 0 && objects == 0;
    if (app != STORE_APP_ID && !fresh)
        return store_backend_fail(err, "store_not_felt",
                                  "%s is not a felt database (application_id %#llx, has tables)",
                                  s->path, (unsigned long long)app);
    if (version > STORE_SCHEMA_VERSION)
        return store_backend_fail(
            err, "store_newer",
            "%s was written by a newer feltd (schema %lld, this feltd knows %lld)", s->path,
            (long long)version, (long long)STORE_SCHEMA_VERSION);
    if (!fresh) {
        rc = store_sqlite_query(s->w.db, "PRAGMA quick_check(1)", NULL, text, sizeof(text));
        if (rc != SQLITE_OK) return store_sqlite_db_fail(s, err, s->w.db, rc, "cannot check");
        if (strcmp(text, "ok") != 0)
            return store_backend_fail(err, "store_not_felt", "%s is damaged: %s", s->path, text);
    }
    if (!s->shared) {
        rc = store_sqlite_query(s->w.db, "PRAGMA journal_mode = WAL", NULL, text, sizeof(text));
        if (rc != SQLITE_OK)
            return store_sqlite_db_fail(s, err, s->w.db, rc, "cannot switch to WAL");
        if (strcmp(text, "wal") != 0)
            return store_backend_fail(err, "store_io", "%s: cannot use WAL here (journal mode %s)",
                                      s->path, text);
    }
    /* temp_store: a job's savepoint journal (the pages it changed, to roll it back alone) stays
     * in memory instead of spilling past 64 KiB into a new temporary file in /var/tmp, as it
     * did for about one hand in 35. */
    rc = sqlite3_exec(s->w.db,
                      "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
                      " PRAGMA temp_store = MEMORY",
                      NULL, NULL, NULL);
    s->w_sync_full = true;
    if (rc != SQLITE_OK) return store_sqlite_db_fail(s, err, s->w.db, rc, "cannot configure");
    if (store_sqlite_migrate(s, version, err) != 0) return -1;
    return store_sqlite_conn_prepare(s, &s->w, store_wsql, W_COUNT, err);
}

static int store_sqlite_open_reader(struct store_db *s, struct felt_err *err)
{
    if (s->shared) {
        s->r.db = s->w.db;
    } else {
        int rc =
            sqlite3_open_v2(s->path, &s->r.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
        s->r.owns_db = s->r.db != NULL;
        if (rc == SQLITE_OK) rc = sqlite3_busy_timeout(s->r.db, 200);
        if (rc != SQLITE_OK)
            return store_sqlite_db_fail(s, err, s->r.db, rc, "cannot open for reading");
    }
    return store_sqlite_conn_prepare(s, &s->r, store_rsql, R_COUNT, err);
}

/* The job runners return SQLITE_OK, an SQLite error, or STORE_REJECTED with j->why set. */

/* The fence check (store_table_fence) of a job for table_id: raises the table's fence to the
 * job's, or rejects the job when the table holds a higher one. */
static int store_sqlite_fence(struct store_db *s, struct store_job *j, const char *table_id)
{
    int rc = store_sqlite_exec(s->w.st[W_FENCE], "ti", table_id, j->fence);
    if (rc == SQLITE_OK && sqlite3_changes(s->w.db) != 1)
        rc = store_backend_fenced(j, table_id);
    return rc;
}

/* The order check (struct store_order) of a job: an ordered one moves its table's write_seq from
 * seq - 1 to seq (under the fence check), or is found stored already (*stored: it is not run
 * again), or is refused (STORE_REJECTED: fenced, or too early). */
static int store_sqlite_order(struct store_db *s, struct store_job *j, bool *stored)
{
    *stored = false;
    if (j->seq == 0) return SQLITE_OK;
    const char *table_id = store_backend_job_table(j);
    int rc = store_sqlite_exec(s->w.st[W_SEQ], "tii", table_id, j->seq, j->fence);
    if (rc != SQLITE_OK || sqlite3_changes(s->w.db) == 1) return rc;
    sqlite3_stmt *st = s->w.st[W_SEQ_GET];
    int64_t last = 0, fence = 0;
    rc = store_sqlite_bind_args(st, "t", table_id);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    bool found = rc == SQLITE_ROW;
    if (found) {
        last = sqlite3_column_int64(st, 0);
        fence = sqlite3_column_int64(st, 1);
    }
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) rc = SQLITE_OK;
    sqlite3_reset(st);
    if (rc != SQLITE_OK) return rc;
    if (store_backend_order_found(j, found, last, fence) == 1) *stored = true;
    else rc = STORE_REJECTED;
    return rc;
}

static int store_sqlite_run_table_put(struct store_db *s, struct store_job *j)
{
    const struct store_table *t = &j->u.table;
    int rc = store_sqlite_exec(s->w.st[W_TABLE_PUT], "tdiiiiiii", t->id, t->seats, t->small_blind,
                               t->big_blind, t->ante, t->buy_in, t->action_timeout_ms,
                               t->last_hand_id, j->fence);
    if (rc == SQLITE_OK && sqlite3_changes(s->w.db) != 1)
        rc = store_backend_fenced(j, t->id);
    return rc;
}

static int store_sqlite_run_seat_join(struct store_db *s, struct store_job *j)
{
    const struct store_seat *e = &j->u.seat;
    int rc = store_sqlite_fence(s, j, e->table_id);
    if (rc == SQLITE_OK)
        rc = store_sqlite_exec(s->w.st[W_SEAT_ADD], "tttdiddh", e->table_id, e->player_id, e->name,
                               e->seat, e->stack, (int)e->sitting_out, (int)e->bot, e->token_hash);
    if (rc == SQLITE_OK)
        rc = store_sqlite_exec(s->w.st[W_DEPART_DEL], "tt", e->table_id, e->player_id);
    if (rc == SQLITE_OK)
        rc = store_sqlite_exec(s->w.st[W_LEDGER], "tttint", e->table_id, e->player_id, "buy_in",
                               j->amount, j->at);
    return rc;
}

static int store_sqlite_run_seat_update(struct store_db *s, struct store_job *j)
{
    const struct store_seat *e = &j->u.seat;
    int rc = store_sqlite_fence(s, j, e->table_id);
    if (rc == SQLITE_OK)
        rc = store_sqlite_exec(s->w.st[W_SEAT_SIT], "ttd", e->table_id, e->player_id,
                               (int)e->sitting_out);
    if (rc == SQLITE_OK && sqlite3_changes(s->w.db) != 1)
        rc =
            store_backend_reject(j, "no seat for player %s at table %s", e->player_id, e->table_id);
    return rc;
}

static int store_sqlite_run_seat_leave(struct store_db *s, struct store_job *j)
{
    const struct store_seat *e = &j->u.seat;
    /* A human leaving with chips is remembered (store_load_ops.departure); a bot is not. */
    int rc = store_sqlite_fence(s, j, e->table_id);
    if (rc == SQLITE_OK)
        rc = store_sqlite_exec(s->w.st[W_DEPART_ADD], "ttit", e->table_id, e->player_id, j->amount,
                               j->at);
    if (rc == SQLITE_OK)
        rc = store_sqlite_exec(s->w.st[W_SEAT_DEL], "tt", e->table_id, e->player_id);
    if (rc == SQLITE_OK && sqlite3_changes(s->w.db) != 1)
        rc =
            store_backend_reject(j, "no seat for player %s at table %s", e->player_id, e->table_id);
    if (rc == SQLITE_OK)
        rc = store_sqlite_exec(s->w.st[W_LEDGER], "tttint", e->table_id, e->player_id, "cash_out",
                               j->amount, j->at);
    return rc;
}

static int store_sqlite_run_seat_rebuy(struct store_db *s, struct store_job *j)
{
    const struct store_seat *e = &j->u.seat;
    int rc = store_sqlite_fence(s, j, e->table_id);
    if (rc == SQLITE_OK)
        rc = store_sqlite_exec(s->w.st[W_SEAT_ADD_CHIPS], "tti", e->table_id, e->player_id,
                               j->amount);
    if (rc == SQLITE_OK && sqlite3_changes(s->w.db) != 1)
        rc =
            store_backend_reject(j, "no seat for player %s at table %s", e->player_id, e->table_id);
    if (rc == SQLITE_OK)
        rc = store_sqlite_exec(s->w.st[W_LEDGER], "tttint", e->table_id, e->player_id, "buy_in",
                               j->amount, j->at);
    return rc;
}

/* A hand's id reserved at its table (last_hand_id), under the fence check. */
static int store_sqlite_hand_id(struct store_db *s, struct store_job *j)
{
    const struct store_hand *h = &j->u.hand;
    int rc = store_sqlite_exec(s->w.st[W_TABLE_HAND_ID], "tii", h->table_id, h->hand_id, j->fence);
    if (rc == SQLITE_OK && sqlite3_changes(s->w.db) != 1)
        rc = store_backend_fenced(j, h->table_id);
    return rc;
}

static int store_sqlite_run_hand_begin(struct store_db *s, struct store_job *j)
{
    const struct store_hand *h = &j->u.hand;
    char started[STORE_ISO_LEN];
    store_backend_iso(h->started_ms, started);
    int rc = store_sqlite_hand_id(s, j);
    if (rc == SQLITE_OK)
        rc = store_sqlite_exec(s->w.st[W_HAND_BEGIN], "titt", h->table_id, h->hand_id, started,
                               j->record);
    return rc;
}

static int store_sqlite_run_hand_commit(struct store_db *s, struct store_job *j)
{
    const struct store_hand *h = &j->u.hand;
    char started[STORE_ISO_LEN], ended[STORE_ISO_LEN];
    store_backend_iso(h->started_ms, started);
    store_backend_iso(h->ended_ms, ended);
    int rc = store_sqlite_hand_id(s, j);
    if (rc == SQLITE_OK)
        rc = store_sqlite_exec(s->w.st[W_HAND_COMPLETE], "tittttd", h->table_id, h->hand_id,
                               started, ended, j->record, j->results, (int)h->shown_mask);
    if (rc == SQLITE_OK && sqlite3_changes(s->w.db) != 1)
        rc = store_backend_reject(j, "hand %lld of table %s is already complete or voided",
                                  (long long)h->hand_id, h->table_id);
    for (int i = 0; rc == SQLITE_OK && i < h->nplayers; i++) {
        const struct store_hand_player *p = &h->players[i];
        /* No row changed: the player left during the hand; the ledger still gets the net. */
        rc = store_sqlite_exec(s->w.st[W_SEAT_STACK], "tti", h->table_id, p->player_id,
                               p->stack_after);
        if (rc == SQLITE_OK)
            rc = store_sqlite_exec(s->w.st[W_LEDGER], "tttiit", h->table_id, p->player_id, "hand",
                                   p->net, h->hand_id, ended);
        if (rc == SQLITE_OK)
            rc = store_sqlite_exec(s->w.st[W_HAND_PLAYER], "titdii", h->table_id, h->hand_id,
                                   p->player_id, p->seat, p->stack_after, p->net);
    }
    return rc;
}

static int store_sqlite_run_void(struct store_db *s, struct store_job *j)
{
    return store_sqlite_exec(s->w.st[W_VOID], "t", j->at);
}

/* A take's fence: only above the stored one. */
static int store_sqlite_run_table_fence(struct store_db *s, struct store_job *j)
{
    int rc = store_sqlite_exec(s->w.st[W_FENCE_ABOVE], "ti", j->u.table.id, j->fence);
    if (rc == SQLITE_OK && sqlite3_changes(s->w.db) != 1)
        rc = store_backend_fenced(j, j->u.table.id);
    return rc;
}

static int store_sqlite_run_void_table(struct store_db *s, struct store_job *j)
{
    int rc = store_sqlite_fence(s, j, j->u.table.id);
    if (rc == SQLITE_OK) rc = store_sqlite_exec(s->w.st[W_VOID_TABLE], "tt", j->at, j->u.table.id);
    return rc;
}

/* Nothing but the order check, which ran before. */
static int store_sqlite_run_order_skip(struct store_db *s, struct store_job *j)
{
    (void)s, (void)j;
    return SQLITE_OK;
}

static int (*const store_sqlite_job_run[])(struct store_db *, struct store_job *) = {
    [JOB_TABLE_PUT] = store_sqlite_run_table_put,
    [JOB_SEAT_JOIN] = store_sqlite_run_seat_join,
    [JOB_SEAT_UPDATE] = store_sqlite_run_seat_update,
    [JOB_SEAT_LEAVE] = store_sqlite_run_seat_leave,
    [JOB_SEAT_REBUY] = store_sqlite_run_seat_rebuy,
    [JOB_HAND_BEGIN] = store_sqlite_run_hand_begin,
    [JOB_HAND_COMMIT] = store_sqlite_run_hand_commit,
    [JOB_VOID_RUNNING] = store_sqlite_run_void,
    [JOB_TABLE_FENCE] = store_sqlite_run_table_fence,
    [JOB_VOID_TABLE] = store_sqlite_run_void_table,
    [JOB_ORDER_SKIP] = store_sqlite_run_order_skip,
};

/* Errors that concern the job's own rows: the transaction can go on without them. */
static bool store_sqlite_job_only(int rc)
{
    int primary = rc & 0xff;
    return rc == STORE_REJECTED || primary == SQLITE_CONSTRAINT || primary == SQLITE_MISMATCH ||
           primary == SQLITE_TOOBIG || primary == SQLITE_RANGE;
}

/* Sets the writer's synchronous level for the next transaction (between transactions only, as
 * SQLite requires): FULL if any job of the batch must be durable, else NORMAL. In memory there is
 * nothing to sync. A PRAGMA takes effect when it is prepared, so it cannot be kept prepared; it
 * runs only when the level changes. */
static int store_sqlite_sync_level(struct store_db *s, const struct store_job *batch)
{
    bool full = store_backend_batch_durable(batch);
    if (s->shared || full == s->w_sync_full) return SQLITE_OK;
    const char *sql = full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";
    int rc = sqlite3_exec(s->w.db, sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK) s->w_sync_full = full;
    return rc;
}

/* Runs a batch as one transaction, each job in its own savepoint, and sets every job's ok and
 * why. When the transaction itself fails, no job of the batch is stored. */
static bool store_sqlite_run_batch_locked(struct store_db *s, struct store_job *batch)
{
    sqlite3 *db = s->w.db;
    sqlite3_stmt **st = s->w.st;
    char why[STORE_WHY_LEN] = "";
    struct store_job *j;
    int rc = store_sqlite_sync_level(s, batch);
    if (rc == SQLITE_OK) rc = store_sqlite_exec(st[W_BEGIN], "");
    if (rc != SQLITE_OK) {
        snprintf(why, sizeof(why), "%s", sqlite3_errmsg(db));
        goto failed;
    }
    for (j = batch; j; j = j->next) {
        bool stored = false;
        rc = store_sqlite_exec(st[W_SAVEPOINT], "");
        if (rc == SQLITE_OK) rc = store_sqlite_order(s, j, &stored);
        if (rc == SQLITE_OK && !stored) rc = store_sqlite_job_run[j->kind](s, j);
        if (rc == SQLITE_OK) rc = store_sqlite_exec(st[W_RELEASE], "");
        j->ok = rc == SQLITE_OK;
        if (j->ok) continue;
        if (!j->why[0]) snprintf(j->why, sizeof(j->why), "%s", sqlite3_errmsg(db));
        if (store_sqlite_job_only(rc) && !sqlite3_get_autocommit(db) &&
            store_sqlite_exec(st[W_ROLLBACK_TO], "") == SQLITE_OK &&
            store_sqlite_exec(st[W_RELEASE], "") == SQLITE_OK) {
            j->refused = true;
            continue;
        }
        snprintf(why, sizeof(why), "%s", j->why);
        goto failed;
    }
    rc = store_sqlite_exec(st[W_COMMIT], "");
    if (rc == SQLITE_OK) return true;
    snprintf(why, sizeof(why), "%s", sqlite3_errmsg(db));
failed:
    /* In WAL mode a rollback writes nothing, so it cannot fail on a full disk. */
    if (!sqlite3_get_autocommit(db) && store_sqlite_exec(st[W_ROLLBACK], "") != SQLITE_OK)
        felt_fatal("store: ROLLBACK failed: %s", sqlite3_errmsg(db));
    for (j = batch; j; j = j->next) {
        if (j->ok || !j->why[0])
            snprintf(j->why, sizeof(j->why), "not stored, the transaction failed: %.120s", why);
        /* What a job found alone was found among rows now rolled back: it may go next time. */
        j->ok = j->refused = j->early = false;
    }
    return false;
}

static bool store_sqlite_run_batch(struct store_db *s, struct store_job *batch)
{
    if (s->shared) pthread_mutex_lock(&s->db_mu);
    bool committed = store_sqlite_run_batch_locked(s, batch);
    if (s->shared) pthread_mutex_unlock(&s->db_mu);
    return committed;
}

/* Runs fn in one read transaction on the reader (one snapshot for all it reads). fn returns
 * SQLITE_OK, an SQLite error, or STORE_REJECTED for a row that cannot be ours. The error is
 * described before the transaction ends (the next call would replace SQLite's message). */
static int store_sqlite_read(struct store_db *s, int (*fn)(struct store_db *, void *), void *ctx,
                             const char *what, struct felt_err *err)
{
    if (s->shared) pthread_mutex_lock(&s->db_mu);
    int rc = store_sqlite_exec(s->r.st[R_BEGIN], "");
    if (rc == SQLITE_OK) {
        rc = fn(s, ctx);
        if (rc == STORE_REJECTED)
            store_backend_fail(err, "store_not_felt", "%s is damaged: a malformed row in %s",
                               s->path, what);
        else if (rc != SQLITE_OK)
            store_sqlite_db_fail(s, err, s->r.db, rc, what);
        int end = store_sqlite_exec(s->r.st[R_END], "");
        if (rc == SQLITE_OK && end != SQLITE_OK)
            store_sqlite_db_fail(s, err, s->r.db, rc = end, what);
    } else {
        store_sqlite_db_fail(s, err, s->r.db, rc, what);
    }
    if (s->shared) pthread_mutex_unlock(&s->db_mu);
    return rc == SQLITE_OK ? 0 : -1;
}

/* Ends a loop of sqlite3_step over st that stopped with rc: SQLITE_OK once every row is read
 * (or the caller stopped with SQLITE_DONE), else the error. */
static int store_sqlite_rows_end(sqlite3_stmt *st, int rc)
{
    int reset = sqlite3_reset(st);
    return rc == SQLITE_DONE ? reset : rc;
}

struct store_sqlite_load_ctx {
    const struct store_load_ops *ops;
    void *user;
    struct store_voided *voided; /* the hands left running by the previous run */
    size_t nvoided, cap;
};

static int store_sqlite_load_running(struct store_db *s, void *arg)
{
    struct store_sqlite_load_ctx *c = arg;
    sqlite3_stmt *st = s->r.st[R_RUNNING];
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (c->nvoided == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 8;
            c->voided = xrealloc(c->voided, c->cap * sizeof(*c->voided));
        }
        struct store_voided *v = &c->voided[c->nvoided++];
        v->hand_id = sqlite3_column_int64(st, 1);
        if (!store_sqlite_col_text(st, 0, v->table_id, sizeof(v->table_id), 1)) rc = STORE_REJECTED;
        if (rc != SQLITE_ROW) break;
    }
    return store_sqlite_rows_end(st, rc);
}

/* Reports the departures, oldest first. */
static int store_sqlite_load_departures(struct store_db *s, const struct store_sqlite_load_ctx *c)
{
    sqlite3_stmt *e = s->r.st[R_DEPARTURES];
    int rc;
    while ((rc = sqlite3_step(e)) == SQLITE_ROW) {
        struct store_departure d = {.stack = sqlite3_column_int64(e, 4)};
        const void *hash = sqlite3_column_blob(e, 3);
        if (!store_sqlite_col_text(e, 0, d.table_id, sizeof(d.table_id), 1) ||
            !store_sqlite_col_text(e, 1, d.player_id, sizeof(d.player_id), STORE_PLAYER_ID_LEN) ||
            !store_sqlite_col_text(e, 2, d.name, sizeof(d.name), 0) || !hash ||
            sqlite3_column_bytes(e, 3) != STORE_TOKEN_HASH_LEN) {
            rc = STORE_REJECTED;
            break;
        }
        memcpy(d.token_hash, hash, STORE_TOKEN_HASH_LEN);
        if (c->ops->departure) c->ops->departure(c->user, &d);
    }
    return store_sqlite_rows_end(e, rc);
}

/* Reports the tables, then the seats, then the departures. */
static int store_sqlite_load_rows(struct store_db *s, void *arg)
{
    const struct store_sqlite_load_ctx *c = arg;
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
            .fence = sqlite3_column_int64(t, 8),
            .write_seq = sqlite3_column_int64(t, 9),
        };
        if (!store_sqlite_col_text(t, 0, tb.id, sizeof(tb.id), 1)) {
            rc = STORE_REJECTED;
            break;
        }
        if (c->ops->table) c->ops->table(c->user, &tb);
    }
    if ((rc = store_sqlite_rows_end(t, rc)) != SQLITE_OK) return rc;
    while ((rc = sqlite3_step(e)) == SQLITE_ROW) {
        struct store_seat st = {
            .seat = sqlite3_column_int(e, 3),
            .stack = sqlite3_column_int64(e, 4),
            .sitting_out = sqlite3_column_int(e, 5) != 0,
            .bot = sqlite3_column_int(e, 6) != 0,
        };
        const void *hash = sqlite3_column_blob(e, 7);
        if (!store_sqlite_col_text(e, 0, st.table_id, sizeof(st.table_id), 1) ||
            !store_sqlite_col_text(e, 1, st.player_id, sizeof(st.player_id), STORE_PLAYER_ID_LEN) ||
            !store_sqlite_col_text(e, 2, st.name, sizeof(st.name), 0) || !hash ||
            sqlite3_column_bytes(e, 7) != STORE_TOKEN_HASH_LEN) {
            rc = STORE_REJECTED;
            break;
        }
        memcpy(st.token_hash, hash, STORE_TOKEN_HASH_LEN);
        if (c->ops->seat) c->ops->seat(c->user, &st);
    }
    if ((rc = store_sqlite_rows_end(e, rc)) != SQLITE_OK) return rc;
    return store_sqlite_load_departures(s, c);
}

struct store_sqlite_hands_ctx {
    const char *table_id;
    int64_t since;
    int limit;
    store_hand_fn cb;
    void *user;
};

/* Reads the players of one hand into row. */
static int store_sqlite_read_hand_players(struct store_db *s, const char *table_id,
                                          struct store_hand_row *row)
{
    sqlite3_stmt *st = s->r.st[R_HAND_PLAYERS];
    int rc = store_sqlite_bind_args(st, "ti", table_id, row->hand_id);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_hand_player *p = &row->players[row->nplayers];
        if (row->nplayers == STORE_HAND_PLAYERS_MAX ||
            !store_sqlite_col_text(st, 0, p->player_id, sizeof(p->player_id),
                                   STORE_PLAYER_ID_LEN)) {
            rc = STORE_REJECTED;
            break;
        }
        p->seat = sqlite3_column_int(st, 1);
        p->stack_after = sqlite3_column_int64(st, 2);
        p->net = sqlite3_column_int64(st, 3);
        row->nplayers++;
        rc = SQLITE_OK;
    }
    return store_sqlite_rows_end(st, rc);
}

static int store_sqlite_read_hands(struct store_db *s, void *arg)
{
    const struct store_sqlite_hands_ctx *c = arg;
    sqlite3_stmt *st = s->r.st[c->since < 0 ? R_HANDS_LAST : R_HANDS];
    int rc = store_sqlite_bind_args(st, "tid", c->table_id, c->since < 0 ? -1 : c->since, c->limit);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_hand_row row = {
            .hand_id = sqlite3_column_int64(st, 0),
            .started_ms = store_backend_ms(store_sqlite_col_str(st, 1)),
            .ended_ms = store_backend_ms(store_sqlite_col_str(st, 2)),
            .state = store_sqlite_col_str(st, 3),
            .record_json = store_sqlite_col_str(st, 4),
            .results_json = store_sqlite_col_str(st, 5),
            .shown_mask = (uint16_t)sqlite3_column_int(st, 6),
        };
        rc = store_sqlite_read_hand_players(s, c->table_id, &row);
        if (rc == SQLITE_OK && c->cb(c->user, &row) != 0) rc = SQLITE_DONE;
    }
    return store_sqlite_rows_end(st, rc);
}

static int store_sqlite_hands(struct store_db *s, const char *table_id, int64_t since, int limit,
                              store_hand_fn cb, void *user, struct felt_err *err)
{
    struct store_sqlite_hands_ctx c = {table_id, since, limit, cb, user};
    return store_sqlite_read(s, store_sqlite_read_hands, &c, "the hands", err);
}

struct store_sqlite_ledger_ctx {
    const char *table_id;
    struct store_ledger *out;
};

static int store_sqlite_read_ledger(struct store_db *s, void *arg)
{
    struct store_sqlite_ledger_ctx *c = arg;
    sqlite3_stmt *st = s->r.st[R_LEDGER];
    int rc = store_sqlite_bind_args(st, "t", c->table_id);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        c->out->buy_ins = sqlite3_column_int64(st, 0);
        c->out->cash_outs = sqlite3_column_int64(st, 1);
        c->out->hand_net = sqlite3_column_int64(st, 2);
        c->out->on_table = sqlite3_column_int64(st, 3);
        rc = SQLITE_DONE;
    }
    return store_sqlite_rows_end(st, rc);
}

static int store_sqlite_ledger(struct store_db *s, const char *table_id, struct store_ledger *out,
                               struct felt_err *err)
{
    struct store_sqlite_ledger_ctx c = {table_id, out};
    return store_sqlite_read(s, store_sqlite_read_ledger, &c, "the ledger", err);
}

static int store_sqlite_running(struct store_db *s, struct store_voided **out, size_t *n,
                                struct felt_err *err)
{
    struct store_sqlite_load_ctx c = {0};
    int rc = store_sqlite_read(s, store_sqlite_load_running, &c, "the running hands", err);
    if (rc != 0) {
        free(c.voided);
        c.voided = NULL;
        c.nvoided = 0;
    }
    *out = c.voided;
    *n = c.nvoided;
    return rc;
}

static int store_sqlite_rows(struct store_db *s, const struct store_load_ops *ops, void *user,
                             struct felt_err *err)
{
    struct store_sqlite_load_ctx c = {.ops = ops, .user = user};
    return store_sqlite_read(s, store_sqlite_load_rows, &c, "the tables and seats", err);
}

/* Closes the reader first, so that the writer's connection is the last one and its final
 * checkpoint happens as it closes. */
static void store_sqlite_close(struct store_db *s)
{
    if (!s) return;
    store_sqlite_conn_close(&s->r);
    store_sqlite_conn_close(&s->w);
    if (s->lock_fd >= 0) close(s->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&s->db_mu);
    free(s->path);
    free(s);
}

static const struct store_backend store_sqlite_backend = {
    .run_batch = store_sqlite_run_batch,
    .read_running = store_sqlite_running,
    .read_rows = store_sqlite_rows,
    .read_hands = store_sqlite_hands,
    .read_ledger = store_sqlite_ledger,
    .close = store_sqlite_close,
};

int store_sqlite_open(const char *dir, struct store_db **db, const struct store_backend **ops,
                      struct felt_err *err)
{
    struct store_db *s = xcalloc(1, sizeof(*s));
    *db = NULL;
    s->lock_fd = -1;
    pthread_mutex_init(&s->db_mu, NULL);
    s->shared = strcmp(dir, ":memory:") == 0;
    if (s->shared) {
        s->path = xstrdup(dir);
    } else {
        size_t n = strlen(dir) + sizeof("/felt.db");
        s->path = xmalloc(n);
        snprintf(s->path, n, "%s/felt.db", dir);
    }
    if ((!s->shared && store_sqlite_prepare_dir(s, dir, err) != 0) ||
        store_sqlite_open_writer(s, err) != 0 || store_sqlite_open_reader(s, err) != 0) {
        store_sqlite_close(s);
        return -1;
    }
    *db = s;
    *ops = &store_sqlite_backend;
    return 0;
}
