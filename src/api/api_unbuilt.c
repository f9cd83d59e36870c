/* SPDX-License-Identifier: Apache-2.0 */
/*
 * krun_* functions of features that are not built: GPU, displays, input,
 * vhost-user. They answer as upstream's library does when it is built
 * without them (reference: its lib.rs): the GPU options are recorded and
 * accepted (callers such as crun, chroot_vm and muvm set them
 * unconditionally), everything else is -ENOTSUP, without looking at the
 * context. docs/api-status.md lists them.
 */
#include <errno.h>

#include "api/ctx.h"
#include "libkrun.h"

int32_t krun_set_gpu_options2(uint32_t ctx_id, uint32_t virgl_flags, uint64_t shm_size)
{
    CTX_OR_RETURN(cfg, ctx_id);
    cfg->gpu_virgl_flags = virgl_flags;
    cfg->gpu_shm_size = shm_size;
    ctx_unlock();
    return 0;
}

int32_t krun_set_gpu_options(uint32_t ctx_id, uint32_t virgl_flags)
{
    CTX_OR_RETURN(cfg, ctx_id);
    cfg->gpu_virgl_flags = virgl_flags;
    ctx_unlock();
    return 0;
}

int32_t krun_add_display(uint32_t ctx_id, uint32_t width, uint32_t height)
{
    return -ENOTSUP;
}

int32_t krun_display_set_edid(uint32_t ctx_id, uint32_t display_id, const uint8_t *edid_blob,
                              size_t blob_size)
{
    return -ENOTSUP;
}

int32_t krun_display_set_dpi(uint32_t ctx_id, uint32_t display_id, uint32_t dpi)
{
    return -ENOTSUP;
}

int32_t krun_display_set_physical_size(uint32_t ctx_id, uint32_t display_id, uint16_t width_mm,
                                       uint16_t height_mm)
{
    return -ENOTSUP;
}

int32_t krun_display_set_refresh_rate(uint32_t ctx_id, uint32_t display_id, uint32_t refresh_rate)
{
    return -ENOTSUP;
}

int32_t krun_set_display_backend(uint32_t ctx_id, const void *display_backend, size_t backend_size)
{
    return -ENOTSUP;
}

int krun_add_input_device(uint32_t ctx_id, const void *config_backend, size_t config_backend_size,
                          const void *event_provider_backend, size_t event_provider_backend_size)
{
    return -ENOTSUP;
}

int krun_add_input_device_fd(uint32_t ctx_id, int input_fd)
{
    return -ENOTSUP;
}

int32_t krun_add_vhost_user_device(uint32_t ctx_id, uint32_t device_type, const char *socket_path,
                                   const char *name, uint16_t num_queues,
                                   const uint16_t *queue_sizes)
{
    return -ENOTSUP;
}
