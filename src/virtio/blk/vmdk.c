/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VMDK monolithic flat images: a text descriptor names FLAT extents (raw
 * files, at a sector offset) that follow one another on the disk. The
 * descriptor is untrusted input: its size, the number of extents and
 * every count and offset are bounded. Other VMDK kinds (sparse, stream
 * optimized, split) are refused with -ENOTSUP naming the kind.
 */
#include "virtio/blk/format.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VMDK_MAX_DESCRIPTOR (64u * 1024u)
#define VMDK_MAX_EXTENTS    64u
#define VMDK_MAX_BYTES      (1ull << 56)

struct vmdk_extent {
    int fd;
    uint64_t start; /* on the virtual disk, bytes */
    uint64_t len;
    uint64_t file_off; /* in the extent file, bytes */
};

struct vmdk {
    struct vmdk_extent ext[VMDK_MAX_EXTENTS];
    unsigned n;
    uint8_t *zeros; /* 64 KiB of zeros for WRITE_ZEROES without fallocate */
};

#define ZERO_CHUNK (64u * 1024u)

/* Calls fn for each extent piece of [off, off + len): fn(e, file offset, buffer offset, n). */
static int for_each_piece(struct vmdk *v, uint64_t off, uint64_t len,
                          int (*fn)(const struct vmdk_extent *, uint64_t, uint64_t, uint64_t,
                                    void *),
                          void *ctx)
{
    uint64_t done = 0;
    for (unsigned i = 0; i < v->n && done < len; i++) {
        const struct vmdk_extent *e = &v->ext[i];
        uint64_t pos = off + done;
        if (pos < e->start || pos >= e->start + e->len)
            continue;
        uint64_t n = e->start + e->len - pos;
        if (n > len - done)
            n = len - done;
        int ret = fn(e, e->file_off + (pos - e->start), done, n, ctx);
        if (ret < 0)
            return ret;
        done += n;
    }
    return done == len ? 0 : -EIO;
}

struct rw_ctx {
    uint8_t *buf;
    struct vmdk *v;
    bool zero, unmap;
};

static int piece_read(const struct vmdk_extent *e, uint64_t foff, uint64_t boff, uint64_t n,
                      void *ctx)
{
    struct rw_ctx *c = ctx;
    return blk_file_read(e->fd, c->buf + boff, (size_t)n, foff);
}

static int piece_write(const struct vmdk_extent *e, uint64_t foff, uint64_t boff, uint64_t n,
                       void *ctx)
{
    struct rw_ctx *c = ctx;
    return blk_file_write(e->fd, c->buf + boff, (size_t)n, foff);
}

static int punch(int fd, int mode, uint64_t off, uint64_t len)
{
    int ret;
    do
        ret = fallocate(fd, mode | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
    while (ret < 0 && errno == EINTR);
    return ret < 0 ? -errno : 0;
}

static bool unsupported(int ret)
{
    return ret == -EOPNOTSUPP || ret == -ENOSYS || ret == -EINVAL;
}

static int piece_discard(const struct vmdk_extent *e, uint64_t foff, uint64_t boff, uint64_t n,
                         void *ctx)
{
    struct rw_ctx *c = ctx;
    if (!c->zero) {
        int ret = punch(e->fd, FALLOC_FL_PUNCH_HOLE, foff, n);
        return unsupported(ret) ? 0 : ret; /* a hint */
    }
    int ret = punch(e->fd, c->unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE, foff, n);
    if (!unsupported(ret))
        return ret;
    for (uint64_t pos = 0; pos < n;) {
        size_t chunk = n - pos < ZERO_CHUNK ? (size_t)(n - pos) : ZERO_CHUNK;
        ret = blk_file_write(e->fd, c->v->zeros, chunk, foff + pos);
        if (ret < 0)
            return ret;
        pos += chunk;
    }
    return 0;
}

static int vmdk_read(struct blk_format *f, uint64_t off, void *buf, size_t len)
{
    struct rw_ctx c = {.buf = buf, .v = f->priv};
    return for_each_piece(f->priv, off, len, piece_read, &c);
}

static int vmdk_write(struct blk_format *f, uint64_t off, const void *buf, size_t len)
{
    struct rw_ctx c = {.buf = (uint8_t *)(uintptr_t)buf, .v = f->priv};
    return for_each_piece(f->priv, off, len, piece_write, &c);
}

static int vmdk_discard(struct blk_format *f, uint64_t off, uint64_t len, bool zero, bool unmap)
{
    struct rw_ctx c = {.v = f->priv, .zero = zero, .unmap = unmap};
    return for_each_piece(f->priv, off, len, piece_discard, &c);
}

static int vmdk_flush(struct blk_format *f)
{
    const struct vmdk *v = f->priv;
    if (f->read_only)
        return 0;
    for (unsigned i = 0; i < v->n; i++)
        if (fdatasync(v->ext[i].fd) < 0)
            return -errno;
    return 0;
}

static void vmdk_free(struct vmdk *v)
{
    for (unsigned i = 0; i < v->n; i++)
        close(v->ext[i].fd);
    free(v->zeros);
    free(v);
}

static void vmdk_close(struct blk_format *f)
{
    if (f->priv)
        vmdk_free(f->priv);
    f->priv = NULL;
}

static const struct blk_format_ops vmdk_ops = {
    .read = vmdk_read,
    .write = vmdk_write,
    .flush = vmdk_flush,
    .discard = vmdk_discard,
    .close = vmdk_close,
};

struct parse {
    const char *path; /* the descriptor */
    bool read_only;
    char create_type[64];
    char *err;
    size_t errlen;
};

static int open_extent(struct vmdk *v, struct parse *p, const char *name, uint64_t sectors,
                       uint64_t offset, bool rdonly)
{
    if (v->n == VMDK_MAX_EXTENTS) {
        snprintf(p->err, p->errlen, "VMDK '%s': more than %u extents", p->path, VMDK_MAX_EXTENTS);
        return -EINVAL;
    }
    if (rdonly && !p->read_only) {
        snprintf(p->err, p->errlen, "VMDK '%s': extent '%s' is RDONLY; attach the disk read-only",
                 p->path, name);
        return -EROFS;
    }
    uint64_t start = v->n ? v->ext[v->n - 1].start + v->ext[v->n - 1].len : 0;
    if (sectors > VMDK_MAX_BYTES / 512 || offset > VMDK_MAX_BYTES / 512 ||
        sectors * 512 > VMDK_MAX_BYTES - start) {
        snprintf(p->err, p->errlen, "VMDK '%s': extent '%s' is too large", p->path, name);
        return -EINVAL;
    }
    char path[PATH_MAX];
    const char *slash = strrchr(p->path, '/');
    int n = name[0] == '/' || !slash
                ? snprintf(path, sizeof(path), "%s", name)
                : snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - p->path), p->path, name);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        snprintf(p->err, p->errlen, "VMDK '%s': extent name too long", p->path);
        return -ENAMETOOLONG;
    }
    int fd = open(path, (p->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(p->err, p->errlen, "VMDK '%s': cannot open extent '%s': %s", p->path, path,
                 strerror(e));
        return -e;
    }
    v->ext[v->n++] = (struct vmdk_extent){
        .fd = fd, .start = start, .len = sectors * 512, .file_off = offset * 512};
    return 0;
}

/* One extent line: ACCESS SECTORS TYPE "FILE" [OFFSET]. */
static int parse_extent(struct vmdk *v, struct parse *p, char *line)
{
    char access[16], type[16], name[PATH_MAX];
    uint64_t sectors, offset = 0;
    int used = 0;
    if (sscanf(line, "%15s %" SCNu64 " %15s %n", access, &sectors, type, &used) != 3 || !used) {
        snprintf(p->err, p->errlen, "VMDK '%s': malformed extent line", p->path);
        return -EINVAL;
    }
    if (strcmp(type, "FLAT") != 0) {
        snprintf(p->err, p->errlen, "VMDK '%s': %s extents are not supported (only FLAT)", p->path,
                 type);
        return -ENOTSUP;
    }
    if (strcmp(access, "NOACCESS") == 0) {
        snprintf(p->err, p->errlen, "VMDK '%s': NOACCESS extents are not supported", p->path);
        return -ENOTSUP;
    }
    char *q = line + used, *end;
    if (*q != '"' || !(end = strchr(q + 1, '"')) || end == q + 1 ||
        (size_t)(end - q - 1) >= sizeof(name)) {
        snprintf(p->err, p->errlen, "VMDK '%s': malformed extent file name", p->path);
        return -EINVAL;
    }
    memcpy(name, q + 1, (size_t)(end - q - 1));
    name[end - q - 1] = '\0';
    char extra;
    if (sscanf(end + 1, " %" SCNu64 " %c", &offset, &extra) == 2) {
        snprintf(p->err, p->errlen, "VMDK '%s': trailing text in an extent line", p->path);
        return -EINVAL;
    }
    return open_extent(v, p, name, sectors, offset, strcmp(access, "RDONLY") == 0);
}

static int parse_descriptor(struct vmdk *v, struct parse *p, char *text)
{
    for (char *save = NULL, *line = strtok_r(text, "\r\n", &save); line;
         line = strtok_r(NULL, "\r\n", &save)) {
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line == '#' || *line == '\0')
            continue;
        if (strncmp(line, "createType=", 11) == 0) {
            const char *val = line + 11;
            size_t n = strlen(val);
            if (n >= 2 && val[0] == '"' && val[n - 1] == '"') {
                val++;
                n -= 2;
            }
            if (n >= sizeof(p->create_type))
                n = sizeof(p->create_type) - 1;
            memcpy(p->create_type, val, n);
            p->create_type[n] = '\0';
            if (strcmp(p->create_type, "monolithicFlat") != 0) {
                snprintf(p->err, p->errlen,
                         "VMDK '%s': create type '%s' is not supported (only monolithicFlat)",
                         p->path, p->create_type);
                return -ENOTSUP;
            }
        } else if (strncmp(line, "RW ", 3) == 0 || strncmp(line, "RDONLY ", 7) == 0 ||
                   strncmp(line, "NOACCESS ", 9) == 0) {
            if (!p->create_type[0]) {
                snprintf(p->err, p->errlen, "VMDK '%s': extent before createType", p->path);
                return -EINVAL;
            }
            int ret = parse_extent(v, p, line);
            if (ret < 0)
                return ret;
        }
        /* Other keys (version, CID, ddb.*) do not change how the data is served. */
    }
    if (!p->create_type[0] || v->n == 0) {
        snprintf(p->err, p->errlen, "VMDK '%s': not a VMDK descriptor (no createType or extent)",
                 p->path);
        return -EINVAL;
    }
    return 0;
}

static int read_descriptor(int fd, const struct stat *st, struct parse *p, char **out)
{
    if (st->st_size > VMDK_MAX_DESCRIPTOR) {
        uint8_t magic[4] = {0};
        if (blk_file_read(fd, magic, 4, 0) == 0 && memcmp(magic, "KDMV", 4) == 0)
            snprintf(p->err, p->errlen,
                     "VMDK '%s': sparse VMDK images (monolithicSparse, streamOptimized) are not "
                     "supported (only monolithicFlat)",
                     p->path);
        else
            snprintf(p->err, p->errlen, "VMDK '%s': descriptor larger than %u bytes", p->path,
                     VMDK_MAX_DESCRIPTOR);
        return -ENOTSUP;
    }
    size_t len = (size_t)st->st_size;
    char *text = malloc(len + 1);
    if (!text)
        return -ENOMEM;
    int ret = blk_file_read(fd, text, len, 0);
    text[len] = '\0';
    if (ret == 0 && len >= 4 && (memcmp(text, "KDMV", 4) == 0 || memcmp(text, "COWD", 4) == 0)) {
        snprintf(p->err, p->errlen,
                 "VMDK '%s': sparse VMDK images are not supported (only monolithicFlat)", p->path);
        ret = -ENOTSUP;
    } else if (ret == 0 && strlen(text) != len) {
        snprintf(p->err, p->errlen, "VMDK '%s': the descriptor is not text", p->path);
        ret = -EINVAL;
    }
    if (ret < 0)
        free(text);
    else
        *out = text;
    return ret;
}

int blk_vmdk_open(struct blk_format *f, const struct blk_format_args *a, char *err, size_t errlen)
{
    struct parse p = {.path = a->path, .read_only = a->read_only, .err = err, .errlen = errlen};
    err[0] = '\0';
    int fd = open(a->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open image '%s': %s", a->path, strerror(e));
        return -e;
    }
    struct vmdk *v = calloc(1, sizeof(*v));
    char *text = NULL;
    int ret = v && (v->zeros = calloc(1, ZERO_CHUNK)) ? 0 : -ENOMEM;
    if (ret == 0 && (fstat(fd, &f->st) < 0 || !S_ISREG(f->st.st_mode))) {
        snprintf(err, errlen, "VMDK '%s' is not a regular file", a->path);
        ret = -EINVAL;
    }
    if (ret == 0)
        ret = read_descriptor(fd, &f->st, &p, &text);
    close(fd);
    if (ret == 0)
        ret = parse_descriptor(v, &p, text);
    free(text);
    if (ret < 0) {
        if (!err[0])
            snprintf(err, errlen, "VMDK '%s': %s", a->path, strerror(-ret));
        if (v)
            vmdk_free(v);
        return ret;
    }
    f->ops = &vmdk_ops;
    f->priv = v;
    f->size = v->ext[v->n - 1].start + v->ext[v->n - 1].len;
    f->read_only = a->read_only;
    f->sync = a->sync;
    return 0;
}
