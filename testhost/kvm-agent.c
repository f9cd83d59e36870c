/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvm-agent: the command channel of testhost/with-kvm.
 *
 * One static binary with two sides:
 *   kvm-agent serve -p PORT -k TOKENFILE [-r ROOT] [-i IDLE] [-K]
 *       runs inside the KVM host VM (as PID 1); listens on TCP PORT, which
 *       QEMU's user networking forwards from 127.0.0.1 on the machine
 *       outside, makes the mount ROOT the root of the system (see
 *       enter_root()) and runs one command per connection.
 *       -K keeps two idle VMs open, see pin_kvm_static_keys().
 *   kvm-agent run -p PORT -k TOKENFILE [-t SECONDS] [-n] -- CMD [ARG...]
 *       runs outside; sends CMD with the caller's working directory and
 *       environment, streams stdin in and stdout/stderr out, and exits with
 *       the command's status (128+N when a signal ended it).
 *   kvm-agent ping -p PORT -k TOKENFILE      exit 0 when the agent answers
 *   kvm-agent poweroff -p PORT -k TOKENFILE  power the VM off
 *   kvm-agent hmp SOCKET COMMAND             one QEMU human-monitor command
 *
 * Every connection starts with the token from TOKENFILE (a file only the
 * caller can read); a connection with a wrong token gets nothing.
 *
 * Wire format, both directions: frames of 1 type byte, a 4-byte big-endian
 * length and that many bytes of payload.
 *   to the agent:   A token, C cwd, E "NAME=value" (repeated), R argument
 *                   (repeated), X flags (run), I stdin data, i stdin EOF,
 *                   K signal number, P ping, Q power off
 *   from the agent: 1 stdout data, 2 stderr data, S status (kind, value:
 *                   kind 0 = exit code, 1 = signal), F code + message (the
 *                   command could not be started), p pong, q powering off
 *
 * Exit statuses of "run": the command's own; 128+N if signal N ended it;
 * 124 on timeout; 125 when the channel fails; 126/127 when the command
 * cannot be executed / is not found.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX    (1u << 20)
#define CHUNK        65536
#define HIGH_WATER   (1u << 20)
#define EXIT_CHANNEL 125
#define EXIT_TIMEOUT 124

extern char **environ;

/* ---------------------------------------------------------------- utils */

static const char *prog = "kvm-agent";

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int code, const char *fmt, ...)
{
    va_list ap;
    char msg[1024];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", prog, msg);
    exit(code);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_nonblock(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

static int write_all(int fd, const void *data, size_t n)
{
    const unsigned char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                poll(&pfd, 1, -1);
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads exactly n bytes; 0 on success, -1 on EOF or error. */
static int read_full(int fd, void *data, size_t n)
{
    unsigned char *p = data;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

struct buf {
    unsigned char *p;
    size_t off, len, cap; /* valid bytes are p[off .. len) */
};

static void buf_put(struct buf *b, const void *d, size_t n)
{
    if (b->off && b->off == b->len)
        b->off = b->len = 0;
    if (b->len + n > b->cap) {
        if (b->off) {
            memmove(b->p, b->p + b->off, b->len - b->off);
            b->len -= b->off;
            b->off = 0;
        }
        if (b->len + n > b->cap) {
            size_t cap = b->cap ? b->cap : 4096;
            while (cap < b->len + n)
                cap *= 2;
            unsigned char *np = realloc(b->p, cap);
            if (!np)
                die(EXIT_CHANNEL, "out of memory");
            b->p = np;
            b->cap = cap;
        }
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static size_t buf_used(const struct buf *b)
{
    return b->len - b->off;
}

static void buf_frame(struct buf *b, int type, const void *d, size_t n)
{
    unsigned char h[5] = {(unsigned char)type, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
    buf_put(b, h, 5);
    if (n)
        buf_put(b, d, n);
}

/* Writes what it can without blocking; -1 on a real error. */
static int buf_flush(struct buf *b, int fd)
{
    while (buf_used(b)) {
        ssize_t w = write(fd, b->p + b->off, buf_used(b));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            return -1;
        }
        b->off += (size_t)w;
    }
    b->off = b->len = 0;
    return 0;
}

static int send_frame(int fd, int type, const void *d, size_t n)
{
    struct buf b = {0};
    buf_frame(&b, type, d, n);
    int r = write_all(fd, b.p, b.len);
    free(b.p);
    return r;
}

/* Reads one frame (blocking). Returns the type, or -1. *data is malloc'd and NUL-terminated. */
static int recv_frame(int fd, unsigned char **data, size_t *len)
{
    unsigned char h[5];
    if (read_full(fd, h, 5) < 0)
        return -1;
    uint32_t n = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 | h[4];
    if (n > FRAME_MAX)
        return -1;
    unsigned char *p = malloc(n + 1);
    if (!p)
        return -1;
    if (read_full(fd, p, n) < 0) {
        free(p);
        return -1;
    }
    p[n] = 0;
    *data = p;
    *len = n;
    return h[0];
}

/*
 * Incremental parser for the relay phase: calls fn for every complete frame
 * in b and keeps a partial one. Returns -1 if fn did, or on a bad frame.
 */
static int parse_frames(struct buf *b, int (*fn)(void *ctx, int type, unsigned char *d, size_t n),
                        void *ctx)
{
    while (buf_used(b) >= 5) {
        unsigned char *h = b->p + b->off;
        uint32_t n = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 | h[4];
        if (n > FRAME_MAX)
            return -1;
        if (buf_used(b) < 5 + (size_t)n)
            break;
        b->off += 5 + (size_t)n;
        if (fn(ctx, h[0], h + 5, n) < 0)
            return -1;
    }
    return 0;
}

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char c = (unsigned char)sig;
    if (sig_pipe[1] >= 0)
        (void)!write(sig_pipe[1], &c, 1);
    errno = saved;
}

static void make_sig_pipe(void)
{
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        die(EXIT_CHANNEL, "pipe: %s", strerror(errno));
}

static void catch_signal(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static char *read_token(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        die(EXIT_CHANNEL, "cannot read token file %s: %s", path, strerror(errno));
    static char tok[256];
    if (!fgets(tok, sizeof(tok), f))
        die(EXIT_CHANNEL, "token file %s is empty", path);
    fclose(f);
    tok[strcspn(tok, "\r\n")] = 0;
    if (strlen(tok) < 16)
        die(EXIT_CHANNEL, "token in %s is too short", path);
    return tok;
}

static int token_equal(const unsigned char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    unsigned diff = alen != blen;
    for (size_t i = 0; i < alen && i < blen; i++)
        diff |= a[i] ^ (unsigned char)b[i];
    return diff == 0;
}

/* ---------------------------------------------------------------- serve */

struct handler {
    int sock;
    pid_t pid;
    int out_fd, err_fd, in_fd;
    int stdin_eof;
    int exited, status;
    struct buf to_sock, from_sock, to_stdin;
};

static int handler_frame(void *ctx, int type, unsigned char *d, size_t n)
{
    struct handler *h = ctx;
    switch (type) {
    case 'I':
        if (h->in_fd >= 0)
            buf_put(&h->to_stdin, d, n);
        return 0;
    case 'i':
        h->stdin_eof = 1;
        return 0;
    case 'K':
        if (n == 1 && d[0] > 0 && d[0] < 65) {
            kill(-h->pid, d[0]);
            kill(h->pid, d[0]);
        }
        return 0;
    default:
        return -1;
    }
}

static void handler_reap(struct handler *h)
{
    int st;
    if (!h->exited && waitpid(h->pid, &st, WNOHANG) == h->pid) {
        h->exited = 1;
        h->status = st;
    }
}

static void handler_kill(struct handler *h)
{
    kill(-h->pid, SIGKILL);
    kill(h->pid, SIGKILL);
    if (!h->exited)
        waitpid(h->pid, NULL, 0);
}

static void fail_frame(int sock, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_frame(int sock, int code, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    msg[0] = (char)code;
    va_start(ap, fmt);
    vsnprintf(msg + 1, sizeof(msg) - 1, fmt, ap);
    va_end(ap);
    send_frame(sock, 'F', msg, 1 + strlen(msg + 1));
}

struct exec_err {
    int stage; /* 1 = chdir, 2 = exec */
    int err;
};

static void run_command(int sock, int flags, char *cwd, char **env, char **argv)
{
    int outp[2], errp[2], inp[2] = {-1, -1}, ep[2];
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0 ||
        ((flags & 1) && pipe2(inp, O_CLOEXEC) < 0)) {
        fail_frame(sock, EXIT_CHANNEL, "agent: pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fail_frame(sock, EXIT_CHANNEL, "agent: fork: %s", strerror(errno));
        return;
    }
    if (pid == 0) {
        struct exec_err e = {0, 0};
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        for (int s = 1; s < 65; s++)
            signal(s, SIG_DFL);
        setsid();
        int in = (flags & 1) ? inp[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (in < 0 || dup2(in, 0) < 0 || dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0) {
            e.stage = 3;
            e.err = errno;
            (void)!write(ep[1], &e, sizeof(e));
            _exit(127);
        }
        umask(022);
        if (chdir(cwd) < 0) {
            e.stage = 1;
            e.err = errno;
            (void)!write(ep[1], &e, sizeof(e));
            _exit(127);
        }
        environ = env;
        execvp(argv[0], argv);
        e.stage = 2;
        e.err = errno;
        (void)!write(ep[1], &e, sizeof(e));
        _exit(127);
    }
    close(outp[1]);
    close(errp[1]);
    close(ep[1]);
    if (inp[0] >= 0)
        close(inp[0]);
    struct exec_err e;
    ssize_t r;
    do
        r = read(ep[0], &e, sizeof(e));
    while (r < 0 && errno == EINTR);
    close(ep[0]);
    if (r == (ssize_t)sizeof(e)) {
        waitpid(pid, NULL, 0);
        if (e.stage == 1)
            fail_frame(sock, EXIT_CHANNEL,
                       "cannot change to %s inside the KVM host: %s (the host's root is shared "
                       "read-only; /tmp and /run there are fresh tmpfs)",
                       cwd, strerror(e.err));
        else if (e.stage == 2)
            fail_frame(sock, e.err == ENOENT ? 127 : 126, "%s: %s", argv[0], strerror(e.err));
        else
            fail_frame(sock, EXIT_CHANNEL, "agent: setting up stdio: %s", strerror(e.err));
        return;
    }

    struct handler h;
    memset(&h, 0, sizeof(h));
    h.sock = sock;
    h.pid = pid;
    h.out_fd = outp[0];
    h.err_fd = errp[0];
    h.in_fd = inp[1];
    set_nonblock(sock, 1);
    set_nonblock(h.out_fd, 1);
    set_nonblock(h.err_fd, 1);
    if (h.in_fd >= 0)
        set_nonblock(h.in_fd, 1);
    static unsigned char chunk[CHUNK];

    for (;;) {
        handler_reap(&h);
        if (h.in_fd >= 0 && h.stdin_eof && !buf_used(&h.to_stdin)) {
            close(h.in_fd);
            h.in_fd = -1;
        }
        if (h.exited && h.out_fd < 0 && h.err_fd < 0)
            break;
        struct pollfd p[5];
        int np = 0, isock, iout = -1, ierr = -1, iin = -1;
        isock = np;
        p[np++] =
            (struct pollfd){.fd = sock, .events = POLLIN | (buf_used(&h.to_sock) ? POLLOUT : 0)};
        p[np++] = (struct pollfd){.fd = sig_pipe[0], .events = POLLIN};
        if (h.out_fd >= 0 && buf_used(&h.to_sock) < HIGH_WATER) {
            iout = np;
            p[np++] = (struct pollfd){.fd = h.out_fd, .events = POLLIN};
        }
        if (h.err_fd >= 0 && buf_used(&h.to_sock) < HIGH_WATER) {
            ierr = np;
            p[np++] = (struct pollfd){.fd = h.err_fd, .events = POLLIN};
        }
        if (h.in_fd >= 0 && buf_used(&h.to_stdin)) {
            iin = np;
            p[np++] = (struct pollfd){.fd = h.in_fd, .events = POLLOUT};
        }
        if (poll(p, (nfds_t)np, 1000) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents) {
            unsigned char junk[64];
            while (read(sig_pipe[0], junk, sizeof(junk)) > 0) {
            }
        }
        if (p[isock].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(sock, chunk, sizeof(chunk));
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                /* the caller went away: end the command */
                handler_kill(&h);
                return;
            }
            if (n > 0) {
                buf_put(&h.from_sock, chunk, (size_t)n);
                if (parse_frames(&h.from_sock, handler_frame, &h) < 0) {
                    handler_kill(&h);
                    return;
                }
            }
        }
        if (p[isock].revents & POLLOUT) {
            if (buf_flush(&h.to_sock, sock) < 0) {
                handler_kill(&h);
                return;
            }
        }
        int fds[2] = {iout, ierr};
        for (int k = 0; k < 2; k++) {
            if (fds[k] < 0 || !p[fds[k]].revents)
                continue;
            int *fdp = k ? &h.err_fd : &h.out_fd;
            ssize_t n = read(*fdp, chunk, sizeof(chunk));
            if (n > 0)
                buf_frame(&h.to_sock, k ? '2' : '1', chunk, (size_t)n);
            else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                close(*fdp);
                *fdp = -1;
            }
        }
        if (iin >= 0 && p[iin].revents) {
            if (buf_flush(&h.to_stdin, h.in_fd) < 0) {
                /* the command closed its stdin: drop the rest */
                close(h.in_fd);
                h.in_fd = -1;
                h.to_stdin.off = h.to_stdin.len = 0;
            }
        }
        if (buf_used(&h.to_sock) && buf_flush(&h.to_sock, sock) < 0) {
            handler_kill(&h);
            return;
        }
    }
    /* Clean up whatever the command left behind in its session. */
    kill(-h.pid, SIGKILL);
    unsigned char st[2];
    if (WIFSIGNALED(h.status)) {
        st[0] = 1;
        st[1] = (unsigned char)WTERMSIG(h.status);
    } else {
        st[0] = 0;
        st[1] = (unsigned char)WEXITSTATUS(h.status);
    }
    buf_frame(&h.to_sock, 'S', st, 2);
    set_nonblock(sock, 0);
    write_all(sock, h.to_sock.p + h.to_sock.off, buf_used(&h.to_sock));
    shutdown(sock, SHUT_WR);
    /* wait briefly for the caller to close, so the status is not lost in a reset */
    struct pollfd pw = {.fd = sock, .events = POLLIN};
    for (int i = 0; i < 50 && poll(&pw, 1, 100) > 0; i++)
        if (read(sock, chunk, sizeof(chunk)) <= 0)
            break;
}

static void handle_connection(int sock, const char *token)
{
    unsigned char *d;
    size_t n;
    alarm(60); /* the whole request must arrive within a minute */
    int t = recv_frame(sock, &d, &n);
    if (t != 'A' || !token_equal(d, n, token)) {
        if (t >= 0)
            free(d);
        return;
    }
    free(d);
    char *cwd = NULL;
    size_t nenv = 0, nargv = 0;
    char **env = calloc(1, sizeof(char *)), **argv = calloc(1, sizeof(char *));
    for (;;) {
        t = recv_frame(sock, &d, &n);
        if (t < 0)
            return;
        switch (t) {
        case 'P':
            send_frame(sock, 'p', NULL, 0);
            return;
        case 'Q':
            send_frame(sock, 'q', NULL, 0);
            kill(getppid(), SIGTERM);
            return;
        case 'C':
            free(cwd);
            cwd = (char *)d;
            continue;
        case 'E':
            env = realloc(env, (nenv + 2) * sizeof(char *));
            env[nenv++] = (char *)d;
            env[nenv] = NULL;
            continue;
        case 'R':
            argv = realloc(argv, (nargv + 2) * sizeof(char *));
            argv[nargv++] = (char *)d;
            argv[nargv] = NULL;
            continue;
        case 'X':
            alarm(0);
            if (!nargv || !cwd) {
                fail_frame(sock, EXIT_CHANNEL, "agent: request without command or directory");
                return;
            }
            run_command(sock, n ? d[0] : 0, cwd, env, argv);
            return;
        default:
            free(d);
            return;
        }
    }
}

static volatile sig_atomic_t want_poweroff;

static void on_term(int sig)
{
    (void)sig;
    want_poweroff = 1;
}

static void power_off(const char *why)
{
    printf("kvm-agent: powering off: %s\n", why);
    fflush(stdout);
    sync();
    if (getpid() == 1)
        reboot(RB_POWER_OFF);
    exit(0);
}

/*
 * KVM flips static keys (runtime code patching in the kernel) when the first
 * VM is created and the last one destroyed (preempt notifiers), when vCPUs
 * without an in-kernel local APIC come and go, and when local APICs start
 * hardware- or software-disabled. The KVM host runs on multi-threaded TCG,
 * where such live patching has crashed its kernel now and then ("Fatal
 * exception in interrupt" with RIP inside a patched jump). Keeping one VM
 * with an irqchip and an unused vCPU, and one VM with a vCPU without one,
 * holds every one of those keys enabled, so test VMs do not patch anything.
 */
static void pin_kvm_static_keys(void)
{
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        printf("kvm-agent: warning: /dev/kvm: %s\n", strerror(errno));
        return;
    }
    for (int irqchip = 1; irqchip >= 0; irqchip--) {
        int vm = ioctl(kvm, KVM_CREATE_VM, 0);
        if (vm < 0 || (irqchip && ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) ||
            ioctl(vm, KVM_CREATE_VCPU, 0) < 0) {
            printf("kvm-agent: warning: cannot create the idle VM%s: %s\n",
                   irqchip ? " with an irqchip" : "", strerror(errno));
            return;
        }
        fcntl(vm, F_SETFD, FD_CLOEXEC);
    }
    /* the vCPU fds were created with O_CLOEXEC by KVM; all stay open for good */
}

/*
 * Makes the mount at root the root of the system, as switch_root does: moves
 * it onto / and chroots into it there. A plain chroot(root) would leave every
 * command chrooted in the kernel's eyes, and the kernel refuses a chrooted
 * process a user namespace (passt's sandbox needs one). pivot_root cannot be
 * used: the initramfs (rootfs) it would have to pivot away is not allowed.
 */
static int enter_root(const char *root)
{
    if (chdir(root) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
        chdir("/") < 0)
        return -1;
    return 0;
}

static int cmd_serve(int port, const char *tokfile, const char *root, int idle, int pin)
{
    const char *token = read_token(tokfile);
    if (pin)
        pin_kvm_static_keys();
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0)
        die(1, "socket: %s", strerror(errno));
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 64) < 0)
        die(1, "bind/listen on port %d: %s", port, strerror(errno));
    if (root && enter_root(root) < 0)
        die(1, "cannot make %s the root: %s", root, strerror(errno));

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa_term;
    memset(&sa_term, 0, sizeof(sa_term));
    sa_term.sa_handler = on_term;
    sigaction(SIGTERM, &sa_term, NULL);
    make_sig_pipe();
    catch_signal(SIGCHLD);

    printf("kvm-agent: ready on port %d\n", port);
    fflush(stdout);

    pid_t handlers[256];
    int nh = 0;
    int64_t last = now_ms();
    for (;;) {
        struct pollfd p[2] = {{.fd = ls, .events = POLLIN}, {.fd = sig_pipe[0], .events = POLLIN}};
        int r = poll(p, 2, 1000);
        if (p[1].revents) {
            unsigned char junk[64];
            while (read(sig_pipe[0], junk, sizeof(junk)) > 0) {
            }
        }
        pid_t w;
        while ((w = waitpid(-1, NULL, WNOHANG)) > 0)
            for (int i = 0; i < nh; i++)
                if (handlers[i] == w) {
                    handlers[i] = handlers[--nh];
                    break;
                }
        if (want_poweroff)
            power_off("requested");
        if (nh)
            last = now_ms();
        if (r > 0 && (p[0].revents & POLLIN)) {
            int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
            if (c < 0)
                continue;
            if (nh == (int)(sizeof(handlers) / sizeof(handlers[0]))) {
                close(c);
                continue;
            }
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            pid_t pid = fork();
            if (pid == 0) {
                close(ls);
                signal(SIGTERM, SIG_DFL);
                /* a pipe of its own, so the main loop does not eat this one's SIGCHLD wakeups */
                close(sig_pipe[0]);
                close(sig_pipe[1]);
                make_sig_pipe();
                handle_connection(c, token);
                _exit(0);
            }
            close(c);
            if (pid > 0)
                handlers[nh++] = pid;
            last = now_ms();
        }
        if (idle > 0 && !nh && now_ms() - last >= (int64_t)idle * 1000) {
            char why[64];
            snprintf(why, sizeof(why), "idle for %d s", idle);
            power_off(why);
        }
    }
}

/* --------------------------------------------------------------- client */

static int connect_agent(const char *addr, int port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        close(s);
        errno = EINVAL;
        return -1;
    }
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(s);
        errno = e;
        return -1;
    }
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return s;
}

/* Waits up to ms for one frame of the given type; returns 0 if it came. */
static int expect_frame(int s, int type, int ms)
{
    struct pollfd p = {.fd = s, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
        return -1;
    unsigned char *d;
    size_t n;
    int t = recv_frame(s, &d, &n);
    if (t < 0)
        return -1;
    free(d);
    return t == type ? 0 : -1;
}

static int cmd_simple(const char *addr, int port, const char *tokfile, int req, int reply, int ms)
{
    const char *token = read_token(tokfile);
    signal(SIGPIPE, SIG_IGN);
    int s = connect_agent(addr, port);
    if (s < 0)
        return 1;
    if (send_frame(s, 'A', token, strlen(token)) < 0 || send_frame(s, req, NULL, 0) < 0)
        return 1;
    return expect_frame(s, reply, ms) == 0 ? 0 : 1;
}

struct client {
    int sock;
    int out_broken;
    int have_status, code;
    struct buf to_sock, from_sock;
};

static int client_frame(void *ctx, int type, unsigned char *d, size_t n)
{
    struct client *c = ctx;
    switch (type) {
    case '1':
        if (!c->out_broken && write_all(1, d, n) < 0) {
            /* our stdout is gone (e.g. "| head"): the command gets SIGPIPE, as it would here */
            c->out_broken = 1;
            unsigned char sig = SIGPIPE;
            buf_frame(&c->to_sock, 'K', &sig, 1);
        }
        return 0;
    case '2':
        (void)write_all(2, d, n);
        return 0;
    case 'S':
        if (n != 2)
            return -1;
        c->have_status = 1;
        c->code = d[0] ? 128 + d[1] : d[1];
        return 0;
    case 'F': {
        if (n < 1)
            return -1;
        fprintf(stderr, "with-kvm: %.*s\n", (int)(n - 1), (const char *)d + 1);
        c->have_status = 1;
        c->code = d[0];
        return 0;
    }
    default:
        return -1;
    }
}

static int cmd_run(const char *addr, int port, const char *tokfile, unsigned timeout,
                   int pass_stdin, char **argv)
{
    const char *token = read_token(tokfile);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTTIN, SIG_IGN);
    make_sig_pipe();
    int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
        catch_signal(fwd[i]);

    int s = connect_agent(addr, port);
    if (s < 0)
        die(EXIT_CHANNEL, "cannot connect to the KVM host agent at %s:%d: %s", addr, port,
            strerror(errno));
    char *cwd = getcwd(NULL, 0);
    if (!cwd)
        die(EXIT_CHANNEL, "getcwd: %s", strerror(errno));

    struct client c;
    memset(&c, 0, sizeof(c));
    c.sock = s;
    buf_frame(&c.to_sock, 'A', token, strlen(token));
    buf_frame(&c.to_sock, 'C', cwd, strlen(cwd));
    /* WITH_KVM_SESSION names a session out here; inside it means nothing */
    for (char **e = environ; *e; e++)
        if (strlen(*e) < FRAME_MAX && strncmp(*e, "WITH_KVM_SESSION=", 17) != 0)
            buf_frame(&c.to_sock, 'E', *e, strlen(*e));
    for (char **a = argv; *a; a++)
        buf_frame(&c.to_sock, 'R', *a, strlen(*a));
    unsigned char flags = pass_stdin ? 1 : 0;
    buf_frame(&c.to_sock, 'X', &flags, 1);
    if (write_all(s, c.to_sock.p, c.to_sock.len) < 0)
        die(EXIT_CHANNEL, "sending the command to the KVM host agent: %s", strerror(errno));
    c.to_sock.off = c.to_sock.len = 0;
    set_nonblock(s, 1);

    int stdin_open = pass_stdin;
    int64_t deadline = timeout ? now_ms() + (int64_t)timeout * 1000 : 0;
    static unsigned char chunk[CHUNK];
    while (!c.have_status) {
        struct pollfd p[3];
        int np = 0, iin = -1;
        p[np++] = (struct pollfd){.fd = s, .events = POLLIN | (buf_used(&c.to_sock) ? POLLOUT : 0)};
        p[np++] = (struct pollfd){.fd = sig_pipe[0], .events = POLLIN};
        if (stdin_open && buf_used(&c.to_sock) < HIGH_WATER) {
            iin = np;
            p[np++] = (struct pollfd){.fd = 0, .events = POLLIN};
        }
        int wait = -1;
        if (deadline) {
            int64_t left = deadline - now_ms();
            if (left <= 0) {
                fprintf(stderr,
                        "with-kvm: timeout: the command did not finish within %u s; killed\n",
                        timeout);
                unsigned char sig = SIGKILL;
                send_frame(s, 'K', &sig, 1);
                return EXIT_TIMEOUT;
            }
            wait = left > 1000 ? 1000 : (int)left;
        }
        if (poll(p, (nfds_t)np, wait) < 0) {
            if (errno == EINTR)
                continue;
            die(EXIT_CHANNEL, "poll: %s", strerror(errno));
        }
        if (p[1].revents) {
            unsigned char sigs[64];
            ssize_t n;
            while ((n = read(sig_pipe[0], sigs, sizeof(sigs))) > 0)
                for (ssize_t i = 0; i < n; i++)
                    buf_frame(&c.to_sock, 'K', &sigs[i], 1);
        }
        if (iin >= 0 && p[iin].revents) {
            ssize_t n = read(0, chunk, sizeof(chunk));
            if (n > 0)
                buf_frame(&c.to_sock, 'I', chunk, (size_t)n);
            else if (n == 0 || (errno != EAGAIN && errno != EINTR) || (p[iin].revents & POLLNVAL)) {
                buf_frame(&c.to_sock, 'i', NULL, 0);
                stdin_open = 0;
            }
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(s, chunk, sizeof(chunk));
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                die(EXIT_CHANNEL, "lost the connection to the KVM host agent%s%s",
                    n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
            if (n > 0) {
                buf_put(&c.from_sock, chunk, (size_t)n);
                if (parse_frames(&c.from_sock, client_frame, &c) < 0)
                    die(EXIT_CHANNEL, "protocol error from the KVM host agent");
            }
        }
        if (buf_used(&c.to_sock) && buf_flush(&c.to_sock, s) < 0 && !c.have_status)
            die(EXIT_CHANNEL, "lost the connection to the KVM host agent: %s", strerror(errno));
    }
    return c.code;
}

/* ------------------------------------------------------------------ hmp */

/* Reads from s until the "(qemu) " prompt or EOF, appending to out. */
static int hmp_read_prompt(int s, struct buf *out, int ms)
{
    static const char prompt[] = "(qemu) ";
    int64_t end = now_ms() + ms;
    for (;;) {
        if (buf_used(out) >= 7 && !memcmp(out->p + out->len - 7, prompt, 7))
            return 0;
        int64_t left = end - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            return -1;
        char tmp[4096];
        ssize_t n = read(s, tmp, sizeof(tmp));
        if (n <= 0)
            return 1;
        buf_put(out, tmp, (size_t)n);
    }
}

static int cmd_hmp(const char *path, const char *command)
{
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        die(1, "monitor socket path too long: %s", path);
    strcpy(sa.sun_path, path);
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die(1, "cannot connect to QEMU monitor %s: %s", path, strerror(errno));
    signal(SIGPIPE, SIG_IGN);
    struct buf out = {0};
    if (hmp_read_prompt(s, &out, 10000) != 0)
        die(1, "no prompt from QEMU monitor %s", path);
    out.off = out.len = 0;
    if (write_all(s, command, strlen(command)) < 0 || write_all(s, "\n", 1) < 0)
        die(1, "writing to QEMU monitor: %s", strerror(errno));
    int r = hmp_read_prompt(s, &out, 10000);
    if (r < 0)
        die(1, "no answer from QEMU monitor to \"%s\"", command);
    fwrite(out.p + out.off, 1, buf_used(&out), stdout);
    return 0;
}

/* ----------------------------------------------------------------- main */

static void usage(void)
{
    fprintf(
        stderr,
        "usage: kvm-agent serve -p PORT -k TOKENFILE [-r ROOT] [-i IDLE_SECONDS] [-K]\n"
        "       kvm-agent run -p PORT -k TOKENFILE [-a ADDR] [-t SECONDS] [-n] -- CMD [ARG...]\n"
        "       kvm-agent ping|poweroff -p PORT -k TOKENFILE [-a ADDR]\n"
        "       kvm-agent hmp SOCKET COMMAND\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *cmd = argv[1];
    if (!strcmp(cmd, "hmp")) {
        if (argc != 4)
            usage();
        return cmd_hmp(argv[2], argv[3]);
    }
    int port = 0, idle = 0, pass_stdin = 1, pin = 0, opt;
    unsigned timeout = 0;
    const char *tokfile = NULL, *root = NULL, *addr = "127.0.0.1";
    optind = 2;
    while ((opt = getopt(argc, argv, "+p:k:r:i:a:t:nK")) != -1) {
        switch (opt) {
        case 'p':
            port = atoi(optarg);
            break;
        case 'k':
            tokfile = optarg;
            break;
        case 'r':
            root = optarg;
            break;
        case 'i':
            idle = atoi(optarg);
            break;
        case 'a':
            addr = optarg;
            break;
        case 't':
            timeout = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'n':
            pass_stdin = 0;
            break;
        case 'K':
            pin = 1;
            break;
        default:
            usage();
        }
    }
    if (port <= 0 || port > 65535 || !tokfile)
        usage();
    if (!strcmp(cmd, "serve")) {
        prog = "kvm-agent";
        return cmd_serve(port, tokfile, root, idle, pin);
    }
    prog = "with-kvm";
    if (!strcmp(cmd, "ping"))
        return cmd_simple(addr, port, tokfile, 'P', 'p', 2000);
    if (!strcmp(cmd, "poweroff"))
        return cmd_simple(addr, port, tokfile, 'Q', 'q', 5000);
    if (!strcmp(cmd, "run")) {
        if (optind >= argc)
            usage();
        return cmd_run(addr, port, tokfile, timeout, pass_stdin, argv + optind);
    }
    usage();
}
