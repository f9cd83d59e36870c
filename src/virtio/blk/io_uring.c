/* SPDX-License-Identifier: Apache-2.0 */
/* io_uring preparation and completion of virtio-blk requests (see io.h). */
#include "virtio/blk/io.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>

bool blk_uring_can_submit(const struct blk_disk *d, const struct blk_req *r)
{
    if (d->fmt)
        return false; /* formats run synchronously */
    switch (r->op) {
    case BLK_OP_READ:
    case BLK_OP_WRITE:
        return r->len > 0 && !blk_req_misaligned(d, r);
    case BLK_OP_FLUSH:
    case BLK_OP_DISCARD:
    case BLK_OP_WRITE_ZEROES:
        return true;
    case BLK_OP_NONE:
    case BLK_OP_GET_ID:
        break;
    }
    return false;
}

void blk_uring_prep(struct io_uring_sqe *sqe, const struct blk_disk *d, const struct blk_req *r)
{
    const int keep = FALLOC_FL_KEEP_SIZE;
    switch (r->op) {
    case BLK_OP_READ:
        io_uring_prep_readv(sqe, d->fd, r->iov, r->niov, r->offset + r->done);
        break;
    case BLK_OP_WRITE:
        io_uring_prep_writev2(sqe, d->fd, r->iov, r->niov, r->offset + r->done,
                              r->dsync ? RWF_DSYNC : 0);
        break;
    case BLK_OP_FLUSH:
        io_uring_prep_fsync(sqe, d->fd, IORING_FSYNC_DATASYNC);
        break;
    case BLK_OP_DISCARD:
        io_uring_prep_fallocate(sqe, d->fd, FALLOC_FL_PUNCH_HOLE | keep, (off_t)r->offset,
                                (off_t)r->len);
        break;
    case BLK_OP_WRITE_ZEROES:
        io_uring_prep_fallocate(sqe, d->fd,
                                (r->unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE) | keep,
                                (off_t)r->offset, (off_t)r->len);
        break;
    case BLK_OP_NONE:
    case BLK_OP_GET_ID:
        io_uring_prep_nop(sqe);
        break;
    }
}

enum blk_uring_result blk_uring_complete(const struct blk_disk *d, struct blk_req *r, int res)
{
    switch (r->op) {
    case BLK_OP_READ:
    case BLK_OP_WRITE:
        if (res == -EINTR || res == -EAGAIN)
            return BLK_URING_AGAIN;
        if (res > 0 && (uint64_t)res > r->len - r->done)
            res = -EIO; /* more than was asked for: never trust it */
        if (res > 0) {
            r->done += (uint64_t)res;
            if (r->done < r->len) {
                /*
                 * Partial transfer: go on from where it stopped, with the
                 * iovec advanced here and only here (r->iov always starts at
                 * byte r->done). On a direct-I/O disk the rest may now be
                 * misaligned: the bounce path takes it from there.
                 */
                blk_iov_advance(&r->iov, &r->niov, (uint64_t)res);
                return blk_req_misaligned(d, r) ? BLK_URING_SYNC : BLK_URING_AGAIN;
            }
        }
        if (r->op == BLK_OP_READ)
            blk_req_set_read_written(r);
        if (res <= 0) {
            /* 0: end of file, the image shrank under us. */
            r->status = VIRTIO_BLK_S_IOERR;
            r->err = res < 0 ? -res : EIO;
            return BLK_URING_DONE;
        }
        r->status = VIRTIO_BLK_S_OK;
        return BLK_URING_DONE;
    case BLK_OP_FLUSH:
        r->status = res < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
        r->err = res < 0 ? -res : 0;
        return BLK_URING_DONE;
    case BLK_OP_DISCARD:
    case BLK_OP_WRITE_ZEROES:
        /* The synchronous path knows the fallbacks and which errors are real. */
        if (res < 0)
            return BLK_URING_SYNC;
        r->status = VIRTIO_BLK_S_OK;
        return BLK_URING_DONE;
    case BLK_OP_NONE:
    case BLK_OP_GET_ID:
        break;
    }
    return BLK_URING_SYNC;
}
