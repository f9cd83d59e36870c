/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/spawner.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/event_loop.h"

struct request {
    pthread_t *t;
    const char *name;
    enum sandbox_kind kind;
    void *(*fn)(void *);
    void *arg;
    int result;
    bool done;
    struct request *next;
};

struct spawner {
    struct thread_spawner iface;
    pthread_mutex_t lock;
    pthread_cond_t answered;
    struct request *pending;
    bool closed;
    int efd;
};

/* On the loop thread: start what was asked. */
static void serve(void *opaque, uint32_t events)
{
    struct spawner *s = opaque;
    uint64_t v;
    ssize_t r = read(s->efd, &v, sizeof(v));
    (void)r;
    pthread_mutex_lock(&s->lock);
    while (s->pending) {
        struct request *q = s->pending;
        s->pending = q->next;
        pthread_mutex_unlock(&s->lock);
        int ret = thread_start(q->t, q->name, q->kind, q->fn, q->arg);
        pthread_mutex_lock(&s->lock);
        q->result = ret;
        q->done = true;
        pthread_cond_broadcast(&s->answered);
    }
    pthread_mutex_unlock(&s->lock);
}

static int request(void *opaque, pthread_t *t, const char *name, enum sandbox_kind kind,
                   void *(*fn)(void *), void *arg)
{
    struct spawner *s = opaque;
    struct request q = {.t = t, .name = name, .kind = kind, .fn = fn, .arg = arg};
    pthread_mutex_lock(&s->lock);
    if (s->closed) {
        pthread_mutex_unlock(&s->lock);
        return -ECANCELED;
    }
    q.next = s->pending;
    s->pending = &q;
    uint64_t one = 1;
    ssize_t r = write(s->efd, &one, sizeof(one));
    (void)r;
    while (!q.done)
        pthread_cond_wait(&s->answered, &s->lock);
    pthread_mutex_unlock(&s->lock);
    return q.result;
}

struct spawner *spawner_new(struct event_loop *loop)
{
    struct spawner *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->iface = (struct thread_spawner){.start = request, .opaque = s};
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->answered, NULL);
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->efd < 0 || ev_loop_add(loop, s->efd, EPOLLIN, serve, s) < 0) {
        if (s->efd >= 0)
            close(s->efd);
        pthread_cond_destroy(&s->answered);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
    }
    return s;
}

const struct thread_spawner *spawner_iface(struct spawner *s)
{
    return &s->iface;
}

void spawner_close(struct spawner *s)
{
    pthread_mutex_lock(&s->lock);
    s->closed = true;
    for (struct request *q = s->pending; q; q = q->next) {
        q->result = -ECANCELED;
        q->done = true;
    }
    s->pending = NULL;
    pthread_cond_broadcast(&s->answered);
    pthread_mutex_unlock(&s->lock);
}

void spawner_free(struct spawner *s, struct event_loop *loop)
{
    if (!s)
        return;
    spawner_close(s);
    ev_loop_del(loop, s->efd);
    close(s->efd);
    pthread_cond_destroy(&s->answered);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
