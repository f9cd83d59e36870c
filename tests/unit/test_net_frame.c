/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/net/frame.c */
/*
 * The virtio-net frame path without I/O: the header, the checksum the
 * device finishes for plain-frame backends, and the stream framing with
 * its bad lengths.
 */
#include "test.h"

#include <errno.h>

#include <linux/virtio_net.h>

#include "virtio/net/frame.h"

static void test_csum(void)
{
    /* RFC 1071's example: the sum is 0xddf2, so the checksum is its complement. */
    const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    CHECK_EQ(net_csum(d, sizeof(d)), 0x220d);
    const uint8_t odd[] = {0x01, 0x02, 0x03};
    CHECK_EQ(net_csum(odd, 3), (uint16_t) ~(0x0102 + 0x0300));
    CHECK_EQ(net_csum(d, 0), 0xffff);
}

/* An Ethernet + IPv4 + UDP frame with `payload` bytes, checksum seeded as Linux does. */
static size_t udp_frame(uint8_t *f, size_t payload, uint16_t *pseudo_sum)
{
    memset(f, 0, 14 + 20 + 8 + payload);
    f[12] = 0x08;
    uint8_t *ip = f + 14, *udp = ip + 20;
    ip[0] = 0x45;
    ip[9] = 17;
    memcpy(ip + 12, (uint8_t[]){10, 0, 2, 15}, 4);
    memcpy(ip + 16, (uint8_t[]){10, 0, 2, 2}, 4);
    uint16_t ulen = (uint16_t)(8 + payload);
    udp[0] = 0x30, udp[1] = 0x39, udp[2] = 0x00, udp[3] = 0x35;
    udp[4] = (uint8_t)(ulen >> 8), udp[5] = (uint8_t)ulen;
    for (size_t i = 0; i < payload; i++)
        udp[8 + i] = (uint8_t)(i * 7 + 3);
    /* The pseudo-header's sum, not complemented, in the checksum field. */
    uint8_t ph[12];
    memcpy(ph, ip + 12, 8);
    ph[8] = 0, ph[9] = 17, ph[10] = (uint8_t)(ulen >> 8), ph[11] = (uint8_t)ulen;
    uint16_t s = (uint16_t)~net_csum(ph, 12);
    udp[6] = (uint8_t)(s >> 8), udp[7] = (uint8_t)s;
    *pseudo_sum = s;
    return 14 + 20 + ulen;
}

static void test_finish_checksum(void)
{
    uint8_t f[200];
    uint16_t seed;
    size_t len = udp_frame(f, 33, &seed);
    struct net_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 6};
    CHECK_EQ(net_frame_finish(&h, f, len), 0);
    /* A receiver's check: pseudo-header + UDP segment sums to all ones. */
    uint8_t all[12 + 200];
    memcpy(all, f + 14 + 12, 8);
    all[8] = 0, all[9] = 17, all[10] = f[38], all[11] = f[39];
    memcpy(all + 12, f + 34, len - 34);
    CHECK_EQ(net_csum(all, 12 + len - 34), 0);
    CHECK(f[40] != (uint8_t)(seed >> 8) || f[41] != (uint8_t)seed);

    /* Without NEEDS_CSUM nothing changes. */
    uint8_t copy[200];
    len = udp_frame(f, 10, &seed);
    memcpy(copy, f, len);
    h.flags = 0;
    CHECK_EQ(net_frame_finish(&h, f, len), 0);
    CHECK(memcmp(copy, f, len) == 0);
}

static void test_finish_refuses(void)
{
    uint8_t f[100] = {0};
    struct net_hdr h = {.gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1448};
    CHECK_EQ(net_frame_finish(&h, f, sizeof(f)), -EPROTO);
    h.gso_type = VIRTIO_NET_HDR_GSO_NONE | VIRTIO_NET_HDR_GSO_ECN;
    CHECK_EQ(net_frame_finish(&h, f, sizeof(f)), 0);
    h = (struct net_hdr){.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 100};
    CHECK_EQ(net_frame_finish(&h, f, sizeof(f)), -EINVAL);
    h.csum_start = 90, h.csum_offset = 9; /* the field's second byte past the end */
    CHECK_EQ(net_frame_finish(&h, f, sizeof(f)), -EINVAL);
    h.csum_start = 65535, h.csum_offset = 65535; /* no overflow */
    CHECK_EQ(net_frame_finish(&h, f, sizeof(f)), -EINVAL);
    h.csum_start = 90, h.csum_offset = 8;
    CHECK_EQ(net_frame_finish(&h, f, sizeof(f)), 0);
    CHECK(f[98] == 0xff && f[99] == 0xff); /* an all-zero sum goes out as 0xffff */
}

static void test_header(void)
{
    struct net_hdr h = {1, 4, 0x1234, 1448, 34, 16, 3}, back;
    uint8_t raw[NET_HDR_LEN];
    net_hdr_write(raw, &h);
    CHECK_EQ(raw[2], 0x34);
    CHECK_EQ(raw[3], 0x12);
    CHECK_EQ(raw[10], 3);
    net_hdr_parse(raw, &back);
    CHECK(memcmp(&h, &back, sizeof(h)) == 0);
}

/* Three frames, fed one byte at a time and all at once, come out whole. */
static void test_stream_frames(void)
{
    static uint8_t in[3 * (4 + 1500)], frame[NET_FRAME_MAX];
    size_t n = 0;
    const uint32_t lens[3] = {60, 1500, 14};
    for (unsigned i = 0; i < 3; i++) {
        net_stream_prefix(in + n, lens[i]);
        n += 4;
        for (uint32_t j = 0; j < lens[i]; j++)
            in[n++] = (uint8_t)(i + j);
    }
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        struct net_stream_rx s;
        net_stream_rx_init(&s, frame);
        unsigned got = 0;
        size_t off = 0;
        while (off < n) {
            size_t avail = bytewise ? 1 : n - off;
            off += net_stream_rx_feed(&s, in + off, avail);
            if (s.ready) {
                CHECK_EQ(s.want, lens[got]);
                CHECK_EQ(frame[lens[got] - 1], (uint8_t)(got + lens[got] - 1));
                got++;
                net_stream_rx_next(&s);
            }
        }
        CHECK_EQ(got, 3u);
        CHECK_EQ(s.dropped, 0u);
        CHECK(!net_stream_rx_mid_frame(&s));
    }
}

/* Lengths out of range are skipped byte for byte; the stream stays in step. */
static void test_stream_bad_lengths(void)
{
    static uint8_t in[4 + 70000 + 4 + 4 + 5 + 4 + 20], frame[NET_FRAME_MAX];
    size_t n = 0;
    net_stream_prefix(in + n, 70000); /* too long */
    n += 4 + 70000;
    net_stream_prefix(in + n, 0); /* empty */
    n += 4;
    net_stream_prefix(in + n, 5); /* shorter than an Ethernet header */
    n += 4 + 5;
    net_stream_prefix(in + n, 20);
    n += 4;
    memset(in + n, 0xab, 20);
    n += 20;
    struct net_stream_rx s;
    net_stream_rx_init(&s, frame);
    size_t off = net_stream_rx_feed(&s, in, n);
    CHECK_EQ(off, n);
    CHECK(s.ready);
    CHECK_EQ(s.want, 20u);
    CHECK_EQ(frame[19], 0xab);
    CHECK_EQ(s.dropped, 3u);
    net_stream_rx_next(&s);

    /* A peer that stops inside a frame (or inside a prefix) is seen to. */
    net_stream_rx_feed(&s, in + n - 24, 10);
    CHECK(net_stream_rx_mid_frame(&s));
    net_stream_rx_init(&s, frame);
    net_stream_rx_feed(&s, in, 2);
    CHECK(net_stream_rx_mid_frame(&s));
}

int main(void)
{
    RUN(test_csum);
    RUN(test_finish_checksum);
    RUN(test_finish_refuses);
    RUN(test_header);
    RUN(test_stream_frames);
    RUN(test_stream_bad_lengths);
    return TEST_EXIT();
}
