/*
 * equity.c: exact all-in equity, by evaluating every completion of the board.
 *
 * The unseen cards are dealt to the board in every combination by nested loops that keep one
 * evaluator key per level (eval_key_*), so the innermost loop adds one card to the board and
 * joins it to each hand's key: one lookup per hand per board. Heads-up, the common case, has
 * its own innermost loop that counts with comparisons instead of branches. Pot shares of split
 * boards are counted exactly in sixtieths (60 is divisible by every tie size from 2 to 6), so
 * the equities are exact ratios of integers until the final division.
 *
 * The same walk runs in steps (equity_start/equity_step/equity_finish) for a caller that must
 * not stop for the whole enumeration (feltd's event loop): with three or more board cards to
 * deal, the work is cut by the first two of them, a "prefix" (i0 < i1 among the unseen cards),
 * and each step finishes whole prefixes while the next one still fits in its budget of hand
 * evaluations (and always at least one). One prefix is at most C(46,3) = 15,180 boards, so a
 * step does at most the larger of its budget and one prefix's boards times the hands. The order of
 * the boards does not change the counts, so a stepped run gives exactly equity_exact()'s result.
 */
#include "equity.h"

#include <string.h>

#include "eval.h"
#include "util.h"

/* Every tie of 2..6 hands splits the pot into a whole number of sixtieths. */
#define EQUITY_SHARE_UNITS 60

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

/* C(n, k); 0 when k > n or k < 0. */
static uint64_t equity_binom(int n, int k)
{
    uint64_t c = 1;
    if (k < 0 || k > n) return 0;
    for (int i = 1; i <= k; i++)
        c = c * (uint64_t)(n - k + i) / (uint64_t)i;
    return c;
}

/* Boards still to deal times hands: C(unseen, left) * nhands (0 when left > unseen). */
uint64_t equity_cost(int nhands, int nboard)
{
    if (nhands < 1 || nboard < 0 || nboard > 5) return 0;
    return equity_binom(CARD_COUNT - 2 * nhands - nboard, 5 - nboard) * (uint64_t)nhands;
}

int equity_start(struct equity_walk *w, const card_t hands[][2], int nhands, const card_t *board,
                 int nboard, struct felt_err *err)
{
    uint64_t used = 0;
    char buf[3];

    memset(w, 0, sizeof(*w));
    if (nhands < 2 || nhands > EQUITY_MAX_HANDS)
        return felt_err_set(err, "bad_hand_count", "%d hands: equity needs 2 to %d", nhands,
                            EQUITY_MAX_HANDS);
    if (nboard < 0 || nboard > 5)
        return felt_err_set(err, "bad_board", "%d board cards: at most 5", nboard);
    if (!hands || (nboard > 0 && !board))
        return felt_err_set(err, "bad_argument", "missing hands or board");
    for (int i = 0; i < 2 * nhands + nboard; i++) {
        card_t c = i < 2 * nhands ? hands[i / 2][i % 2] : board[i - 2 * nhands];
        if (!card_valid(c)) return felt_err_set(err, "bad_card", "card value %d is not a card", c);
        if (used >> c & 1)
            return felt_err_set(err, "duplicate_card", "card %s appears twice", card_str(c, buf));
        used |= UINT64_C(1) << c;
    }

    eval_init();
    w->nhands = nhands;
    w->left = 5 - nboard;
    struct eval_key known = eval_key_empty();
    for (int i = 0; i < nboard; i++)
        known = eval_key_add(known, board[i]);
    for (int h = 0; h < nhands; h++)
        w->hand[h] = eval_key_add(eval_key_add(known, hands[h][0]), hands[h][1]);
    for (int c = 0; c < CARD_COUNT; c++)
        if (!(used >> c & 1)) w->unseen[w->nunseen++] = (card_t)c;
    w->i0 = 0;
    w->i1 = 1;
    return 0;
}

bool equity_step(struct equity_walk *w, uint64_t budget)
{
    if (w->done) return true;
    if (w->left < 3) {
        equity_deal(w, w->left, 0, eval_key_empty());
        w->done = true;
        return true;
    }
    uint64_t start = w->boards;
    while (w->i0 <= w->nunseen - w->left) {
        /* The prefix's boards: the left-2 cards still to deal, from those after i1. */
        uint64_t next = equity_binom(w->nunseen - w->i1 - 1, w->left - 2) * (uint64_t)w->nhands;
        if (w->boards > start && (w->boards - start) * (uint64_t)w->nhands + next > budget)
            return false; /* at least one prefix per step, so a step always progresses */
        struct eval_key b =
            eval_key_add(eval_key_add(eval_key_empty(), w->unseen[w->i0]), w->unseen[w->i1]);
        equity_deal(w, w->left - 2, w->i1 + 1, b);
        /* The next prefix: i1 moves on while left-2 cards still fit after it. */
        if (++w->i1 > w->nunseen - (w->left - 1)) {
            w->i0++;
            w->i1 = w->i0 + 1;
        }
    }
    w->done = true;
    return true;
}

void equity_finish(const struct equity_walk *w, struct equity_result *out)
{
    memset(out, 0, sizeof(*out));
    out->nhands = w->nhands;
    out->boards = w->boards;
    for (int h = 0; h < w->nhands; h++) {
        out->wins[h] = w->wins[h];
        out->ties[h] = w->ties[h];
        out->equity[h] =
            w->boards ? (double)w->shares[h] / ((double)w->boards * EQUITY_SHARE_UNITS) : 0;
    }
}

int equity_exact(const card_t hands[][2], int nhands, const card_t *board, int nboard,
                 struct equity_result *out, struct felt_err *err)
{
    struct equity_walk w;
    if (!out) return felt_err_set(err, "bad_argument", "missing result");
    if (equity_start(&w, hands, nhands, board, nboard, err) != 0) return -1;
    equity_step(&w, UINT64_MAX);
    equity_finish(&w, out);
    return 0;
}
