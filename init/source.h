/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where the workload comes from, before the JSON config is merged in:
 * either the workload file (/.krun_workload, libkrun-c) or the upstream
 * KRUN_* environment and argv after "--". Both fill the same struct; the
 * strings are borrowed from the file buffer or from the init's own
 * environment and argv, which live as long as the init.
 */
#ifndef KRUN_INIT_SOURCE_H
#define KRUN_INIT_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "rlimit.h"
#include "strv.h"
#include "abi/guest_abi.h"

struct wl_source {
    bool from_file;
    const char *exec;    /* the program (KRUN_INIT), or NULL */
    struct strv args;    /* its arguments, without argv[0] */
    struct strv env;     /* NAME=VALUE entries in order; later ones win */
    const char *workdir; /* or NULL */
    struct rlimit_list rlimits;
    const char *block_device;  /* or NULL: the root stays virtio-fs */
    const char *block_fstype;  /* NULL or "auto": probe */
    const char *block_options; /* mount data, or NULL */
    const char *config_path;   /* KRUN_CONFIG, or NULL */
    const char *dhcp;          /* KRUN_DHCP, or NULL */
};

/* Parse the records of a workload file; buf must outlive src. Returns 0,
 * or -1 with a message in err. Call source_free either way. */
int wlfile_parse(const char *buf, size_t len, struct wl_source *src, char *err, size_t errlen);

/* Source 2: the init's environment and its argv (argv[1..] are the
 * arguments after "--"). Returns 0 or -ENOMEM. */
int source_from_cmdline(char *const *envp, int argc, char *const *argv, struct wl_source *src);

/* The last value of name in a NAME=VALUE list, or NULL. */
const char *source_env_get(const struct strv *env, const char *name);

void source_free(struct wl_source *src);

#endif
