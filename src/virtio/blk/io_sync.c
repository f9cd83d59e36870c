/* SPDX-License-Identifier: Apache-2.0 */
/* Synchronous execution of virtio-blk requests (see io.h). */
#include "virtio/blk/io.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "virtio/queue.h"

void blk_bounce_free(struct blk_bounce *b)
{
    free(b->buf);
    b->buf = NULL;
}

static void fail_io(struct blk_req *r, int err)
{
    r->status = VIRTIO_BLK_S_IOERR;
    r->err = err;
}

/* Errors that mean "this fallocate mode is not available here". */
static bool fallocate_unsupported(int err)
{
    return err == EOPNOTSUPP || err == ENOSYS || err == EINVAL;
}

static int do_fallocate(const struct blk_disk *d, int mode, uint64_t off, uint64_t len)
{
    int ret;
    do
        ret = fallocate(d->fd, mode, (off_t)off, (off_t)len);
    while (ret < 0 && errno == EINTR);
    return ret < 0 ? errno : 0;
}

/* Transfer straight between guest memory and the image; short counts go on. */
static int rw_direct(const struct blk_disk *d, struct blk_req *r, bool write)
{
    while (r->done < r->len) {
        off_t pos = (off_t)(r->offset + r->done);
        ssize_t n = write ? pwritev2(d->fd, r->iov, (int)r->niov, pos, r->dsync ? RWF_DSYNC : 0)
                          : preadv(d->fd, r->iov, (int)r->niov, pos);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (n == 0)
            return EIO; /* end of file: the image shrank under us */
        r->done += (uint64_t)n;
        blk_iov_advance(&r->iov, &r->niov, (uint64_t)n);
    }
    return 0;
}

static int full_pio(const struct blk_disk *d, bool write, uint8_t *buf, size_t len, uint64_t off,
                    bool dsync)
{
    size_t done = 0;
    while (done < len) {
        struct iovec v = {buf + done, len - done};
        ssize_t n = write ? pwritev2(d->fd, &v, 1, (off_t)(off + done), dsync ? RWF_DSYNC : 0)
                          : pread(d->fd, v.iov_base, v.iov_len, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (n == 0)
            return EIO;
        done += (size_t)n;
    }
    return 0;
}

/*
 * Direct I/O with a guest buffer that is not aligned: copy through an
 * aligned buffer, BLK_BOUNCE_SIZE bytes at a time, so that a hostile guest
 * cannot make us allocate more than that.
 */
static int rw_bounced(const struct blk_disk *d, struct blk_req *r, bool write, struct blk_bounce *b)
{
    size_t align = d->mem_align > d->block_size ? d->mem_align : d->block_size;
    if (align < 4096)
        align = 4096;
    if (!b->buf && posix_memalign(&b->buf, align, BLK_BOUNCE_SIZE) != 0) {
        b->buf = NULL;
        return ENOMEM;
    }
    while (r->done < r->len) {
        uint64_t left = r->len - r->done;
        size_t chunk = left < BLK_BOUNCE_SIZE ? (size_t)left : BLK_BOUNCE_SIZE;
        int err;
        /* r->iov starts at byte r->done, also after a partial io_uring transfer. */
        if (write) {
            if (iov_to_buf(r->iov, r->niov, 0, b->buf, chunk) != chunk)
                return EFAULT;
            err = full_pio(d, true, b->buf, chunk, r->offset + r->done, r->dsync);
        } else {
            err = full_pio(d, false, b->buf, chunk, r->offset + r->done, false);
            if (!err && iov_from_buf(r->iov, r->niov, 0, b->buf, chunk) != chunk)
                err = EFAULT;
        }
        if (err)
            return err;
        r->done += chunk;
        blk_iov_advance(&r->iov, &r->niov, chunk);
    }
    return 0;
}

static int write_zeroes(const struct blk_disk *d, struct blk_req *r)
{
    const int keep = FALLOC_FL_KEEP_SIZE;
    int err;
    if (r->unmap) {
        err = do_fallocate(d, FALLOC_FL_PUNCH_HOLE | keep, r->offset, r->len);
        if (!err || !fallocate_unsupported(err))
            return err;
    }
    err = do_fallocate(d, FALLOC_FL_ZERO_RANGE | keep, r->offset, r->len);
    if (!err || !fallocate_unsupported(err))
        return err;
    /* No ZERO_RANGE (tmpfs): a hole reads as zeros; allocate it again if we can. */
    err = do_fallocate(d, FALLOC_FL_PUNCH_HOLE | keep, r->offset, r->len);
    if (!err) {
        (void)do_fallocate(d, keep, r->offset, r->len);
        return 0;
    }
    if (!fallocate_unsupported(err))
        return err;
    for (uint64_t pos = 0; pos < r->len;) {
        uint64_t left = r->len - pos;
        size_t chunk = left < d->zero_len ? (size_t)left : d->zero_len;
        err = full_pio(d, true, d->zeros, chunk, r->offset + pos, r->dsync);
        if (err)
            return err;
        pos += chunk;
    }
    return 0;
}

void blk_exec_sync(const struct blk_disk *d, struct blk_req *r, struct blk_bounce *b)
{
    int err = 0;
    if (d->fmt) {
        blk_exec_format(d, r);
        return;
    }
    switch (r->op) {
    case BLK_OP_NONE:
        return;
    case BLK_OP_READ:
    case BLK_OP_WRITE: {
        bool write = r->op == BLK_OP_WRITE;
        err = blk_req_misaligned(d, r) ? rw_bounced(d, r, write, b) : rw_direct(d, r, write);
        if (!write)
            blk_req_set_read_written(r);
        break;
    }
    case BLK_OP_FLUSH:
        if (fdatasync(d->fd) < 0)
            err = errno;
        break;
    case BLK_OP_GET_ID:
        r->written = (uint32_t)iov_from_buf(r->iov, r->niov, 0, d->serial, (size_t)r->len) + 1;
        break;
    case BLK_OP_DISCARD:
        /* Discard is a hint: a filesystem that cannot punch holes ignores it. */
        err = do_fallocate(d, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, r->offset, r->len);
        if (fallocate_unsupported(err))
            err = 0;
        break;
    case BLK_OP_WRITE_ZEROES:
        err = write_zeroes(d, r);
        break;
    }
    if (err)
        fail_io(r, err);
    else
        r->status = VIRTIO_BLK_S_OK;
}
