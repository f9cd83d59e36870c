/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/queue.c src/util/guest_mem.c */
/*
 * The split virtqueue against a hostile driver. Guest memory is two small
 * regions with a hole between them, plus (for the 4 GiB length tests) a
 * large lazily mapped region that is never touched.
 */
#include "test.h"

#include <errno.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <sys/mman.h>

#include "util/guest_mem.h"
#include "virtio/queue.h"

#define RAM_A_GPA  0x0ull
#define RAM_A_SIZE 0x10000ull
#define RAM_B_GPA  0x20000ull /* [0x10000, 0x20000) is a hole */
#define RAM_B_SIZE 0x10000ull
#define RAM_C_GPA  0x100000000ull
#define RAM_C_SIZE 0x100000000ull /* 4 GiB, mapped lazily, never touched: length tests */

#define DESC_GPA  0x1000ull
#define AVAIL_GPA 0x2000ull
#define USED_GPA  0x3000ull
#define BUF_GPA   0x20000ull /* buffers live in region B */

static struct guest_mem gm;
static uint8_t *ram_a, *ram_b;
static struct virtq q;
static struct iovec iov[16];
static struct virtq_chain ch;
static uint16_t drv_avail_idx; /* the "driver's" avail index */

static void *host(uint64_t gpa)
{
    void *p = gm_ptr(&gm, gpa, 1);
    if (!p) {
        fprintf(stderr, "test bug: gpa 0x%" PRIx64 " not in RAM\n", gpa);
        abort();
    }
    return p;
}

static void init_mem(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    ram_a = aligned_alloc(4096, RAM_A_SIZE);
    ram_b = aligned_alloc(4096, RAM_B_SIZE);
    void *ram_c = mmap(NULL, RAM_C_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (!ram_a || !ram_b || ram_c == MAP_FAILED)
        abort();
    if (gm_add_region(&gm, RAM_A_GPA, RAM_A_SIZE, ram_a) ||
        gm_add_region(&gm, RAM_B_GPA, RAM_B_SIZE, ram_b) ||
        gm_add_region(&gm, RAM_C_GPA, RAM_C_SIZE, ram_c))
        abort();
}

/* Fresh memory and a queue of `num` entries at the standard addresses. */
static int setup_q(uint16_t num, bool event_idx, bool indirect)
{
    init_mem();
    memset(ram_a, 0, RAM_A_SIZE);
    memset(ram_b, 0, RAM_B_SIZE);
    memset(&q, 0, sizeof(q));
    q.num_max = 256;
    q.num = num;
    q.desc_gpa = DESC_GPA;
    q.avail_gpa = AVAIL_GPA;
    q.used_gpa = USED_GPA;
    q.ready = true;
    drv_avail_idx = 0;
    ch = (struct virtq_chain){.iov = iov, .iov_cap = 16};
    return virtq_activate(&q, &gm, event_idx, indirect);
}

static void set_desc_at(uint64_t table_gpa, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                        uint16_t next)
{
    struct vring_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};
    memcpy(host(table_gpa + 16ull * i), &d, sizeof(d));
}

static void set_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    set_desc_at(DESC_GPA, i, addr, len, flags, next);
}

static struct vring_avail *avail(void)
{
    return host(AVAIL_GPA);
}

static struct vring_used *used(void)
{
    return host(USED_GPA);
}

/* The driver makes chain `head` available. */
static void offer(uint16_t head)
{
    avail()->ring[drv_avail_idx % q.num] = head;
    drv_avail_idx++;
    avail()->idx = drv_avail_idx;
}

static uint16_t used_event_get(void)
{
    return avail()->ring[q.num];
}

static void used_event_set(uint16_t v)
{
    avail()->ring[q.num] = v;
}

static uint16_t avail_event(void)
{
    uint16_t v;
    memcpy(&v, &used()->ring[q.num], 2);
    return v;
}

/* Pop expecting a broken ring, and check that it stays broken. */
#define CHECK_BROKEN(expect_rc)                                                                    \
    do {                                                                                           \
        CHECK_EQ(virtq_pop(&q, &ch), (expect_rc));                                                 \
        CHECK(q.broken);                                                                           \
        CHECK(q.error != NULL);                                                                    \
        CHECK_EQ(virtq_pop(&q, &ch), -EIO);                                                        \
    } while (0)

static bool error_has(const char *word)
{
    return q.error && strstr(q.error, word);
}

/* ---- activate ---- */

static void test_activate_ok(void)
{
    CHECK_EQ(setup_q(8, false, false), 0);
    CHECK(!q.broken);
    CHECK(q.desc == host(DESC_GPA));
    CHECK(q.avail == host(AVAIL_GPA));
    CHECK(q.used == host(USED_GPA));
    CHECK_EQ(virtq_pop(&q, &ch), 0);
    /* num == num_max, and num == 1 */
    q.num = 256;
    CHECK_EQ(virtq_activate(&q, &gm, true, true), 0);
    q.num = 1;
    CHECK_EQ(virtq_activate(&q, &gm, true, true), 0);
}

static void test_activate_bad_num(void)
{
    static const uint16_t bad[] = {0, 3, 6, 100, 512, 32768};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(setup_q(bad[i], false, false), -EINVAL);
        CHECK(q.broken);
        CHECK(error_has("queue size"));
        CHECK_EQ(virtq_pop(&q, &ch), -EIO);
    }
}

static void test_activate_misaligned(void)
{
    setup_q(8, false, false);
    q.desc_gpa = DESC_GPA + 8;
    CHECK_EQ(virtq_activate(&q, &gm, false, false), -EINVAL);
    CHECK(error_has("misaligned"));
    q.desc_gpa = DESC_GPA;
    q.avail_gpa = AVAIL_GPA + 1;
    CHECK_EQ(virtq_activate(&q, &gm, false, false), -EINVAL);
    q.avail_gpa = AVAIL_GPA + 2; /* 2-byte aligned is enough */
    CHECK_EQ(virtq_activate(&q, &gm, false, false), 0);
    q.used_gpa = USED_GPA + 2;
    CHECK_EQ(virtq_activate(&q, &gm, false, false), -EINVAL);
    q.used_gpa = USED_GPA + 4;
    CHECK_EQ(virtq_activate(&q, &gm, false, false), 0);
    CHECK(!q.broken);
}

static void test_activate_outside_ram(void)
{
    setup_q(8, false, false);
    /* In the hole. */
    q.desc_gpa = 0x10000;
    CHECK_EQ(virtq_activate(&q, &gm, false, false), -EINVAL);
    CHECK(error_has("outside"));
    /* Desc table ends exactly at the end of region A: fine. */
    q.desc_gpa = RAM_A_SIZE - 16 * 8;
    CHECK_EQ(virtq_activate(&q, &gm, false, false), 0);
    /* ...one entry further: straddles the end. */
    q.desc_gpa = RAM_A_SIZE - 16 * 7;
    CHECK_EQ(virtq_activate(&q, &gm, false, false), -EINVAL);
    q.desc_gpa = DESC_GPA;
    /* Avail ring whose ring fits but whose used_event field does not. */
    q.avail_gpa = RAM_A_SIZE - (4 + 2 * 8);
    CHECK_EQ(virtq_activate(&q, &gm, false, false), -EINVAL);
    q.avail_gpa = RAM_A_SIZE - (4 + 2 * 8 + 2);
    CHECK_EQ(virtq_activate(&q, &gm, false, false), 0);
    q.avail_gpa = AVAIL_GPA;
    /* Same for the used ring's avail_event. */
    q.used_gpa = RAM_A_SIZE - (4 + 8 * 8);
    CHECK_EQ(virtq_activate(&q, &gm, false, false), -EINVAL);
    q.used_gpa = RAM_A_SIZE - (4 + 8 * 8 + 4);
    CHECK_EQ(virtq_activate(&q, &gm, false, false), 0);
    /* Address near 2^64. */
    q.used_gpa = 0xfffffffffffffff0ull;
    CHECK_EQ(virtq_activate(&q, &gm, false, false), -EINVAL);
}

static void test_pop_not_activated(void)
{
    struct virtq z = {.num_max = 8};
    CHECK_EQ(virtq_pop(&z, &ch), -EIO);
    virtq_push(&z, 0, 0); /* must not crash */
    CHECK(!virtq_needs_notify(&z));
    CHECK(!virtq_enable_notify(&z));
    virtq_disable_notify(&z);
}

/* ---- chains ---- */

static void test_simple_chain(void)
{
    setup_q(8, false, false);
    set_desc(2, BUF_GPA, 10, VRING_DESC_F_NEXT, 5);
    set_desc(5, 0x4000, 20, VRING_DESC_F_NEXT, 1);
    set_desc(1, BUF_GPA + 0x100, 100, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 7);
    set_desc(7, BUF_GPA + 0x1000, 3, VRING_DESC_F_WRITE, 0);
    offer(2);
    CHECK_EQ(virtq_pop(&q, &ch), 1);
    CHECK_EQ(ch.head, 2);
    CHECK_EQ(ch.n_out, 2);
    CHECK_EQ(ch.n_in, 2);
    CHECK_EQ(ch.out_len, 30);
    CHECK_EQ(ch.in_len, 103);
    CHECK(iov[0].iov_base == host(BUF_GPA) && iov[0].iov_len == 10);
    CHECK(iov[1].iov_base == host(0x4000) && iov[1].iov_len == 20);
    CHECK(iov[2].iov_base == host(BUF_GPA + 0x100) && iov[2].iov_len == 100);
    CHECK(iov[3].iov_base == host(BUF_GPA + 0x1000) && iov[3].iov_len == 3);
    CHECK_EQ(virtq_pop(&q, &ch), 0);
    CHECK_EQ(q.last_avail, 1);

    /* A single writable descriptor; a single readable one. */
    set_desc(0, BUF_GPA, 64, VRING_DESC_F_WRITE, 0);
    set_desc(3, BUF_GPA, 64, 0, 0);
    offer(0);
    offer(3);
    CHECK_EQ(virtq_pop(&q, &ch), 1);
    CHECK_EQ(ch.n_out, 0);
    CHECK_EQ(ch.n_in, 1);
    CHECK_EQ(virtq_pop(&q, &ch), 1);
    CHECK_EQ(ch.head, 3);
    CHECK_EQ(ch.n_out, 1);
    CHECK_EQ(ch.n_in, 0);
    CHECK_EQ(virtq_pop(&q, &ch), 0);
    CHECK(!q.broken);
}

static void test_zero_length_skipped(void)
{
    setup_q(8, false, false);
    /* The zero-length one points into the hole: its address is ignored. */
    set_desc(0, BUF_GPA, 8, VRING_DESC_F_NEXT, 1);
    set_desc(1, 0x10000, 0, VRING_DESC_F_NEXT, 2);
    set_desc(2, BUF_GPA + 8, 8, VRING_DESC_F_WRITE, 0);
    offer(0);
    CHECK_EQ(virtq_pop(&q, &ch), 1);
    CHECK_EQ(ch.n_out, 1);
    CHECK_EQ(ch.n_in, 1);
    CHECK(iov[1].iov_base == host(BUF_GPA + 8));
    /* A chain of only empty descriptors gives an empty chain. */
    set_desc(3, 0, 0, 0, 0);
    offer(3);
    CHECK_EQ(virtq_pop(&q, &ch), 1);
    CHECK_EQ(ch.n_out + ch.n_in, 0);
    /* An empty writable descriptor still counts for the read/write order. */
    set_desc(4, BUF_GPA, 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 5);
    set_desc(5, BUF_GPA, 8, 0, 0);
    offer(4);
    CHECK_BROKEN(-EIO);
    CHECK(error_has("readable descriptor after a writable"));
}

static void test_loop(void)
{
    setup_q(8, false, false);
    set_desc(0, BUF_GPA, 8, VRING_DESC_F_NEXT, 1);
    set_desc(1, BUF_GPA, 8, VRING_DESC_F_NEXT, 0);
    offer(0);
    CHECK_BROKEN(-EIO);
    CHECK(error_has("loop"));

    /* Self loop made of zero-length descriptors (no segments consumed). */
    setup_q(8, false, false);
    set_desc(3, 0, 0, VRING_DESC_F_NEXT, 3);
    offer(3);
    CHECK_BROKEN(-EIO);
    CHECK(error_has("loop"));
}

static void test_chain_as_long_as_queue(void)
{
    /* num descriptors in one chain is the maximum and is fine. */
    setup_q(8, false, false);
    for (uint16_t i = 0; i < 8; i++)
        set_desc(i, BUF_GPA + 16 * i, 16, i < 7 ? VRING_DESC_F_NEXT : 0, i + 1);
    offer(0);
    CHECK_EQ(virtq_pop(&q, &ch), 1);
    CHECK_EQ(ch.n_out, 8);
    CHECK_EQ(ch.out_len, 128);

    /* One more (the last points back into the chain) is a loop. */
    setup_q(8, false, false);
    for (uint16_t i = 0; i < 8; i++)
        set_desc(i, BUF_GPA + 16 * i, 16, VRING_DESC_F_NEXT, (i + 1) % 8);
    offer(0);
    CHECK_BROKEN(-EIO);
    CHECK(error_has("longer than the queue"));
}

static void test_next_out_of_range(void)
{
    setup_q(8, false, false);
    set_desc(0, BUF_GPA, 8, VRING_DESC_F_NEXT, 8);
    offer(0);
    CHECK_BROKEN(-EIO);
    CHECK(error_has("next descriptor index"));
}

static void test_head_out_of_range(void)
{
    setup_q(8, false, false);
    offer(8);
    CHECK_BROKEN(-EIO);
    CHECK(error_has("head"));
    setup_q(8, false, false);
    offer(0xffff);
    CHECK_BROKEN(-EIO);
}

static void test_buffer_outside_ram(void)
{
    struct {
        uint64_t addr;
        uint32_t len;
    } bad[] = {
        {0x10000, 1},                    /* in the hole */
        {RAM_A_SIZE - 4, 8},             /* straddles the end of region A */
        {RAM_A_SIZE - 4, 0x10000 + 8},   /* spans A, the hole and B */
        {RAM_B_GPA + RAM_B_SIZE, 1},     /* just past region B */
        {0xfffffffffffffff0ull, 0x20},   /* addr + len wraps */
        {RAM_C_GPA + RAM_C_SIZE - 1, 2}, /* end of the big region */
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setup_q(8, false, false);
        set_desc(0, BUF_GPA, 8, VRING_DESC_F_NEXT, 1);
        set_desc(1, bad[i].addr, bad[i].len, VRING_DESC_F_WRITE, 0);
        offer(0);
        CHECK_BROKEN(-EIO);
        CHECK(error_has("outside guest memory"));
    }
    /* The last byte of region A, and a range ending exactly at its end, are fine. */
    setup_q(8, false, false);
    set_desc(0, RAM_A_SIZE - 1, 1, VRING_DESC_F_NEXT, 1);
    set_desc(1, RAM_A_SIZE - 0x100, 0x100, 0, 0);
    offer(0);
    CHECK_EQ(virtq_pop(&q, &ch), 1);
    CHECK(iov[1].iov_base == host(RAM_A_SIZE - 0x100));
}

static void test_length_overflow(void)
{
    /* Exactly 4 GiB - 1 in total is allowed. */
    setup_q(8, false, false);
    set_desc(0, RAM_C_GPA, 0x80000000u, VRING_DESC_F_NEXT, 1);
    set_desc(1, RAM_C_GPA + 0x80000000u, 0x7fffffffu, VRING_DESC_F_WRITE, 0);
    offer(0);
    CHECK_EQ(virtq_pop(&q, &ch), 1);
    CHECK_EQ(ch.out_len, 0x80000000u);
    CHECK_EQ(ch.in_len, 0x7fffffffu);

    /* 4 GiB is not. */
    setup_q(8, false, false);
    set_desc(0, RAM_C_GPA, 0x80000000u, VRING_DESC_F_NEXT, 1);
    set_desc(1, RAM_C_GPA + 0x80000000u, 0x80000000u, VRING_DESC_F_WRITE, 0);
    offer(0);
    CHECK_BROKEN(-EIO);
    CHECK(error_has("4 GiB"));

    /* Many maximal descriptors whose 32-bit sum would wrap. */
    setup_q(8, false, false);
    for (uint16_t i = 0; i < 5; i++)
        set_desc(i, RAM_C_GPA, 0xffffffffu, VRING_DESC_F_NEXT, i + 1);
    set_desc(5, RAM_C_GPA, 2, 0, 0);
    offer(0);
    CHECK_BROKEN(-EIO);
    CHECK(error_has("4 GiB"));
}

static void test_write_then_read(void)
{
    setup_q(8, false, false);
    set_desc(0, BUF_GPA, 8, VRING_DESC_F_NEXT, 1);
    set_desc(1, BUF_GPA, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
    set_desc(2, BUF_GPA, 8, VRING_DESC_F_NEXT, 3);
    set_desc(3, BUF_GPA, 8, VRING_DESC_F_WRITE, 0);
    offer(0);
    CHECK_BROKEN(-EIO);
    CHECK(error_has("readable descriptor after a writable"));
}

static void test_iov_cap(void)
{
    setup_q(8, false, false);
    ch.iov_cap = 4;
    for (uint16_t i = 0; i < 4; i++)
        set_desc(i, BUF_GPA, 8, i < 3 ? VRING_DESC_F_NEXT : 0, i + 1);
    offer(0);
    CHECK_EQ(virtq_pop(&q, &ch), 1);
    CHECK_EQ(ch.n_out, 4);

    setup_q(8, false, false);
    ch.iov_cap = 4;
    for (uint16_t i = 0; i < 5; i++)
        set_desc(i, BUF_GPA, 8, i < 4 ? VRING_DESC_F_NEXT : 0, i + 1);
    offer(0);
    CHECK_BROKEN(-ENOSPC);
    CHECK_EQ(ch.head, 0);
    CHECK_EQ(q.last_avail, 1); /* consumed */
    CHECK(error_has("segments"));
}

static void test_avail_idx_jump(void)
{
    setup_q(8, false, false);
    set_desc(0, BUF_GPA, 8, 0, 0);
    /* Exactly num ahead is fine. */
    for (int i = 0; i < 8; i++)
        offer(0);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(virtq_pop(&q, &ch), 1);
    CHECK_EQ(virtq_pop(&q, &ch), 0);
    /* num + 1 ahead is not. */
    avail()->idx = (uint16_t)(q.last_avail + 9);
    CHECK_BROKEN(-EIO);
    CHECK(error_has("available index"));
    /* Nor is going backwards (which looks like 65535 ahead). */
    setup_q(8, false, false);
    avail()->idx = 0xffff;
    CHECK_BROKEN(-EIO);
}

static void test_wraparound(void)
{
    setup_q(4, false, false);
    q.last_avail = q.used_idx = 65534;
    used()->idx = 65534;
    drv_avail_idx = 65534;
    avail()->idx = 65534;
    for (uint16_t i = 0; i < 4; i++)
        set_desc(i, BUF_GPA + 0x100 * i, 0x10, VRING_DESC_F_WRITE, 0);
    offer(3);
    offer(1);
    offer(2);
    offer(0);
    CHECK_EQ(avail()->idx, 2);
    uint16_t expect[] = {3, 1, 2, 0};
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(virtq_pop(&q, &ch), 1);
        CHECK_EQ(ch.head, expect[i]);
        CHECK(iov[0].iov_base == host(BUF_GPA + 0x100 * expect[i]));
        virtq_push(&q, ch.head, 5 + i);
    }
    CHECK_EQ(virtq_pop(&q, &ch), 0);
    CHECK_EQ(q.last_avail, 2);
    CHECK_EQ(used()->idx, 2);
    /* 65534 % 4 == 2: the pushes went to slots 2, 3, 0, 1. */
    CHECK_EQ(used()->ring[2].id, 3);
    CHECK_EQ(used()->ring[2].len, 5);
    CHECK_EQ(used()->ring[3].id, 1);
    CHECK_EQ(used()->ring[0].id, 2);
    CHECK_EQ(used()->ring[1].id, 0);
    CHECK_EQ(used()->ring[1].len, 8);
    CHECK(!q.broken);
}

/* ---- indirect ---- */

#define ITABLE_GPA (BUF_GPA + 0x8000)

static void test_indirect_valid(void)
{
    setup_q(8, false, true);
    set_desc_at(ITABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
    set_desc_at(ITABLE_GPA, 2, BUF_GPA + 0x100, 32, VRING_DESC_F_NEXT, 1);
    set_desc_at(ITABLE_GPA, 1, BUF_GPA + 0x200, 64, VRING_DESC_F_WRITE, 0);
    /* WRITE on the indirect descriptor itself is ignored. */
    set_desc(4, ITABLE_GPA, 3 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
    offer(4);
    CHECK_EQ(virtq_pop(&q, &ch), 1);
    CHECK_EQ(ch.head, 4);
    CHECK_EQ(ch.n_out, 2);
    CHECK_EQ(ch.n_in, 1);
    CHECK_EQ(ch.out_len, 48);
    CHECK_EQ(ch.in_len, 64);
    CHECK(iov[1].iov_base == host(BUF_GPA + 0x100));
    CHECK(iov[2].iov_base == host(BUF_GPA + 0x200));

    /* Direct descriptors, then an indirect table ending the chain. */
    set_desc(0, BUF_GPA + 0x300, 4, VRING_DESC_F_NEXT, 4);
    offer(0);
    CHECK_EQ(virtq_pop(&q, &ch), 1);
    CHECK_EQ(ch.n_out, 3);
    CHECK_EQ(ch.out_len, 52);

    /* An unaligned table, longer than the queue (chains there are bounded by the table). */
    setup_q(2, false, true);
    for (uint16_t i = 0; i < 10; i++)
        set_desc_at(ITABLE_GPA + 4, i, BUF_GPA + i, 1, i < 9 ? VRING_DESC_F_NEXT : 0, i + 1);
    set_desc(1, ITABLE_GPA + 4, 10 * 16, VRING_DESC_F_INDIRECT, 0);
    offer(1);
    CHECK_EQ(virtq_pop(&q, &ch), 1);
    CHECK_EQ(ch.n_out, 10);
}

static void test_indirect_errors(void)
{
    struct {
        const char *what;
        uint64_t addr;
        uint32_t len;
        uint16_t flags;
        bool negotiated;
    } bad[] = {
        {"VIRTIO_F_INDIRECT_DESC", ITABLE_GPA, 32, VRING_DESC_F_INDIRECT, false},
        {"with NEXT", ITABLE_GPA, 32, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, true},
        {"nonzero multiple of 16", ITABLE_GPA, 24, VRING_DESC_F_INDIRECT, true},
        {"nonzero multiple of 16", ITABLE_GPA, 0, VRING_DESC_F_INDIRECT, true},
        {"outside guest memory", 0x10000, 32, VRING_DESC_F_INDIRECT, true},
        {"outside guest memory", RAM_B_GPA + RAM_B_SIZE - 16, 32, VRING_DESC_F_INDIRECT, true},
        {"outside guest memory", 0xfffffffffffffff0ull, 32, VRING_DESC_F_INDIRECT, true},
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setup_q(8, false, bad[i].negotiated);
        set_desc_at(ITABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
        set_desc_at(ITABLE_GPA, 1, BUF_GPA, 16, 0, 0);
        set_desc(0, bad[i].addr, bad[i].len, bad[i].flags, 1);
        set_desc(1, BUF_GPA, 16, 0, 0);
        offer(0);
        CHECK_BROKEN(-EIO);
        if (!error_has(bad[i].what)) {
            fprintf(stderr, "case %u: error \"%s\", expected \"%s\"\n", i, q.error, bad[i].what);
            test_failures++;
        }
    }

    /* Nested indirect. */
    setup_q(8, false, true);
    set_desc_at(ITABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
    set_desc_at(ITABLE_GPA, 1, ITABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
    set_desc(0, ITABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
    offer(0);
    CHECK_BROKEN(-EIO);
    CHECK(error_has("nested"));

    /* A loop inside the table. */
    setup_q(8, false, true);
    set_desc_at(ITABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
    set_desc_at(ITABLE_GPA, 1, BUF_GPA, 16, VRING_DESC_F_NEXT, 0);
    set_desc(0, ITABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
    offer(0);
    CHECK_BROKEN(-EIO);
    CHECK(error_has("indirect chain longer than its table"));

    /* next beyond the table (but within the queue size). */
    setup_q(8, false, true);
    set_desc_at(ITABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
    set_desc_at(ITABLE_GPA, 2, BUF_GPA, 16, 0, 0);
    set_desc(0, ITABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
    offer(0);
    CHECK_BROKEN(-EIO);
    CHECK(error_has("next descriptor index"));

    /* Write-then-read inside the table. */
    setup_q(8, false, true);
    set_desc_at(ITABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
    set_desc_at(ITABLE_GPA, 1, BUF_GPA, 16, 0, 0);
    set_desc(0, ITABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
    offer(0);
    CHECK_BROKEN(-EIO);
    CHECK(error_has("readable descriptor after a writable"));

    /* A direct writable descriptor, then readable ones in the table. */
    setup_q(8, false, true);
    set_desc_at(ITABLE_GPA, 0, BUF_GPA, 16, 0, 0);
    set_desc(0, BUF_GPA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    set_desc(1, ITABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
    offer(0);
    CHECK_BROKEN(-EIO);

    /* iov_cap exceeded inside the table. */
    setup_q(8, false, true);
    ch.iov_cap = 2;
    for (uint16_t i = 0; i < 3; i++)
        set_desc_at(ITABLE_GPA, i, BUF_GPA, 16, i < 2 ? VRING_DESC_F_NEXT : 0, i + 1);
    set_desc(0, ITABLE_GPA, 48, VRING_DESC_F_INDIRECT, 0);
    offer(0);
    CHECK_BROKEN(-ENOSPC);
}

/* ---- used ring and notifications ---- */

static void test_push_no_event_idx(void)
{
    setup_q(8, false, false);
    set_desc(6, BUF_GPA, 8, VRING_DESC_F_WRITE, 0);
    offer(6);
    CHECK_EQ(virtq_pop(&q, &ch), 1);
    virtq_push(&q, ch.head, 8);
    CHECK_EQ(used()->idx, 1);
    CHECK_EQ(used()->ring[0].id, 6);
    CHECK_EQ(used()->ring[0].len, 8);
    CHECK(virtq_needs_notify(&q));
    avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
    virtq_push(&q, 6, 0);
    CHECK(!virtq_needs_notify(&q));
    avail()->flags = 0;
    CHECK(virtq_needs_notify(&q));
}

static void test_push_event_idx(void)
{
    setup_q(8, true, false);
    /* NO_INTERRUPT is ignored with EVENT_IDX. */
    avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
    used_event_set(0);
    virtq_push(&q, 0, 0);          /* used idx 1 */
    CHECK(virtq_needs_notify(&q)); /* the first check always notifies */
    /* Driver wants an interrupt once the used idx passes 2 (i.e. reaches 3). */
    used_event_set(2);
    virtq_push(&q, 0, 0); /* 2 */
    CHECK(!virtq_needs_notify(&q));
    virtq_push(&q, 0, 0); /* 3: crosses */
    CHECK(virtq_needs_notify(&q));
    virtq_push(&q, 0, 0); /* 4: already signalled past 2 */
    CHECK(!virtq_needs_notify(&q));
    /* A batch that jumps over the event still notifies. */
    used_event_set(5);
    virtq_push(&q, 0, 0);
    virtq_push(&q, 0, 0);
    virtq_push(&q, 0, 0); /* 7 */
    CHECK(virtq_needs_notify(&q));
    /* An event far ahead: no. */
    used_event_set(100);
    virtq_push(&q, 0, 0);
    CHECK(!virtq_needs_notify(&q));
    CHECK_EQ(used_event_get(), 100);

    /* Crossing at the 16-bit wrap. */
    setup_q(8, true, false);
    q.used_idx = 65533;
    used_event_set(65534);
    virtq_push(&q, 0, 0);          /* 65534 */
    CHECK(virtq_needs_notify(&q)); /* first check */
    used_event_set(65535);
    virtq_push(&q, 0, 0); /* 65535 */
    CHECK(!virtq_needs_notify(&q));
    virtq_push(&q, 0, 0); /* 0 */
    CHECK(virtq_needs_notify(&q));
    used_event_set(0);
    virtq_push(&q, 0, 0);          /* 1 */
    virtq_push(&q, 0, 0);          /* 2 */
    CHECK(virtq_needs_notify(&q)); /* entry 0 was written since the last check */
    used_event_set(65530);         /* behind: no */
    virtq_push(&q, 0, 0);
    CHECK(!virtq_needs_notify(&q));
}

static void test_notify_suppression_no_event_idx(void)
{
    setup_q(8, false, false);
    set_desc(0, BUF_GPA, 8, 0, 0);
    virtq_disable_notify(&q);
    CHECK_EQ(used()->flags, VRING_USED_F_NO_NOTIFY);
    CHECK(!virtq_enable_notify(&q));
    CHECK_EQ(used()->flags, 0);
    virtq_disable_notify(&q);
    offer(0);
    CHECK(virtq_enable_notify(&q)); /* a buffer arrived while disabled */
    CHECK_EQ(virtq_pop(&q, &ch), 1);
    CHECK(!virtq_enable_notify(&q));
}

static void test_notify_suppression_event_idx(void)
{
    setup_q(8, true, false);
    set_desc(0, BUF_GPA, 8, 0, 0);
    virtq_disable_notify(&q);
    CHECK_EQ(used()->flags, 0); /* flags unused with EVENT_IDX */
    CHECK(!virtq_enable_notify(&q));
    CHECK_EQ(avail_event(), 0);
    offer(0);
    offer(0);
    CHECK(virtq_enable_notify(&q));
    CHECK_EQ(virtq_pop(&q, &ch), 1);
    CHECK_EQ(virtq_pop(&q, &ch), 1);
    CHECK(!virtq_enable_notify(&q));
    CHECK_EQ(avail_event(), 2);

    /* avail_event across the wrap. */
    setup_q(8, true, false);
    set_desc(0, BUF_GPA, 8, 0, 0);
    q.last_avail = 65535;
    drv_avail_idx = 65535;
    avail()->idx = 65535;
    CHECK(!virtq_enable_notify(&q));
    CHECK_EQ(avail_event(), 65535);
    offer(0);
    CHECK(virtq_enable_notify(&q));
    CHECK_EQ(virtq_pop(&q, &ch), 1);
    CHECK(!virtq_enable_notify(&q));
    CHECK_EQ(avail_event(), 0);
}

static void test_broken_stays_broken(void)
{
    setup_q(8, false, false);
    set_desc(0, BUF_GPA, 8, VRING_DESC_F_NEXT, 0);
    offer(0);
    CHECK_BROKEN(-EIO);
    const char *why = q.error;
    /* Fixing the ring does not help... */
    set_desc(0, BUF_GPA, 8, 0, 0);
    offer(0);
    CHECK_EQ(virtq_pop(&q, &ch), -EIO);
    CHECK(!virtq_enable_notify(&q));
    CHECK(q.error == why);
    /* ...a reset and a new activation do. */
    virtq_reset(&q);
    CHECK_EQ(q.num_max, 256);
    CHECK_EQ(q.num, 0);
    CHECK(!q.broken && q.error == NULL && q.desc == NULL);
    CHECK_EQ(virtq_pop(&q, &ch), -EIO);
    memset(ram_a, 0, RAM_A_SIZE);
    q.num = 8;
    q.desc_gpa = DESC_GPA;
    q.avail_gpa = AVAIL_GPA;
    q.used_gpa = USED_GPA;
    CHECK_EQ(virtq_activate(&q, &gm, false, false), 0);
    drv_avail_idx = 0;
    set_desc(0, BUF_GPA, 8, 0, 0);
    offer(0);
    CHECK_EQ(virtq_pop(&q, &ch), 1);
}

/* ---- iov helpers ---- */

static void test_iov_copy(void)
{
    uint8_t a[3], b[5], c[2];
    struct iovec v[] = {{a, 3}, {b, 5}, {NULL, 0}, {c, 2}};
    uint8_t src[10], dst[16];
    for (int i = 0; i < 10; i++)
        src[i] = (uint8_t)(i + 1);

    CHECK_EQ(iov_from_buf(v, 4, 0, src, 10), 10);
    CHECK(a[0] == 1 && a[2] == 3 && b[0] == 4 && b[4] == 8 && c[0] == 9 && c[1] == 10);
    memset(dst, 0, sizeof(dst));
    CHECK_EQ(iov_to_buf(v, 4, 0, dst, sizeof(dst)), 10);
    CHECK(memcmp(dst, src, 10) == 0);
    /* Offsets crossing segment boundaries. */
    CHECK_EQ(iov_to_buf(v, 4, 2, dst, 4), 4);
    CHECK(dst[0] == 3 && dst[1] == 4 && dst[3] == 6);
    CHECK_EQ(iov_to_buf(v, 4, 8, dst, 16), 2);
    CHECK(dst[0] == 9 && dst[1] == 10);
    CHECK_EQ(iov_to_buf(v, 4, 10, dst, 16), 0);
    CHECK_EQ(iov_to_buf(v, 4, 1000, dst, 16), 0);
    CHECK_EQ(iov_to_buf(v, 4, 0, dst, 0), 0);
    CHECK_EQ(iov_to_buf(v, 0, 0, dst, 16), 0);
    uint8_t x[2] = {0xaa, 0xbb};
    CHECK_EQ(iov_from_buf(v, 4, 7, x, 2), 2);
    CHECK(b[4] == 0xaa && c[0] == 0xbb);
    CHECK_EQ(iov_from_buf(v, 4, 9, x, 2), 1);
    CHECK(c[1] == 0xaa);
}

int main(void)
{
    RUN(test_activate_ok);
    RUN(test_activate_bad_num);
    RUN(test_activate_misaligned);
    RUN(test_activate_outside_ram);
    RUN(test_pop_not_activated);
    RUN(test_simple_chain);
    RUN(test_zero_length_skipped);
    RUN(test_loop);
    RUN(test_chain_as_long_as_queue);
    RUN(test_next_out_of_range);
    RUN(test_head_out_of_range);
    RUN(test_buffer_outside_ram);
    RUN(test_length_overflow);
    RUN(test_write_then_read);
    RUN(test_iov_cap);
    RUN(test_avail_idx_jump);
    RUN(test_wraparound);
    RUN(test_indirect_valid);
    RUN(test_indirect_errors);
    RUN(test_push_no_event_idx);
    RUN(test_push_event_idx);
    RUN(test_notify_suppression_no_event_idx);
    RUN(test_notify_suppression_event_idx);
    RUN(test_broken_stays_broken);
    RUN(test_iov_copy);
    return TEST_EXIT();
}
