/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The filesystem behind the FUSE server, as a table of operations.
 *
 * The server (fuse_server.c) decodes and validates a request, then calls
 * one of these with plain values; the filesystem never sees guest memory
 * except as the iovecs of READ/WRITE data. Node ids and file handles come
 * from the guest unchecked: every implementation validates them against its
 * own tables (unknown node: -ESTALE, unknown handle: -EBADF). Names are
 * already checked to be one path component (not "", ".", "..", no '/').
 *
 * All functions return 0 (or a byte count) on success and -errno on error,
 * may run on several threads at once, and never block indefinitely
 * (setlk never waits; the server implements SETLKW on top of it).
 *
 * Layers: overlay.c (virtual entries, exit-status ioctl) on top of
 * passthrough.c (a host directory), or of nothing for a virtual-only share.
 */
#ifndef KRUN_VIRTIO_FS_FS_OPS_H
#define KRUN_VIRTIO_FS_FS_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>

/* The guest process behind a request. */
struct fs_ctx {
    uint32_t uid, gid, pid;
};

/* A found node; the lookup counts until the guest forgets it. */
struct fs_entry {
    uint64_t nodeid;
    struct stat attr;
    /* Not to be cached by the guest: each use is a new LOOKUP (one-shot entries). */
    bool uncached;
};

/* SETATTR: valid holds FUSE's FATTR_* bits. */
struct fs_setattr {
    uint32_t valid;
    uint32_t mode;
    uint32_t uid, gid;
    uint64_t size;
    uint64_t fh;
    struct timespec atime, mtime;
};

/* A byte-range lock (POSIX semantics mapped to OFD locks) or a flock(). */
struct fs_lock {
    uint32_t type;       /* F_RDLCK, F_WRLCK, F_UNLCK */
    uint64_t start, end; /* inclusive; end INT64_MAX = to end of file */
    uint64_t owner;
    bool flock; /* whole-file flock() lock instead of a range */
};

/* READDIR output buffer, filled by the filesystem (fuse_reply.c). */
struct fs_dirbuf;
bool fs_dirbuf_plus(const struct fs_dirbuf *b);
/* Whether one more entry with a name of this length fits. */
bool fs_dirbuf_fits(const struct fs_dirbuf *b, size_t namelen);
/*
 * Append an entry that fits. next_off is the offset to continue after it.
 * In READDIRPLUS mode e is the looked-up entry (counted as a lookup when
 * e->nodeid != 0) or NULL for none (".", "..", vanished entries).
 */
void fs_dirbuf_add(struct fs_dirbuf *b, const char *name, size_t namelen, uint64_t ino,
                   uint32_t type, uint64_t next_off, const struct fs_entry *e);
/* The entries "." (offset 1) and ".." (offset 2) of a directory listed from offset off. */
void fs_dirbuf_add_dots(struct fs_dirbuf *b, uint64_t off, uint64_t ino);

struct fs_ops {
    int (*lookup)(void *fs, const struct fs_ctx *c, uint64_t parent, const char *name,
                  struct fs_entry *e);
    void (*forget)(void *fs, uint64_t nodeid, uint64_t nlookup);
    int (*getattr)(void *fs, const struct fs_ctx *c, uint64_t nodeid, struct stat *st);
    int (*setattr)(void *fs, const struct fs_ctx *c, uint64_t nodeid, const struct fs_setattr *sa,
                   struct stat *st);
    /* Returns the target length (not NUL-terminated) or -errno. */
    int (*readlink)(void *fs, const struct fs_ctx *c, uint64_t nodeid, char *buf, size_t size);
    int (*mknod)(void *fs, const struct fs_ctx *c, uint64_t parent, const char *name, uint32_t mode,
                 uint32_t rdev, struct fs_entry *e);
    int (*mkdir)(void *fs, const struct fs_ctx *c, uint64_t parent, const char *name, uint32_t mode,
                 struct fs_entry *e);
    int (*symlink)(void *fs, const struct fs_ctx *c, uint64_t parent, const char *name,
                   const char *target, struct fs_entry *e);
    int (*unlink)(void *fs, const struct fs_ctx *c, uint64_t parent, const char *name);
    int (*rmdir)(void *fs, const struct fs_ctx *c, uint64_t parent, const char *name);
    int (*rename)(void *fs, const struct fs_ctx *c, uint64_t parent, const char *name,
                  uint64_t newparent, const char *newname, uint32_t flags);
    int (*link)(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint64_t newparent,
                const char *newname, struct fs_entry *e);
    /* open_flags: FOPEN_* for the reply. */
    int (*open)(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint32_t flags, uint64_t *fh,
                uint32_t *open_flags);
    int (*create)(void *fs, const struct fs_ctx *c, uint64_t parent, const char *name,
                  uint32_t mode, uint32_t flags, struct fs_entry *e, uint64_t *fh,
                  uint32_t *open_flags);
    /* Read into / write from the iovecs; returns bytes transferred. */
    ssize_t (*read)(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                    const struct iovec *iov, unsigned n, uint64_t off);
    ssize_t (*write)(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                     const struct iovec *iov, unsigned n, uint64_t off);
    int (*statfs)(void *fs, const struct fs_ctx *c, uint64_t nodeid, struct statvfs *sv);
    int (*release)(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh);
    int (*flush)(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                 uint64_t lock_owner);
    int (*fsync)(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh, bool datasync);
    int (*setxattr)(void *fs, const struct fs_ctx *c, uint64_t nodeid, const char *name,
                    const void *value, size_t size, int flags);
    /* size 0: return the value's size only. Returns bytes or -errno (-ERANGE: too small). */
    ssize_t (*getxattr)(void *fs, const struct fs_ctx *c, uint64_t nodeid, const char *name,
                        void *buf, size_t size);
    ssize_t (*listxattr)(void *fs, const struct fs_ctx *c, uint64_t nodeid, void *buf, size_t size);
    int (*removexattr)(void *fs, const struct fs_ctx *c, uint64_t nodeid, const char *name);
    int (*opendir)(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint32_t flags, uint64_t *fh,
                   uint32_t *open_flags);
    /* Fill b with entries after offset off (0: from the start). */
    int (*readdir)(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
                   struct fs_dirbuf *b);
    int (*releasedir)(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh);
    int (*fsyncdir)(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh, bool datasync);
    /* In: the lock asked about; out: a conflicting lock or type F_UNLCK. */
    int (*getlk)(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                 struct fs_lock *lk);
    /* Never waits: -EAGAIN if a conflicting lock is held. */
    int (*setlk)(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                 const struct fs_lock *lk);
    int (*access)(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint32_t mask);
    /* An ioctl without data; returns its result (>= 0) or -errno. */
    int (*ioctl)(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh, uint32_t flags,
                 uint32_t cmd, uint64_t arg);
    int (*fallocate)(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh, uint32_t mode,
                     uint64_t off, uint64_t len);
    int (*lseek)(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh, uint64_t off,
                 uint32_t whence, uint64_t *result);
    ssize_t (*copy_file_range)(void *fs, const struct fs_ctx *c, uint64_t fh_in, uint64_t off_in,
                               uint64_t fh_out, uint64_t off_out, uint64_t len);
    /* Forget every node and handle except the root (device reset, FUSE_DESTROY). */
    void (*reset)(void *fs);
    void (*destroy)(void *fs);
};

#endif
