/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Credit-based flow control of one vsock stream (virtio 1.x, 5.10.6.3).
 *
 * Each side announces, in every header it sends, buf_alloc (its receive
 * buffer) and fwd_cnt (how many bytes it has taken out of it so far). A
 * sender may have at most peer_buf_alloc - (tx_cnt - peer_fwd_cnt) bytes in
 * flight. Counters are free-running 32-bit values; differences are taken
 * modulo 2^32.
 *
 * Guest -> host: the guest may send what we announced. Bytes we could not
 * hand to the host socket at once wait in a buffer of at most buf_alloc
 * bytes, so a guest that keeps within its credit cannot make us hold more;
 * one that does not is reset. fwd_cnt moves as bytes reach the host
 * socket, and a CREDIT_UPDATE goes out when the guest's view of our free
 * space falls under half of buf_alloc (the guest never asks: Linux waits
 * for the peer's updates).
 *
 * Host -> guest: we read from the host socket only as much as the guest's
 * credit allows, so what the guest has not read stays in the host's socket
 * buffer, not with us.
 */
#ifndef KRUN_VIRTIO_VSOCK_CREDIT_H
#define KRUN_VIRTIO_VSOCK_CREDIT_H

#include <stdbool.h>
#include <stdint.h>

struct vsock_credit {
    /* Our receive side (data from the guest). */
    uint32_t buf_alloc;     /* announced */
    uint32_t rx_cnt;        /* bytes received from the guest */
    uint32_t fwd_cnt;       /* of those, bytes handed to the host socket */
    uint32_t last_fwd_sent; /* fwd_cnt in the last header the guest got */
    /* The guest's receive side (data to the guest). */
    uint32_t peer_buf_alloc;
    uint32_t peer_fwd_cnt;
    uint32_t tx_cnt; /* bytes sent to the guest */
};

void vsock_credit_init(struct vsock_credit *c, uint32_t buf_alloc);

/* Every packet from the guest carries its buf_alloc and fwd_cnt. */
void vsock_credit_peer_update(struct vsock_credit *c, uint32_t buf_alloc, uint32_t fwd_cnt);

/* How many bytes the guest can take now (0 if it announced less than it has). */
uint32_t vsock_credit_peer_free(const struct vsock_credit *c);

/* n bytes went to the guest. */
void vsock_credit_sent(struct vsock_credit *c, uint32_t n);

/*
 * A packet of len bytes arrived from the guest: false if it exceeds the
 * credit we gave (then nothing is counted), else it is counted as received.
 */
bool vsock_credit_receive(struct vsock_credit *c, uint32_t len);

/* Bytes received from the guest and not yet handed to the host. */
uint32_t vsock_credit_buffered(const struct vsock_credit *c);

/* n received bytes reached the host socket. */
void vsock_credit_forwarded(struct vsock_credit *c, uint32_t n);

/* Fill a header's buf_alloc and fwd_cnt (and remember what the guest knows). */
void vsock_credit_stamp(struct vsock_credit *c, uint32_t *buf_alloc, uint32_t *fwd_cnt);

/* Whether the guest should be told about freed space now. */
bool vsock_credit_update_needed(const struct vsock_credit *c);

#endif
