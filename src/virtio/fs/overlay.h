/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Virtual entries on top of a filesystem, and the exit-status ioctl.
 *
 * The entries (krun_fs_add_overlay_file / _dir) are read-only files backed
 * by caller memory and empty directories, under the root or under other
 * virtual directories. They are found by LOOKUP only, not listed by
 * READDIR, and hide a host entry of the same name; a one-shot entry is
 * found by its first LOOKUP only (later LOOKUPs see the host again).
 * Opening one for writing fails with EACCES, any other change with EPERM.
 * Without a lower filesystem the root itself is virtual (a "null" share).
 *
 * FUSE_IOCTL with command KRUN_EXIT_CODE_IOCTL on any node reports the guest
 * workload's exit status (the ioctl argument) to a callback.
 */
#ifndef KRUN_VIRTIO_FS_OVERLAY_H
#define KRUN_VIRTIO_FS_OVERLAY_H

#include <stddef.h>

#include "virtio/fs/config.h"
#include "virtio/fs/fs_ops.h"
#include "abi/guest_abi.h"

/* _IO('v', 2): the guest init's "exit status" ioctl. */

struct overlay;

extern const struct fs_ops overlay_ops;

typedef void (*overlay_exit_fn)(void *opaque, int status);

/*
 * Put the entries on top of lower (lower_ops/lower may be NULL: a purely
 * virtual share). The lower filesystem is owned from now on, also when this
 * fails. Returns 0, or -errno with a message naming the bad entry in err.
 */
int overlay_new(const struct fs_ops *lower_ops, void *lower, const struct fs_overlay *entries,
                size_t n_entries, overlay_exit_fn exit_cb, void *cb_opaque, struct overlay **out,
                char *err, size_t errlen);

#endif
