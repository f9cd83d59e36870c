/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-fs: one device per share (krun_set_root, krun_add_virtiofs*). The
 * root share also serves the built-in init and the workload file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "abi/guest_abi.h"
#include "util/log.h"
#include "virtio/device.h"
#include "virtio/fs/virtio_fs.h"
#include "vm/cmdline.h"
#include "vm/devices.h"
#include "vm/init_blob.h"
#include "vm/vm.h"

static void exit_status_cb(void *opaque, int status)
{
    vm_set_exit_status(opaque, status);
}

static void free_runtime_share(void *arg)
{
    struct fs_share *rt = arg;
    free(rt->overlays);
    free(rt);
}

/*
 * What the device serves: a copy of the share with the init and the
 * workload file added to the root. It lives until after the device.
 */
static int runtime_share(struct vm *vm, const struct fs_share *s, struct fs_share **out)
{
    struct fs_share *rt = calloc(1, sizeof(*rt));
    size_t extra = s->inject_init ? 2 : 0;
    struct fs_overlay *ov = calloc(s->n_overlays + extra + 1, sizeof(*ov));
    if (!rt || !ov) {
        free(rt);
        free(ov);
        return -ENOMEM;
    }
    *rt = *s;
    memcpy(ov, s->overlays, s->n_overlays * sizeof(*ov));
    rt->overlays = ov;
    int ret = teardown_push(&vm->m.teardown, free_runtime_share, rt);
    if (ret)
        return ret;
    size_t n = s->n_overlays;
    if (s->inject_init) {
        ov[n++] = (struct fs_overlay){.kind = FS_OVERLAY_FILE,
                                      .path = (char *)&KRUN_GUEST_INIT_PATH[1],
                                      .data = krun_init_blob_start,
                                      .len = krun_init_blob_size(),
                                      .mode = 0100755,
                                      .one_shot = true};
        ret = workload_file_build(vm->cfg, &vm->workload);
        if (ret)
            return ret;
        ov[n++] = (struct fs_overlay){.kind = FS_OVERLAY_FILE,
                                      .path = (char *)&KRUN_GUEST_WORKLOAD_PATH[1],
                                      .data = (const uint8_t *)vm->workload.s,
                                      .len = vm->workload.len,
                                      .mode = 0100400,
                                      .one_shot = true};
        vm->workload_in_file = true;
    }
    rt->n_overlays = n;
    *out = rt;
    return 0;
}

static bool tag_seen_before(const struct vm_config *cfg, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(cfg->shares[j].tag, cfg->shares[i].tag) == 0)
            return true;
    return false;
}

int vm_attach_shares(struct vm *vm)
{
    const struct vm_config *cfg = vm->cfg;
    for (size_t i = 0; i < cfg->n_shares; i++) {
        if (tag_seen_before(cfg, i)) {
            log_warn("virtio-fs %s: added again; the guest sees only the first share of a tag",
                     cfg->shares[i].tag);
            continue;
        }
        struct fs_share *rt;
        int ret = runtime_share(vm, &cfg->shares[i], &rt);
        if (ret)
            return ret;
        struct virtio_device *dev;
        char err[512] = "";
        ret = virtio_fs_create(rt, exit_status_cb, vm, &dev, err, sizeof(err));
        if (ret) {
            log_error("virtio-fs %s: %s", rt->tag, err[0] ? err : strerror(-ret));
            return ret;
        }
        ret = vm_attach_virtio(vm, dev);
        if (ret)
            return ret;
    }
    return 0;
}
