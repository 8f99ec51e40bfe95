/*
 * conffile.c: splits felt's and feltd's settings files into key and value (format in
 * conffile.h).
 *
 * The file is read whole (bounded by CONFFILE_MAX, one byte more is read so that a file grown
 * since fstat is refused too) and parsed from memory, so the parser is tested on strings and
 * the reading on files separately.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conffile.h"

int conffile_flag(const char *value)
{
    static const struct {
        const char *word;
        int on;
    } words[] = {
        {"on", 1}, {"yes", 1}, {"true", 1}, {"1", 1},
        {"off", 0}, {"no", 0}, {"false", 0}, {"0", 0},
    };
    for (size_t i = 0; i < FELT_ARRAY_LEN(words); i++)
        if (strcasecmp(value, words[i].word) == 0)
            return words[i].on;
    return -1;
}

/* "ORIGIN:LINE: why", with a long origin cut at the front so the line number always fits. */
static int conffile_fail(struct felt_err *err, const char *origin, int line, const char *why)
{
    size_t ol = strlen(origin);
    const char *cut = ol > 60 ? "..." : "";
    return felt_err_set(err, "config", "%s%s:%d: %s", cut, ol > 60 ? origin + ol - 57 : origin,
                        line, why);
}

/* Trims blanks (space, tab, CR) from both ends of [*s, *s + *n). */
static void conffile_trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t' || **s == '\r')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
        (*n)--;
}

/* One line (without its newline, n < CONFFILE_LINE_MAX): blank, comment, or a setting. */
static int conffile_line(const char *p, size_t n, const char *origin, int line, conffile_fn fn,
                         void *user, struct felt_err *err)
{
    char why[256], key[CONFFILE_LINE_MAX], value[CONFFILE_LINE_MAX];
    conffile_trim(&p, &n);
    if (n == 0 || p[0] == '#') return 0;
    const char *eq = memchr(p, '=', n);
    if (!eq) {
        snprintf(why, sizeof(why), "'%.*s' is not key = value", (int)(n < 30 ? n : 30), p);
        return conffile_fail(err, origin, line, why);
    }
    const char *k = p, *v = eq + 1;
    size_t kn = (size_t)(eq - p), vn = n - kn - 1;
    conffile_trim(&k, &kn);
    conffile_trim(&v, &vn);
    if (kn == 0) return conffile_fail(err, origin, line, "a key is missing before '='");
    memcpy(key, k, kn); /* kn, vn < n < CONFFILE_LINE_MAX */
    key[kn] = '\0';
    if (vn == 0) {
        snprintf(why, sizeof(why), "%.64s has no value", key);
        return conffile_fail(err, origin, line, why);
    }
    memcpy(value, v, vn);
    value[vn] = '\0';
    why[0] = '\0';
    if (fn(user, line, key, value, why, sizeof(why)) != 0)
        return conffile_fail(err, origin, line, why[0] ? why : "refused (said above)");
    return 0;
}

int conffile_parse(const char *text, size_t len, const char *origin, conffile_fn fn, void *user,
                   struct felt_err *err)
{
    int line = 1;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (memchr(p, '\0', n)) return conffile_fail(err, origin, line, "holds a NUL byte");
        if (n >= CONFFILE_LINE_MAX) {
            char why[64];
            snprintf(why, sizeof(why), "the line is longer than %d bytes", CONFFILE_LINE_MAX - 1);
            return conffile_fail(err, origin, line, why);
        }
        if (conffile_line(p, n, origin, line, fn, user, err) != 0) return -1;
        if (!nl) break;
        p = nl + 1;
        line++;
    }
    return 0;
}

int conffile_load(const char *path, bool must_exist, conffile_fn fn, void *user,
                  struct felt_err *err)
{
    struct stat st;
    char *buf = NULL;
    int rc = -1;
    ssize_t n;

    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT && !must_exist) return 0;
        return felt_err_set(err, "config", "cannot read the config file %s: %s", path,
                            strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        felt_err_set(err, "config", "the config file %s is not a regular file", path);
        goto out;
    }
    if (st.st_size > CONFFILE_MAX) {
        felt_err_set(err, "config", "the config file %s is larger than %d bytes", path,
                     CONFFILE_MAX);
        goto out;
    }
    buf = xmalloc(CONFFILE_MAX + 1);
    size_t got = 0;
    while (got <= CONFFILE_MAX && (n = read(fd, buf + got, CONFFILE_MAX + 1 - got)) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            felt_err_set(err, "config", "cannot read the config file %s: %s", path,
                         strerror(errno));
            goto out;
        }
        got += (size_t)n;
    }
    if (got > CONFFILE_MAX) {
        felt_err_set(err, "config", "the config file %s is larger than %d bytes", path,
                     CONFFILE_MAX);
        goto out;
    }
    if (conffile_parse(buf, got, path, fn, user, err) != 0) goto out;
    rc = 1;
out:
    close(fd);
    free(buf);
    return rc;
}
