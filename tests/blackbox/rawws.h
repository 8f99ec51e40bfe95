/*
 * rawws.h: a raw WebSocket client over a plain blocking socket, for the hostile-client and
 * slow-consumer tests only: it does what a well-behaved client (wsclient/) never does -
 * stop reading entirely, flood the server, send invalid UTF-8, oversized or binary frames - so
 * the test controls every byte. The handshake is written by hand (RFC 6455 section 4.1),
 * frames from us are masked, frames from the server are parsed without extensions (no
 * permessage-deflate is offered). Loopback only.
 */
#ifndef FELT_BB_RAWWS_H
#define FELT_BB_RAWWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RAWWS_TEXT 0x1
#define RAWWS_BINARY 0x2
#define RAWWS_CLOSE 0x8
#define RAWWS_PING 0x9
#define RAWWS_PONG 0xa

/* Connects to 127.0.0.1:port and upgrades path with sub-protocol felt.v1. Returns the socket
 * (blocking), or -1; *status gets the HTTP status of the answer (101 on success, 0 if none). */
int rawws_connect(int port, const char *path, int *status);

/* Sets a socket's receive buffer (before it fills), so a non-reader fills up sooner. */
void rawws_small_rcvbuf(int fd, int bytes);

/* Appends one masked client frame (FIN set) to out (NULL or a buffer this function grew). */
void rawws_frame(unsigned char **out, size_t *len, int opcode, const void *payload, size_t n);
/* Writes one masked frame; blocks until written. Returns 0 or -1. */
int rawws_send(int fd, int opcode, const void *payload, size_t n);
static inline int rawws_send_text(int fd, const char *s, size_t n)
{
    return rawws_send(fd, RAWWS_TEXT, s, n);
}

/* Incremental parser of server frames. */
struct rawws_reader {
    unsigned char *buf;
    size_t len, cap;
};

struct rawws_msg {
    int opcode;
    char *data; /* malloc'd, NUL-terminated */
    size_t len;
    int close_code; /* RAWWS_CLOSE: the code (0 if none) */
};

/* Takes the next complete frame out of r (1), or says one is not complete yet (0). */
int rawws_parse(struct rawws_reader *r, struct rawws_msg *m);
/* Reads from fd into r (a non-blocking read if fd is non-blocking). Returns bytes read, 0 at
 * EOF, -1 on error (EAGAIN included). */
ssize_t rawws_fill(struct rawws_reader *r, int fd);
/* Waits up to timeout_ms for the next frame. Returns 1 (m filled), 0 at EOF or timeout, -1 on
 * error. */
int rawws_recv(int fd, struct rawws_reader *r, struct rawws_msg *m, int timeout_ms);
void rawws_msg_free(struct rawws_msg *m);
void rawws_reader_free(struct rawws_reader *r);

#endif
