/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Messages from the init to the user. PID 1 has no syslog: messages go to
 * fd 2 (the console) and, once the workload's stderr port is known, there
 * too, so that a host that redirected stderr sees why its workload failed.
 */
#ifndef KRUN_INIT_LOG_H
#define KRUN_INIT_LOG_H

void init_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Copy later messages to fd as well (-1: stop copying). */
void init_log_also_to(int fd);

#endif
