/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Writes a few valid inputs for a fuzz harness into a corpus directory, so
 * that fuzzing starts from well-formed rings and images:
 *   gen_seeds NAME DIR   (NAME as in tests/fuzz/fuzz_NAME.c)
 */
#include <linux/virtio_ring.h>
#include <stdint.h>
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
    else if (strcmp(argv[1], "init_config") == 0)
        init_config_seeds();
    else if (strcmp(argv[1], "blk") == 0)
        blk_seeds();
    return 0;
}
