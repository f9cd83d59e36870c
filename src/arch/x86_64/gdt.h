/* SPDX-License-Identifier: Apache-2.0 */
/* The boot GDT and the segment registers that KVM needs to match it. */
#ifndef KRUN_ARCH_X86_64_GDT_H
#define KRUN_ARCH_X86_64_GDT_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#define X86_GDT_ENTRIES 4
#define X86_SEL_CODE    0x08
#define X86_SEL_DATA    0x10
#define X86_SEL_TSS     0x18

/* Null, flat code (64-bit, or 32-bit for PVH), flat data, TSS. */
void x86_gdt_entries(bool code32, uint64_t gdt[X86_GDT_ENTRIES]);

/* The KVM segment register for a GDT descriptor. */
struct kvm_segment x86_segment_from_gdt(uint64_t desc, uint16_t selector);

#endif
