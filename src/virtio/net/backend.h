/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where a virtio-net interface's frames go on the host: a stream socket
 * (passt, socket_vmnet: each frame behind its 4-byte big-endian length), a
 * datagram socket (gvproxy, vmnet-helper: one frame per datagram) or a tap
 * device (frames behind the virtio-net header, offloads passed through).
 * Opened when the VM is built, so that a wrong path or tap name is the
 * caller's error from krun_start_enter; non-blocking.
 */
#ifndef KRUN_VIRTIO_NET_BACKEND_H
#define KRUN_VIRTIO_NET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum net_backend_kind { NET_BACKEND_STREAM, NET_BACKEND_DGRAM, NET_BACKEND_TAP };

struct net_backend {
    enum net_backend_kind kind;
    int fd;
    char *bound_path; /* a datagram socket's own name, removed at close */
};

/* A stream socket: connect to path, or take fd (the VM owns it from here). */
int net_backend_open_stream(struct net_backend *b, const char *path, int fd, char *err,
                            size_t errlen);

/*
 * A datagram socket: with path, bind a socket of our own (in $TMPDIR, named
 * after the process and index) and connect it to path, sending gvproxy's
 * "VFKT" greeting if vfkit; or take fd, already connected.
 */
int net_backend_open_dgram(struct net_backend *b, const char *path, int fd, bool vfkit,
                           unsigned index, char *err, size_t errlen);

/* The tap device name (created if it does not exist and we may), with the virtio-net header. */
int net_backend_open_tap(struct net_backend *b, const char *name, char *err, size_t errlen);

/* Tap: the offloads the driver acked (VIRTIO_NET_F_GUEST_*) become the tap's. Returns 0 or -errno.
 */
int net_backend_set_offloads(const struct net_backend *b, uint64_t acked);

void net_backend_close(struct net_backend *b);

/* Whether frames cross the backend with the virtio-net header (tap). */
static inline bool net_backend_has_hdr(const struct net_backend *b)
{
    return b->kind == NET_BACKEND_TAP;
}

#endif
