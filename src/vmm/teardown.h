/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A per-VM teardown list. Every part that the builder attaches registers
 * how to undo itself right after it is created; teardown_run() undoes them
 * last-in first-out, so a part is always torn down before whatever it was
 * built on (vCPUs before devices, devices before guest memory).
 */
#ifndef KRUN_VMM_TEARDOWN_H
#define KRUN_VMM_TEARDOWN_H

#include <stddef.h>

struct teardown_entry {
    void (*fn)(void *arg);
    void *arg;
};

struct teardown_list {
    struct teardown_entry *v;
    size_t n, cap;
};

/*
 * Register fn(arg) to run at teardown, before everything registered
 * earlier. If the list cannot grow, fn(arg) runs at once and -ENOMEM is
 * returned: the caller only has to propagate the error.
 */
int teardown_push(struct teardown_list *t, void (*fn)(void *arg), void *arg);

/* Run every entry, newest first, and empty the list (it may be reused). */
void teardown_run(struct teardown_list *t);

#endif
