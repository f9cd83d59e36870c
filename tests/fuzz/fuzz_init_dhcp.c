/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: init/dhcp_msg.c */
/*
 * The guest init's DHCP reply parsers on arbitrary bytes, each in a buffer
 * of exactly its size so that any read past it is caught:
 *   - dhcp_unframe: a message it returns lies inside the packet, after at
 *     least an IP and a UDP header; one that passes with the UDP checksum
 *     checked passes without, at the same place; one that passes only
 *     without has a non-zero checksum field;
 *   - dhcp_parse_reply: its verdict and the type, server, router and MTU
 *     match a plain reference walk of the options written here from
 *     RFC 2131/2132; an accepted OFFER or ACK has a usable address, a
 *     server id, a prefix of 1 to 32, at most 3 non-zero DNS servers and
 *     an MTU of 0 or 1280 to 65520;
 *   - dhcp_parse_ifnames: names that Linux would take, distinct, at most max.
 *
 * Input: byte 0 chooses: bit 0 the rest is an IPv4 packet (unframed, then
 * its message parsed), else a DHCP message; bit 1 expect the xid and chaddr
 * the message carries (so that the options get parsed), else fixed ones;
 * bit 2 the rest also goes, as a string, to dhcp_parse_ifnames, with max
 * taken from bits 4-7.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../init/dhcp_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_init_dhcp: %s\n", what);
    abort();
}

static const uint8_t fixed_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint32_t fixed_xid = 0xa1b2c3d4;

struct ref {
    bool truncated;
    int type;        /* -1: none */
    uint32_t server; /* 0: none or malformed */
    uint32_t router; /* 0: none or malformed */
    int mtu;         /* -1: none or malformed */
};

/* The first instance of an option counts, whatever its length. */
static void ref_walk(const uint8_t *m, size_t len, struct ref *r)
{
    bool seen[256] = {false};
    *r = (struct ref){.type = -1, .mtu = -1};
    size_t i = 240;
    while (i < len && m[i] != 255) {
        if (m[i] == 0) {
            i++;
            continue;
        }
        if (i + 1 >= len || i + 2 + m[i + 1] > len) {
            r->truncated = true;
            return;
        }
        uint8_t code = m[i], olen = m[i + 1];
        const uint8_t *v = m + i + 2;
        i += 2 + (size_t)olen;
        if (seen[code])
            continue;
        seen[code] = true;
        if (code == 53 && olen == 1)
            r->type = v[0];
        if (code == 54 && olen == 4)
            memcpy(&r->server, v, 4);
        if (code == 3 && olen >= 4 && olen % 4 == 0)
            memcpy(&r->router, v, 4);
        if (code == 26 && olen == 2)
            r->mtu = v[0] << 8 | v[1];
    }
}

static void check_reply(const uint8_t *m, size_t len, bool own_ids)
{
    uint8_t mac[6];
    uint32_t xid = fixed_xid;
    memcpy(mac, fixed_mac, 6);
    if (own_ids && len >= 44) {
        memcpy(mac, m + 28, 6);
        xid = (uint32_t)m[4] << 24 | (uint32_t)m[5] << 16 | (uint32_t)m[6] << 8 | m[7];
    }
    struct dhcp_reply d;
    int rc = dhcp_parse_reply(m, len, xid, mac, &d);
    if (rc < DHCP_E_SERVER || rc > 0)
        fail("a result that is no dhcp_parse_err");
    if (len < 240) {
        if (rc != DHCP_E_SHORT)
            fail("a short message not refused as such");
        return;
    }
    bool header_ok =
        m[0] == 2 && m[1] == 1 && m[2] == 6 &&
        ((uint32_t)m[4] << 24 | (uint32_t)m[5] << 16 | (uint32_t)m[6] << 8 | m[7]) == xid &&
        memcmp(m + 28, mac, 6) == 0 && memcmp(m + 236, "\x63\x82\x53\x63", 4) == 0;
    bool header_refused = rc == DHCP_E_SHORT || rc == DHCP_E_NOT_REPLY || rc == DHCP_E_XID ||
                          rc == DHCP_E_CHADDR || rc == DHCP_E_COOKIE;
    if (header_ok == header_refused)
        fail("the fixed part judged wrong");
    if (header_refused)
        return;
    struct ref ref;
    ref_walk(m, len, &ref);
    if ((rc == DHCP_E_TRUNCATED) != ref.truncated)
        fail("truncation seen differently");
    if (ref.truncated)
        return;
    bool type_ok = ref.type == DHCP_OFFER || ref.type == DHCP_ACK || ref.type == DHCP_NAK;
    if ((rc == DHCP_E_TYPE) != !type_ok)
        fail("the message type read differently");
    if (rc != 0)
        return;
    if (d.type != ref.type)
        fail("a different type");
    if (d.server_id != ref.server)
        fail("a different server id");
    if (d.type == DHCP_NAK)
        return;
    uint32_t y = ntohl(d.yiaddr);
    if (y >> 24 == 0 || y >> 24 == 127 || y >> 24 >= 224 || memcmp(&d.yiaddr, m + 16, 4) != 0)
        fail("an unusable or different yiaddr");
    if (d.server_id == 0)
        fail("an OFFER or ACK without a server id");
    if (d.prefix < 1 || d.prefix > 32)
        fail("a prefix out of range");
    if (d.router != ref.router)
        fail("a different router");
    int want_mtu = ref.mtu < 0              ? 0
                   : ref.mtu < DHCP_MTU_MIN ? DHCP_MTU_MIN
                   : ref.mtu > DHCP_MTU_MAX ? DHCP_MTU_MAX
                                            : ref.mtu;
    if ((int)d.mtu != want_mtu)
        fail("a different MTU");
    if (d.n_dns > DHCP_MAX_DNS)
        fail("too many DNS servers");
    for (unsigned i = 0; i < d.n_dns; i++)
        if (d.dns[i] == 0)
            fail("a DNS server 0.0.0.0");
}

static void check_packet(const uint8_t *p, size_t len, bool own_ids)
{
    size_t n1 = 0, n2 = 0;
    const uint8_t *m1 = dhcp_unframe(p, len, true, &n1);
    const uint8_t *m2 = dhcp_unframe(p, len, false, &n2);
    if (m1 && (m1 != m2 || n1 != n2))
        fail("a checked packet unframed differently unchecked");
    if (!m2)
        return;
    if (m2 < p + DHCP_HDR_LEN || n2 > len || (size_t)(m2 - p) > len - n2)
        fail("a message outside its packet");
    if (!m1) {
        size_t ihl = (p[0] & 15u) * 4;
        if (p[ihl + 6] == 0 && p[ihl + 7] == 0)
            fail("no UDP checksum, yet refused when checked");
    }
    check_reply(m2, n2, own_ids);
}

static void check_ifnames(const char *s, int max)
{
    char names[16][DHCP_IFNAME_SIZE];
    int bad = -1;
    int n = dhcp_parse_ifnames(s, names, max, &bad);
    if (n < 0 || n > max || bad < 0)
        fail("an interface count out of range");
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (len == 0 || len >= DHCP_IFNAME_SIZE || strcmp(names[i], ".") == 0 ||
            strcmp(names[i], "..") == 0 || strpbrk(names[i], "/: \t\n\v\f\r,"))
            fail("an interface name Linux would refuse");
        for (int j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                fail("an interface named twice");
        if (strcmp(s, "1") != 0 && !strstr(s, names[i]))
            fail("an interface name that is not in the list");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* Exactly the input's size: a read one past it is caught. */
    uint8_t *buf = malloc(size - 1 ? size - 1 : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    if (data[0] & 1)
        check_packet(buf, size - 1, data[0] & 2);
    else
        check_reply(buf, size - 1, data[0] & 2);
    free(buf);
    if (data[0] & 4) {
        char *s = malloc(size);
        if (!s)
            return 0;
        memcpy(s, data + 1, size - 1);
        s[size - 1] = '\0';
        check_ifnames(s, data[0] >> 4);
        free(s);
    }
    return 0;
}
