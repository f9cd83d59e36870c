/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CPUID for a vCPU: what KVM supports, adjusted so the guest sees a VM with
 * n_cpus cores in one package, no PMU, and no VMX/SVM unless asked for.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "arch/x86_64/boot.h"

#define CPUID_MAX_ENTRIES 256

#define LEAF1_ECX_VMX          (1u << 5)
#define LEAF1_ECX_TSC_DEADLINE (1u << 24)
#define LEAF1_ECX_HYPERVISOR   (1u << 31)
#define LEAF1_EDX_HTT          (1u << 28)
#define EXT1_ECX_SVM           (1u << 2)

static unsigned order_of(unsigned n)
{
    unsigned s = 0;
    while ((1u << s) < n)
        s++;
    return s;
}

static void adjust(struct kvm_cpuid_entry2 *e, unsigned index, unsigned n_cpus, bool nested,
                   bool tsc_deadline)
{
    switch (e->function) {
    case 1:
        e->ebx = (e->ebx & 0x0000ffffu) | ((uint32_t)index << 24) | ((uint32_t)n_cpus << 16);
        e->ecx |= LEAF1_ECX_HYPERVISOR;
        if (tsc_deadline)
            e->ecx |= LEAF1_ECX_TSC_DEADLINE;
        if (!nested)
            e->ecx &= ~LEAF1_ECX_VMX;
        if (n_cpus > 1)
            e->edx |= LEAF1_EDX_HTT;
        else
            e->edx &= ~LEAF1_EDX_HTT;
        break;
    case 4: /* deterministic cache parameters: cores per package in EAX[31:26] */
        e->eax = (e->eax & 0x03ffffffu) | ((uint32_t)(n_cpus - 1) << 26);
        break;
    case 6: /* thermal and power: nothing of it is virtualized */
        e->eax = e->ebx = e->ecx = e->edx = 0;
        break;
    case 0xa: /* architectural PMU: none */
        e->eax = e->ebx = e->ecx = e->edx = 0;
        break;
    case 0xb:
    case 0x1f: /* extended topology: one thread per core, n_cpus cores */
        if (e->index == 0) {
            e->eax = 0;
            e->ebx = 1;
            e->ecx = 0 | (1u << 8);
        } else if (e->index == 1) {
            e->eax = order_of(n_cpus);
            e->ebx = n_cpus;
            e->ecx = 1 | (2u << 8);
        } else {
            e->eax = e->ebx = 0;
            e->ecx = e->index;
        }
        e->edx = index;
        break;
    case 0x80000001:
        if (!nested)
            e->ecx &= ~EXT1_ECX_SVM;
        break;
    case 0x80000008: /* AMD: number of cores and APIC id size */
        e->ecx = (e->ecx & ~0xf0ffu) | (order_of(n_cpus) << 12) | (n_cpus - 1);
        break;
    case 0x8000000a: /* SVM features */
        if (!nested)
            e->eax = e->ebx = e->ecx = e->edx = 0;
        break;
    default:
        break;
    }
}

/*
 * Start the vCPU with every XSAVE feature KVM supports enabled in XCR0, as
 * a guest kernel will set it anyway. Nested under an emulated SVM that does
 * not intercept XSETBV, the guest's own XCR0 writes can be lost on the next
 * exit (see testhost/README.md); this value is what they fall back to.
 */
static int set_xcr0(int vcpu_fd, const struct kvm_cpuid2 *cpuid)
{
    for (uint32_t i = 0; i < cpuid->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &cpuid->entries[i];
        if (e->function != 0xd || e->index != 0)
            continue;
        struct kvm_xcrs xcrs = {.nr_xcrs = 1};
        xcrs.xcrs[0].xcr = 0;
        xcrs.xcrs[0].value = ((uint64_t)e->edx << 32 | e->eax) | 1; /* x87 is mandatory */
        return ioctl(vcpu_fd, KVM_SET_XCRS, &xcrs) < 0 ? -errno : 0;
    }
    return 0; /* no XSAVE */
}

int x86_setup_cpuid(int kvm_fd, int vcpu_fd, unsigned index, unsigned n_cpus, bool nested,
                    bool tsc_deadline)
{
    struct kvm_cpuid2 *cpuid =
        calloc(1, sizeof(*cpuid) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));
    if (!cpuid)
        return -ENOMEM;
    cpuid->nent = CPUID_MAX_ENTRIES;
    int ret = 0;
    if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
        ret = -errno;
    } else {
        for (uint32_t i = 0; i < cpuid->nent; i++)
            adjust(&cpuid->entries[i], index, n_cpus, nested, tsc_deadline);
        if (ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
            ret = -errno;
        else if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0)
            ret = set_xcr0(vcpu_fd, cpuid);
        /* Again, so that the XSAVE area size in leaf 0xd matches that XCR0. */
        if (!ret && ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
            ret = -errno;
    }
    free(cpuid);
    return ret;
}
