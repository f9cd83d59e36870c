/* SPDX-License-Identifier: Apache-2.0 */
/* Reply encoding; see fuse_reply.h. */
#include "virtio/fs/fuse_reply.h"

#include <dirent.h>
#include <string.h>
#include <sys/sysmacros.h>

uint32_t fuse_encode_dev(dev_t dev)
{
    uint32_t ma = major(dev), mi = minor(dev);
    return (mi & 0xff) | ((ma & 0xfff) << 8) | ((mi & ~0xffu) << 12);
}

dev_t fuse_decode_dev(uint32_t dev)
{
    return makedev((dev & 0xfff00) >> 8, (dev & 0xff) | ((dev >> 12) & 0xfff00));
}

void fuse_fill_attr(struct fuse_attr *a, const struct stat *st)
{
    memset(a, 0, sizeof(*a));
    a->ino = st->st_ino;
    a->size = (uint64_t)st->st_size;
    a->blocks = (uint64_t)st->st_blocks;
    a->atime = (uint64_t)st->st_atim.tv_sec;
    a->mtime = (uint64_t)st->st_mtim.tv_sec;
    a->ctime = (uint64_t)st->st_ctim.tv_sec;
    a->atimensec = (uint32_t)st->st_atim.tv_nsec;
    a->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
    a->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
    a->mode = st->st_mode;
    a->nlink = st->st_nlink > UINT32_MAX ? UINT32_MAX : (uint32_t)st->st_nlink;
    a->uid = st->st_uid;
    a->gid = st->st_gid;
    a->rdev = fuse_encode_dev(st->st_rdev);
    a->blksize = (uint32_t)st->st_blksize;
}

void fuse_fill_entry(struct fuse_entry_out *o, const struct fs_entry *e)
{
    memset(o, 0, sizeof(*o));
    if (!e || e->nodeid == 0)
        return;
    o->nodeid = e->nodeid;
    o->entry_valid = e->uncached ? 0 : FUSE_TIMEOUT_SEC;
    o->attr_valid = e->uncached ? 0 : FUSE_TIMEOUT_SEC;
    fuse_fill_attr(&o->attr, &e->attr);
}

void fs_dirbuf_init(struct fs_dirbuf *b, void *buf, size_t size, bool plus)
{
    b->buf = buf;
    b->size = size;
    b->used = 0;
    b->plus = plus;
}

bool fs_dirbuf_plus(const struct fs_dirbuf *b)
{
    return b->plus;
}

static size_t record_size(const struct fs_dirbuf *b, size_t namelen)
{
    size_t head = b->plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
    return FUSE_DIRENT_ALIGN(head + namelen);
}

bool fs_dirbuf_fits(const struct fs_dirbuf *b, size_t namelen)
{
    return namelen <= 4096 && record_size(b, namelen) <= b->size - b->used;
}

void fs_dirbuf_add(struct fs_dirbuf *b, const char *name, size_t namelen, uint64_t ino,
                   uint32_t type, uint64_t next_off, const struct fs_entry *e)
{
    if (!fs_dirbuf_fits(b, namelen))
        return;
    size_t size = record_size(b, namelen);
    uint8_t *p = b->buf + b->used;
    memset(p, 0, size);
    if (b->plus) {
        struct fuse_entry_out eo;
        fuse_fill_entry(&eo, e);
        memcpy(p, &eo, sizeof(eo));
        p += offsetof(struct fuse_direntplus, dirent);
    }
    struct fuse_dirent d = {
        .ino = ino, .off = next_off, .namelen = (uint32_t)namelen, .type = type};
    memcpy(p, &d, FUSE_NAME_OFFSET);
    memcpy(p + FUSE_NAME_OFFSET, name, namelen);
    b->used += size;
}

void fs_dirbuf_add_dots(struct fs_dirbuf *b, uint64_t off, uint64_t ino)
{
    if (off < 1 && fs_dirbuf_fits(b, 1))
        fs_dirbuf_add(b, ".", 1, ino, DT_DIR, 1, NULL);
    if (off < 2 && fs_dirbuf_fits(b, 2))
        fs_dirbuf_add(b, "..", 2, ino, DT_DIR, 2, NULL);
}
