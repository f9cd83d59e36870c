/* SPDX-License-Identifier: Apache-2.0 */
#include "util/log_limit.h"

#include <string.h>

void log_limit_init(struct log_limit *l)
{
    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
}

void log_limit_destroy(struct log_limit *l)
{
    pthread_mutex_destroy(&l->lock);
}

bool log_limit_pass(struct log_limit *l, const char *kind, uint64_t *unlogged)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&l->lock);
    unsigned i = 0;
    while (i < l->n && l->e[i].kind != kind)
        i++;
    bool pass;
    if (i == l->n && l->n < LOG_LIMIT_KINDS) {
        l->e[l->n++].kind = kind;
        pass = true;
    } else {
        if (i == l->n)
            i = LOG_LIMIT_KINDS - 1;
        int64_t ms = (int64_t)(now.tv_sec - l->e[i].logged_at.tv_sec) * 1000 +
                     (now.tv_nsec - l->e[i].logged_at.tv_nsec) / 1000000;
        pass = ms >= LOG_LIMIT_INTERVAL_MS;
    }
    *unlogged = l->e[i].unlogged;
    if (pass) {
        l->e[i].unlogged = 0;
        l->e[i].logged_at = now;
    } else {
        l->e[i].unlogged++;
    }
    pthread_mutex_unlock(&l->lock);
    return pass;
}
