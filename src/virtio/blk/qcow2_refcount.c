/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qcow2 refcounts: lookups, cluster allocation (a new refcount block
 * describes itself; a grown refcount table is placed at the end of the
 * file together with the blocks that describe it) and frees.
 */
#include "virtio/blk/qcow2.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rb_mask(const struct qcow2 *q)
{
    return (1ull << q->rb_bits) - 1;
}

static bool block_exists(const struct qcow2 *q, uint64_t bi)
{
    return bi < q->rt_entries && (q->rt[bi] & QCOW2_RT_OFFSET_MASK) != 0;
}

static int load_rb(struct qcow2 *q, uint64_t offset, bool fresh, uint8_t **out)
{
    struct qcow2_rb_slot *victim = &q->rbc[0];
    for (unsigned i = 0; i < QCOW2_RB_CACHE; i++) {
        struct qcow2_rb_slot *s = &q->rbc[i];
        if (s->offset == offset && s->block) {
            if (fresh)
                memset(s->block, 0, q->cluster_size);
            s->used = ++q->tick;
            *out = s->block;
            return 0;
        }
        if (s->used < victim->used)
            victim = s;
    }
    victim->offset = 0;
    if (!victim->block) {
        victim->block = malloc(q->cluster_size);
        if (!victim->block)
            return -ENOMEM;
    }
    int ret = 0;
    if (fresh)
        memset(victim->block, 0, q->cluster_size);
    else
        ret = blk_file_read(q->fd, victim->block, q->cluster_size, offset);
    if (ret < 0)
        return ret;
    victim->offset = offset;
    victim->used = ++q->tick;
    *out = victim->block;
    return 0;
}

/* Entry idx of a refcount block: sub-byte widths fill a byte from its low bits. */
static uint64_t rb_get(const struct qcow2 *q, const uint8_t *b, uint64_t idx)
{
    unsigned order = q->h.refcount_order, bits = 1u << order;
    if (order <= 3) {
        uint64_t bit = idx * bits;
        return (b[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
    }
    const uint8_t *p = b + idx * (bits / 8);
    uint64_t v = 0;
    for (unsigned i = 0; i < bits / 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Set entry idx; returns the offset in the block of the 8-byte word that holds it. */
static uint64_t rb_set(const struct qcow2 *q, uint8_t *b, uint64_t idx, uint64_t v)
{
    unsigned order = q->h.refcount_order, bits = 1u << order;
    uint64_t byte;
    if (order <= 3) {
        uint64_t bit = idx * bits;
        uint8_t mask = (uint8_t)(((1u << bits) - 1) << (bit % 8));
        byte = bit / 8;
        b[byte] = (uint8_t)((b[byte] & ~mask) | ((v << (bit % 8)) & mask));
    } else {
        byte = idx * (bits / 8);
        for (unsigned i = bits / 8; i-- > 0; v >>= 8)
            b[byte + i] = (uint8_t)v;
    }
    return byte & ~7ull;
}

static int block_of(struct qcow2 *q, uint64_t cluster, uint8_t **b, uint64_t *offset)
{
    uint64_t bi = cluster >> q->rb_bits;
    *b = NULL;
    if (!block_exists(q, bi))
        return 0;
    *offset = q->rt[bi] & QCOW2_RT_OFFSET_MASK;
    if (*offset % q->cluster_size != 0 || *offset >= QCOW2_MAX_HOST_OFFSET)
        return qcow2_corrupt(q, "bad refcount block offset", *offset);
    return load_rb(q, *offset, false, b);
}

int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *value)
{
    uint8_t *b;
    uint64_t offset;
    int ret = block_of(q, cluster, &b, &offset);
    if (ret < 0)
        return ret;
    *value = b ? rb_get(q, b, cluster & rb_mask(q)) : 0;
    return 0;
}

/* Write through: the entry's 8-byte word goes to disk now. */
static int refcount_set(struct qcow2 *q, uint64_t cluster, uint64_t value)
{
    uint8_t *b;
    uint64_t offset;
    int ret = block_of(q, cluster, &b, &offset);
    if (ret < 0)
        return ret;
    if (!b)
        return qcow2_corrupt(q, "no refcount block for cluster", cluster);
    uint64_t word = rb_set(q, b, cluster & rb_mask(q), value);
    ret = blk_file_write(q->fd, b + word, 8, offset + word);
    if (ret < 0)
        q->broken = true;
    return ret;
}

static int refcount_dec(struct qcow2 *q, uint64_t cluster)
{
    uint64_t v;
    int ret = qcow2_refcount_get(q, cluster, &v);
    if (ret < 0)
        return ret;
    if (v == 0) {
        qcow2_corrupt(q, "freeing a cluster whose refcount is 0", cluster);
        return 0; /* nothing to undo: at worst a leak */
    }
    ret = refcount_set(q, cluster, v - 1);
    if (ret == 0 && v == 1 && cluster < q->free_hint)
        q->free_hint = cluster;
    return ret;
}

static int write_header_rt(struct qcow2 *q, uint64_t offset, uint32_t clusters)
{
    uint8_t buf[12];
    uint64_t o = htobe64(offset);
    uint32_t c = htobe32(clusters);
    memcpy(buf, &o, 8);
    memcpy(buf + 8, &c, 4);
    return blk_file_write(q->fd, buf, sizeof(buf), 48);
}

static uint64_t round_up(uint64_t v, uint64_t to)
{
    return (v + to - 1) / to * to;
}

/*
 * A refcount table of at least min_entries at the end of the file: the new
 * blocks it needs to describe its own clusters come first, then the table;
 * the header switches to it, and the old table's clusters are freed.
 */
static int grow_table(struct qcow2 *q, uint64_t min_entries)
{
    const uint64_t cs = q->cluster_size, epc = cs / 8, s = q->file_clusters;
    /* Double it (fewer moves), within the limit if what is needed fits. */
    uint64_t entries = q->rt_entries * 2 > min_entries ? q->rt_entries * 2 : min_entries;
    if (entries > QCOW2_MAX_RT_BYTES / 8 && min_entries <= QCOW2_MAX_RT_BYTES / 8)
        entries = QCOW2_MAX_RT_BYTES / 8;
    entries = round_up(entries, epc);
    uint64_t nb = 0, last;
    for (;;) {
        if (entries > QCOW2_MAX_RT_BYTES / 8)
            return qcow2_corrupt(q, "refcount table would exceed its limit; entries", entries);
        last = s + nb + entries / epc - 1;
        if ((last >> q->rb_bits) >= entries) {
            entries = round_up((last >> q->rb_bits) + 1, epc);
            continue;
        }
        uint64_t need = 0;
        for (uint64_t bi = s >> q->rb_bits; bi <= last >> q->rb_bits; bi++)
            need += !block_exists(q, bi);
        if (need == nb)
            break;
        nb = need; /* never decreases: this ends */
    }
    if ((last + 1) > (QCOW2_MAX_HOST_OFFSET >> q->h.cluster_bits))
        return -ENOSPC;

    uint64_t *nt = calloc(entries, 8);
    uint8_t *blk = malloc(cs);
    int ret = nt && blk ? 0 : -ENOMEM;
    if (ret == 0 && q->rt_entries)
        memcpy(nt, q->rt, q->rt_entries * 8);
    uint64_t next = s;
    for (uint64_t bi = s >> q->rb_bits; ret == 0 && bi <= last >> q->rb_bits; bi++) {
        uint64_t lo = bi << q->rb_bits, hi = lo + rb_mask(q);
        if (lo < s)
            lo = s;
        if (hi > last)
            hi = last;
        if (block_exists(q, bi)) {
            for (uint64_t x = lo; ret == 0 && x <= hi; x++)
                ret = refcount_set(q, x, 1);
            continue;
        }
        nt[bi] = next++ << q->h.cluster_bits;
        memset(blk, 0, cs);
        for (uint64_t x = lo; x <= hi; x++)
            rb_set(q, blk, x & rb_mask(q), 1);
        ret = blk_file_write(q->fd, blk, cs, nt[bi]);
    }
    uint64_t table_off = (s + nb) << q->h.cluster_bits;
    for (uint64_t i = 0; ret == 0 && i < entries; i++)
        nt[i] = htobe64(nt[i]);
    if (ret == 0)
        ret = blk_file_write(q->fd, nt, entries * 8, table_off);
    for (uint64_t i = 0; i < entries && nt; i++)
        nt[i] = be64toh(nt[i]);
    if (ret == 0)
        ret = qcow2_barrier(q);
    if (ret == 0)
        ret = write_header_rt(q, table_off, (uint32_t)(entries / epc));
    if (ret == 0)
        ret = qcow2_barrier(q);
    free(blk);
    if (ret < 0) {
        free(nt);
        q->broken = true;
        return ret;
    }
    uint64_t old = q->h.refcount_table_offset >> q->h.cluster_bits;
    uint64_t old_n = q->h.refcount_table_clusters;
    free(q->rt);
    q->rt = nt;
    q->rt_entries = entries;
    q->h.refcount_table_offset = table_off;
    q->h.refcount_table_clusters = (uint32_t)(entries / epc);
    q->file_clusters = last + 1;
    /* New blocks may sit where stale cached ones were. */
    for (unsigned i = 0; i < QCOW2_RB_CACHE; i++)
        q->rbc[i].offset = 0;
    for (uint64_t c = old; ret == 0 && c < old + old_n; c++)
        ret = refcount_dec(q, c);
    return ret;
}

/* A new refcount block for block index bi, in the free cluster c that it describes. */
static int new_block(struct qcow2 *q, uint64_t bi, uint64_t c)
{
    uint64_t offset = c << q->h.cluster_bits;
    uint8_t *b;
    int ret = load_rb(q, offset, true, &b);
    if (ret < 0)
        return ret;
    rb_set(q, b, c & rb_mask(q), 1);
    ret = blk_file_write(q->fd, b, q->cluster_size, offset);
    if (ret == 0)
        ret = qcow2_barrier(q);
    uint64_t e = htobe64(offset);
    if (ret == 0)
        ret = blk_file_write(q->fd, &e, 8, q->h.refcount_table_offset + bi * 8);
    if (ret < 0) {
        q->broken = true;
        return ret;
    }
    q->rt[bi] = offset;
    if (c >= q->file_clusters)
        q->file_clusters = c + 1;
    return 0;
}

static int find_free(struct qcow2 *q, uint64_t *cluster)
{
    uint64_t c = q->free_hint ? q->free_hint : 1; /* cluster 0 holds the header */
    for (; c < q->file_clusters; c++) {
        uint64_t v;
        int ret = qcow2_refcount_get(q, c, &v);
        if (ret < 0)
            return ret;
        if (v == 0)
            break;
    }
    q->free_hint = c;
    *cluster = c;
    return 0;
}

int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *host)
{
    if (!q->rt)
        return -EROFS;
    /* Each round either allocates or makes room; a few rounds suffice. */
    for (int round = 0; round < 8; round++) {
        uint64_t c;
        int ret = find_free(q, &c);
        if (ret < 0)
            return ret;
        if (c >= (QCOW2_MAX_HOST_OFFSET >> q->h.cluster_bits))
            return -ENOSPC;
        uint64_t bi = c >> q->rb_bits;
        if (bi >= q->rt_entries)
            ret = grow_table(q, bi + 1);
        else if (!block_exists(q, bi))
            ret = new_block(q, bi, c);
        else if ((ret = refcount_set(q, c, 1)) == 0) {
            if (c >= q->file_clusters)
                q->file_clusters = c + 1;
            q->free_hint = c + 1;
            *host = c << q->h.cluster_bits;
            return 0;
        }
        if (ret < 0)
            return ret;
    }
    return qcow2_corrupt(q, "cannot allocate a cluster near", q->free_hint);
}

int qcow2_queue_free(struct qcow2 *q, uint64_t off, uint64_t len)
{
    if (len == 0)
        return 0;
    uint64_t first = off >> q->h.cluster_bits, last = (off + len - 1) >> q->h.cluster_bits;
    for (uint64_t c = first; c <= last; c++) {
        if (q->n_free == q->cap_free) {
            size_t cap = q->cap_free ? q->cap_free * 2 : 64;
            uint64_t *n = realloc(q->to_free, cap * sizeof(*n));
            if (!n)
                return -ENOMEM;
            q->to_free = n;
            q->cap_free = cap;
        }
        q->to_free[q->n_free++] = c;
    }
    return 0;
}

int qcow2_free_queued(struct qcow2 *q)
{
    /* The references are gone on disk before the refcounts drop. */
    int ret = qcow2_barrier(q);
    for (size_t i = 0; ret == 0 && i < q->n_free; i++)
        ret = refcount_dec(q, q->to_free[i]);
    q->n_free = 0;
    q->zout_host = 0; /* a freed cluster may be reused */
    return ret;
}

void qcow2_refcounts_free(struct qcow2 *q)
{
    for (unsigned i = 0; i < QCOW2_RB_CACHE; i++) {
        free(q->rbc[i].block);
        q->rbc[i].block = NULL;
    }
    free(q->rt);
    q->rt = NULL;
    free(q->to_free);
    q->to_free = NULL;
}
