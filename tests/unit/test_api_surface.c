/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: @library */
/* LDLIBS: -luring -lz -lzstd */
/*
 * The public API surface: every upstream libkrun 1.18 function is declared
 * with its exact prototype (checked at compile time by the assignments
 * below) and exported by build/libkrun.so.1, and the library exports
 * nothing else but the documented extension krun_start_wait.
 */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libkrun.h"
#include "test.h"

/* The cast checks the prototype: a mismatch does not compile. */
// clang-format off
#define FN(name, type) {#name, (void *)(type)name}
// clang-format on

struct api_fn {
    const char *name;
    void *addr;
};

static const struct api_fn upstream_api[] = {
    FN(krun_set_log_level, int32_t (*)(uint32_t)),
    FN(krun_init_log, int32_t (*)(int, uint32_t, uint32_t, uint32_t)),
    FN(krun_create_ctx, int32_t (*)(void)),
    FN(krun_free_ctx, int32_t (*)(uint32_t)),
    FN(krun_set_vm_config, int32_t (*)(uint32_t, uint8_t, uint32_t)),
    FN(krun_set_root, int32_t (*)(uint32_t, const char *)),
    FN(krun_set_root_disk, int32_t (*)(uint32_t, const char *)),
    FN(krun_set_data_disk, int32_t (*)(uint32_t, const char *)),
    FN(krun_add_disk, int32_t (*)(uint32_t, const char *, const char *, bool)),
    FN(krun_add_disk2, int32_t (*)(uint32_t, const char *, const char *, uint32_t, bool)),
    FN(krun_add_disk3,
       int32_t (*)(uint32_t, const char *, const char *, uint32_t, bool, bool, uint32_t)),
    FN(krun_set_mapped_volumes, int32_t (*)(uint32_t, const char *const[])),
    FN(krun_add_virtiofs, int32_t (*)(uint32_t, const char *, const char *)),
    FN(krun_add_virtiofs2, int32_t (*)(uint32_t, const char *, const char *, uint64_t)),
    FN(krun_add_virtiofs3, int32_t (*)(uint32_t, const char *, const char *, uint64_t, bool)),
    FN(krun_add_net_unixstream,
       int32_t (*)(uint32_t, const char *, int, uint8_t *const, uint32_t, uint32_t)),
    FN(krun_add_net_unixgram,
       int32_t (*)(uint32_t, const char *, int, uint8_t *const, uint32_t, uint32_t)),
    FN(krun_add_net_tap, int32_t (*)(uint32_t, char *, uint8_t *const, uint32_t, uint32_t)),
    FN(krun_set_passt_fd, int32_t (*)(uint32_t, int)),
    FN(krun_set_gvproxy_path, int32_t (*)(uint32_t, char *)),
    FN(krun_set_net_mac, int32_t (*)(uint32_t, uint8_t *const)),
    FN(krun_set_port_map, int32_t (*)(uint32_t, const char *const[])),
    FN(krun_set_gpu_options, int32_t (*)(uint32_t, uint32_t)),
    FN(krun_set_gpu_options2, int32_t (*)(uint32_t, uint32_t, uint64_t)),
    FN(krun_add_display, int32_t (*)(uint32_t, uint32_t, uint32_t)),
    FN(krun_display_set_edid, int32_t (*)(uint32_t, uint32_t, const uint8_t *, size_t)),
    FN(krun_display_set_dpi, int32_t (*)(uint32_t, uint32_t, uint32_t)),
    FN(krun_display_set_physical_size, int32_t (*)(uint32_t, uint32_t, uint16_t, uint16_t)),
    FN(krun_display_set_refresh_rate, int32_t (*)(uint32_t, uint32_t, uint32_t)),
    FN(krun_set_display_backend, int32_t (*)(uint32_t, const void *, size_t)),
    FN(krun_add_input_device, int (*)(uint32_t, const void *, size_t, const void *, size_t)),
    FN(krun_add_input_device_fd, int (*)(uint32_t, int)),
    FN(krun_add_vhost_user_device,
       int32_t (*)(uint32_t, uint32_t, const char *, const char *, uint16_t, const uint16_t *)),
    FN(krun_set_rlimits, int32_t (*)(uint32_t, const char *const[])),
    FN(krun_set_smbios_oem_strings, int32_t (*)(uint32_t, const char *const[])),
    FN(krun_set_workdir, int32_t (*)(uint32_t, const char *)),
    FN(krun_set_exec,
       int32_t (*)(uint32_t, const char *, const char *const[], const char *const[])),
    FN(krun_set_firmware, int32_t (*)(uint32_t, const char *)),
    FN(krun_set_kernel, int32_t (*)(uint32_t, const char *, uint32_t, const char *, const char *)),
    FN(krun_set_env, int32_t (*)(uint32_t, const char *const[])),
    FN(krun_set_tee_config_file, int32_t (*)(uint32_t, const char *)),
    FN(krun_add_vsock_port, int32_t (*)(uint32_t, uint32_t, const char *)),
    FN(krun_add_vsock_port2, int32_t (*)(uint32_t, uint32_t, const char *, bool)),
    FN(krun_add_vsock, int32_t (*)(uint32_t, uint32_t)),
    FN(krun_get_shutdown_eventfd, int32_t (*)(uint32_t)),
    FN(krun_set_console_output, int32_t (*)(uint32_t, const char *)),
    FN(krun_setuid, int32_t (*)(uint32_t, uid_t)),
    FN(krun_setgid, int32_t (*)(uint32_t, gid_t)),
    FN(krun_set_nested_virt, int32_t (*)(uint32_t, bool)),
    FN(krun_check_nested_virt, int32_t (*)(void)),
    FN(krun_has_feature, int32_t (*)(uint64_t)),
    FN(krun_get_max_vcpus, int32_t (*)(void)),
    FN(krun_split_irqchip, int32_t (*)(uint32_t, bool)),
    FN(krun_disable_implicit_console, int32_t (*)(uint32_t)),
    FN(krun_disable_implicit_init, int32_t (*)(uint32_t)),
    FN(krun_get_default_init, int32_t (*)(const uint8_t **, size_t *)),
    FN(krun_fs_add_overlay_file,
       int32_t (*)(uint32_t, const char *, const char *, const uint8_t *, size_t, uint32_t, bool)),
    FN(krun_fs_add_overlay_dir, int32_t (*)(uint32_t, const char *, const char *, uint32_t)),
    FN(krun_disable_implicit_vsock, int32_t (*)(uint32_t)),
    FN(krun_set_kernel_console, int32_t (*)(uint32_t, const char *)),
    FN(krun_add_virtio_console_default, int32_t (*)(uint32_t, int, int, int)),
    FN(krun_add_serial_console_default, int32_t (*)(uint32_t, int, int)),
    FN(krun_add_virtio_console_multiport, int32_t (*)(uint32_t)),
    FN(krun_add_console_port_tty, int32_t (*)(uint32_t, uint32_t, const char *, int)),
    FN(krun_add_console_port_inout, int32_t (*)(uint32_t, uint32_t, const char *, int, int)),
    FN(krun_set_root_disk_remount, int32_t (*)(uint32_t, const char *, const char *, const char *)),
    FN(krun_start_enter, int32_t (*)(uint32_t)),
};

static const struct api_fn extensions[] = {
    FN(krun_start_wait, int32_t (*)(uint32_t)),
};

#define N_UPSTREAM (sizeof(upstream_api) / sizeof(upstream_api[0]))
#define N_EXT      (sizeof(extensions) / sizeof(extensions[0]))

static const char *lib_path(void)
{
    static char path[4096];
    const char *dir = getenv("KRUN_BUILD_DIR");
    snprintf(path, sizeof(path), "%s/libkrun.so.1", dir ? dir : "build");
    return path;
}

static bool is_api_name(const char *name)
{
    for (size_t i = 0; i < N_UPSTREAM; i++)
        if (strcmp(upstream_api[i].name, name) == 0)
            return true;
    for (size_t i = 0; i < N_EXT; i++)
        if (strcmp(extensions[i].name, name) == 0)
            return true;
    return false;
}

static void test_count(void)
{
    CHECK_EQ(N_UPSTREAM, 67);
}

static void test_all_exported(void)
{
    void *h = dlopen(lib_path(), RTLD_NOW | RTLD_LOCAL);
    CHECK(h != NULL);
    if (!h) {
        fprintf(stderr, "dlopen %s: %s\n", lib_path(), dlerror());
        return;
    }
    for (size_t i = 0; i < N_UPSTREAM; i++) {
        if (!dlsym(h, upstream_api[i].name)) {
            fprintf(stderr, "not exported: %s\n", upstream_api[i].name);
            test_failures++;
        }
    }
    for (size_t i = 0; i < N_EXT; i++)
        CHECK(dlsym(h, extensions[i].name) != NULL);
    dlclose(h);
}

/* Walk the library file's .dynsym: defined global symbols must all be API functions. */
static void test_nothing_else_exported(void)
{
    int fd = open(lib_path(), O_RDONLY);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    struct stat st;
    fstat(fd, &st);
    const uint8_t *f = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
    CHECK(memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0);
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(f + eh->e_shoff);
    size_t defined = 0;
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_DYNSYM)
            continue;
        const Elf64_Sym *sym = (const Elf64_Sym *)(f + sh[i].sh_offset);
        const char *strtab = (const char *)(f + sh[sh[i].sh_link].sh_offset);
        size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
        for (size_t j = 1; j < n; j++) {
            int bind = ELF64_ST_BIND(sym[j].st_info);
            if (sym[j].st_shndx == SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK))
                continue;
            const char *name = strtab + sym[j].st_name;
            defined++;
            if (!is_api_name(name)) {
                fprintf(stderr, "unexpected exported symbol: %s\n", name);
                test_failures++;
            }
        }
    }
    CHECK_EQ(defined, N_UPSTREAM + N_EXT);
    munmap((void *)f, (size_t)st.st_size);
}

int main(void)
{
    RUN(test_count);
    RUN(test_all_exported);
    RUN(test_nothing_else_exported);
    return TEST_EXIT();
}
