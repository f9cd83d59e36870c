/* SPDX-License-Identifier: Apache-2.0 */
/* The guest's filesystems: the basic set every workload expects, the
 * switch to a block-device root, and the config's tmpfs mounts. */
#ifndef KRUN_INIT_MOUNTS_H
#define KRUN_INIT_MOUNTS_H

#include <stddef.h>

#include "config.h"

/* devtmpfs /dev, proc, sysfs, cgroup2, devpts, /dev/shm, /dev/fd links.
 * Already mounted is fine. Returns 0, or -1 if /dev, /proc or /sys could
 * not be mounted (the rest only warns). */
int mount_system(void);

/* Mount device on /newroot (fstype NULL or "auto": probe), make it the
 * root and mount the basic set again inside. Returns 0 or -1. */
int mount_block_root(const char *device, const char *fstype, const char *options);

/* Make / recursively shared, as upstream does. */
void mount_make_shared(void);

/* Mount each tmpfs whose destination is not a mount point yet. */
void mount_tmpfs_list(const struct tmpfs_mount *m, size_t n);

#endif
