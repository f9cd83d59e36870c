/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/blk/disk.c src/virtio/blk/format.c src/virtio/blk/raw_backing.c src/virtio/blk/qcow2.c src/virtio/blk/qcow2_header.c src/virtio/blk/qcow2_table.c src/virtio/blk/qcow2_refcount.c src/virtio/blk/qcow2_compress.c src/virtio/blk/qcow2_io.c src/virtio/blk/vmdk.c src/virtio/blk/io_sync.c src/virtio/blk/io_format.c src/virtio/blk/io_uring.c src/virtio/blk/request.c src/virtio/queue.c src/util/guest_mem.c src/util/log.c */
/* LDLIBS: -luring -lz -lzstd */
/*
 * qcow2 and VMDK images through the format layer, against images that
 * qemu-img (Debian's qemu-utils) makes at test time: what qemu wrote we
 * read back byte for byte, what we wrote qemu-img reads back byte for byte
 * and `qemu-img check` finds consistent (exit status 0: no corruption, no
 * leak). Plus hand-made corrupt headers and tables, backing loops, and a
 * raw image that starts with the qcow2 magic (it stays raw).
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vm/config.h"
#include "libkrun.h"
#include "virtio/blk/disk.h"
#include "virtio/blk/format.h"
#include "virtio/blk/io.h"
#include "virtio/blk/request.h"

#define MIB (1024u * 1024u)

static char dir[64];
static char err[512];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *path(const char *name)
{
    static char bufs[4][256];
    static int i;
    char *p = bufs[i++ % 4];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

/* Deterministic bytes, different per offset and seed. */
static void pattern(uint8_t *buf, size_t len, uint64_t off, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        uint64_t x = (off + i) / 8 * 0x9e3779b97f4a7c15ull + seed * 0x632be59bd9b4e019ull;
        buf[i] = (uint8_t)(x >> (8 * ((off + i) % 8)));
    }
}

static uint8_t *read_file(const char *p, size_t len)
{
    uint8_t *b = calloc(1, len);
    int fd = open(p, O_RDONLY);
    if (fd >= 0) {
        CHECK_EQ(blk_file_read(fd, b, len, 0), 0);
        close(fd);
    } else {
        CHECK(fd >= 0);
    }
    return b;
}

static void write_file(const char *p, const uint8_t *b, size_t len)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(blk_file_write(fd, b, len, 0), 0);
    close(fd);
}

static struct blk_format *open_fmt(const char *p, bool ro, bool vmdk, int *ret)
{
    struct blk_format *f = calloc(1, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    struct blk_format_args a = {.path = p, .read_only = ro, .sync = true};
    err[0] = '\0';
    *ret = vmdk ? blk_vmdk_open(f, &a, err, sizeof(err)) : blk_qcow2_open(f, &a, err, sizeof(err));
    if (*ret < 0) {
        blk_format_free(f);
        return NULL;
    }
    return f;
}

static struct blk_format *open_ok(const char *p, bool ro)
{
    int ret;
    struct blk_format *f = open_fmt(p, ro, false, &ret);
    if (ret < 0)
        fprintf(stderr, "open %s: %s\n", p, err);
    CHECK_EQ(ret, 0);
    return f;
}

/* The image as qemu sees it, converted to raw, equals want. */
static void check_with_qemu(const char *img, const uint8_t *want, size_t len)
{
    CHECK_EQ(sh("qemu-img check -q %s", img), 0);
    CHECK_EQ(sh("qemu-img convert -O raw %s %s", img, path("out.raw")), 0);
    uint8_t *got = read_file(path("out.raw"), len);
    CHECK(memcmp(got, want, len) == 0);
    struct stat st;
    CHECK(stat(path("out.raw"), &st) == 0 && (size_t)st.st_size == len);
    free(got);
}

/* Our read of the whole image equals want. */
static void check_ours(struct blk_format *f, const uint8_t *want, size_t len)
{
    uint8_t *got = malloc(len);
    /* In odd pieces, across cluster boundaries. */
    for (size_t off = 0; off < len;) {
        size_t n = len - off < 77777 ? len - off : 77777;
        CHECK_EQ(blk_format_read(f, off, got + off, n), 0);
        off += n;
    }
    CHECK(memcmp(got, want, len) == 0);
    free(got);
}

/* A raw file with data, holes and zero runs. */
static uint8_t *make_raw(const char *name, size_t len, unsigned seed)
{
    uint8_t *b = calloc(1, len);
    for (size_t off = 0; off < len; off += 96 * 1024)
        pattern(b + off, len - off < 40000 ? len - off : 40000, off, seed);
    write_file(path(name), b, len);
    return b;
}

static void test_read_qemu_images(void)
{
    const size_t len = 6 * MIB + 4096;
    uint8_t *raw = make_raw("src.raw", len, 1);
    static const char *const opts[] = {
        "compat=0.10,cluster_size=65536", "compat=1.1,cluster_size=512",
        "compat=1.1,cluster_size=4096",   "compat=1.1,cluster_size=2097152",
        "compat=1.1,refcount_bits=1",     "compat=1.1,refcount_bits=64",
    };
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        CHECK_EQ(sh("qemu-img convert -f raw -O qcow2 -o %s %s %s", opts[i], path("src.raw"),
                    path("a.qcow2")),
                 0);
        struct blk_format *f = open_ok(path("a.qcow2"), true);
        if (!f)
            continue;
        CHECK_EQ(f->size, len);
        check_ours(f, raw, len);
        blk_format_free(f);
    }
    free(raw);
}

/* Writes through our code of random-ish pieces, mirrored in a buffer. */
static void write_pieces(struct blk_format *f, uint8_t *shadow, size_t len, unsigned seed, int n)
{
    uint64_t x = seed * 2654435761u + 1;
    uint8_t *buf = malloc(300000);
    for (int i = 0; i < n; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        size_t sz = 512 * (1 + (x >> 33) % 500);
        uint64_t off = ((x >> 13) % (len / 512)) * 512;
        if (off + sz > len)
            sz = len - off;
        pattern(buf, sz, off, seed + (unsigned)i);
        CHECK_EQ(blk_format_write(f, off, buf, sz), 0);
        memcpy(shadow + off, buf, sz);
    }
    free(buf);
}

static void test_write_roundtrip(void)
{
    const size_t len = 24 * MIB;
    static const char *const opts[] = {
        "compat=1.1,cluster_size=65536", "compat=0.10,cluster_size=4096",
        /* Small clusters: the refcount table (one cluster) must grow. */
        "compat=1.1,cluster_size=512", "compat=1.1,cluster_size=512,refcount_bits=2",
        "compat=1.1,cluster_size=1024,refcount_bits=64"};
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        CHECK_EQ(sh("qemu-img create -q -f qcow2 -o %s %s %zu", opts[i], path("w.qcow2"), len), 0);
        uint8_t *shadow = calloc(1, len);
        struct blk_format *f = open_ok(path("w.qcow2"), false);
        if (!f)
            continue;
        write_pieces(f, shadow, len, (unsigned)i, 150);
        CHECK_EQ(blk_format_flush(f), 0);
        check_ours(f, shadow, len);
        blk_format_free(f);
        check_with_qemu(path("w.qcow2"), shadow, len);
        /* Reopened: what we wrote is there, and overwrites stay in place. */
        f = open_ok(path("w.qcow2"), false);
        if (f) {
            check_ours(f, shadow, len);
            write_pieces(f, shadow, len, 100 + (unsigned)i, 40);
            blk_format_free(f);
        }
        check_with_qemu(path("w.qcow2"), shadow, len);
        free(shadow);
    }
}

static void test_compressed(void)
{
    const size_t len = 3 * MIB;
    uint8_t *raw = make_raw("c.raw", len, 7);
    static const char *const types[] = {"zlib", "zstd"};
    for (size_t i = 0; i < 2; i++) {
        CHECK_EQ(sh("qemu-img convert -c -f raw -O qcow2 -o compression_type=%s,cluster_size=4096 "
                    "%s %s",
                    types[i], path("c.raw"), path("c.qcow2")),
                 0);
        struct blk_format *f = open_ok(path("c.qcow2"), true);
        if (f)
            check_ours(f, raw, len);
        blk_format_free(f);
        f = open_ok(path("c.qcow2"), false);
        if (!f)
            continue;
        check_ours(f, raw, len);
        /* Partial writes into compressed clusters: copy-on-write, the old ones freed. */
        uint8_t *shadow = malloc(len);
        memcpy(shadow, raw, len);
        write_pieces(f, shadow, len, 40 + (unsigned)i, 60);
        check_ours(f, shadow, len);
        blk_format_free(f);
        check_with_qemu(path("c.qcow2"), shadow, len);
        free(shadow);
    }
    free(raw);
}

/* Rename the backing format extension to an unknown type (skipped by readers). */
static void hide_backing_format(const char *p)
{
    uint8_t *b = read_file(p, 4096);
    bool found = false;
    for (size_t i = 104; i + 4 <= 4096; i += 8)
        if (memcmp(b + i, "\xe2\x79\x2a\xca", 4) == 0) {
            memcpy(b + i, "\x7e\x57\x00\x01", 4);
            found = true;
            break;
        }
    CHECK(found);
    int fd = open(p, O_WRONLY);
    CHECK_EQ(blk_file_write(fd, b, 4096, 0), 0);
    close(fd);
    free(b);
}

static void test_backing_chain(void)
{
    const size_t len = 5 * MIB;
    uint8_t *base = make_raw("base.raw", len, 11);
    CHECK_EQ(sh("cd %s && qemu-img create -q -f qcow2 -b base.raw -F raw mid.qcow2", dir), 0);
    /* The middle image gets its own data from qemu. */
    CHECK_EQ(sh("qemu-io -c 'write -P 0x5a 1M 300k' %s >/dev/null", path("mid.qcow2")), 0);
    memset(base + MIB, 0x5a, 300 * 1024);
    /* The top one has no backing format: it is probed (qcow2), relative to its directory. */
    CHECK_EQ(sh("cd %s && qemu-img create -q -f qcow2 -o cluster_size=4096 -b mid.qcow2 -F qcow2 "
                "top.qcow2",
                dir),
             0);
    hide_backing_format(path("top.qcow2"));
    CHECK_EQ(sh("md5sum %s %s > %s", path("base.raw"), path("mid.qcow2"), path("sums")), 0);
    struct blk_format *f = open_ok(path("top.qcow2"), false);
    if (f) {
        CHECK_EQ(f->size, len);
        check_ours(f, base, len);
        write_pieces(f, base, len, 21, 80); /* partial clusters: copy-on-write from the chain */
        check_ours(f, base, len);
        /* WRITE_ZEROES must hide the backing file (v3: the zero flag). */
        CHECK_EQ(blk_format_discard(f, 8192, 3 * 4096 + 1024, true, true), 0);
        memset(base + 8192, 0, 3 * 4096 + 1024);
        check_ours(f, base, len);
        blk_format_free(f);
    }
    CHECK_EQ(sh("md5sum -c --quiet %s", path("sums")), 0);
    check_with_qemu(path("top.qcow2"), base, len);
    free(base);
}

static void test_backing_loop_and_depth(void)
{
    CHECK_EQ(sh("cd %s && qemu-img create -q -f qcow2 l1.qcow2 1M && qemu-img create -q -f qcow2 "
                "-b l1.qcow2 -F qcow2 l2.qcow2 && qemu-img rebase -u -b l2.qcow2 -F qcow2 l1.qcow2",
                dir),
             0);
    int ret;
    CHECK(open_fmt(path("l2.qcow2"), true, false, &ret) == NULL);
    CHECK_EQ(ret, -ELOOP);
    CHECK(strstr(err, "loop") != NULL);
    /* A chain of 20: too deep. */
    CHECK_EQ(sh("cd %s && qemu-img create -q -f qcow2 d0.qcow2 1M && for i in $(seq 1 20); do "
                "qemu-img create -q -f qcow2 -u -b d$((i-1)).qcow2 -F qcow2 d$i.qcow2 1M; done",
                dir),
             0);
    CHECK(open_fmt(path("d20.qcow2"), true, false, &ret) == NULL);
    CHECK_EQ(ret, -ELOOP);
    struct blk_format *f = open_ok(path("d10.qcow2"), true);
    blk_format_free(f);
    /* A missing backing file is named. */
    CHECK_EQ(sh("cd %s && qemu-img create -q -f qcow2 -u -b gone.raw -F raw m.qcow2 1M", dir), 0);
    CHECK(open_fmt(path("m.qcow2"), true, false, &ret) == NULL);
    CHECK_EQ(ret, -ENOENT);
    CHECK(strstr(err, "gone.raw") != NULL);
}

static void test_discard(void)
{
    const size_t len = 4 * MIB;
    static const char *const opts[] = {"compat=1.1", "compat=0.10"};
    for (size_t i = 0; i < 2; i++) {
        CHECK_EQ(sh("qemu-img create -q -f qcow2 -o %s,cluster_size=4096 %s %zu", opts[i],
                    path("d.qcow2"), len),
                 0);
        uint8_t *shadow = calloc(1, len);
        struct blk_format *f = open_ok(path("d.qcow2"), false);
        if (!f)
            continue;
        write_pieces(f, shadow, len, 5, 60);
        /* WRITE_ZEROES with and without unmap, partial clusters at both ends. */
        CHECK_EQ(blk_format_discard(f, 10000 / 512 * 512, 300000, true, true), 0);
        memset(shadow + 10000 / 512 * 512, 0, 300000);
        CHECK_EQ(blk_format_discard(f, MIB + 512, 200000, true, false), 0);
        memset(shadow + MIB + 512, 0, 200000);
        /* DISCARD of whole clusters (no backing: they read as zeros). */
        CHECK_EQ(blk_format_discard(f, 2 * MIB, 256 * 1024, false, false), 0);
        memset(shadow + 2 * MIB, 0, 256 * 1024);
        check_ours(f, shadow, len);
        /* Freed clusters are reused. */
        write_pieces(f, shadow, len, 6, 30);
        blk_format_free(f);
        check_with_qemu(path("d.qcow2"), shadow, len);
        free(shadow);
    }
}

/* A v3 header built by hand, then spoiled by each case. */
static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

static void test_corrupt_headers(void)
{
    struct {
        const char *what;
        unsigned off, width;
        uint64_t value;
        int want;
    } cases[] = {
        {"magic", 0, 4, 0x514649fa, -EINVAL},
        {"version", 4, 4, 4, -ENOTSUP},
        {"cluster_bits 8", 20, 4, 8, -EINVAL},
        {"cluster_bits 22", 20, 4, 22, -EINVAL},
        {"huge size", 24, 8, 1ull << 62, -EINVAL},
        {"encryption", 32, 4, 1, -ENOTSUP},
        {"L1 too small", 36, 4, 0, -EINVAL},
        {"L1 too large", 36, 4, 0xffffffff, -EINVAL},
        {"L1 unaligned", 40, 8, 0x30200, -EINVAL},
        {"refcount table unaligned", 48, 8, 0x10008, -EINVAL},
        {"refcount table huge", 56, 4, 0xffffff, -EINVAL},
        {"unknown incompatible bit", 72, 8, 1ull << 40, -ENOTSUP},
        {"external data file", 72, 8, 1ull << 2, -ENOTSUP},
        {"extended L2", 72, 8, 1ull << 4, -ENOTSUP},
        {"compression bit without type", 72, 8, 1ull << 3, -EINVAL},
        {"refcount_order 7", 96, 4, 7, -EINVAL},
        {"header_length 100", 100, 4, 100, -EINVAL},
        {"header_length beyond cluster", 100, 4, 70000, -EINVAL},
        {"backing name beyond cluster", 8, 8, 65530, -EINVAL},
        {"extension overruns", 112, 8, 0x12345678ffffff00ull, -EINVAL},
    };
    CHECK_EQ(sh("qemu-img create -q -f qcow2 %s 16M", path("good.qcow2")), 0);
    uint8_t *good = read_file(path("good.qcow2"), 65536 * 4);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t *b = malloc(65536 * 4);
        memcpy(b, good, 65536 * 4);
        if (cases[i].width == 4)
            put_be32(b + cases[i].off, (uint32_t)cases[i].value);
        else
            put_be64(b + cases[i].off, cases[i].value);
        if (strcmp(cases[i].what, "backing name beyond cluster") == 0)
            put_be32(b + 16, 100);
        write_file(path("bad.qcow2"), b, 65536 * 4);
        free(b);
        int ret;
        struct blk_format *f = open_fmt(path("bad.qcow2"), false, false, &ret);
        if (ret != cases[i].want)
            fprintf(stderr, "case '%s': %d (%s)\n", cases[i].what, ret, err);
        CHECK_EQ(ret, cases[i].want);
        CHECK(f == NULL && strstr(err, "bad.qcow2") != NULL);
        blk_format_free(f);
    }
    /* A file too short for a header. */
    write_file(path("bad.qcow2"), good, 40);
    int ret;
    CHECK(open_fmt(path("bad.qcow2"), true, false, &ret) == NULL);
    CHECK_EQ(ret, -EINVAL);
    free(good);
}

static void test_corrupt_tables(void)
{
    /* One data cluster at 0 written by qemu; then its L2 entry is spoiled. */
    CHECK_EQ(sh("qemu-img create -q -f qcow2 %s 16M && qemu-io -c 'write -P 1 0 64k' %s >/dev/null",
                path("t.qcow2"), path("t.qcow2")),
             0);
    uint8_t *b = read_file(path("t.qcow2"), 65536 * 6);
    uint64_t l1 = 0x30000; /* qemu's layout: header, refcount table, refblock, L1 */
    uint64_t l2 = 0;
    for (int i = 0; i < 8; i++)
        l2 = l2 << 8 | b[l1 + i];
    l2 &= 0x00fffffffffffe00ull;
    CHECK(l2 != 0 && l2 % 65536 == 0);
    uint8_t buf[4096];
    static const uint64_t entries[] = {
        0x8000000000010200ull,                /* unaligned data cluster */
        0x4000000000050000ull | (1ull << 54), /* compressed: garbage data */
        0x0000000100000000ull | (1ull << 63), /* beyond the end: zeros */
    };
    static const int want[] = {-EIO, -EIO, 0};
    for (int i = 0; i < 3 && l2 && l2 + 8 <= 65536 * 6; i++) {
        put_be64(b + l2, entries[i]);
        write_file(path("t2.qcow2"), b, 65536 * 6);
        struct blk_format *f = open_ok(path("t2.qcow2"), false);
        if (!f)
            continue;
        CHECK_EQ(blk_format_read(f, 0, buf, sizeof(buf)), want[i]);
        int wret = blk_format_write(f, 0, buf, 512);
        if (!(wret == want[i] || (want[i] == -EIO && wret == 0)))
            fprintf(stderr, "case %d: write %d\n", i, wret);
        CHECK(wret == want[i] || (want[i] == -EIO && wret == 0));
        blk_format_free(f);
    }
    /* An unaligned L2 table offset in L1. */
    put_be64(b + l1, 0x8000000000010200ull);
    write_file(path("t2.qcow2"), b, 65536 * 6);
    struct blk_format *f = open_ok(path("t2.qcow2"), true);
    if (f) {
        CHECK_EQ(blk_format_read(f, 0, buf, sizeof(buf)), -EIO);
        blk_format_free(f);
    }
    free(b);
}

static void test_refused_for_writing(void)
{
    int ret;
    /* Internal snapshots: read-only only. */
    CHECK_EQ(sh("qemu-img create -q -f qcow2 %s 1M && qemu-img snapshot -c s1 %s", path("s.qcow2"),
                path("s.qcow2")),
             0);
    CHECK(open_fmt(path("s.qcow2"), false, false, &ret) == NULL);
    CHECK_EQ(ret, -ENOTSUP);
    CHECK(strstr(err, "snapshot") != NULL);
    struct blk_format *f = open_ok(path("s.qcow2"), true);
    blk_format_free(f);
    /* The dirty bit (lazy refcounts not written back). */
    CHECK_EQ(sh("qemu-img create -q -f qcow2 -o lazy_refcounts=on %s 1M", path("z.qcow2")), 0);
    uint8_t *b = read_file(path("z.qcow2"), 196608);
    b[79] |= 1;
    write_file(path("z.qcow2"), b, 196608);
    free(b);
    CHECK(open_fmt(path("z.qcow2"), false, false, &ret) == NULL);
    CHECK_EQ(ret, -EINVAL);
    CHECK(strstr(err, "qemu-img check") != NULL);
    f = open_ok(path("z.qcow2"), true);
    blk_format_free(f);
}

static void test_vmdk(void)
{
    const size_t len = 2 * MIB;
    CHECK_EQ(
        sh("qemu-img create -q -f vmdk -o subformat=monolithicFlat %s %zu", path("v.vmdk"), len),
        0);
    int ret;
    struct blk_format *f = open_fmt(path("v.vmdk"), false, true, &ret);
    CHECK_EQ(ret, 0);
    uint8_t *shadow = calloc(1, len);
    if (f) {
        CHECK_EQ(f->size, len);
        write_pieces(f, shadow, len, 3, 40);
        check_ours(f, shadow, len);
        CHECK_EQ(blk_format_discard(f, 4096, 8192, true, false), 0);
        memset(shadow + 4096, 0, 8192);
        CHECK_EQ(blk_format_flush(f), 0);
        blk_format_free(f);
    }
    /* The extent file is the disk, raw. */
    uint8_t *flat = read_file(path("v-flat.vmdk"), len);
    CHECK(memcmp(flat, shadow, len) == 0);
    CHECK_EQ(sh("qemu-img convert -f vmdk -O raw %s %s", path("v.vmdk"), path("out.raw")), 0);
    uint8_t *q = read_file(path("out.raw"), len);
    CHECK(memcmp(q, shadow, len) == 0);
    free(q);
    /* Two extents, the second at an offset in its file. */
    write_file(path("e1"), shadow, 1024);
    write_file(path("e2"), shadow, len);
    FILE *d = fopen(path("two.vmdk"), "w");
    fprintf(d,
            "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
            "createType=\"monolithicFlat\"\n\nRW 2 FLAT \"e1\" 0\nRDONLY 4 FLAT \"%s\" 8\n",
            path("e2"));
    fclose(d);
    f = open_fmt(path("two.vmdk"), true, true, &ret);
    CHECK_EQ(ret, 0);
    if (f) {
        uint8_t buf[3072];
        CHECK_EQ(f->size, 3072);
        CHECK_EQ(blk_format_read(f, 0, buf, sizeof(buf)), 0);
        CHECK(memcmp(buf, shadow, 1024) == 0 && memcmp(buf + 1024, shadow + 4096, 2048) == 0);
        blk_format_free(f);
    }
    CHECK(open_fmt(path("two.vmdk"), false, true, &ret) == NULL); /* RDONLY extent */
    CHECK_EQ(ret, -EROFS);
    /* Other kinds are refused, by name. */
    CHECK_EQ(
        sh("qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentFlat %s 1M", path("split.vmdk")),
        0);
    CHECK(open_fmt(path("split.vmdk"), true, true, &ret) == NULL);
    CHECK_EQ(ret, -ENOTSUP);
    CHECK(strstr(err, "twoGbMaxExtentFlat") != NULL);
    CHECK_EQ(sh("qemu-img create -q -f vmdk %s 1M", path("sparse.vmdk")), 0);
    CHECK(open_fmt(path("sparse.vmdk"), true, true, &ret) == NULL);
    CHECK_EQ(ret, -ENOTSUP);
    CHECK(strstr(err, "sparse") != NULL);
    /* Garbage: not a descriptor. */
    write_file(path("junk.vmdk"), (const uint8_t *)"hello\n", 6);
    CHECK(open_fmt(path("junk.vmdk"), true, true, &ret) == NULL);
    CHECK_EQ(ret, -EINVAL);
    free(flat);
    free(shadow);
}

/* The caller's format wins: a raw image that starts with the qcow2 magic stays raw. */
static void test_raw_is_not_probed(void)
{
    CHECK_EQ(sh("qemu-img create -q -f qcow2 %s 64M", path("p.qcow2")), 0);
    struct stat st;
    CHECK(stat(path("p.qcow2"), &st) == 0);
    struct disk_config cfg = {.path = (char *)path("p.qcow2"), .format = KRUN_DISK_FORMAT_RAW};
    struct blk_disk d;
    CHECK_EQ(blk_disk_open(&d, &cfg, err, sizeof(err)), 0);
    CHECK(d.fmt == NULL);
    CHECK_EQ(d.size, (uint64_t)st.st_size / 512 * 512); /* the file, not the 64 MiB disk */
    uint8_t magic[4] = {0};
    CHECK_EQ(pread(d.fd, magic, 4, 0), 4);
    CHECK(memcmp(magic, "QFI\xfb", 4) == 0);
    blk_disk_close(&d);
    cfg.format = KRUN_DISK_FORMAT_QCOW2;
    CHECK_EQ(blk_disk_open(&d, &cfg, err, sizeof(err)), 0);
    CHECK(d.fmt != NULL && d.fd < 0);
    CHECK_EQ(d.size, 64 * MIB);
    blk_disk_close(&d);
    /* And a qcow2 disk whose file is raw is refused, not served raw. */
    cfg.path = (char *)path("src.raw");
    CHECK_EQ(blk_disk_open(&d, &cfg, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "src.raw") != NULL);
}

/* Requests as the queue worker runs them: scattered segments, FLUSH, WRITE_ZEROES, GET_ID. */
static void test_requests_through_the_device_path(void)
{
    const size_t len = 2 * MIB;
    CHECK_EQ(sh("qemu-img create -q -f qcow2 -o cluster_size=4096 %s %zu", path("r.qcow2"), len),
             0);
    struct disk_config cfg = {.path = (char *)path("r.qcow2"),
                              .format = KRUN_DISK_FORMAT_QCOW2,
                              .direct_io = true,
                              .sync_mode = KRUN_SYNC_FULL};
    struct blk_disk d;
    CHECK_EQ(blk_disk_open(&d, &cfg, err, sizeof(err)), 0);
    if (!d.fmt)
        return;
    CHECK(!d.direct); /* not used for formats */
    struct blk_bounce bounce = {0};
    static uint8_t a[5000], b[7000], c[3000], back[15000];
    pattern(a, sizeof(a), 0, 90);
    pattern(b, sizeof(b), 0, 91);
    pattern(c, sizeof(c), 0, 92);
    struct iovec iov[3] = {{a, sizeof(a)}, {b, sizeof(b)}, {c, sizeof(c)}};
    struct blk_req r = {.op = BLK_OP_WRITE,
                        .offset = 3 * 4096 + 512,
                        .len = 15000,
                        .iov = iov,
                        .niov = 3,
                        .dsync = true};
    CHECK(!blk_uring_can_submit(&d, &r));
    blk_exec_sync(&d, &r, &bounce);
    CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
    CHECK_EQ(r.done, 15000);
    struct iovec riov[2] = {{back, 1234}, {back + 1234, sizeof(back) - 1234}};
    r = (struct blk_req){
        .op = BLK_OP_READ, .offset = 3 * 4096 + 512, .len = 15000, .iov = riov, .niov = 2};
    blk_exec_sync(&d, &r, &bounce);
    CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
    CHECK_EQ(r.written, 15001);
    CHECK(memcmp(back, a, sizeof(a)) == 0 && memcmp(back + 5000, b, sizeof(b)) == 0 &&
          memcmp(back + 12000, c, sizeof(c)) == 0);
    r = (struct blk_req){.op = BLK_OP_FLUSH};
    blk_exec_sync(&d, &r, &bounce);
    CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
    r = (struct blk_req){.op = BLK_OP_WRITE_ZEROES, .offset = 4 * 4096, .len = 8192};
    blk_exec_sync(&d, &r, &bounce);
    CHECK_EQ(r.status, VIRTIO_BLK_S_OK);
    char serial[VIRTIO_BLK_ID_BYTES];
    struct iovec siov = {serial, sizeof(serial)};
    r = (struct blk_req){.op = BLK_OP_GET_ID, .len = sizeof(serial), .iov = &siov, .niov = 1};
    blk_exec_sync(&d, &r, &bounce);
    CHECK(serial[0] >= '0' && serial[0] <= '9');
    blk_disk_close(&d);
    uint8_t *want = calloc(1, len);
    memcpy(want + 3 * 4096 + 512, back, 15000);
    memset(want + 4 * 4096, 0, 8192);
    check_with_qemu(path("r.qcow2"), want, len);
    free(want);
    blk_bounce_free(&bounce);
}

int main(void)
{
    if (sh("qemu-img --version >/dev/null 2>&1 && qemu-io --version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_qcow2: qemu-img/qemu-io not found: install qemu-utils "
                        "(tools/install-deps)\n");
        return 1;
    }
    snprintf(dir, sizeof(dir), "/tmp/krun-qcow2-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_read_qemu_images);
    RUN(test_write_roundtrip);
    RUN(test_compressed);
    RUN(test_backing_chain);
    RUN(test_backing_loop_and_depth);
    RUN(test_discard);
    RUN(test_corrupt_headers);
    RUN(test_corrupt_tables);
    RUN(test_refused_for_writing);
    RUN(test_vmdk);
    RUN(test_raw_is_not_probed);
    RUN(test_requests_through_the_device_path);
    sh("rm -rf %s", dir);
    return TEST_EXIT();
}
