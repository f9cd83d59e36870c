/* SPDX-License-Identifier: Apache-2.0 */
/* Setting up an x86_64 guest for its first instruction. */
#ifndef KRUN_ARCH_X86_64_BOOT_H
#define KRUN_ARCH_X86_64_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/guest_mem.h"

enum x86_entry {
    X86_ENTRY_LINUX64, /* 64-bit Linux boot protocol: long mode, RSI = zero page */
    X86_ENTRY_PVH,     /* PVH: 32-bit protected mode, EBX = hvm_start_info */
};

struct x86_boot {
    enum x86_entry kind;
    uint64_t entry;
    uint64_t low_end;     /* end of RAM below the MMIO gap */
    uint64_t high_end;    /* end of RAM above 4 GiB, 0 if none */
    uint64_t cmdline_len; /* bytes at X86_CMDLINE_ADDR, including the NUL */
    uint64_t initrd_gpa, initrd_size;
    /* bzImage: setup header bytes (from offset 0x1f1 of the file) for the zero page. */
    const uint8_t *setup_header;
    size_t setup_header_len;
};

/* Write the GDT, page tables and zero page (or PVH start info). Returns 0 or -EFAULT. */
int x86_write_boot_data(const struct guest_mem *gm, const struct x86_boot *b);

/* The MP table for n_cpus processors. Returns 0 or -errno. */
int x86_write_mptable(const struct guest_mem *gm, unsigned n_cpus);

/*
 * Registers, segments, FPU, MSRs and LAPIC of a vCPU at boot. Only the boot
 * vCPU's registers matter; the others wait for INIT/SIPI in the in-kernel
 * LAPIC. Returns 0 or -errno.
 */
int x86_setup_vcpu(int vcpu_fd, const struct x86_boot *b, unsigned index);

/*
 * Set the vCPU's CPUID from KVM's supported list: topology for n_cpus,
 * hypervisor bit, no PMU, VMX/SVM only if nested; and XCR0 to the
 * supported XSAVE features. Returns 0 or -errno.
 */
int x86_setup_cpuid(int kvm_fd, int vcpu_fd, unsigned index, unsigned n_cpus, bool nested,
                    bool tsc_deadline);

#endif
