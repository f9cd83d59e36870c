/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Encoding of replies: struct stat to fuse_attr, entries with their cache
 * timeouts, and READDIR / READDIRPLUS records.
 */
#ifndef KRUN_VIRTIO_FS_FUSE_REPLY_H
#define KRUN_VIRTIO_FS_FUSE_REPLY_H

#include <linux/fuse.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "virtio/fs/fs_ops.h"

/* Entry and attribute cache timeout ("auto" cache policy). */
#define FUSE_TIMEOUT_SEC 5

void fuse_fill_attr(struct fuse_attr *a, const struct stat *st);
/* nodeid 0 gives an all-zero entry (no lookup counted, nothing cached). */
void fuse_fill_entry(struct fuse_entry_out *o, const struct fs_entry *e);

/* The device number encodings of FUSE (Linux's new_encode_dev). */
uint32_t fuse_encode_dev(dev_t dev);
dev_t fuse_decode_dev(uint32_t dev);

struct fs_dirbuf {
    uint8_t *buf;
    size_t size;
    size_t used;
    bool plus;
};

void fs_dirbuf_init(struct fs_dirbuf *b, void *buf, size_t size, bool plus);

#endif
