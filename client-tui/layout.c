/*
 * layout.c: where everything on felt's table screen goes, drawn onto an abstract grid.
 *
 * See layout.h for the screen's parts. Geometry first (layout_geometry_compute: pure arithmetic
 * on the grid size and the number of seats), then drawing (layout_draw_*: text and styles into
 * cells). Seats sit on an ellipse around the table, the player's own seat (or seat 0 for a
 * spectator) at the bottom centre and the others clockwise from it, the direction the action
 * moves; if two seat boxes would overlap on a cramped screen the boxes shrink until they do
 * not. The rail is then the largest stadium inside the ring that no box touches, so a label
 * never cuts through it. A bet chip sits on the cloth at the point nearest its seat (or as near
 * as a free place is that is still nearer its own seat than any other), else in the seat box.
 * Names too long for their box end in an ellipsis (layout_fit). Every string goes through
 * layout_put, which refuses control characters and invalid UTF-8 whatever the model did, and
 * measures columns with wcwidth (the caller sets the locale), so a wide character takes two
 * cells and everything right of it, the rail included, stays in its column. Cards in the log
 * ("A\u2665", as the model writes them) are drawn as on the table: suit colours, letters for
 * --ascii.
 */
#define _GNU_SOURCE /* wcwidth */
#include "layout.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "text.h"
#include "util.h"

#define LAYOUT_SEAT_H 3
#define LAYOUT_SEAT_W_MIN 10
#define LAYOUT_HAND_W 13 /* the own-cards panel: two 5-column cards, a gap and margins */

/* ---- UTF-8 and the grid ---------------------------------------------------------------- */

/* Decodes one code point from s (NUL-terminated). Returns its byte length (1..4) and the code
 * point in *cp, or -1 for an ill-formed sequence (the caller skips one byte). */
static int layout_utf8_decode(const unsigned char *s, uint32_t *cp)
{
    uint32_t c = s[0];
    int n;
    uint32_t min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        c &= 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        c &= 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        return -1;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return -1;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return -1;
    *cp = c;
    return n;
}

/* Columns a code point takes: -1 for one that must never reach the terminal (controls),
 * 0 for combining marks, 1 or 2 otherwise. */
static int layout_cp_cols(uint32_t cp, bool utf8)
{
    if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) return -1;
    if (cp < 0x80) return 1;
    if (!utf8) return 1; /* drawn as '?' */
    int w = wcwidth((wchar_t)cp);
    return w < 0 ? -1 : w;
}

void layout_grid_resize(struct layout_grid *g, int cols, int rows)
{
    cols = cols < 1 ? 1 : cols > LAYOUT_MAX_COLS ? LAYOUT_MAX_COLS : cols;
    rows = rows < 1 ? 1 : rows > LAYOUT_MAX_ROWS ? LAYOUT_MAX_ROWS : rows;
    if (cols != g->cols || rows != g->rows || !g->cells) {
        free(g->cells);
        g->cells = xcalloc((size_t)cols * (size_t)rows, sizeof(*g->cells));
        g->cols = cols;
        g->rows = rows;
    }
    layout_grid_clear(g, LAYOUT_S_NORMAL);
}

void layout_grid_free(struct layout_grid *g)
{
    free(g->cells);
    g->cells = NULL;
    g->cols = g->rows = 0;
}

void layout_grid_clear(struct layout_grid *g, enum layout_style style)
{
    for (int i = 0; i < g->cols * g->rows; i++) {
        g->cells[i].text[0] = ' ';
        g->cells[i].text[1] = '\0';
        g->cells[i].style = (uint8_t)style;
        g->cells[i].width = 1;
    }
}

const struct layout_cell *layout_cell_at(const struct layout_grid *g, int x, int y)
{
    if (x < 0 || y < 0 || x >= g->cols || y >= g->rows) return NULL;
    return &g->cells[y * g->cols + x];
}

static struct layout_cell *layout_cell(struct layout_grid *g, int x, int y)
{
    return (struct layout_cell *)layout_cell_at(g, x, y);
}

/* Overwriting half of a wide character blanks the other half, so no cell is left pointing at a
 * character that is no longer there. */
static void layout_cell_set(struct layout_grid *g, int x, int y, const char *bytes, size_t n,
                            int width, enum layout_style style)
{
    struct layout_cell *c = layout_cell(g, x, y);
    if (!c || n >= LAYOUT_CELL_BYTES) return;
    if (c->width == 0 && x > 0) {
        struct layout_cell *l = layout_cell(g, x - 1, y);
        strcpy(l->text, " ");
        l->width = 1;
    }
    if (c->width == 2) {
        struct layout_cell *r = layout_cell(g, x + 1, y);
        if (r) {
            strcpy(r->text, " ");
            r->width = 1;
        }
    }
    memcpy(c->text, bytes, n);
    c->text[n] = '\0';
    c->style = (uint8_t)style;
    c->width = (uint8_t)width;
    if (width == 2) {
        struct layout_cell *r = layout_cell(g, x + 1, y);
        if (r->width == 2) {
            struct layout_cell *rr = layout_cell(g, x + 2, y);
            if (rr) {
                strcpy(rr->text, " ");
                rr->width = 1;
            }
        }
        r->text[0] = '\0';
        r->width = 0;
        r->style = (uint8_t)style;
    }
}

int layout_put(struct layout_grid *g, int x, int y, int maxw, enum layout_style style,
               const char *text)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    int col = 0, lastx = -1;
    if (y < 0 || y >= g->rows || x < 0) return 0;
    if (x + maxw > g->cols) maxw = g->cols - x;
    while (*s && col < maxw) {
        uint32_t cp;
        int n = layout_utf8_decode(s, &cp);
        int w;
        if (n < 0) {
            layout_cell_set(g, x + col, y, "?", 1, 1, style);
            lastx = x + col;
            col++;
            s++;
            continue;
        }
        w = layout_cp_cols(cp, g->utf8);
        if (w < 0) {
            s += n;
            continue;
        }
        if (w == 0) {
            /* A combining mark joins the character before it, if that fits in the cell. */
            struct layout_cell *c = lastx >= 0 ? layout_cell(g, lastx, y) : NULL;
            size_t have = c ? strlen(c->text) : 0;
            if (c && g->utf8 && have + (size_t)n < LAYOUT_CELL_BYTES) {
                memcpy(c->text + have, s, (size_t)n);
                c->text[have + (size_t)n] = '\0';
            }
            s += n;
            continue;
        }
        if (col + w > maxw) break;
        if (cp >= 0x80 && !g->utf8)
            layout_cell_set(g, x + col, y, "?", 1, 1, style);
        else
            layout_cell_set(g, x + col, y, (const char *)s, (size_t)n, w, style);
        lastx = x + col;
        col += w;
        s += n;
    }
    return col;
}

int layout_text_cols(const char *text)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    int cols = 0;
    while (*s) {
        uint32_t cp;
        int n = layout_utf8_decode(s, &cp);
        if (n < 0) {
            cols++;
            s++;
            continue;
        }
        int w = layout_cp_cols(cp, true);
        if (w > 0) cols += w;
        s += n;
    }
    return cols;
}

int layout_next_char(const char *s, bool utf8, int *cols)
{
    uint32_t cp;
    int n;
    if (!s || !*s) {
        *cols = 0;
        return 0;
    }
    n = layout_utf8_decode((const unsigned char *)s, &cp);
    if (n < 0) {
        *cols = 1;
        return 1;
    }
    *cols = layout_cp_cols(cp, utf8);
    return n;
}

int layout_fit(const char *text, int maxw, bool utf8, bool ascii, char *out, size_t outsz)
{
    const char *ell = ascii || !utf8 ? "..." : "\u2026";
    const int ellw = ascii || !utf8 ? 3 : 1;
    const char *s = text ? text : "";
    size_t len = 0;
    int cols = 0, keep = -1, keep_cols = 0;
    if (outsz == 0) return 0;
    out[0] = '\0';
    if (maxw <= 0) return 0;
    /* Up to the last character that leaves room for the ellipsis (keep), then on to the end if
     * the whole text fits after all. */
    for (;;) {
        int w, n = layout_next_char(s + len, utf8, &w);
        if (n == 0) break;
        if (w < 0) w = 0;
        if (cols + w > maxw) {
            if (keep < 0 || maxw < ellw + 1) {
                keep = (int)len;
                keep_cols = cols;
                ell = "";
            }
            len = (size_t)keep;
            cols = keep_cols;
            if (len + strlen(ell) + 1 > outsz) break;
            memcpy(out, s, len);
            memcpy(out + len, ell, strlen(ell) + 1);
            return cols + (ell[0] ? ellw : 0);
        }
        if (cols + w <= maxw - ellw) {
            keep = (int)len + n;
            keep_cols = cols + w;
        }
        cols += w;
        len += (size_t)n;
    }
    /* It all fits (or out is too small: cut at a character boundary). */
    size_t n = 0, cut = 0;
    int c = 0, w;
    while (n < len) {
        int k = layout_next_char(s + n, utf8, &w);
        if (n + (size_t)k + 1 > outsz) break;
        n += (size_t)k;
        cut = n;
        c += w > 0 ? w : 0;
    }
    memcpy(out, s, cut);
    out[cut] = '\0';
    return c;
}

char *layout_row_text(const struct layout_grid *g, int x, int y, int w, char *buf, size_t bufsz)
{
    size_t len = 0;
    if (bufsz == 0) return buf;
    buf[0] = '\0';
    for (int i = x; i < x + w && i < g->cols; i++) {
        const struct layout_cell *c = layout_cell_at(g, i, y);
        if (!c || c->width == 0) continue;
        size_t n = strlen(c->text);
        if (len + n + 1 > bufsz) break;
        memcpy(buf + len, c->text, n);
        len += n;
        buf[len] = '\0';
    }
    return buf;
}

static void layout_fill(struct layout_grid *g, struct layout_rect r, enum layout_style style)
{
    for (int y = r.y; y < r.y + r.h; y++)
        for (int x = r.x; x < r.x + r.w; x++)
            layout_cell_set(g, x, y, " ", 1, 1, style);
}

/* Text written left to right along one row, with a right limit: the action bar, the status
 * line and the seat boxes are built from such runs. */
struct layout_pen {
    struct layout_grid *g;
    int x, y, end;
};

static void layout_pen_put(struct layout_pen *p, enum layout_style style, const char *text)
{
    if (p->x < p->end) p->x += layout_put(p->g, p->x, p->y, p->end - p->x, style, text);
}

static void layout_pen_putf(struct layout_pen *p, enum layout_style style, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void layout_pen_putf(struct layout_pen *p, enum layout_style style, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    layout_pen_put(p, style, buf);
}

/* ---- cards and chips --------------------------------------------------------------------- */

static enum layout_style layout_suit_style(int suit, bool four_color)
{
    static const enum layout_style two[4] = {LAYOUT_S_CARD_BLACK, LAYOUT_S_CARD_RED,
                                             LAYOUT_S_CARD_RED, LAYOUT_S_CARD_BLACK};
    static const enum layout_style four[4] = {LAYOUT_S_CARD_GREEN, LAYOUT_S_CARD_BLUE,
                                              LAYOUT_S_CARD_RED, LAYOUT_S_CARD_BLACK};
    return four_color ? four[suit & 3] : two[suit & 3];
}

enum layout_style layout_card_text(card_t c, bool ascii, bool four_color, char *buf, size_t bufsz)
{
    if (!card_valid(c)) {
        snprintf(buf, bufsz, "%s", ascii ? "##" : "\u2592\u2592");
        return LAYOUT_S_CARD_BACK;
    }
    text_card(c, ascii, buf, bufsz);
    return layout_suit_style(card_suit(c), four_color);
}

const char *layout_chips(int64_t n, char *buf, size_t bufsz)
{
    return text_chips(n, buf, bufsz);
}

/* A card drawn as a box w=5 columns by h=3..5 rows at (x, y); face down when c is CARD_NONE,
 * an empty outline (for a board card still to come) when placeholder. */
static void layout_draw_big_card(struct layout_grid *g, int x, int y, int h, card_t c,
                                 bool placeholder, const struct layout_view *v)
{
    const bool a = v->ascii;
    const char *tl = a ? "+" : "\u250c", *tr = a ? "+" : "\u2510";
    const char *bl = a ? "+" : "\u2514", *br = a ? "+" : "\u2518";
    const char *hz = a ? "-" : "\u2500", *vt = a ? "|" : "\u2502";
    enum layout_style edge = placeholder ? LAYOUT_S_FELT_EDGE : LAYOUT_S_CARD_BLACK;
    enum layout_style face = LAYOUT_S_CARD_BLACK;
    char rank[3] = "", suit[8] = "";
    if (h < 3) return;
    if (!placeholder && card_valid(c)) {
        int r = card_rank(c), s = card_suit(c);
        face = layout_suit_style(s, v->four_color);
        if (r == 8)
            snprintf(rank, sizeof(rank), "10");
        else
            snprintf(rank, sizeof(rank), "%c", CARD_RANKS[r]);
        snprintf(suit, sizeof(suit), "%s", a ? (char[]){CARD_SUITS[s], 0} : text_suit_symbols[s]);
    } else if (!placeholder) {
        face = edge = LAYOUT_S_CARD_BACK;
    }
    for (int row = 0; row < h; row++) {
        bool top = row == 0, bottom = row == h - 1;
        layout_put(g, x, y + row, 1, edge, top ? tl : bottom ? bl : vt);
        for (int i = 1; i < 4; i++) {
            const char *fill = (top || bottom) ? hz : " ";
            if (!top && !bottom && !placeholder && !card_valid(c)) fill = a ? "#" : "\u2592";
            layout_put(g, x + i, y + row, 1, (top || bottom) ? edge : face, fill);
        }
        layout_put(g, x + 4, y + row, 1, edge, top ? tr : bottom ? br : vt);
    }
    if (placeholder || !card_valid(c)) return;
    /* The face: rank top left, suit in the middle, rank bottom right (as room allows). */
    if (h >= 5) {
        layout_put(g, x + 1, y + 1, 3, face, rank);
        layout_put(g, x + 2, y + 2, 1, face, suit);
        layout_put(g, x + 4 - (int)strlen(rank), y + 3, 2, face, rank);
    } else if (h == 4) {
        layout_put(g, x + 1, y + 1, 3, face, rank);
        layout_put(g, x + 3, y + 2, 1, face, suit);
    } else {
        layout_put(g, x + 1, y + 1, 2, face, rank);
        layout_put(g, x + 3, y + 1, 1, face, suit);
    }
}

/* A card in its compact two-column form; returns the columns used. */
static int layout_draw_small_card(struct layout_grid *g, int x, int y, int maxw, card_t c,
                                  const struct layout_view *v)
{
    char buf[16];
    enum layout_style st = layout_card_text(c, v->ascii, v->four_color, buf, sizeof(buf));
    return layout_put(g, x, y, maxw, st, buf);
}

/* ---- geometry ------------------------------------------------------------------------------ */

static bool layout_rect_overlap(struct layout_rect a, struct layout_rect b)
{
    return a.w > 0 && b.w > 0 && a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h &&
           b.y < a.y + a.h;
}

/* The seat at the bottom: our own, or seat 0 for a spectator. */
static int layout_bottom_seat(const struct layout_view *v)
{
    return v->my_seat >= 0 && v->my_seat < v->nseats ? v->my_seat : 0;
}

/* Angle of a seat on the ellipse, in screen coordinates (y down): the bottom seat at pi/2, the
 * next ones clockwise (left of us, then across the top, then right). */
static double layout_seat_angle(const struct layout_view *v, int seat)
{
    int n = v->nseats, k = (seat - layout_bottom_seat(v) + n) % n;
    return M_PI / 2 + 2 * M_PI * k / n;
}

static void layout_seat_rects(const struct layout_view *v, struct layout_rect table, int sw,
                              struct layout_rect out[LAYOUT_MAX_SEATS])
{
    double cx = table.x + table.w / 2.0, cy = table.y + (table.h - 1) / 2.0;
    double rx = (table.w - sw) / 2.0, ry = (table.h - LAYOUT_SEAT_H) / 2.0;
    for (int s = 0; s < v->nseats; s++) {
        double th = layout_seat_angle(v, s);
        struct layout_rect r = {(int)lround(cx + rx * cos(th) - sw / 2.0),
                                (int)lround(cy + ry * sin(th)) - 1, sw, LAYOUT_SEAT_H};
        if (r.x < table.x) r.x = table.x;
        if (r.x + r.w > table.x + table.w) r.x = table.x + table.w - r.w;
        if (r.y < table.y) r.y = table.y;
        if (r.y + r.h > table.y + table.h) r.y = table.y + table.h - r.h;
        out[s] = r;
    }
}

static bool layout_seats_overlap(const struct layout_rect *r, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (layout_rect_overlap(r[i], r[j])) return true;
    return false;
}

/* The rail: the largest stadium centred in the table that no seat box touches, so that a label
 * never cuts through it, big enough for the board's row, a pot and the banner (20 x 6); w == 0
 * when the seats leave no such room. A box keeps a column of air on each side from the rail. For
 * each inset from the top and bottom the narrowest side
 * inset that clears every box is the widest felt (a smaller rectangle never overlaps more). */
static struct layout_rect layout_felt_rect(const struct layout_view *v, struct layout_rect t,
                                           const struct layout_rect *seat)
{
    struct layout_rect best = {0, 0, 0, 0};
    int n = v->nseats >= 2 && v->nseats <= LAYOUT_MAX_SEATS ? v->nseats : 0;
    for (int dy = 0; t.h - 2 * dy >= 6; dy++) {
        for (int dx = 1; t.w - 2 * dx >= 20; dx++) {
            struct layout_rect f = {t.x + dx, t.y + dy, t.w - 2 * dx, t.h - 2 * dy};
            bool hit = false;
            /* A column of air between a box and the rail, so a name never runs into it. */
            for (int s = 0; s < n && !hit; s++)
                hit = layout_rect_overlap(
                    f, (struct layout_rect){seat[s].x - 1, seat[s].y, seat[s].w + 2, seat[s].h});
            if (hit) continue;
            if (f.w * f.h > best.w * best.h) best = f;
            break;
        }
    }
    return best;
}

/* The pure arithmetic: regions for a cols x rows screen and the view's seat count. */
static void layout_geometry_compute(int cols, int rows, const struct layout_view *v,
                                    struct layout_geometry *geo)
{
    memset(geo, 0, sizeof(*geo));
    if (cols < LAYOUT_MIN_COLS || rows < LAYOUT_MIN_ROWS) {
        geo->too_small = true;
        return;
    }
    int above = rows - 3; /* everything but the bar, the input line and the status line */
    int strip = above * 3 / 10;
    strip = strip < 6 ? 6 : strip > 12 ? 12 : strip;
    int th = above - strip;
    geo->status = (struct layout_rect){0, rows - 1, cols, 1};
    geo->input = (struct layout_rect){0, rows - 2, cols, 1};
    geo->bar = (struct layout_rect){0, rows - 3, cols, 1};
    geo->table = (struct layout_rect){0, 0, cols, th};

    int logw = (cols - LAYOUT_HAND_W - 2) / 2;
    geo->hand = (struct layout_rect){0, th + 1, LAYOUT_HAND_W, strip - 1};
    geo->log = (struct layout_rect){LAYOUT_HAND_W + 1, th + 1, logw, strip - 1};
    geo->chat = (struct layout_rect){LAYOUT_HAND_W + 1 + logw + 1, th + 1,
                                     cols - (LAYOUT_HAND_W + 1 + logw + 1), strip - 1};

    int sw = cols / 5;
    sw = sw < 16 ? 16 : sw > 22 ? 22 : sw;
    if (v->nseats >= 2 && v->nseats <= LAYOUT_MAX_SEATS) {
        for (;;) {
            layout_seat_rects(v, geo->table, sw, geo->seat);
            if (sw <= LAYOUT_SEAT_W_MIN || !layout_seats_overlap(geo->seat, v->nseats)) break;
            sw--;
        }
    }
    if (v->nseats >= 2 && v->nseats <= LAYOUT_MAX_SEATS) {
        geo->felt = layout_felt_rect(v, geo->table, geo->seat);
    } else {
        int half = sw / 2;
        geo->felt = (struct layout_rect){geo->table.x + half, geo->table.y + 1,
                                         geo->table.w - 2 * half, geo->table.h - 2};
    }
}

/* The cloth inside the rail: where the board, the pots and the bets go. Without a rail, the
 * middle of the table between the seats. */
static struct layout_rect layout_cloth(const struct layout_geometry *geo)
{
    struct layout_rect f = geo->felt;
    if (f.w == 0) {
        const struct layout_rect t = geo->table;
        return (struct layout_rect){t.x + t.w / 4, t.y + 3, t.w / 2, t.h - 6 > 1 ? t.h - 6 : 1};
    }
    return (struct layout_rect){f.x + 2, f.y + 1, f.w - 4, f.h - 2};
}

/* ---- the table --------------------------------------------------------------------------- */

/* A stadium-shaped rail: straight top and bottom, rounded ends; the inside is cloth. */
static void layout_draw_felt(struct layout_grid *g, struct layout_rect f, bool ascii)
{
    if (f.w < 8 || f.h < 5) return;
    for (int r = 0; r < f.h; r++) {
        int inset = (r == 0 || r == f.h - 1) ? 2 : (r == 1 || r == f.h - 2) ? 1 : 0;
        int l = f.x + inset, rt = f.x + f.w - 1 - inset, y = f.y + r;
        const char *lc, *rc;
        if (r == 0) {
            lc = ascii ? "." : "\u256d";
            rc = ascii ? "." : "\u256e";
        } else if (r == f.h - 1) {
            lc = ascii ? "'" : "\u2570";
            rc = ascii ? "'" : "\u256f";
        } else if (r == 1) {
            lc = ascii ? "/" : "\u2571";
            rc = ascii ? "\\" : "\u2572";
        } else if (r == f.h - 2) {
            lc = ascii ? "\\" : "\u2572";
            rc = ascii ? "/" : "\u2571";
        } else {
            lc = rc = ascii ? "|" : "\u2502";
        }
        layout_put(g, l, y, 1, LAYOUT_S_FELT_EDGE, lc);
        layout_put(g, rt, y, 1, LAYOUT_S_FELT_EDGE, rc);
        for (int x = l + 1; x < rt; x++) {
            if (r == 0 || r == f.h - 1)
                layout_put(g, x, y, 1, LAYOUT_S_FELT_EDGE, ascii ? "-" : "\u2500");
            else
                layout_cell_set(g, x, y, " ", 1, 1, LAYOUT_S_FELT);
        }
    }
}

/* The board, the pots and the banner, centred on the felt. Returns the rectangle used. */
static struct layout_rect layout_draw_centre(struct layout_grid *g, const struct layout_view *v,
                                             const struct layout_geometry *geo)
{
    const struct layout_rect t = geo->table, cloth = layout_cloth(geo);
    const int showboard = v->nboard > 0 || v->hand_running;
    const int text =
        (v->npots > 0 ? 1 : 0) + (v->npots > 1 ? 1 : 0) + (v->banner && v->banner[0] ? 1 : 0);
    /* Board cards drawn as boxes when the cloth has room for them and the lines below. */
    const bool big = t.h >= 18 && cloth.w >= 5 * 4 + 4 + 2 && cloth.h >= 3 + text;
    const int cardh = big ? 3 : 1;
    int lines = (showboard ? cardh : 0) + text;
    int cy = t.y + (t.h - 1) / 2, y = cy - (lines - 1) / 2;
    int inner = cloth.w - 2;
    char buf[64];
    struct layout_rect used = {0, y, 0, lines};
    int minx = g->cols, maxx = 0;

    if (inner < 10 || lines == 0) return (struct layout_rect){0, 0, 0, 0};
    if (showboard) {
        int bw = big ? 5 * 4 + 4 : 5 * 2 + 4;
        int x = t.x + (t.w - bw) / 2;
        for (int i = 0; i < 5; i++) {
            bool have = i < v->nboard;
            if (big) {
                /* Four columns per card here: the board's boxes are narrower than own cards. */
                const bool a = v->ascii;
                int cx = x + i * 5;
                enum layout_style st = LAYOUT_S_FELT_EDGE;
                char face[16] = "  ";
                if (have) st = layout_card_text(v->board[i], a, v->four_color, face, sizeof(face));
                enum layout_style edge = have ? LAYOUT_S_CARD_BLACK : LAYOUT_S_FELT_EDGE;
                layout_put(g, cx, y, 4, edge, a ? "+--+" : "\u250c\u2500\u2500\u2510");
                layout_put(g, cx, y + 1, 1, edge, a ? "|" : "\u2502");
                layout_put(g, cx + 1, y + 1, 2, have ? st : LAYOUT_S_FELT, face);
                layout_put(g, cx + 3, y + 1, 1, edge, a ? "|" : "\u2502");
                layout_put(g, cx, y + 2, 4, edge, a ? "+--+" : "\u2514\u2500\u2500\u2518");
            } else if (have) {
                layout_draw_small_card(g, x + i * 3, y, 2, v->board[i], v);
            } else {
                layout_put(g, x + i * 3, y, 2, LAYOUT_S_FELT_EDGE,
                           v->ascii ? ".." : "\u00b7\u00b7");
            }
        }
        minx = x;
        maxx = x + bw;
        y += cardh;
    }
    if (v->npots > 0) {
        char line[160];
        snprintf(line, sizeof(line), "pot %s", layout_chips(v->pots[0], buf, sizeof(buf)));
        int w = layout_text_cols(line), x = t.x + (t.w - w) / 2;
        layout_put(g, x, y, inner, LAYOUT_S_FELT_TEXT, line);
        minx = x < minx ? x : minx;
        maxx = x + w > maxx ? x + w : maxx;
        y++;
    }
    if (v->npots > 1) {
        char line[400] = "";
        size_t len = 0;
        for (int i = 1; i < v->npots && i < LAYOUT_MAX_POTS; i++) {
            int n = snprintf(line + len, sizeof(line) - len, "%sside %s", i > 1 ? "  " : "",
                             layout_chips(v->pots[i], buf, sizeof(buf)));
            if (n < 0 || (size_t)n >= sizeof(line) - len) break;
            len += (size_t)n;
        }
        int w = layout_text_cols(line);
        w = w > inner ? inner : w;
        int x = t.x + (t.w - w) / 2;
        layout_put(g, x, y, inner, LAYOUT_S_FELT_TEXT, line);
        minx = x < minx ? x : minx;
        maxx = x + w > maxx ? x + w : maxx;
        y++;
    }
    if (v->banner && v->banner[0]) {
        int w = layout_text_cols(v->banner);
        w = w > inner ? inner : w;
        int x = t.x + (t.w - w) / 2;
        layout_put(g, x, y, inner, LAYOUT_S_WIN, v->banner);
        minx = x < minx ? x : minx;
        maxx = x + w > maxx ? x + w : maxx;
    }
    used.x = minx;
    used.w = maxx > minx ? maxx - minx : 0;
    return used;
}

/* How far apart two rectangles are, in cells between them, a row counted as two columns (a
 * terminal cell is about twice as tall as wide); 0 when they touch or overlap. */
static int layout_rect_gap(struct layout_rect a, struct layout_rect b)
{
    int gx = b.x - (a.x + a.w), gy = b.y - (a.y + a.h);
    if (a.x - (b.x + b.w) > gx) gx = a.x - (b.x + b.w);
    if (a.y - (b.y + b.h) > gy) gy = a.y - (b.y + b.h);
    return (gx > 0 ? gx : 0) + 2 * (gy > 0 ? gy : 0);
}

/* Where a seat's bet chip (w columns) goes: on the cloth at the point nearest its seat box, or as
 * near there as a free place is (clear of the board, the other chips and the boxes) that is
 * still nearer its own seat than any other; w == 0 when there is none. */
static struct layout_rect layout_bet_rect(const struct layout_view *v,
                                          const struct layout_geometry *geo, int seat, int w,
                                          struct layout_rect centre,
                                          const struct layout_rect *placed, int nplaced)
{
    /* The cloth less a column each side, clear of the rail's rounded corners. */
    const struct layout_rect cl = layout_cloth(geo), own = geo->seat[seat];
    const struct layout_rect c = {cl.x + 1, cl.y, cl.w - 2, cl.h};
    if (w > c.w || c.h < 1) return (struct layout_rect){0, 0, 0, 0};
    int bx = own.x + own.w / 2 - w / 2, by = own.y + own.h / 2;
    bx = bx < c.x ? c.x : bx > c.x + c.w - w ? c.x + c.w - w : bx;
    by = by < c.y ? c.y : by > c.y + c.h - 1 ? c.y + c.h - 1 : by;
    /* Candidates by growing distance from the nearest point, rows counting double. */
    for (int d = 0; d <= c.w + 2 * c.h; d++) {
        for (int dy = -(d / 2); dy <= d / 2; dy++) {
            for (int sign = -1; sign <= 1; sign += 2) {
                int dx = sign * (d - 2 * (dy < 0 ? -dy : dy));
                if (dx == 0 && sign > 0) continue;
                struct layout_rect r = {bx + dx, by + dy, w, 1};
                if (r.x < c.x || r.x + r.w > c.x + c.w || r.y < c.y || r.y >= c.y + c.h) continue;
                bool ok = !layout_rect_overlap(r, centre);
                struct layout_rect pad = {r.x - 1, r.y, r.w + 2, 1};
                for (int i = 0; ok && i < nplaced; i++)
                    ok = !layout_rect_overlap(pad, placed[i]);
                int mine = layout_rect_gap(r, own);
                for (int s = 0; ok && s < v->nseats; s++)
                    if (s != seat && geo->seat[s].w > 0)
                        ok = !layout_rect_overlap(r, geo->seat[s]) &&
                             layout_rect_gap(r, geo->seat[s]) > mine;
                if (ok) return r;
            }
        }
    }
    return (struct layout_rect){0, 0, 0, 0};
}

static void layout_seat_status_text(const struct layout_view *v, const struct layout_seat *s,
                                    bool bet_in_box, char *buf, size_t bufsz,
                                    enum layout_style *style)
{
    char c[32];
    *style = LAYOUT_S_NORMAL;
    buf[0] = '\0';
    if (s->won > 0) {
        snprintf(buf, bufsz, "wins %s", layout_chips(s->won, c, sizeof(c)));
        *style = LAYOUT_S_WIN;
    } else if (s->to_act) {
        if (s->clock_s >= 0)
            snprintf(buf, bufsz, "%s to act %ds", v->ascii ? ">" : "\u25b6", s->clock_s);
        else
            snprintf(buf, bufsz, "%s to act", v->ascii ? ">" : "\u25b6");
        *style = LAYOUT_S_TO_ACT;
    } else if (s->hand_name && s->hand_name[0] && s->status != LAYOUT_SEAT_FOLDED) {
        snprintf(buf, bufsz, "%s", s->hand_name);
        *style = LAYOUT_S_BOLD;
    } else if (s->status == LAYOUT_SEAT_FOLDED) {
        snprintf(buf, bufsz, "folded");
        *style = LAYOUT_S_DIM;
    } else if (s->status == LAYOUT_SEAT_ALL_IN) {
        snprintf(buf, bufsz, "ALL-IN");
        *style = LAYOUT_S_ERROR;
    } else if (s->status == LAYOUT_SEAT_SITTING_OUT) {
        snprintf(buf, bufsz, "sitting out");
        *style = LAYOUT_S_DIM;
    } else if (s->disconnected) {
        snprintf(buf, bufsz, "disconnected");
        *style = LAYOUT_S_STATUS_BAD;
    } else if (bet_in_box && s->bet > 0) {
        snprintf(buf, bufsz, "bet %s", layout_chips(s->bet, c, sizeof(c)));
        *style = LAYOUT_S_FELT_TEXT;
    }
    if (s->disconnected && buf[0] && s->status != LAYOUT_SEAT_EMPTY &&
        strcmp(buf, "disconnected") != 0) {
        size_t n = strlen(buf);
        snprintf(buf + n, bufsz - n, " (off)");
    }
}

static void layout_draw_seat(struct layout_grid *g, const struct layout_view *v, int seat,
                             struct layout_rect r, bool bet_in_box)
{
    const struct layout_seat *s = &v->seat[seat];
    char buf[64];
    enum layout_style base = LAYOUT_S_NORMAL;
    if (r.w <= 0) return;
    if (s->status == LAYOUT_SEAT_EMPTY) {
        layout_fill(g, r, LAYOUT_S_NORMAL);
        /* Numbered from 0, as feltd's log and docs/protocol.md number them. */
        snprintf(buf, sizeof(buf), "seat %d: empty", seat);
        int w = layout_text_cols(buf);
        layout_put(g, r.x + (r.w > w ? (r.w - w) / 2 : 0), r.y + 1, r.w, LAYOUT_S_DIM, buf);
        return;
    }
    if (s->flash)
        base = LAYOUT_S_FLASH;
    else if (s->to_act)
        base = LAYOUT_S_TO_ACT;
    layout_fill(g, r, base);

    /* Row 0: dealer button, name (win percentage at the right). */
    struct layout_pen p = {g, r.x, r.y, r.x + r.w};
    if (s->dealer) layout_pen_put(&p, base == LAYOUT_S_NORMAL ? LAYOUT_S_KEY : base, "(D) ");
    int right = r.x + r.w;
    if (s->win_pct >= 0) {
        snprintf(buf, sizeof(buf), " %d%%", s->win_pct);
        int w = layout_text_cols(buf);
        right -= w;
        layout_put(g, right, r.y, w, base == LAYOUT_S_NORMAL ? LAYOUT_S_WIN : base, buf);
    }
    p.end = right;
    enum layout_style ns = base != LAYOUT_S_NORMAL                ? base
                           : s->status == LAYOUT_SEAT_FOLDED      ? LAYOUT_S_DIM
                           : s->status == LAYOUT_SEAT_SITTING_OUT ? LAYOUT_S_DIM
                           : s->me                                ? LAYOUT_S_ME
                                                                  : LAYOUT_S_BOLD;
    /* A long name ends in an ellipsis rather than at the box's edge. */
    char name[4 * 64];
    layout_fit(s->name ? s->name : "?", p.end - p.x, g->utf8, v->ascii, name, sizeof(name));
    layout_pen_put(&p, ns, name);

    /* Row 1: stack, cards at the right. */
    int cardsw = s->ncards == 2 ? 5 : 0;
    p = (struct layout_pen){g, r.x, r.y + 1, r.x + r.w - cardsw - 1};
    layout_pen_put(&p,
                   base == LAYOUT_S_NORMAL && s->status == LAYOUT_SEAT_FOLDED ? LAYOUT_S_DIM : base,
                   layout_chips(s->stack, buf, sizeof(buf)));
    if (cardsw && r.w >= cardsw + 4) {
        int x = r.x + r.w - cardsw;
        layout_draw_small_card(g, x, r.y + 1, 2, s->cards[0], v);
        layout_draw_small_card(g, x + 3, r.y + 1, 2, s->cards[1], v);
    }

    /* Row 2: status, the clock, or the bet when it has no room on the cloth. */
    enum layout_style st;
    char fit[sizeof(buf) + 8];
    layout_seat_status_text(v, s, bet_in_box, buf, sizeof(buf), &st);
    if (base != LAYOUT_S_NORMAL) st = base;
    layout_fit(buf, r.w, g->utf8, v->ascii, fit, sizeof(fit));
    layout_put(g, r.x, r.y + 2, r.w, st, fit);
}

static void layout_draw_table(struct layout_grid *g, const struct layout_view *v,
                              struct layout_geometry *geo)
{
    struct layout_rect centre;
    bool bet_in_box[LAYOUT_MAX_SEATS] = {false};
    layout_draw_felt(g, geo->felt, v->ascii);
    if (v->nseats < 2 || v->nseats > LAYOUT_MAX_SEATS) {
        const char *msg = "joining the table...";
        int w = layout_text_cols(msg);
        layout_put(g, geo->table.x + (geo->table.w - w) / 2, geo->table.y + geo->table.h / 2,
                   geo->table.w, LAYOUT_S_FELT_TEXT, msg);
        return;
    }
    centre = layout_draw_centre(g, v, geo);
    geo->board = centre;
    struct layout_rect placed[LAYOUT_MAX_SEATS];
    int nplaced = 0;
    for (int s = 0; s < v->nseats; s++) {
        const struct layout_seat *st = &v->seat[s];
        char chips[32], label[48];
        if (st->status == LAYOUT_SEAT_EMPTY || st->bet <= 0) continue;
        snprintf(label, sizeof(label), "%s%s", v->ascii ? "o" : "\u25cf",
                 layout_chips(st->bet, chips, sizeof(chips)));
        struct layout_rect r =
            layout_bet_rect(v, geo, s, layout_text_cols(label), centre, placed, nplaced);
        if (r.w == 0) {
            bet_in_box[s] = true;
            continue;
        }
        geo->bet[s] = placed[nplaced++] = r;
        layout_put(g, r.x, r.y, r.w, LAYOUT_S_FELT_TEXT, label);
    }
    for (int s = 0; s < v->nseats; s++)
        layout_draw_seat(g, v, s, geo->seat[s], bet_in_box[s]);
}

/* ---- the strip: own cards, log, chat -------------------------------------------------- */

/* A pane title across the top row: "─ log ──────". */
static void layout_draw_title(struct layout_grid *g, int x, int y, int w, const char *title,
                              const struct layout_view *v)
{
    const char *hz = v->ascii ? "-" : "\u2500";
    for (int i = 0; i < w; i++)
        layout_put(g, x + i, y, 1, LAYOUT_S_DIM, hz);
    if (title && w > 4) {
        int n = layout_put(g, x + 2, y, w - 4, LAYOUT_S_BOLD, " ");
        n += layout_put(g, x + 2 + n, y, w - 4 - n, LAYOUT_S_BOLD, title);
        layout_put(g, x + 2 + n, y, w - 4 - n, LAYOUT_S_BOLD, " ");
    }
}

/* The suit (0..3) of a card written as the log writes it, a rank then a suit symbol
 * (text_card), at the start of s; -1 when s does not start with one. */
static int layout_card_word(const unsigned char *s)
{
    uint32_t cp;
    if (!*s || !strchr(CARD_RANKS, *s) || layout_utf8_decode(s + 1, &cp) < 0) return -1;
    for (int suit = 0; suit < 4; suit++) {
        uint32_t sym;
        layout_utf8_decode((const unsigned char *)text_suit_symbols[suit], &sym);
        if (cp == sym) return suit;
    }
    return -1;
}

/* Flows one line (an optional "who: " prefix, then the text) into rows of r.w columns,
 * breaking at spaces where it can, starting at row y0 (which may lie above r: rows outside r
 * are measured, not drawn). With cards (the log pane), a word that is a card ("A\u2665") is
 * drawn as the table draws cards: in its suit's colour, and with a letter for the suit under
 * cards->ascii (the columns are the same either way). Returns the number of rows the line
 * takes. */
static int layout_flow(struct layout_grid *g, struct layout_rect r, int y0,
                       const struct layout_line *ln, bool draw, const struct layout_view *cards)
{
    struct {
        const char *text;
        enum layout_style style;
    } seg[3] = {{ln->who, LAYOUT_S_CHAT_NAME},
                {ln->who ? ": " : NULL, LAYOUT_S_CHAT_NAME},
                {ln->text, ln->style}};
    int col = 0, row = 0;
    if (r.w <= 0) return 1;
    for (int k = 0; k < 3; k++) {
        const unsigned char *s = (const unsigned char *)seg[k].text;
        if (!s) continue;
        while (*s) {
            /* One word (up to a space), or one space. */
            const unsigned char *e = s;
            int ww = 0;
            bool space = *s == ' ';
            if (space) {
                e = s + 1;
                ww = 1;
            } else {
                while (*e && *e != ' ') {
                    uint32_t cp;
                    int n = layout_utf8_decode(e, &cp);
                    int w = n < 0 ? 1 : layout_cp_cols(cp, g->utf8);
                    e += n < 0 ? 1 : n;
                    ww += w > 0 ? w : 0;
                }
            }
            if (space && (col == 0 || col + 1 > r.w)) {
                if (col + 1 > r.w) {
                    row++;
                    col = 0;
                }
                s = e;
                continue;
            }
            if (!space && col > 0 && col + ww > r.w && ww <= r.w) {
                row++;
                col = 0;
            }
            int suit = cards && !space ? layout_card_word(s) : -1, card_chars = suit >= 0 ? 2 : 0;
            /* Draw (or measure) the word character by character, wrapping inside it when it
             * is wider than the pane. */
            while (s < e) {
                uint32_t cp;
                int n = layout_utf8_decode(s, &cp);
                int w = n < 0 ? 1 : layout_cp_cols(cp, g->utf8);
                char ch[8];
                size_t len = n < 0 ? 1 : (size_t)n;
                if (w < 0) {
                    s += len;
                    continue;
                }
                if (col + w > r.w) {
                    row++;
                    col = 0;
                }
                memcpy(ch, s, len);
                ch[len] = '\0';
                enum layout_style style = seg[k].style;
                if (card_chars > 0) {
                    style = layout_suit_style(suit, cards->four_color);
                    if (card_chars-- == 1 && cards->ascii)
                        snprintf(ch, sizeof(ch), "%c", CARD_SUITS[suit]);
                }
                int y = y0 + row;
                if (draw && y >= r.y && y < r.y + r.h)
                    layout_put(g, r.x + col, y, r.w - col, style, ch);
                col += w;
                s += len;
            }
        }
    }
    return row + 1;
}

/* ---- the panes' scrollback ------------------------------------------------------------ */

/* A line's rows as the callback measures them, never less than 1 nor more than a screen. */
static int layout_scroll_rows(layout_rows_fn rows, void *ctx, int i)
{
    int r = rows(ctx, i);
    return r < 1 ? 1 : r > LAYOUT_MAX_ROWS ? LAYOUT_MAX_ROWS : r;
}

/* Line b at the bottom of `height` rows, older lines above it until the rows are full. */
static void layout_scroll_bottom(int b, int height, layout_rows_fn rows, void *ctx,
                                 struct layout_scroll *out)
{
    int sum = 0, first = 0;
    for (int i = b; i >= 0; i--) {
        sum += layout_scroll_rows(rows, ctx, i);
        first = i;
        if (sum >= height) break;
    }
    out->first = first;
    out->last = b;
    out->rows = height;
    out->y0 = height - sum;
    out->page = b - first + 1 - (out->y0 < 0 ? 1 : 0);
}

void layout_scroll_compute(int n, int height, int offset, layout_rows_fn rows, void *ctx,
                           struct layout_scroll *out)
{
    memset(out, 0, sizeof(*out));
    out->first = out->last = -1;
    out->rows = height > 0 ? height : 0;
    out->page = 1;
    if (n <= 0 || height <= 0) return;
    if (offset > n - 1) offset = n - 1;
    if (offset > 0 && height >= 2) {
        /* From the top: top, the first line that fills the rows above the marker, and whether
         * every line fits in the pane anyway (then there is nothing to scroll). */
        int avail = height - 1, sum = 0, top = -1, i;
        for (i = 0; i < n && sum <= height; i++) {
            sum += layout_scroll_rows(rows, ctx, i);
            if (top < 0 && sum >= avail) top = i;
        }
        int max = top < 0 || (i == n && sum <= height) ? 0 : n - 1 - top;
        if (max > 0) {
            out->marker = true;
            if (offset >= max) {
                /* The oldest page: line 0 at the top, the bottom line possibly cut. */
                int whole = 0;
                sum = 0;
                for (i = 0; i <= top; i++) {
                    sum += layout_scroll_rows(rows, ctx, i);
                    if (sum <= avail) whole++;
                }
                out->first = 0;
                out->last = top;
                out->rows = avail;
                out->y0 = 0;
                out->page = whole;
                offset = max;
            } else {
                layout_scroll_bottom(n - 1 - offset, avail, rows, ctx, out);
            }
            out->offset = out->below = offset;
            if (out->page < 1) out->page = 1;
            return;
        }
    }
    layout_scroll_bottom(n - 1, height, rows, ctx, out);
    if (out->page < 1) out->page = 1;
}

struct layout_measure {
    struct layout_grid *g;
    struct layout_rect r;
    const struct layout_line *lines;
};

static int layout_measure_rows(void *ctx, int i)
{
    struct layout_measure *m = ctx;
    return layout_flow(m->g, m->r, 0, &m->lines[i], false, NULL);
}

/* The "more below" marker on the pane's last row, as long a form as fits. */
static void layout_draw_marker(struct layout_grid *g, struct layout_rect r, int below)
{
    char forms[4][64];
    int y = r.y + r.h - 1;
    snprintf(forms[0], sizeof(forms[0]), "-- %d more below, End to return --", below);
    snprintf(forms[1], sizeof(forms[1]), "-- %d more below, End --", below);
    snprintf(forms[2], sizeof(forms[2]), "-- %d below --", below);
    snprintf(forms[3], sizeof(forms[3]), "%d v", below);
    layout_fill(g, (struct layout_rect){r.x, y, r.w, 1}, LAYOUT_S_KEY);
    for (size_t i = 0; i < FELT_ARRAY_LEN(forms); i++) {
        if (layout_text_cols(forms[i]) <= r.w || i + 1 == FELT_ARRAY_LEN(forms)) {
            layout_put(g, r.x, y, r.w, LAYOUT_S_KEY, forms[i]);
            return;
        }
    }
}

/* Draws lines[] into r scrolled back by offset lines (0: the newest at the bottom), with the
 * marker when scrolled back; *sc says what was shown. */
static void layout_draw_pane(struct layout_grid *g, struct layout_rect r,
                             const struct layout_line *lines, int n, int offset,
                             struct layout_scroll *sc, const struct layout_view *cards)
{
    struct layout_measure m = {g, r, lines};
    layout_scroll_compute(lines ? n : 0, r.w > 0 ? r.h : 0, offset, layout_measure_rows, &m, sc);
    struct layout_rect area = {r.x, r.y, r.w, sc->rows};
    int y = r.y + sc->y0;
    for (int i = sc->first; i >= 0 && i <= sc->last && y < area.y + area.h; i++)
        y += layout_flow(g, area, y, &lines[i], true, cards);
    if (sc->marker) layout_draw_marker(g, r, sc->below);
}

static void layout_draw_strip(struct layout_grid *g, const struct layout_view *v,
                              struct layout_geometry *geo)
{
    const struct layout_rect h = geo->hand;
    const struct layout_seat *me =
        v->my_seat >= 0 && v->my_seat < v->nseats ? &v->seat[v->my_seat] : NULL;
    char title[64] = "", c0[16], c1[16];
    int ty = h.y - 1;
    bool cards = me && me->ncards == 2 && card_valid(me->cards[0]) && card_valid(me->cards[1]);

    if (cards) {
        layout_card_text(me->cards[0], v->ascii, v->four_color, c0, sizeof(c0));
        layout_card_text(me->cards[1], v->ascii, v->four_color, c1, sizeof(c1));
        snprintf(title, sizeof(title), "%s %s", c0, c1);
    } else {
        snprintf(title, sizeof(title), "%s", me ? "you" : "watching");
    }
    layout_draw_title(g, h.x, ty, h.w, title, v);
    layout_put(g, h.x + h.w, ty, 1, LAYOUT_S_DIM, v->ascii ? "+" : "\u252c");
    layout_draw_title(g, geo->log.x, ty, geo->log.w, "log", v);
    layout_put(g, geo->log.x + geo->log.w, ty, 1, LAYOUT_S_DIM, v->ascii ? "+" : "\u252c");
    layout_draw_title(g, geo->chat.x, ty, geo->chat.w, "chat", v);
    for (int y = h.y; y < h.y + h.h; y++) {
        layout_put(g, h.x + h.w, y, 1, LAYOUT_S_DIM, v->ascii ? "|" : "\u2502");
        layout_put(g, geo->log.x + geo->log.w, y, 1, LAYOUT_S_DIM, v->ascii ? "|" : "\u2502");
    }

    if (cards) {
        int ch = h.h > 5 ? 5 : h.h;
        int y = h.y + (h.h - ch) / 2;
        layout_draw_big_card(g, h.x + 1, y, ch, me->cards[0], false, v);
        layout_draw_big_card(g, h.x + 7, y, ch, me->cards[1], false, v);
    } else {
        const char *msg = !me                                     ? "spectating"
                          : me->status == LAYOUT_SEAT_SITTING_OUT ? "sitting out"
                          : me->status == LAYOUT_SEAT_FOLDED      ? "folded"
                                                                  : "next hand";
        int w = layout_text_cols(msg);
        layout_put(g, h.x + (h.w - w) / 2, h.y + h.h / 2, h.w, LAYOUT_S_DIM, msg);
    }
    layout_draw_pane(g, geo->log, v->log, v->nlog, v->log_scroll, &geo->log_scroll, v);
    struct layout_scroll chat;
    layout_draw_pane(g, geo->chat, v->chat, v->nchat, 0, &chat, NULL);
}

/* ---- the bottom rows ----------------------------------------------------------------------- */

static void layout_bar_key(struct layout_pen *p, const char *key, const char *what)
{
    layout_pen_put(p, LAYOUT_S_BAR, " ");
    layout_pen_put(p, LAYOUT_S_KEY, key);
    layout_pen_put(p, LAYOUT_S_BAR, " ");
    layout_pen_put(p, LAYOUT_S_BAR, what);
    layout_pen_put(p, LAYOUT_S_BAR, " ");
}

static void layout_draw_turn(struct layout_grid *g, const struct layout_view *v,
                             struct layout_rect r)
{
    const struct layout_turn *t = &v->turn;
    char a[32], b[32], what[96];
    struct layout_pen p = {g, r.x, r.y, r.x + r.w};
    layout_fill(g, r, LAYOUT_S_BAR);
    /* Full labels when they fit, short ones on a narrow screen. */
    int need = 12 + 9 + 22 + 34 + 18 + (t->clock_s >= 0 ? 6 : 0);
    bool wide = r.w >= need;
    if (wide) layout_pen_put(&p, LAYOUT_S_BAR, " YOUR TURN ");
    layout_bar_key(&p, "f", "fold");
    if (t->can_check) {
        layout_bar_key(&p, "c", "check");
    } else {
        snprintf(what, sizeof(what), "call %s%s", layout_chips(t->call, a, sizeof(a)),
                 t->stack > 0 && t->call >= t->stack ? " (all-in)" : "");
        layout_bar_key(&p, "c", what);
    }
    if (t->can_raise) {
        snprintf(what, sizeof(what), "raise %s-%s", layout_chips(t->min_raise_to, a, sizeof(a)),
                 layout_chips(t->max_raise_to, b, sizeof(b)));
        layout_bar_key(&p, "r", what);
        snprintf(what, sizeof(what), "all-in %s", layout_chips(t->max_raise_to, a, sizeof(a)));
        layout_bar_key(&p, "a", what);
    }
    if (t->clock_s >= 0) {
        snprintf(what, sizeof(what), " %ds ", t->clock_s);
        int w = layout_text_cols(what);
        if (p.x + w <= r.x + r.w) layout_put(g, r.x + r.w - w, r.y, w, LAYOUT_S_KEY, what);
    }
}

static void layout_draw_raise(struct layout_grid *g, const struct layout_view *v,
                              struct layout_rect r)
{
    const struct layout_turn *t = &v->turn;
    char a[32], b[32];
    struct layout_pen p = {g, r.x, r.y, r.x + r.w};
    layout_fill(g, r, LAYOUT_S_BAR);
    layout_pen_put(&p, LAYOUT_S_BAR, " raise to: ");
    layout_pen_put(&p, LAYOUT_S_KEY, v->raise_input ? v->raise_input : "");
    layout_pen_put(&p, LAYOUT_S_KEY, "_");
    layout_pen_putf(&p, LAYOUT_S_BAR, "  (min %s, max %s) ",
                    layout_chips(t->min_raise_to, a, sizeof(a)),
                    layout_chips(t->max_raise_to, b, sizeof(b)));
    if (v->bar_message && v->bar_message[0]) {
        layout_pen_put(&p, LAYOUT_S_ERROR, " ");
        layout_pen_put(&p, LAYOUT_S_ERROR, v->bar_message);
        layout_pen_put(&p, LAYOUT_S_ERROR, " ");
        return;
    }
    layout_bar_key(&p, "h", "half pot");
    layout_bar_key(&p, "p", "pot");
    layout_bar_key(&p, "a", "all-in");
    layout_bar_key(&p, v->ascii ? "<>" : "\u2190\u2192", "step");
    layout_bar_key(&p, "Enter", "raise");
    layout_bar_key(&p, "Esc", "back");
}

/* A question before an action that is easy to regret, and its answers. */
static void layout_draw_ask(struct layout_grid *g, const struct layout_view *v,
                            struct layout_rect r)
{
    struct layout_pen p = {g, r.x, r.y, r.x + r.w};
    layout_fill(g, r, LAYOUT_S_BAR);
    layout_pen_put(&p, LAYOUT_S_BAR, " ");
    layout_pen_put(&p, LAYOUT_S_BAR, v->ask ? v->ask : "");
    layout_pen_put(&p, LAYOUT_S_BAR, " ");
    for (int i = 0; v->ask_keys && i < v->nask_keys; i++)
        layout_bar_key(&p, v->ask_keys[i].key ? v->ask_keys[i].key : "", v->ask_keys[i].what);
}

/* The pre-actions as check boxes, the armed one ticked: "F [x] check/fold  K [ ] check ...". */
static void layout_draw_pre(struct layout_pen *p, const struct layout_view *v)
{
    static const struct {
        enum layout_pre pre;
        const char *key, *what;
    } row[] = {
        {LAYOUT_PRE_CHECK_FOLD, "F", "check/fold"},
        {LAYOUT_PRE_CHECK, "K", "check"},
        {LAYOUT_PRE_CALL_ANY, "C", "call any"},
    };
    layout_pen_put(p, LAYOUT_S_NORMAL, " ");
    for (size_t i = 0; i < FELT_ARRAY_LEN(row); i++) {
        bool on = v->pre_armed == row[i].pre;
        layout_pen_put(p, LAYOUT_S_KEY, row[i].key);
        layout_pen_put(p, on ? LAYOUT_S_WIN : LAYOUT_S_DIM, on ? " [x] " : " [ ] ");
        layout_pen_put(p, on ? LAYOUT_S_WIN : LAYOUT_S_DIM, row[i].what);
        layout_pen_put(p, LAYOUT_S_NORMAL, "  ");
    }
}

static void layout_draw_bar(struct layout_grid *g, const struct layout_view *v,
                            struct layout_rect r)
{
    struct layout_pen p = {g, r.x, r.y, r.x + r.w};
    switch (v->mode) {
    case LAYOUT_MODE_TURN:
        layout_draw_turn(g, v, r);
        if (v->bar_message && v->bar_message[0]) {
            int w = layout_text_cols(v->bar_message) + 2;
            w = w > r.w / 2 ? r.w / 2 : w;
            layout_fill(g, (struct layout_rect){r.x + r.w - w, r.y, w, 1}, LAYOUT_S_ERROR);
            layout_put(g, r.x + r.w - w + 1, r.y, w - 2, LAYOUT_S_ERROR, v->bar_message);
        }
        return;
    case LAYOUT_MODE_RAISE:
        layout_draw_raise(g, v, r);
        return;
    case LAYOUT_MODE_CONFIRM_QUIT:
        layout_fill(g, r, LAYOUT_S_BAR);
        layout_pen_put(&p, LAYOUT_S_BAR, " You are in a hand. Leave the table?");
        layout_bar_key(&p, "y", "leave");
        layout_bar_key(&p, "n", "stay");
        return;
    case LAYOUT_MODE_SEAT_GONE:
        layout_fill(g, r, LAYOUT_S_ERROR);
        layout_pen_put(&p, LAYOUT_S_ERROR, " ");
        layout_pen_put(&p, LAYOUT_S_ERROR,
                       v->bar_message && v->bar_message[0]
                           ? v->bar_message
                           : "Your seat is gone (server restarted). Press j to join again, "
                             "q to quit");
        return;
    case LAYOUT_MODE_ASK:
        layout_draw_ask(g, v, r);
        return;
    case LAYOUT_MODE_IDLE:
        break;
    }
    if (v->bar_message && v->bar_message[0]) {
        layout_pen_put(&p, LAYOUT_S_ERROR, " ");
        layout_pen_put(&p, LAYOUT_S_ERROR, v->bar_message);
        layout_pen_put(&p, LAYOUT_S_NORMAL, "  ");
    }
    if (v->bar_notice && v->bar_notice[0]) {
        layout_pen_put(&p, LAYOUT_S_BOLD, " ");
        layout_pen_put(&p, LAYOUT_S_BOLD, v->bar_notice);
        layout_pen_put(&p, LAYOUT_S_NORMAL, "  ");
    }
    if (v->pre_offer) layout_draw_pre(&p, v);
    if (v->waiting_for) {
        layout_pen_put(&p, LAYOUT_S_DIM, " waiting for ");
        layout_pen_put(&p, LAYOUT_S_BOLD, v->waiting_for);
        if (v->waiting_clock_s >= 0)
            layout_pen_putf(&p, LAYOUT_S_DIM, " (%ds)", v->waiting_clock_s);
    } else if ((!v->bar_message || !v->bar_message[0]) && (!v->bar_notice || !v->bar_notice[0])) {
        layout_pen_put(&p, LAYOUT_S_DIM,
                       v->status.spectating ? " spectating: the table is read-only"
                       : v->hand_running    ? " "
                                            : " waiting for the next hand");
    }
}

static void layout_draw_input(struct layout_grid *g, const struct layout_view *v,
                              struct layout_rect r)
{
    r = layout_draw_input_mode(g, r, v->chatting);
    if (v->chatting) return; /* chat.c draws the line being edited in the rest */
    struct layout_pen p = {g, r.x, r.y, r.x + r.w};
    if (v->chat_allowed) {
        layout_pen_put(&p, LAYOUT_S_KEY, " Enter");
        layout_pen_put(&p, LAYOUT_S_DIM, " or ");
        layout_pen_put(&p, LAYOUT_S_KEY, "/");
        layout_pen_put(&p, LAYOUT_S_DIM, " chat  ");
    }
    if (v->sit_key) {
        layout_pen_put(&p, LAYOUT_S_KEY, " s");
        layout_pen_put(&p, LAYOUT_S_DIM, v->sit_key == 1 ? " sit out  " : " sit in  ");
    }
    layout_pen_put(&p, LAYOUT_S_KEY, " PgUp/PgDn");
    layout_pen_put(&p, LAYOUT_S_DIM, " log  ");
    layout_pen_put(&p, LAYOUT_S_KEY, " h");
    layout_pen_put(&p, LAYOUT_S_DIM, " hands  ");
    layout_pen_put(&p, LAYOUT_S_KEY, " q");
    layout_pen_put(&p, LAYOUT_S_DIM, " quit  ");
    layout_pen_put(&p, LAYOUT_S_KEY, " ?");
    layout_pen_put(&p, LAYOUT_S_DIM, " help");
}

static void layout_draw_status(struct layout_grid *g, const struct layout_view *v,
                               struct layout_rect r)
{
    const struct layout_status *s = &v->status;
    struct layout_pen p = {g, r.x, r.y, r.x + r.w};
    const char *dot = v->ascii ? "*" : "\u25cf";
    char a[32], b[32], right[128];
    layout_fill(g, r, LAYOUT_S_STATUS);
    layout_pen_put(&p, LAYOUT_S_STATUS, " ");
    /* A round trip of 2 s or more is a ping still waiting (session.c reports how long it has
     * waited, SESSION_SILENT_MS): the server does not answer, whatever the socket says. */
    bool no_answer = s->conn != LAYOUT_CONN_OFFLINE && !s->polling && s->rtt_ms >= 2000;
    if (no_answer)
        layout_pen_putf(&p, LAYOUT_S_STATUS_BAD, "%s no answer %ds", dot, s->rtt_ms / 1000);
    else switch (s->conn) {
    case LAYOUT_CONN_CONNECTED:
        layout_pen_putf(&p, LAYOUT_S_STATUS_OK, "%s %s", dot, s->polling ? "polling" : "connected");
        break;
    case LAYOUT_CONN_CONNECTING:
        layout_pen_putf(&p, LAYOUT_S_STATUS_BAD, "%s connecting", dot);
        break;
    case LAYOUT_CONN_RECONNECTING:
        layout_pen_putf(&p, LAYOUT_S_STATUS_BAD, "%s reconnecting #%d in %ds", dot, s->attempt,
                        s->next_in_s < 0 ? 0 : s->next_in_s);
        break;
    case LAYOUT_CONN_OFFLINE:
        layout_pen_putf(&p, LAYOUT_S_STATUS_BAD, "%s offline", dot);
        break;
    }
    if (s->server) layout_pen_putf(&p, LAYOUT_S_STATUS, " (%s)", s->server);
    if (s->rtt_ms >= 0 && !no_answer)
        layout_pen_putf(&p, LAYOUT_S_STATUS, "  rtt %d ms", s->rtt_ms);
    layout_pen_putf(&p, s->queued > 0 ? LAYOUT_S_STATUS_BAD : LAYOUT_S_STATUS, "  queued: %d",
                    s->queued);
    layout_pen_putf(&p, LAYOUT_S_STATUS, "  spectators: %d", s->spectators);
    if (s->spectating) layout_pen_put(&p, LAYOUT_S_STATUS_BAD, "  SPECTATING");

    int n = snprintf(right, sizeof(right), "%s %s/%s ", v->table_name ? v->table_name : "",
                     layout_chips(v->small_blind, a, sizeof(a)),
                     layout_chips(v->big_blind, b, sizeof(b)));
    if (v->hand_id > 0 && n > 0 && (size_t)n < sizeof(right))
        snprintf(right + n, sizeof(right) - (size_t)n, " hand #%lld ", (long long)v->hand_id);
    int w = layout_text_cols(right);
    if (p.x + 2 + w <= r.x + r.w) layout_put(g, r.x + r.w - w, r.y, w, LAYOUT_S_STATUS, right);
}

/* ---- the input mode and the help overlay --------------------------------------------------- */

struct layout_rect layout_draw_input_mode(struct layout_grid *g, struct layout_rect r,
                                          bool chatting)
{
    /* Both tags as wide, so that the rest of the row does not move when the mode changes. */
    int w = layout_put(g, r.x, r.y, r.w, chatting ? LAYOUT_S_TO_ACT : LAYOUT_S_STATUS,
                       chatting ? " CHAT  " : " TABLE ");
    w += layout_put(g, r.x + w, r.y, r.w - w, LAYOUT_S_NORMAL, " ");
    r.x += w;
    r.w -= w;
    if (chatting) {
        static const char back[] = " Esc or empty Enter: table ";
        int bw = layout_text_cols(back);
        if (r.w >= bw + 30) {
            layout_put(g, r.x + r.w - bw, r.y, bw, LAYOUT_S_DIM, back);
            r.w -= bw;
        }
    }
    return r;
}

void layout_draw_help(struct layout_grid *g, struct layout_rect area, const char *title,
                      const struct layout_keyhint *rows, int n, bool ascii)
{
    static const char foot[] = "any key closes this help";
    int kw = 0, ww = 0, hw = layout_text_cols(foot); /* keys, what they do, whole rows */
    for (int i = 0; i < n; i++) {
        int t = layout_text_cols(rows[i].what ? rows[i].what : "");
        if (!rows[i].key) {
            if (t > hw) hw = t;
            continue;
        }
        int k = layout_text_cols(rows[i].key);
        if (k > kw) kw = k;
        if (t > ww) ww = t;
    }
    if (kw + 2 + ww > hw) hw = kw + 2 + ww;
    /* "| key  what |": borders, a space inside each, two columns between key and what. */
    int w = hw + 4, h = n + 4; /* top edge, rows, a blank row, the footer, bottom edge */
    if (w > area.w) w = area.w;
    if (h > area.h) h = area.h;
    if (w < 10 || h < 4) return;
    struct layout_rect b = {area.x + (area.w - w) / 2, area.y + (area.h - h) / 2, w, h};
    const char *hz = ascii ? "-" : "\u2500", *vt = ascii ? "|" : "\u2502";
    const char *corner[4] = {"+", "+", "+", "+"};
    if (!ascii) {
        corner[0] = "\u250c";
        corner[1] = "\u2510";
        corner[2] = "\u2514";
        corner[3] = "\u2518";
    }
    layout_fill(g, b, LAYOUT_S_NORMAL);
    for (int x = b.x + 1; x < b.x + w - 1; x++) {
        layout_put(g, x, b.y, 1, LAYOUT_S_BOLD, hz);
        layout_put(g, x, b.y + h - 1, 1, LAYOUT_S_BOLD, hz);
    }
    for (int y = b.y + 1; y < b.y + h - 1; y++) {
        layout_put(g, b.x, y, 1, LAYOUT_S_BOLD, vt);
        layout_put(g, b.x + w - 1, y, 1, LAYOUT_S_BOLD, vt);
    }
    layout_put(g, b.x, b.y, 1, LAYOUT_S_BOLD, corner[0]);
    layout_put(g, b.x + w - 1, b.y, 1, LAYOUT_S_BOLD, corner[1]);
    layout_put(g, b.x, b.y + h - 1, 1, LAYOUT_S_BOLD, corner[2]);
    layout_put(g, b.x + w - 1, b.y + h - 1, 1, LAYOUT_S_BOLD, corner[3]);
    if (title) {
        int tx = b.x + 2;
        tx += layout_put(g, tx, b.y, w - 4, LAYOUT_S_BOLD, " ");
        tx += layout_put(g, tx, b.y, b.x + w - 2 - tx, LAYOUT_S_BOLD, title);
        layout_put(g, tx, b.y, b.x + w - 2 - tx, LAYOUT_S_BOLD, " ");
    }
    int inner = w - 4, fit = h - 4;
    for (int i = 0; i < n && i < fit; i++) {
        int y = b.y + 1 + i, x = b.x + 2;
        if (i == fit - 1 && fit < n) {
            layout_put(g, x, y, inner, LAYOUT_S_DIM, "(more: a taller terminal shows them)");
            break;
        }
        if (!rows[i].key) {
            layout_put(g, x, y, inner, LAYOUT_S_BOLD, rows[i].what ? rows[i].what : "");
            continue;
        }
        layout_put(g, x, y, inner < kw ? inner : kw, LAYOUT_S_KEY, rows[i].key);
        if (inner > kw + 2)
            layout_put(g, x + kw + 2, y, inner - kw - 2, LAYOUT_S_NORMAL,
                       rows[i].what ? rows[i].what : "");
    }
    layout_put(g, b.x + 2, b.y + h - 2, inner, LAYOUT_S_DIM, foot);
}

static void layout_draw_too_small(struct layout_grid *g)
{
    char l1[96], l2[96];
    snprintf(l1, sizeof(l1), "Terminal too small: %dx%d", g->cols, g->rows);
    snprintf(l2, sizeof(l2), "felt needs at least %dx%d. Resize, or press q to quit.",
             LAYOUT_MIN_COLS, LAYOUT_MIN_ROWS);
    /* On a tiny screen the message itself wraps: the first words are what matter. */
    struct layout_line lines[2] = {{NULL, l1, LAYOUT_S_ERROR}, {NULL, l2, LAYOUT_S_NORMAL}};
    int y = g->rows / 2 - 1;
    struct layout_rect r = {1, y < 0 ? 0 : y, g->cols - 2 > 0 ? g->cols - 2 : g->cols, g->rows};
    int used = layout_flow(g, r, r.y, &lines[0], true, NULL);
    layout_flow(g, r, r.y + used, &lines[1], true, NULL);
}

void layout_draw(struct layout_grid *g, const struct layout_view *v, struct layout_geometry *geo)
{
    layout_grid_clear(g, LAYOUT_S_NORMAL);
    layout_geometry_compute(g->cols, g->rows, v, geo);
    if (geo->too_small) {
        layout_draw_too_small(g);
        return;
    }
    layout_draw_table(g, v, geo);
    layout_draw_strip(g, v, geo);
    layout_draw_bar(g, v, geo->bar);
    layout_draw_input(g, v, geo->input);
    layout_draw_status(g, v, geo->status);
}
