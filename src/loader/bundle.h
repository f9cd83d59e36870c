/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel bundle: libkrunfw.so.5 (upstream libkrunfw's ABI), a guest
 * kernel already laid out as it sits in guest memory, with its load
 * address and entry point.
 */
#ifndef KRUN_LOADER_BUNDLE_H
#define KRUN_LOADER_BUNDLE_H

#include <stdint.h>
#include <sys/types.h>

struct kernel_bundle {
    void *handle; /* dlopen handle; the bundle stays loaded for the process */
    uint8_t *host;
    uint64_t load_addr;
    uint64_t entry;
    uint64_t size;
    /* The library file, so that VMs can map the blob from it (dev/ino at load time). */
    char path[4096];
    dev_t dev;
    ino_t ino;
};

/*
 * Load libkrunfw.so.5 through the usual library search, else from the
 * directory this library was loaded from (the build tree, or a private
 * prefix), and check what it returns. Returns 0, or -ENOENT with the
 * reason logged at debug level (missing) or as an error (unusable).
 */
int kernel_bundle_open(struct kernel_bundle *out);

#endif
