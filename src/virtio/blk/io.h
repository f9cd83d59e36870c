/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Executing parsed virtio-blk requests against the image.
 *
 * Two ways, same results: blk_exec_sync() runs a request to the end with
 * plain system calls; the io_uring path prepares one SQE per request so
 * that many are in flight from one thread, and hands the rare cases it
 * does not cover (bounce buffers, fallocate fallbacks, GET_ID) back to
 * blk_exec_sync(). Host errors (EIO, ENOSPC, a short transfer because the
 * image shrank) become VIRTIO_BLK_S_IOERR with r->err set.
 */
#ifndef KRUN_VIRTIO_BLK_IO_H
#define KRUN_VIRTIO_BLK_IO_H

#include <liburing.h>
#include <stdbool.h>

#include "virtio/blk/disk.h"
#include "virtio/blk/request.h"

/*
 * Scratch memory for misaligned direct I/O, BLK_BOUNCE_SIZE bytes,
 * allocated on first use. One per thread.
 */
struct blk_bounce {
    void *buf;
};

void blk_bounce_free(struct blk_bounce *b);

/*
 * Run r (op != BLK_OP_NONE) to completion, from r->done on (r->iov starts at
 * that byte); sets r->status and r->written.
 */
void blk_exec_sync(const struct blk_disk *d, struct blk_req *r, struct blk_bounce *b);

/* Run r on a disk with a format layer (d->fmt), like blk_exec_sync. */
void blk_exec_format(const struct blk_disk *d, struct blk_req *r);

/* Whether r can go through io_uring (false: use blk_exec_sync). */
bool blk_uring_can_submit(const struct blk_disk *d, const struct blk_req *r);

/* Fill sqe for r (blk_uring_can_submit was true). user_data is left to the caller. */
void blk_uring_prep(struct io_uring_sqe *sqe, const struct blk_disk *d, const struct blk_req *r);

enum blk_uring_result {
    BLK_URING_DONE,  /* r->status is final */
    BLK_URING_AGAIN, /* partial transfer: prepare and submit r again */
    BLK_URING_SYNC,  /* finish it with blk_exec_sync */
};

/*
 * Account a completion of r with result res (cqe->res). A partial transfer
 * advances r->iov past what was done, so that r->iov always starts at byte
 * r->done of the request's data, as blk_exec_sync expects.
 */
enum blk_uring_result blk_uring_complete(const struct blk_disk *d, struct blk_req *r, int res);

#endif
