/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/balloon/pages.c src/virtio/queue.c src/util/guest_mem.c */
/*
 * The virtio-balloon request parsers (virtio/balloon/pages.c) on arbitrary
 * chains, with a reference walk written here from the spec and the
 * parsers' contract:
 *   - a free page report is refused exactly when it has a readable
 *     segment, more segments than the cap, or a segment not in whole,
 *     aligned 4 KiB pages; otherwise every segment is one span, unchanged;
 *   - an inflate array is refused exactly when it has a writable segment,
 *     a partial PFN, more PFNs than the cap or a PFN outside guest RAM;
 *     otherwise its spans are aligned 4 KiB pages inside the guest RAM
 *     buffer, no more of them than PFNs, their bytes add up to 4 KiB per
 *     PFN and they cover exactly the pages named;
 *   - the host-page trimming stays inside its span, aligned, and leaves
 *     out less than a host page at either end.
 * Segments that carry PFN arrays are copies of exactly their size, so
 * that a read past one is caught.
 *
 * Input: a mode byte (bit 0 inflate, else report; bits 1..7 the cap - 1,
 * mod 40), a segment count (mod 17), then per segment a flags byte (bit 0
 * writable), and for a report a le32 offset and a le32 length in guest
 * RAM (cut to fit, as virtq_pop guarantees), for an inflate a length byte
 * and that many bytes of PFN array; then a byte choosing the host page
 * size (4 KiB << (b % 5)) for the trimming check.
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "util/guest_mem.h"
#include "virtio/balloon/pages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HALF      (256u * 1024)
#define RAM_PAGES (2 * HALF / BALLOON_PAGE_SIZE)
#define HIGH_GPA  (1ull << 32)
#define MAX_SEGS  16

static uint8_t ram[2 * HALF] __attribute__((aligned(4096)));

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_balloon: %s (line %d)\n", #cond, __LINE__);                      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The page of ram that PFN pfn is, or -1. */
static long ram_page(uint32_t pfn)
{
    uint64_t gpa = (uint64_t)pfn << BALLOON_PAGE_SHIFT;
    if (gpa < HALF)
        return (long)(gpa / BALLOON_PAGE_SIZE);
    if (gpa >= HIGH_GPA && gpa - HIGH_GPA < HALF)
        return (long)((HALF + gpa - HIGH_GPA) / BALLOON_PAGE_SIZE);
    return -1;
}

static void check_report(struct in *in, unsigned cap, unsigned nseg)
{
    struct iovec iov[MAX_SEGS];
    bool writable[MAX_SEGS];
    unsigned n_out = 0, n_in = 0;
    /* Readable segments first, as virtq_pop hands them out. */
    struct iovec tmp[MAX_SEGS];
    for (unsigned i = 0; i < nseg; i++) {
        writable[i] = u8(in) & 1;
        uint32_t off = (uint32_t)uN(in, 4) % (2 * HALF);
        uint32_t len = (uint32_t)uN(in, 4) % (2 * HALF - off) + 1;
        tmp[i] = (struct iovec){ram + off, len};
    }
    for (unsigned i = 0; i < nseg; i++)
        if (!writable[i])
            iov[n_out++] = tmp[i];
    for (unsigned i = 0; i < nseg; i++)
        if (writable[i])
            iov[n_out + n_in++] = tmp[i];
    struct virtq_chain c = {.iov = iov, .iov_cap = MAX_SEGS, .n_out = n_out, .n_in = n_in};
    bool bad = n_out > 0 || n_in > cap;
    for (unsigned i = 0; i < nseg; i++)
        bad |= (uintptr_t)iov[i].iov_base % BALLOON_PAGE_SIZE || iov[i].iov_len % BALLOON_PAGE_SIZE;
    struct balloon_span spans[40];
    const char *why = NULL;
    int ret = balloon_report_spans(&c, spans, cap, &why);
    if (bad) {
        REQUIRE(ret == -EINVAL && why);
        return;
    }
    REQUIRE(ret == (int)n_in);
    for (unsigned i = 0; i < n_in; i++)
        REQUIRE(spans[i].host == iov[i].iov_base && spans[i].len == iov[i].iov_len);
}

static void check_inflate(struct in *in, unsigned cap, unsigned nseg)
{
    struct guest_mem gm = {0};
    REQUIRE(gm_add_region(&gm, 0, HALF, ram) == 0);
    REQUIRE(gm_add_region(&gm, HIGH_GPA, HALF, ram + HALF) == 0);
    struct iovec iov[MAX_SEGS];
    bool any_writable = false;
    uint8_t array[MAX_SEGS * 255];
    size_t total = 0;
    for (unsigned i = 0; i < nseg; i++) {
        any_writable |= u8(in) & 1;
        size_t len = u8(in);
        uint8_t *seg = malloc(len ? len : 1);
        for (size_t k = 0; k < len; k++)
            seg[k] = array[total + k] = u8(in);
        total += len;
        iov[i] = (struct iovec){seg, len};
    }
    struct virtq_chain c = {.iov = iov, .iov_cap = MAX_SEGS, .out_len = total};
    *(any_writable ? &c.n_in : &c.n_out) = nseg;
    if (any_writable) {
        c.in_len = total;
        c.out_len = 0;
    }
    unsigned n = (unsigned)(total / 4);
    bool bad = any_writable || total % 4 || n > cap;
    static bool want[RAM_PAGES];
    memset(want, 0, sizeof(want));
    for (unsigned i = 0; !bad && i < n; i++) {
        uint32_t pfn;
        memcpy(&pfn, array + 4 * i, 4);
        long page = ram_page(le32toh(pfn));
        bad = page < 0;
        if (!bad)
            want[page] = true;
    }
    uint32_t pfns[40];
    struct balloon_span spans[40];
    const char *why = NULL;
    int ret = balloon_inflate_spans(&gm, &c, pfns, cap, spans, &why);
    for (unsigned i = 0; i < nseg; i++)
        free(iov[i].iov_base);
    if (bad) {
        REQUIRE(ret == -EINVAL && why);
        return;
    }
    REQUIRE(ret >= 0 && (unsigned)ret <= n);
    static bool got[RAM_PAGES];
    memset(got, 0, sizeof(got));
    size_t bytes = 0;
    for (int i = 0; i < ret; i++) {
        REQUIRE(spans[i].host >= ram && spans[i].len > 0);
        REQUIRE((size_t)(spans[i].host - ram) + spans[i].len <= sizeof(ram));
        REQUIRE((size_t)(spans[i].host - ram) % BALLOON_PAGE_SIZE == 0);
        REQUIRE(spans[i].len % BALLOON_PAGE_SIZE == 0);
        for (size_t o = 0; o < spans[i].len; o += BALLOON_PAGE_SIZE)
            got[(size_t)(spans[i].host - ram + o) / BALLOON_PAGE_SIZE] = true;
        bytes += spans[i].len;
    }
    REQUIRE(bytes == (size_t)n * BALLOON_PAGE_SIZE);
    REQUIRE(memcmp(want, got, sizeof(want)) == 0);
}

static void check_host_pages(struct in *in)
{
    size_t page = (size_t)BALLOON_PAGE_SIZE << (u8(in) % 5);
    uint32_t off = (uint32_t)uN(in, 4) % sizeof(ram);
    uint32_t len = (uint32_t)uN(in, 4) % (uint32_t)(sizeof(ram) - off + 1);
    struct balloon_span s = {ram + off, len};
    struct balloon_span t = balloon_span_host_pages(s, page);
    if (!t.len)
        return;
    REQUIRE(t.host >= s.host && t.host + t.len <= s.host + s.len);
    REQUIRE((uintptr_t)t.host % page == 0 && t.len % page == 0);
    REQUIRE((size_t)(t.host - s.host) < page);
    REQUIRE((size_t)((s.host + s.len) - (t.host + t.len)) < page);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct in in = {data, size};
    uint8_t mode = u8(&in);
    unsigned cap = (unsigned)(mode >> 1) % 40 + 1;
    unsigned nseg = u8(&in) % (MAX_SEGS + 1);
    if (mode & 1)
        check_inflate(&in, cap, nseg);
    else
        check_report(&in, cap, nseg);
    check_host_pages(&in);
    return 0;
}
