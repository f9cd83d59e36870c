/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seccomp sandboxes: a syscall allowlist per kind of VMM thread, installed
 * by each thread on itself when it starts (with PR_SET_NO_NEW_PRIVS) and
 * never lifted. A syscall outside the list kills the whole process
 * (SECCOMP_RET_KILL_PROCESS, the process ends by SIGSYS; the kernel's
 * audit log names the syscall and the thread). docs/security.md lists
 * every allowed syscall and why.
 *
 * KRUN_SECCOMP in the environment: "0" turns the sandbox off, "log" logs
 * what would be refused instead of killing (for debugging the lists).
 */
#ifndef KRUN_UTIL_SANDBOX_H
#define KRUN_UTIL_SANDBOX_H

enum sandbox_kind {
    SANDBOX_NONE,    /* no filter (the caller's own threads never get one) */
    SANDBOX_VCPU,    /* KVM_RUN and the register accesses that exit */
    SANDBOX_LOOP,    /* the event loop; it also creates the device threads */
    SANDBOX_OUTPUT,  /* writers of guest output to host fds (util/out_fifo) */
    SANDBOX_CONSOLE, /* the virtio-console worker */
    SANDBOX_BLK,     /* the virtio-blk worker */
    SANDBOX_FS,      /* virtio-fs queue threads and FUSE workers */
    SANDBOX_VSOCK,   /* the virtio-vsock thread: host sockets, TSI */
    SANDBOX_RNG,     /* the virtio-rng thread: the base list (getrandom) only */
    SANDBOX_NET,     /* virtio-net workers: their backend socket or tap, its offloads */
    SANDBOX_BALLOON, /* the virtio-balloon thread: the base list (madvise) only */
    SANDBOX_KINDS
};

/* Install the filter of kind on the calling thread. Returns 0 or -errno. */
int sandbox_enter(enum sandbox_kind kind);

/* Whether filters are installed (KRUN_SECCOMP is not "0"). */
int sandbox_enabled(void);

#endif
