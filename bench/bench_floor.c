/*
 * bench_floor.c: the floor (felt-bench-floor): what a bare C program spends on this machine's
 * TCP stack to do the least feltd must do per poker action, reported beside feltd's server CPU
 * per action (felt-bench). Per action, a table's actor sends one FLOOR_REQ_BYTES request on its
 * loopback TCP connection; the server reads it and sends --msg-bytes bytes with one send() to
 * each of the table's --conns-per-table connections, the actor's included (its ack and update).
 * No framing, no JSON, no WebSocket: epoll, recv and send.
 *
 * The server is a forked child: one thread, one level-triggered epoll loop, non-blocking sockets
 * with TCP_NODELAY (as lws sets it). The clients are the parent's one epoll loop. Each connection
 * first sends a hello naming its table and seat, answered with one message, so actions start only
 * once the server knows every connection. A table has one action in flight; its next is sent as
 * soon as all its clients have received the last one's messages, or --think-ms after that.
 * Measured over the window after --warmup: actions completed, the server's send() calls (counted
 * in shared memory), the child's CPU (/proc/PID/stat), this process's CPU (getrusage) and the
 * latency from an action's send to its table's last receive. Nothing here is asserted.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FLOOR_REQ_BYTES 60 /* about {"type":"action","action":"raise","amount":1200} */
#define FLOOR_SETUP_S 30   /* connecting and every hello answered, or exit 1 */
#define FLOOR_CONNECT_S 5  /* one blocking connect at most */
#define FLOOR_EVENTS 256
#define FLOOR_NS 1000000000LL

struct floor_opts {
    int tables, conns_per_table, msg_bytes, seconds, warmup, think_ms;
    const char *json_out;
    bool quiet;
};

/* ---- helpers ---------------------------------------------------------------------------- */

/* A reason on stderr, then exit(code): 2 for a bad command line, 1 for a failed run. */
__attribute__((format(printf, 2, 3), noreturn)) static void floor_exit(int code, const char *fmt,
                                                                       ...)
{
    va_list ap;
    fputs("felt-bench-floor: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

static int64_t floor_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * FLOOR_NS + ts.tv_nsec;
}

/* utime + stime of pid in seconds (clock-tick resolution), or exit 1. */
static double floor_proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    unsigned long long ut, st;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) floor_exit(1, "%s: %s", path, strerror(errno));
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and ')' */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        floor_exit(1, "%s: unreadable", path);
    long hz = sysconf(_SC_CLK_TCK);
    return (double)(ut + st) / (double)(hz > 0 ? hz : 100);
}

static double floor_self_cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) floor_exit(1, "getrusage: %s", strerror(errno));
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void floor_nodelay(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
        floor_exit(1, "TCP_NODELAY: %s", strerror(errno));
}

static void floor_epoll_set(int ep, int op, int fd, uint32_t events, epoll_data_t data)
{
    struct epoll_event ev = {.events = events, .data = data};
    if (epoll_ctl(ep, op, fd, &ev) != 0) floor_exit(1, "epoll_ctl: %s", strerror(errno));
}

/* ---- the server (the forked child) ------------------------------------------------------ */

struct floor_sconn {
    int fd;
    int table; /* -1 until its hello has come */
    uint32_t in_have, out_left;
    bool want_out; /* EPOLLOUT is asked for */
    unsigned char in[FLOOR_REQ_BYTES];
};

struct floor_server {
    const struct floor_opts *o;
    int ep, lfd, accepted;
    struct floor_sconn **seats; /* tables * conns_per_table, by table then seat */
    unsigned char *msg;
    uint64_t *shared_sends; /* in memory shared with the parent */
    uint64_t sends;
};

/* One send() of what c still has to get of the current message; EPOLLOUT while a rest remains. */
static void floor_server_send(struct floor_server *s, struct floor_sconn *c)
{
    ssize_t n = send(c->fd, s->msg + (s->o->msg_bytes - c->out_left), c->out_left, MSG_NOSIGNAL);
    __atomic_store_n(s->shared_sends, ++s->sends, __ATOMIC_RELAXED);
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) _exit(0); /* the clients are gone */
    if (n < 0 && errno != EAGAIN) floor_exit(1, "server send: %s", strerror(errno));
    c->out_left -= n > 0 ? (uint32_t)n : 0;
    if ((c->out_left > 0) != c->want_out) {
        c->want_out = c->out_left > 0;
        floor_epoll_set(s->ep, EPOLL_CTL_MOD, c->fd, EPOLLIN | (c->want_out ? EPOLLOUT : 0),
                        (epoll_data_t){.ptr = c});
    }
}

/* A whole request from c: a hello (table, seat) answered with one message, or an action. */
static void floor_server_request(struct floor_server *s, struct floor_sconn *c)
{
    int k = s->o->conns_per_table;
    if (c->table < 0) {
        uint32_t table, seat;
        memcpy(&table, c->in, 4);
        memcpy(&seat, c->in + 4, 4);
        if (table >= (uint32_t)s->o->tables || seat >= (uint32_t)k || s->seats[table * k + seat])
            floor_exit(1, "server: bad hello (table %u, seat %u)", table, seat);
        c->table = (int)table;
        s->seats[table * k + seat] = c;
        c->out_left = (uint32_t)s->o->msg_bytes;
        floor_server_send(s, c);
        return;
    }
    struct floor_sconn **seat = s->seats + (size_t)c->table * k;
    for (int i = 0; i < k; i++)
        if (!seat[i] || seat[i]->out_left)
            floor_exit(1, "server: an action of table %d with another in flight", c->table);
    for (int i = 0; i < k; i++) {
        seat[i]->out_left = (uint32_t)s->o->msg_bytes;
        floor_server_send(s, seat[i]);
    }
}

static void floor_server_read(struct floor_server *s, struct floor_sconn *c)
{
    ssize_t n = recv(c->fd, c->in + c->in_have, FLOOR_REQ_BYTES - c->in_have, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) _exit(0); /* the run is over */
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) floor_exit(1, "server recv: %s", strerror(errno));
    c->in_have += (uint32_t)n;
    if (c->in_have < FLOOR_REQ_BYTES) return;
    c->in_have = 0;
    floor_server_request(s, c);
}

static void floor_server_accept(struct floor_server *s)
{
    int fd;
    while ((fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        if (++s->accepted > s->o->tables * s->o->conns_per_table)
            floor_exit(1, "server: more connections than expected");
        struct floor_sconn *c = calloc(1, sizeof(*c));
        if (!c) floor_exit(1, "out of memory");
        c->fd = fd;
        c->table = -1;
        floor_nodelay(fd);
        floor_epoll_set(s->ep, EPOLL_CTL_ADD, fd, EPOLLIN, (epoll_data_t){.ptr = c});
    }
    if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        floor_exit(1, "accept: %s", strerror(errno));
}

/* Runs until the parent kills it (or dies: PR_SET_PDEATHSIG), a client closes, or the alarm. */
static void floor_server_run(const struct floor_opts *o, int lfd, uint64_t *shared_sends,
                             pid_t parent)
{
    struct floor_server s = {.o = o, .lfd = lfd, .shared_sends = shared_sends};
    struct epoll_event ev[FLOOR_EVENTS];
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) floor_exit(1, "prctl: %s", strerror(errno));
    if (getppid() != parent) _exit(0);
    alarm(FLOOR_SETUP_S + (unsigned)(o->warmup + o->seconds) + 10);
    s.seats = calloc((size_t)o->tables * o->conns_per_table, sizeof(*s.seats));
    s.msg = malloc((size_t)o->msg_bytes);
    if (!s.seats || !s.msg) floor_exit(1, "out of memory");
    memset(s.msg, 'm', (size_t)o->msg_bytes);
    if ((s.ep = epoll_create1(EPOLL_CLOEXEC)) < 0) floor_exit(1, "epoll: %s", strerror(errno));
    floor_epoll_set(s.ep, EPOLL_CTL_ADD, lfd, EPOLLIN, (epoll_data_t){.ptr = NULL});
    for (;;) {
        int n = epoll_wait(s.ep, ev, FLOOR_EVENTS, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) floor_exit(1, "server epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            struct floor_sconn *c = ev[i].data.ptr;
            if (!c) {
                floor_server_accept(&s);
                continue;
            }
            if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) floor_server_read(&s, c);
            if ((ev[i].events & EPOLLOUT) && c->out_left) floor_server_send(&s, c);
        }
    }
}

/* ---- the clients (the parent) ----------------------------------------------------------- */

struct floor_cconn {
    int fd, table;
    uint32_t have; /* bytes of the current message */
    bool answered; /* its hello was */
};

struct floor_due {
    int table;
    int64_t at_ns;
};

struct floor_clients {
    const struct floor_opts *o;
    int ep, nconns, answered;
    struct floor_cconn *conns; /* by table then seat; seat 0 is the actor */
    struct floor_table {
        int64_t sent_ns; /* when its action in flight was sent */
        int waiting;     /* its clients yet to receive that action's message */
    } * tables;
    struct floor_due *due; /* ring of tables thinking; one think time, so in order of due */
    int due_head, due_len;
    unsigned char *buf;
    bool recording;
    uint64_t actions;
    int64_t *lat_ns; /* latencies of the actions of the window */
    size_t lat_len, lat_cap;
};

static void floor_clients_act(struct floor_clients *cl, int t)
{
    unsigned char req[FLOOR_REQ_BYTES];
    memset(req, 'a', sizeof(req));
    /* The server read the previous request before it answered: the socket's buffer is empty. */
    ssize_t n = send(cl->conns[(size_t)t * cl->o->conns_per_table].fd, req, sizeof(req), 0);
    if (n != (ssize_t)sizeof(req))
        floor_exit(1, "client send: %s", n < 0 ? strerror(errno) : "short");
    cl->tables[t] = (struct floor_table){floor_now_ns(), cl->o->conns_per_table};
}

static void floor_clients_think(struct floor_clients *cl, int t, int64_t at_ns)
{
    if (cl->due_len == cl->o->tables) floor_exit(1, "think ring full");
    cl->due[(cl->due_head + cl->due_len++) % cl->o->tables] = (struct floor_due){t, at_ns};
}

static void floor_clients_done(struct floor_clients *cl, int t)
{
    int64_t now = floor_now_ns();
    if (cl->recording) {
        cl->actions++;
        if (cl->lat_len == cl->lat_cap) {
            cl->lat_cap = cl->lat_cap ? cl->lat_cap * 2 : 65536;
            cl->lat_ns = realloc(cl->lat_ns, cl->lat_cap * sizeof(*cl->lat_ns));
            if (!cl->lat_ns) floor_exit(1, "out of memory");
        }
        cl->lat_ns[cl->lat_len++] = now - cl->tables[t].sent_ns;
    }
    if (cl->o->think_ms == 0)
        floor_clients_act(cl, t);
    else
        floor_clients_think(cl, t, now + (int64_t)cl->o->think_ms * 1000000);
}

static void floor_clients_read(struct floor_clients *cl, struct floor_cconn *c)
{
    ssize_t n = recv(c->fd, cl->buf, (size_t)cl->o->msg_bytes - c->have, 0);
    if (n == 0) floor_exit(1, "the server closed a connection");
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) floor_exit(1, "client recv: %s", strerror(errno));
    c->have += (uint32_t)n;
    if (c->have < (uint32_t)cl->o->msg_bytes) return;
    c->have = 0;
    if (!c->answered) {
        c->answered = true;
        cl->answered++;
    } else if (cl->tables[c->table].waiting <= 0) {
        floor_exit(1, "a message for table %d with no action in flight", c->table);
    } else if (--cl->tables[c->table].waiting == 0) {
        floor_clients_done(cl, c->table);
    }
}

/* One epoll_wait (at most until deadline_ns) and its events, then the tables whose think is up. */
static void floor_clients_poll(struct floor_clients *cl, int64_t deadline_ns)
{
    struct epoll_event ev[FLOOR_EVENTS];
    int64_t until = deadline_ns, now = floor_now_ns();
    if (cl->due_len && cl->due[cl->due_head].at_ns < until) until = cl->due[cl->due_head].at_ns;
    int timeout_ms = until <= now ? 0 : (int)((until - now + 999999) / 1000000);
    int n = epoll_wait(cl->ep, ev, FLOOR_EVENTS, timeout_ms);
    if (n < 0 && errno != EINTR) floor_exit(1, "epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++)
        floor_clients_read(cl, &cl->conns[ev[i].data.u32]);
    now = floor_now_ns();
    while (cl->due_len && cl->due[cl->due_head].at_ns <= now) {
        floor_clients_act(cl, cl->due[cl->due_head].table);
        cl->due_head = (cl->due_head + 1) % cl->o->tables;
        cl->due_len--;
    }
}

/* Every connection made, its hello sent and answered, within FLOOR_SETUP_S, or exit 1. */
static void floor_clients_connect(struct floor_clients *cl, uint16_t port)
{
    int64_t deadline = floor_now_ns() + FLOOR_SETUP_S * FLOOR_NS;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct timeval tv = {.tv_sec = FLOOR_CONNECT_S};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < cl->nconns; i++) {
        struct floor_cconn *c = &cl->conns[i];
        uint32_t hello[FLOOR_REQ_BYTES / 4] = {0};
        c->table = i / cl->o->conns_per_table;
        hello[0] = (uint32_t)c->table;
        hello[1] = (uint32_t)(i % cl->o->conns_per_table);
        if (floor_now_ns() > deadline)
            floor_exit(1, "setup: %d of %d connections made in %d s", i, cl->nconns, FLOOR_SETUP_S);
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0) floor_exit(1, "socket: %s", strerror(errno));
        /* SO_SNDTIMEO bounds a blocking connect too. */
        if (setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
            connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
            floor_exit(1, "connection %d to 127.0.0.1:%u: %s", i, port, strerror(errno));
        if (fcntl(c->fd, F_SETFL, O_NONBLOCK) != 0) floor_exit(1, "fcntl: %s", strerror(errno));
        floor_nodelay(c->fd);
        if (send(c->fd, hello, sizeof(hello), 0) != (ssize_t)sizeof(hello))
            floor_exit(1, "hello %d: %s", i, strerror(errno));
        floor_epoll_set(cl->ep, EPOLL_CTL_ADD, c->fd, EPOLLIN, (epoll_data_t){.u32 = (uint32_t)i});
    }
    while (cl->answered < cl->nconns) {
        if (floor_now_ns() > deadline)
            floor_exit(1, "setup: %d of %d hellos answered in %d s", cl->answered, cl->nconns,
                       FLOOR_SETUP_S);
        floor_clients_poll(cl, deadline);
    }
}

/* ---- command line, report, main --------------------------------------------------------- */

static const char floor_usage[] =
    "usage: felt-bench-floor [options]\n"
    "The floor under feltd: per action, a forked epoll server reads one 60-byte request on\n"
    "loopback TCP and send()s one message to each connection of that table. Reports its CPU\n"
    "per 1,000 actions and per send(), sends/s and latency (action sent to last receive).\n"
    "  --tables N            tables (default 20)\n"
    "  --conns-per-table K   connections per table, the actor's included (default 10)\n"
    "  --msg-bytes B         bytes the server sends to each connection per action (default 300)\n"
    "  --seconds S           measured window (default 10)\n"
    "  --warmup S            unmeasured seconds before it (default 2)\n"
    "  --think-ms MS         next action MS after the last was received (default 0: at once)\n"
    "  --json-out FILE       also write the results as one JSON object\n"
    "  -q, --quiet           no progress lines on stderr\n"
    "  -h, --help            this text\n";

static int floor_opts_int(const char *name, const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno || v < lo || v > hi)
        floor_exit(2, "--%s wants a whole number from %ld to %ld", name, lo, hi);
    return (int)v;
}

/* The options that take a whole number: getopt_long returns their index here. */
static const struct {
    const char *name;
    size_t off; /* of the int in struct floor_opts */
    long lo, hi;
} floor_opts_ints[] = {
    {"tables", offsetof(struct floor_opts, tables), 1, 100000},
    {"conns-per-table", offsetof(struct floor_opts, conns_per_table), 1, 1000},
    {"msg-bytes", offsetof(struct floor_opts, msg_bytes), 1, 1 << 20},
    {"seconds", offsetof(struct floor_opts, seconds), 1, 3600},
    {"warmup", offsetof(struct floor_opts, warmup), 0, 600},
    {"think-ms", offsetof(struct floor_opts, think_ms), 0, 60000},
};
#define FLOOR_NINTS ((int)(sizeof(floor_opts_ints) / sizeof(floor_opts_ints[0])))

static void floor_opts_parse(struct floor_opts *o, int argc, char **argv)
{
    struct option longs[FLOOR_NINTS + 4] = {{"json-out", required_argument, NULL, 'j'},
                                            {"quiet", no_argument, NULL, 'q'},
                                            {"help", no_argument, NULL, 'h'}};
    for (int i = 0; i < FLOOR_NINTS; i++)
        longs[3 + i] = (struct option){floor_opts_ints[i].name, required_argument, NULL, i};
    *o = (struct floor_opts){
        .tables = 20, .conns_per_table = 10, .msg_bytes = 300, .seconds = 10, .warmup = 2};
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "qh", longs, NULL)) != -1) {
        if (ch >= 0 && ch < FLOOR_NINTS) {
            *(int *)((char *)o + floor_opts_ints[ch].off) = floor_opts_int(
                floor_opts_ints[ch].name, optarg, floor_opts_ints[ch].lo, floor_opts_ints[ch].hi);
        } else if (ch == 'j') {
            o->json_out = optarg;
        } else if (ch == 'q') {
            o->quiet = true;
        } else if (ch == 'h') {
            fputs(floor_usage, stdout);
            exit(0);
        } else {
            floor_exit(2, "unknown option or missing value: %s (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc) floor_exit(2, "unexpected argument: %s (see --help)", argv[optind]);
    long need = (long)o->tables * o->conns_per_table + 32;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) floor_exit(1, "getrlimit: %s", strerror(errno));
    if (rl.rlim_max != RLIM_INFINITY && (long)rl.rlim_max < need)
        floor_exit(2, "%ld connections need %ld descriptors; ulimit -Hn is %ld", need - 32, need,
                   (long)rl.rlim_max);
    if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) floor_exit(1, "setrlimit: %s", strerror(errno));
    }
}

struct floor_result {
    double window_s, actions_per_s, sends_per_s, server_cpu_s, cpu_per_1000, us_per_send;
    double p50_us, p99_us, client_cpu_s;
    uint64_t sends;
};

static int floor_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The nearest-rank percentile p (0..1) of the sorted lat, in µs; 0 when there is none. */
static double floor_percentile_us(const int64_t *lat, size_t n, double p)
{
    if (n == 0) return 0;
    size_t i = (size_t)(p * (double)n + 0.999999);
    return (double)lat[i > 0 ? i - 1 : 0] / 1e3;
}

static void floor_report(const struct floor_opts *o, const struct floor_clients *cl,
                         const struct floor_result *r)
{
    int conns = o->tables * o->conns_per_table;
    printf("felt-bench-floor: %d tables x %d connections = %d, %d-byte messages, think %d ms, "
           "%.2f s window after %d s warmup\n",
           o->tables, o->conns_per_table, conns, o->msg_bytes, o->think_ms, r->window_s, o->warmup);
    printf("  actions      %10llu  %12.1f /s\n", (unsigned long long)cl->actions, r->actions_per_s);
    printf("  sends        %10llu  %12.1f /s (server send() calls)\n", (unsigned long long)r->sends,
           r->sends_per_s);
    printf("  server CPU   %10.2f s  %9.4f s per 1,000 actions  %.3f us per send\n",
           r->server_cpu_s, r->cpu_per_1000, r->us_per_send);
    printf("  latency      p50 %.1f us  p99 %.1f us (action sent -> its table's last receive)\n",
           r->p50_us, r->p99_us);
    printf("  client CPU   %10.2f s (this process: %d connections reading)\n", r->client_cpu_s,
           conns);
    if (!o->json_out) return;
    FILE *f = fopen(o->json_out, "w");
    if (!f) floor_exit(1, "%s: %s", o->json_out, strerror(errno));
    fprintf(f,
            "{\"tables\":%d,\"conns_per_table\":%d,\"connections\":%d,\"msg_bytes\":%d,"
            "\"think_ms\":%d,\"seconds\":%.3f,\"actions\":%llu,\"actions_per_s\":%.1f,"
            "\"sends_per_s\":%.1f,\"server_cpu_s_per_1000_actions\":%.6f,"
            "\"server_cpu_us_per_send\":%.4f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
            "\"client_cpu_s\":%.3f}\n",
            o->tables, o->conns_per_table, conns, o->msg_bytes, o->think_ms, r->window_s,
            (unsigned long long)cl->actions, r->actions_per_s, r->sends_per_s, r->cpu_per_1000,
            r->us_per_send, r->p50_us, r->p99_us, r->client_cpu_s);
    if (fclose(f) != 0) floor_exit(1, "%s: %s", o->json_out, strerror(errno));
}

int main(int argc, char **argv)
{
    struct floor_opts o;
    floor_opts_parse(&o, argc, argv);
    struct floor_clients cl = {.o = &o, .nconns = o.tables * o.conns_per_table};
    cl.conns = calloc((size_t)cl.nconns, sizeof(*cl.conns));
    cl.tables = calloc((size_t)o.tables, sizeof(*cl.tables));
    cl.due = calloc((size_t)o.tables, sizeof(*cl.due));
    cl.buf = malloc((size_t)o.msg_bytes);
    uint64_t *sends =
        mmap(NULL, sizeof(*sends), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!cl.conns || !cl.tables || !cl.due || !cl.buf || sends == MAP_FAILED)
        floor_exit(1, "out of memory");

    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t salen = sizeof(sa);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 65535) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &salen) != 0)
        floor_exit(1, "listen on 127.0.0.1: %s", strerror(errno));
    fflush(NULL);
    pid_t parent = getpid(), child = fork();
    if (child < 0) floor_exit(1, "fork: %s", strerror(errno));
    if (child == 0) floor_server_run(&o, lfd, sends, parent);
    close(lfd);

    if ((cl.ep = epoll_create1(EPOLL_CLOEXEC)) < 0) floor_exit(1, "epoll: %s", strerror(errno));
    if (!o.quiet)
        fprintf(stderr, "felt-bench-floor: %d connections to 127.0.0.1:%u\n", cl.nconns,
                ntohs(sa.sin_port));
    floor_clients_connect(&cl, ntohs(sa.sin_port));

    int64_t start = floor_now_ns();
    int64_t win_start = start + (int64_t)o.warmup * FLOOR_NS;
    int64_t win_end = win_start + (int64_t)o.seconds * FLOOR_NS;
    for (int t = 0; t < o.tables; t++) /* with think time, first actions spread over one think */
        if (o.think_ms == 0)
            floor_clients_act(&cl, t);
        else
            floor_clients_think(&cl, t, start + (int64_t)o.think_ms * 1000000 * t / o.tables);
    if (!o.quiet)
        fprintf(stderr, "felt-bench-floor: warmup %d s, then %d s measured\n", o.warmup, o.seconds);

    double srv0 = 0, self0 = 0;
    uint64_t sends0 = 0;
    int64_t t0 = 0, now;
    while ((now = floor_now_ns()) < win_end) {
        if (!cl.recording && now >= win_start) {
            srv0 = floor_proc_cpu_s(child);
            self0 = floor_self_cpu_s();
            sends0 = __atomic_load_n(sends, __ATOMIC_RELAXED);
            t0 = floor_now_ns();
            cl.recording = true;
        }
        floor_clients_poll(&cl, cl.recording ? win_end : win_start);
    }
    struct floor_result r = {.server_cpu_s = floor_proc_cpu_s(child) - srv0};
    r.client_cpu_s = floor_self_cpu_s() - self0;
    r.sends = __atomic_load_n(sends, __ATOMIC_RELAXED) - sends0;
    r.window_s = (double)(floor_now_ns() - t0) / 1e9;
    int status;
    if (kill(child, SIGTERM) != 0 || waitpid(child, &status, 0) < 0)
        floor_exit(1, "ending the server: %s", strerror(errno));
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGTERM)
        floor_exit(1, "the server ended early");

    r.actions_per_s = (double)cl.actions / r.window_s;
    r.sends_per_s = (double)r.sends / r.window_s;
    r.cpu_per_1000 = cl.actions ? r.server_cpu_s * 1000 / (double)cl.actions : 0;
    r.us_per_send = r.sends ? r.server_cpu_s * 1e6 / (double)r.sends : 0;
    qsort(cl.lat_ns, cl.lat_len, sizeof(*cl.lat_ns), floor_cmp_i64);
    r.p50_us = floor_percentile_us(cl.lat_ns, cl.lat_len, 0.50);
    r.p99_us = floor_percentile_us(cl.lat_ns, cl.lat_len, 0.99);
    floor_report(&o, &cl, &r);
    for (int i = 0; i < cl.nconns; i++)
        close(cl.conns[i].fd);
    close(cl.ep);
    munmap(sends, sizeof(*sends));
    free(cl.conns);
    free(cl.tables);
    free(cl.due);
    free(cl.buf);
    free(cl.lat_ns);
    return 0;
}
