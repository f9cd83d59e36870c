/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-thread identity for host file operations.
 *
 * New files must belong to the guest user that created them. Linux keeps
 * the filesystem uid/gid per thread (setfsuid/setfsgid act on the calling
 * thread only, unlike the libc setresuid wrappers, which change every
 * thread of the process), so a worker switches them around a creating
 * operation and back. This needs CAP_SETUID and CAP_SETGID; without them
 * files are created as the VMM's user. Only the fs ids change: the thread
 * keeps its own uid for everything else, and switching back needs no
 * capability that the switch drops.
 */
#ifndef KRUN_VIRTIO_FS_FS_CREDS_H
#define KRUN_VIRTIO_FS_FS_CREDS_H

#include <stdbool.h>
#include <sys/types.h>

/* Whether this thread may switch its fs ids (CAP_SETUID and CAP_SETGID effective). */
bool fs_creds_can_switch(void);

struct fs_creds_saved {
    uid_t uid;
    gid_t gid;
    bool switched;
};

/*
 * Act as uid/gid for file creation until fs_creds_restore. Does nothing if
 * they are already the thread's fs ids. Returns 0, or -EPERM if the ids
 * cannot be used (e.g. not mapped in the VMM's user namespace).
 */
int fs_creds_switch(uid_t uid, gid_t gid, struct fs_creds_saved *saved);
void fs_creds_restore(const struct fs_creds_saved *saved);

/*
 * Prepare the calling thread to serve requests: give it a private umask of
 * 0 (the guest already applied its own umask to the modes it sends), by
 * unsharing the fs attributes (cwd, root, umask) from the other threads.
 * Returns 0 or -errno.
 */
int fs_thread_init(void);

#endif
