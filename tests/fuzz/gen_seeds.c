/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes a few valid inputs for a fuzz harness into a corpus directory, so
 * that fuzzing starts from well-formed rings and images:
 *   gen_seeds queue|loader|init_config|vsock|tsi DIR
 */
#include <linux/virtio_ring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth_kernel.h"

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

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s queue|loader|init_config|vsock|tsi DIR\n", argv[0]);
        return 2;
    }
    dir = argv[2];
    if (strcmp(argv[1], "queue") == 0)
        queue_seeds();
    else if (strcmp(argv[1], "loader") == 0)
        loader_seeds();
    else if (strcmp(argv[1], "init_config") == 0)
        init_config_seeds();
    else if (strcmp(argv[1], "vsock") == 0)
        vsock_seeds();
    else if (strcmp(argv[1], "tsi") == 0)
        tsi_seeds();
    return 0;
}
