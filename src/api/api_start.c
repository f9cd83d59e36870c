/* SPDX-License-Identifier: Apache-2.0 */
/* krun_start_enter and its returning variant krun_start_wait. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "api/ctx.h"
#include "vm/privileges.h"
#include "libkrun.h"
#include "util/log.h"
#include "vm/vm.h"

/* Every inode a virtio-fs guest holds is an fd in the VMM: allow as many as we may. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Build and run the VM of context ctx_id (consumed). Returns the exit status or -errno. */
static int32_t run_ctx(uint32_t ctx_id)
{
    struct vm_times start;
    vm_times_now(&start);
    struct vm_config *cfg = ctx_take(ctx_id);
    if (!cfg)
        return -ENOENT;
    if (cfg->n_shares)
        raise_fd_limit();
    struct vm *vm = NULL;
    int32_t ret = vm_build(cfg, cfg->kernel_path ? NULL : ctx_kernel_bundle(), &vm);
    if (ret == 0) {
        vm->start = start;
        ret = vm_run(vm);
        vm_destroy(vm);
    }
    vm_config_free(cfg);
    free(cfg);
    return ret;
}

/* As upstream, ps and top show the VMM as "VM:$HOSTNAME" (cut to 15 bytes). */
static void name_process(void)
{
    const char *host = getenv("HOSTNAME");
    char name[64];
    if (host)
        snprintf(name, sizeof(name), "VM:%s", host);
    else
        snprintf(name, sizeof(name), "libkrun VM");
    prctl(PR_SET_NAME, name, 0, 0, 0);
}

int32_t krun_start_enter(uint32_t ctx_id)
{
    name_process();
    int32_t ret = run_ctx(ctx_id);
    if (ret < 0)
        return ret;
    /* Upstream semantics: the process ends with the workload's status. */
    _exit(ret);
}

int32_t krun_start_wait(uint32_t ctx_id)
{
    return run_ctx(ctx_id);
}
