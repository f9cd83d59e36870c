/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the FUSE fuzzers (fuzz_fuse.c, fuzz_fuse_mt.c) share: the scratch
 * tree in <tmp>/share next to <tmp>/outside, the server over it (host
 * directory plus overlay entries), the checks (confinement, well-formed
 * replies, no fd left open) and the table of node ids and handles that
 * requests may refer to.
 *
 * References: a node id below 16 (other than 1) in fuse_in_header.nodeid,
 * in the first field of LINK/RENAME/RENAME2 or in a BATCH_FORGET entry is
 * replaced by the n-th node id returned so far; a handle below 16 in the
 * first field of a request that starts with one by the n-th handle.
 * Node ids come from LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE and
 * READDIRPLUS replies, handles from CREATE, OPEN and OPENDIR.
 */
#ifndef KRUN_FUZZ_FUSE_ENV_H
#define KRUN_FUZZ_FUSE_ENV_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vm/config.h"
#include "virtio/fs/fs_creds.h"
#include "virtio/fs/fuse_server.h"
#include "virtio/fs/overlay.h"
#include "virtio/fs/passthrough.h"

#define MAX_IDS 16
#define HDR     sizeof(struct fuse_in_header)

static const size_t ROOMS[8] = {0, 8, 64, 144, 4096, 65536, 1 << 20, (1 << 20) + 4096};

static char base[64];
static char share[96], outside[96];
static struct stat outside_st;

static const uint8_t init_blob[] = "#!/bin/init\n";
static struct fs_overlay overlays[] = {
    {.kind = FS_OVERLAY_FILE,
     .path = "init.krun",
     .data = init_blob,
     .len = sizeof(init_blob),
     .mode = 0755,
     .one_shot = true},
    {.kind = FS_OVERLAY_DIR, .path = "vdir", .mode = 0755},
    {.kind = FS_OVERLAY_FILE, .path = "vdir/f", .data = init_blob, .len = 4, .mode = 0644},
};

static void die(const char *what)
{
    perror(what);
    abort();
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (remove(path) < 0 && errno != ENOENT)
        die(path);
    return 0;
}

/* Remove a tree (we run as root: modes set by the guest do not stand in the way). */
static void rm_rf(const char *path)
{
    if (nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
        die("nftw");
}

static void make_tree(void)
{
    char p[160];
    if (mkdir(share, 0755) < 0)
        die("mkdir share");
    snprintf(p, sizeof(p), "%s/file", share);
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || write(fd, "0123456789", 10) != 10)
        die("file");
    close(fd);
    snprintf(p, sizeof(p), "%s/dir", share);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/dir/inner", share);
    close(open(p, O_CREAT | O_WRONLY, 0600));
    snprintf(p, sizeof(p), "%s/up", share);
    if (symlink("..", p) < 0)
        abort();
    snprintf(p, sizeof(p), "%s/out", share);
    if (symlink(outside, p) < 0)
        abort();
    snprintf(p, sizeof(p), "%s/fifo", share);
    mkfifo(p, 0644);
}

/* Nothing beside the share may change: the parent holds exactly share and outside. */
static void check_confined(void)
{
    DIR *d = opendir(base);
    if (!d)
        die("opendir base");
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (strcmp(de->d_name, "share") != 0 && strcmp(de->d_name, "outside") != 0) {
            fprintf(stderr, "escape: %s/%s appeared\n", base, de->d_name);
            abort();
        }
        n++;
    }
    closedir(d);
    struct stat st;
    if (n != 2 || lstat(outside, &st) < 0 || st.st_size != outside_st.st_size ||
        st.st_mode != outside_st.st_mode || st.st_uid != outside_st.st_uid ||
        st.st_mtim.tv_sec != outside_st.st_mtim.tv_sec ||
        st.st_mtim.tv_nsec != outside_st.st_mtim.tv_nsec) {
        fprintf(stderr, "escape: %s changed\n", outside);
        abort();
    }
}

/* Open fds of this process, the one /proc/self/fd takes to list them excluded. */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        die("/proc/self/fd");
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n - 1;
}

/* Segments of seg bytes over buf (0: one segment). */
static unsigned split(uint8_t *buf, size_t len, unsigned seg, struct iovec *iov, unsigned cap)
{
    if (seg == 0 || len == 0) {
        iov[0] = (struct iovec){buf, len};
        return 1;
    }
    unsigned n = 0;
    for (size_t off = 0; off < len && n < cap; n++) {
        size_t l = len - off < seg ? len - off : seg;
        if (n == cap - 1)
            l = len - off;
        iov[n] = (struct iovec){buf + off, l};
        off += l;
    }
    return n;
}

static void exit_cb(void *opaque, int status) {}

/* A fresh tree and a server over it (host directory below the overlay entries). */
static struct fuse_server *fresh_server(void)
{
    make_tree();
    char err[256];
    struct passthrough *pt;
    if (passthrough_new(share, false, &pt, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        abort();
    }
    struct overlay *o;
    if (overlay_new(&passthrough_ops, pt, overlays, sizeof(overlays) / sizeof(overlays[0]), exit_cb,
                    NULL, &o, err, sizeof(err)) < 0)
        abort();
    /* No SETLKW ever waits: a session always ends. */
    struct fuse_server *srv = fuse_server_new(&overlay_ops, o, 0);
    if (!srv)
        abort();
    return srv;
}

/* After the server is gone: confined, every fd it opened closed, the tree removed. */
static void end_session(int fds_before)
{
    check_confined();
    int fds = count_fds();
    if (fds != fds_before) {
        fprintf(stderr, "fd leak: %d open before the session, %d after\n", fds_before, fds);
        abort();
    }
    rm_rf(share);
}

static void cleanup(void)
{
    rm_rf(base);
}

/* Once per process: the scratch directory with the file outside the share. */
static void env_init(const char *name)
{
    if (fs_thread_init() < 0)
        die("unshare(CLONE_FS)");
    /*
     * A guest may legitimately fill the share (FALLOCATE of gigabytes, huge
     * writes through COPY_FILE_RANGE); cap file sizes so that such inputs
     * fail fast with EFBIG instead of eating the fuzzing machine's disk.
     */
    struct rlimit fsize = {64 << 20, 64 << 20};
    if (setrlimit(RLIMIT_FSIZE, &fsize) < 0)
        die("setrlimit");
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(base, sizeof(base), "%s/%s.XXXXXX", tmp, name);
    if (!mkdtemp(base))
        die("mkdtemp");
    snprintf(share, sizeof(share), "%s/share", base);
    snprintf(outside, sizeof(outside), "%s/outside", base);
    int fd = open(outside, O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || write(fd, "secret", 6) != 6)
        die("outside");
    close(fd);
    lstat(outside, &outside_st);
    atexit(cleanup);
}

/* ---- ids the guest learnt ---- */

struct ids {
    pthread_mutex_t lock; /* the concurrent fuzzer's streams share one table */
    uint64_t nodes[MAX_IDS], fhs[MAX_IDS];
    unsigned n_nodes, n_fhs;
};

static void ids_reset(struct ids *t)
{
    t->n_nodes = t->n_fhs = 0;
}

static void remember(uint64_t *ids, unsigned *n, uint64_t id)
{
    if (id)
        ids[(*n)++ % MAX_IDS] = id;
}

static uint64_t pick(const uint64_t *ids, unsigned n, uint64_t k)
{
    return ids[k % (n < MAX_IDS ? n : MAX_IDS)];
}

static bool has_fh_first(uint32_t op)
{
    switch (op) {
    case FUSE_READ:
    case FUSE_WRITE:
    case FUSE_RELEASE:
    case FUSE_RELEASEDIR:
    case FUSE_FLUSH:
    case FUSE_FSYNC:
    case FUSE_FSYNCDIR:
    case FUSE_READDIR:
    case FUSE_READDIRPLUS:
    case FUSE_GETLK:
    case FUSE_SETLK:
    case FUSE_SETLKW:
    case FUSE_IOCTL:
    case FUSE_FALLOCATE:
    case FUSE_LSEEK:
    case FUSE_COPY_FILE_RANGE:
        return true;
    default:
        return false;
    }
}

static void patch_node(const struct ids *t, uint8_t *at)
{
    uint64_t v;
    memcpy(&v, at, 8);
    if (v > 1 && v < 16) {
        v = pick(t->nodes, t->n_nodes, v);
        memcpy(at, &v, 8);
    }
}

/* Replace the small ids in req by ids returned earlier. */
static void ids_patch(struct ids *t, uint8_t *req, size_t len)
{
    if (len < HDR)
        return;
    struct fuse_in_header h;
    memcpy(&h, req, sizeof(h));
    pthread_mutex_lock(&t->lock);
    if (t->n_nodes) {
        patch_node(t, req + offsetof(struct fuse_in_header, nodeid));
        switch (h.opcode) {
        case FUSE_LINK:
        case FUSE_RENAME:
        case FUSE_RENAME2:
            if (len >= HDR + 8)
                patch_node(t, req + HDR);
            break;
        case FUSE_BATCH_FORGET:
            for (size_t off = HDR + sizeof(struct fuse_batch_forget_in);
                 off + sizeof(struct fuse_forget_one) <= len; off += sizeof(struct fuse_forget_one))
                patch_node(t, req + off);
            break;
        default:
            break;
        }
    }
    uint64_t fh;
    if (has_fh_first(h.opcode) && len >= HDR + 8 && t->n_fhs) {
        memcpy(&fh, req + HDR, 8);
        if (fh < 16) {
            fh = pick(t->fhs, t->n_fhs, fh);
            memcpy(req + HDR, &fh, 8);
        }
    }
    pthread_mutex_unlock(&t->lock);
}

/* The node ids of a READDIRPLUS reply's entries. */
static void learn_dirents(struct ids *t, const uint8_t *p, size_t pl)
{
    size_t off = 0;
    while (pl - off >= FUSE_NAME_OFFSET_DIRENTPLUS) {
        struct fuse_direntplus e;
        memcpy(&e, p + off, sizeof(e));
        size_t sz = FUSE_DIRENTPLUS_SIZE(&e);
        if (e.dirent.namelen == 0 || sz > pl - off)
            break;
        remember(t->nodes, &t->n_nodes, e.entry_out.nodeid);
        off += sz;
    }
}

/*
 * Check that n bytes written into a reply buffer of room bytes are a
 * well-formed reply, and keep what the guest learns from it: node ids and
 * handles.
 */
static void ids_learn(struct ids *t, uint32_t op, const uint8_t *reply, size_t n, size_t room)
{
    if (n > room)
        abort();
    if (n == 0)
        return;
    struct fuse_out_header oh;
    if (n < sizeof(oh))
        abort();
    memcpy(&oh, reply, sizeof(oh));
    if (oh.len != n || oh.error > 0 || oh.error < -4095) {
        fprintf(stderr, "bad reply to opcode %u: len %u of %zu written, error %d\n", op, oh.len, n,
                oh.error);
        abort();
    }
    if (oh.error != 0)
        return;
    const uint8_t *p = reply + sizeof(oh);
    size_t pl = n - sizeof(oh);
    uint64_t v;
    pthread_mutex_lock(&t->lock);
    switch (op) {
    case FUSE_LOOKUP:
    case FUSE_MKDIR:
    case FUSE_MKNOD:
    case FUSE_SYMLINK:
    case FUSE_LINK:
        if (pl >= 8) {
            memcpy(&v, p, 8);
            remember(t->nodes, &t->n_nodes, v);
        }
        break;
    case FUSE_CREATE:
        if (pl >= sizeof(struct fuse_entry_out) + 8) {
            memcpy(&v, p, 8);
            remember(t->nodes, &t->n_nodes, v);
            memcpy(&v, p + sizeof(struct fuse_entry_out), 8);
            remember(t->fhs, &t->n_fhs, v);
        }
        break;
    case FUSE_OPEN:
    case FUSE_OPENDIR:
        if (pl >= 8) {
            memcpy(&v, p, 8);
            remember(t->fhs, &t->n_fhs, v);
        }
        break;
    case FUSE_READDIRPLUS:
        learn_dirents(t, p, pl);
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&t->lock);
}

#endif
