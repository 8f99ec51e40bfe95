/*
 * equity.c: exact all-in equity, by evaluating every completion of the board.
 *
 * The unseen cards are dealt to the board in every combination by nested loops that keep one
 * evaluator key per level (eval_key_*), so the innermost loop adds one card to the board and
 * joins it to each hand's key: one lookup per hand per board. Heads-up, the common case, has
 * its own innermost loop that counts with comparisons instead of branches. Pot shares of split
 * boards are counted exactly in sixtieths (60 is divisible by every tie size from 2 to 6), so
 * the equities are exact ratios of integers until the final division.
 */
#include "equity.h"

#include <string.h>

#include "eval.h"
#include "util.h"

/* Every tie of 2..6 hands splits the pot into a whole number of sixtieths. */
#define EQUITY_SHARE_UNITS 60

struct equity_walk {
    int nhands;
    struct eval_key hand[EQUITY_MAX_HANDS]; /* hole cards plus the known board */
    int nunseen;
    card_t unseen[CARD_COUNT];
    uint64_t boards;
    uint64_t wins[EQUITY_MAX_HANDS];
    uint64_t ties[EQUITY_MAX_HANDS];
    uint64_t shares[EQUITY_MAX_HANDS]; /* sixtieths of a pot won, ties included */
};

/* The last board card, heads-up: every remaining unseen card from `from` on. */
static void equity_leaf2(struct equity_walk *w, int from, struct eval_key board)
{
    const struct eval_key h0 = w->hand[0], h1 = w->hand[1];
    uint64_t w0 = 0, w1 = 0;
    for (int i = from; i < w->nunseen; i++) {
        struct eval_key b = eval_key_add(board, w->unseen[i]);
        uint16_t r0 = eval_key_rank7(eval_key_join(h0, b));
        uint16_t r1 = eval_key_rank7(eval_key_join(h1, b));
        w0 += r0 > r1;
        w1 += r1 > r0;
    }
    uint64_t n = (uint64_t)(w->nunseen - from), tied = n - w0 - w1;
    w->boards += n;
    w->wins[0] += w0;
    w->wins[1] += w1;
    w->ties[0] += tied;
    w->ties[1] += tied;
    w->shares[0] += w0 * EQUITY_SHARE_UNITS + tied * (EQUITY_SHARE_UNITS / 2);
    w->shares[1] += w1 * EQUITY_SHARE_UNITS + tied * (EQUITY_SHARE_UNITS / 2);
}

/* Scores one complete board for any number of hands. */
static void equity_score(struct equity_walk *w, struct eval_key b)
{
    uint16_t rank[EQUITY_MAX_HANDS], best = 0;
    int nbest = 0;
    for (int h = 0; h < w->nhands; h++) {
        rank[h] = eval_key_rank7(eval_key_join(w->hand[h], b));
        if (rank[h] > best) {
            best = rank[h];
            nbest = 1;
        } else if (rank[h] == best) {
            nbest++;
        }
    }
    w->boards++;
    for (int h = 0; h < w->nhands; h++) {
        if (rank[h] != best) continue;
        if (nbest == 1)
            w->wins[h]++;
        else
            w->ties[h]++;
        w->shares[h] += (uint64_t)(EQUITY_SHARE_UNITS / nbest);
    }
}

/* Deals `left` more board cards from unseen[from..], in increasing order. */
static void equity_deal(struct equity_walk *w, int left, int from, struct eval_key board)
{
    if (left == 0) {
        equity_score(w, board);
        return;
    }
    if (left == 1 && w->nhands == 2) {
        equity_leaf2(w, from, board);
        return;
    }
    for (int i = from; i <= w->nunseen - left; i++)
        equity_deal(w, left - 1, i + 1, eval_key_add(board, w->unseen[i]));
}

int equity_exact(const card_t hands[][2], int nhands, const card_t *board, int nboard,
                 struct equity_result *out, struct felt_err *err)
{
    uint64_t used = 0;
    char buf[3];

    if (nhands < 2 || nhands > EQUITY_MAX_HANDS)
        return felt_err_set(err, "bad_hand_count", "%d hands: equity needs 2 to %d", nhands,
                            EQUITY_MAX_HANDS);
    if (nboard < 0 || nboard > 5)
        return felt_err_set(err, "bad_board", "%d board cards: at most 5", nboard);
    if (!hands || (nboard > 0 && !board) || !out)
        return felt_err_set(err, "bad_argument", "missing hands, board or result");
    for (int i = 0; i < 2 * nhands + nboard; i++) {
        card_t c = i < 2 * nhands ? hands[i / 2][i % 2] : board[i - 2 * nhands];
        if (!card_valid(c)) return felt_err_set(err, "bad_card", "card value %d is not a card", c);
        if (used >> c & 1)
            return felt_err_set(err, "duplicate_card", "card %s appears twice", card_str(c, buf));
        used |= UINT64_C(1) << c;
    }

    eval_init();
    struct equity_walk w;
    memset(&w, 0, sizeof(w));
    w.nhands = nhands;
    struct eval_key known = eval_key_empty();
    for (int i = 0; i < nboard; i++)
        known = eval_key_add(known, board[i]);
    for (int h = 0; h < nhands; h++)
        w.hand[h] = eval_key_add(eval_key_add(known, hands[h][0]), hands[h][1]);
    for (int c = 0; c < CARD_COUNT; c++)
        if (!(used >> c & 1)) w.unseen[w.nunseen++] = (card_t)c;

    equity_deal(&w, 5 - nboard, 0, eval_key_empty());

    memset(out, 0, sizeof(*out));
    out->nhands = nhands;
    out->boards = w.boards;
    for (int h = 0; h < nhands; h++) {
        out->wins[h] = w.wins[h];
        out->ties[h] = w.ties[h];
        out->equity[h] = (double)w.shares[h] / ((double)w.boards * EQUITY_SHARE_UNITS);
    }
    return 0;
}
