/* SPDX-License-Identifier: Apache-2.0 */
#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libkrun.h"

/* Process-wide like upstream's logger: read on every message, set rarely. */
static struct {
    int fd;
    unsigned level;
    bool color;
} log_state = {.fd = 2, .level = LOG_ERROR, .color = false};

static const char *const level_names[] = {"", "error", "warn", "info", "debug", "trace"};
static const char *const level_colors[] = {"",         "\033[31m", "\033[33m",
                                           "\033[32m", "\033[36m", "\033[2m"};

int log_configure(int fd, unsigned level, unsigned style, bool use_env)
{
    if (fd == 0 || fd < KRUN_LOG_TARGET_DEFAULT || level > LOG_TRACE ||
        style > KRUN_LOG_STYLE_NEVER)
        return -EINVAL;
    if (fd == KRUN_LOG_TARGET_DEFAULT)
        fd = 2;
    if (use_env) {
        const char *env = getenv("KRUN_LOG_LEVEL");
        if (env && env[0] >= '0' && env[0] <= '5' && env[1] == '\0')
            level = (unsigned)(env[0] - '0');
    }
    log_state.fd = fd;
    log_state.level = level;
    log_state.color =
        style == KRUN_LOG_STYLE_ALWAYS || (style == KRUN_LOG_STYLE_AUTO && isatty(fd));
    return 0;
}

bool log_enabled(enum log_level level)
{
    return level != LOG_OFF && (unsigned)level <= log_state.level;
}

/*
 * errno survives a message, so that `log_error(...); return -errno;` returns
 * the error that was logged, not one of the log's own write.
 */
void log_msg(enum log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    int saved_errno = errno;
    char buf[1024];
    int n;
    if (log_state.color)
        n = snprintf(buf, sizeof(buf), "%slibkrun %s:\033[0m ", level_colors[level],
                     level_names[level]);
    else
        n = snprintf(buf, sizeof(buf), "libkrun %s: ", level_names[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(buf) - 2)
        len = sizeof(buf) - 2;
    buf[len++] = '\n';
    /* One write per message so that lines from threads do not interleave. */
    ssize_t r = write(log_state.fd, buf, len);
    (void)r;
    errno = saved_errno;
}
