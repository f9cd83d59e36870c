/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/util/guest_mem.c */
/* gm_ptr is the one gate between guest addresses and host memory: its edges. */
#include "test.h"

#include <errno.h>
#include <stdbool.h>

#include "util/guest_mem.h"

static uint8_t mem_a[0x1000], mem_b[0x2000];

/* Region A at [0x1000, 0x2000), B right after it at [0x2000, 0x4000). */
static void two_regions(struct guest_mem *gm)
{
    memset(gm, 0, sizeof(*gm));
    if (gm_add_region(gm, 0x1000, sizeof(mem_a), mem_a) ||
        gm_add_region(gm, 0x2000, sizeof(mem_b), mem_b))
        abort();
}

static void test_add_region(void)
{
    struct guest_mem gm = {0};
    uint8_t buf[16];
    CHECK_EQ(gm_add_region(&gm, 0x1000, 0x1000, mem_a), 0);
    /* Overlaps: identical, partial at each end, contained, containing. */
    CHECK_EQ(gm_add_region(&gm, 0x1000, 0x1000, mem_b), -EINVAL);
    CHECK_EQ(gm_add_region(&gm, 0x800, 0x1000, mem_b), -EINVAL);
    CHECK_EQ(gm_add_region(&gm, 0x1fff, 0x1000, mem_b), -EINVAL);
    CHECK_EQ(gm_add_region(&gm, 0x1100, 0x10, mem_b), -EINVAL);
    CHECK_EQ(gm_add_region(&gm, 0x0, 0x10000, mem_b), -EINVAL);
    /* Adjacent on both sides is fine. */
    CHECK_EQ(gm_add_region(&gm, 0x2000, 0x1000, mem_b), 0);
    CHECK_EQ(gm_add_region(&gm, 0x0, 0x1000, mem_b + 0x1000), 0);
    CHECK_EQ(gm.n_regions, 3);
    /* Size 0, NULL host, wrapping or ending exactly at 2^64. */
    CHECK_EQ(gm_add_region(&gm, 0x10000, 0, buf), -EINVAL);
    CHECK_EQ(gm_add_region(&gm, 0x10000, 16, NULL), -EINVAL);
    CHECK_EQ(gm_add_region(&gm, UINT64_MAX - 7, 16, buf), -EINVAL);
    CHECK_EQ(gm_add_region(&gm, 0ull - 16, 16, buf), -EINVAL);
    CHECK_EQ(gm.n_regions, 3);
    /* The table is full at GM_MAX_REGIONS. */
    for (unsigned i = gm.n_regions; i < GM_MAX_REGIONS; i++)
        CHECK_EQ(gm_add_region(&gm, 0x100000ull * (i + 1), 16, buf), 0);
    CHECK_EQ(gm_add_region(&gm, 0x10000000, 16, buf), -EINVAL);
    CHECK_EQ(gm.n_regions, GM_MAX_REGIONS);
}

static void test_ptr_edges(void)
{
    struct guest_mem gm;
    two_regions(&gm);
    CHECK(gm_ptr(&gm, 0x1000, 1) == mem_a);
    CHECK(gm_ptr(&gm, 0x1000, 0x1000) == mem_a);
    CHECK(gm_ptr(&gm, 0x1fff, 1) == mem_a + 0xfff);
    CHECK(gm_ptr(&gm, 0x2000, 0x2000) == mem_b);
    CHECK(gm_ptr(&gm, 0x3fff, 1) == mem_b + 0x1fff);
    /* One byte too many, at either region's end. */
    CHECK(gm_ptr(&gm, 0x1000, 0x1001) == NULL);
    CHECK(gm_ptr(&gm, 0x1fff, 2) == NULL); /* adjacent, but not contiguous in the host */
    CHECK(gm_ptr(&gm, 0x2000, 0x2001) == NULL);
    CHECK(gm_ptr(&gm, 0x3fff, 2) == NULL);
    /* Before, after. */
    CHECK(gm_ptr(&gm, 0xfff, 1) == NULL);
    CHECK(gm_ptr(&gm, 0xfff, 2) == NULL);
    CHECK(gm_ptr(&gm, 0x4000, 1) == NULL);
    CHECK(gm_ptr(&gm, 0, 0x10000) == NULL);
}

static void test_ptr_len0(void)
{
    struct guest_mem gm;
    two_regions(&gm);
    /* len 0 is checked as len 1: inside is fine, one past the end is not. */
    CHECK(gm_ptr(&gm, 0x1000, 0) == mem_a);
    CHECK(gm_ptr(&gm, 0x3fff, 0) == mem_b + 0x1fff);
    CHECK(gm_ptr(&gm, 0x4000, 0) == NULL);
    CHECK(gm_ptr(&gm, 0, 0) == NULL);
}

static void test_ptr_wrap(void)
{
    struct guest_mem gm;
    two_regions(&gm);
    /* gpa + len wraps around 2^64 back into a region. */
    CHECK(gm_ptr(&gm, UINT64_MAX, 0x1002) == NULL);
    CHECK(gm_ptr(&gm, 0x1000, UINT64_MAX) == NULL);
    CHECK(gm_ptr(&gm, 0x1800, 0ull - 0x800) == NULL);
    CHECK(gm_ptr(&gm, UINT64_MAX, 1) == NULL);
    CHECK(gm_ptr(&gm, UINT64_MAX, 0) == NULL);

    /* A region near the top of the address space. */
    struct guest_mem top = {0};
    uint8_t buf[16];
    CHECK_EQ(gm_add_region(&top, 0ull - 32, 16, buf), 0);
    CHECK(gm_ptr(&top, 0ull - 32, 16) == buf);
    CHECK(gm_ptr(&top, 0ull - 32, 17) == NULL);
    CHECK(gm_ptr(&top, 0ull - 17, 1) == buf + 15);
    CHECK(gm_ptr(&top, 0ull - 17, 0ull - 16) == NULL);
}

static void test_empty(void)
{
    struct guest_mem gm = {0};
    uint8_t b;
    CHECK(gm_ptr(&gm, 0, 1) == NULL);
    CHECK_EQ(gm_read(&gm, 0, &b, 1), -EFAULT);
}

static void test_read_write(void)
{
    struct guest_mem gm;
    two_regions(&gm);
    uint8_t in[4] = {1, 2, 3, 4}, out[4] = {0};
    CHECK_EQ(gm_write(&gm, 0x1ffc, in, 4), 0);
    CHECK(memcmp(mem_a + 0xffc, in, 4) == 0);
    CHECK_EQ(gm_read(&gm, 0x1ffc, out, 4), 0);
    CHECK(memcmp(out, in, 4) == 0);
    /* Crossing into B fails as a whole and writes nothing. */
    memset(mem_b, 0, 4);
    CHECK_EQ(gm_write(&gm, 0x1ffe, in, 4), -EFAULT);
    CHECK(mem_b[0] == 0);
    CHECK_EQ(gm_read(&gm, 0x3ffe, out, 4), -EFAULT);
    CHECK_EQ(gm_read(&gm, 0x1000, out, 0), 0);
}

int main(void)
{
    RUN(test_add_region);
    RUN(test_ptr_edges);
    RUN(test_ptr_len0);
    RUN(test_ptr_wrap);
    RUN(test_empty);
    RUN(test_read_write);
    return TEST_EXIT();
}
