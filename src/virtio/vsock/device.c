/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock: the glue between the transport's queues and the core.
 *
 * One thread, started at DRIVER_OK and joined at reset, waits in epoll on
 * the queues' kick eventfds and every host socket. Each round it reads the
 * tx queue (in batches, and not while VSOCK_CTRL_PAUSE control packets wait
 * for the guest), then fills the rx queue while the core has something for
 * the guest. A receive buffer taken for data that turned out not to be
 * there is kept for the next packet. Pops and pushes happen on this thread
 * only, in order, so IN_ORDER holds. A broken ring fails the device.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_ids.h>

#include "util/log.h"
#include "virtio/device.h"
#include "virtio/worker.h"
#include "virtio/vsock/internal.h"

#define VSOCK_QUEUE_SIZE 256
#define RXQ              0
#define TXQ              1
#define EVQ              2
#define N_QUEUES         3
#define TX_BATCH         64

struct dev_fd {
    struct vsock_ev ev; /* first; kind VSOCK_EV_DEVICE */
    int fd;
};

struct vsock_dev {
    struct virtio_device *vdev;
    struct vsock core;
    struct dev_fd kicks[N_QUEUES];
    struct dev_fd wake; /* worker.wake_fd, in the thread's epoll set */
    struct virtio_worker worker;
    bool reset_on_stop; /* the thread closes the guest's connections as it stops */
    struct iovec tx_iov[VSOCK_MAX_SEGS];
    struct iovec rx_iov[VSOCK_MAX_SEGS];
    struct virtq_chain rx_stash;
    bool have_stash;
    uint8_t config[8]; /* guest_cid, le64 */
};

static struct virtq *queue(struct vsock_dev *d, unsigned i)
{
    return &d->vdev->queues[i];
}

static int pop(struct vsock_dev *d, unsigned qi, struct virtq_chain *ch, struct iovec *iov)
{
    ch->iov = iov;
    ch->iov_cap = VSOCK_MAX_SEGS;
    int r = virtq_pop(queue(d, qi), ch);
    if (r < 0) {
        const char *why = queue(d, qi)->error;
        virtio_device_fail(d->vdev, "queue %u is broken: %s", qi, why ? why : "unknown");
        return -1;
    }
    return r;
}

/* Returns 1 if the batch was full (more may wait), 0, or -1 if the ring broke. */
static int process_tx(struct vsock_dev *d)
{
    struct virtq *q = queue(d, TXQ);
    int n = 0, r = 0;
    while (n < TX_BATCH && !vsock_core_tx_paused(&d->core)) {
        struct virtq_chain ch;
        r = pop(d, TXQ, &ch, d->tx_iov);
        if (r <= 0)
            break;
        vsock_core_tx(&d->core, ch.iov, ch.n_out);
        virtq_push(q, ch.head, 0);
        n++;
    }
    if (n)
        virtio_device_notify_queue(d->vdev, q);
    if (r < 0)
        return -1;
    return n == TX_BATCH ? 1 : 0;
}

static int fill_rx(struct vsock_dev *d)
{
    struct virtq *q = queue(d, RXQ);
    struct virtq_chain *ch = &d->rx_stash;
    bool pushed = false;
    int ret = 0;
    while (vsock_core_rx_pending(&d->core)) {
        if (!d->have_stash) {
            int r = pop(d, RXQ, ch, d->rx_iov);
            if (r < 0) {
                ret = -1;
                break;
            }
            if (r == 0)
                break;
            d->have_stash = true;
        }
        size_t w = 0;
        if (ch->in_len < VSOCK_HDR_SIZE)
            vsock_guest_fault(&d->core, "a receive buffer of %llu bytes cannot hold a header",
                              (unsigned long long)ch->in_len);
        else if (!(w = vsock_core_rx(&d->core, &ch->iov[ch->n_out], ch->n_in)))
            break; /* nothing after all: keep the buffer */
        virtq_push(q, ch->head, (uint32_t)w);
        d->have_stash = false;
        pushed = true;
    }
    if (pushed)
        virtio_device_notify_queue(d->vdev, q);
    return ret;
}

static void watch_device_fds(struct vsock_dev *d, bool on)
{
    struct dev_fd *fds[N_QUEUES + 1] = {&d->kicks[RXQ], &d->kicks[TXQ], &d->kicks[EVQ], &d->wake};
    for (unsigned i = 0; i < N_QUEUES + 1; i++) {
        if (fds[i]->fd < 0)
            continue;
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = fds[i]};
        epoll_ctl(d->core.epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fds[i]->fd, on ? &e : NULL);
    }
}

/* After a failure: nothing more to do until stop_thread asks. */
static void wait_for_stop(struct vsock_dev *d)
{
    struct pollfd p = {.fd = d->wake.fd, .events = POLLIN};
    while (!virtio_worker_stopping(&d->worker))
        if (poll(&p, 1, -1) < 0 && errno != EINTR)
            break;
}

/*
 * Everything that touches host sockets happens on this thread (its seccomp
 * filter allows socket calls; a vCPU's does not): it watches the queues'
 * eventfds while it runs and, when a reset stops it, closes the guest's
 * connections.
 */
static void *vsock_thread(void *arg)
{
    struct vsock_dev *d = arg;
    struct virtio_device *dev = d->vdev;
    struct epoll_event evs[64];
    watch_device_fds(d, true);
    while (!virtio_worker_stopping(&d->worker) && !atomic_load(&dev->failed)) {
        int more_tx = process_tx(d);
        if (more_tx < 0 || fill_rx(d) < 0)
            break;
        vsock_core_tick(&d->core);
        /* Ask for kicks again; if the guest queued meanwhile, go round. */
        bool more = more_tx > 0;
        if (!vsock_core_tx_paused(&d->core))
            more |= virtq_enable_notify(queue(d, TXQ));
        bool rx_more = virtq_enable_notify(queue(d, RXQ));
        more |= rx_more && !d->have_stash && vsock_core_rx_pending(&d->core);
        if (more)
            continue;
        int n = epoll_wait(d->core.epfd, evs, 64, vsock_core_timeout(&d->core));
        if (n < 0 && errno != EINTR) {
            log_error("%s: epoll_wait: %s", dev->name, strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            struct vsock_ev *ev = evs[i].data.ptr;
            if (ev->kind == VSOCK_EV_DEVICE)
                eventfd_drain(((struct dev_fd *)ev)->fd);
            else
                vsock_core_event(&d->core, ev, evs[i].events);
        }
    }
    log_debug("%s: thread stops (stop %d, failed %d)", dev->name,
              virtio_worker_stopping(&d->worker), atomic_load(&dev->failed));
    wait_for_stop(d);
    watch_device_fds(d, false);
    if (d->reset_on_stop)
        vsock_core_reset(&d->core); /* the guest's sockets are gone with its driver */
    return NULL;
}

static void stop_thread(struct vsock_dev *d, bool reset)
{
    d->reset_on_stop = reset;
    virtio_worker_stop(&d->worker, d->vdev);
}

static int vsock_activate(struct virtio_device *dev)
{
    struct vsock_dev *d = dev->priv;
    stop_thread(d, false);
    for (unsigned i = 0; i < N_QUEUES; i++)
        d->kicks[i].fd = dev->kick_fds[i];
    d->have_stash = false;
    return virtio_worker_start(&d->worker, dev, "krun-vsock", SANDBOX_VSOCK, vsock_thread, d);
}

static void vsock_reset(struct virtio_device *dev)
{
    struct vsock_dev *d = dev->priv;
    stop_thread(d, true);
    d->have_stash = false;
}

static void vsock_destroy(struct virtio_device *dev)
{
    struct vsock_dev *d = dev->priv;
    if (!d)
        return;
    stop_thread(d, false);
    vsock_core_destroy(&d->core);
    virtio_worker_destroy(&d->worker, dev);
    free(d);
    dev->priv = NULL;
}

static void vsock_read_config(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len)
{
    struct vsock_dev *d = dev->priv;
    virtio_config_read(d->config, sizeof(d->config), offset, data, len);
}

static const struct virtio_device_ops vsock_ops = {
    .read_config = vsock_read_config,
    .activate = vsock_activate,
    .reset = vsock_reset,
    .destroy = vsock_destroy,
};

int virtio_vsock_create(const struct vsock_dev_config *cfg, struct virtio_device **out, char *err,
                        size_t errlen)
{
    struct virtio_device *dev = calloc(1, sizeof(*dev));
    struct vsock_dev *d = calloc(1, sizeof(*d));
    if (!dev || !d) {
        free(dev);
        free(d);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    snprintf(dev->name, sizeof(dev->name), "virtio-vsock");
    d->vdev = dev;
    for (unsigned i = 0; i < N_QUEUES; i++)
        d->kicks[i] = (struct dev_fd){.ev.kind = VSOCK_EV_DEVICE, .fd = -1};
    d->wake = (struct dev_fd){.ev.kind = VSOCK_EV_DEVICE, .fd = -1};
    int ret = vsock_core_init(&d->core, dev->name, cfg, err, errlen);
    if (ret) {
        free(dev);
        free(d);
        return ret;
    }
    ret = virtio_worker_init(&d->worker);
    d->wake.fd = d->worker.wake_fd;
    if (ret) {
        snprintf(err, errlen, "eventfd: %s", strerror(-ret));
        vsock_core_destroy(&d->core);
        free(dev);
        free(d);
        return ret;
    }
    uint64_t cid = htole64(VSOCK_CID_GUEST);
    memcpy(d->config, &cid, sizeof(cid));

    dev->ops = &vsock_ops;
    dev->device_id = VIRTIO_ID_VSOCK;
    dev->features = VIRTIO_FEAT_EVENT_IDX | VIRTIO_FEAT_IN_ORDER | VIRTIO_F_BIT(VSOCK_F_DGRAM);
    dev->n_queues = N_QUEUES;
    for (unsigned i = 0; i < N_QUEUES; i++) {
        dev->queue_max[i] = VSOCK_QUEUE_SIZE;
        dev->kick_fds[i] = -1;
    }
    dev->irq_fd = -1;
    dev->priv = d;
    *out = dev;
    return 0;
}
