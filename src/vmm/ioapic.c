/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/ioapic.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86_64/layout.h"

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
    const struct ioapic_ops *ops;
    void *opaque;
    uint32_t select;
    uint32_t id;
    uint64_t redir[IOAPIC_PINS];
    bool level[IOAPIC_PINS]; /* current line state */
};

static void entry_to_msi(uint64_t e, uint32_t *addr, uint32_t *data)
{
    *addr = (uint32_t)X86_LAPIC_ADDR | (uint32_t)(REDIR_DEST(e) << 12) |
            ((e & REDIR_DEST_LOGICAL) ? 1u << 2 : 0);
    *data = (uint32_t)(e & REDIR_VECTOR) | (uint32_t)(REDIR_DELIVERY(e) << 8) |
            ((e & REDIR_LEVEL) ? (1u << 15) | (1u << 14) : 0);
}

/* Tell the owner every unmasked pin's MSI, so that irqfds keep injecting without exits. */
static void update_routes(struct ioapic *io)
{
    struct ioapic_route routes[IOAPIC_PINS];
    unsigned n = 0;
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t e = io->redir[pin];
        if (e & REDIR_MASKED)
            continue;
        routes[n].pin = pin;
        entry_to_msi(e, &routes[n].msi_addr, &routes[n].msi_data);
        n++;
    }
    io->ops->set_routes(io->opaque, routes, n);
}

static void deliver(struct ioapic *io, unsigned pin)
{
    uint64_t e = io->redir[pin];
    if (e & REDIR_MASKED)
        return;
    if (e & REDIR_LEVEL) {
        if (e & REDIR_REMOTE_IRR)
            return; /* the previous one is not acknowledged yet */
        io->redir[pin] |= REDIR_REMOTE_IRR;
    }
    uint32_t addr, data;
    entry_to_msi(e, &addr, &data);
    io->ops->send_msi(io->opaque, addr, data);
}

void ioapic_set_line(struct ioapic *io, unsigned pin, bool level)
{
    if (pin >= IOAPIC_PINS)
        return;
    pthread_mutex_lock(&io->lock);
    bool rising = level && !io->level[pin];
    io->level[pin] = level;
    if (rising || (level && (io->redir[pin] & REDIR_LEVEL)))
        deliver(io, pin);
    pthread_mutex_unlock(&io->lock);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
    pthread_mutex_lock(&io->lock);
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t e = io->redir[pin];
        if ((e & REDIR_VECTOR) != vector || !(e & REDIR_LEVEL) || !(e & REDIR_REMOTE_IRR))
            continue;
        io->redir[pin] &= ~REDIR_REMOTE_IRR;
        if (io->level[pin])
            deliver(io, pin);
    }
    pthread_mutex_unlock(&io->lock);
}

static uint32_t read_reg(const struct ioapic *io)
{
    uint32_t reg = io->select & 0xff;
    if (reg == IOAPIC_ID)
        return io->id << 24;
    if (reg == IOAPIC_VERSION)
        return ((IOAPIC_PINS - 1u) << 16) | IOAPIC_VERSION_VALUE;
    if (reg == IOAPIC_ARB)
        return io->id << 24;
    if (reg >= IOAPIC_REDIR_BASE && reg < IOAPIC_REDIR_BASE + 2 * IOAPIC_PINS) {
        uint64_t e = io->redir[(reg - IOAPIC_REDIR_BASE) / 2];
        return (reg & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
    }
    return 0;
}

static void write_reg(struct ioapic *io, uint32_t value)
{
    uint32_t reg = io->select & 0xff;
    if (reg == IOAPIC_ID) {
        io->id = (value >> 24) & 0xf;
        return;
    }
    if (reg < IOAPIC_REDIR_BASE || reg >= IOAPIC_REDIR_BASE + 2 * IOAPIC_PINS)
        return;
    unsigned pin = (reg - IOAPIC_REDIR_BASE) / 2;
    uint64_t e = io->redir[pin];
    uint64_t ro = e & REDIR_RO_BITS;
    if (reg & 1)
        e = (e & 0xffffffffull) | ((uint64_t)value << 32);
    else
        e = (e & ~0xffffffffull) | value;
    io->redir[pin] = (e & ~REDIR_RO_BITS) | ro;
    update_routes(io);
    /* An unmasked level-triggered line that is still asserted fires now. */
    if (!(io->redir[pin] & REDIR_MASKED) && (io->redir[pin] & REDIR_LEVEL) && io->level[pin])
        deliver(io, pin);
}

void ioapic_mmio_read(void *opaque, uint64_t offset, uint8_t *data, unsigned len)
{
    struct ioapic *io = opaque;
    uint32_t v = 0;
    pthread_mutex_lock(&io->lock);
    if (offset == IOAPIC_REG_SELECT)
        v = io->select;
    else if (offset == IOAPIC_REG_WINDOW)
        v = read_reg(io);
    pthread_mutex_unlock(&io->lock);
    memset(data, 0, len);
    memcpy(data, &v, len < 4 ? len : 4);
}

void ioapic_mmio_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned len)
{
    struct ioapic *io = opaque;
    uint32_t v = 0;
    memcpy(&v, data, len < 4 ? len : 4);
    pthread_mutex_lock(&io->lock);
    if (offset == IOAPIC_REG_SELECT)
        io->select = v;
    else if (offset == IOAPIC_REG_WINDOW)
        write_reg(io, v);
    pthread_mutex_unlock(&io->lock);
}

struct ioapic *ioapic_new(unsigned id, const struct ioapic_ops *ops, void *opaque)
{
    struct ioapic *io = calloc(1, sizeof(*io));
    if (!io)
        return NULL;
    pthread_mutex_init(&io->lock, NULL);
    io->ops = ops;
    io->opaque = opaque;
    io->id = id;
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
        io->redir[pin] = REDIR_MASKED;
    return io;
}

void ioapic_free(struct ioapic *io)
{
    if (!io)
        return;
    pthread_mutex_destroy(&io->lock);
    free(io);
}
