/* SPDX-License-Identifier: Apache-2.0 */
/* A VM's life outside building and running: creation, exit status, teardown. */
#include "vm/vm.h"

#include <stdlib.h>
#include <unistd.h>

#include "util/log.h"

void vm_set_exit_status(struct vm *vm, int status)
{
    atomic_store(&vm->exit_status, status);
}

void vm_destroy(struct vm *vm)
{
    if (!vm)
        return;
    machine_destroy(&vm->m);
    vm_close_disks(vm);
    strvec_clear(&vm->cmdline_devices);
    sb_free(&vm->workload);
    if (vm->signal_wfd >= 0)
        close(vm->signal_wfd);
    free(vm);
}
