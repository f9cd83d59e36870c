/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *const process_keys[] = {
    "args", "env", "cwd", "Cmd", "Entrypoint", "Env", "WorkingDir", "Cwd", NULL,
};

static const char *const skipped_keys[] = {
    "hooks",           "annotations", "labels", "Labels", "container_config",
    "ContainerConfig", "history",     NULL,
};

static bool key_is(const struct json_value *v, const char *key)
{
    size_t len = strlen(key);
    return v->key && v->key_len == len && memcmp(v->key, key, len) == 0;
}

static bool key_in(const struct json_value *v, const char *const *keys)
{
    for (; *keys; keys++)
        if (key_is(v, *keys))
            return true;
    return false;
}

static bool has_any_member(const struct json_value *obj, const char *const *keys)
{
    for (const struct json_value *c = obj->child; c; c = c->next)
        if (key_in(c, keys))
            return true;
    return false;
}

/* Depth-first, but only a strictly shallower match replaces the best one,
 * so the result is the shallowest match, the first in document order. The
 * recursion is bounded by the parser's depth limit. */
static void find_shallowest(const struct json_value *v, int depth, const char *const *keys,
                            const struct json_value **best, int *best_depth)
{
    if (depth >= *best_depth)
        return;
    if (v->type == JSON_OBJECT && has_any_member(v, keys)) {
        *best = v;
        *best_depth = depth;
        return;
    }
    if (v->type != JSON_OBJECT && v->type != JSON_ARRAY)
        return;
    for (const struct json_value *c = v->child; c; c = c->next)
        if (!key_in(c, skipped_keys))
            find_shallowest(c, depth + 1, keys, best, best_depth);
}

static const struct json_value *find_object_with(const struct json_value *root,
                                                 const char *const *keys)
{
    const struct json_value *best = NULL;
    int best_depth = JSON_MAX_DEPTH + 1;
    find_shallowest(root, 0, keys, &best, &best_depth);
    return best;
}

static int bad(char *err, size_t errlen, const char *key, const char *what)
{
    snprintf(err, errlen, "config: \"%s\" must be %s", key, what);
    return -1;
}

static int oom(char *err, size_t errlen)
{
    snprintf(err, errlen, "config: out of memory");
    return -1;
}

/* Strings of an array (or of a single string when allowed); null or a
 * missing key add nothing. */
static int get_strings(const struct json_value *obj, const char *key, bool allow_string,
                       struct strv *out, char *err, size_t errlen)
{
    const struct json_value *v = json_member(obj, key);
    if (!v || v->type == JSON_NULL)
        return 0;
    if (allow_string && v->type == JSON_STRING) {
        if (!json_is_cstr(v))
            return bad(err, errlen, key, "a string without NUL");
        return strv_push(out, (char *)v->str) < 0 ? oom(err, errlen) : 0;
    }
    if (v->type != JSON_ARRAY)
        return bad(err, errlen, key, "an array of strings");
    for (const struct json_value *c = v->child; c; c = c->next) {
        if (!json_is_cstr(c))
            return bad(err, errlen, key, "an array of strings");
        if (strv_push(out, (char *)c->str) < 0)
            return oom(err, errlen);
    }
    return 0;
}

/* A string member or NULL; "" counts as absent. */
static int get_string(const struct json_value *obj, const char *key, const char **out, char *err,
                      size_t errlen)
{
    const struct json_value *v = json_member(obj, key);
    if (!v || v->type == JSON_NULL)
        return 0;
    if (!json_is_cstr(v))
        return bad(err, errlen, key, "a string");
    if (v->len > 0)
        *out = v->str;
    return 0;
}

static int get_u32(const struct json_value *obj, const char *key, bool *have, uint32_t *out,
                   char *err, size_t errlen)
{
    const struct json_value *v = json_member(obj, key);
    uint64_t n;
    if (!v || v->type == JSON_NULL)
        return 0;
    /* (uint32_t)-1 means "no id" to the kernel. */
    if (json_to_u64(v, &n) < 0 || n >= UINT32_MAX)
        return bad(err, errlen, key, "a 32-bit id");
    *out = (uint32_t)n;
    if (have)
        *have = true;
    return 0;
}

static int get_user(const struct json_value *proc, struct json_config *cfg, char *err,
                    size_t errlen)
{
    const struct json_value *u = json_member(proc, "user");
    if (u && u->type == JSON_OBJECT) {
        cfg->have_ids = true;
        if (get_u32(u, "uid", NULL, &cfg->uid, err, errlen) < 0 ||
            get_u32(u, "gid", NULL, &cfg->gid, err, errlen) < 0 ||
            get_u32(u, "umask", &cfg->have_umask, &cfg->umask, err, errlen) < 0)
            return -1;
        const struct json_value *g = json_member(u, "additionalGids");
        if (g && g->type != JSON_NULL) {
            if (g->type != JSON_ARRAY)
                return bad(err, errlen, "additionalGids", "an array of ids");
            cfg->groups = calloc(g->len ? g->len : 1, sizeof(uint32_t));
            if (!cfg->groups)
                return oom(err, errlen);
            for (const struct json_value *c = g->child; c; c = c->next) {
                uint64_t n;
                if (json_to_u64(c, &n) < 0 || n >= UINT32_MAX)
                    return bad(err, errlen, "additionalGids", "an array of ids");
                cfg->groups[cfg->n_groups++] = (uint32_t)n;
            }
        }
    } else if (u && u->type != JSON_NULL) {
        return bad(err, errlen, "user", "an object");
    }
    return get_string(proc, "User", &cfg->user, err, errlen);
}

static int get_rlimits(const struct json_value *proc, struct json_config *cfg, char *err,
                       size_t errlen)
{
    const struct json_value *r = json_member(proc, "rlimits");
    if (!r || r->type == JSON_NULL)
        return 0;
    if (r->type != JSON_ARRAY)
        return bad(err, errlen, "rlimits", "an array");
    for (const struct json_value *c = r->child; c; c = c->next) {
        const struct json_value *type = json_member(c, "type");
        struct rlimit_spec spec;
        if (!json_is_cstr(type) || json_to_u64(json_member(c, "soft"), &spec.cur) < 0 ||
            json_to_u64(json_member(c, "hard"), &spec.max) < 0)
            return bad(err, errlen, "rlimits", "{type, soft, hard} objects");
        spec.resource = rlimit_id_by_name(type->str);
        if (spec.resource < 0 || spec.cur > spec.max) {
            init_log("config: ignoring rlimit %s", type->str);
            continue;
        }
        if (rlimit_list_add(&cfg->rlimits, &spec) < 0)
            return oom(err, errlen);
    }
    return 0;
}

static char *join_options(const struct json_value *opts)
{
    size_t len = 1;
    if (opts && opts->type == JSON_ARRAY)
        for (const struct json_value *c = opts->child; c; c = c->next)
            if (json_is_cstr(c))
                len += c->len + 1;
    char *s = malloc(len), *p = s;
    if (!s)
        return NULL;
    if (opts && opts->type == JSON_ARRAY)
        for (const struct json_value *c = opts->child; c; c = c->next) {
            if (!json_is_cstr(c))
                continue;
            if (p != s)
                *p++ = ',';
            memcpy(p, c->str, c->len);
            p += c->len;
        }
    *p = '\0';
    return s;
}

/* Only tmpfs mounts matter in the guest; the host runtime did the rest. */
static int get_mounts(const struct json_value *root, struct json_config *cfg, char *err,
                      size_t errlen)
{
    static const char *const keys[] = {"mounts", NULL};
    const struct json_value *m = json_member(find_object_with(root, keys), "mounts");
    if (!m || m->type != JSON_ARRAY)
        return 0;
    cfg->tmpfs = calloc(m->len ? m->len : 1, sizeof(*cfg->tmpfs));
    if (!cfg->tmpfs)
        return oom(err, errlen);
    for (const struct json_value *c = m->child; c; c = c->next) {
        const struct json_value *type = json_member(c, "type");
        const struct json_value *dest = json_member(c, "destination");
        if (!json_is_cstr(type) || strcmp(type->str, "tmpfs") != 0)
            continue;
        if (!json_is_cstr(dest) || dest->str[0] != '/') {
            init_log("config: ignoring a tmpfs mount without an absolute destination");
            continue;
        }
        char *opts = join_options(json_member(c, "options"));
        if (!opts)
            return oom(err, errlen);
        cfg->tmpfs[cfg->n_tmpfs].dest = dest->str;
        cfg->tmpfs[cfg->n_tmpfs++].options = opts;
    }
    return 0;
}

static int get_hostname(const struct json_value *root, struct json_config *cfg, char *err,
                        size_t errlen)
{
    static const char *const keys[] = {"hostname", NULL};
    const struct json_value *obj = find_object_with(root, keys);
    return obj ? get_string(obj, "hostname", &cfg->hostname, err, errlen) : 0;
}

static int get_process(const struct json_value *p, struct json_config *cfg, char *err,
                       size_t errlen)
{
    if (json_member(p, "args")) {
        if (get_strings(p, "args", false, &cfg->args, err, errlen) < 0)
            return -1;
    } else if (get_strings(p, "Entrypoint", true, &cfg->args, err, errlen) < 0 ||
               get_strings(p, "Cmd", true, &cfg->args, err, errlen) < 0) {
        return -1;
    }
    const char *env_key = json_member(p, "env") ? "env" : "Env";
    if (get_strings(p, env_key, false, &cfg->env, err, errlen) < 0)
        return -1;
    if (get_string(p, "cwd", &cfg->cwd, err, errlen) < 0 ||
        (!cfg->cwd && get_string(p, "WorkingDir", &cfg->cwd, err, errlen) < 0) ||
        (!cfg->cwd && get_string(p, "Cwd", &cfg->cwd, err, errlen) < 0))
        return -1;
    if (get_user(p, cfg, err, errlen) < 0)
        return -1;
    return get_rlimits(p, cfg, err, errlen);
}

int config_from_json(const struct json_value *root, struct json_config *cfg, char *err,
                     size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    const struct json_value *proc = find_object_with(root, process_keys);
    if (proc && get_process(proc, cfg, err, errlen) < 0)
        return -1;
    if (get_hostname(root, cfg, err, errlen) < 0)
        return -1;
    return get_mounts(root, cfg, err, errlen);
}

void config_free(struct json_config *cfg)
{
    strv_release(&cfg->args);
    strv_release(&cfg->env);
    free(cfg->groups);
    rlimit_list_free(&cfg->rlimits);
    for (size_t i = 0; i < cfg->n_tmpfs; i++)
        free(cfg->tmpfs[i].options);
    free(cfg->tmpfs);
    memset(cfg, 0, sizeof(*cfg));
}
