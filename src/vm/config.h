/* SPDX-License-Identifier: Apache-2.0 */
/*
 * struct vm_config: everything the krun_* setters record about one VM.
 * Setters validate and copy their arguments in here; nothing is opened
 * until the builder (src/vm/build.c) turns the config into a VM.
 */
#ifndef KRUN_VM_CONFIG_H
#define KRUN_VM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/strvec.h"
#include "virtio/blk/config.h"
#include "virtio/fs/config.h"
#include "virtio/vsock/config.h"

#define KRUN_MAX_ARGS 4096

struct console_port_config {
    char *name;
    int in_fd;   /* -1: none */
    int out_fd;  /* -1: none */
    bool is_tty; /* a console port on a TTY (resizable) */
};

struct console_config {
    bool autoconfig; /* krun_add_virtio_console_default */
    int in_fd, out_fd, err_fd;
    struct console_port_config *ports;
    size_t n_ports;
};

struct serial_config {
    int in_fd, out_fd;
};

enum net_config_backend { NET_UNIXSTREAM, NET_UNIXGRAM, NET_TAP };

struct net_config {
    enum net_config_backend backend;
    char *path; /* socket path or tap name */
    int fd;     /* -1 when path is used */
    uint8_t mac[6];
    uint32_t features;
    uint32_t flags;
};

struct vm_config {
    /* machine */
    uint8_t vcpus;
    uint32_t ram_mib;
    bool split_irqchip;
    bool nested_virt;

    /* kernel: bundle unless kernel_path is set */
    char *kernel_path;
    uint32_t kernel_format;
    char *initramfs_path;
    char *kernel_cmdline; /* NULL: the default command line */
    char *kernel_console; /* value of console=, NULL: hvc0 */
    char *firmware_path;

    /* workload */
    char *exec_path;
    struct strvec argv; /* arguments only, no argv[0] */
    bool argv_set;
    struct strvec env;
    bool env_set; /* false: copy of the host environment at start */
    char *workdir;
    struct strvec rlimits;
    struct strvec oem_strings;
    bool set_uid, set_gid;
    uid_t uid;
    gid_t gid;

    /* filesystems and disks */
    bool implicit_init; /* default true */
    struct fs_share *shares;
    size_t n_shares;
    struct disk_config *disks;
    size_t n_disks;
    bool legacy_disk_api;   /* krun_set_root_disk / krun_set_data_disk */
    char *root_disk_device; /* krun_set_root_disk_remount */
    char *root_disk_fstype;
    char *root_disk_options;

    /* consoles */
    bool implicit_console; /* default true */
    char *console_output;  /* krun_set_console_output */
    struct console_config *consoles;
    size_t n_consoles;
    struct serial_config *serials;
    size_t n_serials;

    /* network and vsock */
    struct net_config *nets;
    size_t n_nets;
    bool legacy_net_api;          /* krun_set_passt_fd / krun_set_gvproxy_path */
    struct net_config legacy_net; /* its backend; it joins after nets[], with legacy_mac */
    uint8_t legacy_mac[6];
    struct vsock_config vsock;

    /* krun_set_gpu_options*: recorded as upstream does without a GPU device (none is attached) */
    uint32_t gpu_virgl_flags;
    uint64_t gpu_shm_size;

    /* shutdown: eventfd handed out by krun_get_shutdown_eventfd, or -1 */
    int shutdown_efd;
};

/* Whether the VM has a network interface (which turns off the implicit TSI). */
static inline bool vm_config_has_net(const struct vm_config *cfg)
{
    return cfg->n_nets > 0 || cfg->legacy_net_api;
}

void vm_config_init(struct vm_config *cfg);
void vm_config_free(struct vm_config *cfg);

/* Add a share. A tag added twice is kept, as upstream keeps it; the guest
 * kernel takes only the first device of a tag, so vm_attach_shares attaches
 * only that one. vm_config_find_share finds the first. The built-in init is
 * injected into the root share if implicit_init is still set. */
int vm_config_add_share(struct vm_config *cfg, const char *tag, const char *path, uint64_t shm_size,
                        bool read_only);

/* Add an overlay entry (its path is copied without a leading '/'; file data
 * is not copied). Returns 0, -EINVAL (empty leaf, "." or ".."), -ENOENT /
 * -ENOTDIR (parent), -ENOMEM. A path already there keeps its first entry
 * and returns 0, as upstream (whose lookups find the first). */
int vm_config_add_overlay(struct fs_share *s, const struct fs_overlay *ov);

/* The share with this tag, or NULL. */
struct fs_share *vm_config_find_share(struct vm_config *cfg, const char *tag);

#endif
