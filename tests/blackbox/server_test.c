/*
 * server_test.c: black-box tests of feltd (issue 3's "Tests" list). Each test starts the real
 * feltd binary on a free loopback port, talks to it only through WebSocket (common/wsclient) and
 * HTTP like any client, checks what every connection received, byte by byte where it matters
 * (event order, privacy of hole cards and tokens), and stops the server, which must exit cleanly.
 *
 * Usage: server_test FELTD_PATH [TEST_NAME]   (ctest runs each test as its own process)
 *
 * Nothing here measures time: waits are bounded by BB_TIMEOUT_MS only so a missing event fails
 * the test instead of hanging it.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "util.h"

static const char *feltd_path;
static struct bb *running_bb; /* stopped by the teardown when a test fails half-way */

#define START(bb, ...)                                                                             \
    do {                                                                                           \
        const char *start_args_[] = {__VA_ARGS__, NULL};                                           \
        assert_int_equal(bb_start((bb), feltd_path, start_args_), 0);                              \
        running_bb = (bb);                                                                         \
    } while (0)

/* Stops the server and checks that it exited on its own with status 0. */
static void stop_clean(struct bb *bb)
{
    running_bb = NULL;
    int st = bb_stop(bb);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static int teardown(void **state)
{
    (void)state;
    if (running_bb) bb_stop(running_bb);
    running_bb = NULL;
    return 0;
}

static void assert_tc_ok(const struct tc *t)
{
    assert_non_null(t);
    if (t->bad) print_error("client %s: %d problem(s), first: %s\n", t->name, t->bad, t->bad_text);
    assert_int_equal(t->bad, 0);
}

/* Waits for a message of type (data[key] == val) at or after index from; returns its index. */
static long wait_msg(struct bb *bb, struct tc *t, size_t from, enum proto_stype type,
                     const char *key, const char *val)
{
    if (!BB_WAIT(bb, tc_find(t, from, type, key, val) >= 0 || t->bad, BB_TIMEOUT_MS))
        print_error("client %s: no %s with %s=%s after message %zu\n", t->name,
                    proto_stype_name(type), key ? key : "-", val ? val : "-", from);
    assert_tc_ok(t);
    long i = tc_find(t, from, type, key, val);
    assert_true(i >= 0);
    return i;
}

static void wait_open(struct bb *bb, struct tc *t)
{
    assert_non_null(t);
    assert_true(BB_WAIT(bb, t->opens > 0 || t->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(t->opens, 1);
}

/* A player's socket: waits for the snapshot that follows a valid hello. */
static void wait_snapshot(struct bb *bb, struct tc *t)
{
    wait_msg(bb, t, 0, PROTO_S_SNAPSHOT, NULL, NULL);
}

/* The reply (ack, error, pong) number k (0-based) of type, waiting for it. */
static json_object *wait_reply(struct bb *bb, struct tc *t, enum proto_stype type, size_t k)
{
    if (!BB_WAIT(bb, tc_count(t, type) > k || t->bad, BB_TIMEOUT_MS))
        print_error("client %s: reply %zu of type %s never came\n", t->name, k,
                    proto_stype_name(type));
    assert_tc_ok(t);
    size_t seen = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->msgs[i].type == type && seen++ == k) return t->msgs[i].data;
    fail();
    return NULL;
}

static const char *raw_of_reply(const struct tc *t, enum proto_stype type, size_t k)
{
    size_t seen = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->msgs[i].type == type && seen++ == k) return t->msgs[i].raw;
    return NULL;
}

static bool raw_contains(const struct tc *t, const char *needle)
{
    for (size_t i = 0; i < t->n; i++)
        if (strstr(t->msgs[i].raw, needle)) return true;
    return false;
}

/* The index of the state_update `event` of hand_id in t, from index from, or -1. */
static long find_update(const struct tc *t, size_t from, const char *event, int64_t hand_id)
{
    for (size_t i = from; i < t->n; i++) {
        const struct rmsg *m = &t->msgs[i];
        const char *ev = jstr(m->data, "event");
        if (m->type == PROTO_S_STATE_UPDATE && ev && strcmp(ev, event) == 0 &&
            (hand_id < 0 || jint(m->data, "hand_id", -1) == hand_id))
            return (long)i;
    }
    return -1;
}

/* The index of the notification kind (for player_id, if given) from index from, or -1. */
static long find_note(const struct tc *t, size_t from, const char *kind, const char *player_id)
{
    for (size_t i = from; i < t->n; i++) {
        const struct rmsg *m = &t->msgs[i];
        const char *k = jstr(m->data, "kind"), *p = jstr(m->data, "player_id");
        if (m->type == PROTO_S_NOTIFICATION && k && strcmp(k, kind) == 0 &&
            (!player_id || (p && strcmp(p, player_id) == 0)))
            return (long)i;
    }
    return -1;
}

static long find_chat(const struct tc *t, size_t from, const char *text)
{
    return tc_find(t, from, PROTO_S_CHAT, "text", text);
}

/* The message of t carrying event seq (not a snapshot), or NULL. */
static const struct rmsg *msg_at_seq(const struct tc *t, uint64_t seq)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->msgs[i].has_seq && t->msgs[i].type != PROTO_S_SNAPSHOT && t->msgs[i].seq == seq)
            return &t->msgs[i];
    return NULL;
}

static size_t count_players_in_hand(json_object *hand_start)
{
    json_object *ps = jget(hand_start, "players");
    size_t n = 0;
    for (size_t i = 0; ps && i < json_object_array_length(ps); i++) {
        const char *st = jstr(json_object_array_get_idx(ps, i), "status");
        n += st && (strcmp(st, "active") == 0 || strcmp(st, "all_in") == 0);
    }
    return n;
}

/* The entry of player_id in an array of objects with "player_id" (NULL if absent). */
static json_object *entry_of(json_object *arr, const char *player_id)
{
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        const char *p = jstr(e, "player_id");
        if (p && strcmp(p, player_id) == 0) return e;
    }
    return NULL;
}

/* ---- join ----------------------------------------------------------------------------------- */

static bool all_hex(const char *s, size_t len)
{
    if (!s || strlen(s) != len) return false;
    for (size_t i = 0; i < len; i++)
        if (!strchr("0123456789abcdef", s[i])) return false;
    return true;
}

static void test_join_http(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    struct http_reply r, r2;
    (void)state;
    START(&bb, "--hand-delay", "600000", "-v"); /* verbose: the most log lines to search */
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    wait_snapshot(&bb, spec);

    bb_http(&bb, "/api/games/main/join", "{\"name\": \"ann\", \"buy_in\": 500}", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(r.json);
    const char *ann_id = jstr(r.json, "player_id"), *ann_token = jstr(r.json, "token");
    assert_true(all_hex(ann_id, 16));
    assert_non_null(ann_token);
    assert_true(strlen(ann_token) >= 32); /* at least 128 bits */
    assert_true(all_hex(ann_token, strlen(ann_token)));
    assert_string_equal(jstr(r.json, "name"), "ann");
    int64_t ann_seat = jint(r.json, "seat", -1);
    assert_true(ann_seat >= 0 && ann_seat < 6);

    /* Names are sanitized and unique; buy-ins are bounded; unknown games are 404. */
    bb_http(&bb, "/api/games/main/join", "{\"name\": \"\\u001b[31mbob\\u0007\"}", NULL, &r2);
    assert_int_equal(r2.status, 200);
    assert_string_equal(jstr(r2.json, "name"), "bob");
    assert_string_not_equal(jstr(r2.json, "token"), ann_token);
    char bob_token[160];
    snprintf(bob_token, sizeof(bob_token), "%s", jstr(r2.json, "token"));
    assert_true(strlen(bob_token) >= 32);
    assert_int_not_equal(jint(r2.json, "seat", -1), ann_seat);
    http_reply_free(&r2);
    bb_http(&bb, "/api/games/main/join", "{\"name\": \"ann\"}", NULL, &r2);
    assert_int_equal(r2.status, 409);
    assert_string_equal(jstr(jget(r2.json, "data"), "code"), "name_taken");
    http_reply_free(&r2);
    bb_http(&bb, "/api/games/main/join", "{\"name\": \"cy\", \"buy_in\": 5000}", NULL, &r2);
    assert_int_equal(r2.status, 400);
    assert_string_equal(jstr(jget(r2.json, "data"), "code"), "bad_buy_in");
    http_reply_free(&r2);
    bb_http(&bb, "/api/games/main/join", "{\"name\": ", NULL, &r2);
    assert_int_equal(r2.status, 400);
    assert_string_equal(jstr(jget(r2.json, "data"), "code"), "bad_json");
    http_reply_free(&r2);
    bb_http(&bb, "/api/games/nope/join", "{\"name\": \"cy\"}", NULL, &r2);
    assert_int_equal(r2.status, 404);
    http_reply_free(&r2);

    /* The lobby shows both; the spectator saw both joins, but never a token. */
    bb_http(&bb, "/api/games", NULL, NULL, &r2);
    assert_int_equal(r2.status, 200);
    json_object *game = json_object_array_get_idx(jget(r2.json, "games"), 0);
    assert_string_equal(jstr(game, "id"), "main");
    assert_int_equal(jint(game, "seats_taken", -1), 2);
    assert_int_equal(jint(game, "spectators", -1), 1);
    http_reply_free(&r2);
    long j = wait_msg(&bb, spec, 0, PROTO_S_NOTIFICATION, "kind", "player_joined");
    assert_string_equal(jstr(spec->msgs[j].data, "player_id"), ann_id);
    json_object *seat = spec->msgs[j - 1].data;
    assert_string_equal(jstr(seat, "event"), "seat");
    assert_string_equal(jstr(seat, "change"), "joined");
    assert_int_equal(jint(jget(seat, "player"), "stack", -1), 500);
    wait_msg(&bb, spec, (size_t)j + 1, PROTO_S_NOTIFICATION, "kind", "player_joined");

    /* The token opens the player's socket: a snapshot of the table as ann sees it. */
    struct tc *ann = tc_player(&bb, "ann", "main", ann_id, ann_token, false);
    wait_snapshot(&bb, ann);
    json_object *you = jget(ann->msgs[0].data, "you");
    assert_string_equal(jstr(you, "player_id"), ann_id);
    assert_int_equal(jint(you, "seat", -1), ann_seat);
    assert_int_equal(jint(entry_of(jget(ann->msgs[0].data, "players"), ann_id), "stack", -1), 500);
    wait_msg(&bb, spec, 0, PROTO_S_NOTIFICATION, "kind", "player_connected");
    assert_false(raw_contains(spec, ann_token));
    assert_tc_ok(spec);
    assert_tc_ok(ann);
    /* The log tells of the joins and the connection, never of a token. */
    char *log = feltd_log(&bb.srv);
    assert_non_null(strstr(log, "ann joined"));
    assert_non_null(strstr(log, ann_id));
    assert_null(strstr(log, ann_token));
    assert_null(strstr(log, bob_token));
    free(log);
    http_reply_free(&r);
    stop_clean(&bb);
}

static void test_join_ws(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    struct http_reply r;
    (void)state;
    START(&bb, "--hand-delay", "600000");
    struct tc *rail = tc_spectator(&bb, "rail", "main", false);
    struct tc *dan = tc_spectator(&bb, "dan", "main", false);
    wait_snapshot(&bb, rail);
    wait_snapshot(&bb, dan);
    assert_null(json_object_get_object(jget(dan->msgs[0].data, "you")));

    tc_send(dan, "{\"type\": \"join\", \"name\": \"dan\", \"buy_in\": 800}");
    json_object *ack = wait_reply(&bb, dan, PROTO_S_ACK, 0);
    assert_string_equal(jstr(ack, "status"), "accepted");
    assert_string_equal(jstr(ack, "name"), "dan");
    char dan_id[32], dan_token[160];
    snprintf(dan_id, sizeof(dan_id), "%s", jstr(ack, "player_id"));
    snprintf(dan_token, sizeof(dan_token), "%s", jstr(ack, "token"));
    assert_true(all_hex(dan_id, 16));
    assert_true(strlen(dan_token) >= 32);
    /* The socket is now dan's: a snapshot with "you". */
    long s = wait_msg(&bb, dan, 1, PROTO_S_SNAPSHOT, NULL, NULL);
    assert_string_equal(jstr(jget(dan->msgs[s].data, "you"), "player_id"), dan_id);
    assert_int_equal(jint(entry_of(jget(dan->msgs[s].data, "players"), dan_id), "stack", -1), 800);

    /* The rail saw the join and never the token; the lobby counts one spectator now. */
    long j = wait_msg(&bb, rail, 0, PROTO_S_NOTIFICATION, "kind", "player_joined");
    assert_string_equal(jstr(rail->msgs[j].data, "player_id"), dan_id);
    assert_false(raw_contains(rail, dan_token));
    bb_http(&bb, "/api/games", NULL, NULL, &r);
    assert_int_equal(jint(json_object_array_get_idx(jget(r.json, "games"), 0), "spectators", -1),
                     1);
    http_reply_free(&r);

    /* A taken name over WebSocket is an error; that socket stays a spectator. */
    struct tc *eve = tc_spectator(&bb, "eve", "main", false);
    wait_snapshot(&bb, eve);
    tc_send(eve, "{\"type\": \"join\", \"name\": \"dan\"}");
    assert_string_equal(jstr(wait_reply(&bb, eve, PROTO_S_ERROR, 0), "code"), "name_taken");
    tc_send(eve, "{\"type\": \"sit_out\"}");
    assert_string_equal(jstr(wait_reply(&bb, eve, PROTO_S_ERROR, 1), "code"), "spectator");

    /* The token works for a new player socket, which replaces the joining one (4409). */
    struct tc *dan2 = tc_player(&bb, "dan2", "main", dan_id, dan_token, false);
    wait_snapshot(&bb, dan2);
    assert_true(BB_WAIT(&bb, dan->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(dan->close_code, 4409);
    assert_tc_ok(rail);
    assert_tc_ok(eve);
    assert_tc_ok(dan2);
    stop_clean(&bb);
}

/* ---- hello ---------------------------------------------------------------------------------- */

static void test_hello_bad_token(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    struct http_reply r, r2;
    (void)state;
    START(&bb, "--hand-delay", "600000");
    bb_http(&bb, "/api/games/main/join", "{\"name\": \"ann\"}", NULL, &r);
    assert_int_equal(r.status, 200);
    const char *ann_id = jstr(r.json, "player_id"), *ann_token = jstr(r.json, "token");

    /* Until a valid hello, the socket gets nothing but replies to what it sends. */
    struct tc *p = tc_player(&bb, "ann", "main", ann_id, NULL, false);
    wait_open(&bb, p);
    bb_http(&bb, "/api/games/main/join", "{\"name\": \"bob\"}", NULL, &r2); /* table events */
    assert_int_equal(r2.status, 200);
    tc_send(p, "{\"type\": \"chat\", \"text\": \"hi\"}");
    assert_string_equal(jstr(wait_reply(&bb, p, PROTO_S_ERROR, 0), "code"), "hello_required");
    tc_send(p, "{\"type\": \"ping\", \"id\": 7}"); /* liveness is allowed before hello */
    assert_int_equal(jint(wait_reply(&bb, p, PROTO_S_PONG, 0), "id", -1), 7);
    tc_send(p, "{\"type\": \"hello\", \"token\": "
               "\"0000000000000000000000000000000000000000000000000000000000000000\"}");
    assert_true(BB_WAIT(&bb, p->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(p->close_code, 4401);
    assert_int_equal(p->n, 2); /* the error and the pong only: no snapshot, no event */

    /* Another player's token does not open ann's seat either. */
    struct tc *imp = tc_player(&bb, "imp", "main", ann_id, jstr(r2.json, "token"), false);
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
    assert_string_equal(jstr(wait_reply(&bb, ok, PROTO_S_ERROR, 0), "code"),
                        "already_authenticated");
    http_reply_free(&r2);
    bb_http(&bb, "/metrics", NULL, NULL, &r2);
    assert_non_null(strstr(r2.body, "\nfelt_hello_rejected_total 2\n"));
    http_reply_free(&r2);
    http_reply_free(&r);
    assert_tc_ok(ok);
    stop_clean(&bb);
}

static void test_replace_4409(void **state)
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
    assert_int_equal(find_note(spec, 0, "player_disconnected", NULL), -1);
    assert_int_equal(find_note(spec, (size_t)c1 + 1, "player_connected", NULL), -1);
    assert_tc_ok(first);
    assert_tc_ok(second);
    assert_tc_ok(spec);
    stop_clean(&bb);
}

/* ---- a full hand, event order, privacy --------------------------------------------------------
 */

struct game {
    struct bb bb;
    struct tc *ann, *bob, *cat; /* players, autoplaying */
    struct tc *rail;            /* spectator from the start */
    struct tc *late;            /* spectator from the middle of the first hand */
    int64_t h1, h2;             /* two consecutive hands with all three players dealt in */
};

static struct tc *game_player(struct game *g, int i)
{
    return i == 0 ? g->ann : i == 1 ? g->bob : g->cat;
}

/* Waits until every client has seen the hand_end of hand. */
static void wait_hand_end(struct game *g, int64_t hand)
{
    struct tc *all[] = {g->ann, g->bob, g->cat, g->rail, g->late};
    for (size_t i = 0; i < FELT_ARRAY_LEN(all); i++) {
        if (!all[i]) continue;
        if (!BB_WAIT(&g->bb, find_update(all[i], 0, "hand_end", hand) >= 0 || all[i]->bad,
                     BB_TIMEOUT_MS))
            print_error("%s never saw the end of hand %lld (turns without options: %d)\n",
                        all[i]->name, (long long)hand, all[i]->turns_without_options);
        assert_tc_ok(all[i]);
        assert_true(find_update(all[i], 0, "hand_end", hand) >= 0);
    }
}

/* Three players who check or call everything play hand h1 to a showdown; in hand h2 cat folds.
 * A spectator watches from the start, another joins during h1. */
static void game_play(struct game *g)
{
    START(&g->bb, "--hand-delay", "300");
    struct bb *bb = &g->bb;
    g->rail = tc_spectator(bb, "rail", "main", false);
    wait_snapshot(bb, g->rail);
    g->ann = tc_join(bb, "ann", "main", false);
    g->bob = tc_join(bb, "bob", "main", false);
    g->cat = tc_join(bb, "cat", "main", false);
    for (int i = 0; i < 3; i++) {
        struct tc *p = game_player(g, i);
        assert_non_null(p);
        p->play = TC_PLAY_CALL;
        wait_snapshot(bb, p);
    }
    /* The first hand may have started before the third join: wait for one with all three. */
    size_t from = 0;
    for (;;) {
        long hs = wait_msg(bb, g->rail, from, PROTO_S_STATE_UPDATE, "event", "hand_start");
        if (count_players_in_hand(g->rail->msgs[hs].data) == 3) {
            g->h1 = jint(g->rail->msgs[hs].data, "hand_id", -1);
            break;
        }
        from = (size_t)hs + 1;
    }
    g->h2 = g->h1 + 1;
    /* A second spectator arrives once h1 is under way. */
    wait_msg(bb, g->rail, from, PROTO_S_STATE_UPDATE, "event", "action");
    g->late = tc_spectator(bb, "late", "main", false);
    wait_snapshot(bb, g->late);
    wait_hand_end(g, g->h1);
    /* In the second hand cat folds whenever it cannot check (h2 starts after a delay). */
    g->cat->play = TC_PLAY_FOLD;
    assert_true(BB_WAIT(bb, find_update(g->rail, 0, "hand_start", g->h2) >= 0, BB_TIMEOUT_MS));
    long h2s = find_update(g->rail, 0, "hand_start", g->h2);
    assert_int_equal(count_players_in_hand(g->rail->msgs[h2s].data), 3);
    wait_hand_end(g, g->h2);
    for (int i = 0; i < 3; i++)
        assert_int_equal(game_player(g, i)->turns_without_options, 0);
}

static void test_full_hand(void **state)
{
    static struct game g;
    (void)state;
    memset(&g, 0, sizeof(g));
    game_play(&g);
    struct tc *rail = g.rail;
    long hs = find_update(rail, 0, "hand_start", g.h1);
    long he = find_update(rail, 0, "hand_end", g.h1);
    assert_true(hs >= 0 && he > hs);

    /* Everyone called or checked: preflop, flop, turn, river, then a showdown. */
    const char *streets[] = {"flop", "turn", "river"};
    size_t ncards[] = {3, 1, 1};
    long at = hs;
    for (int i = 0; i < 3; i++) {
        at = tc_find(rail, (size_t)at + 1, PROTO_S_STATE_UPDATE, "street", streets[i]);
        assert_true(at > hs && at < he);
        assert_int_equal(json_object_array_length(jget(rail->msgs[at].data, "cards")), ncards[i]);
    }
    long sd = find_update(rail, (size_t)hs, "showdown", g.h1);
    assert_true(sd > at && sd < he);
    json_object *shows = jget(rail->msgs[sd].data, "shows");
    assert_true(json_object_array_length(shows) >= 1);
    assert_int_equal(json_object_array_length(shows) +
                         json_object_array_length(jget(rail->msgs[sd].data, "mucks")),
                     3);
    /* Each player acted in every round: 3 preflop (call, call, check) + 3 per street. */
    size_t actions = 0;
    for (long i = hs; i < he; i++) {
        const char *ev = jstr(rail->msgs[i].data, "event");
        actions += rail->msgs[i].type == PROTO_S_STATE_UPDATE && ev && strcmp(ev, "action") == 0;
    }
    assert_int_equal(actions, 12);
    /* Chips are conserved and the pots were all awarded. */
    json_object *end = rail->msgs[he].data;
    json_object *stacks = jget(end, "stacks");
    int64_t total = 0, awarded = 0;
    for (int i = 0; i < 3; i++)
        total += jint(stacks, game_player(&g, i)->player_id, -100000);
    assert_int_equal(total, 3000);
    json_object *pots = jget(end, "pots");
    for (size_t i = 0; i < json_object_array_length(pots); i++)
        awarded += jint(json_object_array_get_idx(pots, i), "amount", 0);
    assert_int_equal(awarded, 30); /* three big blinds, checked down */
    /* Every player saw its own actions acknowledged and the same result. */
    for (int i = 0; i < 3; i++) {
        struct tc *p = game_player(&g, i);
        assert_true(p->actions_sent >= 4);
        long phe = find_update(p, 0, "hand_end", g.h1);
        assert_string_equal(json_object_to_json_string(jget(p->msgs[phe].data, "stacks")),
                            json_object_to_json_string(stacks));
    }
    /* The hand_won notification follows. */
    assert_true(find_note(rail, (size_t)he, "hand_won", NULL) > he);
    stop_clean(&g.bb);
}

/* True if m is a private rendering meant for player t (its own hand_start, its your_turn). */
static bool private_for(const struct rmsg *m, const struct tc *t)
{
    const char *ev = jstr(m->data, "event"), *kind = jstr(m->data, "kind");
    if (!t->player) return false;
    if (m->type == PROTO_S_STATE_UPDATE && ev && strcmp(ev, "hand_start") == 0)
        return entry_of(jget(m->data, "players"), t->player_id) &&
               jget(entry_of(jget(m->data, "players"), t->player_id), "cards");
    return m->type == PROTO_S_NOTIFICATION && kind && strcmp(kind, "your_turn") == 0 &&
           strcmp(jstr(m->data, "player_id"), t->player_id) == 0;
}

/* The event sequence of t: gap-free after each snapshot, identical to the reference (ref)
 * on every seq both have; byte-identical unless it is t's private rendering. */
static void check_sequence(const struct tc *t, const struct tc *ref)
{
    uint64_t expect = 0;
    size_t events = 0, compared = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct rmsg *m = &t->msgs[i];
        if (!m->has_seq) continue;
        if (m->type == PROTO_S_SNAPSHOT) {
            /* Only as the first message of a socket here (nobody resumes or lags). */
            assert_int_equal(expect, 0);
            expect = m->seq + 1;
            continue;
        }
        if (m->seq != expect)
            print_error("%s: got seq %llu, expected %llu\n", t->name, (unsigned long long)m->seq,
                        (unsigned long long)expect);
        assert_int_equal(m->seq, expect);
        expect++;
        events++;
        const struct rmsg *o = msg_at_seq(ref, m->seq);
        if (!o) continue;
        compared++;
        assert_int_equal(m->type, o->type);
        const char *e1 = jstr(m->data, "event"), *e2 = jstr(o->data, "event");
        if (e1 || e2) assert_string_equal(e1 ? e1 : "-", e2 ? e2 : "-");
        if (private_for(m, t) || private_for(o, ref)) {
            const char *k1 = jstr(m->data, "kind"), *k2 = jstr(o->data, "kind");
            if (k1 && k2) /* your_turn for the player, turn for everyone else */
                assert_true(strcmp(k1, k2) == 0 ||
                            (strcmp(k1, "your_turn") == 0 && strcmp(k2, "turn") == 0) ||
                            (strcmp(k1, "turn") == 0 && strcmp(k2, "your_turn") == 0));
            continue;
        }
        if (strcmp(m->raw, o->raw) != 0)
            print_error("%s and %s differ at seq %llu:\n  %s\n  %s\n", t->name, ref->name,
                        (unsigned long long)m->seq, m->raw, o->raw);
        assert_string_equal(m->raw, o->raw);
    }
    assert_true(events > 20);
    if (t != ref) assert_true(compared > 20);
}

static void test_event_sequence(void **state)
{
    static struct game g;
    (void)state;
    memset(&g, 0, sizeof(g));
    game_play(&g);
    struct tc *all[] = {g.rail, g.late, g.ann, g.bob, g.cat};
    for (size_t i = 0; i < FELT_ARRAY_LEN(all); i++)
        for (size_t k = 0; k < FELT_ARRAY_LEN(all); k++)
            check_sequence(all[i], all[k]);
    /* The late spectator started with a snapshot in the middle of h1 and then followed. */
    assert_int_equal(g.late->msgs[0].type, PROTO_S_SNAPSHOT);
    assert_int_equal(jint(g.late->msgs[0].data, "hand_id", -1), g.h1);
    assert_true(jbool(g.late->msgs[0].data, "hand_running", false));
    /* Each turn's deadline is the one its last state_update announced in to_act. */
    for (size_t i = 0; i < g.rail->n; i++) {
        const struct rmsg *m = &g.rail->msgs[i];
        const char *kind = jstr(m->data, "kind");
        if (m->type != PROTO_S_NOTIFICATION || !kind || strcmp(kind, "turn") != 0) continue;
        long u = -1;
        for (long k = (long)i - 1; k >= 0 && u < 0; k--)
            if (g.rail->msgs[k].type == PROTO_S_STATE_UPDATE) u = k;
        assert_true(u >= 0);
        json_object *ta = jget(g.rail->msgs[u].data, "to_act");
        if (!ta || !json_object_is_type(ta, json_type_object))
            print_error("turn at seq %llu follows a state_update without to_act: %s\n",
                        (unsigned long long)m->seq, g.rail->msgs[u].raw);
        assert_true(ta && json_object_is_type(ta, json_type_object));
        assert_string_equal(jstr(ta, "player_id"), jstr(m->data, "player_id"));
        assert_int_equal(jint(ta, "deadline", -1), jint(m->data, "deadline", -2));
    }
    stop_clean(&g.bb);
}

/* Cards of player p in hand (from p's own hand_start), as "\"Xy\"" needles. */
static int hole_cards(const struct tc *p, int64_t hand, char needles[2][8])
{
    long hs = find_update(p, 0, "hand_start", hand);
    if (hs < 0) return 0;
    json_object *cards = jget(entry_of(jget(p->msgs[hs].data, "players"), p->player_id), "cards");
    int n = cards ? (int)json_object_array_length(cards) : 0;
    for (int i = 0; i < n && i < 2; i++)
        snprintf(needles[i], sizeof(needles[i]), "\"%s\"",
                 json_object_get_string(json_object_array_get_idx(cards, i)));
    return n;
}

static void test_hole_card_privacy(void **state)
{
    static struct game g;
    (void)state;
    memset(&g, 0, sizeof(g));
    game_play(&g);
    struct tc *all[] = {g.rail, g.late, g.ann, g.bob, g.cat};
    int64_t hands[] = {g.h1, g.h2};
    for (size_t h = 0; h < 2; h++) {
        int64_t hand = hands[h];
        /* The seq range of the hand: its hand_start up to the next hand_start. */
        long hs = find_update(g.rail, 0, "hand_start", hand);
        long next = find_update(g.rail, 0, "hand_start", hand + 1);
        long sd = find_update(g.rail, 0, "showdown", hand);
        uint64_t lo = g.rail->msgs[hs].seq;
        uint64_t hi = next >= 0 ? g.rail->msgs[next].seq : UINT64_MAX;
        json_object *shows = sd >= 0 ? jget(g.rail->msgs[sd].data, "shows") : NULL;
        for (int i = 0; i < 3; i++) {
            struct tc *p = game_player(&g, i);
            char cards[2][8];
            assert_int_equal(hole_cards(p, hand, cards), 2);
            json_object *shown = entry_of(shows, p->player_id);
            uint64_t public_from = shown ? g.rail->msgs[sd].seq : UINT64_MAX;
            if (shown) { /* what was shown is what was dealt */
                json_object *sc = jget(shown, "cards");
                for (int c = 0; c < 2; c++) {
                    char want[8];
                    snprintf(want, sizeof(want), "\"%s\"",
                             json_object_get_string(json_object_array_get_idx(sc, (size_t)c)));
                    assert_true(strcmp(want, cards[0]) == 0 || strcmp(want, cards[1]) == 0);
                }
            }
            for (size_t k = 0; k < FELT_ARRAY_LEN(all); k++) {
                const struct tc *o = all[k];
                size_t seen_own = 0;
                for (size_t m = 0; m < o->n; m++) {
                    const struct rmsg *msg = &o->msgs[m];
                    if (!msg->has_seq || msg->seq < lo || msg->seq >= hi) continue;
                    bool has = strstr(msg->raw, cards[0]) || strstr(msg->raw, cards[1]);
                    if (o == p) {
                        seen_own += has;
                        continue;
                    }
                    if (has && msg->seq < public_from)
                        print_error("hand %lld: %s's card %s or %s reached %s in: %s\n",
                                    (long long)hand, p->name, cards[0], cards[1], o->name,
                                    msg->raw);
                    assert_false(has && msg->seq < public_from);
                }
                if (o == p) /* the search works: the owner did get them */
                    assert_true(seen_own >= 1);
            }
        }
        /* In h2 cat folded: its cards were never shown, to anyone. */
        if (hand == g.h2) assert_null(entry_of(shows, g.cat->player_id));
    }
    /* Tokens never reach anyone else either. */
    for (int i = 0; i < 3; i++)
        for (size_t k = 0; k < FELT_ARRAY_LEN(all); k++)
            assert_false(raw_contains(all[k], game_player(&g, i)->token));
    stop_clean(&g.bb);
}

/* ---- spectators, chat ---------------------------------------------------------------------- */

/* The player whose id is to_act.player_id in data (one of ps, n), or NULL. */
static struct tc *to_act_player(json_object *data, struct tc **ps, size_t n)
{
    const char *id = jstr(jget(data, "to_act"), "player_id");
    for (size_t i = 0; id && i < n; i++)
        if (strcmp(ps[i]->player_id, id) == 0) return ps[i];
    return NULL;
}

/* Waits for the next hand_start (from index from) in which all n players are dealt in. */
static long wait_full_hand_start(struct bb *bb, struct tc *rail, size_t n)
{
    size_t from = 0;
    for (;;) {
        long hs = wait_msg(bb, rail, from, PROTO_S_STATE_UPDATE, "event", "hand_start");
        if (count_players_in_hand(rail->msgs[hs].data) == n) return hs;
        from = (size_t)hs + 1;
    }
}

static void test_spectator_refused(void **state)
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
    int64_t hand = jint(spec->msgs[hs].data, "hand_id", -1);
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
        assert_string_equal(jstr(wait_reply(&bb, spec, PROTO_S_ERROR, i), "code"), "spectator");
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
    assert_tc_ok(spec);
    stop_clean(&bb);
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
    assert_string_equal(jstr(wait_reply(&bb, spec, PROTO_S_ERROR, 0), "code"), "chat_disabled");
    tc_send(ann, "{\"type\": \"chat\", \"text\": \"players may\"}");
    wait_msg(&bb, spec, 0, PROTO_S_CHAT, "text", "players may");
    assert_int_equal(tc_count(spec, PROTO_S_CHAT), 1);
    stop_clean(&bb);
}

static void test_chat(void **state)
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

    /* Broadcast to everyone, with escape sequences, controls and bidi overrides removed. */
    tc_send(ann, "{\"type\": \"chat\", \"text\": "
                 "\"\\u001b[31mred\\u001b[0m text\\u0007 hi\\u202e!\\u001b]0;title\\u0007\"}");
    for (size_t i = 0; i < 3; i++) {
        long c = wait_msg(&bb, all[i], 0, PROTO_S_CHAT, NULL, NULL);
        json_object *d = all[i]->msgs[c].data;
        assert_string_equal(jstr(d, "text"), "red text hi!");
        assert_string_equal(jstr(d, "player_id"), ann->player_id);
        assert_string_equal(jstr(d, "name"), "ann");
        assert_false(jbool(d, "spectator", true));
        assert_true(all[i]->msgs[c].has_seq);
        assert_null(strstr(all[i]->msgs[c].raw, "\\u001b"));
        assert_null(strstr(all[i]->msgs[c].raw, "\x1b"));
        assert_null(strstr(all[i]->msgs[c].raw, "\\u0007"));
        assert_null(strstr(all[i]->msgs[c].raw, "\xe2\x80\xae"));
        assert_null(strstr(all[i]->msgs[c].raw, "title"));
    }

    /* Five messages per 10 s per connection: the sixth is refused, to the sender only. */
    const char *more[] = {"two", "three", "four", "five", "six"};
    for (size_t i = 0; i < FELT_ARRAY_LEN(more); i++) {
        char m[96];
        snprintf(m, sizeof(m), "{\"type\": \"chat\", \"text\": \"%s\"}", more[i]);
        tc_send(ann, m);
    }
    assert_string_equal(jstr(wait_reply(&bb, ann, PROTO_S_ERROR, 0), "code"), "rate_limited");
    tc_send(bob, "{\"type\": \"chat\", \"text\": \"bob's turn\"}");
    long b = wait_msg(&bb, spec, 0, PROTO_S_CHAT, "text", "bob's turn");
    wait_msg(&bb, ann, 0, PROTO_S_CHAT, "text", "bob's turn");
    assert_int_equal(find_chat(spec, 0, "six"), -1);
    assert_int_equal(find_chat(ann, 0, "six"), -1);
    assert_true(find_chat(spec, 0, "five") >= 0 && find_chat(spec, 0, "five") < b);
    size_t from_ann = 0;
    for (size_t i = 0; i < spec->n; i++)
        from_ann +=
            spec->msgs[i].type == PROTO_S_CHAT &&
            strcmp(jstr(spec->msgs[i].data, "player_id") ? jstr(spec->msgs[i].data, "player_id")
                                                         : "",
                   ann->player_id) == 0;
    assert_int_equal(from_ann, 5);
    assert_int_equal(tc_count(bob, PROTO_S_ERROR), 0);

    /* Spectators chat as "spectator", without an id. */
    tc_send(spec, "{\"type\": \"chat\", \"text\": \"from the rail\"}");
    long sc = wait_msg(&bb, bob, 0, PROTO_S_CHAT, "text", "from the rail");
    assert_true(jbool(bob->msgs[sc].data, "spectator", false));
    assert_string_equal(jstr(bob->msgs[sc].data, "name"), "spectator");
    assert_true(json_object_is_type(jget(bob->msgs[sc].data, "player_id"), json_type_null));

    /* Invalid chat is refused (and does not use up bob's allowance). */
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
        assert_string_equal(jstr(wait_reply(&bb, bob, PROTO_S_ERROR, i), "code"), codes[i]);
    for (int i = 0; i < 4; i++)
        tc_send(bob, "{\"type\": \"chat\", \"text\": \"ok\"}");
    assert_true(BB_WAIT(&bb, tc_count(spec, PROTO_S_CHAT) == 11 || spec->bad, BB_TIMEOUT_MS));
    assert_int_equal(tc_count(bob, PROTO_S_ERROR), 4);
    for (size_t i = 0; i < 3; i++)
        assert_tc_ok(all[i]);
    stop_clean(&bb);
    check_spectator_chat_disabled();
}

/* ---- actions: exactly once, never for another hand ------------------------------------------ */

static void test_duplicate_request_id(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    struct http_reply r;
    (void)state;
    START(&bb, "--hand-delay", "200");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    wait_snapshot(&bb, spec);
    struct tc *ps[3] = {tc_join(&bb, "ann", "main", false), tc_join(&bb, "bob", "main", false),
                        tc_join(&bb, "cat", "main", false)};
    for (int i = 0; i < 3; i++)
        wait_snapshot(&bb, ps[i]);
    long hs = wait_full_hand_start(&bb, spec, 3);
    int64_t hand = jint(spec->msgs[hs].data, "hand_id", -1);
    struct tc *x = to_act_player(spec->msgs[hs].data, ps, 3);
    assert_non_null(x);

    /* x calls the big blind; the identical resend gets the identical ack. */
    tc_act(x, "call", 0, hand, "dup-1");
    json_object *a0 = wait_reply(&bb, x, PROTO_S_ACK, 0);
    assert_string_equal(jstr(a0, "status"), "accepted");
    assert_string_equal(jstr(a0, "request_id"), "dup-1");
    assert_int_equal(jint(a0, "hand_id", -1), hand);
    tc_act(x, "call", 0, hand, "dup-1");
    wait_reply(&bb, x, PROTO_S_ACK, 1);
    assert_string_equal(raw_of_reply(x, PROTO_S_ACK, 1), raw_of_reply(x, PROTO_S_ACK, 0));
    /* ... and over HTTP too: the same bytes. */
    char body[160];
    snprintf(body, sizeof(body),
             "{\"action\": \"call\", \"request_id\": \"dup-1\", \"hand_id\": %lld}",
             (long long)hand);
    bb_http(&bb, "/api/games/main/action", body, x->token, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, raw_of_reply(x, PROTO_S_ACK, 0));
    http_reply_free(&r);

    /* A rejected action replays its rejection too. */
    long upd = wait_msg(&bb, spec, (size_t)hs, PROTO_S_STATE_UPDATE, "event", "action");
    struct tc *next = to_act_player(spec->msgs[upd].data, ps, 3);
    assert_non_null(next);
    assert_ptr_not_equal(next, x);
    struct tc *idle = NULL;
    for (int i = 0; i < 3; i++)
        if (ps[i] != x && ps[i] != next) idle = ps[i];
    tc_act(idle, "check", 0, hand, "dup-2");
    json_object *r0 = wait_reply(&bb, idle, PROTO_S_ACK, 0);
    assert_string_equal(jstr(r0, "status"), "rejected");
    assert_string_equal(jstr(r0, "code"), "not_your_turn");
    tc_act(idle, "check", 0, hand, "dup-2");
    wait_reply(&bb, idle, PROTO_S_ACK, 1);
    assert_string_equal(raw_of_reply(idle, PROTO_S_ACK, 1), raw_of_reply(idle, PROTO_S_ACK, 0));

    /* Applied once: one action update by x, one turn for the next player, in this hand. */
    tc_send(x, "{\"type\": \"chat\", \"text\": \"marker\"}");
    wait_msg(&bb, spec, 0, PROTO_S_CHAT, "text", "marker");
    assert_int_equal(tc_count_updates(spec, "action", x->player_id), 1);
    assert_int_equal(tc_count_updates(spec, "action", NULL), 1);
    size_t turns = 0;
    for (long i = find_update(spec, 0, "action", hand); i >= 0 && (size_t)i < spec->n; i++) {
        const char *kind = jstr(spec->msgs[i].data, "kind");
        turns += spec->msgs[i].type == PROTO_S_NOTIFICATION && kind && strcmp(kind, "turn") == 0;
    }
    assert_int_equal(turns, 1);
    stop_clean(&bb);
}

static void test_stale_hand(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    (void)state;
    START(&bb, "--hand-delay", "200");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    wait_snapshot(&bb, spec);
    struct tc *ps[2] = {tc_join(&bb, "ann", "main", false), tc_join(&bb, "bob", "main", false)};
    wait_snapshot(&bb, ps[0]);
    wait_snapshot(&bb, ps[1]);
    long hs = wait_full_hand_start(&bb, spec, 2);
    int64_t hand = jint(spec->msgs[hs].data, "hand_id", -1);
    struct tc *x = to_act_player(spec->msgs[hs].data, ps, 2);
    struct tc *other = x == ps[0] ? ps[1] : ps[0];
    assert_non_null(x);

    tc_act(x, "call", 0, hand + 1, NULL); /* a hand that has not started */
    tc_act(x, "call", 0, hand - 1, NULL); /* the previous one (0: before the first) */
    tc_act(other, "call", 0, hand, NULL); /* the right hand, not other's turn */
    const char *want[][2] = {{"stale_hand", "x"}, {"stale_hand", "x"}, {"not_your_turn", "o"}};
    for (size_t i = 0; i < 3; i++) {
        struct tc *who = want[i][1][0] == 'x' ? x : other;
        json_object *ack = wait_reply(&bb, who, PROTO_S_ACK, who == x ? i : 0);
        assert_string_equal(jstr(ack, "status"), "rejected");
        assert_string_equal(jstr(ack, "code"), want[i][0]);
        assert_non_null(jstr(ack, "message"));
        assert_int_equal(jint(ack, "hand_id", -1), hand);
    }
    tc_send(x, "{\"type\": \"chat\", \"text\": \"marker\"}");
    wait_msg(&bb, spec, 0, PROTO_S_CHAT, "text", "marker");
    assert_int_equal(tc_count_updates(spec, "action", NULL), 0);
    /* The right hand at the right turn is applied. */
    tc_act(x, "call", 0, hand, NULL);
    assert_string_equal(jstr(wait_reply(&bb, x, PROTO_S_ACK, 2), "status"), "accepted");
    long u = wait_msg(&bb, spec, 0, PROTO_S_STATE_UPDATE, "event", "action");
    assert_string_equal(jstr(spec->msgs[u].data, "player_id"), x->player_id);
    assert_int_equal(jint(spec->msgs[u].data, "hand_id", -1), hand);
    stop_clean(&bb);

    /* Before any hand: no_hand. */
    START(&bb, "--hand-delay", "600000");
    struct tc *ann = tc_join(&bb, "ann", "main", false);
    struct tc *bob = tc_join(&bb, "bob", "main", false);
    wait_snapshot(&bb, ann);
    wait_snapshot(&bb, bob);
    tc_act(ann, "check", 0, 1, NULL);
    json_object *ack = wait_reply(&bb, ann, PROTO_S_ACK, 0);
    assert_string_equal(jstr(ack, "status"), "rejected");
    assert_string_equal(jstr(ack, "code"), "no_hand");
    stop_clean(&bb);
}

/* Heads-up, everyone checking or calling: every turn is announced, also when the player who
 * closed one street opens the next (the big blind preflop, then first on the flop). */
static void test_heads_up_turns(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    (void)state;
    START(&bb, "--hand-delay", "200");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    wait_snapshot(&bb, spec);
    struct tc *ps[2] = {tc_join(&bb, "ann", "main", false), tc_join(&bb, "bob", "main", false)};
    for (int i = 0; i < 2; i++) {
        ps[i]->play = TC_PLAY_CALL;
        wait_snapshot(&bb, ps[i]);
    }
    long hs = wait_full_hand_start(&bb, spec, 2);
    int64_t hand = jint(spec->msgs[hs].data, "hand_id", -1);
    if (!BB_WAIT(&bb, find_update(spec, 0, "hand_end", hand) >= 0 || ps[0]->bad || ps[1]->bad,
                 BB_TIMEOUT_MS))
        print_error("hand %lld stalled; turns without options: %d %d\n", (long long)hand,
                    ps[0]->turns_without_options, ps[1]->turns_without_options);
    assert_tc_ok(ps[0]);
    assert_tc_ok(ps[1]);
    long he = find_update(spec, 0, "hand_end", hand);
    assert_true(he > hs);
    /* 2 preflop (call, check) + 2 on each street, each after a turn for its player. */
    size_t actions = 0;
    for (long i = hs; i < he; i++) {
        const struct rmsg *m = &spec->msgs[i];
        const char *ev = jstr(m->data, "event");
        if (m->type != PROTO_S_STATE_UPDATE || !ev || strcmp(ev, "action") != 0) continue;
        actions++;
        long t = -1;
        for (long k = i - 1; k >= hs && t < 0; k--) {
            const char *kind = jstr(spec->msgs[k].data, "kind");
            if (spec->msgs[k].type == PROTO_S_NOTIFICATION && kind && strcmp(kind, "turn") == 0)
                t = k;
        }
        assert_true(t >= 0);
        assert_string_equal(jstr(spec->msgs[t].data, "player_id"), jstr(m->data, "player_id"));
        /* nothing else acted between that turn and this action */
        for (long k = t + 1; k < i; k++)
            assert_false(spec->msgs[k].type == PROTO_S_STATE_UPDATE &&
                         strcmp(jstr(spec->msgs[k].data, "event"), "action") == 0);
    }
    assert_int_equal(actions, 8);
    assert_int_equal(find_note(spec, (size_t)hs, "timeout", NULL), -1);
    stop_clean(&bb);
}

/* ---- resume --------------------------------------------------------------------------------- */

/* The messages of session (1-based) of t, from index *i on; returns the first index or -1. */
static long first_of_session(const struct tc *t, int session)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->msgs[i].session == session) return (long)i;
    return -1;
}

static void test_resume(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    (void)state;
    START(&bb, "--hand-delay", "600000");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    struct tc *bob = tc_join(&bb, "bob", "main", false);
    struct tc *ann = tc_join(&bb, "ann", "main", true);
    ann->resume = true;
    wait_snapshot(&bb, spec);
    wait_snapshot(&bb, bob);
    wait_snapshot(&bb, ann);
    tc_send(bob, "{\"type\": \"chat\", \"text\": \"before\"}");
    wait_msg(&bb, ann, 0, PROTO_S_CHAT, "text", "before");
    uint64_t last = ann->max_seq;
    size_t spec_mark = spec->n;

    /* The network fails under ann; the server notices; the table moves on without her. */
    wsconn_drop(ann->ws);
    wait_msg(&bb, spec, spec_mark, PROTO_S_NOTIFICATION, "kind", "player_disconnected");
    const char *texts[] = {"m1", "m2", "m3"};
    for (size_t i = 0; i < 3; i++) {
        char m[64];
        snprintf(m, sizeof(m), "{\"type\": \"chat\", \"text\": \"%s\"}", texts[i]);
        tc_send(bob, m);
    }
    wait_msg(&bb, spec, spec_mark, PROTO_S_CHAT, "text", "m3");

    /* wsclient reconnects by itself; hello carries last_seq; exactly the missed events follow. */
    assert_true(BB_WAIT(&bb, ann->opens == 2 || ann->bad, BB_TIMEOUT_MS));
    assert_int_equal(ann->closes, 1);
    assert_int_equal(ann->close_code, 0); /* no close frame: a network failure */
    long back = find_note(spec, spec_mark, "player_connected", ann->player_id);
    if (back < 0)
        back = wait_msg(&bb, spec, spec_mark, PROTO_S_NOTIFICATION, "kind", "player_connected");
    uint64_t upto = spec->msgs[back].seq;
    assert_true(BB_WAIT(&bb, ann->max_seq >= upto || ann->bad, BB_TIMEOUT_MS));
    assert_tc_ok(ann);
    long s2 = first_of_session(ann, 2);
    assert_true(s2 >= 0);
    uint64_t expect = last + 1;
    size_t replayed = 0;
    for (size_t i = (size_t)s2; i < ann->n; i++) {
        const struct rmsg *m = &ann->msgs[i];
        assert_int_not_equal(m->type, PROTO_S_SNAPSHOT);
        if (!m->has_seq) continue;
        assert_int_equal(m->seq, expect);
        const struct rmsg *o = msg_at_seq(spec, m->seq);
        assert_non_null(o);
        assert_string_equal(m->raw, o->raw);
        expect++;
        replayed++;
    }
    assert_true(replayed >= 5); /* disconnected, m1..m3, connected */
    for (size_t i = 0; i < 3; i++)
        assert_true(find_chat(ann, (size_t)s2, texts[i]) >= 0);
    assert_true(find_note(ann, (size_t)s2, "player_disconnected", ann->player_id) >= 0);

    /* A resume with nothing missed: no snapshot, no replay; the next event is last_seq + 1. */
    uint64_t now = ann->max_seq;
    char id[32], token[160];
    snprintf(id, sizeof(id), "%s", ann->player_id);
    snprintf(token, sizeof(token), "%s", ann->token);
    tc_free(ann); /* a clean close: the server publishes player_disconnected */
    struct tc *ann2 = tc_player(&bb, "ann2", "main", id, token, false);
    ann2->resume = true;
    ann2->max_seq = now;
    wait_open(&bb, ann2);
    long c = wait_msg(&bb, ann2, 0, PROTO_S_NOTIFICATION, "kind", "player_connected");
    assert_true(ann2->msgs[0].type == PROTO_S_NOTIFICATION);
    assert_int_equal(ann2->msgs[0].seq, now + 1);
    assert_string_equal(jstr(ann2->msgs[0].data, "kind"), "player_disconnected");
    assert_int_equal(ann2->msgs[c].seq, now + 2);
    tc_send(bob, "{\"type\": \"chat\", \"text\": \"after\"}");
    long a = wait_msg(&bb, ann2, 0, PROTO_S_CHAT, "text", "after");
    assert_int_equal(ann2->msgs[a].seq, now + 3);
    assert_int_equal(tc_count(ann2, PROTO_S_SNAPSHOT), 0);
    assert_tc_ok(ann2);
    stop_clean(&bb);
}

/* The value of the sample line starting with line_prefix (e.g. "felt_tables "), or
 * UINT64_MAX if there is none. */
static uint64_t metric_value(struct bb *bb, const char *line_prefix)
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

static void test_resume_snapshot(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    (void)state;
    START(&bb, "--history", "1024", "--bots", "3", "--bot-delay", "0", "--hand-delay", "0");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    struct tc *ann = tc_join(&bb, "ann", "main", false);
    wait_snapshot(&bb, spec);
    wait_snapshot(&bb, ann);
    uint64_t last = ann->max_seq;
    char id[32], token[160];
    snprintf(id, sizeof(id), "%s", ann->player_id);
    snprintf(token, sizeof(token), "%s", ann->token);
    tc_send(ann, "{\"type\": \"sit_out\"}");
    wait_msg(&bb, spec, 0, PROTO_S_NOTIFICATION, "kind", "player_sat_out");
    tc_free(ann);
    /* The bots play on until ann's last seq has left the 1024-event history. */
    if (!BB_WAIT(&bb, spec->max_seq > last + 1100 || spec->bad, 6 * BB_TIMEOUT_MS))
        print_error("the bots reached seq %llu only\n", (unsigned long long)spec->max_seq);
    assert_true(spec->max_seq > last + 1100);

    struct tc *old = tc_player(&bb, "old", "main", id, token, false);
    old->resume = true;
    old->max_seq = last;
    wait_snapshot(&bb, old);
    assert_int_equal(old->msgs[0].type, PROTO_S_SNAPSHOT);
    assert_true(old->msgs[0].seq > last + 1100);
    assert_string_equal(jstr(jget(old->msgs[0].data, "you"), "player_id"), id);
    assert_true(jbool(jget(old->msgs[0].data, "you"), "sitting_out", false));
    /* ... and then follows without gaps. */
    uint64_t next = old->msgs[0].seq + 1;
    assert_true(BB_WAIT(&bb, old->n >= 20 || old->bad, BB_TIMEOUT_MS));
    for (size_t i = 1; i < old->n; i++)
        if (old->msgs[i].has_seq) assert_int_equal(old->msgs[i].seq, next++);
    /* A last_seq from the future is not served from history either. */
    struct tc *future = tc_player(&bb, "future", "main", id, token, false);
    future->resume = true;
    future->max_seq = 1ull << 40;
    wait_snapshot(&bb, future);
    assert_int_equal(future->msgs[0].type, PROTO_S_SNAPSHOT);
    assert_true(future->msgs[0].seq < (1ull << 40));
    assert_int_equal(metric_value(&bb, "felt_resume_snapshots_total "), 2);
    stop_clean(&bb);
}

/* ---- the action clock ------------------------------------------------------------------------ */

static void test_action_clock(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    (void)state;
    START(&bb, "--action-timeout", "1", "--hand-delay", "200");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    wait_snapshot(&bb, spec);
    struct tc *ps[2] = {tc_join(&bb, "ann", "main", false), tc_join(&bb, "bob", "main", false)};
    wait_snapshot(&bb, ps[0]);
    wait_snapshot(&bb, ps[1]);
    long hs = wait_full_hand_start(&bb, spec, 2);
    json_object *ta = jget(spec->msgs[hs].data, "to_act");
    struct tc *x = to_act_player(spec->msgs[hs].data, ps, 2);
    assert_non_null(x);
    bool can_check = jbool(ta, "can_check", true);
    /* Nobody acts: a warning, then the timeout, then the server acts for x. */
    long turn = find_note(spec, (size_t)hs, "turn", x->player_id);
    if (turn < 0) turn = wait_msg(&bb, spec, (size_t)hs, PROTO_S_NOTIFICATION, "kind", "turn");
    long warn = wait_msg(&bb, spec, (size_t)turn, PROTO_S_NOTIFICATION, "kind", "timer_warning");
    long to = wait_msg(&bb, spec, (size_t)warn, PROTO_S_NOTIFICATION, "kind", "timeout");
    long act = wait_msg(&bb, spec, (size_t)to, PROTO_S_STATE_UPDATE, "event", "action");
    assert_string_equal(jstr(spec->msgs[warn].data, "player_id"), x->player_id);
    assert_true(jint(spec->msgs[warn].data, "seconds_left", -1) >= 0);
    assert_int_equal(jint(spec->msgs[warn].data, "deadline", -1), jint(ta, "deadline", -2));
    assert_string_equal(jstr(spec->msgs[to].data, "player_id"), x->player_id);
    assert_string_equal(jstr(spec->msgs[act].data, "player_id"), x->player_id);
    assert_string_equal(jstr(spec->msgs[act].data, "action"), can_check ? "check" : "fold");
    /* x's own socket saw the same. */
    assert_true(BB_WAIT(&bb, find_note(x, 0, "timeout", x->player_id) >= 0, BB_TIMEOUT_MS));
    assert_tc_ok(x);
    stop_clean(&bb);
}

/* ---- bad input --------------------------------------------------------------------------- */

static void test_malformed(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    struct http_reply r;
    (void)state;
    START(&bb, "--hand-delay", "600000");
    struct tc *ann = tc_join(&bb, "ann", "main", false);
    wait_snapshot(&bb, ann);
    char deep[256] = "{\"type\": \"chat\", \"text\": \"x\", \"n\": ";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    for (int i = 0; i < 40; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    static const struct {
        const char *msg, *code;
    } cases[] = {
        {"{", "bad_json"},
        {"[1, 2]", "bad_json"},
        {"{\"type\": \"chat\", \"text\": \"a\"} trailing", "bad_json"},
        {"{\"type\": \"dance\"}", "bad_type"},
        {"{\"text\": \"no type\"}", "bad_type"},
        {"{\"type\": 5}", "bad_type"},
        {"{\"type\": \"chat\", \"text\": 5}", "bad_field"},
        {"{\"type\": \"action\", \"action\": \"raise\", \"amount\": \"100\"}", "bad_field"},
        {"{\"type\": \"action\", \"action\": \"raise\", \"amount\": 1.5}", "bad_field"},
        {"{\"type\": \"action\", \"action\": \"raise\", \"amount\": 99999999999999999999999}",
         "bad_field"},
        {"{\"type\": \"action\", \"action\": \"raise\", \"amount\": 9223372036854775807}",
         "bad_field"},
        {"{\"type\": \"action\", \"action\": \"raise\", \"amount\": -5}", "bad_field"},
        {"{\"type\": \"action\", \"action\": \"dance\"}", "bad_field"},
        {"{\"type\": \"ping\", \"id\": 1e400}", "bad_field"},
        {"{\"type\": \"chat\", \"text\": \"\\ud800\"}", "invalid_utf8"},
        {NULL, "bad_json"}, /* the deep one */
    };
    for (size_t i = 0; i < FELT_ARRAY_LEN(cases); i++)
        tc_send(ann, cases[i].msg ? cases[i].msg : deep);
    const char bin[] = {0x00, 0x01, 0x02, (char)0xff};
    assert_int_equal(wsconn_send_binary(ann->ws, bin, sizeof(bin)), 0);
    tc_send(ann, "{\"type\": \"ping\", \"id\": 42}");
    assert_int_equal(jint(wait_reply(&bb, ann, PROTO_S_PONG, 0), "id", -1), 42);
    for (size_t i = 0; i < FELT_ARRAY_LEN(cases); i++) {
        json_object *e = wait_reply(&bb, ann, PROTO_S_ERROR, i);
        if (strcmp(jstr(e, "code"), cases[i].code) != 0)
            print_error("case %zu (%s): got %s\n", i, cases[i].msg ? cases[i].msg : "deep",
                        json_object_to_json_string(e));
        assert_string_equal(jstr(e, "code"), cases[i].code);
        assert_true(strlen(jstr(e, "message")) > 0);
    }
    assert_string_equal(jstr(wait_reply(&bb, ann, PROTO_S_ERROR, FELT_ARRAY_LEN(cases)), "code"),
                        "binary_frame");
    assert_int_equal(ann->closes, 0);

    /* A message over 16 KiB closes that socket with 1009, and only that one: sent plain, and
     * sent with permessage-deflate (where it is small on the wire and only its inflated size
     * tells). */
    size_t blen = 20000;
    char *huge = xmalloc(blen + 1);
    memset(huge, ' ', blen);
    memcpy(huge, "{\"type\": \"chat\", \"text\": \"", 26);
    memcpy(huge + blen - 2, "\"}", 2);
    huge[blen] = '\0';
    for (int deflate = 0; deflate < 2; deflate++) {
        bb.no_deflate = !deflate;
        struct tc *big = tc_spectator(&bb, deflate ? "big-z" : "big", "main", false);
        bb.no_deflate = false;
        wait_snapshot(&bb, big);
        assert_int_equal(wsconn_compressed(big->ws), deflate);
        tc_send(big, huge);
        assert_true(BB_WAIT(&bb, big->closes > 0, BB_TIMEOUT_MS));
        if (big->close_code != 1009)
            print_error("%s: closed with %d (%s)\n", big->name, big->close_code, big->close_reason);
        assert_int_equal(big->close_code, 1009);
    }
    free(huge);

    /* Invalid UTF-8 in a text frame is a protocol error of WebSocket itself (1007). */
    struct tc *raw = tc_spectator(&bb, "raw", "main", false);
    wait_snapshot(&bb, raw);
    tc_send(raw, "{\"type\": \"chat\", \"text\": \"\xff\xfe\"}");
    assert_true(BB_WAIT(&bb, raw->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(raw->close_code, 1007);

    /* A flood is throttled, not fatal: the connection stays and is answered. */
    struct tc *flood = tc_spectator(&bb, "flood", "main", false);
    wait_snapshot(&bb, flood);
    for (int i = 0; i < 250; i++)
        tc_send(flood, "{\"type\": \"ping\", \"id\": 1}");
    assert_true(BB_WAIT(&bb, tc_count(flood, PROTO_S_ERROR) > 0 || flood->closes, BB_TIMEOUT_MS));
    assert_string_equal(jstr(tc_last(flood, PROTO_S_ERROR, NULL, NULL), "code"), "rate_limited");
    assert_int_equal(flood->closes, 0);

    /* The server and the other connections carry on. */
    tc_send(ann, "{\"type\": \"ping\", \"id\": 43}");
    assert_int_equal(jint(wait_reply(&bb, ann, PROTO_S_PONG, 1), "id", -1), 43);
    tc_send(ann, "{\"type\": \"chat\", \"text\": \"still fine\"}");
    wait_msg(&bb, ann, 0, PROTO_S_CHAT, "text", "still fine");
    bb_http(&bb, "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    http_reply_free(&r);
    assert_true(feltd_running(&bb.srv));
    assert_tc_ok(ann);
    stop_clean(&bb);
}

/* ---- the HTTP fallback ------------------------------------------------------------------------
 */

/* One poll of /state?since with an optional bearer; returns the parsed answer (owned) and, if
 * body is not NULL, the raw answer (malloc'd). */
static json_object *poll_state(struct bb *bb, uint64_t since, const char *bearer, char **body)
{
    struct http_reply r;
    char path[96];
    snprintf(path, sizeof(path), "/api/games/main/state?since=%llu", (unsigned long long)since);
    bb_http(bb, path, NULL, bearer, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(r.json);
    json_object *j = json_object_get(r.json);
    if (body) *body = xstrdup(r.body);
    http_reply_free(&r);
    return j;
}

/* Each polled event is, byte for byte, the message the WebSocket client ws received with that
 * seq: the poll answer embeds the WebSocket messages verbatim. */
static void check_polled(json_object *events, const char *body, const struct tc *ws)
{
    assert_true(json_object_array_length(events) > 0);
    for (size_t i = 0; i < json_object_array_length(events); i++) {
        json_object *e = json_object_array_get_idx(events, i);
        const struct rmsg *m = msg_at_seq(ws, (uint64_t)jint(e, "seq", -1));
        assert_non_null(m);
        assert_non_null(strstr(body, m->raw));
        json_object *mine = jparse(m->raw, m->len);
        assert_true(json_object_equal(mine, e));
        json_object_put(mine);
    }
}

static void test_http_fallback(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    struct http_reply r;
    (void)state;
    START(&bb, "--hand-delay", "300");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    wait_snapshot(&bb, spec);
    struct tc *ps[2] = {tc_join(&bb, "ann", "main", false), tc_join(&bb, "bob", "main", false)};
    for (int i = 0; i < 2; i++) {
        ps[i]->play = TC_PLAY_CALL;
        wait_snapshot(&bb, ps[i]);
    }
    /* cat plays over HTTP only. */
    bb_http(&bb, "/api/games/main/join", "{\"name\": \"cat\"}", NULL, &r);
    assert_int_equal(r.status, 200);
    char cat_id[32], cat_token[160];
    snprintf(cat_id, sizeof(cat_id), "%s", jstr(r.json, "player_id"));
    snprintf(cat_token, sizeof(cat_token), "%s", jstr(r.json, "token"));
    http_reply_free(&r);

    /* Without since: a snapshot; the bearer's own view names cat. */
    bb_http(&bb, "/api/games/main/state", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    json_object *ev0 = json_object_array_get_idx(jget(r.json, "events"), 0);
    assert_string_equal(jstr(ev0, "type"), "snapshot");
    assert_true(json_object_is_type(jget(jget(ev0, "data"), "you"), json_type_null));
    http_reply_free(&r);
    bb_http(&bb, "/api/games/main/state", NULL, cat_token, &r);
    ev0 = json_object_array_get_idx(jget(r.json, "events"), 0);
    assert_string_equal(jstr(jget(jget(ev0, "data"), "you"), "player_id"), cat_id);
    http_reply_free(&r);
    bb_http(&bb, "/api/games/main/state?since=0", NULL, "not-a-token", &r);
    assert_int_equal(r.status, 401);
    http_reply_free(&r);

    /* Play a hand: cat acts over HTTP whenever the spectator sees its turn. */
    long hs = wait_full_hand_start(&bb, spec, 3);
    int64_t hand = jint(spec->msgs[hs].data, "hand_id", -1);
    uint64_t first = spec->msgs[hs].seq, since = first - 1;
    size_t from = (size_t)hs, acted = 0;
    json_object *cat_view = json_object_new_array(); /* every event cat polled */
    for (;;) {
        BB_WAIT(&bb,
                find_note(spec, from, "turn", cat_id) >= 0 ||
                    find_update(spec, 0, "hand_end", hand) >= 0,
                BB_TIMEOUT_MS);
        long turn = find_note(spec, from, "turn", cat_id);
        json_object *j = poll_state(&bb, since, cat_token, NULL);
        json_object *evs = jget(j, "events");
        assert_int_equal(jint(j, "seq", -1) - (int64_t)since,
                         (int64_t)json_object_array_length(evs));
        json_object *ta = NULL;
        for (size_t i = 0; i < json_object_array_length(evs); i++) {
            json_object *e = json_object_array_get_idx(evs, i);
            assert_int_equal(jint(e, "seq", -1), (int64_t)(since + 1 + i));
            json_object_array_add(cat_view, json_object_get(e));
            json_object *d = jget(e, "data");
            if (strcmp(jstr(e, "type"), "state_update") == 0) ta = jget(d, "to_act");
        }
        since = (uint64_t)jint(j, "seq", -1);
        if (turn < 0) {
            json_object_put(j);
            break;
        }
        from = (size_t)turn + 1;
        assert_string_equal(jstr(ta, "player_id"), cat_id);
        char body[200];
        snprintf(body, sizeof(body),
                 "{\"action\": \"%s\", \"hand_id\": %lld, \"request_id\": \"cat-%zu\"}",
                 jbool(ta, "can_check", false) ? "check" : "call", (long long)hand, acted);
        json_object_put(j);
        bb_http(&bb, "/api/games/main/action", body, cat_token, &r);
        assert_int_equal(r.status, 200);
        json_object *ack = jget(r.json, "data");
        assert_string_equal(jstr(r.json, "type"), "ack");
        assert_string_equal(jstr(ack, "status"), "accepted");
        /* The resend is answered with the same bytes and changes nothing. */
        struct http_reply again;
        bb_http(&bb, "/api/games/main/action", body, cat_token, &again);
        assert_string_equal(again.body, r.body);
        http_reply_free(&again);
        http_reply_free(&r);
        acted++;
    }
    assert_true(acted >= 4);
    assert_true(find_update(spec, 0, "hand_end", hand) >= 0);
    for (int i = 0; i < 2; i++)
        assert_tc_ok(ps[i]);
    /* cat's acts were applied once each. */
    assert_int_equal(tc_count_updates(spec, "action", cat_id), acted);

    /* What cat polled is what a WebSocket in cat's seat would have got: the public events as
     * the spectator saw them, and cat's own private renderings (its cards, your_turn). */
    char cards[2][8];
    bool seen_own_cards = false;
    for (size_t i = 0; i < json_object_array_length(cat_view); i++) {
        json_object *e = json_object_array_get_idx(cat_view, i);
        const struct rmsg *m = msg_at_seq(spec, (uint64_t)jint(e, "seq", -1));
        assert_non_null(m);
        json_object *pub = jparse(m->raw, m->len);
        const char *ev = jstr(jget(e, "data"), "event"), *kind = jstr(jget(e, "data"), "kind");
        bool priv =
            (ev && strcmp(ev, "hand_start") == 0) || (kind && strcmp(kind, "your_turn") == 0);
        if (priv) {
            assert_false(json_object_equal(pub, e));
            if (ev && strcmp(ev, "hand_start") == 0) {
                json_object *mine = entry_of(jget(jget(e, "data"), "players"), cat_id);
                assert_int_equal(json_object_array_length(jget(mine, "cards")), 2);
                seen_own_cards = true;
            } else {
                assert_string_equal(jstr(jget(e, "data"), "player_id"), cat_id);
            }
        } else {
            assert_true(json_object_equal(pub, e));
        }
        json_object_put(pub);
    }
    assert_true(seen_own_cards);
    /* Privacy of the poll views: ann's and bob's cards reach neither cat's view nor the public
     * one before the showdown shows them (and never if mucked). */
    char *pub_body;
    json_object *pub_view = poll_state(&bb, first - 1, NULL, &pub_body);
    check_polled(jget(pub_view, "events"), pub_body, spec);
    free(pub_body);
    long sd = find_update(spec, 0, "showdown", hand);
    json_object *shows = sd >= 0 ? jget(spec->msgs[sd].data, "shows") : NULL;
    json_object *views[2] = {cat_view, jget(pub_view, "events")};
    for (int p = 0; p < 2; p++) {
        assert_int_equal(hole_cards(ps[p], hand, cards), 2);
        uint64_t public_from = entry_of(shows, ps[p]->player_id) ? spec->msgs[sd].seq : UINT64_MAX;
        for (int v = 0; v < 2; v++) {
            for (size_t i = 0; i < json_object_array_length(views[v]); i++) {
                json_object *e = json_object_array_get_idx(views[v], i);
                if ((uint64_t)jint(e, "seq", 0) >= public_from) continue;
                const char *txt = json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN);
                assert_null(strstr(txt, cards[0]));
                assert_null(strstr(txt, cards[1]));
            }
        }
    }
    json_object_put(pub_view);
    json_object_put(cat_view);

    /* Chat over HTTP is the same chat, with the same limit. */
    bb_http(&bb, "/api/games/main/chat", "{\"text\": \"via \\u001b[1mhttp\"}", cat_token, &r);
    assert_int_equal(r.status, 200);
    assert_true(jbool(r.json, "ok", false));
    http_reply_free(&r);
    long c = wait_msg(&bb, spec, 0, PROTO_S_CHAT, "text", "via http");
    assert_string_equal(jstr(spec->msgs[c].data, "player_id"), cat_id);
    for (int i = 0; i < 4; i++) {
        bb_http(&bb, "/api/games/main/chat", "{\"text\": \"more\"}", cat_token, &r);
        assert_int_equal(r.status, 200);
        http_reply_free(&r);
    }
    bb_http(&bb, "/api/games/main/chat", "{\"text\": \"too many\"}", cat_token, &r);
    assert_int_equal(r.status, 429);
    assert_string_equal(jstr(jget(r.json, "data"), "code"), "rate_limited");
    http_reply_free(&r);

    /* Same rules as the socket: a stale hand is refused with the same code. */
    bb_http(&bb, "/api/games/main/action", "{\"action\": \"check\", \"hand_id\": 0}", cat_token,
            &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(jget(r.json, "data"), "status"), "rejected");
    assert_true(strcmp(jstr(jget(r.json, "data"), "code"), "stale_hand") == 0 ||
                strcmp(jstr(jget(r.json, "data"), "code"), "no_hand") == 0);
    http_reply_free(&r);

    /* HTTP errors. */
    static const struct {
        const char *path, *body, *bearer;
        int status;
    } errs[] = {
        {"/api/games/main/action", "{\"action\": \"fold\"}", NULL, 401},
        {"/api/games/main/action", "{\"action\": \"fold\"}", "0123", 401},
        {"/api/games/main/action", "{\"action\": ", "TOKEN", 400},
        {"/api/games/main/action", "{\"type\": \"chat\", \"text\": \"x\"}", "TOKEN", 400},
        {"/api/games/nope/state", NULL, NULL, 404},
        {"/api/games/main/join", NULL, NULL, 405},
        {"/nowhere", NULL, NULL, 404},
    };
    for (size_t i = 0; i < FELT_ARRAY_LEN(errs); i++) {
        const char *bearer =
            errs[i].bearer && strcmp(errs[i].bearer, "TOKEN") == 0 ? cat_token : errs[i].bearer;
        bb_http(&bb, errs[i].path, errs[i].body, bearer, &r);
        assert_int_equal(r.status, errs[i].status);
        assert_string_equal(jstr(r.json, "type"), "error");
        http_reply_free(&r);
    }
    char *big = xmalloc(17000 + 1);
    memset(big, ' ', 17000);
    memcpy(big, "{\"name\": \"x\"", 12);
    big[16999] = '}';
    big[17000] = '\0';
    bb_http(&bb, "/api/games/main/join", big, NULL, &r);
    free(big);
    assert_int_equal(r.status, 413);
    http_reply_free(&r);
    /* The lobby. */
    bb_http(&bb, "/api/games", NULL, NULL, &r);
    json_object *g = json_object_array_get_idx(jget(r.json, "games"), 0);
    assert_int_equal(jint(g, "seats_taken", -1), 3);
    assert_int_equal(jint(g, "spectators", -1), 1);
    assert_int_equal(jint(g, "hand_id", -1),
                     hand + (find_update(spec, 0, "hand_start", hand + 1) >= 0));
    http_reply_free(&r);
    stop_clean(&bb);
}

/* ---- metrics, health, shutdown ----------------------------------------------------------------
 */

/* Checks one Prometheus sample line: name{labels} value. Returns false if malformed. */
static bool metrics_line_ok(const char *line)
{
    const char *p = line;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':'))
        return false;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '_' || *p == ':')
        p++;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_')) return false;
            while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '_')
                p++;
            if (p[0] != '=' || p[1] != '"') return false;
            p += 2;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) p++;
                p++;
            }
            if (*p != '"') return false;
            p++;
            if (*p == ',')
                p++;
            else if (*p != '}')
                return false;
        }
        p++;
    }
    if (*p != ' ') return false;
    p++;
    if (strcmp(p, "+Inf") == 0 || strcmp(p, "-Inf") == 0 || strcmp(p, "NaN") == 0) return true;
    char *end;
    strtod(p, &end);
    return end != p && *end == '\0';
}

static void test_metrics(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    struct http_reply r;
    (void)state;
    START(&bb, "--table", "a:6:5/10:1000", "--table", "b:2:1/2:100", "--hand-delay", "200");
    struct tc *sa = tc_spectator(&bb, "sa", "a", false);
    struct tc *sb = tc_spectator(&bb, "sb", "b", false);
    wait_snapshot(&bb, sa);
    wait_snapshot(&bb, sb);
    struct tc *ps[2] = {tc_join(&bb, "ann", "a", false), tc_join(&bb, "bob", "a", false)};
    for (int i = 0; i < 2; i++) {
        ps[i]->play = TC_PLAY_CALL;
        wait_snapshot(&bb, ps[i]);
    }
    long hs = wait_full_hand_start(&bb, sa, 2);
    int64_t hand = jint(sa->msgs[hs].data, "hand_id", -1);
    assert_true(BB_WAIT(&bb, find_update(sa, 0, "hand_end", hand) >= 0, BB_TIMEOUT_MS));
    /* Table b saw none of it. */
    assert_int_equal(tc_count(sb, PROTO_S_STATE_UPDATE), 0);

    bb_http(&bb, "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(jbool(r.json, "ok", false));
    assert_int_equal(jint(r.json, "tables", -1), 2);
    http_reply_free(&r);

    bb_http(&bb, "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    char *text = xstrdup(r.body), *save = NULL;
    size_t samples = 0;
    double buckets_prev = -1, inf = -1, count = -2;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') {
            assert_true(strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0);
            continue;
        }
        if (!metrics_line_ok(line)) print_error("bad metrics line: '%s'\n", line);
        assert_true(metrics_line_ok(line));
        samples++;
        double v = strtod(strrchr(line, ' ') + 1, NULL);
        if (strncmp(line, "felt_action_broadcast_latency_seconds_bucket", 44) == 0) {
            assert_true(v >= buckets_prev); /* cumulative */
            buckets_prev = v;
            if (strstr(line, "le=\"+Inf\"")) inf = v;
        }
        if (strncmp(line, "felt_action_broadcast_latency_seconds_count ", 44) == 0) count = v;
    }
    free(text);
    assert_true(samples >= 20);
    assert_true(inf >= 8); /* 8 actions, each delivered to 3 sockets */
    assert_true(inf == count);
    http_reply_free(&r);
    assert_int_equal(metric_value(&bb, "felt_connections{role=\"spectator\"} "), 2);
    assert_int_equal(metric_value(&bb, "felt_connections{role=\"player\"} "), 2);
    assert_int_equal(metric_value(&bb, "felt_tables "), 2);
    /* Only the request asking: every earlier HTTP connection was closed by one side. */
    assert_int_equal(metric_value(&bb, "felt_connections{role=\"http\"} "), 1);
    assert_int_equal(metric_value(&bb, "felt_actions_total "), 8);
    assert_int_equal(metric_value(&bb, "felt_actions_rejected_total "), 0);
    assert_true(metric_value(&bb, "felt_messages_in_total ") >= 10); /* 2 hellos + 8 actions */
    assert_true(metric_value(&bb, "felt_http_requests_total ") >= 4);
    /* No secret reaches the metrics. */
    bb_http(&bb, "/metrics", NULL, NULL, &r);
    assert_null(strstr(r.body, ps[0]->token));
    assert_null(strstr(r.body, ps[0]->player_id));
    http_reply_free(&r);
    stop_clean(&bb);
}

static void test_shutdown(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    (void)state;
    START(&bb, "--hand-delay", "600000");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    struct tc *ann = tc_join(&bb, "ann", "main", false);
    wait_snapshot(&bb, spec);
    wait_snapshot(&bb, ann);
    assert_int_equal(kill(bb.srv.pid, SIGTERM), 0);
    assert_true(BB_WAIT(&bb, spec->closes > 0 && ann->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(spec->close_code, 1001);
    assert_int_equal(ann->close_code, 1001);
    stop_clean(&bb); /* exit status 0 */
}

/* ---- wsclient itself ----------------------------------------------------------------------------
 */

struct wc_probe {
    struct bb *bb;
    int opens, messages, closes, states, reconnecting;
    int last_code, max_attempt;
    int64_t max_next_in;
    bool close_on_message;
    struct wsconn *c;
};

static void wc_open(struct wsconn *c, void *user)
{
    struct wc_probe *p = user;
    (void)c;
    p->opens++;
    wsloop_stop(p->bb->loop);
}

static void wc_message(struct wsconn *c, void *user, const char *buf, size_t len)
{
    struct wc_probe *p = user;
    (void)buf;
    (void)len;
    p->messages++;
    if (p->close_on_message) {
        wsconn_close(c, 1000, "done"); /* from inside its own callback */
        p->c = NULL;
    }
    wsloop_stop(p->bb->loop);
}

static void wc_close(struct wsconn *c, void *user, int code, const char *reason)
{
    struct wc_probe *p = user;
    (void)c;
    (void)reason;
    p->closes++;
    p->last_code = code;
    wsloop_stop(p->bb->loop);
}

static void wc_state(struct wsconn *c, void *user, enum wsconn_state st)
{
    struct wc_probe *p = user;
    p->states++;
    if (st == WSCONN_RECONNECTING) {
        int attempt;
        int64_t next;
        wsconn_retry_info(c, &attempt, &next);
        p->reconnecting++;
        if (attempt > p->max_attempt) p->max_attempt = attempt;
        if (next > p->max_next_in) p->max_next_in = next;
        if (attempt != p->reconnecting)
            p->last_code = -1000 - attempt; /* attempts must count 1, 2, 3, ... */
    }
    wsloop_stop(p->bb->loop);
}

static struct wsconn *wc_new(struct bb *bb, struct wc_probe *p, const char *path, bool deflate,
                             bool reconnect)
{
    char url[128];
    struct wsconn_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    snprintf(url, sizeof(url), "%s%s", bb->ws, path);
    cfg.url = url;
    cfg.subprotocol = PROTO_SUBPROTOCOL;
    cfg.deflate = deflate;
    cfg.reconnect = reconnect;
    cfg.user = p;
    cfg.on_open = wc_open;
    cfg.on_message = wc_message;
    cfg.on_close = wc_close;
    cfg.on_state = wc_state;
    p->bb = bb;
    p->c = wsconn_new(bb->loop, &cfg, NULL, 0);
    return p->c;
}

struct fd_probe {
    struct bb *bb;
    int fd, calls, eof;
    char got[16];
    size_t len;
    bool forgotten;
};

static void fd_readable(void *arg)
{
    struct fd_probe *f = arg;
    char buf[16];
    f->calls++;
    ssize_t n = read(f->fd, buf, sizeof(buf));
    if (n > 0 && f->len + (size_t)n < sizeof(f->got)) {
        memcpy(f->got + f->len, buf, (size_t)n);
        f->len += (size_t)n;
    }
    if (n == 0) {
        f->eof++;
        wsloop_forget_fd(f->bb->loop, f->fd);
        f->forgotten = true;
    }
    wsloop_stop(f->bb->loop);
}

struct timer_probe {
    struct bb *bb;
    int fired;
    int order;
};

static int timer_seq;
static void timer_fire(void *arg)
{
    struct timer_probe *t = arg;
    t->fired++;
    t->order = ++timer_seq;
    wsloop_stop(t->bb->loop);
}

struct http_probe {
    struct bb *bb;
    int status;
    bool done, error;
};

static void http_probe_done(void *arg, const struct wshttp_result *res)
{
    struct http_probe *h = arg;
    h->done = true;
    h->status = res->status;
    h->error = res->error != NULL;
    wsloop_stop(h->bb->loop);
}

static void test_wsclient(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    struct http_reply r;
    (void)state;
    START(&bb, "--hand-delay", "600000");

    /* permessage-deflate is negotiated when offered, not otherwise. */
    struct wc_probe z = {0}, plain = {0};
    struct wsconn *cz = wc_new(&bb, &z, "/ws/spectate/main", true, false);
    struct wsconn *cp = wc_new(&bb, &plain, "/ws/spectate/main", false, false);
    assert_true(BB_WAIT(&bb, z.messages > 0 && plain.messages > 0, BB_TIMEOUT_MS));
    assert_true(wsconn_compressed(cz));
    assert_false(wsconn_compressed(cp));
    assert_int_equal(wsconn_state(cz), WSCONN_OPEN);
    uint64_t wire, payload;
    wsconn_bytes(cp, &wire, &payload);
    assert_true(payload > 0 && wire > payload); /* framing and the upgrade on top */

    /* With deflate, a message that compresses to more than lws's buffers (random text) and the
     * message queued right behind it both arrive whole and in order. */
    struct tc *zc = tc_spectator(&bb, "zc", "main", false);
    wait_snapshot(&bb, zc);
    assert_true(wsconn_compressed(zc->ws));
    size_t zlen = 12000;
    char *rnd = xmalloc(zlen + 64);
    int off = snprintf(rnd, zlen + 64, "{\"type\": \"chat\", \"text\": \"");
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < zlen; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        rnd[off + (int)i] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[x & 63];
    }
    snprintf(rnd + off + zlen, 64, "\"}");
    for (int i = 0; i < 3; i++) {
        tc_send(zc, rnd);
        tc_send(zc, "{\"type\": \"ping\", \"id\": 5}");
    }
    free(rnd);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(jstr(wait_reply(&bb, zc, PROTO_S_ERROR, i), "code"), "too_long");
        assert_int_equal(jint(wait_reply(&bb, zc, PROTO_S_PONG, i), "id", -1), 5);
    }
    assert_int_equal(zc->closes, 0);

    /* Closing from inside on_message: no callback afterwards (and nothing freed early). */
    struct wc_probe once = {.close_on_message = true};
    wc_new(&bb, &once, "/ws/spectate/main", true, false);
    assert_true(BB_WAIT(&bb, once.messages > 0, BB_TIMEOUT_MS));
    struct tc *ann = tc_join(&bb, "ann", "main", false); /* events every spectator would get */
    wait_snapshot(&bb, ann);
    assert_true(BB_WAIT(&bb, z.messages >= 4, BB_TIMEOUT_MS));
    assert_int_equal(once.messages, 1);
    assert_int_equal(once.closes, 0);
    assert_int_equal(metric_value(&bb, "felt_connections{role=\"spectator\"} "),
                     3); /* z, plain, zc */

    /* More connections at once than the loop runs handshakes at once: they wait their turn. */
    struct tc *crowd[150];
    for (size_t i = 0; i < FELT_ARRAY_LEN(crowd); i++)
        crowd[i] = tc_spectator(&bb, "crowd", "main", false);
    for (size_t i = 0; i < FELT_ARRAY_LEN(crowd); i++) {
        wait_snapshot(&bb, crowd[i]);
        assert_int_equal(crowd[i]->closes, 0);
    }
    assert_int_equal(metric_value(&bb, "felt_connections{role=\"spectator\"} "),
                     3 + FELT_ARRAY_LEN(crowd));
    for (size_t i = 0; i < FELT_ARRAY_LEN(crowd); i++)
        tc_free(crowd[i]);

    /* The queue is bounded. */
    struct wc_probe q = {0};
    char url[128];
    struct wsconn_config qc;
    memset(&qc, 0, sizeof(qc));
    snprintf(url, sizeof(url), "%s/ws/spectate/main", bb.ws);
    qc.url = url;
    qc.max_queue = 3;
    qc.user = &q;
    q.bb = &bb;
    struct wsconn *cq = wsconn_new(bb.loop, &qc, NULL, 0);
    assert_non_null(cq);
    for (int i = 0; i < 3; i++)
        assert_int_equal(wsconn_send(cq, "{}", 2), 0);
    assert_int_equal(wsconn_send(cq, "{}", 2), -1);
    assert_int_equal(wsconn_send_first(cq, "{}", 2), -1);
    assert_int_equal(wsconn_queued(cq), 3);
    wsconn_clear_queue(cq);
    assert_int_equal(wsconn_queued(cq), 0);
    wsconn_close(cq, 1000, "bye");
    char err[128];
    struct wsconn_config bad = qc;
    bad.url = "http://127.0.0.1:1/x";
    assert_null(wsconn_new(bb.loop, &bad, err, sizeof(err)));
    assert_true(strlen(err) > 0);
    assert_int_equal(wshttp_request(bb.loop, "ws://127.0.0.1:1/", NULL, NULL, NULL, NULL), -1);

    /* Timers fire in order; a cancelled one does not. */
    struct timer_probe t1 = {&bb, 0, 0}, t2 = {&bb, 0, 0}, t3 = {&bb, 0, 0};
    struct wstimer *w1 = wstimer_new(bb.loop, timer_fire, &t1);
    struct wstimer *w2 = wstimer_new(bb.loop, timer_fire, &t2);
    struct wstimer *w3 = wstimer_new(bb.loop, timer_fire, &t3);
    wstimer_arm(w1, 30);
    wstimer_arm(w2, 10);
    wstimer_arm(w3, 20);
    wstimer_cancel(w3);
    assert_true(BB_WAIT(&bb, t1.fired > 0, BB_TIMEOUT_MS));
    assert_int_equal(t2.fired, 1);
    assert_int_equal(t3.fired, 0);
    assert_true(t2.order < t1.order);
    wstimer_free(w1);
    wstimer_free(w2);
    wstimer_free(w3);

    /* An adopted descriptor: data, then EOF, in the same loop. */
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    struct fd_probe f = {.bb = &bb, .fd = pfd[0]};
    assert_int_equal(wsloop_adopt_fd(bb.loop, pfd[0], fd_readable, &f), 0);
    assert_int_equal(write(pfd[1], "hi", 2), 2);
    assert_true(BB_WAIT(&bb, f.len == 2, BB_TIMEOUT_MS));
    assert_memory_equal(f.got, "hi", 2);
    close(pfd[1]);
    assert_true(BB_WAIT(&bb, f.eof > 0, BB_TIMEOUT_MS));
    assert_true(f.forgotten);
    assert_int_equal(fcntl(pfd[0], F_GETFD), 0); /* still the caller's, still open */
    close(pfd[0]);

    /* Reconnects back off and count attempts; HTTP to nowhere fails cleanly. "Nowhere" is a
     * port we hold bound but never listen on, so nothing else can take it meanwhile. */
    int dead_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    assert_true(dead_fd >= 0);
    assert_int_equal(bind(dead_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(dead_fd, (struct sockaddr *)&sa, &sl), 0);
    int dead_port = ntohs(sa.sin_port);
    struct wc_probe rc = {0};
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws/spectate/main", dead_port);
    struct wsconn_config rcfg = qc;
    rcfg.url = url;
    rcfg.reconnect = true;
    rcfg.user = &rc;
    rcfg.on_close = wc_close;
    rcfg.on_state = wc_state;
    rc.bb = &bb;
    struct wsconn *crc = wsconn_new(bb.loop, &rcfg, NULL, 0);
    assert_true(BB_WAIT(&bb, rc.reconnecting >= 3, BB_TIMEOUT_MS));
    assert_int_equal(rc.max_attempt, 3);
    assert_int_equal(rc.closes, 3);
    assert_int_equal(rc.last_code, 0);
    assert_int_equal(rc.opens, 0);
    assert_true(rc.max_next_in <= 2400); /* 2 s and its jitter at the third attempt */
    assert_int_equal(wsconn_state(crc), WSCONN_RECONNECTING);
    wsconn_close(crc, 1000, "bye");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", dead_port);
    struct http_probe hp = {.bb = &bb, .status = -1};
    assert_int_equal(wshttp_request(bb.loop, url, NULL, NULL, http_probe_done, &hp), 0);
    assert_true(BB_WAIT(&bb, hp.done, BB_TIMEOUT_MS));
    assert_int_equal(hp.status, 0);
    assert_true(hp.error);
    bb_http(&bb, "/healthz", NULL, NULL, &r); /* the live one answers */
    assert_int_equal(r.status, 200);
    http_reply_free(&r);
    assert_int_equal(rc.closes, 3); /* nothing after wsconn_close */
    close(dead_fd);
    stop_clean(&bb);
}

/* Players learn how many watch: the count follows spectators arriving and leaving (coalesced by
 * the server to at most one notification a second, so only the final counts are checked). */
static int64_t last_spectator_count(const struct tc *t)
{
    json_object *d = tc_last(t, PROTO_S_NOTIFICATION, "kind", "spectators");
    return d ? jint(d, "count", -1) : -1;
}

static void test_spectators_count(void **state)
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
    assert_tc_ok(ann);
    tc_free(specs[0]);
    assert_true(BB_WAIT(&bb, last_spectator_count(ann) == 2 || ann->bad, BB_TIMEOUT_MS));
    assert_tc_ok(ann);
    /* The lobby agrees. */
    struct http_reply r;
    bb_http(&bb, "/api/games", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(json_object_array_get_idx(jget(r.json, "games"), 0), "spectators", -1),
                     2);
    http_reply_free(&r);
    stop_clean(&bb);
}

/* ---- main ------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_join_http, teardown),
        cmocka_unit_test_teardown(test_join_ws, teardown),
        cmocka_unit_test_teardown(test_hello_bad_token, teardown),
        cmocka_unit_test_teardown(test_replace_4409, teardown),
        cmocka_unit_test_teardown(test_full_hand, teardown),
        cmocka_unit_test_teardown(test_event_sequence, teardown),
        cmocka_unit_test_teardown(test_hole_card_privacy, teardown),
        cmocka_unit_test_teardown(test_spectator_refused, teardown),
        cmocka_unit_test_teardown(test_chat, teardown),
        cmocka_unit_test_teardown(test_duplicate_request_id, teardown),
        cmocka_unit_test_teardown(test_stale_hand, teardown),
        cmocka_unit_test_teardown(test_heads_up_turns, teardown),
        cmocka_unit_test_teardown(test_resume, teardown),
        cmocka_unit_test_teardown(test_resume_snapshot, teardown),
        cmocka_unit_test_teardown(test_action_clock, teardown),
        cmocka_unit_test_teardown(test_malformed, teardown),
        cmocka_unit_test_teardown(test_http_fallback, teardown),
        cmocka_unit_test_teardown(test_metrics, teardown),
        cmocka_unit_test_teardown(test_shutdown, teardown),
        cmocka_unit_test_teardown(test_wsclient, teardown),
        cmocka_unit_test_teardown(test_spectators_count, teardown),
    };
    if (argc < 2) {
        fprintf(stderr, "usage: %s FELTD_PATH [TEST_NAME]\n", argv[0]);
        return 2;
    }
    feltd_path = argv[1];
    signal(SIGPIPE, SIG_IGN);
    if (argc > 2) {
        char pattern[128];
        snprintf(pattern, sizeof(pattern), "test_%s", argv[2]);
        cmocka_set_test_filter(pattern);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
