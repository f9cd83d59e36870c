/* SPDX-License-Identifier: Apache-2.0 */
/* krun_* functions about block devices. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/ctx.h"
#include "libkrun.h"

/* A block id used twice gives two disks, as upstream (the id names the disk
 * in messages; the guest tells disks apart by their order and serial). */
static int32_t add_disk(struct vm_config *cfg, const char *block_id, const char *path,
                        uint32_t format, bool read_only, bool direct_io, uint32_t sync_mode)
{
    struct disk_config *d = realloc(cfg->disks, (cfg->n_disks + 1) * sizeof(*d));
    if (!d)
        return -ENOMEM;
    cfg->disks = d;
    d = &cfg->disks[cfg->n_disks];
    *d = (struct disk_config){.block_id = strdup(block_id),
                              .path = strdup(path),
                              .format = format,
                              .read_only = read_only,
                              .direct_io = direct_io,
                              .sync_mode = sync_mode};
    if (!d->block_id || !d->path) {
        free(d->block_id);
        free(d->path);
        return -ENOMEM;
    }
    cfg->n_disks++;
    return 0;
}

int32_t krun_add_disk3(uint32_t ctx_id, const char *block_id, const char *disk_path,
                       uint32_t disk_format, bool read_only, bool direct_io, uint32_t sync_mode)
{
    if (!block_id || !*block_id || !disk_path || !*disk_path || sync_mode > KRUN_SYNC_FULL)
        return -EINVAL;
    if (disk_format != KRUN_DISK_FORMAT_RAW && disk_format != KRUN_DISK_FORMAT_QCOW2 &&
        disk_format != KRUN_DISK_FORMAT_VMDK)
        return -EINVAL;
    CTX_OR_RETURN(cfg, ctx_id);
    int32_t ret;
    if (cfg->legacy_disk_api) {
        /* A context uses either krun_add_disk* or the deprecated setters. */
        ret = -EINVAL;
    } else {
        ret = add_disk(cfg, block_id, disk_path, disk_format, read_only, direct_io, sync_mode);
    }
    ctx_unlock();
    return ret;
}

int32_t krun_add_disk2(uint32_t ctx_id, const char *block_id, const char *disk_path,
                       uint32_t disk_format, bool read_only)
{
    return krun_add_disk3(ctx_id, block_id, disk_path, disk_format, read_only, false,
                          KRUN_SYNC_FULL);
}

int32_t krun_add_disk(uint32_t ctx_id, const char *block_id, const char *disk_path, bool read_only)
{
    return krun_add_disk2(ctx_id, block_id, disk_path, KRUN_DISK_FORMAT_RAW, read_only);
}

/* The deprecated setters name disks "root" and "data"; a second call replaces the path. */
static int32_t set_legacy_disk(uint32_t ctx_id, const char *block_id, const char *disk_path)
{
    if (!disk_path || !*disk_path)
        return -EINVAL;
    CTX_OR_RETURN(cfg, ctx_id);
    int32_t ret = 0;
    if (cfg->n_disks && !cfg->legacy_disk_api) {
        /* Upstream ignores the deprecated setters once krun_add_disk* was used. */
        ctx_unlock();
        return 0;
    }
    struct disk_config *existing = NULL;
    for (size_t i = 0; i < cfg->n_disks; i++)
        if (strcmp(cfg->disks[i].block_id, block_id) == 0)
            existing = &cfg->disks[i];
    if (existing) {
        char *p = strdup(disk_path);
        if (p) {
            free(existing->path);
            existing->path = p;
        } else {
            ret = -ENOMEM;
        }
    } else {
        ret =
            add_disk(cfg, block_id, disk_path, KRUN_DISK_FORMAT_RAW, false, false, KRUN_SYNC_FULL);
    }
    if (ret == 0)
        cfg->legacy_disk_api = true;
    ctx_unlock();
    return ret;
}

int32_t krun_set_root_disk(uint32_t ctx_id, const char *disk_path)
{
    return set_legacy_disk(ctx_id, "root", disk_path);
}

int32_t krun_set_data_disk(uint32_t ctx_id, const char *disk_path)
{
    return set_legacy_disk(ctx_id, "data", disk_path);
}

int32_t krun_set_root_disk_remount(uint32_t ctx_id, const char *device, const char *fstype,
                                   const char *options)
{
    if (!device || !*device)
        return -EINVAL;
    CTX_OR_RETURN(cfg, ctx_id);
    int32_t ret = 0;
    if (cfg->n_disks == 0)
        ret = -EINVAL; /* needs a disk to boot from */
    else if (vm_config_find_share(cfg, KRUN_FS_ROOT_TAG))
        ret = -EINVAL; /* a root filesystem is already configured (upstream's code) */
    /* As upstream: the root becomes a virtual filesystem that serves the
     * init and the mount points it needs before switching to the disk. */
    if (ret == 0)
        ret = vm_config_add_share(cfg, KRUN_FS_ROOT_TAG, NULL, 0, false);
    static const char *const dirs[] = {"dev", "proc", "sys", "newroot"};
    for (size_t i = 0; ret == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        struct fs_overlay ov = {.kind = FS_OVERLAY_DIR, .path = (char *)dirs[i], .mode = 040755};
        ret = vm_config_add_overlay(vm_config_find_share(cfg, KRUN_FS_ROOT_TAG), &ov);
    }
    if (ret == 0) {
        /* "auto" asks the init to probe, as no fstype does. */
        if (fstype && strcmp(fstype, "auto") == 0)
            fstype = NULL;
        char *d = strdup(device);
        char *t = fstype && *fstype ? strdup(fstype) : NULL;
        char *o = options && *options ? strdup(options) : NULL;
        if (!d || (fstype && *fstype && !t) || (options && *options && !o)) {
            free(d);
            free(t);
            free(o);
            ret = -ENOMEM;
        } else {
            free(cfg->root_disk_device);
            free(cfg->root_disk_fstype);
            free(cfg->root_disk_options);
            cfg->root_disk_device = d;
            cfg->root_disk_fstype = t;
            cfg->root_disk_options = o;
        }
    }
    ctx_unlock();
    return ret;
}
