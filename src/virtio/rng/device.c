/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-rng. One thread, started at DRIVER_OK and joined at reset, waits
 * for the queue's kick and fills every buffer the driver posted with
 * getrandom() bytes (at most RNG_MAX_REQUEST per request, so that one
 * huge chain cannot keep the thread busy). A broken ring fails the device.
 */
#include "virtio/rng/rng.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <linux/virtio_ids.h>

#include "util/log.h"
#include "virtio/device.h"
#include "virtio/worker.h"

#define RNG_QUEUE_SIZE 256
#define RNG_MAX_SEGS   64

struct rng_dev {
    struct virtio_device *vdev;
    struct virtio_worker worker;
    struct iovec iov[RNG_MAX_SEGS];
};

/* Random bytes into the chain's writable segments; returns how many. */
static uint32_t fill(const struct virtq_chain *c)
{
    uint32_t done = 0;
    for (unsigned i = c->n_out; i < c->n_out + c->n_in && done < RNG_MAX_REQUEST; i++) {
        uint8_t *p = c->iov[i].iov_base;
        size_t len = c->iov[i].iov_len;
        if (len > RNG_MAX_REQUEST - done)
            len = RNG_MAX_REQUEST - done;
        size_t got = 0;
        while (got < len) {
            ssize_t r = getrandom(p + got, len - got, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return done + (uint32_t)got; /* cannot happen once the host's pool is ready */
            got += (size_t)r;
        }
        done += (uint32_t)len;
    }
    return done;
}

/* Serve every posted buffer. Returns false if the ring is broken. */
static bool serve(struct rng_dev *d)
{
    struct virtq *q = &d->vdev->queues[0];
    struct virtq_chain c = {.iov = d->iov, .iov_cap = RNG_MAX_SEGS};
    bool pushed = false;
    int ret;
    do {
        virtq_disable_notify(q);
        while ((ret = virtq_pop(q, &c)) == 1) {
            virtq_push(q, c.head, fill(&c));
            pushed = true;
        }
    } while (ret == 0 && virtq_enable_notify(q));
    if (pushed)
        virtio_device_notify_queue(d->vdev, q);
    if (ret < 0) {
        virtio_device_fail(d->vdev, "request queue: %s", q->error ? q->error : strerror(-ret));
        return false;
    }
    return true;
}

static void *rng_thread(void *arg)
{
    struct rng_dev *d = arg;
    struct pollfd p[2] = {{.fd = d->vdev->kick_fds[0], .events = POLLIN},
                          {.fd = d->worker.wake_fd, .events = POLLIN}};
    bool ok = true;
    while (!virtio_worker_stopping(&d->worker)) {
        if (ok)
            ok = serve(d);
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            eventfd_drain(p[0].fd);
    }
    return NULL;
}

static int rng_activate(struct virtio_device *dev)
{
    struct rng_dev *d = dev->priv;
    return virtio_worker_start(&d->worker, dev, "krun-rng", SANDBOX_RNG, rng_thread, d);
}

static void rng_reset(struct virtio_device *dev)
{
    struct rng_dev *d = dev->priv;
    virtio_worker_stop(&d->worker, dev);
}

static void rng_destroy(struct virtio_device *dev)
{
    struct rng_dev *d = dev->priv;
    if (!d)
        return;
    virtio_worker_destroy(&d->worker, dev);
    free(d);
    dev->priv = NULL;
}

static const struct virtio_device_ops rng_ops = {
    .activate = rng_activate,
    .reset = rng_reset,
    .destroy = rng_destroy,
};

int virtio_rng_create(struct virtio_device **out, char *err, size_t errlen)
{
    struct virtio_device *dev = calloc(1, sizeof(*dev));
    struct rng_dev *d = calloc(1, sizeof(*d));
    if (!dev || !d) {
        free(dev);
        free(d);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int ret = virtio_worker_init(&d->worker);
    if (ret) {
        snprintf(err, errlen, "eventfd: %s", strerror(-ret));
        free(dev);
        free(d);
        return ret;
    }
    snprintf(dev->name, sizeof(dev->name), "virtio-rng");
    d->vdev = dev;
    dev->ops = &rng_ops;
    dev->device_id = VIRTIO_ID_RNG;
    dev->features = VIRTIO_FEAT_EVENT_IDX;
    dev->n_queues = 1;
    dev->queue_max[0] = RNG_QUEUE_SIZE;
    dev->kick_fds[0] = -1;
    dev->irq_fd = -1;
    dev->priv = d;
    *out = dev;
    return 0;
}
