/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The context table: the library's only global state besides the log.
 * krun_create_ctx adds a struct vm_config; setters look it up under the
 * table lock; krun_start_enter takes it out (the context is consumed).
 */
#ifndef KRUN_API_CTX_H
#define KRUN_API_CTX_H

#include <stdint.h>
#include <sys/types.h>

#include "vm/config.h"

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

struct kernel_bundle;

/* The bundle, or NULL (with a logged reason) if libkrunfw.so.5 is not usable. */
const struct kernel_bundle *ctx_kernel_bundle(void);

#endif
