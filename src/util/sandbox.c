/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The allowlists. docs/security.md explains each entry; keep the two in
 * step. Arguments are checked where that is cheap and meaningful: the
 * vCPUs' ioctls are the KVM requests they make, unshare is CLONE_FS only.
 */
#include "util/sandbox.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>

/* Every sandboxed thread: memory, threads and locks, time, logging, exit. */
static const int base[] = {
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(readv),
    SCMP_SYS(writev),
    SCMP_SYS(close),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(mmap),
    SCMP_SYS(munmap),
    SCMP_SYS(mprotect),
    SCMP_SYS(madvise),
    SCMP_SYS(mremap),
    SCMP_SYS(brk),
    SCMP_SYS(futex),
    SCMP_SYS(set_robust_list),
    SCMP_SYS(rseq),
    SCMP_SYS(sched_yield),
    SCMP_SYS(gettid),
    SCMP_SYS(getpid),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(getrandom),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(sigaltstack),
};

/* vCPUs also reach device resets and activations (joins, closes, eventfds). */
static const int vcpu[] = {
    SCMP_SYS(rt_sigtimedwait), /* the kick that makes KVM_RUN return */
    SCMP_SYS(eventfd2),
};

/* The KVM requests of a vCPU thread (ioctl's second argument). */
static const unsigned long vcpu_ioctls[] = {
    KVM_RUN,      /* the vCPU itself */
    KVM_GET_REGS, /* a triple fault is logged with the registers */
    KVM_GET_SREGS,
    KVM_IRQ_LINE,   /* legacy interrupt lines (COM ports) */
    KVM_SIGNAL_MSI, /* the split irqchip's IOAPIC */
    KVM_SET_GSI_ROUTING,
};

static const int output[] = {
    SCMP_SYS(sendto), /* send(MSG_DONTWAIT) to a socket */
    /*
     * These threads exist when krun_setuid/krun_setgid take effect, and
     * glibc makes every thread of the process change its credentials.
     */
    SCMP_SYS(setgroups),
    SCMP_SYS(setgid),
    SCMP_SYS(setuid),
};

static const int console[] = {
    SCMP_SYS(ioctl), /* TIOCGWINSZ (window size); the fds are the caller's terminals */
};

static const int blk[] = {
    SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
    SCMP_SYS(pread64),        SCMP_SYS(pwrite64),       SCMP_SYS(preadv),
    SCMP_SYS(pwritev),        SCMP_SYS(preadv2),        SCMP_SYS(pwritev2),
    SCMP_SYS(fallocate),      SCMP_SYS(fdatasync),      SCMP_SYS(fsync),
};

static const int fs[] = {
    SCMP_SYS(openat),     SCMP_SYS(openat2),   SCMP_SYS(pread64),         SCMP_SYS(pwrite64),
    SCMP_SYS(preadv),     SCMP_SYS(pwritev),   SCMP_SYS(preadv2),         SCMP_SYS(pwritev2),
    SCMP_SYS(lseek),      SCMP_SYS(fstat),     SCMP_SYS(newfstatat),      SCMP_SYS(statx),
    SCMP_SYS(fstatfs),    SCMP_SYS(statfs),    SCMP_SYS(getdents64),      SCMP_SYS(readlinkat),
    SCMP_SYS(renameat),   SCMP_SYS(renameat2), SCMP_SYS(linkat),          SCMP_SYS(unlinkat),
    SCMP_SYS(mkdirat),    SCMP_SYS(mknodat),   SCMP_SYS(symlinkat),       SCMP_SYS(fchmod),
    SCMP_SYS(fchmodat),   SCMP_SYS(fchown),    SCMP_SYS(fchownat),        SCMP_SYS(utimensat),
    SCMP_SYS(fsetxattr),  SCMP_SYS(fgetxattr), SCMP_SYS(flistxattr),      SCMP_SYS(fremovexattr),
    SCMP_SYS(setxattr),   SCMP_SYS(getxattr),  SCMP_SYS(listxattr),       SCMP_SYS(removexattr),
    SCMP_SYS(lsetxattr),  SCMP_SYS(lgetxattr), SCMP_SYS(llistxattr),      SCMP_SYS(lremovexattr),
    SCMP_SYS(fcntl),      SCMP_SYS(flock),     SCMP_SYS(fsync),           SCMP_SYS(fdatasync),
    SCMP_SYS(fallocate),  SCMP_SYS(ftruncate), SCMP_SYS(copy_file_range), SCMP_SYS(faccessat),
    SCMP_SYS(faccessat2), SCMP_SYS(setfsuid),  SCMP_SYS(setfsgid),        SCMP_SYS(capget),
    SCMP_SYS(umask),      SCMP_SYS(ioctl),     SCMP_SYS(eventfd2),
};

/*
 * Host sockets for vsock ports and TSI (socket itself: see allow_socket).
 * A unix-socket listener the device bound removes its file when it closes
 * (lstat, unlink: only if it is still the socket it made).
 */
static const int vsock[] = {
    SCMP_SYS(connect),    SCMP_SYS(accept4),    SCMP_SYS(bind),        SCMP_SYS(listen),
    SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
    SCMP_SYS(sendmsg),    SCMP_SYS(recvmsg),    SCMP_SYS(sendto),      SCMP_SYS(recvfrom),
    SCMP_SYS(shutdown),   SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
    SCMP_SYS(fcntl),      SCMP_SYS(newfstatat), SCMP_SYS(lstat),       SCMP_SYS(unlink),
};

/* A virtio-net worker moves frames on its one fd (the tap's offloads: see allow_tun_offload). */
static const int net[] = {
    SCMP_SYS(sendto),
    SCMP_SYS(recvfrom),
};

/* The loop starts every device thread, which inherits its filter: it allows them all. */
static const int loop[] = {
    SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait),
    SCMP_SYS(epoll_ctl),
    SCMP_SYS(clone),
    SCMP_SYS(clone3),
    SCMP_SYS(prctl),
    SCMP_SYS(rt_sigtimedwait),
    SCMP_SYS(ioctl),
    SCMP_SYS(unshare),
    SCMP_SYS(sendto),
    SCMP_SYS(sched_getaffinity),
    SCMP_SYS(seccomp), /* each new thread installs its own, narrower filter */
};

int sandbox_enabled(void)
{
    const char *v = secure_getenv("KRUN_SECCOMP");
    return !v || strcmp(v, "0") != 0;
}

static int allow(scmp_filter_ctx ctx, const int *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, list[i], 0);
        if (ret < 0)
            return ret;
    }
    return 0;
}

#define ALLOW(ctx, list) allow(ctx, list, sizeof(list) / sizeof(list[0]))

static int allow_vcpu_ioctls(scmp_filter_ctx ctx)
{
    for (size_t i = 0; i < sizeof(vcpu_ioctls) / sizeof(vcpu_ioctls[0]); i++) {
        int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                                   SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, vcpu_ioctls[i]));
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* The FS threads' per-thread umask (fs_creds.c): unshare(CLONE_FS) and nothing else. */
static int allow_unshare_fs(scmp_filter_ctx ctx)
{
    /* datum_b given (unused by EQ): clang's -Wmissing-field-initializers sees the struct. */
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(unshare), 1,
                            SCMP_A0(SCMP_CMP_EQ, CLONE_FS, 0));
}

/* socket() for the families TSI proxies and vsock ports use, nothing else (no raw, no netlink). */
static int allow_socket(scmp_filter_ctx ctx)
{
    static const int families[] = {AF_UNIX, AF_INET, AF_INET6};
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                                   SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i], 0));
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* ioctl(TUNSETOFFLOAD) and no other request. */
static int allow_tun_offload(scmp_filter_ctx ctx)
{
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                            SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TUNSETOFFLOAD));
}

/*
 * Threads that open no files get EACCES from openat rather than being
 * killed: glibc opens /sys/devices/system/cpu/online behind malloc when
 * the process makes its ninth arena (get_nprocs), in whichever thread
 * that happens, and copes when it cannot.
 */
static int refuse_openat(scmp_filter_ctx ctx)
{
    return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
}

static int add_kind(scmp_filter_ctx ctx, enum sandbox_kind kind)
{
    int ret = ALLOW(ctx, base);
    if (ret)
        return ret;
    switch (kind) {
    case SANDBOX_VCPU:
        ret = ALLOW(ctx, vcpu);
        return ret ? ret : allow_vcpu_ioctls(ctx);
    case SANDBOX_OUTPUT:
        return ALLOW(ctx, output);
    case SANDBOX_CONSOLE:
        return ALLOW(ctx, console);
    case SANDBOX_BLK:
        return ALLOW(ctx, blk);
    case SANDBOX_FS:
        ret = ALLOW(ctx, fs);
        return ret ? ret : allow_unshare_fs(ctx);
    case SANDBOX_RNG:
    case SANDBOX_BALLOON:
        return 0;
    case SANDBOX_NET:
        ret = ALLOW(ctx, net);
        return ret ? ret : allow_tun_offload(ctx);
    case SANDBOX_VSOCK:
        ret = ALLOW(ctx, vsock);
        return ret ? ret : allow_socket(ctx);
    case SANDBOX_LOOP:
        /* Everything a thread it starts may need, and its own. */
        ret = ALLOW(ctx, loop);
        for (enum sandbox_kind k = SANDBOX_VCPU; !ret && k < SANDBOX_KINDS; k++)
            if (k != SANDBOX_LOOP)
                ret = add_kind(ctx, k);
        return ret;
    case SANDBOX_NONE:
    case SANDBOX_KINDS:
        break;
    }
    return -EINVAL;
}

int sandbox_enter(enum sandbox_kind kind)
{
    if (kind == SANDBOX_NONE || !sandbox_enabled())
        return 0;
    const char *mode = secure_getenv("KRUN_SECCOMP");
    bool log_only = mode && strcmp(mode, "log") == 0;
    scmp_filter_ctx ctx = seccomp_init(log_only ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
    if (!ctx)
        return -ENOMEM;
    /* Rules may repeat across lists (the loop's union): libseccomp merges them. */
    int ret = add_kind(ctx, kind);
    if (!ret && kind != SANDBOX_FS && kind != SANDBOX_LOOP)
        ret = refuse_openat(ctx);
    if (!ret)
        ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
    if (!ret)
        ret = seccomp_load(ctx);
    seccomp_release(ctx);
    return ret < 0 ? ret : 0;
}
