/*
 * layout.h: the geometry and drawing of felt's table screen, onto an abstract grid.
 *
 * Nothing here touches ncurses or the network. The TUI (tui.c) fills a struct layout_view from
 * the model (what to show), layout_draw() computes where everything goes for the grid's size and
 * writes text and styles into a struct layout_grid, and tui.c copies the grid to the terminal,
 * mapping each style to colours or plain attributes. Because the grid is ordinary memory, the
 * unit tests draw onto fixed virtual screens (80x24, 120x40, ...) and read the text back.
 *
 * The screen, top to bottom: the table (seats on an oval around the felt, board and pots in the
 * centre, bets in front of the seats), then a strip with the player's own cards drawn large, the
 * log pane and the chat pane, then the action bar, the chat input line and the status line.
 * Below LAYOUT_MIN_COLS x LAYOUT_MIN_ROWS only a "terminal too small" message is drawn.
 */
#ifndef FELT_LAYOUT_H
#define FELT_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "card.h"

#define LAYOUT_MIN_COLS 80
#define LAYOUT_MIN_ROWS 24
#define LAYOUT_MAX_SEATS 10
#define LAYOUT_MAX_POTS 10
#define LAYOUT_MAX_COLS 1000 /* larger terminals are drawn as if this wide/tall */
#define LAYOUT_MAX_ROWS 500

/* What a cell looks like; tui.c maps each to a colour pair or, without colour, to attributes. */
enum layout_style {
    LAYOUT_S_NORMAL,
    LAYOUT_S_DIM,        /* folded seats, empty seats, hints */
    LAYOUT_S_BOLD,       /* names, titles */
    LAYOUT_S_FELT,       /* the table's cloth (background of the oval) */
    LAYOUT_S_FELT_EDGE,  /* the oval's outline */
    LAYOUT_S_FELT_TEXT,  /* pots and bets written on the cloth */
    LAYOUT_S_CARD_BLACK, /* a card face: spades (and clubs in the two-colour deck) */
    LAYOUT_S_CARD_RED,   /* hearts (and diamonds in the two-colour deck) */
    LAYOUT_S_CARD_BLUE,  /* diamonds in the four-colour deck */
    LAYOUT_S_CARD_GREEN, /* clubs in the four-colour deck */
    LAYOUT_S_CARD_BACK,  /* a face-down card */
    LAYOUT_S_TO_ACT,     /* the seat whose turn it is */
    LAYOUT_S_ME,         /* the player's own seat */
    LAYOUT_S_FLASH,      /* a short animation highlight (deal, chips) */
    LAYOUT_S_WIN,        /* winners, win percentages */
    LAYOUT_S_KEY,        /* a key in the action bar ("f") */
    LAYOUT_S_BAR,        /* the action bar when it is the player's turn */
    LAYOUT_S_ERROR,      /* refusals, "your seat is gone" */
    LAYOUT_S_STATUS,     /* the status line */
    LAYOUT_S_STATUS_OK,  /* "connected" */
    LAYOUT_S_STATUS_BAD, /* "reconnecting", "offline" */
    LAYOUT_S_CHAT_NAME,  /* the speaker's name in the chat pane */
    LAYOUT_S_COUNT
};

/* One cell: the UTF-8 text of one character (plus any combining marks), its style, and its
 * width. A double-width character occupies its cell (width 2) and the next one (width 0, text
 * ""); tui.c draws only cells with width > 0. */
#define LAYOUT_CELL_BYTES 16
struct layout_cell {
    char text[LAYOUT_CELL_BYTES];
    uint8_t style; /* enum layout_style */
    uint8_t width; /* 1 or 2; 0 for the right half of a wide character */
};

struct layout_grid {
    int cols, rows;
    bool utf8; /* the terminal takes UTF-8; when false every non-ASCII character becomes '?' */
    struct layout_cell *cells; /* rows * cols, row-major */
};

struct layout_rect {
    int x, y, w, h;
};

/* ---- the view: what to show --------------------------------------------------------------- */

enum layout_seat_status {
    LAYOUT_SEAT_EMPTY,
    LAYOUT_SEAT_WAITING, /* seated, not in the current hand */
    LAYOUT_SEAT_ACTIVE,  /* in the hand */
    LAYOUT_SEAT_FOLDED,
    LAYOUT_SEAT_ALL_IN,
    LAYOUT_SEAT_SITTING_OUT,
};

struct layout_seat {
    enum layout_seat_status status;
    const char *name; /* sanitized by the model; drawn defensively anyway; NULL when empty */
    int64_t stack, bet;
    bool disconnected, dealer, me, bot;
    bool to_act;
    int clock_s; /* seconds left on the clock of the player to act; < 0 unknown */
    int ncards;  /* 0, or 2: cards[] holds the faces or CARD_NONE for face down */
    card_t cards[2];
    const char *hand_name; /* a shown hand's category ("Two Pair"), or NULL */
    int win_pct;           /* 0..100 when all-in equity is known, else -1 */
    bool flash;            /* an animation is highlighting this seat */
    int64_t won;           /* chips won at the end of the last hand, 0 if none */
};

/* What the bottom bar is doing. */
enum layout_mode {
    LAYOUT_MODE_IDLE,         /* nothing asked of the player: hints or whose turn it is */
    LAYOUT_MODE_TURN,         /* our turn: the legal actions */
    LAYOUT_MODE_RAISE,        /* typing a raise amount */
    LAYOUT_MODE_CONFIRM_QUIT, /* "leave in the middle of a hand?" */
    LAYOUT_MODE_SEAT_GONE,    /* the server no longer knows our token */
    LAYOUT_MODE_ASK,          /* a question before an action easy to regret (ask, ask_keys) */
};

/* A key and what it does: the keys of a question on the bar, the rows of the help overlay. */
struct layout_keyhint {
    const char *key; /* NULL: what is a heading (help) */
    const char *what;
};

/* Pre-actions: chosen before the player's turn, sent when it comes (tui.c decides). */
enum layout_pre {
    LAYOUT_PRE_NONE,
    LAYOUT_PRE_CHECK_FOLD,
    LAYOUT_PRE_CHECK,
    LAYOUT_PRE_CALL_ANY,
};

struct layout_turn {
    int64_t call; /* chips to call (0: nothing to call) */
    bool can_check;
    bool can_raise;
    int64_t min_raise_to, max_raise_to;
    int64_t stack; /* ours, for "all-in N" */
    int clock_s;   /* < 0 unknown */
};

enum layout_conn {
    LAYOUT_CONN_CONNECTING,
    LAYOUT_CONN_CONNECTED,
    LAYOUT_CONN_RECONNECTING,
    LAYOUT_CONN_OFFLINE,
};

struct layout_status {
    enum layout_conn conn;
    bool polling;  /* the HTTP fallback is in use */
    int attempt;   /* reconnect attempt number */
    int next_in_s; /* seconds to the next attempt */
    int rtt_ms;    /* < 0 unknown */
    int queued;    /* outgoing messages waiting */
    int spectators;
    bool spectating; /* we are a spectator */
    const char *server; /* HOST:PORT in use, shown when felt was given several; NULL: not shown */
};

/* A line of the log or chat pane. who (optional) is drawn in LAYOUT_S_CHAT_NAME before text. */
struct layout_line {
    const char *who;
    const char *text;
    enum layout_style style;
};

struct layout_view {
    bool ascii;      /* letters for suits ("Ah") and ASCII line drawing */
    bool four_color; /* diamonds blue, clubs green */

    const char *table_name;
    int64_t small_blind, big_blind;
    int64_t hand_id; /* 0 before the first hand */
    bool hand_running;

    int nseats; /* the table's seats, 2..LAYOUT_MAX_SEATS (0: not known yet) */
    struct layout_seat seat[LAYOUT_MAX_SEATS];
    int my_seat; /* drawn at the bottom centre; -1 when spectating */

    int nboard;
    card_t board[5];
    int npots;
    int64_t pots[LAYOUT_MAX_POTS]; /* main pot first */
    const char *banner;            /* a short notice in the centre ("ada wins 300"), or NULL */

    enum layout_mode mode;
    struct layout_turn turn; /* valid in TURN and RAISE */
    const char *raise_input; /* RAISE: the digits typed so far */
    const char *bar_message; /* a refusal or error shown on the bar, or NULL */
    const char *bar_notice;  /* IDLE: neutral news ("sent: call"), or NULL */
    const char *waiting_for; /* IDLE: the name of the player to act, or NULL */
    int waiting_clock_s;     /* their clock, < 0 unknown */

    bool chatting;     /* the chat input line belongs to chat.c */
    bool chat_allowed; /* false for spectators at tables without spectator chat */
    int sit_key;       /* the hint for s: 0 none (spectators), 1 "sit out", 2 "sit in" */

    const char *ask;                       /* ASK: the question ("Fold when you can check?") */
    const struct layout_keyhint *ask_keys; /* ASK: the answers, drawn after it */
    int nask_keys;
    bool pre_offer;            /* IDLE: in the hand before our turn: the pre-action keys show */
    enum layout_pre pre_armed; /* the pre-action chosen (drawn checked), or NONE */

    const struct layout_line *log; /* oldest first: the whole scrollback */
    int nlog;
    int log_scroll; /* lines between the newest and the bottom line shown; 0 follows the newest
                     * (clamped by the layout: layout_geometry.log_scroll.offset) */
    const struct layout_line *chat; /* oldest first */
    int nchat;

    struct layout_status status;
};

/* Which lines of a pane show for a scroll offset: the pure arithmetic of the log's scrollback
 * (layout_scroll_compute). Lines wrap, so each takes one or more rows. */
struct layout_scroll {
    int offset;  /* the offset used: the one asked for, clamped to 0..the oldest page */
    int first;   /* the first line drawn (-1: none) */
    int last;    /* the last line drawn (-1: none); below = n - 1 - last lines are newer */
    int y0;      /* the row of the pane where line `first` starts: < 0 when its top rows are cut
                  * off, > 0 when the lines do not fill the pane (blank rows above) */
    int rows;    /* rows the lines may use: the pane's height, less the marker's row */
    int page;    /* lines drawn whole (at least 1): what PgUp/PgDn move by */
    int below;   /* lines newer than `last` (== offset) */
    bool marker; /* scrolled back: the pane's last row says how many lines are below */
};

/* Where layout_draw put things, for tui.c (the chat line) and the tests. */
struct layout_geometry {
    bool too_small;
    struct layout_rect table; /* the table region (seats, felt) */
    /* The rail's outline: the largest stadium no seat box touches (w == 0: the seats leave no
     * room for one, and none is drawn). */
    struct layout_rect felt;
    struct layout_rect seat[LAYOUT_MAX_SEATS]; /* by seat number; w == 0 if not drawn */
    /* A seat's bet chip on the cloth, next to the seat; w == 0: no bet, or in the seat box. */
    struct layout_rect bet[LAYOUT_MAX_SEATS];
    struct layout_rect board;        /* the board cards */
    struct layout_rect hand;         /* the own-cards panel */
    struct layout_rect log, chat;    /* the panes' text areas (without titles) */
    struct layout_rect bar;          /* the action bar row */
    struct layout_rect input;        /* the chat input row */
    struct layout_rect status;       /* the status line row */
    struct layout_scroll log_scroll; /* what the log pane shows (tui.c keeps offset) */
};

/* ---- the grid ----------------------------------------------------------------------------- */

/* Resizes (and clears) the grid to cols x rows, clamped to 1..LAYOUT_MAX_*. */
void layout_grid_resize(struct layout_grid *g, int cols, int rows);
void layout_grid_free(struct layout_grid *g);
/* Fills every cell with a space in style. */
void layout_grid_clear(struct layout_grid *g, enum layout_style style);
/* Writes UTF-8 text at (x, y), never past column x + maxw (nor the grid's edge): returns the
 * columns used. Control characters, escape sequences and invalid UTF-8 are never copied to a
 * cell: controls are dropped, invalid bytes become '?'. A wide character that does not fit
 * ends the text. Combining marks join the previous cell when there is room in it. */
int layout_put(struct layout_grid *g, int x, int y, int maxw, enum layout_style style,
               const char *text);
/* The text of row y from column x, w columns (wide characters counted once), into buf, cut at
 * a cell boundary when buf is too small: what the tests read back. Returns buf. */
char *layout_row_text(const struct layout_grid *g, int x, int y, int w, char *buf, size_t bufsz);
const struct layout_cell *layout_cell_at(const struct layout_grid *g, int x, int y);

/* ---- drawing ------------------------------------------------------------------------------ */

/* Lays out and draws v onto g (cleared first), filling geo. */
void layout_draw(struct layout_grid *g, const struct layout_view *v, struct layout_geometry *geo);

/* The input mode's tag at the left of row r, " TABLE " (keys act) or " CHAT " (keys type),
 * and in chat mode how to get back at the right. Returns what is left of r for the rest of the
 * row (the hints, or the chat line that chat.c draws). */
struct layout_rect layout_draw_input_mode(struct layout_grid *g, struct layout_rect r,
                                          bool chatting);
/* A framed box centred in area, over whatever is drawn there: the title in its top edge, one
 * row per key (a NULL key makes what a heading), and "any key closes" at the bottom. Rows that
 * do not fit are left out, the last one shown saying so. */
void layout_draw_help(struct layout_grid *g, struct layout_rect area, const char *title,
                      const struct layout_keyhint *rows, int n, bool ascii);

/* The rows line i of a pane takes (>= 1), measured for layout_scroll_compute. */
typedef int (*layout_rows_fn)(void *ctx, int i);

/* Which of n lines show in a pane of height rows for offset (lines between the newest and the
 * bottom line shown). Offset 0: the newest line at the bottom, older ones above as far as they
 * fit (the top one possibly cut). Offset > 0 (scrolled back): the last row is kept for a marker
 * and line n - 1 - offset is at the bottom of the rest; an offset past the oldest page is
 * clamped to it, which shows line 0 at the top (the bottom one possibly cut). When all lines
 * fit in the pane, the offset is 0. Measures only the lines it needs (about height of them). */
void layout_scroll_compute(int n, int height, int offset, layout_rows_fn rows, void *ctx,
                           struct layout_scroll *out);

/* The compact text of a card: "A♥" (or "Ah" in ASCII), "▒▒" ("##") when face down. Returns the
 * style it is drawn in. buf holds at least 8 bytes. */
enum layout_style layout_card_text(card_t c, bool ascii, bool four_color, char *buf, size_t bufsz);
/* Chips with thousands separators ("12,500"). buf holds at least 32 bytes. */
const char *layout_chips(int64_t n, char *buf, size_t bufsz);

/* text cut to at most maxw columns (as layout_put counts them on a grid with this utf8) with an
 * ellipsis at the end when it had to be cut: "\u2026", or "..." when ascii (or !utf8), or no
 * ellipsis when maxw is too small for one and a character. Never splits a character; a wide
 * one that does not fit goes whole. Writes a NUL-terminated string into out (cut at a character
 * if outsz is too small); returns its columns. */
int layout_fit(const char *text, int maxw, bool utf8, bool ascii, char *out, size_t outsz);

/* Display columns of UTF-8 text as layout_put would draw it (controls 0, invalid bytes 1). */
int layout_text_cols(const char *text);
/* Steps over one character of NUL-terminated s: returns its length in bytes (0 at the end, 1
 * for an ill-formed byte) and its columns in *cols as layout_put counts them: -1 for a control
 * character (never drawn), 0 for a combining mark, 1 or 2 (1 for an ill-formed byte, drawn
 * '?'). utf8 as in struct layout_grid. */
int layout_next_char(const char *s, bool utf8, int *cols);

#endif
