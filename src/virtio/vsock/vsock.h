/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock (VIRTIO_ID_VSOCK), guest CID 3, the host CID 2: unix-socket
 * ports (krun_add_vsock_port*) and the TSI proxy (krun_add_vsock,
 * krun_set_port_map). Three queues of 256 (rx, tx, event); features
 * EVENT_IDX, IN_ORDER and VIRTIO_VSOCK_F_DGRAM (bit 3), which libkrun's
 * kernels need for TSI. One thread of the device's own does all the work,
 * host sockets included (non-blocking, epoll), from DRIVER_OK to reset.
 */
#ifndef KRUN_VIRTIO_VSOCK_VSOCK_H
#define KRUN_VIRTIO_VSOCK_VSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/vsock/config.h"

struct virtio_device;

/* What the device runs with (resolved from struct vsock_config). */
struct vsock_dev_config {
    uint32_t tsi_features; /* VSOCK_TSI_* */
    const struct vsock_port_map_entry *port_map;
    size_t n_port_map;
    const struct vsock_port_config *ports;
    size_t n_ports;
};

/*
 * Build the device (allocated with malloc; the caller attaches it, and
 * dev->ops->destroy frees its state). Listening ports are bound now, so a
 * path that exists fails here. Returns 0, or -errno with a message in err.
 */
int virtio_vsock_create(const struct vsock_dev_config *cfg, struct virtio_device **out, char *err,
                        size_t errlen);

#endif
