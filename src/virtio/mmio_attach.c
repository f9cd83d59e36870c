/* SPDX-License-Identifier: Apache-2.0 */
/* Putting a virtio device on a machine, and taking it off at teardown. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"
#include "virtio/device.h"
#include "vmm/irq.h"
#include "vmm/machine.h"
#include "vmm/spawner.h"

static void destroy_device(void *arg)
{
    struct virtio_device *dev = arg;
    dev->ops->destroy(dev);
    if (dev->irq_fd >= 0)
        close(dev->irq_fd);
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
        if (dev->kick_fds[q] >= 0)
            close(dev->kick_fds[q]);
    pthread_mutex_destroy(&dev->lock);
    log_limit_destroy(&dev->fail_log);
    free(dev);
}

static int new_eventfd(const struct virtio_device *dev, int *fd)
{
    *fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (*fd >= 0)
        return 0;
    int err = errno;
    log_error("%s: eventfd: %s", dev->name, strerror(err));
    return -err;
}

int virtio_mmio_attach(struct machine *m, struct virtio_device *dev, uint64_t base, unsigned gsi)
{
    virtio_device_init(dev);
    dev->gm = &m->mem;
    dev->spawner = spawner_iface(m->spawner);
    dev->mmio_base = base;
    dev->irq = gsi;
    int ret = teardown_push(&m->teardown, destroy_device, dev);
    if (ret)
        return ret;
    struct bus_range r = {.name = dev->name,
                          .base = base,
                          .len = VIRTIO_MMIO_WINDOW,
                          .read = virtio_mmio_read,
                          .write = virtio_mmio_write,
                          .opaque = dev};
    ret = bus_register(&m->mmio, &r);
    if (!ret)
        ret = new_eventfd(dev, &dev->irq_fd);
    if (!ret)
        ret = machine_add_irqfd(m, gsi, dev->irq_fd);
    for (unsigned i = 0; i < dev->n_queues && !ret; i++) {
        ret = new_eventfd(dev, &dev->kick_fds[i]);
        if (!ret)
            ret = machine_add_ioeventfd(m, base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, i, dev->kick_fds[i]);
    }
    if (ret)
        log_error("%s: cannot attach it at 0x%llx, IRQ %u", dev->name, (unsigned long long)base,
                  gsi);
    return ret;
}
