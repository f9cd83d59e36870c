/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running a built VM: vCPU threads run the guest while the event loop
 * thread takes the signals meant for the workload, the shutdown eventfd
 * and the machine's requests (stop, device threads); the calling thread
 * waits for it. When the guest stops, the vCPUs are stopped and
 * the exit status decided.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "util/log.h"
#include "virtio/console.h"
#include "vm/vm.h"
#include "util/thread.h"
#include "vmm/event_loop.h"
#include "vmm/spawner.h"
#include "vmm/vcpu.h"

/* Signals that the workload receives when the VMM process does. */
static const int forwarded_signals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};

static void on_stop_event(void *opaque, uint32_t events)
{
    struct vm *vm = opaque;
    uint64_t v;
    ssize_t r = read(vm->m.stop_efd, &v, sizeof(v));
    (void)r;
    ev_loop_stop(vm->m.loop);
}

static void send_to_workload(struct vm *vm, int sig)
{
    uint8_t b = (uint8_t)sig;
    if (vm->signal_wfd < 0 || write(vm->signal_wfd, &b, 1) != 1) {
        /* No way to tell the guest: the signal ends the VM, as it would a process. */
        log_warn("signal %d cannot be forwarded to the guest; stopping the VM", sig);
        vm_set_exit_status(vm, 128 + sig);
        machine_request_stop(&vm->m, MACHINE_STOP_RESET);
    }
}

struct signal_source {
    struct vm *vm;
    int fd;
};

static void on_signal(void *opaque, uint32_t events)
{
    struct signal_source *s = opaque;
    struct signalfd_siginfo si;
    while (read(s->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGWINCH) {
            if (s->vm->console)
                console_resize(s->vm->console);
        } else {
            send_to_workload(s->vm, (int)si.ssi_signo);
        }
    }
}

static void on_shutdown_request(void *opaque, uint32_t events)
{
    struct vm *vm = opaque;
    uint64_t v;
    if (read(vm->cfg->shutdown_efd, &v, sizeof(v)) != sizeof(v))
        return;
    log_info("shutdown requested: sending SIGTERM to the workload");
    send_to_workload(vm, SIGTERM);
}

static int decide_status(struct vm *vm)
{
    int status = atomic_load(&vm->exit_status);
    switch ((enum machine_stop)atomic_load(&vm->m.stop_reason)) {
    case MACHINE_STOP_RESET:
        return status == VM_NO_STATUS ? 0 : (status & 0xff);
    case MACHINE_STOP_PANIC:
        log_error("the guest kernel panicked");
        return 1;
    case MACHINE_STOP_TRIPLE_FAULT:
        /* After init reported the workload's status, the guest was only powering
           off: the workload's result stands, as it would after a clean reboot. */
        if (status != VM_NO_STATUS) {
            log_warn("the guest triple-faulted after its workload ended (status %d); that "
                     "status stands",
                     status & 0xff);
            return status & 0xff;
        }
        log_error("the guest triple-faulted (CPU reset without a reboot request)");
        return 1;
    case MACHINE_STOP_ERROR:
    case MACHINE_RUNNING:
    default:
        return 1;
    }
}

struct loop_run {
    struct event_loop *loop;
    int ret;
};

static void *loop_main(void *arg)
{
    struct loop_run *lr = arg;
    lr->ret = ev_loop_run(lr->loop);
    return NULL;
}

int vm_run(struct vm *vm)
{
    sigset_t sigs, old;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGWINCH);
    for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
        sigaddset(&sigs, forwarded_signals[i]);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    struct signal_source sigsrc = {.vm = vm, .fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK)};

    struct event_loop *loop = vm->m.loop;
    int ret = ev_loop_add(loop, vm->m.stop_efd, EPOLLIN, on_stop_event, vm);
    if (!ret && sigsrc.fd >= 0)
        ret = ev_loop_add(loop, sigsrc.fd, EPOLLIN, on_signal, &sigsrc);
    if (!ret && vm->cfg->shutdown_efd >= 0)
        ret = ev_loop_add(loop, vm->cfg->shutdown_efd, EPOLLIN, on_shutdown_request, vm);
    if (!ret)
        ret = vcpus_start(vm->vcpus);
    /* The loop runs on a thread of its own, under its own seccomp filter: the
       caller's thread must come back unfiltered (krun_start_wait). */
    struct loop_run lr = {.loop = loop};
    pthread_t loop_thread;
    if (!ret)
        ret = thread_start(&loop_thread, "krun-loop", SANDBOX_LOOP, loop_main, &lr);
    if (!ret) {
        pthread_join(loop_thread, NULL);
        ret = lr.ret;
    }
    if (ret)
        machine_request_stop(&vm->m, MACHINE_STOP_ERROR);
    spawner_close(vm->m.spawner); /* a vCPU still activating a device gives up */
    vcpus_stop(vm->vcpus);

    ev_loop_del(loop, vm->m.stop_efd);
    if (vm->cfg->shutdown_efd >= 0)
        ev_loop_del(loop, vm->cfg->shutdown_efd);
    if (sigsrc.fd >= 0) {
        ev_loop_del(loop, sigsrc.fd);
        close(sigsrc.fd);
    }
    /* Signals that arrived meanwhile stay pending and act normally after this. */
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    vm_log_final_stats(vm);
    return decide_status(vm);
}
