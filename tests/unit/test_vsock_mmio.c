/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/vsock/buf.c src/virtio/vsock/conn.c src/virtio/vsock/core.c src/virtio/vsock/credit.c src/virtio/vsock/device.c src/virtio/vsock/dgram.c src/virtio/vsock/packet.c src/virtio/vsock/ports.c src/virtio/vsock/stream.c src/virtio/vsock/tsi.c src/virtio/vsock/tsi_msg.c src/virtio/worker.c src/virtio/mmio.c src/virtio/queue.c src/util/guest_mem.c src/util/log.c src/util/log_limit.c src/util/thread.c src/util/sandbox.c */
/*
 * virtio-vsock behind the real virtio-mmio transport, driven the way a
 * guest driver does it: features and config, receive buffers posted ahead,
 * packets on the tx queue with QueueNotify, the device's thread relaying a
 * stream to a host unix socket; then a broken ring that must end in
 * NEEDS_RESET (and not a crash), and a reset that closes host sockets.
 */
#include "test.h"

#include <errno.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/guest_mem.h"
#include "virtio/device.h"

#include "mmio_driver.h"
#include "virtio/vsock/packet.h"
#include "virtio/vsock/vsock.h"

#define MIB      (1024u * 1024u)
#define RAM_SIZE (8 * MIB)
#define NUM      256u
#define Q_BASE                                                                                     \
    0x10000ull /* queue q: desc, avail, used at +0, +0x1000, +0x2000 of base+q*0x4000              \
                */
#define RXBUF 0x100000ull
#define RXLEN (4096u + VSOCK_HDR_SIZE)
#define TXBUF 0x400000ull

static char tmpdir[64];

struct gq {
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t avail_idx, used_seen;
};

struct guest {
    struct virtio_device *dev;
    uint8_t *ram;
    struct guest_mem gm;
    struct gq q[3];
    unsigned tx_slot;
};

/* Kicks go to the device thread through the ioeventfd (KVM's job in a VM). */
static void kick(struct guest *g, unsigned q)
{
    __atomic_store_n(&g->q[q].avail->idx, g->q[q].avail_idx, __ATOMIC_RELEASE);
    uint64_t one = 1;
    CHECK_EQ(write(g->dev->kick_fds[q], &one, 8), 8);
}

static uint32_t driver_init(struct guest *g)
{
    memset(g->ram + Q_BASE, 0, 3 * 0x4000);
    mmio_negotiate(g->dev, VIRTIO_FEAT_VERSION_1 | VIRTIO_F_BIT(VSOCK_F_DGRAM));
    for (unsigned q = 0; q < 3; q++) {
        uint64_t base = Q_BASE + q * 0x4000ull;
        g->q[q] = (struct gq){.desc = (void *)(g->ram + base),
                              .avail = (void *)(g->ram + base + 0x1000),
                              .used = (void *)(g->ram + base + 0x2000)};
        mmio_wr(g->dev, R_QUEUE_SEL, q);
        CHECK_EQ(mmio_rd(g->dev, R_QUEUE_NUM_MAX), NUM);
        mmio_wr(g->dev, R_QUEUE_NUM, NUM);
        mmio_wr(g->dev, R_DESC_LO, (uint32_t)base);
        mmio_wr(g->dev, R_AVAIL_LO, (uint32_t)(base + 0x1000));
        mmio_wr(g->dev, R_USED_LO, (uint32_t)(base + 0x2000));
        mmio_wr(g->dev, R_QUEUE_READY, 1);
    }
    mmio_wr(g->dev, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    /* Receive buffers: one descriptor each, header and room together, as Linux posts them. */
    struct gq *rx = &g->q[0];
    for (unsigned i = 0; i < 64; i++) {
        rx->desc[i] =
            (struct vring_desc){RXBUF + (uint64_t)RXLEN * i, RXLEN, VRING_DESC_F_WRITE, 0};
        rx->avail->ring[rx->avail_idx++ % NUM] = (uint16_t)i;
    }
    kick(g, 0);
    g->tx_slot = 0;
    return mmio_rd(g->dev, R_STATUS);
}

static void gsend(struct guest *g, uint32_t sport, uint32_t dport, uint16_t op, const void *data,
                  uint32_t len)
{
    struct gq *tx = &g->q[1];
    unsigned slot = g->tx_slot++ % 64;
    uint64_t hdr_gpa = TXBUF + 0x11000ull * slot;
    struct vsock_hdr h = {.src_cid = 3,
                          .dst_cid = 2,
                          .src_port = sport,
                          .dst_port = dport,
                          .len = len,
                          .type = VSOCK_TYPE_STREAM,
                          .op = op,
                          .buf_alloc = 262144};
    vsock_hdr_encode(&h, g->ram + hdr_gpa);
    if (len)
        memcpy(g->ram + hdr_gpa + 0x1000, data, len);
    /* Header and payload in two descriptors, as Linux sends them. */
    tx->desc[2 * slot] = (struct vring_desc){hdr_gpa, VSOCK_HDR_SIZE, len ? VRING_DESC_F_NEXT : 0,
                                             (uint16_t)(2 * slot + 1)};
    tx->desc[2 * slot + 1] = (struct vring_desc){hdr_gpa + 0x1000, len, 0, 0};
    tx->avail->ring[tx->avail_idx++ % NUM] = (uint16_t)(2 * slot);
    kick(g, 1);
}

/* The next packet the device put in a receive buffer (re-posting the buffer). */
static bool receive(struct guest *g, struct vsock_hdr *h, uint8_t *data)
{
    struct gq *rx = &g->q[0];
    for (int i = 0; i < 3000; i++) {
        if (__atomic_load_n(&rx->used->idx, __ATOMIC_ACQUIRE) != rx->used_seen) {
            struct vring_used_elem e = rx->used->ring[rx->used_seen++ % NUM];
            uint8_t *b = g->ram + RXBUF + (uint64_t)RXLEN * e.id;
            CHECK(e.len >= VSOCK_HDR_SIZE && e.len <= RXLEN);
            vsock_hdr_decode(h, b);
            CHECK_EQ(h->len, e.len - VSOCK_HDR_SIZE);
            if (data)
                memcpy(data, b + VSOCK_HDR_SIZE, h->len);
            rx->avail->ring[rx->avail_idx++ % NUM] = (uint16_t)e.id;
            kick(g, 0);
            return true;
        }
        struct pollfd p = {.fd = g->dev->irq_fd, .events = POLLIN};
        if (poll(&p, 1, 1) == 1) {
            uint64_t n;
            CHECK_EQ(read(g->dev->irq_fd, &n, 8), 8);
            mmio_wr(g->dev, R_ISR_ACK, mmio_rd(g->dev, R_ISR));
        }
    }
    return false;
}

static struct guest *setup(const struct vsock_dev_config *cfg)
{
    struct guest *g = calloc(1, sizeof(*g));
    g->ram = calloc(1, RAM_SIZE);
    CHECK_EQ(gm_add_region(&g->gm, 0, RAM_SIZE, g->ram), 0);
    char err[256];
    CHECK_EQ(virtio_vsock_create(cfg, &g->dev, err, sizeof(err)), 0);
    /* What vm_attach_virtio does. */
    virtio_device_init(g->dev);
    g->dev->gm = &g->gm;
    g->dev->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    for (unsigned q = 0; q < 3; q++)
        g->dev->kick_fds[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return g;
}

static void teardown(struct guest *g)
{
    g->dev->ops->destroy(g->dev);
    close(g->dev->irq_fd);
    for (unsigned q = 0; q < 3; q++)
        close(g->dev->kick_fds[q]);
    pthread_mutex_destroy(&g->dev->lock);
    free(g->dev);
    free(g->ram);
    free(g);
}

static int unix_listener(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    unlink(path);
    CHECK_EQ(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    CHECK_EQ(listen(fd, 4), 0);
    return fd;
}

static void test_registers_and_config(void)
{
    struct vsock_dev_config cfg = {.tsi_features = 1};
    struct guest *g = setup(&cfg);
    CHECK_EQ(mmio_rd(g->dev, R_MAGIC), 0x74726976);
    CHECK_EQ(mmio_rd(g->dev, R_DEVICE_ID), 19);
    uint64_t f = mmio_device_features(g->dev);
    CHECK(f & VIRTIO_FEAT_VERSION_1);
    CHECK(f & VIRTIO_FEAT_EVENT_IDX);
    CHECK(f & VIRTIO_FEAT_IN_ORDER);
    CHECK(f & VIRTIO_F_BIT(VSOCK_F_DGRAM));
    CHECK(!(f & VIRTIO_F_BIT(VSOCK_F_SEQPACKET)));
    CHECK_EQ(mmio_rd(g->dev, R_CONFIG), 3); /* guest_cid */
    CHECK_EQ(mmio_rd(g->dev, R_CONFIG + 4), 0);
    teardown(g);
}

static void test_stream_through_transport(void)
{
    char path[96];
    snprintf(path, sizeof(path), "%s/port.sock", tmpdir);
    int lfd = unix_listener(path);
    struct vsock_port_config ports[] = {{.port = 1234, .path = path}};
    struct vsock_dev_config cfg = {.ports = ports, .n_ports = 1};
    struct guest *g = setup(&cfg);
    CHECK(driver_init(g) & S_DRIVER_OK);

    struct vsock_hdr h;
    uint8_t data[RXLEN];
    gsend(g, 4000, 1234, VSOCK_OP_REQUEST, NULL, 0);
    CHECK(receive(g, &h, NULL));
    CHECK_EQ(h.op, VSOCK_OP_RESPONSE);
    CHECK_EQ(h.dst_port, 4000);
    int hfd = accept(lfd, NULL, NULL);
    CHECK(hfd >= 0);

    gsend(g, 4000, 1234, VSOCK_OP_RW, "from the guest", 14);
    char buf[64] = "";
    struct pollfd p = {.fd = hfd, .events = POLLIN};
    CHECK_EQ(poll(&p, 1, 3000), 1);
    CHECK_EQ(read(hfd, buf, sizeof(buf)), 14);
    CHECK(memcmp(buf, "from the guest", 14) == 0);

    /* 64 KiB from the host arrive in 4 KiB receive buffers, in order. */
    static uint8_t big[65536];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 13 + 1);
    CHECK_EQ(write(hfd, big, sizeof(big)), (ssize_t)sizeof(big));
    size_t got = 0;
    bool same = true;
    while (got < sizeof(big) && receive(g, &h, data)) {
        if (h.op != VSOCK_OP_RW)
            continue;
        same &= memcmp(data, big + got, h.len) == 0;
        got += h.len;
    }
    CHECK_EQ(got, sizeof(big));
    CHECK(same);

    /* A reset closes the host side. */
    mmio_wr(g->dev, R_STATUS, 0);
    CHECK_EQ(poll(&p, 1, 3000), 1);
    CHECK_EQ(read(hfd, buf, sizeof(buf)), 0);
    close(hfd);
    close(lfd);
    teardown(g);
    unlink(path);
}

static void test_broken_ring(void)
{
    struct vsock_dev_config cfg = {0};
    struct guest *g = setup(&cfg);
    CHECK(driver_init(g) & S_DRIVER_OK);
    /* A chain whose buffer lies outside guest memory. */
    struct gq *tx = &g->q[1];
    tx->desc[0] = (struct vring_desc){RAM_SIZE - 8, 64, 0, 0};
    tx->avail->ring[tx->avail_idx++ % NUM] = 0;
    kick(g, 1);
    bool failed = false;
    for (int i = 0; i < 3000 && !failed; i++) {
        failed = mmio_rd(g->dev, R_STATUS) & S_NEEDS_RESET;
        usleep(1000);
    }
    CHECK(failed);
    CHECK(mmio_rd(g->dev, R_ISR) & 2); /* the config interrupt says so */
    /* The driver resets and starts over: the device works again. */
    CHECK(driver_init(g) & S_DRIVER_OK);
    CHECK(!(mmio_rd(g->dev, R_STATUS) & S_NEEDS_RESET));
    gsend(g, 4001, 7777, VSOCK_OP_REQUEST, NULL, 0);
    struct vsock_hdr h;
    CHECK(receive(g, &h, NULL));
    CHECK_EQ(h.op, VSOCK_OP_RST);
    /* An avail index that runs more than a queue ahead. */
    tx->avail_idx = (uint16_t)(tx->avail_idx + NUM + 5);
    kick(g, 1);
    failed = false;
    for (int i = 0; i < 3000 && !failed; i++) {
        failed = mmio_rd(g->dev, R_STATUS) & S_NEEDS_RESET;
        usleep(1000);
    }
    CHECK(failed);
    teardown(g);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-vsock-mmio-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_registers_and_config);
    RUN(test_stream_through_transport);
    RUN(test_broken_ring);
    rmdir(tmpdir);
    return TEST_EXIT();
}
