/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-console with multiport: port 0 is a console port (hvcN in the
 * guest), the others are named ports (/dev/vportNpM, name in sysfs).
 */
#ifndef KRUN_VIRTIO_CONSOLE_H
#define KRUN_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct console;
struct virtio_device;

#define CONSOLE_MAX_PORTS 15

struct console_port_spec {
    const char *name; /* NULL or "" for an unnamed port */
    int in_fd;        /* host -> guest, -1: none */
    int out_fd;       /* guest -> host, -1: discard */
    bool console;     /* a console port (resizable, hvc) */
    bool owns_fds;    /* close in_fd/out_fd when the device goes */
    /* Instead of out_fd: guest output is handed to this callback (worker thread). */
    void (*on_output)(void *opaque, const uint8_t *data, size_t len);
    void *output_opaque;
};

/*
 * A console device with these ports. size_fd is a TTY whose window size the
 * console ports report (-1: none). Returns 0 and the device, or -errno.
 */
int console_create(const char *name, const struct console_port_spec *ports, unsigned n_ports,
                   int size_fd, struct console **out, struct virtio_device **dev_out);

/* Re-read the window size of size_fd and tell the guest (after SIGWINCH). */
void console_resize(struct console *c);

/*
 * For tests and fuzzing: on the caller's thread, what the worker does each
 * time it wakes up: serve every queue once. Only on a device that was not
 * activated (no worker) and whose queues passed virtq_activate. Returns 0,
 * or -1 when a broken ring made the device fail.
 */
int console_process(struct console *c);

#endif
