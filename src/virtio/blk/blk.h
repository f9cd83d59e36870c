/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk: a disk image as a virtio block device (VIRTIO_ID_BLOCK).
 *
 * One request queue of 256 entries, served by a thread of the device's own
 * with io_uring (several requests in flight), or synchronously where
 * io_uring is not available. Features: SEG_MAX (254), BLK_SIZE, FLUSH
 * (unless KRUN_SYNC_NONE), DISCARD and WRITE_ZEROES (writable disks), RO
 * (read-only disks), RING_EVENT_IDX; GET_ID answers a serial derived from
 * the image's device and inode numbers. See docs/virtio-blk.md.
 */
#ifndef KRUN_VIRTIO_BLK_BLK_H
#define KRUN_VIRTIO_BLK_BLK_H

#include <stddef.h>

struct disk_config;
struct virtio_device;

/*
 * Open the image and build the device (named "virtio-blk <block_id>",
 * allocated with malloc). The caller attaches it (virtio_device_init, MMIO
 * slot, kick and irq fds); dev->ops->destroy stops the device and frees its
 * private state, then the caller frees dev. Returns 0, or -errno with a
 * message in err that names the image (the caller adds the disk's id):
 * -ENOENT/-EACCES/... from open, -ENOTSUP for image features not
 * supported, -EINVAL for a bad config or a corrupt image header.
 */
int virtio_blk_create(const struct disk_config *cfg, struct virtio_device **out, char *err,
                      size_t errlen);

#endif
