/*
 * test_handrec.c: unit tests for common/handrec.c, hand records.
 *
 * A good record replays to the contract's result object (values worked out by hand); an
 * unfinished one gives the options of the player to act; illegal actions give the index and the
 * code; every kind of malformed record is refused with its code; random byte mutations of a good
 * record never crash the parser or the replay (run under ASan in CI). A randomized round trip
 * plays random hands (short stacks, antes, many all-ins) through the engine, writes them with
 * the writer, parses and replays them, and checks the contract fields against the engine.
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

#include "engine.h"
#include "eval.h"
#include "handrec.h"
#include "jval.h"
#include "randhand.h"
#include "rng.h"
#include "util.h"

/* ---- helpers ---- */

static int parse(const char *text, struct handrec *h, struct felt_err *err)
{
    return handrec_parse(text, strlen(text), h, err);
}

/* Parses, replays (both must succeed) and returns the result object. */
static struct json_object *replay_json(const char *text, struct handrec *h,
                                       struct handrec_result *r)
{
    struct felt_err err = {0};
    int rc = parse(text, h, &err);
    if (rc < 0) print_error("parse: %s: %s\n", err.code, err.message);
    assert_int_equal(rc, 0);
    rc = handrec_replay(h, r, &err);
    if (rc < 0) print_error("replay: %s: %s\n", err.code, err.message);
    assert_int_equal(rc, 0);
    return handrec_result_json(h, r);
}

/* The value at key, which must be there (JSON null reads as NULL). */
static struct json_object *get(struct json_object *o, const char *key)
{
    if (!json_object_object_get_ex(o, key, NULL))
        fail_msg("missing key %s in %s", key, json_object_to_json_string(o));
    return jval_get(o, key);
}

/* The integer (boolean) at key, which must be there with that type. */
static int64_t get_i(struct json_object *o, const char *key)
{
    int64_t v = 0;
    if (!jval_int_ok(o, key, &v))
        fail_msg("%s is not an integer in %s", key, json_object_to_json_string(o));
    return v;
}

static bool get_b(struct json_object *o, const char *key)
{
    if (!jval_typed(o, key, json_type_boolean))
        fail_msg("%s is not a boolean in %s", key, json_object_to_json_string(o));
    return jval_bool(o, key, false);
}

static size_t nkeys(struct json_object *o)
{
    size_t n = 0;
    json_object_object_foreach(o, k, v)
    {
        (void)k;
        (void)v;
        n++;
    }
    return n;
}

#define SEATS3                                                                                     \
    "\"seats\": [{\"seat\": 0, \"name\": \"dan\", \"stack\": 1000, \"cards\": [\"3h\", "           \
    "\"4d\"]},"                                                                                    \
    "{\"seat\": 1, \"name\": \"eve\", \"stack\": 1000, \"cards\": [\"Ah\", \"Ad\"]},"              \
    "{\"seat\": 2, \"name\": \"fay\", \"stack\": 1000, \"cards\": [\"Qh\", \"Qd\"]}],"             \
    "\"board\": [\"2c\", \"7d\", \"9h\", \"Jc\", \"Ks\"]"

#define HEAD3 "{\"variant\": \"nlhe\", \"small_blind\": 5, \"big_blind\": 10, \"button\": 0, "

#define A(n, a) "{\"name\": \"" n "\", \"action\": \"" a "\"}"
#define R(n, x) "{\"name\": \"" n "\", \"action\": \"raise\", \"amount\": " #x "}"

/* dan (button) calls, eve calls, fay checks; flop and turn checked; river: fay bets 50, both
 * call. eve's aces beat fay's queens; dan's 3-4 mucks. Pot 3 x 60 = 180. */
static const char good_hand[] = HEAD3 SEATS3
    ", \"actions\": [" A("dan", "call") "," A("eve", "call") "," A("fay", "check") "," A(
        "eve",
        "ch"
        "ec"
        "k") "," A("fay",
                   "check") "," A("dan",
                                  "check") "," A("eve",
                                                 "check") "," A("fay",
                                                                "check") "," A("dan",
                                                                               "check") "," A("eve",
                                                                                              "chec"
                                                                                              "k") "," R("fay",
                                                                                                         50) "," A("dan",
                                                                                                                   "call") "," A("eve",
                                                                                                                                 "call") "]}";

/* ---- good records ---- */

static void test_good_hand(void **state)
{
    (void)state;
    struct handrec h;
    struct handrec_result r;
    struct json_object *o = replay_json(good_hand, &h, &r);

    assert_int_equal(nkeys(o), 5);
    assert_true(get_b(o, "ok"));
    assert_true(get_b(o, "complete"));
    struct json_object *stacks = get(o, "stacks");
    assert_int_equal(nkeys(stacks), 3);
    assert_int_equal(get_i(stacks, "dan"), 940);
    assert_int_equal(get_i(stacks, "eve"), 1120);
    assert_int_equal(get_i(stacks, "fay"), 940);
    struct json_object *pots = get(o, "pots");
    assert_int_equal(json_object_array_length(pots), 1);
    struct json_object *p0 = json_object_array_get_idx(pots, 0);
    assert_int_equal(nkeys(p0), 2);
    assert_int_equal(get_i(p0, "amount"), 180);
    struct json_object *w = get(p0, "winners");
    assert_int_equal(json_object_array_length(w), 1);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(w, 0)), "eve");
    assert_true(json_object_is_type(get(o, "to_act"), json_type_null));

    /* The text rendering tells the same story. */
    /* The text rendering tells the same story, in the live log's words: the whole text. The
     * mucked hand is never described as shown. */
    char *text = handrec_result_text(&h, &r);
    assert_string_equal(text, "No-Limit Hold'em, blinds 5/10, button on seat 0\n"
                              "  seat 0: dan (1,000) [3\u2665 4\u2666] button\n"
                              "  seat 1: eve (1,000) [A\u2665 A\u2666]\n"
                              "  seat 2: fay (1,000) [Q\u2665 Q\u2666]\n"
                              "eve posts the small blind 5\n"
                              "fay posts the big blind 10\n"
                              "dan calls 10\n"
                              "eve calls 5\n"
                              "fay checks\n"
                              "Flop: 2\u2663 7\u2666 9\u2665\n"
                              "eve checks\n"
                              "fay checks\n"
                              "dan checks\n"
                              "Turn: 2\u2663 7\u2666 9\u2665 J\u2663\n"
                              "eve checks\n"
                              "fay checks\n"
                              "dan checks\n"
                              "River: 2\u2663 7\u2666 9\u2665 J\u2663 K\u2660\n"
                              "eve checks\n"
                              "fay bets 50\n"
                              "dan calls 50\n"
                              "eve calls 50\n"
                              "*** SHOWDOWN ***\n"
                              "fay shows Q\u2665 Q\u2666 (pair of Queens)\n"
                              "dan mucks\n"
                              "eve shows A\u2665 A\u2666 (pair of Aces)\n"
                              "eve wins 180 from the pot with pair of Aces\n"
                              "Final stacks: dan 940 eve 1,120 fay 940\n");
    free(text);
    json_object_put(o);
    handrec_result_free(&r);
    handrec_free(&h);
}

/* ---- telling a hand ---- */

static void test_say(void **state)
{
    (void)state;
    char out[HANDREC_LINE_MAX];
    /* Nothing bet before on the street: a bet; after anything (a blind counts): a raise. */
    assert_string_equal(
        handrec_say_action(out, sizeof(out), "ada", ENGINE_RAISE, 1250, 1250, false, 0),
        "ada bets 1,250");
    assert_string_equal(
        handrec_say_action(out, sizeof(out), "ada", ENGINE_RAISE, 1240, 1250, false, 10),
        "ada raises to 1,250");
    assert_string_equal(
        handrec_say_action(out, sizeof(out), "ada", ENGINE_ALL_IN, 2000000, 2000000, true, 0),
        "ada bets 2,000,000 (all-in)");
    assert_string_equal(
        handrec_say_action(out, sizeof(out), "bo", ENGINE_RAISE, 300, 400, true, 100),
        "bo raises to 400 (all-in)");
    assert_string_equal(
        handrec_say_action(out, sizeof(out), "bo", ENGINE_CALL, 1500, 2500, true, 2500),
        "bo calls 1,500 (all-in)");
    assert_string_equal(handrec_say_action(out, sizeof(out), "bo", ENGINE_CHECK, 0, 0, false, 0),
                        "bo checks");
    assert_string_equal(handrec_say_action(out, sizeof(out), "bo", ENGINE_FOLD, 0, 0, false, 50),
                        "bo folds");
    assert_string_equal(handrec_say_post(out, sizeof(out), "cy", HANDREC_POST_ANTE, 1000, true),
                        "cy posts an ante of 1,000 (all-in)");
    assert_string_equal(
        handrec_say_post(out, sizeof(out), "cy", HANDREC_POST_SMALL_BLIND, 5, false),
        "cy posts the small blind 5");
    assert_string_equal(
        handrec_say_post(out, sizeof(out), "cy", HANDREC_POST_BIG_BLIND, 10000, false),
        "cy posts the big blind 10,000");
    assert_string_equal(handrec_say_uncalled(out, sizeof(out), "cy", 1000),
                        "1,000 returned to cy (uncalled)");

    card_t board[5] = {card_make(0, 0), card_make(5, 2), card_make(8, 3), card_make(2, 1),
                       card_make(12, 2)};
    assert_string_equal(handrec_say_street(out, sizeof(out), ENGINE_FLOP, board, 3, false),
                        "Flop: 2\u2663 7\u2665 T\u2660");
    assert_string_equal(handrec_say_street(out, sizeof(out), ENGINE_RIVER, board, 5, true),
                        "River: 2c 7h Ts 4d Ah");

    /* Hands named with ranks; nothing to name before the flop or with an unknown card. */
    card_t nines[2] = {card_make(7, 0), card_make(7, 1)},
           fours[2] = {card_make(2, 3), card_make(7, 3)};
    char hand[EVAL_DESCRIBE_MAX];
    assert_false(handrec_name_hand(nines, board, 0, hand));
    assert_string_equal(hand, "");
    assert_true(handrec_name_hand(nines, board, 3, hand));
    assert_string_equal(hand, "pair of Nines");
    assert_true(handrec_name_hand(fours, board, 4, hand));
    assert_string_equal(hand, "pair of Fours");
    card_t unknown[2] = {CARD_NONE, CARD_NONE};
    assert_false(handrec_name_hand(unknown, board, 5, hand));
    assert_string_equal(handrec_say_show(out, sizeof(out), "dee", nines, "pair of Nines", false),
                        "dee shows 9\u2663 9\u2666 (pair of Nines)");
    assert_string_equal(handrec_say_show(out, sizeof(out), "dee", nines, "", true),
                        "dee shows 9c 9d");
    assert_string_equal(handrec_say_show(out, sizeof(out), "dee", unknown, NULL, true),
                        "dee shows ?? ??");
    assert_string_equal(handrec_say_win(out, sizeof(out), "dee", 12500, 0, "pair of Nines"),
                        "dee wins 12,500 from the pot with pair of Nines");
    assert_string_equal(handrec_say_win(out, sizeof(out), "dee", 7, 2, NULL),
                        "dee wins 7 from side pot 2");
    /* Cut, never overrun. */
    char small[12];
    assert_string_equal(handrec_say_win(small, sizeof(small), "dee", 12500, 0, NULL),
                        "dee wins 12");
}

/* The lines of a narrated replay, joined by newlines. */
static void collect_line(void *arg, const char *line)
{
    felt_buf_printf(arg, "%s\n", line);
}

static char *narrate(const struct handrec *h, const struct handrec_result *r, bool ascii)
{
    struct handrec_narrator n;
    struct felt_buf b = {0};
    handrec_narrator_init(&n, h, ascii);
    for (int i = 0; i < r->nlog; i++)
        handrec_narrate(&n, &r->log[i].ev, collect_line, &b);
    felt_buf_printf(&b, "%s", "");
    return b.p;
}

/* Heads-up, the button (ann) posts the small blind. Bets and raises street by street (preflop
 * the blinds are the bet), and an all-in on the flop: the hands are named when shown
 * with the flop, and the winner with the whole board. The same story with --ascii letters. */
static void test_narrate(void **state)
{
    (void)state;
    const char *text =
        "{\"small_blind\": 50, \"big_blind\": 100, \"button\": 0, \"seats\": ["
        "{\"seat\": 0, \"name\": \"ann\", \"stack\": 5000, \"cards\": [\"9c\", \"9d\"]},"
        "{\"seat\": 1, \"name\": \"bob\", \"stack\": 3000, \"cards\": [\"Ah\", \"4s\"]}],"
        "\"board\": [\"4c\", \"7h\", \"Ks\", \"4d\", \"9s\"], \"actions\": [" R("ann", 300) "," A(
            "bob", "call") "," R("bob", 200) "," R("ann", 1200) "," A("bob",
                                                                      "all_in") "," A("ann",
                                                                                      "call") "]}";
    struct handrec h;
    struct handrec_result r;
    struct json_object *o = replay_json(text, &h, &r);
    json_object_put(o);
    char *t = narrate(&h, &r, false);
    assert_string_equal(t, "ann posts the small blind 50\n"
                           "bob posts the big blind 100\n"
                           "ann raises to 300\n"
                           "bob calls 200\n"
                           "Flop: 4\u2663 7\u2665 K\u2660\n"
                           "bob bets 200\n"
                           "ann raises to 1,200\n"
                           "bob raises to 2,700 (all-in)\n"
                           "ann calls 1,500\n"
                           "bob shows A\u2665 4\u2660 (pair of Fours)\n"
                           "ann shows 9\u2663 9\u2666 (pair of Nines)\n"
                           "Turn: 4\u2663 7\u2665 K\u2660 4\u2666\n"
                           "River: 4\u2663 7\u2665 K\u2660 4\u2666 9\u2660\n"
                           "ann wins 6,000 from the pot with full house, Nines full of Fours\n");
    free(t);
    t = narrate(&h, &r, true);
    assert_non_null(strstr(t, "\nFlop: 4c 7h Ks\n"));
    assert_non_null(strstr(t, "\nbob shows Ah 4s (pair of Fours)\n"));
    assert_null(strstr(t, "\u2660"));
    free(t);
    handrec_result_free(&r);
    handrec_free(&h);
}

static void test_unfinished_hand(void **state)
{
    (void)state;
    struct handrec h;
    struct handrec_result r;
    /* lea raises to 60, max calls, ned (45) is all-in for 45: max faces nothing more on the
     * flop. Without cards and board. */
    const char *text =
        "{\"small_blind\": 10, \"big_blind\": 20, \"button\": 0, \"seats\": ["
        "{\"seat\": 0, \"name\": \"lea\", \"stack\": 2000},"
        "{\"seat\": 1, \"name\": \"max\", \"stack\": 2000},"
        "{\"seat\": 2, \"name\": \"ned\", \"stack\": 45}], \"actions\": [" R("lea", 60) "," A(
            "max", "call") "," A("ned", "all_in") "," A("max", "check") "," R("lea", 100) "]}";
    struct json_object *o = replay_json(text, &h, &r);
    assert_true(get_b(o, "ok"));
    assert_false(get_b(o, "complete"));
    struct json_object *stacks = get(o, "stacks");
    assert_int_equal(get_i(stacks, "lea"), 1840);
    assert_int_equal(get_i(stacks, "max"), 1940);
    assert_int_equal(get_i(stacks, "ned"), 0);
    /* Live pots: 45 x 3 = 135 for all, 15 x 2 + 100 = 130 for lea and max. */
    struct json_object *pots = get(o, "pots");
    assert_int_equal(json_object_array_length(pots), 2);
    assert_int_equal(get_i(json_object_array_get_idx(pots, 0), "amount"), 135);
    assert_int_equal(get_i(json_object_array_get_idx(pots, 1), "amount"), 130);
    assert_int_equal(json_object_array_length(get(json_object_array_get_idx(pots, 0), "winners")),
                     0);
    struct json_object *ta = get(o, "to_act");
    assert_int_equal(nkeys(ta), 6);
    assert_string_equal(json_object_get_string(get(ta, "name")), "max");
    assert_string_equal(json_object_to_json_string_ext(get(ta, "legal"), JSON_C_TO_STRING_PLAIN),
                        "[\"fold\",\"call\",\"raise\",\"all_in\"]");
    assert_int_equal(get_i(ta, "call"), 100);
    assert_false(get_b(ta, "can_check"));
    assert_int_equal(get_i(ta, "min_raise_to"), 200);
    assert_int_equal(get_i(ta, "max_raise_to"), 1940);
    json_object_put(o);
    handrec_result_free(&r);
    handrec_free(&h);

    /* Covered: min/max raise are null. */
    text = "{\"small_blind\": 10, \"big_blind\": 20, \"button\": 0, \"seats\": ["
           "{\"seat\": 0, \"name\": \"lea\", \"stack\": 2000},"
           "{\"seat\": 1, \"name\": \"max\", \"stack\": 300}], \"actions\": [" R("lea", 500) "]}";
    o = replay_json(text, &h, &r);
    ta = get(o, "to_act");
    assert_int_equal(get_i(ta, "call"), 280);
    assert_true(json_object_is_type(get(ta, "min_raise_to"), json_type_null));
    assert_true(json_object_is_type(get(ta, "max_raise_to"), json_type_null));
    assert_string_equal(json_object_to_json_string_ext(get(ta, "legal"), JSON_C_TO_STRING_PLAIN),
                        "[\"fold\",\"call\"]");
    json_object_put(o);
    handrec_result_free(&r);
    handrec_free(&h);
}

/* ---- illegal actions ---- */

struct illegal {
    const char *actions;
    int index;
    const char *code;
};

static void test_illegal_actions(void **state)
{
    (void)state;
    static const struct illegal cases[] = {
        {A("eve", "call"), 0, "not_your_turn"},
        {A("dan", "check"), 0, "cannot_check"},
        {R("dan", 15), 0, "raise_too_small"},
        {A("dan", "call") "," R("eve", 15), 1, "raise_too_small"},
        {R("dan", 1001), 0, "amount_above_stack"},
        {"{\"name\": \"dan\", \"action\": \"raise\"}", 0, "bad_amount"},
        {R("dan", -30), 0, "bad_amount"},
        {R("dan", 0), 0, "bad_amount"},
        {A("dan", "fold") "," A("eve", "fold") "," A("fay", "check"), 2, "hand_over"},
        {A("dan", "all_in") "," A("eve", "fold") "," R("fay", 1000) "," A("dan", "call"), 3,
         "hand_over"},
    };
    for (size_t i = 0; i < FELT_ARRAY_LEN(cases); i++) {
        char text[2048];
        struct handrec h;
        struct handrec_result r;
        snprintf(text, sizeof(text), HEAD3 SEATS3 ", \"actions\": [%s]}", cases[i].actions);
        struct json_object *o = replay_json(text, &h, &r);
        assert_int_equal(nkeys(o), 2);
        assert_false(get_b(o, "ok"));
        struct json_object *er = get(o, "error");
        assert_int_equal(nkeys(er), 3);
        if (get_i(er, "index") != cases[i].index ||
            strcmp(json_object_get_string(get(er, "code")), cases[i].code) != 0)
            print_error("case %zu: %s\n", i, json_object_to_json_string(o));
        assert_int_equal(get_i(er, "index"), cases[i].index);
        assert_string_equal(json_object_get_string(get(er, "code")), cases[i].code);
        assert_true(strlen(json_object_get_string(get(er, "message"))) > 10);
        char *t = handrec_result_text(&h, &r);
        assert_non_null(strstr(t, cases[i].code));
        free(t);
        json_object_put(o);
        handrec_result_free(&r);
        handrec_free(&h);
    }

    /* cannot_raise: an incomplete all-in does not re-open the betting. */
    const char *text =
        "{\"small_blind\": 5, \"big_blind\": 10, \"button\": 0, \"seats\": ["
        "{\"seat\": 0, \"name\": \"a\", \"stack\": 1000}, {\"seat\": 1, \"name\": \"b\", "
        "\"stack\": 45}, {\"seat\": 2, \"name\": \"c\", \"stack\": 1000}], \"actions\": [" R(
            "a", 30) "," A("b", "all_in") "," A("c", "call") "," R("a", 100) "]}";
    struct handrec h;
    struct handrec_result r;
    struct json_object *o = replay_json(text, &h, &r);
    struct json_object *er = get(o, "error");
    assert_int_equal(get_i(er, "index"), 3);
    assert_string_equal(json_object_get_string(get(er, "code")), "cannot_raise");
    assert_non_null(strstr(json_object_get_string(get(er, "message")), "re-open"));
    json_object_put(o);
    handrec_result_free(&r);
    handrec_free(&h);
}

/* ---- malformed records ---- */

struct malformed {
    const char *text;
    const char *code;
};

#define GOOD_SEATS                                                                                 \
    "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100}, {\"seat\": 1, \"name\": "         \
    "\"b\", \"stack\": 100}]"
#define HEAD "{\"small_blind\": 1, \"big_blind\": 2, \"button\": 0, "

static void test_malformed(void **state)
{
    (void)state;
    static const struct malformed cases[] = {
        {"", "bad_json"},
        {"{", "bad_json"},
        {"nonsense", "bad_json"},
        {HEAD GOOD_SEATS ", \"actions\": []} trailing", "bad_json"},
        {"[1, 2]", "bad_field"},
        {"{\"big_blind\": 2, \"button\": 0, " GOOD_SEATS ", \"actions\": []}", "bad_field"},
        {"{\"small_blind\": 1, \"big_blind\": \"2\", \"button\": 0, " GOOD_SEATS
         ", \"actions\": []}",
         "bad_field"},
        {"{\"small_blind\": 1, \"big_blind\": 2.5, \"button\": 0, " GOOD_SEATS ", \"actions\": []}",
         "bad_field"},
        {"{\"small_blind\": 1, \"big_blind\": 0, \"button\": 0, " GOOD_SEATS ", \"actions\": []}",
         "bad_field"},
        {"{\"small_blind\": 3, \"big_blind\": 2, \"button\": 0, " GOOD_SEATS ", \"actions\": []}",
         "bad_field"},
        {"{\"small_blind\": 1, \"big_blind\": 2, \"button\": 10, " GOOD_SEATS ", \"actions\": []}",
         "bad_field"},
        {"{\"small_blind\": 1, \"big_blind\": 2, \"ante\": -1, \"button\": 0, " GOOD_SEATS
         ", \"actions\": []}",
         "bad_field"},
        {"{\"variant\": \"plo\", \"small_blind\": 1, \"big_blind\": 2, \"button\": 0, " GOOD_SEATS
         ", \"actions\": []}",
         "bad_field"},
        {HEAD GOOD_SEATS ", \"actions\": [], \"extra\": 1}", "bad_field"},
        {HEAD GOOD_SEATS "}", "bad_field"},
        {HEAD GOOD_SEATS ", \"actions\": {}}", "bad_field"},
        {HEAD "\"seats\": {}, \"actions\": []}", "bad_field"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100}], \"actions\": []}",
         "bad_field"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100}, {\"seat\": 10, "
              "\"name\": \"b\", \"stack\": 100}], \"actions\": []}",
         "bad_field"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100}, {\"seat\": -1, "
              "\"name\": \"b\", \"stack\": 100}], \"actions\": []}",
         "bad_field"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100}, {\"seat\": 0, "
              "\"name\": \"b\", \"stack\": 100}], \"actions\": []}",
         "duplicate_seat"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100}, {\"seat\": 1, "
              "\"name\": \"a\", \"stack\": 100}], \"actions\": []}",
         "duplicate_name"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100}, {\"seat\": 1, "
              "\"name\": \"b\", \"stack\": -5}], \"actions\": []}",
         "bad_field"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100}, {\"seat\": 1, "
              "\"name\": \"b\", \"stack\": 1000000000001}], \"actions\": []}",
         "bad_field"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100}, {\"seat\": 1, "
              "\"name\": \"b\", \"stack\": 100000000000000000000000000}], \"actions\": []}",
         "bad_field"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100}, {\"seat\": 1, "
              "\"name\": \"b\"}], \"actions\": []}",
         "bad_field"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100}, {\"seat\": 1, "
              "\"name\": \"\", \"stack\": 100}], \"actions\": []}",
         "bad_field"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100}, {\"seat\": 1, "
              "\"name\": \"\\u001b[31mred\", \"stack\": 100}], \"actions\": []}",
         "bad_field"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100}, {\"seat\": 1, "
              "\"name\": \" b\", \"stack\": 100}], \"actions\": []}",
         "bad_field"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100}, {\"seat\": 1, "
              "\"name\": \"abcdefghijklmnopqrstuvwxyz\", \"stack\": 100}], \"actions\": []}",
         "bad_field"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100}, {\"seat\": 1, "
              "\"name\": 7, \"stack\": 100}], \"actions\": []}",
         "bad_field"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100, \"cards\": [\"Ah\", "
              "\"Kd\"]}, {\"seat\": 1, \"name\": \"b\", \"stack\": 100, \"cards\": [\"Ah\", "
              "\"2c\"]}], \"actions\": []}",
         "duplicate_card"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100, \"cards\": [\"Ah\", "
              "\"Kd\"]}, {\"seat\": 1, \"name\": \"b\", \"stack\": 100}], \"board\": [\"2c\", "
              "\"Kd\"], \"actions\": []}",
         "duplicate_card"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100, \"cards\": [\"1h\", "
              "\"Kd\"]}, {\"seat\": 1, \"name\": \"b\", \"stack\": 100}], \"actions\": []}",
         "bad_field"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100, \"cards\": [\"Ah\"]}, "
              "{\"seat\": 1, \"name\": \"b\", \"stack\": 100}], \"actions\": []}",
         "bad_field"},
        {HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100, \"cards\": [\"Ah\", "
              "5]}, {\"seat\": 1, \"name\": \"b\", \"stack\": 100}], \"actions\": []}",
         "bad_field"},
        {HEAD GOOD_SEATS ", \"board\": [\"2c\", \"3c\", \"4c\", \"5c\", \"6c\", \"7c\"], "
                         "\"actions\": []}",
         "bad_field"},
        {HEAD GOOD_SEATS ", \"board\": \"2c 3c\", \"actions\": []}", "bad_field"},
        {HEAD GOOD_SEATS ", \"actions\": [" A("zed", "call") "]}", "unknown_name"},
        {HEAD GOOD_SEATS ", \"actions\": [" A("a", "bet") "]}", "unknown_action"},
        {HEAD GOOD_SEATS ", \"actions\": [{\"name\": \"a\", \"action\": 3}]}", "bad_field"},
        {HEAD GOOD_SEATS ", \"actions\": [{\"action\": \"call\"}]}", "bad_field"},
        {HEAD GOOD_SEATS ", \"actions\": [{\"name\": \"a\", \"action\": \"call\", \"amount\": "
                         "2}]}",
         "bad_field"},
        {HEAD GOOD_SEATS ", \"actions\": [{\"name\": \"a\", \"action\": \"raise\", \"amount\": "
                         "\"4\"}]}",
         "bad_field"},
        {HEAD GOOD_SEATS ", \"actions\": [{\"name\": \"a\", \"action\": \"raise\", \"amount\": "
                         "2000000000000}]}",
         "bad_field"},
        {HEAD GOOD_SEATS ", \"actions\": [{\"name\": \"a\", \"action\": \"raise\", \"to\": "
                         "4}]}",
         "bad_field"},
        {HEAD GOOD_SEATS ", \"actions\": [7]}", "bad_field"},
        {HEAD GOOD_SEATS ", \"game_id\": \"no spaces\", \"actions\": []}", "bad_field"},
        {HEAD GOOD_SEATS ", \"hand_id\": -3, \"actions\": []}", "bad_field"},
    };
    for (size_t i = 0; i < FELT_ARRAY_LEN(cases); i++) {
        struct handrec h;
        struct felt_err err = {0};
        int rc = parse(cases[i].text, &h, &err);
        if (rc != -1 || strcmp(err.code, cases[i].code) != 0)
            print_error("case %zu: rc %d code %s (%s), want %s\n", i, rc, err.code ? err.code : "-",
                        err.message, cases[i].code);
        assert_int_equal(rc, -1);
        assert_string_equal(err.code, cases[i].code);
        assert_true(strlen(err.message) > 5);
        assert_int_equal(h.nactions, 0); /* freed */
    }

    /* A NUL inside, and a record over the size limit. */
    struct handrec h;
    struct felt_err err = {0};
    char nul[] = "{\"a\": 1}";
    nul[3] = '\0';
    assert_int_equal(handrec_parse(nul, sizeof(nul) - 1, &h, &err), -1);
    assert_string_equal(err.code, "bad_json");
    char *big = xmalloc(HANDREC_MAX_BYTES + 2);
    memset(big, ' ', HANDREC_MAX_BYTES + 1);
    big[HANDREC_MAX_BYTES + 1] = '\0';
    assert_int_equal(handrec_parse(big, HANDREC_MAX_BYTES + 1, &h, &err), -1);
    assert_string_equal(err.code, "too_large");
    free(big);

    /* Nesting far deeper than any record: refused by the tokenizer, not a stack overflow. */
    size_t depth = 100000;
    char *deep = xmalloc(2 * depth + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    assert_int_equal(handrec_parse(deep, 2 * depth, &h, &err), -1);
    assert_string_equal(err.code, "bad_json");
    free(deep);

    /* More actions than the limit. */
    size_t cap = 64 + (HANDREC_MAX_ACTIONS + 1) * 40;
    char *many = xmalloc(cap);
    size_t n = (size_t)snprintf(many, cap, HEAD GOOD_SEATS ", \"actions\": [");
    for (int i = 0; i <= HANDREC_MAX_ACTIONS; i++)
        n += (size_t)snprintf(many + n, cap - n, "%s" A("a", "call"), i ? "," : "");
    n += (size_t)snprintf(many + n, cap - n, "]}");
    assert_int_equal(handrec_parse(many, n, &h, &err), -1);
    assert_string_equal(err.code, "too_many_actions");
    free(many);
}

/* Records that parse but cannot be replayed. */
static void test_unreplayable(void **state)
{
    (void)state;
    struct handrec h;
    struct handrec_result r;
    struct felt_err err = {0};
    /* Only one player with chips. */
    assert_int_equal(parse(HEAD "\"seats\": [{\"seat\": 0, \"name\": \"a\", \"stack\": 100}, "
                                "{\"seat\": 1, \"name\": \"b\", \"stack\": 0}], \"actions\": []}",
                           &h, &err),
                     0);
    assert_int_equal(handrec_replay(&h, &r, &err), -1);
    assert_string_equal(err.code, "bad_setup");
    handrec_result_free(&r);
    handrec_free(&h);

    /* A showdown without the cards to decide it. */
    assert_int_equal(parse(HEAD GOOD_SEATS
                           ", \"actions\": [" A("a", "all_in") "," A("b", "call") "]}",
                           &h, &err),
                     0);
    assert_int_equal(handrec_replay(&h, &r, &err), -1);
    assert_string_equal(err.code, "missing_cards");
    handrec_result_free(&r);
    handrec_free(&h);

    /* The same hand ending with a fold needs no cards. */
    assert_int_equal(parse(HEAD GOOD_SEATS
                           ", \"actions\": [" A("a", "all_in") "," A("b", "fold") "]}",
                           &h, &err),
                     0);
    assert_int_equal(handrec_replay(&h, &r, &err), 0);
    assert_true(r.complete);
    assert_int_equal(r.e.p[0].stack, 102);
    handrec_result_free(&r);
    handrec_free(&h);
}

/* Random byte edits of a good record: never a crash; whatever parses also replays cleanly. */
static void test_mutations(void **state)
{
    (void)state;
    struct rng rng;
    rng_init_seeded(&rng, 77);
    size_t len = strlen(good_hand);
    char *buf = xmalloc(len + 1);
    static const char alphabet[] = "{}[]\":,0123456789-.eE \\uabcdefghijklmnopqrstuvwxyzAKQJT";
    int parsed = 0;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(buf, good_hand, len + 1);
        size_t n = len;
        int edits = 1 + (int)rng_bounded(&rng, 4);
        for (int k = 0; k < edits && n > 0; k++) {
            size_t at = (size_t)rng_bounded(&rng, n);
            switch (rng_bounded(&rng, 3)) {
            case 0: /* replace */
                buf[at] = alphabet[rng_bounded(&rng, sizeof(alphabet) - 1)];
                break;
            case 1: /* delete */
                memmove(buf + at, buf + at + 1, n - at);
                n--;
                break;
            default: /* truncate */
                n = at;
                buf[n] = '\0';
            }
        }
        struct handrec h;
        struct handrec_result r;
        struct felt_err err = {0};
        if (handrec_parse(buf, n, &h, &err) < 0) {
            assert_non_null(err.code);
            continue;
        }
        parsed++;
        if (handrec_replay(&h, &r, &err) == 0) {
            struct json_object *o = handrec_result_json(&h, &r);
            char *t = handrec_result_text(&h, &r);
            assert_non_null(o);
            assert_true(strlen(t) > 0);
            free(t);
            json_object_put(o);
        } else {
            assert_non_null(err.code);
        }
        handrec_result_free(&r);
        handrec_free(&h);
    }
    /* Some mutations must survive parsing (e.g. a changed digit), or the replay path above
     * was never exercised. */
    assert_true(parsed > 100);
    free(buf);
}

/* ---- writer and randomized round trip ---- */

static void test_writer_privacy(void **state)
{
    (void)state;
    struct handrec h, back;
    struct handrec_result r;
    struct felt_err err = {0};
    /* Replay the good hand, then write it back as a public history: only shown hands. */
    struct json_object *o = replay_json(good_hand, &h, &r);
    json_object_put(o);
    struct engine_setup s;
    handrec_setup(&h, &s);
    const char *names[ENGINE_MAX_SEATS] = {"dan", "eve", "fay"};
    struct handrec w;
    assert_int_equal(handrec_begin(&w, &s, names, &err), 0);
    for (int i = 0; i < h.nactions; i++)
        handrec_add_action(&w, h.actions[i].seat, h.actions[i].action, h.actions[i].amount);
    handrec_finish(&w, &r.e);
    w.has_hand_id = true;
    w.hand_id = 42;
    strcpy(w.game_id, "main-1");
    char *pub = handrec_to_json(&w, r.e.shown);
    assert_null(strstr(pub, "3h"));         /* dan mucked */
    assert_non_null(strstr(pub, "\"Ah\"")); /* eve showed */
    assert_int_equal(parse(pub, &back, &err), 0);
    assert_int_equal(back.hand_id, 42);
    assert_string_equal(back.game_id, "main-1");
    assert_int_equal(back.nactions, h.nactions);
    assert_int_equal(back.seat[0].cards[0], CARD_NONE);
    /* Without dan's cards the showdown cannot be decided again: missing_cards. */
    struct handrec_result r2;
    assert_int_equal(handrec_replay(&back, &r2, &err), -1);
    assert_string_equal(err.code, "missing_cards");
    handrec_result_free(&r2);
    handrec_free(&back);
    /* With the results the server published, the replay is accepted: the engine mucks dan's
     * unknown hand as the table did and awards the same pot. Results that differ (an amount, a
     * winner, a share, a pot more or less) or none at all leave it refused. */
    handrec_set_results(&w, &r.e);
    char *pubres = handrec_to_json(&w, r.e.shown);
    for (int k = 0; k < 6; k++) {
        assert_int_equal(parse(pubres, &back, &err), 0);
        switch (k) {
        case 1:
            back.results[0].amount++;
            back.results[0].winners[0].amount++;
            break;
        case 2:
            back.results[0].winners[0].seat = 2; /* fay */
            break;
        case 3:
            back.results[0].nwinners = 2; /* eve and fay share it */
            back.results[0].winners[0].amount = 90;
            back.results[0].winners[1].seat = 2;
            back.results[0].winners[1].amount = 90;
            break;
        case 4:
            back.nresults = 0;
            break;
        case 5:
            back.has_results = false;
            break;
        }
        err = (struct felt_err){0};
        int rc = handrec_replay_published(&back, &r2, &err);
        if (k == 0) {
            assert_int_equal(rc, 0);
            assert_true(r2.complete);
            assert_int_equal(r2.error_index, -1);
            assert_int_equal(r2.e.p[1].stack, 1120);
            assert_int_equal(r2.e.p[0].stack, 940);
        } else {
            assert_int_equal(rc, -1);
            assert_string_equal(err.code, "missing_cards");
        }
        handrec_result_free(&r2);
        handrec_free(&back);
    }
    free(pubres);
    /* A record that replays on its own is accepted as handrec_replay accepts it, and one that
     * cannot be replayed for another reason keeps that reason. */
    assert_int_equal(handrec_replay_published(&h, &r2, &err), 0);
    assert_int_equal(r2.e.p[1].stack, 1120);
    handrec_result_free(&r2);
    /* The server's own log, with every card, replays to the same result. */
    char *all = handrec_to_json(&w, 0xffff);
    assert_int_equal(parse(all, &back, &err), 0);
    assert_int_equal(handrec_replay(&back, &r2, &err), 0);
    assert_int_equal(r2.e.p[1].stack, 1120);
    handrec_result_free(&r2);
    handrec_free(&back);
    free(all);
    free(pub);

    handrec_free(&w);

    /* A name the terminal would not show as it is: refused. */
    const char *bad[ENGINE_MAX_SEATS] = {"dan", "e\x1b[2Jve", "fay"};
    assert_int_equal(handrec_begin(&w, &s, bad, &err), -1);
    assert_string_equal(err.code, "bad_field");
    const char *dup[ENGINE_MAX_SEATS] = {"dan", "dan", "fay"};
    assert_int_equal(handrec_begin(&w, &s, dup, &err), -1);
    assert_string_equal(err.code, "duplicate_name");
    handrec_free(&w);
    handrec_result_free(&r);
    handrec_free(&h);
}

static void test_random_round_trip(void **state)
{
    (void)state;
    struct rng rng;
    rng_init_seeded(&rng, 424242);
    int complete = 0, unfinished = 0, illegal = 0;
    for (int iter = 0; iter < 3000; iter++) {
        struct engine_setup s;
        struct engine e;
        struct felt_err err = {0};
        char namebuf[ENGINE_MAX_SEATS][RANDHAND_NAME_MAX];
        const char *names[ENGINE_MAX_SEATS] = {0};
        int64_t total = randhand_setup(&rng, &s, 1, 1, namebuf, names);
        assert_int_equal(engine_start(&e, &s, NULL, &err), 0);
        struct handrec w;
        assert_int_equal(handrec_begin(&w, &s, names, &err), 0);

        /* Random legal actions, biased to all-ins; maybe stop early; maybe one illegal last. */
        int stop_after = rng_bounded(&rng, 3) == 0 ? (int)randhand_pick(&rng, 0, 6) : 1000;
        for (int k = 0; !engine_over(&e) && k < stop_after; k++) {
            struct engine_options o;
            engine_options(&e, &o);
            enum engine_action a;
            int64_t amount;
            randhand_action(&rng, &o, 2, 8, 12, &a, &amount); /* biased to all-ins */
            assert_int_equal(engine_act(&e, o.seat, a, amount, NULL), ENGINE_OK);
            handrec_add_action(&w, o.seat, a, amount);
        }
        bool add_illegal = !engine_over(&e) && rng_bounded(&rng, 4) == 0;
        int illegal_seat = -1;
        if (add_illegal) {
            illegal_seat = (e.to_act + 1) % ENGINE_MAX_SEATS;
            while (!e.p[illegal_seat].dealt || illegal_seat == e.to_act)
                illegal_seat = (illegal_seat + 1) % ENGINE_MAX_SEATS;
            handrec_add_action(&w, illegal_seat, ENGINE_FOLD, 0);
        }
        handrec_finish(&w, &e);
        char *json = handrec_to_json(&w, 0xffff);

        struct handrec h;
        struct handrec_result r;
        struct json_object *o = replay_json(json, &h, &r);
        if (add_illegal) {
            illegal++;
            assert_false(get_b(o, "ok"));
            struct json_object *er = get(o, "error");
            assert_int_equal(get_i(er, "index"), w.nactions - 1);
            assert_string_equal(json_object_get_string(get(er, "code")), "not_your_turn");
        } else {
            assert_true(get_b(o, "ok"));
            assert_int_equal(get_b(o, "complete"), engine_over(&e));
            struct json_object *stacks = get(o, "stacks");
            int64_t sum = 0, pots = 0;
            for (int i = 0; i < ENGINE_MAX_SEATS; i++) {
                if (!e.p[i].dealt) continue;
                assert_int_equal(get_i(stacks, names[i]), e.p[i].stack);
                sum += e.p[i].stack;
            }
            struct json_object *pa = get(o, "pots");
            for (size_t k = 0; k < json_object_array_length(pa); k++) {
                struct json_object *p = json_object_array_get_idx(pa, k);
                pots += get_i(p, "amount");
                size_t nw = json_object_array_length(get(p, "winners"));
                assert_true(engine_over(&e) ? nw >= 1 : nw == 0);
            }
            struct json_object *ta = get(o, "to_act");
            if (engine_over(&e)) {
                complete++;
                assert_int_equal(sum, total);
                assert_true(json_object_is_type(ta, json_type_null));
            } else {
                unfinished++;
                assert_int_equal(sum + pots, total);
                struct engine_options eo;
                engine_options(&e, &eo);
                assert_int_equal(nkeys(ta), 6);
                assert_string_equal(json_object_get_string(get(ta, "name")), names[eo.seat]);
                /* Every action "legal" lists, the engine takes; every other one it refuses,
                 * but an all_in that only calls and a call when checking is free (the engine
                 * takes them as the call and the check "legal" lists). */
                struct json_object *legal = get(ta, "legal");
                unsigned listed = 0;
                for (size_t k = 0; k < json_object_array_length(legal); k++) {
                    enum engine_action la;
                    assert_int_equal(
                        engine_action_parse(
                            json_object_get_string(json_object_array_get_idx(legal, k)), &la),
                        0);
                    listed |= 1u << la;
                }
                for (int la = ENGINE_FOLD; la <= ENGINE_ALL_IN; la++) {
                    struct engine copy = e;
                    enum engine_status st =
                        engine_act(&copy, eo.seat, (enum engine_action)la,
                                   la == ENGINE_RAISE ? eo.min_raise_to : 0, NULL);
                    if (listed >> la & 1)
                        assert_int_equal(st, ENGINE_OK);
                    else if (!(la == ENGINE_ALL_IN && eo.call == e.p[eo.seat].stack) &&
                             !(la == ENGINE_CALL && eo.can_check)) {
                        if (st == ENGINE_OK) print_error("action %d accepted, not listed\n", la);
                        assert_int_not_equal(st, ENGINE_OK);
                    }
                }
                assert_int_equal(get_i(ta, "call"), eo.call);
                assert_int_equal(get_b(ta, "can_check"), eo.can_check);
                if (eo.can_raise) {
                    assert_int_equal(get_i(ta, "min_raise_to"), eo.min_raise_to);
                    assert_int_equal(get_i(ta, "max_raise_to"), eo.max_raise_to);
                    assert_true(get_i(ta, "min_raise_to") <= get_i(ta, "max_raise_to"));
                } else {
                    assert_true(json_object_is_type(get(ta, "min_raise_to"), json_type_null));
                    assert_true(json_object_is_type(get(ta, "max_raise_to"), json_type_null));
                }
            }
        }
        json_object_put(o);
        handrec_result_free(&r);
        handrec_free(&h);
        free(json);
        handrec_free(&w);
    }
    print_message("round trips: %d complete, %d unfinished, %d with an illegal action\n", complete,
                  unfinished, illegal);
    assert_true(complete > 1000 && unfinished > 100 && illegal > 50);
}

/* ---- server history metadata ---- */

static void test_times(void **state)
{
    (void)state;
    char out[HANDREC_TIME_MAX + 1];
    int64_t ms = -1;
    static const struct {
        int64_t ms;
        const char *text;
    } known[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {1796448001123LL, "2026-12-05T05:20:01.123Z"},
        {951868799999LL, "2000-02-29T23:59:59.999Z"},
        {1709208000000LL, "2024-02-29T12:00:00.000Z"},
        {253402300799999LL, "9999-12-31T23:59:59.999Z"},
    };
    for (size_t i = 0; i < FELT_ARRAY_LEN(known); i++) {
        assert_int_equal(handrec_format_time(known[i].ms, out), 0);
        assert_string_equal(out, known[i].text);
        assert_int_equal(handrec_parse_time(known[i].text, &ms), 0);
        assert_int_equal(ms, known[i].ms);
    }
    /* Without the fraction: whole seconds. */
    assert_int_equal(handrec_parse_time("2026-12-05T05:20:01Z", &ms), 0);
    assert_int_equal(ms, 1796448001000LL);
    assert_int_equal(handrec_format_time(-1, out), -1);
    assert_string_equal(out, "");
    assert_int_equal(handrec_format_time(253402300800000LL, out), -1);
    static const char *const bad[] = {
        "",
        "2026-12-05",
        "2026-12-05T05:20:01",       /* no Z */
        "2026-12-05T05:20:01.123",   /* no Z */
        "2026-12-05T05:20:01.12Z",   /* two fraction digits */
        "2026-12-05T05:20:01.1234Z", /* four */
        "2026-12-05 05:20:01Z",      /* space */
        "2026-12-05T05:20:01+00:00", /* offset */
        "2026-12-05t05:20:01Z",      /* lower case */
        "2026-13-05T05:20:01Z",      /* month */
        "2026-00-05T05:20:01Z",
        "2026-04-31T05:20:01Z", /* April has 30 days */
        "2023-02-29T00:00:00Z", /* not a leap year */
        "2100-02-29T00:00:00Z", /* nor is 2100 */
        "2026-12-05T24:00:00Z", /* hour */
        "2026-12-05T05:60:00Z", /* minute */
        "2026-12-05T05:20:60Z", /* no leap second */
        "1969-12-31T23:59:59Z", /* before 1970 */
        "+026-12-05T05:20:01Z",
        "2026-12-05T05:20:01.123Z ",
        "2026-12-05T05:20:01.12aZ",
        "2026-1-05T05:20:01.123Z",
    };
    for (size_t i = 0; i < FELT_ARRAY_LEN(bad); i++)
        if (handrec_parse_time(bad[i], &ms) == 0) fail_msg("accepted \"%s\"", bad[i]);
    /* Random round trips. */
    struct rng rng;
    rng_init_seeded(&rng, 99);
    for (int i = 0; i < 20000; i++) {
        int64_t t = (int64_t)rng_bounded(&rng, 253402300800000ULL);
        assert_int_equal(handrec_format_time(t, out), 0);
        assert_int_equal(strlen(out), 24);
        assert_int_equal(handrec_parse_time(out, &ms), 0);
        assert_int_equal(ms, t);
    }
}

/* A complete stored record: every metadata field. */
#define META_HEAD                                                                                  \
    "{\"variant\": \"nlhe\", \"hand_id\": 17, \"game_id\": \"main-1\", \"status\": \"complete\", " \
    "\"started_at\": \"2026-12-05T05:20:01.123Z\", \"ended_at\": \"2026-12-05T05:21:44.907Z\", "   \
    "\"small_blind\": 5, \"big_blind\": 10, \"ante\": 0, \"button\": 0, "
#define META_RESULTS                                                                               \
    ", \"results\": [{\"pot\": 0, \"amount\": 180, \"winners\": [{\"seat\": 1, \"name\": "         \
    "\"eve\", \"amount\": 180}]}]}"

static const char meta_hand[] = META_HEAD SEATS3
    ", \"actions\": [" A("dan", "call") "," A("eve", "call") "," A("fay", "check") "," A(
        "eve",
        "ch"
        "ec"
        "k") "," A("fay",
                   "check") "," A("dan",
                                  "check") "," A("eve",
                                                 "check") "," A("fay",
                                                                "check") "," A("dan",
                                                                               "check") "," A("eve",
                                                                                              "chec"
                                                                                              "k") "," R("fay",
                                                                                                         50) "," A("dan",
                                                                                                                   "call") "," A("eve",
                                                                                                                                 "call") "]" META_RESULTS;

/* The fields of two records are the same. */
static void assert_same_record(const struct handrec *a, const struct handrec *b)
{
    assert_int_equal(a->small_blind, b->small_blind);
    assert_int_equal(a->big_blind, b->big_blind);
    assert_int_equal(a->ante, b->ante);
    assert_int_equal(a->button, b->button);
    assert_int_equal(a->nseats, b->nseats);
    for (int i = 0; i < a->nseats; i++) {
        assert_int_equal(a->seat[i].seat, b->seat[i].seat);
        assert_string_equal(a->seat[i].name, b->seat[i].name);
        assert_int_equal(a->seat[i].stack, b->seat[i].stack);
        assert_int_equal(a->seat[i].cards[0], b->seat[i].cards[0]);
        assert_int_equal(a->seat[i].cards[1], b->seat[i].cards[1]);
    }
    assert_int_equal(a->nboard, b->nboard);
    assert_memory_equal(a->board, b->board, sizeof(a->board));
    assert_int_equal(a->nactions, b->nactions);
    for (int i = 0; i < a->nactions; i++) {
        assert_int_equal(a->actions[i].seat, b->actions[i].seat);
        assert_int_equal(a->actions[i].action, b->actions[i].action);
        assert_int_equal(a->actions[i].has_amount, b->actions[i].has_amount);
        assert_int_equal(a->actions[i].amount, b->actions[i].amount);
    }
    assert_int_equal(a->has_hand_id, b->has_hand_id);
    if (a->has_hand_id) assert_int_equal(a->hand_id, b->hand_id);
    assert_string_equal(a->game_id, b->game_id);
    assert_string_equal(a->started_at, b->started_at);
    assert_string_equal(a->ended_at, b->ended_at);
    assert_string_equal(a->status, b->status);
    assert_int_equal(a->has_results, b->has_results);
    assert_int_equal(a->nresults, b->nresults);
    for (int k = 0; k < a->nresults; k++) {
        const struct handrec_pot *p = &a->results[k], *q = &b->results[k];
        assert_int_equal(p->pot, q->pot);
        assert_int_equal(p->amount, q->amount);
        assert_int_equal(p->nwinners, q->nwinners);
        for (int w = 0; w < p->nwinners; w++) {
            assert_int_equal(p->winners[w].seat, q->winners[w].seat);
            assert_int_equal(p->winners[w].amount, q->winners[w].amount);
        }
    }
}

static void test_metadata_round_trip(void **state)
{
    (void)state;
    struct handrec h, back, plain;
    struct handrec_result r, r2;
    struct felt_err err = {0};

    assert_int_equal(parse(meta_hand, &h, &err), 0);
    assert_true(h.has_hand_id);
    assert_int_equal(h.hand_id, 17);
    assert_string_equal(h.game_id, "main-1");
    assert_string_equal(h.status, "complete");
    assert_string_equal(h.started_at, "2026-12-05T05:20:01.123Z");
    assert_string_equal(h.ended_at, "2026-12-05T05:21:44.907Z");
    assert_true(h.has_results);
    assert_int_equal(h.nresults, 1);
    assert_int_equal(h.results[0].amount, 180);
    assert_int_equal(h.results[0].nwinners, 1);
    assert_int_equal(h.results[0].winners[0].seat, 1);

    /* Written and read back: the same record, and the same text again. */
    char *text = handrec_to_json(&h, 0xffff);
    assert_int_equal(parse(text, &back, &err), 0);
    assert_same_record(&h, &back);
    char *again = handrec_to_json(&back, 0xffff);
    assert_string_equal(text, again);
    /* The keys in their documented order. */
    static const char *const order[] = {
        "\"variant\"",  "\"hand_id\"",     "\"game_id\"",   "\"status\"", "\"started_at\"",
        "\"ended_at\"", "\"small_blind\"", "\"big_blind\"", "\"ante\"",   "\"button\"",
        "\"seats\"",    "\"board\"",       "\"actions\"",   "\"results\""};
    const char *prev = text;
    for (size_t i = 0; i < FELT_ARRAY_LEN(order); i++) {
        const char *at = strstr(text, order[i]);
        if (!at || at < prev) fail_msg("%s out of order in %s", order[i], text);
        prev = at;
    }
    assert_non_null(strstr(text, "\"results\": [ { \"pot\": 0, \"amount\": 180, \"winners\": [ { "
                                 "\"seat\": 1, \"name\": \"eve\", \"amount\": 180 } ] } ]"));

    handrec_free(&back);

    /* The metadata changes nothing in the replay: felt replay gives the same result. */
    struct json_object *o1 = replay_json(good_hand, &plain, &r);
    struct json_object *o2 = replay_json(meta_hand, &back, &r2);
    assert_string_equal(json_object_to_json_string(o1), json_object_to_json_string(o2));
    char *t1 = handrec_result_text(&plain, &r), *t2 = handrec_result_text(&back, &r2);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    json_object_put(o1);
    json_object_put(o2);
    handrec_result_free(&r);
    handrec_result_free(&r2);
    handrec_free(&plain);
    handrec_free(&back);

    /* Without metadata nothing new is written; an empty results array is kept. */
    assert_int_equal(parse(good_hand, &plain, &err), 0);
    char *bare = handrec_to_json(&plain, 0xffff);
    assert_null(strstr(bare, "status"));
    assert_null(strstr(bare, "_at\""));
    assert_null(strstr(bare, "results"));
    free(bare);
    plain.has_results = true;
    strcpy(plain.status, "voided");
    bare = handrec_to_json(&plain, 0xffff);
    assert_non_null(strstr(bare, "\"results\": [ ]"));
    assert_int_equal(parse(bare, &back, &err), 0);
    assert_same_record(&plain, &back);
    handrec_free(&back);
    handrec_free(&plain);
    free(bare);
    free(again);
    free(text);
    handrec_free(&h);
}

static void test_metadata_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *insert; /* keys added after "ante": 0, */
        const char *code;
        const char *field; /* the message names it */
    } cases[] = {
        {"\"started_at\": 5,", "bad_field", "started_at"},
        {"\"started_at\": \"yesterday\",", "bad_field", "started_at"},
        {"\"ended_at\": \"2026-02-30T00:00:00Z\",", "bad_field", "ended_at"},
        {"\"ended_at\": \"2026-12-05T05:20:01.123Z2026-12-05T05:20:01.123Z\",", "bad_field",
         "ended_at"},
        {"\"status\": \"done\",", "bad_field", "status"},
        {"\"status\": null,", "bad_field", "status"},
        {"\"results\": {},", "bad_field", "results"},
        {"\"results\": [1],", "bad_field", "results[0]"},
        {"\"results\": [{\"pot\": 0, \"amount\": 10}],", "bad_field", "results[0].winners"},
        {"\"results\": [{\"pot\": 1, \"amount\": 10, \"winners\": [{\"seat\": 0, \"name\": "
         "\"dan\", \"amount\": 10}]}],",
         "bad_field", "results[0].pot"},
        {"\"results\": [{\"pot\": 0, \"amount\": 10, \"winners\": []}],", "bad_field",
         "results[0].winners"},
        {"\"results\": [{\"pot\": 0, \"amount\": 10, \"winners\": [{\"seat\": 5, \"name\": "
         "\"dan\", \"amount\": 10}]}],",
         "bad_field", "results[0].winners[0].seat"},
        {"\"results\": [{\"pot\": 0, \"amount\": 10, \"winners\": [{\"seat\": 0, \"name\": "
         "\"eve\", \"amount\": 10}]}],",
         "bad_field", "results[0].winners[0].name"},
        {"\"results\": [{\"pot\": 0, \"amount\": 10, \"winners\": [{\"seat\": 0, \"name\": "
         "\"dan\", \"amount\": 9}]}],",
         "bad_field", "results[0].winners"},
        {"\"results\": [{\"pot\": 0, \"amount\": 20, \"winners\": [{\"seat\": 0, \"name\": "
         "\"dan\", \"amount\": 10}, {\"seat\": 0, \"name\": \"dan\", \"amount\": 10}]}],",
         "bad_field", "results[0].winners[1].seat"},
        {"\"results\": [{\"pot\": 0, \"amount\": 1000000000001, \"winners\": [{\"seat\": 0, "
         "\"name\": \"dan\", \"amount\": 1000000000001}]}],",
         "bad_field", "results[0].amount"},
        {"\"results\": [{\"pot\": 0, \"amount\": 10, \"winners\": [{\"seat\": 0, \"name\": "
         "\"dan\", \"amount\": -1}]}],",
         "bad_field", "results[0].winners[0].amount"},
        {"\"results\": [{\"pot\": 0, \"amount\": 10, \"share\": 1, \"winners\": [{\"seat\": 0, "
         "\"name\": \"dan\", \"amount\": 10}]}],",
         "bad_field", "share"},
        {"\"results\": [{\"pot\": 0, \"amount\": 10, \"winners\": [{\"seat\": 0, \"name\": "
         "\"dan\", \"amount\": 10, \"hand\": \"x\"}]}],",
         "bad_field", "hand"},
        {"\"results\": [{\"pot\": 0, \"amount\": 10, \"winners\": [\"dan\"]}],", "bad_field",
         "results[0].winners[0]"},
        {"\"rake\": 0,", "bad_field", "rake"},
    };
    for (size_t i = 0; i < FELT_ARRAY_LEN(cases); i++) {
        char text[4096];
        struct handrec h;
        struct felt_err err = {0};
        snprintf(text, sizeof(text),
                 "{\"small_blind\": 5, \"big_blind\": 10, \"ante\": 0, %s \"button\": 0, " SEATS3
                 ", \"actions\": []}",
                 cases[i].insert);
        if (parse(text, &h, &err) == 0) fail_msg("case %zu accepted: %s", i, cases[i].insert);
        if (strcmp(err.code, cases[i].code) != 0 || !strstr(err.message, cases[i].field))
            fail_msg("case %zu: got %s: %s, want %s naming %s", i, err.code, err.message,
                     cases[i].code, cases[i].field);
        assert_int_equal(h.nseats, 0); /* freed and empty */
    }
    /* Eleven pots are more than a hand can make. */
    char text[8192];
    int n = snprintf(text, sizeof(text),
                     "{\"small_blind\": 5, \"big_blind\": 10, \"button\": 0, " SEATS3
                     ", \"actions\": [], \"results\": [");
    for (int k = 0; k <= ENGINE_MAX_POTS; k++)
        n += snprintf(text + n, sizeof(text) - (size_t)n,
                      "%s{\"pot\": %d, \"amount\": 1, \"winners\": [{\"seat\": 0, \"name\": "
                      "\"dan\", \"amount\": 1}]}",
                      k ? "," : "", k);
    snprintf(text + n, sizeof(text) - (size_t)n, "]}");
    struct handrec h;
    struct felt_err err = {0};
    assert_int_equal(parse(text, &h, &err), -1);
    assert_string_equal(err.code, "bad_field");
    assert_non_null(strstr(err.message, "results"));
}

/* handrec_set_results copies the engine's awards; a hand that is not over has none. */
static void test_set_results(void **state)
{
    (void)state;
    struct handrec h, w, back;
    struct handrec_result r;
    struct felt_err err = {0};
    const char *side =
        "{\"variant\": \"nlhe\", \"small_blind\": 50, \"big_blind\": 100, "
        "\"ante\": 10, \"button\": 7, \"seats\": ["
        "{\"seat\": 1, \"name\": \"gus\", \"stack\": 400, \"cards\": [\"Ac\", \"Kd\"]},"
        "{\"seat\": 3, \"name\": \"hal\", \"stack\": 35, \"cards\": [\"9c\", \"9d\"]},"
        "{\"seat\": 4, \"name\": \"ivy\", \"stack\": 1200, \"cards\": [\"Ah\", \"Qd\"]},"
        "{\"seat\": 7, \"name\": \"jon\", \"stack\": 250, \"cards\": [\"Jh\", \"Jd\"]}],"
        "\"board\": [\"2c\", \"5d\", \"9h\", \"8c\", \"3s\"], \"actions\": ["
        "{\"name\": \"ivy\", \"action\": \"raise\", \"amount\": 300},"
        "{\"name\": \"jon\", \"action\": \"all_in\"},"
        "{\"name\": \"gus\", \"action\": \"all_in\"},"
        "{\"name\": \"ivy\", \"action\": \"call\"}]}";
    struct json_object *o = replay_json(side, &h, &r);
    json_object_put(o);
    assert_true(r.complete);
    struct engine_setup s;
    handrec_setup(&h, &s);
    const char *names[ENGINE_MAX_SEATS] = {NULL, "gus", NULL, "hal", "ivy", NULL, NULL, "jon"};
    assert_int_equal(handrec_begin(&w, &s, names, &err), 0);
    for (int i = 0; i < h.nactions; i++)
        handrec_add_action(&w, h.actions[i].seat, h.actions[i].action, h.actions[i].amount);
    handrec_finish(&w, &r.e);
    handrec_set_results(&w, &r.e);
    assert_true(w.has_results);
    assert_int_equal(w.nresults, 3);
    static const int64_t amounts[3] = {140, 645, 300};
    static const int winner[3] = {3, 7, 1};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(w.results[k].pot, k);
        assert_int_equal(w.results[k].amount, amounts[k]);
        assert_int_equal(w.results[k].nwinners, 1);
        assert_int_equal(w.results[k].winners[0].seat, winner[k]);
        assert_int_equal(w.results[k].winners[0].amount, amounts[k]);
    }
    char *text = handrec_to_json(&w, r.e.shown);
    assert_non_null(strstr(text, "{ \"seat\": 7, \"name\": \"jon\", \"amount\": 645 }"));
    assert_int_equal(parse(text, &back, &err), 0);
    assert_same_record(&w, &back);
    handrec_free(&back);
    free(text);

    /* A split pot: two winners with their shares (odd chip to the first left of the button). */
    handrec_free(&w);
    handrec_result_free(&r);
    handrec_free(&h);
    const char *split =
        "{\"small_blind\": 5, \"big_blind\": 10, \"button\": 0, \"seats\": ["
        "{\"seat\": 0, \"name\": \"oli\", \"stack\": 1000, \"cards\": [\"2c\", \"3c\"]},"
        "{\"seat\": 1, \"name\": \"pam\", \"stack\": 1000, \"cards\": [\"2d\", \"3d\"]},"
        "{\"seat\": 2, \"name\": \"quy\", \"stack\": 1000, \"cards\": [\"2h\", \"3h\"]}],"
        "\"board\": [\"As\", \"Ks\", \"Qs\", \"Js\", \"Ts\"], \"actions\": ["
        "{\"name\": \"oli\", \"action\": \"call\"}, {\"name\": \"pam\", \"action\": \"fold\"},"
        "{\"name\": \"quy\", \"action\": \"check\"},"
        "{\"name\": \"quy\", \"action\": \"check\"}, {\"name\": \"oli\", \"action\": \"check\"},"
        "{\"name\": \"quy\", \"action\": \"check\"}, {\"name\": \"oli\", \"action\": \"check\"},"
        "{\"name\": \"quy\", \"action\": \"check\"}, {\"name\": \"oli\", \"action\": \"check\"}]}";
    o = replay_json(split, &h, &r);
    json_object_put(o);
    handrec_set_results(&h, &r.e);
    assert_int_equal(h.nresults, 1);
    assert_int_equal(h.results[0].amount, 25);
    assert_int_equal(h.results[0].nwinners, 2);
    assert_int_equal(h.results[0].winners[0].seat, 0);
    assert_int_equal(h.results[0].winners[0].amount, 12);
    assert_int_equal(h.results[0].winners[1].seat, 2);
    assert_int_equal(h.results[0].winners[1].amount, 13);
    text = handrec_to_json(&h, 0xffff);
    assert_int_equal(parse(text, &back, &err), 0);
    assert_same_record(&h, &back);
    handrec_free(&back);
    free(text);
    handrec_result_free(&r);
    handrec_free(&h);

    /* A voided hand (not over): "results": []. */
    o = replay_json(HEAD3 SEATS3 ", \"actions\": [" A("dan", "call") "]}", &h, &r);
    json_object_put(o);
    assert_false(r.complete);
    h.nresults = 3; /* overwritten */
    handrec_set_results(&h, &r.e);
    assert_true(h.has_results);
    assert_int_equal(h.nresults, 0);
    text = handrec_to_json(&h, 0);
    assert_non_null(strstr(text, "\"results\": [ ]"));
    free(text);
    handrec_result_free(&r);
    handrec_free(&h);
}

/* The two server examples in docs/examples/hands/ parse and replay as documented. */
static void test_server_examples(void **state)
{
    (void)state;
    char dir[4096];
    const char *slash = strrchr(__FILE__, '/');
    snprintf(dir, sizeof(dir), "%.*s/../../docs/examples/hands",
             slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
    static const char *const files[] = {"server-complete.json", "server-voided.json"};
    for (size_t i = 0; i < FELT_ARRAY_LEN(files); i++) {
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        FILE *f = fopen(path, "rb");
        if (!f) fail_msg("cannot open %s", path);
        static char buf[65536];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        struct handrec h;
        struct handrec_result r;
        struct felt_err err = {0};
        if (handrec_parse(buf, n, &h, &err) < 0)
            fail_msg("%s: %s: %s", path, err.code, err.message);
        assert_true(h.has_hand_id && h.game_id[0] && h.started_at[0] && h.ended_at[0]);
        assert_true(h.has_results);
        assert_int_equal(handrec_replay(&h, &r, &err), 0);
        if (i == 0) {
            assert_string_equal(h.status, "complete");
            assert_true(r.complete);
            /* The stored results are the engine's awards. */
            assert_int_equal(h.nresults, r.e.npots);
            for (int k = 0; k < h.nresults; k++)
                assert_int_equal(h.results[k].amount, r.e.pots[k].amount);
            assert_int_equal(h.results[0].winners[0].seat, 0);
            assert_int_equal(r.e.pots[0].winners, 1u << 0);
        } else {
            assert_string_equal(h.status, "voided");
            assert_false(r.complete);
            assert_int_equal(h.nresults, 0);
            assert_int_equal(h.nactions, 0);
        }
        handrec_result_free(&r);
        handrec_free(&h);
    }
}

int main(void)
{
    eval_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_hand),
        cmocka_unit_test(test_say),
        cmocka_unit_test(test_narrate),
        cmocka_unit_test(test_unfinished_hand),
        cmocka_unit_test(test_illegal_actions),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_unreplayable),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_writer_privacy),
        cmocka_unit_test(test_random_round_trip),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_metadata_round_trip),
        cmocka_unit_test(test_metadata_malformed),
        cmocka_unit_test(test_set_results),
        cmocka_unit_test(test_server_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
