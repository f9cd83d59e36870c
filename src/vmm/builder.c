/*
 * The builder: config -> VM. Opens files, picks the kernel, lays out guest
 * memory, creates the VM and its vCPUs and attaches devices in a fixed
 * order (which defines MMIO slots and IRQs): consoles, virtio-fs, disks.
 * Any failure frees everything built so far and names what was at fault.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/ctx.h"
#include "api/init_blob.h"
#include "arch/x86_64/boot.h"
#include "arch/x86_64/layout.h"
#include "libkrun.h"
#include "loader/cpio.h"
#include "loader/kernel.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "virtio/device.h"
#include "vmm/builder_devices.h"
#include "vmm/cmdline.h"
#include "vmm/vm_setup.h"

/* A whole file mapped into memory (kernel, initramfs), with its name for errors. */
struct file_data {
    const char *path;
    uint8_t *data;
    size_t len;
};

static int read_file(const char *what, const char *path, struct file_data *f)
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
    } else {
        f->len = (size_t)st.st_size;
        f->data = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0);
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
    if (f->data)
        munmap(f->data, f->len);
    f->data = NULL;
}

/* The kernel to boot and where it ends in guest memory. */
struct payload {
    const struct kernel_bundle *bundle;
    struct file_data kernel;
    struct file_data initrd;
    bool bzimage;
    uint64_t footprint_end;
    struct kernel_image image;
};

static int choose_payload(const struct vm_config *cfg, struct payload *p)
{
    if (!cfg->kernel_path) {
        p->bundle = ctx_kernel_bundle();
        if (!p->bundle) {
            log_error("couldn't find or load libkrunfw.so.5 (the guest kernel bundle), and no "
                      "kernel was set with krun_set_kernel");
            return -ENOENT;
        }
        p->footprint_end = p->bundle->load_addr + p->bundle->size;
        return 0;
    }
    int ret = read_file("kernel", cfg->kernel_path, &p->kernel);
    if (ret)
        return -EINVAL;
    p->bzimage = kernel_is_bzimage(p->kernel.data, p->kernel.len);
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
    if (cfg->initramfs_path && read_file("initramfs", cfg->initramfs_path, &p->initrd))
        return -EINVAL;
    return 0;
}

static int load_payload(struct vm *vm, struct payload *p, struct x86_boot *boot)
{
    boot->low_end = vm->low_size;
    boot->high_end = vm->high_size ? X86_MMIO_GAP_END + vm->high_size : 0;
    if (p->bundle) {
        boot->kind = X86_ENTRY_LINUX64;
        boot->entry = p->bundle->entry;
        return 0;
    }
    char err[256] = "";
    int ret = p->bzimage ? kernel_load_bzimage(p->kernel.data, p->kernel.len, &vm->mem, &p->image,
                                               err, sizeof(err))
                         : kernel_load_elf(p->kernel.data, p->kernel.len, &vm->mem, &p->image, err,
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
static int place_initrd(struct vm *vm, struct payload *p, struct x86_boot *boot,
                        bool *workload_in_file)
{
    if (!p->initrd.data)
        return 0;
    struct strbuf extra = {0};
    int ret = 0;
    /* An extra archive starts 4-byte aligned after the user's (zeros between). */
    size_t pad = 0;
    if (!*workload_in_file && has_workload(vm->cfg)) {
        pad = (4 - p->initrd.len % 4) % 4;
        ret = workload_file_build(vm->cfg, &vm->workload);
        if (!ret)
            ret = cpio_add_file(&extra, ".krun_workload", 0400, vm->workload.s, vm->workload.len);
        if (!ret)
            ret = cpio_finish(&extra);
        if (ret) {
            sb_free(&extra);
            return ret;
        }
        *workload_in_file = true;
    }
    size_t len = p->initrd.len + (extra.len ? pad + extra.len : 0);
    uint32_t max = p->image.initrd_addr_max ? p->image.initrd_addr_max : 0x7fffffff;
    ret = initramfs_reserve(&vm->mem, len, p->image.load_end, vm->low_size, max, &boot->initrd_gpa);
    if (ret == 0) {
        uint8_t *dst = gm_ptr(&vm->mem, boot->initrd_gpa, len);
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

static int write_cmdline(struct vm *vm, const struct strvec *device_tokens, bool workload_in_file,
                         struct x86_boot *boot)
{
    struct strbuf cmd = {0};
    char err[512] = "";
    int ret = cmdline_build(vm->cfg, workload_in_file, device_tokens, &cmd, err, sizeof(err));
    if (ret == 0 && cmd.len + 1 > X86_CMDLINE_MAX)
        ret = -E2BIG;
    if (ret == 0)
        ret = gm_write(&vm->mem, X86_CMDLINE_ADDR, cmd.s, cmd.len + 1);
    if (ret)
        log_error("kernel command line: %s", err[0] ? err : strerror(-ret));
    else
        log_debug("kernel command line: %s", cmd.s);
    boot->cmdline_len = cmd.len + 1;
    sb_free(&cmd);
    return ret ? -EINVAL : 0;
}

/*
 * Like upstream, a missing kernel bundle is -ENOENT and every other build
 * failure -EINVAL; the log says what was at fault.
 */
static int build(struct vm *vm, const struct vm_config *cfg)
{
    struct payload p = {0};
    struct x86_boot boot = {0};
    struct strvec tokens = {0};
    bool workload_in_file = false;
    int ret = choose_payload(cfg, &p);
    if (ret) {
        free_file(&p.kernel);
        free_file(&p.initrd);
        return ret == -ENOENT ? ret : -EINVAL;
    }
    ret = vm_open_kvm(vm);
    if (!ret)
        ret = vm_create_irqchip(vm, cfg->split_irqchip);
    if (!ret) {
        /* The kernel's own footprint does not count against the RAM asked for. */
        uint64_t total = ((uint64_t)cfg->ram_mib << 20) + p.footprint_end;
        /* KVM takes memory in whole pages; a kernel's end need not be aligned. */
        total = (total + 0xfff) & ~(uint64_t)0xfff;
        ret = vm_create_memory(vm, total, p.bundle);
    }
    if (!ret)
        ret = load_payload(vm, &p, &boot);
    if (!ret)
        ret = vm_add_legacy_devices(vm);
    if (!ret)
        ret = vm_attach_devices(vm, &tokens, &workload_in_file);
    if (!ret)
        ret = place_initrd(vm, &p, &boot, &workload_in_file);
    if (!ret)
        ret = write_cmdline(vm, &tokens, workload_in_file, &boot);
    if (!ret && x86_write_boot_data(&vm->mem, &boot)) {
        log_error("cannot write the boot data into guest memory");
        ret = -EINVAL;
    }
    if (!ret && (ret = x86_write_mptable(&vm->mem, cfg->vcpus)))
        log_error("cannot write the MP table for %u vCPUs: %s", cfg->vcpus, strerror(-ret));
    if (!ret)
        ret = vm_create_vcpus(vm, &boot);
    strvec_clear(&tokens);
    free_file(&p.kernel);
    free_file(&p.initrd);
    return ret ? -EINVAL : 0;
}

int vm_build(const struct vm_config *cfg, struct vm **out)
{
    struct vm *vm = vm_alloc(cfg);
    if (!vm)
        return -ENOMEM;
    int ret = build(vm, cfg);
    if (ret) {
        vm_destroy(vm);
        return ret;
    }
    *out = vm;
    return 0;
}
