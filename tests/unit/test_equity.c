/*
 * test_equity.c: unit tests for common/equity.c, exact all-in equity.
 *
 * The range check (every AA combination against every KK combination over every
 * board), a brute-force reference written here with plain loops and eval_7 that must agree
 * count for count for 2, 3 and 6 hands on various boards, edge cases (a known river, a hand
 * drawing dead, symmetry), every rejection, and the stepped walk (equity_start/step/finish),
 * which must give equity_exact()'s counts exactly whatever its budget, and equity_cost.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "card.h"
#include "equity.h"
#include "eval.h"
#include "util.h"

static int parse_hands(const char *text, card_t hands[][2])
{
    card_t c[2 * EQUITY_MAX_HANDS + 2];
    struct felt_err err = {0};
    int n = card_parse_list(text, c, 2 * EQUITY_MAX_HANDS + 2, &err);
    assert_true(n >= 0 && n % 2 == 0);
    for (int i = 0; i < n; i++)
        hands[i / 2][i % 2] = c[i];
    return n / 2;
}

static int parse_board(const char *text, card_t board[5])
{
    struct felt_err err = {0};
    int n = card_parse_list(text, board, 5, &err);
    assert_true(n >= 0);
    return n;
}

/* ---- the reference: every board, dealt by plain loops, each hand ranked by eval_7 ---- */

struct reference {
    uint64_t boards, wins[EQUITY_MAX_HANDS], ties[EQUITY_MAX_HANDS];
    double share[EQUITY_MAX_HANDS];
};

static void reference_score(const card_t hands[][2], int nhands, const card_t board[5],
                            struct reference *ref)
{
    uint16_t rank[EQUITY_MAX_HANDS], best = 0;
    for (int h = 0; h < nhands; h++) {
        card_t c[7] = {hands[h][0], hands[h][1], board[0], board[1], board[2], board[3], board[4]};
        rank[h] = eval_7(c);
        if (rank[h] > best) best = rank[h];
    }
    int winners = 0;
    for (int h = 0; h < nhands; h++)
        winners += rank[h] == best;
    for (int h = 0; h < nhands; h++) {
        if (rank[h] != best) continue;
        if (winners == 1)
            ref->wins[h]++;
        else
            ref->ties[h]++;
        ref->share[h] += 1.0 / winners;
    }
    ref->boards++;
}

/* Completes board[nboard..5) with unseen cards above `from` in every way. */
static void reference_deal(const card_t hands[][2], int nhands, card_t board[5], int nboard,
                           int from, uint64_t used, struct reference *ref)
{
    if (nboard == 5) {
        reference_score(hands, nhands, board, ref);
        return;
    }
    for (int c = from; c < CARD_COUNT; c++) {
        if (used >> c & 1) continue;
        board[nboard] = (card_t)c;
        reference_deal(hands, nhands, board, nboard + 1, c + 1, used, ref);
    }
}

static void check_against_reference(const char *hands_text, const char *board_text)
{
    card_t hands[EQUITY_MAX_HANDS][2], board[5];
    int nhands = parse_hands(hands_text, hands);
    int nboard = parse_board(board_text, board);
    struct equity_result res;
    struct felt_err err = {0};
    assert_int_equal(equity_exact(hands, nhands, board, nboard, &res, &err), 0);

    struct reference ref;
    memset(&ref, 0, sizeof(ref));
    uint64_t used = 0;
    for (int h = 0; h < nhands; h++)
        used |= UINT64_C(1) << hands[h][0] | UINT64_C(1) << hands[h][1];
    for (int i = 0; i < nboard; i++)
        used |= UINT64_C(1) << board[i];
    reference_deal(hands, nhands, board, nboard, 0, used, &ref);

    assert_int_equal(res.nhands, nhands);
    assert_true(res.boards == ref.boards);
    double total = 0;
    for (int h = 0; h < nhands; h++) {
        assert_true(res.wins[h] == ref.wins[h]);
        assert_true(res.ties[h] == ref.ties[h]);
        assert_true(res.equity[h] >= 0 && res.equity[h] <= 1);
        assert_true(res.equity[h] - ref.share[h] / (double)ref.boards < 1e-9);
        assert_true(ref.share[h] / (double)ref.boards - res.equity[h] < 1e-9);
        total += res.equity[h];
    }
    assert_true(total > 1 - 1e-9 && total < 1 + 1e-9);
}

/* ---- tests ---- */

/* The check: AA (6 combinations) against KK (6), all 1,712,304 boards each. */
static void test_aa_vs_kk_range(void **state)
{
    (void)state;
    uint64_t aa = 0, kk = 0, ties = 0, boards = 0;
    for (int a1 = 0; a1 < 4; a1++)
        for (int a2 = a1 + 1; a2 < 4; a2++)
            for (int k1 = 0; k1 < 4; k1++)
                for (int k2 = k1 + 1; k2 < 4; k2++) {
                    card_t hands[2][2] = {{card_make(12, a1), card_make(12, a2)},
                                          {card_make(11, k1), card_make(11, k2)}};
                    struct equity_result res;
                    struct felt_err err = {0};
                    assert_int_equal(equity_exact(hands, 2, NULL, 0, &res, &err), 0);
                    assert_true(res.boards == 1712304);
                    assert_true(res.ties[0] == res.ties[1]);
                    aa += res.wins[0];
                    kk += res.wins[1];
                    ties += res.ties[0];
                    boards += res.boards;
                }
    assert_true(aa == 50371344);
    assert_true(kk == 10986372);
    assert_true(ties == 285228);
    double equity = ((double)aa + (double)ties / 2) / (double)boards;
    assert_true(equity > 0.819455 && equity < 0.819465); /* 81.946% */
}

static void test_matches_reference(void **state)
{
    (void)state;
    check_against_reference("Ah Kh Qs Qd", "2h 7h Tc");
    check_against_reference("Ah Kh Qs Qd", "2h 7h Tc 3s");
    check_against_reference("7c 2d Ts 9s", "");
    check_against_reference("Ac Ad Kh Ks 7c 8c", "2c 5c Qd");
    check_against_reference("As Ks 2d 2c 9h 8h Jc Td 5s 5h Qh 3d", "");
    check_against_reference("As Ks 2d 2c 9h 8h Jc Td 5s 5h Qh 3d", "Kd 4c");
    check_against_reference("Ac 2d 3h 4s", "5c 5d 5h");
}

static void test_known_river(void **state)
{
    (void)state;
    card_t hands[2][2], board[5];
    parse_hands("Ah Kd Qs Qc", hands);
    parse_board("2c 7d Ts Jh 3c", board);
    struct equity_result res;
    struct felt_err err = {0};
    assert_int_equal(equity_exact(hands, 2, board, 5, &res, &err), 0);
    assert_true(res.boards == 1);
    assert_true(res.wins[1] == 1 && res.wins[0] == 0);
    assert_true(res.equity[1] == 1.0 && res.equity[0] == 0.0);

    /* The same river with the board playing: an exact split. */
    parse_board("As Ks Qh Jd Tc", board);
    parse_hands("2c 3d 4c 5d", hands);
    assert_int_equal(equity_exact(hands, 2, board, 5, &res, &err), 0);
    assert_true(res.boards == 1 && res.ties[0] == 1 && res.ties[1] == 1);
    assert_true(res.equity[0] == 0.5 && res.equity[1] == 0.5);
}

static void test_drawing_dead(void **state)
{
    (void)state;
    /* A royal flush on the turn: nothing on the river helps the other hands. */
    card_t hands[3][2], board[5];
    parse_hands("As 2c Ah Ad Kh Kd", hands);
    parse_board("Ts Js Qs Ks", board);
    struct equity_result res;
    struct felt_err err = {0};
    assert_int_equal(equity_exact(hands, 3, board, 4, &res, &err), 0);
    assert_true(res.boards == 52 - 6 - 4);
    assert_true(res.wins[0] == res.boards);
    assert_true(res.equity[0] == 1.0);
    for (int h = 1; h < 3; h++) {
        assert_true(res.wins[h] == 0 && res.ties[h] == 0);
        assert_true(res.equity[h] == 0.0);
    }
}

static void test_symmetry(void **state)
{
    (void)state;
    card_t ab[2][2], ba[2][2], board[5];
    parse_hands("Jc Tc 8d 8s", ab);
    parse_hands("8d 8s Jc Tc", ba);
    int nboard = parse_board("9c 2h", board);
    struct equity_result x, y;
    struct felt_err err = {0};
    assert_int_equal(equity_exact(ab, 2, board, nboard, &x, &err), 0);
    assert_int_equal(equity_exact(ba, 2, board, nboard, &y, &err), 0);
    assert_true(x.boards == y.boards && x.boards == 15180); /* C(46, 3) */
    assert_true(x.wins[0] == y.wins[1] && x.wins[1] == y.wins[0]);
    assert_true(x.ties[0] == y.ties[1]);
    assert_true(x.equity[0] == y.equity[1]);
}

static void test_rejections(void **state)
{
    (void)state;
    card_t hands[7][2], board[6];
    struct equity_result res;
    struct felt_err err = {0};
    parse_hands("Ah Kd Qs Qc 2c 3c 4c 5c 6c 7c 8c 9c", hands);
    hands[6][0] = card_make(0, 1);
    hands[6][1] = card_make(1, 1);
    parse_board("Tc Jc", board);

    assert_int_equal(equity_exact(hands, 1, NULL, 0, &res, &err), -1);
    assert_string_equal(err.code, "bad_hand_count");
    assert_int_equal(equity_exact(hands, 7, NULL, 0, &res, &err), -1);
    assert_string_equal(err.code, "bad_hand_count");
    assert_int_equal(equity_exact(hands, 0, NULL, 0, &res, &err), -1);
    assert_string_equal(err.code, "bad_hand_count");
    assert_int_equal(equity_exact(hands, 2, board, 6, &res, &err), -1);
    assert_string_equal(err.code, "bad_board");
    assert_int_equal(equity_exact(hands, 2, board, -1, &res, &err), -1);
    assert_string_equal(err.code, "bad_board");
    assert_int_equal(equity_exact(hands, 2, NULL, 2, &res, &err), -1);
    assert_string_equal(err.code, "bad_argument");

    /* Duplicates: within a hand, between hands, between a hand and the board. */
    card_t dup[2][2] = {{card_make(12, 0), card_make(12, 0)}, {card_make(3, 1), card_make(4, 1)}};
    assert_int_equal(equity_exact(dup, 2, NULL, 0, &res, &err), -1);
    assert_string_equal(err.code, "duplicate_card");
    dup[0][1] = card_make(4, 1);
    assert_int_equal(equity_exact(dup, 2, NULL, 0, &res, &err), -1);
    assert_string_equal(err.code, "duplicate_card");
    assert_non_null(strstr(err.message, "6d"));
    parse_hands("Ah Kd Qs Qc", dup);
    board[0] = card_make(12, 2); /* Ah again */
    assert_int_equal(equity_exact(dup, 2, board, 1, &res, &err), -1);
    assert_string_equal(err.code, "duplicate_card");

    /* Values that are not cards, hidden ones included. */
    dup[1][0] = CARD_NONE;
    assert_int_equal(equity_exact(dup, 2, NULL, 0, &res, &err), -1);
    assert_string_equal(err.code, "bad_card");
    dup[1][0] = 52;
    assert_int_equal(equity_exact(dup, 2, NULL, 0, &res, &err), -1);
    assert_string_equal(err.code, "bad_card");
}

/* A walk in small steps counts exactly what one call counts, and the steps are bounded. */
static void check_stepped(const char *hands_text, const char *board_text, uint64_t budget,
                          int min_steps)
{
    card_t hands[EQUITY_MAX_HANDS][2], board[5];
    int nhands = parse_hands(hands_text, hands);
    int nboard = parse_board(board_text, board);
    struct equity_result one, stepped;
    struct equity_walk w;
    struct felt_err err = {0};
    assert_int_equal(equity_exact(hands, nhands, board, nboard, &one, &err), 0);
    assert_int_equal(equity_start(&w, hands, nhands, board, nboard, &err), 0);
    int steps = 0;
    uint64_t before = 0, most = 0;
    while (!equity_step(&w, budget)) {
        steps++;
        if ((w.boards - before) * (uint64_t)nhands > most) most = (w.boards - before) * nhands;
        before = w.boards;
        assert_true(steps < 1000000);
    }
    steps++;
    equity_finish(&w, &stepped);
    assert_true(steps >= min_steps);
    /* A step takes no prefix that would take it past its budget, but always one (at most
     * C(46,3) boards). */
    uint64_t prefix = 15180u * (uint64_t)nhands;
    assert_true(most <= (budget > prefix ? budget : prefix));
    assert_true(stepped.boards == one.boards);
    assert_true(one.boards * (uint64_t)nhands == equity_cost(nhands, nboard));
    for (int h = 0; h < nhands; h++) {
        assert_true(stepped.wins[h] == one.wins[h]);
        assert_true(stepped.ties[h] == one.ties[h]);
        assert_true(stepped.equity[h] == one.equity[h]);
    }
}

static void test_stepped(void **state)
{
    (void)state;
    check_stepped("As Ad Kc Kd", "", 100000, 20);   /* 1,712,304 boards */
    check_stepped("Ah Kh Qs Qd 7c 2d", "", 1, 903); /* one prefix per step: C(43,2) prefixes */
    check_stepped("Ah Kh Qs Qd 7c 2d Jc Tc 9s 9h 5d 4d", "", 200000, 10);
    check_stepped("Ah Kh Qs Qd", "2c 7d 9s", 1, 1);             /* two to deal: one step */
    check_stepped("Ah Kh Qs Qd 5c 5d", "2c 7d 9s Js Ts", 0, 1); /* nothing to deal */
    check_stepped("Ah Kh Qs Qd 5c 5d", "2c", 50, 100);
    assert_true(equity_cost(2, 0) == 1712304u * 2);
    assert_true(equity_cost(6, 0) == 658008u * 6);
    assert_true(equity_cost(4, 0) == 1086008u * 4);
    assert_true(equity_cost(2, 5) == 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aa_vs_kk_range), cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_known_river),    cmocka_unit_test(test_drawing_dead),
        cmocka_unit_test(test_symmetry),       cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_stepped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
