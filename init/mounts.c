/* SPDX-License-Identifier: Apache-2.0 */
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "mountinfo.h"
#include "mountopt.h"
#include "readfile.h"

struct basic_mount {
    const char *source, *target, *fstype;
    unsigned long flags;
    const char *data;
    bool required;
};

/* Order matters: each target lives in a filesystem mounted before it. */
static const struct basic_mount basic[] = {
    {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, NULL, true},
    {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, true},
    {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, true},
    {"cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, false},
    {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666", false},
    {"tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", false},
};

/* Links that /dev has on any distribution but devtmpfs does not create. */
static const char *const dev_links[][2] = {
    {"/proc/self/fd", "/dev/fd"},
    {"/proc/self/fd/0", "/dev/stdin"},
    {"/proc/self/fd/1", "/dev/stdout"},
    {"/proc/self/fd/2", "/dev/stderr"},
};

static int mount_one(const struct basic_mount *m)
{
    /* The root may be read-only with the directory already there. */
    if (mkdir(m->target, 0755) < 0 && errno != EEXIST && errno != EROFS)
        init_log("mkdir %s: %s", m->target, strerror(errno));
    if (mount(m->source, m->target, m->fstype, m->flags, m->data) == 0 || errno == EBUSY)
        return 0;
    init_log("mount %s on %s: %s", m->fstype, m->target, strerror(errno));
    return m->required ? -1 : 0;
}

int mount_system(void)
{
    int r = 0;
    for (size_t i = 0; i < sizeof(basic) / sizeof(basic[0]); i++)
        if (mount_one(&basic[i]) < 0)
            r = -1;
    for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++)
        if (symlink(dev_links[i][0], dev_links[i][1]) < 0 && errno != EEXIST)
            init_log("symlink %s: %s", dev_links[i][1], strerror(errno));
    /* Nested virtualization: let any user open KVM, as upstream does. */
    if (chmod("/dev/kvm", 0666) < 0 && errno != ENOENT)
        init_log("chmod /dev/kvm: %s", strerror(errno));
    return r;
}

/* Try every filesystem type the kernel can mount from a device. */
static int mount_probe(const char *device, const char *target, unsigned long flags,
                       const char *data)
{
    char *list;
    size_t len;
    int err = ENODEV;
    int r = read_file("/proc/filesystems", 1 << 16, &list, &len);
    if (r < 0) {
        init_log("read /proc/filesystems: %s", strerror(-r));
        errno = -r;
        return -1;
    }
    for (char *line = strtok(list, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "nodev", 5) == 0)
            continue;
        while (*line == '\t' || *line == ' ')
            line++;
        if (!*line)
            continue;
        if (mount(device, target, line, flags, data) == 0) {
            free(list);
            return 0;
        }
        err = errno;
    }
    free(list);
    errno = err;
    return -1;
}

int mount_block_root(const char *device, const char *fstype, const char *options)
{
    size_t optlen = options ? strlen(options) + 1 : 1;
    char *data = malloc(optlen);
    unsigned long flags;
    if (!data || mountopt_split(options, &flags, data, optlen) < 0) {
        init_log("block root: bad options \"%s\"", options ? options : "");
        free(data);
        return -1;
    }
    if (mkdir("/newroot", 0755) < 0 && errno != EEXIST)
        init_log("mkdir /newroot: %s", strerror(errno));
    int r;
    if (!fstype || !*fstype || strcmp(fstype, "auto") == 0)
        r = mount_probe(device, "/newroot", flags, *data ? data : NULL);
    else
        r = mount(device, "/newroot", fstype, flags, *data ? data : NULL);
    free(data);
    if (r < 0) {
        init_log("mount %s on /newroot: %s", device, strerror(errno));
        return -1;
    }
    /* The classic switch_root: move the new mount over / and enter it.
     * The old root stays mounted underneath, so the fd kept for the exit
     * status still works. */
    if (chdir("/newroot") < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
        chdir("/") < 0) {
        init_log("switch to the block root: %s", strerror(errno));
        return -1;
    }
    return mount_system();
}

void mount_make_shared(void)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_SHARED, NULL) < 0)
        init_log("make / shared: %s", strerror(errno));
}

static void mkdir_p(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        mkdir(p, 0755);
        *s = '/';
    }
    mkdir(p, 0755);
    free(p);
}

void mount_tmpfs_list(const struct tmpfs_mount *m, size_t n)
{
    char *info = NULL;
    size_t len;
    for (size_t i = 0; i < n; i++) {
        /* Re-read: an earlier entry may have mounted a parent. */
        free(info);
        info = NULL;
        int r = read_file("/proc/self/mountinfo", 1 << 22, &info, &len);
        if (r < 0) {
            init_log("read /proc/self/mountinfo: %s", strerror(-r));
            return;
        }
        if (mountinfo_has(info, m[i].dest))
            continue;
        size_t dlen = strlen(m[i].options) + 1;
        char *data = malloc(dlen);
        unsigned long flags;
        if (!data || mountopt_split(m[i].options, &flags, data, dlen) < 0) {
            init_log("tmpfs %s: unsupported options \"%s\"", m[i].dest, m[i].options);
            free(data);
            continue;
        }
        mkdir_p(m[i].dest);
        if (mount("tmpfs", m[i].dest, "tmpfs", flags, *data ? data : NULL) < 0)
            init_log("mount tmpfs on %s: %s", m[i].dest, strerror(errno));
        free(data);
    }
    free(info);
}
