/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Opaque ids for objects handed to the guest (node ids, file handles).
 *
 * An id is (generation << 32 | slot): the guest can only name objects that
 * are in the map right now, and a stale id stops working once its slot is
 * reused, because the slot's generation moved on. Ids are never 0 or 1 (1
 * is FUSE's root) and never have bit 63 set, which the virtual overlay
 * entries use for their own ids. Not thread-safe: callers hold their lock.
 */
#ifndef KRUN_VIRTIO_FS_IDMAP_H
#define KRUN_VIRTIO_FS_IDMAP_H

#include <stdbool.h>
#include <stdint.h>

struct idmap {
    void **ptr;    /* object per slot, NULL when free */
    uint32_t *gen; /* current generation per slot */
    uint32_t *next_free;
    uint32_t free_head; /* UINT32_MAX: none */
    uint32_t cap;       /* slots allocated */
    uint32_t limit;     /* most slots ever allocated */
    uint32_t count;     /* slots in use */
};

void idmap_init(struct idmap *m, uint32_t limit);
void idmap_free(struct idmap *m);

/* Store p (not NULL); returns its new id, or 0 when out of memory or full. */
uint64_t idmap_add(struct idmap *m, void *p);

/* Whether every slot up to the limit is in use (idmap_add fails for that reason). */
static inline bool idmap_full(const struct idmap *m)
{
    return m->count >= m->limit;
}

/* The object named by id, or NULL. */
void *idmap_get(const struct idmap *m, uint64_t id);

/* Remove id and return its object, or NULL if it was not in the map. */
void *idmap_remove(struct idmap *m, uint64_t id);

/* Iteration: the object in slot i (i < m->cap) or NULL. */
static inline void *idmap_slot(const struct idmap *m, uint32_t i)
{
    return m->ptr[i];
}

#endif
