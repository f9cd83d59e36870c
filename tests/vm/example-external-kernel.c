/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The call sequence of upstream libkrun's examples/external_kernel.c on
 * x86_64 (default mode: TSI networking), in our own program.
 *
 *   example-external-kernel [-b BOOT_DISK] [-d DATA_DISK] [-i INITRD]
 *                           [-c CMDLINE] [-n] KERNEL
 *
 * The calls, in upstream's order and with its arguments: krun_set_log_level
 * (0), krun_create_ctx, krun_set_vm_config (2 vCPUs, 2048 MiB),
 * krun_add_disk "boot" and "data" (raw, read-write) when given,
 * krun_set_kernel (KRUN_KERNEL_FORMAT_ELF, the initramfs, the command
 * line), krun_set_nested_virt, krun_start_enter. There is no root and no
 * krun_set_exec: the initramfs's init and the command line say what runs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libkrun.h"

static void must(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "example-external-kernel: %s: %s\n", what, strerror(-rc));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    const char *boot_disk = NULL, *data_disk = NULL, *initrd = NULL, *cmdline = NULL;
    bool nested = false;
    int c;
    while ((c = getopt(argc, argv, "+b:d:i:c:n")) != -1) {
        switch (c) {
        case 'b':
            boot_disk = optarg;
            break;
        case 'd':
            data_disk = optarg;
            break;
        case 'i':
            initrd = optarg;
            break;
        case 'c':
            cmdline = optarg;
            break;
        case 'n':
            nested = true;
            break;
        default:
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: %s [-b DISK] [-d DISK] [-i INITRD] [-c CMDLINE] [-n] KERNEL\n",
                argv[0]);
        return 2;
    }
    const char *kernel = argv[optind];

    must(krun_set_log_level(0), "krun_set_log_level");
    int ctx = krun_create_ctx();
    must(ctx, "krun_create_ctx");
    must(krun_set_vm_config((uint32_t)ctx, 2, 2048), "krun_set_vm_config");
    if (boot_disk)
        must(krun_add_disk((uint32_t)ctx, "boot", boot_disk, false), "krun_add_disk (boot)");
    if (data_disk)
        must(krun_add_disk((uint32_t)ctx, "data", data_disk, false), "krun_add_disk (data)");
    must(krun_set_kernel((uint32_t)ctx, kernel, KRUN_KERNEL_FORMAT_ELF, initrd, cmdline),
         "krun_set_kernel");
    must(krun_set_nested_virt((uint32_t)ctx, nested), "krun_set_nested_virt");
    must(krun_start_enter((uint32_t)ctx), "krun_start_enter");
    return 1;
}
