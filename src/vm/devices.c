/* SPDX-License-Identifier: Apache-2.0 */
#include "vm/devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "arch/x86_64/layout.h"
#include "util/log.h"
#include "virtio/device.h"
#include "vm/vm.h"

static const struct {
    const char *name;
    int (*attach)(struct vm *vm);
} device_list[] = {
#define VM_DEVICE_ENTRY(name) {#name, vm_attach_##name},
    VM_DEVICES(VM_DEVICE_ENTRY)
#undef VM_DEVICE_ENTRY
};

int vm_attach_devices(struct vm *vm)
{
    for (size_t i = 0; i < sizeof(device_list) / sizeof(device_list[0]); i++) {
        int ret = device_list[i].attach(vm);
        if (ret) {
            log_debug("attaching %s failed: %d", device_list[i].name, ret);
            return ret;
        }
    }
    return 0;
}

int vm_attach_virtio(struct vm *vm, struct virtio_device *dev)
{
    if (vm->n_virtio == VM_MAX_VIRTIO_DEVICES) {
        log_error("cannot attach %s: at most %d virtio devices fit the IRQs %d..%d", dev->name,
                  VM_MAX_VIRTIO_DEVICES, X86_VIRTIO_IRQ_FIRST, X86_VIRTIO_IRQ_LAST);
        dev->ops->destroy(dev);
        free(dev);
        return -ENOSPC;
    }
    uint64_t base = X86_VIRTIO_MMIO_BASE + vm->n_virtio * X86_VIRTIO_MMIO_SIZE;
    unsigned irq = X86_VIRTIO_IRQ_FIRST + vm->n_virtio;
    int ret = virtio_mmio_attach(&vm->m, dev, base, irq);
    if (ret)
        return ret;
    vm->virtio[vm->n_virtio++] = dev;
    char tok[64];
    snprintf(tok, sizeof(tok), "virtio_mmio.device=4K@0x%llx:%u", (unsigned long long)base, irq);
    return strvec_push(&vm->cmdline_devices, tok);
}
