/*
 * The context table: the library's only global state besides the log.
 * krun_create_ctx adds a struct vm_config; setters look it up under the
 * table lock; krun_start_enter takes it out (the context is consumed).
 */
#ifndef KRUN_API_CTX_H
#define KRUN_API_CTX_H

#include <stdint.h>
#include <sys/types.h>

#include "api/config.h"

/*
 * Look up a context and lock the table. Returns NULL (table unlocked) for an
 * unknown id; otherwise the caller must call ctx_unlock() when done.
 */
struct vm_config *ctx_lock(uint32_t id);
void ctx_unlock(void);

/* Remove a context from the table and hand it to the caller, or NULL. */
struct vm_config *ctx_take(uint32_t id);

/* Bind `cfg` to context `id` (table locked) or return -ENOENT. */
#define CTX_OR_RETURN(cfg, id)                                                                     \
    struct vm_config *cfg = ctx_lock(id);                                                          \
    if (!cfg)                                                                                      \
    return -ENOENT

/* The libkrunfw bundle, loaded once per process when the first context is created. */
struct kernel_bundle {
    void *handle;
    uint8_t *host;
    uint64_t load_addr;
    uint64_t entry;
    uint64_t size;
    /* The library file, so that VMs can map the blob from it (dev/ino at load time). */
    char path[4096];
    dev_t dev;
    ino_t ino;
};

/* The bundle, or NULL (with a logged reason) if libkrunfw.so.5 is not usable. */
const struct kernel_bundle *ctx_kernel_bundle(void);

#endif
