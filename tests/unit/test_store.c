/*
 * test_store.c: tests of feltd's storage (server/store.c), on real SQLite files, and (built again
 * with STORE_TEST_PG, as cluster_store_pg) on a real PostgreSQL server the test starts itself
 * (tests/cluster/harness_pg.c): the cases that hold for any backend run on both, each backend's
 * own cases (files, fsyncs, a full disk; a server restart, nodes migrating together) on its own.
 *
 * Each test works in its own temporary folder under /tmp (removed at the end) and reads back
 * what it wrote the way feltd would: through store_load, store_hands and store_ledger, after
 * closing and reopening the store. The failure cases build the bad files by hand (with SQLite
 * directly where a valid database of another kind is needed). Two cases run in a forked child:
 * the read-only folder (the child drops to nobody when the test runs as root, since root ignores
 * permissions) and the full disk (the child sets RLIMIT_FSIZE, then the parent reopens the file
 * and checks that nothing reported stored was lost). A writer held up behind a lock taken with
 * a second SQLite connection makes the grouping and the full queue deterministic. The test
 * defines fdatasync and fsync itself (SQLite, a shared library, then calls these), counting the
 * syncs of the write-ahead log, to check which commits are synced and which are not.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"

#ifdef STORE_TEST_PG
#include <libpq-fe.h>
#include <pthread.h>

#include "harness_pg.h"
#define store_open_at store_open_pg
#else
#define store_open_at store_open
#endif

#define TABLE "t1"
#define FELT_APP_ID 0x46454c54 /* what store.c stamps into application_id ("FELT") */

/* ---- folders and files -------------------------------------------------------------------- */

struct tmp {
    char base[64]; /* the temporary folder */
    char dir[128]; /* base/data: the store's folder (PostgreSQL: a new database's conninfo) */
    char db[160];  /* dir/felt.db */
};

static void tmp_new(struct tmp *t)
{
    snprintf(t->base, sizeof(t->base), "/tmp/felt-store-XXXXXX");
    assert_non_null(mkdtemp(t->base));
    snprintf(t->dir, sizeof(t->dir), "%s/data", t->base);
    snprintf(t->db, sizeof(t->db), "%s/felt.db", t->dir);
#ifdef STORE_TEST_PG
    harness_pg_new_db(t->dir, sizeof(t->dir));
#endif
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void tmp_free(struct tmp *t)
{
    assert_int_equal(nftw(t->base, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* Holds the writer back: a second session takes a lock the writer's next job needs, so the test
 * can queue jobs behind it. SQLite: the database's write lock (the writer waits at its BEGIN, in
 * its busy handler). PostgreSQL: an exclusive lock on the table "tables" (the writer waits at the
 * first statement that touches it or a row referring to it). */
#ifdef STORE_TEST_PG
static void *lock_writer(const struct tmp *t)
{
    PGconn *pg = PQconnectdb(t->dir);
    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    PGresult *res = PQexec(pg, "BEGIN; LOCK TABLE tables IN ACCESS EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    return pg;
}

static void unlock_writer(void *lock)
{
    PGresult *res = PQexec(lock, "ROLLBACK");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(lock);
}
#else
static void *lock_writer(const struct tmp *t)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(t->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_busy_timeout(db, 10000), SQLITE_OK); /* the writer may be busy */
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void unlock_writer(void *lock)
{
    assert_int_equal(sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(lock), SQLITE_OK);
}
#endif

#ifndef STORE_TEST_PG /* SQLite's files */
static char *file_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void file_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void sql(const char *path, const char *text)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, text, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int64_t sql_int(const char *path, const char *query)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, query, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return v;
}

/* ---- syncs of the write-ahead log --------------------------------------------------------- */

/* How many times fd was synced while it was a -wal file (any process: the counter is reset and
 * read in the test's own). */
static _Atomic int wal_syncs;

static void sync_count(int fd)
{
    char link[64], path[512];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof(path) - 1);
    if (n > 4 && memcmp(path + n - 4, "-wal", 4) == 0) wal_syncs++;
}

/* These replace libc's for the whole process, SQLite included (the executable's definitions
 * come first in symbol lookup); the system call is made directly. */
int fdatasync(int fd)
{
    sync_count(fd);
    return (int)syscall(SYS_fdatasync, fd);
}

int fsync(int fd)
{
    sync_count(fd);
    return (int)syscall(SYS_fsync, fd);
}

#endif

/* ---- tables, players, hands --------------------------------------------------------------- */

static struct store *open_ok(const char *dir)
{
    struct store *s = NULL;
    struct felt_err err = {0};
    int rc = store_open_at(dir, &s, &err);
    if (rc != 0) print_error("store_open(%s): %s: %s\n", dir, err.code, err.message);
    assert_int_equal(rc, 0);
    assert_non_null(s);
    return s;
}

/* Opens dir expecting failure; returns the error code, and the message in msg. */
static const char *open_fails(const char *dir, char *msg, size_t size)
{
    struct store *s = NULL;
    struct felt_err err = {0};
    assert_int_equal(store_open_at(dir, &s, &err), -1);
    assert_null(s);
    assert_non_null(err.code);
    assert_null(strchr(err.message, '\n'));
    snprintf(msg, size, "%s", err.message);
    return err.code;
}

static struct store_table table_make(const char *id)
{
    struct store_table t = {.seats = 6,
                            .small_blind = 5,
                            .big_blind = 10,
                            .ante = 1,
                            .buy_in = 1000,
                            .action_timeout_ms = 15000,
                            .last_hand_id = 0};
    snprintf(t.id, sizeof(t.id), "%s", id);
    return t;
}

static void player_id(int i, char out[STORE_PLAYER_ID_LEN + 1])
{
    snprintf(out, STORE_PLAYER_ID_LEN + 1, "%016llx", 0xfe170000ULL + (unsigned)i);
}

static struct store_seat seat_make(const char *table, int i, int64_t stack)
{
    struct store_seat e = {.seat = i, .stack = stack, .sitting_out = i == 2, .bot = i == 1};
    snprintf(e.table_id, sizeof(e.table_id), "%s", table);
    player_id(i, e.player_id);
    snprintf(e.name, sizeof(e.name), "Player ü%d", i);
    for (int k = 0; k < STORE_TOKEN_HASH_LEN; k++)
        e.token_hash[k] = (unsigned char)(i * 31 + k);
    return e;
}

/* The chips of n players, as the test expects the store to hold them. */
struct chips {
    int n;
    int64_t stack[STORE_HAND_PLAYERS_MAX];
};

static void seat_players(struct store *s, const char *table, struct chips *c, int n, int64_t buy_in)
{
    c->n = n;
    for (int i = 0; i < n; i++) {
        struct store_seat e = seat_make(table, i, buy_in);
        assert_int_equal(store_seat_join(s, &e, buy_in, NULL), 0);
        c->stack[i] = buy_in;
    }
}

/* A hand record of about len bytes: JSON text, different per hand. */
static char *record_make(int64_t hand_id, size_t len)
{
    char *r = malloc(len + 64);
    if (!r) abort();
    int n = snprintf(r, len + 64, "{\"hand_id\":%lld,\"log\":\"", (long long)hand_id);
    for (size_t i = (size_t)n; i < len; i++)
        r[i] = (char)('a' + (hand_id * 7 + (int64_t)i) % 26);
    snprintf(r + (len > (size_t)n ? len : (size_t)n), 64, "\"}");
    return r;
}

/* Fills h with hand hand_id at table, moving chips by net[] (summing to 0) and updating c. */
static void hand_make(struct store_hand *h, const char *table, int64_t hand_id, struct chips *c,
                      const int64_t *net, const char *record)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->table_id, sizeof(h->table_id), "%s", table);
    h->hand_id = hand_id;
    h->started_ms = INT64_C(1796410573000) + hand_id * 60000;
    h->ended_ms = h->started_ms + 42123;
    h->record_json = record;
    h->results_json = "[{\"pot\":0,\"winners\":[0]}]";
    h->shown_mask = (uint16_t)(hand_id & 3);
    h->nplayers = c->n;
    for (int i = 0; i < c->n; i++) {
        c->stack[i] += net[i];
        player_id(i, h->players[i].player_id);
        h->players[i].seat = i;
        h->players[i].stack_after = c->stack[i];
        h->players[i].net = net[i];
    }
}

/* What done() reported, in order. */
static struct {
    int ok, failed, bad; /* bad: a why with ok, or none without (checked by teardown) */
    int64_t ids[8192];
    int nids;
    char why[160];
    enum store_outcome outcome; /* the last one's (on_outcome) */
} done_log;

static void on_done(void *arg, bool ok, const char *why)
{
    done_log.bad += ok != (why == NULL);
    if (ok) {
        if (done_log.nids < (int)FELT_ARRAY_LEN(done_log.ids))
            done_log.ids[done_log.nids++] = (int64_t)(intptr_t)arg;
        done_log.ok++;
    } else {
        snprintf(done_log.why, sizeof(done_log.why), "%s", why ? why : "");
        done_log.failed++;
    }
}

/* on_done for the writes that take a struct store_order; the outcome kept in done_log.outcome. */
static void on_outcome(void *arg, enum store_outcome r, const char *why)
{
    done_log.outcome = r;
    on_done(arg, r == STORE_STORED, why);
}

/* Queues hand hand_id (begun, then committed), where seat (hand_id % n) wins `pot` from the
 * next seat. No cmocka assertion: the disk-full child calls it. 0, or -1 if a push failed. */
static int hand_push(struct store *s, const char *table, int64_t hand_id, struct chips *c,
                     int64_t pot, size_t record_len)
{
    int64_t net[STORE_HAND_PLAYERS_MAX] = {0};
    int w = (int)(hand_id % c->n), l = (w + 1) % c->n;
    pot = pot < c->stack[l] ? pot : c->stack[l];
    net[w] = pot;
    net[l] = -pot;
    char *record = record_make(hand_id, record_len);
    struct store_hand h;
    int rc = store_hand_begin(s, table, hand_id, INT64_C(1796410573000), "{\"partial\":1}");
    hand_make(&h, table, hand_id, c, net, record);
    struct store_order o = {.done = on_outcome, .arg = (void *)(intptr_t)hand_id};
    if (rc == 0) rc = store_hand_commit(s, &h, &o);
    free(record);
    return rc;
}

static void play_hand(struct store *s, const char *table, int64_t hand_id, struct chips *c,
                      int64_t pot, size_t record_len)
{
    assert_int_equal(hand_push(s, table, hand_id, c, pot, record_len), 0);
}

/* What store_load reported. */
struct loaded {
    int ntables, nseats, nvoided, ndeparted;
    struct store_departure departed[8];
    struct store_table tables[8];
    struct store_seat seats[32];
    char voided_table[8][PROTO_GAME_ID_MAX + 1];
    int64_t voided_hand[8];
    int takes;          /* store_table_take's answers */
    char take_code[32]; /* the last one's code ("" when taken) */
    char take_why[200];
};

static void on_table(void *user, const struct store_table *t)
{
    struct loaded *l = user;
    assert_true(l->ntables < 8);
    l->tables[l->ntables++] = *t;
}

static void on_seat(void *user, const struct store_seat *e)
{
    struct loaded *l = user;
    assert_true(l->nseats < 32);
    l->seats[l->nseats++] = *e;
}

static void on_voided(void *user, const char *table_id, int64_t hand_id)
{
    struct loaded *l = user;
    assert_true(l->nvoided < 8);
    snprintf(l->voided_table[l->nvoided], PROTO_GAME_ID_MAX + 1, "%s", table_id);
    l->voided_hand[l->nvoided++] = hand_id;
}

static void on_departure(void *user, const struct store_departure *d)
{
    struct loaded *l = user;
    assert_true(l->ndeparted < 8);
    l->departed[l->ndeparted++] = *d;
}

static const struct store_load_ops load_ops = {
    .table = on_table, .seat = on_seat, .departure = on_departure, .voided = on_voided};

static void load_ok(struct store *s, struct loaded *l)
{
    struct felt_err err = {0};
    memset(l, 0, sizeof(*l));
    assert_int_equal(store_load(s, &load_ops, l, &err), 0);
}

/* A new store in a new temporary folder t, loaded (into l: nothing yet), with table TABLE put
 * (table_make's) and no one seated. */
static struct store *open_with_table(struct tmp *t, struct loaded *l)
{
    tmp_new(t);
    struct store *s = open_ok(t->dir);
    load_ok(s, l);
    struct store_table tb = table_make(TABLE);
    assert_int_equal(store_table_put(s, &tb), 0);
    return s;
}

/* Closes s and opens t's store again, as a restarted feltd would: l holds what it loads. */
static struct store *reopen(struct store *s, const struct tmp *t, struct loaded *l)
{
    store_close(s);
    s = open_ok(t->dir);
    load_ok(s, l);
    return s;
}

static void assert_balanced(struct store *s, const char *table, int64_t on_table)
{
    struct store_ledger lg;
    struct felt_err err = {0};
    assert_int_equal(store_ledger(s, table, &lg, &err), 0);
    assert_int_equal(lg.buy_ins - lg.cash_outs + lg.hand_net, lg.on_table);
    assert_int_equal(lg.hand_net, 0);
    assert_int_equal(lg.on_table, on_table);
}

/* What store_hands reported. */
struct hands_seen {
    int n;
    int64_t ids[128];
    char state[128][16];
    char record[128][32]; /* the start of each record */
    int nplayers[128];
};

static int on_hand(void *user, const struct store_hand_row *h)
{
    struct hands_seen *seen = user;
    assert_true(seen->n < 128);
    seen->ids[seen->n] = h->hand_id;
    snprintf(seen->state[seen->n], sizeof(seen->state[0]), "%s", h->state);
    snprintf(seen->record[seen->n], sizeof(seen->record[0]), "%s", h->record_json);
    seen->nplayers[seen->n] = h->nplayers;
    seen->n++;
    return 0;
}

/* A store_hands answer: each row through fn, once. */
struct hands_wait {
    store_hand_fn fn;
    void *user;
    int answers;
    char why[200];
};

static void hands_done(void *arg, const struct store_hand_row *rows, size_t n, const char *why)
{
    struct hands_wait *w = arg;
    w->answers++;
    snprintf(w->why, sizeof(w->why), "%s", why ? why : "");
    for (size_t i = 0; i < n; i++)
        w->fn(w->user, &rows[i]);
}

/* store_hands, waited for: 0 with every row through fn, or -1 (the reason in why). */
static int hands_now(struct store *s, const char *table, int64_t since, int limit,
                     store_hand_fn fn, void *user, char *why, size_t whysz)
{
    struct hands_wait w = {fn, user, 0, ""};
    assert_int_equal(store_hands(s, table, since, limit, hands_done, &w), 0);
    store_flush(s);
    store_dispatch(s);
    assert_int_equal(w.answers, 1);
    if (why) snprintf(why, whysz, "%s", w.why);
    return w.why[0] ? -1 : 0;
}

static void on_take(void *user, const char *code, const char *why)
{
    struct loaded *l = user;
    l->takes++;
    snprintf(l->take_code, sizeof(l->take_code), "%s", code ? code : "");
    snprintf(l->take_why, sizeof(l->take_why), "%s", why ? why : "");
    if (code) assert_non_null(why);
}

/* store_table_take, waited for: nothing is reported before store_dispatch, then exactly one
 * answer. 0 when taken, else -1 with the code in l->take_code. */
static int take_now(struct store *s, const char *table, int64_t fence, struct loaded *l)
{
    memset(l, 0, sizeof(*l));
    assert_int_equal(store_table_take(s, table, fence, &load_ops, on_take, l), 0);
    assert_int_equal(l->takes, 0);
    store_flush(s);
    store_dispatch(s);
    assert_int_equal(l->takes, 1);
    return l->take_code[0] ? -1 : 0;
}

static void hands_ok(struct store *s, int64_t since, int limit, struct hands_seen *seen)
{
    memset(seen, 0, sizeof(*seen));
    assert_int_equal(hands_now(s, TABLE, since, limit, on_hand, seen, NULL, 0), 0);
}

static int64_t chips_sum(const struct chips *c)
{
    int64_t sum = 0;
    for (int i = 0; i < c->n; i++)
        sum += c->stack[i];
    return sum;
}

static int setup(void **state)
{
    (void)state;
    memset(&done_log, 0, sizeof(done_log));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(done_log.bad, 0);
    return 0;
}

/* ---- the tests ---------------------------------------------------------------------------- */

/* A new folder is created (with its parents), stamped as felt's, and everything written comes
 * back on the next open: tables, seats (token hash, sitting out, bot), stacks, hand ids. */
static void test_open_reopen_load(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c;
    char deep[160], msg[160];
    tmp_new(&t);
#ifdef STORE_TEST_PG
    (void)deep;
    (void)msg;
    struct store *s = open_ok(t.dir);
    store_close(open_ok(t.dir)); /* several nodes share one database */
#else
    snprintf(deep, sizeof(deep), "%s/a/b/data", t.base);
    struct store *s = open_ok(deep);
    store_close(s);

    s = open_ok(t.dir);
    assert_string_equal(open_fails(t.dir, msg, sizeof(msg)), "store_io"); /* one feltd a folder */
    assert_non_null(strstr(msg, t.dir));
#endif
    load_ok(s, &l);
    assert_int_equal(l.ntables + l.nseats + l.nvoided, 0);
    struct store_table t1 = table_make(TABLE), t2 = table_make("table-2_B");
    t2.seats = 9;
    t2.last_hand_id = 40;
    assert_int_equal(store_table_put(s, &t1), 0);
    assert_int_equal(store_table_put(s, &t2), 0);
    seat_players(s, TABLE, &c, 3, 1000);
    struct store_seat other = seat_make("table-2_B", 5, 700);
    assert_int_equal(store_seat_join(s, &other, 700, NULL), 0);
    /* malformed: not queued */
    assert_int_equal(store_seat_update(s, TABLE, "short", true, NULL), -1);
    assert_int_equal(store_table_put(s, &(struct store_table){.id = ""}), -1);
    char p0[STORE_PLAYER_ID_LEN + 1];
    player_id(0, p0);
    assert_int_equal(store_seat_update(s, TABLE, p0, true, NULL), 0);
    play_hand(s, TABLE, 7, &c, 120, 300);
    t2.last_hand_id = 3; /* a put never lowers it */
    assert_int_equal(store_table_put(s, &t2), 0);
    assert_int_equal(store_flush(s), 0);
    store_close(s);

#ifdef STORE_TEST_PG
    assert_true(harness_pg_int(t.dir, "SELECT version FROM felt_schema") >= 1);
#else
    assert_int_equal(sql_int(t.db, "PRAGMA application_id"), FELT_APP_ID);
    assert_true(sql_int(t.db, "PRAGMA user_version") >= 1);
#endif
    s = open_ok(t.dir);
    load_ok(s, &l);
    assert_int_equal(l.ntables, 2);
    assert_int_equal(l.nvoided, 0);
    assert_string_equal(l.tables[0].id, TABLE);
    assert_int_equal(l.tables[0].last_hand_id, 7);
    assert_int_equal(l.tables[0].seats, 6);
    assert_int_equal(l.tables[0].small_blind, 5);
    assert_int_equal(l.tables[0].big_blind, 10);
    assert_int_equal(l.tables[0].ante, 1);
    assert_int_equal(l.tables[0].buy_in, 1000);
    assert_int_equal(l.tables[0].action_timeout_ms, 15000);
    assert_string_equal(l.tables[1].id, "table-2_B");
    assert_int_equal(l.tables[1].seats, 9);
    assert_int_equal(l.tables[1].last_hand_id, 40);
    assert_int_equal(l.nseats, 4);
    for (int i = 0; i < 3; i++) {
        struct store_seat want = seat_make(TABLE, i, c.stack[i]);
        const struct store_seat *got = &l.seats[i];
        assert_string_equal(got->table_id, TABLE);
        assert_string_equal(got->player_id, want.player_id);
        assert_string_equal(got->name, want.name);
        assert_int_equal(got->seat, i);
        assert_int_equal(got->stack, c.stack[i]);
        assert_int_equal(got->sitting_out, i == 0 || i == 2);
        assert_int_equal(got->bot, i == 1);
        assert_memory_equal(got->token_hash, want.token_hash, STORE_TOKEN_HASH_LEN);
    }
    assert_int_equal(c.stack[1], 1120); /* hand 7 (seat 7 % 3 won) moved chips: stored */
    assert_string_equal(l.seats[3].table_id, "table-2_B");
    assert_int_equal(l.seats[3].stack, 700);
    assert_balanced(s, TABLE, 3000);
    assert_balanced(s, "table-2_B", 700);
    store_close(s);
    tmp_free(&t);
}

/* A human who leaves with chips is remembered (id, name, token hash, stack) across a reopen; a
 * bot and a player who leaves with nothing are not; sitting down again with the same player id
 * forgets the departure, and the books balance throughout. */
static void test_departures(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c;
    char p[3][STORE_PLAYER_ID_LEN + 1];
    struct store *s = open_with_table(&t, &l);
    seat_players(s, TABLE, &c, 2, 800); /* seat 1 is a bot */
    struct store_seat broke = seat_make(TABLE, 2, 0); /* a human with nothing left */
    assert_int_equal(store_seat_join(s, &broke, 0, NULL), 0);
    for (int i = 0; i < 3; i++)
        player_id(i, p[i]);
    assert_int_equal(store_seat_leave(s, TABLE, p[0], 800, NULL), 0);
    assert_int_equal(store_seat_leave(s, TABLE, p[1], 800, NULL), 0);
    assert_int_equal(store_seat_leave(s, TABLE, p[2], 0, NULL), 0);
    assert_int_equal(store_flush(s), 0);

    s = reopen(s, &t, &l);
    assert_int_equal(l.nseats, 0);
    assert_int_equal(l.ndeparted, 1);
    struct store_seat want = seat_make(TABLE, 0, 800);
    assert_string_equal(l.departed[0].table_id, TABLE);
    assert_string_equal(l.departed[0].player_id, p[0]);
    assert_string_equal(l.departed[0].name, want.name);
    assert_int_equal(l.departed[0].stack, 800);
    assert_memory_equal(l.departed[0].token_hash, want.token_hash, STORE_TOKEN_HASH_LEN);
    assert_balanced(s, TABLE, 0);

    want.stack = 800; /* back with what they left with */
    assert_int_equal(store_seat_join(s, &want, 800, NULL), 0);
    assert_int_equal(store_flush(s), 0);
    s = reopen(s, &t, &l);
    assert_int_equal(l.nseats, 1);
    assert_int_equal(l.seats[0].stack, 800);
    assert_int_equal(l.ndeparted, 0);
    assert_balanced(s, TABLE, 800);
    store_close(s);
    tmp_free(&t);
}

/* Over many hands and a cash-out the books balance, every done() says ok, and the stacks a
 * reopened store loads are the ones the hands left. */
static void test_ledger_many_hands(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c;
    tmp_new(&t);
    struct store *s = open_ok(t.dir);
    load_ok(s, &l);
    struct store_table tb = table_make(TABLE);
    assert_int_equal(store_table_put(s, &tb), 0);
    seat_players(s, TABLE, &c, 4, 1000);
    for (int64_t id = 1; id <= 300; id++) {
        play_hand(s, TABLE, id, &c, 10 + (id * 37) % 150, 200);
        if (id % 50 == 0) { /* half of them land while others are still being written */
            assert_int_equal(store_flush(s), 0);
            store_dispatch(s);
        }
    }
    assert_int_equal(store_flush(s), 0);
    store_dispatch(s);
    assert_int_equal(done_log.ok, 300);
    assert_int_equal(done_log.failed, 0);
    for (int i = 0; i < 300; i++)
        assert_int_equal(done_log.ids[i], i + 1); /* completions come in order */
    assert_balanced(s, TABLE, 4000);

    char p3[STORE_PLAYER_ID_LEN + 1];
    player_id(3, p3);
    int64_t cash_out = c.stack[3];
    assert_int_equal(store_seat_leave(s, TABLE, p3, cash_out, NULL), 0);
    c.n = 3;
    assert_int_equal(store_flush(s), 0);
    struct store_ledger lg;
    struct felt_err err = {0};
    assert_int_equal(store_ledger(s, TABLE, &lg, &err), 0);
    assert_int_equal(lg.buy_ins, 4000);
    assert_int_equal(lg.cash_outs, cash_out);
    assert_balanced(s, TABLE, 4000 - cash_out);
    store_close(s);

    s = open_ok(t.dir);
    load_ok(s, &l);
    assert_int_equal(l.nseats, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(l.seats[i].stack, c.stack[i]);
    assert_int_equal(l.tables[0].last_hand_id, 300);
    assert_balanced(s, TABLE, chips_sum(&c));
    store_close(s);
    tmp_free(&t);
}

static struct {
    int calls;
    char why[160];
} hook_log;

static void on_error(void *arg, bool ok, const char *why)
{
    assert_ptr_equal(arg, &hook_log);
    assert_false(ok);
    hook_log.calls++;
    snprintf(hook_log.why, sizeof(hook_log.why), "%s", why);
}

/* A job that fails alone (a seat that is not there, a hand id used twice) is rolled back alone:
 * the hands queued with it are stored, and the failure is reported. */
static void test_job_fails_alone(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c;
    tmp_new(&t);
    struct store *s = open_ok(t.dir);
    load_ok(s, &l);
    store_set_error_hook(s, on_error, &hook_log);
    memset(&hook_log, 0, sizeof(hook_log));
    struct store_table tb = table_make(TABLE);
    assert_int_equal(store_table_put(s, &tb), 0);
    seat_players(s, TABLE, &c, 2, 500);
    assert_int_equal(store_flush(s), 0);
    void *lock = lock_writer(&t); /* what follows lands in one or two transactions */
    play_hand(s, TABLE, 1, &c, 50, 100);
    assert_int_equal(store_seat_update(s, TABLE, "00000000deadbeef", true, NULL), 0);
    assert_int_equal(store_hand_begin(s, TABLE, 1, 0, "{}"), 0); /* id 1 is taken */
    play_hand(s, TABLE, 2, &c, 70, 100);
    unlock_writer(lock);
    assert_int_equal(store_flush(s), -1);
    assert_int_equal(store_flush(s), 0); /* reported once */
    store_dispatch(s);
    assert_int_equal(done_log.ok, 2);
    assert_int_equal(hook_log.calls, 2);
    assert_non_null(strcasestr(hook_log.why, "unique")); /* the last failure: hand 1 again */
    struct store_stats st;
    store_stats(s, &st);
    assert_int_equal(st.failures, 2);
    assert_balanced(s, TABLE, 1000);

    /* A commit of a hand already complete fails its done(), and changes nothing. */
    int64_t net[2] = {-500, 500};
    struct chips copy = c;
    struct store_hand h;
    hand_make(&h, TABLE, 2, &copy, net, "{}");
    struct store_order o = {.done = on_outcome, .arg = (void *)(intptr_t)2};
    assert_int_equal(store_hand_commit(s, &h, &o), 0);
    assert_int_equal(store_flush(s), -1);
    store_dispatch(s);
    assert_int_equal(done_log.failed, 1);
    assert_non_null(strstr(done_log.why, "already complete"));
    assert_int_equal(hook_log.calls, 2); /* it had its own done() */
    store_close(s);

    s = open_ok(t.dir);
    load_ok(s, &l);
    assert_int_equal(l.seats[0].stack, c.stack[0]);
    assert_int_equal(l.seats[1].stack, c.stack[1]);
    assert_false(l.seats[0].sitting_out);
    store_close(s);
    tmp_free(&t);
}

/* Ordered writes (struct store_order): each moves its table's write_seq on by one; one sent
 * again after it was stored (its answer lost) reports ok and is not applied twice; one that
 * comes before its predecessor fails alone and changes nothing; the load says where the
 * sequence stands. */
static void test_ordered(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c = {.n = 2};
    char p0[STORE_PLAYER_ID_LEN + 1], p1[STORE_PLAYER_ID_LEN + 1];
    player_id(0, p0);
    player_id(1, p1);
    struct store *s = open_with_table(&t, &l);
    for (int i = 0; i < 2; i++) {
        struct store_seat e = seat_make(TABLE, i, 500);
        struct store_order o = {.seq = i + 1, .done = on_outcome, .arg = (void *)(intptr_t)(i + 1)};
        assert_int_equal(store_seat_join(s, &e, 500, &o), 0);
        c.stack[i] = 500;
    }
    assert_int_equal(store_flush(s), 0);
    store_dispatch(s);
    assert_int_equal(done_log.ok, 2);

    /* Write 4 before 3: refused, nothing moves. */
    struct store_order o4 = {.seq = 4, .done = on_outcome};
    assert_int_equal(store_seat_rebuy(s, TABLE, p0, 100, &o4), 0);
    assert_int_equal(store_flush(s), -1);
    store_dispatch(s);
    assert_int_equal(done_log.failed, 1);
    assert_int_equal(done_log.outcome, STORE_EARLY);
    assert_non_null(strstr(done_log.why, "out of order"));
    assert_balanced(s, TABLE, 1000);

    /* Write 3 (a re-buy), then 3 again: stored once, and both attempts report ok. */
    struct store_order o3 = {.seq = 3, .done = on_outcome};
    assert_int_equal(store_seat_rebuy(s, TABLE, p0, 100, &o3), 0);
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(store_seat_rebuy(s, TABLE, p0, 100, &o3), 0);
    assert_int_equal(store_flush(s), 0);
    store_dispatch(s);
    assert_int_equal(done_log.ok, 4);
    c.stack[0] += 100;
    assert_balanced(s, TABLE, 1100);

    /* A hand's commit as write 4, twice: the second is not "already complete" but stored. */
    int64_t net[2] = {-60, 60};
    struct store_hand h;
    hand_make(&h, TABLE, 1, &c, net, "{}");
    assert_int_equal(store_hand_commit(s, &h, &o4), 0);
    assert_int_equal(store_hand_commit(s, &h, &o4), 0);
    /* And an unordered write between them leaves the sequence alone. */
    assert_int_equal(store_seat_leave(s, TABLE, p1, c.stack[1], &(struct store_order){0}), 0);
    assert_int_equal(store_flush(s), 0);
    store_dispatch(s);
    assert_int_equal(done_log.ok, 6);
    assert_int_equal(done_log.failed, 1);
    assert_balanced(s, TABLE, c.stack[0]);

    /* Under a fence: write 5 by the owner of fence 7; sent again by a stale owner (fence 3), it
     * is not "stored" for it but refused (the order check is under the fence). */
    struct store_order o5 = {.seq = 5, .done = on_outcome};
    assert_int_equal(store_table_fence(s, TABLE, 7), 0);
    assert_int_equal(store_seat_rebuy(s, TABLE, p0, 1, &o5), 0);
    assert_int_equal(store_flush(s), 0);
    store_dispatch(s);
    assert_int_equal(done_log.outcome, STORE_STORED);
    assert_int_equal(store_table_fence(s, TABLE, 3), 0);
    assert_int_equal(store_seat_rebuy(s, TABLE, p0, 1, &o5), 0);
    assert_int_equal(store_flush(s), -1);
    store_dispatch(s);
    assert_int_equal(done_log.outcome, STORE_REFUSED);
    assert_non_null(strstr(done_log.why, "fenced"));
    c.stack[0] += 1;

    /* A write refused for good (no such seat): its number skipped, the next one goes on. */
    struct store_order o6 = {.seq = 6, .done = on_outcome}, o7 = {.seq = 7, .done = on_outcome};
    assert_int_equal(store_table_fence(s, TABLE, 7), 0);
    assert_int_equal(store_seat_rebuy(s, TABLE, "00000000deadbeef", 50, &o6), 0);
    assert_int_equal(store_flush(s), -1);
    store_dispatch(s);
    assert_int_equal(done_log.outcome, STORE_REFUSED);
    assert_int_equal(store_seat_rebuy(s, TABLE, p0, 2, &o7), 0); /* still too early */
    assert_int_equal(store_flush(s), -1);
    store_dispatch(s);
    assert_int_equal(done_log.outcome, STORE_EARLY);
    assert_int_equal(store_order_skip(s, TABLE, &o6), 0);
    assert_int_equal(store_seat_rebuy(s, TABLE, p0, 2, &o7), 0);
    assert_int_equal(store_flush(s), 0);
    store_dispatch(s);
    assert_int_equal(done_log.outcome, STORE_STORED);
    c.stack[0] += 2;
    assert_balanced(s, TABLE, c.stack[0]);

    s = reopen(s, &t, &l);
    assert_int_equal(l.ntables, 1);
    assert_int_equal(l.tables[0].write_seq, 7);
    assert_int_equal(l.nseats, 1);
    assert_int_equal(l.seats[0].stack, c.stack[0]);
    store_close(s);
    tmp_free(&t);
}

/* Fencing (store_table_fence): writes carrying a fence below the table's stored one (an owner
 * that lost its lease and has not noticed) fail whole and move no chip; the owner with the
 * highest fence goes on, and the load reports it. */
static void test_fenced(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c;
    char p0[STORE_PLAYER_ID_LEN + 1];
    tmp_new(&t);
    struct store *s = open_ok(t.dir);
    load_ok(s, &l);
    store_set_error_hook(s, on_error, &hook_log);
    memset(&hook_log, 0, sizeof(hook_log));
    assert_int_equal(store_table_fence(s, "", 1), -1);
    assert_int_equal(store_table_fence(s, TABLE, -1), -1);
    assert_int_equal(store_table_fence(s, TABLE, 3), 0);
    struct store_table tb = table_make(TABLE);
    assert_int_equal(store_table_put(s, &tb), 0);
    seat_players(s, TABLE, &c, 2, 500);
    play_hand(s, TABLE, 1, &c, 40, 100);
    assert_int_equal(store_flush(s), 0);

    /* A stale owner: every write of its own refused, nothing moved. */
#ifdef STORE_TEST_PG
    struct store *stale = open_ok(t.dir); /* another node, on the same database */
    store_set_error_hook(stale, on_error, &hook_log);
#else
    struct store *stale = s; /* one store a folder: the same one, its fence set back */
#endif
    assert_int_equal(store_table_fence(stale, TABLE, 2), 0);
    struct chips before = c;
    play_hand(stale, TABLE, 2, &c, 40, 100);
    player_id(0, p0);
    assert_int_equal(store_seat_update(stale, TABLE, p0, true, NULL), 0);
    assert_int_equal(store_seat_rebuy(stale, TABLE, p0, 100, NULL), 0);
    assert_int_equal(store_seat_leave(stale, TABLE, p0, 460, NULL), 0);
    assert_int_equal(store_table_put(stale, &tb), 0);
    assert_int_equal(store_flush(stale), -1);
    store_dispatch(stale);
    c = before;
    assert_int_equal(done_log.failed, 1);
    assert_non_null(strstr(done_log.why, "fenced"));
    assert_int_equal(hook_log.calls, 5); /* the hand's start, the three seat jobs, the put */
    assert_non_null(strstr(hook_log.why, "fenced"));
#ifdef STORE_TEST_PG
    store_close(stale);
#endif
    assert_balanced(s, TABLE, 1000);

    /* A newer owner goes on; the hand id the stale owner could not reserve is free. */
    assert_int_equal(store_table_fence(s, TABLE, 4), 0);
    play_hand(s, TABLE, 2, &c, 40, 100);
    assert_int_equal(store_flush(s), 0);
    store_close(s);
    s = open_ok(t.dir);
    load_ok(s, &l);
    assert_int_equal(l.tables[0].fence, 4);
    assert_int_equal(l.tables[0].last_hand_id, 2);
    assert_false(l.seats[0].sitting_out);
    assert_int_equal(l.seats[0].stack, c.stack[0]);
    assert_int_equal(l.seats[1].stack, c.stack[1]);
    assert_balanced(s, TABLE, 1000);
    store_close(s);
    tmp_free(&t);
}

/* A node takes a table over (store_table_take): the older owner's running hand at that table is
 * voided and reported, no other table's; the seats come back with the stacks of the last
 * completed hand; from then on the older owner cannot commit, and cannot take it back. */
static void test_table_take(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c, c2;
    struct hands_seen seen = {0};
    tmp_new(&t);
    struct store *s = open_ok(t.dir);
    load_ok(s, &l);
    store_set_error_hook(s, on_error, &hook_log);
    memset(&hook_log, 0, sizeof(hook_log));
    struct store_table tb = table_make(TABLE), tb2 = table_make("t2");
    assert_int_equal(store_table_fence(s, TABLE, 1), 0);
    assert_int_equal(store_table_fence(s, "t2", 1), 0);
    assert_int_equal(store_table_put(s, &tb), 0);
    assert_int_equal(store_table_put(s, &tb2), 0);
    seat_players(s, TABLE, &c, 2, 500);
    seat_players(s, "t2", &c2, 2, 300);
    play_hand(s, TABLE, 1, &c, 70, 100);
    assert_int_equal(store_hand_begin(s, TABLE, 2, INT64_C(1796410573123), "{\"partial\":2}"), 0);
    assert_int_equal(store_hand_begin(s, "t2", 1, INT64_C(1796410573123), "{\"partial\":1}"), 0);
    assert_int_equal(store_flush(s), 0);

#ifdef STORE_TEST_PG
    struct store *newer = open_ok(t.dir); /* another node, on the same database */
#else
    struct store *newer = s; /* one store a folder: the same one, its fence moved back after */
#endif
    assert_int_equal(take_now(newer, TABLE, 2, &l), 0);
    assert_int_equal(l.ntables, 1);
    assert_string_equal(l.tables[0].id, TABLE);
    assert_int_equal(l.tables[0].fence, 2);
    assert_int_equal(l.tables[0].last_hand_id, 2);
    assert_int_equal(l.nseats, 2);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(l.seats[i].table_id, TABLE);
        assert_int_equal(l.seats[i].stack, c.stack[i]); /* as after hand 1 */
    }
    assert_int_equal(l.nvoided, 1);
    assert_string_equal(l.voided_table[0], TABLE);
    assert_int_equal(l.voided_hand[0], 2);
    hands_ok(newer, 0, 10, &seen);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.state[1], "voided");
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(hands_now(newer, "t2", 0, 10, on_hand, &seen, NULL, 0), 0);
    assert_int_equal(seen.n, 0); /* t2's hand is still running: not voided, not reported */

    /* The older owner wakes up: its hand's commit and its take are refused. */
#ifndef STORE_TEST_PG
    assert_int_equal(store_table_fence(s, TABLE, 1), 0);
#endif
    struct chips before = c;
    int64_t net[STORE_HAND_PLAYERS_MAX] = {40, -40};
    struct store_hand h;
    char *record = record_make(2, 100);
    hand_make(&h, TABLE, 2, &c, net, record);
    memset(&done_log, 0, sizeof(done_log));
    struct store_order o = {.done = on_outcome};
    assert_int_equal(store_hand_commit(s, &h, &o), 0);
    assert_int_equal(store_flush(s), -1);
    store_dispatch(s);
    free(record);
    c = before;
    assert_int_equal(done_log.failed, 1);
    assert_non_null(strstr(done_log.why, "fenced"));
    assert_int_equal(take_now(s, TABLE, 1, &l), -1);
    assert_string_equal(l.take_code, "store_fenced");
    assert_null(strchr(l.take_why, '\n'));
    /* Refused, a take reports the table's row alone: its stored fence is the one to beat. */
    assert_int_equal(l.ntables, 1);
    assert_int_equal(l.tables[0].fence, 2);
    assert_int_equal(l.nseats + l.nvoided, 0);
    /* A take needs a fence above the stored one: equal is an older owner's (a Redis that forgot
     * its counter gives one out again). */
    assert_int_equal(take_now(newer, TABLE, 2, &l), -1);
    assert_string_equal(l.take_code, "store_fenced");
    assert_int_equal(l.tables[0].fence, 2);
    assert_int_equal(take_now(s, "never-stored", 5, &l), -1);
    assert_string_equal(l.take_code, "store_fenced");
    memset(&l, 0, sizeof(l));
    assert_int_equal(store_table_take(s, "", 5, &load_ops, on_take, &l), -1); /* not queued */
    assert_int_equal(store_table_take(s, TABLE, -1, &load_ops, on_take, &l), -1);
    assert_int_equal(store_table_take(s, TABLE, 5, &load_ops, NULL, &l), -1);
    store_dispatch(s);
    assert_int_equal(l.takes, 0);

    /* The newer owner plays on at the table it took: hand 3, the books balanced. */
#ifndef STORE_TEST_PG
    assert_int_equal(store_table_fence(s, TABLE, 2), 0);
#endif
    play_hand(newer, TABLE, 3, &c, 30, 100);
    assert_int_equal(store_flush(newer), 0);
    assert_balanced(newer, TABLE, 1000);
    assert_balanced(newer, "t2", 600);
    assert_int_equal(hook_log.calls, 0); /* nothing failed but what was told it failed */
#ifdef STORE_TEST_PG
    store_close(newer);
#endif
    store_close(s);
    tmp_free(&t);
}

/* A hand begun and never committed (feltd stopped during it) is voided by the next load, with
 * its partial record; the stacks are those from before it; its id is never used again. */
static void test_voided(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c;
    struct hands_seen seen = {0};
    tmp_new(&t);
    struct store *s = open_ok(t.dir);
    load_ok(s, &l);
    struct store_table tb = table_make(TABLE);
    assert_int_equal(store_table_put(s, &tb), 0);
    seat_players(s, TABLE, &c, 3, 800);
    play_hand(s, TABLE, 4, &c, 100, 100);
    assert_int_equal(store_hand_begin(s, TABLE, 5, INT64_C(1796410573123), "{\"partial\":5}"), 0);
    store_close(s); /* drains the queue: hand 5 is stored running */

    s = open_ok(t.dir);
    load_ok(s, &l);
    assert_int_equal(l.nvoided, 1);
    assert_string_equal(l.voided_table[0], TABLE);
    assert_int_equal(l.voided_hand[0], 5);
    assert_int_equal(l.tables[0].last_hand_id, 5);
    for (int i = 0; i < 3; i++)
        assert_int_equal(l.seats[i].stack, c.stack[i]);
    hands_ok(s, 0, 10, &seen);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.ids[1], 5);
    assert_string_equal(seen.state[0], "complete");
    assert_string_equal(seen.state[1], "voided");
    assert_string_equal(seen.record[1], "{\"partial\":5}"); /* the record so far, kept */
    assert_int_equal(seen.nplayers[1], 0);
    assert_int_equal(seen.nplayers[0], 3);
    assert_balanced(s, TABLE, 2400);

    assert_int_equal(store_hand_begin(s, TABLE, 5, 0, "{}"), 0);
    assert_int_equal(store_flush(s), -1); /* never reused */
    assert_int_equal(store_hand_begin(s, TABLE, 6, 0, "{}"), 0);
    assert_int_equal(store_flush(s), 0);
    store_close(s);

    s = open_ok(t.dir);
    load_ok(s, &l);
    assert_int_equal(l.nvoided, 1); /* hand 6 only: 5 was voided once */
    assert_int_equal(l.voided_hand[0], 6);
    assert_int_equal(l.tables[0].last_hand_id, 6);
    store_close(s);
    tmp_free(&t);
}

/* Hands queued while the writer is busy share one transaction, and their completions wake the
 * loop through the eventfd. */
static void test_grouping(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c;
    struct store_stats before, after;
    tmp_new(&t);
    struct store *s = open_ok(t.dir);
    load_ok(s, &l);
    struct store_table tb = table_make(TABLE);
    assert_int_equal(store_table_put(s, &tb), 0);
    seat_players(s, TABLE, &c, 6, 2000);
    assert_int_equal(store_flush(s), 0);
    store_stats(s, &before);

    void *lock = lock_writer(&t);
    for (int64_t id = 1; id <= 100; id++)
        play_hand(s, TABLE, id, &c, 25, 400);
    unlock_writer(lock);
    assert_int_equal(store_flush(s), 0);
    struct pollfd pfd = {.fd = store_event_fd(s), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 0), 1);
    store_dispatch(s);
    assert_int_equal(poll(&pfd, 1, 0), 0);
    assert_int_equal(done_log.ok, 100);

    store_stats(s, &after);
    assert_int_equal(after.jobs - before.jobs, 200);
    /* The writer took what was queued when it started waiting, then all the rest at once. */
    assert_in_range(after.transactions - before.transactions, 1, 2);
    assert_int_equal(after.failures, 0);
    assert_balanced(s, TABLE, 12000);
    store_close(s);
    tmp_free(&t);
}

#ifndef STORE_TEST_PG /* SQLite's own */
/* Which commits wait for an fsync of the log: every batch with chips in it (a completed hand, a
 * buy-in, a re-buy, a cash-out) does; a batch of hand starts and sit-out flags alone does not,
 * and what it wrote is still there after the next open. */
static void test_sync_levels(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c;
    tmp_new(&t);
    struct store *s = open_ok(t.dir);
    load_ok(s, &l);
    struct store_table tb = table_make(TABLE);
    assert_int_equal(store_table_put(s, &tb), 0);
    seat_players(s, TABLE, &c, 3, 600);
    assert_int_equal(store_flush(s), 0);

    /* Hand starts and a sit-out flag, in one batch and then one by one: no sync. */
    wal_syncs = 0;
    void *lock = lock_writer(&t);
    assert_int_equal(store_hand_begin(s, TABLE, 1, INT64_C(1796410573000), "{\"partial\":1}"), 0);
    assert_int_equal(store_seat_update(s, TABLE, "00000000fe170000", true, NULL), 0);
    unlock_writer(lock);
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(store_hand_begin(s, "t2", 1, 0, "{}"), 0); /* no such table: fails alone */
    assert_int_equal(store_flush(s), -1);
    assert_int_equal(wal_syncs, 0);

    /* The hand's end: synced before it is reported. */
    int64_t net[3] = {40, -40, 0};
    struct store_hand h;
    hand_make(&h, TABLE, 1, &c, net, "{\"hand\":1}");
    struct store_order o = {.done = on_outcome, .arg = (void *)(intptr_t)1};
    assert_int_equal(store_hand_commit(s, &h, &o), 0);
    assert_int_equal(store_flush(s), 0);
    assert_true(wal_syncs >= 1);

    /* Chips coming in or going out: synced. Then a start alone again: not. */
    int before = wal_syncs;
    assert_int_equal(store_seat_rebuy(s, TABLE, "00000000fe170001", 40, NULL), 0);
    assert_int_equal(store_flush(s), 0);
    assert_true(wal_syncs > before);
    before = wal_syncs;
    assert_int_equal(store_seat_leave(s, TABLE, "00000000fe170002", 600, NULL), 0);
    assert_int_equal(store_flush(s), 0);
    assert_true(wal_syncs > before);
    before = wal_syncs;
    assert_int_equal(store_hand_begin(s, TABLE, 2, INT64_C(1796410633000), "{\"partial\":2}"), 0);
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(wal_syncs, before);
    store_dispatch(s);
    assert_int_equal(done_log.ok, 1);
    store_close(s);

    s = open_ok(t.dir);
    load_ok(s, &l);
    assert_int_equal(l.nseats, 2);
    assert_true(l.seats[0].sitting_out);
    assert_int_equal(l.seats[0].stack, 640);
    assert_int_equal(l.seats[1].stack, 600); /* 560 after the hand, and the re-buy of 40 */
    assert_int_equal(l.nvoided, 1);
    assert_int_equal(l.voided_hand[0], 2);
    assert_int_equal(l.tables[0].last_hand_id, 2);
    assert_balanced(s, TABLE, 1240);
    store_close(s);
    tmp_free(&t);
}

/* In the child: a hand completed, then the next one started and a player sat out (commits
 * without a sync of their own), then the process is killed (SIGKILL) without closing the store.
 * Returns only on failure (the step that failed). */
static int killed_child(const char *dir)
{
    struct chips c = {.n = 2, .stack = {1000, 1000}};
    int64_t net[2] = {-30, 30};
    struct store *s = NULL;
    struct felt_err err = {0};
    struct loaded l;
    struct store_hand h;
    if (store_open(dir, &s, &err) != 0) return 10;
    memset(&l, 0, sizeof(l));
    if (store_load(s, &load_ops, &l, &err) != 0) return 11;
    if (store_hand_begin(s, TABLE, 7, INT64_C(1796410573000), "{\"partial\":7}") != 0) return 12;
    hand_make(&h, TABLE, 7, &c, net, "{\"hand\":7}");
    if (store_hand_commit(s, &h, NULL) != 0 || store_flush(s) != 0) return 13;
    int before = wal_syncs;
    if (store_hand_begin(s, TABLE, 8, INT64_C(1796410633000), "{\"partial\":8}") != 0 ||
        store_seat_update(s, TABLE, "00000000fe170001", true, NULL) != 0 || store_flush(s) != 0)
        return 14;
    if (wal_syncs != before) return 15; /* they were synced after all: the test proves nothing */
    raise(SIGKILL);
    return 16;
}

/* kill -9 right after commits that were not synced loses none of them: the hand begun is voided
 * at the next open, the sit-out flag is kept, and the completed hand before them is there. */
static void test_killed_after_unsynced(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c;
    struct hands_seen seen = {0};
    int status;
    tmp_new(&t);
    struct store *s = open_ok(t.dir);
    load_ok(s, &l);
    struct store_table tb = table_make(TABLE);
    assert_int_equal(store_table_put(s, &tb), 0);
    seat_players(s, TABLE, &c, 2, 1000);
    assert_int_equal(store_flush(s), 0);
    store_close(s);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(killed_child(t.dir));
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status)) print_error("the child stopped at step %d\n", WEXITSTATUS(status));
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    s = open_ok(t.dir);
    load_ok(s, &l);
    assert_int_equal(l.nvoided, 1);
    assert_int_equal(l.voided_hand[0], 8);
    assert_int_equal(l.tables[0].last_hand_id, 8);
    assert_int_equal(l.nseats, 2);
    assert_false(l.seats[0].sitting_out);
    assert_true(l.seats[1].sitting_out);
    assert_int_equal(l.seats[0].stack, 970);
    assert_int_equal(l.seats[1].stack, 1030);
    hands_ok(s, 0, 10, &seen);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.state[0], "complete");
    assert_string_equal(seen.state[1], "voided");
    assert_string_equal(seen.record[1], "{\"partial\":8}");
    assert_balanced(s, TABLE, 2000);
    store_close(s);
    tmp_free(&t);
}

#endif

/* A push onto a full queue fails at once instead of growing memory. */
static void test_queue_full(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    tmp_new(&t);
    struct store *s = open_ok(t.dir);
    load_ok(s, &l);
    struct store_table tb = table_make(TABLE);
    void *lock = lock_writer(&t);
    int pushed = 0;
    while (pushed <= STORE_QUEUE_MAX && store_table_put(s, &tb) == 0)
        pushed++;
    assert_int_equal(pushed, STORE_QUEUE_MAX);
    /* A take refused for want of room leaves the table's fence as it was. */
    assert_int_equal(store_table_take(s, TABLE, 7, &load_ops, on_take, &l), -1);
    unlock_writer(lock);
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(store_table_put(s, &tb), 0); /* room again */
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(take_now(s, TABLE, 1, &l), 0); /* the put did not carry fence 7 */
    store_close(s);
    tmp_free(&t);
}

static struct {
    struct chips chips; /* the stacks after hand 57 */
    int seen;
} hand57;

static int check_hand57(void *user, const struct store_hand_row *h)
{
    (void)user;
    char *record = record_make(57, 150);
    assert_int_equal(h->hand_id, 57);
    assert_string_equal(h->state, "complete");
    assert_string_equal(h->record_json, record);
    assert_string_equal(h->results_json, "[{\"pot\":0,\"winners\":[0]}]");
    assert_int_equal(h->started_ms, INT64_C(1796410573000)); /* from store_hand_begin */
    assert_int_equal(h->ended_ms, INT64_C(1796410573000) + 57 * 60000 + 42123);
    assert_int_equal(h->shown_mask, 57 & 3);
    assert_int_equal(h->nplayers, 3);
    for (int i = 0; i < 3; i++) {
        char id[STORE_PLAYER_ID_LEN + 1];
        player_id(i, id);
        assert_string_equal(h->players[i].player_id, id);
        assert_int_equal(h->players[i].seat, i);
        assert_int_equal(h->players[i].stack_after, hand57.chips.stack[i]);
        assert_int_equal(h->players[i].net, i == 0 ? 40 : i == 1 ? -40 : 0); /* 57 % 3 won */
    }
    free(record);
    hand57.seen++;
    return 0;
}

/* store_hands is answered through store_dispatch, after the writes queued before it: a hand
 * committed and then asked for, with no flush between, is in the answer; a read still
 * unanswered when the store closes is answered then, once, with "the store closed". */
static void test_hands_queued(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c;
    struct hands_seen seen = {0};
    tmp_new(&t);
    struct store *s = open_ok(t.dir);
    assert_int_equal(store_claim(s, 0, &(struct felt_err){0}), 0);
    load_ok(s, &l);
    struct store_table tb = table_make(TABLE);
    assert_int_equal(store_table_put(s, &tb), 0);
    seat_players(s, TABLE, &c, 2, 300);
    for (int64_t id = 1; id <= 3; id++)
        play_hand(s, TABLE, id, &c, 10, 20);
    struct hands_wait w = {on_hand, &seen, 0, ""};
    assert_int_equal(store_hands(s, TABLE, -1, 10, hands_done, &w), 0);
    assert_int_equal(w.answers, 0); /* nothing is answered before store_dispatch */
    assert_int_equal(store_flush(s), 0);
    store_dispatch(s);
    assert_int_equal(w.answers, 1);
    assert_string_equal(w.why, "");
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.ids[2], 3);
    assert_int_equal(store_hands(s, "", 0, 10, hands_done, &w), -1); /* malformed: not queued */
    assert_int_equal(store_hands(s, TABLE, 0, 10, NULL, &w), -1);

    struct hands_wait late = {on_hand, &seen, 0, ""};
    assert_int_equal(store_hands(s, TABLE, 0, 10, hands_done, &late), 0);
    store_close(s);
    assert_int_equal(late.answers, 1);
    assert_string_equal(late.why, "the store closed");
    tmp_free(&t);
}

/* store_hands: since, limit (clamped to 1..100), oldest first, every field back as written. */
static void test_hands_query(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c;
    struct hands_seen seen = {0};
    tmp_new(&t);
    struct store *s = open_ok(t.dir);
    load_ok(s, &l);
    struct store_table tb = table_make(TABLE), other = table_make("other");
    assert_int_equal(store_table_put(s, &tb), 0);
    assert_int_equal(store_table_put(s, &other), 0);
    seat_players(s, TABLE, &c, 3, 5000);
    for (int64_t id = 1; id <= 120; id++) {
        play_hand(s, TABLE, id, &c, 40, 150);
        if (id == 57) hand57.chips = c;
    }
    struct chips oc;
    seat_players(s, "other", &oc, 2, 100);
    play_hand(s, "other", 500, &oc, 10, 50);
    assert_int_equal(store_hand_begin(s, TABLE, 121, 0, "{}"), 0); /* running: not listed */
    assert_int_equal(store_flush(s), 0);

    hands_ok(s, 0, 10, &seen);
    assert_int_equal(seen.n, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(seen.ids[i], i + 1);
    hands_ok(s, 115, 100, &seen);
    assert_int_equal(seen.n, 5);
    assert_int_equal(seen.ids[0], 116);
    assert_int_equal(seen.ids[4], 120);
    hands_ok(s, 0, 1000, &seen);
    assert_int_equal(seen.n, 100);
    assert_int_equal(seen.ids[99], 100);
    hands_ok(s, 50, 0, &seen);
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.ids[0], 51);
    hands_ok(s, 120, 10, &seen);
    assert_int_equal(seen.n, 0);

    /* Hand 57, field by field, against what was committed. */
    hand57.seen = 0;
    assert_int_equal(hands_now(s, TABLE, 56, 1, check_hand57, NULL, NULL, 0), 0);
    assert_int_equal(hand57.seen, 1);
    store_close(s);
    tmp_free(&t);
}

#ifndef STORE_TEST_PG /* SQLite's own */
/* ":memory:": the same interface with nothing on disk. */
static void test_memory(void **state)
{
    (void)state;
    struct loaded l;
    struct chips c;
    struct hands_seen seen = {0};
    struct store *s = open_ok(":memory:");
    assert_true(store_event_fd(s) >= 0);
    load_ok(s, &l);
    assert_int_equal(l.ntables + l.nseats + l.nvoided, 0);
    struct store_table tb = table_make(TABLE);
    assert_int_equal(store_table_put(s, &tb), 0);
    seat_players(s, TABLE, &c, 2, 300);
    for (int64_t id = 1; id <= 20; id++)
        play_hand(s, TABLE, id, &c, 30, 100);
    assert_int_equal(store_flush(s), 0);
    store_dispatch(s);
    assert_int_equal(done_log.ok, 20);
    assert_balanced(s, TABLE, 600);
    hands_ok(s, 0, 100, &seen);
    assert_int_equal(seen.n, 20);
    store_close(s);
}

#endif

#ifdef STORE_TEST_PG
/* A database from a newer feltd stops the open, and is left as it was. */
static void test_newer(void **state)
{
    (void)state;
    struct tmp t;
    char msg[160];
    tmp_new(&t);
    store_close(open_ok(t.dir));
    harness_pg_exec(t.dir, "UPDATE felt_schema SET version = 99");
    assert_string_equal(open_fails(t.dir, msg, sizeof(msg)), "store_newer");
    assert_non_null(strstr(msg, "newer feltd"));
    assert_int_equal(harness_pg_int(t.dir, "SELECT version FROM felt_schema"), 99);
    tmp_free(&t);
}

#else
/* A database from a newer feltd stops the open, and is left as it was. */
static void test_newer(void **state)
{
    (void)state;
    struct tmp t;
    char msg[160];
    tmp_new(&t);
    store_close(open_ok(t.dir));
    sql(t.db, "PRAGMA user_version = 99");
    assert_string_equal(open_fails(t.dir, msg, sizeof(msg)), "store_newer");
    assert_non_null(strstr(msg, t.db));
    assert_non_null(strstr(msg, "newer feltd"));
    assert_int_equal(sql_int(t.db, "PRAGMA user_version"), 99);
    assert_int_equal(sql_int(t.db, "PRAGMA application_id"), FELT_APP_ID);
    tmp_free(&t);
}

#endif

#ifdef STORE_TEST_PG
/* A database holding a table named like one of ours but no felt_schema is someone else's:
 * refused, and nothing is created in it. One holding only tables of other names is used. */
static void test_not_felt(void **state)
{
    (void)state;
    struct tmp t;
    char msg[200];
    tmp_new(&t);
    harness_pg_exec(t.dir, "CREATE TABLE tables (id text); INSERT INTO tables VALUES ('x')");
    assert_string_equal(open_fails(t.dir, msg, sizeof(msg)), "store_not_felt");
    assert_non_null(strstr(msg, "not felt's"));
    assert_int_equal(harness_pg_int(t.dir, "SELECT count(*) FROM pg_tables"
                                           " WHERE schemaname = 'public'"),
                     1);
    tmp_free(&t);

    tmp_new(&t);
    harness_pg_exec(t.dir, "CREATE TABLE users (name text)");
    store_close(open_ok(t.dir));
    assert_int_equal(harness_pg_int(t.dir, "SELECT count(*) FROM users"), 0);
    tmp_free(&t);
}

#else
/* A database of the first schema (user_version 1: no departures table) written by an older
 * feltd is migrated forward at open, keeping what it held; departures work afterwards. */
static void test_migrate_from_v1(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c;
    char p0[STORE_PLAYER_ID_LEN + 1];
    tmp_new(&t);
    struct store *s = open_ok(t.dir);
    load_ok(s, &l);
    struct store_table t1 = table_make(TABLE);
    assert_int_equal(store_table_put(s, &t1), 0);
    seat_players(s, TABLE, &c, 2, 900);
    assert_int_equal(store_flush(s), 0);
    store_close(s);
    /* A version-1 file: no departures table (migration 2), no tables.fence (migration 3), no
     * tables.write_seq (migration 4). */
    sql(t.db, "DROP TABLE departures; ALTER TABLE tables DROP COLUMN fence; "
              "ALTER TABLE tables DROP COLUMN write_seq; PRAGMA user_version = 1");
    assert_int_equal(sql_int(t.db, "SELECT count(*) FROM sqlite_schema WHERE name = 'departures'"),
                     0);
    assert_int_equal(sql_int(t.db, "SELECT count(*) FROM pragma_table_info('tables') "
                                   "WHERE name = 'fence'"),
                     0);

    s = open_ok(t.dir);
    assert_int_equal(sql_int(t.db, "PRAGMA user_version"), 4);
    assert_int_equal(sql_int(t.db, "SELECT count(*) FROM pragma_table_info('tables') "
                                   "WHERE name IN ('fence', 'write_seq')"),
                     2);
    load_ok(s, &l);
    assert_int_equal(l.nseats, 2);
    assert_int_equal(l.ndeparted, 0);
    player_id(0, p0);
    assert_int_equal(store_seat_leave(s, TABLE, p0, 900, NULL), 0);
    assert_int_equal(store_flush(s), 0);
    store_close(s);
    s = open_ok(t.dir);
    load_ok(s, &l);
    assert_int_equal(l.nseats, 1);
    assert_int_equal(l.ndeparted, 1);
    assert_string_equal(l.departed[0].player_id, p0);
    assert_balanced(s, TABLE, 900);
    store_close(s);
    tmp_free(&t);
}

/* Opens dir expecting store_not_felt and checks that felt.db was not touched. */
static void assert_not_felt_untouched(const struct tmp *t)
{
    char msg[200], wal[200];
    size_t before_len, after_len;
    char *before = file_read(t->db, &before_len);
    assert_string_equal(open_fails(t->dir, msg, sizeof(msg)), "store_not_felt");
    assert_non_null(strstr(msg, t->db));
    char *after = file_read(t->db, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    snprintf(wal, sizeof(wal), "%s-wal", t->db);
    assert_int_not_equal(access(wal, F_OK), 0); /* not switched to WAL either */
    free(before);
    free(after);
}

/* Not a database at all, or another application's: refused, never written to. */
static void test_not_felt(void **state)
{
    (void)state;
    struct tmp t;
    char text[4096];
    tmp_new(&t);
    assert_int_equal(mkdir(t.dir, 0700), 0);
    for (size_t i = 0; i < sizeof(text); i++)
        text[i] = "this is not a database\n"[i % 23];
    file_write(t.db, text, sizeof(text));
    assert_not_felt_untouched(&t);

    assert_int_equal(unlink(t.db), 0);
    sql(t.db, "PRAGMA application_id = 305419896; CREATE TABLE users (name TEXT);"
              "INSERT INTO users VALUES ('x')");
    assert_not_felt_untouched(&t);

    assert_int_equal(unlink(t.db), 0); /* no application id, but tables: not ours either */
    sql(t.db, "CREATE TABLE tables (id TEXT)");
    assert_not_felt_untouched(&t);
    tmp_free(&t);
}

/* A felt database with pages overwritten in the middle: a clear error, never a crash. */
static void test_damaged(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c;
    char msg[160];
    size_t len;
    tmp_new(&t);
    struct store *s = open_ok(t.dir);
    load_ok(s, &l);
    struct store_table tb = table_make(TABLE);
    assert_int_equal(store_table_put(s, &tb), 0);
    seat_players(s, TABLE, &c, 4, 1000);
    for (int64_t id = 1; id <= 400; id++)
        play_hand(s, TABLE, id, &c, 20, 500); /* records fit in a page: no overflow pages */
    assert_int_equal(store_flush(s), 0);
    store_close(s); /* the last connection checkpoints: everything is in felt.db */

    char *db = file_read(t.db, &len);
    size_t page = (size_t)sql_int(t.db, "PRAGMA page_size"), pages = len / page;
    assert_true(pages > 40);
    memset(db + (pages / 2) * page, 0x5a, 4 * page);
    file_write(t.db, db, len);
    free(db);
    const char *code = open_fails(t.dir, msg, sizeof(msg));
    if (strcmp(code, "store_not_felt") != 0) assert_string_equal(code, "store_io");
    assert_non_null(strstr(msg, t.db));
    tmp_free(&t);
}

/* In the child: every read-only case gives store_readonly. Exit status: 0, or which case
 * failed (its error on stderr). */
static int readonly_child(const struct tmp *t)
{
    static const char *const subdirs[] = {"ro", "ro/missing", "rw"};
    if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
        return 10; /* nobody */
    for (size_t i = 0; i < FELT_ARRAY_LEN(subdirs); i++) {
        char dir[160];
        struct store *s = NULL;
        struct felt_err err = {0};
        snprintf(dir, sizeof(dir), "%s/%s", t->base, subdirs[i]);
        int rc = store_open(dir, &s, &err);
        if (rc != -1 || strcmp(err.code, "store_readonly") != 0 || !strstr(err.message, dir)) {
            fprintf(stderr, "readonly case %s: rc %d %s: %s\n", subdirs[i], rc, rc ? err.code : "",
                    rc ? err.message : "");
            store_close(s);
            return 1 + (int)i;
        }
    }
    return 0;
}

/* A folder (or a database file) that is not writable: store_readonly, checked in a child that
 * runs as nobody when the test runs as root (root ignores permissions). */
static void test_readonly(void **state)
{
    (void)state;
    struct tmp t;
    char ro[96], rw[96], rwdb[128];
    int status;
    tmp_new(&t);
    snprintf(ro, sizeof(ro), "%s/ro", t.base);
    snprintf(rw, sizeof(rw), "%s/rw", t.base);
    snprintf(rwdb, sizeof(rwdb), "%s/felt.db", rw);
    store_close(open_ok(ro));
    store_close(open_ok(rw));
    assert_int_equal(chmod(t.base, 0755), 0);
    assert_int_equal(chmod(ro, 0555), 0);   /* a read-only folder with a database in it */
    assert_int_equal(chmod(rw, 0777), 0);   /* a writable folder ... */
    assert_int_equal(chmod(rwdb, 0444), 0); /* ... with a read-only database */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(readonly_child(&t));
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(chmod(ro, 0755), 0);
    tmp_free(&t);
}

/* Disk full, in the child: the store's file size is capped (RLIMIT_FSIZE, SIGXFSZ ignored) and
 * hands are committed one by one until one fails. The id of each hand reported stored goes down
 * the pipe. Exit status 0 when a commit failed with a reason, as it must. */
static int disk_full_child(const char *dir, int out)
{
    struct chips c = {.n = 2, .stack = {1000, 1000}};
    struct rlimit rl = {.rlim_cur = 1 << 20, .rlim_max = 1 << 20};
    struct store *s = NULL;
    struct felt_err err = {0};
    struct loaded l;
    signal(SIGXFSZ, SIG_IGN);
    if (store_open(dir, &s, &err) != 0) return 10;
    memset(&l, 0, sizeof(l));
    if (store_load(s, &load_ops, &l, &err) != 0 || setrlimit(RLIMIT_FSIZE, &rl) != 0) return 11;
    int rc = 12;
    for (int64_t id = 1; id <= 5000 && rc == 12; id++) {
        if (hand_push(s, TABLE, id, &c, 10, 3000) != 0) rc = 15;
        store_flush(s);
        store_dispatch(s);
        if (done_log.bad > 0)
            rc = 16;
        else if (done_log.failed > 0)
            rc = done_log.why[0] ? 0 : 13;
        else if (done_log.nids > 0 && done_log.ids[done_log.nids - 1] == id &&
                 write(out, &id, sizeof(id)) != (ssize_t)sizeof(id))
            rc = 14;
    }
    if (rc == 0) fprintf(stderr, "disk full as expected: %s\n", done_log.why);
    store_close(s);
    return rc;
}

static void test_disk_full(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c;
    struct hands_seen seen = {0};
    int fds[2], status;
    int64_t ok_ids[5000], id;
    size_t nok = 0;
    tmp_new(&t);
    struct store *s = open_ok(t.dir);
    load_ok(s, &l);
    struct store_table tb = table_make(TABLE);
    assert_int_equal(store_table_put(s, &tb), 0);
    seat_players(s, TABLE, &c, 2, 1000);
    assert_int_equal(store_flush(s), 0);
    store_close(s);

    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        _exit(disk_full_child(t.dir, fds[1]));
    }
    close(fds[1]);
    while (read(fds[0], &id, sizeof(id)) == (ssize_t)sizeof(id) && nok < 5000)
        ok_ids[nok++] = id;
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(nok > 0);

    /* Every hand reported stored is there, complete; the stacks are those of the last one. */
    s = open_ok(t.dir);
    load_ok(s, &l);
    for (size_t i = 0; i < nok; i++) {
        hands_ok(s, ok_ids[i] - 1, 1, &seen);
        assert_int_equal(seen.n, 1);
        assert_int_equal(seen.ids[0], ok_ids[i]);
        assert_string_equal(seen.state[0], "complete");
    }
    for (int64_t h = 1; h <= ok_ids[nok - 1]; h++) {
        int64_t net[2] = {0};
        int w = (int)(h % 2);
        net[w] = 10;
        net[1 - w] = -10;
        c.stack[0] += net[0];
        c.stack[1] += net[1];
    }
    assert_int_equal(l.nseats, 2);
    assert_int_equal(l.seats[0].stack, c.stack[0]);
    assert_int_equal(l.seats[1].stack, c.stack[1]);
    assert_balanced(s, TABLE, 2000);
    store_close(s);
    tmp_free(&t);
}

#endif

#ifdef STORE_TEST_PG
/* The server restarted (killed, recovering from its log) between two batches: the next batch and
 * the next read find their sessions gone, reconnect and go on (the writer taking its claim again);
 * nothing is lost or doubled. */
static void test_pg_restart(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c;
    struct hands_seen seen = {0};
    tmp_new(&t);
    struct store *s = open_ok(t.dir);
    assert_int_equal(store_claim(s, 1000, &(struct felt_err){0}), 0);
    load_ok(s, &l);
    struct store_table tb = table_make(TABLE);
    assert_int_equal(store_table_put(s, &tb), 0);
    seat_players(s, TABLE, &c, 3, 1000);
    for (int64_t id = 1; id <= 5; id++)
        play_hand(s, TABLE, id, &c, 60, 200);
    assert_int_equal(store_flush(s), 0);
    hands_ok(s, 0, 100, &seen); /* the reader's session, opened before the restart */

    harness_pg_crash_restart();
    for (int64_t id = 6; id <= 10; id++)
        play_hand(s, TABLE, id, &c, 60, 200);
    assert_int_equal(store_flush(s), 0);
    store_dispatch(s);
    assert_int_equal(done_log.ok, 10);
    hands_ok(s, 0, 100, &seen);
    assert_int_equal(seen.n, 10);
    struct store *other = open_ok(t.dir); /* the claim was taken again on the new session */
    struct felt_err err = {0};
    assert_int_equal(store_claim(other, 0, &err), -1);
    assert_string_equal(err.code, "store_busy");
    store_close(other);
    assert_balanced(s, TABLE, 3000);
    store_close(s);

    s = open_ok(t.dir);
    load_ok(s, &l);
    for (int i = 0; i < 3; i++)
        assert_int_equal(l.seats[i].stack, c.stack[i]);
    store_close(s);
    tmp_free(&t);
}

/* store_claim: one feltd per database. A second store's claim waits, then fails with
 * store_busy while the first holds it; once the first has closed it succeeds. */
static void test_pg_claim(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct felt_err err = {0};
    tmp_new(&t);
    struct store *first = open_ok(t.dir), *second = open_ok(t.dir);
    assert_int_equal(store_claim(first, 1000, &err), 0);
    assert_int_equal(store_claim(first, 0, &err), 0); /* already its own */
    int64_t start = felt_now_ms();
    assert_int_equal(store_claim(second, 300, &err), -1);
    assert_string_equal(err.code, "store_busy");
    assert_non_null(strstr(err.message, "in use by another feltd"));
    assert_true(felt_now_ms() - start >= 300);
    load_ok(first, &l);
    store_close(first);
    assert_int_equal(store_claim(second, 5000, &err), 0);
    load_ok(second, &l);
    store_close(second);
    tmp_free(&t);
}

/* The server down: writes fail with a reason (done, the error hook) instead of waiting, reads
 * fail with store_io, an open fails within its connect_timeout; once the server is back, the
 * same store writes again, and what failed can be written again (a hand whose start failed keeps
 * its id free). */
static void test_pg_down(void **state)
{
    (void)state;
    struct tmp t;
    struct loaded l;
    struct chips c;
    struct felt_err err = {0};
    struct store_ledger lg;
    char msg[200];
    tmp_new(&t);
    struct store *s = open_ok(t.dir);
    load_ok(s, &l);
    store_set_error_hook(s, on_error, &hook_log);
    memset(&hook_log, 0, sizeof(hook_log));
    struct store_table tb = table_make(TABLE);
    assert_int_equal(store_table_put(s, &tb), 0);
    seat_players(s, TABLE, &c, 2, 500);
    play_hand(s, TABLE, 1, &c, 50, 100);
    assert_int_equal(store_flush(s), 0);

    harness_pg_stop_only();
    struct chips before = c;
    play_hand(s, TABLE, 2, &c, 50, 100);
    assert_int_equal(store_flush(s), -1);
    store_dispatch(s);
    assert_int_equal(done_log.failed, 1);
    assert_non_null(strstr(done_log.why, "not stored"));
    assert_int_equal(hook_log.calls, 1); /* the hand's start: no done() of its own */
    c = before;
    assert_int_equal(store_ledger(s, TABLE, &lg, &err), -1);
    assert_string_equal(err.code, "store_io");
    /* A client's read fails with a reason too, to its own caller only (not the error hook). */
    struct hands_seen seen = {0};
    assert_int_equal(hands_now(s, TABLE, 0, 10, on_hand, &seen, msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "PostgreSQL"));
    assert_int_equal(seen.n, 0);
    assert_int_equal(hook_log.calls, 1);
    assert_string_equal(open_fails(t.dir, msg, sizeof(msg)), "store_io");
    assert_non_null(strstr(msg, "cannot connect"));

    harness_pg_start_again();
    play_hand(s, TABLE, 2, &c, 50, 100);
    assert_int_equal(store_flush(s), 0);
    store_dispatch(s);
    assert_int_equal(done_log.ok, 2);
    assert_balanced(s, TABLE, 1000);
    store_close(s);
    s = open_ok(t.dir);
    load_ok(s, &l);
    assert_int_equal(l.nvoided, 0);
    assert_int_equal(l.seats[0].stack, c.stack[0]);
    assert_int_equal(l.seats[1].stack, c.stack[1]);
    store_close(s);
    tmp_free(&t);
}

struct pg_open_race {
    const char *conninfo;
    pthread_barrier_t *go;
    int rc;
    const char *code;
};

static void *pg_open_racer(void *arg)
{
    struct pg_open_race *r = arg;
    struct store *s = NULL;
    struct felt_err err = {0};
    pthread_barrier_wait(r->go);
    r->rc = store_open_pg(r->conninfo, &s, &err);
    r->code = err.code;
    store_close(s);
    return NULL;
}

/* Four nodes opening one new database at the same moment: each opens, the schema is created
 * once (the advisory lock), and felt_schema holds one row. */
static void test_pg_open_race(void **state)
{
    (void)state;
    struct tmp t;
    pthread_t th[4];
    struct pg_open_race race[4];
    pthread_barrier_t go;
    tmp_new(&t);
    pthread_barrier_init(&go, NULL, 4);
    for (int i = 0; i < 4; i++) {
        race[i] = (struct pg_open_race){.conninfo = t.dir, .go = &go, .rc = 99};
        assert_int_equal(pthread_create(&th[i], NULL, pg_open_racer, &race[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        if (race[i].rc != 0) print_error("racer %d: %s\n", i, race[i].code ? race[i].code : "?");
        assert_int_equal(race[i].rc, 0);
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(harness_pg_int(t.dir, "SELECT count(*) FROM felt_schema"), 1);
    tmp_free(&t);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_reopen_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_many_hands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_departures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_fails_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ordered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_voided, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fenced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_take, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grouping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hands_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hands_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_felt, setup, teardown),
#ifdef STORE_TEST_PG
        cmocka_unit_test_setup_teardown(test_pg_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_claim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_open_race, setup, teardown),
    };
    return cmocka_run_group_tests(tests, harness_start_pg, harness_stop_pg);
#else
        cmocka_unit_test_setup_teardown(test_sync_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_after_unsynced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_from_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
#endif
}
