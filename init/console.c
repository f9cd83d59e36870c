/* SPDX-License-Identifier: Apache-2.0 */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const char *const candidates[] = {"/dev/console", "/dev/hvc0", "/dev/null"};

static void ensure_open(int target)
{
    if (fcntl(target, F_GETFD) >= 0)
        return;
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        int fd = open(candidates[i], O_RDWR | O_NOCTTY);
        if (fd < 0)
            continue;
        if (fd != target) {
            dup2(fd, target);
            close(fd);
        }
        return;
    }
}

int console_setup(void)
{
    for (int fd = 0; fd <= 2; fd++)
        ensure_open(fd);
    setsid();
    if (!isatty(0) || ioctl(0, TIOCSCTTY, 1) < 0)
        return -1;
    return fcntl(0, F_DUPFD_CLOEXEC, 3);
}
