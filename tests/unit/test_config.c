/*
 * test_config.c: felt's config file (client-tui/config.c): the key = value format with its
 * comments, blanks and aliases; every kind of bad line refused with FILE:LINE and nothing
 * applied; reading files (absent, explicit but missing, a directory, too large); the default
 * path from $XDG_CONFIG_HOME and $HOME; and the precedence config_apply gives (the file over
 * felt's defaults and $NO_COLOR, unset keys leaving the options alone). That the command line
 * wins over the file is felt.c's order of calls, checked end to end by blackbox_config.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static int config_parse_str(struct config *c, const char *text, struct felt_err *err)
{
    config_init(c);
    return config_parse(c, text, strlen(text), "cfg", err);
}

static void test_values(void **state)
{
    struct config c;
    struct felt_err err;
    (void)state;
    const char *text = "# felt's settings\n"
                       "\n"
                       "   server = ws://example.org:9000   \n"
                       "game=high-stakes_2\r\n"
                       "\tname = Ann #1\n" /* a hash after the start is part of a value */
                       "colour = off\n"
                       "ASCII = Yes\n"
                       "four-colour = true\n"
                       "quiet = 0\n"
                       "  # an indented comment = with an equals sign";
    assert_int_equal(config_parse_str(&c, text, &err), 0);
    assert_true(c.has_server);
    assert_string_equal(c.server, "ws://example.org:9000");
    assert_true(c.has_game);
    assert_string_equal(c.game, "high-stakes_2");
    assert_true(c.has_name);
    assert_string_equal(c.name, "Ann #1");
    assert_int_equal(c.color, CONFIG_OFF);
    assert_int_equal(c.ascii, CONFIG_ON);
    assert_int_equal(c.four_color, CONFIG_ON);
    assert_int_equal(c.quiet, CONFIG_OFF);
}

static void test_empty_sets_nothing(void **state)
{
    struct config c;
    struct felt_err err;
    (void)state;
    assert_int_equal(config_parse_str(&c, "", &err), 0);
    assert_int_equal(config_parse_str(&c, "# only a comment\n\n   \n", &err), 0);
    assert_false(c.has_server || c.has_game || c.has_name);
    assert_int_equal(c.color, CONFIG_UNSET);
    assert_int_equal(c.ascii, CONFIG_UNSET);
    assert_int_equal(c.four_color, CONFIG_UNSET);
    assert_int_equal(c.quiet, CONFIG_UNSET);
    /* The spellings of a flag. */
    const char *on[] = {"on", "ON", "yes", "true", "1"}, *off[] = {"off", "No", "false", "0"};
    char line[64];
    for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
        snprintf(line, sizeof(line), "color = %s", on[i]);
        assert_int_equal(config_parse_str(&c, line, &err), 0);
        assert_int_equal(c.color, CONFIG_ON);
    }
    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
        snprintf(line, sizeof(line), "color = %s", off[i]);
        assert_int_equal(config_parse_str(&c, line, &err), 0);
        assert_int_equal(c.color, CONFIG_OFF);
    }
}

/* Each bad text is refused with "cfg:LINE:" and a reason containing want. */
static void test_errors(void **state)
{
    static const struct {
        const char *text;
        int line;
        const char *want;
    } cases[] = {
        {"colr = on\n", 1, "unknown key 'colr'"},
        {"# ok\nserver ws://x:1\n", 2, "is not key = value"},
        {"\n\n = on\n", 3, "a key is missing"},
        {"name =   \n", 1, "name has no value"},
        {"ascii = on\nascii = off\n", 2, "ascii is set twice"},
        {"color = off\ncolour = on\n", 2, "color is set twice"},
        {"ascii = sometimes\n", 1, "ascii is on or off, not 'sometimes'"},
        {"quiet = on # no bell\n", 1, "quiet is on or off"},
        {"server = ftp://example.org\n", 1, "server:"},
        {"server = ws://127.0.0.1:8000/table\n", 1, "no path"},
        {"game = no spaces\n", 1, "not a game id"},
        {"name = \x1b[31m\n", 1, "give a name of 1 to 24 characters"},
        {"name = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 1, "give a name"},
        {"name = \xff\xfe\n", 1, "give a name"},
    };
    struct config c;
    struct felt_err err;
    char prefix[32];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(config_parse_str(&c, cases[i].text, &err), -1);
        assert_string_equal(err.code, "config");
        snprintf(prefix, sizeof(prefix), "cfg:%d: ", cases[i].line);
        if (strncmp(err.message, prefix, strlen(prefix)) != 0 ||
            !strstr(err.message, cases[i].want))
            fail_msg("case %zu: '%s' (wanted %s... %s)", i, err.message, prefix, cases[i].want);
        assert_null(strchr(err.message, '\n'));
    }
}

static void test_nul_and_long_lines(void **state)
{
    struct config c;
    struct felt_err err;
    (void)state;
    config_init(&c);
    assert_int_equal(config_parse(&c, "ascii = on\nna\0me = x\n", 21, "cfg", &err), -1);
    assert_string_equal(err.message, "cfg:2: holds a NUL byte");

    char *big = malloc(CONFIG_LINE_MAX + 32);
    assert_non_null(big);
    memcpy(big, "name = ", 7);
    memset(big + 7, 'a', CONFIG_LINE_MAX);
    big[7 + CONFIG_LINE_MAX] = '\0';
    assert_int_equal(config_parse_str(&c, big, &err), -1);
    assert_non_null(strstr(err.message, "cfg:1: the line is longer than"));
    free(big);
}

/* A long path is cut at the front: the line number and reason always fit the message. */
static void test_long_origin(void **state)
{
    struct config c;
    struct felt_err err;
    char origin[300];
    (void)state;
    memset(origin, 'd', sizeof(origin) - 1);
    origin[sizeof(origin) - 1] = '\0';
    config_init(&c);
    assert_int_equal(config_parse(&c, "x = 1\n", 6, origin, &err), -1);
    assert_memory_equal(err.message, "...ddd", 6);
    assert_non_null(strstr(err.message, ":1: unknown key 'x'"));
}

struct tmpdir {
    char path[256];
};

static void tmpdir_make(struct tmpdir *t)
{
    snprintf(t->path, sizeof(t->path), "%s/test_config.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(t->path));
}

static void tmpdir_write(const struct tmpdir *t, const char *name, const char *text, size_t len,
                         char *path, size_t pathsz)
{
    snprintf(path, pathsz, "%s/%s", t->path, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void tmpdir_remove(const struct tmpdir *t)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->path);
    assert_int_equal(system(cmd), 0);
}

static void test_load_files(void **state)
{
    struct tmpdir t;
    struct config c;
    struct felt_err err;
    char path[512];
    (void)state;
    tmpdir_make(&t);

    /* Absent: fine for the default file, an error for --config FILE. */
    snprintf(path, sizeof(path), "%s/missing", t.path);
    assert_int_equal(config_load(&c, path, false, &err), 0);
    assert_string_equal(c.path, "");
    assert_false(c.has_server);
    assert_int_equal(config_load(&c, path, true, &err), -1);
    assert_non_null(strstr(err.message, "cannot read the config file"));
    assert_non_null(strstr(err.message, "No such file"));

    /* A good file. */
    const char *good = "name = bob\nfour-color = on\n";
    tmpdir_write(&t, "good", good, strlen(good), path, sizeof(path));
    assert_int_equal(config_load(&c, path, false, &err), 1);
    assert_string_equal(c.path, path);
    assert_string_equal(c.name, "bob");
    assert_int_equal(c.four_color, CONFIG_ON);

    /* A bad line: nothing is kept, the message names the file and the line. */
    const char *bad = "name = bob\n\ncolor = maybe\n";
    tmpdir_write(&t, "bad", bad, strlen(bad), path, sizeof(path));
    assert_int_equal(config_load(&c, path, false, &err), -1);
    char want[600];
    snprintf(want, sizeof(want), "%s:3: color is on or off, not 'maybe'", path);
    assert_string_equal(err.message, want);
    assert_false(c.has_name);
    assert_string_equal(c.path, "");

    /* A directory, and a file over the limit. */
    assert_int_equal(config_load(&c, t.path, false, &err), -1);
    assert_non_null(strstr(err.message, "is not a regular file"));
    char *huge = malloc(CONFIG_FILE_MAX + 1);
    assert_non_null(huge);
    memset(huge, '\n', CONFIG_FILE_MAX + 1);
    tmpdir_write(&t, "huge", huge, CONFIG_FILE_MAX + 1, path, sizeof(path));
    free(huge);
    assert_int_equal(config_load(&c, path, false, &err), -1);
    assert_non_null(strstr(err.message, "is larger than"));

    /* Unreadable (not when the tests run as root, who reads anything). */
    if (geteuid() != 0) {
        tmpdir_write(&t, "secret", good, strlen(good), path, sizeof(path));
        assert_int_equal(chmod(path, 0), 0);
        assert_int_equal(config_load(&c, path, false, &err), -1);
        assert_non_null(strstr(err.message, "Permission denied"));
    }
    tmpdir_remove(&t);
}

static void test_default_path(void **state)
{
    char out[512];
    struct felt_err err;
    char *old_xdg = getenv("XDG_CONFIG_HOME") ? strdup(getenv("XDG_CONFIG_HOME")) : NULL;
    char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    (void)state;

    setenv("XDG_CONFIG_HOME", "/x/conf", 1);
    setenv("HOME", "/home/ann", 1);
    assert_int_equal(config_default_path(out, sizeof(out), &err), 0);
    assert_string_equal(out, "/x/conf/felt/config");
    setenv("XDG_CONFIG_HOME", "relative/conf", 1); /* ignored, as the XDG spec says */
    assert_int_equal(config_default_path(out, sizeof(out), &err), 0);
    assert_string_equal(out, "/home/ann/.config/felt/config");
    unsetenv("XDG_CONFIG_HOME");
    assert_int_equal(config_default_path(out, sizeof(out), &err), 0);
    assert_string_equal(out, "/home/ann/.config/felt/config");
    unsetenv("HOME");
    assert_int_equal(config_default_path(out, sizeof(out), &err), -1);
    assert_string_equal(err.code, "no_home");
    setenv("HOME", "/home/ann", 1);
    assert_int_equal(config_default_path(out, 10, &err), -1);
    assert_string_equal(err.code, "too_long");

    if (old_xdg)
        setenv("XDG_CONFIG_HOME", old_xdg, 1);
    else
        unsetenv("XDG_CONFIG_HOME");
    if (old_home)
        setenv("HOME", old_home, 1);
    else
        unsetenv("HOME");
    free(old_xdg);
    free(old_home);
}

/* config_apply replaces what the file set and leaves the rest; color = on undoes $NO_COLOR's
 * no_color (felt sets that before applying the file). */
static void test_apply(void **state)
{
    struct config c;
    struct felt_err err;
    (void)state;
    struct session_options so = {.server = "ws://127.0.0.1:8000", .game = "main", .name = "user"};
    struct tui_options to = {.no_color = true, .quiet = true};

    config_init(&c);
    config_apply(&c, &so, &to); /* nothing set: nothing changes */
    assert_string_equal(so.server, "ws://127.0.0.1:8000");
    assert_string_equal(so.game, "main");
    assert_string_equal(so.name, "user");
    assert_true(to.no_color);
    assert_false(to.ascii);
    assert_false(to.four_color);
    assert_true(to.quiet);

    assert_int_equal(config_parse_str(&c,
                                      "server = ws://10.0.0.1:9\nname = ann\ncolor = on\n"
                                      "ascii = on\nfour-color = on\nquiet = off\n",
                                      &err),
                     0);
    config_apply(&c, &so, &to);
    assert_string_equal(so.server, "ws://10.0.0.1:9");
    assert_string_equal(so.game, "main"); /* not in the file */
    assert_string_equal(so.name, "ann");
    assert_false(to.no_color);
    assert_true(to.ascii);
    assert_true(to.four_color);
    assert_false(to.quiet);

    assert_int_equal(config_parse_str(&c, "color = off\nascii = off\nfour-colour = no\n", &err), 0);
    config_apply(&c, &so, &to);
    assert_true(to.no_color);
    assert_false(to.ascii);
    assert_false(to.four_color);
    assert_false(to.quiet); /* unset in this file: as before */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),       cmocka_unit_test(test_empty_sets_nothing),
        cmocka_unit_test(test_errors),       cmocka_unit_test(test_nul_and_long_lines),
        cmocka_unit_test(test_long_origin),  cmocka_unit_test(test_load_files),
        cmocka_unit_test(test_default_path), cmocka_unit_test(test_apply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
