/* SPDX-License-Identifier: Apache-2.0 */
/*
 * krun_* functions for virtio-net interfaces. Return codes are upstream's
 * (reference: libkrun-behaviour.md section 1.5); where upstream would
 * crash on a NULL MAC or tap name we return -EINVAL. Backends are opened
 * when the VM is built (vm/attach_net.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/ctx.h"
#include "libkrun.h"

#define NET_ALL_FEATURES                                                                           \
    (NET_FEATURE_CSUM | NET_FEATURE_GUEST_CSUM | NET_FEATURE_GUEST_TSO4 | NET_FEATURE_GUEST_TSO6 | \
     NET_FEATURE_GUEST_UFO | NET_FEATURE_HOST_TSO4 | NET_FEATURE_HOST_TSO6 | NET_FEATURE_HOST_UFO)

/* Append an interface (it becomes eth<n_nets>). Takes path. */
static int32_t add_net(uint32_t ctx_id, const struct net_config *nc)
{
    struct vm_config *cfg = ctx_lock(ctx_id);
    if (!cfg)
        return -ENOENT;
    struct net_config *n = realloc(cfg->nets, (cfg->n_nets + 1) * sizeof(*n));
    if (!n) {
        ctx_unlock();
        return -ENOMEM;
    }
    cfg->nets = n;
    n[cfg->n_nets++] = *nc;
    ctx_unlock();
    return 0;
}

/* The checks upstream makes of the socket backends: exactly one of path and fd. */
static int32_t add_socket_net(uint32_t ctx_id, enum net_config_backend backend, const char *c_path,
                              int fd, const uint8_t *mac, uint32_t features, uint32_t flags,
                              uint32_t allowed_flags)
{
    if ((c_path && fd >= 0) || (!c_path && fd < 0) || !mac)
        return -EINVAL;
    if ((flags & ~allowed_flags) || (features & ~(uint32_t)(NET_ALL_FEATURES)))
        return -EINVAL;
    struct net_config nc = {
        .backend = backend, .fd = c_path ? -1 : fd, .features = features, .flags = flags};
    memcpy(nc.mac, mac, 6);
    if (c_path && !(nc.path = strdup(c_path)))
        return -ENOMEM;
    int32_t ret = add_net(ctx_id, &nc);
    if (ret)
        free(nc.path);
    return ret;
}

int32_t krun_add_net_unixstream(uint32_t ctx_id, const char *c_path, int fd, uint8_t *const c_mac,
                                uint32_t features, uint32_t flags)
{
    return add_socket_net(ctx_id, NET_UNIXSTREAM, c_path, fd, c_mac, features, flags,
                          NET_FLAG_DHCP_CLIENT);
}

int32_t krun_add_net_unixgram(uint32_t ctx_id, const char *c_path, int fd, uint8_t *const c_mac,
                              uint32_t features, uint32_t flags)
{
    return add_socket_net(ctx_id, NET_UNIXGRAM, c_path, fd, c_mac, features, flags,
                          NET_FLAG_DHCP_CLIENT | NET_FLAG_VFKIT);
}

int32_t krun_add_net_tap(uint32_t ctx_id, char *c_tap_name, uint8_t *const c_mac, uint32_t features,
                         uint32_t flags)
{
    if (!c_tap_name || !c_mac || (features & ~(uint32_t)(NET_ALL_FEATURES)) ||
        (flags & ~(uint32_t)NET_FLAG_DHCP_CLIENT))
        return -EINVAL;
    /* The tap's receive offloads are all conditional on the checksum one. */
    if ((features & (NET_FEATURE_GUEST_TSO4 | NET_FEATURE_GUEST_TSO6 | NET_FEATURE_GUEST_UFO)) &&
        !(features & NET_FEATURE_GUEST_CSUM))
        return -EINVAL;
    struct net_config nc = {.backend = NET_TAP, .fd = -1, .features = features, .flags = flags};
    memcpy(nc.mac, c_mac, 6);
    if (!(nc.path = strdup(c_tap_name)))
        return -ENOMEM;
    int32_t ret = add_net(ctx_id, &nc);
    if (ret)
        free(nc.path);
    return ret;
}

/* The legacy single interface: refused once krun_add_net_* was used, as upstream. */
static int32_t set_legacy(uint32_t ctx_id, const struct net_config *nc)
{
    struct vm_config *cfg = ctx_lock(ctx_id);
    if (!cfg)
        return -ENOENT;
    if (cfg->n_nets) {
        ctx_unlock();
        return -EINVAL;
    }
    free(cfg->legacy_net.path);
    cfg->legacy_net = *nc;
    cfg->legacy_net_api = true;
    ctx_unlock();
    return 0;
}

int32_t krun_set_passt_fd(uint32_t ctx_id, int fd)
{
    if (fd < 0)
        return -EINVAL;
    struct net_config nc = {.backend = NET_UNIXSTREAM, .fd = fd, .features = COMPAT_NET_FEATURES};
    return set_legacy(ctx_id, &nc);
}

int32_t krun_set_gvproxy_path(uint32_t ctx_id, char *c_path)
{
    if (!c_path)
        return -EINVAL;
    struct net_config nc = {.backend = NET_UNIXGRAM,
                            .fd = -1,
                            .features = COMPAT_NET_FEATURES,
                            .flags = NET_FLAG_VFKIT};
    if (!(nc.path = strdup(c_path)))
        return -ENOMEM;
    int32_t ret = set_legacy(ctx_id, &nc);
    if (ret)
        free(nc.path);
    return ret;
}

int32_t krun_set_net_mac(uint32_t ctx_id, uint8_t *const c_mac)
{
    if (!c_mac)
        return -EINVAL;
    CTX_OR_RETURN(cfg, ctx_id);
    memcpy(cfg->legacy_mac, c_mac, 6);
    ctx_unlock();
    return 0;
}
