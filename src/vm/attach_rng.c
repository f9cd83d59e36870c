/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-rng: every VM has one, as with upstream (the guest's CRNG is seeded at boot). */
#include "util/log.h"
#include "virtio/device.h"
#include "virtio/rng/rng.h"
#include "vm/devices.h"
#include "vm/vm.h"

int vm_attach_rng(struct vm *vm)
{
    struct virtio_device *dev;
    char err[256] = "";
    int ret = virtio_rng_create(&dev, err, sizeof(err));
    if (ret) {
        log_error("virtio-rng: %s", err);
        return ret;
    }
    return vm_attach_virtio(vm, dev);
}
