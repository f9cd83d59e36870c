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
 * entries) in <tmp>/share, next to <tmp>/outside (tests/fuzz/fuse_env.h,
 * shared with fuzz_fuse_mt.c, the concurrent variant). After the session
 * the harness checks that nothing outside the share changed and that the
 * server closed every fd it opened.
 *
 * Input layout:
 *   0      bits 0-4: request segment size (0: one segment); bit 7: fix up
 *          fuse_in_header.len to the real length
 *   1      bits 0-4: reply segment size; bits 5-7: reply room (index in ROOMS)
 *   2..    requests: le16 length, then that many bytes (header + body).
 *          A node id below 16 (other than 1) is replaced by the n-th node
 *          id returned so far, a handle below 16 in the first field of the
 *          body by the n-th handle returned, so that sequences can refer to
 *          what they created (fuse_env.h lists the fields).
 * FUSE_INIT is sent before the first request. File sizes are capped at
 * 64 MiB (RLIMIT_FSIZE) so that filling the share fails fast.
 */
#include "fuse_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_REQS 64

static uint8_t *reply_buf;

struct session {
    struct fuse_server *srv;
    struct ids ids;
    unsigned in_seg, out_seg;
    size_t room;
};

static void send_req(struct session *s, uint8_t *req, size_t len)
{
    struct iovec in[256], out[256];
    uint32_t op = 0;
    if (len >= HDR)
        memcpy(&op, req + offsetof(struct fuse_in_header, opcode), 4);
    ids_patch(&s->ids, req, len);
    unsigned ni = split(req, len, s->in_seg, in, 256);
    unsigned no = split(reply_buf, s->room, s->out_seg, out, 256);
    size_t n = fuse_server_handle(s->srv, in, ni, out, no);
    ids_learn(&s->ids, op, reply_buf, n, s->room);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    /* libFuzzer installs a SIGXFSZ handler after LLVMFuzzerInitialize: we want EFBIG. */
    signal(SIGXFSZ, SIG_IGN);
    int fds = count_fds();
    static struct session s = {.ids = {.lock = PTHREAD_MUTEX_INITIALIZER}};
    ids_reset(&s.ids);
    s.srv = fresh_server();
    s.in_seg = data[0] & 0x1f;
    s.out_seg = data[1] & 0x1f;
    s.room = ROOMS[data[1] >> 5];
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
    end_session(fds);
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

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    env_init("fuzz_fuse");
    if (!(reply_buf = malloc(ROOMS[7])))
        die("malloc");
    const char *seeds = getenv("FUZZ_FUSE_SEEDS");
    if (seeds) {
        mkdir(seeds, 0755);
        write_seeds(seeds);
    }
    return 0;
}
