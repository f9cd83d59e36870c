/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The split virtqueue, device side.
 *
 * The guest is hostile. The ring addresses are checked once, when the queue
 * is activated; every descriptor is copied out of guest memory exactly once
 * and then used only from that copy; a chain may not have more descriptors
 * than the queue (or the indirect table) holds, so loops end; lengths are
 * summed with overflow checks; every buffer is translated with gm_ptr().
 * Any violation marks the queue broken: virtq_pop() returns -EIO from then
 * on and the device is expected to fail (NEEDS_RESET) instead of going on.
 *
 * Chains: an indirect descriptor (only with VIRTIO_F_INDIRECT_DESC) must not
 * have NEXT set and ends the direct part of the chain; its table must be a
 * nonzero multiple of 16 bytes inside guest RAM and may not hold another
 * indirect descriptor. Zero-length descriptors are accepted and skipped: they
 * add no segment and their address is not checked (nothing is accessed).
 *
 * Threads: the pop side (virtq_pop, virtq_enable_notify, virtq_disable_notify)
 * and the push side (virtq_push, virtq_needs_notify) may run on different
 * threads, but each side must be serialized by its caller.
 */
#ifndef KRUN_VIRTIO_QUEUE_H
#define KRUN_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/guest_mem.h"

/* Largest queue size any device of ours offers. */
#define VIRTQ_MAX_SIZE 1024

struct virtq {
    /* Set by the transport from the driver's register writes. */
    uint16_t num_max; /* offered by the device */
    uint16_t num;     /* chosen by the driver */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    bool ready;

    /* Valid after virtq_activate(). */
    const struct guest_mem *gm;
    bool event_idx;      /* VIRTIO_F_RING_EVENT_IDX negotiated */
    bool indirect;       /* VIRTIO_F_INDIRECT_DESC negotiated */
    void *desc;          /* struct vring_desc[num] */
    void *avail;         /* struct vring_avail + ring[num] + used_event */
    void *used;          /* struct vring_used + ring[num] + avail_event */
    uint16_t last_avail; /* next avail ring index to consume */
    uint16_t used_idx;   /* next used ring index to fill */
    uint16_t signalled_used;
    bool signalled_used_valid;
    bool broken;
    const char *error; /* why the queue broke (static string), for the device's log */
};

/* One request: device-readable segments first, then device-writable ones. */
struct virtq_chain {
    uint16_t head;     /* descriptor index to hand back to virtq_push */
    unsigned n_out;    /* readable segments: iov[0 .. n_out) */
    unsigned n_in;     /* writable segments: iov[n_out .. n_out + n_in) */
    uint64_t out_len;  /* total bytes readable */
    uint64_t in_len;   /* total bytes writable */
    struct iovec *iov; /* caller storage */
    unsigned iov_cap;  /* capacity of iov; chains with more segments are refused */
};

/*
 * Check the ring addresses (inside guest RAM, aligned, num a power of two
 * between 1 and num_max) and resolve them to host pointers. Called when the
 * driver sets DRIVER_OK. Starts with all ring indexes at 0. Returns 0 or
 * -EINVAL (the queue is then broken, with q->error saying why).
 */
int virtq_activate(struct virtq *q, const struct guest_mem *gm, bool event_idx, bool indirect);

/* Forget all state except num_max (device reset). */
void virtq_reset(struct virtq *q);

/*
 * Take the next available chain. Returns 1 with *c filled, 0 if the ring is
 * empty, -EIO if the ring is broken (then and on every later call), -ENOSPC
 * if the chain has more segments than c->iov_cap (the chain is consumed and
 * the queue is marked broken: a driver must respect the segment limits the
 * device advertised).
 */
int virtq_pop(struct virtq *q, struct virtq_chain *c);

/* Return a chain to the driver with `written` bytes written into it. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t written);

/*
 * After one or more pushes: whether the driver wants an interrupt now
 * (EVENT_IDX used_event, or the NO_INTERRUPT flag without it).
 */
bool virtq_needs_notify(struct virtq *q);

/*
 * Ask the driver not to notify us (the device is busy draining the ring),
 * or to notify again. virtq_enable_notify returns true if buffers became
 * available meanwhile, in which case the caller must pop again.
 */
void virtq_disable_notify(struct virtq *q);
bool virtq_enable_notify(struct virtq *q);

/* Copy helpers over a chain's segments. They return the bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t offset, const void *buf,
                    size_t len);

#endif
