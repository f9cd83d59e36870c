/* SPDX-License-Identifier: Apache-2.0 */
/* Guest networking set up by the init. */
#ifndef KRUN_INIT_NET_H
#define KRUN_INIT_NET_H

#include <stdbool.h>
#include <stdint.h>

/* Bring the loopback interface up (warns on failure). */
void net_lo_up(void);

/* Whether a kernel command line asks for TSI: the word tsi_hijack before "--". */
bool net_cmdline_has_tsi(const char *cmdline);

/*
 * With TSI, programs still look for an interface and a default route:
 * bring up dummy0 with 203.0.113.1/24 and a default route through it, as
 * upstream's init does (skipped silently without a dummy0). DNS is left to
 * the root's /etc/resolv.conf.
 */
void net_tsi_setup(void);

/* Up, address/prefix, and a default route through it. Returns 0 or -errno (-ENODEV: none). */
int net_iface_setup(const char *ifname, const char *address, unsigned prefix);

/* The steps, for the DHCP client. Each returns 0 or -errno (-ENODEV: no
 * such interface); addresses are in network byte order. */
int net_iface_up(const char *ifname);
/* Add addr/prefix (an address already there is fine). */
int net_iface_addr(const char *ifname, uint32_t addr, unsigned prefix);
/* The default route: via gateway on ifname, or with gateway 0 through
 * ifname itself. Replaces an existing default route. */
int net_route_default(const char *ifname, uint32_t gateway);
int net_iface_mtu(const char *ifname, unsigned mtu);

#endif
