/*
 * test_layout.c: the table screen's layout on fixed-size virtual screens.
 *
 * layout_draw() writes into a plain grid of cells, so these tests draw a table at 80x24,
 * 100x30, 120x40 and other sizes, with 2 to 10 seats, and read back what a person would see:
 * every seat's name inside its box, boxes that never overlap and stay on the table, our own seat
 * at the bottom centre with the others clockwise, own cards drawn large, the legal actions only,
 * the status line's states, the "terminal too small" message, and text that can never carry a
 * control character to the terminal whatever the view holds. The log's scrollback: which lines
 * show for an offset (layout_scroll_compute on lines of known heights), the "more below"
 * marker, and the clamping at the oldest page.
 */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "layout.h"

static const char *const names[LAYOUT_MAX_SEATS] = {"alice",   "ada-bot", "bo-bot",  "cy-bot",
                                                    "di-bot",  "ed-bot",  "flo-bot", "gus-bot",
                                                    "hal-bot", "ivy-bot"};

static struct layout_line log_lines[] = {
    {NULL, "Hand #12", LAYOUT_S_BOLD},
    {NULL, "ada-bot raises to 40", LAYOUT_S_NORMAL},
    {NULL, "bo-bot folds", LAYOUT_S_NORMAL},
};
static struct layout_line chat_lines[] = {
    {"alice", "hello there", LAYOUT_S_NORMAL},
    {"ada-bot", "gl", LAYOUT_S_NORMAL},
};

/* A table in the middle of a hand: we (seat my) hold A♥ K♠, the flop is T♦ 2♣ 7♥. */
static void view_init(struct layout_view *v, int nseats, int my)
{
    memset(v, 0, sizeof(*v));
    v->table_name = "main";
    v->small_blind = 5;
    v->big_blind = 10;
    v->hand_id = 12;
    v->hand_running = true;
    v->nseats = nseats;
    v->my_seat = my;
    for (int i = 0; i < nseats; i++) {
        v->seat[i] = (struct layout_seat){.status = LAYOUT_SEAT_ACTIVE,
                                          .name = names[i],
                                          .stack = 1000 - i * 10,
                                          .clock_s = -1,
                                          .win_pct = -1,
                                          .ncards = 2,
                                          .cards = {CARD_NONE, CARD_NONE}};
    }
    if (my >= 0) {
        v->seat[my].me = true;
        v->seat[my].cards[0] = card_make(12, 2); /* Ah */
        v->seat[my].cards[1] = card_make(11, 3); /* Ks */
    }
    v->nboard = 3;
    v->board[0] = card_make(8, 1); /* Td */
    v->board[1] = card_make(0, 0); /* 2c */
    v->board[2] = card_make(5, 2); /* 7h */
    v->npots = 2;
    v->pots[0] = 1200;
    v->pots[1] = 300;
    v->log = log_lines;
    v->nlog = 3;
    v->chat = chat_lines;
    v->nchat = 2;
    v->chat_allowed = true;
    v->mode = LAYOUT_MODE_TURN;
    v->turn = (struct layout_turn){.call = 20,
                                   .can_raise = true,
                                   .min_raise_to = 40,
                                   .max_raise_to = 1000,
                                   .stack = 1000,
                                   .clock_s = 25};
    v->status = (struct layout_status){.conn = LAYOUT_CONN_CONNECTED, .rtt_ms = 3, .spectators = 1};
}

static void draw(struct layout_grid *g, int cols, int rows, const struct layout_view *v,
                 struct layout_geometry *geo)
{
    g->utf8 = true;
    layout_grid_resize(g, cols, rows);
    layout_draw(g, v, geo);
}

/* True if text appears in the rows of r (each row read across r's columns). */
static bool rect_has(const struct layout_grid *g, struct layout_rect r, const char *text)
{
    char buf[8192];
    for (int y = r.y; y < r.y + r.h; y++)
        if (strstr(layout_row_text(g, r.x, y, r.w, buf, sizeof(buf)), text)) return true;
    return false;
}

static struct layout_rect whole(const struct layout_grid *g)
{
    return (struct layout_rect){0, 0, g->cols, g->rows};
}

static bool screen_has(const struct layout_grid *g, const char *text)
{
    return rect_has(g, whole(g), text);
}

static bool overlap(struct layout_rect a, struct layout_rect b)
{
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

static bool inside(struct layout_rect in, struct layout_rect out)
{
    return in.x >= out.x && in.y >= out.y && in.x + in.w <= out.x + out.w &&
           in.y + in.h <= out.y + out.h;
}

/* The style of the first cell whose text is exactly s, or -1. */
static int style_of(const struct layout_grid *g, const char *s)
{
    for (int y = 0; y < g->rows; y++)
        for (int x = 0; x < g->cols; x++) {
            const struct layout_cell *c = layout_cell_at(g, x, y);
            if (strcmp(c->text, s) == 0) return c->style;
        }
    return -1;
}

static void test_too_small(void **state)
{
    static const int sizes[][2] = {{79, 24}, {80, 23}, {40, 10}, {20, 5}};
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    view_init(&v, 6, 0);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        draw(&g, sizes[i][0], sizes[i][1], &v, &geo);
        assert_true(geo.too_small);
        /* On the tiniest screens the message wraps, but no word is cut. */
        assert_true(screen_has(&g, sizes[i][0] >= 40 ? "Terminal too small" : "small"));
        assert_true(screen_has(&g, "80x24"));
        assert_false(screen_has(&g, "alice"));
    }
    draw(&g, 80, 24, &v, &geo);
    assert_false(geo.too_small);
    assert_false(screen_has(&g, "too small"));
    layout_grid_free(&g);
}

static void test_80x24_hand_in_progress(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    view_init(&v, 6, 0);
    draw(&g, 80, 24, &v, &geo);
    assert_false(geo.too_small);
    for (int s = 0; s < 6; s++)
        assert_true(rect_has(&g, geo.seat[s], names[s]));
    /* Our cards: in the title of the hand panel, and large (rank and suit on their own). */
    struct layout_rect title = {geo.hand.x, geo.hand.y - 1, geo.hand.w, 1};
    assert_true(rect_has(&g, title, "A\u2665 K\u2660"));
    assert_true(rect_has(&g, geo.hand, "\u2502A  \u2502"));
    assert_true(rect_has(&g, geo.hand, "\u2665"));
    assert_true(rect_has(&g, geo.hand, "K"));
    /* The board and the pots in the centre. */
    assert_true(rect_has(&g, geo.board, "T\u2666 2\u2663 7\u2665"));
    assert_true(rect_has(&g, geo.board, "pot 1,200"));
    assert_true(rect_has(&g, geo.board, "side 300"));
    /* Face-down cards of the others. */
    assert_true(rect_has(&g, geo.seat[1], "\u2592\u2592 \u2592\u2592"));
    /* The bar: our legal actions with amounts. */
    assert_true(rect_has(&g, geo.bar, "f fold"));
    assert_true(rect_has(&g, geo.bar, "c call 20"));
    assert_true(rect_has(&g, geo.bar, "r raise 40-1,000"));
    assert_true(rect_has(&g, geo.bar, "a all-in 1,000"));
    assert_true(rect_has(&g, geo.bar, "25s"));
    /* The panes and the status line. */
    assert_true(rect_has(&g, geo.log, "ada-bot raises to 40"));
    assert_true(rect_has(&g, geo.chat, "alice: hello there"));
    assert_true(rect_has(&g, geo.status, "connected"));
    assert_true(rect_has(&g, geo.status, "rtt 3 ms"));
    assert_true(rect_has(&g, geo.status, "queued: 0"));
    assert_true(rect_has(&g, geo.status, "spectators: 1"));
    assert_true(rect_has(&g, geo.status, "main 5/10"));
    assert_true(rect_has(&g, geo.status, "hand #12"));
    assert_true(rect_has(&g, geo.input, "Enter or / chat"));
    layout_grid_free(&g);
}

/* Every size and seat count: boxes on the table, apart, with their names; ours at the bottom
 * centre, the next seat to our left (clockwise), the one before us to our right. */
static void test_seats_every_size(void **state)
{
    static const int sizes[][2] = {{80, 24},  {81, 25},  {100, 30}, {120, 40},
                                   {132, 43}, {200, 60}, {300, 90}, {80, 60}};
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (int n = 2; n <= LAYOUT_MAX_SEATS; n++) {
            for (int my = 0; my<n; my += n - 1> 0 ? n - 1 : 1) {
                view_init(&v, n, my);
                draw(&g, sizes[i][0], sizes[i][1], &v, &geo);
                assert_false(geo.too_small);
                for (int s = 0; s < n; s++) {
                    assert_true(geo.seat[s].w >= 10);
                    assert_true(inside(geo.seat[s], geo.table));
                    assert_true(rect_has(&g, geo.seat[s], names[s]));
                    for (int o = s + 1; o < n; o++)
                        assert_false(overlap(geo.seat[s], geo.seat[o]));
                    assert_true(geo.seat[s].y + geo.seat[s].h <= geo.seat[my].y + geo.seat[my].h);
                }
                int mid = geo.table.x + geo.table.w / 2;
                int my_mid = geo.seat[my].x + geo.seat[my].w / 2;
                assert_true(my_mid >= mid - 1 && my_mid <= mid + 1);
                assert_int_equal(geo.seat[my].y + geo.seat[my].h, geo.table.y + geo.table.h);
                if (n >= 3) {
                    struct layout_rect next = geo.seat[(my + 1) % n];
                    struct layout_rect prev = geo.seat[(my + n - 1) % n];
                    assert_true(next.x + next.w / 2 < mid);
                    assert_true(prev.x + prev.w / 2 > mid);
                }
                /* The strip and the bottom rows never run into the table. */
                assert_true(geo.hand.y > geo.table.y + geo.table.h);
                assert_true(geo.bar.y >= geo.hand.y + geo.hand.h);
                assert_int_equal(geo.status.y, sizes[i][1] - 1);
            }
        }
    }
    layout_grid_free(&g);
}

static void test_ten_seats_80x24(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    view_init(&v, 10, 3);
    v.seat[7].bet = 20;
    draw(&g, 80, 24, &v, &geo);
    for (int s = 0; s < 10; s++)
        assert_true(rect_has(&g, geo.seat[s], names[s]));
    /* The bet is somewhere: on the cloth or in the seat box. */
    assert_true(screen_has(&g, "\u25cf20") || rect_has(&g, geo.seat[7], "bet 20"));
    layout_grid_free(&g);
}

static void test_larger_screen_uses_room(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry small, big;
    struct layout_view v;
    (void)state;
    view_init(&v, 6, 0);
    draw(&g, 80, 24, &v, &small);
    draw(&g, 120, 40, &v, &big);
    assert_true(big.table.h > small.table.h);
    assert_true(big.seat[0].w > small.seat[0].w);
    assert_true(big.log.h > small.log.h);
    assert_true(big.chat.w > small.chat.w);
    /* Board cards as boxes when the table is tall enough. */
    assert_true(rect_has(&g, big.board, "\u2502T\u2666\u2502"));
    assert_true(rect_has(&g, big.board, "\u250c\u2500\u2500\u2510"));
    layout_grid_free(&g);
}

static void test_bar_shows_legal_actions_only(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    view_init(&v, 6, 0);
    v.turn = (struct layout_turn){.can_check = true, .stack = 500, .clock_s = -1};
    draw(&g, 100, 30, &v, &geo);
    assert_true(rect_has(&g, geo.bar, "c check"));
    assert_false(rect_has(&g, geo.bar, "call"));
    assert_false(rect_has(&g, geo.bar, "raise"));
    assert_false(rect_has(&g, geo.bar, "all-in"));
    assert_true(rect_has(&g, geo.bar, "f fold"));

    /* Covered: calling is all-in, no raise. */
    v.turn = (struct layout_turn){.call = 500, .stack = 500, .clock_s = -1};
    draw(&g, 100, 30, &v, &geo);
    assert_true(rect_has(&g, geo.bar, "c call 500 (all-in)"));
    assert_false(rect_has(&g, geo.bar, "r raise"));

    /* Not our turn: no actions, who we wait for and their clock. */
    v.mode = LAYOUT_MODE_IDLE;
    v.waiting_for = "ada-bot";
    v.waiting_clock_s = 7;
    draw(&g, 100, 30, &v, &geo);
    assert_false(rect_has(&g, geo.bar, "fold"));
    assert_true(rect_has(&g, geo.bar, "waiting for ada-bot (7s)"));
    layout_grid_free(&g);
}

static void test_raise_prompt(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    view_init(&v, 6, 0);
    v.mode = LAYOUT_MODE_RAISE;
    v.raise_input = "55";
    draw(&g, 120, 40, &v, &geo);
    assert_true(rect_has(&g, geo.bar, "raise to: 55_"));
    assert_true(rect_has(&g, geo.bar, "(min 40, max 1,000)"));
    assert_true(rect_has(&g, geo.bar, "h half pot"));
    assert_true(rect_has(&g, geo.bar, "p pot"));
    assert_true(rect_has(&g, geo.bar, "a all-in"));
    assert_true(rect_has(&g, geo.bar, "Esc back"));
    v.bar_message = "the smallest raise is to 40";
    draw(&g, 80, 24, &v, &geo);
    assert_true(rect_has(&g, geo.bar, "the smallest raise is to 40"));
    assert_int_equal(style_of(&g, "_"), LAYOUT_S_KEY);
    layout_grid_free(&g);
}

static void test_modes_seat_gone_and_confirm(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    view_init(&v, 6, 0);
    v.mode = LAYOUT_MODE_SEAT_GONE;
    draw(&g, 80, 24, &v, &geo);
    assert_true(rect_has(&g, geo.bar, "Your seat is gone (server restarted)."));
    assert_true(rect_has(&g, geo.bar, "Press j to join again, q to quit"));
    v.mode = LAYOUT_MODE_CONFIRM_QUIT;
    draw(&g, 80, 24, &v, &geo);
    assert_true(rect_has(&g, geo.bar, "Leave the table?"));
    assert_true(rect_has(&g, geo.bar, "y leave"));
    assert_true(rect_has(&g, geo.bar, "n stay"));
    layout_grid_free(&g);
}

static void test_status_line_states(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    view_init(&v, 6, 0);
    v.status = (struct layout_status){
        .conn = LAYOUT_CONN_RECONNECTING, .attempt = 3, .next_in_s = 4, .rtt_ms = -1, .queued = 2};
    draw(&g, 80, 24, &v, &geo);
    assert_true(rect_has(&g, geo.status, "reconnecting #3 in 4s"));
    assert_true(rect_has(&g, geo.status, "queued: 2"));
    assert_false(rect_has(&g, geo.status, "rtt"));
    assert_false(rect_has(&g, geo.status, "connected"));
    v.status.conn = LAYOUT_CONN_OFFLINE;
    draw(&g, 80, 24, &v, &geo);
    assert_true(rect_has(&g, geo.status, "offline"));
    v.status =
        (struct layout_status){.conn = LAYOUT_CONN_CONNECTED, .polling = true, .rtt_ms = 120};
    draw(&g, 80, 24, &v, &geo);
    assert_true(rect_has(&g, geo.status, "polling"));
    assert_true(rect_has(&g, geo.status, "rtt 120 ms"));
    assert_false(rect_has(&g, geo.status, "127.0.0.1"));
    /* Given several servers, felt says which one it is on. */
    v.status = (struct layout_status){
        .conn = LAYOUT_CONN_CONNECTED, .rtt_ms = 3, .server = "127.0.0.1:8001"};
    draw(&g, 80, 24, &v, &geo);
    assert_true(rect_has(&g, geo.status, "connected (127.0.0.1:8001)  rtt 3 ms"));
    layout_grid_free(&g);
}

/* The input line offers s to sit out, or to sit back in once sitting out; spectators get none. */
static void test_sit_hint(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    view_init(&v, 6, 0);
    v.sit_key = 1;
    draw(&g, 100, 30, &v, &geo);
    assert_true(rect_has(&g, geo.input, "s sit out"));
    assert_false(rect_has(&g, geo.input, "sit in"));
    v.sit_key = 2;
    draw(&g, 100, 30, &v, &geo);
    assert_true(rect_has(&g, geo.input, "s sit in"));
    v.sit_key = 0;
    draw(&g, 100, 30, &v, &geo);
    assert_false(rect_has(&g, geo.input, "sit "));
    layout_grid_free(&g);
}

static void test_spectator_view(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    view_init(&v, 6, -1);
    v.mode = LAYOUT_MODE_IDLE;
    v.status.spectating = true;
    v.chat_allowed = false;
    draw(&g, 100, 30, &v, &geo);
    /* Seat 0 at the bottom, no own cards, no actions, no chat hint, the status says so. */
    for (int s = 1; s < 6; s++)
        assert_true(geo.seat[s].y <= geo.seat[0].y);
    assert_true(rect_has(&g, geo.hand, "spectating"));
    assert_false(rect_has(&g, geo.bar, "fold"));
    assert_false(rect_has(&g, geo.input, "chat"));
    assert_true(rect_has(&g, geo.input, "q quit"));
    assert_true(rect_has(&g, geo.status, "SPECTATING"));
    layout_grid_free(&g);
}

/* Whatever bytes a name or a chat line holds, no cell ever carries a control character. */
static void test_never_draws_control_characters(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    struct layout_line evil_chat[] = {{"m\x1b]0;x\x07",
                                       "a\x1b[2Jb\r\nc\x9b"
                                       "1m\xff",
                                       0}};
    (void)state;
    view_init(&v, 6, 0);
    v.seat[2].name = "\x1b[31mev\x07il\xc3";
    v.banner = "\x1b[H\x08win";
    v.chat = evil_chat;
    v.nchat = 1;
    draw(&g, 100, 30, &v, &geo);
    for (int y = 0; y < g.rows; y++)
        for (int x = 0; x < g.cols; x++) {
            const unsigned char *t = (const unsigned char *)layout_cell_at(&g, x, y)->text;
            for (; *t; t++) {
                assert_true(*t >= 0x20);
                assert_true(*t != 0x7f);
            }
        }
    /* The printable parts survive; the invalid byte is a '?'. */
    assert_true(rect_has(&g, geo.seat[2], "[31mevil?"));
    assert_true(rect_has(&g, geo.chat, "[2Jbc"));
    layout_grid_free(&g);
}

static void test_wide_characters(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    view_init(&v, 6, 0);
    v.seat[1].name = "\u540d\u524d\u304c\u9577\u3044\u540d\u524d\u304c\u9577\u3044";
    draw(&g, 80, 24, &v, &geo);
    assert_true(rect_has(&g, geo.seat[1], "\u540d\u524d"));
    /* A wide character is one cell of width 2 and a cell of width 0; it never hangs over the
     * box's right edge. */
    struct layout_rect r = geo.seat[1];
    int cols = 0;
    for (int x = r.x; x < r.x + r.w; x++) {
        const struct layout_cell *c = layout_cell_at(&g, x, r.y);
        if (strcmp(c->text, "\u540d") == 0) {
            assert_int_equal(c->width, 2);
            assert_int_equal(layout_cell_at(&g, x + 1, r.y)->width, 0);
        }
        cols += c->width;
    }
    assert_int_equal(cols, r.w);
    assert_int_equal(layout_text_cols("\u540d\u524d"), 4);

    /* layout_put stops before a wide character that would not fit. */
    layout_grid_resize(&g, 10, 1);
    assert_int_equal(layout_put(&g, 0, 0, 5, LAYOUT_S_NORMAL, "\u540d\u524d\u304c"), 4);
    layout_grid_free(&g);
}

static void test_ascii_and_non_utf8(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    view_init(&v, 6, 0);
    v.ascii = true;
    draw(&g, 100, 30, &v, &geo);
    struct layout_rect title = {geo.hand.x, geo.hand.y - 1, geo.hand.w, 1};
    assert_true(rect_has(&g, title, "Ah Ks"));
    assert_true(rect_has(&g, geo.board, "Td"));
    assert_true(rect_has(&g, geo.seat[1], "## ##"));
    for (int y = 0; y < g.rows; y++)
        for (int x = 0; x < g.cols; x++)
            for (const unsigned char *t = (const unsigned char *)layout_cell_at(&g, x, y)->text; *t;
                 t++)
                assert_true(*t < 0x80);

    /* A terminal without UTF-8: even names become ASCII ('?' per character). */
    v.seat[1].name = "Jos\u00e9";
    g.utf8 = false;
    layout_grid_resize(&g, 100, 30);
    layout_draw(&g, &v, &geo);
    assert_true(rect_has(&g, geo.seat[1], "Jos?"));
    layout_grid_free(&g);
}

static void test_suit_colours(void **state)
{
    char buf[16];
    (void)state;
    assert_int_equal(layout_card_text(card_make(0, 1), false, false, buf, sizeof(buf)),
                     LAYOUT_S_CARD_RED);
    assert_string_equal(buf, "2\u2666");
    assert_int_equal(layout_card_text(card_make(0, 2), false, false, buf, sizeof(buf)),
                     LAYOUT_S_CARD_RED);
    assert_int_equal(layout_card_text(card_make(0, 0), false, false, buf, sizeof(buf)),
                     LAYOUT_S_CARD_BLACK);
    assert_int_equal(layout_card_text(card_make(0, 3), false, false, buf, sizeof(buf)),
                     LAYOUT_S_CARD_BLACK);
    /* Four colours: diamonds blue, clubs green. */
    assert_int_equal(layout_card_text(card_make(9, 1), true, true, buf, sizeof(buf)),
                     LAYOUT_S_CARD_BLUE);
    assert_string_equal(buf, "Jd");
    assert_int_equal(layout_card_text(card_make(9, 0), true, true, buf, sizeof(buf)),
                     LAYOUT_S_CARD_GREEN);
    assert_int_equal(layout_card_text(card_make(9, 2), true, true, buf, sizeof(buf)),
                     LAYOUT_S_CARD_RED);
    assert_int_equal(layout_card_text(CARD_NONE, true, false, buf, sizeof(buf)),
                     LAYOUT_S_CARD_BACK);
    assert_string_equal(buf, "##");

    /* On the screen, the suit characters carry their colour. */
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    view_init(&v, 6, 0);
    v.four_color = true;
    draw(&g, 80, 24, &v, &geo);
    assert_int_equal(style_of(&g, "\u2666"), LAYOUT_S_CARD_BLUE);
    assert_int_equal(style_of(&g, "\u2663"), LAYOUT_S_CARD_GREEN);
    assert_int_equal(style_of(&g, "\u2665"), LAYOUT_S_CARD_RED);
    layout_grid_free(&g);
}

static void test_chat_wraps_newest_at_bottom(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    struct layout_line lines[] = {
        {"bob", "first", LAYOUT_S_NORMAL},
        {"carol",
         "a long line that certainly does not fit on one row of the chat pane at "
         "eighty columns and so has to wrap at spaces END",
         LAYOUT_S_NORMAL},
    };
    (void)state;
    view_init(&v, 6, 0);
    v.chat = lines;
    v.nchat = 2;
    draw(&g, 80, 24, &v, &geo);
    struct layout_rect last = {geo.chat.x, geo.chat.y + geo.chat.h - 1, geo.chat.w, 1};
    assert_true(rect_has(&g, last, "END"));
    assert_true(rect_has(&g, geo.chat, "carol: a long line"));
    assert_true(rect_has(&g, geo.chat, "bob: first"));
    /* Words are not cut in the middle: each one is whole on some row. */
    static const char *const words[] = {"certainly", "eighty", "columns", "wrap", "spaces"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        assert_true(rect_has(&g, geo.chat, words[i]));
    int rows_with_text = 0;
    char buf[512];
    for (int y = geo.chat.y; y < geo.chat.y + geo.chat.h; y++)
        if (strspn(layout_row_text(&g, geo.chat.x, y, geo.chat.w, buf, sizeof(buf)), " ") <
            strlen(buf))
            rows_with_text++;
    assert_true(rows_with_text >= 4);
    /* Names in their own style, the text in the line's. */
    for (int y = geo.chat.y; y < geo.chat.y + geo.chat.h; y++) {
        layout_row_text(&g, geo.chat.x, y, geo.chat.w, buf, sizeof(buf));
        if (strncmp(buf, "carol: ", 7) == 0) {
            assert_int_equal(layout_cell_at(&g, geo.chat.x, y)->style, LAYOUT_S_CHAT_NAME);
            assert_int_equal(layout_cell_at(&g, geo.chat.x + 7, y)->style, LAYOUT_S_NORMAL);
        }
    }
    layout_grid_free(&g);
}

static void test_seat_details(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    view_init(&v, 6, 0);
    v.mode = LAYOUT_MODE_IDLE;
    v.seat[1].to_act = true;
    v.seat[1].clock_s = 12;
    v.seat[2].status = LAYOUT_SEAT_FOLDED;
    v.seat[2].ncards = 0;
    v.seat[3].status = LAYOUT_SEAT_ALL_IN;
    v.seat[3].win_pct = 45;
    v.seat[3].cards[0] = card_make(3, 3);
    v.seat[3].cards[1] = card_make(3, 2);
    v.seat[4].status = LAYOUT_SEAT_SITTING_OUT;
    v.seat[5].status = LAYOUT_SEAT_EMPTY;
    v.seat[0].dealer = true;
    v.seat[0].won = 300;
    draw(&g, 100, 30, &v, &geo);
    assert_true(rect_has(&g, geo.seat[1], "to act 12s"));
    assert_int_equal(layout_cell_at(&g, geo.seat[1].x, geo.seat[1].y)->style, LAYOUT_S_TO_ACT);
    assert_true(rect_has(&g, geo.seat[2], "folded"));
    assert_true(rect_has(&g, geo.seat[3], "ALL-IN"));
    assert_true(rect_has(&g, geo.seat[3], "45%"));
    assert_true(rect_has(&g, geo.seat[3], "5\u2660 5\u2665"));
    assert_true(rect_has(&g, geo.seat[4], "sitting out"));
    assert_true(rect_has(&g, geo.seat[5], "empty"));
    assert_true(rect_has(&g, geo.seat[0], "(D) alice"));
    assert_true(rect_has(&g, geo.seat[0], "wins 300"));
    layout_grid_free(&g);
}

static void test_chips(void **state)
{
    char buf[32];
    (void)state;
    assert_string_equal(layout_chips(0, buf, sizeof(buf)), "0");
    assert_string_equal(layout_chips(999, buf, sizeof(buf)), "999");
    assert_string_equal(layout_chips(1000, buf, sizeof(buf)), "1,000");
    assert_string_equal(layout_chips(1234567, buf, sizeof(buf)), "1,234,567");
    assert_string_equal(layout_chips(-5000, buf, sizeof(buf)), "-5,000");
    assert_string_equal(layout_chips(1000000000000LL, buf, sizeof(buf)), "1,000,000,000,000");
}

/* Before the first snapshot: no seats yet, still a coherent screen. */
static void test_before_snapshot(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    memset(&v, 0, sizeof(v));
    v.my_seat = -1;
    v.status.conn = LAYOUT_CONN_CONNECTING;
    draw(&g, 80, 24, &v, &geo);
    assert_true(screen_has(&g, "joining the table"));
    assert_true(rect_has(&g, geo.status, "connecting"));
    layout_grid_free(&g);
}

/* ---- the log's scrollback ------------------------------------------------------------------ */

struct heights {
    const int *rows; /* NULL: every line one row */
    int calls;
};

static int heights_rows(void *ctx, int i)
{
    struct heights *h = ctx;
    h->calls++;
    return h->rows ? h->rows[i] : 1;
}

static void test_scroll_follows_newest(void **state)
{
    struct heights h = {NULL, 0};
    struct layout_scroll sc;
    (void)state;
    layout_scroll_compute(10, 5, 0, heights_rows, &h, &sc);
    assert_int_equal(sc.first, 5);
    assert_int_equal(sc.last, 9);
    assert_int_equal(sc.y0, 0);
    assert_int_equal(sc.rows, 5);
    assert_int_equal(sc.page, 5);
    assert_int_equal(sc.offset, 0);
    assert_int_equal(sc.below, 0);
    assert_false(sc.marker);
    /* Fewer lines than rows: the newest at the bottom, blank rows above. */
    layout_scroll_compute(3, 5, 0, heights_rows, &h, &sc);
    assert_int_equal(sc.first, 0);
    assert_int_equal(sc.last, 2);
    assert_int_equal(sc.y0, 2);
    assert_false(sc.marker);
    /* Nothing to show. */
    layout_scroll_compute(0, 5, 7, heights_rows, &h, &sc);
    assert_int_equal(sc.first, -1);
    assert_int_equal(sc.last, -1);
    assert_int_equal(sc.offset, 0);
    assert_false(sc.marker);
}

static void test_scroll_back_and_marker(void **state)
{
    struct heights h = {NULL, 0};
    struct layout_scroll sc;
    (void)state;
    /* 20 lines, 5 rows, 3 back: the marker takes the last row, line 16 is at the bottom of the
     * other four. */
    layout_scroll_compute(20, 5, 3, heights_rows, &h, &sc);
    assert_true(sc.marker);
    assert_int_equal(sc.rows, 4);
    assert_int_equal(sc.last, 16);
    assert_int_equal(sc.first, 13);
    assert_int_equal(sc.y0, 0);
    assert_int_equal(sc.page, 4);
    assert_int_equal(sc.offset, 3);
    assert_int_equal(sc.below, 3);
    /* One line back from the oldest page is still bottom-anchored. */
    layout_scroll_compute(20, 5, 15, heights_rows, &h, &sc);
    assert_int_equal(sc.last, 4);
    assert_int_equal(sc.first, 1);
    assert_int_equal(sc.offset, 15);
}

static void test_scroll_clamps_at_oldest(void **state)
{
    struct heights h = {NULL, 0};
    struct layout_scroll sc;
    (void)state;
    /* Far past the top (Home asks for "everything"): line 0 at the top of the rows above the
     * marker, the offset clamped to that page. */
    layout_scroll_compute(20, 5, 1000, heights_rows, &h, &sc);
    assert_true(sc.marker);
    assert_int_equal(sc.first, 0);
    assert_int_equal(sc.y0, 0);
    assert_int_equal(sc.last, 3);
    assert_int_equal(sc.offset, 16);
    assert_int_equal(sc.below, 16);
    assert_int_equal(sc.page, 4);
    /* Everything fits in the pane: there is nothing to scroll, whatever was asked. */
    layout_scroll_compute(5, 5, 3, heights_rows, &h, &sc);
    assert_int_equal(sc.offset, 0);
    assert_false(sc.marker);
    assert_int_equal(sc.first, 0);
    assert_int_equal(sc.last, 4);
    layout_scroll_compute(4, 5, 100, heights_rows, &h, &sc);
    assert_int_equal(sc.offset, 0);
    assert_false(sc.marker);
    assert_int_equal(sc.y0, 1);
    /* A negative offset is the newest. */
    layout_scroll_compute(20, 5, -4, heights_rows, &h, &sc);
    assert_int_equal(sc.offset, 0);
    assert_int_equal(sc.last, 19);
}

static void test_scroll_wrapped_lines(void **state)
{
    static const int rows[] = {1, 3, 1, 2, 1, 1};
    struct heights h = {rows, 0};
    struct layout_scroll sc;
    (void)state;
    /* Newest at the bottom: lines 5, 4 and the two rows of 3 fill four rows. */
    layout_scroll_compute(6, 4, 0, heights_rows, &h, &sc);
    assert_int_equal(sc.first, 3);
    assert_int_equal(sc.last, 5);
    assert_int_equal(sc.y0, 0);
    assert_int_equal(sc.page, 3);
    /* Back 3: line 2 at the bottom of three rows; line 1 (three rows) is cut by one at the top,
     * so only line 2 counts as a whole line for paging. */
    layout_scroll_compute(6, 4, 3, heights_rows, &h, &sc);
    assert_true(sc.marker);
    assert_int_equal(sc.last, 2);
    assert_int_equal(sc.first, 1);
    assert_int_equal(sc.y0, -1);
    assert_int_equal(sc.page, 1);
    /* The oldest page: lines 0 and 1 from the top, line 1 cut at the bottom. */
    layout_scroll_compute(6, 4, 99, heights_rows, &h, &sc);
    assert_int_equal(sc.offset, 4);
    assert_int_equal(sc.first, 0);
    assert_int_equal(sc.last, 1);
    assert_int_equal(sc.y0, 0);
    assert_int_equal(sc.page, 1);
}

/* Only the lines near the view are measured, however long the scrollback. */
static void test_scroll_measures_little(void **state)
{
    struct heights h = {NULL, 0};
    struct layout_scroll sc;
    (void)state;
    layout_scroll_compute(100000, 10, 0, heights_rows, &h, &sc);
    assert_true(h.calls <= 12);
    h.calls = 0;
    layout_scroll_compute(100000, 10, 50000, heights_rows, &h, &sc);
    assert_int_equal(sc.last, 49999);
    assert_true(h.calls <= 30);
    h.calls = 0;
    layout_scroll_compute(100000, 10, 1 << 30, heights_rows, &h, &sc);
    assert_int_equal(sc.first, 0);
    assert_int_equal(sc.offset, 100000 - 1 - 8);
    assert_true(h.calls <= 30);
}

/* The log pane drawn scrolled back: older lines, the marker on its last row, the clamped
 * offset reported; the chat pane is not moved. */
static void test_log_pane_scrolled(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    struct layout_line lines[40];
    char text[40][16], buf[512];
    (void)state;
    for (int i = 0; i < 40; i++) {
        snprintf(text[i], sizeof(text[i]), "line %02d", i);
        lines[i] = (struct layout_line){NULL, text[i], LAYOUT_S_NORMAL};
    }
    view_init(&v, 6, 0);
    v.log = lines;
    v.nlog = 40;
    draw(&g, 100, 30, &v, &geo);
    struct layout_rect last = {geo.log.x, geo.log.y + geo.log.h - 1, geo.log.w, 1};
    assert_true(rect_has(&g, last, "line 39"));
    assert_false(rect_has(&g, geo.log, "more below"));
    assert_int_equal(geo.log_scroll.offset, 0);

    v.log_scroll = 10;
    draw(&g, 100, 30, &v, &geo);
    assert_true(rect_has(&g, last, "-- 10 more below, End to return --"));
    assert_int_equal(layout_cell_at(&g, last.x, last.y)->style, LAYOUT_S_KEY);
    struct layout_rect above = {geo.log.x, last.y - 1, geo.log.w, 1};
    assert_true(rect_has(&g, above, "line 29"));
    assert_false(rect_has(&g, geo.log, "line 30"));
    assert_int_equal(geo.log_scroll.offset, 10);
    assert_true(rect_has(&g, geo.chat, "alice: hello there")); /* the chat pane stays */

    v.log_scroll = 100000;
    draw(&g, 100, 30, &v, &geo);
    struct layout_rect first = {geo.log.x, geo.log.y, geo.log.w, 1};
    assert_true(rect_has(&g, first, "line 00"));
    assert_int_equal(geo.log_scroll.offset, 40 - (geo.log.h - 1));
    snprintf(buf, sizeof(buf), "-- %d more below", geo.log_scroll.offset);
    assert_true(rect_has(&g, last, buf));

    /* At 80x24 the pane is narrower: a shorter marker, still within the pane. */
    v.log_scroll = 5;
    draw(&g, 80, 24, &v, &geo);
    last = (struct layout_rect){geo.log.x, geo.log.y + geo.log.h - 1, geo.log.w, 1};
    assert_true(rect_has(&g, last, "-- 5 more below"));
    layout_row_text(&g, geo.log.x + geo.log.w, last.y, 1, buf, sizeof(buf));
    assert_string_equal(buf, "\u2502"); /* the divider is intact */
    layout_grid_free(&g);
}

/* The key legend names the scrollback and the hand history. */
static void test_legend_names_log_and_hands(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    view_init(&v, 6, 0);
    v.mode = LAYOUT_MODE_IDLE;
    draw(&g, 100, 30, &v, &geo);
    assert_true(rect_has(&g, geo.input, "PgUp/PgDn log"));
    assert_true(rect_has(&g, geo.input, "h hands"));
    assert_true(rect_has(&g, geo.input, "q quit"));
    draw(&g, 80, 24, &v, &geo);
    assert_true(rect_has(&g, geo.input, "q quit"));
    layout_grid_free(&g);
}

/* ---- reads like a poker room: the rail, names, bets, seat numbers, cards in the log ---- */

/* layout_fit: whole when it fits, else cut at a character with an ellipsis that fits too; wide
 * characters go whole; "..." in ASCII and on terminals without UTF-8 (where every non-ASCII
 * character is one '?'); no ellipsis when there is no room for one and a character. */
static void test_fit(void **state)
{
    char out[64];
    (void)state;
    assert_int_equal(layout_fit("alice", 10, true, false, out, sizeof(out)), 5);
    assert_string_equal(out, "alice");
    assert_int_equal(layout_fit("alice", 5, true, false, out, sizeof(out)), 5);
    assert_string_equal(out, "alice");
    assert_int_equal(layout_fit("averyveryverylongname", 10, true, false, out, sizeof(out)), 10);
    assert_string_equal(out, "averyvery\u2026");
    assert_int_equal(layout_fit("averyveryverylongname", 10, true, true, out, sizeof(out)), 10);
    assert_string_equal(out, "averyve...");
    assert_int_equal(layout_fit("averyveryverylongname", 10, false, false, out, sizeof(out)), 10);
    assert_string_equal(out, "averyve...");
    /* 名前が長い名前: 14 columns. */
    const char *cjk = "\u540d\u524d\u304c\u9577\u3044\u540d\u524d";
    assert_int_equal(layout_fit(cjk, 14, true, false, out, sizeof(out)), 14);
    assert_string_equal(out, cjk);
    assert_int_equal(layout_fit(cjk, 7, true, false, out, sizeof(out)), 7);
    assert_string_equal(out, "\u540d\u524d\u304c\u2026");
    assert_int_equal(layout_fit(cjk, 8, true, false, out, sizeof(out)), 7);
    assert_string_equal(out, "\u540d\u524d\u304c\u2026");
    /* Without UTF-8 each is one '?' column. */
    assert_int_equal(layout_fit(cjk, 7, false, false, out, sizeof(out)), 7);
    assert_string_equal(out, cjk);
    assert_int_equal(layout_fit(cjk, 5, false, false, out, sizeof(out)), 5);
    assert_string_equal(out, "\u540d\u524d...");
    /* Emoji are two columns. */
    assert_int_equal(
        layout_fit("\U0001F600\U0001F600\U0001F600x", 6, true, false, out, sizeof(out)), 5);
    assert_string_equal(out, "\U0001F600\U0001F600\u2026");
    /* No room for an ellipsis and a character: just cut. */
    assert_int_equal(layout_fit("abc", 1, true, false, out, sizeof(out)), 1);
    assert_string_equal(out, "a");
    assert_int_equal(layout_fit("abcdef", 3, true, true, out, sizeof(out)), 3);
    assert_string_equal(out, "abc");
    assert_int_equal(layout_fit("abc", 0, true, false, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(layout_fit(NULL, 5, true, false, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    /* A small buffer is never overrun and never split inside a character. */
    char tiny[5];
    layout_fit(cjk, 14, true, false, tiny, sizeof(tiny));
    assert_string_equal(tiny, "\u540d");
    /* The result never draws wider than asked, whatever the text. */
    for (int w = 0; w < 20; w++) {
        layout_fit(cjk, w, true, false, out, sizeof(out));
        assert_true(layout_text_cols(out) <= w);
        layout_fit("averyveryverylongname", w, true, true, out, sizeof(out));
        assert_true(layout_text_cols(out) <= w);
    }
}

/* Columns the cells of row y take before column x: x itself when every wide character to the
 * left is whole (its cell of width 2 and the cell of width 0 after it). A terminal draws the
 * cell at x at that column, so this is what keeps the rail straight. */
static int cols_before(const struct layout_grid *g, int x, int y)
{
    int cols = 0;
    for (int i = 0; i < x; i++)
        cols += layout_cell_at(g, i, y)->width;
    return cols;
}

static const char *const long_names[LAYOUT_MAX_SEATS] = {
    "alice",
    "\u540d\u524d\u304c\u9577\u3044\u540d\u524d\u304c\u9577\u3044\u540d\u524d",    /* CJK */
    "\U0001F600\U0001F3B2party\U0001F600\U0001F600\U0001F600\U0001F600\U0001F600", /* emoji */
    "averyveryverylongname_xx",
    "\u00e9\u0301lo\u00efse-bot",
    "\uff21\uff22\uff23\uff24\uff25\uff26\uff27\uff28\uff29\uff2a", /* fullwidth */
    "ed-bot",
    "\u0645\u0631\u062d\u0628\u0627",
    "hal-bot",
    "ivy",
};

/* On every screen size and seat count, with long, CJK, emoji and fullwidth names: no seat box
 * touches the rail, the rail's outline is whole (every cell of it holds its line character),
 * and on every row it crosses, its left and right sides sit at their own column whatever wide
 * characters stand left of them. */
static void test_rail_never_cut(void **state)
{
    static const int sizes[][2] = {{80, 24}, {100, 30}, {120, 40}, {132, 43}, {200, 60}, {80, 60}};
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (int n = 2; n <= LAYOUT_MAX_SEATS; n++) {
            view_init(&v, n, 0);
            for (int s = 0; s < n; s++) {
                v.seat[s].name = long_names[s];
                v.seat[s].bet = 20 * s;
            }
            v.banner = "alice wins 1,200";
            draw(&g, sizes[i][0], sizes[i][1], &v, &geo);
            struct layout_rect f = geo.felt;
            assert_true(f.w >= 20 && f.h >= 6);
            assert_true(inside(f, geo.table));
            for (int s = 0; s < n; s++)
                assert_false(overlap(geo.seat[s], f));
            for (int x = f.x + 3; x < f.x + f.w - 3; x++) {
                assert_string_equal(layout_cell_at(&g, x, f.y)->text, "\u2500");
                assert_string_equal(layout_cell_at(&g, x, f.y + f.h - 1)->text, "\u2500");
            }
            for (int y = f.y + 2; y < f.y + f.h - 2; y++) {
                assert_string_equal(layout_cell_at(&g, f.x, y)->text, "\u2502");
                assert_string_equal(layout_cell_at(&g, f.x + f.w - 1, y)->text, "\u2502");
            }
            for (int y = f.y; y < f.y + f.h; y++) {
                assert_int_equal(cols_before(&g, f.x + 2, y), f.x + 2);
                assert_int_equal(cols_before(&g, f.x + f.w - 1, y), f.x + f.w - 1);
            }
            /* The board and the pot stay inside the rail. */
            assert_true(geo.board.w > 0);
            assert_true(geo.board.x > f.x && geo.board.x + geo.board.w < f.x + f.w);
            assert_true(geo.board.y > f.y && geo.board.y + geo.board.h < f.y + f.h);
            /* Every name shows, cut with an ellipsis when it is too long for its box. */
            for (int s = 0; s < n; s++) {
                char buf[512];
                struct layout_rect r = geo.seat[s];
                layout_row_text(&g, r.x, r.y, r.w, buf, sizeof(buf));
                if (layout_text_cols(long_names[s]) <= r.w)
                    assert_non_null(strstr(buf, long_names[s]));
                else
                    assert_non_null(strstr(buf, "\u2026"));
                assert_int_equal(cols_before(&g, r.x + r.w, r.y), r.x + r.w);
            }
        }
    }
    layout_grid_free(&g);
}

static int gap(struct layout_rect a, struct layout_rect b)
{
    int gx = b.x - (a.x + a.w), gy = b.y - (a.y + a.h);
    if (a.x - (b.x + b.w) > gx) gx = a.x - (b.x + b.w);
    if (a.y - (b.y + b.h) > gy) gy = a.y - (b.y + b.h);
    return (gx > 0 ? gx : 0) + 2 * (gy > 0 ? gy : 0);
}

/* A bet chip sits next to its owner: on the cloth, inside the rail, nearer its own seat box than
 * any other, clear of the board and of the other chips; a bet with no such place is written in
 * its seat box. Every bet shows, one way or the other. */
static void test_bets_next_to_owner(void **state)
{
    static const int sizes[][2] = {{80, 24}, {100, 30}, {120, 40}, {200, 60}};
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    int on_cloth = 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (int n = 2; n <= LAYOUT_MAX_SEATS; n++) {
            view_init(&v, n, n / 2);
            for (int s = 0; s < n; s++)
                v.seat[s].bet = 1000 + 10 * s;
            draw(&g, sizes[i][0], sizes[i][1], &v, &geo);
            struct layout_rect f = geo.felt;
            struct layout_rect cloth = {f.x + 1, f.y + 1, f.w - 2, f.h - 2};
            for (int s = 0; s < n; s++) {
                char chip[32];
                snprintf(chip, sizeof(chip), "\u25cf1,%03d", 10 * s);
                struct layout_rect b = geo.bet[s];
                if (b.w == 0) {
                    snprintf(chip, sizeof(chip), "bet 1,%03d", 10 * s);
                    assert_true(rect_has(&g, geo.seat[s], chip));
                    continue;
                }
                on_cloth++;
                assert_true(rect_has(&g, b, chip));
                assert_true(inside(b, cloth));
                assert_false(overlap(b, geo.board));
                for (int o = 0; o < n; o++) {
                    assert_false(overlap(b, geo.seat[o]));
                    if (o != s) {
                        assert_true(gap(b, geo.seat[s]) < gap(b, geo.seat[o]));
                        if (geo.bet[o].w) assert_false(overlap(b, geo.bet[o]));
                    }
                }
            }
        }
    }
    /* Most chips find a place on the cloth. */
    assert_true(on_cloth > 150);
    layout_grid_free(&g);
}

/* Seats are numbered from 0, as feltd's log and docs/protocol.md number them. */
static void test_seat_numbers(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    (void)state;
    view_init(&v, 6, 0);
    v.seat[3].status = LAYOUT_SEAT_EMPTY;
    v.seat[5].status = LAYOUT_SEAT_EMPTY;
    draw(&g, 100, 30, &v, &geo);
    assert_true(rect_has(&g, geo.seat[3], "seat 3: empty"));
    assert_true(rect_has(&g, geo.seat[5], "seat 5: empty"));
    assert_false(screen_has(&g, "seat 6"));
    layout_grid_free(&g);
}

/* Cards in the log look as on the table: the suit symbol in its colour, and under --ascii the
 * suit's letter, the same columns either way; words that only look a bit like cards do not. */
static void test_log_cards(void **state)
{
    struct layout_grid g = {0};
    struct layout_geometry geo;
    struct layout_view v;
    char buf[512];
    (void)state;
    static struct layout_line lines[] = {
        {NULL, "Flop: 2\u2663 7\u2665 T\u2660", LAYOUT_S_BOLD},
        {NULL, "bob shows K\u2666 K\u2665 (pair of Kings)", LAYOUT_S_WIN},
    };
    view_init(&v, 6, 0);
    v.log = lines;
    v.nlog = 2;
    draw(&g, 100, 30, &v, &geo);
    assert_true(rect_has(&g, geo.log, "Flop: 2\u2663 7\u2665 T\u2660"));
    int found = 0;
    for (int y = geo.log.y; y < geo.log.y + geo.log.h; y++)
        for (int x = geo.log.x; x < geo.log.x + geo.log.w; x++) {
            const struct layout_cell *c = layout_cell_at(&g, x, y);
            if (strcmp(c->text, "\u2665") == 0) {
                assert_int_equal(c->style, LAYOUT_S_CARD_RED);
                assert_int_equal(layout_cell_at(&g, x - 1, y)->style, LAYOUT_S_CARD_RED);
                found++;
            }
            if (strcmp(c->text, "\u2663") == 0) {
                assert_int_equal(c->style, LAYOUT_S_CARD_BLACK);
                found++;
            }
            if (strcmp(c->text, "(") == 0) assert_int_equal(c->style, LAYOUT_S_WIN);
            if (strcmp(c->text, ":") == 0) assert_int_equal(c->style, LAYOUT_S_BOLD);
        }
    assert_int_equal(found, 3);
    v.ascii = true;
    v.four_color = true;
    draw(&g, 100, 30, &v, &geo);
    assert_true(rect_has(&g, geo.log, "Flop: 2c 7h Ts"));
    assert_true(rect_has(&g, geo.log, "bob shows Kd Kh (pair of Kings)"));
    assert_false(rect_has(&g, geo.log, "\u2665"));
    for (int x = geo.log.x; x < geo.log.x + geo.log.w; x++) {
        layout_row_text(&g, x, geo.log.y + geo.log.h - 1, 2, buf, sizeof(buf));
        if (strcmp(buf, "Kd") == 0) {
            assert_int_equal(layout_cell_at(&g, x, geo.log.y + geo.log.h - 1)->style,
                             LAYOUT_S_CARD_BLUE);
            found++;
        }
    }
    assert_int_equal(found, 4);
    /* The chat pane draws what people typed as they typed it. */
    static struct layout_line chat[] = {{"bob", "A\u2665 ok", LAYOUT_S_NORMAL}};
    v.chat = chat;
    v.nchat = 1;
    draw(&g, 100, 30, &v, &geo);
    assert_true(rect_has(&g, geo.chat, "bob: A\u2665 ok"));
    layout_grid_free(&g);
}

int main(void)
{
    /* Column widths come from wcwidth, which needs a UTF-8 LC_CTYPE. */
    if (!setlocale(LC_CTYPE, "C.UTF-8") && !setlocale(LC_CTYPE, "en_US.UTF-8")) {
        fprintf(stderr, "test_layout: no UTF-8 locale available\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_too_small),
        cmocka_unit_test(test_80x24_hand_in_progress),
        cmocka_unit_test(test_seats_every_size),
        cmocka_unit_test(test_ten_seats_80x24),
        cmocka_unit_test(test_larger_screen_uses_room),
        cmocka_unit_test(test_bar_shows_legal_actions_only),
        cmocka_unit_test(test_raise_prompt),
        cmocka_unit_test(test_modes_seat_gone_and_confirm),
        cmocka_unit_test(test_status_line_states),
        cmocka_unit_test(test_sit_hint),
        cmocka_unit_test(test_spectator_view),
        cmocka_unit_test(test_never_draws_control_characters),
        cmocka_unit_test(test_wide_characters),
        cmocka_unit_test(test_ascii_and_non_utf8),
        cmocka_unit_test(test_suit_colours),
        cmocka_unit_test(test_chat_wraps_newest_at_bottom),
        cmocka_unit_test(test_seat_details),
        cmocka_unit_test(test_chips),
        cmocka_unit_test(test_before_snapshot),
        cmocka_unit_test(test_scroll_follows_newest),
        cmocka_unit_test(test_scroll_back_and_marker),
        cmocka_unit_test(test_scroll_clamps_at_oldest),
        cmocka_unit_test(test_scroll_wrapped_lines),
        cmocka_unit_test(test_scroll_measures_little),
        cmocka_unit_test(test_log_pane_scrolled),
        cmocka_unit_test(test_legend_names_log_and_hands),
        cmocka_unit_test(test_fit),
        cmocka_unit_test(test_rail_never_cut),
        cmocka_unit_test(test_bets_next_to_owner),
        cmocka_unit_test(test_seat_numbers),
        cmocka_unit_test(test_log_cards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
