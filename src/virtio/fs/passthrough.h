/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A host directory served to the guest, confined to that directory.
 *
 * Confinement: every host inode is reached from the share root one
 * component at a time (openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS, O_NOFOLLOW, or plain O_NOFOLLOW openat on kernels
 * without openat2); symlinks are returned to the guest as symlinks and
 * never followed by the host; only regular files are ever opened for I/O,
 * so FIFOs and devices are never opened, and a device node the guest makes
 * is an empty regular file with a record (pt_policy.h); the roots of pseudo filesystems
 * mounted inside the share (proc, sys, cgroup, debugfs...) are shown as
 * empty directories. See docs/virtio-fs.md.
 */
#ifndef KRUN_VIRTIO_FS_PASSTHROUGH_H
#define KRUN_VIRTIO_FS_PASSTHROUGH_H

#include <stdbool.h>
#include <stddef.h>

#include "virtio/fs/fs_ops.h"

struct passthrough;

extern const struct fs_ops passthrough_ops;

/*
 * Open the host directory path. read_only refuses every change with EROFS.
 * Returns 0, or -errno with a message naming the path in err.
 */
int passthrough_new(const char *path, bool read_only, struct passthrough **out, char *err,
                    size_t errlen);

#endif
