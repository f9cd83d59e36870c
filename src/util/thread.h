/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM's threads. Each one is named (ps, top, the kernel's seccomp log),
 * takes no signals (those belong to the host program, and the vCPUs' kick
 * is taken synchronously), and runs under the seccomp filter of its kind
 * (util/sandbox.h) from its first instruction of our code on.
 */
#ifndef KRUN_UTIL_THREAD_H
#define KRUN_UTIL_THREAD_H

#include <pthread.h>

#include "util/sandbox.h"

/*
 * Start fn(arg) on a new thread called name (at most 15 characters shown)
 * under the filter of kind. Returns 0 once the thread runs sandboxed, or
 * -errno (the thread did not start, or could not enter its sandbox and
 * ended without calling fn).
 */
int thread_start(pthread_t *t, const char *name, enum sandbox_kind kind, void *(*fn)(void *),
                 void *arg);

/*
 * Who creates a device's threads. A thread inherits its creator's seccomp
 * filter, and devices start their threads from the vCPU thread that wrote
 * DRIVER_OK, whose filter is the narrowest: so, in a running VM, they are
 * created by the machine's event loop thread instead (vmm/spawner.h).
 * NULL start: thread_start directly (unit tests, or before the VM runs).
 */
struct thread_spawner {
    int (*start)(void *opaque, pthread_t *t, const char *name, enum sandbox_kind kind,
                 void *(*fn)(void *), void *arg);
    void *opaque;
};

/* Start a thread through spawner (or directly if it is NULL or has no start). */
int thread_spawn(const struct thread_spawner *spawner, pthread_t *t, const char *name,
                 enum sandbox_kind kind, void *(*fn)(void *), void *arg);

#endif
