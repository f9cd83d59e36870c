/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The builder: config -> VM. Checks what the caller named (kernel, disks,
 * shares) before it touches KVM, lays out guest memory, attaches the
 * device list (devices.h) in its fixed order, writes the command line,
 * boot data and MP table, and creates the vCPUs last. Any failure tears
 * down what was built and names what was at fault.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86_64/boot.h"
#include "arch/x86_64/layout.h"
#include "util/log.h"
#include "vm/cmdline.h"
#include "vm/devices.h"
#include "vm/payload.h"
#include "vm/privileges.h"
#include "vm/vm.h"
#include "vmm/irq.h"
#include "vmm/vcpu.h"

static struct vm *vm_alloc(const struct vm_config *cfg, const struct kernel_bundle *bundle)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return NULL;
    vm->cfg = cfg;
    vm->bundle = bundle;
    vm->signal_wfd = -1;
    atomic_init(&vm->exit_status, VM_NO_STATUS);
    if (machine_init(&vm->m) < 0) {
        free(vm);
        return NULL;
    }
    return vm;
}

static void restore_terminals(void *arg)
{
    struct vm *vm = arg;
    term_restore_all(&vm->terms);
}

/* The shared directories exist: said before any KVM error. */
static int check_shares(const struct vm_config *cfg)
{
    for (size_t i = 0; i < cfg->n_shares; i++) {
        const struct fs_share *s = &cfg->shares[i];
        struct stat st;
        if (!s->path)
            continue;
        if (stat(s->path, &st) < 0) {
            log_error("virtio-fs %s: %s: %s", s->tag, s->path, strerror(errno));
            return -EINVAL;
        }
        if (!S_ISDIR(st.st_mode)) {
            log_error("virtio-fs %s: %s is not a directory", s->tag, s->path);
            return -EINVAL;
        }
    }
    return 0;
}

static int write_cmdline(struct vm *vm, struct x86_boot *boot)
{
    struct strbuf cmd = {0};
    char err[512] = "";
    int ret =
        cmdline_build(vm->cfg, vm->workload_in_file, &vm->cmdline_devices, &cmd, err, sizeof(err));
    if (ret == 0 && cmd.len + 1 > X86_CMDLINE_MAX)
        ret = -E2BIG;
    if (ret == 0)
        ret = gm_write(&vm->m.mem, X86_CMDLINE_ADDR, cmd.s, cmd.len + 1);
    if (ret)
        log_error("kernel command line: %s", err[0] ? err : strerror(-ret));
    else
        log_debug("kernel command line: %s", cmd.s);
    boot->cmdline_len = cmd.len + 1;
    sb_free(&cmd);
    return ret ? -EINVAL : 0;
}

static void log_setup_time(void *opaque)
{
    struct vm *vm = opaque;
    vm_log_setup_time(vm);
}

static int build(struct vm *vm, struct payload *p)
{
    const struct vm_config *cfg = vm->cfg;
    struct x86_boot boot = {0};
    int ret = machine_open(&vm->m);
    if (!ret)
        ret = teardown_push(&vm->m.teardown, restore_terminals, vm);
    /* The MP table gives the IOAPIC the id after the last CPU. */
    if (!ret)
        ret = machine_create_irqchip(&vm->m, cfg->split_irqchip, cfg->vcpus);
    if (!ret) {
        /* The kernel's own footprint does not count against the RAM asked for. */
        uint64_t total = ((uint64_t)cfg->ram_mib << 20) + p->footprint_end;
        /* KVM takes memory in whole pages; a kernel's end need not be aligned. */
        total = (total + 0xfff) & ~(uint64_t)0xfff;
        ret = machine_create_memory(&vm->m, total, p->bundle);
    }
    if (!ret)
        ret = payload_load(p, &vm->m, &boot);
    if (!ret)
        ret = vm_attach_devices(vm);
    if (!ret)
        ret = payload_place_initrd(p, vm, &boot);
    if (!ret)
        ret = write_cmdline(vm, &boot);
    if (!ret && x86_write_boot_data(&vm->m.mem, &boot)) {
        log_error("cannot write the boot data into guest memory");
        ret = -EINVAL;
    }
    if (!ret && (ret = x86_write_mptable(&vm->m.mem, cfg->vcpus)))
        log_error("cannot write the MP table for %u vCPUs: %s", cfg->vcpus, strerror(-ret));
    if (!ret)
        ret = vcpus_create(&vm->m, cfg->vcpus, cfg->nested_virt, &boot, &vm->vcpus);
    if (!ret) {
        vm->vcpus->on_first_run = log_setup_time;
        vm->vcpus->opaque = vm;
    }
    strvec_clear(&vm->cmdline_devices);
    return ret;
}

int vm_build(const struct vm_config *cfg, const struct kernel_bundle *bundle, struct vm **out)
{
    struct payload p = {0};
    int ret = payload_choose(cfg, bundle, &p);
    if (!ret)
        ret = check_shares(cfg);
    struct vm *vm = NULL;
    if (!ret && !(vm = vm_alloc(cfg, bundle)))
        ret = -ENOMEM;
    if (!ret)
        ret = vm_open_disks(vm);
    /* Upstream's order: the disk images are open, nothing else is yet. A
     * drop that fails is its own error (-EPERM...), the VM does not run. */
    int drop = ret ? 0 : drop_privileges(cfg->set_gid, cfg->gid, cfg->set_uid, cfg->uid);
    if (!ret && !drop)
        ret = build(vm, &p);
    payload_free(&p);
    if (ret || drop) {
        vm_destroy(vm);
        return drop ? drop : ret == -ENOENT ? ret : -EINVAL;
    }
    *out = vm;
    return 0;
}
