/*
 * test_chat.c: the chat line editor (readline through its callback interface), without a
 * terminal.
 *
 * Keys go in as ncurses would deliver them (bytes and KEY_* codes), the line comes out through
 * the on_line callback, and the edited line is read back from chat_render() on a virtual row:
 * editing, the arrow keys, history, Esc-style closing, sideways scrolling, and that nothing
 * readline holds (a control character typed with Ctrl-V) reaches a cell.
 */
#include <curses.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chat.h"

static char last_line[1024];
static int lines_seen;
static int redisplays;

static void on_line(void *arg, const char *line)
{
    (void)arg;
    snprintf(last_line, sizeof(last_line), "%s", line);
    lines_seen++;
}

static void on_redisplay(void *arg)
{
    (void)arg;
    redisplays++;
}

static void type(const char *s)
{
    for (; *s; s++)
        chat_key((unsigned char)*s);
}

static int setup(void **state)
{
    (void)state;
    last_line[0] = '\0';
    lines_seen = 0;
    redisplays = 0;
    chat_init(&(struct chat_callbacks){NULL, on_line, on_redisplay});
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    chat_close();
    return 0;
}

/* The row as drawn: prompt and line, trailing spaces dropped. */
static const char *rendered(int width, int *cursor)
{
    static struct layout_grid g;
    static char buf[2048];
    g.utf8 = true;
    layout_grid_resize(&g, width, 1);
    int c = chat_render(&g, (struct layout_rect){0, 0, width, 1});
    if (cursor) *cursor = c;
    layout_row_text(&g, 0, 0, width, buf, sizeof(buf));
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == ' ')
        buf[--n] = '\0';
    return buf;
}

static void test_type_and_enter(void **state)
{
    (void)state;
    chat_open("say: ");
    assert_true(chat_is_open());
    type("hello");
    assert_string_equal(rendered(40, NULL), "say: hello");
    assert_true(redisplays > 0);
    chat_key('\r');
    assert_int_equal(lines_seen, 1);
    assert_string_equal(last_line, "hello");
    assert_false(chat_is_open());
}

static void test_arrow_keys_and_emacs_keys_edit(void **state)
{
    int cursor;
    (void)state;
    chat_open("say: ");
    type("helo");
    chat_key(KEY_LEFT);
    chat_key('l');
    assert_string_equal(rendered(40, &cursor), "say: hello");
    assert_int_equal(cursor, 5 + 4); /* after "hell" */
    chat_key(KEY_HOME);
    chat_key('>');
    chat_key(KEY_END);
    chat_key('!');
    chat_key(KEY_BACKSPACE);
    chat_key('?');
    chat_key('A' & 0x1f); /* Ctrl-A: start of line */
    chat_key(KEY_DC);     /* deletes the '>' */
    chat_key(KEY_ENTER);
    assert_int_equal(lines_seen, 1);
    assert_string_equal(last_line, "hello?");
}

static void test_history_with_up_arrow(void **state)
{
    (void)state;
    chat_open("say: ");
    type("first line\r");
    chat_open("say: ");
    type("second\r");
    assert_int_equal(lines_seen, 2);
    chat_open("say: ");
    chat_key(KEY_UP);
    chat_key(KEY_UP);
    assert_string_equal(rendered(40, NULL), "say: first line");
    chat_key(KEY_DOWN);
    assert_string_equal(rendered(40, NULL), "say: second");
    chat_key('\r');
    assert_int_equal(lines_seen, 3);
    assert_string_equal(last_line, "second");
}

static void test_close_discards_the_line(void **state)
{
    (void)state;
    chat_open("say: ");
    type("never sent");
    chat_close();
    assert_false(chat_is_open());
    assert_int_equal(lines_seen, 0);
    chat_open("say: ");
    assert_string_equal(rendered(40, NULL), "say:");
    chat_key('\r'); /* an empty line just closes */
    assert_false(chat_is_open());
    assert_int_equal(lines_seen, 0);
    chat_key('x'); /* keys while closed go nowhere */
    assert_int_equal(lines_seen, 0);
}

static void test_long_line_scrolls_with_the_cursor(void **state)
{
    int cursor;
    char line[201];
    (void)state;
    for (int i = 0; i < 200; i++)
        line[i] = (char)('a' + i % 26);
    line[200] = '\0';
    chat_open("say: ");
    type(line);
    const char *row = rendered(30, &cursor);
    assert_true(cursor >= 5 && cursor < 30);
    /* The end of the line (where the cursor is) is visible, the start is not. */
    size_t n = strlen(row);
    assert_true(n > 15);
    assert_string_equal(row + n - 10, line + 190);
    assert_null(strstr(row, "say: abcdefghij"));
    chat_key('A' & 0x1f);
    row = rendered(30, &cursor);
    assert_int_equal(cursor, 5);
    assert_non_null(strstr(row, "say: abcdefghij"));
    chat_key('\r');
    assert_string_equal(last_line, line);
}

static void test_control_characters_never_drawn(void **state)
{
    (void)state;
    chat_open("say: ");
    type("a");
    chat_key('V' & 0x1f); /* quoted-insert: the next key goes in literally */
    chat_key(27);
    type("[2Jb");
    const char *row = rendered(40, NULL);
    for (const unsigned char *p = (const unsigned char *)row; *p; p++)
        assert_true(*p >= 0x20 && *p != 0x7f);
    assert_string_equal(row, "say: a[2Jb");
    chat_close();
}

static void test_utf8_input(void **state)
{
    int cursor;
    (void)state;
    chat_open("say: ");
    type("caf\xc3\xa9 \xe5\x90\x8d"); /* "café 名", fed byte by byte as ncurses reads it */
    assert_string_equal(rendered(40, &cursor), "say: caf\xc3\xa9 \xe5\x90\x8d");
    assert_int_equal(cursor, 5 + 5 + 2);
    chat_key('\r');
    assert_string_equal(last_line, "caf\xc3\xa9 \xe5\x90\x8d");
}

int main(void)
{
    if (!setlocale(LC_CTYPE, "C.UTF-8") && !setlocale(LC_CTYPE, "en_US.UTF-8")) {
        fprintf(stderr, "test_chat: no UTF-8 locale available\n");
        return 1;
    }
    /* readline reads the user's inputrc: keep the defaults under test. */
    setenv("INPUTRC", "/dev/null", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_type_and_enter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arrow_keys_and_emacs_keys_edit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_with_up_arrow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_discards_the_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line_scrolls_with_the_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_characters_never_drawn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8_input, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    chat_shutdown();
    return rc;
}
