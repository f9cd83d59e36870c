/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/mmio.c src/virtio/queue.c src/util/guest_mem.c src/util/log.c src/util/log_limit.c */
/*
 * The virtio-mmio transport on its own, with a stub device: what a driver
 * may and may not change once the device runs.
 */
#include "test.h"

#include <stdbool.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/guest_mem.h"
#include "util/log.h"
#include "virtio/device.h"

#include "mmio_driver.h"

#define RAM_SIZE  0x10000u
#define DESC_GPA  0x1000u
#define AVAIL_GPA 0x2000u
#define USED_GPA  0x3000u

static unsigned n_activate, n_reset;

static int stub_activate(struct virtio_device *dev)
{
    n_activate++;
    return 0;
}

static void stub_reset(struct virtio_device *dev)
{
    n_reset++;
}

static void stub_destroy(struct virtio_device *dev) {}

static const struct virtio_device_ops stub_ops = {
    .activate = stub_activate,
    .reset = stub_reset,
    .destroy = stub_destroy,
};

struct fixture {
    struct virtio_device dev;
    uint8_t *ram;
    struct guest_mem gm;
};

static void setup(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->ram = calloc(1, RAM_SIZE);
    CHECK_EQ(gm_add_region(&f->gm, 0, RAM_SIZE, f->ram), 0);
    f->dev.ops = &stub_ops;
    snprintf(f->dev.name, sizeof(f->dev.name), "stub");
    f->dev.device_id = 42;
    f->dev.features = VIRTIO_FEAT_EVENT_IDX;
    f->dev.n_queues = 2;
    f->dev.queue_max[0] = f->dev.queue_max[1] = 16;
    virtio_device_init(&f->dev);
    f->dev.gm = &f->gm;
    f->dev.irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    n_activate = n_reset = 0;
}

static void teardown(struct fixture *f)
{
    close(f->dev.irq_fd);
    pthread_mutex_destroy(&f->dev.lock);
    log_limit_destroy(&f->dev.fail_log);
    free(f->ram);
}

static uint32_t rd(struct fixture *f, uint64_t off)
{
    uint32_t v = 0;
    virtio_mmio_read(&f->dev, off, (uint8_t *)&v, 4);
    return v;
}

static void wr(struct fixture *f, uint64_t off, uint32_t v)
{
    virtio_mmio_write(&f->dev, off, (const uint8_t *)&v, 4);
}

/* Features, then queue 0 only (queue 1 stays not ready), then DRIVER_OK. */
static void driver_init(struct fixture *f)
{
    wr(f, R_STATUS, 0);
    wr(f, R_STATUS, S_ACK | S_DRIVER);
    wr(f, R_DRV_FEATURES_SEL, 0);
    wr(f, R_DRV_FEATURES, (uint32_t)VIRTIO_FEAT_EVENT_IDX);
    wr(f, R_DRV_FEATURES_SEL, 1);
    wr(f, R_DRV_FEATURES, 1); /* VERSION_1 */
    wr(f, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    CHECK(rd(f, R_STATUS) & S_FEATURES_OK);
    wr(f, R_QUEUE_SEL, 0);
    wr(f, R_QUEUE_NUM, 16);
    wr(f, R_DESC_LO, DESC_GPA);
    wr(f, R_AVAIL_LO, AVAIL_GPA);
    wr(f, R_USED_LO, USED_GPA);
    wr(f, R_QUEUE_READY, 1);
    wr(f, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    CHECK_EQ(rd(f, R_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    CHECK_EQ(n_activate, 1);
}

static void test_init_and_reset(void)
{
    struct fixture f;
    setup(&f);
    wr(&f, R_DEV_FEATURES_SEL, 1);
    CHECK_EQ(rd(&f, R_DEV_FEATURES), 1);
    driver_init(&f);
    CHECK(f.dev.queues[0].desc != NULL);
    wr(&f, R_STATUS, 0);
    CHECK_EQ(n_reset, 1);
    CHECK_EQ(rd(&f, R_STATUS), 0);
    CHECK_EQ(f.dev.acked, 0);
    CHECK(!f.dev.queues[0].ready && f.dev.queues[0].desc == NULL);
    teardown(&f);
}

/*
 * A driver may only add status bits (virtio 1.x, 2.1.2); were clearing
 * FEATURES_OK or DRIVER_OK allowed while the device runs, the driver could
 * then ack features that were never offered and set up queues that no
 * virtq_activate checked. Regression test: found by fuzz_mmio.
 */
static void test_status_bits_stay(void)
{
    struct fixture f;
    setup(&f);
    driver_init(&f);
    uint64_t acked = f.dev.acked;

    wr(&f, R_STATUS, S_ACK); /* clears DRIVER, FEATURES_OK, DRIVER_OK: refused */
    CHECK_EQ(rd(&f, R_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    wr(&f, R_DRV_FEATURES_SEL, 0);
    wr(&f, R_DRV_FEATURES, 0x1c); /* bits 2-4: not offered */
    CHECK_EQ(f.dev.acked, acked);
    CHECK(!(f.dev.acked & ~f.dev.features));

    /* Queue 1 was not ready at DRIVER_OK: its registers stay as they were. */
    wr(&f, R_QUEUE_SEL, 1);
    wr(&f, R_QUEUE_NUM, 8);
    wr(&f, R_DESC_LO, 0x8000);
    wr(&f, R_QUEUE_READY, 1);
    CHECK_EQ(f.dev.queues[1].num, 0);
    CHECK_EQ(f.dev.queues[1].desc_gpa, 0);
    CHECK(!f.dev.queues[1].ready);

    /* Adding a bit still works; so does a reset. */
    wr(&f, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK | S_FAILED);
    CHECK_EQ(rd(&f, R_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK | S_FAILED);
    wr(&f, R_STATUS, 0);
    CHECK_EQ(rd(&f, R_STATUS), 0);
    CHECK_EQ(n_reset, 1);
    CHECK_EQ(n_activate, 1);
    teardown(&f);
}

/* A refused FEATURES_OK can be retried with other features. */
static void test_features_retry(void)
{
    struct fixture f;
    setup(&f);
    wr(&f, R_STATUS, S_ACK | S_DRIVER);
    wr(&f, R_DRV_FEATURES_SEL, 0);
    wr(&f, R_DRV_FEATURES, 1); /* bit 0: not offered */
    wr(&f, R_DRV_FEATURES_SEL, 1);
    wr(&f, R_DRV_FEATURES, 1);
    wr(&f, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    CHECK_EQ(rd(&f, R_STATUS), S_ACK | S_DRIVER);
    wr(&f, R_DRV_FEATURES_SEL, 0);
    wr(&f, R_DRV_FEATURES, 0);
    wr(&f, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    CHECK_EQ(rd(&f, R_STATUS), S_ACK | S_DRIVER | S_FEATURES_OK);
    teardown(&f);
}

int main(void)
{
    log_configure(2, LOG_OFF, 0, false);
    RUN(test_init_and_reset);
    RUN(test_status_bits_stay);
    RUN(test_features_retry);
    return TEST_EXIT();
}
