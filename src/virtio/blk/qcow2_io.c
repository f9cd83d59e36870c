/* SPDX-License-Identifier: Apache-2.0 */
/* Reads, writes and discards of a qcow2 image, one cluster at a time (see qcow2.h). */
#include "virtio/blk/qcow2.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

/* Clusters a write or discard handles before its metadata is committed. */
#define CHUNK_CLUSTERS 256u

static int read_backing(struct qcow2 *q, uint64_t off, uint8_t *buf, size_t n)
{
    struct blk_format *b = q->backing;
    if (!b || off >= b->size) {
        memset(buf, 0, n);
        return 0;
    }
    size_t m = b->size - off < n ? (size_t)(b->size - off) : n;
    if (m < n)
        memset(buf + m, 0, n - m);
    return b->ops->read(b, off, buf, m);
}

/* Guest bytes [off, off + n), inside the one cluster that m maps. */
static int read_mapped(struct qcow2 *q, const struct qcow2_map *m, uint64_t off, uint8_t *buf,
                       size_t n)
{
    uint64_t in = off & (q->cluster_size - 1);
    int ret;
    switch (m->kind) {
    case QCOW2_UNALLOCATED:
        return read_backing(q, off, buf, n);
    case QCOW2_ZERO:
        memset(buf, 0, n);
        return 0;
    case QCOW2_NORMAL:
        if (m->host >= QCOW2_MAX_HOST_OFFSET)
            return qcow2_corrupt(q, "data cluster offset too large", m->host);
        return blk_file_read(q->fd, buf, n, m->host + in);
    case QCOW2_COMPRESSED:
        ret = qcow2_decompress(q, m);
        if (ret == 0)
            memcpy(buf, q->zout + in, n);
        return ret;
    }
    return -EIO;
}

int qcow2_read(struct blk_format *f, uint64_t off, void *buf, size_t len)
{
    struct qcow2 *q = f->priv;
    uint8_t *p = buf;
    if (q->broken)
        return -EIO;
    while (len > 0) {
        uint64_t in = off & (q->cluster_size - 1);
        size_t n = q->cluster_size - in < len ? (size_t)(q->cluster_size - in) : len;
        struct qcow2_l2_slot *slot;
        uint64_t idx;
        struct qcow2_map m;
        int ret = qcow2_lookup(q, off >> q->h.cluster_bits, false, &slot, &idx, &m);
        if (ret == 0)
            ret = read_mapped(q, &m, off, p, n);
        if (ret < 0)
            return ret;
        off += n;
        p += n;
        len -= n;
    }
    return 0;
}

/* Write [off, off + n) inside one cluster, allocating it (with copy-on-write) if needed. */
static int write_cluster(struct qcow2 *q, uint64_t off, const uint8_t *buf, size_t n)
{
    const uint64_t cs = q->cluster_size, in = off & (cs - 1), start = off - in;
    struct qcow2_l2_slot *slot;
    uint64_t idx, host;
    struct qcow2_map m;
    int ret = qcow2_lookup(q, off >> q->h.cluster_bits, true, &slot, &idx, &m);
    if (ret < 0)
        return ret;
    if (m.kind == QCOW2_NORMAL) {
        if (m.host >= QCOW2_MAX_HOST_OFFSET)
            return qcow2_corrupt(q, "data cluster offset too large", m.host);
        return blk_file_write(q->fd, buf, n, m.host + in);
    }
    if (m.kind == QCOW2_ZERO && m.host != 0)
        host = m.host; /* preallocated: filled in place */
    else if ((ret = qcow2_alloc_cluster(q, &host)) < 0)
        return ret;
    if (n < cs) {
        ret = read_mapped(q, &m, start, q->cbuf, cs);
        if (ret < 0)
            return ret;
        memcpy(q->cbuf + in, buf, n);
        buf = q->cbuf;
    }
    ret = blk_file_write(q->fd, buf, cs, host);
    if (ret == 0 && m.kind == QCOW2_COMPRESSED)
        ret = qcow2_queue_free(q, m.first, m.span);
    /* The refcount is taken: reference it even after an error, or it leaks. */
    slot->table[idx] = htobe64(host | QCOW2_OFLAG_COPIED);
    slot->dirty = true;
    return ret;
}

static uint64_t chunk_end(const struct qcow2 *q, uint64_t off, uint64_t end)
{
    uint64_t table = (uint64_t)q->cluster_size << q->l2_bits;
    uint64_t e = (off / table + 1) * table;
    uint64_t c = (off & ~(q->cluster_size - 1)) + (uint64_t)CHUNK_CLUSTERS * q->cluster_size;
    if (c < e)
        e = c;
    return e < end ? e : end;
}

int qcow2_write(struct blk_format *f, uint64_t off, const void *buf, size_t len)
{
    struct qcow2 *q = f->priv;
    const uint8_t *p = buf;
    const uint64_t end = off + len;
    if (q->broken)
        return -EIO;
    while (off < end) {
        uint64_t stop = chunk_end(q, off, end);
        int ret = 0;
        while (ret == 0 && off < stop) {
            uint64_t in = off & (q->cluster_size - 1);
            size_t n = q->cluster_size - in < stop - off ? (size_t)(q->cluster_size - in)
                                                         : (size_t)(stop - off);
            ret = write_cluster(q, off, p, n);
            off += n;
            p += n;
        }
        int cret = qcow2_commit(q);
        if (ret == 0)
            ret = cret;
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* A whole cluster discarded or zeroed (see blk_format_ops.discard). */
static int discard_cluster(struct qcow2 *q, uint64_t gc, bool zero, bool unmap)
{
    const bool v3 = q->h.version >= 3, backing = q->backing != NULL;
    if (!v3 && zero && backing) {
        /* Without a zero flag only written zeros hide the backing file. */
        return write_cluster(q, gc << q->h.cluster_bits, q->zeros, q->cluster_size);
    }
    struct qcow2_l2_slot *slot;
    uint64_t idx;
    struct qcow2_map m;
    int ret = qcow2_lookup(q, gc, v3 && backing, &slot, &idx, &m);
    if (ret < 0 || !slot)
        return ret; /* no L2 table: already reads as zeros (or, discarded, as the backing file) */
    uint64_t old = be64toh(slot->table[idx]), e = 0;
    if (v3 && (zero || backing)) {
        e = QCOW2_OFLAG_ZERO;
        /* WRITE_ZEROES without UNMAP keeps the space: a preallocated zero cluster. */
        bool keep =
            zero && !unmap && m.host != 0 && (m.kind == QCOW2_NORMAL || m.kind == QCOW2_ZERO);
        if (keep)
            e |= m.host | QCOW2_OFLAG_COPIED;
    }
    if (e == old)
        return 0;
    if (m.kind == QCOW2_COMPRESSED)
        ret = qcow2_queue_free(q, m.first, m.span);
    else if (m.host != 0 && (e & QCOW2_OFFSET_MASK) != m.host)
        ret = qcow2_queue_free(q, m.host, q->cluster_size);
    slot->table[idx] = htobe64(e);
    slot->dirty = true;
    return ret;
}

int qcow2_discard(struct blk_format *f, uint64_t off, uint64_t len, bool zero, bool unmap)
{
    struct qcow2 *q = f->priv;
    const uint64_t end = off + len;
    if (q->broken)
        return -EIO;
    while (off < end) {
        uint64_t stop = chunk_end(q, off, end);
        int ret = 0;
        while (ret == 0 && off < stop) {
            uint64_t in = off & (q->cluster_size - 1);
            uint64_t n = q->cluster_size - in < stop - off ? q->cluster_size - in : stop - off;
            if (n == q->cluster_size) {
                ret = discard_cluster(q, off >> q->h.cluster_bits, zero, unmap);
            } else if (zero) {
                /* Part of a cluster: zeros are written (discard is only a hint). */
                ret = write_cluster(q, off, q->zeros, (size_t)n);
            }
            off += n;
        }
        int cret = qcow2_commit(q);
        if (ret == 0)
            ret = cret;
        if (ret < 0)
            return ret;
    }
    return 0;
}
