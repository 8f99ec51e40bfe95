/*
 * outbox.h: a table's writes that move chips (a join's buy-in, a leave's cash-out, a re-buy, a
 * hand's commit), kept in order until the store says each is stored.
 *
 * The game never waits for the disk: a table changes its seats and stacks at once and hands the
 * write here. Each gets the next number of the table's sequence (store.h, struct store_order) and
 * goes to the store at once. When one fails (the disk is full, PostgreSQL is down or went away
 * during its COMMIT), it and everything after it are sent again, in order, after a pause
 * (OUTBOX_RETRY_MS), as often as it takes: the sequence makes the store apply each exactly once
 * and never one before its predecessor, so a re-buy that failed cannot be overtaken by the next
 * hand's stacks, and one whose answer was lost is not counted twice. The table deals no hand
 * while a hand's commit is here (outbox_hand_pending): a crash loses at most the hand in play.
 *
 * A seat's sitting-out flag moves no chip but comes here too, so that it is stored after the
 * seat's join.
 *
 * A write the store refuses for good (STORE_REFUSED: a constraint it breaks, a seat that is not
 * there: a bug, never an outage) would hold every later one back forever, and the table with
 * them; it is dropped instead, said loudly (LOG_ERROR: the table's books no longer match), and its
 * number skipped (store_order_skip) so that the writes after it go on. A table whose skip is
 * refused too (a newer owner's fence, or no row for the table) keeps nothing from then on, said
 * loudly once.
 *
 * Memory: a hand's commit waits for the one before it (no hand is dealt meanwhile), so what waits
 * here grows only with joins and leaves, which the table refuses once OUTBOX_MAX writes wait
 * (outbox_full), and sit-out changes, which past that go to the store directly. Loop thread
 * only. Calls run outbox.c -> store.h, and log and timer (server.h).
 */
#ifndef FELT_OUTBOX_H
#define FELT_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define OUTBOX_RETRY_MS 5000
#define OUTBOX_MAX 256 /* writes waiting, past which outbox_full refuses new joins */

struct outbox;

/* What the outbox tells its table, on the loop thread. */
struct outbox_ops {
    /* A hand's commit is settled (stored, or dropped as above): the next hand may be dealt. */
    void (*hand_settled)(void *arg, int64_t hand_id);
};

/* An outbox for table_id's writes to s, whose sequence stands at last_seq (the table's
 * store_table.write_seq; 0 for a new table). */
struct outbox *outbox_new(struct store *s, const char *table_id, int64_t last_seq,
                          const struct outbox_ops *ops, void *arg);
/* Drops whatever is still waiting (feltd is stopping: the store has written what it was sent). */
void outbox_free(struct outbox *o);
/* The table is no longer this node's to write (its lease was lost, several nodes): what waits
 * is dropped unsent (the new owner starts from what the store holds), no retry follows and no
 * hand_settled is called; the writes already with the store are answered into the void, and
 * the last answer frees the outbox (at once when none is due). o must not be used after. */
void outbox_abandon(struct outbox *o);
/* Frees the abandoned outboxes still waiting for answers: call after store_close, which drops
 * the answers not yet dispatched. */
void outbox_free_orphans(void);
/* The sequence moves on from last_seq (a table loaded after outbox_new). */
void outbox_set_seq(struct outbox *o, int64_t last_seq);
/* feltd is stopping: what waits for a retry is sent once more now (store_close writes it, in
 * order, if the store can), and no retry follows. */
void outbox_shutdown(struct outbox *o);

/* The writes, as store.h's of the same name; each is copied. */
void outbox_join(struct outbox *o, const struct store_seat *seat, int64_t buy_in);
void outbox_leave(struct outbox *o, const char *player_id, int64_t cash_out);
void outbox_rebuy(struct outbox *o, const char *player_id, int64_t amount);
void outbox_hand(struct outbox *o, const struct store_hand *h);
/* A seat's sitting-out flag (no chips, but after the seat's join): false when the outbox is full
 * (the caller sends it unordered instead). A change behind a failed write replaces the same
 * player's change just before it, so a player toggling while the store is down adds nothing. */
bool outbox_sit(struct outbox *o, const char *player_id, bool sitting_out);

/* A hand's commit is waiting to be stored. */
bool outbox_hand_pending(const struct outbox *o);
/* Writes waiting (sent or not), and whether that is OUTBOX_MAX or more. */
size_t outbox_len(const struct outbox *o);
bool outbox_full(const struct outbox *o);

#endif
