/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: */
/*
 * The kernel bundle libkrunfw.so.5: ABI, layout of the blob against the
 * vmlinux it came from, and that nothing but the two ABI functions is
 * exported. Needs $KRUN_BUILD_DIR/libkrunfw.so.5 and $KRUN_BUILD_DIR/vmlinux.
 */
#include <dlfcn.h>
#include <elf.h>
#include <stdint.h>

#include "test.h"

typedef char *(*get_kernel_fn)(size_t *, size_t *, size_t *);
typedef int (*get_version_fn)(void);

static const char *build_dir;
static void *lib;
static get_kernel_fn get_kernel;
static get_version_fn get_version;

static char *path_in_build(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf), "%s/%s", build_dir, name);
    return buf;
}

/* Whole file into memory, or NULL. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : (1 << 20);
            unsigned char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    *len = n;
    return buf;
}

static int range_ok(uint64_t off, uint64_t len, size_t total)
{
    return off <= total && len <= total - off;
}

static void test_abi(void)
{
    CHECK(get_kernel != NULL);
    CHECK(get_version != NULL);
    if (!get_kernel || !get_version)
        return;
    CHECK_EQ(get_version(), 5);

    size_t load = 0, entry = 0, size = 0;
    char *blob = get_kernel(&load, &entry, &size);
    CHECK(blob != NULL);
    CHECK_EQ(load, 16u << 20);
    CHECK(size != 0);
    CHECK_EQ(size % 65536, 0);
    CHECK_EQ((uintptr_t)blob % 65536, 0);
    CHECK(entry >= load);
    CHECK(entry < load + size);
    printf("     load 0x%zx entry 0x%zx size %zu\n", load, entry, size);

    /* Same answers on a second call, and NULL out-pointers are tolerated. */
    CHECK(get_kernel(NULL, NULL, NULL) == blob);
}

static void test_writable(void)
{
    if (!get_kernel)
        return;
    size_t load, entry, size;
    volatile char *blob = get_kernel(&load, &entry, &size);
    if (!blob || !size)
        return;
    /* Would fault if the blob were in a read-only mapping. */
    size_t idx[] = {0, size / 2, size - 1};
    for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
        char old = blob[idx[i]];
        blob[idx[i]] = (char)(old ^ 0x5a);
        CHECK(blob[idx[i]] == (char)(old ^ 0x5a));
        blob[idx[i]] = old;
        CHECK(blob[idx[i]] == old);
    }
}

/*
 * Every PT_LOAD segment of build/vmlinux appears at p_paddr - load in the
 * blob, the first one at offset 0; bytes between segments and past the
 * last one's file bytes are zero.
 */
static void test_matches_vmlinux(void)
{
    if (!get_kernel)
        return;
    size_t load, entry, size;
    const unsigned char *blob = (const unsigned char *)get_kernel(&load, &entry, &size);
    size_t flen = 0;
    unsigned char *file = slurp(path_in_build("vmlinux"), &flen);
    CHECK(file != NULL);
    if (!file || !blob)
        return;

    Elf64_Ehdr eh;
    CHECK(flen >= sizeof(eh));
    if (flen < sizeof(eh)) {
        free(file);
        return;
    }
    memcpy(&eh, file, sizeof(eh));
    CHECK(memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0);
    CHECK_EQ(eh.e_ident[EI_CLASS], ELFCLASS64);
    CHECK_EQ(eh.e_phentsize, sizeof(Elf64_Phdr));
    CHECK(range_ok(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), flen));
    CHECK_EQ(eh.e_entry, entry);

    unsigned char *covered = calloc(1, size);
    CHECK(covered != NULL);
    int nload = 0;
    for (unsigned i = 0; covered && i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (!range_ok(eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph), flen))
            break;
        memcpy(&ph, file + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD)
            continue;
        if (nload++ == 0)
            CHECK_EQ(ph.p_paddr, load);
        CHECK(ph.p_paddr >= load);
        CHECK(range_ok(ph.p_paddr - load, ph.p_filesz, size));
        CHECK(range_ok(ph.p_offset, ph.p_filesz, flen));
        if (ph.p_paddr < load || !range_ok(ph.p_paddr - load, ph.p_filesz, size) ||
            !range_ok(ph.p_offset, ph.p_filesz, flen))
            continue;
        CHECK(memcmp(blob + (ph.p_paddr - load), file + ph.p_offset, ph.p_filesz) == 0);
        memset(covered + (ph.p_paddr - load), 1, ph.p_filesz);
    }
    CHECK(nload > 0);

    size_t nonzero = 0;
    for (size_t off = 0; covered && off < size; off++)
        if (!covered[off] && blob[off] != 0)
            nonzero++;
    CHECK_EQ(nonzero, 0);

    free(covered);
    free(file);
}

/* Defined symbols in the .dynsym of the library file. */
static void test_dynsym(void)
{
    size_t flen = 0;
    unsigned char *file = slurp(path_in_build("libkrunfw.so.5"), &flen);
    CHECK(file != NULL);
    if (!file)
        return;
    Elf64_Ehdr eh;
    memset(&eh, 0, sizeof(eh));
    memcpy(&eh, file, flen >= sizeof(eh) ? sizeof(eh) : 0);
    CHECK(flen >= sizeof(eh) && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0);
    CHECK_EQ(eh.e_shentsize, sizeof(Elf64_Shdr));
    if (flen < sizeof(eh) || eh.e_shentsize != sizeof(Elf64_Shdr) ||
        !range_ok(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr), flen)) {
        free(file);
        return;
    }

    int found_dynsym = 0, n_defined = 0, saw_kernel = 0, saw_version = 0;
    for (unsigned i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh, strsh;
        memcpy(&sh, file + eh.e_shoff + (uint64_t)i * sizeof(sh), sizeof(sh));
        if (sh.sh_type != SHT_DYNSYM || sh.sh_link >= eh.e_shnum)
            continue;
        found_dynsym = 1;
        memcpy(&strsh, file + eh.e_shoff + (uint64_t)sh.sh_link * sizeof(strsh), sizeof(strsh));
        CHECK(range_ok(sh.sh_offset, sh.sh_size, flen));
        CHECK(range_ok(strsh.sh_offset, strsh.sh_size, flen));
        if (!range_ok(sh.sh_offset, sh.sh_size, flen) ||
            !range_ok(strsh.sh_offset, strsh.sh_size, flen) || strsh.sh_size == 0)
            continue;
        const char *strtab = (const char *)file + strsh.sh_offset;
        for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= sh.sh_size; off += sizeof(Elf64_Sym)) {
            Elf64_Sym sym;
            memcpy(&sym, file + sh.sh_offset + off, sizeof(sym));
            if (sym.st_shndx == SHN_UNDEF)
                continue;
            int bind = ELF64_ST_BIND(sym.st_info);
            if (bind == STB_LOCAL)
                continue;
            CHECK(sym.st_name < strsh.sh_size);
            if (sym.st_name >= strsh.sh_size)
                continue;
            const char *name = strtab + sym.st_name;
            CHECK(memchr(name, 0, strsh.sh_size - sym.st_name) != NULL);
            n_defined++;
            if (strcmp(name, "krunfw_get_kernel") == 0)
                saw_kernel = 1;
            else if (strcmp(name, "krunfw_get_version") == 0)
                saw_version = 1;
            else
                fprintf(stderr, "unexpected exported symbol: %s\n", name);
        }
    }
    CHECK(found_dynsym);
    CHECK(saw_kernel);
    CHECK(saw_version);
    CHECK_EQ(n_defined, 2);
    free(file);
}

static void test_hidden_symbols(void)
{
    if (!lib)
        return;
    const char *hidden[] = {
        "krunfw_kernel_blob",
        "KERNEL_BUNDLE",
        "krunfw_get_initrd",
        "krunfw_get_qboot",
    };
    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
        void *sym = dlsym(lib, hidden[i]);
        if (sym)
            fprintf(stderr, "%s resolves but must not\n", hidden[i]);
        CHECK(sym == NULL);
    }
}

int main(void)
{
    build_dir = getenv("KRUN_BUILD_DIR");
    if (!build_dir)
        build_dir = "build";
    lib = dlopen(path_in_build("libkrunfw.so.5"), RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        fprintf(stderr, "dlopen: %s\n", dlerror());
    CHECK(lib != NULL);
    if (lib) {
        /* Object to function pointer, as POSIX dlsym() intends. */
        void *p = dlsym(lib, "krunfw_get_kernel");
        memcpy(&get_kernel, &p, sizeof(p));
        p = dlsym(lib, "krunfw_get_version");
        memcpy(&get_version, &p, sizeof(p));
    }
    RUN(test_abi);
    RUN(test_writable);
    RUN(test_matches_vmlinux);
    RUN(test_dynsym);
    RUN(test_hidden_symbols);
    if (lib)
        dlclose(lib);
    return TEST_EXIT();
}
