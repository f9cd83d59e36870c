/* SPDX-License-Identifier: Apache-2.0 */
/* krun_setgid / krun_setuid: the VMM process gives up its privileges. */
#ifndef KRUN_VM_PRIVILEGES_H
#define KRUN_VM_PRIVILEGES_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * Clear the supplementary groups, then set the group, then the user, as
 * asked (nothing is asked: nothing happens). Each step is checked after
 * it is made: a drop that did not take, or a root that could be regained,
 * fails with -EPERM. Returns 0 or -errno, logged; on failure the VM must
 * not run.
 */
int drop_privileges(bool set_gid, gid_t gid, bool set_uid, uid_t uid);

#endif
