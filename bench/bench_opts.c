/*
 * bench_opts.c: felt-bench's command line (bench.h). Every option is one row of
 * bench_opts_table: its name, where its value goes in struct bench_opts and the range a number
 * must be in (or a function for the few that are more than a value), and its lines of the usage,
 * which is printed from the same rows so that the two cannot drift apart. Also the arguments a
 * feltd serving the run needs (--print-feltd-args, or the feltd started with --feltd).
 */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum bench_opts_kind {
    BENCH_OPTS_STR,  /* const char *: the argument itself */
    BENCH_OPTS_INT,  /* int in [lo, hi] */
    BENCH_OPTS_DBL,  /* double in [lo, hi] */
    BENCH_OPTS_U64,  /* uint64_t in [lo, hi] */
    BENCH_OPTS_FLAG, /* bool set to true; no argument */
    BENCH_OPTS_FN,   /* fn(o, argument) */
    BENCH_OPTS_HELP, /* the usage on stdout, exit 0; no argument */
};

struct bench_opts_row {
    const char *name; /* the long option, without "--" */
    char short_name;  /* 0: none */
    enum bench_opts_kind kind;
    size_t off; /* of the field in struct bench_opts (not for BENCH_OPTS_FN) */
    double lo, hi;
    void (*fn)(struct bench_opts *o, const char *arg);
    const char *usage; /* its lines of the usage */
};

static const char bench_opts_usage_head[] =
    "usage: felt-bench (--feltd PATH | --server URL [--pid PID]) [options]\n"
    "\n"
    "Drives N tables of bot players and spectators against feltd over WebSocket and over the\n"
    "HTTP polling fallback, and reports latency, throughput, bytes, CPU and memory.\n"
    "\n";

static const char bench_opts_usage_tail[] =
    "\n"
    "Tables: WebSocket phases use t0..t{N-1} (seats = P, blinds 5/10, buy-in 100000); polling\n"
    "phase of interval I uses pI-0..pI-{N-1}; idle spectators watch idle0, idle1, ... where\n"
    "nobody plays.\n"
    "feltd is started with --hand-delay 0 --action-timeout 3600 and needs a file descriptor per\n"
    "connection: see docs/performance.md for ulimit -n.\n";

/* A number from lo to hi, or exit 2 naming the option. */
static double bench_opts_num(const char *name, const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno || !(v >= lo && v <= hi)) {
        fprintf(stderr, "felt-bench: --%s wants a number from %g to %g\n", name, lo, hi);
        exit(2);
    }
    return v;
}

static void bench_opts_feltd_arg(struct bench_opts *o, const char *arg)
{
    o->feltd_args = xrealloc(o->feltd_args, sizeof(char *) * (size_t)(o->nfeltd_args + 1));
    o->feltd_args[o->nfeltd_args++] = (char *)arg; /* argv outlives the run */
}

static void bench_opts_pid(struct bench_opts *o, const char *arg)
{
    if (o->npids == BENCH_MAX_PIDS) {
        fprintf(stderr, "felt-bench: at most %d --pid\n", BENCH_MAX_PIDS);
        exit(2);
    }
    o->pids[o->npids++] = (pid_t)bench_opts_num("pid", arg, 1, 1 << 30);
    o->pid = o->pids[0];
}

static void bench_opts_server(struct bench_opts *o, const char *arg)
{
    if (o->nservers == BENCH_MAX_SERVERS) {
        fprintf(stderr, "felt-bench: at most %d --server\n", BENCH_MAX_SERVERS);
        exit(2);
    }
    o->servers[o->nservers++] = arg;
    o->server = o->servers[0];
}

static void bench_opts_spectators_on(struct bench_opts *o, const char *arg)
{
    o->spectate_other = strcmp(arg, "other") == 0;
    if (!o->spectate_other && strcmp(arg, "same") != 0) {
        fprintf(stderr, "felt-bench: --spectators-on wants same or other\n");
        exit(2);
    }
}

static void bench_opts_players_on(struct bench_opts *o, const char *arg)
{
    o->play_other = strcmp(arg, "other") == 0;
    if (!o->play_other && strcmp(arg, "same") != 0) {
        fprintf(stderr, "felt-bench: --players-on wants same or other\n");
        exit(2);
    }
}

static void bench_opts_deflate(struct bench_opts *o, const char *arg)
{
    o->ws_off = strcmp(arg, "off") == 0 || strcmp(arg, "both") == 0;
    o->ws_on = strcmp(arg, "on") == 0 || strcmp(arg, "both") == 0;
    if (!o->ws_off && !o->ws_on && strcmp(arg, "none") != 0) {
        fprintf(stderr, "felt-bench: --deflate wants on, off, both or none\n");
        exit(2);
    }
}

static void bench_opts_protocol(struct bench_opts *o, const char *arg)
{
    o->single = strcmp(arg, "v1") == 0;
    if (!o->single && strcmp(arg, "v2") != 0) {
        fprintf(stderr, "felt-bench: --protocol wants v1 or v2\n");
        exit(2);
    }
}

/* --poll LIST: up to BENCH_MAX_POLL distinct intervals in ms ("none" or "": no polling). */
static void bench_opts_poll(struct bench_opts *o, const char *s)
{
    o->npoll = 0;
    if (strcmp(s, "none") == 0 || *s == '\0') return;
    char *copy = xstrdup(s), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (o->npoll == BENCH_MAX_POLL) {
            fprintf(stderr, "felt-bench: at most %d polling intervals\n", BENCH_MAX_POLL);
            exit(2);
        }
        int ms = (int)bench_opts_num("poll", tok, 10, 600000);
        for (int i = 0; i < o->npoll; i++)
            if (o->poll_ms[i] == ms) {
                fprintf(stderr, "felt-bench: --poll lists %d ms twice\n", ms);
                exit(2);
            }
        o->poll_ms[o->npoll++] = ms;
    }
    free(copy);
}

#define BENCH_OPTS_AT(field) offsetof(struct bench_opts, field)

static const struct bench_opts_row bench_opts_table[] = {
    {"feltd", 0, BENCH_OPTS_STR, BENCH_OPTS_AT(feltd), 0, 0, NULL,
     "  --feltd PATH          start this feltd on a free loopback port (stopped at the end)\n"},
    {"feltd-arg", 0, BENCH_OPTS_FN, 0, 0, 0, bench_opts_feltd_arg,
     "  --feltd-arg ARG       pass ARG to that feltd as well (repeatable)\n"},
    {"server", 0, BENCH_OPTS_FN, 0, 0, 0, bench_opts_server,
     "  --server URL          attach to a running feltd (http://127.0.0.1:PORT; loopback only);\n"
     "                        repeated (up to 4): the nodes of one cluster, table i joined at\n"
     "                        node i mod N and played where its owner is (a 421 names it)\n"},
    {"pid", 0, BENCH_OPTS_FN, 0, 0, 0, bench_opts_pid,
     "  --pid PID             its pid, for CPU and RSS from /proc (without it: not measured);\n"
     "                        repeated (up to 12): every process counted as the server's (the\n"
     "                        nodes, redis-server, PostgreSQL's), each also reported apart\n"},
    {"spectators-on", 0, BENCH_OPTS_FN, 0, 0, 0, bench_opts_spectators_on,
     "  --spectators-on same|other  with several --server: spectators on the table's owner\n"
     "                        (default) or on the next node, their events relayed by Redis\n"},
    {"players-on", 0, BENCH_OPTS_FN, 0, 0, 0, bench_opts_players_on,
     "  --players-on same|other  with several --server: players' sockets on the table's owner\n"
     "                        (default) or on the next node, which carries them to the owner\n"},
    {"tables", 0, BENCH_OPTS_INT, BENCH_OPTS_AT(tables), 1, 100000, NULL,
     "  --tables N            tables (default 1)\n"},
    {"players", 0, BENCH_OPTS_INT, BENCH_OPTS_AT(players), 2, ENGINE_MAX_SEATS, NULL,
     "  --players P           bot players per table (default 6, 2..10)\n"},
    {"spectators", 0, BENCH_OPTS_INT, BENCH_OPTS_AT(spectators), 0, 1000, NULL,
     "  --spectators S        spectators per table (default 4)\n"},
    {"seconds", 0, BENCH_OPTS_DBL, BENCH_OPTS_AT(seconds), 0.1, 86400, NULL,
     "  --seconds S           measurement window of each phase (default 10)\n"},
    {"warmup", 0, BENCH_OPTS_DBL, BENCH_OPTS_AT(warmup), 0, 3600, NULL,
     "  --warmup S            unmeasured time before each window (default 1)\n"},
    {"think-ms", 0, BENCH_OPTS_INT, BENCH_OPTS_AT(think_ms), 0, 600000, NULL,
     "  --think-ms MS         bots wait MS before acting (default 0: as fast as allowed)\n"},
    {"rate", 0, BENCH_OPTS_DBL, BENCH_OPTS_AT(rate), 1, 1e6, NULL,
     "  --rate R              a bot's messages per second at most (default 45; feltd allows 50)\n"},
    {"deflate", 0, BENCH_OPTS_FN, 0, 0, 0, bench_opts_deflate,
     "  --deflate on|off|both|none  WebSocket phases without and/or with permessage-deflate\n"
     "                        (default both; none: no WebSocket phase)\n"},
    {"protocol", 0, BENCH_OPTS_FN, 0, 0, 0, bench_opts_protocol,
     "  --protocol v1|v2      WebSocket sub-protocol: felt.v1 (a message a frame) or felt.v2\n"
     "                        (what is due in one frame; default)\n"},
    {"poll", 0, BENCH_OPTS_FN, 0, 0, 0, bench_opts_poll,
     "  --poll LIST           polling phases, intervals in ms (default 2000,250; none: skip)\n"},
    {"poll-tables", 0, BENCH_OPTS_INT, BENCH_OPTS_AT(poll_tables), 1, 100000, NULL,
     "  --poll-tables N       tables in each polling phase (default: --tables)\n"},
    {"idle", 0, BENCH_OPTS_INT, BENCH_OPTS_AT(idle), 0, 1000000, NULL,
     "  --idle C              idle connections for the idle phase (default: tables x (P+S);\n"
     "                        0 skips the phase)\n"},
    {"idle-seconds", 0, BENCH_OPTS_DBL, BENCH_OPTS_AT(idle_seconds), 0.1, 86400, NULL,
     "  --idle-seconds T      how long the idle connections are watched (default 10)\n"},
    {"idle-per-table", 0, BENCH_OPTS_INT, BENCH_OPTS_AT(idle_per_table), 1, 1000000, NULL,
     "  --idle-per-table N    idle spectators per table (default P+S; tables idle0, idle1...)\n"},
    {"json-out", 0, BENCH_OPTS_STR, BENCH_OPTS_AT(json_out), 0, 0, NULL,
     "  --json-out FILE       write the results as JSON\n"},
    {"seed", 0, BENCH_OPTS_U64, BENCH_OPTS_AT(seed), 0, 9e15, NULL,
     "  --seed N              seed of the bots' choices (default: from the OS)\n"},
    {"ping-secs", 0, BENCH_OPTS_INT, BENCH_OPTS_AT(ping_secs), 1, 3600, NULL,
     "  --ping-secs S         the clients' heartbeat: ping after S s without a pong (default 20,\n"
     "                        as felt)\n"},
    {"print-feltd-args", 0, BENCH_OPTS_FLAG, BENCH_OPTS_AT(print_feltd_args), 0, 0, NULL,
     "  --print-feltd-args    print the feltd arguments this run needs and exit\n"},
    {"quiet", 'q', BENCH_OPTS_FLAG, BENCH_OPTS_AT(quiet), 0, 0, NULL,
     "  -q, --quiet           no progress lines on stderr\n"},
    {"help", 'h', BENCH_OPTS_HELP, 0, 0, 0, NULL, "  -h, --help            this help\n"},
};

#define BENCH_OPTS_N FELT_ARRAY_LEN(bench_opts_table)

static void bench_opts_usage(FILE *out)
{
    fputs(bench_opts_usage_head, out);
    for (size_t i = 0; i < BENCH_OPTS_N; i++)
        fputs(bench_opts_table[i].usage, out);
    fputs(bench_opts_usage_tail, out);
}

/* Stores the option of row r with its argument (NULL for a flag) into o. */
static void bench_opts_apply(struct bench_opts *o, const struct bench_opts_row *r, const char *arg)
{
    char *field = (char *)o + r->off;
    switch (r->kind) {
    case BENCH_OPTS_STR:
        *(const char **)field = arg;
        break;
    case BENCH_OPTS_INT:
        *(int *)field = (int)bench_opts_num(r->name, arg, r->lo, r->hi);
        break;
    case BENCH_OPTS_DBL:
        *(double *)field = bench_opts_num(r->name, arg, r->lo, r->hi);
        break;
    case BENCH_OPTS_U64:
        *(uint64_t *)field = (uint64_t)bench_opts_num(r->name, arg, r->lo, r->hi);
        break;
    case BENCH_OPTS_FLAG:
        *(bool *)field = true;
        break;
    case BENCH_OPTS_FN:
        r->fn(o, arg);
        break;
    case BENCH_OPTS_HELP:
        bench_opts_usage(stdout);
        exit(0);
    }
}

void bench_opts_parse(struct bench_opts *o, int argc, char **argv)
{
    struct option longs[BENCH_OPTS_N + 1];
    char shorts[2 * BENCH_OPTS_N + 1];
    size_t ns = 0;
    int c;
    /* Defaults; idle < 0 and poll_tables 0 stand for "not given" (they depend on others). */
    *o = (struct bench_opts){.tables = 1,
                             .players = 6,
                             .spectators = 4,
                             .seconds = 10,
                             .warmup = 1,
                             .rate = 45,
                             .ws_off = true,
                             .ws_on = true,
                             .poll_ms = {2000, 250},
                             .npoll = 2,
                             .idle = -1,
                             .idle_seconds = 10,
                             .idle_per_table = 0};
    for (size_t i = 0; i < BENCH_OPTS_N; i++) {
        const struct bench_opts_row *r = &bench_opts_table[i];
        bool needs_arg = r->kind != BENCH_OPTS_FLAG && r->kind != BENCH_OPTS_HELP;
        longs[i] = (struct option){r->name, needs_arg ? required_argument : no_argument, NULL,
                                   256 + (int)i};
        if (r->short_name) {
            shorts[ns++] = r->short_name;
            if (needs_arg) shorts[ns++] = ':';
        }
    }
    longs[BENCH_OPTS_N] = (struct option){NULL, 0, NULL, 0};
    shorts[ns] = '\0';
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        const struct bench_opts_row *r = NULL;
        for (size_t i = 0; i < BENCH_OPTS_N && !r; i++)
            if (c == 256 + (int)i || (c == bench_opts_table[i].short_name && c != 0))
                r = &bench_opts_table[i];
        if (!r) { /* getopt_long has said what was wrong */
            bench_opts_usage(stderr);
            exit(2);
        }
        bench_opts_apply(o, r, optarg);
    }
    if (optind < argc) {
        fprintf(stderr, "felt-bench: unexpected argument '%s'\n", argv[optind]);
        bench_opts_usage(stderr);
        exit(2);
    }
    if (!o->print_feltd_args && !o->feltd == !o->server) {
        fprintf(stderr, "felt-bench: give either --feltd PATH or --server URL\n");
        bench_opts_usage(stderr);
        exit(2);
    }
    if (o->idle < 0) o->idle = o->tables * (o->players + o->spectators);
    if (o->poll_tables == 0) o->poll_tables = o->tables;
    if (o->idle_per_table == 0) o->idle_per_table = o->players + o->spectators;
}

/* Idle connections are spread over tables as the busy ones are: every join of a spectator is
 * announced to the table ('spectators' notification), so one table of 10,000 watchers would
 * cost 10,000^2 / 2 messages before anything was idle. */
int bench_opts_idle_tables(const struct bench_opts *o)
{
    return (o->idle + o->idle_per_table - 1) / o->idle_per_table;
}

/* The --table arguments of a feltd serving this run (ws tables, polling tables, idle tables). */
char **bench_opts_feltd_argv(const struct bench_opts *o, int *n)
{
    int cap = 26 + 2 * (o->tables + o->npoll * o->poll_tables + bench_opts_idle_tables(o)) +
              o->nfeltd_args,
        k = 0;
    char **v = xcalloc((size_t)cap, sizeof(*v));
    char spec[96];
    /* Nothing kept by default (never the user's own data folder); --feltd-arg --data DIR comes
     * later on the command line and wins, to measure with storage. */
    v[k++] = xstrdup("--data");
    v[k++] = xstrdup(":memory:");
    v[k++] = xstrdup("--hand-delay");
    v[k++] = xstrdup("0");
    v[k++] = xstrdup("--action-timeout");
    v[k++] = xstrdup("3600");
    /* Every simulated client is 127.0.0.1: the per-address limits (docs/security.md) are off. */
    static const char *const limits_off[] = {
        "--joins-per-minute", "0", "--seats-per-address", "0", "--max-conns-per-address", "0",
        "--chat-per-address", "0", "--chat-per-table",    "0", "--sitout-hands",          "0",
        "--idle-seat-secs",   "0"};
    for (size_t i = 0; i < FELT_ARRAY_LEN(limits_off); i++)
        v[k++] = xstrdup(limits_off[i]);
    for (int i = 0; i < o->tables; i++) {
        snprintf(spec, sizeof(spec), "t%d:%d:5/%d:%d", i, o->players, BENCH_BIG_BLIND,
                 BENCH_BUY_IN);
        v[k++] = xstrdup("--table");
        v[k++] = xstrdup(spec);
    }
    for (int p = 0; p < o->npoll; p++)
        for (int i = 0; i < o->poll_tables; i++) {
            snprintf(spec, sizeof(spec), "p%d-%d:%d:5/%d:%d", o->poll_ms[p], i, o->players,
                     BENCH_BIG_BLIND, BENCH_BUY_IN);
            v[k++] = xstrdup("--table");
            v[k++] = xstrdup(spec);
        }
    for (int i = 0; i < bench_opts_idle_tables(o); i++) {
        snprintf(spec, sizeof(spec), "idle%d:2:5/10:1000", i);
        v[k++] = xstrdup("--table");
        v[k++] = xstrdup(spec);
    }
    for (int i = 0; i < o->nfeltd_args; i++)
        v[k++] = xstrdup(o->feltd_args[i]);
    *n = k;
    return v;
}
