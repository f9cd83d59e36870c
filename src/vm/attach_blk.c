/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk: the disks of krun_add_disk*, in the order they were added (vda,
 * vdb, ...). They are opened before the rest of the VM is built, so that
 * krun_setuid/krun_setgid take effect after the images are open, as upstream.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "virtio/blk/blk.h"
#include "virtio/device.h"
#include "vm/devices.h"
#include "vm/vm.h"

int vm_open_disks(struct vm *vm)
{
    size_t n = vm->cfg->n_disks;
    if (n == 0)
        return 0;
    vm->open_disks = calloc(n, sizeof(*vm->open_disks));
    if (!vm->open_disks)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char err[512] = "";
        int ret = virtio_blk_create(&vm->cfg->disks[i], &vm->open_disks[i], err, sizeof(err));
        if (ret) {
            log_error("disk %s: %s", vm->cfg->disks[i].block_id, err[0] ? err : strerror(-ret));
            return -EINVAL; /* upstream's code for a disk that cannot be used */
        }
    }
    return 0;
}

int vm_attach_disks(struct vm *vm)
{
    for (size_t i = 0; i < vm->cfg->n_disks; i++) {
        struct virtio_device *dev = vm->open_disks[i];
        vm->open_disks[i] = NULL; /* the VM owns it from here on */
        int ret = vm_attach_virtio(vm, dev);
        if (ret)
            return ret;
    }
    return 0;
}

void vm_close_disks(struct vm *vm)
{
    if (!vm->open_disks)
        return;
    for (size_t i = 0; i < vm->cfg->n_disks; i++) {
        struct virtio_device *dev = vm->open_disks[i];
        if (dev) {
            dev->ops->destroy(dev);
            free(dev);
        }
    }
    free(vm->open_disks);
    vm->open_disks = NULL;
}
