/*
 * rawws.c: the raw WebSocket client of the hostile-client and slow-consumer tests (rawws.h).
 * Plain sockets; every wait is bounded by poll() timeouts.
 */
#include "rawws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define RAWWS_HANDSHAKE_MS 10000

static uint32_t rawws_rand_state = 0x9e3779b9u;

static uint32_t rawws_rand(void)
{
    uint32_t x = rawws_rand_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rawws_rand_state = x;
}

static int rawws_write_all(int fd, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int rawws_connect(int port, const char *path, int *status)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    struct sockaddr_in a;
    char key[25], req[1024], resp[2048];
    size_t rlen = 0;
    int one = 1;
    *status = 0;
    /* 16 random bytes, base64: 22 characters and "==". */
    for (int i = 0; i < 22; i++)
        key[i] = b64[rawws_rand() % 64];
    key[21] = b64[(rawws_rand() % 4) * 16]; /* the last character holds 2 bits */
    key[22] = key[23] = '=';
    key[24] = '\0';
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) goto fail;
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: felt.v1\r\n\r\n",
                     path, port, key);
    if (rawws_write_all(fd, req, (size_t)n) != 0) goto fail;
    /* Read the answer's head byte by byte, so no frame after it is consumed here. */
    while (rlen < sizeof(resp) - 1) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, RAWWS_HANDSHAKE_MS) <= 0 || read(fd, resp + rlen, 1) != 1) goto fail;
        rlen++;
        if (rlen >= 4 && memcmp(resp + rlen - 4, "\r\n\r\n", 4) == 0) break;
    }
    resp[rlen] = '\0';
    if (strncmp(resp, "HTTP/1.", 7) == 0 && resp[8] == ' ') *status = atoi(resp + 9);
    if (*status != 101) goto fail;
    return fd;
fail:
    close(fd);
    return -1;
}

void rawws_small_rcvbuf(int fd, int bytes)
{
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

void rawws_frame(unsigned char **out, size_t *len, int opcode, const void *payload, size_t n)
{
    unsigned char hdr[14];
    size_t h = 0;
    uint32_t mask = rawws_rand();
    hdr[h++] = (unsigned char)(0x80 | (opcode & 0x0f));
    if (n < 126) {
        hdr[h++] = (unsigned char)(0x80 | n);
    } else if (n < 65536) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(n >> 8);
        hdr[h++] = (unsigned char)n;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    memcpy(hdr + h, &mask, 4);
    h += 4;
    /* Buffers are always a power of two long, so appending many frames costs linear time. */
    size_t cap = 64, need = *len + h + n;
    while (cap < *len)
        cap *= 2;
    if (!*out || cap < need) {
        while (cap < need)
            cap *= 2;
        *out = xrealloc(*out, cap);
    }
    memcpy(*out + *len, hdr, h);
    const unsigned char *p = payload, *mk = hdr + h - 4;
    for (size_t i = 0; i < n; i++)
        (*out)[*len + h + i] = p[i] ^ mk[i % 4];
    *len += h + n;
}

int rawws_send(int fd, int opcode, const void *payload, size_t n)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    rawws_frame(&buf, &len, opcode, payload, n);
    int rc = rawws_write_all(fd, buf, len);
    free(buf);
    return rc;
}

int rawws_parse(struct rawws_reader *r, struct rawws_msg *m)
{
    const unsigned char *b = r->buf;
    size_t h = 2;
    uint64_t n;
    memset(m, 0, sizeof(*m));
    if (r->len < 2) return 0;
    n = b[1] & 0x7f;
    if (n == 126) {
        if (r->len < 4) return 0;
        n = (uint64_t)b[2] << 8 | b[3];
        h = 4;
    } else if (n == 127) {
        if (r->len < 10) return 0;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | b[2 + i];
        h = 10;
    }
    if (b[1] & 0x80) h += 4; /* a server never masks; tolerate it anyway */
    if (r->len < h + n) return 0;
    m->opcode = b[0] & 0x0f;
    m->len = (size_t)n;
    m->data = xmalloc(m->len + 1);
    memcpy(m->data, b + h, m->len);
    if (b[1] & 0x80)
        for (size_t i = 0; i < m->len; i++)
            m->data[i] ^= (char)b[h - 4 + i % 4];
    m->data[m->len] = '\0';
    if (m->opcode == RAWWS_CLOSE && m->len >= 2)
        m->close_code = (unsigned char)m->data[0] << 8 | (unsigned char)m->data[1];
    memmove(r->buf, r->buf + h + n, r->len - h - (size_t)n);
    r->len -= h + (size_t)n;
    return 1;
}

ssize_t rawws_fill(struct rawws_reader *r, int fd)
{
    if (r->cap - r->len < 65536) {
        r->cap = r->cap ? r->cap * 2 : 131072;
        r->buf = xrealloc(r->buf, r->cap);
    }
    ssize_t n = read(fd, r->buf + r->len, r->cap - r->len);
    if (n > 0) r->len += (size_t)n;
    return n;
}

int rawws_recv(int fd, struct rawws_reader *r, struct rawws_msg *m, int timeout_ms)
{
    int64_t deadline = felt_mono_us() / 1000 + timeout_ms;
    for (;;) {
        if (rawws_parse(r, m)) return 1;
        int64_t left = deadline - felt_mono_us() / 1000;
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (left <= 0) return 0;
        int p = poll(&pf, 1, (int)left);
        if (p < 0 && errno == EINTR) continue;
        if (p <= 0) return p;
        ssize_t n = rawws_fill(r, fd);
        if (n == 0) return 0;
        if (n < 0 && errno != EINTR && errno != EAGAIN) return -1;
    }
}

void rawws_msg_free(struct rawws_msg *m)
{
    free(m->data);
    memset(m, 0, sizeof(*m));
}

void rawws_reader_free(struct rawws_reader *r)
{
    free(r->buf);
    memset(r, 0, sizeof(*r));
}
