/* SPDX-License-Identifier: Apache-2.0 */
/*
 * krun_* functions about vsock and TSI. Return codes are upstream's
 * (reference: libkrun-behaviour.md section 1.6); the device is decided at
 * start (vsock_config_resolve).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/ctx.h"
#include "libkrun.h"

_Static_assert(KRUN_TSI_HIJACK_INET == VSOCK_TSI_INET && KRUN_TSI_HIJACK_UNIX == VSOCK_TSI_UNIX,
               "TSI flags");

/* A port number as upstream parses it: decimal digits (an optional '+'), 0-65535. */
static int parse_port(const char *s, size_t len, uint16_t *out)
{
    if (len && *s == '+') {
        s++;
        len--;
    }
    if (len == 0 || len > 5)
        return -EINVAL;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > UINT16_MAX)
        return -EINVAL;
    *out = (uint16_t)v;
    return 0;
}

/* "HOST:GUEST" entries; a guest or host port given twice is -EINVAL. */
static int parse_port_map(const char *const map[], struct vsock_port_map_entry **out, size_t *n_out)
{
    size_t n = 0;
    while (map[n]) {
        if (++n > KRUN_MAX_ARGS)
            return -EINVAL;
    }
    struct vsock_port_map_entry *e = calloc(n + 1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *s = map[i], *colon = strchr(s, ':');
        if (!colon || strchr(colon + 1, ':') ||
            parse_port(s, (size_t)(colon - s), &e[i].host_port) < 0 ||
            parse_port(colon + 1, strlen(colon + 1), &e[i].guest_port) < 0)
            goto bad;
        for (size_t j = 0; j < i; j++)
            if (e[j].guest_port == e[i].guest_port || e[j].host_port == e[i].host_port)
                goto bad;
    }
    *out = e;
    *n_out = n;
    return 0;
bad:
    free(e);
    return -EINVAL;
}

int32_t krun_set_port_map(uint32_t ctx_id, const char *const port_map[])
{
    if (!port_map)
        return -EINVAL;
    struct vsock_port_map_entry *map;
    size_t n;
    int32_t ret = parse_port_map(port_map, &map, &n);
    if (ret)
        return ret;
    struct vm_config *cfg = ctx_lock(ctx_id);
    if (!cfg) {
        free(map);
        return -ENOENT;
    }
    if (vm_config_has_net(cfg)) {
        /* Upstream's header says -ENOTSUP; its code returns -EINVAL. */
        ret = -EINVAL;
    } else if (cfg->vsock.mode == VSOCK_DISABLED) {
        ret = -ENODEV;
    } else {
        free(cfg->vsock.port_map);
        cfg->vsock.port_map = map;
        cfg->vsock.n_port_map = n;
        map = NULL;
    }
    ctx_unlock();
    free(map);
    return ret;
}

int32_t krun_add_vsock_port2(uint32_t ctx_id, uint32_t port, const char *c_filepath, bool listen)
{
    if (!c_filepath || !*c_filepath)
        return -EINVAL;
    CTX_OR_RETURN(cfg, ctx_id);
    struct vsock_config *v = &cfg->vsock;
    struct stat st;
    int32_t ret = 0;
    char *path = NULL;
    if (v->mode == VSOCK_DISABLED)
        ret = -ENODEV;
    else if (listen && lstat(c_filepath, &st) == 0)
        ret = -EEXIST; /* the VMM creates the socket */
    else if (!(path = strdup(c_filepath)))
        ret = -ENOMEM;
    if (ret) {
        ctx_unlock();
        return ret;
    }
    /* One path per port: a later call replaces an earlier one, as upstream's map does. */
    size_t i = 0;
    while (i < v->n_ports && v->ports[i].port != port)
        i++;
    if (i == v->n_ports) {
        struct vsock_port_config *p = realloc(v->ports, (v->n_ports + 1) * sizeof(*p));
        if (!p) {
            free(path);
            ctx_unlock();
            return -ENOMEM;
        }
        v->ports = p;
        v->n_ports++;
    } else {
        free(v->ports[i].path);
    }
    v->ports[i] = (struct vsock_port_config){.port = port, .path = path, .listen = listen};
    ctx_unlock();
    return 0;
}

int32_t krun_add_vsock_port(uint32_t ctx_id, uint32_t port, const char *c_filepath)
{
    return krun_add_vsock_port2(ctx_id, port, c_filepath, false);
}

int32_t krun_add_vsock(uint32_t ctx_id, uint32_t tsi_features)
{
    if (tsi_features & ~(uint32_t)VSOCK_TSI_ALL)
        return -EINVAL;
    CTX_OR_RETURN(cfg, ctx_id);
    int32_t ret = 0;
    /* The implicit device must be disabled first, and there is one device at most. */
    if (cfg->vsock.mode != VSOCK_DISABLED) {
        ret = -EEXIST;
    } else {
        cfg->vsock.mode = VSOCK_EXPLICIT;
        cfg->vsock.tsi_features = tsi_features;
    }
    ctx_unlock();
    return ret;
}

int32_t krun_disable_implicit_vsock(uint32_t ctx_id)
{
    CTX_OR_RETURN(cfg, ctx_id);
    if (cfg->vsock.mode == VSOCK_IMPLICIT)
        cfg->vsock.mode = VSOCK_DISABLED;
    ctx_unlock();
    return 0;
}
