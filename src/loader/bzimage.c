/* SPDX-License-Identifier: Apache-2.0 */
#include "loader/kernel.h"
#include "loader/load_error.h"

#include <asm/bootparam.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

_Static_assert(sizeof(struct setup_header) == SETUP_HEADER_MAX, "setup header size");
_Static_assert(offsetof(struct boot_params, hdr) == SETUP_HEADER_OFFSET, "setup header offset");

#define HDRS_OFFSET    0x202 /* "HdrS", and the end of the jump at 0x200 */
#define MIN_PROTOCOL   0x020c
#define ENTRY64_OFFSET 0x200

bool kernel_is_bzimage(const uint8_t *data, size_t len)
{
    return len >= HDRS_OFFSET + 4 && memcmp(data + HDRS_OFFSET, "HdrS", 4) == 0;
}

int kernel_load_bzimage(const uint8_t *data, size_t len, struct guest_mem *gm,
                        struct kernel_image *out, char *err, size_t errlen)
{
    struct setup_header h;

    memset(out, 0, sizeof(*out));
    if (!kernel_is_bzimage(data, len))
        return loader_fail(err, errlen, -ENOEXEC, "not a bzImage (no HdrS signature)");
    /* Everything up to init_size (protocol 2.10) must be in the file. */
    const size_t need = SETUP_HEADER_OFFSET + offsetof(struct setup_header, init_size) + 4;
    if (len < need)
        return loader_fail(err, errlen, -ENOEXEC, "bzImage setup header truncated");
    memset(&h, 0, sizeof(h));
    memcpy(&h, data + SETUP_HEADER_OFFSET,
           len - SETUP_HEADER_OFFSET < sizeof(h) ? len - SETUP_HEADER_OFFSET : sizeof(h));

    if (h.version < MIN_PROTOCOL)
        return loader_fail(err, errlen, -ENOEXEC,
                           "boot protocol %u.%02u is too old (2.12 or later needed)",
                           h.version >> 8, h.version & 0xff);
    /* The short jump at 0x200 skips the header: its target is where the header ends. */
    size_t hdr_end = HDRS_OFFSET + (h.jump >> 8);
    if (hdr_end < need)
        return loader_fail(err, errlen, -ENOEXEC, "bzImage setup header too short");
    if (!(h.loadflags & LOADED_HIGH))
        return loader_fail(err, errlen, -ENOEXEC, "not a bzImage (LOADED_HIGH not set)");
    if (!(h.xloadflags & XLF_KERNEL_64))
        return loader_fail(err, errlen, -ENOEXEC, "kernel has no 64-bit entry point");

    uint64_t setup_size = ((uint64_t)(h.setup_sects ? h.setup_sects : 4) + 1) * 512;
    if (setup_size >= len)
        return loader_fail(err, errlen, -ENOEXEC, "bzImage truncated: no protected-mode kernel");
    uint64_t size = (uint64_t)h.syssize * 16;
    if (size == 0)
        size = len - setup_size;
    if (size > len - setup_size)
        return loader_fail(err, errlen, -ENOEXEC,
                           "bzImage truncated: protected-mode kernel is %" PRIu64
                           " bytes, the file has %" PRIu64,
                           size, (uint64_t)len - setup_size);
    if (size <= ENTRY64_OFFSET)
        return loader_fail(err, errlen, -ENOEXEC,
                           "protected-mode kernel too small (%" PRIu64 " bytes)", size);

    /*
     * pref_address is where the kernel runs: a relocatable kernel
     * decompresses in place there, a fixed one moves itself there. Loading
     * it there makes [load, load + init_size) the whole footprint.
     */
    uint64_t load = BZIMAGE_DEFAULT_LOAD;
    if (h.pref_address >= BZIMAGE_DEFAULT_LOAD && h.pref_address < (1ull << 32) &&
        (h.pref_address & 0xfff) == 0)
        load = h.pref_address;
    uint64_t span = size > h.init_size ? size : h.init_size;
    if (gm) {
        uint8_t *dst = gm_ptr(gm, load, span);
        if (!dst)
            return loader_fail(err, errlen, -ENOMEM,
                               "kernel needs guest RAM at 0x%" PRIx64 "-0x%" PRIx64, load,
                               load + span);
        memcpy(dst, data + setup_size, size);
    }

    h.code32_start = (uint32_t)load;
    out->entry_kind = BOOT_ENTRY_LINUX64;
    out->entry = load + ENTRY64_OFFSET;
    out->linux64_entry = out->entry;
    out->load_start = load;
    out->load_end = load + span;
    out->initrd_addr_max = h.initrd_addr_max;
    out->cmdline_max = h.cmdline_size;
    out->has_setup_header = true;
    out->setup_header_len =
        hdr_end - SETUP_HEADER_OFFSET < sizeof(h) ? hdr_end - SETUP_HEADER_OFFSET : sizeof(h);
    memcpy(out->setup_header, &h, out->setup_header_len);
    return 0;
}
