/*
 * test_conffile.c: the settings-file splitter under felt's and feltd's config files
 * (common/conffile.c): what reaches the callback (keys and values trimmed, comments and blank
 * lines skipped, the line numbers), every malformed line refused as FILE:LINE with the settings
 * before it already passed on, a callback's refusal, on/off words, and reading files (absent,
 * required, a directory, too large).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conffile.h"

/* What the callback saw, as "LINE:key=value;" in order; refuses the key "bad" (with a reason)
 * and "mute" (without one). */
struct seen {
    char log[512];
};

static int record(void *user, int line, const char *key, const char *value, char *why,
                  size_t whysz)
{
    struct seen *s = user;
    size_t n = strlen(s->log);
    if (strcmp(key, "bad") == 0) {
        snprintf(why, whysz, "bad is not allowed");
        return -1;
    }
    if (strcmp(key, "mute") == 0) return -1;
    snprintf(s->log + n, sizeof(s->log) - n, "%d:%s=%s;", line, key, value);
    return 0;
}

static int parse(struct seen *s, const char *text, struct felt_err *err)
{
    memset(s, 0, sizeof(*s));
    return conffile_parse(text, strlen(text), "cfg", record, s, err);
}

static void test_settings(void **state)
{
    struct seen s;
    struct felt_err err;
    (void)state;
    const char *text = "# a comment = not a setting\n"
                       "\n"
                       "   host = 0.0.0.0   \n"
                       "port=8000\r\n"
                       "\tname = Ann #1\n"
                       "table = a:6:5/10:1000\n"
                       "table = b:2:1/2:100\n"
                       "  # indented comment\n"
                       "last = no newline";
    assert_int_equal(parse(&s, text, &err), 0);
    assert_string_equal(s.log, "3:host=0.0.0.0;4:port=8000;5:name=Ann #1;"
                               "6:table=a:6:5/10:1000;7:table=b:2:1/2:100;9:last=no newline;");
    assert_int_equal(parse(&s, "", &err), 0);
    assert_string_equal(s.log, "");
    assert_int_equal(parse(&s, "\n\n# only comments\n", &err), 0);
    assert_string_equal(s.log, "");
}

static void test_errors(void **state)
{
    static const struct {
        const char *text;
        const char *message; /* exactly */
        const char *before;  /* what reached the callback first */
    } cases[] = {
        {"a = 1\nport 8000\n", "cfg:2: 'port 8000' is not key = value", "1:a=1;"},
        {"\n\n = on\n", "cfg:3: a key is missing before '='", ""},
        {"name =   \n", "cfg:1: name has no value", ""},
        {"a = 1\nbad = 2\nc = 3\n", "cfg:2: bad is not allowed", "1:a=1;"},
        {"mute = 1\n", "cfg:1: refused (said above)", ""},
    };
    struct seen s;
    struct felt_err err;
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(parse(&s, cases[i].text, &err), -1);
        assert_string_equal(err.code, "config");
        assert_string_equal(err.message, cases[i].message);
        assert_string_equal(s.log, cases[i].before);
    }
}

static void test_nul_long_lines_and_origin(void **state)
{
    struct seen s = {{0}};
    struct felt_err err;
    char origin[300];
    (void)state;
    assert_int_equal(conffile_parse("a = 1\nna\0me = x\n", 16, "cfg", record, &s, &err), -1);
    assert_string_equal(err.message, "cfg:2: holds a NUL byte");

    char *big = malloc(CONFFILE_LINE_MAX + 32);
    assert_non_null(big);
    memcpy(big, "name = ", 7);
    memset(big + 7, 'a', CONFFILE_LINE_MAX);
    big[7 + CONFFILE_LINE_MAX] = '\0';
    assert_int_equal(parse(&s, big, &err), -1);
    assert_non_null(strstr(err.message, "cfg:1: the line is longer than 1023 bytes"));
    /* The longest line allowed passes. */
    big[CONFFILE_LINE_MAX - 1] = '\0';
    assert_int_equal(parse(&s, big, &err), 0);
    free(big);

    /* A long path is cut at the front: the line number and reason always fit. */
    memset(origin, 'd', sizeof(origin) - 1);
    origin[sizeof(origin) - 1] = '\0';
    assert_int_equal(conffile_parse("x\n", 2, origin, record, &s, &err), -1);
    assert_memory_equal(err.message, "...ddd", 6);
    assert_non_null(strstr(err.message, "d:1: 'x' is not key = value"));
}

static void test_flags(void **state)
{
    (void)state;
    const char *on[] = {"on", "ON", "yes", "True", "1"};
    const char *off[] = {"off", "No", "false", "0"};
    const char *neither[] = {"", "maybe", "2", "onn", "of"};
    for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++)
        assert_int_equal(conffile_flag(on[i]), 1);
    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++)
        assert_int_equal(conffile_flag(off[i]), 0);
    for (size_t i = 0; i < sizeof(neither) / sizeof(neither[0]); i++)
        assert_int_equal(conffile_flag(neither[i]), -1);
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void test_load(void **state)
{
    char dir[256], path[512], cmd[600];
    struct seen s = {{0}};
    struct felt_err err;
    (void)state;
    snprintf(dir, sizeof(dir), "%s/test_conffile.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));

    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_int_equal(conffile_load(path, false, record, &s, &err), 0);
    assert_int_equal(conffile_load(path, true, record, &s, &err), -1);
    assert_non_null(strstr(err.message, "cannot read the config file"));
    assert_non_null(strstr(err.message, "No such file"));

    snprintf(path, sizeof(path), "%s/good", dir);
    write_file(path, "a = 1\nb = 2\n", 12);
    assert_int_equal(conffile_load(path, true, record, &s, &err), 1);
    assert_string_equal(s.log, "1:a=1;2:b=2;");

    memset(&s, 0, sizeof(s));
    snprintf(path, sizeof(path), "%s/bad", dir);
    write_file(path, "a = 1\n\nb\n", 9);
    assert_int_equal(conffile_load(path, false, record, &s, &err), -1);
    char want[600];
    snprintf(want, sizeof(want), "%s:3: 'b' is not key = value", path);
    assert_string_equal(err.message, want);

    assert_int_equal(conffile_load(dir, false, record, &s, &err), -1);
    assert_non_null(strstr(err.message, "is not a regular file"));

    char *huge = malloc(CONFFILE_MAX + 1);
    assert_non_null(huge);
    memset(huge, '\n', CONFFILE_MAX + 1);
    snprintf(path, sizeof(path), "%s/huge", dir);
    write_file(path, huge, CONFFILE_MAX + 1);
    free(huge);
    assert_int_equal(conffile_load(path, false, record, &s, &err), -1);
    assert_non_null(strstr(err.message, "is larger than 65536 bytes"));

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_nul_long_lines_and_origin), cmocka_unit_test(test_flags),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
