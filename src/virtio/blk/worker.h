/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A virtio-blk queue served by a thread of its own, off the vCPU threads.
 *
 * The thread waits for the queue's kick eventfd, drains the ring (with
 * driver notifications suppressed meanwhile), parses each chain and, with
 * io_uring, submits it so that up to one request per descriptor is in
 * flight at once; completions are pushed and the driver is notified once
 * per batch. Pop and push both happen on this thread, so they are
 * serialized without a lock. Without io_uring (ENOSYS, a seccomp filter, a
 * kernel that lacks an opcode) the same thread executes requests one at a
 * time with plain system calls.
 *
 * Stopping: set *stop, write 1 to stop_fd, then blk_worker_join(). The
 * thread takes no new chains, waits for the I/O in flight and ends; after
 * the join no request of this worker touches guest memory.
 */
#ifndef KRUN_VIRTIO_BLK_WORKER_H
#define KRUN_VIRTIO_BLK_WORKER_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "util/log_limit.h"
#include "virtio/blk/io.h"
#include "virtio/blk/request.h"
#include "virtio/device.h"

/* Counters of one device, shared by its workers. */
struct blk_stats {
    atomic_ulong requests;     /* chains answered */
    atomic_ulong io_errors;    /* IOERR because of a host error */
    atomic_ulong refused;      /* malformed or unsupported: IOERR/UNSUPP without I/O */
    atomic_ulong unanswerable; /* no status byte: pushed with 0 bytes written */
    atomic_bool warned_io;     /* the first of each kind is a warning, the rest debug */
    atomic_bool warned_guest;
};

struct blk_slot;

struct blk_worker {
    /* Set by the caller before blk_worker_start. */
    const char *name; /* for messages */
    struct virtio_device *dev;
    struct virtq *vq; /* activated */
    const struct blk_disk *disk;
    struct blk_mode mode;
    int kick_fd;
    int stop_fd; /* eventfd, polled only (never read here) */
    atomic_bool *stop;
    struct blk_stats *stats;
    bool try_uring;

    /* Private to the worker. */
    pthread_t thread;
    bool started;
    bool uring; /* the io_uring engine is in use */
    struct io_uring ring;
    struct blk_slot *slots;
    unsigned n_slots;
    struct blk_slot *free;
    unsigned inflight;
    bool starved; /* stopped popping for lack of a free slot */
    bool failed;  /* the ring broke: the device awaits a reset */
    bool pushed;  /* pushed since the last notify */
    struct blk_bounce bounce;
    struct log_limit errors; /* a failing io_uring is logged once, not 1000 times a second */
    uint64_t kick_buf;
};

/* Allocate request slots (one per descriptor), set up io_uring, start. */
int blk_worker_start(struct blk_worker *w);

/*
 * Wait for the thread (after *stop and stop_fd) and free its resources;
 * also frees a worker set up by blk_worker_start_inline.
 */
void blk_worker_join(struct blk_worker *w);

/*
 * For tests and fuzzing: set the worker up like blk_worker_start (slots,
 * io_uring if try_uring) but start no thread. blk_worker_serve then does
 * on the caller's thread what the thread does after a kick: it drains the
 * ring, waits for every request it took and notifies the driver.
 * blk_worker_rearm_inline forgets a broken ring (as a device reset does)
 * and keeps the slots and the io_uring instance for the next one.
 */
int blk_worker_start_inline(struct blk_worker *w);
void blk_worker_serve(struct blk_worker *w);
void blk_worker_rearm_inline(struct blk_worker *w);

#endif
