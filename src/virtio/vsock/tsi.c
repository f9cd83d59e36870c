/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TSI proxy (transparent socket impersonation): the host half of the
 * guest's AF_TSI/AF_TSI6/AF_TSIU sockets. Each PROXY_CREATE makes one
 * non-blocking host socket of the guest's family and type, kept in the
 * connection table under (svm_port, 620); the control requests of
 * tsi_msg.h are the socket calls to make on it:
 *
 *   CONNECT      connect(); the answer comes when it completes (epoll).
 *                A stream's data then flows on the guest's vsock stream
 *                from svm_port to port 620 (stream.c); a datagram socket's
 *                to the proxy's own port (dgram.c).
 *   LISTEN       bind() to the guest's address, its port translated by the
 *                port map (guest port -> host port; unmapped ports are
 *                bound unchanged, as upstream), then listen().
 *   ACCEPT       answered when a host connection has been accepted AND the
 *                guest took the vsock stream we opened to its vm_port for
 *                it (that connection is (vm_port, a port of ours)); with
 *                O_NONBLOCK, -EAGAIN at once if none is waiting.
 *   GETNAME      getpeername() / getsockname() of the proxy or connection.
 *   SENDTO_ADDR  remembers the destination of later SENDTO_DATA datagrams.
 *   PROXY_RELEASE  closes it (a stream's held data is flushed first).
 *
 * Families the device was not given (VSOCK_TSI_INET for AF_INET and
 * AF_INET6, VSOCK_TSI_UNIX for AF_UNIX) get no proxy: CONNECT, ACCEPT and
 * GETNAME on it fail with -EINVAL, LISTEN with -EPERM (the guest then
 * listens by itself). Sockets get SO_REUSEADDR for listening (binding past
 * TIME_WAIT), never SO_REUSEPORT: upstream set it on every socket, which
 * let a second VM's listener silently share the port (libkrun#860), and
 * the protocol has no way for a guest to ask for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"
#include "virtio/vsock/internal.h"

static bool family_enabled(const struct vsock *v, int family)
{
    if (family == AF_INET || family == AF_INET6)
        return v->tsi & VSOCK_TSI_INET;
    if (family == AF_UNIX)
        return v->tsi & VSOCK_TSI_UNIX;
    return false;
}

static struct vsock_conn *proxy(struct vsock *v, uint32_t svm_port)
{
    struct vsock_conn *c = vsock_conn_find(v, svm_port, TSI_PROXY_PORT);
    if (c && (c->kind == CONN_TSI_STREAM || c->kind == CONN_TSI_DGRAM))
        return c;
    return NULL;
}

/* What a request on a proxy that does not exist gets. */
static int no_proxy(const struct vsock *v)
{
    return vsock_conn_room(v) ? -EINVAL : -ENFILE;
}

uint16_t vsock_tsi_map_port(const struct vsock *v, uint16_t port)
{
    for (size_t i = 0; i < v->n_port_map; i++)
        if (v->port_map[i].guest_port == port)
            return v->port_map[i].host_port;
    return port;
}

static void release(struct vsock_conn *c)
{
    if (c->state == ST_ESTABLISHED)
        vsock_stream_finish(c);
    else
        vsock_conn_close(c);
}

static void proxy_create(struct vsock *v, const struct tsi_req *r)
{
    if (!family_enabled(v, r->family)) {
        log_debug("%s: TSI proxy for family %u refused: not enabled", v->name, r->family);
        return;
    }
    struct vsock_conn *old = proxy(v, r->svm_port);
    if (old) {
        /* The guest reuses the port: the previous socket is gone for it. */
        release(old);
    }
    int fd = socket(r->family, r->sock_type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_debug("%s: TSI proxy socket: %s", v->name, strerror(errno));
        return;
    }
    if (r->family == AF_UNIX && r->sock_type == SOCK_DGRAM) {
        /* An (abstract, autobound) name, so that peers can answer. */
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        if (bind(fd, (struct sockaddr *)&a, sizeof(sa_family_t)) < 0)
            log_debug("%s: TSI unix datagram autobind: %s", v->name, strerror(errno));
    }
    vsock_conn_new(v, r->sock_type == SOCK_STREAM ? CONN_TSI_STREAM : CONN_TSI_DGRAM, r->svm_port,
                   TSI_PROXY_PORT, fd, r->family, r->sock_type);
}

/* ------------------------------------------------------------------ */
/* CONNECT                                                             */
/* ------------------------------------------------------------------ */

static void connect_done(struct vsock_conn *c, int err)
{
    vsock_conn_set_deadline(c, 0);
    c->state = err ? ST_IDLE : ST_HOST_CONNECTED;
    if (c->connect_reply)
        vsock_tsi_result(c->v, TSI_CONNECT, c->connect_reply, -err);
    c->connect_reply = 0;
}

static void try_connect(struct vsock_conn *c)
{
    int r;
    do
        r = connect(c->fd, (struct sockaddr *)&c->dst, c->dst_len);
    while (r < 0 && errno == EINTR);
    if (r == 0 || errno == EISCONN) {
        connect_done(c, 0);
        return;
    }
    if (errno == EINPROGRESS || errno == EALREADY) {
        c->state = ST_CONNECTING;
        vsock_conn_set_deadline(c, 0);
        return;
    }
    if (errno == EAGAIN && c->family == AF_UNIX && vsock_now_ms() < c->give_up_ms) {
        /* A full unix backlog: a blocking connect would wait, so do we. */
        c->state = ST_CONNECTING;
        vsock_conn_set_deadline(c, vsock_now_ms() + VSOCK_RETRY_MS);
        return;
    }
    connect_done(c, errno);
}

void vsock_tsi_connect_retry(struct vsock_conn *c)
{
    try_connect(c);
}

static void tsi_connect(struct vsock *v, const struct tsi_req *r, uint32_t from)
{
    struct vsock_conn *c = proxy(v, r->svm_port);
    if (!c) {
        vsock_tsi_result(v, TSI_CONNECT, from, no_proxy(v));
        return;
    }
    int alen = tsi_addr_check(c->family, &r->addr, r->addr_len);
    if (alen < 0) {
        vsock_tsi_result(v, TSI_CONNECT, from, alen);
        return;
    }
    if (c->kind == CONN_TSI_DGRAM) {
        /* Immediate, and it may be done again to change the peer. */
        int ret =
            connect(c->fd, (const struct sockaddr *)&r->addr, (socklen_t)alen) < 0 ? -errno : 0;
        if (ret == 0)
            c->dgram_connected = true;
        vsock_tsi_result(v, TSI_CONNECT, from, ret);
        return;
    }
    switch (c->state) {
    case ST_IDLE:
        memcpy(&c->dst, &r->addr, sizeof(c->dst));
        c->dst_len = (socklen_t)alen;
        c->connect_reply = from;
        c->give_up_ms = vsock_now_ms() + VSOCK_RETRY_LIMIT_MS;
        try_connect(c);
        return;
    case ST_CONNECTING:
        /* Asked again (the guest was interrupted): one answer, when done. */
        c->connect_reply = from;
        return;
    case ST_HOST_CONNECTED:
    case ST_ESTABLISHED:
        vsock_tsi_result(v, TSI_CONNECT, from, -EISCONN);
        return;
    default:
        vsock_tsi_result(v, TSI_CONNECT, from, -EINVAL);
        return;
    }
}

/* ------------------------------------------------------------------ */
/* LISTEN and ACCEPT                                                   */
/* ------------------------------------------------------------------ */

/* A unix socket file nobody listens on any more: the guest may take the path over. */
static bool stale_unix_socket(const struct sockaddr_un *sun, socklen_t len)
{
    struct stat st;
    if (lstat(sun->sun_path, &st) < 0 || !S_ISSOCK(st.st_mode))
        return false;
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (probe < 0)
        return false;
    bool stale = connect(probe, (const struct sockaddr *)sun, len) < 0 && errno == ECONNREFUSED;
    close(probe);
    return stale;
}

static int do_listen(struct vsock_conn *c, struct sockaddr_storage *addr, socklen_t alen,
                     int backlog)
{
    struct vsock *v = c->v;
    if (c->family == AF_INET || c->family == AF_INET6) {
        in_port_t *pp = c->family == AF_INET ? &((struct sockaddr_in *)addr)->sin_port
                                             : &((struct sockaddr_in6 *)addr)->sin6_port;
        uint16_t guest = ntohs(*pp), host = vsock_tsi_map_port(v, guest);
        if (host != guest)
            log_debug("%s: TSI listener on guest port %u is host port %u", v->name, guest, host);
        *pp = htons(host);
        int one = 1;
        setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    }
    int ret = bind(c->fd, (struct sockaddr *)addr, alen);
    if (ret < 0 && errno == EADDRINUSE && c->family == AF_UNIX &&
        stale_unix_socket((struct sockaddr_un *)addr, alen)) {
        unlink(((struct sockaddr_un *)addr)->sun_path);
        ret = bind(c->fd, (struct sockaddr *)addr, alen);
    }
    if (ret < 0)
        return -errno;
    if (c->family == AF_UNIX) {
        /* Ours now: removed when the proxy goes. */
        const char *path = ((struct sockaddr_un *)addr)->sun_path;
        struct stat st;
        if (lstat(path, &st) == 0 && (c->unlink_path = strdup(path))) {
            c->unlink_dev = st.st_dev;
            c->unlink_ino = st.st_ino;
        }
    }
    if (backlog < 0)
        backlog = 0;
    if (backlog > SOMAXCONN)
        backlog = SOMAXCONN;
    if (listen(c->fd, backlog) < 0)
        return -errno;
    return 0;
}

static void tsi_listen(struct vsock *v, const struct tsi_req *r, uint32_t from)
{
    struct vsock_conn *c = proxy(v, r->svm_port);
    int ret;
    if (!c)
        ret = -EPERM; /* the guest listens by itself */
    else if (c->kind != CONN_TSI_STREAM)
        ret = -EOPNOTSUPP;
    else if (c->state != ST_IDLE)
        ret = -EINVAL;
    else
        ret = tsi_addr_check(c->family, &r->addr, r->addr_len);
    if (ret >= 0) {
        struct sockaddr_storage addr = r->addr;
        ret = do_listen(c, &addr, (socklen_t)ret, r->backlog);
        if (ret == 0) {
            c->state = ST_LISTENING;
            c->vm_port = r->peer_port;
        }
    }
    vsock_tsi_result(v, TSI_LISTEN, from, ret);
}

/* Accept host connections for the ACCEPTs waiting; eagain: answer one with -EAGAIN if none. */
static void try_accept(struct vsock_conn *c, bool eagain)
{
    struct vsock *v = c->v;
    while (c->pending_accepts) {
        if (!vsock_conn_room(v)) {
            c->pending_accepts--;
            vsock_tsi_result(v, TSI_ACCEPT, c->accept_reply, -ENFILE);
            continue;
        }
        int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN) {
                c->acceptable = false;
                if (eagain) {
                    c->pending_accepts--;
                    vsock_tsi_result(v, TSI_ACCEPT, c->accept_reply, -EAGAIN);
                }
                return;
            }
            c->pending_accepts--;
            vsock_tsi_result(v, TSI_ACCEPT, c->accept_reply, -errno);
            return;
        }
        c->pending_accepts--;
        uint32_t hport = vsock_conn_alloc_hport(v, c->vm_port);
        struct vsock_conn *child =
            vsock_conn_new(v, CONN_TSI_ACCEPTED, c->vm_port, hport, fd, c->family, SOCK_STREAM);
        if (!child) {
            vsock_tsi_result(v, TSI_ACCEPT, c->accept_reply, -ENFILE);
            continue;
        }
        /* Answered when the guest has taken the stream (vsock_tsi_accepted). */
        child->accept_reply = c->accept_reply;
        vsock_stream_request(child);
    }
}

static void tsi_accept(struct vsock *v, const struct tsi_req *r, uint32_t from)
{
    struct vsock_conn *c = proxy(v, r->svm_port);
    if (!c || c->state != ST_LISTENING) {
        vsock_tsi_result(v, TSI_ACCEPT, from, c ? -EINVAL : no_proxy(v));
        return;
    }
    if (c->pending_accepts >= VSOCK_ACCEPT_MAX) {
        vsock_tsi_result(v, TSI_ACCEPT, from, -ENOBUFS);
        return;
    }
    c->accept_reply = from;
    c->pending_accepts++;
    try_accept(c, (r->flags & O_NONBLOCK) != 0);
}

void vsock_tsi_accepted(struct vsock_conn *c, int result)
{
    if (c->accept_reply)
        vsock_tsi_result(c->v, TSI_ACCEPT, c->accept_reply, result);
    c->accept_reply = 0;
}

/* ------------------------------------------------------------------ */
/* GETNAME, SENDTO_ADDR, PROXY_RELEASE                                 */
/* ------------------------------------------------------------------ */

static void tsi_getname(struct vsock *v, const struct tsi_req *r, uint32_t from)
{
    uint8_t rsp[TSI_RSP_GETNAME_SIZE];
    struct sockaddr_storage addr;
    socklen_t len = sizeof(addr);
    int ret;
    struct vsock_conn *c = vsock_conn_find(v, r->svm_port, r->peer_port);
    if (!c || c->kind == CONN_PORT_OUT || c->kind == CONN_PORT_IN)
        ret = -EINVAL;
    else if (r->flags)
        ret = getpeername(c->fd, (struct sockaddr *)&addr, &len) < 0 ? -errno : 0;
    else
        ret = getsockname(c->fd, (struct sockaddr *)&addr, &len) < 0 ? -errno : 0;
    vsock_queue_tsi(v, TSI_GETNAME, from, rsp,
                    (uint32_t)tsi_rsp_getname(ret, &addr, ret ? 0 : len, rsp));
}

static void tsi_sendto_addr(struct vsock *v, const struct tsi_req *r)
{
    struct vsock_conn *c = proxy(v, r->svm_port);
    if (!c || c->kind != CONN_TSI_DGRAM)
        return;
    int alen = tsi_addr_check(c->family, &r->addr, r->addr_len);
    if (alen < 0) {
        vsock_guest_fault(v, "TSI SENDTO_ADDR with a bad address (%d)", alen);
        return;
    }
    memcpy(&c->dst, &r->addr, sizeof(c->dst));
    c->dst_len = (socklen_t)alen;
}

static void tsi_release(struct vsock *v, const struct tsi_req *r)
{
    struct vsock_conn *c = vsock_conn_find(v, r->svm_port, r->peer_port);
    if (c && c->kind != CONN_PORT_OUT && c->kind != CONN_PORT_IN)
        release(c);
}

void vsock_tsi_request(struct vsock *v, const struct tsi_req *r, uint32_t from)
{
    log_debug("%s: TSI %s from port %u for proxy %u", v->name, tsi_req_name(r->type), from,
              r->svm_port);
    switch (r->type) {
    case TSI_PROXY_CREATE:
        proxy_create(v, r);
        break;
    case TSI_CONNECT:
        tsi_connect(v, r, from);
        break;
    case TSI_GETNAME:
        tsi_getname(v, r, from);
        break;
    case TSI_SENDTO_ADDR:
        tsi_sendto_addr(v, r);
        break;
    case TSI_LISTEN:
        tsi_listen(v, r, from);
        break;
    case TSI_ACCEPT:
        tsi_accept(v, r, from);
        break;
    case TSI_PROXY_RELEASE:
        tsi_release(v, r);
        break;
    }
}

void vsock_tsi_host_event(struct vsock_conn *c, uint32_t events)
{
    if (c->state == ST_LISTENING) {
        if (events & EPOLLIN) {
            c->acceptable = true;
            try_accept(c, false);
        }
        return;
    }
    if (c->state != ST_CONNECTING)
        return;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err) {
        connect_done(c, err);
        return;
    }
    struct sockaddr_storage peer;
    len = sizeof(peer);
    if (getpeername(c->fd, (struct sockaddr *)&peer, &len) == 0)
        connect_done(c, 0);
}
