/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Consoles: the implicit console (hvc0 and the krun-* ports of the guest
 * contract) and the consoles of krun_add_virtio_console_*.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abi/guest_abi.h"
#include "util/log.h"
#include "virtio/console.h"
#include "virtio/device.h"
#include "vm/devices.h"
#include "vm/vm.h"

/*
 * Ports for stdin/stdout/stderr-like fds (implicit console, or
 * krun_add_virtio_console_default): one console port, plus a named port for
 * each fd that is not a TTY, so that pipes and files keep their streams
 * apart and see EOF.
 */
static unsigned autoconfig_ports(int in, int out, int err, struct console_port_spec *ports,
                                 int *size_fd)
{
    bool in_tty = in >= 0 && isatty(in), out_tty = out >= 0 && isatty(out),
         err_tty = err >= 0 && isatty(err);
    unsigned n = 0;
    /* The console port carries the TTY; without one, kernel and init messages go to stderr. */
    ports[n++] = (struct console_port_spec){
        .console = true, .in_fd = in_tty ? in : -1, .out_fd = out_tty ? out : err};
    if (in >= 0 && !in_tty)
        ports[n++] = (struct console_port_spec){.name = KRUN_PORT_STDIN, .in_fd = in, .out_fd = -1};
    if (out >= 0 && !out_tty)
        ports[n++] =
            (struct console_port_spec){.name = KRUN_PORT_STDOUT, .in_fd = -1, .out_fd = out};
    if (err >= 0 && !err_tty)
        ports[n++] =
            (struct console_port_spec){.name = KRUN_PORT_STDERR, .in_fd = -1, .out_fd = err};
    *size_fd = in_tty ? in : out_tty ? out : err_tty ? err : -1;
    return n;
}

static int add_console(struct vm *vm, const char *name, struct console_port_spec *ports, unsigned n,
                       int size_fd, struct console **out)
{
    struct console *c;
    struct virtio_device *dev;
    int ret = console_create(name, ports, n, size_fd, &c, &dev);
    if (ret) {
        log_error("%s: %s", name, strerror(-ret));
        return ret;
    }
    if (out)
        *out = c;
    return vm_attach_virtio(vm, dev);
}

/*
 * The krun-exit port: the init writes the workload's status as decimal text
 * and a newline. It works with any root (virtio-fs, block device or
 * initramfs), unlike the upstream virtio-fs ioctl, which is kept too.
 */
struct exit_port {
    struct vm *vm;
    char line[16]; /* partial line */
    size_t len;
};

static void on_exit_port(void *opaque, const uint8_t *data, size_t len)
{
    struct exit_port *p = opaque;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            p->line[p->len] = '\0';
            char *end;
            long v = strtol(p->line, &end, 10);
            if (end != p->line && *end == '\0' && v >= 0 && v <= 255)
                vm_set_exit_status(p->vm, (int)v);
            p->len = 0;
        } else if (p->len < sizeof(p->line) - 1) {
            p->line[p->len++] = (char)data[i];
        }
    }
}

int vm_attach_implicit_console(struct vm *vm)
{
    if (!vm->cfg->implicit_console)
        return 0;
    const struct vm_config *cfg = vm->cfg;
    struct console_port_spec ports[CONSOLE_MAX_PORTS];
    unsigned n;
    int size_fd;
    if (cfg->console_output) {
        int fd = open(cfg->console_output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            log_error("cannot open the console output file %s: %s", cfg->console_output,
                      strerror(errno));
            return -errno;
        }
        ports[0] = (struct console_port_spec){
            .console = true, .in_fd = -1, .out_fd = fd, .owns_fds = true};
        n = 1;
        size_fd = isatty(0) ? 0 : -1;
    } else {
        n = autoconfig_ports(0, 1, 2, ports, &size_fd);
        term_make_raw(&vm->terms, 0);
    }
    /* Freed after the console device, which calls it until then. */
    struct exit_port *exit_port = calloc(1, sizeof(*exit_port));
    if (!exit_port)
        return -ENOMEM;
    exit_port->vm = vm;
    int ret = teardown_push(&vm->m.teardown, free, exit_port);
    if (ret)
        return ret;
    /* Signals for the workload (docs/guest-contract.md): a pipe the VMM writes. */
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    vm->signal_wfd = fds[1];
    ports[n++] = (struct console_port_spec){
        .name = KRUN_PORT_SIGNAL, .in_fd = fds[0], .out_fd = -1, .owns_fds = true};
    ports[n++] = (struct console_port_spec){.name = KRUN_PORT_EXIT,
                                            .in_fd = -1,
                                            .out_fd = -1,
                                            .on_output = on_exit_port,
                                            .output_opaque = exit_port};
    return add_console(vm, "virtio-console hvc0", ports, n, size_fd, &vm->console);
}

int vm_attach_consoles(struct vm *vm)
{
    for (size_t i = 0; i < vm->cfg->n_consoles; i++) {
        const struct console_config *cc = &vm->cfg->consoles[i];
        struct console_port_spec ports[CONSOLE_MAX_PORTS];
        unsigned n = 0;
        int size_fd = -1;
        if (cc->autoconfig) {
            n = autoconfig_ports(cc->in_fd, cc->out_fd, cc->err_fd, ports, &size_fd);
            term_make_raw(&vm->terms, cc->in_fd);
        } else {
            if (cc->n_ports == 0 || cc->n_ports > CONSOLE_MAX_PORTS) {
                log_error("virtio console %zu has %zu ports; it needs 1 to %d", i, cc->n_ports,
                          CONSOLE_MAX_PORTS);
                return -EINVAL;
            }
            for (size_t j = 0; j < cc->n_ports; j++) {
                const struct console_port_config *pc = &cc->ports[j];
                ports[n++] = (struct console_port_spec){.name = pc->name,
                                                        .in_fd = pc->in_fd,
                                                        .out_fd = pc->out_fd,
                                                        .console = pc->is_tty};
                if (pc->is_tty) {
                    term_make_raw(&vm->terms, pc->in_fd);
                    if (size_fd < 0)
                        size_fd = pc->in_fd;
                }
            }
        }
        char name[48];
        snprintf(name, sizeof(name), "virtio-console %zu", i + 1);
        int ret = add_console(vm, name, ports, n, size_fd, NULL);
        if (ret)
            return ret;
    }
    return 0;
}
