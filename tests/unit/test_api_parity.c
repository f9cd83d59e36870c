/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: @library */
/* LDLIBS: -luring */
/*
 * The calls where libkrun-c used to be stricter than, or different from,
 * upstream libkrun 1.18, checked against upstream's behaviour. The facts
 * come from src/libkrun/src/lib.rs (containers/libkrun at 00903dbb; line
 * numbers move between versions, so each test names the functions), its
 * env_logger defaults, and Linux 6.12's fs/fuse/virtio_fs.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libkrun.h"
#include "test.h"

static uint32_t new_ctx(void)
{
    int32_t c = krun_create_ctx();
    CHECK(c >= 0);
    return (uint32_t)c;
}

/*
 * lib.rs krun_add_virtiofs, krun_add_virtiofs2: both call krun_add_virtiofs3,
 * where a NULL path is a NullFs (a purely virtual filesystem). krun_set_root
 * has no such case.
 */
static void test_virtiofs_null_path(void)
{
    uint32_t c = new_ctx();
    CHECK_EQ(krun_add_virtiofs(c, "v1", NULL), 0);
    CHECK_EQ(krun_add_virtiofs2(c, "v2", NULL, 1 << 20), 0);
    CHECK_EQ(krun_fs_add_overlay_dir(c, "v1", "d", 040755), 0);
    CHECK_EQ(krun_fs_add_overlay_dir(c, "v2", "d", 040755), 0);
    CHECK_EQ(krun_set_root(c, NULL), -EINVAL);
    CHECK_EQ(krun_free_ctx(c), 0);
}

/*
 * lib.rs krun_add_virtiofs3 and VmResources::add_fs_device push a device per
 * call, whatever its tag; the guest kernel then refuses the second device of
 * a tag (virtio_fs_add_instance: -EEXIST), so the first is what the guest
 * mounts. fs_add_overlay_entry finds the first device of the tag.
 */
static void test_duplicate_tags(void)
{
    uint32_t c = new_ctx();
    CHECK_EQ(krun_set_root(c, "/"), 0);
    CHECK_EQ(krun_set_root(c, "/tmp"), 0);
    CHECK_EQ(krun_add_virtiofs2(c, KRUN_FS_ROOT_TAG, "/", 0), 0);
    CHECK_EQ(krun_add_virtiofs(c, "data", "/"), 0);
    CHECK_EQ(krun_add_virtiofs(c, "data", "/tmp"), 0);
    CHECK_EQ(krun_fs_add_overlay_dir(c, "data", "d", 040755), 0);
    CHECK_EQ(krun_free_ctx(c), 0);
}

/*
 * lib.rs krun_add_disk*: BlockBuilder::insert pushes a device per call,
 * whatever its block id.
 */
static void test_duplicate_block_ids(void)
{
    uint32_t c = new_ctx();
    CHECK_EQ(krun_add_disk(c, "a", "/x", false), 0);
    CHECK_EQ(krun_add_disk(c, "a", "/y", true), 0);
    CHECK_EQ(krun_add_disk2(c, "a", "/z", KRUN_DISK_FORMAT_RAW, false), 0);
    CHECK_EQ(krun_free_ctx(c), 0);
}

/*
 * lib.rs resolve_overlay_path: one leading '/' is dropped; a missing parent
 * (an empty component names none) is -ENOENT, a file parent -ENOTDIR, an
 * empty leaf -EINVAL. fs_add_overlay_entry pushes a second entry for a path
 * already there (returns 0); lookups find the first.
 */
static void test_overlay_paths(void)
{
    static const uint8_t data[] = "x";
    uint32_t c = new_ctx();
    CHECK_EQ(krun_add_virtiofs3(c, "v", NULL, 0, false), 0);
    CHECK_EQ(krun_fs_add_overlay_dir(c, "v", "/etc", 040755), 0);
    CHECK_EQ(krun_fs_add_overlay_file(c, "v", "etc/f", data, 1, 0100644, false), 0);
    CHECK_EQ(krun_fs_add_overlay_file(c, "v", "/etc/g", data, 1, 0100644, false), 0);
    CHECK_EQ(krun_fs_add_overlay_dir(c, "v", "/etc", 040755), 0);           /* again: kept once */
    CHECK_EQ(krun_fs_add_overlay_dir(c, "v", "etc/f/x", 040755), -ENOTDIR); /* still a file */
    CHECK_EQ(krun_fs_add_overlay_dir(c, "v", "//etc", 040755), -ENOENT);
    CHECK_EQ(krun_fs_add_overlay_dir(c, "v", "etc//x", 040755), -ENOENT);
    CHECK_EQ(krun_fs_add_overlay_dir(c, "v", "etc/", 040755), -EINVAL);
    CHECK_EQ(krun_fs_add_overlay_dir(c, "v", "/", 040755), -EINVAL);
    CHECK_EQ(krun_fs_add_overlay_dir(c, "v", "", 040755), -EINVAL);
    CHECK_EQ(krun_free_ctx(c), 0);
}

/*
 * lib.rs krun_set_root_disk_remount: -EINVAL when "/dev/root" is already
 * configured and when no disk was added; an fstype of "auto" is no fstype.
 */
static void test_root_disk_remount(void)
{
    uint32_t c = new_ctx();
    CHECK_EQ(krun_set_root_disk_remount(c, "/dev/vda", "auto", NULL), -EINVAL); /* no disk */
    CHECK_EQ(krun_add_disk(c, "root", "/x", false), 0);
    CHECK_EQ(krun_set_root(c, "/"), 0);
    CHECK_EQ(krun_set_root_disk_remount(c, "/dev/vda", "auto", NULL), -EINVAL); /* root taken */
    CHECK_EQ(krun_free_ctx(c), 0);

    c = new_ctx();
    CHECK_EQ(krun_add_disk(c, "root", "/x", false), 0);
    CHECK_EQ(krun_set_root_disk_remount(c, "/dev/vda", "auto", "ro"), 0);
    CHECK_EQ(krun_set_root_disk_remount(c, "/dev/vda", "auto", NULL), -EINVAL);
    CHECK_EQ(krun_set_root(c, "/"), 0); /* a second root device, as upstream */
    CHECK_EQ(krun_free_ctx(c), 0);
}

/*
 * lib.rs krun_set_rlimits: the entries are joined unchecked into
 * KRUN_RLIMITS; upstream's init skips what it cannot parse (so does ours:
 * test_init_rlimit). NULL is -EINVAL. What the kernel command line cannot
 * carry (a double quote, a newline) is refused here.
 */
static void test_rlimits(void)
{
    uint32_t c = new_ctx();
    const char *const odd[] = {"6=1", "NOFILE=1:2", "", "7=1:2", NULL};
    const char *const quote[] = {"6=\"1:2", NULL};
    CHECK_EQ(krun_set_rlimits(c, odd), 0);
    CHECK_EQ(krun_set_rlimits(c, quote), -EINVAL);
    CHECK_EQ(krun_set_rlimits(c, NULL), -EINVAL);
    CHECK_EQ(krun_free_ctx(c), 0);
}

/*
 * lib.rs log_level_to_filter_str: any level above 4 is "trace". The filter
 * is env_logger's default_filter_or: RUST_LOG, when set, replaces it.
 */
static void test_log_levels(void)
{
    unsetenv("RUST_LOG");
    unsetenv("KRUN_LOG_LEVEL");
    CHECK_EQ(krun_set_log_level(6), 0);
    CHECK_EQ(krun_set_log_level(UINT32_MAX), 0);
    CHECK_EQ(krun_init_log(KRUN_LOG_TARGET_DEFAULT, 99, KRUN_LOG_STYLE_NEVER, 0), 0);
    CHECK_EQ(krun_set_log_level(KRUN_LOG_LEVEL_ERROR), 0);
}

int log_level_from_rust_log(const char *spec); /* src/util/log.h */

/* Whether a failing krun_start_wait writes to the log, with RUST_LOG=rust_log. */
static int logged_with(const char *rust_log, uint32_t level, uint32_t options)
{
    setenv("RUST_LOG", rust_log, 1);
    int p[2];
    CHECK_EQ(pipe(p), 0);
    CHECK_EQ(krun_init_log(p[1], level, KRUN_LOG_STYLE_NEVER, options), 0);
    uint32_t c = new_ctx();
    CHECK_EQ(krun_set_kernel(c, "/nonexistent/kernel", KRUN_KERNEL_FORMAT_ELF, NULL, NULL), 0);
    CHECK(krun_start_wait(c) < 0);
    CHECK_EQ(krun_init_log(2, KRUN_LOG_LEVEL_OFF, KRUN_LOG_STYLE_NEVER, KRUN_LOG_OPTION_NO_ENV), 0);
    close(p[1]);
    char buf[256];
    ssize_t n = read(p[0], buf, sizeof(buf));
    close(p[0]);
    return n > 0;
}

/* env_logger's RUST_LOG: "LEVEL", "MODULE", "MODULE=LEVEL", comma separated, "/REGEX" last. */
static void test_rust_log(void)
{
    CHECK_EQ(log_level_from_rust_log("debug"), KRUN_LOG_LEVEL_DEBUG);
    CHECK_EQ(log_level_from_rust_log("WARN"), KRUN_LOG_LEVEL_WARN);
    CHECK_EQ(log_level_from_rust_log("off"), KRUN_LOG_LEVEL_OFF);
    CHECK_EQ(log_level_from_rust_log("info,devices=trace"), KRUN_LOG_LEVEL_TRACE);
    CHECK_EQ(log_level_from_rust_log("vmm"), KRUN_LOG_LEVEL_TRACE); /* a module alone: all of it */
    CHECK_EQ(log_level_from_rust_log("error/virtio"), KRUN_LOG_LEVEL_ERROR);
    CHECK_EQ(log_level_from_rust_log("vmm=bogus,warn"), KRUN_LOG_LEVEL_WARN);
    CHECK_EQ(log_level_from_rust_log("vmm=bogus"), -1);
    CHECK_EQ(log_level_from_rust_log(",,"), -1);

    /* It reaches the library: a VM that cannot start logs an error. */
    CHECK_EQ(logged_with("error", KRUN_LOG_LEVEL_OFF, 0), 1);
    CHECK_EQ(logged_with("off", KRUN_LOG_LEVEL_TRACE, 0), 0);
    CHECK_EQ(logged_with("vmm=error", KRUN_LOG_LEVEL_OFF, 0), 1);
    /* The option that ignores the environment ignores RUST_LOG too. */
    CHECK_EQ(logged_with("error", KRUN_LOG_LEVEL_OFF, KRUN_LOG_OPTION_NO_ENV), 0);
    unsetenv("RUST_LOG");
    CHECK_EQ(krun_set_log_level(KRUN_LOG_LEVEL_ERROR), 0);
}

/*
 * lib.rs krun_add_console_port_tty / _inout: a NULL name is an empty one;
 * a negative tty fd is -EINVAL, any other fd that is not a terminal -ENOTTY.
 */
static void test_console_port_names(void)
{
    uint32_t c = new_ctx();
    int fds[2];
    CHECK_EQ(pipe(fds), 0);
    int32_t mp = krun_add_virtio_console_multiport(c);
    CHECK(mp >= 0);
    CHECK_EQ(krun_add_console_port_inout(c, (uint32_t)mp, NULL, fds[0], fds[1]), 0);
    CHECK_EQ(krun_add_console_port_tty(c, (uint32_t)mp, NULL, -1), -EINVAL);
    CHECK_EQ(krun_add_console_port_tty(c, (uint32_t)mp, NULL, fds[0]), -ENOTTY);
    CHECK_EQ(krun_free_ctx(c), 0);
    close(fds[0]);
    close(fds[1]);
}

/* lib.rs krun_get_max_vcpus: -EINVAL when /dev/kvm cannot be opened. */
static void test_max_vcpus(void)
{
    int n = krun_get_max_vcpus();
    if (access("/dev/kvm", R_OK | W_OK) == 0)
        CHECK(n > 0);
    else
        CHECK_EQ(n, -EINVAL);
}

/*
 * lib.rs krun_start_enter: before anything else the thread is named
 * "VM:$HOSTNAME", or "libkrun VM" without HOSTNAME (PR_SET_NAME: 15 bytes).
 * An unknown context then returns -ENOENT. Done in a child: the name stays.
 */
static int start_enter_name(const char *host, const char *want)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (host)
            setenv("HOSTNAME", host, 1);
        else
            unsetenv("HOSTNAME");
        char name[17] = "";
        int ret = krun_start_enter(987654);
        prctl(PR_GET_NAME, name, 0, 0, 0);
        _exit(ret == -ENOENT && strcmp(name, want) == 0 ? 0 : 1);
    }
    int st = -1;
    waitpid(pid, &st, 0);
    return st;
}

static void test_process_name(void)
{
    CHECK_EQ(start_enter_name("box", "VM:box"), 0);
    CHECK_EQ(start_enter_name("a-very-long-hostname", "VM:a-very-long-"), 0);
    CHECK_EQ(start_enter_name(NULL, "libkrun VM"), 0);
}

int main(void)
{
    RUN(test_virtiofs_null_path);
    RUN(test_duplicate_tags);
    RUN(test_duplicate_block_ids);
    RUN(test_overlay_paths);
    RUN(test_root_disk_remount);
    RUN(test_rlimits);
    RUN(test_log_levels);
    RUN(test_rust_log);
    RUN(test_console_port_names);
    RUN(test_max_vcpus);
    RUN(test_process_name);
    return test_failures ? 1 : 0;
}
