/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A virtio device behind the virtio-mmio (version 2) transport.
 *
 * The transport (virtio/mmio.c) owns the registers: feature negotiation,
 * queue setup, status and interrupt status. Queue registers are frozen once
 * a queue is ready. A device implements struct virtio_device_ops and is
 * told when the driver sets DRIVER_OK (activate) and when it resets the
 * device (reset).
 *
 * Notifications never exit to userspace: each queue has an ioeventfd
 * (kick_fds[i]) that KVM signals when the guest writes QueueNotify, and the
 * device has one irqfd (irq_fd) that injects its interrupt. At activate a
 * device starts waiting on its kick fds, either on the VM's event loop
 * (ev_loop_add) or on a worker thread of its own.
 */
#ifndef KRUN_VIRTIO_DEVICE_H
#define KRUN_VIRTIO_DEVICE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/guest_mem.h"
#include "util/log_limit.h"
#include "util/thread.h"
#include "virtio/queue.h"

struct machine;
struct virtio_device;

/* Feature bits of the transport and ring (virtio 1.x). */
#define VIRTIO_F_BIT(n)           (1ull << (n))
#define VIRTIO_FEAT_INDIRECT_DESC VIRTIO_F_BIT(28)
#define VIRTIO_FEAT_EVENT_IDX     VIRTIO_F_BIT(29)
#define VIRTIO_FEAT_VERSION_1     VIRTIO_F_BIT(32)
#define VIRTIO_FEAT_IN_ORDER      VIRTIO_F_BIT(35)

/* Interrupt status bits. */
#define VIRTIO_ISR_QUEUE  1u
#define VIRTIO_ISR_CONFIG 2u

#define VIRTIO_MAX_QUEUES 32
#define VIRTIO_MAX_SHM    4

struct virtio_device_ops {
    /* Device config space (offset from 0x100). Out of range reads are zero. */
    void (*read_config)(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len);
    void (*write_config)(struct virtio_device *dev, uint32_t offset, const void *data,
                         uint32_t len);
    /* DRIVER_OK: queues are ready and checked. Return 0, or -errno to fail. */
    int (*activate)(struct virtio_device *dev);
    /* The driver wrote 0 to Status: stop all processing; queues are reset after. */
    void (*reset)(struct virtio_device *dev);
    /*
     * VM teardown (also when never activated): stop every thread of the
     * device and free its private state (priv). The VM then closes the
     * irq/kick fds and frees the struct virtio_device itself.
     */
    void (*destroy)(struct virtio_device *dev);
};

struct virtio_shm_region {
    uint64_t gpa;
    uint64_t len;
};

struct virtio_device {
    /* Filled in by the device before it is attached. */
    const struct virtio_device_ops *ops;
    char name[48];      /* for messages, e.g. "virtio-blk vda" */
    uint32_t device_id; /* VIRTIO_ID_* */
    uint64_t features;  /* offered; VERSION_1 is added by the transport */
    unsigned n_queues;
    uint16_t queue_max[VIRTIO_MAX_QUEUES];
    struct virtio_shm_region shm[VIRTIO_MAX_SHM];
    unsigned n_shm;
    void *priv; /* the device's own state */

    /* Filled in by virtio_mmio_attach(). */
    const struct guest_mem *gm;
    const struct thread_spawner *spawner; /* who starts the device's threads (util/thread.h) */
    uint64_t mmio_base;
    uint32_t irq;
    int irq_fd;                      /* irqfd: write 1 to inject */
    int kick_fds[VIRTIO_MAX_QUEUES]; /* ioeventfd per queue */

    /* Transport state, under lock. */
    pthread_mutex_t lock;
    struct virtq queues[VIRTIO_MAX_QUEUES];
    uint64_t acked; /* driver features */
    uint32_t status;
    atomic_uint isr;
    uint32_t dev_features_sel, drv_features_sel, queue_sel, shm_sel;
    uint32_t config_generation;
    bool active;        /* activate() succeeded */
    atomic_bool failed; /* NEEDS_RESET was set */
    /* Interrupts raised (a debug statistic). */
    atomic_ulong n_interrupts;
    /* Failures logged once per kind, then rate-limited (a guest may break it in a loop). */
    struct log_limit fail_log;
};

/* Prepare the transport state of a device whose ops/ids/queues are set. */
void virtio_device_init(struct virtio_device *dev);

/*
 * Start one of the device's threads (named, signals blocked, in the sandbox
 * of kind), through the machine's spawner. Returns 0 or -errno.
 */
static inline int virtio_device_thread(struct virtio_device *dev, pthread_t *t, const char *name,
                                       enum sandbox_kind kind, void *(*fn)(void *), void *arg)
{
    return thread_spawn(dev->spawner, t, name, kind, fn, arg);
}

/* Raise the device's interrupt with these ISR bits. */
void virtio_device_interrupt(struct virtio_device *dev, unsigned isr_bits);

/* After pushing to q: interrupt if the driver asked for it. */
void virtio_device_notify_queue(struct virtio_device *dev, struct virtq *q);

/*
 * The device saw a broken ring or an impossible request: log why, set
 * DEVICE_NEEDS_RESET, send a config interrupt and stop using the device.
 */
void virtio_device_fail(struct virtio_device *dev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Whether the driver acked a feature bit. */
static inline bool virtio_has_feature(const struct virtio_device *dev, uint64_t bit)
{
    return (dev->acked & bit) != 0;
}

/*
 * A config-space read of len bytes at offset from a device whose config is
 * the `size` bytes at config: the overlap is copied, the rest reads zero.
 */
static inline void virtio_config_read(const void *config, size_t size, uint32_t offset, void *data,
                                      uint32_t len)
{
    memset(data, 0, len);
    if (offset < size) {
        size_t n = size - offset;
        memcpy(data, (const uint8_t *)config + offset, n < len ? n : len);
    }
}

/* Transport register access (offset within the 4 KiB window); bus handlers. */
void virtio_mmio_read(void *dev, uint64_t offset, uint8_t *data, unsigned len);
void virtio_mmio_write(void *dev, uint64_t offset, const uint8_t *data, unsigned len);

/* The size of a device's virtio-mmio window, and its QueueNotify register. */
#define VIRTIO_MMIO_WINDOW       0x1000
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050

/*
 * Put dev behind a virtio-mmio window at base with interrupt gsi on the
 * machine: transport state, the window on the MMIO bus, an irqfd for its
 * interrupt and an ioeventfd per queue for QueueNotify, so that the data
 * path never exits to the VMM. From this call on the machine owns dev:
 * on failure, and at teardown, dev is destroyed and freed. Returns 0 or
 * -errno (logged with the device's name).
 */
int virtio_mmio_attach(struct machine *m, struct virtio_device *dev, uint64_t base, unsigned gsi);

#endif
