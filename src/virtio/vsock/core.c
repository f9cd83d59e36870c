/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The multiplexer between the guest's packets and the host's sockets: it
 * dispatches each packet the guest sends by type (stream.c, dgram.c),
 * fills receive buffers with control packets first and then with data of
 * the connections that have some, round robin, and routes host socket
 * events. See internal.h for the bounds.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "virtio/queue.h"
#include "virtio/vsock/internal.h"

uint64_t vsock_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void vsock_guest_fault(struct vsock *v, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!v->stats.warned_guest) {
        v->stats.warned_guest = true;
        log_warn("%s: %s (further guest faults are logged at debug level)", v->name, msg);
    } else {
        log_debug("%s: %s", v->name, msg);
    }
}

int vsock_core_init(struct vsock *v, const char *name, const struct vsock_dev_config *cfg,
                    char *err, size_t errlen)
{
    memset(v, 0, sizeof(*v));
    v->name = name;
    v->tsi = cfg->tsi_features & VSOCK_TSI_ALL;
    v->epfd = -1;
    vsock_link_init(&v->all);
    vsock_link_init(&v->rx_ready);
    v->next_hport = VSOCK_EPHEMERAL_FIRST;
    if (cfg->n_port_map) {
        v->port_map = calloc(cfg->n_port_map, sizeof(*v->port_map));
        if (!v->port_map)
            goto nomem;
        memcpy(v->port_map, cfg->port_map, cfg->n_port_map * sizeof(*v->port_map));
        v->n_port_map = cfg->n_port_map;
    }
    v->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (v->epfd < 0) {
        int e = errno;
        snprintf(err, errlen, "epoll_create1: %s", strerror(e));
        vsock_core_destroy(v);
        return -e;
    }
    int ret = vsock_ports_init(v, cfg, err, errlen);
    if (ret) {
        vsock_core_destroy(v);
        return ret;
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    vsock_core_destroy(v);
    return -ENOMEM;
}

static void drop_ctrl(struct vsock *v)
{
    while (v->ctrl_head) {
        struct vsock_ctrl *q = v->ctrl_head;
        v->ctrl_head = q->next;
        free(q);
    }
    v->ctrl_tail = NULL;
    v->n_ctrl = 0;
}

void vsock_core_reset(struct vsock *v)
{
    while (!vsock_link_empty(&v->all))
        vsock_conn_close(vsock_container(v->all.next, struct vsock_conn, all));
    vsock_conns_free_zombies(v);
    drop_ctrl(v);
    v->buffered = 0;
    /* Host clients that waited for the guest get it back with the next driver. */
    v->retry_listeners = true;
}

void vsock_core_destroy(struct vsock *v)
{
    if (v->all.next)
        vsock_core_reset(v);
    vsock_ports_destroy(v);
    if (v->epfd >= 0)
        close(v->epfd);
    v->epfd = -1;
    free(v->port_map);
    v->port_map = NULL;
    log_debug("%s: %lu packets from the guest, %lu to it; %lu malformed, %lu resets sent, "
              "%lu credit violations, %lu budget resets, %lu refused past the limit, "
              "%lu datagrams dropped, %lu control packets dropped",
              v->name ? v->name : "vsock", v->stats.tx_packets, v->stats.rx_packets,
              v->stats.malformed, v->stats.rst_sent, v->stats.credit_violations,
              v->stats.budget_resets, v->stats.refused, v->stats.dgram_dropped,
              v->stats.ctrl_dropped);
}

/* ------------------------------------------------------------------ */
/* Control packets                                                     */
/* ------------------------------------------------------------------ */

void vsock_queue_ctrl(struct vsock *v, const struct vsock_hdr *h, const void *payload, uint32_t len)
{
    /* Only the device itself can get here (the guest is held off at
     * VSOCK_CTRL_PAUSE): this would be a bug, not a guest's doing. */
    if (v->n_ctrl >= VSOCK_CTRL_MAX || len > TSI_RSP_MAX) {
        v->stats.ctrl_dropped++;
        log_warn("%s: control packet %s dropped (%u queued)", v->name, vsock_op_name(h->op),
                 v->n_ctrl);
        return;
    }
    struct vsock_ctrl *q = calloc(1, sizeof(*q));
    if (!q) {
        v->stats.ctrl_dropped++;
        return;
    }
    q->h = *h;
    q->h.len = len;
    q->len = len;
    if (len)
        memcpy(q->payload, payload, len);
    if (v->ctrl_tail)
        v->ctrl_tail->next = q;
    else
        v->ctrl_head = q;
    v->ctrl_tail = q;
    v->n_ctrl++;
}

static struct vsock_hdr host_hdr(uint32_t src_port, uint32_t dst_port, uint16_t type, uint16_t op)
{
    return (struct vsock_hdr){.src_cid = VSOCK_CID_HOST,
                              .dst_cid = VSOCK_CID_GUEST,
                              .src_port = src_port,
                              .dst_port = dst_port,
                              .type = type,
                              .op = op};
}

void vsock_queue_op(struct vsock *v, struct vsock_conn *c, uint16_t op, uint32_t flags)
{
    struct vsock_hdr h = host_hdr(c->hport, c->gport, VSOCK_TYPE_STREAM, op);
    h.flags = flags;
    if (op == VSOCK_OP_RST)
        v->stats.rst_sent++;
    vsock_queue_ctrl(v, &h, NULL, 0);
}

void vsock_queue_rst(struct vsock *v, uint32_t src_port, uint32_t dst_port, uint16_t type)
{
    struct vsock_hdr h = host_hdr(src_port, dst_port, type, VSOCK_OP_RST);
    v->stats.rst_sent++;
    vsock_queue_ctrl(v, &h, NULL, 0);
}

void vsock_queue_tsi(struct vsock *v, uint32_t type, uint32_t to, const void *payload, uint32_t len)
{
    struct vsock_hdr h = host_hdr(type, to, VSOCK_TYPE_DGRAM, VSOCK_OP_RW);
    vsock_queue_ctrl(v, &h, payload, len);
}

void vsock_tsi_result(struct vsock *v, uint32_t type, uint32_t to, int32_t result)
{
    uint8_t rsp[TSI_RSP_RESULT_SIZE];
    log_debug("%s: TSI %s answer %d to port %u", v->name, tsi_req_name(type), result, to);
    vsock_queue_tsi(v, type, to, rsp, (uint32_t)tsi_rsp_result(result, rsp));
}

/* ------------------------------------------------------------------ */
/* Packets from the guest                                              */
/* ------------------------------------------------------------------ */

void vsock_core_tx(struct vsock *v, const struct iovec *iov, unsigned n)
{
    struct vsock_hdr h;
    v->stats.tx_packets++;
    if (vsock_pkt_parse(iov, n, VSOCK_MAX_PKT_PAYLOAD, &h) < 0) {
        v->stats.malformed++;
        vsock_guest_fault(v, "dropped a packet shorter than its header or its length");
        return;
    }
    if (h.src_cid != VSOCK_CID_GUEST || h.dst_cid != VSOCK_CID_HOST) {
        v->stats.malformed++;
        vsock_guest_fault(v, "dropped a packet from CID %llu to CID %llu",
                          (unsigned long long)h.src_cid, (unsigned long long)h.dst_cid);
        return;
    }
    switch (h.type) {
    case VSOCK_TYPE_STREAM:
        vsock_stream_packet(v, &h, iov, n);
        return;
    case VSOCK_TYPE_DGRAM:
        /* Datagrams have no connection: nothing is ever answered with a reset. */
        if (h.op == VSOCK_OP_RW)
            vsock_dgram_packet(v, &h, iov, n);
        else
            v->stats.dgram_dropped++;
        return;
    default:
        /* SEQPACKET is not offered. */
        if (h.op != VSOCK_OP_RST)
            vsock_queue_rst(v, h.dst_port, h.src_port, h.type);
        return;
    }
}

bool vsock_core_tx_paused(const struct vsock *v)
{
    return v->n_ctrl >= VSOCK_CTRL_PAUSE;
}

/* ------------------------------------------------------------------ */
/* Packets to the guest                                                */
/* ------------------------------------------------------------------ */

bool vsock_core_rx_pending(const struct vsock *v)
{
    return v->ctrl_head || !vsock_link_empty(&v->rx_ready);
}

static size_t iov_total(const struct iovec *iov, unsigned n)
{
    size_t t = 0;
    for (unsigned i = 0; i < n; i++)
        t += iov[i].iov_len;
    return t;
}

/* The next queued control packet, if it fits; 0 if there is none left. */
static size_t rx_ctrl(struct vsock *v, const struct iovec *iov, unsigned n, size_t cap)
{
    while (v->ctrl_head) {
        struct vsock_ctrl *q = v->ctrl_head;
        v->ctrl_head = q->next;
        if (!v->ctrl_head)
            v->ctrl_tail = NULL;
        v->n_ctrl--;

        struct vsock_hdr h = q->h;
        size_t len = q->len;
        bool send = true;
        if (h.type == VSOCK_TYPE_STREAM) {
            /* Credit goes out as it is now, not as it was when queued. */
            struct vsock_conn *c = vsock_conn_find(v, h.dst_port, h.src_port);
            if (c && h.op != VSOCK_OP_RST)
                vsock_credit_stamp(&c->cr, &h.buf_alloc, &h.fwd_cnt);
            if (h.op == VSOCK_OP_CREDIT_UPDATE) {
                if (c)
                    c->credit_update_queued = false;
                else
                    send = false;
            }
        }
        if (send && cap < VSOCK_HDR_SIZE + len) {
            v->stats.ctrl_dropped++;
            vsock_guest_fault(v, "a receive buffer of %zu bytes is too small for a packet", cap);
            send = false;
        }
        if (send) {
            uint8_t wire[VSOCK_HDR_SIZE];
            vsock_hdr_encode(&h, wire);
            iov_from_buf(iov, n, 0, wire, sizeof(wire));
            if (len)
                iov_from_buf(iov, n, VSOCK_HDR_SIZE, q->payload, len);
        }
        free(q);
        if (send)
            return VSOCK_HDR_SIZE + len;
    }
    return 0;
}

size_t vsock_core_rx(struct vsock *v, const struct iovec *iov, unsigned n)
{
    size_t cap = iov_total(iov, n);
    size_t w = rx_ctrl(v, iov, n, cap);
    /* Each connection is taken off the list; one that still has data goes
     * back at the end (round robin), one that had none stays off. */
    while (!w && !vsock_link_empty(&v->rx_ready)) {
        struct vsock_conn *c = vsock_container(v->rx_ready.next, struct vsock_conn, rx);
        vsock_link_remove(&c->rx);
        c->in_rx = false;
        if (c->kind == CONN_TSI_DGRAM)
            w = vsock_dgram_rx(c, iov, n, cap);
        else
            w = vsock_stream_rx(c, iov, n, cap);
    }
    if (w)
        v->stats.rx_packets++;
    return w;
}

/* ------------------------------------------------------------------ */
/* Host events and time                                                */
/* ------------------------------------------------------------------ */

void vsock_core_event(struct vsock *v, struct vsock_ev *ev, uint32_t events)
{
    if (ev->kind == VSOCK_EV_LISTENER) {
        vsock_listener_event(v, (struct vsock_listener *)ev);
        return;
    }
    if (ev->kind != VSOCK_EV_CONN)
        return;
    struct vsock_conn *c = (struct vsock_conn *)ev;
    if (c->dead)
        return;
    /* Hints, kept until a call says EAGAIN (edge-triggered). */
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->readable = true;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        c->writable = true;
    switch (c->state) {
    case ST_CONNECTING:
        if (c->kind == CONN_PORT_OUT)
            vsock_port_connect_event(c);
        else
            vsock_tsi_host_event(c, events);
        return;
    case ST_LISTENING:
        vsock_tsi_host_event(c, events);
        return;
    default:
        break;
    }
    if (c->kind == CONN_TSI_DGRAM) {
        if (c->readable && !c->in_rx) {
            vsock_link_append(&v->rx_ready, &c->rx);
            c->in_rx = true;
        }
        return;
    }
    vsock_stream_host_event(c, events);
}

void vsock_core_tick(struct vsock *v)
{
    if (v->n_timed) {
        uint64_t now = vsock_now_ms();
        struct vsock_link *l = v->all.next;
        while (l != &v->all) {
            struct vsock_conn *c = vsock_container(l, struct vsock_conn, all);
            l = l->next; /* c may close */
            if (!c->deadline_ms || c->deadline_ms > now)
                continue;
            if (c->state == ST_LINGER) {
                log_debug("%s: the host did not take the last %u bytes of port %u in time", v->name,
                          c->buf.len, c->gport);
                vsock_conn_close(c);
            } else if (c->state == ST_CONNECTING && c->kind == CONN_PORT_OUT) {
                vsock_port_connect_retry(c);
            } else if (c->state == ST_CONNECTING) {
                vsock_tsi_connect_retry(c);
            } else {
                vsock_conn_set_deadline(c, 0);
            }
        }
    }
    if (v->retry_listeners) {
        v->retry_listeners = false;
        vsock_listeners_retry(v);
    }
    vsock_conns_free_zombies(v);
}

int vsock_core_timeout(const struct vsock *v)
{
    if (v->retry_listeners)
        return 0;
    if (!v->n_timed)
        return -1;
    uint64_t now = vsock_now_ms(), first = UINT64_MAX;
    for (const struct vsock_link *l = v->all.next; l != &v->all; l = l->next) {
        const struct vsock_conn *c = vsock_container(l, struct vsock_conn, all);
        if (c->deadline_ms && c->deadline_ms < first)
            first = c->deadline_ms;
    }
    if (first <= now)
        return 0;
    return first - now > 1000 ? 1000 : (int)(first - now);
}

int vsock_core_poll(struct vsock *v, int timeout_ms)
{
    struct epoll_event evs[64];
    int t = vsock_core_timeout(v);
    if (t < 0 || (timeout_ms >= 0 && timeout_ms < t))
        t = timeout_ms;
    int n = epoll_wait(v->epfd, evs, 64, t);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++)
        vsock_core_event(v, evs[i].data.ptr, evs[i].events);
    vsock_core_tick(v);
    return n;
}
