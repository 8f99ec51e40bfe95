/*
 * hardening_test_seats.c: who may sit, act and under what name (hardening_test.h): idle and
 * sat-out players stood up, the join rate and seats per address (behind a trusted proxy too),
 * stale request ids never applied twice, and names (length, invisible and combining characters,
 * reserved and confusable names).
 */
#include "hardening_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- B2: seats ------------------------------------------------------------------------------- */

void test_seat_idle(void **state)
{
    static struct bb bb;
    struct http_reply r;
    struct joined idle, poller, fresh;
    char path[128];
    int status;
    (void)state;
    START(&bb, "--hand-delay", "600000", "--idle-seat-secs", "3");
    struct tc *spec = tc_spectator(&bb, "spec", "other", false);
    wait_snapshot(&bb, spec);
    int64_t t0 = now_ms();
    join_ok(&bb, "other", "sleepy", &idle);
    join_ok(&bb, "other", "poller", &poller);
    assert_int_equal(seats_taken(&bb, "other"), 2);

    /* sleepy never connects nor polls; poller polls its state about every second. Both are
     * waited on for real: the idle limit is seconds. */
    int64_t gone_at = 0;
    while (now_ms() - t0 < 12000) {
        if (!gone_at && tc_find_note(spec, 0, "player_left", idle.id) >= 0) gone_at = now_ms();
        if (gone_at && now_ms() - gone_at >= 3000) break; /* a sweep and more after it */
        (void)BB_WAIT(&bb, !gone_at && tc_find_note(spec, 0, "player_left", idle.id) >= 0, 1000);
        bb_http(&bb, "/api/games/other/state", NULL, poller.token, &r);
        assert_int_equal(r.status, 200);
        http_reply_free(&r);
    }
    if (!gone_at) print_error("no player_left for the idle player within 12 s\n");
    assert_true(gone_at > 0);
    print_message("seat_idle: the idle player was stood up %.1f s after joining\n",
                  (double)(gone_at - t0) / 1000.0);
    assert_true(gone_at - t0 >= 2900); /* not before its 3 s were up */
    long left = tc_find_note(spec, 0, "player_left", idle.id);
    assert_string_equal(jval_str(spec->msgs[left].data, "reason"), "idle");
    assert_true(find_seat(spec, 0, "left", idle.id) >= 0);
    /* The poller, unseen by no socket but polling, kept its seat. */
    assert_int_equal(tc_find_note(spec, 0, "player_left", poller.id), -1);
    assert_int_equal(find_seat(spec, 0, "left", poller.id), -1);
    assert_int_equal(seats_taken(&bb, "other"), 1);

    /* The idle player's token no longer works: polling 401, its socket path is gone (403),
     * and its token opens no other seat (4401). */
    bb_http(&bb, "/api/games/other/state", NULL, idle.token, &r);
    assert_int_equal(r.status, 401);
    http_reply_free(&r);
    snprintf(path, sizeof(path), "/ws/game/other/%s", idle.id);
    assert_int_equal(rawws_connect(bb.srv.port, path, &status), -1);
    assert_int_equal(status, 403);
    struct tc *imp = tc_player(&bb, "ghost", "other", poller.id, idle.token, false);
    assert_true(BB_WAIT(&bb, imp->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(imp->close_code, 4401);
    assert_int_equal(tc_count(imp, PROTO_S_SNAPSHOT), 0);
    /* The seat is free again, also for this address (2 seats per address by default). */
    join_ok(&bb, "other", "fresh", &fresh);
    assert_int_equal(seats_taken(&bb, "other"), 2);
    bb_assert_tc_ok(spec);
    bb_stop_clean(&bb);
}

void test_seat_sitout(void **state)
{
    static struct bb bb;
    (void)state;
    START(&bb, "--sitout-hands", "2", "--bots", "2", "--bot-delay", "0", "--hand-delay", "50");
    struct tc *rail = tc_spectator(&bb, "rail", "main", false);
    wait_snapshot(&bb, rail);
    struct tc *p = tc_join(&bb, "napper", "main", false);
    wait_snapshot(&bb, p);
    tc_send(p, "{\"type\":\"sit_out\"}");
    assert_true(BB_WAIT(&bb, find_seat(rail, 0, "sat_out", p->player_id) >= 0 || rail->closes,
                        BB_TIMEOUT_MS));
    long sat = find_seat(rail, 0, "sat_out", p->player_id);
    assert_true(sat >= 0);
    if (!BB_WAIT(&bb,
                 tc_find_note(rail, (size_t)sat, "player_left", p->player_id) >= 0 || rail->closes,
                 3 * BB_TIMEOUT_MS))
        print_error("napper was not stood up; %zu hand_end(s) since sitting out\n",
                    tc_count_updates(rail, "hand_end", NULL));
    long left = tc_find_note(rail, (size_t)sat, "player_left", p->player_id);
    assert_true(left >= 0);
    assert_string_equal(jval_str(rail->msgs[left].data, "reason"), "sitting_out");
    /* Exactly two hands ended between sitting out and being stood up. */
    size_t ends = 0;
    for (long i = sat; i < left; i++) {
        const char *ev = jval_str(rail->msgs[i].data, "event");
        ends += rail->msgs[i].type == PROTO_S_STATE_UPDATE && ev && strcmp(ev, "hand_end") == 0;
    }
    assert_int_equal(ends, 2);
    assert_true(find_seat(rail, (size_t)sat, "left", p->player_id) >= 0);
    /* ... and the server closed their socket. */
    assert_true(BB_WAIT(&bb, p->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(p->close_code, 1000);
    bb_assert_tc_ok(rail);
    bb_stop_clean(&bb);
}

void test_join_rate(void **state)
{
    static struct bb bb;
    struct joined j;
    char name[16];
    (void)state;
    START(&bb, "--table", "big:10:5/10:1000", "--table", "other:6:5/10:1000", "--hand-delay",
          "600000", "--seats-per-address", "0");
    /* The spectator is opened first: opening a socket is no join. */
    struct tc *spec = tc_spectator(&bb, "spec", "other", false);
    wait_snapshot(&bb, spec);
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof(name), "j%d", i);
        join_ok(&bb, "big", name, &j);
    }
    join_refused(&bb, "big", "j6", 429, "rate_limited");
    assert_int_equal(seats_taken(&bb, "big"), 6);
    /* The budget is the address's, whatever the table or the transport. */
    join_refused(&bb, "other", "j7", 429, "rate_limited");
    expect_error(&bb, spec, "{\"type\":\"join\",\"name\":\"j8\"}", "rate_limited");
    assert_int_equal(spec->closes, 0);
    assert_int_equal(seats_taken(&bb, "other"), 0);
    bb_stop_clean(&bb);
}

void test_seats_per_address(void **state)
{
    static struct bb bb;
    struct joined j;
    (void)state;
    START(&bb, "--hand-delay", "600000");
    join_ok(&bb, "other", "one", &j);
    join_ok(&bb, "other", "two", &j);
    join_refused(&bb, "other", "three", 409, "too_many_seats");
    assert_int_equal(seats_taken(&bb, "other"), 2);
    /* Per table: the same address may sit at another. */
    join_ok(&bb, "main", "three", &j);
    assert_int_equal(seats_taken(&bb, "main"), 1);
    bb_stop_clean(&bb);
}

void test_trust_proxy(void **state)
{
    static struct bb bb;
    struct joined j;
    (void)state;
    /* Behind the trusted proxy (127.0.0.1), the last X-Forwarded-For entry is the client. */
    START(&bb, "--hand-delay", "600000", "--trust-proxy", "127.0.0.1", "--seats-per-address", "1");
    join_raw(bb.srv.port, "other", "xa", "X-Forwarded-For: 10.0.0.1\r\n", &j);
    if (j.status != 200) print_error("xa: %d %s\n", j.status, j.code);
    assert_int_equal(j.status, 200);
    join_raw(bb.srv.port, "other", "xb", "X-Forwarded-For: 10.0.0.2\r\n", &j);
    if (j.status != 200) print_error("xb: %d %s\n", j.status, j.code);
    assert_int_equal(j.status, 200);
    join_raw(bb.srv.port, "other", "xc", "X-Forwarded-For: 203.0.113.5, 10.0.0.1\r\n", &j);
    if (j.status != 409) print_error("xc: %d %s\n", j.status, j.code);
    assert_int_equal(j.status, 409);
    assert_string_equal(j.code, "too_many_seats");
    assert_int_equal(seats_taken(&bb, "other"), 2);
    bb_stop_clean(&bb);

    /* Without --trust-proxy the header is only text: both joins are 127.0.0.1's. */
    START(&bb, "--hand-delay", "600000", "--seats-per-address", "1");
    join_raw(bb.srv.port, "other", "ya", "X-Forwarded-For: 10.0.0.1\r\n", &j);
    assert_int_equal(j.status, 200);
    join_raw(bb.srv.port, "other", "yb", "X-Forwarded-For: 10.0.0.2\r\n", &j);
    if (j.status != 409) print_error("yb: %d %s\n", j.status, j.code);
    assert_int_equal(j.status, 409);
    assert_string_equal(j.code, "too_many_seats");
    assert_int_equal(seats_taken(&bb, "other"), 1);
    bb_stop_clean(&bb);
}

/* ---- stale request ids ----------------------------------------------------------------------- */

/* Waits until it is p's turn in a hand after `after`; returns that hand's id. */
static int64_t wait_my_turn(struct bb *bb, struct tc *p, int64_t after)
{
#define MY_TURN()                                                                                  \
    (p->to_act.present && strcmp(p->to_act.player_id, p->player_id) == 0 &&                      \
     p->to_act_hand > after)
    if (!BB_WAIT(bb, MY_TURN() || p->closes || p->bad, 3 * BB_TIMEOUT_MS))
        print_error("%s: no turn in a hand after %lld\n", p->name, (long long)after);
    bb_assert_tc_ok(p);
    assert_true(MY_TURN());
#undef MY_TURN
    return p->to_act_hand;
}

/* The k-th ack (0-based) p received, waiting for it; returns its index in p->msgs. */
static long wait_ack(struct bb *bb, struct tc *p, size_t k)
{
    assert_true(BB_WAIT(bb, tc_count(p, PROTO_S_ACK) > k || p->closes || p->bad, BB_TIMEOUT_MS));
    size_t seen = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->msgs[i].type == PROTO_S_ACK && seen++ == k) return (long)i;
    fail();
    return -1;
}

/* Action updates by player_id in hand from index from. */
static size_t actions_in_hand(const struct tc *t, size_t from, const char *player_id, int64_t hand)
{
    size_t n = 0;
    for (size_t i = from; i < t->n; i++) {
        const struct rmsg *m = &t->msgs[i];
        const char *ev = jval_str(m->data, "event"), *pid = jval_str(m->data, "player_id");
        n += m->type == PROTO_S_STATE_UPDATE && ev && strcmp(ev, "action") == 0 && pid &&
             strcmp(pid, player_id) == 0 && jval_int(m->data, "hand_id", -1) == hand;
    }
    return n;
}

void test_stale_request(void **state)
{
    static struct bb bb;
    (void)state;
    START(&bb, "--table", "main:2:5/10:1000", "--bots", "1", "--bot-delay", "0", "--hand-delay",
          "100");
    struct tc *p = tc_join(&bb, "heads", "main", false);
    wait_snapshot(&bb, p);

    /* Hand N, our turn: r1 is a raise of 1 (under the minimum: rejected, the hand waits on
     * us); the same r1 again within hand N gets the very same ack. */
    int64_t n = wait_my_turn(&bb, p, 0);
    tc_act(p, "raise", 1, n, "r1");
    long a0 = wait_ack(&bb, p, 0);
    assert_string_equal(jval_str(p->msgs[a0].data, "status"), "rejected");
    tc_act(p, "raise", 1, n, "r1");
    long a1 = wait_ack(&bb, p, 1);
    assert_string_equal(p->msgs[a1].raw, p->msgs[a0].raw);
    /* Fold (a fresh id) to end hand N. */
    tc_act(p, "fold", 0, n, "f1");
    long a2 = wait_ack(&bb, p, 2);
    assert_string_equal(jval_str(p->msgs[a2].data, "status"), "accepted");

    /* A later hand, our turn: r1 again, a legal fold this time, is stale: refused, not
     * applied, and not answered with hand N's ack. */
    int64_t m = wait_my_turn(&bb, p, n);
    size_t from = p->n;
    tc_act(p, "fold", 0, m, "r1");
    long a3 = wait_ack(&bb, p, 3);
    json_object *ack = p->msgs[a3].data;
    print_message("stale_request: hand %lld's r1 resent in hand %lld: %s\n", (long long)n,
                  (long long)m, p->msgs[a3].raw);
    assert_string_equal(jval_str(ack, "request_id"), "r1");
    assert_string_equal(jval_str(ack, "status"), "rejected");
    assert_non_null(jval_str(ack, "code"));
    assert_string_equal(jval_str(ack, "code"), "stale_request");
    /* Nothing applied: a chat marker sent after it comes back with no action of ours before
     * it in hand m, and it is still our turn. */
    tc_send(p, "{\"type\":\"chat\",\"text\":\"marker\"}");
    assert_true(BB_WAIT(&bb, count_chats(p, "marker") == 1 || p->closes, BB_TIMEOUT_MS));
    assert_int_equal(actions_in_hand(p, from, p->player_id, m), 0);
    assert_string_equal(p->to_act.player_id, p->player_id);
    assert_int_equal(p->to_act_hand, m);
    /* A fresh id is taken. */
    tc_act(p, "fold", 0, m, "f2");
    long a4 = wait_ack(&bb, p, 4);
    assert_string_equal(jval_str(p->msgs[a4].data, "status"), "accepted");
    bb_assert_tc_ok(p);
    bb_stop_clean(&bb);
}

/* ---- B5: names ------------------------------------------------------------------------------- */

void test_names(void **state)
{
    static struct bb bb;
    struct joined j;
    struct http_reply r;
    (void)state;
    START(&bb, "--hand-delay", "600000", "--seats-per-address", "0", "--joins-per-minute", "0");
    join_ok(&bb, "other", "ann", &j);
    char ann_token[160];
    snprintf(ann_token, sizeof(ann_token), "%s", j.token);
    /* The same name folded: case, an invisible soft hyphen, a Cyrillic look-alike. */
    static const char *const same[] = {"Ann", "ann\\u00ad", "\\u0430nn"};
    for (size_t i = 0; i < FELT_ARRAY_LEN(same); i++) {
        join_http(&bb, "other", same[i], &j);
        if (j.status != 409 || strcmp(j.code, "name_taken") != 0)
            print_error("name %s: %d %s, want 409 name_taken\n", same[i], j.status, j.code);
        assert_int_equal(j.status, 409);
        assert_string_equal(j.code, "name_taken");
    }
    /* Nothing visible. */
    join_http(&bb, "other", "\\u3164", &j);
    if (j.status != 400) print_error("name U+3164: %d %s, want 400\n", j.status, j.code);
    assert_int_equal(j.status, 400);
    assert_true(strcmp(j.code, "bad_name") == 0 || strcmp(j.code, "bad_field") == 0);
    /* Reserved. */
    static const char *const reserved[] = {"server", "[server]", "Spectator", "felt"};
    for (size_t i = 0; i < FELT_ARRAY_LEN(reserved); i++) {
        join_http(&bb, "other", reserved[i], &j);
        if (j.status != 400 || strcmp(j.code, "reserved_name") != 0)
            print_error("name %s: %d %s, want 400 reserved_name\n", reserved[i], j.status, j.code);
        assert_int_equal(j.status, 400);
        assert_string_equal(j.code, "reserved_name");
    }
    assert_int_equal(seats_taken(&bb, "other"), 1);

    /* A letter under 270 combining accents arrives with at most 2. */
    struct tc *spec = tc_spectator(&bb, "spec", "other", false);
    wait_snapshot(&bb, spec);
    size_t cap = 64 + 270 * 2;
    char *body = xmalloc(cap);
    size_t len = (size_t)snprintf(body, cap, "{\"text\":\"a");
    for (int i = 0; i < 270; i++) {
        body[len++] = (char)0xcc; /* U+0301 in UTF-8 */
        body[len++] = (char)0x81;
    }
    len += (size_t)snprintf(body + len, cap - len, "\"}");
    bb_http(&bb, "/api/games/other/chat", body, ann_token, &r);
    if (r.status != 200) print_error("zalgo chat: %d %s\n", r.status, r.body);
    assert_int_equal(r.status, 200);
    http_reply_free(&r);
    free(body);
    assert_true(BB_WAIT(&bb, count_chats(spec, NULL) >= 1 || spec->closes, BB_TIMEOUT_MS));
    const char *text = jval_str(tc_last(spec, PROTO_S_CHAT, NULL, NULL), "text");
    assert_non_null(text);
    int marks = 0;
    for (const char *s = text; (s = strstr(s, "\xcc\x81")); s += 2)
        marks++;
    print_message("names: the chat arrived as %zu bytes with %d combining acute(s)\n", strlen(text),
                  marks);
    assert_true(text[0] == 'a');
    assert_true(marks <= 2);
    bb_stop_clean(&bb);
}
