/* SPDX-License-Identifier: Apache-2.0 */
/* What a virtio-blk disk is: an image file and how to use it. */
#ifndef KRUN_VIRTIO_BLK_CONFIG_H
#define KRUN_VIRTIO_BLK_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

struct disk_config {
    char *block_id;
    char *path;
    uint32_t format; /* KRUN_DISK_FORMAT_* */
    bool read_only;
    bool direct_io;
    uint32_t sync_mode; /* KRUN_SYNC_* */
};

#endif
