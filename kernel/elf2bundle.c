/* SPDX-License-Identifier: Apache-2.0 */
/*
 * elf2bundle: turn an x86_64 vmlinux into the blob that libkrunfw.so.5
 * carries, plus a header with its guest load address, entry and size.
 *
 *   elf2bundle VMLINUX OUT.bin OUT.h
 *
 * The blob is the span of the PT_LOAD segments laid out by physical
 * address (p_paddr): each segment contributes its p_filesz file bytes,
 * gaps between segments are zero, memory past the last segment's file
 * bytes (.bss) is left out because the kernel clears it itself, and the
 * whole is padded with zeros to a multiple of 64 KiB. The load address is
 * the first PT_LOAD's p_paddr and the entry is e_entry (which a vmlinux
 * linker script makes physical).
 *
 * Host tool; reads untrusted-ish input carefully and fails with a message.
 */
#include <elf.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUNDLE_ALIGN ((uint64_t)64 * 1024)
#define MAX_BUNDLE   ((uint64_t)1 << 30) /* sanity bound on the span */

static const char *prog = "elf2bundle";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s", path);
    size_t cap = 1 << 20, n = 0;
    unsigned char *buf = malloc(cap);
    if (!buf)
        die("out of memory reading %s", path);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            unsigned char *nb = realloc(buf, cap);
            if (!nb)
                die("out of memory reading %s", path);
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        die("read error on %s", path);
    fclose(f);
    *len = n;
    return buf;
}

/* Is [off, off+len) inside a file of size total? */
static int in_file(uint64_t off, uint64_t len, size_t total)
{
    return off <= total && len <= total - off;
}

static void write_file(const char *path, const void *data, size_t len)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp)
        die("out of memory writing %s", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        die("cannot create %s", tmp);
    if (len && fwrite(data, 1, len, f) != len)
        die("write error on %s", tmp);
    if (fclose(f) != 0)
        die("write error on %s", tmp);
    if (rename(tmp, path) != 0)
        die("cannot rename to %s", path);
    free(tmp);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s VMLINUX OUT.bin OUT.h\n", prog);
        return 2;
    }
    const char *in = argv[1], *out_bin = argv[2], *out_h = argv[3];

    size_t flen;
    unsigned char *file = read_file(in, &flen);

    Elf64_Ehdr eh;
    if (flen < sizeof(eh))
        die("%s: too short for an ELF header", in);
    memcpy(&eh, file, sizeof(eh));
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        die("%s: not an ELF file", in);
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
        die("%s: not a little-endian ELF64 file", in);
    if (eh.e_type != ET_EXEC || eh.e_machine != EM_X86_64)
        die("%s: not an x86_64 executable", in);
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0)
        die("%s: bad program header table", in);
    if (!in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), flen))
        die("%s: program headers outside the file", in);

    /* First pass: validate segments and find the span. */
    uint64_t load = 0, end = 0;
    int nload = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, file + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD)
            continue;
        if (!in_file(ph.p_offset, ph.p_filesz, flen))
            die("%s: PT_LOAD data outside the file", in);
        if (ph.p_filesz > ph.p_memsz)
            die("%s: PT_LOAD with filesz > memsz", in);
        if (nload == 0)
            load = ph.p_paddr;
        else if (ph.p_paddr < load)
            die("%s: PT_LOAD below the first segment's physical address", in);
        if (ph.p_paddr - load > MAX_BUNDLE || ph.p_filesz > MAX_BUNDLE)
            die("%s: PT_LOAD span unreasonably large", in);
        uint64_t seg_end = ph.p_paddr + ph.p_filesz;
        if (seg_end > end)
            end = seg_end;
        nload++;
    }
    if (nload == 0)
        die("%s: no PT_LOAD segment", in);
    if (load % 4096 != 0)
        die("%s: load address is not page aligned", in);

    uint64_t span = end - load;
    uint64_t size = (span + BUNDLE_ALIGN - 1) / BUNDLE_ALIGN * BUNDLE_ALIGN;
    if (size == 0)
        die("%s: empty PT_LOAD span", in);
    if (eh.e_entry < load || eh.e_entry >= load + span)
        die("%s: e_entry is not inside the loaded span (not a physical address?)", in);

    /* Second pass: place the bytes; overlapping file bytes are an error. */
    unsigned char *blob = calloc(1, size);
    unsigned char *used = calloc(1, size);
    if (!blob || !used)
        die("out of memory for %s", "the blob");
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, file + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD || ph.p_filesz == 0)
            continue;
        uint64_t off = ph.p_paddr - load;
        if (memchr(used + off, 1, ph.p_filesz))
            die("%s: PT_LOAD segments overlap in physical memory", in);
        memset(used + off, 1, ph.p_filesz);
        memcpy(blob + off, file + ph.p_offset, ph.p_filesz);
    }

    write_file(out_bin, blob, size);

    char hdr[1024];
    int n = snprintf(hdr, sizeof(hdr),
                     "/* Generated by kernel/elf2bundle from %s; do not edit. */\n"
                     "#define KRUNFW_LOAD_ADDR 0x%" PRIx64 "\n"
                     "#define KRUNFW_ENTRY_ADDR 0x%" PRIx64 "\n"
                     "#define KRUNFW_KERNEL_SIZE 0x%" PRIx64 "\n",
                     in, load, (uint64_t)eh.e_entry, size);
    if (n < 0 || (size_t)n >= sizeof(hdr))
        die("%s: path too long for the header", in);
    write_file(out_h, hdr, (size_t)n);

    printf("kernel bundle: load 0x%" PRIx64 " entry 0x%" PRIx64 " size %" PRIu64 " (span %" PRIu64
           ", %d PT_LOAD)\n",
           load, (uint64_t)eh.e_entry, size, span, nload);
    free(used);
    free(blob);
    free(file);
    return 0;
}
