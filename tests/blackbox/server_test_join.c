/*
 * server_test_join.c: joining and saying hello (server_test.h): a seat over HTTP and over a
 * spectator's socket (ids and tokens in the right form, tokens never logged or shown to others),
 * a hello with a bad token refused, and a second socket of the same player replacing the first
 * (close code 4409).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_test.h"

/* ---- join ------------------------------------------------------------------------------------ */

static bool all_hex(const char *s, size_t len)
{
    if (!s || strlen(s) != len) return false;
    for (size_t i = 0; i < len; i++)
        if (!strchr("0123456789abcdef", s[i])) return false;
    return true;
}

/* Names are sanitized and unique; buy-ins are bounded; unknown games are 404. bob joins with a
 * name full of escapes (its token, unlike ann's, into bob_token); ann's name, a buy-in over the
 * table's maximum, bad JSON and an unknown game are refused. */
static void check_join_names_and_limits(struct bb *bb, const char *ann_token, int64_t ann_seat,
                                        char *bob_token, size_t bob_token_size)
{
    struct http_reply r2;
    bb_http(bb, "/api/games/main/join", "{\"name\": \"\\u001b[31mbob\\u0007\"}", NULL, &r2);
    assert_int_equal(r2.status, 200);
    assert_string_equal(jval_str(r2.json, "name"), "bob");
    assert_string_not_equal(jval_str(r2.json, "token"), ann_token);
    snprintf(bob_token, bob_token_size, "%s", jval_str(r2.json, "token"));
    assert_true(strlen(bob_token) >= 32);
    assert_int_not_equal(jval_int(r2.json, "seat", -1), ann_seat);
    http_reply_free(&r2);
    bb_http(bb, "/api/games/main/join", "{\"name\": \"ann\"}", NULL, &r2);
    assert_int_equal(r2.status, 409);
    assert_string_equal(jval_str(jval_get(r2.json, "data"), "code"), "name_taken");
    http_reply_free(&r2);
    bb_http(bb, "/api/games/main/join", "{\"name\": \"cy\", \"buy_in\": 5000}", NULL, &r2);
    assert_int_equal(r2.status, 400);
    assert_string_equal(jval_str(jval_get(r2.json, "data"), "code"), "bad_buy_in");
    http_reply_free(&r2);
    bb_http(bb, "/api/games/main/join", "{\"name\": ", NULL, &r2);
    assert_int_equal(r2.status, 400);
    assert_string_equal(jval_str(jval_get(r2.json, "data"), "code"), "bad_json");
    http_reply_free(&r2);
    bb_http(bb, "/api/games/nope/join", "{\"name\": \"cy\"}", NULL, &r2);
    assert_int_equal(r2.status, 404);
    http_reply_free(&r2);
}

/* The lobby shows both joins; the spectator saw both (ann's first, with her buy-in of 500 in
 * the seat event before it), but never a token (checked once ann's socket is open too). */
static void check_joins_seen(struct bb *bb, struct tc *spec, const char *ann_id)
{
    struct http_reply r2;
    bb_http(bb, "/api/games", NULL, NULL, &r2);
    assert_int_equal(r2.status, 200);
    json_object *game = json_object_array_get_idx(jval_get(r2.json, "games"), 0);
    assert_string_equal(jval_str(game, "id"), "main");
    assert_int_equal(jval_int(game, "seats_taken", -1), 2);
    assert_int_equal(jval_int(game, "spectators", -1), 1);
    http_reply_free(&r2);
    long j = wait_msg(bb, spec, 0, PROTO_S_NOTIFICATION, "kind", "player_joined");
    assert_string_equal(jval_str(spec->msgs[j].data, "player_id"), ann_id);
    json_object *seat = spec->msgs[j - 1].data;
    assert_string_equal(jval_str(seat, "event"), "seat");
    assert_string_equal(jval_str(seat, "change"), "joined");
    assert_int_equal(jval_int(jval_get(seat, "player"), "stack", -1), 500);
    wait_msg(bb, spec, (size_t)j + 1, PROTO_S_NOTIFICATION, "kind", "player_joined");
}

void test_join_http(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    struct http_reply r;
    (void)state;
    START(&bb, "--hand-delay", "600000", "-v"); /* verbose: the most log lines to search */
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    wait_snapshot(&bb, spec);

    bb_http(&bb, "/api/games/main/join", "{\"name\": \"ann\", \"buy_in\": 500}", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(r.json);
    const char *ann_id = jval_str(r.json, "player_id"), *ann_token = jval_str(r.json, "token");
    assert_true(all_hex(ann_id, 16));
    assert_non_null(ann_token);
    assert_true(strlen(ann_token) >= 32); /* at least 128 bits */
    assert_true(all_hex(ann_token, strlen(ann_token)));
    assert_string_equal(jval_str(r.json, "name"), "ann");
    int64_t ann_seat = jval_int(r.json, "seat", -1);
    assert_true(ann_seat >= 0 && ann_seat < 6);

    char bob_token[160];
    check_join_names_and_limits(&bb, ann_token, ann_seat, bob_token, sizeof(bob_token));
    check_joins_seen(&bb, spec, ann_id);

    /* The token opens the player's socket: a snapshot of the table as ann sees it. */
    struct tc *ann = tc_player(&bb, "ann", "main", ann_id, ann_token, false);
    wait_snapshot(&bb, ann);
    json_object *you = jval_get(ann->msgs[0].data, "you");
    assert_string_equal(jval_str(you, "player_id"), ann_id);
    assert_int_equal(jval_int(you, "seat", -1), ann_seat);
    assert_int_equal(jval_int(entry_of(jval_get(ann->msgs[0].data, "players"), ann_id), "stack", -1), 500);
    wait_msg(&bb, spec, 0, PROTO_S_NOTIFICATION, "kind", "player_connected");
    assert_false(raw_contains(spec, ann_token));
    bb_assert_tc_ok(spec);
    bb_assert_tc_ok(ann);
    /* The log tells of the joins and the connection, never of a token. */
    char *log = feltd_log(&bb.srv);
    assert_non_null(strstr(log, "ann joined"));
    assert_non_null(strstr(log, ann_id));
    assert_null(strstr(log, ann_token));
    assert_null(strstr(log, bob_token));
    free(log);
    http_reply_free(&r);
    bb_stop_clean(&bb);
}

void test_join_ws(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    struct http_reply r;
    (void)state;
    START(&bb, "--hand-delay", "600000");
    struct tc *rail = tc_spectator(&bb, "rail", "main", false);
    struct tc *dan = tc_spectator(&bb, "dan", "main", false);
    wait_snapshot(&bb, rail);
    wait_snapshot(&bb, dan);
    assert_null(json_object_get_object(jval_get(dan->msgs[0].data, "you")));

    tc_send(dan, "{\"type\": \"join\", \"name\": \"dan\", \"buy_in\": 800}");
    json_object *ack = wait_reply(&bb, dan, PROTO_S_ACK, 0);
    assert_string_equal(jval_str(ack, "status"), "accepted");
    assert_string_equal(jval_str(ack, "name"), "dan");
    char dan_id[32], dan_token[160];
    snprintf(dan_id, sizeof(dan_id), "%s", jval_str(ack, "player_id"));
    snprintf(dan_token, sizeof(dan_token), "%s", jval_str(ack, "token"));
    assert_true(all_hex(dan_id, 16));
    assert_true(strlen(dan_token) >= 32);
    /* The socket is now dan's: a snapshot with "you". */
    long s = wait_msg(&bb, dan, 1, PROTO_S_SNAPSHOT, NULL, NULL);
    assert_string_equal(jval_str(jval_get(dan->msgs[s].data, "you"), "player_id"), dan_id);
    assert_int_equal(jval_int(entry_of(jval_get(dan->msgs[s].data, "players"), dan_id), "stack", -1), 800);

    /* The rail saw the join and never the token; the lobby counts one spectator now. */
    long j = wait_msg(&bb, rail, 0, PROTO_S_NOTIFICATION, "kind", "player_joined");
    assert_string_equal(jval_str(rail->msgs[j].data, "player_id"), dan_id);
    assert_false(raw_contains(rail, dan_token));
    bb_http(&bb, "/api/games", NULL, NULL, &r);
    assert_int_equal(jval_int(json_object_array_get_idx(jval_get(r.json, "games"), 0), "spectators", -1),
                     1);
    http_reply_free(&r);

    /* A taken name over WebSocket is an error; that socket stays a spectator. */
    struct tc *eve = tc_spectator(&bb, "eve", "main", false);
    wait_snapshot(&bb, eve);
    tc_send(eve, "{\"type\": \"join\", \"name\": \"dan\"}");
    assert_string_equal(jval_str(wait_reply(&bb, eve, PROTO_S_ERROR, 0), "code"), "name_taken");
    tc_send(eve, "{\"type\": \"sit_out\"}");
    assert_string_equal(jval_str(wait_reply(&bb, eve, PROTO_S_ERROR, 1), "code"), "spectator");

    /* The token works for a new player socket, which replaces the joining one (4409). */
    struct tc *dan2 = tc_player(&bb, "dan2", "main", dan_id, dan_token, false);
    wait_snapshot(&bb, dan2);
    assert_true(BB_WAIT(&bb, dan->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(dan->close_code, 4409);
    bb_assert_tc_ok(rail);
    bb_assert_tc_ok(eve);
    bb_assert_tc_ok(dan2);
    bb_stop_clean(&bb);
}

/* ---- hello ----------------------------------------------------------------------------------- */

void test_hello_bad_token(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    struct http_reply r, r2;
    (void)state;
    START(&bb, "--hand-delay", "600000");
    bb_http(&bb, "/api/games/main/join", "{\"name\": \"ann\"}", NULL, &r);
    assert_int_equal(r.status, 200);
    const char *ann_id = jval_str(r.json, "player_id"), *ann_token = jval_str(r.json, "token");

    /* Until a valid hello, the socket gets nothing but replies to what it sends. */
    struct tc *p = tc_player(&bb, "ann", "main", ann_id, NULL, false);
    wait_open(&bb, p);
    bb_http(&bb, "/api/games/main/join", "{\"name\": \"bob\"}", NULL, &r2); /* table events */
    assert_int_equal(r2.status, 200);
    tc_send(p, "{\"type\": \"chat\", \"text\": \"hi\"}");
    assert_string_equal(jval_str(wait_reply(&bb, p, PROTO_S_ERROR, 0), "code"), "hello_required");
    tc_send(p, "{\"type\": \"ping\", \"id\": 7}"); /* liveness is allowed before hello */
    assert_int_equal(jval_int(wait_reply(&bb, p, PROTO_S_PONG, 0), "id", -1), 7);
    tc_send(p, "{\"type\": \"hello\", \"token\": "
               "\"0000000000000000000000000000000000000000000000000000000000000000\"}");
    assert_true(BB_WAIT(&bb, p->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(p->close_code, 4401);
    assert_int_equal(p->n, 2); /* the error and the pong only: no snapshot, no event */

    /* Another player's token does not open ann's seat either. */
    struct tc *imp = tc_player(&bb, "imp", "main", ann_id, jval_str(r2.json, "token"), false);
    assert_true(BB_WAIT(&bb, imp->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(imp->close_code, 4401);
    assert_int_equal(imp->n, 0);

    /* An unknown player id is refused at the upgrade. */
    struct tc *ghost = tc_player(&bb, "ghost", "main", "0123456789abcdef", ann_token, false);
    assert_true(BB_WAIT(&bb, ghost->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(ghost->opens, 0);

    /* The right token still works afterwards. */
    struct tc *ok = tc_player(&bb, "ann2", "main", ann_id, ann_token, false);
    wait_snapshot(&bb, ok);
    tc_send(ok, "{\"type\": \"hello\", \"token\": \"x\"}");
    assert_string_equal(jval_str(wait_reply(&bb, ok, PROTO_S_ERROR, 0), "code"),
                        "already_authenticated");
    http_reply_free(&r2);
    bb_http(&bb, "/metrics", NULL, NULL, &r2);
    assert_non_null(strstr(r2.body, "\nfelt_hello_rejected_total 2\n"));
    http_reply_free(&r2);
    http_reply_free(&r);
    bb_assert_tc_ok(ok);
    bb_stop_clean(&bb);
}

void test_replace_4409(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    (void)state;
    START(&bb, "--hand-delay", "600000");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    wait_snapshot(&bb, spec);
    struct tc *first = tc_join(&bb, "ann", "main", false);
    wait_snapshot(&bb, first);
    long c1 = wait_msg(&bb, spec, 0, PROTO_S_NOTIFICATION, "kind", "player_connected");
    struct tc *second = tc_player(&bb, "ann-2", "main", first->player_id, first->token, false);
    wait_snapshot(&bb, second);
    assert_true(BB_WAIT(&bb, first->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(first->close_code, 4409);
    assert_true(strlen(first->close_reason) > 0);
    /* The new socket is live; the seat never looked disconnected. */
    tc_send(second, "{\"type\": \"chat\", \"text\": \"still here\"}");
    wait_msg(&bb, second, 0, PROTO_S_CHAT, "text", "still here");
    wait_msg(&bb, spec, (size_t)c1, PROTO_S_CHAT, "text", "still here");
    assert_int_equal(tc_find_note(spec, 0, "player_disconnected", NULL), -1);
    assert_int_equal(tc_find_note(spec, (size_t)c1 + 1, "player_connected", NULL), -1);
    bb_assert_tc_ok(first);
    bb_assert_tc_ok(second);
    bb_assert_tc_ok(spec);
    bb_stop_clean(&bb);
}
