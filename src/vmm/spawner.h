/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The machine's thread spawner: device threads are created by the event
 * loop thread on request (util/thread.h says why), while the requester (a
 * vCPU activating a device) waits for the answer.
 */
#ifndef KRUN_VMM_SPAWNER_H
#define KRUN_VMM_SPAWNER_H

#include "util/thread.h"

struct event_loop;
struct spawner;

/* A spawner served by loop (registered on it). NULL if out of memory or fds. */
struct spawner *spawner_new(struct event_loop *loop);

/* The interface devices call (valid until spawner_free). */
const struct thread_spawner *spawner_iface(struct spawner *s);

/* The loop no longer runs: fail what waits, and everything asked from now on (-ECANCELED). */
void spawner_close(struct spawner *s);

void spawner_free(struct spawner *s, struct event_loop *loop);

#endif
