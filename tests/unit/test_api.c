/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: @library */
/* LDLIBS: -luring -lz -lzstd */
/*
 * The krun_* API without a VM: argument validation and return codes as
 * upstream, unknown contexts, unbuilt features, the context table under
 * concurrent use.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "libkrun.h"
#include "test.h"

static uint32_t new_ctx(void)
{
    int32_t c = krun_create_ctx();
    CHECK(c >= 0);
    return (uint32_t)c;
}

static void test_unknown_context(void)
{
    const uint32_t bad = 999999;
    const char *const list[] = {NULL};
    CHECK_EQ(krun_free_ctx(bad), -ENOENT);
    CHECK_EQ(krun_set_vm_config(bad, 1, 128), -ENOENT);
    CHECK_EQ(krun_set_root(bad, "/"), -ENOENT);
    CHECK_EQ(krun_add_disk(bad, "a", "/x", false), -ENOENT);
    CHECK_EQ(krun_set_exec(bad, "/bin/sh", list, list), -ENOENT);
    CHECK_EQ(krun_set_env(bad, list), -ENOENT);
    CHECK_EQ(krun_set_workdir(bad, "/"), -ENOENT);
    CHECK_EQ(krun_set_rlimits(bad, list), -ENOENT);
    CHECK_EQ(krun_set_kernel(bad, "/k", KRUN_KERNEL_FORMAT_ELF, NULL, NULL), -ENOENT);
    CHECK_EQ(krun_split_irqchip(bad, true), -ENOENT);
    CHECK_EQ(krun_set_nested_virt(bad, true), -ENOENT);
    CHECK_EQ(krun_get_shutdown_eventfd(bad), -ENOENT);
    CHECK_EQ(krun_set_console_output(bad, "/tmp/x"), -ENOENT);
    CHECK_EQ(krun_disable_implicit_console(bad), -ENOENT);
    CHECK_EQ(krun_fs_add_overlay_dir(bad, KRUN_FS_ROOT_TAG, "d", 040755), -ENOENT);
    CHECK_EQ(krun_start_enter(bad), -ENOENT);
    CHECK_EQ(krun_start_wait(bad), -ENOENT);
}

static void test_vm_config(void)
{
    uint32_t c = new_ctx();
    CHECK_EQ(krun_set_vm_config(c, 0, 128), -EINVAL);
    CHECK_EQ(krun_set_vm_config(c, 1, 0), -EINVAL);
    CHECK_EQ(krun_set_vm_config(c, 4, 1024), 0);
    CHECK_EQ(krun_free_ctx(c), 0);
    CHECK_EQ(krun_free_ctx(c), -ENOENT);
}

static void test_logging_and_features(void)
{
    CHECK_EQ(krun_init_log(0, 1, 0, 0), -EINVAL);
    CHECK_EQ(krun_init_log(KRUN_LOG_TARGET_DEFAULT, 1, 3, 0), -EINVAL);
    CHECK_EQ(krun_init_log(KRUN_LOG_TARGET_DEFAULT, 1, 0, 2), -EINVAL);
    CHECK_EQ(krun_init_log(KRUN_LOG_TARGET_DEFAULT, KRUN_LOG_LEVEL_ERROR, KRUN_LOG_STYLE_NEVER,
                           KRUN_LOG_OPTION_NO_ENV),
             0);
    CHECK_EQ(krun_set_log_level(KRUN_LOG_LEVEL_ERROR), 0);
    CHECK_EQ(krun_has_feature(KRUN_FEATURE_BLK), 1);
    CHECK_EQ(krun_has_feature(KRUN_FEATURE_INIT_BLOB), 1);
    CHECK_EQ(krun_has_feature(KRUN_FEATURE_NET), 1);
    CHECK_EQ(krun_has_feature(KRUN_FEATURE_GPU), 0);
    CHECK_EQ(krun_has_feature(3), -EINVAL); /* removed (SND) */
    CHECK_EQ(krun_has_feature(5), -EINVAL); /* removed (EFI) */
    CHECK_EQ(krun_has_feature(12), -EINVAL);
    int nested = krun_check_nested_virt();
    CHECK(nested == 0 || nested == 1);
    /* Works wherever /dev/kvm opens; says why otherwise. */
    int max = krun_get_max_vcpus();
    CHECK(max > 0 || max == -EINVAL);
}

static void test_kernel_and_workload(void)
{
    uint32_t c = new_ctx();
    const char *const none[] = {NULL};
    CHECK_EQ(krun_set_kernel(c, NULL, KRUN_KERNEL_FORMAT_ELF, NULL, NULL), -EINVAL);
    CHECK_EQ(krun_set_kernel(c, "/k", 99, NULL, NULL), -EINVAL);
    CHECK_EQ(krun_set_kernel(c, "/k", KRUN_KERNEL_FORMAT_PE_GZ, NULL, NULL), -EINVAL);
    CHECK_EQ(krun_set_kernel(c, "/nonexistent/k", KRUN_KERNEL_FORMAT_RAW, NULL, NULL), -EINVAL);
    CHECK_EQ(krun_set_kernel(c, "/k", KRUN_KERNEL_FORMAT_ELF, "/i", "console=hvc0"), 0);
    CHECK_EQ(krun_set_kernel(c, "/k", KRUN_KERNEL_FORMAT_BZIMAGE, NULL, NULL), 0);
    CHECK_EQ(krun_set_kernel_console(c, NULL), -EINVAL);
    CHECK_EQ(krun_set_kernel_console(c, "ttyS0"), 0);
    CHECK_EQ(krun_set_exec(c, NULL, none, none), -EINVAL);
    CHECK_EQ(krun_set_exec(c, "/bin/sh", NULL, NULL), 0); /* NULL env: the host's */
    CHECK_EQ(krun_set_env(c, NULL), 0);
    CHECK_EQ(krun_set_workdir(c, NULL), -EINVAL);
    CHECK_EQ(krun_set_workdir(c, "/tmp"), 0);
    CHECK_EQ(krun_set_rlimits(c, NULL), -EINVAL);
    const char *const good_rl[] = {"6=4096:8192", "7=1:2", NULL};
    CHECK_EQ(krun_set_rlimits(c, good_rl), 0);
    /* More than 4096 entries is refused: upstream silently drops the rest. */
    static const char *many[4098];
    for (int i = 0; i < 4097; i++)
        many[i] = "x";
    many[4097] = NULL;
    CHECK_EQ(krun_set_exec(c, "/bin/sh", many, none), -EINVAL);
    CHECK_EQ(krun_set_smbios_oem_strings(c, NULL), -EINVAL);
    CHECK_EQ(krun_set_smbios_oem_strings(c, none), 0);
    CHECK_EQ(krun_free_ctx(c), 0);
}

static void test_virtiofs_and_overlays(void)
{
    uint32_t c = new_ctx();
    CHECK_EQ(krun_set_root(c, NULL), -EINVAL);
    CHECK_EQ(krun_add_virtiofs(c, "0123456789012345678901234567890123456", "/"), -EINVAL);
    CHECK_EQ(krun_add_virtiofs3(c, "null", NULL, 0, false), 0); /* a purely virtual fs */
    CHECK_EQ(krun_set_root(c, "/"), 0);
    CHECK_EQ(krun_set_root(c, "/"), 0); /* kept, unused: test_api_parity */
    CHECK_EQ(krun_fs_add_overlay_dir(c, "nope", "d", 040755), -ENOENT);
    CHECK_EQ(krun_fs_add_overlay_dir(c, KRUN_FS_ROOT_TAG, "etc", 040755), 0);
    CHECK_EQ(krun_fs_add_overlay_dir(c, KRUN_FS_ROOT_TAG, "etc/nested", 040755), 0);
    static const uint8_t data[] = "hello";
    CHECK_EQ(krun_fs_add_overlay_file(c, KRUN_FS_ROOT_TAG, "etc/nested/f", data, 5, 0100644, false),
             0);
    CHECK_EQ(krun_fs_add_overlay_file(c, KRUN_FS_ROOT_TAG, "missing/f", data, 5, 0100644, false),
             -ENOENT);
    CHECK_EQ(
        krun_fs_add_overlay_file(c, KRUN_FS_ROOT_TAG, "etc/nested/f/g", data, 5, 0100644, false),
        -ENOTDIR);
    CHECK_EQ(krun_fs_add_overlay_file(c, KRUN_FS_ROOT_TAG, "etc//f", data, 5, 0100644, false),
             -ENOENT);
    CHECK_EQ(krun_fs_add_overlay_file(c, KRUN_FS_ROOT_TAG, "../f", data, 5, 0100644, false),
             -EINVAL);
    CHECK_EQ(krun_fs_add_overlay_file(c, KRUN_FS_ROOT_TAG, "x", NULL, 5, 0100644, false), -EINVAL);
    CHECK_EQ(krun_set_mapped_volumes(c, NULL), -EINVAL);
    CHECK_EQ(krun_disable_implicit_init(c), 0);
    CHECK_EQ(krun_free_ctx(c), 0);

    const uint8_t *init;
    size_t len;
    CHECK_EQ(krun_get_default_init(NULL, &len), -EINVAL);
    CHECK_EQ(krun_get_default_init(&init, NULL), -EINVAL);
    CHECK_EQ(krun_get_default_init(&init, &len), 0);
    CHECK(len > 1024 && memcmp(init, "\177ELF", 4) == 0);
}

static void test_disks(void)
{
    uint32_t c = new_ctx();
    CHECK_EQ(krun_set_root_disk_remount(c, "/dev/vda", "ext4", NULL), -EINVAL); /* no disk yet */
    CHECK_EQ(krun_add_disk(c, NULL, "/x", false), -EINVAL);
    /* Formats are recorded here; the image is opened (and checked) when the VM starts. */
    CHECK_EQ(krun_add_disk2(c, "q", "/x", KRUN_DISK_FORMAT_QCOW2, false), 0);
    CHECK_EQ(krun_add_disk2(c, "v", "/x", KRUN_DISK_FORMAT_VMDK, true), 0);
    CHECK_EQ(krun_add_disk2(c, "z", "/x", 7, false), -EINVAL);
    CHECK_EQ(krun_add_disk3(c, "s", "/x", KRUN_DISK_FORMAT_RAW, false, false, 3), -EINVAL);
    CHECK_EQ(krun_add_disk(c, "a", "/x", false), 0);
    CHECK_EQ(krun_set_root_disk(c, "/z"), 0); /* ignored once krun_add_disk was used */
    CHECK_EQ(krun_set_root_disk_remount(c, NULL, NULL, NULL), -EINVAL);
    CHECK_EQ(krun_set_root_disk_remount(c, "/dev/vda", NULL, NULL), 0);
    CHECK_EQ(krun_set_root_disk_remount(c, "/dev/vda", NULL, NULL), -EINVAL); /* root taken */
    CHECK_EQ(krun_free_ctx(c), 0);

    c = new_ctx();
    CHECK_EQ(krun_set_root_disk(c, "/r"), 0);
    CHECK_EQ(krun_set_data_disk(c, "/d"), 0);
    CHECK_EQ(krun_set_root_disk(c, "/r2"), 0);
    CHECK_EQ(krun_add_disk(c, "x", "/x", false), -EINVAL); /* mutually exclusive */
    CHECK_EQ(krun_free_ctx(c), 0);
}

static void test_consoles(void)
{
    uint32_t c = new_ctx();
    int fds[2];
    CHECK_EQ(pipe(fds), 0);
    CHECK_EQ(krun_set_console_output(c, NULL), -EINVAL);
    CHECK_EQ(krun_set_console_output(c, "/tmp/out"), 0);
    CHECK_EQ(krun_set_console_output(c, "/tmp/out2"), -EINVAL);
    CHECK_EQ(krun_add_virtio_console_default(c, 12345, -1, -1), -EBADF);
    CHECK_EQ(krun_add_virtio_console_default(c, fds[0], fds[1], -1), 0);
    CHECK_EQ(krun_add_virtio_console_multiport(c), 1);
    CHECK_EQ(krun_add_virtio_console_multiport(c), 2);
    CHECK_EQ(krun_add_console_port_tty(c, 1, "t", fds[0]), -ENOTTY);
    CHECK_EQ(krun_add_console_port_tty(c, 1, "t", 12345), -ENOTTY);
    CHECK_EQ(krun_add_console_port_tty(c, 1, "t", -1), -EINVAL);
    CHECK_EQ(krun_add_console_port_inout(c, 0, "p", fds[0], fds[1]), -EINVAL); /* autoconfig */
    CHECK_EQ(krun_add_console_port_inout(c, 9, "p", fds[0], fds[1]), -EINVAL);
    CHECK_EQ(krun_add_console_port_inout(c, 1, "p", fds[0], -1), 0);
    CHECK_EQ(krun_add_console_port_inout(c, 1, NULL, fds[0], -1), 0); /* no name, as upstream */
    CHECK_EQ(krun_add_serial_console_default(c, -1, fds[1]), 0);
    CHECK_EQ(krun_disable_implicit_console(c), 0);
    CHECK_EQ(krun_free_ctx(c), 0);
    close(fds[0]);
    close(fds[1]);
}

static void test_shutdown_eventfd(void)
{
    uint32_t c = new_ctx();
    int32_t fd = krun_get_shutdown_eventfd(c);
    CHECK(fd >= 0);
    CHECK_EQ(krun_get_shutdown_eventfd(c), fd);
    CHECK(fcntl(fd, F_GETFD) >= 0);
    CHECK_EQ(krun_free_ctx(c), 0);
    CHECK(fcntl(fd, F_GETFD) < 0); /* the context owned it */
}

/*
 * Features that are not built answer as upstream's library built without
 * them: GPU options are recorded and accepted, displays, input and
 * vhost-user are -ENOTSUP whatever the context. Firmware and TEE, which
 * upstream has and we do not, say -ENOSYS (docs/api-status.md).
 */
static void test_unbuilt_features(void)
{
    uint32_t c = new_ctx();
    const uint32_t bad = 999999;
    uint8_t edid[128] = {0};
    uint16_t sizes[] = {256, 0};
    CHECK_EQ(krun_set_gpu_options(c, 0x42), 0);
    CHECK_EQ(krun_set_gpu_options2(c, 0x42, 1 << 20), 0);
    CHECK_EQ(krun_set_gpu_options(bad, 0), -ENOENT);
    CHECK_EQ(krun_set_gpu_options2(bad, 0, 0), -ENOENT);
    for (int i = 0; i < 2; i++) {
        uint32_t id = i ? bad : c;
        CHECK_EQ(krun_add_display(id, 640, 480), -ENOTSUP);
        CHECK_EQ(krun_display_set_edid(id, 0, edid, sizeof(edid)), -ENOTSUP);
        CHECK_EQ(krun_display_set_dpi(id, 0, 96), -ENOTSUP);
        CHECK_EQ(krun_display_set_physical_size(id, 0, 300, 200), -ENOTSUP);
        CHECK_EQ(krun_display_set_refresh_rate(id, 0, 60), -ENOTSUP);
        CHECK_EQ(krun_set_display_backend(id, edid, sizeof(edid)), -ENOTSUP);
        CHECK_EQ(krun_add_input_device(id, edid, 8, edid, 8), -ENOTSUP);
        CHECK_EQ(krun_add_input_device_fd(id, 0), -ENOTSUP);
        CHECK_EQ(krun_add_vhost_user_device(id, KRUN_VIRTIO_DEVICE_RNG, "/s", NULL, 0, sizes),
                 -ENOTSUP);
    }
    CHECK_EQ(krun_set_firmware(c, "/fw"), -ENOSYS);
    CHECK_EQ(krun_set_tee_config_file(c, "/t"), -ENOSYS);
    CHECK_EQ(krun_free_ctx(c), 0);
}

/*
 * vsock and TSI (libkrun-behaviour.md 1.6): the port map's format and
 * duplicates, -ENODEV once vsock is disabled, -EEXIST for a listening path
 * that exists and for krun_add_vsock while the implicit device is on.
 */
static void test_vsock(void)
{
    const uint32_t bad = 999999;
    const char *const none[] = {NULL};
    const char *const good[] = {"8080:80", "+1:2", "65535:0", NULL};
    CHECK_EQ(krun_set_port_map(bad, good), -ENOENT);
    CHECK_EQ(krun_add_vsock_port(bad, 1, "/s"), -ENOENT);
    CHECK_EQ(krun_add_vsock_port2(bad, 1, "/s", false), -ENOENT);
    CHECK_EQ(krun_add_vsock(bad, 0), -ENOENT);
    CHECK_EQ(krun_disable_implicit_vsock(bad), -ENOENT);

    uint32_t c = new_ctx();
    CHECK_EQ(krun_set_port_map(c, good), 0);
    CHECK_EQ(krun_set_port_map(c, none), 0); /* an empty map is a map */
    CHECK_EQ(krun_set_port_map(c, NULL), -EINVAL);
    /* "host:guest", u16 each; a guest or a host port twice is -EINVAL. */
    static const char *const bad_maps[][3] = {
        {"80", NULL},         {"80:", NULL},        {":80", NULL},  {"1:2:3", NULL},
        {"65536:1", NULL},    {"1:-1", NULL},       {"a:1", NULL},  {" 1:2", NULL},
        {"1:2", "3:2", NULL}, {"1:2", "1:3", NULL}, {"1:2x", NULL},
    };
    for (size_t i = 0; i < sizeof(bad_maps) / sizeof(bad_maps[0]); i++)
        CHECK_EQ(krun_set_port_map(c, bad_maps[i]), -EINVAL);

    CHECK_EQ(krun_add_vsock_port(c, 1234, "/tmp/some.sock"), 0);
    CHECK_EQ(krun_add_vsock_port(c, 1234, "/tmp/other.sock"), 0); /* replaced */
    CHECK_EQ(krun_add_vsock_port(c, 1, NULL), -EINVAL);
    CHECK_EQ(krun_add_vsock_port2(c, 1, "", false), -EINVAL);
    /* Listening: the VMM creates the socket, the path must not exist. */
    CHECK_EQ(krun_add_vsock_port2(c, 2, "/", true), -EEXIST);
    CHECK_EQ(krun_add_vsock_port2(c, 2, "/nonexistent-dir/x.sock", true), 0);

    /* krun_add_vsock needs the implicit device disabled first, and is once only. */
    CHECK_EQ(krun_add_vsock(c, KRUN_TSI_HIJACK_INET), -EEXIST);
    CHECK_EQ(krun_disable_implicit_vsock(c), 0);
    CHECK_EQ(krun_set_port_map(c, good), -ENODEV);
    CHECK_EQ(krun_add_vsock_port(c, 5, "/tmp/x.sock"), -ENODEV);
    CHECK_EQ(krun_add_vsock_port2(c, 5, "/tmp/x.sock", true), -ENODEV);
    CHECK_EQ(krun_add_vsock(c, 1u << 2), -EINVAL); /* unknown flag */
    CHECK_EQ(krun_add_vsock(c, KRUN_TSI_HIJACK_INET | KRUN_TSI_HIJACK_UNIX), 0);
    CHECK_EQ(krun_add_vsock(c, 0), -EEXIST);
    CHECK_EQ(krun_disable_implicit_vsock(c), 0);
    /* An explicit device takes ports and the map. */
    CHECK_EQ(krun_set_port_map(c, good), 0);
    CHECK_EQ(krun_add_vsock_port(c, 5, "/tmp/x.sock"), 0);
    CHECK_EQ(krun_free_ctx(c), 0);

    /* A device without TSI. */
    c = new_ctx();
    CHECK_EQ(krun_disable_implicit_vsock(c), 0);
    CHECK_EQ(krun_add_vsock(c, 0), 0);
    CHECK_EQ(krun_free_ctx(c), 0);
}

#define THREADS    4
#define PER_THREAD 200

static void *create_many(void *arg)
{
    int32_t *ids = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        ids[i] = krun_create_ctx();
        krun_set_vm_config((uint32_t)ids[i], 2, 256);
    }
    return NULL;
}

/*
 * virtio-net (libkrun-behaviour.md 1.5): exactly one of path and fd, known
 * features and flags only (VFKIT for datagram sockets alone), the tap's
 * GUEST_TSO/UFO only with GUEST_CSUM, the legacy calls refused once an
 * interface was added, and a port map refused once there is one.
 */
static void test_net(void)
{
    const uint32_t bad = 999999;
    uint8_t mac[6] = {0x5a, 0x94, 0xef, 0, 0, 1};
    const char *const map[] = {"8080:80", NULL};
    CHECK_EQ(krun_add_net_unixstream(bad, NULL, 3, mac, 0, 0), -ENOENT);
    CHECK_EQ(krun_add_net_unixgram(bad, NULL, 3, mac, 0, 0), -ENOENT);
    CHECK_EQ(krun_add_net_tap(bad, (char *)"tap0", mac, 0, 0), -ENOENT);
    CHECK_EQ(krun_set_passt_fd(bad, 3), -ENOENT);
    CHECK_EQ(krun_set_gvproxy_path(bad, (char *)"/s"), -ENOENT);
    CHECK_EQ(krun_set_net_mac(bad, mac), -ENOENT);

    uint32_t c = new_ctx();
    CHECK_EQ(krun_add_net_unixstream(c, NULL, -1, mac, 0, 0), -EINVAL);
    CHECK_EQ(krun_add_net_unixstream(c, "/s", 3, mac, 0, 0), -EINVAL);
    CHECK_EQ(krun_add_net_unixstream(c, "/s", -1, NULL, 0, 0), -EINVAL);
    CHECK_EQ(krun_add_net_unixstream(c, "/s", -1, mac, 1u << 2, 0), -EINVAL);
    CHECK_EQ(krun_add_net_unixstream(c, "/s", -1, mac, 0, NET_FLAG_VFKIT), -EINVAL);
    CHECK_EQ(krun_add_net_unixgram(c, NULL, -1, mac, 0, 0), -EINVAL);
    CHECK_EQ(krun_add_net_unixgram(c, "/s", -1, mac, 0, 1u << 2), -EINVAL);
    CHECK_EQ(krun_add_net_tap(c, NULL, mac, 0, 0), -EINVAL);
    CHECK_EQ(krun_add_net_tap(c, (char *)"tap0", mac, NET_FEATURE_GUEST_TSO4, 0), -EINVAL);
    CHECK_EQ(krun_add_net_tap(c, (char *)"tap0", mac, 0, NET_FLAG_VFKIT), -EINVAL);
    CHECK_EQ(krun_set_passt_fd(c, -1), -EINVAL);
    CHECK_EQ(krun_set_gvproxy_path(c, NULL), -EINVAL);
    CHECK_EQ(krun_set_net_mac(c, NULL), -EINVAL);

    /* The legacy interface first, then krun_add_net_* is still accepted. */
    CHECK_EQ(krun_set_net_mac(c, mac), 0);
    CHECK_EQ(krun_set_passt_fd(c, 3), 0);
    CHECK_EQ(krun_set_gvproxy_path(c, (char *)"/s"), 0);
    CHECK_EQ(krun_add_net_unixstream(c, NULL, 3, mac, COMPAT_NET_FEATURES, NET_FLAG_DHCP_CLIENT),
             0);
    CHECK_EQ(krun_add_net_unixgram(c, "/s", -1, mac, 0, NET_FLAG_VFKIT | NET_FLAG_DHCP_CLIENT), 0);
    CHECK_EQ(
        krun_add_net_tap(c, (char *)"tap0", mac,
                         NET_FEATURE_GUEST_CSUM | NET_FEATURE_GUEST_TSO4 | NET_FEATURE_HOST_TSO6,
                         NET_FLAG_DHCP_CLIENT),
        0);
    /* ... but the legacy calls are not, and a port map (TSI) no longer is. */
    CHECK_EQ(krun_set_passt_fd(c, 3), -EINVAL);
    CHECK_EQ(krun_set_gvproxy_path(c, (char *)"/s"), -EINVAL);
    CHECK_EQ(krun_set_port_map(c, map), -EINVAL);
    CHECK_EQ(krun_free_ctx(c), 0);
}

static void test_concurrent_contexts(void)
{
    static int32_t ids[THREADS][PER_THREAD];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, create_many, ids[i]);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    /* Every id is valid and unique; each frees exactly once. */
    for (int i = 0; i < THREADS; i++)
        for (int j = 0; j < PER_THREAD; j++) {
            CHECK(ids[i][j] >= 0);
            CHECK_EQ(krun_free_ctx((uint32_t)ids[i][j]), 0);
        }
    for (int i = 0; i < THREADS; i++)
        for (int j = 0; j < PER_THREAD; j++)
            CHECK_EQ(krun_free_ctx((uint32_t)ids[i][j]), -ENOENT);
}

int main(void)
{
    RUN(test_unknown_context);
    RUN(test_vm_config);
    RUN(test_logging_and_features);
    RUN(test_kernel_and_workload);
    RUN(test_virtiofs_and_overlays);
    RUN(test_disks);
    RUN(test_consoles);
    RUN(test_shutdown_eventfd);
    RUN(test_vsock);
    RUN(test_net);
    RUN(test_unbuilt_features);
    RUN(test_concurrent_contexts);
    return TEST_EXIT();
}
