/* SPDX-License-Identifier: Apache-2.0 */
#include "util/guest_mem.h"

#include <errno.h>
#include <string.h>

int gm_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *host)
{
    if (gm->n_regions >= GM_MAX_REGIONS || size == 0 || gpa + size < gpa || !host)
        return -EINVAL;
    for (unsigned i = 0; i < gm->n_regions; i++) {
        const struct gm_region *r = &gm->regions[i];
        if (gpa < r->gpa + r->size && r->gpa < gpa + size)
            return -EINVAL;
    }
    gm->regions[gm->n_regions++] = (struct gm_region){.gpa = gpa, .size = size, .host = host};
    return 0;
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
    if (len == 0)
        len = 1;
    for (unsigned i = 0; i < gm->n_regions; i++) {
        const struct gm_region *r = &gm->regions[i];
        /* Written so that no expression can overflow. */
        if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
            return r->host + (gpa - r->gpa);
    }
    return NULL;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
    const void *p = gm_ptr(gm, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(dst, p, len);
    return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
    void *p = gm_ptr(gm, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(p, src, len);
    return 0;
}
