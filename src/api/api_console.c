/* SPDX-License-Identifier: Apache-2.0 */
/* krun_* functions about consoles. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/ctx.h"
#include "libkrun.h"

static bool fd_ok(int fd)
{
    return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

int32_t krun_disable_implicit_console(uint32_t ctx_id)
{
    CTX_OR_RETURN(cfg, ctx_id);
    cfg->implicit_console = false;
    ctx_unlock();
    return 0;
}

int32_t krun_set_console_output(uint32_t ctx_id, const char *c_filepath)
{
    if (!c_filepath || !*c_filepath)
        return -EINVAL;
    CTX_OR_RETURN(cfg, ctx_id);
    int32_t ret = -EINVAL; /* upstream: only one output file */
    if (!cfg->console_output) {
        cfg->console_output = strdup(c_filepath);
        ret = cfg->console_output ? 0 : -ENOMEM;
    }
    ctx_unlock();
    return ret;
}

static struct console_config *new_console(struct vm_config *cfg)
{
    struct console_config *c = realloc(cfg->consoles, (cfg->n_consoles + 1) * sizeof(*c));
    if (!c)
        return NULL;
    cfg->consoles = c;
    c = &cfg->consoles[cfg->n_consoles++];
    memset(c, 0, sizeof(*c));
    c->in_fd = c->out_fd = c->err_fd = -1;
    return c;
}

int32_t krun_add_virtio_console_default(uint32_t ctx_id, int input_fd, int output_fd, int err_fd)
{
    if ((input_fd != -1 && !fd_ok(input_fd)) || (output_fd != -1 && !fd_ok(output_fd)) ||
        (err_fd != -1 && !fd_ok(err_fd)))
        return -EBADF;
    CTX_OR_RETURN(cfg, ctx_id);
    struct console_config *c = new_console(cfg);
    if (c) {
        c->autoconfig = true;
        c->in_fd = input_fd;
        c->out_fd = output_fd;
        c->err_fd = err_fd;
    }
    ctx_unlock();
    return c ? 0 : -ENOMEM;
}

int32_t krun_add_virtio_console_multiport(uint32_t ctx_id)
{
    CTX_OR_RETURN(cfg, ctx_id);
    struct console_config *c = new_console(cfg);
    int32_t ret = c ? (int32_t)(cfg->n_consoles - 1) : -ENOMEM;
    ctx_unlock();
    return ret;
}

static int32_t add_port(uint32_t ctx_id, uint32_t console_id, const char *name, int in_fd,
                        int out_fd, bool is_tty)
{
    if (!name)
        name = ""; /* upstream: a port without a name */
    CTX_OR_RETURN(cfg, ctx_id);
    int32_t ret = 0;
    struct console_config *c = console_id < cfg->n_consoles ? &cfg->consoles[console_id] : NULL;
    if (!c || c->autoconfig) {
        ret = -EINVAL; /* not a multiport console from krun_add_virtio_console_multiport */
    } else {
        struct console_port_config *p = realloc(c->ports, (c->n_ports + 1) * sizeof(*p));
        char *n = strdup(name);
        if (p)
            c->ports = p;
        if (!p || !n) {
            free(n);
            ret = -ENOMEM;
        } else {
            c->ports[c->n_ports++] = (struct console_port_config){
                .name = n, .in_fd = in_fd, .out_fd = out_fd, .is_tty = is_tty};
        }
    }
    ctx_unlock();
    return ret;
}

int32_t krun_add_console_port_tty(uint32_t ctx_id, uint32_t console_id, const char *name,
                                  int tty_fd)
{
    if (tty_fd < 0)
        return -EINVAL;
    if (!isatty(tty_fd)) /* a closed fd too, as upstream */
        return -ENOTTY;
    return add_port(ctx_id, console_id, name, tty_fd, tty_fd, true);
}

int32_t krun_add_console_port_inout(uint32_t ctx_id, uint32_t console_id, const char *name,
                                    int input_fd, int output_fd)
{
    if ((input_fd != -1 && !fd_ok(input_fd)) || (output_fd != -1 && !fd_ok(output_fd)))
        return -EBADF;
    return add_port(ctx_id, console_id, name, input_fd, output_fd, false);
}

int32_t krun_add_serial_console_default(uint32_t ctx_id, int input_fd, int output_fd)
{
    if ((input_fd != -1 && !fd_ok(input_fd)) || (output_fd != -1 && !fd_ok(output_fd)))
        return -EBADF;
    CTX_OR_RETURN(cfg, ctx_id);
    int32_t ret = -ENOSPC; /* four legacy COM ports */
    if (cfg->n_serials < 4) {
        struct serial_config *s = realloc(cfg->serials, (cfg->n_serials + 1) * sizeof(*s));
        ret = s ? 0 : -ENOMEM;
        if (s) {
            cfg->serials = s;
            s[cfg->n_serials++] = (struct serial_config){.in_fd = input_fd, .out_fd = output_fd};
        }
    }
    ctx_unlock();
    return ret;
}
