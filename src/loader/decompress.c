/* SPDX-License-Identifier: Apache-2.0 */
#include "loader/decompress.h"

#include <bzlib.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "loader/load_error.h"

/* zlib and bzip2 count bytes in an unsigned int: feed them at most this much per call. */
#define CHUNK_MAX ((size_t)1 << 30)

/* The first output buffer: a vmlinux compresses about 4:1. */
#define FIRST_OUTPUT_MIN ((size_t)1 << 20)

struct magic {
    const uint8_t *bytes;
    size_t len;
};

static const uint8_t gzip_magic[] = {0x1f, 0x8b, 0x08}; /* ID1, ID2, CM = deflate */
static const uint8_t bzip2_magic[] = {'B', 'Z', 'h'};
static const uint8_t zstd_magic[] = {0x28, 0xb5, 0x2f, 0xfd};

static struct magic magic_of(enum kernel_compression c)
{
    switch (c) {
    case KERNEL_GZIP:
        return (struct magic){gzip_magic, sizeof(gzip_magic)};
    case KERNEL_BZIP2:
        return (struct magic){bzip2_magic, sizeof(bzip2_magic)};
    case KERNEL_ZSTD:
        return (struct magic){zstd_magic, sizeof(zstd_magic)};
    }
    return (struct magic){NULL, 0};
}

const char *kernel_compression_name(enum kernel_compression c)
{
    switch (c) {
    case KERNEL_GZIP:
        return "gzip";
    case KERNEL_BZIP2:
        return "bzip2";
    case KERNEL_ZSTD:
        return "zstd";
    }
    return "?";
}

static bool starts_with(const uint8_t *p, size_t len, struct magic m)
{
    return len >= m.len && memcmp(p, m.bytes, m.len) == 0;
}

/*
 * The output, grown as it is produced up to max + 1 bytes: the byte past
 * the cap tells a stream that exceeds it from one that fills it exactly.
 */
struct sink {
    uint8_t *buf;
    size_t len, cap, max, first;
};

/* At least one free byte. Returns 0, -EFBIG (more than max) or -ENOMEM. */
static int sink_room(struct sink *s)
{
    if (s->len < s->cap)
        return 0;
    if (s->cap > s->max)
        return -EFBIG;
    size_t limit = s->max + 1;
    size_t want = s->cap ? s->cap * 2 : s->first;
    if (want < s->cap || want > limit)
        want = limit;
    uint8_t *p = realloc(s->buf, want);
    if (!p)
        return -ENOMEM;
    s->buf = p;
    s->cap = want;
    return 0;
}

static size_t sink_free(const struct sink *s)
{
    size_t n = s->cap - s->len;
    return n < CHUNK_MAX ? n : CHUNK_MAX;
}

/* How one stream ended, with the library's words in why. */
enum outcome {
    CONTINUE, /* call the library again */
    DONE,
    TRUNCATED,
    CORRUPT,
    FAILED, /* rc says why: -EFBIG, -ENOMEM */
};

struct run {
    const uint8_t *in;
    size_t len, pos;
    struct sink out;
    struct magic magic;
    int rc;
    char why[96];
};

/* After a call that did not end the data: truncated if input ran out with room to spare. */
static enum outcome stalled(const struct run *r, size_t out_room_left, bool progressed)
{
    if (r->pos == r->len && out_room_left > 0)
        return TRUNCATED;
    return progressed ? CONTINUE : CORRUPT;
}

static enum outcome gunzip(struct run *r)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        r->rc = -ENOMEM;
        return FAILED;
    }
    enum outcome o;
    for (;;) {
        if ((r->rc = sink_room(&r->out))) {
            o = FAILED;
            break;
        }
        size_t in_now = r->len - r->pos < CHUNK_MAX ? r->len - r->pos : CHUNK_MAX;
        size_t out_now = sink_free(&r->out);
        zs.next_in = (Bytef *)(uintptr_t)(r->in + r->pos);
        zs.avail_in = (uInt)in_now;
        zs.next_out = r->out.buf + r->out.len;
        zs.avail_out = (uInt)out_now;
        int zr = inflate(&zs, Z_NO_FLUSH);
        r->pos += in_now - zs.avail_in;
        r->out.len += out_now - zs.avail_out;
        bool progressed = zs.avail_in != in_now || zs.avail_out != out_now;
        if (zr == Z_STREAM_END) {
            if (!starts_with(r->in + r->pos, r->len - r->pos, r->magic)) {
                o = DONE;
                break;
            }
            inflateReset(&zs); /* another gzip member follows */
            continue;
        }
        if (zr == Z_MEM_ERROR) {
            r->rc = -ENOMEM;
            o = FAILED;
            break;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            snprintf(r->why, sizeof(r->why), "%s", zs.msg ? zs.msg : "invalid data");
            o = CORRUPT;
            break;
        }
        o = stalled(r, zs.avail_out, progressed);
        if (o != CONTINUE)
            break;
    }
    inflateEnd(&zs);
    return o;
}

static enum outcome bunzip2(struct run *r)
{
    bz_stream bs;
    memset(&bs, 0, sizeof(bs));
    if (BZ2_bzDecompressInit(&bs, 0, 0) != BZ_OK) {
        r->rc = -ENOMEM;
        return FAILED;
    }
    enum outcome o;
    for (;;) {
        if ((r->rc = sink_room(&r->out))) {
            o = FAILED;
            break;
        }
        size_t in_now = r->len - r->pos < CHUNK_MAX ? r->len - r->pos : CHUNK_MAX;
        size_t out_now = sink_free(&r->out);
        /* bzip2 does not write through next_in; its type just lacks the const. */
        bs.next_in = (char *)(uintptr_t)(r->in + r->pos);
        bs.avail_in = (unsigned)in_now;
        bs.next_out = (char *)(r->out.buf + r->out.len);
        bs.avail_out = (unsigned)out_now;
        int br = BZ2_bzDecompress(&bs);
        r->pos += in_now - bs.avail_in;
        r->out.len += out_now - bs.avail_out;
        bool progressed = bs.avail_in != in_now || bs.avail_out != out_now;
        if (br == BZ_STREAM_END) {
            if (!starts_with(r->in + r->pos, r->len - r->pos, r->magic)) {
                o = DONE;
                break;
            }
            BZ2_bzDecompressEnd(&bs); /* another bzip2 stream follows */
            memset(&bs, 0, sizeof(bs));
            if (BZ2_bzDecompressInit(&bs, 0, 0) != BZ_OK) {
                r->rc = -ENOMEM;
                return FAILED;
            }
            continue;
        }
        if (br == BZ_MEM_ERROR) {
            r->rc = -ENOMEM;
            o = FAILED;
            break;
        }
        if (br != BZ_OK) {
            snprintf(r->why, sizeof(r->why), "%s",
                     br == BZ_DATA_ERROR_MAGIC ? "not a bzip2 stream" : "data integrity error");
            o = CORRUPT;
            break;
        }
        o = stalled(r, bs.avail_out, progressed);
        if (o != CONTINUE)
            break;
    }
    BZ2_bzDecompressEnd(&bs);
    return o;
}

static enum outcome unzstd(struct run *r)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!dctx) {
        r->rc = -ENOMEM;
        return FAILED;
    }
    enum outcome o;
    for (;;) {
        if ((r->rc = sink_room(&r->out))) {
            o = FAILED;
            break;
        }
        ZSTD_inBuffer ib = {r->in + r->pos, r->len - r->pos, 0};
        ZSTD_outBuffer ob = {r->out.buf + r->out.len, r->out.cap - r->out.len, 0};
        size_t zr = ZSTD_decompressStream(dctx, &ob, &ib);
        r->pos += ib.pos;
        r->out.len += ob.pos;
        if (ZSTD_isError(zr)) {
            if (ZSTD_getErrorCode(zr) == ZSTD_error_memory_allocation) {
                r->rc = -ENOMEM;
                o = FAILED;
            } else {
                snprintf(r->why, sizeof(r->why), "%s", ZSTD_getErrorName(zr));
                o = CORRUPT;
            }
            break;
        }
        if (zr == 0) {
            /* A frame ended; the next call starts the next one, if it is one. */
            if (!starts_with(r->in + r->pos, r->len - r->pos, r->magic)) {
                o = DONE;
                break;
            }
            continue;
        }
        o = stalled(r, ob.size - ob.pos, ib.pos || ob.pos);
        if (o != CONTINUE)
            break;
    }
    ZSTD_freeDCtx(dctx);
    return o;
}

/* The first occurrence of m in data, or len. */
static size_t find_magic(const uint8_t *data, size_t len, struct magic m)
{
    if (len < m.len)
        return len;
    for (size_t i = 0; i + m.len <= len; i++) {
        const uint8_t *p = memchr(data + i, m.bytes[0], len - m.len + 1 - i);
        if (!p)
            return len;
        i = (size_t)(p - data);
        if (memcmp(p, m.bytes, m.len) == 0)
            return i;
    }
    return len;
}

int kernel_decompress(enum kernel_compression c, const uint8_t *data, size_t len, size_t max,
                      uint8_t **out, size_t *out_len, char *err, size_t errlen)
{
    *out = NULL;
    *out_len = 0;
    const char *name = kernel_compression_name(c);
    struct run r = {.in = data, .len = len, .magic = magic_of(c)};
    if (!r.magic.len)
        return loader_fail(err, errlen, -ENOEXEC, "unknown compression %d", (int)c);
    r.pos = find_magic(data, len, r.magic);
    if (r.pos == len)
        return loader_fail(err, errlen, -ENOEXEC, "no %s stream in the file (no magic number)",
                           name);
    size_t start = r.pos;
    if (max == SIZE_MAX)
        max--;
    r.out.max = max;
    r.out.first = (len - start) < max / 4 ? (len - start) * 4 : max + 1;
    if (r.out.first < FIRST_OUTPUT_MIN)
        r.out.first = FIRST_OUTPUT_MIN < max + 1 ? FIRST_OUTPUT_MIN : max + 1;

    enum outcome o = c == KERNEL_GZIP ? gunzip(&r) : c == KERNEL_BZIP2 ? bunzip2(&r) : unzstd(&r);
    if (o == DONE && r.out.len > max) {
        o = FAILED;
        r.rc = -EFBIG;
    }
    int rc = 0;
    switch (o) {
    case DONE:
        *out = r.out.buf;
        *out_len = r.out.len;
        return 0;
    case TRUNCATED:
        rc = loader_fail(err, errlen, -ENOEXEC,
                         "the %s stream at offset %zu is truncated (the file ends after %zu "
                         "decompressed bytes)",
                         name, start, r.out.len);
        break;
    case CORRUPT:
        rc = loader_fail(err, errlen, -ENOEXEC,
                         "the %s stream at offset %zu is corrupt after %zu decompressed bytes: %s",
                         name, start, r.out.len, r.why[0] ? r.why : "no progress");
        break;
    case CONTINUE:
    case FAILED:
        if (r.rc == -EFBIG)
            rc = loader_fail(err, errlen, -EFBIG,
                             "the %s stream at offset %zu decompresses to more than %zu bytes "
                             "(the limit for a kernel)",
                             name, start, max);
        else
            rc = loader_fail(err, errlen, r.rc, "cannot decompress the %s stream: %s", name,
                             strerror(-r.rc));
        break;
    }
    free(r.out.buf);
    return rc;
}
