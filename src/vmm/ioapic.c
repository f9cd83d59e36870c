/*
 * The userspace IOAPIC of a split irqchip (krun_split_irqchip): KVM keeps
 * the LAPICs, we keep the IOAPIC at 0xfec00000 and turn pin assertions into
 * MSIs. Every unmasked pin also has a GSI route (GSI n = pin n) built from
 * its redirection entry, so that irqfds of virtio devices keep injecting
 * without exits, and so that KVM reports EOIs of level-triggered vectors.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86_64/layout.h"
#include "util/log.h"
#include "vmm/vm_setup.h"

#define IOAPIC_REG_SELECT    0x00
#define IOAPIC_REG_WINDOW    0x10
#define IOAPIC_ID            0x00
#define IOAPIC_VERSION       0x01
#define IOAPIC_ARB           0x02
#define IOAPIC_REDIR_BASE    0x10
#define IOAPIC_VERSION_VALUE 0x11

#define REDIR_VECTOR       0xffull
#define REDIR_DELIVERY(e)  (((e) >> 8) & 7)
#define REDIR_DEST_LOGICAL (1ull << 11)
#define REDIR_REMOTE_IRR   (1ull << 14)
#define REDIR_LEVEL        (1ull << 15)
#define REDIR_MASKED       (1ull << 16)
#define REDIR_DEST(e)      (((e) >> 56) & 0xff)
#define REDIR_RO_BITS      ((1ull << 12) | REDIR_REMOTE_IRR) /* delivery status, remote IRR */

struct ioapic {
    pthread_mutex_t lock;
    uint32_t select;
    uint32_t id;
    uint64_t redir[VM_IOAPIC_PINS];
    bool level[VM_IOAPIC_PINS]; /* current line state */
};

static void entry_to_msi(uint64_t e, uint32_t *addr, uint32_t *data)
{
    *addr = (uint32_t)X86_LAPIC_ADDR | (uint32_t)(REDIR_DEST(e) << 12) |
            ((e & REDIR_DEST_LOGICAL) ? 1u << 2 : 0);
    *data = (uint32_t)(e & REDIR_VECTOR) | (uint32_t)(REDIR_DELIVERY(e) << 8) |
            ((e & REDIR_LEVEL) ? (1u << 15) | (1u << 14) : 0);
}

/* Rebuild the GSI routing table from the redirection entries (lock held). */
static int update_routes(struct vm *vm)
{
    struct ioapic *io = vm->ioapic;
    struct kvm_irq_routing *r =
        calloc(1, sizeof(*r) + VM_IOAPIC_PINS * sizeof(struct kvm_irq_routing_entry));
    if (!r)
        return -ENOMEM;
    for (unsigned pin = 0; pin < VM_IOAPIC_PINS; pin++) {
        uint64_t e = io->redir[pin];
        if (e & REDIR_MASKED)
            continue;
        struct kvm_irq_routing_entry *re = &r->entries[r->nr++];
        re->gsi = pin;
        re->type = KVM_IRQ_ROUTING_MSI;
        entry_to_msi(e, &re->u.msi.address_lo, &re->u.msi.data);
    }
    int ret = ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0 ? -errno : 0;
    if (ret)
        log_error("IOAPIC: KVM_SET_GSI_ROUTING failed: %s", strerror(-ret));
    free(r);
    return ret;
}

static void deliver(struct vm *vm, unsigned pin)
{
    struct ioapic *io = vm->ioapic;
    uint64_t e = io->redir[pin];
    if (e & REDIR_MASKED)
        return;
    if (e & REDIR_LEVEL) {
        if (e & REDIR_REMOTE_IRR)
            return; /* the previous one is not acknowledged yet */
        io->redir[pin] |= REDIR_REMOTE_IRR;
    }
    struct kvm_msi msi = {0};
    entry_to_msi(e, &msi.address_lo, &msi.data);
    if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0)
        log_debug("IOAPIC: KVM_SIGNAL_MSI for pin %u failed: %s", pin, strerror(errno));
}

void vm_set_irq_line(struct vm *vm, unsigned irq, bool level)
{
    if (!vm->ioapic) {
        struct kvm_irq_level line = {.irq = irq, .level = level};
        if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &line) < 0)
            log_debug("KVM_IRQ_LINE %u failed: %s", irq, strerror(errno));
        return;
    }
    if (irq >= VM_IOAPIC_PINS)
        return;
    struct ioapic *io = vm->ioapic;
    pthread_mutex_lock(&io->lock);
    bool rising = level && !io->level[irq];
    io->level[irq] = level;
    if (rising || (level && (io->redir[irq] & REDIR_LEVEL)))
        deliver(vm, irq);
    pthread_mutex_unlock(&io->lock);
}

void vm_ioapic_eoi(struct vm *vm, uint8_t vector)
{
    struct ioapic *io = vm->ioapic;
    if (!io)
        return;
    pthread_mutex_lock(&io->lock);
    for (unsigned pin = 0; pin < VM_IOAPIC_PINS; pin++) {
        uint64_t e = io->redir[pin];
        if ((e & REDIR_VECTOR) != vector || !(e & REDIR_LEVEL) || !(e & REDIR_REMOTE_IRR))
            continue;
        io->redir[pin] &= ~REDIR_REMOTE_IRR;
        if (io->level[pin])
            deliver(vm, pin);
    }
    pthread_mutex_unlock(&io->lock);
}

static uint32_t read_reg(struct ioapic *io)
{
    uint32_t reg = io->select & 0xff;
    if (reg == IOAPIC_ID)
        return io->id << 24;
    if (reg == IOAPIC_VERSION)
        return ((VM_IOAPIC_PINS - 1u) << 16) | IOAPIC_VERSION_VALUE;
    if (reg == IOAPIC_ARB)
        return io->id << 24;
    if (reg >= IOAPIC_REDIR_BASE && reg < IOAPIC_REDIR_BASE + 2 * VM_IOAPIC_PINS) {
        uint64_t e = io->redir[(reg - IOAPIC_REDIR_BASE) / 2];
        return (reg & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
    }
    return 0;
}

static void write_reg(struct vm *vm, uint32_t value)
{
    struct ioapic *io = vm->ioapic;
    uint32_t reg = io->select & 0xff;
    if (reg == IOAPIC_ID) {
        io->id = (value >> 24) & 0xf;
        return;
    }
    if (reg < IOAPIC_REDIR_BASE || reg >= IOAPIC_REDIR_BASE + 2 * VM_IOAPIC_PINS)
        return;
    unsigned pin = (reg - IOAPIC_REDIR_BASE) / 2;
    uint64_t e = io->redir[pin];
    uint64_t ro = e & REDIR_RO_BITS;
    if (reg & 1)
        e = (e & 0xffffffffull) | ((uint64_t)value << 32);
    else
        e = (e & ~0xffffffffull) | value;
    io->redir[pin] = (e & ~REDIR_RO_BITS) | ro;
    update_routes(vm);
    /* An unmasked level-triggered line that is still asserted fires now. */
    if (!(io->redir[pin] & REDIR_MASKED) && (io->redir[pin] & REDIR_LEVEL) && io->level[pin])
        deliver(vm, pin);
}

bool vm_ioapic_mmio(struct vm *vm, uint64_t addr, bool write, uint8_t *data, unsigned len)
{
    struct ioapic *io = vm->ioapic;
    if (!io || addr < X86_IOAPIC_ADDR || addr - X86_IOAPIC_ADDR >= 0x1000)
        return false;
    uint64_t off = addr - X86_IOAPIC_ADDR;
    uint32_t v = 0;
    memcpy(&v, data, len < 4 ? len : 4);
    pthread_mutex_lock(&io->lock);
    if (off == IOAPIC_REG_SELECT) {
        if (write)
            io->select = v;
        else
            v = io->select;
    } else if (off == IOAPIC_REG_WINDOW) {
        if (write)
            write_reg(vm, v);
        else
            v = read_reg(io);
    } else {
        v = 0;
    }
    pthread_mutex_unlock(&io->lock);
    if (!write)
        memcpy(data, &v, len < 4 ? len : 4);
    return true;
}

int vm_ioapic_init(struct vm *vm)
{
    struct ioapic *io = calloc(1, sizeof(*io));
    if (!io)
        return -ENOMEM;
    pthread_mutex_init(&io->lock, NULL);
    for (unsigned pin = 0; pin < VM_IOAPIC_PINS; pin++)
        io->redir[pin] = REDIR_MASKED;
    /* The MP table gives the IOAPIC the id after the last CPU. */
    io->id = vm->cfg->vcpus;
    vm->ioapic = io;
    return 0;
}

void vm_ioapic_destroy(struct vm *vm)
{
    if (!vm->ioapic)
        return;
    pthread_mutex_destroy(&vm->ioapic->lock);
    free(vm->ioapic);
    vm->ioapic = NULL;
}
