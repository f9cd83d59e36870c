/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes a few valid inputs for a fuzz harness into a corpus directory, so
 * that fuzzing starts from well-formed rings and images:
 *   gen_seeds NAME DIR   (NAME as in tests/fuzz/fuzz_NAME.c)
 */
#include <bzlib.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include "synth_kernel.h"
#include "virtio/net/frame.h"

static const char *dir;

static void put(const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* Layout of fuzz_queue.c: a 13-byte header, then region 0 (16 KiB), then region 1. */
#define Q_HDR     13
#define Q_R1_GPA  0x5000
#define Q_R0_SIZE 0x4000
static uint8_t qbuf[Q_HDR + 0x8000];

static uint8_t *qmem(uint64_t gpa)
{
    return qbuf + Q_HDR + (gpa >= Q_R1_GPA ? Q_R0_SIZE + (gpa - Q_R1_GPA) : gpa);
}

static void qdesc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                  uint16_t next)
{
    struct vring_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};
    memcpy(qmem(table + 16 * i), &d, sizeof(d));
}

static void qheader(uint8_t flags, uint8_t log2num, uint16_t start)
{
    memset(qbuf, 0, sizeof(qbuf));
    qbuf[0] = flags;
    qbuf[1] = log2num;
    qbuf[2] = 15;   /* iov_cap 16 */
    qbuf[3] = 0x00; /* desc  0x0000 */
    qbuf[5] = 0x00; /* avail 0x0800 */
    qbuf[6] = 0x08;
    qbuf[7] = 0x00; /* used  0x1000 */
    qbuf[8] = 0x10;
    qbuf[9] = (uint8_t)start;
    qbuf[10] = (uint8_t)(start >> 8);
}

static void qavail(uint16_t num, uint16_t start, const uint16_t *heads, unsigned n)
{
    uint8_t *avail = qmem(0x800);
    for (unsigned i = 0; i < n; i++) {
        uint16_t slot = (uint16_t)(start + i) & (num - 1);
        memcpy(avail + 4 + 2 * slot, &heads[i], 2);
    }
    uint16_t idx = (uint16_t)(start + n);
    memcpy(avail + 2, &idx, 2);
}

static void queue_seeds(void)
{
    /* A direct chain: two readable, one writable. */
    qheader(0, 3, 0);
    qdesc(0, 0, 0x2000, 16, VRING_DESC_F_NEXT, 1);
    qdesc(0, 1, Q_R1_GPA, 32, VRING_DESC_F_NEXT, 2);
    qdesc(0, 2, Q_R1_GPA + 0x100, 64, VRING_DESC_F_WRITE, 0);
    qdesc(0, 3, 0x2100, 8, 0, 0);
    qavail(8, 0, (const uint16_t[]){0, 3}, 2);
    put("queue-direct", qbuf, Q_HDR + Q_R0_SIZE + 0x200);

    /* An indirect table in region 1, EVENT_IDX, indexes about to wrap. */
    qheader(3, 4, 0xfffe);
    for (unsigned i = 0; i < 4; i++)
        qdesc(Q_R1_GPA + 0x400, i, Q_R1_GPA + 0x40 * i, 0x40,
              (uint16_t)((i < 3 ? VRING_DESC_F_NEXT : 0) | (i >= 2 ? VRING_DESC_F_WRITE : 0)),
              (uint16_t)(i + 1));
    qdesc(0, 5, Q_R1_GPA + 0x400, 64, VRING_DESC_F_INDIRECT, 0);
    qdesc(0, 6, 0x3000, 0x10, VRING_DESC_F_WRITE, 0);
    qavail(16, 0xfffe, (const uint16_t[]){5, 6, 5}, 3);
    put("queue-indirect", qbuf, Q_HDR + Q_R0_SIZE + 0x500);
}

static void loader_seeds(void)
{
    static uint8_t img[SYNTH_ELF_SIZE > SYNTH_BZ_SIZE ? SYNTH_ELF_SIZE : SYNTH_BZ_SIZE];
    size_t n = synth_elf(img, false, SYNTH_ENTRY + SYNTH_VIRT_OFFSET);
    put("elf", img, n);
    n = synth_elf(img, true, SYNTH_ENTRY);
    put("elf-pvh", img, n);
    n = synth_bzimage(img);
    put("bzimage", img, n);
}

/* fuzz_kernel_decompress.c: a codec byte (0 gzip, 1 bzip2, 2 zstd), then a compressed vmlinux. */
static void kernel_decompress_seeds(void)
{
    static uint8_t elf[SYNTH_ELF_SIZE];
    static uint8_t out[1 + 2 * SYNTH_ELF_SIZE];
    size_t n = synth_elf(elf, false, SYNTH_ENTRY);
    size_t cap = sizeof(out) - 1;

    z_stream zs = {0};
    if (deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        exit(1);
    zs.next_in = elf;
    zs.avail_in = (uInt)n;
    zs.next_out = out + 1;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        exit(1);
    out[0] = 0;
    put("gzip", out, 1 + zs.total_out);
    deflateEnd(&zs);

    unsigned bn = (unsigned)cap;
    if (BZ2_bzBuffToBuffCompress((char *)out + 1, &bn, (char *)elf, (unsigned)n, 9, 0, 0) != BZ_OK)
        exit(1);
    out[0] = 1;
    put("bzip2", out, 1 + bn);

    size_t zn = ZSTD_compress(out + 1, cap, elf, n, 19);
    if (ZSTD_isError(zn))
        exit(1);
    out[0] = 2;
    put("zstd", out, 1 + zn);
}

/* Config files in the forms crun and muvm write. */
static void init_config_seeds(void)
{
    static const char oci[] =
        "{\"ociVersion\":\"1.0.2\",\"process\":{\"user\":{\"uid\":1,\"gid\":2,"
        "\"additionalGids\":[3]},\"args\":[\"/bin/sh\",\"-c\",\"echo \\u00fc\"],"
        "\"env\":[\"A=1\"],\"cwd\":\"/tmp\",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\","
        "\"hard\":10,\"soft\":5}]},\"hostname\":\"h\",\"mounts\":[{\"destination\":"
        "\"/tmp\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\"]}]}";
    static const char docker[] =
        "{\"Config\":{\"Entrypoint\":[\"/bin/sh\"],\"Cmd\":[\"-c\",\"true\"],"
        "\"Env\":[\"B=2\"],\"WorkingDir\":\"/\",\"User\":\"1:2\"}}";
    put("oci", oci, sizeof(oci) - 1);
    put("docker", docker, sizeof(docker) - 1);
}

/* fuzz_vsock.c records: op, le16 length, bytes; the packets as a guest sends them. */
static uint8_t vbuf[4096];
static size_t vlen;

static void vrec(uint8_t op, const void *bytes, uint16_t len)
{
    vbuf[vlen++] = op;
    vbuf[vlen++] = (uint8_t)len;
    vbuf[vlen++] = (uint8_t)(len >> 8);
    if (bytes)
        memcpy(vbuf + vlen, bytes, len);
    vlen += bytes ? len : 0;
}

static void vpkt(uint32_t sport, uint32_t dport, uint16_t type, uint16_t op, uint32_t flags,
                 const void *payload, uint32_t len)
{
    uint8_t p[44 + 256] = {0};
    p[0] = 3; /* src_cid */
    p[8] = 2; /* dst_cid */
    memcpy(p + 16, &sport, 4);
    memcpy(p + 20, &dport, 4);
    memcpy(p + 24, &len, 4);
    memcpy(p + 28, &type, 2);
    memcpy(p + 30, &op, 2);
    memcpy(p + 32, &flags, 4);
    uint32_t buf_alloc = 262144;
    memcpy(p + 36, &buf_alloc, 4);
    if (len)
        memcpy(p + 44, payload, len);
    vrec((uint8_t)(4 * (vlen % 13)), p, (uint16_t)(44 + len));
}

static void vsock_seeds(void)
{
    /* A stream to the port that listens on the host, its data and its close. */
    vlen = 0;
    vpkt(5000, 2000, 1, 1, 0, NULL, 0);
    vrec(1, NULL, 4140);
    vpkt(5000, 2000, 1, 5, 0, "data", 4);
    vpkt(5000, 2000, 1, 7, 0, NULL, 0);
    vpkt(5000, 2000, 1, 4, 3, NULL, 0);
    vrec(2, NULL, 0);
    vrec(1, NULL, 4140);
    put("vsock-stream", vbuf, vlen);
    /* A host connection answered, and an unknown port. */
    vlen = 0;
    vpkt(2000, 0x40000000, 1, 2, 0, NULL, 0);
    vpkt(6000, 1234, 1, 1, 0, NULL, 0);
    vpkt(6000, 1234, 2, 1, 0, NULL, 0);
    vrec(1, NULL, 60);
    put("vsock-misc", vbuf, vlen);
    /* TSI through the packet path: PROXY_CREATE, CONNECT to 127.0.0.1:80, the data stream. */
    vlen = 0;
    uint8_t create[8] = {0x10, 0x27, 0, 0, 2, 0, 1, 0};
    vpkt(3000, 1024, 3, 5, 0, create, 8);
    uint8_t conn[136] = {0x10, 0x27, 0, 0, 16, 0, 0, 0, 2, 0, 0, 80, 127, 0, 0, 1};
    vpkt(3000, 1025, 3, 5, 0, conn, 136);
    vrec(2, NULL, 0);
    vrec(1, NULL, 4140);
    vpkt(10000, 620, 1, 1, 0, NULL, 0);
    put("vsock-tsi", vbuf, vlen);
}

/* fuzz_tsi.c records: request (port - 1024), payload length, source variant, payload. */
static void tsi_seeds(void)
{
    uint8_t b[1024];
    size_t n = 0;
    static const uint8_t create[8] = {0x10, 0x27, 0, 0, 2, 0, 1, 0};
    static const uint8_t dcreate[8] = {0x11, 0x27, 0, 0, 2, 0, 2, 0};
    uint8_t listen[144] = {0x10, 0x27, 0, 0, 0x10, 0x27, 0, 0,  8,   0, 0, 0,
                           16,   0,    0, 0, 2,    0,    0, 80, 127, 0, 0, 1};
    uint8_t accept[8] = {0x10, 0x27, 0, 0, 0, 8, 0, 0}; /* O_NONBLOCK */
    uint8_t sendto[136] = {0x11, 0x27, 0, 0, 16, 0, 0, 0, 2, 0, 0, 53, 127, 0, 0, 1};
    uint8_t getname[12] = {0x10, 0x27, 0, 0, 0x6c, 2, 0, 0, 1, 0, 0, 0};
    uint8_t release[8] = {0x10, 0x27, 0, 0, 0x6c, 2, 0, 0};
    struct {
        uint8_t type;
        const uint8_t *p;
        uint8_t len;
    } recs[] = {{0, create, 8},  {5, listen, 144}, {6, accept, 8},   {2, getname, 12},
                {0, dcreate, 8}, {3, sendto, 136}, {1, sendto, 136}, {7, release, 8}};
    for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
        b[n++] = recs[i].type;
        b[n++] = recs[i].len;
        b[n++] = 0;
        memcpy(b + n, recs[i].p, recs[i].len);
        n += recs[i].len;
    }
    put("tsi", b, n);
}

/* Command streams of fuzz_blk.c (see its layout). */
struct bseed {
    uint8_t buf[512];
    size_t len;
};

static void b_put(struct bseed *sd, const int *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sd->buf[sd->len++] = (uint8_t)v[i];
}
#define B(sd, ...) b_put(sd, (const int[]){__VA_ARGS__}, sizeof((int[]){__VA_ARGS__}) / sizeof(int))

enum { B_IN, B_OUT, B_FLUSH, B_GET_ID, B_DISCARD, B_WZ, B_UNKNOWN };
/* Segment bytes: writable, length class (0, 1, 16, 511, 512, 4096, le16, 512*n). */
#define BSEG(w, cls) ((w) | (cls) << 1)
#define B_SERVE      4

static void blk_seeds(void)
{
    struct bseed sd = {.len = 0};
    /* Writable, FLUSH/DISCARD/WRITE_ZEROES, 16 entries: one of each request. */
    B(&sd, 0x0e, 6);
    B(&sd, 0, B_OUT, 0, 1, BSEG(0, 5));        /* write 4 KiB at sector 0 */
    B(&sd, 0, B_IN, 0, 1, BSEG(1, 5));         /* read it back */
    B(&sd, 0, B_FLUSH, 0, 0);                  /* flush */
    B(&sd, 0, B_GET_ID, 0, 1, BSEG(1, 6), 20); /* 20-byte id (le16 20) */
    sd.buf[sd.len++] = 0;
    B(&sd, 0x80, B_DISCARD, 0, 8, 8, 0, 0); /* range 8+8 */
    B(&sd, 0x80, B_WZ, 0, 16, 8, 1, 0);     /* range 16+8, UNMAP */
    B(&sd, 0, B_UNKNOWN, 0, 0);
    B(&sd, B_SERVE);
    B(&sd, 0, B_IN, 127, 1, BSEG(1, 4)); /* the last sector */
    B(&sd, 0, B_IN, 127, 1, BSEG(1, 5)); /* past the end */
    put("blk-each", sd.buf, sd.len);
    sd.buf[0] |= 0x10; /* the same through io_uring */
    put("blk-each-uring", sd.buf, sd.len);

    /* Read-only, direct I/O, EVENT_IDX: reads at odd buffers, refused writes. */
    sd.len = 0;
    B(&sd, 0xa1, 5);
    B(&sd, 0, B_IN, 2, 2, BSEG(1, 3), BSEG(1, 1)); /* 511 + 1: misaligned */
    B(&sd, 0, B_OUT, 0, 1, BSEG(0, 4));
    B(&sd, 0x80, B_DISCARD, 0, 0, 1, 0, 0);
    B(&sd, 0, B_IN, 4, 1, BSEG(1, 7), 8); /* 8 sectors in one go */
    put("blk-ro-direct", sd.buf, sd.len);

    /* Any layout: header split 5/11, data in the second region, status in the data. */
    sd.len = 0;
    B(&sd, 0x12, 5);
    B(&sd, 0x40 | 0x10, B_OUT, 3, 5, 4, BSEG(0, 1) | 0x20, BSEG(0, 3), BSEG(0, 4) | 0x20,
      BSEG(1, 1));
    B(&sd, 0x10, B_IN, 3, 2, BSEG(1, 4) | 0x20, BSEG(1, 1));
    B(&sd, 0x40, B_IN, 3, 15, 2, BSEG(1, 3), BSEG(1, 1) | 0x20);
    put("blk-layout", sd.buf, sd.len);

    /* A chain that links back to its head (a loop), then a raw head out of range. */
    sd.len = 0;
    B(&sd, 0x02, 3);
    B(&sd, 0x20, B_IN, 0, 1, BSEG(1, 4), 0);
    B(&sd, 6, 0x40, 0);
    put("blk-loop", sd.buf, sd.len);
}

/* Operation streams of fuzz_mmio.c (see its layout). */
enum { M_W32 = 0, M_READ = 2, M_WRITE = 3, M_MEM = 4, M_INIT = 5, M_NOTIFY = 6, M_CHAIN = 7 };
#define M_REG(off) ((off) / 4)
#define M_ADDR     16 /* WRITE32: the selected queue's ring address */

/* CHAIN on queue q: descriptors (length, flags) pairs, then 16 bytes for the first buffer. */
static void m_chain(struct bseed *sd, unsigned q, unsigned n, const uint8_t *descs,
                    const void *head16)
{
    B(sd, M_CHAIN, (int)q, (int)n - 1);
    for (unsigned i = 0; i < 2 * n; i++)
        B(sd, descs[i]);
    uint8_t h[16] = {0};
    if (head16)
        memcpy(h, head16, 16);
    for (unsigned i = 0; i < 16; i++)
        B(sd, h[i]);
}

static void mmio_seeds(void)
{
    struct bseed sd = {.len = 0};
    /* The stub with 2 queues: init, one chain on each, notify, config access, reset. */
    B(&sd, 0x08, M_INIT, 0, 3);
    m_chain(&sd, 0, 2, (const uint8_t[]){16, 0, 16, 1}, "request\0\0\0\0\0\0\0\0");
    m_chain(&sd, 1, 1, (const uint8_t[]){8, 1}, NULL);
    B(&sd, M_NOTIFY, 0, M_NOTIFY, 1);
    B(&sd, M_READ, 0x00, 0x01, 4, M_READ, 0x03, 0x01, 1, M_WRITE, 0x02, 0x01, 1, 9, 9, 9, 9, 9, 9,
      9, 9);
    B(&sd, M_W32, M_REG(0x070), 0);
    put("mmio-stub", sd.buf, sd.len);

    /* The stub set up by hand: register by register, with the ring addresses. */
    sd.len = 0;
    B(&sd, 0x00, M_W32, M_REG(0x070), 1, M_W32, M_REG(0x070), 3);
    B(&sd, M_W32, M_REG(0x024), 1, M_W32 | 8, M_REG(0x020), 1, 0, 0, 0);
    B(&sd, M_W32, M_REG(0x070), 11, M_W32, M_REG(0x030), 0, M_W32, M_REG(0x038), 8);
    B(&sd, M_W32 | M_ADDR, M_REG(0x080), M_W32 | M_ADDR, M_REG(0x090), M_W32 | M_ADDR,
      M_REG(0x0a0));
    B(&sd, M_W32, M_REG(0x044), 1, M_W32, M_REG(0x070), 15);
    B(&sd, M_W32, M_REG(0x080), 0x40, M_W32, M_REG(0x038), 4); /* frozen: ignored */
    m_chain(&sd, 0, 1, (const uint8_t[]){4, 1}, NULL);
    B(&sd, M_NOTIFY, 0);
    put("mmio-by-hand", sd.buf, sd.len);

    /* virtio-blk: init, a GET_ID request (header, 20 bytes, status), config reads, reset. */
    sd.len = 0;
    B(&sd, 0x01, M_INIT, 0, 4);
    struct virtio_blk_outhdr get_id = {.type = VIRTIO_BLK_T_GET_ID};
    m_chain(&sd, 0, 3, (const uint8_t[]){16, 0, 20, 1, 1, 1}, &get_id);
    B(&sd, M_NOTIFY, 0);
    B(&sd, M_READ, 0x00, 0x01, 4, M_READ, 0x04, 0x01, 4, M_READ, 0x14, 0x01, 2);
    B(&sd, M_INIT, 1, 8, M_W32, M_REG(0x070), 0);
    put("mmio-blk", sd.buf, sd.len);

    /* virtio-console with 3 ports: DEVICE_READY on the control queue, buffers for replies. */
    sd.len = 0;
    B(&sd, 0x06, M_INIT, 0, 3);
    m_chain(&sd, 2, 1, (const uint8_t[]){64, 1}, NULL);
    struct virtio_console_control ready = {.event = VIRTIO_CONSOLE_DEVICE_READY, .value = 1};
    uint8_t msg[16] = {0};
    memcpy(msg, &ready, sizeof(ready));
    m_chain(&sd, 3, 1, (const uint8_t[]){8, 0}, msg);
    B(&sd, M_NOTIFY, 3, M_NOTIFY, 2, M_READ, 0x08, 0x01, 4);
    B(&sd, M_W32, M_REG(0x070), 0);
    put("mmio-console", sd.buf, sd.len);
}

/* Operation streams of fuzz_console.c (see its layout). */
enum { C_CTRL, C_CTRL_RX, C_TX, C_RX, C_PROCESS, C_HOST, C_POKE, C_RESIZE };
enum { C_DEVICE_READY = 0, C_PORT_READY = 3, C_PORT_OPEN = 6 };

static void console_seeds(void)
{
    struct bseed sd = {.len = 0};
    /* 3 ports, 16 entries: the Linux driver's start, input, output, a close, a resize. */
    B(&sd, 2, 4);
    for (int i = 0; i < 4; i++)
        B(&sd, C_CTRL_RX, 0, 64);
    B(&sd, C_CTRL, 0, C_DEVICE_READY, 1, C_PROCESS);
    for (int port = 0; port < 3; port++)
        B(&sd, C_CTRL, port, C_PORT_READY, 1);
    for (int i = 0; i < 8; i++)
        B(&sd, C_CTRL_RX, 0, 64);
    B(&sd, C_PROCESS, C_CTRL, 1, C_PORT_OPEN, 1);
    B(&sd, C_HOST, 0, 5, 'h', 'e', 'l', 'l', 'o');
    B(&sd, C_HOST | 8, 1, 5, 'w', 'o', 'r', 'l', 'd');
    B(&sd, C_RX, 0, 0, 64, C_RX, 1, 1, 2, 2, C_RX, 1, 0, 64);
    B(&sd, C_TX, 0, 0, 10, C_TX, 1, 1, 3, 4, C_TX | 8, 2, 0, 100, C_TX, 3, 0, 7);
    B(&sd, C_PROCESS, C_CTRL, 1, C_PORT_OPEN, 0, C_RESIZE, C_CTRL_RX, 0, 64);
    put("console-session", sd.buf, sd.len);
    sd.buf[0] |= 16; /* the same with output to pipes, through the device's fifos */
    put("console-session-pipes", sd.buf, sd.len);

    /* 15 ports with EVENT_IDX: every port made ready, names for all. */
    sd.len = 0;
    B(&sd, 4 | 8, 5);
    for (int i = 0; i < 32; i++)
        B(&sd, C_CTRL_RX, 0, 64);
    B(&sd, C_CTRL, 0, C_DEVICE_READY, 1);
    for (int port = 0; port < 15; port++)
        B(&sd, C_CTRL, port, C_PORT_READY, 1);
    B(&sd, C_PROCESS, C_TX, 14, 0, 9, C_RX, 0, 0, 16, C_HOST, 0, 3, 'a', 'b', 'c');
    put("console-15-ports", sd.buf, sd.len);

    /* Hostile control messages: ids out of range, unknown events, short and split ones. */
    sd.len = 0;
    B(&sd, 1, 3);
    B(&sd, C_CTRL_RX, 0, 64, C_CTRL_RX, 1, 4, 4);
    B(&sd, C_CTRL, 0xff, 0xff, 0xff, 0xff, 0xff, C_PORT_READY, 1);
    B(&sd, C_CTRL, 7, C_PORT_OPEN, 1, C_CTRL, 0, 0xff, 0x34, 0x12, 1);
    B(&sd, C_CTRL | 16, 0, C_DEVICE_READY, 1, C_CTRL | 8, 1, C_PORT_READY, 1);
    B(&sd, C_CTRL, 0, C_DEVICE_READY, 1, C_PROCESS, C_POKE | 8, 3, 0x40, 0);
    put("console-hostile", sd.buf, sd.len);
}

/* /.krun_workload files: KEY\0VALUE\0 records. */
static void wl_rec(struct bseed *sd, const char *key, const char *value)
{
    size_t k = strlen(key) + 1, v = strlen(value) + 1;
    memcpy(sd->buf + sd->len, key, k);
    memcpy(sd->buf + sd->len + k, value, v);
    sd->len += k + v;
}

static void init_workload_seeds(void)
{
    struct bseed sd = {.len = 0};
    wl_rec(&sd, "krun-workload", "1");
    wl_rec(&sd, "exec", "/bin/sh");
    wl_rec(&sd, "arg", "-c");
    wl_rec(&sd, "arg", "echo \"$A\"");
    wl_rec(&sd, "env", "A=1");
    wl_rec(&sd, "env", "HOME=/root");
    wl_rec(&sd, "workdir", "/tmp");
    wl_rec(&sd, "rlimit", "7=1024:4096");
    wl_rec(&sd, "rlimit", "6:10:20");
    wl_rec(&sd, "block-root-device", "/dev/vda");
    wl_rec(&sd, "block-root-fstype", "ext4");
    wl_rec(&sd, "block-root-options", "ro");
    wl_rec(&sd, "a-newer-key", "ignored");
    put("workload-full", sd.buf, sd.len);

    /* The upstream variables among the env records fill what no record gives. */
    sd.len = 0;
    wl_rec(&sd, "krun-workload", "1");
    wl_rec(&sd, "env", "KRUN_INIT=/sbin/init");
    wl_rec(&sd, "env", "KRUN_WORKDIR=/");
    wl_rec(&sd, "env", "KRUN_RLIMITS=\"0=1:2,,7:3:4,bad\"");
    wl_rec(&sd, "env", "KRUN_BLOCK_ROOT_DEVICE=/dev/vdb");
    wl_rec(&sd, "env", "KRUN_CONFIG=/c.json");
    wl_rec(&sd, "env", "KRUN_INIT=");
    put("workload-env", sd.buf, sd.len);
}

static void init_rlimit_seeds(void)
{
    static const char item[] = "\x007=1024:4096";
    static const char item2[] = "\x0015:0:18446744073709551615";
    static const char list[] = "\x01\"0=1:2,,6:10:20,16=1:2,7=5:4,x\"";
    static const char name[] = "\x02RLIMIT_NOFILE";
    put("rlimit-item", item, sizeof(item) - 1);
    put("rlimit-item-max", item2, sizeof(item2) - 1);
    put("rlimit-list", list, sizeof(list) - 1);
    put("rlimit-name", name, sizeof(name) - 1);
}

/*
 * fuzz_init_dhcp.c: a mode byte (bit 0 IPv4 packet, bit 1 the message's
 * own xid and chaddr, bit 2 also an interface list, bits 4-7 its max),
 * then a server's reply as dnsmasq sends it, bare or in IPv4/UDP.
 */
static uint8_t dbuf[1024];
static size_t dlen;

static void d_reply(uint8_t type)
{
    static const uint8_t fixed[] = {2, 1, 6, 0, 0xa1, 0xb2, 0xc3, 0xd4};
    memset(dbuf, 0, sizeof(dbuf));
    memcpy(dbuf + 1, fixed, sizeof(fixed));
    memcpy(dbuf + 1 + 16, "\x0a\x00\x02\x0f", 4);         /* yiaddr */
    memcpy(dbuf + 1 + 28, "\x52\x54\x00\x12\x34\x56", 6); /* chaddr */
    memcpy(dbuf + 1 + 236, "\x63\x82\x53\x63", 4);        /* cookie */
    dlen = 1 + 240;
    uint8_t opts[] = {53,   1, type, 54,  4,   10,  0, 2,  2, 51,   4,    0, 0, 0x0e,
                      0x10, 1, 4,    255, 255, 255, 0, 26, 2, 0x05, 0xdc, 6, 8, 10,
                      0,    2, 3,    8,   8,   8,   8, 3,  4, 10,   0,    2, 2};
    memcpy(dbuf + dlen, opts, sizeof(opts));
    dlen += sizeof(opts);
}

static uint16_t d_csum(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i < n; i++)
        sum += i % 2 ? p[i] : (uint32_t)p[i] << 8;
    while (sum > 0xffff)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* Put the message in dbuf[1..] into an IPv4/UDP packet from 10.0.2.2:67. */
static void d_frame(bool udp_csum)
{
    size_t mlen = dlen - 1, ulen = 8 + mlen, total = 20 + ulen;
    memmove(dbuf + 1 + 28, dbuf + 1, mlen);
    uint8_t *ip = dbuf + 1, *udp = ip + 20;
    memset(ip, 0, 28);
    ip[0] = 0x45;
    ip[2] = (uint8_t)(total >> 8);
    ip[3] = (uint8_t)total;
    ip[8] = 64;
    ip[9] = 17;
    memcpy(ip + 12, "\x0a\x00\x02\x02\xff\xff\xff\xff", 8);
    uint16_t c = (uint16_t)~d_csum(ip, 20, 0);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    udp[1] = 67;
    udp[3] = 68;
    udp[4] = (uint8_t)(ulen >> 8);
    udp[5] = (uint8_t)ulen;
    if (udp_csum) {
        uint32_t pseudo = d_csum(ip + 12, 8, 17 + (uint32_t)ulen);
        c = (uint16_t)~d_csum(udp, ulen, pseudo);
        udp[6] = (uint8_t)(c >> 8);
        udp[7] = (uint8_t)c;
    }
    dlen = 1 + total;
}

static void init_dhcp_seeds(void)
{
    d_reply(2); /* OFFER */
    dbuf[dlen++] = 255;
    dbuf[0] = 0x02;
    put("dhcp-offer", dbuf, dlen);
    d_reply(5); /* ACK, rapid commit */
    memcpy(dbuf + dlen, "\x50\x00\xff", 3);
    dlen += 3;
    dbuf[0] = 0x00;
    put("dhcp-ack-rapid", dbuf, dlen);
    d_frame(true);
    dbuf[0] = 0x01;
    put("dhcp-ack-packet", dbuf, dlen);
    d_reply(6); /* NAK */
    dbuf[dlen++] = 255;
    d_frame(false);
    dbuf[0] = 0x03;
    put("dhcp-nak-packet", dbuf, dlen);
    static const char list[] = "\x84"
                               "eth0,eth1,,bad/name,eth0,abcdefghijklmnop";
    put("dhcp-ifnames", list, sizeof(list) - 1);
}

/*
 * fuzz_net_frame.c: a mode byte, a virtio-net header, a le16 frame length
 * and the frame, then k, k chunk sizes and a stream of length-prefixed
 * frames.
 */
static uint8_t nbuf[2048];
static size_t nlen;

static void n_bytes(const void *p, size_t n)
{
    memcpy(nbuf + nlen, p, n);
    nlen += n;
}

static void n_be32(uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    n_bytes(b, 4);
}

/* The mode, a header, then an Ethernet + IPv4 + UDP or TCP frame seeded as Linux does. */
static void n_start(uint8_t mode, uint8_t flags, uint8_t gso_type, bool tcp, size_t payload)
{
    size_t l4 = tcp ? 20 : 8, ulen = l4 + payload, flen = 14 + 20 + ulen;
    uint16_t off = tcp ? 16 : 6;
    uint8_t hdr[13] = {mode, flags, gso_type, 54, 0, 0xa8, 0x05, 34, 0, (uint8_t)off, 0, 0, 0};
    nlen = 0;
    n_bytes(hdr, sizeof(hdr));
    nbuf[nlen++] = (uint8_t)flen;
    nbuf[nlen++] = (uint8_t)(flen >> 8);
    uint8_t *f = nbuf + nlen, *ip = f + 14, *l = ip + 20;
    memset(f, 0, flen);
    memcpy(f, "\x5a\x94\xef\xe4\x0c\xdd\x52\x54\x00\x12\x34\x56\x08\x00", 14);
    ip[0] = 0x45;
    ip[2] = (uint8_t)((20 + ulen) >> 8);
    ip[3] = (uint8_t)(20 + ulen);
    ip[8] = 64;
    ip[9] = tcp ? 6 : 17;
    memcpy(ip + 12, "\x0a\x00\x02\x0f\x0a\x00\x02\x02", 8);
    uint16_t c = (uint16_t)~d_csum(ip, 20, 0);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    l[1] = 80;
    l[3] = 53;
    if (tcp)
        l[12] = 0x50;
    else
        l[4] = (uint8_t)(ulen >> 8), l[5] = (uint8_t)ulen;
    for (size_t i = 0; i < payload; i++)
        l[l4 + i] = (uint8_t)(i * 13 + 1);
    /* The pseudo-header's sum, not complemented, where the checksum goes. */
    c = d_csum(ip + 12, 8, ip[9] + (uint32_t)ulen);
    l[off] = (uint8_t)(c >> 8);
    l[off + 1] = (uint8_t)c;
    nlen += flen;
}

/* A stream frame of len bytes, each its index. */
static void n_stream_frame(uint32_t len)
{
    n_be32(len);
    for (uint32_t i = 0; i < len; i++)
        nbuf[nlen++] = (uint8_t)i;
}

static void net_frame_seeds(void)
{
    /* UDP to finish; chunks of 1, 7 and the rest; good, empty, short and good frames, a cut prefix.
     */
    n_start(0, 1, 0, false, 33);
    n_bytes("\x03\x01\x07\x00", 4);
    n_stream_frame(60);
    n_be32(0);
    n_stream_frame(5);
    n_stream_frame(14);
    n_bytes("\x00\x00", 2);
    put("net-udp", nbuf, nlen);

    /* TCP to finish, the stream in one piece: a frame, then a far too long one, cut. */
    n_start(0, 1, 0x80, true, 100);
    nbuf[nlen++] = 0;
    n_stream_frame(1514);
    n_be32(70000);
    n_bytes("abcdefgh", 8);
    put("net-tcp", nbuf, nlen);

    /* A segmentation offload (refused), fed while ready; chunks of 3 bytes. */
    n_start(8, 1, 1, true, 200);
    n_bytes("\x01\x03", 2);
    n_stream_frame(20);
    n_stream_frame(NET_FRAME_MIN);
    n_stream_frame(NET_FRAME_MIN - 1);
    put("net-gso", nbuf, nlen);

    /* No checksum asked for; a frame of the largest length, cut short. */
    n_start(0, 0, 0, false, 0);
    nbuf[nlen++] = 0;
    n_be32(NET_FRAME_MAX);
    n_bytes("ab", 2);
    put("net-plain", nbuf, nlen);
}

/* Sessions of fuzz_fuse_mt.c (see its layout): records of tag, le16 length, request. */
static uint8_t fbuf[4096], fall[8192];
static size_t flen, fall_len;

/* Also keep the records, for a long session of them all (the fuzzer's inputs grow from it). */
static void f_put(const char *name)
{
    put(name, fbuf, flen);
    memcpy(fall + fall_len, fbuf + 2, flen - 2);
    fall_len += flen - 2;
}

static void f_start(uint8_t b0, uint8_t b1)
{
    fbuf[0] = b0;
    fbuf[1] = b1;
    flen = 2;
}

static void f_req(uint8_t tag, uint32_t op, uint64_t node, const void *a, size_t alen,
                  const void *b, size_t blen)
{
    size_t len = sizeof(struct fuse_in_header) + alen + blen;
    struct fuse_in_header h = {.len = (uint32_t)len, .opcode = op, .unique = flen, .nodeid = node};
    fbuf[flen++] = tag;
    fbuf[flen++] = (uint8_t)len;
    fbuf[flen++] = (uint8_t)(len >> 8);
    memcpy(fbuf + flen, &h, sizeof(h));
    flen += sizeof(h);
    if (alen)
        memcpy(fbuf + flen, a, alen);
    flen += alen;
    if (blen)
        memcpy(fbuf + flen, b, blen);
    flen += blen;
}

/* Streams: 2 + value % 3 in bits 5-6 of byte 0; bit 7 fixes the lengths up. */
#define F_STREAMS(n) (0x80 | ((n)-2) << 5)
/* Reply room: index 4 in ROOMS is 4096 bytes. */
#define F_ROOM4K 0x80

static void fuse_mt_seeds(void)
{
    fall_len = 2;
    struct fuse_open_in rw = {.flags = O_RDWR}, ro = {.flags = O_RDONLY};
    struct fuse_read_in rd = {.fh = 2, .size = 64};
    struct fuse_release_in rl = {.fh = 2};
    struct fuse_getattr_in ga = {0};
    struct fuse_forget_in fg = {.nlookup = 1};

    /* Stream 0 opens and reads "file"; stream 1 releases and forgets what it got. */
    f_start(F_STREAMS(2), F_ROOM4K);
    f_req(0, FUSE_LOOKUP, 1, "file", 5, NULL, 0);
    f_req(0, FUSE_OPEN, 2, &rw, sizeof(rw), NULL, 0);
    f_req(1, FUSE_LOOKUP, 1, "file", 5, NULL, 0);
    f_req(0, FUSE_READ, 2, &rd, sizeof(rd), NULL, 0);
    f_req(1, FUSE_RELEASE, 2, &rl, sizeof(rl), NULL, 0);
    f_req(0, FUSE_READ, 2, &rd, sizeof(rd), NULL, 0);
    f_req(1, FUSE_FORGET, 2, &fg, sizeof(fg), NULL, 0);
    f_req(0, FUSE_GETATTR, 2, &ga, sizeof(ga), NULL, 0);
    f_req(1 | 1 << 2, FUSE_OPEN, 2, &ro, sizeof(ro), NULL, 0);
    f_req(0, FUSE_RELEASE, 2, &rl, sizeof(rl), NULL, 0);
    f_put("open-release");

    /* CREATE and MKNOD against BATCH_FORGET, then a DESTROY and INIT in the middle. */
    f_start(F_STREAMS(3), F_ROOM4K | 3);
    struct fuse_create_in ci = {.flags = O_RDWR | O_CREAT, .mode = 0644};
    f_req(0, FUSE_CREATE, 1, &ci, sizeof(ci), "new", 4);
    struct fuse_mknod_in mk = {.mode = S_IFCHR | 0666, .rdev = (1 << 8) | 3};
    f_req(1, FUSE_MKNOD, 1, &mk, sizeof(mk), "dev", 4);
    struct {
        struct fuse_batch_forget_in h;
        struct fuse_forget_one one[3];
    } bf = {.h = {.count = 3}, .one = {{2, 1}, {3, 1}, {4, 1}}};
    f_req(2, FUSE_BATCH_FORGET, 0, &bf, sizeof(bf), NULL, 0);
    struct fuse_write_in wi = {.fh = 2, .size = 4};
    f_req(0, FUSE_WRITE, 2, &wi, sizeof(wi), "abcd", 4);
    f_req(1, FUSE_GETATTR, 3, &ga, sizeof(ga), NULL, 0);
    f_req(2 | 2 << 2, FUSE_DESTROY, 0, NULL, 0, NULL, 0);
    struct fuse_init_in ii = {.major = 7, .minor = 38};
    f_req(2, FUSE_INIT, 0, &ii, sizeof(ii), NULL, 0);
    f_req(0, FUSE_LOOKUP, 1, "new", 4, NULL, 0);
    f_req(1, FUSE_UNLINK, 1, "dev", 4, NULL, 0);
    f_put("create-forget-destroy");

    /* OPENDIR and READDIRPLUS while another stream releases the handle and forgets entries. */
    f_start(F_STREAMS(2), 0xc0 | 7);
    f_req(0, FUSE_OPENDIR, 1, &ro, sizeof(ro), NULL, 0);
    struct fuse_read_in rdd = {.fh = 2, .size = 4096};
    f_req(0, FUSE_READDIRPLUS, 1, &rdd, sizeof(rdd), NULL, 0);
    f_req(1, FUSE_LOOKUP, 1, "dir", 4, NULL, 0);
    f_req(1, FUSE_OPENDIR, 2, &ro, sizeof(ro), NULL, 0);
    f_req(0, FUSE_READDIRPLUS, 1, &rdd, sizeof(rdd), NULL, 0);
    struct fuse_release_in rld = {.fh = 3};
    f_req(1, FUSE_RELEASEDIR, 1, &rld, sizeof(rld), NULL, 0);
    f_req(1, FUSE_FORGET, 4, &fg, sizeof(fg), NULL, 0);
    f_req(0, FUSE_LOOKUP, 3, "inner", 6, NULL, 0);
    f_req(0, FUSE_RELEASEDIR, 1, &rl, sizeof(rl), NULL, 0);
    f_put("readdir-release");

    /* Four streams: SETATTR, LINK and RENAME of nodes other streams forget. */
    f_start(F_STREAMS(4), F_ROOM4K);
    f_req(0, FUSE_LOOKUP, 1, "file", 5, NULL, 0);
    f_req(1, FUSE_LOOKUP, 1, "dir", 4, NULL, 0);
    struct fuse_setattr_in sa = {.valid = FATTR_SIZE | FATTR_MODE, .size = 3, .mode = 0600};
    f_req(0, FUSE_SETATTR, 2, &sa, sizeof(sa), NULL, 0);
    struct fuse_link_in li = {.oldnodeid = 2};
    f_req(1, FUSE_LINK, 3, &li, sizeof(li), "hard", 5);
    f_req(2, FUSE_FORGET, 2, &fg, sizeof(fg), NULL, 0);
    struct fuse_rename2_in rn = {.newdir = 3};
    f_req(3, FUSE_RENAME2, 1, &rn, sizeof(rn), "file\0moved", 11);
    f_req(2, FUSE_FORGET, 3, &fg, sizeof(fg), NULL, 0);
    f_req(3 | 3 << 2, FUSE_GETATTR, 4, &ga, sizeof(ga), NULL, 0);
    f_req(0, FUSE_OPEN, 2, &rw, sizeof(rw), NULL, 0);
    f_put("setattr-link-rename");

    fall[0] = F_STREAMS(4);
    fall[1] = F_ROOM4K;
    put("all", fall, fall_len);
}

static void be32_at(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void be64_at(uint8_t *p, uint64_t v)
{
    be32_at(p, (uint32_t)(v >> 32));
    be32_at(p + 4, (uint32_t)v);
}

/*
 * fuzz_qcow2.c: a mode byte, then a small consistent qcow2 v3 image with
 * 512-byte clusters: header (0), refcount table (1), refcount block (2),
 * L1 (3), L2 (4), one data cluster (5), one zero cluster entry.
 */
static void qcow2_seeds(void)
{
    static uint8_t img[1 + 6 * 512];
    uint8_t *h = img + 1;
    be32_at(h, 0x514649fb);
    be32_at(h + 4, 3);
    be32_at(h + 20, 9);         /* cluster_bits */
    be64_at(h + 24, 64 * 1024); /* size: 2 L2 tables' worth */
    be32_at(h + 36, 2);         /* l1_size */
    be64_at(h + 40, 3 * 512);   /* l1_table_offset */
    be64_at(h + 48, 1 * 512);   /* refcount_table_offset */
    be32_at(h + 56, 1);         /* refcount_table_clusters */
    be32_at(h + 96, 4);         /* refcount_order */
    be32_at(h + 100, 112);      /* header_length */
    be64_at(h + 512, 2 * 512);  /* refcount table -> block */
    for (int c = 0; c < 6; c++)
        h[1024 + 2 * c + 1] = 1; /* refcount 1 for clusters 0..5 */
    be64_at(h + 3 * 512, (1ull << 63) | 4 * 512);
    be64_at(h + 4 * 512, (1ull << 63) | 5 * 512);
    be64_at(h + 4 * 512 + 8, 1); /* a zero cluster */
    memset(h + 5 * 512, 0xab, 512);
    img[0] = 0;
    put("qcow2-ro", img, sizeof(img));
    img[0] = 1;
    put("qcow2-rw", img, sizeof(img));
    img[0] = 7;
    put("qcow2-rw-zero", img, sizeof(img));
}

/*
 * fuzz_balloon.c: a mode byte (bit 0 inflate; bits 1..7 the cap - 1), a
 * segment count, the segments, a host page size byte and a span.
 */
static void balloon_seeds(void)
{
    /* A report of two 8 KiB blocks, writable, cap 32; then 16 KiB host pages. */
    static const uint8_t report[] = {31 << 1, 2,    1,    0x00, 0x20, 0x00, 0x00, 0x00, 0x20, 0x00,
                                     0x00,    1,    0x00, 0x00, 0x01, 0x00, 0x00, 0x10, 0x00, 0x00,
                                     2,       0x00, 0x10, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00};
    put("balloon-report", report, sizeof(report));
    /* An inflate of PFNs 3, 4 and 0x100000 (the first page of high RAM), in two segments. */
    static const uint8_t inflate[] = {1 | (7 << 1), 2, 0, 6, 3, 0, 0, 0, 4, 0, 0, 6, 0, 0, 0, 0,
                                      0x10,         0};
    put("balloon-inflate", inflate, sizeof(inflate));
    /* A report with a readable segment first. */
    static const uint8_t mixed[] = {31 << 1, 2, 0, 0,    0, 0, 0, 0,    0x10, 0,
                                    0,       1, 0, 0x20, 0, 0, 0, 0x10, 0,    0};
    put("balloon-mixed", mixed, sizeof(mixed));
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s NAME DIR (NAME: a harness, fuzz_NAME.c)\n", argv[0]);
        return 2;
    }
    dir = argv[2];
    if (strcmp(argv[1], "queue") == 0)
        queue_seeds();
    else if (strcmp(argv[1], "loader") == 0)
        loader_seeds();
    else if (strcmp(argv[1], "kernel_decompress") == 0)
        kernel_decompress_seeds();
    else if (strcmp(argv[1], "init_config") == 0)
        init_config_seeds();
    else if (strcmp(argv[1], "vsock") == 0)
        vsock_seeds();
    else if (strcmp(argv[1], "tsi") == 0)
        tsi_seeds();
    else if (strcmp(argv[1], "blk") == 0)
        blk_seeds();
    else if (strcmp(argv[1], "mmio") == 0)
        mmio_seeds();
    else if (strcmp(argv[1], "console") == 0)
        console_seeds();
    else if (strcmp(argv[1], "init_workload") == 0)
        init_workload_seeds();
    else if (strcmp(argv[1], "init_rlimit") == 0)
        init_rlimit_seeds();
    else if (strcmp(argv[1], "init_dhcp") == 0)
        init_dhcp_seeds();
    else if (strcmp(argv[1], "net_frame") == 0)
        net_frame_seeds();
    else if (strcmp(argv[1], "balloon") == 0)
        balloon_seeds();
    else if (strcmp(argv[1], "fuse_mt") == 0)
        fuse_mt_seeds();
    else if (strcmp(argv[1], "qcow2") == 0)
        qcow2_seeds();
    return 0;
}
