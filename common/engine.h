/*
 * engine.h: the No-Limit Texas Hold'em rules engine, one hand at a time.
 *
 * Pure: no I/O, no globals (beyond eval's read-only tables), no allocation. Deterministic given
 * the cards in struct engine_setup: whoever shuffles (the server's CSPRNG deck, or a hand record
 * being replayed) decides the cards, the engine only applies the rules. Rules follow PokerKit's
 * semantics (see docs/engine.md and shared rules notes): short blinds and antes count as posted,
 * minimum raise is the last full raise (>= big blind), incomplete all-in raises do not reopen
 * betting (but several that add up to a full raise do), uncalled bets return, side pots with
 * identical eligible sets merge, odd chips go to the first winner left of the button.
 *
 * Seats are numbered 0..nseats-1 (nseats <= ENGINE_MAX_SEATS); a seat with stack 0 in the setup
 * is not dealt in. Every call that changes state appends what happened to a caller-provided
 * struct engine_events, so the caller can broadcast deltas without diffing.
 */
#ifndef FELT_ENGINE_H
#define FELT_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "card.h"

#define ENGINE_MAX_SEATS 10
#define ENGINE_MAX_POTS ENGINE_MAX_SEATS
#define ENGINE_MAX_EVENTS 96
/* One engine_start/engine_act call appends at most this many events. A call made with fewer free
 * slots in its struct engine_events is a caller bug and is fatal: reset n to 0 before each call
 * (or accumulate engine_start plus one engine_act at most). */
#define ENGINE_EVENTS_PER_CALL 48
/* No stack, blind or ante may exceed this (the protocol's PROTO_AMOUNT_MAX), so sums of ten
 * stacks never overflow int64_t. */
#define ENGINE_CHIPS_MAX 1000000000000LL

enum engine_street { ENGINE_PREFLOP, ENGINE_FLOP, ENGINE_TURN, ENGINE_RIVER, ENGINE_SHOWDOWN };

enum engine_action { ENGINE_FOLD, ENGINE_CHECK, ENGINE_CALL, ENGINE_RAISE, ENGINE_ALL_IN };

/* Why an action was refused. Codes (engine_status_code) are part of the protocol. */
enum engine_status {
    ENGINE_OK = 0,
    ENGINE_E_NOT_YOUR_TURN,   /* "not_your_turn" */
    ENGINE_E_RAISE_TOO_SMALL, /* "raise_too_small" */
    ENGINE_E_ABOVE_STACK,     /* "amount_above_stack" */
    ENGINE_E_CANNOT_CHECK,    /* "cannot_check" */
    ENGINE_E_UNKNOWN_ACTION,  /* "unknown_action" */
    ENGINE_E_HAND_OVER,       /* "hand_over" */
    ENGINE_E_CANNOT_RAISE,    /* "cannot_raise": covered, nobody could call, or not reopened */
    ENGINE_E_BAD_AMOUNT,      /* "bad_amount": missing/negative amount for a raise */
};

struct engine_setup {
    int64_t small_blind, big_blind, ante; /* ante may be 0; big_blind >= 1 */
    int nseats;                           /* 2..ENGINE_MAX_SEATS */
    int button;                           /* seat index 0..nseats-1 (may be an empty seat) */
    int64_t stack[ENGINE_MAX_SEATS];      /* chips before the hand; 0 = not dealt in */
    card_t hole[ENGINE_MAX_SEATS][2];     /* CARD_NONE where unknown (replays) */
    card_t board[5];                      /* CARD_NONE where unknown; revealed street by street */
};

struct engine_player {
    int64_t stack;     /* chips behind */
    int64_t bet;       /* chips put in during the current betting round */
    int64_t committed; /* chips put in during the whole hand (antes and blinds included) */
    bool dealt;        /* took part in this hand */
    bool folded;
    bool all_in;
    bool acted; /* has acted since betting was last (re)opened to them */
    card_t hole[2];
};

struct engine_pot {
    int64_t amount;
    uint16_t eligible;               /* bitmask of seats that can win it */
    uint16_t winners;                /* filled at the end of the hand */
    int64_t share[ENGINE_MAX_SEATS]; /* what each winner got from this pot */
};

enum engine_event_kind {
    ENGINE_EV_ANTE,      /* seat, amount */
    ENGINE_EV_BLIND,     /* seat, amount; big = (blind_big) */
    ENGINE_EV_DEAL_HOLE, /* seat, cards[0..1] (private to that seat) */
    ENGINE_EV_ACTION,    /* seat, action, amount (chips moved now), to (the seat's round bet);
                          * action is what the move amounted to: FOLD, CHECK, CALL (also an
                          * all-in call for less) or RAISE (also a first bet, and an all-in
                          * raise, complete or not); never ALL_IN: all_in says the seat is
                          * all-in after it */
    ENGINE_EV_STREET,    /* street, cards[0..ncards-1] newly dealt board cards */
    ENGINE_EV_UNCALLED,  /* seat, amount returned */
    ENGINE_EV_SHOW,      /* seat, cards[0..1], rank (hand shown at showdown or all-in run-out);
                          * rank uses only the board dealt so far (0 before the flop) */
    ENGINE_EV_MUCK,      /* seat (cards never leave the engine's caller) */
    ENGINE_EV_POT,       /* pot index, amount, winners mask, share[] */
    ENGINE_EV_HAND_END,
};
/* Event order: engine_start: ANTE..., BLIND (small, big), DEAL_HOLE per seat; then, as for
 * engine_act when the betting closes: UNCALLED, and either STREET (next round) or the end of
 * the hand: [SHOW... STREET... for an all-in run-out] [SHOW/MUCK... at a river showdown]
 * POT... HAND_END. */

struct engine_event {
    enum engine_event_kind kind;
    int seat;
    enum engine_action action;
    bool blind_big;
    bool all_in; /* for ACTION/BLIND/ANTE: the seat is now all-in */
    enum engine_street street;
    int64_t amount;
    int64_t to;
    card_t cards[5];
    int ncards;
    uint16_t rank; /* eval rank for SHOW, 0 when cards unknown */
    int pot;
    uint16_t winners;
    int64_t share[ENGINE_MAX_SEATS];
};

struct engine_events {
    int n;
    struct engine_event ev[ENGINE_MAX_EVENTS];
};

/* Legal options of the player to act. seat is -1 when nobody is to act. */
struct engine_options {
    int seat;
    int64_t call; /* chips calling would put in now, capped at the stack; 0 = check */
    bool can_check;
    bool can_raise;       /* false: min_raise_to/max_raise_to are meaningless (null) */
    int64_t min_raise_to; /* smallest legal raise-to; the all-in total when short of a full raise */
    int64_t max_raise_to; /* the all-in total */
};

struct engine {
    int nseats, button, sb_seat, bb_seat;
    int64_t small_blind, big_blind, ante;
    struct engine_player p[ENGINE_MAX_SEATS];
    card_t board[5]; /* all five as set up; only board_dealt are public */
    int board_dealt;
    enum engine_street street;
    int to_act;             /* seat, or -1 */
    int64_t bet_to;         /* largest bet of the round */
    int64_t last_raise;     /* size of the last full bet/raise this round (>= big blind) */
    int64_t reopen_pending; /* sum of incomplete all-in raises since the last full raise */
    int last_aggressor;     /* seat, or -1 */
    bool over;
    struct engine_pot pots[ENGINE_MAX_POTS];
    int npots; /* set when the hand is over */
    /* Added by the engine implementation (append-only): */
    uint16_t shown;        /* seats whose hole cards were shown (SHOW events) */
    bool showdown_unknown; /* a showdown needed a CARD_NONE card: those hands ranked 0, so the
                            * awards are meaningless (replays report "missing_cards") */
};

/* Every function below requires eval_init() to have run (engine_start calls it; it is
 * idempotent). `out` may be NULL to discard the events; otherwise events are appended to it (see
 * ENGINE_EVENTS_PER_CALL). `last_aggressor` is the last bettor/raiser of the current round.
 * `committed` keeps what each seat put in after the hand is over, and stacks then include the
 * winnings, so during a hand sum(stack + committed) is constant and after it sum(stack) is. */

/* Starts a hand: validates the setup, posts antes and blinds, deals hole cards (events), and
 * leaves the first player to act (or runs the hand out if nobody can act). Returns 0, or -1 with
 * err ("bad_setup") for an invalid setup (fewer than two players dealt in, bad blinds, duplicate
 * cards...). */
struct felt_err;
int engine_start(struct engine *e, const struct engine_setup *s, struct engine_events *out,
                 struct felt_err *err);

/* Applies one action of `seat`. amount is "raise to" for ENGINE_RAISE (ignored otherwise).
 * On refusal nothing changes and the status says why. On success events describe what happened,
 * including any streets dealt, the showdown and pot awards when the hand ends. */
enum engine_status engine_act(struct engine *e, int seat, enum engine_action a, int64_t amount,
                              struct engine_events *out);

void engine_options(const struct engine *e, struct engine_options *o);

/* Pots as they stand now, built from the players' committed chips (live during the hand,
 * final with winners after it). Returns the number of pots written (<= ENGINE_MAX_POTS). */
int engine_pots(const struct engine *e, struct engine_pot out[ENGINE_MAX_POTS]);
int64_t engine_pot_total(const struct engine *e);

static inline bool engine_over(const struct engine *e)
{
    return e->over;
}

const char *engine_status_code(enum engine_status s);
const char *engine_status_message(enum engine_status s);
const char *engine_action_name(enum engine_action a); /* "fold" "check" "call" "raise" "all_in" */
/* Parses an action name; returns -1 for an unknown one. */
int engine_action_parse(const char *s, enum engine_action *out);
const char *engine_street_name(enum engine_street s); /* "preflop" "flop" "turn" "river" ... */

/* Where the button goes for the next hand: the first seat after `button` with a positive stack
 * in stack[0..nseats-1] (a simple moving button), or -1 if no seat has chips. */
int engine_next_button(int nseats, int button, const int64_t stack[]);

#endif
