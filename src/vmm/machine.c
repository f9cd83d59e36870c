/* SPDX-License-Identifier: Apache-2.0 */
/* The KVM VM: /dev/kvm, its capabilities, the stop request and teardown. */
#include "vmm/machine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86_64/layout.h"
#include "util/log.h"
#include "vmm/event_loop.h"
#include "vmm/spawner.h"

int machine_init(struct machine *m)
{
    *m = (struct machine){.kvm_fd = -1, .vm_fd = -1};
    bus_init(&m->pio, "port I/O", 0xff); /* an empty ISA bus floats high */
    bus_init(&m->mmio, "MMIO", 0);
    atomic_init(&m->stop_reason, MACHINE_RUNNING);
    m->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    m->loop = ev_loop_new();
    if (m->loop)
        m->spawner = spawner_new(m->loop);
    if (m->stop_efd < 0 || !m->loop || !m->spawner) {
        int err = m->stop_efd < 0 ? errno : ENOMEM;
        machine_destroy(m);
        return -err;
    }
    return 0;
}

int machine_open(struct machine *m)
{
    m->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (m->kvm_fd < 0) {
        int err = errno;
        if (err == ENOENT)
            log_error("/dev/kvm does not exist: KVM is not available on this host "
                      "(is the kvm_intel or kvm_amd module loaded?)");
        else if (err == EACCES || err == EPERM)
            log_error("no permission to open /dev/kvm: add the user to the group that owns "
                      "it (usually 'kvm')");
        else
            log_error("cannot open /dev/kvm: %s", strerror(err));
        return -err;
    }
    int version = ioctl(m->kvm_fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        log_error("/dev/kvm has API version %d, expected %d", version, KVM_API_VERSION);
        return -EINVAL;
    }
    static const struct {
        int cap;
        const char *name;
    } required[] = {
        {KVM_CAP_IRQCHIP, "IRQCHIP"},
        {KVM_CAP_IOEVENTFD, "IOEVENTFD"},
        {KVM_CAP_IRQFD, "IRQFD"},
        {KVM_CAP_USER_MEMORY, "USER_MEMORY"},
        {KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR"},
        {KVM_CAP_EXT_CPUID, "EXT_CPUID"},
        {KVM_CAP_PIT2, "PIT2"},
    };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        if (ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, required[i].cap) <= 0) {
            log_error("/dev/kvm lacks the required capability KVM_CAP_%s", required[i].name);
            return -ENOTSUP;
        }
    }
    m->vm_fd = ioctl(m->kvm_fd, KVM_CREATE_VM, 0);
    if (m->vm_fd < 0) {
        int err = errno;
        log_error("KVM_CREATE_VM on /dev/kvm failed: %s", strerror(err));
        return -err;
    }
    if (ioctl(m->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)X86_TSS_ADDR) < 0) {
        int err = errno;
        log_error("KVM_SET_TSS_ADDR failed: %s", strerror(err));
        return -err;
    }
    uint64_t ident = X86_IDENTITY_MAP_ADDR;
    if (ioctl(m->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
        log_debug("KVM_SET_IDENTITY_MAP_ADDR failed: %s", strerror(errno));
    return 0;
}

void machine_request_stop(struct machine *m, enum machine_stop why)
{
    int expected = MACHINE_RUNNING;
    if (atomic_compare_exchange_strong(&m->stop_reason, &expected, (int)why)) {
        uint64_t one = 1;
        ssize_t r = write(m->stop_efd, &one, sizeof(one));
        (void)r;
    }
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void machine_destroy(struct machine *m)
{
    teardown_run(&m->teardown);
    bus_free(&m->pio);
    bus_free(&m->mmio);
    spawner_free(m->spawner, m->loop);
    m->spawner = NULL;
    ev_loop_free(m->loop);
    m->loop = NULL;
    close_fd(&m->stop_efd);
    close_fd(&m->vm_fd);
    close_fd(&m->kvm_fd);
    if (m->low.host)
        munmap(m->low.host, m->low.size);
    if (m->high.host)
        munmap(m->high.host, m->high.size);
    m->low = m->high = (struct ram_block){0};
}
