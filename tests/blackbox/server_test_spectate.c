/*
 * server_test_spectate.c: spectators and chat (server_test.h): a spectator refused what only
 * players may do, chat between players and spectators (and spectator chat turned off), and the
 * spectator count the players are told.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_test.h"

void test_spectator_refused(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    struct http_reply r;
    (void)state;
    START(&bb, "--hand-delay", "200");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    wait_snapshot(&bb, spec);
    struct tc *ps[2] = {tc_join(&bb, "ann", "main", false), tc_join(&bb, "bob", "main", false)};
    wait_snapshot(&bb, ps[0]);
    wait_snapshot(&bb, ps[1]);
    long hs = wait_full_hand_start(&bb, spec, 2);
    int64_t hand = jval_int(spec->msgs[hs].data, "hand_id", -1);
    assert_non_null(to_act_player(spec->msgs[hs].data, ps, 2));

    /* Every player-only message from the spectator is refused with an error, never acked. */
    char act[160];
    snprintf(
        act, sizeof(act),
        "{\"type\": \"action\", \"action\": \"call\", \"request_id\": \"s1\", \"hand_id\": %lld}",
        (long long)hand);
    const char *msgs[] = {act,
                          "{\"type\": \"action\", \"action\": \"fold\"}",
                          "{\"type\": \"sit_out\"}",
                          "{\"type\": \"sit_in\"}",
                          "{\"type\": \"leave\"}",
                          "{\"type\": \"hello\", \"token\": \"abc\"}"};
    for (size_t i = 0; i < FELT_ARRAY_LEN(msgs); i++)
        tc_send(spec, msgs[i]);
    for (size_t i = 0; i < FELT_ARRAY_LEN(msgs); i++)
        assert_string_equal(jval_str(wait_reply(&bb, spec, PROTO_S_ERROR, i), "code"), "spectator");
    /* Nothing happened at the table: the next event is ann's marker, and nobody acted. */
    tc_send(ps[0], "{\"type\": \"chat\", \"text\": \"marker\"}");
    wait_msg(&bb, spec, 0, PROTO_S_CHAT, "text", "marker");
    assert_int_equal(tc_count(spec, PROTO_S_ACK), 0);
    assert_int_equal(tc_count_updates(spec, "action", NULL), 0);
    assert_int_equal(tc_count_updates(spec, "seat", NULL), 2); /* the two joins only */
    /* Over HTTP, acting needs a player's token. */
    bb_http(&bb, "/api/games/main/action", "{\"action\": \"fold\"}", NULL, &r);
    assert_int_equal(r.status, 401);
    http_reply_free(&r);
    bb_assert_tc_ok(spec);
    bb_stop_clean(&bb);
}

/* Spectator chat on a --no-spectator-chat server. */
static void check_spectator_chat_disabled(void)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    START(&bb, "--hand-delay", "600000", "--no-spectator-chat");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    struct tc *ann = tc_join(&bb, "ann", "main", false);
    wait_snapshot(&bb, spec);
    wait_snapshot(&bb, ann);
    tc_send(spec, "{\"type\": \"chat\", \"text\": \"let me talk\"}");
    assert_string_equal(jval_str(wait_reply(&bb, spec, PROTO_S_ERROR, 0), "code"), "chat_disabled");
    tc_send(ann, "{\"type\": \"chat\", \"text\": \"players may\"}");
    wait_msg(&bb, spec, 0, PROTO_S_CHAT, "text", "players may");
    assert_int_equal(tc_count(spec, PROTO_S_CHAT), 1);
    bb_stop_clean(&bb);
}

/* ann's chat is broadcast to everyone (all, n), with escape sequences, controls and bidi
 * overrides removed. */
static void check_chat_sanitized(struct bb *bb, struct tc **all, size_t n, struct tc *ann)
{
    tc_send(ann, "{\"type\": \"chat\", \"text\": "
                 "\"\\u001b[31mred\\u001b[0m text\\u0007 hi\\u202e!\\u001b]0;title\\u0007\"}");
    for (size_t i = 0; i < n; i++) {
        long c = wait_msg(bb, all[i], 0, PROTO_S_CHAT, NULL, NULL);
        json_object *d = all[i]->msgs[c].data;
        assert_string_equal(jval_str(d, "text"), "red text hi!");
        assert_string_equal(jval_str(d, "player_id"), ann->player_id);
        assert_string_equal(jval_str(d, "name"), "ann");
        assert_false(jval_bool(d, "spectator", true));
        assert_true(all[i]->msgs[c].has_seq);
        assert_null(strstr(all[i]->msgs[c].raw, "\\u001b"));
        assert_null(strstr(all[i]->msgs[c].raw, "\x1b"));
        assert_null(strstr(all[i]->msgs[c].raw, "\\u0007"));
        assert_null(strstr(all[i]->msgs[c].raw, "\xe2\x80\xae"));
        assert_null(strstr(all[i]->msgs[c].raw, "title"));
    }
}

/* Five messages per 10 s per connection: ann's sixth is refused, to her only; bob may still
 * chat. (ann has sent one message before.) */
static void check_chat_rate_limit(struct bb *bb, struct tc *spec, struct tc *ann, struct tc *bob)
{
    const char *more[] = {"two", "three", "four", "five", "six"};
    for (size_t i = 0; i < FELT_ARRAY_LEN(more); i++) {
        char m[96];
        snprintf(m, sizeof(m), "{\"type\": \"chat\", \"text\": \"%s\"}", more[i]);
        tc_send(ann, m);
    }
    assert_string_equal(jval_str(wait_reply(bb, ann, PROTO_S_ERROR, 0), "code"), "rate_limited");
    tc_send(bob, "{\"type\": \"chat\", \"text\": \"bob's turn\"}");
    long b = wait_msg(bb, spec, 0, PROTO_S_CHAT, "text", "bob's turn");
    wait_msg(bb, ann, 0, PROTO_S_CHAT, "text", "bob's turn");
    assert_int_equal(find_chat(spec, 0, "six"), -1);
    assert_int_equal(find_chat(ann, 0, "six"), -1);
    assert_true(find_chat(spec, 0, "five") >= 0 && find_chat(spec, 0, "five") < b);
    size_t from_ann = 0;
    for (size_t i = 0; i < spec->n; i++)
        from_ann +=
            spec->msgs[i].type == PROTO_S_CHAT &&
            strcmp(jval_str(spec->msgs[i].data, "player_id") ? jval_str(spec->msgs[i].data, "player_id")
                                                         : "",
                   ann->player_id) == 0;
    assert_int_equal(from_ann, 5);
    assert_int_equal(tc_count(bob, PROTO_S_ERROR), 0);
}

/* Invalid chat from bob is refused (and does not use up his allowance: four more get through,
 * 11 chat lines in all at the spectator). */
static void check_invalid_chat(struct bb *bb, struct tc *spec, struct tc *bob)
{
    char longtext[400] = "{\"type\": \"chat\", \"text\": \"";
    size_t k = strlen(longtext);
    memset(longtext + k, 'x', 281);
    snprintf(longtext + k + 281, sizeof(longtext) - k - 281, "\"}");
    const char *bad[] = {longtext, "{\"type\": \"chat\", \"text\": \"\\u0007\\u001b[0m \"}",
                         "{\"type\": \"chat\", \"text\": \"\\ud800\"}",
                         "{\"type\": \"chat\", \"text\": \"\"}"};
    const char *codes[] = {"too_long", "bad_field", "invalid_utf8", "bad_field"};
    for (size_t i = 0; i < FELT_ARRAY_LEN(bad); i++)
        tc_send(bob, bad[i]);
    for (size_t i = 0; i < FELT_ARRAY_LEN(bad); i++)
        assert_string_equal(jval_str(wait_reply(bb, bob, PROTO_S_ERROR, i), "code"), codes[i]);
    for (int i = 0; i < 4; i++)
        tc_send(bob, "{\"type\": \"chat\", \"text\": \"ok\"}");
    assert_true(BB_WAIT(bb, tc_count(spec, PROTO_S_CHAT) == 11 || spec->bad, BB_TIMEOUT_MS));
    assert_int_equal(tc_count(bob, PROTO_S_ERROR), 4);
}

void test_chat(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    (void)state;
    START(&bb, "--hand-delay", "600000");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    struct tc *ann = tc_join(&bb, "ann", "main", false);
    struct tc *bob = tc_join(&bb, "bob", "main", false);
    struct tc *all[] = {spec, ann, bob};
    for (size_t i = 0; i < 3; i++)
        wait_snapshot(&bb, all[i]);
    check_chat_sanitized(&bb, all, 3, ann);
    check_chat_rate_limit(&bb, spec, ann, bob);

    /* Spectators chat as "spectator", without an id. */
    tc_send(spec, "{\"type\": \"chat\", \"text\": \"from the rail\"}");
    long sc = wait_msg(&bb, bob, 0, PROTO_S_CHAT, "text", "from the rail");
    assert_true(jval_bool(bob->msgs[sc].data, "spectator", false));
    assert_string_equal(jval_str(bob->msgs[sc].data, "name"), "spectator");
    assert_true(json_object_is_type(jval_get(bob->msgs[sc].data, "player_id"), json_type_null));

    check_invalid_chat(&bb, spec, bob);
    for (size_t i = 0; i < 3; i++)
        bb_assert_tc_ok(all[i]);
    bb_stop_clean(&bb);
    check_spectator_chat_disabled();
}

/* Players learn how many watch: the count follows spectators arriving and leaving (coalesced by
 * the server to at most one notification a second, so only the final counts are checked). */
static int64_t last_spectator_count(const struct tc *t)
{
    json_object *d = tc_last(t, PROTO_S_NOTIFICATION, "kind", "spectators");
    return d ? jval_int(d, "count", -1) : -1;
}

void test_spectators_count(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    (void)state;
    START(&bb, "--hand-delay", "600000");
    struct tc *ann = tc_join(&bb, "ann", "main", false);
    wait_snapshot(&bb, ann);
    struct tc *specs[3];
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "spec%d", i);
        specs[i] = tc_spectator(&bb, name, "main", false);
        wait_snapshot(&bb, specs[i]);
    }
    assert_true(BB_WAIT(&bb, last_spectator_count(ann) == 3 || ann->bad, BB_TIMEOUT_MS));
    bb_assert_tc_ok(ann);
    tc_free(specs[0]);
    assert_true(BB_WAIT(&bb, last_spectator_count(ann) == 2 || ann->bad, BB_TIMEOUT_MS));
    bb_assert_tc_ok(ann);
    /* The lobby agrees. */
    struct http_reply r;
    bb_http(&bb, "/api/games", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jval_int(json_object_array_get_idx(jval_get(r.json, "games"), 0), "spectators", -1),
                     2);
    http_reply_free(&r);
    bb_stop_clean(&bb);
}
