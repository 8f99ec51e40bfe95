/*
 * store_pg.c: the PostgreSQL backend of the store (store_backend.h), for feltd nodes that share
 * one database (issue 14). The rows, constraints and rules are store_sqlite.c's; this file only
 * says them in PostgreSQL's dialect.
 *
 * Two connections: the writer's (store.c's writer thread, and at start store_claim's on the loop
 * thread, before anything is queued) and the reader's (the reads, which store.c runs on the loop
 * thread or the writer thread, one at a time). Every statement is prepared by name when a
 * connection opens and runs with text parameters (a token hash travels as hex, decoded by the
 * server). A batch is one transaction without savepoints: a job that breaks a constraint (SQLSTATE
 * class 23), carries bad data (class 22) or is refused by its fence or its order rolls the
 * transaction back and the batch runs again without it (and without the later ordered jobs of its
 * table, which its absence makes too early); anything else (the server gone, out of disk) fails
 * the whole batch, so a hand's rows are stored together or not at all. Reads run in one REPEATABLE
 * READ READ ONLY transaction: one snapshot for all they read.
 *
 * Durability: a batch that moves chips (the jobs with ledger rows) or voids hands commits with
 * synchronous_commit on (the server's default: the commit returns once its WAL is flushed); the
 * others (a hand's start, a sit-out flag, a table's settings) with SET LOCAL synchronous_commit
 * TO off: kept by the server if feltd dies, and flushed with the next synchronous commit (the
 * server's WAL is one sequence, so flushing one commit flushes everything before it). The same
 * trade as SQLite's NORMAL, for the same reason.
 *
 * A lost connection (the server restarted, a network cut) fails what was in flight; the next
 * batch or read reconnects first (PQreset, bounded by connect_timeout, 5 s unless the connection
 * string says otherwise) and prepares its statements again.
 *
 * Schema versions live in the table felt_schema (one row); the migrations run under an advisory
 * transaction lock, so nodes starting together migrate once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "store_backend.h"

#define STORE_PG_LOCK_KEY 0x46454c54 /* the advisory lock of the migrations: "FELT" */
/* The session lock a single feltd holds on its database (store_claim): "FELU". */
#define STORE_PG_CLAIM_KEY 0x46454c55
#define STORE_PG_PARAMS_MAX 9
/* Besides 0 (done) and -1 (a read's server error). A job that fails with either of the first
 * and the last is left out of its batch, which runs again without it. */
#define STORE_PG_JOB_ONLY (-2) /* a statement broke a constraint or carried a bad value */
#define STORE_PG_FAILED (-3)   /* the transaction cannot go on */
#define STORE_PG_REJECTED (-4) /* a job refused (fenced), or a row read that cannot be ours */

/* The schema's forward migrations: entry i takes felt_schema.version i to i + 1. Append, never
 * edit. The first is SQLite's versions 1 and 2 together. Times are timestamptz. */
static const char *const store_pg_migrations[] = {
    "CREATE TABLE felt_schema (version integer NOT NULL);"
    "INSERT INTO felt_schema VALUES (0);"
    "CREATE TABLE tables (id text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 32),"
    " seats integer NOT NULL, small_blind bigint NOT NULL, big_blind bigint NOT NULL,"
    " ante bigint NOT NULL, buy_in bigint NOT NULL, action_timeout_ms bigint NOT NULL,"
    " last_hand_id bigint NOT NULL DEFAULT 0, fence bigint NOT NULL DEFAULT 0);"
    "CREATE TABLE seats (table_id text NOT NULL REFERENCES tables (id),"
    " player_id text NOT NULL CHECK (length(player_id) = 16), name text NOT NULL,"
    " seat integer NOT NULL, stack bigint NOT NULL, sitting_out boolean NOT NULL,"
    " bot boolean NOT NULL, token_hash bytea NOT NULL CHECK (length(token_hash) = 32),"
    " PRIMARY KEY (table_id, player_id), UNIQUE (table_id, seat));"
    "CREATE TABLE hands (table_id text NOT NULL REFERENCES tables (id),"
    " hand_id bigint NOT NULL,"
    " state text NOT NULL CHECK (state IN ('running', 'complete', 'voided')),"
    " started_at timestamptz NOT NULL, ended_at timestamptz, record text NOT NULL,"
    " results text NOT NULL DEFAULT '[]', shown_mask integer NOT NULL DEFAULT 0,"
    " PRIMARY KEY (table_id, hand_id));"
    "CREATE INDEX hands_running ON hands (state) WHERE state = 'running';"
    "CREATE TABLE hand_players (table_id text NOT NULL, hand_id bigint NOT NULL,"
    " player_id text NOT NULL, seat integer NOT NULL, stack_after bigint NOT NULL,"
    " net bigint NOT NULL, PRIMARY KEY (table_id, hand_id, seat),"
    " FOREIGN KEY (table_id, hand_id) REFERENCES hands (table_id, hand_id));"
    "CREATE TABLE ledger (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " table_id text NOT NULL REFERENCES tables (id), player_id text NOT NULL,"
    " kind text NOT NULL CHECK (kind IN ('buy_in', 'cash_out', 'hand')),"
    " amount bigint NOT NULL, hand_id bigint, at timestamptz NOT NULL);"
    "CREATE INDEX ledger_by_table ON ledger (table_id, kind);"
    "CREATE TABLE departures (table_id text NOT NULL REFERENCES tables (id),"
    " player_id text NOT NULL CHECK (length(player_id) = 16), name text NOT NULL,"
    " token_hash bytea NOT NULL CHECK (length(token_hash) = 32), stack bigint NOT NULL,"
    " left_at timestamptz NOT NULL, PRIMARY KEY (table_id, player_id));",
    /* 2: the seq of the table's last ordered write stored (struct store_order). */
    "ALTER TABLE tables ADD COLUMN write_seq bigint NOT NULL DEFAULT 0;",
};
#define STORE_PG_SCHEMA_VERSION ((int)FELT_ARRAY_LEN(store_pg_migrations))
/* A database holding one of these but no felt_schema is someone else's. */
static const char *const store_pg_ours[] = {"tables",       "seats",  "hands",
                                            "hand_players", "ledger", "departures"};

/* Every statement, prepared on both connections under the name "s<index>". */
/* clang-format off */
enum {
    W_TABLE_PUT, W_TABLE_HAND_ID, W_FENCE, W_FENCE_ABOVE, W_SEQ, W_SEQ_GET, W_SEAT_ADD, W_SEAT_SIT, W_SEAT_STACK,
    W_SEAT_ADD_CHIPS,
    W_SEAT_DEL, W_LEDGER, W_DEPART_ADD, W_DEPART_DEL, W_HAND_BEGIN, W_HAND_COMPLETE,
    W_HAND_PLAYER, W_VOID, W_VOID_TABLE,
    R_TABLES, R_SEATS, R_RUNNING, R_HANDS, R_HANDS_LAST, R_HAND_PLAYERS, R_LEDGER, R_DEPARTURES,
    S_COUNT
};
/* clang-format on */
#define STORE_PG_MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"
static const char *const store_pg_sql[S_COUNT] = {
    [W_TABLE_PUT] =
        "INSERT INTO tables (id, seats, small_blind, big_blind, ante, buy_in,"
        " action_timeout_ms, last_hand_id, fence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (id) DO UPDATE SET seats = excluded.seats,"
        " small_blind = excluded.small_blind, big_blind = excluded.big_blind,"
        " ante = excluded.ante, buy_in = excluded.buy_in,"
        " action_timeout_ms = excluded.action_timeout_ms,"
        " last_hand_id = greatest(tables.last_hand_id, excluded.last_hand_id),"
        " fence = excluded.fence WHERE tables.fence <= excluded.fence",
    [W_TABLE_HAND_ID] = "UPDATE tables SET last_hand_id = greatest(last_hand_id, $2), fence = $3"
                        " WHERE id = $1 AND fence <= $3",
    [W_FENCE] = "UPDATE tables SET fence = $2 WHERE id = $1 AND fence <= $2",
    /* A take's: only a fence above every older owner's (equal would let the last one on). */
    [W_FENCE_ABOVE] = "UPDATE tables SET fence = $2 WHERE id = $1 AND fence < $2",
    [W_SEQ] = "UPDATE tables SET write_seq = $2, fence = $3"
              " WHERE id = $1 AND write_seq = $2 - 1 AND fence <= $3",
    [W_SEQ_GET] = "SELECT write_seq, fence FROM tables WHERE id = $1",
    [W_SEAT_ADD] = "INSERT INTO seats (table_id, player_id, name, seat, stack, sitting_out, bot,"
                   " token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, decode($8, 'hex'))",
    [W_SEAT_SIT] = "UPDATE seats SET sitting_out = $3 WHERE table_id = $1 AND player_id = $2",
    [W_SEAT_STACK] = "UPDATE seats SET stack = $3 WHERE table_id = $1 AND player_id = $2",
    [W_SEAT_ADD_CHIPS] =
        "UPDATE seats SET stack = stack + $3 WHERE table_id = $1 AND player_id = $2",
    [W_SEAT_DEL] = "DELETE FROM seats WHERE table_id = $1 AND player_id = $2",
    [W_DEPART_ADD] =
        "INSERT INTO departures (table_id, player_id, name, token_hash, stack, left_at)"
        " SELECT table_id, player_id, name, token_hash, $3::bigint, $4"
        " FROM seats WHERE table_id = $1 AND player_id = $2 AND NOT bot"
        " AND $3::bigint > 0"
        " ON CONFLICT (table_id, player_id) DO UPDATE SET name = excluded.name,"
        " token_hash = excluded.token_hash, stack = excluded.stack,"
        " left_at = excluded.left_at",
    [W_DEPART_DEL] = "DELETE FROM departures WHERE table_id = $1 AND player_id = $2",
    [W_LEDGER] = "INSERT INTO ledger (table_id, player_id, kind, amount, hand_id, at)"
                 " VALUES ($1, $2, $3, $4, $5, $6)",
    [W_HAND_BEGIN] = "INSERT INTO hands (table_id, hand_id, state, started_at, record)"
                     " VALUES ($1, $2, 'running', $3, $4)",
    [W_HAND_COMPLETE] = "INSERT INTO hands (table_id, hand_id, state, started_at, ended_at,"
                        " record, results, shown_mask)"
                        " VALUES ($1, $2, 'complete', $3, $4, $5, $6, $7)"
                        " ON CONFLICT (table_id, hand_id) DO UPDATE SET state = 'complete',"
                        " ended_at = excluded.ended_at, record = excluded.record,"
                        " results = excluded.results, shown_mask = excluded.shown_mask"
                        " WHERE hands.state = 'running'",
    [W_HAND_PLAYER] = "INSERT INTO hand_players (table_id, hand_id, player_id, seat,"
                      " stack_after, net) VALUES ($1, $2, $3, $4, $5, $6)",
    [W_VOID] = "UPDATE hands SET state = 'voided', ended_at = $1 WHERE state = 'running'",
    [W_VOID_TABLE] = "UPDATE hands SET state = 'voided', ended_at = $1"
                     " WHERE table_id = $2 AND state = 'running'",
    [R_TABLES] = "SELECT id, seats, small_blind, big_blind, ante, buy_in, action_timeout_ms,"
                 " last_hand_id, fence, write_seq FROM tables ORDER BY id",
    [R_SEATS] = "SELECT table_id, player_id, name, seat, stack, sitting_out::int, bot::int,"
                " encode(token_hash, 'hex') FROM seats ORDER BY table_id, seat",
    [R_DEPARTURES] = "SELECT table_id, player_id, name, encode(token_hash, 'hex'), stack"
                     " FROM departures ORDER BY table_id, left_at, player_id",
    [R_RUNNING] = "SELECT table_id, hand_id FROM hands WHERE state = 'running'"
                  " ORDER BY table_id, hand_id",
    [R_HANDS] = "SELECT hand_id, " STORE_PG_MS("started_at") ", " STORE_PG_MS(
        "ended_at") ", state, record, results, shown_mask FROM hands"
                    " WHERE table_id = $1 AND hand_id > $2 AND state <> 'running'"
                    " ORDER BY hand_id LIMIT $3",
    [R_HANDS_LAST] = "SELECT * FROM (SELECT hand_id, " STORE_PG_MS("started_at") ", " STORE_PG_MS(
        "ended_at") ", state, record, results, shown_mask FROM hands"
                    " WHERE table_id = $1 AND hand_id > $2 AND state <> 'running'"
                    " ORDER BY hand_id DESC LIMIT $3) AS last ORDER BY hand_id",
    [R_HAND_PLAYERS] = "SELECT hand_id, player_id, seat, stack_after, net FROM hand_players"
                       " WHERE table_id = $1 AND hand_id BETWEEN $2 AND $3"
                       " ORDER BY hand_id, seat",
    [R_LEDGER] = "SELECT (SELECT coalesce(sum(amount), 0) FROM ledger"
                 "  WHERE table_id = $1 AND kind = 'buy_in'),"
                 " (SELECT coalesce(sum(amount), 0) FROM ledger"
                 "  WHERE table_id = $1 AND kind = 'cash_out'),"
                 " (SELECT coalesce(sum(amount), 0) FROM ledger"
                 "  WHERE table_id = $1 AND kind = 'hand'),"
                 " (SELECT coalesce(sum(stack), 0) FROM seats WHERE table_id = $1)",
};

struct store_pg_conn {
    PGconn *pg;
    bool ready;    /* the session is configured (encoding, time zone) */
    bool prepared; /* the statements exist on this session */
};

struct store_db {
    char *conninfo;
    struct store_pg_conn w, r;
    bool claimed; /* store_claim: the writer's session holds STORE_PG_CLAIM_KEY */
    char why[STORE_WHY_LEN]; /* the writer's last failure, for the jobs it fails */
};

/* ---- connections -------------------------------------------------------------------------- */

/* The server's message on one line, without its "ERROR:  " and trailing newline. */
static void store_pg_message(PGconn *pg, const PGresult *res, char *out, size_t size)
{
    const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!m || !*m) m = PQerrorMessage(pg);
    snprintf(out, size, "%s", m && *m ? m : "unknown error");
    for (char *c = out; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t') *c = ' ';
    for (size_t n = strlen(out); n > 0 && out[n - 1] == ' '; n--)
        out[n - 1] = '\0';
}

/* Runs sql (no parameters; several statements allowed) and checks its status. */
static bool store_pg_run(PGconn *pg, const char *sql, char *why, size_t size)
{
    PGresult *res = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) store_pg_message(pg, res, why, size);
    PQclear(res);
    return ok;
}

static bool store_pg_prepare(struct store_pg_conn *c, char *why, size_t size)
{
    char name[16];
    for (int i = 0; i < S_COUNT; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        PGresult *res = PQprepare(c->pg, name, store_pg_sql[i], 0, NULL);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok) store_pg_message(c->pg, res, why, size);
        PQclear(res);
        if (!ok) return false;
    }
    c->prepared = true;
    return true;
}

/* Takes the claim's session lock on pg if it is free: 1 taken (or already ours), 0 held by
 * another session, -1 after describing a failure in why. */
static int store_pg_try_claim(PGconn *pg, char *why, size_t size)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%d)", STORE_PG_CLAIM_KEY);
    PGresult *res = PQexec(pg, sql);
    int rc = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        rc = PQgetvalue(res, 0, 0)[0] == 't';
    else
        store_pg_message(pg, res, why, size);
    PQclear(res);
    return rc;
}

/* Connects c, or reconnects it when its session was lost, and prepares the statements when
 * asked (the writer's first session is opened without them: the migrations create the tables
 * they name). */
static bool store_pg_connect(struct store_db *db, struct store_pg_conn *c, bool prepare, char *why,
                             size_t size)
{
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK || !c->ready) {
        c->ready = c->prepared = false;
        if (c->pg) {
            PQreset(c->pg);
        } else {
            /* Ours first: the connection string's own settings (expanded from dbname) override
             * them. */
            const char *const keys[] = {"connect_timeout", "application_name", "keepalives_idle",
                                        "dbname", NULL};
            const char *const values[] = {"5", "feltd", "10", db->conninfo, NULL};
            c->pg = PQconnectdbParams(keys, values, 1);
            if (!c->pg) felt_fatal("store: out of memory (PQconnectdbParams)");
        }
        if (PQstatus(c->pg) != CONNECTION_OK || PQsetClientEncoding(c->pg, "UTF8") != 0) {
            store_pg_message(c->pg, NULL, why, size);
            return false;
        }
        if (!store_pg_run(c->pg, "SET TIME ZONE 'UTC'", why, size)) return false;
        /* A claimed store's writer takes the claim again on a new session (the old one's lock
         * went with it); if another feltd took the database meanwhile, nothing is written. */
        if (c == &db->w && db->claimed) {
            int got = store_pg_try_claim(c->pg, why, size);
            if (got == 0) snprintf(why, size, "the database is in use by another feltd");
            if (got != 1) return false;
        }
        c->ready = true;
    }
    return !prepare || c->prepared || store_pg_prepare(c, why, size);
}

/* ---- statements --------------------------------------------------------------------------- */

/* The text parameters of one statement. */
struct store_pg_args {
    char nums[STORE_PG_PARAMS_MAX][24];
    char hex[2 * STORE_TOKEN_HASH_LEN + 1];
    const char *values[STORE_PG_PARAMS_MAX];
    int n;
};

/* Runs statement id on c with parameters from fmt, one letter each: 'i' int64_t, 'd' int, 'b'
 * bool (passed as int), 't' text, 'h' a token hash (STORE_TOKEN_HASH_LEN bytes, sent as hex),
 * 'n' NULL. Returns the result (never NULL; the caller PQclears it). */
static PGresult *store_pg_vexec(struct store_pg_conn *c, int id, const char *fmt, va_list ap)
{
    struct store_pg_args a;
    char name[16];
    for (a.n = 0; fmt[a.n]; a.n++) {
        int n = a.n;
        FELT_ASSERT(n < STORE_PG_PARAMS_MAX);
        switch (fmt[n]) {
        case 'i':
            snprintf(a.nums[n], sizeof(a.nums[n]), "%lld", (long long)va_arg(ap, int64_t));
            a.values[n] = a.nums[n];
            break;
        case 'd':
            snprintf(a.nums[n], sizeof(a.nums[n]), "%d", va_arg(ap, int));
            a.values[n] = a.nums[n];
            break;
        case 'b':
            a.values[n] = va_arg(ap, int) ? "true" : "false";
            break;
        case 't':
            a.values[n] = va_arg(ap, const char *);
            break;
        case 'h': {
            const unsigned char *h = va_arg(ap, const unsigned char *);
            for (int k = 0; k < STORE_TOKEN_HASH_LEN; k++)
                snprintf(a.hex + 2 * k, 3, "%02x", h[k]);
            a.values[n] = a.hex;
            break;
        }
        case 'n':
            a.values[n] = NULL;
            break;
        default:
            felt_fatal("store_pg_vexec: bad format '%c'", fmt[n]);
        }
    }
    snprintf(name, sizeof(name), "s%d", id);
    PGresult *res = PQexecPrepared(c->pg, name, a.n, a.values, NULL, NULL, 0);
    if (!res) felt_fatal("store: out of memory (PQexecPrepared)");
    return res;
}

/* store_pg_vexec with its parameters listed. */
static PGresult *store_pg_query(struct store_pg_conn *c, int id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *res = store_pg_vexec(c, id, fmt, ap);
    va_end(ap);
    return res;
}

/* A write on the writer's connection: 0 (with *changed, the rows it touched, when asked),
 * STORE_PG_JOB_ONLY (a constraint or a bad value: the job can be left out alone) or
 * STORE_PG_FAILED. The server's message goes to j->why either way. */
static int store_pg_write(struct store_db *db, struct store_job *j, long *changed, int id,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *res = store_pg_vexec(&db->w, id, fmt, ap);
    va_end(ap);
    int rc = 0;
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        if (changed) *changed = strtol(PQcmdTuples(res), NULL, 10);
    } else {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        store_pg_message(db->w.pg, res, j->why, sizeof(j->why));
        rc = state && (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
                 ? STORE_PG_JOB_ONLY
                 : STORE_PG_FAILED;
    }
    PQclear(res);
    return rc;
}

/* ---- the writer: jobs and batches --------------------------------------------------------- */

#define STORE_PG_NO_SEAT(j, e)                                                                     \
    store_backend_reject((j), "no seat for player %s at table %s", (e)->player_id, (e)->table_id)

/* The job runners return 0, STORE_PG_REJECTED (j->why set), STORE_PG_JOB_ONLY or
 * STORE_PG_FAILED. */

/* The fence check (store_table_fence) of a job for table_id: raises the table's fence to the
 * job's, or rejects the job when the table holds a higher one. */
static int store_pg_fence(struct store_db *db, struct store_job *j, const char *table_id)
{
    long changed = 0;
    int rc = store_pg_write(db, j, &changed, W_FENCE, "ti", table_id, j->fence);
    if (rc == 0 && changed != 1)
        rc = store_backend_fenced(j, table_id);
    return rc;
}

/* The order check (struct store_order) of a job: an ordered one moves its table's write_seq from
 * seq - 1 to seq (under the fence check), or is found stored already (*stored: it is not run
 * again), or is refused (STORE_PG_REJECTED: fenced, or too early). */
static int store_pg_order(struct store_db *db, struct store_job *j, bool *stored)
{
    long changed = 0;
    *stored = false;
    if (j->seq == 0) return 0;
    const char *table_id = store_backend_job_table(j);
    int rc = store_pg_write(db, j, &changed, W_SEQ, "tii", table_id, j->seq, j->fence);
    if (rc != 0 || changed == 1) return rc;
    PGresult *res = store_pg_query(&db->w, W_SEQ_GET, "t", table_id);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        store_pg_message(db->w.pg, res, j->why, sizeof(j->why));
        PQclear(res);
        return STORE_PG_FAILED;
    }
    bool found = PQntuples(res) == 1;
    int64_t last = found ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    int64_t fence = found ? strtoll(PQgetvalue(res, 0, 1), NULL, 10) : 0;
    PQclear(res);
    if (store_backend_order_found(j, found, last, fence) == 1) *stored = true;
    else rc = STORE_PG_REJECTED;
    return rc;
}

static int store_pg_run_table_put(struct store_db *db, struct store_job *j)
{
    const struct store_table *t = &j->u.table;
    long changed = 0;
    int rc = store_pg_write(db, j, &changed, W_TABLE_PUT, "tdiiiiiii", t->id, t->seats,
                            t->small_blind, t->big_blind, t->ante, t->buy_in, t->action_timeout_ms,
                            t->last_hand_id, j->fence);
    if (rc == 0 && changed != 1)
        rc = store_backend_fenced(j, t->id);
    return rc;
}

static int store_pg_run_seat_join(struct store_db *db, struct store_job *j)
{
    const struct store_seat *e = &j->u.seat;
    int rc = store_pg_fence(db, j, e->table_id);
    if (rc == 0)
        rc = store_pg_write(db, j, NULL, W_SEAT_ADD, "tttdibbh", e->table_id, e->player_id, e->name,
                            e->seat, e->stack, (int)e->sitting_out, (int)e->bot, e->token_hash);
    if (rc == 0) rc = store_pg_write(db, j, NULL, W_DEPART_DEL, "tt", e->table_id, e->player_id);
    if (rc == 0)
        rc = store_pg_write(db, j, NULL, W_LEDGER, "tttint", e->table_id, e->player_id, "buy_in",
                            j->amount, j->at);
    return rc;
}

static int store_pg_run_seat_update(struct store_db *db, struct store_job *j)
{
    const struct store_seat *e = &j->u.seat;
    long changed = 0;
    int rc = store_pg_fence(db, j, e->table_id);
    if (rc == 0)
        rc = store_pg_write(db, j, &changed, W_SEAT_SIT, "ttb", e->table_id, e->player_id,
                            (int)e->sitting_out);
    if (rc == 0 && changed != 1) rc = STORE_PG_NO_SEAT(j, e);
    return rc;
}

static int store_pg_run_seat_leave(struct store_db *db, struct store_job *j)
{
    const struct store_seat *e = &j->u.seat;
    long changed = 0;
    /* A human leaving with chips is remembered (store_load_ops.departure); a bot is not. */
    int rc = store_pg_fence(db, j, e->table_id);
    if (rc == 0)
        rc = store_pg_write(db, j, NULL, W_DEPART_ADD, "ttit", e->table_id, e->player_id, j->amount,
                            j->at);
    if (rc == 0) rc = store_pg_write(db, j, &changed, W_SEAT_DEL, "tt", e->table_id, e->player_id);
    if (rc == 0 && changed != 1) rc = STORE_PG_NO_SEAT(j, e);
    if (rc == 0)
        rc = store_pg_write(db, j, NULL, W_LEDGER, "tttint", e->table_id, e->player_id, "cash_out",
                            j->amount, j->at);
    return rc;
}

static int store_pg_run_seat_rebuy(struct store_db *db, struct store_job *j)
{
    const struct store_seat *e = &j->u.seat;
    long changed = 0;
    int rc = store_pg_fence(db, j, e->table_id);
    if (rc == 0)
        rc = store_pg_write(db, j, &changed, W_SEAT_ADD_CHIPS, "tti", e->table_id, e->player_id,
                            j->amount);
    if (rc == 0 && changed != 1) rc = STORE_PG_NO_SEAT(j, e);
    if (rc == 0)
        rc = store_pg_write(db, j, NULL, W_LEDGER, "tttint", e->table_id, e->player_id, "buy_in",
                            j->amount, j->at);
    return rc;
}

/* A hand's id reserved at its table (last_hand_id), under the fence check. */
static int store_pg_hand_id(struct store_db *db, struct store_job *j)
{
    const struct store_hand *h = &j->u.hand;
    long changed = 0;
    int rc =
        store_pg_write(db, j, &changed, W_TABLE_HAND_ID, "tii", h->table_id, h->hand_id, j->fence);
    if (rc == 0 && changed != 1)
        rc = store_backend_fenced(j, h->table_id);
    return rc;
}

static int store_pg_run_hand_begin(struct store_db *db, struct store_job *j)
{
    const struct store_hand *h = &j->u.hand;
    char started[STORE_ISO_LEN];
    store_backend_iso(h->started_ms, started);
    int rc = store_pg_hand_id(db, j);
    if (rc == 0)
        rc = store_pg_write(db, j, NULL, W_HAND_BEGIN, "titt", h->table_id, h->hand_id, started,
                            j->record);
    return rc;
}

static int store_pg_run_hand_commit(struct store_db *db, struct store_job *j)
{
    const struct store_hand *h = &j->u.hand;
    char started[STORE_ISO_LEN], ended[STORE_ISO_LEN];
    long changed = 0;
    store_backend_iso(h->started_ms, started);
    store_backend_iso(h->ended_ms, ended);
    int rc = store_pg_hand_id(db, j);
    if (rc == 0)
        rc = store_pg_write(db, j, &changed, W_HAND_COMPLETE, "tittttd", h->table_id, h->hand_id,
                            started, ended, j->record, j->results, (int)h->shown_mask);
    if (rc == 0 && changed != 1)
        rc = store_backend_reject(j, "hand %lld of table %s is already complete or voided",
                                  (long long)h->hand_id, h->table_id);
    for (int i = 0; rc == 0 && i < h->nplayers; i++) {
        const struct store_hand_player *p = &h->players[i];
        /* No row changed: the player left during the hand; the ledger still gets the net. */
        rc = store_pg_write(db, j, NULL, W_SEAT_STACK, "tti", h->table_id, p->player_id,
                            p->stack_after);
        if (rc == 0)
            rc = store_pg_write(db, j, NULL, W_LEDGER, "tttiit", h->table_id, p->player_id, "hand",
                                p->net, h->hand_id, ended);
        if (rc == 0)
            rc = store_pg_write(db, j, NULL, W_HAND_PLAYER, "titdii", h->table_id, h->hand_id,
                                p->player_id, p->seat, p->stack_after, p->net);
    }
    return rc;
}

static int store_pg_run_void(struct store_db *db, struct store_job *j)
{
    return store_pg_write(db, j, NULL, W_VOID, "t", j->at);
}

/* A take's fence: only above the stored one. */
static int store_pg_run_table_fence(struct store_db *db, struct store_job *j)
{
    long changed = 0;
    int rc = store_pg_write(db, j, &changed, W_FENCE_ABOVE, "ti", j->u.table.id, j->fence);
    if (rc == 0 && changed != 1)
        rc = store_backend_fenced(j, j->u.table.id);
    return rc;
}

static int store_pg_run_void_table(struct store_db *db, struct store_job *j)
{
    int rc = store_pg_fence(db, j, j->u.table.id);
    if (rc == 0) rc = store_pg_write(db, j, NULL, W_VOID_TABLE, "tt", j->at, j->u.table.id);
    return rc;
}

/* Nothing but the order check, which ran before. */
static int store_pg_run_order_skip(struct store_db *db, struct store_job *j)
{
    (void)db, (void)j;
    return 0;
}

static int (*const store_pg_job_run[])(struct store_db *, struct store_job *) = {
    [JOB_TABLE_PUT] = store_pg_run_table_put,     [JOB_SEAT_JOIN] = store_pg_run_seat_join,
    [JOB_SEAT_UPDATE] = store_pg_run_seat_update, [JOB_SEAT_LEAVE] = store_pg_run_seat_leave,
    [JOB_SEAT_REBUY] = store_pg_run_seat_rebuy,   [JOB_HAND_BEGIN] = store_pg_run_hand_begin,
    [JOB_HAND_COMMIT] = store_pg_run_hand_commit, [JOB_VOID_RUNNING] = store_pg_run_void,
    [JOB_TABLE_FENCE] = store_pg_run_table_fence, [JOB_VOID_TABLE] = store_pg_run_void_table,
    [JOB_ORDER_SKIP] = store_pg_run_order_skip,
};

/* An ordered job j was left out of its batch: the later ordered jobs of its table would each
 * fail the order check in turn (one attempt of the whole batch each), so they are left out now,
 * as too early. */
static void store_pg_leave_out_after(const struct store_job *j)
{
    const char *table_id = store_backend_job_table(j);
    for (struct store_job *k = j->next; k; k = k->next) {
        if (k->left_out || k->seq == 0 || strcmp(store_backend_job_table(k), table_id) != 0)
            continue;
        k->left_out = k->refused = k->early = true;
        k->ok = false;
        store_backend_reject(k, "write %lld of table %s waits for write %lld, which was left out",
                             (long long)k->seq, table_id, (long long)j->seq);
    }
}

/* One attempt at a batch: its jobs not yet left out, in one transaction, no savepoints (a
 * subtransaction per job costs a round trip each and, past 64 in one transaction, slows every
 * visibility check). A job that fails alone (a broken constraint, bad data, a fence refusal) is
 * marked left_out and the transaction rolled back (*again): the caller runs the rest again, so
 * nothing of the failed job stays. *retry is set when the attempt failed before its COMMIT was
 * sent because the session was lost (nothing of it can have been stored). */
static bool store_pg_try_batch(struct store_db *db, struct store_job *batch, bool *retry,
                               bool *again)
{
    char *why = db->why;
    size_t size = sizeof(db->why);
    bool commit_sent = false;
    why[0] = '\0';
    if (!store_pg_connect(db, &db->w, true, why, size) ||
        !store_pg_run(db->w.pg, "BEGIN", why, size))
        goto failed;
    if (!store_backend_batch_durable(batch) &&
        !store_pg_run(db->w.pg, "SET LOCAL synchronous_commit TO off", why, size))
        goto failed;
    for (struct store_job *j = batch; j; j = j->next) {
        if (j->left_out) continue;
        j->why[0] = '\0';
        bool stored = false;
        int rc = store_pg_order(db, j, &stored);
        if (rc == 0 && !stored) rc = store_pg_job_run[j->kind](db, j);
        j->ok = rc == 0;
        if (rc == 0) continue;
        snprintf(why, size, "%s", j->why);
        j->left_out = j->refused = *again = rc != STORE_PG_FAILED;
        if (j->left_out && j->seq > 0) store_pg_leave_out_after(j);
        goto failed;
    }
    commit_sent = true;
    if (store_pg_run(db->w.pg, "COMMIT", why, size)) return true;
failed:
    *retry = !commit_sent && db->w.pg && PQstatus(db->w.pg) != CONNECTION_OK;
    /* A session that is gone has rolled back on the server; a live one is told to. */
    if (db->w.pg && PQstatus(db->w.pg) == CONNECTION_OK &&
        PQtransactionStatus(db->w.pg) != PQTRANS_IDLE) {
        char ignored[STORE_WHY_LEN];
        store_pg_run(db->w.pg, "ROLLBACK", ignored, sizeof(ignored));
    }
    return false;
}

/* A batch: attempts until one commits, each leaving out the job that failed alone in the one
 * before (at most one attempt per job), and once more on a new session when an attempt found the
 * old one gone (the server restarted since the last batch): a restart between two batches costs
 * nothing. A COMMIT whose answer was lost is never retried: it may have been stored. */
static bool store_pg_run_batch(struct store_db *db, struct store_job *batch)
{
    bool retry = false, again = false, reconnected = false;
    for (struct store_job *j = batch; j; j = j->next)
        j->left_out = j->refused = j->early = false;
    for (;;) {
        retry = again = false;
        if (store_pg_try_batch(db, batch, &retry, &again)) return true;
        if (!again && (!retry || reconnected)) break;
        reconnected = reconnected || retry;
    }
    for (struct store_job *j = batch; j; j = j->next) {
        if (!j->left_out)
            snprintf(j->why, sizeof(j->why), "not stored, the transaction failed: %.120s", db->why);
        /* What a job found alone was found among rows now rolled back: it may go next time. */
        j->ok = j->refused = j->early = false;
    }
    return false;
}

/* ---- the reader ---------------------------------------------------------------------------- */

/* A read: fn runs inside one read-only snapshot on the reader's connection. fn returns 0, -1 after
 * describing a server error in why, or STORE_PG_REJECTED for a row that cannot be ours. */
typedef int (*store_pg_read_fn)(struct store_db *db, void *ctx, char *why, size_t size);

static int store_pg_read(struct store_db *db, store_pg_read_fn fn, void *ctx, const char *what,
                         struct felt_err *err)
{
    char why[STORE_WHY_LEN] = "";
    int rc = -1;
    /* A session found gone at BEGIN (the server restarted since the last read) is replaced
     * once; nothing was read yet, so nothing is reported twice. */
    bool begun = false;
    for (int attempt = 0; attempt < 2 && !begun; attempt++) {
        begun = store_pg_connect(db, &db->r, true, why, sizeof(why)) &&
                store_pg_run(db->r.pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", why,
                             sizeof(why));
        if (!begun && db->r.pg && PQstatus(db->r.pg) == CONNECTION_OK) break;
    }
    if (begun) {
        rc = fn(db, ctx, why, sizeof(why));
        char ignored[STORE_WHY_LEN];
        if (rc == 0 && !store_pg_run(db->r.pg, "COMMIT", why, sizeof(why)))
            rc = -1;
        else if (rc != 0 && PQstatus(db->r.pg) == CONNECTION_OK)
            store_pg_run(db->r.pg, "ROLLBACK", ignored, sizeof(ignored));
    }
    if (rc == STORE_PG_REJECTED)
        return store_backend_fail(err, "store_not_felt",
                                  "PostgreSQL: the database is damaged: a malformed row in %s",
                                  what);
    if (rc != 0) return store_backend_fail(err, "store_io", "PostgreSQL: %s: %s", what, why);
    return 0;
}

/* Runs a row-returning statement on the reader; NULL after describing the failure in why. */
static PGresult *store_pg_rows(struct store_db *db, char *why, size_t size, int id, const char *fmt,
                               ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *res = store_pg_vexec(&db->r, id, fmt, ap);
    va_end(ap);
    if (PQresultStatus(res) == PGRES_TUPLES_OK) return res;
    store_pg_message(db->r.pg, res, why, size);
    PQclear(res);
    return NULL;
}

/* Column col of row as text when its length is min..size-1. */
static bool store_pg_text(const PGresult *res, int row, int col, char *buf, size_t size, size_t min)
{
    if (PQgetisnull(res, row, col)) return false;
    size_t n = (size_t)PQgetlength(res, row, col);
    if (n < min || n >= size) return false;
    memcpy(buf, PQgetvalue(res, row, col), n + 1);
    return true;
}

static int64_t store_pg_int(const PGresult *res, int row, int col)
{
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* A token hash sent back as hex. */
static bool store_pg_hash(const PGresult *res, int row, int col, unsigned char *out)
{
    const char *hex = PQgetvalue(res, row, col);
    if (PQgetlength(res, row, col) != 2 * STORE_TOKEN_HASH_LEN) return false;
    for (int k = 0; k < STORE_TOKEN_HASH_LEN; k++) {
        unsigned v;
        if (sscanf(hex + 2 * k, "%2x", &v) != 1) return false;
        out[k] = (unsigned char)v;
    }
    return true;
}

struct store_pg_running_ctx {
    struct store_voided *voided;
    size_t n;
};

static int store_pg_read_running(struct store_db *db, void *arg, char *why, size_t size)
{
    struct store_pg_running_ctx *c = arg;
    PGresult *res = store_pg_rows(db, why, size, R_RUNNING, "");
    if (!res) return -1;
    int rc = 0, rows = PQntuples(res);
    c->voided = rows ? xcalloc((size_t)rows, sizeof(*c->voided)) : NULL;
    for (int i = 0; i < rows && rc == 0; i++) {
        struct store_voided *v = &c->voided[c->n++];
        v->hand_id = store_pg_int(res, i, 1);
        if (!store_pg_text(res, i, 0, v->table_id, sizeof(v->table_id), 1)) rc = STORE_PG_REJECTED;
    }
    PQclear(res);
    return rc;
}

static int store_pg_running(struct store_db *db, struct store_voided **out, size_t *n,
                            struct felt_err *err)
{
    struct store_pg_running_ctx c = {0};
    int rc = store_pg_read(db, store_pg_read_running, &c, "the running hands", err);
    if (rc != 0) {
        free(c.voided);
        c = (struct store_pg_running_ctx){0};
    }
    *out = c.voided;
    *n = c.n;
    return rc;
}

struct store_pg_load_ctx {
    const struct store_load_ops *ops;
    void *user;
};

static int store_pg_read_tables(struct store_db *db, const struct store_pg_load_ctx *c, char *why,
                                size_t size)
{
    PGresult *res = store_pg_rows(db, why, size, R_TABLES, "");
    if (!res) return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        struct store_table t = {
            .seats = (int)store_pg_int(res, i, 1),
            .small_blind = store_pg_int(res, i, 2),
            .big_blind = store_pg_int(res, i, 3),
            .ante = store_pg_int(res, i, 4),
            .buy_in = store_pg_int(res, i, 5),
            .action_timeout_ms = store_pg_int(res, i, 6),
            .last_hand_id = store_pg_int(res, i, 7),
            .fence = store_pg_int(res, i, 8),
            .write_seq = store_pg_int(res, i, 9),
        };
        if (!store_pg_text(res, i, 0, t.id, sizeof(t.id), 1))
            rc = STORE_PG_REJECTED;
        else if (c->ops->table)
            c->ops->table(c->user, &t);
    }
    PQclear(res);
    return rc;
}

static int store_pg_read_seats(struct store_db *db, const struct store_pg_load_ctx *c, char *why,
                               size_t size)
{
    PGresult *res = store_pg_rows(db, why, size, R_SEATS, "");
    if (!res) return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        struct store_seat e = {
            .seat = (int)store_pg_int(res, i, 3),
            .stack = store_pg_int(res, i, 4),
            .sitting_out = store_pg_int(res, i, 5) != 0,
            .bot = store_pg_int(res, i, 6) != 0,
        };
        if (!store_pg_text(res, i, 0, e.table_id, sizeof(e.table_id), 1) ||
            !store_pg_text(res, i, 1, e.player_id, sizeof(e.player_id), STORE_PLAYER_ID_LEN) ||
            !store_pg_text(res, i, 2, e.name, sizeof(e.name), 0) ||
            !store_pg_hash(res, i, 7, e.token_hash))
            rc = STORE_PG_REJECTED;
        else if (c->ops->seat)
            c->ops->seat(c->user, &e);
    }
    PQclear(res);
    return rc;
}

static int store_pg_read_departures(struct store_db *db, const struct store_pg_load_ctx *c,
                                    char *why, size_t size)
{
    PGresult *res = store_pg_rows(db, why, size, R_DEPARTURES, "");
    if (!res) return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        struct store_departure d = {.stack = store_pg_int(res, i, 4)};
        if (!store_pg_text(res, i, 0, d.table_id, sizeof(d.table_id), 1) ||
            !store_pg_text(res, i, 1, d.player_id, sizeof(d.player_id), STORE_PLAYER_ID_LEN) ||
            !store_pg_text(res, i, 2, d.name, sizeof(d.name), 0) ||
            !store_pg_hash(res, i, 3, d.token_hash))
            rc = STORE_PG_REJECTED;
        else if (c->ops->departure)
            c->ops->departure(c->user, &d);
    }
    PQclear(res);
    return rc;
}

static int store_pg_read_load(struct store_db *db, void *arg, char *why, size_t size)
{
    const struct store_pg_load_ctx *c = arg;
    int rc = store_pg_read_tables(db, c, why, size);
    if (rc == 0) rc = store_pg_read_seats(db, c, why, size);
    if (rc == 0) rc = store_pg_read_departures(db, c, why, size);
    return rc;
}

static int store_pg_load(struct store_db *db, const struct store_load_ops *ops, void *user,
                         struct felt_err *err)
{
    struct store_pg_load_ctx c = {ops, user};
    return store_pg_read(db, store_pg_read_load, &c, "the tables and seats", err);
}

struct store_pg_hands_ctx {
    const char *table_id;
    int64_t since;
    int limit;
    store_hand_fn cb;
    void *user;
};

/* The players of one hand into row. */
/* The players of hand row (hand_players rows from *k on, ordered by hand, then seat), moving *k
 * past them. */
static int store_pg_hand_players(const PGresult *res, int *k, struct store_hand_row *row)
{
    for (; *k < PQntuples(res) && store_pg_int(res, *k, 0) <= row->hand_id; (*k)++) {
        if (store_pg_int(res, *k, 0) < row->hand_id) continue; /* a hand not read: none */
        struct store_hand_player *p = &row->players[row->nplayers];
        if (row->nplayers == STORE_HAND_PLAYERS_MAX ||
            !store_pg_text(res, *k, 1, p->player_id, sizeof(p->player_id), STORE_PLAYER_ID_LEN))
            return STORE_PG_REJECTED;
        p->seat = (int)store_pg_int(res, *k, 2);
        p->stack_after = store_pg_int(res, *k, 3);
        p->net = store_pg_int(res, *k, 4);
        row->nplayers++;
    }
    return 0;
}

/* Two queries, whatever the number of hands: the hands, then the players of all of them (the
 * range of their ids: a hand inside it that was not read is running, and has none). */
static int store_pg_read_hands(struct store_db *db, void *arg, char *why, size_t size)
{
    const struct store_pg_hands_ctx *c = arg;
    PGresult *players = NULL, *res = store_pg_rows(db, why, size,
                                                   c->since < 0 ? R_HANDS_LAST : R_HANDS, "tid",
                                                   c->table_id, c->since < 0 ? -1 : c->since,
                                                   c->limit);
    if (!res) return -1;
    int rc = 0, n = PQntuples(res), k = 0;
    if (n > 0) {
        players = store_pg_rows(db, why, size, R_HAND_PLAYERS, "tii", c->table_id,
                                store_pg_int(res, 0, 0), store_pg_int(res, n - 1, 0));
        if (!players) rc = -1;
    }
    for (int i = 0; i < n && rc == 0; i++) {
        struct store_hand_row row = {
            .hand_id = store_pg_int(res, i, 0),
            .started_ms = store_pg_int(res, i, 1),
            .ended_ms = store_pg_int(res, i, 2),
            .state = PQgetvalue(res, i, 3),
            .record_json = PQgetvalue(res, i, 4),
            .results_json = PQgetvalue(res, i, 5),
            .shown_mask = (uint16_t)store_pg_int(res, i, 6),
        };
        rc = store_pg_hand_players(players, &k, &row);
        if (rc == 0 && c->cb(c->user, &row) != 0) break;
    }
    PQclear(players);
    PQclear(res);
    return rc;
}

static int store_pg_hands(struct store_db *db, const char *table_id, int64_t since, int limit,
                          store_hand_fn cb, void *user, struct felt_err *err)
{
    struct store_pg_hands_ctx c = {table_id, since, limit, cb, user};
    return store_pg_read(db, store_pg_read_hands, &c, "the hands", err);
}

static int store_pg_read_ledger(struct store_db *db, void *arg, char *why, size_t size)
{
    const char *table_id = ((const void **)arg)[0];
    struct store_ledger *out = ((void **)arg)[1];
    PGresult *res = store_pg_rows(db, why, size, R_LEDGER, "t", table_id);
    if (!res) return -1;
    int rc = PQntuples(res) == 1 ? 0 : STORE_PG_REJECTED;
    if (rc == 0) {
        out->buy_ins = store_pg_int(res, 0, 0);
        out->cash_outs = store_pg_int(res, 0, 1);
        out->hand_net = store_pg_int(res, 0, 2);
        out->on_table = store_pg_int(res, 0, 3);
    }
    PQclear(res);
    return rc;
}

static int store_pg_ledger(struct store_db *db, const char *table_id, struct store_ledger *out,
                           struct felt_err *err)
{
    void *args[2] = {(void *)table_id, out};
    return store_pg_read(db, store_pg_read_ledger, args, "the ledger", err);
}

/* ---- open, close -------------------------------------------------------------------------- */

/* One integer from a one-row query on the writer's connection; -1 when it has no row or NULL. */
static bool store_pg_query_int(PGconn *pg, const char *sql, long long *out, char *why, size_t size)
{
    PGresult *res = PQexec(pg, sql);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        store_pg_message(pg, res, why, size);
    else
        *out = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)
                   ? strtoll(PQgetvalue(res, 0, 0), NULL, 10)
                   : -1;
    PQclear(res);
    return ok;
}

/* The schema's version: 0 for a database without any table of ours, -2 for one that has a
 * table named like ours but no felt_schema (someone else's), -1 after a failure (why). */
static long long store_pg_version(PGconn *pg, char *why, size_t size)
{
    long long v = -1;
    char sql[160];
    if (!store_pg_query_int(pg, "SELECT (to_regclass('felt_schema') IS NOT NULL)::int", &v, why,
                            size))
        return -1;
    if (v == 0) { /* no felt_schema: fresh, unless a table of ours is there */
        for (size_t i = 0; i < FELT_ARRAY_LEN(store_pg_ours); i++) {
            snprintf(sql, sizeof(sql), "SELECT 1 WHERE to_regclass('%s') IS NOT NULL",
                     store_pg_ours[i]);
            if (!store_pg_query_int(pg, sql, &v, why, size)) return -1;
            if (v == 1) return -2;
        }
        return 0;
    }
    if (!store_pg_query_int(pg, "SELECT max(version) FROM felt_schema", &v, why, size)) return -1;
    return v < 0 ? -2 : v;
}

/* Checks the database is felt's (or empty) and migrates it, in one transaction under the
 * advisory lock: a second node starting meanwhile waits, then finds it done. */
static int store_pg_migrate(struct store_db *db, struct felt_err *err)
{
    PGconn *pg = db->w.pg;
    char why[STORE_WHY_LEN], sql[96];
    int rc = -1;
    snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock(%d)", STORE_PG_LOCK_KEY);
    if (!store_pg_run(pg, sql, why, sizeof(why))) goto failed;
    long long v = store_pg_version(pg, why, sizeof(why));
    if (v == -1) goto failed;
    if (v == -2) {
        rc = store_backend_fail(err, "store_not_felt",
                                "PostgreSQL database %s is not felt's: it has tables named like "
                                "felt's but no felt_schema",
                                PQdb(pg));
        goto out;
    }
    if (v > STORE_PG_SCHEMA_VERSION) {
        rc = store_backend_fail(err, "store_newer",
                                "PostgreSQL database %s was written by a newer feltd (schema %lld, "
                                "this feltd knows %d)",
                                PQdb(pg), v, STORE_PG_SCHEMA_VERSION);
        goto out;
    }
    for (long long i = v; i < STORE_PG_SCHEMA_VERSION; i++)
        if (!store_pg_run(pg, store_pg_migrations[i], why, sizeof(why))) goto failed;
    snprintf(sql, sizeof(sql), "UPDATE felt_schema SET version = %d", STORE_PG_SCHEMA_VERSION);
    if (!store_pg_run(pg, sql, why, sizeof(why)) || !store_pg_run(pg, "COMMIT", why, sizeof(why)))
        goto failed;
    return 0;
failed:
    rc = store_backend_fail(err, "store_io", "PostgreSQL database %s: cannot update the schema: %s",
                            PQdb(pg), why);
out:
    if (PQtransactionStatus(pg) != PQTRANS_IDLE) store_pg_run(pg, "ROLLBACK", why, sizeof(why));
    return rc;
}

/* Loop thread, before the writer writes anything (store_claim): the writer's connection is not
 * in use. */
static int store_pg_claim(struct store_db *db, int timeout_ms, struct felt_err *err)
{
    char why[STORE_WHY_LEN] = "";
    int64_t until = felt_now_ms() + timeout_ms;
    for (;;) {
        int got = store_pg_try_claim(db->w.pg, why, sizeof(why));
        if (got == 1) {
            db->claimed = true;
            return 0;
        }
        if (got < 0)
            return store_backend_fail(err, "store_io", "PostgreSQL database %s: %s",
                                      PQdb(db->w.pg), why);
        if (felt_now_ms() >= until)
            return store_backend_fail(err, "store_busy",
                                      "PostgreSQL database %s is in use by another feltd",
                                      PQdb(db->w.pg));
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

static void store_pg_close(struct store_db *db)
{
    if (!db) return;
    PQfinish(db->r.pg); /* NULL is a no-op */
    PQfinish(db->w.pg);
    free(db->conninfo);
    free(db);
}

static const struct store_backend store_pg_backend = {
    .run_batch = store_pg_run_batch,
    .read_running = store_pg_running,
    .read_rows = store_pg_load,
    .read_hands = store_pg_hands,
    .read_ledger = store_pg_ledger,
    .claim = store_pg_claim,
    .close = store_pg_close,
};

int store_pg_open(const char *conninfo, struct store_db **out, const struct store_backend **ops,
                  struct felt_err *err)
{
    char why[STORE_WHY_LEN], *parse_error = NULL;
    *out = NULL;
    /* libpq's own message for a string it cannot parse quotes the string, password and all. */
    PQconninfoOption *opts = PQconninfoParse(conninfo, &parse_error);
    PQfreemem(parse_error);
    if (!opts)
        return store_backend_fail(err, "store_io",
                                  "the PostgreSQL connection string is malformed (see "
                                  "\"Connection Strings\" in libpq's manual)");
    PQconninfoFree(opts);
    struct store_db *db = xcalloc(1, sizeof(*db));
    db->conninfo = xstrdup(conninfo);
    if (!store_pg_connect(db, &db->w, false, why, sizeof(why))) {
        store_backend_fail(err, "store_io", "cannot connect to PostgreSQL: %s", why);
        goto failed;
    }
    if (store_pg_migrate(db, err) != 0) goto failed;
    if (!store_pg_prepare(&db->w, why, sizeof(why)) ||
        !store_pg_connect(db, &db->r, true, why, sizeof(why))) {
        store_backend_fail(err, "store_io", "PostgreSQL: cannot prepare the statements: %s", why);
        goto failed;
    }
    *out = db;
    *ops = &store_pg_backend;
    return 0;
failed:
    store_pg_close(db);
    return -1;
}
