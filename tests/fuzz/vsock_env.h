/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The vsock device model for the fuzzers, driven as the device thread
 * drives it. TSI makes real socket calls, so the fuzzer first moves into a
 * network namespace of its own (only loopback, nothing listening but what
 * the guest asks for); without the privilege for that, TSI stays off and
 * only the refusals are exercised. AF_UNIX TSI is always off: its paths
 * would name files anywhere on this machine.
 */
#ifndef KRUN_FUZZ_VSOCK_ENV_H
#define KRUN_FUZZ_VSOCK_ENV_H

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "virtio/queue.h"
#include "virtio/vsock/internal.h"

static struct vsock fuzz_vsock;
static char fuzz_dir[64];

static void fuzz_lo_up(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP;
        ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    if (s >= 0)
        close(s);
}

/* The device, once per process; the ports: 1000 connects to a missing path, 2000 listens. */
static struct vsock *fuzz_vsock_get(void)
{
    static bool ready;
    if (ready)
        return &fuzz_vsock;
    uint32_t tsi = 0;
    if (unshare(CLONE_NEWNET) == 0) {
        fuzz_lo_up();
        tsi = VSOCK_TSI_INET;
    } else {
        fprintf(stderr, "fuzz: no network namespace (%s): TSI off\n", strerror(errno));
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/fuzz-vsock-XXXXXX");
    if (!mkdtemp(fuzz_dir))
        abort();
    static char missing[128], listen_path[128];
    snprintf(missing, sizeof(missing), "%s/missing.sock", fuzz_dir);
    snprintf(listen_path, sizeof(listen_path), "%s/listen.sock", fuzz_dir);
    static struct vsock_port_config ports[2];
    ports[0] = (struct vsock_port_config){.port = 1000, .path = missing};
    ports[1] = (struct vsock_port_config){.port = 2000, .path = listen_path, .listen = true};
    static const struct vsock_port_map_entry map[] = {{.host_port = 18080, .guest_port = 80}};
    struct vsock_dev_config cfg = {
        .tsi_features = tsi, .ports = ports, .n_ports = 2, .port_map = map, .n_port_map = 1};
    char err[256];
    if (vsock_core_init(&fuzz_vsock, "fuzz-vsock", &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz: %s\n", err);
        abort();
    }
    ready = true;
    return &fuzz_vsock;
}

/* Take what the device has for the guest into receive buffers of `cap` bytes; check each. */
static void fuzz_vsock_drain(struct vsock *v, size_t cap, unsigned max_packets)
{
    static uint8_t buf[VSOCK_HDR_SIZE + 65536];
    if (cap > sizeof(buf))
        cap = sizeof(buf);
    for (unsigned i = 0; i < max_packets && vsock_core_rx_pending(v); i++) {
        /* Two pieces, split inside the header when the buffer is small. */
        size_t cut = cap / 3;
        struct iovec iov[2] = {{buf, cut}, {buf + cut, cap - cut}};
        size_t w = vsock_core_rx(v, iov, 2);
        if (!w)
            break;
        struct vsock_hdr h;
        if (w < VSOCK_HDR_SIZE || w > cap)
            __builtin_trap();
        vsock_hdr_decode(&h, buf);
        if (h.len != w - VSOCK_HDR_SIZE || h.src_cid != VSOCK_CID_HOST ||
            h.dst_cid != VSOCK_CID_GUEST)
            __builtin_trap();
        /* Data only on streams and datagrams; a RST answers whatever type the guest used. */
        if (h.op == VSOCK_OP_RW && ((h.type != VSOCK_TYPE_STREAM && h.type != VSOCK_TYPE_DGRAM) ||
                                    (h.type == VSOCK_TYPE_STREAM && h.len == 0)))
            __builtin_trap();
        if (h.op != VSOCK_OP_RW && h.op != VSOCK_OP_RST && h.type != VSOCK_TYPE_STREAM)
            __builtin_trap();
    }
}

/* The bounds hold whatever the guest did. */
static void fuzz_vsock_check(const struct vsock *v)
{
    if (v->n_conns > VSOCK_MAX_CONNS || v->buffered > VSOCK_BUFFER_BUDGET ||
        v->n_ctrl > VSOCK_CTRL_MAX)
        __builtin_trap();
}

#endif
