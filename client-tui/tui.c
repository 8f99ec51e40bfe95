/*
 * tui.c: felt's table in the terminal: ncurses set-up and teardown, the glue between the
 * session's event loop and the screen, and the keyboard.
 *
 * Everything happens on the one wsloop: stdin is adopted into it (keys are read with ncurses
 * only when poll() says there are some), and so is the read end of a self-pipe that the signal
 * handlers write to (SIGWINCH: re-lay out; SIGINT/SIGTERM/SIGHUP: leave and quit). Timers
 * (wstimer) drive the clock countdown (one tick a second, only while someone is to act or a
 * reconnect is pending), the short highlights of animations and the expiry of bar messages, so
 * an idle table sleeps in poll(). Nothing here blocks or waits: animations are drawn as state
 * (a highlighted seat for a moment) and never delay input.
 *
 * Each redraw rebuilds a struct layout_view from the model (tui_view), lays it out on a grid
 * (layout.c), lets chat.c draw the line being edited, and copies the grid to the screen with
 * the attributes for colour or monochrome; ncurses sends only what changed.
 *
 * Keys go through const tables keyed by key, one per input mode (table, raise prompt, quit
 * confirmation, the other questions, seat gone, chat line, help), after a small table of keys
 * every mode shares.
 *
 * Never a mis-click: the input row always says which mode the keys are in (TABLE: they act;
 * CHAT: they type), and the chat line stays open after a message is sent, until Esc or an
 * empty Enter, so the words typed after one message never become actions. Folding when a check
 * is free and going all-in ask for the same key again (any other key answers no); leaving in
 * the middle of a hand asks for y, never the q that asked. A raise amount put in by a key (the
 * minimum, half pot, the arrows) is selected: typing digits replaces it. The raise prompt and
 * those questions belong to the decision they were opened for: when the table moves on (the
 * clock acted, and the turn came back with the next street) they close with a message instead
 * of answering the new decision. ? shows every key over the table; any key closes it and does
 * nothing else.
 *
 * Pre-actions (F check/fold, K check, C call any, the same key again or Esc to cancel) are
 * chosen before our turn and sent when it comes, from a zero-delay timer rather than inside
 * the session's callback. Each remembers the hand, the street and the highest bet when it was
 * chosen: a new street or hand drops it, and check and check/fold are also dropped (with a
 * message) when the highest bet changes, while call any stays for the street.
 *
 * The log pane keeps a scrollback of its own: the model keeps the last MODEL_LOG_MAX lines, and
 * every redraw first copies the lines added since the last one into a ring of TUI_SCROLLBACK
 * lines (memory bounded, allocated once). PgUp/PgDn (every mode: the chat line ignores them)
 * move the view a page, Home/End (not while the chat line is open: readline's) to the oldest
 * and the newest. While scrolled back, new lines add to the offset so the view stays put, and
 * the layout draws a "more below" marker.
 *
 * h opens the table's hand history over the table (tuihist.c: the list of the last hands, and a
 * step-through replay of one). It has its own input mode; the session keeps running underneath,
 * and when it becomes the player's turn the view shows a banner (the view never acts).
 *
 * The terminal is restored on every way out: a normal quit, SESSION_FAILED, exit() (atexit),
 * and crash signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT), whose handler ends curses and
 * re-raises the signal with its default action so the crash still happens (and dumps core).
 */
#define _GNU_SOURCE /* SA_RESTART and friends, nl_langinfo, whatever the -std */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "chat.h"
#include "client.h"
#include "layout.h"
#include "tuihist.h"
#include "wsclient.h"

#define TUI_FLASH_MS 400        /* a seat highlighted by an animation */
#define TUI_AWARD_FLASH_MS 1200 /* winners stay highlighted a little longer */
#define TUI_MESSAGE_MS 5000     /* a refusal or notice on the bar */
#define TUI_LEAVE_WAIT_MS 2000  /* how long a quit waits for "leave" to go out */
#define TUI_LOG_LINES 64        /* chat lines handed to the layout (more never fit) */
#define TUI_SCROLLBACK 2000     /* log lines kept for PgUp: a ring of about 400 KB */
#define TUI_CHAT_PROMPT "say: "

struct tui_logline {
    enum model_log_kind kind;
    char text[MODEL_LOG_LINE];
};

enum tui_input {
    TUI_IN_TABLE,
    TUI_IN_RAISE,
    TUI_IN_CONFIRM,
    TUI_IN_ASK_FOLD,
    TUI_IN_ASK_ALL_IN,
    TUI_IN_GONE,
    TUI_IN_CHAT,
    TUI_IN_HIST,
    TUI_IN_HELP,
    TUI_IN_COUNT
};

/* A question asked before an action that is easy to regret, on our turn. */
enum tui_ask {
    TUI_ASK_NONE,
    TUI_ASK_FOLD,   /* f when checking is free */
    TUI_ASK_ALL_IN, /* a */
};

struct tui {
    struct wsloop *loop;
    struct session *s;
    struct tui_options o;
    bool utf8, color;
    struct layout_grid grid;
    struct layout_geometry geo;
    attr_t attrs[LAYOUT_S_COUNT];

    bool raise_open;
    char raise_buf[24];
    bool raise_fresh; /* raise_buf was put in by a key, not typed: a digit replaces it */
    bool confirm_quit;
    enum tui_ask ask;
    char ask_text[96];
    int64_t open_hand, open_decision; /* the decision the raise prompt or question is for */
    bool help_open;

    /* The pre-action chosen, and the hand, street and highest bet when it was chosen. */
    enum layout_pre pre;
    int64_t pre_hand, pre_bet;
    int pre_street;
    struct wstimer *pre_fire; /* 0 ms: sends the pre-action outside the session's callback */
    bool quitting;
    bool done;
    int exit_code;
    char bar_msg[200];
    char gone_msg[160];  /* the session's reason for a seat given up (j rejoins) */
    char pending_msg[96];

    uint64_t seen_turn_serial, seen_anim_serial;
    uint16_t flash_seats;
    char banner[200];

    struct wstimer *tick; /* 1 s: clock countdown, reconnect countdown */
    struct wstimer *flash_end;
    struct wstimer *msg_end;
    struct wstimer *leave_wait;
    bool tick_armed;

    /* The log's scrollback: entry i (0 the oldest) at (sb_head + i) % TUI_SCROLLBACK. */
    struct tui_logline *sb;
    int sb_head, sb_count;
    int seen_log_head, seen_log_count; /* the model's log ring as last copied */
    int log_scroll;                    /* lines back from the newest; 0 follows the newest */
    int log_page;                      /* whole lines the log pane showed at the last draw */
    struct layout_line *log;           /* TUI_SCROLLBACK: the view's lines, oldest first */

    struct tuihist *hist; /* the hand history view (h) */

    struct layout_line chat[TUI_LOG_LINES];
    char chat_who[TUI_LOG_LINES][MODEL_NAME_MAX + 16];
};

/* One TUI per process: the signal handlers reach the loop through this self-pipe. */
static int tui_sigpipe[2] = {-1, -1};
static volatile sig_atomic_t tui_curses_up;

static void tui_redraw(struct tui *t);

/* ---- terminal restore ------------------------------------------------------------------ */

static void tui_endwin(void)
{
    if (tui_curses_up) {
        tui_curses_up = 0;
        endwin();
    }
}

/* A crash: give the terminal back, then die of the same signal (SA_RESETHAND restored the
 * default action before this handler ran). endwin() is not async-signal-safe; on a crash the
 * process is lost anyway and a usable terminal is worth the risk. */
static void tui_on_crash(int sig)
{
    if (tui_curses_up) {
        tui_curses_up = 0;
        endwin();
    }
    raise(sig);
}

/* SIGWINCH, SIGINT, SIGTERM, SIGHUP: one byte down the self-pipe, handled on the loop. */
static void tui_on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    if (tui_sigpipe[1] >= 0 && write(tui_sigpipe[1], &b, 1) < 0) {
        /* the pipe is full: a signal of the same kind is already pending */
    }
    errno = saved;
}

static const int tui_crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
static const int tui_loop_signals[] = {SIGWINCH, SIGINT, SIGTERM, SIGHUP};

static void tui_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = tui_on_crash;
    sa.sa_flags = (int)SA_RESETHAND | SA_NODEFER;
    for (size_t i = 0; i < FELT_ARRAY_LEN(tui_crash_signals); i++)
        sigaction(tui_crash_signals[i], &sa, NULL);
    sa.sa_handler = tui_on_signal;
    sa.sa_flags = SA_RESTART;
    for (size_t i = 0; i < FELT_ARRAY_LEN(tui_loop_signals); i++)
        sigaction(tui_loop_signals[i], &sa, NULL);
}

static void tui_signals_restore(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    for (size_t i = 0; i < FELT_ARRAY_LEN(tui_crash_signals); i++)
        sigaction(tui_crash_signals[i], &sa, NULL);
    for (size_t i = 0; i < FELT_ARRAY_LEN(tui_loop_signals); i++)
        sigaction(tui_loop_signals[i], &sa, NULL);
}

/* ---- colours and attributes -------------------------------------------------------------- */

/* Colour pairs by style: foreground, background (-1 the terminal's default), extra attrs; and
 * the attributes used instead when there is no colour. */
static const struct {
    short fg, bg;
    attr_t extra;
    attr_t mono;
} tui_styles[LAYOUT_S_COUNT] = {
    [LAYOUT_S_NORMAL] = {-1, -1, 0, 0},
    [LAYOUT_S_DIM] = {-1, -1, A_DIM, A_DIM},
    [LAYOUT_S_BOLD] = {-1, -1, A_BOLD, A_BOLD},
    [LAYOUT_S_FELT] = {COLOR_WHITE, COLOR_GREEN, 0, 0},
    [LAYOUT_S_FELT_EDGE] = {COLOR_YELLOW, COLOR_GREEN, 0, 0},
    [LAYOUT_S_FELT_TEXT] = {COLOR_WHITE, COLOR_GREEN, A_BOLD, A_BOLD},
    [LAYOUT_S_CARD_BLACK] = {COLOR_BLACK, COLOR_WHITE, 0, 0},
    [LAYOUT_S_CARD_RED] = {COLOR_RED, COLOR_WHITE, 0, A_BOLD},
    [LAYOUT_S_CARD_BLUE] = {COLOR_BLUE, COLOR_WHITE, 0, A_BOLD},
    [LAYOUT_S_CARD_GREEN] = {COLOR_GREEN, COLOR_WHITE, 0, 0},
    [LAYOUT_S_CARD_BACK] = {COLOR_WHITE, COLOR_BLUE, 0, A_DIM},
    [LAYOUT_S_TO_ACT] = {COLOR_BLACK, COLOR_YELLOW, A_BOLD, A_REVERSE | A_BOLD},
    [LAYOUT_S_ME] = {COLOR_CYAN, -1, A_BOLD, A_BOLD | A_UNDERLINE},
    [LAYOUT_S_FLASH] = {COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE},
    [LAYOUT_S_WIN] = {COLOR_YELLOW, -1, A_BOLD, A_BOLD},
    [LAYOUT_S_KEY] = {COLOR_BLACK, COLOR_CYAN, A_BOLD, A_BOLD | A_UNDERLINE},
    [LAYOUT_S_BAR] = {COLOR_WHITE, COLOR_BLUE, 0, A_REVERSE},
    [LAYOUT_S_ERROR] = {COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE | A_BOLD},
    [LAYOUT_S_STATUS] = {COLOR_BLACK, COLOR_WHITE, 0, A_REVERSE},
    [LAYOUT_S_STATUS_OK] = {COLOR_BLACK, COLOR_GREEN, 0, A_REVERSE | A_BOLD},
    [LAYOUT_S_STATUS_BAD] = {COLOR_WHITE, COLOR_RED, A_BOLD, A_BOLD},
    [LAYOUT_S_CHAT_NAME] = {COLOR_CYAN, -1, A_BOLD, A_BOLD},
};

static void tui_colors_init(struct tui *t)
{
    /* felt.c folds $NO_COLOR into no_color, below the config file's color and --color. */
    t->color = !t->o.no_color && has_colors() && start_color() == OK && COLORS >= 8 &&
               COLOR_PAIRS > LAYOUT_S_COUNT;
    if (t->color) use_default_colors();
    for (int s = 0; s < LAYOUT_S_COUNT; s++) {
        if (!t->color) {
            t->attrs[s] = tui_styles[s].mono;
            continue;
        }
        if (s == LAYOUT_S_NORMAL || (tui_styles[s].fg < 0 && tui_styles[s].bg < 0)) {
            t->attrs[s] = tui_styles[s].extra;
            continue;
        }
        init_pair((short)s, tui_styles[s].fg, tui_styles[s].bg);
        t->attrs[s] = COLOR_PAIR(s) | tui_styles[s].extra;
    }
}

/* ---- the view ----------------------------------------------------------------------------- */

static int tui_secs_left(int64_t deadline_ms)
{
    int64_t left = deadline_ms - felt_now_ms();
    if (left <= 0) return 0;
    return (int)((left + 999) / 1000);
}

static enum layout_seat_status tui_seat_status(const struct model_player *p)
{
    static const enum layout_seat_status map[] = {
        [MODEL_WAITING] = LAYOUT_SEAT_WAITING,         [MODEL_ACTIVE] = LAYOUT_SEAT_ACTIVE,
        [MODEL_FOLDED] = LAYOUT_SEAT_FOLDED,           [MODEL_ALL_IN] = LAYOUT_SEAT_ALL_IN,
        [MODEL_SITTING_OUT] = LAYOUT_SEAT_SITTING_OUT,
    };
    if (!p->present) return LAYOUT_SEAT_EMPTY;
    if ((unsigned)p->status < FELT_ARRAY_LEN(map)) return map[p->status];
    return LAYOUT_SEAT_WAITING;
}

static enum layout_style tui_log_style(enum model_log_kind k)
{
    static const enum layout_style map[] = {
        [MODEL_LOG_HAND] = LAYOUT_S_BOLD,  [MODEL_LOG_ACTION] = LAYOUT_S_NORMAL,
        [MODEL_LOG_BOARD] = LAYOUT_S_BOLD, [MODEL_LOG_RESULT] = LAYOUT_S_WIN,
        [MODEL_LOG_TABLE] = LAYOUT_S_DIM,  [MODEL_LOG_CLIENT] = LAYOUT_S_BOLD,
    };
    return (unsigned)k < FELT_ARRAY_LEN(map) ? map[k] : LAYOUT_S_NORMAL;
}

/* "ada wins 1,200" for each pot of the last hand, while no new hand runs. */
static void tui_banner(struct tui *t, const struct model *m)
{
    const char *sep = t->utf8 && !t->o.ascii ? " \u00b7 " : "; ";
    size_t len = 0;
    t->banner[0] = '\0';
    if (m->hand_running) return;
    for (int i = 0; i < m->nawards && i < MODEL_MAX_POTS; i++) {
        const struct model_award *a = &m->awards[i];
        for (int s = 0; s < MODEL_MAX_SEATS; s++) {
            char chips[32];
            if (!((a->winners >> s) & 1) || !m->players[s].present) continue;
            int n =
                snprintf(t->banner + len, sizeof(t->banner) - len, "%s%s wins %s%s", len ? sep : "",
                         m->players[s].name,
                         layout_chips(a->share[s] ? a->share[s] : a->amount, chips, sizeof(chips)),
                         a->pot > 0 ? " (side)" : "");
            if (n < 0 || (size_t)n >= sizeof(t->banner) - len) {
                t->banner[len] = '\0';
                return;
            }
            len += (size_t)n;
        }
    }
}

/* Our action for the current hand still in the session's queue, or NULL. */
static const struct outbox_item *tui_pending_action(const struct session *s, const struct model *m)
{
    size_t n = session_queue_count(s);
    for (size_t i = 0; i < n; i++) {
        const struct outbox_item *it = session_queue_get(s, i);
        if (it && it->type == PROTO_C_ACTION && it->has_hand_id && it->hand_id == m->hand_id)
            return it;
    }
    return NULL;
}

/* The highest bet in front of a seat this betting round: what a pre-action is checked against. */
static int64_t tui_high_bet(const struct model *m)
{
    int64_t high = 0;
    for (int s = 0; s < MODEL_MAX_SEATS; s++)
        if (m->players[s].present && m->players[s].bet > high) high = m->players[s].bet;
    return high;
}

/* We are seated in the running hand's betting with chips behind: a pre-action can be chosen. */
static bool tui_pre_possible(const struct tui *t, const struct model *m)
{
    const struct model_player *me = model_me(m);
    return !t->o.spectate && me && m->hand_running && m->to_act.active && me->in_hand &&
           me->status == MODEL_ACTIVE;
}

static const char *tui_pre_name(enum layout_pre p)
{
    static const char *const names[] = {
        [LAYOUT_PRE_NONE] = "pre-action",
        [LAYOUT_PRE_CHECK_FOLD] = "check/fold",
        [LAYOUT_PRE_CHECK] = "check",
        [LAYOUT_PRE_CALL_ANY] = "call any",
    };
    return (unsigned)p < FELT_ARRAY_LEN(names) ? names[p] : names[0];
}

/* The seats ring, from the snapshot; none (nseats 0) until a usable snapshot has come. */
static void tui_view_seats(const struct tui *t, const struct model *m, struct layout_view *v)
{
    if (!(m->have_snapshot && m->table.seats >= 2 && m->table.seats <= LAYOUT_MAX_SEATS)) return;
    v->nseats = m->table.seats;
    v->my_seat = m->me_seat >= 0 && m->me_seat < v->nseats ? m->me_seat : -1;
    for (int s = 0; s < v->nseats; s++) {
        const struct model_player *p = &m->players[s];
        struct layout_seat *ls = &v->seat[s];
        ls->status = tui_seat_status(p);
        ls->win_pct = -1;
        ls->clock_s = -1;
        if (!p->present) continue;
        ls->name = p->name;
        ls->stack = p->stack;
        ls->bet = p->bet;
        ls->disconnected = !p->connected && !p->bot;
        ls->bot = p->bot;
        ls->dealer = m->button == s;
        ls->me = s == v->my_seat;
        ls->to_act = m->to_act.active && m->to_act.seat == s;
        if (ls->to_act && m->to_act.deadline > 0) ls->clock_s = tui_secs_left(m->to_act.deadline);
        if (p->ncards == 2) {
            ls->ncards = 2;
            ls->cards[0] = p->cards[0];
            ls->cards[1] = p->cards[1];
        } else if (m->hand_running && p->in_hand && p->status != MODEL_FOLDED) {
            ls->ncards = 2; /* face down */
            ls->cards[0] = ls->cards[1] = CARD_NONE;
        }
        if (p->shown && p->hand[0]) ls->hand_name = p->hand;
        if (p->has_equity) ls->win_pct = (int)lround(p->equity * 100.0);
        ls->flash = (t->flash_seats >> s) & 1;
        ls->won = m->hand_running ? 0 : p->won;
    }
}

/* The board and the pots, clamped to what the layout holds; before the first pot is formed, the
 * bets of a running hand show as one pot. */
static void tui_view_pots(const struct model *m, struct layout_view *v)
{
    v->nboard = m->nboard < 0 ? 0 : m->nboard > 5 ? 5 : m->nboard;
    memcpy(v->board, m->board, sizeof(v->board));
    v->npots = m->npots < 0 ? 0 : m->npots > LAYOUT_MAX_POTS ? LAYOUT_MAX_POTS : m->npots;
    for (int i = 0; i < v->npots; i++)
        v->pots[i] = m->pots[i].amount;
    if (v->npots == 0 && m->hand_running) {
        int64_t total = model_pot_total(m);
        if (total > 0) {
            v->pots[0] = total;
            v->npots = 1;
        }
    }
}

/* The question on the bar: what it asks and the keys that answer it. */
static void tui_view_ask(struct tui *t, const struct model *m, struct layout_view *v)
{
    static const struct layout_keyhint fold_keys[] = {
        {"f", "again to fold,"}, {"c", "to check"}, {"Esc", "neither"}};
    static const struct layout_keyhint all_in_keys[] = {{"a", "again to go all-in,"},
                                                        {"Esc", "no"}};
    const struct model_player *me = model_me(m);
    char chips[32];
    v->mode = LAYOUT_MODE_ASK;
    if (t->ask == TUI_ASK_FOLD) {
        snprintf(t->ask_text, sizeof(t->ask_text), "Fold when you can check?");
        v->ask_keys = fold_keys;
        v->nask_keys = (int)FELT_ARRAY_LEN(fold_keys);
    } else {
        snprintf(t->ask_text, sizeof(t->ask_text), "All-in for %s?",
                 layout_chips(me ? me->bet + me->stack : 0, chips, sizeof(chips)));
        v->ask_keys = all_in_keys;
        v->nask_keys = (int)FELT_ARRAY_LEN(all_in_keys);
    }
    v->ask = t->ask_text;
}

static void tui_message(struct tui *t, const char *msg);

/* Remembers the decision the raise prompt or a question is opened for. */
static void tui_open_for(struct tui *t, const struct model *m)
{
    t->open_hand = m->hand_id;
    t->open_decision = m->to_act.decision;
}

/* Closes the raise prompt and the question once the decision they were opened for is gone (the
 * clock acted for us, the hand ended; a key of ours closes them itself): when it is no longer
 * our turn, and when it is our turn again at a later decision (the next street came back to
 * us), so that the Enter, f or a meant for the old decision is not taken for the new one. Said
 * on the bar either way: the player was in the middle of choosing. */
static void tui_close_stale(struct tui *t, const struct model *m, bool my_turn)
{
    if (!t->raise_open && t->ask == TUI_ASK_NONE) return;
    if (my_turn && m->hand_id == t->open_hand && m->to_act.decision == t->open_decision) return;
    tui_message(t, "the table moved on while you chose");
    t->raise_open = false;
    t->ask = TUI_ASK_NONE;
}

/* The bar: its mode, the turn's choices, messages and whom we wait for. An action of ours still
 * in the queue (sent, or waiting for the connection) stands for the action: the bar says so
 * instead of offering the actions again. Closes the raise prompt and the question whose
 * decision is gone (tui_close_stale). */
static void tui_view_bar(struct tui *t, const struct model *m, const struct session_status *st,
                         struct layout_view *v)
{
    bool my_turn = !t->o.spectate && model_my_turn(m);
    const struct model_player *me = model_me(m);
    const struct outbox_item *pending = tui_pending_action(t->s, m);
    if (pending) {
        snprintf(t->pending_msg, sizeof(t->pending_msg), "%s: %s%s",
                 st->state == SESSION_CONNECTED ? "sent" : "queued until reconnected",
                 engine_action_name(pending->action), pending->has_amount ? " to " : "");
        if (pending->has_amount) {
            char chips[32];
            size_t n = strlen(t->pending_msg);
            snprintf(t->pending_msg + n, sizeof(t->pending_msg) - n, "%s",
                     layout_chips(pending->amount, chips, sizeof(chips)));
        }
        my_turn = false;
    }
    tui_close_stale(t, m, my_turn);
    if (my_turn) {
        v->turn.call = m->to_act.call;
        v->turn.can_check = m->to_act.can_check;
        v->turn.can_raise = m->to_act.can_raise;
        v->turn.min_raise_to = m->to_act.min_raise_to;
        v->turn.max_raise_to = m->to_act.max_raise_to;
        v->turn.stack = me ? me->stack : 0;
        v->turn.clock_s = m->to_act.deadline > 0 ? tui_secs_left(m->to_act.deadline) : -1;
    }
    if (st->state == SESSION_REJECTED)
        v->mode = LAYOUT_MODE_SEAT_GONE;
    else if (t->confirm_quit)
        v->mode = LAYOUT_MODE_CONFIRM_QUIT;
    else if (t->ask != TUI_ASK_NONE)
        tui_view_ask(t, m, v);
    else if (t->raise_open)
        v->mode = LAYOUT_MODE_RAISE;
    else if (my_turn)
        v->mode = LAYOUT_MODE_TURN;
    else
        v->mode = LAYOUT_MODE_IDLE;
    v->raise_input = t->raise_buf;
    v->bar_message = t->bar_msg[0] ? t->bar_msg : NULL;
    v->bar_notice = pending ? t->pending_msg : NULL;
    if (t->quitting && !v->bar_message) v->bar_message = "leaving the table...";
    if (st->state == SESSION_REJECTED && st->left && !v->bar_message) {
        snprintf(t->gone_msg, sizeof(t->gone_msg), "%s", st->reason); /* "You left this table..." */
        v->bar_message = t->gone_msg;
    }
    if (v->mode == LAYOUT_MODE_IDLE && m->to_act.active && m->to_act.seat >= 0 &&
        m->to_act.seat < MODEL_MAX_SEATS && m->players[m->to_act.seat].present) {
        v->waiting_for = m->players[m->to_act.seat].name;
        v->waiting_clock_s = m->to_act.deadline > 0 ? tui_secs_left(m->to_act.deadline) : -1;
    }
    v->pre_offer = !pending && !my_turn && tui_pre_possible(t, m);
    v->pre_armed = v->pre_offer ? t->pre : LAYOUT_PRE_NONE;
    v->chatting = chat_is_open();
    v->chat_allowed = !st->spectator || m->table.spectator_chat;
    v->sit_key = st->spectator ? 0 : m->me_sitting_out ? 2 : 1;
}

/* Copies the model's log lines added since the last call into the scrollback. The model's log
 * is a ring of MODEL_LOG_MAX lines with no running count, so what was added is read from how
 * its head and count moved; this holds as long as fewer than MODEL_LOG_MAX lines come between
 * two redraws (the session redraws after every message; a message adds a handful). While
 * scrolled back the offset grows with the new lines, so the view does not move. */
static void tui_scrollback_sync(struct tui *t, const struct model *m)
{
    int added;
    if (m->log_count < t->seen_log_count) /* a fresh model: take all it has */
        added = m->log_count;
    else
        added = m->log_count - t->seen_log_count +
                (m->log_head - t->seen_log_head + MODEL_LOG_MAX) % MODEL_LOG_MAX;
    if (added > m->log_count) added = m->log_count;
    for (int i = m->log_count - added; i < m->log_count; i++) {
        const struct model_log_line *l = model_log_get(m, i);
        struct tui_logline *d;
        if (!l) continue;
        if (t->sb_count == TUI_SCROLLBACK) {
            d = &t->sb[t->sb_head];
            t->sb_head = (t->sb_head + 1) % TUI_SCROLLBACK;
        } else {
            d = &t->sb[(t->sb_head + t->sb_count) % TUI_SCROLLBACK];
            t->sb_count++;
        }
        d->kind = l->kind;
        memcpy(d->text, l->text, sizeof(d->text)); /* sanitized by the model */
        d->text[sizeof(d->text) - 1] = '\0';
    }
    if (t->log_scroll > 0) {
        t->log_scroll += added;
        if (t->log_scroll > t->sb_count) t->log_scroll = t->sb_count;
    }
    t->seen_log_head = m->log_head;
    t->seen_log_count = m->log_count;
}

/* The log pane (the whole scrollback and the offset) and the chat pane (its newest
 * TUI_LOG_LINES lines: more never fit), pointing into t's buffers, which stay valid until the
 * next tui_view. */
static void tui_view_panes(struct tui *t, const struct model *m, struct layout_view *v)
{
    tui_scrollback_sync(t, m);
    for (int i = 0; i < t->sb_count; i++) {
        const struct tui_logline *l = &t->sb[(t->sb_head + i) % TUI_SCROLLBACK];
        t->log[i] = (struct layout_line){NULL, l->text, tui_log_style(l->kind)};
    }
    v->log = t->log;
    v->nlog = t->sb_count;
    v->log_scroll = t->log_scroll;
    int first = m->chat_count > TUI_LOG_LINES ? m->chat_count - TUI_LOG_LINES : 0;
    for (int i = first; i < m->chat_count; i++) {
        const struct model_chat *c = model_chat_get(m, i);
        if (!c) continue;
        snprintf(t->chat_who[v->nchat], sizeof(t->chat_who[v->nchat]), "%s%s", c->name,
                 c->spectator ? " (watching)" : "");
        t->chat[v->nchat] = (struct layout_line){t->chat_who[v->nchat], c->text,
                                                 c->own ? LAYOUT_S_ME : LAYOUT_S_NORMAL};
        v->nchat++;
    }
    v->chat = t->chat;
}

/* The status line: the connection, its transport and retries, the round trip and the queue. */
static void tui_view_status(const struct model *m, const struct session_status *st,
                            struct layout_view *v)
{
    static const enum layout_conn conn[] = {
        [SESSION_CONNECTING] = LAYOUT_CONN_CONNECTING,
        [SESSION_CONNECTED] = LAYOUT_CONN_CONNECTED,
        [SESSION_RECONNECTING] = LAYOUT_CONN_RECONNECTING,
        [SESSION_OFFLINE] = LAYOUT_CONN_OFFLINE,
        [SESSION_REJECTED] = LAYOUT_CONN_OFFLINE,
        [SESSION_FAILED] = LAYOUT_CONN_OFFLINE,
    };
    v->status.conn =
        (unsigned)st->state < FELT_ARRAY_LEN(conn) ? conn[st->state] : LAYOUT_CONN_OFFLINE;
    v->status.polling = st->transport == SESSION_TRANSPORT_POLL;
    v->status.attempt = st->attempt;
    v->status.next_in_s = st->next_try_ms > 0 ? (int)((st->next_try_ms + 999) / 1000) : 0;
    v->status.rtt_ms = st->rtt_ms >= 0 && st->rtt_ms < 1000000 ? (int)st->rtt_ms : -1;
    v->status.queued = (int)(st->queued > 9999 ? 9999 : st->queued);
    v->status.spectators = m->spectators;
    v->status.spectating = st->spectator;
    /* Several servers: which one, without its scheme (ws://, wss://). */
    const char *host = st->server ? strstr(st->server, "://") : NULL;
    v->status.server = st->nservers > 1 && host ? host + 3 : NULL;
}

/* Rebuilds *v from the model and the session's status; v points into t's buffers. */
static void tui_view(struct tui *t, struct layout_view *v)
{
    const struct model *m = session_model(t->s);
    struct session_status st;
    session_status(t->s, &st);
    memset(v, 0, sizeof(*v));
    v->ascii = t->o.ascii || !t->utf8;
    v->four_color = t->o.four_color;
    v->table_name = m->table.id;
    v->small_blind = m->table.small_blind;
    v->big_blind = m->table.big_blind;
    v->hand_id = m->hand_id;
    v->hand_running = m->hand_running;
    v->my_seat = -1;
    tui_view_seats(t, m, v);
    tui_view_pots(m, v);
    tui_banner(t, m);
    v->banner = t->banner[0] ? t->banner : NULL;
    tui_view_bar(t, m, &st, v);
    tui_view_panes(t, m, v);
    tui_view_status(m, &st, v);
}

/* ---- drawing ------------------------------------------------------------------------------ */

static void tui_blit(struct tui *t)
{
    const struct layout_grid *g = &t->grid;
    for (int y = 0; y < g->rows && y < LINES; y++) {
        for (int x = 0; x < g->cols && x < COLS; x++) {
            const struct layout_cell *c = layout_cell_at(g, x, y);
            if (c->width == 0) continue;
            if (c->width == 2 && x + 1 >= COLS) break;
            attrset(t->attrs[c->style < LAYOUT_S_COUNT ? c->style : 0]);
            mvaddstr(y, x, c->text); /* ERR at the bottom-right corner is harmless */
        }
    }
    attrset(A_NORMAL);
}

/* Re-arms the one-second tick when a countdown is on screen, aligned to the second boundary
 * of the deadline so the number changes on time. */
static void tui_tick_schedule(struct tui *t)
{
    const struct model *m = session_model(t->s);
    struct session_status st;
    int64_t delay = -1;
    session_status(t->s, &st);
    if (m->to_act.active && m->to_act.deadline > 0) {
        int64_t left = m->to_act.deadline - felt_now_ms();
        if (left > 0) delay = left % 1000 ? left % 1000 : 1000;
    }
    if (st.state == SESSION_RECONNECTING) {
        int64_t d = st.next_try_ms > 0 && st.next_try_ms % 1000 ? st.next_try_ms % 1000 : 1000;
        delay = delay < 0 || d < delay ? d : delay;
    }
    if (delay < 0) {
        if (t->tick_armed) wstimer_cancel(t->tick);
        t->tick_armed = false;
        return;
    }
    wstimer_arm(t->tick, delay + 5);
    t->tick_armed = true;
}

/* Every key, for the help overlay (?). At most 19 rows, so that it fits at 80x24. */
static const struct layout_keyhint tui_help_rows[] = {
    {NULL, "At the table (TABLE on the input row)"},
    {"f", "fold (asks first when you could check)"},
    {"c  k", "check or call"},
    {"r", "raise: type the amount, Enter sends"},
    {"a", "all-in (asks for a second a)"},
    {"F  K  C", "before your turn: check/fold, check, call any"},
    {"", "(the same key again, or Esc, cancels it)"},
    {"Enter  /", "chat (CHAT) until Esc or an empty Enter"},
    {"s", "sit out from the next hand, or sit back in"},
    {"h", "the table's last hands, with a replay"},
    {"PgUp/PgDn", "scroll the log; Home/End: oldest, newest"},
    {"q", "quit (in a hand it asks first: y leaves)"},
    {"?  Ctrl-L", "this help; redraw the screen"},
    {NULL, "Raising (after r)"},
    {"0-9  Bksp", "the amount to raise to (replaces the one shown)"},
    {"h  p  a", "half the pot, the pot, all-in"},
    {"arrows + -", "a big blind more or less"},
    {"Enter Esc f", "raise, back, fold"},
    {NULL, "Hand history (h): arrows, Enter, n/p, r reload, Esc back"},
};

static void tui_redraw(struct tui *t)
{
    struct layout_view v;
    if (!tui_curses_up) return;
    tui_view(t, &v);
    t->grid.utf8 = t->utf8;
    layout_grid_resize(&t->grid, COLS, LINES);
    layout_draw(&t->grid, &v, &t->geo);
    if (!t->geo.too_small) {
        t->log_scroll = t->geo.log_scroll.offset; /* clamped to what there is */
        t->log_page = t->geo.log_scroll.page;
    }
    int cx = -1;
    if (tuihist_is_open(t->hist) && !t->geo.too_small) {
        /* Over everything but the status line; the bar's turn becomes the view's banner. */
        struct layout_rect r = {0, 0, t->grid.cols, t->geo.status.y};
        tuihist_draw(t->hist, &t->grid, r,
                     v.mode == LAYOUT_MODE_TURN || v.mode == LAYOUT_MODE_RAISE
                         ? "YOUR TURN at the table: Esc to return"
                         : NULL,
                     v.ascii);
    } else if (chat_is_open() && !t->geo.too_small) {
        /* The mode's tag (layout_draw_input drew it) keeps its place; the line gets the rest. */
        cx = chat_render(&t->grid, layout_draw_input_mode(&t->grid, t->geo.input, true));
    }
    if (t->help_open && !t->geo.too_small) {
        layout_draw_help(&t->grid, (struct layout_rect){0, 0, t->grid.cols, t->geo.status.y},
                         "Keys", tui_help_rows, (int)FELT_ARRAY_LEN(tui_help_rows), v.ascii);
        cx = -1;
    }
    tui_blit(t);
    if (cx >= 0) {
        move(t->geo.input.y, cx);
        curs_set(1);
    } else {
        curs_set(0);
    }
    refresh();
    tui_tick_schedule(t);
}

static void tui_message(struct tui *t, const char *msg)
{
    snprintf(t->bar_msg, sizeof(t->bar_msg), "%s", msg);
    wstimer_arm(t->msg_end, TUI_MESSAGE_MS);
}

/* ---- quitting ------------------------------------------------------------------------------ */

static void tui_finish(struct tui *t, int code)
{
    if (t->done) return;
    t->done = true;
    t->exit_code = code;
    chat_close();
    session_close(t->s);
    wsloop_stop(t->loop);
}

/* Quits, first telling the server we leave (when seated and connected), bounded in time. A
 * second request while waiting quits at once. */
static void tui_quit(struct tui *t)
{
    struct session_status st;
    struct felt_err err;
    const struct model *m = session_model(t->s);
    session_status(t->s, &st);
    t->confirm_quit = false;
    if (t->quitting || st.spectator || st.state != SESSION_CONNECTED || m->me_seat < 0) {
        tui_finish(t, 0);
        return;
    }
    t->quitting = true;
    if (session_leave(t->s, &err) != 0) {
        tui_finish(t, 0);
        return;
    }
    wstimer_arm(t->leave_wait, TUI_LEAVE_WAIT_MS);
    if (session_queue_count(t->s) == 0)
        tui_finish(t, 0);
    else
        tui_redraw(t);
}

static bool tui_in_hand(const struct model *m)
{
    const struct model_player *me = model_me(m);
    return me && m->hand_running && me->in_hand && me->status != MODEL_FOLDED;
}

/* ---- keys ---------------------------------------------------------------------------------- */

typedef void (*tui_key_fn)(struct tui *t, int key);

struct tui_key {
    int key;
    tui_key_fn fn;
};

struct tui_keymap {
    const struct tui_key *keys;
    size_t n;
    tui_key_fn other; /* keys not in the table, or NULL to ignore them */
};

static void tui_act(struct tui *t, enum engine_action a, int64_t amount)
{
    struct felt_err err;
    if (t->o.spectate) {
        tui_message(t, "you are watching: the table is read-only");
        return;
    }
    if (session_act(t->s, a, amount, &err) != 0) {
        tui_message(t, err.message);
        return;
    }
    t->raise_open = false;
    t->bar_msg[0] = '\0';
}

/* f: a fold when checking is free is asked about first. */
static void tui_k_fold(struct tui *t, int key)
{
    const struct model *m = session_model(t->s);
    (void)key;
    if (!t->o.spectate && model_my_turn(m) && m->to_act.can_check) {
        t->ask = TUI_ASK_FOLD;
        tui_open_for(t, m);
        t->bar_msg[0] = '\0';
        return;
    }
    tui_act(t, ENGINE_FOLD, 0);
}

/* s: sit out from the next hand, or sit back in (buying in again after busting). */
static void tui_k_sit(struct tui *t, int key)
{
    struct felt_err err;
    (void)key;
    if (t->o.spectate) {
        tui_message(t, "you are watching: the table is read-only");
        return;
    }
    bool out = session_model(t->s)->me_sitting_out;
    if ((out ? session_sit_in(t->s, &err) : session_sit_out(t->s, &err)) != 0)
        tui_message(t, err.message);
    else
        tui_message(t, out ? "sitting in from the next hand" : "sitting out from the next hand");
}

static void tui_k_call(struct tui *t, int key)
{
    const struct model *m = session_model(t->s);
    (void)key;
    tui_act(t, model_my_turn(m) && m->to_act.can_check ? ENGINE_CHECK : ENGINE_CALL, 0);
}

/* a: all-in on our turn only after a second a. */
static void tui_k_all_in(struct tui *t, int key)
{
    (void)key;
    if (!t->o.spectate && model_my_turn(session_model(t->s))) {
        t->ask = TUI_ASK_ALL_IN;
        tui_open_for(t, session_model(t->s));
        t->bar_msg[0] = '\0';
        return;
    }
    tui_act(t, ENGINE_ALL_IN, 0); /* refused with the reason (not our turn, watching) */
}

/* The answers to the questions: yes acts, and anything else only closes the question. */
static void tui_k_ask_fold(struct tui *t, int key)
{
    (void)key;
    t->ask = TUI_ASK_NONE;
    tui_act(t, ENGINE_FOLD, 0);
}

static void tui_k_ask_check(struct tui *t, int key)
{
    (void)key;
    t->ask = TUI_ASK_NONE;
    tui_act(t, ENGINE_CHECK, 0);
}

static void tui_k_ask_all_in(struct tui *t, int key)
{
    (void)key;
    t->ask = TUI_ASK_NONE;
    tui_act(t, ENGINE_ALL_IN, 0);
}

static void tui_k_ask_no(struct tui *t, int key)
{
    (void)key;
    t->ask = TUI_ASK_NONE;
}

/* ---- pre-actions ---- */

static void tui_pre_cancel(struct tui *t, const char *why)
{
    char msg[96];
    if (t->pre == LAYOUT_PRE_NONE) return;
    snprintf(msg, sizeof(msg), "%s cancelled%s%s", tui_pre_name(t->pre), why ? ": " : "",
             why ? why : "");
    t->pre = LAYOUT_PRE_NONE;
    tui_message(t, msg);
}

/* Drops a pre-action that no longer holds (silently when the hand is over for us, with a
 * message when the street or, for check and check/fold, the highest bet changed). True when
 * one is left and it is our turn to send it. */
static bool tui_pre_check(struct tui *t, const struct model *m)
{
    const struct model_player *me = model_me(m);
    if (t->pre == LAYOUT_PRE_NONE) return false;
    if (!me || !m->hand_running || m->hand_id != t->pre_hand || !me->in_hand ||
        me->status != MODEL_ACTIVE) {
        t->pre = LAYOUT_PRE_NONE;
        return false;
    }
    if (m->street != t->pre_street) {
        tui_pre_cancel(t, "a new street");
        return false;
    }
    if (t->pre != LAYOUT_PRE_CALL_ANY && tui_high_bet(m) != t->pre_bet) {
        tui_pre_cancel(t, "the bet changed");
        return false;
    }
    return model_my_turn(m) && !tui_pending_action(t->s, m);
}

/* F, K, C: choose (or, the same key again, cancel) a pre-action; on our turn they act now. */
static void tui_k_pre(struct tui *t, int key)
{
    static const struct {
        int key;
        enum layout_pre pre;
    } map[] = {{'F', LAYOUT_PRE_CHECK_FOLD}, {'K', LAYOUT_PRE_CHECK}, {'C', LAYOUT_PRE_CALL_ANY}};
    const struct model *m = session_model(t->s);
    const struct model_player *me = model_me(m);
    enum layout_pre pre = LAYOUT_PRE_NONE;
    for (size_t i = 0; i < FELT_ARRAY_LEN(map); i++)
        if (map[i].key == key) pre = map[i].pre;
    if (pre == LAYOUT_PRE_NONE) return;
    if (model_my_turn(m) || t->o.spectate) {
        tui_act(t,
                pre == LAYOUT_PRE_CALL_ANY                       ? ENGINE_CALL
                : pre == LAYOUT_PRE_CHECK || m->to_act.can_check ? ENGINE_CHECK
                                                                 : ENGINE_FOLD,
                0);
        return;
    }
    if (!tui_pre_possible(t, m) || !me) {
        tui_message(t, "pre-actions are for a hand you are in, before your turn");
        return;
    }
    if (t->pre == pre) {
        tui_pre_cancel(t, NULL);
        return;
    }
    if (pre == LAYOUT_PRE_CHECK && tui_high_bet(m) > me->bet) {
        tui_message(t, "there is a bet to call: F check/fold or C call any");
        return;
    }
    t->pre = pre;
    t->pre_hand = m->hand_id;
    t->pre_street = m->street;
    t->pre_bet = tui_high_bet(m);
    t->bar_msg[0] = '\0';
}

/* Esc at the table: cancels the pre-action chosen, if any. */
static void tui_k_escape(struct tui *t, int key)
{
    (void)key;
    tui_pre_cancel(t, NULL);
}

static void tui_on_pre_fire(void *arg)
{
    struct tui *t = arg;
    const struct model *m = session_model(t->s);
    if (tui_pre_check(t, m)) {
        enum layout_pre pre = t->pre;
        t->pre = LAYOUT_PRE_NONE;
        if (pre == LAYOUT_PRE_CHECK && !m->to_act.can_check)
            tui_message(t, "check cancelled: there is a bet to call"); /* not reached */
        else
            tui_act(t,
                    pre == LAYOUT_PRE_CALL_ANY ? ENGINE_CALL
                    : m->to_act.can_check      ? ENGINE_CHECK
                                               : ENGINE_FOLD,
                    0);
    }
    tui_redraw(t);
}

/* ? shows every key; any key closes it (and does nothing else). */
static void tui_k_help(struct tui *t, int key)
{
    (void)key;
    t->help_open = true;
}

static void tui_k_help_close(struct tui *t, int key)
{
    (void)key;
    t->help_open = false;
}

static void tui_raise_set(struct tui *t, int64_t amount)
{
    const struct model *m = session_model(t->s);
    if (amount < m->to_act.min_raise_to) amount = m->to_act.min_raise_to;
    if (amount > m->to_act.max_raise_to) amount = m->to_act.max_raise_to;
    snprintf(t->raise_buf, sizeof(t->raise_buf), "%lld", (long long)amount);
    t->raise_fresh = true;
    t->bar_msg[0] = '\0';
}

static int64_t tui_raise_value(const struct tui *t)
{
    return t->raise_buf[0] ? strtoll(t->raise_buf, NULL, 10) : 0;
}

static void tui_k_raise(struct tui *t, int key)
{
    const struct model *m = session_model(t->s);
    (void)key;
    if (t->o.spectate) {
        tui_message(t, "you are watching: the table is read-only");
        return;
    }
    if (!model_my_turn(m)) {
        tui_message(t, "it is not your turn");
        return;
    }
    if (!m->to_act.can_raise) {
        tui_message(t, "you cannot raise now: call or fold");
        return;
    }
    t->raise_open = true;
    tui_open_for(t, m);
    tui_raise_set(t, m->to_act.min_raise_to);
}

static void tui_k_chat(struct tui *t, int key)
{
    const struct model *m = session_model(t->s);
    struct session_status st;
    (void)key;
    session_status(t->s, &st);
    if (st.spectator && !m->table.spectator_chat) {
        tui_message(t, "spectators may not chat at this table");
        return;
    }
    chat_open(TUI_CHAT_PROMPT);
}

static void tui_k_quit(struct tui *t, int key)
{
    (void)key;
    if (tui_in_hand(session_model(t->s)) && !t->quitting) {
        t->confirm_quit = true;
        return;
    }
    tui_quit(t);
}

static void tui_k_redraw(struct tui *t, int key)
{
    (void)t;
    (void)key;
    clearok(curscr, TRUE); /* the redraw after every key then repaints the whole screen */
}

static void tui_k_resize(struct tui *t, int key)
{
    (void)t;
    (void)key;
    /* ncurses already resized its screen (KEY_RESIZE); the redraw after every key re-lays out. */
}

/* Raise prompt. */
static void tui_k_raise_digit(struct tui *t, int key)
{
    size_t n = strlen(t->raise_buf);
    if (key < '0' || key > '9') return;
    if (t->raise_fresh) n = 0; /* the amount a key put in is replaced, not extended */
    t->raise_fresh = false;
    if (n == 1 && t->raise_buf[0] == '0') n = 0;
    if (n + 1 < sizeof(t->raise_buf) && n < 13) {
        t->raise_buf[n] = (char)key;
        t->raise_buf[n + 1] = '\0';
    }
    t->bar_msg[0] = '\0';
}

static void tui_k_raise_back(struct tui *t, int key)
{
    size_t n = strlen(t->raise_buf);
    (void)key;
    if (t->raise_fresh) n = 1; /* a selected amount goes whole */
    t->raise_fresh = false;
    if (n > 0) t->raise_buf[n - 1] = '\0';
    t->bar_msg[0] = '\0';
}

static void tui_k_raise_step(struct tui *t, int key)
{
    const struct model *m = session_model(t->s);
    int64_t step = m->table.big_blind > 0 ? m->table.big_blind : 1;
    bool up = key == KEY_UP || key == KEY_RIGHT || key == '+';
    int64_t v = tui_raise_value(t);
    tui_raise_set(t, up ? v + step : v - step);
}

/* Pot-sized raises: call first, then raise by a fraction of the pot after the call. */
static void tui_raise_pot_fraction(struct tui *t, int num, int den)
{
    const struct model *m = session_model(t->s);
    const struct model_player *me = model_me(m);
    int64_t bet = me ? me->bet : 0, call = m->to_act.call;
    int64_t pot = model_pot_total(m) + call;
    tui_raise_set(t, bet + call + pot * num / den);
}

static void tui_k_raise_half(struct tui *t, int key)
{
    (void)key;
    tui_raise_pot_fraction(t, 1, 2);
}

static void tui_k_raise_pot(struct tui *t, int key)
{
    (void)key;
    tui_raise_pot_fraction(t, 1, 1);
}

static void tui_k_raise_max(struct tui *t, int key)
{
    (void)key;
    tui_raise_set(t, session_model(t->s)->to_act.max_raise_to);
}

static void tui_k_raise_send(struct tui *t, int key)
{
    (void)key;
    if (!t->raise_buf[0]) {
        tui_message(t, "type the amount to raise to");
        return;
    }
    tui_act(t, ENGINE_RAISE, tui_raise_value(t));
}

static void tui_k_raise_cancel(struct tui *t, int key)
{
    (void)key;
    t->raise_open = false;
    t->bar_msg[0] = '\0';
}

/* Quit confirmation. */
static void tui_k_confirm_yes(struct tui *t, int key)
{
    (void)key;
    tui_quit(t);
}

static void tui_k_confirm_no(struct tui *t, int key)
{
    (void)key;
    t->confirm_quit = false;
}

/* Seat gone. */
static void tui_k_rejoin(struct tui *t, int key)
{
    struct felt_err err;
    (void)key;
    if (session_rejoin(t->s, &err) != 0)
        tui_message(t, err.message);
    else
        t->bar_msg[0] = '\0';
}

static void tui_k_quit_now(struct tui *t, int key)
{
    (void)key;
    tui_finish(t, 0);
}

/* Chat line. */
static void tui_k_chat_close(struct tui *t, int key)
{
    (void)t;
    (void)key;
    chat_close();
}

static void tui_k_chat_other(struct tui *t, int key)
{
    (void)t;
    chat_key(key);
}

/* The log's scrollback: a page is the whole lines last shown, less one kept for context. */
static int tui_log_step(const struct tui *t)
{
    return t->log_page > 2 ? t->log_page - 1 : 1;
}

static void tui_k_log_up(struct tui *t, int key)
{
    (void)key;
    t->log_scroll += tui_log_step(t); /* the layout clamps it at the oldest page */
    if (t->log_scroll > t->sb_count) t->log_scroll = t->sb_count;
}

static void tui_k_log_down(struct tui *t, int key)
{
    (void)key;
    t->log_scroll -= tui_log_step(t);
    if (t->log_scroll < 0) t->log_scroll = 0;
}

static void tui_k_log_oldest(struct tui *t, int key)
{
    (void)key;
    t->log_scroll = t->sb_count;
}

static void tui_k_log_newest(struct tui *t, int key)
{
    (void)key;
    t->log_scroll = 0;
}

/* The hand history. */

static void tui_k_hist(struct tui *t, int key)
{
    const char *server = NULL, *game = NULL, *bearer = NULL;
    (void)key;
    session_endpoint(t->s, &server, &game, &bearer);
    tuihist_open(t->hist, server, game, t->o.spectate ? NULL : bearer);
}

static void tui_hist_cmd(struct tui *t, int key)
{
    static const struct {
        int key;
        enum tuihist_cmd cmd;
    } map[] = {
        {KEY_UP, TUIHIST_UP},     {KEY_DOWN, TUIHIST_DOWN},   {'\r', TUIHIST_ENTER},
        {'\n', TUIHIST_ENTER},    {KEY_ENTER, TUIHIST_ENTER}, {27, TUIHIST_BACK},
        {'q', TUIHIST_BACK},      {KEY_RIGHT, TUIHIST_NEXT},  {'n', TUIHIST_NEXT},
        {KEY_LEFT, TUIHIST_PREV}, {'p', TUIHIST_PREV},        {KEY_HOME, TUIHIST_FIRST},
        {KEY_END, TUIHIST_LAST},  {'r', TUIHIST_RELOAD},
    };
    for (size_t i = 0; i < FELT_ARRAY_LEN(map); i++)
        if (map[i].key == key) {
            tuihist_command(t->hist, map[i].cmd);
            return;
        }
}

static void tui_on_hist_changed(void *arg)
{
    tui_redraw(arg);
}

/* Keys every mode shares, looked up first. PgUp/PgDn mean nothing to the chat line. */
static const struct tui_key tui_keys_global[] = {
    {KEY_RESIZE, tui_k_resize},
    {'L' & 0x1f, tui_k_redraw},
    {KEY_PPAGE, tui_k_log_up},
    {KEY_NPAGE, tui_k_log_down},
};

static const struct tui_key tui_keys_table[] = {
    {'f', tui_k_fold},
    {'c', tui_k_call},
    {'k', tui_k_call},
    {'r', tui_k_raise},
    {'a', tui_k_all_in},
    {'q', tui_k_quit},
    {'\r', tui_k_chat},
    {'\n', tui_k_chat},
    {KEY_ENTER, tui_k_chat},
    {'/', tui_k_chat},
    {'s', tui_k_sit},
    {KEY_HOME, tui_k_log_oldest},
    {KEY_END, tui_k_log_newest},
    {'h', tui_k_hist},
    {'?', tui_k_help},
    {'F', tui_k_pre},
    {'K', tui_k_pre},
    {'C', tui_k_pre},
    {27, tui_k_escape},
};

static const struct tui_key tui_keys_raise[] = {
    {KEY_BACKSPACE, tui_k_raise_back}, {127, tui_k_raise_back},       {8, tui_k_raise_back},
    {KEY_UP, tui_k_raise_step},        {KEY_RIGHT, tui_k_raise_step}, {'+', tui_k_raise_step},
    {KEY_DOWN, tui_k_raise_step},      {KEY_LEFT, tui_k_raise_step},  {'-', tui_k_raise_step},
    {'h', tui_k_raise_half},           {'p', tui_k_raise_pot},        {'a', tui_k_raise_max},
    {'\r', tui_k_raise_send},          {'\n', tui_k_raise_send},      {KEY_ENTER, tui_k_raise_send},
    {27, tui_k_raise_cancel},          {'q', tui_k_raise_cancel},     {'f', tui_k_fold},
    {KEY_HOME, tui_k_log_oldest},      {KEY_END, tui_k_log_newest},   {'?', tui_k_help},
};

/* Leaving mid-hand takes y: q, which asked, answers no, as does any other key. */
static const struct tui_key tui_keys_confirm[] = {
    {'y', tui_k_confirm_yes},
    {'Y', tui_k_confirm_yes},
};

static const struct tui_key tui_keys_ask_fold[] = {
    {'f', tui_k_ask_fold},
    {'c', tui_k_ask_check},
    {'k', tui_k_ask_check},
};

static const struct tui_key tui_keys_ask_all_in[] = {
    {'a', tui_k_ask_all_in},
};

static const struct tui_key tui_keys_help[] = {
    {KEY_RESIZE, tui_k_resize},
};

static const struct tui_key tui_keys_gone[] = {
    {'j', tui_k_rejoin},   {'J', tui_k_rejoin},          {'q', tui_k_quit_now},
    {'Q', tui_k_quit_now}, {KEY_HOME, tui_k_log_oldest}, {KEY_END, tui_k_log_newest},
    {'?', tui_k_help},
};

static const struct tui_key tui_keys_chat[] = {
    {27, tui_k_chat_close},
};

static const struct tui_keymap tui_keymaps[TUI_IN_COUNT] = {
    [TUI_IN_TABLE] = {tui_keys_table, FELT_ARRAY_LEN(tui_keys_table), NULL},
    [TUI_IN_RAISE] = {tui_keys_raise, FELT_ARRAY_LEN(tui_keys_raise), tui_k_raise_digit},
    [TUI_IN_CONFIRM] = {tui_keys_confirm, FELT_ARRAY_LEN(tui_keys_confirm), tui_k_confirm_no},
    [TUI_IN_ASK_FOLD] = {tui_keys_ask_fold, FELT_ARRAY_LEN(tui_keys_ask_fold), tui_k_ask_no},
    [TUI_IN_ASK_ALL_IN] = {tui_keys_ask_all_in, FELT_ARRAY_LEN(tui_keys_ask_all_in), tui_k_ask_no},
    [TUI_IN_GONE] = {tui_keys_gone, FELT_ARRAY_LEN(tui_keys_gone), NULL},
    [TUI_IN_CHAT] = {tui_keys_chat, FELT_ARRAY_LEN(tui_keys_chat), tui_k_chat_other},
    [TUI_IN_HIST] = {NULL, 0, tui_hist_cmd},
    [TUI_IN_HELP] = {tui_keys_help, FELT_ARRAY_LEN(tui_keys_help), tui_k_help_close},
};

static enum tui_input tui_input_mode(struct tui *t)
{
    struct session_status st;
    bool my_turn = model_my_turn(session_model(t->s));
    session_status(t->s, &st);
    tui_close_stale(t, session_model(t->s), my_turn);
    if (t->help_open) return TUI_IN_HELP;
    if (chat_is_open()) return TUI_IN_CHAT;
    if (tuihist_is_open(t->hist)) return TUI_IN_HIST;
    if (st.state == SESSION_REJECTED) return TUI_IN_GONE;
    if (t->confirm_quit) return TUI_IN_CONFIRM;
    if (t->ask != TUI_ASK_NONE && my_turn)
        return t->ask == TUI_ASK_FOLD ? TUI_IN_ASK_FOLD : TUI_IN_ASK_ALL_IN;
    t->ask = TUI_ASK_NONE;
    if (t->raise_open && my_turn) return TUI_IN_RAISE;
    t->raise_open = false;
    return TUI_IN_TABLE;
}

static bool tui_key_lookup(const struct tui_key *keys, size_t n, int key, struct tui *t)
{
    for (size_t i = 0; i < n; i++)
        if (keys[i].key == key) {
            keys[i].fn(t, key);
            return true;
        }
    return false;
}

static void tui_key(struct tui *t, int key)
{
    enum tui_input mode = tui_input_mode(t);
    /* The help takes every key, the shared ones too: any key closes it and does nothing else. */
    if (mode != TUI_IN_HELP &&
        tui_key_lookup(tui_keys_global, FELT_ARRAY_LEN(tui_keys_global), key, t))
        return;
    const struct tui_keymap *km = &tui_keymaps[mode];
    if (!tui_key_lookup(km->keys, km->n, key, t) && km->other) km->other(t, key);
}

/* ---- loop callbacks -------------------------------------------------------------------------- */

static void tui_on_stdin(void *arg)
{
    struct tui *t = arg;
    int avail = 0, key, n = 0;
    /* Readable with nothing to read is a hang-up (the terminal went away): leave, as for
     * SIGHUP, and stop watching so that poll() does not keep waking us. */
    if (ioctl(STDIN_FILENO, FIONREAD, &avail) == 0 && avail == 0) {
        wsloop_forget_fd(t->loop, STDIN_FILENO);
        tui_quit(t);
        return;
    }
    while (!t->done && (key = getch()) != ERR) {
        tui_key(t, key);
        n++;
    }
    if (n > 0 && !t->done) tui_redraw(t);
}

static void tui_resize(struct tui *t)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resizeterm(ws.ws_row, ws.ws_col);
    clear();
    tui_redraw(t);
}

static void tui_on_sigpipe(void *arg)
{
    struct tui *t = arg;
    unsigned char sigs[64];
    ssize_t n;
    bool resize = false, quit = false;
    while ((n = read(tui_sigpipe[0], sigs, sizeof(sigs))) > 0)
        for (ssize_t i = 0; i < n; i++) {
            if (sigs[i] == SIGWINCH)
                resize = true;
            else
                quit = true;
        }
    if (quit) {
        tui_quit(t);
        if (t->done) return;
    }
    if (resize) tui_resize(t);
}

static void tui_on_tick(void *arg)
{
    struct tui *t = arg;
    t->tick_armed = false;
    tui_redraw(t);
}

static void tui_on_flash_end(void *arg)
{
    struct tui *t = arg;
    t->flash_seats = 0;
    tui_redraw(t);
}

static void tui_on_msg_end(void *arg)
{
    struct tui *t = arg;
    t->bar_msg[0] = '\0';
    tui_redraw(t);
}

static void tui_on_leave_wait(void *arg)
{
    tui_finish(arg, 0);
}

/* Animations become a highlight of the seats concerned, for a moment. */
static void tui_animate(struct tui *t, const struct model *m)
{
    const struct model_anim *a = &m->anim;
    uint16_t seats = a->seats;
    int ms = TUI_FLASH_MS;
    if (a->serial == t->seen_anim_serial) return;
    t->seen_anim_serial = a->serial;
    if (a->seat >= 0 && a->seat < MODEL_MAX_SEATS) seats |= (uint16_t)(1u << a->seat);
    if (a->kind == MODEL_ANIM_AWARD) ms = TUI_AWARD_FLASH_MS;
    if (a->kind == MODEL_ANIM_NONE || seats == 0) return;
    t->flash_seats = seats;
    wstimer_arm(t->flash_end, ms);
}

static void tui_on_change(void *user)
{
    struct tui *t = user;
    const struct model *m = session_model(t->s);
    if (m->your_turn_serial != t->seen_turn_serial) {
        t->seen_turn_serial = m->your_turn_serial;
        if (!t->o.quiet && !t->o.spectate) beep();
        if (m->me_seat >= 0 && m->me_seat < MODEL_MAX_SEATS) {
            t->flash_seats |= (uint16_t)(1u << m->me_seat);
            wstimer_arm(t->flash_end, TUI_FLASH_MS);
        }
    }
    tui_animate(t, m);
    if (tui_pre_check(t, m)) wstimer_arm(t->pre_fire, 0);
    tui_redraw(t);
}

static void tui_on_state(void *user, const struct session_status *st)
{
    struct tui *t = user;
    if (st->state == SESSION_FAILED) {
        tui_finish(t, 1);
        return;
    }
    if (t->quitting && (st->state != SESSION_CONNECTED || session_queue_count(t->s) == 0)) {
        tui_finish(t, 0);
        return;
    }
    if (st->state == SESSION_OFFLINE && st->reason[0]) tui_message(t, st->reason);
    tui_redraw(t);
}

static void tui_on_notice(void *user, enum session_notice_kind kind, const char *text)
{
    struct tui *t = user;
    (void)kind;
    if (text && text[0]) tui_message(t, text);
    tui_redraw(t);
}

static void tui_on_chat_line(void *arg, const char *line)
{
    struct tui *t = arg;
    struct felt_err err;
    if (session_chat(t->s, line, &err) != 0) tui_message(t, err.message);
    /* The line stays open for the next message: only Esc or an empty Enter give the keys back
     * to the table, so words typed after a message never become actions. */
    if (!t->done) chat_open(TUI_CHAT_PROMPT);
}

static void tui_on_chat_redisplay(void *arg)
{
    tui_redraw(arg);
}

/* ---- set-up and teardown ----------------------------------------------------------------------
 */

static void tui_atexit(void)
{
    tui_endwin();
}

static int tui_sigpipe_open(void)
{
    if (pipe(tui_sigpipe) != 0) return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(tui_sigpipe[i], F_SETFL, fcntl(tui_sigpipe[i], F_GETFL) | O_NONBLOCK);
        fcntl(tui_sigpipe[i], F_SETFD, FD_CLOEXEC);
    }
    return 0;
}

static void tui_sigpipe_close(void)
{
    for (int i = 0; i < 2; i++) {
        if (tui_sigpipe[i] >= 0) close(tui_sigpipe[i]);
        tui_sigpipe[i] = -1;
    }
}

static bool tui_locale_utf8(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

static void tui_free(struct tui *t)
{
    free(t->sb);
    free(t->log);
    free(t);
}

int tui_run(struct wsloop *loop, struct session *s, const struct tui_options *o)
{
    static bool atexit_done;
    struct tui *t = xcalloc(1, sizeof(*t));
    int rc = 1;

    t->loop = loop;
    t->s = s;
    t->o = *o;
    t->sb = xcalloc(TUI_SCROLLBACK, sizeof(*t->sb));
    t->log = xcalloc(TUI_SCROLLBACK, sizeof(*t->log));
    struct session_status st0;
    session_status(s, &st0);
    t->o.spectate = t->o.spectate || st0.spectator; /* read-only whoever asked for it */
    setlocale(LC_ALL, "");
    t->utf8 = tui_locale_utf8();
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "felt: the table needs a terminal (use --json for scripts)\n");
        tui_free(t);
        return 2;
    }
    if (tui_sigpipe_open() != 0) {
        fprintf(stderr, "felt: cannot create a pipe: %s\n", strerror(errno));
        tui_free(t);
        return 1;
    }
    if (!atexit_done) {
        atexit(tui_atexit);
        atexit_done = true;
    }
    if (!initscr()) {
        fprintf(stderr, "felt: cannot start the terminal interface (is TERM set?)\n");
        goto out;
    }
    tui_curses_up = 1;
    tui_signals_install(); /* after initscr: ours replace ncurses' SIGWINCH/SIGINT handlers */
    cbreak();
    noecho();
    nonl();
    intrflush(stdscr, FALSE);
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    tui_colors_init(t);

    t->tick = wstimer_new(loop, tui_on_tick, t);
    t->flash_end = wstimer_new(loop, tui_on_flash_end, t);
    t->msg_end = wstimer_new(loop, tui_on_msg_end, t);
    t->leave_wait = wstimer_new(loop, tui_on_leave_wait, t);
    t->pre_fire = wstimer_new(loop, tui_on_pre_fire, t);
    t->hist = tuihist_new(loop, tui_on_hist_changed, t);
    chat_init(&(struct chat_callbacks){t, tui_on_chat_line, tui_on_chat_redisplay});
    const struct model *m = session_model(s);
    t->seen_turn_serial = m->your_turn_serial;
    t->seen_anim_serial = m->anim.serial;
    session_set_callbacks(s, &(struct session_callbacks){.user = t,
                                                         .on_state = tui_on_state,
                                                         .on_notice = tui_on_notice,
                                                         .on_change = tui_on_change});
    if (wsloop_adopt_fd(loop, STDIN_FILENO, tui_on_stdin, t) != 0 ||
        wsloop_adopt_fd(loop, tui_sigpipe[0], tui_on_sigpipe, t) != 0) {
        tui_endwin();
        fprintf(stderr, "felt: cannot watch the keyboard\n");
        goto teardown;
    }
    tui_redraw(t);
    if (wsloop_run(loop) != 0 && !t->done) t->exit_code = 1;
    rc = t->exit_code;
    wsloop_forget_fd(loop, STDIN_FILENO);
    wsloop_forget_fd(loop, tui_sigpipe[0]);

teardown:
    session_set_callbacks(s, &(struct session_callbacks){0});
    chat_shutdown();
    tui_endwin();
    wstimer_free(t->tick);
    wstimer_free(t->flash_end);
    wstimer_free(t->msg_end);
    wstimer_free(t->leave_wait);
    wstimer_free(t->pre_fire);
    tuihist_free(t->hist);
    t->hist = NULL;
    layout_grid_free(&t->grid);
out:
    tui_signals_restore();
    tui_sigpipe_close();
    tui_free(t);
    return rc;
}
