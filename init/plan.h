/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plan: everything the init will do for the workload, merged from the
 * workload source (file or KRUN_* environment) and the JSON config, by the
 * rules of docs/guest-contract.md. Pure: no system calls, so it is tested
 * on the host.
 */
#ifndef KRUN_INIT_PLAN_H
#define KRUN_INIT_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "env.h"
#include "rlimit.h"
#include "source.h"
#include "strv.h"
#include "abi/guest_abi.h"

#define DEFAULT_PATH     "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_TERM     "xterm"
#define DEFAULT_HOSTNAME "localhost"
#define DEFAULT_SHELL    "/bin/sh"

struct plan {
    struct strv argv; /* strings borrowed from the sources */
    struct env env;   /* merged environment */
    struct strv envp; /* env without the init's own variables (plan_finish_env) */
    const char *workdir;
    struct rlimit_list rlimits; /* in the order they are applied */
    bool have_ids;              /* numeric credentials from the OCI spec */
    uint32_t uid, gid;
    const uint32_t *groups;
    size_t n_groups;
    const char *user; /* Docker "User", resolved at run time */
    bool have_umask;
    uint32_t umask;
    const char *hostname;
    bool pid1; /* KRUN_INIT_PID1: exec the workload as PID 1 */
    const struct tmpfs_mount *tmpfs;
    size_t n_tmpfs;
};

/* Merge; cfg may be NULL (no JSON config). Returns 0 or -ENOMEM. The plan
 * borrows from src and cfg. */
int plan_build(const struct wl_source *src, const struct json_config *cfg, struct plan *plan);

/* Fill the defaults that depend on the final user (PATH; HOME: home if
 * not NULL, else /root for uid 0 and / for others; TERM) and build envp.
 * Returns 0 or -ENOMEM. */
int plan_finish_env(struct plan *plan, uint32_t uid, const char *home);

/* True for the variables that configure the init rather than the workload;
 * they are not passed on. */
bool plan_is_init_variable(const char *entry);

void plan_free(struct plan *plan);

#endif
