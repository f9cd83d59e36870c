/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest ABI: every constant that the VMM (src/) and the guest side
 * (init/, and our kernel patches) must agree on, in one place that both
 * include. docs/guest-contract.md describes what each one means; upstream
 * libkrun's values are kept wherever upstream defines them.
 *
 * Only macros: this header is compiled into the library and into the
 * static init binary alike.
 */
#ifndef KRUN_ABI_GUEST_ABI_H
#define KRUN_ABI_GUEST_ABI_H

/* Paths in the guest's root. */
#define KRUN_GUEST_INIT_PATH     "/init.krun"         /* the init the VMM serves */
#define KRUN_GUEST_WORKLOAD_PATH "/.krun_workload"    /* libkrun-c: the workload file */
#define KRUN_GUEST_CONFIG_PATH   "/.krun_config.json" /* OCI or image config (crun) */

/* The workload file: "KEY\0VALUE\0" records, the first one magic and version. */
#define KRUN_WORKLOAD_MAGIC             "krun-workload"
#define KRUN_WORKLOAD_VERSION           "1"
#define KRUN_WORKLOAD_KEY_EXEC          "exec"
#define KRUN_WORKLOAD_KEY_ARG           "arg" /* repeatable */
#define KRUN_WORKLOAD_KEY_ENV           "env" /* repeatable */
#define KRUN_WORKLOAD_KEY_WORKDIR       "workdir"
#define KRUN_WORKLOAD_KEY_RLIMIT        "rlimit" /* repeatable */
#define KRUN_WORKLOAD_KEY_BLOCK_DEVICE  "block-root-device"
#define KRUN_WORKLOAD_KEY_BLOCK_FSTYPE  "block-root-fstype"
#define KRUN_WORKLOAD_KEY_BLOCK_OPTIONS "block-root-options"

/* The upstream workload variables on the kernel command line. */
#define KRUN_ENV_INIT               "KRUN_INIT"
#define KRUN_ENV_INIT_PID1          "KRUN_INIT_PID1"
#define KRUN_ENV_WORKDIR            "KRUN_WORKDIR"
#define KRUN_ENV_RLIMITS            "KRUN_RLIMITS"
#define KRUN_ENV_BLOCK_ROOT_DEVICE  "KRUN_BLOCK_ROOT_DEVICE"
#define KRUN_ENV_BLOCK_ROOT_FSTYPE  "KRUN_BLOCK_ROOT_FSTYPE"
#define KRUN_ENV_BLOCK_ROOT_OPTIONS "KRUN_BLOCK_ROOT_OPTIONS"
#define KRUN_ENV_HOME               "KRUN_HOME"
#define KRUN_ENV_TERM               "KRUN_TERM"
#define KRUN_ENV_DHCP               "KRUN_DHCP"
#define KRUN_ENV_CONFIG             "KRUN_CONFIG"

/*
 * Named virtio-console ports (/sys/class/virtio-ports/vportNpM/name): the
 * workload's stdin, stdout and stderr when the host's are not a TTY; and
 * (libkrun-c) signals for the workload, one signal number per byte, and
 * the workload's exit status, in decimal and a newline.
 */
#define KRUN_PORT_STDIN  "krun-stdin"
#define KRUN_PORT_STDOUT "krun-stdout"
#define KRUN_PORT_STDERR "krun-stderr"
#define KRUN_PORT_SIGNAL "krun-signal"
#define KRUN_PORT_EXIT   "krun-exit"

/* The exit status through the root virtio-fs: ioctl _IO('v', 2) on "/", argument = status. */
#define KRUN_EXIT_CODE_IOCTL 0x7602

/* Statuses the init reports when the workload did not run (upstream's values). */
#define KRUN_STATUS_INIT_FAILED 125
#define KRUN_STATUS_CANNOT_EXEC 126
#define KRUN_STATUS_NOT_FOUND   127

/*
 * TSI (transparent socket impersonation): the kernel parameters that make
 * user sockets TSI sockets (upstream's names), and the interface the init
 * adds when tsi_hijack is set so that programs see a network (upstream's
 * dummy0 with 203.0.113.1/24, TEST-NET-3, and a default route through it).
 */
#define KRUN_CMDLINE_TSI_HIJACK      "tsi_hijack"
#define KRUN_CMDLINE_TSI_HIJACK_UNIX "tsi_hijack_unix"
#define KRUN_TSI_IFNAME              "dummy0"
#define KRUN_TSI_ADDR                "203.0.113.1"
#define KRUN_TSI_PREFIX              24

/* Guest kernel -> VMM (kernel/patches/0002): a panic, pvpanic's ISA port and bit. */
#define KRUN_PANIC_PORT     0x505
#define KRUN_PANIC_PANICKED 1u

#endif
