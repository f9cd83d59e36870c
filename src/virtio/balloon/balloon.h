/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-balloon (device id 5) with free page reporting: the guest tells
 * the device which blocks of its RAM are free, and the host drops their
 * backing (MADV_DONTNEED on the anonymous, private guest RAM: the next
 * touch faults in a zero page), so that a VM's resident memory follows
 * what its guest uses instead of the most it ever touched. (Pages of the
 * kernel bundle's private file mapping fall back to the file's bytes
 * instead; without PAGE_POISON, which is not offered, the guest assumes
 * nothing of a reported page's content.)
 *
 * Offered: VIRTIO_BALLOON_F_REPORTING (and EVENT_IDX). Queues: inflateq,
 * deflateq, reporting_vq (index 2: neither STATS_VQ nor FREE_PAGE_HINT is
 * offered). The host never asks for pages (num_pages stays 0), but a
 * driver that inflates anyway has its pages released too, and deflates
 * are acknowledged. Config space: num_pages, actual (the driver writes
 * actual).
 */
#ifndef KRUN_VIRTIO_BALLOON_H
#define KRUN_VIRTIO_BALLOON_H

#include <stddef.h>
#include <stdint.h>

struct virtio_device;

/* Feature bit of free page reporting (virtio spec: VIRTIO_BALLOON_F_PAGE_REPORTING). */
#define BALLOON_F_REPORTING (1ull << 5)

/* Queue indexes with the features we offer. */
enum { BALLOON_INFLATEQ, BALLOON_DEFLATEQ, BALLOON_REPORTQ, BALLOON_QUEUES };

#define BALLOON_QUEUE_SIZE 128
/* The most PFNs one inflate request may carry (Linux sends at most 256). */
#define BALLOON_MAX_PFNS 4096

/* Pages given back to the host so far (statistics and tests). */
struct balloon_stats {
    uint64_t reported_bytes; /* through free page reporting */
    uint64_t inflated_bytes; /* through inflate requests */
};

/* Create the device. Returns 0 or -errno with a message in err. */
int virtio_balloon_create(struct virtio_device **out, char *err, size_t errlen);

/* What dev (a balloon) has released so far. */
struct balloon_stats virtio_balloon_stats(struct virtio_device *dev);

#endif
