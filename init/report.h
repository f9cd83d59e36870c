/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The end of the VM: the exit status goes to the VMM on the krun-exit port
 * (libkrun-c) and through upstream's ioctl on the root virtio-fs
 * (FUSE_IOCTL, handled by the VMM's fs server), then the guest reboots,
 * which the VMM sees as the end.
 */
#ifndef KRUN_INIT_REPORT_H
#define KRUN_INIT_REPORT_H

#include <stdnoreturn.h>

#include "ports.h"
#include "abi/guest_abi.h"

#define FUSE_SUPER_MAGIC 0x65735546 /* statfs f_type of virtio-fs */

/* Keep an fd of "/" before anything is mounted: after a switch to a
 * block-device root it still names the virtio-fs root. */
void report_init(void);

/* Send status by the ioctl. Returns 0, or -1 if the root is no virtio-fs
 * or the ioctl failed. */
int report_status(int status);

/* Close the workload's output ports (ports may be NULL), report status on
 * both channels, flush filesystems, reboot. */
noreturn void vm_end(int status, struct ports *ports);

#endif
