/* SPDX-License-Identifier: Apache-2.0 */
/* The console as the init's and the workload's terminal. */
#ifndef KRUN_INIT_CONSOLE_H
#define KRUN_INIT_CONSOLE_H

/* Open fds 0-2 on the console if the kernel could not (a root without
 * /dev/console), start a session and make the console its controlling
 * terminal, so that Ctrl-C reaches the foreground workload. Returns a
 * close-on-exec fd of the terminal, or -1 if the console is no tty. */
int console_setup(void);

#endif
