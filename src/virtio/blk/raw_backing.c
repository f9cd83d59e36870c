/* SPDX-License-Identifier: Apache-2.0 */
/* A raw file as the read-only backing image of a qcow2 image (see format.h). */
#include "virtio/blk/format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct raw_backing {
    int fd;
};

static int raw_read(struct blk_format *f, uint64_t off, void *buf, size_t len)
{
    const struct raw_backing *r = f->priv;
    return blk_file_read(r->fd, buf, len, off);
}

static int raw_refuse_write(struct blk_format *f, uint64_t off, const void *buf, size_t len)
{
    return -EROFS;
}

static int raw_flush(struct blk_format *f)
{
    return 0;
}

static int raw_refuse_discard(struct blk_format *f, uint64_t off, uint64_t len, bool zero,
                              bool unmap)
{
    return -EROFS;
}

static void raw_close(struct blk_format *f)
{
    struct raw_backing *r = f->priv;
    if (r)
        close(r->fd);
    free(r);
    f->priv = NULL;
}

static const struct blk_format_ops raw_backing_ops = {
    .read = raw_read,
    .write = raw_refuse_write,
    .flush = raw_flush,
    .discard = raw_refuse_discard,
    .close = raw_close,
};

int blk_raw_backing_open(struct blk_format *f, const struct blk_format_args *a, char *err,
                         size_t errlen)
{
    struct raw_backing *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    r->fd = open(a->path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot open backing file '%s': %s", a->path, strerror(e));
        free(r);
        return -e;
    }
    if (fstat(r->fd, &f->st) < 0 || !S_ISREG(f->st.st_mode)) {
        snprintf(err, errlen, "backing file '%s' is not a regular file", a->path);
        close(r->fd);
        free(r);
        return -EINVAL;
    }
    f->ops = &raw_backing_ops;
    f->priv = r;
    f->size = (uint64_t)f->st.st_size;
    f->read_only = true;
    return 0;
}
