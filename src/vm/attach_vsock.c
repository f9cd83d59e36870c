/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock: the explicit device of krun_add_vsock, or the implicit one
 * (TSI for AF_INET/AF_INET6 when the VM has no network interface), with
 * the ports of krun_add_vsock_port* and the port map. See
 * vsock_config_resolve for the rule.
 */
#include "util/log.h"
#include "virtio/device.h"
#include "virtio/vsock/vsock.h"
#include "vm/devices.h"
#include "vm/vm.h"

int vm_attach_vsock(struct vm *vm)
{
    const struct vm_config *cfg = vm->cfg;
    struct vsock_plan plan = vsock_config_resolve(&cfg->vsock, vm_config_has_net(cfg));
    if (!plan.present) {
        if (cfg->vsock.n_ports)
            log_warn("vsock ports are ignored: the VM has no vsock device");
        return 0;
    }
    struct vsock_dev_config dc = {
        .tsi_features = plan.tsi_features,
        .port_map = cfg->vsock.port_map,
        .n_port_map = cfg->vsock.n_port_map,
        .ports = cfg->vsock.ports,
        .n_ports = cfg->vsock.n_ports,
    };
    struct virtio_device *dev;
    char err[512] = "";
    int ret = virtio_vsock_create(&dc, &dev, err, sizeof(err));
    if (ret) {
        log_error("vsock: %s", err);
        return ret;
    }
    return vm_attach_virtio(vm, dev);
}
