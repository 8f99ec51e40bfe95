/*
 * test_model.c: the client's table model (client-tui/model.c) fed with recorded server messages.
 *
 * Each test decodes envelopes in the shapes feltd sends (docs/protocol.md) with the real codec
 * and applies them in order, then checks what a UI would draw: seats, stacks, bets, cards, pots,
 * to_act, the hand log (its vocabulary: bets and raises, amounts, card symbols, named hands), chat,
 * results; that events are applied once and in seq order; that
 * names and chat are sanitized; that malformed data changes nothing; and the all-in equity.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "client.h"

#define ANN "aaaaaaaaaaaaaaaa"
#define BOB "bbbbbbbbbbbbbbbb"
#define CY "cccccccccccccccc"

static enum model_result apply(struct model *m, const char *json)
{
    struct proto_smsg msg = {0};
    struct felt_err err;
    int rc = proto_decode_server(json, strlen(json), &msg, &err);
    if (rc != 0) fail_msg("test message does not decode (%s): %s", err.message, json);
    enum model_result r = model_apply(m, &msg);
    proto_smsg_clear(&msg);
    return r;
}

static card_t card(const char *s)
{
    card_t c;
    struct felt_err err;
    assert_int_equal(card_parse(s, &c, &err), 0);
    return c;
}

static bool log_has(const struct model *m, const char *text)
{
    for (int i = 0; i < m->log_count; i++)
        if (strstr(model_log_get(m, i)->text, text)) return true;
    return false;
}

/* Ann (us, seat 0) and Bob (seat 1), between hands, seq 10. */
static const char snapshot_idle[] =
    "{\"type\":\"snapshot\",\"seq\":10,\"timestamp\":1,\"data\":{"
    "\"table\":{\"id\":\"main\",\"seats\":6,\"small_blind\":5,\"big_blind\":10,\"ante\":0,"
    "\"buy_in\":1000,\"action_timeout_ms\":30000,\"spectator_chat\":true},"
    "\"hand_id\":3,\"hand_running\":false,\"button\":1,\"street\":null,\"board\":[],\"pots\":[],"
    "\"players\":["
    "{\"player_id\":\"" ANN "\",\"name\":\"ann\",\"seat\":0,\"stack\":1000,\"bet\":0,"
    "\"status\":\"waiting\",\"connected\":true,\"bot\":false},"
    "{\"player_id\":\"" BOB "\",\"name\":\"bob\",\"seat\":1,\"stack\":800,\"bet\":0,"
    "\"status\":\"waiting\",\"connected\":true,\"bot\":true}],"
    "\"to_act\":null,"
    "\"you\":{\"player_id\":\"" ANN "\",\"name\":\"ann\",\"seat\":0,\"sitting_out\":false},"
    "\"spectators\":2}}";

/* Hand 4 starts (our private rendering, with our cards); Bob (button, SB) to act. */
static const char hand_start[] =
    "{\"type\":\"state_update\",\"seq\":11,\"timestamp\":2,\"data\":{\"event\":\"hand_start\","
    "\"hand_id\":4,\"to_act\":{\"player_id\":\"" BOB "\",\"name\":\"bob\",\"seat\":1,\"call\":5,"
    "\"can_check\":false,\"min_raise_to\":20,\"max_raise_to\":800,\"deadline\":99,"
    "\"decision\":1},\"button\":1,\"small_blind_seat\":1,\"big_blind_seat\":0,"
    "\"posts\":[{\"player_id\":\"" BOB "\",\"kind\":\"small_blind\",\"amount\":5},"
    "{\"player_id\":\"" ANN "\",\"kind\":\"big_blind\",\"amount\":10}],"
    "\"players\":["
    "{\"player_id\":\"" ANN "\",\"name\":\"ann\",\"seat\":0,\"stack\":990,\"bet\":10,"
    "\"status\":\"active\",\"connected\":true,\"bot\":false,\"cards\":[\"Ah\",\"Ad\"]},"
    "{\"player_id\":\"" BOB "\",\"name\":\"bob\",\"seat\":1,\"stack\":795,\"bet\":5,"
    "\"status\":\"active\",\"connected\":true,\"bot\":true}],"
    "\"pots\":[{\"amount\":15,\"eligible\":[\"" ANN "\",\"" BOB "\"]}]}}";

static void test_snapshot(void **state)
{
    struct model m;
    (void)state;
    model_init(&m);
    assert_int_equal(apply(&m, snapshot_idle), MODEL_APPLIED);
    assert_true(m.have_snapshot);
    assert_string_equal(m.table.id, "main");
    assert_int_equal(m.table.seats, 6);
    assert_int_equal(m.table.big_blind, 10);
    assert_int_equal(m.hand_id, 3);
    assert_false(m.hand_running);
    assert_int_equal(m.button, 1);
    assert_int_equal(m.spectators, 2);
    assert_string_equal(m.me_id, ANN);
    assert_int_equal(m.me_seat, 0);
    assert_true(m.players[1].present);
    assert_string_equal(m.players[1].name, "bob");
    assert_int_equal(m.players[1].stack, 800);
    assert_true(m.players[1].bot);
    assert_false(m.players[2].present);
    assert_false(m.to_act.active);
    assert_true(m.has_seq);
    assert_int_equal(m.last_seq, 10);
    assert_ptr_equal(model_me(&m), &m.players[0]);
}

/* The spectator count follows the server's "spectators" notification between snapshots. */
static void test_spectators_notification(void **state)
{
    struct model m;
    (void)state;
    model_init(&m);
    assert_int_equal(apply(&m, snapshot_idle), MODEL_APPLIED);
    assert_int_equal(apply(&m, "{\"type\":\"notification\",\"seq\":11,\"timestamp\":3,"
                               "\"data\":{\"kind\":\"spectators\",\"count\":5}}"),
                     MODEL_APPLIED);
    assert_int_equal(m.spectators, 5);
    assert_int_equal(m.last_seq, 11);
    /* A malformed count changes nothing. */
    assert_int_equal(apply(&m, "{\"type\":\"notification\",\"seq\":12,\"timestamp\":4,"
                               "\"data\":{\"kind\":\"spectators\",\"count\":-3}}"),
                     MODEL_APPLIED);
    assert_int_equal(m.spectators, 5);
}

static void test_hand_flow(void **state)
{
    struct model m;
    (void)state;
    model_init(&m);
    apply(&m, snapshot_idle);
    assert_int_equal(apply(&m, hand_start), MODEL_APPLIED);
    assert_true(m.hand_running);
    assert_int_equal(m.hand_id, 4);
    assert_int_equal(m.street, ENGINE_PREFLOP);
    assert_int_equal(m.players[0].ncards, 2);
    assert_false(m.players[0].shown); /* our own cards, not shown to anyone */
    assert_int_equal(m.players[0].cards[0], card("Ah"));
    assert_int_equal(m.players[1].ncards, 0);
    assert_int_equal(m.players[0].bet, 10);
    assert_int_equal(m.players[1].stack, 795);
    assert_true(m.to_act.active);
    assert_int_equal(m.to_act.seat, 1);
    assert_int_equal(m.to_act.min_raise_to, 20);
    assert_int_equal(m.to_act.decision, 1);
    assert_false(model_my_turn(&m));
    assert_int_equal(model_pot_total(&m), 15);
    assert_true(log_has(&m, "Hand #4"));
    assert_true(log_has(&m, "bob posts the small blind 5"));

    assert_int_equal(apply(&m, "{\"type\":\"animation\",\"seq\":12,\"timestamp\":2,\"data\":{"
                               "\"kind\":\"chips_to_pot\",\"player_id\":\"" BOB "\","
                               "\"amount\":25}}"),
                     MODEL_APPLIED);
    assert_int_equal(m.anim.kind, MODEL_ANIM_CHIPS_TO_POT);
    assert_int_equal(m.anim.seat, 1);
    assert_int_equal(m.anim.amount, 25);

    /* Bob raises to 30: our turn, with a raise possible. */
    apply(&m, "{\"type\":\"state_update\",\"seq\":13,\"timestamp\":3,\"data\":{"
              "\"event\":\"action\",\"hand_id\":4,\"player_id\":\"" BOB "\",\"seat\":1,"
              "\"action\":\"raise\",\"amount\":25,\"to\":30,\"all_in\":false,"
              "\"stacks\":{\"" BOB "\":770},"
              "\"pots\":[{\"amount\":40,\"eligible\":[\"" ANN "\",\"" BOB "\"]}],"
              "\"to_act\":{\"player_id\":\"" ANN "\",\"name\":\"ann\",\"seat\":0,\"call\":20,"
              "\"can_check\":false,\"min_raise_to\":50,\"max_raise_to\":1000,"
              "\"deadline\":123}}}");
    assert_int_equal(m.players[1].bet, 30);
    assert_int_equal(m.players[1].stack, 770);
    assert_true(model_my_turn(&m));
    assert_int_equal(m.to_act.call, 20);
    assert_true(m.to_act.can_raise);
    assert_int_equal(m.to_act.max_raise_to, 1000);
    assert_int_equal(m.to_act.deadline, 123);
    assert_int_equal(m.npots, 1);
    assert_int_equal(m.pots[0].eligible, 3);
    assert_true(log_has(&m, "bob raises to 30"));

    apply(&m, "{\"type\":\"notification\",\"seq\":14,\"timestamp\":3,\"data\":{"
              "\"kind\":\"your_turn\",\"player_id\":\"" ANN "\",\"name\":\"ann\","
              "\"deadline\":123}}");
    assert_int_equal(m.your_turn_serial, 1);

    /* We call; the flop comes; bets go to zero. */
    apply(&m, "{\"type\":\"state_update\",\"seq\":15,\"timestamp\":4,\"data\":{"
              "\"event\":\"action\",\"hand_id\":4,\"player_id\":\"" ANN "\",\"seat\":0,"
              "\"action\":\"call\",\"amount\":20,\"to\":30,\"all_in\":false,"
              "\"stacks\":{\"" ANN "\":970},\"pots\":[{\"amount\":60,\"eligible\":[\"" ANN
              "\",\"" BOB "\"]}],\"to_act\":null}}");
    apply(&m, "{\"type\":\"state_update\",\"seq\":16,\"timestamp\":4,\"data\":{"
              "\"event\":\"street\",\"hand_id\":4,\"street\":\"flop\","
              "\"cards\":[\"2c\",\"7h\",\"Ts\"],\"pots\":[{\"amount\":60,\"eligible\":[\"" ANN
              "\",\"" BOB "\"]}],\"to_act\":{\"player_id\":\"" ANN "\",\"name\":\"ann\","
              "\"seat\":0,\"call\":0,\"can_check\":true,\"min_raise_to\":10,"
              "\"max_raise_to\":970,\"deadline\":200}}}");
    assert_int_equal(m.street, ENGINE_FLOP);
    assert_int_equal(m.nboard, 3);
    assert_int_equal(m.board[2], card("Ts"));
    assert_int_equal(m.players[0].bet, 0);
    assert_int_equal(m.players[1].bet, 0);
    assert_int_equal(m.players[0].stack, 970);
    assert_true(m.to_act.can_check);
    assert_true(log_has(&m, "ann calls 20"));
    /* Cards in the log with the table's suit symbols. */
    assert_true(log_has(&m, "Flop: 2\u2663 7\u2665 T\u2660"));

    /* Bob folds to our bet: uncalled bet back, hand over, pot to us. */
    apply(&m, "{\"type\":\"state_update\",\"seq\":17,\"timestamp\":5,\"data\":{"
              "\"event\":\"action\",\"hand_id\":4,\"player_id\":\"" ANN "\",\"seat\":0,"
              "\"action\":\"raise\",\"amount\":40,\"to\":40,\"all_in\":false,"
              "\"stacks\":{\"" ANN "\":930},\"pots\":[],\"to_act\":null}}");
    apply(&m, "{\"type\":\"state_update\",\"seq\":18,\"timestamp\":5,\"data\":{"
              "\"event\":\"action\",\"hand_id\":4,\"player_id\":\"" BOB "\",\"seat\":1,"
              "\"action\":\"fold\",\"amount\":0,\"to\":0,\"all_in\":false,"
              "\"stacks\":{\"" BOB "\":770},\"pots\":[],\"to_act\":null}}");
    assert_int_equal(m.players[1].status, MODEL_FOLDED);
    /* Nobody had bet on the flop: ann's raise to 40 opens it, a bet. Preflop the blinds were
     * the bet, so bob raised. */
    assert_true(log_has(&m, "ann bets 40"));
    assert_false(log_has(&m, "ann raises to 40"));
    assert_false(log_has(&m, "bob bets"));
    apply(&m, "{\"type\":\"state_update\",\"seq\":19,\"timestamp\":5,\"data\":{"
              "\"event\":\"uncalled\",\"hand_id\":4,\"player_id\":\"" ANN "\",\"amount\":40,"
              "\"stacks\":{\"" ANN "\":970},\"to_act\":null}}");
    assert_int_equal(m.players[0].bet, 0);
    assert_int_equal(m.players[0].stack, 970);
    apply(&m, "{\"type\":\"state_update\",\"seq\":20,\"timestamp\":5,\"data\":{"
              "\"event\":\"hand_end\",\"hand_id\":4,\"to_act\":null,"
              "\"pots\":[{\"pot\":0,\"amount\":60,\"winners\":[{\"player_id\":\"" ANN "\","
              "\"amount\":60}]}],\"stacks\":{\"" ANN "\":1030,\"" BOB "\":770}}}");
    assert_false(m.hand_running);
    assert_int_equal(m.street, -1);
    assert_int_equal(m.players[0].stack, 1030);
    assert_int_equal(m.players[0].won, 60);
    assert_int_equal(m.players[0].status, MODEL_WAITING);
    assert_int_equal(m.nawards, 1);
    assert_int_equal(m.awards[0].winners, 1);
    assert_int_equal(m.awards[0].share[0], 60);
    assert_false(m.to_act.active);
    assert_true(log_has(&m, "ann wins 60 from the pot"));
    assert_int_equal(m.last_seq, 20);
}

static void test_seq_order(void **state)
{
    struct model m;
    (void)state;
    model_init(&m);
    /* Before any snapshot, events have nothing to apply to. */
    assert_int_equal(apply(&m, hand_start), MODEL_NO_SNAPSHOT);
    assert_false(m.hand_running);
    apply(&m, snapshot_idle);
    assert_int_equal(apply(&m, hand_start), MODEL_APPLIED);
    uint64_t v = m.version;
    /* A replayed event (resend after a reconnect) is not applied twice. */
    assert_int_equal(apply(&m, hand_start), MODEL_OLD);
    assert_int_equal(m.version, v);
    /* A gap is reported, not applied. */
    assert_int_equal(apply(&m, "{\"type\":\"chat\",\"seq\":15,\"timestamp\":1,\"data\":{"
                               "\"player_id\":\"" BOB "\",\"name\":\"bob\",\"spectator\":false,"
                               "\"text\":\"hi\"}}"),
                     MODEL_GAP);
    assert_int_equal(m.chat_count, 0);
    assert_int_equal(m.last_seq, 11);
    /* Replies carry no seq and do not move it. */
    assert_int_equal(apply(&m, "{\"type\":\"pong\",\"timestamp\":1,\"data\":{\"id\":3}}"),
                     MODEL_APPLIED);
    assert_int_equal(m.last_seq, 11);
    /* A snapshot resynchronises, whatever its seq (a restarted server starts again at 1). */
    char snap[sizeof(snapshot_idle) + 8];
    snprintf(snap, sizeof(snap), "%s", snapshot_idle);
    memcpy(strstr(snap, "\"seq\":10"), "\"seq\": 2", 8);
    assert_int_equal(apply(&m, snap), MODEL_APPLIED);
    assert_int_equal(m.last_seq, 2);
    assert_false(m.hand_running);
}

static void test_sanitized_text(void **state)
{
    struct model m;
    (void)state;
    model_init(&m);
    apply(&m, snapshot_idle);
    /* ESC [ 2 J (clear screen), a bidi override and a BEL in the chat and the name. */
    apply(&m, "{\"type\":\"chat\",\"seq\":11,\"timestamp\":7,\"data\":{\"player_id\":\"" BOB
              "\",\"name\":\"b\\u001b[31mob\\u0007\",\"spectator\":false,"
              "\"text\":\"hi\\u001b[2J there\\u202e!\"}}");
    assert_int_equal(m.chat_count, 1);
    const struct model_chat *c = model_chat_get(&m, 0);
    assert_string_equal(c->text, "hi there!");
    assert_string_equal(c->name, "bob");
    assert_false(c->own);
    apply(&m, "{\"type\":\"chat\",\"seq\":12,\"timestamp\":7,\"data\":{\"player_id\":\"" ANN
              "\",\"name\":\"ann\",\"spectator\":false,\"text\":\"me\"}}");
    assert_true(model_chat_get(&m, 1)->own);
    /* A seat update with a name full of controls: stored clean. */
    apply(&m, "{\"type\":\"state_update\",\"seq\":13,\"timestamp\":7,\"data\":{"
              "\"event\":\"seat\",\"hand_id\":3,\"change\":\"joined\",\"to_act\":null,"
              "\"player\":{\"player_id\":\"" CY "\",\"name\":\"\\u001b]0;pwn\\u0007cy\","
              "\"seat\":2,\"stack\":1000,\"bet\":0,\"status\":\"waiting\",\"connected\":false,"
              "\"bot\":false}}}");
    assert_true(m.players[2].present);
    assert_string_equal(m.players[2].name, "cy");
    assert_true(log_has(&m, "cy sits down"));
    for (int i = 0; i < m.log_count; i++)
        for (const char *p = model_log_get(&m, i)->text; *p; p++)
            assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
}

static void test_malformed_data(void **state)
{
    struct model m, before;
    (void)state;
    model_init(&m);
    apply(&m, snapshot_idle);
    apply(&m, hand_start);
    /* Unknown player, seat out of range, wrong types: nothing about the seats changes. */
    apply(&m, "{\"type\":\"state_update\",\"seq\":12,\"timestamp\":7,\"data\":{"
              "\"event\":\"action\",\"hand_id\":4,\"player_id\":\"zzzz\",\"seat\":0,"
              "\"action\":\"fold\",\"amount\":0,\"to\":0,\"all_in\":false,\"stacks\":{},"
              "\"pots\":[],\"to_act\":null}}");
    apply(&m, "{\"type\":\"state_update\",\"seq\":13,\"timestamp\":7,\"data\":{"
              "\"event\":\"seat\",\"hand_id\":4,\"change\":\"joined\",\"to_act\":null,"
              "\"player\":{\"player_id\":\"" CY "\",\"name\":\"cy\",\"seat\":99,"
              "\"stack\":1000}}}");
    apply(&m, "{\"type\":\"state_update\",\"seq\":14,\"timestamp\":7,\"data\":{"
              "\"event\":\"street\",\"hand_id\":4,\"street\":\"flop\","
              "\"cards\":[\"2c\",\"2c\",\"Xx\"],\"to_act\":null}}");
    apply(&m, "{\"type\":\"state_update\",\"seq\":15,\"timestamp\":7,\"data\":{"
              "\"event\":\"action\",\"hand_id\":\"four\",\"player_id\":7,\"stacks\":[1,2],"
              "\"to_act\":{\"player_id\":\"" ANN "\",\"seat\":-3}}}");
    apply(&m, "{\"type\":\"animation\",\"seq\":16,\"timestamp\":7,\"data\":{\"kind\":\"reveal\","
              "\"player_id\":\"" BOB "\",\"cards\":[\"Ah\",\"Kd\",\"Qc\",\"Js\",\"Tc\",\"9c\"]}}");
    apply(&m, "{\"type\":\"state_update\",\"seq\":17,\"timestamp\":7,\"data\":{}}");
    for (int s = 2; s < MODEL_MAX_SEATS; s++)
        assert_false(m.players[s].present);
    assert_int_equal(m.players[0].status, MODEL_ACTIVE);
    assert_int_equal(m.players[1].status, MODEL_ACTIVE);
    assert_int_equal(m.nboard, 0);
    assert_int_equal(m.hand_id, 4);
    assert_false(m.to_act.active);
    assert_int_equal(m.anim.ncards, 0);
    assert_int_equal(m.last_seq, 17); /* applied (as no-ops), in order */
    before = m;
    /* A player who leaves frees the seat. */
    apply(&m, "{\"type\":\"state_update\",\"seq\":18,\"timestamp\":7,\"data\":{"
              "\"event\":\"seat\",\"hand_id\":4,\"change\":\"left\",\"to_act\":null,"
              "\"player\":{\"player_id\":\"" BOB "\",\"name\":\"bob\",\"seat\":1,\"stack\":795,"
              "\"bet\":0,\"status\":\"waiting\",\"connected\":true,\"bot\":true}}}");
    assert_true(before.players[1].present);
    assert_false(m.players[1].present);
}

/* Two players all-in on the turn, both hands shown: AA against KK, one card to come. KK wins
 * only with one of the two kings left among 44 unseen cards. The numbers are the server's (its
 * "equity"): the model copies them, keeps them through updates without any, and after the hand
 * shows the equity the hands had when they were tabled, until the next hand. */
static void test_equity_all_in(void **state)
{
    struct model m;
    (void)state;
    model_init(&m);
    apply(&m, snapshot_idle);
    apply(&m, hand_start);
    apply(&m, "{\"type\":\"state_update\",\"seq\":12,\"timestamp\":7,\"data\":{"
              "\"event\":\"action\",\"hand_id\":4,\"player_id\":\"" BOB "\",\"seat\":1,"
              "\"action\":\"raise\",\"amount\":795,\"to\":800,\"all_in\":true,"
              "\"stacks\":{\"" BOB "\":0}," "\"pots\":[{\"amount\":810,\"eligible\":[\"" ANN "\",\"" BOB "\"]}],\"to_act\":{\"player_id\":\"" ANN "\",\"name\":"
              "\"ann\",\"seat\":0,\"call\":790,\"can_check\":false,\"min_raise_to\":null,"
              "\"max_raise_to\":null,\"deadline\":1}}}");
    /* Only Bob is all-in and it is our turn: no equity yet. */
    assert_false(m.equity_shown);
    assert_false(m.to_act.can_raise);
    apply(&m, "{\"type\":\"state_update\",\"seq\":13,\"timestamp\":7,\"data\":{"
              "\"event\":\"action\",\"hand_id\":4,\"player_id\":\"" ANN "\",\"seat\":0,"
              "\"action\":\"call\",\"amount\":790,\"to\":800,\"all_in\":false,"
              "\"stacks\":{\"" ANN "\":200}," "\"pots\":[{\"amount\":1600,\"eligible\":[\"" ANN "\",\"" BOB "\"]}],\"to_act\":null}}");
    /* Bob's cards are not known yet: still nothing. */
    assert_false(m.equity_shown);
    apply(&m, "{\"type\":\"state_update\",\"seq\":14,\"timestamp\":7,\"data\":{"
              "\"event\":\"showdown\",\"hand_id\":4,\"to_act\":null,"
              "\"shows\":[{\"player_id\":\"" ANN "\",\"cards\":[\"Ah\",\"Ad\"],\"hand\":null},"
              "{\"player_id\":\"" BOB "\",\"cards\":[\"Kh\",\"Kd\"],\"hand\":null}],"
              "\"mucks\":[],\"equity\":{\"" ANN "\":{\"win\":0.8236,\"tie\":0.0046},"
              "\"" BOB "\":{\"win\":0.1718,\"tie\":0.0046}}}}");
    assert_true(m.players[1].shown);
    assert_true(m.equity_shown);
    assert_true(m.players[0].has_equity && m.players[1].has_equity);
    assert_float_equal(m.players[0].equity, 0.8236, 1e-12);
    assert_float_equal(m.players[1].equity, 0.1718, 1e-12);
    assert_float_equal(m.players[1].tie, 0.0046, 1e-12);
    assert_true(log_has(&m, "bob shows K\u2665 K\u2666"));
    /* Before the flop there is no five-card hand to name: the log says only the cards. */
    assert_false(log_has(&m, "bob shows K\u2665 K\u2666 ("));
    assert_string_equal(m.players[1].hand, "");
    apply(&m, "{\"type\":\"state_update\",\"seq\":15,\"timestamp\":7,\"data\":{"
              "\"event\":\"street\",\"hand_id\":4,\"street\":\"flop\","
              "\"cards\":[\"2c\",\"7d\",\"9h\"]," "\"pots\":[{\"amount\":1600,\"eligible\":[\"" ANN "\",\"" BOB "\"]}],\"to_act\":null}}");
    apply(&m, "{\"type\":\"state_update\",\"seq\":16,\"timestamp\":7,\"data\":{"
              "\"event\":\"street\",\"hand_id\":4,\"street\":\"turn\","
              "\"cards\":[\"Jc\"]," "\"pots\":[{\"amount\":1600,\"eligible\":[\"" ANN "\",\"" BOB "\"]}],\"to_act\":null,"
              "\"equity\":{\"" ANN "\":{\"win\":0.9545,\"tie\":0},\"" BOB "\":{\"win\":0.0455,"
              "\"tie\":0}}}}");
    assert_int_equal(m.nboard, 4);
    /* The shown hands are named as the board runs out. */
    assert_string_equal(m.players[0].hand, "pair of Aces");
    assert_string_equal(m.players[1].hand, "pair of Kings");
    assert_true(m.equity_shown);
    assert_float_equal(m.players[1].equity, 0.0455, 1e-12);
    assert_float_equal(m.players[0].equity, 0.9545, 1e-12);
    apply(&m, "{\"type\":\"state_update\",\"seq\":17,\"timestamp\":7,\"data\":{"
              "\"event\":\"street\",\"hand_id\":4,\"street\":\"river\","
              "\"cards\":[\"3s\"]," "\"pots\":[{\"amount\":1600,\"eligible\":[\"" ANN "\",\"" BOB "\"]}],\"to_act\":null,"
              "\"equity\":{\"" ANN "\":{\"win\":1,\"tie\":0},\"" BOB "\":{\"win\":0,\"tie\":0}}}}");
    assert_float_equal(m.players[0].equity, 1.0, 1e-9);
    assert_float_equal(m.players[1].equity, 0.0, 1e-9);
    /* The hand ends: the equity of the all-in (when the hands were tabled) stays beside them. */
    apply(&m, "{\"type\":\"state_update\",\"seq\":18,\"timestamp\":7,\"data\":{"
              "\"event\":\"hand_end\",\"hand_id\":4,\"to_act\":null,"
              "\"pots\":[{\"pot\":0,\"amount\":1600,\"winners\":[{\"player_id\":\"" ANN "\","
              "\"amount\":1600}]}],\"stacks\":{\"" ANN "\":1800,\"" BOB "\":0}}}");
    assert_true(m.equity_shown && m.players[0].has_equity && m.players[1].has_equity);
    assert_float_equal(m.players[0].equity, 0.8236, 1e-12);
    assert_float_equal(m.players[1].equity, 0.1718, 1e-12);
    /* The all-in's winner is named with the final board; amounts with the table's separators. */
    assert_true(log_has(&m, "ann wins 1,600 from the pot with pair of Aces"));
    assert_true(log_has(&m, "bob raises to 800 (all-in)"));
    assert_true(log_has(&m, "ann calls 790"));
    /* The shown cards stay visible until the next hand. */
    assert_int_equal(m.players[1].ncards, 2);
    apply(&m, "{\"type\":\"state_update\",\"seq\":19,\"timestamp\":7,\"data\":{"
              "\"event\":\"hand_start\",\"hand_id\":5,\"to_act\":null,\"button\":0,"
              "\"small_blind_seat\":0,\"big_blind_seat\":1,\"posts\":[],\"players\":["
              "{\"player_id\":\"" ANN "\",\"name\":\"ann\",\"seat\":0,\"stack\":1800,\"bet\":0,"
              "\"status\":\"active\",\"connected\":true,\"bot\":false}],\"pots\":[]}}");
    assert_int_equal(m.players[0].ncards, 0);
    assert_false(m.players[1].present); /* not in the list: gone */
    assert_false(m.equity_shown || m.players[0].has_equity); /* a new hand: no numbers */
}

static void test_log_bounded(void **state)
{
    struct model m;
    (void)state;
    model_init(&m);
    for (int i = 0; i < MODEL_LOG_MAX + 10; i++)
        model_log_add(&m, MODEL_LOG_CLIENT, "line %d", i);
    assert_int_equal(m.log_count, MODEL_LOG_MAX);
    assert_string_equal(model_log_get(&m, 0)->text, "line 10");
    char last[32];
    snprintf(last, sizeof(last), "line %d", MODEL_LOG_MAX + 9);
    assert_string_equal(model_log_get(&m, MODEL_LOG_MAX - 1)->text, last);
    assert_null(model_log_get(&m, MODEL_LOG_MAX));
    /* An over-long line is cut, not refused. */
    char big[MODEL_LOG_LINE * 2];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    model_log_add(&m, MODEL_LOG_CLIENT, "%s", big);
    assert_int_equal(strlen(model_log_get(&m, MODEL_LOG_MAX - 1)->text), MODEL_LOG_LINE - 1);
}

/* The server restarted during hand 4 and voided it: the snapshot of its new run lists it in
 * voided_hands, and the log says so once; a snapshot that does not list it says nothing. */
static void test_voided_hand(void **state)
{
    struct model m;
    char snap[sizeof(snapshot_idle) + 64];
    const char *tail = "\"spectators\":2}}";
    (void)state;
    model_init(&m);
    apply(&m, snapshot_idle);
    apply(&m, hand_start);
    assert_true(m.hand_running);
    assert_int_equal(apply(&m, snapshot_idle), MODEL_APPLIED); /* no void listed */
    assert_false(log_has(&m, "voided"));
    apply(&m, hand_start);
    size_t keep = strlen(snapshot_idle) - strlen(tail);
    assert_string_equal(snapshot_idle + keep, tail);
    snprintf(snap, sizeof(snap), "%.*s\"spectators\":2,\"voided_hands\":[3,4]}}", (int)keep,
             snapshot_idle);
    assert_int_equal(apply(&m, snap), MODEL_APPLIED);
    assert_true(log_has(&m, "Hand #4 was voided (its server stopped)"));
    assert_false(m.hand_running);
}

/* A player who sits out during a hand is still in it (the seat update says "active"); once the
 * hand ends they show as sitting out, as the server has them. */
static void test_sit_out_mid_hand(void **state)
{
    struct model m;
    (void)state;
    model_init(&m);
    apply(&m, snapshot_idle);
    apply(&m, hand_start);
    apply(&m, "{\"type\":\"state_update\",\"seq\":12,\"timestamp\":7,\"data\":{"
              "\"event\":\"seat\",\"hand_id\":4,\"change\":\"sat_out\",\"to_act\":null,"
              "\"player\":{\"player_id\":\"" BOB "\",\"name\":\"bob\",\"seat\":1,\"stack\":795,"
              "\"bet\":5,\"status\":\"active\",\"connected\":true,\"bot\":true}}}");
    assert_int_equal(m.players[1].status, MODEL_ACTIVE);
    apply(&m, "{\"type\":\"state_update\",\"seq\":13,\"timestamp\":7,\"data\":{"
              "\"event\":\"hand_end\",\"hand_id\":4,\"to_act\":null,"
              "\"pots\":[{\"pot\":0,\"amount\":15,\"winners\":[{\"player_id\":\"" ANN "\","
              "\"amount\":15}]}],\"stacks\":{\"" ANN "\":1005,\"" BOB "\":795}}}");
    assert_int_equal(m.players[1].status, MODEL_SITTING_OUT);
    assert_int_equal(m.players[0].status, MODEL_WAITING);
}

/* One action of hand 4 at seq: who, what, chips moved and the bet it makes. */
static void act(struct model *m, int seq, const char *id, const char *what, long amount, long to)
{
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"type\":\"state_update\",\"seq\":%d,\"timestamp\":5,\"data\":{"
             "\"event\":\"action\",\"hand_id\":4,\"player_id\":\"%s\",\"seat\":%d,"
             "\"action\":\"%s\",\"amount\":%ld,\"to\":%ld,\"all_in\":false,\"stacks\":{},"
             "\"pots\":[],\"to_act\":null}}",
             seq, id, id[0] == 'a' ? 0 : 1, what, amount, to);
    assert_int_equal(apply(m, buf), MODEL_APPLIED);
}

static void street(struct model *m, int seq, const char *name, const char *cards)
{
    char buf[512];
    snprintf(buf, sizeof(buf),
             "{\"type\":\"state_update\",\"seq\":%d,\"timestamp\":5,\"data\":{"
             "\"event\":\"street\",\"hand_id\":4,\"street\":\"%s\",\"cards\":[%s],"
             "\"pots\":[],\"to_act\":null}}",
             seq, name, cards);
    assert_int_equal(apply(m, buf), MODEL_APPLIED);
}

/* The vocabulary of a hand played to a showdown on the river: "bets" opens a street, "raises to"
 * follows a bet, every amount has the table's separators, the board and the shown cards carry
 * the table's suit symbols, and the shown hands and the winner's are named with their ranks
 * (the server's category word is replaced). */
static void test_log_vocabulary(void **state)
{
    struct model m;
    (void)state;
    model_init(&m);
    apply(&m, snapshot_idle);
    apply(&m, hand_start);
    act(&m, 12, BOB, "call", 5, 10);
    act(&m, 13, ANN, "check", 0, 10);
    street(&m, 14, "flop", "\"9c\",\"4d\",\"2s\"");
    act(&m, 15, ANN, "check", 0, 0);
    act(&m, 16, BOB, "raise", 20, 20);
    act(&m, 17, ANN, "raise", 60, 60);
    act(&m, 18, BOB, "call", 40, 60);
    street(&m, 19, "turn", "\"Kh\"");
    act(&m, 20, ANN, "raise", 1250, 1250);
    act(&m, 21, BOB, "call", 725, 725);
    street(&m, 22, "river", "\"4s\"");
    assert_true(log_has(&m, "bob calls 5"));
    assert_true(log_has(&m, "ann checks"));
    assert_true(log_has(&m, "bob bets 20"));
    assert_true(log_has(&m, "ann raises to 60"));
    assert_true(log_has(&m, "ann bets 1,250"));
    assert_true(log_has(&m, "Turn: 9\u2663 4\u2666 2\u2660 K\u2665"));
    assert_true(log_has(&m, "River: 9\u2663 4\u2666 2\u2660 K\u2665 4\u2660"));
    assert_false(log_has(&m, "raises to 20"));
    assert_false(log_has(&m, "bets 60"));
    apply(&m, "{\"type\":\"state_update\",\"seq\":23,\"timestamp\":7,\"data\":{"
              "\"event\":\"showdown\",\"hand_id\":4,\"to_act\":null,"
              "\"shows\":[{\"player_id\":\"" BOB "\",\"cards\":[\"9h\",\"2d\"],"
              "\"hand\":\"two pair\"},"
              "{\"player_id\":\"" ANN "\",\"cards\":[\"Ah\",\"Ad\"],\"hand\":\"two pair\"}],"
              "\"mucks\":[]}}");
    assert_true(log_has(&m, "bob shows 9\u2665 2\u2666 (two pair, Nines and Fours)"));
    assert_true(log_has(&m, "ann shows A\u2665 A\u2666 (two pair, Aces and Fours)"));
    assert_string_equal(m.players[1].hand, "two pair, Nines and Fours");
    apply(&m, "{\"type\":\"state_update\",\"seq\":24,\"timestamp\":7,\"data\":{"
              "\"event\":\"hand_end\",\"hand_id\":4,\"to_act\":null,"
              "\"pots\":[{\"pot\":0,\"amount\":1590,\"winners\":[{\"player_id\":\"" ANN "\","
              "\"amount\":1590}]}],\"stacks\":{\"" ANN "\":1795,\"" BOB "\":0}}}");
    assert_true(log_has(&m, "ann wins 1,590 from the pot with two pair, Aces and Fours"));
    /* The next hand starts below a separator; the showdown's lines stay in the log. */
    int before = m.log_count;
    apply(&m, "{\"type\":\"state_update\",\"seq\":25,\"timestamp\":7,\"data\":{"
              "\"event\":\"hand_start\",\"hand_id\":5,\"to_act\":null,\"button\":0,"
              "\"small_blind_seat\":0,\"big_blind_seat\":1,\"posts\":[],\"players\":["
              "{\"player_id\":\"" ANN "\",\"name\":\"ann\",\"seat\":0,\"stack\":1795,"
              "\"bet\":0,\"status\":\"active\",\"connected\":true,\"bot\":false}],"
              "\"pots\":[]}}");
    assert_int_equal(m.log_count, before + 1);
    assert_string_equal(model_log_get(&m, before)->text, "-- Hand #5 --");
    assert_true(log_has(&m, "bob shows 9\u2665 2\u2666 (two pair, Nines and Fours)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot),       cmocka_unit_test(test_hand_flow),
        cmocka_unit_test(test_voided_hand),
        cmocka_unit_test(test_seq_order),      cmocka_unit_test(test_sanitized_text),
        cmocka_unit_test(test_malformed_data),
        cmocka_unit_test(test_sit_out_mid_hand), cmocka_unit_test(test_equity_all_in),
        cmocka_unit_test(test_log_bounded),    cmocka_unit_test(test_spectators_notification),
        cmocka_unit_test(test_log_vocabulary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
