/* SPDX-License-Identifier: Apache-2.0 */
#include "plan.h"

#include <errno.h>
#include <string.h>

#include "log.h"

static const char *const init_variables[] = {
    KRUN_ENV_INIT,
    KRUN_ENV_INIT_PID1,
    KRUN_ENV_WORKDIR,
    KRUN_ENV_RLIMITS,
    KRUN_ENV_BLOCK_ROOT_DEVICE,
    KRUN_ENV_BLOCK_ROOT_FSTYPE,
    KRUN_ENV_BLOCK_ROOT_OPTIONS,
    KRUN_ENV_HOME,
    KRUN_ENV_TERM,
    KRUN_ENV_DHCP,
    NULL,
};

bool plan_is_init_variable(const char *entry)
{
    for (const char *const *v = init_variables; *v; v++)
        if (env_entry_is(entry, *v))
            return true;
    return false;
}

static int put_env(struct env *env, const char *entry, enum env_mode mode, const char *from)
{
    int r = env_put(env, entry, mode);
    if (r == -EINVAL) {
        init_log("%s: ignoring \"%.64s\": not NAME=VALUE", from, entry);
        return 0;
    }
    return r < 0 ? r : 0;
}

static int merge_env(const struct wl_source *src, const struct json_config *cfg, struct env *env)
{
    for (size_t i = 0; i < src->env.n; i++)
        if (put_env(env, src->env.v[i], ENV_OVERWRITE, "environment") < 0)
            return -ENOMEM;
    /* The config only fills gaps, except HOME and TERM: upstream's kernel
     * always sets those two, so the config could not set them otherwise. */
    for (size_t i = 0; cfg && i < cfg->env.n; i++) {
        const char *e = cfg->env.v[i];
        bool wins = env_entry_is(e, "HOME") || env_entry_is(e, "TERM");
        if (put_env(env, e, wins ? ENV_OVERWRITE : ENV_KEEP, "config") < 0)
            return -ENOMEM;
    }
    const char *home = env_get(env, KRUN_ENV_HOME);
    const char *term = env_get(env, KRUN_ENV_TERM);
    if (home && env_set(env, "HOME", home, ENV_OVERWRITE) < 0)
        return -ENOMEM;
    if (term && env_set(env, "TERM", term, ENV_OVERWRITE) < 0)
        return -ENOMEM;
    return 0;
}

static int copy_args(struct strv *dst, const struct strv *src)
{
    for (size_t i = 0; i < src->n; i++)
        if (strv_push(dst, src->v[i]) < 0)
            return -ENOMEM;
    return 0;
}

/* Upstream order: the program from KRUN_INIT (or the exec record) with the
 * arguments after "--"; else the config's; else the arguments themselves
 * as the command; else a shell. */
static int build_argv(const struct wl_source *src, const struct json_config *cfg, struct strv *argv)
{
    if (src->exec) {
        if (strv_push(argv, (char *)src->exec) < 0)
            return -ENOMEM;
        return copy_args(argv, &src->args);
    }
    if (cfg && cfg->args.n > 0)
        return copy_args(argv, &cfg->args);
    if (src->args.n > 0)
        return copy_args(argv, &src->args);
    return strv_push(argv, (char *)DEFAULT_SHELL);
}

int plan_build(const struct wl_source *src, const struct json_config *cfg, struct plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    if (merge_env(src, cfg, &plan->env) < 0 || build_argv(src, cfg, &plan->argv) < 0)
        return -ENOMEM;

    const char *pid1 = env_get(&plan->env, KRUN_ENV_INIT_PID1);
    plan->pid1 = pid1 && pid1[0] == '1';
    plan->workdir = src->workdir ? src->workdir : cfg ? cfg->cwd : NULL;

    /* Config limits first: the VMM's own (krun_set_rlimits) win. */
    for (size_t i = 0; cfg && i < cfg->rlimits.n; i++)
        if (rlimit_list_add(&plan->rlimits, &cfg->rlimits.v[i]) < 0)
            return -ENOMEM;
    for (size_t i = 0; i < src->rlimits.n; i++)
        if (rlimit_list_add(&plan->rlimits, &src->rlimits.v[i]) < 0)
            return -ENOMEM;

    if (cfg) {
        plan->have_ids = cfg->have_ids;
        plan->uid = cfg->uid;
        plan->gid = cfg->gid;
        plan->groups = cfg->groups;
        plan->n_groups = cfg->n_groups;
        plan->user = cfg->have_ids ? NULL : cfg->user;
        plan->have_umask = cfg->have_umask;
        plan->umask = cfg->umask;
        plan->tmpfs = cfg->tmpfs;
        plan->n_tmpfs = cfg->n_tmpfs;
    }

    const char *host = env_get(&plan->env, "HOSTNAME");
    if (!host || !*host)
        host = cfg && cfg->hostname ? cfg->hostname : DEFAULT_HOSTNAME;
    plan->hostname = host;
    return 0;
}

int plan_finish_env(struct plan *plan, uint32_t uid, const char *home)
{
    struct env *env = &plan->env;
    if (!home)
        home = uid == 0 ? "/root" : "/";
    if (env_set(env, "PATH", DEFAULT_PATH, ENV_KEEP) < 0 ||
        env_set(env, "HOME", home, ENV_KEEP) < 0 ||
        env_set(env, "TERM", DEFAULT_TERM, ENV_KEEP) < 0)
        return -ENOMEM;
    strv_release(&plan->envp);
    for (size_t i = 0; i < env->vars.n; i++)
        if (!plan_is_init_variable(env->vars.v[i]) && strv_push(&plan->envp, env->vars.v[i]) < 0)
            return -ENOMEM;
    return 0;
}

void plan_free(struct plan *plan)
{
    strv_release(&plan->argv);
    strv_release(&plan->envp);
    env_free(&plan->env);
    rlimit_list_free(&plan->rlimits);
    memset(plan, 0, sizeof(*plan));
}
