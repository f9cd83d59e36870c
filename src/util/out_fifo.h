/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest output to a host fd that may stop being read.
 *
 * A bounded buffer in front of the fd, drained by a writer thread of its
 * own: whoever produces the output (a device thread, a vCPU) never blocks.
 * While the reader makes progress, a full buffer only says "not now" (the
 * producer holds the guest back, nothing is lost). A reader that made no
 * progress for stall_ms is stalled: its output is dropped and counted,
 * with one warning, until it reads again. At the end, the buffer is
 * flushed as long as the reader reads; what a stalled reader did not take
 * is dropped.
 * The writer itself never blocks for good either: it writes to a
 * non-blocking file description of its own where the fd allows that.
 */
#ifndef KRUN_UTIL_OUT_FIFO_H
#define KRUN_UTIL_OUT_FIFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct out_fifo;

/*
 * A fifo of cap bytes in front of fd (not owned). on_space(opaque) is
 * called, from the writer thread, when a full buffer has room again.
 * Returns NULL (errno set) on failure.
 */
struct out_fifo *out_fifo_new(const char *name, int fd, size_t cap, unsigned stall_ms,
                              void (*on_space)(void *opaque), void *opaque);

/*
 * Take up to len bytes; never blocks. Returns how many were taken: copied,
 * or dropped because the reader is stalled or the fd failed. Less than
 * len means the buffer is full: call again after on_space.
 */
size_t out_fifo_write(struct out_fifo *f, const void *data, size_t len);

/* Whether a write would take something now (room, or a reader that is stalled or gone). */
bool out_fifo_can_take(struct out_fifo *f);

/* Bytes dropped so far (a statistic). */
uint64_t out_fifo_dropped(struct out_fifo *f);

/*
 * Flush while the reader reads, giving up after idle_ms without progress;
 * then stop the writer, say what was lost, and free the fifo.
 */
void out_fifo_close(struct out_fifo *f, unsigned idle_ms);

#endif
