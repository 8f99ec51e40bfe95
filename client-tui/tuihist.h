/*
 * tuihist.h: the table screen's hand history: `h` opens the table's last hands (fetched with
 * hands_fetch on felt's loop) as a list, and Enter on one steps through its replay.
 *
 * The view is a small state machine (loading, error, list, replay) that owns the page of hands
 * it fetched and the replay of the hand being shown; closing the view frees both, so memory is
 * bounded by one page (TUIHIST_LIMIT hands). It draws onto a layout grid (layout_put: every
 * string is sanitized there, whatever the server sent) and takes commands, not keys: tui.c maps
 * keys to commands through its keymap, as for every other input mode. The game keeps running
 * underneath: tui.c keeps applying events and passes a banner ("your turn: Esc to return") that
 * the view shows on its top row; the view never acts.
 *
 * A replay step is the state after the deal (step 0) or after each action of the record (step
 * k: after action k - 1), rebuilt from handrec_replay's log of engine events: the board, the
 * pot, each seat's stack, bet and cards, and what the step did, in the live log's words
 * (handrec_narrate: "ada bets 40", "bo raises to 1,250", "Flop: ...", "bo wins 300 from the pot
 * with pair of Aces").
 */
#ifndef FELT_TUIHIST_H
#define FELT_TUIHIST_H

#include <stdbool.h>

#include "hands.h"
#include "layout.h"

#define TUIHIST_LIMIT 20 /* hands asked for */

struct wsloop;
struct tuihist;

enum tuihist_cmd {
    TUIHIST_UP,    /* list: the previous (newer) hand */
    TUIHIST_DOWN,  /* list: the next (older) hand */
    TUIHIST_ENTER, /* list: replay the selected hand */
    TUIHIST_BACK,  /* replay: to the list; list, loading or error: close the view */
    TUIHIST_NEXT,  /* replay: the next step */
    TUIHIST_PREV,  /* replay: the previous step */
    TUIHIST_FIRST, /* list: the newest hand; replay: the deal */
    TUIHIST_LAST,  /* list: the oldest hand; replay: the end */
    TUIHIST_RELOAD,
};

/* changed runs (on the loop) when a fetch ends: redraw. */
struct tuihist *tuihist_new(struct wsloop *loop, void (*changed)(void *arg), void *arg);
/* Cancels a fetch in flight and frees everything. NULL is allowed. */
void tuihist_free(struct tuihist *h);

/* Opens the view (loading) and fetches the last TUIHIST_LIMIT hands of server + game, with the
 * seat's token when bearer is not NULL (the player's own hole cards). A bad server or game
 * shows as the view's error line. */
void tuihist_open(struct tuihist *h, const char *server, const char *game, const char *bearer);
/* Closes the view: cancels a fetch in flight, frees the page and the replay. */
void tuihist_close(struct tuihist *h);
bool tuihist_is_open(const struct tuihist *h);

/* Applies a command; TUIHIST_BACK on the list (or while loading, or on an error) closes the
 * view. */
void tuihist_command(struct tuihist *h, enum tuihist_cmd c);

/* Draws the view into r of g (cleared first). banner, when not NULL, is drawn prominently on
 * the first row (the table needs the player). ascii as in struct layout_view. */
void tuihist_draw(const struct tuihist *h, struct layout_grid *g, struct layout_rect r,
                  const char *banner, bool ascii);

#endif
