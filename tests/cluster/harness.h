/*
 * harness.h: what the cluster tests share (harness.c): their own redis-server, synchronous
 * reads of it, and a libev loop running feltd's timers.
 */
#ifndef FELT_CLUSTER_HARNESS_H
#define FELT_CLUSTER_HARNESS_H

#include <ev.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

extern pid_t redis_pid;
extern int redis_port;
extern char redis_url[64]; /* "redis://127.0.0.1:PORT" */
extern struct ev_loop *loop;

/* cmocka group setup/teardown: start redis-server (0 once it answers PING, within 10 s) and
 * kill it, removing its folder. */
int start_redis(void **state);
int stop_redis(void **state);
/* Kills it (SIGKILL: everything in it is lost, it has no persistence), and starts it again on
 * the same port, empty. */
void redis_crash(void);
void redis_restart(void);
/* A synchronous connection to it (NULL if refused); GET as a string ("" when absent); PTTL. */
redisContext *sync_connect(void);
void redis_get(const char *key, char *out, size_t n);
long long redis_pttl(const char *key);

/* The loop: opened with timer.c's timers on it; run_until runs it until done(arg) or
 * deadline_ms, returning whether done became true; never() is a done that never is. */
void loop_open(void);
void loop_close(void);
bool run_until(bool (*done)(void *), void *arg, int64_t deadline_ms);
bool never(void *arg);

_Noreturn void harness_fail(const char *what);

#endif
