/*
 * hardening_test_chat.c: chat against abuse (hardening_test.h): spectators silent by default,
 * the rates per address and per table, chat never pushing game events out of the resume history,
 * and join/leave churn.
 */
#include "hardening_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- B4: chat -------------------------------------------------------------------------------- */

void test_spectator_chat_default(void **state)
{
    static struct bb bb;
    (void)state;
    START(&bb, "--hand-delay", "600000");
    struct tc *a = tc_spectator(&bb, "a", "other", false);
    struct tc *b = tc_spectator(&bb, "b", "other", false);
    wait_snapshot(&bb, a);
    wait_snapshot(&bb, b);
    expect_error(&bb, a, "{\"type\":\"chat\",\"text\":\"psst\"}", "chat_disabled");
    /* A player's chat still goes out; the spectator's never did. */
    struct tc *p = tc_join(&bb, "pat", "other", false);
    wait_snapshot(&bb, p);
    tc_send(p, "{\"type\":\"chat\",\"text\":\"from a player\"}");
    assert_true(BB_WAIT(&bb, count_chats(b, "from a player") == 1 || b->closes, BB_TIMEOUT_MS));
    assert_int_equal(count_chats(b, "psst"), 0);
    assert_int_equal(count_chats(b, NULL), 1);
    bb_stop_clean(&bb);

    START(&bb, "--hand-delay", "600000", "--spectator-chat");
    a = tc_spectator(&bb, "a", "other", false);
    b = tc_spectator(&bb, "b", "other", false);
    wait_snapshot(&bb, a);
    wait_snapshot(&bb, b);
    tc_send(a, "{\"type\":\"chat\",\"text\":\"psst\"}");
    assert_true(BB_WAIT(&bb, count_chats(b, "psst") == 1 || b->closes, BB_TIMEOUT_MS));
    json_object *c = tc_last(b, PROTO_S_CHAT, "text", "psst");
    assert_true(jval_bool(c, "spectator", false));
    assert_int_equal(count_errors(a, NULL), 0);
    bb_stop_clean(&bb);
}

/* nplayers players at other each send per chats at once; returns how many the spectator saw
 * (every message is accounted for: seen, or refused with rate_limited) and the time it took. */
static size_t chat_burst(struct bb *bb, int nplayers, int per, size_t *limited, double *secs)
{
    struct tc *ps[8], *spec = tc_spectator(bb, "spec", "other", false);
    char name[16], msg[96];
    wait_snapshot(bb, spec);
    for (int i = 0; i < nplayers; i++) {
        snprintf(name, sizeof(name), "ch%d", i);
        ps[i] = tc_join(bb, name, "other", false);
        wait_snapshot(bb, ps[i]);
    }
    int64_t t0 = now_ms();
    for (int k = 0; k < per; k++)
        for (int i = 0; i < nplayers; i++) {
            snprintf(msg, sizeof(msg), "{\"type\":\"chat\",\"text\":\"m%d-%d\"}", i, k);
            tc_send(ps[i], msg);
        }
    size_t total = (size_t)(nplayers * per);
#define CHAT_ERRS()                                                                                \
    ({                                                                                             \
        size_t e_ = 0;                                                                             \
        for (int i_ = 0; i_ < nplayers; i_++)                                                      \
            e_ += count_errors(ps[i_], NULL);                                                      \
        e_;                                                                                        \
    })
    if (!BB_WAIT(bb, count_chats(spec, NULL) + CHAT_ERRS() >= total, BB_TIMEOUT_MS))
        print_error("chat: %zu seen, %zu refused of %zu\n", count_chats(spec, NULL), CHAT_ERRS(),
                    total);
    *secs = (double)(now_ms() - t0) / 1000.0;
    assert_int_equal(count_chats(spec, NULL) + CHAT_ERRS(), total);
#undef CHAT_ERRS
    *limited = 0;
    for (int i = 0; i < nplayers; i++) {
        *limited += count_errors(ps[i], "rate_limited");
        assert_int_equal(ps[i]->closes, 0);
    }
    return count_chats(spec, NULL);
}

void test_chat_per_address(void **state)
{
    static struct bb bb;
    size_t limited;
    double secs;
    (void)state;
    START(&bb, "--hand-delay", "600000", "--chat-per-address", "4", "--chat-per-table", "0",
          "--seats-per-address", "0", "--joins-per-minute", "0");
    size_t seen = chat_burst(&bb, 4, 2, &limited, &secs);
    size_t allowance = (size_t)(0.4 * secs) + 1; /* the bucket refills at 4 per 10 s */
    print_message("chat_per_address: %zu of 8 accepted, %zu rate_limited, in %.2f s\n", seen,
                  limited, secs);
    assert_true(seen >= 4);
    assert_true(seen <= 4 + allowance);
    assert_true(limited >= 1);
    assert_int_equal(seen + limited, 8);
    bb_stop_clean(&bb);
}

void test_chat_per_table(void **state)
{
    static struct bb bb;
    size_t limited;
    double secs;
    (void)state;
    START(&bb, "--hand-delay", "600000", "--chat-per-address", "0", "--chat-per-table", "5",
          "--seats-per-address", "0", "--joins-per-minute", "0");
    size_t seen = chat_burst(&bb, 4, 3, &limited, &secs);
    size_t allowance = (size_t)(0.5 * secs) + 1; /* the bucket refills at 5 per 10 s */
    print_message("chat_per_table: %zu of 12 accepted, %zu rate_limited, in %.2f s\n", seen,
                  limited, secs);
    assert_true(seen >= 5);
    assert_true(seen <= 5 + allowance);
    assert_true(limited >= 1);
    assert_int_equal(seen + limited, 12);
    bb_stop_clean(&bb);
}

#define CHAT_SOCKETS 300
#define CHAT_PER_SOCKET 5 /* the per-connection chat limit: 5 per 10 s */

/* One spectator socket sends CHAT_PER_SOCKET chats and a ping, and waits for the pong (by then
 * the chats were handled). Returns the errors it got, or -1. */
static int chat_socket(int port, int k)
{
    struct rawws_reader rd = {0};
    struct rawws_msg m;
    char text[96];
    int status, errors = 0, rc = -1;
    int fd = rawws_connect(port, "/ws/spectate/main", &status);
    if (fd < 0) return -1;
    for (int i = 0; i < CHAT_PER_SOCKET; i++) {
        int n = snprintf(text, sizeof(text), "{\"type\":\"chat\",\"text\":\"s%d-%d\"}", k, i);
        if (rawws_send_text(fd, text, (size_t)n) != 0) goto out;
    }
    if (rawws_send_text(fd, "{\"type\":\"ping\",\"id\":9}", 22) != 0) goto out;
    while (rawws_recv(fd, &rd, &m, BB_TIMEOUT_MS) == 1) {
        bool pong = strstr(m.data, "\"type\":\"pong\"") != NULL;
        errors += strstr(m.data, "\"type\":\"error\"") != NULL;
        rawws_msg_free(&m);
        if (pong) {
            rc = errors;
            break;
        }
    }
out:
    rawws_reader_free(&rd);
    close(fd);
    return rc;
}

void test_chat_history(void **state)
{
    static struct bb bb;
    (void)state;
    /* Bots at main at a 100 ms pace: game events flow, but far fewer than the history's 1,024
     * while the player is away; chat fills the rest. */
    START(&bb, "--bots", "2", "--bot-delay", "100", "--hand-delay", "100", "--history", "1024",
          "--spectator-chat", "--chat-per-address", "0", "--chat-per-table", "0", "--sitout-hands",
          "0");
    struct tc *rail = tc_spectator(&bb, "rail", "main", false);
    wait_snapshot(&bb, rail);
    struct tc *p = tc_join(&bb, "away", "main", false);
    wait_snapshot(&bb, p);
    char id[32], token[160];
    snprintf(id, sizeof(id), "%s", p->player_id);
    snprintf(token, sizeof(token), "%s", p->token);
    /* Sat out, so the hands go on without them while they are away. */
    tc_send(p, "{\"type\":\"sit_out\"}");
    assert_true(BB_WAIT(&bb, find_seat(p, 0, "sat_out", id) >= 0 || p->closes, BB_TIMEOUT_MS));
    uint64_t h0 = p->max_seq;
    assert_true(BB_WAIT(&bb, p->max_seq > h0 + 3 || p->closes, BB_TIMEOUT_MS)); /* hands go on */
    uint64_t last = p->max_seq;
    size_t rail_from = rail->n;
    tc_free(p);
    /* Gone for the server too before the chat starts. */
    assert_true(BB_WAIT(&bb,
                        tc_find_note(rail, rail_from, "player_disconnected", id) >= 0 || rail->closes,
                        BB_TIMEOUT_MS));
    assert_int_equal(rail->closes, 0);

    /* While they are away: 1,500 chat messages from 300 spectator sockets. */
    int64_t t0 = now_ms();
    int errors = 0;
    for (int k = 0; k < CHAT_SOCKETS; k++) {
        int e = chat_socket(bb.srv.port, k);
        if (e < 0) print_error("chat socket %d failed\n", k);
        assert_true(e >= 0);
        errors += e;
    }
    assert_int_equal(errors, 0);
    json_object *j = poll_state(&bb, "main", -1, NULL);
    uint64_t target = (uint64_t)jval_int(j, "seq", 0);
    json_object_put(j);
    print_message("chat_history: %d chats pushed in %.1f s; away from seq %llu to %llu\n",
                  CHAT_SOCKETS * CHAT_PER_SOCKET, (double)(now_ms() - t0) / 1000.0,
                  (unsigned long long)last, (unsigned long long)target);

    /* Back, resuming from the last seq seen. */
    p = tc_player(&bb, "back", "main", id, token, false);
    p->resume = true;
    p->max_seq = last;
    if (!BB_WAIT(&bb, p->max_seq >= target || p->closes || p->bad, 2 * BB_TIMEOUT_MS))
        print_error("resumed to %llu of %llu\n", (unsigned long long)p->max_seq,
                    (unsigned long long)target);
    bb_assert_tc_ok(p);
    assert_int_equal(p->closes, 0);
    assert_true(p->max_seq >= target);
    assert_int_equal(tc_count(p, PROTO_S_SNAPSHOT), 0);
    /* Every seq after last, gap-free, each exactly once. */
    uint64_t want = last + 1;
    size_t chats = 0, expired = 0, game = 0;
    for (size_t i = 0; i < p->n; i++) {
        const struct rmsg *m = &p->msgs[i];
        if (!m->has_seq) continue;
        if (m->seq != want)
            print_error("after seq %llu came %llu (%s)\n", (unsigned long long)want - 1,
                        (unsigned long long)m->seq, proto_stype_name(m->type));
        assert_int_equal(m->seq, want);
        want++;
        if (m->type == PROTO_S_CHAT) {
            chats++;
            expired += jval_bool(m->data, "expired", false);
        } else {
            game++;
        }
    }
    print_message("chat_history: resumed with %zu chats (%zu expired) and %zu game events\n", chats,
                  expired, game);
    assert_true(game < 1024); /* the premise: the game events while away all fit the history */
    assert_true(game >= 1);
    assert_true(chats >= (size_t)CHAT_SOCKETS * CHAT_PER_SOCKET);
    assert_true(expired >= 1);
    assert_true(expired < chats);
    bb_stop_clean(&bb);
}

void test_churn(void **state)
{
    static struct bb bb;
    char name[16];
    (void)state;
    START(&bb, "--hand-delay", "600000", "--joins-per-minute", "4", "--seats-per-address", "0");
    /* Join over HTTP, leave over the player's socket: two tokens a cycle. */
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof(name), "churn%d", i);
        struct tc *p = tc_join(&bb, name, "other", false);
        wait_snapshot(&bb, p);
        tc_send(p, "{\"type\":\"leave\"}");
        assert_true(BB_WAIT(&bb, p->closes > 0, BB_TIMEOUT_MS));
        assert_int_equal(p->close_code, 1000);
        assert_int_equal(seats_taken(&bb, "other"), 0);
    }
    join_refused(&bb, "other", "churn2", 429, "rate_limited");
    assert_int_equal(seats_taken(&bb, "other"), 0);
    bb_stop_clean(&bb);
}
