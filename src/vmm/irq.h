/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interrupts of a machine: the interrupt controller (KVM's in-kernel
 * IOAPIC and PIT, or our IOAPIC with KVM's split irqchip), legacy lines
 * that devices drive, and the eventfds that let KVM inject an interrupt
 * or take a doorbell write without an exit to the VMM.
 */
#ifndef KRUN_VMM_IRQ_H
#define KRUN_VMM_IRQ_H

#include <stdbool.h>
#include <stdint.h>

struct machine;

/*
 * Create the interrupt controller. split: KVM keeps the LAPICs and our
 * IOAPIC (APIC id ioapic_id, as the MP table says) sits on the MMIO bus.
 * Returns 0 or -errno.
 */
int machine_create_irqchip(struct machine *m, bool split, unsigned ioapic_id);

/* Drive a legacy (ISA) interrupt line. */
void machine_set_irq_line(struct machine *m, unsigned irq, bool level);

/* A vCPU saw an EOI for vector (split irqchip only). */
void machine_eoi(struct machine *m, uint8_t vector);

/* KVM injects interrupt gsi whenever fd is written. Returns 0 or -errno. */
int machine_add_irqfd(struct machine *m, unsigned gsi, int fd);

/* KVM signals fd, without an exit, when the guest writes `datamatch` (len bytes) to MMIO addr. */
int machine_add_ioeventfd(struct machine *m, uint64_t addr, unsigned len, uint64_t datamatch,
                          int fd);

#endif
