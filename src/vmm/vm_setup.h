/* Steps of building and tearing down a VM, shared between the src/vmm files. */
#ifndef KRUN_VMM_VM_SETUP_H
#define KRUN_VMM_VM_SETUP_H

#include <stdbool.h>
#include <stdint.h>

#include "api/ctx.h"
#include "arch/x86_64/boot.h"
#include "vmm/vm_internal.h"

#define VM_IOAPIC_PINS 24

/* vm.c */
struct vm *vm_alloc(const struct vm_config *cfg);
int vm_open_kvm(struct vm *vm);
int vm_create_irqchip(struct vm *vm, bool split);
int vm_create_memory(struct vm *vm, uint64_t total, const struct kernel_bundle *bundle);

/* vcpu.c */
int vm_create_vcpus(struct vm *vm, const struct x86_boot *boot);
int vm_start_vcpus(struct vm *vm);
void vm_stop_vcpus(struct vm *vm);
void vm_destroy_vcpus(struct vm *vm);

/* legacy.c: i8042 (reset), panic port, optional serial ports */
int vm_add_legacy_devices(struct vm *vm);
void vm_destroy_legacy_devices(struct vm *vm);

/* serial_ports.c: the UARTs of krun_add_serial_console_default */
int vm_add_serial_ports(struct vm *vm);
void vm_destroy_serial_ports(struct vm *vm);

/* ioapic.c: the userspace IOAPIC of a split irqchip */
int vm_ioapic_init(struct vm *vm);
void vm_ioapic_destroy(struct vm *vm);
bool vm_ioapic_mmio(struct vm *vm, uint64_t addr, bool write, uint8_t *data, unsigned len);
void vm_ioapic_eoi(struct vm *vm, uint8_t vector);

/* devices.c: attach a virtio device at the next MMIO window and IRQ */
int vm_attach_virtio(struct vm *vm, struct virtio_device *dev);

#endif
