/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvm-probe: does /dev/kvm run real guest code correctly?
 *
 * A tiny VMM: it creates a VM with 2 MiB of memory, enters 64-bit long mode
 * directly (page tables, GDT with user segments and a TSS, IDT with a handler
 * for every exception), and runs a guest that exercises instructions a
 * software hypervisor such as kvm-pvm gets wrong: int3 through the IDT,
 * lock cmpxchg16b, xsetbv/xsave/xrstor, stac/clac, x87 with fwait, and a
 * switch to ring 3 with sysret, int3 from ring 3 (TSS stack switch) and
 * syscall back to ring 0. The guest reports each step and every check through
 * port I/O; the probe passes only if all of them come back right.
 *
 * It also finds out whether the guest's xsetbv reaches the hypervisor (it
 * does not in QEMU TCG's emulated SVM, so a nested KVM puts back its own XCR0
 * after every exit); that is reported in the PASS line, not a failure.
 *
 * What it printed on this project's kvm-pvm host: "KVM internal error,
 * suberror 1 (emulation failure), in step 2 (int3 via IDT)"; with -x, each of
 * steps 2-6 alone is an emulation failure and step 7 ends in #GP because the
 * syscall entry runs at CPL 3.
 *
 * Usage: kvm-probe [-q] [-t SECONDS] [-x STEP,...] [DEVICE]
 *   -q  print nothing on success      -t  give up after SECONDS (default 10)
 *   -x  skip these steps (2..7), to find out which ones a hypervisor breaks
 * Exit status: 0 = PASS, 1 = FAIL (one line on stderr says why), 2 = usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* Guest physical layout (identity mapped by one 2 MiB page). */
#define MEM_SIZE         0x200000UL
#define PML4_ADDR        0x1000UL
#define PDPT_ADDR        0x2000UL
#define PD_ADDR          0x3000UL
#define GDT_ADDR         0x4000UL
#define IDT_ADDR         0x5000UL
#define TSS_ADDR         0x6000UL
#define MAILBOX_ADDR     0x6800UL
#define SKIPMASK_ADDR    0x7400UL
#define CODE_ADDR        0x10000UL
#define IRQ_STACK_TOP    0x70000UL
#define KERNEL_STACK_TOP 0x80000UL

/* Ports the guest writes to. */
#define PORT_STEP  0x10 /* entering step N */
#define PORT_FAIL  0x11 /* a check in step N failed */
#define PORT_EXC   0x12 /* unexpected exception; vector in eax, details in mailbox */
#define PORT_PASS  0x13 /* everything passed; eax = PASS_MAGIC */
#define PORT_SKIP  0x14 /* step N skipped: the CPU does not advertise the feature */
#define PORT_EXIT  0x15 /* nothing: the guest only wants a VM exit here */
#define PASS_MAGIC 0x600df00dU

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_TSS   0x30

/*
 * The guest. It is copied to CODE_ADDR; it only uses RIP-relative references
 * to its own labels and absolute addresses of the fixed data areas:
 *   0x7000 cmpxchg16b target, 0x7100 x87 result, 0x7200 int3 counter,
 *   0x7300 xmm dump, 0x7400 mask of steps to skip, 0x8000 xsave area.
 * %r15 holds the current step number.
 */
__asm__(".pushsection .rodata.kvm_probe_guest,\"a\"\n"
        ".balign 16\n"
        ".globl kvm_probe_guest_start\n"
        "kvm_probe_guest_start:\n"
        ".code64\n"
        /* step 1: port I/O works */
        "  mov $1, %r15d\n"
        "  mov %r15d, %eax\n"
        "  out %eax, $0x10\n"
        /* step 2: int3 through the IDT, handler counts and returns with iretq */
        "  mov $2, %r15d\n"
        "  mov %r15d, %eax\n"
        "  out %eax, $0x10\n"
        "  btq $2, 0x7400\n"
        "  jc 29f\n"
        "  movq $0, 0x7200\n"
        "  int3\n"
        "  cmpq $1, 0x7200\n"
        "  jne 90f\n"
        "29:\n"
        /* step 3: lock cmpxchg16b, a matching and a mismatching compare */
        "  mov $3, %r15d\n"
        "  mov %r15d, %eax\n"
        "  out %eax, $0x10\n"
        "  btq $3, 0x7400\n"
        "  jc 39f\n"
        "  mov $1, %eax\n"
        "  cpuid\n"
        "  bt $13, %ecx\n"
        "  jc 31f\n"
        "  mov %r15d, %eax\n"
        "  out %eax, $0x14\n"
        "  jmp 39f\n"
        "31:\n"
        "  movabs $0x1111111111111111, %rax\n"
        "  mov %rax, 0x7000\n"
        "  movabs $0x2222222222222222, %rdx\n"
        "  mov %rdx, 0x7008\n"
        "  movabs $0x3333333333333333, %rbx\n"
        "  movabs $0x4444444444444444, %rcx\n"
        "  lock cmpxchg16b 0x7000\n"
        "  jne 90f\n"
        "  cmp %rbx, 0x7000\n"
        "  jne 90f\n"
        "  cmp %rcx, 0x7008\n"
        "  jne 90f\n"
        "  xor %eax, %eax\n"
        "  xor %edx, %edx\n"
        "  lock cmpxchg16b 0x7000\n"
        "  je 90f\n"
        "  cmp %rbx, %rax\n"
        "  jne 90f\n"
        "  cmp %rcx, %rdx\n"
        "  jne 90f\n"
        "39:\n"
        /* step 4: CR4.OSXSAVE, xsetbv, xsave, clobber, xrstor, check xmm0 */
        "  mov $4, %r15d\n"
        "  mov %r15d, %eax\n"
        "  out %eax, $0x10\n"
        "  btq $4, 0x7400\n"
        "  jc 49f\n"
        "  mov $1, %eax\n"
        "  cpuid\n"
        "  bt $26, %ecx\n"
        "  jc 41f\n"
        "  mov %r15d, %eax\n"
        "  out %eax, $0x14\n"
        "  jmp 49f\n"
        "41:\n"
        "  mov %cr4, %rax\n"
        "  or $0x40000, %rax\n"
        "  mov %rax, %cr4\n"
        "  xor %ecx, %ecx\n"
        "  xor %edx, %edx\n"
        "  mov $3, %eax\n"
        "  xsetbv\n"
        "  mov $0x8000, %edi\n"
        "  mov $512, %ecx\n"
        "  xor %eax, %eax\n"
        "  cld\n"
        "  rep stosq\n"
        "  xor %ecx, %ecx\n"
        "  xgetbv\n"
        "  mov %eax, 0x7310\n"
        "  movdqu 95f(%rip), %xmm0\n"
        "  mov $3, %eax\n"
        "  xor %edx, %edx\n"
        "  xsave 0x8000\n"
        "  movdqu %xmm0, 0x7320\n"
        "  xor %ecx, %ecx\n"
        "  xgetbv\n"
        "  mov %eax, 0x7314\n"
        "  pxor %xmm0, %xmm0\n"
        "  mov $3, %eax\n"
        "  xor %edx, %edx\n"
        "  xrstor 0x8000\n"
        "  movdqu %xmm0, 0x7300\n"
        "  mov 95f(%rip), %rax\n"
        "  cmp %rax, 0x7300\n"
        "  jne 90f\n"
        "  mov 95f+8(%rip), %rax\n"
        "  cmp %rax, 0x7308\n"
        "  jne 90f\n"
        /* Does the hypervisor see the guest's xsetbv? Set XCR0 to 1, force an exit and
           read it back (the host only reports the answer); then 3, which must hold. */
        "  xor %ecx, %ecx\n"
        "  xor %edx, %edx\n"
        "  mov $1, %eax\n"
        "  xsetbv\n"
        "  out %eax, $0x15\n"
        "  xor %ecx, %ecx\n"
        "  xgetbv\n"
        "  mov %eax, 0x7330\n"
        "  xor %ecx, %ecx\n"
        "  xor %edx, %edx\n"
        "  mov $3, %eax\n"
        "  xsetbv\n"
        "  out %eax, $0x15\n"
        "  xor %ecx, %ecx\n"
        "  xgetbv\n"
        "  cmp $3, %eax\n"
        "  jne 90f\n"
        "49:\n"
        /* step 5: stac/clac toggle EFLAGS.AC */
        "  mov $5, %r15d\n"
        "  mov %r15d, %eax\n"
        "  out %eax, $0x10\n"
        "  btq $5, 0x7400\n"
        "  jc 59f\n"
        "  mov $7, %eax\n"
        "  xor %ecx, %ecx\n"
        "  cpuid\n"
        "  bt $20, %ebx\n"
        "  jc 51f\n"
        "  mov %r15d, %eax\n"
        "  out %eax, $0x14\n"
        "  jmp 59f\n"
        "51:\n"
        "  stac\n"
        "  pushfq\n"
        "  pop %rax\n"
        "  bt $18, %rax\n"
        "  jnc 90f\n"
        "  clac\n"
        "  pushfq\n"
        "  pop %rax\n"
        "  bt $18, %rax\n"
        "  jc 90f\n"
        "59:\n"
        /* step 6: x87: 1 + 1 stored as a double, fwait */
        "  mov $6, %r15d\n"
        "  mov %r15d, %eax\n"
        "  out %eax, $0x10\n"
        "  btq $6, 0x7400\n"
        "  jc 69f\n"
        "  fninit\n"
        "  fld1\n"
        "  fld1\n"
        "  faddp\n"
        "  fstpl 0x7100\n"
        "  fwait\n"
        "  movabs $0x4000000000000000, %rax\n"
        "  cmp %rax, 0x7100\n"
        "  jne 90f\n"
        "69:\n"
        /* step 7: EFER.SCE, STAR/LSTAR/FMASK, sysretq to ring 3 */
        "  mov $7, %r15d\n"
        "  mov %r15d, %eax\n"
        "  out %eax, $0x10\n"
        "  btq $7, 0x7400\n"
        "  jc 89f\n"
        "  movq $1, 0x7200\n"
        "  mov $0xc0000080, %ecx\n"
        "  rdmsr\n"
        "  or $1, %eax\n"
        "  wrmsr\n"
        "  mov $0xc0000081, %ecx\n"
        "  xor %eax, %eax\n"
        "  mov $0x00180008, %edx\n"
        "  wrmsr\n"
        "  mov $0xc0000082, %ecx\n"
        "  lea 80f(%rip), %rax\n"
        "  mov %rax, %rdx\n"
        "  shr $32, %rdx\n"
        "  wrmsr\n"
        "  mov $0xc0000084, %ecx\n"
        "  mov $0x700, %eax\n"
        "  xor %edx, %edx\n"
        "  wrmsr\n"
        "  lea 70f(%rip), %rcx\n"
        "  mov $0x002, %r11d\n"
        "  mov $0x90000, %esp\n"
        "  sysretq\n"
        /* ring 3: check CPL, int3 (gate DPL 3, stack from TSS.rsp0), syscall */
        "70:\n"
        "  mov %cs, %ebx\n"
        "  int3\n"
        "  mov $42, %eax\n"
        "  syscall\n"
        "  ud2\n"
        /* syscall entry, ring 0 again */
        "80:\n"
        "  mov $0x80000, %esp\n"
        "  cmp $42, %eax\n"
        "  jne 90f\n"
        "  and $3, %ebx\n"
        "  cmp $3, %ebx\n"
        "  jne 90f\n"
        "  cmpq $2, 0x7200\n"
        "  jne 90f\n"
        "  mov %cs, %eax\n"
        "  cmp $0x08, %eax\n"
        "  jne 90f\n"
        /* all done */
        "89:\n"
        "  mov $0x600df00d, %eax\n"
        "  out %eax, $0x13\n"
        "  hlt\n"
        "  jmp .-1\n"
        /* a check failed */
        "90:\n"
        "  mov %r15d, %eax\n"
        "  out %eax, $0x11\n"
        "  hlt\n"
        "  jmp .-1\n"
        ".balign 16\n"
        "95:\n"
        "  .quad 0x0123456789abcdef, 0xfedcba9876543210\n"
        /* int3 handler: count and return */
        ".balign 16\n"
        ".globl kvm_probe_guest_int3\n"
        "kvm_probe_guest_int3:\n"
        "  incq 0x7200\n"
        "  iretq\n"
        /* common path for unexpected exceptions: vector on top of the stack */
        ".balign 16\n"
        "kvm_probe_exc_common:\n"
        "  pop %rax\n"
        "  mov %rax, 0x6800\n"
        "  mov (%rsp), %rbx\n"
        "  mov %rbx, 0x6808\n"
        "  mov 8(%rsp), %rbx\n"
        "  mov %rbx, 0x6810\n"
        "  mov %r15, 0x6818\n"
        "  out %eax, $0x12\n"
        "  hlt\n"
        "  jmp .-1\n"
        /* one 16-byte stub per exception vector 0..31 */
        ".balign 16\n"
        ".globl kvm_probe_guest_stubs\n"
        "kvm_probe_guest_stubs:\n"
        ".irp n, "
        "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
        ".balign 16\n"
        "  pushq $\\n\n"
        "  jmp kvm_probe_exc_common\n"
        ".endr\n"
        ".globl kvm_probe_guest_end\n"
        "kvm_probe_guest_end:\n"
        ".popsection\n");

extern const unsigned char kvm_probe_guest_start[], kvm_probe_guest_end[];
extern const unsigned char kvm_probe_guest_int3[], kvm_probe_guest_stubs[];

static const char *const step_names[] = {
    "none",
    "port I/O",
    "int3 via IDT",
    "lock cmpxchg16b",
    "xsetbv/xsave/xrstor",
    "stac/clac",
    "x87 fadd+fwait",
    "ring 3 via sysret, int3 and syscall",
};

static const char *step_name(uint32_t s)
{
    return s < sizeof(step_names) / sizeof(step_names[0]) ? step_names[s] : "?";
}

static int quiet;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    va_list ap;
    char msg[512];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "kvm-probe: FAIL: %s\n", msg);
    exit(1);
}

static void on_alarm(int sig)
{
    (void)sig;
}

static uint64_t guest_addr(const unsigned char *sym)
{
    return CODE_ADDR + (uint64_t)(sym - kvm_probe_guest_start);
}

static void set_idt_gate(unsigned char *mem, unsigned vec, uint64_t handler, unsigned dpl)
{
    uint64_t lo = (handler & 0xffffULL) | ((uint64_t)SEL_KCODE << 16) |
                  ((uint64_t)(0x8eU | (dpl << 5)) << 40) | (((handler >> 16) & 0xffffULL) << 48);
    uint64_t hi = handler >> 32;
    memcpy(mem + IDT_ADDR + vec * 16, &lo, 8);
    memcpy(mem + IDT_ADDR + vec * 16 + 8, &hi, 8);
}

static void setup_memory(unsigned char *mem)
{
    uint64_t v;
    /* page tables: one 2 MiB user+supervisor page at 0 */
    v = PDPT_ADDR | 7;
    memcpy(mem + PML4_ADDR, &v, 8);
    v = PD_ADDR | 7;
    memcpy(mem + PDPT_ADDR, &v, 8);
    v = 0x87;
    memcpy(mem + PD_ADDR, &v, 8);

    /* GDT: null, kcode64, kdata, ucode32 (for STAR), udata, ucode64, TSS */
    const uint64_t gdt[] = {
        0,
        0x00af9a000000ffffULL,
        0x00cf92000000ffffULL,
        0x00cffa000000ffffULL,
        0x00cff2000000ffffULL,
        0x00affa000000ffffULL,
    };
    memcpy(mem + GDT_ADDR, gdt, sizeof(gdt));
    uint64_t tss_lo = 0x67 | ((TSS_ADDR & 0xffffffULL) << 16) | (0x8bULL << 40) |
                      (((TSS_ADDR >> 24) & 0xffULL) << 56);
    uint64_t tss_hi = TSS_ADDR >> 32;
    memcpy(mem + GDT_ADDR + SEL_TSS, &tss_lo, 8);
    memcpy(mem + GDT_ADDR + SEL_TSS + 8, &tss_hi, 8);

    /* TSS: rsp0 for the switch from ring 3, no I/O bitmap */
    v = IRQ_STACK_TOP;
    memcpy(mem + TSS_ADDR + 4, &v, 8);
    uint16_t iomap = 0x68;
    memcpy(mem + TSS_ADDR + 0x66, &iomap, 2);

    /* IDT */
    for (unsigned vec = 0; vec < 32; vec++)
        set_idt_gate(mem, vec, guest_addr(kvm_probe_guest_stubs) + 16 * vec, 0);
    set_idt_gate(mem, 3, guest_addr(kvm_probe_guest_int3), 3);

    size_t len = (size_t)(kvm_probe_guest_end - kvm_probe_guest_start);
    memcpy(mem + CODE_ADDR, kvm_probe_guest_start, len);
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int code64)
{
    memset(s, 0, sizeof(*s));
    s->base = 0;
    s->limit = 0xffffffff;
    s->selector = sel;
    s->type = type;
    s->present = 1;
    s->dpl = 0;
    s->s = 1;
    s->l = code64 ? 1 : 0;
    s->db = code64 ? 0 : 1;
    s->g = 1;
}

static void setup_cpuid(int kvm, int vcpu)
{
    for (int nent = 64; nent <= 4096; nent *= 2) {
        size_t sz = sizeof(struct kvm_cpuid2) + (size_t)nent * sizeof(struct kvm_cpuid_entry2);
        struct kvm_cpuid2 *c = calloc(1, sz);
        if (!c)
            fail("out of memory");
        c->nent = (uint32_t)nent;
        if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) < 0) {
            free(c);
            if (errno == E2BIG)
                continue;
            fail("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
        }
        if (ioctl(vcpu, KVM_SET_CPUID2, c) < 0)
            fail("KVM_SET_CPUID2: %s", strerror(errno));
        free(c);
        return;
    }
    fail("KVM_GET_SUPPORTED_CPUID: too many entries");
}

static void usage(void)
{
    fprintf(stderr, "usage: kvm-probe [-q] [-t SECONDS] [-x STEP,...] [DEVICE]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *dev = "/dev/kvm";
    unsigned timeout = 10;
    uint64_t skipmask = 0;
    int opt;
    while ((opt = getopt(argc, argv, "qt:x:h")) != -1) {
        switch (opt) {
        case 'q':
            quiet = 1;
            break;
        case 't':
            timeout = (unsigned)strtoul(optarg, NULL, 10);
            if (!timeout)
                usage();
            break;
        case 'x':
            for (char *p = optarg; *p;) {
                char *end;
                unsigned long n = strtoul(p, &end, 10);
                if (end == p || n < 2 || n > 7)
                    usage();
                skipmask |= 1ULL << n;
                p = *end == ',' ? end + 1 : end;
            }
            break;
        default:
            usage();
        }
    }
    if (optind < argc)
        dev = argv[optind++];
    if (optind != argc)
        usage();

    int kvm = open(dev, O_RDWR | O_CLOEXEC);
    if (kvm < 0)
        fail("cannot open %s: %s", dev, strerror(errno));
    int api = ioctl(kvm, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION)
        fail("KVM_GET_API_VERSION returned %d", api);
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        fail("KVM_CREATE_VM: %s", strerror(errno));
    (void)ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL); /* Intel needs it; harmless elsewhere */
    /*
     * An in-kernel irqchip, as real VMMs have. Without one, each vCPU created
     * and destroyed flips a static key in the host kernel (runtime code
     * patching), which has been seen to crash a nested KVM host running on
     * multi-threaded TCG. Not fatal if missing.
     */
    (void)ioctl(vm, KVM_CREATE_IRQCHIP, 0);

    unsigned char *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        fail("mmap guest memory: %s", strerror(errno));
    setup_memory(mem);
    memcpy(mem + SKIPMASK_ADDR, &skipmask, 8);
    struct kvm_userspace_memory_region region = {
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = MEM_SIZE,
        .userspace_addr = (uint64_t)(uintptr_t)mem,
    };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        fail("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));

    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0)
        fail("KVM_CREATE_VCPU: %s", strerror(errno));
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size < (int)sizeof(struct kvm_run))
        fail("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED)
        fail("mmap kvm_run: %s", strerror(errno));
    setup_cpuid(kvm, vcpu);
    /*
     * XCR0 = x87|SSE, as the guest will set it. A VMM should set it: a nested
     * hypervisor whose CPU does not intercept the guest's xsetbv (QEMU TCG's
     * SVM) otherwise puts its own stale value back after every VM exit.
     * Not fatal: without XSAVE the guest skips that step.
     */
    struct kvm_xcrs xcrs;
    memset(&xcrs, 0, sizeof(xcrs));
    xcrs.nr_xcrs = 1;
    xcrs.xcrs[0].xcr = 0;
    xcrs.xcrs[0].value = 3;
    (void)ioctl(vcpu, KVM_SET_XCRS, &xcrs);

    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
        fail("KVM_GET_SREGS: %s", strerror(errno));
    set_seg(&sregs.cs, SEL_KCODE, 11, 1);
    set_seg(&sregs.ds, SEL_KDATA, 3, 0);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    memset(&sregs.tr, 0, sizeof(sregs.tr));
    sregs.tr.base = TSS_ADDR;
    sregs.tr.limit = 0x67;
    sregs.tr.selector = SEL_TSS;
    sregs.tr.type = 11;
    sregs.tr.present = 1;
    sregs.gdt.base = GDT_ADDR;
    sregs.gdt.limit = SEL_TSS + 16 - 1;
    sregs.idt.base = IDT_ADDR;
    sregs.idt.limit = 256 * 16 - 1;
    sregs.cr3 = PML4_ADDR;
    sregs.cr4 = 0x20 | 0x200 | 0x400;                           /* PAE OSFXSR OSXMMEXCPT */
    sregs.cr0 = 0x1 | 0x2 | 0x10 | 0x20 | 0x10000 | 0x80000000; /* PE MP ET NE WP PG */
    sregs.efer = 0x100 | 0x400;                                 /* LME LMA */
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
        fail("KVM_SET_SREGS (64-bit mode): %s", strerror(errno));

    struct kvm_regs regs;
    memset(&regs, 0, sizeof(regs));
    regs.rip = CODE_ADDR;
    regs.rsp = KERNEL_STACK_TOP;
    regs.rflags = 0x2;
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
        fail("KVM_SET_REGS: %s", strerror(errno));

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm; /* no SA_RESTART: KVM_RUN returns EINTR */
    sigaction(SIGALRM, &sa, NULL);
    alarm(timeout);

    uint32_t step = 0;
    char skipped[256] = "";
    uint64_t notrun = skipmask;
    for (uint32_t n = 2; n <= 7; n++)
        if (skipmask & (1ULL << n)) {
            size_t l = strlen(skipped);
            snprintf(skipped + l, sizeof(skipped) - l, "%s%s (-x)", l ? ", " : "", step_name(n));
        }
    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) {
            if (errno == EINTR)
                fail("guest did not finish within %u s (in step %u, %s)", timeout, step,
                     step_name(step));
            fail("KVM_RUN: %s (in step %u, %s)", strerror(errno), step, step_name(step));
        }
        switch (run->exit_reason) {
        case KVM_EXIT_IO: {
            if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 || run->io.count != 1)
                fail("unexpected port I/O to 0x%x (in step %u, %s)", run->io.port, step,
                     step_name(step));
            uint32_t val;
            memcpy(&val, (unsigned char *)run + run->io.data_offset, 4);
            switch (run->io.port) {
            case PORT_STEP:
                if (val != step + 1)
                    fail("guest reported step %u after step %u", val, step);
                step = val;
                break;
            case PORT_EXIT:
                break;
            case PORT_SKIP: {
                size_t l = strlen(skipped);
                if (val < 64)
                    notrun |= 1ULL << val;
                snprintf(skipped + l, sizeof(skipped) - l, "%s%s (not in CPUID)", l ? ", " : "",
                         step_name(val));
                break;
            }
            case PORT_FAIL:
                if (val == 4) {
                    uint64_t x[2], saved[2], bv;
                    memcpy(x, mem + 0x7300, 16);
                    memcpy(saved, mem + 0x8000 + 160, 16);
                    memcpy(&bv, mem + 0x8000 + 512, 8);
                    uint32_t xcr0[2];
                    uint64_t live[2];
                    memcpy(xcr0, mem + 0x7310, 8);
                    memcpy(live, mem + 0x7320, 16);
                    fail("guest check failed in step 4 (%s): xmm0 after xrstor %016llx%016llx, "
                         "saved %016llx%016llx, XSTATE_BV %#llx, xmm0 after xsave %016llx%016llx, "
                         "XCR0 before/after xsave %#x/%#x",
                         step_name(val), (unsigned long long)x[1], (unsigned long long)x[0],
                         (unsigned long long)saved[1], (unsigned long long)saved[0],
                         (unsigned long long)bv, (unsigned long long)live[1],
                         (unsigned long long)live[0], xcr0[0], xcr0[1]);
                }
                fail("guest check failed in step %u (%s)", val, step_name(val));
            case PORT_EXC: {
                uint64_t mb[4];
                memcpy(mb, mem + MAILBOX_ADDR, sizeof(mb));
                fail("unexpected guest exception %u in step %u (%s); stack: %#llx %#llx", val,
                     (unsigned)mb[3], step_name((uint32_t)mb[3]), (unsigned long long)mb[1],
                     (unsigned long long)mb[2]);
            }
            case PORT_PASS:
                if (val != PASS_MAGIC || step != 7)
                    fail("bad pass report %#x after step %u", val, step);
                alarm(0);
                if (!quiet) {
                    char ran[256] = "";
                    for (uint32_t n = 2; n <= 7; n++)
                        if (!(notrun & (1ULL << n))) {
                            size_t l = strlen(ran);
                            snprintf(ran + l, sizeof(ran) - l, "%s%s", l ? ", " : "", step_name(n));
                        }
                    uint32_t xcr0_seen;
                    memcpy(&xcr0_seen, mem + 0x7330, 4);
                    printf("kvm-probe: PASS: 64-bit guest ran: %s%s%s%s\n",
                           ran[0] ? ran : "port I/O only", skipped[0] ? "; skipped: " : "", skipped,
                           !(notrun & (1ULL << 4)) && xcr0_seen != 1
                               ? "; note: the guest's xsetbv does not reach the hypervisor "
                                 "(XCR0 reverts to the VMM's value after a VM exit)"
                               : "");
                }
                return 0;
            default:
                fail("unexpected port I/O to 0x%x (in step %u, %s)", run->io.port, step,
                     step_name(step));
            }
            break;
        }
        case KVM_EXIT_HLT:
            fail("guest halted early (in step %u, %s)", step, step_name(step));
        case KVM_EXIT_SHUTDOWN:
            fail("guest shut down (triple fault) in step %u (%s)", step, step_name(step));
        case KVM_EXIT_INTERNAL_ERROR:
            fail("KVM internal error, suberror %u%s, in step %u (%s)", run->internal.suberror,
                 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? " (emulation failure)"
                                                                        : "",
                 step, step_name(step));
        case KVM_EXIT_FAIL_ENTRY:
            fail("VM entry failed, reason %#llx, in step %u (%s)",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason, step,
                 step_name(step));
        case KVM_EXIT_MMIO:
            fail("unexpected MMIO at %#llx in step %u (%s)",
                 (unsigned long long)run->mmio.phys_addr, step, step_name(step));
        default:
            fail("unexpected exit reason %u in step %u (%s)", run->exit_reason, step,
                 step_name(step));
        }
    }
}
