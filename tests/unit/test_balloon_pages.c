/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/balloon/pages.c src/virtio/queue.c src/util/guest_mem.c */
/*
 * The balloon's request parsers on hand-made chains: free page reports
 * become spans only when every buffer is writable and in whole 4 KiB
 * pages; inflate arrays only when every PFN is a page of guest RAM, and
 * adjacent pages merge; the host-page trimming keeps whole pages only.
 */
#include "test.h"

#include <endian.h>
#include <errno.h>

#include "util/guest_mem.h"
#include "virtio/balloon/pages.h"

#define RAM_SIZE (1u << 20)

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));

static struct virtq_chain chain(struct iovec *iov, unsigned n_out, unsigned n_in)
{
    struct virtq_chain c = {.iov = iov, .iov_cap = 16, .n_out = n_out, .n_in = n_in};
    for (unsigned i = 0; i < n_out + n_in; i++)
        *(i < n_out ? &c.out_len : &c.in_len) += iov[i].iov_len;
    return c;
}

static void test_report(void)
{
    struct balloon_span s[4];
    const char *why = NULL;
    struct iovec iov[5] = {{ram, 8192}, {ram + 65536, 4096}, {ram + 4096, 4096}};
    struct virtq_chain c = chain(iov, 0, 3);
    CHECK_EQ(balloon_report_spans(&c, s, 4, &why), 3);
    CHECK(s[0].host == ram && s[0].len == 8192);
    CHECK(s[1].host == ram + 65536 && s[1].len == 4096);
    CHECK(s[2].host == ram + 4096 && s[2].len == 4096);

    /* An empty report is no error. */
    c = chain(iov, 0, 0);
    CHECK_EQ(balloon_report_spans(&c, s, 4, &why), 0);

    /* Readable buffers, misalignment, a partial page, too many buffers. */
    c = chain(iov, 1, 2);
    CHECK_EQ(balloon_report_spans(&c, s, 4, &why), -EINVAL);
    CHECK(why && strstr(why, "device-readable"));
    iov[3] = (struct iovec){ram + 512, 4096};
    c = chain(iov + 3, 0, 1);
    CHECK_EQ(balloon_report_spans(&c, s, 4, &why), -EINVAL);
    CHECK(why && strstr(why, "4 KiB"));
    iov[3] = (struct iovec){ram, 4095};
    c = chain(iov + 3, 0, 1);
    CHECK_EQ(balloon_report_spans(&c, s, 4, &why), -EINVAL);
    iov[3] = (struct iovec){ram, 4096};
    iov[4] = (struct iovec){ram, 4096};
    c = chain(iov, 0, 5);
    CHECK_EQ(balloon_report_spans(&c, s, 4, &why), -EINVAL);
    CHECK(why && strstr(why, "too many"));
}

static struct guest_mem two_regions(void)
{
    struct guest_mem gm = {0};
    /* 512 KiB at 0 and 512 KiB at 4 GiB: PFN 0x100000 is the second one's first page. */
    CHECK_EQ(gm_add_region(&gm, 0, RAM_SIZE / 2, ram), 0);
    CHECK_EQ(gm_add_region(&gm, 1ull << 32, RAM_SIZE / 2, ram + RAM_SIZE / 2), 0);
    return gm;
}

static void test_inflate(void)
{
    struct guest_mem gm = two_regions();
    uint32_t arr[8], pfns[8];
    struct balloon_span s[8];
    const char *why = NULL;
    /* 3, 4, 5 merge; 10 alone; the last page of low RAM and the first of high RAM. */
    const uint32_t want[] = {3, 4, 5, 10, 127, 0x100000};
    for (unsigned i = 0; i < 6; i++)
        arr[i] = htole32(want[i]);
    /* The array split over two readable segments, across a PFN. */
    struct iovec iov[2] = {{arr, 10}, {(uint8_t *)arr + 10, 14}};
    struct virtq_chain c = chain(iov, 2, 0);
    int n = balloon_inflate_spans(&gm, &c, pfns, 8, s, &why);
    CHECK_EQ(n, 3);
    CHECK(s[0].host == ram + 3 * 4096 && s[0].len == 3 * 4096);
    CHECK(s[1].host == ram + 10 * 4096 && s[1].len == 4096);
    /* 127 and 0x100000 are adjacent in the host (one buffer here): merged, still all RAM. */
    CHECK(s[2].host == ram + 127 * 4096 && s[2].len == 2 * 4096);

    /* Outside guest RAM: past the low region, in the gap, past the end; 2^32-1. */
    const uint32_t bad[] = {128, 0xfffff, 0x100080, 0xffffffffu};
    for (unsigned i = 0; i < 4; i++) {
        arr[0] = htole32(3);
        arr[1] = htole32(bad[i]);
        struct iovec one = {arr, 8};
        c = chain(&one, 1, 0);
        why = NULL;
        CHECK_EQ(balloon_inflate_spans(&gm, &c, pfns, 8, s, &why), -EINVAL);
        CHECK(why && strstr(why, "outside guest RAM"));
    }

    /* Writable buffers, a partial PFN, too many PFNs. */
    struct iovec one = {arr, 8};
    c = chain(&one, 0, 1);
    CHECK_EQ(balloon_inflate_spans(&gm, &c, pfns, 8, s, &why), -EINVAL);
    one.iov_len = 6;
    c = chain(&one, 1, 0);
    CHECK_EQ(balloon_inflate_spans(&gm, &c, pfns, 8, s, &why), -EINVAL);
    one.iov_len = 12;
    c = chain(&one, 1, 0);
    CHECK_EQ(balloon_inflate_spans(&gm, &c, pfns, 2, s, &why), -EINVAL);
    CHECK(why && strstr(why, "more PFNs"));
}

static void test_host_pages(void)
{
    uint8_t *base = (uint8_t *)(uintptr_t)0x10000000;
    struct balloon_span s = balloon_span_host_pages((struct balloon_span){base, 8192}, 4096);
    CHECK(s.host == base && s.len == 8192);
    /* With 16 KiB host pages: only the whole ones inside. */
    s = balloon_span_host_pages((struct balloon_span){base + 4096, 40960}, 16384);
    CHECK(s.host == base + 16384 && s.len == 16384);
    s = balloon_span_host_pages((struct balloon_span){base + 4096, 8192}, 16384);
    CHECK_EQ(s.len, 0);
}

int main(void)
{
    RUN(test_report);
    RUN(test_inflate);
    RUN(test_host_pages);
    return TEST_EXIT();
}
