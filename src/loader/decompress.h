/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compressed kernels for krun_set_kernel's IMAGE_GZ, IMAGE_BZ2 and
 * IMAGE_ZSTD formats (x86_64): a vmlinux ELF compressed with gzip, bzip2
 * or zstd. As upstream, the stream need not start the file: it starts at
 * the first occurrence of the format's magic number (so a compressed
 * vmlinux wrapped in something else is found too). Concatenated streams
 * (gzip members, bzip2 streams, zstd frames) decompress as one; bytes
 * after the last stream that do not start another are ignored.
 *
 * The file is untrusted: the output is capped, so that a decompression
 * bomb is an error and not an exhausted host, and memory grows only as
 * output is actually produced.
 */
#ifndef KRUN_LOADER_DECOMPRESS_H
#define KRUN_LOADER_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>

enum kernel_compression {
    KERNEL_GZIP,
    KERNEL_BZIP2,
    KERNEL_ZSTD,
};

/* The largest decompressed kernel accepted: a vmlinux is tens of MiB. */
#define KERNEL_DECOMPRESSED_MAX ((size_t)512 << 20)

/* "gzip", "bzip2" or "zstd", for messages. */
const char *kernel_compression_name(enum kernel_compression c);

/*
 * Decompress the stream of kind c found in data into a new malloc'd buffer
 * of at most max bytes (*out, *out_len; the caller frees it). Returns 0;
 * -ENOEXEC when there is no magic number, or the stream is corrupt or
 * truncated; -EFBIG when it decompresses to more than max bytes; -ENOMEM.
 * Every failure leaves a message in err and *out NULL.
 */
int kernel_decompress(enum kernel_compression c, const uint8_t *data, size_t len, size_t max,
                      uint8_t **out, size_t *out_len, char *err, size_t errlen);

#endif
