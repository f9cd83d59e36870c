/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/loader/decompress.c src/loader/elf.c src/loader/load_error.c src/util/guest_mem.c */
/* LDLIBS: -lz -lbz2 -lzstd */
/*
 * libFuzzer harness for krun_set_kernel's compressed formats: the first
 * byte picks gzip, bzip2 or zstd, the rest is the kernel file. Decompression
 * must fail with a message or produce at most the cap, and what it
 * produces goes through the ELF loader's validation, as in a VM's start.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "loader/decompress.h"
#include "loader/kernel.h"

/* Small, so that bombs end quickly. */
#define FUZZ_CAP ((size_t)1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum kernel_compression c = (enum kernel_compression)(data[0] % 3);
    uint8_t *out = NULL;
    size_t out_len = 0;
    char err[256] = "";
    int rc = kernel_decompress(c, data + 1, size - 1, FUZZ_CAP, &out, &out_len, err, sizeof(err));
    if (rc != 0) {
        assert(rc == -ENOEXEC || rc == -EFBIG || rc == -ENOMEM);
        assert(err[0] != 0);
        assert(out == NULL && out_len == 0);
        return 0;
    }
    assert(out_len <= FUZZ_CAP);
    assert(out != NULL || out_len == 0);
    struct kernel_image ki;
    err[0] = 0;
    rc = kernel_load_elf(out, out_len, NULL, &ki, err, sizeof(err));
    assert(rc == 0 || err[0]);
    free(out);
    return 0;
}
