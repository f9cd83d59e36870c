/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a balloon driver hands the device, turned into host memory to give
 * back: the pure part of virtio-balloon, separate so that it is unit
 * tested and fuzzed on its own.
 *
 * Free page reporting (reporting_vq): each request is a chain of
 * device-writable buffers, each one a block of free guest pages (Linux
 * reports blocks of 2 MiB and more, up to 32 per request). Inflate
 * (inflateq): a device-readable array of le32 page frame numbers in 4 KiB
 * units. Both are checked whole before anything is released: a buffer
 * that is not page aligned, a readable buffer where writable ones belong
 * (or the reverse), a PFN outside guest RAM, or a request larger than the
 * device takes is an error, and the device then fails.
 */
#ifndef KRUN_VIRTIO_BALLOON_PAGES_H
#define KRUN_VIRTIO_BALLOON_PAGES_H

#include <stddef.h>
#include <stdint.h>

#include "util/guest_mem.h"
#include "virtio/queue.h"

/* The balloon's page: 4 KiB whatever the guest's or the host's page size (spec). */
#define BALLOON_PAGE_SHIFT 12
#define BALLOON_PAGE_SIZE  (1u << BALLOON_PAGE_SHIFT)

/* Host memory backing guest RAM, to be given back. */
struct balloon_span {
    uint8_t *host;
    size_t len;
};

/*
 * The blocks of a reporting chain (segments already translated and bounded
 * to guest RAM by virtq_pop), one span each, into out[0 .. cap). Returns
 * how many, or -EINVAL with *why saying what is wrong: a device-readable
 * segment, a segment whose address or length is not a multiple of 4 KiB,
 * more segments than cap.
 */
int balloon_report_spans(const struct virtq_chain *c, struct balloon_span *out, unsigned cap,
                         const char **why);

/*
 * The pages of an inflate chain. The PFN array is copied once into
 * pfns[0 .. cap) and each page is checked inside guest RAM; adjacent
 * pages are merged, so at most cap spans go to out[]. Returns how many
 * spans, or -EINVAL with *why: a device-writable segment, a length that
 * is not a multiple of 4, more than cap PFNs, a page outside guest RAM.
 */
int balloon_inflate_spans(const struct guest_mem *gm, const struct virtq_chain *c, uint32_t *pfns,
                          unsigned cap, struct balloon_span *out, const char **why);

/*
 * The part of span made of whole host pages of page_size (a power of two),
 * which is what the host can release; len 0 if there is none.
 */
struct balloon_span balloon_span_host_pages(struct balloon_span span, size_t page_size);

#endif
