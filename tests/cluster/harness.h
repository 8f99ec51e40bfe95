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

extern pid_t harness_redis_pid;
extern int harness_redis_port;
extern char harness_redis_url[64]; /* "redis://127.0.0.1:PORT" */
extern struct ev_loop *harness_loop;

/* cmocka group setup/teardown: start redis-server (0 once it answers PING, within 10 s) and
 * kill it, removing its folder. */
int harness_start_redis(void **state);
int harness_stop_redis(void **state);
/* Kills it (SIGKILL: everything in it is lost, it has no persistence), and starts it again on
 * the same port, empty. */
void harness_redis_crash(void);
void harness_redis_restart(void);
/* A synchronous connection to it (NULL if refused); GET as a string ("" when absent); PTTL. */
redisContext *harness_connect(void);
void harness_get(const char *key, char *out, size_t n);
long long harness_pttl(const char *key);

/* The loop: opened with timer.c's timers on it; harness_run_until runs it until done(arg) or
 * deadline_ms, returning whether done became true; harness_never() is a done that never is. */
void harness_loop_open(void);
void harness_loop_close(void);
bool harness_run_until(bool (*done)(void *), void *arg, int64_t deadline_ms);
bool harness_never(void *arg);

_Noreturn void harness_fail(const char *what);
/* Removes dir and everything under it (no symlink followed); 0 when done. */
int harness_rm_tree(const char *dir);
/* A loopback TCP port nothing listens on (bound, read, closed). */
int harness_free_port(void);

#endif
