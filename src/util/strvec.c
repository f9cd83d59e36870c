/* SPDX-License-Identifier: Apache-2.0 */
#include "util/strvec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int strvec_push(struct strvec *sv, const char *s)
{
    if (sv->n + 2 > sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 8;
        char **v = realloc(sv->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        sv->v = v;
        sv->cap = cap;
    }
    char *copy = strdup(s);
    if (!copy)
        return -ENOMEM;
    sv->v[sv->n++] = copy;
    sv->v[sv->n] = NULL;
    return 0;
}

int strvec_set(struct strvec *sv, const char *const *src, size_t max)
{
    struct strvec tmp = {0};
    size_t n = 0;
    while (src && src[n]) {
        if (++n > max)
            return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (strvec_push(&tmp, src[i]) < 0) {
            strvec_clear(&tmp);
            return -ENOMEM;
        }
    }
    strvec_clear(sv);
    *sv = tmp;
    return 0;
}

void strvec_clear(struct strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}
