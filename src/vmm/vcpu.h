/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vCPU threads. Each runs KVM_RUN and hands port I/O and MMIO exits to the
 * machine's buses; a reset, panic or triple fault becomes a stop request on
 * the machine. That is all a vCPU knows of the rest of the VMM.
 */
#ifndef KRUN_VMM_VCPU_H
#define KRUN_VMM_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct machine;
struct x86_boot;
struct kvm_run;

struct vcpu {
    struct vcpus *set;
    unsigned index;
    int fd;
    struct kvm_run *run;
    size_t run_size;
    pthread_t thread;
    bool started;
};

struct vcpus {
    struct machine *m;
    struct vcpu *v;
    unsigned n;
    int kick_signal;
    atomic_bool stopping;
    /* Called by vCPU 0 just before its first KVM_RUN (a statistic), or NULL. */
    void (*on_first_run)(void *opaque);
    void *opaque;
};

/*
 * Create n vCPUs set up for boot (CPUID, registers for the boot vCPU) and
 * push their teardown (stop, join, close) on the machine's list. Returns 0
 * with *out set, or -errno.
 */
int vcpus_create(struct machine *m, unsigned n, bool nested_virt, const struct x86_boot *boot,
                 struct vcpus **out);

/* Start the threads. Returns 0 or -errno (threads already started keep running). */
int vcpus_start(struct vcpus *vs);

/* Make every thread leave KVM_RUN and join it. Idempotent. */
void vcpus_stop(struct vcpus *vs);

#endif
