/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a virtio-fs share is: a host directory (or none) under a tag, and
 * virtual entries laid over it. The API records these; the device serves them.
 */
#ifndef KRUN_VIRTIO_FS_CONFIG_H
#define KRUN_VIRTIO_FS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The virtio-fs config space holds the tag in 36 bytes, not NUL-terminated. */
#define FS_TAG_MAX 36

enum fs_overlay_kind { FS_OVERLAY_FILE, FS_OVERLAY_DIR };

struct fs_overlay {
    enum fs_overlay_kind kind;
    char *path;          /* relative to the share root, '/'-separated */
    const uint8_t *data; /* caller memory, not copied (files only) */
    size_t len;
    uint32_t mode;
    bool one_shot;
};

struct fs_share {
    char *tag;
    char *path;        /* NULL: purely virtual filesystem */
    uint64_t shm_size; /* DAX window in bytes, 0 = none */
    bool read_only;
    bool inject_init; /* serve the built-in init as /init.krun */
    struct fs_overlay *overlays;
    size_t n_overlays;
};

#endif
