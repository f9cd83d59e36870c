/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/balloon/device.c src/virtio/balloon/pages.c src/virtio/worker.c src/virtio/mmio.c src/virtio/queue.c src/util/guest_mem.c src/util/log.c src/util/log_limit.c src/util/thread.c src/util/sandbox.c */
/*
 * virtio-balloon behind the real transport, driven as Linux's driver does,
 * over guest RAM that is anonymous memory as in a VM: reported blocks and
 * inflated pages lose their host backing (mincore says not resident, they
 * read as zeros) and nothing else does; hostile requests (readable report
 * buffers, misaligned blocks, buffers outside RAM or wrapping around,
 * PFNs outside RAM) fail the device before any page is released.
 */
#include "test.h"

#include <endian.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/guest_mem.h"
#include "util/log_limit.h"
#include "virtio/balloon/balloon.h"
#include "virtio/device.h"

#include "mmio_driver.h"

#define RAM_SIZE (16u << 20)
#define NUM      16u
#define RING(q)  (0x10000ull * ((q) + 1)) /* desc; avail +0x1000, used +0x2000 */
#define PFNS     0x80000ull
#define DATA     (4ull << 20) /* 4 MiB .. 16 MiB: pages the tests release */
#define MIB      (1ull << 20)

struct guest {
    struct virtio_device *dev;
    uint8_t *ram;
    struct guest_mem gm;
    uint16_t avail_idx[BALLOON_QUEUES];
    uint16_t next_desc[BALLOON_QUEUES];
};

static struct vring_desc *descs(struct guest *g, unsigned q)
{
    return (void *)(g->ram + RING(q));
}
static struct vring_avail *avail(struct guest *g, unsigned q)
{
    return (void *)(g->ram + RING(q) + 0x1000);
}
static struct vring_used *used(struct guest *g, unsigned q)
{
    return (void *)(g->ram + RING(q) + 0x2000);
}

static struct guest *setup(void)
{
    struct guest *g = calloc(1, sizeof(*g));
    g->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(g->ram != MAP_FAILED);
    CHECK_EQ(gm_add_region(&g->gm, 0, RAM_SIZE, g->ram), 0);
    char err[128];
    CHECK_EQ(virtio_balloon_create(&g->dev, err, sizeof(err)), 0);
    virtio_device_init(g->dev);
    g->dev->gm = &g->gm;
    g->dev->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    for (unsigned q = 0; q < BALLOON_QUEUES; q++)
        g->dev->kick_fds[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return g;
}

static void teardown(struct guest *g)
{
    g->dev->ops->destroy(g->dev);
    close(g->dev->irq_fd);
    for (unsigned q = 0; q < BALLOON_QUEUES; q++)
        close(g->dev->kick_fds[q]);
    pthread_mutex_destroy(&g->dev->lock);
    log_limit_destroy(&g->dev->fail_log);
    free(g->dev);
    munmap(g->ram, RAM_SIZE);
    free(g);
}

/* The driver's init with `nq` queues and these features; returns the status register. */
static uint32_t driver_init(struct guest *g, uint64_t features, unsigned nq)
{
    memset(g->ram, 0, PFNS); /* the rings; the PFN array stays */
    memset(g->avail_idx, 0, sizeof(g->avail_idx));
    memset(g->next_desc, 0, sizeof(g->next_desc));
    mmio_negotiate(g->dev, features);
    for (unsigned q = 0; q < nq; q++) {
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

struct buf {
    uint64_t gpa;
    uint32_t len;
    bool writable;
};

/* Post one chain on queue q and kick. */
static void post(struct guest *g, unsigned q, const struct buf *b, unsigned n)
{
    uint16_t first = g->next_desc[q];
    for (unsigned i = 0; i < n; i++) {
        uint16_t d = (uint16_t)((first + i) % NUM);
        uint16_t flags =
            (b[i].writable ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0);
        descs(g, q)[d] = (struct vring_desc){b[i].gpa, b[i].len, flags, (uint16_t)((d + 1) % NUM)};
    }
    g->next_desc[q] = (uint16_t)((first + n) % NUM);
    avail(g, q)->ring[g->avail_idx[q]++ % NUM] = first;
    __atomic_store_n(&avail(g, q)->idx, g->avail_idx[q], __ATOMIC_RELEASE);
    uint64_t one = 1;
    CHECK_EQ(write(g->dev->kick_fds[q], &one, 8), 8);
}

/* Wait until queue q's used ring holds n entries (false on NEEDS_RESET or a timeout). */
static bool wait_used(struct guest *g, unsigned q, uint16_t n)
{
    for (int i = 0; i < 500; i++) {
        if (__atomic_load_n(&used(g, q)->idx, __ATOMIC_ACQUIRE) == n)
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

/* Wait for NEEDS_RESET. */
static bool wait_failed(struct guest *g)
{
    for (int i = 0; i < 500; i++) {
        if (mmio_rd(g->dev, R_STATUS) & S_NEEDS_RESET)
            return true;
        usleep(2000);
    }
    return false;
}

/* Touch [DATA, RAM_SIZE) with a pattern, so that all of it is resident. */
static void fill(struct guest *g)
{
    memset(g->ram + DATA, 0xa5, RAM_SIZE - DATA);
}

/* How many 4 KiB pages of [gpa, gpa+len) are resident in the host. */
static size_t resident(struct guest *g, uint64_t gpa, uint64_t len)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t n = (size_t)((len + (uint64_t)page - 1) / (uint64_t)page);
    unsigned char *v = calloc(n, 1);
    CHECK_EQ(mincore(g->ram + gpa, len, v), 0);
    size_t r = 0;
    for (size_t i = 0; i < n; i++)
        r += v[i] & 1;
    free(v);
    return r * (size_t)page / 4096;
}

static bool all_byte(const uint8_t *p, size_t n, uint8_t b)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != b)
            return false;
    return true;
}

/* Everything from DATA on is still resident and holds the pattern. */
static bool untouched(struct guest *g)
{
    return resident(g, DATA, RAM_SIZE - DATA) == (RAM_SIZE - DATA) / 4096 &&
           all_byte(g->ram + DATA, RAM_SIZE - DATA, 0xa5);
}

static void test_registers(void)
{
    struct guest *g = setup();
    CHECK_EQ(mmio_rd(g->dev, R_DEVICE_ID), 5u);
    uint64_t f = mmio_device_features(g->dev);
    CHECK(f & BALLOON_F_REPORTING);
    CHECK(!(f & (1ull << 1))); /* no STATS_VQ: the reporting queue is queue 2 */
    CHECK(!(f & (1ull << 3))); /* no FREE_PAGE_HINT */
    CHECK(!(f & (1ull << 4))); /* no PAGE_POISON: released pages read as zeros */
    for (unsigned q = 0; q < BALLOON_QUEUES; q++) {
        mmio_wr(g->dev, R_QUEUE_SEL, q);
        CHECK_EQ(mmio_rd(g->dev, R_QUEUE_NUM_MAX), BALLOON_QUEUE_SIZE);
    }
    mmio_wr(g->dev, R_QUEUE_SEL, BALLOON_QUEUES);
    CHECK_EQ(mmio_rd(g->dev, R_QUEUE_NUM_MAX), 0u);
    /* num_pages is 0 (the host never asks); actual takes what the driver writes. */
    CHECK_EQ(mmio_rd(g->dev, R_CONFIG), 0u);
    mmio_wr(g->dev, R_CONFIG, 77);
    CHECK_EQ(mmio_rd(g->dev, R_CONFIG), 0u);
    mmio_wr(g->dev, R_CONFIG + 4, 42);
    CHECK_EQ(mmio_rd(g->dev, R_CONFIG + 4), 42u);
    teardown(g);
}

static void test_report_releases(void)
{
    struct guest *g = setup();
    CHECK_EQ(driver_init(g, VIRTIO_FEAT_VERSION_1 | BALLOON_F_REPORTING, 3) & S_NEEDS_RESET, 0u);
    fill(g);
    CHECK_EQ(resident(g, DATA, 8 * MIB), 8 * MIB / 4096);
    /* Two 2 MiB blocks (as Linux reports them) and a 4 KiB page, in one request. */
    const struct buf r[] = {
        {DATA, 2 * MIB, true}, {DATA + 6 * MIB, 2 * MIB, true}, {DATA + 9 * MIB, 4096, true}};
    post(g, BALLOON_REPORTQ, r, 3);
    CHECK(wait_used(g, BALLOON_REPORTQ, 1));
    CHECK_EQ(used(g, BALLOON_REPORTQ)->ring[0].id, 0u);
    CHECK_EQ(used(g, BALLOON_REPORTQ)->ring[0].len, 0u);
    CHECK_EQ(resident(g, DATA, 2 * MIB), 0);
    CHECK_EQ(resident(g, DATA + 6 * MIB, 2 * MIB), 0);
    CHECK_EQ(resident(g, DATA + 9 * MIB, 4096), 0);
    CHECK_EQ(virtio_balloon_stats(g->dev).reported_bytes, 4 * MIB + 4096);
    /* What was not reported kept its pages and its bytes. */
    CHECK_EQ(resident(g, DATA + 2 * MIB, 4 * MIB), 4 * MIB / 4096);
    CHECK(all_byte(g->ram + DATA + 2 * MIB, 4 * MIB, 0xa5));
    CHECK(all_byte(g->ram + DATA + 9 * MIB + 4096, 4096, 0xa5));
    CHECK(all_byte(g->ram + DATA + 9 * MIB - 4096, 4096, 0xa5));
    /* Released pages read as zeros. */
    CHECK(all_byte(g->ram + DATA, 2 * MIB, 0));
    CHECK(all_byte(g->ram + DATA + 9 * MIB, 4096, 0));
    /* A second request on the same queue is served too. */
    fill(g);
    post(g, BALLOON_REPORTQ, (const struct buf[]){{DATA + 10 * MIB, 2 * MIB, true}}, 1);
    CHECK(wait_used(g, BALLOON_REPORTQ, 2));
    CHECK_EQ(resident(g, DATA + 10 * MIB, 2 * MIB), 0);
    teardown(g);
}

static void test_inflate_deflate(void)
{
    struct guest *g = setup();
    /* Without REPORTING the driver sets up only inflateq and deflateq. */
    CHECK_EQ(driver_init(g, VIRTIO_FEAT_VERSION_1, 2) & S_NEEDS_RESET, 0u);
    fill(g);
    uint32_t *pfn = (uint32_t *)(g->ram + PFNS);
    const uint32_t pages[] = {DATA / 4096, DATA / 4096 + 1, DATA / 4096 + 100};
    for (unsigned i = 0; i < 3; i++)
        pfn[i] = htole32(pages[i]);
    post(g, BALLOON_INFLATEQ, (const struct buf[]){{PFNS, 12, false}}, 1);
    CHECK(wait_used(g, BALLOON_INFLATEQ, 1));
    CHECK_EQ(resident(g, DATA, 8192), 0);
    CHECK_EQ(resident(g, DATA + 100 * 4096, 4096), 0);
    CHECK_EQ(resident(g, DATA + 8192, 98 * 4096), 98);
    CHECK(all_byte(g->ram + DATA + 8192, 98 * 4096, 0xa5));
    CHECK_EQ(virtio_balloon_stats(g->dev).inflated_bytes, 3 * 4096);
    /* Deflate: acknowledged, nothing to do. */
    post(g, BALLOON_DEFLATEQ, (const struct buf[]){{PFNS, 12, false}}, 1);
    CHECK(wait_used(g, BALLOON_DEFLATEQ, 1));
    CHECK_EQ(mmio_rd(g->dev, R_STATUS) & S_NEEDS_RESET, 0u);
    teardown(g);
}

/* A hostile request on queue q (posted at line) fails the device and releases nothing. */
static void hostile_at(int line, struct guest *g, unsigned q, const struct buf *b, unsigned n)
{
    CHECK_EQ(driver_init(g, VIRTIO_FEAT_VERSION_1 | BALLOON_F_REPORTING, 3) & S_NEEDS_RESET, 0u);
    fill(g);
    post(g, q, b, n);
    if (!wait_failed(g))
        fprintf(stderr, "line %d: the device did not fail\n", line);
    CHECK(mmio_rd(g->dev, R_STATUS) & S_NEEDS_RESET);
    CHECK_EQ(used(g, q)->idx, 0);
    CHECK(untouched(g));
}

#define hostile(...) hostile_at(__LINE__, __VA_ARGS__)

static void test_hostile_reports(void)
{
    struct guest *g = setup();
    /* A good block first, then a device-readable one: the good one is not released either. */
    hostile(g, BALLOON_REPORTQ, (const struct buf[]){{DATA, 2 * MIB, true}, {DATA, 4096, false}},
            2);
    /* Readable first (a valid chain for the ring, not for a report). */
    hostile(g, BALLOON_REPORTQ,
            (const struct buf[]){{DATA, 4096, false}, {DATA + 2 * MIB, 2 * MIB, true}}, 2);
    /* Not page aligned: the address, the length. */
    hostile(g, BALLOON_REPORTQ,
            (const struct buf[]){{DATA, 2 * MIB, true}, {DATA + 6 * MIB + 512, 4096, true}}, 2);
    hostile(g, BALLOON_REPORTQ, (const struct buf[]){{DATA, 2 * MIB - 1, true}}, 1);
    /* Outside guest RAM, partly outside, wrapping around the address space. */
    hostile(g, BALLOON_REPORTQ, (const struct buf[]){{RAM_SIZE, 4096, true}}, 1);
    hostile(g, BALLOON_REPORTQ,
            (const struct buf[]){{DATA, 2 * MIB, true}, {RAM_SIZE - 4096, 8192, true}}, 2);
    hostile(g, BALLOON_REPORTQ, (const struct buf[]){{~0ull - 4095, 8192, true}}, 1);
    /* Inflate: a PFN outside RAM after good ones, a writable array, a partial PFN. */
    uint32_t bad[] = {htole32(DATA / 4096), htole32(RAM_SIZE / 4096)};
    memcpy(g->ram + PFNS, bad, sizeof(bad));
    hostile(g, BALLOON_INFLATEQ, (const struct buf[]){{PFNS, 8, false}}, 1);
    hostile(g, BALLOON_INFLATEQ, (const struct buf[]){{PFNS, 4, true}}, 1);
    hostile(g, BALLOON_INFLATEQ, (const struct buf[]){{PFNS, 6, false}}, 1);
    /* After a reset, a good report is served again. */
    CHECK_EQ(driver_init(g, VIRTIO_FEAT_VERSION_1 | BALLOON_F_REPORTING, 3) & S_NEEDS_RESET, 0u);
    fill(g);
    post(g, BALLOON_REPORTQ, (const struct buf[]){{DATA, 2 * MIB, true}}, 1);
    CHECK(wait_used(g, BALLOON_REPORTQ, 1));
    CHECK_EQ(resident(g, DATA, 2 * MIB), 0);
    teardown(g);
}

int main(void)
{
    RUN(test_registers);
    RUN(test_report_releases);
    RUN(test_inflate_deflate);
    RUN(test_hostile_reports);
    return TEST_EXIT();
}
