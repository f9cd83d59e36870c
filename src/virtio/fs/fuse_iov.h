/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Byte-level access to a request or reply that is split over guest buffers
 * (a struct iovec array) at arbitrary byte boundaries. The FUSE server copies
 * everything it parses out of guest memory once, through these helpers, so
 * that the guest cannot change a name or a length after it was checked.
 */
#ifndef KRUN_VIRTIO_FS_FUSE_IOV_H
#define KRUN_VIRTIO_FS_FUSE_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* Total bytes of the segments; saturates at SIZE_MAX. */
size_t fiov_len(const struct iovec *iov, unsigned n);

/* Copy up to len bytes starting at byte off of the segments into buf. Returns bytes copied. */
size_t fiov_gather(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len);

/* Copy up to len bytes of buf into the segments starting at byte off. Returns bytes copied. */
size_t fiov_scatter(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len);

/*
 * Describe bytes [off, off + len) of the segments as a new iovec array in
 * dst (at most cap entries). Returns the number of entries, or -1 if the
 * range is not inside the segments or needs more than cap entries.
 */
int fiov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len, struct iovec *dst,
               unsigned cap);

#endif
