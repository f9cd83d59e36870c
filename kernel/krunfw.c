/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkrunfw.so.5: the guest kernel bundle, with the upstream libkrunfw ABI.
 * Only krunfw_get_kernel and krunfw_get_version are exported (libkrunfw.map).
 */
#include <stddef.h>

#include "krunfw_params.h"

#define KRUNFW_ABI_VERSION 5

char *krunfw_get_kernel(size_t *load_addr, size_t *entry_addr, size_t *size);
int krunfw_get_version(void);

/* bundle.S: the PT_LOAD span of vmlinux, 64 KiB aligned and padded. */
extern char krunfw_kernel_blob[] __attribute__((visibility("hidden")));

char *krunfw_get_kernel(size_t *load_addr, size_t *entry_addr, size_t *size)
{
    if (load_addr)
        *load_addr = KRUNFW_LOAD_ADDR;
    if (entry_addr)
        *entry_addr = KRUNFW_ENTRY_ADDR;
    if (size)
        *size = KRUNFW_KERNEL_SIZE;
    return krunfw_kernel_blob;
}

int krunfw_get_version(void)
{
    return KRUNFW_ABI_VERSION;
}
