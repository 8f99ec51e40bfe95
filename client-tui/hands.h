/*
 * hands.h: reading a table's hand history from feltd (GET /api/games/{id}/hands, docs/protocol.md)
 * for `felt history`, `felt replay --server` and, later, the table screen.
 *
 * hands_fetch() asks on a loop the caller already runs (the TUI's); hands_get() is the blocking
 * form for a command that has no loop of its own: it runs a private loop until the answer or a
 * timeout. Either way the answer is parsed into a struct hands_page: each record through
 * handrec_parse (the hand-format rules), with its JSON kept as served, so a caller can print it
 * again or replay it. The bearer token, when given, lets the server add the caller's own hole
 * cards; it is never printed.
 *
 * `felt history` itself (history.c) is declared here too, as replay.h declares `felt replay`.
 */
#ifndef FELT_HANDS_H
#define FELT_HANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handrec.h"
#include "proto.h"
#include "util.h"

struct wsloop;
struct hands_req;

#define HANDS_URL_MAX 1024
#define HANDS_DEFAULT_SERVER "ws://127.0.0.1:8000" /* felt's own defaults (felt.c) */
#define HANDS_DEFAULT_GAME "main"
#define HANDS_TIMEOUT_MS 10000 /* hands_get's wait, and hands_fetch's when given 0 */

/* One page of hands. */
struct hands_query {
    const char *server; /* felt's --server: ws(s)://HOST[:PORT] or http(s)://HOST[:PORT] */
    const char *game;   /* a game id */
    bool has_since;     /* the first hands after since; otherwise the newest */
    int64_t since;
    int limit;          /* 1..; 0 leaves it to the server (20) */
    const char *bearer; /* a seat's token (the caller's own cards), or NULL */
    /* hands_get only (hands_fetch uses its loop's): the PEM file to trust for https:// instead
     * of the system's store (--ca), or NULL. Must pass wsloop_ca_check. */
    const char *ca_file;
};

/* One hand as served: the parsed record and its JSON text (compact, one line). */
struct hands_hand {
    struct handrec rec;
    char *json; /* malloc'd, NUL-terminated */
    size_t json_len;
};

struct hands_page {
    char game_id[PROTO_GAME_ID_MAX + 1];
    int n;
    struct hands_hand *hand; /* n entries, oldest first (as served) */
};

/* The bases of a server URL as felt takes it (the path must be empty or "/", and
 * wsurl_usable must accept it): http_base is
 * http(s)://AUTHORITY, token_key is ws(s)://AUTHORITY, the key felt's token store files a seat
 * under (session.c keys it the same way). Either output may be NULL. Returns 0, or -1 with err
 * "bad_url". */
int hands_base(const char *server, char *http_base, char *token_key, size_t outsz,
               struct felt_err *err);

/* felt's default --name: $USER, or the account's name; NULL when there is neither. */
const char *hands_default_name(void);

/* The token felt keeps for server + game + name (token.c), copied into out: returns 1, or 0 when
 * there is none or it cannot be read (the history is then the public one). Never prints it. */
int hands_token(const char *server, const char *game, const char *name, char *out, size_t outsz);

/* The request URL for q. Returns 0, or -1 with err "bad_url", "bad_game" or "bad_limit". */
int hands_url(const struct hands_query *q, char *out, size_t outsz, struct felt_err *err);

/* Parses a 200 answer {"game_id":..., "hands":[record, ...]} into page (initialized here; free
 * with hands_page_free, also after an error). Returns 0, or -1 with err "bad_answer" (the message
 * says which hand and why). */
int hands_parse(const char *body, size_t len, struct hands_page *page, struct felt_err *err);
void hands_page_free(struct hands_page *page);

/* What a failed request means: "unreachable" (no connection or no answer, or a TLS certificate
 * that could not be verified: session_unreachable_text's line), "timeout", "http"
 * (a status other than 200; the message is the server's own, sanitized, else "HTTP N"),
 * "not_found" (404: no such game), "bad_answer". */
typedef void (*hands_done_fn)(void *arg, struct hands_page *page, const struct felt_err *err);

/* Starts GET for q on loop; done runs once, on the loop (never inside this call), with page
 * (the callback's to keep: hands_page_free it) or NULL and err. timeout_ms 0 means
 * HANDS_TIMEOUT_MS. Returns a handle, valid until done has returned or hands_cancel, or NULL with
 * err (the hands_url codes) when the query is malformed. */
struct hands_req *hands_fetch(struct wsloop *loop, const struct hands_query *q, int timeout_ms,
                              hands_done_fn done, void *arg, struct felt_err *err);
/* Withdraws a request: done never runs. NULL is allowed; so is a call from inside done (then
 * nothing happens). */
void hands_cancel(struct hands_req *r);

/* handrec_replay for a hand from a server's history: handrec_replay_published (handrec.h), which
 * accepts the replay of a record whose mucked cards are unknown when its results match. */
int hands_replay(const struct handrec *h, struct handrec_result *r, struct felt_err *err);

/* Blocking: a private loop (trusting q->ca_file, if set), HANDS_TIMEOUT_MS at most. Returns 0
 * with page filled (free it), or -1 with err (hands_url's codes, "bad_ca" when q->ca_file fails
 * wsloop_ca_check, or the request's, above). */
int hands_get(const struct hands_query *q, struct hands_page *page, struct felt_err *err);

/* The exit status a command gives for err: 2 for a usage error (bad_url, bad_game, bad_limit,
 * bad_ca), 1 otherwise. */
int hands_exit_status(const struct felt_err *err);

/* `felt history` (history.c): argv[0] is "history". Returns the exit status. */
int history_main(int argc, char **argv);

#endif
