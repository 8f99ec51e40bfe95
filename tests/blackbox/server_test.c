/*
 * server_test.c: black-box tests of feltd (issue 3's "Tests" list). Each test starts the real
 * feltd binary on a free loopback port, talks to it only through WebSocket (wsclient/) and
 * HTTP like any client, checks what every connection received, byte by byte where it matters
 * (event order, privacy of hole cards and tokens), and stops the server, which must exit cleanly.
 *
 * This file holds what the cases share (server_test.h: starting and stopping feltd, waits,
 * queries over what a client received) and the table of cases; the cases are in
 * server_test_<topic>.c.
 *
 * Usage: server_test FELTD_PATH [TEST_NAME]   (ctest runs each test as its own process)
 *
 * Nothing here measures time: waits are bounded by BB_TIMEOUT_MS only so a missing event fails
 * the test instead of hanging it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "server_test.h"

const char *feltd_path;

/* Waits for a message of type (data[key] == val) at or after index from; returns its index. */
long wait_msg(struct bb *bb, struct tc *t, size_t from, enum proto_stype type, const char *key,
              const char *val)
{
    if (!BB_WAIT(bb, tc_find(t, from, type, key, val) >= 0 || t->bad, BB_TIMEOUT_MS))
        print_error("client %s: no %s with %s=%s after message %zu\n", t->name,
                    proto_stype_name(type), key ? key : "-", val ? val : "-", from);
    bb_assert_tc_ok(t);
    long i = tc_find(t, from, type, key, val);
    assert_true(i >= 0);
    return i;
}

void wait_open(struct bb *bb, struct tc *t)
{
    assert_non_null(t);
    assert_true(BB_WAIT(bb, t->opens > 0 || t->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(t->opens, 1);
}

/* A player's socket: waits for the snapshot that follows a valid hello. */
void wait_snapshot(struct bb *bb, struct tc *t)
{
    wait_msg(bb, t, 0, PROTO_S_SNAPSHOT, NULL, NULL);
}

/* The reply (ack, error, pong) number k (0-based) of type, waiting for it. */
json_object *wait_reply(struct bb *bb, struct tc *t, enum proto_stype type, size_t k)
{
    if (!BB_WAIT(bb, tc_count(t, type) > k || t->bad, BB_TIMEOUT_MS))
        print_error("client %s: reply %zu of type %s never came\n", t->name, k,
                    proto_stype_name(type));
    bb_assert_tc_ok(t);
    size_t seen = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->msgs[i].type == type && seen++ == k) return t->msgs[i].data;
    fail();
    return NULL;
}

const char *raw_of_reply(const struct tc *t, enum proto_stype type, size_t k)
{
    size_t seen = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->msgs[i].type == type && seen++ == k) return t->msgs[i].raw;
    return NULL;
}

bool raw_contains(const struct tc *t, const char *needle)
{
    for (size_t i = 0; i < t->n; i++)
        if (strstr(t->msgs[i].raw, needle)) return true;
    return false;
}

/* The index of the state_update `event` of hand_id in t, from index from, or -1. */
long find_update(const struct tc *t, size_t from, const char *event, int64_t hand_id)
{
    for (size_t i = from; i < t->n; i++) {
        const struct rmsg *m = &t->msgs[i];
        const char *ev = jval_str(m->data, "event");
        if (m->type == PROTO_S_STATE_UPDATE && ev && strcmp(ev, event) == 0 &&
            (hand_id < 0 || jval_int(m->data, "hand_id", -1) == hand_id))
            return (long)i;
    }
    return -1;
}

long find_chat(const struct tc *t, size_t from, const char *text)
{
    return tc_find(t, from, PROTO_S_CHAT, "text", text);
}

/* The message of t carrying event seq (not a snapshot), or NULL. */
const struct rmsg *msg_at_seq(const struct tc *t, uint64_t seq)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->msgs[i].has_seq && t->msgs[i].type != PROTO_S_SNAPSHOT && t->msgs[i].seq == seq)
            return &t->msgs[i];
    return NULL;
}

size_t count_players_in_hand(json_object *hand_start)
{
    json_object *ps = jval_get(hand_start, "players");
    size_t n = 0;
    for (size_t i = 0; ps && i < json_object_array_length(ps); i++) {
        const char *st = jval_str(json_object_array_get_idx(ps, i), "status");
        n += st && (strcmp(st, "active") == 0 || strcmp(st, "all_in") == 0);
    }
    return n;
}

/* The entry of player_id in an array of objects with "player_id" (NULL if absent). */
json_object *entry_of(json_object *arr, const char *player_id)
{
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        const char *p = jval_str(e, "player_id");
        if (p && strcmp(p, player_id) == 0) return e;
    }
    return NULL;
}

/* Cards of player p in hand (from p's own hand_start), as "\"Xy\"" needles. */
int hole_cards(const struct tc *p, int64_t hand, char needles[2][8])
{
    long hs = find_update(p, 0, "hand_start", hand);
    if (hs < 0) return 0;
    json_object *cards = jval_get(entry_of(jval_get(p->msgs[hs].data, "players"), p->player_id), "cards");
    int n = cards ? (int)json_object_array_length(cards) : 0;
    for (int i = 0; i < n && i < 2; i++)
        snprintf(needles[i], sizeof(needles[i]), "\"%s\"",
                 json_object_get_string(json_object_array_get_idx(cards, i)));
    return n;
}

/* The player whose id is to_act.player_id in data (one of ps, n), or NULL. */
struct tc *to_act_player(json_object *data, struct tc **ps, size_t n)
{
    const char *id = jval_str(jval_get(data, "to_act"), "player_id");
    for (size_t i = 0; id && i < n; i++)
        if (strcmp(ps[i]->player_id, id) == 0) return ps[i];
    return NULL;
}

/* Waits for the next hand_start (from index from) in which all n players are dealt in. */
long wait_full_hand_start(struct bb *bb, struct tc *rail, size_t n)
{
    size_t from = 0;
    for (;;) {
        long hs = wait_msg(bb, rail, from, PROTO_S_STATE_UPDATE, "event", "hand_start");
        if (count_players_in_hand(rail->msgs[hs].data) == n) return hs;
        from = (size_t)hs + 1;
    }
}

/* The value of the sample line starting with line_prefix (e.g. "felt_tables "), or
 * UINT64_MAX if there is none. */
uint64_t metric_value(struct bb *bb, const char *line_prefix)
{
    struct http_reply r;
    uint64_t v = UINT64_MAX;
    bb_http(bb, "/metrics", NULL, NULL, &r);
    for (const char *at = r.body; at && *at; at = strchr(at, '\n'), at = at ? at + 1 : NULL) {
        if (strncmp(at, line_prefix, strlen(line_prefix)) == 0) {
            v = strtoull(at + strlen(line_prefix), NULL, 10);
            break;
        }
    }
    http_reply_free(&r);
    return v;
}

/* ---- the cases ----------------------------------------------------------------------------- */

/* The cases, in the order they run without a name; ctest registers one per row (bb_main.h). */
static const struct bb_test server_tests[] = {
    BB_TEST(join_http),
    BB_TEST(join_ws),
    BB_TEST(hello_bad_token),
    BB_TEST(replace_4409),
    BB_TEST(full_hand),
    BB_TEST(event_sequence),
    BB_TEST(hole_card_privacy),
    BB_TEST(spectator_refused),
    BB_TEST(chat),
    BB_TEST(duplicate_request_id),
    BB_TEST(stale_hand),
    BB_TEST(heads_up_turns),
    BB_TEST(resume),
    BB_TEST(resume_snapshot),
    BB_TEST(resume_epoch),
    BB_TEST(action_clock),
    BB_TEST(malformed),
    BB_TEST(http_fallback),
    BB_TEST(metrics),
    BB_TEST(shutdown),
    BB_TEST(wsclient),
    BB_TEST(spectators_count),
    BB_TEST(frames),
};

int main(int argc, char **argv)
{
    return bb_main(argc, argv, &feltd_path, server_tests, FELT_ARRAY_LEN(server_tests), NULL);
}
