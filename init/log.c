/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int extra_fd = -1;

void init_log_also_to(int fd)
{
    extra_fd = fd;
}

static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

void init_log(const char *fmt, ...)
{
    /* One buffer, one write: lines from init and workload do not interleave. */
    char buf[1024];
    int saved = errno;
    int n = snprintf(buf, sizeof(buf), "init.krun: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(buf) - 2)
        len = sizeof(buf) - 2;
    buf[len++] = '\n';
    write_all(2, buf, len);
    if (extra_fd >= 0 && extra_fd != 2)
        write_all(extra_fd, buf, len);
    errno = saved;
}
