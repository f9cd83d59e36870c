/* SPDX-License-Identifier: Apache-2.0 */
/*
 * chroot-after-load LIB ROOT: what crun before 1.21 does. Load libkrun
 * (LIB, with dlopen), then chroot into ROOT, a container's root with no
 * libkrunfw.so.5 in it, and only then create the context and run
 * `/bin/sh -c 'exit 7'` with ROOT as the guest's root. Exits with the
 * workload's status, or 2 with a message.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef int32_t krun_create_ctx_t(void);
typedef int32_t krun_set_root_t(uint32_t, const char *);
typedef int32_t krun_set_exec_t(uint32_t, const char *, const char *const[], const char *const[]);
typedef int32_t krun_start_enter_t(uint32_t);

static void *lookup(void *h, const char *name)
{
    void *f = dlsym(h, name);
    if (!f) {
        fprintf(stderr, "chroot-after-load: %s: %s\n", name, dlerror());
        exit(2);
    }
    return f;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: chroot-after-load LIB ROOT\n");
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "chroot-after-load: %s\n", dlerror());
        return 2;
    }
    krun_create_ctx_t *create = (krun_create_ctx_t *)lookup(h, "krun_create_ctx");
    krun_set_root_t *set_root = (krun_set_root_t *)lookup(h, "krun_set_root");
    krun_set_exec_t *set_exec = (krun_set_exec_t *)lookup(h, "krun_set_exec");
    krun_start_enter_t *start = (krun_start_enter_t *)lookup(h, "krun_start_enter");
    if (chroot(argv[2]) < 0 || chdir("/") < 0) {
        perror("chroot-after-load: chroot");
        return 2;
    }
    int32_t ctx = create();
    if (ctx < 0) {
        fprintf(stderr, "chroot-after-load: krun_create_ctx: %d\n", ctx);
        return 2;
    }
    const char *const args[] = {"-c", "exit 7", NULL};
    const char *const env[] = {"HOME=/", NULL};
    int32_t r = set_root((uint32_t)ctx, "/");
    if (r == 0)
        r = set_exec((uint32_t)ctx, "/bin/sh", args, env);
    if (r == 0)
        r = start((uint32_t)ctx);
    fprintf(stderr, "chroot-after-load: %d\n", r);
    return 2;
}
