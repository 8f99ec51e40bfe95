/*
 * config.c: reads felt's config file (format and precedence in config.h).
 *
 * The keys are one const table (config_keys) of a name, an alias and a setter; each setter
 * checks its value the way felt would check the same option on the command line (the server
 * with wsurl_parse, the game with proto_game_id_valid, the name with text_sanitize), so a bad
 * value is reported with its file and line at startup rather than as a session error later.
 * The file is read whole (bounded by CONFIG_FILE_MAX) and parsed from memory, so the parser is
 * tested on strings and the reading on files separately.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "text.h"
#include "wsclient.h"

/* A setter checks value; on a bad one it writes the reason (no file or line) to why. */
typedef int (*config_set_fn)(struct config *c, const char *value, char *why, size_t whysz);

static int config_flag_value(const char *value, enum config_flag *out)
{
    static const struct {
        const char *word;
        enum config_flag flag;
    } words[] = {
        {"on", CONFIG_ON},   {"yes", CONFIG_ON}, {"true", CONFIG_ON},   {"1", CONFIG_ON},
        {"off", CONFIG_OFF}, {"no", CONFIG_OFF}, {"false", CONFIG_OFF}, {"0", CONFIG_OFF},
    };
    for (size_t i = 0; i < FELT_ARRAY_LEN(words); i++)
        if (strcasecmp(value, words[i].word) == 0) {
            *out = words[i].flag;
            return 0;
        }
    return -1;
}

static int config_set_server(struct config *c, const char *value, char *why, size_t whysz)
{
    struct wsurl u;
    char reason[160];
    if (wsurl_parse(&u, value, reason, sizeof(reason)) != 0) {
        snprintf(why, whysz, "server: %s", reason);
        return -1;
    }
    if (u.path[0] && strcmp(u.path, "/") != 0) {
        snprintf(why, whysz, "server: give only ws://HOST:PORT, no path");
        return -1;
    }
    snprintf(c->server, sizeof(c->server), "%s", value);
    c->has_server = true;
    return 0;
}

static int config_set_game(struct config *c, const char *value, char *why, size_t whysz)
{
    if (!proto_game_id_valid(value, strlen(value))) {
        snprintf(why, whysz, "game: '%.40s' is not a game id (letters, digits, - and _)", value);
        return -1;
    }
    snprintf(c->game, sizeof(c->game), "%s", value);
    c->has_game = true;
    return 0;
}

static int config_set_name(struct config *c, const char *value, char *why, size_t whysz)
{
    char clean[PROTO_NAME_MAX_BYTES + 1];
    struct felt_err err;
    if (text_sanitize(value, strlen(value), clean, sizeof(clean), PROTO_NAME_MAX_CHARS, &err) <=
        0) {
        snprintf(why, whysz, "name: give a name of 1 to %d characters", PROTO_NAME_MAX_CHARS);
        return -1;
    }
    snprintf(c->name, sizeof(c->name), "%s", value);
    c->has_name = true;
    return 0;
}

/* The four on/off keys share one setter shape; each knows its own field. */
#define CONFIG_FLAG_SETTER(field, key)                                                             \
    static int config_set_##field(struct config *c, const char *value, char *why, size_t whysz)    \
    {                                                                                              \
        if (config_flag_value(value, &c->field) != 0) {                                            \
            snprintf(why, whysz, "%s is on or off, not '%.40s'", key, value);                      \
            return -1;                                                                             \
        }                                                                                          \
        return 0;                                                                                  \
    }
CONFIG_FLAG_SETTER(color, "color")
CONFIG_FLAG_SETTER(ascii, "ascii")
CONFIG_FLAG_SETTER(four_color, "four-color")
CONFIG_FLAG_SETTER(quiet, "quiet")

static const struct {
    const char *key;
    const char *alias; /* the British spelling, or NULL */
    config_set_fn set;
} config_keys[] = {
    {"server", NULL, config_set_server}, {"game", NULL, config_set_game},
    {"name", NULL, config_set_name},     {"color", "colour", config_set_color},
    {"ascii", NULL, config_set_ascii},   {"four-color", "four-colour", config_set_four_color},
    {"quiet", NULL, config_set_quiet},
};
#define CONFIG_KEYS_TEXT "server, game, name, color, ascii, four-color, quiet"

void config_init(struct config *c)
{
    memset(c, 0, sizeof(*c));
    c->color = c->ascii = c->four_color = c->quiet = CONFIG_UNSET;
}

int config_default_path(char *out, size_t outsz, struct felt_err *err)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(out, outsz, "%s/felt/config", xdg);
    else if (home && home[0] == '/')
        n = snprintf(out, outsz, "%s/.config/felt/config", home);
    else
        return felt_err_set(err, "no_home", "neither $XDG_CONFIG_HOME nor $HOME is set");
    if (n < 0 || (size_t)n >= outsz)
        return felt_err_set(err, "too_long", "the config file path is too long");
    return 0;
}

/* "ORIGIN:LINE: why", with a long origin cut at the front so the line number always fits. */
static int config_fail(struct felt_err *err, const char *origin, int line, const char *why)
{
    size_t ol = strlen(origin);
    const char *cut = ol > 60 ? "..." : "";
    return felt_err_set(err, "config", "%s%s:%d: %s", cut, ol > 60 ? origin + ol - 57 : origin,
                        line, why);
}

/* Trims blanks (space, tab, CR) from both ends of [*s, *s + *n). */
static void config_trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t' || **s == '\r')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
        (*n)--;
}

/* One line (without its newline): blank, comment, or key = value applied to c. seen marks the
 * keys already given (by index in config_keys). */
static int config_line(struct config *c, const char *p, size_t n, const char *origin, int line,
                       bool *seen, struct felt_err *err)
{
    char why[200], key[64], value[CONFIG_LINE_MAX];
    config_trim(&p, &n);
    if (n == 0 || p[0] == '#') return 0;
    const char *eq = memchr(p, '=', n);
    if (!eq) {
        snprintf(why, sizeof(why), "'%.*s' is not key = value", (int)(n < 30 ? n : 30), p);
        return config_fail(err, origin, line, why);
    }
    const char *k = p, *v = eq + 1;
    size_t kn = (size_t)(eq - p), vn = n - kn - 1;
    config_trim(&k, &kn);
    config_trim(&v, &vn);
    if (kn == 0) return config_fail(err, origin, line, "a key is missing before '='");
    if (kn >= sizeof(key)) return config_fail(err, origin, line, "unknown key (too long)");
    memcpy(key, k, kn);
    key[kn] = '\0';
    size_t i;
    for (i = 0; i < FELT_ARRAY_LEN(config_keys); i++)
        if (strcasecmp(key, config_keys[i].key) == 0 ||
            (config_keys[i].alias && strcasecmp(key, config_keys[i].alias) == 0))
            break;
    if (i == FELT_ARRAY_LEN(config_keys)) {
        snprintf(why, sizeof(why), "unknown key '%s' (the keys: %s)", key, CONFIG_KEYS_TEXT);
        return config_fail(err, origin, line, why);
    }
    if (seen[i]) {
        snprintf(why, sizeof(why), "%s is set twice", config_keys[i].key);
        return config_fail(err, origin, line, why);
    }
    if (vn == 0) {
        snprintf(why, sizeof(why), "%s has no value", config_keys[i].key);
        return config_fail(err, origin, line, why);
    }
    memcpy(value, v, vn); /* vn < n <= CONFIG_LINE_MAX - 1: checked by config_parse */
    value[vn] = '\0';
    if (config_keys[i].set(c, value, why, sizeof(why)) != 0)
        return config_fail(err, origin, line, why);
    seen[i] = true;
    return 0;
}

int config_parse(struct config *c, const char *text, size_t len, const char *origin,
                 struct felt_err *err)
{
    bool seen[FELT_ARRAY_LEN(config_keys)] = {false};
    int line = 1;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (memchr(p, '\0', n)) return config_fail(err, origin, line, "holds a NUL byte");
        if (n >= CONFIG_LINE_MAX) {
            char why[64];
            snprintf(why, sizeof(why), "the line is longer than %d bytes", CONFIG_LINE_MAX - 1);
            return config_fail(err, origin, line, why);
        }
        if (config_line(c, p, n, origin, line, seen, err) != 0) return -1;
        if (!nl) break;
        p = nl + 1;
        line++;
    }
    return 0;
}

int config_load(struct config *c, const char *path, bool must_exist, struct felt_err *err)
{
    struct stat st;
    char *buf = NULL;
    int rc = -1;
    ssize_t n;

    config_init(c);
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
    if (st.st_size > CONFIG_FILE_MAX) {
        felt_err_set(err, "config", "the config file %s is larger than %d bytes", path,
                     CONFIG_FILE_MAX);
        goto out;
    }
    /* Read one byte more than the limit: a file that grew since fstat is refused too. */
    buf = xmalloc(CONFIG_FILE_MAX + 1);
    size_t got = 0;
    while (got <= CONFIG_FILE_MAX && (n = read(fd, buf + got, CONFIG_FILE_MAX + 1 - got)) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            felt_err_set(err, "config", "cannot read the config file %s: %s", path,
                         strerror(errno));
            goto out;
        }
        got += (size_t)n;
    }
    if (got > CONFIG_FILE_MAX) {
        felt_err_set(err, "config", "the config file %s is larger than %d bytes", path,
                     CONFIG_FILE_MAX);
        goto out;
    }
    if (config_parse(c, buf, got, path, err) != 0) goto out;
    snprintf(c->path, sizeof(c->path), "%s", path);
    rc = 1;
out:
    close(fd);
    free(buf);
    if (rc != 1) config_init(c);
    return rc;
}

void config_apply(const struct config *c, struct session_options *so, struct tui_options *to)
{
    if (c->has_server) so->server = c->server;
    if (c->has_game) so->game = c->game;
    if (c->has_name) so->name = c->name;
    if (c->color != CONFIG_UNSET) to->no_color = c->color == CONFIG_OFF;
    if (c->ascii != CONFIG_UNSET) to->ascii = c->ascii == CONFIG_ON;
    if (c->four_color != CONFIG_UNSET) to->four_color = c->four_color == CONFIG_ON;
    if (c->quiet != CONFIG_UNSET) to->quiet = c->quiet == CONFIG_ON;
}
