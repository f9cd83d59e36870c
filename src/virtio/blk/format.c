/* SPDX-License-Identifier: Apache-2.0 */
/* The serialized entry points of image formats and their file helpers (see format.h). */
#include "virtio/blk/format.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int blk_file_read(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0) {
            memset(p, 0, len); /* past the end of the file */
            return 0;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

int blk_file_write(int fd, const void *buf, size_t len, uint64_t off)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

int blk_format_read(struct blk_format *f, uint64_t off, void *buf, size_t len)
{
    pthread_mutex_lock(&f->lock);
    int ret = f->ops->read(f, off, buf, len);
    pthread_mutex_unlock(&f->lock);
    return ret;
}

int blk_format_write(struct blk_format *f, uint64_t off, const void *buf, size_t len)
{
    if (f->read_only)
        return -EROFS;
    pthread_mutex_lock(&f->lock);
    int ret = f->ops->write(f, off, buf, len);
    pthread_mutex_unlock(&f->lock);
    return ret;
}

int blk_format_flush(struct blk_format *f)
{
    pthread_mutex_lock(&f->lock);
    int ret = f->ops->flush(f);
    pthread_mutex_unlock(&f->lock);
    return ret;
}

int blk_format_discard(struct blk_format *f, uint64_t off, uint64_t len, bool zero, bool unmap)
{
    if (f->read_only)
        return -EROFS;
    pthread_mutex_lock(&f->lock);
    int ret = f->ops->discard(f, off, len, zero, unmap);
    pthread_mutex_unlock(&f->lock);
    return ret;
}

void blk_format_free(struct blk_format *f)
{
    if (!f)
        return;
    if (f->ops)
        f->ops->close(f);
    pthread_mutex_destroy(&f->lock);
    free(f);
}
