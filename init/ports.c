/* SPDX-License-Identifier: Apache-2.0 */
#include "ports.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "readfile.h"

#define PORTS_DIR "/sys/class/virtio-ports"

static const char *const role_names[PORT_ROLES] = {
    KRUN_PORT_STDIN, KRUN_PORT_STDOUT, KRUN_PORT_STDERR, KRUN_PORT_SIGNAL, KRUN_PORT_EXIT};

void ports_init(struct ports *p)
{
    p->in = p->out = p->err = p->sig = p->exit = -1;
}

static const char *digits(const char *s)
{
    if (*s < '0' || *s > '9')
        return NULL;
    while (*s >= '0' && *s <= '9')
        s++;
    return s;
}

bool ports_entry_valid(const char *name)
{
    if (strncmp(name, "vport", 5) != 0)
        return false;
    const char *s = digits(name + 5);
    if (!s || *s != 'p')
        return false;
    s = digits(s + 1);
    return s && *s == '\0';
}

int ports_role(const char *name)
{
    size_t len = strlen(name);
    if (len > 0 && name[len - 1] == '\n')
        len--;
    for (int i = 0; i < PORT_ROLES; i++)
        if (strlen(role_names[i]) == len && memcmp(name, role_names[i], len) == 0)
            return i;
    return -1;
}

bool ports_signal_allowed(int sig)
{
    return sig == SIGHUP || sig == SIGINT || sig == SIGQUIT || sig == SIGTERM || sig == SIGUSR1 ||
           sig == SIGUSR2;
}

int ports_open(struct ports *p)
{
    /* Non-blocking where the init itself reads or writes: a port whose
     * host side is closed must not stall PID 1. */
    static const int flags[PORT_ROLES] = {O_RDONLY, O_WRONLY, O_WRONLY, O_RDONLY | O_NONBLOCK,
                                          O_WRONLY | O_NONBLOCK};
    int *slot[PORT_ROLES] = {&p->in, &p->out, &p->err, &p->sig, &p->exit};
    DIR *d = opendir(PORTS_DIR);
    int r = 0;
    if (!d)
        return 0; /* no multiport console: everything stays on hvc0 */
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        char path[320];
        char *name;
        size_t len;
        if (!ports_entry_valid(de->d_name) || strlen(de->d_name) > 64)
            continue;
        snprintf(path, sizeof(path), PORTS_DIR "/%s/name", de->d_name);
        if (read_file(path, 256, &name, &len) < 0)
            continue;
        int role = ports_role(name);
        free(name);
        if (role < 0)
            continue;
        if (*slot[role] >= 0) {
            init_log("two ports named %s; using the first", role_names[role]);
            continue;
        }
        snprintf(path, sizeof(path), "/dev/%s", de->d_name);
        *slot[role] = open(path, flags[role] | O_CLOEXEC | O_NOCTTY);
        if (*slot[role] < 0) {
            init_log("open %s (%s): %s", path, role_names[role], strerror(errno));
            /* Without krun-exit the status still goes by the ioctl. */
            if (role != PORT_EXIT)
                r = -1;
        }
    }
    closedir(d);
    return r;
}

int ports_write_exit(struct ports *p, int status)
{
    char buf[16];
    int len = snprintf(buf, sizeof(buf), "%d\n", status);
    int off = 0, waits = 0;
    if (p->exit < 0)
        return -1;
    while (off < len) {
        ssize_t n = write(p->exit, buf + off, (size_t)(len - off));
        if (n > 0) {
            off += (int)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        /* EAGAIN: the host side is not open yet or the queue is full. */
        struct pollfd pfd = {.fd = p->exit, .events = POLLOUT};
        if (n == 0 || errno != EAGAIN || ++waits > 20 || poll(&pfd, 1, 100) < 0)
            break;
    }
    if (off < len)
        init_log("cannot write the exit status to krun-exit: %s",
                 errno == EAGAIN ? "the host does not read" : strerror(errno));
    close(p->exit); /* the flush: see ports.h */
    p->exit = -1;
    return off == len ? 0 : -1;
}

void ports_close_outputs(struct ports *p)
{
    init_log_also_to(-1);
    if (p->out >= 0)
        close(p->out);
    if (p->err >= 0)
        close(p->err);
    p->out = p->err = -1;
}
