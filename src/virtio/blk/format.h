/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image formats other than raw (qcow2, VMDK monolithic flat) and the
 * read-only backing files of qcow2 images.
 *
 * A format maps the guest's byte offsets onto one or more host files and
 * serves requests synchronously, one at a time: a mutex serializes every
 * operation because they share metadata caches and allocation state. The
 * image is untrusted input (it may come from a container registry): every
 * offset and size read from it is checked, and a corrupt image gives
 * -EINVAL/-EIO, never a crash.
 *
 * Operations return 0 or -errno. Offsets and lengths are bytes inside
 * [0, size); the caller (the request parser) has checked the range.
 */
#ifndef KRUN_VIRTIO_BLK_FORMAT_H
#define KRUN_VIRTIO_BLK_FORMAT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct blk_format;

struct blk_format_ops {
    int (*read)(struct blk_format *f, uint64_t off, void *buf, size_t len);
    int (*write)(struct blk_format *f, uint64_t off, const void *buf, size_t len);
    int (*flush)(struct blk_format *f);
    /*
     * Deallocate [off, off + len) where the format can; with zero set the
     * range must read back as zeros afterwards (WRITE_ZEROES), without it
     * the contents are unspecified (DISCARD). unmap: space may be freed.
     */
    int (*discard)(struct blk_format *f, uint64_t off, uint64_t len, bool zero, bool unmap);
    void (*close)(struct blk_format *f);
};

struct blk_format {
    const struct blk_format_ops *ops;
    void *priv;
    uint64_t size; /* virtual size in bytes */
    bool read_only;
    bool sync;      /* barriers between dependent metadata writes (sync mode not NONE) */
    struct stat st; /* of the top file: the device serial */
    pthread_mutex_t lock;
};

/* How a format image is opened. */
struct blk_format_args {
    const char *path;
    bool read_only;
    bool sync;
    unsigned depth; /* backing chain depth of this image (0: the disk itself) */
    /* Files already in the chain (loop protection), depth entries. */
    const dev_t *chain_dev;
    const ino_t *chain_ino;
};

/* Backing chains longer than this are refused (as loops are). */
#define BLK_BACKING_MAX_DEPTH 16

/*
 * Open an image of a known format into f (its ops, priv, size, st). On
 * failure f holds nothing and err names the image and the problem.
 */
int blk_qcow2_open(struct blk_format *f, const struct blk_format_args *a, char *err, size_t errlen);
int blk_vmdk_open(struct blk_format *f, const struct blk_format_args *a, char *err, size_t errlen);
/* A raw file as a read-only backing image; reads past its end are zeros. */
int blk_raw_backing_open(struct blk_format *f, const struct blk_format_args *a, char *err,
                         size_t errlen);

/* The serialized entry points the device uses. */
int blk_format_read(struct blk_format *f, uint64_t off, void *buf, size_t len);
int blk_format_write(struct blk_format *f, uint64_t off, const void *buf, size_t len);
int blk_format_flush(struct blk_format *f);
int blk_format_discard(struct blk_format *f, uint64_t off, uint64_t len, bool zero, bool unmap);

/* Close and free f (allocated with malloc); NULL is fine. */
void blk_format_free(struct blk_format *f);

/* pread/pwrite of the whole range; a read past the end of the file gives zeros. */
int blk_file_read(int fd, void *buf, size_t len, uint64_t off);
int blk_file_write(int fd, const void *buf, size_t len, uint64_t off);

#endif
