/* SPDX-License-Identifier: Apache-2.0 */
/*
 * External kernel images for krun_set_kernel (x86_64): an ELF vmlinux, a
 * bzImage (Linux boot protocol 2.12+ with a 64-bit entry point), and the
 * placement of an initramfs.
 *
 * The image is untrusted input: every offset and size is checked against
 * the file, every destination against guest RAM (each loaded range must lie
 * inside one guest memory region), and sums are overflow-checked. A bad
 * image gives -ENOEXEC (malformed or unsupported) or -ENOMEM (it does not
 * fit in guest RAM) with a message in err; guest memory is written only
 * after the whole image has been validated.
 */
#ifndef KRUN_LOADER_KERNEL_H
#define KRUN_LOADER_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/guest_mem.h"

/* The setup header: struct setup_header, at this offset in the image and in the zero page. */
#define SETUP_HEADER_OFFSET 0x1f1
#define SETUP_HEADER_MAX    0x7b

/* Where a bzImage's protected-mode kernel goes when it names no usable pref_address. */
#define BZIMAGE_DEFAULT_LOAD 0x100000

/*
 * A RAW kernel (krun_set_kernel's KRUN_KERNEL_FORMAT_RAW): upstream on
 * x86_64 maps the file into the guest at 2 GiB, as it does the bundle, and
 * starts it there in 64-bit mode.
 */
#define RAW_KERNEL_ADDR 0x80000000ull

enum boot_entry {
    BOOT_ENTRY_LINUX64, /* 64-bit Linux boot protocol: long mode, RSI = zero page */
    BOOT_ENTRY_PVH,     /* PVH: 32-bit protected mode, EBX = hvm_start_info */
};

struct kernel_image {
    enum boot_entry entry_kind; /* PVH when an ELF carries the PVH note */
    uint64_t entry;             /* guest physical entry point for entry_kind */
    uint64_t linux64_entry;     /* 64-bit entry point, 0 if none (an ELF whose e_entry
                                   is outside its segments but that has a PVH note) */
    uint64_t load_start;        /* guest physical range the kernel occupies: */
    uint64_t load_end;          /* segments incl. bss, or bzImage up to init_size */
    uint32_t initrd_addr_max;   /* highest address the initramfs may occupy */
    uint32_t cmdline_max;       /* longest command line, without the NUL (0: no limit known) */

    /* bzImage only: the image's setup header, with code32_start set to
     * load_start, to copy into the zero page at SETUP_HEADER_OFFSET (the
     * VMM then fills in type_of_loader, cmd_line_ptr, the ramdisk fields,
     * ...). Only the fields the image's protocol version has are copied. */
    bool has_setup_header;
    uint8_t setup_header[SETUP_HEADER_MAX];
    size_t setup_header_len;
};

/*
 * With gm NULL, kernel_load_elf and kernel_load_bzimage only validate the
 * image and fill in *out (load_end tells how much guest RAM it needs).
 */

/* Cheap format probes (magic numbers only). */
bool kernel_is_elf(const uint8_t *data, size_t len);
bool kernel_is_bzimage(const uint8_t *data, size_t len);

/*
 * A 64-bit little-endian x86_64 ELF executable: PT_LOAD segments are copied
 * to their p_paddr, p_filesz bytes from the file and zeros up to p_memsz.
 * A Xen PHYS32_ENTRY note (PVH) selects BOOT_ENTRY_PVH; otherwise the entry
 * is e_entry, translated from virtual to physical if it falls inside a
 * segment's virtual range. Returns 0, -ENOEXEC or -ENOMEM.
 */
int kernel_load_elf(const uint8_t *data, size_t len, struct guest_mem *gm, struct kernel_image *out,
                    char *err, size_t errlen);

/*
 * A bzImage: boot protocol >= 2.12, LOADED_HIGH, XLF_KERNEL_64. The
 * protected-mode kernel is copied to its pref_address when that is a page
 * aligned address between 1 MiB and 4 GiB (a relocatable kernel runs
 * there, and a non-relocatable one moves itself there anyway), else to
 * BZIMAGE_DEFAULT_LOAD. [load_start, load_start + max(size, init_size))
 * must be guest RAM. The entry is load_start + 0x200. Returns 0, -ENOEXEC
 * or -ENOMEM.
 */
int kernel_load_bzimage(const uint8_t *data, size_t len, struct guest_mem *gm,
                        struct kernel_image *out, char *err, size_t errlen);

/* Validate an ELF or bzImage and report the end of its footprint in guest memory. */
int kernel_footprint(const uint8_t *data, size_t len, uint64_t *end, char *err, size_t errlen);

/*
 * Copy an initramfs into guest RAM, page aligned, as high as possible such
 * that it starts at or above `lowest`, ends at or below `highest_end`, its
 * last byte is at or below `max_addr` (initrd_addr_max) and it lies inside
 * one region of guest RAM. Returns 0 with *gpa_out set, -EINVAL for an
 * empty initramfs, or -ENOMEM if it does not fit.
 */
int initramfs_place(struct guest_mem *gm, const uint8_t *data, size_t len, uint64_t lowest,
                    uint64_t highest_end, uint32_t max_addr, uint64_t *gpa_out);

/* Where initramfs_place would put len bytes, without copying anything. */
int initramfs_reserve(const struct guest_mem *gm, size_t len, uint64_t lowest, uint64_t highest_end,
                      uint32_t max_addr, uint64_t *gpa_out);

#endif
