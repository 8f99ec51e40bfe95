/*
 * harness.c: what the cluster tests share: a redis-server of their own (a free loopback port, a
 * temporary folder, no persistence, killed at the end), a few synchronous reads of it, and a
 * libev loop that runs feltd's timers (timer.c) the way server/net.c does.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server.h"

pid_t harness_redis_pid;
int harness_redis_port;
char harness_redis_url[64];
static char tmpdir[] = "/tmp/felt-cluster-XXXXXX";
struct ev_loop *harness_loop;

_Noreturn void harness_fail(const char *what)
{
    fprintf(stderr, "cluster harness: %s\n", what);
    exit(1);
}

static int harness_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int harness_rm_tree(const char *dir)
{
    return nftw(dir, harness_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- redis-server ----------------------------------------------------------------------- */

int harness_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("a free port");
        exit(1);
    }
    close(fd);
    return ntohs(a.sin_port);
}

redisContext *harness_connect(void)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", harness_redis_port, tv);
    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Starts redis-server on harness_redis_port and waits until it answers PING (10 s at most). */
static int harness_redis_launch(void)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", harness_redis_port);
    harness_redis_pid = fork();
    if (harness_redis_pid == 0) {
        /* Dies with the test, even one a sanitizer aborts: it would hold the test's stderr
         * open, and ctest would wait on it until the timeout. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, STDOUT_FILENO); /* its banner; warnings stay on stderr */
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--dir", tmpdir, "--daemonize", "no",
               "--loglevel", "warning", "--maxclients", "1000", (char *)NULL);
        perror("redis-server (apt-get install redis-server)");
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        redisContext *c = harness_connect();
        if (c) {
            redisReply *r = redisCommand(c, "PING");
            bool ok = r && r->type == REDIS_REPLY_STATUS;
            freeReplyObject(r);
            redisFree(c);
            if (ok) return 0;
        }
        int st;
        if (waitpid(harness_redis_pid, &st, WNOHANG) == harness_redis_pid) return -1;
        usleep(100 * 1000);
    }
    return -1;
}

static void harness_redis_kill(void)
{
    if (harness_redis_pid > 0) {
        kill(harness_redis_pid, SIGKILL);
        waitpid(harness_redis_pid, NULL, 0);
        harness_redis_pid = 0;
    }
}

int harness_start_redis(void **state)
{
    (void)state;
    if (!mkdtemp(tmpdir)) return -1;
    harness_redis_port = harness_free_port();
    snprintf(harness_redis_url, sizeof(harness_redis_url), "redis://127.0.0.1:%d", harness_redis_port);
    return harness_redis_launch();
}

void harness_redis_crash(void)
{
    harness_redis_kill();
}

void harness_redis_restart(void)
{
    if (harness_redis_launch() != 0) harness_fail("redis-server did not come back");
}

int harness_stop_redis(void **state)
{
    (void)state;
    harness_redis_kill();
    return harness_rm_tree(tmpdir) == 0 ? 0 : -1;
}

/* GET key as a string ("" when absent). */
void harness_get(const char *key, char *out, size_t n)
{
    redisContext *c = harness_connect();
    if (!c) harness_fail("cannot connect to redis-server");
    redisReply *r = redisCommand(c, "GET %s", key);
    if (!r) harness_fail("no answer from redis-server");
    snprintf(out, n, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    redisFree(c);
}

long long harness_pttl(const char *key)
{
    redisContext *c = harness_connect();
    if (!c) harness_fail("cannot connect to redis-server");
    redisReply *r = redisCommand(c, "PTTL %s", key);
    if (!r) harness_fail("no answer from redis-server");
    long long v = r->integer;
    freeReplyObject(r);
    redisFree(c);
    return v;
}

/* ---- the loop: timer.c's timers on a libev timer, as feltd's net.c does ----------------- */

static ev_timer harness_timers_ev;
static ev_prepare harness_timers_prep;

static void harness_timers_fire(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    timer_run_due(timer_now_us());
}

static void harness_timers_prepare(struct ev_loop *l, ev_prepare *w, int revents)
{
    (void)w;
    (void)revents;
    int64_t due = timer_next_due_us();
    ev_timer_stop(l, &harness_timers_ev);
    if (due < 0) return;
    int64_t in = due - timer_now_us();
    ev_timer_set(&harness_timers_ev, in > 0 ? (double)in / 1e6 : 0., 0.);
    ev_timer_start(l, &harness_timers_ev);
}

void harness_loop_open(void)
{
    harness_loop = ev_loop_new(EVFLAG_AUTO);
    if (!harness_loop) harness_fail("cannot create a libev loop");
    ev_timer_init(&harness_timers_ev, harness_timers_fire, 0., 0.);
    ev_prepare_init(&harness_timers_prep, harness_timers_prepare);
    ev_prepare_start(harness_loop, &harness_timers_prep);
    ev_unref(harness_loop); /* the prepare watcher alone does not keep the loop running */
}

void harness_loop_close(void)
{
    ev_ref(harness_loop);
    ev_prepare_stop(harness_loop, &harness_timers_prep);
    ev_timer_stop(harness_loop, &harness_timers_ev);
    ev_loop_destroy(harness_loop);
    harness_loop = NULL;
}

/* Runs the loop until done() or deadline_ms; returns whether done() became true. */
bool harness_run_until(bool (*done)(void *), void *arg, int64_t deadline_ms)
{
    int64_t end = timer_now_us() + deadline_ms * 1000;
    while (!done(arg)) {
        if (timer_now_us() >= end) return false;
        ev_run(harness_loop, EVRUN_ONCE);
    }
    return true;
}

bool harness_never(void *arg)
{
    (void)arg;
    return false;
}

