/* SPDX-License-Identifier: Apache-2.0 */
#include "net_peer_lib.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define ETH_HLEN      14
#define ETHERTYPE_IP  0x0800
#define ETHERTYPE_ARP 0x0806
#define ARP_LEN       28 /* Ethernet/IPv4 ARP (RFC 826) */
#define IP_MIN_HLEN   20
#define ICMP_ECHO     8
#define ICMP_REPLY    0

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void np_init(struct np_peer *p, const uint8_t ip[4])
{
    static const uint8_t mac[6] = {NP_MAC_BYTES};
    memset(p, 0, sizeof(*p));
    memcpy(p->mac, mac, 6);
    memcpy(p->ip, ip, 4);
}

uint16_t np_csum(const uint8_t *data, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < len; i++) {
        sum += i % 2 ? data[i] : (uint32_t)data[i] << 8;
        if (sum > 0xffff) /* folded as we go: no overflow for any length */
            sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

static void eth_header(uint8_t *out, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
    memcpy(out, dst, 6);
    memcpy(out + 6, src, 6);
    put_be16(out + 12, type);
}

/* An ARP request for our address (RFC 826): the reply swaps sender and target. */
static size_t answer_arp(struct np_peer *p, const uint8_t *f, size_t len, uint8_t *out)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (len < ETH_HLEN + ARP_LEN)
        return 0;
    if (memcmp(f, bcast, 6) != 0 && memcmp(f, p->mac, 6) != 0)
        return 0;
    const uint8_t *a = f + ETH_HLEN;
    /* Ethernet hardware, IPv4 protocol, 6- and 4-byte addresses, a request. */
    if (be16(a) != 1 || be16(a + 2) != ETHERTYPE_IP || a[4] != 6 || a[5] != 4 || be16(a + 6) != 1)
        return 0;
    if (memcmp(a + 24, p->ip, 4) != 0)
        return 0;
    eth_header(out, f + 6, p->mac, ETHERTYPE_ARP);
    uint8_t *r = out + ETH_HLEN;
    memcpy(r, a, 6); /* htype, ptype, hlen, plen as asked */
    put_be16(r + 6, 2);
    memcpy(r + 8, p->mac, 6);
    memcpy(r + 14, p->ip, 4);
    memcpy(r + 18, a + 8, 10); /* the asker's hardware and protocol address */
    p->arp_replies++;
    return ETH_HLEN + ARP_LEN;
}

/* An ICMP echo request to our address (RFC 791, RFC 792), every checksum checked. */
static size_t answer_ipv4(struct np_peer *p, const uint8_t *f, size_t len, uint8_t *out)
{
    if (memcmp(f, p->mac, 6) != 0)
        return 0;
    const uint8_t *ip = f + ETH_HLEN;
    size_t avail = len - ETH_HLEN;
    if (avail < IP_MIN_HLEN || ip[0] >> 4 != 4)
        return 0;
    size_t ihl = (size_t)(ip[0] & 15) * 4, total = be16(ip + 2);
    /* Bytes past the total length are link padding; fewer are a cut packet. */
    if (ihl < IP_MIN_HLEN || total < ihl + 8 || total > avail)
        return 0;
    if (np_csum(ip, ihl) != 0)
        return 0;
    if ((be16(ip + 6) & 0x3fff) != 0) /* a fragment: not reassembled here */
        return 0;
    if (ip[9] != 1 || memcmp(ip + 16, p->ip, 4) != 0)
        return 0;
    const uint8_t *icmp = ip + ihl;
    size_t icmp_len = total - ihl;
    if (icmp[0] != ICMP_ECHO || icmp[1] != 0 || np_csum(icmp, icmp_len) != 0)
        return 0;

    eth_header(out, f + 6, p->mac, ETHERTYPE_IP);
    uint8_t *rip = out + ETH_HLEN, *ricmp = rip + IP_MIN_HLEN;
    /* A header of our own, without the request's options. */
    memset(rip, 0, IP_MIN_HLEN);
    rip[0] = 0x45;
    rip[1] = ip[1];
    put_be16(rip + 2, (uint16_t)(IP_MIN_HLEN + icmp_len));
    memcpy(rip + 4, ip + 4, 2); /* the identification: any value does */
    rip[8] = 64;
    rip[9] = 1;
    memcpy(rip + 12, p->ip, 4);
    memcpy(rip + 16, ip + 12, 4);
    put_be16(rip + 10, np_csum(rip, IP_MIN_HLEN));
    /* Same identifier, sequence number and data; a checksum of its own. */
    memcpy(ricmp, icmp, icmp_len);
    ricmp[0] = ICMP_REPLY;
    ricmp[2] = ricmp[3] = 0;
    put_be16(ricmp + 2, np_csum(ricmp, icmp_len));
    p->echo_replies++;
    return ETH_HLEN + IP_MIN_HLEN + icmp_len;
}

size_t np_handle(struct np_peer *p, const uint8_t *frame, size_t len, uint8_t *out)
{
    p->frames++;
    if (len < ETH_HLEN || len > NP_FRAME_MAX)
        return 0;
    switch (be16(frame + 12)) {
    case ETHERTYPE_ARP:
        return answer_arp(p, frame, len, out);
    case ETHERTYPE_IP:
        return answer_ipv4(p, frame, len, out);
    default:
        return 0;
    }
}

int np_open_dgram(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(a.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    unlink(path);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static volatile sig_atomic_t np_stop;

static void on_signal(int sig)
{
    (void)sig;
    np_stop = 1;
}

/*
 * Wait for fd with the stop signals let through only here (ppoll), so that
 * one arriving between a check of np_stop and the wait is not missed.
 * Returns 1 when fd is ready, 0 when told to stop, -1 on an error.
 */
static int wait_fd(int fd, short events, const sigset_t *waitmask)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    for (;;) {
        if (np_stop)
            return 0;
        int r = ppoll(&pfd, 1, NULL, waitmask);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR) {
            perror("net-peer: ppoll");
            return -1;
        }
    }
}

/* 1 when all was sent, 0 when the other side is gone or we were told to stop, -1 on an error. */
static int send_all(int fd, const uint8_t *b, size_t n, const sigset_t *waitmask)
{
    while (n) {
        ssize_t w = send(fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) {
            b += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(fd, POLLOUT, waitmask);
            if (r <= 0)
                return r;
        } else if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            return 0;
        } else if (w < 0 && errno != EINTR) {
            perror("net-peer: send");
            return -1;
        }
    }
    return 1;
}

/* in: 4 + NP_FRAME_MAX bytes, so that a whole frame with its prefix always fits. */
static int serve_stream(struct np_peer *p, int fd, const sigset_t *waitmask, uint8_t *in,
                        uint8_t *out)
{
    const size_t cap = 4 + NP_FRAME_MAX;
    size_t have = 0;
    uint64_t skip = 0; /* bytes still to drop of a frame too long to take */
    for (;;) {
        int r = wait_fd(fd, POLLIN, waitmask);
        if (r <= 0)
            return r;
        ssize_t n = recv(fd, in + have, cap - have, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            if (errno == ECONNRESET)
                return 0;
            perror("net-peer: recv");
            return -1;
        }
        if (n == 0) {
            if (have || skip)
                fprintf(stderr, "net-peer: the stream ended inside a frame\n");
            return 0;
        }
        have += (size_t)n;
        size_t off = 0;
        for (;;) {
            if (skip) {
                size_t d = have - off < skip ? have - off : (size_t)skip;
                off += d;
                skip -= d;
                if (skip)
                    break;
            }
            if (have - off < 4)
                break;
            const uint8_t *pre = in + off;
            uint32_t len =
                (uint32_t)pre[0] << 24 | (uint32_t)pre[1] << 16 | (uint32_t)pre[2] << 8 | pre[3];
            if (len > NP_FRAME_MAX) {
                p->frames++;
                skip = len;
                off += 4;
                continue;
            }
            if (have - off - 4 < len)
                break;
            size_t rlen = np_handle(p, in + off + 4, len, out + 4);
            off += 4 + (size_t)len;
            if (rlen) {
                out[0] = (uint8_t)(rlen >> 24);
                out[1] = (uint8_t)(rlen >> 16);
                out[2] = (uint8_t)(rlen >> 8);
                out[3] = (uint8_t)rlen;
                r = send_all(fd, out, 4 + rlen, waitmask);
                if (r <= 0)
                    return r;
            }
        }
        memmove(in, in + off, have - off);
        have -= off;
    }
}

static int serve_dgram(struct np_peer *p, int fd, const sigset_t *waitmask, uint8_t *in,
                       uint8_t *out)
{
    struct sockaddr_un peer;
    socklen_t peer_len = 0;
    bool told_unbound = false, told_send = false;
    for (;;) {
        int r = wait_fd(fd, POLLIN, waitmask);
        if (r <= 0)
            return r;
        struct sockaddr_un from;
        socklen_t from_len = sizeof(from);
        /* MSG_TRUNC: the real length, so that a cut datagram is not taken for a frame. */
        ssize_t n = recvfrom(fd, in, NP_FRAME_MAX, MSG_DONTWAIT | MSG_TRUNC,
                             (struct sockaddr *)&from, &from_len);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            perror("net-peer: recvfrom");
            return -1;
        }
        if (from_len > sizeof(from))
            from_len = sizeof(from);
        if (!peer_len) {
            /* An unbound sender has no address to answer. */
            if (from_len <= offsetof(struct sockaddr_un, sun_path)) {
                if (!told_unbound)
                    fprintf(stderr, "net-peer: ignoring datagrams from an unbound socket\n");
                told_unbound = true;
                continue;
            }
            peer = from;
            peer_len = from_len;
        } else if (from_len != peer_len || memcmp(&from, &peer, peer_len) != 0) {
            continue; /* not the VMM we serve */
        }
        if ((size_t)n > NP_FRAME_MAX) {
            p->frames++;
            continue;
        }
        size_t rlen = np_handle(p, in, (size_t)n, out);
        if (rlen && sendto(fd, out, rlen, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&peer,
                           peer_len) < 0) {
            /* Like a lossy link: the reply is lost; said once. */
            if (!told_send)
                fprintf(stderr, "net-peer: sendto: %s\n", strerror(errno));
            told_send = true;
        }
    }
}

void np_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    sigprocmask(SIG_BLOCK, &stops, NULL);
}

int np_run(struct np_peer *p, int fd, enum np_mode mode)
{
    np_catch_signals();
    /* The mask while waiting: as now, but with the stop signals let through. */
    sigset_t waitmask;
    sigprocmask(SIG_BLOCK, NULL, &waitmask);
    sigdelset(&waitmask, SIGTERM);
    sigdelset(&waitmask, SIGINT);

    int r = -1;
    uint8_t *in = malloc(4 + NP_FRAME_MAX), *out = malloc(4 + NP_FRAME_MAX);
    if (!in || !out)
        fprintf(stderr, "net-peer: out of memory\n");
    else if (mode == NP_STREAM)
        r = serve_stream(p, fd, &waitmask, in, out);
    else
        r = serve_dgram(p, fd, &waitmask, in, out);
    free(in);
    free(out);
    fprintf(stderr, "net-peer: %lu frames, %lu arp replies, %lu echo replies\n", p->frames,
            p->arp_replies, p->echo_replies);
    return r < 0 ? -1 : 0;
}
