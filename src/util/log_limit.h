/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Failures that repeat are logged once per kind, then at most once a
 * minute with how many were not logged: a guest that breaks a device in a
 * loop (reset, break, reset, ...) cannot flood the host's log.
 */
#ifndef KRUN_UTIL_LOG_LIMIT_H
#define KRUN_UTIL_LOG_LIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define LOG_LIMIT_KINDS       8
#define LOG_LIMIT_INTERVAL_MS 60000

struct log_limit {
    pthread_mutex_t lock;
    struct {
        const char *kind; /* identity: the caller's format string */
        uint64_t unlogged;
        struct timespec logged_at;
    } e[LOG_LIMIT_KINDS];
    unsigned n;
};

void log_limit_init(struct log_limit *l);
void log_limit_destroy(struct log_limit *l);

/*
 * An occurrence of kind. Returns true if it is to be logged now, with
 * *unlogged set to how many of this kind were not logged since the last
 * time (0 for the first). Kinds past LOG_LIMIT_KINDS share the last slot.
 */
bool log_limit_pass(struct log_limit *l, const char *kind, uint64_t *unlogged);

#endif
