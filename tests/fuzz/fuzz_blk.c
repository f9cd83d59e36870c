/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/blk/disk.c src/virtio/blk/request.c src/virtio/blk/io_sync.c src/virtio/blk/io_uring.c src/virtio/blk/worker.c src/virtio/queue.c src/util/guest_mem.c src/util/log.c src/util/log_limit.c src/util/thread.c src/util/sandbox.c src/virtio/blk/format.c src/virtio/blk/raw_backing.c src/virtio/blk/io_format.c src/virtio/blk/qcow2.c src/virtio/blk/qcow2_header.c src/virtio/blk/qcow2_table.c src/virtio/blk/qcow2_refcount.c src/virtio/blk/qcow2_compress.c src/virtio/blk/qcow2_io.c src/virtio/blk/vmdk.c */
/* LDLIBS: -luring -lz -lzstd -Wl,--wrap=virtq_pop,--wrap=virtq_push */
/*
 * libFuzzer harness for virtio-blk: a hostile driver's descriptor chains
 * and requests, served by the device's real worker (blk_worker_serve runs
 * on this thread what the queue thread runs after a kick) with either
 * executor (plain system calls or io_uring) against a small raw image,
 * writable or read-only, buffered or O_DIRECT.
 *
 * The image is 64 KiB plus a 100-byte tail that the guest cannot see (a
 * partial last block). Invariants checked beyond "no crash":
 *   - the image keeps its size and its tail: nothing is written outside
 *     the disk; a read-only image keeps every byte (compared by hash);
 *   - every chain the device pops is pushed back exactly once unless the
 *     device failed, with a used length no larger than the writable bytes
 *     of that chain, and at least 1 (the status) when it has any;
 *   - the status byte it answers is OK, IOERR or UNSUPP;
 *   - the device fails only with a broken ring.
 * virtq_pop and virtq_push are wrapped (ld --wrap) to see every chain.
 *
 * Input layout (blk_seeds in gen_seeds.c builds the same):
 *   0      bit 0 read-only disk, 1 FLUSH, 2 DISCARD, 3 WRITE_ZEROES
 *          negotiated, 4 io_uring, 5 EVENT_IDX, 6 sync mode NONE (else
 *          FULL), 7 direct I/O
 *   1      log2 of the queue size (mod 9)
 *   2..    commands; the low 3 bits of the first byte say which:
 *   0-3 REQ: bit 3 no header, bit 4 no status byte, bit 5 the last
 *          descriptor links on (a byte: next index), bit 6 header split in
 *          two (a byte: where), bit 7 a discard/write-zeroes range first.
 *          Then: type (byte; mod 8: IN OUT FLUSH GET_ID DISCARD
 *          WRITE_ZEROES, 6: GET_LIFETIME (9, unsupported), 7: le32 follows), sector (byte; 0xff:
 *          le64 follows), [split], [range: sector, sectors, flags bytes,
 *          each 0xff: le64/le32/le32 follows], segment count (byte, mod 16),
 *          per segment a byte: bit 0 writable, bits 1-3 length (0, 1, 16,
 *          511, 512, 4096, le16 follows, 512 * next byte), bit 4 raw
 *          address (le32 follows), bit 5 in the second RAM region; [next].
 *   4 SERVE: publish the available index (bit 3: a raw le16 instead),
 *          let the device serve the ring.
 *   5 POKE: le16 offset, byte length (mod 64), bytes: overwrite RAM.
 *   6 AVAIL: le16 head appended to the available ring as is.
 *   7 EVENT: le16 avail flags, le16 used_event.
 *   The ring is published and served once more at the end.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "libkrun.h"
#include "util/guest_mem.h"
#include "util/log.h"
#include "virtio/blk/config.h"
#include "virtio/blk/disk.h"
#include "virtio/blk/worker.h"
#include "virtio/device.h"
#include "virtio/queue.h"

#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int __real_virtq_pop(struct virtq *q, struct virtq_chain *c);
void __real_virtq_push(struct virtq *q, uint16_t head, uint32_t written);
int __wrap_virtq_pop(struct virtq *q, struct virtq_chain *c);
void __wrap_virtq_push(struct virtq *q, uint16_t head, uint32_t written);

#define DISK_SIZE 0x10000u
#define TAIL      100u
#define IMG_SIZE  (DISK_SIZE + TAIL)

/* Guest RAM: [0, 192 KiB), a hole, [256 KiB, 320 KiB). */
#define R0_SIZE   0x30000u
#define R1_GPA    0x40000u
#define R1_SIZE   0x10000u
#define DESC_GPA  0x0000u
#define AVAIL_GPA 0x1000u
#define USED_GPA  0x2000u
#define DATA_GPA  0x3000u

#define MAX_OUTSTANDING 1024

static char dir[96], rw_path[128], ro_path[128];
static uint8_t image[IMG_SIZE];
static uint64_t image_hash;
/* [read_only][sync none][direct]; a direct variant is NULL where O_DIRECT is refused. */
static struct blk_disk disks[2][2][2];
static bool disk_open[2][2][2];
static int rw_fd = -1, ro_fd = -1;

static uint8_t *ram0, *ram1;
static struct guest_mem gm;
static struct virtio_device dev;
static struct blk_stats stats;
static atomic_bool stop;
static struct blk_worker workers[2][9]; /* [io_uring][log2 of the queue size] */

/* What the wrappers saw during one input. */
struct popped {
    uint16_t head;
    uint32_t in_len;
    const uint8_t *status; /* last writable byte, or NULL */
};
static struct popped outstanding[MAX_OUTSTANDING];
static unsigned n_outstanding;
static bool dev_failed;
static bool verbose; /* FUZZ_VERBOSE: what the driver sent and what came back */

static void die(const char *what)
{
    perror(what);
    abort();
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static bool in_ram(const void *p, size_t len)
{
    const uint8_t *b = p;
    return (b >= ram0 && b < ram0 + R0_SIZE && len <= (size_t)(ram0 + R0_SIZE - b)) ||
           (b >= ram1 && b < ram1 + R1_SIZE && len <= (size_t)(ram1 + R1_SIZE - b));
}

/* ---- the transport, as far as the worker uses it ---- */

void virtio_device_notify_queue(struct virtio_device *d, struct virtq *q)
{
    (void)virtq_needs_notify(q);
}

void virtio_device_fail(struct virtio_device *d, const char *fmt, ...)
{
    /* The worker gives up only on a ring that virtq_pop called broken. */
    assert(d->queues[0].broken);
    dev_failed = true;
    atomic_store(&d->failed, true);
}

int __wrap_virtq_pop(struct virtq *q, struct virtq_chain *c)
{
    int rc = __real_virtq_pop(q, c);
    if (rc != 1)
        return rc;
    const uint8_t *status = NULL;
    assert(c->n_out + c->n_in <= c->iov_cap);
    for (unsigned i = 0; i < c->n_out + c->n_in; i++) {
        assert(c->iov[i].iov_len > 0 && in_ram(c->iov[i].iov_base, c->iov[i].iov_len));
        if (i >= c->n_out)
            status = (const uint8_t *)c->iov[i].iov_base + c->iov[i].iov_len - 1;
    }
    assert(n_outstanding < MAX_OUTSTANDING);
    outstanding[n_outstanding++] = (struct popped){c->head, (uint32_t)c->in_len, status};
    return rc;
}

void __wrap_virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
    /* The same head may be out twice (the driver listed it twice): take the best fit. */
    unsigned best = n_outstanding;
    for (unsigned i = 0; i < n_outstanding; i++)
        if (outstanding[i].head == head && written <= outstanding[i].in_len &&
            (best == n_outstanding || outstanding[i].in_len < outstanding[best].in_len))
            best = i;
    if (best == n_outstanding) {
        fprintf(stderr, "push of head %u with %u bytes: not popped, or more than it offered\n",
                head, written);
        abort();
    }
    const struct popped *p = &outstanding[best];
    if (verbose)
        fprintf(stderr, "used: head %u, %u bytes, status %d\n", head, written,
                p->status ? *p->status : -1);
    if (p->in_len > 0) {
        assert(written >= 1);
        uint8_t st = *p->status;
        assert(st == VIRTIO_BLK_S_OK || st == VIRTIO_BLK_S_IOERR || st == VIRTIO_BLK_S_UNSUPP);
    } else {
        assert(written == 0);
    }
    outstanding[best] = outstanding[--n_outstanding];
    __real_virtq_push(q, head, written);
}

/* ---- input ---- */

/* A byte, or (0xff) a wider raw value. */
static uint64_t small_or_raw(struct in *in, unsigned bytes)
{
    uint8_t b = u8(in);
    return b == 0xff ? uN(in, bytes) : b;
}

/* ---- the fake driver ---- */

struct driver {
    uint16_t num;
    uint16_t next_desc;
    uint16_t avail_idx;
    uint32_t bump0, bump1;
};

static uint8_t *host(uint64_t gpa, size_t len)
{
    return gm_ptr(&gm, gpa, len);
}

/* Room for len bytes in region 0 (or 1), wrapping around: a hostile driver reuses memory. */
static uint64_t alloc(struct driver *drv, uint32_t len, bool second)
{
    if (second && len <= R1_SIZE) {
        if (drv->bump1 + len > R1_SIZE)
            drv->bump1 = 0;
        uint64_t gpa = R1_GPA + drv->bump1;
        drv->bump1 += len;
        return gpa;
    }
    if (drv->bump0 + len > R0_SIZE)
        drv->bump0 = DATA_GPA;
    uint64_t gpa = drv->bump0;
    drv->bump0 += len;
    return gpa; /* may run past the region: then the ring breaks, as it should */
}

struct seg {
    uint64_t gpa;
    uint32_t len;
    bool write;
};

/* Fill guest memory at gpa with bytes, as far as it is RAM. */
static void fill(uint64_t gpa, const void *src, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t *h = host(gpa + i, 1);
        if (h)
            *h = ((const uint8_t *)src)[i];
    }
}

static void set_desc(struct driver *drv, uint16_t idx, const struct seg *s, bool more,
                     uint16_t next)
{
    struct vring_desc d = {
        .addr = s->gpa,
        .len = s->len,
        .flags = (uint16_t)((s->write ? VRING_DESC_F_WRITE : 0) | (more ? VRING_DESC_F_NEXT : 0)),
        .next = next,
    };
    memcpy(ram0 + DESC_GPA + 16u * (idx % drv->num), &d, sizeof(d));
}

static void avail_add(struct driver *drv, uint16_t head)
{
    uint8_t *ring = ram0 + AVAIL_GPA + 4 + 2u * (drv->avail_idx % drv->num);
    memcpy(ring, &head, 2);
    drv->avail_idx++;
}

static const uint32_t TYPES[6] = {VIRTIO_BLK_T_IN,      VIRTIO_BLK_T_OUT,
                                  VIRTIO_BLK_T_FLUSH,   VIRTIO_BLK_T_GET_ID,
                                  VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES};

static void add_request(struct driver *drv, uint8_t cmd, struct in *in)
{
    struct seg segs[24];
    unsigned n = 0;
    uint8_t t = u8(in);
    uint32_t type = t % 8 < 6 ? TYPES[t % 8] : t % 8 == 6 ? 9 : (uint32_t)uN(in, 4);
    struct virtio_blk_outhdr hdr = {.type = type, .sector = small_or_raw(in, 8)};

    if (!(cmd & 8)) {
        unsigned split = (cmd & 0x40) ? 1 + u8(in) % 15 : 16;
        uint64_t gpa = alloc(drv, 16, false);
        fill(gpa, &hdr, sizeof(hdr));
        segs[n++] = (struct seg){gpa, split, false};
        if (split < 16) {
            /* The second part elsewhere, in the other region. */
            uint64_t g2 = alloc(drv, 16 - split, true);
            fill(g2, (uint8_t *)&hdr + split, 16 - split);
            segs[n++] = (struct seg){g2, 16 - split, false};
        }
    }
    if (cmd & 0x80) {
        struct virtio_blk_discard_write_zeroes r = {
            .sector = small_or_raw(in, 8),
            .num_sectors = (uint32_t)small_or_raw(in, 4),
            .flags = (uint32_t)small_or_raw(in, 4),
        };
        uint64_t gpa = alloc(drv, sizeof(r), false);
        fill(gpa, &r, sizeof(r));
        segs[n++] = (struct seg){gpa, sizeof(r), false};
    }
    unsigned nseg = u8(in) % 16;
    for (unsigned i = 0; i < nseg; i++) {
        uint8_t f = u8(in);
        static const uint32_t LENS[6] = {0, 1, 16, 511, 512, 4096};
        unsigned cls = (f >> 1) & 7;
        uint32_t len = cls < 6 ? LENS[cls] : cls == 6 ? (uint32_t)uN(in, 2) : 512u * u8(in);
        uint64_t gpa = (f & 0x10) ? uN(in, 4) : alloc(drv, len, f & 0x20);
        if (!(f & 0x10) && !(f & 1)) {
            uint8_t *h = host(gpa, len);
            if (h)
                memset(h, 0x5a ^ (int)i, len);
        }
        segs[n++] = (struct seg){gpa, len, f & 1};
    }
    if (!(cmd & 0x10)) {
        uint64_t gpa = alloc(drv, 1, false);
        ram0[gpa] = 0xee;
        segs[n++] = (struct seg){gpa, 1, true};
    }
    bool link = cmd & 0x20;
    uint16_t link_to = link ? u8(in) : 0;
    if (n == 0)
        return;
    uint16_t head = drv->next_desc % drv->num;
    if (verbose)
        fprintf(stderr, "request: head %u, type %u, sector %llu, %u descriptors\n", head, type,
                (unsigned long long)hdr.sector, n);
    for (unsigned i = 0; i < n; i++) {
        uint16_t idx = drv->next_desc++ % drv->num;
        bool last = i + 1 == n;
        set_desc(drv, idx, &segs[i], !last || link,
                 last ? link_to : (uint16_t)(drv->next_desc % drv->num));
    }
    avail_add(drv, head);
}

static void publish(struct driver *drv, uint16_t idx)
{
    __atomic_store_n((uint16_t *)(ram0 + AVAIL_GPA + 2), idx, __ATOMIC_RELEASE);
}

static void serve(struct blk_worker *w)
{
    blk_worker_serve(w);
    if (!dev_failed && n_outstanding) {
        fprintf(stderr, "%u chains popped and never answered\n", n_outstanding);
        abort();
    }
}

static void check_image(bool read_only)
{
    struct stat st;
    uint8_t buf[IMG_SIZE];
    int fd = read_only ? ro_fd : rw_fd;
    if (fstat(fd, &st) < 0 || pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
        die("image");
    if (st.st_size != IMG_SIZE) {
        fprintf(stderr, "the image changed size: %lld\n", (long long)st.st_size);
        abort();
    }
    if (memcmp(buf + DISK_SIZE, image + DISK_SIZE, TAIL) != 0) {
        fprintf(stderr, "the guest wrote past the end of the disk\n");
        abort();
    }
    if (read_only && fnv(buf, sizeof(buf)) != image_hash) {
        fprintf(stderr, "a read-only image was modified\n");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    struct in in = {data, size};
    uint8_t flags = u8(&in);
    bool ro = flags & 1, none = flags & 0x40, direct = flags & 0x80;
    if (!disk_open[ro][none][direct])
        direct = false;
    const struct blk_disk *disk = &disks[ro][none][direct];

    memset(ram0, 0, R0_SIZE);
    memset(ram1, 0, R1_SIZE);
    if (!ro && pwrite(rw_fd, image, IMG_SIZE, 0) != IMG_SIZE)
        die("restore image");

    struct driver drv = {.num = (uint16_t)(1u << (u8(&in) % 9)), .bump0 = DATA_GPA};
    struct virtq *q = &dev.queues[0];
    virtq_reset(q);
    q->num = drv.num;
    q->desc_gpa = DESC_GPA;
    q->avail_gpa = AVAIL_GPA;
    q->used_gpa = USED_GPA;
    q->ready = true;
    if (virtq_activate(q, &gm, flags & 0x20, false) != 0)
        abort();
    atomic_store(&dev.failed, false);
    n_outstanding = 0;
    dev_failed = false;

    /* One worker per queue size and engine, kept: setting one up costs more than an input. */
    bool uring = flags & 0x10;
    unsigned log2num = (unsigned)__builtin_ctz(drv.num);
    struct blk_worker *w = &workers[uring][log2num];
    if (!w->slots) {
        *w = (struct blk_worker){.name = "fuzz-blk",
                                 .dev = &dev,
                                 .vq = q,
                                 .kick_fd = -1,
                                 .stop_fd = -1,
                                 .stop = &stop,
                                 .stats = &stats,
                                 .try_uring = uring};
        if (blk_worker_start_inline(w) != 0 || w->n_slots != drv.num)
            abort();
        if (uring && !w->uring)
            fprintf(stderr, "fuzz_blk: io_uring is not available, requests run synchronously\n");
    }
    blk_worker_rearm_inline(w);
    w->disk = disk;
    w->mode =
        (struct blk_mode){.flush = flags & 2, .discard = flags & 4, .write_zeroes = flags & 8};

    while (in.n) {
        uint8_t cmd = u8(&in);
        switch (cmd & 7) {
        case 4:
            publish(&drv, (cmd & 8) ? (uint16_t)uN(&in, 2) : drv.avail_idx);
            serve(w);
            break;
        case 5: {
            uint32_t off = (uint32_t)uN(&in, 2) % R0_SIZE;
            unsigned len = u8(&in) % 64;
            for (unsigned i = 0; i < len && off + i < R0_SIZE; i++)
                ram0[off + i] = u8(&in);
            break;
        }
        case 6:
            avail_add(&drv, (uint16_t)uN(&in, 2));
            break;
        case 7: {
            uint16_t fl = (uint16_t)uN(&in, 2), ev = (uint16_t)uN(&in, 2);
            memcpy(ram0 + AVAIL_GPA, &fl, 2);
            memcpy(ram0 + AVAIL_GPA + 4 + 2u * drv.num, &ev, 2);
            break;
        }
        default:
            add_request(&drv, cmd, &in);
            break;
        }
    }
    publish(&drv, drv.avail_idx);
    serve(w);
    check_image(ro);
    return 0;
}

static void cleanup(void)
{
    for (int u = 0; u < 2; u++)
        for (int k = 0; k < 9; k++)
            blk_worker_join(&workers[u][k]);
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 2; c++)
                if (disk_open[a][b][c])
                    blk_disk_close(&disks[a][b][c]);
    unlink(rw_path);
    unlink(ro_path);
    rmdir(dir);
}

static void write_image(const char *path)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0 || write(fd, image, IMG_SIZE) != IMG_SIZE || close(fd) < 0)
        die(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* Requests from a hostile guest are logged; keep the fuzzer's output clean. */
    verbose = getenv("FUZZ_VERBOSE") != NULL;
    log_configure(2, verbose ? LOG_DEBUG : LOG_OFF, KRUN_LOG_STYLE_NEVER, false);
    /* A tmpfs: fdatasync and O_DIRECT cost nothing there (and O_DIRECT works since 6.6). */
    struct statfs sf;
    const char *base = statfs("/dev/shm", &sf) == 0 && sf.f_type == TMPFS_MAGIC ? "/dev/shm"
                       : getenv("TMPDIR")                                       ? getenv("TMPDIR")
                                                                                : "/tmp";
    snprintf(dir, sizeof(dir), "%s/fuzz_blk.XXXXXX", base);
    if (!mkdtemp(dir))
        die("mkdtemp");
    snprintf(rw_path, sizeof(rw_path), "%s/rw.img", dir);
    snprintf(ro_path, sizeof(ro_path), "%s/ro.img", dir);
    for (size_t i = 0; i < IMG_SIZE; i++)
        image[i] = (uint8_t)(i * 7 + 3);
    image_hash = fnv(image, IMG_SIZE);
    write_image(rw_path);
    write_image(ro_path);
    atexit(cleanup);

    for (int ro = 0; ro < 2; ro++)
        for (int none = 0; none < 2; none++)
            for (int direct = 0; direct < 2; direct++) {
                struct disk_config cfg = {.block_id = "vfuzz",
                                          .path = ro ? ro_path : rw_path,
                                          .format = KRUN_DISK_FORMAT_RAW,
                                          .read_only = ro,
                                          .direct_io = direct,
                                          .sync_mode = none ? KRUN_SYNC_NONE : KRUN_SYNC_FULL};
                char err[256];
                int ret = blk_disk_open(&disks[ro][none][direct], &cfg, err, sizeof(err));
                if (ret < 0 && !direct) {
                    fprintf(stderr, "%s\n", err);
                    abort();
                }
                disk_open[ro][none][direct] = ret == 0;
                if (ret == 0 && disks[ro][none][direct].size != DISK_SIZE)
                    abort();
            }
    rw_fd = open(rw_path, O_RDWR | O_CLOEXEC);
    ro_fd = open(ro_path, O_RDONLY | O_CLOEXEC);
    if (rw_fd < 0 || ro_fd < 0)
        die("open image");

    ram0 = aligned_alloc(4096, R0_SIZE);
    ram1 = aligned_alloc(4096, R1_SIZE);
    if (!ram0 || !ram1 || gm_add_region(&gm, 0, R0_SIZE, ram0) ||
        gm_add_region(&gm, R1_GPA, R1_SIZE, ram1))
        abort();
    strcpy(dev.name, "fuzz-blk");
    dev.n_queues = 1;
    dev.queues[0].num_max = 256;
    dev.gm = &gm;
    return 0;
}
