/* SPDX-License-Identifier: Apache-2.0 */
#include "virtio/vsock/packet.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "virtio/queue.h"

static uint16_t get16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof(v));
    return le16toh(v);
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return le64toh(v);
}

static void put16(uint8_t *p, uint16_t v)
{
    v = htole16(v);
    memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
    v = htole64(v);
    memcpy(p, &v, sizeof(v));
}

/* Offsets of the fields in the packed wire header. */
enum {
    O_SRC_CID = 0,
    O_DST_CID = 8,
    O_SRC_PORT = 16,
    O_DST_PORT = 20,
    O_LEN = 24,
    O_TYPE = 28,
    O_OP = 30,
    O_FLAGS = 32,
    O_BUF_ALLOC = 36,
    O_FWD_CNT = 40,
};

void vsock_hdr_decode(struct vsock_hdr *h, const uint8_t w[VSOCK_HDR_SIZE])
{
    h->src_cid = get64(w + O_SRC_CID);
    h->dst_cid = get64(w + O_DST_CID);
    h->src_port = get32(w + O_SRC_PORT);
    h->dst_port = get32(w + O_DST_PORT);
    h->len = get32(w + O_LEN);
    h->type = get16(w + O_TYPE);
    h->op = get16(w + O_OP);
    h->flags = get32(w + O_FLAGS);
    h->buf_alloc = get32(w + O_BUF_ALLOC);
    h->fwd_cnt = get32(w + O_FWD_CNT);
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t w[VSOCK_HDR_SIZE])
{
    put64(w + O_SRC_CID, h->src_cid);
    put64(w + O_DST_CID, h->dst_cid);
    put32(w + O_SRC_PORT, h->src_port);
    put32(w + O_DST_PORT, h->dst_port);
    put32(w + O_LEN, h->len);
    put16(w + O_TYPE, h->type);
    put16(w + O_OP, h->op);
    put32(w + O_FLAGS, h->flags);
    put32(w + O_BUF_ALLOC, h->buf_alloc);
    put32(w + O_FWD_CNT, h->fwd_cnt);
}

int vsock_pkt_parse(const struct iovec *iov, unsigned n, size_t max_payload, struct vsock_hdr *h)
{
    uint8_t wire[VSOCK_HDR_SIZE];
    size_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += iov[i].iov_len;
    if (iov_to_buf(iov, n, 0, wire, sizeof(wire)) != sizeof(wire))
        return -EINVAL;
    vsock_hdr_decode(h, wire);
    if (h->len > max_payload || h->len > total - VSOCK_HDR_SIZE)
        return -EINVAL;
    return 0;
}

unsigned vsock_pkt_payload(const struct iovec *iov, unsigned n, size_t len, struct iovec *out,
                           unsigned cap)
{
    size_t skip = VSOCK_HDR_SIZE;
    unsigned k = 0;
    for (unsigned i = 0; i < n && len && k < cap; i++) {
        size_t seg = iov[i].iov_len;
        if (skip >= seg) {
            skip -= seg;
            continue;
        }
        size_t take = seg - skip;
        if (take > len)
            take = len;
        out[k].iov_base = (uint8_t *)iov[i].iov_base + skip;
        out[k].iov_len = take;
        k++;
        len -= take;
        skip = 0;
    }
    return k;
}

const char *vsock_op_name(uint16_t op)
{
    static const char *const names[] = {
        "INVALID",  "REQUEST", "RESPONSE",      "RST",
        "SHUTDOWN", "RW",      "CREDIT_UPDATE", "CREDIT_REQUEST",
    };
    return op < sizeof(names) / sizeof(names[0]) ? names[op] : "unknown";
}
