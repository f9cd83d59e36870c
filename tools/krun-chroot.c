/* SPDX-License-Identifier: Apache-2.0 */
/*
 * krun-chroot: chroot, but into a microVM. Runs COMMAND with ROOT (a host
 * directory, or a disk image with --root-disk) as the root filesystem of a
 * libkrun VM, and exits with the command's status. Uses only the public
 * libkrun API. See docs/krun-chroot.1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libkrun.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Exit statuses of krun-chroot itself, as for container runtimes. */
#define EXIT_USAGE     125 /* bad options, missing root, no KVM, VM failed to start */
#define EXIT_NOT_FOUND 127 /* the command does not exist in ROOT */

#define MAX_ITEMS 256

struct options {
    int cpus;
    int mem;
    const char *workdir;
    bool read_only;
    const char *env[MAX_ITEMS];
    int n_env;
    const char *volumes[MAX_ITEMS];
    int n_volumes;
    const char *disks[MAX_ITEMS];
    int n_disks;
    const char *root_disk;
    int log_level;
    const char *ports[MAX_ITEMS + 1];
    int n_ports;
    bool no_net;
};

static const char usage_text[] =
    "Usage: krun-chroot [OPTIONS] ROOT COMMAND [ARGS...]\n"
    "       krun-chroot [OPTIONS] --root-disk IMAGE[:FSTYPE] COMMAND [ARGS...]\n"
    "Run COMMAND in a microVM whose root filesystem is the host directory ROOT\n"
    "(or the disk image IMAGE), and exit with its status.\n"
    "\n"
    "  -c, --cpus N              virtual CPUs (default 1)\n"
    "  -m, --mem MIB             memory in MiB (default 512)\n"
    "  -e, --env NAME=VALUE      set an environment variable (repeatable); the\n"
    "                            command starts from krun-chroot's environment\n"
    "  -w, --workdir DIR         working directory inside the VM\n"
    "  -v, --volume HOSTDIR:TAG[:ro]\n"
    "                            share HOSTDIR as virtio-fs TAG (repeatable);\n"
    "                            mount it in the VM with: mount -t virtiofs TAG DIR\n"
    "      --ro                  make ROOT read-only for the VM\n"
    "  -d, --disk IMAGE[:ro]     attach a raw disk image (repeatable): vda, vdb, ...\n"
    "      --root-disk IMAGE[:FSTYPE]\n"
    "                            boot from a raw disk image with a filesystem\n"
    "                            (vda) instead of ROOT; FSTYPE defaults to auto\n"
    "      --net tsi|none        tsi (default): the command's sockets reach the host's\n"
    "                            network through the VMM; none: no network at all\n"
    "  -p, --port HOST:GUEST     with tsi: a listener on GUEST port in the VM is\n"
    "                            host port HOST (repeatable)\n"
    "      --log-level N         libkrun log level 0-5 (default 1: errors)\n"
    "  -h, --help                show this help\n"
    "\n"
    "Exit status: the command's own; 128+N if signal N killed it; 125 if the VM\n"
    "could not be set up; 126 if COMMAND could not be executed; 127 if it does\n"
    "not exist. /dev/kvm must be usable.\n";

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "krun-chroot: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'krun-chroot --help'.\n");
    va_end(ap);
    exit(EXIT_USAGE);
}

static int parse_int(const char *opt, const char *s, int min, int max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) {
        fprintf(stderr, "krun-chroot: %s: '%s' is not a number between %d and %d\n", opt, s, min,
                max);
        exit(EXIT_USAGE);
    }
    return (int)v;
}

static void add_item(const char **list, int *n, const char *item, const char *opt)
{
    if (*n == MAX_ITEMS)
        usage_error("too many %s options", opt);
    list[(*n)++] = item;
}

/* Split "A:B[:C]" in place. Returns the number of fields (at most 3). */
static int split_colon(char *s, char *fields[3])
{
    int n = 0;
    fields[n++] = s;
    for (char *p = s; *p && n < 3; p++) {
        if (*p == ':') {
            *p = '\0';
            fields[n++] = p + 1;
        }
    }
    return n;
}

/*
 * Whether COMMAND exists in ROOT (a best effort: symlinks are followed only
 * as far as lstat shows they exist). Looked up in the guest's default PATH.
 */
static bool command_exists(const char *root, const char *cmd)
{
    static const char *const path[] = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                                       "/usr/bin",        "/sbin",          "/bin"};
    char p[PATH_MAX];
    struct stat st;
    if (strchr(cmd, '/')) {
        if (cmd[0] != '/')
            return true; /* relative to the working directory: the guest will tell */
        snprintf(p, sizeof(p), "%s%s", root, cmd);
        return lstat(p, &st) == 0;
    }
    for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
        snprintf(p, sizeof(p), "%s%s/%s", root, path[i], cmd);
        if (lstat(p, &st) == 0)
            return true;
    }
    return false;
}

static void check_kvm(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return;
    }
    int err = errno;
    if (err == ENOENT)
        fprintf(stderr, "krun-chroot: /dev/kvm does not exist: this host has no KVM "
                        "(enable virtualization, load kvm_intel or kvm_amd)\n");
    else if (err == EACCES || err == EPERM)
        fprintf(stderr, "krun-chroot: no permission to use /dev/kvm (add yourself to its group, "
                        "usually 'kvm')\n");
    else
        fprintf(stderr, "krun-chroot: cannot use /dev/kvm: %s\n", strerror(err));
    exit(EXIT_USAGE);
}

/* A disk image the VM will open: say which one is unusable, before KVM is probed. */
static void check_image(const char *opt, const char *path, bool read_only)
{
    int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "krun-chroot: %s %s: %s\n", opt, path, strerror(errno));
        exit(EXIT_USAGE);
    }
    close(fd);
}

static void check(int ret, const char *what, const char *arg)
{
    if (ret >= 0)
        return;
    fprintf(stderr, "krun-chroot: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "",
            strerror(-ret));
    exit(EXIT_USAGE);
}

int main(int argc, char **argv)
{
    struct options o = {.cpus = 1, .mem = 512, .log_level = -1};
    enum { OPT_RO = 1000, OPT_ROOT_DISK, OPT_LOG_LEVEL, OPT_NET };
    static const struct option longopts[] = {
        {"cpus", required_argument, NULL, 'c'},
        {"mem", required_argument, NULL, 'm'},
        {"env", required_argument, NULL, 'e'},
        {"workdir", required_argument, NULL, 'w'},
        {"volume", required_argument, NULL, 'v'},
        {"ro", no_argument, NULL, OPT_RO},
        {"disk", required_argument, NULL, 'd'},
        {"root-disk", required_argument, NULL, OPT_ROOT_DISK},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"net", required_argument, NULL, OPT_NET},
        {"port", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    /* "+": options end at ROOT, so that COMMAND's own options are left alone. */
    while ((c = getopt_long(argc, argv, "+c:m:e:w:v:d:p:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o.cpus = parse_int("--cpus", optarg, 1, 255);
            break;
        case 'm':
            o.mem = parse_int("--mem", optarg, 1, INT_MAX);
            break;
        case 'e':
            if (!strchr(optarg, '=') || optarg[0] == '=')
                usage_error("--env needs NAME=VALUE, got '%s'", optarg);
            add_item(o.env, &o.n_env, optarg, "--env");
            break;
        case 'w':
            o.workdir = optarg;
            break;
        case 'v':
            add_item(o.volumes, &o.n_volumes, optarg, "--volume");
            break;
        case OPT_RO:
            o.read_only = true;
            break;
        case 'd':
            add_item(o.disks, &o.n_disks, optarg, "--disk");
            break;
        case OPT_ROOT_DISK:
            o.root_disk = optarg;
            break;
        case OPT_LOG_LEVEL:
            o.log_level = parse_int("--log-level", optarg, 0, 5);
            break;
        case OPT_NET:
            if (strcmp(optarg, "none") == 0)
                o.no_net = true;
            else if (strcmp(optarg, "tsi") == 0)
                o.no_net = false;
            else
                usage_error("--net takes tsi or none, got '%s'", optarg);
            break;
        case 'p':
            add_item(o.ports, &o.n_ports, optarg, "--port");
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            fprintf(stderr, "Try 'krun-chroot --help'.\n");
            return EXIT_USAGE;
        }
    }
    const char *root = NULL;
    if (!o.root_disk) {
        if (optind >= argc)
            usage_error("%s", "missing ROOT");
        root = argv[optind++];
    }
    if (optind >= argc)
        usage_error("%s", "missing COMMAND");
    const char *cmd = argv[optind];
    char **args = &argv[optind + 1];

    if (root) {
        struct stat st;
        if (stat(root, &st) < 0) {
            fprintf(stderr, "krun-chroot: root directory %s: %s\n", root, strerror(errno));
            return EXIT_USAGE;
        }
        if (!S_ISDIR(st.st_mode)) {
            fprintf(stderr, "krun-chroot: root %s is not a directory\n", root);
            return EXIT_USAGE;
        }
        if (!command_exists(root, cmd)) {
            fprintf(stderr, "krun-chroot: %s: command not found in %s\n", cmd, root);
            return EXIT_NOT_FOUND;
        }
    }
    if (o.log_level >= 0)
        check(krun_set_log_level((uint32_t)o.log_level), "--log-level", NULL);
    int ctx = krun_create_ctx();
    check(ctx, "cannot create a libkrun context", NULL);
    check(krun_set_vm_config((uint32_t)ctx, (uint8_t)o.cpus, (uint32_t)o.mem), "--cpus/--mem",
          NULL);

    /* Disks first: the root disk is vda, then --disk images in order. */
    if (o.root_disk) {
        char *spec = strdup(o.root_disk), *f[3];
        int n = split_colon(spec, f);
        check_image("--root-disk", f[0], false);
        check(krun_add_disk((uint32_t)ctx, "root", f[0], false), "--root-disk", f[0]);
        check(krun_set_root_disk_remount((uint32_t)ctx, "/dev/vda", n > 1 ? f[1] : NULL, NULL),
              "--root-disk", f[0]);
        free(spec);
    }
    for (int i = 0; i < o.n_disks; i++) {
        char *spec = strdup(o.disks[i]), *f[3], id[32];
        int n = split_colon(spec, f);
        bool ro = n > 1 && strcmp(f[1], "ro") == 0;
        if (n > 1 && !ro)
            usage_error("--disk takes IMAGE or IMAGE:ro, got '%s'", o.disks[i]);
        check_image("--disk", f[0], ro);
        snprintf(id, sizeof(id), "disk%d", i);
        check(krun_add_disk((uint32_t)ctx, id, f[0], ro), "--disk", f[0]);
        free(spec);
    }
    if (root)
        check(o.read_only ? krun_add_virtiofs3((uint32_t)ctx, KRUN_FS_ROOT_TAG, root, 0, true)
                          : krun_set_root((uint32_t)ctx, root),
              "root", root);
    for (int i = 0; i < o.n_volumes; i++) {
        char *spec = strdup(o.volumes[i]), *f[3];
        int n = split_colon(spec, f);
        bool ro = n > 2 && strcmp(f[2], "ro") == 0;
        if (n < 2 || !*f[0] || !*f[1] || (n > 2 && !ro))
            usage_error("--volume takes HOSTDIR:TAG[:ro], got '%s'", o.volumes[i]);
        struct stat st;
        if (stat(f[0], &st) < 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "krun-chroot: volume %s is not a directory\n", f[0]);
            return EXIT_USAGE;
        }
        check(krun_add_virtiofs3((uint32_t)ctx, f[1], f[0], 0, ro), "--volume", o.volumes[i]);
        free(spec);
    }

    if (o.no_net && o.n_ports)
        usage_error("%s", "--port needs --net tsi");
    if (o.no_net)
        check(krun_disable_implicit_vsock((uint32_t)ctx), "--net none", NULL);
    if (o.n_ports) {
        o.ports[o.n_ports] = NULL;
        check(krun_set_port_map((uint32_t)ctx, o.ports), "--port",
              "(HOST:GUEST, each port 0-65535 and used once)");
    }

    /* The command starts from our environment, plus --env. */
    extern char **environ;
    size_t n_host = 0;
    while (environ[n_host])
        n_host++;
    const char **env = calloc(n_host + (size_t)o.n_env + 1, sizeof(*env));
    size_t n = 0;
    for (size_t i = 0; i < n_host; i++) {
        bool overridden = false;
        size_t klen = strcspn(environ[i], "=");
        for (int j = 0; j < o.n_env; j++)
            if (strncmp(o.env[j], environ[i], klen) == 0 && o.env[j][klen] == '=')
                overridden = true;
        if (!overridden)
            env[n++] = environ[i];
    }
    for (int j = 0; j < o.n_env; j++)
        env[n++] = o.env[j];
    env[n] = NULL;
    check(krun_set_exec((uint32_t)ctx, cmd, (const char *const *)args, env), "command", cmd);
    free(env); /* the library keeps its own copy */
    if (o.workdir)
        check(krun_set_workdir((uint32_t)ctx, o.workdir), "--workdir", o.workdir);

    /* Last: every mistake in what the user passed is reported first. */
    check_kvm();
    int ret = krun_start_enter((uint32_t)ctx);
    fprintf(stderr, "krun-chroot: the VM could not start: %s\n", strerror(-ret));
    return EXIT_USAGE;
}
