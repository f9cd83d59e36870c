/* SPDX-License-Identifier: Apache-2.0 */
/* Boot data in guest memory: GDT, identity page tables, zero page, PVH start info. */
#include "arch/x86_64/boot.h"

#include <asm/bootparam.h>
#include <errno.h>
#include <string.h>

#include "arch/x86_64/layout.h"
#include "arch/x86_64/gdt.h"

#define E820_RAM 1

/* PVH start info (version 1), the layout from Xen's public arch-x86 hvm header. */
#define PVH_START_MAGIC 0x336ec578u
struct pvh_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t reserved;
};
struct pvh_module {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};
struct pvh_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

struct ram_range {
    uint64_t start, end;
};

/* The RAM ranges the guest is told about; returns how many. */
static unsigned ram_ranges(const struct x86_boot *b, struct ram_range out[3])
{
    unsigned n = 0;
    out[n++] = (struct ram_range){0, X86_EBDA_ADDR};
    out[n++] = (struct ram_range){X86_HIMEM_START, b->low_end};
    if (b->high_end > X86_MMIO_GAP_END)
        out[n++] = (struct ram_range){X86_MMIO_GAP_END, b->high_end};
    return n;
}

static int write_gdt(const struct guest_mem *gm, enum x86_entry kind)
{
    uint64_t gdt[X86_GDT_ENTRIES];
    x86_gdt_entries(kind == X86_ENTRY_PVH, gdt);
    uint64_t idt = 0;
    if (gm_write(gm, X86_GDT_ADDR, gdt, sizeof(gdt)) ||
        gm_write(gm, X86_IDT_ADDR, &idt, sizeof(idt)))
        return -EFAULT;
    return 0;
}

/*
 * Identity-map the first 1 GiB with 2 MiB pages (the kernel, zero page and
 * cmdline), and on up to the GiB that holds the 64-bit entry: a RAW kernel
 * starts at 2 GiB. (Upstream maps 1 GiB only, so its RAW entry is unmapped
 * and the vCPU's first fetch faults.)
 */
static int write_page_tables(const struct guest_mem *gm, const struct x86_boot *b)
{
    uint64_t gibs = 1;
    if (b->kind == X86_ENTRY_LINUX64 && b->entry >> 30 >= 1)
        gibs = (b->entry >> 30) + 1;
    if (gibs > X86_PD_COUNT)
        return -EFAULT;
    uint64_t *pml4 = gm_ptr(gm, X86_PML4_ADDR, 4096);
    uint64_t *pdpt = gm_ptr(gm, X86_PDPT_ADDR, 4096);
    uint64_t *pd = gm_ptr(gm, X86_PD_ADDR, 4096 * gibs);
    if (!pml4 || !pdpt || !pd)
        return -EFAULT;
    memset(pml4, 0, 4096);
    memset(pdpt, 0, 4096);
    pml4[0] = X86_PDPT_ADDR | 0x3; /* present, writable */
    for (uint64_t g = 0; g < gibs; g++)
        pdpt[g] = (X86_PD_ADDR + g * 4096) | 0x3;
    for (uint64_t i = 0; i < 512 * gibs; i++)
        pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB page */
    return 0;
}

static int write_zero_page(const struct guest_mem *gm, const struct x86_boot *b)
{
    struct boot_params *bp = gm_ptr(gm, X86_ZERO_PAGE_ADDR, sizeof(*bp));
    if (!bp)
        return -EFAULT;
    memset(bp, 0, sizeof(*bp));
    struct setup_header *hdr = &bp->hdr;
    if (b->setup_header) {
        size_t n = b->setup_header_len;
        if (n > sizeof(*bp) - offsetof(struct boot_params, hdr))
            n = sizeof(*bp) - offsetof(struct boot_params, hdr);
        memcpy(hdr, b->setup_header, n);
    } else {
        hdr->kernel_alignment = 0x1000000;
    }
    hdr->type_of_loader = 0xff; /* undefined loader */
    hdr->boot_flag = 0xaa55;
    hdr->header = 0x53726448; /* "HdrS" */
    hdr->vid_mode = 0xffff;
    hdr->cmd_line_ptr = (uint32_t)X86_CMDLINE_ADDR;
    hdr->cmdline_size = (uint32_t)(b->cmdline_len ? b->cmdline_len - 1 : 0);
    if (b->initrd_size) {
        hdr->ramdisk_image = (uint32_t)b->initrd_gpa;
        hdr->ramdisk_size = (uint32_t)b->initrd_size;
        bp->ext_ramdisk_image = (uint32_t)(b->initrd_gpa >> 32);
        bp->ext_ramdisk_size = (uint32_t)(b->initrd_size >> 32);
    }
    struct ram_range r[3];
    unsigned n = ram_ranges(b, r);
    for (unsigned i = 0; i < n; i++) {
        bp->e820_table[i].addr = r[i].start;
        bp->e820_table[i].size = r[i].end - r[i].start;
        bp->e820_table[i].type = E820_RAM;
    }
    bp->e820_entries = (uint8_t)n;
    return 0;
}

static int write_pvh_info(const struct guest_mem *gm, const struct x86_boot *b)
{
    struct pvh_start_info info = {
        .magic = PVH_START_MAGIC,
        .version = 1,
        .cmdline_paddr = X86_CMDLINE_ADDR,
        .memmap_paddr = X86_PVH_MEMMAP_ADDR,
    };
    if (b->initrd_size) {
        struct pvh_module mod = {.paddr = b->initrd_gpa, .size = b->initrd_size};
        if (gm_write(gm, X86_PVH_MODLIST_ADDR, &mod, sizeof(mod)))
            return -EFAULT;
        info.nr_modules = 1;
        info.modlist_paddr = X86_PVH_MODLIST_ADDR;
    }
    struct ram_range r[3];
    unsigned n = ram_ranges(b, r);
    for (unsigned i = 0; i < n; i++) {
        struct pvh_memmap_entry e = {
            .addr = r[i].start, .size = r[i].end - r[i].start, .type = E820_RAM};
        if (gm_write(gm, X86_PVH_MEMMAP_ADDR + i * sizeof(e), &e, sizeof(e)))
            return -EFAULT;
    }
    info.memmap_entries = n;
    return gm_write(gm, X86_PVH_INFO_ADDR, &info, sizeof(info)) ? -EFAULT : 0;
}

int x86_write_boot_data(const struct guest_mem *gm, const struct x86_boot *b)
{
    int ret = write_gdt(gm, b->kind);
    if (ret)
        return ret;
    if (b->kind == X86_ENTRY_PVH)
        return write_pvh_info(gm, b);
    ret = write_page_tables(gm, b);
    return ret ? ret : write_zero_page(gm, b);
}
