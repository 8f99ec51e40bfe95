/*
 * config.h: felt's config file, $XDG_CONFIG_HOME/felt/config (default ~/.config/felt/config).
 *
 * One setting per line, `key = value`; blank lines and lines whose first non-blank character is
 * '#' are ignored (a '#' later in a line is part of the value, so a name may hold one). The keys
 * are those of the command line that a player sets once: server, game, name, ca, color (alias
 * colour), ascii, four-color (alias four-colour) and quiet; the last four take on/off (or
 * yes/no, true/false). ca is a path, taken relative to the config file's folder unless it is
 * absolute (so `ca = felt-ca.pem` beside the file works from any directory), and checked when
 * the file is read (wsloop_ca_check). The file only supplies defaults: felt applies it before
 * reading its command line, so every option given there wins, and --config FILE / --no-config pick
 * another file or none. A line felt cannot use is a user error naming FILE:LINE, never
 * half-applied: config_load either fills the whole struct config or reports the first bad line.
 */
#ifndef FELT_CONFIG_H
#define FELT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "client.h"

#include "conffile.h"

#define CONFIG_FILE_MAX CONFFILE_MAX       /* bytes: a larger file is not a felt config */
#define CONFIG_LINE_MAX CONFFILE_LINE_MAX  /* bytes per line */
#define CONFIG_PATH_MAX 4096

/* What one file set; a flag is CONFIG_UNSET when its key was absent. */
enum config_flag { CONFIG_UNSET = -1, CONFIG_OFF = 0, CONFIG_ON = 1 };

struct config {
    char path[CONFIG_PATH_MAX]; /* the file read; "" when none was */
    bool has_server, has_game, has_name, has_ca;
    char server[CONFIG_LINE_MAX]; /* a URL felt's session accepts (ws://HOST:PORT ...) */
    char game[CONFIG_LINE_MAX];   /* a game id */
    char name[CONFIG_LINE_MAX];   /* as written; the session sanitizes it as --name's */
    char ca[CONFIG_PATH_MAX];     /* the CA file, made absolute or relative to the config
                                   * file's folder as the file's origin says */
    const char *origin;           /* during config_parse: the origin, for ca's folder */
    enum config_flag color, ascii, four_color, quiet;
};

/* Empties c: nothing set, no path. */
void config_init(struct config *c);

/* The default file: $XDG_CONFIG_HOME/felt/config when that is an absolute path (the XDG spec
 * ignores a relative one), else $HOME/.config/felt/config. Returns 0, or -1 with err when
 * neither is set or the path is too long. */
int config_default_path(char *out, size_t outsz, struct felt_err *err);

/* Parses text (len bytes, NUL bytes refused) into c, which config_init should have emptied.
 * origin names the file in messages ("ORIGIN:LINE: reason"). Returns 0, or -1 with err
 * ("config" code) at the first bad line: unknown key, no '=', empty value, a key given twice,
 * a bad on/off value, a server URL, game id or name felt would refuse, a ca file that
 * wsloop_ca_check refuses (a relative one is looked up beside origin), a line too long. */
int config_parse(struct config *c, const char *text, size_t len, const char *origin,
                 struct felt_err *err);

/* Reads and parses path into c (config_init'ed here). Returns 1 when read, 0 when the file does
 * not exist and !must_exist (c stays empty), -1 with err when it cannot be read, is not a
 * regular file, is larger than CONFIG_FILE_MAX, or config_parse refuses it. */
int config_load(struct config *c, const char *path, bool must_exist, struct felt_err *err);

/* Lays c over so and to: each setting c has replaces the option's value (the strings point
 * into c, which must outlive them; ca becomes so->ca_file). felt calls it before reading the
 * command line, so the command line overrides it; color = on also undoes $NO_COLOR, as a config
 * file should. */
void config_apply(const struct config *c, struct session_options *so, struct tui_options *to);

#endif
