/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The devices a VM gets, in attach order. The order defines the virtio
 * MMIO windows and IRQs, and so what the guest sees (hvc0 first, vda
 * before vdb); it is upstream's order.
 *
 * To add a device: write vm/attach_NAME.c with
 *     int vm_attach_NAME(struct vm *vm)
 * which reads vm->cfg, creates the device, and attaches it (virtio devices
 * with vm_attach_virtio, others on vm->m's buses, each pushing its own
 * teardown), and add X(NAME) to the list below. Nothing else changes.
 */
#ifndef KRUN_VM_DEVICES_H
#define KRUN_VM_DEVICES_H

struct vm;

#define VM_DEVICES(X)                                                                              \
    X(legacy)           /* i8042 reset, panic port, POST port, COM ports */                        \
    X(implicit_console) /* hvc0 with the krun-* ports (workload streams, signals, exit) */         \
    X(consoles)         /* krun_add_virtio_console_* */                                            \
    X(shares)           /* virtio-fs: krun_set_root, krun_add_virtiofs* */                         \
    X(disks)            /* virtio-blk: krun_add_disk* */                                           \
    X(vsock)            /* virtio-vsock: TSI, krun_add_vsock_port* */                              \
    X(net)              /* virtio-net: krun_add_net_*, krun_set_passt_fd, krun_set_gvproxy_path */ \
    X(rng)              /* virtio-rng: /dev/hwrng from the host's getrandom() */                   \
    X(balloon)          /* virtio-balloon: free page reporting gives freed guest RAM back */

#define VM_DEVICE_DECLARE(name) int vm_attach_##name(struct vm *vm);
VM_DEVICES(VM_DEVICE_DECLARE)
#undef VM_DEVICE_DECLARE

/* Attach every device of the list in order. Returns 0 or the first error. */
int vm_attach_devices(struct vm *vm);

#endif
