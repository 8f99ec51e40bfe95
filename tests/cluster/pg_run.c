/*
 * pg_run.c: a PostgreSQL 15 for the tests that are not written in C (durability_test.py
 * --postgres). It starts one through harness_pg.c (a temporary folder, a free loopback port, run
 * as nobody under root), creates an empty database in it, prints that database's conninfo on one
 * line, and stops the server and removes its folder when its standard input ends, so the
 * server never outlives the test that started it, however that test ends. A line "crash" on its
 * standard input kills the server (SIGKILL) and starts it again on the same data (crash
 * recovery), "stop" stops it cleanly and "start" starts it again; "ok" is printed once each is
 * done (the server accepting connections again, or gone).
 *
 *   usage: pg_run      (then read one line: postgresql://felt@127.0.0.1:PORT/DB?...)
 * Exit 0 once stopped cleanly, 1 if the server could not start or stop.
 */
#include <stdio.h>
#include <string.h>

#include "harness_pg.h"

int main(void)
{
    char conninfo[256], line[64];
    if (harness_start_pg(NULL) != 0) return 1;
    harness_pg_new_db(conninfo, sizeof(conninfo));
    printf("%s\n", conninfo);
    fflush(stdout);
    while (fgets(line, sizeof(line), stdin)) {
        if (strcmp(line, "crash\n") == 0)
            harness_pg_crash_restart();
        else if (strcmp(line, "stop\n") == 0)
            harness_pg_stop_only();
        else if (strcmp(line, "start\n") == 0)
            harness_pg_start_again();
        else
            continue;
        printf("ok\n");
        fflush(stdout);
    }
    return harness_stop_pg(NULL) == 0 ? 0 : 1;
}
