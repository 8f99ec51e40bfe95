/*
 * test_outbox.c: unit tests for a table's outbox (server/outbox.c), on a real SQLite store in a
 * temporary folder and a fake clock, without a table or a socket.
 *
 * The store is made to fail the way a stalled disk does: a second SQLite connection holds the
 * write lock, so the store's writer gives up on its transaction after its busy timeout (5 s of
 * real time) and reports every write in it failed. The outbox must then keep them, send nothing
 * new, send them all again in order once its retry timer fires (the fake clock), and end with
 * books that balance: a re-buy that failed is not overtaken by the hand after it, and nothing is
 * stored twice. A write the store refuses for good is dropped and its number skipped, and a
 * table another owner has fenced keeps nothing. What the store holds is read back through
 * store_ledger and store_load.
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
#include <ftw.h>
#include <sqlite3.h>

#include "fakeclock.h"
#include "outbox.h"
#include "server.h"

#define TABLE "t1"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* What the outbox told its table. */
static struct {
    int stored; /* hands settled */
    int64_t last_hand;
} told;

static void on_hand_settled(void *arg, int64_t hand_id)
{
    (void)arg;
    told.stored++;
    told.last_hand = hand_id;
}

static const struct outbox_ops ops = {.hand_settled = on_hand_settled};

struct loaded {
    int64_t write_seq;
    int nseats;
    int64_t stack[4];
    bool sitting_out[4];
};

static void on_table(void *user, const struct store_table *t)
{
    ((struct loaded *)user)->write_seq = t->write_seq;
}

static void on_seat(void *user, const struct store_seat *s)
{
    struct loaded *l = user;
    assert_true(s->seat >= 0 && s->seat < 4);
    l->stack[s->seat] = s->stack;
    l->sitting_out[s->seat] = s->sitting_out;
    l->nseats++;
}

static struct store *open_store(const char *dir, struct loaded *l)
{
    static const struct store_load_ops load = {.table = on_table, .seat = on_seat};
    struct store *s = NULL;
    struct felt_err err = {0};
    assert_int_equal(store_open(dir, &s, &err), 0);
    memset(l, 0, sizeof(*l));
    assert_int_equal(store_load(s, &load, l, &err), 0);
    return s;
}

static void player(int i, char out[STORE_PLAYER_ID_LEN + 1])
{
    snprintf(out, STORE_PLAYER_ID_LEN + 1, "%016llx", 0xab0000ULL + (unsigned)i);
}

static void join(struct outbox *o, int i, int64_t buy_in)
{
    struct store_seat e = {.seat = i, .stack = buy_in};
    snprintf(e.table_id, sizeof(e.table_id), "%s", TABLE);
    player(i, e.player_id);
    snprintf(e.name, sizeof(e.name), "p%d", i);
    outbox_join(o, &e, buy_in);
}

static void ledger(struct store *s, int64_t buy_ins, int64_t on_table)
{
    struct store_ledger lg;
    struct felt_err err = {0};
    assert_int_equal(store_ledger(s, TABLE, &lg, &err), 0);
    assert_int_equal(lg.buy_ins, buy_ins);
    assert_int_equal(lg.hand_net, 0);
    assert_int_equal(lg.buy_ins - lg.cash_outs + lg.hand_net, lg.on_table);
    assert_int_equal(lg.on_table, on_table);
}

/* ---- the fixture ---------------------------------------------------------------------------- */

/* What every test starts from: a store in a temporary folder holding table TABLE (4 seats, 5/10,
 * a buy-in of 500), its outbox (fence 0) with nothing in it, and hand 1 of p0 and p1, whose nets
 * and stacks each test fills in. The clock is the fake one, at its start. */
struct outbox_fixture {
    char base[sizeof("/tmp/felt-outbox-XXXXXX")]; /* removed with all in it by the teardown */
    char dir[64];                                 /* the store's folder, in base */
    char db[80];                                  /* its SQLite file */
    struct store_table tb;
    struct store_hand h;
    struct loaded l;  /* what the store held when it was last opened */
    struct store *s;  /* open */
    struct outbox *o; /* TABLE's, or NULL */
};

static int fixture_setup(void **state)
{
    fakeclock_start();
    log_set_level(LOG_ERROR);
    memset(&told, 0, sizeof(told));

    struct outbox_fixture *fx = test_calloc(1, sizeof(*fx));
    snprintf(fx->base, sizeof(fx->base), "/tmp/felt-outbox-XXXXXX");
    assert_non_null(mkdtemp(fx->base));
    snprintf(fx->dir, sizeof(fx->dir), "%s/data", fx->base);
    snprintf(fx->db, sizeof(fx->db), "%s/felt.db", fx->dir);
    fx->s = open_store(fx->dir, &fx->l);
    fx->tb = (struct store_table){
        .seats = 4, .small_blind = 5, .big_blind = 10, .buy_in = 500, .action_timeout_ms = 15000};
    snprintf(fx->tb.id, sizeof(fx->tb.id), "%s", TABLE);
    assert_int_equal(store_table_put(fx->s, &fx->tb), 0);
    fx->o = outbox_new(fx->s, TABLE, 0, &ops, NULL);
    fx->h = (struct store_hand){
        .hand_id = 1, .started_ms = 1, .ended_ms = 2, .nplayers = 2, .record_json = "{\"hand\":1}"};
    snprintf(fx->h.table_id, sizeof(fx->h.table_id), "%s", TABLE);
    for (int i = 0; i < 2; i++) {
        player(i, fx->h.players[i].player_id);
        fx->h.players[i].seat = i;
    }
    *state = fx;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct outbox_fixture *fx = *state;
    outbox_free(fx->o);
    store_close(fx->s);
    int removed = nftw(fx->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    test_free(fx);
    assert_int_equal(removed, 0);
    return 0;
}

/* Frees the outbox and closes the store, as a restarted feltd would have, and opens the store
 * again: fx->l holds what it loaded, fx->o is NULL. */
static void reopen(struct outbox_fixture *fx)
{
    outbox_free(fx->o);
    fx->o = NULL;
    store_close(fx->s);
    fx->s = open_store(fx->dir, &fx->l);
}

/* Sets hand 1's result: p0 wins net0 (loses, when negative) from p1, and their stacks after. */
static void hand_result(struct store_hand *h, int64_t net0, int64_t after0, int64_t after1)
{
    h->players[0].net = net0;
    h->players[0].stack_after = after0;
    h->players[1].net = -net0;
    h->players[1].stack_after = after1;
}

/* ---- the tests ------------------------------------------------------------------------------ */

/* A failed re-buy and the hand after it, both failed while the disk is stalled, a join added
 * while the outbox waits to try again: all three stored, in order, once the retry fires. */
static void test_retry_in_order(void **state)
{
    struct outbox_fixture *fx = *state;
    char p0[STORE_PLAYER_ID_LEN + 1];
    join(fx->o, 0, 500);
    join(fx->o, 1, 500);
    assert_int_equal(outbox_len(fx->o), 2);
    assert_int_equal(store_flush(fx->s), 0);
    store_dispatch(fx->s);
    assert_int_equal(outbox_len(fx->o), 0);
    ledger(fx->s, 1000, 1000);

    /* The disk stalls: a re-buy of p0 (600), then a hand p0 loses 60 of to p1. */
    sqlite3 *lock = NULL;
    assert_int_equal(sqlite3_open(fx->db, &lock), SQLITE_OK);
    assert_int_equal(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    player(0, p0);
    outbox_rebuy(fx->o, p0, 100);
    hand_result(&fx->h, -60, 540, 560);
    outbox_hand(fx->o, &fx->h);
    assert_true(outbox_hand_pending(fx->o));
    assert_int_equal(store_flush(fx->s), -1); /* the writer gave up on the lock */
    store_dispatch(fx->s);
    assert_int_equal(outbox_len(fx->o), 2);
    assert_true(outbox_hand_pending(fx->o));
    assert_int_equal(told.stored, 0);

    /* Added while the outbox waits: not sent before those ahead of it. A player toggling sits
     * out in one write. */
    join(fx->o, 2, 300);
    assert_true(outbox_sit(fx->o, p0, true));
    assert_true(outbox_sit(fx->o, p0, false));
    assert_true(outbox_sit(fx->o, p0, true));
    assert_int_equal(store_flush(fx->s), 0); /* nothing was sent */
    assert_int_equal(outbox_len(fx->o), 4);
    assert_int_equal(sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(lock), SQLITE_OK);
    fakeclock_advance(OUTBOX_RETRY_MS - 1);
    assert_int_equal(store_flush(fx->s), 0); /* not yet */
    assert_int_equal(outbox_len(fx->o), 4);
    fakeclock_advance(1);
    assert_int_equal(store_flush(fx->s), 0);
    store_dispatch(fx->s);
    assert_int_equal(outbox_len(fx->o), 0);
    assert_false(outbox_hand_pending(fx->o));
    assert_int_equal(told.stored, 1);
    assert_int_equal(told.last_hand, 1);
    ledger(fx->s, 1400, 1400);

    reopen(fx);
    assert_int_equal(fx->l.write_seq, 6);
    assert_int_equal(fx->l.nseats, 3);
    assert_true(fx->l.sitting_out[0]);
    assert_false(fx->l.sitting_out[1]);
    assert_int_equal(fx->l.stack[0], 540);
    assert_int_equal(fx->l.stack[1], 560);
    assert_int_equal(fx->l.stack[2], 300);
}

/* A table's sequence goes on from where the store left it, and writes past OUTBOX_MAX waiting
 * make the outbox full (the table then refuses joins). */
static void test_sequence_and_bound(void **state)
{
    struct outbox_fixture *fx = *state;
    char p0[STORE_PLAYER_ID_LEN + 1];
    join(fx->o, 0, 500);
    assert_int_equal(store_flush(fx->s), 0);
    store_dispatch(fx->s);

    /* Restarted: the next write is number 2. One numbered 1 again would be taken as stored. */
    reopen(fx);
    assert_int_equal(fx->l.write_seq, 1);
    fx->o = outbox_new(fx->s, TABLE, 0, &ops, NULL);
    outbox_set_seq(fx->o, fx->l.write_seq);
    player(0, p0);
    outbox_rebuy(fx->o, p0, 7);
    assert_int_equal(store_flush(fx->s), 0);
    store_dispatch(fx->s);
    ledger(fx->s, 507, 507);

    /* Stalled: the writes pile up to OUTBOX_MAX, then all go in order once the retry fires. */
    sqlite3 *lock = NULL;
    assert_int_equal(sqlite3_open(fx->db, &lock), SQLITE_OK);
    assert_int_equal(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    outbox_rebuy(fx->o, p0, 1);
    assert_int_equal(store_flush(fx->s), -1);
    store_dispatch(fx->s);
    while (!outbox_full(fx->o))
        outbox_rebuy(fx->o, p0, 1);
    assert_int_equal(outbox_len(fx->o), OUTBOX_MAX);
    assert_int_equal(sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(lock), SQLITE_OK);
    fakeclock_advance(OUTBOX_RETRY_MS);
    assert_int_equal(store_flush(fx->s), 0);
    store_dispatch(fx->s);
    assert_int_equal(outbox_len(fx->o), 0);
    assert_false(outbox_full(fx->o));
    ledger(fx->s, 507 + OUTBOX_MAX, 507 + OUTBOX_MAX);
    reopen(fx);
    assert_int_equal(fx->l.write_seq, 2 + OUTBOX_MAX);
}

/* A write the store refuses for good (a re-buy for a seat that is not there) is dropped and its
 * number skipped: the hand after it is stored. A table another owner has fenced refuses even
 * the skip: the outbox keeps nothing from then on and holds no hand back. */
static void test_refused(void **state)
{
    struct outbox_fixture *fx = *state;
    join(fx->o, 0, 500);
    join(fx->o, 1, 500);
    outbox_rebuy(fx->o, "00000000deadbeef", 100); /* nobody sits there */
    hand_result(&fx->h, 25, 525, 475);
    outbox_hand(fx->o, &fx->h);
    store_flush(fx->s);
    store_dispatch(fx->s); /* the re-buy refused, the hand too early: the skip goes out */
    assert_int_equal(store_flush(fx->s), 0);
    store_dispatch(fx->s);
    assert_int_equal(outbox_len(fx->o), 1); /* the hand waits for its retry */
    fakeclock_advance(OUTBOX_RETRY_MS);
    assert_int_equal(store_flush(fx->s), 0);
    store_dispatch(fx->s);
    assert_int_equal(outbox_len(fx->o), 0);
    assert_int_equal(told.stored, 1);
    ledger(fx->s, 1000, 1000);
    reopen(fx);
    assert_int_equal(fx->l.write_seq, 4);
    assert_int_equal(fx->l.stack[0], 525);

    /* Another owner (fence 9) has written for the table; this one (fence 0) has not noticed. */
    assert_int_equal(store_table_fence(fx->s, TABLE, 9), 0);
    assert_int_equal(store_table_put(fx->s, &fx->tb), 0);
    assert_int_equal(store_flush(fx->s), 0);
    assert_int_equal(store_table_fence(fx->s, TABLE, 0), 0);
    fx->o = outbox_new(fx->s, TABLE, 0, &ops, NULL);
    outbox_set_seq(fx->o, fx->l.write_seq);
    fx->h.hand_id = 2;
    outbox_hand(fx->o, &fx->h);
    assert_true(outbox_hand_pending(fx->o));
    for (int i = 0; i < 2; i++) { /* refused, then its skip refused */
        store_flush(fx->s);
        store_dispatch(fx->s);
    }
    assert_false(outbox_hand_pending(fx->o));
    assert_int_equal(outbox_len(fx->o), 0);
    assert_int_equal(told.stored, 2); /* settled, not stored */
    outbox_rebuy(fx->o, "00000000deadbeef", 100); /* dropped at once */
    assert_int_equal(outbox_len(fx->o), 0);
    assert_int_equal(store_flush(fx->s), 0);
    ledger(fx->s, 1000, 1000);
}

/* Several nodes: a table whose lease is lost lets its outbox go (outbox_abandon). What waits
 * unsent is dropped; a write already with the store is answered into the void, and that answer
 * frees the outbox; nothing tells the table a hand settled. An outbox abandoned with answers due
 * when feltd stops is freed after store_close (outbox_free_orphans). */
static void test_abandon(void **state)
{
    struct outbox_fixture *fx = *state;
    char p0[STORE_PLAYER_ID_LEN + 1];
    player(0, p0);
    join(fx->o, 0, 500);
    join(fx->o, 1, 500);
    outbox_abandon(fx->o); /* both in flight: the outbox lives on for their answers */
    fx->o = NULL;
    assert_int_equal(store_flush(fx->s), 0);
    store_dispatch(fx->s); /* the answers: stored, and the outbox freed by the last */
    ledger(fx->s, 1000, 1000);

    /* A re-buy and a hand that failed on a stalled disk, waiting unsent, are dropped. */
    fx->o = outbox_new(fx->s, TABLE, 2, &ops, NULL);
    sqlite3 *lock = NULL;
    assert_int_equal(sqlite3_open(fx->db, &lock), SQLITE_OK);
    assert_int_equal(sqlite3_exec(lock, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    outbox_rebuy(fx->o, p0, 100);
    hand_result(&fx->h, 25, 525, 475);
    outbox_hand(fx->o, &fx->h);
    assert_int_equal(store_flush(fx->s), -1);
    store_dispatch(fx->s);
    assert_int_equal(outbox_len(fx->o), 2);
    assert_int_equal(sqlite3_exec(lock, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(lock), SQLITE_OK);
    outbox_abandon(fx->o); /* nothing due: freed at once */
    fx->o = NULL;
    fakeclock_advance(OUTBOX_RETRY_MS);
    assert_int_equal(store_flush(fx->s), 0); /* no retry went out */
    store_dispatch(fx->s);
    assert_int_equal(told.stored, 0);
    ledger(fx->s, 1000, 1000);

    /* Abandoned with a join in flight, then feltd stops before its answer is dispatched. */
    fx->o = outbox_new(fx->s, TABLE, 2, &ops, NULL);
    join(fx->o, 2, 300);
    outbox_abandon(fx->o);
    fx->o = NULL;
    store_close(fx->s);
    outbox_free_orphans();
    fx->s = open_store(fx->dir, &fx->l);
    assert_int_equal(fx->l.write_seq, 3); /* store_close wrote it */
    assert_int_equal(fx->l.nseats, 3);
    ledger(fx->s, 1300, 1300);
    assert_int_equal(told.stored, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_retry_in_order, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sequence_and_bound, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_refused, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_abandon, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
