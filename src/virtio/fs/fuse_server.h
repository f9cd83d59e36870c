/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The FUSE server: decodes one request, checks it, calls the filesystem
 * (struct fs_ops) and encodes the reply.
 *
 * A request arrives as the readable part of a virtqueue chain: fuse_in_header,
 * the operation's struct, then names or data, split over segments at any
 * byte boundary. The reply goes into the writable segments: fuse_out_header
 * and the payload. The server copies what it parses out of the request once
 * (names cannot change under it), checks every length against what is
 * actually there, and never writes past the writable space.
 *
 * Thread-safe: several workers may call fuse_server_handle at once.
 */
#ifndef KRUN_VIRTIO_FS_FUSE_SERVER_H
#define KRUN_VIRTIO_FS_FUSE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/fs/fs_ops.h"

/* Protocol versions: we speak 7.38 and accept drivers from 7.27 on. */
#define FUSE_SERVER_MINOR     38
#define FUSE_SERVER_MIN_MINOR 27
/* Largest READ/WRITE payload (max_write) and the matching max_pages. */
#define FUSE_SERVER_MAX_IO    (1u << 20)
#define FUSE_SERVER_MAX_PAGES 256

struct fuse_server;

/*
 * A server for the filesystem fs (owned from now on: destroyed with the
 * server, also on failure). At most max_lock_waiters requests wait in
 * SETLKW at once; the others fail with EDEADLK, so that lock waiters can
 * never occupy every worker. Returns NULL when out of memory.
 */
struct fuse_server *fuse_server_new(const struct fs_ops *ops, void *fs, unsigned max_lock_waiters);
void fuse_server_free(struct fuse_server *s);

/*
 * Handle one request. Returns the number of bytes written into out (0 for
 * requests without a reply: FORGET, BATCH_FORGET, INTERRUPT, or when the
 * writable space cannot even hold a fuse_out_header).
 */
size_t fuse_server_handle(struct fuse_server *s, const struct iovec *in, unsigned n_in,
                          const struct iovec *out, unsigned n_out);

/*
 * While stopping is true, requests waiting in SETLKW give up (EINTR) and
 * new ones do not wait. Set before joining the workers, cleared after.
 */
void fuse_server_stop(struct fuse_server *s, bool stopping);

/*
 * Back to the state before FUSE_INIT: the filesystem forgets all nodes and
 * handles except the root. Also what FUSE_DESTROY does, while other requests
 * may be in progress. A stop stays in force (only fuse_server_stop ends it).
 */
void fuse_server_reset(struct fuse_server *s);

#endif
