/* SPDX-License-Identifier: Apache-2.0 */
/*
 * krun_* functions whose feature is not built yet: they return -ENOSYS, and
 * docs/api-status.md lists them as such.
 */
#include <errno.h>

#include "libkrun.h"

int32_t krun_set_gpu_options(uint32_t ctx_id, uint32_t virgl_flags)
{
    return -ENOSYS;
}

int32_t krun_set_gpu_options2(uint32_t ctx_id, uint32_t virgl_flags, uint64_t shm_size)
{
    return -ENOSYS;
}

int32_t krun_add_display(uint32_t ctx_id, uint32_t width, uint32_t height)
{
    return -ENOSYS;
}

int32_t krun_display_set_edid(uint32_t ctx_id, uint32_t display_id, const uint8_t *edid_blob,
                              size_t blob_size)
{
    return -ENOSYS;
}

int32_t krun_display_set_dpi(uint32_t ctx_id, uint32_t display_id, uint32_t dpi)
{
    return -ENOSYS;
}

int32_t krun_display_set_physical_size(uint32_t ctx_id, uint32_t display_id, uint16_t width_mm,
                                       uint16_t height_mm)
{
    return -ENOSYS;
}

int32_t krun_display_set_refresh_rate(uint32_t ctx_id, uint32_t display_id, uint32_t refresh_rate)
{
    return -ENOSYS;
}

int32_t krun_set_display_backend(uint32_t ctx_id, const void *display_backend, size_t backend_size)
{
    return -ENOSYS;
}

int krun_add_input_device(uint32_t ctx_id, const void *config_backend, size_t config_backend_size,
                          const void *events_backend, size_t events_backend_size)
{
    return -ENOSYS;
}

int krun_add_input_device_fd(uint32_t ctx_id, int input_fd)
{
    return -ENOSYS;
}

int32_t krun_add_vhost_user_device(uint32_t ctx_id, uint32_t device_type, const char *socket_path,
                                   const char *name, uint16_t num_queues,
                                   const uint16_t *queue_sizes)
{
    return -ENOSYS;
}
