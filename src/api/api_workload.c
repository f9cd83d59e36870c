/* SPDX-License-Identifier: Apache-2.0 */
/* krun_* functions that describe the kernel and the workload. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/ctx.h"
#include "libkrun.h"
#include "util/log.h"

extern char **environ;

/* Replace *dst with a copy of src; returns 0 or -ENOMEM. */
static int set_string(char **dst, const char *src)
{
    char *copy = NULL;
    if (src && !(copy = strdup(src)))
        return -ENOMEM;
    free(*dst);
    *dst = copy;
    return 0;
}

/* envp NULL means "the host's environment now", as upstream. */
static int set_env_vector(struct vm_config *cfg, const char *const envp[])
{
    int ret = strvec_set(&cfg->env, envp ? envp : (const char *const *)environ, KRUN_MAX_ARGS);
    if (ret == 0)
        cfg->env_set = true;
    return ret;
}

/*
 * As upstream on x86_64, a RAW kernel is opened now (-EINVAL if it cannot
 * be) and takes neither an initramfs nor a command line: both are ignored.
 */
static int check_raw_kernel(const char *path, const char **initramfs, const char **cmdline)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        log_error("krun_set_kernel: cannot open RAW kernel %s: %s", path, strerror(errno));
        return -EINVAL;
    }
    close(fd);
    if ((*initramfs && **initramfs) || *cmdline)
        log_warn("krun_set_kernel: a RAW kernel (%s) takes no initramfs or command line; "
                 "ignoring them, as upstream",
                 path);
    *initramfs = NULL;
    *cmdline = NULL;
    return 0;
}

int32_t krun_set_kernel(uint32_t ctx_id, const char *kernel_path, uint32_t kernel_format,
                        const char *initramfs, const char *cmdline)
{
    if (!kernel_path || !*kernel_path)
        return -EINVAL;
    switch (kernel_format) {
    case KRUN_KERNEL_FORMAT_ELF:
    case KRUN_KERNEL_FORMAT_BZIMAGE:
    case KRUN_KERNEL_FORMAT_IMAGE_BZ2:
    case KRUN_KERNEL_FORMAT_IMAGE_GZ:
    case KRUN_KERNEL_FORMAT_IMAGE_ZSTD:
        break;
    case KRUN_KERNEL_FORMAT_RAW: {
        int ret = check_raw_kernel(kernel_path, &initramfs, &cmdline);
        if (ret)
            return ret;
        break;
    }
    default:
        return -EINVAL; /* PE_GZ is an aarch64 format */
    }
    CTX_OR_RETURN(cfg, ctx_id);
    int32_t ret = set_string(&cfg->kernel_path, kernel_path);
    if (!ret)
        ret = set_string(&cfg->initramfs_path, initramfs && *initramfs ? initramfs : NULL);
    if (!ret)
        ret = set_string(&cfg->kernel_cmdline, cmdline);
    if (!ret)
        cfg->kernel_format = kernel_format;
    ctx_unlock();
    return ret;
}

int32_t krun_set_kernel_console(uint32_t ctx_id, const char *console_id)
{
    if (!console_id || !*console_id || strpbrk(console_id, " \t\n"))
        return -EINVAL;
    CTX_OR_RETURN(cfg, ctx_id);
    int32_t ret = set_string(&cfg->kernel_console, console_id);
    ctx_unlock();
    return ret;
}

int32_t krun_set_exec(uint32_t ctx_id, const char *exec_path, const char *const argv[],
                      const char *const envp[])
{
    if (!exec_path || !*exec_path)
        return -EINVAL;
    CTX_OR_RETURN(cfg, ctx_id);
    struct strvec args = {0};
    int32_t ret = strvec_set(&args, argv, KRUN_MAX_ARGS);
    if (!ret)
        ret = set_env_vector(cfg, envp);
    if (!ret)
        ret = set_string(&cfg->exec_path, exec_path);
    if (!ret) {
        strvec_clear(&cfg->argv);
        cfg->argv = args;
        cfg->argv_set = true;
    } else {
        strvec_clear(&args);
    }
    ctx_unlock();
    return ret;
}

int32_t krun_set_env(uint32_t ctx_id, const char *const envp[])
{
    CTX_OR_RETURN(cfg, ctx_id);
    int32_t ret = set_env_vector(cfg, envp);
    ctx_unlock();
    return ret;
}

int32_t krun_set_workdir(uint32_t ctx_id, const char *workdir_path)
{
    if (!workdir_path || !*workdir_path)
        return -EINVAL;
    CTX_OR_RETURN(cfg, ctx_id);
    int32_t ret = set_string(&cfg->workdir, workdir_path);
    ctx_unlock();
    return ret;
}

/*
 * Upstream passes the entries to its init unchecked, and the init skips
 * those it cannot parse: so do we (init/rlimit.c says which it skipped).
 * Only what the kernel command line cannot carry is refused.
 */
int32_t krun_set_rlimits(uint32_t ctx_id, const char *const rlimits[])
{
    if (!rlimits)
        return -EINVAL;
    for (size_t i = 0; rlimits[i]; i++)
        if (strpbrk(rlimits[i], "\"\n"))
            return -EINVAL;
    CTX_OR_RETURN(cfg, ctx_id);
    int32_t ret = strvec_set(&cfg->rlimits, rlimits, KRUN_MAX_ARGS);
    ctx_unlock();
    return ret;
}

int32_t krun_set_firmware(uint32_t ctx_id, const char *firmware_path)
{
    (void)ctx_id;
    (void)firmware_path;
    return -ENOSYS;
}

int32_t krun_set_tee_config_file(uint32_t ctx_id, const char *filepath)
{
    (void)ctx_id;
    (void)filepath;
    return -ENOSYS;
}
