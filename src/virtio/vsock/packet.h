/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-vsock packet header (virtio 1.x, section 5.10.6): 44 bytes,
 * little endian, in front of every packet on the rx and tx queues. The
 * guest's header is copied out of guest memory once and parsed into a
 * struct vsock_hdr in host byte order; nothing reads it there again.
 */
#ifndef KRUN_VIRTIO_VSOCK_PACKET_H
#define KRUN_VIRTIO_VSOCK_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VSOCK_HDR_SIZE 44

#define VSOCK_CID_HOST  2
#define VSOCK_CID_GUEST 3

/* Types (TYPE_DGRAM is the out-of-tree datagram type of libkrun's kernels). */
#define VSOCK_TYPE_STREAM    1
#define VSOCK_TYPE_SEQPACKET 2
#define VSOCK_TYPE_DGRAM     3

/* Operations. */
#define VSOCK_OP_INVALID        0
#define VSOCK_OP_REQUEST        1
#define VSOCK_OP_RESPONSE       2
#define VSOCK_OP_RST            3
#define VSOCK_OP_SHUTDOWN       4
#define VSOCK_OP_RW             5
#define VSOCK_OP_CREDIT_UPDATE  6
#define VSOCK_OP_CREDIT_REQUEST 7

/* SHUTDOWN flags: the sender will receive / send no more. */
#define VSOCK_SHUTDOWN_RCV  1u
#define VSOCK_SHUTDOWN_SEND 2u

/* Feature bits. */
#define VSOCK_F_STREAM    0
#define VSOCK_F_SEQPACKET 1
#define VSOCK_F_DGRAM     3 /* datagrams (libkrun, libkrunfw and our kernel) */

/* The largest payload one packet carries (what Linux sends, and what we send). */
#define VSOCK_MAX_PKT_PAYLOAD (64u * 1024u)

struct vsock_hdr {
    uint64_t src_cid, dst_cid;
    uint32_t src_port, dst_port;
    uint32_t len;
    uint16_t type, op;
    uint32_t flags;
    uint32_t buf_alloc, fwd_cnt;
};

/* Decode / encode the 44 wire bytes. */
void vsock_hdr_decode(struct vsock_hdr *h, const uint8_t wire[VSOCK_HDR_SIZE]);
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t wire[VSOCK_HDR_SIZE]);

/*
 * A packet the guest put on the tx queue: readable segments iov[0..n).
 * Copies and decodes the header; the payload is the hdr.len bytes after
 * it. Returns 0, or -EINVAL if the chain is shorter than the header or
 * than the payload it announces, or the payload is over `max_payload`.
 */
int vsock_pkt_parse(const struct iovec *iov, unsigned n, size_t max_payload, struct vsock_hdr *h);

/*
 * The segments of the len bytes that follow the header in a chain (a tx
 * packet's payload, or a receive buffer's room for one), as at most cap
 * entries in out. Returns the number of entries.
 */
unsigned vsock_pkt_payload(const struct iovec *iov, unsigned n, size_t len, struct iovec *out,
                           unsigned cap);

const char *vsock_op_name(uint16_t op);

#endif
