/*
 * proxy.c: a player's socket carried to its table's owner node (proxy.h says what and why).
 *
 * The state of one proxied player: the upstream's state and the owner it is for, the hello to
 * say first on each new upstream, and the two bounded queues. A timer looks at the table's
 * owner every PROXY_TICK_MS: it opens the upstream when there is none, moves it when the owner
 * changed, and gives up after PROXY_WAIT_MS without one. Nothing here reads a frame but the
 * player's first (its hello, for the token), and nothing is logged that holds one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

#define PROXY_PATH_MAX 128

struct proxy_frame {
    struct msg *m;
    struct proxy_frame *next;
};

enum proxy_up { PROXY_UP_NONE, PROXY_UP_CONNECTING, PROXY_UP_OPEN };

struct proxy {
    struct table *t;
    char path[PROXY_PATH_MAX];
    const struct proxy_io *io;
    void *link;
    struct timer *tick;

    enum proxy_up up;
    char up_url[TABLE_URL_MAX + 1]; /* the owner the upstream is for */
    int64_t alone_since_us;         /* no upstream open since then; 0 while one is */
    unsigned tries;                 /* upstreams failed in a row (reset when one opens) */
    int64_t retry_at_us;            /* no new upstream before then */

    /* The player's hello (its first message): sent first on every upstream. The first upstream
     * gets it as the player wrote it (a resume's last_seq and epoch are for the owner to
     * answer); once it went, it is replaced by a plain hello with the same token, which asks a
     * later owner for a snapshot (its epoch is another). NULL: not seen yet, or no hello. */
    struct msg *hello;
    struct msg *plain;              /* the plain hello, made with it; NULL once it replaced it */
    bool first_seen;                /* the player's first message was read */
    bool hello_sent;                /* ... on the upstream open now */
    bool sending_hello;             /* what proxy_next_up returned is the hello */

    struct msg *up_q[PROXY_UP_MAX]; /* the player's messages for the owner, oldest first */
    int up_head, up_n;
    bool player_paused;

    struct proxy_frame *down_head, *down_tail; /* the owner's frames for the player */
    size_t down_bytes;
    bool owner_paused;

    int close_code;                 /* non-zero: close the player's socket with it, when the */
    char close_reason[124];         /* frames before it are sent */
};

static void proxy_tick_fire(void *arg);

struct proxy *proxy_new(struct table *t, const char *path, const struct proxy_io *io,
                        void *link)
{
    struct proxy *p = xcalloc(1, sizeof(*p));
    p->t = t;
    snprintf(p->path, sizeof(p->path), "%s", path);
    p->io = io;
    p->link = link;
    p->alone_since_us = timer_now_us();
    p->tick = timer_new(proxy_tick_fire, p);
    timer_arm(p->tick, 0); /* the first upstream at once */
    return p;
}

void proxy_free(struct proxy *p)
{
    if (!p)
        return;
    timer_free(p->tick);
    msg_unref(p->hello);
    msg_unref(p->plain);
    for (int i = 0; i < p->up_n; i++)
        msg_unref(p->up_q[(p->up_head + i) % PROXY_UP_MAX]);
    while (p->down_head) {
        struct proxy_frame *f = p->down_head;
        p->down_head = f->next;
        msg_unref(f->m);
        free(f);
    }
    free(p);
}

/* The player's socket closes with code once what is queued for it is sent; nothing more is
 * read from either side. */
void proxy_close(struct proxy *p, int code, const char *reason)
{
    if (p->close_code)
        return;
    p->close_code = code;
    snprintf(p->close_reason, sizeof(p->close_reason), "%s", reason);
    timer_cancel(p->tick);
    if (p->up != PROXY_UP_NONE) {
        p->io->drop(p->link);
        p->up = PROXY_UP_NONE;
    }
    p->io->wake_player(p->link);
}

/* ---- toward the owner ---------------------------------------------------------------------- */

/* The player's first message: a hello with a token is kept apart, to be said on every upstream;
 * anything else goes on as it is (the owner answers it). */
static bool proxy_take_hello(struct proxy *p, const char *buf, size_t len)
{
    struct proto_cmsg m;
    struct felt_err err;
    if (proto_decode_client(buf, len, &m, &err) < 0 || m.type != PROTO_C_HELLO || !m.token[0])
        return false;
    p->hello = msg_from_bytes(buf, len);
    m.has_last_seq = false;
    m.epoch[0] = '\0';
    char *s = proto_encode_client(&m);
    p->plain = msg_from_string(s, strlen(s));
    explicit_bzero(&m, sizeof(m));
    return true;
}

void proxy_player_message(struct proxy *p, const char *buf, size_t len)
{
    if (p->close_code)
        return;
    bool first = !p->first_seen;
    p->first_seen = true;
    if (first && proxy_take_hello(p, buf, len)) {
        if (p->up == PROXY_UP_OPEN)
            p->io->wake_owner(p->link);
        return;
    }
    if (p->up_n == PROXY_UP_MAX) {
        /* Not read while the queue is full (pause_player below), so this cannot happen unless
         * the layer above read past a pause: the owner could not tell it was lost. */
        proxy_close(p, 1008, "too many messages waiting for the table's server");
        return;
    }
    p->up_q[(p->up_head + p->up_n) % PROXY_UP_MAX] = msg_from_bytes(buf, len);
    if (++p->up_n == PROXY_UP_MAX && !p->player_paused) {
        p->player_paused = true;
        p->io->pause_player(p->link, true);
    }
    if (p->up == PROXY_UP_OPEN)
        p->io->wake_owner(p->link);
}

const struct msg *proxy_next_up(struct proxy *p)
{
    if (p->up != PROXY_UP_OPEN || p->close_code)
        return NULL;
    p->sending_hello = p->hello && !p->hello_sent;
    if (p->sending_hello)
        return p->hello;
    return p->up_n ? p->up_q[p->up_head] : NULL;
}

void proxy_sent_up(struct proxy *p)
{
    if (p->sending_hello) {
        p->sending_hello = false;
        p->hello_sent = true;
        if (p->plain) { /* later upstreams say the plain one */
            msg_unref(p->hello);
            p->hello = p->plain;
            p->plain = NULL;
        }
        return;
    }
    if (p->up_n == 0)
        return;
    msg_unref(p->up_q[p->up_head]);
    p->up_q[p->up_head] = NULL;
    p->up_head = (p->up_head + 1) % PROXY_UP_MAX;
    p->up_n--;
    if (p->player_paused && p->up_n <= PROXY_UP_MAX / 2) {
        p->player_paused = false;
        p->io->pause_player(p->link, false);
    }
}

int proxy_queued(const struct proxy *p)
{
    return p->up_n;
}

bool proxy_closing(const struct proxy *p)
{
    return p->close_code != 0;
}

/* ---- the upstream -------------------------------------------------------------------------- */

void proxy_upstream_open(struct proxy *p)
{
    if (p->up != PROXY_UP_CONNECTING)
        return;
    p->up = PROXY_UP_OPEN;
    p->hello_sent = false;
    p->alone_since_us = 0;
    p->tries = 0;
    /* A fresh upstream is read from the start: paused again if the player is still behind. */
    p->owner_paused = p->down_bytes > PROXY_DOWN_BYTES;
    if (p->owner_paused)
        p->io->pause_owner(p->link, true);
    p->io->wake_owner(p->link);
}

/* The owner's close codes that are the player's to hear: their seat or their socket, not the
 * table's whereabouts. The others (the owner went away, broke, or lost the table: 1001, 1006,
 * 1011, 1012, ...; 0 for a socket that broke or never opened) mean "the table is elsewhere":
 * the player stays, and the next tick finds the owner. */
static bool proxy_code_is_players(int code)
{
    return code == 1000 || code == 1007 || code == 1008 || code == 1009 ||
           (code >= 4000 && code <= 4999);
}

void proxy_upstream_closed(struct proxy *p, int code, const char *reason)
{
    if (p->up == PROXY_UP_NONE || p->close_code)
        return;
    p->up = PROXY_UP_NONE;
    if (!p->alone_since_us)
        p->alone_since_us = timer_now_us();
    if (proxy_code_is_players(code)) {
        proxy_close(p, code, reason ? reason : "");
        return;
    }
    /* A tick after the backoff opens another upstream, to whichever node plays the table by
     * then (at once when Redis names another owner meanwhile). */
    p->retry_at_us = timer_now_us() + p->io->retry_ms(p->link, p->tries++) * 1000;
}

/* Queues m for the player, after what the owner sent before it. */
static void proxy_down_push(struct proxy *p, struct msg *m)
{
    struct proxy_frame *f = xcalloc(1, sizeof(*f));
    f->m = m;
    if (p->down_tail)
        p->down_tail->next = f;
    else
        p->down_head = f;
    p->down_tail = f;
    p->down_bytes += m->len;
    if (p->down_bytes > PROXY_DOWN_BYTES && !p->owner_paused) {
        p->owner_paused = true;
        p->io->pause_owner(p->link, true);
    }
    p->io->wake_player(p->link);
}

void proxy_owner_message(struct proxy *p, const char *buf, size_t len)
{
    if (p->close_code || p->up != PROXY_UP_OPEN)
        return;
    proxy_down_push(p, msg_from_bytes(buf, len));
}

/* ---- toward the player --------------------------------------------------------------------- */

void proxy_reply_error(struct proxy *p, const char *code, const char *message)
{
    size_t len;
    if (p->close_code)
        return;
    char *s = proto_encode_error(code, message, &len);
    proxy_down_push(p, msg_from_string(s, len));
}

const struct msg *proxy_next_down(struct proxy *p)
{
    return p->down_head ? p->down_head->m : NULL;
}

void proxy_sent_down(struct proxy *p)
{
    struct proxy_frame *f = p->down_head;
    if (!f)
        return;
    p->down_head = f->next;
    if (!p->down_head)
        p->down_tail = NULL;
    p->down_bytes -= f->m->len;
    msg_unref(f->m);
    free(f);
    if (p->owner_paused && p->down_bytes <= PROXY_DOWN_BYTES / 2) {
        p->owner_paused = false;
        if (p->up != PROXY_UP_NONE)
            p->io->pause_owner(p->link, false);
    }
}

bool proxy_close_due(const struct proxy *p, int *code, const char **reason)
{
    if (!p->close_code || p->down_head)
        return false;
    *code = p->close_code;
    *reason = p->close_reason;
    return true;
}

/* ---- the owner's whereabouts --------------------------------------------------------------- */

static void proxy_tick_fire(void *arg)
{
    struct proxy *p = arg;
    struct table *t = p->t;
    if (p->close_code)
        return;
    timer_arm(p->tick, PROXY_TICK_MS);
    if (!t->standby) {
        /* This node plays the table now (or is taking it): the player belongs here. */
        proxy_close(p, 1012, "the table is now played on this server; connect again");
        return;
    }
    const char *owner = t->owner_url;
    if (owner[0] && strcmp(owner, p->up_url) != 0) {
        /* Another node plays the table now: its old owner's socket goes, unheard, and the
         * new one is tried at once. */
        if (p->up != PROXY_UP_NONE) {
            p->io->drop(p->link);
            p->up = PROXY_UP_NONE;
            p->alone_since_us = timer_now_us();
        }
        p->retry_at_us = 0;
        p->tries = 0;
    }
    if (p->up != PROXY_UP_NONE || timer_now_us() < p->retry_at_us)
        return;
    if (owner[0] && p->io->connect(p->link, owner, p->path) == 0) {
        p->up = PROXY_UP_CONNECTING;
        snprintf(p->up_url, sizeof(p->up_url), "%s", owner);
        return;
    }
    if (timer_now_us() - p->alone_since_us > (int64_t)PROXY_WAIT_MS * 1000)
        proxy_close(p, 1012, "no server plays this table now; connect again");
}
