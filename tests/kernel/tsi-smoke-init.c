/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PID 1 for tests/kernel/tsi-smoke.sh: exercises the guest half of TSI
 * (kernel/patches 0003-0006) on a kernel booted with "tsi_hijack
 * tsi_hijack_unix" and without a virtio-vsock device, so everything that
 * needs the host must fail cleanly while everything inside the guest must
 * work as with ordinary sockets.
 *
 * Each check prints "TSI-TEST ok <name>" or "TSI-TEST FAIL <name>: why";
 * the last line is "TSI-SMOKE done: <n> passed, <m> failed" and init exits
 * with the number of failures.  A watchdog ends a check that hangs.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define AF_TSI  46
#define AF_TSI6 47
#define AF_TSIU 48

static int passed, failed;
static const char *current;

static void ok(void)
{
    printf("TSI-TEST ok %s\n", current);
    fflush(stdout);
    passed++;
}

static void fail(const char *fmt, ...)
{
    va_list ap;

    printf("TSI-TEST FAIL %s: ", current);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(" (errno %d %s)\n", errno, strerror(errno));
    fflush(stdout);
    failed++;
}

/* A check that hangs is a failure, not a stuck test run. */
static void watchdog(int sig)
{
    (void)sig;
    printf("TSI-TEST FAIL %s: hung (watchdog)\n", current);
    printf("TSI-SMOKE done: %d passed, %d failed\n", passed, failed + 1);
    fflush(stdout);
    _exit(100);
}

static void begin(const char *name, unsigned secs)
{
    current = name;
    alarm(secs);
}

static int sockopt_int(int fd, int level, int opt)
{
    int v = -1;
    socklen_t len = sizeof(v);

    if (getsockopt(fd, level, opt, &v, &len) < 0)
        return -1000 - errno;
    return v;
}

static int port_of(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return -1;
}

static socklen_t loopback(int family, int port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;

        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return sizeof(*sin);
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    sin6->sin6_addr = in6addr_loopback;
    return sizeof(*sin6);
}

static void setup(void)
{
    mkdir("/proc", 0755);
    mkdir("/sys", 0755);
    mkdir("/tmp", 01777);
    mount("proc", "/proc", "proc", 0, NULL);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    mount("tmpfs", "/tmp", "tmpfs", 0, NULL);

    /* Let root open ping sockets (checked as not hijacked). */
    FILE *f = fopen("/proc/sys/net/ipv4/ping_group_range", "w");
    if (f) {
        fputs("0 2147483647", f);
        fclose(f);
    }

    /* Bring lo up, through a (hijacked) AF_INET socket: ioctls reach the
     * inner socket.
     */
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        perror("SIOCGIFFLAGS lo");
    } else {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
            perror("SIOCSIFFLAGS lo");
    }
    close(fd);
    /* Let IPv6 put ::1 on lo. */
    usleep(200 * 1000);
}

static void test_params(void)
{
    const char *names[] = {"tsi_hijack", "tsi_hijack_unix"};

    for (int i = 0; i < 2; i++) {
        char path[128], buf[8] = "";
        FILE *f;

        begin(names[i], 5);
        snprintf(path, sizeof(path), "/sys/module/kernel/parameters/%s", names[i]);
        f = fopen(path, "r");
        if (!f) {
            fail("cannot open %s", path);
            continue;
        }
        if (!fgets(buf, sizeof(buf), f) || buf[0] != 'Y')
            fail("%s reads '%s', want Y", path, buf);
        else
            ok();
        fclose(f);
    }
}

static void test_domains(void)
{
    static const struct {
        const char *name;
        int family, type, protocol, want_domain, want_protocol;
    } cases[] = {
        {"domain inet stream", AF_INET, SOCK_STREAM, 0, AF_TSI, IPPROTO_TCP},
        {"domain inet stream tcp", AF_INET, SOCK_STREAM, IPPROTO_TCP, AF_TSI, IPPROTO_TCP},
        {"domain inet dgram", AF_INET, SOCK_DGRAM, 0, AF_TSI, IPPROTO_UDP},
        {"domain inet6 stream", AF_INET6, SOCK_STREAM, 0, AF_TSI6, IPPROTO_TCP},
        {"domain inet6 dgram", AF_INET6, SOCK_DGRAM, 0, AF_TSI6, IPPROTO_UDP},
        {"domain unix stream", AF_UNIX, SOCK_STREAM, 0, AF_TSIU, 0},
        {"domain unix dgram", AF_UNIX, SOCK_DGRAM, 0, AF_TSIU, 0},
        {"domain inet stream nonblock", AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
         AF_TSI, IPPROTO_TCP},
        /* Not hijacked: other types and protocols. */
        {"not hijacked unix seqpacket", AF_UNIX, SOCK_SEQPACKET, 0, AF_UNIX, 0},
        {"not hijacked inet raw", AF_INET, SOCK_RAW, IPPROTO_UDP, AF_INET, IPPROTO_UDP},
        {"not hijacked inet6 raw", AF_INET6, SOCK_RAW, IPPROTO_UDP, AF_INET6, IPPROTO_UDP},
        {"not hijacked inet ping", AF_INET, SOCK_DGRAM, IPPROTO_ICMP, AF_INET, IPPROTO_ICMP},
        {"not hijacked packet", AF_PACKET, SOCK_DGRAM, 0, AF_PACKET, 0},
        {"not hijacked netlink", AF_NETLINK, SOCK_DGRAM, 0, AF_NETLINK, 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int fd, dom, type, proto;

        begin(cases[i].name, 5);
        fd = socket(cases[i].family, cases[i].type, cases[i].protocol);
        if (fd < 0) {
            fail("socket");
            continue;
        }
        dom = sockopt_int(fd, SOL_SOCKET, SO_DOMAIN);
        type = sockopt_int(fd, SOL_SOCKET, SO_TYPE);
        proto = sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL);
        if (dom != cases[i].want_domain)
            fail("SO_DOMAIN %d, want %d", dom, cases[i].want_domain);
        else if (type != (cases[i].type & 0xf))
            fail("SO_TYPE %d, want %d", type, cases[i].type & 0xf);
        else if (proto != cases[i].want_protocol)
            fail("SO_PROTOCOL %d, want %d", proto, cases[i].want_protocol);
        else
            ok();
        close(fd);
    }
}

/* Toggle the parameter at run time. */
static void test_param_runtime(void)
{
    int fd, dom;
    FILE *f;

    begin("tsi_hijack=0 at run time", 5);
    f = fopen("/sys/module/kernel/parameters/tsi_hijack", "w");
    if (!f || fputs("0", f) < 0 || fclose(f) != 0) {
        fail("cannot write the parameter");
        return;
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    dom = sockopt_int(fd, SOL_SOCKET, SO_DOMAIN);
    close(fd);
    f = fopen("/sys/module/kernel/parameters/tsi_hijack", "w");
    if (f) {
        fputs("1", f);
        fclose(f);
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    int dom2 = sockopt_int(fd, SOL_SOCKET, SO_DOMAIN);
    close(fd);
    if (dom != AF_INET || dom2 != AF_TSI)
        fail("SO_DOMAIN %d with the parameter off, %d back on", dom, dom2);
    else
        ok();
}

static int xfer(int a, int b, const char *what)
{
    char buf[64];
    ssize_t n;

    if (send(a, what, strlen(what), 0) != (ssize_t)strlen(what))
        return -1;
    n = recv(b, buf, sizeof(buf) - 1, 0);
    if (n != (ssize_t)strlen(what))
        return -1;
    buf[n] = 0;
    return strcmp(buf, what) ? -1 : 0;
}

/* A guest-local TCP server, bound to port 0 (issue #818 setup). */
static void test_tcp_local(int family, int bind_first)
{
    struct sockaddr_storage addr, name, peer;
    socklen_t len, nlen = sizeof(name), plen = sizeof(peer);
    int ls, c, s, port;
    char title[96];

    snprintf(title, sizeof(title), "tcp %s %s", family == AF_INET ? "127.0.0.1" : "::1",
             bind_first ? "bind(0)+listen+getsockname+connect" : "listen without bind");
    begin(title, 10);

    ls = socket(family, SOCK_STREAM, 0);
    len = loopback(family, 0, &addr);
    if (bind_first && bind(ls, (struct sockaddr *)&addr, len) < 0) {
        fail("bind");
        goto out_ls;
    }
    if (listen(ls, 8) < 0) {
        fail("listen");
        goto out_ls;
    }
    if (getsockname(ls, (struct sockaddr *)&name, &nlen) < 0) {
        fail("getsockname");
        goto out_ls;
    }
    port = port_of(&name);
    if (port <= 0) {
        fail("getsockname reports port %d", port);
        goto out_ls;
    }
    if (sockopt_int(ls, SOL_SOCKET, SO_ACCEPTCONN) != 1) {
        fail("SO_ACCEPTCONN is not 1");
        goto out_ls;
    }

    c = socket(family, SOCK_STREAM, 0);
    len = loopback(family, port, &addr);
    if (connect(c, (struct sockaddr *)&addr, len) < 0) {
        fail("connect to the port getsockname reported (%d)", port);
        goto out_c;
    }
    s = accept(ls, NULL, NULL);
    if (s < 0) {
        fail("accept");
        goto out_c;
    }
    if (sockopt_int(s, SOL_SOCKET, SO_DOMAIN) != (family == AF_INET ? AF_TSI : AF_TSI6)) {
        fail("accepted socket SO_DOMAIN %d", sockopt_int(s, SOL_SOCKET, SO_DOMAIN));
        goto out_s;
    }
    if (getpeername(c, (struct sockaddr *)&peer, &plen) < 0 || port_of(&peer) != port) {
        fail("getpeername of the client: port %d", port_of(&peer));
        goto out_s;
    }
    if (xfer(c, s, "ping") || xfer(s, c, "pong")) {
        fail("data exchange");
        goto out_s;
    }
    int avail = -1;
    if (send(c, "xyz", 3, 0) != 3 || usleep(100000) || ioctl(s, FIONREAD, &avail) < 0 ||
        avail != 3) {
        fail("FIONREAD %d, want 3", avail);
        goto out_s;
    }
    ok();
out_s:
    close(s);
out_c:
    close(c);
out_ls:
    close(ls);
}

/* Socket options reach the inner socket: SO_RCVTIMEO makes recv time out. */
static void test_sockopts(void)
{
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
    struct sockaddr_storage addr;
    socklen_t len;
    char buf[8];
    int fd, one = 1;

    begin("SO_RCVTIMEO/SO_REUSEADDR/TCP_NODELAY reach the inner socket", 10);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    len = loopback(AF_INET, 0, &addr);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&addr, len) < 0) {
        fail("setsockopt/bind");
        close(fd);
        return;
    }
    errno = 0;
    if (recv(fd, buf, sizeof(buf), 0) != -1 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        fail("recv did not time out");
        close(fd);
        return;
    }
    if (sockopt_int(fd, SOL_SOCKET, SO_REUSEADDR) != 1) {
        fail("SO_REUSEADDR reads %d", sockopt_int(fd, SOL_SOCKET, SO_REUSEADDR));
        close(fd);
        return;
    }
    close(fd);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
        sockopt_int(fd, IPPROTO_TCP, TCP_NODELAY) != 1) {
        fail("TCP_NODELAY");
        close(fd);
        return;
    }
    close(fd);
    ok();
}

static void test_unix_pair(int type)
{
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    int sv[2];

    begin(type == SOCK_STREAM ? "unix socketpair stream" : "unix socketpair dgram", 5);
    if (socketpair(AF_UNIX, type, 0, sv) < 0) {
        fail("socketpair");
        return;
    }
    if (sockopt_int(sv[0], SOL_SOCKET, SO_DOMAIN) != AF_TSIU) {
        fail("SO_DOMAIN %d", sockopt_int(sv[0], SOL_SOCKET, SO_DOMAIN));
    } else if (xfer(sv[0], sv[1], "hello") || xfer(sv[1], sv[0], "world")) {
        fail("data exchange");
    } else if (type == SOCK_STREAM &&
               (getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
                cred.pid != getpid() || cred.uid != getuid())) {
        fail("SO_PEERCRED pid %d uid %d", (int)cred.pid, (int)cred.uid);
    } else {
        ok();
    }
    close(sv[0]);
    close(sv[1]);
}

static void test_unix_path(void)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    int ls, c, s;

    begin("unix stream on a path", 5);
    strcpy(sun.sun_path, "/tmp/tsi-stream.sock");
    ls = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(ls, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(ls, 4) < 0) {
        fail("bind/listen");
        close(ls);
        return;
    }
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        fail("connect");
        goto out_c;
    }
    s = accept(ls, NULL, NULL);
    if (s < 0) {
        fail("accept");
        goto out_c;
    }
    if (xfer(c, s, "abc") || xfer(s, c, "def"))
        fail("data exchange");
    else if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 || cred.pid != getpid())
        fail("SO_PEERCRED pid %d", (int)cred.pid);
    else
        ok();
    close(s);
out_c:
    close(c);
    close(ls);

    begin("unix dgram on paths", 5);
    struct sockaddr_un a = {.sun_family = AF_UNIX}, b = {.sun_family = AF_UNIX}, from;
    socklen_t flen = sizeof(from);
    char buf[16];
    int fa = socket(AF_UNIX, SOCK_DGRAM, 0), fb = socket(AF_UNIX, SOCK_DGRAM, 0);

    strcpy(a.sun_path, "/tmp/tsi-a.sock");
    strcpy(b.sun_path, "/tmp/tsi-b.sock");
    if (bind(fa, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        bind(fb, (struct sockaddr *)&b, sizeof(b)) < 0)
        fail("bind");
    else if (sendto(fb, "dg", 2, 0, (struct sockaddr *)&a, sizeof(a)) != 2)
        fail("sendto");
    else if (recvfrom(fa, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen) != 2 ||
             strcmp(from.sun_path, b.sun_path))
        fail("recvfrom: from '%s'", from.sun_path);
    else
        ok();
    close(fa);
    close(fb);
}

/* UDP between two guest sockets: sendto finds the bound guest socket (the
 * udp table lookup) and stays inside the guest.
 */
static void test_udp_local(int family, int use_connect)
{
    struct sockaddr_storage addr, name, from;
    socklen_t len, nlen = sizeof(name), flen = sizeof(from);
    char buf[32], title[96];
    int a, b;

    snprintf(title, sizeof(title), "udp %s between guest sockets (%s)",
             family == AF_INET ? "127.0.0.1" : "::1", use_connect ? "connect" : "sendto");
    begin(title, 5);
    a = socket(family, SOCK_DGRAM, 0);
    b = socket(family, SOCK_DGRAM, 0);
    len = loopback(family, 0, &addr);
    if (bind(a, (struct sockaddr *)&addr, len) < 0 ||
        getsockname(a, (struct sockaddr *)&name, &nlen) < 0) {
        fail("bind/getsockname");
        goto out;
    }
    if (use_connect) {
        if (connect(b, (struct sockaddr *)&name, nlen) < 0 || send(b, "udp1", 4, 0) != 4) {
            fail("connect/send");
            goto out;
        }
    } else if (sendto(b, "udp1", 4, 0, (struct sockaddr *)&name, nlen) != 4) {
        fail("sendto");
        goto out;
    }
    if (recvfrom(a, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen) != 4 ||
        memcmp(buf, "udp1", 4)) {
        fail("recvfrom");
        goto out;
    }
    if (sendto(a, "udp2", 4, 0, (struct sockaddr *)&from, flen) != 4) {
        fail("reply sendto");
        goto out;
    }
    if (recv(b, buf, sizeof(buf), 0) != 4 || memcmp(buf, "udp2", 4)) {
        fail("reply recv");
        goto out;
    }
    ok();
out:
    close(a);
    close(b);
}

/* epoll registered before the data arrives must see it. */
static void test_epoll(void)
{
    struct sockaddr_storage addr, name;
    socklen_t len, nlen = sizeof(name);
    struct epoll_event ev = {.events = EPOLLIN}, got;
    int ep, ls, c, n;

    begin("epoll on a listener sees the connection", 5);
    ep = epoll_create1(0);
    ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    len = loopback(AF_INET, 0, &addr);
    bind(ls, (struct sockaddr *)&addr, len);
    listen(ls, 4);
    getsockname(ls, (struct sockaddr *)&name, &nlen);
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    n = epoll_wait(ep, &got, 1, 0);
    if (n != 0) {
        fail("readable before any connection (%d)", n);
        goto out;
    }
    c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (connect(c, (struct sockaddr *)&name, nlen) < 0 && errno != EINPROGRESS) {
        fail("connect");
        close(c);
        goto out;
    }
    n = epoll_wait(ep, &got, 1, 2000);
    if (n != 1 || !(got.events & EPOLLIN)) {
        fail("epoll_wait returned %d", n);
    } else {
        int s = accept4(ls, NULL, NULL, SOCK_NONBLOCK);

        if (s < 0)
            fail("accept4");
        else
            ok();
        if (s >= 0)
            close(s);
        begin("non-blocking accept with nothing pending: EAGAIN", 5);
        errno = 0;
        s = accept(ls, NULL, NULL);
        if (s >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            fail("accept returned %d", s);
        else
            ok();
    }
    close(c);
out:
    close(ls);
    close(ep);
}

static void test_epoll_udp(void)
{
    struct sockaddr_storage addr, name;
    socklen_t len, nlen = sizeof(name);
    struct epoll_event ev = {.events = EPOLLIN}, got;
    int ep, a, b, n;

    begin("epoll on a udp socket sees a datagram", 5);
    ep = epoll_create1(0);
    a = socket(AF_INET6, SOCK_DGRAM, 0);
    b = socket(AF_INET6, SOCK_DGRAM, 0);
    len = loopback(AF_INET6, 0, &addr);
    bind(a, (struct sockaddr *)&addr, len);
    getsockname(a, (struct sockaddr *)&name, &nlen);
    epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev);
    sendto(b, "e", 1, 0, (struct sockaddr *)&name, nlen);
    n = epoll_wait(ep, &got, 1, 2000);
    if (n != 1)
        fail("epoll_wait returned %d", n);
    else
        ok();
    close(a);
    close(b);
    close(ep);
}

/* Issue #819: accept() blocked in one thread must not hold up
 * getsockname() (or shutdown()) in another.
 */
static void *accept_thread(void *arg)
{
    int ls = *(int *)arg;
    long fd = accept(ls, NULL, NULL);

    return (void *)(fd < 0 ? -(long)errno : fd);
}

static void test_accept_vs_getsockname(int family)
{
    struct sockaddr_storage addr, name;
    socklen_t len, nlen = sizeof(name);
    pthread_t th;
    void *res;
    int ls, c;
    char title[96];

    snprintf(title, sizeof(title), "%s getsockname while another thread waits in accept",
             family == AF_INET ? "tcp" : "tcp6");
    begin(title, 10);
    ls = socket(family, SOCK_STREAM, 0);
    len = loopback(family, 0, &addr);
    bind(ls, (struct sockaddr *)&addr, len);
    listen(ls, 4);
    pthread_create(&th, NULL, accept_thread, &ls);
    usleep(300 * 1000);
    for (int i = 0; i < 3; i++) {
        nlen = sizeof(name);
        if (getsockname(ls, (struct sockaddr *)&name, &nlen) < 0) {
            fail("getsockname");
            goto out;
        }
    }
    /* The waiting accept() gets the next connection. */
    c = socket(family, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&name, nlen) < 0) {
        fail("connect");
        close(c);
        goto out;
    }
    pthread_join(th, &res);
    close(c);
    if ((long)res < 0) {
        errno = -(long)res;
        fail("accept in the thread");
        goto out;
    }
    close((int)(long)res);

    /* And shutdown() wakes a waiting accept(). */
    pthread_create(&th, NULL, accept_thread, &ls);
    usleep(300 * 1000);
    shutdown(ls, SHUT_RDWR);
    pthread_join(th, &res);
    if ((long)res >= 0) {
        fail("accept after shutdown returned a socket");
        close((int)(long)res);
    } else {
        ok();
    }
out:
    close(ls);
}

/* Without a virtio-vsock device that offers datagrams, the host cannot be
 * reached: connect() and sendto() to a non-local address fail with EINVAL
 * at once, and listen() falls back to the guest.
 */
static void test_no_host(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(80)};
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(80)};
    struct timespec t0, t1;
    int fd, r;

    begin("connect to 192.0.2.1:80 without a host: EINVAL", 10);
    inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    errno = 0;
    r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (r == 0 || errno != EINVAL)
        fail("connect returned %d", r);
    else if (t1.tv_sec - t0.tv_sec > 2)
        fail("took %ld s", (long)(t1.tv_sec - t0.tv_sec));
    else
        ok();
    close(fd);

    begin("connect to [2001:db8::1]:80 without a host: EINVAL", 10);
    inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
    fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
    errno = 0;
    r = connect(fd, (struct sockaddr *)&sin6, sizeof(sin6));
    if (r == 0 || errno != EINVAL)
        fail("connect returned %d", r);
    else
        ok();
    close(fd);

    begin("udp sendto 192.0.2.1:53 without a host: EINVAL", 10);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    sin.sin_port = htons(53);
    errno = 0;
    r = sendto(fd, "q", 1, 0, (struct sockaddr *)&sin, sizeof(sin));
    if (r >= 0 || errno != EINVAL)
        fail("sendto returned %d", r);
    else
        ok();
    close(fd);

    begin("udp connect 192.0.2.1:53 without a host: EINVAL", 10);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    errno = 0;
    r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
    if (r == 0 || errno != EINVAL)
        fail("connect returned %d", r);
    else
        ok();
    close(fd);

    begin("unix connect to a missing absolute path without a host: EINVAL", 10);
    struct sockaddr_un sun = {.sun_family = AF_UNIX, .sun_path = "/tmp/not-there.sock"};
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    errno = 0;
    r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
    if (r == 0 || errno != EINVAL)
        fail("connect returned %d", r);
    else
        ok();
    close(fd);
}

/* AF_VSOCK datagram sockets exist (patch 0003) and refuse to send without
 * a device that offers them.
 */
static void test_vsock_dgram(void)
{
    struct sockaddr_vm addr = {
        .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = VMADDR_PORT_ANY};
    socklen_t len = sizeof(addr);
    int fd, r;

    begin("vsock dgram socket, bind to any port", 5);
    fd = socket(AF_VSOCK, SOCK_DGRAM, 0);
    if (fd < 0) {
        fail("socket");
        return;
    }
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0 || addr.svm_port == VMADDR_PORT_ANY)
        fail("bind/getsockname (port %u)", addr.svm_port);
    else
        ok();

    begin("vsock dgram sendto host without a device: EINVAL", 5);
    addr.svm_cid = VMADDR_CID_HOST;
    addr.svm_port = 1024;
    errno = 0;
    r = sendto(fd, "x", 1, 0, (struct sockaddr *)&addr, sizeof(addr));
    if (r >= 0 || errno != EINVAL)
        fail("sendto returned %d", r);
    else
        ok();

    begin("vsock dgram recv with MSG_DONTWAIT: EAGAIN", 5);
    char buf[4];
    errno = 0;
    r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (r >= 0 || errno != EAGAIN)
        fail("recv returned %d", r);
    else
        ok();
    close(fd);
}

/* Many sockets created and closed: nothing leaks badly or oopses. */
static void test_churn(void)
{
    begin("create/close 2000 hijacked sockets", 30);
    for (int i = 0; i < 2000; i++) {
        int fd = socket(i % 3 == 0   ? AF_INET
                        : i % 3 == 1 ? AF_INET6
                                     : AF_UNIX,
                        i & 1 ? SOCK_STREAM : SOCK_DGRAM, 0);

        if (fd < 0) {
            fail("socket #%d", i);
            return;
        }
        close(fd);
    }
    ok();
}

int main(void)
{
    signal(SIGALRM, watchdog);
    signal(SIGPIPE, SIG_IGN);
    printf("TSI-SMOKE start pid=%d\n", (int)getpid());
    fflush(stdout);
    setup();

    test_params();
    test_domains();
    test_param_runtime();
    test_tcp_local(AF_INET, 1);
    test_tcp_local(AF_INET6, 1);
    test_tcp_local(AF_INET, 0);
    test_sockopts();
    test_unix_pair(SOCK_STREAM);
    test_unix_pair(SOCK_DGRAM);
    test_unix_path();
    test_udp_local(AF_INET, 0);
    test_udp_local(AF_INET6, 0);
    test_udp_local(AF_INET, 1);
    test_epoll();
    test_epoll_udp();
    test_accept_vs_getsockname(AF_INET);
    test_accept_vs_getsockname(AF_INET6);
    test_no_host();
    test_vsock_dgram();
    test_churn();

    alarm(0);
    printf("TSI-SMOKE done: %d passed, %d failed\n", passed, failed);
    fflush(stdout);
    return failed;
}
