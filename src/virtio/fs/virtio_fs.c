/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-fs: the glue between the transport, the queues and the FUSE server. */
#include "virtio/fs/virtio_fs.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_ids.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio/fs/config.h"
#include "util/log.h"
#include "virtio/device.h"
#include "virtio/fs/fs_creds.h"
#include "virtio/fs/fuse_server.h"
#include "virtio/fs/overlay.h"
#include "virtio/fs/passthrough.h"

#define FS_REQUEST_QUEUES 1
#define FS_NUM_QUEUES     (1 + FS_REQUEST_QUEUES)
#define FS_HIPRIO_QUEUE   0
#define FS_QUEUE_SIZE     1024
/* Workers per device, and requests that may be popped but not yet answered. */
#define FS_WORKERS 4
#define FS_JOBS    16

/* One popped chain with room for the longest chain a queue can hold. */
struct fs_job {
    unsigned q;
    struct virtq_chain chain;
    struct fs_job *next;
    struct iovec iov[FS_QUEUE_SIZE];
};

struct fs_dev;

struct fs_poller {
    struct fs_dev *d;
    unsigned q;
    pthread_t thread;
    bool started;
};

struct fs_dev {
    struct virtio_device *vdev; /* allocated apart: the VM frees it */
    struct fuse_server *srv;
    struct virtio_fs_config config; /* little endian, as the guest reads it */
    int stop_fd;
    atomic_bool stop;
    bool running;

    struct fs_poller pollers[FS_NUM_QUEUES];
    pthread_t workers[FS_WORKERS];
    unsigned n_workers;
    /* The push side of each queue (push + notify) is serialized here. */
    pthread_mutex_t push_lock[FS_NUM_QUEUES];

    /* Job pool: free list and FIFO of popped requests for the workers. */
    pthread_mutex_t jlock;
    pthread_cond_t job_ready, job_free;
    struct fs_job *free_jobs, *pending, *pending_tail;
    struct fs_job *jobs;       /* FS_JOBS for the request queues */
    struct fs_job *hiprio_job; /* the high-priority queue is served inline */
};

static struct fs_dev *to_fs(struct virtio_device *dev)
{
    return dev->priv;
}

static void fs_read_config(struct virtio_device *dev, uint32_t offset, void *data, uint32_t len)
{
    const struct fs_dev *d = to_fs(dev);
    virtio_config_read(&d->config, sizeof(d->config), offset, data, len);
}

static void fs_write_config(struct virtio_device *dev, uint32_t offset, const void *data,
                            uint32_t len)
{
    log_debug("%s: ignored config write at 0x%x (%u bytes)", dev->name, offset, len);
}

/* ---- job pool ---- */

static void jobs_reset(struct fs_dev *d)
{
    d->free_jobs = NULL;
    d->pending = d->pending_tail = NULL;
    for (unsigned i = 0; i < FS_JOBS; i++) {
        d->jobs[i].next = d->free_jobs;
        d->free_jobs = &d->jobs[i];
    }
}

/* A free job, waiting for one if all are in flight; NULL when stopping. */
static struct fs_job *job_alloc(struct fs_dev *d)
{
    pthread_mutex_lock(&d->jlock);
    while (!d->free_jobs && !atomic_load(&d->stop))
        pthread_cond_wait(&d->job_free, &d->jlock);
    struct fs_job *j = atomic_load(&d->stop) ? NULL : d->free_jobs;
    if (j)
        d->free_jobs = j->next;
    pthread_mutex_unlock(&d->jlock);
    return j;
}

static void job_free(struct fs_dev *d, struct fs_job *j)
{
    pthread_mutex_lock(&d->jlock);
    j->next = d->free_jobs;
    d->free_jobs = j;
    pthread_cond_signal(&d->job_free);
    pthread_mutex_unlock(&d->jlock);
}

static void job_submit(struct fs_dev *d, struct fs_job *j)
{
    pthread_mutex_lock(&d->jlock);
    j->next = NULL;
    if (d->pending_tail)
        d->pending_tail->next = j;
    else
        d->pending = j;
    d->pending_tail = j;
    pthread_cond_signal(&d->job_ready);
    pthread_mutex_unlock(&d->jlock);
}

/* The oldest popped request; NULL when stopping. */
static struct fs_job *job_take(struct fs_dev *d)
{
    pthread_mutex_lock(&d->jlock);
    while (!d->pending && !atomic_load(&d->stop))
        pthread_cond_wait(&d->job_ready, &d->jlock);
    struct fs_job *j = atomic_load(&d->stop) ? NULL : d->pending;
    if (j) {
        d->pending = j->next;
        if (!d->pending)
            d->pending_tail = NULL;
    }
    pthread_mutex_unlock(&d->jlock);
    return j;
}

/* ---- request processing ---- */

static void run_job(struct fs_dev *d, struct fs_job *j)
{
    struct virtq_chain *c = &j->chain;
    size_t written = fuse_server_handle(d->srv, c->iov, c->n_out, c->iov + c->n_out, c->n_in);
    struct virtq *q = &d->vdev->queues[j->q];
    pthread_mutex_lock(&d->push_lock[j->q]);
    virtq_push(q, c->head, (uint32_t)written);
    virtio_device_notify_queue(d->vdev, q);
    pthread_mutex_unlock(&d->push_lock[j->q]);
}

static void *worker_main(void *arg)
{
    struct fs_dev *d = arg;
    int ret = fs_thread_init();
    if (ret < 0)
        log_warn("%s: cannot give the worker its own umask (%s): new files get the VMM's umask",
                 d->vdev->name, strerror(-ret));
    struct fs_job *j;
    while ((j = job_take(d))) {
        run_job(d, j);
        job_free(d, j);
    }
    return NULL;
}

/* Pop everything available. Returns false when the thread must end. */
static bool drain(struct fs_dev *d, unsigned qi)
{
    struct virtq *q = &d->vdev->queues[qi];
    for (;;) {
        virtq_disable_notify(q);
        for (;;) {
            if (atomic_load(&d->vdev->failed))
                return false;
            struct fs_job *j = qi == FS_HIPRIO_QUEUE ? d->hiprio_job : job_alloc(d);
            if (!j)
                return false;
            j->q = qi;
            j->chain.iov = j->iov;
            j->chain.iov_cap = FS_QUEUE_SIZE;
            int r = virtq_pop(q, &j->chain);
            if (r <= 0 && qi != FS_HIPRIO_QUEUE)
                job_free(d, j);
            if (r == 0)
                break;
            if (r < 0) {
                virtio_device_fail(d->vdev, "queue %u is broken (%s)", qi,
                                   q->error ? q->error : strerror(-r));
                return false;
            }
            /* FORGETs are quick and have no reply: answer them right here. */
            if (qi == FS_HIPRIO_QUEUE)
                run_job(d, j);
            else
                job_submit(d, j);
        }
        if (!virtq_enable_notify(q))
            return true;
    }
}

static void *poller_main(void *arg)
{
    struct fs_poller *p = arg;
    struct fs_dev *d = p->d;
    int kick = d->vdev->kick_fds[p->q];
    /* The high-priority queue's requests are answered on this thread. */
    if (p->q == FS_HIPRIO_QUEUE && fs_thread_init() < 0)
        log_warn("%s: cannot give the queue thread its own umask", d->vdev->name);
    for (;;) {
        struct pollfd pfd[2] = {{.fd = kick, .events = POLLIN},
                                {.fd = d->stop_fd, .events = POLLIN}};
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("%s: poll: %s", d->vdev->name, strerror(errno));
            break;
        }
        if (atomic_load(&d->stop) || pfd[1].revents)
            break;
        if (pfd[0].revents & (POLLERR | POLLNVAL)) {
            log_error("%s: queue %u: bad notification fd", d->vdev->name, p->q);
            break;
        }
        uint64_t v;
        if ((pfd[0].revents & POLLIN) && read(kick, &v, sizeof(v)) < 0 && errno != EAGAIN)
            log_debug("%s: kick read: %s", d->vdev->name, strerror(errno));
        if (!drain(d, p->q))
            break;
    }
    return NULL;
}

/* ---- lifecycle ---- */

static void stop_threads(struct fs_dev *d)
{
    if (!d->running)
        return;
    atomic_store(&d->stop, true);
    uint64_t one = 1;
    if (write(d->stop_fd, &one, sizeof(one)) < 0)
        log_error("%s: cannot signal the queue threads: %s", d->vdev->name, strerror(errno));
    fuse_server_stop(d->srv, true);
    pthread_mutex_lock(&d->jlock);
    pthread_cond_broadcast(&d->job_ready);
    pthread_cond_broadcast(&d->job_free);
    pthread_mutex_unlock(&d->jlock);
    for (unsigned i = 0; i < FS_NUM_QUEUES; i++) {
        if (d->pollers[i].started)
            pthread_join(d->pollers[i].thread, NULL);
        d->pollers[i].started = false;
    }
    for (unsigned i = 0; i < d->n_workers; i++)
        pthread_join(d->workers[i], NULL);
    d->n_workers = 0;
    /* Requests popped but not answered are dropped: the queues are reset next. */
    jobs_reset(d);
    uint64_t v;
    while (read(d->stop_fd, &v, sizeof(v)) > 0) {
    }
    atomic_store(&d->stop, false);
    fuse_server_stop(d->srv, false);
    d->running = false;
}

static int fs_activate(struct virtio_device *dev)
{
    struct fs_dev *d = to_fs(dev);
    stop_threads(d);
    jobs_reset(d);
    d->running = true;
    int ret = 0;
    for (unsigned i = 0; i < FS_WORKERS && ret == 0; i++) {
        ret = -virtio_device_thread(dev, &d->workers[d->n_workers], "krun-fs-worker", SANDBOX_FS,
                                    worker_main, d);
        if (ret == 0)
            d->n_workers++;
    }
    for (unsigned i = 0; i < FS_NUM_QUEUES && ret == 0; i++) {
        struct fs_poller *p = &d->pollers[i];
        /* A queue the driver did not set up is never served. */
        if (!dev->queues[i].ready)
            continue;
        p->d = d;
        p->q = i;
        ret = -virtio_device_thread(dev, &p->thread, "krun-fs-queue", SANDBOX_FS, poller_main, p);
        p->started = ret == 0;
    }
    if (ret != 0) {
        log_error("%s: cannot start its threads: %s", dev->name, strerror(ret));
        stop_threads(d);
        return -ret;
    }
    return 0;
}

static void fs_reset(struct virtio_device *dev)
{
    struct fs_dev *d = to_fs(dev);
    stop_threads(d);
    fuse_server_reset(d->srv);
}

static void fs_free(struct fs_dev *d)
{
    fuse_server_free(d->srv);
    if (d->stop_fd >= 0)
        close(d->stop_fd);
    for (unsigned i = 0; i < FS_NUM_QUEUES; i++)
        pthread_mutex_destroy(&d->push_lock[i]);
    pthread_mutex_destroy(&d->jlock);
    pthread_cond_destroy(&d->job_ready);
    pthread_cond_destroy(&d->job_free);
    free(d->jobs);
    free(d->hiprio_job);
    free(d);
}

/* Frees the device's own state; the VM closes the fds and frees dev. */
static void fs_destroy(struct virtio_device *dev)
{
    struct fs_dev *d = to_fs(dev);
    if (!d)
        return;
    stop_threads(d);
    fs_free(d);
    dev->priv = NULL;
}

static const struct virtio_device_ops fs_ops = {
    .read_config = fs_read_config,
    .write_config = fs_write_config,
    .activate = fs_activate,
    .reset = fs_reset,
    .destroy = fs_destroy,
};

int virtio_fs_create(const struct fs_share *share, void (*exit_status_cb)(void *, int),
                     void *cb_opaque, struct virtio_device **out, char *err, size_t errlen)
{
    const char *tag = share->tag ? share->tag : "";
    size_t tag_len = strlen(tag);
    size_t tag_max = sizeof(((struct virtio_fs_config *)NULL)->tag);
    if (tag_len == 0 || tag_len > tag_max) {
        snprintf(err, errlen, "virtio-fs: tag '%s' must have 1 to %zu bytes", tag, tag_max);
        return -EINVAL;
    }

    struct passthrough *pt = NULL;
    if (share->path) {
        int ret = passthrough_new(share->path, share->read_only, &pt, err, errlen);
        if (ret < 0)
            return ret;
    }
    struct overlay *ov;
    int ret = overlay_new(pt ? &passthrough_ops : NULL, pt, share->overlays, share->n_overlays,
                          exit_status_cb, cb_opaque, &ov, err, errlen);
    if (ret < 0)
        return ret;

    struct fs_dev *d = calloc(1, sizeof(*d));
    if (d) {
        d->vdev = calloc(1, sizeof(*d->vdev));
        d->jobs = calloc(FS_JOBS, sizeof(*d->jobs));
        d->hiprio_job = calloc(1, sizeof(*d->hiprio_job));
        /* One worker always stays free of lock waits. */
        d->srv = fuse_server_new(&overlay_ops, ov, FS_WORKERS - 1);
        ov = NULL;
    }
    if (!d || !d->vdev || !d->jobs || !d->hiprio_job || !d->srv) {
        snprintf(err, errlen, "virtio-fs %s: out of memory", tag);
        if (ov)
            overlay_ops.destroy(ov);
        if (d) {
            fuse_server_free(d->srv);
            free(d->vdev);
            free(d->jobs);
            free(d->hiprio_job);
            free(d);
        }
        return -ENOMEM;
    }
    for (unsigned i = 0; i < FS_NUM_QUEUES; i++)
        pthread_mutex_init(&d->push_lock[i], NULL);
    pthread_mutex_init(&d->jlock, NULL);
    pthread_cond_init(&d->job_ready, NULL);
    pthread_cond_init(&d->job_free, NULL);
    jobs_reset(d);
    d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (d->stop_fd < 0) {
        ret = -errno;
        snprintf(err, errlen, "virtio-fs %s: eventfd: %s", tag, strerror(errno));
        free(d->vdev);
        fs_free(d);
        return ret;
    }

    memcpy(d->config.tag, tag, tag_len);
    d->config.num_request_queues = htole32(FS_REQUEST_QUEUES);

    struct virtio_device *dev = d->vdev;
    dev->ops = &fs_ops;
    snprintf(dev->name, sizeof(dev->name), "virtio-fs %s", tag);
    dev->device_id = VIRTIO_ID_FS;
    dev->features = VIRTIO_FEAT_EVENT_IDX;
    dev->n_queues = FS_NUM_QUEUES;
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        dev->queue_max[i] = i < FS_NUM_QUEUES ? FS_QUEUE_SIZE : 0;
        dev->kick_fds[i] = -1;
    }
    dev->irq_fd = -1;
    dev->priv = d;
    *out = dev;
    return 0;
}
