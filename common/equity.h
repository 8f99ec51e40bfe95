/*
 * equity.h: exact all-in equity by enumerating every remaining board.
 *
 * For 2..6 hands of two known cards and 0..5 known board cards, every completion of the board
 * from the unseen cards is evaluated. Results are exact counts, not samples. equity_exact() does
 * it in one call; equity_start/equity_step/equity_finish do the same walk in bounded steps, for
 * a caller that must not stop for long (feltd computes preflop equity between other work).
 */
#ifndef FELT_EQUITY_H
#define FELT_EQUITY_H

#include <stdbool.h>
#include <stdint.h>

#include "eval.h"

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

/* An enumeration in progress; the fields are equity.c's (a caller only allocates it). */
struct equity_walk {
    int nhands;
    struct eval_key hand[EQUITY_MAX_HANDS]; /* hole cards plus the known board */
    int nunseen;
    card_t unseen[CARD_COUNT];
    int left;   /* board cards to deal */
    int i0, i1; /* the next prefix (the first two cards dealt) of a stepped walk */
    bool done;
    uint64_t boards;
    uint64_t wins[EQUITY_MAX_HANDS];
    uint64_t ties[EQUITY_MAX_HANDS];
    uint64_t shares[EQUITY_MAX_HANDS]; /* sixtieths of a pot won, ties included */
};

/* hands[i][2] for i < nhands; board[nboard]. All cards distinct. Returns 0 or -1 with err. */
int equity_exact(const card_t hands[][2], int nhands, const card_t *board, int nboard,
                 struct equity_result *out, struct felt_err *err);

/* The hand evaluations a whole enumeration takes: C(unseen, 5 - nboard) * nhands, where
 * unseen = 52 - 2 * nhands - nboard. What a caller weighs before deciding to step. */
uint64_t equity_cost(int nhands, int nboard);

/* Checks the input as equity_exact() does (same codes) and prepares w: 0 or -1 with err. */
int equity_start(struct equity_walk *w, const card_t hands[][2], int nhands, const card_t *board,
                 int nboard, struct felt_err *err);
/* Evaluates boards until about `budget` hand evaluations are done (whole prefixes, see
 * equity.c). Returns true when every board has been counted. */
bool equity_step(struct equity_walk *w, uint64_t budget);
/* The result of a walk whose last equity_step returned true. */
void equity_finish(const struct equity_walk *w, struct equity_result *out);

#endif
