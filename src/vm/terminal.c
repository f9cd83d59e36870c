/* SPDX-License-Identifier: Apache-2.0 */
#include "vm/terminal.h"

#include <unistd.h>

void term_make_raw(struct terminals *terms, int fd)
{
    if (fd < 0 || !isatty(fd) || terms->n == TERM_MAX)
        return;
    for (unsigned i = 0; i < terms->n; i++)
        if (terms->t[i].fd == fd)
            return;
    struct termios tio;
    if (tcgetattr(fd, &tio) < 0)
        return;
    terms->t[terms->n].fd = fd;
    terms->t[terms->n].saved = tio;
    terms->n++;
    cfmakeraw(&tio);
    tcsetattr(fd, TCSANOW, &tio);
}

void term_restore_all(struct terminals *terms)
{
    while (terms->n) {
        terms->n--;
        tcsetattr(terms->t[terms->n].fd, TCSANOW, &terms->t[terms->n].saved);
    }
}
