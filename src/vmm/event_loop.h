/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One epoll event loop per VM, run by the thread that called
 * krun_start_enter. Handlers run on that thread, one at a time.
 */
#ifndef KRUN_VMM_EVENT_LOOP_H
#define KRUN_VMM_EVENT_LOOP_H

#include <stdint.h>

struct event_loop;

typedef void (*ev_handler)(void *opaque, uint32_t events);

struct event_loop *ev_loop_new(void);
void ev_loop_free(struct event_loop *loop);

/* Watch fd for EPOLL* events. Returns 0 or -errno. */
int ev_loop_add(struct event_loop *loop, int fd, uint32_t events, ev_handler fn, void *opaque);
int ev_loop_mod(struct event_loop *loop, int fd, uint32_t events);
/* Stop watching fd; safe from inside a handler, also for another fd. */
int ev_loop_del(struct event_loop *loop, int fd);

/* Dispatch events until ev_loop_stop(). Returns 0 or -errno. */
int ev_loop_run(struct event_loop *loop);
/* Make ev_loop_run return; safe from any thread. */
void ev_loop_stop(struct event_loop *loop);

#endif
