/*
 * listenproc.h: starting a child server and reading the port it listens on, for every program
 * that runs feltd (or the fault proxy) as a child: the black-box harness (harness.c), the fault
 * test (the proxy) and felt-bench (bench/).
 *
 * The contract with the child: its first line on stdout says where it listens and ends with
 * ":PORT" ("feltd: listening on http://127.0.0.1:PORT", "faultproxy: listening on
 * 127.0.0.1:PORT"). Nothing is read past that line, so the rest stays in the pipe; the pipe
 * reaching EOF is how a caller learns that the child has exited (feltd writes nothing more to
 * stdout; the proxy writes its counters there when it stops).
 *
 * It depends on libc only, so both tests/ and bench/ link it without depending on each other.
 */
#ifndef FELT_LISTENPROC_H
#define FELT_LISTENPROC_H

#include <stddef.h>
#include <sys/types.h>

struct listenproc {
    pid_t pid;  /* 0 when not running */
    int out_fd; /* its stdout after the first line; EOF once it has exited */
    int port;
};

/* Starts argv[0] with argv (NULL-terminated) with its stdout on a pipe and its stderr on err_fd
 * (or ours when err_fd < 0), and waits up to timeout_ms for its first line and the port at its
 * end. The child gets death_sig when the calling process dies (PR_SET_PDEATHSIG: SIGKILL for a
 * test's server, SIGTERM for a clean stop). Returns 0, or -1 with a message on stderr (the child,
 * if any, killed and reaped). */
int listenproc_start(struct listenproc *p, const char *const *argv, int err_fd, int death_sig,
                     int timeout_ms);

/* Sends sig, collects what the child still prints on stdout (into out, NUL-terminated, when out
 * is not NULL), waits for it to exit (SIGKILL after timeout_ms) and returns its wait status (as
 * from waitpid), or -1 when it was not running. */
int listenproc_stop(struct listenproc *p, int sig, char *out, size_t outsz, int timeout_ms);

#endif
