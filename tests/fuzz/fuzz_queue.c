/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/queue.c src/util/guest_mem.c */
/*
 * libFuzzer harness for the split virtqueue. The input is a small header
 * (queue configuration) followed by the contents of guest memory: two
 * regions with a hole between them. The device pops and pushes until the
 * ring is empty or broken; every segment it is handed must lie inside
 * guest memory, and it writes into the writable ones (which may well be
 * the rings themselves: a hostile driver may point buffers anywhere).
 *
 * Input layout (fuzz_queue_input in gen_seeds.c builds the same):
 *   0      flags: bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2 raw queue size
 *   1      log2 of the queue size (mod 9), unless raw
 *   2      iov_cap - 1 (mod 32)
 *   3..4   desc gpa (le16)     5..6 avail gpa     7..8 used gpa
 *   9..10  starting ring index (le16), for 16-bit wraparound
 *   11..12 raw queue size (le16)
 *   13..   guest memory: region 0 then region 1
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/guest_mem.h"
#include "virtio/queue.h"

#define HDR        13
#define R0_GPA     0x0
#define R0_SIZE    0x4000
#define R1_GPA     0x5000 /* [0x4000, 0x5000) is a hole */
#define R1_SIZE    0x4000
#define MAX_ROUNDS 2048

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *ram0, *ram1;
static struct guest_mem gm;

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static int in_region(const void *p, size_t len, const uint8_t *base, size_t size)
{
    const uint8_t *b = p;
    return b >= base && b < base + size && len <= (size_t)(base + size - b);
}

static void check_chain(const struct virtq_chain *c)
{
    uint64_t total = 0;
    assert(c->n_out + c->n_in <= c->iov_cap);
    for (unsigned i = 0; i < c->n_out + c->n_in; i++) {
        const struct iovec *v = &c->iov[i];
        assert(v->iov_len > 0);
        assert(in_region(v->iov_base, v->iov_len, ram0, R0_SIZE) ||
               in_region(v->iov_base, v->iov_len, ram1, R1_SIZE));
        total += v->iov_len;
    }
    assert(total == c->out_len + c->in_len);
    assert(total <= UINT32_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ram0) {
        ram0 = aligned_alloc(4096, R0_SIZE);
        ram1 = aligned_alloc(4096, R1_SIZE);
        if (!ram0 || !ram1 || gm_add_region(&gm, R0_GPA, R0_SIZE, ram0) ||
            gm_add_region(&gm, R1_GPA, R1_SIZE, ram1))
            abort();
    }
    if (size < HDR)
        return 0;

    memset(ram0, 0, R0_SIZE);
    memset(ram1, 0, R1_SIZE);
    size_t n0 = size - HDR < R0_SIZE ? size - HDR : R0_SIZE;
    memcpy(ram0, data + HDR, n0);
    if (size - HDR > n0) {
        size_t n1 = size - HDR - n0 < R1_SIZE ? size - HDR - n0 : R1_SIZE;
        memcpy(ram1, data + HDR + n0, n1);
    }

    struct virtq q = {.num_max = 256};
    q.num = (data[0] & 4) ? le16(data + 11) : (uint16_t)(1u << (data[1] % 9));
    q.desc_gpa = le16(data + 3);
    q.avail_gpa = le16(data + 5);
    q.used_gpa = le16(data + 7);
    q.ready = true;
    if (virtq_activate(&q, &gm, data[0] & 1, data[0] & 2) != 0) {
        assert(q.broken && q.error);
        return 0;
    }
    q.last_avail = q.used_idx = le16(data + 9);

    struct iovec iov[32];
    struct virtq_chain c = {.iov = iov, .iov_cap = 1u + data[2] % 32};
    uint8_t scratch[64];
    static const uint8_t pattern[64] = {0xa5};

    virtq_disable_notify(&q);
    for (unsigned round = 0; round < MAX_ROUNDS; round++) {
        int rc = virtq_pop(&q, &c);
        if (rc == 1) {
            check_chain(&c);
            iov_to_buf(c.iov, c.n_out, 0, scratch, sizeof(scratch));
            size_t w = iov_from_buf(c.iov + c.n_out, c.n_in, 0, pattern,
                                    c.in_len < sizeof(pattern) ? c.in_len : sizeof(pattern));
            virtq_push(&q, c.head, (uint32_t)w);
            if (round % 3 == 0)
                (void)virtq_needs_notify(&q);
            continue;
        }
        if (rc == 0) {
            if (!virtq_enable_notify(&q))
                break;
            virtq_disable_notify(&q);
            continue;
        }
        assert(rc == -EIO || rc == -ENOSPC);
        assert(q.broken && q.error);
        assert(virtq_pop(&q, &c) == -EIO);
        break;
    }
    (void)virtq_needs_notify(&q);
    return 0;
}
