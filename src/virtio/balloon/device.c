/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-balloon. One thread, started at DRIVER_OK and joined at reset,
 * waits for the kicks of its three queues. A report or an inflate request
 * is checked whole (pages.c), its pages are released with MADV_DONTNEED,
 * and the chain goes back with nothing written. A request that fails the
 * checks, or a broken ring, fails the device; nothing is released for it.
 */
#include "virtio/balloon/balloon.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_ids.h>

#include "util/log.h"
#include "virtio/balloon/pages.h"
#include "virtio/device.h"
#include "virtio/worker.h"

struct balloon_config {
    uint32_t num_pages; /* le32: pages the host wants; always 0 */
    uint32_t actual;    /* le32: pages in the balloon, written by the driver */
};

struct balloon_dev {
    struct virtio_device *vdev;
    struct virtio_worker worker;
    struct balloon_config config; /* under vdev->lock */
    size_t host_page;
    atomic_uint_fast64_t reported, inflated;
    struct iovec iov[BALLOON_QUEUE_SIZE];
    struct balloon_span spans[BALLOON_MAX_PFNS];
    uint32_t pfns[BALLOON_MAX_PFNS];
};

/* Drop the host's backing of spans; returns the bytes released. */
static uint64_t release(struct balloon_dev *d, const struct balloon_span *spans, int n)
{
    uint64_t done = 0;
    for (int i = 0; i < n; i++) {
        struct balloon_span s = balloon_span_host_pages(spans[i], d->host_page);
        if (!s.len)
            continue;
        /* Private anonymous (or private file) memory: the next guest access faults in afresh. */
        if (madvise(s.host, s.len, MADV_DONTNEED) == 0)
            done += s.len;
        else
            log_debug("%s: madvise(%zu bytes): %s", d->vdev->name, s.len, strerror(errno));
    }
    return done;
}

/* One request of queue qi; returns 0 or -EINVAL with *why. */
static int handle(struct balloon_dev *d, unsigned qi, const struct virtq_chain *c, const char **why)
{
    int n;
    switch (qi) {
    case BALLOON_REPORTQ:
        n = balloon_report_spans(c, d->spans, BALLOON_QUEUE_SIZE, why);
        if (n < 0)
            return n;
        atomic_fetch_add(&d->reported, release(d, d->spans, n));
        return 0;
    case BALLOON_INFLATEQ:
        n = balloon_inflate_spans(d->vdev->gm, c, d->pfns, BALLOON_MAX_PFNS, d->spans, why);
        if (n < 0)
            return n;
        atomic_fetch_add(&d->inflated, release(d, d->spans, n));
        return 0;
    default:
        /* Deflate: the pages fault back in when the guest touches them (no MUST_TELL_HOST). */
        return 0;
    }
}

static const char *const queue_names[BALLOON_QUEUES] = {"inflate", "deflate", "reporting"};

/* Serve every posted request of queue qi. Returns false if the device failed. */
static bool serve(struct balloon_dev *d, unsigned qi)
{
    struct virtq *q = &d->vdev->queues[qi];
    struct virtq_chain c = {.iov = d->iov, .iov_cap = BALLOON_QUEUE_SIZE};
    bool pushed = false;
    const char *why = NULL;
    int ret;
    do {
        virtq_disable_notify(q);
        while ((ret = virtq_pop(q, &c)) == 1) {
            if (handle(d, qi, &c, &why) < 0) {
                ret = -EINVAL;
                break;
            }
            virtq_push(q, c.head, 0);
            pushed = true;
        }
    } while (ret == 0 && virtq_enable_notify(q));
    if (pushed)
        virtio_device_notify_queue(d->vdev, q);
    if (ret < 0) {
        if (!why)
            why = q->error ? q->error : strerror(-ret);
        virtio_device_fail(d->vdev, "%s queue: %s", queue_names[qi], why);
        return false;
    }
    return true;
}

static void *balloon_thread(void *arg)
{
    struct balloon_dev *d = arg;
    struct virtio_device *dev = d->vdev;
    /* Only the queues the driver set up and may use (reporting: if negotiated). */
    unsigned nq = virtio_has_feature(dev, BALLOON_F_REPORTING) ? BALLOON_QUEUES : BALLOON_REPORTQ;
    struct pollfd p[BALLOON_QUEUES + 1];
    for (unsigned i = 0; i < nq; i++)
        p[i] =
            (struct pollfd){.fd = dev->queues[i].ready ? dev->kick_fds[i] : -1, .events = POLLIN};
    p[nq] = (struct pollfd){.fd = d->worker.wake_fd, .events = POLLIN};
    bool ok = true;
    while (!virtio_worker_stopping(&d->worker)) {
        for (unsigned i = 0; ok && i < nq; i++)
            if (p[i].fd >= 0)
                ok = serve(d, i);
        if (poll(p, nq + 1, -1) < 0 && errno != EINTR)
            break;
        for (unsigned i = 0; i < nq; i++)
            if (p[i].revents & POLLIN)
                eventfd_drain(p[i].fd);
    }
    return NULL;
}

static void balloon_read_config(struct virtio_device *dev, uint32_t offset, void *data,
                                uint32_t len)
{
    struct balloon_dev *d = dev->priv;
    virtio_config_read(&d->config, sizeof(d->config), offset, data, len);
}

/* The driver may write actual (and nothing else: num_pages is the device's). */
static void balloon_write_config(struct virtio_device *dev, uint32_t offset, const void *data,
                                 uint32_t len)
{
    struct balloon_dev *d = dev->priv;
    if (offset == offsetof(struct balloon_config, actual) && len == sizeof(uint32_t))
        memcpy(&d->config.actual, data, len);
}

static int balloon_activate(struct virtio_device *dev)
{
    struct balloon_dev *d = dev->priv;
    return virtio_worker_start(&d->worker, dev, "krun-balloon", SANDBOX_BALLOON, balloon_thread, d);
}

static void balloon_reset(struct virtio_device *dev)
{
    struct balloon_dev *d = dev->priv;
    virtio_worker_stop(&d->worker, dev);
    d->config.actual = 0;
}

static void balloon_destroy(struct virtio_device *dev)
{
    struct balloon_dev *d = dev->priv;
    if (!d)
        return;
    virtio_worker_destroy(&d->worker, dev);
    free(d);
    dev->priv = NULL;
}

static const struct virtio_device_ops balloon_ops = {
    .read_config = balloon_read_config,
    .write_config = balloon_write_config,
    .activate = balloon_activate,
    .reset = balloon_reset,
    .destroy = balloon_destroy,
};

struct balloon_stats virtio_balloon_stats(struct virtio_device *dev)
{
    struct balloon_dev *d = dev->priv;
    return (struct balloon_stats){.reported_bytes = atomic_load(&d->reported),
                                  .inflated_bytes = atomic_load(&d->inflated)};
}

int virtio_balloon_create(struct virtio_device **out, char *err, size_t errlen)
{
    struct virtio_device *dev = calloc(1, sizeof(*dev));
    struct balloon_dev *d = calloc(1, sizeof(*d));
    long page = sysconf(_SC_PAGESIZE);
    if (!dev || !d || page <= 0) {
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
    snprintf(dev->name, sizeof(dev->name), "virtio-balloon");
    d->vdev = dev;
    d->host_page = (size_t)page;
    dev->ops = &balloon_ops;
    dev->device_id = VIRTIO_ID_BALLOON;
    dev->features = VIRTIO_FEAT_EVENT_IDX | BALLOON_F_REPORTING;
    dev->n_queues = BALLOON_QUEUES;
    for (unsigned i = 0; i < BALLOON_QUEUES; i++) {
        dev->queue_max[i] = BALLOON_QUEUE_SIZE;
        dev->kick_fds[i] = -1;
    }
    dev->irq_fd = -1;
    dev->priv = d;
    *out = dev;
    return 0;
}
