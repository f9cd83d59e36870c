/* SPDX-License-Identifier: Apache-2.0 */
/* krun_* functions about the machine, logging, identity and features. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "api/ctx.h"
#include "libkrun.h"
#include "util/log.h"

int32_t krun_set_log_level(uint32_t level)
{
    return log_configure(KRUN_LOG_TARGET_DEFAULT, level, KRUN_LOG_STYLE_AUTO, true);
}

int32_t krun_init_log(int target_fd, uint32_t level, uint32_t style, uint32_t options)
{
    if (options & ~(uint32_t)KRUN_LOG_OPTION_NO_ENV)
        return -EINVAL;
    if (target_fd > 2 && fcntl(target_fd, F_GETFD) < 0)
        return -EBADF;
    return log_configure(target_fd, level, style, !(options & KRUN_LOG_OPTION_NO_ENV));
}

int32_t krun_set_vm_config(uint32_t ctx_id, uint8_t num_vcpus, uint32_t ram_mib)
{
    CTX_OR_RETURN(cfg, ctx_id);
    int32_t ret = -EINVAL;
    if (num_vcpus > 0 && ram_mib > 0) {
        cfg->vcpus = num_vcpus;
        cfg->ram_mib = ram_mib;
        ret = 0;
    }
    ctx_unlock();
    return ret;
}

int32_t krun_get_max_vcpus(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        log_error("cannot open /dev/kvm: %s", strerror(errno));
        return -EINVAL; /* upstream's code, whatever the cause */
    }
    int n = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (n <= 0)
        n = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    close(fd);
    /* The KVM API says: without either capability, assume 4. */
    return n > 0 ? n : 4;
}

int32_t krun_split_irqchip(uint32_t ctx_id, bool enable)
{
    CTX_OR_RETURN(cfg, ctx_id);
    cfg->split_irqchip = enable;
    ctx_unlock();
    return 0;
}

int32_t krun_set_nested_virt(uint32_t ctx_id, bool enabled)
{
    CTX_OR_RETURN(cfg, ctx_id);
    cfg->nested_virt = enabled;
    ctx_unlock();
    return 0;
}

static int read_nested_param(const char *path)
{
    char buf[8] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    return buf[0] == '1' || buf[0] == 'Y' || buf[0] == 'y';
}

int32_t krun_check_nested_virt(void)
{
    int r = read_nested_param("/sys/module/kvm_intel/parameters/nested");
    if (r < 0)
        r = read_nested_param("/sys/module/kvm_amd/parameters/nested");
    return r < 0 ? 0 : r;
}

int32_t krun_has_feature(uint64_t feature)
{
    switch (feature) {
    case KRUN_FEATURE_BLK:
    case KRUN_FEATURE_INIT_BLOB:
    case KRUN_FEATURE_NET:
        return 1;
    case KRUN_FEATURE_GPU:
    case KRUN_FEATURE_INPUT:
    case KRUN_FEATURE_TEE:
    case KRUN_FEATURE_AMD_SEV:
    case KRUN_FEATURE_INTEL_TDX:
    case KRUN_FEATURE_AWS_NITRO:
    case KRUN_FEATURE_VIRGL_RESOURCE_MAP2:
        return 0;
    default:
        return -EINVAL;
    }
}

int32_t krun_setuid(uint32_t ctx_id, uid_t uid)
{
    CTX_OR_RETURN(cfg, ctx_id);
    cfg->set_uid = true;
    cfg->uid = uid;
    ctx_unlock();
    return 0;
}

int32_t krun_setgid(uint32_t ctx_id, gid_t gid)
{
    CTX_OR_RETURN(cfg, ctx_id);
    cfg->set_gid = true;
    cfg->gid = gid;
    ctx_unlock();
    return 0;
}

int32_t krun_set_smbios_oem_strings(uint32_t ctx_id, const char *const oem_strings[])
{
    if (!oem_strings)
        return -EINVAL;
    CTX_OR_RETURN(cfg, ctx_id);
    /* Recorded like upstream; x86_64 guests get no SMBIOS tables. */
    int32_t ret = strvec_set(&cfg->oem_strings, oem_strings, KRUN_MAX_ARGS);
    ctx_unlock();
    return ret;
}

int32_t krun_get_shutdown_eventfd(uint32_t ctx_id)
{
    CTX_OR_RETURN(cfg, ctx_id);
    int32_t ret = cfg->shutdown_efd;
    if (ret < 0) {
        ret = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (ret < 0)
            ret = -errno;
        else
            cfg->shutdown_efd = ret;
    }
    ctx_unlock();
    return ret;
}
