/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/fs/fuse_server.c src/virtio/fs/fuse_iov.c src/virtio/fs/fuse_reply.c src/virtio/fs/fs_name.c src/virtio/fs/fs_creds.c src/virtio/fs/idmap.c src/virtio/fs/pt_table.c src/virtio/fs/pt_policy.c src/virtio/fs/passthrough.c src/virtio/fs/overlay.c src/util/log.c */
/*
 * Confinement: a guest sending hostile requests never reaches anything
 * outside the shared directory, never makes the server open a FIFO or a
 * device, and never crashes it with bad names, lengths, node ids or handles.
 */
#include "test.h"
#include "test_fuse_req.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <time.h>

/* Every name-taking operation refuses the name with the expected error. */
static void check_bad_name(struct fx *f, const char *name, size_t len, int want)
{
    /* The name as raw bytes: maybe without its NUL, maybe with bytes after it. */
    struct fuse_mkdir_in mi = {.mode = 0755};
    struct fuse_mknod_in mn = {.mode = S_IFREG | 0644};
    struct fuse_create_in ci = {.flags = O_RDWR, .mode = 0644};
    struct fuse_rename_in ri = {.newdir = 1};
    struct fuse_link_in li = {.oldnodeid = fx_node(f, 1, "file")};
    struct fuse_entry_out e;
    struct part nm = P_MEM(name, len);
    struct part p2[2];

    CHECK_EQ(fx_call(f, FUSE_LOOKUP, 1, &nm, 1, &e, sizeof(e), NULL), want);
    CHECK_EQ(fx_call(f, FUSE_UNLINK, 1, &nm, 1, NULL, 0, NULL), want);
    CHECK_EQ(fx_call(f, FUSE_RMDIR, 1, &nm, 1, NULL, 0, NULL), want);
    p2[0] = P_OBJ(mi);
    p2[1] = nm;
    CHECK_EQ(fx_call(f, FUSE_MKDIR, 1, p2, 2, &e, sizeof(e), NULL), want);
    p2[0] = P_OBJ(mn);
    CHECK_EQ(fx_call(f, FUSE_MKNOD, 1, p2, 2, &e, sizeof(e), NULL), want);
    p2[0] = P_OBJ(li);
    CHECK_EQ(fx_call(f, FUSE_LINK, 1, p2, 2, &e, sizeof(e), NULL), want);
    struct {
        struct fuse_entry_out e;
        struct fuse_open_out o;
    } co;
    p2[0] = P_OBJ(ci);
    CHECK_EQ(fx_call(f, FUSE_CREATE, 1, p2, 2, &co, sizeof(co), NULL), want);
    /* SYMLINK: the bad name as the entry name (the target may be anything). */
    struct part sp[] = {nm, P_STR("target")};
    if (len > 0 && memchr(name, '\0', len))
        CHECK_EQ(fx_call(f, FUSE_SYMLINK, 1, sp, 2, &e, sizeof(e), NULL), want);
    /* RENAME: as the old and as the new name. */
    struct part rp[] = {P_OBJ(ri), P_STR("file"), nm};
    if (len > 0 && memchr(name, '\0', len)) {
        CHECK_EQ(fx_call(f, FUSE_RENAME, 1, rp, 3, NULL, 0, NULL), want);
        rp[1] = nm;
        rp[2] = P_STR("file2");
        CHECK_EQ(fx_call(f, FUSE_RENAME, 1, rp, 3, NULL, 0, NULL), want);
    }
}

static void test_bad_names(void)
{
    struct fx f;
    fx_open(&f);
    put_file(&f, "file", "x");
    mkdir(fx_path(&f, "sub"), 0755);
    put_file(&f, "sub/inner", "x");

    check_bad_name(&f, "", 1, -EINVAL);
    check_bad_name(&f, ".", 2, -EINVAL);
    check_bad_name(&f, "..", 3, -EINVAL);
    check_bad_name(&f, "/", 2, -EINVAL);
    check_bad_name(&f, "sub/inner", 10, -EINVAL);
    check_bad_name(&f, "../etc", 7, -EINVAL);
    check_bad_name(&f, "/etc/passwd", 12, -EINVAL);
    check_bad_name(&f, "a/", 3, -EINVAL);
    /* Not NUL-terminated within the request. */
    check_bad_name(&f, "file", 4, -EINVAL);
    check_bad_name(&f, "", 0, -EINVAL);
    /* Too long: 256 bytes, and 64 KiB. */
    char n256[257];
    memset(n256, 'n', 256);
    n256[256] = '\0';
    check_bad_name(&f, n256, 257, -ENAMETOOLONG);
    size_t big = 64 * 1024;
    char *n64k = malloc(big);
    memset(n64k, 'x', big - 1);
    n64k[big - 1] = '\0';
    check_bad_name(&f, n64k, big, -ENAMETOOLONG);
    /* Larger than any request body we accept. */
    size_t huge = 200 * 1024;
    char *nh = malloc(huge);
    memset(nh, 'y', huge - 1);
    nh[huge - 1] = '\0';
    check_bad_name(&f, nh, huge, -EINVAL);
    free(n64k);
    free(nh);
    /* A 255-byte name is fine. */
    n256[255] = '\0';
    CHECK_EQ(fx_mkdir(&f, 1, n256, 0755, NULL), 0);

    /* Nothing was created or removed by any of it. */
    struct dirlist dl;
    uint64_t fh;
    fx_opendir(&f, 1, &fh);
    fx_readdir(&f, 1, fh, 0, 8192, false, &dl);
    CHECK_EQ(dl.n, 5);
    fx_release(&f, FUSE_RELEASEDIR, 1, fh);
    CHECK_EQ(access(fx_path(&f, "sub/inner"), F_OK), 0);

    /* A symlink target may be any path: the guest resolves it in its own tree. */
    struct part sp[] = {P_STR("abs"), P_STR("/etc/passwd")};
    struct fuse_entry_out e;
    CHECK_EQ(fx_call(&f, FUSE_SYMLINK, 1, sp, 2, &e, sizeof(e), NULL), 0);
    /* ...but not longer than PATH_MAX, and it must be NUL-terminated. */
    char *t = malloc(5000);
    memset(t, 't', 4999);
    t[4999] = '\0';
    sp[0] = P_STR("long");
    sp[1] = P_STR(t);
    CHECK_EQ(fx_call(&f, FUSE_SYMLINK, 1, sp, 2, &e, sizeof(e), NULL), -ENAMETOOLONG);
    sp[1] = P_MEM(t, 10);
    CHECK_EQ(fx_call(&f, FUSE_SYMLINK, 1, sp, 2, &e, sizeof(e), NULL), -EINVAL);
    free(t);
    fx_close(&f);
}

/* A symlink that points outside: the guest gets the link, the host never follows it. */
static void check_escape_link(struct fx *f, const char *name, const char *target)
{
    CHECK_EQ(symlink(target, fx_path(f, name)), 0);
    struct fuse_entry_out e;
    CHECK_EQ(fx_lookup(f, 1, name, &e), 0);
    CHECK_EQ(e.attr.mode & S_IFMT, S_IFLNK);
    CHECK_EQ(e.attr.size, strlen(target));
    uint64_t n = e.nodeid;
    char buf[256] = {0};
    size_t len = 0;
    CHECK_EQ(fx_call(f, FUSE_READLINK, n, NULL, 0, buf, sizeof(buf), &len), 0);
    CHECK(len == strlen(target) && memcmp(buf, target, len) == 0);

    /* Using it as a directory, or opening it, fails on the host side. */
    CHECK_EQ(fx_lookup(f, n, "passwd", NULL), -ENOTDIR);
    CHECK_EQ(fx_lookup(f, n, "self", NULL), -ENOTDIR);
    uint64_t fh = 0;
    CHECK_EQ(fx_open_file(f, n, O_RDONLY, &fh), -ELOOP);
    CHECK_EQ(fx_open_file(f, n, O_RDWR | O_TRUNC, &fh), -ELOOP);
    CHECK_EQ(fx_opendir(f, n, &fh), -ENOTDIR);
    CHECK_EQ(fx_create(f, n, "x", 0644, O_RDWR, NULL, NULL), -ENOTDIR);
    CHECK_EQ(fx_mkdir(f, n, "x", 0755, NULL), -ENOTDIR);
    CHECK_EQ(fx_name_op(f, FUSE_UNLINK, n, "passwd"), -ENOTDIR);
    struct fuse_setattr_in sa = {.valid = FATTR_SIZE, .size = 0};
    CHECK_EQ(fx_setattr(f, n, &sa, NULL), -EINVAL);
    sa = (struct fuse_setattr_in){.valid = FATTR_MODE, .mode = 0777};
    CHECK_EQ(fx_setattr(f, n, &sa, NULL), -EOPNOTSUPP);
    /* Attributes are the link's own, not its target's. */
    struct fuse_attr_out a;
    CHECK_EQ(fx_getattr(f, n, &a), 0);
    CHECK_EQ(a.attr.mode & S_IFMT, S_IFLNK);
    /* A hard link to it links the symlink, not the target. */
    struct fuse_link_in li = {.oldnodeid = n};
    char lname[64];
    snprintf(lname, sizeof(lname), "%s.hard", name);
    struct part lp[] = {P_OBJ(li), P_STR(lname)};
    CHECK_EQ(fx_call(f, FUSE_LINK, 1, lp, 2, &e, sizeof(e), NULL), 0);
    struct stat st;
    CHECK_EQ(lstat(fx_path(f, lname), &st), 0);
    CHECK(S_ISLNK(st.st_mode));
    /* Renaming over it replaces the link, not the target. */
    put_file(f, "victim", "v");
    struct fuse_rename_in ri = {.newdir = 1};
    struct part rp[] = {P_OBJ(ri), P_STR("victim"), P_STR(lname)};
    CHECK_EQ(fx_call(f, FUSE_RENAME, 1, rp, 3, NULL, 0, NULL), 0);
    CHECK_EQ(lstat(fx_path(f, lname), &st), 0);
    CHECK(S_ISREG(st.st_mode));
    /* Creating with its name does not follow it. */
    CHECK_EQ(fx_create(f, 1, name, 0644, O_RDWR | O_CREAT, NULL, NULL), -ELOOP);
}

static void test_symlink_escapes(void)
{
    struct fx f;
    fx_open(&f);
    struct stat before;
    stat("/etc/passwd", &before);
    check_escape_link(&f, "etc", "/etc");
    check_escape_link(&f, "up", "../..");
    check_escape_link(&f, "up1", "..");
    check_escape_link(&f, "pw", "/etc/passwd");
    check_escape_link(&f, "fdlink", "/proc/self/fd/3");
    check_escape_link(&f, "cwd", "/proc/self/cwd");
    check_escape_link(&f, "root", "/proc/self/root");
    check_escape_link(&f, "dangling", "/nonexistent/file");
    struct stat after;
    stat("/etc/passwd", &after);
    CHECK_EQ(after.st_size, before.st_size);
    CHECK_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    CHECK_EQ(access("/nonexistent/file", F_OK), -1);

    /* A directory symlink in the middle: LOOKUP of "etc" then "passwd" fails. */
    uint64_t etc = fx_node(&f, 1, "etc");
    CHECK_EQ(fx_lookup(&f, etc, "passwd", NULL), -ENOTDIR);
    /* xattr calls act on the link itself, never on its target. */
    struct fuse_getxattr_in gi = {.size = 0};
    struct part gp[] = {P_OBJ(gi), P_STR("user.x")};
    struct fuse_getxattr_out go;
    int ret = fx_call(&f, FUSE_GETXATTR, etc, gp, 2, &go, sizeof(go), NULL);
    CHECK(ret == -ENODATA || ret == -EOPNOTSUPP);
    fx_close(&f);
}

/* Pseudo filesystems mounted inside the share show as empty directories. */
static void test_pseudo_fs(void)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        printf("     (no mount namespace: skipped)\n");
        return;
    }
    struct fx f;
    fx_open(&f);
    mkdir(fx_path(&f, "proc"), 0555);
    mkdir(fx_path(&f, "tmpfs"), 0755);
    if (mount("proc", fx_path(&f, "proc"), "proc", 0, NULL) < 0 ||
        mount("tmpfs", fx_path(&f, "tmpfs"), "tmpfs", 0, NULL) < 0) {
        printf("     (cannot mount here: skipped)\n");
        fx_close(&f);
        return;
    }
    struct fuse_entry_out e;
    CHECK_EQ(fx_lookup(&f, 1, "proc", &e), 0);
    CHECK_EQ(e.attr.mode & S_IFMT, S_IFDIR);
    uint64_t proc = e.nodeid;
    CHECK_EQ(fx_lookup(&f, proc, "self", NULL), -ENOENT);
    CHECK_EQ(fx_lookup(&f, proc, "1", NULL), -ENOENT);
    CHECK_EQ(fx_lookup(&f, proc, "sys", NULL), -ENOENT);
    CHECK_EQ(fx_mkdir(&f, proc, "x", 0755, NULL), -EACCES);
    CHECK_EQ(fx_create(&f, proc, "x", 0644, O_RDWR, NULL, NULL), -EACCES);
    uint64_t fh;
    CHECK_EQ(fx_opendir(&f, proc, &fh), 0);
    struct dirlist dl;
    CHECK_EQ(fx_readdir(&f, proc, fh, 0, 4096, true, &dl), 0);
    CHECK_EQ(dl.n, 2); /* "." and ".." only */
    CHECK_EQ(fx_release(&f, FUSE_RELEASEDIR, proc, fh), 0);
    struct fuse_setattr_in sa = {.valid = FATTR_MODE, .mode = 0777};
    CHECK_EQ(fx_setattr(&f, proc, &sa, NULL), -EACCES);
    /* The guest can still mount its own procfs there: the node is a directory. */
    CHECK_EQ(fx_getattr(&f, proc, NULL), 0);

    /* A file of a pseudo filesystem bind-mounted into the share cannot be opened. */
    put_file(&f, "pfile", "plain");
    if (mount("/proc/self/status", fx_path(&f, "pfile"), NULL, MS_BIND, NULL) == 0) {
        uint64_t pf = fx_node(&f, 1, "pfile");
        CHECK(pf != 0);
        CHECK_EQ(fx_getattr(&f, pf, NULL), 0);
        CHECK_EQ(fx_open_file(&f, pf, O_RDONLY, &fh), -EACCES);
        CHECK_EQ(fx_open_file(&f, pf, O_RDWR, &fh), -EACCES);
        struct fuse_getxattr_in gi = {.size = 0};
        struct part lp = P_OBJ(gi);
        struct fuse_getxattr_out go = {.size = 99};
        CHECK_EQ(fx_call(&f, FUSE_LISTXATTR, pf, &lp, 1, &go, sizeof(go), NULL), 0);
        CHECK_EQ(go.size, 0);
        umount2(fx_path(&f, "pfile"), MNT_DETACH);
    } else {
        printf("     (cannot bind-mount a proc file: that part skipped)\n");
    }

    /* Ordinary filesystems mounted inside are served. */
    uint64_t t = fx_node(&f, 1, "tmpfs");
    CHECK(t != 0);
    CHECK_EQ(fx_mkdir(&f, t, "inside", 0755, NULL), 0);
    CHECK_EQ(access(fx_path(&f, "tmpfs/inside"), F_OK), 0);
    umount2(fx_path(&f, "proc"), MNT_DETACH);
    umount2(fx_path(&f, "tmpfs"), MNT_DETACH);
    fx_close(&f);
}

static void test_special_files(void)
{
    struct fx f;
    fx_open(&f);
    CHECK_EQ(mkfifo(fx_path(&f, "fifo"), 0666), 0);
    bool have_dev = mknod(fx_path(&f, "null"), S_IFCHR | 0666, makedev(1, 3)) == 0;

    /* LOOKUP and GETATTR of a FIFO without a writer return at once. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct fuse_entry_out e;
    CHECK_EQ(fx_lookup(&f, 1, "fifo", &e), 0);
    CHECK_EQ(e.attr.mode & S_IFMT, S_IFIFO);
    CHECK_EQ(fx_getattr(&f, e.nodeid, NULL), 0);
    uint64_t fh;
    /* Opening it for I/O is refused (it would block, and the guest never asks). */
    CHECK_EQ(fx_open_file(&f, e.nodeid, O_RDONLY, &fh), -EACCES);
    CHECK_EQ(fx_open_file(&f, e.nodeid, O_WRONLY | O_NONBLOCK, &fh), -EACCES);
    CHECK_EQ(fx_create(&f, 1, "fifo", 0644, O_RDONLY | O_CREAT, NULL, NULL), -EACCES);
    struct fuse_setattr_in sa = {.valid = FATTR_SIZE, .size = 0};
    CHECK_EQ(fx_setattr(&f, e.nodeid, &sa, NULL), -EINVAL);
    sa = (struct fuse_setattr_in){.valid = FATTR_MODE, .mode = 0600};
    CHECK_EQ(fx_setattr(&f, e.nodeid, &sa, NULL), 0);
    struct dirlist dl;
    uint64_t dfh;
    fx_opendir(&f, 1, &dfh);
    CHECK_EQ(fx_readdir(&f, 1, dfh, 0, 8192, true, &dl), 0);
    fx_release(&f, FUSE_RELEASEDIR, 1, dfh);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(t1.tv_sec - t0.tv_sec < 2);

    if (have_dev) {
        uint64_t n = fx_node(&f, 1, "null");
        struct fuse_attr_out a;
        CHECK_EQ(fx_getattr(&f, n, &a), 0);
        CHECK_EQ(a.attr.mode & S_IFMT, S_IFCHR);
        CHECK_EQ(a.attr.rdev, (1 << 8) | 3);
        CHECK_EQ(fx_open_file(&f, n, O_RDWR, &fh), -EACCES);
    }

    /* MKNOD: no device is ever made on the host: a device node of the guest is an empty
       0600 regular file there (test_fuse_devnode.c), or refused without user xattrs.
       S_IFDIR is refused; the 0:0 whiteout and FIFOs are real. */
    struct fuse_mknod_in mk = {.mode = S_IFCHR | 0666, .rdev = (1 << 8) | 3};
    struct part mp[] = {P_OBJ(mk), P_STR("dev")};
    const char *made[] = {"dev", "blk"};
    for (int i = 0; i < 2; i++) {
        mk.mode = (i ? S_IFBLK : S_IFCHR) | 0666;
        mp[1] = P_STR(made[i]);
        int ret = fx_call(&f, FUSE_MKNOD, 1, mp, 2, &e, sizeof(e), NULL);
        CHECK(ret == 0 || ret == -EPERM);
        struct stat st = {0};
        if (ret == 0) {
            CHECK_EQ(lstat(fx_path(&f, made[i]), &st), 0);
            CHECK(S_ISREG(st.st_mode));
            CHECK_EQ(st.st_mode & 07777, 0600);
            CHECK_EQ(st.st_size, 0);
        } else {
            CHECK_EQ(access(fx_path(&f, made[i]), F_OK), -1);
        }
    }
    mk.mode = S_IFDIR | 0755;
    mp[1] = P_STR("dir");
    CHECK_EQ(fx_call(&f, FUSE_MKNOD, 1, mp, 2, &e, sizeof(e), NULL), -EPERM);
    CHECK_EQ(access(fx_path(&f, "dir"), F_OK), -1);
    if (geteuid() == 0) {
        mk.mode = S_IFCHR | 0;
        mk.rdev = 0;
        mp[1] = P_STR("whiteout");
        CHECK_EQ(fx_call(&f, FUSE_MKNOD, 1, mp, 2, &e, sizeof(e), NULL), 0);
        struct stat st;
        CHECK_EQ(lstat(fx_path(&f, "whiteout"), &st), 0);
        CHECK(S_ISCHR(st.st_mode) && st.st_rdev == 0);
    }
    fx_close(&f);
}

static void test_bogus_ids(void)
{
    struct fx f;
    fx_open(&f);
    put_file(&f, "file", "data");
    uint64_t file = fx_node(&f, 1, "file");
    uint64_t fh;
    fx_open_file(&f, file, O_RDWR, &fh);
    uint64_t dfh;
    fx_opendir(&f, 1, &dfh);

    /* Unused slots, other generations of a used slot, the overlay's id space. */
    const uint64_t nodes[] = {0,
                              2,
                              3,
                              file + 1,
                              file + (1ull << 32),
                              (1ull << 32) | 77,
                              UINT64_MAX,
                              1ull << 63,
                              (1ull << 63) | 1,
                              (1ull << 63) | 999,
                              0x7fffffffffffffffull};
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        uint64_t n = nodes[i];
        CHECK_EQ(fx_getattr(&f, n, NULL), -ESTALE);
        CHECK_EQ(fx_lookup(&f, n, "file", NULL), -ESTALE);
        CHECK_EQ(fx_mkdir(&f, n, "x", 0755, NULL), -ESTALE);
        CHECK_EQ(fx_name_op(&f, FUSE_UNLINK, n, "file"), -ESTALE);
        uint64_t scratch;
        CHECK_EQ(fx_open_file(&f, n, O_RDONLY, &scratch), -ESTALE);
        CHECK_EQ(fx_opendir(&f, n, &scratch), -ESTALE);
        struct fuse_setattr_in sa = {.valid = FATTR_MODE, .mode = 0777};
        CHECK_EQ(fx_setattr(&f, n, &sa, NULL), -ESTALE);
        struct fuse_rename_in ri = {.newdir = n};
        struct part rp[] = {P_OBJ(ri), P_STR("file"), P_STR("moved")};
        CHECK_EQ(fx_call(&f, FUSE_RENAME, 1, rp, 3, NULL, 0, NULL), -ESTALE);
        struct fuse_link_in li = {.oldnodeid = n};
        struct part lp[] = {P_OBJ(li), P_STR("l")};
        struct fuse_entry_out e;
        CHECK_EQ(fx_call(&f, FUSE_LINK, 1, lp, 2, &e, sizeof(e), NULL), -ESTALE);
        struct fuse_ioctl_in io = {.cmd = KRUN_EXIT_CODE_IOCTL, .arg = 3};
        struct part ip = P_OBJ(io);
        struct fuse_ioctl_out ioo;
        CHECK_EQ(fx_call(&f, FUSE_IOCTL, n, &ip, 1, &ioo, sizeof(ioo), NULL), -ESTALE);
        /* Forgetting unknown nodes is harmless. */
        fx_forget(&f, n, 1000);
    }
    CHECK_EQ(f.exit_calls, 0);
    CHECK_EQ(access(fx_path(&f, "file"), F_OK), 0);
    /* The root cannot be forgotten. */
    fx_forget(&f, 1, UINT64_MAX);
    CHECK_EQ(fx_getattr(&f, 1, NULL), 0);

    const uint64_t fhs[] = {0,          1,          fh + 2,           fh + (1ull << 32),
                            UINT64_MAX, 1ull << 63, (1ull << 63) | 1, (1ull << 63) | 12345};
    char buf[16];
    for (size_t i = 0; i < sizeof(fhs) / sizeof(fhs[0]); i++) {
        uint64_t h = fhs[i];
        CHECK_EQ(fx_read(&f, file, h, 0, 4, buf), -EBADF);
        CHECK_EQ(fx_write(&f, file, h, 0, "x", 1), -EBADF);
        CHECK_EQ(fx_release(&f, FUSE_RELEASE, file, h), -EBADF);
        CHECK_EQ(fx_release(&f, FUSE_RELEASEDIR, 1, h), -EBADF);
        struct dirlist dl;
        CHECK_EQ(fx_readdir(&f, 1, h, 0, 4096, false, &dl), -EBADF);
    }
    /* A directory handle is not a file handle, and the other way round. */
    CHECK_EQ(fx_read(&f, file, dfh, 0, 4, buf), -EBADF);
    CHECK_EQ(fx_write(&f, file, dfh, 0, "x", 1), -EBADF);
    struct dirlist dl;
    CHECK_EQ(fx_readdir(&f, 1, fh, 0, 4096, false, &dl), -EBADF);
    /* The real handles still work. */
    CHECK_EQ(fx_read(&f, file, fh, 0, 4, buf), 4);
    fx_release(&f, FUSE_RELEASE, file, fh);
    fx_release(&f, FUSE_RELEASEDIR, 1, dfh);
    fx_close(&f);
}

static void test_huge_lengths(void)
{
    struct fx f;
    fx_open(&f);
    put_file(&f, "file", "data");
    uint64_t file = fx_node(&f, 1, "file");
    uint64_t fh;
    fx_open_file(&f, file, O_RDWR, &fh);
    char buf[64];

    /* READ: above 1 MiB, or more than the guest gave room for. */
    struct fuse_read_in ri = {.fh = fh, .size = (1 << 20) + 1};
    struct part p = P_OBJ(ri);
    CHECK_EQ(fx_call2(&f, FUSE_READ, file, &p, 1, buf, sizeof(buf), NULL, (1 << 20) + 64), -EINVAL);
    ri.size = 0xffffffffu;
    CHECK_EQ(fx_call(&f, FUSE_READ, file, &p, 1, buf, sizeof(buf), NULL), -EINVAL);
    ri.size = 65;
    CHECK_EQ(fx_call(&f, FUSE_READ, file, &p, 1, buf, sizeof(buf), NULL), -EINVAL);
    ri.size = 4;
    ri.offset = (uint64_t)INT64_MAX + 1;
    CHECK_EQ(fx_call(&f, FUSE_READ, file, &p, 1, buf, sizeof(buf), NULL), -EINVAL);

    /* WRITE: size must match the data and stay within 1 MiB. */
    struct fuse_write_in wi = {.fh = fh, .size = 100};
    struct part wp[] = {P_OBJ(wi), P_MEM("abcd", 4)};
    struct fuse_write_out wo;
    CHECK_EQ(fx_call(&f, FUSE_WRITE, file, wp, 2, &wo, sizeof(wo), NULL), -EINVAL);
    wi.size = 2;
    CHECK_EQ(fx_call(&f, FUSE_WRITE, file, wp, 2, &wo, sizeof(wo), NULL), -EINVAL);
    size_t big = (1 << 20) + 1;
    char *data = calloc(1, big);
    wi.size = (uint32_t)big;
    wp[1] = P_MEM(data, big);
    CHECK_EQ(fx_call(&f, FUSE_WRITE, file, wp, 2, &wo, sizeof(wo), NULL), -EINVAL);
    wi.size = 0xffffffffu;
    CHECK_EQ(fx_call(&f, FUSE_WRITE, file, wp, 2, &wo, sizeof(wo), NULL), -EINVAL);
    free(data);
    struct stat st;
    stat(fx_path(&f, "file"), &st);
    CHECK_EQ(st.st_size, 4);

    /* GETXATTR / LISTXATTR asking for more than the reply room: clamped, fine. */
    struct fuse_getxattr_in gi = {.size = 0xffffffffu};
    struct part gp = P_OBJ(gi);
    size_t n = 0;
    CHECK_EQ(fx_call(&f, FUSE_LISTXATTR, file, &gp, 1, buf, sizeof(buf), &n), 0);
    /* READDIR with a huge size: clamped to the room. */
    uint64_t dfh;
    fx_opendir(&f, 1, &dfh);
    struct fuse_read_in rd = {.fh = dfh, .size = 0xffffffffu};
    p = P_OBJ(rd);
    uint8_t dbuf[200];
    CHECK_EQ(fx_call(&f, FUSE_READDIR, 1, &p, 1, dbuf, sizeof(dbuf), &n), 0);
    CHECK(n > 0 && n <= sizeof(dbuf));
    rd.offset = UINT64_MAX;
    CHECK_EQ(fx_call(&f, FUSE_READDIR, 1, &p, 1, dbuf, sizeof(dbuf), &n), -EINVAL);

    /* BATCH_FORGET claiming more entries than it carries. */
    struct {
        struct fuse_batch_forget_in h;
        struct fuse_forget_one one;
    } bf = {.h = {.count = 0xffffffffu}, .one = {file, 1}};
    p = P_OBJ(bf);
    CHECK_EQ(fx_call(&f, FUSE_BATCH_FORGET, 0, &p, 1, NULL, 0, NULL), NO_REPLY);
    CHECK_EQ(fx_getattr(&f, file, NULL), -ESTALE);

    /* IOCTL in_size must match what follows. */
    struct fuse_ioctl_in io = {.cmd = KRUN_EXIT_CODE_IOCTL, .in_size = 1000};
    struct part ip = P_OBJ(io);
    struct fuse_ioctl_out ioo;
    CHECK_EQ(fx_call(&f, FUSE_IOCTL, 1, &ip, 1, &ioo, sizeof(ioo), NULL), -EINVAL);
    CHECK_EQ(f.exit_calls, 0);
    /* COPY_FILE_RANGE offsets. */
    struct fuse_copy_file_range_in cp = {
        .fh_in = fh, .fh_out = fh, .off_out = UINT64_MAX, .len = 10};
    p = P_OBJ(cp);
    CHECK_EQ(fx_call(&f, FUSE_COPY_FILE_RANGE, 1, &p, 1, &wo, sizeof(wo), NULL), -EINVAL);
    fx_release(&f, FUSE_RELEASEDIR, 1, dfh);
    fx_release(&f, FUSE_RELEASE, 0, fh);
    fx_close(&f);
}

/* Open flags from the guest are filtered to those that make sense on the host. */
static void test_open_flags_filtered(void)
{
    struct fx f;
    fx_open(&f);
    put_file(&f, "file", "data");
    uint64_t file = fx_node(&f, 1, "file");
    uint64_t fh;
    /* O_ACCMODE 3 is nonsense; O_CREAT/O_DIRECTORY/O_PATH/O_NOFOLLOW are dropped. */
    CHECK_EQ(fx_open_file(&f, file, 3, &fh), -EINVAL);
    CHECK_EQ(fx_open_file(&f, file, O_RDONLY | O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CREAT, &fh),
             0);
    char buf[8];
    CHECK_EQ(fx_read(&f, file, fh, 0, 4, buf), 4);
    fx_release(&f, FUSE_RELEASE, file, fh);
    CHECK_EQ(fx_open_file(&f, file, O_RDWR | O_DIRECT | O_TMPFILE, &fh), 0);
    CHECK_EQ(fx_write(&f, file, fh, 1, "x", 1), 1);
    fx_release(&f, FUSE_RELEASE, file, fh);
    fx_close(&f);
}

int main(void)
{
    if (fs_thread_init() < 0) {
        fprintf(stderr, "unshare(CLONE_FS) failed\n");
        return 1;
    }
    RUN(test_bad_names);
    RUN(test_symlink_escapes);
    RUN(test_special_files);
    RUN(test_bogus_ids);
    RUN(test_huge_lengths);
    RUN(test_open_flags_filtered);
    RUN(test_pseudo_fs);
    return TEST_EXIT();
}
