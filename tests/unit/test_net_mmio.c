/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/net/device.c src/virtio/net/backend.c src/virtio/net/frame.c src/virtio/worker.c src/virtio/mmio.c src/virtio/queue.c src/util/guest_mem.c src/util/log.c src/util/log_limit.c src/util/thread.c src/util/sandbox.c */
/*
 * virtio-net behind the real transport, driven as Linux's driver does,
 * against the host end of a socketpair standing in for passt (stream) or
 * gvproxy (datagrams): the features and config, frames both ways with the
 * stream's length prefix, mergeable RX buffers, the checksum the device
 * finishes, bad frames dropped, backpressure, and the peer going away.
 */
#include "test.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libkrun.h"
#include "util/guest_mem.h"
#include "util/log_limit.h"
#include "virtio/device.h"
#include "virtio/net/frame.h"
#include "virtio/net/net.h"

#include "mmio_driver.h"

#define RAM_SIZE (4u * 1024 * 1024)
#define NUM      16u
#define RING(q)  (0x1000ull + (q)*0x4000ull) /* desc, avail at +0x1000, used at +0x2000 */
#define BUF      0x100000ull

struct guest {
    struct virtio_device *dev;
    int peer; /* the backend's other end */
    uint8_t *ram;
    struct guest_mem gm;
    struct vring_desc *desc[2];
    struct vring_avail *avail[2];
    struct vring_used *used[2];
    uint16_t avail_idx[2];
};

static const uint8_t MAC[6] = {0x5a, 0x94, 0xef, 0xe4, 0x0c, 0x01};

static struct guest *setup(int type, uint32_t features)
{
    struct guest *g = calloc(1, sizeof(*g));
    g->ram = calloc(1, RAM_SIZE);
    CHECK_EQ(gm_add_region(&g->gm, 0, RAM_SIZE, g->ram), 0);
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
    g->peer = sv[1];
    struct net_backend be;
    char err[256];
    if (type == SOCK_STREAM)
        CHECK_EQ(net_backend_open_stream(&be, NULL, sv[0], err, sizeof(err)), 0);
    else
        CHECK_EQ(net_backend_open_dgram(&be, NULL, sv[0], false, 0, err, sizeof(err)), 0);
    CHECK_EQ(virtio_net_create("eth0", &be, MAC, features, &g->dev, err, sizeof(err)), 0);
    virtio_device_init(g->dev);
    g->dev->gm = &g->gm;
    g->dev->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    for (int q = 0; q < 2; q++) {
        g->dev->kick_fds[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        g->desc[q] = (void *)(g->ram + RING(q));
        g->avail[q] = (void *)(g->ram + RING(q) + 0x1000);
        g->used[q] = (void *)(g->ram + RING(q) + 0x2000);
    }
    return g;
}

static void teardown(struct guest *g)
{
    g->dev->ops->destroy(g->dev);
    close(g->dev->irq_fd);
    for (int q = 0; q < 2; q++)
        close(g->dev->kick_fds[q]);
    if (g->peer >= 0)
        close(g->peer);
    pthread_mutex_destroy(&g->dev->lock);
    log_limit_destroy(&g->dev->fail_log);
    free(g->dev);
    free(g->ram);
    free(g);
}

static uint32_t driver_init(struct guest *g, uint64_t want)
{
    memset(g->ram + RING(0), 0, 0x8000);
    g->avail_idx[0] = g->avail_idx[1] = 0;
    mmio_negotiate(g->dev, want | VIRTIO_FEAT_VERSION_1);
    for (uint32_t q = 0; q < 2; q++) {
        mmio_wr(g->dev, R_QUEUE_SEL, q);
        mmio_wr(g->dev, R_QUEUE_NUM, NUM);
        mmio_wr(g->dev, R_DESC_LO, (uint32_t)RING(q));
        mmio_wr(g->dev, R_AVAIL_LO, (uint32_t)(RING(q) + 0x1000));
        mmio_wr(g->dev, R_USED_LO, (uint32_t)(RING(q) + 0x2000));
        mmio_wr(g->dev, R_QUEUE_READY, 1);
    }
    mmio_wr(g->dev, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    return mmio_rd(g->dev, R_STATUS);
}

/* One descriptor at gpa on queue q (writable for RX), and a kick. */
static void post(struct guest *g, int q, uint16_t id, uint64_t gpa, uint32_t len)
{
    uint16_t flags = q == 0 ? VRING_DESC_F_WRITE : 0;
    g->desc[q][id] = (struct vring_desc){gpa, len, flags, 0};
    g->avail[q]->ring[g->avail_idx[q]++ % NUM] = id;
    __atomic_store_n(&g->avail[q]->idx, g->avail_idx[q], __ATOMIC_RELEASE);
    uint64_t one = 1;
    CHECK_EQ(write(g->dev->kick_fds[q], &one, 8), 8);
}

static bool wait_used(struct guest *g, int q, uint16_t n)
{
    for (int i = 0; i < 300; i++) {
        if (__atomic_load_n(&g->used[q]->idx, __ATOMIC_ACQUIRE) == n)
            return true;
        struct pollfd p = {.fd = g->dev->irq_fd, .events = POLLIN};
        uint64_t count;
        if (poll(&p, 1, 10) == 1 && read(g->dev->irq_fd, &count, 8) != 8)
            return false;
    }
    return false;
}

/* A TX frame in guest memory at gpa: header h, then len bytes of pattern. */
static void tx_frame(struct guest *g, uint64_t gpa, const struct net_hdr *h, size_t len)
{
    net_hdr_write(g->ram + gpa, h);
    for (size_t i = 0; i < len; i++)
        g->ram[gpa + NET_HDR_LEN + i] = (uint8_t)(i * 3 + 1);
}

/* Read exactly n bytes from the peer (1 s at most). */
static bool peer_read(struct guest *g, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {.fd = g->peer, .events = POLLIN};
        if (poll(&p, 1, 1000) != 1)
            return false;
        ssize_t r = read(g->peer, buf + got, n - got);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

static void test_features_and_config(void)
{
    struct guest *g = setup(SOCK_STREAM, COMPAT_NET_FEATURES);
    CHECK_EQ(mmio_rd(g->dev, R_DEVICE_ID), 1u);
    uint64_t f = mmio_device_features(g->dev);
    CHECK(f & (1ull << VIRTIO_NET_F_MAC));
    CHECK(f & (1ull << VIRTIO_NET_F_STATUS));
    CHECK(f & (1ull << VIRTIO_NET_F_MRG_RXBUF));
    CHECK(f & (1ull << VIRTIO_NET_F_CSUM));
    CHECK(f & (1ull << VIRTIO_NET_F_GUEST_TSO4));
    /* A stream carries plain frames: no segmentation offloads from the guest. */
    CHECK(!(f & (1ull << VIRTIO_NET_F_HOST_TSO4)));
    CHECK(!(f & (1ull << VIRTIO_NET_F_HOST_UFO)));
    CHECK(!(f & (1ull << VIRTIO_NET_F_GUEST_TSO6))); /* not asked for */
    uint64_t tap =
        virtio_net_offered_features(COMPAT_NET_FEATURES | NET_FEATURE_HOST_TSO6, NET_BACKEND_TAP);
    CHECK(tap & (1ull << VIRTIO_NET_F_HOST_TSO4));
    CHECK(tap & (1ull << VIRTIO_NET_F_HOST_TSO6));
    uint8_t cfg[8];
    for (int i = 0; i < 8; i++)
        virtio_mmio_read(g->dev, R_CONFIG + (uint64_t)i, &cfg[i], 1);
    CHECK(memcmp(cfg, MAC, 6) == 0);
    CHECK_EQ(cfg[6] | cfg[7] << 8, VIRTIO_NET_S_LINK_UP);
    teardown(g);
}

/* TX on a stream: each frame behind its big-endian length; the header stays behind. */
static void test_stream_tx(void)
{
    struct guest *g = setup(SOCK_STREAM, COMPAT_NET_FEATURES);
    CHECK_EQ(driver_init(g, ~0ull) & S_NEEDS_RESET, 0u);
    struct net_hdr h = {0};
    tx_frame(g, BUF, &h, 60);
    post(g, 1, 0, BUF, NET_HDR_LEN + 60);
    tx_frame(g, BUF + 0x20000, &h, 1514);
    post(g, 1, 1, BUF + 0x20000, NET_HDR_LEN + 1514);
    /* Shorter than a header plus an Ethernet header: dropped, the buffer still returned. */
    post(g, 1, 2, BUF + 0x40000, NET_HDR_LEN + 4);
    CHECK(wait_used(g, 1, 3));
    uint8_t buf[4 + 1514];
    CHECK(peer_read(g, buf, 4 + 60));
    CHECK(buf[0] == 0 && buf[1] == 0 && buf[2] == 0 && buf[3] == 60);
    CHECK(memcmp(buf + 4, g->ram + BUF + NET_HDR_LEN, 60) == 0);
    CHECK(peer_read(g, buf, 4 + 1514));
    CHECK(buf[2] == 1514 >> 8 && buf[3] == (1514 & 0xff));
    CHECK(memcmp(buf + 4, g->ram + BUF + 0x20000 + NET_HDR_LEN, 1514) == 0);
    struct pollfd p = {.fd = g->peer, .events = POLLIN};
    CHECK_EQ(poll(&p, 1, 100), 0); /* nothing of the short one */

    /* NEEDS_CSUM: the device writes the checksum over [csum_start, end). */
    h = (struct net_hdr){.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 4};
    tx_frame(g, BUF, &h, 60);
    g->ram[BUF + NET_HDR_LEN + 24] = g->ram[BUF + NET_HDR_LEN + 25] = 0;
    uint16_t want = net_csum(g->ram + BUF + NET_HDR_LEN + 20, 40);
    post(g, 1, 3, BUF, NET_HDR_LEN + 60);
    /* A segmentation offload the device did not offer: dropped. */
    h = (struct net_hdr){.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1000};
    tx_frame(g, BUF + 0x20000, &h, 3000);
    post(g, 1, 4, BUF + 0x20000, NET_HDR_LEN + 3000);
    CHECK(wait_used(g, 1, 5));
    CHECK(peer_read(g, buf, 4 + 60));
    CHECK_EQ(buf[4 + 24] << 8 | buf[4 + 25], want);
    CHECK_EQ(poll(&p, 1, 100), 0);
    teardown(g);
}

/* RX on a stream: a frame spans mergeable buffers; num_buffers says how many. */
static void test_stream_rx_mergeable(void)
{
    struct guest *g = setup(SOCK_STREAM, 0);
    CHECK_EQ(driver_init(g, ~0ull) & S_NEEDS_RESET, 0u);
    uint8_t msg[4 + 100];
    net_stream_prefix(msg, 100);
    for (int i = 0; i < 100; i++)
        msg[4 + i] = (uint8_t)(i + 9);
    /* Sent before the guest has buffers: it waits (backpressure), nothing is lost. */
    CHECK_EQ(write(g->peer, msg, 2), 2);
    CHECK_EQ(write(g->peer, msg + 2, sizeof(msg) - 2), (ssize_t)sizeof(msg) - 2);
    usleep(50000);
    CHECK_EQ(g->used[0]->idx, 0);
    post(g, 0, 0, BUF, 64);
    post(g, 0, 1, BUF + 0x1000, 64);
    CHECK(wait_used(g, 0, 2));
    CHECK_EQ(g->used[0]->ring[0].len, 64u);
    CHECK_EQ(g->used[0]->ring[1].len, (uint32_t)(NET_HDR_LEN + 100 - 64));
    struct net_hdr h;
    net_hdr_parse(g->ram + BUF, &h);
    CHECK_EQ(h.num_buffers, 2);
    CHECK_EQ(h.flags, 0);
    CHECK(memcmp(g->ram + BUF + NET_HDR_LEN, msg + 4, 64 - NET_HDR_LEN) == 0);
    CHECK(memcmp(g->ram + BUF + 0x1000, msg + 4 + 64 - NET_HDR_LEN, 100 - 64 + NET_HDR_LEN) == 0);

    /* A length prefix beyond any frame is skipped; the next frame still arrives. */
    static uint8_t big[4 + 70000 + 4 + 20];
    net_stream_prefix(big, 70000);
    net_stream_prefix(big + 4 + 70000, 20);
    memset(big + 4 + 70000 + 4, 0x5c, 20);
    post(g, 0, 2, BUF + 0x2000, 2048);
    size_t off = 0;
    while (off < sizeof(big)) {
        ssize_t r = write(g->peer, big + off, sizeof(big) - off);
        CHECK(r > 0);
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    CHECK(wait_used(g, 0, 3));
    CHECK_EQ(g->used[0]->ring[2].len, (uint32_t)(NET_HDR_LEN + 20));
    CHECK_EQ(g->ram[BUF + 0x2000 + NET_HDR_LEN + 19], 0x5c);

    /* The peer goes away inside a frame: the link goes down. */
    CHECK_EQ(write(g->peer, msg, 10), 10);
    close(g->peer);
    g->peer = -1;
    uint8_t status = 1;
    for (int i = 0; i < 100 && status; i++) {
        usleep(10000);
        virtio_mmio_read(g->dev, R_CONFIG + 6, &status, 1);
    }
    CHECK_EQ(status, 0);
    teardown(g);
}

/* Datagrams: one frame each way per datagram, no prefix; without MRG_RXBUF a frame needs one
 * buffer. */
static void test_dgram(void)
{
    struct guest *g = setup(SOCK_DGRAM, NET_FEATURE_CSUM);
    CHECK_EQ(driver_init(g, ~(1ull << VIRTIO_NET_F_MRG_RXBUF)) & S_NEEDS_RESET, 0u);
    struct net_hdr h = {0};
    tx_frame(g, BUF, &h, 42);
    post(g, 1, 0, BUF, NET_HDR_LEN + 42);
    CHECK(wait_used(g, 1, 1));
    uint8_t d[2000];
    CHECK_EQ(recv(g->peer, d, sizeof(d), 0), 42);
    CHECK(memcmp(d, g->ram + BUF + NET_HDR_LEN, 42) == 0);

    /* A frame bigger than the guest's buffer is dropped; the buffer serves the next. */
    memset(d, 0x77, sizeof(d));
    post(g, 0, 0, BUF + 0x10000, NET_HDR_LEN + 100);
    CHECK_EQ(send(g->peer, d, 1000, 0), 1000);
    CHECK_EQ(send(g->peer, d, 60, 0), 60);
    CHECK(wait_used(g, 0, 1));
    CHECK_EQ(g->used[0]->ring[0].len, (uint32_t)(NET_HDR_LEN + 60));
    net_hdr_parse(g->ram + BUF + 0x10000, &h);
    CHECK_EQ(h.num_buffers, 1);
    teardown(g);
}

/* The peer's side of test_stream_rx_stress: frames of many sizes, each byte a function of (frame,
 * offset). */
#define STRESS_FRAMES 300

static uint32_t stress_len(unsigned i)
{
    return i % 7 == 0 ? NET_FRAME_MAX : 14 + (i * 7919u) % 9000u;
}

static uint8_t stress_byte(unsigned i, uint32_t off)
{
    return (uint8_t)(i * 31u + off * 7u + (off >> 8));
}

static void *stress_writer(void *arg)
{
    int fd = *(int *)arg;
    static uint8_t buf[4 + NET_FRAME_MAX];
    for (unsigned i = 0; i < STRESS_FRAMES; i++) {
        uint32_t len = stress_len(i);
        net_stream_prefix(buf, len);
        for (uint32_t j = 0; j < len; j++)
            buf[4 + j] = stress_byte(i, j);
        size_t off = 0;
        while (off < 4 + len) {
            ssize_t r = write(fd, buf + off, 4 + len - off);
            if (r <= 0)
                return NULL;
            off += (size_t)r;
        }
    }
    return NULL;
}

/*
 * Many frames of every size through a stream, while the guest recycles a
 * ring of mergeable buffers as Linux does: every frame arrives whole, in
 * order, byte for byte.
 */
static void test_stream_rx_stress(void)
{
    struct guest *g = setup(SOCK_STREAM, COMPAT_NET_FEATURES);
    CHECK_EQ(driver_init(g, ~0ull) & S_NEEDS_RESET, 0u);
    const uint32_t bsize = 8192;
    for (uint16_t id = 0; id < NUM; id++)
        post(g, 0, id, BUF + id * (uint64_t)bsize, bsize);
    pthread_t t;
    pthread_create(&t, NULL, stress_writer, &g->peer);
    static uint8_t frame[NET_HDR_LEN + NET_FRAME_MAX];
    uint16_t seen = 0;
    unsigned got = 0, bad = 0;
    size_t flen = 0;
    unsigned left = 0; /* buffers still to come of the current frame */
    while (got < STRESS_FRAMES) {
        int waited = 0;
        while (__atomic_load_n(&g->used[0]->idx, __ATOMIC_ACQUIRE) == seen && waited++ < 500)
            usleep(2000);
        if (__atomic_load_n(&g->used[0]->idx, __ATOMIC_ACQUIRE) == seen)
            break;
        struct vring_used_elem e = g->used[0]->ring[seen++ % NUM];
        const uint8_t *p = g->ram + BUF + e.id * (uint64_t)bsize;
        if (!left) {
            struct net_hdr h;
            net_hdr_parse(p, &h);
            left = h.num_buffers;
            flen = 0;
        }
        if (flen + e.len <= sizeof(frame))
            memcpy(frame + flen, p, e.len);
        flen += e.len;
        post(g, 0, (uint16_t)e.id, BUF + e.id * (uint64_t)bsize, bsize);
        if (--left)
            continue;
        uint32_t want = stress_len(got);
        bool same = flen == NET_HDR_LEN + want;
        for (uint32_t j = 0; same && j < want; j++)
            same = frame[NET_HDR_LEN + j] == stress_byte(got, j);
        bad += !same;
        got++;
    }
    pthread_join(t, NULL);
    CHECK_EQ(got, (unsigned)STRESS_FRAMES);
    CHECK_EQ(bad, 0u);
    teardown(g);
}

/*
 * A peer that stops reading: the device stops taking TX frames (the guest's
 * ring waits, the device holds one batch at most); once the peer reads
 * again, every frame arrives, in order.
 */
static void test_stream_tx_backpressure(void)
{
    struct guest *g = setup(SOCK_STREAM, 0);
    int small = 4096;
    CHECK_EQ(setsockopt(g->peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    CHECK_EQ(driver_init(g, ~0ull) & S_NEEDS_RESET, 0u);
    const uint32_t flen = 60000;
    struct net_hdr h = {0};
    for (uint16_t i = 0; i < NUM; i++) {
        uint64_t gpa = BUF + i * 0x10000ull;
        tx_frame(g, gpa, &h, flen);
        g->ram[gpa + NET_HDR_LEN] = (uint8_t)i; /* which frame */
        post(g, 1, i, gpa, NET_HDR_LEN + flen);
    }
    usleep(300000);
    uint16_t taken = __atomic_load_n(&g->used[1]->idx, __ATOMIC_ACQUIRE);
    CHECK(taken < NUM);
    static uint8_t buf[4 + 60000];
    for (unsigned i = 0; i < NUM; i++) {
        CHECK(peer_read(g, buf, 4 + flen));
        CHECK_EQ(buf[4], (uint8_t)i);
        CHECK(memcmp(buf + 5, g->ram + BUF + i * 0x10000ull + NET_HDR_LEN + 1, flen - 1) == 0);
    }
    CHECK(wait_used(g, 1, NUM));
    teardown(g);
}

/* A broken ring fails the device (NEEDS_RESET); the VMM goes on. */
static void test_broken_ring(void)
{
    struct guest *g = setup(SOCK_STREAM, 0);
    CHECK_EQ(driver_init(g, ~0ull) & S_NEEDS_RESET, 0u);
    post(g, 1, 0, RAM_SIZE - 8, 64);
    for (int i = 0; i < 100 && !(mmio_rd(g->dev, R_STATUS) & S_NEEDS_RESET); i++)
        usleep(10000);
    CHECK(mmio_rd(g->dev, R_STATUS) & S_NEEDS_RESET);
    /* A reset and a new driver: frames flow again. */
    CHECK_EQ(driver_init(g, ~0ull) & S_NEEDS_RESET, 0u);
    struct net_hdr h = {0};
    tx_frame(g, BUF, &h, 60);
    post(g, 1, 0, BUF, NET_HDR_LEN + 60);
    CHECK(wait_used(g, 1, 1));
    uint8_t buf[64];
    CHECK(peer_read(g, buf, 64));
    teardown(g);
}

int main(void)
{
    RUN(test_features_and_config);
    RUN(test_stream_tx);
    RUN(test_stream_rx_mergeable);
    RUN(test_stream_rx_stress);
    RUN(test_stream_tx_backpressure);
    RUN(test_dgram);
    RUN(test_broken_ring);
    return TEST_EXIT();
}
