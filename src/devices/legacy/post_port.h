/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The POST diagnostic port 0x80, which Linux writes for short I/O delays:
 * writes are dropped here instead of counting as accesses to nothing.
 */
#ifndef KRUN_DEVICES_LEGACY_POST_PORT_H
#define KRUN_DEVICES_LEGACY_POST_PORT_H

struct machine;

#define POST_PORT 0x80

/* Put it on the machine's port I/O bus. Returns 0 or -errno. */
int post_port_attach(struct machine *m);

#endif
