/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The workload described by a JSON config ($KRUN_CONFIG or
 * /.krun_config.json): an OCI runtime spec (crun) or a Docker image config
 * (muvm writes {"Config": {...}}), found at any depth. The process keys are
 * all taken from one object: the shallowest one, in document order, that
 * has any of args/env/cwd/Cmd/Entrypoint/Env/WorkingDir/Cwd. Subtrees that
 * describe other processes (hooks, container_config, history) and free-form
 * maps (annotations, labels) are not searched.
 */
#ifndef KRUN_INIT_CONFIG_H
#define KRUN_INIT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "rlimit.h"
#include "strv.h"
#include "abi/guest_abi.h"

#define CONFIG_MAX_SIZE (4u << 20)

struct tmpfs_mount {
    const char *dest;
    char *options; /* OCI options joined with ',' (owned); "" if none */
};

struct json_config {
    struct strv args; /* process.args, or Entrypoint + Cmd; may be empty */
    struct strv env;  /* NAME=VALUE */
    const char *cwd;  /* or NULL */

    bool have_ids; /* OCI process.user */
    uint32_t uid, gid;
    uint32_t *groups; /* additionalGids */
    size_t n_groups;
    bool have_umask;
    uint32_t umask;
    const char *user; /* Docker "User": "uid[:gid]" or names; or NULL */

    struct rlimit_list rlimits;
    const char *hostname;
    struct tmpfs_mount *tmpfs;
    size_t n_tmpfs;
};

/* Extract the config from a parsed document; strings are borrowed from it.
 * Returns 0, or -1 with a message in err. Call config_free either way. */
int config_from_json(const struct json_value *root, struct json_config *cfg, char *err,
                     size_t errlen);

void config_free(struct json_config *cfg);

#endif
