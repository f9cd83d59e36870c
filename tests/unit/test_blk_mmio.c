/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/blk/device.c src/virtio/blk/disk.c src/virtio/blk/request.c src/virtio/blk/io_sync.c src/virtio/blk/io_uring.c src/virtio/blk/worker.c src/virtio/mmio.c src/virtio/queue.c src/util/guest_mem.c src/util/log.c src/util/log_limit.c src/util/thread.c src/util/sandbox.c src/virtio/blk/format.c src/virtio/blk/raw_backing.c src/virtio/blk/io_format.c src/virtio/blk/qcow2.c src/virtio/blk/qcow2_header.c src/virtio/blk/qcow2_table.c src/virtio/blk/qcow2_refcount.c src/virtio/blk/qcow2_compress.c src/virtio/blk/qcow2_io.c src/virtio/blk/vmdk.c */
/* LDLIBS: -luring -lz -lzstd */
/*
 * virtio-blk behind the real virtio-mmio transport, driven the way a guest
 * driver does it: register writes for feature negotiation and queue setup,
 * QueueNotify, interrupts on an eventfd, config space reads, a reset while
 * requests are in flight, and a broken ring that must end in NEEDS_RESET.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "libkrun.h"
#include "util/guest_mem.h"
#include "util/log.h"
#include "virtio/blk/config.h"
#include "virtio/blk/blk.h"
#include "virtio/device.h"

#include "mmio_driver.h"

#define MIB       (1024u * 1024u)
#define RAM_SIZE  (8 * MIB)
#define NUM       256u
#define DESC_GPA  0x10000ull
#define AVAIL_GPA 0x20000ull
#define USED_GPA  0x21000ull
#define HDR_GPA   0x30000ull
#define STAT_GPA  0x38000ull
#define DATA_GPA  0x100000ull

static char tmpdir[64];

struct guest {
    struct virtio_device *dev;
    uint8_t *ram;
    struct guest_mem gm;
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t avail_idx;
    uint16_t used_seen;
};

/* The driver's init sequence; returns the final status register. */
static uint32_t driver_init(struct guest *g, uint64_t want)
{
    memset(g->ram + DESC_GPA, 0, USED_GPA + 0x1000 - DESC_GPA);
    g->avail_idx = g->used_seen = 0;
    mmio_negotiate(g->dev, want);
    CHECK(mmio_rd(g->dev, R_STATUS) & S_FEATURES_OK);
    mmio_wr(g->dev, R_QUEUE_SEL, 0);
    CHECK_EQ(mmio_rd(g->dev, R_QUEUE_NUM_MAX), NUM);
    mmio_wr(g->dev, R_QUEUE_NUM, NUM);
    mmio_wr(g->dev, R_DESC_LO, (uint32_t)DESC_GPA);
    mmio_wr(g->dev, R_DESC_HI, 0);
    mmio_wr(g->dev, R_AVAIL_LO, (uint32_t)AVAIL_GPA);
    mmio_wr(g->dev, R_AVAIL_HI, 0);
    mmio_wr(g->dev, R_USED_LO, (uint32_t)USED_GPA);
    mmio_wr(g->dev, R_USED_HI, 0);
    mmio_wr(g->dev, R_QUEUE_READY, 1);
    mmio_wr(g->dev, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    return mmio_rd(g->dev, R_STATUS);
}

/* Request slot i: descriptors 3i..3i+2 (header, 4 KiB data, status). */
static void add_req(struct guest *g, unsigned i, uint32_t type, uint64_t sector)
{
    struct virtio_blk_outhdr *h = (void *)(g->ram + HDR_GPA + 16 * i);
    h->type = type;
    h->ioprio = 0;
    h->sector = sector;
    g->ram[STAT_GPA + i] = 0xAA;
    uint16_t dir = type == VIRTIO_BLK_T_OUT ? 0 : VRING_DESC_F_WRITE;
    struct vring_desc *d = &g->desc[3 * i];
    d[0] = (struct vring_desc){HDR_GPA + 16 * i, 16, VRING_DESC_F_NEXT, (uint16_t)(3 * i + 1)};
    d[1] = (struct vring_desc){DATA_GPA + 4096ull * i, 4096, VRING_DESC_F_NEXT | dir,
                               (uint16_t)(3 * i + 2)};
    d[2] = (struct vring_desc){STAT_GPA + i, 1, VRING_DESC_F_WRITE, 0};
    g->avail->ring[g->avail_idx % NUM] = (uint16_t)(3 * i);
    g->avail_idx++;
}

static void publish(struct guest *g)
{
    __atomic_store_n(&g->avail->idx, g->avail_idx, __ATOMIC_RELEASE);
    mmio_wr(g->dev, R_QUEUE_NOTIFY, 0);
}

/* Wait for the used index to reach want, taking interrupts like a driver. */
static bool wait_used(struct guest *g, uint16_t want, unsigned *irqs)
{
    for (int i = 0; i < 5000; i++) {
        if (__atomic_load_n(&g->used->idx, __ATOMIC_ACQUIRE) == want)
            return true;
        struct pollfd p = {.fd = g->dev->irq_fd, .events = POLLIN};
        if (poll(&p, 1, 1) == 1) {
            uint64_t n;
            if (read(g->dev->irq_fd, &n, 8) == 8 && irqs)
                *irqs += (unsigned)n;
            mmio_wr(g->dev, R_ISR_ACK, mmio_rd(g->dev, R_ISR));
            /* EVENT_IDX: ask for the next interrupt after what we have seen. */
            uint16_t *used_event = &g->avail->ring[NUM];
            __atomic_store_n(used_event, __atomic_load_n(&g->used->idx, __ATOMIC_ACQUIRE),
                             __ATOMIC_RELEASE);
        }
    }
    return false;
}

static void make_image(const char *path, size_t size)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(ftruncate(fd, (off_t)size), 0);
    close(fd);
}

static struct guest *setup(const char *img, bool ro)
{
    struct guest *g = calloc(1, sizeof(*g));
    g->ram = calloc(1, RAM_SIZE);
    CHECK_EQ(gm_add_region(&g->gm, 0, RAM_SIZE, g->ram), 0);
    g->desc = (void *)(g->ram + DESC_GPA);
    g->avail = (void *)(g->ram + AVAIL_GPA);
    g->used = (void *)(g->ram + USED_GPA);
    struct disk_config cfg = {.block_id = "vda",
                              .path = (char *)img,
                              .format = KRUN_DISK_FORMAT_RAW,
                              .read_only = ro,
                              .sync_mode = KRUN_SYNC_FULL};
    char err[256];
    CHECK_EQ(virtio_blk_create(&cfg, &g->dev, err, sizeof(err)), 0);
    /* What vm_attach_virtio does. */
    virtio_device_init(g->dev);
    g->dev->gm = &g->gm;
    g->dev->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    g->dev->kick_fds[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return g;
}

static void teardown(struct guest *g)
{
    /* What vm_destroy does. */
    g->dev->ops->destroy(g->dev);
    close(g->dev->irq_fd);
    close(g->dev->kick_fds[0]);
    pthread_mutex_destroy(&g->dev->lock);
    free(g->dev);
    free(g->ram);
    free(g);
}

static const uint64_t want_all =
    VIRTIO_FEAT_VERSION_1 | VIRTIO_FEAT_EVENT_IDX | VIRTIO_F_BIT(VIRTIO_BLK_F_FLUSH) |
    VIRTIO_F_BIT(VIRTIO_BLK_F_SEG_MAX) | VIRTIO_F_BIT(VIRTIO_BLK_F_BLK_SIZE) |
    VIRTIO_F_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_F_BIT(VIRTIO_BLK_F_WRITE_ZEROES) |
    VIRTIO_F_BIT(VIRTIO_BLK_F_RO);

static void test_registers_and_config(void)
{
    char img[128];
    snprintf(img, sizeof(img), "%s/regs.img", tmpdir);
    make_image(img, 8 * MIB);
    struct guest *g = setup(img, false);
    CHECK_EQ(mmio_rd(g->dev, R_MAGIC), 0x74726976);
    CHECK_EQ(mmio_rd(g->dev, R_DEVICE_ID), 2);
    uint64_t f = mmio_device_features(g->dev);
    CHECK(f & VIRTIO_FEAT_VERSION_1);
    CHECK(f & VIRTIO_FEAT_EVENT_IDX);
    CHECK(f & VIRTIO_F_BIT(VIRTIO_BLK_F_FLUSH));
    CHECK(!(f & VIRTIO_F_BIT(VIRTIO_BLK_F_RO)));
    uint32_t lo = mmio_rd(g->dev, R_CONFIG), hi = mmio_rd(g->dev, R_CONFIG + 4);
    CHECK_EQ(((uint64_t)hi << 32) | lo, 8 * MIB / 512);
    CHECK_EQ(mmio_rd(g->dev, R_CONFIG + offsetof(struct virtio_blk_config, seg_max)), 254);
    CHECK_EQ(mmio_rd(g->dev, R_CONFIG + offsetof(struct virtio_blk_config, blk_size)), 512);
    teardown(g);

    snprintf(img, sizeof(img), "%s/ro.img", tmpdir);
    make_image(img, MIB);
    g = setup(img, true);
    f = mmio_device_features(g->dev);
    CHECK(f & VIRTIO_F_BIT(VIRTIO_BLK_F_RO));
    CHECK(!(f & VIRTIO_F_BIT(VIRTIO_BLK_F_DISCARD)));
    teardown(g);
}

static void test_io_through_transport(void)
{
    char img[128];
    snprintf(img, sizeof(img), "%s/io.img", tmpdir);
    make_image(img, 8 * MIB);
    struct guest *g = setup(img, false);
    CHECK(driver_init(g, want_all) & S_DRIVER_OK);

    /* 80 writes (different patterns), one flush, then 80 reads. */
    const unsigned n = 80;
    for (unsigned i = 0; i < n; i++) {
        memset(g->ram + DATA_GPA + 4096ull * i, (int)(i + 1), 4096);
        add_req(g, i, VIRTIO_BLK_T_OUT, 8ull * i);
    }
    publish(g);
    unsigned irqs = 0;
    CHECK(wait_used(g, (uint16_t)n, &irqs));
    bool all_ok = true;
    for (unsigned i = 0; i < n; i++)
        all_ok = all_ok && g->ram[STAT_GPA + i] == VIRTIO_BLK_S_OK;
    CHECK(all_ok);
    add_req(g, n, VIRTIO_BLK_T_FLUSH, 0);
    g->desc[3 * n].flags = VRING_DESC_F_NEXT; /* header -> status, no data */
    g->desc[3 * n].next = (uint16_t)(3 * n + 2);
    publish(g);
    CHECK(wait_used(g, (uint16_t)(n + 1), &irqs));
    CHECK_EQ(g->ram[STAT_GPA + n], VIRTIO_BLK_S_OK);

    for (unsigned i = 0; i < n; i++) {
        memset(g->ram + DATA_GPA + 4096ull * i, 0, 4096);
        add_req(g, i, VIRTIO_BLK_T_IN, 8ull * i);
    }
    publish(g);
    CHECK(wait_used(g, (uint16_t)(2 * n + 1), &irqs));
    bool data_ok = true;
    for (unsigned i = 0; i < n; i++) {
        data_ok = data_ok && g->ram[STAT_GPA + i] == VIRTIO_BLK_S_OK;
        for (unsigned k = 0; k < 4096; k += 511)
            data_ok = data_ok && g->ram[DATA_GPA + 4096ull * i + k] == (uint8_t)(i + 1);
    }
    CHECK(data_ok);
    CHECK(irqs >= 1);
    CHECK(irqs <= 2 * n + 1);
    CHECK(!(mmio_rd(g->dev, R_STATUS) & S_NEEDS_RESET));

    /* A reset with many requests in flight, then the driver starts again. */
    for (unsigned i = 0; i < n; i++)
        add_req(g, i, VIRTIO_BLK_T_IN, 8ull * i);
    publish(g);
    mmio_wr(g->dev, R_STATUS, 0);
    CHECK_EQ(mmio_rd(g->dev, R_STATUS), 0);
    CHECK(driver_init(g, want_all) & S_DRIVER_OK);
    add_req(g, 0, VIRTIO_BLK_T_IN, 8);
    publish(g);
    CHECK(wait_used(g, 1, NULL));
    CHECK_EQ(g->ram[STAT_GPA], VIRTIO_BLK_S_OK);
    CHECK_EQ(g->ram[DATA_GPA + 100], 2);
    teardown(g);
}

static void test_broken_ring(void)
{
    char img[128];
    snprintf(img, sizeof(img), "%s/broken.img", tmpdir);
    make_image(img, MIB);
    struct guest *g = setup(img, false);
    CHECK(driver_init(g, want_all) & S_DRIVER_OK);
    /* A chain that loops: 0 -> 1 -> 0. */
    g->desc[0] = (struct vring_desc){HDR_GPA, 16, VRING_DESC_F_NEXT, 1};
    g->desc[1] = (struct vring_desc){STAT_GPA, 1, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 0};
    g->avail->ring[0] = 0;
    g->avail_idx = 1;
    publish(g);
    bool needs_reset = false;
    for (int i = 0; i < 5000 && !needs_reset; i++) {
        needs_reset = mmio_rd(g->dev, R_STATUS) & S_NEEDS_RESET;
        if (!needs_reset) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    CHECK(needs_reset);
    CHECK(mmio_rd(g->dev, R_ISR) & 2); /* config change interrupt */
    CHECK_EQ(g->used->idx, 0);
    /* More notifies are ignored; a reset brings the device back. */
    publish(g);
    CHECK(driver_init(g, want_all) & S_DRIVER_OK);
    CHECK(!(mmio_rd(g->dev, R_STATUS) & S_NEEDS_RESET));
    add_req(g, 0, VIRTIO_BLK_T_IN, 0);
    publish(g);
    CHECK(wait_used(g, 1, NULL));
    CHECK_EQ(g->ram[STAT_GPA], VIRTIO_BLK_S_OK);
    teardown(g);
}

/* Teardown while the guest keeps the device busy (the VM going away). */
static void test_destroy_while_busy(void)
{
    char img[128];
    snprintf(img, sizeof(img), "%s/busy.img", tmpdir);
    make_image(img, 8 * MIB);
    struct guest *g = setup(img, false);
    CHECK(driver_init(g, want_all) & S_DRIVER_OK);
    for (unsigned i = 0; i < 80; i++)
        add_req(g, i, VIRTIO_BLK_T_OUT, 16ull * i);
    publish(g);
    teardown(g);
}

/* A guest that breaks the ring, resets and breaks it again: one log line, not one per round. */
static void test_failure_logged_once(void)
{
    char img[128];
    snprintf(img, sizeof(img), "%s/again.img", tmpdir);
    make_image(img, MIB);
    int p[2];
    CHECK_EQ(pipe2(p, O_NONBLOCK), 0);
    CHECK_EQ(log_configure(p[1], LOG_ERROR, KRUN_LOG_STYLE_NEVER, false), 0);
    struct guest *g = setup(img, false);
    for (int round = 0; round < 20; round++) {
        CHECK(driver_init(g, want_all) & S_DRIVER_OK);
        g->desc[0] = (struct vring_desc){HDR_GPA, 16, VRING_DESC_F_NEXT, 1};
        g->desc[1] = (struct vring_desc){STAT_GPA, 1, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 0};
        g->avail->ring[0] = 0;
        g->avail_idx = 1;
        publish(g);
        bool needs_reset = false;
        for (int i = 0; i < 5000 && !needs_reset; i++) {
            needs_reset = mmio_rd(g->dev, R_STATUS) & S_NEEDS_RESET;
            if (!needs_reset) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
        }
        CHECK(needs_reset);
    }
    teardown(g);
    CHECK_EQ(log_configure(2, LOG_ERROR, KRUN_LOG_STYLE_NEVER, false), 0);
    static char logged[65536];
    ssize_t n = read(p[0], logged, sizeof(logged) - 1);
    logged[n > 0 ? n : 0] = '\0';
    int lines = 0;
    for (const char *q = logged; (q = strstr(q, "broken virtqueue")); q++)
        lines++;
    CHECK_EQ(lines, 1);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/test_blk_mmio.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_registers_and_config);
    RUN(test_io_through_transport);
    RUN(test_broken_ring);
    RUN(test_failure_logged_once);
    RUN(test_destroy_while_busy);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
    return TEST_EXIT();
}
