/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/fs/fuse_server.c src/virtio/fs/fuse_iov.c src/virtio/fs/fuse_reply.c src/virtio/fs/fs_name.c src/virtio/fs/fs_creds.c src/virtio/fs/idmap.c src/virtio/fs/pt_table.c src/virtio/fs/pt_policy.c src/virtio/fs/passthrough.c src/virtio/fs/overlay.c src/util/log.c */
/*
 * Read-only shares, virtual overlay entries (one-shot files like
 * /init.krun, nested virtual directories, a share without a host
 * directory) and the exit-status ioctl.
 */
#include "test.h"
#include "test_fuse_req.h"

#include <sys/xattr.h>

/* A listing of the host tree with sizes, modes and contents, to compare before/after. */
static void snapshot(const char *dir, char *out, size_t cap)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && find . -printf '%%p %%y %%m %%s %%l %%U %%G %%T@\\n' | sort && "
             "find . -type f -exec md5sum {} + | sort",
             dir);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, cap - 1, p) : 0;
    out[n] = '\0';
    if (p)
        pclose(p);
}

static void test_read_only(void)
{
    struct fx f;
    fx_open_ex(&f, false, true, NULL, 0, 1);
    put_file(&f, "file", "content");
    mkdir(fx_path(&f, "dir"), 0755);
    put_file(&f, "dir/inner", "x");
    CHECK_EQ(symlink("file", fx_path(&f, "ln")), 0);
    setxattr(fx_path(&f, "file"), "user.k", "v", 1, 0);
    static char before[65536], after[65536];
    snapshot(f.root, before, sizeof(before));

    uint64_t file = fx_node(&f, 1, "file"), dir = fx_node(&f, 1, "dir");
    CHECK(file && dir);
    /* Reading works. */
    uint64_t fh;
    CHECK_EQ(fx_open_file(&f, file, O_RDONLY, &fh), 0);
    char buf[16] = {0};
    CHECK_EQ(fx_read(&f, file, fh, 0, 7, buf), 7);
    CHECK_STR(buf, "content");
    struct dirlist dl;
    uint64_t dfh;
    CHECK_EQ(fx_opendir(&f, 1, &dfh), 0);
    CHECK_EQ(fx_readdir(&f, 1, dfh, 0, 4096, true, &dl), 0);
    CHECK_EQ(dl.n, 5);

    /* Every change is refused with EROFS. */
    uint64_t tmp;
    CHECK_EQ(fx_write(&f, file, fh, 0, "X", 1), -EROFS);
    CHECK_EQ(fx_open_file(&f, file, O_WRONLY, &tmp), -EROFS);
    CHECK_EQ(fx_open_file(&f, file, O_RDWR, &tmp), -EROFS);
    CHECK_EQ(fx_open_file(&f, file, O_RDONLY | O_TRUNC, &tmp), -EROFS);
    CHECK_EQ(fx_create(&f, 1, "new", 0644, O_RDWR | O_CREAT, NULL, NULL), -EROFS);
    CHECK_EQ(fx_create(&f, 1, "file", 0644, O_RDONLY | O_CREAT, NULL, NULL), -EROFS);
    CHECK_EQ(fx_mkdir(&f, 1, "newdir", 0755, NULL), -EROFS);
    struct fuse_mknod_in mk = {.mode = S_IFIFO | 0644};
    struct part mp[] = {P_OBJ(mk), P_STR("fifo")};
    struct fuse_entry_out e;
    CHECK_EQ(fx_call(&f, FUSE_MKNOD, 1, mp, 2, &e, sizeof(e), NULL), -EROFS);
    struct part sp[] = {P_STR("sl"), P_STR("file")};
    CHECK_EQ(fx_call(&f, FUSE_SYMLINK, 1, sp, 2, &e, sizeof(e), NULL), -EROFS);
    struct fuse_link_in li = {.oldnodeid = file};
    struct part lp[] = {P_OBJ(li), P_STR("hard")};
    CHECK_EQ(fx_call(&f, FUSE_LINK, 1, lp, 2, &e, sizeof(e), NULL), -EROFS);
    CHECK_EQ(fx_name_op(&f, FUSE_UNLINK, 1, "file"), -EROFS);
    CHECK_EQ(fx_name_op(&f, FUSE_UNLINK, 1, "ln"), -EROFS);
    CHECK_EQ(fx_name_op(&f, FUSE_RMDIR, 1, "dir"), -EROFS);
    struct fuse_rename_in rn = {.newdir = 1};
    struct part rp[] = {P_OBJ(rn), P_STR("file"), P_STR("renamed")};
    CHECK_EQ(fx_call(&f, FUSE_RENAME, 1, rp, 3, NULL, 0, NULL), -EROFS);
    struct fuse_rename2_in r2 = {.newdir = 1, .flags = RENAME_EXCHANGE};
    struct part r2p[] = {P_OBJ(r2), P_STR("file"), P_STR("dir")};
    CHECK_EQ(fx_call(&f, FUSE_RENAME2, 1, r2p, 3, NULL, 0, NULL), -EROFS);
    const uint32_t attrs[] = {FATTR_MODE, FATTR_UID,   FATTR_GID,
                              FATTR_SIZE, FATTR_ATIME, FATTR_MTIME | FATTR_MTIME_NOW};
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
        struct fuse_setattr_in sa = {.valid = attrs[i], .mode = 0777, .atime = 5, .mtime = 5};
        CHECK_EQ(fx_setattr(&f, file, &sa, NULL), -EROFS);
        CHECK_EQ(fx_setattr(&f, dir, &sa, NULL), -EROFS);
    }
    struct fuse_setxattr_in si = {.size = 1};
    struct part xp[] = {P_MEM(&si, 8), P_STR("user.k"), P_MEM("w", 1)};
    CHECK_EQ(fx_call(&f, FUSE_SETXATTR, file, xp, 3, NULL, 0, NULL), -EROFS);
    struct part rx = P_STR("user.k");
    CHECK_EQ(fx_call(&f, FUSE_REMOVEXATTR, file, &rx, 1, NULL, 0, NULL), -EROFS);
    struct fuse_fallocate_in fa = {.fh = fh, .length = 4096};
    struct part fp = P_OBJ(fa);
    CHECK_EQ(fx_call(&f, FUSE_FALLOCATE, file, &fp, 1, NULL, 0, NULL), -EROFS);
    struct fuse_copy_file_range_in cp = {.fh_in = fh, .fh_out = fh, .off_out = 100, .len = 7};
    struct fuse_write_out wo;
    struct part cpp = P_OBJ(cp);
    CHECK_EQ(fx_call(&f, FUSE_COPY_FILE_RANGE, file, &cpp, 1, &wo, sizeof(wo), NULL), -EROFS);
    struct fuse_access_in ai = {.mask = W_OK};
    struct part ap = P_OBJ(ai);
    CHECK_EQ(fx_call(&f, FUSE_ACCESS, file, &ap, 1, NULL, 0, NULL), -EROFS);
    ai.mask = R_OK;
    CHECK_EQ(fx_call(&f, FUSE_ACCESS, file, &ap, 1, NULL, 0, NULL), 0);
    /* Reading attributes and xattrs still works. */
    struct fuse_getxattr_in gi = {.size = 16};
    struct part gp[] = {P_OBJ(gi), P_STR("user.k")};
    size_t n = 0;
    int ret = fx_call(&f, FUSE_GETXATTR, file, gp, 2, buf, sizeof(buf), &n);
    CHECK(ret == 0 || ret == -ENOTSUP);
    struct fuse_statfs_out so;
    CHECK_EQ(fx_call(&f, FUSE_STATFS, 1, NULL, 0, &so, sizeof(so), NULL), 0);
    /* Locks are not changes of the tree. */
    struct fuse_lk_in lk = {.fh = fh, .lk = {.start = 0, .end = 10, .type = F_RDLCK}};
    struct part lkp = P_OBJ(lk);
    CHECK_EQ(fx_call(&f, FUSE_SETLK, file, &lkp, 1, NULL, 0, NULL), 0);

    fx_release(&f, FUSE_RELEASE, file, fh);
    fx_release(&f, FUSE_RELEASEDIR, 1, dfh);
    snapshot(f.root, after, sizeof(after));
    CHECK_STR(after, before);
    CHECK(strlen(before) > 100);
    fx_close(&f);
}

static const char init_data[] = "\x7f"
                                "ELF pretend init binary";
static const char workload[] = "krun-workload\0001\0exec\0/bin/true\0";

static void test_overlay_entries(void)
{
    struct fs_overlay ov[] = {
        {.kind = FS_OVERLAY_FILE,
         .path = "init.krun",
         .data = (const uint8_t *)init_data,
         .len = sizeof(init_data) - 1,
         .mode = 0755,
         .one_shot = true},
        {.kind = FS_OVERLAY_FILE,
         .path = "/.krun_workload",
         .data = (const uint8_t *)workload,
         .len = sizeof(workload) - 1,
         .mode = 0444,
         .one_shot = true},
        {.kind = FS_OVERLAY_DIR, .path = "vdir", .mode = 0755},
        {.kind = FS_OVERLAY_DIR, .path = "vdir/sub", .mode = 0700},
        {.kind = FS_OVERLAY_FILE,
         .path = "vdir/sub/file",
         .data = (const uint8_t *)"abc",
         .len = 3,
         .mode = 0644},
        {.kind = FS_OVERLAY_FILE,
         .path = "shadow",
         .data = (const uint8_t *)"virtual",
         .len = 7,
         .mode = 0644},
        {.kind = FS_OVERLAY_FILE,
         .path = "shadow-once",
         .data = (const uint8_t *)"virtual",
         .len = 7,
         .mode = 0644,
         .one_shot = true},
        {.kind = FS_OVERLAY_FILE, .path = "empty", .mode = 0600},
    };
    struct fx f;
    fx_open_ex(&f, false, false, ov, sizeof(ov) / sizeof(ov[0]), 1);
    put_file(&f, "hostfile", "host");
    put_file(&f, "shadow", "host-shadow");
    put_file(&f, "shadow-once", "host-once");

    /* A one-shot file: found once, with its data, then gone. */
    struct fuse_entry_out e;
    CHECK_EQ(fx_lookup(&f, 1, "init.krun", &e), 0);
    CHECK_EQ(e.attr.mode, S_IFREG | 0755);
    CHECK_EQ(e.attr.size, sizeof(init_data) - 1);
    CHECK(e.nodeid & (1ull << 63));
    uint64_t init = e.nodeid;
    CHECK_EQ(fx_lookup(&f, 1, "init.krun", NULL), -ENOENT);
    /* The node itself keeps working for the guest that found it. */
    struct fuse_attr_out a;
    CHECK_EQ(fx_getattr(&f, init, &a), 0);
    CHECK_EQ(a.attr.size, sizeof(init_data) - 1);
    uint64_t fh;
    CHECK_EQ(fx_open_file(&f, init, O_RDONLY, &fh), 0);
    char buf[64] = {0};
    CHECK_EQ(fx_read(&f, init, fh, 0, sizeof(buf), buf), (long)sizeof(init_data) - 1);
    CHECK(memcmp(buf, init_data, sizeof(init_data) - 1) == 0);
    CHECK_EQ(fx_read(&f, init, fh, 5, 3, buf), 3);
    CHECK(memcmp(buf, "pre", 3) == 0);
    CHECK_EQ(fx_read(&f, init, fh, 1000, 3, buf), 0);
    CHECK_EQ(fx_write(&f, init, fh, 0, "x", 1), -EBADF);
    struct fuse_lseek_in ls = {.fh = fh, .offset = 2, .whence = SEEK_HOLE};
    struct fuse_lseek_out lo;
    struct part lsp = P_OBJ(ls);
    CHECK_EQ(fx_call(&f, FUSE_LSEEK, init, &lsp, 1, &lo, sizeof(lo), NULL), 0);
    CHECK_EQ(lo.offset, sizeof(init_data) - 1);
    CHECK_EQ(fx_release(&f, FUSE_RELEASE, init, fh), 0);
    /* Never on the host. */
    CHECK_EQ(access(fx_path(&f, "init.krun"), F_OK), -1);

    /* Opening for writing: EACCES; other changes: EPERM. */
    uint64_t wl = fx_node(&f, 1, ".krun_workload");
    CHECK(wl != 0);
    CHECK_EQ(fx_open_file(&f, wl, O_WRONLY, &fh), -EACCES);
    CHECK_EQ(fx_open_file(&f, wl, O_RDWR, &fh), -EACCES);
    CHECK_EQ(fx_open_file(&f, wl, O_RDONLY | O_TRUNC, &fh), -EACCES);
    struct fuse_setattr_in sa = {.valid = FATTR_SIZE};
    CHECK_EQ(fx_setattr(&f, wl, &sa, NULL), -EPERM);
    struct fuse_setxattr_in si = {.size = 1};
    struct part xp[] = {P_MEM(&si, 8), P_STR("user.k"), P_MEM("w", 1)};
    CHECK_EQ(fx_call(&f, FUSE_SETXATTR, wl, xp, 3, NULL, 0, NULL), -EPERM);
    struct fuse_link_in li = {.oldnodeid = wl};
    struct part lp[] = {P_OBJ(li), P_STR("wl-link")};
    CHECK_EQ(fx_call(&f, FUSE_LINK, 1, lp, 2, &e, sizeof(e), NULL), -EPERM);
    struct fuse_access_in ai = {.mask = W_OK};
    struct part ap = P_OBJ(ai);
    CHECK_EQ(fx_call(&f, FUSE_ACCESS, wl, &ap, 1, NULL, 0, NULL), -EACCES);
    ai.mask = X_OK;
    CHECK_EQ(fx_call(&f, FUSE_ACCESS, wl, &ap, 1, NULL, 0, NULL), -EACCES);
    CHECK_EQ(fx_call(&f, FUSE_ACCESS, init, &ap, 1, NULL, 0, NULL), 0);

    /* Nested virtual directories. */
    uint64_t vdir = fx_node(&f, 1, "vdir");
    CHECK(vdir != 0);
    CHECK_EQ(fx_getattr(&f, vdir, &a), 0);
    CHECK_EQ(a.attr.mode, S_IFDIR | 0755);
    uint64_t sub = fx_node(&f, vdir, "sub");
    CHECK(sub != 0);
    CHECK_EQ(fx_lookup(&f, sub, "file", &e), 0);
    CHECK_EQ(e.attr.size, 3);
    CHECK_EQ(fx_lookup(&f, vdir, "file", NULL), -ENOENT);
    CHECK_EQ(fx_lookup(&f, sub, "nothing", NULL), -ENOENT);
    CHECK_EQ(fx_lookup(&f, e.nodeid, "x", NULL), -ENOTDIR);
    /* Nothing can be created, removed or renamed in them. */
    CHECK_EQ(fx_mkdir(&f, vdir, "new", 0755, NULL), -EPERM);
    CHECK_EQ(fx_create(&f, sub, "new", 0644, O_RDWR, NULL, NULL), -EPERM);
    CHECK_EQ(fx_name_op(&f, FUSE_UNLINK, sub, "file"), -EPERM);
    CHECK_EQ(fx_name_op(&f, FUSE_RMDIR, vdir, "sub"), -EPERM);
    CHECK_EQ(fx_name_op(&f, FUSE_RMDIR, 1, "vdir"), -EPERM);
    struct fuse_rename_in rn = {.newdir = vdir};
    struct part rp[] = {P_OBJ(rn), P_STR("hostfile"), P_STR("moved")};
    CHECK_EQ(fx_call(&f, FUSE_RENAME, 1, rp, 3, NULL, 0, NULL), -EPERM);
    rn.newdir = 1;
    rp[1] = P_STR("vdir");
    CHECK_EQ(fx_call(&f, FUSE_RENAME, 1, rp, 3, NULL, 0, NULL), -EPERM);
    rp[1] = P_STR("hostfile");
    rp[2] = P_STR("vdir");
    CHECK_EQ(fx_call(&f, FUSE_RENAME, 1, rp, 3, NULL, 0, NULL), -EPERM);
    CHECK_EQ(access(fx_path(&f, "hostfile"), F_OK), 0);
    /* A virtual directory lists as empty. */
    uint64_t dfh;
    CHECK_EQ(fx_opendir(&f, vdir, &dfh), 0);
    struct dirlist dl;
    CHECK_EQ(fx_readdir(&f, vdir, dfh, 0, 4096, true, &dl), 0);
    CHECK_EQ(dl.n, 2);
    CHECK_EQ(fx_readdir(&f, vdir, dfh, 2, 4096, false, &dl), 0);
    CHECK_EQ(dl.n, 0);
    CHECK_EQ(fx_release(&f, FUSE_RELEASEDIR, vdir, dfh), 0);
    CHECK_EQ(fx_open_file(&f, vdir, O_RDONLY, &fh), -EISDIR);

    /* The root lists the host only. */
    CHECK_EQ(fx_opendir(&f, 1, &dfh), 0);
    CHECK_EQ(fx_readdir(&f, 1, dfh, 0, 4096, false, &dl), 0);
    CHECK(dl_find(&dl, "hostfile") >= 0);
    CHECK(dl_find(&dl, "vdir") < 0 && dl_find(&dl, ".krun_workload") < 0);
    CHECK_EQ(fx_release(&f, FUSE_RELEASEDIR, 1, dfh), 0);

    /* A virtual entry hides the host entry of the same name; a one-shot one only once. */
    CHECK_EQ(fx_lookup(&f, 1, "shadow", &e), 0);
    CHECK_EQ(e.attr.size, 7);
    CHECK_EQ(fx_lookup(&f, 1, "shadow", &e), 0);
    CHECK_EQ(e.attr.size, 7);
    CHECK_EQ(fx_name_op(&f, FUSE_UNLINK, 1, "shadow"), -EPERM);
    CHECK_EQ(fx_create(&f, 1, "shadow", 0644, O_RDWR | O_CREAT, NULL, NULL), -EPERM);
    CHECK_EQ(fx_lookup(&f, 1, "shadow-once", &e), 0);
    CHECK_EQ(e.attr.size, 7);
    CHECK_EQ(fx_lookup(&f, 1, "shadow-once", &e), 0);
    CHECK_EQ(e.attr.size, strlen("host-once"));
    CHECK_EQ(fx_name_op(&f, FUSE_UNLINK, 1, "shadow-once"), 0);
    /* Host files beside virtual ones behave as usual. */
    CHECK_EQ(fx_lookup(&f, 1, "hostfile", &e), 0);
    CHECK_EQ(e.attr.size, 4);
    /* An empty virtual file. */
    uint64_t empty = fx_node(&f, 1, "empty");
    CHECK_EQ(fx_open_file(&f, empty, O_RDONLY, &fh), 0);
    CHECK_EQ(fx_read(&f, empty, fh, 0, 10, buf), 0);

    /* xattrs of virtual nodes. */
    struct fuse_getxattr_in gi = {.size = 0};
    struct part gp[] = {P_OBJ(gi), P_STR("user.k")};
    struct fuse_getxattr_out go;
    CHECK_EQ(fx_call(&f, FUSE_GETXATTR, vdir, gp, 2, &go, sizeof(go), NULL), -ENODATA);
    CHECK_EQ(fx_call(&f, FUSE_LISTXATTR, vdir, gp, 1, &go, sizeof(go), NULL), 0);
    CHECK_EQ(go.size, 0);
    /* Forgetting virtual nodes changes nothing. */
    fx_forget(&f, vdir, 100);
    CHECK_EQ(fx_getattr(&f, vdir, NULL), 0);
    fx_close(&f);
}

static void test_overlay_config_errors(void)
{
    char err[256];
    struct overlay *o = NULL;
    struct fs_overlay dup[] = {{.kind = FS_OVERLAY_DIR, .path = "d", .mode = 0755},
                               {.kind = FS_OVERLAY_FILE, .path = "d", .mode = 0644}};
    CHECK_EQ(overlay_new(NULL, NULL, dup, 2, NULL, NULL, &o, err, sizeof(err)), -EEXIST);
    CHECK(strstr(err, "'d'") != NULL);
    struct fs_overlay noparent[] = {{.kind = FS_OVERLAY_FILE, .path = "a/b", .mode = 0644}};
    CHECK_EQ(overlay_new(NULL, NULL, noparent, 1, NULL, NULL, &o, err, sizeof(err)), -ENOENT);
    CHECK(strstr(err, "a/b") != NULL);
    struct fs_overlay fileparent[] = {{.kind = FS_OVERLAY_FILE, .path = "a", .mode = 0644},
                                      {.kind = FS_OVERLAY_FILE, .path = "a/b", .mode = 0644}};
    CHECK_EQ(overlay_new(NULL, NULL, fileparent, 2, NULL, NULL, &o, err, sizeof(err)), -ENOTDIR);
    const char *bad[] = {"", "/", "..", "a/..", "./x", "a//b", "x/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct fs_overlay b[] = {{.kind = FS_OVERLAY_DIR, .path = "a", .mode = 0755},
                                 {.kind = FS_OVERLAY_FILE, .path = (char *)bad[i], .mode = 0644}};
        int ret = overlay_new(NULL, NULL, b, 2, NULL, NULL, &o, err, sizeof(err));
        CHECK(ret == -EINVAL || ret == -ENOENT);
    }
    struct fs_overlay nodata[] = {{.kind = FS_OVERLAY_FILE, .path = "f", .len = 5}};
    CHECK_EQ(overlay_new(NULL, NULL, nodata, 1, NULL, NULL, &o, err, sizeof(err)), -EINVAL);
    struct fs_overlay ok[] = {{.kind = FS_OVERLAY_DIR, .path = "/a", .mode = 0755},
                              {.kind = FS_OVERLAY_DIR, .path = "a/b", .mode = 0755}};
    CHECK_EQ(overlay_new(NULL, NULL, ok, 2, NULL, NULL, &o, err, sizeof(err)), 0);
    overlay_ops.destroy(o);

    /* passthrough_new names the path it cannot use. */
    struct passthrough *pt;
    CHECK_EQ(passthrough_new("/nonexistent/share", false, &pt, err, sizeof(err)), -ENOENT);
    CHECK(strstr(err, "/nonexistent/share") != NULL);
    CHECK_EQ(passthrough_new("/etc/passwd", false, &pt, err, sizeof(err)), -ENOTDIR);
    CHECK(strstr(err, "/etc/passwd") != NULL);
}

static void test_null_share(void)
{
    static const char data[] = "hello";
    struct fs_overlay ov[] = {
        {.kind = FS_OVERLAY_FILE,
         .path = "hello",
         .data = (const uint8_t *)data,
         .len = 5,
         .mode = 0644},
        {.kind = FS_OVERLAY_DIR, .path = "mnt", .mode = 0755},
    };
    struct fx f;
    fx_open_ex(&f, true, false, ov, 2, 1);
    struct fuse_attr_out a;
    CHECK_EQ(fx_getattr(&f, 1, &a), 0);
    CHECK_EQ(a.attr.mode, S_IFDIR | 0755);
    CHECK_EQ(a.attr.ino, 1);
    CHECK_EQ(fx_lookup(&f, 1, "nothing", NULL), -ENOENT);
    uint64_t hello = fx_node(&f, 1, "hello");
    CHECK(hello != 0);
    uint64_t fh;
    CHECK_EQ(fx_open_file(&f, hello, O_RDONLY, &fh), 0);
    char buf[8] = {0};
    CHECK_EQ(fx_read(&f, hello, fh, 0, 8, buf), 5);
    CHECK_STR(buf, "hello");
    CHECK_EQ(fx_mkdir(&f, 1, "x", 0755, NULL), -EPERM);
    CHECK_EQ(fx_create(&f, 1, "x", 0644, O_RDWR | O_CREAT, NULL, NULL), -EPERM);
    CHECK_EQ(fx_name_op(&f, FUSE_UNLINK, 1, "hello"), -EPERM);
    struct fuse_setattr_in sa = {.valid = FATTR_MODE, .mode = 0777};
    CHECK_EQ(fx_setattr(&f, 1, &sa, NULL), -EPERM);
    uint64_t dfh;
    CHECK_EQ(fx_opendir(&f, 1, &dfh), 0);
    struct dirlist dl;
    CHECK_EQ(fx_readdir(&f, 1, dfh, 0, 4096, false, &dl), 0);
    CHECK_EQ(dl.n, 2);
    CHECK_EQ(dl.ino[0], 1);
    struct fuse_statfs_out so;
    CHECK_EQ(fx_call(&f, FUSE_STATFS, 1, NULL, 0, &so, sizeof(so), NULL), 0);
    CHECK_EQ(so.st.namelen, 255);
    /* Ids the lower layer would own do not exist here. */
    CHECK_EQ(fx_getattr(&f, 1ull << 32, NULL), -ESTALE);
    CHECK_EQ(fx_read(&f, hello, 1ull << 32, 0, 1, buf), -EBADF);

    /* The exit status ioctl on the root directory, as the guest init sends it. */
    struct fuse_ioctl_in io = {
        .fh = dfh, .flags = FUSE_IOCTL_DIR, .cmd = KRUN_EXIT_CODE_IOCTL, .arg = 42};
    struct part ip = P_OBJ(io);
    struct fuse_ioctl_out ioo = {.result = -1};
    CHECK_EQ(fx_call(&f, FUSE_IOCTL, 1, &ip, 1, &ioo, sizeof(ioo), NULL), 0);
    CHECK_EQ(ioo.result, 0);
    CHECK_EQ(f.exit_calls, 1);
    CHECK_EQ(f.exit_status, 42);
    CHECK_EQ(fx_release(&f, FUSE_RELEASEDIR, 1, dfh), 0);
    fx_close(&f);
}

static void test_exit_ioctl(void)
{
    struct fx f;
    fx_open(&f);
    put_file(&f, "file", "x");
    uint64_t file = fx_node(&f, 1, "file");
    struct fuse_ioctl_in io = {.flags = FUSE_IOCTL_DIR, .cmd = KRUN_EXIT_CODE_IOCTL, .arg = 0};
    struct part ip = P_OBJ(io);
    struct fuse_ioctl_out ioo;
    CHECK_EQ(fx_call(&f, FUSE_IOCTL, 1, &ip, 1, &ioo, sizeof(ioo), NULL), 0);
    CHECK_EQ(f.exit_calls, 1);
    CHECK_EQ(f.exit_status, 0);
    /* The last value wins; any node of the share will do. */
    io.arg = 137;
    io.flags = 0;
    CHECK_EQ(fx_call(&f, FUSE_IOCTL, file, &ip, 1, &ioo, sizeof(ioo), NULL), 0);
    CHECK_EQ(f.exit_calls, 2);
    CHECK_EQ(f.exit_status, 137);
    /* A status of -1 travels as the 64-bit argument of a 32-bit int. */
    io.arg = 0xffffffffu;
    CHECK_EQ(fx_call(&f, FUSE_IOCTL, 1, &ip, 1, &ioo, sizeof(ioo), NULL), 0);
    CHECK_EQ(f.exit_status, -1);
    /* Other commands are not ours: ENOTTY, nothing recorded. */
    io.cmd = 0x7601;
    io.arg = 5;
    CHECK_EQ(fx_call(&f, FUSE_IOCTL, 1, &ip, 1, &ioo, sizeof(ioo), NULL), -ENOTTY);
    io.cmd = 0x5401; /* TCGETS */
    CHECK_EQ(fx_call(&f, FUSE_IOCTL, file, &ip, 1, &ioo, sizeof(ioo), NULL), -ENOTTY);
    CHECK_EQ(f.exit_calls, 3);
    /* A forgotten node no longer counts. */
    fx_forget(&f, file, 1);
    io.cmd = KRUN_EXIT_CODE_IOCTL;
    CHECK_EQ(fx_call(&f, FUSE_IOCTL, file, &ip, 1, &ioo, sizeof(ioo), NULL), -ESTALE);
    CHECK_EQ(f.exit_calls, 3);
    fx_close(&f);
}

int main(void)
{
    if (fs_thread_init() < 0) {
        fprintf(stderr, "unshare(CLONE_FS) failed\n");
        return 1;
    }
    RUN(test_read_only);
    RUN(test_overlay_entries);
    RUN(test_overlay_config_errors);
    RUN(test_null_share);
    RUN(test_exit_ioctl);
    return TEST_EXIT();
}
