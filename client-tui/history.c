/*
 * history.c: `felt history`, a table's past hands from feltd (GET /api/games/{id}/hands through
 * hands.c), printed as text for a person, as the records themselves (one JSON line each, for
 * scripts), or as PokerStars hand histories (for tracking tools).
 *
 *   felt history [--server URL] [--game ID] [--name NAME] [--since ID] [--limit N]
 *                [--format text|json|pokerstars] [--ca FILE]
 *
 * With a token felt keeps for the server, game and name (token.c), the request carries it, so
 * the player sees their own hole cards; otherwise only the cards shown at showdown. Exit 0, 1 when
 * the server cannot be reached, refuses (its message is printed) or answers nonsense, or a hand
 * cannot be rendered, 2 for a usage error; every failure is one line on stderr.
 */
#include <getopt.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "hands.h"
#include "pokerstars.h"

enum history_format { HISTORY_TEXT, HISTORY_JSON, HISTORY_POKERSTARS };

static const struct {
    const char *name;
    enum history_format f;
} history_formats[] = {
    {"text", HISTORY_TEXT},
    {"json", HISTORY_JSON},
    {"pokerstars", HISTORY_POKERSTARS},
};

static const char history_usage[] =
    "usage: felt history [--server URL] [--game ID] [--name NAME] [--since ID] [--limit N]\n"
    "                    [--format text|json|pokerstars] [--ca FILE]\n"
    "\n"
    "Prints a table's past hands, oldest first.\n"
    "\n"
    "  --server URL       the server (default " HANDS_DEFAULT_SERVER ")\n"
    "  --ca FILE          wss:// and https://: trust the certificates in FILE (PEM: the\n"
    "                     server's CA or its self-signed certificate), not the system's store\n"
    "  --game ID          the table (default " HANDS_DEFAULT_GAME ")\n"
    "  --name NAME        whose stored seat token to send, to see your own hole cards\n"
    "                     (default $USER); without one, only cards shown at showdown\n"
    "  --since ID         the hands after hand ID (default: the newest hands)\n"
    "  --limit N          at most N hands (default 20; the server allows up to 100)\n"
    "  --format F         text (default: street by street), json (one record per line, as\n"
    "                     served; docs/hand-format.md) or pokerstars (PokerStars hand histories;\n"
    "                     voided hands are left out)\n"
    "  -h, --help         this help\n"
    "\n"
    "Exit: 0 ok, 1 the server could not be reached or refused, 2 usage.\n";

static int history_usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "felt history: %s '%.60s' (felt history --help lists the options)\n", what,
            arg);
    return 2;
}

/* A whole number in [lo, PROTO_AMOUNT_MAX] from arg; false for anything else. */
static bool history_number(const char *arg, long long lo, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || errno != 0 || v < lo || v > PROTO_AMOUNT_MAX) return false;
    *out = v;
    return true;
}

/* "2026-12-05T05:20:01.123Z" as "2026-12-05 05:20:01 UTC"; "-" for anything not of that form
 * (the record's text is not printed as is: only these digits reach the terminal). */
static void history_time(const char *iso, char *out, size_t outsz)
{
    static const char pattern[] = "dddd-dd-ddTdd:dd:dd";
    size_t i;
    for (i = 0; pattern[i]; i++) {
        char c = iso[i];
        bool ok = pattern[i] == 'd' ? (c >= '0' && c <= '9') : c == pattern[i];
        if (!ok) break;
    }
    if (pattern[i] != '\0') {
        snprintf(out, outsz, "-");
        return;
    }
    snprintf(out, outsz, "%.10s %.8s UTC", iso, iso + 11);
}

/* One hand as text: the header line, then the replay street by street. Returns 0, or -1 (with a
 * line on stderr) when the record cannot be replayed. */
static int history_text(const struct hands_page *page, const struct hands_hand *hh)
{
    const struct handrec *h = &hh->rec;
    struct handrec_result r;
    struct felt_err err = {0};
    char when[40];
    int rc = -1;

    history_time(h->started_at, when, sizeof(when));
    const char *game = h->game_id[0] ? h->game_id : page->game_id;
    bool voided = strcmp(h->status, "voided") == 0;
    if (h->has_hand_id)
        printf("Hand #%lld  %s  %s  %s\n", (long long)h->hand_id, when, game[0] ? game : "-",
               h->status[0] ? h->status : "-");
    else
        printf("Hand  %s  %s  %s\n", when, game[0] ? game : "-", h->status[0] ? h->status : "-");
    if (hands_replay(h, &r, &err) != 0) {
        printf("(this hand cannot be replayed: %s)\n", err.message);
        fprintf(stderr, "felt history: hand #%lld: %s: %s\n", (long long)h->hand_id, err.code,
                err.message);
        goto out;
    }
    char *text = handrec_result_text(h, &r);
    fputs(text, stdout);
    free(text);
    if (voided) puts("voided (server restart): chips returned");
    rc = 0;
out:
    handrec_result_free(&r);
    return rc;
}

/* One hand in PokerStars form; a voided hand is skipped (with a note). Returns 1 when printed,
 * 0 when skipped, -1 (with a line on stderr) when it cannot be converted. *first is true until
 * a hand has been printed (hands are separated by two blank lines, as PokerStars writes its files
 * and as the parsers that split them expect: pokerstars.h). */
static int history_pokerstars(const struct hands_hand *hh, bool *first)
{
    const struct handrec *h = &hh->rec;
    struct felt_err err = {0};
    if (strcmp(h->status, "voided") == 0) {
        fprintf(stderr, "felt history: hand #%lld was voided (server restart): left out\n",
                (long long)h->hand_id);
        return 0;
    }
    char *text = pokerstars_format(h, &err);
    if (!text) {
        fprintf(stderr, "felt history: hand #%lld: %s: %s\n", (long long)h->hand_id,
                err.code ? err.code : "error", err.message);
        return -1;
    }
    if (!*first) fputs("\n\n", stdout);
    *first = false;
    fputs(text, stdout);
    size_t n = strlen(text);
    if (n == 0 || text[n - 1] != '\n') putchar('\n');
    free(text);
    return 1;
}

/* Prints the page in format f. Returns the exit status. */
static int history_print(const struct hands_page *page, enum history_format f)
{
    int status = 0;
    bool first = true;
    for (int i = 0; i < page->n; i++) {
        const struct hands_hand *hh = &page->hand[i];
        switch (f) {
        case HISTORY_TEXT:
            if (i > 0) putchar('\n');
            if (history_text(page, hh) != 0) status = 1;
            break;
        case HISTORY_JSON:
            fwrite(hh->json, 1, hh->json_len, stdout);
            putchar('\n');
            break;
        case HISTORY_POKERSTARS:
            if (history_pokerstars(hh, &first) < 0) status = 1;
            break;
        }
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "felt history: cannot write the output: %s\n", strerror(errno));
        status = 1;
    }
    return status;
}

enum { H_SERVER = 256, H_GAME, H_NAME, H_SINCE, H_LIMIT, H_FORMAT, H_CA };

int history_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"server", required_argument, NULL, H_SERVER},
        {"game", required_argument, NULL, H_GAME},
        {"name", required_argument, NULL, H_NAME},
        {"since", required_argument, NULL, H_SINCE},
        {"limit", required_argument, NULL, H_LIMIT},
        {"format", required_argument, NULL, H_FORMAT},
        {"ca", required_argument, NULL, H_CA},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct hands_query q = {
        .server = HANDS_DEFAULT_SERVER, .game = HANDS_DEFAULT_GAME, .limit = 20};
    const char *name = hands_default_name();
    enum history_format format = HISTORY_TEXT;
    char token[PROTO_TOKEN_MAX + 1];
    struct hands_page page = {0};
    struct felt_err err = {0};
    long long v;
    int opt, status;

    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case H_SERVER:
            q.server = optarg;
            break;
        case H_GAME:
            q.game = optarg;
            break;
        case H_CA:
            q.ca_file = optarg; /* checked by hands_get: a bad file is a usage error there */
            break;
        case H_NAME:
            name = optarg;
            break;
        case H_SINCE:
            if (!history_number(optarg, 0, &v))
                return history_usage_error("--since wants a hand number (0 or more), not", optarg);
            q.has_since = true;
            q.since = v;
            break;
        case H_LIMIT:
            /* Only the form is checked here; the server says how many it allows. */
            if (!history_number(optarg, 1, &v) || v > 1000000)
                return history_usage_error("--limit wants a positive number of hands, not", optarg);
            q.limit = (int)v;
            break;
        case H_FORMAT: {
            size_t i;
            for (i = 0; i < FELT_ARRAY_LEN(history_formats); i++)
                if (strcmp(optarg, history_formats[i].name) == 0) break;
            if (i == FELT_ARRAY_LEN(history_formats))
                return history_usage_error("--format is text, json or pokerstars, not", optarg);
            format = history_formats[i].f;
            break;
        }
        case 'h':
            fputs(history_usage, stdout);
            return 0;
        default:
            return history_usage_error("unknown option or missing value:",
                                       argv[optind - 1] ? argv[optind - 1] : "?");
        }
    }
    if (optind < argc) return history_usage_error("unexpected argument", argv[optind]);

    signal(SIGPIPE, SIG_IGN);
    if (hands_token(q.server, q.game, name, token, sizeof(token)) == 1) q.bearer = token;
    if (hands_get(&q, &page, &err) != 0) {
        explicit_bzero(token, sizeof(token));
        fprintf(stderr, "felt history: %s\n", err.message);
        return hands_exit_status(&err);
    }
    explicit_bzero(token, sizeof(token));
    eval_init();
    status = history_print(&page, format);
    hands_page_free(&page);
    return status;
}
