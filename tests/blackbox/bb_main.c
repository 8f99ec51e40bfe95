/*
 * bb_main.c: the black-box binaries' main: picks the named case out of the binary's table and
 * runs it with cmocka, and the teardown and checks every case shares (contract in bb_main.h).
 */
#include "bb_main.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "util.h"

struct bb *bb_running;
static void (*bb_cleanup)(void);

void bb_stop_clean(struct bb *bb)
{
    bb_running = NULL;
    int st = bb_stop(bb);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

void bb_assert_tc_ok(const struct tc *t)
{
    assert_non_null(t);
    if (t->bad) print_error("client %s: %d problem(s), first: %s\n", t->name, t->bad, t->bad_text);
    assert_int_equal(t->bad, 0);
}

static int bb_teardown(void **state)
{
    (void)state;
    if (bb_running) bb_stop(bb_running);
    bb_running = NULL;
    if (bb_cleanup) bb_cleanup();
    return 0;
}

static void bb_list(const char *prog, const struct bb_test *tests, size_t n)
{
    fprintf(stderr, "%s: the cases are:", prog);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %s", tests[i].name);
    fputc('\n', stderr);
}

int bb_run(const char *prog, const struct bb_test *tests, size_t n, const char *name,
           void (*cleanup)(void))
{
    struct CMUnitTest *run = xcalloc(n, sizeof(*run));
    char **names = xcalloc(n, sizeof(*names));
    size_t k = 0;
    int rc = 2;
    for (size_t i = 0; i < n; i++) {
        if (name && strcmp(tests[i].name, name) != 0) continue;
        size_t len = strlen("test_") + strlen(tests[i].name) + 1;
        names[k] = xmalloc(len);
        snprintf(names[k], len, "test_%s", tests[i].name); /* cmocka's name: the function's */
        run[k] = (struct CMUnitTest){names[k], tests[i].fn, NULL, bb_teardown, NULL};
        k++;
    }
    if (k == 0) {
        fprintf(stderr, "%s: no case is called '%s'\n", prog, name ? name : "");
        bb_list(prog, tests, n);
    } else {
        bb_cleanup = cleanup;
        signal(SIGPIPE, SIG_IGN);
        rc = _cmocka_run_group_tests(prog, run, k, NULL, NULL);
    }
    for (size_t i = 0; i < k; i++)
        free(names[i]);
    free(names);
    free(run);
    return rc;
}

int bb_main(int argc, char **argv, const char **feltd_path, const struct bb_test *tests, size_t n,
            void (*cleanup)(void))
{
    const char *slash = strrchr(argv[0], '/'), *prog = slash ? slash + 1 : argv[0];
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s FELTD_PATH [TEST_NAME]\n", argv[0]);
        bb_list(prog, tests, n);
        return 2;
    }
    *feltd_path = argv[1];
    return bb_run(prog, tests, n, argc > 2 ? argv[2] : NULL, cleanup);
}
