/*
 * struct vm: one running microVM. Built from a struct vm_config by
 * vm_build(), run by vm_run() on the caller's thread (the event loop) while
 * one thread per vCPU runs KVM_RUN, and torn down by vm_destroy(), which
 * frees every fd, mapping and thread whether or not the build completed.
 */
#ifndef KRUN_VMM_VM_INTERNAL_H
#define KRUN_VMM_VM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/config.h"
#include "util/guest_mem.h"
#include "util/strbuf.h"
#include "vmm/stats.h"
#include "vmm/terminal.h"
#include "vmm/vm.h"

struct virtio_device;
struct event_loop;
struct console;
struct serial;
struct ioapic;

#define VM_MAX_VIRTIO_DEVICES 11 /* IRQs 5..15 */
#define VM_MAX_PIO_HANDLERS   16

/* Why the VM stopped. */
enum vm_stop {
    VM_RUNNING = 0,
    VM_STOP_RESET,        /* the guest reset the machine (reboot, or init's exit) */
    VM_STOP_PANIC,        /* the guest kernel reported a panic */
    VM_STOP_TRIPLE_FAULT, /* KVM_EXIT_SHUTDOWN */
    VM_STOP_ERROR,        /* KVM or the VMM failed */
};

/* "No status reported yet": the exit status ioctl never stores this. */
#define VM_NO_STATUS INT32_MIN

struct vcpu {
    struct vm *vm;
    unsigned index;
    int fd;
    struct kvm_run *run;
    size_t run_size;
    pthread_t thread;
    bool started;
};

struct pio_handler {
    uint16_t base, len;
    void (*read)(void *opaque, uint16_t port, uint8_t *data, unsigned len);
    void (*write)(void *opaque, uint16_t port, const uint8_t *data, unsigned len);
    void *opaque;
};

struct serial_port {
    struct vm *vm;
    struct serial *uart;
    int in_fd;
    unsigned irq;
    bool watching;
};

struct vm {
    const struct vm_config *cfg;
    int kvm_fd;
    int vm_fd;
    unsigned next_slot;

    struct guest_mem mem;
    void *low_host; /* guest RAM below the MMIO gap, from GPA 0 */
    uint64_t low_size;
    void *high_host; /* guest RAM from 4 GiB, if any */
    uint64_t high_size;
    bool bundle_mapped; /* the bundle is a file mapping inside low_host */

    struct event_loop *loop;
    struct vcpu *vcpus;
    unsigned n_vcpus;

    struct virtio_device *devices[VM_MAX_VIRTIO_DEVICES];
    unsigned n_devices;
    struct pio_handler pio[VM_MAX_PIO_HANDLERS];
    unsigned n_pio;
    struct console *console; /* the implicit console, if any */
    struct serial_port serials[4];
    unsigned n_serials;
    struct ioapic *ioapic; /* split irqchip only */
    int signal_wfd;        /* write end of the krun-signal console port, or -1 */
    /* What the root virtio-fs device serves beyond the host directory:
     * copies of the shares with the init and the workload file added. */
    struct fs_share *rt_shares;
    size_t n_rt_shares;
    struct strbuf workload;
    char exit_line[16]; /* partial line from the krun-exit console port */
    size_t exit_len;
    struct terminals terms;

    int exit_efd;           /* vCPUs signal the event loop that the VM stopped */
    atomic_int stop_reason; /* enum vm_stop, first one wins */
    atomic_int exit_status; /* reported by the guest init, VM_NO_STATUS if none */
    atomic_bool stopping;   /* vCPU threads must leave KVM_RUN */
    int kick_signal;
    int shutdown_efd; /* krun_get_shutdown_eventfd, or -1 */

    struct vm_times start; /* when krun_start_enter was called (for stats) */

    /* Exit counters (debug statistic), updated by vCPU threads. */
    atomic_ulong exits_io, exits_mmio, exits_other;
};

/* Build a VM from cfg; on failure everything is freed and -errno returned. */
int vm_build(const struct vm_config *cfg, struct vm **out);

/* Run until the guest stops; returns the process exit status to use. */
int vm_run(struct vm *vm);

/* Tear down (safe on a partially built VM). */
void vm_destroy(struct vm *vm);

/* Record why the VM stops (first reason wins) and wake the event loop. */
void vm_request_stop(struct vm *vm, enum vm_stop reason);

/* Set the level of a legacy (ISA) interrupt line. */
void vm_set_irq_line(struct vm *vm, unsigned irq, bool level);

/* Register a port I/O range. Returns 0 or -ENOSPC. */
int vm_add_pio(struct vm *vm, const struct pio_handler *h);

/* Dispatch exits (called from vCPU threads). */
void vm_handle_pio(struct vm *vm, uint16_t port, bool write, uint8_t *data, unsigned len);
void vm_handle_mmio(struct vm *vm, uint64_t addr, bool write, uint8_t *data, unsigned len);

#endif
