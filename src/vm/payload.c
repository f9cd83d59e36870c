/* SPDX-License-Identifier: Apache-2.0 */
#include "vm/payload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abi/guest_abi.h"
#include "arch/x86_64/layout.h"
#include "libkrun.h"
#include "loader/cpio.h"
#include "loader/decompress.h"
#include "util/log.h"
#include "vm/cmdline.h"
#include "vm/vm.h"

/* Read exactly len bytes from fd into private memory. Returns 0 or -errno (-EIO if it shrank). */
static int read_all(int fd, uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        done += (size_t)n;
    }
    return 0;
}

/*
 * A whole file in memory. A kernel is parsed, then loaded from what was
 * parsed: it is read into private memory once, so that nobody changing the
 * file meanwhile can make the second look differ from the first. An
 * initramfs is only copied, once: it is mapped.
 */
static int read_file(const char *what, const char *path, bool parsed, struct file_data *f)
{
    f->path = path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        log_error("cannot open %s %s: %s", what, path, strerror(err));
        return -err;
    }
    struct stat st;
    int ret = 0;
    if (fstat(fd, &st) < 0) {
        ret = -errno;
    } else if (!S_ISREG(st.st_mode) || st.st_size == 0) {
        log_error("%s %s is not a regular, non-empty file", what, path);
        ret = -EINVAL;
    } else if (parsed) {
        f->len = (size_t)st.st_size;
        f->data = malloc(f->len);
        f->mapped = false;
        ret = f->data ? read_all(fd, f->data, f->len) : -ENOMEM;
        if (ret)
            log_error("cannot read %s %s: %s", what, path, strerror(-ret));
    } else {
        f->len = (size_t)st.st_size;
        f->data = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0);
        f->mapped = true;
        if (f->data == MAP_FAILED) {
            f->data = NULL;
            ret = -errno;
            log_error("cannot read %s %s: %s", what, path, strerror(-ret));
        }
    }
    close(fd);
    return ret;
}

static void free_file(struct file_data *f)
{
    if (f->data && f->mapped)
        munmap(f->data, f->len);
    else
        free(f->data);
    f->data = NULL;
}

/* The IMAGE_* formats: a compressed vmlinux. */
static bool compression_of(uint32_t format, enum kernel_compression *c)
{
    switch (format) {
    case KRUN_KERNEL_FORMAT_IMAGE_GZ:
        *c = KERNEL_GZIP;
        return true;
    case KRUN_KERNEL_FORMAT_IMAGE_BZ2:
        *c = KERNEL_BZIP2;
        return true;
    case KRUN_KERNEL_FORMAT_IMAGE_ZSTD:
        *c = KERNEL_ZSTD;
        return true;
    }
    return false;
}

/*
 * Replace the file's bytes with what they decompress to, which must be an
 * ELF vmlinux (as upstream: these formats are not a bzImage).
 */
static int decompress_kernel(struct payload *p, enum kernel_compression comp)
{
    char err[256] = "";
    uint8_t *elf;
    size_t len;
    int ret = kernel_decompress(comp, p->kernel.data, p->kernel.len, KERNEL_DECOMPRESSED_MAX, &elf,
                                &len, err, sizeof(err));
    if (ret) {
        log_error("kernel %s: %s", p->kernel.path, err);
        return ret;
    }
    free_file(&p->kernel);
    p->kernel.data = elf;
    p->kernel.len = len;
    p->kernel.mapped = false;
    if (!kernel_is_elf(elf, len)) {
        log_error("kernel %s: the %s data in it (%zu bytes decompressed) is not an ELF vmlinux",
                  p->kernel.path, kernel_compression_name(comp), len);
        return -ENOEXEC;
    }
    log_debug("kernel %s: %s, %zu bytes decompressed", p->kernel.path,
              kernel_compression_name(comp), len);
    return 0;
}

/*
 * RAW, as upstream on x86_64: the file is a kernel already laid out as in
 * guest memory, booted like the bundle at RAW_KERNEL_ADDR, which is also
 * its 64-bit entry point. krun_set_kernel dropped the initramfs and the
 * command line (the default command line applies).
 */
static int choose_raw(struct payload *p)
{
    if (p->kernel.len > X86_MMIO_GAP_START - RAW_KERNEL_ADDR) {
        log_error("kernel %s (%zu bytes) does not fit between 0x%llx and the MMIO gap at 0x%llx",
                  p->kernel.path, p->kernel.len, RAW_KERNEL_ADDR, X86_MMIO_GAP_START);
        return -EINVAL;
    }
    p->raw = (struct kernel_bundle){
        .host = p->kernel.data,
        .load_addr = RAW_KERNEL_ADDR,
        .entry = RAW_KERNEL_ADDR,
        .size = p->kernel.len,
    };
    p->bundle = &p->raw;
    p->footprint_end = RAW_KERNEL_ADDR + p->kernel.len;
    return 0;
}

int payload_choose(const struct vm_config *cfg, const struct kernel_bundle *bundle,
                   struct payload *p)
{
    if (!cfg->kernel_path) {
        p->bundle = bundle;
        if (!p->bundle) {
            log_error("couldn't find or load libkrunfw.so.5 (the guest kernel bundle), and no "
                      "kernel was set with krun_set_kernel");
            return -ENOENT;
        }
        p->footprint_end = p->bundle->load_addr + p->bundle->size;
        return 0;
    }
    int ret = read_file("kernel", cfg->kernel_path, true, &p->kernel);
    if (ret)
        return -EINVAL;
    if (cfg->kernel_format == KRUN_KERNEL_FORMAT_RAW)
        return choose_raw(p);
    enum kernel_compression comp;
    if (compression_of(cfg->kernel_format, &comp)) {
        if (decompress_kernel(p, comp))
            return -EINVAL;
    } else {
        p->bzimage = kernel_is_bzimage(p->kernel.data, p->kernel.len);
    }
    if (cfg->kernel_format == KRUN_KERNEL_FORMAT_BZIMAGE && !p->bzimage) {
        log_error("kernel %s is not a bzImage", cfg->kernel_path);
        return -EINVAL;
    }
    if (!p->bzimage && !kernel_is_elf(p->kernel.data, p->kernel.len)) {
        log_error("kernel %s is neither an ELF file nor a bzImage", cfg->kernel_path);
        return -EINVAL;
    }
    char err[256] = "";
    ret = kernel_footprint(p->kernel.data, p->kernel.len, &p->footprint_end, err, sizeof(err));
    if (ret) {
        log_error("kernel %s: %s", cfg->kernel_path, err);
        return -EINVAL;
    }
    if (cfg->initramfs_path && read_file("initramfs", cfg->initramfs_path, false, &p->initrd))
        return -EINVAL;
    return 0;
}

int payload_load(struct payload *p, struct machine *m, struct x86_boot *boot)
{
    boot->low_end = m->low.size;
    boot->high_end = m->high.size ? X86_MMIO_GAP_END + m->high.size : 0;
    if (p->bundle) {
        boot->kind = X86_ENTRY_LINUX64;
        boot->entry = p->bundle->entry;
        return 0;
    }
    char err[256] = "";
    int ret = p->bzimage ? kernel_load_bzimage(p->kernel.data, p->kernel.len, &m->mem, &p->image,
                                               err, sizeof(err))
                         : kernel_load_elf(p->kernel.data, p->kernel.len, &m->mem, &p->image, err,
                                           sizeof(err));
    if (ret) {
        log_error("kernel %s: %s", p->kernel.path, err);
        return -EINVAL;
    }
    if (p->image.load_start < X86_HIMEM_START) {
        /* Below 1 MiB live the zero page, page tables, command line and MP table. */
        log_error("kernel %s loads at 0x%llx, below 1 MiB, over the boot data", p->kernel.path,
                  (unsigned long long)p->image.load_start);
        return -EINVAL;
    }
    boot->kind = p->image.entry_kind == BOOT_ENTRY_PVH ? X86_ENTRY_PVH : X86_ENTRY_LINUX64;
    boot->entry = p->image.entry;
    if (p->image.has_setup_header) {
        boot->setup_header = p->image.setup_header;
        boot->setup_header_len = p->image.setup_header_len;
    }
    return 0;
}

/* Whether the config describes a workload for the init (upstream's KRUN_* contract). */
static bool has_workload(const struct vm_config *cfg)
{
    return cfg->exec_path || cfg->env_set || cfg->workdir || cfg->rlimits.n || cfg->argv_set;
}

/*
 * Place the initramfs. When no virtio-fs root serves the workload file, it
 * goes into the initramfs instead, as one more (uncompressed) cpio archive
 * after the user's: the kernel unpacks concatenated archives, and the
 * command line's limits no longer apply.
 */
int payload_place_initrd(struct payload *p, struct vm *vm, struct x86_boot *boot)
{
    if (!p->initrd.data)
        return 0;
    struct strbuf extra = {0};
    int ret = 0;
    /* An extra archive starts 4-byte aligned after the user's (zeros between). */
    size_t pad = 0;
    if (!vm->workload_in_file && has_workload(vm->cfg)) {
        pad = (4 - p->initrd.len % 4) % 4;
        ret = workload_file_build(vm->cfg, &vm->workload);
        if (!ret)
            ret = cpio_add_file(&extra, &KRUN_GUEST_WORKLOAD_PATH[1], 0400, vm->workload.s,
                                vm->workload.len);
        if (!ret)
            ret = cpio_finish(&extra);
        if (ret) {
            sb_free(&extra);
            return ret;
        }
        vm->workload_in_file = true;
    }
    size_t len = p->initrd.len + (extra.len ? pad + extra.len : 0);
    uint32_t max = p->image.initrd_addr_max ? p->image.initrd_addr_max : 0x7fffffff;
    ret = initramfs_reserve(&vm->m.mem, len, p->image.load_end, vm->m.low.size, max,
                            &boot->initrd_gpa);
    if (ret == 0) {
        uint8_t *dst = gm_ptr(&vm->m.mem, boot->initrd_gpa, len);
        memcpy(dst, p->initrd.data, p->initrd.len);
        if (extra.len) {
            memset(dst + p->initrd.len, 0, pad);
            memcpy(dst + p->initrd.len + pad, extra.s, extra.len);
        }
        boot->initrd_size = len;
    }
    sb_free(&extra);
    if (ret) {
        log_error("initramfs %s (%zu bytes) does not fit in guest memory above the kernel",
                  p->initrd.path, p->initrd.len);
        return -EINVAL;
    }
    return 0;
}

void payload_free(struct payload *p)
{
    free_file(&p->kernel);
    free_file(&p->initrd);
}
