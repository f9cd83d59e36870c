/* SPDX-License-Identifier: Apache-2.0 */
#include "strv.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int strv_push(struct strv *sv, char *s)
{
    /* Keep room for the terminating NULL. */
    if (sv->n + 1 >= sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 8;
        if (cap < sv->cap || cap > SIZE_MAX / sizeof(char *))
            return -ENOMEM;
        char **v = realloc(sv->v, cap * sizeof(char *));
        if (!v)
            return -ENOMEM;
        sv->v = v;
        sv->cap = cap;
    }
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
    return 0;
}

void strv_release(struct strv *sv)
{
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

void strv_free_all(struct strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    strv_release(sv);
}
