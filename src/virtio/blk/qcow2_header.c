/* SPDX-License-Identifier: Apache-2.0 */
/* The qcow2 header and its extensions, checked as untrusted input (see qcow2.h). */
#include "virtio/blk/qcow2.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define V2_HEADER_LEN 72u
#define V3_HEADER_LEN 104u

#define EXT_END         0x00000000u
#define EXT_BACKING_FMT 0xe2792acau
#define EXT_DATA_FILE   0x44415441u

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static int bad(char *why, size_t whylen, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bad(char *why, size_t whylen, int ret, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return ret;
}

/* A table of count entries of entry_size bytes at offset: aligned, bounded, no overflow. */
static bool table_ok(uint64_t offset, uint64_t count, uint64_t entry_size, uint64_t max_bytes,
                     uint64_t cluster_size)
{
    if (count == 0)
        return true;
    if (offset == 0 || offset % cluster_size != 0)
        return false;
    uint64_t bytes = count * entry_size; /* count is below 2^32, entry_size 8 */
    return bytes <= max_bytes && offset < QCOW2_MAX_HOST_OFFSET &&
           bytes <= QCOW2_MAX_HOST_OFFSET - offset;
}

static int parse_extensions(const uint8_t *buf, uint64_t start, uint64_t end,
                            struct qcow2_header *h, char *why, size_t whylen)
{
    uint64_t off = start;
    /* Each extension takes at least 8 bytes: the loop ends within end / 8 steps. */
    while (off + 8 <= end) {
        uint32_t type = be32(buf + off), len = be32(buf + off + 4);
        off += 8;
        if (type == EXT_END)
            return 0;
        if (len > end - off)
            return bad(why, whylen, -EINVAL, "header extension 0x%08x overruns the first cluster",
                       type);
        if (type == EXT_BACKING_FMT) {
            if (len == 0 || len > QCOW2_MAX_FORMAT_NAME)
                return bad(why, whylen, -EINVAL, "backing format name of %u bytes", len);
            memcpy(h->backing_format, buf + off, len);
            h->backing_format[len] = '\0';
            if (strlen(h->backing_format) != len)
                return bad(why, whylen, -EINVAL, "NUL inside the backing format name");
        } else if (type == EXT_DATA_FILE) {
            h->has_data_file_ext = true;
        }
        /* Unknown extensions are skipped, as the specification asks. */
        uint64_t padded = ((uint64_t)len + 7) & ~7ull;
        if (padded > end - off)
            return 0; /* the padding of the last one is cut off: nothing follows */
        off += padded;
    }
    return 0;
}

static int check_features(const struct qcow2_header *h, char *why, size_t whylen)
{
    uint64_t unknown = h->incompatible & ~QCOW2_INCOMPAT_KNOWN;
    if (unknown)
        return bad(why, whylen, -ENOTSUP, "unknown incompatible feature bits 0x%llx",
                   (unsigned long long)unknown);
    if (h->incompatible & QCOW2_INCOMPAT_DATA_FILE || h->has_data_file_ext)
        return bad(why, whylen, -ENOTSUP, "external data files are not supported");
    if (h->incompatible & QCOW2_INCOMPAT_EXTL2)
        return bad(why, whylen, -ENOTSUP, "extended L2 entries (subclusters) are not supported");
    if (h->crypt_method != 0)
        return bad(why, whylen, -ENOTSUP, "encrypted images are not supported (method %u)",
                   h->crypt_method);
    bool typed = (h->incompatible & QCOW2_INCOMPAT_COMPRESSION) != 0;
    if (h->compression_type > QCOW2_COMPRESSION_ZSTD)
        return bad(why, whylen, -ENOTSUP, "unknown compression type %u", h->compression_type);
    if (typed != (h->compression_type != QCOW2_COMPRESSION_ZLIB))
        return bad(why, whylen, -EINVAL,
                   "compression type %u does not match the compression type feature bit",
                   h->compression_type);
    return 0;
}

int qcow2_header_parse(const uint8_t *buf, size_t len, struct qcow2_header *h, char *why,
                       size_t whylen)
{
    memset(h, 0, sizeof(*h));
    if (len < V2_HEADER_LEN)
        return bad(why, whylen, -EINVAL, "file too short for a qcow2 header");
    if (be32(buf) != QCOW2_MAGIC)
        return bad(why, whylen, -EINVAL, "not a qcow2 image (bad magic)");
    h->version = be32(buf + 4);
    if (h->version != 2 && h->version != 3)
        return bad(why, whylen, -ENOTSUP, "qcow2 version %u is not supported", h->version);
    h->backing_file_offset = be64(buf + 8);
    h->backing_file_size = be32(buf + 16);
    h->cluster_bits = be32(buf + 20);
    h->size = be64(buf + 24);
    h->crypt_method = be32(buf + 32);
    h->l1_size = be32(buf + 36);
    h->l1_table_offset = be64(buf + 40);
    h->refcount_table_offset = be64(buf + 48);
    h->refcount_table_clusters = be32(buf + 56);
    h->nb_snapshots = be32(buf + 60);
    h->snapshots_offset = be64(buf + 64);
    h->refcount_order = 4;
    h->header_length = V2_HEADER_LEN;

    if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS || h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
        return bad(why, whylen, -EINVAL, "cluster_bits %u outside 9..21", h->cluster_bits);
    uint64_t cs = 1ull << h->cluster_bits;
    if (len < cs)
        return bad(why, whylen, -EAGAIN, "need the whole first cluster");

    if (h->version == 3) {
        if (be32(buf + 100) < V3_HEADER_LEN)
            return bad(why, whylen, -EINVAL, "header_length %u below 104", be32(buf + 100));
        h->header_length = be32(buf + 100);
        if (h->header_length > cs)
            return bad(why, whylen, -EINVAL, "header_length %u beyond the first cluster",
                       h->header_length);
        h->incompatible = be64(buf + 72);
        h->compatible = be64(buf + 80);
        h->autoclear = be64(buf + 88);
        h->refcount_order = be32(buf + 96);
        if (h->header_length > V3_HEADER_LEN)
            h->compression_type = buf[104];
    }
    if (h->refcount_order > 6)
        return bad(why, whylen, -EINVAL, "refcount_order %u above 6", h->refcount_order);

    /* The L1 table must cover the virtual size, and both fit what we load. */
    if (h->size > QCOW2_MAX_HOST_OFFSET)
        return bad(why, whylen, -EINVAL, "virtual size %llu too large",
                   (unsigned long long)h->size);
    uint64_t l2_coverage = cs * (cs / 8); /* at most 2^39 */
    uint64_t l1_needed = (h->size + l2_coverage - 1) / l2_coverage;
    if (h->l1_size < l1_needed)
        return bad(why, whylen, -EINVAL, "L1 table of %u entries for a %llu-byte disk", h->l1_size,
                   (unsigned long long)h->size);
    if (!table_ok(h->l1_table_offset, h->l1_size, 8, QCOW2_MAX_L1_BYTES, cs))
        return bad(why, whylen, -EINVAL, "bad L1 table (offset 0x%llx, %u entries)",
                   (unsigned long long)h->l1_table_offset, h->l1_size);
    if (!table_ok(h->refcount_table_offset, h->refcount_table_clusters, cs, QCOW2_MAX_RT_BYTES, cs))
        return bad(why, whylen, -EINVAL, "bad refcount table (offset 0x%llx, %u clusters)",
                   (unsigned long long)h->refcount_table_offset, h->refcount_table_clusters);

    int ret = parse_extensions(buf, h->header_length, cs, h, why, whylen);
    if (ret < 0)
        return ret;
    ret = check_features(h, why, whylen);
    if (ret < 0)
        return ret;

    if (h->backing_file_offset != 0) {
        uint64_t n = h->backing_file_size;
        if (n == 0 || n > QCOW2_MAX_BACKING_NAME || h->backing_file_offset > cs ||
            n > cs - h->backing_file_offset)
            return bad(why, whylen, -EINVAL, "bad backing file name (offset 0x%llx, %llu bytes)",
                       (unsigned long long)h->backing_file_offset, (unsigned long long)n);
        memcpy(h->backing_file, buf + h->backing_file_offset, n);
        h->backing_file[n] = '\0';
        if (strlen(h->backing_file) != n)
            return bad(why, whylen, -EINVAL, "NUL inside the backing file name");
    }
    return 0;
}
