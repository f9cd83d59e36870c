/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-rng (device id 4): the guest's /dev/hwrng, and early entropy for
 * its CRNG, from the host's getrandom(). One queue of buffers the device
 * fills; no features beyond the transport's, no config space.
 */
#ifndef KRUN_VIRTIO_RNG_H
#define KRUN_VIRTIO_RNG_H

#include <stddef.h>

struct virtio_device;

/* The most bytes one request gets (a driver may post more room; it gets this much). */
#define RNG_MAX_REQUEST 65536u

/* Create the device. Returns 0 or -errno with a message in err. */
int virtio_rng_create(struct virtio_device **out, char *err, size_t errlen);

#endif
