/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vCPU threads. Each runs KVM_RUN and dispatches port I/O and MMIO exits.
 *
 * To stop a vCPU that is blocked inside KVM_RUN (e.g. halted), the VMM sends
 * it a real-time signal. The thread keeps that signal blocked and tells KVM
 * to unblock it only during KVM_RUN (KVM_SET_SIGNAL_MASK): KVM_RUN then
 * returns EINTR and the signal stays pending, to be consumed with
 * sigtimedwait. So no signal handler is ever installed in the host process.
 */
#include "vmm/vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86_64/boot.h"
#include "util/log.h"
#include "util/thread.h"
#include "vmm/irq.h"
#include "vmm/machine.h"

static void consume_kick(int sig)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&set, NULL, &zero) == sig) {
    }
}

static void handle_io(struct vcpu *v)
{
    struct kvm_run *run = v->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    bool write = run->io.direction == KVM_EXIT_IO_OUT;
    for (uint32_t i = 0; i < run->io.count; i++) {
        bus_access(&v->set->m->pio, run->io.port, write, data, run->io.size);
        data += run->io.size;
    }
}

static const char *exit_name(uint32_t reason)
{
    switch (reason) {
    case KVM_EXIT_FAIL_ENTRY:
        return "FAIL_ENTRY";
    case KVM_EXIT_INTERNAL_ERROR:
        return "INTERNAL_ERROR";
    case KVM_EXIT_EXCEPTION:
        return "EXCEPTION";
    default:
        return "unexpected exit";
    }
}

/*
 * A vCPU shut down (KVM_EXIT_SHUTDOWN): a triple fault. Logs its registers;
 * on AMD hosts KVM has already reset the vCPU by then (the VMCB is undefined
 * after a shutdown), so they show the reset state, not where it faulted.
 */
static void log_shutdown(const struct vcpu *v)
{
    struct kvm_regs r;
    struct kvm_sregs sr;
    if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sr) < 0) {
        log_warn("vCPU %u shut down (triple fault); its registers are unreadable: %s", v->index,
                 strerror(errno));
        return;
    }
    log_warn("vCPU %u shut down (triple fault); registers after it: RIP 0x%llx, CS 0x%x, "
             "RSP 0x%llx, CR0 0x%llx, CR2 0x%llx, CR3 0x%llx, CR4 0x%llx, EFER 0x%llx",
             v->index, r.rip, sr.cs.selector, r.rsp, sr.cr0, sr.cr2, sr.cr3, sr.cr4, sr.efer);
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    struct vcpus *vs = v->set;
    struct machine *m = vs->m;
    if (v->index == 0 && vs->on_first_run)
        vs->on_first_run(vs->opaque);
    while (!atomic_load(&vs->stopping)) {
        if (ioctl(v->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                consume_kick(vs->kick_signal);
                continue;
            }
            log_error("vCPU %u: KVM_RUN failed: %s", v->index, strerror(errno));
            machine_request_stop(m, MACHINE_STOP_ERROR);
            break;
        }
        switch (v->run->exit_reason) {
        case KVM_EXIT_IO:
            atomic_fetch_add_explicit(&m->exits_io, 1, memory_order_relaxed);
            handle_io(v);
            break;
        case KVM_EXIT_MMIO:
            atomic_fetch_add_explicit(&m->exits_mmio, 1, memory_order_relaxed);
            bus_access(&m->mmio, v->run->mmio.phys_addr, v->run->mmio.is_write, v->run->mmio.data,
                       v->run->mmio.len);
            break;
        case KVM_EXIT_IOAPIC_EOI:
            atomic_fetch_add_explicit(&m->exits_other, 1, memory_order_relaxed);
            machine_eoi(m, v->run->eoi.vector);
            break;
        case KVM_EXIT_HLT:
            /* Only without an in-kernel LAPIC; we always have one. */
            machine_request_stop(m, MACHINE_STOP_RESET);
            return NULL;
        case KVM_EXIT_SHUTDOWN:
            log_shutdown(v);
            machine_request_stop(m, MACHINE_STOP_TRIPLE_FAULT);
            return NULL;
        case KVM_EXIT_SYSTEM_EVENT:
            machine_request_stop(m, v->run->system_event.type == KVM_SYSTEM_EVENT_CRASH
                                        ? MACHINE_STOP_PANIC
                                        : MACHINE_STOP_RESET);
            return NULL;
        case KVM_EXIT_INTR:
            consume_kick(vs->kick_signal);
            break;
        default:
            log_error("vCPU %u: %s (KVM exit reason %u)", v->index, exit_name(v->run->exit_reason),
                      v->run->exit_reason);
            machine_request_stop(m, MACHINE_STOP_ERROR);
            return NULL;
        }
    }
    return NULL;
}

static void destroy_vcpus(void *arg)
{
    struct vcpus *vs = arg;
    vcpus_stop(vs);
    for (unsigned i = 0; i < vs->n; i++) {
        struct vcpu *v = &vs->v[i];
        if (v->run)
            munmap(v->run, v->run_size);
        if (v->fd >= 0)
            close(v->fd);
    }
    free(vs->v);
    free(vs);
}

int vcpus_create(struct machine *m, unsigned n, bool nested_virt, const struct x86_boot *boot,
                 struct vcpus **out)
{
    int run_size = ioctl(m->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size <= 0) {
        log_error("KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno));
        return -EINVAL;
    }
    bool tsc_deadline = ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
    struct vcpus *vs = calloc(1, sizeof(*vs));
    if (!vs)
        return -ENOMEM;
    vs->m = m;
    vs->kick_signal = SIGRTMAX - 1;
    vs->v = calloc(n, sizeof(*vs->v));
    if (!vs->v) {
        free(vs);
        return -ENOMEM;
    }
    int ret = teardown_push(&m->teardown, destroy_vcpus, vs);
    if (ret)
        return ret;
    for (unsigned i = 0; i < n; i++) {
        struct vcpu *v = &vs->v[i];
        *v = (struct vcpu){.set = vs, .index = i, .fd = -1};
        vs->n++;
        v->fd = ioctl(m->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
        if (v->fd < 0) {
            ret = -errno;
            log_error("cannot create vCPU %u: %s", i, strerror(-ret));
            return ret;
        }
        v->run_size = (size_t)run_size;
        v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
        if (v->run == MAP_FAILED) {
            v->run = NULL;
            ret = -errno;
            log_error("cannot map the run area of vCPU %u: %s", i, strerror(-ret));
            return ret;
        }
        ret = x86_setup_cpuid(m->kvm_fd, v->fd, i, n, nested_virt, tsc_deadline);
        if (!ret)
            ret = x86_setup_vcpu(v->fd, boot, i);
        if (ret) {
            log_error("cannot set up vCPU %u: %s", i, strerror(-ret));
            return ret;
        }
    }
    *out = vs;
    return 0;
}

int vcpus_start(struct vcpus *vs)
{
    /* The threads start with every signal blocked (util/thread.h); during
       KVM_RUN only the kick signal is unblocked (the kernel's sigset is 8 bytes). */
    struct kvm_signal_mask *kvm_mask = calloc(1, sizeof(*kvm_mask) + 8);
    if (!kvm_mask)
        return -ENOMEM;
    kvm_mask->len = 8;
    sigset_t during_run;
    sigfillset(&during_run);
    sigdelset(&during_run, vs->kick_signal);
    memcpy(kvm_mask->sigset, &during_run, 8);

    int ret = 0;
    for (unsigned i = 0; i < vs->n && !ret; i++) {
        struct vcpu *v = &vs->v[i];
        if (ioctl(v->fd, KVM_SET_SIGNAL_MASK, kvm_mask) < 0) {
            ret = -errno;
            log_error("KVM_SET_SIGNAL_MASK failed: %s", strerror(-ret));
            break;
        }
        char name[24];
        snprintf(name, sizeof(name), "krun-vcpu%u", i);
        ret = thread_start(&v->thread, name, SANDBOX_VCPU, vcpu_thread, v);
        if (ret)
            log_error("cannot start vCPU thread %u: %s", i, strerror(-ret));
        else
            v->started = true;
    }
    free(kvm_mask);
    return ret;
}

void vcpus_stop(struct vcpus *vs)
{
    atomic_store(&vs->stopping, true);
    for (unsigned i = 0; i < vs->n; i++) {
        struct vcpu *v = &vs->v[i];
        if (v->started) {
            pthread_kill(v->thread, vs->kick_signal);
            pthread_join(v->thread, NULL);
            v->started = false;
        }
    }
}
