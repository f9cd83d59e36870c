/* SPDX-License-Identifier: Apache-2.0 */
/* Guest networking set up by the init. */
#ifndef KRUN_INIT_NET_H
#define KRUN_INIT_NET_H

/* Bring the loopback interface up (warns on failure). */
void net_lo_up(void);

#endif
