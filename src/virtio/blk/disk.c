/* SPDX-License-Identifier: Apache-2.0 */
#include "virtio/blk/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "virtio/blk/config.h"
#include "libkrun.h"
#include "util/log.h"
#include "virtio/blk/format.h"

static bool is_pow2(uint32_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

/*
 * The device serial: the decimal digits of the image's st_dev, st_rdev and
 * st_ino, cut to 20 bytes and NUL padded. Stable across runs for the same
 * file, different for two images on one host.
 */
static void make_serial(char serial[VIRTIO_BLK_ID_BYTES], const struct stat *st)
{
    char digits[3 * 21];
    int n = snprintf(digits, sizeof(digits), "%llu%llu%llu", (unsigned long long)st->st_dev,
                     (unsigned long long)st->st_rdev, (unsigned long long)st->st_ino);
    size_t len = n < 0 ? 0 : (size_t)n;
    if (len > VIRTIO_BLK_ID_BYTES)
        len = VIRTIO_BLK_ID_BYTES;
    memset(serial, 0, VIRTIO_BLK_ID_BYTES);
    memcpy(serial, digits, len);
}

/*
 * With O_DIRECT every transfer must be aligned: ask the kernel (statx
 * DIOALIGN, Linux 6.1+), else the block device's logical block size, else
 * assume 512. Errors then surface as EINVAL, i.e. IOERR for the guest.
 */
static void probe_dio_align(struct blk_disk *d, const struct stat *st)
{
    uint32_t offset_align = 0, mem_align = 0;
#ifdef STATX_DIOALIGN
    struct statx sx;
    if (statx(d->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
        (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align != 0) {
        offset_align = sx.stx_dio_offset_align;
        mem_align = sx.stx_dio_mem_align;
    }
#endif
    if (offset_align == 0 && S_ISBLK(st->st_mode)) {
        int lbs = 0;
        if (ioctl(d->fd, BLKSSZGET, &lbs) == 0 && lbs > 0)
            offset_align = mem_align = (uint32_t)lbs;
    }
    if (offset_align < BLK_SECTOR_SIZE)
        offset_align = BLK_SECTOR_SIZE;
    if (mem_align == 0)
        mem_align = offset_align;
    d->block_size = offset_align;
    d->mem_align = mem_align;
}

static int open_raw(struct blk_disk *d, const struct disk_config *cfg, char *err, size_t errlen)
{
    int flags = (cfg->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | (cfg->direct_io ? O_DIRECT : 0);
    d->fd = open(cfg->path, flags);
    if (d->fd < 0) {
        int e = errno;
        if (e == EINVAL && cfg->direct_io)
            snprintf(err, errlen, "direct I/O is not supported for image '%s'", cfg->path);
        else
            snprintf(err, errlen, "cannot open image '%s'%s: %s", cfg->path,
                     cfg->read_only ? "" : " for writing", strerror(e));
        return -e;
    }

    struct stat st;
    if (fstat(d->fd, &st) < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot stat image '%s': %s", cfg->path, strerror(e));
        return -e;
    }
    uint64_t bytes;
    if (S_ISREG(st.st_mode)) {
        bytes = (uint64_t)st.st_size;
    } else if (S_ISBLK(st.st_mode)) {
        if (ioctl(d->fd, BLKGETSIZE64, &bytes) < 0) {
            int e = errno;
            snprintf(err, errlen, "cannot get the size of '%s': %s", cfg->path, strerror(e));
            return -e;
        }
    } else {
        snprintf(err, errlen, "image '%s' is neither a regular file nor a block device", cfg->path);
        return -EINVAL;
    }

    d->block_size = BLK_SECTOR_SIZE;
    d->mem_align = 1;
    if (d->direct) {
        probe_dio_align(d, &st);
        if (!is_pow2(d->block_size) || d->block_size > BLK_BOUNCE_SIZE || !is_pow2(d->mem_align) ||
            d->mem_align > BLK_BOUNCE_SIZE) {
            snprintf(err, errlen, "unsupported direct I/O alignment %u/%u for '%s'", d->block_size,
                     d->mem_align, cfg->path);
            return -EINVAL;
        }
    }
    /* A partial last block is not visible to the guest. */
    d->size = bytes - bytes % d->block_size;
    make_serial(d->serial, &st);
    return 0;
}

/* qcow2 and VMDK: served through the format layer, without O_DIRECT. */
static int open_format(struct blk_disk *d, const struct disk_config *cfg, char *err, size_t errlen)
{
    struct blk_format *f = calloc(1, sizeof(*f));
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&f->lock, NULL);
    struct blk_format_args a = {
        .path = cfg->path, .read_only = cfg->read_only, .sync = cfg->sync_mode != KRUN_SYNC_NONE};
    int ret = cfg->format == KRUN_DISK_FORMAT_QCOW2 ? blk_qcow2_open(f, &a, err, errlen)
                                                    : blk_vmdk_open(f, &a, err, errlen);
    if (ret < 0) {
        blk_format_free(f);
        return ret;
    }
    if (cfg->direct_io)
        log_info("image '%s': direct I/O is not used for the %s format", cfg->path,
                 cfg->format == KRUN_DISK_FORMAT_QCOW2 ? "qcow2" : "vmdk");
    d->fmt = f;
    d->direct = false;
    d->block_size = BLK_SECTOR_SIZE;
    d->mem_align = 1;
    d->size = f->size - f->size % BLK_SECTOR_SIZE;
    make_serial(d->serial, &f->st);
    return 0;
}

int blk_disk_open(struct blk_disk *d, const struct disk_config *cfg, char *err, size_t errlen)
{
    memset(d, 0, sizeof(*d));
    d->fd = -1;
    if (!cfg->path) {
        snprintf(err, errlen, "no image path");
        return -EINVAL;
    }
    if (cfg->sync_mode > KRUN_SYNC_FULL) {
        snprintf(err, errlen, "unknown sync mode %u", cfg->sync_mode);
        return -EINVAL;
    }
    d->read_only = cfg->read_only;
    d->direct = cfg->direct_io;
    d->sync_mode = cfg->sync_mode;

    int ret;
    switch (cfg->format) {
    case KRUN_DISK_FORMAT_RAW:
        ret = open_raw(d, cfg, err, errlen);
        break;
    case KRUN_DISK_FORMAT_QCOW2:
    case KRUN_DISK_FORMAT_VMDK:
        ret = open_format(d, cfg, err, errlen);
        break;
    default:
        snprintf(err, errlen, "unknown image format %u", cfg->format);
        ret = -EINVAL;
        break;
    }
    if (ret == 0) {
        /* Zeros for WRITE_ZEROES on filesystems without fallocate support. */
        d->zero_len = 64 * 1024;
        if (d->zero_len < d->block_size)
            d->zero_len = d->block_size;
        size_t align = d->block_size > 4096 ? d->block_size : 4096;
        if (posix_memalign(&d->zeros, align, d->zero_len) != 0) {
            d->zeros = NULL;
            snprintf(err, errlen, "out of memory");
            ret = -ENOMEM;
        } else {
            memset(d->zeros, 0, d->zero_len);
        }
    }
    if (ret < 0)
        blk_disk_close(d);
    return ret;
}

void blk_disk_close(struct blk_disk *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
    blk_format_free(d->fmt);
    d->fmt = NULL;
    free(d->zeros);
    d->zeros = NULL;
}
