/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bytes of one stream that the guest sent and the host socket did not
 * take yet: a ring of at most `cap` bytes, allocated when first needed and
 * freed when it empties again, so that idle connections hold no memory.
 */
#ifndef KRUN_VIRTIO_VSOCK_BUF_H
#define KRUN_VIRTIO_VSOCK_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct vsock_buf {
    uint8_t *data;
    uint32_t cap;  /* size of data once allocated */
    uint32_t head; /* offset of the oldest byte */
    uint32_t len;  /* bytes held */
};

/* Append len bytes gathered from iov. Returns 0, -ENOSPC (over cap) or -ENOMEM. */
int vsock_buf_append(struct vsock_buf *b, uint32_t cap, const struct iovec *iov, unsigned n,
                     size_t len);

/*
 * Send what is held on the socket fd (never blocking, never SIGPIPE).
 * Returns the bytes sent (possibly 0 with nothing held), or -errno
 * (-EAGAIN when the socket is full).
 */
ssize_t vsock_buf_flush(struct vsock_buf *b, int fd);

void vsock_buf_free(struct vsock_buf *b);

#endif
