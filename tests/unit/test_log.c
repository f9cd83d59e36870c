/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/util/log.c */
/* The log: levels, one line per message, and errno left as it was. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "libkrun.h"
#include "util/log.h"

static void test_levels_and_lines(void)
{
    int p[2];
    CHECK_EQ(pipe2(p, O_NONBLOCK), 0);
    CHECK_EQ(log_configure(p[1], LOG_WARN, KRUN_LOG_STYLE_NEVER, false), 0);
    log_info("not shown %d", 1);
    log_warn("shown %d", 2);
    log_error("also %s", "shown");
    char buf[256] = "";
    ssize_t n = read(p[0], buf, sizeof(buf) - 1);
    CHECK(n > 0);
    CHECK_STR(buf, "libkrun warn: shown 2\nlibkrun error: also shown\n");
    CHECK_EQ(log_configure(0, LOG_WARN, 0, false), -EINVAL);
    CHECK_EQ(log_configure(2, 6, 0, false), 0);       /* above trace is trace, as upstream */
    CHECK_EQ(log_configure(2, 1, 3, false), -EINVAL); /* no such style */
    close(p[0]);
    close(p[1]);
}

static void test_errno_kept(void)
{
    /* A target whose write fails: the log's own EBADF must not leak out. */
    int fd = open("/dev/null", O_RDONLY);
    CHECK(fd >= 0);
    CHECK_EQ(log_configure(fd, LOG_TRACE, KRUN_LOG_STYLE_NEVER, false), 0);
    errno = EACCES;
    log_error("cannot open %s: %s", "x", strerror(errno));
    CHECK_EQ(errno, EACCES);
    errno = ENOENT;
    log_debug("debug");
    CHECK_EQ(errno, ENOENT);
    close(fd);
}

int main(void)
{
    RUN(test_levels_and_lines);
    RUN(test_errno_kept);
    return TEST_EXIT();
}
