/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/util/sandbox.c src/util/thread.c src/util/log.c */
/* The seccomp sandbox: what each kind allows, what kills, and the switch that turns it off. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/log.h"
#include "util/sandbox.h"
#include "util/thread.h"

enum probe {
    PROBE_WRITE,          /* allowed everywhere */
    PROBE_SOCKET,         /* an AF_INET socket: the vsock thread's (TSI) */
    PROBE_NETLINK,        /* never */
    PROBE_OPENAT,         /* EACCES but in the fs threads (glibc's malloc may try) */
    PROBE_EXECVE,         /* never */
    PROBE_KVM_RUN,        /* a vCPU's ioctl: EBADF on a bad fd, not a kill */
    PROBE_TIOCGWINSZ,     /* not a vCPU's ioctl */
    PROBE_UNSHARE_FS,     /* the fs threads' umask */
    PROBE_UNSHARE_USER,   /* never */
    PROBE_IO_URING_SETUP, /* virtio-blk's, not a vCPU's */
    PROBE_MADV_DONTNEED,  /* the balloon's release of guest pages (allowed everywhere) */
};

struct job {
    enum probe probe;
    long result;
};

static void *run_probe(void *arg)
{
    struct job *j = arg;
    switch (j->probe) {
    case PROBE_WRITE:
        j->result = write(-1, "", 0) < 0 ? -errno : 0;
        break;
    case PROBE_SOCKET:
        j->result = socket(AF_INET, SOCK_STREAM, 0);
        break;
    case PROBE_OPENAT: {
        int fd = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
        j->result = fd < 0 ? -errno : 0;
        if (fd >= 0)
            close(fd);
        break;
    }
    case PROBE_NETLINK:
        j->result = socket(AF_NETLINK, SOCK_RAW, 0);
        break;
    case PROBE_EXECVE: {
        char *const argv[] = {"/bin/true", NULL};
        j->result = execve("/bin/true", argv, argv + 1);
        break;
    }
    case PROBE_KVM_RUN:
        j->result = ioctl(-1, KVM_RUN, 0) < 0 ? -errno : 0;
        break;
    case PROBE_TIOCGWINSZ: {
        struct winsize ws;
        j->result = ioctl(-1, TIOCGWINSZ, &ws) < 0 ? -errno : 0;
        break;
    }
    case PROBE_UNSHARE_FS:
        j->result = unshare(CLONE_FS) < 0 ? -errno : 0;
        break;
    case PROBE_UNSHARE_USER:
        j->result = unshare(CLONE_NEWUSER) < 0 ? -errno : 0;
        break;
    case PROBE_IO_URING_SETUP:
        j->result = syscall(425 /* io_uring_setup */, 0, NULL) < 0 ? -errno : 0;
        break;
    case PROBE_MADV_DONTNEED: {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        j->result = p == MAP_FAILED ? -errno : madvise(p, 4096, MADV_DONTNEED) < 0 ? -errno : 0;
        if (p != MAP_FAILED)
            munmap(p, 4096);
        break;
    }
    }
    return NULL;
}

/*
 * In a child process: a thread of kind runs the probe. Returns "ok" (0) if
 * the probe ran to its end, "denied" (3) if it ran and got EACCES, "killed"
 * (SIGSYS) if the sandbox killed the process, or something else.
 */
#define RAN    0
#define KILLED SIGSYS
#define DENIED 3 /* the probe ran and got EACCES */
static int probe_in(enum sandbox_kind kind, enum probe probe, const char *seccomp_env)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (seccomp_env)
            setenv("KRUN_SECCOMP", seccomp_env, 1);
        else
            unsetenv("KRUN_SECCOMP");
        struct job j = {.probe = probe};
        pthread_t t;
        if (thread_start(&t, "probe", kind, run_probe, &j) != 0)
            _exit(100);
        pthread_join(t, NULL);
        _exit(j.result == -EACCES ? DENIED : RAN);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st))
        return WTERMSIG(st);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_allowed_and_killed(void)
{
    CHECK_EQ(probe_in(SANDBOX_OUTPUT, PROBE_WRITE, NULL), RAN);
    CHECK_EQ(probe_in(SANDBOX_OUTPUT, PROBE_SOCKET, NULL), KILLED);
    CHECK_EQ(probe_in(SANDBOX_LOOP, PROBE_EXECVE, NULL), KILLED);
    CHECK_EQ(probe_in(SANDBOX_FS, PROBE_EXECVE, NULL), KILLED);
    CHECK_EQ(probe_in(SANDBOX_VCPU, PROBE_KVM_RUN, NULL), RAN);
    CHECK_EQ(probe_in(SANDBOX_VCPU, PROBE_TIOCGWINSZ, NULL), KILLED);
    CHECK_EQ(probe_in(SANDBOX_VCPU, PROBE_IO_URING_SETUP, NULL), KILLED);
    CHECK_EQ(probe_in(SANDBOX_BLK, PROBE_IO_URING_SETUP, NULL), RAN);
    CHECK_EQ(probe_in(SANDBOX_FS, PROBE_UNSHARE_FS, NULL), RAN);
    CHECK_EQ(probe_in(SANDBOX_FS, PROBE_UNSHARE_USER, NULL), KILLED);
    CHECK_EQ(probe_in(SANDBOX_LOOP, PROBE_IO_URING_SETUP, NULL), RAN); /* it starts blk threads */
    CHECK_EQ(probe_in(SANDBOX_VSOCK, PROBE_SOCKET, NULL), RAN);
    CHECK_EQ(probe_in(SANDBOX_VSOCK, PROBE_NETLINK, NULL), KILLED);
    CHECK_EQ(probe_in(SANDBOX_VSOCK, PROBE_EXECVE, NULL), KILLED);
    CHECK_EQ(probe_in(SANDBOX_BLK, PROBE_SOCKET, NULL), KILLED);
    CHECK_EQ(probe_in(SANDBOX_VSOCK, PROBE_OPENAT, NULL), DENIED);
    CHECK_EQ(probe_in(SANDBOX_VCPU, PROBE_OPENAT, NULL), DENIED);
    CHECK_EQ(probe_in(SANDBOX_FS, PROBE_OPENAT, NULL), RAN);
    CHECK_EQ(probe_in(SANDBOX_NONE, PROBE_OPENAT, NULL), RAN);
    CHECK_EQ(probe_in(SANDBOX_RNG, PROBE_WRITE, NULL), RAN);
    CHECK_EQ(probe_in(SANDBOX_RNG, PROBE_SOCKET, NULL), KILLED);
    CHECK_EQ(probe_in(SANDBOX_BALLOON, PROBE_MADV_DONTNEED, NULL), RAN);
    CHECK_EQ(probe_in(SANDBOX_BALLOON, PROBE_SOCKET, NULL), KILLED);
    CHECK_EQ(probe_in(SANDBOX_BALLOON, PROBE_OPENAT, NULL), DENIED);
}

static void test_switch(void)
{
    /* Off, or log only: nothing is killed. */
    CHECK_EQ(probe_in(SANDBOX_OUTPUT, PROBE_SOCKET, "0"), RAN);
    CHECK_EQ(probe_in(SANDBOX_VCPU, PROBE_TIOCGWINSZ, "log"), RAN);
    CHECK_EQ(probe_in(SANDBOX_OUTPUT, PROBE_SOCKET, "1"), KILLED);
    /* No kind, no filter. */
    CHECK_EQ(probe_in(SANDBOX_NONE, PROBE_EXECVE, NULL), RAN);
}

/* A thread started from a sandboxed loop thread narrows the loop's filter to its own. */
static void *start_from_loop(void *arg)
{
    struct job *j = arg;
    pthread_t t;
    j->result = thread_start(&t, "probe", SANDBOX_OUTPUT, run_probe, &(struct job){PROBE_WRITE, 0});
    if (j->result == 0)
        pthread_join(t, NULL);
    return NULL;
}

static void test_nested(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        unsetenv("KRUN_SECCOMP");
        struct job j = {0};
        pthread_t t;
        if (thread_start(&t, "loop", SANDBOX_LOOP, start_from_loop, &j) != 0)
            _exit(100);
        pthread_join(t, NULL);
        _exit(j.result == 0 ? RAN : 101);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == RAN);
}

/* The creator keeps its own freedom: the filter is the new thread's only. */
static void test_creator_unfiltered(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        unsetenv("KRUN_SECCOMP");
        struct job j = {.probe = PROBE_WRITE};
        pthread_t t;
        if (thread_start(&t, "probe", SANDBOX_OUTPUT, run_probe, &j) != 0)
            _exit(100);
        pthread_join(t, NULL);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        _exit(s >= 0 ? RAN : 101);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == RAN);
}

int main(void)
{
    log_configure(2, LOG_OFF, 0, false);
    RUN(test_allowed_and_killed);
    RUN(test_switch);
    RUN(test_nested);
    RUN(test_creator_unfiltered);
    return TEST_EXIT();
}
