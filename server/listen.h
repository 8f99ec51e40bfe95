/*
 * listen.h: feltd's listening socket (listen.c): bind, or one clear line saying why not.
 */
#ifndef FELT_LISTEN_H
#define FELT_LISTEN_H

#include <stddef.h>

struct listen_info {
    int family;          /* AF_INET or AF_INET6 */
    int port;            /* the port bound (the one the kernel chose for port 0) */
    char url_host[300];  /* the host as it goes in a URL (an IPv6 address in brackets) */
};

/* Resolves host, binds the first of its addresses that can be bound to port and listens on it
 * (non-blocking, close-on-exec). Returns the descriptor, or -1 with msg set to one line such as
 * "port 8000 is in use (is another feltd running?)". */
int listen_open(const char *host, int port, int backlog, struct listen_info *out, char *msg,
                size_t msglen);

#endif
