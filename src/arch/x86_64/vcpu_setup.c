/* SPDX-License-Identifier: Apache-2.0 */
/* Register state of a vCPU at its first instruction. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86_64/boot.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/layout.h"
#include "util/log.h"

#define CR0_PE   (1ull << 0)
#define CR0_ET   (1ull << 4)
#define CR0_PG   (1ull << 31)
#define CR4_PAE  (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define MSR_IA32_SYSENTER_CS  0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE  0x1a0
#define MSR_MTRR_DEF_TYPE     0x2ff
#define MSR_STAR              0xc0000081
#define MSR_LSTAR             0xc0000082
#define MSR_CSTAR             0xc0000083
#define MSR_SYSCALL_MASK      0xc0000084
#define MSR_KERNEL_GS_BASE    0xc0000102

#define APIC_LVT0        0x350
#define APIC_LVT1        0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

static int setup_sregs(int fd, const struct x86_boot *b)
{
    struct kvm_sregs sregs;
    if (ioctl(fd, KVM_GET_SREGS, &sregs) < 0)
        return -errno;
    bool pvh = b->kind == X86_ENTRY_PVH;
    uint64_t gdt[X86_GDT_ENTRIES];
    x86_gdt_entries(pvh, gdt);
    sregs.cs = x86_segment_from_gdt(gdt[1], X86_SEL_CODE);
    struct kvm_segment data = x86_segment_from_gdt(gdt[2], X86_SEL_DATA);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
    sregs.tr = x86_segment_from_gdt(gdt[3], X86_SEL_TSS);
    sregs.gdt.base = X86_GDT_ADDR;
    sregs.gdt.limit = sizeof(gdt) - 1;
    sregs.idt.base = X86_IDT_ADDR;
    sregs.idt.limit = sizeof(uint64_t) - 1;
    if (pvh) {
        sregs.cr0 = CR0_PE | CR0_ET;
        sregs.cr3 = 0;
        sregs.cr4 = 0;
        sregs.efer = 0;
    } else {
        sregs.cr0 = CR0_PE | CR0_ET | CR0_PG;
        sregs.cr3 = X86_PML4_ADDR;
        sregs.cr4 = CR4_PAE;
        sregs.efer = EFER_LME | EFER_LMA;
    }
    return ioctl(fd, KVM_SET_SREGS, &sregs) < 0 ? -errno : 0;
}

static int setup_regs(int fd, const struct x86_boot *b)
{
    struct kvm_regs regs = {.rflags = 2, .rip = b->entry};
    if (b->kind == X86_ENTRY_PVH) {
        regs.rbx = X86_PVH_INFO_ADDR;
    } else {
        regs.rsp = regs.rbp = X86_BOOT_STACK_ADDR;
        regs.rsi = X86_ZERO_PAGE_ADDR;
    }
    return ioctl(fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}

static int setup_fpu(int fd)
{
    struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
    return ioctl(fd, KVM_SET_FPU, &fpu) < 0 ? -errno : 0;
}

static int setup_msrs(int fd)
{
    static const struct {
        uint32_t index;
        uint64_t value;
    } boot_msrs[] = {
        {MSR_IA32_SYSENTER_CS, 0},
        {MSR_IA32_SYSENTER_ESP, 0},
        {MSR_IA32_SYSENTER_EIP, 0},
        {MSR_STAR, 0},
        {MSR_CSTAR, 0},
        {MSR_KERNEL_GS_BASE, 0},
        {MSR_SYSCALL_MASK, 0},
        {MSR_LSTAR, 0},
        {MSR_IA32_MISC_ENABLE, 1},           /* fast string operations */
        {MSR_MTRR_DEF_TYPE, (1u << 11) | 6}, /* MTRRs on, default write-back */
    };
    const size_t n = sizeof(boot_msrs) / sizeof(boot_msrs[0]);
    struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + n * sizeof(struct kvm_msr_entry));
    if (!msrs)
        return -ENOMEM;
    msrs->nmsrs = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        msrs->entries[i].index = boot_msrs[i].index;
        msrs->entries[i].data = boot_msrs[i].value;
    }
    int r = ioctl(fd, KVM_SET_MSRS, msrs);
    free(msrs);
    if (r < 0)
        return -errno;
    if ((size_t)r != n)
        log_warn("KVM accepted only %d of %zu boot MSRs (first refused: 0x%x)", r, n,
                 boot_msrs[r].index);
    return 0;
}

static void set_lvt_mode(struct kvm_lapic_state *lapic, unsigned reg, uint32_t mode)
{
    uint32_t v;
    memcpy(&v, &lapic->regs[reg], sizeof(v));
    v = (v & ~0x700u) | (mode << 8);
    memcpy(&lapic->regs[reg], &v, sizeof(v));
}

static int setup_lapic(int fd)
{
    struct kvm_lapic_state lapic;
    if (ioctl(fd, KVM_GET_LAPIC, &lapic) < 0)
        return -errno;
    set_lvt_mode(&lapic, APIC_LVT0, APIC_MODE_EXTINT);
    set_lvt_mode(&lapic, APIC_LVT1, APIC_MODE_NMI);
    return ioctl(fd, KVM_SET_LAPIC, &lapic) < 0 ? -errno : 0;
}

int x86_setup_vcpu(int vcpu_fd, const struct x86_boot *b, unsigned index)
{
    int ret = setup_msrs(vcpu_fd);
    if (!ret)
        ret = setup_lapic(vcpu_fd);
    if (!ret && index == 0) {
        ret = setup_sregs(vcpu_fd, b);
        if (!ret)
            ret = setup_regs(vcpu_fd, b);
        if (!ret)
            ret = setup_fpu(vcpu_fd);
    }
    return ret;
}
