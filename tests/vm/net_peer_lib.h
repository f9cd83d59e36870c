/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net-peer's workings, apart from its command line (tests/vm/net-peer.c)
 * so that tests/unit/test_net_peer.c runs them without a VM: the answers
 * to single Ethernet frames (pure), and the loops over a unix datagram
 * socket (gvproxy's framing: one frame per datagram) or a connected stream
 * socket (passt's: a 4-byte big-endian length before each frame).
 *
 * The peer owns one IPv4 address and NP_MAC. It answers ARP requests for
 * its address and ICMP echo requests to it; everything else is counted
 * and ignored. Plain C11 + POSIX: it is built with musl as well as glibc.
 */
#ifndef KRUN_TESTS_NET_PEER_LIB_H
#define KRUN_TESTS_NET_PEER_LIB_H

#include <stddef.h>
#include <stdint.h>

/* The largest frame either way: a maximal IP datagram, an Ethernet header, a VLAN tag. */
#define NP_FRAME_MAX (65535 + 14 + 4)

/* Locally administered, unicast: 02:6e:70:65:65:72 ("npeer"). */
#define NP_MAC_BYTES 0x02, 0x6e, 0x70, 0x65, 0x65, 0x72

struct np_peer {
    uint8_t mac[6];
    uint8_t ip[4]; /* network order, as on the wire */
    unsigned long frames, arp_replies, echo_replies;
};

enum np_mode { NP_DGRAM, NP_STREAM };

void np_init(struct np_peer *p, const uint8_t ip[4]);

/* The Internet checksum (RFC 1071) of data: 0 when data holds a valid one. */
uint16_t np_csum(const uint8_t *data, size_t len);

/*
 * One frame in: writes the answer to out (room for NP_FRAME_MAX bytes) and
 * returns its length, or 0 for none. Counts the frame and the answer.
 */
size_t np_handle(struct np_peer *p, const uint8_t *frame, size_t len, uint8_t *out);

/* A unix datagram socket bound at path (an old one there removed), or -1 with errno. */
int np_open_dgram(const char *path);

/*
 * Catch SIGTERM and SIGINT from now on: they are blocked, and np_run lets
 * them through only while it waits, to stop.
 */
void np_catch_signals(void);

/*
 * Serve fd until SIGTERM or SIGINT, or the stream's end; then print the
 * summary line to stderr. Returns 0, or -1 after an I/O error. Calls
 * np_catch_signals itself.
 */
int np_run(struct np_peer *p, int fd, enum np_mode mode);

#endif
