/* SPDX-License-Identifier: Apache-2.0 */
#include "virtio/vsock/credit.h"

#include <string.h>

void vsock_credit_init(struct vsock_credit *c, uint32_t buf_alloc)
{
    memset(c, 0, sizeof(*c));
    c->buf_alloc = buf_alloc;
}

void vsock_credit_peer_update(struct vsock_credit *c, uint32_t buf_alloc, uint32_t fwd_cnt)
{
    c->peer_buf_alloc = buf_alloc;
    c->peer_fwd_cnt = fwd_cnt;
}

uint32_t vsock_credit_peer_free(const struct vsock_credit *c)
{
    uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
    /* A guest that claims to have consumed more than we sent, or shrank its
     * buffer below what is in flight, gets nothing until it makes sense. */
    if (in_flight >= c->peer_buf_alloc)
        return 0;
    return c->peer_buf_alloc - in_flight;
}

void vsock_credit_sent(struct vsock_credit *c, uint32_t n)
{
    c->tx_cnt += n;
}

uint32_t vsock_credit_buffered(const struct vsock_credit *c)
{
    return c->rx_cnt - c->fwd_cnt;
}

bool vsock_credit_receive(struct vsock_credit *c, uint32_t len)
{
    uint32_t held = vsock_credit_buffered(c);
    if (held > c->buf_alloc || len > c->buf_alloc - held)
        return false;
    c->rx_cnt += len;
    return true;
}

void vsock_credit_forwarded(struct vsock_credit *c, uint32_t n)
{
    c->fwd_cnt += n;
}

void vsock_credit_stamp(struct vsock_credit *c, uint32_t *buf_alloc, uint32_t *fwd_cnt)
{
    *buf_alloc = c->buf_alloc;
    *fwd_cnt = c->fwd_cnt;
    c->last_fwd_sent = c->fwd_cnt;
}

bool vsock_credit_update_needed(const struct vsock_credit *c)
{
    if (c->fwd_cnt == c->last_fwd_sent)
        return false;
    /* What the guest believes is used of our buffer. */
    uint32_t used = c->rx_cnt - c->last_fwd_sent;
    uint32_t free_seen = used >= c->buf_alloc ? 0 : c->buf_alloc - used;
    return free_seen < c->buf_alloc / 2;
}
