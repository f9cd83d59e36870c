/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-blk: the glue between the transport and the queue workers. */
#include "virtio/blk/blk.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_ids.h>

#include "virtio/blk/config.h"
#include "libkrun.h"
#include "util/log.h"
#include "virtio/blk/disk.h"
#include "virtio/blk/worker.h"

#define BLK_NUM_QUEUES 1
#define BLK_QUEUE_SIZE 256

/* priv of the struct virtio_device, which the VM owns and frees. */
struct blk_dev {
    struct virtio_device *vdev;
    struct blk_disk disk;
    struct virtio_blk_config config; /* little endian, as the guest reads it */
    int stop_fd;
    atomic_bool stop;
    bool running;
    struct blk_stats stats;
    struct blk_worker workers[BLK_NUM_QUEUES];
};

static struct blk_dev *to_blk(struct virtio_device *dev)
{
    return dev->priv;
}

static void blk_read_config(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len)
{
    const struct blk_dev *b = to_blk(dev);
    virtio_config_read(&b->config, sizeof(b->config), offset, data, len);
}

static void blk_write_config(struct virtio_device *dev, uint32_t offset, const void *data,
                             uint32_t len)
{
    /* Nothing is writable: CONFIG_WCE is not offered. */
    log_debug("%s: ignored config write at 0x%x (%u bytes)", dev->name, offset, len);
}

static void stop_workers(struct blk_dev *b)
{
    if (!b->running)
        return;
    atomic_store(&b->stop, true);
    uint64_t one = 1;
    if (write(b->stop_fd, &one, sizeof(one)) < 0)
        log_error("%s: cannot signal the queue threads: %s", b->vdev->name, strerror(errno));
    for (unsigned i = 0; i < BLK_NUM_QUEUES; i++)
        blk_worker_join(&b->workers[i]);
    uint64_t v;
    while (read(b->stop_fd, &v, sizeof(v)) > 0) {
    }
    atomic_store(&b->stop, false);
    b->running = false;
}

static int blk_activate(struct virtio_device *dev)
{
    struct blk_dev *b = to_blk(dev);
    struct blk_mode mode = {
        .flush = virtio_has_feature(dev, VIRTIO_F_BIT(VIRTIO_BLK_F_FLUSH)),
        .discard = virtio_has_feature(dev, VIRTIO_F_BIT(VIRTIO_BLK_F_DISCARD)),
        .write_zeroes = virtio_has_feature(dev, VIRTIO_F_BIT(VIRTIO_BLK_F_WRITE_ZEROES)),
    };
    stop_workers(b);
    b->running = true;
    for (unsigned i = 0; i < BLK_NUM_QUEUES; i++) {
        struct blk_worker *w = &b->workers[i];
        memset(w, 0, sizeof(*w));
        w->name = dev->name;
        w->dev = dev;
        w->vq = &dev->queues[i];
        w->disk = &b->disk;
        w->mode = mode;
        w->kick_fd = dev->kick_fds[i];
        w->stop_fd = b->stop_fd;
        w->stop = &b->stop;
        w->stats = &b->stats;
        w->try_uring = true;
        int ret = blk_worker_start(w);
        if (ret < 0) {
            log_error("%s: cannot start the queue thread: %s", dev->name, strerror(-ret));
            stop_workers(b);
            return ret;
        }
    }
    return 0;
}

static void blk_reset(struct virtio_device *dev)
{
    stop_workers(to_blk(dev));
}

static void blk_destroy(struct virtio_device *dev)
{
    struct blk_dev *b = to_blk(dev);
    stop_workers(b);
    log_debug("%s: %lu requests, %lu host I/O errors, %lu refused, %lu unanswerable", dev->name,
              atomic_load(&b->stats.requests), atomic_load(&b->stats.io_errors),
              atomic_load(&b->stats.refused), atomic_load(&b->stats.unanswerable));
    blk_disk_close(&b->disk);
    if (b->stop_fd >= 0)
        close(b->stop_fd);
    free(b);
    dev->priv = NULL;
}

static const struct virtio_device_ops blk_ops = {
    .read_config = blk_read_config,
    .write_config = blk_write_config,
    .activate = blk_activate,
    .reset = blk_reset,
    .destroy = blk_destroy,
};

static void fill_config(struct blk_dev *b)
{
    const struct blk_disk *d = &b->disk;
    struct virtio_blk_config *c = &b->config;
    uint32_t align = d->block_size / BLK_SECTOR_SIZE;
    c->capacity = htole64(d->size / BLK_SECTOR_SIZE);
    c->seg_max = htole32(BLK_SEG_MAX);
    c->blk_size = htole32(d->block_size);
    c->num_queues = htole16(BLK_NUM_QUEUES);
    c->max_discard_sectors = htole32(BLK_MAX_DISCARD_SECTORS);
    c->max_discard_seg = htole32(BLK_MAX_DISCARD_SEG);
    c->discard_sector_alignment = htole32(align);
    c->max_write_zeroes_sectors = htole32(BLK_MAX_DISCARD_SECTORS);
    c->max_write_zeroes_seg = htole32(BLK_MAX_DISCARD_SEG);
    c->write_zeroes_may_unmap = 1;
}

int virtio_blk_create(const struct disk_config *cfg, struct virtio_device **out, char *err,
                      size_t errlen)
{
    struct virtio_device *dev = calloc(1, sizeof(*dev));
    struct blk_dev *b = calloc(1, sizeof(*b));
    if (!dev || !b) {
        free(dev);
        free(b);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    b->vdev = dev;
    b->stop_fd = -1;
    int ret = blk_disk_open(&b->disk, cfg, err, errlen);
    if (ret == 0) {
        b->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (b->stop_fd < 0) {
            ret = -errno;
            snprintf(err, errlen, "eventfd: %s", strerror(errno));
            blk_disk_close(&b->disk);
        }
    }
    if (ret < 0) {
        free(dev);
        free(b);
        return ret;
    }
    fill_config(b);

    dev->ops = &blk_ops;
    snprintf(dev->name, sizeof(dev->name), "virtio-blk %s", cfg->block_id ? cfg->block_id : "");
    dev->device_id = VIRTIO_ID_BLOCK;
    dev->features = VIRTIO_FEAT_EVENT_IDX | VIRTIO_F_BIT(VIRTIO_BLK_F_SEG_MAX) |
                    VIRTIO_F_BIT(VIRTIO_BLK_F_BLK_SIZE);
    if (cfg->sync_mode != KRUN_SYNC_NONE)
        dev->features |= VIRTIO_F_BIT(VIRTIO_BLK_F_FLUSH);
    if (cfg->read_only)
        dev->features |= VIRTIO_F_BIT(VIRTIO_BLK_F_RO);
    else
        dev->features |=
            VIRTIO_F_BIT(VIRTIO_BLK_F_DISCARD) | VIRTIO_F_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
    dev->n_queues = BLK_NUM_QUEUES;
    for (unsigned i = 0; i < BLK_NUM_QUEUES; i++) {
        dev->queue_max[i] = BLK_QUEUE_SIZE;
        dev->kick_fds[i] = -1;
    }
    dev->irq_fd = -1;
    dev->priv = b;
    *out = dev;
    return 0;
}
