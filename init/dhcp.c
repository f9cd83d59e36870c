/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client: one packet socket per interface, because before it has an
 * address an interface cannot receive a UDP reply sent to the address it
 * is being offered. Every interface runs its own exchange (DISCOVER with
 * rapid commit; then REQUEST if an OFFER comes instead of an ACK) in one
 * poll loop, under one deadline.
 */
#include "dhcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/if_ether.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "abi/guest_abi.h"
#include "dhcp_msg.h"
#include "log.h"
#include "net.h"

/* Retransmissions: the first after 100 ms, doubling up to 1 s. An offer
 * that four REQUESTs did not turn into an answer starts over. */
enum { RETRY_FIRST_MS = 100, RETRY_MAX_MS = 1000, REQUEST_TRIES = 4 };

/* PACKET_AUXDATA's control message (linux/if_packet.h; musl lacks it). */
struct pkt_auxdata {
    uint32_t status, len, snaplen;
    uint16_t mac, net, vlan_tci, vlan_tpid;
};
#define TP_STATUS_CSUMNOTREADY_ 0x8

enum state { SELECTING, REQUESTING, BOUND, FAILED };

struct client {
    const char *ifname;
    int ifindex;
    int fd;
    uint8_t mac[DHCP_MAC_LEN];
    uint32_t xid;
    enum state state;
    uint32_t offered, server; /* while REQUESTING */
    unsigned requests;
    long long next_ms;
    unsigned interval_ms;
    struct dhcp_reply lease; /* once BOUND */
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t new_xid(const struct client *c)
{
    uint32_t x;
    if (getrandom(&x, sizeof(x), GRND_NONBLOCK) == (ssize_t)sizeof(x))
        return x;
    /* The pool may not be ready this early: the MAC and the clock still
     * tell guests (and successive tries) apart. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    memcpy(&x, c->mac + 2, sizeof(x));
    return x ^ (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec << 20;
}

static void start_over(struct client *c, long long now)
{
    c->state = SELECTING;
    c->xid = new_xid(c);
    c->next_ms = now;
    c->interval_ms = RETRY_FIRST_MS;
}

static bool client_open(struct client *c)
{
    const char *step = "bring up";
    int err = -net_iface_up(c->ifname);
    if (!err) {
        step = "packet socket";
        c->fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_IP));
        err = c->fd < 0 ? errno : 0;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, c->ifname, IFNAMSIZ - 1);
    if (!err) {
        step = "hardware address";
        err = ioctl(c->fd, SIOCGIFHWADDR, &ifr) < 0 ? errno : 0;
        if (!err && ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
            err = EPROTONOSUPPORT;
    }
    if (!err) {
        step = "bind";
        struct sockaddr_ll sll = {
            .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = c->ifindex};
        err = bind(c->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ? errno : 0;
    }
    if (err) {
        init_log("%s: DHCP: %s: %s", c->ifname, step, strerror(err));
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        c->state = FAILED;
        return false;
    }
    memcpy(c->mac, ifr.ifr_hwaddr.sa_data, DHCP_MAC_LEN);
    /* Best effort: without it every UDP checksum is verified. */
    int one = 1;
    setsockopt(c->fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one));
    start_over(c, now_ms());
    return true;
}

static void client_send(struct client *c)
{
    uint8_t pkt[DHCP_HDR_LEN + DHCP_MSG_LEN];
    uint8_t *msg = pkt + DHCP_HDR_LEN;
    size_t len = c->state == SELECTING
                     ? dhcp_build_discover(msg, c->mac, c->xid)
                     : dhcp_build_request(msg, c->mac, c->xid, c->offered, c->server);
    len = dhcp_frame(pkt, len);
    struct sockaddr_ll to = {.sll_family = AF_PACKET,
                             .sll_protocol = htons(ETH_P_IP),
                             .sll_ifindex = c->ifindex,
                             .sll_halen = DHCP_MAC_LEN};
    memset(to.sll_addr, 0xff, DHCP_MAC_LEN);
    /* A send that fails is a packet lost: the next try covers both. */
    (void)sendto(c->fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to));
}

static void client_timer(struct client *c, long long now)
{
    if (now < c->next_ms)
        return;
    if (c->state == REQUESTING && c->requests++ >= REQUEST_TRIES)
        start_over(c, now);
    client_send(c);
    c->next_ms = now + c->interval_ms;
    c->interval_ms = c->interval_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : c->interval_ms * 2;
}

static void client_handle(struct client *c, const struct dhcp_reply *r, long long now)
{
    if (c->state == SELECTING) {
        if (r->type == DHCP_ACK && r->rapid_commit) {
            c->lease = *r;
            c->state = BOUND;
        } else if (r->type == DHCP_OFFER) {
            /* The first offer wins. */
            c->state = REQUESTING;
            c->offered = r->yiaddr;
            c->server = r->server_id;
            c->requests = 0;
            c->next_ms = now;
            c->interval_ms = RETRY_FIRST_MS;
        }
        return;
    }
    /* REQUESTING: only the chosen server's answer counts (a NAK may not
     * name its server). */
    if (r->server_id != c->server && !(r->type == DHCP_NAK && r->server_id == 0))
        return;
    if (r->type == DHCP_ACK) {
        c->lease = *r;
        c->state = BOUND;
    } else if (r->type == DHCP_NAK) {
        start_over(c, now);
    }
}

static void client_receive(struct client *c, long long now)
{
    uint8_t pkt[2048];
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(struct pkt_auxdata))];
    } ctl;
    while (c->state == SELECTING || c->state == REQUESTING) {
        struct iovec iov = {.iov_base = pkt, .iov_len = sizeof(pkt)};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctl.buf,
                            .msg_controllen = sizeof(ctl)};
        ssize_t n = recvmsg(c->fd, &mh, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) /* drained (or a pending error, now cleared) */
            return;
        if (mh.msg_flags & MSG_TRUNC)
            continue;
        /* With checksum offload the host may leave the UDP checksum
         * unfinished; the packet then says so. */
        bool csum_ready = true;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
            struct pkt_auxdata aux;
            if (cm->cmsg_level != SOL_PACKET || cm->cmsg_type != PACKET_AUXDATA ||
                cm->cmsg_len < CMSG_LEN(sizeof(aux)))
                continue;
            memcpy(&aux, CMSG_DATA(cm), sizeof(aux));
            csum_ready = !(aux.status & TP_STATUS_CSUMNOTREADY_);
        }
        size_t len;
        const uint8_t *msg = dhcp_unframe(pkt, (size_t)n, csum_ready, &len);
        struct dhcp_reply r;
        if (msg && dhcp_parse_reply(msg, len, c->xid, c->mac, &r) == 0)
            client_handle(c, &r, now);
    }
}

static bool running(const struct client *c)
{
    return c->state == SELECTING || c->state == REQUESTING;
}

static void run(struct client *cs, int n)
{
    long long deadline = now_ms() + DHCP_TIMEOUT_MS;
    for (;;) {
        long long now = now_ms();
        if (now >= deadline)
            return;
        struct pollfd pfd[DHCP_MAX_IFACES];
        struct client *owner[DHCP_MAX_IFACES];
        int np = 0;
        long long wake = deadline;
        for (int i = 0; i < n; i++) {
            if (!running(&cs[i]))
                continue;
            client_timer(&cs[i], now);
            if (cs[i].next_ms < wake)
                wake = cs[i].next_ms;
            pfd[np] = (struct pollfd){.fd = cs[i].fd, .events = POLLIN};
            owner[np++] = &cs[i];
        }
        if (np == 0)
            return;
        if (poll(pfd, (nfds_t)np, (int)(wake - now)) < 0 && errno != EINTR)
            return;
        now = now_ms();
        for (int k = 0; k < np; k++)
            if (pfd[k].revents)
                client_receive(owner[k], now);
    }
}

static void configure(const struct client *c, bool *routed)
{
    const struct dhcp_reply *l = &c->lease;
    int r = net_iface_addr(c->ifname, l->yiaddr, l->prefix);
    if (r < 0) {
        init_log("%s: DHCP: set the address: %s", c->ifname, strerror(-r));
        return;
    }
    if (l->mtu && (r = net_iface_mtu(c->ifname, l->mtu)) < 0)
        init_log("%s: DHCP: set mtu %u: %s", c->ifname, l->mtu, strerror(-r));
    if (l->router && !*routed) {
        r = net_route_default(c->ifname, l->router);
        if (r < 0)
            init_log("%s: DHCP: set the default route: %s", c->ifname, strerror(-r));
        *routed = r == 0;
    }
}

static void write_resolv(const struct dhcp_reply *l)
{
    static const char path[] = "/etc/resolv.conf";
    char buf[DHCP_MAX_DNS * sizeof("nameserver 255.255.255.255\n")];
    size_t len = 0;
    for (unsigned i = 0; i < l->n_dns; i++) {
        const uint8_t *a = (const uint8_t *)&l->dns[i];
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "nameserver %u.%u.%u.%u\n", a[0],
                                a[1], a[2], a[3]);
    }
    /* A read-only root refuses O_CREAT|O_TRUNC with EROFS, even on an
     * existing file: that is the test for "writable". */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT) {
        /* No /etc, or a link to a file in a directory that is not there. */
        mkdir("/etc", 0755);
        unlink(path);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    }
    int err = fd < 0 ? errno : 0;
    if (!err) {
        ssize_t w = write(fd, buf, len);
        err = w < 0 ? errno : w != (ssize_t)len ? EIO : 0;
    }
    if (fd >= 0 && close(fd) < 0 && !err)
        err = errno;
    if (err == EROFS)
        init_log("DHCP: the root is read-only: %s not written", path);
    else if (err)
        init_log("DHCP: %s: %s", path, strerror(err));
}

void dhcp_setup(const char *spec)
{
    char names[DHCP_MAX_IFACES][DHCP_IFNAME_SIZE];
    int bad;
    int n = dhcp_parse_ifnames(spec, names, DHCP_MAX_IFACES, &bad);
    if (bad)
        init_log(KRUN_ENV_DHCP ": ignoring %d bad or surplus interface name(s) in \"%.64s\"", bad,
                 spec);
    struct client cs[DHCP_MAX_IFACES];
    int m = 0;
    for (int i = 0; i < n; i++) {
        struct client *c = &cs[m];
        memset(c, 0, sizeof(*c));
        c->ifname = names[i];
        c->fd = -1;
        c->ifindex = (int)if_nametoindex(names[i]);
        /* Upstream's KRUN_DHCP=1 means eth0 if there is one. */
        if (!c->ifindex && strcmp(spec, "1") != 0)
            init_log("%s: DHCP: no such interface", names[i]);
        if (c->ifindex && client_open(c))
            m++;
    }
    if (m == 0)
        return;
    run(cs, m);
    bool routed = false, resolv = false;
    for (int i = 0; i < m; i++) {
        close(cs[i].fd);
        if (cs[i].state != BOUND) {
            init_log("%s: DHCP: no lease within %d s, left without an address", cs[i].ifname,
                     DHCP_TIMEOUT_MS / 1000);
            continue;
        }
        configure(&cs[i], &routed);
        if (!resolv && cs[i].lease.n_dns > 0) {
            write_resolv(&cs[i].lease);
            resolv = true;
        }
    }
}
