/* SPDX-License-Identifier: Apache-2.0 */
#include "devices/legacy/pvpanic.h"

#include <string.h>

#include "vmm/machine.h"

static void pvpanic_read(void *opaque, uint64_t offset, uint8_t *data, unsigned len)
{
    /* Reading the port tells the guest which events we understand. */
    memset(data, 0, len);
    data[0] = KRUN_PANIC_PANICKED;
}

static void pvpanic_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned len)
{
    if (data[0] & KRUN_PANIC_PANICKED)
        machine_request_stop(opaque, MACHINE_STOP_PANIC);
}

int pvpanic_attach(struct machine *m)
{
    struct bus_range r = {.name = "pvpanic",
                          .base = KRUN_PANIC_PORT,
                          .len = 1,
                          .read = pvpanic_read,
                          .write = pvpanic_write,
                          .opaque = m};
    return bus_register(&m->pio, &r);
}
