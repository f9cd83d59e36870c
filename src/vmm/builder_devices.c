/*
 * The VM's virtio devices, attached in upstream's order: the implicit
 * console, explicit consoles, virtio-fs shares, disks.
 */
#include "vmm/builder_devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/init_blob.h"
#include "libkrun.h"
#include "util/log.h"
#include "virtio/blk/blk.h"
#include "virtio/console.h"
#include "virtio/device.h"
#include "virtio/fs/virtio_fs.h"
#include "vmm/cmdline.h"
#include "vmm/vm_setup.h"

static int attach(struct vm *vm, struct virtio_device *dev, struct strvec *tokens)
{
    int ret = vm_attach_virtio(vm, dev);
    if (ret)
        return ret;
    char tok[64];
    snprintf(tok, sizeof(tok), "virtio_mmio.device=4K@0x%llx:%u",
             (unsigned long long)dev->mmio_base, dev->irq);
    return strvec_push(tokens, tok);
}

/*
 * Ports for stdin/stdout/stderr-like fds (implicit console, or
 * krun_add_virtio_console_default): one console port, plus a named port for
 * each fd that is not a TTY, so that pipes and files keep their streams
 * apart and see EOF.
 */
static unsigned autoconfig_ports(int in, int out, int err, struct console_port_spec *ports,
                                 int *size_fd)
{
    bool in_tty = in >= 0 && isatty(in), out_tty = out >= 0 && isatty(out),
         err_tty = err >= 0 && isatty(err);
    unsigned n = 0;
    /* The console port carries the TTY; without one, kernel and init messages go to stderr. */
    ports[n++] = (struct console_port_spec){
        .console = true, .in_fd = in_tty ? in : -1, .out_fd = out_tty ? out : err};
    if (in >= 0 && !in_tty)
        ports[n++] = (struct console_port_spec){.name = "krun-stdin", .in_fd = in, .out_fd = -1};
    if (out >= 0 && !out_tty)
        ports[n++] = (struct console_port_spec){.name = "krun-stdout", .in_fd = -1, .out_fd = out};
    if (err >= 0 && !err_tty)
        ports[n++] = (struct console_port_spec){.name = "krun-stderr", .in_fd = -1, .out_fd = err};
    *size_fd = in_tty ? in : out_tty ? out : err_tty ? err : -1;
    return n;
}

static int add_console(struct vm *vm, const char *name, struct console_port_spec *ports, unsigned n,
                       int size_fd, struct console **out, struct strvec *tokens)
{
    struct console *c;
    struct virtio_device *dev;
    int ret = console_create(name, ports, n, size_fd, &c, &dev);
    if (ret) {
        log_error("%s: %s", name, strerror(-ret));
        return ret;
    }
    if (out)
        *out = c;
    return attach(vm, dev, tokens);
}

/*
 * The krun-exit port: the init writes the workload's status as decimal text
 * and a newline. It works with any root (virtio-fs, block device or
 * initramfs), unlike the upstream virtio-fs ioctl, which is kept too.
 */
static void on_exit_port(void *opaque, const uint8_t *data, size_t len)
{
    struct vm *vm = opaque;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            vm->exit_line[vm->exit_len] = '\0';
            char *end;
            long v = strtol(vm->exit_line, &end, 10);
            if (end != vm->exit_line && *end == '\0' && v >= 0 && v <= 255)
                vm_set_exit_status(vm, (int)v);
            vm->exit_len = 0;
        } else if (vm->exit_len < sizeof(vm->exit_line) - 1) {
            vm->exit_line[vm->exit_len++] = (char)data[i];
        }
    }
}

static int add_implicit_console(struct vm *vm, struct strvec *tokens)
{
    const struct vm_config *cfg = vm->cfg;
    struct console_port_spec ports[CONSOLE_MAX_PORTS];
    unsigned n;
    int size_fd;
    if (cfg->console_output) {
        int fd = open(cfg->console_output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            log_error("cannot open the console output file %s: %s", cfg->console_output,
                      strerror(errno));
            return -errno;
        }
        ports[0] = (struct console_port_spec){
            .console = true, .in_fd = -1, .out_fd = fd, .owns_fds = true};
        n = 1;
        size_fd = isatty(0) ? 0 : -1;
    } else {
        n = autoconfig_ports(0, 1, 2, ports, &size_fd);
        term_make_raw(&vm->terms, 0);
    }
    /* Signals for the workload (docs/guest-contract.md): a pipe the VMM writes. */
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    vm->signal_wfd = fds[1];
    ports[n++] = (struct console_port_spec){
        .name = "krun-signal", .in_fd = fds[0], .out_fd = -1, .owns_fds = true};
    ports[n++] = (struct console_port_spec){.name = "krun-exit",
                                            .in_fd = -1,
                                            .out_fd = -1,
                                            .on_output = on_exit_port,
                                            .output_opaque = vm};
    return add_console(vm, "virtio-console hvc0", ports, n, size_fd, &vm->console, tokens);
}

static int add_explicit_consoles(struct vm *vm, struct strvec *tokens)
{
    for (size_t i = 0; i < vm->cfg->n_consoles; i++) {
        const struct console_config *cc = &vm->cfg->consoles[i];
        struct console_port_spec ports[CONSOLE_MAX_PORTS];
        unsigned n = 0;
        int size_fd = -1;
        if (cc->autoconfig) {
            n = autoconfig_ports(cc->in_fd, cc->out_fd, cc->err_fd, ports, &size_fd);
            term_make_raw(&vm->terms, cc->in_fd);
        } else {
            if (cc->n_ports == 0 || cc->n_ports > CONSOLE_MAX_PORTS) {
                log_error("virtio console %zu has %zu ports; it needs 1 to %d", i, cc->n_ports,
                          CONSOLE_MAX_PORTS);
                return -EINVAL;
            }
            for (size_t j = 0; j < cc->n_ports; j++) {
                const struct console_port_config *pc = &cc->ports[j];
                ports[n++] = (struct console_port_spec){.name = pc->name,
                                                        .in_fd = pc->in_fd,
                                                        .out_fd = pc->out_fd,
                                                        .console = pc->is_tty};
                if (pc->is_tty) {
                    term_make_raw(&vm->terms, pc->in_fd);
                    if (size_fd < 0)
                        size_fd = pc->in_fd;
                }
            }
        }
        char name[48];
        snprintf(name, sizeof(name), "virtio-console %zu", i + 1);
        int ret = add_console(vm, name, ports, n, size_fd, NULL, tokens);
        if (ret)
            return ret;
    }
    return 0;
}

static void exit_status_cb(void *opaque, int status)
{
    vm_set_exit_status(opaque, status);
}

/* A runtime copy of a share, with the init and the workload file added to the root. */
static int runtime_share(struct vm *vm, const struct fs_share *s, struct fs_share *rt,
                         bool *workload_in_file)
{
    *rt = *s;
    rt->overlays = NULL;
    rt->n_overlays = 0;
    size_t extra = s->inject_init ? 2 : 0;
    struct fs_overlay *ov = calloc(s->n_overlays + extra + 1, sizeof(*ov));
    if (!ov)
        return -ENOMEM;
    memcpy(ov, s->overlays, s->n_overlays * sizeof(*ov));
    size_t n = s->n_overlays;
    if (s->inject_init) {
        ov[n++] = (struct fs_overlay){.kind = FS_OVERLAY_FILE,
                                      .path = (char *)"init.krun",
                                      .data = krun_init_blob_start,
                                      .len = (size_t)(krun_init_blob_end - krun_init_blob_start),
                                      .mode = 0100755,
                                      .one_shot = true};
        int ret = workload_file_build(vm->cfg, &vm->workload);
        if (ret) {
            free(ov);
            return ret;
        }
        ov[n++] = (struct fs_overlay){.kind = FS_OVERLAY_FILE,
                                      .path = (char *)".krun_workload",
                                      .data = (const uint8_t *)vm->workload.s,
                                      .len = vm->workload.len,
                                      .mode = 0100400,
                                      .one_shot = true};
        *workload_in_file = true;
    }
    rt->overlays = ov;
    rt->n_overlays = n;
    return 0;
}

static int add_shares(struct vm *vm, struct strvec *tokens, bool *workload_in_file)
{
    const struct vm_config *cfg = vm->cfg;
    if (cfg->n_shares == 0)
        return 0;
    vm->rt_shares = calloc(cfg->n_shares, sizeof(*vm->rt_shares));
    if (!vm->rt_shares)
        return -ENOMEM;
    for (size_t i = 0; i < cfg->n_shares; i++) {
        struct fs_share *rt = &vm->rt_shares[i];
        int ret = runtime_share(vm, &cfg->shares[i], rt, workload_in_file);
        if (ret)
            return ret;
        vm->n_rt_shares++;
        struct virtio_device *dev;
        char err[512] = "";
        ret = virtio_fs_create(rt, exit_status_cb, vm, &dev, err, sizeof(err));
        if (ret) {
            log_error("virtio-fs %s: %s", rt->tag, err[0] ? err : strerror(-ret));
            return ret;
        }
        ret = attach(vm, dev, tokens);
        if (ret)
            return ret;
    }
    return 0;
}

static int add_disks(struct vm *vm, struct strvec *tokens)
{
    for (size_t i = 0; i < vm->cfg->n_disks; i++) {
        struct virtio_device *dev;
        char err[512] = "";
        int ret = virtio_blk_create(&vm->cfg->disks[i], &dev, err, sizeof(err));
        if (ret) {
            log_error("disk %s: %s", vm->cfg->disks[i].block_id, err[0] ? err : strerror(-ret));
            return ret;
        }
        ret = attach(vm, dev, tokens);
        if (ret)
            return ret;
    }
    return 0;
}

int vm_attach_devices(struct vm *vm, struct strvec *tokens, bool *workload_in_file)
{
    *workload_in_file = false;
    int ret = vm->cfg->implicit_console ? add_implicit_console(vm, tokens) : 0;
    if (!ret)
        ret = add_explicit_consoles(vm, tokens);
    if (!ret)
        ret = add_shares(vm, tokens, workload_in_file);
    if (!ret)
        ret = add_disks(vm, tokens);
    return ret;
}

void vm_free_device_data(struct vm *vm)
{
    for (size_t i = 0; i < vm->n_rt_shares; i++)
        free(vm->rt_shares[i].overlays);
    free(vm->rt_shares);
    vm->rt_shares = NULL;
    vm->n_rt_shares = 0;
    sb_free(&vm->workload);
    if (vm->signal_wfd >= 0)
        close(vm->signal_wfd);
    vm->signal_wfd = -1;
}
