/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmtest: boots a VM through the public libkrun API only, as a program
 * linking libkrun.so.1 would. The VM tests (tests/vm/run-tests.sh) drive it.
 *
 *   vmtest [options] [-- PROGRAM [ARGS...]]
 *     --cpus N --mem MIB          krun_set_vm_config
 *     --kernel PATH [--bzimage]   krun_set_kernel (ELF, or bzImage format)
 *     --kernel-format F           the format for --kernel: elf, bzimage, raw, gz, bz2, zstd
 *                                 (KRUN_KERNEL_FORMAT_ELF, _BZIMAGE, _RAW, _IMAGE_GZ, ...)
 *     --initrd PATH --cmdline S   initramfs and command line for --kernel
 *     --root DIR                  krun_set_root
 *     --env K=V                   environment (repeatable; default: none)
 *     --workdir DIR               krun_set_workdir
 *     --split-irqchip             krun_split_irqchip(true)
 *     --console-output FILE       krun_set_console_output
 *     --shutdown-after SEC        write the shutdown eventfd after SEC seconds
 *     --runs N                    run N VMs one after another with krun_start_wait
 *     --parallel                  with --runs: all N at once, each krun_start_wait on a
 *                                 thread of its own (the contexts are configured first)
 *                                 and print "run I: status S" for each; run I
 *                                 has VMTEST_RUN=I in its environment
 *     --log-level N               krun_set_log_level
 *     --serial                    a 16550 on COM1 writing to stderr (for console=ttyS0)
 *     --rlimit ID=CUR:MAX         krun_set_rlimits (repeatable)
 *     --no-workload               neither krun_set_exec nor krun_set_env (as crun does:
 *                                 the guest reads /.krun_config.json)
 *     --nested                    krun_set_nested_virt(true)
 *     --no-implicit-console       krun_disable_implicit_console
 *     --own-init                  krun_disable_implicit_init, then serve the default init
 *                                 (krun_get_default_init) as a one-shot overlay file, and
 *                                 add an overlay directory /overlay-dir
 *     --kernel-console ID         krun_set_kernel_console
 *     --uid N --gid N             krun_setuid / krun_setgid
 *     --disk PATH                 krun_add_disk("disk", PATH, read-write): /dev/vda
 *     --console-default FILE      krun_add_virtio_console_default(-1, FILE, -1)
 *     --port NAME=FILE            a multiport console (krun_add_virtio_console_multiport)
 *                                 with an output port NAME written to FILE
 *                                 (krun_add_console_port_inout)
 *     --vsock-port PORT:PATH      krun_add_vsock_port (repeatable)
 *     --vsock-listen PORT:PATH    krun_add_vsock_port2(listen = true) (repeatable)
 *     --port-map HOST:GUEST       one entry of krun_set_port_map (repeatable)
 *     --no-vsock                  krun_disable_implicit_vsock
 *     --vsock FLAGS               krun_disable_implicit_vsock, then krun_add_vsock(FLAGS)
 *     --net-stream PATH           connect to the stream socket PATH (passt -s) and hand the fd
 *                                 to krun_add_net_unixstream(NULL, fd, COMPAT_NET_FEATURES),
 *                                 as crun's krun.use_passt does (repeatable, as the next two:
 *                                 interfaces eth0, eth1, ... in order, MACs 5a:94:ef:e4:0c:1N)
 *     --net-dgram PATH            krun_add_net_unixgram(PATH, -1, COMPAT_NET_FEATURES)
 *     --net-tap NAME              krun_add_net_tap(NAME, every offload)
 *     --net-dhcp                  NET_FLAG_DHCP_CLIENT on every interface
 *     --passt PATH                connect to PATH, then krun_set_passt_fd (the legacy call)
 *   Without --runs, krun_start_enter ends the process with the guest's status.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "libkrun.h"

struct opts {
    int cpus, mem;
    const char *kernel, *initrd, *cmdline, *root, *workdir, *console_output;
    uint32_t kernel_format;
    bool split, serial, no_workload, nested, no_console, own_init;
    const char *kernel_console, *console_default, *port, *disk;
    int uid, gid;
    const char *rlimits[64];
    int n_rlimits;
    int shutdown_after;
    int runs;
    bool parallel;
    int log_level;
    const char *env[256];
    int n_env;
    const char *vsock_ports[16];
    bool vsock_listen[16];
    int n_vsock_ports;
    const char *port_map[64];
    int n_port_map;
    bool no_vsock;
    int vsock_flags; /* -1: none */
    const char *net_kind[8], *net_arg[8];
    int n_nets;
    bool net_dhcp;
    const char *passt; /* the legacy interface's socket, or NULL */
    char **prog;
};

static void die(const char *what, int err)
{
    fprintf(stderr, "vmtest: %s: %s (%d)\n", what, strerror(-err), err);
    exit(2);
}

#define TRY(call)                                                                                  \
    do {                                                                                           \
        int r_ = (call);                                                                           \
        if (r_ < 0)                                                                                \
            die(#call, r_);                                                                        \
    } while (0)

struct shutdown_arg {
    int fd;
    int after;
};

static void *shutdown_thread(void *p)
{
    struct shutdown_arg *a = p;
    sleep((unsigned)a->after);
    uint64_t one = 1;
    if (write(a->fd, &one, sizeof(one)) != sizeof(one))
        perror("vmtest: write shutdown eventfd");
    return NULL;
}

/* A connected stream socket to path, or the process ends. */
static int connect_unix(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        die(path, -errno);
    return fd;
}

static int parse_kernel_format(const char *name, uint32_t *format)
{
    static const struct {
        const char *name;
        uint32_t format;
    } formats[] = {
        {"elf", KRUN_KERNEL_FORMAT_ELF},       {"bzimage", KRUN_KERNEL_FORMAT_BZIMAGE},
        {"raw", KRUN_KERNEL_FORMAT_RAW},       {"gz", KRUN_KERNEL_FORMAT_IMAGE_GZ},
        {"bz2", KRUN_KERNEL_FORMAT_IMAGE_BZ2}, {"zstd", KRUN_KERNEL_FORMAT_IMAGE_ZSTD},
    };
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        if (strcmp(name, formats[i].name) == 0) {
            *format = formats[i].format;
            return 0;
        }
    }
    return -1;
}

static int configure(const struct opts *o, int run)
{
    int ctx = krun_create_ctx();
    if (ctx < 0)
        die("krun_create_ctx", ctx);
    TRY(krun_set_vm_config((uint32_t)ctx, (uint8_t)o->cpus, (uint32_t)o->mem));
    if (o->kernel)
        TRY(krun_set_kernel((uint32_t)ctx, o->kernel, o->kernel_format, o->initrd, o->cmdline));
    if (o->own_init)
        TRY(krun_disable_implicit_init((uint32_t)ctx));
    if (o->root)
        TRY(krun_set_root((uint32_t)ctx, o->root));
    if (o->own_init) {
        const uint8_t *init;
        size_t len;
        TRY(krun_get_default_init(&init, &len));
        TRY(krun_fs_add_overlay_file((uint32_t)ctx, KRUN_FS_ROOT_TAG, "init.krun", init, len,
                                     0100755, true));
        TRY(krun_fs_add_overlay_dir((uint32_t)ctx, KRUN_FS_ROOT_TAG, "overlay-dir", 040755));
    }
    if (o->nested)
        TRY(krun_set_nested_virt((uint32_t)ctx, true));
    if (o->no_console)
        TRY(krun_disable_implicit_console((uint32_t)ctx));
    if (o->kernel_console)
        TRY(krun_set_kernel_console((uint32_t)ctx, o->kernel_console));
    if (o->disk)
        TRY(krun_add_disk((uint32_t)ctx, "disk", o->disk, false));
    if (o->uid >= 0)
        TRY(krun_setuid((uint32_t)ctx, (uid_t)o->uid));
    if (o->gid >= 0)
        TRY(krun_setgid((uint32_t)ctx, (gid_t)o->gid));
    if (o->console_default) {
        int fd = open(o->console_default, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            die("open --console-default file", -errno);
        TRY(krun_add_virtio_console_default((uint32_t)ctx, -1, fd, -1));
    }
    if (o->port) {
        const char *eq = strchr(o->port, '=');
        if (!eq)
            die("--port needs NAME=FILE", -EINVAL);
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)(eq - o->port), o->port);
        int fd = open(eq + 1, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            die("open --port file", -errno);
        int id = krun_add_virtio_console_multiport((uint32_t)ctx);
        if (id < 0)
            die("krun_add_virtio_console_multiport", id);
        TRY(krun_add_console_port_inout((uint32_t)ctx, (uint32_t)id, name, -1, fd));
    }
    if (o->no_vsock || o->vsock_flags >= 0)
        TRY(krun_disable_implicit_vsock((uint32_t)ctx));
    if (o->vsock_flags >= 0)
        TRY(krun_add_vsock((uint32_t)ctx, (uint32_t)o->vsock_flags));
    for (int i = 0; i < o->n_vsock_ports; i++) {
        const char *colon = strchr(o->vsock_ports[i], ':');
        if (!colon)
            die("--vsock-port/--vsock-listen need PORT:PATH", -EINVAL);
        TRY(krun_add_vsock_port2((uint32_t)ctx, (uint32_t)strtoul(o->vsock_ports[i], NULL, 10),
                                 colon + 1, o->vsock_listen[i]));
    }
    if (o->n_port_map) {
        const char *map[65];
        memcpy(map, o->port_map, sizeof(map[0]) * (size_t)o->n_port_map);
        map[o->n_port_map] = NULL;
        TRY(krun_set_port_map((uint32_t)ctx, map));
    }
    for (int i = 0; i < o->n_nets; i++) {
        uint8_t mac[6] = {0x5a, 0x94, 0xef, 0xe4, 0x0c, (uint8_t)(0x10 + i)};
        uint32_t flags = o->net_dhcp ? NET_FLAG_DHCP_CLIENT : 0;
        if (strcmp(o->net_kind[i], "stream") == 0)
            TRY(krun_add_net_unixstream((uint32_t)ctx, NULL, connect_unix(o->net_arg[i]), mac,
                                        COMPAT_NET_FEATURES, flags));
        else if (strcmp(o->net_kind[i], "dgram") == 0)
            TRY(krun_add_net_unixgram((uint32_t)ctx, o->net_arg[i], -1, mac, COMPAT_NET_FEATURES,
                                      flags));
        else
            TRY(krun_add_net_tap(
                (uint32_t)ctx, (char *)o->net_arg[i], mac,
                COMPAT_NET_FEATURES | NET_FEATURE_GUEST_TSO6 | NET_FEATURE_HOST_TSO6, flags));
    }
    if (o->passt)
        TRY(krun_set_passt_fd((uint32_t)ctx, connect_unix(o->passt)));
    if (o->split)
        TRY(krun_split_irqchip((uint32_t)ctx, true));
    if (o->serial)
        TRY(krun_add_serial_console_default((uint32_t)ctx, -1, 2));
    if (o->workdir)
        TRY(krun_set_workdir((uint32_t)ctx, o->workdir));
    if (o->console_output)
        TRY(krun_set_console_output((uint32_t)ctx, o->console_output));
    /* Each run of --runs sees VMTEST_RUN=<its number>. */
    const char *env[258];
    char run_var[32];
    memcpy(env, o->env, sizeof(env[0]) * (size_t)o->n_env);
    int n = o->n_env;
    if (run > 0) {
        snprintf(run_var, sizeof(run_var), "VMTEST_RUN=%d", run);
        env[n++] = run_var;
    }
    env[n] = NULL;
    if (o->prog && o->prog[0])
        TRY(krun_set_exec((uint32_t)ctx, o->prog[0], (const char *const *)&o->prog[1], env));
    else if (!o->no_workload)
        TRY(krun_set_env((uint32_t)ctx, env));
    if (o->n_rlimits) {
        const char *rl[64];
        memcpy(rl, o->rlimits, sizeof(rl[0]) * (size_t)o->n_rlimits);
        rl[o->n_rlimits] = NULL;
        TRY(krun_set_rlimits((uint32_t)ctx, rl));
    }
    if (o->shutdown_after > 0) {
        int fd = krun_get_shutdown_eventfd((uint32_t)ctx);
        if (fd < 0)
            die("krun_get_shutdown_eventfd", fd);
        static struct shutdown_arg arg;
        arg = (struct shutdown_arg){.fd = fd, .after = o->shutdown_after};
        pthread_t t;
        pthread_create(&t, NULL, shutdown_thread, &arg);
        pthread_detach(t);
    }
    return ctx;
}

struct parallel_run {
    pthread_t thread;
    int32_t ctx;
    int status;
};

static void *start_wait_thread(void *arg)
{
    struct parallel_run *r = arg;
    r->status = krun_start_wait((uint32_t)r->ctx);
    return NULL;
}

/* --runs N --parallel: N VMs of one process at once; prints each status. */
static int run_parallel(struct opts *o)
{
    struct parallel_run *runs = calloc((size_t)o->runs, sizeof(*runs));
    if (!runs)
        die("calloc", -ENOMEM);
    for (int r = 0; r < o->runs; r++)
        runs[r].ctx = configure(o, r + 1);
    for (int r = 0; r < o->runs; r++)
        if (pthread_create(&runs[r].thread, NULL, start_wait_thread, &runs[r]) != 0)
            die("pthread_create", -EAGAIN);
    int failed = 0;
    for (int r = 0; r < o->runs; r++) {
        pthread_join(runs[r].thread, NULL);
        printf("run %d: status %d\n", r + 1, runs[r].status);
        failed += runs[r].status < 0;
    }
    fflush(stdout);
    free(runs);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.cpus = 1,
                     .mem = 128,
                     .kernel_format = KRUN_KERNEL_FORMAT_ELF,
                     .log_level = -1,
                     .uid = -1,
                     .gid = -1,
                     .vsock_flags = -1};
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--bzimage") == 0) {
            o.kernel_format = KRUN_KERNEL_FORMAT_BZIMAGE;
            continue;
        }
        if (strcmp(a, "--nested") == 0) {
            o.nested = true;
            continue;
        }
        if (strcmp(a, "--no-implicit-console") == 0) {
            o.no_console = true;
            continue;
        }
        if (strcmp(a, "--own-init") == 0) {
            o.own_init = true;
            continue;
        }
        if (strcmp(a, "--no-workload") == 0) {
            o.no_workload = true;
            continue;
        }
        if (strcmp(a, "--serial") == 0) {
            o.serial = true;
            continue;
        }
        if (strcmp(a, "--parallel") == 0) {
            o.parallel = true;
            continue;
        }
        if (strcmp(a, "--split-irqchip") == 0) {
            o.split = true;
            continue;
        }
        if (strcmp(a, "--no-vsock") == 0) {
            o.no_vsock = true;
            continue;
        }
        if (strcmp(a, "--net-dhcp") == 0) {
            o.net_dhcp = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "vmtest: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--cpus") == 0)
            o.cpus = atoi(v);
        else if (strcmp(a, "--mem") == 0)
            o.mem = atoi(v);
        else if (strcmp(a, "--kernel") == 0)
            o.kernel = v;
        else if (strcmp(a, "--kernel-format") == 0) {
            if (parse_kernel_format(v, &o.kernel_format)) {
                fprintf(stderr, "vmtest: unknown kernel format %s\n", v);
                return 2;
            }
        } else if (strcmp(a, "--initrd") == 0)
            o.initrd = v;
        else if (strcmp(a, "--cmdline") == 0)
            o.cmdline = v;
        else if (strcmp(a, "--root") == 0)
            o.root = v;
        else if (strcmp(a, "--workdir") == 0)
            o.workdir = v;
        else if (strcmp(a, "--console-output") == 0)
            o.console_output = v;
        else if (strcmp(a, "--disk") == 0)
            o.disk = v;
        else if (strcmp(a, "--env") == 0 && o.n_env < 256)
            o.env[o.n_env++] = v;
        else if (strcmp(a, "--kernel-console") == 0)
            o.kernel_console = v;
        else if (strcmp(a, "--uid") == 0)
            o.uid = atoi(v);
        else if (strcmp(a, "--gid") == 0)
            o.gid = atoi(v);
        else if (strcmp(a, "--console-default") == 0)
            o.console_default = v;
        else if (strcmp(a, "--port") == 0)
            o.port = v;
        else if (strcmp(a, "--rlimit") == 0 && o.n_rlimits < 63)
            o.rlimits[o.n_rlimits++] = v;
        else if (strcmp(a, "--shutdown-after") == 0)
            o.shutdown_after = atoi(v);
        else if (strcmp(a, "--runs") == 0)
            o.runs = atoi(v);

        else if (strcmp(a, "--log-level") == 0)
            o.log_level = atoi(v);
        else if ((strcmp(a, "--vsock-port") == 0 || strcmp(a, "--vsock-listen") == 0) &&
                 o.n_vsock_ports < 16) {
            o.vsock_listen[o.n_vsock_ports] = strcmp(a, "--vsock-listen") == 0;
            o.vsock_ports[o.n_vsock_ports++] = v;
        } else if (strcmp(a, "--port-map") == 0 && o.n_port_map < 64)
            o.port_map[o.n_port_map++] = v;
        else if (strcmp(a, "--vsock") == 0)
            o.vsock_flags = atoi(v);
        else if (strncmp(a, "--net-", 6) == 0 && o.n_nets < 8 &&
                 (strcmp(a + 6, "stream") == 0 || strcmp(a + 6, "dgram") == 0 ||
                  strcmp(a + 6, "tap") == 0)) {
            o.net_kind[o.n_nets] = a + 6;
            o.net_arg[o.n_nets++] = v;
        } else if (strcmp(a, "--passt") == 0)
            o.passt = v;
        else {
            fprintf(stderr, "vmtest: unknown option %s\n", a);
            return 2;
        }
    }
    o.prog = &argv[i];
    if (o.log_level >= 0)
        TRY(krun_set_log_level((uint32_t)o.log_level));

    if (o.runs <= 0) {
        int ret = krun_start_enter((uint32_t)configure(&o, 0));
        die("krun_start_enter", ret);
    }
    if (o.parallel)
        return run_parallel(&o);
    for (int r = 1; r <= o.runs; r++) {
        int status = krun_start_wait((uint32_t)configure(&o, r));
        if (status < 0)
            die("krun_start_wait", status);
        printf("run %d: status %d\n", r, status);
        fflush(stdout);
    }
    return 0;
}
