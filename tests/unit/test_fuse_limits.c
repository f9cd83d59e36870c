/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/fs/fuse_server.c src/virtio/fs/fuse_iov.c src/virtio/fs/fuse_reply.c src/virtio/fs/fs_name.c src/virtio/fs/fs_creds.c src/virtio/fs/idmap.c src/virtio/fs/pt_table.c src/virtio/fs/pt_policy.c src/virtio/fs/passthrough.c src/virtio/fs/overlay.c src/util/log.c */
/*
 * What a guest can make a share keep open is bounded: 49152 inodes and
 * 16384 handles per share (65536 fds in all, far below the VMM's fd limit).
 * Past that the share answers ENFILE, and another share (another device)
 * keeps working.
 */
#include "test.h"
#include "test_fuse_req.h"

#include <sys/resource.h>

#include "virtio/fs/pt_table.h"

/* The documented numbers (docs/virtio-fs.md), not the header's: the test checks both agree. */
#define DOC_INODES  49152
#define DOC_HANDLES 16384

static void test_table_caps(void)
{
    CHECK_EQ(PT_INODES_MAX, DOC_INODES);
    CHECK_EQ(PT_HANDLES_MAX, DOC_HANDLES);
    struct pt_table t;
    struct stat st;
    int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    fstat(root, &st);
    CHECK_EQ(pt_table_init(&t, root, &st), 0);

    /* Handles: fd -1 (as for an opaque directory) needs no descriptor per entry. */
    uint64_t id = 0, first = 0, last = 0;
    int ret = 0;
    for (int i = 0; i < DOC_HANDLES && ret == 0; i++) {
        ret = pt_handle_add(&t, -1, true, false, 0, &id);
        if (i == 0)
            first = id;
    }
    CHECK_EQ(ret, 0);
    CHECK_EQ(pt_handle_add(&t, -1, true, false, 0, &id), -ENFILE);
    CHECK_EQ(pt_handle_add(&t, -1, false, false, 0, &id), -ENFILE);
    /* A release makes room for exactly one more. */
    CHECK_EQ(pt_handle_release(&t, first, true), 0);
    CHECK_EQ(pt_handle_add(&t, -1, true, false, 0, &last), 0);
    CHECK(last != first && last != 0);
    CHECK_EQ(pt_handle_add(&t, -1, true, false, 0, &id), -ENFILE);

    /* Inodes: distinct (dev, ino) pairs. */
    struct stat fake = {.st_dev = 12345, .st_mode = S_IFREG | 0644};
    struct pt_inode *ino;
    uint64_t some = 0;
    ret = 0;
    for (int i = 0; i < DOC_INODES && ret == 0; i++) {
        fake.st_ino = 1000 + (ino_t)i;
        ret = pt_inode_found(&t, -1, &fake, false, false, &ino);
        if (ret == 0) {
            if (i == 7)
                some = ino->id;
            pt_inode_put(&t, ino);
        }
    }
    CHECK_EQ(ret, 0);
    fake.st_ino = 999;
    CHECK_EQ(pt_inode_found(&t, -1, &fake, false, false, &ino), -ENFILE);
    /* An inode already there is found again (one more lookup, no new entry). */
    fake.st_ino = 1007;
    CHECK_EQ(pt_inode_found(&t, -1, &fake, false, false, &ino), 0);
    CHECK_EQ(ino->id, some);
    pt_inode_put(&t, ino);
    /* Forgetting every lookup of one frees its place. */
    pt_inode_forget(&t, some, 2);
    fake.st_ino = 999;
    CHECK_EQ(pt_inode_found(&t, -1, &fake, false, false, &ino), 0);
    pt_inode_put(&t, ino);
    fake.st_ino = 998;
    CHECK_EQ(pt_inode_found(&t, -1, &fake, false, false, &ino), -ENFILE);
    /* The full inode table does not take room from the handles, or the reverse. */
    CHECK_EQ(pt_handle_release(&t, last, true), 0);
    CHECK_EQ(pt_handle_add(&t, -1, false, false, 0, &id), 0);
    pt_table_free(&t);
}

/*
 * Through the FUSE server with real descriptors: OPENs past the cap get
 * ENFILE (not EMFILE: the process still has descriptors to spare), another
 * share keeps working, a RELEASE makes room again.
 */
static void test_open_enfile(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < DOC_HANDLES + 256) {
        printf("     (hard fd limit %llu is below %d: not tested)\n",
               (unsigned long long)rl.rlim_max, DOC_HANDLES + 256);
        return;
    }
    rlim_t old = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);

    struct fx a, b;
    fx_open(&a);
    fx_open(&b);
    put_file(&a, "f", "a");
    put_file(&b, "f", "b");
    uint64_t na = fx_node(&a, 1, "f"), nb = fx_node(&b, 1, "f");
    uint64_t *fh = calloc(DOC_HANDLES, sizeof(*fh));
    int ret = 0, opened = 0;
    /* Files and directories share the handle table. */
    for (; opened < DOC_HANDLES && ret == 0; opened++)
        ret = opened % 2 ? fx_open_file(&a, na, O_RDONLY, &fh[opened])
                         : fx_opendir(&a, 1, &fh[opened]);
    CHECK_EQ(ret, 0);
    uint64_t x;
    CHECK_EQ(fx_open_file(&a, na, O_RDONLY, &x), -ENFILE);
    CHECK_EQ(fx_opendir(&a, 1, &x), -ENFILE);
    CHECK_EQ(fx_create(&a, 1, "new", 0644, O_RDWR | O_CREAT, NULL, &x), -ENFILE);
    /* The failed CREATE counted no lookup: a FORGET of one lookup frees the new node. */
    struct fuse_entry_out e;
    CHECK_EQ(fx_lookup(&a, 1, "new", &e), 0);
    fx_forget(&a, e.nodeid, 1);
    CHECK_EQ(fx_getattr(&a, e.nodeid, NULL), -ESTALE);
    /* The other share is untouched. */
    CHECK_EQ(fx_open_file(&b, nb, O_RDONLY, &x), 0);
    char c = 0;
    CHECK_EQ(fx_read(&b, nb, x, 0, 1, &c), 1);
    CHECK_EQ(c, 'b');
    CHECK_EQ(fx_release(&b, FUSE_RELEASE, nb, x), 0);
    /* One release, one more open. */
    CHECK_EQ(fx_release(&a, FUSE_RELEASE, na, fh[1]), 0);
    CHECK_EQ(fx_open_file(&a, na, O_RDONLY, &fh[1]), 0);
    CHECK_EQ(fx_open_file(&a, na, O_RDONLY, &x), -ENFILE);
    for (int i = 0; i < opened; i++)
        fx_release(&a, i % 2 ? FUSE_RELEASE : FUSE_RELEASEDIR, i % 2 ? na : 1, fh[i]);
    CHECK_EQ(fx_open_file(&a, na, O_RDONLY, &x), 0);
    CHECK_EQ(fx_release(&a, FUSE_RELEASE, na, x), 0);
    free(fh);
    /* Each share's count of open fds was taken with the other's open: forget the nodes first. */
    fx_forget(&a, na, 1);
    fx_forget(&b, nb, 1);
    fx_close(&b);
    fx_close(&a);
    rl.rlim_cur = old;
    setrlimit(RLIMIT_NOFILE, &rl);
}

int main(void)
{
    if (fs_thread_init() < 0) {
        fprintf(stderr, "unshare(CLONE_FS) failed\n");
        return 1;
    }
    RUN(test_table_caps);
    RUN(test_open_enfile);
    return TEST_EXIT();
}
