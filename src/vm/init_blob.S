/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest init binary, pulled in at build time (the assembler finds it
 * with -Wa,-I$(B)/gen). Read-only data, hidden: only the library uses it.
 */
	.section .rodata.krun_init_blob, "a"
	.balign 16
	.globl krun_init_blob_start
	.hidden krun_init_blob_start
	.type krun_init_blob_start, @object
krun_init_blob_start:
	.incbin "init.krun"
	.globl krun_init_blob_end
	.hidden krun_init_blob_end
krun_init_blob_end:
	.size krun_init_blob_start, krun_init_blob_end - krun_init_blob_start

	.section .note.GNU-stack, "", @progbits
