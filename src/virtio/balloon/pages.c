/* SPDX-License-Identifier: Apache-2.0 */
#include "virtio/balloon/pages.h"

#include <endian.h>
#include <errno.h>

static int fail(const char **why, const char *msg)
{
    *why = msg;
    return -EINVAL;
}

int balloon_report_spans(const struct virtq_chain *c, struct balloon_span *out, unsigned cap,
                         const char **why)
{
    if (c->n_out)
        return fail(why, "a free page report has a device-readable buffer");
    if (c->n_in > cap)
        return fail(why, "a free page report has too many buffers");
    for (unsigned i = 0; i < c->n_in; i++) {
        const struct iovec *v = &c->iov[i];
        if ((uintptr_t)v->iov_base % BALLOON_PAGE_SIZE || v->iov_len % BALLOON_PAGE_SIZE)
            return fail(why, "a free page report is not in whole 4 KiB pages");
        out[i] = (struct balloon_span){.host = v->iov_base, .len = v->iov_len};
    }
    return (int)c->n_in;
}

int balloon_inflate_spans(const struct guest_mem *gm, const struct virtq_chain *c, uint32_t *pfns,
                          unsigned cap, struct balloon_span *out, const char **why)
{
    if (c->n_in)
        return fail(why, "an inflate request has a device-writable buffer");
    if (c->out_len % sizeof(uint32_t))
        return fail(why, "an inflate request is not a whole number of PFNs");
    if (c->out_len / sizeof(uint32_t) > cap)
        return fail(why, "an inflate request has more PFNs than the device takes");
    unsigned n = (unsigned)(c->out_len / sizeof(uint32_t));
    /* One copy: the guest may change its array meanwhile, we use only ours. */
    iov_to_buf(c->iov, c->n_out, 0, pfns, (size_t)n * sizeof(uint32_t));
    unsigned spans = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t gpa = (uint64_t)le32toh(pfns[i]) << BALLOON_PAGE_SHIFT;
        uint8_t *p = gm_ptr(gm, gpa, BALLOON_PAGE_SIZE);
        if (!p)
            return fail(why, "an inflate request names a page outside guest RAM");
        if (spans && out[spans - 1].host + out[spans - 1].len == p)
            out[spans - 1].len += BALLOON_PAGE_SIZE;
        else
            out[spans++] = (struct balloon_span){.host = p, .len = BALLOON_PAGE_SIZE};
    }
    return (int)spans;
}

struct balloon_span balloon_span_host_pages(struct balloon_span span, size_t page_size)
{
    uintptr_t start = ((uintptr_t)span.host + page_size - 1) & ~(uintptr_t)(page_size - 1);
    uintptr_t end = ((uintptr_t)span.host + span.len) & ~(uintptr_t)(page_size - 1);
    if (end <= start)
        return (struct balloon_span){.host = span.host, .len = 0};
    return (struct balloon_span){.host = (uint8_t *)start, .len = end - start};
}
