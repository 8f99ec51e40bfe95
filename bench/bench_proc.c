/*
 * bench_proc.c: /proc sampling and the feltd child of felt-bench (contract in bench_proc.h).
 */
#define _GNU_SOURCE
#include "bench_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

double bench_proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces and ')': fields resume after the last ')'. */
    char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return (double)(ut + st) / (double)(hz > 0 ? hz : 100);
}

int64_t bench_proc_rss_kib(pid_t pid)
{
    char path[64], line[256];
    long long kib = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %lld kB", &kib) == 1) break;
    fclose(f);
    return kib;
}

double bench_proc_loadavg(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f) return -1;
    if (fscanf(f, "%lf", &l) != 1) l = -1;
    fclose(f);
    return l;
}

int bench_http_header_base(int port)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    char buf[2048];
    size_t len = 0;
    int rc = -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {5, 0};
    if (fd < 0) return -1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1))
        goto out;
    while (len < sizeof(buf) - 1) {
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0) break;
        len += (size_t)n;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n"), *cl = strcasestr(buf, "\r\ncontent-length:");
        if (end && cl && cl < end) {
            long body = strtol(cl + 17, NULL, 10);
            int digits = snprintf(NULL, 0, "%ld", body);
            rc = (int)(end + 4 - buf) - digits;
            break;
        }
    }
out:
    close(fd);
    return rc;
}

pid_t bench_feltd_start(const char *path, char *const extra[], int nextra, int *port)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        perror("felt-bench: pipe");
        return -1;
    }
    char **argv = xcalloc((size_t)nextra + 4, sizeof(*argv));
    argv[0] = (char *)path;
    argv[1] = "--port";
    argv[2] = "0";
    for (int i = 0; i < nextra; i++)
        argv[3 + i] = extra[i];
    pid_t pid = fork();
    if (pid < 0) {
        perror("felt-bench: fork");
        free(argv);
        close(pfd[0]);
        close(pfd[1]);
        return -1;
    }
    if (pid == 0) {
        /* feltd goes when felt-bench goes, even if felt-bench is killed outright. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        dup2(pfd[1], STDOUT_FILENO); /* dup2 clears CLOEXEC on the copy */
        execv(path, argv);
        fprintf(stderr, "felt-bench: cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    free(argv);
    close(pfd[1]);

    /* Read stdout line by line until the listening line, for at most 10 s. */
    char buf[512];
    size_t len = 0;
    int rc = -1;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left =
            10000 - ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000);
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) break;
        ssize_t n = read(pfd[0], buf + len, sizeof(buf) - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
        buf[len] = '\0';
        char *hit = strstr(buf, "listening on http://");
        char *colon = hit ? strchr(hit + 20, ':') : NULL;
        if (colon && strchr(colon, '\n')) {
            *port = atoi(colon + 1);
            rc = *port > 0 ? 0 : -1;
            break;
        }
        if (len == sizeof(buf) - 1) break;
    }
    /* Nothing else is read from feltd's stdout; it writes nothing after that line. */
    close(pfd[0]);
    if (rc != 0) {
        fprintf(stderr, "felt-bench: %s did not report a listening port within 10 s\n", path);
        bench_feltd_stop(pid);
        return -1;
    }
    return pid;
}

int bench_feltd_stop(pid_t pid)
{
    int status;
    kill(pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (r < 0) return -1;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}
