/* SPDX-License-Identifier: Apache-2.0 */
/* krun_* functions about virtio-fs shares, overlays and the built-in init. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/ctx.h"
#include "vm/init_blob.h"
#include "libkrun.h"

/* A NULL path is a virtual filesystem (overlay entries only) for every
 * krun_add_virtiofs*: upstream's virtiofs and virtiofs2 call virtiofs3. */
static int32_t add_virtiofs(uint32_t ctx_id, const char *tag, const char *path, uint64_t shm_size,
                            bool read_only)
{
    if (!tag || !*tag || strlen(tag) > FS_TAG_MAX || (path && !*path))
        return -EINVAL;
    CTX_OR_RETURN(cfg, ctx_id);
    int32_t ret = vm_config_add_share(cfg, tag, path, shm_size, read_only);
    ctx_unlock();
    return ret;
}

int32_t krun_set_root(uint32_t ctx_id, const char *root_path)
{
    /* Upstream gives the root a 512 MiB DAX window. Its root needs a path. */
    if (!root_path)
        return -EINVAL;
    return add_virtiofs(ctx_id, KRUN_FS_ROOT_TAG, root_path, 512ull << 20, false);
}

int32_t krun_add_virtiofs(uint32_t ctx_id, const char *c_tag, const char *c_path)
{
    return add_virtiofs(ctx_id, c_tag, c_path, 0, false);
}

int32_t krun_add_virtiofs2(uint32_t ctx_id, const char *c_tag, const char *c_path,
                           uint64_t shm_size)
{
    return add_virtiofs(ctx_id, c_tag, c_path, shm_size, false);
}

int32_t krun_add_virtiofs3(uint32_t ctx_id, const char *c_tag, const char *c_path,
                           uint64_t shm_size, bool read_only)
{
    return add_virtiofs(ctx_id, c_tag, c_path, shm_size, read_only);
}

int32_t krun_disable_implicit_init(uint32_t ctx_id)
{
    CTX_OR_RETURN(cfg, ctx_id);
    cfg->implicit_init = false;
    ctx_unlock();
    return 0;
}

int32_t krun_get_default_init(const uint8_t **data_out, size_t *len_out)
{
    if (!data_out || !len_out)
        return -EINVAL;
    *data_out = krun_init_blob_start;
    *len_out = (size_t)(krun_init_blob_end - krun_init_blob_start);
    return 0;
}

int32_t krun_set_mapped_volumes(uint32_t ctx_id, const char *const mapped_volumes[])
{
    (void)ctx_id;
    (void)mapped_volumes;
    return -EINVAL; /* no longer supported upstream either */
}

static int32_t add_overlay(uint32_t ctx_id, const char *fs_tag, struct fs_overlay ov)
{
    if (!fs_tag || !ov.path)
        return -EINVAL;
    CTX_OR_RETURN(cfg, ctx_id);
    struct fs_share *s = vm_config_find_share(cfg, fs_tag);
    int32_t ret = s ? vm_config_add_overlay(s, &ov) : -ENOENT;
    ctx_unlock();
    return ret;
}

int32_t krun_fs_add_overlay_file(uint32_t ctx_id, const char *fs_tag, const char *path,
                                 const uint8_t *data, size_t data_len, uint32_t mode, bool one_shot)
{
    if (!data && data_len)
        return -EINVAL;
    return add_overlay(ctx_id, fs_tag,
                       (struct fs_overlay){.kind = FS_OVERLAY_FILE,
                                           .path = (char *)path,
                                           .data = data,
                                           .len = data_len,
                                           .mode = mode,
                                           .one_shot = one_shot});
}

int32_t krun_fs_add_overlay_dir(uint32_t ctx_id, const char *fs_tag, const char *path,
                                uint32_t mode)
{
    return add_overlay(
        ctx_id, fs_tag,
        (struct fs_overlay){.kind = FS_OVERLAY_DIR, .path = (char *)path, .mode = mode});
}
