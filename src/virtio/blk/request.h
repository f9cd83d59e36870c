/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One virtio-blk request, parsed and validated from a descriptor chain.
 *
 * Layout (any split over descriptors is accepted, as VERSION_1 requires):
 * the first 16 device-readable bytes are struct virtio_blk_outhdr, the last
 * device-writable byte is the status, everything between is data. The guest
 * is hostile: the header and discard ranges are copied out once, every
 * range is checked against the capacity with overflow-safe arithmetic, and
 * a request that fails a check gets IOERR or UNSUPP without any host I/O.
 */
#ifndef KRUN_VIRTIO_BLK_REQUEST_H
#define KRUN_VIRTIO_BLK_REQUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/blk/disk.h"

/* Data segments per request (SEG_MAX), plus header and status. */
#define BLK_SEG_MAX   254u
#define BLK_CHAIN_MAX (BLK_SEG_MAX + 2u)
/* Limits of one DISCARD / WRITE_ZEROES range (1 GiB, one segment). */
#define BLK_MAX_DISCARD_SECTORS (1u << 21)
#define BLK_MAX_DISCARD_SEG     1u

enum blk_op {
    BLK_OP_NONE, /* nothing to do: status is final */
    BLK_OP_READ,
    BLK_OP_WRITE,
    BLK_OP_FLUSH,
    BLK_OP_GET_ID,
    BLK_OP_DISCARD,
    BLK_OP_WRITE_ZEROES,
};

/* What the driver negotiated; fixed from activate to reset. */
struct blk_mode {
    bool flush;        /* VIRTIO_BLK_F_FLUSH */
    bool discard;      /* VIRTIO_BLK_F_DISCARD */
    bool write_zeroes; /* VIRTIO_BLK_F_WRITE_ZEROES */
};

struct blk_req {
    enum blk_op op;
    uint8_t status;      /* VIRTIO_BLK_S_*, final once the request is done */
    uint8_t *status_ptr; /* in guest memory; NULL: the chain cannot be answered */
    uint64_t offset;     /* byte offset in the image */
    uint64_t len;        /* bytes to transfer, discard or zero */
    struct iovec *iov;   /* data segments, trimmed in place in the chain's storage */
    unsigned niov;
    bool unmap;       /* WRITE_ZEROES may deallocate */
    bool dsync;       /* write-through: the driver did not take FLUSH */
    uint64_t done;    /* bytes transferred so far (READ/WRITE) */
    uint32_t written; /* bytes written into the chain, for the used ring */
    int err;          /* host errno behind an IOERR, for the log; 0 otherwise */
    const char *why;  /* why the request was refused, for the log */
};

/*
 * Parse the chain iov[0 .. n_out + n_in) (readable segments first). The
 * iovecs are modified in place and r->iov points into them. Afterwards:
 * status_ptr == NULL (unanswerable: push it with 0 bytes written), or
 * op == BLK_OP_NONE (answer r->status now), or an operation to execute.
 */
void blk_req_parse(struct blk_req *r, const struct blk_disk *d, const struct blk_mode *mode,
                   struct iovec *iov, unsigned n_out, unsigned n_in);

/* Write the status byte into the guest; returns the used length to push. */
uint32_t blk_req_finish(struct blk_req *r);

/* Drop the first `bytes` bytes of the segments *iov[0 .. *n), in place. */
void blk_iov_advance(struct iovec **iov, unsigned *n, uint64_t bytes);

/* The used length of a read: the data placed so far plus the status byte. */
static inline void blk_req_set_read_written(struct blk_req *r)
{
    uint64_t w = r->done + 1;
    r->written = w > UINT32_MAX ? UINT32_MAX : (uint32_t)w;
}

/* Whether direct I/O for r needs a bounce buffer (a segment is misaligned). */
bool blk_req_misaligned(const struct blk_disk *d, const struct blk_req *r);

#endif
