/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The workload's environment under construction: NAME=VALUE strings in
 * first-set order, one per name, with a hash index so that merging many
 * thousands of variables stays linear. Values may hold any byte but NUL.
 */
#ifndef KRUN_INIT_ENV_H
#define KRUN_INIT_ENV_H

#include <stddef.h>

#include "strv.h"

struct env {
    struct strv vars; /* owned copies; vars.v is a ready envp */
    size_t *slots;    /* open addressing: index into vars + 1, 0 = empty */
    size_t nslots;    /* a power of two, or 0 */
};

enum env_mode {
    ENV_OVERWRITE, /* replace an existing value (keeps its position) */
    ENV_KEEP,      /* only set the variable if it is not set yet */
};

/* Set from an entry "NAME=VALUE". Returns 1 if stored, 0 if an existing
 * value was kept, -EINVAL if the entry has no '=' or an empty name,
 * -ENOMEM. */
int env_put(struct env *e, const char *entry, enum env_mode mode);

/* Same with name and value apart. */
int env_set(struct env *e, const char *name, const char *value, enum env_mode mode);

/* The value of name, or NULL. */
const char *env_get(const struct env *e, const char *name);

/* True if entry "NAME=..." names the variable name. */
int env_entry_is(const char *entry, const char *name);

void env_free(struct env *e);

#endif
