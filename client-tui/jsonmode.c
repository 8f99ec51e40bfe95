/*
 * jsonmode.c: felt --json, the mode for scripts and bots.
 *
 * Out (stdout, one JSON object per line, flushed per line): every server message exactly as it
 * was received, plus felt's own lines: {"type":"connection","state":...} whenever the connection
 * state, attempt or transport changes, and {"type":"error","data":{"code","message"}} for a
 * stdin line felt could not use. Not printed: the pongs of felt's own keep-alive pings (a pong
 * is printed only for a ping the bot sent, matched by id), and, with --json-events, every line
 * whose type, update event or kind is not in the list (jsonmode_set_events). In (stdin, one JSON
 * object per line): the client messages of the protocol that a player types (action, chat, sit_out,
 * sit_in, leave, ping; dispatched through jsonmode_commands[]) plus felt's own "rejoin" (after a
 * rejected token). An action without request_id, hand_id or decision gets them from the session
 * (session_send: the hand and the decision open in felt's view, never behind what it printed);
 * everything else is checked by the protocol codec, and the server decides whether an action is
 * legal (its ack is printed like any message).
 *
 * Queueing and reconnecting are the session's, exactly as in the TUI. EOF on stdin leaves the
 * table: a leave is queued, and felt exits 0 once the server has confirmed it (or closed the
 * seat), or 1 if that does not happen within JSON_LEAVE_WAIT_MS. SIGINT and SIGTERM do the same
 * (a bot stopped with Ctrl-C frees its seat); a second one exits at once with 128 + signal.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client.h"
#include "jval.h"
#include "wire.h"
#include "wsclient.h"

#define JSON_LINE_MAX PROTO_MAX_FRAME /* a longer stdin line is refused as a whole */
#define JSON_PINGS 32                 /* the bot's pings awaiting their pong, at most */
#define JSON_EVENTS_MAX 64            /* names in --json-events */
#define JSON_LEAVE_WAIT_MS 10000

struct jsonmode_ctx {
    struct wsloop *loop;
    struct session *s;
    char line[JSON_LINE_MAX + 1];
    size_t len;
    bool overlong;
    bool eof;
    bool leave_sent; /* a leave is queued (EOF or a "leave" line) */
    bool done;
    int status;
    struct wstimer *leave_timer;
    struct wstimer *stop_timer;
    /* the last connection line printed, to print only changes */
    bool printed;
    enum session_state last_state;
    bool last_silent; /* printed as "no_answer" */
    int last_attempt;
    enum session_transport last_transport;
    char last_server[512]; /* as long as the session's URLs (SESSION_URL_MAX) */
    /* the bot's own pings (their pongs are printed; felt's keep-alive pongs are not) */
    int64_t pings[JSON_PINGS];
    int npings;
};

/* --json-events: the names printed (none: everything). Set once before jsonmode_run. */
static char jsonmode_events[JSON_EVENTS_MAX][WIRE_WORD_MAX + 1];
static int jsonmode_nevents;

/* A name --json-events accepts: a message type, "connection", an update's event, a
 * notification's or an animation's kind. */
static bool jsonmode_event_known(const char *name)
{
    if (strcmp(name, "connection") == 0) return true;
    for (int t = 0; t < PROTO_S_COUNT; t++)
        if (strcmp(name, proto_stype_name((enum proto_stype)t)) == 0) return true;
    for (int k = 0; k < WIRE_KIND_COUNT; k++)
        if (strcmp(name, wire_kind_name((enum wire_kind)k)) == 0) return true;
    for (int k = 0; k < WIRE_NOTE_OTHER; k++)
        if (strcmp(name, wire_note_name((enum wire_note_kind)k)) == 0) return true;
    for (int k = 0; k < WIRE_ANIM_OTHER; k++)
        if (strcmp(name, wire_anim_name((enum wire_anim_kind)k)) == 0) return true;
    return false;
}

int jsonmode_set_events(const char *list, struct felt_err *err)
{
    jsonmode_nevents = 0;
    for (const char *p = list;;) {
        size_t n = strcspn(p, ",");
        char name[WIRE_WORD_MAX + 1];
        if (n == 0 || n > WIRE_WORD_MAX || jsonmode_nevents == JSON_EVENTS_MAX) {
            jsonmode_nevents = 0;
            return felt_err_set(err, "bad_events",
                                "--json-events wants event types separated by commas, like "
                                "snapshot,state_update,your_turn");
        }
        memcpy(name, p, n);
        name[n] = '\0';
        if (!jsonmode_event_known(name)) {
            jsonmode_nevents = 0;
            return felt_err_set(err, "bad_events",
                                "--json-events: unknown event type '%s' (message types, "
                                "connection, update events, notification and animation kinds)",
                                name);
        }
        memcpy(jsonmode_events[jsonmode_nevents++], name, n + 1);
        if (p[n] == '\0') break;
        p += n + 1;
    }
    return 0;
}

/* Whether a line of this type (and update event or kind, NULL when none) is printed. */
static bool jsonmode_wanted(const char *type, const char *sub)
{
    if (jsonmode_nevents == 0) return true;
    for (int i = 0; i < jsonmode_nevents; i++)
        if (strcmp(jsonmode_events[i], type) == 0 || (sub && strcmp(jsonmode_events[i], sub) == 0))
            return true;
    return false;
}

#define JSON_CLOSE_GRACE_MS 200 /* lets a clean close frame go out before the loop stops */

static void jsonmode_stop_fire(void *arg)
{
    struct jsonmode_ctx *c = arg;
    wsloop_stop(c->loop);
}

/* The handler only records the signal and stops the loop (async-signal-safe); jsonmode_run then
 * leaves the table from the loop. */
static struct wsloop *jsonmode_signal_loop;
static volatile sig_atomic_t jsonmode_signals, jsonmode_last_signal;

static void jsonmode_on_signal(int sig)
{
    jsonmode_last_signal = sig;
    jsonmode_signals++;
    if (jsonmode_signals > 1) _exit(128 + sig);
    if (jsonmode_signal_loop) wsloop_stop(jsonmode_signal_loop);
}

static void jsonmode_finish(struct jsonmode_ctx *c, int status)
{
    if (c->done) return;
    c->done = true;
    c->status = status;
    wstimer_cancel(c->leave_timer);
    wstimer_arm(c->stop_timer, JSON_CLOSE_GRACE_MS);
}

/* Writes one line; a closed stdout ends the session (nobody is listening). */
static void jsonmode_write(struct jsonmode_ctx *c, const char *buf, size_t len)
{
    if (fwrite(buf, 1, len, stdout) != len || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
        jsonmode_finish(c, 1);
}

static void jsonmode_write_obj(struct jsonmode_ctx *c, struct json_object *o)
{
    size_t len;
    if (!jsonmode_wanted(jval_str(o, "type"), NULL)) {
        json_object_put(o);
        return;
    }
    const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
    jsonmode_write(c, s, len);
    json_object_put(o);
}

static void jsonmode_error(struct jsonmode_ctx *c, const char *code, const char *message)
{
    struct json_object *o = json_object_new_object(), *d = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("error"));
    json_object_object_add(o, "timestamp", json_object_new_int64(felt_now_ms()));
    json_object_object_add(d, "code", json_object_new_string(code));
    json_object_object_add(d, "message", json_object_new_string(message));
    json_object_object_add(o, "data", d);
    jsonmode_write_obj(c, o);
}

/* ---- session callbacks ----------------------------------------------------------------- */

static void jsonmode_on_message(void *user, const struct proto_smsg *m, const char *raw, size_t len)
{
    struct jsonmode_ctx *c = user;
    if (m->type == PROTO_S_PONG) {
        /* Only the pong of a ping the bot sent; felt's own keep-alive pongs are its business. */
        int64_t id = jval_int(m->data, "id", -1);
        int i = 0;
        while (i < c->npings && c->pings[i] != id)
            i++;
        if (i == c->npings) return;
        c->pings[i] = c->pings[--c->npings];
    }
    const char *sub = m->type == PROTO_S_STATE_UPDATE ? jval_str(m->data, "event")
                      : m->type == PROTO_S_NOTIFICATION || m->type == PROTO_S_ANIMATION
                          ? jval_str(m->data, "kind")
                          : NULL;
    if (!jsonmode_wanted(proto_stype_name(m->type), sub)) return;
    jsonmode_write(c, raw, len);
}

static void jsonmode_connection_line(struct jsonmode_ctx *c, const struct session_status *st)
{
    const struct model *m = session_model(c->s);
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("connection"));
    /* A silent server is its own state for a bot, though the session is still CONNECTED. */
    bool silent = st->silent_ms > 0 && st->state == SESSION_CONNECTED;
    const char *state = silent ? "no_answer" : session_state_name(st->state);
    json_object_object_add(o, "state", json_object_new_string(state));
    if (silent) json_object_object_add(o, "silent_ms", json_object_new_int64(st->silent_ms));
    if (st->left) json_object_object_add(o, "left", json_object_new_boolean(true));
    json_object_object_add(o, "attempt", json_object_new_int(st->attempt));
    json_object_object_add(o, "transport",
                           json_object_new_string(session_transport_name(st->transport)));
    json_object_object_add(o, "timestamp", json_object_new_int64(felt_now_ms()));
    if (st->state == SESSION_RECONNECTING || (st->state == SESSION_CONNECTING && st->attempt))
        json_object_object_add(o, "retry_in_ms", json_object_new_int64(st->next_try_ms));
    if (st->fell_back) json_object_object_add(o, "fallback", json_object_new_boolean(true));
    if (m->me_id[0]) json_object_object_add(o, "player_id", json_object_new_string(m->me_id));
    if (st->spectator) json_object_object_add(o, "spectator", json_object_new_boolean(true));
    if (st->state != SESSION_CONNECTED && st->reason[0])
        json_object_object_add(o, "reason", json_object_new_string(st->reason));
    json_object_object_add(o, "queued", json_object_new_int64((int64_t)st->queued));
    json_object_object_add(o, "server", json_object_new_string(st->server));
    jsonmode_write_obj(c, o);
}

static void jsonmode_on_state(void *user, const struct session_status *st)
{
    struct jsonmode_ctx *c = user;
    if (c->done) return;
    bool silent = st->silent_ms > 0 && st->state == SESSION_CONNECTED;
    if (!c->printed || st->state != c->last_state || st->attempt != c->last_attempt ||
        st->transport != c->last_transport || silent != c->last_silent ||
        strncmp(st->server, c->last_server, sizeof(c->last_server) - 1) != 0) {
        c->printed = true;
        snprintf(c->last_server, sizeof(c->last_server), "%s", st->server);
        c->last_state = st->state;
        c->last_silent = silent;
        c->last_attempt = st->attempt;
        c->last_transport = st->transport;
        jsonmode_connection_line(c, st);
    }
    switch (st->state) {
    case SESSION_FAILED:
        jsonmode_finish(c, 1);
        break;
    case SESSION_OFFLINE:
        /* After our own leave the server closes the seat: that is the clean end. */
        jsonmode_finish(c, c->leave_sent ? 0 : 1);
        break;
    case SESSION_REJECTED:
        /* After our own leave, a forgotten token is the leave having taken effect while the
         * connection was down (the server freed the seat before we heard the close): a clean
         * end. Otherwise a bot may send {"type":"rejoin"}; with stdin gone nobody can. */
        if (c->leave_sent)
            jsonmode_finish(c, 0);
        else if (c->eof)
            jsonmode_finish(c, 1);
        break;
    default:
        if (c->eof && c->leave_sent && st->queued == 0) {
            jsonmode_finish(c, 0);
            session_close(c->s); /* the leave went through */
        }
        break;
    }
}

/* ---- stdin commands -------------------------------------------------------------------- */

static int jsonmode_cmd_protocol(struct jsonmode_ctx *c, const char *line, size_t len)
{
    struct proto_cmsg m;
    struct felt_err err;
    if (proto_decode_client(line, len, &m, &err) != 0 || session_send(c->s, &m, &err) != 0) {
        jsonmode_error(c, err.code, err.message);
        return -1;
    }
    if (m.type == PROTO_C_LEAVE) c->leave_sent = true;
    if (m.type == PROTO_C_PING) {
        /* Remembered for its pong; the oldest is forgotten when too many are outstanding. */
        if (c->npings == JSON_PINGS)
            memmove(c->pings, c->pings + 1, sizeof(c->pings[0]) * --c->npings);
        c->pings[c->npings++] = m.has_ping_id ? m.ping_id : 0;
    }
    return 0;
}

static int jsonmode_cmd_rejoin(struct jsonmode_ctx *c, const char *line, size_t len)
{
    struct felt_err err;
    (void)line;
    (void)len;
    if (session_rejoin(c->s, &err) != 0) {
        jsonmode_error(c, err.code, err.message);
        return -1;
    }
    return 0;
}

static const struct {
    const char *type;
    int (*fn)(struct jsonmode_ctx *c, const char *line, size_t len);
} jsonmode_commands[] = {
    {"action", jsonmode_cmd_protocol},  {"chat", jsonmode_cmd_protocol},
    {"sit_out", jsonmode_cmd_protocol}, {"sit_in", jsonmode_cmd_protocol},
    {"leave", jsonmode_cmd_protocol},   {"ping", jsonmode_cmd_protocol},
    {"rejoin", jsonmode_cmd_rejoin},
};

static void jsonmode_line(struct jsonmode_ctx *c, char *line, size_t len)
{
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    size_t skip = strspn(line, " \t");
    if (skip >= len) return; /* blank lines are allowed */
    line += skip;
    len -= skip;
    line[len] = '\0';

    struct json_object *j = jval_parse(line, len);
    const char *type = jval_str(j, "type");
    if (!j || !json_object_is_type(j, json_type_object)) {
        jsonmode_error(c, "bad_json", "each line must be one JSON object");
        goto out;
    }
    if (!type) {
        jsonmode_error(c, "bad_type", "the object needs a string \"type\"");
        goto out;
    }
    for (size_t i = 0; i < FELT_ARRAY_LEN(jsonmode_commands); i++)
        if (strcmp(type, jsonmode_commands[i].type) == 0) {
            jsonmode_commands[i].fn(c, line, len);
            goto out;
        }
    jsonmode_error(c, "bad_type",
                   "type must be action, chat, sit_out, sit_in, leave, ping or rejoin");
out:
    json_object_put(j);
}

static void jsonmode_leave_timeout(void *arg)
{
    struct jsonmode_ctx *c = arg;
    jsonmode_error(c, "leave_timeout", "the leave could not be delivered in time");
    jsonmode_finish(c, 1);
}

/* stdin is gone: leave the table (players), then stop. */
static void jsonmode_eof(struct jsonmode_ctx *c)
{
    struct session_status st;
    struct felt_err err;
    c->eof = true;
    wsloop_forget_fd(c->loop, STDIN_FILENO);
    session_status(c->s, &st);
    /* jsonmode_finish before session_close: closing reports OFFLINE, which must not decide. */
    if (st.spectator || st.state == SESSION_FAILED || st.state == SESSION_OFFLINE) {
        jsonmode_finish(c, st.state == SESSION_FAILED ? 1 : 0);
        session_close(c->s);
        return;
    }
    if (st.state == SESSION_REJECTED) {
        jsonmode_finish(c, 1);
        return;
    }
    if (!c->leave_sent) {
        if (session_leave(c->s, &err) != 0) {
            jsonmode_error(c, err.code, err.message);
            jsonmode_finish(c, 0);
            session_close(c->s);
            return;
        }
        c->leave_sent = true;
    }
    wstimer_arm(c->leave_timer, JSON_LEAVE_WAIT_MS);
    session_status(c->s, &st);
    jsonmode_on_state(c, &st); /* already delivered (nothing queued)? */
}

static void jsonmode_on_stdin(void *arg)
{
    struct jsonmode_ctx *c = arg;
    char buf[4096];
    ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
        if (c->len > 0 && !c->overlong)
            jsonmode_line(c, c->line, c->len); /* a last line without its newline */
        c->len = 0;
        jsonmode_eof(c);
        return;
    }
    for (ssize_t i = 0; i < n && !c->done; i++) {
        if (buf[i] == '\n') {
            if (c->overlong)
                jsonmode_error(c, "too_long", "a line may hold at most 16384 bytes");
            else
                jsonmode_line(c, c->line, c->len);
            c->len = 0;
            c->overlong = false;
        } else if (c->len < JSON_LINE_MAX) {
            c->line[c->len++] = buf[i];
        } else {
            c->overlong = true;
        }
    }
}

int jsonmode_run(struct wsloop *loop, struct session *s)
{
    static struct jsonmode_ctx ctx; /* one per process; large line buffer kept off the stack */
    struct session_callbacks cb = {0};
    memset(&ctx, 0, sizeof(ctx));
    ctx.loop = loop;
    ctx.s = s;
    ctx.leave_timer = wstimer_new(loop, jsonmode_leave_timeout, &ctx);
    ctx.stop_timer = wstimer_new(loop, jsonmode_stop_fire, &ctx);
    setvbuf(stdout, NULL, _IOLBF, 0);
    cb.user = &ctx;
    cb.on_message = jsonmode_on_message;
    cb.on_state = jsonmode_on_state;
    session_set_callbacks(s, &cb);
    if (wsloop_adopt_fd(loop, STDIN_FILENO, jsonmode_on_stdin, &ctx) != 0) {
        jsonmode_error(&ctx, "stdin", "cannot read stdin");
        session_set_callbacks(s, NULL);
        wstimer_free(ctx.leave_timer);
        wstimer_free(ctx.stop_timer);
        return 1;
    }
    jsonmode_signal_loop = loop;
    signal(SIGINT, jsonmode_on_signal);
    signal(SIGTERM, jsonmode_on_signal);
    bool handled = false;
    for (;;) {
        if (wsloop_run(loop) != 0 && !ctx.done) {
            ctx.status = 1;
            break;
        }
        if (ctx.done || !jsonmode_signals || handled) break;
        /* Stopped by a signal: leave as at EOF, then run until that is done. */
        handled = true;
        if (!ctx.eof) jsonmode_eof(&ctx);
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    jsonmode_signal_loop = NULL;
    if (jsonmode_signals && ctx.status == 0 && !ctx.leave_sent)
        ctx.status = 128 + jsonmode_last_signal;
    session_set_callbacks(s, NULL);
    wstimer_free(ctx.leave_timer);
    wstimer_free(ctx.stop_timer);
    return ctx.status;
}
