/*
 * pokerstars.h: one complete hand record as PokerStars hand-history text, the form that
 * PokerTracker, Hold'em Manager and open-source parsers import (docs/hand-format.md,
 * "PokerStars export"). Pure: no I/O; the record is walked through the engine (handrec_replay)
 * and showdown hands are described with the evaluator.
 *
 * The text is the play-money cash-game form: amounts are plain chip counts, the header reads
 * `PokerStars Hand #17:  Hold'em No Limit (5/10) - 2026/12/05 05:20:01 UTC` and the table line
 * carries "(Play Money)". No hero: there is no "Dealt to" line; hole cards appear only where the
 * record has them (shown hands), a hand without cards at a showdown "mucks hand". Every line ends
 * with "\n"; a caller writing several hands into one file separates them with two blank lines
 * (two extra "\n"), as PokerStars does and as parsers that split files need.
 */
#ifndef FELT_POKERSTARS_H
#define FELT_POKERSTARS_H

#include "handrec.h"

struct felt_err;

/* The PokerStars text of the hand (malloc'd), or NULL with err set: "not_complete" (a voided
 * hand, or the actions stop before the end), "illegal_action" (the record has one), the replay's
 * "bad_setup", "missing_cards" (a showdown needs cards the record lacks and it has no "results"
 * to say who won), or "bad_results" (the record's "results" disagree with the pots the replay
 * builds, or with their winners when the cards are all known). hand_id, game_id and started_at
 * give the hand number, table name and date; without them "#0", 'felt' and 1970/01/01 00:00:00
 * are written. */
char *pokerstars_format(const struct handrec *h, struct felt_err *err);

#endif
