/* SPDX-License-Identifier: Apache-2.0 */
#include "util/out_fifo.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/thread.h"

struct out_fifo {
    pthread_mutex_t lock;
    pthread_cond_t more;    /* the writer waits for data or stop */
    pthread_cond_t drained; /* close waits for an empty buffer */
    char name[48];
    int fd;       /* what the writer writes to (ours if reopened, else the caller's) */
    bool own_fd;  /* fd is our own non-blocking file description */
    bool socket;  /* send with MSG_DONTWAIT instead */
    int stop_efd; /* wakes a writer that waits for the reader */
    uint8_t *buf;
    size_t cap, head, len;
    unsigned stall_ms;
    struct timespec since; /* the writer's last progress, or when data became pending */
    bool stop, gone, stalled_warned;
    uint64_t dropped;
    void (*on_space)(void *opaque);
    void *opaque;
    pthread_t thread;
};

static uint64_t ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms = (int64_t)(now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
    return ms > 0 ? (uint64_t)ms : 0;
}

/*
 * Where to write without ever blocking for long, whatever the caller's fd
 * is: a pipe, FIFO or terminal is opened again as a file description of
 * our own, non-blocking (the caller's flags stay as they are); a socket
 * takes MSG_DONTWAIT; a regular file does not wait for a reader. Returns
 * false if the reader is already gone.
 */
static bool open_output(struct out_fifo *f, int fd)
{
    struct stat st;
    f->fd = fd;
    if (fstat(fd, &st) < 0)
        return true;
    if (S_ISSOCK(st.st_mode)) {
        f->socket = true;
    } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        char path[32];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        int own = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (own >= 0) {
            f->fd = own;
            f->own_fd = true;
        } else if (errno == ENXIO) {
            return false; /* a pipe without a reader */
        }
        /* Otherwise the writer polls before it writes small pieces (below). */
    }
    return true;
}

/*
 * Write some of buf, waiting for the reader if it must, but never past a
 * stop request. Returns bytes written, 0 when stopped, or -1 (errno).
 */
static ssize_t write_some(struct out_fifo *f, const uint8_t *buf, size_t len)
{
    for (;;) {
        struct pollfd pfd[2] = {{.fd = f->fd, .events = POLLOUT},
                                {.fd = f->stop_efd, .events = POLLIN}};
        if (poll(pfd, 2, -1) < 0 && errno != EINTR)
            return -1;
        if (pfd[1].revents)
            return 0;
        if (!pfd[0].revents)
            continue;
        /* On a blocking fd, POLLOUT promises room for a pipe buffer's worth. */
        size_t n = f->own_fd || f->socket || len < PIPE_BUF ? len : PIPE_BUF;
        ssize_t w =
            f->socket ? send(f->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) : write(f->fd, buf, n);
        if (w > 0)
            return w;
        if (w == 0 || (errno != EAGAIN && errno != EINTR))
            return -1;
    }
}

static void *writer(void *arg)
{
    struct out_fifo *f = arg;
    pthread_mutex_lock(&f->lock);
    for (;;) {
        while (!f->len && !f->stop)
            pthread_cond_wait(&f->more, &f->lock);
        if (!f->len)
            break;
        size_t span = f->cap - f->head < f->len ? f->cap - f->head : f->len;
        const uint8_t *p = f->buf + f->head; /* the producer never writes over pending bytes */
        pthread_mutex_unlock(&f->lock);
        ssize_t n = write_some(f, p, span);
        int err = errno;
        pthread_mutex_lock(&f->lock);
        bool was_full = f->len == f->cap;
        if (n == 0)
            break; /* stopped while the reader did not read */
        if (n < 0) {
            if (!f->gone)
                log_debug("%s: output failed (%s); discarding it from now on", f->name,
                          strerror(err));
            f->gone = true;
            f->len = 0;
        } else {
            f->head = (f->head + (size_t)n) % f->cap;
            f->len -= (size_t)n;
            clock_gettime(CLOCK_MONOTONIC, &f->since);
            if (f->stalled_warned) {
                log_info("%s: the reader reads again", f->name);
                f->stalled_warned = false;
            }
        }
        if (!f->len)
            pthread_cond_broadcast(&f->drained);
        if (was_full && f->on_space) {
            pthread_mutex_unlock(&f->lock);
            f->on_space(f->opaque);
            pthread_mutex_lock(&f->lock);
        }
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

struct out_fifo *out_fifo_new(const char *name, int fd, size_t cap, unsigned stall_ms,
                              void (*on_space)(void *opaque), void *opaque)
{
    struct out_fifo *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->buf = malloc(cap);
    if (!f->buf || cap == 0) {
        free(f->buf);
        free(f);
        errno = ENOMEM;
        return NULL;
    }
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->gone = !open_output(f, fd);
    f->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    f->cap = cap;
    f->stall_ms = stall_ms;
    f->on_space = on_space;
    f->opaque = opaque;
    pthread_mutex_init(&f->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->more, &ca);
    pthread_cond_init(&f->drained, &ca);
    pthread_condattr_destroy(&ca);
    int ret = f->stop_efd < 0 ? errno
                              : -thread_start(&f->thread, "krun-output", SANDBOX_OUTPUT, writer, f);
    if (ret) {
        if (f->stop_efd >= 0)
            close(f->stop_efd);
        if (f->own_fd)
            close(f->fd);
        pthread_cond_destroy(&f->more);
        pthread_cond_destroy(&f->drained);
        pthread_mutex_destroy(&f->lock);
        free(f->buf);
        free(f);
        errno = ret;
        return NULL;
    }
    return f;
}

size_t out_fifo_write(struct out_fifo *f, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    pthread_mutex_lock(&f->lock);
    size_t taken = len;
    if (f->gone) {
        /* The fd failed (the reader went away): output goes nowhere, as it would. */
    } else if (f->len && ms_since(&f->since) >= f->stall_ms) {
        f->dropped += len;
        if (!f->stalled_warned) {
            log_warn("%s: the reader has not read for %u ms; dropping output until it does",
                     f->name, f->stall_ms);
            f->stalled_warned = true;
        }
    } else {
        size_t room = f->cap - f->len;
        taken = len < room ? len : room;
        if (!f->len)
            clock_gettime(CLOCK_MONOTONIC, &f->since);
        size_t tail = (f->head + f->len) % f->cap;
        size_t first = f->cap - tail < taken ? f->cap - tail : taken;
        memcpy(f->buf + tail, data, first);
        memcpy(f->buf, (const uint8_t *)data + first, taken - first);
        f->len += taken;
        if (taken)
            pthread_cond_signal(&f->more);
    }
    pthread_mutex_unlock(&f->lock);
    return taken;
}

bool out_fifo_can_take(struct out_fifo *f)
{
    pthread_mutex_lock(&f->lock);
    bool ok = f->gone || f->len < f->cap || ms_since(&f->since) >= f->stall_ms;
    pthread_mutex_unlock(&f->lock);
    return ok;
}

uint64_t out_fifo_dropped(struct out_fifo *f)
{
    pthread_mutex_lock(&f->lock);
    uint64_t d = f->dropped;
    pthread_mutex_unlock(&f->lock);
    return d;
}

void out_fifo_close(struct out_fifo *f, unsigned idle_ms)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    f->stop = true;
    pthread_cond_signal(&f->more);
    /* Wait while the reader keeps reading; give up after idle_ms without progress. */
    while (f->len && !f->gone && ms_since(&f->since) < idle_ms) {
        struct timespec deadline = f->since;
        deadline.tv_sec += idle_ms / 1000;
        deadline.tv_nsec += (long)(idle_ms % 1000) * 1000000;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&f->drained, &f->lock, &deadline);
    }
    size_t left = f->len;
    uint64_t dropped = f->dropped + left;
    pthread_mutex_unlock(&f->lock);
    uint64_t one = 1;
    ssize_t r = write(f->stop_efd, &one, sizeof(one)); /* a writer waiting for the reader stops */
    (void)r;
    pthread_join(f->thread, NULL);
    close(f->stop_efd);
    if (f->own_fd)
        close(f->fd);
    if (dropped)
        log_warn("%s: %llu bytes of output were dropped: the reader did not read them", f->name,
                 (unsigned long long)dropped);
    pthread_cond_destroy(&f->more);
    pthread_cond_destroy(&f->drained);
    pthread_mutex_destroy(&f->lock);
    free(f->buf);
    free(f);
}
