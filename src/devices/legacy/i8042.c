/* SPDX-License-Identifier: Apache-2.0 */
#include "devices/legacy/i8042.h"

#include <string.h>

#include "vmm/machine.h"

static void i8042_read(void *opaque, uint64_t offset, uint8_t *data, unsigned len)
{
    /* Status 0: output buffer empty, input buffer free; data reads 0. */
    memset(data, 0, len);
}

static void i8042_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned len)
{
    if (offset == I8042_COMMAND_PORT - I8042_DATA_PORT && data[0] == I8042_CMD_RESET)
        machine_request_stop(opaque, MACHINE_STOP_RESET);
}

int i8042_attach(struct machine *m)
{
    struct bus_range r = {.name = "i8042",
                          .base = I8042_DATA_PORT,
                          .len = I8042_COMMAND_PORT - I8042_DATA_PORT + 1,
                          .read = i8042_read,
                          .write = i8042_write,
                          .opaque = m};
    return bus_register(&m->pio, &r);
}
