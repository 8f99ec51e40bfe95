/*
 * handrec.c: hand records (see handrec.h and docs/hand-format.md): strict parsing with json-c,
 * replay through the engine, the `felt replay` result as JSON and as text, and the writer the
 * server uses for hand histories.
 *
 * Parsing rejects anything the format does not allow (unknown keys included) with a code and a
 * message naming the field, so a malformed file is always a clear error and never a crash. Names
 * must already be terminal-safe (text_sanitize leaves them unchanged), so the text rendering can
 * print them as they are.
 */
#include "handrec.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "eval.h"
#include "text.h"
#include "util.h"

void handrec_init(struct handrec *h)
{
    memset(h, 0, sizeof(*h));
    memset(h->board, CARD_NONE, sizeof(h->board));
}

void handrec_free(struct handrec *h)
{
    free(h->actions);
    handrec_init(h);
}

static struct handrec_action *handrec_push_action(struct handrec *h)
{
    FELT_ASSERT(h->nactions < HANDREC_MAX_ACTIONS);
    if (h->nactions == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 16;
        h->actions = xrealloc(h->actions, (size_t)h->cap * sizeof(h->actions[0]));
    }
    struct handrec_action *a = &h->actions[h->nactions++];
    memset(a, 0, sizeof(*a));
    return a;
}

int handrec_find_name(const struct handrec *h, const char *name)
{
    for (int i = 0; i < h->nseats; i++)
        if (strcmp(h->seat[i].name, name) == 0) return i;
    return -1;
}

/* ---- parsing ---- */

/* Rejects keys of o not in the NULL-terminated list. */
static int check_keys(struct json_object *o, const char *const *allowed, const char *ctx,
                      struct felt_err *err)
{
    json_object_object_foreach(o, key, val)
    {
        (void)val;
        bool ok = false;
        for (const char *const *k = allowed; *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        if (!ok) {
            char q[40];
            size_t n = strlen(key);
            /* Quote at most 32 bytes of the key, printable ASCII only. */
            for (size_t i = 0; i < n && i < 32; i++)
                q[i] = key[i] >= 0x20 && key[i] < 0x7f ? key[i] : '?';
            q[n < 32 ? n : 32] = '\0';
            return felt_err_set(err, "bad_field", "%sunknown field \"%s\"", ctx, q);
        }
    }
    return 0;
}

/* Reads an integer field in [min, max]; when absent, required fails and optional gives dflt. */
static int get_int(struct json_object *o, const char *key, const char *ctx, bool required,
                   int64_t min, int64_t max, int64_t dflt, int64_t *out, struct felt_err *err)
{
    struct json_object *v = NULL;
    *out = dflt;
    if (!json_object_object_get_ex(o, key, &v)) {
        if (required) return felt_err_set(err, "bad_field", "%s%s: missing", ctx, key);
        return 0;
    }
    if (!json_object_is_type(v, json_type_int))
        return felt_err_set(err, "bad_field", "%s%s: expected an integer", ctx, key);
    int64_t x = json_object_get_int64(v);
    if (x < min || x > max)
        return felt_err_set(err, "bad_field", "%s%s: must be %" PRId64 "..%" PRId64, ctx, key, min,
                            max);
    *out = x;
    return 0;
}

/* Returns the string field, or NULL with err set (missing or not a string). */
static const char *get_str(struct json_object *o, const char *key, const char *ctx, size_t *len,
                           struct felt_err *err)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v)) {
        felt_err_set(err, "bad_field", "%s%s: missing", ctx, key);
        return NULL;
    }
    if (!json_object_is_type(v, json_type_string)) {
        felt_err_set(err, "bad_field", "%s%s: expected a string", ctx, key);
        return NULL;
    }
    *len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

static int parse_card(struct json_object *v, const char *ctx, bool used[CARD_COUNT], card_t *out,
                      struct felt_err *err)
{
    struct felt_err cerr = {0};
    if (!json_object_is_type(v, json_type_string))
        return felt_err_set(err, "bad_field", "%s: expected a card like \"As\"", ctx);
    const char *s = json_object_get_string(v);
    if ((size_t)json_object_get_string_len(v) != strlen(s) || card_parse(s, out, &cerr) < 0)
        return felt_err_set(err, "bad_field", "%s: not a card (rank 23456789TJQKA, suit cdhs)",
                            ctx);
    if (used[*out]) {
        char buf[3];
        return felt_err_set(err, "duplicate_card", "%s: %s is dealt twice", ctx,
                            card_str(*out, buf));
    }
    used[*out] = true;
    return 0;
}

/* A name must be 1..PROTO_NAME_MAX_CHARS code points of valid UTF-8 that the terminal
 * sanitizer leaves unchanged (no controls, escapes, invisible characters or edge spaces). */
static int check_name(const char *s, size_t len, const char *ctx, struct felt_err *err)
{
    char clean[PROTO_NAME_MAX_BYTES + 1];
    struct felt_err terr = {0};
    if (len == 0 || len > PROTO_NAME_MAX_BYTES || !text_utf8_valid(s, len))
        return felt_err_set(err, "bad_field", "%sname: must be 1..%d characters of UTF-8", ctx,
                            PROTO_NAME_MAX_CHARS);
    int n = text_sanitize(s, len, clean, sizeof(clean), PROTO_NAME_MAX_CHARS, &terr);
    if (n <= 0 || strlen(clean) != len || memcmp(clean, s, len) != 0)
        return felt_err_set(err, "bad_field",
                            "%sname: must be 1..%d printable characters without control "
                            "characters or leading/trailing spaces",
                            ctx, PROTO_NAME_MAX_CHARS);
    return 0;
}

static int parse_seat(struct json_object *o, int idx, struct handrec *h, bool used[CARD_COUNT],
                      struct felt_err *err)
{
    static const char *const keys[] = {"seat", "name", "stack", "cards", NULL};
    struct handrec_seat *st = &h->seat[idx];
    char ctx[32];
    int64_t x;
    size_t len = 0;
    struct json_object *cards = NULL;
    int rc = -1;

    snprintf(ctx, sizeof(ctx), "seats[%d].", idx);
    st->cards[0] = st->cards[1] = CARD_NONE;
    if (!json_object_is_type(o, json_type_object)) {
        felt_err_set(err, "bad_field", "seats[%d]: expected an object", idx);
        goto out;
    }
    if (check_keys(o, keys, ctx, err) < 0) goto out;
    if (get_int(o, "seat", ctx, true, 0, ENGINE_MAX_SEATS - 1, 0, &x, err) < 0) goto out;
    st->seat = (int)x;
    for (int i = 0; i < idx; i++)
        if (h->seat[i].seat == st->seat) {
            felt_err_set(err, "duplicate_seat", "%sseat: seat %d is listed twice", ctx, st->seat);
            goto out;
        }
    const char *name = get_str(o, "name", ctx, &len, err);
    if (!name || check_name(name, len, ctx, err) < 0) goto out;
    memcpy(st->name, name, len);
    st->name[len] = '\0';
    for (int i = 0; i < idx; i++)
        if (strcmp(h->seat[i].name, st->name) == 0) {
            felt_err_set(err, "duplicate_name", "%sname: \"%s\" is listed twice", ctx, st->name);
            goto out;
        }
    if (get_int(o, "stack", ctx, true, 0, ENGINE_CHIPS_MAX, 0, &st->stack, err) < 0) goto out;
    if (json_object_object_get_ex(o, "cards", &cards) && cards) {
        if (!json_object_is_type(cards, json_type_array) || json_object_array_length(cards) != 2) {
            felt_err_set(err, "bad_field", "%scards: expected two cards", ctx);
            goto out;
        }
        for (int c = 0; c < 2; c++) {
            char cctx[48];
            snprintf(cctx, sizeof(cctx), "%scards[%d]", ctx, c);
            if (parse_card(json_object_array_get_idx(cards, (size_t)c), cctx, used, &st->cards[c],
                           err) < 0)
                goto out;
        }
    }
    rc = 0;
out:
    return rc;
}

static int parse_action(struct json_object *o, int idx, struct handrec *h, struct felt_err *err)
{
    static const char *const keys[] = {"name", "action", "amount", NULL};
    char ctx[32];
    size_t len = 0;
    struct json_object *v = NULL;
    int rc = -1;

    snprintf(ctx, sizeof(ctx), "actions[%d].", idx);
    if (!json_object_is_type(o, json_type_object)) {
        felt_err_set(err, "bad_field", "actions[%d]: expected an object", idx);
        goto out;
    }
    if (check_keys(o, keys, ctx, err) < 0) goto out;
    struct handrec_action *a = handrec_push_action(h);
    const char *name = get_str(o, "name", ctx, &len, err);
    if (!name) goto out;
    int k = strlen(name) == len ? handrec_find_name(h, name) : -1;
    if (k < 0) {
        felt_err_set(err, "unknown_name", "%sname: no seat has this name", ctx);
        goto out;
    }
    a->seat = h->seat[k].seat;
    const char *act = get_str(o, "action", ctx, &len, err);
    if (!act) goto out;
    if (strlen(act) != len || engine_action_parse(act, &a->action) < 0) {
        felt_err_set(err, "unknown_action", "%saction: must be fold, check, call, raise or all_in",
                     ctx);
        goto out;
    }
    if (json_object_object_get_ex(o, "amount", &v)) {
        if (a->action != ENGINE_RAISE) {
            felt_err_set(err, "bad_field", "%samount: only a raise takes an amount", ctx);
            goto out;
        }
        /* Zero and negative amounts are well-formed but illegal: the engine says bad_amount. */
        if (get_int(o, "amount", ctx, true, -ENGINE_CHIPS_MAX, ENGINE_CHIPS_MAX, 0, &a->amount,
                    err) < 0)
            goto out;
        a->has_amount = true;
    }
    rc = 0;
out:
    return rc;
}

/* ---- times ---- */

#define HANDREC_EPOCH_MS_MAX 253402300799999LL /* 9999-12-31T23:59:59.999Z */

int handrec_format_time(int64_t epoch_ms, char out[HANDREC_TIME_MAX + 1])
{
    struct tm tm;
    out[0] = '\0';
    if (epoch_ms < 0 || epoch_ms > HANDREC_EPOCH_MS_MAX) return -1;
    time_t secs = (time_t)(epoch_ms / 1000);
    if (!gmtime_r(&secs, &tm)) return -1;
    char buf[80]; /* room for any int the compiler cannot bound; the result is 24 bytes */
    int n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(epoch_ms % 1000));
    FELT_ASSERT(n == 24);
    memcpy(out, buf, (size_t)n + 1);
    return 0;
}

/* Reads exactly n ASCII digits at s. */
static bool time_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

int handrec_parse_time(const char *s, int64_t *epoch_ms)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, hh, mi, ss, ms = 0;
    size_t len = strnlen(s, HANDREC_TIME_MAX + 1);
    struct tm tm;

    if (len != 20 && len != 24) return -1;
    if (!time_digits(s, 4, &y) || s[4] != '-' || !time_digits(s + 5, 2, &mo) || s[7] != '-' ||
        !time_digits(s + 8, 2, &d) || s[10] != 'T' || !time_digits(s + 11, 2, &hh) ||
        s[13] != ':' || !time_digits(s + 14, 2, &mi) || s[16] != ':' ||
        !time_digits(s + 17, 2, &ss))
        return -1;
    if (len == 24 && (s[19] != '.' || !time_digits(s + 20, 3, &ms) || s[23] != 'Z')) return -1;
    if (len == 20 && s[19] != 'Z') return -1;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap ? 1 : 0) ||
        hh > 23 || mi > 59 || ss > 59)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = hh;
    tm.tm_min = mi;
    tm.tm_sec = ss;
    time_t t = timegm(&tm);
    if (t < 0) return -1;
    *epoch_ms = (int64_t)t * 1000 + ms;
    return 0;
}

/* ---- parsing the metadata ---- */

/* An optional time field: a string handrec_parse_time accepts, copied to out. */
static int parse_time_field(struct json_object *root, const char *key,
                            char out[HANDREC_TIME_MAX + 1], struct felt_err *err)
{
    size_t len = 0;
    int64_t ms;
    if (!json_object_object_get_ex(root, key, NULL)) return 0;
    const char *s = get_str(root, key, "", &len, err);
    if (!s) return -1;
    if (len > HANDREC_TIME_MAX || strlen(s) != len || handrec_parse_time(s, &ms) < 0)
        return felt_err_set(err, "bad_field",
                            "%s: expected a UTC time like \"2026-12-05T05:20:01.123Z\"", key);
    memcpy(out, s, len + 1);
    return 0;
}

static int parse_status(struct json_object *root, struct handrec *h, struct felt_err *err)
{
    size_t len = 0;
    if (!json_object_object_get_ex(root, "status", NULL)) return 0;
    const char *s = get_str(root, "status", "", &len, err);
    if (!s) return -1;
    if (strlen(s) != len || (strcmp(s, "complete") != 0 && strcmp(s, "voided") != 0))
        return felt_err_set(err, "bad_field", "status: must be \"complete\" or \"voided\"");
    memcpy(h->status, s, len + 1);
    return 0;
}

static int parse_winner(struct json_object *o, const char *ctx, struct handrec_pot *p,
                        const struct handrec *h, struct felt_err *err)
{
    static const char *const keys[] = {"seat", "name", "amount", NULL};
    int64_t seat, amount;
    size_t len = 0;

    if (!json_object_is_type(o, json_type_object))
        return felt_err_set(err, "bad_field", "%s: expected an object", ctx);
    char sub[64];
    snprintf(sub, sizeof(sub), "%s.", ctx);
    if (check_keys(o, keys, sub, err) < 0 ||
        get_int(o, "seat", sub, true, 0, ENGINE_MAX_SEATS - 1, 0, &seat, err) < 0)
        return -1;
    int k = -1;
    for (int i = 0; i < h->nseats && k < 0; i++)
        if (h->seat[i].seat == seat) k = i;
    if (k < 0)
        return felt_err_set(err, "bad_field", "%sseat: seat %d is not listed", sub, (int)seat);
    for (int w = 0; w < p->nwinners; w++)
        if (p->winners[w].seat == seat)
            return felt_err_set(err, "bad_field", "%sseat: seat %d wins this pot twice", sub,
                                (int)seat);
    const char *name = get_str(o, "name", sub, &len, err);
    if (!name) return -1;
    if (strlen(name) != len || strcmp(name, h->seat[k].name) != 0)
        return felt_err_set(err, "bad_field", "%sname: is not the name of seat %d", sub, (int)seat);
    if (get_int(o, "amount", sub, true, 0, ENGINE_CHIPS_MAX, 0, &amount, err) < 0) return -1;
    p->winners[p->nwinners].seat = (int)seat;
    p->winners[p->nwinners].amount = amount;
    p->nwinners++;
    return 0;
}

static int parse_pot(struct json_object *o, int idx, struct handrec *h, struct felt_err *err)
{
    static const char *const keys[] = {"pot", "amount", "winners", NULL};
    struct handrec_pot *p = &h->results[idx];
    struct json_object *w = NULL;
    char ctx[24];
    int64_t x;

    memset(p, 0, sizeof(*p));
    snprintf(ctx, sizeof(ctx), "results[%d].", idx);
    if (!json_object_is_type(o, json_type_object))
        return felt_err_set(err, "bad_field", "results[%d]: expected an object", idx);
    if (check_keys(o, keys, ctx, err) < 0 ||
        get_int(o, "pot", ctx, true, 0, ENGINE_MAX_POTS - 1, 0, &x, err) < 0)
        return -1;
    if (x != idx)
        return felt_err_set(err, "bad_field",
                            "%spot: must be %d (pots are listed in order, the main pot first)", ctx,
                            idx);
    p->pot = (int)x;
    if (get_int(o, "amount", ctx, true, 0, ENGINE_CHIPS_MAX, 0, &p->amount, err) < 0) return -1;
    if (!json_object_object_get_ex(o, "winners", &w) || !json_object_is_type(w, json_type_array) ||
        json_object_array_length(w) < 1 || json_object_array_length(w) > ENGINE_MAX_SEATS)
        return felt_err_set(err, "bad_field", "%swinners: expected an array of 1..%d winners", ctx,
                            ENGINE_MAX_SEATS);
    int64_t sum = 0;
    for (size_t i = 0; i < json_object_array_length(w); i++) {
        char wctx[48];
        snprintf(wctx, sizeof(wctx), "%swinners[%d]", ctx, (int)i);
        if (parse_winner(json_object_array_get_idx(w, i), wctx, p, h, err) < 0) return -1;
        sum += p->winners[p->nwinners - 1].amount;
    }
    if (sum != p->amount)
        return felt_err_set(err, "bad_field",
                            "%swinners: the amounts add up to %" PRId64 ", not the pot's %" PRId64,
                            ctx, sum, p->amount);
    return 0;
}

static int parse_results(struct json_object *root, struct handrec *h, struct felt_err *err)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(root, "results", &v)) return 0;
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > ENGINE_MAX_POTS)
        return felt_err_set(err, "bad_field", "results: expected an array of at most %d pots",
                            ENGINE_MAX_POTS);
    h->has_results = true;
    h->nresults = (int)json_object_array_length(v);
    for (int i = 0; i < h->nresults; i++)
        if (parse_pot(json_object_array_get_idx(v, (size_t)i), i, h, err) < 0) return -1;
    return 0;
}

static int parse_root(struct json_object *root, struct handrec *h, struct felt_err *err)
{
    static const char *const keys[] = {
        "variant", "small_blind", "big_blind",  "ante",     "button", "seats",   "board", "actions",
        "hand_id", "game_id",     "started_at", "ended_at", "status", "results", NULL};
    bool used[CARD_COUNT] = {false};
    struct json_object *v = NULL;
    int64_t x;
    size_t len = 0;
    int rc = -1;

    if (!json_object_is_type(root, json_type_object)) {
        felt_err_set(err, "bad_field", "the record must be a JSON object");
        goto out;
    }
    if (check_keys(root, keys, "", err) < 0) goto out;
    if (json_object_object_get_ex(root, "variant", &v)) {
        const char *variant = get_str(root, "variant", "", &len, err);
        if (!variant) goto out;
        if (strcmp(variant, "nlhe") != 0 || len != 4) {
            felt_err_set(err, "bad_field", "variant: only \"nlhe\" is supported");
            goto out;
        }
    }
    if (get_int(root, "small_blind", "", true, 0, ENGINE_CHIPS_MAX, 0, &h->small_blind, err) < 0 ||
        get_int(root, "big_blind", "", true, 1, ENGINE_CHIPS_MAX, 0, &h->big_blind, err) < 0 ||
        get_int(root, "ante", "", false, 0, ENGINE_CHIPS_MAX, 0, &h->ante, err) < 0 ||
        get_int(root, "button", "", true, 0, ENGINE_MAX_SEATS - 1, 0, &x, err) < 0)
        goto out;
    h->button = (int)x;
    if (h->small_blind > h->big_blind) {
        felt_err_set(err, "bad_field", "small_blind: must not exceed big_blind");
        goto out;
    }
    if (get_int(root, "hand_id", "", false, 0, INT64_MAX, -1, &h->hand_id, err) < 0) goto out;
    h->has_hand_id = h->hand_id >= 0;
    if (json_object_object_get_ex(root, "game_id", &v)) {
        const char *gid = get_str(root, "game_id", "", &len, err);
        if (!gid) goto out;
        if (!proto_game_id_valid(gid, len)) {
            felt_err_set(err, "bad_field", "game_id: 1..%d characters of A-Z a-z 0-9 _ -",
                         PROTO_GAME_ID_MAX);
            goto out;
        }
        memcpy(h->game_id, gid, len + 1);
    }
    if (parse_time_field(root, "started_at", h->started_at, err) < 0 ||
        parse_time_field(root, "ended_at", h->ended_at, err) < 0 || parse_status(root, h, err) < 0)
        goto out;

    if (!json_object_object_get_ex(root, "seats", &v) || !json_object_is_type(v, json_type_array) ||
        json_object_array_length(v) < 2 || json_object_array_length(v) > ENGINE_MAX_SEATS) {
        felt_err_set(err, "bad_field", "seats: expected an array of 2..%d seats", ENGINE_MAX_SEATS);
        goto out;
    }
    h->nseats = (int)json_object_array_length(v);
    for (int i = 0; i < h->nseats; i++)
        if (parse_seat(json_object_array_get_idx(v, (size_t)i), i, h, used, err) < 0) goto out;

    if (json_object_object_get_ex(root, "board", &v) && v) {
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > 5) {
            felt_err_set(err, "bad_field", "board: expected an array of at most 5 cards");
            goto out;
        }
        h->nboard = (int)json_object_array_length(v);
        for (int i = 0; i < h->nboard; i++) {
            char ctx[24];
            snprintf(ctx, sizeof(ctx), "board[%d]", i);
            if (parse_card(json_object_array_get_idx(v, (size_t)i), ctx, used, &h->board[i], err) <
                0)
                goto out;
        }
    }

    if (!json_object_object_get_ex(root, "actions", &v) ||
        !json_object_is_type(v, json_type_array)) {
        felt_err_set(err, "bad_field", "actions: expected an array");
        goto out;
    }
    if (json_object_array_length(v) > HANDREC_MAX_ACTIONS) {
        felt_err_set(err, "too_many_actions", "actions: more than %d", HANDREC_MAX_ACTIONS);
        goto out;
    }
    for (size_t i = 0; i < json_object_array_length(v); i++)
        if (parse_action(json_object_array_get_idx(v, i), (int)i, h, err) < 0) goto out;
    if (parse_results(root, h, err) < 0) goto out;
    rc = 0;
out:
    return rc;
}

int handrec_parse(const char *buf, size_t len, struct handrec *h, struct felt_err *err)
{
    struct json_tokener *tok = NULL;
    struct json_object *root = NULL;
    int rc = -1;

    handrec_init(h);
    if (len > HANDREC_MAX_BYTES) {
        felt_err_set(err, "too_large", "the record is larger than %d bytes", HANDREC_MAX_BYTES);
        goto out;
    }
    if (memchr(buf, '\0', len)) {
        felt_err_set(err, "bad_json", "the record contains a NUL byte");
        goto out;
    }
    tok = json_tokener_new();
    if (!tok) felt_fatal("out of memory (json tokener)");
    root = json_tokener_parse_ex(tok, buf, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    if (!root || jerr != json_tokener_success) {
        felt_err_set(err, "bad_json", "not valid JSON: %s",
                     jerr == json_tokener_continue ? "unexpected end of input"
                                                   : json_tokener_error_desc(jerr));
        goto out;
    }
    for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
        if (!strchr(" \t\r\n", buf[i])) {
            felt_err_set(err, "bad_json", "not valid JSON: text after the record");
            goto out;
        }
    rc = parse_root(root, h, err);
out:
    if (rc < 0) handrec_free(h);
    json_object_put(root);
    if (tok) json_tokener_free(tok);
    return rc;
}

void handrec_setup(const struct handrec *h, struct engine_setup *s)
{
    memset(s, 0, sizeof(*s));
    memset(s->hole, CARD_NONE, sizeof(s->hole));
    memset(s->board, CARD_NONE, sizeof(s->board));
    s->nseats = ENGINE_MAX_SEATS;
    s->button = h->button;
    s->small_blind = h->small_blind;
    s->big_blind = h->big_blind;
    s->ante = h->ante;
    for (int i = 0; i < h->nseats; i++) {
        const struct handrec_seat *st = &h->seat[i];
        s->stack[st->seat] = st->stack;
        s->hole[st->seat][0] = st->cards[0];
        s->hole[st->seat][1] = st->cards[1];
    }
    memcpy(s->board, h->board, (size_t)h->nboard);
}

/* ---- replay ---- */

static const char *seat_name(const struct handrec *h, int seat)
{
    for (int i = 0; i < h->nseats; i++)
        if (h->seat[i].seat == seat) return h->seat[i].name;
    return "?";
}

static void log_events(struct handrec_result *r, int action, const struct engine_events *ev)
{
    for (int i = 0; i < ev->n; i++) {
        if (r->nlog == r->caplog) {
            r->caplog = r->caplog ? 2 * r->caplog : 64;
            r->log = xrealloc(r->log, (size_t)r->caplog * sizeof(r->log[0]));
        }
        r->log[r->nlog].action = action;
        r->log[r->nlog].ev = ev->ev[i];
        r->nlog++;
    }
}

/* Explains a refused action with the numbers that make it illegal. */
static void describe_refusal(const struct handrec *h, struct handrec_result *r,
                             const struct handrec_action *a)
{
    struct engine_options o;
    const struct engine *e = &r->e;
    const char *who = seat_name(h, a->seat);
    char *m = r->error_message;
    size_t n = sizeof(r->error_message);

    char c1[TEXT_CHIPS_MAX], c2[TEXT_CHIPS_MAX];
    engine_options(e, &o);
    switch (r->error) {
    case ENGINE_E_NOT_YOUR_TURN:
        snprintf(m, n, "%s acted, but it is %s's turn", who, seat_name(h, e->to_act));
        break;
    case ENGINE_E_RAISE_TOO_SMALL:
        snprintf(m, n, "%s: raise to %s is below the minimum raise to %s", who,
                 text_chips(a->amount, c1, sizeof(c1)), text_chips(o.min_raise_to, c2, sizeof(c2)));
        break;
    case ENGINE_E_ABOVE_STACK:
        snprintf(m, n, "%s: raise to %s is more than the %s they have", who,
                 text_chips(a->amount, c1, sizeof(c1)),
                 text_chips(e->p[a->seat].bet + e->p[a->seat].stack, c2, sizeof(c2)));
        break;
    case ENGINE_E_CANNOT_CHECK:
        snprintf(m, n, "%s cannot check: %s to call", who, text_chips(o.call, c1, sizeof(c1)));
        break;
    case ENGINE_E_CANNOT_RAISE:
        snprintf(m, n, "%s cannot raise: %s", who,
                 e->p[a->seat].stack <= e->bet_to - e->p[a->seat].bet
                     ? "the bet covers their stack (call or fold)"
                 : e->p[a->seat].acted ? "an all-in for less than a full raise did not re-open "
                                         "the betting (call or fold)"
                                       : "nobody left could call a raise");
        break;
    case ENGINE_E_HAND_OVER:
        snprintf(m, n, "%s acted after the end of the hand", who);
        break;
    case ENGINE_E_BAD_AMOUNT:
        snprintf(m, n, "%s: a raise needs a positive amount (the total to raise to)", who);
        break;
    default:
        snprintf(m, n, "%s: %s", who, engine_status_message(r->error));
    }
}

int handrec_replay(const struct handrec *h, struct handrec_result *r, struct felt_err *err)
{
    struct engine_setup s;
    struct engine_events ev;
    int rc = -1;

    memset(r, 0, sizeof(*r));
    r->error_index = -1;
    r->error = ENGINE_OK;
    handrec_setup(h, &s);
    ev.n = 0;
    if (engine_start(&r->e, &s, &ev, err) < 0) goto out;
    log_events(r, -1, &ev);
    for (int i = 0; i < h->nactions; i++) {
        const struct handrec_action *a = &h->actions[i];
        ev.n = 0;
        enum engine_status st =
            engine_act(&r->e, a->seat, a->action, a->has_amount ? a->amount : 0, &ev);
        if (st != ENGINE_OK) {
            r->error_index = i;
            r->error = st;
            describe_refusal(h, r, a);
            break;
        }
        log_events(r, i, &ev);
    }
    r->complete = engine_over(&r->e);
    if (r->complete && r->e.showdown_unknown) {
        felt_err_set(err, "missing_cards",
                     "the hand reaches a showdown but the record lacks hole or board cards "
                     "needed to decide it");
        goto out;
    }
    rc = 0;
out:
    return rc;
}

/* True when the engine's pots after a replay are exactly the record's results. */
static bool handrec_results_match(const struct handrec *h, const struct engine *e)
{
    if (!h->has_results || h->nresults != e->npots) return false;
    for (int k = 0; k < e->npots; k++) {
        const struct handrec_pot *want = &h->results[k];
        const struct engine_pot *got = &e->pots[k];
        if (want->pot != k || want->amount != got->amount) return false;
        uint16_t seen = 0;
        for (int i = 0; i < want->nwinners; i++) {
            int s = want->winners[i].seat;
            if (s < 0 || s >= ENGINE_MAX_SEATS || !(got->winners >> s & 1) ||
                got->share[s] != want->winners[i].amount)
                return false;
            seen |= (uint16_t)(1u << s);
        }
        if (seen != got->winners) return false;
    }
    return true;
}

int handrec_replay_published(const struct handrec *h, struct handrec_result *r,
                             struct felt_err *err)
{
    struct felt_err rerr = {0};
    if (handrec_replay(h, r, &rerr) == 0) return 0;
    if (rerr.code && strcmp(rerr.code, "missing_cards") == 0 && r->complete && r->error_index < 0 &&
        handrec_results_match(h, &r->e))
        return 0;
    if (err) *err = rerr;
    return -1;
}

void handrec_result_free(struct handrec_result *r)
{
    free(r->log);
    r->log = NULL;
    r->nlog = r->caplog = 0;
}

/* ---- the --json result ---- */

static struct json_object *winners_json(const struct handrec *h, uint16_t winners)
{
    struct json_object *a = json_object_new_array();
    for (int s = 0; s < ENGINE_MAX_SEATS; s++)
        if (winners >> s & 1) json_object_array_add(a, json_object_new_string(seat_name(h, s)));
    return a;
}

struct json_object *handrec_result_json(const struct handrec *h, const struct handrec_result *r)
{
    struct json_object *root = json_object_new_object();
    const struct engine *e = &r->e;

    if (r->error_index >= 0) {
        struct json_object *er = json_object_new_object();
        json_object_object_add(root, "ok", json_object_new_boolean(false));
        json_object_object_add(er, "index", json_object_new_int(r->error_index));
        json_object_object_add(er, "code", json_object_new_string(engine_status_code(r->error)));
        json_object_object_add(er, "message", json_object_new_string(r->error_message));
        json_object_object_add(root, "error", er);
        return root;
    }
    json_object_object_add(root, "ok", json_object_new_boolean(true));
    json_object_object_add(root, "complete", json_object_new_boolean(r->complete));

    struct json_object *stacks = json_object_new_object();
    for (int i = 0; i < h->nseats; i++) {
        const struct handrec_seat *st = &h->seat[i];
        int64_t stack = e->p[st->seat].dealt ? e->p[st->seat].stack : st->stack;
        json_object_object_add(stacks, st->name, json_object_new_int64(stack));
    }
    json_object_object_add(root, "stacks", stacks);

    struct engine_pot pots[ENGINE_MAX_POTS];
    int npots = engine_pots(e, pots);
    struct json_object *pa = json_object_new_array();
    for (int k = 0; k < npots; k++) {
        struct json_object *p = json_object_new_object();
        json_object_object_add(p, "amount", json_object_new_int64(pots[k].amount));
        json_object_object_add(p, "winners", winners_json(h, pots[k].winners));
        json_object_array_add(pa, p);
    }
    json_object_object_add(root, "pots", pa);

    struct engine_options o;
    struct wire_to_act ta = {.present = false};
    engine_options(e, &o);
    if (o.seat >= 0) handrec_to_act_fill(&o, seat_name(h, o.seat), &ta);
    json_object_object_add(root, "to_act", wire_encode_to_act(&ta));
    return root;
}

void handrec_to_act_fill(const struct engine_options *o, const char *name, struct wire_to_act *out)
{
    memset(out, 0, sizeof(*out));
    out->present = true;
    out->seat = -1;
    snprintf(out->name, sizeof(out->name), "%s", name);
    out->call = o->call;
    out->can_check = o->can_check;
    out->can_raise = o->can_raise;
    out->min_raise_to = o->can_raise ? o->min_raise_to : 0;
    out->max_raise_to = o->can_raise ? o->max_raise_to : 0;
}

/* ---- telling a hand ---- */

const char *handrec_say_post(char *out, size_t outsz, const char *who, enum handrec_post kind,
                             int64_t amount, bool all_in)
{
    static const char *const posts[] = {[HANDREC_POST_ANTE] = "an ante of",
                                        [HANDREC_POST_SMALL_BLIND] = "the small blind",
                                        [HANDREC_POST_BIG_BLIND] = "the big blind"};
    char chips[TEXT_CHIPS_MAX];
    snprintf(out, outsz, "%s posts %s %s%s", who,
             (unsigned)kind < FELT_ARRAY_LEN(posts) ? posts[kind] : "?",
             text_chips(amount, chips, sizeof(chips)), all_in ? " (all-in)" : "");
    return out;
}

const char *handrec_say_action(char *out, size_t outsz, const char *who, enum engine_action a,
                               int64_t amount, int64_t to, bool all_in, int64_t bet_before)
{
    char chips[TEXT_CHIPS_MAX];
    const char *tail = all_in ? " (all-in)" : "";
    switch (a) {
    case ENGINE_FOLD:
        snprintf(out, outsz, "%s folds", who);
        break;
    case ENGINE_CHECK:
        snprintf(out, outsz, "%s checks", who);
        break;
    case ENGINE_CALL:
        snprintf(out, outsz, "%s calls %s%s", who, text_chips(amount, chips, sizeof(chips)), tail);
        break;
    default: /* a raise, or an all-in that raised */
        snprintf(out, outsz, "%s %s %s%s", who, bet_before > 0 ? "raises to" : "bets",
                 text_chips(to, chips, sizeof(chips)), tail);
        break;
    }
    return out;
}

const char *handrec_say_street(char *out, size_t outsz, enum engine_street street,
                               const card_t *board, int nboard, bool ascii)
{
    static const char *const names[] = {[ENGINE_PREFLOP] = "Preflop",
                                        [ENGINE_FLOP] = "Flop",
                                        [ENGINE_TURN] = "Turn",
                                        [ENGINE_RIVER] = "River",
                                        [ENGINE_SHOWDOWN] = "Showdown"};
    char cards[CARD_LIST_MAX];
    snprintf(out, outsz, "%s: %s",
             (unsigned)street < FELT_ARRAY_LEN(names) ? names[street] : "Board",
             card_list(board, nboard, ascii, cards, sizeof(cards)));
    return out;
}

const char *handrec_say_uncalled(char *out, size_t outsz, const char *who, int64_t amount)
{
    char chips[TEXT_CHIPS_MAX];
    snprintf(out, outsz, "%s returned to %s (uncalled)", text_chips(amount, chips, sizeof(chips)),
             who);
    return out;
}

const char *handrec_say_show(char *out, size_t outsz, const char *who, const card_t hole[2],
                             const char *hand, bool ascii)
{
    char cards[CARD_LIST_MAX];
    card_list(hole, 2, ascii, cards, sizeof(cards));
    if (hand && hand[0])
        snprintf(out, outsz, "%s shows %s (%s)", who, cards, hand);
    else
        snprintf(out, outsz, "%s shows %s", who, cards);
    return out;
}

const char *handrec_say_win(char *out, size_t outsz, const char *who, int64_t amount, int pot,
                            const char *hand)
{
    char chips[TEXT_CHIPS_MAX], from[24];
    if (pot == 0)
        snprintf(from, sizeof(from), "the pot");
    else
        snprintf(from, sizeof(from), "side pot %d", pot);
    snprintf(out, outsz, "%s wins %s from %s%s%s", who, text_chips(amount, chips, sizeof(chips)),
             from, hand && hand[0] ? " with " : "", hand && hand[0] ? hand : "");
    return out;
}

bool handrec_name_hand(const card_t hole[2], const card_t *board, int nboard,
                       char out[EVAL_DESCRIBE_MAX])
{
    card_t c[7];
    out[0] = '\0';
    if (nboard < 3 || nboard > 5) return false;
    memcpy(c, hole, 2);
    memcpy(c + 2, board, (size_t)nboard);
    return eval_describe(c, 2 + nboard, out, EVAL_DESCRIBE_MAX) > 0;
}

void handrec_narrator_init(struct handrec_narrator *n, const struct handrec *h, bool ascii)
{
    memset(n, 0, sizeof(*n));
    n->h = h;
    n->ascii = ascii;
    memset(n->board, CARD_NONE, sizeof(n->board));
    memset(n->hole, CARD_NONE, sizeof(n->hole));
}

/* The largest bet on the current street. */
static int64_t handrec_narrator_bet(const struct handrec_narrator *n)
{
    int64_t top = 0;
    for (int s = 0; s < ENGINE_MAX_SEATS; s++)
        if (n->bet[s] > top) top = n->bet[s];
    return top;
}

void handrec_narrate(struct handrec_narrator *n, const struct engine_event *x, handrec_line_fn line,
                     void *arg)
{
    char buf[HANDREC_LINE_MAX];
    bool seat_ok = x->seat >= 0 && x->seat < ENGINE_MAX_SEATS;
    const char *who = seat_ok ? seat_name(n->h, x->seat) : "?";
    buf[0] = '\0';
    switch (x->kind) {
    case ENGINE_EV_ANTE:
        handrec_say_post(buf, sizeof(buf), who, HANDREC_POST_ANTE, x->amount, x->all_in);
        break;
    case ENGINE_EV_BLIND:
        handrec_say_post(buf, sizeof(buf), who,
                         x->blind_big ? HANDREC_POST_BIG_BLIND : HANDREC_POST_SMALL_BLIND,
                         x->amount, x->all_in);
        if (seat_ok) n->bet[x->seat] = x->to;
        break;
    case ENGINE_EV_ACTION:
        handrec_say_action(buf, sizeof(buf), who, x->action, x->amount, x->to, x->all_in,
                           handrec_narrator_bet(n));
        if (seat_ok) n->bet[x->seat] = x->to;
        break;
    case ENGINE_EV_STREET:
        for (int i = 0; i < x->ncards && n->nboard < 5; i++)
            n->board[n->nboard++] = x->cards[i];
        memset(n->bet, 0, sizeof(n->bet));
        handrec_say_street(buf, sizeof(buf), x->street, n->board, n->nboard, n->ascii);
        /* Hands shown before the run-out take their name from the board as it comes. */
        for (int s = 0; s < ENGINE_MAX_SEATS; s++)
            if (n->shown >> s & 1) handrec_name_hand(n->hole[s], n->board, n->nboard, n->hand[s]);
        break;
    case ENGINE_EV_UNCALLED:
        handrec_say_uncalled(buf, sizeof(buf), who, x->amount);
        if (seat_ok)
            n->bet[x->seat] = n->bet[x->seat] > x->amount ? n->bet[x->seat] - x->amount : 0;
        break;
    case ENGINE_EV_SHOW:
        if (!seat_ok) break;
        n->shown |= (uint16_t)(1u << x->seat);
        memcpy(n->hole[x->seat], x->cards, 2);
        handrec_name_hand(n->hole[x->seat], n->board, n->nboard, n->hand[x->seat]);
        handrec_say_show(buf, sizeof(buf), who, n->hole[x->seat], n->hand[x->seat], n->ascii);
        break;
    case ENGINE_EV_MUCK:
        snprintf(buf, sizeof(buf), "%s mucks", who);
        break;
    case ENGINE_EV_POT:
        for (int s = 0; s < ENGINE_MAX_SEATS; s++)
            if (x->winners >> s & 1) {
                handrec_say_win(buf, sizeof(buf), seat_name(n->h, s), x->share[s], x->pot,
                                n->shown >> s & 1 ? n->hand[s] : NULL);
                if (line) line(arg, buf);
            }
        buf[0] = '\0';
        break;
    case ENGINE_EV_DEAL_HOLE:
    case ENGINE_EV_HAND_END:
        break;
    }
    if (buf[0] && line) line(arg, buf);
}

/* ---- the text rendering ---- */

/* handrec_line_fn for the text: one line into a felt_buf. */
static void handrec_text_line(void *arg, const char *line)
{
    felt_buf_printf(arg, "%s\n", line);
}

char *handrec_result_text(const struct handrec *h, const struct handrec_result *r)
{
    struct felt_buf b = {0};
    const struct engine *e = &r->e;
    struct handrec_narrator n;
    bool header = false;
    char c1[TEXT_CHIPS_MAX], c2[TEXT_CHIPS_MAX], cards[CARD_LIST_MAX];

    felt_buf_printf(&b, "No-Limit Hold'em, blinds %s/%s",
                    text_chips(h->small_blind, c1, sizeof(c1)),
                    text_chips(h->big_blind, c2, sizeof(c2)));
    if (h->ante) felt_buf_printf(&b, ", ante %s", text_chips(h->ante, c1, sizeof(c1)));
    felt_buf_printf(&b, ", button on seat %d\n", h->button);
    for (int i = 0; i < h->nseats; i++) {
        const struct handrec_seat *st = &h->seat[i];
        felt_buf_printf(&b, "  seat %d: %s (%s)", st->seat, st->name,
                        text_chips(st->stack, c1, sizeof(c1)));
        if (card_valid(st->cards[0]) || card_valid(st->cards[1]))
            felt_buf_printf(&b, " [%s]", card_list(st->cards, 2, false, cards, sizeof(cards)));
        if (st->seat == e->button) felt_buf_printf(&b, " button");
        if (!e->p[st->seat].dealt) felt_buf_printf(&b, " (not dealt in)");
        felt_buf_printf(&b, "\n");
    }
    handrec_narrator_init(&n, h, false);
    for (int i = 0; i < r->nlog; i++) {
        const struct engine_event *x = &r->log[i].ev;
        if (!header && (x->kind == ENGINE_EV_SHOW || x->kind == ENGINE_EV_MUCK)) {
            felt_buf_printf(&b, n.nboard < 5 ? "*** ALL-IN: HANDS SHOWN, BOARD RUN OUT ***\n"
                                             : "*** SHOWDOWN ***\n");
            header = true;
        }
        handrec_narrate(&n, x, handrec_text_line, &b);
    }

    if (r->error_index >= 0) {
        const struct handrec_action *a = &h->actions[r->error_index];
        felt_buf_printf(&b, "Action %d (%s %s", r->error_index, seat_name(h, a->seat),
                        engine_action_name(a->action));
        if (a->has_amount) felt_buf_printf(&b, " %s", text_chips(a->amount, c1, sizeof(c1)));
        felt_buf_printf(&b, ") is illegal: %s: %s\n", engine_status_code(r->error),
                        r->error_message);
        return b.p;
    }
    if (r->complete) {
        felt_buf_printf(&b, "Final stacks:");
    } else {
        struct engine_options o;
        engine_options(e, &o);
        felt_buf_printf(&b, "The record stops here. %s to act: ", seat_name(h, o.seat));
        if (o.can_check)
            felt_buf_printf(&b, "check");
        else
            felt_buf_printf(&b, "call %s", text_chips(o.call, c1, sizeof(c1)));
        if (o.can_raise)
            felt_buf_printf(&b, ", %s %s..%s", handrec_narrator_bet(&n) > 0 ? "raise to" : "bet",
                            text_chips(o.min_raise_to, c1, sizeof(c1)),
                            text_chips(o.max_raise_to, c2, sizeof(c2)));
        felt_buf_printf(&b, " or fold\nStacks now:");
    }
    for (int i = 0; i < h->nseats; i++) {
        const struct handrec_seat *st = &h->seat[i];
        felt_buf_printf(
            &b, " %s %s", st->name,
            text_chips(e->p[st->seat].dealt ? e->p[st->seat].stack : st->stack, c1, sizeof(c1)));
    }
    felt_buf_printf(&b, "\n");
    return b.p;
}

/* ---- the writer ---- */

int handrec_begin(struct handrec *h, const struct engine_setup *s,
                  const char *const names[ENGINE_MAX_SEATS], struct felt_err *err)
{
    int rc = -1;
    handrec_init(h);
    h->small_blind = s->small_blind;
    h->big_blind = s->big_blind;
    h->ante = s->ante;
    h->button = s->button;
    for (int i = 0; i < s->nseats && i < ENGINE_MAX_SEATS; i++) {
        if (s->stack[i] <= 0) continue;
        struct handrec_seat *st = &h->seat[h->nseats];
        char ctx[24];
        snprintf(ctx, sizeof(ctx), "seat %d: ", i);
        if (!names[i]) {
            felt_err_set(err, "bad_field", "%sname: missing", ctx);
            goto out;
        }
        size_t len = strlen(names[i]);
        if (check_name(names[i], len, ctx, err) < 0) goto out;
        if (handrec_find_name(h, names[i]) >= 0) {
            felt_err_set(err, "duplicate_name", "%sname: \"%s\" is taken", ctx, names[i]);
            goto out;
        }
        memcpy(st->name, names[i], len + 1);
        st->seat = i;
        st->stack = s->stack[i];
        st->cards[0] = s->hole[i][0];
        st->cards[1] = s->hole[i][1];
        h->nseats++;
    }
    for (h->nboard = 0; h->nboard < 5 && card_valid(s->board[h->nboard]); h->nboard++)
        h->board[h->nboard] = s->board[h->nboard];
    rc = 0;
out:
    if (rc < 0) handrec_free(h);
    return rc;
}

void handrec_add_action(struct handrec *h, int seat, enum engine_action a, int64_t amount)
{
    struct handrec_action *x = handrec_push_action(h);
    x->seat = seat;
    x->action = a;
    x->has_amount = a == ENGINE_RAISE;
    x->amount = a == ENGINE_RAISE ? amount : 0;
}

void handrec_finish(struct handrec *h, const struct engine *e)
{
    if (e->board_dealt < h->nboard) h->nboard = e->board_dealt;
}

void handrec_set_results(struct handrec *h, const struct engine *e)
{
    h->has_results = true;
    h->nresults = 0;
    if (!engine_over(e)) return;
    for (int k = 0; k < e->npots && k < ENGINE_MAX_POTS; k++) {
        const struct engine_pot *ep = &e->pots[k];
        struct handrec_pot *p = &h->results[h->nresults++];
        memset(p, 0, sizeof(*p));
        p->pot = k;
        p->amount = ep->amount;
        for (int s = 0; s < ENGINE_MAX_SEATS; s++)
            if (ep->winners >> s & 1) {
                p->winners[p->nwinners].seat = s;
                p->winners[p->nwinners].amount = ep->share[s];
                p->nwinners++;
            }
    }
}

static struct json_object *cards_json(const card_t *c, int n)
{
    char buf[3];
    struct json_object *a = json_object_new_array();
    for (int i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_string(card_str(c[i], buf)));
    return a;
}

char *handrec_to_json(const struct handrec *h, uint16_t reveal)
{
    struct json_object *root = json_object_new_object();
    json_object_object_add(root, "variant", json_object_new_string("nlhe"));
    if (h->has_hand_id) json_object_object_add(root, "hand_id", json_object_new_int64(h->hand_id));
    if (h->game_id[0]) json_object_object_add(root, "game_id", json_object_new_string(h->game_id));
    if (h->status[0]) json_object_object_add(root, "status", json_object_new_string(h->status));
    if (h->started_at[0])
        json_object_object_add(root, "started_at", json_object_new_string(h->started_at));
    if (h->ended_at[0])
        json_object_object_add(root, "ended_at", json_object_new_string(h->ended_at));
    json_object_object_add(root, "small_blind", json_object_new_int64(h->small_blind));
    json_object_object_add(root, "big_blind", json_object_new_int64(h->big_blind));
    json_object_object_add(root, "ante", json_object_new_int64(h->ante));
    json_object_object_add(root, "button", json_object_new_int(h->button));
    struct json_object *seats = json_object_new_array();
    for (int i = 0; i < h->nseats; i++) {
        const struct handrec_seat *st = &h->seat[i];
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "seat", json_object_new_int(st->seat));
        json_object_object_add(o, "name", json_object_new_string(st->name));
        json_object_object_add(o, "stack", json_object_new_int64(st->stack));
        if ((reveal >> st->seat & 1) && card_valid(st->cards[0]) && card_valid(st->cards[1]))
            json_object_object_add(o, "cards", cards_json(st->cards, 2));
        json_object_array_add(seats, o);
    }
    json_object_object_add(root, "seats", seats);
    json_object_object_add(root, "board", cards_json(h->board, h->nboard));
    struct json_object *actions = json_object_new_array();
    for (int i = 0; i < h->nactions; i++) {
        const struct handrec_action *a = &h->actions[i];
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(seat_name(h, a->seat)));
        json_object_object_add(o, "action", json_object_new_string(engine_action_name(a->action)));
        if (a->has_amount) json_object_object_add(o, "amount", json_object_new_int64(a->amount));
        json_object_array_add(actions, o);
    }
    json_object_object_add(root, "actions", actions);
    if (h->has_results) {
        struct json_object *results = json_object_new_array();
        for (int k = 0; k < h->nresults; k++) {
            const struct handrec_pot *p = &h->results[k];
            struct json_object *o = json_object_new_object();
            struct json_object *winners = json_object_new_array();
            json_object_object_add(o, "pot", json_object_new_int(p->pot));
            json_object_object_add(o, "amount", json_object_new_int64(p->amount));
            for (int w = 0; w < p->nwinners; w++) {
                struct json_object *x = json_object_new_object();
                json_object_object_add(x, "seat", json_object_new_int(p->winners[w].seat));
                json_object_object_add(x, "name",
                                       json_object_new_string(seat_name(h, p->winners[w].seat)));
                json_object_object_add(x, "amount", json_object_new_int64(p->winners[w].amount));
                json_object_array_add(winners, x);
            }
            json_object_object_add(o, "winners", winners);
            json_object_array_add(results, o);
        }
        json_object_object_add(root, "results", results);
    }
    char *out = xstrdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_SPACED |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    return out;
}
