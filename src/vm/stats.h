/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Figures for benchmarks, logged at info level (KRUN_LOG_LEVEL=3):
 * the host time from krun_start_enter to the first KVM_RUN, and at the end
 * the VMM's memory beyond guest RAM and the exit counters.
 */
#ifndef KRUN_VM_STATS_H
#define KRUN_VM_STATS_H

#include <time.h>

struct vm;

struct vm_times {
    struct timespec wall;
    struct timespec cpu; /* process CPU time */
};

void vm_times_now(struct vm_times *t);

/* Called by the boot vCPU just before its first KVM_RUN. */
void vm_log_setup_time(struct vm *vm);

/* Called when the guest has stopped. */
void vm_log_final_stats(struct vm *vm);

#endif
