/*
 * harness_pg.c: a PostgreSQL 15 server of the tests' own: initdb in a temporary folder, the
 * postmaster started directly as our child (so the harness knows its pid, can SIGKILL it and
 * reap it) on a free loopback port with its socket and its log in that folder, one new database
 * per test, and synchronous SQL for the tests' own checks. initdb and postgres refuse to run as
 * root, so under root (CI) they run as nobody, in a folder given to nobody. No server outlives
 * the test program: its children get SIGKILL when it dies (PR_SET_PDEATHSIG, set after the
 * change of user, which clears it), an atexit handler stops it on exit(), and the backends of a
 * killed postmaster end on their own and are reaped by the test program, their child subreaper
 * (init may never reap them). Its dynamic shared memory is files in its data folder (mmap), not
 * in /dev/shm, where a killed server's would stay. fsync is off: the tests kill the server,
 * never the machine.
 */
#define _GNU_SOURCE
#include "harness_pg.h"
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "util.h"

#define PG_BIN "/usr/lib/postgresql/15/bin"
#define PG_DIR_TEMPLATE "/tmp/felt-pg-XXXXXX"

pid_t harness_pg_pid;
int harness_pg_port;
static char pg_dir[sizeof(PG_DIR_TEMPLATE)];
static char pg_data[64], pg_log[64], pg_admin[128];
static pid_t pg_owner; /* the test program: a forked child of it must not stop the server */
static uid_t pg_uid;
static gid_t pg_gid;
static int pg_ndbs;

/* Now, in ms of the monotonic clock. */
static long long harness_pg_now_ms(void)
{
    return felt_mono_us() / 1000;
}

/* The server log's last lines (its last 4 KiB, from a line start), for a failure's message. */
static void harness_pg_show_log(void)
{
    char buf[4096];
    int fd = open(pg_log, O_RDONLY | O_CLOEXEC);
    off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
    off_t from = end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0;
    ssize_t got = end >= 0 ? pread(fd, buf, sizeof(buf) - 1, from) : -1;
    if (got >= 0) {
        buf[got] = '\0';
        const char *nl = from > 0 ? strchr(buf, '\n') : NULL;
        fprintf(stderr, "---- the end of %s ----\n%s", pg_log, nl ? nl + 1 : buf);
    } else {
        fprintf(stderr, "harness_pg: no log at %s\n", pg_log);
    }
    if (fd >= 0) close(fd);
}

static _Noreturn void harness_pg_fail(const char *what, bool show_log)
{
    if (show_log) harness_pg_show_log();
    harness_fail(what);
}

/* In a forked child before exec: output to the log, no descriptor of the test program's, nobody
 * when we are root, and killed when the test program dies. */
static void harness_pg_child(void)
{
    int log = open(pg_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0 || dup2(log, STDOUT_FILENO) < 0 || dup2(log, STDERR_FILENO) < 0) _exit(125);
    close_range(3, ~0U, 0);
    if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(pg_gid) != 0 || setuid(pg_uid) != 0)) {
        perror("harness_pg: cannot become nobody");
        _exit(126);
    }
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != pg_owner) _exit(125);
}

/* The id of the server's System V shared memory segment, from the 7th line of postmaster.pid
 * ("key id"); -1 without one. */
static int harness_pg_shmid(void)
{
    char path[80], line[128];
    unsigned long key, id;
    int shmid = -1;
    snprintf(path, sizeof(path), "%s/postmaster.pid", pg_data);
    FILE *f = fopen(path, "re");
    for (int i = 1; f && fgets(line, sizeof(line), f); i++)
        if (i == 7 && sscanf(line, "%lu %lu", &key, &id) == 2) shmid = (int)id;
    if (f) fclose(f);
    return shmid;
}

/* Reaps the backends of a killed postmaster that have ended: we are the child subreaper, so
 * they become our children (not init's, which may never reap them). Returns how many of them
 * still run. */
static int harness_pg_reap_orphans(void)
{
    int running = 0;
    DIR *d = opendir("/proc");
    for (struct dirent *e; d && (e = readdir(d));) {
        char path[64], stat[512];
        int pid = atoi(e->d_name), ppid = 0;
        char state = 0;
        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        FILE *f = pid > 0 && pid != harness_pg_pid ? fopen(path, "re") : NULL;
        const char *name = f && fgets(stat, sizeof(stat), f) ? strstr(stat, " (postgres) ") : NULL;
        if (f) fclose(f);
        if (!name || sscanf(name + 12, "%c %d", &state, &ppid) != 2 || ppid != getpid()) continue;
        if (state == 'Z')
            waitpid(pid, NULL, WNOHANG);
        else
            running++;
    }
    if (d) closedir(d);
    return running;
}

/* Waits (timeout_ms at most) until a stopped or killed server is gone for good: its port
 * refuses connections, no process is attached to its shared memory (what a new postmaster
 * checks before it starts) and its backends have ended and been reaped. 0 when gone. */
static int harness_pg_wait_gone(int shmid, int timeout_ms)
{
    long long end = harness_pg_now_ms() + timeout_ms;
    struct shmid_ds ds;
    for (;;) {
        bool shm_free = shmid < 0 || shmctl(shmid, IPC_STAT, &ds) != 0 || ds.shm_nattch == 0;
        if (harness_pg_reap_orphans() == 0 && shm_free && PQping(pg_admin) == PQPING_NO_RESPONSE)
            return 0;
        if (harness_pg_now_ms() > end) return -1;
        usleep(5000);
    }
}

/* Signals the postmaster and reaps it (SIGKILL when it has not exited after 10 s), then waits
 * until it is gone for good; 0 when it is. */
static int harness_pg_halt(int sig)
{
    if (harness_pg_pid <= 0) return 0;
    int shmid = harness_pg_shmid();
    kill(harness_pg_pid, sig);
    long long end = harness_pg_now_ms() + 10000;
    while (waitpid(harness_pg_pid, NULL, WNOHANG) == 0) {
        if (harness_pg_now_ms() > end) {
            fprintf(stderr, "harness_pg: the server ignored signal %d for 10 s: SIGKILL\n", sig);
            kill(harness_pg_pid, SIGKILL);
            waitpid(harness_pg_pid, NULL, 0);
            break;
        }
        usleep(5000);
    }
    harness_pg_pid = 0;
    return harness_pg_wait_gone(shmid, 10000);
}

/* SIGKILL the postmaster, if it is ours, reap it and its backends (2 s at most) and remove
 * its System V segment, which only a later start on the same data would (atexit, and a start
 * that failed). */
static void harness_pg_kill(void)
{
    if (getpid() != pg_owner || harness_pg_pid <= 0) return;
    int shmid = harness_pg_shmid();
    kill(harness_pg_pid, SIGKILL);
    waitpid(harness_pg_pid, NULL, 0);
    harness_pg_pid = 0;
    if (harness_pg_wait_gone(shmid, 2000) == 0 && shmid >= 0) shmctl(shmid, IPC_RMID, NULL);
}

/* Removes the server's folder, once; 0 when done. */
static int harness_pg_remove(void)
{
    int rc = pg_dir[0] ? harness_rm_tree(pg_dir) : 0;
    pg_dir[0] = '\0';
    return rc;
}

/* atexit: whatever exit() the test program takes, no server and no folder stay behind. */
static void harness_pg_exit(void)
{
    if (getpid() != pg_owner) return;
    harness_pg_kill();
    harness_pg_remove();
}

/* Starts the postmaster on harness_pg_port and waits (15 s at most) until it accepts
 * connections; 0 when it does, else -1 with the log shown and the server killed. */
static int harness_pg_launch(void)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", harness_pg_port);
    harness_pg_pid = fork();
    if (harness_pg_pid < 0) harness_pg_fail("fork", false);
    if (harness_pg_pid == 0) {
        harness_pg_child();
        execl(PG_BIN "/postgres", "postgres", "-D", pg_data, "-p", port, "-k", pg_dir, "-c",
              "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=on", "-c",
              "full_page_writes=off", "-c", "dynamic_shared_memory_type=mmap", (char *)NULL);
        perror("harness_pg: " PG_BIN "/postgres (apt-get install postgresql-15)");
        _exit(127);
    }
    long long end = harness_pg_now_ms() + 15000;
    while (harness_pg_now_ms() < end) {
        if (PQping(pg_admin) == PQPING_OK) return 0;
        if (waitpid(harness_pg_pid, NULL, WNOHANG) == harness_pg_pid) {
            harness_pg_pid = 0;
            break;
        }
        usleep(5000);
    }
    fprintf(stderr, "harness_pg: postgres %s on 127.0.0.1:%d\n",
            harness_pg_pid ? "did not accept connections within 15 s" : "exited", harness_pg_port);
    harness_pg_show_log();
    harness_pg_kill();
    return -1;
}

/* initdb into a new folder (given to nobody under root); 0 when done. */
static int harness_pg_initdb(void)
{
    int status = -1;
    pid_t pid = -1;
    const struct passwd *pw = geteuid() == 0 ? getpwnam("nobody") : NULL;
    memcpy(pg_dir, PG_DIR_TEMPLATE, sizeof(pg_dir));
    if (!mkdtemp(pg_dir)) goto fail;
    snprintf(pg_data, sizeof(pg_data), "%s/data", pg_dir);
    snprintf(pg_log, sizeof(pg_log), "%s/server.log", pg_dir);
    if (geteuid() == 0 && (!pw || chown(pg_dir, pw->pw_uid, pw->pw_gid) != 0)) goto fail;
    pg_uid = pw ? pw->pw_uid : 0;
    pg_gid = pw ? pw->pw_gid : 0;
    pid = fork();
    if (pid == 0) {
        harness_pg_child();
        execl(PG_BIN "/initdb", "initdb", "-D", pg_data, "-A", "trust", "-U", "felt", "--no-sync",
              "-E", "UTF8", "--locale=C", (char *)NULL);
        perror("harness_pg: " PG_BIN "/initdb (apt-get install postgresql-15)");
        _exit(127);
    }
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
fail:
    if (pid < 0) perror("harness_pg: mkdtemp, chown to nobody or fork");
    fprintf(stderr, "harness_pg: initdb failed in %s (wait status %d)\n", pg_dir, status);
    harness_pg_show_log();
    return -1;
}

int harness_start_pg(void **state)
{
    (void)state;
    static bool registered;
    pg_owner = getpid();
    if (!registered && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) perror("harness_pg: subreaper");
    if (!registered) atexit(harness_pg_exit);
    registered = true;
    harness_pg_port = harness_free_port();
    snprintf(pg_admin, sizeof(pg_admin),
             "postgresql://felt@127.0.0.1:%d/postgres?connect_timeout=2", harness_pg_port);
    if (harness_pg_port < 0 || harness_pg_initdb() != 0) return -1;
    return harness_pg_launch();
}

int harness_stop_pg(void **state)
{
    (void)state;
    int rc = harness_pg_halt(SIGINT);
    if (rc != 0) fprintf(stderr, "harness_pg: the server did not go away\n");
    if (harness_pg_remove() != 0) rc = -1;
    return rc;
}

void harness_pg_crash_restart(void)
{
    if (harness_pg_halt(SIGKILL) != 0) harness_pg_fail("the killed server did not go away", true);
    if (harness_pg_launch() != 0) harness_pg_fail("no crash recovery", false);
}

void harness_pg_stop_only(void)
{
    if (harness_pg_halt(SIGINT) != 0) harness_pg_fail("the server did not go away", true);
}

void harness_pg_start_again(void)
{
    if (harness_pg_launch() != 0) harness_pg_fail("the server did not start again", false);
}

/* ---- SQL ---------------------------------------------------------------------------------- */

/* Runs sql on a connection of its own; the result, which did not fail. */
static PGresult *harness_pg_query(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    PGresult *res = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "harness_pg: %s on %s: %s", sql, conninfo, PQerrorMessage(c));
        harness_pg_fail("SQL failed", false);
    }
    PQfinish(c);
    return res;
}

void harness_pg_exec(const char *conninfo, const char *sql)
{
    PQclear(harness_pg_query(conninfo, sql));
}

long long harness_pg_int(const char *conninfo, const char *query)
{
    PGresult *res = harness_pg_query(conninfo, query);
    bool has = PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0);
    const char *v = has ? PQgetvalue(res, 0, 0) : "";
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno != 0) {
        fprintf(stderr, "harness_pg: %s: no integer in its first row (%s)\n", query,
                has ? v : "no row or NULL");
        harness_pg_fail("not an integer", false);
    }
    PQclear(res);
    return n;
}

void harness_pg_new_db(char *out, size_t n)
{
    char sql[64];
    int id = ++pg_ndbs;
    snprintf(sql, sizeof(sql), "CREATE DATABASE felt_t%d OWNER felt STRATEGY FILE_COPY", id);
    harness_pg_exec(pg_admin, sql);
    int len = snprintf(out, n, "postgresql://felt@127.0.0.1:%d/felt_t%d?connect_timeout=2",
                       harness_pg_port, id);
    if (len < 0 || (size_t)len >= n) harness_pg_fail("a conninfo longer than its buffer", false);
}
