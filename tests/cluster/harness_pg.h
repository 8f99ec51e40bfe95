/*
 * harness_pg.h: a PostgreSQL 15 server the tests start themselves (harness_pg.c): a temporary
 * folder, a free loopback port, one new database per test, crashed, stopped and restarted on
 * demand. It needs libpq, and harness.c for a free port.
 */
#ifndef FELT_CLUSTER_HARNESS_PG_H
#define FELT_CLUSTER_HARNESS_PG_H

#include <stddef.h>
#include <sys/types.h>

extern pid_t harness_pg_pid; /* the postmaster, 0 when stopped */
extern int harness_pg_port;

/* cmocka group setup: a new folder, initdb, and the server started; 0 once it accepts
 * connections (15 s at most), else -1 with a message and the server's log on stderr. */
int harness_start_pg(void **state);
/* cmocka group teardown: stops it (SIGINT, SIGKILL after 10 s) and removes its folder. */
int harness_stop_pg(void **state);
/* SIGKILL the postmaster; once its backends have gone by themselves (the port refuses
 * connections and nothing holds its shared memory), start it again on the same port and data:
 * crash recovery. Returns once it accepts connections. */
void harness_pg_crash_restart(void);
/* A clean fast shutdown (SIGINT), leaving it stopped; and a start again on the same port. */
void harness_pg_stop_only(void);
void harness_pg_start_again(void);
/* A new empty database (felt_t1, felt_t2, ...) owned by felt; its conninfo into out:
 * "postgresql://felt@127.0.0.1:PORT/NAME?connect_timeout=2". */
void harness_pg_new_db(char *out, size_t n);
/* SQL on conninfo as felt (several commands may be separated by ';'), and a query's first
 * column of its first row as an integer. Either exits the test program with the server's
 * message when it fails. */
void harness_pg_exec(const char *conninfo, const char *sql);
long long harness_pg_int(const char *conninfo, const char *query);

#endif
