/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the VM boots: the kernel bundle, or krun_set_kernel's kernel (ELF,
 * bzImage, a gzip/bzip2/zstd-compressed ELF, or a RAW image booted like the
 * bundle) with an optional initramfs, and where it all goes in guest
 * memory.
 */
#ifndef KRUN_VM_PAYLOAD_H
#define KRUN_VM_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/config.h"
#include "arch/x86_64/boot.h"
#include "loader/bundle.h"
#include "loader/kernel.h"

struct machine;
struct vm;

/* A whole file mapped into memory (kernel, initramfs), with its name for errors. */
struct file_data {
    const char *path;
    uint8_t *data;
    size_t len;
    bool mapped; /* data is a file mapping, else private memory */
};

/* The kernel to boot and where it ends in guest memory. */
struct payload {
    const struct kernel_bundle *bundle; /* the bundle, or raw */
    struct kernel_bundle raw;           /* a RAW kernel, in kernel below */
    struct file_data kernel;
    struct file_data initrd;
    bool bzimage;
    uint64_t footprint_end;
    struct kernel_image image;
};

/*
 * Pick the kernel: the bundle unless cfg names a kernel file, which is
 * read and checked (with its initramfs) here, before KVM is touched.
 * Returns 0, -ENOENT (no bundle and no kernel), or -EINVAL (logged).
 */
int payload_choose(const struct vm_config *cfg, const struct kernel_bundle *bundle,
                   struct payload *p);

/* Load the kernel into guest memory and fill in its entry. Returns 0 or -EINVAL (logged). */
int payload_load(struct payload *p, struct machine *m, struct x86_boot *boot);

/*
 * Place the initramfs after the kernel; it carries the workload file when
 * no device serves it. Returns 0 or -errno (logged).
 */
int payload_place_initrd(struct payload *p, struct vm *vm, struct x86_boot *boot);

/* Unmap the files. */
void payload_free(struct payload *p);

#endif
