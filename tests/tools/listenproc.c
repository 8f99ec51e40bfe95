/*
 * listenproc.c: a child server started on a pipe, its port read from its first line, and its
 * stop (contract in listenproc.h).
 */
#define _GNU_SOURCE /* pipe2 */
#include "listenproc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t listenproc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the child's first line into buf (NUL-terminated, without the newline), byte by byte so
 * that nothing after it is taken from the pipe. Returns 0, or -1 with the reason on stderr. */
static int listenproc_first_line(int fd, const char *name, char *buf, size_t size, int timeout_ms)
{
    size_t len = 0;
    int64_t deadline = listenproc_now_ms() + timeout_ms;
    while (len < size - 1) {
        int64_t left = deadline - listenproc_now_ms();
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0) {
            fprintf(stderr, "%s did not say where it listens within %d ms\n", name, timeout_ms);
            return -1;
        }
        ssize_t n = read(fd, buf + len, 1);
        if (n <= 0) {
            fprintf(stderr, "%s exited before saying where it listens\n", name);
            return -1;
        }
        if (buf[len] == '\n') {
            buf[len] = '\0';
            return 0;
        }
        len++;
    }
    buf[len] = '\0';
    fprintf(stderr, "%s: its first line is too long: %.80s...\n", name, buf);
    return -1;
}

int listenproc_start(struct listenproc *p, const char *const *argv, int err_fd, int death_sig,
                     int timeout_ms)
{
    int fds[2];
    char line[512];
    pid_t parent = getpid();
    memset(p, 0, sizeof(*p));
    p->out_fd = -1;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        fprintf(stderr, "%s: pipe: %s\n", argv[0], strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "%s: fork: %s\n", argv[0], strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, death_sig);
        if (getppid() != parent) _exit(126); /* the parent died before the line above */
        dup2(fds[1], STDOUT_FILENO);         /* dup2 clears CLOEXEC on the copy */
        if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    p->pid = pid;
    p->out_fd = fds[0];
    if (listenproc_first_line(p->out_fd, argv[0], line, sizeof(line), timeout_ms) == 0) {
        const char *colon = strrchr(line, ':');
        p->port = colon ? atoi(colon + 1) : 0;
        if (p->port > 0) return 0;
        fprintf(stderr, "%s: its first line names no port: %s\n", argv[0], line);
    }
    listenproc_stop(p, SIGKILL, NULL, 0, timeout_ms);
    return -1;
}

int listenproc_stop(struct listenproc *p, int sig, char *out, size_t outsz, int timeout_ms)
{
    int st = -1;
    size_t len = 0;
    char sink[256];
    if (p->pid <= 0) return -1;
    kill(p->pid, sig);
    int64_t deadline = listenproc_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - listenproc_now_ms();
        struct pollfd pf = {.fd = p->out_fd, .events = POLLIN};
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0) {
            fprintf(stderr, "pid %d did not exit within %d ms of signal %d; killing it\n",
                    (int)p->pid, timeout_ms, sig);
            kill(p->pid, SIGKILL);
            break;
        }
        char *dst = out && len + 1 < outsz ? out + len : sink;
        size_t room = out && len + 1 < outsz ? outsz - 1 - len : sizeof(sink);
        ssize_t n = read(p->out_fd, dst, room);
        if (n <= 0) break; /* EOF: the process is gone */
        if (dst != sink) len += (size_t)n;
    }
    if (out && outsz) out[len] = '\0';
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
        ;
    close(p->out_fd);
    p->out_fd = -1;
    p->pid = 0;
    return st;
}
