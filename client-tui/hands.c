/*
 * hands.c: the hand-history request (contract in hands.h): the URL of a page of hands, the GET on
 * a wsloop with its own deadline, the blocking form with a private loop, and the parse of the
 * answer into hand records.
 *
 * Each record is parsed from its own compact JSON text (json-c's, as the server writes it), so
 * what `felt history --format json` prints and what handrec_parse checked are the same bytes.
 * A page is all or nothing: one record handrec_parse refuses makes the whole answer "bad_answer",
 * naming the hand, rather than a listing with silent gaps.
 */
#include "hands.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client.h"
#include "jval.h"
#include "text.h"
#include "wsclient.h"

struct hands_req {
    struct wsloop *loop;
    struct wshttp *http;   /* NULL once answered or cancelled */
    struct wstimer *timer; /* the deadline */
    hands_done_fn done;
    void *arg;
    bool in_done;             /* inside done: hands_cancel is then a no-op */
    char base[HANDS_URL_MAX]; /* http(s)://HOST:PORT, for the messages */
};

int hands_base(const char *server, char *http_base, char *token_key, size_t outsz,
               struct felt_err *err)
{
    struct wsurl u;
    char why[sizeof(err->message)];
    if (!server || wsurl_parse(&u, server, why, sizeof(why)) != 0 ||
        wsurl_usable(&u, server, why, sizeof(why)) != 0)
        return felt_err_set(err, "bad_url", "%s", server ? why : "no server URL");
    if (u.path[0] && strcmp(u.path, "/") != 0)
        return felt_err_set(err, "bad_url", "'%.60s': give only ws://HOST:PORT, no path", server);
    int n = 0, m = 0;
    if (http_base)
        n = snprintf(http_base, outsz, "%s%.*s", u.tls ? "https://" : "http://",
                     (int)u.authority_len, u.authority);
    if (token_key)
        m = snprintf(token_key, outsz, "%s%.*s", u.tls ? "wss://" : "ws://", (int)u.authority_len,
                     u.authority);
    if (n < 0 || m < 0 || (size_t)n >= outsz || (size_t)m >= outsz)
        return felt_err_set(err, "bad_url", "'%.60s': the server URL is too long", server);
    return 0;
}

const char *hands_default_name(void)
{
    const char *user = getenv("USER");
    if (user && *user) return user;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_name && *pw->pw_name ? pw->pw_name : NULL;
}

int hands_token(const char *server, const char *game, const char *name, char *out, size_t outsz)
{
    char key[HANDS_URL_MAX], clean[PROTO_NAME_MAX_BYTES + 1];
    struct token_record rec;
    struct felt_err err;
    int found = 0;
    /* The session files the seat under the sanitized name: look it up the same way. */
    if (!name || !game || hands_base(server, NULL, key, sizeof(key), &err) != 0 ||
        text_sanitize(name, strlen(name), clean, sizeof(clean), PROTO_NAME_MAX_CHARS, &err) <= 0)
        return 0;
    if (token_load(key, game, clean, &rec, &err) == 1 && strlen(rec.token) < outsz) {
        memcpy(out, rec.token, strlen(rec.token) + 1);
        found = 1;
    }
    explicit_bzero(&rec, sizeof(rec));
    return found;
}

int hands_url(const struct hands_query *q, char *out, size_t outsz, struct felt_err *err)
{
    char base[HANDS_URL_MAX];
    if (hands_base(q->server, base, NULL, sizeof(base), err) != 0) return -1;
    if (!q->game || !proto_game_id_valid(q->game, strlen(q->game)))
        return felt_err_set(err, "bad_game", "'%.40s' is not a game id (letters, digits, - and _)",
                            q->game ? q->game : "");
    if (q->limit < 0 || (q->has_since && q->since < 0))
        return felt_err_set(err, "bad_limit", "the limit and the first hand cannot be negative");
    /* The game id needs no escaping: proto_game_id_valid allows only [A-Za-z0-9_-]. */
    int n = snprintf(out, outsz, "%s/api/games/%s/hands", base, q->game);
    char sep = '?';
    if (n >= 0 && (size_t)n < outsz && q->has_since) {
        n += snprintf(out + n, outsz - (size_t)n, "%csince=%lld", sep, (long long)q->since);
        sep = '&';
    }
    if (n >= 0 && (size_t)n < outsz && q->limit > 0)
        n += snprintf(out + n, outsz - (size_t)n, "%climit=%d", sep, q->limit);
    if (n < 0 || (size_t)n >= outsz)
        return felt_err_set(err, "bad_url", "the request URL is too long");
    return 0;
}

void hands_page_free(struct hands_page *page)
{
    if (!page) return;
    for (int i = 0; i < page->n; i++) {
        handrec_free(&page->hand[i].rec);
        free(page->hand[i].json);
    }
    free(page->hand);
    memset(page, 0, sizeof(*page));
}

int hands_parse(const char *body, size_t len, struct hands_page *page, struct felt_err *err)
{
    struct json_object *root = body ? jval_parse(body, len) : NULL;
    int rc = -1;

    memset(page, 0, sizeof(*page));
    struct json_object *arr = jval_typed(root, "hands", json_type_array);
    if (!arr) {
        felt_err_set(err, "bad_answer", "the server's answer is not a list of hands (%s)",
                     root ? "no \"hands\" array" : "not JSON");
        goto out;
    }
    const char *gid = jval_str(root, "game_id");
    if (gid && proto_game_id_valid(gid, strlen(gid)))
        snprintf(page->game_id, sizeof(page->game_id), "%s", gid);
    size_t n = json_object_array_length(arr);
    page->hand = xcalloc(n ? n : 1, sizeof(*page->hand));
    for (size_t i = 0; i < n; i++) {
        struct json_object *el = json_object_array_get_idx(arr, i);
        struct hands_hand *hh = &page->hand[i];
        if (!json_object_is_type(el, json_type_object)) {
            felt_err_set(err, "bad_answer", "hand %zu of the answer is not an object", i + 1);
            goto out;
        }
        size_t jlen = 0;
        const char *text = json_object_to_json_string_length(
            el, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &jlen);
        handrec_init(&hh->rec);
        page->n = (int)i + 1; /* from here on hand i is freed with the page */
        hh->json = xstrndup(text, jlen);
        hh->json_len = jlen;
        struct felt_err perr = {0};
        if (handrec_parse(hh->json, jlen, &hh->rec, &perr) != 0) {
            felt_err_set(err, "bad_answer", "hand %zu of the answer is malformed: %s: %s", i + 1,
                         perr.code, perr.message);
            goto out;
        }
    }
    rc = 0;
out:
    if (rc != 0) hands_page_free(page);
    json_object_put(root);
    return rc;
}

/* The server's reason for a status other than 200: the message of {"error":{...}} (or of an
 * error envelope, {"type":"error","data":{...}}), sanitized for the terminal, else "HTTP N". */
static void hands_reason(const struct wshttp_result *r, char *out, size_t outsz)
{
    struct json_object *root = r->body ? jval_parse(r->body, r->body_len) : NULL;
    struct json_object *e = jval_typed(root, "error", json_type_object);
    if (!e) e = jval_typed(root, "data", json_type_object);
    const char *msg = jval_str(e, "message");
    struct felt_err serr;
    snprintf(out, outsz, "HTTP %d", r->status);
    if (msg && msg[0]) {
        char clean[512];
        /* A longer message is cut by the snprintf below (the caller's line is 160 bytes). */
        if (text_sanitize(msg, strlen(msg), clean, sizeof(clean), 120, &serr) > 0 &&
            snprintf(out, outsz, "HTTP %d: %s", r->status, clean) < 0)
            out[0] = '\0';
    }
    json_object_put(root);
}

/* Answers once and frees the request (done may call hands_cancel: a no-op then). */
static void hands_finish(struct hands_req *req, struct hands_page *page, const struct felt_err *err)
{
    wstimer_free(req->timer);
    req->timer = NULL;
    req->in_done = true;
    req->done(req->arg, page, err);
    free(req);
}

static void hands_http_done(void *arg, const struct wshttp_result *r)
{
    struct hands_req *req = arg;
    struct felt_err err = {0};
    struct hands_page *page = NULL;
    char why[sizeof(err.message)];

    req->http = NULL; /* wshttp frees it after this callback */
    if (r->status == 0) {
        session_unreachable_text(why, sizeof(why), req->base, r->error, wsloop_ca_file(req->loop));
        felt_err_set(&err, "unreachable", "%s", why);
    } else if (r->status != 200) {
        hands_reason(r, why, sizeof(why));
        felt_err_set(&err, r->status == 404 ? "not_found" : "http", "%s", why);
    } else {
        page = xcalloc(1, sizeof(*page));
        if (hands_parse(r->body, r->body_len, page, &err) != 0) {
            free(page);
            page = NULL;
        }
    }
    hands_finish(req, page, page ? NULL : &err);
}

static void hands_timeout(void *arg)
{
    struct hands_req *req = arg;
    struct felt_err err;
    wshttp_cancel(req->http);
    req->http = NULL;
    felt_err_set(&err, "timeout", "the server at %.80s did not answer in time", req->base);
    hands_finish(req, NULL, &err);
}

struct hands_req *hands_fetch(struct wsloop *loop, const struct hands_query *q, int timeout_ms,
                              hands_done_fn done, void *arg, struct felt_err *err)
{
    char url[HANDS_URL_MAX];
    if (hands_url(q, url, sizeof(url), err) != 0) return NULL;
    struct hands_req *req = xcalloc(1, sizeof(*req));
    if (hands_base(q->server, req->base, NULL, sizeof(req->base), err) != 0) {
        free(req); /* cannot fail after hands_url */
        return NULL;
    }
    req->loop = loop;
    req->done = done;
    req->arg = arg;
    req->http = wshttp_start(loop, url, NULL, q->bearer, hands_http_done, req);
    if (!req->http) {
        free(req);
        felt_err_set(err, "bad_url", "cannot request %.100s", url);
        return NULL;
    }
    req->timer = wstimer_new(loop, hands_timeout, req);
    wstimer_arm(req->timer, timeout_ms > 0 ? timeout_ms : HANDS_TIMEOUT_MS);
    return req;
}

void hands_cancel(struct hands_req *r)
{
    if (!r || r->in_done) return;
    wshttp_cancel(r->http);
    wstimer_free(r->timer);
    free(r);
}

/* hands_get's state, filled by its callback. */
struct hands_wait {
    struct wsloop *loop;
    bool answered;
    struct hands_page *page;
    struct felt_err err;
};

static void hands_get_done(void *arg, struct hands_page *page, const struct felt_err *err)
{
    struct hands_wait *w = arg;
    w->answered = true;
    w->page = page;
    if (err) w->err = *err;
    wsloop_stop(w->loop);
}

int hands_get(const struct hands_query *q, struct hands_page *page, struct felt_err *err)
{
    struct wsloop_config lc = {.quiet = true, .ca_file = q->ca_file};
    struct hands_wait w = {0};
    char why[sizeof(err->message)];
    int rc = -1;

    memset(page, 0, sizeof(*page));
    char url[HANDS_URL_MAX];
    if (hands_url(q, url, sizeof(url), err) != 0) return -1; /* before starting lws */
    if (q->ca_file && wsloop_ca_check(q->ca_file, why, sizeof(why)) != 0)
        return felt_err_set(err, "bad_ca", "--ca: %s", why);
    w.loop = wsloop_new(&lc);
    if (!w.loop) return felt_err_set(err, "unreachable", "cannot start the network layer");
    struct hands_req *req = hands_fetch(w.loop, q, HANDS_TIMEOUT_MS, hands_get_done, &w, err);
    if (!req) goto out;
    wsloop_run(w.loop); /* returns after hands_get_done, unless the loop itself failed */
    if (!w.answered) {
        hands_cancel(req);
        felt_err_set(err, "unreachable", "the network loop failed");
        goto out;
    }
    if (!w.page) {
        if (err) *err = w.err;
        goto out;
    }
    *page = *w.page;
    free(w.page);
    rc = 0;
out:
    wsloop_free(w.loop);
    return rc;
}

int hands_replay(const struct handrec *h, struct handrec_result *r, struct felt_err *err)
{
    return handrec_replay_published(h, r, err);
}

int hands_exit_status(const struct felt_err *err)
{
    static const char *const usage[] = {"bad_url", "bad_game", "bad_limit", "bad_ca"};
    for (size_t i = 0; i < FELT_ARRAY_LEN(usage); i++)
        if (err->code && strcmp(err->code, usage[i]) == 0) return 2;
    return 1;
}
