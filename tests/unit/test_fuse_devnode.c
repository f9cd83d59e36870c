/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/fs/fuse_server.c src/virtio/fs/fuse_iov.c src/virtio/fs/fuse_reply.c src/virtio/fs/fs_name.c src/virtio/fs/fs_creds.c src/virtio/fs/idmap.c src/virtio/fs/pt_table.c src/virtio/fs/pt_policy.c src/virtio/fs/passthrough.c src/virtio/fs/overlay.c src/util/log.c */
/*
 * Device nodes of the guest ("mapped", as QEMU's 9p security_model=mapped
 * does): MKNOD of a character or block device makes an empty 0600 regular
 * file on the host whose user.krun.dev record says what the guest sees.
 * Every reply that carries attributes (MKNOD, LOOKUP, GETATTR, SETATTR,
 * READDIRPLUS, LINK) shows the device, READDIR its type; chmod changes the
 * record, chown/rename/link/unlink act on the file; the record is hidden and
 * cannot be set by the guest; a record the host changed is checked.
 */
#include "test.h"
#include "test_fuse_req.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "virtio/fs/fuse_reply.h"
#include "virtio/fs/pt_policy.h"

static bool parses(const char *v)
{
    struct pt_devnode d;
    return pt_devnode_parse(v, strlen(v), &d);
}

static void test_record_format(void)
{
    struct pt_devnode d = {.type = S_IFCHR, .perm = 0666, .major = 1, .minor = 3}, r;
    char buf[PT_DEVNODE_VALUE_MAX];
    int n = pt_devnode_format(&d, buf, sizeof(buf));
    CHECK_EQ(n, 10);
    CHECK(memcmp(buf, "c 0666 1:3", 10) == 0);
    CHECK(pt_devnode_parse(buf, (size_t)n, &r));
    CHECK(r.type == S_IFCHR && r.perm == 0666 && r.major == 1 && r.minor == 3);
    d = (struct pt_devnode){.type = S_IFBLK, .perm = 07777, .major = 4095, .minor = 1048575};
    n = pt_devnode_format(&d, buf, sizeof(buf));
    CHECK_EQ(n, PT_DEVNODE_VALUE_MAX);
    CHECK(memcmp(buf, "b 7777 4095:1048575", (size_t)n) == 0);
    CHECK(pt_devnode_parse(buf, (size_t)n, &r));
    CHECK(r.type == S_IFBLK && r.perm == 07777 && r.major == 4095 && r.minor == 1048575);
    CHECK_EQ(pt_devnode_format(&d, buf, 5), -1);
    d.type = S_IFREG;
    CHECK_EQ(pt_devnode_format(&d, buf, sizeof(buf)), -1);
    d = (struct pt_devnode){.type = S_IFCHR, .major = 4096};
    CHECK_EQ(pt_devnode_format(&d, buf, sizeof(buf)), -1);
    d = (struct pt_devnode){.type = S_IFCHR, .minor = 1048576};
    CHECK_EQ(pt_devnode_format(&d, buf, sizeof(buf)), -1);
    d = (struct pt_devnode){.type = S_IFCHR, .perm = 010000};
    CHECK_EQ(pt_devnode_format(&d, buf, sizeof(buf)), -1);

    CHECK(parses("c 0000 0:0"));
    CHECK(parses("b 0660 7:0"));
    CHECK(parses("c 4755 10:200"));
    /* Anything else is not a record: the file shows as what it is. */
    const char *bad[] = {
        "",
        "c",
        "c 0666 1:3\n",
        "c 0666 1:3 ",
        " c 0666 1:3",
        "x 0666 1:3",
        "C 0666 1:3",
        "c 666 1:3",
        "c 00666 1:3",
        "c 0668 1:3",
        "c  0666 1:3",
        "c 0666  1:3",
        "c 0666 1:",
        "c 0666 :3",
        "c 0666 1",
        "c 0666 1:3:4",
        "c 0666 01:3",
        "c 0666 1:03",
        "c 0666 +1:3",
        "c 0666 -1:3",
        "c 0666 4096:0",
        "c 0666 0:1048576",
        "c 0666 99999999999999999999:1",
        "c 0666 1;3",
        "b 0666 0x7:0",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parses(bad[i])) {
            fprintf(stderr, "accepted \"%s\"\n", bad[i]);
            CHECK(!parses(bad[i]));
        }
    }
    /* An embedded NUL, and a value cut short. */
    CHECK(!pt_devnode_parse("c 0666 1:3\0", 11, &r));
    CHECK(!pt_devnode_parse("c 0666 1:3", 9, &r));
}

static int mknod_req(struct fx *f, uint64_t parent, const char *name, uint32_t mode,
                     uint32_t major_, uint32_t minor_, struct fuse_entry_out *e)
{
    struct fuse_mknod_in mk = {.mode = mode, .rdev = fuse_encode_dev(makedev(major_, minor_))};
    struct part p[] = {P_OBJ(mk), P_STR(name)};
    struct fuse_entry_out tmp;
    return fx_call(f, FUSE_MKNOD, parent, p, 2, e ? e : &tmp, sizeof(tmp), NULL);
}

static uint32_t rdev_of(uint32_t major_, uint32_t minor_)
{
    return fuse_encode_dev(makedev(major_, minor_));
}

/* The record on the host, NUL-terminated ("" if none). */
static const char *record(struct fx *f, const char *rel)
{
    static char buf[64];
    ssize_t n = getxattr(fx_path(f, rel), PT_DEVNODE_XATTR, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static bool user_xattrs(struct fx *f)
{
    put_file(f, "probe", "");
    bool ok = setxattr(fx_path(f, "probe"), "user.probe", "1", 1, 0) == 0;
    unlink(fx_path(f, "probe"));
    if (!ok)
        printf("     (no user xattrs on /tmp: device nodes are refused there; skipped)\n");
    return ok;
}

static void test_mknod_shows_device(void)
{
    struct fx f;
    fx_open(&f);
    if (!user_xattrs(&f)) {
        struct fuse_entry_out e;
        CHECK_EQ(mknod_req(&f, 1, "null", S_IFCHR | 0666, 1, 3, &e), -EPERM);
        fx_close(&f);
        return;
    }
    struct fuse_entry_out e, e2;
    CHECK_EQ(mknod_req(&f, 1, "null", S_IFCHR | 0666, 1, 3, &e), 0);
    CHECK(e.nodeid > 1);
    CHECK_EQ(e.attr.mode, S_IFCHR | 0666);
    CHECK_EQ(e.attr.rdev, rdev_of(1, 3));
    CHECK_EQ(e.attr.size, 0);
    CHECK_EQ(mknod_req(&f, 1, "loop0", S_IFBLK | 0660, 7, 0, &e2), 0);
    CHECK_EQ(e2.attr.mode, S_IFBLK | 0660);
    CHECK_EQ(e2.attr.rdev, rdev_of(7, 0));
    /* A minor above 255 and a large major survive the FUSE encoding both ways. */
    struct fuse_entry_out e3;
    CHECK_EQ(mknod_req(&f, 1, "big", S_IFCHR | 0600, 4095, 1048575, &e3), 0);
    CHECK_EQ(e3.attr.rdev, rdev_of(4095, 1048575));
    CHECK_STR(record(&f, "big"), "c 0600 4095:1048575");
    /* An existing name. */
    CHECK_EQ(mknod_req(&f, 1, "null", S_IFCHR | 0666, 1, 3, NULL), -EEXIST);

    /* On the host: empty regular 0600 files with their records, no device anywhere. */
    struct stat st;
    CHECK_EQ(lstat(fx_path(&f, "null"), &st), 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK_EQ(st.st_mode & 07777, 0600);
    CHECK_EQ(st.st_size, 0);
    CHECK_STR(record(&f, "null"), "c 0666 1:3");
    CHECK_EQ(lstat(fx_path(&f, "loop0"), &st), 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK_STR(record(&f, "loop0"), "b 0660 7:0");

    /* GETATTR, and LOOKUP after the node was forgotten (read back from the record). */
    struct fuse_attr_out a;
    CHECK_EQ(fx_getattr(&f, e.nodeid, &a), 0);
    CHECK_EQ(a.attr.mode, S_IFCHR | 0666);
    CHECK_EQ(a.attr.rdev, rdev_of(1, 3));
    fx_forget(&f, e2.nodeid, 1);
    CHECK_EQ(fx_getattr(&f, e2.nodeid, NULL), -ESTALE);
    CHECK_EQ(fx_lookup(&f, 1, "loop0", &e2), 0);
    CHECK_EQ(e2.attr.mode, S_IFBLK | 0660);
    CHECK_EQ(e2.attr.rdev, rdev_of(7, 0));

    /* READDIRPLUS and READDIR show the type; a plain empty file stays a file. */
    put_file(&f, "empty", "");
    put_file(&f, "full", "data");
    uint64_t dfh;
    struct dirlist dl;
    for (int plus = 0; plus < 2; plus++) {
        CHECK_EQ(fx_opendir(&f, 1, &dfh), 0);
        CHECK_EQ(fx_readdir(&f, 1, dfh, 0, 8192, plus, &dl), 0);
        int i = dl_find(&dl, "null"), j = dl_find(&dl, "loop0");
        int k = dl_find(&dl, "empty"), l = dl_find(&dl, "full");
        CHECK(i >= 0 && j >= 0 && k >= 0 && l >= 0);
        if (i >= 0 && j >= 0 && k >= 0 && l >= 0) {
            CHECK_EQ(dl.type[i], DT_CHR);
            CHECK_EQ(dl.type[j], DT_BLK);
            CHECK_EQ(dl.type[k], DT_REG);
            CHECK_EQ(dl.type[l], DT_REG);
            if (plus) {
                CHECK_EQ(dl.mode[i], S_IFCHR | 0666);
                CHECK_EQ(dl.mode[j], S_IFBLK | 0660);
                CHECK_EQ(dl.mode[k], S_IFREG | 0644);
            }
        }
        for (unsigned n = 0; plus && n < dl.n; n++)
            if (dl.nodeid[n])
                fx_forget(&f, dl.nodeid[n], 1);
        fx_release(&f, FUSE_RELEASEDIR, 1, dfh);
    }

    /* The host never opens it: not as a file, not as a device. */
    uint64_t fh;
    CHECK_EQ(fx_open_file(&f, e.nodeid, O_RDWR, &fh), -EACCES);
    CHECK_EQ(fx_open_file(&f, e.nodeid, O_RDONLY, &fh), -EACCES);
    CHECK_EQ(fx_create(&f, 1, "null", 0644, O_RDWR | O_CREAT, NULL, &fh), -EACCES);
    struct fuse_setattr_in sa = {.valid = FATTR_SIZE, .size = 10};
    CHECK_EQ(fx_setattr(&f, e.nodeid, &sa, NULL), -EINVAL);
    CHECK_EQ(lstat(fx_path(&f, "null"), &st), 0);
    CHECK_EQ(st.st_size, 0);
    fx_close(&f);
}

static void test_changes_keep_mapping(void)
{
    struct fx f;
    fx_open(&f);
    if (!user_xattrs(&f)) {
        fx_close(&f);
        return;
    }
    struct fuse_entry_out e, e2;
    CHECK_EQ(mknod_req(&f, 1, "tty", S_IFCHR | 0620, 4, 1, &e), 0);

    /* chmod: the record takes the bits, the host file stays 0600. */
    struct fuse_setattr_in sa = {.valid = FATTR_MODE, .mode = 04751};
    struct fuse_attr_out a;
    CHECK_EQ(fx_setattr(&f, e.nodeid, &sa, &a), 0);
    CHECK_EQ(a.attr.mode, S_IFCHR | 04751);
    CHECK_EQ(a.attr.rdev, rdev_of(4, 1));
    CHECK_STR(record(&f, "tty"), "c 4751 4:1");
    struct stat st;
    CHECK_EQ(lstat(fx_path(&f, "tty"), &st), 0);
    CHECK_EQ(st.st_mode, S_IFREG | 0600);
    CHECK_EQ(fx_getattr(&f, e.nodeid, &a), 0);
    CHECK_EQ(a.attr.mode, S_IFCHR | 04751);

    /* chown acts on the host file. */
    if (geteuid() == 0) {
        sa = (struct fuse_setattr_in){.valid = FATTR_UID | FATTR_GID, .uid = 1000, .gid = 5};
        CHECK_EQ(fx_setattr(&f, e.nodeid, &sa, &a), 0);
        CHECK_EQ(a.attr.uid, 1000);
        CHECK_EQ(a.attr.gid, 5);
        CHECK_EQ(a.attr.mode & S_IFMT, S_IFCHR);
        CHECK_EQ(lstat(fx_path(&f, "tty"), &st), 0);
        CHECK_EQ(st.st_uid, 1000);
        CHECK_STR(record(&f, "tty"), "c 4751 4:1");
    }

    /* rename, link, unlink: the record goes with the inode. */
    struct fuse_rename_in ri = {.newdir = 1};
    struct part rp[] = {P_OBJ(ri), P_STR("tty"), P_STR("tty1")};
    CHECK_EQ(fx_call(&f, FUSE_RENAME, 1, rp, 3, NULL, 0, NULL), 0);
    CHECK_EQ(fx_lookup(&f, 1, "tty1", &e2), 0);
    CHECK_EQ(e2.nodeid, e.nodeid);
    CHECK_EQ(e2.attr.mode, S_IFCHR | 04751);
    struct fuse_link_in li = {.oldnodeid = e.nodeid};
    struct part lp[] = {P_OBJ(li), P_STR("console")};
    CHECK_EQ(fx_call(&f, FUSE_LINK, 1, lp, 2, &e2, sizeof(e2), NULL), 0);
    CHECK_EQ(e2.nodeid, e.nodeid);
    CHECK_EQ(e2.attr.mode, S_IFCHR | 04751);
    CHECK_EQ(e2.attr.rdev, rdev_of(4, 1));
    CHECK_EQ(e2.attr.nlink, 2);
    CHECK_EQ(fx_name_op(&f, FUSE_UNLINK, 1, "tty1"), 0);
    CHECK_EQ(access(fx_path(&f, "tty1"), F_OK), -1);
    CHECK_EQ(fx_getattr(&f, e.nodeid, &a), 0);
    CHECK_EQ(a.attr.mode, S_IFCHR | 04751);
    CHECK_EQ(a.attr.nlink, 1);

    /* The record is the server's: hidden, not readable, not writable, not removable. */
    uint64_t n = e.nodeid;
    if (setxattr(fx_path(&f, "console"), "user.other", "1", 1, 0) == 0) {
        char list[256];
        struct fuse_getxattr_in gi = {.size = sizeof(list)};
        struct part gp = P_OBJ(gi);
        size_t len = 0;
        CHECK_EQ(fx_call(&f, FUSE_LISTXATTR, n, &gp, 1, list, sizeof(list), &len), 0);
        CHECK_EQ(len, strlen("user.other") + 1);
        CHECK(memmem(list, len, "krun", 4) == NULL);
    }
    struct fuse_getxattr_in gi = {.size = 64};
    struct part gp[] = {P_OBJ(gi), P_STR(PT_DEVNODE_XATTR)};
    char val[64];
    CHECK_EQ(fx_call(&f, FUSE_GETXATTR, n, gp, 2, val, sizeof(val), NULL), -EPERM);
    const char *forged = "b 0666 8:0";
    struct fuse_setxattr_in si = {.size = (uint32_t)strlen(forged)};
    struct part sp[] = {P_MEM(&si, 8), P_STR(PT_DEVNODE_XATTR), P_MEM(forged, strlen(forged))};
    CHECK_EQ(fx_call(&f, FUSE_SETXATTR, n, sp, 3, NULL, 0, NULL), -EPERM);
    struct part rx = P_STR(PT_DEVNODE_XATTR);
    CHECK_EQ(fx_call(&f, FUSE_REMOVEXATTR, n, &rx, 1, NULL, 0, NULL), -EPERM);
    CHECK_STR(record(&f, "console"), "c 4751 4:1");
    /* Nor can it turn a file of its own into a device. */
    put_file(&f, "plain", "");
    uint64_t pn = fx_node(&f, 1, "plain");
    CHECK_EQ(fx_call(&f, FUSE_SETXATTR, pn, sp, 3, NULL, 0, NULL), -EPERM);
    CHECK_STR(record(&f, "plain"), "");

    /* overlayfs whiteouts stay real 0:0 character devices. */
    if (geteuid() == 0) {
        CHECK_EQ(mknod_req(&f, 1, "wh", S_IFCHR, 0, 0, &e2), 0);
        CHECK_EQ(lstat(fx_path(&f, "wh"), &st), 0);
        CHECK(S_ISCHR(st.st_mode) && st.st_rdev == 0);
        CHECK_STR(record(&f, "wh"), "");
    }
    fx_close(&f);
}

/* A record the host wrote or changed: only an exact record on an empty regular file counts. */
static void test_host_records(void)
{
    struct fx f;
    fx_open(&f);
    if (!user_xattrs(&f)) {
        fx_close(&f);
        return;
    }
    struct {
        const char *name, *content, *value;
        uint32_t mode;
    } cases[] = {
        {"ok", "", "c 0640 1:5", S_IFCHR | 0640},
        {"blk", "", "b 0600 8:16", S_IFBLK | 0600},
        {"nl", "", "c 0640 1:5\n", S_IFREG | 0644},
        {"range", "", "c 0640 5000:5", S_IFREG | 0644},
        {"garbage", "", "not a record", S_IFREG | 0644},
        {"empty-value", "", "", S_IFREG | 0644},
        {"long", "", "c 0640 1:5 and a lot more than a record holds", S_IFREG | 0644},
        {"data", "x", "c 0640 1:5", S_IFREG | 0644},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        put_file(&f, cases[i].name, cases[i].content);
        chmod(fx_path(&f, cases[i].name), 0644);
        CHECK_EQ(setxattr(fx_path(&f, cases[i].name), PT_DEVNODE_XATTR, cases[i].value,
                          strlen(cases[i].value), 0),
                 0);
        struct fuse_entry_out e;
        CHECK_EQ(fx_lookup(&f, 1, cases[i].name, &e), 0);
        if (e.attr.mode != cases[i].mode)
            fprintf(stderr, "%s: mode 0%o, expected 0%o\n", cases[i].name, e.attr.mode,
                    cases[i].mode);
        CHECK_EQ(e.attr.mode, cases[i].mode);
        if (S_ISREG(cases[i].mode))
            CHECK_EQ(e.attr.rdev, 0);
    }
    /* A device node whose record the host spoils afterwards shows as the file it is, and
       still is never opened. */
    struct fuse_entry_out e;
    CHECK_EQ(fx_lookup(&f, 1, "ok", &e), 0);
    CHECK_EQ(setxattr(fx_path(&f, "ok"), PT_DEVNODE_XATTR, "junk", 4, 0), 0);
    struct fuse_attr_out a;
    CHECK_EQ(fx_getattr(&f, e.nodeid, &a), 0);
    CHECK_EQ(a.attr.mode, S_IFREG | 0644);
    uint64_t fh;
    CHECK_EQ(fx_open_file(&f, e.nodeid, O_RDWR, &fh), -EACCES);
    fx_close(&f);
}

/* No LOOKUP ever sees a new device node without its record (it is written before the name). */
struct racer {
    struct fx f;
    atomic_bool stop;
    long seen, wrong;
};

static void *lookup_racer(void *arg)
{
    struct racer *r = arg;
    while (!atomic_load(&r->stop)) {
        struct fuse_entry_out e;
        if (fx_lookup(&r->f, 1, "racy", &e) == 0) {
            r->seen++;
            if (e.attr.mode != (S_IFCHR | 0666))
                r->wrong++;
            fx_forget(&r->f, e.nodeid, 1);
        }
    }
    return NULL;
}

static void test_mknod_race(void)
{
    struct fx f;
    fx_open(&f);
    if (!user_xattrs(&f)) {
        fx_close(&f);
        return;
    }
    struct racer r = {.f = f};
    r.f.unique = 1u << 30;
    atomic_init(&r.stop, false);
    pthread_t t;
    pthread_create(&t, NULL, lookup_racer, &r);
    for (int i = 0; i < 300; i++) {
        struct fuse_entry_out e;
        CHECK_EQ(mknod_req(&f, 1, "racy", S_IFCHR | 0666, 1, 3, &e), 0);
        CHECK_EQ(e.attr.mode, S_IFCHR | 0666);
        fx_forget(&f, e.nodeid, 1);
        CHECK_EQ(fx_name_op(&f, FUSE_UNLINK, 1, "racy"), 0);
    }
    atomic_store(&r.stop, true);
    pthread_join(t, NULL);
    printf("     %ld lookups saw the node, %ld of them not as a device\n", r.seen, r.wrong);
    CHECK_EQ(r.wrong, 0);
    fx_close(&f);
}

static void test_creds(void)
{
    if (geteuid() != 0 || !fs_creds_can_switch()) {
        printf("     (not root: owner of device nodes not tested)\n");
        return;
    }
    struct fx f;
    fx_open(&f);
    if (!user_xattrs(&f)) {
        fx_close(&f);
        return;
    }
    chmod(f.root, 0777);
    f.uid = 1000;
    f.gid = 1001;
    struct fuse_entry_out e;
    CHECK_EQ(mknod_req(&f, 1, "mine", S_IFCHR | 0600, 1, 3, &e), 0);
    CHECK_EQ(e.attr.uid, 1000);
    CHECK_EQ(e.attr.gid, 1001);
    CHECK_EQ(e.attr.mode, S_IFCHR | 0600);
    struct stat st;
    CHECK_EQ(lstat(fx_path(&f, "mine"), &st), 0);
    CHECK_EQ(st.st_uid, 1000);
    CHECK_EQ(st.st_gid, 1001);
    /* The guest's ids apply to the creation's permission checks. */
    mkdir(fx_path(&f, "rootdir"), 0755);
    CHECK_EQ(mknod_req(&f, fx_node(&f, 1, "rootdir"), "no", S_IFCHR | 0600, 1, 3, NULL), -EACCES);
    CHECK_EQ(access(fx_path(&f, "rootdir/no"), F_OK), -1);
    fx_close(&f);
}

int main(void)
{
    if (fs_thread_init() < 0) {
        fprintf(stderr, "unshare(CLONE_FS) failed\n");
        return 1;
    }
    RUN(test_record_format);
    RUN(test_mknod_shows_device);
    RUN(test_changes_keep_mapping);
    RUN(test_host_records);
    RUN(test_mknod_race);
    RUN(test_creds);
    return TEST_EXIT();
}
