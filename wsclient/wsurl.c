/*
 * wsurl.c: the one URL parser of felt's client side (contract in wsclient.h). WebSocket
 * connections (wsconn.c), HTTP requests (wshttp.c) and the session's --server option
 * (client-tui/session.c, which adds its own rule that the path be empty or "/") all parse here,
 * so a URL that one accepts the others read the same way.
 *
 * Deliberately strict and small: four schemes, a host that is a DNS name, an IPv4 address or a
 * bracketed IPv6 address, and a decimal port. It does not call lws_parse_uri (which works in place
 * and accepts anything): every reason for a refusal is one line naming the URL, shown to the user
 * as it is. No socket, no allocation. wsurl_usable adds the one rule that is about safety rather
 * than form (no TLS to an IPv6 address: wsclient.h says why).
 */
#include <stdio.h>
#include <string.h>

#include "wsclient_internal.h"

static const struct {
    const char *scheme;
    bool tls, http;
    int port;
} wsurl_schemes[] = {
    {"ws://", false, false, 80},
    {"wss://", true, false, 443},
    {"http://", false, true, 80},
    {"https://", true, true, 443},
};

/* The reason for a refusal: at most 60 bytes of the URL, quoted, then why. Returns -1. */
static int wsurl_fail(char *errbuf, size_t errlen, const char *why, const char *url)
{
    if (errbuf && errlen) snprintf(errbuf, errlen, "'%.60s'%s", url, why);
    return -1;
}

/* Parses the decimal port in [p, end). Returns it, or -1. */
static int wsurl_port(const char *p, const char *end)
{
    long v = 0;
    const char *c = p;
    for (; c < end && *c >= '0' && *c <= '9' && v <= 65535; c++)
        v = v * 10 + (*c - '0');
    return c != end || c == p || v < 1 || v > 65535 ? -1 : (int)v;
}

int wsurl_parse(struct wsurl *u, const char *url, char *errbuf, size_t errlen)
{
    const char *rest = NULL, *port = NULL, *host, *host_end;
    size_t i;

    memset(u, 0, sizeof(*u));
    if (!url) url = "";
    for (i = 0; i < FELT_ARRAY_LEN(wsurl_schemes); i++)
        if (strncmp(url, wsurl_schemes[i].scheme, strlen(wsurl_schemes[i].scheme)) == 0) {
            rest = url + strlen(wsurl_schemes[i].scheme);
            break;
        }
    if (!rest) return wsurl_fail(errbuf, errlen, " is not a ws:// or wss:// URL", url);
    size_t hl = strcspn(rest, "/?#");
    if (hl == 0 || hl > 255) return wsurl_fail(errbuf, errlen, " has no host", url);
    if (rest[0] == '[') {
        const char *close = memchr(rest, ']', hl);
        if (!close) return wsurl_fail(errbuf, errlen, ": unterminated [IPv6] host", url);
        for (const char *c = rest + 1; c < close; c++)
            if (!strchr("0123456789abcdefABCDEF:.", *c))
                return wsurl_fail(errbuf, errlen, ": bad IPv6 address", url);
        if (close + 1 < rest + hl) {
            if (close[1] != ':') return wsurl_fail(errbuf, errlen, ": bad host", url);
            port = close + 2;
        }
        host = rest + 1;
        host_end = close;
        if (host == host_end) return wsurl_fail(errbuf, errlen, " has no host", url);
    } else {
        const char *colon = memchr(rest, ':', hl);
        host = rest;
        host_end = colon ? colon : rest + hl;
        if (host_end == host) return wsurl_fail(errbuf, errlen, " has no host", url);
        for (const char *c = host; c < host_end; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '.' || *c == '-'))
                return wsurl_fail(errbuf, errlen, ": bad host name", url);
        if (colon) port = colon + 1;
    }
    u->port = wsurl_schemes[i].port;
    if (port && (u->port = wsurl_port(port, rest + hl)) < 0)
        return wsurl_fail(errbuf, errlen, ": bad port", url);
    u->tls = wsurl_schemes[i].tls;
    u->http = wsurl_schemes[i].http;
    memcpy(u->host, host, (size_t)(host_end - host));
    u->host[host_end - host] = '\0';
    u->authority = rest;
    u->authority_len = hl;
    u->path = rest + hl;
    return 0;
}

int wsurl_usable(const struct wsurl *u, const char *url, char *errbuf, size_t errlen)
{
    if (u->tls && strchr(u->host, ':'))
        return wsurl_fail(errbuf, errlen,
                          ": TLS to an IPv6 address is not supported (its certificate could "
                          "not be checked); use a host name",
                          url);
    return 0;
}
