/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/fs/fuse_server.c src/virtio/fs/fuse_iov.c src/virtio/fs/fuse_reply.c src/virtio/fs/fs_name.c src/virtio/fs/fs_creds.c src/virtio/fs/idmap.c src/virtio/fs/pt_table.c src/virtio/fs/pt_policy.c src/virtio/fs/passthrough.c src/virtio/fs/overlay.c src/util/log.c */
/*
 * The FUSE server with host passthrough: protocol handling (INIT, header
 * and size checks, segment splitting) and every operation, checked against
 * the host directory it serves.
 */
#include "test.h"
#include "test_fuse_req.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>

static void test_init_negotiation(void)
{
    struct fx f;
    fx_open(&f);
    fuse_server_reset(f.srv);

    /* Before INIT everything else fails with EIO. */
    CHECK_EQ(fx_getattr(&f, FUSE_ROOT_ID, NULL), -EIO);

    struct fuse_init_out o;
    CHECK_EQ(fx_init_req(&f, 7, 26, &o), -EPROTO);
    CHECK_EQ(fx_init_req(&f, 6, 40, &o), -EPROTO);
    /* A newer major: we answer with ours and wait for the retry. */
    memset(&o, 0, sizeof(o));
    CHECK_EQ(fx_init_req(&f, 8, 0, &o), 0);
    CHECK_EQ(o.major, 7);
    CHECK_EQ(o.minor, FUSE_SERVER_MINOR);
    CHECK_EQ(fx_getattr(&f, FUSE_ROOT_ID, NULL), -EIO);

    /* An older minor (>= 27) is echoed; flags are a subset of the driver's. */
    struct fuse_init_in in = {.major = 7,
                              .minor = 27,
                              .max_readahead = 65536,
                              .flags = FUSE_ASYNC_READ | FUSE_WRITEBACK_CACHE | FUSE_MAX_PAGES |
                                       FUSE_DO_READDIRPLUS | FUSE_EXPORT_SUPPORT};
    struct part p = P_MEM(&in, 16); /* drivers before 7.36 send 16 bytes */
    size_t n = 0;
    CHECK_EQ(fx_call(&f, FUSE_INIT, 0, &p, 1, &o, sizeof(o), &n), 0);
    CHECK_EQ(n, sizeof(o));
    CHECK_EQ(o.major, 7);
    CHECK_EQ(o.minor, 27);
    CHECK_EQ(o.flags, FUSE_ASYNC_READ | FUSE_MAX_PAGES | FUSE_DO_READDIRPLUS);
    CHECK_EQ(o.max_write, 1 << 20);
    CHECK_EQ(o.max_pages, 256);
    CHECK_EQ(o.max_readahead, 65536);
    CHECK_EQ(fx_getattr(&f, FUSE_ROOT_ID, NULL), 0);
    /* A second INIT without reset is a protocol error. */
    CHECK_EQ(fx_init_req(&f, 7, 38, &o), -EPROTO);

    /* DESTROY: back to before INIT; a newer driver minor is capped at ours. */
    CHECK_EQ(fx_call(&f, FUSE_DESTROY, 0, NULL, 0, NULL, 0, NULL), 0);
    CHECK_EQ(fx_getattr(&f, FUSE_ROOT_ID, NULL), -EIO);
    CHECK_EQ(fx_init_req(&f, 7, 41, &o), 0);
    CHECK_EQ(o.minor, FUSE_SERVER_MINOR);
    uint32_t want = FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC | FUSE_BIG_WRITES |
                    FUSE_FLOCK_LOCKS | FUSE_HAS_IOCTL_DIR | FUSE_AUTO_INVAL_DATA |
                    FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO |
                    FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES;
    CHECK_EQ(o.flags, want);
    CHECK(!(o.flags & (FUSE_WRITEBACK_CACHE | FUSE_EXPORT_SUPPORT | FUSE_SUBMOUNTS)));
    fx_close(&f);
}

static void test_header_checks(void)
{
    struct fx f;
    fx_open(&f);
    uint8_t out[256];
    struct fuse_out_header oh;

    /* Shorter than a header: an error with unique 0. */
    uint8_t tiny[10] = {0};
    CHECK_EQ(fx_raw(&f, tiny, sizeof(tiny), out, sizeof(out)), sizeof(oh));
    memcpy(&oh, out, sizeof(oh));
    CHECK_EQ(oh.error, -EINVAL);
    CHECK_EQ(oh.unique, 0);

    /* len larger / smaller than what the chain holds. */
    struct {
        struct fuse_in_header h;
        struct fuse_getattr_in g;
    } req = {.h = {.len = sizeof(req), .opcode = FUSE_GETATTR, .unique = 77, .nodeid = 1}};
    req.h.len = 4096;
    CHECK_EQ(fx_raw(&f, &req, sizeof(req), out, sizeof(out)), sizeof(oh));
    memcpy(&oh, out, sizeof(oh));
    CHECK_EQ(oh.error, -EINVAL);
    CHECK_EQ(oh.unique, 77);
    req.h.len = sizeof(req) - 1;
    fx_raw(&f, &req, sizeof(req), out, sizeof(out));
    memcpy(&oh, out, sizeof(oh));
    CHECK_EQ(oh.error, -EINVAL);
    req.h.len = 0xffffffffu;
    fx_raw(&f, &req, sizeof(req), out, sizeof(out));
    memcpy(&oh, out, sizeof(oh));
    CHECK_EQ(oh.error, -EINVAL);

    /* The operation's struct must be there in full. */
    req.h.len = sizeof(req) - 4;
    fx_raw(&f, &req, sizeof(req) - 4, out, sizeof(out));
    memcpy(&oh, out, sizeof(oh));
    CHECK_EQ(oh.error, -EINVAL);

    /* The reply must fit: no room at all writes nothing; too little is EINVAL. */
    req.h.len = sizeof(req);
    CHECK_EQ(fx_raw(&f, &req, sizeof(req), out, 15), 0);
    CHECK_EQ(fx_raw(&f, &req, sizeof(req), out, 16 + sizeof(struct fuse_attr_out) - 1), 16);
    memcpy(&oh, out, sizeof(oh));
    CHECK_EQ(oh.error, -EINVAL);
    CHECK_EQ(fx_raw(&f, &req, sizeof(req), out, sizeof(out)), 16 + sizeof(struct fuse_attr_out));

    /* Unknown and unsupported opcodes. */
    CHECK_EQ(fx_call(&f, 9999, 1, NULL, 0, NULL, 0, NULL), -ENOSYS);
    CHECK_EQ(fx_call(&f, FUSE_BMAP, 1, NULL, 0, NULL, 0, NULL), -ENOSYS);
    CHECK_EQ(fx_call(&f, FUSE_SETUPMAPPING, 1, NULL, 0, NULL, 0, NULL), -ENOSYS);
    CHECK_EQ(fx_call(&f, 0, 1, NULL, 0, NULL, 0, NULL), -ENOSYS);
    CHECK_EQ(fx_call(&f, 0xffffffffu, 1, NULL, 0, NULL, 0, NULL), -ENOSYS);

    /* No reply for FORGET, BATCH_FORGET, INTERRUPT, even when malformed. */
    struct fuse_interrupt_in ii = {.unique = 1};
    struct part p = P_OBJ(ii);
    CHECK_EQ(fx_call(&f, FUSE_INTERRUPT, 0, &p, 1, NULL, 0, NULL), NO_REPLY);
    CHECK_EQ(fx_call(&f, FUSE_FORGET, 1, NULL, 0, NULL, 0, NULL), NO_REPLY);
    CHECK_EQ(f.last_written, 0);
    fx_close(&f);
}

static void test_lookup_getattr(void)
{
    struct fx f;
    fx_open(&f);
    put_file(&f, "a", "hello");
    mkdir(fx_path(&f, "d"), 0750);
    put_file(&f, "d/b", "x");
    CHECK_EQ(link(fx_path(&f, "a"), fx_path(&f, "hard")), 0);

    struct fuse_entry_out e, e2;
    CHECK_EQ(fx_lookup(&f, 1, "a", &e), 0);
    struct stat st;
    stat(fx_path(&f, "a"), &st);
    CHECK(e.nodeid > 1);
    CHECK_EQ(e.generation, 0);
    CHECK_EQ(e.entry_valid, 5);
    CHECK_EQ(e.attr_valid, 5);
    CHECK_EQ(e.attr.ino, st.st_ino);
    CHECK_EQ(e.attr.size, 5);
    CHECK_EQ(e.attr.mode, S_IFREG | 0644);
    CHECK_EQ(e.attr.nlink, 2);
    CHECK_EQ(e.attr.mtime, st.st_mtim.tv_sec);
    CHECK_EQ(e.attr.mtimensec, st.st_mtim.tv_nsec);

    /* Same inode, same node id: again and through the hard link. */
    CHECK_EQ(fx_lookup(&f, 1, "a", &e2), 0);
    CHECK_EQ(e2.nodeid, e.nodeid);
    CHECK_EQ(fx_lookup(&f, 1, "hard", &e2), 0);
    CHECK_EQ(e2.nodeid, e.nodeid);

    uint64_t d = fx_node(&f, 1, "d");
    CHECK(d > 1 && d != e.nodeid);
    CHECK_EQ(fx_lookup(&f, d, "b", &e2), 0);
    CHECK_EQ(e2.attr.size, 1);
    CHECK_EQ(fx_lookup(&f, d, "nope", NULL), -ENOENT);
    /* On the wire a miss is a cacheable negative entry, not an error. */
    struct part nope = P_STR("nope");
    memset(&e2, 0xff, sizeof(e2));
    CHECK_EQ(fx_call(&f, FUSE_LOOKUP, d, &nope, 1, &e2, sizeof(e2), NULL), 0);
    CHECK_EQ(e2.nodeid, 0);
    CHECK_EQ(e2.entry_valid, 5);
    /* A file is no directory. */
    CHECK_EQ(fx_lookup(&f, e.nodeid, "x", NULL), -ENOTDIR);

    struct fuse_attr_out a;
    CHECK_EQ(fx_getattr(&f, d, &a), 0);
    CHECK_EQ(a.attr.mode, S_IFDIR | 0750);
    CHECK_EQ(a.attr_valid, 5);
    CHECK_EQ(fx_getattr(&f, 1, &a), 0);
    stat(f.root, &st);
    CHECK_EQ(a.attr.ino, st.st_ino);

    /* Forgetting every lookup frees the node id; three lookups were counted. */
    fx_forget(&f, e.nodeid, 2);
    CHECK_EQ(fx_getattr(&f, e.nodeid, NULL), 0);
    fx_forget(&f, e.nodeid, 1);
    CHECK_EQ(fx_getattr(&f, e.nodeid, NULL), -ESTALE);
    /* A new lookup gets a different id: the old one stays dead. */
    uint64_t again = fx_node(&f, 1, "a");
    CHECK(again != 0 && again != e.nodeid);
    CHECK_EQ(fx_getattr(&f, e.nodeid, NULL), -ESTALE);

    /* BATCH_FORGET. */
    CHECK_EQ(fx_node(&f, 1, "d"), d);
    struct {
        struct fuse_batch_forget_in h;
        struct fuse_forget_one one[2];
    } bf = {.h = {.count = 2}, .one = {{again, 1}, {d, 1}}};
    struct part p = P_OBJ(bf);
    CHECK_EQ(fx_call(&f, FUSE_BATCH_FORGET, 0, &p, 1, NULL, 0, NULL), NO_REPLY);
    CHECK_EQ(fx_getattr(&f, again, NULL), -ESTALE);
    CHECK_EQ(fx_getattr(&f, d, NULL), 0); /* looked up twice */
    fx_forget(&f, d, 1);
    CHECK_EQ(fx_getattr(&f, d, NULL), -ESTALE);
    fx_close(&f);
}

static void test_read_write(void)
{
    struct fx f;
    fx_open(&f);
    put_file(&f, "f", "0123456789");
    uint64_t n = fx_node(&f, 1, "f");
    uint64_t fh;
    CHECK_EQ(fx_open_file(&f, n, O_RDWR, &fh), 0);
    /* The guest need not send FLUSH at close; one sent anyway is answered. */
    struct fuse_open_in oi = {.flags = O_RDONLY};
    struct fuse_open_out oo = {0};
    struct part op = P_OBJ(oi);
    CHECK_EQ(fx_call(&f, FUSE_OPEN, n, &op, 1, &oo, sizeof(oo), NULL), 0);
    CHECK(oo.open_flags & FOPEN_NOFLUSH);
    struct fuse_flush_in fi = {.fh = oo.fh};
    struct part fp = P_OBJ(fi);
    CHECK_EQ(fx_call(&f, FUSE_FLUSH, n, &fp, 1, NULL, 0, NULL), 0);
    CHECK_EQ(fx_release(&f, FUSE_RELEASE, n, oo.fh), 0);
    char buf[64] = {0};
    CHECK_EQ(fx_read(&f, n, fh, 2, 5, buf), 5);
    CHECK(memcmp(buf, "23456", 5) == 0);
    CHECK_EQ(fx_read(&f, n, fh, 8, 10, buf), 2);
    CHECK_EQ(fx_read(&f, n, fh, 100, 10, buf), 0);
    CHECK_EQ(fx_read(&f, n, fh, 0, 0, buf), 0);
    CHECK_EQ(fx_write(&f, n, fh, 10, "abc", 3), 3);
    CHECK_EQ(fx_write(&f, n, fh, 0, "", 0), 0);

    int fd = open(fx_path(&f, "f"), O_RDONLY);
    CHECK_EQ(read(fd, buf, sizeof(buf)), 13);
    close(fd);
    CHECK(memcmp(buf, "0123456789abc", 13) == 0);

    /* A large write and read through many segments. */
    size_t big = 1 << 20;
    uint8_t *data = malloc(big), *back = malloc(big);
    for (size_t i = 0; i < big; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    f.in_seg = 4093;
    f.out_seg = 4096;
    CHECK_EQ(fx_write(&f, n, fh, 0, data, (uint32_t)big), (long)big);
    memset(back, 0, big);
    CHECK_EQ(fx_read(&f, n, fh, 0, (uint32_t)big, back), (long)big);
    CHECK(memcmp(data, back, big) == 0);
    f.in_seg = f.out_seg = 0;

    /* O_TRUNC at open (ATOMIC_O_TRUNC); a write-only handle cannot read. */
    uint64_t fh2;
    CHECK_EQ(fx_open_file(&f, n, O_WRONLY | O_TRUNC, &fh2), 0);
    struct stat st;
    stat(fx_path(&f, "f"), &st);
    CHECK_EQ(st.st_size, 0);
    CHECK_EQ(fx_read(&f, n, fh2, 0, 4, buf), -EBADF);
    CHECK_EQ(fx_release(&f, FUSE_RELEASE, n, fh2), 0);
    CHECK_EQ(fx_release(&f, FUSE_RELEASE, n, fh2), -EBADF);
    CHECK_EQ(fx_read(&f, n, fh2, 0, 4, buf), -EBADF);

    /* O_APPEND goes to the end whatever the offset. */
    CHECK_EQ(fx_open_file(&f, n, O_WRONLY | O_APPEND, &fh2), 0);
    CHECK_EQ(fx_write(&f, n, fh2, 0, "AB", 2), 2);
    CHECK_EQ(fx_write(&f, n, fh2, 0, "CD", 2), 2);
    CHECK_EQ(fx_read(&f, n, fh, 0, 10, buf), 4);
    CHECK(memcmp(buf, "ABCD", 4) == 0);

    /* FLUSH and FSYNC on a handle. */
    struct fuse_flush_in fl = {.fh = fh};
    struct part p = P_OBJ(fl);
    CHECK_EQ(fx_call(&f, FUSE_FLUSH, n, &p, 1, NULL, 0, NULL), 0);
    struct fuse_fsync_in fs = {.fh = fh, .fsync_flags = FUSE_FSYNC_FDATASYNC};
    p = P_OBJ(fs);
    CHECK_EQ(fx_call(&f, FUSE_FSYNC, n, &p, 1, NULL, 0, NULL), 0);
    fs.fh = 12345;
    CHECK_EQ(fx_call(&f, FUSE_FSYNC, n, &p, 1, NULL, 0, NULL), -EBADF);
    CHECK_EQ(fx_release(&f, FUSE_RELEASE, n, fh2), 0);
    CHECK_EQ(fx_release(&f, FUSE_RELEASE, n, fh), 0);
    free(data);
    free(back);
    fx_close(&f);
}

static void test_create_and_names(void)
{
    struct fx f;
    fx_open(&f);
    struct fuse_entry_out e;
    uint64_t fh;
    CHECK_EQ(fx_create(&f, 1, "new", 0640, O_RDWR | O_CREAT, &e, &fh), 0);
    CHECK(e.nodeid > 1);
    CHECK_EQ(e.attr.mode, S_IFREG | 0640);
    CHECK_EQ(fx_write(&f, e.nodeid, fh, 0, "data", 4), 4);
    struct stat st;
    CHECK_EQ(stat(fx_path(&f, "new"), &st), 0);
    CHECK_EQ(st.st_size, 4);
    CHECK_EQ(st.st_mode & 07777, 0640); /* no umask on top of the guest's */
    CHECK_EQ(fx_node(&f, 1, "new"), e.nodeid);
    /* O_EXCL on an existing name; without it the existing file is opened. */
    CHECK_EQ(fx_create(&f, 1, "new", 0600, O_RDWR | O_CREAT | O_EXCL, NULL, NULL), -EEXIST);
    uint64_t fh2;
    struct fuse_entry_out e2;
    CHECK_EQ(fx_create(&f, 1, "new", 0600, O_RDWR | O_CREAT | O_TRUNC, &e2, &fh2), 0);
    CHECK_EQ(e2.nodeid, e.nodeid);
    stat(fx_path(&f, "new"), &st);
    CHECK_EQ(st.st_size, 0);
    CHECK_EQ(st.st_mode & 07777, 0640);
    fx_release(&f, FUSE_RELEASE, e.nodeid, fh2);

    /* MKDIR with every permission bit: the process umask does not apply. */
    CHECK_EQ(fx_mkdir(&f, 1, "dir", 0777, &e2), 0);
    CHECK_EQ(e2.attr.mode, S_IFDIR | 0777);
    CHECK_EQ(fx_mkdir(&f, 1, "dir", 0777, NULL), -EEXIST);
    uint64_t dir = e2.nodeid;

    /* SYMLINK / READLINK. */
    struct part sp[] = {P_STR("ln"), P_STR("some/where/../else")};
    CHECK_EQ(fx_call(&f, FUSE_SYMLINK, dir, sp, 2, &e2, sizeof(e2), NULL), 0);
    CHECK_EQ(e2.attr.mode & S_IFMT, S_IFLNK);
    char buf[256] = {0};
    size_t n = 0;
    CHECK_EQ(fx_call(&f, FUSE_READLINK, e2.nodeid, NULL, 0, buf, sizeof(buf), &n), 0);
    CHECK_EQ(n, strlen("some/where/../else"));
    CHECK(memcmp(buf, "some/where/../else", n) == 0);
    CHECK_EQ(readlink(fx_path(&f, "dir/ln"), buf, sizeof(buf)), (ssize_t)n);
    /* READLINK of a non-link; reply room too small. */
    CHECK_EQ(fx_call(&f, FUSE_READLINK, e.nodeid, NULL, 0, buf, sizeof(buf), &n), -EINVAL);
    CHECK_EQ(fx_call(&f, FUSE_READLINK, e2.nodeid, NULL, 0, buf, 4, &n), -ERANGE);
    /* Empty target. */
    struct part sp2[] = {P_STR("ln2"), P_STR("")};
    CHECK_EQ(fx_call(&f, FUSE_SYMLINK, dir, sp2, 2, &e2, sizeof(e2), NULL), -ENOENT);

    /* MKNOD: a FIFO, a socket, a regular file. */
    struct fuse_mknod_in mk = {.mode = S_IFIFO | 0600};
    struct part mp[] = {P_OBJ(mk), P_STR("fifo")};
    CHECK_EQ(fx_call(&f, FUSE_MKNOD, dir, mp, 2, &e2, sizeof(e2), NULL), 0);
    CHECK_EQ(e2.attr.mode, S_IFIFO | 0600);
    CHECK_EQ(lstat(fx_path(&f, "dir/fifo"), &st), 0);
    CHECK(S_ISFIFO(st.st_mode));
    mk.mode = S_IFREG | 0604;
    mp[1] = P_STR("reg");
    CHECK_EQ(fx_call(&f, FUSE_MKNOD, dir, mp, 2, &e2, sizeof(e2), NULL), 0);
    CHECK_EQ(e2.attr.mode, S_IFREG | 0604);

    /* LINK. */
    struct fuse_link_in li = {.oldnodeid = e.nodeid};
    struct part lp[] = {P_OBJ(li), P_STR("hard")};
    CHECK_EQ(fx_call(&f, FUSE_LINK, dir, lp, 2, &e2, sizeof(e2), NULL), 0);
    CHECK_EQ(e2.nodeid, e.nodeid);
    CHECK_EQ(e2.attr.nlink, 2);
    li.oldnodeid = dir; /* directories cannot be linked */
    lp[1] = P_STR("dirlink");
    CHECK_EQ(fx_call(&f, FUSE_LINK, 1, lp, 2, &e2, sizeof(e2), NULL), -EPERM);

    /* RENAME and RENAME2 (NOREPLACE, EXCHANGE). */
    struct fuse_rename_in rn = {.newdir = 1};
    struct part rp[] = {P_OBJ(rn), P_STR("hard"), P_STR("moved")};
    CHECK_EQ(fx_call(&f, FUSE_RENAME, dir, rp, 3, NULL, 0, NULL), 0);
    CHECK_EQ(access(fx_path(&f, "moved"), F_OK), 0);
    CHECK_EQ(access(fx_path(&f, "dir/hard"), F_OK), -1);
    struct fuse_rename2_in r2 = {.newdir = 1, .flags = RENAME_NOREPLACE};
    struct part r2p[] = {P_OBJ(r2), P_STR("moved"), P_STR("new")};
    CHECK_EQ(fx_call(&f, FUSE_RENAME2, 1, r2p, 3, NULL, 0, NULL), -EEXIST);
    put_file(&f, "x1", "one");
    put_file(&f, "x2", "two");
    r2.flags = RENAME_EXCHANGE;
    r2p[1] = P_STR("x1");
    r2p[2] = P_STR("x2");
    CHECK_EQ(fx_call(&f, FUSE_RENAME2, 1, r2p, 3, NULL, 0, NULL), 0);
    stat(fx_path(&f, "x1"), &st);
    CHECK_EQ(st.st_size, 3);
    int fd = open(fx_path(&f, "x1"), O_RDONLY);
    CHECK_EQ(read(fd, buf, 3), 3);
    close(fd);
    CHECK(memcmp(buf, "two", 3) == 0);
    r2.flags = 0x100;
    CHECK_EQ(fx_call(&f, FUSE_RENAME2, 1, r2p, 3, NULL, 0, NULL), -EINVAL);

    /* UNLINK / RMDIR. */
    CHECK_EQ(fx_name_op(&f, FUSE_UNLINK, 1, "moved"), 0);
    CHECK_EQ(fx_name_op(&f, FUSE_UNLINK, 1, "moved"), -ENOENT);
    CHECK_EQ(fx_name_op(&f, FUSE_RMDIR, 1, "dir"), -ENOTEMPTY);
    CHECK_EQ(fx_name_op(&f, FUSE_UNLINK, 1, "dir"), -EISDIR);
    CHECK_EQ(fx_name_op(&f, FUSE_RMDIR, 1, "x1"), -ENOTDIR);
    CHECK_EQ(fx_mkdir(&f, 1, "empty", 0700, NULL), 0);
    CHECK_EQ(fx_name_op(&f, FUSE_RMDIR, 1, "empty"), 0);
    CHECK_EQ(access(fx_path(&f, "empty"), F_OK), -1);
    /* The deleted file's node still works through its handle. */
    CHECK_EQ(fx_name_op(&f, FUSE_UNLINK, 1, "new"), 0);
    CHECK_EQ(fx_write(&f, e.nodeid, fh, 0, "zz", 2), 2);
    struct fuse_attr_out a;
    CHECK_EQ(fx_getattr(&f, e.nodeid, &a), 0);
    CHECK_EQ(a.attr.nlink, 0);
    fx_release(&f, FUSE_RELEASE, e.nodeid, fh);
    fx_close(&f);
}

static void test_setattr(void)
{
    struct fx f;
    fx_open(&f);
    put_file(&f, "f", "0123456789");
    uint64_t n = fx_node(&f, 1, "f");
    struct fuse_attr_out a;
    struct stat st;

    struct fuse_setattr_in sa = {.valid = FATTR_SIZE, .size = 4};
    CHECK_EQ(fx_setattr(&f, n, &sa, &a), 0);
    CHECK_EQ(a.attr.size, 4);
    stat(fx_path(&f, "f"), &st);
    CHECK_EQ(st.st_size, 4);
    /* Through a handle. */
    uint64_t fh;
    fx_open_file(&f, n, O_RDWR, &fh);
    sa = (struct fuse_setattr_in){.valid = FATTR_SIZE | FATTR_FH, .size = 100, .fh = fh};
    CHECK_EQ(fx_setattr(&f, n, &sa, &a), 0);
    CHECK_EQ(a.attr.size, 100);
    fx_release(&f, FUSE_RELEASE, n, fh);

    sa = (struct fuse_setattr_in){.valid = FATTR_MODE, .mode = S_IFREG | 04711};
    CHECK_EQ(fx_setattr(&f, n, &sa, &a), 0);
    CHECK_EQ(a.attr.mode, S_IFREG | 04711);
    stat(fx_path(&f, "f"), &st);
    CHECK_EQ(st.st_mode, S_IFREG | 04711);

    sa = (struct fuse_setattr_in){.valid = FATTR_ATIME | FATTR_MTIME,
                                  .atime = 1000,
                                  .atimensec = 5,
                                  .mtime = 2000,
                                  .mtimensec = 999999999};
    CHECK_EQ(fx_setattr(&f, n, &sa, &a), 0);
    stat(fx_path(&f, "f"), &st);
    CHECK_EQ(st.st_atim.tv_sec, 1000);
    CHECK_EQ(st.st_atim.tv_nsec, 5);
    CHECK_EQ(st.st_mtim.tv_sec, 2000);
    CHECK_EQ(st.st_mtim.tv_nsec, 999999999);
    CHECK_EQ(a.attr.mtime, 2000);
    sa = (struct fuse_setattr_in){.valid = FATTR_MTIME | FATTR_MTIME_NOW};
    CHECK_EQ(fx_setattr(&f, n, &sa, &a), 0);
    stat(fx_path(&f, "f"), &st);
    CHECK(st.st_mtim.tv_sec > time(NULL) - 100);
    CHECK_EQ(st.st_atim.tv_sec, 1000);
    sa = (struct fuse_setattr_in){.valid = FATTR_ATIME, .atime = 1, .atimensec = 1000000000};
    CHECK_EQ(fx_setattr(&f, n, &sa, &a), -EINVAL);
    sa = (struct fuse_setattr_in){.valid = FATTR_SIZE, .size = (uint64_t)INT64_MAX + 1};
    CHECK_EQ(fx_setattr(&f, n, &sa, &a), -EINVAL);

    /* chown (we run as root here). */
    if (geteuid() == 0) {
        sa = (struct fuse_setattr_in){.valid = FATTR_UID | FATTR_GID, .uid = 1234, .gid = 5678};
        CHECK_EQ(fx_setattr(&f, n, &sa, &a), 0);
        stat(fx_path(&f, "f"), &st);
        CHECK_EQ(st.st_uid, 1234);
        CHECK_EQ(st.st_gid, 5678);
        CHECK_EQ(a.attr.uid, 1234);
    }

    /* Symlinks: times and owner apply to the link itself, mode and size do not. */
    CHECK_EQ(symlink("f", fx_path(&f, "ln")), 0);
    uint64_t ln = fx_node(&f, 1, "ln");
    sa = (struct fuse_setattr_in){.valid = FATTR_MTIME, .mtime = 3000};
    CHECK_EQ(fx_setattr(&f, ln, &sa, &a), 0);
    lstat(fx_path(&f, "ln"), &st);
    CHECK_EQ(st.st_mtim.tv_sec, 3000);
    stat(fx_path(&f, "f"), &st);
    CHECK(st.st_mtim.tv_sec != 3000);
    sa = (struct fuse_setattr_in){.valid = FATTR_SIZE, .size = 0};
    CHECK_EQ(fx_setattr(&f, ln, &sa, &a), -EINVAL);
    sa = (struct fuse_setattr_in){.valid = FATTR_MODE, .mode = 0777};
    CHECK_EQ(fx_setattr(&f, ln, &sa, &a), -EOPNOTSUPP);
    /* A directory cannot be truncated. */
    sa = (struct fuse_setattr_in){.valid = FATTR_SIZE, .size = 0};
    CHECK_EQ(fx_setattr(&f, 1, &sa, &a), -EISDIR);
    fx_close(&f);
}

static void test_xattrs(void)
{
    struct fx f;
    fx_open(&f);
    put_file(&f, "f", "x");
    uint64_t n = fx_node(&f, 1, "f");
    const char *val = "value-1";

    struct fuse_setxattr_in si = {.size = (uint32_t)strlen(val)};
    struct part p[] = {P_MEM(&si, 8), P_STR("user.test"), P_MEM(val, strlen(val))};
    int ret = fx_call(&f, FUSE_SETXATTR, n, p, 3, NULL, 0, NULL);
    if (ret == -ENOTSUP || ret == -EOPNOTSUPP) {
        printf("     (user xattrs not supported on /tmp: skipped)\n");
        fx_close(&f);
        return;
    }
    CHECK_EQ(ret, 0);
    char buf[256] = {0};
    CHECK_EQ(getxattr(fx_path(&f, "f"), "user.test", buf, sizeof(buf)), (ssize_t)strlen(val));
    /* XATTR_CREATE on an existing name. */
    si.flags = XATTR_CREATE;
    CHECK_EQ(fx_call(&f, FUSE_SETXATTR, n, p, 3, NULL, 0, NULL), -EEXIST);
    si.flags = 0x80;
    CHECK_EQ(fx_call(&f, FUSE_SETXATTR, n, p, 3, NULL, 0, NULL), -EINVAL);
    si.flags = 0;
    /* size must match the data that follows. */
    si.size = 3;
    CHECK_EQ(fx_call(&f, FUSE_SETXATTR, n, p, 3, NULL, 0, NULL), -EINVAL);
    si.size = (uint32_t)strlen(val);

    struct fuse_getxattr_in gi = {.size = 0};
    struct part gp[] = {P_OBJ(gi), P_STR("user.test")};
    struct fuse_getxattr_out go = {0};
    CHECK_EQ(fx_call(&f, FUSE_GETXATTR, n, gp, 2, &go, sizeof(go), NULL), 0);
    CHECK_EQ(go.size, strlen(val));
    gi.size = sizeof(buf);
    size_t len = 0;
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(fx_call(&f, FUSE_GETXATTR, n, gp, 2, buf, sizeof(buf), &len), 0);
    CHECK_EQ(len, strlen(val));
    CHECK_STR(buf, val);
    gi.size = 3;
    CHECK_EQ(fx_call(&f, FUSE_GETXATTR, n, gp, 2, buf, 3, &len), -ERANGE);
    gp[1] = P_STR("user.none");
    gi.size = sizeof(buf);
    CHECK_EQ(fx_call(&f, FUSE_GETXATTR, n, gp, 2, buf, sizeof(buf), &len), -ENODATA);

    struct part lp = P_OBJ(gi);
    gi.size = 0;
    CHECK_EQ(fx_call(&f, FUSE_LISTXATTR, n, &lp, 1, &go, sizeof(go), NULL), 0);
    CHECK(go.size >= strlen("user.test") + 1);
    gi.size = sizeof(buf);
    memset(buf, 0, sizeof(buf));
    CHECK_EQ(fx_call(&f, FUSE_LISTXATTR, n, &lp, 1, buf, sizeof(buf), &len), 0);
    CHECK(memmem(buf, len, "user.test", 10) != NULL);

    struct part rp = P_STR("user.test");
    CHECK_EQ(fx_call(&f, FUSE_REMOVEXATTR, n, &rp, 1, NULL, 0, NULL), 0);
    CHECK_EQ(fx_call(&f, FUSE_REMOVEXATTR, n, &rp, 1, NULL, 0, NULL), -ENODATA);
    CHECK_EQ(getxattr(fx_path(&f, "f"), "user.test", buf, sizeof(buf)), -1);

    /* Bad names and sizes. */
    struct part ep = P_STR("");
    CHECK_EQ(fx_call(&f, FUSE_REMOVEXATTR, n, &ep, 1, NULL, 0, NULL), -ERANGE);
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    memcpy(longname, "user.", 5);
    ep = P_STR(longname);
    CHECK_EQ(fx_call(&f, FUSE_REMOVEXATTR, n, &ep, 1, NULL, 0, NULL), -ERANGE);
    size_t huge = 65 * 1024;
    char *hv = calloc(1, huge);
    si.size = (uint32_t)huge;
    p[2] = P_MEM(hv, huge);
    CHECK_EQ(fx_call(&f, FUSE_SETXATTR, n, p, 3, NULL, 0, NULL), -E2BIG);
    /* The largest value Linux allows goes through (the copy is on the heap). */
    si.size = 64 * 1024;
    p[2] = P_MEM(hv, 64 * 1024);
    p[1] = P_STR("user.big");
    ret = fx_call(&f, FUSE_SETXATTR, n, p, 3, NULL, 0, NULL);
    CHECK(ret == 0 || ret == -ENOSPC || ret == -E2BIG);
    free(hv);
    fx_close(&f);
}

static void test_readdir(void)
{
    struct fx f;
    fx_open(&f);
    mkdir(fx_path(&f, "d"), 0755);
    put_file(&f, "d/one", "1");
    mkdir(fx_path(&f, "d/sub"), 0755);
    CHECK_EQ(symlink("one", fx_path(&f, "d/ln")), 0);
    uint64_t d = fx_node(&f, 1, "d");
    uint64_t fh;
    CHECK_EQ(fx_opendir(&f, d, &fh), 0);
    struct dirlist dl;
    CHECK_EQ(fx_readdir(&f, d, fh, 0, 4096, false, &dl), 0);
    CHECK_EQ(dl.n, 5);
    CHECK(dl_find(&dl, ".") >= 0 && dl_find(&dl, "..") >= 0);
    int i = dl_find(&dl, "one");
    CHECK(i >= 0);
    struct stat st;
    stat(fx_path(&f, "d/one"), &st);
    if (i >= 0)
        CHECK_EQ(dl.ino[i], st.st_ino);

    /* Entries changing: a new name shows up when listing again from the start. */
    put_file(&f, "d/two", "2");
    CHECK_EQ(fx_readdir(&f, d, fh, 0, 4096, false, &dl), 0);
    CHECK_EQ(dl.n, 6);
    CHECK(dl_find(&dl, "two") >= 0);
    unlink(fx_path(&f, "d/one"));
    CHECK_EQ(fx_readdir(&f, d, fh, 0, 4096, false, &dl), 0);
    CHECK_EQ(dl.n, 5);
    CHECK(dl_find(&dl, "one") < 0);

    /* Small buffers: continue from the last offset, see each name once. */
    unsigned seen = 0;
    uint64_t off = 0;
    for (int rounds = 0; rounds < 20; rounds++) {
        CHECK_EQ(fx_readdir(&f, d, fh, off, 40, false, &dl), 0);
        if (dl.n == 0)
            break;
        CHECK_EQ(dl.n, 1);
        seen++;
        off = dl.off[0];
    }
    CHECK_EQ(seen, 5);

    /* READDIRPLUS: entries carry looked-up nodes, except "." and "..". */
    CHECK_EQ(fx_readdir(&f, d, fh, 0, 8192, true, &dl), 0);
    CHECK_EQ(dl.n, 5);
    i = dl_find(&dl, "sub");
    uint64_t sub = fx_node(&f, d, "sub");
    CHECK(i >= 0 && dl.nodeid[i] == sub);
    CHECK_EQ(dl.nodeid[dl_find(&dl, ".")], 0);
    CHECK_EQ(dl.nodeid[dl_find(&dl, "..")], 0);
    /* Two lookups of sub (plus + explicit): forgetting both frees it. */
    fx_forget(&f, sub, 1);
    CHECK_EQ(fx_getattr(&f, sub, NULL), 0);
    fx_forget(&f, sub, 1);
    CHECK_EQ(fx_getattr(&f, sub, NULL), -ESTALE);
    /* A READDIRPLUS buffer too small for one entry returns nothing and counts nothing. */
    CHECK_EQ(fx_readdir(&f, d, fh, 2, 100, true, &dl), 0);
    CHECK_EQ(dl.n, 0);

    /* Handle checks. */
    CHECK_EQ(fx_readdir(&f, d, 999, 0, 4096, false, &dl), -EBADF);
    struct fuse_fsync_in fs = {.fh = fh};
    struct part p = P_OBJ(fs);
    CHECK_EQ(fx_call(&f, FUSE_FSYNCDIR, d, &p, 1, NULL, 0, NULL), 0);
    CHECK_EQ(fx_release(&f, FUSE_RELEASE, d, fh), -EBADF); /* a directory handle */
    CHECK_EQ(fx_release(&f, FUSE_RELEASEDIR, d, fh), 0);
    CHECK_EQ(fx_readdir(&f, d, fh, 0, 4096, false, &dl), -EBADF);
    /* OPENDIR of a file. */
    uint64_t two = fx_node(&f, d, "two");
    CHECK_EQ(fx_opendir(&f, two, &fh), -ENOTDIR);
    CHECK_EQ(fx_open_file(&f, d, O_RDONLY, &fh), -EISDIR);

    /* The share root's ".." shows the root's own inode, not its host parent's. */
    CHECK_EQ(fx_opendir(&f, 1, &fh), 0);
    CHECK_EQ(fx_readdir(&f, 1, fh, 0, 4096, false, &dl), 0);
    stat(f.root, &st);
    i = dl_find(&dl, "..");
    CHECK(i >= 0 && dl.ino[i] == st.st_ino);
    fx_release(&f, FUSE_RELEASEDIR, 1, fh);
    fx_close(&f);
}

static void test_fallocate_lseek_copy(void)
{
    struct fx f;
    fx_open(&f);
    put_file(&f, "src", "");
    uint64_t n = fx_node(&f, 1, "src");
    uint64_t fh;
    fx_open_file(&f, n, O_RDWR, &fh);

    struct fuse_fallocate_in fa = {.fh = fh, .offset = 0, .length = 1 << 20};
    struct part p = P_OBJ(fa);
    CHECK_EQ(fx_call(&f, FUSE_FALLOCATE, n, &p, 1, NULL, 0, NULL), 0);
    struct stat st;
    stat(fx_path(&f, "src"), &st);
    CHECK_EQ(st.st_size, 1 << 20);
    fa.mode = FALLOC_FL_KEEP_SIZE;
    fa.length = 2 << 20;
    CHECK_EQ(fx_call(&f, FUSE_FALLOCATE, n, &p, 1, NULL, 0, NULL), 0);
    stat(fx_path(&f, "src"), &st);
    CHECK_EQ(st.st_size, 1 << 20);
    fa.offset = (uint64_t)INT64_MAX;
    fa.length = 10;
    CHECK_EQ(fx_call(&f, FUSE_FALLOCATE, n, &p, 1, NULL, 0, NULL), -EINVAL);

    /* Data at 64 KiB, a hole before it (on filesystems that track holes). */
    int tfd = open(fx_path(&f, "src"), O_WRONLY | O_TRUNC);
    CHECK(tfd >= 0);
    close(tfd);
    char blk[4096];
    memset(blk, 'z', sizeof(blk));
    CHECK_EQ(fx_write(&f, n, fh, 65536, blk, sizeof(blk)), (long)sizeof(blk));
    struct fuse_lseek_in ls = {.fh = fh, .offset = 0, .whence = SEEK_DATA};
    struct fuse_lseek_out lo = {0};
    p = P_OBJ(ls);
    CHECK_EQ(fx_call(&f, FUSE_LSEEK, n, &p, 1, &lo, sizeof(lo), NULL), 0);
    CHECK(lo.offset == 65536 || lo.offset == 0);
    ls.whence = SEEK_HOLE;
    ls.offset = 65536;
    CHECK_EQ(fx_call(&f, FUSE_LSEEK, n, &p, 1, &lo, sizeof(lo), NULL), 0);
    CHECK_EQ(lo.offset, 65536 + 4096);
    ls.whence = SEEK_DATA;
    ls.offset = 1 << 20;
    CHECK_EQ(fx_call(&f, FUSE_LSEEK, n, &p, 1, &lo, sizeof(lo), NULL), -ENXIO);
    ls.whence = SEEK_CUR;
    CHECK_EQ(fx_call(&f, FUSE_LSEEK, n, &p, 1, &lo, sizeof(lo), NULL), -EINVAL);

    /* COPY_FILE_RANGE into another file. */
    struct fuse_entry_out e;
    uint64_t fh2;
    CHECK_EQ(fx_create(&f, 1, "dst", 0644, O_RDWR, &e, &fh2), 0);
    struct fuse_copy_file_range_in cp = {.fh_in = fh,
                                         .off_in = 65536,
                                         .nodeid_out = e.nodeid,
                                         .fh_out = fh2,
                                         .off_out = 10,
                                         .len = 4096};
    struct fuse_write_out wo = {0};
    p = P_OBJ(cp);
    CHECK_EQ(fx_call(&f, FUSE_COPY_FILE_RANGE, n, &p, 1, &wo, sizeof(wo), NULL), 0);
    CHECK_EQ(wo.size, 4096);
    stat(fx_path(&f, "dst"), &st);
    CHECK_EQ(st.st_size, 4106);
    cp.flags = 1;
    CHECK_EQ(fx_call(&f, FUSE_COPY_FILE_RANGE, n, &p, 1, &wo, sizeof(wo), NULL), -EINVAL);
    cp.flags = 0;
    cp.fh_out = 4242;
    CHECK_EQ(fx_call(&f, FUSE_COPY_FILE_RANGE, n, &p, 1, &wo, sizeof(wo), NULL), -EBADF);

    /* STATFS. */
    struct fuse_statfs_out so = {0};
    CHECK_EQ(fx_call(&f, FUSE_STATFS, 1, NULL, 0, &so, sizeof(so), NULL), 0);
    CHECK(so.st.bsize > 0 && so.st.blocks > 0 && so.st.namelen == 255);

    /* ACCESS (root passes everything but execution of a non-executable file). */
    struct fuse_access_in ai = {.mask = R_OK | W_OK};
    p = P_OBJ(ai);
    CHECK_EQ(fx_call(&f, FUSE_ACCESS, n, &p, 1, NULL, 0, NULL), 0);
    ai.mask = 0x100;
    CHECK_EQ(fx_call(&f, FUSE_ACCESS, n, &p, 1, NULL, 0, NULL), -EINVAL);
    fx_release(&f, FUSE_RELEASE, n, fh);
    fx_release(&f, FUSE_RELEASE, e.nodeid, fh2);
    fx_close(&f);
}

struct unlocker {
    int fd;
    int delay_ms;
};

static void *unlock_later(void *arg)
{
    struct unlocker *u = arg;
    struct timespec ts = {0, u->delay_ms * 1000000L};
    nanosleep(&ts, NULL);
    struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET};
    fcntl(u->fd, F_OFD_SETLK, &fl);
    return NULL;
}

static int lk(struct fx *f, uint32_t op, uint64_t n, uint64_t fh, uint32_t type, uint64_t start,
              uint64_t end, struct fuse_lk_out *out)
{
    struct fuse_lk_in in = {.fh = fh, .owner = 1, .lk = {.start = start, .end = end, .type = type}};
    struct part p = P_OBJ(in);
    struct fuse_lk_out tmp;
    return fx_call(f, op, n, &p, 1, out ? out : &tmp, sizeof(tmp), NULL);
}

static void *stop_later(void *arg)
{
    struct timespec ts = {0, 50000000L};
    nanosleep(&ts, NULL);
    fuse_server_stop(arg, true);
    return NULL;
}

static void test_locks(void)
{
    struct fx f;
    fx_open_ex(&f, false, false, NULL, 0, 1);
    put_file(&f, "f", "0123456789");
    uint64_t n = fx_node(&f, 1, "f");
    uint64_t fh;
    fx_open_file(&f, n, O_RDWR, &fh);
    const uint64_t eof = INT64_MAX;

    struct fuse_lk_out lo;
    CHECK_EQ(lk(&f, FUSE_GETLK, n, fh, F_WRLCK, 0, eof, &lo), 0);
    CHECK_EQ(lo.lk.type, F_UNLCK);
    CHECK_EQ(lk(&f, FUSE_SETLK, n, fh, F_WRLCK, 0, 4, NULL), 0);

    /* Another open file description on the host sees the lock. */
    int hfd = open(fx_path(&f, "f"), O_RDWR);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 2, .l_len = 1};
    CHECK_EQ(fcntl(hfd, F_OFD_GETLK, &fl), 0);
    CHECK_EQ(fl.l_type, F_WRLCK);
    CHECK_EQ(fl.l_start, 0);
    CHECK_EQ(fl.l_len, 5);
    CHECK_EQ(lk(&f, FUSE_SETLK, n, fh, F_UNLCK, 0, eof, NULL), 0);

    /* The host holds a lock: SETLK fails, GETLK reports it (pid 0), SETLKW waits. */
    fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 3, .l_len = 0};
    CHECK_EQ(fcntl(hfd, F_OFD_SETLK, &fl), 0);
    CHECK_EQ(lk(&f, FUSE_SETLK, n, fh, F_RDLCK, 0, 10, NULL), -EAGAIN);
    CHECK_EQ(lk(&f, FUSE_GETLK, n, fh, F_RDLCK, 0, 10, &lo), 0);
    CHECK_EQ(lo.lk.type, F_WRLCK);
    CHECK_EQ(lo.lk.start, 3);
    CHECK_EQ(lo.lk.end, eof);
    CHECK_EQ(lo.lk.pid, 0);
    CHECK_EQ(lk(&f, FUSE_SETLK, n, fh, F_RDLCK, 0, 2, NULL), 0); /* no overlap */

    struct unlocker u = {hfd, 100};
    pthread_t t;
    pthread_create(&t, NULL, unlock_later, &u);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(lk(&f, FUSE_SETLKW, n, fh, F_WRLCK, 0, eof, NULL), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(t, NULL);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(ms >= 90);
    CHECK_EQ(lk(&f, FUSE_SETLK, n, fh, F_UNLCK, 0, eof, NULL), 0);

    /* A waiter gives up when the device stops. */
    CHECK_EQ(fcntl(hfd, F_OFD_SETLK, &fl), 0);
    pthread_create(&t, NULL, stop_later, f.srv);
    CHECK_EQ(lk(&f, FUSE_SETLKW, n, fh, F_WRLCK, 0, eof, NULL), -EINTR);
    pthread_join(t, NULL);
    /* What the device does once its workers are joined. */
    fuse_server_stop(f.srv, false);
    fuse_server_reset(f.srv);
    fx_init_req(&f, 7, 38, NULL);
    n = fx_node(&f, 1, "f");
    fx_open_file(&f, n, O_RDWR, &fh);

    /* Bad ranges and types. */
    CHECK_EQ(lk(&f, FUSE_SETLK, n, fh, F_WRLCK, 5, 4, NULL), -EINVAL);
    CHECK_EQ(lk(&f, FUSE_SETLK, n, fh, 7, 0, 4, NULL), -EINVAL);
    CHECK_EQ(lk(&f, FUSE_SETLK, n, fh, F_WRLCK, 0, (uint64_t)INT64_MAX + 5, NULL), -EINVAL);
    CHECK_EQ(lk(&f, FUSE_SETLK, n, 5555, F_WRLCK, 0, 4, NULL), -EBADF);

    /* flock() locks. */
    struct fuse_lk_in in = {.fh = fh, .lk = {.type = F_WRLCK}, .lk_flags = FUSE_LK_FLOCK};
    struct part p = P_OBJ(in);
    int hfd2 = open(fx_path(&f, "f"), O_RDONLY);
    CHECK_EQ(fx_call(&f, FUSE_SETLK, n, &p, 1, NULL, 0, NULL), 0);
    CHECK_EQ(flock(hfd2, LOCK_SH | LOCK_NB), -1);
    in.lk.type = F_UNLCK;
    CHECK_EQ(fx_call(&f, FUSE_SETLK, n, &p, 1, NULL, 0, NULL), 0);
    CHECK_EQ(flock(hfd2, LOCK_SH | LOCK_NB), 0);
    in.lk.type = F_WRLCK;
    CHECK_EQ(fx_call(&f, FUSE_SETLK, n, &p, 1, NULL, 0, NULL), -EAGAIN);
    flock(hfd2, LOCK_UN);
    close(hfd2);
    fx_release(&f, FUSE_RELEASE, n, fh);
    close(hfd);
    fx_close(&f);

    /* No waiting slot left: SETLKW fails at once instead of tying up a worker. */
    fx_open_ex(&f, false, false, NULL, 0, 0);
    put_file(&f, "f", "x");
    n = fx_node(&f, 1, "f");
    fx_open_file(&f, n, O_RDWR, &fh);
    hfd = open(fx_path(&f, "f"), O_RDWR);
    CHECK_EQ(fcntl(hfd, F_OFD_SETLK, &fl), 0);
    CHECK_EQ(lk(&f, FUSE_SETLKW, n, fh, F_WRLCK, 0, eof, NULL), -EDEADLK);
    close(hfd);
    CHECK_EQ(lk(&f, FUSE_SETLKW, n, fh, F_WRLCK, 0, eof, NULL), 0);
    fx_close(&f);
}

static void test_credentials(void)
{
    if (geteuid() != 0 || !fs_creds_can_switch()) {
        printf("     (not root: credential switching not tested)\n");
        return;
    }
    struct fx f;
    fx_open(&f);
    chmod(f.root, 0777);
    f.uid = 1000;
    f.gid = 1001;
    struct fuse_entry_out e;
    uint64_t fh;
    CHECK_EQ(fx_create(&f, 1, "owned", 0644, O_WRONLY, &e, &fh), 0);
    CHECK_EQ(e.attr.uid, 1000);
    CHECK_EQ(e.attr.gid, 1001);
    struct stat st;
    stat(fx_path(&f, "owned"), &st);
    CHECK_EQ(st.st_uid, 1000);
    CHECK_EQ(st.st_gid, 1001);
    CHECK_EQ(fx_mkdir(&f, 1, "dir", 0755, &e), 0);
    CHECK_EQ(e.attr.uid, 1000);
    struct part sp[] = {P_STR("ln"), P_STR("owned")};
    CHECK_EQ(fx_call(&f, FUSE_SYMLINK, 1, sp, 2, &e, sizeof(e), NULL), 0);
    lstat(fx_path(&f, "ln"), &st);
    CHECK_EQ(st.st_uid, 1000);
    CHECK_EQ(st.st_gid, 1001);
    /* The worker is itself again afterwards. */
    f.uid = f.gid = 0;
    CHECK_EQ(fx_mkdir(&f, 1, "rootdir", 0755, &e), 0);
    CHECK_EQ(e.attr.uid, 0);
    struct fs_creds_saved s;
    CHECK_EQ(fs_creds_switch(0, 0, &s), 0);
    CHECK(!s.switched);
    /* The guest's ids apply to the host's permission checks of the creation. */
    f.uid = 2000;
    f.gid = 2000;
    CHECK_EQ(fx_mkdir(&f, fx_node(&f, 1, "rootdir"), "denied", 0755, NULL), -EACCES);
    /* An id the kernel cannot use. */
    f.uid = 0xffffffffu;
    CHECK_EQ(fx_mkdir(&f, 1, "bad", 0755, NULL), -EPERM);
    fx_release(&f, FUSE_RELEASE, 0, fh);
    fx_close(&f);
}

/* The same requests with every segment one byte long (requests and replies). */
static void test_byte_segments(void)
{
    struct fx f;
    fx_open(&f);
    f.in_seg = 1;
    f.out_seg = 1;
    put_file(&f, "file-with-a-long-name", "segment test");
    struct fuse_entry_out e;
    CHECK_EQ(fx_lookup(&f, 1, "file-with-a-long-name", &e), 0);
    CHECK_EQ(e.attr.size, 12);
    uint64_t fh;
    CHECK_EQ(fx_open_file(&f, e.nodeid, O_RDWR, &fh), 0);
    char buf[32] = {0};
    CHECK_EQ(fx_read(&f, e.nodeid, fh, 8, 4, buf), 4);
    CHECK_STR(buf, "test");
    CHECK_EQ(fx_write(&f, e.nodeid, fh, 0, "SEGMENT", 7), 7);
    CHECK_EQ(fx_read(&f, e.nodeid, fh, 0, 32, buf), 12);
    CHECK(memcmp(buf, "SEGMENT test", 12) == 0);
    struct part sp[] = {P_STR("l"), P_STR("target/x")};
    CHECK_EQ(fx_call(&f, FUSE_SYMLINK, 1, sp, 2, &e, sizeof(e), NULL), 0);
    struct dirlist dl;
    uint64_t dfh;
    CHECK_EQ(fx_opendir(&f, 1, &dfh), 0);
    CHECK_EQ(fx_readdir(&f, 1, dfh, 0, 4096, true, &dl), 0);
    CHECK_EQ(dl.n, 4);
    /* A read whose data spans more segments than fit on the stack. */
    char big[300];
    CHECK_EQ(fx_read(&f, 0, fh, 0, sizeof(big), big), 12);
    fx_close(&f);
}

static void test_destroy_and_reset(void)
{
    struct fx f;
    fx_open(&f);
    put_file(&f, "f", "x");
    uint64_t n = fx_node(&f, 1, "f");
    uint64_t fh;
    fx_open_file(&f, n, O_RDONLY, &fh);
    CHECK_EQ(fx_call(&f, FUSE_DESTROY, 0, NULL, 0, NULL, 0, NULL), 0);
    CHECK_EQ(fx_init_req(&f, 7, 38, NULL), 0);
    /* Nodes and handles of the old session are gone; the root stays. */
    CHECK_EQ(fx_getattr(&f, n, NULL), -ESTALE);
    char c;
    CHECK_EQ(fx_read(&f, n, fh, 0, 1, &c), -EBADF);
    CHECK_EQ(fx_getattr(&f, 1, NULL), 0);
    CHECK(fx_node(&f, 1, "f") != 0);
    fx_close(&f);
}

/* A one-shot rendezvous between the test and a hooked operation. */
struct gate {
    pthread_mutex_t m;
    pthread_cond_t c;
    bool armed, arrived, open;
};

static void gate_pass(struct gate *g)
{
    pthread_mutex_lock(&g->m);
    if (g->armed) {
        g->armed = false;
        g->arrived = true;
        pthread_cond_broadcast(&g->c);
        while (!g->open)
            pthread_cond_wait(&g->c, &g->m);
    }
    pthread_mutex_unlock(&g->m);
}

static void gate_wait_arrived(struct gate *g)
{
    pthread_mutex_lock(&g->m);
    while (!g->arrived)
        pthread_cond_wait(&g->c, &g->m);
    pthread_mutex_unlock(&g->m);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->m);
    g->open = true;
    pthread_cond_broadcast(&g->c);
    pthread_mutex_unlock(&g->m);
}

/* The real filesystem, with pauses: after the forgetting of a DESTROY, after a setlk poll. */
static struct fs_ops hooked_ops;
static struct gate reset_gate = {.m = PTHREAD_MUTEX_INITIALIZER, .c = PTHREAD_COND_INITIALIZER};
static struct gate setlk_gate = {.m = PTHREAD_MUTEX_INITIALIZER, .c = PTHREAD_COND_INITIALIZER};
static atomic_int setlk_calls;

static void hooked_reset(void *fs)
{
    overlay_ops.reset(fs);
    gate_pass(&reset_gate);
}

static int hooked_setlk(void *fs, const struct fs_ctx *c, uint64_t nodeid, uint64_t fh,
                        const struct fs_lock *lk)
{
    int ret = overlay_ops.setlk(fs, c, nodeid, fh, lk);
    if (atomic_fetch_add(&setlk_calls, 1) == 1) /* the waiter's first retry */
        gate_pass(&setlk_gate);
    return ret;
}

struct waiter {
    struct fx f;
    uint64_t node, fh;
    int ret;
    atomic_bool done;
};

static void *destroy_thread(void *arg)
{
    struct fx *f = arg;
    fx_call(f, FUSE_DESTROY, 0, NULL, 0, NULL, 0, NULL);
    return NULL;
}

static void *setlkw_thread(void *arg)
{
    struct waiter *w = arg;
    w->ret = lk(&w->f, FUSE_SETLKW, w->node, w->fh, F_WRLCK, 0, INT64_MAX, NULL);
    atomic_store(&w->done, true);
    return NULL;
}

/*
 * The driver resets the device while a DESTROY is in flight and a SETLKW
 * waits on a lock the host holds. The device's stop (fuse_server_stop) comes
 * first, the DESTROY ends after it: the waiter must still give up, or the
 * reset, which joins the workers, would wait forever. The hooks fix the
 * order: DESTROY pauses after forgetting the handles, a new handle is opened
 * and waited on, the waiter pauses in its poll, the stop comes, DESTROY ends,
 * the waiter goes on.
 */
static void test_destroy_while_stopping(void)
{
    struct fx f;
    fx_open(&f);
    put_file(&f, "f", "x");
    struct fuse_server *plain = f.srv;
    char err[256];
    struct passthrough *pt;
    struct overlay *o;
    CHECK_EQ(passthrough_new(f.root, false, &pt, err, sizeof(err)), 0);
    CHECK_EQ(overlay_new(&passthrough_ops, pt, NULL, 0, NULL, NULL, &o, err, sizeof(err)), 0);
    hooked_ops = overlay_ops;
    hooked_ops.reset = hooked_reset;
    hooked_ops.setlk = hooked_setlk;
    f.srv = fuse_server_new(&hooked_ops, o, 1);
    CHECK_EQ(fx_init_req(&f, 7, 38, NULL), 0);
    int hfd = open(fx_path(&f, "f"), O_RDWR);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    CHECK_EQ(fcntl(hfd, F_OFD_SETLK, &fl), 0);

    reset_gate.armed = true;
    pthread_t d, w;
    pthread_create(&d, NULL, destroy_thread, &f);
    gate_wait_arrived(&reset_gate);
    /* DESTROY has forgotten everything but has not ended: a new handle, and a SETLKW on it. */
    struct waiter wt = {.f = f};
    wt.f.unique = 1000;
    wt.node = fx_node(&f, 1, "f");
    CHECK_EQ(fx_open_file(&f, wt.node, O_RDWR, &wt.fh), 0);
    atomic_store(&setlk_calls, 0);
    setlk_gate.armed = true;
    pthread_create(&w, NULL, setlkw_thread, &wt);
    gate_wait_arrived(&setlk_gate);
    /* The device stops; then DESTROY ends; then the waiter polls again. */
    fuse_server_stop(f.srv, true);
    gate_open(&reset_gate);
    pthread_join(d, NULL);
    gate_open(&setlk_gate);
    for (int i = 0; i < 2000 && !atomic_load(&wt.done); i++)
        nanosleep(&(struct timespec){0, 1000000L}, NULL);
    CHECK(atomic_load(&wt.done));
    if (!atomic_load(&wt.done)) {
        /* Let the stuck waiter go, so that the test ends. */
        fl.l_type = F_UNLCK;
        fcntl(hfd, F_OFD_SETLK, &fl);
    }
    pthread_join(w, NULL);
    CHECK_EQ(wt.ret, -EINTR);
    close(hfd);
    fuse_server_free(f.srv);
    f.srv = plain;
    fx_close(&f);
}

struct stress {
    struct fx f; /* a copy per thread: same server, own request counter */
    int id;
    int errors;
};

static void *stress_thread(void *arg)
{
    struct stress *st = arg;
    struct fx *f = &st->f;
    char name[32], buf[64];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "t%d-%d", st->id, i % 5);
        struct fuse_entry_out e;
        uint64_t fh;
        int ret = fx_create(f, 1, name, 0644, O_RDWR | O_CREAT, &e, &fh);
        if (ret < 0) {
            st->errors++;
            continue;
        }
        if (fx_write(f, e.nodeid, fh, 0, name, (uint32_t)strlen(name)) != (long)strlen(name) ||
            fx_read(f, e.nodeid, fh, 0, sizeof(buf), buf) != (long)strlen(name))
            st->errors++;
        /* A file every thread shares, and a directory listing with lookups. */
        uint64_t shared = fx_node(f, 1, "shared");
        if (!shared || fx_getattr(f, shared, NULL) != 0)
            st->errors++;
        uint64_t dfh;
        struct dirlist dl;
        if (fx_opendir(f, 1, &dfh) == 0) {
            fx_readdir(f, 1, dfh, 0, 4096, true, &dl);
            for (unsigned k = 0; k < dl.n; k++)
                if (dl.nodeid[k])
                    fx_forget(f, dl.nodeid[k], 1);
            fx_release(f, FUSE_RELEASEDIR, 1, dfh);
        }
        fx_release(f, FUSE_RELEASE, e.nodeid, fh);
        fx_forget(f, e.nodeid, 1);
        fx_forget(f, shared, 1);
        if (i % 3 == 0)
            fx_name_op(f, FUSE_UNLINK, 1, name);
    }
    return NULL;
}

/* Several workers at once, as the device runs them: no errors, no leaks (ASan/TSan builds). */
static void test_concurrency(void)
{
    struct fx f;
    fx_open(&f);
    put_file(&f, "shared", "s");
    struct stress st[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        st[i] = (struct stress){.f = f, .id = i};
        pthread_create(&t[i], NULL, stress_thread, &st[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ(st[i].errors, 0);
    }
    CHECK_EQ(fx_getattr(&f, fx_node(&f, 1, "shared"), NULL), 0);
    /* fx_close checks that every inode and handle fd was closed. */
    fx_close(&f);
}

int main(void)
{
    if (fs_thread_init() < 0) {
        fprintf(stderr, "unshare(CLONE_FS) failed\n");
        return 1;
    }
    RUN(test_init_negotiation);
    RUN(test_header_checks);
    RUN(test_lookup_getattr);
    RUN(test_read_write);
    RUN(test_create_and_names);
    RUN(test_setattr);
    RUN(test_xattrs);
    RUN(test_readdir);
    RUN(test_fallocate_lseek_copy);
    RUN(test_locks);
    RUN(test_credentials);
    RUN(test_byte_segments);
    RUN(test_destroy_and_reset);
    RUN(test_destroy_while_stopping);
    RUN(test_concurrency);
    return TEST_EXIT();
}
