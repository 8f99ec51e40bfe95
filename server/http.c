/*
 * http.c: the HTTP API: lobby, the polling fallback (the old transport, kept for clients that
 * cannot use WebSocket), health and metrics.
 *
 * Requests are routed through http_routes[], a const table of method and path pattern ("*"
 * matches one path segment, the game id). The POST routes are the client commands of command.c,
 * the same table the WebSocket uses (join, action, chat, sit_out, sit_in, leave), so the rules,
 * the limits, the acks and the error codes are the same; here they only get an HTTP status.
 * A request with a player's bearer token is also that player's sign of life (table_seen: their
 * presence while polling, and their seat kept from the idle sweep). GET .../state?since=SEQ
 * answers with the events after SEQ from the table's history, rendered for the caller (a
 * player's own view with Authorization: Bearer TOKEN), or a snapshot when SEQ is absent or too
 * old. GET .../hands serves the stored hand histories (store.h), with the same privacy; its
 * answer comes later (resp->later), once the store's thread has read them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "server.h"

typedef void (*http_fn)(struct server *srv, struct table *t, const struct http_request *req,
                        struct http_response *resp);

static void http_json(struct http_response *resp, int status, struct json_object *j)
{
    const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
    resp->status = status;
    resp->content_type = "application/json";
    resp->body = msg_from_string(xstrdup(s), strlen(s));
    json_object_put(j);
}

static void http_error(struct http_response *resp, int status, const char *code,
                       const char *message)
{
    size_t len;
    char *s = proto_encode_error(code, message, &len);
    resp->status = status;
    resp->content_type = "application/json";
    resp->body = msg_from_string(s, len);
}

/* 421 not_owner: several nodes, and this one does not play t now. The error's data names the
 * owner's URL ("owner", when known) and every node's ("servers"), for the client to go there. */
static void http_not_owner(struct http_response *resp, const struct table *t)
{
    char why[TABLE_URL_MAX + 96];
    size_t len;
    snprintf(why, sizeof(why), "this server does not play table %s now; %s%s",
             table_config(t)->id, t->owner_url[0] ? "its owner is " : "try another",
             t->owner_url[0] ? t->owner_url : "");
    char *s = proto_encode_error("not_owner", why, &len);
    struct json_object *j = json_tokener_parse(s), *data = NULL;
    free(s);
    if (!j || !json_object_object_get_ex(j, "data", &data))
        felt_fatal("http: cannot read back an error envelope");
    if (t->owner_url[0])
        json_object_object_add(data, "owner", json_object_new_string(t->owner_url));
    struct json_object *servers = lobby_servers_json(t->srv);
    if (servers)
        json_object_object_add(data, "servers", servers);
    http_json(resp, 421, j);
}

static void http_text(struct http_response *resp, int status, const char *ctype, char *s,
                      size_t len)
{
    resp->status = status;
    resp->content_type = ctype;
    resp->body = msg_from_string(s, len);
}

/* Decodes a POST body as the client message `type` (the body may omit "type"), exactly as
 * strictly as a WebSocket frame. */
static int http_decode_body(const struct http_request *req, enum proto_ctype type,
                            struct proto_cmsg *m, struct felt_err *err)
{
    return proto_decode_client_as(req->body, req->body_len, type, m, err);
}

/* The player whose token the request carries, or NULL (with a 401 filled in). */
static struct player *http_auth(struct table *t, const struct http_request *req,
                                struct http_response *resp)
{
    struct player *p = req->bearer ? table_player_by_token(t, req->bearer) : NULL;
    if (!p)
        http_error(resp, 401, "unauthorized", "send Authorization: Bearer TOKEN of a player");
    else
        table_seen(t, p);
    return p;
}

static void http_lobby(struct server *srv, struct table *t, const struct http_request *req,
                       struct http_response *resp)
{
    (void)t;
    (void)req;
    http_json(resp, 200, lobby_json(srv));
}

static void http_healthz(struct server *srv, struct table *t, const struct http_request *req,
                         struct http_response *resp)
{
    (void)t;
    (void)req;
    struct json_object *j = json_object_new_object();
    json_object_object_add(j, "ok", json_object_new_boolean(!srv->shutting_down));
    json_object_object_add(j, "tables", json_object_new_int(srv->ntables));
    http_json(resp, srv->shutting_down ? 503 : 200, j);
}

static void http_metrics(struct server *srv, struct table *t, const struct http_request *req,
                         struct http_response *resp)
{
    size_t len;
    (void)t;
    (void)req;
    char *s = metrics_text(srv, &len);
    http_text(resp, 200, "text/plain; version=0.0.4", s, len);
}

/* The value of name=VALUE in the query string, copied into out (at most outsz - 1 bytes);
 * false when absent, empty or longer. */
static bool http_query(const char *query, const char *name, char *out, size_t outsz)
{
    size_t nlen = strlen(name);
    for (const char *q = query; q && *q; q = strchr(q, '&') ? strchr(q, '&') + 1 : NULL) {
        if (strncmp(q, name, nlen) != 0 || q[nlen] != '=')
            continue;
        const char *v = q + nlen + 1;
        size_t vlen = strcspn(v, "&");
        if (vlen == 0 || vlen >= outsz)
            return false;
        memcpy(out, v, vlen);
        out[vlen] = '\0';
        return true;
    }
    return false;
}

/* Parses since=N from the query string; false when absent or malformed. */
static bool http_since(const char *query, uint64_t *since)
{
    char v[24], *end;
    if (!http_query(query, "since", v, sizeof(v)) || v[0] < '0' || v[0] > '9')
        return false;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end != '\0' || n > (1ULL << 62))
        return false;
    *since = n;
    return true;
}

/* A poll may name the epoch its since belongs to (epoch=E); one from another run of the server
 * gets a snapshot, since seqs started again. */
static bool http_same_run(const struct server *srv, const char *query)
{
    char epoch[PROTO_EPOCH_MAX + 1];
    return !http_query(query, "epoch", epoch, sizeof(epoch)) || strcmp(epoch, srv->epoch) == 0;
}

static void http_state(struct server *srv, struct table *t, const struct http_request *req,
                       struct http_response *resp)
{
    struct player *viewer = NULL;
    uint64_t since = 0, now = table_seq(t);
    if (req->bearer && !(viewer = http_auth(t, req, resp)))
        return;
    /* {"seq": N, "events": [envelope, ...]}: the envelopes are the WebSocket messages verbatim. */
    size_t cap = 256, len = 0;
    char *out = xmalloc(cap);
    len += (size_t)snprintf(out, cap, "{\"seq\":%llu,\"events\":[", (unsigned long long)now);
    /* A poll further behind than poll_max_events gets a snapshot, not the whole history: one
     * cheap request must not cost a megabyte of answer. */
    bool resume = http_since(req->query, &since) && http_same_run(srv, req->query) && since <= now &&
                  (since == now || table_event(t, since + 1)) &&
                  (srv->limits.poll_max_events <= 0 ||
                   now - since <= (uint64_t)srv->limits.poll_max_events);
    for (uint64_t s = since + 1; resume && s <= now; s++) {
        const struct msg *m = event_msg_for(table_event(t, s), viewer ? viewer->uid : 0);
        if (len + m->len + 8 > cap) {
            cap = (len + m->len + 8) * 2;
            out = xrealloc(out, cap);
        }
        if (s > since + 1)
            out[len++] = ',';
        memcpy(out + len, msg_payload(m), m->len);
        len += m->len;
    }
    if (!resume) {
        uint64_t snap_seq; /* t is played here (http.c answers standing-by tables 421) */
        struct msg *snap = table_snapshot(t, viewer, &snap_seq);
        FELT_ASSERT(snap != NULL);
        out = xrealloc(out, len + snap->len + 8);
        memcpy(out + len, msg_payload(snap), snap->len);
        len += snap->len;
        msg_unref(snap);
    }
    out = xrealloc(out, len + 3);
    memcpy(out + len, "]}", 3);
    http_text(resp, 200, "application/json", out, len + 2);
}

/* ---- commands (command.c), answered over HTTP ------------------------------------------ */

/* The HTTP status of a refused command, by its code; anything else is a conflict with the
 * table's state (409). */
static const struct {
    const char *code;
    int status;
} http_refusals[] = {
    {"bad_buy_in", 400},
    {"chat_disabled", 403},
    {"rate_limited", 429},
    {"store_busy", 503},
    {"not_owner", 421}, /* a node whose lease just ran out, before its table stood by */
};

static void http_cmd_reply(struct command_ctx *x, struct msg *m)
{
    struct http_response *resp = x->owner;
    resp->status = 200;
    resp->content_type = "application/json";
    resp->body = m;
}

static void http_cmd_refuse(struct command_ctx *x, const char *code, const char *message)
{
    int status = 409;
    for (size_t i = 0; i < FELT_ARRAY_LEN(http_refusals); i++)
        if (strcmp(http_refusals[i].code, code) == 0)
            status = http_refusals[i].status;
    http_error(x->owner, status, code, message);
}

static void http_cmd_done(struct command_ctx *x)
{
    struct json_object *j = json_object_new_object();
    json_object_object_add(j, "ok", json_object_new_boolean(1));
    http_json(x->owner, 200, j);
}

static void http_cmd_seated(struct command_ctx *x, struct player *p)
{
    size_t len;
    char *s = proto_encode_seat(false, p->id, p->token, p->seat, p->name, &len);
    struct json_object *servers = lobby_servers_json(x->srv), *j;
    if (servers && (j = json_tokener_parse(s))) { /* several nodes: where else to connect */
        json_object_object_add(j, "servers", servers);
        free(s);
        http_json(x->owner, 200, j); /* puts j */
        return;
    }
    json_object_put(servers);
    http_text(x->owner, 200, "application/json", s, len);
}

static const struct command_ops http_command_ops = {
    .reply = http_cmd_reply,
    .refuse = http_cmd_refuse,
    .done = http_cmd_done,
    .seated = http_cmd_seated,
    .hello = NULL, /* no route sends hello */
};

/* POST /api/games/{id}/{command}: the body is the command's message (its "type" may be
 * omitted). A player's command needs their bearer token (401 first, then 400 for the body);
 * join is sent as a visitor, with or without one. */
static void http_command(struct server *srv, struct table *t, const struct http_request *req,
                         struct http_response *resp, enum proto_ctype type, bool as_player)
{
    struct proto_cmsg m;
    struct felt_err err;
    struct player *p = NULL;
    if (as_player && !(p = http_auth(t, req, resp)))
        return;
    if (http_decode_body(req, type, &m, &err) != 0) {
        http_error(resp, 400, err.code, err.message);
        return;
    }
    struct command_ctx x = {
        .srv = srv,
        .table = t,
        .role = as_player ? CONN_PLAYER : CONN_SPECTATOR,
        .player = p,
        .claim = "",
        .addr = req->addr,
        .chat = NULL,
        .sub = NULL,
        .ops = &http_command_ops,
        .owner = resp,
    };
    command_run(&x, &m);
}

/* A GET .../hands answer being read from the store (store_hands runs on the store's thread). It
 * keeps what it needs to answer by value, not the request's table or player: both are looked up
 * again when the rows arrive. */
struct http_later {
    struct server *srv;
    char game[PROTO_GAME_ID_MAX + 1];
    char viewer[PLAYER_ID_LEN + 1]; /* the player whose hole cards show; "" for nobody */
    http_ready_fn ready;            /* the transport's; NULL once it has gone (cancelled) */
    void *ready_arg;
};

void http_later_cancel(struct http_later *later)
{
    later->ready = NULL;
}

/* The rows of a GET .../hands, rendered for the viewer (NULL: nobody's hole cards), as the
 * answer's body; 0, or -1 with err. */
static int http_hands_body(const char *game, const struct store_hand_row *rows, size_t n,
                           const struct player *viewer, struct felt_buf *out,
                           struct felt_err *err)
{
    /* A game id is [A-Za-z0-9_-]: nothing in it needs escaping. */
    felt_buf_printf(out, "{\"game_id\":\"%s\",\"hands\":[", game);
    for (size_t i = 0; i < n; i++) {
        char *json = render_hand(&rows[i], viewer, err);
        if (!json) return -1;
        felt_buf_printf(out, "%s%s", i > 0 ? "," : "", json);
        free(json);
    }
    felt_buf_printf(out, "]}");
    return 0;
}

/* store_hands' answer: rendered and handed to the transport, unless the request has gone. */
static void http_hands_done(void *arg, const struct store_hand_row *rows, size_t n,
                            const char *why)
{
    struct http_later *later = arg;
    struct http_response resp = {0};
    struct felt_buf out = {0};
    struct felt_err err = {0};
    if (!later->ready) {
        log_line(LOG_DEBUG, "table %s: hand histories read for a client that has gone",
                 later->game);
        goto out;
    }
    struct table *t = lobby_find(later->srv, later->game, strlen(later->game));
    const struct player *viewer =
        t && later->viewer[0] ? table_player_by_id(t, later->viewer, strlen(later->viewer)) : NULL;
    if (!t) {
        http_error(&resp, 404, "unknown_game", "no such game");
    } else if (why || http_hands_body(later->game, rows, n, viewer, &out, &err) != 0) {
        log_line(LOG_ERROR, "table %s: hand histories unreadable: %s", later->game,
                 why ? why : err.message);
        free(out.p);
        http_error(&resp, 500, "store_error", "the hand histories cannot be read right now");
    } else {
        resp.status = 200;
        resp.content_type = "application/json";
        resp.body = msg_from_string(out.p, out.n);
    }
    later->ready(later->ready_arg, &resp);
out:
    free(later);
}

/* A whole number 0..max from name=VALUE in the query, def when name is absent, or -2 when it
 * is there but not such a number (empty, signed, too long, too large). */
static int64_t http_query_number(const char *query, const char *name, int64_t def, int64_t max)
{
    char v[24], *end;
    size_t nlen = strlen(name);
    bool present = false;
    for (const char *q = query; q && *q; q = strchr(q, '&') ? strchr(q, '&') + 1 : NULL)
        present |= strncmp(q, name, nlen) == 0 && q[nlen] == '=';
    if (!present)
        return def;
    if (!http_query(query, name, v, sizeof(v)) || v[0] < '0' || v[0] > '9')
        return -2;
    long long n = strtoll(v, &end, 10);
    return *end || n > max ? -2 : n;
}

/* GET /api/games/{id}/hands?since=HAND_ID&limit=N: the stored hands after since (without it,
 * the newest), oldest first, at most limit (1..100, default 20). With a player's bearer token
 * the answer also shows that player's own hole cards. */
static void http_hands(struct server *srv, struct table *t, const struct http_request *req,
                       struct http_response *resp)
{
    int64_t since = http_query_number(req->query, "since", -1, PROTO_INT_MAX);
    int64_t limit = http_query_number(req->query, "limit", 20, 100);
    if (since == -2 || limit < 1) {
        http_error(resp, 400, "bad_request",
                   "since must be a hand id (a whole number) and limit 1 to 100");
        return;
    }
    if (!srv->store) {
        http_error(resp, 404, "no_histories", "this server keeps no hand histories");
        return;
    }
    struct player *viewer = req->bearer ? table_player_by_token(t, req->bearer) : NULL;
    if (viewer)
        table_seen(t, viewer);
    struct http_later *later = xcalloc(1, sizeof(*later));
    later->srv = srv;
    later->ready = req->ready;
    later->ready_arg = req->ready_arg;
    snprintf(later->game, sizeof(later->game), "%s", table_config(t)->id);
    if (viewer)
        snprintf(later->viewer, sizeof(later->viewer), "%s", viewer->id);
    if (store_hands(srv->store, later->game, since, (int)limit, http_hands_done, later) != 0) {
        free(later);
        http_error(resp, 503, "store_busy", "the hand histories cannot be read right now");
        return;
    }
    resp->later = later;
}

static const struct {
    bool post;           /* POST; otherwise GET (and HEAD) */
    const char *pattern; /* a "*" segment stands for the game id */
    http_fn fn;          /* a GET route, or NULL for a command */
    enum proto_ctype command;
    bool as_player;      /* the command needs a player's bearer token */
} http_routes[] = {
    {false, "/api/games", http_lobby, 0, false},
    {false, "/api/games/*/state", http_state, 0, false},
    {false, "/api/games/*/hands", http_hands, 0, false},
    {true, "/api/games/*/join", NULL, PROTO_C_JOIN, false},
    {true, "/api/games/*/action", NULL, PROTO_C_ACTION, true},
    {true, "/api/games/*/chat", NULL, PROTO_C_CHAT, true},
    {true, "/api/games/*/sit_out", NULL, PROTO_C_SIT_OUT, true},
    {true, "/api/games/*/sit_in", NULL, PROTO_C_SIT_IN, true},
    {true, "/api/games/*/leave", NULL, PROTO_C_LEAVE, true},
    {false, "/healthz", http_healthz, 0, false},
    {false, "/metrics", http_metrics, 0, false},
};

/* Matches path against pattern; with a "*" segment, game and glen locate the game id. */
static bool http_match(const char *pattern, const char *path, const char **game, size_t *glen)
{
    const char *star = strchr(pattern, '*');
    if (!star)
        return strcmp(pattern, path) == 0;
    size_t pre = (size_t)(star - pattern);
    if (strncmp(pattern, path, pre) != 0)
        return false;
    const char *g = path + pre, *slash = strchr(g, '/');
    if (!slash || slash == g)
        return false;
    if (strcmp(star + 1, slash) != 0)
        return false;
    *game = g;
    *glen = (size_t)(slash - g);
    return true;
}

void http_handle(struct server *srv, const struct http_request *req, struct http_response *resp)
{
    bool get_ok = false, post_ok = false;
    memset(resp, 0, sizeof(*resp));
    for (size_t i = 0; i < FELT_ARRAY_LEN(http_routes); i++) {
        const char *game = NULL;
        size_t glen = 0;
        if (!http_match(http_routes[i].pattern, req->path, &game, &glen))
            continue;
        bool post = http_routes[i].post;
        get_ok |= !post;
        post_ok |= post;
        if (post ? req->method != HTTP_POST
                 : req->method != HTTP_GET && req->method != HTTP_HEAD)
            continue;
        struct table *t = NULL;
        if (game) {
            if (!proto_game_id_valid(game, glen) || !(t = lobby_find(srv, game, glen))) {
                http_error(resp, 404, "unknown_game", "no such game");
                return;
            }
            if (table_standby(t)) { /* several nodes: another one plays it */
                http_not_owner(resp, t);
                return;
            }
        }
        if (http_routes[i].fn)
            http_routes[i].fn(srv, t, req, resp);
        else
            http_command(srv, t, req, resp, http_routes[i].command, http_routes[i].as_player);
        return;
    }
    if (get_ok || post_ok) {
        http_error(resp, 405, "method_not_allowed", "wrong method for this path");
        resp->allow = get_ok && post_ok ? "GET, HEAD, POST" : get_ok ? "GET, HEAD" : "POST";
    } else {
        http_error(resp, 404, "not_found", "no such path");
    }
}
