/*
 * fleet.c: the bot fleet of the fault, ordering and soak tests (see fleet.h for what it checks).
 *
 * Layout: helper processes; the table model a bot builds from its events (fl_model_*); one
 * bot's handling of server messages, shared by both kinds of bots (fl_bot_*); the two
 * transports (felt --json processes, in-process wsclient connections); the run's phases
 * (join, play, sit out, calm, final checks) and the report.
 *
 * Problems seen inside callbacks are recorded on the bot (fl_bad) and counted at the end; the
 * fleet never aborts from a callback.
 */
#define _GNU_SOURCE /* pipe2 */
#include "fleet.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "engine.h"
#include "harness.h"
#include "proto.h"
#include "rng.h"
#include "util.h"
#include "wsclient.h"

#define FL_PING_BASE 500000000LL /* our ping ids */
#define FL_JOINS_IN_FLIGHT 32
#define FL_BAD_KEPT 3
#define FL_STATE_ROUNDS 50 /* final snapshot fetches per table before giving up */

/* ---- helper processes ------------------------------------------------------------------ */

static int64_t fl_now_ms(void)
{
    return felt_mono_us() / 1000;
}

int fleet_proc_start(struct fleet_proc *p, const char *const *argv, int timeout_ms)
{
    int fds[2];
    char buf[512];
    size_t len = 0;
    pid_t parent = getpid();
    memset(p, 0, sizeof(*p));
    p->out_fd = -1;
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(126);
        dup2(fds[1], STDOUT_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    p->pid = pid;
    p->out_fd = fds[0];
    int64_t deadline = fl_now_ms() + timeout_ms;
    while (len < sizeof(buf) - 1) {
        int64_t left = deadline - fl_now_ms();
        struct pollfd pf = {.fd = p->out_fd, .events = POLLIN};
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0) break;
        ssize_t n = read(p->out_fd, buf + len, 1); /* byte by byte: leave the rest in the pipe */
        if (n <= 0) break;
        len++;
        if (buf[len - 1] == '\n') {
            buf[len] = '\0';
            const char *colon = strrchr(buf, ':');
            p->port = colon ? atoi(colon + 1) : 0;
            if (p->port > 0) return 0;
            break;
        }
    }
    fprintf(stderr, "fleet: %s did not say where it listens\n", argv[0]);
    fleet_proc_stop(p, SIGKILL, NULL, 0, timeout_ms);
    return -1;
}

int fleet_proc_stop(struct fleet_proc *p, int sig, char *out, size_t outsz, int timeout_ms)
{
    int st = -1;
    size_t len = 0;
    char sink[256];
    if (p->pid <= 0) return -1;
    kill(p->pid, sig);
    int64_t deadline = fl_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - fl_now_ms();
        struct pollfd pf = {.fd = p->out_fd, .events = POLLIN};
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0) {
            kill(p->pid, SIGKILL);
            break;
        }
        char *dst = out && len + 1 < outsz ? out + len : sink;
        size_t room = out && len + 1 < outsz ? outsz - 1 - len : sizeof(sink);
        ssize_t n = read(p->out_fd, dst, room);
        if (n <= 0) break;
        if (dst != sink) len += (size_t)n;
    }
    if (out && outsz) out[len] = '\0';
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
        ;
    close(p->out_fd);
    p->out_fd = -1;
    p->pid = 0;
    return st;
}

/* ---- the fleet's state ----------------------------------------------------------------- */

struct fl_player {
    bool present;
    char id[PROTO_NAME_MAX_BYTES + 1];
    char name[PROTO_NAME_MAX_BYTES + 1];
    int64_t stack, bet;
    bool sitting_out, connected;
};

/* The table as one client knows it from its events. */
struct fl_model {
    bool have;
    int64_t hand_id;
    bool hand_running;
    int button;
    char board[5][3];
    int nboard;
    int64_t pots; /* sum of the pots' amounts */
    struct fl_player p[ENGINE_MAX_SEATS];
    int64_t chips; /* chips brought to the table (joins, rebuys, leaves) */
};

struct fl_action {
    char rid[32];
    int64_t hand_id;
    enum engine_action action;
    int64_t amount;
    int acks;
    bool accepted;
    char code[40];
    int sent_session;  /* in-process: the socket it was last written on */
    int first_session; /* the socket (or felt session) it was first sent on */
    bool resent;       /* its first ack came on a later socket */
};

struct fl_hand {
    int accepted;    /* actions of ours the server accepted */
    int events;      /* action events of ours, minus the server's own */
    int server_acts; /* actions the server made for us */
};

struct fl_table;
struct fleet;

struct fl_bot {
    struct fleet *f;
    struct fl_table *t;
    int idx;
    bool spectator;
    bool felt;
    char name[32];
    char player_id[PROTO_NAME_MAX_BYTES + 1];
    char token[PROTO_TOKEN_MAX + 1];
    struct rng rng;

    /* in-process transport */
    struct wsconn *ws;
    int64_t hello_ping;
    int64_t next_ping;
    bool resumed; /* the hello of the current socket was accepted */
    /* felt transport */
    pid_t pid;
    int in_fd, out_fd;
    char *line;
    size_t line_len, line_cap;
    bool out_eof;

    /* connection bookkeeping */
    int sessions;
    bool connected;
    int64_t first_connected_ms, connected_since_ms, connected_ms, disconnected_at_ms;
    uint64_t disconnects, reconnects;
    int64_t max_reconnect_ms;

    /* the stream */
    bool have_seq;
    uint64_t last_seq;
    int snapshots;
    int session_of_seq; /* spectators: the socket the last seq came on */
    uint64_t events;
    struct fl_model m;
    json_object *to_act; /* the last to_act seen (owned), or NULL */
    int64_t to_act_hand;
    bool acted; /* acted on the current turn; cleared by our next
                 * action event (applied, or made by the server) */
    struct wstimer *think;

    /* our actions and their fate */
    struct fl_action *acts;
    size_t nacts, acts_cap;
    struct fl_hand *hands;
    size_t nhands;
    int server_pending; /* timeouts announced whose action has not come yet */
    bool sit_out_sent, sat_out_seen, sit_out_confirmed;
    bool sit_out_session; /* in-process: sit_out written on this socket */
    uint64_t rejected;

    int bad;
    char bad_text[FL_BAD_KEPT][300];
};

struct fl_table {
    char id[PROTO_GAME_ID_MAX + 1];
    struct fl_bot **bots; /* players and spectators */
    int nbots;
    uint64_t *hash; /* public content by seq (0: not seen yet) */
    size_t nhash;
    bool finished;
    bool checked;
    int state_rounds;
    bool state_in_flight;
    json_object *final; /* the server's final snapshot data */
    uint64_t final_seq;
};

struct fleet {
    const struct fleet_opts *o;
    struct wsloop *loop;
    struct fl_table *tables;
    struct fl_bot *bots;
    int nbots;
    int next_join, joins_in_flight, joined, join_failed;
    bool stop_play; /* time is up: sit out now */
    bool calm;
    bool leaving; /* felt processes were told to leave */
    int64_t calm_ms;
    bool timed_out;
    struct wstimer *deadline, *play_timer;
    int failures;
    char first_failure[512];
};

static void fl_poke(struct fleet *f)
{
    wsloop_stop(f->loop);
}

static void fl_bad(struct fl_bot *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fl_bad(struct fl_bot *b, const char *fmt, ...)
{
    va_list ap;
    if (b->bad < FL_BAD_KEPT) {
        va_start(ap, fmt);
        vsnprintf(b->bad_text[b->bad], sizeof(b->bad_text[0]), fmt, ap);
        va_end(ap);
    }
    b->bad++;
}

static void fl_fail(struct fleet *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fl_fail(struct fleet *f, const char *fmt, ...)
{
    va_list ap;
    char buf[512];
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (f->failures == 0) snprintf(f->first_failure, sizeof(f->first_failure), "%s", buf);
    if (f->failures < 40) fprintf(stderr, "fleet: FAIL: %s\n", buf);
    f->failures++;
}

/* ---- JSON ------------------------------------------------------------------------------ */

static bool fl_is_str(json_object *o, const char *key, const char *val)
{
    const char *s = jstr(o, key);
    return s && strcmp(s, val) == 0;
}

static uint64_t fl_fnv(uint64_t h, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---- the model ------------------------------------------------------------------------- */

static int fl_seat_of(const struct fl_model *m, const char *id)
{
    for (int s = 0; id && s < ENGINE_MAX_SEATS; s++)
        if (m->p[s].present && strcmp(m->p[s].id, id) == 0) return s;
    return -1;
}

static int64_t fl_sum_stacks(const struct fl_model *m)
{
    int64_t sum = 0;
    for (int s = 0; s < ENGINE_MAX_SEATS; s++)
        if (m->p[s].present) sum += m->p[s].stack;
    return sum;
}

static int64_t fl_sum_pots(json_object *pots)
{
    int64_t sum = 0;
    for (size_t i = 0;
         pots && json_object_is_type(pots, json_type_array) && i < json_object_array_length(pots);
         i++)
        sum += jint(json_object_array_get_idx(pots, i), "amount", 0);
    return sum;
}

/* Sets a seat from a player object (snapshot, hand_start, seat update). Returns the seat. */
static int fl_model_player(struct fl_bot *b, json_object *pj)
{
    struct fl_model *m = &b->m;
    int seat = (int)jint(pj, "seat", -1);
    const char *id = jstr(pj, "player_id"), *name = jstr(pj, "name"), *st = jstr(pj, "status");
    if (seat < 0 || seat >= ENGINE_MAX_SEATS || !id || !name || !st) {
        fl_bad(b, "malformed player object");
        return -1;
    }
    struct fl_player *p = &m->p[seat];
    if (p->present && strcmp(p->id, id) != 0)
        fl_bad(b, "seat %d holds %s, player object says %s", seat, p->id, id);
    p->present = true;
    snprintf(p->id, sizeof(p->id), "%s", id);
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->stack = jint(pj, "stack", -1);
    p->bet = jint(pj, "bet", 0);
    p->connected = jbool(pj, "connected", false);
    if (strcmp(st, "sitting_out") == 0)
        p->sitting_out = true;
    else if (strcmp(st, "waiting") == 0)
        p->sitting_out = false;
    return seat;
}

static void fl_model_snapshot(struct fl_bot *b, json_object *d)
{
    struct fl_model *m = &b->m;
    json_object *players = jget(d, "players"), *board = jget(d, "board");
    memset(m, 0, sizeof(*m));
    m->have = true;
    m->hand_id = jint(d, "hand_id", -1);
    m->hand_running = jbool(d, "hand_running", false);
    m->button = (int)jint(d, "button", -1);
    for (size_t i = 0; board && i < json_object_array_length(board) && i < 5; i++)
        snprintf(m->board[m->nboard++], 3, "%s",
                 json_object_get_string(json_object_array_get_idx(board, i)));
    m->pots = fl_sum_pots(jget(d, "pots"));
    for (size_t i = 0; players && i < json_object_array_length(players); i++)
        fl_model_player(b, json_object_array_get_idx(players, i));
    m->chips = fl_sum_stacks(m) + m->pots;
}

/* At a consistent point of the stream the chips on the table equal the chips brought to it. */
static void fl_model_check_chips(struct fl_bot *b, const char *where, uint64_t seq)
{
    int64_t have = fl_sum_stacks(&b->m) + b->m.pots;
    if (have != b->m.chips)
        fl_bad(b, "chips at seq %" PRIu64 " (%s): stacks+pots %lld, brought %lld", seq, where,
               (long long)have, (long long)b->m.chips);
}

static void fl_model_stacks(struct fl_bot *b, json_object *stacks)
{
    if (!stacks || !json_object_is_type(stacks, json_type_object)) return;
    json_object_object_foreach(stacks, k, v)
    {
        int s = fl_seat_of(&b->m, k);
        if (s < 0 || !json_object_is_type(v, json_type_int)) {
            fl_bad(b, "stack of unknown player %s", k);
            continue;
        }
        b->m.p[s].stack = json_object_get_int64(v);
    }
}

static void fl_model_seat(struct fl_bot *b, json_object *d, uint64_t seq)
{
    struct fl_model *m = &b->m;
    const char *change = jstr(d, "change");
    json_object *pj = jget(d, "player");
    const char *id = jstr(pj, "player_id");
    int old = fl_seat_of(m, id);
    int64_t old_stack = old >= 0 ? m->p[old].stack : 0;
    if (!change || !id) {
        fl_bad(b, "malformed seat update at seq %" PRIu64, seq);
        return;
    }
    if (strcmp(change, "left") == 0) {
        if (old < 0) {
            fl_bad(b, "%s left but was not seated", id);
            return;
        }
        m->chips -= old_stack;
        memset(&m->p[old], 0, sizeof(m->p[old]));
        return;
    }
    int seat = fl_model_player(b, pj);
    if (seat < 0) return;
    int64_t diff = m->p[seat].stack - old_stack;
    if (strcmp(change, "joined") == 0) {
        if (old >= 0) fl_bad(b, "%s joined twice", id);
        m->chips += m->p[seat].stack;
    } else if (strcmp(change, "rebuy") == 0 || strcmp(change, "sat_in") == 0) {
        m->chips += diff;
    } else if (diff != 0) {
        fl_bad(b, "seat update '%s' at seq %" PRIu64 " changed %s's stack by %lld", change, seq, id,
               (long long)diff);
    }
    if (strcmp(change, "sat_out") == 0 || strcmp(change, "busted") == 0)
        m->p[seat].sitting_out = true;
    else if (strcmp(change, "sat_in") == 0)
        m->p[seat].sitting_out = false;
    if (strcmp(id, b->player_id) == 0 && strcmp(change, "sat_out") == 0) b->sat_out_seen = true;
    if (!m->hand_running) fl_model_check_chips(b, change, seq);
}

/* What applying one state_update left the model as. */
enum fl_up { FL_UP_STOP, FL_UP_APPLIED, FL_UP_CONSISTENT };

static enum fl_up fl_up_hand_start(struct fl_bot *b, json_object *d, uint64_t seq)
{
    struct fl_model *m = &b->m;
    json_object *players = jget(d, "players");
    (void)seq;
    m->hand_id = jint(d, "hand_id", -1);
    m->hand_running = true;
    m->button = (int)jint(d, "button", -1);
    m->nboard = 0;
    for (size_t i = 0; players && i < json_object_array_length(players); i++)
        fl_model_player(b, json_object_array_get_idx(players, i));
    m->pots = fl_sum_pots(jget(d, "pots"));
    return FL_UP_CONSISTENT;
}

static enum fl_up fl_up_action(struct fl_bot *b, json_object *d, uint64_t seq)
{
    struct fl_model *m = &b->m;
    int s = fl_seat_of(m, jstr(d, "player_id"));
    if (s < 0) {
        fl_bad(b, "action of an unknown player at seq %" PRIu64, seq);
        return FL_UP_STOP;
    }
    fl_model_stacks(b, jget(d, "stacks"));
    m->p[s].bet = jint(d, "to", 0);
    m->pots = fl_sum_pots(jget(d, "pots"));
    return FL_UP_APPLIED;
}

static enum fl_up fl_up_street(struct fl_bot *b, json_object *d, uint64_t seq)
{
    struct fl_model *m = &b->m;
    json_object *cards = jget(d, "cards");
    (void)seq;
    for (size_t i = 0; cards && i < json_object_array_length(cards); i++) {
        if (m->nboard >= 5) {
            fl_bad(b, "more than five board cards");
            break;
        }
        snprintf(m->board[m->nboard++], 3, "%s",
                 json_object_get_string(json_object_array_get_idx(cards, i)));
    }
    for (int s = 0; s < ENGINE_MAX_SEATS; s++)
        m->p[s].bet = 0;
    m->pots = fl_sum_pots(jget(d, "pots"));
    return FL_UP_APPLIED;
}

static enum fl_up fl_up_uncalled(struct fl_bot *b, json_object *d, uint64_t seq)
{
    (void)seq;
    fl_model_stacks(b, jget(d, "stacks"));
    b->m.pots -= jint(d, "amount", 0); /* the update names no pots: the bet left them */
    return FL_UP_APPLIED;
}

static enum fl_up fl_up_showdown(struct fl_bot *b, json_object *d, uint64_t seq)
{
    (void)b, (void)d, (void)seq; /* cards only */
    return FL_UP_APPLIED;
}

static enum fl_up fl_up_hand_end(struct fl_bot *b, json_object *d, uint64_t seq)
{
    struct fl_model *m = &b->m;
    (void)seq;
    fl_model_stacks(b, jget(d, "stacks"));
    m->pots = 0;
    m->hand_running = false;
    for (int s = 0; s < ENGINE_MAX_SEATS; s++)
        m->p[s].bet = 0;
    return FL_UP_CONSISTENT;
}

static enum fl_up fl_up_seat(struct fl_bot *b, json_object *d, uint64_t seq)
{
    fl_model_seat(b, d, seq); /* checks the chips itself, between hands */
    return FL_UP_STOP;
}

static const struct {
    const char *event;
    enum fl_up (*fn)(struct fl_bot *b, json_object *d, uint64_t seq);
} fl_updates[] = {
    {"hand_start", fl_up_hand_start},
    {"action", fl_up_action},
    {"street", fl_up_street},
    {"uncalled", fl_up_uncalled},
    {"showdown", fl_up_showdown},
    {"hand_end", fl_up_hand_end},
    {"seat", fl_up_seat},
};

/* Applies a state_update; at a consistent point (the batch's last update, which carries to_act,
 * or a hand's start and end) the chips are checked. */
static void fl_model_update(struct fl_bot *b, json_object *d, uint64_t seq)
{
    const char *ev = jstr(d, "event");
    json_object *to_act = jget(d, "to_act");
    for (size_t i = 0; ev && i < FELT_ARRAY_LEN(fl_updates); i++) {
        if (strcmp(ev, fl_updates[i].event) != 0) continue;
        enum fl_up r = fl_updates[i].fn(b, d, seq);
        if (r == FL_UP_CONSISTENT ||
            (r == FL_UP_APPLIED && to_act && json_object_is_type(to_act, json_type_object)))
            fl_model_check_chips(b, ev, seq);
        return;
    }
    fl_bad(b, "state_update with unknown event '%s' at seq %" PRIu64, ev ? ev : "(none)", seq);
}

static void fl_model_notification(struct fl_bot *b, json_object *d)
{
    const char *kind = jstr(d, "kind");
    int s = fl_seat_of(&b->m, jstr(d, "player_id"));
    if (!kind || s < 0) return;
    if (strcmp(kind, "player_connected") == 0)
        b->m.p[s].connected = true;
    else if (strcmp(kind, "player_disconnected") == 0)
        b->m.p[s].connected = false;
}

/* ---- ordering and privacy -------------------------------------------------------------- */

/* Removes what may differ between viewers (their own cards, your_turn) and checks that nothing
 * private of anyone else is there. Returns the hash of the public content. */
static uint64_t fl_public_hash(struct fl_bot *b, const struct proto_smsg *sm)
{
    json_object *d = sm->data;
    if (sm->type == PROTO_S_STATE_UPDATE && fl_is_str(d, "event", "hand_start")) {
        json_object *players = jget(d, "players");
        for (size_t i = 0; players && i < json_object_array_length(players); i++) {
            json_object *p = json_object_array_get_idx(players, i);
            if (!jget(p, "cards")) continue;
            if (b->spectator || !fl_is_str(p, "player_id", b->player_id))
                fl_bad(b, "hand %lld: saw the hole cards of %s", (long long)jint(d, "hand_id", 0),
                       jstr(p, "player_id") ? jstr(p, "player_id") : "?");
            json_object_object_del(p, "cards");
        }
    }
    if (sm->type == PROTO_S_NOTIFICATION && fl_is_str(d, "kind", "your_turn")) {
        if (b->spectator || !fl_is_str(d, "player_id", b->player_id))
            fl_bad(b, "received someone else's your_turn at seq %" PRIu64, sm->seq);
        json_object_object_add(d, "kind", json_object_new_string("turn"));
    }
    char head[96];
    int n = snprintf(head, sizeof(head), "%s|%" PRIu64 "|%" PRId64 "|", proto_stype_name(sm->type),
                     sm->seq, sm->timestamp);
    size_t len;
    const char *s = json_object_to_json_string_length(d, JSON_C_TO_STRING_PLAIN, &len);
    uint64_t h = fl_fnv(fl_fnv(0xcbf29ce484222325ULL, head, (size_t)n), s, len);
    return h ? h : 1;
}

static void fl_order_check(struct fl_bot *b, const struct proto_smsg *sm)
{
    struct fl_table *t = b->t;
    uint64_t h = fl_public_hash(b, sm);
    if (sm->seq >= t->nhash) {
        size_t n = t->nhash ? t->nhash : 1024;
        while (n <= sm->seq)
            n *= 2;
        t->hash = xrealloc(t->hash, n * sizeof(*t->hash));
        memset(t->hash + t->nhash, 0, (n - t->nhash) * sizeof(*t->hash));
        t->nhash = n;
    }
    if (t->hash[sm->seq] == 0)
        t->hash[sm->seq] = h;
    else if (t->hash[sm->seq] != h)
        fl_bad(b, "seq %" PRIu64 " differs from what another client at %s received", sm->seq,
               t->id);
}

/* ---- our actions ----------------------------------------------------------------------- */

static struct fl_hand *fl_hand(struct fl_bot *b, int64_t hand_id)
{
    if (hand_id < 0 || hand_id > 10000000) return NULL;
    if ((size_t)hand_id >= b->nhands) {
        size_t n = b->nhands ? b->nhands : 64;
        while (n <= (size_t)hand_id)
            n *= 2;
        b->hands = xrealloc(b->hands, n * sizeof(*b->hands));
        memset(b->hands + b->nhands, 0, (n - b->nhands) * sizeof(*b->hands));
        b->nhands = n;
    }
    return &b->hands[hand_id];
}

static struct fl_action *fl_action_by_rid(struct fl_bot *b, const char *rid)
{
    /* Our request ids are "<bot>-<n>": n indexes acts. */
    const char *dash = rid ? strrchr(rid, '-') : NULL;
    if (!dash) return NULL;
    long n = strtol(dash + 1, NULL, 10);
    if (n < 1 || (size_t)n > b->nacts || strcmp(b->acts[n - 1].rid, rid) != 0) return NULL;
    return &b->acts[n - 1];
}

static void fl_on_ack(struct fl_bot *b, json_object *d)
{
    const char *rid = jstr(d, "request_id"), *status = jstr(d, "status");
    const char *code = jstr(d, "code") ? jstr(d, "code") : "";
    struct fl_action *a = fl_action_by_rid(b, rid);
    if (!a || !status) {
        fl_bad(b, "ack for an unknown request %s", rid ? rid : "(none)");
        return;
    }
    bool accepted = strcmp(status, "accepted") == 0;
    if (a->acks == 0) {
        a->resent = b->sessions != a->first_session;
        a->accepted = accepted;
        snprintf(a->code, sizeof(a->code), "%s", code);
        if (accepted) {
            struct fl_hand *h = fl_hand(b, a->hand_id);
            if (h) h->accepted++;
        } else {
            b->rejected++;
        }
    } else if (a->accepted != accepted || strcmp(a->code, code) != 0) {
        fl_bad(b, "request %s acked '%s%s%s' and then '%s%s%s'", rid,
               a->accepted ? "accepted" : "rejected", a->code[0] ? " " : "", a->code, status,
               code[0] ? " " : "", code);
    }
    if (jint(d, "hand_id", -1) != a->hand_id && strcmp(code, "stale_hand") != 0)
        fl_bad(b, "ack of %s names hand %lld, the action was for hand %lld", rid,
               (long long)jint(d, "hand_id", -1), (long long)a->hand_id);
    a->acks++;
}

static void fl_send_action_inproc(struct fl_bot *b, struct fl_action *a);
static void fl_felt_write(struct fl_bot *b, const char *line);

static void fl_act(struct fl_bot *b)
{
    json_object *ta = b->to_act;
    enum engine_action a;
    int64_t amount = 0;
    bool can_check = jbool(ta, "can_check", false);
    json_object *minr = jget(ta, "min_raise_to"), *maxr = jget(ta, "max_raise_to");
    bool can_raise = minr && maxr && json_object_is_type(minr, json_type_int);
    uint64_t r = rng_bounded(&b->rng, 100);
    if (can_check)
        a = r < 75 || !can_raise ? ENGINE_CHECK : ENGINE_RAISE;
    else if (r < 65)
        a = ENGINE_CALL;
    else if (r < 85 || !can_raise)
        a = ENGINE_FOLD;
    else
        a = ENGINE_RAISE;
    if (a == ENGINE_RAISE) {
        amount = json_object_get_int64(minr);
        if (amount > json_object_get_int64(maxr)) amount = json_object_get_int64(maxr);
    }
    if (b->nacts == b->acts_cap) {
        b->acts_cap = b->acts_cap ? b->acts_cap * 2 : 64;
        b->acts = xrealloc(b->acts, b->acts_cap * sizeof(*b->acts));
    }
    struct fl_action *act = &b->acts[b->nacts++];
    memset(act, 0, sizeof(*act));
    snprintf(act->rid, sizeof(act->rid), "b%d-%zu", b->idx, b->nacts);
    act->hand_id = b->to_act_hand;
    act->action = a;
    act->amount = amount;
    act->first_session = b->sessions;
    b->acted = true;
    if (b->felt) {
        char line[256];
        if (a == ENGINE_RAISE)
            snprintf(line, sizeof(line),
                     "{\"type\":\"action\",\"action\":\"raise\",\"amount\":%lld,"
                     "\"request_id\":\"%s\",\"hand_id\":%lld}",
                     (long long)amount, act->rid, (long long)act->hand_id);
        else
            snprintf(line, sizeof(line),
                     "{\"type\":\"action\",\"action\":\"%s\",\"request_id\":\"%s\","
                     "\"hand_id\":%lld}",
                     engine_action_name(a), act->rid, (long long)act->hand_id);
        fl_felt_write(b, line);
    } else {
        fl_send_action_inproc(b, act);
    }
}

static bool fl_my_turn(const struct fl_bot *b)
{
    return b->to_act && fl_is_str(b->to_act, "player_id", b->player_id) && !b->acted &&
           !b->sit_out_sent;
}

static void fl_think_fire(void *arg)
{
    struct fl_bot *b = arg;
    if (fl_my_turn(b)) fl_act(b);
}

static void fl_sit_out_inproc(struct fl_bot *b);

static void fl_sit_out(struct fl_bot *b)
{
    if (b->sit_out_sent || b->spectator) return;
    b->sit_out_sent = true;
    if (b->think) wstimer_cancel(b->think);
    if (b->felt)
        fl_felt_write(b, "{\"type\":\"sit_out\"}");
    else
        fl_sit_out_inproc(b);
}

/* ---- one server message ---------------------------------------------------------------- */

static void fl_connected(struct fl_bot *b)
{
    int64_t now = fl_now_ms();
    if (b->connected) return;
    b->connected = true;
    b->connected_since_ms = now;
    if (b->first_connected_ms == 0) {
        b->first_connected_ms = now;
    } else {
        int64_t took = now - b->disconnected_at_ms;
        b->reconnects++;
        if (took > b->max_reconnect_ms) b->max_reconnect_ms = took;
    }
    fl_poke(b->f);
}

static void fl_connected_time(struct fl_bot *b, int64_t now)
{
    struct fleet *f = b->f;
    if (!b->connected || f->calm) return;
    b->connected_ms += now - b->connected_since_ms;
}

static void fl_disconnected(struct fl_bot *b)
{
    int64_t now = fl_now_ms();
    if (!b->connected) return;
    fl_connected_time(b, now);
    b->connected = false;
    b->disconnected_at_ms = now;
    b->disconnects++;
    fl_poke(b->f);
}

static void fl_bot_check_finished(struct fl_bot *b);

static void fl_bot_event(struct fl_bot *b, const struct proto_smsg *sm)
{
    json_object *d = sm->data;
    b->events++;
    if (sm->type == PROTO_S_SNAPSHOT) {
        b->snapshots++;
        if (b->snapshots > 1 && !b->spectator)
            fl_bad(b,
                   "a second snapshot (seq %" PRIu64 "): a resume was not served from the "
                   "history",
                   sm->seq);
        fl_model_snapshot(b, d);
        fl_model_check_chips(b, "snapshot", sm->seq);
        b->have_seq = true;
        b->last_seq = sm->seq;
        b->session_of_seq = b->sessions;
        json_object *you = jget(d, "you");
        if (!b->spectator && jstr(you, "player_id"))
            snprintf(b->player_id, sizeof(b->player_id), "%s", jstr(you, "player_id"));
    } else {
        if (!b->have_seq) {
            fl_bad(b, "event seq %" PRIu64 " before any snapshot", sm->seq);
            return;
        }
        if (sm->seq != b->last_seq + 1) {
            fl_bad(b, "gap: seq %" PRIu64 " after %" PRIu64 " (socket %d)", sm->seq, b->last_seq,
                   b->sessions);
            return;
        }
        if (b->spectator && b->session_of_seq != b->sessions) {
            fl_bad(b, "a spectator's new socket started without a snapshot");
            return;
        }
        b->last_seq = sm->seq;
        fl_order_check(b, sm);
        if (sm->type == PROTO_S_STATE_UPDATE) {
            bool mine = !b->spectator && fl_is_str(d, "player_id", b->player_id);
            if (fl_is_str(d, "event", "hand_start")) b->acted = false;
            if (fl_is_str(d, "event", "action") && mine) {
                b->acted = false;
                struct fl_hand *h = fl_hand(b, jint(d, "hand_id", -1));
                if (!h) {
                    fl_bad(b, "action event without a hand id");
                } else if (b->server_pending > 0) {
                    b->server_pending--;
                    h->server_acts++;
                } else if (b->sat_out_seen) {
                    h->server_acts++;
                } else {
                    h->events++;
                }
            }
            fl_model_update(b, d, sm->seq);
        } else if (sm->type == PROTO_S_NOTIFICATION) {
            if (fl_is_str(d, "kind", "timeout") && !b->spectator &&
                fl_is_str(d, "player_id", b->player_id))
                b->server_pending++;
            fl_model_notification(b, d);
        }
    }
    if (b->f->calm) fl_poke(b->f); /* the final phase waits for every client to catch up */
    if (sm->type == PROTO_S_SNAPSHOT || sm->type == PROTO_S_STATE_UPDATE) {
        json_object *ta = jget(d, "to_act");
        json_object_put(b->to_act);
        b->to_act = NULL;
        if (ta && json_object_is_type(ta, json_type_object)) {
            b->to_act = json_object_get(ta);
            b->to_act_hand = jint(d, "hand_id", -1);
        }
        if (sm->type == PROTO_S_STATE_UPDATE && fl_is_str(d, "event", "hand_start") &&
            b->f->o->hands > 0 && jint(d, "hand_id", 0) >= b->f->o->hands)
            fl_sit_out(b);
        if (!b->spectator && fl_my_turn(b)) {
            if (b->think)
                wstimer_arm(b->think, b->f->o->think_ms);
            else
                fl_act(b);
        }
        fl_bot_check_finished(b);
    }
}

/* One message from the server (either transport). */
static void fl_bot_message(struct fl_bot *b, const char *buf, size_t len)
{
    struct proto_smsg sm;
    struct felt_err err;
    memset(&sm, 0, sizeof(sm));
    if (proto_decode_server(buf, len, &sm, &err) != 0) {
        fl_bad(b, "undecodable server message (%s): %.120s", err.message, buf);
        return;
    }
    switch (sm.type) {
    case PROTO_S_ACK:
        fl_on_ack(b, sm.data);
        break;
    case PROTO_S_ERROR:
        if (b->sit_out_sent && fl_is_str(sm.data, "code", "already_sitting_out")) {
            b->sit_out_confirmed = true; /* a resent sit_out the server had already applied */
        } else {
            const char *code = jstr(sm.data, "code");
            fl_bad(b, "error reply: %s: %s", code ? code : "?",
                   jstr(sm.data, "message") ? jstr(sm.data, "message") : "");
        }
        break;
    case PROTO_S_PONG:
        if (!b->felt && jint(sm.data, "id", -1) == b->hello_ping && b->hello_ping != 0) {
            b->hello_ping = 0;
            b->resumed = true;
            fl_connected(b);
            /* Exactly like felt: once the hello is confirmed, write again what is unconfirmed. */
            for (size_t i = 0; i < b->nacts; i++)
                if (b->acts[i].acks == 0 && b->acts[i].sent_session != b->sessions)
                    fl_send_action_inproc(b, &b->acts[i]);
            if (b->sit_out_sent && !b->sat_out_seen && !b->sit_out_confirmed && !b->sit_out_session)
                fl_sit_out_inproc(b);
        }
        break;
    default:
        if (b->spectator && sm.type == PROTO_S_SNAPSHOT) fl_connected(b);
        fl_bot_event(b, &sm);
        break;
    }
    proto_smsg_clear(&sm);
}

/* ---- in-process bots (wsclient) -------------------------------------------------------- */

static void fl_ws_send(struct fl_bot *b, const char *s)
{
    if (wsconn_send(b->ws, s, strlen(s)) != 0) fl_bad(b, "the socket's send queue is full");
}

static void fl_send_action_inproc(struct fl_bot *b, struct fl_action *a)
{
    struct proto_cmsg m;
    if (!b->resumed) return; /* written after the next hello is confirmed */
    memset(&m, 0, sizeof(m));
    m.type = PROTO_C_ACTION;
    m.action = a->action;
    if (a->action == ENGINE_RAISE) {
        m.has_amount = true;
        m.amount = a->amount;
    }
    m.has_hand_id = true;
    m.hand_id = a->hand_id;
    snprintf(m.request_id, sizeof(m.request_id), "%s", a->rid);
    char *s = proto_encode_client(&m);
    fl_ws_send(b, s);
    free(s);
    a->sent_session = b->sessions;
}

static void fl_sit_out_inproc(struct fl_bot *b)
{
    if (!b->resumed) return;
    fl_ws_send(b, "{\"type\":\"sit_out\"}");
    b->sit_out_session = true;
}

static void fl_ws_open(struct wsconn *c, void *user)
{
    struct fl_bot *b = user;
    b->sessions++;
    b->resumed = false;
    b->sit_out_session = false;
    if (b->spectator) return; /* the server sends a snapshot */
    /* Like felt: what the old socket did not write is dropped (it is resent after the hello
     * is confirmed), then hello with the last seq applied, then a ping whose pong confirms it. */
    wsconn_clear_queue(c);
    struct proto_cmsg m;
    memset(&m, 0, sizeof(m));
    m.type = PROTO_C_HELLO;
    snprintf(m.token, sizeof(m.token), "%s", b->token);
    if (b->have_seq) {
        m.has_last_seq = true;
        m.last_seq = b->last_seq;
    }
    char *s = proto_encode_client(&m);
    if (wsconn_send_first(c, s, strlen(s)) != 0) fl_bad(b, "hello did not fit in the queue");
    free(s);
    char ping[64];
    b->hello_ping = FL_PING_BASE + ++b->next_ping;
    snprintf(ping, sizeof(ping), "{\"type\":\"ping\",\"id\":%lld}", (long long)b->hello_ping);
    fl_ws_send(b, ping);
}

static void fl_ws_message(struct wsconn *c, void *user, const char *buf, size_t len)
{
    (void)c;
    fl_bot_message(user, buf, len);
}

static void fl_ws_close(struct wsconn *c, void *user, int code, const char *reason)
{
    struct fl_bot *b = user;
    (void)c;
    b->resumed = false;
    if (code == 4401 || code == 4409 || code == 1000)
        fl_bad(b, "closed by the server: %d %s", code, reason ? reason : "");
    fl_disconnected(b);
}

static void fl_ws_open_bot(struct fl_bot *b)
{
    struct fleet *f = b->f;
    char url[256], err[128];
    struct wsconn_config cfg;
    if (b->spectator)
        snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws/spectate/%s", f->o->client_port, b->t->id);
    else
        snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws/game/%s/%s", f->o->client_port, b->t->id,
                 b->player_id);
    memset(&cfg, 0, sizeof(cfg));
    cfg.url = url;
    cfg.subprotocol = PROTO_SUBPROTOCOL;
    cfg.deflate = b->idx % 2 == 0; /* half the fleet compressed, half not */
    cfg.reconnect = true;
    cfg.max_queue = 256;
    cfg.user = b;
    cfg.on_open = fl_ws_open;
    cfg.on_message = fl_ws_message;
    cfg.on_close = fl_ws_close;
    b->ws = wsconn_new(f->loop, &cfg, err, sizeof(err));
    if (!b->ws) fl_bad(b, "wsconn_new: %s", err);
}

static void fl_join_next(struct fleet *f);

static void fl_join_done(void *arg, const struct wshttp_result *r)
{
    struct fl_bot *b = arg;
    struct fleet *f = b->f;
    json_object *j = r->status == 200 ? jparse(r->body, r->body_len) : NULL;
    f->joins_in_flight--;
    if (jstr(j, "player_id") && jstr(j, "token")) {
        snprintf(b->player_id, sizeof(b->player_id), "%s", jstr(j, "player_id"));
        snprintf(b->token, sizeof(b->token), "%s", jstr(j, "token"));
        f->joined++;
        fl_ws_open_bot(b);
    } else {
        f->join_failed++;
        fl_bad(b, "join failed: HTTP %d %.200s", r->status, r->body ? r->body : r->error);
    }
    json_object_put(j);
    fl_join_next(f);
    fl_poke(f);
}

/* Joins in-process players over HTTP, straight to feltd, a few at a time. */
static void fl_join_next(struct fleet *f)
{
    while (f->joins_in_flight < FL_JOINS_IN_FLIGHT && f->next_join < f->nbots) {
        struct fl_bot *b = &f->bots[f->next_join++];
        if (b->felt) continue;
        if (b->spectator) {
            fl_ws_open_bot(b);
            continue;
        }
        char url[256], body[128];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/games/%s/join", f->o->server_port,
                 b->t->id);
        snprintf(body, sizeof(body), "{\"name\":\"%s\",\"buy_in\":%lld}", b->name,
                 (long long)f->o->buy_in);
        if (wshttp_request(f->loop, url, body, NULL, fl_join_done, b) != 0) {
            f->join_failed++;
            fl_bad(b, "bad join URL");
            continue;
        }
        f->joins_in_flight++;
    }
}

/* ---- felt --json bots ------------------------------------------------------------------ */

static void fl_felt_write(struct fl_bot *b, const char *line)
{
    size_t len = strlen(line);
    char buf[512];
    if (b->in_fd < 0) return;
    snprintf(buf, sizeof(buf), "%s\n", line);
    /* Non-blocking: a felt that stopped reading its stdin is a failure, not a hang. */
    if (write(b->in_fd, buf, len + 1) != (ssize_t)(len + 1))
        fl_bad(b, "could not write to felt's stdin: %s", strerror(errno));
}

static void fl_felt_connection(struct fl_bot *b, json_object *j)
{
    const char *st = jstr(j, "state");
    if (!st) return;
    if (jstr(j, "player_id") && !b->player_id[0])
        snprintf(b->player_id, sizeof(b->player_id), "%s", jstr(j, "player_id"));
    if (strcmp(st, "connected") == 0) {
        b->sessions++;
        fl_connected(b);
    } else if (strcmp(st, "reconnecting") == 0 || strcmp(st, "connecting") == 0) {
        fl_disconnected(b);
    } else if (!b->f->leaving || strcmp(st, "offline") != 0) {
        fl_bad(b, "felt's session is %s: %s", st, jstr(j, "reason") ? jstr(j, "reason") : "");
        fl_disconnected(b);
    }
}

static void fl_felt_line(struct fl_bot *b, const char *line, size_t len)
{
    json_object *j = jparse(line, len);
    if (!j) {
        fl_bad(b, "felt printed a line that is not JSON: %.120s", line);
        return;
    }
    if (fl_is_str(j, "type", "connection"))
        fl_felt_connection(b, j);
    else
        fl_bot_message(b, line, len);
    json_object_put(j);
}

static void fl_felt_readable(void *arg)
{
    struct fl_bot *b = arg;
    char buf[65536];
    ssize_t n = read(b->out_fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
        wsloop_forget_fd(b->f->loop, b->out_fd);
        b->out_eof = true;
        if (!b->f->calm) fl_bad(b, "felt exited during play");
        fl_disconnected(b);
        fl_poke(b->f);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] != '\n') {
            if (b->line_len + 1 >= b->line_cap) {
                b->line_cap = b->line_cap ? b->line_cap * 2 : 4096;
                b->line = xrealloc(b->line, b->line_cap);
            }
            b->line[b->line_len++] = buf[i];
            continue;
        }
        b->line[b->line_len] = '\0';
        if (b->line_len > 0) fl_felt_line(b, b->line, b->line_len);
        b->line_len = 0;
    }
}

static int fl_felt_spawn(struct fl_bot *b)
{
    struct fleet *f = b->f;
    int in[2], out[2];
    char server[64], buyin[32];
    pid_t parent = getpid();
    snprintf(server, sizeof(server), "ws://127.0.0.1:%d", f->o->client_port);
    snprintf(buyin, sizeof(buyin), "%lld", (long long)f->o->buy_in);
    if (pipe2(in, O_CLOEXEC) != 0) return -1;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        const char *argv[] = {f->o->felt_path, "--json", "--server", server,     "--game",
                              b->t->id,        "--name", b->name,    "--buy-in", buyin,
                              "--transport",   "ws",     NULL};
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(126);
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        setenv("XDG_STATE_HOME", f->o->state_dir, 1);
        execv(f->o->felt_path, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    b->pid = pid;
    b->in_fd = in[1];
    b->out_fd = out[0];
    fcntl(b->in_fd, F_SETFL, fcntl(b->in_fd, F_GETFL) | O_NONBLOCK);
    if (wsloop_adopt_fd(f->loop, b->out_fd, fl_felt_readable, b) != 0) return -1;
    return 0;
}

/* Closes felt's stdin (it leaves the table and exits 0) and collects its exit status. */
static void fl_felt_finish(struct fleet *f)
{
    f->leaving = true;
    for (int i = 0; i < f->nbots; i++)
        if (f->bots[i].felt && f->bots[i].in_fd >= 0) {
            close(f->bots[i].in_fd);
            f->bots[i].in_fd = -1;
        }
    for (;;) {
        bool all = true;
        for (int i = 0; i < f->nbots; i++)
            all &= !f->bots[i].felt || f->bots[i].out_eof;
        if (all || f->timed_out) break;
        wsloop_run(f->loop);
    }
    for (int i = 0; i < f->nbots; i++) {
        struct fl_bot *b = &f->bots[i];
        int st = 0;
        if (!b->felt || b->pid <= 0) continue;
        if (!b->out_eof) {
            wsloop_forget_fd(f->loop, b->out_fd);
            kill(b->pid, SIGKILL);
        }
        while (waitpid(b->pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fl_fail(f, "%s: felt exited with status %d (signal %d) after leaving", b->name,
                    WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        close(b->out_fd);
        b->pid = 0;
    }
}

/* ---- phases ---------------------------------------------------------------------------- */

static void fl_deadline_fire(void *arg)
{
    struct fleet *f = arg;
    f->timed_out = true;
    fl_poke(f);
}

static void fl_play_fire(void *arg)
{
    struct fleet *f = arg;
    f->stop_play = true;
    for (int i = 0; i < f->nbots; i++)
        fl_sit_out(&f->bots[i]);
    fl_poke(f);
}

/* A table is finished when every client at it sees no hand running and every player sitting
 * out, after the last hand. */
static bool fl_bot_sees_finished(const struct fl_bot *b)
{
    const struct fleet *f = b->f;
    if (!b->m.have || b->m.hand_running) return false;
    if (f->o->hands > 0 && b->m.hand_id < f->o->hands) return false;
    if (f->o->hands == 0 && !f->stop_play) return false;
    int players = 0;
    for (int s = 0; s < ENGINE_MAX_SEATS; s++) {
        if (!b->m.p[s].present) continue;
        players++;
        if (!b->m.p[s].sitting_out) return false;
    }
    return players == f->o->bots;
}

static void fl_bot_check_finished(struct fl_bot *b)
{
    struct fl_table *t = b->t;
    if (t->finished || !fl_bot_sees_finished(b)) return;
    for (int i = 0; i < t->nbots; i++)
        if (!fl_bot_sees_finished(t->bots[i])) return;
    t->finished = true;
    fl_poke(b->f);
}

static bool fl_all_finished(const struct fleet *f)
{
    for (int i = 0; i < f->o->tables; i++)
        if (!f->tables[i].finished) return false;
    return true;
}

static bool fl_all_connected(const struct fleet *f)
{
    for (int i = 0; i < f->nbots; i++)
        if (!f->bots[i].connected) return false;
    return true;
}

static void fl_state_done(void *arg, const struct wshttp_result *r)
{
    struct fl_table *t = arg;
    struct fleet *f = t->bots[0]->f;
    json_object *j = r->status == 200 ? jparse(r->body, r->body_len) : NULL;
    json_object *evs = jget(j, "events");
    json_object *snap =
        evs && json_object_is_type(evs, json_type_array) && json_object_array_length(evs) == 1
            ? json_object_array_get_idx(evs, 0)
            : NULL;
    t->state_in_flight = false;
    if (!snap || !fl_is_str(snap, "type", "snapshot")) {
        fl_fail(f, "table %s: GET state answered %d without a snapshot", t->id, r->status);
    } else {
        json_object_put(t->final);
        t->final = json_object_get(jget(snap, "data"));
        t->final_seq = (uint64_t)jint(snap, "seq", 0);
    }
    json_object_put(j);
    fl_poke(f);
}

static void fl_state_fetch(struct fleet *f, struct fl_table *t)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/games/%s/state", f->o->server_port, t->id);
    t->state_rounds++;
    t->state_in_flight = wshttp_request(f->loop, url, NULL, NULL, fl_state_done, t) == 0;
    if (!t->state_in_flight) fl_fail(f, "table %s: cannot ask for the state", t->id);
}

/* Compares a client's final model with the server's final snapshot. */
static void fl_compare(struct fleet *f, struct fl_table *t, struct fl_bot *b)
{
    json_object *d = t->final;
    const struct fl_model *m = &b->m;
    char who[80];
    snprintf(who, sizeof(who), "table %s, %s's view", t->id, b->name);
    if (jint(d, "hand_id", -2) != m->hand_id)
        fl_fail(f, "%s: hand %lld, server %lld", who, (long long)m->hand_id,
                (long long)jint(d, "hand_id", -2));
    if (jbool(d, "hand_running", true) != m->hand_running)
        fl_fail(f, "%s: hand_running %d, server %d", who, m->hand_running,
                jbool(d, "hand_running", true));
    if (jint(d, "button", -2) != m->button)
        fl_fail(f, "%s: button %d, server %lld", who, m->button, (long long)jint(d, "button", -2));
    json_object *board = jget(d, "board");
    int nboard = m->hand_running ? m->nboard : 0;
    if (!board || (int)json_object_array_length(board) != nboard)
        fl_fail(f, "%s: board of %d cards, server's differs", who, nboard);
    for (int i = 0; board && i < nboard && i < (int)json_object_array_length(board); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(board, (size_t)i)),
                   m->board[i]) != 0)
            fl_fail(f, "%s: board card %d is %s, server's differs", who, i, m->board[i]);
    if (fl_sum_pots(jget(d, "pots")) != m->pots)
        fl_fail(f, "%s: pots %lld, server %lld", who, (long long)m->pots,
                (long long)fl_sum_pots(jget(d, "pots")));
    json_object *players = jget(d, "players");
    int seen = 0;
    for (size_t i = 0; players && i < json_object_array_length(players); i++) {
        json_object *p = json_object_array_get_idx(players, i);
        int seat = (int)jint(p, "seat", -1);
        if (seat < 0 || seat >= ENGINE_MAX_SEATS || !m->p[seat].present) {
            fl_fail(f, "%s: server has a player at seat %d the client does not know", who, seat);
            continue;
        }
        const struct fl_player *mp = &m->p[seat];
        const char *status = mp->sitting_out ? "sitting_out" : "waiting";
        seen++;
        if (!fl_is_str(p, "player_id", mp->id) || !fl_is_str(p, "name", mp->name) ||
            jint(p, "stack", -1) != mp->stack || jint(p, "bet", -1) != mp->bet ||
            (!m->hand_running && !fl_is_str(p, "status", status)) ||
            jbool(p, "connected", !mp->connected) != mp->connected)
            fl_fail(f, "%s: seat %d is %s/%s stack %lld bet %lld %s %s; server: %s", who, seat,
                    mp->id, mp->name, (long long)mp->stack, (long long)mp->bet, status,
                    mp->connected ? "connected" : "disconnected",
                    json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
    }
    int known = 0;
    for (int s = 0; s < ENGINE_MAX_SEATS; s++)
        known += m->p[s].present;
    if (known != seen) fl_fail(f, "%s: %d players, server %d", who, known, seen);
}

/* Every check of one bot that needs the whole run. */
static void fl_bot_final(struct fleet *f, struct fl_bot *b)
{
    for (int i = 0; i < b->bad && i < FL_BAD_KEPT; i++)
        fl_fail(f, "%s: %s", b->name, b->bad_text[i]);
    if (b->bad > FL_BAD_KEPT)
        fl_fail(f, "%s: ... and %d more problems", b->name, b->bad - FL_BAD_KEPT);
    if (!b->connected) fl_fail(f, "%s: not connected at the end", b->name);
    if (b->disconnects != b->reconnects)
        fl_fail(f, "%s: %" PRIu64 " disconnects but %" PRIu64 " resumes", b->name, b->disconnects,
                b->reconnects);
    if (b->spectator) return;
    if (b->snapshots != 1)
        fl_fail(f, "%s: %d snapshots (want exactly one: every resume replays)", b->name,
                b->snapshots);
    for (size_t i = 0; i < b->nacts; i++)
        if (b->acts[i].acks == 0)
            fl_fail(f, "%s: action %s (hand %lld) was never acked", b->name, b->acts[i].rid,
                    (long long)b->acts[i].hand_id);
    for (size_t h = 0; h < b->nhands; h++)
        if (b->hands[h].accepted != b->hands[h].events)
            fl_fail(f,
                    "%s: hand %zu: %d actions accepted but %d action events of ours "
                    "(besides %d the server made)",
                    b->name, h, b->hands[h].accepted, b->hands[h].events, b->hands[h].server_acts);
    if (!b->sat_out_seen) fl_fail(f, "%s: its sit_out never showed in the stream", b->name);
    int64_t brought = (int64_t)f->o->bots * f->o->buy_in;
    if (b->m.chips != brought)
        fl_fail(f, "%s: the table holds %lld chips, %lld were brought", b->name,
                (long long)b->m.chips, (long long)brought);
}

static void fl_final_phase(struct fleet *f)
{
    /* Wait for every client to be connected, then for each table take the server's snapshot
     * and wait until every client at it has seen exactly up to its seq (nothing else happens:
     * no hand runs and the faults have stopped); a client ahead means the state moved on
     * (a presence notice): fetch again. */
    for (;;) {
        if (f->timed_out) return;
        if (!fl_all_connected(f)) {
            wsloop_run(f->loop);
            continue;
        }
        bool all = true;
        for (int i = 0; i < f->o->tables; i++) {
            struct fl_table *t = &f->tables[i];
            if (t->checked) continue;
            all = false;
            if (t->state_in_flight) continue;
            if (!t->final) {
                fl_state_fetch(f, t);
                continue;
            }
            bool behind = false, ahead = false;
            for (int k = 0; k < t->nbots; k++) {
                behind |= t->bots[k]->last_seq < t->final_seq;
                ahead |= t->bots[k]->last_seq > t->final_seq;
            }
            if (ahead) {
                if (t->state_rounds >= FL_STATE_ROUNDS) {
                    fl_fail(f, "table %s: the state never settled", t->id);
                    t->checked = true;
                    continue;
                }
                json_object_put(t->final);
                t->final = NULL;
                fl_state_fetch(f, t);
                continue;
            }
            if (behind) continue;
            for (int k = 0; k < t->nbots; k++)
                fl_compare(f, t, t->bots[k]);
            json_object *players = jget(t->final, "players");
            int64_t sum = fl_sum_pots(jget(t->final, "pots"));
            for (size_t p = 0; players && p < json_object_array_length(players); p++)
                sum += jint(json_object_array_get_idx(players, p), "stack", 0);
            if (sum != (int64_t)f->o->bots * f->o->buy_in)
                fl_fail(f,
                        "table %s: the server's final snapshot holds %lld chips, %lld were "
                        "brought",
                        t->id, (long long)sum, (long long)f->o->bots * f->o->buy_in);
            t->checked = true;
        }
        if (all) return;
        bool left = false;
        for (int i = 0; i < f->o->tables; i++)
            left |= !f->tables[i].checked;
        if (left) wsloop_run(f->loop);
    }
}

/* Where every client stands (after a deadline passed). */
static void fl_dump(const struct fleet *f)
{
    for (int i = 0; i < f->o->tables; i++) {
        const struct fl_table *t = &f->tables[i];
        fprintf(stderr, "fleet: table %s: finished %d, checked %d, server seq %" PRIu64 "\n", t->id,
                t->finished, t->checked, t->final_seq);
        for (int k = 0; k < t->nbots; k++) {
            const struct fl_bot *b = t->bots[k];
            fprintf(stderr,
                    "fleet:   %s: %s, seq %" PRIu64 ", hand %lld%s, sees finished %d, sat out "
                    "%d/%d, actions %zu\n",
                    b->name, b->connected ? "connected" : "DISCONNECTED", b->last_seq,
                    (long long)b->m.hand_id, b->m.hand_running ? " running" : "",
                    fl_bot_sees_finished(b), b->sit_out_sent, b->sat_out_seen, b->nacts);
        }
    }
}

int fleet_run(const struct fleet_opts *o, struct fleet_report *rep)
{
    struct fleet fs, *f = &fs;
    struct wsloop_config lc = {.max_conns = 0, .quiet = true};
    int per_table = o->bots + o->spectators;

    memset(rep, 0, sizeof(*rep));
    memset(f, 0, sizeof(*f));
    f->o = o;
    lc.max_conns = o->tables * per_table + 64;
    f->loop = wsloop_new(&lc);
    if (!f->loop) {
        rep->failures = 1;
        snprintf(rep->first_failure, sizeof(rep->first_failure), "wsloop_new failed");
        return -1;
    }
    f->deadline = wstimer_new(f->loop, fl_deadline_fire, f);
    f->play_timer = wstimer_new(f->loop, fl_play_fire, f);
    wstimer_arm(f->deadline, o->deadline_ms);
    f->tables = xcalloc((size_t)o->tables, sizeof(*f->tables));
    f->nbots = o->tables * per_table;
    f->bots = xcalloc((size_t)f->nbots, sizeof(*f->bots));
    for (int i = 0; i < o->tables; i++) {
        struct fl_table *t = &f->tables[i];
        snprintf(t->id, sizeof(t->id), "%s%d", o->table_prefix, i);
        t->bots = xcalloc((size_t)per_table, sizeof(*t->bots));
        for (int k = 0; k < per_table; k++) {
            struct fl_bot *b = &f->bots[i * per_table + k];
            b->f = f;
            b->t = t;
            b->idx = i * per_table + k;
            b->spectator = k >= o->bots;
            b->felt = o->felt_path && !b->spectator;
            b->in_fd = b->out_fd = -1;
            snprintf(b->name, sizeof(b->name), "%s%d-%s%d", o->table_prefix, i,
                     b->spectator ? "spec" : "bot", k);
            rng_init_seeded(&b->rng, o->seed * 1000003ULL + (uint64_t)b->idx);
            if (!b->spectator && o->think_ms > 0) b->think = wstimer_new(f->loop, fl_think_fire, b);
            t->bots[t->nbots++] = b;
        }
    }

    /* Join: felt processes join by themselves (through the proxy), in-process players over
     * HTTP straight to feltd; spectators just connect. */
    for (int i = 0; i < f->nbots; i++)
        if (f->bots[i].felt && fl_felt_spawn(&f->bots[i]) != 0)
            fl_bad(&f->bots[i], "cannot start felt");
    fl_join_next(f);
    if (o->hands == 0) wstimer_arm(f->play_timer, o->seconds * 1000);

    /* Play until every table has finished its hands (or the time is up). */
    while (!fl_all_finished(f) && !f->timed_out)
        wsloop_run(f->loop);
    if (f->timed_out) {
        fl_fail(f, "the tables did not finish within the deadline");
        fl_dump(f);
    }

    /* Calm: no more faults; connected time is counted up to here. */
    int64_t now = fl_now_ms();
    for (int i = 0; i < f->nbots; i++)
        fl_connected_time(&f->bots[i], now);
    f->calm = true;
    f->calm_ms = now;
    if (o->calm) o->calm(o->calm_arg);
    fl_final_phase(f);
    if (f->timed_out) {
        fl_fail(f, "the final checks did not complete within the deadline");
        fl_dump(f);
    }
    for (int i = 0; i < o->tables; i++) {
        struct fl_table *t = &f->tables[i];
        rep->hands += (uint64_t)(t->final ? jint(t->final, "hand_id", 0) : 0);
    }

    /* Totals and per-bot checks. */
    int64_t span = 0, up = 0;
    for (int i = 0; i < f->nbots; i++) {
        struct fl_bot *b = &f->bots[i];
        fl_bot_final(f, b);
        rep->bots += !b->spectator;
        rep->spectators += b->spectator;
        rep->actions_sent += b->nacts;
        for (size_t k = 0; k < b->nacts; k++)
            rep->accepted += b->acts[k].acks > 0 && b->acts[k].accepted;
        for (size_t k = 0; k < b->nacts; k++)
            rep->resent += b->acts[k].resent;
        rep->rejected += b->rejected;
        rep->events += b->events;
        rep->disconnects += b->disconnects;
        rep->reconnects += b->reconnects;
        if (b->max_reconnect_ms > rep->max_reconnect_ms)
            rep->max_reconnect_ms = b->max_reconnect_ms;
        if (b->first_connected_ms > 0) {
            span += f->calm_ms - b->first_connected_ms;
            up += b->connected_ms;
        }
    }
    rep->connected_pct = span > 0 ? 100.0 * (double)up / (double)span : 0.0;

    /* Shut down: felt processes leave (and must exit 0), in-process sockets close. */
    fl_felt_finish(f);
    for (int i = 0; i < f->nbots; i++) {
        struct fl_bot *b = &f->bots[i];
        if (b->ws) wsconn_close(b->ws, 1000, "done");
        b->ws = NULL;
    }
    wstimer_free(f->deadline);
    wstimer_free(f->play_timer);
    for (int i = 0; i < f->nbots; i++)
        wstimer_free(f->bots[i].think);
    wsloop_free(f->loop);
    for (int i = 0; i < f->nbots; i++) {
        struct fl_bot *b = &f->bots[i];
        json_object_put(b->to_act);
        free(b->acts);
        free(b->hands);
        free(b->line);
    }
    for (int i = 0; i < o->tables; i++) {
        free(f->tables[i].bots);
        free(f->tables[i].hash);
        json_object_put(f->tables[i].final);
    }
    free(f->tables);
    free(f->bots);
    rep->failures = f->failures;
    _Static_assert(sizeof(rep->first_failure) == sizeof(f->first_failure), "same size");
    memcpy(rep->first_failure, f->first_failure, sizeof(rep->first_failure));
    return f->failures == 0 ? 0 : -1;
}

void fleet_report_print(const struct fleet_report *r, const char *title)
{
    fprintf(stderr,
            "%s: %d bots, %d spectators, %" PRIu64 " hands, %" PRIu64 " actions sent (%" PRIu64
            " accepted, %" PRIu64 " refused, %" PRIu64 " answered after a reconnect), %" PRIu64
            " events received, %" PRIu64 " disconnects, %" PRIu64
            " resumes (%.1f%%), longest resume %lld ms, connected "
            "%.4f%% of the time, %d failures\n",
            title, r->bots, r->spectators, r->hands, r->actions_sent, r->accepted, r->rejected,
            r->resent, r->events, r->disconnects, r->reconnects,
            r->disconnects ? 100.0 * (double)r->reconnects / (double)r->disconnects : 100.0,
            (long long)r->max_reconnect_ms, r->connected_pct, r->failures);
}
