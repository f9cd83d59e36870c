/* SPDX-License-Identifier: Apache-2.0 */
/* A growable NULL-terminated vector of owned strings. */
#ifndef KRUN_UTIL_STRVEC_H
#define KRUN_UTIL_STRVEC_H

#include <stddef.h>

struct strvec {
    char **v; /* NULL-terminated when n > 0 or after strvec_push */
    size_t n;
    size_t cap;
};

/* Append a copy of s. Returns 0 or -ENOMEM. */
int strvec_push(struct strvec *sv, const char *s);

/* Replace the contents with copies of a NULL-terminated array of at most
 * max entries. Returns 0, -EINVAL (too many) or -ENOMEM; on error sv is
 * unchanged. */
int strvec_set(struct strvec *sv, const char *const *src, size_t max);

void strvec_clear(struct strvec *sv);

#endif
