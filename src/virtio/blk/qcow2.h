/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qcow2 (versions 2 and 3): the state of an open image, shared by the
 * header parser, the table and refcount code and the I/O paths.
 *
 * Metadata is read into small caches (L2 tables, refcount blocks) and
 * written so that a crash leaves at worst leaked clusters, never a
 * reference to a cluster whose refcount is 0: refcounts and data first,
 * then (after a barrier) the L2 entries, then the L1 entry; frees go the
 * other way round (references removed, barrier, refcounts decremented).
 * Refcount updates are written through; L2 tables are written back when a
 * chunk of a request (at most one L2 table) ends.
 */
#ifndef KRUN_VIRTIO_BLK_QCOW2_H
#define KRUN_VIRTIO_BLK_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/blk/format.h"

#define QCOW2_MAGIC 0x514649fbu /* "QFI\xfb" */

/* Header feature bits. */
#define QCOW2_INCOMPAT_DIRTY       (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT     (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE   (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2       (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN       0x1full

#define QCOW2_COMPRESSION_ZLIB 0
#define QCOW2_COMPRESSION_ZSTD 1

/* Table entries. */
#define QCOW2_OFLAG_COPIED     (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO       1ull
#define QCOW2_OFFSET_MASK      0x00fffffffffffe00ull
#define QCOW2_RT_OFFSET_MASK   0xfffffffffffffe00ull

/* Limits for untrusted headers (as qemu's, or tighter). */
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_L1_BYTES     (32u << 20)
#define QCOW2_MAX_RT_BYTES     (8u << 20)
#define QCOW2_MAX_HOST_OFFSET  (1ull << 56) /* offsets fit the entries' 56 bits */
#define QCOW2_MAX_BACKING_NAME 1023u
#define QCOW2_MAX_FORMAT_NAME  15u

/* The header, host order, after qcow2_header_parse validated it. */
struct qcow2_header {
    uint32_t version;
    uint64_t backing_file_offset;
    uint32_t backing_file_size;
    uint32_t cluster_bits;
    uint64_t size;
    uint32_t crypt_method;
    uint32_t l1_size;
    uint64_t l1_table_offset;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t incompatible;
    uint64_t compatible;
    uint64_t autoclear;
    uint32_t refcount_order;
    uint32_t header_length;
    uint8_t compression_type;
    bool has_data_file_ext;                        /* the external data file extension is present */
    char backing_file[QCOW2_MAX_BACKING_NAME + 1]; /* empty: none */
    char backing_format[QCOW2_MAX_FORMAT_NAME + 1]; /* empty: not given */
};

/*
 * Parse and check the header in buf (the image's first bytes, len of
 * them; the whole first cluster once the cluster size is known). Returns
 * 0, -EINVAL with the reason in why for a malformed header, -ENOTSUP for
 * features not implemented (encryption, external data files, extended L2,
 * unknown incompatible bits), or -EAGAIN when len is smaller than the
 * first cluster (read more and call again).
 */
int qcow2_header_parse(const uint8_t *buf, size_t len, struct qcow2_header *h, char *why,
                       size_t whylen);

#define QCOW2_L2_CACHE 8
#define QCOW2_RB_CACHE 4

struct qcow2_l2_slot {
    uint64_t offset; /* of the table in the file; 0: slot empty */
    uint64_t *table; /* big endian, as on disk */
    uint64_t used;
    bool dirty;
};

struct qcow2_rb_slot {
    uint64_t offset;
    uint8_t *block;
    uint64_t used;
};

enum qcow2_kind { QCOW2_UNALLOCATED, QCOW2_ZERO, QCOW2_NORMAL, QCOW2_COMPRESSED };

/* One L2 entry, decoded and checked. */
struct qcow2_map {
    enum qcow2_kind kind;
    uint64_t host;  /* NORMAL, ZERO (0: no preallocation), COMPRESSED: data offset */
    uint64_t csize; /* COMPRESSED: bytes of compressed data at host */
    uint64_t first; /* COMPRESSED: the 512-byte aligned range refcounts count */
    uint64_t span;
};

struct qcow2 {
    int fd;
    char *path;
    struct qcow2_header h;
    bool writable;
    bool sync;
    uint64_t cluster_size;
    unsigned l2_bits;    /* log2 of entries per L2 table */
    unsigned rb_bits;    /* log2 of refcounts per refcount block */
    uint64_t *l1;        /* host order */
    uint64_t *rt;        /* host order; NULL when read-only */
    uint64_t rt_entries; /* entries of the refcount table in memory */
    uint64_t file_clusters;
    uint64_t free_hint; /* no free cluster below this one */
    uint64_t tick;
    struct qcow2_l2_slot l2c[QCOW2_L2_CACHE];
    struct qcow2_rb_slot rbc[QCOW2_RB_CACHE];
    int64_t l1_dirty; /* an L1 entry to write at commit, or -1 */
    uint64_t *to_free;
    size_t n_free, cap_free;
    uint8_t *cbuf;      /* one cluster: copy-on-write (writable images) */
    uint8_t *zeros;     /* one cluster of zeros (writable images) */
    uint8_t *zin;       /* compressed input, 2 clusters (on first use) */
    uint8_t *zout;      /* the last decompressed cluster (on first use) */
    uint64_t zout_host; /* its host offset (0: none) */
    void *zstd;         /* decompression context, made on first use */
    struct blk_format *backing;
    bool broken; /* a metadata write failed: refuse further I/O */
    bool warned; /* the first corruption was logged */
};

/* Log (once per image) that its metadata is corrupt; returns -EIO. */
int qcow2_corrupt(struct qcow2 *q, const char *what, uint64_t value);

/* Barrier between dependent writes: fdatasync unless the sync mode is NONE. */
int qcow2_barrier(struct qcow2 *q);

/* Tables (qcow2_table.c). */
int qcow2_lookup(struct qcow2 *q, uint64_t guest_cluster, bool alloc_l2,
                 struct qcow2_l2_slot **slot, uint64_t *index, struct qcow2_map *m);
void qcow2_decode(const struct qcow2 *q, uint64_t entry, struct qcow2_map *m);
int qcow2_commit(struct qcow2 *q);
void qcow2_tables_free(struct qcow2 *q);

/* Refcounts (qcow2_refcount.c). */
int qcow2_refcount_get(struct qcow2 *q, uint64_t cluster, uint64_t *value);
int qcow2_alloc_cluster(struct qcow2 *q, uint64_t *host);
/* Queue the clusters of [off, off + len) for a decrement at the next commit. */
int qcow2_queue_free(struct qcow2 *q, uint64_t off, uint64_t len);
int qcow2_free_queued(struct qcow2 *q);
void qcow2_refcounts_free(struct qcow2 *q);

/* Compressed clusters (qcow2_compress.c): decompress the cluster m into q->zout. */
int qcow2_decompress(struct qcow2 *q, const struct qcow2_map *m);
void qcow2_compress_free(struct qcow2 *q);

/* The I/O paths (qcow2_io.c). */
int qcow2_read(struct blk_format *f, uint64_t off, void *buf, size_t len);
int qcow2_write(struct blk_format *f, uint64_t off, const void *buf, size_t len);
int qcow2_discard(struct blk_format *f, uint64_t off, uint64_t len, bool zero, bool unmap);

#endif
