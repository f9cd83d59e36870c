/* SPDX-License-Identifier: Apache-2.0 */
#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

void bus_init(struct bus *b, const char *name, uint8_t open_value)
{
    *b = (struct bus){.name = name, .open_value = open_value};
}

void bus_free(struct bus *b)
{
    free(b->ranges);
    b->ranges = NULL;
    b->n = b->cap = 0;
}

/* Index of the first range whose base is above addr. */
static size_t upper_bound(const struct bus *b, uint64_t addr)
{
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->ranges[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int bus_register(struct bus *b, const struct bus_range *r)
{
    if (r->len == 0 || r->base + r->len - 1 < r->base)
        return -EINVAL;
    size_t at = upper_bound(b, r->base);
    const struct bus_range *prev = at > 0 ? &b->ranges[at - 1] : NULL;
    const struct bus_range *next = at < b->n ? &b->ranges[at] : NULL;
    const struct bus_range *clash = NULL;
    if (prev && r->base - prev->base < prev->len)
        clash = prev;
    else if (next && next->base - r->base < r->len)
        clash = next;
    if (clash) {
        log_error("%s: %s at 0x%llx overlaps %s at 0x%llx", b->name, r->name,
                  (unsigned long long)r->base, clash->name, (unsigned long long)clash->base);
        return -EEXIST;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        struct bus_range *v = realloc(b->ranges, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        b->ranges = v;
        b->cap = cap;
    }
    memmove(&b->ranges[at + 1], &b->ranges[at], (b->n - at) * sizeof(*b->ranges));
    b->ranges[at] = *r;
    b->n++;
    return 0;
}

bool bus_access(const struct bus *b, uint64_t addr, bool write, uint8_t *data, unsigned len)
{
    size_t at = upper_bound(b, addr);
    const struct bus_range *r = at > 0 ? &b->ranges[at - 1] : NULL;
    uint64_t off = r ? addr - r->base : 0;
    if (r && off < r->len && len <= r->len - off) {
        if (write && r->write)
            r->write(r->opaque, off, data, len);
        else if (!write && r->read)
            r->read(r->opaque, off, data, len);
        else if (!write)
            memset(data, b->open_value, len);
        return true;
    }
    if (!write)
        memset(data, b->open_value, len);
    return false;
}
