/*
 * fuzz_handrec.c: libFuzzer target for hand records (common/handrec.c): the strict parser and
 * the replay through the engine, fed arbitrary bytes (seeded with docs/examples/hands/).
 *
 * It must never crash or leak. Beyond that it checks, and abort()s on a violation: a refused
 * record comes back empty with a documented error code; an accepted one satisfies every
 * constraint handrec.h states (seats, names left unchanged by the sanitizer, stacks, distinct
 * cards, actions naming listed seats); its replay conserves chips (final stacks sum to the
 * input stacks when the hand is over, stacks plus what is committed while it is not), and the
 * `felt replay --json` object agrees (ok, the error's index, the stacks); a replay is refused
 * "bad_setup" exactly when fewer than two seats have chips, and "missing_cards" only when some card
 * is missing; the text rendering is valid UTF-8 with no control character but newlines (it goes to
 * a terminal). Finally the writer round trip: handrec_to_json() parses back to an equal record, and
 * a record rebuilt with handrec_begin/add_action/finish from the accepted actions replays to the
 * same final stacks.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "handrec.h"
#include "text.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_handrec: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define ALL_SEATS ((uint16_t)((1u << ENGINE_MAX_SEATS) - 1))

static bool err_code_is(const struct felt_err *err, const char *const *codes)
{
    if (!err->code) return false;
    for (; *codes; codes++)
        if (strcmp(err->code, *codes) == 0) return true;
    return false;
}

/* The constraints handrec.h promises of a parsed record. */
static void check_record(const struct handrec *h)
{
    bool used[CARD_COUNT] = {false};
    uint16_t seats = 0;

    CHECK(h->small_blind >= 0 && h->small_blind <= h->big_blind);
    CHECK(h->big_blind >= 1 && h->big_blind <= ENGINE_CHIPS_MAX);
    CHECK(h->ante >= 0 && h->ante <= ENGINE_CHIPS_MAX);
    CHECK(h->button >= 0 && h->button < ENGINE_MAX_SEATS);
    CHECK(h->nseats >= 2 && h->nseats <= ENGINE_MAX_SEATS);
    for (int i = 0; i < h->nseats; i++) {
        const struct handrec_seat *st = &h->seat[i];
        char clean[PROTO_NAME_MAX_BYTES + 1];
        size_t len = strlen(st->name);
        CHECK(st->seat >= 0 && st->seat < ENGINE_MAX_SEATS && !(seats >> st->seat & 1));
        seats |= (uint16_t)(1u << st->seat);
        int n = text_sanitize(st->name, len, clean, sizeof(clean), PROTO_NAME_MAX_CHARS, NULL);
        CHECK(n >= 1 && strcmp(clean, st->name) == 0);
        CHECK(handrec_find_name(h, st->name) == i);
        CHECK(st->stack >= 0 && st->stack <= ENGINE_CHIPS_MAX);
        CHECK((st->cards[0] == CARD_NONE) == (st->cards[1] == CARD_NONE));
        for (int c = 0; c < 2; c++) {
            if (st->cards[c] == CARD_NONE) continue;
            CHECK(card_valid(st->cards[c]) && !used[st->cards[c]]);
            used[st->cards[c]] = true;
        }
    }
    CHECK(h->nboard >= 0 && h->nboard <= 5);
    for (int i = 0; i < 5; i++) {
        if (i >= h->nboard) {
            CHECK(h->board[i] == CARD_NONE);
            continue;
        }
        CHECK(card_valid(h->board[i]) && !used[h->board[i]]);
        used[h->board[i]] = true;
    }
    CHECK(h->nactions >= 0 && h->nactions <= HANDREC_MAX_ACTIONS);
    for (int i = 0; i < h->nactions; i++) {
        const struct handrec_action *a = &h->actions[i];
        CHECK(a->seat >= 0 && a->seat < ENGINE_MAX_SEATS && (seats >> a->seat & 1));
        CHECK((unsigned)a->action <= ENGINE_ALL_IN);
        CHECK(!a->has_amount || a->action == ENGINE_RAISE);
        CHECK(a->has_amount || a->amount == 0);
    }
    CHECK(h->game_id[0] == '\0' || proto_game_id_valid(h->game_id, strlen(h->game_id)));
}

static bool records_equal(const struct handrec *a, const struct handrec *b)
{
    if (a->small_blind != b->small_blind || a->big_blind != b->big_blind || a->ante != b->ante ||
        a->button != b->button || a->nseats != b->nseats || a->nboard != b->nboard ||
        a->nactions != b->nactions || a->has_hand_id != b->has_hand_id ||
        (a->has_hand_id && a->hand_id != b->hand_id) || strcmp(a->game_id, b->game_id) != 0)
        return false;
    for (int i = 0; i < a->nseats; i++) {
        const struct handrec_seat *x = &a->seat[i], *y = &b->seat[i];
        if (x->seat != y->seat || strcmp(x->name, y->name) != 0 || x->stack != y->stack ||
            x->cards[0] != y->cards[0] || x->cards[1] != y->cards[1])
            return false;
    }
    if (memcmp(a->board, b->board, (size_t)a->nboard) != 0) return false;
    for (int i = 0; i < a->nactions; i++) {
        const struct handrec_action *x = &a->actions[i], *y = &b->actions[i];
        if (x->seat != y->seat || x->action != y->action || x->has_amount != y->has_amount ||
            x->amount != y->amount)
            return false;
    }
    return true;
}

/* Text for a terminal: valid UTF-8, no control character but newline. */
static void check_terminal_text(const char *s)
{
    size_t len = strlen(s);
    CHECK(text_utf8_valid(s, len));
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        CHECK(c == '\n' || (c >= 0x20 && c != 0x7F));
        /* C1 controls are U+0080..U+009F, encoded C2 80..C2 9F. */
        CHECK(!(c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] <= 0x9F));
    }
}

/* The `felt replay --json` object: {"ok": false, "error": {"index": ...}} for an illegal action,
 * else stacks that add up with what is still committed to the chips the record started with. */
static void check_result_json(const struct handrec *h, const struct handrec_result *r, int64_t in,
                              int64_t committed)
{
    struct json_object *root = handrec_result_json(h, r), *v = NULL, *index = NULL;
    int64_t sum = 0;

    CHECK(root && json_object_object_get_ex(root, "ok", &v));
    CHECK(json_object_is_type(v, json_type_boolean));
    CHECK(json_object_get_boolean(v) == (r->error_index < 0));
    if (r->error_index >= 0) {
        CHECK(json_object_object_get_ex(root, "error", &v));
        CHECK(json_object_object_get_ex(v, "index", &index));
        CHECK(json_object_get_int64(index) == r->error_index);
        goto out;
    }
    CHECK(json_object_object_get_ex(root, "stacks", &v));
    CHECK(json_object_object_length(v) == h->nseats);
    json_object_object_foreach(v, name, stack)
    {
        CHECK(handrec_find_name(h, name) >= 0 && json_object_is_type(stack, json_type_int));
        sum += json_object_get_int64(stack);
    }
    CHECK(sum + (r->complete ? 0 : committed) == in);
out:
    json_object_put(root);
}

static bool cards_complete(const struct handrec *h)
{
    if (h->nboard < 5) return false;
    for (int i = 0; i < h->nseats; i++)
        if (h->seat[i].stack > 0 && h->seat[i].cards[0] == CARD_NONE) return false;
    return true;
}

/* The writer: the record rebuilt as the server would write it replays to the same stacks. */
static void check_writer(const struct handrec *h, const struct handrec_result *r)
{
    struct engine_setup s;
    const char *names[ENGINE_MAX_SEATS] = {NULL};
    struct handrec w, back;
    struct handrec_result r2;
    struct felt_err err = {0};
    int accepted = r->error_index >= 0 ? r->error_index : h->nactions;

    handrec_setup(h, &s);
    for (int i = 0; i < h->nseats; i++)
        names[h->seat[i].seat] = h->seat[i].name;
    CHECK(handrec_begin(&w, &s, names, &err) == 0);
    for (int i = 0; i < accepted; i++) {
        const struct handrec_action *a = &h->actions[i];
        handrec_add_action(&w, a->seat, a->action, a->amount);
    }
    handrec_finish(&w, &r->e);

    char *json = handrec_to_json(&w, ALL_SEATS);
    if (handrec_parse(json, strlen(json), &back, &err) < 0) {
        fprintf(stderr, "fuzz_handrec: the writer's record does not parse: %s: %s\n%s\n", err.code,
                err.message, json);
        abort();
    }
    CHECK(handrec_replay(&back, &r2, &err) == 0);
    CHECK(r2.error_index == -1 && r2.complete == r->complete);
    for (int i = 0; i < ENGINE_MAX_SEATS; i++)
        CHECK(r2.e.p[i].stack == r->e.p[i].stack && r2.e.p[i].committed == r->e.p[i].committed);
    handrec_result_free(&r2);
    handrec_free(&back);
    handrec_free(&w);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const parse_codes[] = {
        "too_large",      "bad_json",     "bad_field",      "duplicate_seat",   "duplicate_name",
        "duplicate_card", "unknown_name", "unknown_action", "too_many_actions", NULL};
    struct handrec h, back;
    struct handrec_result r;
    struct felt_err err = {0};

    if (handrec_parse((const char *)data, size, &h, &err) < 0) {
        CHECK(err_code_is(&err, parse_codes));
        CHECK(h.nseats == 0 && h.nactions == 0 && h.actions == NULL);
        return 0;
    }
    check_record(&h);

    /* The record written back parses to an equal record. */
    char *json = handrec_to_json(&h, ALL_SEATS);
    if (handrec_parse(json, strlen(json), &back, &err) < 0 || !records_equal(&h, &back)) {
        fprintf(stderr, "fuzz_handrec: handrec_to_json does not round-trip:\n%s\n", json);
        abort();
    }
    handrec_free(&back);
    free(json);

    int64_t in = 0;
    int with_chips = 0;
    for (int i = 0; i < h.nseats; i++) {
        in += h.seat[i].stack;
        with_chips += h.seat[i].stack > 0;
    }
    memset(&err, 0, sizeof(err));
    int rc = handrec_replay(&h, &r, &err);
    if (rc < 0) {
        CHECK(err.code);
        if (strcmp(err.code, "bad_setup") == 0) {
            CHECK(with_chips < 2);
        } else {
            CHECK(strcmp(err.code, "missing_cards") == 0 && with_chips >= 2);
            CHECK(!cards_complete(&h));
        }
        goto done;
    }
    CHECK(with_chips >= 2);
    CHECK(r.error_index >= -1 && r.error_index < h.nactions);
    CHECK((r.error_index >= 0) == (r.error != ENGINE_OK));
    CHECK(r.error_index < 0 || r.error_message[0] != '\0');
    CHECK(r.complete == engine_over(&r.e));

    /* Chips are conserved. */
    int64_t out = 0, committed = 0;
    for (int i = 0; i < ENGINE_MAX_SEATS; i++) {
        CHECK(r.e.p[i].stack >= 0);
        out += r.e.p[i].stack;
        if (r.e.p[i].dealt) committed += r.e.p[i].committed;
    }
    CHECK((r.complete ? out : out + committed) == in);
    check_result_json(&h, &r, in, committed);

    char *text = handrec_result_text(&h, &r);
    CHECK(text);
    check_terminal_text(text);
    free(text);

    check_writer(&h, &r);
done:
    handrec_result_free(&r);
    handrec_free(&h);
    return 0;
}
