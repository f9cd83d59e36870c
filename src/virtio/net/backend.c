/* SPDX-License-Identifier: Apache-2.0 */
#include "virtio/net/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include "util/unix_addr.h"
#include "virtio/net/frame.h"

/* Datagram sockets get room for bursts of full frames, as a NIC ring would hold. */
#define DGRAM_SNDBUF (1 << 20)
#define DGRAM_RCVBUF (4 << 20)

/* Say what failed (printf-style) and why (strerror(e)); returns -e. */
__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int e,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < errlen)
        snprintf(err + n, errlen - (size_t)n, ": %s", strerror(e));
    return -e;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

/* Take a caller's socket: check its type, make it non-blocking. */
static int adopt_fd(struct net_backend *b, int fd, int type, char *err, size_t errlen)
{
    int t = 0;
    socklen_t tl = sizeof(t);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &tl) < 0) {
        int e = errno;
        snprintf(err, errlen, "fd %d: %s", fd, strerror(e));
        return -e == -ENOTSOCK ? -EINVAL : -e;
    }
    if (t != type) {
        snprintf(err, errlen, "fd %d is not a %s socket", fd,
                 type == SOCK_STREAM ? "stream" : "datagram");
        return -EINVAL;
    }
    int ret = set_nonblock(fd);
    if (ret) {
        snprintf(err, errlen, "fd %d: %s", fd, strerror(-ret));
        return ret;
    }
    b->fd = fd;
    return 0;
}

int net_backend_open_stream(struct net_backend *b, const char *path, int fd, char *err,
                            size_t errlen)
{
    memset(b, 0, sizeof(*b));
    b->kind = NET_BACKEND_STREAM;
    b->fd = -1;
    if (!path)
        return adopt_fd(b, fd, SOCK_STREAM, err, errlen);
    struct sockaddr_un a;
    if (unix_addr(&a, path) < 0)
        return fail(err, errlen, ENAMETOOLONG, "%s", path);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return fail(err, errlen, errno, "%s: socket", path);
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 || set_nonblock(s) < 0) {
        int e = errno;
        close(s);
        return fail(err, errlen, e, "%s", path);
    }
    b->fd = s;
    return 0;
}

int net_backend_open_dgram(struct net_backend *b, const char *path, int fd, bool vfkit,
                           unsigned index, char *err, size_t errlen)
{
    memset(b, 0, sizeof(*b));
    b->kind = NET_BACKEND_DGRAM;
    b->fd = -1;
    if (!path)
        return adopt_fd(b, fd, SOCK_DGRAM, err, errlen);
    struct sockaddr_un peer, self;
    if (unix_addr(&peer, path) < 0)
        return fail(err, errlen, ENAMETOOLONG, "%s", path);
    /* A short name of our own: the peer's path may be long (upstream's bug with >= 96 bytes). */
    const char *dir = getenv("TMPDIR");
    char name[sizeof(self.sun_path)];
    if (!dir || !*dir ||
        (size_t)snprintf(name, sizeof(name), "%s/krun-net-%d-%u.sock", dir, (int)getpid(), index) >=
            sizeof(name))
        snprintf(name, sizeof(name), "/tmp/krun-net-%d-%u.sock", (int)getpid(), index);
    unix_addr(&self, name);
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0)
        return fail(err, errlen, errno, "%s: socket", path);
    int snd = DGRAM_SNDBUF, rcv = DGRAM_RCVBUF;
    setsockopt(s, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    unlink(name); /* a stale socket of an earlier process with our pid */
    if (bind(s, (struct sockaddr *)&self, sizeof(self)) < 0) {
        int e = errno;
        close(s);
        return fail(err, errlen, e, "%s", name);
    }
    b->bound_path = strdup(name);
    b->fd = s;
    if (!b->bound_path) {
        net_backend_close(b);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (connect(s, (struct sockaddr *)&peer, sizeof(peer)) < 0) {
        int e = errno;
        net_backend_close(b);
        return fail(err, errlen, e, "%s", path);
    }
    if (vfkit && send(s, "VFKT", 4, 0) != 4) {
        int e = errno;
        net_backend_close(b);
        return fail(err, errlen, e, "%s: the vfkit greeting", path);
    }
    return 0;
}

int net_backend_open_tap(struct net_backend *b, const char *name, char *err, size_t errlen)
{
    memset(b, 0, sizeof(*b));
    b->kind = NET_BACKEND_TAP;
    b->fd = -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    if (!*name || strlen(name) >= IFNAMSIZ) {
        snprintf(err, errlen, "tap name '%s': empty or longer than %d bytes", name, IFNAMSIZ - 1);
        return -EINVAL;
    }
    strcpy(ifr.ifr_name, name);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return fail(err, errlen, errno, "%s", "/dev/net/tun");
    int hdr = NET_HDR_LEN;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        return fail(err, errlen, e, "tap %s", name);
    }
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
        int e = errno;
        close(fd);
        return fail(err, errlen, e, "tap %s: TUNSETVNETHDRSZ", name);
    }
    b->fd = fd;
    return 0;
}

int net_backend_set_offloads(const struct net_backend *b, uint64_t acked)
{
    if (b->kind != NET_BACKEND_TAP)
        return 0;
    unsigned long off = 0;
    if (acked & (1ull << VIRTIO_NET_F_GUEST_CSUM)) {
        off |= TUN_F_CSUM;
        if (acked & (1ull << VIRTIO_NET_F_GUEST_TSO4))
            off |= TUN_F_TSO4;
        if (acked & (1ull << VIRTIO_NET_F_GUEST_TSO6))
            off |= TUN_F_TSO6;
        if (acked & (1ull << VIRTIO_NET_F_GUEST_UFO))
            off |= TUN_F_UFO;
    }
    return ioctl(b->fd, TUNSETOFFLOAD, off) < 0 ? -errno : 0;
}

void net_backend_close(struct net_backend *b)
{
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
    if (b->bound_path)
        unlink(b->bound_path);
    free(b->bound_path);
    b->bound_path = NULL;
}
