/*
 * chat.h: the chat line editor, GNU readline run through its callback interface inside the
 * ncurses table.
 *
 * readline never touches the terminal here: it gets no signals, no terminal preparation, no
 * environment changes, and no bytes of its own. The TUI reads every key with ncurses and, while
 * a chat line is open, hands it to chat_key(); readline edits the line (emacs keys, history with
 * the arrow keys) and asks for a redisplay, which the TUI performs by redrawing the screen with
 * chat_render() on the input row. So the editor is testable without a terminal: feed keys, read
 * the rendered row.
 *
 * readline's state is global, so there is one chat editor per process.
 */
#ifndef FELT_CHAT_H
#define FELT_CHAT_H

#include <stdbool.h>

#include "layout.h"

#define CHAT_HISTORY_MAX 100 /* lines kept for the up/down arrows */

struct chat_callbacks {
    void *arg;
    /* A line was entered (non-empty after trimming; NUL-terminated, as typed). The editor is
     * closed before this runs, so the callback may open it again. */
    void (*on_line)(void *arg, const char *line);
    /* The line changed: redraw (chat_render) soon. */
    void (*on_redisplay)(void *arg);
};

/* Sets readline up for use inside ncurses (once; later calls only replace the callbacks). */
void chat_init(const struct chat_callbacks *cb);
/* Releases readline's state (the editor is closed first if open). */
void chat_shutdown(void);

/* Opens an empty line with the prompt (copied). Does nothing if one is open. */
void chat_open(const char *prompt);
/* Closes the line being edited without sending it (Esc). */
void chat_close(void);
bool chat_is_open(void);

/* Feeds one key as ncurses' wgetch() returned it (a byte, or a KEY_* code: the arrows, Home,
 * End, Delete and Backspace are translated to what readline expects; other KEY_* codes are
 * ignored). Esc is the caller's business (it closes the line). Enter submits: on_line runs for
 * a non-empty line, an empty one just closes. Ctrl-D on an empty line closes. */
void chat_key(int key);

/* Draws the prompt and the line (scrolled sideways so that the cursor stays visible) on row r
 * of g. Returns the cursor's column. */
int chat_render(struct layout_grid *g, struct layout_rect r);

#endif
