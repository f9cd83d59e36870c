/*
 * Attaching virtio devices: each gets the next 4 KiB MMIO window from
 * 0xd0000000 and the next IRQ from 5, an irqfd for its interrupt and an
 * ioeventfd per queue for QueueNotify, so that the data path never exits to
 * userspace. The attach order defines what the guest sees (vda before vdb).
 */
#include <errno.h>
#include <stdlib.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch/x86_64/layout.h"
#include "util/log.h"
#include "virtio/device.h"
#include "vmm/vm_setup.h"

#define MMIO_QUEUE_NOTIFY 0x050

int vm_attach_virtio(struct vm *vm, struct virtio_device *dev)
{
    if (vm->n_devices == VM_MAX_VIRTIO_DEVICES) {
        log_error("cannot attach %s: at most %d virtio devices fit the IRQs %d..%d", dev->name,
                  VM_MAX_VIRTIO_DEVICES, X86_VIRTIO_IRQ_FIRST, X86_VIRTIO_IRQ_LAST);
        dev->ops->destroy(dev);
        free(dev);
        return -ENOSPC;
    }
    virtio_device_init(dev);
    dev->vm = vm;
    dev->gm = &vm->mem;
    dev->mmio_base = X86_VIRTIO_MMIO_BASE + vm->n_devices * X86_VIRTIO_MMIO_SIZE;
    dev->irq = X86_VIRTIO_IRQ_FIRST + vm->n_devices;
    /* From here on vm_destroy() owns the device and its fds. */
    vm->devices[vm->n_devices++] = dev;

    dev->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (dev->irq_fd < 0)
        return -errno;
    struct kvm_irqfd irqfd = {.fd = (uint32_t)dev->irq_fd, .gsi = dev->irq};
    if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
        log_error("%s: KVM_IRQFD for IRQ %u failed: %s", dev->name, dev->irq, strerror(errno));
        return -errno;
    }
    for (unsigned i = 0; i < dev->n_queues; i++) {
        dev->kick_fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (dev->kick_fds[i] < 0)
            return -errno;
        struct kvm_ioeventfd io = {
            .datamatch = i,
            .addr = dev->mmio_base + MMIO_QUEUE_NOTIFY,
            .len = 4,
            .fd = dev->kick_fds[i],
            .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
        };
        if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
            log_error("%s: KVM_IOEVENTFD for queue %u failed: %s", dev->name, i, strerror(errno));
            return -errno;
        }
    }
    return 0;
}
