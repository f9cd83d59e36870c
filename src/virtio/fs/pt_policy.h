/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the passthrough lets the guest do to host metadata that the host
 * itself acts on (docs/virtio-fs.md, "Extended attributes" and "Device
 * nodes"):
 *
 * - which extended attributes the guest may read, list, set and remove:
 *   not trusted.* (the host's overlayfs and other privileged users act on
 *   them), no security.* but security.capability (file capabilities, which
 *   containers need), and none of the server's own user.krun.*;
 * - how a device node the guest creates is kept on the host: as an empty
 *   regular file whose PT_DEVNODE_XATTR says what the guest sees.
 */
#ifndef KRUN_VIRTIO_FS_PT_POLICY_H
#define KRUN_VIRTIO_FS_PT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The server's own xattrs: hidden from the guest, never set by it. */
#define PT_XATTR_PRIVATE "user.krun."
#define PT_DEVNODE_XATTR "user.krun.dev"

/* Whether the guest may get, list, set or remove the xattr name. */
bool pt_xattr_allowed(const char *name);

/*
 * Drop the names the guest may not see from a listxattr() result (names
 * each ended by a NUL; bytes after the last NUL are dropped too). Returns
 * the length of what is left, at the start of list.
 */
size_t pt_xattr_filter(char *list, size_t len);

/*
 * A device node as the guest sees it. On the host its value is
 * "T PPPP MAJOR:MINOR": T is 'c' or 'b', PPPP the permission bits as four
 * octal digits, MAJOR (0-4095) and MINOR (0-1048575) in decimal without
 * leading zeros; nothing else, no NUL, no newline. E.g. "c 0666 1:3".
 */
struct pt_devnode {
    mode_t type; /* S_IFCHR or S_IFBLK */
    mode_t perm; /* 07777 bits */
    unsigned major, minor;
};

#define PT_DEVNODE_MAJOR_MAX 4095u
#define PT_DEVNODE_MINOR_MAX 1048575u
/* The longest value: "c 7777 4095:1048575". */
#define PT_DEVNODE_VALUE_MAX 19

/* The value for d (not NUL-terminated) in buf; returns its length, or -1 if d is not valid. */
int pt_devnode_format(const struct pt_devnode *d, char *buf, size_t size);

/* Parse a value read from the host, which may have been tampered with; false unless exact. */
bool pt_devnode_parse(const char *buf, size_t len, struct pt_devnode *d);

#endif
