/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An IOAPIC (82093AA register model, 24 pins) for KVM's split irqchip
 * (krun_split_irqchip): KVM keeps the LAPICs, we keep the IOAPIC and turn
 * pin assertions into MSIs. It does no KVM calls itself: the owner is told
 * through ioapic_ops when the routes change and when to send an MSI, so the
 * model can be tested alone.
 */
#ifndef KRUN_VMM_IOAPIC_H
#define KRUN_VMM_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_PINS      24
#define IOAPIC_MMIO_SIZE 0x1000

struct ioapic;

/* An unmasked pin and the MSI its redirection entry describes. */
struct ioapic_route {
    unsigned pin;
    uint32_t msi_addr, msi_data;
};

struct ioapic_ops {
    /* The unmasked pins changed (all of them, n <= IOAPIC_PINS). */
    void (*set_routes)(void *opaque, const struct ioapic_route *routes, unsigned n);
    /* Deliver an interrupt now. */
    void (*send_msi)(void *opaque, uint32_t msi_addr, uint32_t msi_data);
};

/* A reset IOAPIC (every pin masked) with this APIC id. NULL if out of memory. */
struct ioapic *ioapic_new(unsigned id, const struct ioapic_ops *ops, void *opaque);
void ioapic_free(struct ioapic *io);

/* A device drives a pin's line (edge: on the rising level; level: while high). */
void ioapic_set_line(struct ioapic *io, unsigned pin, bool level);

/* A LAPIC sent an EOI for vector: level-triggered pins with it may fire again. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* Register access (bus handlers; opaque is the struct ioapic). */
void ioapic_mmio_read(void *opaque, uint64_t offset, uint8_t *data, unsigned len);
void ioapic_mmio_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned len);

#endif
