/* SPDX-License-Identifier: Apache-2.0 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "status.h"

extern char **environ;

static int setup_failed(struct child_report *rep, const char *what, const char *arg)
{
    rep->stage = CHILD_SETUP;
    rep->err = errno;
    init_log("%s%s%s: %s", what, arg ? " " : "", arg ? arg : "", strerror(rep->err));
    return -1;
}

static int redirect(int from, int to, struct child_report *rep)
{
    if (from < 0 || from == to)
        return 0;
    return dup2(from, to) < 0 ? setup_failed(rep, "redirect stdio", NULL) : 0;
}

/* Everything between fork and execve. Privileges go last: raising a hard
 * limit needs root, and the directory is entered as root too, so that a
 * workdir only root may search still works (upstream runs everything as
 * root). Returns only on failure, with rep filled. */
static void become_workload(const struct run_ctx *ctx, int own_group, struct child_report *rep)
{
    const struct plan *plan = ctx->plan;
    const struct ports *ports = ctx->ports;

    if (own_group) {
        setpgid(0, 0);
        /* A background group may only take the terminal with SIGTTOU
         * ignored; the parent does the same, whoever comes first. */
        signal(SIGTTOU, SIG_IGN);
        if (ctx->tty >= 0)
            tcsetpgrp(ctx->tty, getpid());
        signal(SIGTTOU, SIG_DFL);
    }
    if (redirect(ports->in, 0, rep) < 0 || redirect(ports->out, 1, rep) < 0 ||
        redirect(ports->err, 2, rep) < 0)
        return;
    init_log_also_to(-1); /* fd 2 is the workload's stderr now */

    for (size_t i = 0; i < plan->rlimits.n; i++) {
        const struct rlimit_spec *r = &plan->rlimits.v[i];
        struct rlimit rl = {.rlim_cur = (rlim_t)r->cur, .rlim_max = (rlim_t)r->max};
        if (setrlimit(r->resource, &rl) < 0)
            init_log("setrlimit %d=%llu:%llu: %s", r->resource, (unsigned long long)r->cur,
                     (unsigned long long)r->max, strerror(errno));
    }
    if (plan->have_umask)
        umask((mode_t)(plan->umask & 0777));
    if (plan->workdir && chdir(plan->workdir) < 0) {
        setup_failed(rep, "chdir", plan->workdir);
        return;
    }
    const struct creds *c = ctx->creds;
    if (c->set) {
        if (setgroups(c->n_groups, c->groups) < 0) {
            setup_failed(rep, "setgroups", NULL);
            return;
        }
        if (setgid(c->gid) < 0) {
            setup_failed(rep, "setgid", NULL);
            return;
        }
        if (setuid(c->uid) < 0) {
            setup_failed(rep, "setuid", NULL);
            return;
        }
    }
    /* execvp searches the PATH of the current environment: the workload's. */
    environ = plan->envp.v;
    execvp(plan->argv.v[0], plan->argv.v);
    rep->stage = CHILD_EXEC;
    rep->err = errno;
    init_log("cannot execute %s: %s", plan->argv.v[0], strerror(rep->err));
}

int run_in_place(const struct run_ctx *ctx)
{
    struct child_report rep = {0, 0};
    become_workload(ctx, 0, &rep);
    return status_of_child(&rep, 0);
}

static void write_report(int fd, const struct child_report *rep)
{
    ssize_t r;
    do
        r = write(fd, rep, sizeof(*rep));
    while (r < 0 && errno == EINTR);
}

/* EOF: the exec succeeded (the pipe closed on exec); a report: it failed. */
static int read_report(int fd, struct child_report *rep)
{
    size_t got = 0;
    while (got < sizeof(*rep)) {
        ssize_t r = read(fd, (char *)rep + got, sizeof(*rep) - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got == sizeof(*rep);
}

static void forward_signals(int port, int pgid, int *open)
{
    unsigned char buf[64];
    ssize_t n = read(port, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        /* The host closed its side: stop polling a port that stays
         * readable at EOF. */
        *open = 0;
        return;
    }
    for (ssize_t i = 0; i < n; i++)
        if (ports_signal_allowed(buf[i]))
            kill(-pgid, buf[i]);
}

/* Reap every child (orphans get re-parented to PID 1) until the workload
 * itself has exited; returns its wait status. */
static int supervise(pid_t child, int sfd, int sig_port)
{
    struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN}, {.fd = sig_port, .events = POLLIN}};
    int port_open = sig_port >= 0;
    for (;;) {
        int st;
        pid_t w;
        while ((w = waitpid(-1, &st, WNOHANG)) > 0)
            if (w == child)
                return st;
        if (w < 0 && errno == ECHILD)
            return KRUN_STATUS_INIT_FAILED << 8; /* cannot happen: it is ours until reaped */
        if (poll(pfd, port_open ? 2 : 1, -1) < 0)
            continue;
        if (pfd[0].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) > 0)
                ;
        }
        if (port_open && pfd[1].revents)
            forward_signals(sig_port, child, &port_open);
    }
}

int run_child(const struct run_ctx *ctx)
{
    sigset_t chld, old;
    int pipefd[2];
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    /* Blocked before the fork, so no SIGCHLD can be missed. */
    sigprocmask(SIG_BLOCK, &chld, &old);
    int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
        init_log("run: %s", strerror(errno));
        return KRUN_STATUS_INIT_FAILED;
    }
    pid_t pid = fork();
    if (pid < 0) {
        init_log("fork: %s", strerror(errno));
        return KRUN_STATUS_INIT_FAILED;
    }
    if (pid == 0) {
        struct child_report rep = {0, 0};
        close(pipefd[0]);
        sigprocmask(SIG_SETMASK, &old, NULL);
        become_workload(ctx, 1, &rep);
        write_report(pipefd[1], &rep);
        _exit(status_of_child(&rep, 0));
    }
    close(pipefd[1]);
    setpgid(pid, pid);
    if (ctx->tty >= 0) {
        /* Without SIG_IGN a background PID 1 would get EIO at best. */
        signal(SIGTTOU, SIG_IGN);
        tcsetpgrp(ctx->tty, pid);
        signal(SIGTTOU, SIG_DFL);
    }

    struct child_report rep;
    int failed = read_report(pipefd[0], &rep);
    close(pipefd[0]);
    int st = supervise(pid, sfd, ctx->ports->sig);
    close(sfd);
    return status_of_child(failed ? &rep : NULL, st);
}
