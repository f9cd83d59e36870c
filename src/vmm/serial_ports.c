/* The legacy COM ports configured with krun_add_serial_console_default. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>

#include "devices/legacy/serial.h"
#include "util/log.h"
#include "vmm/event_loop.h"
#include "vmm/vm_setup.h"

static const uint16_t com_base[4] = {0x3f8, 0x2f8, 0x3e8, 0x2e8};
static const unsigned com_irq[4] = {4, 3, 4, 3};

static void port_read(void *opaque, uint16_t port, uint8_t *data, unsigned len)
{
    struct serial_port *p = opaque;
    for (unsigned i = 0; i < len; i++)
        data[i] = serial_read(p->uart, (unsigned)(port - com_base[p - p->vm->serials]) + i);
}

static void port_write(void *opaque, uint16_t port, const uint8_t *data, unsigned len)
{
    struct serial_port *p = opaque;
    for (unsigned i = 0; i < len; i++)
        serial_write(p->uart, (unsigned)(port - com_base[p - p->vm->serials]) + i, data[i]);
}

static void set_irq(void *opaque, bool level)
{
    struct serial_port *p = opaque;
    vm_set_irq_line(p->vm, p->irq, level);
}

static void rx_space(void *opaque)
{
    struct serial_port *p = opaque;
    if (!p->watching && ev_loop_mod(p->vm->loop, p->in_fd, EPOLLIN) == 0)
        p->watching = true;
}

static const struct serial_ops port_ops = {.set_irq = set_irq, .rx_space = rx_space};

static void on_input(void *opaque, uint32_t events)
{
    struct serial_port *p = opaque;
    switch (serial_input_ready(p->uart)) {
    case SERIAL_INPUT_MORE:
        break;
    case SERIAL_INPUT_FULL:
        p->watching = false;
        ev_loop_mod(p->vm->loop, p->in_fd, 0);
        break;
    case SERIAL_INPUT_EOF:
        p->watching = false;
        ev_loop_del(p->vm->loop, p->in_fd);
        break;
    }
}

int vm_add_serial_ports(struct vm *vm)
{
    for (size_t i = 0; i < vm->cfg->n_serials; i++) {
        const struct serial_config *c = &vm->cfg->serials[i];
        struct serial_port *p = &vm->serials[i];
        *p = (struct serial_port){.vm = vm, .in_fd = c->in_fd, .irq = com_irq[i]};
        p->uart = serial_new(c->in_fd, c->out_fd, &port_ops, p);
        if (!p->uart)
            return -ENOMEM;
        vm->n_serials++;
        struct pio_handler h = {
            .base = com_base[i], .len = 8, .read = port_read, .write = port_write, .opaque = p};
        int ret = vm_add_pio(vm, &h);
        if (ret)
            return ret;
        if (c->in_fd >= 0) {
            term_make_raw(&vm->terms, c->in_fd);
            ret = ev_loop_add(vm->loop, c->in_fd, EPOLLIN, on_input, p);
            if (ret) {
                log_error("serial port COM%zu: cannot watch input fd %d: %s", i + 1, c->in_fd,
                          strerror(-ret));
                return ret;
            }
            p->watching = true;
        }
    }
    return 0;
}

void vm_destroy_serial_ports(struct vm *vm)
{
    for (unsigned i = 0; i < vm->n_serials; i++)
        serial_free(vm->serials[i].uart);
    vm->n_serials = 0;
}
