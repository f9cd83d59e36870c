/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-mmio transport, version 2 (virtio 1.x, section 4.2.2): register
 * access from vCPU threads, feature negotiation, queue setup, status and
 * interrupt status. Queue registers are frozen once a queue is ready, and a
 * device is activated only with rings that passed virtq_activate().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "virtio/device.h"

#define MMIO_MAGIC               0x000
#define MMIO_VERSION             0x004
#define MMIO_DEVICE_ID           0x008
#define MMIO_VENDOR_ID           0x00c
#define MMIO_DEVICE_FEATURES     0x010
#define MMIO_DEVICE_FEATURES_SEL 0x014
#define MMIO_DRIVER_FEATURES     0x020
#define MMIO_DRIVER_FEATURES_SEL 0x024
#define MMIO_QUEUE_SEL           0x030
#define MMIO_QUEUE_NUM_MAX       0x034
#define MMIO_QUEUE_NUM           0x038
#define MMIO_QUEUE_READY         0x044
#define MMIO_QUEUE_NOTIFY        VIRTIO_MMIO_QUEUE_NOTIFY
#define MMIO_INTERRUPT_STATUS    0x060
#define MMIO_INTERRUPT_ACK       0x064
#define MMIO_STATUS              0x070
#define MMIO_QUEUE_DESC_LOW      0x080
#define MMIO_QUEUE_DESC_HIGH     0x084
#define MMIO_QUEUE_DRIVER_LOW    0x090
#define MMIO_QUEUE_DRIVER_HIGH   0x094
#define MMIO_QUEUE_DEVICE_LOW    0x0a0
#define MMIO_QUEUE_DEVICE_HIGH   0x0a4
#define MMIO_SHM_SEL             0x0ac
#define MMIO_SHM_LEN_LOW         0x0b0
#define MMIO_SHM_LEN_HIGH        0x0b4
#define MMIO_SHM_BASE_LOW        0x0b8
#define MMIO_SHM_BASE_HIGH       0x0bc
#define MMIO_CONFIG_GENERATION   0x0fc
#define MMIO_CONFIG              0x100

#define MMIO_MAGIC_VALUE   0x74726976 /* "virt" */
#define MMIO_VERSION_VALUE 2

#define STATUS_ACKNOWLEDGE 1u
#define STATUS_DRIVER      2u
#define STATUS_DRIVER_OK   4u
#define STATUS_FEATURES_OK 8u
#define STATUS_NEEDS_RESET 0x40u
#define STATUS_FAILED      0x80u

void virtio_device_init(struct virtio_device *dev)
{
    pthread_mutex_init(&dev->lock, NULL);
    dev->features |= VIRTIO_FEAT_VERSION_1;
    dev->irq_fd = -1;
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        dev->kick_fds[i] = -1;
        dev->queues[i].num_max = i < dev->n_queues ? dev->queue_max[i] : 0;
    }
    atomic_init(&dev->isr, 0);
    atomic_init(&dev->failed, false);
    atomic_init(&dev->n_interrupts, 0);
    log_limit_init(&dev->fail_log);
}

void virtio_device_interrupt(struct virtio_device *dev, unsigned isr_bits)
{
    atomic_fetch_or(&dev->isr, isr_bits);
    atomic_fetch_add_explicit(&dev->n_interrupts, 1, memory_order_relaxed);
    uint64_t one = 1;
    ssize_t r = write(dev->irq_fd, &one, sizeof(one));
    (void)r;
}

void virtio_device_notify_queue(struct virtio_device *dev, struct virtq *q)
{
    if (virtq_needs_notify(q))
        virtio_device_interrupt(dev, VIRTIO_ISR_QUEUE);
}

void virtio_device_fail(struct virtio_device *dev, const char *fmt, ...)
{
    /*
     * Lock-free: device threads call this, and reset() joins them under the
     * lock. The config bit goes up before NEEDS_RESET does, so a driver
     * that sees the status also sees why it was interrupted.
     */
    if (atomic_load(&dev->failed))
        return;
    atomic_fetch_or(&dev->isr, VIRTIO_ISR_CONFIG);
    if (atomic_exchange(&dev->failed, true))
        return;
    uint64_t unlogged;
    if (log_limit_pass(&dev->fail_log, fmt, &unlogged)) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (unlogged)
            log_error("%s: %s; the device stops until the driver resets it (%llu more times since "
                      "this was last logged)",
                      dev->name, msg, (unsigned long long)unlogged);
        else
            log_error("%s: %s; the device stops until the driver resets it", dev->name, msg);
    }
    virtio_device_interrupt(dev, VIRTIO_ISR_CONFIG);
}

static uint32_t status_of(struct virtio_device *dev)
{
    return dev->status | (atomic_load(&dev->failed) ? STATUS_NEEDS_RESET : 0);
}

static void reset_locked(struct virtio_device *dev)
{
    if (dev->active)
        dev->ops->reset(dev);
    for (unsigned i = 0; i < dev->n_queues; i++)
        virtq_reset(&dev->queues[i]);
    dev->active = false;
    dev->acked = 0;
    dev->status = 0;
    dev->dev_features_sel = dev->drv_features_sel = dev->queue_sel = dev->shm_sel = 0;
    atomic_store(&dev->isr, 0);
    atomic_store(&dev->failed, false);
}

static void driver_ok_locked(struct virtio_device *dev)
{
    bool event_idx = virtio_has_feature(dev, VIRTIO_FEAT_EVENT_IDX);
    bool indirect = virtio_has_feature(dev, VIRTIO_FEAT_INDIRECT_DESC);
    for (unsigned i = 0; i < dev->n_queues; i++) {
        struct virtq *q = &dev->queues[i];
        if (q->ready && virtq_activate(q, dev->gm, event_idx, indirect) < 0) {
            virtio_device_fail(dev, "queue %u has invalid ring addresses or size", i);
            return;
        }
    }
    log_debug("%s: driver ready, features 0x%llx", dev->name, (unsigned long long)dev->acked);
    int ret = dev->ops->activate(dev);
    if (ret < 0) {
        virtio_device_fail(dev, "activation failed: %s", strerror(-ret));
        return;
    }
    dev->active = true;
}

static void write_status_locked(struct virtio_device *dev, uint32_t value)
{
    if (value == 0) {
        reset_locked(dev);
        return;
    }
    /*
     * The driver only ever adds bits (virtio 1.x, 2.1.2); a reset clears
     * them. Were a write allowed to clear FEATURES_OK or DRIVER_OK, the
     * features and the queues that are frozen while the device runs would
     * become writable again.
     */
    if ((value & dev->status) != dev->status) {
        log_debug("%s: ignored status 0x%x, which clears bits of 0x%x", dev->name, value,
                  dev->status);
        return;
    }
    uint32_t added = value & ~dev->status;
    if (added & STATUS_FEATURES_OK) {
        /* Only what we offered, and virtio 1.x (no legacy interface). */
        if ((dev->acked & ~dev->features) || !(dev->acked & VIRTIO_FEAT_VERSION_1))
            value &= ~STATUS_FEATURES_OK;
    }
    if ((added & STATUS_DRIVER_OK) && !(value & STATUS_FEATURES_OK))
        value &= ~STATUS_DRIVER_OK;
    dev->status = value & ~STATUS_NEEDS_RESET;
    if ((added & STATUS_DRIVER_OK) && (value & STATUS_DRIVER_OK) && !dev->active)
        driver_ok_locked(dev);
}

static struct virtq *selected_queue(struct virtio_device *dev)
{
    return dev->queue_sel < dev->n_queues ? &dev->queues[dev->queue_sel] : NULL;
}

/* Whether the driver may still change the selected queue's registers. */
static struct virtq *writable_queue(struct virtio_device *dev)
{
    struct virtq *q = selected_queue(dev);
    if (!q || q->ready || (dev->status & STATUS_DRIVER_OK))
        return NULL;
    return q;
}

static void set_low(uint64_t *v, uint32_t lo)
{
    *v = (*v & ~0xffffffffull) | lo;
}

static void set_high(uint64_t *v, uint32_t hi)
{
    *v = (*v & 0xffffffffull) | ((uint64_t)hi << 32);
}

static uint32_t read_reg_locked(struct virtio_device *dev, uint64_t offset)
{
    struct virtq *q = selected_queue(dev);
    const struct virtio_shm_region *shm =
        dev->shm_sel < dev->n_shm ? &dev->shm[dev->shm_sel] : NULL;
    switch (offset) {
    case MMIO_MAGIC:
        return MMIO_MAGIC_VALUE;
    case MMIO_VERSION:
        return MMIO_VERSION_VALUE;
    case MMIO_DEVICE_ID:
        return dev->device_id;
    case MMIO_VENDOR_ID:
        return 0;
    case MMIO_DEVICE_FEATURES:
        return dev->dev_features_sel < 2 ? (uint32_t)(dev->features >> (32 * dev->dev_features_sel))
                                         : 0;
    case MMIO_QUEUE_NUM_MAX:
        return q ? q->num_max : 0;
    case MMIO_QUEUE_READY:
        return q ? q->ready : 0;
    case MMIO_INTERRUPT_STATUS:
        return atomic_load(&dev->isr);
    case MMIO_STATUS:
        return status_of(dev);
    case MMIO_SHM_LEN_LOW:
        return shm ? (uint32_t)shm->len : 0xffffffffu;
    case MMIO_SHM_LEN_HIGH:
        return shm ? (uint32_t)(shm->len >> 32) : 0xffffffffu;
    case MMIO_SHM_BASE_LOW:
        return shm ? (uint32_t)shm->gpa : 0xffffffffu;
    case MMIO_SHM_BASE_HIGH:
        return shm ? (uint32_t)(shm->gpa >> 32) : 0xffffffffu;
    case MMIO_CONFIG_GENERATION:
        return dev->config_generation;
    default:
        return 0;
    }
}

static void write_reg_locked(struct virtio_device *dev, uint64_t offset, uint32_t v)
{
    struct virtq *q;
    switch (offset) {
    case MMIO_DEVICE_FEATURES_SEL:
        dev->dev_features_sel = v;
        break;
    case MMIO_DRIVER_FEATURES:
        /* Features are fixed once FEATURES_OK is set. */
        if (!(dev->status & STATUS_FEATURES_OK) && dev->drv_features_sel < 2) {
            unsigned shift = 32 * dev->drv_features_sel;
            dev->acked = (dev->acked & ~(0xffffffffull << shift)) | ((uint64_t)v << shift);
        }
        break;
    case MMIO_DRIVER_FEATURES_SEL:
        dev->drv_features_sel = v;
        break;
    case MMIO_QUEUE_SEL:
        dev->queue_sel = v;
        break;
    case MMIO_QUEUE_NUM:
        if ((q = writable_queue(dev)))
            q->num = (uint16_t)(v > 0xffff ? 0 : v);
        break;
    case MMIO_QUEUE_READY:
        if (v == 1 && (q = writable_queue(dev)))
            q->ready = true;
        break;
    case MMIO_QUEUE_NOTIFY:
        /* Normally caught by the ioeventfd; forward a notify that reached us. */
        if (v < dev->n_queues && dev->kick_fds[v] >= 0) {
            uint64_t one = 1;
            ssize_t r = write(dev->kick_fds[v], &one, sizeof(one));
            (void)r;
        }
        break;
    case MMIO_INTERRUPT_ACK:
        atomic_fetch_and(&dev->isr, ~v);
        break;
    case MMIO_STATUS:
        write_status_locked(dev, v);
        break;
    case MMIO_QUEUE_DESC_LOW:
        if ((q = writable_queue(dev)))
            set_low(&q->desc_gpa, v);
        break;
    case MMIO_QUEUE_DESC_HIGH:
        if ((q = writable_queue(dev)))
            set_high(&q->desc_gpa, v);
        break;
    case MMIO_QUEUE_DRIVER_LOW:
        if ((q = writable_queue(dev)))
            set_low(&q->avail_gpa, v);
        break;
    case MMIO_QUEUE_DRIVER_HIGH:
        if ((q = writable_queue(dev)))
            set_high(&q->avail_gpa, v);
        break;
    case MMIO_QUEUE_DEVICE_LOW:
        if ((q = writable_queue(dev)))
            set_low(&q->used_gpa, v);
        break;
    case MMIO_QUEUE_DEVICE_HIGH:
        if ((q = writable_queue(dev)))
            set_high(&q->used_gpa, v);
        break;
    case MMIO_SHM_SEL:
        dev->shm_sel = v;
        break;
    default:
        break;
    }
}

void virtio_mmio_read(void *opaque, uint64_t offset, uint8_t *data, unsigned len)
{
    struct virtio_device *dev = opaque;
    memset(data, 0, len);
    pthread_mutex_lock(&dev->lock);
    if (offset >= MMIO_CONFIG) {
        if (dev->ops->read_config)
            dev->ops->read_config(dev, (uint32_t)(offset - MMIO_CONFIG), data, len);
    } else if (len == 4 && offset % 4 == 0) {
        uint32_t v = read_reg_locked(dev, offset);
        memcpy(data, &v, 4);
    }
    pthread_mutex_unlock(&dev->lock);
}

void virtio_mmio_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned len)
{
    struct virtio_device *dev = opaque;
    pthread_mutex_lock(&dev->lock);
    if (offset >= MMIO_CONFIG) {
        if (dev->ops->write_config)
            dev->ops->write_config(dev, (uint32_t)(offset - MMIO_CONFIG), data, len);
    } else if (len == 4 && offset % 4 == 0) {
        uint32_t v;
        memcpy(&v, data, 4);
        write_reg_locked(dev, offset, v);
    }
    pthread_mutex_unlock(&dev->lock);
}
