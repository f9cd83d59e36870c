/* SPDX-License-Identifier: Apache-2.0 */
#include "loader/kernel.h"

#include <errno.h>
#include <string.h>

#define PAGE_MASK 0xfffull

int initramfs_reserve(const struct guest_mem *gm, size_t len, uint64_t lowest, uint64_t highest_end,
                      uint32_t max_addr, uint64_t *gpa_out)
{
    if (len == 0)
        return -EINVAL;
    uint64_t limit = (uint64_t)max_addr + 1;
    if (highest_end < limit)
        limit = highest_end;

    /* The highest page-aligned spot in each region, then the highest of those. */
    bool found = false;
    uint64_t best = 0;
    for (unsigned i = 0; i < gm->n_regions; i++) {
        const struct gm_region *r = &gm->regions[i];
        uint64_t end = r->gpa + r->size < limit ? r->gpa + r->size : limit;
        if (end < len)
            continue;
        uint64_t start = (end - len) & ~PAGE_MASK;
        if (start < r->gpa || start < lowest)
            continue;
        if (!found || start > best) {
            best = start;
            found = true;
        }
    }
    if (!found || !gm_ptr(gm, best, len))
        return -ENOMEM;
    *gpa_out = best;
    return 0;
}

int initramfs_place(struct guest_mem *gm, const uint8_t *data, size_t len, uint64_t lowest,
                    uint64_t highest_end, uint32_t max_addr, uint64_t *gpa_out)
{
    int ret = initramfs_reserve(gm, len, lowest, highest_end, max_addr, gpa_out);
    if (ret == 0)
        memcpy(gm_ptr(gm, *gpa_out, len), data, len);
    return ret;
}
