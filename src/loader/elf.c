/* SPDX-License-Identifier: Apache-2.0 */
#include "loader/kernel.h"
#include "loader/load_error.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* The PVH entry note (Xen's elfnote.h): name "Xen", 32-bit physical entry. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

bool kernel_is_elf(const uint8_t *data, size_t len)
{
    return len >= SELFMAG && memcmp(data, ELFMAG, SELFMAG) == 0;
}

/* Headers may sit at any alignment in the file: copy them out. */
static void get_phdr(const uint8_t *data, const Elf64_Ehdr *eh, unsigned i, Elf64_Phdr *ph)
{
    memcpy(ph, data + eh->e_phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
}

static uint64_t round_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

/*
 * Look for the PVH note in one PT_NOTE segment's bytes. Name and descriptor
 * start at offsets (from the note) rounded up to the segment's alignment.
 * Returns 0 (with *found and *entry set if the note is there) or -ENOEXEC.
 */
static int scan_notes(const uint8_t *p, uint64_t size, uint64_t align, unsigned seg, bool *found,
                      uint32_t *entry, char *err, size_t errlen)
{
    uint64_t off = 0;
    while (size - off >= sizeof(Elf64_Nhdr)) {
        Elf64_Nhdr nh;
        uint64_t rem = size - off;
        memcpy(&nh, p + off, sizeof(nh));
        if (nh.n_namesz > rem - sizeof(nh))
            return loader_fail(err, errlen, -ENOEXEC, "segment %u: malformed note", seg);
        /* The padding after the last name or descriptor may be missing. */
        uint64_t desc_off = round_up(sizeof(nh) + (uint64_t)nh.n_namesz, align);
        if (desc_off > rem)
            desc_off = rem;
        if (nh.n_descsz > rem - desc_off)
            return loader_fail(err, errlen, -ENOEXEC, "segment %u: malformed note", seg);
        uint64_t next = round_up(desc_off + nh.n_descsz, align);
        const uint8_t *name = p + off + sizeof(nh);
        const uint8_t *desc = p + off + desc_off;
        off += next < rem ? next : rem;

        if (nh.n_type != XEN_ELFNOTE_PHYS32_ENTRY || nh.n_namesz != 4 ||
            memcmp(name, "Xen", 4) != 0 || *found)
            continue;
        uint64_t v;
        if (nh.n_descsz == 4) {
            uint32_t v32;
            memcpy(&v32, desc, 4);
            v = v32;
        } else if (nh.n_descsz == 8) {
            memcpy(&v, desc, 8);
        } else {
            return loader_fail(err, errlen, -ENOEXEC, "segment %u: PVH entry note of size %" PRIu32,
                               seg, nh.n_descsz);
        }
        if (v > UINT32_MAX)
            return loader_fail(err, errlen, -ENOEXEC, "PVH entry point 0x%" PRIx64 " above 4 GiB",
                               v);
        *found = true;
        *entry = (uint32_t)v;
    }
    return 0;
}

/* Whether gpa is inside a loaded segment's physical range. */
static bool in_loaded(const uint8_t *data, const Elf64_Ehdr *eh, uint64_t gpa)
{
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        get_phdr(data, eh, i, &ph);
        if (ph.p_type == PT_LOAD && gpa >= ph.p_paddr && gpa - ph.p_paddr < ph.p_memsz)
            return true;
    }
    return false;
}

/* e_entry as a physical address: as is, or translated from a segment's virtual range. */
static bool resolve_entry(const uint8_t *data, const Elf64_Ehdr *eh, uint64_t *entry)
{
    if (in_loaded(data, eh, eh->e_entry)) {
        *entry = eh->e_entry;
        return true;
    }
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        get_phdr(data, eh, i, &ph);
        if (ph.p_type == PT_LOAD && eh->e_entry >= ph.p_vaddr &&
            eh->e_entry - ph.p_vaddr < ph.p_memsz) {
            *entry = eh->e_entry - ph.p_vaddr + ph.p_paddr;
            return true;
        }
    }
    return false;
}

int kernel_load_elf(const uint8_t *data, size_t len, struct guest_mem *gm, struct kernel_image *out,
                    char *err, size_t errlen)
{
    Elf64_Ehdr eh;

    memset(out, 0, sizeof(*out));
    if (!kernel_is_elf(data, len))
        return loader_fail(err, errlen, -ENOEXEC, "not an ELF file");
    if (len < sizeof(eh))
        return loader_fail(err, errlen, -ENOEXEC, "truncated ELF header");
    memcpy(&eh, data, sizeof(eh));
    if (eh.e_ident[EI_CLASS] != ELFCLASS64)
        return loader_fail(err, errlen, -ENOEXEC, "not a 64-bit ELF file");
    if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return loader_fail(err, errlen, -ENOEXEC, "not a little-endian ELF file");
    if (eh.e_machine != EM_X86_64)
        return loader_fail(err, errlen, -ENOEXEC, "ELF machine %u is not x86_64", eh.e_machine);
    if (eh.e_type != ET_EXEC)
        return loader_fail(err, errlen, -ENOEXEC, "ELF type %u is not an executable", eh.e_type);
    if (eh.e_phnum == 0 || eh.e_phnum == PN_XNUM)
        return loader_fail(err, errlen, -ENOEXEC, "unsupported number of program headers (%u)",
                           eh.e_phnum);
    if (eh.e_phentsize != sizeof(Elf64_Phdr))
        return loader_fail(err, errlen, -ENOEXEC, "unexpected program header size %u",
                           eh.e_phentsize);
    if (eh.e_phoff > len || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
        return loader_fail(err, errlen, -ENOEXEC, "program headers beyond the end of the file");

    /* Pass 1: validate everything before touching guest memory. */
    uint64_t lo = UINT64_MAX, hi = 0;
    unsigned n_load = 0;
    bool pvh = false;
    uint32_t pvh_entry = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        get_phdr(data, &eh, i, &ph);
        if (ph.p_type == PT_NOTE) {
            if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
                return loader_fail(err, errlen, -ENOEXEC,
                                   "segment %u extends beyond the end of the file", i);
            int rc = scan_notes(data + ph.p_offset, ph.p_filesz, ph.p_align == 8 ? 8 : 4, i, &pvh,
                                &pvh_entry, err, errlen);
            if (rc)
                return rc;
            continue;
        }
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        if (ph.p_filesz > ph.p_memsz)
            return loader_fail(err, errlen, -ENOEXEC,
                               "segment %u: file size larger than memory size", i);
        if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
            return loader_fail(err, errlen, -ENOEXEC,
                               "segment %u extends beyond the end of the file", i);
        if (ph.p_memsz > UINT64_MAX - ph.p_paddr)
            return loader_fail(err, errlen, -ENOEXEC, "segment %u: address range wraps around", i);
        if (gm && !gm_ptr(gm, ph.p_paddr, ph.p_memsz))
            return loader_fail(err, errlen, -ENOMEM,
                               "segment %u (0x%" PRIx64 "-0x%" PRIx64 ") outside guest memory", i,
                               ph.p_paddr, ph.p_paddr + ph.p_memsz);
        n_load++;
        if (ph.p_paddr < lo)
            lo = ph.p_paddr;
        if (ph.p_paddr + ph.p_memsz > hi)
            hi = ph.p_paddr + ph.p_memsz;
    }
    if (n_load == 0)
        return loader_fail(err, errlen, -ENOEXEC, "no loadable segments");

    uint64_t entry64 = 0;
    if (!resolve_entry(data, &eh, &entry64) && !pvh)
        return loader_fail(err, errlen, -ENOEXEC,
                           "entry point 0x%" PRIx64 " is not inside a loadable segment",
                           eh.e_entry);
    if (pvh && !in_loaded(data, &eh, pvh_entry))
        return loader_fail(err, errlen, -ENOEXEC,
                           "PVH entry point 0x%" PRIx32 " is not inside a loadable segment",
                           pvh_entry);

    /* Pass 2: copy (unless only measuring). */
    for (unsigned i = 0; gm && i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        get_phdr(data, &eh, i, &ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
            continue;
        /* Pass 1 checked these; data is private memory, but a copy must never
           depend on that. */
        uint8_t *dst = gm_ptr(gm, ph.p_paddr, ph.p_memsz);
        if (!dst || ph.p_filesz > ph.p_memsz || ph.p_offset > len ||
            ph.p_filesz > len - ph.p_offset)
            return loader_fail(err, errlen, -ENOEXEC, "segment %u changed while loading", i);
        memcpy(dst, data + ph.p_offset, ph.p_filesz);
        memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
    }

    out->entry_kind = pvh ? BOOT_ENTRY_PVH : BOOT_ENTRY_LINUX64;
    out->entry = pvh ? pvh_entry : entry64;
    out->linux64_entry = entry64;
    out->load_start = lo;
    out->load_end = hi;
    out->initrd_addr_max = UINT32_MAX;
    out->cmdline_max = 0;
    out->has_setup_header = false;
    return 0;
}
