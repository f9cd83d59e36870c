/* SPDX-License-Identifier: Apache-2.0 */
/* Host directory passthrough; see passthrough.h. */
#include "virtio/fs/passthrough.h"

#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "virtio/fs/fs_creds.h"
#include "virtio/fs/fuse_reply.h"
#include "virtio/fs/pt_policy.h"
#include "virtio/fs/pt_table.h"

#ifndef CONFIGFS_MAGIC
#define CONFIGFS_MAGIC 0x62656570
#endif
#ifndef FUSECTL_MAGIC
#define FUSECTL_MAGIC 0x65735543
#endif

struct passthrough {
    struct pt_table t;
    int proc_fd; /* /proc/self/fd: reopens our O_PATH fds */
    bool read_only;
    /* Whether creating operations take the guest's uid/gid: decided at the
     * first request, because the VMM may drop privileges (krun_setuid) after
     * the device was created. -1 until then. */
    atomic_int switch_creds;
    bool use_openat2;
};

static bool may_switch_creds(struct passthrough *fs)
{
    int v = atomic_load(&fs->switch_creds);
    if (v < 0) {
        v = fs_creds_can_switch();
        atomic_store(&fs->switch_creds, v);
    }
    return v;
}

/* "N" for fd N, as a name inside /proc/self/fd. */
struct fd_name {
    char s[16];
};

static struct fd_name fd_name(int fd)
{
    struct fd_name n;
    snprintf(n.s, sizeof(n.s), "%d", fd);
    return n;
}

/* The same, as a path for the calls that have no *at() form (xattrs). */
struct fd_path {
    char s[32];
};

static struct fd_path fd_path(int fd)
{
    struct fd_path p;
    snprintf(p.s, sizeof(p.s), "/proc/self/fd/%d", fd);
    return p;
}

/*
 * Open one name inside dirfd without following any symlink or leaving the
 * directory: the name is a single component (checked by the server), and
 * openat2's RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS enforce it again.
 */
static int open_child(struct passthrough *fs, int dirfd, const char *name, int flags, mode_t mode)
{
    flags |= O_NOFOLLOW | O_CLOEXEC;
    if (fs->use_openat2) {
        struct open_how how = {
            .flags = (uint64_t)flags,
            .mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? mode : 0,
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
        return fd >= 0 ? (int)fd : -errno;
    }
    int fd = openat(dirfd, name, flags, mode);
    return fd >= 0 ? fd : -errno;
}

/* Open the file behind one of our O_PATH fds for I/O (through our own /proc link). */
static int reopen(struct passthrough *fs, int fd, int flags)
{
    int nfd = openat(fs->proc_fd, fd_name(fd).s, flags | O_CLOEXEC);
    return nfd >= 0 ? nfd : -errno;
}

/* ---- device nodes of the guest, kept as empty regular files (docs/virtio-fs.md) ---- */

/* The record of fd's file, if it has a valid one. */
static bool devnode_read(int fd, struct pt_devnode *d)
{
    char buf[PT_DEVNODE_VALUE_MAX];
    ssize_t n = getxattr(fd_path(fd).s, PT_DEVNODE_XATTR, buf, sizeof(buf));
    return n > 0 && pt_devnode_parse(buf, (size_t)n, d);
}

/*
 * Show the host file behind fd (attributes st) as the device node its
 * record describes. Only empty regular files can be one, and a record that
 * does not parse leaves a plain file: the host may have changed either.
 */
static bool devnode_show(int fd, struct stat *st)
{
    struct pt_devnode d;
    if (!S_ISREG(st->st_mode) || st->st_size != 0 || !devnode_read(fd, &d))
        return false;
    st->st_mode = d.type | d.perm;
    st->st_rdev = makedev(d.major, d.minor);
    return true;
}

static int devnode_write(int fd, bool is_path, mode_t type, mode_t perm, dev_t dev)
{
    struct pt_devnode d = {.type = type, .perm = perm, .major = major(dev), .minor = minor(dev)};
    char val[PT_DEVNODE_VALUE_MAX];
    int len = pt_devnode_format(&d, val, sizeof(val));
    if (len < 0)
        return -EINVAL;
    int r = is_path ? setxattr(fd_path(fd).s, PT_DEVNODE_XATTR, val, (size_t)len, 0)
                    : fsetxattr(fd, PT_DEVNODE_XATTR, val, (size_t)len, 0);
    if (r == 0)
        return 0;
    /* No user xattrs on this filesystem: it cannot hold device nodes. */
    return errno == ENOTSUP ? -EPERM : -errno;
}

/* Give the unnamed file fd (O_TMPFILE) the name dirfd/name. */
static int link_tmpfile(struct passthrough *fs, int fd, int dirfd, const char *name)
{
    if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0)
        return 0;
    /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; our /proc link does not. */
    if (errno != ENOENT)
        return -errno;
    return linkat(fs->proc_fd, fd_name(fd).s, dirfd, name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

/*
 * Create name in dirfd as a device node of the guest: an empty 0600 file
 * with its record. The record is written before the name exists (O_TMPFILE,
 * then link), so that no LOOKUP ever sees the file without it.
 */
static int devnode_make(struct passthrough *fs, int dirfd, const char *name, mode_t mode, dev_t dev)
{
    int fd = open_child(fs, dirfd, ".", O_TMPFILE | O_WRONLY, 0600);
    if (fd >= 0) {
        int ret = devnode_write(fd, false, mode & S_IFMT, mode & 07777, dev);
        if (ret == 0)
            ret = link_tmpfile(fs, fd, dirfd, name);
        close(fd);
        return ret;
    }
    if (fd != -EOPNOTSUPP && fd != -EISDIR && fd != -EINVAL)
        return fd;
    /* No O_TMPFILE here: create, then write the record (a LOOKUP in between sees a file). */
    fd = open_child(fs, dirfd, name, O_CREAT | O_EXCL | O_WRONLY, 0600);
    if (fd < 0)
        return fd;
    int ret = devnode_write(fd, false, mode & S_IFMT, mode & 07777, dev);
    close(fd);
    if (ret < 0)
        unlinkat(dirfd, name, 0);
    return ret;
}

/* Filesystems whose files control the host rather than store data. */
static bool is_pseudo_fs(int fd)
{
    struct statfs sf;
    if (fstatfs(fd, &sf) < 0)
        return true;
    switch ((unsigned long)sf.f_type) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case SECURITYFS_MAGIC:
    case SELINUX_MAGIC:
    case SMACK_MAGIC:
    case BPF_FS_MAGIC:
    case EFIVARFS_MAGIC:
    case PSTOREFS_MAGIC:
    case BINFMTFS_MAGIC:
    case DEVPTS_SUPER_MAGIC:
    case NSFS_MAGIC:
    case CONFIGFS_MAGIC:
    case FUSECTL_MAGIC:
        return true;
    default:
        return false;
    }
}

/* Look name up in directory dirfd (on device dirdev) and count the lookup. */
static int lookup_at(struct passthrough *fs, int dirfd, dev_t dirdev, const char *name,
                     struct fs_entry *e)
{
    int fd = open_child(fs, dirfd, name, O_PATH, 0);
    if (fd < 0)
        return fd;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int ret = -errno;
        close(fd);
        return ret;
    }
    /* Only a mount point (of a directory or a file) can change the device. */
    bool opaque = st.st_dev != dirdev && is_pseudo_fs(fd);
    bool mapped = !opaque && devnode_show(fd, &st);
    struct pt_inode *ino;
    int ret = pt_inode_found(&fs->t, fd, &st, opaque, mapped, &ino);
    if (ret < 0)
        return ret;
    e->nodeid = ino->id;
    e->attr = st;
    pt_inode_put(&fs->t, ino);
    return 0;
}

/* The inode of a node the request works on; NULL if the guest's id is unknown. */
static struct pt_inode *node(struct passthrough *fs, uint64_t nodeid)
{
    return pt_inode_get(&fs->t, nodeid);
}

/* A directory to create, remove or rename in. */
static int dir_node(struct passthrough *fs, uint64_t nodeid, struct pt_inode **out)
{
    struct pt_inode *p = node(fs, nodeid);
    if (!p)
        return -ESTALE;
    if (p->opaque || !S_ISDIR(p->type)) {
        int ret = p->opaque ? -EACCES : -ENOTDIR;
        pt_inode_put(&fs->t, p);
        return ret;
    }
    *out = p;
    return 0;
}

static struct pt_handle *handle(struct passthrough *fs, uint64_t fh, bool dir)
{
    struct pt_handle *h = pt_handle_get(&fs->t, fh);
    if (h && h->dir != dir) {
        pt_handle_put(&fs->t, h);
        return NULL;
    }
    return h;
}

/*
 * A device node of the host (a bind-mounted /dev, say): never opened, and
 * its mode, owner and xattrs stay as they are, so that a guest cannot make
 * a host device usable by more host users. The 0:0 character device is an
 * overlayfs whiteout, not a device: it is left to the guest.
 */
static bool host_device(struct pt_inode *ino)
{
    /* A device node of the guest is a regular file on the host. */
    if (ino->mapped || (!S_ISCHR(ino->type) && !S_ISBLK(ino->type)))
        return false;
    struct stat st;
    if (fstat(ino->fd, &st) < 0)
        return true;
    return !(S_ISCHR(st.st_mode) && st.st_rdev == 0);
}

/* ---- lookup and attributes ---- */

static int pt_lookup(void *opaque, const struct fs_ctx *c, uint64_t parent, const char *name,
                     struct fs_entry *e)
{
    struct passthrough *fs = opaque;
    struct pt_inode *p = node(fs, parent);
    if (!p)
        return -ESTALE;
    int ret = p->opaque ? -ENOENT : lookup_at(fs, p->fd, p->dev, name, e);
    pt_inode_put(&fs->t, p);
    return ret;
}

static void pt_forget(void *opaque, uint64_t nodeid, uint64_t nlookup)
{
    struct passthrough *fs = opaque;
    pt_inode_forget(&fs->t, nodeid, nlookup);
}

static int pt_getattr(void *opaque, const struct fs_ctx *c, uint64_t nodeid, struct stat *st)
{
    struct passthrough *fs = opaque;
    struct pt_inode *ino = node(fs, nodeid);
    if (!ino)
        return -ESTALE;
    int ret = fstat(ino->fd, st) < 0 ? -errno : 0;
    if (ret == 0 && ino->mapped)
        devnode_show(ino->fd, st);
    pt_inode_put(&fs->t, ino);
    return ret;
}

static int set_times(struct passthrough *fs, struct pt_inode *ino, const struct fs_setattr *sa)
{
    struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_OMIT}};
    if (sa->valid & FATTR_ATIME_NOW)
        ts[0].tv_nsec = UTIME_NOW;
    else if (sa->valid & FATTR_ATIME)
        ts[0] = sa->atime;
    if (sa->valid & FATTR_MTIME_NOW)
        ts[1].tv_nsec = UTIME_NOW;
    else if (sa->valid & FATTR_MTIME)
        ts[1] = sa->mtime;
    if (utimensat(ino->fd, "", ts, AT_EMPTY_PATH) == 0)
        return 0;
    /* Kernels without AT_EMPTY_PATH here: through our own /proc link. */
    if (errno != EINVAL || S_ISLNK(ino->type))
        return -errno;
    return utimensat(fs->proc_fd, fd_name(ino->fd).s, ts, 0) < 0 ? -errno : 0;
}

static int set_size(struct passthrough *fs, struct pt_inode *ino, const struct fs_setattr *sa)
{
    if (S_ISDIR(ino->type))
        return -EISDIR;
    if (!S_ISREG(ino->type))
        return -EINVAL;
    if (sa->valid & FATTR_FH) {
        struct pt_handle *h = handle(fs, sa->fh, false);
        if (h) {
            int ret = ftruncate(h->fd, (off_t)sa->size) < 0 ? -errno : 0;
            pt_handle_put(&fs->t, h);
            return ret;
        }
    }
    int fd = reopen(fs, ino->fd, O_WRONLY);
    if (fd < 0)
        return fd;
    int ret = ftruncate(fd, (off_t)sa->size) < 0 ? -errno : 0;
    close(fd);
    return ret;
}

static int pt_setattr(void *opaque, const struct fs_ctx *c, uint64_t nodeid,
                      const struct fs_setattr *sa, struct stat *st)
{
    struct passthrough *fs = opaque;
    if (fs->read_only)
        return -EROFS;
    struct pt_inode *ino = node(fs, nodeid);
    if (!ino)
        return -ESTALE;
    int ret = ino->opaque ? -EACCES : 0;
    if (ret == 0 && (sa->valid & (FATTR_MODE | FATTR_UID | FATTR_GID)) && host_device(ino))
        ret = -EPERM;
    if (ret == 0 && (sa->valid & FATTR_MODE)) {
        if (S_ISLNK(ino->type))
            ret = -EOPNOTSUPP;
        else if (ino->mapped) /* the record has the bits; the host file stays 0600 */
            ret = devnode_write(ino->fd, true, ino->type, sa->mode & 07777, ino->rdev);
        else if (fchmodat(fs->proc_fd, fd_name(ino->fd).s, sa->mode & 07777, 0) < 0)
            ret = -errno;
    }
    if (ret == 0 && (sa->valid & (FATTR_UID | FATTR_GID))) {
        uid_t uid = (sa->valid & FATTR_UID) ? sa->uid : (uid_t)-1;
        gid_t gid = (sa->valid & FATTR_GID) ? sa->gid : (gid_t)-1;
        if (fchownat(ino->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
            ret = -errno;
    }
    if (ret == 0 && (sa->valid & FATTR_SIZE))
        ret = set_size(fs, ino, sa);
    if (ret == 0 && (sa->valid & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)))
        ret = set_times(fs, ino, sa);
    if (ret == 0 && fstat(ino->fd, st) < 0)
        ret = -errno;
    if (ret == 0 && ino->mapped)
        devnode_show(ino->fd, st);
    pt_inode_put(&fs->t, ino);
    return ret;
}

static int pt_readlink(void *opaque, const struct fs_ctx *c, uint64_t nodeid, char *buf,
                       size_t size)
{
    struct passthrough *fs = opaque;
    struct pt_inode *ino = node(fs, nodeid);
    if (!ino)
        return -ESTALE;
    int ret = -EINVAL;
    if (S_ISLNK(ino->type)) {
        ssize_t n = readlinkat(ino->fd, "", buf, size);
        ret = n < 0 ? -errno : (size_t)n >= size ? -ENAMETOOLONG : (int)n;
    }
    pt_inode_put(&fs->t, ino);
    return ret;
}

/* ---- creating and removing names ---- */

enum make_kind { MAKE_NODE, MAKE_DEVICE, MAKE_DIR, MAKE_SYMLINK };

/* Create a name as the guest user (when we may switch) and look it up. */
static int make(struct passthrough *fs, const struct fs_ctx *c, uint64_t parent, const char *name,
                enum make_kind kind, uint32_t mode, dev_t dev, const char *target,
                struct fs_entry *e)
{
    if (fs->read_only)
        return -EROFS;
    struct pt_inode *p;
    int ret = dir_node(fs, parent, &p);
    if (ret < 0)
        return ret;
    struct fs_creds_saved saved = {0};
    if (may_switch_creds(fs))
        ret = fs_creds_switch(c->uid, c->gid, &saved);
    if (ret == 0) {
        int r;
        if (kind == MAKE_DEVICE)
            r = devnode_make(fs, p->fd, name, mode, dev);
        else if (kind == MAKE_NODE)
            r = mknodat(p->fd, name, mode, dev) < 0 ? -errno : 0;
        else if (kind == MAKE_DIR)
            r = mkdirat(p->fd, name, mode) < 0 ? -errno : 0;
        else
            r = symlinkat(target, p->fd, name) < 0 ? -errno : 0;
        ret = r;
        fs_creds_restore(&saved);
    }
    if (ret == 0)
        ret = lookup_at(fs, p->fd, p->dev, name, e);
    pt_inode_put(&fs->t, p);
    return ret;
}

static int pt_mknod(void *opaque, const struct fs_ctx *c, uint64_t parent, const char *name,
                    uint32_t mode, uint32_t rdev, struct fs_entry *e)
{
    struct passthrough *fs = opaque;
    if (fs->read_only)
        return -EROFS; /* before the device check: a read-only share refuses everything so */
    enum make_kind kind = MAKE_NODE;
    switch (mode & S_IFMT) {
    case 0:
    case S_IFREG:
    case S_IFIFO:
    case S_IFSOCK:
        break;
    case S_IFCHR:
        /* The 0:0 "whiteout" of overlayfs is a real node; it is no device. */
        if (rdev == 0)
            break;
        /* fall through */
    case S_IFBLK:
        /* A guest must not plant devices on the host: an empty file stands for it. */
        kind = MAKE_DEVICE;
        break;
    default:
        return -EPERM;
    }
    dev_t dev = kind == MAKE_DEVICE ? fuse_decode_dev(rdev) : 0;
    return make(opaque, c, parent, name, kind, mode & (S_IFMT | 07777), dev, NULL, e);
}

static int pt_mkdir(void *opaque, const struct fs_ctx *c, uint64_t parent, const char *name,
                    uint32_t mode, struct fs_entry *e)
{
    return make(opaque, c, parent, name, MAKE_DIR, mode & 07777, 0, NULL, e);
}

static int pt_symlink(void *opaque, const struct fs_ctx *c, uint64_t parent, const char *name,
                      const char *target, struct fs_entry *e)
{
    return make(opaque, c, parent, name, MAKE_SYMLINK, 0, 0, target, e);
}

static int remove_name(struct passthrough *fs, uint64_t parent, const char *name, int flags)
{
    if (fs->read_only)
        return -EROFS;
    struct pt_inode *p;
    int ret = dir_node(fs, parent, &p);
    if (ret < 0)
        return ret;
    ret = unlinkat(p->fd, name, flags) < 0 ? -errno : 0;
    pt_inode_put(&fs->t, p);
    return ret;
}

static int pt_unlink(void *opaque, const struct fs_ctx *c, uint64_t parent, const char *name)
{
    return remove_name(opaque, parent, name, 0);
}

static int pt_rmdir(void *opaque, const struct fs_ctx *c, uint64_t parent, const char *name)
{
    return remove_name(opaque, parent, name, AT_REMOVEDIR);
}

static int pt_rename(void *opaque, const struct fs_ctx *c, uint64_t parent, const char *name,
                     uint64_t newparent, const char *newname, uint32_t flags)
{
    struct passthrough *fs = opaque;
    if (fs->read_only)
        return -EROFS;
    if (flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
        return -EINVAL;
    struct pt_inode *p, *np;
    int ret = dir_node(fs, parent, &p);
    if (ret < 0)
        return ret;
    ret = dir_node(fs, newparent, &np);
    if (ret == 0) {
        ret = renameat2(p->fd, name, np->fd, newname, flags) < 0 ? -errno : 0;
        pt_inode_put(&fs->t, np);
    }
    pt_inode_put(&fs->t, p);
    return ret;
}

static int pt_link(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t newparent,
                   const char *newname, struct fs_entry *e)
{
    struct passthrough *fs = opaque;
    if (fs->read_only)
        return -EROFS;
    struct pt_inode *ino = node(fs, nodeid);
    if (!ino)
        return -ESTALE;
    struct pt_inode *np;
    int ret = ino->opaque ? -EACCES : S_ISDIR(ino->type) ? -EPERM : 0;
    if (ret == 0 && (ret = dir_node(fs, newparent, &np)) == 0) {
        int r = linkat(ino->fd, "", np->fd, newname, AT_EMPTY_PATH);
        /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; our /proc link does not. */
        if (r < 0 && errno == ENOENT)
            r = linkat(fs->proc_fd, fd_name(ino->fd).s, np->fd, newname, AT_SYMLINK_FOLLOW);
        ret = r < 0 ? -errno : 0;
        if (ret == 0)
            ret = lookup_at(fs, np->fd, np->dev, newname, e);
        pt_inode_put(&fs->t, np);
    }
    pt_inode_put(&fs->t, ino);
    return ret;
}

/* ---- files ---- */

/* The guest's open flags that make sense on the host; -EINVAL for nonsense. */
static int host_open_flags(uint32_t flags)
{
    if ((flags & O_ACCMODE) == O_ACCMODE)
        return -EINVAL;
    /* No O_DIRECT: the guest's buffers are not aligned for the host's device. */
    return (int)(flags & (O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC | O_DSYNC));
}

static bool writes(int flags)
{
    return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

/*
 * Open an inode for I/O. Only regular files: opening a FIFO could block and
 * opening a device has effects on the host (the guest kernel never asks for
 * either; it handles special files itself).
 */
static int open_inode(struct passthrough *fs, struct pt_inode *ino, int flags, uint64_t *fh)
{
    if (ino->opaque)
        return -EACCES;
    switch (ino->type) {
    case S_IFREG:
        break;
    case S_IFDIR:
        return -EISDIR;
    case S_IFLNK:
        return -ELOOP;
    default:
        return -EACCES;
    }
    if (fs->read_only && writes(flags))
        return -EROFS;
    int fd = reopen(fs, ino->fd, flags);
    if (fd < 0)
        return fd;
    return pt_handle_add(&fs->t, fd, false, false, ino->dev, fh);
}

/* Our FLUSH has nothing to do (locks are per handle and go at RELEASE, there is
   no write-back cache): the guest may skip it, which saves a request per close. */
#define PT_OPEN_FLAGS FOPEN_NOFLUSH

static int pt_open(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint32_t flags,
                   uint64_t *fh, uint32_t *open_flags)
{
    struct passthrough *fs = opaque;
    int hflags = host_open_flags(flags);
    if (hflags < 0)
        return hflags;
    struct pt_inode *ino = node(fs, nodeid);
    if (!ino)
        return -ESTALE;
    int ret = open_inode(fs, ino, hflags, fh);
    pt_inode_put(&fs->t, ino);
    *open_flags = PT_OPEN_FLAGS;
    return ret;
}

/* A file just created through fd: its inode, found through our /proc link of fd. */
static int created(struct passthrough *fs, int fd, struct fs_entry *e)
{
    int pfd = reopen(fs, fd, O_PATH);
    if (pfd < 0)
        return pfd;
    struct stat st;
    if (fstat(pfd, &st) < 0) {
        int ret = -errno;
        close(pfd);
        return ret;
    }
    struct pt_inode *ino;
    int ret = pt_inode_found(&fs->t, pfd, &st, false, false, &ino);
    if (ret < 0)
        return ret;
    e->nodeid = ino->id;
    e->attr = st;
    pt_inode_put(&fs->t, ino);
    return 0;
}

static int pt_create(void *opaque, const struct fs_ctx *c, uint64_t parent, const char *name,
                     uint32_t mode, uint32_t flags, struct fs_entry *e, uint64_t *fh,
                     uint32_t *open_flags)
{
    struct passthrough *fs = opaque;
    *open_flags = PT_OPEN_FLAGS;
    if (fs->read_only)
        return -EROFS;
    int hflags = host_open_flags(flags);
    if (hflags < 0)
        return hflags;
    struct pt_inode *p;
    int ret = dir_node(fs, parent, &p);
    if (ret < 0)
        return ret;
    /* Always exclusive: an existing name must not be opened before its type is checked. */
    struct fs_creds_saved saved = {0};
    int fd = may_switch_creds(fs) ? fs_creds_switch(c->uid, c->gid, &saved) : 0;
    if (fd == 0) {
        fd = open_child(fs, p->fd, name, hflags | O_CREAT | O_EXCL, mode & 07777);
        fs_creds_restore(&saved);
    }
    if (fd == -EEXIST && !(flags & O_EXCL)) {
        ret = lookup_at(fs, p->fd, p->dev, name, e);
        if (ret == 0) {
            struct pt_inode *ino = node(fs, e->nodeid);
            ret = ino ? open_inode(fs, ino, hflags, fh) : -ESTALE;
            pt_inode_put(&fs->t, ino);
            if (ret < 0)
                pt_inode_forget(&fs->t, e->nodeid, 1);
        }
    } else if (fd < 0) {
        ret = fd;
    } else {
        ret = created(fs, fd, e);
        if (ret < 0) {
            close(fd);
        } else if ((ret = pt_handle_add(&fs->t, fd, false, false, e->attr.st_dev, fh)) < 0) {
            pt_inode_forget(&fs->t, e->nodeid, 1);
        }
    }
    pt_inode_put(&fs->t, p);
    return ret;
}

/* preadv/pwritev take at most IOV_MAX segments: go in slices, stop at a short transfer. */
static ssize_t rw_iov(int fd, const struct iovec *iov, unsigned n, uint64_t off, bool write)
{
    ssize_t total = 0;
    while (n > 0) {
        int cnt = n > IOV_MAX ? IOV_MAX : (int)n;
        size_t want = 0;
        for (int i = 0; i < cnt; i++)
            want += iov[i].iov_len;
        ssize_t r = write ? pwritev(fd, iov, cnt, (off_t)(off + (uint64_t)total))
                          : preadv(fd, iov, cnt, (off_t)(off + (uint64_t)total));
        if (r < 0)
            return total > 0 ? total : -errno;
        total += r;
        if ((size_t)r < want)
            break;
        iov += cnt;
        n -= (unsigned)cnt;
    }
    return total;
}

static ssize_t pt_read(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                       const struct iovec *iov, unsigned n, uint64_t off)
{
    struct passthrough *fs = opaque;
    struct pt_handle *h = handle(fs, fh, false);
    if (!h)
        return -EBADF;
    ssize_t ret = rw_iov(h->fd, iov, n, off, false);
    pt_handle_put(&fs->t, h);
    return ret;
}

static ssize_t pt_write(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                        const struct iovec *iov, unsigned n, uint64_t off)
{
    struct passthrough *fs = opaque;
    if (fs->read_only)
        return -EROFS;
    struct pt_handle *h = handle(fs, fh, false);
    if (!h)
        return -EBADF;
    ssize_t ret = rw_iov(h->fd, iov, n, off, true);
    pt_handle_put(&fs->t, h);
    return ret;
}

static int pt_statfs(void *opaque, const struct fs_ctx *c, uint64_t nodeid, struct statvfs *sv)
{
    struct passthrough *fs = opaque;
    struct pt_inode *ino = node(fs, nodeid);
    if (!ino)
        return -ESTALE;
    int fd = ino->opaque ? fs->t.root.fd : ino->fd;
    int ret = fstatvfs(fd, sv) < 0 ? -errno : 0;
    if (ret == 0 && fs->read_only)
        sv->f_flag |= ST_RDONLY;
    pt_inode_put(&fs->t, ino);
    return ret;
}

static int pt_release(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh)
{
    struct passthrough *fs = opaque;
    return pt_handle_release(&fs->t, fh, false);
}

static int pt_flush(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                    uint64_t lock_owner)
{
    /* Locks are per handle (OFD) and go away at RELEASE; nothing to do at close. */
    struct passthrough *fs = opaque;
    struct pt_handle *h = handle(fs, fh, false);
    if (!h)
        return -EBADF;
    pt_handle_put(&fs->t, h);
    return 0;
}

static int sync_handle(struct passthrough *fs, uint64_t fh, bool dir, bool datasync)
{
    struct pt_handle *h = handle(fs, fh, dir);
    if (!h)
        return -EBADF;
    int ret = 0;
    if (h->fd >= 0 && (datasync ? fdatasync(h->fd) : fsync(h->fd)) < 0)
        ret = -errno;
    pt_handle_put(&fs->t, h);
    return ret;
}

static int pt_fsync(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                    bool datasync)
{
    return sync_handle(opaque, fh, false, datasync);
}

static int pt_fsyncdir(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                       bool datasync)
{
    return sync_handle(opaque, fh, true, datasync);
}

/* ---- extended attributes (through our /proc link: no open of the file) ---- */

static int pt_setxattr(void *opaque, const struct fs_ctx *c, uint64_t nodeid, const char *name,
                       const void *value, size_t size, int flags)
{
    struct passthrough *fs = opaque;
    if (fs->read_only)
        return -EROFS;
    if (!pt_xattr_allowed(name))
        return -EPERM;
    struct pt_inode *ino = node(fs, nodeid);
    if (!ino)
        return -ESTALE;
    int ret = ino->opaque ? -EACCES : host_device(ino) ? -EPERM : 0;
    if (ret == 0)
        ret = setxattr(fd_path(ino->fd).s, name, value, size, flags) < 0 ? -errno : 0;
    pt_inode_put(&fs->t, ino);
    return ret;
}

static ssize_t pt_getxattr(void *opaque, const struct fs_ctx *c, uint64_t nodeid, const char *name,
                           void *buf, size_t size)
{
    struct passthrough *fs = opaque;
    if (!pt_xattr_allowed(name))
        return -EPERM;
    struct pt_inode *ino = node(fs, nodeid);
    if (!ino)
        return -ESTALE;
    ssize_t ret = -ENODATA;
    if (!ino->opaque) {
        ret = getxattr(fd_path(ino->fd).s, name, buf, size);
        if (ret < 0)
            ret = -errno;
    }
    pt_inode_put(&fs->t, ino);
    return ret;
}

/* The names of fd's xattrs the guest may see; size 0 asks for their length. */
static ssize_t list_allowed(int fd, void *buf, size_t size)
{
    /* The whole list, whatever the guest asked, so that the refused names can go. */
    char *all = malloc(XATTR_LIST_MAX);
    if (!all)
        return -ENOMEM;
    ssize_t n = listxattr(fd_path(fd).s, all, XATTR_LIST_MAX);
    ssize_t ret = n < 0 ? -errno : (ssize_t)pt_xattr_filter(all, (size_t)n);
    if (ret > 0 && size > 0) {
        if ((size_t)ret > size)
            ret = -ERANGE;
        else
            memcpy(buf, all, (size_t)ret);
    }
    free(all);
    return ret;
}

static ssize_t pt_listxattr(void *opaque, const struct fs_ctx *c, uint64_t nodeid, void *buf,
                            size_t size)
{
    struct passthrough *fs = opaque;
    struct pt_inode *ino = node(fs, nodeid);
    if (!ino)
        return -ESTALE;
    ssize_t ret = ino->opaque ? 0 : list_allowed(ino->fd, buf, size);
    pt_inode_put(&fs->t, ino);
    return ret;
}

static int pt_removexattr(void *opaque, const struct fs_ctx *c, uint64_t nodeid, const char *name)
{
    struct passthrough *fs = opaque;
    if (fs->read_only)
        return -EROFS;
    if (!pt_xattr_allowed(name))
        return -EPERM;
    struct pt_inode *ino = node(fs, nodeid);
    if (!ino)
        return -ESTALE;
    int ret = ino->opaque ? -EACCES : host_device(ino) ? -EPERM : 0;
    if (ret == 0)
        ret = removexattr(fd_path(ino->fd).s, name) < 0 ? -errno : 0;
    pt_inode_put(&fs->t, ino);
    return ret;
}

/* ---- directories ---- */

static int pt_opendir(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint32_t flags,
                      uint64_t *fh, uint32_t *open_flags)
{
    struct passthrough *fs = opaque;
    struct pt_inode *ino = node(fs, nodeid);
    if (!ino)
        return -ESTALE;
    int ret = 0;
    *open_flags = 0;
    if (!S_ISDIR(ino->type)) {
        ret = -ENOTDIR;
    } else {
        /* An opaque directory lists as empty: no fd. */
        int fd = ino->opaque ? -1 : reopen(fs, ino->fd, O_RDONLY | O_DIRECTORY);
        if (fd < 0 && !ino->opaque)
            ret = fd;
        else
            ret = pt_handle_add(&fs->t, fd, true, ino == &fs->t.root, ino->dev, fh);
    }
    pt_inode_put(&fs->t, ino);
    return ret;
}

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* The type READDIR shows for a regular file: a device node kept as a file shows as one. */
static unsigned listed_type(struct passthrough *fs, int dirfd, const char *name)
{
    struct stat st;
    /* Only empty regular files can be device nodes: one fstatat for most entries. */
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
        st.st_size != 0)
        return DT_REG;
    int fd = open_child(fs, dirfd, name, O_PATH, 0);
    if (fd < 0)
        return DT_REG;
    unsigned type = DT_REG;
    if (fstat(fd, &st) == 0 && devnode_show(fd, &st))
        type = IFTODT(st.st_mode);
    close(fd);
    return type;
}

/* List from offset off: seek there each time, so concurrent readers and changes are fine. */
static int list_dir(struct passthrough *fs, struct pt_handle *h, uint64_t off, struct fs_dirbuf *b)
{
    if (lseek(h->fd, (off_t)off, SEEK_SET) < 0)
        return -errno;
    bool plus = fs_dirbuf_plus(b);
    char buf[8192] __attribute__((aligned(8)));
    for (;;) {
        long n = syscall(SYS_getdents64, h->fd, buf, sizeof(buf));
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        for (long pos = 0; pos < n;) {
            const struct linux_dirent64 *d = (const void *)(buf + pos);
            pos += d->d_reclen;
            const char *name = d->d_name;
            size_t len = strlen(name);
            if (!fs_dirbuf_fits(b, len))
                return 0;
            bool dot = strcmp(name, ".") == 0;
            bool dotdot = strcmp(name, "..") == 0;
            uint64_t ino = d->d_ino;
            /* The share root's parent is outside the share: show the root itself. */
            if (dotdot && h->at_root)
                ino = fs->t.root.ino;
            struct fs_entry e = {0};
            bool counted = false;
            if (plus && !dot && !dotdot)
                counted = lookup_at(fs, h->fd, h->dev, name, &e) == 0;
            unsigned type = d->d_type;
            if (counted)
                type = IFTODT(e.attr.st_mode);
            else if (!plus && type == DT_REG)
                type = listed_type(fs, h->fd, name);
            fs_dirbuf_add(b, name, len, ino, type, (uint64_t)d->d_off, counted ? &e : NULL);
        }
    }
}

static int pt_readdir(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                      uint64_t off, struct fs_dirbuf *b)
{
    struct passthrough *fs = opaque;
    if (off > INT64_MAX)
        return -EINVAL;
    struct pt_handle *h = handle(fs, fh, true);
    if (!h)
        return -EBADF;
    int ret = 0;
    if (h->fd < 0) {
        fs_dirbuf_add_dots(b, off, 0);
    } else {
        pthread_mutex_lock(&h->lock);
        ret = list_dir(fs, h, off, b);
        pthread_mutex_unlock(&h->lock);
    }
    pt_handle_put(&fs->t, h);
    return ret;
}

static int pt_releasedir(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh)
{
    struct passthrough *fs = opaque;
    return pt_handle_release(&fs->t, fh, true);
}

/* ---- locks ---- */

static void flock_from(const struct fs_lock *lk, struct flock *fl)
{
    memset(fl, 0, sizeof(*fl));
    fl->l_type = (short)lk->type;
    fl->l_whence = SEEK_SET;
    fl->l_start = (off_t)lk->start;
    fl->l_len = lk->end == INT64_MAX ? 0 : (off_t)(lk->end - lk->start + 1);
    fl->l_pid = 0; /* required for OFD locks */
}

static int pt_getlk(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                    struct fs_lock *lk)
{
    struct passthrough *fs = opaque;
    if (lk->flock)
        return -EINVAL;
    struct pt_handle *h = handle(fs, fh, false);
    if (!h)
        return -EBADF;
    struct flock fl;
    flock_from(lk, &fl);
    int ret = fcntl(h->fd, F_OFD_GETLK, &fl) < 0 ? -errno : 0;
    pt_handle_put(&fs->t, h);
    if (ret < 0)
        return ret;
    lk->type = (uint32_t)fl.l_type;
    if (fl.l_type != F_UNLCK) {
        lk->start = (uint64_t)fl.l_start;
        lk->end = fl.l_len == 0 ? INT64_MAX : (uint64_t)(fl.l_start + fl.l_len - 1);
    }
    return 0;
}

static int pt_setlk(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                    const struct fs_lock *lk)
{
    struct passthrough *fs = opaque;
    struct pt_handle *h = handle(fs, fh, false);
    if (!h)
        return -EBADF;
    int ret;
    if (lk->flock) {
        int op = lk->type == F_RDLCK ? LOCK_SH : lk->type == F_WRLCK ? LOCK_EX : LOCK_UN;
        ret = flock(h->fd, op | LOCK_NB) < 0 ? -errno : 0;
    } else {
        struct flock fl;
        flock_from(lk, &fl);
        ret = fcntl(h->fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
    }
    pt_handle_put(&fs->t, h);
    return ret == -EACCES || ret == -EWOULDBLOCK ? -EAGAIN : ret;
}

/* ---- the rest ---- */

static int pt_access(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint32_t mask)
{
    struct passthrough *fs = opaque;
    if (fs->read_only && (mask & W_OK))
        return -EROFS;
    struct pt_inode *ino = node(fs, nodeid);
    if (!ino)
        return -ESTALE;
    int ret;
    if (ino->opaque)
        ret = (mask & W_OK) ? -EACCES : 0;
    else
        ret = faccessat(fs->proc_fd, fd_name(ino->fd).s, (int)mask, AT_EACCESS) < 0 ? -errno : 0;
    pt_inode_put(&fs->t, ino);
    return ret;
}

static int pt_ioctl(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                    uint32_t flags, uint32_t cmd, uint64_t arg)
{
    /* Host ioctls are never passed through. */
    return -ENOTTY;
}

static int pt_fallocate(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                        uint32_t mode, uint64_t off, uint64_t len)
{
    struct passthrough *fs = opaque;
    if (fs->read_only)
        return -EROFS;
    struct pt_handle *h = handle(fs, fh, false);
    if (!h)
        return -EBADF;
    int ret = fallocate(h->fd, (int)mode, (off_t)off, (off_t)len) < 0 ? -errno : 0;
    pt_handle_put(&fs->t, h);
    return ret;
}

static int pt_lseek(void *opaque, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                    uint64_t off, uint32_t whence, uint64_t *result)
{
    struct passthrough *fs = opaque;
    /* The handle's own position is never used (I/O is positional): no SEEK_CUR. */
    if (whence != SEEK_SET && whence != SEEK_END && whence != SEEK_DATA && whence != SEEK_HOLE)
        return -EINVAL;
    struct pt_handle *h = handle(fs, fh, false);
    if (!h)
        return -EBADF;
    off_t r = lseek(h->fd, (off_t)off, (int)whence);
    pt_handle_put(&fs->t, h);
    if (r < 0)
        return -errno;
    *result = (uint64_t)r;
    return 0;
}

static ssize_t pt_copy_file_range(void *opaque, const struct fs_ctx *c, uint64_t fh_in,
                                  uint64_t off_in, uint64_t fh_out, uint64_t off_out, uint64_t len)
{
    struct passthrough *fs = opaque;
    if (fs->read_only)
        return -EROFS;
    struct pt_handle *in = handle(fs, fh_in, false);
    if (!in)
        return -EBADF;
    struct pt_handle *out = handle(fs, fh_out, false);
    if (!out) {
        pt_handle_put(&fs->t, in);
        return -EBADF;
    }
    loff_t oi = (loff_t)off_in, oo = (loff_t)off_out;
    ssize_t n = copy_file_range(in->fd, &oi, out->fd, &oo, len, 0);
    ssize_t ret = n < 0 ? -errno : n;
    pt_handle_put(&fs->t, out);
    pt_handle_put(&fs->t, in);
    return ret;
}

static void pt_reset(void *opaque)
{
    struct passthrough *fs = opaque;
    pt_table_reset(&fs->t);
}

static void pt_destroy(void *opaque)
{
    struct passthrough *fs = opaque;
    if (!fs)
        return;
    pt_table_free(&fs->t);
    close(fs->proc_fd);
    free(fs);
}

const struct fs_ops passthrough_ops = {
    .lookup = pt_lookup,
    .forget = pt_forget,
    .getattr = pt_getattr,
    .setattr = pt_setattr,
    .readlink = pt_readlink,
    .mknod = pt_mknod,
    .mkdir = pt_mkdir,
    .symlink = pt_symlink,
    .unlink = pt_unlink,
    .rmdir = pt_rmdir,
    .rename = pt_rename,
    .link = pt_link,
    .open = pt_open,
    .create = pt_create,
    .read = pt_read,
    .write = pt_write,
    .statfs = pt_statfs,
    .release = pt_release,
    .flush = pt_flush,
    .fsync = pt_fsync,
    .setxattr = pt_setxattr,
    .getxattr = pt_getxattr,
    .listxattr = pt_listxattr,
    .removexattr = pt_removexattr,
    .opendir = pt_opendir,
    .readdir = pt_readdir,
    .releasedir = pt_releasedir,
    .fsyncdir = pt_fsyncdir,
    .getlk = pt_getlk,
    .setlk = pt_setlk,
    .access = pt_access,
    .ioctl = pt_ioctl,
    .fallocate = pt_fallocate,
    .lseek = pt_lseek,
    .copy_file_range = pt_copy_file_range,
    .reset = pt_reset,
    .destroy = pt_destroy,
};

/* Whether openat2 works here (Linux 5.6+, and not refused by a seccomp filter). */
static bool probe_openat2(int dirfd)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_BENEATH};
    long fd = syscall(SYS_openat2, dirfd, ".", &how, sizeof(how));
    if (fd < 0)
        return false;
    close((int)fd);
    return true;
}

int passthrough_new(const char *path, bool read_only, struct passthrough **out, char *err,
                    size_t errlen)
{
    int ret;
    int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) {
        ret = -errno;
        snprintf(err, errlen, "virtio-fs: cannot open shared directory '%s': %s", path,
                 strerror(errno));
        return ret;
    }
    struct stat st;
    if (fstat(root, &st) < 0) {
        ret = -errno;
        snprintf(err, errlen, "virtio-fs: cannot stat shared directory '%s': %s", path,
                 strerror(errno));
        close(root);
        return ret;
    }
    struct statfs sf;
    int proc = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (proc < 0 || fstatfs(proc, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC) {
        ret = proc < 0 ? -errno : -ENOENT;
        snprintf(err, errlen, "virtio-fs: sharing '%s' needs /proc mounted in the VMM: %s", path,
                 strerror(-ret));
        if (proc >= 0)
            close(proc);
        close(root);
        return ret;
    }
    struct passthrough *fs = calloc(1, sizeof(*fs));
    if (!fs || pt_table_init(&fs->t, root, &st) < 0) {
        snprintf(err, errlen, "virtio-fs: sharing '%s': out of memory", path);
        free(fs);
        close(proc);
        close(root);
        return -ENOMEM;
    }
    fs->proc_fd = proc;
    fs->read_only = read_only;
    atomic_init(&fs->switch_creds, -1);
    fs->use_openat2 = probe_openat2(root);
    *out = fs;
    return 0;
}
