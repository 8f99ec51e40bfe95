/*
 * test_proxy.c: a player's socket carried to its table's owner node (server/proxy.c), with a
 * fake network layer (struct proxy_io recording what it is asked) on the fake clock: the hello
 * said first on every upstream (as written the first time, plain after), an owner that moves,
 * failed upstreams retried after a growing wait (a new owner at once),
 * the owner's close codes passed on or not, an error from this node after the owner's frames,
 * both queues' bounds, and the player closed when no
 * node plays the table or when this node takes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fakeclock.h"
#include "proxy.h"

static struct {
    int connects, drops, wake_player, wake_owner;
    char url[TABLE_URL_MAX + 1], path[128];
    int player_paused, owner_paused; /* the last pause asked: 1 paused, 0 resumed, -1 none */
} io;

static int fake_connect(void *link, const char *url, const char *path)
{
    (void)link;
    io.connects++;
    snprintf(io.url, sizeof(io.url), "%s", url);
    snprintf(io.path, sizeof(io.path), "%s", path);
    return 0;
}
static void fake_drop(void *link) { (void)link; io.drops++; }
static void fake_wake_player(void *link) { (void)link; io.wake_player++; }
static void fake_wake_owner(void *link) { (void)link; io.wake_owner++; }
static int64_t fake_retry_ms(void *link, unsigned tries)
{
    (void)link;
    return 100 << (tries < 4 ? tries : 4); /* 100, 200, 400, 800, 1600 ms */
}
static void fake_pause_player(void *link, bool pause) { (void)link; io.player_paused = pause; }
static void fake_pause_owner(void *link, bool pause) { (void)link; io.owner_paused = pause; }

static const struct proxy_io fake_io = {
    .connect = fake_connect, .drop = fake_drop, .wake_player = fake_wake_player,
    .wake_owner = fake_wake_owner, .retry_ms = fake_retry_ms, .pause_player = fake_pause_player,
    .pause_owner = fake_pause_owner,
};

static struct table table; /* proxy.c reads only standby and owner_url */

#define HELLO "{\"type\":\"hello\",\"token\":\"" \
              "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"," \
              "\"last_seq\":41,\"epoch\":\"5d41402abc4b2a76b9719d911017c592\"}"
#define ACTION "{\"type\":\"action\",\"action\":\"check\",\"request_id\":\"r1\"}"

static int setup(void **state)
{
    (void)state;
    fakeclock_start();
    memset(&io, 0, sizeof(io));
    io.player_paused = io.owner_paused = -1;
    memset(&table, 0, sizeof(table));
    table.standby = true;
    snprintf(table.owner_url, sizeof(table.owner_url), "ws://10.0.0.1:8000");
    return 0;
}

static struct proxy *start(void)
{
    struct proxy *p = proxy_new(&table, "/ws/game/main/4be0a1c2d3e4f506", &fake_io, NULL);
    fakeclock_advance(0);
    assert_int_equal(io.connects, 1);
    assert_string_equal(io.url, "ws://10.0.0.1:8000");
    assert_string_equal(io.path, "/ws/game/main/4be0a1c2d3e4f506");
    return p;
}

/* The next message for the owner, as a string (sent), or NULL. */
static char *up(struct proxy *p)
{
    const struct msg *m = proxy_next_up(p);
    if (!m)
        return NULL;
    char *s = strndup(msg_payload(m), m->len);
    proxy_sent_up(p);
    return s;
}

static void test_hello_first(void **state)
{
    (void)state;
    struct proxy *p = start();
    proxy_player_message(p, HELLO, strlen(HELLO));
    proxy_player_message(p, ACTION, strlen(ACTION));
    assert_null(proxy_next_up(p)); /* nothing goes before the upstream is open */
    proxy_upstream_open(p);
    assert_true(io.wake_owner > 0);
    char *s = up(p);
    assert_string_equal(s, HELLO); /* the player's own: the owner answers the resume */
    free(s);
    s = up(p);
    assert_string_equal(s, ACTION);
    free(s);
    assert_null(proxy_next_up(p));
    assert_int_equal(proxy_queued(p), 0);
    proxy_free(p);
}

static void test_owner_moves(void **state)
{
    (void)state;
    struct proxy *p = start();
    proxy_player_message(p, HELLO, strlen(HELLO));
    proxy_upstream_open(p);
    free(up(p));
    /* Redis names another owner: the old upstream goes, a new one opens there. */
    snprintf(table.owner_url, sizeof(table.owner_url), "ws://10.0.0.2:8000");
    fakeclock_advance(PROXY_TICK_MS);
    assert_int_equal(io.drops, 1);
    assert_int_equal(io.connects, 2);
    assert_string_equal(io.url, "ws://10.0.0.2:8000");
    proxy_upstream_open(p);
    char *s = up(p);
    struct proto_cmsg m;
    struct felt_err err;
    assert_int_equal(proto_decode_client(s, strlen(s), &m, &err), 0);
    assert_int_equal(m.type, PROTO_C_HELLO);
    assert_string_equal(m.token,
                        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    assert_false(m.has_last_seq); /* another owner's epoch: a snapshot, not a replay */
    assert_string_equal(m.epoch, "");
    free(s);
    /* An owner whose URL is unknown for a moment (it just died) is no reason to move. */
    table.owner_url[0] = '\0';
    fakeclock_advance(PROXY_TICK_MS);
    assert_int_equal(io.drops, 1);
    assert_int_equal(io.connects, 2);
    proxy_free(p);
}

static void test_moved_codes_reconnect(void **state)
{
    (void)state;
    static const int moved[] = {0, 1001, 1006, 1011, 1012};
    for (size_t i = 0; i < sizeof(moved) / sizeof(moved[0]); i++) {
        setup(NULL);
        struct proxy *p = start();
        proxy_player_message(p, HELLO, strlen(HELLO));
        proxy_upstream_open(p);
        free(up(p));
        proxy_upstream_closed(p, moved[i], "");
        int code;
        const char *why;
        assert_false(proxy_close_due(p, &code, &why));
        fakeclock_advance(PROXY_TICK_MS);
        assert_int_equal(io.connects, 2); /* the table is elsewhere: found again */
        proxy_free(p);
    }
}

static void test_backoff(void **state)
{
    (void)state;
    struct proxy *p = start();
    /* Failures in a row wait longer each time (the fake policy: 100, 200, 400, 800 ms). */
    proxy_upstream_closed(p, 0, "");
    fakeclock_advance(PROXY_TICK_MS);            /* 100 ms were due */
    assert_int_equal(io.connects, 2);
    proxy_upstream_closed(p, 0, "");
    fakeclock_advance(PROXY_TICK_MS);            /* 200 */
    assert_int_equal(io.connects, 3);
    proxy_upstream_closed(p, 0, "");
    fakeclock_advance(PROXY_TICK_MS);            /* 400 are not over yet */
    assert_int_equal(io.connects, 3);
    fakeclock_advance(PROXY_TICK_MS);
    assert_int_equal(io.connects, 4);
    proxy_upstream_closed(p, 0, "");
    fakeclock_advance(2 * PROXY_TICK_MS);        /* 800 are not over */
    assert_int_equal(io.connects, 4);
    /* ... but a new owner is tried at once. */
    snprintf(table.owner_url, sizeof(table.owner_url), "ws://10.0.0.3:8000");
    fakeclock_advance(PROXY_TICK_MS);
    assert_int_equal(io.connects, 5);
    assert_string_equal(io.url, "ws://10.0.0.3:8000");
    /* An upstream that opens starts the count again. */
    proxy_upstream_open(p);
    proxy_upstream_closed(p, 1012, "");
    fakeclock_advance(PROXY_TICK_MS);
    assert_int_equal(io.connects, 6);
    proxy_free(p);
}

static void test_players_codes_passed_on(void **state)
{
    (void)state;
    struct proxy *p = start();
    proxy_player_message(p, HELLO, strlen(HELLO));
    proxy_upstream_open(p);
    free(up(p));
    const char *ev = "{\"type\":\"chat\",\"seq\":42}";
    proxy_owner_message(p, ev, strlen(ev));
    proxy_upstream_closed(p, 4409, "replaced by a newer connection");
    int code;
    const char *why;
    assert_false(proxy_close_due(p, &code, &why)); /* what came before the close goes first */
    const struct msg *m = proxy_next_down(p);
    assert_non_null(m);
    assert_memory_equal(msg_payload(m), ev, strlen(ev));
    proxy_sent_down(p);
    assert_true(proxy_close_due(p, &code, &why));
    assert_int_equal(code, 4409);
    assert_string_equal(why, "replaced by a newer connection");
    fakeclock_advance(10 * PROXY_TICK_MS);
    assert_int_equal(io.connects, 1); /* nothing reopened */
    proxy_free(p);
}

static void test_error_from_this_node(void **state)
{
    (void)state;
    struct proxy *p = start();
    proxy_upstream_open(p);
    const char *ev = "{\"type\":\"chat\",\"seq\":42}";
    proxy_owner_message(p, ev, strlen(ev));
    proxy_reply_error(p, "binary_frame", "felt.v1 messages are JSON text frames");
    const struct msg *m = proxy_next_down(p);
    assert_memory_equal(msg_payload(m), ev, strlen(ev)); /* after what came before it */
    proxy_sent_down(p);
    m = proxy_next_down(p);
    assert_non_null(m);
    struct proto_smsg sm;
    struct felt_err err;
    memset(&sm, 0, sizeof(sm));
    assert_int_equal(proto_decode_server(msg_payload(m), m->len, &sm, &err), 0);
    assert_int_equal(sm.type, PROTO_S_ERROR);
    assert_non_null(strstr(msg_payload(m), "binary_frame"));
    proto_smsg_clear(&sm);
    proxy_sent_down(p);
    int code;
    const char *why;
    assert_false(proxy_close_due(p, &code, &why)); /* an error closes nothing */
    proxy_free(p);
}

static void test_queues_bounded(void **state)
{
    (void)state;
    struct proxy *p = start();
    proxy_player_message(p, HELLO, strlen(HELLO));
    for (int i = 0; i < PROXY_UP_MAX; i++)
        proxy_player_message(p, ACTION, strlen(ACTION));
    assert_int_equal(io.player_paused, 1); /* the player is not read past the bound */
    assert_int_equal(proxy_queued(p), PROXY_UP_MAX);
    proxy_upstream_open(p);
    free(up(p)); /* the hello */
    for (int i = 0; i < PROXY_UP_MAX / 2; i++)
        free(up(p));
    assert_int_equal(io.player_paused, 0);

    char frame[4096];
    memset(frame, 'x', sizeof(frame));
    size_t n = 0;
    while (io.owner_paused != 1) {
        proxy_owner_message(p, frame, sizeof(frame));
        n += sizeof(frame);
        assert_true(n <= PROXY_DOWN_BYTES + sizeof(frame));
    }
    while (io.owner_paused == 1) {
        assert_non_null(proxy_next_down(p));
        proxy_sent_down(p);
        n -= sizeof(frame);
    }
    assert_true(n <= PROXY_DOWN_BYTES / 2);
    proxy_free(p);
}

static void test_no_owner_closes(void **state)
{
    (void)state;
    table.owner_url[0] = '\0';
    struct proxy *p = proxy_new(&table, "/ws/game/main/4be0a1c2d3e4f506", &fake_io, NULL);
    fakeclock_advance(0);
    assert_int_equal(io.connects, 0);
    int code;
    const char *why;
    fakeclock_advance(PROXY_WAIT_MS - PROXY_TICK_MS);
    assert_false(proxy_close_due(p, &code, &why));
    fakeclock_advance(2 * PROXY_TICK_MS);
    assert_true(proxy_close_due(p, &code, &why));
    assert_int_equal(code, 1012);
    proxy_free(p);
}

static void test_taken_here_closes(void **state)
{
    (void)state;
    struct proxy *p = start();
    proxy_upstream_open(p);
    table.standby = false; /* this node plays the table now */
    fakeclock_advance(PROXY_TICK_MS);
    assert_int_equal(io.drops, 1);
    int code;
    const char *why;
    assert_true(proxy_close_due(p, &code, &why));
    assert_int_equal(code, 1012);
    proxy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_hello_first, setup),
        cmocka_unit_test_setup(test_owner_moves, setup),
        cmocka_unit_test_setup(test_moved_codes_reconnect, setup),
        cmocka_unit_test_setup(test_backoff, setup),
        cmocka_unit_test_setup(test_players_codes_passed_on, setup),
        cmocka_unit_test_setup(test_error_from_this_node, setup),
        cmocka_unit_test_setup(test_queues_bounded, setup),
        cmocka_unit_test_setup(test_no_owner_closes, setup),
        cmocka_unit_test_setup(test_taken_here_closes, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
