/* SPDX-License-Identifier: Apache-2.0 */
/* Per-thread fs ids and umask; see fs_creds.h. */
#include "virtio/fs/fs_creds.h"

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

bool fs_creds_can_switch(void)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};
    if (syscall(SYS_capget, &hdr, data) < 0)
        return false;
    uint32_t need = (1u << CAP_SETUID) | (1u << CAP_SETGID);
    return (data[0].effective & need) == need;
}

/* The raw syscalls: they return the previous id and cannot fail visibly. */
static uid_t set_fsuid(uid_t uid)
{
    return (uid_t)syscall(SYS_setfsuid, uid);
}

static gid_t set_fsgid(gid_t gid)
{
    return (gid_t)syscall(SYS_setfsgid, gid);
}

int fs_creds_switch(uid_t uid, gid_t gid, struct fs_creds_saved *saved)
{
    saved->switched = false;
    /* An invalid id (-1) changes nothing and reports the current one. */
    saved->uid = set_fsuid((uid_t)-1);
    saved->gid = set_fsgid((gid_t)-1);
    if (saved->uid == uid && saved->gid == gid)
        return 0;
    set_fsgid(gid);
    set_fsuid(uid);
    saved->switched = true;
    if (set_fsuid((uid_t)-1) != uid || set_fsgid((gid_t)-1) != gid) {
        fs_creds_restore(saved);
        saved->switched = false;
        return -EPERM;
    }
    return 0;
}

void fs_creds_restore(const struct fs_creds_saved *saved)
{
    if (!saved->switched)
        return;
    set_fsuid(saved->uid);
    set_fsgid(saved->gid);
}

int fs_thread_init(void)
{
    if (unshare(CLONE_FS) < 0)
        return -errno;
    umask(0);
    return 0;
}
