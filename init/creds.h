/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The workload's credentials: numeric ids from an OCI spec, or a Docker
 * "User" ("uid", "uid:gid", "name", "name:group"), names looked up in the
 * guest root's /etc/passwd and /etc/group.
 */
#ifndef KRUN_INIT_CREDS_H
#define KRUN_INIT_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "plan.h"

struct creds {
    bool set; /* false: stay root, change nothing */
    uid_t uid;
    gid_t gid;
    gid_t *groups; /* supplementary groups */
    size_t n_groups;
    char *home; /* the passwd entry's home directory, or NULL */
};

/* Split a Docker user spec at ':'. *user and *group point into buf (at
 * least strlen(spec)+1 bytes); *group is NULL without ':'. Returns 0, or
 * -EINVAL for an empty user part or a buffer too small. */
int creds_split_user(const char *spec, char *buf, size_t buflen, const char **user,
                     const char **group);

/* A decimal id below (uint32_t)-1, or -EINVAL. */
int creds_parse_id(const char *s, unsigned *out);

/* Resolve the plan's credentials. Returns 0, or -1 with a message in err. */
int creds_resolve(const struct plan *plan, struct creds *c, char *err, size_t errlen);

void creds_free(struct creds *c);

#endif
