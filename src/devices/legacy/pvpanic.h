/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The panic port: our guest kernel's panic notifier (kernel/patches/0002)
 * writes "panicked" here before panic=-1 resets the machine, using the
 * pvpanic ISA protocol (port 0x505, bit 0 = panicked), so that a panic is
 * not mistaken for an orderly reboot.
 */
#ifndef KRUN_DEVICES_LEGACY_PVPANIC_H
#define KRUN_DEVICES_LEGACY_PVPANIC_H

#include "abi/guest_abi.h"

struct machine;

/* Put it on the machine's port I/O bus. Returns 0 or -errno. */
int pvpanic_attach(struct machine *m);

#endif
