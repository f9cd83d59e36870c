/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/mmio.c src/virtio/queue.c src/virtio/console.c src/virtio/blk/device.c src/virtio/blk/disk.c src/virtio/blk/request.c src/virtio/blk/io_sync.c src/virtio/blk/io_uring.c src/virtio/blk/worker.c src/util/guest_mem.c src/util/log.c src/util/log_limit.c src/util/thread.c src/util/sandbox.c src/util/out_fifo.c src/virtio/blk/format.c src/virtio/blk/raw_backing.c src/virtio/blk/io_format.c src/virtio/blk/qcow2.c src/virtio/blk/qcow2_header.c src/virtio/blk/qcow2_table.c src/virtio/blk/qcow2_refcount.c src/virtio/blk/qcow2_compress.c src/virtio/blk/qcow2_io.c src/virtio/blk/vmdk.c */
/* LDLIBS: -luring -lz -lzstd */
/*
 * libFuzzer harness for the virtio-mmio transport's register state
 * machine: any sequence of 32-bit and odd-sized reads and writes at any
 * offset of the window, interleaved with guest memory contents that make
 * queue addresses valid or not, on a trivial stub device (its queues are
 * served on this thread at QueueNotify), on virtio-blk and on
 * virtio-console (both with their real worker threads, started at
 * DRIVER_OK and joined at reset and destroy).
 *
 * The device's ops are wrapped to check, after every access:
 *   - queue registers never change once the queue is ready or DRIVER_OK
 *     was set, until a reset;
 *   - whenever FEATURES_OK is set or the device is active, the driver's
 *     features are a subset of those offered; DeviceFeatures shows only
 *     offered bits;
 *   - activate is called only with FEATURES_OK, VERSION_1, and every ready
 *     queue resolved by virtq_activate (rings in guest memory, a valid
 *     size), and never twice without a reset in between;
 *   - a reset (Status 0) brings the transport back to its initial state
 *     (status, features, interrupt status, every queue) and leaves no
 *     thread that activation started; destroy leaves no thread of the
 *     device at all (the console's output fifo has one for its lifetime).
 *
 * Input layout:
 *   0      bits 0-1: device (0, 3 stub, 1 virtio-blk, 2 virtio-console);
 *          bit 2: read-only disk / a console with 3 ports (else 1); bits
 *          3-4: queues of the stub - 1
 *   1..    operations; the low 3 bits of the first byte say which:
 *   0,1 WRITE32: register byte (offset = (byte & 0x3f) * 4); bit 3: a raw
 *          le32 value follows, else bit 4: the ring address of the selected
 *          queue (desc/driver/device registers), else a value byte.
 *   2 READ: le16 offset (mod 4 KiB), size byte (1, 2, 3, 4, 8).
 *   3 WRITE: le16 offset, size byte, 8 value bytes.
 *   4 MEM: le16 offset into RAM, length byte (mod 32), bytes.
 *   5 INIT: the driver's whole init sequence: feature byte (bit 0: drop
 *          EVENT_IDX, 1: drop VERSION_1, 2: add a bit not offered, 3: no
 *          DRIVER_OK, 4: leave the last queue not ready), queue size byte.
 *   6 NOTIFY: queue byte.
 *   7 CHAIN: queue byte, descriptors - 1 (byte, mod 4), per descriptor a
 *          length byte and a flags byte (bit 0 WRITE), then 16 bytes placed
 *          at the start of the first buffer.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "libkrun.h"
#include "util/guest_mem.h"
#include "util/log.h"
#include "virtio/blk/blk.h"
#include "virtio/blk/config.h"
#include "virtio/console.h"
#include "virtio/device.h"

#include "mmio_driver.h"
#include "virtio/queue.h"

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Guest RAM: [0, 128 KiB), a hole, [192 KiB, 224 KiB). */
#define R0_SIZE   0x20000u
#define R1_GPA    0x30000u
#define R1_SIZE   0x8000u
#define RING_BASE 0x1000u
#define DATA_GPA  R1_GPA

static uint8_t *ram0, *ram1;
static struct guest_mem gm;
static char dir[96], img_path[128];
static int null_fd = -1, in_pipe[2] = {-1, -1};
static unsigned base_threads; /* before any device */
static unsigned dev_threads; /* with the device created, not activated (its output fifo's writer) */
static bool verbose;         /* FUZZ_VERBOSE: the device's debug log, used indexes after notifies */

/* ---- the device under test and what the checks remember ---- */

static struct virtio_device *dev;
static const struct virtio_device_ops *real_ops;
static struct virtio_device_ops wrapped_ops;
static bool is_stub;
static bool stub_active;
static unsigned n_activate;

struct qsnap {
    bool frozen;
    uint16_t num;
    uint64_t desc, avail, used;
};
static struct qsnap snaps[VIRTIO_MAX_QUEUES];
static bool driver_ok_seen;

/* Tasks of this process: the device threads must be gone after a reset. */
static unsigned count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        abort();
    unsigned n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static void check_threads(const char *when, unsigned want)
{
    /*
     * A joined thread may still be listed for a moment: pthread_join returns
     * when the kernel clears its tid, a little before the task is reaped.
     */
    unsigned n = count_threads();
    for (int i = 0; i < 2000 && n > want; i++) {
        usleep(50);
        n = count_threads();
    }
    if (n != want) {
        fprintf(stderr, "%u threads after %s, %u expected\n", n, when, want);
        abort();
    }
}

static void w_activate_checks(struct virtio_device *d)
{
    assert(d->status & S_FEATURES_OK);
    assert(!(d->acked & ~d->features));
    assert(d->acked & VIRTIO_FEAT_VERSION_1);
    assert(!d->active);
    for (unsigned i = 0; i < d->n_queues; i++) {
        const struct virtq *q = &d->queues[i];
        if (!q->ready)
            continue;
        assert(q->desc && q->avail && q->used && !q->broken && q->gm == d->gm);
        assert(q->num && q->num <= q->num_max && !(q->num & (q->num - 1)));
        assert(gm_ptr(d->gm, q->desc_gpa, 16u * q->num) == q->desc);
        assert(gm_ptr(d->gm, q->avail_gpa, 6u + 2u * q->num) == q->avail);
        assert(gm_ptr(d->gm, q->used_gpa, 6u + 8u * q->num) == q->used);
        assert(q->event_idx == !!(d->acked & VIRTIO_FEAT_EVENT_IDX));
    }
}

static int w_activate(struct virtio_device *d)
{
    w_activate_checks(d);
    n_activate++;
    return real_ops->activate ? real_ops->activate(d) : 0;
}

static void w_reset(struct virtio_device *d)
{
    assert(d->active);
    real_ops->reset(d);
}

/* ---- the stub device: a config space, queues served here at QueueNotify ---- */

static uint8_t stub_config[24];

static void stub_read_config(struct virtio_device *d, uint32_t off, void *data, uint32_t len)
{
    virtio_config_read(stub_config, sizeof(stub_config), off, data, len);
}

static void stub_write_config(struct virtio_device *d, uint32_t off, const void *data, uint32_t len)
{
    if (off < sizeof(stub_config)) {
        size_t n = sizeof(stub_config) - off < len ? sizeof(stub_config) - off : len;
        memcpy(stub_config + off, data, n);
    }
}

static int stub_activate(struct virtio_device *d)
{
    stub_active = true;
    return 0;
}

static void stub_reset(struct virtio_device *d)
{
    stub_active = false;
}

static void stub_destroy(struct virtio_device *d)
{
    stub_active = false;
}

static const struct virtio_device_ops stub_ops = {
    .read_config = stub_read_config,
    .write_config = stub_write_config,
    .activate = stub_activate,
    .reset = stub_reset,
    .destroy = stub_destroy,
};

static bool in_ram(const void *p, size_t len)
{
    const uint8_t *b = p;
    return (b >= ram0 && b < ram0 + R0_SIZE && len <= (size_t)(ram0 + R0_SIZE - b)) ||
           (b >= ram1 && b < ram1 + R1_SIZE && len <= (size_t)(ram1 + R1_SIZE - b));
}

/* What a device thread does after a kick, here on the "vCPU" (the transport lock is not held). */
static void stub_serve(unsigned qi)
{
    if (!stub_active || qi >= dev->n_queues || atomic_load(&dev->failed))
        return;
    struct virtq *q = &dev->queues[qi];
    struct iovec iov[16];
    for (unsigned round = 0; round < 512; round++) {
        struct virtq_chain c = {.iov = iov, .iov_cap = 16};
        int rc = virtq_pop(q, &c);
        if (rc == 0)
            break;
        if (rc < 0) {
            virtio_device_fail(dev, "queue %u: %s", qi, q->error ? q->error : "broken");
            break;
        }
        for (unsigned i = 0; i < c.n_out + c.n_in; i++)
            assert(in_ram(iov[i].iov_base, iov[i].iov_len));
        static const uint8_t reply[8] = "stubdev";
        size_t w = iov_from_buf(iov + c.n_out, c.n_in, 0, reply, sizeof(reply));
        virtq_push(q, c.head, (uint32_t)w);
        virtio_device_notify_queue(dev, q);
    }
}

/* ---- creating and destroying devices as the VM does ---- */

static struct virtio_device *make_stub(unsigned n_queues)
{
    struct virtio_device *d = calloc(1, sizeof(*d));
    if (!d)
        abort();
    d->ops = &stub_ops;
    snprintf(d->name, sizeof(d->name), "fuzz-stub");
    d->device_id = 42;
    d->features =
        VIRTIO_FEAT_EVENT_IDX | VIRTIO_FEAT_INDIRECT_DESC | VIRTIO_F_BIT(0) | VIRTIO_F_BIT(40);
    d->n_queues = n_queues;
    for (unsigned i = 0; i < n_queues; i++)
        d->queue_max[i] = (uint16_t)(16u << i);
    memset(stub_config, 0x11, sizeof(stub_config));
    return d;
}

static struct virtio_device *make_device(uint8_t sel)
{
    struct virtio_device *d = NULL;
    is_stub = false;
    switch (sel & 3) {
    case 1: {
        struct disk_config cfg = {.block_id = "vfuzz",
                                  .path = img_path,
                                  .format = KRUN_DISK_FORMAT_RAW,
                                  .read_only = sel & 4,
                                  .sync_mode = KRUN_SYNC_FULL};
        char err[256];
        if (virtio_blk_create(&cfg, &d, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s\n", err);
            abort();
        }
        break;
    }
    case 2: {
        struct console_port_spec ports[3] = {
            {.in_fd = in_pipe[0], .out_fd = null_fd, .console = true},
            {.name = "port1", .in_fd = -1, .out_fd = null_fd},
            {.name = "port2", .in_fd = -1, .out_fd = -1},
        };
        struct console *c;
        if (console_create("fuzz-console", ports, (sel & 4) ? 3 : 1, -1, &c, &d) != 0)
            abort();
        break;
    }
    default:
        d = make_stub(1 + ((sel >> 3) & 3));
        is_stub = true;
        break;
    }
    /* What virtio_mmio_attach does, without a machine. */
    virtio_device_init(d);
    d->gm = &gm;
    d->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    for (unsigned i = 0; i < d->n_queues; i++)
        d->kick_fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    real_ops = d->ops;
    wrapped_ops = *d->ops;
    wrapped_ops.activate = w_activate;
    wrapped_ops.reset = w_reset;
    d->ops = &wrapped_ops;
    return d;
}

static void destroy_device(struct virtio_device *d)
{
    /* What the machine's teardown does. */
    real_ops->destroy(d);
    close(d->irq_fd);
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
        if (d->kick_fds[q] >= 0)
            close(d->kick_fds[q]);
    pthread_mutex_destroy(&d->lock);
    log_limit_destroy(&d->fail_log);
    free(d);
}

/* ---- register access and the checks after each ---- */

static uint32_t rd(uint64_t off)
{
    uint32_t v = 0;
    virtio_mmio_read(dev, off, (uint8_t *)&v, 4);
    return v;
}

static void check_reset_state(void)
{
    assert(dev->status == 0 && dev->acked == 0 && !dev->active);
    assert(atomic_load(&dev->isr) == 0 && !atomic_load(&dev->failed));
    assert(rd(R_STATUS) == 0 && rd(R_ISR) == 0);
    for (unsigned i = 0; i < dev->n_queues; i++) {
        struct virtq fresh;
        memset(&fresh, 0, sizeof(fresh));
        fresh.num_max = dev->queue_max[i];
        assert(memcmp(&dev->queues[i], &fresh, sizeof(fresh)) == 0);
    }
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
        snaps[i].frozen = false;
    driver_ok_seen = false;
    n_activate = 0;
    check_threads("a reset", dev_threads);
}

static void check_state(void)
{
    uint32_t status = dev->status;
    if ((status & S_FEATURES_OK) || dev->active)
        assert(!(dev->acked & ~dev->features));
    if (dev->active)
        assert(n_activate == 1);
    assert((atomic_load(&dev->isr) & ~3u) == 0);
    driver_ok_seen |= (status & S_DRIVER_OK) != 0;
    for (unsigned i = 0; i < dev->n_queues; i++) {
        const struct virtq *q = &dev->queues[i];
        struct qsnap *s = &snaps[i];
        if (s->frozen) {
            if (q->num != s->num || q->desc_gpa != s->desc || q->avail_gpa != s->avail ||
                q->used_gpa != s->used) {
                fprintf(stderr, "queue %u changed after it was ready or DRIVER_OK\n", i);
                abort();
            }
            assert(q->ready || driver_ok_seen);
        } else if (q->ready || driver_ok_seen) {
            *s = (struct qsnap){true, q->num, q->desc_gpa, q->avail_gpa, q->used_gpa};
        }
    }
}

static void wr(uint64_t off, uint32_t v)
{
    virtio_mmio_write(dev, off, (const uint8_t *)&v, 4);
    if (off == R_STATUS && v == 0)
        check_reset_state();
    check_state();
}

static void access_odd(bool write, uint64_t off, unsigned len, const uint8_t *val)
{
    uint8_t buf[8];
    if (write) {
        memcpy(buf, val, sizeof(buf));
        virtio_mmio_write(dev, off, buf, len);
    } else {
        memset(buf, 0xcc, sizeof(buf));
        virtio_mmio_read(dev, off, buf, len);
        if (off == R_DEV_FEATURES && len == 4) {
            uint32_t v;
            memcpy(&v, buf, 4);
            uint64_t bits = dev->dev_features_sel == 0   ? v
                            : dev->dev_features_sel == 1 ? (uint64_t)v << 32
                                                         : 0;
            assert(dev->dev_features_sel < 2 || v == 0);
            assert(!(bits & ~dev->features));
        }
    }
    check_state();
}

/* ---- the fake driver ---- */

/* Ring layout of queue i with num entries: queues one after the other from RING_BASE. */
struct layout {
    uint64_t desc, avail, used;
};

static struct layout ring_at(unsigned qi, unsigned num)
{
    uint64_t base = RING_BASE;
    struct layout l = {0};
    for (unsigned i = 0; i <= qi; i++) {
        l.desc = base;
        l.avail = l.desc + 16ull * num;
        l.used = (l.avail + 6 + 2ull * num + 3) & ~3ull;
        base = (l.used + 6 + 8ull * num + 0xff) & ~0xffull;
    }
    return l;
}

static unsigned queue_num(unsigned qi)
{
    unsigned n = qi < VIRTIO_MAX_QUEUES ? dev->queues[qi].num : 0;
    return n ? n : 16;
}

static uint32_t address_value(unsigned reg)
{
    unsigned qi = dev->queue_sel;
    struct layout l = ring_at(qi < VIRTIO_MAX_QUEUES ? qi : 0, queue_num(qi));
    switch (reg) {
    case R_DESC_LO:
        return (uint32_t)l.desc;
    case R_AVAIL_LO:
        return (uint32_t)l.avail;
    case R_USED_LO:
        return (uint32_t)l.used;
    case R_QUEUE_NUM:
        return queue_num(qi);
    case R_STATUS:
        return S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK;
    default:
        return 0;
    }
}

static void driver_init(uint8_t f, uint8_t nlog)
{
    wr(R_STATUS, 0);
    wr(R_STATUS, S_ACK);
    wr(R_STATUS, S_ACK | S_DRIVER);
    wr(R_DEV_FEATURES_SEL, 0);
    uint64_t offered = rd(R_DEV_FEATURES);
    wr(R_DEV_FEATURES_SEL, 1);
    offered |= (uint64_t)rd(R_DEV_FEATURES) << 32;
    assert(offered == dev->features);
    uint64_t want = offered;
    if (f & 1)
        want &= ~VIRTIO_FEAT_EVENT_IDX;
    if (f & 2)
        want &= ~VIRTIO_FEAT_VERSION_1;
    if (f & 4)
        want |= VIRTIO_F_BIT(f >> 3 & 63) & ~offered ? VIRTIO_F_BIT(f >> 3 & 63) : VIRTIO_F_BIT(62);
    for (unsigned sel = 0; sel < 2; sel++) {
        wr(R_DRV_FEATURES_SEL, sel);
        wr(R_DRV_FEATURES, (uint32_t)(want >> (32 * sel)));
    }
    wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    bool ok = rd(R_STATUS) & S_FEATURES_OK;
    assert(ok == (!(want & ~offered) && (want & VIRTIO_FEAT_VERSION_1)));
    for (unsigned i = 0; i < dev->n_queues; i++) {
        wr(R_QUEUE_SEL, i);
        unsigned max = rd(R_QUEUE_NUM_MAX);
        assert(max == dev->queue_max[i]);
        unsigned num = 1u << (nlog % 9);
        if (num > max)
            num = max;
        wr(R_QUEUE_NUM, num);
        struct layout l = ring_at(i, num);
        wr(R_DESC_LO, (uint32_t)l.desc);
        wr(R_DESC_HI, 0);
        wr(R_AVAIL_LO, (uint32_t)l.avail);
        wr(R_AVAIL_HI, 0);
        wr(R_USED_LO, (uint32_t)l.used);
        wr(R_USED_HI, 0);
        if (!((f & 16) && i + 1 == dev->n_queues))
            wr(R_QUEUE_READY, 1);
    }
    if (!(f & 8))
        wr(R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

/* A chain of up to four descriptors on queue qi, data in the second region. */
static void add_chain(unsigned qi, struct in *in)
{
    unsigned n = 1 + u8(in) % 4;
    if (qi >= dev->n_queues) {
        in->n -= in->n < 2 * n + 16 ? in->n : 2 * n + 16;
        return;
    }
    unsigned num = queue_num(qi);
    struct layout l = ring_at(qi, num);
    if (l.used + 6 + 8ull * num > R0_SIZE)
        return;
    uint16_t *avail = (uint16_t *)(ram0 + l.avail);
    uint16_t idx = avail[1];
    uint16_t head = (uint16_t)((idx * 4u) % num);
    uint64_t data = DATA_GPA + ((idx * 0x400u) % (R1_SIZE - 0x400));
    for (unsigned i = 0; i < n; i++) {
        uint32_t len = u8(in);
        uint8_t fl = u8(in);
        struct vring_desc d = {
            .addr = data,
            .len = len,
            .flags =
                (uint16_t)((fl & 1 ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
            .next = (uint16_t)((head + i + 1) % num),
        };
        data += len;
        memcpy(ram0 + l.desc + 16u * ((head + i) % num), &d, sizeof(d));
    }
    for (unsigned i = 0; i < 16; i++)
        ram1[((idx * 0x400u) % (R1_SIZE - 0x400)) + i] = u8(in);
    avail[2 + idx % num] = head;
    __atomic_store_n(&avail[1], (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}

/* Whether the device has chains on queue qi that it did not give back yet. */
static bool pending(unsigned qi)
{
    if (qi >= dev->n_queues || !dev->active || atomic_load(&dev->failed))
        return false;
    const struct virtq *q = &dev->queues[qi];
    if (!q->ready || !q->avail || !q->used)
        return false;
    uint16_t avail = __atomic_load_n((const uint16_t *)q->avail + 1, __ATOMIC_ACQUIRE);
    uint16_t used = __atomic_load_n((const uint16_t *)q->used + 1, __ATOMIC_ACQUIRE);
    return avail != used;
}

static void notify(unsigned qi)
{
    wr(R_QUEUE_NOTIFY, qi);
    if (is_stub)
        stub_serve(qi);
    /*
     * A device thread gets up to a millisecond to serve what is pending,
     * so that requests are served before the next reset more often than
     * not. Then the interrupt is taken like a driver does.
     */
    struct timespec step = {0, 50000};
    struct pollfd p = {.fd = dev->irq_fd, .events = POLLIN};
    for (int i = 0; i < 20 && !is_stub && pending(qi); i++)
        ppoll(&p, 1, &step, NULL);
    uint64_t v;
    if (read(dev->irq_fd, &v, sizeof(v)) == sizeof(v))
        wr(R_ISR_ACK, rd(R_ISR));
    if (verbose && qi < dev->n_queues && dev->queues[qi].used)
        fprintf(stderr, "notify %u: used idx %u\n", qi, *((uint16_t *)dev->queues[qi].used + 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!base_threads)
        base_threads = count_threads();
    if (size < 1)
        return 0;
    struct in in = {data, size};
    static const char input[4096] = "input from the host\n";
    if (write(in_pipe[1], input, sizeof(input)) < 0 && errno != EAGAIN)
        abort();
    memset(ram0, 0, R0_SIZE);
    memset(ram1, 0, R1_SIZE);
    memset(snaps, 0, sizeof(snaps));
    driver_ok_seen = false;
    n_activate = 0;
    dev = make_device(u8(&in));
    dev_threads = count_threads();
    check_reset_state();

    while (in.n) {
        uint8_t op = u8(&in);
        switch (op & 7) {
        case 0:
        case 1: {
            unsigned reg = (u8(&in) & 0x3fu) * 4;
            uint32_t v = (op & 8) ? (uint32_t)uN(&in, 4) : (op & 16) ? address_value(reg) : u8(&in);
            wr(reg, v);
            break;
        }
        case 2:
        case 3: {
            uint64_t off = uN(&in, 2) % VIRTIO_MMIO_WINDOW;
            static const unsigned LENS[5] = {1, 2, 3, 4, 8};
            unsigned len = LENS[u8(&in) % 5];
            uint8_t val[8];
            for (unsigned i = 0; i < 8; i++)
                val[i] = (op & 7) == 3 ? u8(&in) : 0;
            access_odd((op & 7) == 3, off, len, val);
            if ((op & 7) == 3 && off == R_STATUS && len == 4 && !memcmp(val, "\0\0\0", 4))
                check_reset_state();
            break;
        }
        case 4: {
            uint32_t off = (uint32_t)uN(&in, 2) % (R0_SIZE + R1_SIZE);
            unsigned len = u8(&in) % 32;
            for (unsigned i = 0; i < len; i++, off++) {
                uint8_t b = u8(&in);
                if (off < R0_SIZE)
                    ram0[off] = b;
                else if (off - R0_SIZE < R1_SIZE)
                    ram1[off - R0_SIZE] = b;
            }
            break;
        }
        case 5: {
            uint8_t f = u8(&in);
            driver_init(f, u8(&in));
            break;
        }
        case 6:
            notify(u8(&in));
            break;
        case 7:
            add_chain(u8(&in), &in);
            break;
        }
    }
    destroy_device(dev);
    dev = NULL;
    check_threads("destroy", base_threads);
    return 0;
}

static void cleanup(void)
{
    unlink(img_path);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    verbose = getenv("FUZZ_VERBOSE") != NULL;
    log_configure(2, verbose ? LOG_DEBUG : LOG_OFF, KRUN_LOG_STYLE_NEVER, false);
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                      : getenv("TMPDIR")            ? getenv("TMPDIR")
                                                    : "/tmp";
    snprintf(dir, sizeof(dir), "%s/fuzz_mmio.XXXXXX", tmp);
    if (!mkdtemp(dir))
        abort();
    snprintf(img_path, sizeof(img_path), "%s/disk.img", dir);
    int fd = open(img_path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
        abort();
    close(fd);
    atexit(cleanup);
    null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_fd < 0 || pipe2(in_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        abort();
    /* Console input (topped up before each input; the write end stays open). */
    ram0 = aligned_alloc(4096, R0_SIZE);
    ram1 = aligned_alloc(4096, R1_SIZE);
    if (!ram0 || !ram1 || gm_add_region(&gm, 0, R0_SIZE, ram0) ||
        gm_add_region(&gm, R1_GPA, R1_SIZE, ram1))
        abort();
    return 0;
}
