/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A device's worker thread: started at DRIVER_OK, stopped at reset and at
 * teardown. The thread polls its queues' kick fds and wake_fd, and returns
 * once virtio_worker_stopping() is true; virtio_worker_stop() sets that,
 * wakes it through wake_fd and joins it.
 */
#ifndef KRUN_VIRTIO_WORKER_H
#define KRUN_VIRTIO_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "util/sandbox.h"

struct virtio_device;

struct virtio_worker {
    pthread_t thread;
    bool running;
    atomic_bool stop;
    int wake_fd; /* an eventfd the thread polls */
};

/* Make the wake fd. Returns 0 or -errno. */
int virtio_worker_init(struct virtio_worker *w);

/* Start fn(arg) as dev's thread `name` in sandbox `kind`, stopping a running one first. */
int virtio_worker_start(struct virtio_worker *w, struct virtio_device *dev, const char *name,
                        enum sandbox_kind kind, void *(*fn)(void *), void *arg);

static inline bool virtio_worker_stopping(struct virtio_worker *w)
{
    return atomic_load(&w->stop);
}

/* Stop and join the thread, if it runs (dev: for the message if it cannot be woken). */
void virtio_worker_stop(struct virtio_worker *w, struct virtio_device *dev);

/* Stop it and close the wake fd. */
void virtio_worker_destroy(struct virtio_worker *w, struct virtio_device *dev);

/* Consume an eventfd's count (kick and wake fds are non-blocking). */
void eventfd_drain(int fd);

#endif
