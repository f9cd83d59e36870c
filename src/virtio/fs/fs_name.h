/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a name sent by the guest may be: exactly one path component, so
 * that resolving it relative to a directory of the share can only reach an
 * entry of that directory.
 */
#ifndef KRUN_VIRTIO_FS_FS_NAME_H
#define KRUN_VIRTIO_FS_FS_NAME_H

#include <stddef.h>

/* Longest name of one component (NAME_MAX). */
#define FS_NAME_MAX 255

/*
 * Check a component of length len: 0 if valid, -EINVAL for "", ".", ".."
 * or a name containing '/' or NUL, -ENAMETOOLONG if longer than FS_NAME_MAX.
 */
int fs_name_check(const char *name, size_t len);

#endif
