/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unix-socket ports (krun_add_vsock_port, krun_add_vsock_port2):
 *
 * - connect-to ports: a guest REQUEST to (CID 2, port) makes the VMM
 *   connect a new unix socket to the configured path; the guest gets
 *   RESPONSE when that connect succeeds and RST when it fails. A listener
 *   whose backlog is full is tried again every VSOCK_RETRY_MS for up to
 *   VSOCK_RETRY_LIMIT_MS.
 * - listening ports: the VMM creates and listens on a unix socket at the
 *   path (which must not exist) and forwards every client it accepts to
 *   the guest's port with a REQUEST. The socket file goes at teardown.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"
#include "util/unix_addr.h"
#include "virtio/vsock/internal.h"

static int listen_on(struct vsock *v, struct vsock_listener *l, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    int ret = unix_addr(&sun, l->path);
    if (ret) {
        snprintf(err, errlen, "vsock port %u: %s: path too long for a unix socket", l->port,
                 l->path);
        return ret;
    }
    l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0)
        goto fail;
    if (bind(l->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
        goto fail;
    struct stat st;
    if (lstat(l->path, &st) == 0) {
        l->dev = st.st_dev;
        l->ino = st.st_ino;
    }
    if (listen(l->fd, SOMAXCONN) < 0)
        goto fail;
    struct epoll_event e = {.events = EPOLLIN | EPOLLET, .data.ptr = l};
    if (epoll_ctl(v->epfd, EPOLL_CTL_ADD, l->fd, &e) < 0)
        goto fail;
    return 0;
fail:
    ret = -errno;
    snprintf(err, errlen, "vsock port %u: cannot listen on %s: %s", l->port, l->path,
             strerror(errno));
    return ret;
}

int vsock_ports_init(struct vsock *v, const struct vsock_dev_config *cfg, char *err, size_t errlen)
{
    size_t n_out = 0, n_in = 0;
    for (size_t i = 0; i < cfg->n_ports; i++) {
        if (cfg->ports[i].listen)
            n_in++;
        else
            n_out++;
    }
    v->ports = calloc(n_out + 1, sizeof(*v->ports));
    v->listeners = calloc(n_in + 1, sizeof(*v->listeners));
    if (!v->ports || !v->listeners) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < cfg->n_ports; i++) {
        const struct vsock_port_config *p = &cfg->ports[i];
        char *path = strdup(p->path);
        if (!path) {
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
        if (!p->listen) {
            v->ports[v->n_ports++] = (struct vsock_port_config){.port = p->port, .path = path};
            continue;
        }
        struct vsock_listener *l = &v->listeners[v->n_listeners++];
        *l = (struct vsock_listener){
            .ev.kind = VSOCK_EV_LISTENER, .port = p->port, .fd = -1, .path = path};
        int ret = listen_on(v, l, err, errlen);
        if (ret)
            return ret;
    }
    return 0;
}

void vsock_ports_destroy(struct vsock *v)
{
    for (size_t i = 0; i < v->n_ports; i++)
        free(v->ports[i].path);
    free(v->ports);
    v->ports = NULL;
    v->n_ports = 0;
    for (size_t i = 0; i < v->n_listeners; i++) {
        struct vsock_listener *l = &v->listeners[i];
        struct stat st;
        if (l->fd >= 0) {
            close(l->fd);
            /* Only the file we made: someone may have replaced it since. */
            if (lstat(l->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == l->dev &&
                st.st_ino == l->ino)
                unlink(l->path);
        }
        free(l->path);
    }
    free(v->listeners);
    v->listeners = NULL;
    v->n_listeners = 0;
}

/* ------------------------------------------------------------------ */
/* Guest -> host unix socket                                           */
/* ------------------------------------------------------------------ */

static const char *port_path(const struct vsock *v, uint32_t port)
{
    for (size_t i = 0; i < v->n_ports; i++)
        if (v->ports[i].port == port)
            return v->ports[i].path;
    return NULL;
}

static void connect_failed(struct vsock_conn *c, int err)
{
    log_debug("%s: guest port %u -> vsock port %u: connecting to %s: %s", c->v->name, c->gport,
              c->hport, port_path(c->v, c->hport), strerror(err));
    vsock_queue_op(c->v, c, VSOCK_OP_RST, 0);
    vsock_conn_close(c);
}

static void connected(struct vsock_conn *c)
{
    vsock_conn_set_deadline(c, 0);
    vsock_queue_op(c->v, c, VSOCK_OP_RESPONSE, 0);
    vsock_stream_established(c);
}

static void try_connect(struct vsock_conn *c)
{
    struct sockaddr_un sun;
    const char *path = port_path(c->v, c->hport);
    if (!path || unix_addr(&sun, path) < 0) {
        connect_failed(c, ENAMETOOLONG);
        return;
    }
    int r;
    do
        r = connect(c->fd, (struct sockaddr *)&sun, sizeof(sun));
    while (r < 0 && errno == EINTR);
    if (r == 0 || errno == EISCONN) {
        connected(c);
        return;
    }
    c->state = ST_CONNECTING;
    if (errno == EINPROGRESS || errno == EALREADY) {
        vsock_conn_set_deadline(c, 0);
        return;
    }
    if (errno == EAGAIN && vsock_now_ms() < c->give_up_ms) {
        /* The listener's backlog is full: no event will say when it is not. */
        vsock_conn_set_deadline(c, vsock_now_ms() + VSOCK_RETRY_MS);
        return;
    }
    connect_failed(c, errno);
}

bool vsock_ports_request(struct vsock *v, const struct vsock_hdr *h)
{
    if (!port_path(v, h->dst_port))
        return false;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct vsock_conn *c = NULL;
    if (fd >= 0)
        c = vsock_conn_new(v, CONN_PORT_OUT, h->src_port, h->dst_port, fd, AF_UNIX, SOCK_STREAM);
    if (!c) {
        vsock_queue_rst(v, h->dst_port, h->src_port, VSOCK_TYPE_STREAM);
        return true;
    }
    vsock_credit_peer_update(&c->cr, h->buf_alloc, h->fwd_cnt);
    c->give_up_ms = vsock_now_ms() + VSOCK_RETRY_LIMIT_MS;
    try_connect(c);
    return true;
}

void vsock_port_connect_event(struct vsock_conn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err) {
        connect_failed(c, err);
        return;
    }
    struct sockaddr_storage peer;
    len = sizeof(peer);
    if (getpeername(c->fd, (struct sockaddr *)&peer, &len) == 0)
        connected(c);
    /* else: still connecting; the next event tells. */
}

void vsock_port_connect_retry(struct vsock_conn *c)
{
    if (vsock_now_ms() >= c->give_up_ms) {
        connect_failed(c, ETIMEDOUT);
        return;
    }
    try_connect(c);
}

/* ------------------------------------------------------------------ */
/* Host unix socket -> guest                                           */
/* ------------------------------------------------------------------ */

static void accept_all(struct vsock *v, struct vsock_listener *l)
{
    while (l->acceptable && vsock_conn_room(v)) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN)
                log_warn("%s: accepting on %s: %s", v->name, l->path, strerror(errno));
            /* EMFILE and the like: the next client's event tries again. */
            l->acceptable = false;
            return;
        }
        uint32_t hport = vsock_conn_alloc_hport(v, l->port);
        struct vsock_conn *c =
            vsock_conn_new(v, CONN_PORT_IN, l->port, hport, fd, AF_UNIX, SOCK_STREAM);
        if (c)
            vsock_stream_request(c);
    }
}

void vsock_listener_event(struct vsock *v, struct vsock_listener *l)
{
    l->acceptable = true;
    accept_all(v, l);
}

void vsock_listeners_retry(struct vsock *v)
{
    for (size_t i = 0; i < v->n_listeners; i++)
        if (v->listeners[i].acceptable)
            accept_all(v, &v->listeners[i]);
}
