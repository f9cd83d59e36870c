/* SPDX-License-Identifier: Apache-2.0 */
#include "env.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t name_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq ? (size_t)(eq - entry) : strlen(entry);
}

static size_t hash_name(const char *name, size_t len)
{
    /* FNV-1a: names are short; any decent spread will do. */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)name[i];
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

/* Slot that holds name, or the empty slot where it would go. */
static size_t *find_slot(const struct env *e, const char *name, size_t len)
{
    size_t mask = e->nslots - 1;
    for (size_t i = hash_name(name, len) & mask;; i = (i + 1) & mask) {
        size_t *slot = &e->slots[i];
        if (*slot == 0)
            return slot;
        const char *have = e->vars.v[*slot - 1];
        if (strncmp(have, name, len) == 0 && have[len] == '=')
            return slot;
    }
}

static int grow_index(struct env *e)
{
    /* Keep the table at most half full so probes stay short. */
    if (e->nslots && (e->vars.n + 1) * 2 <= e->nslots)
        return 0;
    size_t nslots = e->nslots ? e->nslots * 2 : 64;
    if (nslots < e->nslots || nslots > SIZE_MAX / sizeof(size_t))
        return -ENOMEM;
    size_t *slots = calloc(nslots, sizeof(size_t));
    if (!slots)
        return -ENOMEM;
    free(e->slots);
    e->slots = slots;
    e->nslots = nslots;
    for (size_t i = 0; i < e->vars.n; i++) {
        const char *entry = e->vars.v[i];
        *find_slot(e, entry, name_len(entry)) = i + 1;
    }
    return 0;
}

static int store(struct env *e, const char *name, size_t nlen, const char *value,
                 enum env_mode mode)
{
    if (nlen == 0 || memchr(name, '=', nlen))
        return -EINVAL;
    if (grow_index(e) < 0)
        return -ENOMEM;
    size_t *slot = find_slot(e, name, nlen);
    if (*slot && mode == ENV_KEEP)
        return 0;
    size_t vlen = strlen(value);
    if (nlen > SIZE_MAX - vlen - 2)
        return -ENOMEM;
    char *s = malloc(nlen + vlen + 2);
    if (!s)
        return -ENOMEM;
    memcpy(s, name, nlen);
    s[nlen] = '=';
    memcpy(s + nlen + 1, value, vlen + 1);
    if (*slot) {
        free(e->vars.v[*slot - 1]);
        e->vars.v[*slot - 1] = s;
        return 1;
    }
    if (strv_push(&e->vars, s) < 0) {
        free(s);
        return -ENOMEM;
    }
    *slot = e->vars.n;
    return 1;
}

int env_put(struct env *e, const char *entry, enum env_mode mode)
{
    const char *eq = strchr(entry, '=');
    if (!eq)
        return -EINVAL;
    return store(e, entry, (size_t)(eq - entry), eq + 1, mode);
}

int env_set(struct env *e, const char *name, const char *value, enum env_mode mode)
{
    return store(e, name, strlen(name), value, mode);
}

const char *env_get(const struct env *e, const char *name)
{
    if (!e->nslots)
        return NULL;
    size_t len = strlen(name);
    size_t *slot = find_slot(e, name, len);
    return *slot ? e->vars.v[*slot - 1] + len + 1 : NULL;
}

int env_entry_is(const char *entry, const char *name)
{
    size_t len = strlen(name);
    return strncmp(entry, name, len) == 0 && entry[len] == '=';
}

void env_free(struct env *e)
{
    strv_free_all(&e->vars);
    free(e->slots);
    e->slots = NULL;
    e->nslots = 0;
}
