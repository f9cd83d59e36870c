/* SPDX-License-Identifier: Apache-2.0 */
#include "vm/cmdline.h"

#include "abi/guest_abi.h"
#include "libkrun.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Copy the base command line, replacing the value of console= if asked. */
static int append_base(struct strbuf *out, const char *base, const char *console)
{
    for (const char *p = base; *p;) {
        size_t n = strcspn(p, " ");
        if (n) {
            int ret = out->len ? sb_puts(out, " ") : 0;
            if (!ret)
                ret = console && n >= 8 && strncmp(p, "console=", 8) == 0
                          ? sb_printf(out, "console=%s", console)
                          : sb_append(out, p, n);
            if (ret)
                return ret;
        }
        p += n;
        p += strspn(p, " ");
    }
    return 0;
}

/*
 * One word for the kernel's parameter parser, after `prefix` (e.g. "KEY=").
 * Quotes protect spaces; a double quote or newline cannot be expressed.
 */
static int append_word(struct strbuf *out, const char *prefix, const char *word, char *err,
                       size_t errlen)
{
    if (strpbrk(word, "\"\n")) {
        snprintf(err, errlen,
                 "\"%s%s\" contains a double quote or a newline, which the kernel command line "
                 "cannot carry",
                 prefix, word);
        return -EINVAL;
    }
    bool quote = !*word || strpbrk(word, " \t") != NULL;
    return sb_printf(out, quote ? " %s\"%s\"" : " %s%s", prefix, word);
}

/*
 * The interfaces the init configures by DHCP: "1" when that is eth0 alone
 * (upstream's value), else their names ("eth0,eth2"). NULL for none.
 */
static int dhcp_value(const struct vm_config *cfg, struct strbuf *v)
{
    size_t n = cfg->n_nets + (cfg->legacy_net_api ? 1 : 0);
    int ret = 0;
    for (size_t i = 0; !ret && i < n; i++) {
        const struct net_config *nc = i < cfg->n_nets ? &cfg->nets[i] : &cfg->legacy_net;
        if (nc->flags & NET_FLAG_DHCP_CLIENT)
            ret = sb_printf(v, "%seth%zu", v->len ? "," : "", i);
    }
    if (!ret && v->len && strcmp(v->s, "eth0") == 0) {
        v->len = 0;
        ret = sb_puts(v, "1");
    }
    return ret;
}

/* After the devices, as upstream: the TSI families the vsock device proxies, then KRUN_DHCP. */
static int append_net(const struct vm_config *cfg, struct strbuf *out)
{
    struct vsock_plan plan = vsock_config_resolve(&cfg->vsock, vm_config_has_net(cfg));
    int ret = 0;
    if (plan.present && (plan.tsi_features & VSOCK_TSI_INET))
        ret = sb_puts(out, " " KRUN_CMDLINE_TSI_HIJACK);
    if (!ret && plan.present && (plan.tsi_features & VSOCK_TSI_UNIX))
        ret = sb_puts(out, " " KRUN_CMDLINE_TSI_HIJACK_UNIX);
    struct strbuf dhcp = {0};
    if (!ret)
        ret = dhcp_value(cfg, &dhcp);
    if (!ret && dhcp.len)
        ret = sb_printf(out, " " KRUN_ENV_DHCP "=%s", dhcp.s);
    sb_free(&dhcp);
    return ret;
}

/* Upstream's encoding: KRUN_* and the environment as words, arguments after "--". */
static int append_workload(const struct vm_config *cfg, struct strbuf *out,
                           const struct strvec *devices, char *err, size_t errlen)
{
    unsigned n_env = 0;
    int ret = 0;
    if (cfg->exec_path) {
        ret = append_word(out, KRUN_ENV_INIT "=", cfg->exec_path, err, errlen);
        n_env++;
    }
    if (!ret && cfg->workdir) {
        ret = append_word(out, KRUN_ENV_WORKDIR "=", cfg->workdir, err, errlen);
        n_env++;
    }
    if (!ret && cfg->rlimits.n) {
        struct strbuf rl = {0};
        for (size_t i = 0; !ret && i < cfg->rlimits.n; i++)
            ret = sb_printf(&rl, "%s%s", i ? "," : "", cfg->rlimits.v[i]);
        if (!ret)
            ret = append_word(out, KRUN_ENV_RLIMITS "=", rl.s, err, errlen);
        sb_free(&rl);
        n_env++;
    }
    for (size_t i = 0; !ret && i < cfg->env.n; i++) {
        if (!strchr(cfg->env.v[i], '='))
            continue;
        ret = append_word(out, "", cfg->env.v[i], err, errlen);
        n_env++;
    }
    if (!ret && n_env > CMDLINE_INIT_ENV_MAX) {
        snprintf(err, errlen,
                 "%u environment variables do not fit the kernel command line (at most %d); "
                 "serve the init from a root filesystem to lift this limit",
                 n_env, CMDLINE_INIT_ENV_MAX);
        return -E2BIG;
    }
    for (size_t i = 0; !ret && i < devices->n; i++)
        ret = sb_printf(out, " %s", devices->v[i]);
    if (!ret)
        ret = append_net(cfg, out);
    if (!ret && cfg->argv.n) {
        if (cfg->argv.n + 1 > CMDLINE_INIT_ENV_MAX) {
            snprintf(err, errlen, "%zu arguments do not fit the kernel command line (at most %d)",
                     cfg->argv.n, CMDLINE_INIT_ENV_MAX - 1);
            return -E2BIG;
        }
        ret = sb_puts(out, " --");
        for (size_t i = 0; !ret && i < cfg->argv.n; i++)
            ret = append_word(out, "", cfg->argv.v[i], err, errlen);
    }
    return ret;
}

int cmdline_build(const struct vm_config *cfg, bool workload_in_file, const struct strvec *devices,
                  struct strbuf *out, char *err, size_t errlen)
{
    int ret;
    if (cfg->kernel_path && cfg->kernel_cmdline)
        ret = append_base(out, cfg->kernel_cmdline, cfg->kernel_console);
    else
        ret = append_base(out, CMDLINE_DEFAULT " init=" KRUN_GUEST_INIT_PATH, cfg->kernel_console);
    if (ret)
        return ret;
    if (workload_in_file) {
        for (size_t i = 0; !ret && i < devices->n; i++)
            ret = sb_printf(out, " %s", devices->v[i]);
        if (!ret)
            ret = append_net(cfg, out);
    } else {
        ret = append_workload(cfg, out, devices, err, errlen);
    }
    if (!ret && out->len >= CMDLINE_KERNEL_MAX) {
        snprintf(err, errlen, "the kernel command line is %zu bytes, the kernel takes at most %d",
                 out->len, CMDLINE_KERNEL_MAX - 1);
        return -E2BIG;
    }
    return ret;
}

static int record(struct strbuf *out, const char *key, const char *value)
{
    int ret = sb_append(out, key, strlen(key) + 1);
    return ret ? ret : sb_append(out, value, strlen(value) + 1);
}

int workload_file_build(const struct vm_config *cfg, struct strbuf *out)
{
    int ret = record(out, KRUN_WORKLOAD_MAGIC, KRUN_WORKLOAD_VERSION);
    if (!ret && cfg->exec_path)
        ret = record(out, KRUN_WORKLOAD_KEY_EXEC, cfg->exec_path);
    for (size_t i = 0; !ret && i < cfg->argv.n; i++)
        ret = record(out, KRUN_WORKLOAD_KEY_ARG, cfg->argv.v[i]);
    for (size_t i = 0; !ret && i < cfg->env.n; i++)
        ret = record(out, KRUN_WORKLOAD_KEY_ENV, cfg->env.v[i]);
    if (!ret && cfg->workdir)
        ret = record(out, KRUN_WORKLOAD_KEY_WORKDIR, cfg->workdir);
    for (size_t i = 0; !ret && i < cfg->rlimits.n; i++)
        ret = record(out, KRUN_WORKLOAD_KEY_RLIMIT, cfg->rlimits.v[i]);
    if (!ret && cfg->root_disk_device)
        ret = record(out, KRUN_WORKLOAD_KEY_BLOCK_DEVICE, cfg->root_disk_device);
    if (!ret && cfg->root_disk_fstype)
        ret = record(out, KRUN_WORKLOAD_KEY_BLOCK_FSTYPE, cfg->root_disk_fstype);
    if (!ret && cfg->root_disk_options)
        ret = record(out, KRUN_WORKLOAD_KEY_BLOCK_OPTIONS, cfg->root_disk_options);
    return ret;
}
