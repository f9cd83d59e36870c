/* SPDX-License-Identifier: Apache-2.0 */
#include "vm/privileges.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

static int fail(const char *what, int err)
{
    log_error("dropping privileges: %s: %s", what, strerror(err));
    return -err;
}

int drop_privileges(bool set_gid, gid_t gid, bool set_uid, uid_t uid)
{
    if (!set_gid && !set_uid)
        return 0;
    /* Groups kept from the caller would keep its file access: clear them first,
       while we may. A caller without them (no privileges) has nothing to clear. */
    if (setgroups(0, NULL) < 0 && getgroups(0, NULL) != 0)
        return fail("cannot clear the supplementary groups", errno);
    if (getgroups(0, NULL) != 0)
        return fail("supplementary groups remain", EPERM);
    if (set_gid) {
        if (setgid(gid) < 0)
            return fail("setgid", errno);
        if (getgid() != gid || getegid() != gid)
            return fail("the group did not change", EPERM);
    }
    if (set_uid) {
        if (setuid(uid) < 0)
            return fail("setuid", errno);
        if (getuid() != uid || geteuid() != uid)
            return fail("the user did not change", EPERM);
        /* setuid from root to another user drops the saved id too: check it. */
        if (uid != 0 && setuid(0) == 0)
            return fail("root could be regained after setuid", EPERM);
    }
    return 0;
}
