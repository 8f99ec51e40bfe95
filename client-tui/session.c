/*
 * session.c: one seat (or one spectator view) at one table, kept alive across a bad network.
 *
 * A session joins (HTTP POST .../join) or takes back its seat with the stored token, then holds
 * one connection: a WebSocket (wsconn, which reconnects by itself with backoff and jitter) or,
 * when that cannot work, the HTTP polling transport (poll.c). What differs between the two goes
 * through one small interface, struct session_transport_ops, with a WebSocket and a polling
 * implementation below; the rest of the session does not ask which one is in use. Every server
 * message goes to the model and then to the UI's callbacks; replies are dispatched by type
 * through session_replies[].
 *
 * Resume: on each (re)open the session says hello with the token and the seq of the last event
 * the model applied, followed by a ping. The server answers a bad token by closing (4401) before
 * it reads the ping, so the ping's pong (or a snapshot, or any event) proves the hello was
 * accepted: only then is the session CONNECTED and its queue flushed.
 *
 * The outgoing queue (bounded, OUTBOX_MAX) holds what the user typed until the server has
 * confirmed it, across any number of reconnects. Items are written in order, once per
 * connection, after the resume. An action is confirmed by its ack: it carries a request_id,
 * hand_id and decision fixed when it was typed, so writing it again after a reconnect (or after
 * a rate_limited error) is applied at most once, and refused if its hand is over or the table
 * has moved past that decision (the clock acted meanwhile); the refusal reaches the user. Other
 * items (chat, sit_out, sit_in, leave) have no id: each batch of them is followed by a
 * "barrier" ping, and the pong of that ping (replies come back in order) confirms them.
 * Trade-off: such an item whose connection died after the server read it but before the pong
 * came back is sent again (for actions this cannot double anything).
 *
 * Liveness: the session pings every SESSION_PING_MS and times its own pings. A ping unanswered
 * for SESSION_SILENT_MS makes the server "silent" (session_status.silent_ms: the status line's
 * "no answer 12s"), checked every second; at SESSION_DEAD_MS the socket is dropped and made again,
 * as if the network had failed (the outbox is written again after the resume). wsconn bounds each
 * attempt and its upgrade, so every failure leads to the next try, forever, backoff capped at
 * 10 s. Trade-off: a server that answers nothing for 10 s while its TCP connection stands (it is
 * stopped, or a middlebox swallows the traffic) costs a reconnect and a resume.
 *
 * A seat given up (our leave confirmed, or the server closing with 1000 after a leave or a
 * stand-up) is written to the token file as seat -1, so a later start whose token the server
 * refuses says "You left this table" rather than blaming a server restart.
 *
 * Fallback (--transport auto): when a WebSocket attempt fails without ever opening, the session
 * asks the same server over HTTP (GET state, with the token). Unreachable: keep trying (or, before
 * the first success, fail with one clear line). 401: the token is unknown (REJECTED). 200 twice
 * in a row: HTTP works where WebSocket does not, so switch to polling and say so.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client.h"
#include "jval.h"
#include "rng.h"
#include "text.h"
#include "wire.h"
#include "wsclient.h"

#define SESSION_PINGS 16                /* pings whose send time is remembered, for the rtt */
#define SESSION_PING_ID_BASE 1000000000 /* our ping ids, apart from a --json user's small ids */
#define SESSION_FALLBACK_AFTER 2        /* failed upgrades with HTTP answering, then poll */
#define SESSION_URL_MAX 512
_Static_assert(SESSION_SERVERS_MAX == WSCONN_URLS_MAX, "a socket holds every server");
#define SESSION_RETRY_MS 1000 /* after the server said rate_limited */
/* A join every server answered 421 (not_owner: none plays the table now, several nodes) is
 * asked again this often, this many times: longer than a new owner takes (docs/scaling.md). */
#define SESSION_MOVED_RETRY_MS 1000
#define SESSION_MOVED_TRIES 15
#define SESSION_TICK_MS 1000  /* the liveness check (pings go every SESSION_PING_MS) */
#define SESSION_LEFT_MSG "You left this table. Press j to join again."
#define SESSION_UNKNOWN_MSG "the server no longer knows this seat (token rejected)"

struct session {
    struct wsloop *loop;
    struct session_callbacks cb;
    struct model model;

    /* options: the servers (several: the nodes of one cluster, a standby; tried in turn) */
    char ws_bases[SESSION_SERVERS_MAX][SESSION_URL_MAX];   /* ws://HOST:PORT */
    char http_bases[SESSION_SERVERS_MAX][SESSION_URL_MAX]; /* http://HOST:PORT */
    int nservers;
    int cur;                         /* the server in use (or tried next) */
    char ws_base[SESSION_URL_MAX];   /* ws_bases[cur] */
    char http_base[SESSION_URL_MAX]; /* http_bases[cur] */
    char server[SESSION_URL_MAX];    /* the first server: the token store's key */
    char game[PROTO_GAME_ID_MAX + 1];
    char name[PROTO_NAME_MAX_BYTES + 1];
    int64_t buy_in;
    bool spectate;
    bool deflate; /* offer permessage-deflate */
    enum session_transport want;

    /* state */
    bool started;
    enum session_state state;
    const struct session_transport_ops *tp; /* the connection in use (WebSocket or polling) */
    bool fell_back;
    bool ever_connected; /* a connection was accepted once: failures are now "reconnecting" */
    bool resumed;        /* the current connection is accepted (hello went through) */
    bool ws_evented;     /* the open socket has had a game event (the answer to its hello) */
    char reason[160];
    struct token_record tok;
    /* The token of the seat given up, sent with the next join (j): the server seats the same
     * player again with the chips they left with; it ignores a token it does not know. */
    char rejoin_token[PROTO_TOKEN_MAX + 1];
    bool have_token;
    int attempt; /* poll transport's consecutive failures */
    int unreached; /* servers whose join found them unreachable, in a row */
    int connected_to; /* the server of the last connection accepted; -1 before the first */

    struct wsconn *ws;
    int ws_first; /* the server of ws's first URL (its alternates follow in turn) */
    struct wsconn *ws_retired[4]; /* sockets to close from the loop, not from their callback */
    int nretired;
    struct wstimer *retire_timer;
    struct wstimer *retry_timer; /* writes actions again after a rate_limited error */
    bool ws_open;
    int ws_failures[SESSION_SERVERS_MAX]; /* each server's failed upgrades while HTTP answered */
    /* Before the first connection, the servers found down (bit i: server i) or, with --transport
     * ws, refusing WebSocket: FAILED once every one is. */
    unsigned down_mask, refuse_mask;
    struct wshttp *probe_req; /* the HTTP probe after a failed upgrade, while in flight */
    int probe_server;         /* ... of that server */
    int64_t hello_ping; /* ping sent right after hello (0: none outstanding) */

    struct poll *poll;

    struct wstimer *start_timer; /* the start; again, after every server answered 421 */
    int join_moved;              /* joins answered 421 by every server, in a row */
    bool join_421;               /* a server answered 421 in this round of joins */
    struct wstimer *ping_timer; /* every SESSION_TICK_MS: pings and the liveness check */
    int64_t ping_due_us;        /* when the next periodic ping goes */
    bool silent;                /* a ping of ours has waited SESSION_SILENT_MS (last emitted) */
    bool silence_drop;          /* the socket was dropped for silence: the reason says so */
    bool left;                  /* REJECTED, and the token file says the seat was given up */
    int64_t next_ping;
    struct {
        int64_t id, sent_us;
    } pings[SESSION_PINGS];
    int ping_next;
    int64_t rtt_ms;

    struct outbox ob;

    struct wshttp *join_req; /* POST .../join, while in flight */
};

static void session_connect(struct session *s);
static int session_join(struct session *s);

/* The connection under the session: a WebSocket (wsconn, with hello and pings) or HTTP polling
 * (poll.c). What the session does differently on the two goes through this interface; the
 * implementations are the "WebSocket transport" and "polling transport" sections below. */
struct session_transport_ops {
    enum session_transport kind; /* WS or POLL */
    /* Writes what is unsent in the outbox (the session is CONNECTED). */
    void (*flush)(struct session *s);
    /* Missed events: resume from the model's last seq. */
    void (*resync)(struct session *s);
    /* After each server message was applied. */
    void (*received)(struct session *s);
    /* Every SESSION_PING_MS while resumed (round-trip time, confirmations). */
    void (*tick)(struct session *s);
    /* A --json user's own ping; 0, or -1 with err. */
    int (*ping)(struct session *s, int64_t id, struct felt_err *err);
    /* Reconnect attempt and ms until it, while RECONNECTING. */
    void (*retry_info)(const struct session *s, int *attempt, int64_t *next_ms);
    /* Whether this message type can be sent at all (by a spectator, when spectator is set). */
    bool (*can_send)(enum proto_ctype t, bool spectator);
};
static const struct session_transport_ops session_ws_transport, session_poll_transport;
static void session_flush(struct session *s);
static void session_start_fire(void *arg);
static void session_ws_begin(struct session *s);
static void session_set_state(struct session *s, enum session_state st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- small helpers --------------------------------------------------------------------- */

static const char *const session_state_names[] = {
    [SESSION_CONNECTING] = "connecting",     [SESSION_CONNECTED] = "connected",
    [SESSION_RECONNECTING] = "reconnecting", [SESSION_OFFLINE] = "offline",
    [SESSION_REJECTED] = "rejected",         [SESSION_FAILED] = "failed",
};

const char *session_state_name(enum session_state st)
{
    return (unsigned)st < FELT_ARRAY_LEN(session_state_names) ? session_state_names[st] : "unknown";
}

const char *session_transport_name(enum session_transport t)
{
    static const char *const names[] = {[SESSION_TRANSPORT_AUTO] = "auto",
                                        [SESSION_TRANSPORT_WS] = "ws",
                                        [SESSION_TRANSPORT_POLL] = "poll"};
    return (unsigned)t < FELT_ARRAY_LEN(names) ? names[t] : "unknown";
}

static bool session_terminal(const struct session *s)
{
    return s->state == SESSION_OFFLINE || s->state == SESSION_REJECTED ||
           s->state == SESSION_FAILED;
}

static void session_emit_state(struct session *s)
{
    struct session_status st;
    if (!s->cb.on_state) return;
    session_status(s, &st);
    s->cb.on_state(s->cb.user, &st);
}

static void session_set_state(struct session *s, enum session_state st, const char *fmt, ...)
{
    char raw[sizeof(s->reason)];
    struct felt_err err;
    va_list ap;
    raw[0] = '\0';
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(raw, sizeof(raw), fmt, ap);
        va_end(ap);
    }
    /* Reasons may quote the server (close reasons, error messages): sanitize like any text. */
    if (text_sanitize(raw, strnlen(raw, sizeof(raw) - 1), s->reason, sizeof(s->reason),
                      sizeof(s->reason), &err) < 0)
        snprintf(s->reason, sizeof(s->reason), "?");
    s->state = st;
    session_emit_state(s);
}

static void session_notice(struct session *s, enum session_notice_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void session_notice(struct session *s, enum session_notice_kind kind, const char *fmt, ...)
{
    char raw[MODEL_LOG_LINE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    model_log_add(&s->model, MODEL_LOG_CLIENT, "%s", raw);
    /* The log line is the sanitized form: hand that one to the UI. */
    const struct model_log_line *l = model_log_get(&s->model, s->model.log_count - 1);
    if (s->cb.on_notice) s->cb.on_notice(s->cb.user, kind, l ? l->text : "");
    if (s->cb.on_change) s->cb.on_change(s->cb.user);
}

static void session_retire_fire(void *arg)
{
    struct session *s = arg;
    while (s->nretired > 0)
        wsconn_close(s->ws_retired[--s->nretired], 1000, "bye");
}

/* Lets go of the current socket: no callback of it is acted on from now (they check c ==
 * s->ws), and it is closed from a 0 ms timer, since it may be inside one of its own callbacks. */
static void session_ws_retire(struct session *s)
{
    if (!s->ws) return;
    if (s->nretired == (int)FELT_ARRAY_LEN(s->ws_retired))
        session_retire_fire(s); /* never inside a callback of those: they were retired before */
    s->ws_retired[s->nretired++] = s->ws;
    s->ws = NULL;
    s->ws_open = false;
    wshttp_cancel(s->probe_req); /* its verdict was about the retired socket */
    s->probe_req = NULL;
    wstimer_arm(s->retire_timer, 0);
}

/* The server refused our token (4401, HTTP 401). If the token file says the seat was given up
 * (seat -1: we left, or were stood up), that is what the player is told; otherwise the server
 * forgot the seat (a restart without its data). Either way session_rejoin() joins afresh. */
static void session_rejected(struct session *s)
{
    s->left = s->have_token && s->tok.seat < 0;
    session_set_state(s, SESSION_REJECTED, "%s", s->left ? SESSION_LEFT_MSG : SESSION_UNKNOWN_MSG);
    if (s->left) session_notice(s, SESSION_NOTICE_INFO, "%s", SESSION_LEFT_MSG);
}

/* The server read our leave (its barrier pong, or the POST's answer), or closed the seat's socket
 * for good after a leave or a stand-up: the token no longer holds a seat (a leave mid-hand takes
 * effect when the hand ends, but cannot be taken back), and the token file says so (seat -1)
 * for the next start. */
static void session_seat_given_up(struct session *s)
{
    struct felt_err err;
    if (s->spectate || !s->have_token || s->tok.seat < 0) return;
    s->tok.seat = -1;
    if (token_save(s->server, s->game, s->name, &s->tok, &err) != 0)
        session_notice(s, SESSION_NOTICE_ERROR, "Could not update the seat's token file (%s)",
                       err.message);
}

/* Splits a server URL into ws_bases[i] and http_bases[i] (wsurl_parse, the one URL parser,
 * checks the scheme, host and port); the path must be empty or "/". */
static int session_parse_url_into(const char *url, char ws[SESSION_URL_MAX],
                                  char http[SESSION_URL_MAX], struct felt_err *err)
{
    struct wsurl u;
    char why[sizeof(err->message)];
    if (wsurl_parse(&u, url, why, sizeof(why)) != 0 ||
        wsurl_usable(&u, url, why, sizeof(why)) != 0)
        return felt_err_set(err, "bad_url", "%s", why);
    if (u.path[0] && strcmp(u.path, "/") != 0)
        return felt_err_set(err, "bad_url", "'%.60s': give only ws://HOST:PORT, no path", url);
    snprintf(ws, SESSION_URL_MAX, "%s%.*s", u.tls ? "wss://" : "ws://", (int)u.authority_len,
             u.authority);
    snprintf(http, SESSION_URL_MAX, "%s%.*s", u.tls ? "https://" : "http://",
             (int)u.authority_len, u.authority);
    return 0;
}

static int session_parse_url(struct session *s, int i, const char *url, struct felt_err *err)
{
    return session_parse_url_into(url, s->ws_bases[i], s->http_bases[i], err);
}

/* Several nodes: a server URL the server named (a join's answer, a 421's "owner" and
 * "servers"), added after those given while there is room, and only of the first one's scheme
 * (never a ws:// learned from a wss:// server). Returns its index (also when known already), or
 * -1 when it was not taken. */
static int session_learn_server(struct session *s, const char *url)
{
    struct felt_err err;
    char ws[SESSION_URL_MAX], http[SESSION_URL_MAX];
    if (!url || session_parse_url_into(url, ws, http, &err) != 0)
        return -1;
    if ((strncmp(ws, "wss://", 6) == 0) != (strncmp(s->ws_bases[0], "wss://", 6) == 0))
        return -1;
    for (int k = 0; k < s->nservers; k++)
        if (strcmp(s->ws_bases[k], ws) == 0)
            return k;
    if (s->nservers == SESSION_SERVERS_MAX)
        return -1;
    snprintf(s->ws_bases[s->nservers], SESSION_URL_MAX, "%s", ws);
    snprintf(s->http_bases[s->nservers], SESSION_URL_MAX, "%s", http);
    return s->nservers++;
}

/* The same for every string of a JSON array ("servers"); NULL or not an array: nothing. */
static void session_learn_servers(struct session *s, struct json_object *list)
{
    if (!list || !json_object_is_type(list, json_type_array))
        return;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        struct json_object *u = json_object_array_get_idx(list, i);
        if (json_object_is_type(u, json_type_string))
            session_learn_server(s, json_object_get_string(u));
    }
}

/* A 421 (not_owner)'s body: its owner learned first (so that it has room), then the other
 * nodes it names. Returns the owner's index, or -1. */
static int session_learn_421(struct session *s, const char *body)
{
    struct json_object *e = body ? json_tokener_parse(body) : NULL, *data = NULL, *list;
    int owner = -1;
    if (e && json_object_object_get_ex(e, "data", &data)) {
        owner = session_learn_server(s, jval_str(data, "owner"));
        if (json_object_object_get_ex(data, "servers", &list))
            session_learn_servers(s, list);
    }
    json_object_put(e);
    return owner;
}

/* Server i is the one in use from now on (its bases are what requests and messages name). */
static void session_use_server(struct session *s, int i)
{
    s->cur = i;
    snprintf(s->ws_base, sizeof(s->ws_base), "%s", s->ws_bases[i]);
    snprintf(s->http_base, sizeof(s->http_base), "%s", s->http_bases[i]);
}

/* The join could not reach the server in use: with another not yet tried, true (that one is in
 * use now); false when every one failed. */
static bool session_next_server(struct session *s)
{
    if (++s->unreached >= s->nservers) return false;
    session_use_server(s, (s->cur + 1) % s->nservers);
    return true;
}

void session_unreachable_text(char *out, size_t outsz, const char *url, const char *error,
                              const char *ca_file)
{
    if (!error || strcmp(error, WSCLIENT_CERT_UNVERIFIED) != 0)
        snprintf(out, outsz, "cannot reach the server at %s: %s", url, error ? error : "no answer");
    else if (ca_file)
        snprintf(out, outsz,
                 "cannot verify the TLS certificate of %s with the CA file '%.60s' (not signed "
                 "by it, or for another host)",
                 url, ca_file);
    else
        snprintf(out, outsz,
                 "cannot verify the TLS certificate of %s (not from a trusted CA, or for another "
                 "host); if you trust it, use --ca FILE",
                 url);
}

/* The first connection failed for good: FAILED with session_unreachable_text's line about the
 * server tried last (server i), after "none of the N servers answers; " when there are several
 * (the other failures said why in the connection's states). */
static void session_unreachable(struct session *s, int i, const char *error)
{
    char why[sizeof(s->reason)];
    session_unreachable_text(why, sizeof(why), s->ws_bases[i], error, wsloop_ca_file(s->loop));
    if (s->nservers > 1)
        session_set_state(s, SESSION_FAILED, "none of the %d servers answers; %s", s->nservers,
                          why);
    else
        session_set_state(s, SESSION_FAILED, "%s", why);
}

/* ---- HTTP requests (cancelled by session_close and session_free) ----------------------- */

/* Starts a request to http_base + path; the session keeps the handle and forgets it in done. */
static struct wshttp *session_http(struct session *s, const char *path, const char *body,
                                   bool auth, void (*done)(void *arg, const struct wshttp_result *r))
{
    char url[SESSION_URL_MAX * 2];
    snprintf(url, sizeof(url), "%s%s", s->http_base, path);
    return wshttp_start(s->loop, url, body, auth && s->have_token ? s->tok.token : NULL, done, s);
}

/* The "message" of an error envelope in an HTTP answer, or a fallback. */
static void session_http_reason(const struct wshttp_result *r, char *out, size_t outsz)
{
    struct proto_smsg m = {0};
    struct felt_err err;
    snprintf(out, outsz, "HTTP %d", r->status);
    struct wire_event ev;
    if (r->body && proto_decode_server(r->body, r->body_len, &m, &err) == 0 &&
        m.type == PROTO_S_ERROR && wire_decode(&m, &ev, &err) == 0 && ev.u.error.message[0])
        snprintf(out, outsz, "%.*s", (int)(outsz > 0 ? outsz - 1 : 0), ev.u.error.message);
    proto_smsg_clear(&m);
}

/* ---- pings ----------------------------------------------------------------------------- */

/* Queues {"type":"ping","id":id} on the socket. Returns 0, or -1 when its queue is full. */
static int session_ping_write(struct session *s, int64_t id)
{
    struct proto_cmsg m;
    memset(&m, 0, sizeof(m));
    m.type = PROTO_C_PING;
    m.has_ping_id = true;
    m.ping_id = id;
    char *msg = proto_encode_client(&m);
    int rc = wsconn_send(s->ws, msg, strlen(msg));
    free(msg);
    return rc;
}

/* Writes a ping now (behind what is already queued on the socket). Returns its id or 0. */
static int64_t session_ping_send(struct session *s)
{
    if (!s->ws || !s->ws_open) return 0;
    int64_t id = SESSION_PING_ID_BASE + ++s->next_ping;
    if (session_ping_write(s, id) != 0) return 0;
    s->pings[s->ping_next].id = id;
    s->pings[s->ping_next].sent_us = felt_mono_us();
    s->ping_next = (s->ping_next + 1) % SESSION_PINGS;
    return id;
}

/* Writes a ping whose pong will confirm every non-action item written so far and not yet
 * covered (actions are confirmed by their ack). If the socket's queue is full the items stay
 * uncovered and the next ping (rtt timer) covers them. */
static void session_barrier(struct session *s)
{
    int64_t id = session_ping_send(s);
    for (size_t i = 0; id && i < s->ob.n; i++)
        if (s->ob.e[i].it.sent && s->ob.e[i].barrier == 0 && s->ob.e[i].it.type != PROTO_C_ACTION)
            s->ob.e[i].barrier = id;
}

/* How long our oldest unanswered ping on the current socket has waited (0: none waiting). */
static int64_t session_ping_age_ms(const struct session *s)
{
    int64_t oldest = 0, now = felt_mono_us();
    if (s->tp != &session_ws_transport || !s->ws || !s->ws_open) return 0;
    for (int i = 0; i < SESSION_PINGS; i++)
        if (s->pings[i].id != 0 && (oldest == 0 || s->pings[i].sent_us < oldest))
            oldest = s->pings[i].sent_us;
    return oldest ? (now - oldest) / 1000 : 0;
}

/* The socket is gone: its pings will never be answered. */
static void session_pings_forget(struct session *s)
{
    for (int i = 0; i < SESSION_PINGS; i++)
        s->pings[i].id = 0;
    s->silent = false;
}

/* Every SESSION_TICK_MS: a silent server is shown (each second, so the count goes up), a dead
 * one dropped; every SESSION_PING_MS while resumed, the transport's tick (a ping). */
static void session_ping_fire(void *arg)
{
    struct session *s = arg;
    int64_t age = session_ping_age_ms(s);
    if (age >= SESSION_DEAD_MS && !s->silence_drop) { /* once: the drop ends at lws's next turn */
        session_notice(s, SESSION_NOTICE_ERROR,
                       "No answer from the server for %lld s; reconnecting",
                       (long long)(age / 1000));
        s->silence_drop = true;
        wsconn_drop(s->ws); /* on_close follows from the loop: RECONNECTING */
    } else if (age < SESSION_DEAD_MS && (age >= SESSION_SILENT_MS || s->silent)) {
        s->silent = age >= SESSION_SILENT_MS;
        session_emit_state(s);
    }
    if (s->resumed && felt_mono_us() >= s->ping_due_us) {
        s->ping_due_us = felt_mono_us() + (int64_t)SESSION_PING_MS * 1000;
        s->tp->tick(s);
    }
    if (!session_terminal(s)) wstimer_arm(s->ping_timer, SESSION_TICK_MS);
}

/* ---- resume and flushing --------------------------------------------------------------- */

static void session_resumed(struct session *s)
{
    if (s->resumed) return;
    s->resumed = true;
    if (s->connected_to >= 0 && s->connected_to != s->cur)
        session_notice(s, SESSION_NOTICE_INFO, "Now connected to %s (%s did not answer)",
                       s->ws_base, s->ws_bases[s->connected_to]);
    s->connected_to = s->cur;
    s->ever_connected = true;
    s->ping_due_us = felt_mono_us() + (int64_t)SESSION_PING_MS * 1000; /* hello's ping just went */
    memset(s->ws_failures, 0, sizeof(s->ws_failures));
    s->unreached = 0;
    s->down_mask = s->refuse_mask = 0;
    s->attempt = 0;
    session_set_state(s, SESSION_CONNECTED, NULL);
    session_flush(s);
}

/* Writes every unsent item, in order, once the connection is accepted. */
static void session_flush(struct session *s)
{
    if (!s->resumed || s->state != SESSION_CONNECTED) return;
    s->tp->flush(s);
}

/* WebSocket: every unsent item goes out now, then a barrier ping for those without an id. */
static void session_ws_flush(struct session *s)
{
    bool wrote = false;
    for (size_t i = 0; i < s->ob.n; i++) {
        struct outbox_item *e = &s->ob.e[i].it;
        if (e->sent) continue;
        char *msg = outbox_item_encode(e);
        int rc = wsconn_send(s->ws, msg, strlen(msg));
        free(msg);
        if (rc != 0) break; /* the socket's queue is full: the rest waits for the next flush */
        e->sent = true;
        wrote = wrote || e->type != PROTO_C_ACTION;
    }
    if (wrote) session_barrier(s);
    session_emit_state(s);
}

static void session_retry_fire(void *arg)
{
    session_flush(arg);
}

static void session_queued_changed(struct session *s)
{
    session_emit_state(s);
    if (s->cb.on_change) s->cb.on_change(s->cb.user);
}

/* ---- replies (ack, error, pong), by type ----------------------------------------------- */

/* A reply decoded by the one decoder (common/wire.c); false (and nothing done) when the server
 * sent one it refuses. */
static bool session_reply(const struct proto_smsg *m, struct wire_event *ev)
{
    struct felt_err err;
    return wire_decode(m, ev, &err) == 0;
}

static void session_on_ack(struct session *s, const struct proto_smsg *m)
{
    struct wire_event ev;
    if (!session_reply(m, &ev)) return;
    const char *rid = ev.u.ack.has_request_id ? ev.u.ack.request_id : NULL;
    bool accepted = ev.u.ack.accepted;
    const char *msg = ev.u.ack.message[0] ? ev.u.ack.message : "refused";
    for (size_t i = 0; rid && rid[0] && i < s->ob.n; i++) {
        if (s->ob.e[i].it.type != PROTO_C_ACTION || strcmp(s->ob.e[i].it.request_id, rid) != 0) continue;
        char what[48];
        outbox_item_what(&s->ob.e[i].it, what, sizeof(what));
        /* An action queued for a hand that a server restart voided: said in plain words
         * ("your check was for hand 41, which was voided"), since the player did nothing wrong. */
        if (!accepted && strcmp(ev.u.ack.code, "hand_voided") == 0 && s->ob.e[i].it.has_hand_id)
            session_notice(s, SESSION_NOTICE_REFUSED,
                           "Your %s was for hand %lld, which was voided (its server stopped)", what,
                           (long long)s->ob.e[i].it.hand_id);
        else if (!accepted && strcmp(ev.u.ack.code, "stale_hand") == 0 &&
                 s->ob.e[i].it.has_hand_id && s->ob.e[i].it.hand_id <= s->model.hand_id)
            session_notice(s, SESSION_NOTICE_REFUSED,
                           "Your %s was not made: hand %lld was over before it arrived", what,
                           (long long)s->ob.e[i].it.hand_id);
        else if (!accepted && strcmp(ev.u.ack.code, "stale_decision") == 0)
            session_notice(s, SESSION_NOTICE_REFUSED,
                           "Your %s was not made: the table had moved on before it arrived", what);
        else if (!accepted)
            session_notice(s, SESSION_NOTICE_REFUSED, "Your %s was refused: %s", what, msg);
        outbox_remove(&s->ob, i);
        session_queued_changed(s);
        return;
    }
    /* An ack of an action sent some other way (a --json bot's own request_id), or refused. */
    if (!accepted) session_notice(s, SESSION_NOTICE_REFUSED, "Action refused: %s", msg);
}

static void session_on_error(struct session *s, const struct proto_smsg *m)
{
    struct wire_event ev;
    if (!session_reply(m, &ev)) return;
    const char *msg = ev.u.error.message[0] ? ev.u.error.message : "error";
    const char *code = ev.u.error.code;
    session_notice(s, SESSION_NOTICE_ERROR, "Server: %s", msg);
    if (strcmp(code, "rate_limited") == 0) {
        /* The server dropped something of ours. Errors do not say what, so every action not
         * yet acked is written again in a second (request_ids make that safe). Trade-off: a
         * dropped chat line is not retried (it has no id; retrying could double it). */
        bool any = false;
        for (size_t i = 0; i < s->ob.n; i++)
            if (s->ob.e[i].it.type == PROTO_C_ACTION && s->ob.e[i].it.sent) {
                s->ob.e[i].it.sent = false;
                any = true;
            }
        if (any) wstimer_arm(s->retry_timer, SESSION_RETRY_MS);
    }
}

static void session_on_pong(struct session *s, const struct proto_smsg *m)
{
    struct wire_event ev;
    if (!session_reply(m, &ev)) return;
    int64_t id = ev.u.pong_id;
    bool ours = false;
    for (int i = 0; i < SESSION_PINGS; i++)
        if (s->pings[i].id == id && id != 0) {
            s->rtt_ms = (felt_mono_us() - s->pings[i].sent_us + 500) / 1000;
            ours = true;
        }
    /* Replies come in order: every ping of ours up to this one has been answered. */
    for (int i = 0; ours && i < SESSION_PINGS; i++)
        if (s->pings[i].id != 0 && s->pings[i].id <= id) s->pings[i].id = 0;
    if (ours && s->silent) {
        s->silent = false;
        session_notice(s, SESSION_NOTICE_INFO, "The server answers again");
    }
    if (!ours) return; /* a --json user's own ping */
    if (id == s->hello_ping) {
        s->hello_ping = 0;
        session_resumed(s);
    }
    /* Everything written before this ping has been read by the server (ids increase). */
    bool changed = false;
    for (size_t i = 0; i < s->ob.n;) {
        if (s->ob.e[i].it.sent && s->ob.e[i].it.type != PROTO_C_ACTION && s->ob.e[i].barrier != 0 &&
            s->ob.e[i].barrier <= id) {
            if (s->ob.e[i].it.type == PROTO_C_LEAVE) session_seat_given_up(s);
            outbox_remove(&s->ob, i);
            changed = true;
        } else {
            i++;
        }
    }
    if (changed)
        session_queued_changed(s);
    else
        session_emit_state(s); /* the rtt changed */
}

static void session_on_event(struct session *s, const struct proto_smsg *m)
{
    (void)m;
    /* Any event after hello proves it was accepted (a snapshot, or the first replayed one). */
    session_resumed(s);
}

/* A snapshot of another epoch on a socket that had events already (not the answer to our hello,
 * after which every unsent item is flushed anyway): the table is played by another server run now
 * (several nodes: the node this socket reached carried it to the new owner, docs/scaling.md),
 * and an action written before may have reached only the old one, which will never answer.
 * Every action still waiting for its ack is written again (its request_id and hand_id make that
 * safe: the new owner applies none twice and answers one for a voided hand "hand_voided"). */
static void session_epoch_changed(struct session *s)
{
    bool any = false;
    for (size_t i = 0; i < s->ob.n; i++)
        if (s->ob.e[i].it.type == PROTO_C_ACTION && s->ob.e[i].it.sent) {
            s->ob.e[i].it.sent = false;
            any = true;
        }
    if (any) session_flush(s);
}

static const struct {
    void (*fn)(struct session *s, const struct proto_smsg *m);
} session_replies[PROTO_S_COUNT] = {
    [PROTO_S_SNAPSHOT] = {session_on_event},  [PROTO_S_STATE_UPDATE] = {session_on_event},
    [PROTO_S_ANIMATION] = {session_on_event}, [PROTO_S_NOTIFICATION] = {session_on_event},
    [PROTO_S_CHAT] = {session_on_event},      [PROTO_S_ACK] = {session_on_ack},
    [PROTO_S_ERROR] = {session_on_error},     [PROTO_S_PONG] = {session_on_pong},
};

/* One raw server message from either transport. */
static void session_message(struct session *s, const char *raw, size_t len)
{
    struct proto_smsg m = {0};
    struct felt_err err;
    if (proto_decode_server(raw, len, &m, &err) != 0) {
        session_notice(s, SESSION_NOTICE_ERROR, "Ignored a malformed server message (%s)",
                       err.code);
        return;
    }
    char epoch[sizeof(s->model.epoch)];
    memcpy(epoch, s->model.epoch, sizeof(epoch));
    /* Not the answer to our own hello (the socket's first event): that one flushes anyway. */
    bool settled = s->tp == &session_ws_transport && s->ws_evented;
    if (proto_stype_is_event(m.type))
        s->ws_evented = true;
    enum model_result r = model_apply(&s->model, &m);
    if (s->cb.on_received) s->cb.on_received(s->cb.user, &m, r);
    if (r == MODEL_GAP) {
        /* Missed an event: resume from the last one we have (the server replays the rest). */
        session_notice(s, SESSION_NOTICE_INFO, "Missed events; resynchronising");
        s->tp->resync(s);
        proto_smsg_clear(&m);
        return;
    }
    if (s->cb.on_message) s->cb.on_message(s->cb.user, &m, raw, len);
    session_replies[m.type].fn(s, &m);
    if (settled && m.type == PROTO_S_SNAPSHOT && epoch[0] && strcmp(epoch, s->model.epoch) != 0)
        session_epoch_changed(s);
    s->tp->received(s);
    if (s->cb.on_change) s->cb.on_change(s->cb.user);
    proto_smsg_clear(&m);
}

/* ---- polling transport ----------------------------------------------------------------- */

static void session_poll_event(void *user, const char *raw, size_t len)
{
    session_message(user, raw, len);
}

/* 421 Misdirected Request ("not_owner"): this server does not play the table now (another node
 * of the same cluster does). For felt the same as a server that does not answer: another of its
 * --server URLs may; what was being sent is sent again there. */
static int session_http_status(int status)
{
    return status == 421 ? 0 : status;
}

static void session_poll_result(void *user, int status, const char *error, int64_t rtt_ms)
{
    struct session *s = user;
    if (status == 421) error = "the table is played on another server";
    status = session_http_status(status);
    if (session_terminal(s)) return;
    if (status == 200) {
        s->rtt_ms = rtt_ms;
        session_resumed(s);
        session_flush(s);
        session_emit_state(s);
        return;
    }
    s->resumed = false;
    if (status == 401) {
        poll_stop(s->poll);
        session_rejected(s);
        return;
    }
    /* Down: the next polls go to the next server (poll.c backs off as for one). Before the first
     * connection, felt fails once every server was found down. */
    if (status == 0 && s->nservers > 1) {
        unsigned all = (1u << s->nservers) - 1;
        int down = s->cur;
        s->down_mask |= 1u << down;
        if (!s->ever_connected && (s->down_mask & all) == all) {
            poll_stop(s->poll);
            session_unreachable(s, down, error);
            return;
        }
        session_use_server(s, (down + 1) % s->nservers);
        poll_set_base(s->poll, s->http_base);
    }
    if (!s->ever_connected) {
        if (status == 0 && s->nservers > 1) {
            session_emit_state(s);
            return;
        }
        poll_stop(s->poll);
        if (status == 0)
            session_unreachable(s, s->cur, error);
        else if (status == 404)
            session_set_state(s, SESSION_FAILED, "the server has no game '%s'", s->game);
        else
            session_set_state(s, SESSION_FAILED, "the server answered HTTP %d", status);
        return;
    }
    s->attempt++;
    outbox_unsend(&s->ob);
    session_set_state(s, SESSION_RECONNECTING, "%s",
                      status == 0 ? (error ? error : "no answer") : "the server refused a poll");
}

static void session_poll_posted(void *user, int status, const char *body, size_t len)
{
    struct session *s = user;
    if (s->ob.n == 0 || !s->ob.e[0].it.sent) return;
    if (session_http_status(status) == 0) {
        /* Unknown whether it arrived: write it again with the next successful poll (an action
         * keeps its request_id, so the server applies it at most once). */
        s->ob.e[0].it.sent = false;
        return;
    }
    if (status == 401) {
        session_poll_result(s, 401, NULL, 0);
        return;
    }
    struct outbox_item it = s->ob.e[0].it;
    struct proto_smsg m = {0};
    struct felt_err err;
    /* An ack or error envelope is a server message like any other (an ack removes its action
     * from the queue); the chat answer {"ok":true} is not an envelope. */
    if (body && len > 0 && proto_decode_server(body, len, &m, &err) == 0) {
        proto_smsg_clear(&m);
        session_message(s, body, len);
    } else if (status != 200) {
        char what[48];
        session_notice(s, SESSION_NOTICE_ERROR, "Your %s failed: HTTP %d",
                       outbox_item_what(&it, what, sizeof(what)), status);
    }
    if (it.type == PROTO_C_LEAVE && status == 200) session_seat_given_up(s);
    if (s->ob.n > 0 && s->ob.e[0].it.sent && s->ob.e[0].it.type == it.type &&
        strcmp(s->ob.e[0].it.request_id, it.request_id) == 0 && strcmp(s->ob.e[0].it.text, it.text) == 0)
        outbox_remove(&s->ob, 0);
    session_queued_changed(s);
    session_flush(s);
}

/* Polling: one POST at a time, in order: only the head can be in flight. */
static void session_poll_flush(struct session *s)
{
    if (s->ob.n > 0 && !s->ob.e[0].it.sent && !poll_busy(s->poll) &&
        poll_post(s->poll, &s->ob.e[0].it) == 0)
        s->ob.e[0].it.sent = true;
}

static void session_poll_resync(struct session *s)
{
    poll_start(s->poll, s->model.has_seq, s->model.last_seq, s->model.epoch);
}

/* The next poll asks from the last event applied; on our turn, soon. */
static void session_poll_received(struct session *s)
{
    if (s->model.has_seq) poll_set_since(s->poll, s->model.last_seq, s->model.epoch);
    if (model_my_turn(&s->model)) poll_hurry(s->poll);
}

/* Each poll measures the round trip and each POST answer confirms its item: nothing to do. */
static void session_poll_tick(struct session *s)
{
    (void)s;
}

static int session_poll_ping(struct session *s, int64_t id, struct felt_err *err)
{
    (void)s;
    (void)id;
    return felt_err_set(err, "unsupported", "ping is not available over HTTP polling");
}

static void session_poll_retry_info(const struct session *s, int *attempt, int64_t *next_ms)
{
    if (!s->poll || s->state != SESSION_RECONNECTING) return;
    *attempt = s->attempt;
    *next_ms = poll_next_ms(s->poll);
}

/* The HTTP API takes a player's action, chat, sit_out, sit_in and leave (with the token), and
 * nothing from a spectator. */
static bool session_poll_can_send(enum proto_ctype t, bool spectator)
{
    (void)t;
    return !spectator;
}

static const struct session_transport_ops session_poll_transport = {
    .kind = SESSION_TRANSPORT_POLL,
    .flush = session_poll_flush,
    .resync = session_poll_resync,
    .received = session_poll_received,
    .tick = session_poll_tick,
    .ping = session_poll_ping,
    .retry_info = session_poll_retry_info,
    .can_send = session_poll_can_send,
};

static void session_poll_begin(struct session *s)
{
    static const struct poll_callbacks pcb = {0};
    struct poll_callbacks cb = pcb;
    cb.user = s;
    cb.on_event = session_poll_event;
    cb.on_result = session_poll_result;
    cb.on_posted = session_poll_posted;
    poll_free(s->poll);
    s->tp = &session_poll_transport;
    s->resumed = false;
    s->poll = poll_new(s->loop, s->http_base, s->game, s->have_token ? s->tok.token : NULL, &cb);
    outbox_unsend(&s->ob);
    /* What the new transport cannot send is dropped, and the user told. */
    for (size_t i = 0; i < s->ob.n;) {
        enum proto_ctype t = s->ob.e[i].it.type;
        if (s->tp->can_send(t, s->spectate)) {
            i++;
            continue;
        }
        session_notice(s, SESSION_NOTICE_ERROR, "Your %s was dropped: not available over HTTP",
                       proto_ctype_name(t));
        outbox_remove(&s->ob, i);
    }
    poll_start(s->poll, s->model.has_seq, s->model.last_seq, s->model.epoch);
}

/* ---- WebSocket transport --------------------------------------------------------------- */

static void session_ws_open(struct wsconn *c, void *user)
{
    struct session *s = user;
    struct proto_cmsg m;
    if (c != s->ws) return; /* a connection we already closed */
    s->ws_open = true;
    s->resumed = false;
    s->ws_evented = false;
    memset(&m, 0, sizeof(m));
    if (!s->spectate) {
        m.type = PROTO_C_HELLO;
        snprintf(m.token, sizeof(m.token), "%s", s->tok.token);
        m.has_last_seq = s->model.has_seq;
        m.last_seq = s->model.last_seq;
        snprintf(m.epoch, sizeof(m.epoch), "%s", s->model.epoch); /* a restart: a snapshot */
        char *hello = proto_encode_client(&m);
        wsconn_send_first(c, hello, strlen(hello));
        explicit_bzero(hello, strlen(hello));
        free(hello);
    }
    /* The pong proves the hello was accepted (a refused hello closes before the ping is read). */
    s->hello_ping = session_ping_send(s);
}

static void session_ws_message(struct wsconn *c, void *user, const char *buf, size_t len)
{
    struct session *s = user;
    if (c == s->ws) session_message(s, buf, len);
}

/* The probe after a failed upgrade says what the server it asked (probe_server, not
 * necessarily the one the socket tries next) is: down, refusing our token, without the game, or
 * answering HTTP while the WebSocket does not get through (then, with auto, polling it). Before
 * the first connection felt fails once every server is down (or, with --transport ws, refuses
 * WebSocket). */
static void session_probe_done(void *arg, const struct wshttp_result *r)
{
    struct session *s = arg;
    int i = s->probe_server;
    unsigned all = (1u << s->nservers) - 1, bit = 1u << i;
    s->probe_req = NULL;
    if (session_terminal(s) || s->tp != &session_ws_transport || !s->ws || s->ws_open) return;
    int status = r->status;
    if (status == 421) {
        /* Another node plays the table now. When this one names it (or nodes the socket does
         * not know), a new socket starts there; else this one tries on through its list. */
        int before = s->nservers, owner = session_learn_421(s, r->body);
        if (s->nservers != before || (owner >= 0 && owner != s->ws_first)) {
            session_ws_retire(s);
            session_use_server(s, owner >= 0 ? owner : s->cur);
            session_ws_begin(s);
        }
        session_emit_state(s);
        return;
    }
    if (status == 401) {
        session_ws_retire(s);
        session_rejected(s);
        return;
    }
    if (status == 0 || status >= 500) {
        s->ws_failures[i] = 0;
        s->down_mask |= bit;
        if (!s->ever_connected && (s->down_mask | s->refuse_mask) == all) {
            session_ws_retire(s);
            session_unreachable(s, i, r->error);
        } else {
            session_emit_state(s);
        }
        return;
    }
    s->down_mask &= ~bit;
    if (status == 404 && !s->ever_connected) {
        session_ws_retire(s);
        session_set_state(s, SESSION_FAILED, "the server has no game '%s'", s->game);
        return;
    }
    if (status != 200) {
        session_emit_state(s);
        return;
    }
    /* HTTP works and knows us; the WebSocket does not get through. */
    if (++s->ws_failures[i] < SESSION_FALLBACK_AFTER || s->want != SESSION_TRANSPORT_AUTO) {
        if (s->want == SESSION_TRANSPORT_WS && !s->ever_connected) {
            s->refuse_mask |= bit;
            if ((s->down_mask | s->refuse_mask) != all) {
                session_emit_state(s);
                return;
            }
            session_ws_retire(s);
            session_set_state(s, SESSION_FAILED,
                              "the server at %s refuses WebSocket connections (try "
                              "--transport poll)",
                              s->ws_bases[i]);
        } else {
            session_emit_state(s);
        }
        return;
    }
    session_ws_retire(s);
    s->fell_back = true;
    session_use_server(s, i); /* the one whose HTTP answered */
    session_notice(s, SESSION_NOTICE_INFO,
                   "WebSocket unavailable; switched to HTTP polling (slower)");
    session_poll_begin(s);
}

static void session_ws_close(struct wsconn *c, void *user, int code, const char *reason)
{
    struct session *s = user;
    bool was_open = s->ws_open, was_resumed = s->resumed;
    if (c != s->ws) return;
    bool silence = s->silence_drop;
    /* Open but never through hello (silent, or closed at once): a broken server; the next
     * attempt goes to the next one rather than back to it. */
    if (was_open && !was_resumed) wsconn_skip_url(c);
    s->ws_open = false;
    s->resumed = false;
    s->hello_ping = 0;
    s->silence_drop = false;
    session_pings_forget(s);
    wsconn_clear_queue(s->ws);
    outbox_unsend(&s->ob);
    if (session_terminal(s)) return;
    if (code == 4401) {
        session_ws_retire(s);
        session_rejected(s);
        return;
    }
    if (code == 4409) {
        session_ws_retire(s);
        session_set_state(s, SESSION_OFFLINE,
                          "this seat was taken over by another felt (closed 4409)");
        return;
    }
    if (code == 1000) {
        session_ws_retire(s);
        session_seat_given_up(s);
        session_set_state(s, SESSION_OFFLINE, "%s",
                          reason && reason[0] ? reason : "the server closed");
        return;
    }
    /* The state line follows from session_ws_state (RECONNECTING); this is its reason. */
    if (silence)
        snprintf(s->reason, sizeof(s->reason), "no answer from the server for %d s",
                 SESSION_DEAD_MS / 1000);
    else if (code && reason && reason[0]) { /* the server's words: sanitized like any text */
        char raw[sizeof(s->reason)];
        struct felt_err err;
        snprintf(raw, sizeof(raw), "%s (closed %d)", reason, code);
        if (text_sanitize(raw, strlen(raw), s->reason, sizeof(s->reason), sizeof(s->reason),
                          &err) < 0)
            snprintf(s->reason, sizeof(s->reason), "connection closed (%d)", code);
    }
    else if (code)
        snprintf(s->reason, sizeof(s->reason), "connection closed (%d)", code);
    else
        snprintf(s->reason, sizeof(s->reason), "%s",
                 reason && reason[0] ? reason : "connection failed");
    if (!was_open && !s->probe_req) {
        const char *since = s->model.has_seq ? "?since=" : "";
        char path[128];
        snprintf(path, sizeof(path), "/api/games/%s/state%s", s->game, since);
        if (s->model.has_seq)
            snprintf(path + strlen(path), sizeof(path) - strlen(path), "%llu",
                     (unsigned long long)s->model.last_seq);
        s->probe_server = s->cur;
        s->probe_req = session_http(s, path, NULL, !s->spectate, session_probe_done);
    }
}

/* The server the socket's current (or next) attempt is for is the one in use. */
static void session_ws_server(struct session *s)
{
    int i = (s->ws_first + wsconn_url_index(s->ws)) % s->nservers;
    if (i != s->cur) session_use_server(s, i);
}

static void session_ws_state(struct wsconn *c, void *user, enum wsconn_state st)
{
    struct session *s = user;
    if (c != s->ws || session_terminal(s) || s->tp != &session_ws_transport) return;
    session_ws_server(s);
    if (st == WSCONN_RECONNECTING)
        s->state = s->ever_connected ? SESSION_RECONNECTING : SESSION_CONNECTING;
    /* A first connection refused before it opened waits for the probe's verdict (a refused
     * token is REJECTED, not one more failed attempt); session_probe_done says what it is. */
    if (st == WSCONN_RECONNECTING && !s->ever_connected && s->probe_req) return;
    session_emit_state(s);
}

/* Missed events: drop the socket; the reconnect's hello resumes from the model's seq. */
static void session_ws_resync(struct session *s)
{
    if (s->ws) wsconn_drop(s->ws);
}

static void session_ws_received(struct session *s)
{
    (void)s;
}

/* The periodic ping measures the round trip and confirms what was written before it. */
static void session_ws_tick(struct session *s)
{
    session_barrier(s);
}

static int session_ws_ping(struct session *s, int64_t id, struct felt_err *err)
{
    if (!s->ws || !s->resumed) return felt_err_set(err, "offline", "not connected; ping not sent");
    if (session_ping_write(s, id) != 0)
        return felt_err_set(err, "queue_full", "the connection's queue is full");
    return 0;
}

static void session_ws_retry_info(const struct session *s, int *attempt, int64_t *next_ms)
{
    if (s->ws && wsconn_state(s->ws) == WSCONN_RECONNECTING)
        wsconn_retry_info(s->ws, attempt, next_ms);
}

static bool session_ws_can_send(enum proto_ctype t, bool spectator)
{
    (void)t;
    (void)spectator; /* the server decides what a spectator may do */
    return true;
}

static const struct session_transport_ops session_ws_transport = {
    .kind = SESSION_TRANSPORT_WS,
    .flush = session_ws_flush,
    .resync = session_ws_resync,
    .received = session_ws_received,
    .tick = session_ws_tick,
    .ping = session_ws_ping,
    .retry_info = session_ws_retry_info,
    .can_send = session_ws_can_send,
};

/* One socket for every server, starting with the one in use: the others are its alternates. */
static void session_ws_begin(struct session *s)
{
    char urls[SESSION_SERVERS_MAX][SESSION_URL_MAX * 2], errbuf[160];
    const char *alt[SESSION_SERVERS_MAX];
    struct wsconn_config cfg;
    for (int k = 0; k < s->nservers; k++) {
        const char *base = s->ws_bases[(s->cur + k) % s->nservers];
        if (s->spectate)
            snprintf(urls[k], sizeof(urls[k]), "%s/ws/spectate/%s", base, s->game);
        else
            snprintf(urls[k], sizeof(urls[k]), "%s/ws/game/%s/%s", base, s->game,
                     s->tok.player_id);
        alt[k] = urls[k];
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.url = urls[0];
    cfg.alt_urls = alt + 1;
    cfg.nalt = s->nservers - 1;
    s->ws_first = s->cur;
    cfg.subprotocol = PROTO_SUBPROTOCOL_BATCH;
    cfg.lines = true;
    cfg.deflate = s->deflate;
    cfg.reconnect = true;
    cfg.max_queue = OUTBOX_MAX * 2 + 16; /* our items, their barrier pings, rtt pings */
    cfg.user = s;
    cfg.on_open = session_ws_open;
    cfg.on_message = session_ws_message;
    cfg.on_close = session_ws_close;
    cfg.on_state = session_ws_state;
    s->tp = &session_ws_transport;
    s->ws_open = false;
    s->ws = wsconn_new(s->loop, &cfg, errbuf, sizeof(errbuf));
    if (!s->ws) session_set_state(s, SESSION_FAILED, "bad server URL %s: %s", s->ws_base, errbuf);
}

/* Opens the chosen transport once we are a player with a token (or a spectator). */
static void session_connect(struct session *s)
{
    if (s->want == SESSION_TRANSPORT_POLL)
        session_poll_begin(s);
    else
        session_ws_begin(s);
    session_emit_state(s);
}

/* ---- joining --------------------------------------------------------------------------- */

/* Every server was asked and one at least said it does not play the table (421): its owner
 * died and the next is being chosen (docs/scaling.md), within seconds. Asks again from the
 * first, a few times: true when it will. */
static bool session_join_moved(struct session *s)
{
    s->unreached = 0;
    s->join_421 = false;
    session_use_server(s, 0);
    if (++s->join_moved > SESSION_MOVED_TRIES)
        return false;
    wstimer_arm(s->start_timer, SESSION_MOVED_RETRY_MS);
    return true;
}

static void session_join_done(void *arg, const struct wshttp_result *r)
{
    struct session *s = arg;
    struct json_object *j = NULL;
    struct felt_err err;
    char why[160];

    s->join_req = NULL;
    if (session_terminal(s) && s->state != SESSION_REJECTED) return;
    if (r->status == 421) { /* this node does not play the table now: ask its owner, or the next */
        int owner = session_learn_421(s, r->body);
        s->join_421 = true;
        if (owner >= 0 && owner != s->cur && ++s->unreached < s->nservers) {
            session_use_server(s, owner);
            session_join(s);
            return;
        }
        if (session_next_server(s)) {
            session_join(s);
            return;
        }
        if (session_join_moved(s))
            return;
    }
    /* Down, or a proxy in front of one that is (5xx): another server may answer. */
    int status = r->status;
    if (status == 0 || (status >= 500 && s->unreached + 1 < s->nservers)) {
        int tried = s->cur;
        if (session_next_server(s))
            session_join(s);
        else if (!s->join_421 || !session_join_moved(s))
            session_unreachable(s, tried, r->error);
        return;
    }
    if (r->status != 200) {
        session_http_reason(r, why, sizeof(why));
        if (r->status == 421)
            session_set_state(s, SESSION_FAILED, "no server plays %s now: %s", s->game, why);
        else if (r->status == 404)
            session_set_state(s, SESSION_FAILED, "the server has no game '%s'", s->game);
        else
            session_set_state(s, SESSION_FAILED, "cannot join %s: %s", s->game, why);
        return;
    }
    j = r->body ? json_tokener_parse(r->body) : NULL;
    memset(&s->tok, 0, sizeof(s->tok));
    const char *id = jval_str(j, "player_id");
    const char *token = jval_str(j, "token");
    if (!id || !token || !id[0] || strlen(id) > MODEL_ID_MAX || !token[0] ||
        strlen(token) > PROTO_TOKEN_MAX || strchr(id, '/')) {
        session_set_state(s, SESSION_FAILED, "the server's answer to join was malformed");
        goto out;
    }
    snprintf(s->tok.player_id, sizeof(s->tok.player_id), "%s", id);
    snprintf(s->tok.token, sizeof(s->tok.token), "%s", token);
    struct json_object *servers;
    if (json_object_object_get_ex(j, "servers", &servers)) /* several nodes: the others */
        session_learn_servers(s, servers);
    memset(s->rejoin_token, 0, sizeof(s->rejoin_token)); /* used, or the server did not know it */
    int64_t seat = jval_int(j, "seat", -1);
    s->tok.seat = seat >= 0 && seat < MODEL_MAX_SEATS ? (int)seat : -1;
    s->have_token = true;
    s->unreached = 0; /* the socket starts with the server that answered */
    s->join_moved = 0;
    if (token_save(s->server, s->game, s->name, &s->tok, &err) != 0)
        session_notice(s, SESSION_NOTICE_ERROR,
                       "Could not store the seat's token (%s); a restart will not keep the seat",
                       err.message);
    model_set_me(&s->model, s->tok.player_id);
    s->state = SESSION_CONNECTING;
    session_connect(s);
out:
    json_object_put(j);
}

static int session_join(struct session *s)
{
    struct json_object *b = json_object_new_object();
    char path[96];
    json_object_object_add(b, "name", json_object_new_string(s->name));
    if (s->buy_in > 0) json_object_object_add(b, "buy_in", json_object_new_int64(s->buy_in));
    if (s->rejoin_token[0])
        json_object_object_add(b, "token", json_object_new_string(s->rejoin_token));
    snprintf(path, sizeof(path), "/api/games/%s/join", s->game);
    wshttp_cancel(s->join_req);
    s->join_req = session_http(s, path, json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN),
                               false, session_join_done);
    int rc = s->join_req ? 0 : -1;
    json_object_put(b);
    if (rc != 0) session_set_state(s, SESSION_FAILED, "bad server URL %s", s->http_base);
    return rc;
}

/* ---- the public interface -------------------------------------------------------------- */

struct session *session_new(struct wsloop *loop, const struct session_options *o,
                            struct felt_err *err)
{
    struct session *s = xcalloc(1, sizeof(*s));
    char clean[PROTO_NAME_MAX_BYTES + 1];

    if (o->nmore < 0 || o->nmore >= SESSION_SERVERS_MAX) {
        felt_err_set(err, "bad_url", "at most %d servers", SESSION_SERVERS_MAX);
        goto fail;
    }
    s->nservers = 1 + o->nmore;
    for (int i = 0; i < s->nservers; i++) {
        const char *url = i == 0 ? o->server : o->more_servers[i - 1];
        if (session_parse_url(s, i, url ? url : "", err) != 0) goto fail;
    }
    snprintf(s->server, sizeof(s->server), "%s", s->ws_bases[0]);
    session_use_server(s, 0);
    s->connected_to = -1;
    if (!o->game || !proto_game_id_valid(o->game, strlen(o->game))) {
        felt_err_set(err, "bad_game", "'%.40s' is not a game id (letters, digits, - and _)",
                     o->game ? o->game : "");
        goto fail;
    }
    if (!o->spectate) {
        int n = o->name ? text_sanitize(o->name, strlen(o->name), clean, sizeof(clean),
                                        PROTO_NAME_MAX_CHARS, err)
                        : -1;
        if (n <= 0) {
            felt_err_set(err, "bad_name", "give a name of 1 to %d characters with --name",
                         PROTO_NAME_MAX_CHARS);
            goto fail;
        }
        snprintf(s->name, sizeof(s->name), "%s", clean);
    }
    if (o->buy_in < 0 || o->buy_in > PROTO_AMOUNT_MAX) {
        felt_err_set(err, "bad_buy_in", "the buy-in must be between 1 and %lld",
                     (long long)PROTO_AMOUNT_MAX);
        goto fail;
    }
    snprintf(s->game, sizeof(s->game), "%s", o->game);
    s->loop = loop;
    s->buy_in = o->buy_in;
    s->spectate = o->spectate;
    s->deflate = !o->no_deflate;
    s->want = o->transport;
    s->tp = o->transport == SESSION_TRANSPORT_POLL ? &session_poll_transport : &session_ws_transport;
    s->rtt_ms = -1;
    s->state = SESSION_CONNECTING;
    model_init(&s->model);
    s->ping_timer = wstimer_new(loop, session_ping_fire, s);
    s->start_timer = wstimer_new(loop, session_start_fire, s);
    s->retire_timer = wstimer_new(loop, session_retire_fire, s);
    s->retry_timer = wstimer_new(loop, session_retry_fire, s);
    return s;
fail:
    free(s);
    return NULL;
}

void session_set_callbacks(struct session *s, const struct session_callbacks *cb)
{
    static const struct session_callbacks none = {0};
    s->cb = cb ? *cb : none;
}

/* The work of session_start, from the loop: the UI may set its callbacks after session_start
 * and before wsloop_run and still hear everything from the first "connecting" on. */
static void session_start_fire(void *arg)
{
    struct session *s = arg;
    struct felt_err err;
    if (session_terminal(s)) return;
    wstimer_arm(s->ping_timer, SESSION_TICK_MS);
    session_emit_state(s);
    if (s->spectate) {
        session_connect(s);
        return;
    }
    int found = token_load(s->server, s->game, s->name, &s->tok, &err);
    if (found < 0)
        session_notice(s, SESSION_NOTICE_ERROR, "Ignoring the stored token: %s", err.message);
    if (found == 1) {
        s->have_token = true;
        model_set_me(&s->model, s->tok.player_id);
        session_connect(s);
        return;
    }
    session_join(s);
}

int session_start(struct session *s)
{
    if (s->started) return -1;
    s->started = true;
    wstimer_arm(s->start_timer, 0);
    return 0;
}

void session_endpoint(const struct session *s, const char **server, const char **game,
                      const char **bearer)
{
    *server = s->ws_base;
    *game = s->game;
    *bearer = !s->spectate && s->have_token ? s->tok.token : NULL;
}

const char *session_token_key(const struct session *s)
{
    return s->server;
}

const struct model *session_model(const struct session *s)
{
    return &s->model;
}

void session_status(const struct session *s, struct session_status *out)
{
    memset(out, 0, sizeof(*out));
    out->state = s->state;
    out->transport = s->tp->kind;
    out->fell_back = s->fell_back;
    out->rtt_ms = s->rtt_ms;
    int64_t age = s->state == SESSION_CONNECTED || s->state == SESSION_CONNECTING
                      ? session_ping_age_ms(s)
                      : 0;
    if (age >= SESSION_SILENT_MS) {
        out->silent_ms = age;
        out->rtt_ms = age;
    }
    out->queued = s->ob.n;
    out->spectator = s->spectate;
    out->left = s->state == SESSION_REJECTED && s->left;
    snprintf(out->reason, sizeof(out->reason), "%s", s->reason);
    out->server = s->ws_base;
    out->nservers = s->nservers;
    s->tp->retry_info(s, &out->attempt, &out->next_try_ms);
}

/* Adds an item at the end of the queue; the caller filled it. */
static int session_enqueue(struct session *s, const struct outbox_item *it, struct felt_err *err)
{
    if (session_terminal(s) || !s->started)
        return felt_err_set(err, "offline", "not connected to the table (%s)",
                            session_state_name(s->state));
    if (s->ob.n == OUTBOX_MAX)
        return felt_err_set(err, "queue_full",
                            "%d messages are already waiting for the connection; wait a moment",
                            OUTBOX_MAX);
    outbox_push(&s->ob, it);
    session_queued_changed(s);
    session_flush(s);
    return 0;
}

int session_send(struct session *s, const struct proto_cmsg *m, struct felt_err *err)
{
    struct outbox_item it;
    memset(&it, 0, sizeof(it));
    it.type = m->type;
    switch (m->type) {
    case PROTO_C_ACTION:
        if (s->spectate) return felt_err_set(err, "spectator", "spectators cannot act");
        it.action = m->action;
        it.has_amount = m->has_amount;
        it.amount = m->amount;
        if (m->request_id[0])
            memcpy(it.request_id, m->request_id, sizeof(it.request_id));
        else
            rng_token_hex(it.request_id, 16);
        it.has_hand_id = true;
        it.hand_id = m->has_hand_id ? m->hand_id : s->model.hand_id;
        /* Pinned to the decision open now (as shown to the player or bot) unless the caller
         * named one: once the table moves past it the server refuses the action. */
        it.has_decision = m->has_decision || s->model.to_act.decision > 0;
        it.decision = m->has_decision ? m->decision : s->model.to_act.decision;
        break;
    case PROTO_C_CHAT:
        memcpy(it.text, m->text, sizeof(it.text));
        it.text[sizeof(it.text) - 1] = '\0';
        if (!it.text[0]) return felt_err_set(err, "bad_field", "empty chat message");
        break;
    case PROTO_C_SIT_OUT:
    case PROTO_C_SIT_IN:
    case PROTO_C_LEAVE:
        if (s->spectate) return felt_err_set(err, "spectator", "spectators cannot do that");
        break;
    case PROTO_C_PING:
        /* Not queued: a ping measures the connection as it is now. */
        return s->tp->ping(s, m->has_ping_id ? m->ping_id : 0, err);
    default:
        return felt_err_set(err, "bad_type", "felt sends %s itself", proto_ctype_name(m->type));
    }
    if (!s->tp->can_send(m->type, s->spectate))
        return felt_err_set(err, "unsupported", "%s is not available over HTTP polling",
                            proto_ctype_name(m->type));
    return session_enqueue(s, &it, err);
}

int session_act(struct session *s, enum engine_action a, int64_t amount, struct felt_err *err)
{
    const struct model *m = &s->model;
    const struct model_to_act *t = &m->to_act;
    struct proto_cmsg c;

    if (s->spectate) return felt_err_set(err, "spectator", "spectators cannot act");
    if (!m->hand_running) return felt_err_set(err, "no_hand", "no hand is in progress");
    if (!model_my_turn(m)) return felt_err_set(err, "not_your_turn", "it is not your turn");
    for (size_t i = 0; i < s->ob.n; i++)
        if (s->ob.e[i].it.type == PROTO_C_ACTION && s->ob.e[i].it.hand_id == m->hand_id)
            return felt_err_set(err, "pending", "your last action is still on its way");
    memset(&c, 0, sizeof(c));
    c.type = PROTO_C_ACTION;
    c.action = a;
    switch (a) {
    case ENGINE_FOLD:
    case ENGINE_ALL_IN:
        break;
    case ENGINE_CHECK:
        if (!t->can_check)
            return felt_err_set(err, "cannot_check", "you cannot check: calling costs %lld",
                                (long long)t->call);
        break;
    case ENGINE_CALL:
        if (t->can_check) c.action = ENGINE_CHECK; /* nothing to call: the same key checks */
        break;
    case ENGINE_RAISE:
        if (!t->can_raise) return felt_err_set(err, "cannot_raise", "raising is not possible now");
        if (amount < t->min_raise_to)
            return felt_err_set(err, "raise_too_small", "the smallest raise is to %lld",
                                (long long)t->min_raise_to);
        if (amount > t->max_raise_to)
            return felt_err_set(err, "amount_above_stack", "you can raise to at most %lld (all-in)",
                                (long long)t->max_raise_to);
        c.has_amount = true;
        c.amount = amount;
        break;
    default:
        return felt_err_set(err, "unknown_action", "unknown action");
    }
    c.has_hand_id = true;
    c.hand_id = m->hand_id;
    return session_send(s, &c, err); /* which pins it to the decision open now */
}

int session_chat(struct session *s, const char *text, struct felt_err *err)
{
    struct proto_cmsg c;
    memset(&c, 0, sizeof(c));
    c.type = PROTO_C_CHAT;
    if (s->spectate && s->model.have_snapshot && !s->model.table.spectator_chat)
        return felt_err_set(err, "chat_disabled", "spectators may not chat at this table");
    if (!s->tp->can_send(PROTO_C_CHAT, s->spectate))
        return felt_err_set(err, "unsupported", "spectators cannot chat over HTTP polling");
    int n = text_sanitize(text, strlen(text), c.text, sizeof(c.text), PROTO_CHAT_MAX_CHARS, err);
    if (n < 0) return -1;
    if (n == 0) return felt_err_set(err, "bad_field", "empty chat message");
    return session_send(s, &c, err);
}

static int session_simple(struct session *s, enum proto_ctype type, struct felt_err *err)
{
    struct proto_cmsg c;
    memset(&c, 0, sizeof(c));
    c.type = type;
    return session_send(s, &c, err);
}

int session_sit_out(struct session *s, struct felt_err *err)
{
    return session_simple(s, PROTO_C_SIT_OUT, err);
}

int session_sit_in(struct session *s, struct felt_err *err)
{
    return session_simple(s, PROTO_C_SIT_IN, err);
}

int session_leave(struct session *s, struct felt_err *err)
{
    return session_simple(s, PROTO_C_LEAVE, err);
}

size_t session_queue_count(const struct session *s)
{
    return s->ob.n;
}

const struct outbox_item *session_queue_get(const struct session *s, size_t i)
{
    return i < s->ob.n ? &s->ob.e[i].it : NULL;
}

int session_rejoin(struct session *s, struct felt_err *err)
{
    if (s->state != SESSION_REJECTED)
        return felt_err_set(err, "not_rejected", "the seat was not rejected");
    if (s->spectate) return felt_err_set(err, "spectator", "spectators do not join");
    token_remove(s->server, s->game, s->name, NULL);
    if (s->have_token)
        snprintf(s->rejoin_token, sizeof(s->rejoin_token), "%s", s->tok.token);
    if (s->ws) {
        session_ws_retire(s);
    }
    poll_free(s->poll);
    s->poll = NULL;
    s->have_token = false;
    memset(&s->tok, 0, sizeof(s->tok));
    outbox_clear(&s->ob); /* those actions belonged to the old seat */
    s->ever_connected = false;
    s->resumed = false;
    s->fell_back = false;
    memset(s->ws_failures, 0, sizeof(s->ws_failures));
    s->down_mask = s->refuse_mask = 0;
    s->unreached = 0;
    s->attempt = 0;
    s->left = false;
    model_set_me(&s->model, "");
    model_reset_seq(&s->model);
    session_set_state(s, SESSION_CONNECTING, NULL);
    return session_join(s);
}

void session_close(struct session *s)
{
    if (s->ws) {
        session_ws_retire(s);
    }
    if (s->poll) poll_stop(s->poll);
    wshttp_cancel(s->join_req); /* no answer reaches a closed session */
    s->join_req = NULL;
    wshttp_cancel(s->probe_req);
    s->probe_req = NULL;
    wstimer_cancel(s->ping_timer);
    wstimer_cancel(s->start_timer);
    if (!session_terminal(s)) session_set_state(s, SESSION_OFFLINE, "closed");
}

void session_free(struct session *s)
{
    if (!s) return;
    /* The loop is gone: s->ws went with it; the requests still held are inert, and cancelling
     * frees them. */
    poll_free(s->poll);
    wshttp_cancel(s->join_req);
    wshttp_cancel(s->probe_req);
    wstimer_free(s->ping_timer);
    wstimer_free(s->start_timer);
    wstimer_free(s->retire_timer);
    wstimer_free(s->retry_timer);
    explicit_bzero(&s->tok, sizeof(s->tok));
    explicit_bzero(s->rejoin_token, sizeof(s->rejoin_token));
    free(s);
}
