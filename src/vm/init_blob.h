/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest init (init/, built as $(B)/gen/init.krun), embedded in the
 * library: the root virtio-fs serves these bytes as /init.krun and
 * krun_get_default_init returns them.
 */
#ifndef KRUN_VM_INIT_BLOB_H
#define KRUN_VM_INIT_BLOB_H

#include <stddef.h>
#include <stdint.h>

extern const uint8_t krun_init_blob_start[];
extern const uint8_t krun_init_blob_end[];

static inline size_t krun_init_blob_size(void)
{
    return (size_t)(krun_init_blob_end - krun_init_blob_start);
}

#endif
