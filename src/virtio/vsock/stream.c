/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsock streams (virtio 1.x, 5.10.6.4-5.10.6.6), the device acting as the
 * host end, and the relay between a stream and its host socket.
 *
 * Guest -> host: data goes straight from the guest's buffers to the host
 * socket; what the socket does not take is held (credit.h) and written
 * when it is writable again. Host -> guest: data is read from the host
 * socket straight into the guest's receive buffers, as much as the guest's
 * credit allows. Closing: the guest's SHUTDOWN with both flags (or a RST
 * after it shut its sending side) is answered with RST at once; held data
 * still goes to the host ("linger", at most VSOCK_LINGER_MS), then the
 * host socket is closed. The host's end of input becomes a SHUTDOWN(SEND)
 * after its last data; a host error becomes a RST.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "virtio/queue.h"
#include "virtio/vsock/internal.h"

static void maybe_credit_update(struct vsock_conn *c)
{
    if (c->state == ST_ESTABLISHED && !c->credit_update_queued &&
        vsock_credit_update_needed(&c->cr)) {
        c->credit_update_queued = true;
        vsock_queue_op(c->v, c, VSOCK_OP_CREDIT_UPDATE, 0);
    }
}

/* The stream cannot go on: tell the guest and close. */
static void stream_abort(struct vsock_conn *c)
{
    if (c->state == ST_ESTABLISHED || c->state == ST_REQUESTED)
        vsock_queue_op(c->v, c, VSOCK_OP_RST, 0);
    vsock_conn_close(c);
}

void vsock_stream_rx_kick(struct vsock_conn *c)
{
    if (c->dead || c->in_rx || c->state != ST_ESTABLISHED)
        return;
    if (!c->readable || c->host_eof || c->guest_shut_rcv)
        return;
    if (vsock_credit_peer_free(&c->cr) == 0)
        return;
    vsock_link_append(&c->v->rx_ready, &c->rx);
    c->in_rx = true;
}

void vsock_stream_flush(struct vsock_conn *c)
{
    struct vsock *v = c->v;
    if (c->buf.len && c->writable) {
        ssize_t w = vsock_buf_flush(&c->buf, c->fd);
        if (w > 0) {
            v->buffered -= (uint64_t)w;
            vsock_credit_forwarded(&c->cr, (uint32_t)w);
        } else if (w < 0 && w != -EAGAIN) {
            log_debug("%s: writing to the host socket of port %u: %s", v->name, c->gport,
                      strerror((int)-w));
            stream_abort(c);
            return;
        }
        if (c->buf.len)
            c->writable = false;
    }
    if (!c->buf.len) {
        if (c->state == ST_LINGER) {
            vsock_conn_close(c);
            return;
        }
        if (c->guest_shut_send && !c->host_wr_shut) {
            shutdown(c->fd, SHUT_WR);
            c->host_wr_shut = true;
        }
    }
    maybe_credit_update(c);
}

void vsock_stream_finish(struct vsock_conn *c)
{
    vsock_conn_unhash(c);
    if (c->in_rx) {
        vsock_link_remove(&c->rx);
        c->in_rx = false;
    }
    if (!c->buf.len) {
        vsock_conn_close(c);
        return;
    }
    c->state = ST_LINGER;
    c->guest_shut_send = true;
    vsock_conn_set_deadline(c, vsock_now_ms() + VSOCK_LINGER_MS);
    vsock_stream_flush(c);
}

void vsock_stream_established(struct vsock_conn *c)
{
    c->state = ST_ESTABLISHED;
    vsock_stream_rx_kick(c);
}

void vsock_stream_request(struct vsock_conn *c)
{
    c->state = ST_REQUESTED;
    vsock_queue_op(c->v, c, VSOCK_OP_REQUEST, 0);
}

/* Skip the first `done` bytes of iov[0..*n), in place. */
static struct iovec *iov_skip(struct iovec *iov, unsigned *n, size_t done)
{
    while (*n && done >= iov->iov_len) {
        done -= iov->iov_len;
        iov++;
        (*n)--;
    }
    if (*n && done) {
        iov->iov_base = (uint8_t *)iov->iov_base + done;
        iov->iov_len -= done;
    }
    return iov;
}

static void guest_data(struct vsock_conn *c, const struct vsock_hdr *h, const struct iovec *iov,
                       unsigned n)
{
    struct vsock *v = c->v;
    if (c->guest_shut_send) {
        vsock_guest_fault(v, "data on port %u after the guest shut it down", c->gport);
        stream_abort(c);
        return;
    }
    if (!vsock_credit_receive(&c->cr, h->len)) {
        v->stats.credit_violations++;
        vsock_guest_fault(v, "port %u sent %u bytes past its credit; reset", c->gport, h->len);
        stream_abort(c);
        return;
    }
    if (h->len == 0)
        return;
    struct iovec pv[VSOCK_MAX_SEGS];
    unsigned k = vsock_pkt_payload(iov, n, h->len, pv, VSOCK_MAX_SEGS);
    size_t done = 0;
    /* In order: nothing may overtake what is held already. */
    if (!c->buf.len && c->writable) {
        struct msghdr m = {.msg_iov = pv, .msg_iovlen = k};
        ssize_t w;
        do
            w = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (w < 0 && errno == EINTR);
        if (w < 0 && errno != EAGAIN) {
            log_debug("%s: writing to the host socket of port %u: %s", v->name, c->gport,
                      strerror(errno));
            stream_abort(c);
            return;
        }
        done = w > 0 ? (size_t)w : 0;
        vsock_credit_forwarded(&c->cr, (uint32_t)done);
        if (done < h->len)
            c->writable = false;
    }
    size_t rest = h->len - done;
    if (rest) {
        if (v->buffered + rest > VSOCK_BUFFER_BUDGET) {
            v->stats.budget_resets++;
            log_warn("%s: %llu bytes are waiting for slow host sockets; resetting port %u", v->name,
                     (unsigned long long)v->buffered, c->gport);
            stream_abort(c);
            return;
        }
        unsigned kk = k;
        struct iovec *rp = iov_skip(pv, &kk, done);
        if (vsock_buf_append(&c->buf, VSOCK_BUF_ALLOC, rp, kk, rest) < 0) {
            log_warn("%s: no memory to hold data of port %u; reset", v->name, c->gport);
            stream_abort(c);
            return;
        }
        v->buffered += rest;
    }
    maybe_credit_update(c);
}

static void guest_shutdown(struct vsock_conn *c, uint32_t flags)
{
    if (flags & VSOCK_SHUTDOWN_SEND)
        c->guest_shut_send = true;
    if (flags & VSOCK_SHUTDOWN_RCV)
        c->guest_shut_rcv = true;
    if (c->guest_shut_send && c->guest_shut_rcv) {
        /* The guest closed: it waits for our RST to finish. */
        vsock_queue_op(c->v, c, VSOCK_OP_RST, 0);
        vsock_stream_finish(c);
        return;
    }
    if (c->guest_shut_send)
        vsock_stream_flush(c);
}

void vsock_stream_packet(struct vsock *v, const struct vsock_hdr *h, const struct iovec *iov,
                         unsigned n)
{
    struct vsock_conn *c = vsock_conn_find(v, h->src_port, h->dst_port);
    if (c)
        vsock_credit_peer_update(&c->cr, h->buf_alloc, h->fwd_cnt);

    switch (h->op) {
    case VSOCK_OP_REQUEST:
        if (c && c->kind == CONN_TSI_STREAM && c->state == ST_HOST_CONNECTED) {
            /* A TSI proxy's data stream, to port 620, after its CONNECT. */
            vsock_queue_op(v, c, VSOCK_OP_RESPONSE, 0);
            vsock_stream_established(c);
            return;
        }
        if (c) {
            vsock_guest_fault(v, "REQUEST from port %u to %u, which is busy", h->src_port,
                              h->dst_port);
            vsock_queue_rst(v, h->dst_port, h->src_port, VSOCK_TYPE_STREAM);
            if (c->kind != CONN_TSI_STREAM && c->kind != CONN_TSI_DGRAM)
                stream_abort(c);
            return;
        }
        if (vsock_ports_request(v, h))
            return;
        /* Nobody there (port 620 without a proxy included). */
        vsock_queue_rst(v, h->dst_port, h->src_port, VSOCK_TYPE_STREAM);
        return;

    case VSOCK_OP_RESPONSE:
        if (c && c->state == ST_REQUESTED) {
            vsock_stream_established(c);
            if (c->kind == CONN_TSI_ACCEPTED)
                vsock_tsi_accepted(c, 0);
            return;
        }
        if (c && c->state == ST_ESTABLISHED)
            stream_abort(c);
        else
            vsock_queue_rst(v, h->dst_port, h->src_port, VSOCK_TYPE_STREAM);
        return;

    case VSOCK_OP_RST:
        if (!c)
            return;
        if (c->state == ST_REQUESTED) {
            /* The guest has no listener there (or it is full). */
            if (c->kind == CONN_TSI_ACCEPTED)
                vsock_tsi_accepted(c, -ECONNABORTED);
            vsock_conn_close(c);
        } else if (c->state == ST_ESTABLISHED) {
            /* After a SHUTDOWN(SEND), what the guest sent still goes out. */
            if (c->guest_shut_send)
                vsock_stream_finish(c);
            else
                vsock_conn_close(c);
        }
        /* A TSI proxy outlives its data stream: PROXY_RELEASE ends it. */
        return;

    default:
        break;
    }

    if (!c || c->state != ST_ESTABLISHED) {
        if (!c || (c->kind != CONN_TSI_STREAM && c->kind != CONN_TSI_DGRAM))
            vsock_queue_rst(v, h->dst_port, h->src_port, VSOCK_TYPE_STREAM);
        return;
    }
    switch (h->op) {
    case VSOCK_OP_RW:
        guest_data(c, h, iov, n);
        break;
    case VSOCK_OP_SHUTDOWN:
        guest_shutdown(c, h->flags);
        break;
    case VSOCK_OP_CREDIT_UPDATE:
        break;
    case VSOCK_OP_CREDIT_REQUEST:
        if (!c->credit_update_queued) {
            c->credit_update_queued = true;
            vsock_queue_op(v, c, VSOCK_OP_CREDIT_UPDATE, 0);
        }
        break;
    default:
        vsock_guest_fault(v, "unknown operation %u on port %u; reset", h->op, c->gport);
        stream_abort(c);
        return;
    }
    /* The guest's header may have given us more credit. */
    if (!c->dead)
        vsock_stream_rx_kick(c);
}

void vsock_stream_host_event(struct vsock_conn *c, uint32_t events)
{
    if (c->state == ST_LINGER) {
        if (c->writable)
            vsock_stream_flush(c);
        return;
    }
    if (c->state != ST_ESTABLISHED)
        return;
    if (c->writable && c->buf.len)
        vsock_stream_flush(c);
    if (!c->dead)
        vsock_stream_rx_kick(c);
}

size_t vsock_stream_rx(struct vsock_conn *c, const struct iovec *iov, unsigned n, size_t cap)
{
    if (c->dead || c->state != ST_ESTABLISHED || !c->readable || c->host_eof || c->guest_shut_rcv ||
        cap <= VSOCK_HDR_SIZE)
        return 0;
    size_t max = cap - VSOCK_HDR_SIZE;
    uint32_t credit = vsock_credit_peer_free(&c->cr);
    if (max > credit)
        max = credit;
    if (max > VSOCK_MAX_PKT_PAYLOAD)
        max = VSOCK_MAX_PKT_PAYLOAD;
    if (max == 0)
        return 0;
    struct iovec pv[VSOCK_MAX_SEGS];
    unsigned k = vsock_pkt_payload(iov, n, max, pv, VSOCK_MAX_SEGS);
    struct msghdr m = {.msg_iov = pv, .msg_iovlen = k};
    ssize_t r;
    do
        r = recvmsg(c->fd, &m, MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    if (r < 0 && errno == EAGAIN) {
        c->readable = false;
        return 0;
    }

    struct vsock_hdr h = {.src_cid = VSOCK_CID_HOST,
                          .dst_cid = VSOCK_CID_GUEST,
                          .src_port = c->hport,
                          .dst_port = c->gport,
                          .type = VSOCK_TYPE_STREAM};
    bool close_now = false;
    if (r < 0) {
        log_debug("%s: reading the host socket of port %u: %s", c->v->name, c->gport,
                  strerror(errno));
        h.op = VSOCK_OP_RST;
        c->v->stats.rst_sent++;
        close_now = true;
    } else if (r == 0) {
        /* The host will send no more; it may still read. */
        h.op = VSOCK_OP_SHUTDOWN;
        h.flags = VSOCK_SHUTDOWN_SEND;
        c->host_eof = true;
        c->readable = false;
        vsock_credit_stamp(&c->cr, &h.buf_alloc, &h.fwd_cnt);
    } else {
        h.op = VSOCK_OP_RW;
        h.len = (uint32_t)r;
        vsock_credit_sent(&c->cr, (uint32_t)r);
        vsock_credit_stamp(&c->cr, &h.buf_alloc, &h.fwd_cnt);
    }
    uint8_t wire[VSOCK_HDR_SIZE];
    vsock_hdr_encode(&h, wire);
    iov_from_buf(iov, n, 0, wire, sizeof(wire));
    if (close_now)
        vsock_conn_close(c);
    else
        vsock_stream_rx_kick(c);
    return VSOCK_HDR_SIZE + (r > 0 ? (size_t)r : 0);
}
