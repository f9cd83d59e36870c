/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest physical memory. The guest is hostile: every access to guest memory
 * goes through gm_ptr(), which checks that the whole range [gpa, gpa+len)
 * lies inside guest RAM. Nothing dereferences a guest address any other way.
 */
#ifndef KRUN_UTIL_GUEST_MEM_H
#define KRUN_UTIL_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GM_MAX_REGIONS 8

/* A range of guest physical memory that is contiguous in the host too. */
struct gm_region {
    uint64_t gpa;
    uint64_t size;
    uint8_t *host;
};

struct guest_mem {
    struct gm_region regions[GM_MAX_REGIONS];
    unsigned n_regions;
};

/* Add a region; regions must not overlap. Returns 0 or -EINVAL. */
int gm_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size, void *host);

/*
 * Host pointer for the guest range [gpa, gpa+len), or NULL if any byte of
 * it is outside guest RAM or the range wraps. len 0 is checked as len 1.
 */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copy helpers built on gm_ptr; return 0 or -EFAULT. */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len);

#endif
