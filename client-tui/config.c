/*
 * config.c: reads felt's config file (format and precedence in config.h).
 *
 * The keys are one const table (config_keys) of a name, an alias and a setter; each setter
 * checks its value the way felt would check the same option on the command line (the server
 * with wsurl_parse, the game with proto_game_id_valid, the name with text_sanitize, the CA file
 * with wsloop_ca_check, after placing a relative path beside the config file), so a bad
 * value is reported with its file and line at startup rather than as a session error later.
 * Splitting the file into settings (and reading it, bounded) is common/conffile.c's, shared
 * with feltd's config file; this file gives the keys their meaning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conffile.h"
#include "config.h"
#include "text.h"
#include "wsclient.h"

/* A setter checks value; on a bad one it writes the reason (no file or line) to why. */
typedef int (*config_set_fn)(struct config *c, const char *value, char *why, size_t whysz);

/* on/off (conffile_flag's words) into a config_flag. */
static int config_flag_value(const char *value, enum config_flag *out)
{
    int on = conffile_flag(value);
    if (on < 0) return -1;
    *out = on ? CONFIG_ON : CONFIG_OFF;
    return 0;
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

/* A relative path is taken from the config file's folder (the origin's, up to its last '/';
 * none: as given, from the current directory), not from wherever felt happens to start. */
static int config_set_ca(struct config *c, const char *value, char *why, size_t whysz)
{
    char reason[256];
    const char *origin = c->origin ? c->origin : "";
    const char *slash = strrchr(origin, '/');
    int n;
    if (value[0] == '/' || !slash)
        n = snprintf(c->ca, sizeof(c->ca), "%s", value);
    else
        n = snprintf(c->ca, sizeof(c->ca), "%.*s/%s", (int)(slash - origin), origin, value);
    if (n < 0 || (size_t)n >= sizeof(c->ca)) {
        snprintf(why, whysz, "ca: the path is too long");
        return -1;
    }
    if (wsloop_ca_check(c->ca, reason, sizeof(reason)) != 0) {
        snprintf(why, whysz, "ca: %s", reason);
        return -1;
    }
    c->has_ca = true;
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
    {"server", NULL, config_set_server},
    {"game", NULL, config_set_game},
    {"name", NULL, config_set_name},
    {"ca", NULL, config_set_ca},
    {"color", "colour", config_set_color},
    {"ascii", NULL, config_set_ascii},
    {"four-color", "four-colour", config_set_four_color},
    {"quiet", NULL, config_set_quiet},
};
#define CONFIG_KEYS_TEXT "server, game, name, ca, color, ascii, four-color, quiet"

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

/* The parse in progress: the struct being filled and the keys already given (by index in
 * config_keys). */
struct config_ctx {
    struct config *c;
    bool seen[FELT_ARRAY_LEN(config_keys)];
};

/* One `key = value` of the file (conffile_fn): the key (or its alias, any case) once, its value
 * through the key's setter. */
static int config_setting(void *user, int line, const char *key, const char *value, char *why,
                          size_t whysz)
{
    struct config_ctx *x = user;
    size_t i;
    (void)line;
    for (i = 0; i < FELT_ARRAY_LEN(config_keys); i++)
        if (strcasecmp(key, config_keys[i].key) == 0 ||
            (config_keys[i].alias && strcasecmp(key, config_keys[i].alias) == 0))
            break;
    if (i == FELT_ARRAY_LEN(config_keys)) {
        snprintf(why, whysz, "unknown key '%.64s' (the keys: %s)", key, CONFIG_KEYS_TEXT);
        return -1;
    }
    if (x->seen[i]) {
        snprintf(why, whysz, "%s is set twice", config_keys[i].key);
        return -1;
    }
    if (config_keys[i].set(x->c, value, why, whysz) != 0) return -1;
    x->seen[i] = true;
    return 0;
}

int config_parse(struct config *c, const char *text, size_t len, const char *origin,
                 struct felt_err *err)
{
    struct config_ctx x = {.c = c};
    c->origin = origin;
    int rc = conffile_parse(text, len, origin, config_setting, &x, err);
    c->origin = NULL; /* the caller's string: not kept past this call */
    return rc;
}

int config_load(struct config *c, const char *path, bool must_exist, struct felt_err *err)
{
    struct config_ctx x = {.c = c};
    config_init(c);
    c->origin = path;
    int rc = conffile_load(path, must_exist, config_setting, &x, err);
    c->origin = NULL;
    if (rc == 1)
        snprintf(c->path, sizeof(c->path), "%s", path);
    else
        config_init(c); /* never half-applied */
    return rc;
}

void config_apply(const struct config *c, struct session_options *so, struct tui_options *to)
{
    if (c->has_server) so->server = c->server;
    if (c->has_game) so->game = c->game;
    if (c->has_name) so->name = c->name;
    if (c->has_ca) so->ca_file = c->ca;
    if (c->color != CONFIG_UNSET) to->no_color = c->color == CONFIG_OFF;
    if (c->ascii != CONFIG_UNSET) to->ascii = c->ascii == CONFIG_ON;
    if (c->four_color != CONFIG_UNSET) to->four_color = c->four_color == CONFIG_ON;
    if (c->quiet != CONFIG_UNSET) to->quiet = c->quiet == CONFIG_ON;
}
