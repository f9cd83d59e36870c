/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The i8042 keyboard controller, as far as a guest needs it: its status
 * reads "nothing pending", and its CPU-reset command (0xfe written to port
 * 0x64, how Linux reboots with reboot=k) stops the machine.
 */
#ifndef KRUN_DEVICES_LEGACY_I8042_H
#define KRUN_DEVICES_LEGACY_I8042_H

struct machine;

#define I8042_DATA_PORT    0x60
#define I8042_COMMAND_PORT 0x64
#define I8042_CMD_RESET    0xfe

/* Put it on the machine's port I/O bus. Returns 0 or -errno. */
int i8042_attach(struct machine *m);

#endif
