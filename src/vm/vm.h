/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct vm: one microVM from its config to its exit status. vm_build()
 * turns a struct vm_config into a machine with devices and vCPUs (build.c,
 * the device list in devices.h), vm_run() runs it on the caller's thread
 * (run.c), and vm_destroy() tears everything down through the machine's
 * teardown list, whether or not the build completed.
 *
 * This is the only layer that knows what runs in the VM: the workload,
 * the guest init's exit status, the signals forwarded to the guest. The
 * machine, buses, vCPUs and devices below it know nothing of it.
 */
#ifndef KRUN_VM_VM_H
#define KRUN_VM_VM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vm/config.h"
#include "loader/bundle.h"
#include "util/strbuf.h"
#include "util/strvec.h"
#include "vm/stats.h"
#include "vm/terminal.h"
#include "vmm/machine.h"

struct console;
struct vcpus;
struct virtio_device;

/* IRQs 5..15 for virtio devices, one MMIO window each. */
#define VM_MAX_VIRTIO_DEVICES 11

/* "No status reported yet": the exit status reports never store this. */
#define VM_NO_STATUS INT32_MIN

struct vm {
    const struct vm_config *cfg;
    const struct kernel_bundle *bundle; /* NULL: krun_set_kernel's kernel */
    struct machine m;
    struct vcpus *vcpus;

    /* Virtio devices in attach order (which is their slot order). */
    struct virtio_device *virtio[VM_MAX_VIRTIO_DEVICES];
    unsigned n_virtio;
    struct strvec cmdline_devices;     /* "virtio_mmio.device=..." per device, while building */
    struct virtio_device **open_disks; /* one per disk, opened first; NULL once attached */

    /* The workload file (/.krun_workload) and whether a device or the initramfs serves it. */
    struct strbuf workload;
    bool workload_in_file;

    atomic_int exit_status;  /* reported by the guest init, VM_NO_STATUS if none */
    struct console *console; /* the implicit console (resized on SIGWINCH), or NULL */
    int signal_wfd;          /* write end of the krun-signal console port, or -1 */
    struct terminals terms;
    struct vm_times start; /* when krun_start_enter was called (for stats) */
};

/*
 * Build a VM from cfg, booting bundle (or cfg's kernel_path when set). On
 * failure everything is freed and, like upstream, -ENOENT returned for a
 * missing kernel bundle and -EINVAL for anything else; the log says what
 * was at fault.
 */
int vm_build(const struct vm_config *cfg, const struct kernel_bundle *bundle, struct vm **out);

/* Run until the guest stops; returns the process exit status to use. */
int vm_run(struct vm *vm);

/* Open every disk image of cfg into open_disks (the first step of building). */
int vm_open_disks(struct vm *vm);

/* Free the disks not attached (yet). */
void vm_close_disks(struct vm *vm);

/* Tear down (safe on a partially built VM). */
void vm_destroy(struct vm *vm);

/* The guest init reported the workload's exit status (any thread). */
void vm_set_exit_status(struct vm *vm, int status);

/*
 * Put a virtio device in the next MMIO window and IRQ and announce it on
 * the kernel command line. The VM owns dev from this call on, also on
 * failure. Returns 0 or -errno.
 */
int vm_attach_virtio(struct vm *vm, struct virtio_device *dev);

#endif
