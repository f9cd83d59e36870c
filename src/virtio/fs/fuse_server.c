/* SPDX-License-Identifier: Apache-2.0 */
/* FUSE request decoding and dispatch; see fuse_server.h. */
#include "virtio/fs/fuse_server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <linux/limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "virtio/fs/fs_name.h"
#include "virtio/fs/fuse_iov.h"
#include "virtio/fs/fuse_reply.h"

#define HDR_IN  sizeof(struct fuse_in_header)
#define HDR_OUT sizeof(struct fuse_out_header)
/* Largest request body other than WRITE data: SETXATTR with a 64 KiB value. */
#define ARGS_MAX (64 * 1024 + 8 * 1024)
/* Bodies up to this size are copied to the stack (all but big xattrs). */
#define ARGS_STACK      8192
#define XATTR_VALUE_MAX (64 * 1024)
#define PATH_LEN_MAX    4096
/* Data iovecs of READ/WRITE kept on the stack; longer chains use the heap. */
#define IOV_STACK 64
/* The largest byte count a single COPY_FILE_RANGE may report (u32, page aligned). */
#define COPY_MAX 0xfffff000u
/* SETLKW polling interval bounds. */
#define LOCK_POLL_MIN_NS 1000000L
#define LOCK_POLL_MAX_NS 64000000L

struct fuse_server {
    const struct fs_ops *ops;
    void *fs;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* lock waiters sleep here; stop wakes them */
    atomic_bool ready;   /* FUSE_INIT done */
    bool stopping;
    unsigned max_waiters, waiters;
    uint32_t minor;
};

/* One request in progress. */
struct req {
    struct fuse_server *s;
    const struct iovec *in, *out;
    unsigned n_in, n_out;
    size_t out_len;
    struct fuse_in_header h;
    struct fs_ctx ctx;
    const uint8_t *arg; /* private copy of the body after the header */
    size_t arg_len, pos;
};

/* ---- replies ---- */

static size_t reply_raw(struct req *r, int error, const void *a, size_t alen, const void *b,
                        size_t blen)
{
    struct fuse_out_header oh = {
        .len = (uint32_t)(HDR_OUT + alen + blen),
        .error = error,
        .unique = r->h.unique,
    };
    fiov_scatter(r->out, r->n_out, 0, &oh, sizeof(oh));
    if (alen)
        fiov_scatter(r->out, r->n_out, HDR_OUT, a, alen);
    if (blen)
        fiov_scatter(r->out, r->n_out, HDR_OUT + alen, b, blen);
    return oh.len;
}

static size_t reply_err(struct req *r, int err)
{
    if (r->out_len < HDR_OUT)
        return 0;
    /* Only plain errno values reach the guest. */
    if (err >= 0 || err < -4095)
        err = -EIO;
    return reply_raw(r, err, NULL, 0, NULL, 0);
}

static size_t out_room(const struct req *r)
{
    return r->out_len - HDR_OUT;
}

/* A fixed-size reply; the space was checked before the operation ran. */
static size_t reply_ok(struct req *r, const void *a, size_t alen, const void *b, size_t blen)
{
    if (r->out_len < HDR_OUT || alen + blen > out_room(r))
        return reply_err(r, -EINVAL);
    return reply_raw(r, 0, a, alen, b, blen);
}

/* A reply of variable size: -ERANGE if the guest's buffer is too small. */
static size_t reply_data(struct req *r, const void *data, size_t len)
{
    if (len > out_room(r))
        return reply_err(r, -ERANGE);
    return reply_raw(r, 0, data, len, NULL, 0);
}

static size_t reply_entry(struct req *r, const struct fs_entry *e)
{
    struct fuse_entry_out eo;
    fuse_fill_entry(&eo, e);
    return reply_ok(r, &eo, sizeof(eo), NULL, 0);
}

static size_t reply_attr(struct req *r, const struct stat *st)
{
    struct fuse_attr_out ao = {.attr_valid = FUSE_TIMEOUT_SEC};
    fuse_fill_attr(&ao.attr, st);
    return reply_ok(r, &ao, sizeof(ao), NULL, 0);
}

static size_t reply_open(struct req *r, uint64_t fh, uint32_t open_flags)
{
    struct fuse_open_out oo = {.fh = fh, .open_flags = open_flags};
    return reply_ok(r, &oo, sizeof(oo), NULL, 0);
}

static size_t reply_status(struct req *r, int ret)
{
    return ret < 0 ? reply_err(r, ret) : reply_ok(r, NULL, 0, NULL, 0);
}

/* ---- request body parsing ---- */

static bool take(struct req *r, void *dst, size_t len)
{
    if (r->arg_len - r->pos < len)
        return false;
    memcpy(dst, r->arg + r->pos, len);
    r->pos += len;
    return true;
}

/* The next NUL-terminated string of the body, or NULL if there is no NUL. */
static const char *take_str(struct req *r, size_t *len)
{
    const char *p = (const char *)r->arg + r->pos;
    const char *nul = memchr(p, '\0', r->arg_len - r->pos);
    if (!nul)
        return NULL;
    *len = (size_t)(nul - p);
    r->pos += *len + 1;
    return p;
}

/* The next name: one path component. */
static int take_name(struct req *r, const char **name)
{
    size_t len;
    const char *n = take_str(r, &len);
    if (!n)
        return -EINVAL;
    int ret = fs_name_check(n, len);
    if (ret < 0)
        return ret;
    *name = n;
    return 0;
}

static int take_xattr_name(struct req *r, const char **name)
{
    size_t len;
    const char *n = take_str(r, &len);
    if (!n)
        return -EINVAL;
    if (len == 0 || len > XATTR_NAME_MAX)
        return -ERANGE;
    *name = n;
    return 0;
}

static bool offset_ok(uint64_t off)
{
    return off <= INT64_MAX;
}

/* ---- operations ---- */

#define FS   (r->s->fs)
#define OPS  (r->s->ops)
#define CTX  (&r->ctx)
#define NODE (r->h.nodeid)

static size_t do_lookup(struct req *r)
{
    const char *name;
    int ret = take_name(r, &name);
    if (ret < 0)
        return reply_err(r, ret);
    struct fs_entry e = {0};
    ret = OPS->lookup(FS, CTX, NODE, name, &e);
    if (ret == -ENOENT) {
        /* A negative entry (node 0) the driver caches as long as a positive one: a
           repeated miss (PATH search, unlink before create) then costs no request. */
        struct fuse_entry_out out = {.entry_valid = FUSE_TIMEOUT_SEC};
        return reply_ok(r, &out, sizeof(out), NULL, 0);
    }
    return ret < 0 ? reply_err(r, ret) : reply_entry(r, &e);
}

static size_t do_forget(struct req *r)
{
    struct fuse_forget_in in = {0};
    take(r, &in, sizeof(in));
    OPS->forget(FS, NODE, in.nlookup);
    return 0;
}

static size_t do_batch_forget(struct req *r)
{
    struct fuse_batch_forget_in in = {0};
    take(r, &in, sizeof(in));
    struct fuse_forget_one one;
    for (uint32_t i = 0; i < in.count && take(r, &one, sizeof(one)); i++)
        OPS->forget(FS, one.nodeid, one.nlookup);
    return 0;
}

static size_t do_getattr(struct req *r)
{
    /* The handle in fuse_getattr_in names the same inode; the node is enough. */
    struct stat st;
    int ret = OPS->getattr(FS, CTX, NODE, &st);
    return ret < 0 ? reply_err(r, ret) : reply_attr(r, &st);
}

static int timespec_from(uint64_t sec, uint32_t nsec, struct timespec *ts)
{
    if (sec > INT64_MAX || nsec >= 1000000000u)
        return -EINVAL;
    ts->tv_sec = (time_t)sec;
    ts->tv_nsec = nsec;
    return 0;
}

static size_t do_setattr(struct req *r)
{
    struct fuse_setattr_in in = {0};
    take(r, &in, sizeof(in));
    struct fs_setattr sa = {
        .valid = in.valid,
        .mode = in.mode,
        .uid = in.uid,
        .gid = in.gid,
        .size = in.size,
        .fh = in.fh,
    };
    if ((in.valid & FATTR_SIZE) && !offset_ok(in.size))
        return reply_err(r, -EINVAL);
    if ((in.valid & FATTR_ATIME) && !(in.valid & FATTR_ATIME_NOW) &&
        timespec_from(in.atime, in.atimensec, &sa.atime) < 0)
        return reply_err(r, -EINVAL);
    if ((in.valid & FATTR_MTIME) && !(in.valid & FATTR_MTIME_NOW) &&
        timespec_from(in.mtime, in.mtimensec, &sa.mtime) < 0)
        return reply_err(r, -EINVAL);
    struct stat st;
    int ret = OPS->setattr(FS, CTX, NODE, &sa, &st);
    return ret < 0 ? reply_err(r, ret) : reply_attr(r, &st);
}

static size_t do_readlink(struct req *r)
{
    char buf[PATH_LEN_MAX];
    int ret = OPS->readlink(FS, CTX, NODE, buf, sizeof(buf));
    if (ret < 0)
        return reply_err(r, ret);
    return reply_data(r, buf, (size_t)ret);
}

static size_t do_symlink(struct req *r)
{
    const char *name, *target;
    size_t tlen;
    int ret = take_name(r, &name);
    if (ret < 0)
        return reply_err(r, ret);
    if (!(target = take_str(r, &tlen)))
        return reply_err(r, -EINVAL);
    if (tlen == 0)
        return reply_err(r, -ENOENT);
    if (tlen >= PATH_LEN_MAX)
        return reply_err(r, -ENAMETOOLONG);
    struct fs_entry e = {0};
    ret = OPS->symlink(FS, CTX, NODE, name, target, &e);
    return ret < 0 ? reply_err(r, ret) : reply_entry(r, &e);
}

static size_t do_mknod(struct req *r)
{
    struct fuse_mknod_in in = {0};
    take(r, &in, sizeof(in));
    const char *name;
    int ret = take_name(r, &name);
    if (ret < 0)
        return reply_err(r, ret);
    struct fs_entry e = {0};
    ret = OPS->mknod(FS, CTX, NODE, name, in.mode, in.rdev, &e);
    return ret < 0 ? reply_err(r, ret) : reply_entry(r, &e);
}

static size_t do_mkdir(struct req *r)
{
    struct fuse_mkdir_in in = {0};
    take(r, &in, sizeof(in));
    const char *name;
    int ret = take_name(r, &name);
    if (ret < 0)
        return reply_err(r, ret);
    struct fs_entry e = {0};
    ret = OPS->mkdir(FS, CTX, NODE, name, in.mode, &e);
    return ret < 0 ? reply_err(r, ret) : reply_entry(r, &e);
}

static size_t do_unlink(struct req *r)
{
    const char *name;
    int ret = take_name(r, &name);
    if (ret == 0)
        ret = OPS->unlink(FS, CTX, NODE, name);
    return reply_status(r, ret);
}

static size_t do_rmdir(struct req *r)
{
    const char *name;
    int ret = take_name(r, &name);
    if (ret == 0)
        ret = OPS->rmdir(FS, CTX, NODE, name);
    return reply_status(r, ret);
}

static size_t rename_common(struct req *r, uint64_t newdir, uint32_t flags)
{
    const char *name, *newname;
    int ret = take_name(r, &name);
    if (ret == 0)
        ret = take_name(r, &newname);
    if (ret == 0)
        ret = OPS->rename(FS, CTX, NODE, name, newdir, newname, flags);
    return reply_status(r, ret);
}

static size_t do_rename(struct req *r)
{
    struct fuse_rename_in in = {0};
    take(r, &in, sizeof(in));
    return rename_common(r, in.newdir, 0);
}

static size_t do_rename2(struct req *r)
{
    struct fuse_rename2_in in = {0};
    take(r, &in, sizeof(in));
    return rename_common(r, in.newdir, in.flags);
}

static size_t do_link(struct req *r)
{
    struct fuse_link_in in = {0};
    take(r, &in, sizeof(in));
    const char *name;
    int ret = take_name(r, &name);
    if (ret < 0)
        return reply_err(r, ret);
    struct fs_entry e = {0};
    ret = OPS->link(FS, CTX, in.oldnodeid, NODE, name, &e);
    return ret < 0 ? reply_err(r, ret) : reply_entry(r, &e);
}

static size_t do_open(struct req *r)
{
    struct fuse_open_in in = {0};
    take(r, &in, sizeof(in));
    uint64_t fh = 0;
    uint32_t oflags = 0;
    int ret = OPS->open(FS, CTX, NODE, in.flags, &fh, &oflags);
    return ret < 0 ? reply_err(r, ret) : reply_open(r, fh, oflags);
}

static size_t do_opendir(struct req *r)
{
    struct fuse_open_in in = {0};
    take(r, &in, sizeof(in));
    uint64_t fh = 0;
    uint32_t oflags = 0;
    int ret = OPS->opendir(FS, CTX, NODE, in.flags, &fh, &oflags);
    return ret < 0 ? reply_err(r, ret) : reply_open(r, fh, oflags);
}

static size_t do_create(struct req *r)
{
    struct fuse_create_in in = {0};
    take(r, &in, sizeof(in));
    const char *name;
    int ret = take_name(r, &name);
    if (ret < 0)
        return reply_err(r, ret);
    struct fs_entry e = {0};
    uint64_t fh = 0;
    uint32_t oflags = 0;
    ret = OPS->create(FS, CTX, NODE, name, in.mode, in.flags, &e, &fh, &oflags);
    if (ret < 0)
        return reply_err(r, ret);
    struct fuse_entry_out eo;
    struct fuse_open_out oo = {.fh = fh, .open_flags = oflags};
    fuse_fill_entry(&eo, &e);
    return reply_ok(r, &eo, sizeof(eo), &oo, sizeof(oo));
}

/* Describe [off, off+len) of segments as iovecs: on the stack or in *heap. */
static int data_iov(const struct iovec *iov, unsigned n, size_t off, size_t len,
                    struct iovec *stack, struct iovec **heap)
{
    *heap = NULL;
    int cnt = fiov_slice(iov, n, off, len, stack, IOV_STACK);
    if (cnt >= 0 || n <= IOV_STACK)
        return cnt;
    if (!(*heap = calloc(n, sizeof(**heap))))
        return -1;
    return fiov_slice(iov, n, off, len, *heap, n);
}

static size_t do_read(struct req *r)
{
    struct fuse_read_in in = {0};
    take(r, &in, sizeof(in));
    if (in.size > FUSE_SERVER_MAX_IO || in.size > out_room(r) || !offset_ok(in.offset))
        return reply_err(r, -EINVAL);
    if (in.size == 0)
        return reply_raw(r, 0, NULL, 0, NULL, 0);
    struct iovec stack[IOV_STACK], *heap;
    int cnt = data_iov(r->out, r->n_out, HDR_OUT, in.size, stack, &heap);
    if (cnt < 0)
        return reply_err(r, -ENOMEM);
    ssize_t n = OPS->read(FS, CTX, NODE, in.fh, heap ? heap : stack, (unsigned)cnt, in.offset);
    free(heap);
    if (n < 0)
        return reply_err(r, (int)n);
    if ((size_t)n > in.size)
        n = in.size;
    /* The data is in place: only the header is left to write. */
    struct fuse_out_header oh = {.len = (uint32_t)(HDR_OUT + n), .unique = r->h.unique};
    fiov_scatter(r->out, r->n_out, 0, &oh, sizeof(oh));
    return oh.len;
}

static size_t do_write(struct req *r)
{
    struct fuse_write_in in = {0};
    take(r, &in, sizeof(in));
    size_t data_off = HDR_IN + sizeof(in);
    if (in.size > FUSE_SERVER_MAX_IO || in.size != r->h.len - data_off || !offset_ok(in.offset))
        return reply_err(r, -EINVAL);
    struct iovec stack[IOV_STACK], *heap;
    int cnt = data_iov(r->in, r->n_in, data_off, in.size, stack, &heap);
    if (cnt < 0)
        return reply_err(r, -ENOMEM);
    ssize_t n = OPS->write(FS, CTX, NODE, in.fh, heap ? heap : stack, (unsigned)cnt, in.offset);
    free(heap);
    if (n < 0)
        return reply_err(r, (int)n);
    struct fuse_write_out wo = {.size = (uint32_t)n};
    return reply_ok(r, &wo, sizeof(wo), NULL, 0);
}

static size_t do_statfs(struct req *r)
{
    struct statvfs sv;
    int ret = OPS->statfs(FS, CTX, NODE, &sv);
    if (ret < 0)
        return reply_err(r, ret);
    struct fuse_statfs_out so = {.st = {
                                     .blocks = sv.f_blocks,
                                     .bfree = sv.f_bfree,
                                     .bavail = sv.f_bavail,
                                     .files = sv.f_files,
                                     .ffree = sv.f_ffree,
                                     .bsize = (uint32_t)sv.f_bsize,
                                     .namelen = (uint32_t)sv.f_namemax,
                                     .frsize = (uint32_t)sv.f_frsize,
                                 }};
    return reply_ok(r, &so, sizeof(so), NULL, 0);
}

static size_t do_release(struct req *r)
{
    struct fuse_release_in in = {0};
    take(r, &in, sizeof(in));
    return reply_status(r, OPS->release(FS, CTX, NODE, in.fh));
}

static size_t do_releasedir(struct req *r)
{
    struct fuse_release_in in = {0};
    take(r, &in, sizeof(in));
    return reply_status(r, OPS->releasedir(FS, CTX, NODE, in.fh));
}

static size_t do_fsync(struct req *r)
{
    struct fuse_fsync_in in = {0};
    take(r, &in, sizeof(in));
    bool datasync = in.fsync_flags & FUSE_FSYNC_FDATASYNC;
    return reply_status(r, OPS->fsync(FS, CTX, NODE, in.fh, datasync));
}

static size_t do_fsyncdir(struct req *r)
{
    struct fuse_fsync_in in = {0};
    take(r, &in, sizeof(in));
    bool datasync = in.fsync_flags & FUSE_FSYNC_FDATASYNC;
    return reply_status(r, OPS->fsyncdir(FS, CTX, NODE, in.fh, datasync));
}

static size_t do_flush(struct req *r)
{
    struct fuse_flush_in in = {0};
    take(r, &in, sizeof(in));
    return reply_status(r, OPS->flush(FS, CTX, NODE, in.fh, in.lock_owner));
}

static size_t do_setxattr(struct req *r)
{
    /* Without FUSE_SETXATTR_EXT the kernel sends the short (8 byte) struct. */
    struct fuse_setxattr_in in = {0};
    take(r, &in, FUSE_COMPAT_SETXATTR_IN_SIZE);
    const char *name;
    int ret = take_xattr_name(r, &name);
    if (ret < 0)
        return reply_err(r, ret);
    if (in.size > XATTR_VALUE_MAX)
        return reply_err(r, -E2BIG);
    if (in.size != r->arg_len - r->pos || (in.flags & ~(XATTR_CREATE | XATTR_REPLACE)))
        return reply_err(r, -EINVAL);
    ret = OPS->setxattr(FS, CTX, NODE, name, r->arg + r->pos, in.size, (int)in.flags);
    return reply_status(r, ret);
}

/* GETXATTR and LISTXATTR: size 0 asks for the size, else for the data. */
static size_t xattr_reply(struct req *r, const char *name, uint32_t size)
{
    if (size == 0) {
        ssize_t n = name ? OPS->getxattr(FS, CTX, NODE, name, NULL, 0)
                         : OPS->listxattr(FS, CTX, NODE, NULL, 0);
        if (n < 0)
            return reply_err(r, (int)n);
        struct fuse_getxattr_out go = {.size = (uint32_t)n};
        return reply_ok(r, &go, sizeof(go), NULL, 0);
    }
    size_t room = out_room(r);
    if (size > room)
        size = (uint32_t)room;
    if (size > XATTR_VALUE_MAX)
        size = XATTR_VALUE_MAX;
    if (size == 0)
        return reply_err(r, -ERANGE);
    void *buf = malloc(size);
    if (!buf)
        return reply_err(r, -ENOMEM);
    ssize_t n = name ? OPS->getxattr(FS, CTX, NODE, name, buf, size)
                     : OPS->listxattr(FS, CTX, NODE, buf, size);
    size_t ret = n < 0 ? reply_err(r, (int)n) : reply_data(r, buf, (size_t)n);
    free(buf);
    return ret;
}

static size_t do_getxattr(struct req *r)
{
    struct fuse_getxattr_in in = {0};
    take(r, &in, sizeof(in));
    const char *name;
    int ret = take_xattr_name(r, &name);
    if (ret < 0)
        return reply_err(r, ret);
    return xattr_reply(r, name, in.size);
}

static size_t do_listxattr(struct req *r)
{
    struct fuse_getxattr_in in = {0};
    take(r, &in, sizeof(in));
    return xattr_reply(r, NULL, in.size);
}

static size_t do_removexattr(struct req *r)
{
    const char *name;
    int ret = take_xattr_name(r, &name);
    if (ret == 0)
        ret = OPS->removexattr(FS, CTX, NODE, name);
    return reply_status(r, ret);
}

static size_t readdir_common(struct req *r, bool plus)
{
    struct fuse_read_in in = {0};
    take(r, &in, sizeof(in));
    size_t size = in.size;
    if (size > FUSE_SERVER_MAX_IO)
        size = FUSE_SERVER_MAX_IO;
    if (size > out_room(r))
        size = out_room(r);
    if (size == 0)
        return reply_err(r, -EINVAL);
    void *buf = malloc(size);
    if (!buf)
        return reply_err(r, -ENOMEM);
    struct fs_dirbuf b;
    fs_dirbuf_init(&b, buf, size, plus);
    int ret = OPS->readdir(FS, CTX, NODE, in.fh, in.offset, &b);
    /* Entries already added (and counted as lookups) must reach the guest. */
    size_t out = ret < 0 && b.used == 0 ? reply_err(r, ret) : reply_data(r, buf, b.used);
    free(buf);
    return out;
}

static size_t do_readdir(struct req *r)
{
    return readdir_common(r, false);
}

static size_t do_readdirplus(struct req *r)
{
    return readdir_common(r, true);
}

static int lock_from(const struct fuse_lk_in *in, struct fs_lock *lk)
{
    if (in->lk.type != F_RDLCK && in->lk.type != F_WRLCK && in->lk.type != F_UNLCK)
        return -EINVAL;
    if (in->lk.start > INT64_MAX || in->lk.end > INT64_MAX || in->lk.start > in->lk.end)
        return -EINVAL;
    lk->type = in->lk.type;
    lk->start = in->lk.start;
    lk->end = in->lk.end;
    lk->owner = in->owner;
    lk->flock = in->lk_flags & FUSE_LK_FLOCK;
    return 0;
}

static size_t do_getlk(struct req *r)
{
    struct fuse_lk_in in = {0};
    take(r, &in, sizeof(in));
    struct fs_lock lk;
    int ret = lock_from(&in, &lk);
    if (ret == 0)
        ret = OPS->getlk(FS, CTX, NODE, in.fh, &lk);
    if (ret < 0)
        return reply_err(r, ret);
    /* pid 0: the holder is not a process the guest knows. */
    struct fuse_lk_out lo = {.lk = {.start = lk.start, .end = lk.end, .type = lk.type}};
    return reply_ok(r, &lo, sizeof(lo), NULL, 0);
}

static void deadline_after(struct timespec *ts, long ns)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_nsec += ns;
    while (ts->tv_nsec >= 1000000000L) {
        ts->tv_nsec -= 1000000000L;
        ts->tv_sec++;
    }
}

/*
 * SETLKW: the host has no way to wait for an OFD lock with a timeout or a
 * wake-up of our own, so retry the non-blocking lock with a growing delay
 * (1 to 64 ms). A waiter gives up with EINTR when the device stops, and at
 * most max_waiters requests wait at once (the others get EDEADLK), so a
 * worker is always left for the requests that release the locks.
 */
static int lock_wait(struct req *r, uint64_t fh, const struct fs_lock *lk)
{
    struct fuse_server *s = r->s;
    int ret = OPS->setlk(FS, CTX, NODE, fh, lk);
    if (ret != -EAGAIN)
        return ret;
    pthread_mutex_lock(&s->lock);
    if (s->stopping || s->waiters >= s->max_waiters) {
        ret = s->stopping ? -EINTR : -EDEADLK;
        pthread_mutex_unlock(&s->lock);
        return ret;
    }
    s->waiters++;
    long delay = LOCK_POLL_MIN_NS;
    while (ret == -EAGAIN) {
        struct timespec deadline;
        deadline_after(&deadline, delay);
        while (!s->stopping && pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == 0) {
        }
        if (s->stopping) {
            ret = -EINTR;
            break;
        }
        pthread_mutex_unlock(&s->lock);
        ret = OPS->setlk(FS, CTX, NODE, fh, lk);
        pthread_mutex_lock(&s->lock);
        if (delay < LOCK_POLL_MAX_NS)
            delay *= 2;
    }
    s->waiters--;
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static size_t setlk_common(struct req *r, bool wait)
{
    struct fuse_lk_in in = {0};
    take(r, &in, sizeof(in));
    struct fs_lock lk;
    int ret = lock_from(&in, &lk);
    if (ret == 0)
        ret = wait && lk.type != F_UNLCK ? lock_wait(r, in.fh, &lk)
                                         : OPS->setlk(FS, CTX, NODE, in.fh, &lk);
    return reply_status(r, ret);
}

static size_t do_setlk(struct req *r)
{
    return setlk_common(r, false);
}

static size_t do_setlkw(struct req *r)
{
    return setlk_common(r, true);
}

static size_t do_access(struct req *r)
{
    struct fuse_access_in in = {0};
    take(r, &in, sizeof(in));
    if (in.mask & ~(uint32_t)(R_OK | W_OK | X_OK))
        return reply_err(r, -EINVAL);
    return reply_status(r, OPS->access(FS, CTX, NODE, in.mask));
}

static size_t do_interrupt(struct req *r)
{
    /* virtio-fs drivers do not send it, and no request waits on the guest. */
    return 0;
}

static size_t do_ioctl(struct req *r)
{
    struct fuse_ioctl_in in = {0};
    take(r, &in, sizeof(in));
    if (in.in_size != r->arg_len - r->pos)
        return reply_err(r, -EINVAL);
    int ret = OPS->ioctl(FS, CTX, NODE, in.fh, in.flags, in.cmd, in.arg);
    if (ret < 0)
        return reply_err(r, ret);
    struct fuse_ioctl_out io = {.result = ret};
    return reply_ok(r, &io, sizeof(io), NULL, 0);
}

static size_t do_fallocate(struct req *r)
{
    struct fuse_fallocate_in in = {0};
    take(r, &in, sizeof(in));
    if (!offset_ok(in.offset) || !offset_ok(in.length) || in.length > INT64_MAX - in.offset)
        return reply_err(r, -EINVAL);
    return reply_status(r, OPS->fallocate(FS, CTX, NODE, in.fh, in.mode, in.offset, in.length));
}

static size_t do_lseek(struct req *r)
{
    struct fuse_lseek_in in = {0};
    take(r, &in, sizeof(in));
    if (!offset_ok(in.offset))
        return reply_err(r, -EINVAL);
    uint64_t off = 0;
    int ret = OPS->lseek(FS, CTX, NODE, in.fh, in.offset, in.whence, &off);
    if (ret < 0)
        return reply_err(r, ret);
    struct fuse_lseek_out lo = {.offset = off};
    return reply_ok(r, &lo, sizeof(lo), NULL, 0);
}

static size_t do_copy_file_range(struct req *r)
{
    struct fuse_copy_file_range_in in = {0};
    take(r, &in, sizeof(in));
    if (in.flags != 0 || !offset_ok(in.off_in) || !offset_ok(in.off_out))
        return reply_err(r, -EINVAL);
    uint64_t len = in.len > COPY_MAX ? COPY_MAX : in.len;
    ssize_t n = OPS->copy_file_range(FS, CTX, in.fh_in, in.off_in, in.fh_out, in.off_out, len);
    if (n < 0)
        return reply_err(r, (int)n);
    struct fuse_write_out wo = {.size = (uint32_t)n};
    return reply_ok(r, &wo, sizeof(wo), NULL, 0);
}

/* The flags we offer; the reply carries those the driver also offered. */
#define INIT_FLAGS                                                                                 \
    (FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |                  \
     FUSE_FLOCK_LOCKS | FUSE_HAS_IOCTL_DIR | FUSE_AUTO_INVAL_DATA | FUSE_DO_READDIRPLUS |          \
     FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES)

static size_t do_init(struct req *r)
{
    /* Drivers before 7.36 send only the first four fields. */
    struct fuse_init_in in = {0};
    take(r, &in, r->arg_len < sizeof(in) ? r->arg_len : sizeof(in));
    struct fuse_init_out out = {.major = FUSE_KERNEL_VERSION, .minor = FUSE_SERVER_MINOR};
    if (in.major < FUSE_KERNEL_VERSION)
        return reply_err(r, -EPROTO);
    /* A newer major: say which one we speak and let the driver retry. */
    if (in.major > FUSE_KERNEL_VERSION)
        return reply_ok(r, &out, sizeof(out), NULL, 0);
    if (in.minor < FUSE_SERVER_MIN_MINOR)
        return reply_err(r, -EPROTO);

    struct fuse_server *s = r->s;
    /* The minor is taken under the lock: a DESTROY and INIT on other workers may
       change s->minor as soon as it is dropped. */
    uint32_t minor = in.minor < FUSE_SERVER_MINOR ? in.minor : FUSE_SERVER_MINOR;
    pthread_mutex_lock(&s->lock);
    bool again = atomic_load(&s->ready);
    if (!again) {
        s->minor = minor;
        atomic_store(&s->ready, true);
    }
    pthread_mutex_unlock(&s->lock);
    if (again)
        return reply_err(r, -EPROTO);

    out.minor = minor;
    out.max_readahead = in.max_readahead;
    out.flags = in.flags & INIT_FLAGS;
    out.max_background = 64;
    out.congestion_threshold = 48;
    out.max_write = FUSE_SERVER_MAX_IO;
    out.time_gran = 1;
    out.max_pages = FUSE_SERVER_MAX_PAGES;
    return reply_ok(r, &out, sizeof(out), NULL, 0);
}

static size_t do_destroy(struct req *r)
{
    fuse_server_reset(r->s);
    return reply_ok(r, NULL, 0, NULL, 0);
}

struct op {
    size_t (*fn)(struct req *r);
    uint16_t in_size;  /* fixed struct at the start of the body */
    uint16_t out_size; /* fixed reply payload, checked before the operation runs */
    bool no_reply;
};

#define OP(f, in, out)                                                                             \
    {                                                                                              \
        .fn = (f), .in_size = (in), .out_size = (out)                                              \
    }
#define NO_REPLY(f, in)                                                                            \
    {                                                                                              \
        .fn = (f), .in_size = (in), .no_reply = true                                               \
    }

static const struct op ops_table[] = {
    [FUSE_LOOKUP] = OP(do_lookup, 0, sizeof(struct fuse_entry_out)),
    [FUSE_FORGET] = NO_REPLY(do_forget, sizeof(struct fuse_forget_in)),
    [FUSE_GETATTR] = OP(do_getattr, sizeof(struct fuse_getattr_in), sizeof(struct fuse_attr_out)),
    [FUSE_SETATTR] = OP(do_setattr, sizeof(struct fuse_setattr_in), sizeof(struct fuse_attr_out)),
    [FUSE_READLINK] = OP(do_readlink, 0, 0),
    [FUSE_SYMLINK] = OP(do_symlink, 0, sizeof(struct fuse_entry_out)),
    [FUSE_MKNOD] = OP(do_mknod, sizeof(struct fuse_mknod_in), sizeof(struct fuse_entry_out)),
    [FUSE_MKDIR] = OP(do_mkdir, sizeof(struct fuse_mkdir_in), sizeof(struct fuse_entry_out)),
    [FUSE_UNLINK] = OP(do_unlink, 0, 0),
    [FUSE_RMDIR] = OP(do_rmdir, 0, 0),
    [FUSE_RENAME] = OP(do_rename, sizeof(struct fuse_rename_in), 0),
    [FUSE_LINK] = OP(do_link, sizeof(struct fuse_link_in), sizeof(struct fuse_entry_out)),
    [FUSE_OPEN] = OP(do_open, sizeof(struct fuse_open_in), sizeof(struct fuse_open_out)),
    [FUSE_READ] = OP(do_read, sizeof(struct fuse_read_in), 0),
    [FUSE_WRITE] = OP(do_write, sizeof(struct fuse_write_in), sizeof(struct fuse_write_out)),
    [FUSE_STATFS] = OP(do_statfs, 0, sizeof(struct fuse_statfs_out)),
    [FUSE_RELEASE] = OP(do_release, sizeof(struct fuse_release_in), 0),
    [FUSE_FSYNC] = OP(do_fsync, sizeof(struct fuse_fsync_in), 0),
    [FUSE_SETXATTR] = OP(do_setxattr, FUSE_COMPAT_SETXATTR_IN_SIZE, 0),
    [FUSE_GETXATTR] = OP(do_getxattr, sizeof(struct fuse_getxattr_in), 0),
    [FUSE_LISTXATTR] = OP(do_listxattr, sizeof(struct fuse_getxattr_in), 0),
    [FUSE_REMOVEXATTR] = OP(do_removexattr, 0, 0),
    [FUSE_FLUSH] = OP(do_flush, sizeof(struct fuse_flush_in), 0),
    [FUSE_INIT] = OP(do_init, 16, sizeof(struct fuse_init_out)),
    [FUSE_OPENDIR] = OP(do_opendir, sizeof(struct fuse_open_in), sizeof(struct fuse_open_out)),
    [FUSE_READDIR] = OP(do_readdir, sizeof(struct fuse_read_in), 0),
    [FUSE_RELEASEDIR] = OP(do_releasedir, sizeof(struct fuse_release_in), 0),
    [FUSE_FSYNCDIR] = OP(do_fsyncdir, sizeof(struct fuse_fsync_in), 0),
    [FUSE_GETLK] = OP(do_getlk, sizeof(struct fuse_lk_in), sizeof(struct fuse_lk_out)),
    [FUSE_SETLK] = OP(do_setlk, sizeof(struct fuse_lk_in), 0),
    [FUSE_SETLKW] = OP(do_setlkw, sizeof(struct fuse_lk_in), 0),
    [FUSE_ACCESS] = OP(do_access, sizeof(struct fuse_access_in), 0),
    [FUSE_CREATE] = OP(do_create, sizeof(struct fuse_create_in),
                       sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out)),
    [FUSE_INTERRUPT] = NO_REPLY(do_interrupt, sizeof(struct fuse_interrupt_in)),
    [FUSE_DESTROY] = OP(do_destroy, 0, 0),
    [FUSE_IOCTL] = OP(do_ioctl, sizeof(struct fuse_ioctl_in), sizeof(struct fuse_ioctl_out)),
    [FUSE_BATCH_FORGET] = NO_REPLY(do_batch_forget, sizeof(struct fuse_batch_forget_in)),
    [FUSE_FALLOCATE] = OP(do_fallocate, sizeof(struct fuse_fallocate_in), 0),
    [FUSE_READDIRPLUS] = OP(do_readdirplus, sizeof(struct fuse_read_in), 0),
    [FUSE_RENAME2] = OP(do_rename2, sizeof(struct fuse_rename2_in), 0),
    [FUSE_LSEEK] = OP(do_lseek, sizeof(struct fuse_lseek_in), sizeof(struct fuse_lseek_out)),
    [FUSE_COPY_FILE_RANGE] = OP(do_copy_file_range, sizeof(struct fuse_copy_file_range_in),
                                sizeof(struct fuse_write_out)),
};

static const struct op *op_for(uint32_t opcode)
{
    if (opcode >= sizeof(ops_table) / sizeof(ops_table[0]) || !ops_table[opcode].fn)
        return NULL;
    return &ops_table[opcode];
}

size_t fuse_server_handle(struct fuse_server *s, const struct iovec *in, unsigned n_in,
                          const struct iovec *out, unsigned n_out)
{
    struct req r = {.s = s, .in = in, .out = out, .n_in = n_in, .n_out = n_out};
    r.out_len = fiov_len(out, n_out);
    size_t in_len = fiov_len(in, n_in);
    if (fiov_gather(in, n_in, 0, &r.h, HDR_IN) < HDR_IN) {
        /* Not even a header: answer with unique 0 so the driver sees an error. */
        memset(&r.h, 0, sizeof(r.h));
        return reply_err(&r, -EINVAL);
    }
    const struct op *op = op_for(r.h.opcode);
    bool no_reply = op && op->no_reply;
    if (no_reply) {
        /* Nothing is ever written for these, not even an error. */
        r.n_out = 0;
        r.out_len = 0;
    }
    size_t ret;
    if (r.h.len != in_len || r.h.len < HDR_IN) {
        ret = reply_err(&r, -EINVAL);
    } else if (!op) {
        ret = reply_err(&r, -ENOSYS);
    } else if (!atomic_load(&s->ready) && r.h.opcode != FUSE_INIT) {
        ret = reply_err(&r, -EIO);
    } else {
        r.ctx = (struct fs_ctx){.uid = r.h.uid, .gid = r.h.gid, .pid = r.h.pid};
        size_t body = r.h.len - HDR_IN;
        /* WRITE data stays in guest memory; only its struct is copied. */
        size_t copy = r.h.opcode == FUSE_WRITE && body > op->in_size ? op->in_size : body;
        uint8_t stack[ARGS_STACK] __attribute__((aligned(8)));
        uint8_t *heap = NULL;
        if (body < op->in_size || copy > ARGS_MAX) {
            ret = reply_err(&r, -EINVAL);
        } else if (r.out_len < HDR_OUT + op->out_size && !no_reply) {
            ret = reply_err(&r, -EINVAL);
        } else if (copy > sizeof(stack) && !(heap = malloc(copy))) {
            ret = reply_err(&r, -ENOMEM);
        } else {
            uint8_t *buf = heap ? heap : stack;
            fiov_gather(in, n_in, HDR_IN, buf, copy);
            r.arg = buf;
            r.arg_len = copy;
            ret = op->fn(&r);
        }
        free(heap);
    }
    log_msg(LOG_TRACE, "virtio-fs: opcode %u node %llu: %zu reply bytes", r.h.opcode,
            (unsigned long long)r.h.nodeid, no_reply ? 0 : ret);
    return no_reply ? 0 : ret;
}

struct fuse_server *fuse_server_new(const struct fs_ops *ops, void *fs, unsigned max_lock_waiters)
{
    struct fuse_server *s = calloc(1, sizeof(*s));
    if (!s) {
        ops->destroy(fs);
        return NULL;
    }
    s->ops = ops;
    s->fs = fs;
    s->max_waiters = max_lock_waiters;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    return s;
}

void fuse_server_free(struct fuse_server *s)
{
    if (!s)
        return;
    s->ops->destroy(s->fs);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void fuse_server_stop(struct fuse_server *s, bool stopping)
{
    pthread_mutex_lock(&s->lock);
    s->stopping = stopping;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

void fuse_server_reset(struct fuse_server *s)
{
    s->ops->reset(s->fs);
    /* stopping is left alone: a DESTROY that ends while the device stops must not
       call the stop off, or a SETLKW waiter would never see it and the reset,
       which joins the workers, would wait for it forever. */
    pthread_mutex_lock(&s->lock);
    atomic_store(&s->ready, false);
    pthread_mutex_unlock(&s->lock);
}
