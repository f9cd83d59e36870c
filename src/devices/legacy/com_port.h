/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The legacy COM ports of krun_add_serial_console_default: a 16550A UART
 * (serial.c) on the port I/O bus, its interrupt line, and its host input
 * watched on the machine's event loop.
 */
#ifndef KRUN_DEVICES_LEGACY_COM_PORT_H
#define KRUN_DEVICES_LEGACY_COM_PORT_H

struct machine;

#define COM_PORTS 4 /* COM1 0x3f8 IRQ 4, COM2 0x2f8 IRQ 3, COM3 0x3e8 IRQ 4, COM4 0x2e8 IRQ 3 */

/*
 * Attach COM(index+1), writing guest output to out_fd and taking input
 * from in_fd (-1: none). The fds stay the caller's. Returns 0 or -errno.
 */
int com_port_attach(struct machine *m, unsigned index, int in_fd, int out_fd);

#endif
