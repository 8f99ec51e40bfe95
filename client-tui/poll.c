/*
 * poll.c: the HTTP polling transport, for networks where the WebSocket cannot get through.
 *
 * GET /api/games/{game}/state?since=SEQ (with the player's token as a bearer) returns the events
 * after SEQ, each envelope exactly as the WebSocket would have sent it, or a snapshot; the events
 * go one by one to the session, which applies them to the model exactly as WebSocket messages,
 * and tells us the new cursor. The period adapts: POLL_MIN_MS while something happens (events
 * arrived, it is our turn, we just acted), doubling to POLL_MAX_MS while the table is quiet, so
 * an idle client makes one small request every two seconds and otherwise sleeps. Failures back
 * off like the WebSocket's reconnects (500 ms doubling to 10 s).
 *
 * Actions, chat, sit_out, sit_in and leave are POSTed, one at a time, by the session
 * (poll_post): it keeps the order and the exactly-once bookkeeping. At most one GET and one POST
 * are in flight.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client.h"
#include "jval.h"
#include "wsclient.h"

#define POLL_FAST_POLLS 8 /* polls at POLL_MIN_MS after something happened */
#define POLL_FAIL_MIN_MS 500
#define POLL_FAIL_MAX_MS 10000
#define POLL_URL_MAX 1024

struct poll {
    struct wsloop *loop;
    struct poll_callbacks cb;
    char base[POLL_URL_MAX];
    char game[PROTO_GAME_ID_MAX + 1];
    char bearer[PROTO_TOKEN_MAX + 1]; /* "" for a spectator */
    bool running;
    bool has_since;
    uint64_t since;
    char epoch[PROTO_EPOCH_MAX + 1]; /* the run since belongs to ("" unknown) */
    struct wstimer *timer;
    int64_t interval_ms;
    int64_t due_us; /* monotonic time the timer is armed for */
    int fast_left;
    int fails;
    /* The requests in flight (NULL: none); poll_free cancels them, so no answer outlives p. */
    struct wshttp *get_req, *post_req;
    int64_t get_started_us;
};

static void poll_arm(struct poll *p, int64_t ms)
{
    if (!p->running) return;
    p->due_us = felt_mono_us() + ms * 1000;
    wstimer_arm(p->timer, ms);
}

/* ---- splitting the answer into raw envelopes ------------------------------------------- */

static void poll_skip_ws(const char *s, size_t len, size_t *i)
{
    while (*i < len && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n' || s[*i] == '\r'))
        (*i)++;
}

/* Skips one JSON value starting at s[*i] (the answer was validated by json-c first, so this
 * only has to find where each value ends). Returns 0, or -1 at a premature end. */
static int poll_skip_value(const char *s, size_t len, size_t *i)
{
    size_t k = *i;
    if (k >= len) return -1;
    if (s[k] == '"') {
        for (k++; k < len; k++) {
            if (s[k] == '\\') {
                k++;
            } else if (s[k] == '"') {
                *i = k + 1;
                return 0;
            }
        }
        return -1;
    }
    if (s[k] == '{' || s[k] == '[') {
        int depth = 0;
        bool in_str = false;
        for (; k < len; k++) {
            char c = s[k];
            if (in_str) {
                if (c == '\\')
                    k++;
                else if (c == '"')
                    in_str = false;
            } else if (c == '"') {
                in_str = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if ((c == '}' || c == ']') && --depth == 0) {
                *i = k + 1;
                return 0;
            }
        }
        return -1;
    }
    while (k < len && s[k] && !strchr(",]} \t\r\n", s[k]))
        k++; /* a number, true, false or null */
    if (k == *i) return -1;
    *i = k;
    return 0;
}

/* Splits {"seq":N,"events":[...]} into raw envelopes. Returns the number of events passed to
 * fn, or -1 for a malformed answer. */
static int poll_split_events(const char *body, size_t len, uint64_t *seq,
                      void (*fn)(void *arg, const char *raw, size_t len), void *arg)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *j = len <= INT32_MAX ? json_tokener_parse_ex(tok, body, (int)len) : NULL;
    struct json_object *events = jval_typed(j, "events", json_type_array);
    int64_t first = jval_int(j, "seq", -1);
    int n = -1;
    size_t i = 0;

    if (!j || json_tokener_get_error(tok) != json_tokener_success || first < 0 || !events)
        goto out;
    for (size_t k = 0; k < json_object_array_length(events); k++)
        if (!json_object_is_type(json_object_array_get_idx(events, k), json_type_object)) goto out;
    *seq = (uint64_t)first;

    /* Walk the top-level object to the "events" array and hand out each element's bytes. */
    poll_skip_ws(body, len, &i);
    if (i >= len || body[i++] != '{') goto out;
    for (;;) {
        poll_skip_ws(body, len, &i);
        if (i >= len || body[i] != '"') goto out;
        size_t kstart = i;
        if (poll_skip_value(body, len, &i) != 0) goto out;
        bool is_events = i - kstart == 8 && memcmp(body + kstart, "\"events\"", 8) == 0;
        poll_skip_ws(body, len, &i);
        if (i >= len || body[i++] != ':') goto out;
        poll_skip_ws(body, len, &i);
        if (is_events) {
            if (i >= len || body[i++] != '[') goto out;
            n = 0;
            for (;;) {
                poll_skip_ws(body, len, &i);
                if (i < len && body[i] == ']') goto out; /* done: n events */
                size_t start = i;
                if (poll_skip_value(body, len, &i) != 0) {
                    n = -1;
                    goto out;
                }
                fn(arg, body + start, i - start);
                n++;
                poll_skip_ws(body, len, &i);
                if (i < len && body[i] == ',') i++;
            }
        }
        if (poll_skip_value(body, len, &i) != 0) goto out;
        poll_skip_ws(body, len, &i);
        if (i >= len || body[i] != ',') goto out;
        i++;
    }
out:
    json_object_put(j);
    json_tokener_free(tok);
    return n;
}

/* ---- requests -------------------------------------------------------------------------- */

static void poll_fire(void *arg);

static void poll_forward(void *arg, const char *raw, size_t len)
{
    struct poll *p = arg;
    if (p->cb.on_event) p->cb.on_event(p->cb.user, raw, len);
}

static void poll_get_done(struct poll *p, const struct wshttp_result *r, int64_t rtt_ms)
{
    uint64_t seq;
    if (!p->running) return;
    if (r->status == 200) {
        int n = poll_split_events(r->body, r->body_len, &seq, poll_forward, p);
        if (n < 0) {
            if (p->cb.on_result)
                p->cb.on_result(p->cb.user, 0, "malformed answer to a poll", rtt_ms);
        } else {
            p->fails = 0;
            if (n > 0) p->fast_left = POLL_FAST_POLLS;
            if (p->fast_left > 0) {
                p->fast_left--;
                p->interval_ms = POLL_MIN_MS;
            } else {
                p->interval_ms =
                    p->interval_ms * 2 > POLL_MAX_MS ? POLL_MAX_MS : p->interval_ms * 2;
            }
            if (p->cb.on_result) p->cb.on_result(p->cb.user, 200, NULL, rtt_ms);
            poll_arm(p, p->interval_ms);
            return;
        }
    } else if (p->cb.on_result) {
        p->cb.on_result(p->cb.user, r->status, r->error, rtt_ms);
    }
    int64_t back = POLL_FAIL_MIN_MS << (p->fails < 5 ? p->fails : 5);
    p->fails++;
    p->interval_ms = back > POLL_FAIL_MAX_MS ? POLL_FAIL_MAX_MS : back;
    poll_arm(p, p->interval_ms);
}

static void poll_get_http_done(void *arg, const struct wshttp_result *r)
{
    struct poll *p = arg;
    p->get_req = NULL;
    poll_get_done(p, r, (felt_mono_us() - p->get_started_us + 500) / 1000);
}

static void poll_post_http_done(void *arg, const struct wshttp_result *r)
{
    struct poll *p = arg;
    p->post_req = NULL;
    if (p->cb.on_posted) p->cb.on_posted(p->cb.user, r->status, r->body, r->body ? r->body_len : 0);
}

static struct wshttp *poll_request(struct poll *p, const char *url, const char *body,
                                   void (*done)(void *arg, const struct wshttp_result *r))
{
    return wshttp_start(p->loop, url, body, p->bearer[0] ? p->bearer : NULL, done, p);
}

static void poll_fire(void *arg)
{
    struct poll *p = arg;
    char url[POLL_URL_MAX * 2];
    if (!p->running || p->get_req) return;
    if (p->has_since)
        snprintf(url, sizeof(url), "%s/api/games/%s/state?since=%llu%s%s", p->base, p->game,
                 (unsigned long long)p->since, p->epoch[0] ? "&epoch=" : "", p->epoch);
    else
        snprintf(url, sizeof(url), "%s/api/games/%s/state", p->base, p->game);
    p->get_started_us = felt_mono_us();
    p->get_req = poll_request(p, url, NULL, poll_get_http_done);
    if (!p->get_req) {
        struct wshttp_result r = {.status = 0, .error = "bad URL"};
        poll_get_done(p, &r, 0);
    }
}

/* ---- the interface --------------------------------------------------------------------- */

void poll_set_base(struct poll *p, const char *base_url)
{
    snprintf(p->base, sizeof(p->base), "%s", base_url);
}

struct poll *poll_new(struct wsloop *loop, const char *base_url, const char *game,
                      const char *bearer, const struct poll_callbacks *cb)
{
    struct poll *p = xcalloc(1, sizeof(*p));
    p->loop = loop;
    p->cb = *cb;
    snprintf(p->base, sizeof(p->base), "%s", base_url);
    snprintf(p->game, sizeof(p->game), "%s", game);
    snprintf(p->bearer, sizeof(p->bearer), "%s", bearer ? bearer : "");
    p->timer = wstimer_new(loop, poll_fire, p);
    p->interval_ms = POLL_MIN_MS;
    return p;
}

/* Keeps the epoch only when it is safe in a query string as it is (feltd's are hex). */
static void poll_epoch(struct poll *p, const char *epoch)
{
    size_t n = strlen(epoch);
    p->epoch[0] = '\0';
    if (n >= sizeof(p->epoch) || strspn(epoch, "0123456789abcdefABCDEF") != n) return;
    memcpy(p->epoch, epoch, n + 1);
}

void poll_start(struct poll *p, bool has_since, uint64_t since, const char *epoch)
{
    poll_epoch(p, epoch);
    p->running = true;
    p->has_since = has_since;
    p->since = since;
    p->fast_left = POLL_FAST_POLLS;
    p->interval_ms = POLL_MIN_MS;
    if (!p->get_req) poll_arm(p, 0);
}

void poll_hurry(struct poll *p)
{
    p->fast_left = POLL_FAST_POLLS;
    p->interval_ms = POLL_MIN_MS;
    if (p->running && !p->get_req && p->due_us - felt_mono_us() > POLL_MIN_MS * 1000)
        poll_arm(p, POLL_MIN_MS);
}

void poll_set_since(struct poll *p, uint64_t since, const char *epoch)
{
    p->has_since = true;
    p->since = since;
    poll_epoch(p, epoch);
}

int poll_post(struct poll *p, const struct outbox_item *it)
{
    char url[POLL_URL_MAX * 2];
    char *body;
    if (p->post_req || !p->running || p->bearer[0] == '\0') return -1;
    switch (it->type) {
    case PROTO_C_ACTION:
    case PROTO_C_CHAT:
    case PROTO_C_SIT_OUT:
    case PROTO_C_SIT_IN:
    case PROTO_C_LEAVE: /* POST /api/games/{game}/{type}, the body the same message */
        snprintf(url, sizeof(url), "%s/api/games/%s/%s", p->base, p->game,
                 proto_ctype_name(it->type));
        break;
    default:
        return -1;
    }
    body = outbox_item_encode(it);
    p->post_req = poll_request(p, url, body, poll_post_http_done);
    free(body);
    if (!p->post_req) return -1;
    poll_hurry(p);
    return 0;
}

bool poll_busy(const struct poll *p)
{
    return p->post_req != NULL;
}

int64_t poll_next_ms(const struct poll *p)
{
    int64_t left = (p->due_us - felt_mono_us()) / 1000;
    return p->get_req || left < 0 ? 0 : left;
}

void poll_stop(struct poll *p)
{
    p->running = false;
    wstimer_cancel(p->timer);
}

void poll_free(struct poll *p)
{
    if (!p) return;
    poll_stop(p);
    wstimer_free(p->timer);
    wshttp_cancel(p->get_req); /* their callbacks never run now */
    wshttp_cancel(p->post_req);
    explicit_bzero(p->bearer, sizeof(p->bearer));
    free(p);
}
