/* SPDX-License-Identifier: Apache-2.0 */
#include "dhcp_msg.h"

#include <arpa/inet.h>
#include <string.h>

/* Offsets in the fixed part (RFC 2131 section 2). */
enum {
    OFF_OP = 0,
    OFF_HTYPE = 1,
    OFF_HLEN = 2,
    OFF_XID = 4,
    OFF_FLAGS = 10,
    OFF_YIADDR = 16,
    OFF_CHADDR = 28,
    OFF_COOKIE = 236,
    OFF_OPTIONS = 240,
};

enum {
    BOOTREQUEST = 1,
    BOOTREPLY = 2,
    HTYPE_ETHER = 1,
    FLAG_BROADCAST = 0x80, /* high byte of flags */
};

enum {
    OPT_PAD = 0,
    OPT_MASK = 1,
    OPT_ROUTER = 3,
    OPT_DNS = 6,
    OPT_MTU = 26,
    OPT_REQUESTED_IP = 50,
    OPT_LEASE = 51,
    OPT_TYPE = 53,
    OPT_SERVER_ID = 54,
    OPT_PARAMS = 55,
    OPT_CLIENT_ID = 61,
    OPT_RAPID_COMMIT = 80,
    OPT_END = 255,
};

static const uint8_t cookie[4] = {99, 130, 83, 99};

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_addr(const uint8_t *p)
{
    uint32_t a;
    memcpy(&a, p, 4);
    return a;
}

static uint8_t *put_opt(uint8_t *p, uint8_t code, uint8_t len, const void *data)
{
    p[0] = code;
    p[1] = len;
    memcpy(p + 2, data, len);
    return p + 2 + len;
}

static uint8_t *start(uint8_t *buf, const uint8_t *mac, uint32_t xid, uint8_t type)
{
    static const uint8_t params[] = {OPT_MASK, OPT_ROUTER, OPT_DNS,
                                     OPT_MTU,  OPT_LEASE,  OPT_SERVER_ID};
    memset(buf, 0, DHCP_MSG_LEN);
    buf[OFF_OP] = BOOTREQUEST;
    buf[OFF_HTYPE] = HTYPE_ETHER;
    buf[OFF_HLEN] = DHCP_MAC_LEN;
    uint32_t be = htonl(xid);
    memcpy(buf + OFF_XID, &be, 4);
    /* Unicast to an address we do not have yet would need ARP tricks on
     * the server's side; broadcast works everywhere. */
    buf[OFF_FLAGS] = FLAG_BROADCAST;
    memcpy(buf + OFF_CHADDR, mac, DHCP_MAC_LEN);
    memcpy(buf + OFF_COOKIE, cookie, 4);
    uint8_t *p = put_opt(buf + OFF_OPTIONS, OPT_TYPE, 1, &type);
    uint8_t id[1 + DHCP_MAC_LEN] = {HTYPE_ETHER};
    memcpy(id + 1, mac, DHCP_MAC_LEN);
    p = put_opt(p, OPT_CLIENT_ID, sizeof(id), id);
    return put_opt(p, OPT_PARAMS, sizeof(params), params);
}

/* The rest of the buffer is already zero: pad options up to BOOTP's 300 bytes. */
size_t dhcp_build_discover(uint8_t buf[DHCP_MSG_LEN], const uint8_t mac[DHCP_MAC_LEN], uint32_t xid)
{
    uint8_t *p = start(buf, mac, xid, DHCP_DISCOVER);
    *p++ = OPT_RAPID_COMMIT; /* no data */
    *p++ = 0;
    *p = OPT_END;
    return DHCP_MSG_LEN;
}

size_t dhcp_build_request(uint8_t buf[DHCP_MSG_LEN], const uint8_t mac[DHCP_MAC_LEN], uint32_t xid,
                          uint32_t requested, uint32_t server_id)
{
    uint8_t *p = start(buf, mac, xid, DHCP_REQUEST);
    p = put_opt(p, OPT_REQUESTED_IP, 4, &requested);
    p = put_opt(p, OPT_SERVER_ID, 4, &server_id);
    *p = OPT_END;
    return DHCP_MSG_LEN;
}

/* 0 for a mask that is not a run of ones from the top, or no ones at all. */
static unsigned mask_prefix(uint32_t be)
{
    uint32_t m = ntohl(be);
    uint32_t hostbits = ~m;
    if (m == 0 || (hostbits & (hostbits + 1)) != 0)
        return 0;
    return 32u - (unsigned)__builtin_ctz(m);
}

static bool usable_address(uint32_t be)
{
    uint32_t a = ntohl(be);
    uint32_t top = a >> 24;
    /* Not "this network", loopback, multicast or reserved/broadcast. */
    return top != 0 && top != 127 && top < 224;
}

static unsigned class_prefix(uint32_t be)
{
    uint32_t top = ntohl(be) >> 24;
    return top < 128 ? 8 : top < 192 ? 16 : 24;
}

static void take_option(struct dhcp_reply *r, uint8_t code, const uint8_t *v, uint8_t len,
                        uint32_t *mask)
{
    switch (code) {
    case OPT_TYPE:
        if (len == 1)
            r->type = v[0];
        break;
    case OPT_SERVER_ID:
        if (len == 4)
            r->server_id = get_addr(v);
        break;
    case OPT_MASK:
        if (len == 4)
            *mask = get_addr(v);
        break;
    case OPT_ROUTER:
        if (len >= 4 && len % 4 == 0)
            r->router = get_addr(v);
        break;
    case OPT_DNS:
        for (unsigned i = 0; len % 4 == 0 && i < len / 4u && r->n_dns < DHCP_MAX_DNS; i++)
            if (get_addr(v + 4 * i) != 0)
                r->dns[r->n_dns++] = get_addr(v + 4 * i);
        break;
    case OPT_MTU:
        if (len == 2) {
            unsigned mtu = get16(v);
            r->mtu = mtu < DHCP_MTU_MIN ? DHCP_MTU_MIN : mtu > DHCP_MTU_MAX ? DHCP_MTU_MAX : mtu;
        }
        break;
    case OPT_LEASE:
        if (len == 4)
            r->lease = ntohl(get_addr(v));
        break;
    case OPT_RAPID_COMMIT:
        if (len == 0)
            r->rapid_commit = true;
        break;
    }
}

int dhcp_parse_reply(const uint8_t *msg, size_t len, uint32_t xid, const uint8_t mac[DHCP_MAC_LEN],
                     struct dhcp_reply *out)
{
    memset(out, 0, sizeof(*out));
    if (len < OFF_OPTIONS)
        return DHCP_E_SHORT;
    if (msg[OFF_OP] != BOOTREPLY || msg[OFF_HTYPE] != HTYPE_ETHER || msg[OFF_HLEN] != DHCP_MAC_LEN)
        return DHCP_E_NOT_REPLY;
    if (ntohl(get_addr(msg + OFF_XID)) != xid)
        return DHCP_E_XID;
    if (memcmp(msg + OFF_CHADDR, mac, DHCP_MAC_LEN) != 0)
        return DHCP_E_CHADDR;
    if (memcmp(msg + OFF_COOKIE, cookie, 4) != 0)
        return DHCP_E_COOKIE;

    uint8_t seen[32] = {0};
    uint32_t mask = 0;
    size_t i = OFF_OPTIONS;
    while (i < len) {
        uint8_t code = msg[i++];
        if (code == OPT_PAD)
            continue;
        if (code == OPT_END)
            break;
        if (i >= len || msg[i] > len - i - 1)
            return DHCP_E_TRUNCATED;
        uint8_t olen = msg[i++];
        const uint8_t *v = msg + i;
        i += olen;
        if (seen[code / 8] & (1u << (code % 8)))
            continue;
        seen[code / 8] |= (uint8_t)(1u << (code % 8));
        take_option(out, code, v, olen, &mask);
    }

    if (out->type != DHCP_OFFER && out->type != DHCP_ACK && out->type != DHCP_NAK)
        return DHCP_E_TYPE;
    if (out->type == DHCP_NAK)
        return 0;
    out->yiaddr = get_addr(msg + OFF_YIADDR);
    if (!usable_address(out->yiaddr))
        return DHCP_E_ADDRESS;
    if (out->server_id == 0)
        return DHCP_E_SERVER;
    out->prefix = mask_prefix(mask);
    if (out->prefix == 0)
        out->prefix = class_prefix(out->yiaddr);
    return 0;
}

/* The Internet checksum (RFC 1071): a 32-bit accumulator cannot overflow
 * on the at most 64 KiB a datagram holds. */
static uint32_t sum16(uint32_t acc, const uint8_t *p, size_t n)
{
    for (; n > 1; p += 2, n -= 2)
        acc += get16(p);
    if (n)
        acc += (uint32_t)p[0] << 8;
    return acc;
}

static uint16_t fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)acc;
}

enum { IP_HDR = 20, UDP_HDR = 8, IPPROTO_UDP_ = 17 };

/* The sum over UDP's pseudo header and the datagram. */
static uint32_t udp_sum(const uint8_t *ip, const uint8_t *udp, size_t udp_len)
{
    uint32_t acc = sum16(0, ip + 12, 8) + IPPROTO_UDP_ + (uint32_t)udp_len;
    return sum16(acc, udp, udp_len);
}

size_t dhcp_frame(uint8_t *pkt, size_t msg_len)
{
    size_t udp_len = UDP_HDR + msg_len;
    uint8_t *udp = pkt + IP_HDR;
    memset(pkt, 0, DHCP_HDR_LEN);
    pkt[0] = 0x45; /* version 4, 5 words */
    put16(pkt + 2, (uint16_t)(IP_HDR + udp_len));
    pkt[8] = 64; /* TTL */
    pkt[9] = IPPROTO_UDP_;
    memset(pkt + 16, 0xff, 4); /* source 0.0.0.0, destination broadcast */
    put16(pkt + 10, (uint16_t)~fold(sum16(0, pkt, IP_HDR)));
    put16(udp, DHCP_CLIENT_PORT);
    put16(udp + 2, DHCP_SERVER_PORT);
    put16(udp + 4, (uint16_t)udp_len);
    uint16_t c = (uint16_t)~fold(udp_sum(pkt, udp, udp_len));
    put16(udp + 6, c ? c : 0xffff); /* 0 would mean "no checksum" */
    return IP_HDR + udp_len;
}

const uint8_t *dhcp_unframe(const uint8_t *pkt, size_t len, bool check_udp, size_t *msg_len)
{
    if (len < IP_HDR || pkt[0] >> 4 != 4)
        return NULL;
    size_t ihl = (pkt[0] & 0xfu) * 4u;
    size_t total = get16(pkt + 2);
    /* Bytes past total are link padding. Fragments are not reassembled:
     * DHCP replies fit in one packet. */
    if (ihl < IP_HDR || total < ihl + UDP_HDR || total > len)
        return NULL;
    if (pkt[9] != IPPROTO_UDP_ || (get16(pkt + 6) & 0x3fff) != 0)
        return NULL;
    if (fold(sum16(0, pkt, ihl)) != 0xffff)
        return NULL;
    const uint8_t *udp = pkt + ihl;
    size_t udp_len = get16(udp + 4);
    if (get16(udp) != DHCP_SERVER_PORT || get16(udp + 2) != DHCP_CLIENT_PORT || udp_len < UDP_HDR ||
        udp_len > total - ihl)
        return NULL;
    if (check_udp && get16(udp + 6) != 0 && fold(udp_sum(pkt, udp, udp_len)) != 0xffff)
        return NULL;
    *msg_len = udp_len - UDP_HDR;
    return udp + UDP_HDR;
}

static bool good_ifname(const char *s, size_t len)
{
    if (len == 0 || len >= DHCP_IFNAME_SIZE)
        return false;
    if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '/' || s[i] == ':' || s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))
            return false;
    return true;
}

int dhcp_parse_ifnames(const char *spec, char names[][DHCP_IFNAME_SIZE], int max, int *bad)
{
    int n = 0;
    *bad = 0;
    if (!spec || strcmp(spec, "0") == 0)
        return 0;
    if (strcmp(spec, "1") == 0)
        spec = "eth0";
    for (const char *p = spec; *p;) {
        size_t len = strcspn(p, ",");
        if (len > 0 && !good_ifname(p, len)) {
            ++*bad;
        } else if (len > 0) {
            bool dup = false;
            for (int i = 0; i < n && !dup; i++)
                dup = strlen(names[i]) == len && memcmp(names[i], p, len) == 0;
            if (!dup && n >= max) {
                ++*bad;
            } else if (!dup) {
                memcpy(names[n], p, len);
                names[n++][len] = '\0';
            }
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return n;
}
