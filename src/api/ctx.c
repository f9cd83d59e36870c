/* SPDX-License-Identifier: Apache-2.0 */
#include "api/ctx.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "libkrun.h"
#include "loader/bundle.h"
#include "util/log.h"

struct ctx_entry {
    uint32_t id;
    struct vm_config *cfg;
};

/* The library's global state: contexts and the kernel bundle. */
static struct {
    pthread_mutex_t lock;
    struct ctx_entry *entries;
    size_t n, cap;
    uint32_t next_id;
    bool bundle_ok;
    struct kernel_bundle bundle;
} table = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Until it works: not fatal here, krun_set_kernel may provide the kernel instead. */
static void load_bundle_locked(void)
{
    if (!table.bundle_ok && kernel_bundle_open(&table.bundle) == 0)
        table.bundle_ok = true;
}

/*
 * The bundle is opened when the library is loaded, not only with the first
 * context: crun before 1.21 creates its context inside the container, after
 * pivot_root, where libkrunfw.so.5 cannot be found. It costs a mapping.
 */
__attribute__((constructor)) static void open_bundle_at_load(void)
{
    pthread_mutex_lock(&table.lock);
    load_bundle_locked();
    pthread_mutex_unlock(&table.lock);
}

const struct kernel_bundle *ctx_kernel_bundle(void)
{
    pthread_mutex_lock(&table.lock);
    load_bundle_locked();
    const struct kernel_bundle *b = table.bundle_ok ? &table.bundle : NULL;
    pthread_mutex_unlock(&table.lock);
    return b;
}

static struct ctx_entry *find_locked(uint32_t id)
{
    for (size_t i = 0; i < table.n; i++)
        if (table.entries[i].id == id)
            return &table.entries[i];
    return NULL;
}

struct vm_config *ctx_lock(uint32_t id)
{
    pthread_mutex_lock(&table.lock);
    struct ctx_entry *e = find_locked(id);
    if (!e) {
        pthread_mutex_unlock(&table.lock);
        return NULL;
    }
    return e->cfg;
}

void ctx_unlock(void)
{
    pthread_mutex_unlock(&table.lock);
}

struct vm_config *ctx_take(uint32_t id)
{
    pthread_mutex_lock(&table.lock);
    struct ctx_entry *e = find_locked(id);
    struct vm_config *cfg = NULL;
    if (e) {
        cfg = e->cfg;
        *e = table.entries[--table.n];
    }
    pthread_mutex_unlock(&table.lock);
    return cfg;
}

int32_t krun_create_ctx(void)
{
    struct vm_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return -ENOMEM;
    vm_config_init(cfg);

    pthread_mutex_lock(&table.lock);
    /* If it could not be opened when the library was loaded (upstream opens it here). */
    load_bundle_locked();
    int32_t ret;
    if (table.next_id > INT32_MAX) {
        ret = -ENOSPC;
    } else if (table.n == table.cap) {
        size_t cap = table.cap ? table.cap * 2 : 4;
        struct ctx_entry *e = realloc(table.entries, cap * sizeof(*e));
        ret = e ? 0 : -ENOMEM;
        if (e) {
            table.entries = e;
            table.cap = cap;
        }
    } else {
        ret = 0;
    }
    if (ret == 0) {
        ret = (int32_t)table.next_id++;
        table.entries[table.n++] = (struct ctx_entry){.id = (uint32_t)ret, .cfg = cfg};
    }
    pthread_mutex_unlock(&table.lock);
    if (ret < 0) {
        vm_config_free(cfg);
        free(cfg);
    }
    return ret;
}

int32_t krun_free_ctx(uint32_t ctx_id)
{
    struct vm_config *cfg = ctx_take(ctx_id);
    if (!cfg)
        return -ENOENT;
    vm_config_free(cfg);
    free(cfg);
    return 0;
}
