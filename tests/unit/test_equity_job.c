/*
 * test_equity_job.c: unit tests for feltd's equity of tabled hands (server/equity_job.c and its
 * use by table.c and render.c), on a fake clock without a socket.
 *
 * Two tables of two players. At table A both go all-in before the flop: the last call is taken,
 * but its batch is held while the preflop equity is counted, one slice per timer run: meanwhile
 * nothing of it is published, the table reads as before the call (snapshot, to_act), another
 * action is refused, and table B deals its next hand between two slices. Then the run-out comes
 * out with the exact equity (equity_exact on the shown cards) on the showdown and every street,
 * the hand ends, and the wait took as many timer runs as equity_cost says slices it needs.
 * At table B a river showdown (check down) carries the equity of the shown hands on 5 cards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "equity.h"
#include "equity_job.h"
#include "fakeclock.h"
#include "jval.h"
#include "server.h"

static struct table *eq_table(struct server *srv, const char *id)
{
    struct table_config cfg = {.seats = 2,
                               .small_blind = 5,
                               .big_blind = 10,
                               .buy_in = 1000,
                               .action_timeout_ms = 30000,
                               .hand_delay_ms = 1000,
                               .bot_delay_ms = 100,
                               .history = 1024};
    snprintf(cfg.id, sizeof(cfg.id), "%s", id);
    struct table *t = table_new(srv, &cfg);
    table_set_rng_seed(t, 20261205);
    lobby_add(srv, t);
    return t;
}

static struct player *eq_join(struct table *t, const char *name)
{
    struct felt_err err;
    struct player *p = table_join(t, name, 0, false, NULL, NULL, NULL, &err);
    if (!p) fail_msg("join %s: %s", name, err.message);
    return p;
}

static struct player *eq_to_act(struct table *t)
{
    struct engine_options o;
    if (!t->hand_running) return NULL;
    engine_options(&t->eng, &o);
    return o.seat >= 0 ? t->seat[o.seat] : NULL;
}

/* Acts; returns the ack's status ("accepted") or rejection code. */
static const char *eq_act(struct table *t, struct player *p, const char *action)
{
    static char code[64];
    char buf[128];
    struct proto_cmsg m;
    struct proto_smsg a;
    struct felt_err err;
    snprintf(buf, sizeof(buf), "{\"type\":\"action\",\"action\":\"%s\"}", action);
    assert_int_equal(proto_decode_client(buf, strlen(buf), &m, &err), 0);
    struct msg *ack = table_act(t, p, &m);
    assert_int_equal(proto_decode_server(msg_payload(ack), ack->len, &a, &err), 0);
    const char *st = jval_str(a.data, "status");
    snprintf(code, sizeof(code), "%s",
             st && strcmp(st, "accepted") == 0 ? "accepted" : jval_str(a.data, "code"));
    proto_smsg_clear(&a);
    msg_unref(ack);
    return code;
}

/* The public data of the state_update `event` after seq `after` (NULL: none); *at its seq. The
 * caller clears m. */
static struct json_object *eq_update(struct table *t, uint64_t after, const char *event,
                                     struct proto_smsg *m, uint64_t *at)
{
    struct felt_err err;
    for (uint64_t s = after + 1; s <= table_seq(t); s++) {
        struct event *ev = table_event(t, s);
        if (!ev || ev->type != PROTO_S_STATE_UPDATE) continue;
        assert_int_equal(proto_decode_server(msg_payload(ev->pub), ev->pub->len, m, &err), 0);
        const char *e = jval_str(m->data, "event");
        if (e && strcmp(e, event) == 0) {
            if (at) *at = s;
            return m->data;
        }
        proto_smsg_clear(m);
    }
    return NULL;
}

static void eq_cards(struct json_object *a, card_t *out, int *n)
{
    for (size_t i = 0; i < json_object_array_length(a); i++)
        assert_int_equal(
            card_parse(json_object_get_string(json_object_array_get_idx(a, i)), &out[(*n)++], NULL),
            0);
}

/* The equity of data d equals an exact count of the shown hands on board[0..nboard). */
static void eq_check(struct json_object *d, char ids[][40], card_t hands[][2], int n,
                     const card_t *board, int nboard)
{
    struct equity_result r;
    struct felt_err err;
    struct json_object *eq = jval_get(d, "equity");
    if (!eq) fail_msg("no equity in %s", json_object_to_json_string(d));
    assert_int_equal(json_object_object_length(eq), n);
    assert_int_equal(equity_exact((const card_t(*)[2])hands, n, board, nboard, &r, &err), 0);
    for (int i = 0; i < n; i++) {
        struct json_object *e = jval_get(eq, ids[i]);
        assert_non_null(e);
        assert_float_equal(json_object_get_double(jval_get(e, "win")),
                           (double)r.wins[i] / (double)r.boards, 0.00005);
        assert_float_equal(json_object_get_double(jval_get(e, "tie")),
                           (double)r.ties[i] / (double)r.boards, 0.00005);
    }
}

/* The shown hands of a showdown update into ids/hands; returns how many. */
static int eq_shows(struct json_object *sd, char ids[][40], card_t hands[][2])
{
    struct json_object *shows = jval_get(sd, "shows");
    int n = (int)json_object_array_length(shows);
    for (int i = 0; i < n; i++) {
        struct json_object *s = json_object_array_get_idx(shows, (size_t)i);
        int k = 0;
        snprintf(ids[i], sizeof(ids[i]), "%s", jval_str(s, "player_id"));
        eq_cards(jval_get(s, "cards"), hands[i], &k);
    }
    return n;
}

static void test_preflop_all_in_is_sliced(void **state)
{
    (void)state;
    struct server *srv = test_calloc(1, sizeof(*srv));
    srv->limits.hello_secs = 10;
    struct table *a = eq_table(srv, "a"), *b = eq_table(srv, "b");
    eq_join(a, "ann"), eq_join(a, "bob");
    eq_join(b, "cy"), eq_join(b, "dee");
    fakeclock_advance(1000); /* both tables deal */
    assert_true(a->hand_running && b->hand_running);
    int64_t b_hand = b->hand_id;

    struct player *first = eq_to_act(a);
    assert_string_equal(eq_act(a, first, "all_in"), "accepted");
    struct player *second = eq_to_act(a);
    assert_ptr_not_equal(first, second);
    uint64_t before = table_seq(a), snap_seq;
    struct msg *snap_before = table_snapshot(a, NULL, &snap_seq);
    assert_string_equal(eq_act(a, second, "call"), "accepted");

    /* Held: nothing published, the table as before the call, no action taken. */
    assert_true(equity_job_held(a));
    assert_int_equal(table_seq(a), before);
    assert_ptr_equal(eq_to_act(a), second);
    struct msg *snap = table_snapshot(a, NULL, &snap_seq);
    assert_int_equal(snap_seq, before);
    assert_null(strstr(msg_payload(snap), "\"equity\""));
    assert_null(strstr(msg_payload(snap), "\"showdown\""));
    assert_int_equal(snap->len, snap_before->len); /* the same table (its seq and all) */
    msg_unref(snap);
    msg_unref(snap_before);
    assert_string_equal(eq_act(a, second, "fold"), "not_your_turn");
    assert_string_equal(eq_act(a, first, "check"), "not_your_turn");

    /* A counts a few slices per timer run, a millisecond apart; B plays meanwhile: its actions
     * are taken and published at once, and its hand is checked down to the end. */
    int runs = 0;
    uint64_t b_seq = table_seq(b);
    while (equity_job_held(a)) {
        struct player *p = eq_to_act(b);
        if (p) {
            struct engine_options o;
            engine_options(&b->eng, &o);
            assert_string_equal(eq_act(b, p, o.can_check ? "check" : "call"), "accepted");
        }
        fakeclock_advance(EQUITY_JOB_PAUSE_MS);
        runs++;
        assert_true(runs < 100000);
    }
    assert_true(table_seq(b) > b_seq);
    assert_false(b->hand_running && b->hand_id == b_hand); /* B's hand ended during A's wait */
    /* A run does at most EQUITY_JOB_RUN_SLICES slices: the count took several runs. */
    uint64_t slices_needed = equity_cost(2, 0) / (2 * EQUITY_JOB_SLICE_EVALS);
    assert_true((uint64_t)runs >= slices_needed / EQUITY_JOB_RUN_SLICES);
    assert_true(runs > 1);

    /* The run-out, with its equity. */
    struct proto_smsg m;
    uint64_t at = 0;
    struct json_object *sd = eq_update(a, before, "showdown", &m, &at);
    assert_non_null(sd);
    char ids[2][40];
    card_t hands[2][2], board[5];
    int n = eq_shows(sd, ids, hands), nboard = 0;
    assert_int_equal(n, 2);
    eq_check(sd, ids, hands, n, board, 0);
    proto_smsg_clear(&m);
    for (int street = 0; street < 3; street++) {
        struct json_object *st = eq_update(a, at, "street", &m, &at);
        assert_non_null(st);
        eq_cards(jval_get(st, "cards"), board, &nboard);
        eq_check(st, ids, hands, n, board, nboard);
        proto_smsg_clear(&m);
    }
    assert_int_equal(nboard, 5);
    assert_non_null(eq_update(a, at, "hand_end", &m, NULL));
    proto_smsg_clear(&m);
    assert_false(a->hand_running);

    /* B's first hand was checked down to a river showdown: its shown hands have equity too. */
    sd = eq_update(b, 0, "showdown", &m, NULL);
    assert_non_null(sd);
    n = eq_shows(sd, ids, hands);
    if (n == 2) { /* both shown (the second may muck) */
        nboard = 0;
        struct proto_smsg m2;
        uint64_t riv = 0;
        for (int street = 0; street < 3; street++) {
            struct json_object *st = eq_update(b, riv, "street", &m2, &riv);
            eq_cards(jval_get(st, "cards"), board, &nboard);
            assert_null(jval_get(st, "equity")); /* nothing shown yet */
            proto_smsg_clear(&m2);
        }
        eq_check(sd, ids, hands, n, board, 5);
    } else {
        assert_null(jval_get(sd, "equity")); /* one hand shown: no equity */
    }
    proto_smsg_clear(&m);

    lobby_free(srv);
    limit_free(&srv->addrs);
    test_free(srv);
    assert_int_equal(timer_next_due_us(), -1);
}

static int eq_setup(void **state)
{
    (void)state;
    fakeclock_start();
    log_set_level(LOG_ERROR);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_preflop_all_in_is_sliced, eq_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
