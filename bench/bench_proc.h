/*
 * bench_proc.h: what felt-bench learns about processes from /proc, and the feltd it may run.
 *
 * Server CPU comes from /proc/PID/stat (utime + stime, in clock ticks: 10 ms resolution on a
 * USER_HZ=100 kernel, so short windows are coarse), memory from VmRSS in /proc/PID/status. All
 * readers return -1 when the file or field is missing (a process that is gone, or no /proc).
 */
#ifndef FELT_BENCH_PROC_H
#define FELT_BENCH_PROC_H

#include <stdint.h>
#include <sys/types.h>

#include "listenproc.h"

/* utime + stime of pid in seconds, or -1. */
double bench_proc_cpu_s(pid_t pid);
/* utime + stime, in seconds, of pid's threads named comm (/proc/PID/task/TID/comm), or -1 when
 * it has none: how felt-bench tells feltd's store writer ("feltd-store") from its loop. */
double bench_proc_thread_cpu_s(pid_t pid, const char *comm);
/* VmRSS of pid in KiB, or -1. */
int64_t bench_proc_rss_kib(pid_t pid);
/* The 1-minute load average, or -1. */
double bench_proc_loadavg(void);

/* The size of the HTTP response header feltd sends, less the digits of its Content-Length: one
 * GET /healthz over a plain blocking socket (5 s timeout), parsed only as far as the blank line.
 * felt-bench's HTTP requests go through wsclient, which reports bodies only; every answer of
 * feltd carries the same header lines, so a poll answer with a body of B bytes takes this many
 * + digits(B) + B bytes on the wire. Returns -1 if the probe fails. */
int bench_proc_http_header_base(int port);

/* Starts feltd (path) with argv extra[0..nextra) after "--port 0" (tests/tools/listenproc.h),
 * waits up to 10 s for the line saying where it listens, and fills p (pid, port). Returns 0, or
 * -1 with a message on stderr. feltd's stderr is inherited; it gets SIGTERM if felt-bench dies. */
int bench_proc_feltd_start(struct listenproc *p, const char *path, char *const extra[], int nextra);
/* SIGTERM, then waits up to 5 s before SIGKILL. Returns feltd's exit status (0 for a clean
 * exit), or -1 if it had to be killed or could not be reaped. */
int bench_proc_feltd_stop(struct listenproc *p);

#endif
