/*
 * test_token.c: felt's token store (client-tui/token.c) in a temporary $XDG_STATE_HOME: saving
 * and loading a record, a load marking the file seen (its mtime), and token_prune forgetting
 * the servers not seen for 30 days, a server at a time, while the current server's files, files
 * that are not ours, symlinks and directories stay.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client.h"

#define DAY 86400

static char state_dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(state_dir, sizeof(state_dir), "%s/test_token.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(state_dir)) return -1;
    return setenv("XDG_STATE_HOME", state_dir, 1);
}

static int teardown(void **state)
{
    char cmd[400];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void save(const char *server, const char *game, const char *name)
{
    struct token_record rec = {.seat = 2};
    struct felt_err err;
    snprintf(rec.player_id, sizeof(rec.player_id), "p_%s", name);
    snprintf(rec.token, sizeof(rec.token), "tok-%s-%s", game, name);
    assert_int_equal(token_save(server, game, name, &rec, &err), 0);
}

/* Sets the file's mtime to now - days_ago days. */
static void age(const char *server, const char *game, const char *name, int days_ago)
{
    char path[4096];
    struct felt_err err;
    assert_int_equal(token_path(server, game, name, path, sizeof(path), &err), 0);
    struct timespec ts[2];
    ts[0].tv_sec = ts[1].tv_sec = time(NULL) - (time_t)days_ago * DAY;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static bool exists(const char *server, const char *game, const char *name)
{
    char path[4096];
    struct felt_err err;
    assert_int_equal(token_path(server, game, name, path, sizeof(path), &err), 0);
    return access(path, F_OK) == 0;
}

static bool exists_in_dir(const char *file)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/felt/%s", state_dir, file);
    struct stat st;
    return lstat(path, &st) == 0;
}

static void touch_in_dir(const char *file, int days_ago)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/felt/%s", state_dir, file);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{}\n", f);
    assert_int_equal(fclose(f), 0);
    struct timespec ts[2];
    ts[0].tv_sec = ts[1].tv_sec = time(NULL) - (time_t)days_ago * DAY;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void test_save_load(void **state)
{
    struct token_record rec;
    struct felt_err err;
    (void)state;
    assert_int_equal(token_load("ws://a:1", "main", "ann", &rec, &err), 0);
    save("ws://a:1", "main", "ann");
    assert_int_equal(token_load("ws://a:1", "main", "ann", &rec, &err), 1);
    assert_string_equal(rec.player_id, "p_ann");
    assert_string_equal(rec.token, "tok-main-ann");
    assert_int_equal(rec.seat, 2);
    assert_int_equal(token_remove("ws://a:1", "main", "ann", &err), 0);
    assert_false(exists("ws://a:1", "main", "ann"));
}

/* A load is a sighting: the file's mtime becomes now, so the server is kept. */
static void test_load_marks_seen(void **state)
{
    struct token_record rec;
    struct felt_err err;
    int removed = -1;
    (void)state;
    save("ws://seen:1", "main", "ann");
    age("ws://seen:1", "main", "ann", 40);
    assert_int_equal(token_load("ws://seen:1", "main", "ann", &rec, &err), 1);
    assert_int_equal(
        token_prune("ws://other:1", (int64_t)time(NULL), TOKEN_PRUNE_DAYS, &removed, &err), 0);
    assert_int_equal(removed, 0);
    assert_true(exists("ws://seen:1", "main", "ann"));
    assert_int_equal(token_remove("ws://seen:1", "main", "ann", &err), 0);
}

static void test_prune(void **state)
{
    struct felt_err err;
    int removed = -1;
    (void)state;
    /* old: one server not seen for 40 days (two seats there). */
    save("ws://old.example:8000", "main", "ann");
    save("ws://old.example:8000", "side", "ann+bob");
    age("ws://old.example:8000", "main", "ann", 40);
    age("ws://old.example:8000", "side", "ann+bob", 31);
    /* mixed: one seat old, another used 3 days ago: the server was seen, both stay. */
    save("ws://mixed:8000", "main", "ann");
    save("ws://mixed:8000", "other", "ann");
    age("ws://mixed:8000", "main", "ann", 90);
    age("ws://mixed:8000", "other", "ann", 3);
    /* current: not seen for a year, but it is the server felt is starting with. */
    save("ws://127.0.0.1:8000", "main", "ann");
    age("ws://127.0.0.1:8000", "main", "ann", 365);
    /* A server whose URL is a prefix of the current one's is a different server. */
    save("ws://127.0.0.1:800", "main", "ann");
    age("ws://127.0.0.1:800", "main", "ann", 365);
    /* fresh: 29 days. */
    save("wss://fresh:443", "main", "ann");
    age("wss://fresh:443", "main", "ann", 29);
    /* Leftovers and strangers in the directory. */
    touch_in_dir("ws_3a_2f_2fold.example_3a8000+main+ann.json.1234.tmp", 40); /* ours: goes */
    touch_in_dir("notes.txt", 400);                                           /* not ours */
    touch_in_dir("ws_3a_2f_2fgone_3a1+main.json", 400); /* one '+': not ours */
    touch_in_dir("ws_3a_2f_2fgone_3a1+main+x.json.bak", 400);
    char link[512];
    snprintf(link, sizeof(link), "%s/felt/ws_3a_2f_2flink_3a1+main+ann.json", state_dir);
    assert_int_equal(symlink("/nonexistent", link), 0);
    char sub[512];
    snprintf(sub, sizeof(sub), "%s/felt/ws_3a_2f_2fdir_3a1+main+ann.json", state_dir);
    assert_int_equal(mkdir(sub, 0700), 0);

    assert_int_equal(
        token_prune("ws://127.0.0.1:8000", (int64_t)time(NULL), TOKEN_PRUNE_DAYS, &removed, &err),
        0);
    assert_int_equal(removed, 4); /* old's two, its .tmp, and 127.0.0.1:800 */
    assert_false(exists("ws://old.example:8000", "main", "ann"));
    assert_false(exists("ws://old.example:8000", "side", "ann+bob"));
    assert_false(exists_in_dir("ws_3a_2f_2fold.example_3a8000+main+ann.json.1234.tmp"));
    assert_false(exists("ws://127.0.0.1:800", "main", "ann"));
    assert_true(exists("ws://mixed:8000", "main", "ann"));
    assert_true(exists("ws://mixed:8000", "other", "ann"));
    assert_true(exists("ws://127.0.0.1:8000", "main", "ann"));
    assert_true(exists("wss://fresh:443", "main", "ann"));
    assert_true(exists_in_dir("notes.txt"));
    assert_true(exists_in_dir("ws_3a_2f_2fgone_3a1+main.json"));
    assert_true(exists_in_dir("ws_3a_2f_2fgone_3a1+main+x.json.bak"));
    assert_true(exists_in_dir("ws_3a_2f_2flink_3a1+main+ann.json"));
    assert_true(exists_in_dir("ws_3a_2f_2fdir_3a1+main+ann.json"));

    /* Nothing left to do: a second run removes nothing. With no server to keep, the current
     * one's year-old file goes too. */
    assert_int_equal(
        token_prune("ws://127.0.0.1:8000", (int64_t)time(NULL), TOKEN_PRUNE_DAYS, &removed, &err),
        0);
    assert_int_equal(removed, 0);
    assert_int_equal(token_prune(NULL, (int64_t)time(NULL), TOKEN_PRUNE_DAYS, &removed, &err), 0);
    assert_int_equal(removed, 1);
    assert_false(exists("ws://127.0.0.1:8000", "main", "ann"));
    rmdir(sub);
    unlink(link);
}

static void test_prune_no_dir(void **state)
{
    struct felt_err err;
    int removed = -1;
    char saved[256];
    (void)state;
    snprintf(saved, sizeof(saved), "%s", state_dir);
    char missing[300];
    snprintf(missing, sizeof(missing), "%s/nothing-here", state_dir);
    assert_int_equal(setenv("XDG_STATE_HOME", missing, 1), 0);
    assert_int_equal(token_prune("ws://a:1", (int64_t)time(NULL), TOKEN_PRUNE_DAYS, &removed, &err),
                     0);
    assert_int_equal(removed, 0);
    assert_int_equal(setenv("XDG_STATE_HOME", saved, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_load_marks_seen),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_prune_no_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
