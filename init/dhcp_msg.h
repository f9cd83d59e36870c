/* SPDX-License-Identifier: Apache-2.0 */
/*
 * DHCPv4 client messages (RFC 2131, options RFC 2132, rapid commit
 * RFC 4039) and the IPv4/UDP framing around them, as pure functions; the
 * client in dhcp.c does the I/O. Replies come from the network, so their
 * parsers trust nothing. IPv4 addresses are uint32_t in network byte order.
 */
#ifndef KRUN_INIT_DHCP_MSG_H
#define KRUN_INIT_DHCP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DHCP_MAC_LEN     6
#define DHCP_MAX_DNS     3 /* what resolv.conf readers use */
#define DHCP_MTU_MIN     1280
#define DHCP_MTU_MAX     65520
#define DHCP_MSG_LEN     300 /* what the builders write: BOOTP's minimum message */
#define DHCP_HDR_LEN     28  /* IPv4 without options (20) and UDP (8) */
#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68

enum dhcp_type {
    DHCP_DISCOVER = 1,
    DHCP_OFFER = 2,
    DHCP_REQUEST = 3,
    DHCP_ACK = 5,
    DHCP_NAK = 6,
};

/* Why a reply was refused. */
enum dhcp_parse_err {
    DHCP_E_SHORT = -1,     /* shorter than the fixed part and the magic cookie */
    DHCP_E_NOT_REPLY = -2, /* op, htype or hlen is not an Ethernet BOOTREPLY */
    DHCP_E_XID = -3,
    DHCP_E_CHADDR = -4,
    DHCP_E_COOKIE = -5,
    DHCP_E_TRUNCATED = -6, /* an option runs past the end */
    DHCP_E_TYPE = -7,      /* no message type, or not OFFER, ACK or NAK */
    DHCP_E_ADDRESS = -8,   /* an OFFER or ACK without a usable yiaddr */
    DHCP_E_SERVER = -9,    /* an OFFER or ACK without a server identifier */
};

struct dhcp_reply {
    uint8_t type; /* DHCP_OFFER, DHCP_ACK or DHCP_NAK */
    uint32_t yiaddr;
    uint32_t server_id; /* 0 if absent (only a NAK may lack it) */
    /*
     * From the subnet mask. A mask that is absent, not contiguous or
     * 0.0.0.0 is ignored and the prefix is yiaddr's class (8, 16 or 24),
     * as RFC 1122 clients did before masks were sent.
     */
    unsigned prefix;
    uint32_t router; /* the first router, 0 if none */
    uint32_t dns[DHCP_MAX_DNS];
    unsigned n_dns;
    unsigned mtu;   /* clamped to DHCP_MTU_MIN..DHCP_MTU_MAX; 0 if absent */
    uint32_t lease; /* seconds; 0 if absent */
    bool rapid_commit;
};

/*
 * Write a DISCOVER (with rapid commit) or a REQUEST for requested from
 * server_id into buf; both ask for a broadcast reply and carry the client
 * identifier (type 1, mac) and the parameter request list (mask, router,
 * DNS, MTU, lease time, server id). Return DHCP_MSG_LEN.
 */
size_t dhcp_build_discover(uint8_t buf[DHCP_MSG_LEN], const uint8_t mac[DHCP_MAC_LEN],
                           uint32_t xid);
size_t dhcp_build_request(uint8_t buf[DHCP_MSG_LEN], const uint8_t mac[DHCP_MAC_LEN], uint32_t xid,
                          uint32_t requested, uint32_t server_id);

/*
 * Parse a server's reply to our xid and mac. Returns 0 and fills out, or
 * a dhcp_parse_err. Options: the first instance of each counts; pad is
 * skipped; an option of the wrong length is ignored; the end option may be
 * missing if the last option ends with the buffer; overload (52) is not
 * supported, so options in sname/file are not seen.
 */
int dhcp_parse_reply(const uint8_t *msg, size_t len, uint32_t xid, const uint8_t mac[DHCP_MAC_LEN],
                     struct dhcp_reply *out);

/*
 * Fill the IPv4 and UDP headers (0.0.0.0:68 to 255.255.255.255:67, both
 * checksums) in the DHCP_HDR_LEN bytes before a message of msg_len bytes
 * that is already at pkt + DHCP_HDR_LEN. Returns the packet's length.
 */
size_t dhcp_frame(uint8_t *pkt, size_t msg_len);

/*
 * The DHCP message in an IPv4 packet of len bytes, if it is an unfragmented
 * UDP datagram from port 67 to port 68 with a good IP header checksum and
 * a UDP checksum that is 0 or good (or check_udp is false: the NIC left it
 * to be filled in). Returns the message and its length, or NULL.
 */
const uint8_t *dhcp_unframe(const uint8_t *pkt, size_t len, bool check_udp, size_t *msg_len);

#define DHCP_MAX_IFACES  8
#define DHCP_IFNAME_SIZE 16 /* IFNAMSIZ */

/*
 * The interfaces a KRUN_DHCP value names: "1" is eth0 (upstream), "0" or
 * "" none, else a comma-separated list (empty items skipped). Names the
 * kernel would refuse (longer than 15 bytes, "." or "..", holding '/',
 * ':' or white space) and those past max are counted in *bad; a repeated
 * name is dropped. Returns the count.
 */
int dhcp_parse_ifnames(const char *spec, char names[][DHCP_IFNAME_SIZE], int max, int *bad);

#endif
