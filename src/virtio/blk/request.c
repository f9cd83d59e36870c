/* SPDX-License-Identifier: Apache-2.0 */
#include "virtio/blk/request.h"

#include <endian.h>
#include <string.h>

#include "libkrun.h"
#include "virtio/queue.h"

void blk_iov_advance(struct iovec **iov, unsigned *n, uint64_t bytes)
{
    struct iovec *v = *iov;
    unsigned left = *n;
    while (left > 0 && bytes > 0) {
        if (bytes < v->iov_len) {
            v->iov_base = (uint8_t *)v->iov_base + bytes;
            v->iov_len -= bytes;
            bytes = 0;
            break;
        }
        bytes -= v->iov_len;
        v++;
        left--;
    }
    /* Skip empty segments so that the first one, if any, has data. */
    while (left > 0 && v->iov_len == 0) {
        v++;
        left--;
    }
    *iov = v;
    *n = left;
}

/* Sum of segment lengths; false if it overflows. */
static bool iov_total(const struct iovec *iov, unsigned n, uint64_t *total)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < n; i++)
        if (__builtin_add_overflow(sum, (uint64_t)iov[i].iov_len, &sum))
            return false;
    *total = sum;
    return true;
}

/*
 * [sector * 512, + len) must lie inside the image, and with direct I/O be
 * aligned to the block size the guest was told. No arithmetic may wrap.
 */
static bool range_ok(const struct blk_disk *d, uint64_t sector, uint64_t len, uint64_t *offset)
{
    uint64_t off, end;
    if (__builtin_mul_overflow(sector, (uint64_t)BLK_SECTOR_SIZE, &off))
        return false;
    if (__builtin_add_overflow(off, len, &end) || end > d->size)
        return false;
    if (len % BLK_SECTOR_SIZE != 0)
        return false;
    if (d->direct && ((off | len) & (d->block_size - 1)) != 0)
        return false;
    *offset = off;
    return true;
}

/* Answer the request with this status and do nothing else. */
static int refuse(struct blk_req *r, uint8_t status, const char *why)
{
    r->op = BLK_OP_NONE;
    r->status = status;
    r->why = why;
    return 0;
}

/* DISCARD / WRITE_ZEROES: one range in the readable data. */
static int parse_range_op(struct blk_req *r, const struct blk_disk *d, const struct blk_mode *mode,
                          uint32_t type, uint64_t out_data, uint64_t in_data)
{
    bool discard = type == VIRTIO_BLK_T_DISCARD;
    if (discard ? !mode->discard : !mode->write_zeroes)
        return refuse(r, VIRTIO_BLK_S_UNSUPP, "feature not negotiated");
    if (d->read_only)
        return refuse(r, VIRTIO_BLK_S_IOERR, "read-only disk");
    if (in_data != 0)
        return refuse(r, VIRTIO_BLK_S_IOERR, "writable data in a discard/write-zeroes request");
    const uint64_t seg_size = sizeof(struct virtio_blk_discard_write_zeroes);
    if (out_data == 0 || out_data % seg_size != 0 || out_data / seg_size > BLK_MAX_DISCARD_SEG)
        return refuse(r, VIRTIO_BLK_S_IOERR, "bad number of discard/write-zeroes segments");

    struct virtio_blk_discard_write_zeroes seg;
    if (iov_to_buf(r->iov, r->niov, 0, &seg, sizeof(seg)) != sizeof(seg))
        return refuse(r, VIRTIO_BLK_S_IOERR, "short discard/write-zeroes segment");
    uint64_t sector = le64toh(seg.sector);
    uint32_t num = le32toh(seg.num_sectors);
    uint32_t flags = le32toh(seg.flags);

    /* The spec makes UNMAP on a discard unsupported; other bits are reserved. */
    uint32_t allowed = discard ? 0 : VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
    if (flags & ~allowed)
        return refuse(r, VIRTIO_BLK_S_UNSUPP, "reserved discard/write-zeroes flags");
    if (num > BLK_MAX_DISCARD_SECTORS)
        return refuse(r, VIRTIO_BLK_S_IOERR, "discard/write-zeroes range too long");
    uint64_t len = (uint64_t)num * BLK_SECTOR_SIZE;
    if (!range_ok(d, sector, len, &r->offset))
        return refuse(r, VIRTIO_BLK_S_IOERR, "discard/write-zeroes range outside the disk");

    r->iov = NULL;
    r->niov = 0;
    r->len = len;
    if (len == 0)
        return refuse(r, VIRTIO_BLK_S_OK, NULL);
    r->op = discard ? BLK_OP_DISCARD : BLK_OP_WRITE_ZEROES;
    r->unmap = (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) != 0;
    return 0;
}

static int parse_chain(struct blk_req *r, const struct blk_disk *d, const struct blk_mode *mode,
                       struct iovec *iov, unsigned n_out, unsigned n_in)
{
    /* The status byte: the last byte of the last non-empty writable segment. */
    unsigned last = n_out + n_in;
    while (last > n_out && iov[last - 1].iov_len == 0)
        last--;
    if (last == n_out) {
        r->why = "no writable byte for the status";
        return 0;
    }
    struct iovec *sv = &iov[last - 1];
    r->status_ptr = (uint8_t *)sv->iov_base + sv->iov_len - 1;
    sv->iov_len--;
    if (sv->iov_len == 0)
        last--; /* the status had a segment of its own */

    struct iovec *out = iov, *in = iov + n_out;
    unsigned nout = n_out, nin = last - n_out;
    uint64_t out_len, in_data;
    if (!iov_total(out, nout, &out_len) || !iov_total(in, nin, &in_data))
        return refuse(r, VIRTIO_BLK_S_IOERR, "segment lengths overflow");

    struct virtio_blk_outhdr hdr;
    if (out_len < sizeof(hdr) || iov_to_buf(out, nout, 0, &hdr, sizeof(hdr)) != sizeof(hdr))
        return refuse(r, VIRTIO_BLK_S_IOERR, "no request header");
    blk_iov_advance(&out, &nout, sizeof(hdr));
    uint64_t out_data = out_len - sizeof(hdr);
    uint32_t type = le32toh(hdr.type);
    uint64_t sector = le64toh(hdr.sector);

    switch (type) {
    case VIRTIO_BLK_T_IN:
        if (out_data != 0)
            return refuse(r, VIRTIO_BLK_S_IOERR, "read with device-readable data");
        if (!range_ok(d, sector, in_data, &r->offset))
            return refuse(r, VIRTIO_BLK_S_IOERR, "read outside the disk or misaligned");
        r->op = BLK_OP_READ;
        r->iov = in;
        r->niov = nin;
        r->len = in_data;
        break;
    case VIRTIO_BLK_T_OUT:
        if (in_data != 0)
            return refuse(r, VIRTIO_BLK_S_IOERR, "write with device-writable data");
        if (d->read_only)
            return refuse(r, VIRTIO_BLK_S_IOERR, "write to a read-only disk");
        if (!range_ok(d, sector, out_data, &r->offset))
            return refuse(r, VIRTIO_BLK_S_IOERR, "write outside the disk or misaligned");
        r->op = BLK_OP_WRITE;
        r->iov = out;
        r->niov = nout;
        r->len = out_data;
        /* FLUSH offered but not taken: the driver expects write-through. */
        r->dsync = !mode->flush && d->sync_mode != KRUN_SYNC_NONE;
        break;
    case VIRTIO_BLK_T_FLUSH:
        /* Data segments of a flush have no meaning; they are ignored. */
        if (d->sync_mode == KRUN_SYNC_NONE)
            return refuse(r, VIRTIO_BLK_S_OK, NULL);
        r->op = BLK_OP_FLUSH;
        break;
    case VIRTIO_BLK_T_GET_ID:
        if (in_data == 0)
            return refuse(r, VIRTIO_BLK_S_IOERR, "GET_ID without a buffer");
        r->op = BLK_OP_GET_ID;
        r->iov = in;
        r->niov = nin;
        r->len = in_data < VIRTIO_BLK_ID_BYTES ? in_data : VIRTIO_BLK_ID_BYTES;
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        r->iov = out;
        r->niov = nout;
        return parse_range_op(r, d, mode, type, out_data, in_data);
    default:
        return refuse(r, VIRTIO_BLK_S_UNSUPP, "unsupported request type");
    }
    return 0;
}

void blk_req_parse(struct blk_req *r, const struct blk_disk *d, const struct blk_mode *mode,
                   struct iovec *iov, unsigned n_out, unsigned n_in)
{
    memset(r, 0, sizeof(*r));
    r->status = VIRTIO_BLK_S_OK;
    r->written = 1;
    (void)parse_chain(r, d, mode, iov, n_out, n_in);
}

uint32_t blk_req_finish(struct blk_req *r)
{
    if (!r->status_ptr)
        return 0;
    *r->status_ptr = r->status;
    return r->written;
}

bool blk_req_misaligned(const struct blk_disk *d, const struct blk_req *r)
{
    if (!d->direct)
        return false;
    uintptr_t mask = 0;
    for (unsigned i = 0; i < r->niov; i++)
        if (r->iov[i].iov_len != 0) /* an empty segment's address is never used */
            mask |= ((uintptr_t)r->iov[i].iov_base & (d->mem_align - 1)) |
                    (r->iov[i].iov_len & (d->block_size - 1));
    return mask != 0;
}
