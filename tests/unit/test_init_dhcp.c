/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: init/dhcp_msg.c */
/*
 * The guest init's DHCP messages: the DISCOVER and REQUEST it sends, byte
 * by byte; the replies it accepts and those it refuses; the IPv4/UDP
 * framing both ways; the KRUN_DHCP interface list.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../init/dhcp_msg.h"
#include "test.h"

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint32_t xid = 0xa1b2c3d4;

static uint32_t ip(const char *s)
{
    struct in_addr a;
    CHECK_EQ(inet_pton(AF_INET, s, &a), 1);
    return a.s_addr;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* The fixed part both requests share (RFC 2131, figure 1). */
static void check_request_header(const uint8_t *m)
{
    CHECK_EQ(m[0], 1); /* BOOTREQUEST */
    CHECK_EQ(m[1], 1); /* Ethernet */
    CHECK_EQ(m[2], 6);
    CHECK_EQ(m[3], 0); /* hops */
    CHECK(memcmp(m + 4, "\xa1\xb2\xc3\xd4", 4) == 0);
    CHECK(all_zero(m + 8, 2)); /* secs */
    CHECK_EQ(m[10], 0x80);     /* BROADCAST */
    CHECK_EQ(m[11], 0);
    CHECK(all_zero(m + 12, 16)); /* ciaddr, yiaddr, siaddr, giaddr */
    CHECK(memcmp(m + 28, mac, 6) == 0);
    CHECK(all_zero(m + 34, 10));       /* rest of chaddr */
    CHECK(all_zero(m + 44, 64 + 128)); /* sname, file */
    CHECK(memcmp(m + 236, "\x63\x82\x53\x63", 4) == 0);
}

static const uint8_t common_opts[] = {
    53, 1, 0,                                     /* message type, filled in */
    61, 7, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, /* client id: Ethernet, MAC */
    55, 6, 1, 3,    6,    26,   51,   54,         /* mask, router, DNS, MTU, lease, server */
};

static void test_discover(void)
{
    uint8_t m[DHCP_MSG_LEN];
    memset(m, 0xee, sizeof(m));
    CHECK_EQ(dhcp_build_discover(m, mac, xid), 300);
    check_request_header(m);
    uint8_t want[sizeof(common_opts) + 3];
    memcpy(want, common_opts, sizeof(common_opts));
    want[2] = 1;                    /* DISCOVER */
    want[sizeof(common_opts)] = 80; /* rapid commit, empty */
    want[sizeof(common_opts) + 1] = 0;
    want[sizeof(common_opts) + 2] = 255;
    CHECK(memcmp(m + 240, want, sizeof(want)) == 0);
    CHECK(all_zero(m + 240 + sizeof(want), 300 - 240 - sizeof(want)));
}

static void test_request(void)
{
    uint8_t m[DHCP_MSG_LEN];
    memset(m, 0xee, sizeof(m));
    CHECK_EQ(dhcp_build_request(m, mac, xid, ip("10.0.2.15"), ip("10.0.2.2")), 300);
    check_request_header(m);
    uint8_t want[sizeof(common_opts) + 13];
    memcpy(want, common_opts, sizeof(common_opts));
    want[2] = 3; /* REQUEST */
    memcpy(want + sizeof(common_opts), "\x32\x04\x0a\x00\x02\x0f\x36\x04\x0a\x00\x02\x02\xff", 13);
    CHECK(memcmp(m + 240, want, sizeof(want)) == 0);
    CHECK(all_zero(m + 240 + sizeof(want), 300 - 240 - sizeof(want)));
}

/* A server reply: the fixed part, then options appended with opt(). */
struct reply {
    uint8_t b[1500];
    size_t len;
};

static void reply_start(struct reply *r, const char *yiaddr)
{
    memset(r, 0, sizeof(*r));
    r->b[0] = 2;
    r->b[1] = 1;
    r->b[2] = 6;
    memcpy(r->b + 4, "\xa1\xb2\xc3\xd4", 4);
    uint32_t y = ip(yiaddr);
    memcpy(r->b + 16, &y, 4);
    memcpy(r->b + 28, mac, 6);
    memcpy(r->b + 236, "\x63\x82\x53\x63", 4);
    r->len = 240;
}

static void raw(struct reply *r, const void *p, size_t n)
{
    if (n == 0)
        return;
    memcpy(r->b + r->len, p, n);
    r->len += n;
}

static void opt(struct reply *r, uint8_t code, uint8_t len, const void *p)
{
    r->b[r->len++] = code;
    r->b[r->len++] = len;
    raw(r, p, len);
}

static void opt_type(struct reply *r, uint8_t type)
{
    opt(r, 53, 1, &type);
}

static void opt_addr(struct reply *r, uint8_t code, const char *a)
{
    uint32_t v = ip(a);
    opt(r, code, 4, &v);
}

static void end(struct reply *r)
{
    r->b[r->len++] = 255;
}

static int parse(const struct reply *r, struct dhcp_reply *out)
{
    return dhcp_parse_reply(r->b, r->len, xid, mac, out);
}

/* An OFFER as dnsmasq sends it, with the options we asked for. */
static void good_offer(struct reply *r, uint8_t type)
{
    reply_start(r, "10.0.2.15");
    opt_type(r, type);
    opt_addr(r, 54, "10.0.2.2");
    opt(r, 51, 4, "\x00\x00\x0e\x10"); /* 3600 s */
    opt_addr(r, 1, "255.255.255.0");
    opt_addr(r, 28, "10.0.2.255"); /* broadcast: not asked for, ignored */
    opt(r, 26, 2, "\x05\xdc");     /* 1500 */
    opt(r, 6, 8, "\x0a\x00\x02\x03\x08\x08\x08\x08");
    opt(r, 3, 8, "\x0a\x00\x02\x02\x0a\x00\x02\x01");
}

static void test_parse_offer(void)
{
    struct reply r;
    struct dhcp_reply d;
    good_offer(&r, DHCP_OFFER);
    end(&r);
    CHECK_EQ(parse(&r, &d), 0);
    CHECK_EQ(d.type, DHCP_OFFER);
    CHECK_EQ(d.yiaddr, ip("10.0.2.15"));
    CHECK_EQ(d.server_id, ip("10.0.2.2"));
    CHECK_EQ(d.prefix, 24);
    CHECK_EQ(d.router, ip("10.0.2.2")); /* the first of two */
    CHECK_EQ(d.n_dns, 2);
    CHECK_EQ(d.dns[0], ip("10.0.2.3"));
    CHECK_EQ(d.dns[1], ip("8.8.8.8"));
    CHECK_EQ(d.mtu, 1500);
    CHECK_EQ(d.lease, 3600);
    CHECK(!d.rapid_commit);

    /* The same as a rapid-commit ACK, padded to a minimum frame size. */
    good_offer(&r, DHCP_ACK);
    opt(&r, 80, 0, NULL);
    end(&r);
    r.len += 40;
    CHECK_EQ(parse(&r, &d), 0);
    CHECK_EQ(d.type, DHCP_ACK);
    CHECK(d.rapid_commit);
    CHECK_EQ(d.yiaddr, ip("10.0.2.15"));

    /* A bare ACK: no mask (a class A address gets /8), no router, DNS or MTU. */
    reply_start(&r, "10.1.2.3");
    opt_type(&r, DHCP_ACK);
    opt_addr(&r, 54, "10.0.0.1");
    end(&r);
    CHECK_EQ(parse(&r, &d), 0);
    CHECK_EQ(d.prefix, 8);
    CHECK_EQ(d.router, 0);
    CHECK_EQ(d.n_dns, 0);
    CHECK_EQ(d.mtu, 0);
    CHECK_EQ(d.lease, 0);
}

static void test_parse_nak(void)
{
    struct reply r;
    struct dhcp_reply d;
    reply_start(&r, "0.0.0.0");
    opt_type(&r, DHCP_NAK);
    opt_addr(&r, 54, "10.0.2.2");
    end(&r);
    CHECK_EQ(parse(&r, &d), 0);
    CHECK_EQ(d.type, DHCP_NAK);
    CHECK_EQ(d.server_id, ip("10.0.2.2"));
    /* A NAK needs neither an address nor (for us) a server id. */
    reply_start(&r, "0.0.0.0");
    opt_type(&r, DHCP_NAK);
    end(&r);
    CHECK_EQ(parse(&r, &d), 0);
    CHECK_EQ(d.server_id, 0);
}

static void test_parse_refused(void)
{
    struct reply r;
    struct dhcp_reply d;

    good_offer(&r, DHCP_OFFER);
    CHECK_EQ(dhcp_parse_reply(r.b, 0, xid, mac, &d), DHCP_E_SHORT);
    CHECK_EQ(dhcp_parse_reply(r.b, 239, xid, mac, &d), DHCP_E_SHORT);

    good_offer(&r, DHCP_OFFER);
    end(&r);
    CHECK_EQ(dhcp_parse_reply(r.b, r.len, xid + 1, mac, &d), DHCP_E_XID);
    uint8_t other[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x57};
    CHECK_EQ(dhcp_parse_reply(r.b, r.len, xid, other, &d), DHCP_E_CHADDR);
    r.b[0] = 1; /* our own request, seen on the wire */
    CHECK_EQ(parse(&r, &d), DHCP_E_NOT_REPLY);
    r.b[0] = 2;
    r.b[2] = 16;
    CHECK_EQ(parse(&r, &d), DHCP_E_NOT_REPLY);
    r.b[2] = 6;
    r.b[239] = 0x64;
    CHECK_EQ(parse(&r, &d), DHCP_E_COOKIE);
    r.b[239] = 0x63;
    CHECK_EQ(parse(&r, &d), 0);

    /* An option whose length runs past the end. */
    good_offer(&r, DHCP_OFFER);
    raw(&r, "\x06\x08\x0a\x00\x02\x03", 6);
    CHECK_EQ(parse(&r, &d), DHCP_E_TRUNCATED);
    /* Exactly one byte short. */
    good_offer(&r, DHCP_OFFER);
    raw(&r, "\x33\x04\x00\x00\x0e", 5);
    CHECK_EQ(parse(&r, &d), DHCP_E_TRUNCATED);
    /* A code without its length byte. */
    good_offer(&r, DHCP_OFFER);
    raw(&r, "\x1a", 1);
    CHECK_EQ(parse(&r, &d), DHCP_E_TRUNCATED);
    /* A length of 255 from the very first option. */
    reply_start(&r, "10.0.2.15");
    raw(&r, "\x35\xff\x02", 3);
    CHECK_EQ(parse(&r, &d), DHCP_E_TRUNCATED);

    /* No message type: BOOTP, not DHCP; or a type a server does not send. */
    reply_start(&r, "10.0.2.15");
    opt_addr(&r, 54, "10.0.2.2");
    end(&r);
    CHECK_EQ(parse(&r, &d), DHCP_E_TYPE);
    reply_start(&r, "10.0.2.15");
    opt_type(&r, DHCP_REQUEST);
    opt_addr(&r, 54, "10.0.2.2");
    end(&r);
    CHECK_EQ(parse(&r, &d), DHCP_E_TYPE);
    reply_start(&r, "10.0.2.15");
    opt(&r, 53, 2, "\x05\x00"); /* the wrong length: ignored, so no type */
    opt_addr(&r, 54, "10.0.2.2");
    end(&r);
    CHECK_EQ(parse(&r, &d), DHCP_E_TYPE);

    /* An OFFER or ACK must give an address we can use, and say who it is. */
    static const char *const bad_addrs[] = {"0.0.0.0",   "0.1.2.3",   "127.0.0.1",
                                            "224.0.0.1", "240.0.0.1", "255.255.255.255"};
    for (size_t i = 0; i < sizeof(bad_addrs) / sizeof(bad_addrs[0]); i++) {
        reply_start(&r, bad_addrs[i]);
        opt_type(&r, DHCP_ACK);
        opt_addr(&r, 54, "10.0.2.2");
        end(&r);
        CHECK_EQ(parse(&r, &d), DHCP_E_ADDRESS);
    }
    reply_start(&r, "10.0.2.15");
    opt_type(&r, DHCP_OFFER);
    end(&r);
    CHECK_EQ(parse(&r, &d), DHCP_E_SERVER);
    reply_start(&r, "10.0.2.15");
    opt_type(&r, DHCP_ACK);
    opt(&r, 54, 3, "\x0a\x00\x02");
    end(&r);
    CHECK_EQ(parse(&r, &d), DHCP_E_SERVER);
}

static void test_parse_options(void)
{
    struct reply r;
    struct dhcp_reply d;

    /* No end option: fine when the last option ends with the buffer. */
    good_offer(&r, DHCP_OFFER);
    CHECK_EQ(parse(&r, &d), 0);
    CHECK_EQ(d.mtu, 1500);

    /* Pad anywhere; after the end anything goes, even a broken option. */
    reply_start(&r, "192.168.1.20");
    raw(&r, "\0\0", 2);
    opt_type(&r, DHCP_OFFER);
    raw(&r, "\0", 1);
    opt_addr(&r, 54, "192.168.1.1");
    end(&r);
    raw(&r, "\x1a\x02\x01\x00\x06\xff", 6);
    CHECK_EQ(parse(&r, &d), 0);
    CHECK_EQ(d.mtu, 0);
    CHECK_EQ(d.prefix, 24); /* class C */

    /* Options in sname and file do not count (no overload support). */
    reply_start(&r, "172.16.0.9");
    memcpy(r.b + 44, "\x1a\x02\x05\xdc\xff", 5);
    memcpy(r.b + 108, "\x1a\x02\x05\xdc\xff", 5);
    opt_type(&r, DHCP_OFFER);
    opt_addr(&r, 54, "172.16.0.1");
    opt(&r, 52, 1, "\x03");
    end(&r);
    CHECK_EQ(parse(&r, &d), 0);
    CHECK_EQ(d.mtu, 0);
    CHECK_EQ(d.prefix, 16); /* class B */

    /* The first instance of an option counts. */
    reply_start(&r, "10.0.2.15");
    opt_type(&r, DHCP_OFFER);
    opt_addr(&r, 54, "10.0.2.2");
    opt_type(&r, DHCP_NAK);
    opt_addr(&r, 54, "10.0.2.99");
    opt_addr(&r, 3, "10.0.2.1");
    opt_addr(&r, 3, "10.0.2.254");
    end(&r);
    CHECK_EQ(parse(&r, &d), 0);
    CHECK_EQ(d.type, DHCP_OFFER);
    CHECK_EQ(d.server_id, ip("10.0.2.2"));
    CHECK_EQ(d.router, ip("10.0.2.1"));

    /* Wrong lengths are ignored: MTU of 3 bytes, router of 5, DNS of 6,
     * lease of 2, rapid commit with data. */
    reply_start(&r, "10.0.2.15");
    opt_type(&r, DHCP_ACK);
    opt_addr(&r, 54, "10.0.2.2");
    opt(&r, 26, 3, "\x05\xdc\x00");
    opt(&r, 3, 5, "\x0a\x00\x02\x02\x00");
    opt(&r, 6, 6, "\x0a\x00\x02\x03\x00\x00");
    opt(&r, 51, 2, "\x0e\x10");
    opt(&r, 80, 1, "\x00");
    end(&r);
    CHECK_EQ(parse(&r, &d), 0);
    CHECK_EQ(d.mtu, 0);
    CHECK_EQ(d.router, 0);
    CHECK_EQ(d.n_dns, 0);
    CHECK_EQ(d.lease, 0);
    CHECK(!d.rapid_commit);
}

static unsigned prefix_for(const char *mask)
{
    struct reply r;
    struct dhcp_reply d;
    reply_start(&r, "10.0.2.15");
    opt_type(&r, DHCP_ACK);
    opt_addr(&r, 54, "10.0.2.2");
    opt_addr(&r, 1, mask);
    end(&r);
    CHECK_EQ(parse(&r, &d), 0);
    return d.prefix;
}

static void test_mask(void)
{
    CHECK_EQ(prefix_for("255.255.255.0"), 24);
    CHECK_EQ(prefix_for("255.255.255.255"), 32);
    CHECK_EQ(prefix_for("255.255.255.252"), 30);
    CHECK_EQ(prefix_for("255.255.240.0"), 20);
    CHECK_EQ(prefix_for("128.0.0.0"), 1);
    /* Not contiguous, or no mask at all: ignored, 10/8 is class A. */
    CHECK_EQ(prefix_for("255.0.255.0"), 8);
    CHECK_EQ(prefix_for("255.255.255.1"), 8);
    CHECK_EQ(prefix_for("0.255.255.255"), 8);
    CHECK_EQ(prefix_for("0.0.0.0"), 8);
}

static unsigned mtu_for(uint16_t mtu)
{
    struct reply r;
    struct dhcp_reply d;
    uint8_t v[2] = {(uint8_t)(mtu >> 8), (uint8_t)mtu};
    reply_start(&r, "10.0.2.15");
    opt_type(&r, DHCP_ACK);
    opt_addr(&r, 54, "10.0.2.2");
    opt(&r, 26, 2, v);
    end(&r);
    CHECK_EQ(parse(&r, &d), 0);
    return d.mtu;
}

static void test_mtu(void)
{
    CHECK_EQ(mtu_for(1500), 1500);
    CHECK_EQ(mtu_for(1280), 1280);
    CHECK_EQ(mtu_for(65520), 65520);
    CHECK_EQ(mtu_for(576), 1280);
    CHECK_EQ(mtu_for(0), 1280);
    CHECK_EQ(mtu_for(1279), 1280);
    CHECK_EQ(mtu_for(65521), 65520);
    CHECK_EQ(mtu_for(65535), 65520);
}

static void test_dns(void)
{
    struct reply r;
    struct dhcp_reply d;
    /* Five servers: the first three are kept; 0.0.0.0 is skipped. */
    reply_start(&r, "10.0.2.15");
    opt_type(&r, DHCP_ACK);
    opt_addr(&r, 54, "10.0.2.2");
    opt(&r, 6, 20,
        "\x01\x01\x01\x01\x00\x00\x00\x00\x02\x02\x02\x02\x03\x03\x03\x03\x04\x04\x04\x04");
    end(&r);
    CHECK_EQ(parse(&r, &d), 0);
    CHECK_EQ(d.n_dns, 3);
    CHECK_EQ(d.dns[0], ip("1.1.1.1"));
    CHECK_EQ(d.dns[1], ip("2.2.2.2"));
    CHECK_EQ(d.dns[2], ip("3.3.3.3"));
    /* An empty list. */
    reply_start(&r, "10.0.2.15");
    opt_type(&r, DHCP_ACK);
    opt_addr(&r, 54, "10.0.2.2");
    opt(&r, 6, 0, NULL);
    end(&r);
    CHECK_EQ(parse(&r, &d), 0);
    CHECK_EQ(d.n_dns, 0);
}

/* The Internet checksum, written out again for the test (RFC 1071). */
static uint16_t ref_csum(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i < n; i++)
        sum += i % 2 ? p[i] : (uint32_t)p[i] << 8;
    while (sum > 0xffff)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint16_t ref_udp_csum(const uint8_t *ip_hdr, const uint8_t *udp, size_t len)
{
    uint8_t pseudo[12];
    memcpy(pseudo, ip_hdr + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 17;
    pseudo[10] = (uint8_t)(len >> 8);
    pseudo[11] = (uint8_t)len;
    uint16_t ps = (uint16_t)~ref_csum(pseudo, 12, 0);
    return ref_csum(udp, len, ps);
}

static void test_frame(void)
{
    uint8_t pkt[DHCP_HDR_LEN + DHCP_MSG_LEN];
    memset(pkt, 0xee, DHCP_HDR_LEN);
    size_t len = dhcp_frame(pkt, dhcp_build_discover(pkt + DHCP_HDR_LEN, mac, xid));
    CHECK_EQ(len, 328);
    CHECK_EQ(pkt[0], 0x45);
    CHECK_EQ(pkt[1], 0);
    CHECK_EQ(be16(pkt + 2), 328);
    CHECK(all_zero(pkt + 4, 4)); /* id, flags, fragment offset */
    CHECK_EQ(pkt[8], 64);
    CHECK_EQ(pkt[9], 17);
    CHECK(all_zero(pkt + 12, 4));
    CHECK(memcmp(pkt + 16, "\xff\xff\xff\xff", 4) == 0);
    CHECK_EQ(ref_csum(pkt, 20, 0), 0); /* the header sums to all ones */
    CHECK_EQ(be16(pkt + 20), 68);
    CHECK_EQ(be16(pkt + 22), 67);
    CHECK_EQ(be16(pkt + 24), 308);
    CHECK(be16(pkt + 26) != 0);
    CHECK_EQ(ref_udp_csum(pkt, pkt + 20, 308), 0);
}

/* A server's reply in IPv4/UDP, framed by the test's own code. */
static size_t server_packet(uint8_t *pkt, const struct reply *r, bool udp_csum)
{
    size_t udp_len = 8 + r->len, total = 20 + udp_len;
    memset(pkt, 0, 28);
    pkt[0] = 0x45;
    pkt[2] = (uint8_t)(total >> 8);
    pkt[3] = (uint8_t)total;
    pkt[6] = 0x40; /* DF, as many servers set it */
    pkt[8] = 64;
    pkt[9] = 17;
    memcpy(pkt + 12, "\x0a\x00\x02\x02\xff\xff\xff\xff", 8);
    uint16_t c = ref_csum(pkt, 20, 0);
    pkt[10] = (uint8_t)(c >> 8);
    pkt[11] = (uint8_t)c;
    pkt[21] = 67;
    pkt[23] = 68;
    pkt[24] = (uint8_t)(udp_len >> 8);
    pkt[25] = (uint8_t)udp_len;
    memcpy(pkt + 28, r->b, r->len);
    if (udp_csum) {
        c = ref_udp_csum(pkt, pkt + 20, udp_len);
        pkt[26] = (uint8_t)(c >> 8);
        pkt[27] = (uint8_t)c;
    }
    return total;
}

static void refix_ip_csum(uint8_t *pkt)
{
    size_t ihl = (pkt[0] & 15u) * 4;
    pkt[10] = pkt[11] = 0;
    uint16_t c = ref_csum(pkt, ihl, 0);
    pkt[10] = (uint8_t)(c >> 8);
    pkt[11] = (uint8_t)c;
}

static void test_unframe(void)
{
    struct reply r;
    good_offer(&r, DHCP_OFFER);
    end(&r);
    uint8_t pkt[1600];
    size_t len = server_packet(pkt, &r, true), mlen = 0;
    const uint8_t *m = dhcp_unframe(pkt, len, true, &mlen);
    CHECK(m == pkt + 28);
    CHECK_EQ(mlen, r.len);
    /* Link padding after the datagram is not part of it. */
    CHECK(dhcp_unframe(pkt, len + 18, true, &mlen) == pkt + 28);
    CHECK_EQ(mlen, r.len);
    /* Shorter than the IP total length, or than a header. */
    CHECK(dhcp_unframe(pkt, len - 1, true, &mlen) == NULL);
    CHECK(dhcp_unframe(pkt, 19, true, &mlen) == NULL);
    CHECK(dhcp_unframe(pkt, 0, true, &mlen) == NULL);

    /* A bad UDP checksum, unless the NIC said it is not filled in yet. */
    pkt[27] ^= 1;
    CHECK(dhcp_unframe(pkt, len, true, &mlen) == NULL);
    CHECK(dhcp_unframe(pkt, len, false, &mlen) == pkt + 28);
    /* No UDP checksum at all is allowed over IPv4. */
    len = server_packet(pkt, &r, false);
    CHECK(dhcp_unframe(pkt, len, true, &mlen) == pkt + 28);
    /* A corrupt payload under a good checksum's field. */
    len = server_packet(pkt, &r, true);
    pkt[300] ^= 0x10;
    CHECK(dhcp_unframe(pkt, len, true, &mlen) == NULL);

    len = server_packet(pkt, &r, true);
    pkt[8] = 63; /* TTL changed, IP checksum not */
    CHECK(dhcp_unframe(pkt, len, true, &mlen) == NULL);
    refix_ip_csum(pkt);
    CHECK(dhcp_unframe(pkt, len, true, &mlen) == pkt + 28);

    /* Fragments (MF, or an offset), another protocol, other ports. */
    static const struct {
        size_t off;
        uint8_t val;
    } bad[] = {{6, 0x20}, {7, 0x01}, {9, 6}, {0, 0x65}, {21, 68}, {23, 67}, {20, 1}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        len = server_packet(pkt, &r, false);
        pkt[bad[i].off] = bad[i].val;
        refix_ip_csum(pkt);
        CHECK(dhcp_unframe(pkt, len, true, &mlen) == NULL);
    }
    /* Header length under 5 words, or past the total length. */
    len = server_packet(pkt, &r, false);
    pkt[0] = 0x44;
    CHECK(dhcp_unframe(pkt, len, false, &mlen) == NULL);
    pkt[0] = 0x4f;
    pkt[2] = 0;
    pkt[3] = 60 + 7;
    refix_ip_csum(pkt);
    CHECK(dhcp_unframe(pkt, len, false, &mlen) == NULL);
    /* A UDP length under 8, or past the IP datagram. */
    len = server_packet(pkt, &r, false);
    pkt[24] = 0;
    pkt[25] = 7;
    CHECK(dhcp_unframe(pkt, len, false, &mlen) == NULL);
    pkt[24] = (uint8_t)((len - 19) >> 8);
    pkt[25] = (uint8_t)(len - 19);
    CHECK(dhcp_unframe(pkt, len, false, &mlen) == NULL);
    /* A shorter UDP length than the IP datagram bounds the message. */
    pkt[24] = 0;
    pkt[25] = 8 + 240;
    CHECK(dhcp_unframe(pkt, len, false, &mlen) == pkt + 28);
    CHECK_EQ(mlen, 240);

    /* IP options move the UDP header. */
    uint8_t opts[1600];
    len = server_packet(pkt, &r, true);
    memcpy(opts, pkt, 20);
    memcpy(opts + 20, "\x01\x01\x01\x00", 4); /* NOP NOP NOP EOL */
    memcpy(opts + 24, pkt + 20, len - 20);
    opts[0] = 0x46;
    opts[2] = (uint8_t)((len + 4) >> 8);
    opts[3] = (uint8_t)(len + 4);
    refix_ip_csum(opts);
    CHECK(dhcp_unframe(opts, len + 4, true, &mlen) == opts + 32);
    CHECK_EQ(mlen, r.len);

    /* What we send is not what we receive (ports reversed). */
    len = dhcp_frame(pkt, dhcp_build_discover(pkt + DHCP_HDR_LEN, mac, xid));
    CHECK(dhcp_unframe(pkt, len, true, &mlen) == NULL);
}

static void test_ifnames(void)
{
    char n[DHCP_MAX_IFACES][DHCP_IFNAME_SIZE];
    int bad = -1;
    CHECK_EQ(dhcp_parse_ifnames(NULL, n, DHCP_MAX_IFACES, &bad), 0);
    CHECK_EQ(bad, 0);
    CHECK_EQ(dhcp_parse_ifnames("", n, DHCP_MAX_IFACES, &bad), 0);
    CHECK_EQ(dhcp_parse_ifnames("0", n, DHCP_MAX_IFACES, &bad), 0);
    CHECK_EQ(dhcp_parse_ifnames("1", n, DHCP_MAX_IFACES, &bad), 1);
    CHECK_STR(n[0], "eth0");
    CHECK_EQ(dhcp_parse_ifnames("eth1", n, DHCP_MAX_IFACES, &bad), 1);
    CHECK_STR(n[0], "eth1");
    CHECK_EQ(dhcp_parse_ifnames(",eth1,,eth0,eth1,", n, DHCP_MAX_IFACES, &bad), 2);
    CHECK_STR(n[0], "eth1");
    CHECK_STR(n[1], "eth0");
    CHECK_EQ(bad, 0);
    /* In a list, "1" is just a name. */
    CHECK_EQ(dhcp_parse_ifnames("1,eth0", n, DHCP_MAX_IFACES, &bad), 2);
    CHECK_STR(n[0], "1");

    CHECK_EQ(dhcp_parse_ifnames("abcdefghijklmno,abcdefghijklmnop", n, DHCP_MAX_IFACES, &bad), 1);
    CHECK_STR(n[0], "abcdefghijklmno");
    CHECK_EQ(bad, 1);
    CHECK_EQ(dhcp_parse_ifnames(".,..,a/b,a:b,a b,a\tb,...,eth0", n, DHCP_MAX_IFACES, &bad), 2);
    CHECK_STR(n[0], "...");
    CHECK_STR(n[1], "eth0");
    CHECK_EQ(bad, 6);
    CHECK_EQ(dhcp_parse_ifnames("a,b,c,a,d", n, 3, &bad), 3);
    CHECK_STR(n[2], "c");
    CHECK_EQ(bad, 1);
}

int main(void)
{
    RUN(test_discover);
    RUN(test_request);
    RUN(test_parse_offer);
    RUN(test_parse_nak);
    RUN(test_parse_refused);
    RUN(test_parse_options);
    RUN(test_mask);
    RUN(test_mtu);
    RUN(test_dns);
    RUN(test_frame);
    RUN(test_unframe);
    RUN(test_ifnames);
    return TEST_EXIT();
}
