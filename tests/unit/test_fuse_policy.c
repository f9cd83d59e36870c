/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/fs/fuse_server.c src/virtio/fs/fuse_iov.c src/virtio/fs/fuse_reply.c src/virtio/fs/fs_name.c src/virtio/fs/fs_creds.c src/virtio/fs/idmap.c src/virtio/fs/pt_table.c src/virtio/fs/pt_policy.c src/virtio/fs/passthrough.c src/virtio/fs/overlay.c src/util/log.c */
/*
 * Host metadata the guest must not reach, through the FUSE server: xattrs
 * the host acts on (trusted.*, security.* but security.capability, the
 * server's own user.krun.*) are refused and not listed; the mode, owner and
 * xattrs of host device nodes in the share cannot be changed, while FIFOs,
 * sockets and overlayfs whiteouts behave as usual.
 */
#include "test.h"
#include "test_fuse_req.h"

#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>

#include "virtio/fs/pt_policy.h"

static int set_x(struct fx *f, uint64_t n, const char *name, const void *val, size_t len)
{
    struct fuse_setxattr_in si = {.size = (uint32_t)len};
    struct part p[] = {P_MEM(&si, 8), P_STR(name), P_MEM(val, len)};
    return fx_call(f, FUSE_SETXATTR, n, p, 3, NULL, 0, NULL);
}

/* GETXATTR into buf (size bytes of room; 0 asks for the size): the length or -errno. */
static long get_x(struct fx *f, uint64_t n, const char *name, void *buf, uint32_t size)
{
    struct fuse_getxattr_in gi = {.size = size};
    struct part p[] = {P_OBJ(gi), P_STR(name)};
    if (size == 0) {
        struct fuse_getxattr_out go = {0};
        int ret = fx_call(f, FUSE_GETXATTR, n, p, 2, &go, sizeof(go), NULL);
        return ret < 0 ? ret : (long)go.size;
    }
    size_t len = 0;
    int ret = fx_call(f, FUSE_GETXATTR, n, p, 2, buf, size, &len);
    return ret < 0 ? ret : (long)len;
}

static long list_x(struct fx *f, uint64_t n, void *buf, uint32_t size)
{
    struct fuse_getxattr_in gi = {.size = size};
    struct part p = P_OBJ(gi);
    if (size == 0) {
        struct fuse_getxattr_out go = {0};
        int ret = fx_call(f, FUSE_LISTXATTR, n, &p, 1, &go, sizeof(go), NULL);
        return ret < 0 ? ret : (long)go.size;
    }
    size_t len = 0;
    int ret = fx_call(f, FUSE_LISTXATTR, n, &p, 1, buf, size, &len);
    return ret < 0 ? ret : (long)len;
}

static int rm_x(struct fx *f, uint64_t n, const char *name)
{
    struct part p = P_STR(name);
    return fx_call(f, FUSE_REMOVEXATTR, n, &p, 1, NULL, 0, NULL);
}

static bool listed(const char *list, long len, const char *name)
{
    for (long i = 0; i < len; i += (long)strlen(list + i) + 1)
        if (strcmp(list + i, name) == 0)
            return true;
    return false;
}

/* A file capability (VFS_CAP_REVISION_2): cap_net_raw permitted. */
static const uint8_t cap_value[20] = {0x00, 0x00, 0x00, 0x02, 0x00, 0x20};

static void test_policy_names(void)
{
    CHECK(pt_xattr_allowed("user.color"));
    CHECK(pt_xattr_allowed("system.posix_acl_access"));
    CHECK(pt_xattr_allowed("security.capability"));
    CHECK(!pt_xattr_allowed("security.capabilityx"));
    CHECK(!pt_xattr_allowed("security.selinux"));
    CHECK(!pt_xattr_allowed("security.ima"));
    CHECK(!pt_xattr_allowed("security."));
    CHECK(!pt_xattr_allowed("trusted.overlay.redirect"));
    CHECK(!pt_xattr_allowed("trusted."));
    CHECK(!pt_xattr_allowed("user.krun.dev"));
    CHECK(!pt_xattr_allowed("user.krun.anything"));
    CHECK(pt_xattr_allowed("user.krunner"));
    /* Namespaces are case-sensitive: these are not the ones the kernel knows. */
    CHECK(pt_xattr_allowed("Trusted.x"));

    char l[] = "trusted.a\0user.b\0security.selinux\0security.capability\0user.krun.dev\0user.c";
    size_t n = pt_xattr_filter(l, sizeof(l) - 1); /* the last name has no NUL: dropped */
    CHECK_EQ(n, strlen("user.b") + 1 + strlen("security.capability") + 1);
    CHECK(memcmp(l, "user.b\0security.capability\0", n) == 0);
    char empty[] = "trusted.a";
    CHECK_EQ(pt_xattr_filter(empty, sizeof(empty)), 0);
}

static void test_xattr_policy(void)
{
    struct fx f;
    fx_open(&f);
    put_file(&f, "f", "x");
    const char *p = fx_path(&f, "f");
    if (setxattr(p, "user.ok", "1", 1, 0) < 0) {
        printf("     (no user xattrs on /tmp: skipped)\n");
        fx_close(&f);
        return;
    }
    bool privileged = setxattr(p, "trusted.secret", "t", 1, 0) == 0 &&
                      setxattr(p, "security.test", "s", 1, 0) == 0 &&
                      setxattr(p, "security.capability", cap_value, sizeof(cap_value), 0) == 0;
    CHECK_EQ(setxattr(p, "user.krun.private", "k", 1, 0), 0);
    uint64_t n = fx_node(&f, 1, "f");
    char buf[4096];

    /* LISTXATTR shows only what the guest may use, and says so in its size. */
    long len = list_x(&f, n, buf, sizeof(buf));
    CHECK(len > 0);
    CHECK(listed(buf, len, "user.ok"));
    CHECK(!listed(buf, len, "user.krun.private"));
    CHECK(!listed(buf, len, "trusted.secret"));
    CHECK(!listed(buf, len, "security.test"));
    if (privileged)
        CHECK(listed(buf, len, "security.capability"));
    CHECK_EQ(list_x(&f, n, NULL, 0), len);
    /* A buffer the whole host list would not fit is enough for the guest's. */
    CHECK_EQ(list_x(&f, n, buf, (uint32_t)len), len);
    CHECK_EQ(list_x(&f, n, buf, (uint32_t)len - 1), -ERANGE);

    /* GETXATTR */
    CHECK_EQ(get_x(&f, n, "user.ok", buf, sizeof(buf)), 1);
    CHECK_EQ(get_x(&f, n, "user.krun.private", buf, sizeof(buf)), -EPERM);
    CHECK_EQ(get_x(&f, n, "user.krun.private", NULL, 0), -EPERM);
    CHECK_EQ(get_x(&f, n, "trusted.secret", buf, sizeof(buf)), -EPERM);
    CHECK_EQ(get_x(&f, n, "security.test", buf, sizeof(buf)), -EPERM);
    CHECK_EQ(get_x(&f, n, "security.selinux", NULL, 0), -EPERM);
    if (privileged)
        CHECK_EQ(get_x(&f, n, "security.capability", buf, sizeof(buf)), sizeof(cap_value));

    /* SETXATTR: refused names never reach the host. */
    CHECK_EQ(set_x(&f, n, "trusted.overlay.redirect", "/x", 2), -EPERM);
    CHECK_EQ(set_x(&f, n, "security.selinux", "l", 1), -EPERM);
    CHECK_EQ(set_x(&f, n, "security.ima", "i", 1), -EPERM);
    CHECK_EQ(set_x(&f, n, "user.krun.dev", "c 0666 1:3", 10), -EPERM);
    CHECK_EQ(getxattr(p, "trusted.overlay.redirect", buf, sizeof(buf)), -1);
    CHECK_EQ(getxattr(p, "user.krun.dev", buf, sizeof(buf)), -1);
    CHECK_EQ(set_x(&f, n, "user.new", "v", 1), 0);
    CHECK_EQ(getxattr(p, "user.new", buf, sizeof(buf)), 1);
    if (privileged) {
        CHECK_EQ(set_x(&f, n, "security.capability", cap_value, sizeof(cap_value)), 0);
        CHECK_EQ(getxattr(p, "security.capability", buf, sizeof(buf)), sizeof(cap_value));
    }

    /* REMOVEXATTR */
    CHECK_EQ(rm_x(&f, n, "user.krun.private"), -EPERM);
    CHECK_EQ(getxattr(p, "user.krun.private", buf, sizeof(buf)), 1);
    if (privileged) {
        CHECK_EQ(rm_x(&f, n, "trusted.secret"), -EPERM);
        CHECK_EQ(rm_x(&f, n, "security.test"), -EPERM);
        CHECK_EQ(getxattr(p, "trusted.secret", buf, sizeof(buf)), 1);
        CHECK_EQ(getxattr(p, "security.test", buf, sizeof(buf)), 1);
        CHECK_EQ(rm_x(&f, n, "security.capability"), 0);
        CHECK_EQ(getxattr(p, "security.capability", buf, sizeof(buf)), -1);
    } else {
        printf("     (not root: trusted.* and security.* set on the host not tested)\n");
    }
    CHECK_EQ(rm_x(&f, n, "user.ok"), 0);
    fx_close(&f);
}

/* A POSIX ACL (system.posix_acl_access) that also lets uid 1000 read and write. */
static const uint8_t acl_value[] = {
    0x02, 0x00, 0x00, 0x00,                         /* version 2 */
    0x01, 0x00, 0x06, 0x00, 0xff, 0xff, 0xff, 0xff, /* user::rw- */
    0x02, 0x00, 0x06, 0x00, 0xe8, 0x03, 0x00, 0x00, /* user:1000:rw- */
    0x04, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, /* group::--- */
    0x10, 0x00, 0x06, 0x00, 0xff, 0xff, 0xff, 0xff, /* mask::rw- */
    0x20, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, /* other::--- */
};

static void test_host_device_nodes(void)
{
    struct fx f;
    fx_open(&f);
    if (mknod(fx_path(&f, "null"), S_IFCHR | 0600, makedev(1, 3)) < 0 ||
        mknod(fx_path(&f, "loop"), S_IFBLK | 0600, makedev(7, 0)) < 0) {
        printf("     (cannot make device nodes here: skipped)\n");
        fx_close(&f);
        return;
    }
    CHECK_EQ(mknod(fx_path(&f, "whiteout"), S_IFCHR, 0), 0);
    CHECK_EQ(mkfifo(fx_path(&f, "fifo"), 0600), 0);
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fx_path(&f, "sock"));
    CHECK_EQ(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);

    /* An ACL is an xattr the kernel accepts on any inode: on a file, it goes through. */
    put_file(&f, "file", "x");
    bool acls = setxattr(fx_path(&f, "file"), "system.posix_acl_access", acl_value,
                         sizeof(acl_value), 0) == 0;
    if (acls)
        CHECK_EQ(set_x(&f, fx_node(&f, 1, "file"), "system.posix_acl_access", acl_value,
                       sizeof(acl_value)),
                 0);

    const char *devs[] = {"null", "loop"};
    for (int i = 0; i < 2; i++) {
        uint64_t n = fx_node(&f, 1, devs[i]);
        struct fuse_setattr_in in = {.valid = FATTR_MODE, .mode = 0666};
        CHECK_EQ(fx_setattr(&f, n, &in, NULL), -EPERM);
        in = (struct fuse_setattr_in){.valid = FATTR_UID | FATTR_GID, .uid = 1000, .gid = 1000};
        CHECK_EQ(fx_setattr(&f, n, &in, NULL), -EPERM);
        in = (struct fuse_setattr_in){.valid = FATTR_GID, .gid = 1000};
        CHECK_EQ(fx_setattr(&f, n, &in, NULL), -EPERM);
        /* Changing the times is harmless. */
        in = (struct fuse_setattr_in){.valid = FATTR_MTIME, .mtime = 1000000};
        CHECK_EQ(fx_setattr(&f, n, &in, NULL), 0);
        CHECK_EQ(set_x(&f, n, "user.x", "1", 1), -EPERM);
        CHECK_EQ(rm_x(&f, n, "user.x"), -EPERM);
        /* ... but it would open the device to another host user. */
        CHECK_EQ(set_x(&f, n, "system.posix_acl_access", acl_value, sizeof(acl_value)), -EPERM);
        char buf[64];
        CHECK_EQ(getxattr(fx_path(&f, devs[i]), "system.posix_acl_access", buf, sizeof(buf)), -1);
        struct stat st;
        CHECK_EQ(stat(fx_path(&f, devs[i]), &st), 0);
        CHECK_EQ(st.st_mode & 07777, 0600);
        CHECK_EQ(st.st_uid, 0);
        CHECK_EQ(st.st_mtime, 1000000);
        uint64_t fh;
        CHECK_EQ(fx_open_file(&f, n, O_RDONLY, &fh), -EACCES);
    }

    /* FIFOs, sockets and whiteouts keep their usual behaviour. */
    const char *others[] = {"fifo", "sock", "whiteout"};
    for (int i = 0; i < 3; i++) {
        uint64_t n = fx_node(&f, 1, others[i]);
        struct fuse_setattr_in in = {.valid = FATTR_MODE, .mode = 0640};
        struct fuse_attr_out a;
        CHECK_EQ(fx_setattr(&f, n, &in, &a), 0);
        CHECK_EQ(a.attr.mode & 07777, 0640);
        in = (struct fuse_setattr_in){.valid = FATTR_UID | FATTR_GID, .uid = 1000, .gid = 1001};
        CHECK_EQ(fx_setattr(&f, n, &in, &a), 0);
        CHECK_EQ(a.attr.uid, 1000);
        CHECK_EQ(a.attr.gid, 1001);
        struct stat st;
        CHECK_EQ(lstat(fx_path(&f, others[i]), &st), 0);
        CHECK_EQ(st.st_mode & 07777, 0640);
        CHECK_EQ(st.st_uid, 1000);
        /* user.* xattrs: whatever the host says for this type (Linux refuses them). */
        errno = 0;
        int host = setxattr(fx_path(&f, others[i]), "user.y", "1", 1, 0) < 0 ? -errno : 0;
        CHECK_EQ(set_x(&f, n, "user.z", "1", 1), host);
    }
    close(sock);
    fx_close(&f);
}

int main(void)
{
    if (fs_thread_init() < 0) {
        fprintf(stderr, "unshare(CLONE_FS) failed\n");
        return 1;
    }
    RUN(test_policy_names);
    RUN(test_xattr_policy);
    RUN(test_host_device_nodes);
    return TEST_EXIT();
}
