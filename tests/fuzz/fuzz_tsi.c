/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/vsock/buf.c src/virtio/vsock/conn.c src/virtio/vsock/core.c src/virtio/vsock/credit.c src/virtio/vsock/dgram.c src/virtio/vsock/packet.c src/virtio/vsock/ports.c src/virtio/vsock/stream.c src/virtio/vsock/tsi.c src/virtio/vsock/tsi_msg.c src/virtio/queue.c src/util/guest_mem.c src/util/log.c */
/*
 * libFuzzer harness for the TSI control messages: the parser on its own
 * (every request type, every address family), then the requests as
 * datagrams from the guest through the device, with host sockets in a
 * network namespace of the fuzzer's own (vsock_env.h). Records:
 *
 *   0      request: 1024 + (byte % 8), the control port
 *   1      length of the payload
 *   2      bits 0-1: source port (the guest's control or data port) variant
 *   3..    payload
 *
 * Each parsed address is checked against every family: the length given
 * for the host call never exceeds the 128 bytes of the field, and unix
 * paths are absolute and NUL-terminated within it.
 */
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include "vsock_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_parse(uint32_t type, const uint8_t *p, size_t len)
{
    struct tsi_req r;
    if (tsi_req_parse(type, p, len, &r) != 0)
        return;
    if (r.addr_len > TSI_ADDR_SIZE)
        __builtin_trap();
    static const int families[] = {AF_INET, AF_INET6, AF_UNIX};
    for (unsigned i = 0; i < 3; i++) {
        int n = tsi_addr_check(families[i], &r.addr, r.addr_len);
        if (n < 0)
            continue;
        if (n > TSI_ADDR_SIZE || r.addr.ss_family != families[i])
            __builtin_trap();
        if (families[i] == AF_UNIX) {
            const struct sockaddr_un *sun = (const struct sockaddr_un *)&r.addr;
            size_t plen = (size_t)n - offsetof(struct sockaddr_un, sun_path) - 1;
            if (sun->sun_path[0] != '/' || sun->sun_path[plen] != 0 ||
                strlen(sun->sun_path) != plen)
                __builtin_trap();
        }
    }
    uint8_t rsp[TSI_RSP_GETNAME_SIZE];
    if (tsi_rsp_getname(0, &r.addr, r.addr_len, rsp) != TSI_RSP_GETNAME_SIZE)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vsock *v = fuzz_vsock_get();
    size_t off = 0;
    unsigned records = 0;
    while (off + 3 <= size && records++ < 256) {
        uint32_t type = TSI_PROXY_CREATE + data[off] % 8;
        size_t len = data[off + 1];
        uint8_t variant = data[off + 2] & 3;
        off += 3;
        if (len > size - off)
            len = size - off;
        check_parse(type, data + off, len);

        /* The same bytes as the guest sends them: one datagram to the port. */
        uint8_t pkt[VSOCK_HDR_SIZE + 255];
        uint32_t svm = len >= 4 ? (uint32_t)data[off] | (uint32_t)data[off + 1] << 8 : 0;
        static const uint32_t from[] = {3000, 3001, 0, 1028};
        struct vsock_hdr h = {.src_cid = VSOCK_CID_GUEST,
                              .dst_cid = VSOCK_CID_HOST,
                              .src_port = variant == 2 ? svm : from[variant],
                              .dst_port = type,
                              .len = (uint32_t)len,
                              .type = VSOCK_TYPE_DGRAM,
                              .op = VSOCK_OP_RW};
        vsock_hdr_encode(&h, pkt);
        memcpy(pkt + VSOCK_HDR_SIZE, data + off, len);
        struct iovec iov = {pkt, VSOCK_HDR_SIZE + len};
        if (!vsock_core_tx_paused(v))
            vsock_core_tx(v, &iov, 1);
        off += len;
        if (records % 8 == 0) {
            vsock_core_poll(v, 0);
            fuzz_vsock_drain(v, 4096 + VSOCK_HDR_SIZE, 16);
        }
        fuzz_vsock_check(v);
    }
    vsock_core_poll(v, 0);
    fuzz_vsock_drain(v, 4096 + VSOCK_HDR_SIZE, 64);
    fuzz_vsock_check(v);
    vsock_core_reset(v);
    return 0;
}
