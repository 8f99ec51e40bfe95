/*
 * faultproxy.c: a TCP fault-injection proxy for felt's fault, ordering and soak tests.
 *
 * It listens on 127.0.0.1, forwards every accepted connection to a loopback target (feltd), and
 * every so often picks one live connection at random and harms it by one of four faults:
 *   rst    both sides are reset (SO_LINGER 0, then close): the peers see ECONNRESET;
 *   close  both sides are closed (FIN) and what was still buffered is thrown away;
 *   stall  nothing is forwarded either way for a while, then forwarding resumes;
 *   cut    the next chunk in either direction is forwarded only in part (a prefix of 1..n-1
 *          bytes: a WebSocket frame cut in the middle), then both sides are closed;
 *   lose   the next connection to send something has it delivered, but everything the server
 *          sends back is thrown away and both sides are closed shortly after: a request that
 *          was applied but whose answer never came (what exactly-once resending is for).
 * Apart from those random faults, --blackhole up|down|both makes a black hole that SIGHUP turns
 * on and off (stdout says "faultproxy: blackhole on" / "off"): while it is on, every connection,
 * old or new, is still accepted and connected, but nothing is forwarded in the chosen directions
 * (up: client to server, down: server to client). The bytes are not lost: they wait in the
 * kernel's buffers, as behind a network that drops every segment and has TCP resend them, and
 * flow again when the hole closes (if the peers are still there). That is a server that is up
 * but never answers, or a client whose words never arrive: what only timeouts can notice.
 * Choices come from a seeded PRNG (--seed), so a run's sequence of decisions is reproducible
 * (which connection is hit still depends on timing). Only connections older than --min-age ms
 * are harmed, so short HTTP requests (a join) and fresh upgrades get through.
 *
 * Plain sockets and poll(2), one thread, no libwebsockets. Each direction has a bounded buffer
 * and reading stops while it is full, so a slow peer never grows the proxy's memory. The proxy
 * exits by itself after --duration seconds (bounded run time), on SIGINT/SIGTERM, or when it
 * cannot listen. SIGUSR1 stops injecting faults and calls off those in progress (forwarding goes
 * on: the calm before a test's final checks); SIGUSR2 resumes them.
 *
 * stdout: "faultproxy: listening on 127.0.0.1:PORT" once listening, and at exit one JSON line
 * of counters ({"faultproxy": "stats", ...}). With --verbose every fault is logged on stderr.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rng.h"
#include "util.h"

#define FP_BUF 65536         /* bytes buffered per direction */
#define FP_CUT_WAIT_MS 2000  /* a cut that sees no data within this closes plainly */
#define FP_LOSE_GRACE_MS 200 /* lose: time for the request to reach the server before closing */
#define FP_MAX_DURATION_S 86400

enum fp_fault { FP_RST, FP_CLOSE, FP_STALL, FP_CUT, FP_LOSE, FP_NFAULTS };
static const char *const fp_fault_names[FP_NFAULTS] = {"rst", "close", "stall", "cut", "lose"};

/* One direction of a pair: bytes read from src waiting to be written to dst. */
struct fp_dir {
    unsigned char buf[FP_BUF];
    size_t off, len;
    bool eof;  /* src said EOF: shut dst for writing once the buffer is drained */
    bool shut; /* dst was shut for writing */
};

struct fp_pair {
    int cfd, sfd;    /* client side, server side */
    bool connecting; /* the connect to the target is in progress */
    int64_t born_ms;
    int64_t stall_until_ms;  /* > now: stalled */
    int64_t cut_deadline_ms; /* > 0: a cut is pending */
    bool close_after_flush;  /* cut: close once the truncated buffer is written */
    int64_t lose_close_ms;   /* > 0: lose: replies are discarded; close at this time */
    struct fp_dir up, down;  /* up: client -> server; down: server -> client */
};

/* The command line. The whole numbers are all int64_t, so that one table sets them all. */
struct fp_opts {
    int64_t port;
    int64_t target_port;
    const char *target_host;
    int64_t seed;     /* 0..INT64_MAX */
    int64_t every_ms; /* mean interval between faults; 0: never */
    bool enabled[FP_NFAULTS];
    int64_t stall_min_ms, stall_max_ms;
    int64_t min_age_ms;
    int64_t duration_s;
    int64_t max_conns;
    bool verbose;
};

static struct {
    uint64_t accepted, refused, connect_failed, closed_clean;
    uint64_t faults[FP_NFAULTS];
    uint64_t blackholes; /* times the black hole was switched on */
    uint64_t bytes_up, bytes_down;
} fp_stats;

static volatile sig_atomic_t fp_quit, fp_calm_req, fp_storm_req, fp_hole_req;
static bool fp_lose_armed; /* the next eligible connection that sends something is "lost" */

/* --blackhole: the directions named (FP_HOLE_UP | FP_HOLE_DOWN), and those black-holed now
 * (the same, or 0 while the hole is off; SIGHUP switches). */
#define FP_HOLE_UP 1u
#define FP_HOLE_DOWN 2u
static unsigned fp_hole_dirs, fp_hole;

static void fp_on_signal(int sig)
{
    if (sig == SIGUSR1)
        fp_calm_req = 1;
    else if (sig == SIGUSR2)
        fp_storm_req = 1;
    else if (sig == SIGHUP)
        fp_hole_req = 1;
    else
        fp_quit = 1;
}

static int64_t fp_now_ms(void)
{
    return felt_mono_us() / 1000;
}

static void fp_usage(FILE *f)
{
    fputs("usage: faultproxy --target PORT [options]\n"
          "\n"
          "A TCP proxy on 127.0.0.1 that injects faults into the connections it forwards.\n"
          "\n"
          "  --target PORT          forward to this port (required)\n"
          "  --target-host ADDR     forward to this loopback address (default 127.0.0.1)\n"
          "  --port N               listen here (default 0: a free port, printed on stdout)\n"
          "  --seed N               PRNG seed (default 1)\n"
          "  --every MS             mean interval between faults (default 3000; 0: none)\n"
          "  --faults LIST          comma-separated from rst,close,stall,cut,lose (default all)\n"
          "  --stall MIN:MAX        stall length in ms (default 500:3000)\n"
          "  --min-age MS           harm only connections at least this old (default 1000)\n"
          "  --duration S           exit after S seconds (default 600, at most 86400)\n"
          "  --max-conns N          refuse connections beyond N pairs (default 4096)\n"
          "  --blackhole DIR        up, down or both: SIGHUP turns a black hole on and off\n"
          "                         (connections accepted, nothing forwarded that way)\n"
          "  --verbose              log every fault on stderr\n"
          "Signals: SIGUSR1 stops injecting faults, SIGUSR2 resumes, SIGHUP switches the\n"
          "black hole (with --blackhole), SIGTERM exits.\n",
          f);
}

static long long fp_number(const char *opt, const char *s, long long lo, long long hi)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno || v < lo || v > hi) {
        fprintf(stderr, "faultproxy: %s wants a whole number from %lld to %lld\n", opt, lo, hi);
        exit(2);
    }
    return v;
}

/* --faults LIST: only the faults named (comma-separated) are enabled. */
static void fp_parse_faults(const char *arg, struct fp_opts *o)
{
    char list[128], *save = NULL;
    snprintf(list, sizeof(list), "%s", arg);
    memset(o->enabled, 0, sizeof(o->enabled));
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int k = 0;
        while (k < FP_NFAULTS && strcmp(tok, fp_fault_names[k]) != 0)
            k++;
        if (k == FP_NFAULTS) {
            fprintf(stderr, "faultproxy: unknown fault '%s' (rst, close, stall, cut, lose)\n", tok);
            exit(2);
        }
        o->enabled[k] = true;
    }
}

/* --stall MIN:MAX in ms. */
static void fp_parse_stall(const char *arg, struct fp_opts *o)
{
    long long lo, hi;
    int n = 0;
    if (sscanf(arg, "%lld:%lld%n", &lo, &hi, &n) != 2 || arg[n] != '\0' || lo < 0 || hi < lo ||
        hi > 3600000) {
        fprintf(stderr, "faultproxy: --stall wants MIN:MAX in ms\n");
        exit(2);
    }
    o->stall_min_ms = lo;
    o->stall_max_ms = hi;
}

/* The options, one row each (fp_usage describes them), named as typed. A row's index is its
 * getopt value (from FP_OPT_BASE, above every short option's character). */
enum fp_opt_kind {
    FP_OPT_NUMBER, /* a whole number from lo to hi, into the int64_t at offset in fp_opts */
    FP_OPT_HOST,
    FP_OPT_FAULTS,
    FP_OPT_STALL,
    FP_OPT_BLACKHOLE,
    FP_OPT_VERBOSE,
    FP_OPT_HELP,
};
#define FP_OPT_BASE 256
static const struct fp_opt {
    const char *name;
    enum fp_opt_kind kind;
    size_t offset;
    long long lo, hi;
} fp_opt_table[] = {
    {"--target", FP_OPT_NUMBER, offsetof(struct fp_opts, target_port), 1, 65535},
    {"--target-host", FP_OPT_HOST, 0, 0, 0},
    {"--port", FP_OPT_NUMBER, offsetof(struct fp_opts, port), 0, 65535},
    {"--seed", FP_OPT_NUMBER, offsetof(struct fp_opts, seed), 0, INT64_MAX},
    {"--every", FP_OPT_NUMBER, offsetof(struct fp_opts, every_ms), 0, 3600000},
    {"--faults", FP_OPT_FAULTS, 0, 0, 0},
    {"--stall", FP_OPT_STALL, 0, 0, 0},
    {"--min-age", FP_OPT_NUMBER, offsetof(struct fp_opts, min_age_ms), 0, 3600000},
    {"--duration", FP_OPT_NUMBER, offsetof(struct fp_opts, duration_s), 1, FP_MAX_DURATION_S},
    {"--max-conns", FP_OPT_NUMBER, offsetof(struct fp_opts, max_conns), 1, 100000},
    {"--blackhole", FP_OPT_BLACKHOLE, 0, 0, 0},
    {"--verbose", FP_OPT_VERBOSE, 0, 0, 0},
    {"--help", FP_OPT_HELP, 0, 0, 0},
};
#define FP_NOPTS FELT_ARRAY_LEN(fp_opt_table)

/* Applies one row of fp_opt_table with its argument. */
static void fp_option(const struct fp_opt *opt, const char *arg, struct fp_opts *o)
{
    switch (opt->kind) {
    case FP_OPT_NUMBER:
        *(int64_t *)((char *)o + opt->offset) = fp_number(opt->name, arg, opt->lo, opt->hi);
        break;
    case FP_OPT_HOST:
        o->target_host = arg;
        break;
    case FP_OPT_FAULTS:
        fp_parse_faults(arg, o);
        break;
    case FP_OPT_STALL:
        fp_parse_stall(arg, o);
        break;
    case FP_OPT_BLACKHOLE:
        fp_hole_dirs = strcmp(arg, "up") == 0     ? FP_HOLE_UP
                       : strcmp(arg, "down") == 0 ? FP_HOLE_DOWN
                       : strcmp(arg, "both") == 0 ? FP_HOLE_UP | FP_HOLE_DOWN
                                                  : 0;
        if (!fp_hole_dirs) {
            fprintf(stderr, "faultproxy: --blackhole wants up, down or both\n");
            exit(2);
        }
        break;
    case FP_OPT_VERBOSE:
        o->verbose = true;
        break;
    case FP_OPT_HELP:
        fp_usage(stdout);
        exit(0);
    }
}

/* Parses the command line into o, from the defaults fp_usage lists; exits 0 after --help and 2
 * on a bad command line (with the reason, or the usage, on stderr). */
static void fp_parse(int argc, char **argv, struct fp_opts *o)
{
    struct option longopts[FP_NOPTS + 1];
    int c;
    for (size_t i = 0; i < FP_NOPTS; i++) {
        bool flag = fp_opt_table[i].kind == FP_OPT_VERBOSE || fp_opt_table[i].kind == FP_OPT_HELP;
        longopts[i] =
            (struct option){fp_opt_table[i].name + 2, /* without "--" */
                            flag ? no_argument : required_argument, NULL, FP_OPT_BASE + (int)i};
    }
    longopts[FP_NOPTS] = (struct option){NULL, 0, NULL, 0};
    *o = (struct fp_opts){
        .target_host = "127.0.0.1",
        .seed = 1,
        .every_ms = 3000,
        .stall_min_ms = 500,
        .stall_max_ms = 3000,
        .min_age_ms = 1000,
        .duration_s = 600,
        .max_conns = 4096,
    };
    for (int i = 0; i < FP_NFAULTS; i++)
        o->enabled[i] = true;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c >= FP_OPT_BASE && c < FP_OPT_BASE + (int)FP_NOPTS) {
            fp_option(&fp_opt_table[c - FP_OPT_BASE], optarg, o);
        } else if (c == 'h') {
            fp_usage(stdout);
            exit(0);
        } else {
            fp_usage(stderr);
            exit(2);
        }
    }
    if (optind < argc || o->target_port == 0) {
        fp_usage(stderr);
        exit(2);
    }
}

/* ---- sockets --------------------------------------------------------------------------- */

static void fp_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Closes fd so that the peer sees a reset rather than an orderly end. */
static void fp_close_rst(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    if (fd < 0) return;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

static int fp_listen(const struct fp_opts *o, int *port_out)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)o->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 1024) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        close(fd);
        return -1;
    }
    fp_nonblock(fd);
    *port_out = ntohs(a.sin_port);
    return fd;
}

/* A non-blocking connect to the target; -1 if it failed at once. */
static int fp_connect(const struct sockaddr_in *target, bool *in_progress)
{
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *in_progress = false;
    if (connect(fd, (const struct sockaddr *)target, sizeof(*target)) != 0) {
        if (errno != EINPROGRESS) {
            close(fd);
            return -1;
        }
        *in_progress = true;
    }
    return fd;
}

/* ---- pairs ----------------------------------------------------------------------------- */

static struct fp_pair **fp_pairs;
static int fp_npairs;

static void fp_pair_free(int i, bool rst)
{
    struct fp_pair *p = fp_pairs[i];
    if (rst) {
        fp_close_rst(p->cfd);
        fp_close_rst(p->sfd);
    } else {
        close(p->cfd);
        close(p->sfd);
    }
    free(p);
    fp_pairs[i] = fp_pairs[--fp_npairs];
}

/* Moves bytes from src into d's buffer. Returns -1 when the pair must go (error). */
static int fp_read_into(int src, struct fp_dir *d, uint64_t *counter)
{
    if (d->len == 0)
        d->off = 0;
    else if (d->off + d->len == FP_BUF) {
        memmove(d->buf, d->buf + d->off, d->len);
        d->off = 0;
    }
    size_t room = FP_BUF - d->off - d->len;
    if (room == 0 || d->eof) return 0;
    ssize_t n = read(src, d->buf + d->off + d->len, room);
    if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (n == 0) {
        d->eof = true;
        return 0;
    }
    d->len += (size_t)n;
    *counter += (uint64_t)n;
    return 0;
}

static int fp_write_from(int dst, struct fp_dir *d)
{
    if (d->len == 0) return 0;
    ssize_t n = write(dst, d->buf + d->off, d->len);
    if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
    d->off += (size_t)n;
    d->len -= (size_t)n;
    return 0;
}

/* ---- faults ---------------------------------------------------------------------------- */

static const char *fp_fault_name(enum fp_fault f)
{
    return fp_fault_names[f];
}

/* Truncates the direction that holds data to a random proper prefix (at least one byte is
 * kept when there are two or more). Returns true if some data was truncated. */
static bool fp_cut_now(struct fp_pair *p, struct rng *r)
{
    struct fp_dir *d = p->down.len >= 2 ? &p->down : p->up.len >= 2 ? &p->up : NULL;
    if (!d) return false;
    d->len = 1 + (size_t)rng_bounded(r, d->len - 1);
    p->close_after_flush = true;
    return true;
}

/* Old enough, connected, and not already being harmed. */
static bool fp_eligible(const struct fp_opts *o, const struct fp_pair *p, int64_t now)
{
    return !p->connecting && now - p->born_ms >= o->min_age_ms && p->stall_until_ms <= now &&
           p->cut_deadline_ms == 0 && !p->close_after_flush && p->lose_close_ms == 0;
}

static void fp_inject(const struct fp_opts *o, struct rng *r, int64_t now)
{
    int cand[FP_NFAULTS], ncand = 0, nvict = 0;
    for (int k = 0; k < FP_NFAULTS; k++)
        if (o->enabled[k]) cand[ncand++] = k;
    if (ncand == 0) return;
    enum fp_fault f = (enum fp_fault)cand[rng_bounded(r, (uint64_t)ncand)];
    if (f == FP_LOSE) {
        fp_lose_armed = true; /* the victim is whoever sends next (counted then) */
        return;
    }
    for (int i = 0; i < fp_npairs; i++)
        nvict += fp_eligible(o, fp_pairs[i], now);
    if (nvict == 0) return;
    uint64_t pick = rng_bounded(r, (uint64_t)nvict);
    for (int i = 0; i < fp_npairs; i++) {
        struct fp_pair *p = fp_pairs[i];
        if (!fp_eligible(o, p, now)) continue;
        if (pick-- > 0) continue;
        fp_stats.faults[f]++;
        if (o->verbose)
            fprintf(stderr, "faultproxy: %s on connection %d (age %lld ms)\n", fp_fault_name(f),
                    p->cfd, (long long)(now - p->born_ms));
        switch (f) {
        case FP_RST:
            fp_pair_free(i, true);
            break;
        case FP_CLOSE:
            fp_pair_free(i, false);
            break;
        case FP_STALL:
            p->stall_until_ms =
                now + o->stall_min_ms +
                (int64_t)rng_bounded(r, (uint64_t)(o->stall_max_ms - o->stall_min_ms + 1));
            break;
        case FP_CUT:
            if (!fp_cut_now(p, r)) p->cut_deadline_ms = now + FP_CUT_WAIT_MS;
            break;
        case FP_LOSE:
        case FP_NFAULTS:
            break;
        }
        return;
    }
}

/* ---- the loop -------------------------------------------------------------------------- */

static void fp_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void fp_accept(int lfd, const struct fp_opts *o, const struct sockaddr_in *target)
{
    for (;;) {
        int one = 1;
        int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) return;
        if (fp_npairs >= o->max_conns) {
            fp_stats.refused++;
            close(cfd);
            continue;
        }
        bool in_progress;
        int sfd = fp_connect(target, &in_progress);
        if (sfd < 0) {
            fp_stats.connect_failed++;
            fp_close_rst(cfd);
            continue;
        }
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct fp_pair *p = xcalloc(1, sizeof(*p));
        p->cfd = cfd;
        p->sfd = sfd;
        p->connecting = in_progress;
        p->born_ms = fp_now_ms();
        fp_pairs = xrealloc(fp_pairs, sizeof(*fp_pairs) * (size_t)(fp_npairs + 1));
        fp_pairs[fp_npairs++] = p;
        fp_stats.accepted++;
    }
}

/* Handles the poll results of pair i. Returns false when the pair was freed. */
static bool fp_service(const struct fp_opts *o, int i, const struct pollfd *pc,
                       const struct pollfd *ps, int64_t now, struct rng *r)
{
    struct fp_pair *p = fp_pairs[i];
    bool stalled = p->stall_until_ms > now;
    if (p->connecting) {
        int err = 0;
        socklen_t elen = sizeof(err);
        if (!(ps->revents & (POLLOUT | POLLERR | POLLHUP))) return true;
        if (getsockopt(p->sfd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
            fp_stats.connect_failed++;
            fp_pair_free(i, true);
            return false;
        }
        p->connecting = false;
        return true;
    }
    if (stalled) return true;
    if ((pc->revents & POLLERR) || (ps->revents & POLLERR)) goto reset;
    size_t up_before = p->up.len;
    if (!(fp_hole & FP_HOLE_UP) && (pc->revents & (POLLIN | POLLHUP)) &&
        fp_read_into(p->cfd, &p->up, &fp_stats.bytes_up) != 0)
        goto reset;
    if (fp_lose_armed && p->up.len > up_before && fp_eligible(o, p, now)) {
        fp_lose_armed = false;
        fp_stats.faults[FP_LOSE]++;
        p->lose_close_ms = now + FP_LOSE_GRACE_MS;
        p->down.len = 0;
        if (o->verbose)
            fprintf(stderr, "faultproxy: lose on connection %d (age %lld ms)\n", p->cfd,
                    (long long)(now - p->born_ms));
    }
    if (!(fp_hole & FP_HOLE_DOWN) && (ps->revents & (POLLIN | POLLHUP)) &&
        fp_read_into(p->sfd, &p->down, &fp_stats.bytes_down) != 0)
        goto reset;
    if (p->lose_close_ms > 0) {
        p->down.len = 0; /* every reply is lost */
        if (now >= p->lose_close_ms) {
            fp_pair_free(i, false);
            return false;
        }
    }
    if (p->cut_deadline_ms > 0) {
        if (fp_cut_now(p, r))
            p->cut_deadline_ms = 0;
        else if (now >= p->cut_deadline_ms) {
            fp_pair_free(i, false);
            return false;
        }
    }
    if (fp_write_from(p->sfd, &p->up) != 0 || fp_write_from(p->cfd, &p->down) != 0) goto reset;
    if (p->close_after_flush && p->up.len == 0 && p->down.len == 0) {
        fp_pair_free(i, false);
        return false;
    }
    if (p->up.eof && p->up.len == 0 && !p->up.shut) {
        shutdown(p->sfd, SHUT_WR);
        p->up.shut = true;
    }
    if (p->down.eof && p->down.len == 0 && !p->down.shut) {
        shutdown(p->cfd, SHUT_WR);
        p->down.shut = true;
    }
    if (p->up.shut && p->down.shut) {
        fp_stats.closed_clean++;
        fp_pair_free(i, false);
        return false;
    }
    return true;
reset:
    /* One side failed: pass the failure on to the other as a reset. */
    fp_pair_free(i, true);
    return false;
}

int main(int argc, char **argv)
{
    struct fp_opts o;
    struct sockaddr_in target;
    struct rng r;
    struct pollfd *pfds = NULL;
    size_t pcap = 0;
    int port = 0;
    bool calm = false;

    fp_parse(argc, argv, &o);
    memset(&target, 0, sizeof(target));
    target.sin_family = AF_INET;
    target.sin_port = htons((uint16_t)o.target_port);
    if (inet_pton(AF_INET, o.target_host, &target.sin_addr) != 1 ||
        (ntohl(target.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "faultproxy: --target-host must be a loopback IPv4 address\n");
        return 2;
    }
    rng_init_seeded(&r, (uint64_t)o.seed);
    fp_raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fp_on_signal; /* no SA_RESTART: a signal interrupts poll() */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    int lfd = fp_listen(&o, &port);
    if (lfd < 0) {
        fprintf(stderr, "faultproxy: cannot listen on 127.0.0.1:%lld: %s\n", (long long)o.port,
                strerror(errno));
        return 1;
    }
    printf("faultproxy: listening on 127.0.0.1:%d\n", port);
    fflush(stdout);

    int64_t start = fp_now_ms(), end = start + o.duration_s * 1000;
    int64_t next_fault =
        o.every_ms > 0 ? start + o.every_ms / 2 + (int64_t)rng_bounded(&r, (uint64_t)o.every_ms + 1)
                       : INT64_MAX;
    while (!fp_quit) {
        int64_t now = fp_now_ms();
        if (now >= end) break;
        if (fp_calm_req) {
            /* Calm means a plain proxy from now on: an armed "lose", pending cuts and running
             * stalls are called off too (a cut already truncated still closes). */
            fp_calm_req = 0;
            calm = true;
            fp_lose_armed = false;
            for (int i = 0; i < fp_npairs; i++) {
                fp_pairs[i]->cut_deadline_ms = 0;
                fp_pairs[i]->stall_until_ms = 0;
            }
        }
        if (fp_storm_req) {
            fp_storm_req = 0;
            calm = false;
        }
        if (fp_hole_req) {
            fp_hole_req = 0;
            if (fp_hole_dirs) {
                fp_hole = fp_hole ? 0 : fp_hole_dirs;
                fp_stats.blackholes += fp_hole != 0;
                printf("faultproxy: blackhole %s\n", fp_hole ? "on" : "off");
                fflush(stdout);
            }
        }
        if (now >= next_fault) {
            if (!calm) fp_inject(&o, &r, now);
            next_fault = now + o.every_ms / 2 + (int64_t)rng_bounded(&r, (uint64_t)o.every_ms + 1);
        }

        /* One pollfd for the listener, two per pair. */
        size_t need = 1 + 2 * (size_t)fp_npairs;
        if (need > pcap) {
            pcap = need * 2;
            pfds = xrealloc(pfds, pcap * sizeof(*pfds));
        }
        int64_t wake = next_fault < end ? next_fault : end;
        pfds[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (int i = 0; i < fp_npairs; i++) {
            struct fp_pair *p = fp_pairs[i];
            struct pollfd *pc = &pfds[1 + 2 * i], *ps = &pfds[2 + 2 * i];
            *pc = (struct pollfd){.fd = p->cfd};
            *ps = (struct pollfd){.fd = p->sfd};
            if (p->connecting) {
                pc->fd = -1; /* the client waits until the target answers */
                ps->events = POLLOUT;
                continue;
            }
            if (p->stall_until_ms > now) {
                /* Neither read nor write (the kernel buffers fill up), and do not even look:
                 * a peer that hangs up during a stall is noticed when it ends. */
                pc->fd = ps->fd = -1;
                if (p->stall_until_ms < wake) wake = p->stall_until_ms;
                continue;
            }
            if (p->cut_deadline_ms > 0 && p->cut_deadline_ms < wake) wake = p->cut_deadline_ms;
            if (p->lose_close_ms > 0 && p->lose_close_ms < wake) wake = p->lose_close_ms;
            /* A black-holed direction is not read: its bytes wait in the kernel. */
            if (!p->up.eof && p->up.len < FP_BUF && !p->close_after_flush &&
                !(fp_hole & FP_HOLE_UP))
                pc->events |= POLLIN;
            if (!p->down.eof && p->down.len < FP_BUF && !p->close_after_flush &&
                !(fp_hole & FP_HOLE_DOWN))
                ps->events |= POLLIN;
            if (p->up.len > 0) ps->events |= POLLOUT;
            if (p->down.len > 0) pc->events |= POLLOUT;
            /* A side we neither read nor write any more would only report its hang-up. */
            if (p->up.eof && p->down.shut) pc->fd = -1;
            if (p->down.eof && p->up.shut) ps->fd = -1;
        }
        int timeout = (int)(wake > now ? wake - now : 0);
        int n = poll(pfds, need, timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "faultproxy: poll: %s\n", strerror(errno));
            break;
        }
        now = fp_now_ms();
        /* Service pairs from the end, so a freed pair (replaced by the last) is not skipped and
         * the pollfds still match. */
        int npairs_polled = fp_npairs;
        for (int i = npairs_polled - 1; i >= 0; i--) {
            if (i >= fp_npairs) continue;
            fp_service(&o, i, &pfds[1 + 2 * i], &pfds[2 + 2 * i], now, &r);
        }
        if (pfds[0].revents & POLLIN) fp_accept(lfd, &o, &target);
    }

    while (fp_npairs > 0)
        fp_pair_free(fp_npairs - 1, false);
    close(lfd);
    free(pfds);
    free(fp_pairs);
    printf(
        "{\"faultproxy\": \"stats\", \"accepted\": %llu, \"refused\": %llu, "
        "\"connect_failed\": %llu, \"closed_clean\": %llu, \"rst\": %llu, \"close\": %llu, "
        "\"stall\": %llu, \"cut\": %llu, \"lose\": %llu, \"blackholes\": %llu, "
        "\"bytes_up\": %llu, \"bytes_down\": %llu}\n",
        (unsigned long long)fp_stats.accepted, (unsigned long long)fp_stats.refused,
        (unsigned long long)fp_stats.connect_failed, (unsigned long long)fp_stats.closed_clean,
        (unsigned long long)fp_stats.faults[FP_RST], (unsigned long long)fp_stats.faults[FP_CLOSE],
        (unsigned long long)fp_stats.faults[FP_STALL], (unsigned long long)fp_stats.faults[FP_CUT],
        (unsigned long long)fp_stats.faults[FP_LOSE], (unsigned long long)fp_stats.blackholes,
        (unsigned long long)fp_stats.bytes_up,
        (unsigned long long)fp_stats.bytes_down);
    return 0;
}
