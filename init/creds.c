/* SPDX-License-Identifier: Apache-2.0 */
#include "creds.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int creds_split_user(const char *spec, char *buf, size_t buflen, const char **user,
                     const char **group)
{
    size_t len = strlen(spec);
    if (len + 1 > buflen)
        return -EINVAL;
    memcpy(buf, spec, len + 1);
    char *colon = strchr(buf, ':');
    *group = NULL;
    if (colon) {
        *colon = '\0';
        *group = colon + 1;
    }
    *user = buf;
    return **user ? 0 : -EINVAL;
}

int creds_parse_id(const char *s, unsigned *out)
{
    unsigned long long v = 0;
    if (!*s)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        v = v * 10 + (unsigned)(*s - '0');
        if (v >= 0xFFFFFFFFull)
            return -EINVAL;
    }
    *out = (unsigned)v;
    return 0;
}

static int set_groups(struct creds *c, const uint32_t *ids, size_t n)
{
    c->groups = calloc(n ? n : 1, sizeof(gid_t));
    if (!c->groups)
        return -1;
    for (size_t i = 0; i < n; i++)
        c->groups[i] = (gid_t)ids[i];
    c->n_groups = n;
    return 0;
}

/* Supplementary groups of a named user from /etc/group, like Docker. */
static int member_groups(struct creds *c, const char *name)
{
    int n = 16;
    for (int tries = 0; tries < 8; tries++) {
        gid_t *g = calloc((size_t)n, sizeof(gid_t));
        if (!g)
            return -1;
        int got = n;
        if (getgrouplist(name, c->gid, g, &got) >= 0) {
            c->groups = g;
            c->n_groups = (size_t)got;
            return 0;
        }
        free(g);
        if (got <= n)
            n *= 2;
        else
            n = got;
    }
    return -1;
}

static int resolve_docker(const char *spec, struct creds *c, char *err, size_t errlen)
{
    size_t len = strlen(spec) + 1;
    char *buf = malloc(len);
    const char *user, *group;
    unsigned id;
    struct passwd *pw = NULL;
    int r = -1;
    if (!buf || creds_split_user(spec, buf, len, &user, &group) < 0) {
        snprintf(err, errlen, "bad user \"%s\"", spec);
        goto out;
    }
    if (creds_parse_id(user, &id) == 0) {
        c->uid = id;
        pw = getpwuid(id);
    } else if ((pw = getpwnam(user)) != NULL) {
        c->uid = pw->pw_uid;
    } else {
        snprintf(err, errlen, "user \"%s\" not found in /etc/passwd", user);
        goto out;
    }
    /* Docker: without a group, the user's primary group, else root's. */
    c->gid = pw ? pw->pw_gid : 0;
    if (group && *group) {
        struct group *gr;
        if (creds_parse_id(group, &id) == 0) {
            c->gid = id;
        } else if ((gr = getgrnam(group)) != NULL) {
            c->gid = gr->gr_gid;
        } else {
            snprintf(err, errlen, "group \"%s\" not found in /etc/group", group);
            goto out;
        }
    }
    if (pw ? member_groups(c, pw->pw_name) < 0 : set_groups(c, NULL, 0) < 0) {
        snprintf(err, errlen, "supplementary groups of \"%s\": out of memory", user);
        goto out;
    }
    if (pw && pw->pw_dir && *pw->pw_dir && !(c->home = strdup(pw->pw_dir))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    c->set = true;
    r = 0;
out:
    free(buf);
    return r;
}

int creds_resolve(const struct plan *plan, struct creds *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    if (plan->have_ids) {
        c->uid = plan->uid;
        c->gid = plan->gid;
        if (set_groups(c, plan->groups, plan->n_groups) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        c->set = true;
        return 0;
    }
    if (plan->user)
        return resolve_docker(plan->user, c, err, errlen);
    return 0;
}

void creds_free(struct creds *c)
{
    free(c->groups);
    free(c->home);
    memset(c, 0, sizeof(*c));
}
