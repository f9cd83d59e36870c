/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/event_loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct ev_source {
    int fd;
    ev_handler fn;
    void *opaque;
    atomic_bool deleted;
    struct ev_source *next;
};

/*
 * Devices add and remove sources from vCPU threads too, so the list is
 * locked. A removed source is only marked: the loop thread frees it after
 * the batch of events in which it may still appear.
 */
struct event_loop {
    int epfd;
    int stop_fd;
    bool stopping;
    pthread_mutex_t lock;
    struct ev_source *sources;
};

struct event_loop *ev_loop_new(void)
{
    struct event_loop *loop = calloc(1, sizeof(*loop));
    if (!loop)
        return NULL;
    pthread_mutex_init(&loop->lock, NULL);
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (loop->epfd < 0 || loop->stop_fd < 0 ||
        epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stop_fd, &ev) < 0) {
        ev_loop_free(loop);
        return NULL;
    }
    return loop;
}

static void free_deleted(struct event_loop *loop)
{
    pthread_mutex_lock(&loop->lock);
    for (struct ev_source **p = &loop->sources; *p;) {
        struct ev_source *s = *p;
        if (s->deleted) {
            *p = s->next;
            free(s);
        } else {
            p = &s->next;
        }
    }
    pthread_mutex_unlock(&loop->lock);
}

void ev_loop_free(struct event_loop *loop)
{
    if (!loop)
        return;
    for (struct ev_source *s = loop->sources; s; s = s->next)
        atomic_store(&s->deleted, true);
    free_deleted(loop);
    if (loop->epfd >= 0)
        close(loop->epfd);
    if (loop->stop_fd >= 0)
        close(loop->stop_fd);
    pthread_mutex_destroy(&loop->lock);
    free(loop);
}

int ev_loop_add(struct event_loop *loop, int fd, uint32_t events, ev_handler fn, void *opaque)
{
    struct ev_source *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->fd = fd;
    s->fn = fn;
    s->opaque = opaque;
    pthread_mutex_lock(&loop->lock);
    struct epoll_event ev = {.events = events, .data.ptr = s};
    int ret = 0;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        ret = -errno;
        free(s);
    } else {
        s->next = loop->sources;
        loop->sources = s;
    }
    pthread_mutex_unlock(&loop->lock);
    return ret;
}

static struct ev_source *find_source(struct event_loop *loop, int fd)
{
    for (struct ev_source *s = loop->sources; s; s = s->next)
        if (s->fd == fd && !atomic_load(&s->deleted))
            return s;
    return NULL;
}

int ev_loop_mod(struct event_loop *loop, int fd, uint32_t events)
{
    pthread_mutex_lock(&loop->lock);
    struct ev_source *s = find_source(loop, fd);
    int ret = -ENOENT;
    if (s) {
        struct epoll_event ev = {.events = events, .data.ptr = s};
        ret = epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
    }
    pthread_mutex_unlock(&loop->lock);
    return ret;
}

int ev_loop_del(struct event_loop *loop, int fd)
{
    pthread_mutex_lock(&loop->lock);
    struct ev_source *s = find_source(loop, fd);
    if (s) {
        /* Out of epoll first, so that no later epoll_wait can return it. */
        epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
        atomic_store(&s->deleted, true);
    }
    pthread_mutex_unlock(&loop->lock);
    return s ? 0 : -ENOENT;
}

int ev_loop_run(struct event_loop *loop)
{
    struct epoll_event events[32];
    while (!loop->stopping) {
        int n = epoll_wait(loop->epfd, events, 32, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        for (int i = 0; i < n; i++) {
            struct ev_source *s = events[i].data.ptr;
            if (!s) {
                uint64_t v;
                ssize_t r = read(loop->stop_fd, &v, sizeof(v));
                (void)r;
                loop->stopping = true;
                continue;
            }
            if (!atomic_load(&s->deleted))
                s->fn(s->opaque, events[i].events);
        }
        free_deleted(loop);
    }
    loop->stopping = false;
    return 0;
}

void ev_loop_stop(struct event_loop *loop)
{
    uint64_t one = 1;
    ssize_t r = write(loop->stop_fd, &one, sizeof(one));
    (void)r;
}
