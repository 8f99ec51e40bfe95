/*
 * fleet_felt.c: bots that are `felt --json` processes (fleet_internal.h): the real client joins,
 * queues and resumes by itself; the fleet starts it, reads its stdout (on the fleet's loop) and
 * writes actions to its stdin, and at the end closes its stdin and checks that it leaves and
 * exits 0. What felt prints is every server message it received; applied to felt's model
 * (model.c) here, it gives the bot the same view of the table the process has.
 */
#define _GNU_SOURCE /* pipe2 */
#include "fleet_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

void fl_felt_write(struct fl_bot *b, const char *line)
{
    size_t len = strlen(line);
    char buf[512];
    if (b->in_fd < 0) return;
    snprintf(buf, sizeof(buf), "%s\n", line);
    /* Non-blocking: a felt that stopped reading its stdin is a failure, not a hang. */
    if (write(b->in_fd, buf, len + 1) != (ssize_t)(len + 1))
        fl_bad(b, "could not write to felt's stdin: %s", strerror(errno));
}

static void fl_felt_connection(struct fl_bot *b, json_object *j)
{
    const char *st = jval_str(j, "state");
    if (!st) return;
    if (jval_str(j, "player_id") && !b->player_id[0])
        snprintf(b->player_id, sizeof(b->player_id), "%s", jval_str(j, "player_id"));
    if (strcmp(st, "connected") == 0) {
        fl_bot_connected(b);
    } else if (strcmp(st, "reconnecting") == 0 || strcmp(st, "connecting") == 0) {
        fl_bot_disconnected(b);
    } else if (strcmp(st, "no_answer") == 0) {
        /* Still connected: a ping of felt's unanswered for 2 s (docs/protocol.md), which the
         * proxy's stalls of up to 2.5 s cause; a dead link goes on to "reconnecting". */
    } else if (!b->f->leaving || strcmp(st, "offline") != 0) {
        fl_bad(b, "felt's session is %s: %s", st, jval_str(j, "reason") ? jval_str(j, "reason") : "");
        fl_bot_disconnected(b);
    }
}

static void fl_felt_line(struct fl_bot *b, const char *line, size_t len)
{
    json_object *j = jval_parse(line, len);
    if (!j) {
        fl_bad(b, "felt printed a line that is not JSON: %.120s", line);
        return;
    }
    if (fl_is_str(j, "type", "connection")) {
        fl_felt_connection(b, j);
    } else {
        struct proto_smsg sm;
        struct felt_err err;
        memset(&sm, 0, sizeof(sm));
        if (proto_decode_server(line, len, &sm, &err) != 0) {
            fl_bad(b, "felt printed an undecodable server message (%s): %.120s", err.message, line);
        } else {
            enum model_result r = model_apply(b->own, &sm);
            fl_bot_receive(b, &sm, r);
        }
        proto_smsg_clear(&sm);
    }
    json_object_put(j);
}

static void fl_felt_readable(void *arg)
{
    struct fl_bot *b = arg;
    char buf[65536];
    ssize_t n = read(b->out_fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
        wsloop_forget_fd(b->f->loop, b->out_fd);
        b->out_eof = true;
        if (!b->f->calm) fl_bad(b, "felt exited during play");
        fl_bot_disconnected(b);
        fl_poke(b->f);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] != '\n') {
            if (b->line_len + 1 >= b->line_cap) {
                b->line_cap = b->line_cap ? b->line_cap * 2 : 4096;
                b->line = xrealloc(b->line, b->line_cap);
            }
            b->line[b->line_len++] = buf[i];
            continue;
        }
        b->line[b->line_len] = '\0';
        if (b->line_len > 0) fl_felt_line(b, b->line, b->line_len);
        b->line_len = 0;
    }
}

int fl_felt_spawn(struct fl_bot *b)
{
    struct fleet *f = b->f;
    int in[2], out[2];
    char server[64], buyin[32];
    pid_t parent = getpid();
    snprintf(server, sizeof(server), "ws://127.0.0.1:%d", f->o->client_port);
    snprintf(buyin, sizeof(buyin), "%lld", (long long)f->o->buy_in);
    if (pipe2(in, O_CLOEXEC) != 0) return -1;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        const char *argv[] = {f->o->felt_path, "--json", "--server", server,     "--game",
                              b->t->id,        "--name", b->name,    "--buy-in", buyin,
                              "--transport",   "ws",     NULL};
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(126);
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        setenv("XDG_STATE_HOME", f->o->state_dir, 1);
        execv(f->o->felt_path, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    b->own = xmalloc(sizeof(*b->own));
    model_init(b->own);
    b->view = b->own;
    b->pid = pid;
    b->in_fd = in[1];
    b->out_fd = out[0];
    fcntl(b->in_fd, F_SETFL, fcntl(b->in_fd, F_GETFL) | O_NONBLOCK);
    if (wsloop_adopt_fd(f->loop, b->out_fd, fl_felt_readable, b) != 0) return -1;
    return 0;
}

/* Closes felt's stdin (it leaves the table and exits 0) and collects its exit status. */
void fl_felt_finish(struct fleet *f)
{
    f->leaving = true;
    for (int i = 0; i < f->nbots; i++)
        if (f->bots[i].felt && f->bots[i].in_fd >= 0) {
            close(f->bots[i].in_fd);
            f->bots[i].in_fd = -1;
        }
    for (;;) {
        bool all = true;
        for (int i = 0; i < f->nbots; i++)
            all &= !f->bots[i].felt || f->bots[i].out_eof;
        if (all || f->timed_out) break;
        wsloop_run(f->loop);
    }
    for (int i = 0; i < f->nbots; i++) {
        struct fl_bot *b = &f->bots[i];
        int st = 0;
        if (!b->felt || b->pid <= 0) continue;
        if (!b->out_eof) {
            wsloop_forget_fd(f->loop, b->out_fd);
            kill(b->pid, SIGKILL);
        }
        while (waitpid(b->pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fl_fail(f, "%s: felt exited with status %d (signal %d) after leaving", b->name,
                    WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        close(b->out_fd);
        b->pid = 0;
    }
}
