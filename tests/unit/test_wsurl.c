/*
 * test_wsurl.c: the client side's one URL parser (wsclient/wsurl.c), used by WebSocket
 * connections, HTTP requests and felt's --server: the four schemes, hosts (names, IPv4,
 * bracketed IPv6), default and explicit ports, paths, and the URLs it must refuse with a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wsclient.h"

static void test_schemes_and_ports(void **state)
{
    struct wsurl u;
    char err[160];
    (void)state;
    assert_int_equal(wsurl_parse(&u, "ws://example.org", err, sizeof(err)), 0);
    assert_false(u.tls);
    assert_false(u.http);
    assert_string_equal(u.host, "example.org");
    assert_int_equal(u.port, 80);
    assert_string_equal(u.path, "");

    assert_int_equal(wsurl_parse(&u, "wss://example.org", err, sizeof(err)), 0);
    assert_true(u.tls);
    assert_false(u.http);
    assert_int_equal(u.port, 443);

    assert_int_equal(wsurl_parse(&u, "http://127.0.0.1:8000/api/games?x=1", err, sizeof(err)), 0);
    assert_false(u.tls);
    assert_true(u.http);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 8000);
    assert_string_equal(u.path, "/api/games?x=1");
    assert_int_equal(u.authority_len, strlen("127.0.0.1:8000"));
    assert_memory_equal(u.authority, "127.0.0.1:8000", u.authority_len);

    assert_int_equal(wsurl_parse(&u, "https://felt.example:65535/", err, sizeof(err)), 0);
    assert_true(u.tls);
    assert_true(u.http);
    assert_int_equal(u.port, 65535);
    assert_string_equal(u.path, "/");
}

static void test_ipv6(void **state)
{
    struct wsurl u;
    char err[160];
    (void)state;
    assert_int_equal(wsurl_parse(&u, "ws://[::1]:9000/ws/spectate/main", err, sizeof(err)), 0);
    assert_string_equal(u.host, "::1"); /* without the brackets */
    assert_int_equal(u.port, 9000);
    assert_memory_equal(u.authority, "[::1]:9000", u.authority_len); /* as written */
    assert_string_equal(u.path, "/ws/spectate/main");
    assert_int_equal(wsurl_parse(&u, "wss://[2001:db8::2]", err, sizeof(err)), 0);
    assert_string_equal(u.host, "2001:db8::2");
    assert_int_equal(u.port, 443);
}

/* Each must be refused, with a reason that quotes the URL. */
static void test_refused(void **state)
{
    static const char *const bad[] = {
        "",                       /* nothing */
        "ftp://example.org",      /* scheme */
        "example.org:8000",       /* no scheme */
        "ws://",                  /* no host */
        "ws://:8000",             /* no host */
        "ws://[]:1",              /* empty IPv6 host */
        "ws://[::1",              /* unterminated bracket */
        "ws://[::g]",             /* not an IPv6 address */
        "ws://exa mple.org",      /* space in the host */
        "ws://example.org:0",     /* port 0 */
        "ws://example.org:65536", /* port too big */
        "ws://example.org:80x",   /* not a number */
        "ws://example.org:",      /* empty port */
        "ws://ex_ample.org",      /* '_' is not a host character */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct wsurl u;
        char err[160] = "";
        if (wsurl_parse(&u, bad[i], err, sizeof(err)) != -1) fail_msg("'%s' was accepted", bad[i]);
        if (err[0] == '\0') fail_msg("'%s' was refused without a reason", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schemes_and_ports),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
