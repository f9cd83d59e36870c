/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An address bus: port I/O or MMIO ranges that devices register on, and
 * the dispatch of a vCPU's access to the device that owns the address.
 *
 * Ranges are registered while the VM is built and never change once its
 * vCPUs run, so dispatch takes no lock. A handler gets the offset of the
 * access from the start of its range; an access that is not wholly inside
 * one range reaches no device.
 */
#ifndef KRUN_VMM_BUS_H
#define KRUN_VMM_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*bus_read_fn)(void *opaque, uint64_t offset, uint8_t *data, unsigned len);
typedef void (*bus_write_fn)(void *opaque, uint64_t offset, const uint8_t *data, unsigned len);

struct bus_range {
    const char *name; /* for messages: "i8042", "virtio-blk vda", ... */
    uint64_t base, len;
    bus_read_fn read;   /* NULL: reads see the bus's open value */
    bus_write_fn write; /* NULL: writes are dropped */
    void *opaque;
};

struct bus {
    const char *name;         /* "port I/O", "MMIO" */
    uint8_t open_value;       /* what a read sees where nothing answers */
    struct bus_range *ranges; /* sorted by base, never overlapping */
    size_t n, cap;
};

/* An empty bus. */
void bus_init(struct bus *b, const char *name, uint8_t open_value);
void bus_free(struct bus *b);

/*
 * Add a range (copied; name and opaque must outlive the bus). Returns 0,
 * -EINVAL for an empty or wrapping range, -EEXIST if it overlaps a range
 * already there (the log names both), or -ENOMEM.
 */
int bus_register(struct bus *b, const struct bus_range *r);

/*
 * One access of len bytes at addr. Returns true if a device owns it;
 * otherwise a read fills data with the open value and false is returned.
 */
bool bus_access(const struct bus *b, uint64_t addr, bool write, uint8_t *data, unsigned len);

#endif
