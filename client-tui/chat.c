/*
 * chat.c: the chat line editor: GNU readline through its callback interface, fed by hand.
 *
 * The pattern (after ulfalizer/readline-and-ncurses): readline catches no signals and no
 * SIGWINCH, has no terminal prep/deprep functions and does not export LINES/COLUMNS; its input
 * comes from chat_getc(), which hands out the bytes chat_key() queued, one
 * rl_callback_read_char() call per byte; its output is our redisplay function, which only asks
 * the TUI to redraw. Anything readline might still print (a completion list, a bell) goes to
 * /dev/null: completion is off (Tab inserts itself) and the bell style is "none".
 *
 * ncurses' keypad mode turns the arrow keys into KEY_* codes, which readline does not know, so
 * they are translated back into ANSI sequences, which chat_init binds explicitly (readline's
 * defaults for Delete, say, depend on the terminal's terminfo entry).
 */
#include "chat.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "util.h"

static struct {
    bool inited;
    bool open;
    struct chat_callbacks cb;
    unsigned char in[16]; /* bytes waiting for readline */
    size_t in_len, in_pos;
    FILE *sink; /* where readline's own output goes: nowhere */
} chat_st;

/* ncurses key codes and the bytes readline expects for them. */
static const struct {
    int key;
    const char *seq;
} chat_keymap[] = {
    {KEY_LEFT, "\033[D"}, {KEY_RIGHT, "\033[C"},   {KEY_UP, "\033[A"},
    {KEY_DOWN, "\033[B"}, {KEY_HOME, "\033[H"},    {KEY_END, "\033[F"},
    {KEY_DC, "\033[3~"},  {KEY_BACKSPACE, "\177"}, {KEY_ENTER, "\r"},
};

static int chat_getc(FILE *f)
{
    (void)f;
    if (chat_st.in_pos < chat_st.in_len) return chat_st.in[chat_st.in_pos++];
    return EOF; /* not reached: readline reads only when chat_input_available says so */
}

static int chat_input_available(void)
{
    return chat_st.in_pos < chat_st.in_len;
}

static void chat_redisplay(void)
{
    if (chat_st.cb.on_redisplay) chat_st.cb.on_redisplay(chat_st.cb.arg);
}

static bool chat_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t') return false;
    return true;
}

/* readline's line handler: the line is done (NULL for Ctrl-D on an empty line). */
static void chat_on_line(char *line)
{
    chat_st.open = false;
    rl_callback_handler_remove();
    if (line && !chat_blank(line)) {
        add_history(line);
        if (chat_st.cb.on_line) chat_st.cb.on_line(chat_st.cb.arg, line);
    }
    free(line);
    chat_redisplay();
}

void chat_init(const struct chat_callbacks *cb)
{
    chat_st.cb = *cb;
    if (chat_st.inited) return;
    chat_st.inited = true;
    chat_st.sink = fopen("/dev/null", "w");
    rl_readline_name = "felt";
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_change_environment = 0;
    rl_prep_term_function = NULL;
    rl_deprep_term_function = NULL;
    rl_getc_function = chat_getc;
    rl_input_available_hook = chat_input_available;
    rl_redisplay_function = chat_redisplay;
    if (chat_st.sink) rl_outstream = chat_st.sink;
    rl_initialize();
    rl_variable_bind("bell-style", "none");
    rl_bind_key('\t', rl_insert);
    /* The sequences chat_keymap produces, bound whatever the terminal's terminfo says. */
    rl_bind_keyseq("\033[A", rl_get_previous_history);
    rl_bind_keyseq("\033[B", rl_get_next_history);
    rl_bind_keyseq("\033[C", rl_forward_char);
    rl_bind_keyseq("\033[D", rl_backward_char);
    rl_bind_keyseq("\033[H", rl_beg_of_line);
    rl_bind_keyseq("\033[F", rl_end_of_line);
    rl_bind_keyseq("\033[3~", rl_delete);
    using_history();
    stifle_history(CHAT_HISTORY_MAX);
}

void chat_shutdown(void)
{
    if (!chat_st.inited) return;
    chat_close();
    clear_history();
    if (chat_st.sink) {
        rl_outstream = stdout;
        fclose(chat_st.sink);
        chat_st.sink = NULL;
    }
    chat_st.inited = false;
}

void chat_open(const char *prompt)
{
    if (!chat_st.inited || chat_st.open) return;
    chat_st.open = true;
    chat_st.in_len = chat_st.in_pos = 0;
    using_history(); /* the up arrow starts from the newest line again */
    rl_callback_handler_install(prompt, chat_on_line);
}

void chat_close(void)
{
    if (!chat_st.open) return;
    chat_st.open = false;
    chat_st.in_len = chat_st.in_pos = 0;
    rl_callback_sigcleanup(); /* drops a half-read key sequence */
    rl_replace_line("", 1);
    rl_point = rl_end = 0;
    rl_callback_handler_remove();
}

bool chat_is_open(void)
{
    return chat_st.open;
}

void chat_key(int key)
{
    const char *seq = NULL;
    char one[2] = {0, 0};
    if (!chat_st.open) return;
    if (key >= 0 && key <= 0xff) {
        one[0] = (char)key;
        seq = one;
    } else {
        for (size_t i = 0; i < FELT_ARRAY_LEN(chat_keymap); i++)
            if (chat_keymap[i].key == key) seq = chat_keymap[i].seq;
    }
    if (!seq) return;
    /* A key is at most a few bytes; all of it is fed before returning. NUL (Ctrl-Space) is a
     * valid key of its own, hence the explicit length for the one-byte case. */
    size_t n = seq == one ? 1 : strlen(seq);
    memcpy(chat_st.in, seq, n);
    chat_st.in_len = n;
    chat_st.in_pos = 0;
    while (chat_st.open && chat_st.in_pos < chat_st.in_len) {
        size_t before = chat_st.in_pos;
        rl_callback_read_char();
        if (chat_st.in_pos == before) break; /* readline took nothing: do not spin */
    }
    chat_st.in_len = chat_st.in_pos = 0;
}

/* Columns of the first nbytes of s, as layout_put draws them. */
static int chat_cols(const char *s, size_t nbytes, bool utf8)
{
    int cols = 0, w;
    size_t i = 0;
    while (i < nbytes && s[i]) {
        int n = layout_next_char(s + i, utf8, &w);
        if (w > 0) cols += w;
        i += (size_t)n;
    }
    return cols;
}

int chat_render(struct layout_grid *g, struct layout_rect r)
{
    const char *prompt = chat_st.open && rl_display_prompt ? rl_display_prompt : "";
    const char *line = chat_st.open && rl_line_buffer ? rl_line_buffer : "";
    size_t point = chat_st.open && rl_point > 0 ? (size_t)rl_point : 0;
    int pw, cursor, skip, x;
    size_t len = strlen(line);

    for (int i = r.x; i < r.x + r.w; i++)
        layout_put(g, i, r.y, 1, LAYOUT_S_NORMAL, " ");
    if (point > len) point = len;
    pw = layout_put(g, r.x, r.y, r.w, LAYOUT_S_KEY, prompt);
    int avail = r.w - pw - 1; /* one column left for the cursor at the end */
    if (avail < 1) return r.x + r.w - 1;
    cursor = chat_cols(line, point, g->utf8);
    /* Scroll sideways so that the cursor stays in view, keeping a few columns of context. */
    skip = cursor < avail ? 0 : cursor - avail + 1 + (avail > 16 ? 8 : 0);
    x = 0;
    for (size_t i = 0; i < len;) {
        int w;
        int n = layout_next_char(line + i, g->utf8, &w);
        if (w > 0) {
            if (x >= skip && x - skip + w <= avail) {
                char ch[8];
                size_t m = (size_t)n < sizeof(ch) ? (size_t)n : sizeof(ch) - 1;
                memcpy(ch, line + i, m);
                ch[m] = '\0';
                layout_put(g, r.x + pw + x - skip, r.y, w, LAYOUT_S_NORMAL, ch);
            }
            x += w;
        }
        i += (size_t)n;
    }
    return r.x + pw + cursor - skip;
}
