/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/fs/fuse_server.c src/virtio/fs/fuse_iov.c src/virtio/fs/fuse_reply.c src/virtio/fs/fs_name.c src/virtio/fs/fs_creds.c src/virtio/fs/idmap.c src/virtio/fs/pt_table.c src/virtio/fs/pt_policy.c src/virtio/fs/passthrough.c src/virtio/fs/overlay.c src/util/log.c */
/*
 * libFuzzer harness for the FUSE server over a host directory.
 *
 * Build (what tests/fuzz/fuzz.mk does for every harness):
 *   clang -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -O1 -g -fno-omit-frame-pointer \
 *     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *     tests/fuzz/fuzz_fuse.c <SRCS above> -o build/fuzz/fuzz_fuse
 * Seeds: FUZZ_FUSE_SEEDS=DIR build/fuzz/fuzz_fuse -runs=0 writes a few valid
 * request sequences into DIR.
 *
 * Each input is a session against a fresh server and a fresh scratch tree
 * (a directory, files, a symlink pointing outside, a FIFO, overlay
 * entries) in <tmp>/share, next to <tmp>/outside. After the session the
 * harness checks that nothing outside the share changed.
 *
 * Input layout:
 *   0      bits 0-4: request segment size (0: one segment); bit 7: fix up
 *          fuse_in_header.len to the real length
 *   1      bits 0-4: reply segment size; bits 5-7: reply room (index in ROOMS)
 *   2..    requests: le16 length, then that many bytes (header + body).
 *          A node id below 16 (other than 1) is replaced by the n-th node
 *          id returned so far, a handle below 16 in the first field of the
 *          body by the n-th handle returned, so that sequences can refer to
 *          what they created.
 * FUSE_INIT is sent before the first request. File sizes are capped at
 * 64 MiB (RLIMIT_FSIZE) so that filling the share fails fast.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fuse.h>
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_REQS 64
#define MAX_IDS  16
#define HDR      sizeof(struct fuse_in_header)

static const size_t ROOMS[8] = {0, 8, 64, 144, 4096, 65536, 1 << 20, (1 << 20) + 4096};

static char base[64];
static char share[96], outside[96];
static struct stat outside_st;
static uint8_t *reply_buf;

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

struct session {
    struct fuse_server *srv;
    uint64_t nodes[MAX_IDS], fhs[MAX_IDS];
    unsigned n_nodes, n_fhs;
    unsigned in_seg, out_seg;
    size_t room;
};

static void remember(uint64_t *ids, unsigned *n, uint64_t id)
{
    if (id)
        ids[(*n)++ % MAX_IDS] = id;
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

static void send_req(struct session *s, uint8_t *req, size_t len)
{
    struct iovec in[256], out[256];
    uint32_t op = 0;
    if (len >= HDR) {
        struct fuse_in_header h;
        memcpy(&h, req, sizeof(h));
        op = h.opcode;
        if (h.nodeid > 1 && h.nodeid < 16 && s->n_nodes) {
            h.nodeid = s->nodes[h.nodeid % (s->n_nodes < MAX_IDS ? s->n_nodes : MAX_IDS)];
            memcpy(req, &h, sizeof(h));
        }
        uint64_t fh;
        if (has_fh_first(op) && len >= HDR + 8 && s->n_fhs) {
            memcpy(&fh, req + HDR, 8);
            if (fh < 16) {
                fh = s->fhs[fh % (s->n_fhs < MAX_IDS ? s->n_fhs : MAX_IDS)];
                memcpy(req + HDR, &fh, 8);
            }
        }
    }
    unsigned ni = split(req, len, s->in_seg, in, 256);
    unsigned no = split(reply_buf, s->room, s->out_seg, out, 256);
    size_t n = fuse_server_handle(s->srv, in, ni, out, no);
    if (n > s->room)
        abort();
    if (n == 0)
        return;
    struct fuse_out_header oh;
    memcpy(&oh, reply_buf, sizeof(oh));
    if (oh.len != n || oh.error > 0 || oh.error < -4095)
        abort();
    if (oh.error != 0)
        return;
    /* Keep what the guest would learn: node ids and handles. */
    const uint8_t *p = reply_buf + sizeof(oh);
    size_t pl = n - sizeof(oh);
    uint64_t v;
    switch (op) {
    case FUSE_LOOKUP:
    case FUSE_MKDIR:
    case FUSE_MKNOD:
    case FUSE_SYMLINK:
    case FUSE_LINK:
        if (pl >= 8) {
            memcpy(&v, p, 8);
            remember(s->nodes, &s->n_nodes, v);
        }
        break;
    case FUSE_CREATE:
        if (pl >= sizeof(struct fuse_entry_out) + 8) {
            memcpy(&v, p, 8);
            remember(s->nodes, &s->n_nodes, v);
            memcpy(&v, p + sizeof(struct fuse_entry_out), 8);
            remember(s->fhs, &s->n_fhs, v);
        }
        break;
    case FUSE_OPEN:
    case FUSE_OPENDIR:
        if (pl >= 8) {
            memcpy(&v, p, 8);
            remember(s->fhs, &s->n_fhs, v);
        }
        break;
    default:
        break;
    }
}

static void exit_cb(void *opaque, int status) {}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    /* libFuzzer installs a SIGXFSZ handler after LLVMFuzzerInitialize: we want EFBIG. */
    signal(SIGXFSZ, SIG_IGN);
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
    struct session s = {
        .srv = fuse_server_new(&overlay_ops, o, 0),
        .in_seg = data[0] & 0x1f,
        .out_seg = data[1] & 0x1f,
        .room = ROOMS[data[1] >> 5],
    };
    bool fix_len = data[0] & 0x80;

    struct {
        struct fuse_in_header h;
        struct fuse_init_in i;
    } init = {.h = {.len = sizeof(init), .opcode = FUSE_INIT, .unique = 1},
              .i = {.major = 7, .minor = 41, .flags = 0xffffffffu}};
    size_t room = s.room;
    s.room = 4096;
    send_req(&s, (uint8_t *)&init, sizeof(init));
    s.room = room;

    size_t pos = 2;
    for (int r = 0; r < MAX_REQS && pos + 2 <= size; r++) {
        size_t len = data[pos] | (size_t)data[pos + 1] << 8;
        pos += 2;
        if (len > size - pos)
            len = size - pos;
        uint8_t *req = malloc(len ? len : 1);
        memcpy(req, data + pos, len);
        pos += len;
        if (fix_len && len >= HDR) {
            uint32_t l = (uint32_t)len;
            memcpy(req, &l, 4);
        }
        send_req(&s, req, len);
        free(req);
    }
    fuse_server_free(s.srv);
    check_confined();
    rm_rf(share);
    return 0;
}

/* ---- seeds ---- */

struct seed {
    uint8_t buf[4096];
    size_t len;
};

static void seed_req(struct seed *sd, uint32_t op, uint64_t node, const void *a, size_t alen,
                     const void *b, size_t blen)
{
    struct fuse_in_header h = {
        .len = (uint32_t)(HDR + alen + blen), .opcode = op, .unique = 7, .nodeid = node};
    size_t len = HDR + alen + blen;
    sd->buf[sd->len++] = (uint8_t)len;
    sd->buf[sd->len++] = (uint8_t)(len >> 8);
    memcpy(sd->buf + sd->len, &h, HDR);
    if (alen)
        memcpy(sd->buf + sd->len + HDR, a, alen);
    if (blen)
        memcpy(sd->buf + sd->len + HDR + alen, b, blen);
    sd->len += len;
}

static void seed_write(const char *dir, const char *name, const struct seed *sd)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(sd->buf, 1, sd->len, f) != sd->len)
        die(p);
    fclose(f);
}

static void write_seeds(const char *dir)
{
    struct seed sd;
    /* LOOKUP file, OPEN it, READ, WRITE, GETATTR, RELEASE. */
    sd = (struct seed){.buf = {0x80, 0x80 | 4}, .len = 2};
    seed_req(&sd, FUSE_LOOKUP, 1, "file", 5, NULL, 0);
    struct fuse_open_in oi = {.flags = O_RDWR};
    seed_req(&sd, FUSE_OPEN, 2, &oi, sizeof(oi), NULL, 0);
    struct fuse_read_in ri = {.fh = 2, .size = 100};
    seed_req(&sd, FUSE_READ, 2, &ri, sizeof(ri), NULL, 0);
    struct fuse_write_in wi = {.fh = 2, .offset = 3, .size = 4};
    seed_req(&sd, FUSE_WRITE, 2, &wi, sizeof(wi), "abcd", 4);
    struct fuse_getattr_in gi = {0};
    seed_req(&sd, FUSE_GETATTR, 2, &gi, sizeof(gi), NULL, 0);
    struct fuse_release_in rl = {.fh = 2};
    seed_req(&sd, FUSE_RELEASE, 2, &rl, sizeof(rl), NULL, 0);
    seed_write(dir, "read-write", &sd);

    /* CREATE, MKDIR, SYMLINK, LINK, RENAME, UNLINK. */
    sd = (struct seed){.buf = {0x83, 0x80 | 3}, .len = 2};
    struct fuse_create_in ci = {.flags = O_RDWR | O_CREAT, .mode = 0644};
    seed_req(&sd, FUSE_CREATE, 1, &ci, sizeof(ci), "new", 4);
    struct fuse_mkdir_in mi = {.mode = 0755};
    seed_req(&sd, FUSE_MKDIR, 1, &mi, sizeof(mi), "d2", 3);
    seed_req(&sd, FUSE_SYMLINK, 1, "ln\0../../etc", 13, NULL, 0);
    struct fuse_link_in li = {.oldnodeid = 2};
    seed_req(&sd, FUSE_LINK, 3, &li, sizeof(li), "hard", 5);
    struct fuse_rename2_in rn = {.newdir = 3, .flags = 0};
    seed_req(&sd, FUSE_RENAME2, 1, &rn, sizeof(rn), "new\0moved", 10);
    seed_req(&sd, FUSE_UNLINK, 3, "moved", 6, NULL, 0);
    seed_req(&sd, FUSE_RMDIR, 1, "d2", 3, NULL, 0);
    seed_write(dir, "names", &sd);

    /* OPENDIR, READDIRPLUS, LOOKUP through the symlink, READLINK, FORGET. */
    sd = (struct seed){.buf = {0x80, 0xa0 | 7}, .len = 2};
    struct fuse_open_in di = {.flags = O_RDONLY};
    seed_req(&sd, FUSE_OPENDIR, 1, &di, sizeof(di), NULL, 0);
    struct fuse_read_in rd = {.fh = 2, .size = 4096};
    seed_req(&sd, FUSE_READDIRPLUS, 1, &rd, sizeof(rd), NULL, 0);
    seed_req(&sd, FUSE_LOOKUP, 1, "out", 4, NULL, 0);
    seed_req(&sd, FUSE_READLINK, 2, NULL, 0, NULL, 0);
    seed_req(&sd, FUSE_LOOKUP, 2, "x", 2, NULL, 0);
    struct fuse_forget_in fi = {.nlookup = 1};
    seed_req(&sd, FUSE_FORGET, 2, &fi, sizeof(fi), NULL, 0);
    seed_write(dir, "readdir", &sd);

    /* xattrs, SETATTR, locks, FALLOCATE, LSEEK, IOCTL, STATFS. */
    sd = (struct seed){.buf = {0x80, 0x80 | 2}, .len = 2};
    seed_req(&sd, FUSE_LOOKUP, 1, "file", 5, NULL, 0);
    struct fuse_setxattr_in xi = {.size = 3};
    seed_req(&sd, FUSE_SETXATTR, 2, &xi, 8, "user.a\0val", 10);
    struct fuse_getxattr_in gx = {.size = 64};
    seed_req(&sd, FUSE_GETXATTR, 2, &gx, sizeof(gx), "user.a", 7);
    seed_req(&sd, FUSE_LISTXATTR, 2, &gx, sizeof(gx), NULL, 0);
    struct fuse_setattr_in sa = {.valid = FATTR_SIZE | FATTR_MODE, .size = 3, .mode = 0600};
    seed_req(&sd, FUSE_SETATTR, 2, &sa, sizeof(sa), NULL, 0);
    seed_req(&sd, FUSE_OPEN, 2, &oi, sizeof(oi), NULL, 0);
    struct fuse_lk_in lk = {.fh = 2, .lk = {.end = 100, .type = F_WRLCK}};
    seed_req(&sd, FUSE_SETLK, 2, &lk, sizeof(lk), NULL, 0);
    seed_req(&sd, FUSE_GETLK, 2, &lk, sizeof(lk), NULL, 0);
    struct fuse_fallocate_in fa = {.fh = 2, .length = 8192};
    seed_req(&sd, FUSE_FALLOCATE, 2, &fa, sizeof(fa), NULL, 0);
    struct fuse_lseek_in ls = {.fh = 2, .whence = SEEK_DATA};
    seed_req(&sd, FUSE_LSEEK, 2, &ls, sizeof(ls), NULL, 0);
    struct fuse_ioctl_in io = {.fh = 2, .cmd = 0x7602, .arg = 3};
    seed_req(&sd, FUSE_IOCTL, 1, &io, sizeof(io), NULL, 0);
    seed_req(&sd, FUSE_STATFS, 1, NULL, 0, NULL, 0);
    seed_req(&sd, FUSE_LOOKUP, 1, "init.krun", 10, NULL, 0);
    seed_write(dir, "misc", &sd);

    /* Device nodes of the guest (empty files with a record), and the xattr policy. */
    sd = (struct seed){.buf = {0x80, 0x80 | 4}, .len = 2};
    struct fuse_mknod_in mk = {.mode = S_IFCHR | 0666, .rdev = (1 << 8) | 3};
    seed_req(&sd, FUSE_MKNOD, 1, &mk, sizeof(mk), "dev", 4);
    mk = (struct fuse_mknod_in){.mode = S_IFBLK | 0600, .rdev = 7 << 8};
    seed_req(&sd, FUSE_MKNOD, 1, &mk, sizeof(mk), "blk", 4);
    seed_req(&sd, FUSE_GETATTR, 2, &gi, sizeof(gi), NULL, 0);
    struct fuse_setattr_in sm = {.valid = FATTR_MODE, .mode = 04640};
    seed_req(&sd, FUSE_SETATTR, 2, &sm, sizeof(sm), NULL, 0);
    struct fuse_link_in dl = {.oldnodeid = 2};
    seed_req(&sd, FUSE_LINK, 1, &dl, sizeof(dl), "dev2", 5);
    seed_req(&sd, FUSE_OPEN, 2, &oi, sizeof(oi), NULL, 0);
    seed_req(&sd, FUSE_LISTXATTR, 2, &gx, sizeof(gx), NULL, 0);
    struct fuse_setxattr_in dx = {.size = 10};
    seed_req(&sd, FUSE_SETXATTR, 2, &dx, 8, "user.krun.dev\0b 0666 8:0", 24);
    struct fuse_setxattr_in tx = {.size = 1};
    seed_req(&sd, FUSE_SETXATTR, 1, &tx, 8, "trusted.overlay.opaque\0y", 24);
    seed_req(&sd, FUSE_OPENDIR, 1, &di, sizeof(di), NULL, 0);
    struct fuse_read_in rdd = {.fh = 2, .size = 4096};
    seed_req(&sd, FUSE_READDIR, 1, &rdd, sizeof(rdd), NULL, 0);
    seed_write(dir, "devnodes", &sd);
}

static void cleanup(void)
{
    rm_rf(base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
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
    snprintf(base, sizeof(base), "%s/fuzz_fuse.XXXXXX", tmp);
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
    if (!(reply_buf = malloc(ROOMS[7])))
        die("malloc");
    const char *seeds = getenv("FUZZ_FUSE_SEEDS");
    if (seeds) {
        mkdir(seeds, 0755);
        write_seeds(seeds);
    }
    return 0;
}
