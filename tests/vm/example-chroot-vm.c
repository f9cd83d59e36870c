/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The call sequence of upstream libkrun's examples/chroot_vm.c (default
 * mode: TSI networking, no vhost-user devices), in our own program, so
 * that the VM tests show a program written against upstream runs here.
 *
 *   example-chroot-vm [--vhost-user-rng PATH] NEWROOT COMMAND [ARGS...]
 *
 * The calls, in upstream's order and with its arguments: krun_init_log
 * (default target, WARN, AUTO), krun_create_ctx, krun_set_vm_config (4
 * vCPUs, 4096 MiB), [krun_add_vhost_user_device RNG], RLIMIT_NOFILE raised,
 * krun_set_root, krun_set_gpu_options, krun_set_port_map {"18000:8000"},
 * krun_set_rlimits {"6=4096:8192"}, krun_set_workdir "/", krun_set_exec
 * (env TEST=works), krun_split_irqchip(false), krun_start_enter.
 *
 * Where we do not have the feature the call is still made and its
 * documented return code checked (docs/api-status.md): vhost-user devices
 * give -ENOTSUP (as upstream built without vhost-user; upstream's example
 * then stops with an error, and so does this one, status 1);
 * krun_set_gpu_options gives 0 and attaches no GPU.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "libkrun.h"

static void must(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "example-chroot-vm: %s: %s\n", what, strerror(-rc));
        exit(1);
    }
}

/* A call whose result is fixed by our documentation rather than by a feature. */
static void expect_rc(int rc, int want, const char *what)
{
    if (rc != want) {
        fprintf(stderr, "example-chroot-vm: %s returned %d, documented %d\n", what, rc, want);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    const char *vhost_rng = NULL;
    int i = 1;
    if (argc > 2 && strcmp(argv[1], "--vhost-user-rng") == 0) {
        vhost_rng = argv[2];
        i = 3;
    }
    if (argc - i < 2) {
        fprintf(stderr, "usage: %s [--vhost-user-rng PATH] NEWROOT COMMAND [ARGS...]\n", argv[0]);
        return 2;
    }
    const char *root = argv[i];
    char **guest_argv = &argv[i + 1];

    static const char *const env[] = {"TEST=works", NULL};
    static const char *const ports[] = {"18000:8000", NULL};
    static const char *const limits[] = {"6=4096:8192", NULL}; /* RLIMIT_NPROC */

    must(krun_init_log(KRUN_LOG_TARGET_DEFAULT, KRUN_LOG_LEVEL_WARN, KRUN_LOG_STYLE_AUTO, 0),
         "krun_init_log");
    int ctx = krun_create_ctx();
    must(ctx, "krun_create_ctx");
    must(krun_set_vm_config((uint32_t)ctx, 4, 4096), "krun_set_vm_config");

    if (vhost_rng) {
        uint16_t sizes[] = {512, 0};
        int rc = krun_add_vhost_user_device((uint32_t)ctx, KRUN_VIRTIO_DEVICE_RNG, vhost_rng, NULL,
                                            0, sizes);
        expect_rc(rc, -ENOTSUP, "krun_add_vhost_user_device");
        must(rc, "krun_add_vhost_user_device (RNG)");
    }

    /* virtio-fs keeps a descriptor per open guest file: room, as upstream's example makes. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    must(krun_set_root((uint32_t)ctx, root), "krun_set_root");
    uint32_t virgl = VIRGLRENDERER_USE_EGL | VIRGLRENDERER_DRM | VIRGLRENDERER_THREAD_SYNC |
                     VIRGLRENDERER_USE_ASYNC_FENCE_CB;
    expect_rc(krun_set_gpu_options((uint32_t)ctx, virgl), 0, "krun_set_gpu_options");
    must(krun_set_port_map((uint32_t)ctx, ports), "krun_set_port_map");
    must(krun_set_rlimits((uint32_t)ctx, limits), "krun_set_rlimits");
    must(krun_set_workdir((uint32_t)ctx, "/"), "krun_set_workdir");
    must(krun_set_exec((uint32_t)ctx, guest_argv[0], (const char *const *)&guest_argv[1], env),
         "krun_set_exec");
    must(krun_split_irqchip((uint32_t)ctx, false), "krun_split_irqchip");
    must(krun_start_enter((uint32_t)ctx), "krun_start_enter");
    return 1; /* krun_start_enter returns only on error */
}
