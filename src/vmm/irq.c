/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/irq.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86_64/layout.h"
#include "util/log.h"
#include "vmm/ioapic.h"
#include "vmm/machine.h"

/* GSI n = IOAPIC pin n, routed to the MSI of its redirection entry. */
static void set_routes(void *opaque, const struct ioapic_route *routes, unsigned n)
{
    struct machine *m = opaque;
    struct kvm_irq_routing *r = calloc(1, sizeof(*r) + n * sizeof(struct kvm_irq_routing_entry));
    if (!r) {
        log_error("IOAPIC: out of memory for the GSI routes");
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        struct kvm_irq_routing_entry *e = &r->entries[r->nr++];
        e->gsi = routes[i].pin;
        e->type = KVM_IRQ_ROUTING_MSI;
        e->u.msi.address_lo = routes[i].msi_addr;
        e->u.msi.data = routes[i].msi_data;
    }
    if (ioctl(m->vm_fd, KVM_SET_GSI_ROUTING, r) < 0)
        log_error("IOAPIC: KVM_SET_GSI_ROUTING failed: %s", strerror(errno));
    free(r);
}

static void send_msi(void *opaque, uint32_t msi_addr, uint32_t msi_data)
{
    struct machine *m = opaque;
    struct kvm_msi msi = {.address_lo = msi_addr, .data = msi_data};
    if (ioctl(m->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
        log_debug("IOAPIC: KVM_SIGNAL_MSI failed: %s", strerror(errno));
}

static const struct ioapic_ops ioapic_to_kvm = {.set_routes = set_routes, .send_msi = send_msi};

static void free_ioapic(void *arg)
{
    struct machine *m = arg;
    ioapic_free(m->ioapic);
    m->ioapic = NULL;
}

static int create_split(struct machine *m, unsigned ioapic_id)
{
    struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {IOAPIC_PINS}};
    if (ioctl(m->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
        int err = errno;
        log_error("KVM split irqchip is not available: %s", strerror(err));
        return -err;
    }
    m->ioapic = ioapic_new(ioapic_id, &ioapic_to_kvm, m);
    if (!m->ioapic)
        return -ENOMEM;
    int ret = teardown_push(&m->teardown, free_ioapic, m);
    if (ret)
        return ret;
    struct bus_range r = {.name = "IOAPIC",
                          .base = X86_IOAPIC_ADDR,
                          .len = IOAPIC_MMIO_SIZE,
                          .read = ioapic_mmio_read,
                          .write = ioapic_mmio_write,
                          .opaque = m->ioapic};
    return bus_register(&m->mmio, &r);
}

int machine_create_irqchip(struct machine *m, bool split, unsigned ioapic_id)
{
    if (split)
        return create_split(m, ioapic_id);
    if (ioctl(m->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        int err = errno;
        log_error("KVM_CREATE_IRQCHIP failed: %s", strerror(err));
        return -err;
    }
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    if (ioctl(m->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
        int err = errno;
        log_error("KVM_CREATE_PIT2 failed: %s", strerror(err));
        return -err;
    }
    return 0;
}

void machine_set_irq_line(struct machine *m, unsigned irq, bool level)
{
    if (m->ioapic) {
        ioapic_set_line(m->ioapic, irq, level);
        return;
    }
    struct kvm_irq_level line = {.irq = irq, .level = level};
    if (ioctl(m->vm_fd, KVM_IRQ_LINE, &line) < 0)
        log_debug("KVM_IRQ_LINE %u failed: %s", irq, strerror(errno));
}

void machine_eoi(struct machine *m, uint8_t vector)
{
    if (m->ioapic)
        ioapic_eoi(m->ioapic, vector);
}

int machine_add_irqfd(struct machine *m, unsigned gsi, int fd)
{
    struct kvm_irqfd irqfd = {.fd = (uint32_t)fd, .gsi = gsi};
    if (ioctl(m->vm_fd, KVM_IRQFD, &irqfd) < 0) {
        int err = errno;
        log_error("KVM_IRQFD for IRQ %u failed: %s", gsi, strerror(err));
        return -err;
    }
    return 0;
}

int machine_add_ioeventfd(struct machine *m, uint64_t addr, unsigned len, uint64_t datamatch,
                          int fd)
{
    struct kvm_ioeventfd io = {
        .datamatch = datamatch,
        .addr = addr,
        .len = len,
        .fd = fd,
        .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
    };
    if (ioctl(m->vm_fd, KVM_IOEVENTFD, &io) < 0) {
        int err = errno;
        log_error("KVM_IOEVENTFD at 0x%llx failed: %s", (unsigned long long)addr, strerror(err));
        return -err;
    }
    return 0;
}
