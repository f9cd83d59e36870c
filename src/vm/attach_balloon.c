/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-balloon: every VM has one, as with upstream, so that the RAM its
 * guest frees goes back to the host (free page reporting).
 */
#include "util/log.h"
#include "virtio/balloon/balloon.h"
#include "virtio/device.h"
#include "vm/devices.h"
#include "vm/vm.h"

int vm_attach_balloon(struct vm *vm)
{
    struct virtio_device *dev;
    char err[256] = "";
    int ret = virtio_balloon_create(&dev, err, sizeof(err));
    if (ret) {
        log_error("virtio-balloon: %s", err);
        return ret;
    }
    return vm_attach_virtio(vm, dev);
}
