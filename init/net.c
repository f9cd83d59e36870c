/* SPDX-License-Identifier: Apache-2.0 */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "abi/guest_abi.h"
#include "log.h"
#include "readfile.h"

static int set_up(int family, const char *ifname)
{
    /* Interface ioctls work on any socket; try UNIX if TSI has taken
     * over INET sockets and does not pass the ioctl on. */
    int s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    int r = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (r == 0 && !(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        r = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    int saved = errno;
    close(s);
    errno = saved;
    return r;
}

void net_lo_up(void)
{
    if (set_up(AF_INET, "lo") == 0 || set_up(AF_UNIX, "lo") == 0)
        return;
    init_log("bring lo up: %s", strerror(errno));
}

bool net_cmdline_has_tsi(const char *p)
{
    static const char word[] = KRUN_CMDLINE_TSI_HIJACK;
    while (*p) {
        p += strspn(p, " \t\n");
        size_t n = strcspn(p, " \t\n");
        if (n == 2 && strncmp(p, "--", 2) == 0)
            return false;
        if (n == sizeof(word) - 1 && strncmp(p, word, n) == 0)
            return true;
        p += n;
    }
    return false;
}

/*
 * rtnetlink, not the ioctls: with tsi_hijack the init's own AF_INET
 * sockets are TSI sockets, and netlink sockets never are. musl has no
 * kernel headers, so the few structures of the kernel's netlink ABI
 * (include/uapi/linux/netlink.h, rtnetlink.h) are spelled out here.
 */
enum {
    NL_ROUTE = 0,
    NL_ERROR = 2,
    NL_F_REQUEST = 0x1,
    NL_F_ACK = 0x4,
    NL_F_REPLACE = 0x100,
    NL_F_CREATE = 0x400,
    RTM_NEWADDR_ = 20,
    RTM_NEWROUTE_ = 24,
    IFA_ADDRESS_ = 1,
    IFA_LOCAL_ = 2,
    RTA_OIF_ = 4,
    RTA_GATEWAY_ = 5,
    RTNH_F_ONLINK_ = 4,
    RT_TABLE_MAIN_ = 254,
    RTPROT_BOOT_ = 3,
    RT_SCOPE_UNIVERSE_ = 0,
    RT_SCOPE_LINK_ = 253,
    RTN_UNICAST_ = 1,
};

struct nl_hdr {
    uint32_t len;
    uint16_t type, flags;
    uint32_t seq, pid;
};

struct nl_err {
    int32_t error;
    struct nl_hdr req;
};

struct nl_ifaddr {
    uint8_t family, prefixlen, flags, scope;
    uint32_t index;
};

struct nl_route {
    uint8_t family, dst_len, src_len, tos, table, protocol, scope, type;
    uint32_t flags;
};

struct nl_sockaddr {
    sa_family_t family;
    uint16_t pad;
    uint32_t pid, groups;
};

#define NL_ALIGN(n) (((n) + 3u) & ~3u)

struct nl_req {
    struct nl_hdr h;
    union {
        struct nl_ifaddr a;
        struct nl_route r;
    } u;
    uint8_t attrs[64];
};

static void nl_start(struct nl_req *q, uint16_t type, size_t body)
{
    memset(q, 0, sizeof(*q));
    q->h.len = (uint32_t)(sizeof(q->h) + body);
    q->h.type = type;
    q->h.flags = NL_F_CREATE | NL_F_REPLACE;
}

static void add_attr(struct nl_req *q, uint16_t type, const void *data, uint16_t len)
{
    uint8_t *at = (uint8_t *)q + NL_ALIGN(q->h.len);
    uint16_t alen = (uint16_t)(4 + len);
    memcpy(at, &alen, 2);
    memcpy(at + 2, &type, 2);
    memcpy(at + 4, data, len);
    q->h.len = NL_ALIGN(q->h.len) + NL_ALIGN(alen);
}

/* Send one request and wait for its acknowledgement. Returns 0 or -errno. */
static int nl_talk(int s, struct nl_req *q)
{
    static uint32_t seq;
    q->h.flags |= NL_F_REQUEST | NL_F_ACK;
    q->h.seq = ++seq;
    struct nl_sockaddr kernel = {.family = AF_NETLINK};
    if (sendto(s, q, q->h.len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
        return -errno;
    uint32_t buf[1024];
    for (;;) {
        ssize_t n = recv(s, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        size_t off = 0;
        while (off + sizeof(struct nl_hdr) <= (size_t)n) {
            struct nl_hdr h;
            memcpy(&h, (uint8_t *)buf + off, sizeof(h));
            if (h.len < sizeof(h) || off + h.len > (size_t)n)
                break;
            if (h.seq == q->h.seq && h.type == NL_ERROR && h.len >= sizeof(h) + 4) {
                int32_t err;
                memcpy(&err, (uint8_t *)buf + off + sizeof(h), sizeof(err));
                return err;
            }
            off += NL_ALIGN(h.len);
        }
    }
}

/* One request on a socket of its own. Returns 0 or -errno. */
static int nl_request(struct nl_req *q)
{
    int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NL_ROUTE);
    if (s < 0)
        return -errno;
    int r = nl_talk(s, q);
    close(s);
    return r;
}

int net_iface_up(const char *ifname)
{
    if (set_up(AF_UNIX, ifname) < 0 && set_up(AF_INET, ifname) < 0)
        return -errno;
    return 0;
}

int net_iface_addr(const char *ifname, uint32_t addr, unsigned prefix)
{
    unsigned idx = if_nametoindex(ifname);
    if (!idx)
        return -ENODEV;
    struct nl_req q;
    nl_start(&q, RTM_NEWADDR_, sizeof(struct nl_ifaddr));
    q.u.a = (struct nl_ifaddr){
        .family = AF_INET, .prefixlen = (uint8_t)prefix, .scope = RT_SCOPE_UNIVERSE_, .index = idx};
    add_attr(&q, IFA_LOCAL_, &addr, sizeof(addr));
    add_attr(&q, IFA_ADDRESS_, &addr, sizeof(addr));
    int r = nl_request(&q);
    return r == -EEXIST ? 0 : r;
}

int net_route_default(const char *ifname, uint32_t gateway)
{
    unsigned idx = if_nametoindex(ifname);
    if (!idx)
        return -ENODEV;
    struct nl_req q;
    nl_start(&q, RTM_NEWROUTE_, sizeof(struct nl_route));
    q.u.r = (struct nl_route){.family = AF_INET,
                              .table = RT_TABLE_MAIN_,
                              .protocol = RTPROT_BOOT_,
                              .scope = gateway ? RT_SCOPE_UNIVERSE_ : RT_SCOPE_LINK_,
                              .type = RTN_UNICAST_,
                              /* A gateway outside the prefix (a /32 lease) is
                               * still on this link; inside it, onlink is moot. */
                              .flags = gateway ? RTNH_F_ONLINK_ : 0};
    uint32_t oif = idx;
    add_attr(&q, RTA_OIF_, &oif, sizeof(oif));
    if (gateway)
        add_attr(&q, RTA_GATEWAY_, &gateway, sizeof(gateway));
    int r = nl_request(&q);
    return r == -EEXIST ? 0 : r;
}

int net_iface_mtu(const char *ifname, unsigned mtu)
{
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    ifr.ifr_mtu = (int)mtu;
    int r = ioctl(s, SIOCSIFMTU, &ifr) < 0 ? -errno : 0;
    close(s);
    return r;
}

int net_iface_setup(const char *ifname, const char *address, unsigned prefix)
{
    if (!if_nametoindex(ifname))
        return -ENODEV;
    struct in_addr addr;
    if (inet_pton(AF_INET, address, &addr) != 1)
        return -EINVAL;
    int r = net_iface_up(ifname);
    if (r == 0)
        r = net_iface_addr(ifname, addr.s_addr, prefix);
    if (r == 0)
        r = net_route_default(ifname, 0);
    return r;
}

void net_tsi_setup(void)
{
    char *cmdline = NULL;
    size_t len;
    if (read_file("/proc/cmdline", 65536, &cmdline, &len) < 0)
        return;
    bool tsi = net_cmdline_has_tsi(cmdline);
    free(cmdline);
    if (!tsi)
        return;
    int r = net_iface_setup(KRUN_TSI_IFNAME, KRUN_TSI_ADDR, KRUN_TSI_PREFIX);
    /* A kernel without the dummy driver has no dummy0: nothing to do, as upstream. */
    if (r < 0 && r != -ENODEV)
        init_log("%s: %s", KRUN_TSI_IFNAME, strerror(-r));
}
