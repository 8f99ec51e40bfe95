/*
 * hardening_test.h: what the hardening cases share (hardening_test.c), and the cases, by file.
 * Every case starts feltd with its own defaults for the limits (START), passes only the options
 * it is about, and ends with bb_stop_clean (bb_main.h).
 */
#ifndef FELT_BB_HARDENING_TEST_H
#define FELT_BB_HARDENING_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "bb_main.h"
#include "harness.h"
#include "rawws.h"
#include "util.h"

/* ---- hardening_test.c ------------------------------------------------------------------------ */

extern const char *feltd_path; /* argv[1] */

/* Starts feltd with the given options (tables main and other unless they name tables). */
#define START(bb, ...) start_path((bb), feltd_path, (const char *const[]){__VA_ARGS__, NULL})

/* A raw HTTP exchange: at most RESP_MAX responses on one connection. */
#define RESP_MAX 8

/* One response as parsed from the raw bytes. */
struct hresp {
    int status;
    char head[2048]; /* status line and headers */
    char *body;      /* malloc'd, NUL-terminated */
    size_t body_len;
    json_object *json; /* the body when it is JSON */
};

/* One raw HTTP exchange: everything the server sent on one connection. */
struct hx {
    char *raw;
    size_t len, cap;
    bool eof;   /* the server closed the connection (EOF or reset) */
    bool reset; /* ECONNRESET */
    struct hresp r[RESP_MAX];
    int n;        /* complete responses */
    size_t extra; /* bytes after the last complete response */
};

/* A join's outcome: the status, the error code, or the seat's id and token. */
struct joined {
    int status;
    char code[32];
    char id[32];
    char token[160];
};

/* CLOCK_MONOTONIC in ms. */
int64_t now_ms(void);
/* Starts path with args and feltd's own defaults for the limits; tables main and other (6 seats)
 * unless args name tables themselves. */
void start_path(struct bb *bb, const char *path, const char *const *extra);
/* Waits up to ms for feltd to exit by itself (its stdout reaches EOF). */
bool wait_exit(struct feltd *f, int ms);
/* Waits for t's first snapshot; t must not have closed. */
void wait_snapshot(struct bb *bb, struct tc *t);
/* The index of the seat state_update with this change for player_id from index from, or -1. */
long find_seat(const struct tc *t, size_t from, const char *change, const char *player_id);
/* Chats (with this text; NULL: any) and errors (with this code; NULL: any) t received. */
size_t count_chats(const struct tc *t, const char *text);
size_t count_errors(const struct tc *t, const char *code);
/* Sends json and returns the data of the next error the client gets. */
json_object *expect_error(struct bb *bb, struct tc *t, const char *json, const char *code);
/* The socket still works: a ping is answered. */
void expect_alive(struct bb *bb, struct tc *t);
/* utime + stime of pid in seconds (from /proc/PID/stat), or -1. */
double proc_cpu_s(pid_t pid);
/* Lets ms pass (no event is awaited: the test samples what the server does meanwhile). */
void let_time_pass(int ms);
/* Connects to 127.0.0.1:port within ms; returns a blocking socket or -1. */
int tcp_connect(int port, int ms);
/* Writes all n bytes; 0, or -1 on an error. */
int tcp_write_all(int fd, const char *buf, size_t n);
/* Frees what x holds (x can be used again). */
void hx_free(struct hx *x);
/* The value of header name (case-insensitive) in a response head, copied to out; false if
 * absent. */
bool hdr_get(const char *head, const char *name, char *out, size_t cap);
/* Reads from fd into x until EOF, a reset, ms passing, or (want > 0) want complete responses. */
void hx_read(int fd, struct hx *x, int ms, int want, const char *heads);
/* Connects, writes req in one write, reads as hx_read does. */
void raw_http(int port, const char *req, size_t len, const char *heads, int want, int ms,
              struct hx *x);
/* raw_http of a NUL-terminated request, no HEAD, BB_TIMEOUT_MS. */
void raw_http_s(int port, const char *req, int want, struct hx *x);
/* Prints what the server sent on x, saying what it was for. */
void hx_dump(const struct hx *x, const char *what);
/* The code of an HTTP error answer ({"type":"error","data":{"code":...}}), or NULL. */
const char *err_code(json_object *json);
/* A POST request with a JSON body and optional extra header lines (each ending in \r\n). */
char *post_req(const char *path, const char *body, const char *headers);
/* A response to a closing request: exactly one, then the server closed the connection. */
const struct hresp *expect_one_then_close(const struct hx *x, const char *what);
/* Asserts r's status and, if code is not NULL, its error code. */
void expect_code(const struct hresp *r, int status, const char *code);
/* Joins game over HTTP with the name as JSON string content (escapes allowed). */
void join_http(struct bb *bb, const char *game, const char *name, struct joined *j);
/* join_http, asserting success; or asserting the refusal with status and code. */
/* join_http asserting success, or asserting the refusal with status and code. */
void join_ok(struct bb *bb, const char *game, const char *name, struct joined *j);
void join_refused(struct bb *bb, const char *game, const char *name, int status, const char *code);
/* Joins over a raw connection with extra header lines. */
void join_raw(int port, const char *game, const char *name, const char *headers, struct joined *j);
/* The lobby's seats_taken of game. */
int64_t seats_taken(struct bb *bb, const char *game);
/* How many players named name (exactly) sit at game. */
int players_named(struct bb *bb, const char *game, const char *name);
/* GET /healthz answers 200 {"ok": true}. */
void healthz(struct bb *bb);
/* GET .../state (since >= 0: ?since=), parsed. */
json_object *poll_state(struct bb *bb, const char *game, int64_t since, const char *bearer);

/* ---- hardening_test_http.c ------------------------------------------------------------------- */

void test_http_body_loop(void **state);
void test_http_pipelining(void **state);
void test_http_te_cl(void **state);
void test_http_methods(void **state);
void test_http_strict_body(void **state);

/* ---- hardening_test_seats.c ------------------------------------------------------------------ */

void test_seat_idle(void **state);
void test_seat_sitout(void **state);
void test_join_rate(void **state);
void test_seats_per_address(void **state);
void test_trust_proxy(void **state);
void test_stale_request(void **state);
void test_names(void **state);

/* ---- hardening_test_conns.c ------------------------------------------------------------------ */

/* Removes fd_exhaustion's wrapper script, if a case left it (the cleanup after every case). */
void wrapper_remove(void);
void test_conn_cap(void **state);
void test_fd_exhaustion(void **state);
void test_hello_timeout(void **state);
void test_poll_far_behind(void **state);
void test_sighup(void **state);

/* ---- hardening_test_chat.c ------------------------------------------------------------------- */

void test_spectator_chat_default(void **state);
void test_chat_per_address(void **state);
void test_chat_per_table(void **state);
void test_chat_history(void **state);
void test_churn(void **state);

#endif
