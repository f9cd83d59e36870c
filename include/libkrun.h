/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libkrun.h - public API of libkrun-c, a C implementation of libkrun.
 *
 * Source- and binary-compatible with upstream libkrun 1.18: the same 67
 * functions, prototypes, constants and return codes. Every function returns
 * zero (or a non-negative value where documented) on success and a negative
 * errno value on failure. Setters only record configuration into a context;
 * files, sockets and devices are opened by krun_start_enter().
 *
 * Functions marked "libkrun-c extension" do not exist upstream.
 * docs/api-status.md lists which functions are implemented; the others
 * return -ENOSYS.
 */
#ifndef _LIBKRUN_H
#define _LIBKRUN_H

#ifdef __cplusplus
extern "C" {
#endif

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h> /* uid_t, gid_t, also under a strict -std=c11 */
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Logging                                                             */
/* ------------------------------------------------------------------ */

#define KRUN_LOG_TARGET_DEFAULT -1

#define KRUN_LOG_LEVEL_OFF   0
#define KRUN_LOG_LEVEL_ERROR 1
#define KRUN_LOG_LEVEL_WARN  2
#define KRUN_LOG_LEVEL_INFO  3
#define KRUN_LOG_LEVEL_DEBUG 4
#define KRUN_LOG_LEVEL_TRACE 5

#define KRUN_LOG_STYLE_AUTO   0
#define KRUN_LOG_STYLE_ALWAYS 1
#define KRUN_LOG_STYLE_NEVER  2

#define KRUN_LOG_OPTION_NO_ENV 1

/* Set the library's log level (KRUN_LOG_LEVEL_*); messages go to stderr. */
int32_t krun_set_log_level(uint32_t level);

/*
 * Configure logging: target_fd is KRUN_LOG_TARGET_DEFAULT (stderr) or an open
 * fd, level is KRUN_LOG_LEVEL_*, style is KRUN_LOG_STYLE_* (colors), options
 * is a mask of KRUN_LOG_OPTION_*. Without KRUN_LOG_OPTION_NO_ENV the
 * environment variable KRUN_LOG_LEVEL (0..5) overrides the level.
 */
int32_t krun_init_log(int target_fd, uint32_t level, uint32_t style, uint32_t options);

/* ------------------------------------------------------------------ */
/* Contexts and the VM                                                 */
/* ------------------------------------------------------------------ */

/* Create a configuration context; returns its id (>= 0). */
int32_t krun_create_ctx(void);

/* Free a context that was not started. */
int32_t krun_free_ctx(uint32_t ctx_id);

/* Number of vCPUs and MiB of RAM. Zero in either is -EINVAL. */
int32_t krun_set_vm_config(uint32_t ctx_id, uint8_t num_vcpus, uint32_t ram_mib);

/* ------------------------------------------------------------------ */
/* Root filesystem and virtio-fs                                       */
/* ------------------------------------------------------------------ */

/* Tag of the virtio-fs device that the guest mounts as its root. */
#define KRUN_FS_ROOT_TAG "/dev/root"

/* Use a host directory as the guest's root filesystem. */
int32_t krun_set_root(uint32_t ctx_id, const char *root_path);

/* DEPRECATED: raw disk image with block id "root" (use krun_add_disk). */
int32_t krun_set_root_disk(uint32_t ctx_id, const char *disk_path);

/* DEPRECATED: raw disk image with block id "data" (use krun_add_disk). */
int32_t krun_set_data_disk(uint32_t ctx_id, const char *disk_path);

/*
 * Add a raw disk image. The guest sees disks as vda, vdb, ... in the order
 * they are added; block_id names the disk on the VMM side only.
 */
int32_t krun_add_disk(uint32_t ctx_id, const char *block_id, const char *disk_path, bool read_only);

/* Disk image formats. */
#define KRUN_DISK_FORMAT_RAW   0
#define KRUN_DISK_FORMAT_QCOW2 1
/* VMDK: FLAT/ZERO extents only, no delta links. */
#define KRUN_DISK_FORMAT_VMDK 2

/*
 * Add a disk image in an explicit format. Formats are never probed: an image
 * the guest could write must always be opened in the format chosen when it
 * was trusted, or a guest could turn a raw image into one that references
 * arbitrary host files.
 */
int32_t krun_add_disk2(uint32_t ctx_id, const char *block_id, const char *disk_path,
                       uint32_t disk_format, bool read_only);

/* Sync modes for krun_add_disk3. */
/* Do not offer VIRTIO_BLK_F_FLUSH: a host crash may lose data. */
#define KRUN_SYNC_NONE 0
/* Honor flushes; on Linux the same as KRUN_SYNC_FULL. */
#define KRUN_SYNC_RELAXED 1
/* Honor flushes by making the data durable on the host. */
#define KRUN_SYNC_FULL 2

/* Add a disk image with direct I/O (bypass host caches) and a sync mode. */
int32_t krun_add_disk3(uint32_t ctx_id, const char *block_id, const char *disk_path,
                       uint32_t disk_format, bool read_only, bool direct_io, uint32_t sync_mode);

/* NO LONGER SUPPORTED: always returns -EINVAL. */
int32_t krun_set_mapped_volumes(uint32_t ctx_id, const char *const mapped_volumes[]);

/* Add a virtio-fs device sharing host directory c_path under tag c_tag. */
int32_t krun_add_virtiofs(uint32_t ctx_id, const char *c_tag, const char *c_path);

/* As krun_add_virtiofs, with a DAX window of shm_size bytes (0: none). */
int32_t krun_add_virtiofs2(uint32_t ctx_id, const char *c_tag, const char *c_path,
                           uint64_t shm_size);

/*
 * As krun_add_virtiofs2, optionally read-only. c_path may be NULL for a
 * purely virtual filesystem holding only overlay entries.
 */
int32_t krun_add_virtiofs3(uint32_t ctx_id, const char *c_tag, const char *c_path,
                           uint64_t shm_size, bool read_only);

/* ------------------------------------------------------------------ */
/* Networking                                                          */
/* ------------------------------------------------------------------ */

/* Send the "VFKT" magic after connecting (gvproxy in vfkit mode). */
#define NET_FLAG_VFKIT (1 << 0)
/* The guest init configures the interface with DHCP. */
#define NET_FLAG_DHCP_CLIENT (1 << 1)

/* TSI (transparent socket impersonation) feature flags for vsock. */
#define KRUN_TSI_HIJACK_INET (1 << 0)
#define KRUN_TSI_HIJACK_UNIX (1 << 1)

/* virtio-net feature bits (values from the virtio specification). */
#define NET_FEATURE_CSUM       1 << 0
#define NET_FEATURE_GUEST_CSUM 1 << 1
#define NET_FEATURE_GUEST_TSO4 1 << 7
#define NET_FEATURE_GUEST_TSO6 1 << 8
#define NET_FEATURE_GUEST_UFO  1 << 10
#define NET_FEATURE_HOST_TSO4  1 << 11
#define NET_FEATURE_HOST_TSO6  1 << 12
#define NET_FEATURE_HOST_UFO   1 << 14

/* Features used by krun_set_passt_fd and krun_set_gvproxy_path. */
#define COMPAT_NET_FEATURES                                                                        \
    NET_FEATURE_CSUM | NET_FEATURE_GUEST_CSUM | NET_FEATURE_GUEST_TSO4 | NET_FEATURE_GUEST_UFO |   \
        NET_FEATURE_HOST_TSO4 | NET_FEATURE_HOST_UFO

/*
 * Add a virtio-net device backed by a stream socket (passt, socket_vmnet):
 * frames carry a 4-byte big-endian length. Exactly one of c_path and fd
 * (-1 when unused) is given. Interfaces are eth0, eth1, ... in add order;
 * adding any interface disables the implicit TSI backend.
 */
int32_t krun_add_net_unixstream(uint32_t ctx_id, const char *c_path, int fd, uint8_t *const c_mac,
                                uint32_t features, uint32_t flags);

/* As krun_add_net_unixstream, for datagram sockets (gvproxy, vmnet-helper). */
int32_t krun_add_net_unixgram(uint32_t ctx_id, const char *c_path, int fd, uint8_t *const c_mac,
                              uint32_t features, uint32_t flags);

/* Add a virtio-net device backed by the host tap device c_tap_name. */
int32_t krun_add_net_tap(uint32_t ctx_id, char *c_tap_name, uint8_t *const c_mac, uint32_t features,
                         uint32_t flags);

/* DEPRECATED: one unixstream interface on an open passt fd. */
int32_t krun_set_passt_fd(uint32_t ctx_id, int fd);

/* DEPRECATED: one unixgram interface to gvproxy in vfkit mode. */
int32_t krun_set_gvproxy_path(uint32_t ctx_id, char *c_path);

/* MAC address of the legacy interface (krun_set_passt_fd / gvproxy). */
int32_t krun_set_net_mac(uint32_t ctx_id, uint8_t *const c_mac);

/* TSI port map: entries "host_port:guest_port". */
int32_t krun_set_port_map(uint32_t ctx_id, const char *const port_map[]);

/* ------------------------------------------------------------------ */
/* GPU, displays, input, vhost-user                                    */
/* ------------------------------------------------------------------ */

/* virglrenderer flags. */
#define VIRGLRENDERER_USE_EGL            1 << 0
#define VIRGLRENDERER_THREAD_SYNC        1 << 1
#define VIRGLRENDERER_USE_GLX            1 << 2
#define VIRGLRENDERER_USE_SURFACELESS    1 << 3
#define VIRGLRENDERER_USE_GLES           1 << 4
#define VIRGLRENDERER_USE_EXTERNAL_BLOB  1 << 5
#define VIRGLRENDERER_VENUS              1 << 6
#define VIRGLRENDERER_NO_VIRGL           1 << 7
#define VIRGLRENDERER_USE_ASYNC_FENCE_CB 1 << 8
#define VIRGLRENDERER_RENDER_SERVER      1 << 9
#define VIRGLRENDERER_DRM                1 << 10

/* Enable a virtio-gpu device with the given virglrenderer flags. */
int32_t krun_set_gpu_options(uint32_t ctx_id, uint32_t virgl_flags);

/* As krun_set_gpu_options, with the size of the host-visible window. */
int32_t krun_set_gpu_options2(uint32_t ctx_id, uint32_t virgl_flags, uint64_t shm_size);

#define KRUN_MAX_DISPLAYS 16

/* Add a display; returns its id (0 .. KRUN_MAX_DISPLAYS - 1). */
int32_t krun_add_display(uint32_t ctx_id, uint32_t width, uint32_t height);

/* Use a caller-supplied EDID blob for a display. */
int32_t krun_display_set_edid(uint32_t ctx_id, uint32_t display_id, const uint8_t *edid_blob,
                              size_t blob_size);

/* DPI reported for a display. */
int32_t krun_display_set_dpi(uint32_t ctx_id, uint32_t display_id, uint32_t dpi);

/* Physical size reported for a display, in millimeters. */
int32_t krun_display_set_physical_size(uint32_t ctx_id, uint32_t display_id, uint16_t width_mm,
                                       uint16_t height_mm);

/* Refresh rate reported for a display, in Hz. */
int32_t krun_display_set_refresh_rate(uint32_t ctx_id, uint32_t display_id, uint32_t refresh_rate);

/* Display backend callbacks (struct krun_display_backend, libkrun_display.h). */
int32_t krun_set_display_backend(uint32_t ctx_id, const void *display_backend, size_t backend_size);

/* virtio-input device driven by caller-supplied config and event vtables. */
int krun_add_input_device(uint32_t ctx_id, const void *config_backend, size_t config_backend_size,
                          const void *events_backend, size_t events_backend_size);

/* virtio-input device passing through a host /dev/input/event* fd. */
int krun_add_input_device_fd(uint32_t ctx_id, int input_fd);

/* vhost-user device types (virtio device ids). */
#define KRUN_VIRTIO_DEVICE_CONSOLE 3
#define KRUN_VIRTIO_DEVICE_RNG     4
#define KRUN_VIRTIO_DEVICE_GPU     16
#define KRUN_VIRTIO_DEVICE_RTC     17
#define KRUN_VIRTIO_DEVICE_INPUT   18
#define KRUN_VIRTIO_DEVICE_VSOCK   19
#define KRUN_VIRTIO_DEVICE_SND     25
#define KRUN_VIRTIO_DEVICE_CAN     36

/* Default queue layouts of vhost-user devices. */
#define KRUN_VHOST_USER_CONSOLE_NUM_QUEUES  4
#define KRUN_VHOST_USER_CONSOLE_QUEUE_SIZES ((uint16_t[]){128, 128, 64, 64})
#define KRUN_VHOST_USER_RNG_NUM_QUEUES      1
#define KRUN_VHOST_USER_RNG_QUEUE_SIZES     ((uint16_t[]){256})
#define KRUN_VHOST_USER_RTC_NUM_QUEUES      2
#define KRUN_VHOST_USER_RTC_QUEUE_SIZES     ((uint16_t[]){1024, 1024})
#define KRUN_VHOST_USER_INPUT_NUM_QUEUES    2
#define KRUN_VHOST_USER_INPUT_QUEUE_SIZES   ((uint16_t[]){1024, 1024})
#define KRUN_VHOST_USER_SND_NUM_QUEUES      4
#define KRUN_VHOST_USER_SND_QUEUE_SIZES     ((uint16_t[]){64, 64, 64, 64})
#define KRUN_VHOST_USER_VSOCK_NUM_QUEUES    3
#define KRUN_VHOST_USER_VSOCK_QUEUE_SIZES   ((uint16_t[]){128, 128, 128})
#define KRUN_VHOST_USER_CAN_NUM_QUEUES      3
#define KRUN_VHOST_USER_CAN_QUEUE_SIZES     ((uint16_t[]){64, 64, 64})
#define KRUN_VHOST_USER_GPU_NUM_QUEUES      2
#define KRUN_VHOST_USER_GPU_QUEUE_SIZES     ((uint16_t[]){1024, 1024})

/*
 * Attach a vhost-user backend listening on socket_path. num_queues 0 asks
 * the backend; queue_sizes NULL means 256 for every queue (0-terminated
 * when num_queues is 0).
 */
int32_t krun_add_vhost_user_device(uint32_t ctx_id, uint32_t device_type, const char *socket_path,
                                   const char *name, uint16_t num_queues,
                                   const uint16_t *queue_sizes);

/* ------------------------------------------------------------------ */
/* The workload                                                        */
/* ------------------------------------------------------------------ */

/* Guest rlimits: entries "RESOURCE=CUR:MAX" with numeric resource ids. */
int32_t krun_set_rlimits(uint32_t ctx_id, const char *const rlimits[]);

/* SMBIOS type 11 OEM strings (accepted; x86_64 guests get no SMBIOS). */
int32_t krun_set_smbios_oem_strings(uint32_t ctx_id, const char *const oem_strings[]);

/* Working directory of the workload, as a path inside the guest. */
int32_t krun_set_workdir(uint32_t ctx_id, const char *workdir_path);

/*
 * The workload: exec_path inside the guest, argv WITHOUT argv[0]
 * (NULL-terminated), envp (NULL: a copy of the host's environment).
 */
int32_t krun_set_exec(uint32_t ctx_id, const char *exec_path, const char *const argv[],
                      const char *const envp[]);

/* Boot a firmware image (ending at 4 GiB) instead of a kernel. */
int32_t krun_set_firmware(uint32_t ctx_id, const char *firmware_path);

/* Kernel formats for krun_set_kernel. */
#define KRUN_KERNEL_FORMAT_RAW        0
#define KRUN_KERNEL_FORMAT_ELF        1
#define KRUN_KERNEL_FORMAT_PE_GZ      2
#define KRUN_KERNEL_FORMAT_IMAGE_BZ2  3
#define KRUN_KERNEL_FORMAT_IMAGE_GZ   4
#define KRUN_KERNEL_FORMAT_IMAGE_ZSTD 5
/*
 * libkrun-c extension: a standard x86 bzImage (Linux boot protocol setup
 * header). KRUN_KERNEL_FORMAT_ELF also accepts a bzImage.
 */
#define KRUN_KERNEL_FORMAT_BZIMAGE 1000

/*
 * Boot kernel_path instead of the bundled kernel, with an optional
 * initramfs and command line (NULL: the default command line).
 */
int32_t krun_set_kernel(uint32_t ctx_id, const char *kernel_path, uint32_t kernel_format,
                        const char *initramfs, const char *cmdline);

/* Replace the workload's environment (NULL: a copy of the host's). */
int32_t krun_set_env(uint32_t ctx_id, const char *const envp[]);

/* TEE configuration file (SEV/TDX builds only). */
int32_t krun_set_tee_config_file(uint32_t ctx_id, const char *filepath);

/* ------------------------------------------------------------------ */
/* vsock                                                               */
/* ------------------------------------------------------------------ */

/* Guest connections to vsock port `port` reach the host unix socket. */
int32_t krun_add_vsock_port(uint32_t ctx_id, uint32_t port, const char *c_filepath);

/* As krun_add_vsock_port; listen=true makes the VMM listen on c_filepath. */
int32_t krun_add_vsock_port2(uint32_t ctx_id, uint32_t port, const char *c_filepath, bool listen);

/* Explicit vsock device with KRUN_TSI_HIJACK_* flags (needs krun_disable_implicit_vsock). */
int32_t krun_add_vsock(uint32_t ctx_id, uint32_t tsi_features);

/* ------------------------------------------------------------------ */
/* Shutdown, identity, CPU features                                    */
/* ------------------------------------------------------------------ */

/*
 * An eventfd; writing to it asks the guest to shut down in an orderly way.
 * Call before starting the VM. (Upstream returns -EINVAL on Linux/x86;
 * libkrun-c implements it.)
 */
int32_t krun_get_shutdown_eventfd(uint32_t ctx_id);

/* Write the implicit console's output to a file and give it no input. */
int32_t krun_set_console_output(uint32_t ctx_id, const char *c_filepath);

/* uid to switch the VMM process to just before the VM starts. */
int32_t krun_setuid(uint32_t ctx_id, uid_t uid);

/* gid to switch the VMM process to just before the VM starts. */
int32_t krun_setgid(uint32_t ctx_id, gid_t gid);

/* Expose hardware virtualization (VMX/SVM) to the guest when the host has it. */
int32_t krun_set_nested_virt(uint32_t ctx_id, bool enabled);

/* 1 if the host's KVM allows nested virtualization, 0 if not, <0 on error. */
int32_t krun_check_nested_virt(void);

/* Feature ids for krun_has_feature. */
#define KRUN_FEATURE_NET                 0
#define KRUN_FEATURE_BLK                 1
#define KRUN_FEATURE_GPU                 2
#define KRUN_FEATURE_INPUT               4
#define KRUN_FEATURE_TEE                 6
#define KRUN_FEATURE_AMD_SEV             7
#define KRUN_FEATURE_INTEL_TDX           8
#define KRUN_FEATURE_AWS_NITRO           9
#define KRUN_FEATURE_VIRGL_RESOURCE_MAP2 10
#define KRUN_FEATURE_INIT_BLOB           11

/* 1 if the feature is built in, 0 if not, -EINVAL for an unknown id. */
int32_t krun_has_feature(uint64_t feature);

/* Maximum number of vCPUs the hypervisor supports. */
int32_t krun_get_max_vcpus(void);

/* Use a split irqchip (userspace IOAPIC) instead of the in-kernel one. */
int32_t krun_split_irqchip(uint32_t ctx_id, bool enable);

/* ------------------------------------------------------------------ */
/* Implicit devices, init, consoles                                    */
/* ------------------------------------------------------------------ */

/* Do not create the implicit console (hvc0 on stdin/stdout/stderr). */
int32_t krun_disable_implicit_console(uint32_t ctx_id);

/* Do not serve the built-in init as /init.krun; call before krun_set_root. */
int32_t krun_disable_implicit_init(uint32_t ctx_id);

/* The built-in init binary (static data, valid for the process lifetime). */
int32_t krun_get_default_init(const uint8_t **data_out, size_t *len_out);

/*
 * A read-only file held in caller memory (not copied: keep it valid while
 * the VM runs) inside virtio-fs device fs_tag. path may name a file inside
 * virtual directories added with krun_fs_add_overlay_dir. A one-shot file
 * can be looked up once.
 */
int32_t krun_fs_add_overlay_file(uint32_t ctx_id, const char *fs_tag, const char *path,
                                 const uint8_t *data, size_t data_len, uint32_t mode,
                                 bool one_shot);

/* An empty read-only virtual directory (a mount point) in device fs_tag. */
int32_t krun_fs_add_overlay_dir(uint32_t ctx_id, const char *fs_tag, const char *path,
                                uint32_t mode);

/* No vsock device at all. */
int32_t krun_disable_implicit_vsock(uint32_t ctx_id);

/* Value of console= on the kernel command line. */
int32_t krun_set_kernel_console(uint32_t ctx_id, const char *console_id);

/*
 * Add a virtio-console device on the given fds: one console port when all
 * are TTYs, plus named ports krun-stdin/krun-stdout/krun-stderr for fds
 * that are not.
 */
int32_t krun_add_virtio_console_default(uint32_t ctx_id,
#ifdef _WIN32
                                        void *input_handle, void *output_handle, void *err_handle
#else
                                        int input_fd, int output_fd, int err_fd
#endif
);

/* Add a 16550 UART (COM1, COM2, ... in add order). */
int32_t krun_add_serial_console_default(uint32_t ctx_id,
#ifdef _WIN32
                                        void *input_handle, void *output_handle
#else
                                        int input_fd, int output_fd
#endif
);

/* Add an empty multiport virtio-console device; returns its console id. */
int32_t krun_add_virtio_console_multiport(uint32_t ctx_id);

/* Add a console port (resizable) on a TTY to a multiport device. */
int32_t krun_add_console_port_tty(uint32_t ctx_id, uint32_t console_id, const char *name,
#ifdef _WIN32
                                  void *tty_handle
#else
                                  int tty_fd
#endif
);

/* Add a generic named port to a multiport device; -1 disables a direction. */
int32_t krun_add_console_port_inout(uint32_t ctx_id, uint32_t console_id, const char *name,
#ifdef _WIN32
                                    void *input_handle, void *output_handle
#else
                                    int input_fd, int output_fd
#endif
);

/*
 * Boot with a block device as root: init mounts `device` (fstype NULL or
 * "auto" probes) with `options` and switches to it.
 */
int32_t krun_set_root_disk_remount(uint32_t ctx_id, const char *device, const char *fstype,
                                   const char *options);

/* ------------------------------------------------------------------ */
/* Running                                                             */
/* ------------------------------------------------------------------ */

/*
 * Build and run the VM described by the context, which is consumed. On
 * success this never returns: when the guest shuts down the process exits
 * with the workload's status. Guest init reports 125 when it cannot set up
 * the environment, 126 when the workload cannot be executed, 127 when it is
 * not found and 128+N when signal N killed it. Returns a negative errno
 * (-EINVAL for a bad configuration) only when the VM could not start.
 */
int32_t krun_start_enter(uint32_t ctx_id);

/*
 * libkrun-c extension: like krun_start_enter, but returns the workload's
 * exit status (>= 0) to the caller when the guest shuts down, after freeing
 * every resource of the VM, so that the process can run another VM. Returns
 * a negative errno when the VM could not start.
 */
int32_t krun_start_wait(uint32_t ctx_id);

#ifdef __cplusplus
}
#endif

#endif /* _LIBKRUN_H */
