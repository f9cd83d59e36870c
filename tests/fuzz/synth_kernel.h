/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Synthetic kernel images for the loader's unit tests and fuzz seeds: a
 * small vmlinux-like ELF and a bzImage header with a fake payload. Field
 * layouts come from <elf.h> and <asm/bootparam.h>.
 */
#ifndef KRUN_TESTS_SYNTH_KERNEL_H
#define KRUN_TESTS_SYNTH_KERNEL_H

#include <asm/bootparam.h>
#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * The ELF: two PT_LOAD segments with a gap and a bss, and a PT_NOTE holding
 * a GNU note and, if asked, the PVH note. Physical addresses sit at 1 MiB,
 * virtual ones in the kernel's high half, like a vmlinux.
 */
#define SYNTH_ELF_SIZE    0x4000
#define SYNTH_NOTE_OFF    0x200
#define SYNTH_SEG0_OFF    0x1000
#define SYNTH_SEG0_PADDR  0x100000ull
#define SYNTH_SEG0_SIZE   0x2000ull
#define SYNTH_SEG1_OFF    0x3000
#define SYNTH_SEG1_PADDR  0x104000ull /* gap at [0x102000, 0x104000) */
#define SYNTH_SEG1_FILESZ 0x1000ull
#define SYNTH_SEG1_MEMSZ  0x3000ull /* bss at [0x105000, 0x107000) */
#define SYNTH_VIRT_OFFSET 0xffffffff80000000ull
#define SYNTH_ENTRY       0x100010ull
#define SYNTH_PVH_ENTRY   0x100800u

static inline void synth_phdr(uint8_t *img, unsigned i, uint32_t type, uint64_t off, uint64_t paddr,
                              uint64_t filesz, uint64_t memsz, uint64_t align)
{
    Elf64_Phdr ph = {
        .p_type = type,
        .p_flags = PF_R,
        .p_offset = off,
        .p_vaddr = paddr ? paddr + SYNTH_VIRT_OFFSET : 0,
        .p_paddr = paddr,
        .p_filesz = filesz,
        .p_memsz = memsz,
        .p_align = align,
    };
    memcpy(img + sizeof(Elf64_Ehdr) + i * sizeof(ph), &ph, sizeof(ph));
}

/* One note; name and descriptor start `align`-aligned from the note's start. */
static inline size_t synth_note_aligned(uint8_t *dst, const char *name, uint32_t type,
                                        const void *desc, uint32_t descsz, size_t align)
{
    Elf64_Nhdr nh = {.n_namesz = (uint32_t)strlen(name) + 1, .n_descsz = descsz, .n_type = type};
    memcpy(dst, &nh, sizeof(nh));
    memcpy(dst + sizeof(nh), name, nh.n_namesz);
    size_t off = (sizeof(nh) + nh.n_namesz + align - 1) & ~(align - 1);
    memcpy(dst + off, desc, descsz);
    return (off + descsz + align - 1) & ~(align - 1);
}

static inline size_t synth_note(uint8_t *dst, const char *name, uint32_t type, const void *desc,
                                uint32_t descsz)
{
    return synth_note_aligned(dst, name, type, desc, descsz, 4);
}

/* Fills img (SYNTH_ELF_SIZE bytes) and returns its size. */
static inline size_t synth_elf(uint8_t *img, bool pvh, uint64_t entry)
{
    memset(img, 0, SYNTH_ELF_SIZE);
    Elf64_Ehdr eh = {
        .e_type = ET_EXEC,
        .e_machine = EM_X86_64,
        .e_version = EV_CURRENT,
        .e_entry = entry,
        .e_phoff = sizeof(Elf64_Ehdr),
        .e_ehsize = sizeof(Elf64_Ehdr),
        .e_phentsize = sizeof(Elf64_Phdr),
        .e_phnum = 3,
    };
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    memcpy(img, &eh, sizeof(eh));

    size_t notes = 0;
    static const uint8_t build_id[20] = {1, 2, 3};
    notes += synth_note(img + SYNTH_NOTE_OFF, "GNU", NT_GNU_BUILD_ID, build_id, sizeof(build_id));
    if (pvh) {
        /* 8 bytes, as in a 64-bit vmlinux. */
        uint64_t e = SYNTH_PVH_ENTRY;
        notes += synth_note(img + SYNTH_NOTE_OFF + notes, "Xen", 18, &e, 8);
    }
    synth_phdr(img, 0, PT_LOAD, SYNTH_SEG0_OFF, SYNTH_SEG0_PADDR, SYNTH_SEG0_SIZE, SYNTH_SEG0_SIZE,
               0x1000);
    synth_phdr(img, 1, PT_LOAD, SYNTH_SEG1_OFF, SYNTH_SEG1_PADDR, SYNTH_SEG1_FILESZ,
               SYNTH_SEG1_MEMSZ, 0x1000);
    synth_phdr(img, 2, PT_NOTE, SYNTH_NOTE_OFF, 0, notes, notes, 4);
    for (size_t i = SYNTH_SEG0_OFF; i < SYNTH_ELF_SIZE; i++)
        img[i] = (uint8_t)(i * 7 + 1);
    return SYNTH_ELF_SIZE;
}

/*
 * The bzImage: setup_sects 3 (2 KiB of setup), a 0x1000-byte protected-mode
 * kernel, pref_address 2 MiB, init_size 1 MiB.
 */
#define SYNTH_BZ_SETUP_SECTS 3
#define SYNTH_BZ_SETUP_SIZE  ((SYNTH_BZ_SETUP_SECTS + 1) * 512)
#define SYNTH_BZ_KERNEL_SIZE 0x1000
#define SYNTH_BZ_SIZE        (SYNTH_BZ_SETUP_SIZE + SYNTH_BZ_KERNEL_SIZE)
#define SYNTH_BZ_PREF        0x200000ull
#define SYNTH_BZ_INIT_SIZE   0x100000u

/* Fills img (SYNTH_BZ_SIZE bytes) and returns its size. */
static inline size_t synth_bzimage(uint8_t *img)
{
    struct setup_header h;
    memset(img, 0, SYNTH_BZ_SIZE);
    memset(&h, 0, sizeof(h));
    h.setup_sects = SYNTH_BZ_SETUP_SECTS;
    h.syssize = SYNTH_BZ_KERNEL_SIZE / 16;
    h.boot_flag = 0xaa55;
    h.jump = 0xeb | (uint16_t)((0x1f1 + sizeof(h) - 0x202) << 8);
    h.header = 0x53726448; /* "HdrS" */
    h.version = 0x020f;
    h.loadflags = LOADED_HIGH;
    h.code32_start = 0x100000;
    h.initrd_addr_max = 0x7fffffff;
    h.kernel_alignment = 0x200000;
    h.relocatable_kernel = 1;
    h.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
    h.cmdline_size = 2047;
    h.pref_address = SYNTH_BZ_PREF;
    h.init_size = SYNTH_BZ_INIT_SIZE;
    memcpy(img + 0x1f1, &h, sizeof(h));
    for (size_t i = SYNTH_BZ_SETUP_SIZE; i < SYNTH_BZ_SIZE; i++)
        img[i] = (uint8_t)(i * 13 + 5);
    return SYNTH_BZ_SIZE;
}

/* A field of the setup header inside an image. */
#define SYNTH_BZ_FIELD(img, field) ((img) + 0x1f1 + offsetof(struct setup_header, field))

#endif
