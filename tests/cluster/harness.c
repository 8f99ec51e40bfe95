/*
 * harness.c: what the cluster tests share: a redis-server of their own (a free loopback port, a
 * temporary folder, no persistence, killed at the end), a few synchronous reads of it, and a
 * libev loop that runs feltd's timers (timer.c) the way server/net.c does.
 */
#define _GNU_SOURCE
#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "server.h"

pid_t redis_pid;
int redis_port;
char redis_url[64];
static char tmpdir[] = "/tmp/felt-cluster-XXXXXX";
struct ev_loop *loop;

_Noreturn void harness_fail(const char *what)
{
    fprintf(stderr, "cluster harness: %s\n", what);
    exit(1);
}

/* ---- redis-server ----------------------------------------------------------------------- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("free_port");
        exit(1);
    }
    close(fd);
    return ntohs(a.sin_port);
}

redisContext *sync_connect(void)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Starts redis-server on redis_port and waits until it answers PING (10 s at most). */
static int redis_launch(void)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", redis_port);
    redis_pid = fork();
    if (redis_pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, STDOUT_FILENO); /* its banner; warnings stay on stderr */
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--dir", tmpdir, "--daemonize", "no",
               "--loglevel", "warning", "--maxclients", "1000", (char *)NULL);
        perror("redis-server (apt-get install redis-server)");
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        redisContext *c = sync_connect();
        if (c) {
            redisReply *r = redisCommand(c, "PING");
            bool ok = r && r->type == REDIS_REPLY_STATUS;
            freeReplyObject(r);
            redisFree(c);
            if (ok) return 0;
        }
        int st;
        if (waitpid(redis_pid, &st, WNOHANG) == redis_pid) return -1;
        usleep(100 * 1000);
    }
    return -1;
}

static void redis_kill(void)
{
    if (redis_pid > 0) {
        kill(redis_pid, SIGKILL);
        waitpid(redis_pid, NULL, 0);
        redis_pid = 0;
    }
}

int start_redis(void **state)
{
    (void)state;
    if (!mkdtemp(tmpdir)) return -1;
    redis_port = free_port();
    snprintf(redis_url, sizeof(redis_url), "redis://127.0.0.1:%d", redis_port);
    return redis_launch();
}

void redis_crash(void)
{
    redis_kill();
}

void redis_restart(void)
{
    if (redis_launch() != 0) harness_fail("redis-server did not come back");
}

int stop_redis(void **state)
{
    (void)state;
    redis_kill();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* GET key as a string ("" when absent). */
void redis_get(const char *key, char *out, size_t n)
{
    redisContext *c = sync_connect();
    if (!c) harness_fail("cannot connect to redis-server");
    redisReply *r = redisCommand(c, "GET %s", key);
    if (!r) harness_fail("no answer from redis-server");
    snprintf(out, n, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    redisFree(c);
}

long long redis_pttl(const char *key)
{
    redisContext *c = sync_connect();
    if (!c) harness_fail("cannot connect to redis-server");
    redisReply *r = redisCommand(c, "PTTL %s", key);
    if (!r) harness_fail("no answer from redis-server");
    long long v = r->integer;
    freeReplyObject(r);
    redisFree(c);
    return v;
}

/* ---- the loop: timer.c's timers on a libev timer, as feltd's net.c does ----------------- */

static ev_timer timers_ev;
static ev_prepare timers_prep;

static void timers_fire(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    timer_run_due(timer_now_us());
}

static void timers_prepare(struct ev_loop *l, ev_prepare *w, int revents)
{
    (void)w;
    (void)revents;
    int64_t due = timer_next_due_us();
    ev_timer_stop(l, &timers_ev);
    if (due < 0) return;
    int64_t in = due - timer_now_us();
    ev_timer_set(&timers_ev, in > 0 ? (double)in / 1e6 : 0., 0.);
    ev_timer_start(l, &timers_ev);
}

void loop_open(void)
{
    loop = ev_loop_new(EVFLAG_AUTO);
    if (!loop) harness_fail("cannot create a libev loop");
    ev_timer_init(&timers_ev, timers_fire, 0., 0.);
    ev_prepare_init(&timers_prep, timers_prepare);
    ev_prepare_start(loop, &timers_prep);
    ev_unref(loop); /* the prepare watcher alone does not keep the loop running */
}

void loop_close(void)
{
    ev_ref(loop);
    ev_prepare_stop(loop, &timers_prep);
    ev_timer_stop(loop, &timers_ev);
    ev_loop_destroy(loop);
    loop = NULL;
}

/* Runs the loop until done() or deadline_ms; returns whether done() became true. */
bool run_until(bool (*done)(void *), void *arg, int64_t deadline_ms)
{
    int64_t end = timer_now_us() + deadline_ms * 1000;
    while (!done(arg)) {
        if (timer_now_us() >= end) return false;
        ev_run(loop, EVRUN_ONCE);
    }
    return true;
}

bool never(void *arg)
{
    (void)arg;
    return false;
}

