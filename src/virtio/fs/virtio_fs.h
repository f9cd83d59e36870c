/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-fs device (VIRTIO_ID_FS): a FUSE server for one share.
 *
 * Queue 0 is the high-priority queue (FORGET), queues 1..N carry requests.
 * A thread per queue waits on the queue's kick fd and pops chains; request
 * chains go to a small pool of workers, so several requests are in flight
 * (a slow host call or a lock wait does not stall the others).
 */
#ifndef KRUN_VIRTIO_FS_VIRTIO_FS_H
#define KRUN_VIRTIO_FS_VIRTIO_FS_H

#include <stddef.h>

struct fs_share;
struct virtio_device;

/*
 * Create the device for a share: open and check the host directory (none
 * for path NULL), add the overlay entries. exit_status_cb(cb_opaque, status)
 * is called when the guest reports its workload's exit status (the
 * 0x7602 ioctl); it may run on any of the device's threads.
 *
 * The share's inject_init flag is not interpreted here: the VMM adds the
 * /init.krun entry to the overlays it passes. DAX (shm_size) is not offered.
 *
 * Returns 0 with *out set, or -errno with a message in err. *out is a
 * separate allocation: its destroy() frees the device's own state, then the
 * VM closes the irq/kick fds and frees *out (see virtio/device.h).
 */
int virtio_fs_create(const struct fs_share *share, void (*exit_status_cb)(void *, int),
                     void *cb_opaque, struct virtio_device **out, char *err, size_t errlen);

#endif
