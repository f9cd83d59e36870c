/* SPDX-License-Identifier: Apache-2.0 */
/* The guest init's DHCP client, for the interfaces KRUN_DHCP names. */
#ifndef KRUN_INIT_DHCP_H
#define KRUN_INIT_DHCP_H

/* How long DHCP may hold up the boot, for all interfaces together. */
#define DHCP_TIMEOUT_MS 5000

/*
 * Bring up the interfaces spec (a KRUN_DHCP value, or NULL: none) names
 * and run DHCP on all of them at once. Each that gets a lease gets its
 * address and prefix and the MTU; the first (in spec's order) with a
 * router gets the default route via it, the first with DNS servers
 * /etc/resolv.conf if the root is writable. Silent on success, one line
 * per failure; a failure leaves the interface up without an address and
 * the boot goes on. See docs/guest-contract.md.
 */
void dhcp_setup(const char *spec);

#endif
