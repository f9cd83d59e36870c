/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct machine: the KVM virtual machine itself, with nothing of what
 * runs in it. It owns the KVM fds, guest RAM and its memory slots, the
 * port I/O and MMIO buses, the interrupt controller, the event loop and
 * the teardown list. Devices attach to it; the builder (src/vm/) decides
 * which. Nothing here knows about configs, workloads or exit statuses.
 *
 * Life: machine_init() → machine_open() → machine_create_irqchip() →
 * machine_create_memory() → parts attach (each pushes its teardown) →
 * vCPUs run → machine_destroy() undoes the parts newest first, then frees
 * the machine's own resources.
 */
#ifndef KRUN_VMM_MACHINE_H
#define KRUN_VMM_MACHINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "loader/bundle.h"
#include "util/guest_mem.h"
#include "vmm/bus.h"
#include "vmm/teardown.h"

struct event_loop;
struct ioapic;
struct spawner;

/* Why the machine stopped; the first reason reported wins. */
enum machine_stop {
    MACHINE_RUNNING = 0,
    MACHINE_STOP_RESET,        /* the guest reset the machine (reboot, or init's exit) */
    MACHINE_STOP_PANIC,        /* the guest kernel reported a panic */
    MACHINE_STOP_TRIPLE_FAULT, /* KVM_EXIT_SHUTDOWN */
    MACHINE_STOP_ERROR,        /* KVM or the VMM failed */
};

/* A contiguous piece of guest RAM in the host. */
struct ram_block {
    void *host;
    uint64_t size;
};

struct machine {
    int kvm_fd;
    int vm_fd;
    unsigned next_slot;

    struct guest_mem mem;
    struct ram_block low;  /* from GPA 0 up to the MMIO gap */
    struct ram_block high; /* from 4 GiB, if any */
    bool bundle_mapped;    /* the kernel bundle is a file mapping inside low */

    struct bus pio;
    struct bus mmio;
    struct ioapic *ioapic; /* split irqchip only: our IOAPIC, else KVM's */
    struct event_loop *loop;
    struct spawner *spawner; /* device threads are started by the loop thread */
    struct teardown_list teardown;

    int stop_efd;           /* readable once the machine must stop */
    atomic_int stop_reason; /* enum machine_stop */

    /* Exits to the VMM (a debug statistic), counted by the vCPU threads. */
    atomic_ulong exits_io, exits_mmio, exits_other;
};

/* An empty machine: no fds, empty buses. Returns 0 or -errno. */
int machine_init(struct machine *m);

/*
 * Open /dev/kvm, check the capabilities we need and create the VM. The
 * log says what is missing. Returns 0 or -errno.
 */
int machine_open(struct machine *m);

/*
 * Guest RAM of `total` bytes (lazily backed), split around the MMIO gap,
 * with the kernel bundle (if any) mapped at its load address from its
 * file without a copy. Returns 0 or -errno.
 */
int machine_create_memory(struct machine *m, uint64_t total, const struct kernel_bundle *bundle);

/* Record why the machine stops (first reason wins) and make stop_efd readable. */
void machine_request_stop(struct machine *m, enum machine_stop why);

/* Run the teardown list, then free what machine_init/open/create made. */
void machine_destroy(struct machine *m);

#endif
