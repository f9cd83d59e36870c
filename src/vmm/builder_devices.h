/* Creating and attaching the VM's virtio devices from its config. */
#ifndef KRUN_VMM_BUILDER_DEVICES_H
#define KRUN_VMM_BUILDER_DEVICES_H

#include <stdbool.h>

#include "util/strvec.h"
#include "vmm/vm_internal.h"

/*
 * Attach consoles, virtio-fs shares and disks, in that order. Appends one
 * "virtio_mmio.device=..." token per device to tokens, and sets
 * *workload_in_file when the root share serves /.krun_workload.
 */
int vm_attach_devices(struct vm *vm, struct strvec *tokens, bool *workload_in_file);

/* Free what vm_attach_devices kept for the VM's lifetime. */
void vm_free_device_data(struct vm *vm);

#endif
