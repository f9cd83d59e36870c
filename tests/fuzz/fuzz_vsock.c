/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/vsock/buf.c src/virtio/vsock/conn.c src/virtio/vsock/core.c src/virtio/vsock/credit.c src/virtio/vsock/dgram.c src/virtio/vsock/packet.c src/virtio/vsock/ports.c src/virtio/vsock/stream.c src/virtio/vsock/tsi.c src/virtio/vsock/tsi_msg.c src/virtio/queue.c src/util/guest_mem.c src/util/log.c */
/*
 * libFuzzer harness for the vsock packet path: what a hostile guest puts
 * on the tx queue, and receive buffers of any size, in any order. The
 * input is a sequence of records:
 *
 *   0      op: bits 0-1 what (0, 3: a tx packet; 1: fill a receive buffer;
 *          2: handle host events), bits 2-7 where to split the packet
 *   1..2   length (le16): of the packet, or the receive buffer's size
 *   3..    the packet bytes (header and payload, as the guest wrote them)
 *
 * A record that claims more bytes than are left takes what is left. After
 * each input every connection is dropped (a device reset), so inputs do
 * not depend on each other; the bounds of internal.h must hold throughout.
 */
#include <stdint.h>
#include <string.h>

#include "vsock_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vsock *v = fuzz_vsock_get();
    size_t off = 0;
    unsigned records = 0;
    while (off + 3 <= size && records++ < 512) {
        uint8_t op = data[off];
        size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
        off += 3;
        switch (op & 3) {
        case 1:
            fuzz_vsock_drain(v, len, 1);
            break;
        case 2:
            vsock_core_poll(v, 0);
            break;
        default: {
            if (len > size - off)
                len = size - off;
            /* The guest's chain: up to three segments, any split. */
            size_t a = len ? (op >> 2) % (len + 1) : 0;
            size_t b = a + (len - a) / 2;
            struct iovec iov[3] = {
                {(void *)(data + off), a},
                {(void *)(data + off + a), b - a},
                {(void *)(data + off + b), len - b},
            };
            if (!vsock_core_tx_paused(v))
                vsock_core_tx(v, iov, 3);
            off += len;
            break;
        }
        }
        fuzz_vsock_check(v);
    }
    vsock_core_poll(v, 0);
    fuzz_vsock_drain(v, 4096 + VSOCK_HDR_SIZE, 64);
    fuzz_vsock_check(v);
    vsock_core_reset(v);
    return 0;
}
