/* SPDX-License-Identifier: Apache-2.0 */
#include "virtio/queue.h"

#include <errno.h>
#include <linux/virtio_ring.h>
#include <string.h>

/*
 * The rings live in guest memory that a vCPU changes under our feet. Ring
 * fields are accessed with atomic builtins (activate checked their alignment)
 * so that every field is read exactly once, with the ordering the virtio
 * memory model asks for.
 */
static uint16_t ld16(const void *p)
{
    return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
}

static uint16_t ld16_acquire(const void *p)
{
    return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

static void st16(void *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED);
}

static void st16_release(void *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)p, v, __ATOMIC_RELEASE);
}

static void st32(void *p, uint32_t v)
{
    __atomic_store_n((uint32_t *)p, v, __ATOMIC_RELAXED);
}

/* A store-load barrier: our index/flag write must be seen before we read the driver's. */
static void full_fence(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/*
 * Copy one descriptor out of guest memory. The barrier keeps the compiler
 * from dropping the copy and reading the guest's (changing) bytes again
 * later. Indirect tables need not be 16-byte aligned, hence memcpy.
 */
static void desc_read(struct vring_desc *d, const uint8_t *src)
{
    memcpy(d, src, sizeof(*d));
    __asm__ __volatile__("" ::: "memory");
}

/* Sizes of the rings, event fields included. */
static uint64_t desc_size(unsigned num)
{
    return (uint64_t)sizeof(struct vring_desc) * num;
}

static uint64_t avail_size(unsigned num)
{
    return 2 * sizeof(uint16_t) + sizeof(uint16_t) * (uint64_t)num + sizeof(uint16_t);
}

static uint64_t used_size(unsigned num)
{
    return 2 * sizeof(uint16_t) + sizeof(struct vring_used_elem) * (uint64_t)num + sizeof(uint16_t);
}

static int fail(struct virtq *q, const char *why)
{
    q->broken = true;
    q->error = why;
    return -EIO;
}

int virtq_activate(struct virtq *q, const struct guest_mem *gm, bool event_idx, bool indirect)
{
    q->gm = gm;
    q->event_idx = event_idx;
    q->indirect = indirect;
    q->desc = q->avail = q->used = NULL;
    q->last_avail = q->used_idx = 0;
    q->signalled_used = 0;
    q->signalled_used_valid = false;
    q->broken = false;
    q->error = NULL;

    if (q->num == 0 || q->num > q->num_max || (q->num & (q->num - 1)) != 0) {
        fail(q, "queue size is not a power of two between 1 and the maximum");
        return -EINVAL;
    }
    if ((q->desc_gpa & (VRING_DESC_ALIGN_SIZE - 1)) ||
        (q->avail_gpa & (VRING_AVAIL_ALIGN_SIZE - 1)) ||
        (q->used_gpa & (VRING_USED_ALIGN_SIZE - 1))) {
        fail(q, "misaligned ring address");
        return -EINVAL;
    }
    void *desc = gm_ptr(gm, q->desc_gpa, desc_size(q->num));
    void *avail = gm_ptr(gm, q->avail_gpa, avail_size(q->num));
    void *used = gm_ptr(gm, q->used_gpa, used_size(q->num));
    if (!desc || !avail || !used) {
        fail(q, "ring outside guest memory");
        return -EINVAL;
    }
    /* Only a region whose host mapping is misaligned with its gpa could trip this. */
    if (((uintptr_t)avail & (VRING_AVAIL_ALIGN_SIZE - 1)) ||
        ((uintptr_t)used & (VRING_USED_ALIGN_SIZE - 1))) {
        fail(q, "ring misaligned in host memory");
        return -EINVAL;
    }
    q->desc = desc;
    q->avail = avail;
    q->used = used;
    return 0;
}

void virtq_reset(struct virtq *q)
{
    uint16_t num_max = q->num_max;
    memset(q, 0, sizeof(*q));
    q->num_max = num_max;
}

/*
 * Walk the chain starting at `head`. Each table (the ring's descriptor table,
 * then at most one indirect table) gives a budget of descriptors that may be
 * visited; a chain that needs more must revisit one, i.e. it loops.
 */
static int walk_chain(struct virtq *q, uint16_t head, struct virtq_chain *c)
{
    const uint8_t *table = q->desc;
    uint32_t table_len = q->num;
    uint32_t budget = q->num;
    uint32_t i = head;
    bool in_indirect = false, seen_write = false;
    unsigned n = 0;

    c->head = head;
    c->n_out = c->n_in = 0;
    c->out_len = c->in_len = 0;

    for (;;) {
        struct vring_desc d;

        if (budget == 0)
            return fail(q, in_indirect ? "indirect chain longer than its table (loop)"
                                       : "descriptor chain longer than the queue (loop)");
        budget--;
        desc_read(&d, table + (size_t)i * sizeof(d));

        if (d.flags & VRING_DESC_F_INDIRECT) {
            if (!q->indirect)
                return fail(q, "indirect descriptor without VIRTIO_F_INDIRECT_DESC");
            if (in_indirect)
                return fail(q, "nested indirect descriptor");
            if (d.flags & VRING_DESC_F_NEXT)
                return fail(q, "indirect descriptor with NEXT set");
            if (d.len == 0 || d.len % sizeof(struct vring_desc) != 0)
                return fail(q, "indirect table size is not a nonzero multiple of 16");
            const uint8_t *t = gm_ptr(q->gm, d.addr, d.len);
            if (!t)
                return fail(q, "indirect table outside guest memory");
            table = t;
            table_len = d.len / sizeof(struct vring_desc);
            /* next is 16 bits wide: a longer walk must revisit an entry. */
            budget = table_len < 0x10000 ? table_len : 0x10000;
            i = 0;
            in_indirect = true;
            continue;
        }

        bool writable = d.flags & VRING_DESC_F_WRITE;
        if (!writable && seen_write)
            return fail(q, "readable descriptor after a writable one");
        seen_write |= writable;

        /*
         * Zero-length descriptors carry nothing: they are skipped, and their
         * address is not checked since nothing will ever be accessed there.
         */
        if (d.len != 0) {
            if (c->out_len + c->in_len + d.len > UINT32_MAX)
                return fail(q, "descriptor chain longer than 4 GiB");
            void *p = gm_ptr(q->gm, d.addr, d.len);
            if (!p)
                return fail(q, "buffer outside guest memory");
            if (n == c->iov_cap) {
                fail(q, "descriptor chain has more segments than the device allows");
                return -ENOSPC;
            }
            c->iov[n].iov_base = p;
            c->iov[n].iov_len = d.len;
            n++;
            if (writable) {
                c->n_in++;
                c->in_len += d.len;
            } else {
                c->n_out++;
                c->out_len += d.len;
            }
        }

        if (!(d.flags & VRING_DESC_F_NEXT))
            return 1;
        i = d.next;
        if (i >= table_len)
            return fail(q, "next descriptor index out of range");
    }
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
    if (q->broken || !q->desc)
        return -EIO;

    struct vring_avail *avail = q->avail;
    /* Acquire: the ring entry and descriptors were written before idx. */
    uint16_t avail_idx = ld16_acquire(&avail->idx);
    uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
    if (pending == 0)
        return 0;
    if (pending > q->num)
        return fail(q, "available index moved more than the queue size");

    uint16_t head = ld16(&avail->ring[q->last_avail & (q->num - 1)]);
    q->last_avail++;
    if (head >= q->num)
        return fail(q, "head descriptor index out of range");
    return walk_chain(q, head, c);
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
    if (!q->used)
        return;
    struct vring_used *used = q->used;
    struct vring_used_elem *e = &used->ring[q->used_idx & (q->num - 1)];
    st32(&e->id, head);
    st32(&e->len, written);
    q->used_idx++;
    /* Release: the element is visible before the index that publishes it. */
    st16_release(&used->idx, q->used_idx);
}

/* Whether the driver asked to be told when the used index passes `event`. */
static bool crossed_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

bool virtq_needs_notify(struct virtq *q)
{
    if (!q->used)
        return false;
    /* Pairs with the driver's barrier between writing used_event/flags and reading used->idx. */
    full_fence();

    struct vring_avail *avail = q->avail;
    if (!q->event_idx)
        return !(ld16(&avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);

    uint16_t old_idx = q->signalled_used;
    bool valid = q->signalled_used_valid;
    q->signalled_used = q->used_idx;
    q->signalled_used_valid = true;
    if (!valid)
        return true;
    uint16_t used_event = ld16(&avail->ring[q->num]);
    return crossed_event(used_event, q->used_idx, old_idx);
}

void virtq_disable_notify(struct virtq *q)
{
    /* With EVENT_IDX, leaving avail_event behind is enough to stop kicks. */
    if (!q->used || q->event_idx)
        return;
    struct vring_used *used = q->used;
    st16(&used->flags, VRING_USED_F_NO_NOTIFY);
}

bool virtq_enable_notify(struct virtq *q)
{
    if (!q->used || q->broken)
        return false;
    struct vring_used *used = q->used;
    struct vring_avail *avail = q->avail;
    if (q->event_idx)
        st16(&used->ring[q->num], q->last_avail); /* avail_event */
    else
        st16(&used->flags, 0);
    /* The driver may have added buffers before it could see the store above. */
    full_fence();
    return ld16(&avail->idx) != q->last_avail;
}

/* Copies between buf and the bytes of iov from offset on; to_iov picks the direction. */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t offset, uint8_t *buf, size_t len,
                       bool to_iov)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        size_t seg = iov[i].iov_len;
        if (offset >= seg) {
            offset -= seg;
            continue;
        }
        size_t k = seg - offset;
        if (k > len - done)
            k = len - done;
        uint8_t *in_iov = (uint8_t *)iov[i].iov_base + offset;
        if (to_iov)
            memcpy(in_iov, buf + done, k);
        else
            memcpy(buf + done, in_iov, k);
        done += k;
        offset = 0;
    }
    return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len)
{
    return iov_copy(iov, n, offset, buf, len, false);
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t offset, const void *buf, size_t len)
{
    /* Only read from, when copying into the iovec. */
    return iov_copy(iov, n, offset, (uint8_t *)buf, len, true);
}
