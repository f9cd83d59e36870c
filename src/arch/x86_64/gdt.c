/* SPDX-License-Identifier: Apache-2.0 */
#include "arch/x86_64/gdt.h"

/* Descriptor from flags (access byte and G/D/L nibble), base and 20-bit limit. */
static uint64_t gdt_desc(uint16_t flags, uint32_t base, uint32_t limit)
{
    return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
           ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
           (uint64_t)(limit & 0x0000ffffu);
}

void x86_gdt_entries(bool code32, uint64_t gdt[X86_GDT_ENTRIES])
{
    gdt[0] = 0;
    /* 0xa09b: G, L, present, code execute/read accessed; 0xc09b: G, D (32-bit). */
    gdt[1] = gdt_desc(code32 ? 0xc09b : 0xa09b, 0, 0xfffff);
    gdt[2] = gdt_desc(0xc093, 0, 0xfffff); /* G, D, present, data read/write accessed */
    gdt[3] = gdt_desc(0x808b, 0, 0xfffff); /* G, present, 32-bit busy TSS */
}

struct kvm_segment x86_segment_from_gdt(uint64_t desc, uint16_t selector)
{
    uint32_t limit = (uint32_t)((desc & 0xffff) | ((desc >> 32) & 0xf0000));
    bool g = (desc >> 55) & 1;
    return (struct kvm_segment){
        .base = (uint32_t)(((desc >> 16) & 0xffffff) | ((desc >> 32) & 0xff000000)),
        .limit = g ? (limit << 12) | 0xfff : limit,
        .selector = selector,
        .type = (uint8_t)((desc >> 40) & 0xf),
        .present = (uint8_t)((desc >> 47) & 1),
        .dpl = (uint8_t)((desc >> 45) & 3),
        .db = (uint8_t)((desc >> 54) & 1),
        .s = (uint8_t)((desc >> 44) & 1),
        .l = (uint8_t)((desc >> 53) & 1),
        .g = (uint8_t)g,
        .avl = (uint8_t)((desc >> 52) & 1),
        .unusable = 0,
    };
}
