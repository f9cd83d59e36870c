/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Library log. Errors are printed by default (to stderr) so that a failing
 * krun_start_enter always says what went wrong; krun_set_log_level and
 * krun_init_log change the level and target.
 */
#ifndef KRUN_UTIL_LOG_H
#define KRUN_UTIL_LOG_H

#include <stdbool.h>

enum log_level {
    LOG_OFF = 0,
    LOG_ERROR = 1,
    LOG_WARN = 2,
    LOG_INFO = 3,
    LOG_DEBUG = 4,
    LOG_TRACE = 5,
};

/*
 * Configure the log; returns 0 or -EINVAL (a bad fd or style). A level
 * above trace is trace. With use_env, RUST_LOG (as upstream's logger reads
 * it), then KRUN_LOG_LEVEL (one digit), replace the level, and
 * RUST_LOG_STYLE the style.
 */
int log_configure(int fd, unsigned level, unsigned style, bool use_env);

/* The level a RUST_LOG value asks for, or -1 if it names none. */
int log_level_from_rust_log(const char *spec);
bool log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
