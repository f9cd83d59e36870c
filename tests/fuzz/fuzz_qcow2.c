/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/virtio/blk/format.c src/virtio/blk/raw_backing.c src/virtio/blk/qcow2.c src/virtio/blk/qcow2_header.c src/virtio/blk/qcow2_table.c src/virtio/blk/qcow2_refcount.c src/virtio/blk/qcow2_compress.c src/virtio/blk/qcow2_io.c src/util/log.c */
/* LDLIBS: -lz -lzstd */
/*
 * qcow2 images from arbitrary bytes: the header parser, then the whole
 * image (L1/L2 tables, refcounts, compressed clusters) through reads and,
 * on a writable open, writes, discards and zeroing. Whatever the bytes,
 * nothing may crash or leak, every result is 0 or a negative errno, and a
 * header the parser accepts has every field inside the documented limits.
 *
 * Input: byte 0 bit 0: open writable; bits 1..7 pick the offsets used.
 * The rest is the image file (in a memfd).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "virtio/blk/format.h"
#include "virtio/blk/qcow2.h"

static void check_header(const uint8_t *data, size_t size)
{
    struct qcow2_header h;
    char why[256];
    int ret = qcow2_header_parse(data, size, &h, why, sizeof(why));
    if (ret != 0 && ret != -EINVAL && ret != -ENOTSUP && ret != -EAGAIN)
        abort();
    if (ret != 0)
        return;
    uint64_t cs = 1ull << h.cluster_bits;
    if (h.cluster_bits < 9 || h.cluster_bits > 21 || h.refcount_order > 6 || cs > size ||
        (uint64_t)h.l1_size * 8 > QCOW2_MAX_L1_BYTES ||
        (uint64_t)h.refcount_table_clusters * cs > QCOW2_MAX_RT_BYTES ||
        (h.l1_size && h.l1_table_offset % cs != 0) ||
        (h.refcount_table_clusters && h.refcount_table_offset % cs != 0) || h.crypt_method != 0 ||
        (h.incompatible & ~QCOW2_INCOMPAT_KNOWN) ||
        (h.incompatible & (QCOW2_INCOMPAT_DATA_FILE | QCOW2_INCOMPAT_EXTL2)) ||
        strlen(h.backing_file) > QCOW2_MAX_BACKING_NAME)
        abort();
}

static void ok_or_errno(int ret)
{
    if (ret > 0 || ret < -4095)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > (4u << 20))
        return 0;
    uint8_t mode = data[0];
    check_header(data + 1, size - 1);

    int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct blk_format *f = calloc(1, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    struct blk_format_args a = {.path = path, .read_only = !(mode & 1), .sync = false};
    char err[512];
    int ret = blk_qcow2_open(f, &a, err, sizeof(err));
    ok_or_errno(ret);
    if (ret == 0 && f->size >= 4096) {
        static uint8_t buf[8192];
        uint64_t offs[4] = {0, f->size / 2, f->size - 4096, (f->size / 3) & ~511ull};
        for (int i = 0; i < 4; i++) {
            uint64_t off = offs[(i + (mode >> 1)) % 4] & ~511ull;
            if (off + 4096 > f->size)
                off = f->size - 4096;
            ok_or_errno(blk_format_read(f, off, buf, 4096));
            if (mode & 1) {
                memset(buf, mode, 1536);
                ok_or_errno(blk_format_write(f, off + 512, buf, 1536));
                ok_or_errno(blk_format_discard(f, off, 4096, (mode & 2) != 0, (mode & 4) != 0));
                ok_or_errno(blk_format_write(f, off, buf, 4096));
                ok_or_errno(blk_format_read(f, off, buf, 4096));
            }
        }
        ok_or_errno(blk_format_flush(f));
    }
    blk_format_free(f);
    close(fd);
    return 0;
}
