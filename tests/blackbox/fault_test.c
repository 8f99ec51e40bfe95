/*
 * fault_test.c: felt under network faults (issue 5, "Faults and soak"). Each case starts the
 * real feltd, puts the fault proxy (tests/tools/faultproxy) between it and a fleet of bots
 * (fleet.h, which also lists every check), lets them play while the proxy resets, closes,
 * stalls and cuts connections mid-frame, then stops the faults and checks that nothing was lost,
 * duplicated, reordered or miscounted.
 *
 *   scenario  felt --json processes (the real client) as bots: every reconnect resumes, no
 *             action is lost or applied twice, every final view equals the server's, the chips
 *             at each table never change. CI: 4 tables x 5 bots, 40 hands each.
 *   ordering  in-process bots and spectators: every client at a table sees the same events in
 *             the same order, gap-free across reconnects (spectators: per socket).
 *   soak      many in-process bots for a set time; reports the connected-time percentage and
 *             the reconnect success (docs/testing.md has the 1,000-bot, 10-minute command).
 *
 * Usage: fault_test FELTD FAULTPROXY FELT CASE [--tables N] [--bots N] [--spectators N]
 *                   [--hands N] [--seconds S] [--every MS] [--think MS] [--hand-delay MS]
 *                   [--seed N] [--deadline S]
 * Nothing is timed: the deadline only turns a hang into a failure.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bb_main.h"
#include "fleet.h"
#include "harness.h"
#include "listenproc.h"
#include "util.h"

static const char *feltd_path, *proxy_path, *felt_path;

struct fault_opts {
    int tables, bots, spectators, hands;
    int64_t seconds;
    int every_ms, think_ms, hand_delay_ms;
    uint64_t seed;
    int64_t deadline_s;
    int history;
    bool felt;
};

static struct fault_opts fault_cli; /* command-line overrides (0: the case's default) */
static struct feltd fault_srv;
static struct listenproc fault_proxy;

/* After every case: what a failed assertion left running. */
static void fault_cleanup(void)
{
    if (fault_proxy.pid > 0) listenproc_stop(&fault_proxy, SIGKILL, NULL, 0, 5000);
    if (fault_srv.pid > 0) feltd_stop(&fault_srv, SIGKILL);
}

static void fault_calm(void *arg)
{
    struct listenproc *p = arg;
    if (p->pid > 0) kill(p->pid, SIGUSR1);
}

static uint64_t fault_stat(const char *stats, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\": ", key);
    const char *at = strstr(stats, pat);
    return at ? strtoull(at + strlen(pat), NULL, 10) : 0;
}

static void fault_merge(struct fault_opts *o)
{
#define MERGE(f)                                                                                   \
    if (fault_cli.f) o->f = fault_cli.f
    MERGE(tables);
    MERGE(bots);
    MERGE(spectators);
    MERGE(hands);
    MERGE(seconds);
    MERGE(every_ms);
    MERGE(think_ms);
    MERGE(hand_delay_ms);
    MERGE(seed);
    MERGE(deadline_s);
#undef MERGE
    if (fault_cli.seconds && !fault_cli.hands) o->hands = 0; /* --seconds alone means a timed run */
}

/* Starts feltd and the proxy, runs the fleet, stops both and checks everything. */
static void fault_run(struct fault_opts *o, const char *title)
{
    char port[16], every[16], seed[16], duration[24], delay[16], history[16], stats[1024];
    char state_dir[] = "/tmp/felt-fault-XXXXXX";
    const char *args[16 + 2 * 1024];
    size_t n = 0;
    struct fleet_report rep;
    static char tables[1024][48];

    assert_true(o->tables <= 1024);
    snprintf(delay, sizeof(delay), "%d", o->hand_delay_ms);
    snprintf(history, sizeof(history), "%d", o->history);
    args[n++] = "--hand-delay";
    args[n++] = delay;
    args[n++] = "--history";
    args[n++] = history;
    args[n++] = "-q";
    for (int i = 0; i < o->tables; i++) {
        /* Deep stacks and tiny blinds: nobody busts, so the chips brought never change. */
        snprintf(tables[i], sizeof(tables[i]), "f%d:10:1/2:100000", i);
        args[n++] = "--table";
        args[n++] = tables[i];
    }
    args[n] = NULL;
    /* Every bot is 127.0.0.1: the harness turns the per-address limits off (docs/security.md). */
    assert_int_equal(feltd_start(&fault_srv, feltd_path, args), 0);

    snprintf(port, sizeof(port), "%d", fault_srv.port);
    snprintf(every, sizeof(every), "%d", o->every_ms);
    snprintf(seed, sizeof(seed), "%llu", (unsigned long long)o->seed);
    snprintf(duration, sizeof(duration), "%lld", (long long)o->deadline_s + 60);
    const char *pargv[] = {proxy_path, "--target",   port,      "--seed",   seed,
                           "--every",  every,        "--stall", "300:2500", "--min-age",
                           "1000",     "--duration", duration,  NULL};
    assert_int_equal(listenproc_start(&fault_proxy, pargv, -1, SIGKILL, BB_TIMEOUT_MS), 0);
    assert_non_null(mkdtemp(state_dir));

    struct fleet_opts fo = {
        .felt_path = o->felt ? felt_path : NULL,
        .table_prefix = "f",
        .tables = o->tables,
        .bots = o->bots,
        .spectators = o->spectators,
        .hands = o->hands,
        .seconds = o->seconds,
        .think_ms = o->think_ms,
        .seed = o->seed,
        .buy_in = 100000,
        .server_port = fault_srv.port,
        .client_port = fault_proxy.port,
        .deadline_ms = o->deadline_s * 1000,
        .state_dir = state_dir,
        .calm = fault_calm,
        .calm_arg = &fault_proxy,
    };
    fprintf(stderr,
            "%s: %d tables x %d bots (+%d spectators), %s %lld, a fault every ~%d ms, "
            "seed %llu\n",
            title, o->tables, o->bots, o->spectators, o->hands ? "hands" : "seconds",
            (long long)(o->hands ? o->hands : o->seconds), o->every_ms,
            (unsigned long long)o->seed);
    int rc = fleet_run(&fo, &rep);
    fleet_report_print(&rep, title);

    int pst = listenproc_stop(&fault_proxy, SIGTERM, stats, sizeof(stats), BB_TIMEOUT_MS);
    fprintf(stderr, "%s: proxy %s", title, stats);
    int sst = feltd_stop(&fault_srv, SIGTERM);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state_dir);
    if (system(cmd) != 0) fprintf(stderr, "%s: could not remove %s\n", title, state_dir);

    if (rc != 0) print_error("first failure: %s\n", rep.first_failure);
    assert_int_equal(rep.failures, 0);
    /* The server and the proxy stayed up and stopped cleanly. */
    assert_true(WIFEXITED(sst) && WEXITSTATUS(sst) == 0);
    assert_true(WIFEXITED(pst) && WEXITSTATUS(pst) == 0);
    /* The faults happened, and every one the bots felt was survived. */
    uint64_t faults = fault_stat(stats, "rst") + fault_stat(stats, "close") +
                      fault_stat(stats, "stall") + fault_stat(stats, "cut") +
                      fault_stat(stats, "lose");
    assert_true(faults > 0);
    assert_true(rep.disconnects > 0);
    assert_int_equal(rep.reconnects, rep.disconnects);
    if (o->hands > 0) assert_true(rep.hands >= (uint64_t)o->hands * (uint64_t)o->tables);
    assert_true(rep.accepted > 0);
}

static void test_scenario(void **state)
{
    (void)state;
    struct fault_opts o = {.tables = 4,
                           .bots = 5,
                           .hands = 40,
                           .every_ms = 1000,
                           .think_ms = 30,
                           .hand_delay_ms = 100,
                           .seed = 1,
                           .deadline_s = 240,
                           .history = 16384,
                           .felt = true};
    fault_merge(&o);
    fault_run(&o, "fault scenario");
}

static void test_ordering(void **state)
{
    (void)state;
    struct fault_opts o = {.tables = 2,
                           .bots = 5,
                           .spectators = 3,
                           .hands = 30,
                           .every_ms = 600,
                           .think_ms = 20,
                           .hand_delay_ms = 100,
                           .seed = 2,
                           .deadline_s = 240,
                           .history = 16384};
    fault_merge(&o);
    fault_run(&o, "fault ordering");
}

static void test_soak(void **state)
{
    (void)state;
    struct fault_opts o = {.tables = 10,
                           .bots = 5,
                           .seconds = 30,
                           .every_ms = 500,
                           .think_ms = 150,
                           .hand_delay_ms = 300,
                           .seed = 3,
                           .deadline_s = 240,
                           .history = 1024};
    fault_merge(&o);
    if (o.deadline_s < o.seconds + 120) o.deadline_s = o.seconds + 120;
    fault_run(&o, "soak");
}

static long long fault_num(const char *opt, const char *s, long long lo, long long hi)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) {
        fprintf(stderr, "fault_test: %s wants a number from %lld to %lld\n", opt, lo, hi);
        exit(2);
    }
    return v;
}

/* The cases; ctest registers one per row (bb_main.h). */
static const struct bb_test fault_tests[] = {
    BB_TEST(scenario),
    BB_TEST(ordering),
    BB_TEST(soak),
};

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s FELTD FAULTPROXY FELT scenario|ordering|soak [options]\n",
                argv[0]);
        return 2;
    }
    feltd_path = argv[1];
    proxy_path = argv[2];
    felt_path = argv[3];
    for (int i = 5; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : "";
        i++;
        if (strcmp(opt, "--tables") == 0)
            fault_cli.tables = (int)fault_num(opt, val, 1, 1024);
        else if (strcmp(opt, "--bots") == 0)
            fault_cli.bots = (int)fault_num(opt, val, 2, 10);
        else if (strcmp(opt, "--spectators") == 0)
            fault_cli.spectators = (int)fault_num(opt, val, 0, 100);
        else if (strcmp(opt, "--hands") == 0)
            fault_cli.hands = (int)fault_num(opt, val, 1, 1000000);
        else if (strcmp(opt, "--seconds") == 0)
            fault_cli.seconds = fault_num(opt, val, 1, 86400);
        else if (strcmp(opt, "--every") == 0)
            fault_cli.every_ms = (int)fault_num(opt, val, 1, 3600000);
        else if (strcmp(opt, "--think") == 0)
            fault_cli.think_ms = (int)fault_num(opt, val, 1, 60000);
        else if (strcmp(opt, "--hand-delay") == 0)
            fault_cli.hand_delay_ms = (int)fault_num(opt, val, 1, 600000);
        else if (strcmp(opt, "--seed") == 0)
            fault_cli.seed = (uint64_t)fault_num(opt, val, 1, INT64_MAX);
        else if (strcmp(opt, "--deadline") == 0)
            fault_cli.deadline_s = fault_num(opt, val, 10, 86400);
        else {
            fprintf(stderr, "fault_test: unknown option %s\n", opt);
            return 2;
        }
    }
    return bb_run("fault_test", fault_tests, FELT_ARRAY_LEN(fault_tests), argv[4], fault_cleanup);
}
