/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/rng/device.c src/virtio/worker.c src/virtio/mmio.c src/virtio/queue.c src/util/guest_mem.c src/util/log.c src/util/log_limit.c src/util/thread.c src/util/sandbox.c */
/*
 * virtio-rng behind the real transport, driven as Linux's virtio-rng
 * driver does: buffers of any layout come back full of random bytes, at
 * most RNG_MAX_REQUEST per request; a broken ring ends in NEEDS_RESET and
 * a reset brings the device back.
 */
#include "test.h"

#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/guest_mem.h"
#include "util/log_limit.h"
#include "virtio/device.h"
#include "virtio/rng/rng.h"

#include "mmio_driver.h"

#define RAM_SIZE (4u * 1024 * 1024)
#define NUM      16u
#define DESC     0x1000ull
#define AVAIL    0x2000ull
#define USED     0x3000ull
#define BUF      0x10000ull

struct guest {
    struct virtio_device *dev;
    uint8_t *ram;
    struct guest_mem gm;
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t avail_idx;
};

static struct guest *setup(void)
{
    struct guest *g = calloc(1, sizeof(*g));
    g->ram = calloc(1, RAM_SIZE);
    CHECK_EQ(gm_add_region(&g->gm, 0, RAM_SIZE, g->ram), 0);
    char err[128];
    CHECK_EQ(virtio_rng_create(&g->dev, err, sizeof(err)), 0);
    /* What vm_attach_virtio does. */
    virtio_device_init(g->dev);
    g->dev->gm = &g->gm;
    g->dev->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    g->dev->kick_fds[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    g->desc = (void *)(g->ram + DESC);
    g->avail = (void *)(g->ram + AVAIL);
    g->used = (void *)(g->ram + USED);
    return g;
}

static void teardown(struct guest *g)
{
    g->dev->ops->destroy(g->dev);
    close(g->dev->irq_fd);
    close(g->dev->kick_fds[0]);
    pthread_mutex_destroy(&g->dev->lock);
    log_limit_destroy(&g->dev->fail_log);
    free(g->dev);
    free(g->ram);
    free(g);
}

/* The driver's init with the queue at desc_gpa; returns the status register. */
static uint32_t driver_init(struct guest *g, uint64_t desc_gpa)
{
    memset(g->ram + DESC, 0, USED + 0x1000 - DESC);
    g->avail_idx = 0;
    mmio_negotiate(g->dev, VIRTIO_FEAT_VERSION_1);
    mmio_wr(g->dev, R_QUEUE_SEL, 0);
    mmio_wr(g->dev, R_QUEUE_NUM, NUM);
    mmio_wr(g->dev, R_DESC_LO, (uint32_t)desc_gpa);
    mmio_wr(g->dev, R_DESC_HI, (uint32_t)(desc_gpa >> 32));
    mmio_wr(g->dev, R_AVAIL_LO, (uint32_t)AVAIL);
    mmio_wr(g->dev, R_USED_LO, (uint32_t)USED);
    mmio_wr(g->dev, R_QUEUE_READY, 1);
    mmio_wr(g->dev, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    return mmio_rd(g->dev, R_STATUS);
}

/* Post a chain of writable descriptors starting at descriptor `first`, and kick. */
static void post(struct guest *g, uint16_t first, const uint32_t *lens, unsigned n, uint64_t gpa)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t flags = VRING_DESC_F_WRITE | (i + 1 < n ? VRING_DESC_F_NEXT : 0);
        g->desc[first + i] = (struct vring_desc){gpa, lens[i], flags, (uint16_t)(first + i + 1)};
        gpa += lens[i];
    }
    g->avail->ring[g->avail_idx++ % NUM] = first;
    __atomic_store_n(&g->avail->idx, g->avail_idx, __ATOMIC_RELEASE);
    uint64_t one = 1;
    CHECK_EQ(write(g->dev->kick_fds[0], &one, 8), 8);
}

/* Wait until the used ring holds n entries (or the status shows NEEDS_RESET). */
static bool wait_used(struct guest *g, uint16_t n)
{
    for (int i = 0; i < 500; i++) {
        if (__atomic_load_n(&g->used->idx, __ATOMIC_ACQUIRE) == n)
            return true;
        if (mmio_rd(g->dev, R_STATUS) & S_NEEDS_RESET)
            return false;
        struct pollfd p = {.fd = g->dev->irq_fd, .events = POLLIN};
        uint64_t count;
        if (poll(&p, 1, 10) == 1 && read(g->dev->irq_fd, &count, 8) != 8)
            return false;
    }
    return false;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static void test_registers(void)
{
    struct guest *g = setup();
    CHECK_EQ(mmio_rd(g->dev, R_MAGIC), 0x74726976u);
    CHECK_EQ(mmio_rd(g->dev, R_DEVICE_ID), 4u);
    mmio_wr(g->dev, R_QUEUE_SEL, 0);
    CHECK_EQ(mmio_rd(g->dev, R_QUEUE_NUM_MAX), 256u);
    mmio_wr(g->dev, R_QUEUE_SEL, 1);
    CHECK_EQ(mmio_rd(g->dev, R_QUEUE_NUM_MAX), 0u);
    teardown(g);
}

static void test_buffers_filled(void)
{
    struct guest *g = setup();
    CHECK_EQ(driver_init(g, DESC) & S_NEEDS_RESET, 0u);
    post(g, 0, (const uint32_t[]){64}, 1, BUF);
    post(g, 1, (const uint32_t[]){100, 200}, 2, BUF + 0x1000);
    post(g, 3, (const uint32_t[]){1024 * 1024}, 1, BUF + 0x10000);
    CHECK(wait_used(g, 3));
    uint32_t got[3] = {0};
    for (unsigned i = 0; i < 3; i++) {
        struct vring_used_elem e = g->used->ring[i];
        got[e.id == 0 ? 0 : e.id == 1 ? 1 : 2] = e.len;
    }
    CHECK_EQ(got[0], 64u);
    CHECK_EQ(got[1], 300u);
    CHECK_EQ(got[2], RNG_MAX_REQUEST); /* more room than that gets that much */
    CHECK(!all_zero(g->ram + BUF, 64));
    CHECK(!all_zero(g->ram + BUF + 0x1000 + 100, 200)); /* the second segment too */
    CHECK(memcmp(g->ram + BUF, g->ram + BUF + 0x1000, 64) != 0);
    CHECK(all_zero(g->ram + BUF + 0x10000 + RNG_MAX_REQUEST, 4096)); /* nothing past it */
    teardown(g);
}

static void test_broken_ring_and_reset(void)
{
    struct guest *g = setup();
    /* Descriptors outside guest RAM: the queue cannot even be activated. */
    CHECK(driver_init(g, RAM_SIZE + 0x1000) & (S_NEEDS_RESET | S_FAILED));
    /* A buffer outside guest RAM, after a good start. */
    CHECK_EQ(driver_init(g, DESC) & S_NEEDS_RESET, 0u);
    post(g, 0, (const uint32_t[]){64}, 1, RAM_SIZE - 16);
    CHECK(!wait_used(g, 1));
    CHECK(mmio_rd(g->dev, R_STATUS) & S_NEEDS_RESET);
    /* A reset and a new driver: served again. */
    CHECK_EQ(driver_init(g, DESC) & S_NEEDS_RESET, 0u);
    post(g, 0, (const uint32_t[]){32}, 1, BUF);
    CHECK(wait_used(g, 1));
    CHECK_EQ(g->used->ring[0].len, 32u);
    teardown(g);
}

int main(void)
{
    RUN(test_registers);
    RUN(test_buffers_filled);
    RUN(test_broken_ring_and_reset);
    return TEST_EXIT();
}
