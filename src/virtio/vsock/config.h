/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a VM's vsock device is: unix-socket ports (krun_add_vsock_port*),
 * the TSI families and the port map (krun_add_vsock, krun_set_port_map),
 * and whether there is a device at all (krun_disable_implicit_vsock).
 *
 * Everything here is inline so that the config layer can record and free
 * it without linking the device.
 */
#ifndef KRUN_VIRTIO_VSOCK_CONFIG_H
#define KRUN_VIRTIO_VSOCK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* TSI families (the values of KRUN_TSI_HIJACK_INET / _UNIX). */
#define VSOCK_TSI_INET (1u << 0)
#define VSOCK_TSI_UNIX (1u << 1)
#define VSOCK_TSI_ALL  (VSOCK_TSI_INET | VSOCK_TSI_UNIX)

/* A vsock port served by a host unix socket. */
struct vsock_port_config {
    uint32_t port;
    char *path;
    bool listen; /* the VMM listens on path and connects to the guest's port */
};

/* One "HOST:GUEST" entry of the port map: a guest listener on guest_port is host_port. */
struct vsock_port_map_entry {
    uint16_t host_port;
    uint16_t guest_port;
};

enum vsock_mode {
    VSOCK_IMPLICIT, /* decided at start (vsock_config_resolve) */
    VSOCK_DISABLED, /* krun_disable_implicit_vsock: no device */
    VSOCK_EXPLICIT, /* krun_add_vsock: a device with tsi_features */
};

struct vsock_config {
    enum vsock_mode mode;
    uint32_t tsi_features; /* VSOCK_TSI_*, for VSOCK_EXPLICIT */
    struct vsock_port_map_entry *port_map;
    size_t n_port_map;
    struct vsock_port_config *ports;
    size_t n_ports;
};

/* What the VM gets, from the config and whether it has a network interface. */
struct vsock_plan {
    bool present;
    uint32_t tsi_features;
};

/*
 * Upstream's rule at start: without a network interface, the implicit
 * device does TSI for AF_INET/AF_INET6 (never AF_UNIX); with one, there is
 * a device only if vsock ports were added, and without TSI.
 */
static inline struct vsock_plan vsock_config_resolve(const struct vsock_config *c, bool has_net)
{
    switch (c->mode) {
    case VSOCK_DISABLED:
        return (struct vsock_plan){.present = false};
    case VSOCK_EXPLICIT:
        return (struct vsock_plan){.present = true, .tsi_features = c->tsi_features};
    case VSOCK_IMPLICIT:
        break;
    }
    if (!has_net)
        return (struct vsock_plan){.present = true, .tsi_features = VSOCK_TSI_INET};
    return (struct vsock_plan){.present = c->n_ports > 0};
}

static inline void vsock_config_free(struct vsock_config *c)
{
    for (size_t i = 0; i < c->n_ports; i++)
        free(c->ports[i].path);
    free(c->ports);
    free(c->port_map);
    c->ports = NULL;
    c->port_map = NULL;
    c->n_ports = c->n_port_map = 0;
}

#endif
