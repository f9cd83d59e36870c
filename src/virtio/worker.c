/* SPDX-License-Identifier: Apache-2.0 */
#include "virtio/worker.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"
#include "virtio/device.h"

void eventfd_drain(int fd)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof(v));
    (void)r;
}

int virtio_worker_init(struct virtio_worker *w)
{
    w->running = false;
    atomic_init(&w->stop, false);
    w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return w->wake_fd < 0 ? -errno : 0;
}

int virtio_worker_start(struct virtio_worker *w, struct virtio_device *dev, const char *name,
                        enum sandbox_kind kind, void *(*fn)(void *), void *arg)
{
    virtio_worker_stop(w, dev);
    atomic_store(&w->stop, false);
    int ret = virtio_device_thread(dev, &w->thread, name, kind, fn, arg);
    w->running = ret == 0;
    return ret;
}

void virtio_worker_stop(struct virtio_worker *w, struct virtio_device *dev)
{
    if (!w->running)
        return;
    atomic_store(&w->stop, true);
    uint64_t one = 1;
    if (write(w->wake_fd, &one, sizeof(one)) < 0)
        log_error("%s: cannot wake the device thread: %s", dev->name, strerror(errno));
    pthread_join(w->thread, NULL);
    w->running = false;
    eventfd_drain(w->wake_fd);
}

void virtio_worker_destroy(struct virtio_worker *w, struct virtio_device *dev)
{
    virtio_worker_stop(w, dev);
    if (w->wake_fd >= 0)
        close(w->wake_fd);
    w->wake_fd = -1;
}
