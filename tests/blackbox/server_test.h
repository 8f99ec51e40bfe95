/*
 * server_test.h: what the black-box cases of feltd share (server_test.c), and the cases, by
 * file. Every case starts its own feltd with START and ends with bb_stop_clean (the server must
 * exit by itself with status 0); bb_main.c's teardown stops a server a failed assertion left
 * running.
 */
#ifndef FELT_BB_SERVER_TEST_H
#define FELT_BB_SERVER_TEST_H

#include <stdbool.h>
#include <stdint.h>

#include "bb_main.h"
#include "harness.h"
#include "util.h"

/* ---- server_test.c ----------------------------------------------------------------------- */

extern const char *feltd_path; /* argv[1] */

/* Starts feltd with the given arguments on bb (a static struct bb, so that it outlives a failed
 * assertion for the teardown). */
#define START(bb, ...)                                                                             \
    do {                                                                                           \
        const char *start_args_[] = {__VA_ARGS__, NULL};                                           \
        assert_int_equal(bb_start((bb), feltd_path, start_args_), 0);                              \
        bb_running = (bb);                                                                         \
    } while (0)

/* Waits for a message of type (data[key] == val) at or after index from; returns its index. */
long wait_msg(struct bb *bb, struct tc *t, size_t from, enum proto_stype type, const char *key,
              const char *val);

/* Waits for t's socket to open, once. */
void wait_open(struct bb *bb, struct tc *t);

/* A player's socket: waits for the snapshot that follows a valid hello. */
void wait_snapshot(struct bb *bb, struct tc *t);

/* The reply (ack, error, pong) number k (0-based) of type, waiting for it. */
json_object *wait_reply(struct bb *bb, struct tc *t, enum proto_stype type, size_t k);

/* The bytes of reply number k of type (as wait_reply), or NULL; whether any message t received
 * contains needle. */
const char *raw_of_reply(const struct tc *t, enum proto_stype type, size_t k);
bool raw_contains(const struct tc *t, const char *needle);

/* The index of the state_update `event` of hand_id in t, from index from, or -1. */
long find_update(const struct tc *t, size_t from, const char *event, int64_t hand_id);


/* The index of the chat with this text from index from, or -1. */
long find_chat(const struct tc *t, size_t from, const char *text);

/* The message of t carrying event seq (not a snapshot), or NULL. */
const struct rmsg *msg_at_seq(const struct tc *t, uint64_t seq);

/* The players of a hand_start dealt in (active or all in). */
size_t count_players_in_hand(json_object *hand_start);

/* The entry of player_id in an array of objects with "player_id" (NULL if absent). */
json_object *entry_of(json_object *arr, const char *player_id);

/* Cards of player p in hand (from p's own hand_start), as "\"Xy\"" needles. */
int hole_cards(const struct tc *p, int64_t hand, char needles[2][8]);

/* The player whose id is to_act.player_id in data (one of ps, n), or NULL. */
struct tc *to_act_player(json_object *data, struct tc **ps, size_t n);

/* Waits for the next hand_start (from index from) in which all n players are dealt in. */
long wait_full_hand_start(struct bb *bb, struct tc *rail, size_t n);

/* The value of the sample line starting with line_prefix (e.g. "felt_tables "), or
 * UINT64_MAX if there is none. */
uint64_t metric_value(struct bb *bb, const char *line_prefix);

/* ---- server_test_join.c ----------------------------------------------------------------- */

void test_join_http(void **state);
void test_join_ws(void **state);
void test_hello_bad_token(void **state);
void test_replace_4409(void **state);

/* ---- server_test_play.c ----------------------------------------------------------------- */

void test_full_hand(void **state);
void test_event_sequence(void **state);
void test_hole_card_privacy(void **state);

/* ---- server_test_actions.c -------------------------------------------------------------- */

void test_duplicate_request_id(void **state);
void test_stale_hand(void **state);
void test_heads_up_turns(void **state);
void test_action_clock(void **state);

/* ---- server_test_spectate.c ------------------------------------------------------------- */

void test_spectator_refused(void **state);
void test_chat(void **state);
void test_spectators_count(void **state);

/* ---- server_test_resume.c --------------------------------------------------------------- */

void test_resume(void **state);
void test_resume_snapshot(void **state);
void test_resume_epoch(void **state);

/* ---- server_test_input.c ---------------------------------------------------------------- */

void test_malformed(void **state);

/* ---- server_test_http.c ----------------------------------------------------------------- */

void test_http_fallback(void **state);
void test_metrics(void **state);
void test_shutdown(void **state);

/* ---- server_test_wsclient.c ------------------------------------------------------------- */

void test_wsclient(void **state);

/* ---- server_test_frames.c --------------------------------------------------------------- */

void test_frames(void **state);

#endif
