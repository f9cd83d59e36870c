/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The call sequence of upstream libkrun's examples/consoles.c, in our own
 * program: a multiport virtio console with three TTY ports and one port on
 * a pair of FIFOs.
 *
 *   example-consoles OUTDIR ROOT_DIR COMMAND [ARGS...]
 *
 * The calls, in upstream's order and with its arguments: krun_init_log
 * (default target, WARN, AUTO), krun_create_ctx,
 * krun_add_virtio_console_multiport, krun_add_console_port_tty for
 * "console-1".."console-3", krun_add_console_port_inout "fifo_inout" (input
 * a FIFO opened O_RDONLY|O_NONBLOCK that nobody writes, output a FIFO
 * opened O_RDWR|O_NONBLOCK), krun_set_vm_config (4 vCPUs, 4096 MiB),
 * krun_set_root, krun_set_exec (no environment), krun_start_enter.
 *
 * Upstream's TTYs are tmux panes; ours are pseudo-terminals whose master
 * sides a collector process copies into OUTDIR/console-N, as it copies
 * the output FIFO into OUTDIR/fifo_inout. It writes OUTDIR/done when every
 * port's host side has closed, i.e. after the VM has ended.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libkrun.h"

#define N_TTYS 3

static void must(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "example-consoles: %s: %s\n", what, strerror(-rc));
        exit(1);
    }
}

static void die_errno(const char *what)
{
    fprintf(stderr, "example-consoles: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* A pseudo-terminal: its master in *master, its slave (what the VM gets) returned. */
static int open_pty(int *master)
{
    *master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (*master < 0 || grantpt(*master) < 0 || unlockpt(*master) < 0)
        die_errno("posix_openpt");
    const char *name = ptsname(*master);
    int slave = name ? open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
    if (slave < 0)
        die_errno("open pty slave");
    return slave;
}

static int open_out(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die_errno(path);
    return fd;
}

/* Copy each source to its file until every source has hung up; then OUTDIR/done. */
static void collect(const char *dir, const int *src, const char *const *names, int n)
{
    struct pollfd pfd[N_TTYS + 1];
    int dst[N_TTYS + 1];
    for (int i = 0; i < n; i++) {
        pfd[i] = (struct pollfd){.fd = src[i], .events = POLLIN};
        dst[i] = open_out(dir, names[i]);
    }
    int open_sources = n;
    char buf[4096];
    while (open_sources > 0) {
        if (poll(pfd, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            die_errno("poll");
        }
        for (int i = 0; i < n; i++) {
            if (pfd[i].fd < 0 || !pfd[i].revents)
                continue;
            ssize_t got = read(pfd[i].fd, buf, sizeof(buf));
            if (got > 0) {
                if (write(dst[i], buf, (size_t)got) != got)
                    die_errno("write");
                continue;
            }
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            /* EOF, or EIO on a pty master once no slave is open: the VM is gone. */
            close(pfd[i].fd);
            pfd[i].fd = -1;
            open_sources--;
        }
    }
    for (int i = 0; i < n; i++)
        close(dst[i]);
    close(open_out(dir, "done"));
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s OUTDIR ROOT_DIR COMMAND [ARGS...]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    const char *root = argv[2];
    const char *command = argv[3];
    const char *const *args = argc > 4 ? (const char *const *)&argv[4] : NULL;
    static const char *const env[] = {NULL};
    static const char *const names[] = {"console-1", "console-2", "console-3", "fifo_inout"};

    int masters[N_TTYS], slaves[N_TTYS];
    for (int i = 0; i < N_TTYS; i++)
        slaves[i] = open_pty(&masters[i]);
    char fifo_in[4096], fifo_out[4096];
    snprintf(fifo_in, sizeof(fifo_in), "%s/in", dir);
    snprintf(fifo_out, sizeof(fifo_out), "%s/out", dir);
    if ((mkfifo(fifo_in, 0600) < 0 && errno != EEXIST) ||
        (mkfifo(fifo_out, 0600) < 0 && errno != EEXIST))
        die_errno("mkfifo");
    int in_fd = open(fifo_in, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    int out_fd = open(fifo_out, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    int out_reader = open(fifo_out, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (in_fd < 0 || out_fd < 0 || out_reader < 0)
        die_errno("open fifo");

    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork");
    if (pid == 0) {
        /* The collector holds no end the VM writes to, so it sees the VM's end. */
        for (int i = 0; i < N_TTYS; i++)
            close(slaves[i]);
        close(in_fd);
        close(out_fd);
        int src[N_TTYS + 1] = {masters[0], masters[1], masters[2], out_reader};
        collect(dir, src, names, N_TTYS + 1);
        _exit(0);
    }
    for (int i = 0; i < N_TTYS; i++)
        close(masters[i]);
    close(out_reader);

    must(krun_init_log(KRUN_LOG_TARGET_DEFAULT, KRUN_LOG_LEVEL_WARN, KRUN_LOG_STYLE_AUTO, 0),
         "krun_init_log");
    int ctx = krun_create_ctx();
    must(ctx, "krun_create_ctx");
    int console = krun_add_virtio_console_multiport((uint32_t)ctx);
    must(console, "krun_add_virtio_console_multiport");
    for (int i = 0; i < N_TTYS; i++)
        must(krun_add_console_port_tty((uint32_t)ctx, (uint32_t)console, names[i], slaves[i]),
             "krun_add_console_port_tty");
    must(
        krun_add_console_port_inout((uint32_t)ctx, (uint32_t)console, names[N_TTYS], in_fd, out_fd),
        "krun_add_console_port_inout");
    must(krun_set_vm_config((uint32_t)ctx, 4, 4096), "krun_set_vm_config");
    must(krun_set_root((uint32_t)ctx, root), "krun_set_root");
    must(krun_set_exec((uint32_t)ctx, command, args, env), "krun_set_exec");
    must(krun_start_enter((uint32_t)ctx), "krun_start_enter");
    return 1;
}
