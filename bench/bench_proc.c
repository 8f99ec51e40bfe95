/*
 * bench_proc.c: /proc sampling and the feltd child of felt-bench (contract in bench_proc.h).
 */
#define _GNU_SOURCE /* strcasestr */
#include "bench_proc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "listenproc.h"
#include "util.h"

/* utime + stime in seconds from a /proc .../stat file, or -1. */
static double bench_proc_stat_cpu_s(const char *path)
{
    char buf[1024];
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

double bench_proc_cpu_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    return bench_proc_stat_cpu_s(path);
}

double bench_proc_thread_cpu_s(pid_t pid, const char *comm)
{
    char path[320], name[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    double sum = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%.32s/comm", (int)pid, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        bool match = fgets(name, sizeof(name), f) && (name[strcspn(name, "\n")] = '\0', 1) &&
                     strcmp(name, comm) == 0;
        fclose(f);
        if (!match) continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%.32s/stat", (int)pid, e->d_name);
        double c = bench_proc_stat_cpu_s(path);
        if (c >= 0) sum = (sum < 0 ? 0 : sum) + c;
    }
    closedir(d);
    return sum;
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

int bench_proc_http_header_base(int port)
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

int bench_proc_feltd_start(struct listenproc *p, const char *path, char *const extra[], int nextra)
{
    const char **argv = xcalloc((size_t)nextra + 4, sizeof(*argv));
    argv[0] = path;
    argv[1] = "--port";
    argv[2] = "0";
    for (int i = 0; i < nextra; i++)
        argv[3 + i] = extra[i];
    /* feltd goes when felt-bench goes (SIGTERM: a clean stop), even if felt-bench is killed. */
    int rc = listenproc_start(p, argv, -1, SIGTERM, 10000);
    free(argv);
    if (rc != 0) fprintf(stderr, "felt-bench: %s did not start\n", path);
    return rc;
}

int bench_proc_feltd_stop(struct listenproc *p)
{
    int st = listenproc_stop(p, SIGTERM, NULL, 0, 5000);
    return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
