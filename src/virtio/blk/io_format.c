/* SPDX-License-Identifier: Apache-2.0 */
/* Requests on qcow2 and VMDK disks, through the format layer (see io.h, format.h). */
#include "virtio/blk/io.h"

#include "virtio/blk/format.h"
#include "virtio/queue.h"

static int rw(struct blk_format *f, struct blk_req *r, bool write)
{
    /* r->iov starts at byte r->done of the request's data. */
    for (unsigned i = 0; i < r->niov && r->done < r->len; i++) {
        size_t n = r->iov[i].iov_len;
        if (n > r->len - r->done)
            n = (size_t)(r->len - r->done);
        int ret = write ? blk_format_write(f, r->offset + r->done, r->iov[i].iov_base, n)
                        : blk_format_read(f, r->offset + r->done, r->iov[i].iov_base, n);
        if (ret < 0)
            return -ret;
        r->done += n;
    }
    if (write && r->dsync) {
        int ret = blk_format_flush(f);
        if (ret < 0)
            return -ret;
    }
    return 0;
}

void blk_exec_format(const struct blk_disk *d, struct blk_req *r)
{
    struct blk_format *f = d->fmt;
    int err = 0;
    switch (r->op) {
    case BLK_OP_NONE:
        return;
    case BLK_OP_READ:
    case BLK_OP_WRITE:
        err = rw(f, r, r->op == BLK_OP_WRITE);
        if (r->op == BLK_OP_READ)
            blk_req_set_read_written(r);
        break;
    case BLK_OP_FLUSH:
        err = -blk_format_flush(f);
        break;
    case BLK_OP_GET_ID:
        r->written = (uint32_t)iov_from_buf(r->iov, r->niov, 0, d->serial, (size_t)r->len) + 1;
        break;
    case BLK_OP_DISCARD:
    case BLK_OP_WRITE_ZEROES:
        err = -blk_format_discard(f, r->offset, r->len, r->op == BLK_OP_WRITE_ZEROES, r->unmap);
        break;
    }
    if (err) {
        r->status = VIRTIO_BLK_S_IOERR;
        r->err = err;
    } else {
        r->status = VIRTIO_BLK_S_OK;
    }
}
