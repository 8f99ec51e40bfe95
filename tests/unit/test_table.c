/*
 * test_table.c: unit tests for feltd's tables (server/table.c) and the socket-free layers on top
 * of them (command.c through conn.c and http.c), without a socket.
 *
 * The tests link feltd_core (everything of feltd but net.c and feltd.c), drive the timers from a
 * fake clock (timer_set_clock, timer_run_due) and deal from a seeded generator, so every run is
 * the same. What a table did is read back the way a client would see it: the events of its
 * history (table_event), decoded by the protocol codec; a fake subscriber stands in for a
 * player's WebSocket, and a fake conn_io for the network layer under conn.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "eval.h"
#include "fakeclock.h"
#include "jval.h"
#include "server.h"

/* ---- the fake clock (fakeclock.h) ---------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    fakeclock_start();
    log_set_level(LOG_ERROR);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(timer_next_due_us(), -1); /* every table and connection freed its timers */
    return 0;
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static struct server *srv_new(void)
{
    struct server *srv = test_calloc(1, sizeof(*srv));
    srv->limits.hello_secs = 10;
    return srv;
}

static void srv_free(struct server *srv)
{
    lobby_free(srv);
    limit_free(&srv->addrs);
    test_free(srv);
}

/* A table of 5/10 with a buy-in of 1000, a 30 s action clock, 1 s between hands and the
 * smallest history (1,024 game events); spectators chat when spectator_chat. */
static struct table *table_open(struct server *srv, const char *id, int seats,
                                bool spectator_chat)
{
    struct table_config cfg = {.seats = seats, .small_blind = 5, .big_blind = 10, .buy_in = 1000,
                               .action_timeout_ms = 30000, .hand_delay_ms = 1000,
                               .bot_delay_ms = 100, .spectator_chat = spectator_chat,
                               .history = 1024};
    snprintf(cfg.id, sizeof(cfg.id), "%s", id);
    struct table *t = table_new(srv, &cfg);
    table_set_rng_seed(t, 20261204);
    lobby_add(srv, t);
    return t;
}

static struct player *join(struct table *t, const char *name)
{
    struct felt_err err;
    struct player *p = table_join(t, name, 0, false, NULL, NULL, NULL, &err);
    if (!p)
        fail_msg("join %s: %s", name, err.message);
    return p;
}

/* A subscriber that stands in for a player's WebSocket. */
struct fake_sub {
    struct table_sub sub; /* first: a table_sub pointer is a fake_sub pointer */
    int wakes, drops, resyncs;
    enum table_drop why;
    char reason[64];
};

static void fake_sub_wake(struct table_sub *s)
{
    ((struct fake_sub *)s)->wakes++;
}

static void fake_sub_dropped(struct table_sub *s, enum table_drop why, const char *reason)
{
    struct fake_sub *f = (struct fake_sub *)s;
    f->drops++;
    f->why = why;
    snprintf(f->reason, sizeof(f->reason), "%s", reason);
}

static void fake_sub_resync(struct table_sub *s)
{
    ((struct fake_sub *)s)->resyncs++;
}

static const struct table_sub_ops fake_sub_ops = {
    .wake = fake_sub_wake, .resync = fake_sub_resync, .dropped = fake_sub_dropped};

/* ---- reading what the table published ------------------------------------------------------ */

/* Decodes a server message with the protocol codec (as a client would); fails the test if it
 * does not decode. */
static void decode(const struct msg *m, struct proto_smsg *out)
{
    struct felt_err err;
    memset(out, 0, sizeof(*out));
    if (proto_decode_server(msg_payload(m), m->len, out, &err) != 0)
        fail_msg("undecodable server message (%s): %s", err.message, msg_payload(m));
}

/* The event at seq as the viewer with this uid (0: a spectator) receives it. */
static void event_at(struct table *t, uint64_t seq, uint64_t uid, struct proto_smsg *out)
{
    struct event *ev = table_event(t, seq);
    if (!ev)
        fail_msg("no event %llu in the history", (unsigned long long)seq);
    assert_int_equal(ev->seq, seq);
    decode(event_msg_for(ev, uid), out);
    assert_true(out->has_seq);
    assert_int_equal(out->seq, seq);
}

static bool jis(struct json_object *o, const char *key, const char *want)
{
    const char *s = jval_str(o, key);
    return s && strcmp(s, want) == 0;
}

/* The seq of the first event after `after` of this type whose data has key == val (key NULL:
 * any) and, when player_id is given, names that player; 0 when there is none. */
static uint64_t find_event(struct table *t, uint64_t after, enum proto_stype type,
                           const char *key, const char *val, const char *player_id)
{
    for (uint64_t s = after + 1; s <= table_seq(t); s++) {
        struct proto_smsg m;
        struct event *ev = table_event(t, s);
        if (!ev || ev->type != type)
            continue;
        decode(ev->pub, &m);
        bool hit = (!key || jis(m.data, key, val)) &&
                   (!player_id || jis(m.data, "player_id", player_id));
        proto_smsg_clear(&m);
        if (hit)
            return s;
    }
    return 0;
}

static uint64_t find_note(struct table *t, uint64_t after, const char *kind, const char *pid)
{
    return find_event(t, after, PROTO_S_NOTIFICATION, "kind", kind, pid);
}

/* The first "seat" state_update after `after` with this change for this player (0: none). */
static uint64_t find_seat(struct table *t, uint64_t after, const char *change, const char *pid)
{
    for (uint64_t s = after + 1; s <= table_seq(t); s++) {
        struct proto_smsg m;
        struct event *ev = table_event(t, s);
        if (!ev || ev->type != PROTO_S_STATE_UPDATE)
            continue;
        decode(ev->pub, &m);
        struct json_object *pl = NULL;
        json_object_object_get_ex(m.data, "player", &pl);
        bool hit = jis(m.data, "event", "seat") && jis(m.data, "change", change) &&
                   jis(pl, "player_id", pid);
        proto_smsg_clear(&m);
        if (hit)
            return s;
    }
    return 0;
}

/* How the table shows player pid to a spectator right now (a snapshot's player entry). */
static bool snapshot_connected(struct table *t, const char *pid)
{
    struct proto_smsg m;
    uint64_t snap_seq;
    struct msg *snap = table_snapshot(t, NULL, &snap_seq);
    struct json_object *players = NULL;
    bool connected = false, found = false;
    decode(snap, &m);
    assert_int_equal(m.type, PROTO_S_SNAPSHOT);
    json_object_object_get_ex(m.data, "players", &players);
    for (size_t i = 0; players && i < json_object_array_length(players); i++) {
        struct json_object *p = json_object_array_get_idx(players, i);
        if (jis(p, "player_id", pid)) {
            found = true;
            connected = jval_bool(p, "connected", false);
        }
    }
    proto_smsg_clear(&m);
    msg_unref(snap);
    assert_true(found);
    return connected;
}

/* ---- acting ---------------------------------------------------------------------------------- */

/* An action message as a client sends it, decoded by the codec. */
static struct proto_cmsg action_msg(const char *action, const char *request_id, int64_t hand_id,
                                    int64_t decision)
{
    char buf[256];
    struct proto_cmsg m;
    struct felt_err err;
    int n = snprintf(buf, sizeof(buf), "{\"type\":\"action\",\"action\":\"%s\"", action);
    if (request_id)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, ",\"request_id\":\"%s\"", request_id);
    if (hand_id >= 0)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, ",\"hand_id\":%lld", (long long)hand_id);
    if (decision > 0)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, ",\"decision\":%lld", (long long)decision);
    snprintf(buf + n, sizeof(buf) - (size_t)n, "}");
    if (proto_decode_client(buf, strlen(buf), &m, &err) != 0)
        fail_msg("bad action message %s: %s", buf, err.message);
    return m;
}

/* Acts and returns the ack's status ("accepted", or the rejection code); *ack_out keeps the ack
 * (a reference) when given. decision > 0 pins the action to that decision. */
static const char *act_pinned(struct table *t, struct player *p, const char *action,
                              const char *request_id, int64_t hand_id, int64_t decision,
                              struct msg **ack_out)
{
    static char code[64];
    struct proto_cmsg m = action_msg(action, request_id, hand_id, decision);
    struct proto_smsg a;
    struct msg *ack = table_act(t, p, &m);
    decode(ack, &a);
    assert_int_equal(a.type, PROTO_S_ACK);
    assert_false(a.has_seq);
    snprintf(code, sizeof(code), "%s",
             jis(a.data, "status", "accepted") ? "accepted" : jval_str(a.data, "code"));
    proto_smsg_clear(&a);
    if (ack_out)
        *ack_out = ack;
    else
        msg_unref(ack);
    return code;
}

static const char *act(struct table *t, struct player *p, const char *action,
                       const char *request_id, int64_t hand_id, struct msg **ack_out)
{
    return act_pinned(t, p, action, request_id, hand_id, 0, ack_out);
}

static struct player *to_act(struct table *t)
{
    struct engine_options o;
    if (!t->hand_running)
        return NULL;
    engine_options(&t->eng, &o);
    return o.seat >= 0 ? t->seat[o.seat] : NULL;
}

/* The player to act checks, or calls when they cannot check. */
static void passive(struct table *t)
{
    struct engine_options o;
    struct player *p = to_act(t);
    assert_non_null(p);
    engine_options(&t->eng, &o);
    assert_string_equal(act(t, p, o.can_check ? "check" : "call", NULL, t->hand_id, NULL),
                        "accepted");
}

/* ---- join ---------------------------------------------------------------------------------- */

static void test_join_seats(void **state)
{
    (void)state;
    struct server *srv = srv_new();
    struct table *t = table_open(srv, "two", 2, false);
    struct felt_err err;

    struct player *ann = join(t, "ann");
    assert_int_equal(ann->seat, 0);
    assert_int_equal(ann->stack, 1000);
    assert_int_equal(strlen(ann->id), PLAYER_ID_LEN);
    assert_int_equal(strlen(ann->token), 2 * PLAYER_TOKEN_BYTES);
    /* Published: the seat update (the player, not connected: no socket yet), then the notice. */
    assert_int_equal(table_seq(t), 2);
    struct proto_smsg m;
    event_at(t, 1, 0, &m);
    assert_int_equal(m.type, PROTO_S_STATE_UPDATE);
    assert_true(jis(m.data, "event", "seat") && jis(m.data, "change", "joined"));
    struct json_object *pl;
    assert_true(json_object_object_get_ex(m.data, "player", &pl));
    assert_true(jis(pl, "player_id", ann->id) && jis(pl, "name", "ann"));
    assert_false(jval_bool(pl, "connected", false));
    assert_null(strstr(msg_payload(table_event(t, 1)->pub), ann->token));
    proto_smsg_clear(&m);
    assert_int_equal(find_note(t, 0, "player_joined", ann->id), 2);

    /* Names collide on their fold: case and compatibility forms. */
    assert_null(table_join(t, "ANN", 0, false, NULL, NULL, NULL, &err));
    assert_string_equal(err.code, "name_taken");
    assert_null(table_join(t, "\xef\xbd\x81nn", 0, false, NULL, NULL, NULL, &err)); /* fullwidth a */
    assert_string_equal(err.code, "name_taken");
    assert_null(table_join(t, "bob", 5, false, NULL, NULL, NULL, &err)); /* below the big blind */
    assert_string_equal(err.code, "bad_buy_in");
    assert_null(table_join(t, "bob", 1001, false, NULL, NULL, NULL, &err));
    assert_string_equal(err.code, "bad_buy_in");
    assert_int_equal(table_seq(t), 2); /* refusals publish nothing */

    struct player *bob = table_join(t, "bob", 500, false, NULL, NULL, NULL, &err);
    assert_non_null(bob);
    assert_int_equal(bob->seat, 1);
    assert_int_equal(bob->stack, 500);
    assert_null(table_join(t, "cy", 0, false, NULL, NULL, NULL, &err));
    assert_string_equal(err.code, "table_full");

    assert_ptr_equal(table_player_by_token(t, bob->token), bob);
    assert_ptr_equal(table_player_by_id(t, ann->id, strlen(ann->id)), ann);
    assert_null(table_player_by_token(t, "not a token"));
    srv_free(srv);
}

/* A player who left with chips sits down again with them when their join carries the token
 * they held: same id, same token; the table's buy-in if that is more; once only. A token the
 * table does not know seats a new player. */
static void test_rejoin_with_token(void **state)
{
    (void)state;
    struct server *srv = srv_new();
    struct felt_err err;
    struct table *t = table_open(srv, "two", 2, false);
    char tok[sizeof(((struct player *)0)->token)], id[PLAYER_ID_LEN + 1];
    struct player *ann = join(t, "ann");
    snprintf(tok, sizeof(tok), "%s", ann->token);
    snprintf(id, sizeof(id), "%s", ann->id);
    ann->stack = 1340; /* as if she had won 340 */
    assert_int_equal(table_leave(t, ann, NULL, &err), 0);
    assert_null(table_player_by_token(t, tok));

    struct player *other = table_join(t, "ann", 0, false, "not her token", NULL, NULL, &err);
    assert_non_null(other);
    assert_string_not_equal(other->id, id);
    assert_int_equal(other->stack, 1000);
    assert_int_equal(table_leave(t, other, NULL, &err), 0);

    struct player *back = table_join(t, "ann", 0, false, tok, NULL, NULL, &err);
    assert_non_null(back);
    assert_string_equal(back->id, id);
    assert_string_equal(back->token, tok);
    assert_int_equal(back->stack, 1340);
    assert_ptr_equal(table_player_by_token(t, tok), back);

    back->stack = 300; /* leaves short: comes back with the table's buy-in */
    assert_int_equal(table_leave(t, back, NULL, &err), 0);
    back = table_join(t, "ann", 0, false, tok, NULL, NULL, &err);
    assert_non_null(back);
    assert_string_equal(back->id, id);
    assert_int_equal(back->stack, 1000);
    struct player *again = table_join(t, "bob", 0, false, tok, NULL, NULL, &err);
    assert_non_null(again); /* the departure was used: a new player */
    assert_string_not_equal(again->id, id);
    assert_string_not_equal(again->token, tok);
    srv_free(srv);
}

static void test_join_limits(void **state)
{
    (void)state;
    struct server *srv = srv_new();
    struct felt_err err;
    srv->limits.joins_per_minute = 2;
    struct table *t = table_open(srv, "six", 6, false);
    struct limit_addr *a = limit_addr_get(&srv->addrs, "192.0.2.1");
    struct limit_addr *b = limit_addr_get(&srv->addrs, "192.0.2.2");

    assert_non_null(table_join(t, "j1", 0, false, NULL, a, NULL, &err));
    assert_non_null(table_join(t, "j2", 0, false, NULL, a, NULL, &err));
    assert_null(table_join(t, "j3", 0, false, NULL, a, NULL, &err));
    assert_string_equal(err.code, "rate_limited");
    assert_non_null(table_join(t, "b1", 0, false, NULL, b, NULL, &err)); /* another address */
    fakeclock_advance(30000); /* 2 a minute: one token back */
    assert_non_null(table_join(t, "j3", 0, false, NULL, a, NULL, &err));
    assert_null(table_join(t, "j4", 0, false, NULL, a, NULL, &err));
    assert_string_equal(err.code, "rate_limited");

    /* Seats per address, judged after the join token is spent. */
    srv->limits.seats_per_address = 3;
    fakeclock_advance(30000);
    assert_null(table_join(t, "j4", 0, false, NULL, a, NULL, &err));
    assert_string_equal(err.code, "too_many_seats");
    assert_non_null(table_join(t, "b2", 0, false, NULL, b, NULL, &err));
    /* Bots and joins without an address are not limited. */
    assert_non_null(table_join(t, "bot", 0, true, NULL, NULL, NULL, &err));
    srv_free(srv);
}

/* ---- act ----------------------------------------------------------------------------------- */

static void test_act(void **state)
{
    (void)state;
    struct server *srv = srv_new();
    struct table *t = table_open(srv, "hu", 2, false);
    struct player *ann = join(t, "ann"), *bob = join(t, "bob");
    struct msg *first, *again;

    assert_false(t->hand_running);
    assert_string_equal(act(t, ann, "check", NULL, -1, NULL), "no_hand");
    fakeclock_advance(999);
    assert_false(t->hand_running);
    fakeclock_advance(1); /* the pause between hands */
    assert_true(t->hand_running);
    assert_int_equal(t->hand_id, 1);
    uint64_t start = find_event(t, 0, PROTO_S_STATE_UPDATE, "event", "hand_start", NULL);
    assert_true(start > 0);

    /* Hole cards: each player's own in their private rendering, nobody's in the public one. */
    struct proto_smsg pub, mine;
    event_at(t, start, 0, &pub);
    event_at(t, start, ann->uid, &mine);
    assert_null(strstr(msg_payload(table_event(t, start)->pub), "\"cards\""));
    assert_non_null(strstr(msg_payload(event_msg_for(table_event(t, start), ann->uid)),
                           "\"cards\""));
    proto_smsg_clear(&pub);
    proto_smsg_clear(&mine);

    struct player *first_to_act = to_act(t), *other = first_to_act == ann ? bob : ann;
    assert_non_null(first_to_act);
    /* The turn is announced: "turn" for everyone, "your_turn" privately. */
    uint64_t turn = find_note(t, start, "turn", first_to_act->id);
    assert_true(turn > 0);
    assert_non_null(strstr(msg_payload(event_msg_for(table_event(t, turn), first_to_act->uid)),
                           "\"your_turn\""));

    uint64_t before = table_seq(t);
    assert_string_equal(act(t, other, "check", "x1", 1, NULL), "not_your_turn");
    assert_int_equal(table_seq(t), before);
    assert_string_equal(act(t, first_to_act, "call", "r1", 1, &first), "accepted");
    assert_true(table_seq(t) > before);
    assert_true(find_event(t, before, PROTO_S_STATE_UPDATE, "event", "action", first_to_act->id));

    /* The same request again: the same ack, nothing applied. */
    before = table_seq(t);
    assert_string_equal(act(t, first_to_act, "call", "r1", 1, &again), "accepted");
    assert_ptr_equal(again, first);
    assert_int_equal(table_seq(t), before);
    msg_unref(again);

    /* An action for another hand is never applied to this one. */
    assert_ptr_equal(to_act(t), other);
    assert_string_equal(act(t, other, "check", "s1", 7, NULL), "stale_hand");
    assert_int_equal(table_seq(t), before);
    assert_ptr_equal(to_act(t), other);

    /* The hand ends; the next one starts after the pause. */
    assert_string_equal(act(t, other, "fold", NULL, 1, NULL), "accepted");
    assert_false(t->hand_running);
    /* In the pause before hand 2: an action for hand 1 is told that hand is over; one naming
     * no hand, that none is in progress. */
    assert_string_equal(act(t, other, "check", "late1", 1, NULL), "stale_hand");
    assert_string_equal(act(t, other, "check", "late2", -1, NULL), "no_hand");
    assert_true(find_event(t, before, PROTO_S_STATE_UPDATE, "event", "hand_end", NULL));
    assert_true(find_note(t, before, "hand_won", NULL));
    assert_int_equal(ann->stack + bob->stack, 2000);
    fakeclock_advance(1000);
    assert_int_equal(t->hand_id, 2);

    /* r1 reused for hand 2 is refused, while a resend for hand 1 still gets the first ack. */
    before = table_seq(t);
    assert_string_equal(act(t, first_to_act, "call", "r1", 2, NULL), "stale_request");
    assert_string_equal(act(t, first_to_act, "call", "r1", 1, &again), "accepted");
    assert_ptr_equal(again, first);
    assert_int_equal(table_seq(t), before);
    msg_unref(again);
    msg_unref(first);
    assert_int_equal(srv->metrics.actions, 2);
    srv_free(srv);
}

/* A node handing a table over (cluster.c): held, the hand in play goes on to its end and no
 * new one is dealt, however long; the table is then settled (no hand, nothing unstored; the
 * tests' store is in memory, so nothing waits); let go, it deals after the usual pause. */
static void test_hold_deal(void **state)
{
    (void)state;
    struct server *srv = srv_new();
    struct table *t = table_open(srv, "hu", 2, false);
    join(t, "ann");
    assert_int_equal(table_people(t), 1);
    join(t, "bob");
    assert_int_equal(table_people(t), 2);
    fakeclock_advance(1000);
    assert_true(t->hand_running);
    assert_false(table_settled(t));
    table_hold_deal(t, true);
    struct player *p = to_act(t);
    assert_non_null(p);
    assert_string_equal(act(t, p, "fold", NULL, 1, NULL), "accepted");
    assert_false(t->hand_running);
    assert_true(table_settled(t));
    fakeclock_advance(60000);
    assert_false(t->hand_running);
    assert_int_equal(t->hand_id, 1);
    table_hold_deal(t, false);
    fakeclock_advance(999);
    assert_false(t->hand_running);
    fakeclock_advance(1);
    assert_true(t->hand_running);
    assert_int_equal(t->hand_id, 2);
    srv_free(srv);
}

/* ---- the action clock ---------------------------------------------------------------------- */

static void test_clock_expiry(void **state)
{
    (void)state;
    struct server *srv = srv_new();
    struct table *t = table_open(srv, "clock", 2, false);
    struct player *ann = join(t, "ann"), *bob = join(t, "bob");
    fakeclock_advance(1000);
    assert_true(t->hand_running);

    int timeouts = 0;
    for (int guard = 0; timeouts < 3 && guard < 100; guard++) {
        if (!t->hand_running) {
            fakeclock_advance(1000);
            continue;
        }
        if (to_act(t) == bob) {
            passive(t);
            continue;
        }
        assert_ptr_equal(to_act(t), ann);
        uint64_t mark = table_seq(t);
        int64_t deadline = t->deadline_ms;
        assert_int_equal(deadline, timer_wall_ms() + 30000);
        fakeclock_advance(19999);
        assert_int_equal(find_note(t, mark, "timer_warning", ann->id), 0);
        fakeclock_advance(1); /* 10 s before the deadline */
        uint64_t warn = find_note(t, mark, "timer_warning", ann->id);
        assert_true(warn > 0);
        struct proto_smsg m;
        event_at(t, warn, 0, &m);
        assert_int_equal(jval_int(m.data, "seconds_left", -1), 10);
        assert_int_equal(jval_int(m.data, "deadline", -1), deadline);
        proto_smsg_clear(&m);
        assert_int_equal(find_note(t, mark, "timeout", ann->id), 0);
        fakeclock_advance(10000);
        uint64_t to = find_note(t, mark, "timeout", ann->id);
        assert_true(to > 0);
        timeouts++;
        assert_int_equal(ann->timeouts, timeouts);
        /* ... and the clock acted for her: checked, or folded facing a bet. */
        uint64_t acted = find_event(t, to, PROTO_S_STATE_UPDATE, "event", "action", ann->id);
        assert_true(acted > 0);
        event_at(t, acted, 0, &m);
        assert_true(jis(m.data, "action", "check") || jis(m.data, "action", "fold"));
        proto_smsg_clear(&m);
        if (timeouts < 3) {
            assert_false(ann->sitting_out);
            assert_int_equal(find_note(t, mark, "player_sat_out", ann->id), 0);
        }
    }
    assert_int_equal(timeouts, 3);
    /* After three in a row she is sat out. */
    assert_true(ann->sitting_out);
    uint64_t sat = find_note(t, 0, "player_sat_out", ann->id);
    assert_true(sat > 0);
    assert_true(find_seat(t, 0, "sat_out", ann->id) > 0);
    srv_free(srv);
}

/* The to_act.decision of the newest state_update after `after` (-1: to_act null, 0: none). */
static int64_t last_decision(struct table *t, uint64_t after)
{
    int64_t d = 0;
    for (uint64_t q = after + 1; q <= table_seq(t); q++) {
        struct proto_smsg m;
        event_at(t, q, 0, &m);
        struct json_object *ta = NULL;
        if (m.type == PROTO_S_STATE_UPDATE && json_object_object_get_ex(m.data, "to_act", &ta))
            d = ta ? jval_int(ta, "decision", 0) : -1;
        proto_smsg_clear(&m);
    }
    return d;
}

/* The to_act.decision of a snapshot as `viewer` gets it (-1: to_act null). */
static int64_t snapshot_decision(struct table *t, struct player *viewer)
{
    struct proto_smsg m;
    uint64_t snap_seq;
    struct msg *snap = table_snapshot(t, viewer, &snap_seq);
    struct json_object *ta = NULL;
    decode(snap, &m);
    json_object_object_get_ex(m.data, "to_act", &ta);
    int64_t d = ta ? jval_int(ta, "decision", 0) : -1;
    proto_smsg_clear(&m);
    msg_unref(snap);
    return d;
}

/* Every decision of a hand has its number (1, 2, ... whoever acts, the clock included), and an
 * action pinned to a decision the table has left is refused and changes nothing: the late check
 * of a player whose clock ran out never lands on their next decision. */
static void test_decision_pin(void **state)
{
    (void)state;
    struct server *srv = srv_new();
    struct table *t = table_open(srv, "pin", 2, false);
    struct player *ann = join(t, "ann"), *bob = join(t, "bob");
    uint64_t start = table_seq(t);
    fakeclock_advance(1000);
    assert_true(t->hand_running);
    struct player *first = to_act(t), *second = first == ann ? bob : ann;
    assert_int_equal(last_decision(t, start), 1);
    assert_int_equal(snapshot_decision(t, first), 1);
    assert_int_equal(snapshot_decision(t, NULL), 1);

    /* Pinned to a decision not open yet, or to another hand: refused, nothing applied. */
    uint64_t before = table_seq(t);
    assert_string_equal(act_pinned(t, first, "call", "p1", t->hand_id, 2, NULL), "stale_decision");
    assert_string_equal(act_pinned(t, first, "call", "p2", t->hand_id + 1, 1, NULL), "stale_hand");
    assert_int_equal(table_seq(t), before);
    assert_ptr_equal(to_act(t), first);
    /* The open one: applied. The resend of the same request gets the same answer. */
    assert_string_equal(act_pinned(t, first, "call", "p3", t->hand_id, 1, NULL), "accepted");
    assert_int_equal(last_decision(t, before), 2);
    assert_string_equal(act_pinned(t, first, "call", "p3", t->hand_id, 1, NULL), "accepted");
    assert_int_equal(last_decision(t, before), 2);
    assert_ptr_equal(to_act(t), second);
    /* The other player's to_act (decision 2) checks: the flop, decision 3. */
    before = table_seq(t);
    assert_string_equal(act_pinned(t, second, "check", "p4", t->hand_id, 2, NULL), "accepted");
    assert_int_equal(last_decision(t, before), 3);
    assert_int_equal(t->eng.street, ENGINE_FLOP);

    /* x types a check for decision 3, but their clock runs out first: the server checks for
     * them (decision 4 goes to y), y checks too: the turn, decision 5, x to act again where a
     * check is legal. The late check for decision 3 must not become x's turn check. */
    struct player *x = to_act(t), *y = x == ann ? bob : ann;
    before = table_seq(t);
    fakeclock_advance(30000);
    assert_true(find_note(t, before, "timeout", x->id) > 0);
    assert_ptr_equal(to_act(t), y);
    assert_int_equal(last_decision(t, before), 4);
    assert_string_equal(act_pinned(t, y, "check", "p5", t->hand_id, 4, NULL), "accepted");
    assert_int_equal(t->eng.street, ENGINE_TURN);
    assert_ptr_equal(to_act(t), x);
    assert_int_equal(last_decision(t, before), 5);
    before = table_seq(t);
    assert_string_equal(act_pinned(t, x, "check", "late", t->hand_id, 3, NULL), "stale_decision");
    assert_int_equal(table_seq(t), before);
    assert_ptr_equal(to_act(t), x);
    assert_int_equal(t->eng.street, ENGINE_TURN);
    assert_int_equal(snapshot_decision(t, y), 5);
    /* Unpinned (an old client), the same check is applied to whatever is open. */
    assert_string_equal(act_pinned(t, x, "check", "unpinned", t->hand_id, 0, NULL), "accepted");
    assert_int_equal(last_decision(t, before), 6);
    srv_free(srv);
}

/* ---- leaving ------------------------------------------------------------------------------- */

static void test_leave_mid_hand(void **state)
{
    (void)state;
    struct server *srv = srv_new();
    struct table *t = table_open(srv, "three", 3, false);
    struct felt_err err;
    join(t, "ann");
    join(t, "bob");
    join(t, "cy");
    fakeclock_advance(1000);
    assert_true(t->hand_running);

    /* Someone in the hand who is not to act leaves; their socket is a fake subscriber. */
    struct player *l = NULL;
    for (int s = 0; s < 3 && !l; s++)
        if (t->seat[s] != to_act(t))
            l = t->seat[s];
    char id[PLAYER_ID_LEN + 1], token[sizeof(l->token)];
    snprintf(id, sizeof(id), "%s", l->id);
    snprintf(token, sizeof(token), "%s", l->token);
    int seat = l->seat;
    struct fake_sub fs = {.sub.ops = &fake_sub_ops};
    uint64_t mark = table_seq(t);
    table_attach(t, l, &fs.sub);
    assert_true(find_note(t, mark, "player_connected", id) > 0);
    assert_true(snapshot_connected(t, id));

    mark = table_seq(t);
    assert_int_equal(table_leave(t, l, NULL, &err), 0);
    assert_true(find_seat(t, mark, "leaving", id) > 0);
    /* Still seated while the hand goes on. */
    assert_ptr_equal(table_player_by_id(t, id, strlen(id)), l);
    assert_int_equal(fs.drops, 0);

    int64_t hand = t->hand_id;
    for (int guard = 0; t->hand_running && guard < 100; guard++) {
        if (to_act(t) == l)
            fakeclock_advance(0); /* the table folds for a leaving player at once */
        else
            passive(t);
    }
    assert_false(t->hand_running);
    assert_int_equal(t->hand_id, hand);
    uint64_t fold = find_event(t, mark, PROTO_S_STATE_UPDATE, "event", "action", id);
    assert_true(fold > 0);
    struct proto_smsg m;
    event_at(t, fold, 0, &m);
    assert_true(jis(m.data, "action", "fold"));
    assert_int_equal(jval_int(m.data, "seat", -1), seat);
    proto_smsg_clear(&m);

    /* Cashed out at the end of the hand: told why, with the chips left with. */
    uint64_t left = find_note(t, mark, "player_left", id);
    assert_true(left > fold);
    event_at(t, left, 0, &m);
    assert_true(jis(m.data, "reason", "left"));
    assert_true(jval_int(m.data, "stack", -1) >= 0);
    proto_smsg_clear(&m);
    assert_true(find_seat(t, mark, "left", id) > 0);
    assert_int_equal(fs.drops, 1);
    assert_int_equal(fs.why, TABLE_DROP_LEFT);
    assert_string_equal(fs.reason, "left the table");
    assert_null(table_player_by_id(t, id, strlen(id)));
    assert_null(table_player_by_token(t, token));
    assert_null(t->seat[seat]);
    assert_int_equal(t->nplayers, 2);
    srv_free(srv);
}

/* ---- presence ------------------------------------------------------------------------------ */

static void test_presence(void **state)
{
    (void)state;
    struct server *srv = srv_new();
    struct table *t = table_open(srv, "away", 2, false);
    srv->limits.idle_seat_secs = 60;
    struct player *ann = join(t, "ann");
    char id[PLAYER_ID_LEN + 1];
    snprintf(id, sizeof(id), "%s", ann->id);
    assert_false(snapshot_connected(t, id));

    /* Polling: present from the first request, gone TABLE_POLL_PRESENCE_MS after the last. */
    uint64_t mark = table_seq(t);
    table_seen(t, ann);
    assert_int_equal(find_note(t, mark, "player_connected", id), mark + 1);
    assert_true(snapshot_connected(t, id));
    fakeclock_advance(2000);
    table_seen(t, ann);
    assert_int_equal(table_seq(t), mark + 1); /* no second notification */
    fakeclock_advance(TABLE_POLL_PRESENCE_MS - 1);
    table_sweep(t, timer_wall_ms());
    assert_int_equal(table_seq(t), mark + 1);
    fakeclock_advance(1);
    table_sweep(t, timer_wall_ms());
    assert_int_equal(find_note(t, mark, "player_disconnected", id), mark + 2);
    assert_false(snapshot_connected(t, id));

    /* A poller who opens a WebSocket stays connected (one notification in all); the socket
     * going away is a disconnect. */
    struct fake_sub ws1 = {.sub.ops = &fake_sub_ops}, ws2 = {.sub.ops = &fake_sub_ops};
    mark = table_seq(t);
    table_seen(t, ann);
    table_attach(t, ann, &ws1.sub);
    assert_int_equal(table_seq(t), mark + 1);
    assert_true(snapshot_connected(t, id));
    /* A newer socket replaces it, without a presence change. */
    table_attach(t, ann, &ws2.sub);
    assert_int_equal(ws1.drops, 1);
    assert_int_equal(ws1.why, TABLE_DROP_REPLACED);
    assert_int_equal(table_seq(t), mark + 1);
    table_detach(t, ann, &ws1.sub); /* the replaced socket closing changes nothing */
    assert_int_equal(table_seq(t), mark + 1);
    fakeclock_advance(TABLE_POLL_PRESENCE_MS * 2);
    table_sweep(t, timer_wall_ms()); /* the socket, not polls, keeps her: no timeout */
    assert_true(snapshot_connected(t, id));
    table_detach(t, ann, &ws2.sub);
    assert_int_equal(find_note(t, mark, "player_disconnected", id), mark + 2);
    assert_false(snapshot_connected(t, id));

    /* Away (no socket, no request) for idle_seat_secs: stood up. */
    mark = table_seq(t);
    fakeclock_advance(59000);
    table_sweep(t, timer_wall_ms());
    assert_int_equal(table_seq(t), mark);
    fakeclock_advance(1000);
    table_sweep(t, timer_wall_ms());
    uint64_t left = find_note(t, mark, "player_left", id);
    assert_true(left > 0);
    struct proto_smsg m;
    event_at(t, left, 0, &m);
    assert_true(jis(m.data, "reason", "idle"));
    proto_smsg_clear(&m);
    assert_int_equal(t->nplayers, 0);
    srv_free(srv);
}

/* ---- history and resume -------------------------------------------------------------------- */

static void test_history(void **state)
{
    (void)state;
    struct server *srv = srv_new();
    /* Spectators' chat has no sender limit (no socket's window here): a flood. */
    struct table *t = table_open(srv, "hist", 2, true);
    struct felt_err err;
    struct player *ann = join(t, "ann");
    uint64_t first_chat = table_seq(t) + 1;
    for (int i = 0; i < HISTORY_CHAT_CAP + 44; i++) {
        char text[32];
        snprintf(text, sizeof(text), "m%d", i);
        assert_int_equal(table_chat(t, NULL, NULL, NULL, text, &err), 0);
    }
    uint64_t last = table_seq(t);
    assert_int_equal(last, first_chat + HISTORY_CHAT_CAP + 43);

    /* Every seq is there, in order, game events untouched by the flood... */
    for (uint64_t s = 1; s <= last; s++)
        assert_int_equal(table_event(t, s)->seq, s);
    struct proto_smsg m;
    event_at(t, 1, 0, &m);
    assert_true(jis(m.data, "event", "seat"));
    proto_smsg_clear(&m);
    /* ... the oldest chat replaced by expired placeholders, the newest kept. */
    event_at(t, first_chat, 0, &m);
    assert_int_equal(m.type, PROTO_S_CHAT);
    assert_true(jval_bool(m.data, "expired", false));
    assert_true(jis(m.data, "text", ""));
    proto_smsg_clear(&m);
    event_at(t, last - HISTORY_CHAT_CAP, 0, &m);
    assert_true(jval_bool(m.data, "expired", false));
    proto_smsg_clear(&m);
    event_at(t, last - HISTORY_CHAT_CAP + 1, 0, &m);
    assert_false(jval_bool(m.data, "expired", false));
    assert_true(jis(m.data, "text", "m44"));
    proto_smsg_clear(&m);
    event_at(t, last, 0, &m);
    assert_true(jis(m.data, "text", "m299"));
    assert_true(jis(m.data, "name", "spectator"));
    proto_smsg_clear(&m);

    /* Past the history's cap of game events the oldest are gone: a reader from before them
     * needs a snapshot (table_event says NULL), even for a seq that was chat. */
    while (table_seq(t) - last < 1100) {
        assert_int_equal(table_sit_out(t, ann, &err), 0);
        assert_int_equal(table_sit_in(t, ann, &err), 0);
    }
    uint64_t now = table_seq(t);
    assert_null(table_event(t, 1));
    assert_null(table_event(t, first_chat));
    assert_null(table_event(t, now - 1024));
    assert_non_null(table_event(t, now - 1023));
    assert_non_null(table_event(t, now));
    assert_null(table_event(t, now + 1));
    srv_free(srv);
}

/* A network layer that only counts what conn.c asks of it. */
static int fake_io_wakes;
static void fake_io_wake(void *link)
{
    (void)link;
    fake_io_wakes++;
}
static void fake_io_rx_pause(void *link, bool pause)
{
    (void)link;
    (void)pause;
}
static const struct conn_io fake_io = {fake_io_wake, fake_io_rx_pause};

struct pulled {
    int n, snapshots;
    enum proto_stype type[512];
    uint64_t seq[512];
    char code[64]; /* of the last error */
};

/* Writes out everything the connection has, as the network layer would. */
static void pull(struct conn *c, struct pulled *out)
{
    const struct msg *m;
    memset(out, 0, sizeof(*out));
    while ((m = conn_next(c)) != NULL) {
        struct proto_smsg sm;
        decode(m, &sm);
        assert_true(out->n < 512);
        out->type[out->n] = sm.type;
        out->seq[out->n] = sm.has_seq ? sm.seq : 0;
        out->snapshots += sm.type == PROTO_S_SNAPSHOT;
        if (sm.type == PROTO_S_ERROR)
            snprintf(out->code, sizeof(out->code), "%s", jval_str(sm.data, "code"));
        out->n++;
        proto_smsg_clear(&sm);
        conn_sent(c);
    }
}

static void say(struct conn *c, const char *json)
{
    conn_on_message(c, json, strlen(json));
}

static void hello(struct conn *c, const char *token, bool resume, uint64_t last_seq)
{
    char buf[256];
    if (resume)
        snprintf(buf, sizeof(buf), "{\"type\":\"hello\",\"token\":\"%s\",\"last_seq\":%llu}",
                 token, (unsigned long long)last_seq);
    else
        snprintf(buf, sizeof(buf), "{\"type\":\"hello\",\"token\":\"%s\"}", token);
    say(c, buf);
}

static void test_resume(void **state)
{
    (void)state;
    struct server *srv = srv_new();
    struct table *t = table_open(srv, "res", 2, true);
    struct felt_err err;
    struct player *ann = join(t, "ann");
    struct pulled got;

    /* A fresh hello: a snapshot, then the stream. */
    struct conn *c1 = conn_new(srv, &fake_io, NULL, CONN_PENDING, t, ann->id, NULL);
    say(c1, "{\"type\":\"chat\",\"text\":\"too early\"}");
    pull(c1, &got);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.type[0], PROTO_S_ERROR);
    assert_string_equal(got.code, "hello_required");
    hello(c1, ann->token, false, 0);
    assert_int_equal(c1->role, CONN_PLAYER);
    assert_ptr_equal(ann->sub, &c1->sub);
    pull(c1, &got);
    assert_int_equal(got.snapshots, 1);
    assert_int_equal(got.type[0], PROTO_S_SNAPSHOT);
    assert_int_equal(got.seq[0], table_seq(t)); /* it includes the player_connected */
    uint64_t last = table_seq(t);

    /* The socket goes; the table goes on; a hello with last_seq replays exactly the gap. */
    conn_free(c1);
    assert_true(find_note(t, last, "player_disconnected", ann->id) > 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(table_chat(t, NULL, NULL, NULL, "meanwhile", &err), 0);
    struct conn *c2 = conn_new(srv, &fake_io, NULL, CONN_PENDING, t, ann->id, NULL);
    hello(c2, ann->token, true, last);
    pull(c2, &got);
    assert_int_equal(got.snapshots, 0);
    assert_int_equal(got.n, (int)(table_seq(t) - last)); /* disconnected, 3 chats, connected */
    assert_int_equal(got.n, 5);
    for (int i = 0; i < got.n; i++)
        assert_int_equal(got.seq[i], last + 1 + (uint64_t)i);
    assert_int_equal(srv->metrics.resumes, 1);

    /* A wrong token is closed with 4401; a newer socket replaces this one (4409), and the seat
     * never looks disconnected. */
    struct conn *bad = conn_new(srv, &fake_io, NULL, CONN_PENDING, t, ann->id, NULL);
    hello(bad, "0000", false, 0);
    assert_int_equal(bad->close_code, 4401);
    assert_int_equal(srv->metrics.hellos_rejected, 1);
    uint64_t before = table_seq(t);
    struct conn *c3 = conn_new(srv, &fake_io, NULL, CONN_PENDING, t, ann->id, NULL);
    hello(c3, ann->token, true, before + 10); /* from the future: a snapshot */
    assert_int_equal(c2->close_code, 4409);
    assert_null(c2->player);
    assert_int_equal(table_seq(t), before);
    pull(c3, &got);
    assert_int_equal(got.snapshots, 1);
    assert_int_equal(srv->metrics.resume_snapshots, 1);
    conn_free(c2);
    assert_int_equal(table_seq(t), before);

    /* A second hello is refused without closing. */
    say(c3, "{\"type\":\"hello\",\"token\":\"x\"}");
    pull(c3, &got);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.type[0], PROTO_S_ERROR);
    assert_string_equal(got.code, "already_authenticated");
    assert_int_equal(c3->close_code, 0);

    /* A player's socket that never says hello is closed after hello_secs. */
    struct conn *mute = conn_new(srv, &fake_io, NULL, CONN_PENDING, t, ann->id, NULL);
    fakeclock_advance(9999);
    assert_int_equal(mute->close_code, 0);
    fakeclock_advance(1);
    assert_int_equal(mute->close_code, 4408);

    /* Leaving over the socket: the seat goes (no hand), and the socket is closed with 1000. */
    say(c3, "{\"type\":\"leave\"}");
    assert_int_equal(c3->close_code, 1000);
    assert_null(c3->player);
    assert_int_equal(t->nplayers, 0);
    conn_free(mute);
    conn_free(bad);
    conn_free(c3);
    srv_free(srv);
}

/* ---- one command table for WebSocket and HTTP ---------------------------------------------- */

struct http_answer {
    int status;
    struct proto_smsg env;     /* when the body is an envelope (ack, error) */
    struct json_object *json;  /* the body */
};

static void http_do(struct server *srv, enum http_method method, const char *path,
                    const char *bearer, const char *body, struct http_answer *a)
{
    struct http_response resp;
    struct http_request req = {.method = method, .path = path, .query = "", .bearer = bearer,
                               .body = body ? body : "", .body_len = body ? strlen(body) : 0};
    http_handle(srv, &req, &resp);
    memset(a, 0, sizeof(*a));
    a->status = resp.status;
    a->json = json_tokener_parse(msg_payload(resp.body));
    assert_non_null(a->json);
    struct felt_err err;
    if (json_object_object_get_ex(a->json, "type", NULL))
        assert_int_equal(proto_decode_server(msg_payload(resp.body), resp.body->len, &a->env,
                                             &err), 0);
    msg_unref(resp.body);
}

static void http_answer_free(struct http_answer *a)
{
    json_object_put(a->json);
    proto_smsg_clear(&a->env);
}

static void test_http_commands(void **state)
{
    (void)state;
    struct server *srv = srv_new();
    struct table *t = table_open(srv, "web", 2, false);
    struct http_answer a;
    char token[PLAYER_TOKEN_BYTES * 2 + 1];

    http_do(srv, HTTP_POST, "/api/games/web/join", NULL, "{\"name\":\"ann\"}", &a);
    assert_int_equal(a.status, 200);
    snprintf(token, sizeof(token), "%s", jval_str(a.json, "token"));
    struct player *ann = table_player_by_token(t, token);
    assert_non_null(ann);
    assert_true(jis(a.json, "player_id", ann->id));
    http_answer_free(&a);
    char id[PLAYER_ID_LEN + 1];
    snprintf(id, sizeof(id), "%s", ann->id);

    /* sit_out, sit_in: {"ok": true}, and the same refusals as on the socket, as 409s. */
    uint64_t mark = table_seq(t);
    http_do(srv, HTTP_POST, "/api/games/web/sit_out", token, "{}", &a);
    assert_int_equal(a.status, 200);
    assert_true(jval_bool(a.json, "ok", false));
    http_answer_free(&a);
    assert_true(ann->sitting_out);
    assert_true(find_note(t, mark, "player_sat_out", id) > 0);
    /* The request was a sign of life: she shows connected. */
    assert_true(find_note(t, mark, "player_connected", id) > 0);
    http_do(srv, HTTP_POST, "/api/games/web/sit_out", token, "{\"type\":\"sit_out\"}", &a);
    assert_int_equal(a.status, 409);
    assert_int_equal(a.env.type, PROTO_S_ERROR);
    assert_true(jis(a.env.data, "code", "already_sitting_out"));
    http_answer_free(&a);
    http_do(srv, HTTP_POST, "/api/games/web/sit_in", token, "{}", &a);
    assert_int_equal(a.status, 200);
    http_answer_free(&a);
    assert_false(ann->sitting_out);
    http_do(srv, HTTP_POST, "/api/games/web/sit_in", token, "{}", &a);
    assert_int_equal(a.status, 409);
    assert_true(jis(a.env.data, "code", "not_sitting_out"));
    http_answer_free(&a);

    /* Token first, then the body; the method is checked per path. */
    http_do(srv, HTTP_POST, "/api/games/web/sit_out", NULL, "{}", &a);
    assert_int_equal(a.status, 401);
    http_answer_free(&a);
    http_do(srv, HTTP_POST, "/api/games/web/sit_out", token, "{\"type\":\"sit_in\"}", &a);
    assert_int_equal(a.status, 400);
    assert_true(jis(a.env.data, "code", "bad_type"));
    http_answer_free(&a);
    http_do(srv, HTTP_GET, "/api/games/web/leave", token, NULL, &a);
    assert_int_equal(a.status, 405);
    http_answer_free(&a);
    http_do(srv, HTTP_POST, "/api/games/web/hello", token, "{}", &a);
    assert_int_equal(a.status, 404);
    http_answer_free(&a);

    /* Chat: five per 10 s per player, whatever the transport: two over a WebSocket, three over
     * HTTP, and the sixth is refused on either. */
    struct conn *c = conn_new(srv, &fake_io, NULL, CONN_PENDING, t, id, NULL);
    hello(c, token, false, 0);
    assert_int_equal(c->role, CONN_PLAYER);
    say(c, "{\"type\":\"chat\",\"text\":\"ws one\"}");
    say(c, "{\"type\":\"chat\",\"text\":\"ws two\"}");
    for (int i = 0; i < 3; i++) {
        http_do(srv, HTTP_POST, "/api/games/web/chat", token, "{\"text\":\"http\"}", &a);
        assert_int_equal(a.status, 200);
        http_answer_free(&a);
    }
    http_do(srv, HTTP_POST, "/api/games/web/chat", token, "{\"text\":\"six\"}", &a);
    assert_int_equal(a.status, 429);
    assert_true(jis(a.env.data, "code", "rate_limited"));
    http_answer_free(&a);
    struct pulled got;
    pull(c, &got);
    say(c, "{\"type\":\"chat\",\"text\":\"seven\"}");
    pull(c, &got);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.type[0], PROTO_S_ERROR);
    assert_string_equal(got.code, "rate_limited");
    assert_int_equal(find_event(t, 0, PROTO_S_CHAT, "text", "six", NULL), 0);
    assert_int_equal(find_event(t, 0, PROTO_S_CHAT, "text", "seven", NULL), 0);
    assert_true(find_event(t, 0, PROTO_S_CHAT, "text", "ws two", id) > 0);
    fakeclock_advance(LIMIT_SENDER_WINDOW_MS);
    http_do(srv, HTTP_POST, "/api/games/web/chat", token, "{\"text\":\"later\"}", &a);
    assert_int_equal(a.status, 200);
    http_answer_free(&a);

    /* leave: {"ok": true}; with no hand running she is stood up at once, her token dead and
     * her socket closed. */
    http_do(srv, HTTP_POST, "/api/games/web/leave", token, "{}", &a);
    assert_int_equal(a.status, 200);
    assert_true(jval_bool(a.json, "ok", false));
    http_answer_free(&a);
    assert_null(table_player_by_token(t, token));
    assert_int_equal(c->close_code, 1000);
    http_do(srv, HTTP_POST, "/api/games/web/sit_in", token, "{}", &a);
    assert_int_equal(a.status, 401);
    http_answer_free(&a);
    conn_free(c);
    srv_free(srv);
}

/* Several nodes: a table whose lease is lost stands by (table_stand_by) at once: its players'
 * sockets are told it moved, its seats and the hand in play are gone, its timers stop, and
 * nothing it saw can be replayed (a resume gets a snapshot). Its spectators stay and watch the
 * owner's mirror: a snapshot, then the owner's events in order, nothing else. Seats restored
 * while it stands by deal nothing until table_own; stood by again before that, they are
 * emptied. */
static void test_stand_by(void **state)
{
    (void)state;
    struct server *srv = srv_new();
    struct table *t = table_open(srv, "sb", 4, false);
    struct player *ann = join(t, "ann");
    join(t, "bob");
    struct fake_sub ws = {.sub.ops = &fake_sub_ops}, watcher = {.sub.ops = &fake_sub_ops};
    table_attach(t, ann, &ws.sub);
    table_subscribe(t, &ws.sub, false);
    table_subscribe(t, &watcher.sub, true);
    fakeclock_advance(1000);
    assert_true(t->hand_running);
    int64_t hand = t->hand_id;
    char ann_id[PLAYER_ID_LEN + 1];
    snprintf(ann_id, sizeof(ann_id), "%s", ann->id);
    uint64_t seen = table_seq(t);
    assert_non_null(table_event(t, seen));

    table_stand_by(t, "a test");
    assert_true(table_standby(t));
    assert_int_equal(ws.drops, 1);
    assert_int_equal(ws.why, TABLE_DROP_MOVED);
    assert_int_equal(watcher.drops, 0); /* spectators stay, and wait for the mirror */
    assert_int_equal(watcher.resyncs, 1);
    assert_true(watcher.sub.subscribed);
    uint64_t snap_seq = 0;
    assert_false(table_snapshot_ready(t));
    assert_null(table_snapshot(t, NULL, &snap_seq));
    assert_false(t->hand_running);
    assert_int_equal(t->nplayers, 0);
    assert_null(table_player_by_id(t, ann_id, strlen(ann_id)));
    assert_int_equal(table_seq(t), seen + 1);
    assert_null(table_event(t, seen)); /* a resume from it: a snapshot */
    assert_int_equal(timer_next_due_us(), -1); /* the clock, the bots, the next hand: stopped */

    /* Its lobby entry is the owner's, when one came (and is this table's). */
    static const char owners[] = "{\"id\":\"sb\",\"seats_taken\":3,\"players\":[]}";
    struct json_object *lj = table_lobby_json(t);
    assert_int_equal(jval_int(lj, "seats_taken", -1), 0);
    json_object_put(lj);
    table_set_owner_lobby(t, owners, strlen(owners));
    lj = table_lobby_json(t);
    assert_int_equal(jval_int(lj, "seats_taken", -1), 3);
    json_object_put(lj);
    table_set_owner_lobby(t, "{\"id\":\"other\",\"seats_taken\":3}", 30);
    lj = table_lobby_json(t);
    assert_int_equal(jval_int(lj, "seats_taken", -1), 0);
    json_object_put(lj);
    table_set_owner_lobby(t, owners, 10); /* cut short: not JSON */
    lj = table_lobby_json(t);
    assert_int_equal(jval_int(lj, "seats_taken", -1), 0);
    json_object_put(lj);
    table_set_owner_lobby(t, owners, strlen(owners));

    /* The owner's mirror: its snapshot, then its events, each checked to be the next one. */
    static const char osnap[] = "{\"type\":\"snapshot\",\"data\":{\"owner\":1}}";
    table_mirror_reset(t, 40, osnap, strlen(osnap));
    assert_int_equal(watcher.resyncs, 2);
    assert_int_equal(table_seq(t), 40);
    assert_int_equal(table_mirror_seq(t), 40);
    assert_true(table_snapshot_ready(t));
    struct msg *m = table_snapshot(t, NULL, &snap_seq);
    assert_int_equal(snap_seq, 40);
    assert_memory_equal(msg_payload(m), osnap, strlen(osnap));
    msg_unref(m);
    char ev[128];
    int wakes = watcher.wakes;
    for (int seq = 41; seq <= 43; seq++) {
        int n = snprintf(ev, sizeof(ev), "{\"type\":\"%s\",\"seq\":%d,\"data\":{}}",
                         seq == 42 ? "chat" : "state_update", seq);
        assert_int_equal(table_mirror_event(t, (uint64_t)seq, ev, (size_t)n), 0);
    }
    assert_int_equal(watcher.wakes, wakes + 3);
    assert_int_equal(table_seq(t), 43);
    assert_int_equal(table_event(t, 42)->type, PROTO_S_CHAT); /* kept in the chat ring */
    static const char ev43[] = "{\"type\":\"state_update\",\"seq\":43,";
    assert_memory_equal(msg_payload(event_msg_for(table_event(t, 43), 0)), ev43,
                        strlen(ev43));
    /* Refused, and nothing changes: a gap, a repeat, a seq that is not the event's, a reply
     * that is not an event, garbage. */
    static const char *const bad[] = {
        "{\"type\":\"state_update\",\"seq\":45,\"data\":{}}",
        "{\"type\":\"state_update\",\"seq\":43,\"data\":{}}",
        "{\"type\":\"state_update\",\"seq\":440,\"data\":{}}",
        "{\"type\":\"ack\",\"seq\":44,\"data\":{}}",
        "{\"type\":\"state_update\"",
        "{\"type\":\"",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(table_mirror_event(t, i == 1 ? 43 : i == 0 ? 45 : 44, bad[i],
                                            strlen(bad[i])), -1);
    assert_int_equal(table_mirror_event(t, 45, bad[0], strlen(bad[0])), -1);
    assert_int_equal(table_seq(t), 43);
    /* A newer snapshot is swapped in only where the history goes on from it. */
    assert_false(table_mirror_snapshot(t, 44, osnap, strlen(osnap))); /* ahead of the events */
    assert_false(table_mirror_snapshot(t, 39, osnap, strlen(osnap))); /* older */
    wakes = watcher.wakes;
    assert_true(table_mirror_snapshot(t, 42, osnap, strlen(osnap)));
    assert_int_equal(table_mirror_seq(t), 42);
    assert_int_equal(watcher.wakes, wakes + 1); /* one waiting for a usable snapshot goes on */
    m = table_snapshot(t, NULL, &snap_seq);
    assert_int_equal(snap_seq, 42);
    msg_unref(m);
    assert_int_equal(watcher.resyncs, 2); /* nobody is moved by it */
    /* Cleared (a new stream of the owner's): everyone waits for the next reset. */
    table_mirror_clear(t);
    assert_int_equal(watcher.resyncs, 3);
    assert_false(table_snapshot_ready(t));
    assert_null(table_event(t, 43));
    assert_int_equal(table_mirror_event(t, table_seq(t) + 1, ev, strlen(ev)), -1);
    table_mirror_reset(t, 44, osnap, strlen(osnap));
    assert_true(table_snapshot_ready(t));
    /* Another owner's stream, numbered lower (its seqs are its own). */
    table_mirror_reset(t, 2, osnap, strlen(osnap));
    assert_int_equal(table_seq(t), 2);

    /* This node becomes the owner: it stands by afresh (cluster.c does, on the lease), which
     * drops the mirror; nothing of the owner's is taken for its own, and its seqs go on above
     * every seq it has shown (44), so that no resume can name one of them. */
    table_stand_by(t, "a new owner's fence");
    assert_false(table_snapshot_ready(t));
    assert_int_equal(table_seq(t), 45);
    assert_int_equal(watcher.drops, 0);

    /* The next owner's rows come back (here: this node's take), and nothing is dealt yet. */
    struct store_seat rows[2] = {{.seat = 0, .stack = 990}, {.seat = 1, .stack = 1010}};
    for (int i = 0; i < 2; i++) {
        snprintf(rows[i].table_id, sizeof(rows[i].table_id), "sb");
        snprintf(rows[i].player_id, sizeof(rows[i].player_id), "%016x", 0xa0 + i);
        snprintf(rows[i].name, sizeof(rows[i].name), "p%d", i);
        assert_non_null(table_restore(t, &rows[i]));
    }
    table_voided(t, hand);
    fakeclock_advance(5000);
    assert_false(t->hand_running);
    table_stand_by(t, "the take came too late"); /* what was restored goes */
    assert_int_equal(t->nplayers, 0);
    for (int i = 0; i < 2; i++)
        assert_non_null(table_restore(t, &rows[i]));
    wakes = watcher.wakes;
    table_own(t, 0);
    assert_false(table_standby(t));
    assert_true(watcher.wakes > wakes); /* the spectator who waited: its snapshot is here */
    assert_true(table_snapshot_ready(t));
    m = table_snapshot(t, NULL, &snap_seq);
    assert_int_equal(snap_seq, table_seq(t));
    assert_null(strstr(msg_payload(m), "\"owner\":1"));
    msg_unref(m);
    assert_int_equal(table_mirror_event(t, table_seq(t) + 1, ev, strlen(ev)), -1); /* its own */
    lj = table_lobby_json(t); /* its own again */
    assert_int_equal(jval_int(lj, "seats_taken", -1), 2);
    json_object_put(lj);
    fakeclock_advance(1000);
    assert_true(t->hand_running);
    assert_int_equal(t->hand_id, hand + 1); /* hand ids go on past the voided one */
    assert_true(find_event(t, seen + 1, PROTO_S_STATE_UPDATE, "event", "hand_start", NULL) > 0);
    table_unsubscribe(t, &watcher.sub);
    srv_free(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_join_seats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejoin_with_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_act, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_deal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decision_pin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave_mid_hand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_presence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stand_by, setup, teardown),
    };
    eval_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
