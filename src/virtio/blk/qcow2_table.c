/* SPDX-License-Identifier: Apache-2.0 */
/* qcow2 L1 and L2 tables: lookups, the L2 cache and its write-back (see qcow2.h). */
#include "virtio/blk/qcow2.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void qcow2_decode(const struct qcow2 *q, uint64_t e, struct qcow2_map *m)
{
    memset(m, 0, sizeof(*m));
    if (e & QCOW2_OFLAG_COMPRESSED) {
        /* Offset in the low x bits, then the count of extra 512-byte sectors. */
        unsigned x = 62 - (q->h.cluster_bits - 8);
        uint64_t sectors = ((e >> x) & ((1ull << (q->h.cluster_bits - 8)) - 1)) + 1;
        m->kind = QCOW2_COMPRESSED;
        m->host = e & ((1ull << x) - 1);
        m->first = m->host & ~511ull;
        m->span = sectors * 512;
        m->csize = m->span - (m->host & 511);
        return;
    }
    m->host = e & QCOW2_OFFSET_MASK;
    if (q->h.version >= 3 && (e & QCOW2_OFLAG_ZERO))
        m->kind = QCOW2_ZERO;
    else
        m->kind = m->host ? QCOW2_NORMAL : QCOW2_UNALLOCATED;
}

static int write_l2(struct qcow2 *q, struct qcow2_l2_slot *s)
{
    int ret = blk_file_write(q->fd, s->table, q->cluster_size, s->offset);
    if (ret < 0)
        q->broken = true;
    else
        s->dirty = false;
    return ret;
}

/* The slot holding the L2 table at offset, read in if needed. */
static int load_l2(struct qcow2 *q, uint64_t offset, bool fresh, struct qcow2_l2_slot **out)
{
    struct qcow2_l2_slot *victim = &q->l2c[0];
    for (unsigned i = 0; i < QCOW2_L2_CACHE; i++) {
        struct qcow2_l2_slot *s = &q->l2c[i];
        if (s->offset == offset && s->table) {
            if (fresh)
                memset(s->table, 0, q->cluster_size);
            s->used = ++q->tick;
            *out = s;
            return 0;
        }
        if (s->used < victim->used)
            victim = s;
    }
    if (victim->dirty) {
        int ret = qcow2_barrier(q);
        if (ret == 0)
            ret = write_l2(q, victim);
        if (ret < 0)
            return ret;
    }
    victim->offset = 0;
    if (!victim->table) {
        victim->table = malloc(q->cluster_size);
        if (!victim->table)
            return -ENOMEM;
    }
    int ret = 0;
    if (fresh)
        memset(victim->table, 0, q->cluster_size);
    else
        ret = blk_file_read(q->fd, victim->table, q->cluster_size, offset);
    if (ret < 0)
        return ret;
    victim->offset = offset;
    victim->used = ++q->tick;
    *out = victim;
    return 0;
}

/* A new, zeroed L2 table for L1 entry i, on disk before anything points to it. */
static int alloc_l2(struct qcow2 *q, uint64_t i, struct qcow2_l2_slot **out)
{
    uint64_t host;
    int ret = qcow2_alloc_cluster(q, &host);
    if (ret < 0)
        return ret;
    ret = load_l2(q, host, true, out);
    if (ret == 0)
        ret = write_l2(q, *out);
    if (ret < 0)
        return ret;
    q->l1[i] = host | QCOW2_OFLAG_COPIED;
    q->l1_dirty = (int64_t)i;
    return 0;
}

int qcow2_lookup(struct qcow2 *q, uint64_t gc, bool alloc_l2_table, struct qcow2_l2_slot **slot,
                 uint64_t *index, struct qcow2_map *m)
{
    uint64_t i = gc >> q->l2_bits;
    *slot = NULL;
    memset(m, 0, sizeof(*m));
    if (i >= q->h.l1_size)
        return qcow2_corrupt(q, "guest cluster beyond the L1 table", gc);
    uint64_t l2 = q->l1[i] & QCOW2_OFFSET_MASK;
    int ret;
    if (l2 == 0) {
        if (!alloc_l2_table)
            return 0; /* unallocated */
        /* A commit must have written the previous L1 change first. */
        if (q->l1_dirty >= 0 && (ret = qcow2_commit(q)) < 0)
            return ret;
        ret = alloc_l2(q, i, slot);
    } else {
        if (l2 % q->cluster_size != 0)
            return qcow2_corrupt(q, "unaligned L2 table offset", l2);
        ret = load_l2(q, l2, false, slot);
    }
    if (ret < 0)
        return ret;
    *index = gc & ((1ull << q->l2_bits) - 1);
    qcow2_decode(q, be64toh((*slot)->table[*index]), m);
    if (m->kind == QCOW2_NORMAL && m->host % q->cluster_size != 0)
        return qcow2_corrupt(q, "unaligned data cluster offset", m->host);
    if (m->kind == QCOW2_ZERO && m->host % q->cluster_size != 0)
        m->host = 0; /* an unusable preallocation: treat as a plain zero cluster */
    return 0;
}

int qcow2_commit(struct qcow2 *q)
{
    bool any = false;
    for (unsigned i = 0; i < QCOW2_L2_CACHE; i++)
        any |= q->l2c[i].dirty;
    int ret = 0;
    if (any) {
        /* Data and refcounts before the entries that point to them. */
        ret = qcow2_barrier(q);
        for (unsigned i = 0; ret == 0 && i < QCOW2_L2_CACHE; i++)
            if (q->l2c[i].dirty)
                ret = write_l2(q, &q->l2c[i]);
    }
    if (ret == 0 && q->l1_dirty >= 0) {
        /* The new L2 table was written zeroed when it was allocated. */
        ret = any ? 0 : qcow2_barrier(q);
        uint64_t e = htobe64(q->l1[q->l1_dirty]);
        if (ret == 0)
            ret = blk_file_write(q->fd, &e, 8, q->h.l1_table_offset + (uint64_t)q->l1_dirty * 8);
        if (ret < 0)
            q->broken = true;
        else
            q->l1_dirty = -1;
    }
    if (ret == 0 && q->n_free > 0)
        ret = qcow2_free_queued(q);
    return ret;
}

void qcow2_tables_free(struct qcow2 *q)
{
    for (unsigned i = 0; i < QCOW2_L2_CACHE; i++) {
        free(q->l2c[i].table);
        q->l2c[i].table = NULL;
    }
    free(q->l1);
    q->l1 = NULL;
}
