/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The frame path of virtio-net, without I/O: the virtio-net header the
 * guest puts before each frame, the checksum a plain-frame backend needs
 * finished, and the 4-byte big-endian length framing of stream backends
 * (passt, socket_vmnet). Everything here is fed by a guest or by a host
 * peer, and is fuzzed (tests/fuzz/fuzz_net_frame.c).
 */
#ifndef KRUN_VIRTIO_NET_FRAME_H
#define KRUN_VIRTIO_NET_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The header before every frame on both queues (virtio 1: always with num_buffers). */
#define NET_HDR_LEN 12

/* The largest frame: a maximal IP datagram behind an Ethernet header and a VLAN tag. */
#define NET_FRAME_MAX (65535 + 14 + 4)

/* The smallest frame worth passing on: an Ethernet header. */
#define NET_FRAME_MIN 14

/* What a TX header asks of the device. */
struct net_hdr {
    uint8_t flags;    /* VIRTIO_NET_HDR_F_* */
    uint8_t gso_type; /* VIRTIO_NET_HDR_GSO_* */
    uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};

void net_hdr_parse(const uint8_t raw[NET_HDR_LEN], struct net_hdr *h);
void net_hdr_write(uint8_t raw[NET_HDR_LEN], const struct net_hdr *h);

/*
 * Make a guest's TX frame whole for a backend that carries plain frames:
 * fill in a checksum the guest left to the device (NEEDS_CSUM). Returns 0,
 * or -EPROTO for a segmentation offload (never offered to such backends)
 * and -EINVAL for a checksum range outside the frame: the frame is dropped.
 */
int net_frame_finish(const struct net_hdr *h, uint8_t *frame, size_t len);

/* The Internet checksum of data, folded and complemented. */
uint16_t net_csum(const uint8_t *data, size_t len);

/*
 * Stream framing, receive side: bytes from the peer in, whole frames out.
 * A frame longer than NET_FRAME_MAX or shorter than NET_FRAME_MIN is
 * skipped (its bytes are read and dropped, so the stream stays in step)
 * and counted.
 */
struct net_stream_rx {
    uint8_t prefix[4];
    unsigned prefix_have;
    uint32_t want;  /* length of the frame being read */
    uint32_t have;  /* bytes of it so far */
    bool skipping;  /* the frame is being dropped */
    bool ready;     /* frame holds a whole frame of `want` bytes */
    uint8_t *frame; /* NET_FRAME_MAX bytes, the caller's */
    uint64_t dropped;
};

void net_stream_rx_init(struct net_stream_rx *s, uint8_t *frame_buf);

/*
 * Take bytes from data until a frame is whole (s->ready; take it, then call
 * net_stream_rx_next) or data is used up. Returns the bytes taken.
 */
size_t net_stream_rx_feed(struct net_stream_rx *s, const uint8_t *data, size_t n);

/* The frame was taken: read the next one. */
void net_stream_rx_next(struct net_stream_rx *s);

/* Whether the peer ended the stream in the middle of a frame. */
bool net_stream_rx_mid_frame(const struct net_stream_rx *s);

/* The 4-byte big-endian length prefix of a frame of len bytes. */
void net_stream_prefix(uint8_t out[4], uint32_t len);

#endif
