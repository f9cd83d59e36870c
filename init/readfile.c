/* SPDX-License-Identifier: Apache-2.0 */
#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int read_file(const char *path, size_t max, char **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    int r = 0;
    for (;;) {
        if (!b) {
            r = -ENOMEM;
            break;
        }
        if (n + 1 >= cap) {
            /* Grow by doubling, but never beyond max + 2: one byte more
             * than max tells "too big", one more holds the NUL. */
            size_t want = cap * 2 > max + 2 ? max + 2 : cap * 2;
            if (want <= n + 1) {
                r = -EFBIG;
                break;
            }
            char *nb = realloc(b, want);
            if (!nb) {
                r = -ENOMEM;
                break;
            }
            b = nb;
            cap = want;
        }
        ssize_t got = read(fd, b + n, cap - n - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            r = -errno;
            break;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > max) {
            r = -EFBIG;
            break;
        }
    }
    close(fd);
    if (r < 0) {
        free(b);
        return r;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}
