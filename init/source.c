/* SPDX-License-Identifier: Apache-2.0 */
#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

const char *source_env_get(const struct strv *env, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = env->n; i-- > 0;) {
        const char *e = env->v[i];
        if (strncmp(e, name, len) == 0 && e[len] == '=')
            return e + len + 1;
    }
    return NULL;
}

/* An unset or empty variable means "not given". */
static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

static void take_default(const char **field, const struct strv *env, const char *name)
{
    if (!*field)
        *field = nonempty(source_env_get(env, name));
}

/* KRUN_* variables are how upstream passes the workload; in the workload
 * file they only fill what no record gave, so both paths agree. */
static int apply_controls(struct wl_source *src)
{
    take_default(&src->exec, &src->env, KRUN_ENV_INIT);
    take_default(&src->workdir, &src->env, KRUN_ENV_WORKDIR);
    take_default(&src->block_device, &src->env, KRUN_ENV_BLOCK_ROOT_DEVICE);
    take_default(&src->block_fstype, &src->env, KRUN_ENV_BLOCK_ROOT_FSTYPE);
    take_default(&src->block_options, &src->env, KRUN_ENV_BLOCK_ROOT_OPTIONS);
    take_default(&src->config_path, &src->env, KRUN_ENV_CONFIG);
    take_default(&src->dhcp, &src->env, KRUN_ENV_DHCP);
    const char *rl = source_env_get(&src->env, KRUN_ENV_RLIMITS);
    if (rl && src->rlimits.n == 0) {
        int bad = rlimit_parse_list(rl, &src->rlimits);
        if (bad < 0)
            return bad;
        if (bad > 0)
            init_log("KRUN_RLIMITS: ignoring %d malformed item(s) in \"%s\"", bad, rl);
    }
    return 0;
}

int source_from_cmdline(char *const *envp, int argc, char *const *argv, struct wl_source *src)
{
    memset(src, 0, sizeof(*src));
    for (size_t i = 0; envp && envp[i]; i++)
        if (strv_push(&src->env, envp[i]) < 0)
            return -ENOMEM;
    for (int i = 1; i < argc; i++)
        if (strv_push(&src->args, argv[i]) < 0)
            return -ENOMEM;
    return apply_controls(src);
}

static int set_once(const char **field, const char *key, const char *value, char *err,
                    size_t errlen)
{
    if (*field) {
        snprintf(err, errlen, "workload file: key \"%s\" given twice", key);
        return -1;
    }
    *field = value;
    return 0;
}

static int add_record(struct wl_source *src, const char *key, const char *value, char *err,
                      size_t errlen)
{
    int r = 0;
    if (strcmp(key, KRUN_WORKLOAD_KEY_ARG) == 0) {
        r = strv_push(&src->args, (char *)value);
    } else if (strcmp(key, KRUN_WORKLOAD_KEY_ENV) == 0) {
        r = strv_push(&src->env, (char *)value);
    } else if (strcmp(key, KRUN_WORKLOAD_KEY_RLIMIT) == 0) {
        struct rlimit_spec spec;
        if (rlimit_parse(value, &spec) < 0)
            init_log("workload file: ignoring malformed rlimit \"%s\"", value);
        else
            r = rlimit_list_add(&src->rlimits, &spec);
    } else if (strcmp(key, KRUN_WORKLOAD_KEY_EXEC) == 0) {
        return set_once(&src->exec, key, value, err, errlen);
    } else if (strcmp(key, KRUN_WORKLOAD_KEY_WORKDIR) == 0) {
        return set_once(&src->workdir, key, value, err, errlen);
    } else if (strcmp(key, KRUN_WORKLOAD_KEY_BLOCK_DEVICE) == 0) {
        return set_once(&src->block_device, key, value, err, errlen);
    } else if (strcmp(key, KRUN_WORKLOAD_KEY_BLOCK_FSTYPE) == 0) {
        return set_once(&src->block_fstype, key, value, err, errlen);
    } else if (strcmp(key, KRUN_WORKLOAD_KEY_BLOCK_OPTIONS) == 0) {
        return set_once(&src->block_options, key, value, err, errlen);
    } else if (strcmp(key, KRUN_WORKLOAD_MAGIC) == 0) {
        snprintf(err, errlen, "workload file: version record repeated");
        return -1;
    }
    /* Any other key is from a newer VMM: ignored, on purpose. */
    if (r < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int wlfile_parse(const char *buf, size_t len, struct wl_source *src, char *err, size_t errlen)
{
    memset(src, 0, sizeof(*src));
    src->from_file = true;
    size_t pos = 0;
    for (size_t rec = 0; pos < len; rec++) {
        const char *key = buf + pos;
        const char *kend = memchr(key, '\0', len - pos);
        if (!kend) {
            snprintf(err, errlen, "workload file: unterminated key at byte %zu", pos);
            return -1;
        }
        pos = (size_t)(kend - buf) + 1;
        const char *value = buf + pos;
        const char *vend = pos < len ? memchr(value, '\0', len - pos) : NULL;
        if (!vend) {
            snprintf(err, errlen, "workload file: record \"%.64s\" has no terminated value", key);
            return -1;
        }
        pos = (size_t)(vend - buf) + 1;
        if (*key == '\0') {
            snprintf(err, errlen, "workload file: empty key");
            return -1;
        }
        if (rec == 0) {
            if (strcmp(key, KRUN_WORKLOAD_MAGIC) != 0) {
                snprintf(err, errlen, "workload file: no version record");
                return -1;
            }
            if (strcmp(value, KRUN_WORKLOAD_VERSION) != 0) {
                snprintf(err, errlen, "workload file: unsupported version \"%.32s\"", value);
                return -1;
            }
            continue;
        }
        if (add_record(src, key, value, err, errlen) < 0)
            return -1;
    }
    if (pos == 0) {
        snprintf(err, errlen, "workload file: empty");
        return -1;
    }
    if (apply_controls(src) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void source_free(struct wl_source *src)
{
    strv_release(&src->args);
    strv_release(&src->env);
    rlimit_list_free(&src->rlimits);
    memset(src, 0, sizeof(*src));
}
