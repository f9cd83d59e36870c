/* SPDX-License-Identifier: Apache-2.0 */
/* Guest physical memory map of an x86_64 libkrun-c VM (upstream-compatible). */
#ifndef KRUN_ARCH_X86_64_LAYOUT_H
#define KRUN_ARCH_X86_64_LAYOUT_H

#define X86_GDT_ADDR         0x500ull
#define X86_IDT_ADDR         0x520ull
#define X86_PVH_INFO_ADDR    0x6000ull
#define X86_PVH_MODLIST_ADDR 0x6040ull
#define X86_PVH_MEMMAP_ADDR  0x7000ull
#define X86_ZERO_PAGE_ADDR   0x7000ull
#define X86_BOOT_STACK_ADDR  0x8ff0ull
#define X86_PML4_ADDR        0x9000ull
#define X86_PDPT_ADDR        0xa000ull
#define X86_PD_ADDR          0xb000ull /* up to X86_PD_COUNT of them, 1 GiB each */
#define X86_PD_COUNT         4
#define X86_CMDLINE_ADDR     0x20000ull
#define X86_CMDLINE_MAX      0x10000ull
#define X86_EBDA_ADDR        0x9fc00ull /* end of base RAM; the MP table lives here */
#define X86_HIMEM_START      0x100000ull
#define X86_KERNEL_LOAD_ADDR 0x1000000ull

/* Everything from here to 4 GiB is MMIO: virtio windows, IOAPIC, LAPIC, TSS. */
#define X86_MMIO_GAP_START    0xd0000000ull
#define X86_MMIO_GAP_END      0x100000000ull
#define X86_VIRTIO_MMIO_BASE  0xd0000000ull
#define X86_VIRTIO_MMIO_SIZE  0x1000ull
#define X86_VIRTIO_IRQ_FIRST  5
#define X86_VIRTIO_IRQ_LAST   15
#define X86_IOAPIC_ADDR       0xfec00000ull
#define X86_LAPIC_ADDR        0xfee00000ull
#define X86_IDENTITY_MAP_ADDR 0xfffbc000ull
#define X86_TSS_ADDR          0xfffbd000ull

#endif
