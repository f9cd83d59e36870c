/* SPDX-License-Identifier: Apache-2.0 */
/* Copying across iovec arrays; see fuse_iov.h. */
#include "virtio/fs/fuse_iov.h"

#include <stdint.h>
#include <string.h>

size_t fiov_len(const struct iovec *iov, unsigned n)
{
    size_t total = 0;
    for (unsigned i = 0; i < n; i++) {
        if (iov[i].iov_len > SIZE_MAX - total)
            return SIZE_MAX;
        total += iov[i].iov_len;
    }
    return total;
}

/* Find the segment holding byte off; *skip is the offset inside it. */
static unsigned seek(const struct iovec *iov, unsigned n, size_t off, size_t *skip)
{
    unsigned i = 0;
    while (i < n && off >= iov[i].iov_len) {
        off -= iov[i].iov_len;
        i++;
    }
    *skip = off;
    return i;
}

size_t fiov_gather(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len)
{
    size_t skip, done = 0;
    for (unsigned i = seek(iov, n, off, &skip); i < n && done < len; i++, skip = 0) {
        size_t chunk = iov[i].iov_len - skip;
        if (chunk > len - done)
            chunk = len - done;
        memcpy((uint8_t *)buf + done, (const uint8_t *)iov[i].iov_base + skip, chunk);
        done += chunk;
    }
    return done;
}

size_t fiov_scatter(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len)
{
    size_t skip, done = 0;
    for (unsigned i = seek(iov, n, off, &skip); i < n && done < len; i++, skip = 0) {
        size_t chunk = iov[i].iov_len - skip;
        if (chunk > len - done)
            chunk = len - done;
        memcpy((uint8_t *)iov[i].iov_base + skip, (const uint8_t *)buf + done, chunk);
        done += chunk;
    }
    return done;
}

int fiov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len, struct iovec *dst,
               unsigned cap)
{
    size_t skip, done = 0;
    unsigned out = 0;
    for (unsigned i = seek(iov, n, off, &skip); i < n && done < len; i++, skip = 0) {
        size_t chunk = iov[i].iov_len - skip;
        if (chunk == 0)
            continue;
        if (chunk > len - done)
            chunk = len - done;
        if (out == cap)
            return -1;
        dst[out].iov_base = (uint8_t *)iov[i].iov_base + skip;
        dst[out].iov_len = chunk;
        out++;
        done += chunk;
    }
    return done == len ? (int)out : -1;
}
