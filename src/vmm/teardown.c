/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/teardown.h"

#include <errno.h>
#include <stdlib.h>

int teardown_push(struct teardown_list *t, void (*fn)(void *arg), void *arg)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        struct teardown_entry *v = realloc(t->v, cap * sizeof(*v));
        if (!v) {
            fn(arg);
            return -ENOMEM;
        }
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = (struct teardown_entry){.fn = fn, .arg = arg};
    return 0;
}

void teardown_run(struct teardown_list *t)
{
    while (t->n > 0) {
        struct teardown_entry e = t->v[--t->n];
        e.fn(e.arg);
    }
    free(t->v);
    *t = (struct teardown_list){0};
}
