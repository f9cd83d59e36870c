/* SPDX-License-Identifier: Apache-2.0 */
#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* A level name of RUST_LOG (case does not matter), or -1. */
static int level_by_name(const char *s, size_t n)
{
    static const char *const names[] = {"off", "error", "warn", "info", "debug", "trace"};
    for (int i = 0; i <= LOG_TRACE; i++)
        if (strlen(names[i]) == n && strncasecmp(s, names[i], n) == 0)
            return i;
    return -1;
}

int log_level_from_rust_log(const char *spec)
{
    /* Directives "LEVEL", "MODULE" (= trace) or "MODULE=LEVEL", comma
     * separated, with an optional "/REGEX" after them all. libkrun-c has
     * no modules: the most verbose level any directive names applies to
     * the whole library. A directive that does not parse is skipped, as
     * upstream's env_logger skips it. */
    int level = -1;
    size_t end = strcspn(spec, "/");
    for (size_t i = 0; i < end;) {
        size_t n = strcspn(spec + i, ",");
        if (i + n > end)
            n = end - i;
        const char *d = spec + i;
        const char *eq = memchr(d, '=', n);
        int l;
        if (eq)
            l = level_by_name(eq + 1, n - (size_t)(eq + 1 - d));
        else if ((l = level_by_name(d, n)) < 0 && n > 0)
            l = LOG_TRACE; /* a bare module name logs everything from it */
        if (l > level)
            level = l;
        i += n + 1;
    }
    return level;
}

/* RUST_LOG_STYLE, as upstream's logger reads it; -1 when unset or unknown. */
static int style_from_env(void)
{
    const char *v = getenv("RUST_LOG_STYLE");
    if (!v)
        return -1;
    if (strcmp(v, "auto") == 0)
        return KRUN_LOG_STYLE_AUTO;
    if (strcmp(v, "always") == 0)
        return KRUN_LOG_STYLE_ALWAYS;
    if (strcmp(v, "never") == 0)
        return KRUN_LOG_STYLE_NEVER;
    return -1;
}

int log_configure(int fd, unsigned level, unsigned style, bool use_env)
{
    if (fd == 0 || fd < KRUN_LOG_TARGET_DEFAULT || style > KRUN_LOG_STYLE_NEVER)
        return -EINVAL;
    if (level > LOG_TRACE)
        level = LOG_TRACE; /* upstream: anything above 5 is trace */
    if (fd == KRUN_LOG_TARGET_DEFAULT)
        fd = 2;
    if (use_env) {
        const char *rust = getenv("RUST_LOG");
        int l = rust && *rust ? log_level_from_rust_log(rust) : -1;
        if (l >= 0)
            level = (unsigned)l;
        const char *env = getenv("KRUN_LOG_LEVEL");
        if (env && env[0] >= '0' && env[0] <= '5' && env[1] == '\0')
            level = (unsigned)(env[0] - '0');
        int st = style_from_env();
        if (st >= 0)
            style = (unsigned)st;
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
