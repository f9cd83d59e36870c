/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host side of a virtio-blk device: an open disk image and what the
 * guest is told about it (capacity, block size, serial).
 *
 * Raw images are served with io_uring: the guest's sectors are the file's
 * bytes, and a block device works as well as a regular file. qcow2 and
 * VMDK (monolithic flat) images go through a format layer (format.h),
 * synchronously. The format is always the caller's: a raw image is never
 * probed. After open, the disk's fields are read-only data shared by the
 * queue threads (a format serializes its own state).
 */
#ifndef KRUN_VIRTIO_BLK_DISK_H
#define KRUN_VIRTIO_BLK_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_blk.h>

struct disk_config;
struct blk_format;

#define BLK_SECTOR_SIZE 512u
/* Direct I/O alignments above this are refused (the bounce buffer size). */
#define BLK_BOUNCE_SIZE (1u << 20)

struct blk_disk {
    int fd;                 /* raw images; -1 with a format */
    struct blk_format *fmt; /* qcow2, VMDK; NULL for raw */
    bool read_only;
    bool direct;         /* opened with O_DIRECT */
    uint32_t sync_mode;  /* KRUN_SYNC_* */
    uint64_t size;       /* capacity in bytes, a multiple of block_size */
    uint32_t block_size; /* advertised blk_size; with direct I/O the offset alignment */
    uint32_t mem_align;  /* direct I/O: buffer address alignment (1 otherwise) */
    char serial[VIRTIO_BLK_ID_BYTES]; /* GET_ID answer, NUL padded */
    void *zeros;                      /* zero_len zero bytes, aligned for direct I/O */
    size_t zero_len;
};

/*
 * Open the image that cfg names and probe it. Returns 0, or -errno with a
 * message naming the image in err (-ENOTSUP for format features not
 * supported, -EINVAL/-EIO for a corrupt image).
 */
int blk_disk_open(struct blk_disk *d, const struct disk_config *cfg, char *err, size_t errlen);

/* Close the image; safe on a zeroed or already closed disk. */
void blk_disk_close(struct blk_disk *d);

#endif
