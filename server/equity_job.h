/*
 * equity_job.h: the equity of the hands tabled at a table (docs/protocol.md, "equity"), for
 * render.c, and the short wait of a batch whose equity is too costly to count at once.
 *
 * render.c asks equity_job_result() for the equity of some tabled hands on some board: it is
 * answered from the table's cache, or counted on the spot when that is cheap (a run-out from
 * the flop on: a few thousand hand evaluations), or not at all. The costly case, hands tabled
 * before the flop (up to 3.4 million evaluations heads-up), is counted before the batch is
 * rendered: table.c offers every batch to equity_job_hold(), which, when the batch tables
 * hands preflop, keeps the batch, puts the table's engine back as it was when the last batch was
 * published (so snapshots, to_act and every reader see the table as its subscribers last heard
 * of it), counts the boards in slices on the event loop (timer.c: a few slices per timer run), and
 * then gives the engine and the batch back to table.c's resume callback, which publishes it with
 * the equity now in the cache. While a batch is held the table takes no action
 * (equity_job_held): its clock and bot timers are cancelled, and the hand ends on resume.
 */
#ifndef FELT_EQUITY_JOB_H
#define FELT_EQUITY_JOB_H

#include <stdbool.h>

#include "card.h"
#include "engine.h"
#include "equity.h"

struct table;

/* Publishes a batch that was held (table.c: table_emit, then table_after_change). */
typedef void (*equity_job_resume_fn)(struct table *t, const struct engine_events *evs,
                                     bool from_action);

/* The equity of hands[0..n) (in seat order) on board[0..nboard): true with *out filled from
 * the cache or counted now when cheap; false when it is neither (render.c then omits it). */
bool equity_job_result(const struct table *t, const card_t hands[][2], int n, const card_t *board,
                       int nboard, struct equity_result *out);

/* Called first thing for each batch (evs from one engine call). Returns false to go on at once;
 * true when the batch tables hands whose equity must be counted first: the job then owns a copy
 * of evs, t->eng is set back to the last published state, and resume runs from the loop once
 * the count is done. Batches that deal a hand are never held (their preflop equity is left out:
 * nothing was published since the last hand, so there is no earlier state to show meanwhile). */
bool equity_job_hold(struct table *t, const struct engine_events *evs, bool from_action,
                     equity_job_resume_fn resume);
/* Called last for each batch published: remembers t->eng as the state subscribers know. */
void equity_job_settled(struct table *t);
/* A batch is held: the table must not act, start a clock or end the hand. */
bool equity_job_held(const struct table *t);
/* Drops the job (a held batch is lost: only at table_free). */
void equity_job_free(struct table *t);

/* The slice and the on-the-spot limit, in hand evaluations; a timer run counts slices until
 * EQUITY_JOB_RUN_US have passed or it has done EQUITY_JOB_RUN_SLICES, then the count goes on
 * EQUITY_JOB_PAUSE_MS later (docs/performance.md). */
#define EQUITY_JOB_SLICE_EVALS 50000
#define EQUITY_JOB_INLINE_EVALS 60000
#define EQUITY_JOB_RUN_US 300
#define EQUITY_JOB_RUN_SLICES 8
#define EQUITY_JOB_PAUSE_MS 1

#endif
