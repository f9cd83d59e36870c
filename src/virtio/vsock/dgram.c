/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsock datagrams (packet type 3, VIRTIO_VSOCK_F_DGRAM): one OP_RW packet
 * per datagram, no connection, no credit. The guest sends them for TSI:
 * control requests to ports 1024-1031 (but 1028), and the payloads of
 * proxied datagram sockets, to port 1028 (to the SENDTO_ADDR destination)
 * or to the proxy's own port once it is connected. What the host socket of
 * such a proxy receives goes to the guest the same way. Datagrams are
 * never answered with a reset, and dropped when nothing wants them.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "util/log.h"
#include "virtio/queue.h"
#include "virtio/vsock/internal.h"

/* A request that could not be parsed still gets an answer, or its sender waits forever. */
static void answer_bad_request(struct vsock *v, uint32_t type, uint32_t from)
{
    if (type == TSI_GETNAME) {
        uint8_t rsp[TSI_RSP_GETNAME_SIZE];
        vsock_queue_tsi(v, type, from, rsp, (uint32_t)tsi_rsp_getname(-EINVAL, NULL, 0, rsp));
    } else if (type == TSI_CONNECT || type == TSI_LISTEN || type == TSI_ACCEPT) {
        vsock_tsi_result(v, type, from, -EINVAL);
    }
}

static void control(struct vsock *v, const struct vsock_hdr *h, const struct iovec *iov, unsigned n)
{
    /* Copied once; the largest request is 144 bytes. */
    uint8_t buf[256];
    size_t len = h->len < sizeof(buf) ? h->len : sizeof(buf);
    iov_to_buf(iov, n, VSOCK_HDR_SIZE, buf, len);
    struct tsi_req r;
    if (tsi_req_parse(h->dst_port, buf, len, &r) < 0) {
        vsock_guest_fault(v, "malformed TSI %s request (%u bytes)", tsi_req_name(h->dst_port),
                          h->len);
        answer_bad_request(v, h->dst_port, h->src_port);
        return;
    }
    vsock_tsi_request(v, &r, h->src_port);
}

void vsock_dgram_packet(struct vsock *v, const struct vsock_hdr *h, const struct iovec *iov,
                        unsigned n)
{
    if (tsi_is_control_port(h->dst_port) && h->dst_port != TSI_SENDTO_DATA) {
        control(v, h, iov, n);
        return;
    }
    struct vsock_conn *c = vsock_conn_find(v, h->src_port, TSI_PROXY_PORT);
    if (!c || c->kind != CONN_TSI_DGRAM) {
        v->stats.dgram_dropped++;
        return;
    }
    struct msghdr m = {0};
    if (h->dst_port == TSI_SENDTO_DATA && c->dst_len) {
        m.msg_name = &c->dst;
        m.msg_namelen = c->dst_len;
    } else if (!(h->dst_port == h->src_port && c->dgram_connected)) {
        v->stats.dgram_dropped++;
        return;
    }
    struct iovec pv[VSOCK_MAX_SEGS];
    m.msg_iov = pv;
    m.msg_iovlen = vsock_pkt_payload(iov, n, h->len, pv, VSOCK_MAX_SEGS);
    ssize_t w;
    do
        w = sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w < 0) {
        /* As UDP does: a datagram that does not fit is lost. */
        v->stats.dgram_dropped++;
        log_debug("%s: datagram from guest port %u: %s", v->name, c->gport, strerror(errno));
    }
}

size_t vsock_dgram_rx(struct vsock_conn *c, const struct iovec *iov, unsigned n, size_t cap)
{
    if (c->dead || !c->readable || cap <= VSOCK_HDR_SIZE)
        return 0;
    size_t room = cap - VSOCK_HDR_SIZE;
    if (room > VSOCK_MAX_PKT_PAYLOAD)
        room = VSOCK_MAX_PKT_PAYLOAD;
    struct iovec pv[VSOCK_MAX_SEGS];
    struct msghdr m = {.msg_iov = pv,
                       .msg_iovlen = vsock_pkt_payload(iov, n, room, pv, VSOCK_MAX_SEGS)};
    ssize_t r = -1;
    /* Errors of earlier datagrams (ICMP on a connected socket) come first: skip them. */
    for (int tries = 0; tries < 8; tries++) {
        r = recvmsg(c->fd, &m, MSG_DONTWAIT | MSG_TRUNC);
        if (r >= 0 || errno == EAGAIN)
            break;
    }
    if (r < 0) {
        c->readable = false;
        return 0;
    }
    if ((size_t)r > room) {
        /* The guest's buffers are smaller than the datagram: as recv() would, truncate. */
        c->v->stats.dgram_truncated++;
        r = (ssize_t)room;
    }
    struct vsock_hdr h = {.src_cid = VSOCK_CID_HOST,
                          .dst_cid = VSOCK_CID_GUEST,
                          .src_port = c->gport,
                          .dst_port = c->gport,
                          .len = (uint32_t)r,
                          .type = VSOCK_TYPE_DGRAM,
                          .op = VSOCK_OP_RW};
    uint8_t wire[VSOCK_HDR_SIZE];
    vsock_hdr_encode(&h, wire);
    iov_from_buf(iov, n, 0, wire, sizeof(wire));
    vsock_link_append(&c->v->rx_ready, &c->rx);
    c->in_rx = true;
    return VSOCK_HDR_SIZE + (size_t)r;
}
