/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-blk: the disks of krun_add_disk*, in the order they were added (vda, vdb, ...). */
#include <string.h>

#include "util/log.h"
#include "virtio/blk/blk.h"
#include "virtio/device.h"
#include "vm/devices.h"
#include "vm/vm.h"

int vm_attach_disks(struct vm *vm)
{
    for (size_t i = 0; i < vm->cfg->n_disks; i++) {
        struct virtio_device *dev;
        char err[512] = "";
        int ret = virtio_blk_create(&vm->cfg->disks[i], &dev, err, sizeof(err));
        if (ret) {
            log_error("disk %s: %s", vm->cfg->disks[i].block_id, err[0] ? err : strerror(-ret));
            return ret;
        }
        ret = vm_attach_virtio(vm, dev);
        if (ret)
            return ret;
    }
    return 0;
}
