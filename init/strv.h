/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A growable, always NULL-terminated array of string pointers. It does not
 * own the strings unless the caller says so (strv_free_all).
 */
#ifndef KRUN_INIT_STRV_H
#define KRUN_INIT_STRV_H

#include <stddef.h>

struct strv {
    char **v; /* NULL until the first push, then NULL-terminated */
    size_t n;
    size_t cap;
};

/* Append s (not copied). Returns 0 or -ENOMEM. */
int strv_push(struct strv *sv, char *s);

/* Free the array only. */
void strv_release(struct strv *sv);

/* Free every string and the array. */
void strv_free_all(struct strv *sv);

#endif
