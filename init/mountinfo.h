/* SPDX-License-Identifier: Apache-2.0 */
/* Whether a path is a mount point, from the text of /proc/self/mountinfo. */
#ifndef KRUN_INIT_MOUNTINFO_H
#define KRUN_INIT_MOUNTINFO_H

#include <stdbool.h>

/* True if some line's mount point (5th field, with the kernel's octal
 * escapes undone) equals path. Trailing slashes of path are ignored. */
bool mountinfo_has(const char *text, const char *path);

#endif
