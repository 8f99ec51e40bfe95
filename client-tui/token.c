/*
 * token.c: the token store, so that a restarted felt takes back its own seat.
 *
 * One small JSON file per server URL + game + name, {"player_id": ..., "token": ..., "seat": N},
 * under $XDG_STATE_HOME/felt/ (default ~/.local/state/felt/). The token is the seat's secret:
 * the directory is created 0700, the file is written 0600 through a temporary file and rename()
 * (a crash never leaves half a token), and nothing here ever prints it. A file that is not
 * ours (wrong shape, too big) is reported, and the caller joins afresh rather than trusting it.
 * A file's mtime says when felt last used it (token_load sets it), and token_prune forgets the
 * servers not seen for TOKEN_PRUNE_DAYS, a server at a time, so seats at servers long gone do
 * not pile up secrets on disk.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client.h"
#include "jval.h"

#define TOKEN_FILE_MAX 4096

int token_dir(char *out, size_t outsz, struct felt_err *err)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    int n;
    /* The XDG spec: a relative $XDG_STATE_HOME is invalid and must be ignored. */
    if (xdg && xdg[0] == '/')
        n = snprintf(out, outsz, "%s/felt", xdg);
    else if (home && home[0] == '/')
        n = snprintf(out, outsz, "%s/.local/state/felt", home);
    else
        return felt_err_set(err, "no_home", "neither $XDG_STATE_HOME nor $HOME is set");
    if (n < 0 || (size_t)n >= outsz)
        return felt_err_set(err, "too_long", "the state directory path is too long");
    return 0;
}

/* Appends s escaped to [A-Za-z0-9.-] (everything else as _XX) to out at *len. */
static int token_escape(const char *s, char *out, size_t outsz, size_t *len)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '.' || c == '-';
        int n = plain ? snprintf(out + *len, outsz - *len, "%c", c)
                      : snprintf(out + *len, outsz - *len, "_%02x", c);
        if (n < 0 || (size_t)n >= outsz - *len) return -1;
        *len += (size_t)n;
    }
    return 0;
}

int token_path(const char *server, const char *game, const char *name, char *out, size_t outsz,
               struct felt_err *err)
{
    size_t len;
    if (token_dir(out, outsz, err) != 0) return -1;
    len = strlen(out);
    /* server, game and name joined with "+" (never produced by the escaping). */
    const char *parts[] = {server, game, name};
    for (size_t i = 0; i < FELT_ARRAY_LEN(parts); i++) {
        if (len + 2 >= outsz)
            return felt_err_set(err, "too_long", "the token file path is too long");
        out[len++] = i == 0 ? '/' : '+';
        out[len] = '\0';
        if (token_escape(parts[i], out, outsz, &len) != 0)
            return felt_err_set(err, "too_long", "the token file path is too long");
    }
    if (len + 6 >= outsz) return felt_err_set(err, "too_long", "the token file path is too long");
    memcpy(out + len, ".json", 6);
    return 0;
}

/* mkdir -p with mode 0700 for each created level; an existing directory is tightened to 0700
 * only for the last level (ours), never for the user's ~/.local. */
static int token_mkdirs(const char *dir, struct felt_err *err)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof(tmp), "%s", dir);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return felt_err_set(err, "too_long", "the state directory path is too long");
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return felt_err_set(err, "io", "cannot create %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return felt_err_set(err, "io", "cannot create %s: %s", tmp, strerror(errno));
    if (chmod(tmp, 0700) != 0)
        return felt_err_set(err, "io", "cannot protect %s: %s", tmp, strerror(errno));
    return 0;
}

int token_load(const char *server, const char *game, const char *name, struct token_record *rec,
               struct felt_err *err)
{
    char path[4096], buf[TOKEN_FILE_MAX + 1];
    struct json_object *j = NULL;
    int rc = -1;
    ssize_t n;
    int fd;

    memset(rec, 0, sizeof(*rec));
    if (token_path(server, game, name, path, sizeof(path), err) != 0) return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT) return 0;
        return felt_err_set(err, "io", "cannot read %s: %s", path, strerror(errno));
    }
    n = read(fd, buf, sizeof(buf));
    /* Seen now: token_prune keeps a server whose files were used within TOKEN_PRUNE_DAYS. A
     * failure only means the file may be pruned a little early, so it is not reported. */
    if (n > 0) (void)futimens(fd, NULL);
    close(fd);
    if (n < 0 || n > TOKEN_FILE_MAX) {
        felt_err_set(err, "bad_token_file", "%s is unreadable or too large", path);
        goto out;
    }
    buf[n] = '\0';
    j = json_tokener_parse(buf);
    const char *ids = jval_str(j, "player_id"), *toks = jval_str(j, "token");
    if (!ids || !toks) {
        felt_err_set(err, "bad_token_file", "%s is not a felt token file", path);
        goto out;
    }
    size_t idl = strlen(ids), tokl = strlen(toks);
    if (idl == 0 || idl > MODEL_ID_MAX || tokl == 0 || tokl > PROTO_TOKEN_MAX) {
        felt_err_set(err, "bad_token_file", "%s holds a malformed token", path);
        goto out;
    }
    /* Both go into a URL path and a JSON string: printable ASCII only, no '/'. */
    for (size_t i = 0; i < idl; i++)
        if (ids[i] <= ' ' || ids[i] > '~' || ids[i] == '/' || ids[i] == '?' || ids[i] == '#') {
            felt_err_set(err, "bad_token_file", "%s holds a malformed player id", path);
            goto out;
        }
    for (size_t i = 0; i < tokl; i++)
        if (toks[i] <= ' ' || toks[i] > '~') {
            felt_err_set(err, "bad_token_file", "%s holds a malformed token", path);
            goto out;
        }
    memcpy(rec->player_id, ids, idl + 1);
    memcpy(rec->token, toks, tokl + 1);
    int64_t seat = jval_int(j, "seat", -1);
    rec->seat = seat >= 0 && seat < MODEL_MAX_SEATS ? (int)seat : -1;
    rc = 1;
out:
    json_object_put(j);
    explicit_bzero(buf, sizeof(buf));
    if (rc != 1) memset(rec, 0, sizeof(*rec));
    return rc;
}

int token_save(const char *server, const char *game, const char *name,
               const struct token_record *rec, struct felt_err *err)
{
    char path[4096], tmp[4200], dir[4096];
    int rc = -1, fd = -1;

    if (token_dir(dir, sizeof(dir), err) != 0 || token_mkdirs(dir, err) != 0 ||
        token_path(server, game, name, path, sizeof(path), err) != 0)
        return -1;
    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
    struct json_object *j = json_object_new_object();
    json_object_object_add(j, "player_id", json_object_new_string(rec->player_id));
    json_object_object_add(j, "token", json_object_new_string(rec->token));
    json_object_object_add(j, "seat", json_object_new_int(rec->seat));
    const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
    size_t len = strlen(s);

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        felt_err_set(err, "io", "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (fchmod(fd, 0600) != 0 || write(fd, s, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
        fsync(fd) != 0) {
        felt_err_set(err, "io", "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        felt_err_set(err, "io", "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        felt_err_set(err, "io", "cannot replace %s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0) close(fd);
    if (rc != 0) unlink(tmp);
    json_object_put(j);
    return rc;
}

int token_remove(const char *server, const char *game, const char *name, struct felt_err *err)
{
    char path[4096];
    if (token_path(server, game, name, path, sizeof(path), err) != 0) return -1;
    if (unlink(path) != 0 && errno != ENOENT)
        return felt_err_set(err, "io", "cannot remove %s: %s", path, strerror(errno));
    return 0;
}

/* ---- pruning ---------------------------------------------------------------------------- */

#define TOKEN_PRUNE_MAX 4096 /* files looked at per run; more are left for the next start */

struct token_entry {
    char *name;
    size_t prefix; /* the escaped server: name[0..prefix) */
    int64_t mtime;
};

/* A name token_path or token_save produces: SERVER+GAME+NAME.json, or that followed by
 * .PID.tmp (a save cut short); *prefix gets the length of SERVER. */
static bool token_name_ours(const char *name, size_t *prefix)
{
    const char *plus = strchr(name, '+');
    if (!plus || plus == name || !strchr(plus + 1, '+')) return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == '_' || *p == '+'))
            return false;
    size_t len = strlen(name);
    if (len > 4 && strcmp(name + len - 4, ".tmp") == 0) { /* drop ".PID.tmp" */
        size_t i = len - 4;
        while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
            i--;
        if (i == len - 4 || i == 0 || name[i - 1] != '.') return false;
        len = i - 1;
    }
    if (len <= 5 || memcmp(name + len - 5, ".json", 5) != 0) return false;
    *prefix = (size_t)(plus - name);
    return true;
}

static int token_entry_cmp(const void *a, const void *b)
{
    const struct token_entry *x = a, *y = b;
    size_t n = x->prefix < y->prefix ? x->prefix : y->prefix;
    int c = memcmp(x->name, y->name, n);
    if (c) return c;
    return x->prefix < y->prefix ? -1 : x->prefix > y->prefix;
}

int token_prune(const char *keep_server, int64_t now_s, int days, int *removed,
                struct felt_err *err)
{
    char dir[4096], keep[4096];
    size_t keep_len = 0;
    struct token_entry *e = NULL;
    size_t ne = 0;
    int rc = -1, gone = 0;
    DIR *d = NULL;

    if (removed) *removed = 0;
    if (token_dir(dir, sizeof(dir), err) != 0) return -1;
    keep[0] = '\0';
    if (keep_server && token_escape(keep_server, keep, sizeof(keep), &keep_len) != 0)
        return felt_err_set(err, "too_long", "the server URL is too long");
    d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return 0;
        return felt_err_set(err, "io", "cannot read %s: %s", dir, strerror(errno));
    }
    int dfd = dirfd(d);
    e = xcalloc(TOKEN_PRUNE_MAX, sizeof(*e));
    struct dirent *de;
    struct stat st;
    size_t prefix;
    while (ne < TOKEN_PRUNE_MAX && (de = readdir(d)) != NULL) {
        if (!token_name_ours(de->d_name, &prefix)) continue;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        e[ne].name = xstrdup(de->d_name);
        e[ne].prefix = prefix;
        e[ne].mtime = (int64_t)st.st_mtime;
        ne++;
    }
    qsort(e, ne, sizeof(*e), token_entry_cmp);
    const int64_t cutoff = now_s - (int64_t)days * 86400;
    rc = 0;
    for (size_t i = 0, j; i < ne; i = j) {
        int64_t newest = e[i].mtime;
        for (j = i + 1; j < ne && token_entry_cmp(&e[i], &e[j]) == 0; j++)
            if (e[j].mtime > newest) newest = e[j].mtime;
        if (newest >= cutoff) continue;
        if (keep_server && e[i].prefix == keep_len && memcmp(e[i].name, keep, keep_len) == 0)
            continue;
        for (size_t k = i; k < j; k++) {
            /* Looked at again just before: a felt started meanwhile may have used it. */
            if (fstatat(dfd, e[k].name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
                (int64_t)st.st_mtime >= cutoff)
                continue;
            if (unlinkat(dfd, e[k].name, 0) == 0)
                gone++;
            else if (errno != ENOENT && rc == 0)
                rc = felt_err_set(err, "io", "cannot remove %s/%s: %s", dir, e[k].name,
                                  strerror(errno));
        }
    }
    for (size_t i = 0; i < ne; i++)
        free(e[i].name);
    free(e);
    closedir(d);
    if (removed) *removed = gone;
    return rc;
}
