/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guest-net: socket traffic for the vsock and TSI tests, built static with
 * musl so that the same binary runs in test guests and on the host.
 *
 * Every connection exchanges a deterministic byte stream both ways, full
 * duplex: the side that connected sends stream 1 and expects stream 2,
 * the side that accepted sends stream 2 and expects stream 1, BYTES bytes
 * each, then shuts down its sending side and expects end of input. Every
 * byte is checked. Connections run concurrently (poll).
 *
 *   connect  FAMILY ADDR PORT BYTES [COUNT]   COUNT connections at once (default 1)
 *   listen   FAMILY ADDR PORT BYTES [COUNT]   accept COUNT, then exchange with them at once
 *   refused  FAMILY ADDR PORT                 connecting must fail; prints the errno name
 *   udp-ping ADDR PORT MESSAGE                send a datagram, print the answer
 *   udp-echo ADDR PORT COUNT                  answer COUNT datagrams with "echo:" + datagram
 *
 * FAMILY is vsock (ADDR a CID; listen ignores it), unix (ADDR a path, PORT
 * ignored), inet or inet6 (ADDR an IP address; PORT 0 for one the system
 * picks). listen prints "LISTENING" once it listens (for inet and inet6,
 * "LISTENING port N" with the port getsockname() reports); every command
 * prints "ok ..." and exits 0 on success, or a message and 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

struct sockaddr_vm_ {
    sa_family_t svm_family;
    unsigned short svm_reserved1;
    unsigned int svm_port;
    unsigned int svm_cid;
    unsigned char svm_flags;
    unsigned char svm_zero[3];
};

#define MAX_CONNS 1024
#define CHUNK     65536

static void die(const char *what)
{
    fprintf(stderr, "guest-net: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void fail(const char *msg)
{
    fprintf(stderr, "guest-net: %s\n", msg);
    exit(1);
}

/* Byte i of stream s. */
static uint8_t stream_byte(unsigned s, uint64_t i)
{
    uint64_t x = (i >> 3) * 0x9e3779b97f4a7c15ull + s * 0xbf58476d1ce4e5b9ull;
    x ^= x >> 31;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 29;
    return (uint8_t)(x >> ((i & 7) * 8));
}

static void fill(unsigned s, uint64_t off, uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = stream_byte(s, off + i);
}

struct addr {
    struct sockaddr_storage ss;
    socklen_t len;
    int family;
};

static struct addr parse_addr(const char *family, const char *a, const char *port)
{
    struct addr r;
    memset(&r, 0, sizeof(r));
    unsigned p = (unsigned)strtoul(port, NULL, 10);
    if (strcmp(family, "vsock") == 0) {
        struct sockaddr_vm_ *vm = (struct sockaddr_vm_ *)&r.ss;
        vm->svm_family = AF_VSOCK;
        vm->svm_cid = strcmp(a, "any") == 0 ? 0xffffffffu : (unsigned)strtoul(a, NULL, 10);
        vm->svm_port = p;
        r.len = sizeof(*vm);
        r.family = AF_VSOCK;
    } else if (strcmp(family, "unix") == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)&r.ss;
        un->sun_family = AF_UNIX;
        if (strlen(a) >= sizeof(un->sun_path))
            fail("unix path too long");
        strcpy(un->sun_path, a);
        r.len = sizeof(*un);
        r.family = AF_UNIX;
    } else if (strcmp(family, "inet") == 0) {
        struct sockaddr_in *in = (struct sockaddr_in *)&r.ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)p);
        if (inet_pton(AF_INET, a, &in->sin_addr) != 1)
            fail("bad IPv4 address");
        r.len = sizeof(*in);
        r.family = AF_INET;
    } else if (strcmp(family, "inet6") == 0) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&r.ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)p);
        if (inet_pton(AF_INET6, a, &in6->sin6_addr) != 1)
            fail("bad IPv6 address");
        r.len = sizeof(*in6);
        r.family = AF_INET6;
    } else {
        fail("FAMILY is vsock, unix, inet or inet6");
    }
    return r;
}

struct conn {
    int fd;
    bool connecting;
    uint64_t sent, got;
    bool shut, eof;
};

static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Run the exchange on n connections until every one is done. */
static void exchange(struct conn *c, int n, unsigned send_s, unsigned recv_s, uint64_t bytes)
{
    static uint8_t out[CHUNK], in[CHUNK], want[CHUNK];
    static struct pollfd pfd[MAX_CONNS];
    int done = 0;
    time_t start = time(NULL);
    while (done < n) {
        int k = 0;
        for (int i = 0; i < n; i++) {
            pfd[i].fd = -1;
            if (c[i].fd < 0)
                continue;
            pfd[i].fd = c[i].fd;
            pfd[i].events = 0;
            if (c[i].connecting || (!c[i].shut))
                pfd[i].events |= POLLOUT;
            if (!c[i].connecting && !c[i].eof)
                pfd[i].events |= POLLIN;
            k++;
        }
        if (poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR)
            die("poll");
        if (time(NULL) - start > 600)
            fail("exchange timed out");
        for (int i = 0; i < n; i++) {
            struct conn *x = &c[i];
            if (x->fd < 0 || !pfd[i].revents)
                continue;
            if (x->connecting) {
                int err = 0;
                socklen_t l = sizeof(err);
                getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &err, &l);
                if (err) {
                    errno = err;
                    die("connect");
                }
                x->connecting = false;
            }
            if (!x->shut && (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
                size_t m = bytes - x->sent < CHUNK ? (size_t)(bytes - x->sent) : CHUNK;
                if (m) {
                    fill(send_s, x->sent, out, m);
                    ssize_t w = send(x->fd, out, m, MSG_NOSIGNAL);
                    if (w < 0 && errno != EAGAIN)
                        die("send");
                    if (w > 0)
                        x->sent += (uint64_t)w;
                }
                if (x->sent == bytes) {
                    shutdown(x->fd, SHUT_WR);
                    x->shut = true;
                }
            }
            if (!x->eof && (pfd[i].revents & (POLLIN | POLLERR | POLLHUP))) {
                ssize_t r = recv(x->fd, in, sizeof(in), 0);
                if (r < 0 && errno != EAGAIN)
                    die("recv");
                if (r == 0) {
                    x->eof = true;
                    if (x->got != bytes) {
                        fprintf(stderr, "guest-net: connection %d: %llu of %llu bytes, then EOF\n",
                                i, (unsigned long long)x->got, (unsigned long long)bytes);
                        exit(1);
                    }
                } else if (r > 0) {
                    if (x->got + (uint64_t)r > bytes)
                        fail("more bytes than expected");
                    fill(recv_s, x->got, want, (size_t)r);
                    if (memcmp(in, want, (size_t)r) != 0) {
                        fprintf(stderr, "guest-net: connection %d: wrong data at byte %llu\n", i,
                                (unsigned long long)x->got);
                        exit(1);
                    }
                    x->got += (uint64_t)r;
                }
            }
            if (x->shut && x->eof) {
                close(x->fd);
                x->fd = -1;
                done++;
            }
        }
        (void)k;
    }
}

static int open_socket(int family, int type)
{
    int fd = socket(family, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    return fd;
}

static int cmd_connect(const struct addr *a, uint64_t bytes, int count)
{
    static struct conn c[MAX_CONNS];
    for (int i = 0; i < count; i++) {
        c[i] = (struct conn){.fd = open_socket(a->family, SOCK_STREAM)};
        set_nonblock(c[i].fd);
        if (connect(c[i].fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
            if (errno != EINPROGRESS && errno != EAGAIN)
                die("connect");
            c[i].connecting = true;
        }
    }
    exchange(c, count, 1, 2, bytes);
    printf("ok %d connections, %llu bytes each way each\n", count, (unsigned long long)bytes);
    return 0;
}

static int cmd_listen(const struct addr *a, uint64_t bytes, int count)
{
    static struct conn c[MAX_CONNS];
    int l = open_socket(a->family, SOCK_STREAM);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (a->family == AF_UNIX)
        unlink(((const struct sockaddr_un *)&a->ss)->sun_path);
    if (bind(l, (const struct sockaddr *)&a->ss, a->len) < 0)
        die("bind");
    if (listen(l, count > 128 ? count : 128) < 0)
        die("listen");
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    if (a->family != AF_INET && a->family != AF_INET6)
        printf("LISTENING\n");
    else if (getsockname(l, (struct sockaddr *)&bound, &blen) == 0)
        printf("LISTENING port %u\n",
               ntohs(a->family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                          : ((struct sockaddr_in6 *)&bound)->sin6_port));
    else
        die("getsockname");
    fflush(stdout);
    for (int i = 0; i < count; i++) {
        int fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            die("accept");
        set_nonblock(fd);
        c[i] = (struct conn){.fd = fd};
    }
    close(l);
    if (a->family == AF_UNIX)
        unlink(((const struct sockaddr_un *)&a->ss)->sun_path);
    exchange(c, count, 2, 1, bytes);
    printf("ok %d connections, %llu bytes each way each\n", count, (unsigned long long)bytes);
    return 0;
}

static int cmd_refused(const struct addr *a)
{
    int fd = open_socket(a->family, SOCK_STREAM);
    if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == 0)
        fail("connect succeeded");
    const char *name = errno == ECONNRESET     ? "ECONNRESET"
                       : errno == ECONNREFUSED ? "ECONNREFUSED"
                       : errno == ETIMEDOUT    ? "ETIMEDOUT"
                                               : "other";
    printf("ok refused: %s (%s)\n", name, strerror(errno));
    return errno == ECONNRESET || errno == ECONNREFUSED ? 0 : 1;
}

static int cmd_udp_ping(const struct addr *a, const char *msg)
{
    int fd = open_socket(a->family, SOCK_DGRAM);
    char buf[2048];
    for (int tries = 0; tries < 20; tries++) {
        if (sendto(fd, msg, strlen(msg), 0, (const struct sockaddr *)&a->ss, a->len) < 0)
            die("sendto");
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 500) == 1) {
            ssize_t r = recv(fd, buf, sizeof(buf) - 1, 0);
            if (r < 0)
                die("recv");
            buf[r] = 0;
            printf("ok answer: %s\n", buf);
            return 0;
        }
    }
    fail("no answer");
    return 1;
}

static int cmd_udp_echo(const struct addr *a, int count)
{
    int fd = open_socket(a->family, SOCK_DGRAM);
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
        die("bind");
    printf("LISTENING\n");
    fflush(stdout);
    for (int i = 0; i < count; i++) {
        char buf[2048], out[2100];
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t r = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &fl);
        if (r < 0)
            die("recvfrom");
        buf[r] = 0;
        int n = snprintf(out, sizeof(out), "echo:%s", buf);
        if (sendto(fd, out, (size_t)n, 0, (struct sockaddr *)&from, fl) < 0)
            die("sendto");
    }
    printf("ok echoed %d\n", count);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2)
        fail("usage: see the comment at the top of tests/vm/guest-net.c");
    const char *cmd = argv[1];
    if ((strcmp(cmd, "connect") == 0 || strcmp(cmd, "listen") == 0) && argc >= 6) {
        struct addr a = parse_addr(argv[2], argv[3], argv[4]);
        uint64_t bytes = strtoull(argv[5], NULL, 10);
        int count = argc > 6 ? atoi(argv[6]) : 1;
        if (count < 1 || count > MAX_CONNS)
            fail("COUNT is 1..1024");
        return cmd[0] == 'c' ? cmd_connect(&a, bytes, count) : cmd_listen(&a, bytes, count);
    }
    if (strcmp(cmd, "refused") == 0 && argc == 5) {
        struct addr a = parse_addr(argv[2], argv[3], argv[4]);
        return cmd_refused(&a);
    }
    if (strcmp(cmd, "udp-ping") == 0 && argc == 5) {
        struct addr a = parse_addr(strchr(argv[2], ':') ? "inet6" : "inet", argv[2], argv[3]);
        return cmd_udp_ping(&a, argv[4]);
    }
    if (strcmp(cmd, "udp-echo") == 0 && argc == 5) {
        struct addr a = parse_addr(strchr(argv[2], ':') ? "inet6" : "inet", argv[2], argv[3]);
        return cmd_udp_echo(&a, atoi(argv[4]));
    }
    fail("usage: see the comment at the top of tests/vm/guest-net.c");
    return 1;
}
