/*
 * replay.c: `felt replay [--json] FILE|-` and `felt replay [--json] --hand N [--server URL]
 * [--game ID] [--name NAME] [--ca FILE]` (see replay.h for the exit statuses and
 * docs/hand-format.md for the record and the result).
 *
 * Reads at most HANDREC_MAX_BYTES from the file or stdin, or fetches hand N from feltd's history
 * (hands.c: since=N-1, limit=1), parses and replays the record with common/handrec (through
 * hands_replay, which also takes a server record whose mucked cards are missing when its
 * "results" confirm the replay), and prints either the text rendering or the one-line JSON
 * result. Both sources go through the same parse and replay, so a hand fetched from the server
 * prints exactly what its record saved to a file prints.
 *
 * --json --steps prints the state after every action instead, one line each, for testing a bot
 * against recorded hands: line k is what --json prints for the record cut after its first k
 * actions (line 0: after the blinds), plus "step" (k), "action" (the k-th action, null on line
 * 0), "street", "board" (the cards dealt so far) and "cards" (the recorded hole cards of the
 * player to act, null when nobody is or the record has none). Each line replays the record from
 * the start (a hand has a few dozen actions: quadratic is nothing here, and every line is exactly
 * what a record of that length gives). An illegal action ends the lines with --json's error
 * object (exit 1).
 */
#include "replay.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "eval.h"
#include "handrec.h"
#include "hands.h"
#include "util.h"

#define REPLAY_USAGE                                                                               \
    "usage: felt replay [--json [--steps]] FILE|-  or  felt replay [--json [--steps]] --hand N "   \
    "[--server URL] [--game ID] [--name NAME] [--ca FILE]"

/* Reads the whole stream into a malloc'd buffer (NUL-terminated). Returns the length, or -1
 * with err ("io" or "too_large"). */
static long replay_read(FILE *f, char **out, struct felt_err *err)
{
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    long rc = -1;
    for (;;) {
        if (n == cap - 1) {
            if (cap > HANDREC_MAX_BYTES) {
                felt_err_set(err, "too_large", "larger than %d bytes", HANDREC_MAX_BYTES);
                goto out;
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t k = fread(buf + n, 1, cap - 1 - n, f);
        n += k;
        if (k == 0) break;
    }
    if (ferror(f)) {
        felt_err_set(err, "io", "read error: %s", strerror(errno));
        goto out;
    }
    buf[n] = '\0';
    rc = (long)n;
out:
    if (rc < 0)
        free(buf);
    else
        *out = buf;
    return rc;
}

static void replay_print(struct json_object *o)
{
    puts(
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static struct json_object *replay_cards_json(const card_t *c, int n)
{
    struct json_object *a = json_object_new_array();
    char buf[3];
    for (int i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_string(card_str(c[i], buf)));
    return a;
}

/* The --steps lines of a parsed record (see the top of the file). Returns the exit status:
 * 0, 1 at an illegal action, 2 when a prefix cannot be replayed (err printed with label). */
static int replay_steps(const struct handrec *h, const char *label)
{
    int status = 0;
    for (int k = 0; k <= h->nactions && status == 0; k++) {
        struct handrec cut = *h; /* shares h's actions: never freed */
        struct handrec_result r;
        struct felt_err err = {0};
        cut.nactions = k;
        if (hands_replay(&cut, &r, &err) < 0) {
            fprintf(stderr, "felt replay: %s: %s: %s\n", label, err.code, err.message);
            handrec_result_free(&r);
            return 2;
        }
        struct json_object *o = handrec_result_json(&cut, &r);
        if (r.error_index >= 0) {
            status = 1;
        } else {
            struct json_object *act = NULL;
            struct engine_options eo;
            struct json_object *cards = NULL;
            if (k > 0) {
                const struct handrec_action *a = &h->actions[k - 1];
                int i = 0;
                while (i < h->nseats && h->seat[i].seat != a->seat)
                    i++;
                act = json_object_new_object();
                json_object_object_add(
                    act, "name", json_object_new_string(i < h->nseats ? h->seat[i].name : ""));
                json_object_object_add(act, "action",
                                       json_object_new_string(engine_action_name(a->action)));
                if (a->has_amount)
                    json_object_object_add(act, "amount", json_object_new_int64(a->amount));
            }
            engine_options(&r.e, &eo);
            for (int i = 0; eo.seat >= 0 && i < h->nseats; i++)
                if (h->seat[i].seat == eo.seat && card_valid(h->seat[i].cards[0]) &&
                    card_valid(h->seat[i].cards[1]))
                    cards = replay_cards_json(h->seat[i].cards, 2);
            json_object_object_add(o, "step", json_object_new_int(k));
            json_object_object_add(o, "action", act);
            json_object_object_add(o, "street",
                                   json_object_new_string(engine_street_name(r.e.street)));
            json_object_object_add(o, "board", replay_cards_json(r.e.board, r.e.board_dealt));
            json_object_object_add(o, "cards", cards);
        }
        replay_print(o);
        json_object_put(o);
        handrec_result_free(&r);
    }
    return status;
}

/* Parses, replays and prints one record (label names it in error lines). Returns the exit
 * status: 0, 1 for an illegal action, 2 for a malformed or unplayable record. */
static int replay_record(const char *buf, size_t len, bool json, bool steps, const char *label)
{
    struct felt_err err = {0};
    struct handrec h;
    struct handrec_result r;
    int status = 2;

    handrec_init(&h);
    memset(&r, 0, sizeof(r));
    if (handrec_parse(buf, len, &h, &err) < 0) {
        fprintf(stderr, "felt replay: %s: %s: %s\n", label, err.code, err.message);
        goto out;
    }
    eval_init();
    if (steps) {
        status = replay_steps(&h, label);
        if (fflush(stdout) != 0) {
            fprintf(stderr, "felt replay: cannot write the output: %s\n", strerror(errno));
            status = 2;
        }
        goto out;
    }
    if (hands_replay(&h, &r, &err) < 0) {
        fprintf(stderr, "felt replay: %s: %s: %s\n", label, err.code, err.message);
        goto out;
    }
    if (json) {
        struct json_object *o = handrec_result_json(&h, &r);
        replay_print(o);
        json_object_put(o);
    } else {
        char *text = handrec_result_text(&h, &r);
        fputs(text, stdout);
        free(text);
    }
    status = r.error_index >= 0 ? 1 : 0;
    if (fflush(stdout) != 0) {
        fprintf(stderr, "felt replay: cannot write the output: %s\n", strerror(errno));
        status = 2;
    }
out:
    handrec_result_free(&r);
    handrec_free(&h);
    return status;
}

/* Hand n of a server's history, replayed. Returns the exit status: replay_record's, or 1 when
 * the server cannot be reached, refuses, or has no hand n (2 for a bad URL or game id). */
static int replay_remote(struct hands_query *q, const char *name, int64_t n, bool json, bool steps)
{
    char token[PROTO_TOKEN_MAX + 1];
    struct hands_page page = {0};
    struct felt_err err = {0};
    char label[64];
    int status;

    q->has_since = true;
    q->since = n - 1;
    q->limit = 1;
    if (hands_token(q->server, q->game, name, token, sizeof(token)) == 1) q->bearer = token;
    int rc = hands_get(q, &page, &err);
    explicit_bzero(token, sizeof(token));
    if (rc != 0) {
        fprintf(stderr, "felt replay: %s\n", err.message);
        return hands_exit_status(&err);
    }
    if (page.n < 1 || !page.hand[0].rec.has_hand_id || page.hand[0].rec.hand_id != n) {
        fprintf(stderr, "felt replay: hand %lld not found in game %s\n", (long long)n, q->game);
        status = 1;
    } else {
        snprintf(label, sizeof(label), "hand %lld", (long long)n);
        status = replay_record(page.hand[0].json, page.hand[0].json_len, json, steps, label);
    }
    hands_page_free(&page);
    return status;
}

/* The value of option argv[*i] (advancing *i), or NULL when it is the last argument. */
static const char *replay_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) return NULL;
    return argv[++*i];
}

int replay_main(int argc, char **argv)
{
    const char *path = NULL, *name = hands_default_name();
    bool json = false, steps = false, remote = false, have_hand = false;
    char *buf = NULL;
    FILE *f = NULL;
    struct felt_err err = {0};
    struct hands_query q = {.server = HANDS_DEFAULT_SERVER, .game = HANDS_DEFAULT_GAME};
    long long hand = 0;
    int status = 2;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--steps") == 0) {
            steps = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("%s\n  Replays a hand record (docs/hand-format.md) street by street, or prints "
                   "the result as JSON;\n  --json --steps prints the state after every action, one "
                   "JSON line each (to test a bot).\n  FILE '-' reads standard input; --hand N "
                   "fetches hand N "
                   "of the table's history from the\n  server (default %s, game %s; with your "
                   "stored seat token, your own cards;\n  --ca FILE trusts the certificates in "
                   "FILE, PEM, for wss:// and https:// instead of the\n  system's store).\n  "
                   "Exit: 0 ok, 1 illegal action (or the server unreachable, or no hand N), 2 "
                   "malformed\n  record or usage.\n",
                   REPLAY_USAGE, HANDS_DEFAULT_SERVER, HANDS_DEFAULT_GAME);
            status = 0;
            goto out;
        } else if (strcmp(a, "--server") == 0 || strcmp(a, "--game") == 0 ||
                   strcmp(a, "--name") == 0 || strcmp(a, "--hand") == 0 ||
                   strcmp(a, "--ca") == 0) {
            const char *v = replay_value(argc, argv, &i);
            if (!v) {
                fprintf(stderr, "felt replay: %s wants a value (%s)\n", a, REPLAY_USAGE);
                goto out;
            }
            remote = true;
            if (strcmp(a, "--server") == 0) {
                q.server = v;
            } else if (strcmp(a, "--game") == 0) {
                q.game = v;
            } else if (strcmp(a, "--name") == 0) {
                name = v;
            } else if (strcmp(a, "--ca") == 0) {
                q.ca_file = v; /* checked by hands_get: a bad file is a usage error there */
            } else {
                char *end;
                errno = 0;
                hand = strtoll(v, &end, 10);
                if (*v == '\0' || *end != '\0' || errno != 0 || hand < 1 ||
                    hand > PROTO_AMOUNT_MAX) {
                    fprintf(stderr,
                            "felt replay: --hand wants a hand number (1 or more), not "
                            "'%.40s'\n",
                            v);
                    goto out;
                }
                have_hand = true;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "felt replay: unknown option '%.40s' (%s)\n", a, REPLAY_USAGE);
            goto out;
        } else if (path) {
            fprintf(stderr, "felt replay: one file only (%s)\n", REPLAY_USAGE);
            goto out;
        } else {
            path = a;
        }
    }
    if (steps && !json) {
        fprintf(stderr, "felt replay: --steps goes with --json (%s)\n", REPLAY_USAGE);
        goto out;
    }
    if (remote) {
        if (path) {
            fprintf(stderr, "felt replay: a FILE or --hand, not both (%s)\n", REPLAY_USAGE);
        } else if (!have_hand) {
            fprintf(stderr, "felt replay: --server, --game, --name and --ca need --hand N (%s)\n",
                    REPLAY_USAGE);
        } else {
            signal(SIGPIPE, SIG_IGN);
            status = replay_remote(&q, name, hand, json, steps);
        }
        goto out;
    }
    if (!path) {
        fprintf(stderr, "felt replay: no file given (%s)\n", REPLAY_USAGE);
        goto out;
    }
    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "felt replay: %s: %s\n", path, strerror(errno));
        goto out;
    }
    long len = replay_read(f, &buf, &err);
    if (len < 0) {
        fprintf(stderr, "felt replay: %s: %s: %s\n", path, err.code, err.message);
        goto out;
    }
    status = replay_record(buf, (size_t)len, json, steps, path);
out:
    free(buf);
    if (f && f != stdin) fclose(f);
    return status;
}
