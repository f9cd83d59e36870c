/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net (device id 1): one interface, one RX and one TX queue, its MAC
 * and link status in config space, mergeable RX buffers, and the offloads
 * the caller asked for where the backend can honour them (see
 * virtio_net_offered_features).
 */
#ifndef KRUN_VIRTIO_NET_H
#define KRUN_VIRTIO_NET_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/net/backend.h"

struct virtio_device;

/*
 * The device features offered for the caller's (NET_FEATURE_* bits, which
 * are virtio-net's own) on this kind of backend. A tap takes every
 * offload. Plain-frame backends get the checksum offload (the device
 * finishes the checksum) and the GUEST_* ones (frames from the peer are
 * never segmentation offloads, so there is nothing to do), but not the
 * HOST_TSO/UFO ones: the device would have to segment.
 */
uint64_t virtio_net_offered_features(uint32_t caller_features, enum net_backend_kind kind);

/*
 * Create the interface `name` (for messages: "eth0") over backend be, which
 * the device owns from here (also on failure). Returns 0 or -errno with a
 * message in err.
 */
int virtio_net_create(const char *name, struct net_backend *be, const uint8_t mac[6],
                      uint32_t caller_features, struct virtio_device **out, char *err,
                      size_t errlen);

#endif
