/* SPDX-License-Identifier: Apache-2.0 */
/*
 * krun-chroot: chroot, but into a microVM. Runs COMMAND with ROOT (a host
 * directory, or a disk image with --root-disk) as the root filesystem of a
 * libkrun VM, and exits with the command's status. Uses only the public
 * libkrun API. See docs/krun-chroot.1.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libkrun.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exit statuses of krun-chroot itself, as for container runtimes. */
#define EXIT_USAGE     125 /* bad options, missing root, no KVM, VM failed to start */
#define EXIT_NOT_FOUND 127 /* the command does not exist in ROOT */

#define MAX_ITEMS 256

/* eth0's MAC unless --mac says otherwise: upstream libkrun's default (locally administered). */
static const uint8_t default_mac[6] = {0x5a, 0x94, 0xef, 0xe4, 0x0c, 0xee};

/* A tap takes every offload; passt gets what upstream's krun_set_passt_fd offers. */
#define TAP_FEATURES                                                                               \
    ((uint32_t)(COMPAT_NET_FEATURES | NET_FEATURE_GUEST_TSO6 | NET_FEATURE_HOST_TSO6))

enum net_mode { NET_TSI, NET_NONE, NET_PASST, NET_TAP };

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
    enum net_mode net;
    const char *net_arg; /* --net's value as given, for messages */
    char *tap_name;      /* with NET_TAP: inside argv */
    bool dhcp;
    bool mac_given;
    uint8_t mac[6];
    const char *passt_opts[MAX_ITEMS];
    int n_passt_opts;
};

static const char usage_text[] =
    "Usage: krun-chroot [OPTIONS] ROOT COMMAND [ARGS...]\n"
    "       krun-chroot [OPTIONS] --root-disk IMAGE[:FSTYPE[:FORMAT]] COMMAND [ARGS...]\n"
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
    "  -d, --disk IMAGE[:FORMAT][:ro]\n"
    "                            attach a disk image (repeatable): vda, vdb, ...;\n"
    "                            FORMAT raw (default), qcow2 or vmdk\n"
    "      --root-disk IMAGE[:FSTYPE[:FORMAT]]\n"
    "                            boot from a disk image with a filesystem (vda)\n"
    "                            instead of ROOT; FSTYPE defaults to auto, FORMAT\n"
    "                            to raw (or qcow2, vmdk)\n"
    "      --net tsi|none|passt|tap:NAME\n"
    "                            tsi (default): the command's sockets reach the host's\n"
    "                            network through the VMM; none: no network at all;\n"
    "                            passt: an eth0 configured by DHCP, through a passt\n"
    "                            process that krun-chroot starts (passt must be in\n"
    "                            PATH); tap:NAME: an eth0 on the host's tap device NAME\n"
    "  -p, --port HOST:GUEST     with tsi: a listener on GUEST port in the VM is\n"
    "                            host port HOST (repeatable)\n"
    "      --passt-opt OPT       with passt: pass OPT to passt (repeatable), e.g.\n"
    "                            --passt-opt=-t --passt-opt=8080:80 forwards host\n"
    "                            TCP port 8080 to port 80 in the VM\n"
    "      --dhcp                the guest configures eth0 by DHCP (implied by passt;\n"
    "                            with a tap the address is otherwise left to you)\n"
    "      --mac XX:XX:XX:XX:XX:XX\n"
    "                            eth0's MAC address (default 5a:94:ef:e4:0c:ee)\n"
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
 * The fields after --disk's IMAGE: a format (raw, the default; qcow2; vmdk)
 * and "ro", each at most once, in this order. The format is never guessed.
 */
static bool parse_disk_options(char **f, int n, uint32_t *format, bool *ro)
{
    int i = 0;
    if (i < n && strcmp(f[i], "ro") != 0) {
        if (strcmp(f[i], "raw") == 0)
            *format = KRUN_DISK_FORMAT_RAW;
        else if (strcmp(f[i], "qcow2") == 0)
            *format = KRUN_DISK_FORMAT_QCOW2;
        else if (strcmp(f[i], "vmdk") == 0)
            *format = KRUN_DISK_FORMAT_VMDK;
        else
            return false;
        i++;
    }
    if (i < n && strcmp(f[i], "ro") == 0) {
        *ro = true;
        i++;
    }
    return i == n;
}

/* --net MODE: tsi, none, passt or tap:NAME (a name Linux would take for an interface). */
static void parse_net(struct options *o, char *arg)
{
    o->net_arg = arg;
    if (strcmp(arg, "tsi") == 0) {
        o->net = NET_TSI;
    } else if (strcmp(arg, "none") == 0) {
        o->net = NET_NONE;
    } else if (strcmp(arg, "passt") == 0) {
        o->net = NET_PASST;
    } else if (strncmp(arg, "tap:", 4) == 0) {
        char *name = arg + 4;
        if (!*name)
            usage_error("--net tap:NAME needs the name of a tap device, got '%s'", arg);
        if (strlen(name) >= IFNAMSIZ)
            usage_error("--net %s: the tap name '%s' is longer than %d bytes", arg, name,
                        IFNAMSIZ - 1);
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strpbrk(name, "/: \t\n\v\f\r"))
            usage_error("--net %s: '%s' is not a valid interface name", arg, name);
        o->net = NET_TAP;
        o->tap_name = name;
    } else {
        usage_error("--net takes tsi, none, passt or tap:NAME, got '%s'", arg);
    }
}

static int hex_digit(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/* --mac XX:XX:XX:XX:XX:XX, hexadecimal, for a unicast interface address. */
static void parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        const char *p = s + 3 * i;
        /* Each test stops at the string's end: nothing past it is read. */
        if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
            p[2] != (i == 5 ? '\0' : ':'))
            usage_error("--mac takes six hexadecimal bytes as XX:XX:XX:XX:XX:XX, got '%s'", s);
        mac[i] = (uint8_t)(hex_digit(p[0]) << 4 | hex_digit(p[1]));
    }
    if (mac[0] & 1)
        usage_error("--mac %s is a multicast address (the first byte must be even)", s);
    if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
        usage_error("--mac %s: the all-zero address cannot be an interface's", s);
}

/* The network options that only go with some --net modes. */
static void check_net_options(const struct options *o)
{
    bool virtio_net = o->net == NET_PASST || o->net == NET_TAP;
    if (o->n_ports && o->net == NET_PASST)
        usage_error("%s", "--port needs --net tsi; with --net passt, forward ports with "
                          "passt's own option, e.g. --passt-opt=-t --passt-opt=8080:80");
    if (o->n_ports && o->net != NET_TSI)
        usage_error("--port needs --net tsi, got --net %s", o->net_arg);
    if (o->n_passt_opts && o->net != NET_PASST)
        usage_error("--passt-opt needs --net passt, got --net %s",
                    o->net_arg ? o->net_arg : "tsi (the default)");
    if (o->dhcp && !virtio_net)
        usage_error("--dhcp needs --net passt or --net tap:NAME, got --net %s",
                    o->net_arg ? o->net_arg : "tsi (the default)");
    if (o->mac_given && !virtio_net)
        usage_error("--mac needs --net passt or --net tap:NAME, got --net %s",
                    o->net_arg ? o->net_arg : "tsi (the default)");
}

/* The executable NAME in $PATH (as execvp would find it), or NULL. The result is malloc'ed. */
static char *find_in_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin"; /* execvp's default */
    for (const char *dir = path;; dir++) {
        size_t len = strcspn(dir, ":");
        char p[PATH_MAX];
        struct stat st;
        /* An empty entry is the current directory. */
        int n = len ? snprintf(p, sizeof(p), "%.*s/%s", (int)len, dir, name)
                    : snprintf(p, sizeof(p), "%s", name);
        if (n > 0 && (size_t)n < sizeof(p) && stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
            access(p, X_OK) == 0)
            return strdup(p);
        dir += len;
        if (!*dir)
            return NULL;
    }
}

/*
 * passt changes to user nobody when started as root outside a user namespace,
 * with a warning on every start: ask for it, unless --passt-opt names a user.
 */
static bool passt_as_nobody(const struct options *o)
{
    if (geteuid() != 0)
        return false;
    for (int i = 0; i < o->n_passt_opts; i++)
        if (strncmp(o->passt_opts[i], "--runas", 7) == 0)
            return false;
    FILE *f = fopen("/proc/self/uid_map", "re");
    if (!f)
        return false;
    unsigned long inside, outside, count;
    bool init_ns = fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 &&
                   outside == 0 && count == 4294967295UL;
    fclose(f);
    return init_ns;
}

/*
 * Start passt (the executable exe) in the foreground on fd, our socketpair's
 * other end, which it takes over. passt ends when that connection closes
 * (--fd implies --one-off), so with us; PR_SET_PDEATHSIG is a second line,
 * though a change of user (to nobody, as root) clears it. Returns its pid;
 * exits if it cannot be executed.
 */
static pid_t spawn_passt(const char *exe, int fd, const struct options *o)
{
    char fd_arg[16];
    snprintf(fd_arg, sizeof(fd_arg), "%d", fd);
    const char *argv[MAX_ITEMS + 16];
    int n = 0;
    argv[n++] = "passt";
    argv[n++] = "--foreground"; /* our child: no fork to the background, no pid file */
    argv[n++] = "--quiet";      /* warnings and errors only */
    argv[n++] = "--stderr";     /* even from a terminal, where passt logs to syslog only */
    if (passt_as_nobody(o)) {
        argv[n++] = "--runas";
        argv[n++] = "nobody";
    }
    argv[n++] = "--fd";
    argv[n++] = fd_arg;
    for (int i = 0; i < o->n_passt_opts; i++)
        argv[n++] = o->passt_opts[i];
    argv[n] = NULL;

    /* A failed exec sends its errno through this pipe; a successful one closes it. */
    int status_pipe[2];
    if (pipe2(status_pipe, O_CLOEXEC) < 0) {
        fprintf(stderr, "krun-chroot: --net passt: pipe: %s\n", strerror(errno));
        exit(EXIT_USAGE);
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "krun-chroot: --net passt: fork: %s\n", strerror(errno));
        exit(EXIT_USAGE);
    }
    if (pid == 0) {
        /* Only async-signal-safe calls from here on. */
        close(status_pipe[0]);
        /* Out of the terminal's foreground group: Ctrl-C is for the command, not for passt. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1); /* krun-chroot is gone already */
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0 && null != STDIN_FILENO)
            dup2(null, STDIN_FILENO);
        dup2(STDERR_FILENO, STDOUT_FILENO); /* stdout is the command's */
        fcntl(fd, F_SETFD, 0);              /* the one descriptor passt inherits */
        execv(exe, (char *const *)argv);
        int err = errno;
        ssize_t w = write(status_pipe[1], &err, sizeof(err));
        (void)w;
        _exit(127);
    }
    close(status_pipe[1]);
    int err;
    ssize_t r;
    do
        r = read(status_pipe[0], &err, sizeof(err));
    while (r < 0 && errno == EINTR);
    close(status_pipe[0]);
    if (r == (ssize_t)sizeof(err)) {
        waitpid(pid, NULL, 0);
        fprintf(stderr, "krun-chroot: --net passt: cannot execute passt (%s): %s\n", exe,
                strerror(err));
        exit(EXIT_USAGE);
    }
    close(fd);
    return pid;
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
    memcpy(o.mac, default_mac, sizeof(o.mac));
    enum { OPT_RO = 1000, OPT_ROOT_DISK, OPT_LOG_LEVEL, OPT_NET, OPT_PASST_OPT, OPT_DHCP, OPT_MAC };
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
        {"passt-opt", required_argument, NULL, OPT_PASST_OPT},
        {"dhcp", no_argument, NULL, OPT_DHCP},
        {"mac", required_argument, NULL, OPT_MAC},
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
            parse_net(&o, optarg);
            break;
        case 'p':
            add_item(o.ports, &o.n_ports, optarg, "--port");
            break;
        case OPT_PASST_OPT:
            add_item(o.passt_opts, &o.n_passt_opts, optarg, "--passt-opt");
            break;
        case OPT_DHCP:
            o.dhcp = true;
            break;
        case OPT_MAC:
            parse_mac(optarg, o.mac);
            o.mac_given = true;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            fprintf(stderr, "Try 'krun-chroot --help'.\n");
            return EXIT_USAGE;
        }
    }
    check_net_options(&o);
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
        bool ro = false;
        uint32_t format = KRUN_DISK_FORMAT_RAW;
        if (n > 2 && (!parse_disk_options(f + 2, 1, &format, &ro) || ro))
            usage_error("--root-disk takes IMAGE[:FSTYPE[:raw|qcow2|vmdk]], got '%s'", o.root_disk);
        check_image("--root-disk", f[0], false);
        check(krun_add_disk2((uint32_t)ctx, "root", f[0], format, ro), "--root-disk", f[0]);
        check(krun_set_root_disk_remount((uint32_t)ctx, "/dev/vda", n > 1 ? f[1] : NULL, NULL),
              "--root-disk", f[0]);
        free(spec);
    }
    for (int i = 0; i < o.n_disks; i++) {
        char *spec = strdup(o.disks[i]), *f[3], id[32];
        int n = split_colon(spec, f);
        bool ro = false;
        uint32_t format = KRUN_DISK_FORMAT_RAW;
        if (!parse_disk_options(f + 1, n - 1, &format, &ro))
            usage_error("--disk takes IMAGE[:raw|qcow2|vmdk][:ro], got '%s'", o.disks[i]);
        check_image("--disk", f[0], ro);
        snprintf(id, sizeof(id), "disk%d", i);
        check(krun_add_disk2((uint32_t)ctx, id, f[0], format, ro), "--disk", f[0]);
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

    /* passt: our end of the socket pair is eth0's backend; passt gets the other at the start. */
    char *passt = NULL;
    int passt_fd = -1;
    switch (o.net) {
    case NET_TSI:
        if (o.n_ports) {
            o.ports[o.n_ports] = NULL;
            check(krun_set_port_map((uint32_t)ctx, o.ports), "--port",
                  "(HOST:GUEST, each port 0-65535 and used once)");
        }
        break;
    case NET_NONE:
        check(krun_disable_implicit_vsock((uint32_t)ctx), "--net none", NULL);
        break;
    case NET_PASST: {
        passt = find_in_path("passt");
        if (!passt) {
            const char *path = getenv("PATH");
            fprintf(stderr,
                    "krun-chroot: --net passt: passt is not in PATH (%s); install it (Debian, "
                    "Ubuntu: apt install passt)\n",
                    path ? path : "unset");
            return EXIT_USAGE;
        }
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
            check(-errno, "--net passt: socketpair", NULL);
        /* passt's end must not be one of the standard streams the child redirects. */
        passt_fd = sv[1] > STDERR_FILENO ? sv[1] : fcntl(sv[1], F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
        if (passt_fd < 0)
            check(-errno, "--net passt: fcntl", NULL);
        if (passt_fd != sv[1])
            close(sv[1]);
        check(krun_add_net_unixstream((uint32_t)ctx, NULL, sv[0], o.mac, COMPAT_NET_FEATURES,
                                      NET_FLAG_DHCP_CLIENT),
              "--net", o.net_arg);
        break;
    }
    case NET_TAP:
        check(krun_add_net_tap((uint32_t)ctx, o.tap_name, o.mac, TAP_FEATURES,
                               o.dhcp ? NET_FLAG_DHCP_CLIENT : 0),
              "--net", o.net_arg);
        break;
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
    pid_t passt_pid = passt ? spawn_passt(passt, passt_fd, &o) : -1;
    free(passt);
    int ret = krun_start_enter((uint32_t)ctx);
    fprintf(stderr, "krun-chroot: the VM could not start: %s\n", strerror(-ret));
    if (passt_pid > 0) {
        kill(passt_pid, SIGTERM);
        waitpid(passt_pid, NULL, 0);
    }
    return EXIT_USAGE;
}
