/*
 * server_test_http.c: feltd over plain HTTP (server_test.h): the polling fallback (every polled
 * event byte for byte what a WebSocket client received, actions by POST), the Prometheus
 * metrics and /healthz, and a clean shutdown on SIGTERM that tells every client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>

#include "server_test.h"

/* ---- the HTTP fallback ----------------------------------------------------------------------- */

/* One poll of /state?since with an optional bearer; returns the parsed answer (owned) and, if
 * body is not NULL, the raw answer (malloc'd). */
static json_object *poll_state(struct bb *bb, uint64_t since, const char *bearer, char **body)
{
    struct http_reply r;
    char path[96];
    snprintf(path, sizeof(path), "/api/games/main/state?since=%llu", (unsigned long long)since);
    bb_http(bb, path, NULL, bearer, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(r.json);
    json_object *j = json_object_get(r.json);
    if (body) *body = xstrdup(r.body);
    http_reply_free(&r);
    return j;
}

/* Each polled event is, byte for byte, the message the WebSocket client ws received with that
 * seq: the poll answer embeds the WebSocket messages verbatim. */
static void check_polled(json_object *events, const char *body, const struct tc *ws)
{
    assert_true(json_object_array_length(events) > 0);
    for (size_t i = 0; i < json_object_array_length(events); i++) {
        json_object *e = json_object_array_get_idx(events, i);
        const struct rmsg *m = msg_at_seq(ws, (uint64_t)jval_int(e, "seq", -1));
        assert_non_null(m);
        assert_non_null(strstr(body, m->raw));
        json_object *mine = jval_parse(m->raw, m->len);
        assert_true(json_object_equal(mine, e));
        json_object_put(mine);
    }
}

/* cat: the player who plays over HTTP only. */
struct http_player {
    char id[32], token[160];
};

/* Joins cat over HTTP. */
static void join_over_http(struct bb *bb, struct http_player *cat)
{
    struct http_reply r;
    bb_http(bb, "/api/games/main/join", "{\"name\": \"cat\"}", NULL, &r);
    assert_int_equal(r.status, 200);
    snprintf(cat->id, sizeof(cat->id), "%s", jval_str(r.json, "player_id"));
    snprintf(cat->token, sizeof(cat->token), "%s", jval_str(r.json, "token"));
    http_reply_free(&r);
}

/* Without since: a snapshot; the bearer's own view names cat; a bad bearer is 401. */
static void check_state_snapshot(struct bb *bb, const struct http_player *cat)
{
    struct http_reply r;
    bb_http(bb, "/api/games/main/state", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    json_object *ev0 = json_object_array_get_idx(jval_get(r.json, "events"), 0);
    assert_string_equal(jval_str(ev0, "type"), "snapshot");
    assert_true(json_object_is_type(jval_get(jval_get(ev0, "data"), "you"), json_type_null));
    http_reply_free(&r);
    bb_http(bb, "/api/games/main/state", NULL, cat->token, &r);
    ev0 = json_object_array_get_idx(jval_get(r.json, "events"), 0);
    assert_string_equal(jval_str(jval_get(jval_get(ev0, "data"), "you"), "player_id"), cat->id);
    http_reply_free(&r);
    bb_http(bb, "/api/games/main/state?since=0", NULL, "not-a-token", &r);
    assert_int_equal(r.status, 401);
    http_reply_free(&r);
}

/* cat's action number `acted` (check or call, as ta allows) by POST; the resend is answered
 * with the same bytes and changes nothing. */
static void act_over_http(struct bb *bb, const struct http_player *cat, json_object *ta,
                          int64_t hand, size_t acted)
{
    struct http_reply r, again;
    char body[200];
    assert_string_equal(jval_str(ta, "player_id"), cat->id);
    snprintf(body, sizeof(body),
             "{\"action\": \"%s\", \"hand_id\": %lld, \"request_id\": \"cat-%zu\"}",
             jval_bool(ta, "can_check", false) ? "check" : "call", (long long)hand, acted);
    bb_http(bb, "/api/games/main/action", body, cat->token, &r);
    assert_int_equal(r.status, 200);
    json_object *ack = jval_get(r.json, "data");
    assert_string_equal(jval_str(r.json, "type"), "ack");
    assert_string_equal(jval_str(ack, "status"), "accepted");
    bb_http(bb, "/api/games/main/action", body, cat->token, &again);
    assert_string_equal(again.body, r.body);
    http_reply_free(&again);
    http_reply_free(&r);
}

/* Plays hand (whose first event is seq first, at index hs of spec) with cat acting over HTTP
 * whenever the spectator sees its turn, polling before each action and once the hand is over.
 * Every event cat polled is appended to cat_view (gap-free: each poll answers everything since
 * the last one). Returns how many times cat acted. */
static size_t play_hand_over_http(struct bb *bb, struct tc *spec, const struct http_player *cat,
                                  long hs, json_object *cat_view)
{
    int64_t hand = jval_int(spec->msgs[hs].data, "hand_id", -1);
    uint64_t since = spec->msgs[hs].seq - 1;
    size_t from = (size_t)hs, acted = 0;
    for (;;) {
        BB_WAIT(bb,
                tc_find_note(spec, from, "turn", cat->id) >= 0 ||
                    find_update(spec, 0, "hand_end", hand) >= 0,
                BB_TIMEOUT_MS);
        long turn = tc_find_note(spec, from, "turn", cat->id);
        json_object *j = poll_state(bb, since, cat->token, NULL);
        json_object *evs = jval_get(j, "events");
        assert_int_equal(jval_int(j, "seq", -1) - (int64_t)since,
                         (int64_t)json_object_array_length(evs));
        json_object *ta = NULL;
        for (size_t i = 0; i < json_object_array_length(evs); i++) {
            json_object *e = json_object_array_get_idx(evs, i);
            assert_int_equal(jval_int(e, "seq", -1), (int64_t)(since + 1 + i));
            json_object_array_add(cat_view, json_object_get(e));
            json_object *d = jval_get(e, "data");
            if (strcmp(jval_str(e, "type"), "state_update") == 0) ta = jval_get(d, "to_act");
        }
        since = (uint64_t)jval_int(j, "seq", -1);
        if (turn < 0) {
            json_object_put(j);
            break;
        }
        from = (size_t)turn + 1;
        act_over_http(bb, cat, ta, hand, acted);
        json_object_put(j);
        acted++;
    }
    return acted;
}

/* What cat polled is what a WebSocket in cat's seat would have got: the public events as the
 * spectator saw them, and cat's own private renderings (its cards, your_turn). */
static void check_cat_view(json_object *cat_view, const struct tc *spec,
                           const struct http_player *cat)
{
    bool seen_own_cards = false;
    for (size_t i = 0; i < json_object_array_length(cat_view); i++) {
        json_object *e = json_object_array_get_idx(cat_view, i);
        const struct rmsg *m = msg_at_seq(spec, (uint64_t)jval_int(e, "seq", -1));
        assert_non_null(m);
        json_object *pub = jval_parse(m->raw, m->len);
        const char *ev = jval_str(jval_get(e, "data"), "event"), *kind = jval_str(jval_get(e, "data"), "kind");
        bool priv =
            (ev && strcmp(ev, "hand_start") == 0) || (kind && strcmp(kind, "your_turn") == 0);
        if (priv) {
            assert_false(json_object_equal(pub, e));
            if (ev && strcmp(ev, "hand_start") == 0) {
                json_object *mine = entry_of(jval_get(jval_get(e, "data"), "players"), cat->id);
                assert_int_equal(json_object_array_length(jval_get(mine, "cards")), 2);
                seen_own_cards = true;
            } else {
                assert_string_equal(jval_str(jval_get(e, "data"), "player_id"), cat->id);
            }
        } else {
            assert_true(json_object_equal(pub, e));
        }
        json_object_put(pub);
    }
    assert_true(seen_own_cards);
}

/* Privacy of the poll views: the WebSocket players' cards (ps, n) reach neither cat's view nor
 * the public one (polled from seq first) before the showdown shows them (and never if mucked). */
static void check_poll_privacy(struct bb *bb, struct tc *spec, struct tc **ps, size_t n,
                               int64_t hand, uint64_t first, json_object *cat_view)
{
    char cards[2][8];
    char *pub_body;
    json_object *pub_view = poll_state(bb, first - 1, NULL, &pub_body);
    check_polled(jval_get(pub_view, "events"), pub_body, spec);
    free(pub_body);
    long sd = find_update(spec, 0, "showdown", hand);
    json_object *shows = sd >= 0 ? jval_get(spec->msgs[sd].data, "shows") : NULL;
    json_object *views[2] = {cat_view, jval_get(pub_view, "events")};
    for (size_t p = 0; p < n; p++) {
        assert_int_equal(hole_cards(ps[p], hand, cards), 2);
        uint64_t public_from = entry_of(shows, ps[p]->player_id) ? spec->msgs[sd].seq : UINT64_MAX;
        for (int v = 0; v < 2; v++) {
            for (size_t i = 0; i < json_object_array_length(views[v]); i++) {
                json_object *e = json_object_array_get_idx(views[v], i);
                if ((uint64_t)jval_int(e, "seq", 0) >= public_from) continue;
                const char *txt = json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN);
                assert_null(strstr(txt, cards[0]));
                assert_null(strstr(txt, cards[1]));
            }
        }
    }
    json_object_put(pub_view);
}

/* Chat over HTTP is the same chat, with the same limit. */
static void check_http_chat(struct bb *bb, struct tc *spec, const struct http_player *cat)
{
    struct http_reply r;
    bb_http(bb, "/api/games/main/chat", "{\"text\": \"via \\u001b[1mhttp\"}", cat->token, &r);
    assert_int_equal(r.status, 200);
    assert_true(jval_bool(r.json, "ok", false));
    http_reply_free(&r);
    long c = wait_msg(bb, spec, 0, PROTO_S_CHAT, "text", "via http");
    assert_string_equal(jval_str(spec->msgs[c].data, "player_id"), cat->id);
    for (int i = 0; i < 4; i++) {
        bb_http(bb, "/api/games/main/chat", "{\"text\": \"more\"}", cat->token, &r);
        assert_int_equal(r.status, 200);
        http_reply_free(&r);
    }
    bb_http(bb, "/api/games/main/chat", "{\"text\": \"too many\"}", cat->token, &r);
    assert_int_equal(r.status, 429);
    assert_string_equal(jval_str(jval_get(r.json, "data"), "code"), "rate_limited");
    http_reply_free(&r);
}

/* Same rules as the socket (a stale hand is refused with the same code), and the HTTP errors:
 * no or a wrong bearer, bad bodies, unknown paths and methods, an oversized body. */
static void check_http_errors(struct bb *bb, const struct http_player *cat)
{
    struct http_reply r;
    bb_http(bb, "/api/games/main/action", "{\"action\": \"check\", \"hand_id\": 0}", cat->token,
            &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jval_str(jval_get(r.json, "data"), "status"), "rejected");
    assert_true(strcmp(jval_str(jval_get(r.json, "data"), "code"), "stale_hand") == 0 ||
                strcmp(jval_str(jval_get(r.json, "data"), "code"), "no_hand") == 0);
    http_reply_free(&r);

    static const struct {
        const char *path, *body, *bearer;
        int status;
    } errs[] = {
        {"/api/games/main/action", "{\"action\": \"fold\"}", NULL, 401},
        {"/api/games/main/action", "{\"action\": \"fold\"}", "0123", 401},
        {"/api/games/main/action", "{\"action\": ", "TOKEN", 400},
        {"/api/games/main/action", "{\"type\": \"chat\", \"text\": \"x\"}", "TOKEN", 400},
        {"/api/games/nope/state", NULL, NULL, 404},
        {"/api/games/main/join", NULL, NULL, 405},
        {"/nowhere", NULL, NULL, 404},
    };
    for (size_t i = 0; i < FELT_ARRAY_LEN(errs); i++) {
        const char *bearer =
            errs[i].bearer && strcmp(errs[i].bearer, "TOKEN") == 0 ? cat->token : errs[i].bearer;
        bb_http(bb, errs[i].path, errs[i].body, bearer, &r);
        assert_int_equal(r.status, errs[i].status);
        assert_string_equal(jval_str(r.json, "type"), "error");
        http_reply_free(&r);
    }
    char *big = xmalloc(17000 + 1);
    memset(big, ' ', 17000);
    memcpy(big, "{\"name\": \"x\"", 12);
    big[16999] = '}';
    big[17000] = '\0';
    bb_http(bb, "/api/games/main/join", big, NULL, &r);
    free(big);
    assert_int_equal(r.status, 413);
    http_reply_free(&r);
}

/* A poll naming another run of the server (epoch=) gets a snapshot, never a replay of this
 * run's events after its since; with this run's epoch, the events. */
static void check_poll_epoch(struct bb *bb, const struct tc *spec)
{
    const char *epoch = jval_str(tc_last(spec, PROTO_S_SNAPSHOT, NULL, NULL), "epoch");
    assert_non_null(epoch);
    uint64_t since = spec->max_seq > 2 ? spec->max_seq - 2 : 0;
    const char *epochs[] = {"0123456789abcdef0123456789abcdef", epoch};
    for (int i = 0; i < 2; i++) {
        struct http_reply r;
        char path[160];
        snprintf(path, sizeof(path), "/api/games/main/state?since=%llu&epoch=%s",
                 (unsigned long long)since, epochs[i]);
        bb_http(bb, path, NULL, NULL, &r);
        assert_int_equal(r.status, 200);
        json_object *first = json_object_array_get_idx(jval_get(r.json, "events"), 0);
        assert_non_null(first);
        if (i == 0)
            assert_string_equal(jval_str(first, "type"), "snapshot");
        else
            assert_int_equal(jval_int(first, "seq", -1), (int64_t)since + 1);
        http_reply_free(&r);
    }
}

void test_http_fallback(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    struct http_reply r;
    struct http_player cat;
    (void)state;
    START(&bb, "--hand-delay", "300");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    wait_snapshot(&bb, spec);
    struct tc *ps[2] = {tc_join(&bb, "ann", "main", false), tc_join(&bb, "bob", "main", false)};
    for (int i = 0; i < 2; i++) {
        ps[i]->play = TC_PLAY_CALL;
        wait_snapshot(&bb, ps[i]);
    }
    join_over_http(&bb, &cat);
    check_state_snapshot(&bb, &cat);

    /* Play a hand: cat acts over HTTP whenever the spectator sees its turn. */
    long hs = wait_full_hand_start(&bb, spec, 3);
    int64_t hand = jval_int(spec->msgs[hs].data, "hand_id", -1);
    json_object *cat_view = json_object_new_array(); /* every event cat polled */
    size_t acted = play_hand_over_http(&bb, spec, &cat, hs, cat_view);
    assert_true(acted >= 4);
    assert_true(find_update(spec, 0, "hand_end", hand) >= 0);
    for (int i = 0; i < 2; i++)
        bb_assert_tc_ok(ps[i]);
    /* cat's acts were applied once each. */
    assert_int_equal(tc_count_updates(spec, "action", cat.id), acted);
    check_cat_view(cat_view, spec, &cat);
    check_poll_privacy(&bb, spec, ps, 2, hand, spec->msgs[hs].seq, cat_view);
    json_object_put(cat_view);

    check_http_chat(&bb, spec, &cat);
    check_http_errors(&bb, &cat);
    check_poll_epoch(&bb, spec);
    /* The lobby. */
    bb_http(&bb, "/api/games", NULL, NULL, &r);
    json_object *g = json_object_array_get_idx(jval_get(r.json, "games"), 0);
    assert_int_equal(jval_int(g, "seats_taken", -1), 3);
    assert_int_equal(jval_int(g, "spectators", -1), 1);
    assert_int_equal(jval_int(g, "hand_id", -1),
                     hand + (find_update(spec, 0, "hand_start", hand + 1) >= 0));
    http_reply_free(&r);
    bb_stop_clean(&bb);
}

/* ---- metrics, health, shutdown --------------------------------------------------------------- */

/* Checks one Prometheus sample line: name{labels} value. Returns false if malformed. */
static bool metrics_line_ok(const char *line)
{
    const char *p = line;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':'))
        return false;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '_' || *p == ':')
        p++;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_')) return false;
            while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '_')
                p++;
            if (p[0] != '=' || p[1] != '"') return false;
            p += 2;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) p++;
                p++;
            }
            if (*p != '"') return false;
            p++;
            if (*p == ',')
                p++;
            else if (*p != '}')
                return false;
        }
        p++;
    }
    if (*p != ' ') return false;
    p++;
    if (strcmp(p, "+Inf") == 0 || strcmp(p, "-Inf") == 0 || strcmp(p, "NaN") == 0) return true;
    char *end;
    strtod(p, &end);
    return end != p && *end == '\0';
}

void test_metrics(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    struct http_reply r;
    (void)state;
    START(&bb, "--table", "a:6:5/10:1000", "--table", "b:2:1/2:100", "--hand-delay", "200");
    struct tc *sa = tc_spectator(&bb, "sa", "a", false);
    struct tc *sb = tc_spectator(&bb, "sb", "b", false);
    wait_snapshot(&bb, sa);
    wait_snapshot(&bb, sb);
    struct tc *ps[2] = {tc_join(&bb, "ann", "a", false), tc_join(&bb, "bob", "a", false)};
    for (int i = 0; i < 2; i++) {
        ps[i]->play = TC_PLAY_CALL;
        wait_snapshot(&bb, ps[i]);
    }
    long hs = wait_full_hand_start(&bb, sa, 2);
    int64_t hand = jval_int(sa->msgs[hs].data, "hand_id", -1);
    assert_true(BB_WAIT(&bb, find_update(sa, 0, "hand_end", hand) >= 0, BB_TIMEOUT_MS));
    /* Table b saw none of it. */
    assert_int_equal(tc_count(sb, PROTO_S_STATE_UPDATE), 0);

    bb_http(&bb, "/healthz", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(jval_bool(r.json, "ok", false));
    assert_int_equal(jval_int(r.json, "tables", -1), 2);
    http_reply_free(&r);

    bb_http(&bb, "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    char *text = xstrdup(r.body), *save = NULL;
    size_t samples = 0;
    double buckets_prev = -1, inf = -1, count = -2;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') {
            assert_true(strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0);
            continue;
        }
        if (!metrics_line_ok(line)) print_error("bad metrics line: '%s'\n", line);
        assert_true(metrics_line_ok(line));
        samples++;
        double v = strtod(strrchr(line, ' ') + 1, NULL);
        if (strncmp(line, "felt_action_broadcast_latency_seconds_bucket", 44) == 0) {
            assert_true(v >= buckets_prev); /* cumulative */
            buckets_prev = v;
            if (strstr(line, "le=\"+Inf\"")) inf = v;
        }
        if (strncmp(line, "felt_action_broadcast_latency_seconds_count ", 44) == 0) count = v;
    }
    free(text);
    assert_true(samples >= 20);
    assert_true(inf >= 8); /* 8 actions, each delivered to 3 sockets */
    assert_true(inf == count);
    http_reply_free(&r);
    assert_int_equal(metric_value(&bb, "felt_connections{role=\"spectator\"} "), 2);
    assert_int_equal(metric_value(&bb, "felt_connections{role=\"player\"} "), 2);
    assert_int_equal(metric_value(&bb, "felt_tables "), 2);
    /* Only the request asking: every earlier HTTP connection was closed by one side. */
    assert_int_equal(metric_value(&bb, "felt_connections{role=\"http\"} "), 1);
    assert_int_equal(metric_value(&bb, "felt_actions_total "), 8);
    assert_int_equal(metric_value(&bb, "felt_actions_rejected_total "), 0);
    assert_true(metric_value(&bb, "felt_messages_in_total ") >= 10); /* 2 hellos + 8 actions */
    assert_true(metric_value(&bb, "felt_http_requests_total ") >= 4);
    /* No secret reaches the metrics. */
    bb_http(&bb, "/metrics", NULL, NULL, &r);
    assert_null(strstr(r.body, ps[0]->token));
    assert_null(strstr(r.body, ps[0]->player_id));
    http_reply_free(&r);
    bb_stop_clean(&bb);
}

void test_shutdown(void **state)
{
    static struct bb bb; /* outlives a failed assertion, for the teardown */
    (void)state;
    START(&bb, "--hand-delay", "600000");
    struct tc *spec = tc_spectator(&bb, "spec", "main", false);
    struct tc *ann = tc_join(&bb, "ann", "main", false);
    wait_snapshot(&bb, spec);
    wait_snapshot(&bb, ann);
    assert_int_equal(kill(bb.srv.pid, SIGTERM), 0);
    assert_true(BB_WAIT(&bb, spec->closes > 0 && ann->closes > 0, BB_TIMEOUT_MS));
    assert_int_equal(spec->close_code, 1001);
    assert_int_equal(ann->close_code, 1001);
    bb_stop_clean(&bb); /* exit status 0 */
}
