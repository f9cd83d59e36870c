/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Named virtio-console ports (/sys/class/virtio-ports/vportNpM/name):
 * krun-stdin, krun-stdout and krun-stderr carry the workload's standard
 * streams when the host's are not a terminal; (libkrun-c) krun-signal
 * carries signals for the workload, one signal number per byte, and
 * krun-exit takes the exit status.
 *
 * Data written to a port is only queued: the guest driver does not wait
 * for the host. Closing the last fd of a port sends PORT_OPEN 0 on the
 * control queue, and that message is synchronous (the guest waits until
 * the VMM hands the buffer back), so a close is the point where the VMM
 * must have taken everything written before it.
 */
#ifndef KRUN_INIT_PORTS_H
#define KRUN_INIT_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include "abi/guest_abi.h"

struct ports {
    int in, out, err, sig, exit; /* close-on-exec fds held by the init, or -1 */
};

void ports_init(struct ports *p);

/* True if name is a port's sysfs entry name "vport<N>p<M>". */
bool ports_entry_valid(const char *name);

enum port_role { PORT_IN, PORT_OUT, PORT_ERR, PORT_SIGNAL, PORT_EXIT, PORT_ROLES };

/* The role of a port name, or -1 for any other name. A trailing newline
 * (as sysfs shows it) is ignored. */
int ports_role(const char *name);

/* Find and open the ports. Returns 0, or -1 if a stdio or signal port
 * exists but cannot be opened (the workload's output would silently go
 * elsewhere). */
int ports_open(struct ports *p);

/* Signals a krun-signal byte may carry (others are ignored). */
bool ports_signal_allowed(int sig);

/* Close the workload's output ports: once the init's fd is the last one,
 * this returns after the VMM has taken everything written to them. */
void ports_close_outputs(struct ports *p);

/* Write the status in decimal and a newline to krun-exit and close it.
 * Never blocks for long: a host that does not read costs at most a few
 * seconds. Returns 0, or -1 if there is no such port or it failed. */
int ports_write_exit(struct ports *p, int status);

#endif
