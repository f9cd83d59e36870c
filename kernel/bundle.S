/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest kernel blob (see elf2bundle.c), included verbatim. It sits in a
 * writable, allocatable section aligned to 64 KiB: the VMM maps these pages
 * into the guest as they are, and guest writes must land in private
 * copy-on-write pages rather than fault.
 */
#include "krunfw_params.h"

    .section .data.krunfw_kernel, "aw", @progbits
    .balign 65536
    .globl krunfw_kernel_blob
    .hidden krunfw_kernel_blob
    .type krunfw_kernel_blob, @object
krunfw_kernel_blob:
    .incbin "krunfw-kernel.bin"
krunfw_kernel_blob_end:
    .size krunfw_kernel_blob, krunfw_kernel_blob_end - krunfw_kernel_blob

    .if (krunfw_kernel_blob_end - krunfw_kernel_blob) - KRUNFW_KERNEL_SIZE
    .error "krunfw-kernel.bin does not match KRUNFW_KERNEL_SIZE"
    .endif

    .section .note.GNU-stack, "", @progbits
