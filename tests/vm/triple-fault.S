/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A guest "kernel" that triple-faults at once: with an empty IDT, int3
 * raises #GP, that raises #DF, and that shuts the CPU down. Loaded by
 * krun_set_kernel as a 64-bit ELF (no PVH note).
 */
    .text
    .globl _start
_start:
    lidt empty_idt(%rip)
    int3
1:  hlt
    jmp 1b

empty_idt:
    .word 0
    .quad 0
