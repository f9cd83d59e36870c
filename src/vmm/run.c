/*
 * Running a built VM: vCPU threads run the guest while the calling thread
 * runs the event loop, which also takes the signals meant for the workload
 * and the shutdown eventfd. When the guest stops, the vCPUs are stopped and
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
#include "vmm/event_loop.h"
#include "vmm/vm_setup.h"

/* Signals that the workload receives when the VMM process does. */
static const int forwarded_signals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};

static void on_exit_event(void *opaque, uint32_t events)
{
    struct vm *vm = opaque;
    uint64_t v;
    ssize_t r = read(vm->exit_efd, &v, sizeof(v));
    (void)r;
    ev_loop_stop(vm->loop);
}

static void send_to_workload(struct vm *vm, int sig)
{
    uint8_t b = (uint8_t)sig;
    if (vm->signal_wfd < 0 || write(vm->signal_wfd, &b, 1) != 1) {
        /* No way to tell the guest: the signal ends the VM, as it would a process. */
        log_warn("signal %d cannot be forwarded to the guest; stopping the VM", sig);
        atomic_store(&vm->exit_status, 128 + sig);
        vm_request_stop(vm, VM_STOP_RESET);
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
    if (read(vm->shutdown_efd, &v, sizeof(v)) != sizeof(v))
        return;
    log_info("shutdown requested: sending SIGTERM to the workload");
    send_to_workload(vm, SIGTERM);
}

static int decide_status(struct vm *vm)
{
    int status = atomic_load(&vm->exit_status);
    switch ((enum vm_stop)atomic_load(&vm->stop_reason)) {
    case VM_STOP_RESET:
        return status == VM_NO_STATUS ? 0 : (status & 0xff);
    case VM_STOP_PANIC:
        log_error("the guest kernel panicked");
        return 1;
    case VM_STOP_TRIPLE_FAULT:
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
    case VM_STOP_ERROR:
    case VM_RUNNING:
    default:
        return 1;
    }
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

    int ret = ev_loop_add(vm->loop, vm->exit_efd, EPOLLIN, on_exit_event, vm);
    if (!ret && sigsrc.fd >= 0)
        ret = ev_loop_add(vm->loop, sigsrc.fd, EPOLLIN, on_signal, &sigsrc);
    if (!ret && vm->cfg->shutdown_efd >= 0) {
        vm->shutdown_efd = vm->cfg->shutdown_efd;
        ret = ev_loop_add(vm->loop, vm->shutdown_efd, EPOLLIN, on_shutdown_request, vm);
    }
    if (!ret)
        ret = vm_start_vcpus(vm);
    if (!ret)
        ret = ev_loop_run(vm->loop);
    if (ret)
        vm_request_stop(vm, VM_STOP_ERROR);
    vm_stop_vcpus(vm);

    if (sigsrc.fd >= 0) {
        ev_loop_del(vm->loop, sigsrc.fd);
        close(sigsrc.fd);
    }
    /* Signals that arrived meanwhile stay pending and act normally after this. */
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    vm_log_final_stats(vm);
    return decide_status(vm);
}
