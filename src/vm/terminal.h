/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host terminals the VM takes over: put in raw mode while the VM runs and
 * restored on every exit path (normal end, error, or the returning variant).
 */
#ifndef KRUN_VM_TERMINAL_H
#define KRUN_VM_TERMINAL_H

#include <stdbool.h>
#include <termios.h>

#define TERM_MAX 8

struct terminals {
    struct {
        int fd;
        struct termios saved;
    } t[TERM_MAX];
    unsigned n;
};

/* Put fd in raw mode if it is a TTY not yet taken; remembers how to restore it. */
void term_make_raw(struct terminals *terms, int fd);
void term_restore_all(struct terminals *terms);

#endif
