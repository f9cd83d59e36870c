/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/loader/elf.c src/loader/bzimage.c src/loader/load_error.c src/loader/initramfs.c src/util/guest_mem.c */
/*
 * Kernel loaders against synthetic images (valid and corrupt), then against
 * the real vmlinux and bzImage of the build when they exist.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../fuzz/synth_kernel.h"
#include "loader/kernel.h"
#include "util/guest_mem.h"

#define RAM_SIZE 0x400000 /* 4 MiB at gpa 0 */

static struct guest_mem gm;
static uint8_t *ram;
static uint8_t img[SYNTH_ELF_SIZE > SYNTH_BZ_SIZE ? SYNTH_ELF_SIZE : SYNTH_BZ_SIZE];
static struct kernel_image ki;
static char err[256];

static void reset_ram(void)
{
    if (!ram) {
        ram = aligned_alloc(4096, RAM_SIZE);
        if (!ram || gm_add_region(&gm, 0, RAM_SIZE, ram))
            abort();
    }
    memset(ram, 0xcc, RAM_SIZE);
    err[0] = 0;
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

static Elf64_Ehdr *ehdr(void)
{
    return (Elf64_Ehdr *)img;
}

static Elf64_Phdr *phdr(unsigned i)
{
    return (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)) + i;
}

static int load_elf(size_t len)
{
    reset_ram();
    return kernel_load_elf(img, len, &gm, &ki, err, sizeof(err));
}

/* The load failed with rc, a message containing `msg`, and guest RAM untouched. */
#define CHECK_FAIL(call, rc, msg)                                                                  \
    do {                                                                                           \
        CHECK_EQ((call), (rc));                                                                    \
        if (!strstr(err, (msg))) {                                                                 \
            fprintf(stderr, "%s:%d: error \"%s\", expected \"%s\"\n", __FILE__, __LINE__, err,     \
                    (msg));                                                                        \
            test_failures++;                                                                       \
        }                                                                                          \
        CHECK(all_bytes(ram, RAM_SIZE, 0xcc));                                                     \
    } while (0)

/* ---- ELF ---- */

static void test_elf_valid(void)
{
    size_t len = synth_elf(img, false, SYNTH_ENTRY);
    CHECK(kernel_is_elf(img, len));
    CHECK(!kernel_is_bzimage(img, len));
    CHECK_EQ(load_elf(len), 0);
    CHECK_EQ(ki.entry_kind, BOOT_ENTRY_LINUX64);
    CHECK_EQ(ki.entry, SYNTH_ENTRY);
    CHECK_EQ(ki.linux64_entry, SYNTH_ENTRY);
    CHECK_EQ(ki.load_start, SYNTH_SEG0_PADDR);
    CHECK_EQ(ki.load_end, SYNTH_SEG1_PADDR + SYNTH_SEG1_MEMSZ);
    CHECK(!ki.has_setup_header);
    /* Contents, the untouched gap, the zeroed bss, and nothing written around. */
    CHECK(memcmp(ram + SYNTH_SEG0_PADDR, img + SYNTH_SEG0_OFF, SYNTH_SEG0_SIZE) == 0);
    CHECK(memcmp(ram + SYNTH_SEG1_PADDR, img + SYNTH_SEG1_OFF, SYNTH_SEG1_FILESZ) == 0);
    CHECK(all_bytes(ram + SYNTH_SEG0_PADDR + SYNTH_SEG0_SIZE,
                    SYNTH_SEG1_PADDR - SYNTH_SEG0_PADDR - SYNTH_SEG0_SIZE, 0xcc));
    CHECK(all_bytes(ram + SYNTH_SEG1_PADDR + SYNTH_SEG1_FILESZ,
                    SYNTH_SEG1_MEMSZ - SYNTH_SEG1_FILESZ, 0));
    CHECK(all_bytes(ram, SYNTH_SEG0_PADDR, 0xcc));
    CHECK(all_bytes(ram + ki.load_end, RAM_SIZE - ki.load_end, 0xcc));
}

static void test_elf_virtual_entry(void)
{
    size_t len = synth_elf(img, false, SYNTH_ENTRY + SYNTH_VIRT_OFFSET);
    CHECK_EQ(load_elf(len), 0);
    CHECK_EQ(ki.entry, SYNTH_ENTRY);
    /* In the second segment. */
    len = synth_elf(img, false, SYNTH_SEG1_PADDR + 0x2ff0 + SYNTH_VIRT_OFFSET);
    CHECK_EQ(load_elf(len), 0);
    CHECK_EQ(ki.entry, SYNTH_SEG1_PADDR + 0x2ff0);
    /* Outside every segment, physical and virtual. */
    len = synth_elf(img, false, 0x102000);
    CHECK_FAIL(load_elf(len), -ENOEXEC, "entry point 0x102000");
    len = synth_elf(img, false, SYNTH_SEG1_PADDR + SYNTH_SEG1_MEMSZ + SYNTH_VIRT_OFFSET);
    CHECK_FAIL(load_elf(len), -ENOEXEC, "not inside a loadable segment");
}

static void test_elf_pvh(void)
{
    size_t len = synth_elf(img, true, SYNTH_ENTRY);
    CHECK_EQ(load_elf(len), 0);
    CHECK_EQ(ki.entry_kind, BOOT_ENTRY_PVH);
    CHECK_EQ(ki.entry, SYNTH_PVH_ENTRY);
    CHECK_EQ(ki.linux64_entry, SYNTH_ENTRY);

    /* A 4-byte descriptor (a 32-bit build's), alone in a note segment aligned to 8. */
    synth_elf(img, false, SYNTH_ENTRY);
    uint32_t e4 = SYNTH_PVH_ENTRY + 4;
    size_t n = synth_note(img + SYNTH_NOTE_OFF, "Xen", 18, &e4, 4);
    phdr(2)->p_filesz = n;
    phdr(2)->p_align = 8;
    CHECK_EQ(load_elf(len), 0);
    CHECK_EQ(ki.entry_kind, BOOT_ENTRY_PVH);
    CHECK_EQ(ki.entry, SYNTH_PVH_ENTRY + 4);
    /* 8-aligned notes: the "Linux" note's descriptor is at 24 and the next note at 32
     * (20 and 24 with 4-byte alignment). */
    synth_elf(img, false, SYNTH_ENTRY);
    n = synth_note_aligned(img + SYNTH_NOTE_OFF, "Linux", 1, &e4, 4, 8);
    uint64_t e = SYNTH_PVH_ENTRY + 8;
    n += synth_note_aligned(img + SYNTH_NOTE_OFF + n, "Xen", 18, &e, 8, 8);
    phdr(2)->p_filesz = n;
    phdr(2)->p_align = 8;
    CHECK_EQ(load_elf(len), 0);
    CHECK_EQ(ki.entry, SYNTH_PVH_ENTRY + 8);

    /* With PVH, an e_entry outside the segments is no error: there is no 64-bit entry. */
    synth_elf(img, true, 0x5000000);
    CHECK_EQ(load_elf(len), 0);
    CHECK_EQ(ki.entry, SYNTH_PVH_ENTRY);
    CHECK_EQ(ki.linux64_entry, 0);

    /* A PVH entry outside the segments is. */
    synth_elf(img, false, SYNTH_ENTRY);
    uint32_t bad = 0x300000;
    phdr(2)->p_filesz = synth_note(img + SYNTH_NOTE_OFF, "Xen", 18, &bad, 4);
    CHECK_FAIL(load_elf(len), -ENOEXEC, "PVH entry point 0x300000");
    /* Above 4 GiB. */
    e = 0x100000000ull;
    phdr(2)->p_filesz = synth_note(img + SYNTH_NOTE_OFF, "Xen", 18, &e, 8);
    CHECK_FAIL(load_elf(len), -ENOEXEC, "above 4 GiB");
    /* Odd descriptor size. */
    phdr(2)->p_filesz = synth_note(img + SYNTH_NOTE_OFF, "Xen", 18, &e, 2);
    CHECK_FAIL(load_elf(len), -ENOEXEC, "PVH entry note of size 2");

    /* Other Xen notes and a same-typed note of another name are ignored. */
    synth_elf(img, false, SYNTH_ENTRY);
    n = synth_note(img + SYNTH_NOTE_OFF, "Xen", 17, &bad, 4);
    n += synth_note(img + SYNTH_NOTE_OFF + n, "Xe", 18, &bad, 4);
    n += synth_note(img + SYNTH_NOTE_OFF + n, "XenX", 18, &bad, 4);
    phdr(2)->p_filesz = n;
    CHECK_EQ(load_elf(len), 0);
    CHECK_EQ(ki.entry_kind, BOOT_ENTRY_LINUX64);
}

static void test_elf_bad_notes(void)
{
    size_t len = synth_elf(img, true, SYNTH_ENTRY);
    Elf64_Nhdr *nh = (Elf64_Nhdr *)(img + SYNTH_NOTE_OFF);
    nh->n_namesz = 0xfffffff0u;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "malformed note");
    len = synth_elf(img, true, SYNTH_ENTRY);
    nh->n_descsz = 0xffffffffu;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "malformed note");
    len = synth_elf(img, true, SYNTH_ENTRY);
    phdr(2)->p_filesz = 16; /* the GNU note's descriptor is cut off */
    CHECK_FAIL(load_elf(len), -ENOEXEC, "malformed note");
    phdr(2)->p_offset = SYNTH_ELF_SIZE + 1;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "segment 2 extends beyond the end of the file");
    /* A note cut short by the segment: its padding is missing, the data is there. */
    len = synth_elf(img, false, SYNTH_ENTRY);
    uint32_t e = SYNTH_PVH_ENTRY;
    phdr(2)->p_filesz = synth_note(img + SYNTH_NOTE_OFF, "Xen", 18, &e, 3) - 1;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "PVH entry note of size 3");
}

static void test_elf_not_elf(void)
{
    size_t len = synth_elf(img, false, SYNTH_ENTRY);
    reset_ram();
    CHECK_FAIL(kernel_load_elf(img, 3, &gm, &ki, err, sizeof(err)), -ENOEXEC, "not an ELF file");
    CHECK_FAIL(load_elf(0), -ENOEXEC, "not an ELF file");
    CHECK_FAIL(load_elf(40), -ENOEXEC, "truncated ELF header");
    CHECK_FAIL(load_elf(sizeof(Elf64_Ehdr) - 1), -ENOEXEC, "truncated ELF header");
    img[1] = 'X';
    CHECK_FAIL(load_elf(len), -ENOEXEC, "not an ELF file");
    CHECK(!kernel_is_elf(img, len));
}

static void test_elf_wrong_kind(void)
{
    size_t len = synth_elf(img, false, SYNTH_ENTRY);
    ehdr()->e_ident[EI_CLASS] = ELFCLASS32;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "not a 64-bit ELF");
    len = synth_elf(img, false, SYNTH_ENTRY);
    ehdr()->e_ident[EI_DATA] = ELFDATA2MSB;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "little-endian");
    len = synth_elf(img, false, SYNTH_ENTRY);
    ehdr()->e_machine = EM_AARCH64;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "ELF machine 183 is not x86_64");
    len = synth_elf(img, false, SYNTH_ENTRY);
    ehdr()->e_machine = EM_386;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "not x86_64");
    len = synth_elf(img, false, SYNTH_ENTRY);
    ehdr()->e_type = ET_DYN;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "not an executable");
}

static void test_elf_bad_phdrs(void)
{
    size_t len = synth_elf(img, false, SYNTH_ENTRY);
    ehdr()->e_phnum = 0;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "number of program headers");
    ehdr()->e_phnum = PN_XNUM;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "number of program headers");
    len = synth_elf(img, false, SYNTH_ENTRY);
    ehdr()->e_phentsize = 32;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "program header size");
    len = synth_elf(img, false, SYNTH_ENTRY);
    ehdr()->e_phoff = len - 100;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "program headers beyond the end");
    ehdr()->e_phoff = UINT64_MAX - 8;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "program headers beyond the end");
    len = synth_elf(img, false, SYNTH_ENTRY);
    ehdr()->e_phnum = 1000;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "program headers beyond the end");
    /* Headers cut by a truncated file. */
    len = synth_elf(img, false, SYNTH_ENTRY);
    CHECK_FAIL(load_elf(sizeof(Elf64_Ehdr) + 100), -ENOEXEC, "program headers beyond the end");
    /* No PT_LOAD at all (or only empty ones). */
    len = synth_elf(img, false, SYNTH_ENTRY);
    phdr(0)->p_type = PT_NULL;
    phdr(1)->p_memsz = 0;
    phdr(1)->p_filesz = 0;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "no loadable segments");
}

static void test_elf_segment_beyond_file(void)
{
    size_t len = synth_elf(img, false, SYNTH_ENTRY);
    phdr(1)->p_filesz = SYNTH_ELF_SIZE - SYNTH_SEG1_OFF + 1;
    phdr(1)->p_memsz = 0x10000;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "segment 1 extends beyond the end of the file");
    len = synth_elf(img, false, SYNTH_ENTRY);
    phdr(1)->p_offset = UINT64_MAX - 0x10;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "segment 1 extends beyond the end of the file");
    /* The valid image, truncated. */
    len = synth_elf(img, false, SYNTH_ENTRY);
    CHECK_FAIL(load_elf(len - 1), -ENOEXEC, "segment 1 extends beyond the end of the file");
    len = synth_elf(img, false, SYNTH_ENTRY);
    phdr(0)->p_filesz = SYNTH_SEG0_SIZE + 1;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "segment 0: file size larger than memory size");
}

static void test_elf_segment_outside_ram(void)
{
    size_t len = synth_elf(img, false, SYNTH_ENTRY);
    /* Straddles the end of RAM: nothing at all is written (segment 0 was fine). */
    phdr(1)->p_paddr = RAM_SIZE - 0x800;
    CHECK_FAIL(load_elf(len), -ENOMEM, "segment 1 (0x3ff800-0x402800) outside guest memory");
    phdr(1)->p_paddr = 0x80000000;
    CHECK_FAIL(load_elf(len), -ENOMEM, "segment 1 (0x80000000-0x80003000) outside guest memory");
    /* Fits in the file, but the bss runs off the end of RAM. */
    phdr(1)->p_paddr = RAM_SIZE - SYNTH_SEG1_FILESZ;
    CHECK_FAIL(load_elf(len), -ENOMEM, "outside guest memory");
}

static void test_elf_huge_memsz(void)
{
    size_t len = synth_elf(img, false, SYNTH_ENTRY);
    phdr(1)->p_memsz = UINT64_MAX - 0x1000;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "segment 1: address range wraps");
    phdr(1)->p_memsz = 1ull << 40;
    CHECK_FAIL(load_elf(len), -ENOMEM, "segment 1");
    len = synth_elf(img, false, SYNTH_ENTRY);
    phdr(0)->p_paddr = UINT64_MAX - 0xfff;
    CHECK_FAIL(load_elf(len), -ENOEXEC, "segment 0: address range wraps");
}

static void test_elf_null_err(void)
{
    /* err may be NULL. */
    size_t len = synth_elf(img, false, SYNTH_ENTRY);
    reset_ram();
    CHECK_EQ(kernel_load_elf(img, len - 1, &gm, &ki, NULL, 0), -ENOEXEC);
    CHECK_EQ(kernel_load_elf(img, len, &gm, &ki, NULL, 0), 0);
}

/* ---- bzImage ---- */

static int load_bz(size_t len)
{
    reset_ram();
    return kernel_load_bzimage(img, len, &gm, &ki, err, sizeof(err));
}

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static void test_bz_valid(void)
{
    size_t len = synth_bzimage(img);
    CHECK(kernel_is_bzimage(img, len));
    CHECK(!kernel_is_elf(img, len));
    CHECK_EQ(load_bz(len), 0);
    CHECK_EQ(ki.entry_kind, BOOT_ENTRY_LINUX64);
    CHECK_EQ(ki.load_start, SYNTH_BZ_PREF);
    CHECK_EQ(ki.entry, SYNTH_BZ_PREF + 0x200);
    CHECK_EQ(ki.linux64_entry, ki.entry);
    CHECK_EQ(ki.load_end, SYNTH_BZ_PREF + SYNTH_BZ_INIT_SIZE);
    CHECK_EQ(ki.initrd_addr_max, 0x7fffffff);
    CHECK_EQ(ki.cmdline_max, 2047);
    CHECK(ki.has_setup_header);
    CHECK_EQ(ki.setup_header_len, SETUP_HEADER_MAX);
    CHECK(memcmp(ram + SYNTH_BZ_PREF, img + SYNTH_BZ_SETUP_SIZE, SYNTH_BZ_KERNEL_SIZE) == 0);
    CHECK(all_bytes(ram + SYNTH_BZ_PREF + SYNTH_BZ_KERNEL_SIZE, 0x1000, 0xcc));
    CHECK(all_bytes(ram, SYNTH_BZ_PREF, 0xcc));
    /* The header as in the file, except code32_start. */
    struct setup_header h;
    memcpy(&h, ki.setup_header, sizeof(h));
    CHECK_EQ(h.header, 0x53726448);
    CHECK_EQ(h.version, 0x020f);
    CHECK_EQ(h.code32_start, SYNTH_BZ_PREF);
    CHECK_EQ(h.init_size, SYNTH_BZ_INIT_SIZE);
    CHECK(memcmp(ki.setup_header, img + 0x1f1, offsetof(struct setup_header, code32_start)) == 0);

    /* A file with trailing bytes after syssize (e.g. a signature). */
    CHECK_EQ(load_bz(len - 0x100), -ENOEXEC);
    put32(SYNTH_BZ_FIELD(img, syssize), (SYNTH_BZ_KERNEL_SIZE - 0x100) / 16);
    CHECK_EQ(load_bz(len), 0);
    CHECK(all_bytes(ram + SYNTH_BZ_PREF + SYNTH_BZ_KERNEL_SIZE - 0x100, 0x100, 0xcc));
    /* syssize 0: the rest of the file. */
    put32(SYNTH_BZ_FIELD(img, syssize), 0);
    CHECK_EQ(load_bz(len), 0);
    CHECK(memcmp(ram + SYNTH_BZ_PREF, img + SYNTH_BZ_SETUP_SIZE, SYNTH_BZ_KERNEL_SIZE) == 0);
}

static void test_bz_load_address(void)
{
    size_t len = synth_bzimage(img);
    static const uint64_t fallback[] = {0, 0x1000, 0xfffff, 0x200800, 1ull << 32};
    for (unsigned i = 0; i < sizeof(fallback) / sizeof(fallback[0]); i++) {
        put64(SYNTH_BZ_FIELD(img, pref_address), fallback[i]);
        CHECK_EQ(load_bz(len), 0);
        CHECK_EQ(ki.load_start, BZIMAGE_DEFAULT_LOAD);
        CHECK_EQ(ki.entry, BZIMAGE_DEFAULT_LOAD + 0x200);
    }
    put64(SYNTH_BZ_FIELD(img, pref_address), 0x101000);
    CHECK_EQ(load_bz(len), 0);
    CHECK_EQ(ki.load_start, 0x101000);
    /* init_size smaller than the payload: the payload decides. */
    put32(SYNTH_BZ_FIELD(img, init_size), 0x100);
    CHECK_EQ(load_bz(len), 0);
    CHECK_EQ(ki.load_end, 0x101000 + SYNTH_BZ_KERNEL_SIZE);
    /* init_size beyond RAM. */
    put32(SYNTH_BZ_FIELD(img, init_size), RAM_SIZE);
    CHECK_FAIL(load_bz(len), -ENOMEM, "kernel needs guest RAM at 0x101000-0x501000");
    put64(SYNTH_BZ_FIELD(img, pref_address), 0xf0000000);
    put32(SYNTH_BZ_FIELD(img, init_size), 0);
    CHECK_FAIL(load_bz(len), -ENOMEM, "kernel needs guest RAM");
}

static void test_bz_bad(void)
{
    size_t len = synth_bzimage(img);
    img[0x202] = 'h';
    CHECK(!kernel_is_bzimage(img, len));
    CHECK_FAIL(load_bz(len), -ENOEXEC, "no HdrS");
    CHECK_FAIL(load_bz(0x100), -ENOEXEC, "no HdrS");

    len = synth_bzimage(img);
    put16(SYNTH_BZ_FIELD(img, version), 0x020b);
    CHECK_FAIL(load_bz(len), -ENOEXEC, "boot protocol 2.11 is too old");
    put16(SYNTH_BZ_FIELD(img, version), 0x0100);
    CHECK_FAIL(load_bz(len), -ENOEXEC, "boot protocol 1.00 is too old");

    len = synth_bzimage(img);
    put16(SYNTH_BZ_FIELD(img, xloadflags), XLF_CAN_BE_LOADED_ABOVE_4G);
    CHECK_FAIL(load_bz(len), -ENOEXEC, "no 64-bit entry point");

    len = synth_bzimage(img);
    *SYNTH_BZ_FIELD(img, loadflags) = 0;
    CHECK_FAIL(load_bz(len), -ENOEXEC, "LOADED_HIGH");

    /* The jump at 0x200 says where the header ends. */
    len = synth_bzimage(img);
    img[0x201] = 0x40;
    CHECK_FAIL(load_bz(len), -ENOEXEC, "setup header too short");
    len = synth_bzimage(img);
    img[0x201] = 0x66; /* 2.12 header: ends after init_size */
    CHECK_EQ(load_bz(len), 0);
    CHECK_EQ(ki.setup_header_len, 0x268 - 0x1f1);
}

static void test_bz_truncated(void)
{
    size_t len = synth_bzimage(img);
    CHECK_FAIL(load_bz(0x210), -ENOEXEC, "setup header truncated");
    CHECK_FAIL(load_bz(0x263), -ENOEXEC, "setup header truncated");
    CHECK_FAIL(load_bz(SYNTH_BZ_SETUP_SIZE), -ENOEXEC, "no protected-mode kernel");
    CHECK_FAIL(load_bz(len - 1), -ENOEXEC,
               "protected-mode kernel is 4096 bytes, the file has 4095");
    /* setup_sects 0 means 4: the payload is then cut short. */
    *SYNTH_BZ_FIELD(img, setup_sects) = 0;
    CHECK_FAIL(load_bz(len), -ENOEXEC, "the file has 3584");
    *SYNTH_BZ_FIELD(img, setup_sects) = 255;
    CHECK_FAIL(load_bz(len), -ENOEXEC, "no protected-mode kernel");
    /* No room for the 64-bit entry at 0x200. */
    len = synth_bzimage(img);
    put32(SYNTH_BZ_FIELD(img, syssize), 0x200 / 16);
    CHECK_FAIL(load_bz(len), -ENOEXEC, "too small (512 bytes)");
    /* syssize larger than the file. */
    len = synth_bzimage(img);
    put32(SYNTH_BZ_FIELD(img, syssize), 0xffffffff);
    CHECK_FAIL(load_bz(len), -ENOEXEC, "truncated");
}

static void test_bz_setup_sects_zero(void)
{
    /* setup_sects 0 means 4: a 5-sector setup. */
    static uint8_t big[5 * 512 + 0x800];
    synth_bzimage(img);
    memcpy(big, img, SYNTH_BZ_SETUP_SIZE);
    big[0x1f1] = 0;
    put32(big + 0x1f1 + offsetof(struct setup_header, syssize), 0x800 / 16);
    for (size_t i = 5 * 512; i < sizeof(big); i++)
        big[i] = (uint8_t)i;
    reset_ram();
    CHECK_EQ(kernel_load_bzimage(big, sizeof(big), &gm, &ki, err, sizeof(err)), 0);
    CHECK(memcmp(ram + SYNTH_BZ_PREF, big + 5 * 512, 0x800) == 0);
}

/* ---- initramfs ---- */

static void test_initramfs(void)
{
    static uint8_t rd[0x1801];
    for (size_t i = 0; i < sizeof(rd); i++)
        rd[i] = (uint8_t)(i ^ 0x5a);
    uint64_t gpa = 1;
    reset_ram();
    CHECK_EQ(initramfs_place(&gm, rd, sizeof(rd), 0x200000, RAM_SIZE, 0xffffffff, &gpa), 0);
    CHECK_EQ(gpa, RAM_SIZE - 0x2000);
    CHECK(memcmp(ram + gpa, rd, sizeof(rd)) == 0);
    /* initrd_addr_max is the highest byte it may occupy. */
    CHECK_EQ(initramfs_place(&gm, rd, 0x1000, 0, RAM_SIZE, 0x2fffff, &gpa), 0);
    CHECK_EQ(gpa, 0x2ff000);
    CHECK_EQ(initramfs_place(&gm, rd, 0x1000, 0, RAM_SIZE, 0x2ffffe, &gpa), 0);
    CHECK_EQ(gpa, 0x2fe000);
    /* highest_end below the top of RAM. */
    CHECK_EQ(initramfs_place(&gm, rd, 0x10, 0, 0x123456, 0xffffffff, &gpa), 0);
    CHECK_EQ(gpa, 0x123000);
    /* Exactly fits above `lowest`, then does not. */
    CHECK_EQ(initramfs_place(&gm, rd, 0x1000, RAM_SIZE - 0x1000, RAM_SIZE, 0xffffffff, &gpa), 0);
    CHECK_EQ(gpa, RAM_SIZE - 0x1000);
    gpa = 7;
    CHECK_EQ(initramfs_place(&gm, rd, 0x1001, RAM_SIZE - 0x1000, RAM_SIZE, 0xffffffff, &gpa),
             -ENOMEM);
    CHECK_EQ(gpa, 7);
    CHECK_EQ(initramfs_place(&gm, rd, 0, 0, RAM_SIZE, 0xffffffff, &gpa), -EINVAL);
    CHECK_EQ(initramfs_place(&gm, rd, sizeof(rd), 0, 0x1000, 0xffffffff, &gpa), -ENOMEM);
    CHECK_EQ(initramfs_place(&gm, rd, sizeof(rd), 0, RAM_SIZE, 0xfff, &gpa), -ENOMEM);
}

static void test_initramfs_regions(void)
{
    /* Two regions with a hole; the limit falls in the hole or in the upper region. */
    struct guest_mem g2 = {0};
    static uint8_t lo[0x10000], hi[0x4000];
    if (gm_add_region(&g2, 0x100000, sizeof(lo), lo) ||
        gm_add_region(&g2, 0x200000, sizeof(hi), hi))
        abort();
    static const uint8_t rd[0x3000] = {1};
    uint64_t gpa;
    CHECK_EQ(initramfs_place(&g2, rd, sizeof(rd), 0, 0x180000, 0xffffffff, &gpa), 0);
    CHECK_EQ(gpa, 0x10d000);
    CHECK_EQ(initramfs_place(&g2, rd, sizeof(rd), 0, 0x300000, 0xffffffff, &gpa), 0);
    CHECK_EQ(gpa, 0x201000);
    CHECK(hi[0x1000] == 1);
    /* Too big for the upper region: goes below. */
    static const uint8_t big[0x5000] = {2};
    CHECK_EQ(initramfs_place(&g2, big, sizeof(big), 0, 0x300000, 0xffffffff, &gpa), 0);
    CHECK_EQ(gpa, 0x10b000);
    /* Upper region partly below the limit: the part below must hold it. */
    CHECK_EQ(initramfs_place(&g2, rd, sizeof(rd), 0, 0x202fff, 0xffffffff, &gpa), 0);
    CHECK_EQ(gpa, 0x10d000);
}

/* ---- the real kernels of the build ---- */

static const uint8_t *map_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    void *p = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size > 0)
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return NULL;
    *len = (size_t)st.st_size;
    return p;
}

/* 1 GiB of guest RAM at 0, touched only where the kernel lands. */
static struct guest_mem *big_ram(void)
{
    static struct guest_mem g;
    static void *mem;
    if (!mem) {
        mem = mmap(NULL, 1ull << 30, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mem == MAP_FAILED || gm_add_region(&g, 0, 1ull << 30, mem))
            abort();
    }
    return &g;
}

static char real_path[4096];

static const char *build_file(const char *name)
{
    const char *dir = getenv("KRUN_BUILD_DIR");
    snprintf(real_path, sizeof(real_path), "%s/%s", dir && *dir ? dir : "build", name);
    return real_path;
}

static void test_real_vmlinux(void)
{
    size_t len;
    const char *path = build_file("vmlinux");
    const uint8_t *f = map_file(path, &len);
    if (!f) {
        printf("note: %s not found, real vmlinux not tested\n", path);
        return;
    }
    struct guest_mem *g = big_ram();
    Elf64_Ehdr eh;
    memcpy(&eh, f, sizeof(eh));
    CHECK(kernel_is_elf(f, len));
    int rc = kernel_load_elf(f, len, g, &ki, err, sizeof(err));
    if (rc)
        fprintf(stderr, "%s: %s\n", path, err);
    CHECK_EQ(rc, 0);
    CHECK_EQ(ki.load_start, 0x1000000);
    CHECK_EQ(ki.entry_kind, BOOT_ENTRY_PVH); /* CONFIG_PVH=y */
    CHECK_EQ(ki.linux64_entry, eh.e_entry);
    CHECK(ki.entry >= ki.load_start && ki.entry < ki.load_end);
    CHECK(ki.linux64_entry >= ki.load_start && ki.linux64_entry < ki.load_end);
    /* The first PT_LOAD's bytes are where they belong. */
    Elf64_Phdr ph;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        memcpy(&ph, f + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type == PT_LOAD)
            break;
    }
    CHECK(memcmp(gm_ptr(g, ph.p_paddr, 4096), f + ph.p_offset, 4096) == 0);
    printf("note: %s: entry 0x%" PRIx64 " (PVH), 64-bit entry 0x%" PRIx64 ", loaded at 0x%" PRIx64
           "-0x%" PRIx64 "\n",
           path, ki.entry, ki.linux64_entry, ki.load_start, ki.load_end);
    /* Every truncation of the real header area fails cleanly. */
    for (size_t cut = 0; cut < 4096 && cut < len; cut += 61)
        CHECK(kernel_load_elf(f, cut, g, &ki, err, sizeof(err)) < 0);
    munmap((void *)f, len);
}

static void test_real_bzimage(void)
{
    size_t len;
    const char *path = build_file("bzImage");
    const uint8_t *f = map_file(path, &len);
    if (!f) {
        printf("note: %s not found, real bzImage not tested\n", path);
        return;
    }
    struct guest_mem *g = big_ram();
    CHECK(kernel_is_bzimage(f, len));
    int rc = kernel_load_bzimage(f, len, g, &ki, err, sizeof(err));
    if (rc)
        fprintf(stderr, "%s: %s\n", path, err);
    CHECK_EQ(rc, 0);
    struct setup_header h;
    memcpy(&h, f + 0x1f1, sizeof(h));
    CHECK_EQ(ki.load_start, h.pref_address ? h.pref_address : BZIMAGE_DEFAULT_LOAD);
    CHECK_EQ(ki.entry, ki.load_start + 0x200);
    CHECK(ki.load_end >= ki.load_start + h.init_size);
    CHECK(ki.has_setup_header);
    CHECK(memcmp(ki.setup_header + 0x202 - 0x1f1, "HdrS", 4) == 0);
    size_t setup = ((size_t)(h.setup_sects ? h.setup_sects : 4) + 1) * 512;
    CHECK(memcmp(gm_ptr(g, ki.load_start, 4096), f + setup, 4096) == 0);
    printf("note: %s: protocol %x, loaded at 0x%" PRIx64 "-0x%" PRIx64 ", entry 0x%" PRIx64 "\n",
           path, h.version, ki.load_start, ki.load_end, ki.entry);
    for (size_t cut = 0; cut < setup + 16; cut += 37)
        CHECK(kernel_load_bzimage(f, cut, g, &ki, err, sizeof(err)) < 0);
    munmap((void *)f, len);
}

int main(void)
{
    RUN(test_elf_valid);
    RUN(test_elf_virtual_entry);
    RUN(test_elf_pvh);
    RUN(test_elf_bad_notes);
    RUN(test_elf_not_elf);
    RUN(test_elf_wrong_kind);
    RUN(test_elf_bad_phdrs);
    RUN(test_elf_segment_beyond_file);
    RUN(test_elf_segment_outside_ram);
    RUN(test_elf_huge_memsz);
    RUN(test_elf_null_err);
    RUN(test_bz_valid);
    RUN(test_bz_load_address);
    RUN(test_bz_bad);
    RUN(test_bz_truncated);
    RUN(test_bz_setup_sects_zero);
    RUN(test_initramfs);
    RUN(test_initramfs_regions);
    RUN(test_real_vmlinux);
    RUN(test_real_bzimage);
    return TEST_EXIT();
}
