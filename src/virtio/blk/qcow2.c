/* SPDX-License-Identifier: Apache-2.0 */
/* Opening and closing qcow2 images and their backing chains (see qcow2.h, format.h). */
#include "virtio/blk/qcow2.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

int qcow2_corrupt(struct qcow2 *q, const char *what, uint64_t value)
{
    if (!q->warned) {
        q->warned = true;
        log_warn("qcow2 image '%s' is corrupt: %s 0x%llx", q->path, what,
                 (unsigned long long)value);
    }
    return -EIO;
}

int qcow2_barrier(struct qcow2 *q)
{
    if (!q->sync)
        return 0;
    if (fdatasync(q->fd) < 0) {
        q->broken = true;
        return -errno;
    }
    return 0;
}

static int qcow2_flush(struct blk_format *f)
{
    struct qcow2 *q = f->priv;
    if (!q->writable)
        return 0;
    if (q->broken)
        return -EIO;
    return fdatasync(q->fd) < 0 ? -errno : 0;
}

static void qcow2_free(struct qcow2 *q)
{
    qcow2_tables_free(q);
    qcow2_refcounts_free(q);
    qcow2_compress_free(q);
    blk_format_free(q->backing);
    free(q->cbuf);
    free(q->zeros);
    free(q->zin);
    free(q->zout);
    if (q->fd >= 0)
        close(q->fd);
    free(q->path);
    free(q);
}

static void qcow2_close(struct blk_format *f)
{
    struct qcow2 *q = f->priv;
    if (!q)
        return;
    if (q->writable && !q->broken && qcow2_commit(q) == 0 && q->sync && fdatasync(q->fd) < 0)
        log_warn("qcow2 image '%s': final flush: %s", q->path, strerror(errno));
    qcow2_free(q);
    f->priv = NULL;
}

static const struct blk_format_ops qcow2_ops = {
    .read = qcow2_read,
    .write = qcow2_write,
    .flush = qcow2_flush,
    .discard = qcow2_discard,
    .close = qcow2_close,
};

static int read_header(struct qcow2 *q, char *why, size_t whylen)
{
    size_t len = 4096;
    uint8_t *buf = malloc(len);
    int ret = buf ? blk_file_read(q->fd, buf, len, 0) : -ENOMEM;
    if (ret == 0)
        ret = qcow2_header_parse(buf, len, &q->h, why, whylen);
    if (ret == -EAGAIN) {
        /* Clusters above 4 KiB: the extensions may fill the whole first one. */
        len = (size_t)1 << q->h.cluster_bits;
        uint8_t *n = realloc(buf, len);
        ret = n ? blk_file_read(q->fd, n, len, 0) : -ENOMEM;
        buf = n ? n : buf;
        if (ret == 0)
            ret = qcow2_header_parse(buf, len, &q->h, why, whylen);
    }
    if (ret < 0 && why[0] == '\0')
        snprintf(why, whylen, "cannot read the header: %s", strerror(-ret));
    free(buf);
    return ret;
}

/* Refuse writing where we could not keep the image consistent. */
static int check_writable(const struct qcow2 *q, char *why, size_t whylen)
{
    const struct qcow2_header *h = &q->h;
    if (h->nb_snapshots) {
        snprintf(why, whylen,
                 "has %u internal snapshots: writing is not supported (open it "
                 "read-only)",
                 h->nb_snapshots);
        return -ENOTSUP;
    }
    if (h->incompatible & QCOW2_INCOMPAT_DIRTY) {
        snprintf(why, whylen,
                 "was not closed cleanly (dirty lazy refcounts): repair it with "
                 "'qemu-img check -r all' first");
        return -EINVAL;
    }
    if (h->incompatible & QCOW2_INCOMPAT_CORRUPT) {
        snprintf(why, whylen, "is marked corrupt: repair it with 'qemu-img check -r all' first");
        return -EINVAL;
    }
    if (h->refcount_table_clusters == 0) {
        snprintf(why, whylen, "has no refcount table");
        return -EINVAL;
    }
    return 0;
}

static int load_table(struct qcow2 *q, uint64_t **out, uint64_t entries, uint64_t offset)
{
    uint64_t *t = calloc(entries ? entries : 1, 8);
    if (!t)
        return -ENOMEM;
    int ret = blk_file_read(q->fd, t, entries * 8, offset);
    for (uint64_t i = 0; i < entries; i++)
        t[i] = be64toh(t[i]);
    if (ret < 0)
        free(t);
    else
        *out = t;
    return ret;
}

static bool in_chain(const struct blk_format_args *a, const struct stat *st)
{
    for (unsigned i = 0; i < a->depth; i++)
        if (a->chain_dev[i] == st->st_dev && a->chain_ino[i] == st->st_ino)
            return true;
    return false;
}

/* The backing file's path: relative names are relative to the image's directory. */
static int backing_path(const char *image, const char *name, char *out, size_t outlen)
{
    int n;
    const char *slash = strrchr(image, '/');
    if (name[0] == '/' || !slash)
        n = snprintf(out, outlen, "%s", name);
    else
        n = snprintf(out, outlen, "%.*s/%s", (int)(slash - image), image, name);
    return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

static bool looks_like_qcow2(const char *path)
{
    uint8_t magic[4] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool yes = blk_file_read(fd, magic, sizeof(magic), 0) == 0 &&
               ((uint32_t)magic[0] << 24 | (uint32_t)magic[1] << 16 | (uint32_t)magic[2] << 8 |
                magic[3]) == QCOW2_MAGIC;
    close(fd);
    return yes;
}

static int open_backing(struct qcow2 *q, const struct blk_format_args *a, const struct stat *st,
                        char *err, size_t errlen)
{
    const char *name = q->h.backing_file;
    char path[PATH_MAX], sub[512];
    if (strncmp(name, "json:", 5) == 0) {
        snprintf(err, errlen, "qcow2 image '%s': backing file '%s': json: names are not supported",
                 a->path, name);
        return -ENOTSUP;
    }
    if (a->depth + 1 >= BLK_BACKING_MAX_DEPTH) {
        snprintf(err, errlen, "qcow2 image '%s': backing chain deeper than %d images", a->path,
                 BLK_BACKING_MAX_DEPTH);
        return -ELOOP;
    }
    if (backing_path(a->path, name, path, sizeof(path)) < 0) {
        snprintf(err, errlen, "qcow2 image '%s': backing file name too long", a->path);
        return -ENAMETOOLONG;
    }
    struct stat bst;
    if (stat(path, &bst) < 0) {
        int e = errno;
        snprintf(err, errlen, "qcow2 image '%s': backing file '%s': %s", a->path, path,
                 strerror(e));
        return -e;
    }
    dev_t devs[BLK_BACKING_MAX_DEPTH];
    ino_t inos[BLK_BACKING_MAX_DEPTH];
    for (unsigned i = 0; i < a->depth; i++) {
        devs[i] = a->chain_dev[i];
        inos[i] = a->chain_ino[i];
    }
    devs[a->depth] = st->st_dev;
    inos[a->depth] = st->st_ino;
    struct blk_format_args ba = {.path = path,
                                 .read_only = true,
                                 .depth = a->depth + 1,
                                 .chain_dev = devs,
                                 .chain_ino = inos};
    if (in_chain(&ba, &bst)) {
        snprintf(err, errlen, "qcow2 image '%s': backing file '%s' makes a loop", a->path, path);
        return -ELOOP;
    }
    bool qcow2;
    const char *fmt = q->h.backing_format;
    if (strcmp(fmt, "qcow2") == 0) {
        qcow2 = true;
    } else if (strcmp(fmt, "raw") == 0) {
        qcow2 = false;
    } else if (fmt[0] == '\0') {
        qcow2 = looks_like_qcow2(path); /* as qemu: only backing files are probed */
    } else {
        snprintf(err, errlen, "qcow2 image '%s': backing format '%s' is not supported", a->path,
                 fmt);
        return -ENOTSUP;
    }
    struct blk_format *b = calloc(1, sizeof(*b));
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&b->lock, NULL);
    sub[0] = '\0';
    int ret = qcow2 ? blk_qcow2_open(b, &ba, sub, sizeof(sub))
                    : blk_raw_backing_open(b, &ba, sub, sizeof(sub));
    if (ret < 0) {
        snprintf(err, errlen, "backing file of '%s': %s", a->path, sub);
        blk_format_free(b);
        return ret;
    }
    q->backing = b;
    return 0;
}

static int setup(struct qcow2 *q, const struct blk_format_args *a, char *why, size_t whylen)
{
    int ret = read_header(q, why, whylen);
    if (ret == 0 && q->writable)
        ret = check_writable(q, why, whylen);
    if (ret < 0)
        return ret;
    q->cluster_size = 1ull << q->h.cluster_bits;
    q->l2_bits = q->h.cluster_bits - 3;
    q->rb_bits = q->h.cluster_bits + 3 - q->h.refcount_order;
    ret = load_table(q, &q->l1, q->h.l1_size, q->h.l1_table_offset);
    if (ret == 0 && q->writable) {
        q->rt_entries = (uint64_t)q->h.refcount_table_clusters * q->cluster_size / 8;
        ret = load_table(q, &q->rt, q->rt_entries, q->h.refcount_table_offset);
    }
    if (ret == 0 && q->writable && q->h.version >= 3 && q->h.autoclear) {
        /* Bitmaps and the like would go stale as we write: clear them, as the format asks. */
        uint64_t zero = 0;
        ret = blk_file_write(q->fd, &zero, 8, 88);
        if (ret == 0)
            ret = qcow2_barrier(q);
        q->h.autoclear = 0;
    }
    /* Only writers copy clusters (a chain of 2 MiB-cluster backing files stays small). */
    if (ret == 0 && q->writable) {
        q->cbuf = malloc(q->cluster_size);
        q->zeros = calloc(1, q->cluster_size);
        if (!q->cbuf || !q->zeros)
            ret = -ENOMEM;
    }
    if (ret < 0 && why[0] == '\0')
        snprintf(why, whylen, "cannot read its tables: %s", strerror(-ret));
    return ret;
}

int blk_qcow2_open(struct blk_format *f, const struct blk_format_args *a, char *err, size_t errlen)
{
    struct qcow2 *q = calloc(1, sizeof(*q));
    if (!q || !(q->path = strdup(a->path))) {
        free(q);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    q->fd = -1;
    q->l1_dirty = -1;
    q->writable = !a->read_only;
    q->sync = a->sync;
    q->fd = open(a->path, (a->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    struct stat st;
    int ret = 0;
    if (q->fd < 0 || fstat(q->fd, &st) < 0) {
        ret = -errno;
        snprintf(err, errlen, "cannot open image '%s'%s: %s", a->path,
                 a->read_only ? "" : " for writing", strerror(-ret));
    } else if (!S_ISREG(st.st_mode)) {
        ret = -EINVAL;
        snprintf(err, errlen, "qcow2 image '%s' is not a regular file", a->path);
    }
    if (ret == 0) {
        char why[256] = "";
        ret = setup(q, a, why, sizeof(why));
        if (ret < 0)
            snprintf(err, errlen, "qcow2 image '%s': %s", a->path, why);
    }
    if (ret == 0) {
        q->file_clusters = ((uint64_t)st.st_size + q->cluster_size - 1) >> q->h.cluster_bits;
        if (q->h.backing_file[0])
            ret = open_backing(q, a, &st, err, errlen);
    }
    if (ret < 0) {
        qcow2_free(q);
        return ret;
    }
    f->ops = &qcow2_ops;
    f->priv = q;
    f->size = q->h.size;
    f->read_only = a->read_only;
    f->sync = a->sync;
    f->st = st;
    return 0;
}
