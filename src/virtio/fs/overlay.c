/* SPDX-License-Identifier: Apache-2.0 */
/* Virtual entries and the exit-status ioctl; see overlay.h. */
#include "virtio/fs/overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "virtio/fs/fs_name.h"
#include "virtio/fs/fuse_iov.h"

/* Virtual node ids and handles have bit 63 set; the lower layer never does. */
#define VBIT (1ull << 63)
/* Inode numbers shown for virtual entries (the root of a null share is 1). */
#define VINO_BASE 0x7fffffff00000000ull

/* Results of classify(). */
#define LOWER_NODE (-1L)
#define BAD_NODE   (-2L)

struct ovl_node {
    char *name; /* NULL for the root */
    size_t parent;
    bool dir;
    uint32_t mode; /* permission bits */
    const uint8_t *data;
    size_t len;
    bool one_shot;
    atomic_bool gone; /* a one-shot entry that was found once */
};

struct overlay {
    const struct fs_ops *lops;
    void *lower;            /* NULL: the root is virtual too */
    struct ovl_node *nodes; /* [0] is the root */
    size_t n;
    overlay_exit_fn exit_cb;
    void *cb_opaque;
    struct timespec t0;
};

/* Which overlay node a node id names: its index, LOWER_NODE, or BAD_NODE. */
static long classify(const struct overlay *o, uint64_t id)
{
    if (id == FUSE_ROOT_ID)
        return o->lower ? LOWER_NODE : 0;
    if (id & VBIT) {
        uint64_t i = id & ~VBIT;
        return i >= 1 && i < o->n ? (long)i : BAD_NODE;
    }
    return o->lower ? LOWER_NODE : BAD_NODE;
}

/* Same for a file handle of a file (dir false) or directory (dir true). */
static long classify_fh(const struct overlay *o, uint64_t fh, bool dir)
{
    if (!(fh & VBIT))
        return o->lower ? LOWER_NODE : BAD_NODE;
    uint64_t i = fh & ~VBIT;
    /* The root is virtual only without a lower filesystem. */
    if (i >= o->n || (i == 0 && o->lower) || o->nodes[i].dir != dir)
        return BAD_NODE;
    return (long)i;
}

/* The visible virtual child name of directory node dir, or -1. */
static long find_child(struct overlay *o, size_t dir, const char *name, bool consume)
{
    for (size_t i = 1; i < o->n; i++) {
        struct ovl_node *v = &o->nodes[i];
        if (v->parent != dir || atomic_load(&v->gone) || strcmp(v->name, name) != 0)
            continue;
        /* Two racing lookups of a one-shot entry: only one of them finds it. */
        if (consume && v->one_shot && atomic_exchange(&v->gone, true))
            continue;
        return (long)i;
    }
    return -1;
}

static void vattr(const struct overlay *o, size_t i, struct stat *st)
{
    const struct ovl_node *v = &o->nodes[i];
    memset(st, 0, sizeof(*st));
    st->st_ino = i == 0 ? FUSE_ROOT_ID : VINO_BASE + i;
    st->st_mode = (v->dir ? S_IFDIR : S_IFREG) | (v->mode & 07777);
    st->st_nlink = v->dir ? 2 : 1;
    st->st_size = v->dir ? 0 : (off_t)v->len;
    st->st_blocks = (blkcnt_t)((v->len + 511) / 512);
    st->st_blksize = 4096;
    st->st_atim = st->st_mtim = st->st_ctim = o->t0;
}

static int ventry(const struct overlay *o, size_t i, struct fs_entry *e)
{
    e->nodeid = i == 0 ? FUSE_ROOT_ID : VBIT | i;
    vattr(o, i, &e->attr);
    /* A one-shot entry must not outlive its lookup in the guest's dentry cache. */
    e->uncached = o->nodes[i].one_shot;
    return 0;
}

/*
 * May the name be created, removed or renamed in parent (by the lower
 * layer)? Not inside a virtual directory, and not over a visible virtual entry.
 */
static int name_change_ok(struct overlay *o, uint64_t parent, const char *name)
{
    long p = classify(o, parent);
    if (p == BAD_NODE)
        return -ESTALE;
    if (p >= 0)
        return -EPERM;
    if (parent == FUSE_ROOT_ID && find_child(o, 0, name, false) >= 0)
        return -EPERM;
    return 0;
}

static int ovl_lookup(void *opaque, const struct fs_ctx *c, uint64_t parent, const char *name,
                      struct fs_entry *e)
{
    struct overlay *o = opaque;
    long p = classify(o, parent);
    if (p == BAD_NODE)
        return -ESTALE;
    if (p >= 0 && !o->nodes[p].dir)
        return -ENOTDIR;
    size_t dir = parent == FUSE_ROOT_ID ? 0 : (size_t)p;
    if (p >= 0 || parent == FUSE_ROOT_ID) {
        long i = find_child(o, dir, name, true);
        if (i > 0)
            return ventry(o, (size_t)i, e);
        if (p >= 0)
            return -ENOENT;
    }
    return o->lops->lookup(o->lower, c, parent, name, e);
}

static void ovl_forget(void *opaque, uint64_t nodeid, uint64_t nlookup)
{
    struct overlay *o = opaque;
    /* Virtual nodes live as long as the device. */
    if (classify(o, nodeid) == LOWER_NODE)
        o->lops->forget(o->lower, nodeid, nlookup);
}

static int ovl_getattr(void *opaque, const struct fs_ctx *c, uint64_t nodeid, struct stat *st)
{
    struct overlay *o = opaque;
    long i = classify(o, nodeid);
    if (i == BAD_NODE)
        return -ESTALE;
    if (i >= 0) {
        vattr(o, (size_t)i, st);
        return 0;
    }
    return o->lops->getattr(o->lower, c, nodeid, st);
}

static int ovl_setattr(void *opaque, const struct fs_ctx *c, uint64_t nodeid,
                       const struct fs_setattr *sa, struct stat *st)
{
    struct overlay *o = opaque;
    long i = classify(o, nodeid);
    if (i != LOWER_NODE)
        return i == BAD_NODE ? -ESTALE : -EPERM;
    return o->lops->setattr(o->lower, c, nodeid, sa, st);
}

static int ovl_readlink(void *opaque, const struct fs_ctx *c, uint64_t nodeid, char *buf,
                        size_t size)
{
    struct overlay *o = opaque;
    long i = classify(o, nodeid);
    if (i != LOWER_NODE)
        return i == BAD_NODE ? -ESTALE : -EINVAL;
    return o->lops->readlink(o->lower, c, nodeid, buf, size);
}

static int ovl_mknod(void *opaque, const struct fs_ctx *c, uint64_t parent, const char *name,
                     uint32_t mode, uint32_t rdev, struct fs_entry *e)
{
    struct overlay *o = opaque;
    int ret = name_change_ok(o, parent, name);
    return ret < 0 ? ret : o->lops->mknod(o->lower, c, parent, name, mode, rdev, e);
}

static int ovl_mkdir(void *opaque, const struct fs_ctx *c, uint64_t parent, const char *name,
                     uint32_t mode, struct fs_entry *e)
{
    struct overlay *o = opaque;
    int ret = name_change_ok(o, parent, name);
    return ret < 0 ? ret : o->lops->mkdir(o->lower, c, parent, name, mode, e);
}

static int ovl_symlink(void *opaque, const struct fs_ctx *c, uint64_t parent, const char *name,
                       const char *target, struct fs_entry *e)
{
    struct overlay *o = opaque;
    int ret = name_change_ok(o, parent, name);
    return ret < 0 ? ret : o->lops->symlink(o->lower, c, parent, name, target, e);
}

static int ovl_unlink(void *opaque, const struct fs_ctx *c, uint64_t parent, const char *name)
{
    struct overlay *o = opaque;
    int ret = name_change_ok(o, parent, name);
    return ret < 0 ? ret : o->lops->unlink(o->lower, c, parent, name);
}

static int ovl_rmdir(void *opaque, const struct fs_ctx *c, uint64_t parent, const char *name)
{
    struct overlay *o = opaque;
    int ret = name_change_ok(o, parent, name);
    return ret < 0 ? ret : o->lops->rmdir(o->lower, c, parent, name);
}

static int ovl_rename(void *opaque, const struct fs_ctx *c, uint64_t parent, const char *name,
                      uint64_t newparent, const char *newname, uint32_t flags)
{
    struct overlay *o = opaque;
    int ret = name_change_ok(o, parent, name);
    if (ret == 0)
        ret = name_change_ok(o, newparent, newname);
    return ret < 0 ? ret : o->lops->rename(o->lower, c, parent, name, newparent, newname, flags);
}

static int ovl_link(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t newparent,
                    const char *newname, struct fs_entry *e)
{
    struct overlay *o = opaque;
    long i = classify(o, nodeid);
    if (i != LOWER_NODE)
        return i == BAD_NODE ? -ESTALE : -EPERM;
    int ret = name_change_ok(o, newparent, newname);
    return ret < 0 ? ret : o->lops->link(o->lower, c, nodeid, newparent, newname, e);
}

static int ovl_open(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint32_t flags,
                    uint64_t *fh, uint32_t *open_flags)
{
    struct overlay *o = opaque;
    long i = classify(o, nodeid);
    if (i == BAD_NODE)
        return -ESTALE;
    if (i == LOWER_NODE)
        return o->lops->open(o->lower, c, nodeid, flags, fh, open_flags);
    if (o->nodes[i].dir)
        return -EISDIR;
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
        return -EACCES;
    *fh = VBIT | (uint64_t)i;
    /* The content never changes: the guest may keep its page cache. Close has
       nothing to flush. */
    *open_flags = FOPEN_KEEP_CACHE | FOPEN_NOFLUSH;
    return 0;
}

static int ovl_create(void *opaque, const struct fs_ctx *c, uint64_t parent, const char *name,
                      uint32_t mode, uint32_t flags, struct fs_entry *e, uint64_t *fh,
                      uint32_t *open_flags)
{
    struct overlay *o = opaque;
    int ret = name_change_ok(o, parent, name);
    return ret < 0 ? ret
                   : o->lops->create(o->lower, c, parent, name, mode, flags, e, fh, open_flags);
}

static ssize_t ovl_read(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                        const struct iovec *iov, unsigned n, uint64_t off)
{
    struct overlay *o = opaque;
    long i = classify_fh(o, fh, false);
    if (i == BAD_NODE)
        return -EBADF;
    if (i == LOWER_NODE)
        return o->lops->read(o->lower, c, nodeid, fh, iov, n, off);
    const struct ovl_node *v = &o->nodes[i];
    if (off >= v->len)
        return 0;
    return (ssize_t)fiov_scatter(iov, n, 0, v->data + off, v->len - off);
}

static ssize_t ovl_write(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                         const struct iovec *iov, unsigned n, uint64_t off)
{
    struct overlay *o = opaque;
    if (classify_fh(o, fh, false) != LOWER_NODE)
        return -EBADF;
    return o->lops->write(o->lower, c, nodeid, fh, iov, n, off);
}

static int ovl_statfs(void *opaque, const struct fs_ctx *c, uint64_t nodeid, struct statvfs *sv)
{
    struct overlay *o = opaque;
    long i = classify(o, nodeid);
    if (i == BAD_NODE)
        return -ESTALE;
    if (o->lower)
        return o->lops->statfs(o->lower, c, i == LOWER_NODE ? nodeid : FUSE_ROOT_ID, sv);
    memset(sv, 0, sizeof(*sv));
    sv->f_bsize = sv->f_frsize = 4096;
    sv->f_namemax = FS_NAME_MAX;
    sv->f_flag = ST_RDONLY;
    return 0;
}

/* Handle operations that have nothing to do for a virtual handle. */
#define FH_OP(dir, call)                                                                           \
    do {                                                                                           \
        long i_ = classify_fh(o, fh, dir);                                                         \
        if (i_ == BAD_NODE)                                                                        \
            return -EBADF;                                                                         \
        if (i_ == LOWER_NODE)                                                                      \
            return call;                                                                           \
        return 0;                                                                                  \
    } while (0)

static int ovl_release(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh)
{
    struct overlay *o = opaque;
    FH_OP(false, o->lops->release(o->lower, c, nodeid, fh));
}

static int ovl_flush(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                     uint64_t lock_owner)
{
    struct overlay *o = opaque;
    FH_OP(false, o->lops->flush(o->lower, c, nodeid, fh, lock_owner));
}

static int ovl_fsync(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                     bool datasync)
{
    struct overlay *o = opaque;
    FH_OP(false, o->lops->fsync(o->lower, c, nodeid, fh, datasync));
}

static int ovl_releasedir(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh)
{
    struct overlay *o = opaque;
    FH_OP(true, o->lops->releasedir(o->lower, c, nodeid, fh));
}

static int ovl_fsyncdir(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                        bool datasync)
{
    struct overlay *o = opaque;
    FH_OP(true, o->lops->fsyncdir(o->lower, c, nodeid, fh, datasync));
}

static int ovl_setxattr(void *opaque, const struct fs_ctx *c, uint64_t nodeid, const char *name,
                        const void *value, size_t size, int flags)
{
    struct overlay *o = opaque;
    long i = classify(o, nodeid);
    if (i != LOWER_NODE)
        return i == BAD_NODE ? -ESTALE : -EPERM;
    return o->lops->setxattr(o->lower, c, nodeid, name, value, size, flags);
}

static ssize_t ovl_getxattr(void *opaque, const struct fs_ctx *c, uint64_t nodeid, const char *name,
                            void *buf, size_t size)
{
    struct overlay *o = opaque;
    long i = classify(o, nodeid);
    if (i != LOWER_NODE)
        return i == BAD_NODE ? -ESTALE : -ENODATA;
    return o->lops->getxattr(o->lower, c, nodeid, name, buf, size);
}

static ssize_t ovl_listxattr(void *opaque, const struct fs_ctx *c, uint64_t nodeid, void *buf,
                             size_t size)
{
    struct overlay *o = opaque;
    long i = classify(o, nodeid);
    if (i != LOWER_NODE)
        return i == BAD_NODE ? -ESTALE : 0;
    return o->lops->listxattr(o->lower, c, nodeid, buf, size);
}

static int ovl_removexattr(void *opaque, const struct fs_ctx *c, uint64_t nodeid, const char *name)
{
    struct overlay *o = opaque;
    long i = classify(o, nodeid);
    if (i != LOWER_NODE)
        return i == BAD_NODE ? -ESTALE : -EPERM;
    return o->lops->removexattr(o->lower, c, nodeid, name);
}

static int ovl_opendir(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint32_t flags,
                       uint64_t *fh, uint32_t *open_flags)
{
    struct overlay *o = opaque;
    long i = classify(o, nodeid);
    if (i == BAD_NODE)
        return -ESTALE;
    if (i == LOWER_NODE)
        return o->lops->opendir(o->lower, c, nodeid, flags, fh, open_flags);
    if (!o->nodes[i].dir)
        return -ENOTDIR;
    *fh = VBIT | (uint64_t)i;
    *open_flags = 0;
    return 0;
}

static int ovl_readdir(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                       uint64_t off, struct fs_dirbuf *b)
{
    struct overlay *o = opaque;
    long i = classify_fh(o, fh, true);
    if (i == BAD_NODE)
        return -EBADF;
    if (i == LOWER_NODE)
        return o->lops->readdir(o->lower, c, nodeid, fh, off, b);
    /* Virtual entries are found by name only: a virtual directory lists as empty. */
    fs_dirbuf_add_dots(b, off, i == 0 ? FUSE_ROOT_ID : VINO_BASE + (uint64_t)i);
    return 0;
}

static int ovl_getlk(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                     struct fs_lock *lk)
{
    struct overlay *o = opaque;
    long i = classify_fh(o, fh, false);
    if (i == BAD_NODE)
        return -EBADF;
    if (i == LOWER_NODE)
        return o->lops->getlk(o->lower, c, nodeid, fh, lk);
    /* Nobody can change a virtual file: every lock is granted, none conflicts. */
    lk->type = F_UNLCK;
    return 0;
}

static int ovl_setlk(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                     const struct fs_lock *lk)
{
    struct overlay *o = opaque;
    FH_OP(false, o->lops->setlk(o->lower, c, nodeid, fh, lk));
}

static int ovl_access(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint32_t mask)
{
    struct overlay *o = opaque;
    long i = classify(o, nodeid);
    if (i == BAD_NODE)
        return -ESTALE;
    if (i == LOWER_NODE)
        return o->lops->access(o->lower, c, nodeid, mask);
    if (mask & W_OK)
        return -EACCES;
    if ((mask & X_OK) && !o->nodes[i].dir && !(o->nodes[i].mode & 0111))
        return -EACCES;
    return 0;
}

static int ovl_ioctl(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                     uint32_t flags, uint32_t cmd, uint64_t arg)
{
    struct overlay *o = opaque;
    long i = classify(o, nodeid);
    if (i == BAD_NODE)
        return -ESTALE;
    if (cmd != KRUN_EXIT_CODE_IOCTL)
        return i == LOWER_NODE ? o->lops->ioctl(o->lower, c, nodeid, fh, flags, cmd, arg) : -ENOTTY;
    if (i == LOWER_NODE) {
        /* Only for nodes the guest really holds. */
        struct stat st;
        int ret = o->lops->getattr(o->lower, c, nodeid, &st);
        if (ret < 0)
            return ret;
    }
    if (o->exit_cb)
        o->exit_cb(o->cb_opaque, (int)(uint32_t)arg);
    return 0;
}

static int ovl_fallocate(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                         uint32_t mode, uint64_t off, uint64_t len)
{
    struct overlay *o = opaque;
    long i = classify_fh(o, fh, false);
    if (i != LOWER_NODE)
        return i == BAD_NODE ? -EBADF : -EPERM;
    return o->lops->fallocate(o->lower, c, nodeid, fh, mode, off, len);
}

static int ovl_lseek(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                     uint64_t off, uint32_t whence, uint64_t *result)
{
    struct overlay *o = opaque;
    long i = classify_fh(o, fh, false);
    if (i == BAD_NODE)
        return -EBADF;
    if (i == LOWER_NODE)
        return o->lops->lseek(o->lower, c, nodeid, fh, off, whence, result);
    uint64_t len = o->nodes[i].len;
    switch (whence) {
    case SEEK_SET:
        *result = off;
        return 0;
    case SEEK_DATA:
    case SEEK_HOLE:
        if (off >= len)
            return -ENXIO;
        *result = whence == SEEK_DATA ? off : len;
        return 0;
    default:
        return -EINVAL;
    }
}

static ssize_t ovl_copy_file_range(void *opaque, const struct fs_ctx *c, uint64_t fh_in,
                                   uint64_t off_in, uint64_t fh_out, uint64_t off_out, uint64_t len)
{
    struct overlay *o = opaque;
    long in = classify_fh(o, fh_in, false), out = classify_fh(o, fh_out, false);
    if (in == BAD_NODE || out == BAD_NODE)
        return -EBADF;
    /* The guest falls back to reading and writing. */
    if (in != LOWER_NODE || out != LOWER_NODE)
        return -EOPNOTSUPP;
    return o->lops->copy_file_range(o->lower, c, fh_in, off_in, fh_out, off_out, len);
}

static void ovl_reset(void *opaque)
{
    struct overlay *o = opaque;
    /* One-shot entries stay gone: they are served once per VM. */
    if (o->lower)
        o->lops->reset(o->lower);
}

static void ovl_destroy(void *opaque)
{
    struct overlay *o = opaque;
    if (!o)
        return;
    if (o->lower)
        o->lops->destroy(o->lower);
    for (size_t i = 0; i < o->n; i++)
        free(o->nodes[i].name);
    free(o->nodes);
    free(o);
}

const struct fs_ops overlay_ops = {
    .lookup = ovl_lookup,
    .forget = ovl_forget,
    .getattr = ovl_getattr,
    .setattr = ovl_setattr,
    .readlink = ovl_readlink,
    .mknod = ovl_mknod,
    .mkdir = ovl_mkdir,
    .symlink = ovl_symlink,
    .unlink = ovl_unlink,
    .rmdir = ovl_rmdir,
    .rename = ovl_rename,
    .link = ovl_link,
    .open = ovl_open,
    .create = ovl_create,
    .read = ovl_read,
    .write = ovl_write,
    .statfs = ovl_statfs,
    .release = ovl_release,
    .flush = ovl_flush,
    .fsync = ovl_fsync,
    .setxattr = ovl_setxattr,
    .getxattr = ovl_getxattr,
    .listxattr = ovl_listxattr,
    .removexattr = ovl_removexattr,
    .opendir = ovl_opendir,
    .readdir = ovl_readdir,
    .releasedir = ovl_releasedir,
    .fsyncdir = ovl_fsyncdir,
    .getlk = ovl_getlk,
    .setlk = ovl_setlk,
    .access = ovl_access,
    .ioctl = ovl_ioctl,
    .fallocate = ovl_fallocate,
    .lseek = ovl_lseek,
    .copy_file_range = ovl_copy_file_range,
    .reset = ovl_reset,
    .destroy = ovl_destroy,
};

/* Add one configured entry: its parents must be virtual directories added before. */
static int add_entry(struct overlay *o, const struct fs_overlay *ent, char *err, size_t errlen)
{
    const char *path = ent->path ? ent->path : "";
    const char *p = path;
    while (*p == '/')
        p++;
    size_t dir = 0;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        char name[FS_NAME_MAX + 1];
        int ret = fs_name_check(p, len);
        if (ret < 0) {
            snprintf(err, errlen, "virtio-fs: bad overlay path '%s'", path);
            return ret;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        long found = find_child(o, dir, name, false);
        if (slash) {
            if (found < 0 || !o->nodes[found].dir) {
                snprintf(err, errlen, "virtio-fs: overlay '%s': '%s' is not a virtual directory",
                         path, name);
                return found < 0 ? -ENOENT : -ENOTDIR;
            }
            dir = (size_t)found;
            p = slash + 1;
            continue;
        }
        if (found >= 0) {
            snprintf(err, errlen, "virtio-fs: overlay '%s' exists already", path);
            return -EEXIST;
        }
        if (ent->kind == FS_OVERLAY_FILE && !ent->data && ent->len) {
            snprintf(err, errlen, "virtio-fs: overlay file '%s' has no data", path);
            return -EINVAL;
        }
        struct ovl_node *v = &o->nodes[o->n];
        if (!(v->name = strdup(name))) {
            snprintf(err, errlen, "virtio-fs: out of memory");
            return -ENOMEM;
        }
        v->parent = dir;
        v->dir = ent->kind == FS_OVERLAY_DIR;
        v->mode = ent->mode & 07777;
        v->data = v->dir ? NULL : ent->data;
        v->len = v->dir ? 0 : ent->len;
        v->one_shot = ent->one_shot;
        atomic_init(&v->gone, false);
        o->n++;
        return 0;
    }
}

int overlay_new(const struct fs_ops *lower_ops, void *lower, const struct fs_overlay *entries,
                size_t n_entries, overlay_exit_fn exit_cb, void *cb_opaque, struct overlay **out,
                char *err, size_t errlen)
{
    struct overlay *o = calloc(1, sizeof(*o));
    if (o)
        o->nodes = calloc(n_entries + 1, sizeof(*o->nodes));
    if (!o || !o->nodes) {
        snprintf(err, errlen, "virtio-fs: out of memory");
        free(o);
        if (lower)
            lower_ops->destroy(lower);
        return -ENOMEM;
    }
    o->lops = lower_ops;
    o->lower = lower;
    o->exit_cb = exit_cb;
    o->cb_opaque = cb_opaque;
    clock_gettime(CLOCK_REALTIME, &o->t0);
    o->nodes[0] = (struct ovl_node){.dir = true, .mode = 0755};
    atomic_init(&o->nodes[0].gone, false);
    o->n = 1;
    for (size_t i = 0; i < n_entries; i++) {
        int ret = add_entry(o, &entries[i], err, errlen);
        if (ret < 0) {
            ovl_destroy(o);
            return ret;
        }
    }
    *out = o;
    return 0;
}
