/*
 * felt_bench.c: felt-bench, the load generator and meter for feltd: WebSocket push against the
 * old HTTP polling, from one process and one event loop (wsclient/wsclient.h).
 *
 * One run is a sequence of phases against one feltd (started here with --feltd, or attached to
 * with --server and --pid), each measured over the same window (--seconds, after --warmup):
 *   idle        C spectator sockets that only receive their snapshot: server RSS per connection
 *               and the server CPU they cost while nothing happens;
 *   ws          N tables of P bot players and S spectators on WebSockets, bots acting as fast as
 *               the server's per-connection flood limit allows (or after --think-ms), without and
 *               with permessage-deflate;
 *   poll        the same shape over the HTTP fallback (GET .../state?since=SEQ every 2 s and every
 *               250 ms, actions by POST), on tables of their own.
 * Measured per phase: action-to-broadcast latency (a bot stamps a monotonic time when it sends an
 * action; every other client of that table stamps the arrival of the state_update "action" it
 * produced; same process, same clock), actions/s, deliveries/s (messages, or polled events,
 * received by all clients), server CPU per 1,000 actions (/proc/PID/stat), bytes per action and
 * per minute per client (payload, and wire bytes from TCP_INFO or /proc/self/io), server RSS.
 * Results are printed as a table and written as JSON (--json-out). The numbers are benchmarks
 * against the targets of docs/performance.md, never assertions: the exit status says only
 * whether the run itself worked (every client connected, actions flowed).
 *
 * This file has main (the server, the loop, the order of the phases) and the loop runner every
 * phase waits with; the rest, by topic: bench_opts.c (the command line), bench_phase.c (the
 * phases), bench_bot.c (the clients as bots), bench_net.c (their connections), bench_report.c
 * and bench_json.c (the results); bench.h lists them all.
 */
#include "bench.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t bench_interrupted;
static struct wsloop *bench_signal_loop;

void bench_log(const struct bench *b, const char *fmt, ...)
{
    va_list ap;
    if (b->o.quiet) return;
    fputs("felt-bench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double bench_self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

double bench_server_cpu_s(const struct bench *b, double *each)
{
    if (b->o.npids <= 1) {
        double v = b->pid ? bench_proc_cpu_s(b->pid) : -1;
        if (each) each[0] = v;
        return v;
    }
    double sum = 0;
    for (int i = 0; i < b->o.npids; i++) {
        double v = bench_proc_cpu_s(b->o.pids[i]);
        if (each) each[i] = v;
        sum = sum >= 0 && v >= 0 ? sum + v : -1; /* a process gone: not measured */
    }
    return sum;
}

/* ---- running the loop until something is done ---------------------------------------------- */

void bench_poke(struct bench *b)
{
    if (b->done && b->done(b)) wsloop_stop(b->loop);
}

static void bench_deadline_fire(void *arg)
{
    struct bench *b = arg;
    b->timed_out = true;
    wsloop_stop(b->loop);
}

bool bench_run(struct bench *b, bool (*done)(struct bench *b), double seconds)
{
    if (bench_interrupted) return false;
    if (done && done(b)) return true;
    b->done = done;
    b->timed_out = false;
    wstimer_arm(b->deadline, (int64_t)(seconds * 1000));
    if (wsloop_run(b->loop) != 0) felt_fatal("the event loop failed");
    wstimer_cancel(b->deadline);
    b->done = NULL;
    if (bench_interrupted) return false;
    return done ? done(b) : true;
}

/* ---- setup ----------------------------------------------------------------------------------- */

/* Raises the soft RLIMIT_NOFILE to the hard limit and says when even that is too low. */
static rlim_t bench_raise_nofile(const struct bench_opts *o)
{
    struct rlimit rl;
    int conns = o->tables * (o->players + o->spectators);
    if (o->idle > conns) conns = o->idle;
    rlim_t want = (rlim_t)conns + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want)
        fprintf(stderr,
                "felt-bench: warning: this run needs about %llu file descriptors (and feltd as "
                "many), but the limit is %llu: raise it (as root: ulimit -Hn %llu; ulimit -n "
                "%llu, or LimitNOFILE= for a service) or run fewer connections\n",
                (unsigned long long)want, (unsigned long long)rl.rlim_cur, (unsigned long long)want,
                (unsigned long long)want);
    return rl.rlim_cur;
}

/* In attach mode: feltd's own open-files limit, from /proc/PID/limits. */
static void bench_check_server_nofile(const struct bench *b)
{
    char path[64], line[256];
    unsigned long long soft;
    int conns = b->o.tables * (b->o.players + b->o.spectators);
    if (!b->pid) return;
    snprintf(path, sizeof(path), "/proc/%d/limits", (int)b->pid);
    FILE *f = fopen(path, "r");
    if (!f) return;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Max open files %llu", &soft) == 1 &&
            soft < (unsigned long long)conns + 64)
            fprintf(stderr,
                    "felt-bench: warning: feltd may open only %llu files but this run "
                    "makes %d connections: start it after ulimit -n %d\n",
                    soft, conns, conns + 256);
    fclose(f);
}

static void bench_on_signal(int sig)
{
    (void)sig;
    bench_interrupted = 1;
    if (bench_signal_loop) wsloop_stop(bench_signal_loop);
}

/* Derives the http:// and ws:// bases of a loopback server URL, as server i. */
static int bench_set_server(struct bench *b, int i, const char *url)
{
    int port = 0;
    char host[64];
    if (sscanf(url, "http://%63[^:/]:%d", host, &port) != 2 || port <= 0 || port > 65535) {
        fprintf(stderr, "felt-bench: --server wants http://127.0.0.1:PORT\n");
        return -1;
    }
    if (strcmp(host, "127.0.0.1") != 0 && strcmp(host, "localhost") != 0) {
        fprintf(stderr, "felt-bench: loopback only: the server must be on 127.0.0.1\n");
        return -1;
    }
    snprintf(b->http_bases[i], sizeof(b->http_bases[i]), "http://127.0.0.1:%d", port);
    snprintf(b->ws_bases[i], sizeof(b->ws_bases[i]), "ws://127.0.0.1:%d", port);
    if (i == 0) {
        snprintf(b->http_base, sizeof(b->http_base), "%s", b->http_bases[0]);
        snprintf(b->ws_base, sizeof(b->ws_base), "%s", b->ws_bases[0]);
    }
    b->nservers = i + 1;
    return 0;
}

/* Starts feltd with the run's arguments (--feltd), or attaches to the one at --server. Returns 0,
 * or the exit status to give up with. */
static int bench_server(struct bench *b)
{
    int nfa = 0, port = 0;
    char **fa = bench_opts_feltd_argv(&b->o, &nfa);
    int rc = 0;
    if (b->o.feltd) {
        if (bench_proc_feltd_start(&b->feltd, b->o.feltd, fa, nfa) != 0) {
            rc = 1;
        } else {
            b->pid = b->feltd.pid;
            b->own_server = true;
            char url[64];
            snprintf(url, sizeof(url), "http://127.0.0.1:%d", b->feltd.port);
            bench_set_server(b, 0, url);
            bench_log(b, "started %s (pid %d) on port %d", b->o.feltd, (int)b->pid, b->feltd.port);
        }
    } else {
        for (int i = 0; i < b->o.nservers && rc == 0; i++)
            if (bench_set_server(b, i, b->o.servers[i]) != 0)
                rc = 2;
    }
    if (rc == 0 && !b->o.feltd) {
        b->pid = b->o.pid;
        bench_check_server_nofile(b);
        bench_log(b, "attached to %s%s; it needs: %s", b->http_base,
                  b->pid ? "" : " (no --pid: server CPU and RSS are not measured)",
                  "felt-bench --print-feltd-args with the same options");
    }
    for (int i = 0; i < nfa; i++)
        free(fa[i]);
    free(fa);
    if (rc != 0) return rc;
    sscanf(b->http_base, "http://127.0.0.1:%d", &port);
    b->http_header_base = bench_proc_http_header_base(port);
    if (b->http_header_base < 0)
        fprintf(stderr, "felt-bench: cannot measure feltd's HTTP header size: polling wire "
                        "bytes are not reported\n");
    return 0;
}

/* The loop (sized for the largest phase), its timers, and SIGINT/SIGTERM winding the run up. */
static int bench_loop(struct bench *b)
{
    int conns = b->o.tables * (b->o.players + b->o.spectators);
    struct wsloop_config lc = {.max_conns = conns > b->o.idle ? conns : b->o.idle,
                               .ping_secs = b->o.ping_secs,
                               .hangup_secs = b->o.ping_secs ? 3 * b->o.ping_secs : 0,
                               .libev = true};
    struct sigaction sa;
    b->loop = wsloop_new(&lc);
    if (!b->loop) {
        fprintf(stderr, "felt-bench: cannot create the event loop\n");
        return -1;
    }
    b->deadline = wstimer_new(b->loop, bench_deadline_fire, b);
    b->lobby_timer = wstimer_new(b->loop, bench_net_lobby_fire, b);
    bench_signal_loop = b->loop;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = bench_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return 0;
}

/* The measured phases, in the order they run after the idle one: WebSocket, then polling. */
static void bench_plan(struct bench *b)
{
    if (b->o.ws_off) {
        struct bench_phase *ph = &b->phases[b->nphases++];
        snprintf(ph->name, sizeof(ph->name), "ws");
    }
    if (b->o.ws_on) {
        struct bench_phase *ph = &b->phases[b->nphases++];
        snprintf(ph->name, sizeof(ph->name), "ws+deflate");
        ph->deflate = true;
    }
    for (int i = 0; i < b->o.npoll; i++) {
        struct bench_phase *ph = &b->phases[b->nphases++];
        snprintf(ph->name, sizeof(ph->name), "poll %d ms", b->o.poll_ms[i]);
        ph->poll = true;
        ph->interval_ms = b->o.poll_ms[i];
    }
}

static void bench_free_phase(struct bench_phase *ph)
{
    free(ph->clients);
    free(ph->tables);
    ph->clients = NULL;
    ph->tables = NULL;
}

/* Frees everything and stops the feltd started here. */
static void bench_free(struct bench *b)
{
    bench_signal_loop = NULL;
    if (b->loop) {
        wstimer_free(b->deadline);
        wstimer_free(b->lobby_timer);
        wsloop_free(b->loop);
    }
    for (int i = 0; i < b->nphases; i++)
        bench_free_phase(&b->phases[i]);
    free(b->idle_clients);
    free(b->idle_tables);
    if (b->own_server) {
        int st = bench_proc_feltd_stop(&b->feltd);
        if (st != 0) fprintf(stderr, "felt-bench: feltd did not exit cleanly (status %d)\n", st);
    }
    free(b->o.feltd_args);
}

int main(int argc, char **argv)
{
    static struct bench bench;
    struct bench *b = &bench;
    int rc = 0;

    bench_opts_parse(&b->o, argc, argv);
    if (b->o.print_feltd_args) {
        int nfa = 0;
        char **fa = bench_opts_feltd_argv(&b->o, &nfa);
        for (int i = 0; i < nfa; i++) {
            printf("%s%s", fa[i], i + 1 < nfa ? " " : "\n");
            free(fa[i]);
        }
        free(fa);
        free(b->o.feltd_args);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    b->nofile = bench_raise_nofile(&b->o);
    if (b->o.seed)
        rng_init_seeded(&b->rng, b->o.seed);
    else
        rng_init_os(&b->rng);
    rc = bench_server(b);
    if (rc != 0) {
        free(b->o.feltd_args);
        return rc;
    }
    if (bench_loop(b) != 0) {
        rc = 1;
        goto out;
    }

    /* Phases: idle first (a fresh heap measures memory best), then WebSocket, then polling. */
    bench_plan(b);
    if (b->o.idle > 0) bench_phase_idle(b);
    for (int i = 0; i < b->nphases && !bench_interrupted; i++) {
        struct bench_phase *ph = &b->phases[i];
        if (ph->poll) {
            char prefix[32];
            snprintf(prefix, sizeof(prefix), "p%d-", ph->interval_ms);
            bench_phase_tables(b, ph, b->o.poll_tables, prefix);
            bench_phase_poll(b, ph);
        } else {
            bench_phase_tables(b, ph, b->o.tables, "t");
            bench_phase_ws(b, ph);
        }
    }
    if (bench_interrupted) {
        fprintf(stderr, "felt-bench: interrupted\n");
        rc = 130;
    }
    bench_report_print(b);
    if (b->o.json_out && bench_json_write(b, b->o.json_out) != 0) rc = rc ? rc : 1;
    for (int i = 0; i < b->nphases; i++)
        if (b->phases[i].ran && !b->phases[i].ok) rc = rc ? rc : 1;
    if (b->idle.ran && !b->idle.ok) rc = rc ? rc : 1;

out:
    bench_free(b);
    return rc;
}
