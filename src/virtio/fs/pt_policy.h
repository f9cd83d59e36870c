/*
 * What the passthrough lets the guest do to host metadata that the host
 * itself acts on (docs/virtio-fs.md, "Extended attributes"): which
 * extended attributes the guest may read, list, set and remove: not
 * trusted.* (the host's overlayfs and other privileged users act on them),
 * no security.* but security.capability (file capabilities, which
 * containers need), and none of the server's own user.krun.*.
 */
#ifndef KRUN_VIRTIO_FS_PT_POLICY_H
#define KRUN_VIRTIO_FS_PT_POLICY_H

#include <stdbool.h>
#include <stddef.h>

/* The server's own xattrs: hidden from the guest, never set by it. */
#define PT_XATTR_PRIVATE "user.krun."

/* Whether the guest may get, list, set or remove the xattr name. */
bool pt_xattr_allowed(const char *name);

/*
 * Drop the names the guest may not see from a listxattr() result (names
 * each ended by a NUL; bytes after the last NUL are dropped too). Returns
 * the length of what is left, at the start of list.
 */
size_t pt_xattr_filter(char *list, size_t len);

#endif
