/* SPDX-License-Identifier: Apache-2.0 */
/* The address of a unix socket at path, refused when the path does not fit. */
#ifndef KRUN_UTIL_UNIX_ADDR_H
#define KRUN_UTIL_UNIX_ADDR_H

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

/* Fill *a for path. Returns 0 or -ENAMETOOLONG. */
static inline int unix_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a->sun_path))
        return -ENAMETOOLONG;
    strcpy(a->sun_path, path);
    return 0;
}

#endif
