/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net: the interfaces of krun_add_net_* in the order added (eth0,
 * eth1, ...), then the legacy one of krun_set_passt_fd /
 * krun_set_gvproxy_path with krun_set_net_mac's address. Each backend is
 * opened here, so that a wrong path or tap name fails the start.
 */
#include <errno.h>
#include <stdio.h>

#include "libkrun.h"

#include "util/log.h"
#include "virtio/device.h"
#include "virtio/net/net.h"
#include "vm/devices.h"
#include "vm/vm.h"

static int open_backend(const struct net_config *nc, unsigned index, struct net_backend *be,
                        char *err, size_t errlen)
{
    switch (nc->backend) {
    case NET_UNIXSTREAM:
        return net_backend_open_stream(be, nc->path, nc->fd, err, errlen);
    case NET_UNIXGRAM:
        return net_backend_open_dgram(be, nc->path, nc->fd, (nc->flags & NET_FLAG_VFKIT) != 0,
                                      index, err, errlen);
    case NET_TAP:
        return net_backend_open_tap(be, nc->path, err, errlen);
    }
    return -EINVAL;
}

static int attach_one(struct vm *vm, const struct net_config *nc, const uint8_t mac[6],
                      unsigned index)
{
    char name[16], err[512] = "";
    snprintf(name, sizeof(name), "eth%u", index);
    struct net_backend be;
    int ret = open_backend(nc, index, &be, err, sizeof(err));
    struct virtio_device *dev;
    if (!ret)
        ret = virtio_net_create(name, &be, mac, nc->features, &dev, err, sizeof(err));
    if (ret) {
        log_error("network interface %s: %s", name, err);
        return ret;
    }
    return vm_attach_virtio(vm, dev);
}

int vm_attach_net(struct vm *vm)
{
    const struct vm_config *cfg = vm->cfg;
    unsigned i = 0;
    int ret = 0;
    for (; !ret && i < cfg->n_nets; i++)
        ret = attach_one(vm, &cfg->nets[i], cfg->nets[i].mac, i);
    if (!ret && cfg->legacy_net_api)
        ret = attach_one(vm, &cfg->legacy_net, cfg->legacy_mac, i);
    return ret;
}
