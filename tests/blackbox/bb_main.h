/*
 * bb_main.h: the one main of the black-box test binaries (server_test, hostile_test,
 * hardening_test, fault_test). Each binary lists its cases once, in a const table of BB_TEST(name)
 * rows (test_NAME is the function); ctest runs one case per process by name.
 *
 * The table is the only list of names: tests/blackbox/CMakeLists.txt reads the BB_TEST(name) rows
 * out of the source file at configure time to register the ctest cases, so each row must stay
 * in that form (one or more per line, nothing else on the line is read). A name that is not in the
 * table is an error (exit status 2 and the list of names), never a run of nothing that passes.
 *
 * It also holds what every case shares: the server a case is running (stopped by the teardown
 * when an assertion fails half-way), its clean stop, and the check that a client saw no problem.
 */
#ifndef FELT_BB_MAIN_H
#define FELT_BB_MAIN_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "harness.h"

struct bb_test {
    const char *name; /* without the test_ prefix: the ctest case is blackbox_<binary>_<name> */
    CMUnitTestFunction fn;
};

/* clang-format off */
#define BB_TEST(name) {#name, test_##name}
/* clang-format on */

/* Runs the case called name of tests[0..n) (all of them when name is NULL) under cmocka. After
 * each case the teardown stops bb_running (a server a failed assertion left running) and calls
 * cleanup (NULL: nothing more). SIGPIPE is ignored (servers close sockets under the tests).
 * Returns cmocka's status (0: every case passed), or 2 when name is not in the table. */
int bb_run(const char *prog, const struct bb_test *tests, size_t n, const char *name,
           void (*cleanup)(void));

/* The main of binaries whose usage is "PROG FELTD_PATH [TEST_NAME]": sets *feltd_path and runs
 * bb_run. Returns the exit status. */
int bb_main(int argc, char **argv, const char **feltd_path, const struct bb_test *tests, size_t n,
            void (*cleanup)(void));

/* ---- what every case shares ----------------------------------------------------------------- */

/* The server the running case started (it sets this after bb_start), stopped by the teardown
 * when a failed assertion ends the case half-way; NULL once the case has stopped it. */
extern struct bb *bb_running;
/* Stops bb's server (clearing bb_running) and asserts that it exited by itself with status 0. */
void bb_stop_clean(struct bb *bb);
/* Asserts that client t exists and saw no problem in its callbacks (tc->bad, harness.h). */
void bb_assert_tc_ok(const struct tc *t);

#endif
