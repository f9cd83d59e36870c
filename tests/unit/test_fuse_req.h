/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for the FUSE server tests: a share in a temporary directory, and
 * requests built in memory and handed to the dispatcher as iovecs, split
 * into segments of a chosen size (to check byte-boundary handling).
 */
#ifndef KRUN_TEST_FUSE_REQ_H
#define KRUN_TEST_FUSE_REQ_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fuse.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vm/config.h"
#include "virtio/fs/fs_creds.h"
#include "virtio/fs/fuse_server.h"
#include "virtio/fs/overlay.h"
#include "virtio/fs/passthrough.h"

#define NO_REPLY  1
#define REPLY_MAX (FUSE_SERVER_MAX_IO + 4096)

struct fx {
    char root[128]; /* the share; "" for a null share */
    struct fuse_server *srv;
    uint64_t unique;
    unsigned in_seg, out_seg; /* segment sizes; 0: one segment */
    uint32_t uid, gid;        /* credentials sent with requests */
    int exit_status, exit_calls;
    size_t last_written; /* bytes the last request wrote */
    int fds_before;      /* open fds before the share was opened */
};

struct part {
    const void *p;
    size_t n;
};

#define P_OBJ(o)    ((struct part){&(o), sizeof(o)})
#define P_STR(s)    ((struct part){(s), strlen(s) + 1})
#define P_MEM(p, n) ((struct part){(p), (n)})

static inline void fx_exit_cb(void *opaque, int status)
{
    struct fx *f = opaque;
    f->exit_status = status;
    f->exit_calls++;
}

static inline int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline int count_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

/* Split buf into segments of seg bytes (0: one segment). Caller frees. */
static inline struct iovec *split(void *buf, size_t len, unsigned seg, unsigned *n)
{
    if (seg == 0 || len == 0) {
        struct iovec *v = malloc(sizeof(*v));
        v->iov_base = buf;
        v->iov_len = len;
        *n = 1;
        return v;
    }
    unsigned cnt = (unsigned)((len + seg - 1) / seg);
    struct iovec *v = calloc(cnt, sizeof(*v));
    for (unsigned i = 0; i < cnt; i++) {
        v[i].iov_base = (uint8_t *)buf + (size_t)i * seg;
        v[i].iov_len = len - (size_t)i * seg < seg ? len - (size_t)i * seg : seg;
    }
    *n = cnt;
    return v;
}

/* Hand a raw request to the server; the reply lands in out (out_len bytes of room). */
static inline size_t fx_raw(struct fx *f, void *req, size_t req_len, void *out, size_t out_len)
{
    unsigned ni, no;
    struct iovec *in = split(req, req_len, f->in_seg, &ni);
    struct iovec *ov = split(out, out_len, f->out_seg, &no);
    size_t n = fuse_server_handle(f->srv, in, ni, ov, no);
    free(in);
    free(ov);
    f->last_written = n;
    return n;
}

/*
 * Send opcode on nodeid with a body made of parts; copy at most out_size
 * bytes of the reply payload to out (its length in *out_len). Returns the
 * reply's error (0 or -errno), or NO_REPLY. room: writable bytes offered
 * after the header (0: out_size).
 */
static inline int fx_call2(struct fx *f, uint32_t opcode, uint64_t nodeid, const struct part *parts,
                           unsigned n_parts, void *out, size_t out_size, size_t *out_len,
                           size_t room)
{
    size_t body = 0;
    for (unsigned i = 0; i < n_parts; i++)
        body += parts[i].n;
    size_t len = sizeof(struct fuse_in_header) + body;
    uint8_t *req = malloc(len);
    struct fuse_in_header h = {
        .len = (uint32_t)len,
        .opcode = opcode,
        .unique = ++f->unique,
        .nodeid = nodeid,
        .uid = f->uid,
        .gid = f->gid,
        .pid = 4242,
    };
    memcpy(req, &h, sizeof(h));
    size_t pos = sizeof(h);
    for (unsigned i = 0; i < n_parts; i++) {
        memcpy(req + pos, parts[i].p, parts[i].n);
        pos += parts[i].n;
    }
    if (room == 0)
        room = out_size;
    size_t cap = sizeof(struct fuse_out_header) + room;
    uint8_t *rep = calloc(1, cap);
    size_t n = fx_raw(f, req, len, rep, cap);
    free(req);
    int ret = NO_REPLY;
    if (n >= sizeof(struct fuse_out_header)) {
        struct fuse_out_header oh;
        memcpy(&oh, rep, sizeof(oh));
        if (oh.len != n || oh.unique != h.unique) {
            fprintf(stderr, "bad reply header: len %u (wrote %zu) unique %llu\n", oh.len, n,
                    (unsigned long long)oh.unique);
            ret = -9999;
        } else {
            ret = oh.error;
            size_t pl = n - sizeof(oh);
            if (out_len)
                *out_len = pl;
            if (out)
                memcpy(out, rep + sizeof(oh), pl < out_size ? pl : out_size);
        }
    }
    free(rep);
    return ret;
}

static inline int fx_call(struct fx *f, uint32_t opcode, uint64_t nodeid, const struct part *parts,
                          unsigned n_parts, void *out, size_t out_size, size_t *out_len)
{
    return fx_call2(f, opcode, nodeid, parts, n_parts, out, out_size, out_len, 0);
}

static inline int fx_init_req(struct fx *f, uint32_t major, uint32_t minor,
                              struct fuse_init_out *out)
{
    struct fuse_init_in in = {
        .major = major, .minor = minor, .max_readahead = 131072, .flags = 0xffffffffu};
    struct part p = P_OBJ(in);
    struct fuse_init_out tmp;
    return fx_call(f, FUSE_INIT, 0, &p, 1, out ? out : &tmp, sizeof(tmp), NULL);
}

/* A share: a fresh temporary directory (or none), with overlays, then FUSE_INIT. */
static inline void fx_open_ex(struct fx *f, bool null_share, bool read_only,
                              const struct fs_overlay *ov, size_t n_ov, unsigned max_waiters)
{
    memset(f, 0, sizeof(*f));
    f->fds_before = count_fds();
    char err[256] = "";
    struct passthrough *pt = NULL;
    if (!null_share) {
        snprintf(f->root, sizeof(f->root), "/tmp/test_fuse.XXXXXX");
        if (!mkdtemp(f->root)) {
            perror("mkdtemp");
            exit(1);
        }
        chmod(f->root, 0755);
        if (passthrough_new(f->root, read_only, &pt, err, sizeof(err)) < 0) {
            fprintf(stderr, "passthrough_new: %s\n", err);
            exit(1);
        }
    }
    struct overlay *o;
    if (overlay_new(pt ? &passthrough_ops : NULL, pt, ov, n_ov, fx_exit_cb, f, &o, err,
                    sizeof(err)) < 0) {
        fprintf(stderr, "overlay_new: %s\n", err);
        exit(1);
    }
    f->srv = fuse_server_new(&overlay_ops, o, max_waiters);
    if (fx_init_req(f, 7, 41, NULL) != 0) {
        fprintf(stderr, "FUSE_INIT failed\n");
        exit(1);
    }
}

static inline void fx_open(struct fx *f)
{
    fx_open_ex(f, false, false, NULL, 0, 1);
}

static inline void fx_close(struct fx *f)
{
    fuse_server_free(f->srv);
    /* Every inode and handle fd was closed. */
    CHECK_EQ(count_fds(), f->fds_before);
    if (f->root[0])
        rm_tree(f->root);
}

/* A path inside the share, for checking host-side effects. */
static inline const char *fx_path(const struct fx *f, const char *rel)
{
    static char buf[4][512];
    static unsigned k;
    char *b = buf[k++ % 4];
    snprintf(b, 512, "%s/%s", f->root, rel);
    return b;
}

static inline void put_file(const struct fx *f, const char *rel, const char *content)
{
    int fd = open(fx_path(f, rel), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content)) {
        perror("put_file");
        exit(1);
    }
    close(fd);
}

/* ---- wrappers of common requests ---- */

static inline int fx_lookup(struct fx *f, uint64_t parent, const char *name,
                            struct fuse_entry_out *e)
{
    struct part p = P_STR(name);
    struct fuse_entry_out tmp;
    if (!e)
        e = &tmp;
    int ret = fx_call(f, FUSE_LOOKUP, parent, &p, 1, e, sizeof(*e), NULL);
    /* A negative entry is ENOENT to the guest, as the kernel sees it. */
    return ret == 0 && e->nodeid == 0 ? -ENOENT : ret;
}

/* Node id of a name (0 on failure). */
static inline uint64_t fx_node(struct fx *f, uint64_t parent, const char *name)
{
    struct fuse_entry_out e;
    return fx_lookup(f, parent, name, &e) == 0 ? e.nodeid : 0;
}

static inline int fx_getattr(struct fx *f, uint64_t node, struct fuse_attr_out *a)
{
    struct fuse_getattr_in in = {0};
    struct part p = P_OBJ(in);
    struct fuse_attr_out tmp;
    return fx_call(f, FUSE_GETATTR, node, &p, 1, a ? a : &tmp, sizeof(tmp), NULL);
}

static inline int fx_open_file(struct fx *f, uint64_t node, uint32_t flags, uint64_t *fh)
{
    struct fuse_open_in in = {.flags = flags};
    struct part p = P_OBJ(in);
    struct fuse_open_out o = {0};
    int ret = fx_call(f, FUSE_OPEN, node, &p, 1, &o, sizeof(o), NULL);
    *fh = o.fh;
    return ret;
}

static inline int fx_opendir(struct fx *f, uint64_t node, uint64_t *fh)
{
    struct fuse_open_in in = {.flags = O_RDONLY};
    struct part p = P_OBJ(in);
    struct fuse_open_out o = {0};
    int ret = fx_call(f, FUSE_OPENDIR, node, &p, 1, &o, sizeof(o), NULL);
    *fh = o.fh;
    return ret;
}

static inline int fx_release(struct fx *f, uint32_t opcode, uint64_t node, uint64_t fh)
{
    struct fuse_release_in in = {.fh = fh};
    struct part p = P_OBJ(in);
    return fx_call(f, opcode, node, &p, 1, NULL, 0, NULL);
}

static inline int fx_create(struct fx *f, uint64_t parent, const char *name, uint32_t mode,
                            uint32_t flags, struct fuse_entry_out *e, uint64_t *fh)
{
    struct fuse_create_in in = {.flags = flags, .mode = mode};
    struct part p[] = {P_OBJ(in), P_STR(name)};
    struct {
        struct fuse_entry_out e;
        struct fuse_open_out o;
    } out = {0};
    int ret = fx_call(f, FUSE_CREATE, parent, p, 2, &out, sizeof(out), NULL);
    if (e)
        *e = out.e;
    if (fh)
        *fh = out.o.fh;
    return ret;
}

/* READ of size bytes at off into buf; returns -errno or the byte count. */
static inline long fx_read(struct fx *f, uint64_t node, uint64_t fh, uint64_t off, uint32_t size,
                           void *buf)
{
    struct fuse_read_in in = {.fh = fh, .offset = off, .size = size};
    struct part p = P_OBJ(in);
    size_t n = 0;
    int ret = fx_call(f, FUSE_READ, node, &p, 1, buf, size, &n);
    return ret < 0 ? ret : (long)n;
}

static inline long fx_write(struct fx *f, uint64_t node, uint64_t fh, uint64_t off,
                            const void *data, uint32_t size)
{
    struct fuse_write_in in = {.fh = fh, .offset = off, .size = size};
    struct part p[] = {P_OBJ(in), P_MEM(data, size)};
    struct fuse_write_out o = {0};
    int ret = fx_call(f, FUSE_WRITE, node, p, 2, &o, sizeof(o), NULL);
    return ret < 0 ? ret : (long)o.size;
}

static inline int fx_mkdir(struct fx *f, uint64_t parent, const char *name, uint32_t mode,
                           struct fuse_entry_out *e)
{
    struct fuse_mkdir_in in = {.mode = mode};
    struct part p[] = {P_OBJ(in), P_STR(name)};
    struct fuse_entry_out tmp;
    return fx_call(f, FUSE_MKDIR, parent, p, 2, e ? e : &tmp, sizeof(tmp), NULL);
}

static inline int fx_name_op(struct fx *f, uint32_t opcode, uint64_t parent, const char *name)
{
    struct part p = P_STR(name);
    return fx_call(f, opcode, parent, &p, 1, NULL, 0, NULL);
}

static inline int fx_setattr(struct fx *f, uint64_t node, const struct fuse_setattr_in *in,
                             struct fuse_attr_out *a)
{
    struct part p = P_MEM(in, sizeof(*in));
    struct fuse_attr_out tmp;
    return fx_call(f, FUSE_SETATTR, node, &p, 1, a ? a : &tmp, sizeof(tmp), NULL);
}

static inline void fx_forget(struct fx *f, uint64_t node, uint64_t n)
{
    struct fuse_forget_in in = {.nlookup = n};
    struct part p = P_OBJ(in);
    fx_call(f, FUSE_FORGET, node, &p, 1, NULL, 0, NULL);
}

/* Names of a READDIR / READDIRPLUS reply, joined with ',' (sorted by the caller if needed). */
struct dirlist {
    char names[64][64];
    uint64_t ino[64], nodeid[64], off[64];
    uint32_t type[64], mode[64]; /* dirent type; READDIRPLUS: the entry's mode */
    unsigned n;
};

static inline int fx_readdir(struct fx *f, uint64_t node, uint64_t fh, uint64_t off, uint32_t size,
                             bool plus, struct dirlist *dl)
{
    struct fuse_read_in in = {.fh = fh, .offset = off, .size = size};
    struct part p = P_OBJ(in);
    uint8_t *buf = malloc(size ? size : 1);
    size_t n = 0;
    int ret = fx_call(f, plus ? FUSE_READDIRPLUS : FUSE_READDIR, node, &p, 1, buf, size, &n);
    memset(dl, 0, sizeof(*dl));
    for (size_t pos = 0; ret == 0 && pos < n && dl->n < 64;) {
        struct fuse_entry_out eo = {0};
        if (plus) {
            memcpy(&eo, buf + pos, sizeof(eo));
            pos += offsetof(struct fuse_direntplus, dirent);
        }
        struct fuse_dirent d;
        memcpy(&d, buf + pos, FUSE_NAME_OFFSET);
        size_t nl = d.namelen < 63 ? d.namelen : 63;
        memcpy(dl->names[dl->n], buf + pos + FUSE_NAME_OFFSET, nl);
        dl->ino[dl->n] = d.ino;
        dl->off[dl->n] = d.off;
        dl->nodeid[dl->n] = eo.nodeid;
        dl->type[dl->n] = d.type;
        dl->mode[dl->n] = eo.attr.mode;
        dl->n++;
        pos += FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + d.namelen);
    }
    free(buf);
    return ret;
}

static inline int dl_find(const struct dirlist *dl, const char *name)
{
    for (unsigned i = 0; i < dl->n; i++)
        if (strcmp(dl->names[i], name) == 0)
            return (int)i;
    return -1;
}

#endif
