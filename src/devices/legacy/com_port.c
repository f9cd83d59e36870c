/* SPDX-License-Identifier: Apache-2.0 */
#include "devices/legacy/com_port.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "devices/legacy/serial.h"
#include "util/log.h"
#include "vmm/event_loop.h"
#include "vmm/irq.h"
#include "vmm/machine.h"

static const uint16_t com_base[COM_PORTS] = {0x3f8, 0x2f8, 0x3e8, 0x2e8};
static const unsigned com_irq[COM_PORTS] = {4, 3, 4, 3};

struct com_port {
    struct machine *m;
    struct serial *uart;
    char name[8];
    int in_fd;
    unsigned irq;
    bool watching;
};

static void port_read(void *opaque, uint64_t offset, uint8_t *data, unsigned len)
{
    struct com_port *p = opaque;
    for (unsigned i = 0; i < len; i++)
        data[i] = serial_read(p->uart, (unsigned)offset + i);
}

static void port_write(void *opaque, uint64_t offset, const uint8_t *data, unsigned len)
{
    struct com_port *p = opaque;
    for (unsigned i = 0; i < len; i++)
        serial_write(p->uart, (unsigned)offset + i, data[i]);
}

static void set_irq(void *opaque, bool level)
{
    struct com_port *p = opaque;
    machine_set_irq_line(p->m, p->irq, level);
}

static void rx_space(void *opaque)
{
    struct com_port *p = opaque;
    if (!p->watching && ev_loop_mod(p->m->loop, p->in_fd, EPOLLIN) == 0)
        p->watching = true;
}

static const struct serial_ops port_ops = {.set_irq = set_irq, .rx_space = rx_space};

static void on_input(void *opaque, uint32_t events)
{
    struct com_port *p = opaque;
    switch (serial_input_ready(p->uart)) {
    case SERIAL_INPUT_MORE:
        break;
    case SERIAL_INPUT_FULL:
        p->watching = false;
        ev_loop_mod(p->m->loop, p->in_fd, 0);
        break;
    case SERIAL_INPUT_EOF:
        p->watching = false;
        ev_loop_del(p->m->loop, p->in_fd);
        p->in_fd = -1;
        break;
    }
}

static void destroy_port(void *arg)
{
    struct com_port *p = arg;
    if (p->in_fd >= 0)
        ev_loop_del(p->m->loop, p->in_fd);
    serial_free(p->uart);
    free(p);
}

int com_port_attach(struct machine *m, unsigned index, int in_fd, int out_fd)
{
    if (index >= COM_PORTS)
        return -EINVAL;
    struct com_port *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    *p = (struct com_port){.m = m, .in_fd = -1, .irq = com_irq[index]};
    snprintf(p->name, sizeof(p->name), "COM%u", index + 1);
    p->uart = serial_new(p->name, in_fd, out_fd, &port_ops, p);
    if (!p->uart) {
        free(p);
        return -ENOMEM;
    }
    int ret = teardown_push(&m->teardown, destroy_port, p);
    if (ret)
        return ret;
    struct bus_range r = {.name = p->name,
                          .base = com_base[index],
                          .len = 8,
                          .read = port_read,
                          .write = port_write,
                          .opaque = p};
    ret = bus_register(&m->pio, &r);
    if (ret || in_fd < 0)
        return ret;
    ret = ev_loop_add(m->loop, in_fd, EPOLLIN, on_input, p);
    if (ret) {
        log_error("serial port %s: cannot watch input fd %d: %s", p->name, in_fd, strerror(-ret));
        return ret;
    }
    p->in_fd = in_fd;
    p->watching = true;
    return 0;
}
