/*
 * pokerstars.c: PokerStars hand-history text for one complete hand record (see pokerstars.h).
 *
 * The hand is replayed through the engine and its event log is rendered line by line in the
 * PokerStars grammar: header, table, seats, antes and blinds, "*** HOLE CARDS ***", actions
 * ("raises X to Y" where X is the raise over the current bet), "Uncalled bet (X) returned to",
 * streets with the board so far, "*** SHOW DOWN ***" (shown hands described as PokerStars does,
 * "a pair of Aces", "a straight, Ace to Five"), "collected X from pot" (side pots first, main pot
 * last) and the "*** SUMMARY ***". Hands shown during an all-in run-out are listed at the show
 * down, after the board, as PokerStars lists them. The checked grammar and the parser it was
 * checked against are in docs/hand-format.md ("PokerStars export").
 */
#include "pokerstars.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "util.h"

/* "[Ah Kd Tc]" of n cards (PokerStars writes the two-character form). */
static void pokerstars_cards(struct felt_buf *b, const card_t *c, int n)
{
    char buf[CARD_LIST_MAX];
    felt_buf_printf(b, "[%s]", card_list(c, n, true, buf, sizeof(buf)));
}

static const char *const pokerstars_rank_one[13] = {"Deuce", "Three", "Four", "Five", "Six",
                                                    "Seven", "Eight", "Nine", "Ten",  "Jack",
                                                    "Queen", "King",  "Ace"};
static const char *const pokerstars_rank_many[13] = {"Deuces", "Threes", "Fours", "Fives", "Sixes",
                                                     "Sevens", "Eights", "Nines", "Tens",  "Jacks",
                                                     "Queens", "Kings",  "Aces"};

/* The PokerStars description of the best hand of two hole cards and the five board cards:
 * "high card Ace", "a pair of Aces", "two pair, Aces and Kings", "three of a kind, Queens",
 * "a straight, Ten to Ace", "a flush, King high", "a full house, Kings full of Sevens",
 * "four of a kind, Aces", "a straight flush, Five to Nine", "a Royal Flush". */
static void pokerstars_describe(const card_t hole[2], const card_t board[5], char *out, size_t n)
{
    card_t c[7], best[5];
    memcpy(c, hole, 2);
    memcpy(c + 2, board, 5);
    uint16_t rank = eval_best5(c, 7, best);
    const char *top1 = pokerstars_rank_one[card_rank(best[0])];
    const char *low1 = pokerstars_rank_one[card_rank(best[4])];
    const char *top = pokerstars_rank_many[card_rank(best[0])];
    switch (eval_category(rank)) {
    case EVAL_HIGH_CARD:
        snprintf(out, n, "high card %s", top1);
        break;
    case EVAL_PAIR:
        snprintf(out, n, "a pair of %s", top);
        break;
    case EVAL_TWO_PAIR:
        snprintf(out, n, "two pair, %s and %s", top, pokerstars_rank_many[card_rank(best[2])]);
        break;
    case EVAL_TRIPS:
        snprintf(out, n, "three of a kind, %s", top);
        break;
    case EVAL_STRAIGHT:
        snprintf(out, n, "a straight, %s to %s", low1, top1);
        break;
    case EVAL_FLUSH:
        snprintf(out, n, "a flush, %s high", top1);
        break;
    case EVAL_FULL_HOUSE:
        snprintf(out, n, "a full house, %s full of %s", top,
                 pokerstars_rank_many[card_rank(best[3])]);
        break;
    case EVAL_QUADS:
        snprintf(out, n, "four of a kind, %s", top);
        break;
    case EVAL_STRAIGHT_FLUSH:
        if (card_rank(best[0]) == 12 && card_rank(best[4]) == 8)
            snprintf(out, n, "a Royal Flush");
        else
            snprintf(out, n, "a straight flush, %s to %s", low1, top1);
        break;
    }
}

/* A pot to print: the record's results or the engine's awards. */
struct pokerstars_pot {
    int64_t amount;
    int nwinners;
    int seat[ENGINE_MAX_SEATS];
    int64_t share[ENGINE_MAX_SEATS];
};

/* What the walk through the events remembers for the summary. */
struct pokerstars_walk {
    int64_t round_to; /* the largest bet of the current betting round */
    enum engine_street street;
    int folded_on[ENGINE_MAX_SEATS]; /* street + 1 of the fold, 0 = did not fold */
    bool put_in[ENGINE_MAX_SEATS];   /* blind, call or raise before the flop */
    int sb_seat, bb_seat;            /* the seats that posted the blinds, or -1 */
    int nshow;
    struct engine_event show[ENGINE_MAX_SEATS]; /* SHOW and MUCK events, in order */
    int64_t ante[ENGINE_MAX_SEATS];             /* antes posted, printed in seat order */
    bool ante_all_in[ENGINE_MAX_SEATS];
    bool antes_done, hole_header;
};

static const char *pokerstars_name(const struct handrec *h, int seat)
{
    for (int i = 0; i < h->nseats; i++)
        if (h->seat[i].seat == seat) return h->seat[i].name;
    return "?";
}

/* The antes, in seat order as PokerStars lists them (the engine posts them from the small
 * blind round), before the first line that is not an ante. */
static void pokerstars_antes(struct felt_buf *b, const struct handrec *h,
                             struct pokerstars_walk *w)
{
    if (w->antes_done) return;
    w->antes_done = true;
    for (int s = 0; s < ENGINE_MAX_SEATS; s++)
        if (w->ante[s] > 0)
            felt_buf_printf(b, "%s: posts the ante %" PRId64 "%s\n", pokerstars_name(h, s),
                              w->ante[s], w->ante_all_in[s] ? " and is all-in" : "");
}

static void pokerstars_hole_header(struct felt_buf *b, struct pokerstars_walk *w)
{
    if (w->hole_header) return;
    felt_buf_printf(b, "*** HOLE CARDS ***\n");
    w->hole_header = true;
}

/* One event of the log, as the lines of the action part (shows are kept for the show down). */
static void pokerstars_event(struct felt_buf *b, const struct handrec *h,
                             const struct engine *e, const struct engine_event *x,
                             struct pokerstars_walk *w)
{
    const char *who = x->seat >= 0 ? pokerstars_name(h, x->seat) : "";
    const char *allin = x->all_in ? " and is all-in" : "";
    if (x->kind != ENGINE_EV_ANTE) pokerstars_antes(b, h, w);
    switch (x->kind) {
    case ENGINE_EV_ANTE:
        if (x->seat >= 0 && x->seat < ENGINE_MAX_SEATS) {
            w->ante[x->seat] += x->amount;
            w->ante_all_in[x->seat] = x->all_in;
        }
        break;
    case ENGINE_EV_BLIND:
        felt_buf_printf(b, "%s: posts %s blind %" PRId64 "%s\n", who,
                          x->blind_big ? "big" : "small", x->amount, allin);
        if (x->blind_big)
            w->bb_seat = x->seat;
        else
            w->sb_seat = x->seat;
        w->put_in[x->seat] = true;
        if (x->to > w->round_to) w->round_to = x->to;
        break;
    case ENGINE_EV_DEAL_HOLE:
        pokerstars_hole_header(b, w);
        break;
    case ENGINE_EV_ACTION:
        pokerstars_hole_header(b, w);
        switch (x->action) {
        case ENGINE_FOLD:
            felt_buf_printf(b, "%s: folds\n", who);
            w->folded_on[x->seat] = (int)w->street + 1;
            break;
        case ENGINE_CHECK:
            felt_buf_printf(b, "%s: checks\n", who);
            break;
        case ENGINE_CALL:
            felt_buf_printf(b, "%s: calls %" PRId64 "%s\n", who, x->amount, allin);
            break;
        default:
            if (w->round_to == 0)
                felt_buf_printf(b, "%s: bets %" PRId64 "%s\n", who, x->to, allin);
            else
                felt_buf_printf(b, "%s: raises %" PRId64 " to %" PRId64 "%s\n", who,
                                  x->to - w->round_to, x->to, allin);
        }
        if (w->street == ENGINE_PREFLOP && x->amount > 0) w->put_in[x->seat] = true;
        if (x->to > w->round_to) w->round_to = x->to;
        break;
    case ENGINE_EV_STREET: {
        int before = x->street == ENGINE_RIVER ? 4 : x->street == ENGINE_TURN ? 3 : 0;
        pokerstars_hole_header(b, w);
        felt_buf_printf(b, "*** %s *** ",
                          x->street == ENGINE_FLOP   ? "FLOP"
                          : x->street == ENGINE_TURN ? "TURN"
                                                     : "RIVER");
        if (before > 0) {
            pokerstars_cards(b, e->board, before);
            felt_buf_printf(b, " ");
        }
        pokerstars_cards(b, x->cards, x->ncards);
        felt_buf_printf(b, "\n");
        w->street = x->street;
        w->round_to = 0;
        break;
    }
    case ENGINE_EV_UNCALLED:
        felt_buf_printf(b, "Uncalled bet (%" PRId64 ") returned to %s\n", x->amount, who);
        break;
    case ENGINE_EV_SHOW:
    case ENGINE_EV_MUCK:
        if (w->nshow < ENGINE_MAX_SEATS) w->show[w->nshow++] = *x;
        break;
    case ENGINE_EV_POT:
    case ENGINE_EV_HAND_END:
        break;
    }
}

/* The pots to print, checked against the engine: the same number and sizes always, the same
 * winners and shares too when the engine could decide the showdown. */
static int pokerstars_pots(const struct handrec *h, const struct engine *e, bool decided,
                           struct pokerstars_pot pots[ENGINE_MAX_POTS], int *npots,
                           struct felt_err *err)
{
    *npots = e->npots;
    for (int k = 0; k < e->npots; k++) {
        struct pokerstars_pot *p = &pots[k];
        memset(p, 0, sizeof(*p));
        p->amount = e->pots[k].amount;
        /* Winners clockwise from the button's left, the order the engine gives odd chips in. */
        for (int j = 1; j <= ENGINE_MAX_SEATS; j++) {
            int s = (e->button + j) % ENGINE_MAX_SEATS;
            if (s < e->nseats && (e->pots[k].winners >> s & 1)) {
                p->seat[p->nwinners] = s;
                p->share[p->nwinners++] = e->pots[k].share[s];
            }
        }
    }
    if (!h->has_results) {
        if (!decided)
            return felt_err_set(err, "missing_cards",
                                "the hand reaches a showdown but the record lacks hole or board "
                                "cards needed to decide it, and has no results");
        return 0;
    }
    if (h->nresults != e->npots)
        return felt_err_set(err, "bad_results", "results: %d pots, but the hand makes %d",
                            h->nresults, e->npots);
    for (int k = 0; k < h->nresults; k++) {
        const struct handrec_pot *r = &h->results[k];
        if (r->amount != pots[k].amount)
            return felt_err_set(err, "bad_results",
                                "results[%d].amount: %" PRId64 ", but the pot is %" PRId64, k,
                                r->amount, pots[k].amount);
        if (decided) {
            bool same = r->nwinners == pots[k].nwinners;
            for (int i = 0; same && i < r->nwinners; i++) {
                bool found = false;
                for (int j = 0; j < pots[k].nwinners && !found; j++)
                    found = pots[k].seat[j] == r->winners[i].seat &&
                            pots[k].share[j] == r->winners[i].amount;
                same = found;
            }
            if (!same)
                return felt_err_set(err, "bad_results",
                                    "results[%d].winners: not the winners the replay finds", k);
            continue;
        }
        /* The showdown cannot be decided again: the record's winners, in clockwise order. */
        struct pokerstars_pot *p = &pots[k];
        p->nwinners = 0;
        for (int j = 1; j <= ENGINE_MAX_SEATS; j++) {
            int s = (e->button + j) % ENGINE_MAX_SEATS;
            for (int i = 0; i < r->nwinners; i++)
                if (r->winners[i].seat == s) {
                    if (s >= e->nseats || !e->p[s].dealt || e->p[s].folded)
                        return felt_err_set(err, "bad_results",
                                            "results[%d]: seat %d could not win this pot", k, s);
                    p->seat[p->nwinners] = s;
                    p->share[p->nwinners++] = r->winners[i].amount;
                }
        }
    }
    return 0;
}

/* "Jan 1 1970" stands in for a record without started_at. */
static void pokerstars_date(const struct handrec *h, char *out, size_t n)
{
    int64_t ms = 0;
    char iso[HANDREC_TIME_MAX + 1];
    if (h->started_at[0] && handrec_parse_time(h->started_at, &ms) == 0 &&
        handrec_format_time(ms, iso) == 0)
        snprintf(out, n, "%.4s/%.2s/%.2s %.8s UTC", iso, iso + 5, iso + 8, iso + 11);
    else
        snprintf(out, n, "1970/01/01 00:00:00 UTC");
}

/* The "N-max" of the table: the smallest usual size (2, 6, 9, 10) that has every listed seat and
 * the button. */
static int pokerstars_table_size(const struct handrec *h)
{
    int top = h->button;
    for (int i = 0; i < h->nseats; i++)
        if (h->seat[i].seat > top) top = h->seat[i].seat;
    return top < 2 ? 2 : top < 6 ? 6 : top < 9 ? 9 : 10;
}

static void pokerstars_collected(struct felt_buf *b, const struct handrec *h,
                                 const struct pokerstars_pot *pots, int npots)
{
    for (int k = npots - 1; k >= 0; k--)
        for (int i = 0; i < pots[k].nwinners; i++) {
            const char *who = pokerstars_name(h, pots[k].seat[i]);
            if (npots == 1)
                felt_buf_printf(b, "%s collected %" PRId64 " from pot\n", who, pots[k].share[i]);
            else if (k == 0)
                felt_buf_printf(b, "%s collected %" PRId64 " from main pot\n", who,
                                  pots[k].share[i]);
            else if (npots == 2)
                felt_buf_printf(b, "%s collected %" PRId64 " from side pot\n", who,
                                  pots[k].share[i]);
            else
                felt_buf_printf(b, "%s collected %" PRId64 " from side pot-%d\n", who,
                                  pots[k].share[i], k);
        }
}

/* The shown cards of a seat at the show down, or NULL if it mucked (or its cards are unknown). */
static const struct engine_event *pokerstars_shown(const struct pokerstars_walk *w, int seat)
{
    for (int i = 0; i < w->nshow; i++)
        if (w->show[i].seat == seat && w->show[i].kind == ENGINE_EV_SHOW &&
            card_valid(w->show[i].cards[0]) && card_valid(w->show[i].cards[1]))
            return &w->show[i];
    return NULL;
}

static void pokerstars_summary(struct felt_buf *b, const struct handrec *h,
                               const struct engine *e, const struct pokerstars_walk *w,
                               const struct pokerstars_pot *pots, int npots, bool showdown)
{
    static const char *const streets[] = {"before Flop", "on the Flop", "on the Turn",
                                          "on the River"};
    int64_t total = 0, won[ENGINE_MAX_SEATS] = {0};
    for (int k = 0; k < npots; k++) {
        total += pots[k].amount;
        for (int i = 0; i < pots[k].nwinners; i++)
            won[pots[k].seat[i]] += pots[k].share[i];
    }
    felt_buf_printf(b, "*** SUMMARY ***\n");
    felt_buf_printf(b, "Total pot %" PRId64, total);
    if (npots > 1) {
        felt_buf_printf(b, " Main pot %" PRId64 ".", pots[0].amount);
        for (int k = 1; k < npots; k++) {
            if (npots == 2)
                felt_buf_printf(b, " Side pot %" PRId64 ".", pots[k].amount);
            else
                felt_buf_printf(b, " Side pot-%d %" PRId64 ".", k, pots[k].amount);
        }
    }
    felt_buf_printf(b, " | Rake 0\n");
    if (e->board_dealt > 0) {
        felt_buf_printf(b, "Board ");
        pokerstars_cards(b, e->board, e->board_dealt);
        felt_buf_printf(b, "\n");
    }
    for (int s = 0; s < e->nseats; s++) {
        if (!e->p[s].dealt) continue;
        felt_buf_printf(b, "Seat %d: %s", s + 1, pokerstars_name(h, s));
        if (s == e->button) felt_buf_printf(b, " (button)");
        if (s == w->sb_seat) felt_buf_printf(b, " (small blind)");
        if (s == w->bb_seat) felt_buf_printf(b, " (big blind)");
        const struct engine_event *shown = showdown ? pokerstars_shown(w, s) : NULL;
        char desc[64];
        if (w->folded_on[s] > 0) {
            int st = w->folded_on[s] - 1;
            felt_buf_printf(b, " folded %s%s\n", streets[st >= 0 && st <= 3 ? st : 0],
                              st == 0 && !w->put_in[s] ? " (didn't bet)" : "");
        } else if (shown) {
            felt_buf_printf(b, " showed ");
            pokerstars_cards(b, shown->cards, 2);
            pokerstars_describe(shown->cards, e->board, desc, sizeof(desc));
            if (won[s] > 0)
                felt_buf_printf(b, " and won (%" PRId64 ") with %s\n", won[s], desc);
            else
                felt_buf_printf(b, " and lost with %s\n", desc);
        } else if (won[s] > 0) {
            felt_buf_printf(b, " collected (%" PRId64 ")\n", won[s]);
        } else {
            felt_buf_printf(b, " mucked\n");
        }
    }
}

char *pokerstars_format(const struct handrec *h, struct felt_err *err)
{
    struct handrec_result r;
    struct felt_err rerr = {0};
    struct felt_buf b = {0};
    struct pokerstars_walk w;
    struct pokerstars_pot pots[ENGINE_MAX_POTS];
    int npots = 0;
    char *out = NULL;

    if (strcmp(h->status, "voided") == 0) {
        memset(&r, 0, sizeof(r));
        felt_err_set(err, "not_complete", "the hand was voided: it has no result to export");
        goto out;
    }
    int rc = handrec_replay(h, &r, &rerr);
    bool undecided = rc < 0 && strcmp(rerr.code, "missing_cards") == 0;
    if (rc < 0 && !undecided) {
        felt_err_set(err, rerr.code, "%s", rerr.message);
        goto out;
    }
    if (r.error_index >= 0) {
        felt_err_set(err, "illegal_action", "action %d: %s", r.error_index, r.error_message);
        goto out;
    }
    if (!r.complete) {
        felt_err_set(err, "not_complete", "the actions stop before the end of the hand");
        goto out;
    }
    const struct engine *e = &r.e;
    if (pokerstars_pots(h, e, !undecided, pots, &npots, err) < 0) goto out;

    memset(&w, 0, sizeof(w));
    w.sb_seat = w.bb_seat = -1;
    w.street = ENGINE_PREFLOP;
    char date[48];
    pokerstars_date(h, date, sizeof(date));
    felt_buf_printf(
        &b, "PokerStars Hand #%" PRId64 ":  Hold'em No Limit (%" PRId64 "/%" PRId64 ") - %s\n",
        h->has_hand_id ? h->hand_id : 0, h->small_blind, h->big_blind, date);
    felt_buf_printf(&b, "Table '%s' %d-max (Play Money) Seat #%d is the button\n",
                      h->game_id[0] ? h->game_id : "felt", pokerstars_table_size(h), h->button + 1);
    for (int s = 0; s < e->nseats; s++) {
        if (!e->p[s].dealt) continue;
        for (int i = 0; i < h->nseats; i++)
            if (h->seat[i].seat == s)
                felt_buf_printf(&b, "Seat %d: %s (%" PRId64 " in chips)\n", s + 1,
                                  h->seat[i].name, h->seat[i].stack);
    }
    for (int i = 0; i < r.nlog; i++)
        pokerstars_event(&b, h, e, &r.log[i].ev, &w);
    pokerstars_antes(&b, h, &w);
    pokerstars_hole_header(&b, &w);

    int left = 0, last = -1;
    for (int s = 0; s < e->nseats; s++)
        if (e->p[s].dealt && !e->p[s].folded) {
            left++;
            last = s;
        }
    bool showdown = left >= 2;
    bool board_known = e->board_dealt == 5;
    for (int i = 0; i < 5 && board_known; i++)
        board_known = card_valid(e->board[i]);
    for (int i = 0; showdown && !board_known && i < w.nshow; i++)
        if (w.show[i].kind == ENGINE_EV_SHOW && card_valid(w.show[i].cards[0])) {
            felt_err_set(err, "missing_cards",
                         "a hand is shown but the record lacks board cards to describe it");
            goto out;
        }
    if (showdown) {
        char desc[64];
        felt_buf_printf(&b, "*** SHOW DOWN ***\n");
        for (int i = 0; i < w.nshow; i++) {
            const struct engine_event *x = &w.show[i];
            const char *who = pokerstars_name(h, x->seat);
            if (x->kind == ENGINE_EV_SHOW && card_valid(x->cards[0]) && card_valid(x->cards[1])) {
                pokerstars_describe(x->cards, e->board, desc, sizeof(desc));
                felt_buf_printf(&b, "%s: shows ", who);
                pokerstars_cards(&b, x->cards, 2);
                felt_buf_printf(&b, " (%s)\n", desc);
            } else {
                felt_buf_printf(&b, "%s: mucks hand\n", who);
            }
        }
        pokerstars_collected(&b, h, pots, npots);
    } else {
        pokerstars_collected(&b, h, pots, npots);
        if (last >= 0) felt_buf_printf(&b, "%s: doesn't show hand\n", pokerstars_name(h, last));
    }
    pokerstars_summary(&b, h, e, &w, pots, npots, showdown);
    out = b.p;
    b.p = NULL;
out:
    free(b.p);
    handrec_result_free(&r);
    return out;
}
