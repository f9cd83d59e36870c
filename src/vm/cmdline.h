/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest kernel command line, and the workload file (/.krun_workload)
 * that carries the workload when the VMM serves the init (see
 * docs/guest-contract.md).
 */
#ifndef KRUN_VM_CMDLINE_H
#define KRUN_VM_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "vm/config.h"
#include "util/strbuf.h"

/* What the kernel accepts (COMMAND_LINE_SIZE on x86), and its env/arg limit. */
#define CMDLINE_KERNEL_MAX   2048
#define CMDLINE_INIT_ENV_MAX 30

#define CMDLINE_DEFAULT                                                                            \
    "reboot=k panic=-1 panic_print=0 nomodule console=hvc0 rootfstype=virtiofs rw quiet "          \
    "no-kvmapf"

/*
 * Build the command line. devices are the "virtio_mmio.device=..." tokens.
 * With workload_in_file the workload is left out (it goes into the file);
 * otherwise it is encoded upstream's way, which has limits: a violation is
 * reported in err and -E2BIG / -EINVAL returned.
 */
int cmdline_build(const struct vm_config *cfg, bool workload_in_file, const struct strvec *devices,
                  struct strbuf *out, char *err, size_t errlen);

/* The workload file: records "KEY\0VALUE\0". */
int workload_file_build(const struct vm_config *cfg, struct strbuf *out);

#endif
