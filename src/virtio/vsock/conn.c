/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The connection table: every host socket of the device, keyed by (guest
 * port, host port), at most VSOCK_MAX_CONNS of them. Closed connections are
 * freed only at the next tick, so that epoll events already fetched for
 * them find a connection marked dead instead of freed memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "virtio/vsock/internal.h"

void vsock_link_init(struct vsock_link *l)
{
    l->prev = l->next = l;
}

void vsock_link_append(struct vsock_link *head, struct vsock_link *l)
{
    l->prev = head->prev;
    l->next = head;
    head->prev->next = l;
    head->prev = l;
}

void vsock_link_remove(struct vsock_link *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->prev = l->next = l;
}

bool vsock_link_empty(const struct vsock_link *head)
{
    return head->next == head;
}

static unsigned bucket(uint32_t gport, uint32_t hport)
{
    uint64_t k = ((uint64_t)gport << 32 | hport) * 0x9e3779b97f4a7c15ull;
    return (unsigned)(k >> 54) % VSOCK_HASH_BUCKETS;
}

bool vsock_conn_room(const struct vsock *v)
{
    return v->n_conns < VSOCK_MAX_CONNS;
}

struct vsock_conn *vsock_conn_find(const struct vsock *v, uint32_t gport, uint32_t hport)
{
    for (struct vsock_conn *c = v->buckets[bucket(gport, hport)]; c; c = c->hnext)
        if (c->gport == gport && c->hport == hport)
            return c;
    return NULL;
}

static void hash_in(struct vsock_conn *c)
{
    struct vsock_conn **b = &c->v->buckets[bucket(c->gport, c->hport)];
    c->hnext = *b;
    *b = c;
    c->hashed = true;
}

void vsock_conn_unhash(struct vsock_conn *c)
{
    if (!c->hashed)
        return;
    for (struct vsock_conn **p = &c->v->buckets[bucket(c->gport, c->hport)]; *p; p = &(*p)->hnext) {
        if (*p == c) {
            *p = c->hnext;
            break;
        }
    }
    c->hnext = NULL;
    c->hashed = false;
}

uint32_t vsock_conn_alloc_hport(struct vsock *v, uint32_t gport)
{
    /* At most VSOCK_MAX_CONNS keys are taken, so this ends quickly. */
    for (;;) {
        uint32_t p = v->next_hport++;
        if (v->next_hport < VSOCK_EPHEMERAL_FIRST || v->next_hport == UINT32_MAX)
            v->next_hport = VSOCK_EPHEMERAL_FIRST;
        if (!vsock_conn_find(v, gport, p))
            return p;
    }
}

struct vsock_conn *vsock_conn_new(struct vsock *v, enum vsock_conn_kind kind, uint32_t gport,
                                  uint32_t hport, int fd, int family, int type)
{
    if (!vsock_conn_room(v)) {
        v->stats.refused++;
        if (!v->stats.warned_limit) {
            v->stats.warned_limit = true;
            log_warn("%s: %d connections and proxies open; refusing more", v->name,
                     VSOCK_MAX_CONNS);
        }
        close(fd);
        return NULL;
    }
    struct vsock_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return NULL;
    }
    c->ev.kind = VSOCK_EV_CONN;
    c->v = v;
    c->kind = kind;
    c->state = ST_IDLE;
    c->gport = gport;
    c->hport = hport;
    c->fd = fd;
    c->family = family;
    c->type = type;
    vsock_credit_init(&c->cr, VSOCK_BUF_ALLOC);
    vsock_link_init(&c->rx);
    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(v->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
        log_warn("%s: cannot watch a socket: %s", v->name, strerror(errno));
        close(fd);
        free(c);
        return NULL;
    }
    vsock_link_append(&v->all, &c->all);
    v->n_conns++;
    hash_in(c);
    return c;
}

void vsock_conn_set_deadline(struct vsock_conn *c, uint64_t deadline_ms)
{
    if (!c->deadline_ms && deadline_ms)
        c->v->n_timed++;
    else if (c->deadline_ms && !deadline_ms)
        c->v->n_timed--;
    c->deadline_ms = deadline_ms;
}

/* Remove the socket file of a listener we created, if it is still ours. */
static void unlink_ours(const char *path, dev_t dev, ino_t ino)
{
    struct stat st;
    if (path && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == dev &&
        st.st_ino == ino)
        unlink(path);
}

void vsock_conn_close(struct vsock_conn *c)
{
    struct vsock *v = c->v;
    if (c->dead)
        return;
    c->dead = true;
    vsock_conn_unhash(c);
    if (c->in_rx) {
        vsock_link_remove(&c->rx);
        c->in_rx = false;
    }
    vsock_conn_set_deadline(c, 0);
    v->buffered -= c->buf.len;
    vsock_buf_free(&c->buf);
    epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    unlink_ours(c->unlink_path, c->unlink_dev, c->unlink_ino);
    free(c->unlink_path);
    c->unlink_path = NULL;
    vsock_link_remove(&c->all);
    v->n_conns--;
    c->zombie_next = v->zombies;
    v->zombies = c;
    /* Room again: a listener may have connections waiting. */
    v->retry_listeners = true;
}

void vsock_conns_free_zombies(struct vsock *v)
{
    while (v->zombies) {
        struct vsock_conn *c = v->zombies;
        v->zombies = c->zombie_next;
        free(c);
    }
}
