/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: @library */
/*
 * krun_set_kernel's compressed and RAW formats: a synthetic vmlinux
 * compressed at test time with zlib, libbz2 and libzstd decompresses to
 * the same bytes and loads exactly as the plain ELF; truncated, corrupt
 * and oversized streams fail with their own message; and the payload
 * choice (vm/payload.c) takes RAW and IMAGE_* files as upstream does.
 */
#include "test.h"

#include <bzlib.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "../fuzz/synth_kernel.h"
#include "libkrun.h"
#include "loader/decompress.h"
#include "loader/kernel.h"
#include "util/guest_mem.h"
#include "vm/config.h"
#include "vm/payload.h"

#define RAM_SIZE 0x400000 /* 4 MiB at gpa 0 */

static uint8_t elf[SYNTH_ELF_SIZE];
static size_t elf_len;
static char err[512];

/* Compress with the library, as the gzip, bzip2 and zstd tools would. Returns a malloc'd buffer. */
static uint8_t *compress_with(enum kernel_compression c, const uint8_t *in, size_t len,
                              size_t *out_len)
{
    size_t cap = len + len / 2 + 1024;
    uint8_t *out = malloc(cap);
    if (!out)
        abort();
    if (c == KERNEL_GZIP) {
        z_stream zs = {0};
        if (deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            abort();
        zs.next_in = (Bytef *)in;
        zs.avail_in = (uInt)len;
        zs.next_out = out;
        zs.avail_out = (uInt)cap;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
            abort();
        *out_len = zs.total_out;
        deflateEnd(&zs);
    } else if (c == KERNEL_BZIP2) {
        unsigned n = (unsigned)cap;
        if (BZ2_bzBuffToBuffCompress((char *)out, &n, (char *)in, (unsigned)len, 9, 0, 0) != BZ_OK)
            abort();
        *out_len = n;
    } else {
        /* With the checksum, as the zstd tool writes it. */
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        if (!cc || ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1)))
            abort();
        size_t n = ZSTD_compress2(cc, out, cap, in, len);
        if (ZSTD_isError(n))
            abort();
        *out_len = n;
        ZSTD_freeCCtx(cc);
    }
    return out;
}

/* prefix + stream + suffix, in a new buffer. */
static uint8_t *wrap(const void *prefix, size_t plen, const uint8_t *z, size_t zlen,
                     const void *suffix, size_t slen, size_t *len)
{
    uint8_t *buf = malloc(plen + zlen + slen);
    if (!buf)
        abort();
    memcpy(buf, prefix, plen);
    memcpy(buf + plen, z, zlen);
    memcpy(buf + plen + zlen, suffix, slen);
    *len = plen + zlen + slen;
    return buf;
}

static int decompress(enum kernel_compression c, const uint8_t *in, size_t len, size_t max,
                      uint8_t **out, size_t *out_len)
{
    err[0] = 0;
    return kernel_decompress(c, in, len, max, out, out_len, err, sizeof(err));
}

#define CHECK_ERR(needle)                                                                          \
    do {                                                                                           \
        if (!strstr(err, (needle))) {                                                              \
            fprintf(stderr, "%s:%d: %s: error \"%s\", expected \"%s\"\n", __FILE__, __LINE__,      \
                    test_current, err, (needle));                                                  \
            test_failures++;                                                                       \
        }                                                                                          \
    } while (0)

/* Load an ELF into fresh RAM filled with 0xcc; returns the RAM (caller frees). */
static uint8_t *load_into_ram(const uint8_t *img, size_t len, struct kernel_image *ki)
{
    uint8_t *ram = aligned_alloc(4096, RAM_SIZE);
    struct guest_mem gm = {0};
    if (!ram || gm_add_region(&gm, 0, RAM_SIZE, ram))
        abort();
    memset(ram, 0xcc, RAM_SIZE);
    char e[256];
    CHECK_EQ(kernel_load_elf(img, len, &gm, ki, e, sizeof(e)), 0);
    return ram;
}

static void test_round_trip_loads_like_plain_elf(void)
{
    struct kernel_image plain_ki;
    uint8_t *plain_ram = load_into_ram(elf, elf_len, &plain_ki);
    /* A wrapper before the stream without the magic, as a PE or boot stub would be. */
    static const char stub[] = "MZ this is not the stream; BZ h \x1f\x8b \x28\xb5";
    for (enum kernel_compression c = KERNEL_GZIP; c <= KERNEL_ZSTD; c++) {
        size_t zlen, flen, out_len;
        uint8_t *z = compress_with(c, elf, elf_len, &zlen);
        uint8_t *file = wrap(stub, sizeof(stub), z, zlen, "", 0, &flen);
        uint8_t *out;
        CHECK_EQ(decompress(c, file, flen, KERNEL_DECOMPRESSED_MAX, &out, &out_len), 0);
        CHECK_EQ(out_len, elf_len);
        CHECK(out && memcmp(out, elf, elf_len) == 0);
        if (out && out_len == elf_len) {
            struct kernel_image ki;
            uint8_t *ram = load_into_ram(out, out_len, &ki);
            CHECK(memcmp(&ki, &plain_ki, sizeof(ki)) == 0);
            CHECK(memcmp(ram, plain_ram, RAM_SIZE) == 0);
            free(ram);
        }
        free(out);
        free(file);
        free(z);
    }
    free(plain_ram);
}

/* Concatenated streams are one output; bytes after the last stream are ignored. */
static void test_concatenated_and_trailing(void)
{
    size_t half = elf_len / 2;
    for (enum kernel_compression c = KERNEL_GZIP; c <= KERNEL_ZSTD; c++) {
        size_t alen, blen, flen, out_len;
        uint8_t *a = compress_with(c, elf, half, &alen);
        uint8_t *b = compress_with(c, elf + half, elf_len - half, &blen);
        static const char junk[] = "\0\0\0\0trailing padding";
        uint8_t *ab = wrap(a, alen, b, blen, junk, sizeof(junk), &flen);
        uint8_t *out;
        CHECK_EQ(decompress(c, ab, flen, KERNEL_DECOMPRESSED_MAX, &out, &out_len), 0);
        CHECK_EQ(out_len, elf_len);
        CHECK(out && memcmp(out, elf, elf_len) == 0);
        free(out);
        free(ab);
        free(a);
        free(b);
    }
}

static void test_no_magic(void)
{
    for (enum kernel_compression c = KERNEL_GZIP; c <= KERNEL_ZSTD; c++) {
        uint8_t *out = (uint8_t *)1;
        size_t out_len = 1;
        /* The plain ELF holds none of the magic numbers. */
        CHECK_EQ(decompress(c, elf, elf_len, KERNEL_DECOMPRESSED_MAX, &out, &out_len), -ENOEXEC);
        CHECK_ERR("no ");
        CHECK_ERR(kernel_compression_name(c));
        CHECK(out == NULL && out_len == 0);
        CHECK_EQ(decompress(c, elf, 0, KERNEL_DECOMPRESSED_MAX, &out, &out_len), -ENOEXEC);
    }
}

static void test_truncated(void)
{
    for (enum kernel_compression c = KERNEL_GZIP; c <= KERNEL_ZSTD; c++) {
        size_t zlen, out_len;
        uint8_t *z = compress_with(c, elf, elf_len, &zlen);
        /* Every cut, from just after the magic number to the last byte. */
        size_t cuts[] = {4, 10, zlen / 3, zlen / 2, zlen - 5, zlen - 1};
        for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
            uint8_t *out = NULL;
            int rc = decompress(c, z, cuts[i], KERNEL_DECOMPRESSED_MAX, &out, &out_len);
            if (rc != -ENOEXEC || !strstr(err, "truncated"))
                fprintf(stderr, "%s cut at %zu of %zu: rc %d, \"%s\"\n", kernel_compression_name(c),
                        cuts[i], zlen, rc, err);
            CHECK_EQ(rc, -ENOEXEC);
            CHECK_ERR("truncated");
            CHECK(out == NULL);
        }
        free(z);
    }
}

static void test_corrupt(void)
{
    for (enum kernel_compression c = KERNEL_GZIP; c <= KERNEL_ZSTD; c++) {
        size_t zlen, out_len;
        uint8_t *z = compress_with(c, elf, elf_len, &zlen);
        /* The stored checksum (gzip CRC32, bzip2 stream CRC, zstd XXH64) no longer matches. */
        z[zlen - 6] ^= 0x5a;
        uint8_t *out = NULL;
        CHECK_EQ(decompress(c, z, zlen, KERNEL_DECOMPRESSED_MAX, &out, &out_len), -ENOEXEC);
        CHECK_ERR("corrupt");
        CHECK_ERR(kernel_compression_name(c));
        CHECK(out == NULL);
        /* And in the middle of the data. */
        z[zlen - 6] ^= 0x5a;
        for (size_t i = zlen / 3; i < zlen / 3 + 8; i++)
            z[i] ^= 0xff;
        CHECK_EQ(decompress(c, z, zlen, KERNEL_DECOMPRESSED_MAX, &out, &out_len), -ENOEXEC);
        CHECK(strstr(err, "corrupt") || strstr(err, "truncated"));
        CHECK(out == NULL);
        free(z);
    }
}

/* The cap: exact size passes, one byte less is an error; a bomb stops at the cap. */
static void test_size_cap(void)
{
    size_t bomb_len = (size_t)64 << 20;
    uint8_t *zeros = calloc(1, bomb_len);
    if (!zeros)
        abort();
    for (enum kernel_compression c = KERNEL_GZIP; c <= KERNEL_ZSTD; c++) {
        size_t zlen, out_len;
        uint8_t *z = compress_with(c, elf, elf_len, &zlen);
        uint8_t *out = NULL;
        CHECK_EQ(decompress(c, z, zlen, elf_len, &out, &out_len), 0);
        CHECK_EQ(out_len, elf_len);
        free(out);
        out = NULL;
        CHECK_EQ(decompress(c, z, zlen, elf_len - 1, &out, &out_len), -EFBIG);
        CHECK_ERR("more than");
        CHECK(out == NULL);
        free(z);

        /* 64 MiB of zeros: kilobytes compressed, stopped at 1 MiB. */
        z = compress_with(c, zeros, bomb_len, &zlen);
        CHECK(zlen < bomb_len / 500);
        CHECK_EQ(decompress(c, z, zlen, (size_t)1 << 20, &out, &out_len), -EFBIG);
        CHECK_ERR("more than 1048576 bytes");
        CHECK(out == NULL);
        CHECK_EQ(decompress(c, z, zlen, bomb_len, &out, &out_len), 0);
        CHECK_EQ(out_len, bomb_len);
        CHECK(out && memcmp(out, zeros, bomb_len) == 0);
        free(out);
        free(z);
    }
    free(zeros);
}

/* ---- the payload choice: what krun_start_enter does with the file ---- */

static char dir[] = "/tmp/krun-kdecomp-XXXXXX";

static const char *write_file(const char *name, const void *data, size_t len)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) != 0)
        abort();
    return path;
}

static int choose(const char *path, uint32_t format, struct payload *p)
{
    struct vm_config cfg = {0};
    cfg.kernel_path = (char *)path;
    cfg.kernel_format = format;
    memset(p, 0, sizeof(*p));
    return payload_choose(&cfg, NULL, p);
}

static void test_payload_compressed(void)
{
    struct payload plain;
    CHECK_EQ(choose(write_file("vmlinux", elf, elf_len), KRUN_KERNEL_FORMAT_ELF, &plain), 0);
    uint32_t formats[] = {KRUN_KERNEL_FORMAT_IMAGE_GZ, KRUN_KERNEL_FORMAT_IMAGE_BZ2,
                          KRUN_KERNEL_FORMAT_IMAGE_ZSTD};
    for (enum kernel_compression c = KERNEL_GZIP; c <= KERNEL_ZSTD; c++) {
        size_t zlen;
        uint8_t *z = compress_with(c, elf, elf_len, &zlen);
        const char *path = write_file("vmlinux.z", z, zlen);
        struct payload p;
        CHECK_EQ(choose(path, formats[c], &p), 0);
        CHECK(!p.bzimage && !p.bundle);
        CHECK_EQ(p.footprint_end, plain.footprint_end);
        CHECK_EQ(p.kernel.len, elf_len);
        CHECK(p.kernel.data && memcmp(p.kernel.data, elf, elf_len) == 0);
        payload_free(&p);

        /* The wrong compression: no magic number of that kind. */
        CHECK_EQ(choose(path, formats[(c + 1) % 3], &p), -EINVAL);
        payload_free(&p);

        /* What decompresses must be an ELF. */
        static const char text[] = "compressed, but not a kernel\n";
        free(z);
        z = compress_with(c, (const uint8_t *)text, sizeof(text), &zlen);
        CHECK_EQ(choose(write_file("notelf.z", z, zlen), formats[c], &p), -EINVAL);
        payload_free(&p);
        free(z);
    }
    payload_free(&plain);
}

static void test_payload_raw(void)
{
    static uint8_t blob[0x3000];
    for (size_t i = 0; i < sizeof(blob); i++)
        blob[i] = (uint8_t)(i * 7);
    struct payload p;
    CHECK_EQ(choose(write_file("raw.bin", blob, sizeof(blob)), KRUN_KERNEL_FORMAT_RAW, &p), 0);
    CHECK(p.bundle == &p.raw);
    if (p.bundle) {
        CHECK_EQ(p.bundle->load_addr, RAW_KERNEL_ADDR);
        CHECK_EQ(p.bundle->entry, RAW_KERNEL_ADDR);
        CHECK_EQ(p.bundle->size, sizeof(blob));
        CHECK(memcmp(p.bundle->host, blob, sizeof(blob)) == 0);
    }
    CHECK_EQ(p.footprint_end, RAW_KERNEL_ADDR + sizeof(blob));
    payload_free(&p);
}

/* The API side: which formats krun_set_kernel takes, and RAW's checks at set time. */
static void test_api_formats(void)
{
    int32_t c = krun_create_ctx();
    CHECK(c >= 0);
    const char *raw = write_file("raw.bin", "x", 1);
    CHECK_EQ(krun_set_kernel(c, "/k", KRUN_KERNEL_FORMAT_IMAGE_GZ, NULL, NULL), 0);
    CHECK_EQ(krun_set_kernel(c, "/k", KRUN_KERNEL_FORMAT_IMAGE_BZ2, "/i", "console=hvc0"), 0);
    CHECK_EQ(krun_set_kernel(c, "/k", KRUN_KERNEL_FORMAT_IMAGE_ZSTD, NULL, NULL), 0);
    /* RAW opens the file now, as upstream: a missing one is -EINVAL, before the context. */
    CHECK_EQ(krun_set_kernel(c, "/nonexistent/k", KRUN_KERNEL_FORMAT_RAW, NULL, NULL), -EINVAL);
    CHECK_EQ(krun_set_kernel(c, raw, KRUN_KERNEL_FORMAT_RAW, "/i", "console=hvc0"), 0);
    CHECK_EQ(krun_set_kernel(99999, "/nonexistent/k", KRUN_KERNEL_FORMAT_RAW, NULL, NULL), -EINVAL);
    CHECK_EQ(krun_set_kernel(99999, raw, KRUN_KERNEL_FORMAT_RAW, NULL, NULL), -ENOENT);
    CHECK_EQ(krun_free_ctx(c), 0);
}

int main(void)
{
    elf_len = synth_elf(elf, false, SYNTH_ENTRY);
    if (!mkdtemp(dir))
        abort();
    RUN(test_round_trip_loads_like_plain_elf);
    RUN(test_concatenated_and_trailing);
    RUN(test_no_magic);
    RUN(test_truncated);
    RUN(test_corrupt);
    RUN(test_size_cap);
    RUN(test_payload_compressed);
    RUN(test_payload_raw);
    RUN(test_api_formats);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        perror(cmd);
    return TEST_EXIT();
}
