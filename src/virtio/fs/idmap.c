/* SPDX-License-Identifier: Apache-2.0 */
/* Generation-checked id map; see idmap.h. */
#include "virtio/fs/idmap.h"

#include <stdlib.h>
#include <string.h>

#define GEN_MAX 0x7fffffffu

void idmap_init(struct idmap *m, uint32_t limit)
{
    memset(m, 0, sizeof(*m));
    m->free_head = UINT32_MAX;
    m->limit = limit;
}

void idmap_free(struct idmap *m)
{
    free(m->ptr);
    free(m->gen);
    free(m->next_free);
    idmap_init(m, m->limit);
}

static int grow(struct idmap *m)
{
    if (m->cap >= m->limit)
        return -1;
    uint32_t ncap = m->cap ? m->cap * 2 : 64;
    if (ncap > m->limit || ncap < m->cap)
        ncap = m->limit;
    void **p = realloc(m->ptr, ncap * sizeof(*p));
    if (!p)
        return -1;
    m->ptr = p;
    uint32_t *g = realloc(m->gen, ncap * sizeof(*g));
    if (!g)
        return -1;
    m->gen = g;
    uint32_t *nf = realloc(m->next_free, ncap * sizeof(*nf));
    if (!nf)
        return -1;
    m->next_free = nf;
    /* New slots go on the free list, lowest first. */
    for (uint32_t i = ncap; i-- > m->cap;) {
        m->ptr[i] = NULL;
        m->gen[i] = 1;
        m->next_free[i] = m->free_head;
        m->free_head = i;
    }
    m->cap = ncap;
    return 0;
}

uint64_t idmap_add(struct idmap *m, void *p)
{
    if (m->free_head == UINT32_MAX && grow(m) < 0)
        return 0;
    uint32_t i = m->free_head;
    m->free_head = m->next_free[i];
    m->ptr[i] = p;
    m->count++;
    return (uint64_t)m->gen[i] << 32 | i;
}

static int slot_of(const struct idmap *m, uint64_t id, uint32_t *slot)
{
    uint32_t i = (uint32_t)id;
    uint64_t gen = id >> 32;
    if (i >= m->cap || gen != m->gen[i] || !m->ptr[i])
        return -1;
    *slot = i;
    return 0;
}

void *idmap_get(const struct idmap *m, uint64_t id)
{
    uint32_t i;
    return slot_of(m, id, &i) == 0 ? m->ptr[i] : NULL;
}

void *idmap_remove(struct idmap *m, uint64_t id)
{
    uint32_t i;
    if (slot_of(m, id, &i) < 0)
        return NULL;
    void *p = m->ptr[i];
    m->ptr[i] = NULL;
    /* A new generation, so that the old id names nothing any more. */
    m->gen[i] = m->gen[i] >= GEN_MAX ? 1 : m->gen[i] + 1;
    m->next_free[i] = m->free_head;
    m->free_head = i;
    m->count--;
    return p;
}
