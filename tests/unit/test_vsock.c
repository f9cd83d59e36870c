/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/vsock/buf.c src/virtio/vsock/conn.c src/virtio/vsock/core.c src/virtio/vsock/credit.c src/virtio/vsock/dgram.c src/virtio/vsock/packet.c src/virtio/vsock/ports.c src/virtio/vsock/stream.c src/virtio/vsock/tsi.c src/virtio/vsock/tsi_msg.c src/virtio/queue.c src/util/guest_mem.c src/util/log.c */
/*
 * The vsock device model without a VM: the packet parser, credit
 * accounting, the connection table's bounds, and the multiplexer driven
 * through its internal interface (vsock_core_tx / vsock_core_rx /
 * vsock_core_poll) against real host unix sockets, the way the device
 * thread drives it.
 */
#include "test.h"

#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "virtio/queue.h"
#include "virtio/vsock/internal.h"

#define GUEST_BUF (256u * 1024u)
#define RXCAP     (VSOCK_HDR_SIZE + 65536)

static char tmpdir[64];

/* ------------------------------------------------------------------ */
/* A pretend guest                                                     */
/* ------------------------------------------------------------------ */

struct pkt {
    struct vsock_hdr h;
    uint8_t data[65536];
    size_t len;
};

/* Send one packet, its header split over two segments to exercise the parser. */
static void send_pkt(struct vsock *v, const struct vsock_hdr *hin, const void *data)
{
    struct vsock_hdr h = *hin;
    uint8_t wire[VSOCK_HDR_SIZE];
    vsock_hdr_encode(&h, wire);
    struct iovec iov[3] = {
        {wire, 10},
        {wire + 10, VSOCK_HDR_SIZE - 10},
        {(void *)data, h.len},
    };
    vsock_core_tx(v, iov, h.len ? 3 : 2);
}

static struct vsock_hdr ghdr(uint32_t src_port, uint32_t dst_port, uint16_t type, uint16_t op)
{
    return (struct vsock_hdr){.src_cid = VSOCK_CID_GUEST,
                              .dst_cid = VSOCK_CID_HOST,
                              .src_port = src_port,
                              .dst_port = dst_port,
                              .type = type,
                              .op = op,
                              .buf_alloc = GUEST_BUF};
}

static void send_op(struct vsock *v, uint32_t sp, uint32_t dp, uint16_t op, uint32_t flags,
                    uint32_t fwd_cnt)
{
    struct vsock_hdr h = ghdr(sp, dp, VSOCK_TYPE_STREAM, op);
    h.flags = flags;
    h.fwd_cnt = fwd_cnt;
    send_pkt(v, &h, NULL);
}

static void send_rw(struct vsock *v, uint32_t sp, uint32_t dp, const void *data, uint32_t len,
                    uint32_t fwd_cnt)
{
    struct vsock_hdr h = ghdr(sp, dp, VSOCK_TYPE_STREAM, VSOCK_OP_RW);
    h.len = len;
    h.fwd_cnt = fwd_cnt;
    send_pkt(v, &h, data);
}

static void send_dgram(struct vsock *v, uint32_t sp, uint32_t dp, const void *data, uint32_t len)
{
    struct vsock_hdr h = ghdr(sp, dp, VSOCK_TYPE_DGRAM, VSOCK_OP_RW);
    h.len = len;
    h.buf_alloc = 0;
    send_pkt(v, &h, data);
}

/* The next packet for the guest, waiting up to ms for host events. */
static bool recv_pkt(struct vsock *v, struct pkt *p, int ms)
{
    static uint8_t buf[RXCAP];
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (vsock_core_rx_pending(v)) {
            /* A receive buffer of 4 KiB + header in two pieces, as Linux gives. */
            struct iovec iov[2] = {{buf, 20}, {buf + 20, RXCAP - 20}};
            size_t w = vsock_core_rx(v, iov, 2);
            if (w) {
                vsock_hdr_decode(&p->h, buf);
                p->len = w - VSOCK_HDR_SIZE;
                memcpy(p->data, buf + VSOCK_HDR_SIZE, p->len);
                CHECK_EQ(p->h.len, p->len);
                return true;
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        long el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (el >= ms)
            return false;
        vsock_core_poll(v, 10);
    }
}

/* Wait for a packet with this op (skipping credit updates), or fail. */
static bool expect_op(struct vsock *v, struct pkt *p, uint16_t op)
{
    while (recv_pkt(v, p, 3000)) {
        if (p->h.op == op)
            return true;
        if (p->h.op != VSOCK_OP_CREDIT_UPDATE) {
            fprintf(stderr, "  got %s (type %u, %u -> %u), wanted %s\n", vsock_op_name(p->h.op),
                    p->h.type, p->h.src_port, p->h.dst_port, vsock_op_name(op));
            return false;
        }
    }
    fprintf(stderr, "  no packet, wanted %s\n", vsock_op_name(op));
    return false;
}

static void core_up(struct vsock *v, uint32_t tsi, const struct vsock_port_config *ports,
                    size_t n_ports, const struct vsock_port_map_entry *map, size_t n_map)
{
    struct vsock_dev_config cfg = {.tsi_features = tsi,
                                   .ports = ports,
                                   .n_ports = n_ports,
                                   .port_map = map,
                                   .n_port_map = n_map};
    char err[256] = "";
    int r = vsock_core_init(v, "test-vsock", &cfg, err, sizeof(err));
    if (r)
        fprintf(stderr, "vsock_core_init: %s\n", err);
    CHECK_EQ(r, 0);
}

static int unix_listener(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    unlink(path);
    CHECK_EQ(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    CHECK_EQ(listen(fd, 16), 0);
    return fd;
}

static int unix_connect(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1;
}

/* Read exactly len bytes from a host socket while the core runs. */
static bool host_read(struct vsock *v, int fd, void *buf, size_t len)
{
    size_t got = 0;
    for (int i = 0; i < 500 && got < len; i++) {
        vsock_core_poll(v, 0);
        if (!readable(fd, 10))
            continue;
        ssize_t r = read(fd, (uint8_t *)buf + got, len - got);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return got == len;
}

static unsigned count_fds(void)
{
    unsigned n = 0;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}

/* ------------------------------------------------------------------ */
/* Packets, credit, buffer                                             */
/* ------------------------------------------------------------------ */

static void test_packet_parse(void)
{
    struct vsock_hdr h = {.src_cid = 3,
                          .dst_cid = 2,
                          .src_port = 0x12345678,
                          .dst_port = 1025,
                          .len = 5,
                          .type = 1,
                          .op = 5,
                          .flags = 3,
                          .buf_alloc = 262144,
                          .fwd_cnt = 0xfffffff0};
    uint8_t wire[VSOCK_HDR_SIZE + 5];
    vsock_hdr_encode(&h, wire);
    /* Little endian on the wire: spot checks of offsets. */
    CHECK_EQ(wire[0], 3);
    CHECK_EQ(wire[8], 2);
    CHECK_EQ(wire[16], 0x78);
    CHECK_EQ(wire[28], 1);
    CHECK_EQ(wire[30], 5);
    memcpy(wire + VSOCK_HDR_SIZE, "hello", 5);

    /* Split everywhere, including inside the header. */
    for (unsigned cut = 1; cut < sizeof(wire); cut++) {
        struct iovec iov[2] = {{wire, cut}, {wire + cut, sizeof(wire) - cut}};
        struct vsock_hdr d;
        CHECK_EQ(vsock_pkt_parse(iov, 2, 65536, &d), 0);
        CHECK(d.src_cid == h.src_cid && d.dst_cid == h.dst_cid && d.src_port == h.src_port &&
              d.dst_port == h.dst_port && d.len == h.len && d.type == h.type && d.op == h.op &&
              d.flags == h.flags && d.buf_alloc == h.buf_alloc && d.fwd_cnt == h.fwd_cnt);
        struct iovec pv[4];
        unsigned k = vsock_pkt_payload(iov, 2, d.len, pv, 4);
        char got[5];
        CHECK_EQ(iov_to_buf(pv, k, 0, got, 5), 5);
        CHECK(memcmp(got, "hello", 5) == 0);
    }
    struct vsock_hdr d;
    /* Shorter than the header. */
    struct iovec shortv = {wire, VSOCK_HDR_SIZE - 1};
    CHECK_EQ(vsock_pkt_parse(&shortv, 1, 65536, &d), -EINVAL);
    /* A length longer than the chain, or over the maximum. */
    struct iovec trunc = {wire, VSOCK_HDR_SIZE + 4};
    CHECK_EQ(vsock_pkt_parse(&trunc, 1, 65536, &d), -EINVAL);
    struct iovec whole = {wire, sizeof(wire)};
    CHECK_EQ(vsock_pkt_parse(&whole, 1, 4, &d), -EINVAL);
    h.len = 0xffffffff;
    vsock_hdr_encode(&h, wire);
    CHECK_EQ(vsock_pkt_parse(&whole, 1, UINT32_MAX, &d), -EINVAL);
    CHECK_STR(vsock_op_name(VSOCK_OP_CREDIT_REQUEST), "CREDIT_REQUEST");
    CHECK_STR(vsock_op_name(99), "unknown");
}

static void test_credit(void)
{
    struct vsock_credit c;
    vsock_credit_init(&c, 1000);
    /* Nothing announced by the guest yet: no credit. */
    CHECK_EQ(vsock_credit_peer_free(&c), 0);
    vsock_credit_peer_update(&c, 500, 0);
    CHECK_EQ(vsock_credit_peer_free(&c), 500);
    vsock_credit_sent(&c, 300);
    CHECK_EQ(vsock_credit_peer_free(&c), 200);
    vsock_credit_peer_update(&c, 500, 300);
    CHECK_EQ(vsock_credit_peer_free(&c), 500);
    /* A guest that shrinks its buffer below what is in flight gets nothing. */
    vsock_credit_sent(&c, 400);
    vsock_credit_peer_update(&c, 300, 300);
    CHECK_EQ(vsock_credit_peer_free(&c), 0);
    /* Counters wrap. */
    c.tx_cnt = 0xfffffff0u;
    vsock_credit_peer_update(&c, 100, 0xffffffe0u);
    CHECK_EQ(vsock_credit_peer_free(&c), 84);
    vsock_credit_sent(&c, 84);
    CHECK_EQ(c.tx_cnt, 0x44u);
    CHECK_EQ(vsock_credit_peer_free(&c), 0);

    /* Our side: the guest may send at most buf_alloc unforwarded bytes. */
    vsock_credit_init(&c, 1000);
    CHECK(vsock_credit_receive(&c, 600));
    CHECK(!vsock_credit_receive(&c, 401));
    CHECK(vsock_credit_receive(&c, 400));
    CHECK_EQ(vsock_credit_buffered(&c), 1000);
    CHECK(!vsock_credit_receive(&c, 1));
    uint32_t ba, fc;
    vsock_credit_stamp(&c, &ba, &fc);
    CHECK_EQ(ba, 1000);
    CHECK_EQ(fc, 0);
    CHECK(!vsock_credit_update_needed(&c)); /* nothing forwarded yet */
    vsock_credit_forwarded(&c, 400);
    /* The guest still believes 1000 are used: tell it. */
    CHECK(vsock_credit_update_needed(&c));
    vsock_credit_stamp(&c, &ba, &fc);
    CHECK_EQ(fc, 400);
    CHECK(!vsock_credit_update_needed(&c));
    CHECK(vsock_credit_receive(&c, 400));
    /* Forwarding a little while the guest sees plenty free: no update. */
    vsock_credit_init(&c, 1000);
    CHECK(vsock_credit_receive(&c, 100));
    vsock_credit_forwarded(&c, 100);
    CHECK(!vsock_credit_update_needed(&c));
    /* Wrapping receive counters. */
    c.rx_cnt = c.fwd_cnt = c.last_fwd_sent = 0xffffff00u;
    CHECK(vsock_credit_receive(&c, 1000));
    CHECK_EQ(vsock_credit_buffered(&c), 1000);
    CHECK(!vsock_credit_receive(&c, 1));
}

static void test_buf(void)
{
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct vsock_buf b = {0};
    uint8_t data[100], out[300];
    for (int i = 0; i < 100; i++)
        data[i] = (uint8_t)i;
    struct iovec iov = {data, sizeof(data)};
    CHECK_EQ(vsock_buf_append(&b, 150, &iov, 1, 100), 0);
    CHECK_EQ(vsock_buf_append(&b, 150, &iov, 1, 100), -ENOSPC);
    CHECK_EQ(vsock_buf_flush(&b, sv[0]), 100);
    CHECK(b.data == NULL); /* empty: memory given back */
    CHECK_EQ(read(sv[1], out, sizeof(out)), 100);
    CHECK(memcmp(out, data, 100) == 0);
    /* Wrap around the end of the ring. */
    CHECK_EQ(vsock_buf_append(&b, 150, &iov, 1, 100), 0);
    b.head = 120; /* pretend 120 bytes went out before */
    b.len = 0;
    CHECK_EQ(vsock_buf_append(&b, 150, &iov, 1, 100), 0);
    CHECK_EQ(vsock_buf_flush(&b, sv[0]), 100);
    CHECK_EQ(read(sv[1], out, sizeof(out)), 100);
    CHECK(memcmp(out, data, 100) == 0);
    vsock_buf_free(&b);
    close(sv[0]);
    close(sv[1]);
}

/* ------------------------------------------------------------------ */
/* Streams through unix-socket ports                                   */
/* ------------------------------------------------------------------ */

static void test_port_connect(void)
{
    char path[96];
    snprintf(path, sizeof(path), "%s/out.sock", tmpdir);
    int lfd = unix_listener(path);
    struct vsock_port_config ports[] = {{.port = 1234, .path = path}};
    struct vsock v;
    core_up(&v, 0, ports, 1, NULL, 0);
    struct pkt p;

    send_op(&v, 5000, 1234, VSOCK_OP_REQUEST, 0, 0);
    CHECK(expect_op(&v, &p, VSOCK_OP_RESPONSE));
    CHECK_EQ(p.h.src_port, 1234);
    CHECK_EQ(p.h.dst_port, 5000);
    CHECK_EQ(p.h.buf_alloc, VSOCK_BUF_ALLOC);
    int hfd = accept(lfd, NULL, NULL);
    CHECK(hfd >= 0);

    /* Guest -> host. */
    send_rw(&v, 5000, 1234, "ping", 4, 0);
    char buf[64];
    CHECK(host_read(&v, hfd, buf, 4));
    CHECK(memcmp(buf, "ping", 4) == 0);

    /* Host -> guest, within the guest's credit. */
    CHECK_EQ(write(hfd, "pong!", 5), 5);
    CHECK(expect_op(&v, &p, VSOCK_OP_RW));
    CHECK_EQ(p.len, 5);
    CHECK(memcmp(p.data, "pong!", 5) == 0);
    CHECK_EQ(p.h.fwd_cnt, 4); /* our fwd_cnt rides along */

    /* A guest without credit gets nothing until it says it read. */
    struct vsock_conn *c = vsock_conn_find(&v, 5000, 1234);
    CHECK(c != NULL);
    send_op(&v, 5000, 1234, VSOCK_OP_CREDIT_UPDATE, 0, 0);
    c->cr.peer_buf_alloc = 5; /* the guest holds 5 of 5 */
    CHECK_EQ(write(hfd, "more", 4), 4);
    CHECK(!recv_pkt(&v, &p, 200));
    send_op(&v, 5000, 1234, VSOCK_OP_CREDIT_UPDATE, 0, 5);
    CHECK(expect_op(&v, &p, VSOCK_OP_RW));
    CHECK(memcmp(p.data, "more", 4) == 0);

    /* CREDIT_REQUEST gets an update. */
    send_op(&v, 5000, 1234, VSOCK_OP_CREDIT_REQUEST, 0, 9);
    CHECK(recv_pkt(&v, &p, 1000));
    CHECK_EQ(p.h.op, VSOCK_OP_CREDIT_UPDATE);

    /* Host end of input: SHUTDOWN(SEND) to the guest. */
    shutdown(hfd, SHUT_WR);
    CHECK(expect_op(&v, &p, VSOCK_OP_SHUTDOWN));
    CHECK_EQ(p.h.flags, VSOCK_SHUTDOWN_SEND);
    /* The guest shuts its side: the host sees EOF after the data. */
    send_rw(&v, 5000, 1234, "bye", 3, 9);
    send_op(&v, 5000, 1234, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND, 9);
    CHECK(host_read(&v, hfd, buf, 3));
    CHECK(memcmp(buf, "bye", 3) == 0);
    vsock_core_poll(&v, 10);
    CHECK(readable(hfd, 1000));
    CHECK_EQ(read(hfd, buf, sizeof(buf)), 0);
    /* Close: RST, and the connection is gone. */
    send_op(&v, 5000, 1234, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND | VSOCK_SHUTDOWN_RCV, 9);
    CHECK(expect_op(&v, &p, VSOCK_OP_RST));
    CHECK(vsock_conn_find(&v, 5000, 1234) == NULL);
    vsock_core_poll(&v, 0);
    CHECK_EQ(v.n_conns, 0);

    /* An unmapped port, and port 620 without TSI: RST. */
    send_op(&v, 5001, 4321, VSOCK_OP_REQUEST, 0, 0);
    CHECK(expect_op(&v, &p, VSOCK_OP_RST));
    CHECK_EQ(p.h.src_port, 4321);
    CHECK_EQ(p.h.dst_port, 5001);
    send_op(&v, 5001, TSI_PROXY_PORT, VSOCK_OP_REQUEST, 0, 0);
    CHECK(expect_op(&v, &p, VSOCK_OP_RST));
    /* Data for a connection that does not exist: RST; a RST: nothing. */
    send_rw(&v, 5002, 1234, "x", 1, 0);
    CHECK(expect_op(&v, &p, VSOCK_OP_RST));
    send_op(&v, 5002, 1234, VSOCK_OP_RST, 0, 0);
    CHECK(!recv_pkt(&v, &p, 100));
    /* Nobody listens on the path any more: RST. */
    close(lfd);
    send_op(&v, 5003, 1234, VSOCK_OP_REQUEST, 0, 0);
    CHECK(expect_op(&v, &p, VSOCK_OP_RST));

    close(hfd);
    vsock_core_destroy(&v);
    unlink(path);
}

static void test_port_listen(void)
{
    char path[96];
    snprintf(path, sizeof(path), "%s/in.sock", tmpdir);
    unlink(path);
    struct vsock_port_config ports[] = {{.port = 7000, .path = path, .listen = true}};
    struct vsock v;
    core_up(&v, 0, ports, 1, NULL, 0);
    struct stat st;
    CHECK_EQ(lstat(path, &st), 0);
    CHECK(S_ISSOCK(st.st_mode));

    /* A second device on the same path cannot listen. */
    struct vsock v2;
    struct vsock_dev_config cfg = {.ports = ports, .n_ports = 1};
    char err[256];
    CHECK(vsock_core_init(&v2, "second", &cfg, err, sizeof(err)) < 0);

    struct pkt p;
    int hfd = unix_connect(path);
    CHECK(hfd >= 0);
    CHECK(expect_op(&v, &p, VSOCK_OP_REQUEST));
    CHECK_EQ(p.h.dst_port, 7000);
    uint32_t hport = p.h.src_port;
    CHECK(hport >= VSOCK_EPHEMERAL_FIRST);
    send_op(&v, 7000, hport, VSOCK_OP_RESPONSE, 0, 0);
    CHECK_EQ(write(hfd, "hello guest", 11), 11);
    CHECK(expect_op(&v, &p, VSOCK_OP_RW));
    CHECK_EQ(p.len, 11);
    send_rw(&v, 7000, hport, "hello host", 10, 11);
    char buf[32];
    CHECK(host_read(&v, hfd, buf, 10));
    CHECK(memcmp(buf, "hello host", 10) == 0);

    /* A guest that refuses: the host client is closed. */
    int h2 = unix_connect(path);
    CHECK(expect_op(&v, &p, VSOCK_OP_REQUEST));
    send_op(&v, 7000, p.h.src_port, VSOCK_OP_RST, 0, 0);
    vsock_core_poll(&v, 10);
    CHECK(readable(h2, 1000));
    CHECK(read(h2, buf, 1) <= 0);
    close(h2);

    /* Host closes: SHUTDOWN, then the guest's close is answered with RST. */
    close(hfd);
    CHECK(expect_op(&v, &p, VSOCK_OP_SHUTDOWN));
    send_op(&v, 7000, hport, VSOCK_OP_SHUTDOWN, 3, 11);
    CHECK(expect_op(&v, &p, VSOCK_OP_RST));

    /* The socket file goes with the device. */
    vsock_core_destroy(&v);
    CHECK(lstat(path, &st) < 0 && errno == ENOENT);
}

/* Data the host does not take is held up to the credit, and the guest is reset past it. */
static void test_slow_host_and_violations(void)
{
    char path[96];
    snprintf(path, sizeof(path), "%s/slow.sock", tmpdir);
    int lfd = unix_listener(path);
    struct vsock_port_config ports[] = {{.port = 1, .path = path}};
    struct vsock v;
    core_up(&v, 0, ports, 1, NULL, 0);
    struct pkt p;
    send_op(&v, 9000, 1, VSOCK_OP_REQUEST, 0, 0);
    CHECK(expect_op(&v, &p, VSOCK_OP_RESPONSE));
    int hfd = accept(lfd, NULL, NULL);

    static uint8_t chunk[65536];
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (uint8_t)(i * 7);
    /* Fill the host socket and our buffer: send exactly what credit allows. */
    uint64_t sent = 0;
    struct vsock_conn *c = vsock_conn_find(&v, 9000, 1);
    for (int i = 0; i < 200; i++) {
        uint32_t free_space = VSOCK_BUF_ALLOC - vsock_credit_buffered(&c->cr);
        if (free_space == 0)
            break;
        uint32_t n = free_space < sizeof(chunk) ? free_space : sizeof(chunk);
        send_rw(&v, 9000, 1, chunk, n, 0);
        sent += n;
    }
    CHECK(c->buf.len > 0);
    CHECK(c->buf.len <= VSOCK_BUF_ALLOC);
    CHECK_EQ(v.buffered, c->buf.len);
    /* One more byte is past the credit: reset. */
    send_rw(&v, 9000, 1, chunk, 1, 0);
    CHECK_EQ(v.stats.credit_violations, 1);
    while (recv_pkt(&v, &p, 200) && p.h.op != VSOCK_OP_RST)
        ;
    CHECK_EQ(p.h.op, VSOCK_OP_RST);
    CHECK(vsock_conn_find(&v, 9000, 1) == NULL);
    CHECK_EQ(v.buffered, 0);
    close(hfd);

    /* A slow host that does read in the end gets everything, in order. */
    send_op(&v, 9001, 1, VSOCK_OP_REQUEST, 0, 0);
    CHECK(expect_op(&v, &p, VSOCK_OP_RESPONSE));
    hfd = accept(lfd, NULL, NULL);
    c = vsock_conn_find(&v, 9001, 1);
    uint64_t total = 0, got = 0;
    uint32_t seq = 0;
    static uint8_t rbuf[65536];
    bool order_ok = true;
    for (int round = 0; round < 64; round++) {
        /* Send what the credit allows (using the fwd_cnt the device last told us). */
        uint32_t in_flight = c->cr.rx_cnt - c->cr.last_fwd_sent;
        uint32_t room = VSOCK_BUF_ALLOC - in_flight;
        if (room > 4096)
            room = 4096;
        uint8_t data[4096];
        for (uint32_t i = 0; i < room; i++)
            data[i] = (uint8_t)(seq + i);
        if (room) {
            send_rw(&v, 9001, 1, data, room, 0);
            seq += room;
            total += room;
        }
        /* The host reads a little, sometimes. */
        if (round % 3 == 0 && readable(hfd, 0)) {
            ssize_t r = read(hfd, rbuf, 8192);
            for (ssize_t i = 0; i < r; i++)
                order_ok &= rbuf[i] == (uint8_t)(got + (uint64_t)i);
            got += (uint64_t)(r > 0 ? r : 0);
        }
        vsock_core_poll(&v, 0);
        while (recv_pkt(&v, &p, 0))
            ;
    }
    while (got < total) {
        vsock_core_poll(&v, 0);
        if (!readable(hfd, 1000))
            break;
        ssize_t r = read(hfd, rbuf, sizeof(rbuf));
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            order_ok &= rbuf[i] == (uint8_t)(got + (uint64_t)i);
        got += (uint64_t)r;
    }
    CHECK_EQ(got, total);
    CHECK(order_ok);
    CHECK_EQ(v.buffered, 0);
    /* The device told the guest enough: it sees at least half of the buffer free. */
    while (recv_pkt(&v, &p, 100))
        ;
    CHECK(c->cr.rx_cnt - c->cr.last_fwd_sent <= VSOCK_BUF_ALLOC / 2);
    CHECK(!vsock_credit_update_needed(&c->cr));

    /* Guest closes while data is still held: RST at once, the data still arrives. */
    uint8_t tail[1000];
    memset(tail, 0xab, sizeof(tail));
    /* Fill the host socket first so that the tail is held. */
    int sz = 4096;
    setsockopt(hfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    for (int i = 0; i < 200 && !c->buf.len; i++) {
        uint32_t room = VSOCK_BUF_ALLOC - (c->cr.rx_cnt - c->cr.fwd_cnt);
        if (room > sizeof(chunk))
            room = sizeof(chunk);
        memset(chunk, 0xab, room);
        send_rw(&v, 9001, 1, chunk, room, 0);
        total += room;
    }
    CHECK(c->buf.len > 0);
    send_op(&v, 9001, 1, VSOCK_OP_SHUTDOWN, 3, 0);
    CHECK(expect_op(&v, &p, VSOCK_OP_RST));
    CHECK(vsock_conn_find(&v, 9001, 1) == NULL);
    CHECK_EQ(v.n_conns, 1); /* lingering */
    uint64_t tail_got = 0;
    for (;;) {
        vsock_core_poll(&v, 0);
        if (!readable(hfd, 2000))
            break;
        ssize_t r = read(hfd, rbuf, sizeof(rbuf));
        if (r <= 0)
            break;
        tail_got += (uint64_t)r;
    }
    CHECK_EQ(got + tail_got, total);
    vsock_core_poll(&v, 0);
    CHECK_EQ(v.n_conns, 0);
    close(hfd);
    close(lfd);
    vsock_core_destroy(&v);
    unlink(path);
}

/* ------------------------------------------------------------------ */
/* Bounds                                                              */
/* ------------------------------------------------------------------ */

static void test_bounds(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < VSOCK_MAX_CONNS + 64) {
        printf("     (skipping the table limit: RLIMIT_NOFILE is %llu)\n",
               (unsigned long long)rl.rlim_cur);
    } else {
        /* PROXY_CREATE floods stop at the limit; CONNECT on a refused one says so. */
        struct vsock v;
        core_up(&v, VSOCK_TSI_INET, NULL, 0, NULL, 0);
        unsigned fds0 = count_fds();
        for (uint32_t i = 0; i < VSOCK_MAX_CONNS + 10; i++) {
            uint8_t req[8] = {0};
            uint32_t port = 10000 + i;
            memcpy(req, &port, 4);
            req[4] = AF_INET;
            req[6] = SOCK_STREAM;
            send_dgram(&v, 2000 + i, TSI_PROXY_CREATE, req, sizeof(req));
        }
        CHECK_EQ(v.n_conns, VSOCK_MAX_CONNS);
        CHECK_EQ(v.stats.refused, 10);
        CHECK(count_fds() <= fds0 + VSOCK_MAX_CONNS);
        uint8_t creq[136] = {0};
        uint32_t port = 10000 + VSOCK_MAX_CONNS + 1;
        memcpy(creq, &port, 4);
        creq[4] = 16;
        creq[8] = AF_INET;
        send_dgram(&v, 1999, TSI_CONNECT, creq, sizeof(creq));
        struct pkt p;
        CHECK(recv_pkt(&v, &p, 1000));
        int32_t res;
        memcpy(&res, p.data, 4);
        CHECK_EQ(res, -ENFILE);
        /* A stream REQUEST past the limit: RST (here: no such port anyway). */
        vsock_core_reset(&v);
        CHECK_EQ(v.n_conns, 0);
        CHECK_EQ(count_fds(), fds0);
        vsock_core_destroy(&v);
    }

    /* A guest that sends requests and never reads: the tx side pauses. */
    struct vsock v;
    core_up(&v, 0, NULL, 0, NULL, 0);
    for (uint32_t i = 0; i < 10000 && !vsock_core_tx_paused(&v); i++)
        send_op(&v, 3000 + i, 9999, VSOCK_OP_REQUEST, 0, 0);
    CHECK(vsock_core_tx_paused(&v));
    CHECK_EQ(v.n_ctrl, VSOCK_CTRL_PAUSE);
    struct pkt p;
    CHECK(recv_pkt(&v, &p, 100));
    CHECK(!vsock_core_tx_paused(&v));
    /* Malformed packets are dropped and counted. */
    uint8_t junk[10] = {0};
    struct iovec iov = {junk, sizeof(junk)};
    vsock_core_tx(&v, &iov, 1);
    struct vsock_hdr h = ghdr(1, 2, VSOCK_TYPE_STREAM, VSOCK_OP_REQUEST);
    h.src_cid = 7;
    send_pkt(&v, &h, NULL);
    CHECK_EQ(v.stats.malformed, 2);
    /* SEQPACKET is not offered: RST. */
    vsock_core_reset(&v);
    h = ghdr(1, 2, VSOCK_TYPE_SEQPACKET, VSOCK_OP_REQUEST);
    send_pkt(&v, &h, NULL);
    CHECK(recv_pkt(&v, &p, 100));
    CHECK_EQ(p.h.op, VSOCK_OP_RST);
    CHECK_EQ(p.h.type, VSOCK_TYPE_SEQPACKET);
    vsock_core_destroy(&v);
}

/* ------------------------------------------------------------------ */
/* TSI                                                                 */
/* ------------------------------------------------------------------ */

#define CTL_PORT 3333 /* the guest's control socket */

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void tsi_create(struct vsock *v, uint32_t svm, int family, int type)
{
    uint8_t req[8];
    put32(req, svm);
    uint16_t f = (uint16_t)family, t = (uint16_t)type;
    memcpy(req + 4, &f, 2);
    memcpy(req + 6, &t, 2);
    send_dgram(v, CTL_PORT, TSI_PROXY_CREATE, req, sizeof(req));
}

static void tsi_addr_req(struct vsock *v, uint32_t type, uint32_t svm, const void *addr,
                         uint32_t alen)
{
    uint8_t req[136] = {0};
    put32(req, svm);
    put32(req + 4, alen);
    memcpy(req + 8, addr, alen);
    send_dgram(v, CTL_PORT, type, req, sizeof(req));
}

/* The answer to a request of `type` on the control port. */
static int32_t tsi_answer(struct vsock *v, uint32_t type, struct pkt *p)
{
    if (!recv_pkt(v, p, 3000)) {
        fprintf(stderr, "  no answer to %s\n", tsi_req_name(type));
        return 1;
    }
    CHECK_EQ(p->h.type, VSOCK_TYPE_DGRAM);
    CHECK_EQ(p->h.src_port, type);
    CHECK_EQ(p->h.dst_port, CTL_PORT);
    int32_t r;
    memcpy(&r, p->data, 4);
    return r;
}

static struct sockaddr_in loopback(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int tcp_listener(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = loopback(0);
    CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    CHECK_EQ(listen(fd, 8), 0);
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_tsi_connect(void)
{
    struct vsock v;
    core_up(&v, VSOCK_TSI_INET, NULL, 0, NULL, 0);
    struct pkt p;
    uint16_t lport;
    int lfd = tcp_listener(&lport);

    tsi_create(&v, 50000, AF_INET, SOCK_STREAM);
    struct sockaddr_in a = loopback(lport);
    tsi_addr_req(&v, TSI_CONNECT, 50000, &a, sizeof(a));
    CHECK_EQ(tsi_answer(&v, TSI_CONNECT, &p), 0);
    int hfd = accept(lfd, NULL, NULL);
    CHECK(hfd >= 0);
    /* Connecting again: already connected. */
    tsi_addr_req(&v, TSI_CONNECT, 50000, &a, sizeof(a));
    CHECK_EQ(tsi_answer(&v, TSI_CONNECT, &p), -EISCONN);

    /* The data stream: REQUEST from svm_port to 620. */
    send_op(&v, 50000, TSI_PROXY_PORT, VSOCK_OP_REQUEST, 0, 0);
    CHECK(expect_op(&v, &p, VSOCK_OP_RESPONSE));
    CHECK_EQ(p.h.src_port, TSI_PROXY_PORT);
    send_rw(&v, 50000, TSI_PROXY_PORT, "GET /", 5, 0);
    char buf[16];
    CHECK(host_read(&v, hfd, buf, 5));
    CHECK(memcmp(buf, "GET /", 5) == 0);
    CHECK_EQ(write(hfd, "200 OK", 6), 6);
    CHECK(expect_op(&v, &p, VSOCK_OP_RW));
    CHECK(p.len == 6 && memcmp(p.data, "200 OK", 6) == 0);

    /* GETNAME: the peer is the listener. */
    uint8_t g[12];
    put32(g, 50000);
    put32(g + 4, TSI_PROXY_PORT);
    put32(g + 8, 1);
    send_dgram(&v, CTL_PORT, TSI_GETNAME, g, sizeof(g));
    CHECK_EQ(tsi_answer(&v, TSI_GETNAME, &p), 0);
    CHECK_EQ(p.len, TSI_RSP_GETNAME_SIZE);
    uint32_t alen;
    memcpy(&alen, p.data + 4, 4);
    CHECK_EQ(alen, sizeof(struct sockaddr_in));
    struct sockaddr_in peer;
    memcpy(&peer, p.data + 8, sizeof(peer));
    CHECK_EQ(peer.sin_family, AF_INET);
    CHECK_EQ(ntohs(peer.sin_port), lport);

    /* Release: the host socket closes. */
    uint8_t rel[8];
    put32(rel, 50000);
    put32(rel + 4, TSI_PROXY_PORT);
    send_dgram(&v, CTL_PORT, TSI_PROXY_RELEASE, rel, sizeof(rel));
    vsock_core_poll(&v, 10);
    CHECK(readable(hfd, 1000));
    CHECK_EQ(read(hfd, buf, sizeof(buf)), 0);
    CHECK(vsock_conn_find(&v, 50000, TSI_PROXY_PORT) == NULL);
    /* The guest's close of the data stream then gets RST. */
    send_op(&v, 50000, TSI_PROXY_PORT, VSOCK_OP_SHUTDOWN, 3, 0);
    CHECK(expect_op(&v, &p, VSOCK_OP_RST));
    close(hfd);

    /* A refused connection: the error comes back (asynchronously or not). */
    close(lfd);
    tsi_create(&v, 50001, AF_INET, SOCK_STREAM);
    tsi_addr_req(&v, TSI_CONNECT, 50001, &a, sizeof(a));
    CHECK_EQ(tsi_answer(&v, TSI_CONNECT, &p), -ECONNREFUSED);
    /* A bad address: wrong family, short. */
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    tsi_addr_req(&v, TSI_CONNECT, 50001, &a6, sizeof(a6));
    CHECK_EQ(tsi_answer(&v, TSI_CONNECT, &p), -EAFNOSUPPORT);
    tsi_addr_req(&v, TSI_CONNECT, 50001, &a, 8);
    CHECK_EQ(tsi_answer(&v, TSI_CONNECT, &p), -EINVAL);
    /* Data stream without a host connection: RST. */
    send_op(&v, 50001, TSI_PROXY_PORT, VSOCK_OP_REQUEST, 0, 0);
    CHECK(expect_op(&v, &p, VSOCK_OP_RST));
    /* CONNECT on a proxy that was never created. */
    tsi_addr_req(&v, TSI_CONNECT, 59999, &a, sizeof(a));
    CHECK_EQ(tsi_answer(&v, TSI_CONNECT, &p), -EINVAL);
    /* A malformed request still gets an answer. */
    send_dgram(&v, CTL_PORT, TSI_CONNECT, "ab", 2);
    CHECK_EQ(tsi_answer(&v, TSI_CONNECT, &p), -EINVAL);
    vsock_core_destroy(&v);
}

static void test_tsi_listen_accept(void)
{
    /* Guest port 8080 is host port `mapped`; unmapped ports are bound unchanged. */
    uint16_t mapped;
    int probe = tcp_listener(&mapped);
    close(probe);
    struct vsock_port_map_entry map[] = {{.host_port = mapped, .guest_port = 8080}};
    struct vsock v;
    core_up(&v, VSOCK_TSI_INET, NULL, 0, map, 1);
    struct pkt p;

    tsi_create(&v, 40000, AF_INET, SOCK_STREAM);
    uint8_t lreq[144] = {0};
    struct sockaddr_in a = loopback(8080);
    put32(lreq, 40000);
    put32(lreq + 4, 40000); /* vm_port */
    put32(lreq + 8, 16);
    put32(lreq + 12, sizeof(a));
    memcpy(lreq + 16, &a, sizeof(a));
    send_dgram(&v, CTL_PORT, TSI_LISTEN, lreq, sizeof(lreq));
    CHECK_EQ(tsi_answer(&v, TSI_LISTEN, &p), 0);

    /* Non-blocking ACCEPT with nobody there. */
    uint8_t areq[8];
    put32(areq, 40000);
    put32(areq + 4, O_NONBLOCK);
    send_dgram(&v, CTL_PORT, TSI_ACCEPT, areq, sizeof(areq));
    CHECK_EQ(tsi_answer(&v, TSI_ACCEPT, &p), -EAGAIN);

    /* A blocking ACCEPT waits for a host client. */
    put32(areq + 4, 0);
    send_dgram(&v, CTL_PORT, TSI_ACCEPT, areq, sizeof(areq));
    CHECK(!recv_pkt(&v, &p, 100));
    int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in ha = loopback(mapped);
    CHECK_EQ(connect(cfd, (struct sockaddr *)&ha, sizeof(ha)), 0);
    /* The device opens a stream to the guest's vm_port... */
    CHECK(expect_op(&v, &p, VSOCK_OP_REQUEST));
    CHECK_EQ(p.h.dst_port, 40000);
    uint32_t hport = p.h.src_port;
    /* ...and answers ACCEPT once the guest took it. */
    send_op(&v, 40000, hport, VSOCK_OP_RESPONSE, 0, 0);
    CHECK_EQ(tsi_answer(&v, TSI_ACCEPT, &p), 0);
    CHECK_EQ(write(cfd, "hi", 2), 2);
    CHECK(expect_op(&v, &p, VSOCK_OP_RW));
    CHECK(p.len == 2 && memcmp(p.data, "hi", 2) == 0);
    send_rw(&v, 40000, hport, "yo", 2, 2);
    char buf[8];
    CHECK(host_read(&v, cfd, buf, 2));
    /* GETNAME of the accepted connection: the client. */
    uint8_t g[12];
    put32(g, 40000);
    put32(g + 4, hport);
    put32(g + 8, 1);
    send_dgram(&v, CTL_PORT, TSI_GETNAME, g, sizeof(g));
    CHECK_EQ(tsi_answer(&v, TSI_GETNAME, &p), 0);
    struct sockaddr_in peer, mine;
    memcpy(&peer, p.data + 8, sizeof(peer));
    socklen_t ml = sizeof(mine);
    getsockname(cfd, (struct sockaddr *)&mine, &ml);
    CHECK_EQ(peer.sin_port, mine.sin_port);

    /* A second listener on the same host port fails: no SO_REUSEPORT (libkrun#860). */
    tsi_create(&v, 40001, AF_INET, SOCK_STREAM);
    put32(lreq, 40001);
    put32(lreq + 4, 40001);
    send_dgram(&v, CTL_PORT, TSI_LISTEN, lreq, sizeof(lreq));
    CHECK_EQ(tsi_answer(&v, TSI_LISTEN, &p), -EADDRINUSE);
    /* LISTEN on a datagram proxy, and on one that does not exist. */
    tsi_create(&v, 40002, AF_INET, SOCK_DGRAM);
    put32(lreq, 40002);
    send_dgram(&v, CTL_PORT, TSI_LISTEN, lreq, sizeof(lreq));
    CHECK_EQ(tsi_answer(&v, TSI_LISTEN, &p), -EOPNOTSUPP);
    put32(lreq, 49999);
    send_dgram(&v, CTL_PORT, TSI_LISTEN, lreq, sizeof(lreq));
    CHECK_EQ(tsi_answer(&v, TSI_LISTEN, &p), -EPERM);

    /* Release the listener: the port is free again. */
    uint8_t rel[8];
    put32(rel, 40000);
    put32(rel + 4, TSI_PROXY_PORT);
    send_dgram(&v, CTL_PORT, TSI_PROXY_RELEASE, rel, sizeof(rel));
    put32(lreq, 40001);
    send_dgram(&v, CTL_PORT, TSI_LISTEN, lreq, sizeof(lreq));
    CHECK_EQ(tsi_answer(&v, TSI_LISTEN, &p), 0);
    close(cfd);
    vsock_core_destroy(&v);
}

static void test_tsi_udp(void)
{
    struct vsock v;
    core_up(&v, VSOCK_TSI_INET, NULL, 0, NULL, 0);
    struct pkt p;
    int ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = loopback(0);
    bind(ufd, (struct sockaddr *)&a, sizeof(a));
    socklen_t al = sizeof(a);
    getsockname(ufd, (struct sockaddr *)&a, &al);

    tsi_create(&v, 30000, AF_INET, SOCK_DGRAM);
    tsi_addr_req(&v, TSI_SENDTO_ADDR, 30000, &a, sizeof(a));
    send_dgram(&v, 30000, TSI_SENDTO_DATA, "query", 5);
    char buf[64];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    CHECK(readable(ufd, 1000));
    CHECK_EQ(recvfrom(ufd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl), 5);
    CHECK(memcmp(buf, "query", 5) == 0);
    /* The answer comes back as a datagram to the proxy's port. */
    CHECK_EQ(sendto(ufd, "answer!", 7, 0, (struct sockaddr *)&from, fl), 7);
    CHECK(recv_pkt(&v, &p, 2000));
    CHECK_EQ(p.h.type, VSOCK_TYPE_DGRAM);
    CHECK_EQ(p.h.op, VSOCK_OP_RW);
    CHECK_EQ(p.h.dst_port, 30000);
    CHECK(p.len == 7 && memcmp(p.data, "answer!", 7) == 0);

    /* Connected: data to the proxy's own port. */
    tsi_addr_req(&v, TSI_CONNECT, 30000, &a, sizeof(a));
    CHECK_EQ(tsi_answer(&v, TSI_CONNECT, &p), 0);
    send_dgram(&v, 30000, 30000, "again", 5);
    CHECK(readable(ufd, 1000));
    CHECK_EQ(recv(ufd, buf, sizeof(buf), 0), 5);
    /* Datagrams for nobody are dropped, never reset. */
    send_dgram(&v, 31111, 31111, "lost", 4);
    CHECK(!recv_pkt(&v, &p, 50));
    close(ufd);
    vsock_core_destroy(&v);
}

static void test_tsi_families(void)
{
    char path[96];
    snprintf(path, sizeof(path), "%s/tsi-unix.sock", tmpdir);
    unlink(path);
    struct pkt p;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    uint32_t slen = (uint32_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
    uint8_t lreq[144] = {0};
    put32(lreq, 20000);
    put32(lreq + 4, 20000);
    put32(lreq + 8, 4);
    put32(lreq + 12, slen);
    memcpy(lreq + 16, &sun, slen);

    /* Without VSOCK_TSI_UNIX: no proxy, the guest listens by itself. */
    struct vsock v;
    core_up(&v, VSOCK_TSI_INET, NULL, 0, NULL, 0);
    tsi_create(&v, 20000, AF_UNIX, SOCK_STREAM);
    CHECK_EQ(v.n_conns, 0);
    send_dgram(&v, CTL_PORT, TSI_LISTEN, lreq, sizeof(lreq));
    CHECK_EQ(tsi_answer(&v, TSI_LISTEN, &p), -EPERM);
    vsock_core_destroy(&v);
    /* Without VSOCK_TSI_INET: no AF_INET proxies either. */
    core_up(&v, VSOCK_TSI_UNIX, NULL, 0, NULL, 0);
    tsi_create(&v, 20001, AF_INET, SOCK_STREAM);
    tsi_create(&v, 20002, AF_INET6, SOCK_DGRAM);
    CHECK_EQ(v.n_conns, 0);

    /* With it: a unix listener on the host path, removed at release. */
    tsi_create(&v, 20000, AF_UNIX, SOCK_STREAM);
    send_dgram(&v, CTL_PORT, TSI_LISTEN, lreq, sizeof(lreq));
    CHECK_EQ(tsi_answer(&v, TSI_LISTEN, &p), 0);
    struct stat st;
    CHECK_EQ(lstat(path, &st), 0);
    int cfd = unix_connect(path);
    CHECK(cfd >= 0);
    uint8_t areq[8];
    put32(areq, 20000);
    put32(areq + 4, 0);
    send_dgram(&v, CTL_PORT, TSI_ACCEPT, areq, sizeof(areq));
    CHECK(expect_op(&v, &p, VSOCK_OP_REQUEST));
    /* The guest refuses the connection: ACCEPT fails. */
    send_op(&v, 20000, p.h.src_port, VSOCK_OP_RST, 0, 0);
    CHECK_EQ(tsi_answer(&v, TSI_ACCEPT, &p), -ECONNABORTED);
    close(cfd);
    uint8_t rel[8];
    put32(rel, 20000);
    put32(rel + 4, TSI_PROXY_PORT);
    send_dgram(&v, CTL_PORT, TSI_PROXY_RELEASE, rel, sizeof(rel));
    CHECK(lstat(path, &st) < 0);

    /* A stale socket file is taken over; relative and abstract names are refused. */
    int stale = unix_listener(path);
    close(stale); /* the file stays, nobody listens */
    tsi_create(&v, 20003, AF_UNIX, SOCK_STREAM);
    put32(lreq, 20003);
    send_dgram(&v, CTL_PORT, TSI_LISTEN, lreq, sizeof(lreq));
    CHECK_EQ(tsi_answer(&v, TSI_LISTEN, &p), 0);
    tsi_create(&v, 20004, AF_UNIX, SOCK_STREAM);
    struct sockaddr_un rel_name = {.sun_family = AF_UNIX, .sun_path = "relative.sock"};
    tsi_addr_req(&v, TSI_CONNECT, 20004, &rel_name, sizeof(rel_name));
    CHECK_EQ(tsi_answer(&v, TSI_CONNECT, &p), -EINVAL);
    /* CONNECT to the unix listener works. */
    tsi_addr_req(&v, TSI_CONNECT, 20004, &sun, slen);
    CHECK_EQ(tsi_answer(&v, TSI_CONNECT, &p), 0);
    vsock_core_destroy(&v);
    CHECK(lstat(path, &st) < 0);
}

static void test_tsi_msg(void)
{
    struct tsi_req r;
    uint8_t b[160] = {0};
    put32(b, 7);
    b[4] = AF_INET6;
    b[6] = SOCK_DGRAM;
    CHECK_EQ(tsi_req_parse(TSI_PROXY_CREATE, b, 8, &r), 0);
    CHECK_EQ(r.svm_port, 7);
    CHECK_EQ(r.family, AF_INET6);
    CHECK_EQ(r.sock_type, SOCK_DGRAM);
    CHECK_EQ(tsi_req_parse(TSI_PROXY_CREATE, b, 7, &r), -EINVAL);
    b[4] = 99;
    CHECK_EQ(tsi_req_parse(TSI_PROXY_CREATE, b, 8, &r), -EINVAL);
    b[4] = AF_INET;
    b[6] = SOCK_RAW;
    CHECK_EQ(tsi_req_parse(TSI_PROXY_CREATE, b, 8, &r), -EINVAL);
    /* addr_len over 128. */
    put32(b + 4, 129);
    CHECK_EQ(tsi_req_parse(TSI_CONNECT, b, 136, &r), -EINVAL);
    put32(b + 4, 16);
    CHECK_EQ(tsi_req_parse(TSI_CONNECT, b, 135, &r), -EINVAL);
    CHECK_EQ(tsi_req_parse(TSI_CONNECT, b, 136, &r), 0);
    CHECK_EQ(tsi_req_parse(TSI_SENDTO_DATA, b, 136, &r), -EINVAL);
    CHECK_EQ(tsi_req_parse(1000, b, 136, &r), -EINVAL);
    /* LISTEN: backlog is signed. */
    put32(b + 4, 5);
    put32(b + 8, (uint32_t)-1);
    put32(b + 12, 16);
    CHECK_EQ(tsi_req_parse(TSI_LISTEN, b, 144, &r), 0);
    CHECK_EQ(r.peer_port, 5);
    CHECK_EQ(r.backlog, -1);

    /* Addresses. */
    struct sockaddr_storage ss = {0};
    ss.ss_family = AF_INET;
    CHECK_EQ(tsi_addr_check(AF_INET, &ss, 16), 16);
    CHECK_EQ(tsi_addr_check(AF_INET, &ss, 15), -EINVAL);
    CHECK_EQ(tsi_addr_check(AF_INET6, &ss, 28), -EAFNOSUPPORT);
    ss.ss_family = AF_INET6;
    CHECK_EQ(tsi_addr_check(AF_INET6, &ss, 24), 28);
    CHECK_EQ(tsi_addr_check(AF_INET6, &ss, 23), -EINVAL);
    struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
    memset(&ss, 0, sizeof(ss));
    sun->sun_family = AF_UNIX;
    strcpy(sun->sun_path, "/a/b");
    CHECK_EQ(tsi_addr_check(AF_UNIX, &ss, 2 + 5), 2 + 5);
    CHECK_EQ(tsi_addr_check(AF_UNIX, &ss, 2 + 4), -EINVAL); /* no NUL within */
    sun->sun_path[0] = 0;
    CHECK_EQ(tsi_addr_check(AF_UNIX, &ss, 110), -EINVAL); /* abstract */
    memset(sun->sun_path, 'x', sizeof(sun->sun_path));
    sun->sun_path[0] = '/';
    CHECK_EQ(tsi_addr_check(AF_UNIX, &ss, 128), -EINVAL); /* unterminated */

    uint8_t rsp[TSI_RSP_GETNAME_SIZE];
    CHECK_EQ(tsi_rsp_getname(-ENOTCONN, &ss, 16, rsp), TSI_RSP_GETNAME_SIZE);
    uint32_t len;
    memcpy(&len, rsp + 4, 4);
    CHECK_EQ(len, 0);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-vsock-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_packet_parse);
    RUN(test_credit);
    RUN(test_buf);
    RUN(test_tsi_msg);
    RUN(test_port_connect);
    RUN(test_port_listen);
    RUN(test_slow_host_and_violations);
    RUN(test_bounds);
    RUN(test_tsi_connect);
    RUN(test_tsi_listen_accept);
    RUN(test_tsi_udp);
    RUN(test_tsi_families);
    rmdir(tmpdir);
    return TEST_EXIT();
}
