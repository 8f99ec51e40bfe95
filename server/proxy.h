/*
 * proxy.h: a player's socket on a node that does not play the player's table (several nodes,
 * docs/scaling.md), carried to the node that does, its owner, over a WebSocket of this node's
 * own (the "upstream"). The owner plays the player exactly as if they were connected to it: it
 * checks the token, numbers and renders their events (their own hole cards included), replays
 * what a resume missed, and applies each action once by its request_id. This node only passes
 * the frames on, unread, both ways. So the rules of one node hold across nodes by construction,
 * and a hole card crosses only the link from its owner node to its player's node, never Redis.
 *
 * What a proxy adds is the owner's lifetime. When the table changes owner (the upstream closes
 * with 1012 or breaks, or the owner's URL published through Redis changes), the proxy opens an
 * upstream to the new owner and says hello there for its player, with the token from the
 * player's own hello: the player's socket stays open and is sent the new owner's snapshot (a new
 * epoch: the hand in play was voided). The first upstream is sent the player's hello as the
 * player wrote it, so a resume (last_seq, epoch) made through any node is the owner's to answer:
 * exactly the missed events. Every other close of the owner's (4401, 4409, 1000, ...) is passed
 * on to the player after what came before it; an upgrade the owner refuses with 403 (it does
 * not know the player) closes the player's socket with 4401, as its hello would have.
 *
 * Bounded both ways: at most PROXY_UP_MAX messages wait for the owner (reading the player's
 * socket pauses beyond that), and at most PROXY_DOWN_BYTES for the player (reading the upstream
 * pauses beyond that, so a slow player slows only its own upstream, and the owner's rule for a
 * slow reader applies: a fresh snapshot rather than a backlog). A player whose table has no
 * owner for PROXY_WAIT_MS is closed with 1012; when this node takes the table itself the player
 * is closed with 1012 too, and reconnects here as a local player.
 *
 * proxy.c holds no socket: net.c opens and writes the upstream and the player's socket through
 * struct proxy_io, and feeds back what they read. Calls run net.c -> proxy.c -> table.h
 * (owner_url, standby), timer.h.
 */
#ifndef FELT_PROXY_H
#define FELT_PROXY_H

#include <stdbool.h>
#include <stddef.h>

#include "server.h"

#define PROXY_UP_MAX 32              /* the player's messages waiting for the owner */
#define PROXY_DOWN_BYTES (256 * 1024) /* the owner's bytes waiting for the player */
#define PROXY_MSG_MAX (1u << 20)     /* the longest frame taken from an owner (a snapshot) */
#define PROXY_TICK_MS 250            /* the owner's URL looked at; a failed upstream is retried
                                        at a tick after the backoff (proxy_io.retry_ms) */
#define PROXY_WAIT_MS 20000          /* without an owner this long, the player is closed */

/* What the proxy asks of the network layer; `link` is the handle given to proxy_new. */
struct proxy_io {
    /* Open an upstream WebSocket to url (ws://HOST:PORT or wss://...), path the player's. Any
     * upstream still open has been dropped first. Returns 0, or -1 (retried at the next tick). */
    int (*connect)(void *link, const char *url, const char *path);
    /* Close the upstream without a word (the table moved): proxy_upstream_closed follows. */
    void (*drop)(void *link);
    /* proxy_next_down or a close for the player; proxy_next_up for the upstream. */
    void (*wake_player)(void *link);
    void (*wake_owner)(void *link);
    /* How long to wait before the next upstream after `tries` failed ones in a row (the
     * network layer's backoff policy). */
    int64_t (*retry_ms)(void *link, unsigned tries);
    /* Stop or resume reading the player's socket, the upstream. */
    void (*pause_player)(void *link, bool pause);
    void (*pause_owner)(void *link, bool pause);
};

struct proxy;

/* A player's socket at t (standing by here), for player_id, whose path on the owner is `path`
 * (/ws/game/T/ID); starts looking for the owner at once. */
struct proxy *proxy_new(struct table *t, const char *path, const struct proxy_io *io,
                        void *link);
void proxy_free(struct proxy *p);

/* A complete message from the player. */
void proxy_player_message(struct proxy *p, const char *buf, size_t len);
/* The next message for the upstream (borrowed until proxy_sent_up), or NULL. */
const struct msg *proxy_next_up(struct proxy *p);
void proxy_sent_up(struct proxy *p);

/* The upstream opened (its handshake done). */
void proxy_upstream_open(struct proxy *p);
/* A complete frame from the owner (text, at most PROXY_MSG_MAX: net.c checks). */
void proxy_owner_message(struct proxy *p, const char *buf, size_t len);
/* The upstream closed, with the owner's close code and reason (0, "" when it broke or never
 * opened). */
void proxy_upstream_closed(struct proxy *p, int code, const char *reason);

/* The next frame for the player (borrowed until proxy_sent_down), or NULL. */
const struct msg *proxy_next_down(struct proxy *p);
void proxy_sent_down(struct proxy *p);
/* With nothing left to send: the close for the player (true, code and reason), or false. */
bool proxy_close_due(const struct proxy *p, int *code, const char **reason);
/* An error for the player (docs/protocol.md's `error`), from this node: after what is queued. */
void proxy_reply_error(struct proxy *p, const char *code, const char *message);
/* Closes the player's socket with code and reason once what is queued for it is sent (the
 * upstream goes at once). */
void proxy_close(struct proxy *p, int code, const char *reason);
/* Messages waiting for the upstream. */
int proxy_queued(const struct proxy *p);
/* Whether the player's socket is to close (nothing more it sends is read). */
bool proxy_closing(const struct proxy *p);

#endif
