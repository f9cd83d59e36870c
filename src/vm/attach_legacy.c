/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Legacy port I/O devices: the i8042 (how the guest ends the VM), the
 * panic port, the POST port, and the COM ports of
 * krun_add_serial_console_default.
 */
#include <errno.h>
#include <string.h>

#include "devices/legacy/com_port.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/post_port.h"
#include "devices/legacy/pvpanic.h"
#include "util/log.h"
#include "vm/devices.h"
#include "vm/vm.h"

int vm_attach_legacy(struct vm *vm)
{
    int ret = i8042_attach(&vm->m);
    if (!ret)
        ret = pvpanic_attach(&vm->m);
    if (!ret)
        ret = post_port_attach(&vm->m);
    for (size_t i = 0; i < vm->cfg->n_serials && !ret; i++) {
        const struct serial_config *c = &vm->cfg->serials[i];
        ret = com_port_attach(&vm->m, (unsigned)i, c->in_fd, c->out_fd);
        if (ret)
            log_error("serial port COM%zu: %s", i + 1, strerror(-ret));
        else
            term_make_raw(&vm->terms, c->in_fd);
    }
    return ret;
}
