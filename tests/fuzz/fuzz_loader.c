/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/loader/elf.c src/loader/bzimage.c src/loader/load_error.c src/loader/initramfs.c src/util/guest_mem.c */
/*
 * libFuzzer harness for the kernel image parsers: the input is the image,
 * given to both the ELF and the bzImage loader. A load must either fail
 * with a message or report ranges that lie inside guest memory.
 */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loader/kernel.h"
#include "util/guest_mem.h"

#define R0_SIZE 0x400000 /* [0, 4 MiB) */
#define R1_GPA  0x500000 /* a hole, then [5 MiB, 6 MiB) */
#define R1_SIZE 0x100000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_mem gm;

static void check(int rc, const struct kernel_image *ki, const char *err)
{
    if (rc != 0) {
        assert(rc == -ENOEXEC || rc == -ENOMEM);
        assert(err[0] != 0);
        return;
    }
    assert(ki->load_start < ki->load_end);
    assert(gm_ptr(&gm, ki->load_start, 1) && gm_ptr(&gm, ki->load_end - 1, 1));
    assert(ki->entry >= ki->load_start && ki->entry < ki->load_end);
    if (ki->linux64_entry)
        assert(ki->linux64_entry >= ki->load_start && ki->linux64_entry < ki->load_end);
    assert(ki->setup_header_len <= SETUP_HEADER_MAX);
    if (ki->entry_kind == BOOT_ENTRY_PVH)
        assert(ki->entry <= UINT32_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (gm.n_regions == 0) {
        void *r0 = aligned_alloc(4096, R0_SIZE), *r1 = aligned_alloc(4096, R1_SIZE);
        if (!r0 || !r1 || gm_add_region(&gm, 0, R0_SIZE, r0) ||
            gm_add_region(&gm, R1_GPA, R1_SIZE, r1))
            abort();
    }
    struct kernel_image ki;
    char err[160];

    err[0] = 0;
    int rc = kernel_load_elf(data, size, &gm, &ki, err, sizeof(err));
    assert(rc == 0 || !kernel_is_elf(data, size) || err[0]);
    check(rc, &ki, err);

    err[0] = 0;
    rc = kernel_load_bzimage(data, size, &gm, &ki, err, sizeof(err));
    check(rc, &ki, err);
    if (rc == 0) {
        assert(ki.has_setup_header);
        assert(ki.entry == ki.load_start + 0x200);
    }

    /* The initramfs goes wherever the input's first bytes say. */
    if (size >= 12) {
        uint32_t lowest, end, max;
        memcpy(&lowest, data, 4);
        memcpy(&end, data + 4, 4);
        memcpy(&max, data + 8, 4);
        uint64_t gpa;
        size_t len = size > 0x2000 ? 0x2000 : size;
        if (initramfs_place(&gm, data, len, lowest, end, max, &gpa) == 0) {
            assert(gpa % 4096 == 0 && gpa >= lowest && gpa + len <= end);
            assert(gpa + len - 1 <= max);
            assert(gm_ptr(&gm, gpa, len));
        }
    }
    return 0;
}
