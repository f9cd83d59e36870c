/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The driver's side of virtio-mmio version 2 for tests and fuzzers: the
 * register offsets and status bits (spec facts), and 32-bit register
 * accesses on a device through the transport's own entry points.
 */
#ifndef KRUN_TESTS_MMIO_DRIVER_H
#define KRUN_TESTS_MMIO_DRIVER_H

#include <stdint.h>

#include "virtio/device.h"

enum {
    R_MAGIC = 0x000,
    R_DEVICE_ID = 0x008,
    R_DEV_FEATURES = 0x010,
    R_DEV_FEATURES_SEL = 0x014,
    R_DRV_FEATURES = 0x020,
    R_DRV_FEATURES_SEL = 0x024,
    R_QUEUE_SEL = 0x030,
    R_QUEUE_NUM_MAX = 0x034,
    R_QUEUE_NUM = 0x038,
    R_QUEUE_READY = 0x044,
    R_QUEUE_NOTIFY = 0x050,
    R_ISR = 0x060,
    R_ISR_ACK = 0x064,
    R_STATUS = 0x070,
    R_DESC_LO = 0x080,
    R_DESC_HI = 0x084,
    R_AVAIL_LO = 0x090,
    R_AVAIL_HI = 0x094,
    R_USED_LO = 0x0a0,
    R_USED_HI = 0x0a4,
    R_CONFIG = 0x100,
};

enum {
    S_ACK = 1,
    S_DRIVER = 2,
    S_DRIVER_OK = 4,
    S_FEATURES_OK = 8,
    S_NEEDS_RESET = 0x40,
    S_FAILED = 0x80,
};

static inline uint32_t mmio_rd(struct virtio_device *dev, uint64_t off)
{
    uint32_t v = 0;
    virtio_mmio_read(dev, off, (uint8_t *)&v, 4);
    return v;
}

static inline void mmio_wr(struct virtio_device *dev, uint64_t off, uint32_t v)
{
    virtio_mmio_write(dev, off, (const uint8_t *)&v, 4);
}

/* The 64 feature bits the device offers. */
static inline uint64_t mmio_device_features(struct virtio_device *dev)
{
    mmio_wr(dev, R_DEV_FEATURES_SEL, 0);
    uint64_t f = mmio_rd(dev, R_DEV_FEATURES);
    mmio_wr(dev, R_DEV_FEATURES_SEL, 1);
    return f | (uint64_t)mmio_rd(dev, R_DEV_FEATURES) << 32;
}

/*
 * A driver's first steps after a reset: ACKNOWLEDGE, DRIVER, the features
 * it wants of those offered, FEATURES_OK (the device may refuse it).
 */
static inline void mmio_negotiate(struct virtio_device *dev, uint64_t want)
{
    mmio_wr(dev, R_STATUS, 0);
    mmio_wr(dev, R_STATUS, S_ACK | S_DRIVER);
    uint64_t acked = mmio_device_features(dev) & want;
    mmio_wr(dev, R_DRV_FEATURES_SEL, 0);
    mmio_wr(dev, R_DRV_FEATURES, (uint32_t)acked);
    mmio_wr(dev, R_DRV_FEATURES_SEL, 1);
    mmio_wr(dev, R_DRV_FEATURES, (uint32_t)(acked >> 32));
    mmio_wr(dev, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
}

#endif
