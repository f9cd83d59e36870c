/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net. One worker thread per interface, started at DRIVER_OK and
 * joined at reset, polls the two queues' kick fds, the backend and a wake
 * fd; nothing on the data path exits to the VMM.
 *
 * Backpressure, both ways, with bounded memory: the device holds at most
 * one TX batch that the backend has not taken (then it stops taking
 * guest frames and waits for the backend to be writable), and at most one
 * RX frame the guest has no buffers for (then it stops reading the
 * backend, whose own queue fills and drops, as a NIC's ring would).
 *
 * Bad frames are dropped and counted, never fatal: a TX chain shorter than
 * the header or longer than a frame, an offload the backend cannot do, a
 * checksum range outside the frame; from the backend, a frame too short,
 * too long, or cut off by the peer closing. A broken ring fails the device.
 */
#include "virtio/net/net.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "util/log.h"
#include "util/log_limit.h"
#include "virtio/device.h"
#include "virtio/net/frame.h"
#include "virtio/worker.h"

#define NET_QUEUE_SIZE 256
#define RXQ            0
#define TXQ            1
#define TX_SEGS        64
#define RX_SEGS        32
#define RX_HELD        64 /* chains one frame may span (mergeable buffers) */
#define FRAME_BUF      (NET_HDR_LEN + NET_FRAME_MAX)
#define STREAM_TX_BUF  (256 * 1024) /* a batch of length-prefixed frames, one write */
#define STREAM_RX_BUF  (256 * 1024)

#define F(bit) (1ull << (bit))

struct rx_slot {
    struct virtq_chain c;
    struct iovec iov[RX_SEGS];
};

struct net_dev {
    struct virtio_device *vdev;
    struct net_backend be;
    uint8_t mac[6];
    atomic_uint link; /* VIRTIO_NET_S_LINK_UP or 0 */

    struct virtio_worker worker;

    /* Worker state, reset with the device. */
    bool backend_gone;
    uint8_t *tx_buf; /* STREAM_TX_BUF bytes: frames waiting for the backend */
    size_t tx_len, tx_off;
    struct iovec tx_iov[TX_SEGS];
    uint8_t *rx_frame; /* FRAME_BUF: header + frame for the guest */
    size_t rx_len;     /* 0: none pending */
    uint8_t *rs_buf;   /* stream backends: bytes read, not yet framed */
    size_t rs_off, rs_len;
    struct net_stream_rx srx;
    struct rx_slot held[RX_HELD]; /* RX chains taken for the pending frame */
    unsigned n_held;
    uint64_t held_room;

    /* Counters (read by tests and the stats dump). */
    atomic_ulong rx_frames, tx_frames, rx_dropped, tx_dropped;
    struct log_limit drops;
};

uint64_t virtio_net_offered_features(uint32_t caller, enum net_backend_kind kind)
{
    uint64_t offloads = F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
                        F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) |
                        F(VIRTIO_NET_F_GUEST_UFO);
    if (kind == NET_BACKEND_TAP)
        offloads |=
            F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_HOST_UFO);
    return ((uint64_t)caller & offloads) | F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) |
           F(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_FEAT_EVENT_IDX;
}

static void drop(struct net_dev *d, atomic_ulong *counter, const char *why)
{
    atomic_fetch_add(counter, 1);
    uint64_t unlogged;
    if (log_limit_pass(&d->drops, why, &unlogged))
        log_warn("%s: dropped a frame: %s (%llu more since the last such message)", d->vdev->name,
                 why, (unsigned long long)unlogged);
}

/* The peer went away: link down, tell the driver, stop polling the backend. */
static void backend_lost(struct net_dev *d, const char *why)
{
    if (d->backend_gone)
        return;
    d->backend_gone = true;
    log_warn("%s: the backend %s; the link is down", d->vdev->name, why);
    atomic_store(&d->link, 0);
    virtio_device_interrupt(d->vdev, VIRTIO_ISR_CONFIG);
}

/* ---- TX: guest to backend ---- */

/* Send what tx_buf holds. Returns true when it is all gone (sent or dropped). */
static bool tx_send(struct net_dev *d)
{
    while (d->tx_off < d->tx_len) {
        if (d->backend_gone) {
            d->tx_len = d->tx_off = 0;
            return true;
        }
        ssize_t n;
        if (d->be.kind == NET_BACKEND_DGRAM)
            n = send(d->be.fd, d->tx_buf, d->tx_len, MSG_DONTWAIT | MSG_NOSIGNAL);
        else if (d->be.kind == NET_BACKEND_STREAM)
            n = send(d->be.fd, d->tx_buf + d->tx_off, d->tx_len - d->tx_off,
                     MSG_DONTWAIT | MSG_NOSIGNAL);
        else
            n = write(d->be.fd, d->tx_buf, d->tx_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == ENOBUFS))
            return false;
        if (n < 0) {
            if (d->be.kind == NET_BACKEND_STREAM) {
                backend_lost(d, errno == EPIPE ? "closed its socket" : "failed");
                continue;
            }
            /* A datagram peer not there yet, a tap that is down: the frame is lost, as on a wire.
             */
            drop(d, &d->tx_dropped, "the backend refused it");
            d->tx_len = d->tx_off = 0;
            return true;
        }
        d->tx_off = d->be.kind == NET_BACKEND_STREAM ? d->tx_off + (size_t)n : d->tx_len;
    }
    d->tx_len = d->tx_off = 0;
    return true;
}

/* Copy one TX chain into tx_buf (after what is there). Returns false if the frame was dropped. */
static bool tx_take(struct net_dev *d, const struct virtq_chain *c)
{
    if (c->out_len < NET_HDR_LEN + NET_FRAME_MIN || c->out_len > NET_HDR_LEN + NET_FRAME_MAX) {
        drop(d, &d->tx_dropped, "a TX chain shorter than a header or longer than a frame");
        return false;
    }
    size_t flen = (size_t)c->out_len - NET_HDR_LEN;
    uint8_t *p = d->tx_buf + d->tx_len;
    if (d->be.kind == NET_BACKEND_TAP) {
        iov_to_buf(c->iov, c->n_out, 0, p, (size_t)c->out_len);
        d->tx_len += (size_t)c->out_len;
        return true;
    }
    uint8_t raw[NET_HDR_LEN];
    struct net_hdr h;
    iov_to_buf(c->iov, c->n_out, 0, raw, NET_HDR_LEN);
    net_hdr_parse(raw, &h);
    size_t pre = d->be.kind == NET_BACKEND_STREAM ? 4 : 0;
    iov_to_buf(c->iov, c->n_out, NET_HDR_LEN, p + pre, flen);
    int r = net_frame_finish(&h, p + pre, flen);
    if (r) {
        drop(d, &d->tx_dropped,
             r == -EPROTO ? "a segmentation offload this backend was not offered"
                          : "a checksum range outside the frame");
        return false;
    }
    if (pre)
        net_stream_prefix(p, (uint32_t)flen);
    d->tx_len += pre + flen;
    return true;
}

/* Move guest frames to the backend until the ring is empty or the backend full. Returns false if
 * the ring broke. */
static bool tx_run(struct net_dev *d, bool *blocked)
{
    struct virtq *q = &d->vdev->queues[TXQ];
    struct virtq_chain c = {.iov = d->tx_iov, .iov_cap = TX_SEGS};
    bool pushed = false;
    int ret = 0;
    *blocked = false;
    for (;;) {
        if (!tx_send(d)) {
            *blocked = true;
            break;
        }
        virtq_disable_notify(q);
        /* A stream takes a batch per write; the others one frame per call. */
        do {
            ret = virtq_pop(q, &c);
            if (ret != 1)
                break;
            if (tx_take(d, &c))
                atomic_fetch_add(&d->tx_frames, 1);
            virtq_push(q, c.head, 0);
            pushed = true;
        } while (d->be.kind == NET_BACKEND_STREAM &&
                 d->tx_len + 4 + NET_FRAME_MAX <= STREAM_TX_BUF);
        if (ret < 0)
            break;
        if (ret == 0 && d->tx_len == 0 && !virtq_enable_notify(q))
            break;
    }
    if (pushed)
        virtio_device_notify_queue(d->vdev, q);
    if (ret < 0) {
        virtio_device_fail(d->vdev, "TX queue: %s", q->error ? q->error : strerror(-ret));
        return false;
    }
    return true;
}

/* ---- RX: backend to guest ---- */

/* Read one frame from the backend into rx_frame. Returns 1, 0 (none now) or -1 (gone). */
static int rx_read(struct net_dev *d)
{
    for (;;) {
        ssize_t n;
        switch (d->be.kind) {
        case NET_BACKEND_TAP:
            n = read(d->be.fd, d->rx_frame, FRAME_BUF);
            if (n >= 0 && n < NET_HDR_LEN + NET_FRAME_MIN) {
                drop(d, &d->rx_dropped, "a frame from the tap shorter than an Ethernet header");
                continue;
            }
            break;
        case NET_BACKEND_DGRAM:
            n = recv(d->be.fd, d->rx_frame + NET_HDR_LEN, NET_FRAME_MAX, MSG_DONTWAIT | MSG_TRUNC);
            if (n >= 0 && (n < NET_FRAME_MIN || n > NET_FRAME_MAX)) {
                drop(d, &d->rx_dropped, "a datagram shorter than a header or longer than a frame");
                continue;
            }
            if (n >= 0) {
                memset(d->rx_frame, 0, NET_HDR_LEN);
                n += NET_HDR_LEN;
            }
            break;
        default:
            if (d->rs_off < d->rs_len) {
                uint64_t before = d->srx.dropped;
                d->rs_off +=
                    net_stream_rx_feed(&d->srx, d->rs_buf + d->rs_off, d->rs_len - d->rs_off);
                if (d->srx.dropped != before)
                    drop(d, &d->rx_dropped, "a length prefix out of range from the stream");
                if (d->srx.ready) {
                    memset(d->rx_frame, 0, NET_HDR_LEN);
                    d->rx_len = NET_HDR_LEN + d->srx.want;
                    net_stream_rx_next(&d->srx);
                    return 1;
                }
                continue;
            }
            n = recv(d->be.fd, d->rs_buf, STREAM_RX_BUF, MSG_DONTWAIT);
            if (n == 0) {
                if (net_stream_rx_mid_frame(&d->srx))
                    drop(d, &d->rx_dropped, "the peer closed the stream inside a frame");
                backend_lost(d, "closed its socket");
                return -1;
            }
            if (n > 0) {
                d->rs_off = 0;
                d->rs_len = (size_t)n;
                continue;
            }
            break;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n < 0) {
            backend_lost(d, strerror(errno));
            return -1;
        }
        d->rx_len = (size_t)n;
        return 1;
    }
}

/*
 * Put the pending frame into the guest's buffers. Returns 1 (delivered or
 * dropped), 0 (waiting for buffers) or -1 (the ring broke).
 */
static int rx_deliver(struct net_dev *d, bool *pushed)
{
    struct virtq *q = &d->vdev->queues[RXQ];
    bool mrg = virtio_has_feature(d->vdev, F(VIRTIO_NET_F_MRG_RXBUF));
    while (d->held_room < d->rx_len) {
        if (d->n_held == RX_HELD || (!mrg && d->n_held == 1)) {
            /* Buffers too small for this frame: drop it, keep them for the next. */
            drop(d, &d->rx_dropped, "guest buffers too small for the frame");
            d->rx_len = 0;
            return 1;
        }
        struct rx_slot *s = &d->held[d->n_held];
        s->c.iov = s->iov;
        s->c.iov_cap = RX_SEGS;
        int r = virtq_pop(q, &s->c);
        if (r == 0 && virtq_enable_notify(q))
            continue;
        if (r == 0)
            return 0;
        if (r < 0) {
            virtio_device_fail(d->vdev, "RX queue: %s", q->error ? q->error : strerror(-r));
            return -1;
        }
        virtq_disable_notify(q);
        d->n_held++;
        d->held_room += s->c.in_len;
    }
    /* How many buffers the frame spans goes into its header. */
    uint64_t room = 0;
    unsigned used = 0;
    while (room < d->rx_len)
        room += d->held[used++].c.in_len;
    struct net_hdr h;
    net_hdr_parse(d->rx_frame, &h);
    h.num_buffers = (uint16_t)used;
    net_hdr_write(d->rx_frame, &h);
    size_t off = 0;
    for (unsigned i = 0; i < used; i++) {
        struct virtq_chain *c = &d->held[i].c;
        size_t n = d->rx_len - off < c->in_len ? d->rx_len - off : (size_t)c->in_len;
        iov_from_buf(c->iov + c->n_out, c->n_in, 0, d->rx_frame + off, n);
        virtq_push(q, c->head, (uint32_t)n);
        off += n;
        d->held_room -= c->in_len;
    }
    d->n_held -= used;
    for (unsigned i = 0; i < d->n_held; i++) {
        d->held[i] = d->held[i + used];
        d->held[i].c.iov = d->held[i].iov;
    }
    d->rx_len = 0;
    *pushed = true;
    atomic_fetch_add(&d->rx_frames, 1);
    return 1;
}

/* Move backend frames to the guest. Returns false if the ring broke. */
static bool rx_run(struct net_dev *d)
{
    bool pushed = false;
    int r = 1;
    for (unsigned budget = 0; budget < 256; budget++) {
        if (!d->rx_len && (d->backend_gone || rx_read(d) <= 0))
            break;
        if ((r = rx_deliver(d, &pushed)) <= 0)
            break;
    }
    if (pushed)
        virtio_device_notify_queue(d->vdev, &d->vdev->queues[RXQ]);
    return r >= 0;
}

static void *net_thread(void *arg)
{
    struct net_dev *d = arg;
    int r = net_backend_set_offloads(&d->be, d->vdev->acked);
    if (r)
        log_warn("%s: cannot set the tap's offloads: %s", d->vdev->name, strerror(-r));
    struct pollfd p[4] = {{.fd = d->vdev->kick_fds[RXQ], .events = POLLIN},
                          {.fd = d->vdev->kick_fds[TXQ], .events = POLLIN},
                          {.fd = d->worker.wake_fd, .events = POLLIN},
                          {.fd = d->be.fd}};
    bool ok = true, tx_blocked = false;
    while (!virtio_worker_stopping(&d->worker)) {
        if (ok)
            ok = tx_run(d, &tx_blocked) && rx_run(d);
        /* Read the backend only with somewhere to put a frame; write when it has room again. */
        p[3].events = 0;
        if (ok && !d->backend_gone) {
            p[3].events = (short)((d->rx_len ? 0 : POLLIN) | (tx_blocked ? POLLOUT : 0));
        }
        p[3].fd = p[3].events ? d->be.fd : -1;
        if (poll(p, 4, -1) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++)
            if (p[i].revents)
                eventfd_drain(p[i].fd);
    }
    return NULL;
}

/* Forget the frames in flight: the queues they belonged to are reset. */
static void clear_state(struct net_dev *d)
{
    d->tx_len = d->tx_off = 0;
    d->rx_len = 0;
    d->rs_off = d->rs_len = 0;
    net_stream_rx_init(&d->srx, d->rx_frame + NET_HDR_LEN);
    d->n_held = 0;
    d->held_room = 0;
}

static int net_activate(struct virtio_device *dev)
{
    struct net_dev *d = dev->priv;
    virtio_worker_stop(&d->worker, dev);
    clear_state(d);
    return virtio_worker_start(&d->worker, dev, "krun-net", SANDBOX_NET, net_thread, d);
}

static void net_reset(struct virtio_device *dev)
{
    struct net_dev *d = dev->priv;
    virtio_worker_stop(&d->worker, dev);
}

static void net_read_config(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len)
{
    struct net_dev *d = dev->priv;
    uint8_t cfg[8];
    memcpy(cfg, d->mac, 6);
    unsigned link = atomic_load(&d->link);
    cfg[6] = (uint8_t)link;
    cfg[7] = (uint8_t)(link >> 8);
    virtio_config_read(cfg, sizeof(cfg), offset, data, len);
}

static void net_destroy(struct virtio_device *dev)
{
    struct net_dev *d = dev->priv;
    if (!d)
        return;
    virtio_worker_destroy(&d->worker, dev);
    if (atomic_load(&d->rx_dropped) || atomic_load(&d->tx_dropped))
        log_info("%s: %lu frames received, %lu sent; dropped %lu received, %lu sent", dev->name,
                 atomic_load(&d->rx_frames), atomic_load(&d->tx_frames),
                 atomic_load(&d->rx_dropped), atomic_load(&d->tx_dropped));
    net_backend_close(&d->be);
    log_limit_destroy(&d->drops);
    free(d->tx_buf);
    free(d->rx_frame);
    free(d->rs_buf);
    free(d);
    dev->priv = NULL;
}

static const struct virtio_device_ops net_ops = {
    .read_config = net_read_config,
    .activate = net_activate,
    .reset = net_reset,
    .destroy = net_destroy,
};

int virtio_net_create(const char *name, struct net_backend *be, const uint8_t mac[6],
                      uint32_t caller_features, struct virtio_device **out, char *err,
                      size_t errlen)
{
    struct virtio_device *dev = calloc(1, sizeof(*dev));
    struct net_dev *d = calloc(1, sizeof(*d));
    int e = ENOMEM;
    if (d) {
        d->worker.wake_fd = -1;
        d->tx_buf = malloc(STREAM_TX_BUF);
        d->rx_frame = malloc(FRAME_BUF);
        d->rs_buf = be->kind == NET_BACKEND_STREAM ? malloc(STREAM_RX_BUF) : NULL;
    }
    if (d && d->tx_buf && d->rx_frame && (be->kind != NET_BACKEND_STREAM || d->rs_buf))
        e = -virtio_worker_init(&d->worker);
    if (!dev || e) {
        snprintf(err, errlen, "%s: %s", name, strerror(e ? e : ENOMEM));
        net_backend_close(be);
        if (d) {
            if (d->worker.wake_fd >= 0)
                close(d->worker.wake_fd);
            free(d->tx_buf);
            free(d->rx_frame);
            free(d->rs_buf);
        }
        free(d);
        free(dev);
        return -(e ? e : ENOMEM);
    }
    d->vdev = dev;
    d->be = *be;
    be->fd = -1;
    be->bound_path = NULL;
    memcpy(d->mac, mac, 6);
    atomic_init(&d->link, VIRTIO_NET_S_LINK_UP);
    log_limit_init(&d->drops);
    clear_state(d);
    snprintf(dev->name, sizeof(dev->name), "virtio-net %s", name);
    dev->ops = &net_ops;
    dev->device_id = VIRTIO_ID_NET;
    dev->features = virtio_net_offered_features(caller_features, d->be.kind);
    dev->n_queues = 2;
    dev->queue_max[RXQ] = dev->queue_max[TXQ] = NET_QUEUE_SIZE;
    dev->kick_fds[RXQ] = dev->kick_fds[TXQ] = -1;
    dev->irq_fd = -1;
    dev->priv = d;
    *out = dev;
    return 0;
}
