/*
 * test_pokerstars.c: unit tests for common/pokerstars.c, the PokerStars hand-history export.
 *
 * Golden files: every NAME.json in tests/golden/pokerstars/ is formatted and compared byte for
 * byte with NAME.txt (the folder is argv[1], or found from this file's path, so ctest works
 * from any build folder). Every line of every output must have one of the shapes of the
 * PokerStars grammar (POSIX regexes below, in their section), and the output is read back with
 * the line patterns of pokerkit's PokerStarsParser (uoftcprg/pokerkit, pokerkit/notation.py),
 * translated to POSIX: hand number, table, seat count, button, stacks, blinds, board and the
 * raise-to amounts it would rebuild must be the record's. Showdown descriptions are checked for
 * every category; refusals (voided, unfinished, illegal, missing cards, inconsistent results)
 * give their codes; random hands played through the engine, written as public histories (mucked
 * cards removed) and as full logs, all export with the same checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <regex.h>

#include "engine.h"
#include "eval.h"
#include "handrec.h"
#include "pokerstars.h"
#include "randhand.h"
#include "rng.h"
#include "util.h"

static char golden_dir[4096];

/* ---- helpers ---- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 8192;
            buf = xrealloc(buf, cap);
        }
        size_t k = fread(buf + n, 1, 4096, f);
        n += k;
        if (k == 0) break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void parse_ok(const char *text, struct handrec *h)
{
    struct felt_err err = {0};
    int rc = handrec_parse(text, strlen(text), h, &err);
    if (rc < 0) fail_msg("parse: %s: %s", err.code, err.message);
}

/* Splits text into lines (modified in place); returns the count. */
static int split_lines(char *text, char **lines, int max)
{
    int n = 0;
    char *p = text;
    while (*p && n < max) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl); /* every line ends with a newline */
        *nl = '\0';
        lines[n++] = p;
        p = nl + 1;
    }
    assert_true(*p == '\0');
    return n;
}

/* ---- the PokerStars grammar: the shape of every line ---- */

#define N "[0-9]+"
#define C "[2-9TJQKA][cdhs]"
#define R1 "(Deuce|Three|Four|Five|Six|Seven|Eight|Nine|Ten|Jack|Queen|King|Ace)"
#define R2 "(Deuces|Threes|Fours|Fives|Sixes|Sevens|Eights|Nines|Tens|Jacks|Queens|Kings|Aces)"
#define DESC                                                                                       \
    "(high card " R1 "|a pair of " R2 "|two pair, " R2 " and " R2 "|three of a kind, " R2          \
    "|a straight, " R1 " to " R1 "|a flush, " R1 " high|a full house, " R2 " full of " R2          \
    "|four of a kind, " R2 "|a straight flush, " R1 " to " R1 "|a Royal Flush)"
#define ALLIN "( and is all-in)?"

/* Lines before "*** SUMMARY ***" (the header and table lines are checked on their own). */
static const char *const action_shapes[] = {
    "^Seat " N ": .+ \\(" N " in chips\\)$",
    "^.+: posts the ante " N ALLIN "$",
    "^.+: posts (small|big) blind " N ALLIN "$",
    "^\\*\\*\\* HOLE CARDS \\*\\*\\*$",
    "^.+: (folds|checks)$",
    "^.+: (calls|bets) " N ALLIN "$",
    "^.+: raises " N " to " N ALLIN "$",
    "^Uncalled bet \\(" N "\\) returned to .+$",
    "^\\*\\*\\* FLOP \\*\\*\\* \\[" C " " C " " C "\\]$",
    "^\\*\\*\\* TURN \\*\\*\\* \\[" C " " C " " C "\\] \\[" C "\\]$",
    "^\\*\\*\\* RIVER \\*\\*\\* \\[" C " " C " " C " " C "\\] \\[" C "\\]$",
    "^\\*\\*\\* SHOW DOWN \\*\\*\\*$",
    "^.+: shows \\[" C " " C "\\] \\(" DESC "\\)$",
    "^.+: mucks hand$",
    "^.+ collected " N " from (pot|main pot|side pot|side pot-" N ")$",
    "^.+: doesn't show hand$",
};
/* Lines after it. */
static const char *const summary_shapes[] = {
    "^Total pot " N "( Main pot " N "\\.( Side pot " N "\\.|( Side pot-" N " " N "\\.)+))? \\| "
    "Rake 0$",
    "^Board \\[" C "( " C "){2,4}\\]$",
    "^Seat " N ": .+( \\(button\\))?( \\(small blind\\))?( \\(big blind\\))? (folded before Flop( "
    "\\(didn't bet\\))?|folded on the (Flop|Turn|River)|collected \\(" N "\\)|showed \\[" C " " C
    "\\] and won \\(" N "\\) with " DESC "|showed \\[" C " " C "\\] and lost with " DESC
    "|mucked)$",
};
static const char header_shape[] = "^PokerStars Hand #" N ":  Hold'em No Limit \\(" N "/" N "\\) - "
                                   "[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC$";
static const char table_shape[] =
    "^Table '[A-Za-z0-9_-]+' (2|6|9|10)-max \\(Play Money\\) Seat #" N " is the button$";

/* Compiled patterns, kept for the whole run (the patterns are string constants). */
static struct {
    const char *pattern;
    regex_t re;
} compiled[64];
static int ncompiled;

static bool matches(const char *pattern, const char *line, regmatch_t *m, size_t nm)
{
    int k = 0;
    while (k < ncompiled && compiled[k].pattern != pattern)
        k++;
    if (k == ncompiled) {
        assert_true(ncompiled < (int)FELT_ARRAY_LEN(compiled));
        if (regcomp(&compiled[k].re, pattern, REG_EXTENDED) != 0) fail_msg("bad regex %s", pattern);
        compiled[k].pattern = pattern;
        ncompiled++;
    }
    return regexec(&compiled[k].re, line, m ? nm : 0, m, 0) == 0;
}

static bool matches_any(const char *const *shapes, size_t n, const char *line)
{
    for (size_t i = 0; i < n; i++)
        if (matches(shapes[i], line, NULL, 0)) return true;
    return false;
}

/* Every line has a shape of its section; the sections come in order. */
static void check_grammar(const char *text)
{
    char *copy = xstrdup(text);
    char *lines[2048];
    int n = split_lines(copy, lines, 2048);
    int hole = -1, summary = -1;
    assert_true(n >= 7);
    if (!matches(header_shape, lines[0], NULL, 0)) fail_msg("header: %s", lines[0]);
    if (!matches(table_shape, lines[1], NULL, 0)) fail_msg("table line: %s", lines[1]);
    for (int i = 2; i < n; i++) {
        if (strcmp(lines[i], "*** HOLE CARDS ***") == 0) {
            assert_int_equal(hole, -1);
            hole = i;
        }
        if (strcmp(lines[i], "*** SUMMARY ***") == 0) {
            assert_int_equal(summary, -1);
            summary = i;
            continue;
        }
        bool ok = summary < 0
                      ? matches_any(action_shapes, FELT_ARRAY_LEN(action_shapes), lines[i])
                      : matches_any(summary_shapes, FELT_ARRAY_LEN(summary_shapes), lines[i]);
        if (!ok) fail_msg("line %d has no PokerStars shape: \"%s\"", i + 1, lines[i]);
        /* Seat lines with chips only before the hole cards. */
        if (hole >= 0 && summary < 0) assert_null(strstr(lines[i], " in chips)"));
    }
    assert_true(hole > 2 && summary > hole && summary + 2 <= n);
    assert_true(strncmp(lines[summary + 1], "Total pot ", 10) == 0);
    free(copy);
}

/* ---- reading the output back as pokerkit's PokerStarsParser does ---- */

/* pokerkit's patterns (re.search, unanchored), with \d as [0-9], \D as [^0-9], \S as [^ ]. */
#define PK_FINAL_SEAT "#([0-9]+) is the button"
#define PK_VARIANT " (Hold'em No Limit) "
#define PK_BLIND "(.+): posts (small|big) blind [^0-9]?([0-9.]+)"
#define PK_STACK "Seat [0-9]+: (.+) \\([^0-9]?([0-9.]+) in chips"
#define PK_BOARD                                                                                   \
    "\\*\\*\\*( (FLOP) \\*\\*\\*| (TURN|RIVER) \\*\\*\\* \\[[1-9TJQKAcdhs ]+\\]) "                 \
    "\\[([1-9TJQKAcdhs ]+)\\]"
#define PK_FOLD "(.+): folds"
#define PK_CHECK_CALL "(.+): c(all|heck)s"
#define PK_BET_RAISE "(.+): (bet|raise)s [^0-9]?([0-9.]+)"
#define PK_SHOW "(.+): shows \\[([1-9TJQKAcdhs ]+)\\] (.+)"
#define PK_DATETIME " - ([0-9]+)/([0-9]+)/([0-9]+) ([0-9]{1,2}:[0-9]{2}:[0-9]{2}) ([^ ]+)"
#define PK_HAND "PokerStars (Hand|Game) #([0-9]+):"
#define PK_SEAT_COUNT " ([0-9]+)-max "
#define PK_TABLE "Table '(.+)'"

static int64_t group_int(const char *line, const regmatch_t *m)
{
    return strtoll(line + m->rm_so, NULL, 10);
}

static bool group_is(const char *line, const regmatch_t *m, const char *want)
{
    size_t n = (size_t)(m->rm_eo - m->rm_so);
    return strlen(want) == n && memcmp(line + m->rm_so, want, n) == 0;
}

static int seat_index_by_name(const struct handrec *h, const char *line, const regmatch_t *m)
{
    for (int i = 0; i < h->nseats; i++)
        if (group_is(line, m, h->seat[i].name)) return i;
    fail_msg("unknown player in \"%s\"", line);
    return -1;
}

/* Reads text back with pokerkit's patterns and checks what it would rebuild against the record
 * and its replay: r may be undecided (missing cards), its log is complete either way. */
static void check_pokerkit(const char *text, const struct handrec *h,
                           const struct handrec_result *r)
{
    char *copy = xstrdup(text);
    char *lines[2048];
    int n = split_lines(copy, lines, 2048);
    regmatch_t m[8];
    const struct engine *e = &r->e;

    assert_true(matches(PK_VARIANT, text, NULL, 0));
    assert_true(matches(PK_HAND, lines[0], m, 8));
    assert_int_equal(group_int(lines[0], &m[2]), h->has_hand_id ? h->hand_id : 0);
    assert_true(matches(PK_DATETIME, lines[0], m, 8));
    assert_true(group_is(lines[0], &m[5], "UTC"));
    if (h->started_at[0]) {
        char want[16];
        snprintf(want, sizeof(want), "%.4s/%.2s/%.2s", h->started_at, h->started_at + 5,
                 h->started_at + 8);
        assert_int_equal(strncmp(lines[0] + m[1].rm_so, want, 10), 0);
        assert_int_equal(strncmp(lines[0] + m[4].rm_so, h->started_at + 11, 8), 0);
    }
    assert_true(matches(PK_FINAL_SEAT, lines[1], m, 8));
    assert_int_equal(group_int(lines[1], &m[1]), h->button + 1);
    assert_true(matches(PK_SEAT_COUNT, lines[1], m, 8));
    int seat_count = (int)group_int(lines[1], &m[1]);
    assert_true(seat_count > h->button);
    for (int i = 0; i < h->nseats; i++)
        assert_true(seat_count > h->seat[i].seat);
    assert_true(matches(PK_TABLE, lines[1], m, 8));
    assert_true(group_is(lines[1], &m[1], h->game_id[0] ? h->game_id : "felt"));

    /* Stacks: every dealt seat once, with its chips. */
    int stacks = 0, dealt = 0;
    for (int i = 0; i < h->nseats; i++)
        dealt += h->seat[i].stack > 0;
    for (int i = 0; i < n; i++)
        if (matches(PK_STACK, lines[i], m, 8)) {
            int k = seat_index_by_name(h, lines[i], &m[1]);
            assert_int_equal(group_int(lines[i], &m[2]), h->seat[k].stack);
            stacks++;
        }
    assert_int_equal(stacks, dealt);

    /* The actions as pokerkit rebuilds them (its _parse_actions, in its order of patterns):
     * bets tracked per player, cleared at each street; "bets/raises X" means to max + X. */
    int64_t bets[ENGINE_MAX_SEATS] = {0};
    int next_ev = 0, nboard = 0, nshow = 0;
    for (int i = 0; i < n; i++) {
        const char *l = lines[i];
        int64_t max = 0;
        for (int s = 0; s < ENGINE_MAX_SEATS; s++)
            if (bets[s] > max) max = bets[s];
        const struct engine_event *x = NULL;
        if (matches(PK_BLIND, l, m, 8)) {
            int k = seat_index_by_name(h, l, &m[1]);
            bets[h->seat[k].seat] = group_int(l, &m[3]);
            continue;
        }
        if (matches(PK_BOARD, l, m, 8)) {
            char cards[20];
            int len = (int)(m[4].rm_eo - m[4].rm_so);
            snprintf(cards, sizeof(cards), "%.*s", len, l + m[4].rm_so);
            card_t c[5];
            struct felt_err err = {0};
            int k = card_parse_list(cards, c, 5, &err);
            assert_true(k >= 1);
            for (int j = 0; j < k; j++)
                assert_int_equal(c[j], h->board[nboard++]);
            memset(bets, 0, sizeof(bets));
            continue;
        }
        bool fold = matches(PK_FOLD, l, m, 8);
        bool cc = !fold && matches(PK_CHECK_CALL, l, m, 8);
        bool cbr = !fold && !cc && matches(PK_BET_RAISE, l, m, 8);
        if (fold || cc || cbr) {
            while (next_ev < r->nlog && r->log[next_ev].ev.kind != ENGINE_EV_ACTION)
                next_ev++;
            assert_true(next_ev < r->nlog);
            x = &r->log[next_ev++].ev;
            int k = seat_index_by_name(h, l, &m[1]);
            assert_int_equal(h->seat[k].seat, x->seat);
            if (fold) assert_int_equal(x->action, ENGINE_FOLD);
            if (cc) {
                assert_true(x->action == ENGINE_CHECK || x->action == ENGINE_CALL);
                bets[x->seat] = max;
                /* pokerkit calls up to the bet; the engine's round bet after a call is that,
                 * or the seat's whole stack when it calls all-in for less. */
                assert_true(x->to == max || (x->all_in && x->to < max));
            }
            if (cbr) {
                assert_int_equal(x->action, ENGINE_RAISE);
                bets[x->seat] = max + group_int(l, &m[3]);
                assert_int_equal(bets[x->seat], x->to);
                assert_true(bets[x->seat] > max);
            }
            continue;
        }
        if (matches(PK_SHOW, l, m, 8)) {
            int k = seat_index_by_name(h, l, &m[1]);
            card_t c[2];
            char cards[8];
            struct felt_err err = {0};
            snprintf(cards, sizeof(cards), "%.*s", (int)(m[2].rm_eo - m[2].rm_so), l + m[2].rm_so);
            assert_int_equal(card_parse_list(cards, c, 2, &err), 2);
            assert_int_equal(c[0], h->seat[k].cards[0]);
            assert_int_equal(c[1], h->seat[k].cards[1]);
            nshow++;
        }
    }
    int nshown = 0;
    for (int i = 0; i < r->nlog; i++)
        nshown += r->log[i].ev.kind == ENGINE_EV_SHOW && card_valid(r->log[i].ev.cards[0]);
    while (next_ev < r->nlog && r->log[next_ev].ev.kind != ENGINE_EV_ACTION)
        next_ev++;
    assert_int_equal(next_ev, r->nlog); /* every action was read */
    assert_int_equal(nboard, e->board_dealt);
    assert_int_equal(nshow, nshown);

    /* The pots: what "collected" lines give out adds up to the total pot, the chips put in. */
    int64_t collected = 0, summary = 0, total = -1;
    for (int i = 0; i < n; i++) {
        if (matches("^.+ collected (" N ") from ", lines[i], m, 8))
            collected += group_int(lines[i], &m[1]);
        if (matches("^Seat " N ": .* (collected|and won) \\((" N ")\\)", lines[i], m, 8))
            summary += group_int(lines[i], &m[2]);
        if (matches("^Total pot (" N ")", lines[i], m, 8)) total = group_int(lines[i], &m[1]);
    }
    assert_int_equal(total, engine_pot_total(e));
    assert_int_equal(collected, total);
    assert_int_equal(summary, total);
    free(copy);
}

/* Formats a record, checks the grammar and the read-back; returns the text. */
static char *format_checked(const char *json)
{
    struct handrec h;
    struct handrec_result r;
    struct felt_err err = {0};
    parse_ok(json, &h);
    char *out = pokerstars_format(&h, &err);
    if (!out) fail_msg("pokerstars_format: %s: %s", err.code, err.message);
    check_grammar(out);
    handrec_replay(&h, &r, &err); /* may say missing_cards: the log is there */
    check_pokerkit(out, &h, &r);
    handrec_result_free(&r);
    handrec_free(&h);
    return out;
}

/* ---- golden files ---- */

static void test_golden(void **state)
{
    (void)state;
    DIR *d = opendir(golden_dir);
    if (!d) fail_msg("cannot open the golden folder %s", golden_dir);
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0) continue;
        char path[8192], want_path[8192];
        size_t n;
        snprintf(path, sizeof(path), "%s/%s", golden_dir, de->d_name);
        snprintf(want_path, sizeof(want_path), "%s/%.*s.txt", golden_dir, (int)(len - 5),
                 de->d_name);
        char *json = read_file(path, &n);
        char *want = read_file(want_path, &n);
        char *got = format_checked(json);
        if (strcmp(got, want) != 0)
            fail_msg("%s: the output differs from %s:\n%s", path, want_path, got);
        free(got);
        free(want);
        free(json);
        count++;
    }
    closedir(d);
    print_message("golden hands: %d\n", count);
    assert_true(count >= 5);
}

/* ---- showdown descriptions ---- */

/* Heads-up, checked down: bob (the big blind) shows first at the river, so his hand is shown. */
static void check_description(const char *bob, const char *ann, const char *board, const char *want)
{
    char json[1024], line[128];
    snprintf(
        json, sizeof(json),
        "{\"small_blind\": 1, \"big_blind\": 2, \"button\": 0, \"seats\": ["
        "{\"seat\": 0, \"name\": \"ann\", \"stack\": 100, \"cards\": [%s]},"
        "{\"seat\": 1, \"name\": \"bob\", \"stack\": 100, \"cards\": [%s]}],"
        "\"board\": [%s], \"actions\": [{\"name\": \"ann\", \"action\": \"call\"},"
        "{\"name\": \"bob\", \"action\": \"check\"}, {\"name\": \"bob\", \"action\": \"check\"},"
        "{\"name\": \"ann\", \"action\": \"check\"}, {\"name\": \"bob\", \"action\": \"check\"},"
        "{\"name\": \"ann\", \"action\": \"check\"}, {\"name\": \"bob\", \"action\": \"check\"},"
        "{\"name\": \"ann\", \"action\": \"check\"}]}",
        ann, bob, board);
    char *out = format_checked(json);
    snprintf(line, sizeof(line), "\nbob: shows [%c%c %c%c] (%s)\n", bob[1], bob[2], bob[7], bob[8],
             want);
    if (!strstr(out, line)) fail_msg("want \"%s\" in:\n%s", line + 1, out);
    free(out);
}

static void test_descriptions(void **state)
{
    (void)state;
    const char *weak = "\"2c\", \"3d\"";
    check_description("\"Ah\", \"Qd\"", weak, "\"9s\", \"7c\", \"5h\", \"Jd\", \"4s\"",
                      "high card Ace");
    check_description("\"Ah\", \"Ad\"", weak, "\"9s\", \"7c\", \"5h\", \"Jd\", \"4s\"",
                      "a pair of Aces");
    check_description("\"6h\", \"6d\"", weak, "\"9s\", \"7c\", \"5h\", \"Jd\", \"4s\"",
                      "a pair of Sixes");
    check_description("\"Kh\", \"9d\"", weak, "\"9s\", \"Kc\", \"5h\", \"Jd\", \"4s\"",
                      "two pair, Kings and Nines");
    check_description("\"Qh\", \"Qd\"", weak, "\"9s\", \"Qc\", \"5h\", \"Jd\", \"4s\"",
                      "three of a kind, Queens");
    check_description("\"Th\", \"8d\"", weak, "\"9s\", \"Qc\", \"5h\", \"Jd\", \"4s\"",
                      "a straight, Eight to Queen");
    check_description("\"Ah\", \"2h\"", "\"Kc\", \"Kd\"", "\"3s\", \"Qc\", \"5d\", \"4d\", \"Js\"",
                      "a straight, Ace to Five");
    check_description("\"Ah\", \"Kd\"", weak, "\"Ts\", \"Qc\", \"Jh\", \"4d\", \"8s\"",
                      "a straight, Ten to Ace");
    check_description("\"Kh\", \"2h\"", weak, "\"9h\", \"Qc\", \"5h\", \"Jh\", \"4s\"",
                      "a flush, King high");
    check_description("\"Kh\", \"Kd\"", weak, "\"7s\", \"Kc\", \"7h\", \"Jd\", \"4s\"",
                      "a full house, Kings full of Sevens");
    check_description("\"7d\", \"7c\"", weak, "\"7s\", \"Kc\", \"7h\", \"Jd\", \"4s\"",
                      "four of a kind, Sevens");
    check_description("\"6h\", \"7h\"", weak, "\"8h\", \"9h\", \"Th\", \"Jd\", \"4s\"",
                      "a straight flush, Six to Ten");
    check_description("\"Ah\", \"2h\"", "\"Kc\", \"Kd\"", "\"3h\", \"4h\", \"5h\", \"Jd\", \"9s\"",
                      "a straight flush, Ace to Five");
    check_description("\"Ah\", \"Kh\"", weak, "\"Qh\", \"Jh\", \"Th\", \"5d\", \"4s\"",
                      "a Royal Flush");
}

/* ---- refusals ---- */

#define HU_HEAD                                                                                    \
    "{\"small_blind\": 5, \"big_blind\": 10, \"button\": 0, \"seats\": ["                          \
    "{\"seat\": 0, \"name\": \"ann\", \"stack\": 100%s},"                                          \
    "{\"seat\": 1, \"name\": \"bob\", \"stack\": 100%s}], \"board\": [\"2c\", \"7d\", \"9h\", "    \
    "\"4s\", \"Jc\"], "

static void expect_refusal(const char *json, const char *code)
{
    struct handrec h;
    struct felt_err err = {0};
    parse_ok(json, &h);
    char *out = pokerstars_format(&h, &err);
    if (out) fail_msg("formatted, want %s:\n%s", code, out);
    assert_string_equal(err.code, code);
    assert_true(strlen(err.message) > 10);
    handrec_free(&h);
}

static void test_refusals(void **state)
{
    (void)state;
    char json[2048];
    const char *cards_a = ", \"cards\": [\"Ah\", \"Ad\"]",
               *cards_b = ", \"cards\": [\"Kh\", \"Kd\"]";
    const char *allin = "\"actions\": [{\"name\": \"ann\", \"action\": \"all_in\"}, {\"name\": "
                        "\"bob\", \"action\": \"call\"}]";

    snprintf(json, sizeof(json), HU_HEAD "\"status\": \"voided\", \"actions\": []}", "", "");
    expect_refusal(json, "not_complete");
    snprintf(json, sizeof(json),
             HU_HEAD "\"actions\": [{\"name\": \"ann\", \"action\": \"call\"}]}", "", "");
    expect_refusal(json, "not_complete");
    snprintf(json, sizeof(json),
             HU_HEAD "\"actions\": [{\"name\": \"bob\", \"action\": \"call\"}]}", "", "");
    expect_refusal(json, "illegal_action");
    /* An all-in showdown without bob's cards and without results: nobody can say who won. */
    snprintf(json, sizeof(json), HU_HEAD "%s}", cards_a, "", allin);
    expect_refusal(json, "missing_cards");
    /* With results it exports, bob's hand mucked. */
    snprintf(json, sizeof(json),
             HU_HEAD "%s, \"results\": [{\"pot\": 0, \"amount\": 200, \"winners\": [{\"seat\": 0, "
                     "\"name\": \"ann\", \"amount\": 200}]}]}",
             cards_a, "", allin);
    char *out = format_checked(json);
    assert_non_null(strstr(out, "\nbob: mucks hand\nann: shows [Ah Ad] (a pair of Aces)\n"
                                "ann collected 200 from pot\n"));
    assert_non_null(strstr(out, "\nSeat 2: bob (big blind) mucked\n"));
    free(out);
    /* Results that are not the pot, or not its winners. */
    snprintf(json, sizeof(json),
             HU_HEAD "%s, \"results\": [{\"pot\": 0, \"amount\": 150, \"winners\": [{\"seat\": 0, "
                     "\"name\": \"ann\", \"amount\": 150}]}]}",
             cards_a, "", allin);
    expect_refusal(json, "bad_results");
    snprintf(json, sizeof(json),
             HU_HEAD "%s, \"results\": [{\"pot\": 0, \"amount\": 200, \"winners\": [{\"seat\": 1, "
                     "\"name\": \"bob\", \"amount\": 200}]}]}",
             cards_a, cards_b, allin);
    expect_refusal(json, "bad_results");
    snprintf(json, sizeof(json), HU_HEAD "%s, \"results\": []}", cards_a, cards_b, allin);
    expect_refusal(json, "bad_results");
    /* The same with every card and the right results exports. */
    snprintf(json, sizeof(json),
             HU_HEAD "%s, \"results\": [{\"pot\": 0, \"amount\": 200, \"winners\": [{\"seat\": 0, "
                     "\"name\": \"ann\", \"amount\": 200}]}]}",
             cards_a, cards_b, allin);
    out = format_checked(json);
    assert_non_null(strstr(out, "\nbob: shows [Kh Kd] (a pair of Kings)\n"));
    free(out);
}

/* ---- mutations ---- */

/* Random edits of golden records (metadata and results included) never crash the parser or the
 * export; whatever still formats has the grammar's shapes. */
static void test_mutations(void **state)
{
    (void)state;
    static const char *const names[] = {"showdown.json", "side-pots-3.json", "split-pot.json"};
    static const char alphabet[] = "{}[]\":,0123456789-.eE \\abcdefghijklmnopqrstuvwxyzAKQJT";
    struct rng rng;
    rng_init_seeded(&rng, 4242);
    int formatted = 0, refused = 0;
    for (size_t f = 0; f < FELT_ARRAY_LEN(names); f++) {
        char path[8192];
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", golden_dir, names[f]);
        char *good = read_file(path, &len);
        char *buf = xmalloc(len + 1);
        for (int iter = 0; iter < 4000; iter++) {
            memcpy(buf, good, len + 1);
            size_t n = len;
            int edits = 1 + (int)rng_bounded(&rng, 3);
            for (int k = 0; k < edits && n > 0; k++) {
                size_t at = (size_t)rng_bounded(&rng, n);
                if (rng_bounded(&rng, 2) == 0) {
                    buf[at] = alphabet[rng_bounded(&rng, sizeof(alphabet) - 1)];
                } else {
                    memmove(buf + at, buf + at + 1, n - at);
                    n--;
                }
            }
            struct handrec h;
            struct felt_err err = {0};
            if (handrec_parse(buf, n, &h, &err) < 0) continue;
            char *out = pokerstars_format(&h, &err);
            if (out) {
                check_grammar(out);
                formatted++;
                free(out);
            } else {
                assert_non_null(err.code);
                refused++;
            }
            handrec_free(&h);
        }
        free(buf);
        free(good);
    }
    print_message("mutations: %d formatted, %d refused\n", formatted, refused);
    assert_true(formatted > 100 && refused > 10);
}

/* ---- random hands (randhand.h) ---- */

static void test_random_hands(void **state)
{
    (void)state;
    struct rng rng;
    rng_init_seeded(&rng, 777);
    int showdowns = 0, mucks = 0, uncontested = 0;
    for (int iter = 0; iter < 400; iter++) {
        struct engine_setup s;
        struct engine e;
        struct felt_err err = {0};
        char namebuf[ENGINE_MAX_SEATS][RANDHAND_NAME_MAX];
        const char *names[ENGINE_MAX_SEATS] = {0};
        randhand_setup(&rng, &s, 2, 0, namebuf, names);
        assert_int_equal(engine_start(&e, &s, NULL, &err), 0);
        struct handrec w;
        assert_int_equal(handrec_begin(&w, &s, names, &err), 0);
        while (!engine_over(&e)) {
            struct engine_options o;
            engine_options(&e, &o);
            enum engine_action a;
            int64_t amount;
            randhand_action(&rng, &o, 8, 7, 10, &a, &amount); /* folds, and mucks */
            assert_int_equal(engine_act(&e, o.seat, a, amount, NULL), ENGINE_OK);
            handrec_add_action(&w, o.seat, a, amount);
        }
        handrec_finish(&w, &e);
        handrec_set_results(&w, &e);
        w.has_hand_id = true;
        w.hand_id = 1000 + iter;
        snprintf(w.game_id, sizeof(w.game_id), "rnd-%d", iter % 7);
        assert_int_equal(handrec_format_time(1796448001123LL + 60000LL * iter, w.started_at), 0);
        strcpy(w.status, "complete");

        /* The public history (mucked cards removed) and the server's full log both export, and
         * show exactly the hands the engine showed. */
        for (int pass = 0; pass < 2; pass++) {
            char *json = handrec_to_json(&w, pass == 0 ? e.shown : 0xffff);
            char *out = format_checked(json);
            int shows = 0;
            for (const char *p = out; (p = strstr(p, ": shows [")) != NULL; p++)
                shows++;
            assert_int_equal(shows, __builtin_popcount(e.shown));
            if (strstr(out, "*** SHOW DOWN ***")) showdowns++;
            if (strstr(out, ": mucks hand")) mucks++;
            if (strstr(out, ": doesn't show hand\n")) uncontested++;
            free(out);
            free(json);
        }
        handrec_free(&w);
    }
    print_message("random hands: %d showdowns, %d with a muck, %d won uncontested\n", showdowns,
                  mucks, uncontested);
    assert_true(showdowns > 100 && mucks > 10 && uncontested > 100);
    assert_int_equal(showdowns + uncontested, 800);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        snprintf(golden_dir, sizeof(golden_dir), "%s", argv[1]);
    } else {
        /* CMake compiles this file by its absolute path: the folder is beside tests/unit/. */
        const char *slash = strrchr(__FILE__, '/');
        int len = slash ? (int)(slash - __FILE__) : 1;
        snprintf(golden_dir, sizeof(golden_dir), "%.*s/../golden/pokerstars", len,
                 slash ? __FILE__ : ".");
    }
    eval_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),       cmocka_unit_test(test_descriptions),
        cmocka_unit_test(test_refusals),     cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_random_hands),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    for (int k = 0; k < ncompiled; k++)
        regfree(&compiled[k].re);
    return rc;
}
