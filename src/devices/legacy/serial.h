/* SPDX-License-Identifier: Apache-2.0 */
/* A 16550A UART on a legacy COM port (krun_add_serial_console_default). */
#ifndef KRUN_DEVICES_LEGACY_SERIAL_H
#define KRUN_DEVICES_LEGACY_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

struct serial;

struct serial_ops {
    /* Raise or lower the UART's interrupt line (also from the output's writer thread). */
    void (*set_irq)(void *opaque, bool level);
    /* The receive FIFO was full and has room again: resume reading input. */
    void (*rx_space)(void *opaque);
};

/*
 * A UART writing guest output to out_fd and taking input from in_fd (-1:
 * none); name is for messages. Returns NULL if out of memory or threads.
 */
struct serial *serial_new(const char *name, int in_fd, int out_fd, const struct serial_ops *ops,
                          void *opaque);
void serial_free(struct serial *s);

/* Register access from a vCPU (offset 0..7 from the base port). */
uint8_t serial_read(struct serial *s, unsigned offset);
void serial_write(struct serial *s, unsigned offset, uint8_t value);

enum serial_input { SERIAL_INPUT_MORE, SERIAL_INPUT_FULL, SERIAL_INPUT_EOF };

/* Host input arrived: read what fits into the receive FIFO. FULL: stop
 * watching the input until rx_space is called. */
enum serial_input serial_input_ready(struct serial *s);

#endif
