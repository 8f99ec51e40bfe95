/*
 * test_card.c: unit tests for common/card.c, the text form of cards.
 *
 * Every one of the 52 cards round-trips through card_str and card_parse; near misses (wrong
 * case, "10", missing or extra characters, control characters) are rejected with "bad_card"
 * and a message that quotes the text safely; lists reject duplicates and overflow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "card.h"
#include "util.h"

static void test_layout(void **state)
{
    (void)state;
    /* The header's promise: 0 is 2c, 51 is As, rank * 4 + suit. */
    char buf[3];
    assert_string_equal(card_str(0, buf), "2c");
    assert_string_equal(card_str(51, buf), "As");
    assert_int_equal(card_make(12, 3), 51);
    assert_int_equal(card_rank(card_make(8, 2)), 8);
    assert_int_equal(card_suit(card_make(8, 2)), 2);
    assert_true(card_valid(51));
    assert_false(card_valid(52));
    assert_false(card_valid(CARD_NONE));
}

static void test_round_trip_all(void **state)
{
    (void)state;
    uint64_t seen = 0;
    for (int r = 0; r < 13; r++) {
        for (int s = 0; s < 4; s++) {
            char text[3] = {CARD_RANKS[r], CARD_SUITS[s], '\0'}, buf[3];
            card_t c = CARD_NONE;
            struct felt_err err = {0};
            assert_int_equal(card_parse(text, &c, &err), 0);
            assert_int_equal(card_rank(c), r);
            assert_int_equal(card_suit(c), s);
            assert_string_equal(card_str(c, buf), text);
            seen |= UINT64_C(1) << c;
        }
    }
    assert_true(seen == (UINT64_C(1) << 52) - 1);
}

static void test_card_str_invalid(void **state)
{
    (void)state;
    char buf[3];
    assert_string_equal(card_str(CARD_NONE, buf), "??");
    assert_string_equal(card_str(52, buf), "??");
}

static void test_parse_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",    "A",   "as",  "AS",   "aS",   "10h", "1s", "Xs",  "Ax", "Asx",
        " As", "As ", "A s", "Ah\n", "\tAh", "2C",  "t9", "Tc,", "♠A",
    };
    for (size_t i = 0; i < FELT_ARRAY_LEN(bad); i++) {
        card_t c = 7;
        struct felt_err err = {0};
        assert_int_equal(card_parse(bad[i], &c, &err), -1);
        assert_string_equal(err.code, "bad_card");
        assert_int_equal(c, 7); /* untouched on failure */
    }
    struct felt_err err = {0};
    card_t c;
    assert_int_equal(card_parse(NULL, &c, &err), -1);
    assert_string_equal(err.code, "bad_card");
    /* A NULL err is allowed: the caller just does not want the reason. */
    assert_int_equal(card_parse("zz", &c, NULL), -1);
}

static void test_parse_message(void **state)
{
    (void)state;
    struct felt_err err = {0};
    card_t c;
    assert_int_equal(card_parse("10h", &c, &err), -1);
    assert_non_null(strstr(err.message, "\"10h\""));

    /* Control characters and escape sequences never reach the message; long text is cut. */
    assert_int_equal(card_parse("\x1b[31mAs", &c, &err), -1);
    assert_null(strchr(err.message, '\x1b'));
    assert_non_null(strstr(err.message, "\"?[31mAs\""));
    assert_int_equal(card_parse("AsAsAsAsAsAsAsAsAsAsAsAsAsAs", &c, &err), -1);
    assert_non_null(strstr(err.message, "\"AsAsAsAsAsAsAsAs...\""));
}

static void test_list(void **state)
{
    (void)state;
    card_t out[7];
    struct felt_err err = {0};
    assert_int_equal(card_parse_list("As Kd Tc 9h 2s", out, 7, &err), 5);
    assert_int_equal(out[0], card_make(12, 3));
    assert_int_equal(out[1], card_make(11, 1));
    assert_int_equal(out[2], card_make(8, 0));
    assert_int_equal(out[3], card_make(7, 2));
    assert_int_equal(out[4], card_make(0, 3));

    /* Runs of spaces separate; an empty list is zero cards. */
    assert_int_equal(card_parse_list("  Ah   2c ", out, 7, &err), 2);
    assert_int_equal(out[0], card_make(12, 2));
    assert_int_equal(out[1], card_make(0, 0));
    assert_int_equal(card_parse_list("", out, 7, &err), 0);
    assert_int_equal(card_parse_list("   ", out, 7, &err), 0);
    assert_int_equal(card_parse_list("", NULL, 0, &err), 0);
}

static void test_list_rejects(void **state)
{
    (void)state;
    card_t out[3];
    struct felt_err err = {0};

    assert_int_equal(card_parse_list("As Kd As", out, 3, &err), -1);
    assert_string_equal(err.code, "duplicate_card");
    assert_non_null(strstr(err.message, "As"));

    assert_int_equal(card_parse_list("As Kd Qh Jc", out, 3, &err), -1);
    assert_string_equal(err.code, "too_many_cards");
    assert_int_equal(card_parse_list("As", out, 0, &err), -1);
    assert_string_equal(err.code, "too_many_cards");

    /* Commas, tabs and junk are part of a token, which is then a bad card. */
    assert_int_equal(card_parse_list("As,Kd", out, 3, &err), -1);
    assert_string_equal(err.code, "bad_card");
    assert_non_null(strstr(err.message, "\"As,Kd\""));
    assert_int_equal(card_parse_list("As\tKd", out, 3, &err), -1);
    assert_string_equal(err.code, "bad_card");
    assert_int_equal(card_parse_list("As kd", out, 3, &err), -1);
    assert_string_equal(err.code, "bad_card");
    assert_non_null(strstr(err.message, "\"kd\""));
    assert_int_equal(card_parse_list(NULL, out, 3, &err), -1);
    assert_string_equal(err.code, "bad_card");
}

/* card_list: both forms, unknown cards, no cards, and a buffer too small for the list. */
static void test_card_list(void **state)
{
    (void)state;
    card_t c[7] = {card_make(12, 2), card_make(11, 1), card_make(8, 0), CARD_NONE,
                   card_make(0, 3),  card_make(1, 0),  card_make(2, 1)};
    char out[CARD_LIST_MAX];
    assert_string_equal(card_list(c, 3, true, out, sizeof(out)), "Ah Kd Tc");
    assert_string_equal(card_list(c, 3, false, out, sizeof(out)), "A\u2665 K\u2666 T\u2663");
    assert_string_equal(card_list(c + 3, 2, true, out, sizeof(out)), "?? 2s");
    assert_string_equal(card_list(c + 4, 1, false, out, sizeof(out)), "2\u2660");
    assert_string_equal(card_list(c, 0, false, out, sizeof(out)), "");
    /* Seven cards in the symbol form fit CARD_LIST_MAX. */
    assert_string_equal(card_list(c, 7, false, out, sizeof(out)),
                        "A\u2665 K\u2666 T\u2663 ?? 2\u2660 3\u2663 4\u2666");
    /* Too small: the cards that fit, never a cut symbol. */
    char small[10];
    assert_string_equal(card_list(c, 3, false, small, sizeof(small)), "A\u2665 K\u2666");
    assert_string_equal(card_list(c, 3, true, small, 3), "Ah");
    assert_string_equal(card_list(c, 3, true, small, 2), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),           cmocka_unit_test(test_round_trip_all),
        cmocka_unit_test(test_card_str_invalid), cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_message),    cmocka_unit_test(test_list),
        cmocka_unit_test(test_list_rejects),     cmocka_unit_test(test_card_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
