/*
 * equity.h: exact all-in equity by enumerating every remaining board.
 *
 * For 2..6 hands of two known cards and 0..5 known board cards, every completion of the board
 * from the unseen cards is evaluated. Results are exact counts, not samples.
 */
#ifndef FELT_EQUITY_H
#define FELT_EQUITY_H

#include <stdint.h>

#include "card.h"

#define EQUITY_MAX_HANDS 6

struct equity_result {
    int nhands;
    uint64_t boards;                   /* boards enumerated */
    uint64_t wins[EQUITY_MAX_HANDS];   /* boards this hand wins outright */
    uint64_t ties[EQUITY_MAX_HANDS];   /* boards this hand shares the best rank */
    double equity[EQUITY_MAX_HANDS];   /* share of the pot won, 0..1 (ties split evenly) */
};

struct felt_err;

/* hands[i][2] for i < nhands; board[nboard]. All cards distinct. Returns 0 or -1 with err. */
int equity_exact(const card_t hands[][2], int nhands, const card_t *board, int nboard,
                 struct equity_result *out, struct felt_err *err);

#endif
