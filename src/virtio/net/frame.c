/* SPDX-License-Identifier: Apache-2.0 */
#include "virtio/net/frame.h"

#include <errno.h>
#include <string.h>

#include <linux/virtio_net.h>

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void net_hdr_parse(const uint8_t raw[NET_HDR_LEN], struct net_hdr *h)
{
    h->flags = raw[0];
    h->gso_type = raw[1];
    h->hdr_len = le16(raw + 2);
    h->gso_size = le16(raw + 4);
    h->csum_start = le16(raw + 6);
    h->csum_offset = le16(raw + 8);
    h->num_buffers = le16(raw + 10);
}

void net_hdr_write(uint8_t raw[NET_HDR_LEN], const struct net_hdr *h)
{
    raw[0] = h->flags;
    raw[1] = h->gso_type;
    put_le16(raw + 2, h->hdr_len);
    put_le16(raw + 4, h->gso_size);
    put_le16(raw + 6, h->csum_start);
    put_le16(raw + 8, h->csum_offset);
    put_le16(raw + 10, h->num_buffers);
}

uint16_t net_csum(const uint8_t *data, size_t len)
{
    uint64_t sum = 0;
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        sum += (uint32_t)(data[i] << 8 | data[i + 1]);
    if (i < len)
        sum += (uint32_t)data[i] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

int net_frame_finish(const struct net_hdr *h, uint8_t *frame, size_t len)
{
    if ((h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE)
        return -EPROTO;
    if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
        return 0;
    /* The guest seeded the field with the pseudo-header sum; sum the rest over it. */
    size_t start = h->csum_start, field = start + h->csum_offset;
    if (start >= len || field + 2 > len)
        return -EINVAL;
    uint16_t sum = net_csum(frame + start, len - start);
    if (sum == 0)
        sum = 0xffff; /* 0 means "no checksum" to UDP; the complement form is the same sum */
    frame[field] = (uint8_t)(sum >> 8);
    frame[field + 1] = (uint8_t)sum;
    return 0;
}

void net_stream_rx_init(struct net_stream_rx *s, uint8_t *frame_buf)
{
    memset(s, 0, sizeof(*s));
    s->frame = frame_buf;
}

void net_stream_rx_next(struct net_stream_rx *s)
{
    s->prefix_have = 0;
    s->want = s->have = 0;
    s->skipping = s->ready = false;
}

size_t net_stream_rx_feed(struct net_stream_rx *s, const uint8_t *data, size_t n)
{
    size_t used = 0;
    while (used < n && !s->ready) {
        if (s->prefix_have < 4) {
            s->prefix[s->prefix_have++] = data[used++];
            if (s->prefix_have < 4)
                continue;
            s->want = (uint32_t)s->prefix[0] << 24 | (uint32_t)s->prefix[1] << 16 |
                      (uint32_t)s->prefix[2] << 8 | s->prefix[3];
            s->skipping = s->want > NET_FRAME_MAX || s->want < NET_FRAME_MIN;
            if (s->skipping)
                s->dropped++;
            if (s->want == 0) {
                net_stream_rx_next(s);
                continue;
            }
        }
        size_t take = s->want - s->have;
        if (take > n - used)
            take = n - used;
        if (!s->skipping)
            memcpy(s->frame + s->have, data + used, take);
        s->have += (uint32_t)take;
        used += take;
        if (s->have == s->want) {
            if (s->skipping)
                net_stream_rx_next(s);
            else
                s->ready = true;
        }
    }
    return used;
}

bool net_stream_rx_mid_frame(const struct net_stream_rx *s)
{
    return s->prefix_have > 0 && !s->ready;
}

void net_stream_prefix(uint8_t out[4], uint32_t len)
{
    out[0] = (uint8_t)(len >> 24);
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
}
