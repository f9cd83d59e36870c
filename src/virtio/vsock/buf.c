/* SPDX-License-Identifier: Apache-2.0 */
#include "virtio/vsock/buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "virtio/queue.h"

int vsock_buf_append(struct vsock_buf *b, uint32_t cap, const struct iovec *iov, unsigned n,
                     size_t len)
{
    if (len == 0)
        return 0;
    if (!b->data) {
        b->data = malloc(cap);
        if (!b->data)
            return -ENOMEM;
        b->cap = cap;
        b->head = b->len = 0;
    }
    if (len > b->cap - b->len)
        return -ENOSPC;
    uint32_t tail = (b->head + b->len) % b->cap;
    size_t first = b->cap - tail < len ? b->cap - tail : len;
    iov_to_buf(iov, n, 0, b->data + tail, first);
    if (first < len)
        iov_to_buf(iov, n, first, b->data, len - first);
    b->len += (uint32_t)len;
    return 0;
}

ssize_t vsock_buf_flush(struct vsock_buf *b, int fd)
{
    ssize_t total = 0;
    while (b->len) {
        struct iovec v[2];
        unsigned n = 1;
        uint32_t first = b->cap - b->head < b->len ? b->cap - b->head : b->len;
        v[0] = (struct iovec){b->data + b->head, first};
        if (first < b->len)
            v[n++] = (struct iovec){b->data, b->len - first};
        struct msghdr m = {.msg_iov = v, .msg_iovlen = n};
        ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return total ? total : -errno;
        b->head = (b->head + (uint32_t)w) % b->cap;
        b->len -= (uint32_t)w;
        total += w;
    }
    /* Empty: give the memory back until the host is slow again. */
    vsock_buf_free(b);
    return total;
}

void vsock_buf_free(struct vsock_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}
