/* SPDX-License-Identifier: Apache-2.0 */
/*
 * init.krun: PID 1 of every libkrun-c guest. The order of the steps is the
 * contract (docs/guest-contract.md); the logic lives in the other files.
 * Every failure before the workload runs ends the VM with status 125: the
 * VM never hangs and the kernel never panics.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "configfile.h"
#include "console.h"
#include "creds.h"
#include "dhcp.h"
#include "log.h"
#include "mounts.h"
#include "net.h"
#include "plan.h"
#include "ports.h"
#include "readfile.h"
#include "report.h"
#include "run.h"
#include "source.h"
#include "status.h"

#define WLFILE_MAX_SIZE (64u << 20)

static struct ports ports;

static noreturn void fail(const char *what)
{
    if (what)
        init_log("%s", what);
    vm_end(KRUN_STATUS_INIT_FAILED, &ports);
}

/* Source 1 if the VMM served the file, else source 2. The file is
 * one-shot: this is its only lookup. */
static void load_source(char *wl, size_t wl_len, int wl_r, int argc, char **argv, char **envp,
                        struct wl_source *src)
{
    char err[256];
    if (wl_r == 0) {
        if (wlfile_parse(wl, wl_len, src, err, sizeof(err)) < 0)
            fail(err);
        return;
    }
    if (wl_r != -ENOENT) {
        init_log(KRUN_GUEST_WORKLOAD_PATH ": %s", strerror(-wl_r));
        fail(NULL);
    }
    if (source_from_cmdline(envp, argc, argv, src) < 0)
        fail("out of memory");
}

int main(int argc, char **argv, char **envp)
{
    report_init();
    char *wl = NULL;
    size_t wl_len = 0;
    int wl_r = read_file(KRUN_GUEST_WORKLOAD_PATH, WLFILE_MAX_SIZE, &wl, &wl_len);

    ports_init(&ports);
    if (mount_system() < 0)
        fail("cannot mount the basic filesystems");
    int tty = console_setup();
    /* Early, so that the host's stderr also shows why a setup failed. The
     * fds stay valid across a switch to a block root. */
    if (ports_open(&ports) < 0)
        fail("cannot open the standard stream ports");
    init_log_also_to(ports.err);

    struct wl_source src;
    load_source(wl, wl_len, wl_r, argc, argv, envp, &src);
    if (src.block_device &&
        mount_block_root(src.block_device, src.block_fstype, src.block_options) < 0)
        fail("cannot switch to the block root");
    mount_make_shared();
    net_lo_up();
    net_tsi_setup();
    /* The VMM puts KRUN_DHCP on the kernel command line, so with a
     * workload file it is in the init's own environment. */
    dhcp_setup(src.dhcp ? src.dhcp : getenv(KRUN_ENV_DHCP));

    struct json_doc doc;
    struct json_config cfg;
    int have_cfg = configfile_load(src.config_path, &doc, &cfg);
    if (have_cfg < 0)
        fail(NULL);

    struct plan plan;
    if (plan_build(&src, have_cfg ? &cfg : NULL, &plan) < 0)
        fail("out of memory");
    mount_tmpfs_list(plan.tmpfs, plan.n_tmpfs);
    if (sethostname(plan.hostname, strlen(plan.hostname)) < 0)
        init_log("sethostname %s: %s", plan.hostname, strerror(errno));

    struct creds creds;
    char err[256];
    if (creds_resolve(&plan, &creds, err, sizeof(err)) < 0)
        fail(err);
    if (plan_finish_env(&plan, creds.set ? (uint32_t)creds.uid : 0, creds.home) < 0)
        fail("out of memory");

    struct run_ctx ctx = {.plan = &plan, .creds = &creds, .ports = &ports, .tty = tty};
    int status = plan.pid1 ? run_in_place(&ctx) : run_child(&ctx);
    vm_end(status, &ports);
}
