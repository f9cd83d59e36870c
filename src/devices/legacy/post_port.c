/* SPDX-License-Identifier: Apache-2.0 */
#include "devices/legacy/post_port.h"

#include "vmm/machine.h"

int post_port_attach(struct machine *m)
{
    /* No handlers: reads float high, writes go nowhere. */
    struct bus_range r = {.name = "POST port", .base = POST_PORT, .len = 1};
    return bus_register(&m->pio, &r);
}
