/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guest-fsops: file operations that busybox lacks, run inside test guests
 * (built static with musl). Each subcommand prints what it saw and exits
 * non-zero on failure.
 *
 *   xattr-set FILE NAME VALUE | xattr-get FILE NAME | xattr-list FILE | xattr-rm FILE NAME
 *   mmap-write FILE OFFSET TEXT | mmap-read FILE OFFSET LEN
 *   punch FILE OFFSET LEN        fallocate(PUNCH_HOLE|KEEP_SIZE)
 *   falloc FILE LEN              fallocate(0)
 *   readdir-check DIR N          readdir stays consistent while entries change
 *   ro-check DIR                 every mutation under DIR fails with EROFS
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

static int fail(const char *what)
{
    fprintf(stderr, "guest-fsops: %s: %s\n", what, strerror(errno));
    return 1;
}

static int mmap_write(const char *path, long off, const char *text)
{
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0)
        return fail(path);
    size_t len = strlen(text);
    struct stat st;
    fstat(fd, &st);
    if ((off_t)(off + (long)len) > st.st_size && ftruncate(fd, off + (long)len) < 0)
        return fail("ftruncate");
    long page = sysconf(_SC_PAGESIZE);
    long base = off - off % page;
    size_t maplen = (size_t)(off - base) + len;
    char *p = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, base);
    if (p == MAP_FAILED)
        return fail("mmap");
    memcpy(p + (off - base), text, len);
    if (msync(p, maplen, MS_SYNC) < 0)
        return fail("msync");
    munmap(p, maplen);
    close(fd);
    return 0;
}

static int mmap_read(const char *path, long off, size_t len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return fail(path);
    long page = sysconf(_SC_PAGESIZE);
    long base = off - off % page;
    size_t maplen = (size_t)(off - base) + len;
    char *p = mmap(NULL, maplen, PROT_READ, MAP_SHARED, fd, base);
    if (p == MAP_FAILED)
        return fail("mmap");
    fwrite(p + (off - base), 1, len, stdout);
    putchar('\n');
    return 0;
}

/*
 * Create N files, then list the directory while files are added and
 * removed: every file that exists throughout must be seen exactly once.
 */
static int readdir_check(const char *dir, int n)
{
    char path[4096];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/stable-%d", dir, i);
        int fd = open(path, O_CREAT | O_WRONLY, 0644);
        if (fd < 0)
            return fail(path);
        close(fd);
    }
    int *seen = calloc((size_t)n, sizeof(int));
    DIR *d = opendir(dir);
    if (!d)
        return fail(dir);
    struct dirent *e;
    int step = 0;
    while ((e = readdir(d))) {
        int i;
        if (sscanf(e->d_name, "stable-%d", &i) == 1 && i >= 0 && i < n)
            seen[i]++;
        /* Churn: new entries and removals while the listing is in progress. */
        snprintf(path, sizeof(path), "%s/churn-%d", dir, step);
        close(open(path, O_CREAT | O_WRONLY, 0644));
        if (step >= 2) {
            snprintf(path, sizeof(path), "%s/churn-%d", dir, step - 2);
            unlink(path);
        }
        step++;
    }
    closedir(d);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (seen[i] != 1) {
            fprintf(stderr, "guest-fsops: stable-%d seen %d times\n", i, seen[i]);
            bad = 1;
        }
    }
    /* rewinddir and count again with nothing changing. */
    d = opendir(dir);
    int total = 0;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "stable-", 7) == 0)
            total++;
    closedir(d);
    if (total != n) {
        fprintf(stderr, "guest-fsops: second listing has %d of %d\n", total, n);
        bad = 1;
    }
    printf("readdir-check: %d entries, %d churn steps, %s\n", n, step, bad ? "BAD" : "consistent");
    free(seen);
    return bad;
}

static int expect_erofs(const char *what, int ret)
{
    if (ret == 0) {
        printf("ro-check: %s SUCCEEDED\n", what);
        return 1;
    }
    if (errno != EROFS) {
        printf("ro-check: %s failed with %s, not EROFS\n", what, strerror(errno));
        return 1;
    }
    printf("ro-check: %s: EROFS\n", what);
    return 0;
}

/* DIR must hold a file "file" and a directory "dir". */
static int ro_check(const char *dir)
{
    if (chdir(dir) < 0)
        return fail(dir);
    int bad = 0;
    bad |= expect_erofs("create", open("new", O_CREAT | O_WRONLY, 0644) < 0 ? -1 : 0);
    bad |= expect_erofs("open for writing", open("file", O_WRONLY) < 0 ? -1 : 0);
    bad |= expect_erofs("open with O_TRUNC", open("file", O_RDONLY | O_TRUNC) < 0 ? -1 : 0);
    bad |= expect_erofs("mkdir", mkdir("newdir", 0755));
    bad |= expect_erofs("symlink", symlink("file", "newlink"));
    bad |= expect_erofs("link", link("file", "newhard"));
    bad |= expect_erofs("mkfifo", mkfifo("newfifo", 0644));
    bad |= expect_erofs("mknod", mknod("newnod", S_IFCHR | 0644, makedev(1, 3)));
    bad |= expect_erofs("truncate", truncate("file", 0));
    bad |= expect_erofs("chmod", chmod("file", 0600));
    bad |= expect_erofs("chown", chown("file", 1, 1));
    bad |= expect_erofs("utimes", utimes("file", NULL));
    bad |= expect_erofs("rename", rename("file", "renamed"));
    bad |= expect_erofs("setxattr", setxattr("file", "user.x", "1", 1, 0));
    bad |= expect_erofs("removexattr", removexattr("file", "user.x"));
    bad |= expect_erofs("unlink", unlink("file"));
    bad |= expect_erofs("rmdir", rmdir("dir"));
    printf("ro-check: %s\n", bad ? "FAILED" : "all refused");
    return bad;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "xattr-set") && argc == 5)
        return setxattr(argv[2], argv[3], argv[4], strlen(argv[4]), 0) ? fail("setxattr") : 0;
    if (!strcmp(cmd, "xattr-get") && argc == 4) {
        char buf[4096];
        ssize_t n = getxattr(argv[2], argv[3], buf, sizeof(buf));
        if (n < 0)
            return fail("getxattr");
        printf("%.*s\n", (int)n, buf);
        return 0;
    }
    if (!strcmp(cmd, "xattr-list") && argc == 3) {
        char buf[4096];
        ssize_t n = listxattr(argv[2], buf, sizeof(buf));
        if (n < 0)
            return fail("listxattr");
        for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
            printf("%s\n", buf + i);
        return 0;
    }
    if (!strcmp(cmd, "xattr-rm") && argc == 4)
        return removexattr(argv[2], argv[3]) ? fail("removexattr") : 0;
    if (!strcmp(cmd, "mmap-write") && argc == 5)
        return mmap_write(argv[2], atol(argv[3]), argv[4]);
    if (!strcmp(cmd, "mmap-read") && argc == 5)
        return mmap_read(argv[2], atol(argv[3]), (size_t)atol(argv[4]));
    if ((!strcmp(cmd, "punch") && argc == 5) || (!strcmp(cmd, "falloc") && argc == 4)) {
        int fd = open(argv[2], O_RDWR);
        if (fd < 0)
            return fail(argv[2]);
        int r = !strcmp(cmd, "punch") ? fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                                  atol(argv[3]), atol(argv[4]))
                                      : fallocate(fd, 0, 0, atol(argv[3]));
        return r ? fail("fallocate") : 0;
    }
    if (!strcmp(cmd, "readdir-check") && argc == 4)
        return readdir_check(argv[2], atoi(argv[3]));
    if (!strcmp(cmd, "ro-check") && argc == 3)
        return ro_check(argv[2]);
    fprintf(stderr, "guest-fsops: bad arguments (see the source for usage)\n");
    return 2;
}
