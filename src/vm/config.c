/* SPDX-License-Identifier: Apache-2.0 */
#include "vm/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libkrun.h"

void vm_config_init(struct vm_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->vcpus = 1;
    cfg->ram_mib = 128;
    cfg->implicit_init = true;
    cfg->implicit_console = true;
    cfg->vsock.mode = VSOCK_IMPLICIT;
    cfg->shutdown_efd = -1;
    /* 5a:94:ef:e4:0c:ee, upstream's default MAC for the legacy interface. */
    memcpy(cfg->legacy_mac, (uint8_t[6]){0x5a, 0x94, 0xef, 0xe4, 0x0c, 0xee}, 6);
}

static void free_share(struct fs_share *s)
{
    free(s->tag);
    free(s->path);
    for (size_t i = 0; i < s->n_overlays; i++)
        free(s->overlays[i].path);
    free(s->overlays);
}

void vm_config_free(struct vm_config *cfg)
{
    free(cfg->kernel_path);
    free(cfg->initramfs_path);
    free(cfg->kernel_cmdline);
    free(cfg->kernel_console);
    free(cfg->firmware_path);
    free(cfg->exec_path);
    strvec_clear(&cfg->argv);
    strvec_clear(&cfg->env);
    free(cfg->workdir);
    strvec_clear(&cfg->rlimits);
    strvec_clear(&cfg->oem_strings);
    for (size_t i = 0; i < cfg->n_shares; i++)
        free_share(&cfg->shares[i]);
    free(cfg->shares);
    for (size_t i = 0; i < cfg->n_disks; i++) {
        free(cfg->disks[i].block_id);
        free(cfg->disks[i].path);
    }
    free(cfg->disks);
    free(cfg->root_disk_device);
    free(cfg->root_disk_fstype);
    free(cfg->root_disk_options);
    free(cfg->console_output);
    for (size_t i = 0; i < cfg->n_consoles; i++) {
        for (size_t j = 0; j < cfg->consoles[i].n_ports; j++)
            free(cfg->consoles[i].ports[j].name);
        free(cfg->consoles[i].ports);
    }
    free(cfg->consoles);
    free(cfg->serials);
    for (size_t i = 0; i < cfg->n_nets; i++)
        free(cfg->nets[i].path);
    free(cfg->nets);
    free(cfg->legacy_net.path);
    vsock_config_free(&cfg->vsock);
    if (cfg->shutdown_efd >= 0)
        close(cfg->shutdown_efd);
    memset(cfg, 0, sizeof(*cfg));
    cfg->shutdown_efd = -1;
}

struct fs_share *vm_config_find_share(struct vm_config *cfg, const char *tag)
{
    for (size_t i = 0; i < cfg->n_shares; i++)
        if (strcmp(cfg->shares[i].tag, tag) == 0)
            return &cfg->shares[i];
    return NULL;
}

int vm_config_add_share(struct vm_config *cfg, const char *tag, const char *path, uint64_t shm_size,
                        bool read_only)
{
    struct fs_share *shares = realloc(cfg->shares, (cfg->n_shares + 1) * sizeof(*shares));
    if (!shares)
        return -ENOMEM;
    cfg->shares = shares;
    struct fs_share *s = &shares[cfg->n_shares];
    memset(s, 0, sizeof(*s));
    s->tag = strdup(tag);
    s->path = path ? strdup(path) : NULL;
    if (!s->tag || (path && !s->path)) {
        free(s->tag);
        free(s->path);
        return -ENOMEM;
    }
    s->shm_size = shm_size;
    s->read_only = read_only;
    /* As upstream, whether to inject the init is decided when the root is added. */
    s->inject_init = cfg->implicit_init && strcmp(tag, KRUN_FS_ROOT_TAG) == 0;
    cfg->n_shares++;
    return 0;
}

static const struct fs_overlay *find_overlay(const struct fs_share *s, const char *path, size_t len)
{
    for (size_t i = 0; i < s->n_overlays; i++)
        if (strlen(s->overlays[i].path) == len && memcmp(s->overlays[i].path, path, len) == 0)
            return &s->overlays[i];
    return NULL;
}

/*
 * Check that each parent is a virtual directory. Upstream's answers:
 * -ENOENT for a parent that is not there (an empty component names none),
 * -ENOTDIR for a parent that is a file, -EINVAL for an empty leaf. "." and
 * ".." are refused too (upstream would add entries the guest can never look
 * up). Returns 1 when the path is already there: upstream adds a second
 * entry that no lookup reaches, so the first one stays what the guest sees.
 */
static int check_overlay_path(const struct fs_share *s, const char *path)
{
    for (const char *p = path;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if ((n == 0 && !slash) || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return -EINVAL;
        if (!slash)
            break;
        const struct fs_overlay *parent = n ? find_overlay(s, path, (size_t)(slash - path)) : NULL;
        if (!parent)
            return -ENOENT;
        if (parent->kind != FS_OVERLAY_DIR)
            return -ENOTDIR;
        p = slash + 1;
    }
    return find_overlay(s, path, strlen(path)) ? 1 : 0;
}

int vm_config_add_overlay(struct fs_share *s, const struct fs_overlay *ov)
{
    /* Upstream takes "/etc" as "etc": the paths are inside the share anyway. */
    const char *path = ov->path[0] == '/' ? ov->path + 1 : ov->path;
    int ret = check_overlay_path(s, path);
    if (ret)
        return ret < 0 ? ret : 0;
    struct fs_overlay *v = realloc(s->overlays, (s->n_overlays + 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    s->overlays = v;
    v[s->n_overlays] = *ov;
    if (!(v[s->n_overlays].path = strdup(path)))
        return -ENOMEM;
    s->n_overlays++;
    return 0;
}
