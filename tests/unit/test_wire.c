/*
 * test_wire.c: unit tests for common/wire.c, the typed server-to-client messages (one encoder,
 * one decoder), and common/jval.c, the lenient json-c getters. Every encodable kind goes through
 * wire_encode and back through wire_decode_text and is compared field by field: snapshots with
 * and without "you", each update, every seat change, animation and notification kind, and the
 * three kinds of chat. The examples of docs/protocol.md, copied verbatim, decode to what they
 * show. Edited copies of them check the strictness: a missing field, a wrong type, a number out
 * of range, a string over its buffer, a bad or repeated card, too many elements or a non-object
 * is refused whole with "bad_field" naming the field, and the event it was decoded into keeps
 * nothing of what it held before; an unknown update event is refused, while unknown animation
 * and notification kinds and unknown extra fields are not. The replies built by proto.c (ack,
 * the join's ack, error, pong) decode, a message over WIRE_TEXT_MAX is cut at a code point
 * boundary, and an update's keys come in the documented order. to_act's "legal" follows
 * call, can_check and can_raise in every case, is decoded as sent, and a bad list is refused;
 * "equity" round-trips at 4 decimals on snapshots and updates, the run-out example decodes, and
 * a probability outside 0..1, a win + tie above 1 or a non-object entry is refused. Last, jval's
 * getters on absent, mistyped and non-object input, and jval_parse's "exactly one value".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "jval.h"
#include "text.h"
#include "util.h"
#include "wire.h"

#define SET(dst, src) snprintf((dst), sizeof(dst), "%s", (src))
/* Field compares between a (what was encoded) and b (what was decoded). */
#define EQ(f) assert_int_equal(a->f, b->f)
#define EQS(f) assert_string_equal(a->f, b->f)

#define ID_A "4be0a1c2d3e4f506"
#define ID_B "77c1d2e3f4a5b6c7"
#define ID_C "0123456789abcdef"
#define X10 "xxxxxxxxxx"
#define X50 X10 X10 X10 X10 X10
#define ID40 X10 X10 X10 X10    /* over WIRE_ID_MAX (32) */
#define NAME200 X50 X50 X50 X50 /* over PROTO_NAME_MAX_BYTES (96) */
static const uint64_t SEQ = 9001;
static const int64_t TS = 1764120000123;

/* ---- docs/protocol.md, "Server to client", verbatim ---------------------------------------- */

static const char DOC_SNAPSHOT[] =
    "{\"type\": \"snapshot\", \"seq\": 317, \"timestamp\": 1764120000123, \"data\": {\n"
    "  \"epoch\": \"5d41402abc4b2a76b9719d911017c592\",\n"
    "  \"table\": {\"id\": \"main\", \"seats\": 6, \"small_blind\": 5, \"big_blind\": 10, "
    "\"ante\": 0,\n"
    "            \"buy_in\": 1000, \"action_timeout_ms\": 30000, \"spectator_chat\": true},\n"
    "  \"hand_id\": 42, \"hand_running\": true, \"button\": 2, \"street\": \"flop\",\n"
    "  \"board\": [\"2c\", \"7h\", \"Ts\"],\n"
    "  \"pots\": [{\"amount\": 60, \"eligible\": [\"4be0a1c2d3e4f506\", \"77c1d2e3f4a5b6c7\"]}],\n"
    "  \"players\": [{\"player_id\": \"4be0a1c2d3e4f506\", \"name\": \"ann\", \"seat\": 0, "
    "\"stack\": 970,\n"
    "               \"bet\": 0, \"status\": \"active\", \"connected\": true, \"bot\": false,\n"
    "               \"cards\": [\"Ah\", \"Kd\"]}],\n"
    "  \"to_act\": {\"player_id\": \"4be0a1c2d3e4f506\", \"name\": \"ann\", \"seat\": 0, \"call\": "
    "0,\n"
    "             \"can_check\": true, \"min_raise_to\": 10, \"max_raise_to\": 970,\n"
    "             \"deadline\": 1764120030123, \"decision\": 5,\n"
    "             \"legal\": [\"fold\", \"check\", \"raise\", \"all_in\"]},\n"
    "  \"you\": {\"player_id\": \"4be0a1c2d3e4f506\", \"name\": \"ann\", \"seat\": 0, "
    "\"sitting_out\": false},\n"
    "  \"spectators\": 1}}";

static const char DOC_ACTION[] =
    "{\"type\": \"state_update\", \"seq\": 305, \"timestamp\": 1764120001000, \"data\": {\n"
    "  \"event\": \"action\", \"hand_id\": 42, \"player_id\": \"4be0a1c2d3e4f506\", \"seat\": 0,\n"
    "  \"action\": \"raise\", \"amount\": 25, \"to\": 30, \"all_in\": false,\n"
    "  \"stacks\": {\"4be0a1c2d3e4f506\": 970},\n"
    "  \"pots\": [{\"amount\": 40, \"eligible\": [\"4be0a1c2d3e4f506\", \"77c1d2e3f4a5b6c7\"]}],\n"
    "  \"to_act\": {\"player_id\": \"77c1d2e3f4a5b6c7\", \"name\": \"bo-bot\", \"seat\": 1, "
    "\"call\": 20,\n"
    "             \"can_check\": false, \"min_raise_to\": 50, \"max_raise_to\": 1000,\n"
    "             \"deadline\": 1764120031000, \"decision\": 2, \"legal\": [\"fold\", \"call\", "
    "\"raise\", \"all_in\"]}}}";

static const char DOC_RUNOUT[] =
    "{\"type\": \"state_update\", \"seq\": 310, \"timestamp\": 1764120002000, \"data\": {\n"
    "  \"event\": \"street\", \"hand_id\": 43, \"to_act\": null, \"street\": \"turn\", "
    "\"cards\": [\"9d\"],\n"
    "  \"pots\": [{\"amount\": 2000, \"eligible\": [\"4be0a1c2d3e4f506\", "
    "\"77c1d2e3f4a5b6c7\"]}],\n"
    "  \"equity\": {\"4be0a1c2d3e4f506\": {\"win\": 0.1364, \"tie\": 0},\n"
    "             \"77c1d2e3f4a5b6c7\": {\"win\": 0.8636, \"tie\": 0}}}}";

static const char DOC_SHOWDOWN[] =
    "{\"type\": \"state_update\", \"seq\": 314, \"timestamp\": 1764120004000, \"data\": {\n"
    "  \"event\": \"showdown\", \"hand_id\": 42, \"to_act\": null,\n"
    "  \"shows\": [{\"player_id\": \"4be0a1c2d3e4f506\", \"cards\": [\"Ah\", \"Kd\"], \"hand\": "
    "\"pair\"}],\n"
    "  \"mucks\": [\"77c1d2e3f4a5b6c7\"]}}";

static const char DOC_HAND_END[] =
    "{\"type\": \"state_update\", \"seq\": 316, \"timestamp\": 1764120004100, \"data\": {\n"
    "  \"event\": \"hand_end\", \"hand_id\": 42, \"to_act\": null,\n"
    "  \"pots\": [{\"pot\": 0, \"amount\": 120,\n"
    "            \"winners\": [{\"player_id\": \"4be0a1c2d3e4f506\", \"amount\": 120}]}],\n"
    "  \"stacks\": {\"4be0a1c2d3e4f506\": 1060, \"77c1d2e3f4a5b6c7\": 940}}}";

static const char DOC_TURN[] =
    "{\"type\": \"notification\", \"seq\": 306, \"timestamp\": 1764120001000,\n"
    " \"data\": {\"kind\": \"turn\", \"player_id\": \"77c1d2e3f4a5b6c7\", \"name\": \"bo-bot\",\n"
    "          \"deadline\": 1764120031000}}";

static const char DOC_ACK_JOIN[] =
    "{\"type\": \"ack\", \"timestamp\": 1764119990000,\n"
    " \"data\": {\"request_id\": \"\", \"status\": \"accepted\", \"player_id\": "
    "\"4be0a1c2d3e4f506\",\n"
    "          \"token\": \"9f2c…\", \"seat\": 0, \"name\": \"ann\"}}";

static const char DOC_ERROR[] = "{\"type\": \"error\", \"timestamp\": 1764120001000,\n"
                                " \"data\": {\"code\": \"bad_field\", \"message\": \"amount must "
                                "be an integer between 0 and 1000000000000\"}}";

static const char DOC_PONG[] =
    "{\"type\": \"pong\", \"timestamp\": 1764120001000, \"data\": {\"id\": 7}}";

/* ---- helpers ------------------------------------------------------------------------------- */

static card_t card(const char *s)
{
    card_t c = CARD_NONE;
    assert_int_equal(card_parse(s, &c, NULL), 0);
    return c;
}

static struct wire_event *ev_new(void)
{
    struct wire_event *ev = malloc(sizeof(*ev));
    assert_non_null(ev);
    return ev;
}

static void decode_ok(const char *text, struct wire_event *ev)
{
    struct felt_err err = {0};
    int rc = wire_decode_text(text, strlen(text), ev, &err);
    if (rc != 0) print_error("%s\n-> %s: %s\n", text, err.code, err.message);
    assert_int_equal(rc, 0);
}

/* text must be refused with code, its message naming field. ev starts full of a stale pattern
 * and must come back without any run of it: reset whole, never the old event patched in part. */
static void expect_refused(const char *text, const char *code, const char *field)
{
    struct wire_event *ev = ev_new();
    struct felt_err err = {0};
    const unsigned char *p = (const unsigned char *)ev;
    size_t run = 0;
    memset(ev, 0xA5, sizeof(*ev));
    if (wire_decode_text(text, strlen(text), ev, &err) != -1) fail_msg("accepted: %s", text);
    assert_string_equal(err.code, code);
    if (field && !strstr(err.message, field))
        fail_msg("\"%s\" does not name %s, for: %s", err.message, field, text);
    for (size_t i = 0; i < sizeof(*ev) && run < 16; i++)
        run = p[i] == 0xA5 ? run + 1 : 0;
    assert_true(run < 16);
    free(ev);
}

/* text with the first occurrence of from replaced by to (from must occur). */
static char *replace1(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    if (!at) fail_msg("\"%s\" is not in the example", from);
    size_t head = (size_t)(at - text), flen = strlen(from), tlen = strlen(to);
    char *out = malloc(strlen(text) - flen + tlen + 1);
    assert_non_null(out);
    memcpy(out, text, head);
    memcpy(out + head, to, tlen);
    strcpy(out + head + tlen, at + flen);
    return out;
}

/* The "data" object of a parsed message; dump() serializes the message and releases it. */
static struct json_object *data_of(struct json_object *msg)
{
    struct json_object *d = jval_typed(msg, "data", json_type_object);
    assert_non_null(d);
    return d;
}

static char *dump(struct json_object *msg)
{
    char *s = strdup(json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN));
    json_object_put(msg);
    assert_non_null(s);
    return s;
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static void set_player(struct wire_player *p, const char *id, const char *name, int seat,
                       enum wire_status status, const char *c1, const char *c2)
{
    memset(p, 0, sizeof(*p));
    SET(p->id, id);
    SET(p->name, name);
    p->seat = seat, p->stack = 1000 - 30 * seat, p->bet = 5 * seat, p->status = status;
    p->connected = seat != 2, p->bot = seat == 1;
    if (c1) p->ncards = 2, p->cards[0] = card(c1), p->cards[1] = card(c2);
}

static void set_pot(struct wire_pot *p, int64_t amount, int neligible)
{
    const char *ids[] = {ID_A, ID_B, ID_C};
    p->amount = amount;
    p->neligible = neligible;
    for (int i = 0; i < neligible; i++)
        SET(p->eligible[i], ids[i]);
}

static void set_to_act(struct wire_to_act *t, bool can_raise)
{
    t->present = t->has_player = t->has_deadline = true;
    SET(t->player_id, ID_B);
    SET(t->name, "bo-bot");
    t->seat = 1, t->call = 20, t->can_check = false, t->deadline = 1764120031000;
    t->decision = 7;
    t->can_raise = can_raise; /* when false, min/max_raise_to go out as null */
    if (can_raise) t->min_raise_to = 50, t->max_raise_to = PROTO_AMOUNT_MAX;
}

static void set_award(struct wire_award *aw, int pot, int64_t amount, int nwinners)
{
    aw->pot = pot, aw->amount = amount, aw->nwinners = nwinners;
    for (int i = 0; i < nwinners; i++) {
        SET(aw->winners[i].player_id, i ? ID_B : ID_A);
        aw->winners[i].amount = amount / nwinners;
    }
}

static void set_stacks(struct wire_stacks *st)
{
    st->n = 2;
    SET(st->s[0].player_id, ID_A);
    SET(st->s[1].player_id, ID_B);
    st->s[0].amount = 970, st->s[1].amount = 0;
}

/* ---- field-by-field compares --------------------------------------------------------------- */

static void eq_cards(const card_t *a, const card_t *b, int n)
{
    for (int i = 0; i < n; i++)
        assert_int_equal(a[i], b[i]);
}

static void eq_player(const struct wire_player *a, const struct wire_player *b)
{
    EQS(id), EQS(name), EQ(seat), EQ(stack), EQ(bet), EQ(status), EQ(connected), EQ(bot);
    EQ(ncards);
    eq_cards(a->cards, b->cards, a->ncards);
}

static void eq_to_act(const struct wire_to_act *a, const struct wire_to_act *b)
{
    EQ(present), EQ(has_player), EQS(player_id), EQ(seat), EQS(name), EQ(call), EQ(can_check);
    EQ(can_raise), EQ(min_raise_to), EQ(max_raise_to), EQ(has_deadline), EQ(deadline);
    EQ(decision);
    if (a->present) assert_int_equal(b->legal, wire_to_act_legal(a));
}

/* Equity goes out rounded to 4 decimals. */
static void eq_equity(const struct wire_event *a, const struct wire_event *b)
{
    EQ(nequity);
    for (int i = 0; i < a->nequity; i++) {
        EQS(equity[i].player_id);
        assert_float_equal(a->equity[i].win, b->equity[i].win, 0.00005);
        assert_float_equal(a->equity[i].tie, b->equity[i].tie, 0.00005);
    }
}

static void set_equity(struct wire_event *ev)
{
    ev->nequity = 3;
    SET(ev->equity[0].player_id, ID_A);
    SET(ev->equity[1].player_id, ID_B);
    SET(ev->equity[2].player_id, ID_C);
    ev->equity[0].win = 0.62141234, ev->equity[0].tie = 0.0123;
    ev->equity[1].win = 1.0 / 3, ev->equity[1].tie = 0.0123;
    ev->equity[2].win = 0, ev->equity[2].tie = 0.0;
}

static void eq_pots(const struct wire_pot *pa, int na, const struct wire_pot *pb, int nb)
{
    assert_int_equal(na, nb);
    for (int i = 0; i < na; i++) {
        const struct wire_pot *a = &pa[i], *b = &pb[i];
        EQ(amount), EQ(neligible);
        for (int k = 0; k < a->neligible; k++)
            EQS(eligible[k]);
    }
}

static void eq_stacks(const struct wire_stacks *a, const struct wire_stacks *b)
{
    EQ(n);
    for (int i = 0; i < a->n; i++)
        EQS(s[i].player_id), EQ(s[i].amount);
}

static void eq_award(const struct wire_award *a, const struct wire_award *b)
{
    EQ(pot), EQ(amount), EQ(nwinners);
    for (int i = 0; i < a->nwinners; i++)
        EQS(winners[i].player_id), EQ(winners[i].amount);
}

static void eq_snapshot(const struct wire_snapshot *a, const struct wire_snapshot *b)
{
    EQS(epoch), EQS(table.id), EQ(table.seats), EQ(table.small_blind), EQ(table.big_blind);
    EQ(table.ante), EQ(table.buy_in), EQ(table.action_timeout_ms), EQ(table.spectator_chat);
    EQ(hand_running), EQ(button), EQ(street), EQ(nboard), EQ(nplayers), EQ(spectators);
    eq_cards(a->board, b->board, a->nboard);
    eq_pots(a->pots, a->npots, b->pots, b->npots);
    for (int i = 0; i < a->nplayers; i++)
        eq_player(&a->players[i], &b->players[i]);
    EQ(has_you), EQS(you.player_id), EQS(you.name), EQ(you.seat), EQ(you.sitting_out);
    EQ(nvoided);
    for (int i = 0; i < a->nvoided; i++)
        EQ(voided[i]);
}

static void eq_hand_start(const struct wire_hand_start *a, const struct wire_hand_start *b)
{
    EQ(button), EQ(small_blind_seat), EQ(big_blind_seat), EQ(nposts), EQ(nplayers);
    for (int i = 0; i < a->nposts; i++)
        EQS(posts[i].player_id), EQ(posts[i].kind), EQ(posts[i].amount);
    for (int i = 0; i < a->nplayers; i++)
        eq_player(&a->players[i], &b->players[i]);
    eq_pots(a->pots, a->npots, b->pots, b->npots);
}

static void eq_showdown(const struct wire_showdown *a, const struct wire_showdown *b)
{
    EQ(nshows), EQ(nmucks);
    for (int i = 0; i < a->nshows; i++) {
        EQS(shows[i].player_id), EQS(shows[i].hand);
        eq_cards(a->shows[i].cards, b->shows[i].cards, 2);
    }
    for (int i = 0; i < a->nmucks; i++)
        EQS(mucks[i]);
}

static void eq_animation(const struct wire_animation *a, const struct wire_animation *b)
{
    EQ(kind), EQS(name), EQS(player_id), EQ(amount), EQ(street), EQ(ncards), EQ(nplayers);
    eq_cards(a->cards, b->cards, a->ncards);
    for (int i = 0; i < a->nplayers; i++)
        EQS(players[i]);
    eq_award(&a->award, &b->award);
}

static void eq_note(const struct wire_notification *a, const struct wire_notification *b)
{
    EQ(kind), EQS(name), EQ(has_player), EQS(player_id), EQS(player_name), EQ(deadline);
    EQ(seconds_left), EQ(stack), EQ(count), EQ(hand_id), EQS(reason), EQ(nawards);
    for (int i = 0; i < a->nawards; i++)
        eq_award(&a->awards[i], &b->awards[i]);
}

static void eq_chat(const struct wire_chat *a, const struct wire_chat *b)
{
    EQ(has_player), EQS(player_id), EQS(name), EQ(spectator), EQ(expired), EQS(text);
}

/* wire_encode, wire_decode_text, and every field compared; the name of an animation or a
 * notification is decoded only, so the caller sets it in `in` as it must come back. */
static void round_trip(const struct wire_event *in)
{
    struct wire_event *out = ev_new();
    const struct wire_event *a = in, *b = out;
    size_t len = 0;
    char *s = wire_encode(in, SEQ, TS, &len);
    assert_int_equal(len, strlen(s));
    decode_ok(s, out);
    free(s);
    EQ(kind), assert_true(out->has_seq), assert_int_equal(out->seq, SEQ);
    assert_int_equal(out->timestamp, TS);
    if (in->kind == WIRE_SNAPSHOT || wire_stype(in->kind) == PROTO_S_STATE_UPDATE) {
        EQ(hand_id);
        eq_to_act(&a->to_act, &b->to_act);
        eq_equity(a, b);
    }
    switch (in->kind) {
    case WIRE_SNAPSHOT:
        eq_snapshot(&a->u.snapshot, &b->u.snapshot);
        break;
    case WIRE_HAND_START:
        eq_hand_start(&a->u.hand_start, &b->u.hand_start);
        break;
    case WIRE_ACTION:
        EQS(u.action.player_id), EQ(u.action.seat), EQ(u.action.action), EQ(u.action.amount);
        EQ(u.action.to), EQ(u.action.all_in);
        eq_stacks(&a->u.action.stacks, &b->u.action.stacks);
        eq_pots(a->u.action.pots, a->u.action.npots, b->u.action.pots, b->u.action.npots);
        break;
    case WIRE_STREET:
        EQ(u.street.street), EQ(u.street.ncards);
        eq_cards(a->u.street.cards, b->u.street.cards, a->u.street.ncards);
        eq_pots(a->u.street.pots, a->u.street.npots, b->u.street.pots, b->u.street.npots);
        break;
    case WIRE_UNCALLED:
        EQS(u.uncalled.player_id), EQ(u.uncalled.amount);
        eq_stacks(&a->u.uncalled.stacks, &b->u.uncalled.stacks);
        break;
    case WIRE_SHOWDOWN:
        eq_showdown(&a->u.showdown, &b->u.showdown);
        break;
    case WIRE_HAND_END:
        EQ(u.hand_end.nawards);
        for (int i = 0; i < a->u.hand_end.nawards; i++)
            eq_award(&a->u.hand_end.awards[i], &b->u.hand_end.awards[i]);
        eq_stacks(&a->u.hand_end.stacks, &b->u.hand_end.stacks);
        break;
    case WIRE_SEAT:
        EQ(u.seat.change);
        eq_player(&a->u.seat.player, &b->u.seat.player);
        break;
    case WIRE_ANIMATION:
        eq_animation(&a->u.animation, &b->u.animation);
        break;
    case WIRE_NOTIFICATION:
        eq_note(&a->u.note, &b->u.note);
        break;
    case WIRE_CHAT:
        eq_chat(&a->u.chat, &b->u.chat);
        break;
    default:
        fail_msg("kind %d is not encodable", in->kind);
    }
    free(out);
}

/* ---- 1. round trips ------------------------------------------------------------------------ */

static void test_snapshot_round_trip(void **state)
{
    struct wire_event *ev = ev_new();
    (void)state;
    for (int spectator = 0; spectator < 2; spectator++) {
        wire_init(ev, WIRE_SNAPSHOT);
        struct wire_snapshot *s = &ev->u.snapshot;
        SET(s->epoch, "5d41402abc4b2a76b9719d911017c592");
        SET(s->table.id, "main_2");
        s->table.seats = 6, s->table.small_blind = 5, s->table.big_blind = 10;
        s->table.ante = 1, s->table.buy_in = 1000, s->table.action_timeout_ms = 30000;
        s->table.spectator_chat = true;
        set_player(&s->players[0], ID_A, "ann", 0, WIRE_ACTIVE, "Ah", "Kd");
        set_player(&s->players[1], ID_B, "bo-bot", 1, WIRE_FOLDED, NULL, NULL);
        set_player(&s->players[2], ID_C, "Zoë", 2, WIRE_SITTING_OUT, NULL, NULL);
        s->nplayers = 3, s->spectators = 4;
        if (spectator) { /* between hands: button, street, to_act and you are all null */
            assert_int_equal(s->button, -1);
            assert_int_equal(s->street, -1);
            round_trip(ev);
            continue;
        }
        ev->hand_id = 42, s->hand_running = true, s->button = 2, s->street = ENGINE_TURN;
        s->nboard = 4, s->board[0] = card("2c"), s->board[1] = card("7h");
        s->board[2] = card("Ts"), s->board[3] = card("As");
        set_pot(&s->pots[0], 60, 3);
        set_pot(&s->pots[1], 20, 2);
        s->npots = 2;
        set_to_act(&ev->to_act, true);
        s->has_you = true, s->you.seat = 0, s->you.sitting_out = true;
        s->nvoided = 2, s->voided[0] = 40, s->voided[1] = 41; /* after restarts */
        SET(s->you.player_id, ID_A);
        SET(s->you.name, "ann");
        round_trip(ev);
        set_equity(ev); /* a snapshot taken during a run-out */
        round_trip(ev);
    }
    free(ev);
}

static void test_updates_round_trip(void **state)
{
    struct wire_event *ev = ev_new();
    (void)state;

    wire_init(ev, WIRE_HAND_START);
    struct wire_hand_start *h = &ev->u.hand_start;
    ev->hand_id = 43;
    set_to_act(&ev->to_act, true);
    h->button = 2, h->small_blind_seat = 0, h->big_blind_seat = 1, h->nposts = 3;
    for (int i = 0; i < 3; i++) { /* an ante, then the blinds */
        SET(h->posts[i].player_id, i == 2 ? ID_B : ID_A);
        h->posts[i].kind = (enum wire_post_kind)i, h->posts[i].amount = 1 + 4 * i;
    }
    set_player(&h->players[0], ID_A, "ann", 0, WIRE_ACTIVE, "2d", "2h");
    set_player(&h->players[1], ID_B, "bo-bot", 1, WIRE_ACTIVE, NULL, NULL);
    h->nplayers = 2, h->npots = 1;
    set_pot(&h->pots[0], 16, 2);
    round_trip(ev);

    wire_init(ev, WIRE_ACTION);
    struct wire_action *a = &ev->u.action;
    ev->hand_id = 43;
    set_to_act(&ev->to_act, false);
    SET(a->player_id, ID_A);
    a->seat = 0, a->action = ENGINE_RAISE, a->amount = 970, a->to = 975, a->all_in = true;
    set_stacks(&a->stacks);
    set_pot(&a->pots[0], 1000, 2);
    a->npots = 1;
    round_trip(ev);

    wire_init(ev, WIRE_STREET);
    ev->hand_id = 43;
    ev->u.street.street = ENGINE_RIVER, ev->u.street.ncards = 1, ev->u.street.npots = 2;
    ev->u.street.cards[0] = card("9s");
    set_pot(&ev->u.street.pots[0], 80, 3);
    set_pot(&ev->u.street.pots[1], 30, 2);
    round_trip(ev);
    set_equity(ev);
    round_trip(ev);

    wire_init(ev, WIRE_UNCALLED);
    SET(ev->u.uncalled.player_id, ID_B);
    ev->u.uncalled.amount = 50;
    set_stacks(&ev->u.uncalled.stacks);
    round_trip(ev);

    wire_init(ev, WIRE_SHOWDOWN);
    struct wire_showdown *sd = &ev->u.showdown;
    SET(sd->shows[0].player_id, ID_A); /* hand "" goes out as null (shown before the flop) */
    sd->shows[0].cards[0] = card("Ah"), sd->shows[0].cards[1] = card("Kd");
    SET(sd->shows[1].player_id, ID_B);
    SET(sd->shows[1].hand, "two_pair");
    sd->shows[1].cards[0] = card("Qc"), sd->shows[1].cards[1] = card("Qs");
    SET(sd->mucks[0], ID_C);
    sd->nshows = 2, sd->nmucks = 1;
    round_trip(ev);
    set_equity(ev);
    round_trip(ev);

    wire_init(ev, WIRE_HAND_END);
    set_award(&ev->u.hand_end.awards[0], 0, 120, 2);
    set_award(&ev->u.hand_end.awards[1], 1, 40, 1);
    ev->u.hand_end.nawards = 2;
    set_stacks(&ev->u.hand_end.stacks);
    round_trip(ev);

    for (int c = WIRE_SEAT_JOINED; c <= WIRE_SEAT_REBUY; c++) {
        wire_init(ev, WIRE_SEAT);
        ev->u.seat.change = (enum wire_seat_change)c;
        set_player(&ev->u.seat.player, ID_C, "cy", c, (enum wire_status)(c % 5), NULL, NULL);
        round_trip(ev);
    }
    free(ev);
}

static void test_animations_round_trip(void **state)
{
    struct wire_event *ev = ev_new();
    (void)state;
    for (int k = WIRE_ANIM_DEAL; k < WIRE_ANIM_OTHER; k++) {
        wire_init(ev, WIRE_ANIMATION);
        struct wire_animation *a = &ev->u.animation;
        a->kind = (enum wire_anim_kind)k;
        SET(a->name, wire_anim_name(a->kind));
        if (k == WIRE_ANIM_DEAL) {
            SET(a->players[0], ID_A), SET(a->players[1], ID_B), SET(a->players[2], ID_C);
            a->nplayers = 3;
        } else if (k == WIRE_ANIM_CHIPS_TO_POT) {
            SET(a->player_id, ID_B), a->amount = 25;
        } else if (k == WIRE_ANIM_DEAL_BOARD) {
            a->street = ENGINE_FLOP, a->ncards = 3;
            a->cards[0] = card("2c"), a->cards[1] = card("7h"), a->cards[2] = card("Ts");
        } else if (k == WIRE_ANIM_REVEAL) {
            SET(a->player_id, ID_A), a->ncards = 2;
            a->cards[0] = card("Ah"), a->cards[1] = card("Kd");
        } else {
            set_award(&a->award, 1, 300, 2);
        }
        round_trip(ev);
    }
    free(ev);
}

static void test_notifications_round_trip(void **state)
{
    struct wire_event *ev = ev_new();
    (void)state;
    for (int k = WIRE_NOTE_TURN; k < WIRE_NOTE_OTHER; k++) {
        wire_init(ev, WIRE_NOTIFICATION);
        struct wire_notification *n = &ev->u.note;
        n->kind = (enum wire_note_kind)k;
        SET(n->name, wire_note_name(n->kind));
        n->has_player =
            k != WIRE_NOTE_HAND_WON && k != WIRE_NOTE_SPECTATORS && k != WIRE_NOTE_HAND_VOIDED;
        if (n->has_player) SET(n->player_id, ID_B), SET(n->player_name, "bo-bot");
        if (k == WIRE_NOTE_TURN || k == WIRE_NOTE_YOUR_TURN || k == WIRE_NOTE_TIMER_WARNING)
            n->deadline = 1764120031000 + k;
        if (k == WIRE_NOTE_TIMER_WARNING) n->seconds_left = 10;
        if (k == WIRE_NOTE_PLAYER_LEFT) SET(n->reason, "idle"), n->stack = 980;
        if (k == WIRE_NOTE_SPECTATORS) n->count = 3;
        if (k == WIRE_NOTE_HAND_VOIDED) n->hand_id = 41;
        if (k == WIRE_NOTE_HAND_WON) {
            set_award(&n->awards[0], 0, 120, 2);
            set_award(&n->awards[1], 1, 60, 1);
            n->nawards = 2;
        }
        round_trip(ev);
    }
    free(ev);
}

static void test_chat_round_trip(void **state)
{
    struct wire_event *ev = ev_new();
    (void)state;
    for (int c = 0; c < 3; c++) { /* a player, a spectator, an expired placeholder */
        wire_init(ev, WIRE_CHAT);
        struct wire_chat *m = &ev->u.chat;
        m->has_player = c == 0, m->spectator = c == 1, m->expired = c == 2;
        if (c == 0) SET(m->player_id, ID_A), SET(m->name, "ann"), SET(m->text, "nice hand ♠");
        if (c == 1) SET(m->name, "spectator"), SET(m->text, "gl");
        round_trip(ev);
    }
    free(ev);
}

/* ---- 2. the docs' examples ----------------------------------------------------------------- */

static void test_doc_examples(void **state)
{
    struct wire_event *ev = ev_new();
    const struct wire_snapshot *s = &ev->u.snapshot;
    (void)state;

    decode_ok(DOC_SNAPSHOT, ev);
    assert_int_equal(ev->kind, WIRE_SNAPSHOT);
    assert_true(ev->has_seq && ev->seq == 317 && ev->timestamp == 1764120000123);
    assert_string_equal(s->epoch, "5d41402abc4b2a76b9719d911017c592");
    assert_string_equal(s->table.id, "main");
    assert_true(s->table.seats == 6 && s->table.big_blind == 10 && s->table.buy_in == 1000);
    assert_true(s->table.action_timeout_ms == 30000 && s->table.spectator_chat);
    assert_true(ev->hand_id == 42 && s->hand_running && s->button == 2);
    assert_int_equal(s->street, ENGINE_FLOP);
    assert_int_equal(s->nboard, 3);
    assert_int_equal(s->board[2], card("Ts"));
    assert_true(s->npots == 1 && s->pots[0].amount == 60 && s->pots[0].neligible == 2);
    assert_int_equal(s->nplayers, 1);
    assert_string_equal(s->players[0].name, "ann");
    assert_true(s->players[0].stack == 970 && s->players[0].status == WIRE_ACTIVE);
    assert_true(s->players[0].ncards == 2 && s->players[0].cards[1] == card("Kd"));
    assert_true(ev->to_act.present && ev->to_act.can_check && ev->to_act.can_raise);
    assert_true(ev->to_act.max_raise_to == 970 && ev->to_act.deadline == 1764120030123);
    assert_int_equal(ev->to_act.decision, 5);
    assert_int_equal(ev->to_act.legal, 1u << ENGINE_FOLD | 1u << ENGINE_CHECK | 1u << ENGINE_RAISE |
                                           1u << ENGINE_ALL_IN);
    assert_int_equal(ev->nequity, 0);
    assert_true(s->has_you && !s->you.sitting_out && s->spectators == 1);
    assert_string_equal(s->you.player_id, ID_A);

    decode_ok(DOC_ACTION, ev);
    assert_int_equal(ev->kind, WIRE_ACTION);
    assert_int_equal(ev->u.action.action, ENGINE_RAISE);
    assert_true(ev->u.action.amount == 25 && ev->u.action.to == 30 && !ev->u.action.all_in);
    assert_true(ev->u.action.stacks.n == 1 && ev->u.action.stacks.s[0].amount == 970);
    assert_string_equal(ev->to_act.name, "bo-bot");
    assert_int_equal(ev->to_act.min_raise_to, 50);
    assert_int_equal(ev->to_act.decision, 2);
    assert_int_equal(ev->to_act.legal, 1u << ENGINE_FOLD | 1u << ENGINE_CALL | 1u << ENGINE_RAISE |
                                           1u << ENGINE_ALL_IN);

    decode_ok(DOC_RUNOUT, ev);
    assert_true(ev->kind == WIRE_STREET && ev->u.street.street == ENGINE_TURN);
    assert_int_equal(ev->nequity, 2);
    assert_string_equal(ev->equity[0].player_id, ID_A);
    assert_float_equal(ev->equity[0].win, 0.1364, 1e-12);
    assert_float_equal(ev->equity[1].win, 0.8636, 1e-12);
    assert_true(ev->equity[0].tie == 0 && ev->equity[1].tie == 0);

    decode_ok(DOC_SHOWDOWN, ev);
    assert_int_equal(ev->kind, WIRE_SHOWDOWN);
    assert_false(ev->to_act.present);
    assert_int_equal(ev->u.showdown.nshows, 1);
    assert_string_equal(ev->u.showdown.shows[0].hand, "pair");
    assert_int_equal(ev->u.showdown.shows[0].cards[0], card("Ah"));
    assert_string_equal(ev->u.showdown.mucks[0], ID_B);

    decode_ok(DOC_HAND_END, ev);
    assert_int_equal(ev->kind, WIRE_HAND_END);
    assert_true(ev->u.hand_end.nawards == 1 && ev->u.hand_end.awards[0].amount == 120);
    assert_string_equal(ev->u.hand_end.awards[0].winners[0].player_id, ID_A);
    assert_int_equal(ev->u.hand_end.stacks.n, 2);
    assert_string_equal(ev->u.hand_end.stacks.s[1].player_id, ID_B);
    assert_int_equal(ev->u.hand_end.stacks.s[1].amount, 940);

    decode_ok(DOC_TURN, ev);
    assert_true(ev->kind == WIRE_NOTIFICATION && ev->u.note.kind == WIRE_NOTE_TURN);
    assert_true(ev->u.note.has_player && ev->u.note.deadline == 1764120031000);
    assert_string_equal(ev->u.note.player_name, "bo-bot");

    decode_ok(DOC_ACK_JOIN, ev);
    assert_true(ev->kind == WIRE_ACK && !ev->has_seq);
    assert_true(ev->u.ack.accepted && ev->u.ack.has_seat && ev->u.ack.has_request_id);
    assert_false(ev->u.ack.has_hand_id);
    assert_string_equal(ev->u.ack.request_id, "");
    assert_string_equal(ev->u.ack.token, "9f2c…");
    assert_string_equal(ev->u.ack.player_id, ID_A);
    assert_int_equal(ev->u.ack.seat, 0);
    assert_string_equal(ev->u.ack.name, "ann");

    decode_ok(DOC_ERROR, ev);
    assert_int_equal(ev->kind, WIRE_ERROR);
    assert_string_equal(ev->u.error.code, "bad_field");
    assert_string_equal(ev->u.error.message,
                        "amount must be an integer between 0 and 1000000000000");

    decode_ok(DOC_PONG, ev);
    assert_true(ev->kind == WIRE_PONG && ev->u.pong_id == 7);
    free(ev);
}

/* ---- 3. strictness ------------------------------------------------------------------------- */

static void test_refused_fields(void **state)
{
    static const struct {
        const char *doc, *from, *to, *field;
    } edits[] = {
        /* required fields missing */
        {DOC_SHOWDOWN, "\"to_act\": null,", "", "to_act"},
        {DOC_SNAPSHOT, "\"status\": \"active\", ", "", "status"},
        {DOC_ACTION, "\"stacks\": {\"" ID_A "\": 970},", "", "stacks"},
        /* wrong types */
        {DOC_ACTION, "\"seat\": 0", "\"seat\": \"1\"", "seat"},
        {DOC_ACTION, "\"all_in\": false", "\"all_in\": 0", "all_in"},
        {DOC_SHOWDOWN, "\"to_act\": null", "\"to_act\": []", "to_act"},
        {DOC_HAND_END, "\"hand_id\": 42", "\"hand_id\": 4.2", "hand_id"},
        /* out of range, or not one of the values */
        {DOC_ACTION, "\"seat\": 0", "\"seat\": 10", "seat"},
        {DOC_ACTION, "\"seat\": 0", "\"seat\": -1", "seat"},
        {DOC_ACTION, "\"amount\": 25", "\"amount\": -25", "amount"},
        {DOC_ACTION, "\"amount\": 25", "\"amount\": 1000000000001", "amount"},
        {DOC_HAND_END, "1060", "1000000000001", "stacks"},
        {DOC_ACTION, "\"raise\"", "\"dance\"", "action"},
        {DOC_SNAPSHOT, "\"flop\"", "\"fourth\"", "street"},
        {DOC_ACTION, "\"decision\": 2", "\"decision\": 0", "decision"},
        {DOC_ACTION, "\"decision\": 2", "\"decision\": \"2\"", "decision"},
        /* strings over their buffers */
        {DOC_ACTION, "\"player_id\": \"" ID_A "\"", "\"player_id\": \"" ID40 "\"", "player_id"},
        {DOC_SNAPSHOT, "\"name\": \"ann\"", "\"name\": \"" NAME200 "\"", "name"},
        /* cards: invalid, twice in one array, the wrong number */
        {DOC_SNAPSHOT, "\"2c\"", "\"Xx\"", "board"},
        {DOC_SNAPSHOT, "\"7h\"", "\"2c\"", "board"},
        {DOC_SNAPSHOT, "[\"Ah\", \"Kd\"]", "[\"Ah\", \"Ah\"]", "cards"},
        {DOC_SHOWDOWN, "[\"Ah\", \"Kd\"]", "[\"Ah\"]", "cards"},
        /* legal: not an array, not an action, twice the same, too many */
        {DOC_ACTION, "\"legal\": [", "\"legal\": \"fold\", \"x\": [", "legal"},
        {DOC_ACTION, "\"fold\", \"call\"", "\"fold\", \"dance\"", "legal"},
        {DOC_ACTION, "\"fold\", \"call\"", "\"fold\", \"fold\"", "legal"},
        {DOC_ACTION, "\"fold\", \"call\"", "\"fold\", \"call\", \"check\", \"all_in\"", "legal"},
        /* equity: not an object, a probability out of range or not a number, win + tie > 1 */
        {DOC_RUNOUT, "\"equity\": {", "\"equity\": [], \"x\": {", "equity"},
        {DOC_RUNOUT, "\"win\": 0.1364", "\"win\": 1.1364", "win"},
        {DOC_RUNOUT, "\"win\": 0.1364", "\"win\": -0.1", "win"},
        {DOC_RUNOUT, "\"win\": 0.1364", "\"win\": \"0.1\"", "win"},
        {DOC_RUNOUT, "\"tie\": 0}", "\"tie\": 0.9}", "equity"},
        {DOC_RUNOUT, "{\"win\": 0.1364, \"tie\": 0}", "0.1364", "win"},
        {DOC_RUNOUT, ", \"tie\": 0}", "}", "tie"},
    };
    (void)state;
    for (size_t i = 0; i < FELT_ARRAY_LEN(edits); i++) {
        char *bad = replace1(edits[i].doc, edits[i].from, edits[i].to);
        expect_refused(bad, "bad_field", edits[i].field);
        free(bad);
    }

    /* a player that is not an object */
    struct json_object *msg = json_tokener_parse(DOC_SNAPSHOT);
    json_object_array_put_idx(jval_get(data_of(msg), "players"), 0, json_object_new_int(5));
    char *bad = dump(msg);
    expect_refused(bad, "bad_field", "player");
    free(bad);

    /* a board of 5 cards decodes, a 6th is one too many */
    struct wire_event *ev = ev_new();
    msg = json_tokener_parse(DOC_SNAPSHOT);
    struct json_object *board = jval_get(data_of(msg), "board");
    json_object_array_add(board, json_object_new_string("Jd"));
    json_object_array_add(board, json_object_new_string("3s"));
    decode_ok(json_object_to_json_string(msg), ev);
    assert_int_equal(ev->u.snapshot.nboard, 5);
    json_object_array_add(board, json_object_new_string("4s"));
    bad = dump(msg);
    expect_refused(bad, "bad_field", "board");
    free(bad);

    /* a full table of 10 players decodes, an 11th is one too many */
    wire_init(ev, WIRE_SNAPSHOT);
    SET(ev->u.snapshot.table.id, "t");
    ev->u.snapshot.table.seats = ev->u.snapshot.nplayers = ENGINE_MAX_SEATS;
    for (int i = 0; i < ENGINE_MAX_SEATS; i++) {
        char id[WIRE_ID_MAX + 1];
        snprintf(id, sizeof(id), "%016d", i);
        set_player(&ev->u.snapshot.players[i], id, "p", i, WIRE_WAITING, NULL, NULL);
    }
    round_trip(ev);
    char *ten = wire_encode(ev, 1, 1, NULL);
    msg = json_tokener_parse(ten);
    struct json_object *players = jval_get(data_of(msg), "players");
    json_object_array_add(players, json_object_get(json_object_array_get_idx(players, 0)));
    bad = dump(msg);
    expect_refused(bad, "bad_field", "players");
    free(bad);
    free(ten);
    free(ev);
}

static void test_unknown_names_and_fields(void **state)
{
    struct wire_event *ev = ev_new();
    (void)state;
    char *s = replace1(DOC_SHOWDOWN, "\"showdown\"", "\"fireworks\"");
    expect_refused(s, "unknown_event", "fireworks");
    free(s);

    s = replace1(DOC_TURN, "\"turn\"", "\"confetti\"");
    decode_ok(s, ev);
    assert_true(ev->kind == WIRE_NOTIFICATION && ev->u.note.kind == WIRE_NOTE_OTHER);
    assert_string_equal(ev->u.note.name, "confetti");
    assert_string_equal(ev->u.note.player_id, ID_B);
    free(s);

    decode_ok("{\"type\":\"animation\",\"seq\":3,\"timestamp\":4,"
              "\"data\":{\"kind\":\"shuffle\",\"speed\":[1,2]}}",
              ev);
    assert_true(ev->kind == WIRE_ANIMATION && ev->u.animation.kind == WIRE_ANIM_OTHER);
    assert_string_equal(ev->u.animation.name, "shuffle");

    /* extra fields in data, in a nested object and in the envelope */
    char *s1 =
        replace1(DOC_ACTION, "\"all_in\": false,", "\"all_in\": false, \"new\": {\"x\": []},");
    char *s2 = replace1(s1, "\"deadline\"", "\"style\": \"fast\", \"deadline\"");
    s = replace1(s2, "\"seq\"", "\"shard\": 3, \"seq\"");
    decode_ok(s, ev);
    assert_true(ev->kind == WIRE_ACTION && ev->u.action.to == 30);
    assert_int_equal(ev->to_act.deadline, 1764120031000);
    free(s);
    free(s1);
    free(s2);
    free(ev);
}

/* ---- 4. replies ---------------------------------------------------------------------------- */

/* Decodes (and frees) a reply proto.c built: it must be of kind and carry no seq. */
static void decode_reply(char *text, struct wire_event *ev, enum wire_kind kind)
{
    assert_non_null(text);
    decode_ok(text, ev);
    free(text);
    assert_int_equal(ev->kind, kind);
    assert_false(ev->has_seq);
}

static void test_replies(void **state)
{
    struct wire_event *ev = ev_new();
    const struct wire_ack *a = &ev->u.ack;
    (void)state;

    decode_reply(proto_encode_ack("a1b2c3d4", true, NULL, NULL, 42, NULL), ev, WIRE_ACK);
    assert_true(a->accepted && a->has_request_id && a->has_hand_id && !a->has_seat);
    assert_string_equal(a->request_id, "a1b2c3d4");
    assert_int_equal(a->hand_id, 42);
    assert_string_equal(a->code, "");
    assert_string_equal(a->message, "");

    decode_reply(proto_encode_ack(NULL, false, "no_hand", "no hand in progress", -1, NULL), ev,
                 WIRE_ACK);
    assert_false(a->accepted || a->has_request_id || a->has_hand_id || a->has_seat);
    assert_string_equal(a->code, "no_hand");
    assert_string_equal(a->message, "no hand in progress");

    decode_reply(proto_encode_seat(true, ID_C, "tok-3f9a0c1b", 7, "Zoë", NULL), ev, WIRE_ACK);
    assert_true(a->accepted && a->has_seat && a->has_request_id && a->seat == 7);
    assert_string_equal(a->request_id, "");
    assert_string_equal(a->player_id, ID_C);
    assert_string_equal(a->token, "tok-3f9a0c1b");
    assert_string_equal(a->name, "Zoë");

    decode_reply(proto_encode_error("rate_limited", "slow down", NULL), ev, WIRE_ERROR);
    assert_string_equal(ev->u.error.code, "rate_limited");
    assert_string_equal(ev->u.error.message, "slow down");

    decode_reply(proto_encode_pong(-12345, NULL), ev, WIRE_PONG);
    assert_int_equal(ev->u.pong_id, -12345);

    expect_refused("{\"type\":\"ack\",\"timestamp\":1,\"data\":{\"request_id\":null,"
                   "\"status\":\"maybe\",\"hand_id\":null}}",
                   "bad_field", "status");
    free(ev);
}

static void test_long_message_cut(void **state)
{
    struct wire_event *ev = ev_new();
    char msg[WIRE_TEXT_MAX + 16];
    /* a 3-byte and a 4-byte character across the limit, then plain ASCII at and over it */
    static const struct {
        const char *tail;
        size_t pad, kept;
    } cases[] = {
        {"€ tail", WIRE_TEXT_MAX - 1, WIRE_TEXT_MAX - 1},
        {"😀 tail", WIRE_TEXT_MAX - 2, WIRE_TEXT_MAX - 2},
        {"", WIRE_TEXT_MAX, WIRE_TEXT_MAX},
        {"bc", WIRE_TEXT_MAX - 1, WIRE_TEXT_MAX},
    };
    (void)state;
    for (size_t i = 0; i < FELT_ARRAY_LEN(cases); i++) {
        memset(msg, 'a', cases[i].pad);
        strcpy(msg + cases[i].pad, cases[i].tail);
        decode_reply(proto_encode_error("bad_field", msg, NULL), ev, WIRE_ERROR);
        size_t n = strlen(ev->u.error.message);
        assert_int_equal(n, cases[i].kept);
        assert_true(text_utf8_valid(ev->u.error.message, n));
        assert_memory_equal(ev->u.error.message, msg, n);
    }
    /* an ack's message is cut the same way */
    memset(msg, 'a', WIRE_TEXT_MAX - 1);
    strcpy(msg + WIRE_TEXT_MAX - 1, "€");
    decode_reply(proto_encode_ack("r1", false, "bad_amount", msg, 3, NULL), ev, WIRE_ACK);
    assert_int_equal(strlen(ev->u.ack.message), WIRE_TEXT_MAX - 1);
    assert_true(text_utf8_valid(ev->u.ack.message, strlen(ev->u.ack.message)));
    free(ev);
}

/* ---- 5. key order -------------------------------------------------------------------------- */

static void expect_prefix(const char *json, const char *want)
{
    if (strncmp(json, want, strlen(want)) != 0) fail_msg("%s\ndoes not begin %s", json, want);
}

static void test_key_order(void **state)
{
    struct wire_event *ev = ev_new();
    (void)state;
    wire_init(ev, WIRE_ACTION);
    ev->hand_id = 42;
    SET(ev->u.action.player_id, ID_A);
    struct json_object *d = wire_encode_data(ev);
    expect_prefix(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN),
                  "{\"event\":\"action\",\"hand_id\":42,\"to_act\":null,\"player_id\":");
    json_object_put(d);

    wire_init(ev, WIRE_HAND_END);
    ev->hand_id = 7;
    set_to_act(&ev->to_act, true);
    char *msg = wire_encode(ev, 12, 34, NULL);
    expect_prefix(msg, "{\"type\":\"state_update\",\"seq\":12,\"timestamp\":34,\"data\":{\"event\":"
                       "\"hand_end\",\"hand_id\":7,\"to_act\":{\"player_id\":");
    free(msg);

    wire_init(ev, WIRE_SNAPSHOT);
    d = wire_encode_data(ev);
    expect_prefix(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN),
                  "{\"epoch\":\"\",\"table\":{\"id\":\"\",\"seats\":0,");
    json_object_put(d);
    free(ev);
}

/* legal follows can_check, call and can_raise, in the documented order, on every to_act. */
static void test_to_act_legal(void **state)
{
    static const struct {
        bool can_check, can_raise;
        const char *want;
    } cases[] = {
        {true, true, "[\"fold\",\"check\",\"raise\",\"all_in\"]"},
        {false, true, "[\"fold\",\"call\",\"raise\",\"all_in\"]"},
        {true, false, "[\"fold\",\"check\"]"}, /* nobody left who could call a raise */
        {false, false, "[\"fold\",\"call\"]"}, /* covered: call (all-in) or fold */
    };
    (void)state;
    for (size_t i = 0; i < FELT_ARRAY_LEN(cases); i++) {
        struct wire_to_act t;
        memset(&t, 0, sizeof(t));
        t.present = true; /* a replay's to_act: no player, no deadline */
        SET(t.name, "ann");
        t.can_check = cases[i].can_check;
        t.call = t.can_check ? 0 : 20;
        t.can_raise = cases[i].can_raise;
        t.min_raise_to = 40, t.max_raise_to = 1000;
        struct json_object *o = wire_encode_to_act(&t);
        const char *legal =
            json_object_to_json_string_ext(jval_get(o, "legal"), JSON_C_TO_STRING_PLAIN);
        assert_string_equal(legal, cases[i].want);
        json_object_put(o);
    }
    struct wire_to_act none = {.present = false};
    assert_null(wire_encode_to_act(&none));
}

/* ---- 6. jval ------------------------------------------------------------------------------- */

static void test_jval_getters(void **state)
{
    const char text[] = "{\"s\":\"x\",\"i\":-7,\"b\":true,\"n\":null,\"f\":1.5,\"a\":[1]}";
    struct json_object *o = jval_parse(text, strlen(text)), *arr;
    int64_t out = 99;
    (void)state;
    assert_non_null(o);
    arr = jval_typed(o, "a", json_type_array);
    assert_non_null(arr);

    assert_non_null(jval_get(o, "s"));
    assert_null(jval_get(o, "missing"));
    assert_null(jval_get(o, "n")); /* JSON null reads as absent */
    assert_null(jval_get(NULL, "s"));
    assert_null(jval_get(arr, "s"));

    assert_non_null(jval_typed(o, "i", json_type_int));
    assert_null(jval_typed(o, "s", json_type_int));
    assert_null(jval_typed(o, "missing", json_type_string));
    assert_null(jval_typed(NULL, "s", json_type_string));

    assert_string_equal(jval_str(o, "s"), "x");
    assert_null(jval_str(o, "i"));
    assert_null(jval_str(o, "missing"));
    assert_null(jval_str(NULL, "s"));
    assert_null(jval_str(arr, "s"));

    assert_int_equal(jval_int(o, "i", 5), -7);
    assert_int_equal(jval_int(o, "s", 5), 5);
    assert_int_equal(jval_int(o, "f", 5), 5); /* a double is not an integer */
    assert_int_equal(jval_int(o, "b", 5), 5);
    assert_int_equal(jval_int(o, "missing", 5), 5);
    assert_int_equal(jval_int(NULL, "i", 5), 5);
    assert_int_equal(jval_int(arr, "i", 5), 5);

    assert_false(jval_int_ok(o, "s", &out));
    assert_false(jval_int_ok(o, "f", &out));
    assert_false(jval_int_ok(o, "missing", &out));
    assert_false(jval_int_ok(NULL, "i", &out));
    assert_false(jval_int_ok(arr, "i", &out));
    assert_int_equal(out, 99); /* untouched by every failure */
    assert_true(jval_int_ok(o, "i", &out));
    assert_int_equal(out, -7);

    assert_true(jval_bool(o, "b", false));
    assert_false(jval_bool(o, "i", false));
    assert_true(jval_bool(o, "i", true));
    assert_true(jval_bool(o, "missing", true));
    assert_true(jval_bool(NULL, "b", true));
    assert_true(jval_bool(arr, "b", true));
    json_object_put(o);
}

static void test_jval_parse(void **state)
{
    const char *ok[] = {"{}", "[1,2]", "\"x\"", " {\"a\":{}} ", "{\"k\":[true,null,-1.5]}"};
    const char *bad[] = {"", "{", "{}x", "{} {}", "{\"a\":}", "[1] 2", "\"x\" \"y\""};
    (void)state;
    for (size_t i = 0; i < FELT_ARRAY_LEN(ok); i++) {
        struct json_object *o = jval_parse(ok[i], strlen(ok[i]));
        if (!o) fail_msg("refused %s", ok[i]);
        json_object_put(o);
    }
    for (size_t i = 0; i < FELT_ARRAY_LEN(bad); i++)
        if (jval_parse(bad[i], strlen(bad[i]))) fail_msg("accepted %s", bad[i]);
    /* len bounds the text: no NUL needed, and what follows is not read */
    struct json_object *o = jval_parse("{\"a\":1}garbage", 7);
    assert_non_null(o);
    assert_int_equal(jval_int(o, "a", 0), 1);
    json_object_put(o);
    assert_null(jval_parse("{\"a\":1}garbage", 8));
    /* A bare number or literal as the whole text is one JSON value too (json-c waits for
     * more input after it unless told the input is over). */
    const char *scalars[] = {"1", "true", "-1.5", "0"};
    for (size_t i = 0; i < FELT_ARRAY_LEN(scalars); i++) {
        o = jval_parse(scalars[i], strlen(scalars[i]));
        if (!o) fail_msg("refused %s", scalars[i]);
        json_object_put(o);
    }
    assert_null(jval_parse("1x", 2));
    assert_null(jval_parse("tru", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_round_trip),
        cmocka_unit_test(test_updates_round_trip),
        cmocka_unit_test(test_animations_round_trip),
        cmocka_unit_test(test_notifications_round_trip),
        cmocka_unit_test(test_chat_round_trip),
        cmocka_unit_test(test_doc_examples),
        cmocka_unit_test(test_refused_fields),
        cmocka_unit_test(test_unknown_names_and_fields),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_long_message_cut),
        cmocka_unit_test(test_key_order),
        cmocka_unit_test(test_to_act_legal),
        cmocka_unit_test(test_jval_getters),
        cmocka_unit_test(test_jval_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
