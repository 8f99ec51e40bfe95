/*
 * tuihist.c: the table screen's hand history view (contract in tuihist.h): the fetch of the
 * table's last hands, the list, and the step-through replay drawn onto a layout grid.
 *
 * States: closed, loading (a hands_fetch in flight), error (one line), list, replay. The page
 * of hands and the replay of the selected hand are owned here and freed when the view leaves
 * them, so an open view holds at most one page (TUIHIST_LIMIT records) and one replay.
 *
 * A replay step is rebuilt from the start of handrec_replay's event log every time (a hand has
 * at most a few hundred events): step 0 is everything before the first action (antes, blinds,
 * the deal), step k everything up to and including the events action k - 1 caused. What a step
 * did is told by handrec_narrate, in the words of felt's live log and `felt replay` ("bets" or
 * "raises to", "1,250", the table's card symbols or letters with --ascii, "two pair, Nines and
 * Fours"). Text from
 * the server (names, times, messages) is drawn through layout_put, which never lets a control
 * character or an escape sequence reach the terminal; hands.c sanitized the messages already.
 */
#define _GNU_SOURCE /* explicit_bzero */
#include "tuihist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define TUIHIST_WHAT_MAX 12 /* lines telling what one step did (more are summed up) */
#define TUIHIST_WHAT_LEN 160

enum tuihist_state { TUIHIST_CLOSED, TUIHIST_LOADING, TUIHIST_ERROR, TUIHIST_LIST, TUIHIST_REPLAY };

struct tuihist {
    struct wsloop *loop;
    void (*changed)(void *arg);
    void *arg;

    enum tuihist_state state;
    struct hands_req *req; /* the fetch in flight, or NULL */
    char server[HANDS_URL_MAX];
    char game[PROTO_GAME_ID_MAX + 1];
    char bearer[PROTO_TOKEN_MAX + 1]; /* "" for none; wiped when the view closes */
    char error[300];

    struct hands_page page; /* oldest first, as served */
    bool have_page;
    int sel; /* the selected hand, 0 the newest (the list shows the newest first) */

    /* The replay of page.hand[n - 1 - sel]. */
    struct handrec_result res;
    bool have_res;
    char res_error[300]; /* why the replay stops short, or "" */
    int step, nsteps;
};

/* What the table looks like at one step. */
struct tuihist_seat {
    bool present;
    const char *name;
    int64_t stack, bet, won;
    bool folded, all_in, acted;
    card_t cards[2];
};

struct tuihist_view {
    struct tuihist_seat seat[ENGINE_MAX_SEATS]; /* by engine seat */
    card_t board[5];
    int nboard;
    int64_t pot;
    char what[TUIHIST_WHAT_MAX][TUIHIST_WHAT_LEN];
    int nwhat, more;
};

/* ---- the fetch ----------------------------------------------------------------------------- */

struct tuihist *tuihist_new(struct wsloop *loop, void (*changed)(void *arg), void *arg)
{
    struct tuihist *h = xcalloc(1, sizeof(*h));
    h->loop = loop;
    h->changed = changed;
    h->arg = arg;
    return h;
}

static void tuihist_replay_free(struct tuihist *h)
{
    if (h->have_res) handrec_result_free(&h->res);
    h->have_res = false;
    h->res_error[0] = '\0';
    h->step = h->nsteps = 0;
}

static void tuihist_page_free(struct tuihist *h)
{
    tuihist_replay_free(h);
    if (h->have_page) hands_page_free(&h->page);
    h->have_page = false;
    h->sel = 0;
}

static void tuihist_done(void *arg, struct hands_page *page, const struct felt_err *err)
{
    struct tuihist *h = arg;
    h->req = NULL;
    tuihist_page_free(h);
    if (!page) {
        const char *why = !err                                               ? "no answer"
                          : err->code && strcmp(err->code, "not_found") == 0 ? "no such table (404)"
                                                                             : err->message;
        snprintf(h->error, sizeof(h->error), "%.250s", why);
        h->state = TUIHIST_ERROR;
    } else {
        h->page = *page; /* the page's arrays are ours now; the struct itself is not */
        free(page);
        h->have_page = true;
        h->state = TUIHIST_LIST;
    }
    if (h->changed) h->changed(h->arg);
}

static void tuihist_fetch(struct tuihist *h)
{
    struct felt_err err = {0};
    struct hands_query q = {.server = h->server,
                            .game = h->game,
                            .limit = TUIHIST_LIMIT,
                            .bearer = h->bearer[0] ? h->bearer : NULL};
    hands_cancel(h->req);
    h->req = NULL;
    tuihist_page_free(h);
    h->error[0] = '\0';
    h->state = TUIHIST_LOADING;
    h->req = hands_fetch(h->loop, &q, 0, tuihist_done, h, &err);
    if (!h->req) {
        snprintf(h->error, sizeof(h->error), "%.250s", err.message);
        h->state = TUIHIST_ERROR;
    }
}

void tuihist_open(struct tuihist *h, const char *server, const char *game, const char *bearer)
{
    snprintf(h->server, sizeof(h->server), "%s", server ? server : "");
    snprintf(h->game, sizeof(h->game), "%s", game ? game : "");
    snprintf(h->bearer, sizeof(h->bearer), "%s", bearer ? bearer : "");
    tuihist_fetch(h);
}

void tuihist_close(struct tuihist *h)
{
    if (!h) return;
    hands_cancel(h->req);
    h->req = NULL;
    tuihist_page_free(h);
    explicit_bzero(h->bearer, sizeof(h->bearer));
    h->state = TUIHIST_CLOSED;
}

bool tuihist_is_open(const struct tuihist *h)
{
    return h && h->state != TUIHIST_CLOSED;
}

void tuihist_free(struct tuihist *h)
{
    if (!h) return;
    tuihist_close(h);
    free(h);
}

/* ---- the replay ---------------------------------------------------------------------------- */

static const struct handrec *tuihist_selected(const struct tuihist *h)
{
    if (!h->have_page || h->sel < 0 || h->sel >= h->page.n) return NULL;
    return &h->page.hand[h->page.n - 1 - h->sel].rec;
}

static void tuihist_replay_open(struct tuihist *h)
{
    const struct handrec *rec = tuihist_selected(h);
    struct felt_err err = {0};
    if (!rec) return;
    tuihist_replay_free(h);
    h->have_res = true;
    if (handrec_replay(rec, &h->res, &err) != 0)
        snprintf(h->res_error, sizeof(h->res_error), "cannot replay this hand: %.200s",
                 err.message);
    else if (h->res.error_index >= 0)
        snprintf(h->res_error, sizeof(h->res_error), "action %d was refused: %.200s",
                 h->res.error_index + 1, h->res.error_message);
    int last = -1;
    for (int i = 0; i < h->res.nlog; i++)
        if (h->res.log[i].action > last) last = h->res.log[i].action;
    h->nsteps = last + 2; /* the deal, then one step per action replayed */
    h->step = 0;
    h->state = TUIHIST_REPLAY;
}

static const char *tuihist_name(const struct handrec *rec, int seat)
{
    for (int i = 0; i < rec->nseats; i++)
        if (rec->seat[i].seat == seat) return rec->seat[i].name;
    return "?";
}

/* handrec_line_fn: a line of the step being shown (arg the view). */
static void tuihist_what(void *arg, const char *line)
{
    struct tuihist_view *v = arg;
    if (v->nwhat == TUIHIST_WHAT_MAX) {
        v->more++;
        return;
    }
    snprintf(v->what[v->nwhat++], TUIHIST_WHAT_LEN, "%s", line);
}

/* The table after `step` (see the file comment), and what that step did. */
static void tuihist_view_at(const struct tuihist *h, bool ascii, struct tuihist_view *v)
{
    const struct handrec *rec = tuihist_selected(h);
    memset(v, 0, sizeof(*v));
    if (!rec) return;
    for (int i = 0; i < rec->nseats; i++) {
        int s = rec->seat[i].seat;
        if (s < 0 || s >= ENGINE_MAX_SEATS) continue;
        v->seat[s] = (struct tuihist_seat){.present = true,
                                           .name = rec->seat[i].name,
                                           .stack = rec->seat[i].stack,
                                           .cards = {rec->seat[i].cards[0], rec->seat[i].cards[1]}};
    }
    struct handrec_narrator n;
    handrec_narrator_init(&n, rec, ascii);
    for (int i = 0; i < h->res.nlog && h->res.log[i].action < h->step; i++) {
        const struct engine_event *e = &h->res.log[i].ev;
        bool mine = h->res.log[i].action == h->step - 1;
        handrec_narrate(&n, e, mine ? tuihist_what : NULL, v);
        struct tuihist_seat *p =
            e->seat >= 0 && e->seat < ENGINE_MAX_SEATS ? &v->seat[e->seat] : NULL;
        switch (e->kind) {
        case ENGINE_EV_ANTE:
        case ENGINE_EV_BLIND:
        case ENGINE_EV_ACTION:
            if (!p) break;
            p->stack -= e->amount;
            v->pot += e->amount;
            if (e->kind == ENGINE_EV_BLIND) p->bet += e->amount;
            if (e->kind == ENGINE_EV_ACTION) {
                p->bet = e->to;
                p->folded = p->folded || e->action == ENGINE_FOLD;
                p->acted = mine;
            }
            p->all_in = p->all_in || e->all_in;
            break;
        case ENGINE_EV_STREET:
            for (int c = 0; c < e->ncards && v->nboard < 5; c++)
                v->board[v->nboard++] = e->cards[c];
            for (int s = 0; s < ENGINE_MAX_SEATS; s++)
                v->seat[s].bet = 0;
            break;
        case ENGINE_EV_UNCALLED:
            if (!p) break;
            p->stack += e->amount;
            p->bet = p->bet > e->amount ? p->bet - e->amount : 0;
            v->pot -= e->amount;
            break;
        case ENGINE_EV_SHOW:
            if (p) memcpy(p->cards, e->cards, sizeof(p->cards));
            break;
        case ENGINE_EV_POT:
            for (int s = 0; s < ENGINE_MAX_SEATS; s++)
                if ((e->winners >> s) & 1) {
                    v->seat[s].stack += e->share[s];
                    v->seat[s].won += e->share[s];
                }
            v->pot -= e->amount;
            break;
        case ENGINE_EV_HAND_END:
            for (int s = 0; s < ENGINE_MAX_SEATS; s++)
                v->seat[s].bet = 0;
            break;
        case ENGINE_EV_DEAL_HOLE:
        case ENGINE_EV_MUCK:
            break;
        }
        if (v->pot < 0) v->pot = 0;
    }
}

/* ---- commands ------------------------------------------------------------------------------ */

void tuihist_command(struct tuihist *h, enum tuihist_cmd c)
{
    int n = h->have_page ? h->page.n : 0;
    switch (h->state) {
    case TUIHIST_CLOSED:
        return;
    case TUIHIST_LOADING:
    case TUIHIST_ERROR:
        if (c == TUIHIST_BACK) tuihist_close(h);
        if (c == TUIHIST_RELOAD) tuihist_fetch(h);
        return;
    case TUIHIST_LIST:
        if (c == TUIHIST_BACK)
            tuihist_close(h);
        else if (c == TUIHIST_RELOAD)
            tuihist_fetch(h);
        else if (c == TUIHIST_UP && h->sel > 0)
            h->sel--;
        else if (c == TUIHIST_DOWN && h->sel + 1 < n)
            h->sel++;
        else if (c == TUIHIST_FIRST)
            h->sel = 0;
        else if (c == TUIHIST_LAST && n > 0)
            h->sel = n - 1;
        else if (c == TUIHIST_ENTER && n > 0)
            tuihist_replay_open(h);
        return;
    case TUIHIST_REPLAY:
        if (c == TUIHIST_BACK) {
            tuihist_replay_free(h);
            h->state = TUIHIST_LIST;
        } else if (c == TUIHIST_NEXT && h->step + 1 < h->nsteps) {
            h->step++;
        } else if (c == TUIHIST_PREV && h->step > 0) {
            h->step--;
        } else if (c == TUIHIST_FIRST) {
            h->step = 0;
        } else if (c == TUIHIST_LAST) {
            h->step = h->nsteps > 0 ? h->nsteps - 1 : 0;
        }
        return;
    }
}

/* ---- drawing ------------------------------------------------------------------------------- */

/* Text along one row of r, left to right (the layout's pen, for this view). */
struct tuihist_pen {
    struct layout_grid *g;
    int x, y, end;
};

static void tuihist_put(struct tuihist_pen *p, enum layout_style st, const char *text)
{
    if (p->x < p->end) p->x += layout_put(p->g, p->x, p->y, p->end - p->x, st, text);
}

static void tuihist_putf(struct tuihist_pen *p, enum layout_style st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void tuihist_putf(struct tuihist_pen *p, enum layout_style st, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    tuihist_put(p, st, buf);
}

static void tuihist_fill(struct layout_grid *g, int x, int y, int w, enum layout_style st)
{
    for (int i = 0; i < w; i++)
        layout_put(g, x + i, y, 1, st, " ");
}

/* Pads to column x of the pen's row. */
static void tuihist_tab(struct tuihist_pen *p, int x, enum layout_style st)
{
    while (p->x < x && p->x < p->end)
        tuihist_put(p, st, " ");
}

/* "2026-12-05 05:20:01" from the record's ISO 8601 UTC time; "" when absent. */
static void tuihist_time(const char *iso, char *out, size_t outsz)
{
    snprintf(out, outsz, "%.19s", iso ? iso : "");
    char *t = strchr(out, 'T');
    if (t) *t = ' ';
}

/* "ada 300, bo 150" from the record's results; "voided" or "" without. */
static void tuihist_winners(const struct handrec *rec, char *out, size_t outsz)
{
    size_t len = 0;
    out[0] = '\0';
    if (strcmp(rec->status, "voided") == 0) {
        snprintf(out, outsz, "voided");
        return;
    }
    for (int i = 0; i < rec->nresults && i < ENGINE_MAX_POTS; i++)
        for (int w = 0; w < rec->results[i].nwinners && w < ENGINE_MAX_SEATS; w++) {
            char a[32];
            int k = snprintf(out + len, outsz - len, "%s%s %s", len ? ", " : "",
                             tuihist_name(rec, rec->results[i].winners[w].seat),
                             layout_chips(rec->results[i].winners[w].amount, a, sizeof(a)));
            if (k < 0 || (size_t)k >= outsz - len) return;
            len += (size_t)k;
        }
}

static void tuihist_draw_list(const struct tuihist *h, struct layout_grid *g, struct layout_rect r)
{
    int n = h->page.n;
    struct tuihist_pen p = {g, r.x, r.y, r.x + r.w};
    if (n == 0) {
        tuihist_put(&p, LAYOUT_S_DIM, " no hands played at this table yet");
        return;
    }
    tuihist_put(&p, LAYOUT_S_DIM, "   hand      started (UTC)          winners");
    int rows = r.h - 1, top = 0;
    if (rows < 1) return;
    if (h->sel >= rows) top = h->sel - rows + 1;
    for (int i = top; i < n && i - top < rows; i++) {
        const struct handrec *rec = &h->page.hand[n - 1 - i].rec;
        bool sel = i == h->sel;
        enum layout_style st = sel ? LAYOUT_S_BAR : LAYOUT_S_NORMAL;
        char when[40], who[200], id[32] = "?";
        int y = r.y + 1 + i - top;
        if (rec->has_hand_id) snprintf(id, sizeof(id), "#%lld", (long long)rec->hand_id);
        tuihist_time(rec->started_at, when, sizeof(when));
        tuihist_winners(rec, who, sizeof(who));
        if (sel) tuihist_fill(g, r.x, y, r.w, st);
        p = (struct tuihist_pen){g, r.x, y, r.x + r.w};
        tuihist_put(&p, st, sel ? " > " : "   ");
        tuihist_put(&p, sel ? st : LAYOUT_S_BOLD, id);
        tuihist_tab(&p, r.x + 13, st);
        tuihist_put(&p, st, when[0] ? when : "-");
        tuihist_tab(&p, r.x + 36, st);
        tuihist_put(&p, sel ? st : LAYOUT_S_WIN, who[0] ? who : "-");
    }
}

static void tuihist_draw_cards(struct tuihist_pen *p, const card_t *c, int n, bool ascii)
{
    for (int i = 0; i < n; i++) {
        char buf[16];
        enum layout_style st = layout_card_text(c[i], ascii, false, buf, sizeof(buf));
        if (i) tuihist_put(p, LAYOUT_S_NORMAL, " ");
        tuihist_put(p, st, buf);
    }
}

static void tuihist_draw_replay(const struct tuihist *h, struct layout_grid *g,
                                struct layout_rect r, bool ascii)
{
    const struct handrec *rec = tuihist_selected(h);
    struct tuihist_view v;
    char a[32], b[32], when[40];
    int y = r.y, bottom = r.y + r.h;
    if (!rec) return;
    tuihist_view_at(h, ascii, &v);

    struct tuihist_pen p = {g, r.x, y++, r.x + r.w};
    if (rec->has_hand_id) tuihist_putf(&p, LAYOUT_S_BOLD, " Hand #%lld", (long long)rec->hand_id);
    tuihist_time(rec->started_at, when, sizeof(when));
    if (when[0]) tuihist_putf(&p, LAYOUT_S_NORMAL, "  %s UTC", when);
    tuihist_putf(&p, LAYOUT_S_NORMAL, "  blinds %s/%s",
                 layout_chips(rec->small_blind, a, sizeof(a)),
                 layout_chips(rec->big_blind, b, sizeof(b)));
    if (rec->ante > 0)
        tuihist_putf(&p, LAYOUT_S_NORMAL, " ante %s", layout_chips(rec->ante, a, sizeof(a)));
    tuihist_putf(&p, LAYOUT_S_KEY, "  step %d/%d ", h->step + 1, h->nsteps > 0 ? h->nsteps : 1);

    p = (struct tuihist_pen){g, r.x, y++, r.x + r.w};
    tuihist_put(&p, LAYOUT_S_BOLD, " Board: ");
    if (v.nboard > 0)
        tuihist_draw_cards(&p, v.board, v.nboard, ascii);
    else
        tuihist_put(&p, LAYOUT_S_DIM, "-");
    tuihist_tab(&p, r.x + 32, LAYOUT_S_NORMAL);
    tuihist_putf(&p, LAYOUT_S_BOLD, "Pot: %s", layout_chips(v.pot, a, sizeof(a)));
    y++;

    p = (struct tuihist_pen){g, r.x, y++, r.x + r.w};
    tuihist_put(&p, LAYOUT_S_DIM, "      seat  player              stack       bet   cards");
    for (int s = 0; s < ENGINE_MAX_SEATS && y < bottom - 1; s++) {
        const struct tuihist_seat *st = &v.seat[s];
        if (!st->present) continue;
        enum layout_style base = st->acted    ? LAYOUT_S_TO_ACT
                                 : st->folded ? LAYOUT_S_DIM
                                              : LAYOUT_S_NORMAL;
        if (st->acted) tuihist_fill(g, r.x, y, r.w, base);
        p = (struct tuihist_pen){g, r.x, y++, r.x + r.w};
        tuihist_put(&p, base, st->acted ? " >" : "  ");
        tuihist_put(&p, base, rec->button == s ? "(D) " : "    ");
        tuihist_putf(&p, base, "%-4d  ", s);  /* seats from 0, as the table, feltd and protocol.md */
        tuihist_put(&p, base == LAYOUT_S_NORMAL ? LAYOUT_S_BOLD : base, st->name ? st->name : "?");
        tuihist_tab(&p, r.x + 30, base);
        tuihist_putf(&p, base, "%11s", layout_chips(st->stack, a, sizeof(a)));
        tuihist_putf(&p, base, "%10s   ", st->bet > 0 ? layout_chips(st->bet, b, sizeof(b)) : "");
        tuihist_draw_cards(&p, st->cards, 2, ascii);
        if (st->folded) tuihist_put(&p, base, "  folded");
        if (st->all_in && !st->folded) tuihist_put(&p, LAYOUT_S_ERROR, " all-in ");
        if (st->won > 0)
            tuihist_putf(&p, LAYOUT_S_WIN, "  wins %s", layout_chips(st->won, a, sizeof(a)));
    }
    y++;
    if (y < bottom) {
        p = (struct tuihist_pen){g, r.x, y++, r.x + r.w};
        tuihist_put(&p, LAYOUT_S_BOLD, h->step == 0 ? " The deal:" : " This step:");
    }
    for (int i = 0; i < v.nwhat && y < bottom; i++) {
        p = (struct tuihist_pen){g, r.x, y++, r.x + r.w};
        tuihist_put(&p, LAYOUT_S_NORMAL, "   ");
        tuihist_put(&p, LAYOUT_S_NORMAL, v.what[i]);
    }
    if (v.more > 0 && y < bottom) {
        p = (struct tuihist_pen){g, r.x, y++, r.x + r.w};
        tuihist_putf(&p, LAYOUT_S_DIM, "   (and %d more)", v.more);
    }
    if (h->res_error[0] && h->step + 1 >= h->nsteps && y < bottom) {
        p = (struct tuihist_pen){g, r.x, y++, r.x + r.w};
        tuihist_put(&p, LAYOUT_S_ERROR, " ");
        tuihist_put(&p, LAYOUT_S_ERROR, h->res_error);
    }
}

void tuihist_draw(const struct tuihist *h, struct layout_grid *g, struct layout_rect r,
                  const char *banner, bool ascii)
{
    if (r.w <= 0 || r.h <= 0) return;
    for (int y = r.y; y < r.y + r.h; y++)
        tuihist_fill(g, r.x, y, r.w, LAYOUT_S_NORMAL);
    if (!tuihist_is_open(h)) return;
    int y = r.y, bottom = r.y + r.h;
    struct tuihist_pen p;
    if (banner && banner[0]) {
        tuihist_fill(g, r.x, y, r.w, LAYOUT_S_TO_ACT);
        p = (struct tuihist_pen){g, r.x, y++, r.x + r.w};
        tuihist_put(&p, LAYOUT_S_TO_ACT, " ");
        tuihist_put(&p, LAYOUT_S_TO_ACT, banner);
    }
    p = (struct tuihist_pen){g, r.x, y++, r.x + r.w};
    tuihist_put(&p, LAYOUT_S_BOLD, " Hand history: ");
    tuihist_put(&p, LAYOUT_S_BOLD, h->game);
    tuihist_putf(&p, LAYOUT_S_DIM, "  (the last %d hands, newest first)", TUIHIST_LIMIT);

    /* The key legend on the last row. */
    p = (struct tuihist_pen){g, r.x, bottom - 1, r.x + r.w};
    static const char *const list_keys[][2] = {
        {"Up/Down", "select"}, {"Enter", "replay"}, {"r", "reload"}, {"Esc", "back to the table"}};
    static const char *const replay_keys[][2] = {{"Right/n", "next"},
                                                 {"Left/p", "previous"},
                                                 {"Home/End", "deal/end"},
                                                 {"Esc/q", "the list"}};
    bool replay = h->state == TUIHIST_REPLAY;
    for (size_t i = 0; i < 4; i++) {
        tuihist_put(&p, LAYOUT_S_KEY, " ");
        tuihist_put(&p, LAYOUT_S_KEY, replay ? replay_keys[i][0] : list_keys[i][0]);
        tuihist_put(&p, LAYOUT_S_DIM, " ");
        tuihist_put(&p, LAYOUT_S_DIM, replay ? replay_keys[i][1] : list_keys[i][1]);
        tuihist_put(&p, LAYOUT_S_DIM, " ");
    }

    struct layout_rect body = {r.x, y + 1, r.w, bottom - 1 - (y + 1)};
    if (body.h <= 0) return;
    p = (struct tuihist_pen){g, body.x, body.y, body.x + body.w};
    switch (h->state) {
    case TUIHIST_LOADING:
        tuihist_putf(&p, LAYOUT_S_DIM, " loading the last %d hands...", TUIHIST_LIMIT);
        break;
    case TUIHIST_ERROR:
        tuihist_put(&p, LAYOUT_S_ERROR, " could not load the hands: ");
        tuihist_put(&p, LAYOUT_S_ERROR, h->error);
        tuihist_put(&p, LAYOUT_S_ERROR, " ");
        break;
    case TUIHIST_LIST:
        tuihist_draw_list(h, g, body);
        break;
    case TUIHIST_REPLAY:
        tuihist_draw_replay(h, g, body, ascii);
        break;
    case TUIHIST_CLOSED:
        break;
    }
}
