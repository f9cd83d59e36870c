/* SPDX-License-Identifier: Apache-2.0 */
/* Single-component name check; see fs_name.h. */
#include "virtio/fs/fs_name.h"

#include <errno.h>
#include <string.h>

int fs_name_check(const char *name, size_t len)
{
    if (len == 0 || (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return -EINVAL;
    if (memchr(name, '/', len) || memchr(name, '\0', len))
        return -EINVAL;
    if (len > FS_NAME_MAX)
        return -ENAMETOOLONG;
    return 0;
}
