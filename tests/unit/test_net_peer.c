/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: tests/vm/net_peer_lib.c */
/*
 * The VM tests' network peer (tests/vm/net-peer.c) without a VM: its
 * answers to ARP and ping, byte for byte against frames written here with
 * a checksum of this file's own; what it must ignore; cut and mutated
 * frames; and its two socket loops (stream and datagram) in a child, with
 * the summary line it prints when stopped.
 */
#include "test.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "../vm/net_peer_lib.h"

static const uint8_t peer_ip[4] = {10, 0, 2, 2};
static const uint8_t peer_mac[6] = {0x02, 0x6e, 0x70, 0x65, 0x65, 0x72};
static const uint8_t guest_ip[4] = {10, 0, 2, 15};
static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

/* RFC 1071, written out separately from the peer's: the complement of the folded sum. */
static uint16_t sum16(const uint8_t *p, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint64_t)(p[i] << 8 | p[i + 1]);
    if (n % 2)
        s += (uint64_t)p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* An ARP request from the guest for `target`, padded to Ethernet's 60 bytes. */
static size_t arp_request(uint8_t *f, const uint8_t target[4], bool unicast)
{
    static const uint8_t head[] = {0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01};
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    if (unicast)
        memcpy(f, peer_mac, 6);
    memcpy(f + 6, guest_mac, 6);
    memcpy(f + 12, head, sizeof(head));
    memcpy(f + 22, guest_mac, 6);
    memcpy(f + 28, guest_ip, 4);
    memcpy(f + 38, target, 4);
    return 60;
}

/* The reply, as RFC 826 has it: 42 bytes, no padding. */
static const uint8_t arp_reply[42] = {
    0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x02, 0x6e, 0x70, 0x65, 0x65, 0x72, 0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x6e, 0x70, 0x65, 0x65, 0x72,
    10,   0,    2,    2,    0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 10,   0,    2,    15,
};

/*
 * An echo request from the guest to 10.0.2.2 with `data` bytes of data,
 * `opt` bytes of IP options (a multiple of 4) and `pad` bytes of link
 * padding after the packet.
 */
static size_t echo_request(uint8_t *f, size_t data, size_t opt, size_t pad)
{
    size_t ihl = 20 + opt, total = ihl + 8 + data;
    memcpy(f, peer_mac, 6);
    memcpy(f + 6, guest_mac, 6);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14, *icmp = ip + ihl;
    memset(ip, 0, ihl);
    ip[0] = (uint8_t)(0x40 | ihl / 4);
    put16(ip + 2, (uint16_t)total);
    put16(ip + 4, 0x1c46);
    put16(ip + 6, 0x4000); /* DF, as Linux sends pings */
    ip[8] = 64;
    ip[9] = 1;
    memcpy(ip + 12, guest_ip, 4);
    memcpy(ip + 16, peer_ip, 4);
    for (size_t i = 0; i < opt; i++)
        ip[20 + i] = 1; /* NOP options */
    put16(ip + 10, sum16(ip, ihl));
    icmp[0] = 8;
    icmp[1] = 0;
    icmp[2] = icmp[3] = 0;
    put16(icmp + 4, 0x4d2f); /* identifier */
    put16(icmp + 6, 0x0007); /* sequence number */
    for (size_t i = 0; i < data; i++)
        icmp[8 + i] = (uint8_t)(0x10 + i);
    put16(icmp + 2, sum16(icmp, 8 + data));
    memset(f + 14 + total, 0, pad);
    return 14 + total + pad;
}

/* What the peer must answer to echo_request(data, ...), built independently. */
static size_t echo_reply(uint8_t *f, size_t data)
{
    size_t total = 20 + 8 + data;
    memcpy(f, guest_mac, 6);
    memcpy(f + 6, peer_mac, 6);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14, *icmp = ip + 20;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)total);
    put16(ip + 4, 0x1c46);
    ip[8] = 64;
    ip[9] = 1;
    memcpy(ip + 12, peer_ip, 4);
    memcpy(ip + 16, guest_ip, 4);
    put16(ip + 10, sum16(ip, 20));
    memset(icmp, 0, 8);
    put16(icmp + 4, 0x4d2f);
    put16(icmp + 6, 0x0007);
    for (size_t i = 0; i < data; i++)
        icmp[8 + i] = (uint8_t)(0x10 + i);
    put16(icmp + 2, sum16(icmp, 8 + data));
    return 14 + total;
}

static uint8_t out[NP_FRAME_MAX];

/* np_handle on a copy of exactly len bytes, so that ASan sees any read past it. */
static size_t handle(struct np_peer *p, const uint8_t *f, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, f, len);
    size_t r = np_handle(p, copy, len, out);
    free(copy);
    return r;
}

static void test_csum(void)
{
    /* RFC 1071's example: the sum is 0xddf2. */
    const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CHECK_EQ(np_csum(d, sizeof(d)), 0x220d);
    CHECK_EQ(np_csum(d, 3), (uint16_t) ~(0x0001 + 0xf200));
    static uint8_t ff[NP_FRAME_MAX];
    memset(ff, 0xff, sizeof(ff));
    CHECK_EQ(np_csum(ff, sizeof(ff)), sum16(ff, sizeof(ff)));
}

static void test_arp(void)
{
    struct np_peer p;
    np_init(&p, peer_ip);
    uint8_t f[60];
    size_t len = arp_request(f, peer_ip, false);
    size_t r = handle(&p, f, len);
    CHECK_EQ(r, sizeof(arp_reply));
    CHECK(memcmp(out, arp_reply, sizeof(arp_reply)) == 0);
    /* A unicast request (a neighbour entry being refreshed), and one without padding. */
    arp_request(f, peer_ip, true);
    CHECK_EQ(handle(&p, f, 42), sizeof(arp_reply));
    CHECK(memcmp(out, arp_reply, sizeof(arp_reply)) == 0);
    CHECK_EQ(p.frames, 2u);
    CHECK_EQ(p.arp_replies, 2u);
    CHECK_EQ(p.echo_replies, 0u);
}

static void test_arp_ignored(void)
{
    struct np_peer p;
    np_init(&p, peer_ip);
    uint8_t f[60];
    const uint8_t other[4] = {10, 0, 2, 3};
    arp_request(f, other, false);
    CHECK_EQ(handle(&p, f, 60), 0u); /* someone else's address */
    arp_request(f, peer_ip, false);
    CHECK_EQ(handle(&p, f, 41), 0u); /* cut */
    f[21] = 2;
    CHECK_EQ(handle(&p, f, 60), 0u); /* a reply, not a request */
    arp_request(f, peer_ip, false);
    f[18] = 8;
    CHECK_EQ(handle(&p, f, 60), 0u); /* 8-byte hardware addresses */
    arp_request(f, peer_ip, false);
    f[17] = 0xdd;
    CHECK_EQ(handle(&p, f, 60), 0u); /* IPv6 protocol addresses */
    arp_request(f, peer_ip, false);
    f[0] = 0x52;
    CHECK_EQ(handle(&p, f, 60), 0u); /* to another station */
    CHECK_EQ(p.frames, 6u);
    CHECK_EQ(p.arp_replies, 0u);
}

static void test_echo(void)
{
    static uint8_t f[2000], want[2000];
    struct np_peer p;
    np_init(&p, peer_ip);
    /* Linux's default ping, an odd length, no data, options with link padding. */
    const size_t cases[][3] = {{56, 0, 0}, {57, 0, 0}, {0, 0, 18}, {31, 8, 5}, {1400, 40, 0}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        size_t len = echo_request(f, cases[c][0], cases[c][1], cases[c][2]);
        size_t wlen = echo_reply(want, cases[c][0]);
        size_t r = handle(&p, f, len);
        CHECK_EQ(r, wlen);
        CHECK(memcmp(out, want, wlen) == 0);
        /* The receiver's checks: both sums come out as zero. */
        CHECK_EQ(sum16(out + 14, 20), 0);
        CHECK_EQ(sum16(out + 34, wlen - 34), 0);
    }
    CHECK_EQ(p.echo_replies, 5u);
    CHECK_EQ(p.arp_replies, 0u);
}

static void test_echo_ignored(void)
{
    static uint8_t f[200];
    struct np_peer p;
    np_init(&p, peer_ip);
    unsigned n = 0;
#define IGNORED(edit)                                                                              \
    do {                                                                                           \
        size_t len_ = echo_request(f, 56, 0, 0);                                                   \
        uint8_t *ip = f + 14, *icmp = ip + 20;                                                     \
        (void)icmp;                                                                                \
        edit;                                                                                      \
        CHECK_EQ(handle(&p, f, len_), 0u);                                                         \
        n++;                                                                                       \
    } while (0)
    IGNORED(ip[11] ^= 1);                /* a bad header checksum */
    IGNORED(icmp[40] ^= 1);              /* a bad ICMP checksum */
    IGNORED(ip[19] = 3);                 /* to someone else */
    IGNORED(f[5] = 0x73);                /* to another station */
    IGNORED(memset(f, 0xff, 6));         /* broadcast */
    IGNORED(f[12] = 0x86; f[13] = 0xdd); /* IPv6 */
    IGNORED(ip[6] = 0x20; put16(ip + 10, 0); put16(ip + 10, sum16(ip, 20))); /* MF */
    IGNORED(ip[7] = 0x01; put16(ip + 10, 0); put16(ip + 10, sum16(ip, 20))); /* a later fragment */
    IGNORED(ip[9] = 17; put16(ip + 10, 0); put16(ip + 10, sum16(ip, 20)));   /* UDP */
    IGNORED(ip[0] = 0x44);                                                   /* IHL 4 */
    IGNORED(ip[0] = 0x65);                                                   /* version 6 */
    IGNORED(put16(ip + 2, 85); put16(ip + 10, 0); put16(ip + 10, sum16(ip, 20))); /* cut */
    IGNORED(put16(ip + 2, 27); put16(ip + 10, 0); put16(ip + 10, sum16(ip, 20))); /* no ICMP hdr */
    IGNORED(icmp[0] = 0; put16(icmp + 2, 0); put16(icmp + 2, sum16(icmp, 64)));   /* a reply */
    IGNORED(icmp[1] = 1; put16(icmp + 2, 0); put16(icmp + 2, sum16(icmp, 64)));   /* code 1 */
#undef IGNORED
    CHECK_EQ(p.frames, n);
    CHECK_EQ(p.echo_replies, 0u);
    CHECK_EQ(handle(&p, f, 0), 0u);
    CHECK_EQ(handle(&p, f, 13), 0u);
}

/* Every cut of a request that loses part of it is ignored, and nothing is read past it. */
static void test_cut(void)
{
    static uint8_t f[200];
    struct np_peer p;
    np_init(&p, peer_ip);
    size_t len = echo_request(f, 56, 4, 0);
    for (size_t cut = 0; cut < len; cut++)
        CHECK_EQ(handle(&p, f, cut), 0u);
    CHECK(handle(&p, f, len) > 0);
    arp_request(f, peer_ip, false);
    for (size_t cut = 0; cut < 42; cut++)
        CHECK_EQ(handle(&p, f, cut), 0u);
    CHECK_EQ(p.echo_replies, 1u);
    CHECK_EQ(p.arp_replies, 0u);
}

/* Random damage: whatever the peer still answers is a well-formed answer. */
static void test_mutated(void)
{
    static uint8_t f[200];
    struct np_peer p;
    np_init(&p, peer_ip);
    uint32_t x = 12345;
    unsigned answered = 0;
    for (unsigned i = 0; i < 20000; i++) {
        bool arp = i % 2;
        size_t len = arp ? arp_request(f, peer_ip, i % 4 == 1) : echo_request(f, 24, 0, 4);
        unsigned flips = 1 + i % 3;
        for (unsigned k = 0; k < flips; k++) {
            x = x * 1103515245 + 12345;
            /* Mostly the fields that are checked: the first 42 bytes. */
            size_t at = (x >> 8) % (k == 2 ? len : 42);
            f[at] ^= (uint8_t)(1u << (x >> 4) % 8);
        }
        x = x * 1103515245 + 12345;
        if ((x >> 16) % 8 == 0)
            len = (x >> 4) % len;
        size_t r = handle(&p, f, len);
        if (!r)
            continue;
        answered++;
        CHECK(memcmp(out + 6, peer_mac, 6) == 0);
        CHECK(memcmp(out, f + 6, 6) == 0);
        if (arp) {
            CHECK_EQ(r, 42u);
            CHECK(memcmp(out + 14, "\x00\x01\x08\x00\x06\x04\x00\x02", 8) == 0);
            CHECK(memcmp(f + 38, peer_ip, 4) == 0);
            CHECK(memcmp(out + 32, f + 22, 10) == 0);
        } else {
            size_t ilen = (size_t)(out[16] << 8 | out[17]) - 20;
            CHECK_EQ(r, 34 + ilen);
            CHECK(r <= len);
            CHECK_EQ(out[14], 0x45);
            CHECK_EQ(sum16(out + 14, 20), 0);
            CHECK_EQ(sum16(out + 34, ilen), 0);
            CHECK_EQ(out[34], 0);
            CHECK(memcmp(out + 30, f + 26, 4) == 0);
        }
    }
    /* Most flips hit a checked field, but not all: some answers must come. */
    CHECK(answered > 100);
    CHECK_EQ(p.arp_replies + p.echo_replies, answered);
}

/* The peer in a child, its stderr into *err_fd. */
static pid_t start_peer(int fd, enum np_mode mode, int *err_fd)
{
    int pipefd[2];
    if (pipe(pipefd) < 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        close(pipefd[1]);
        struct np_peer p;
        np_init(&p, peer_ip);
        _exit(np_run(&p, fd, mode) < 0 ? 1 : 0);
    }
    close(pipefd[1]);
    *err_fd = pipefd[0];
    return pid;
}

/* The child's exit status (-1 unless it exited) and all it wrote to stderr. */
static int finish_peer(pid_t pid, int err_fd, char *err, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(err_fd, err + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    err[n] = '\0';
    close(err_fd);
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

static void set_timeout(int fd, int seconds)
{
    struct timeval tv = {.tv_sec = seconds};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static bool read_full(int fd, uint8_t *b, size_t n)
{
    while (n) {
        ssize_t r = read(fd, b, n);
        if (r <= 0)
            return false;
        b += r;
        n -= (size_t)r;
    }
    return true;
}

static bool write_full(int fd, const uint8_t *b, size_t n)
{
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w <= 0)
            return false;
        b += w;
        n -= (size_t)w;
    }
    return true;
}

static void prefix(uint8_t *b, uint32_t len)
{
    b[0] = (uint8_t)(len >> 24);
    b[1] = (uint8_t)(len >> 16);
    b[2] = (uint8_t)(len >> 8);
    b[3] = (uint8_t)len;
}

/* passt's framing: prefixes split across writes, bad lengths skipped, replies framed. */
static void test_stream(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int err_fd;
    pid_t pid = start_peer(sv[1], NP_STREAM, &err_fd);
    CHECK(pid > 0);
    close(sv[1]);
    set_timeout(sv[0], 20);

    static uint8_t buf[4 + NP_FRAME_MAX + 1], want[200];
    uint8_t f[200];
    size_t len = arp_request(f, peer_ip, false);
    prefix(buf, (uint32_t)len);
    memcpy(buf + 4, f, len);
    CHECK(write_full(sv[0], buf, 2)); /* half a prefix, then the rest */
    usleep(10000);
    CHECK(write_full(sv[0], buf + 2, 4 + len - 2));
    prefix(buf, 0); /* empty */
    CHECK(write_full(sv[0], buf, 4));
    prefix(buf, NP_FRAME_MAX + 1); /* too long: skipped to its end */
    memset(buf + 4, 0xee, NP_FRAME_MAX + 1);
    CHECK(write_full(sv[0], buf, 4 + NP_FRAME_MAX + 1));
    len = echo_request(f, 56, 0, 0);
    prefix(buf, (uint32_t)len);
    memcpy(buf + 4, f, len);
    f[12] = 0x86, f[13] = 0xdd; /* then an IPv6 frame, ignored */
    prefix(buf + 4 + len, (uint32_t)len);
    memcpy(buf + 8 + len, f, len);
    CHECK(write_full(sv[0], buf, 8 + 2 * len));

    uint8_t got[4 + 200];
    CHECK(read_full(sv[0], got, 4 + 42));
    CHECK(memcmp(got, "\x00\x00\x00\x2a", 4) == 0);
    CHECK(memcmp(got + 4, arp_reply, 42) == 0);
    size_t wlen = echo_reply(want, 56);
    CHECK(read_full(sv[0], got, 4 + wlen));
    CHECK_EQ(got[0] << 24 | got[1] << 16 | got[2] << 8 | got[3], wlen);
    CHECK(memcmp(got + 4, want, wlen) == 0);

    /* The end of the stream stops it, with the summary. */
    shutdown(sv[0], SHUT_WR);
    char err[1024];
    CHECK_EQ(finish_peer(pid, err_fd, err, sizeof(err)), 0);
    CHECK_STR(err, "net-peer: 5 frames, 1 arp replies, 1 echo replies\n");
    close(sv[0]);
}

static int bound_dgram(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool send_to(int fd, const char *path, const uint8_t *b, size_t n)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    return sendto(fd, b, n, 0, (struct sockaddr *)&a, sizeof(a)) == (ssize_t)n;
}

/* gvproxy's framing: the first bound sender is the one answered; SIGTERM ends it. */
static void test_dgram(void)
{
    char dir[] = "/tmp/net-peer-test-XXXXXX", srv[64], vmm[64], other[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(srv, sizeof(srv), "%s/peer.sock", dir);
    snprintf(vmm, sizeof(vmm), "%s/vmm.sock", dir);
    snprintf(other, sizeof(other), "%s/other.sock", dir);
    /* A stale file where the socket goes is replaced. */
    int stale = open(srv, O_CREAT | O_WRONLY, 0600);
    CHECK(stale >= 0);
    close(stale);
    int fd = np_open_dgram(srv);
    CHECK(fd >= 0);
    int err_fd;
    pid_t pid = start_peer(fd, NP_DGRAM, &err_fd);
    CHECK(pid > 0);
    close(fd);

    int anon = socket(AF_UNIX, SOCK_DGRAM, 0), c = bound_dgram(vmm), o = bound_dgram(other);
    CHECK(anon >= 0 && c >= 0 && o >= 0);
    set_timeout(c, 20);
    uint8_t f[200], want[200], got[300];
    size_t len = arp_request(f, peer_ip, false);
    CHECK(send_to(anon, srv, f, len)); /* no address to answer: ignored, said once */
    CHECK(send_to(c, srv, f, len));
    CHECK_EQ(recv(c, got, sizeof(got), 0), 42);
    CHECK(memcmp(got, arp_reply, 42) == 0);
    len = echo_request(f, 57, 0, 0);
    size_t wlen = echo_reply(want, 57);
    CHECK(send_to(c, srv, f, len));
    CHECK_EQ(recv(c, got, sizeof(got), 0), (ssize_t)wlen);
    CHECK(memcmp(got, want, wlen) == 0);
    /* Another sender is not the VMM: not answered (its datagram is read before the next). */
    CHECK(send_to(o, srv, f, len));
    CHECK(send_to(c, srv, f, len));
    CHECK_EQ(recv(c, got, sizeof(got), 0), (ssize_t)wlen);
    CHECK_EQ(recv(o, got, sizeof(got), MSG_DONTWAIT), -1);
    CHECK(errno == EAGAIN);
    /* A request in a datagram longer than any frame is not one: not answered. */
    int big = 2 * NP_FRAME_MAX;
    setsockopt(c, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    uint8_t *huge = calloc(1, NP_FRAME_MAX + 1);
    arp_request(huge, peer_ip, false);
    CHECK(send_to(c, srv, huge, NP_FRAME_MAX + 1));
    free(huge);
    CHECK(send_to(c, srv, f, len));
    CHECK_EQ(recv(c, got, sizeof(got), 0), (ssize_t)wlen);
    CHECK(memcmp(got, want, wlen) == 0);

    CHECK(kill(pid, SIGTERM) == 0);
    char err[1024];
    CHECK_EQ(finish_peer(pid, err_fd, err, sizeof(err)), 0);
    CHECK_STR(err, "net-peer: ignoring datagrams from an unbound socket\n"
                   "net-peer: 5 frames, 1 arp replies, 3 echo replies\n");
    close(anon);
    close(c);
    close(o);
    unlink(srv);
    unlink(vmm);
    unlink(other);
    rmdir(dir);
}

int main(void)
{
    RUN(test_csum);
    RUN(test_arp);
    RUN(test_arp_ignored);
    RUN(test_echo);
    RUN(test_echo_ignored);
    RUN(test_cut);
    RUN(test_mutated);
    RUN(test_stream);
    RUN(test_dgram);
    return TEST_EXIT();
}
