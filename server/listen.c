/*
 * listen.c: feltd's listening socket: resolves the host, binds, listens, and when it cannot,
 * says why in one line a person can act on.
 *
 * feltd listens itself rather than through lws (net.c adopts each accepted socket into lws):
 * lws 4.1.6 cannot stop accepting before the process runs out of descriptors without falling
 * back to a linear search of its descriptor table on every event, reports a host it cannot bind
 * only as a log line while it carries on without a listener, and names a port in use by its
 * descriptor number. Here a host name is resolved (getaddrinfo), each of its addresses tried in
 * turn, and the errors that matter are told apart: a port in use, a port that needs privileges,
 * an address that is not this machine's, a name that does not resolve.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"

/* Why binding addr failed, for people. */
static void listen_explain(int err, const char *host, int port, char *msg, size_t msglen)
{
    switch (err) {
    case EADDRINUSE:
        snprintf(msg, msglen, "port %d is in use (is another feltd running?)", port);
        break;
    case EACCES:
        snprintf(msg, msglen, "port %d needs privileges (ports below 1024 do): pick another with "
                              "--port", port);
        break;
    case EADDRNOTAVAIL:
        snprintf(msg, msglen, "cannot listen on %s: not an address of this machine", host);
        break;
    default:
        snprintf(msg, msglen, "cannot listen on %s port %d: %s", host, port, strerror(err));
        break;
    }
}

int listen_open(const char *host, int port, int backlog, struct listen_info *out, char *msg,
                size_t msglen)
{
    struct addrinfo hints, *res = NULL;
    char portstr[16];
    int fd = -1, err = 0;

    memset(out, 0, sizeof(*out));
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%d", port);
    int gai = getaddrinfo(host && *host ? host : NULL, portstr, &hints, &res);
    if (gai != 0) {
        snprintf(msg, msglen, "cannot resolve the host '%s': %s", host ? host : "",
                 gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        return -1;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0) {
            out->family = ai->ai_family;
            break;
        }
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        listen_explain(err ? err : EADDRNOTAVAIL, host, port, msg, msglen);
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    out->port = port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            out->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            out->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    /* An IPv6 address in a URL goes in brackets; a name or an IPv4 address as given. */
    if (strchr(host, ':'))
        snprintf(out->url_host, sizeof(out->url_host), "[%s]", host);
    else
        snprintf(out->url_host, sizeof(out->url_host), "%s", host);
    return fd;
}
