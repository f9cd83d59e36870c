/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: init/source.c init/rlimit.c init/strv.c */
/*
 * The guest init's parser of /.krun_workload (docs/guest-contract.md) on
 * arbitrary bytes, in a buffer of exactly that size so that any read past
 * it is caught. No crash, no leak, and:
 *   - a refused file comes with a message;
 *   - every string of an accepted file lies in the buffer, NUL-terminated
 *     there; the argument and environment lists are NULL-terminated;
 *   - the arguments and environment are the arg and env records, in
 *     order; exec, workdir and the block root are their records' values
 *     (or the KRUN_* variable's, when no record gives them); the config
 *     path and the DHCP interfaces are KRUN_CONFIG's and KRUN_DHCP's;
 *   - every accepted rlimit has an id of 0 to 15 and cur <= max.
 * The records are walked here independently of the parser to check this.
 * init_log is replaced by a silent one (the parser warns about malformed
 * rlimits), so that the fuzzer's output stays readable.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../init/log.h"
#include "../../init/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void init_log(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
}

static const char *buf_start, *buf_end;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_init_workload: %s\n", what);
    abort();
}

/* s is NULL, or a NUL-terminated string inside the input buffer. */
static void check_str(const char *s)
{
    if (!s)
        return;
    if (s < buf_start || s >= buf_end || !memchr(s, '\0', (size_t)(buf_end - s)))
        fail("a string outside the buffer or not terminated in it");
}

static void check_strv(const struct strv *v)
{
    if (v->n == 0)
        return;
    if (!v->v || v->v[v->n] != NULL)
        fail("a list that is not NULL-terminated");
    for (size_t i = 0; i < v->n; i++)
        check_str(v->v[i]);
}

/* The last value of an env record NAME=..., nonempty, as the parser takes KRUN_* variables. */
static const char *env_value(const struct strv *env, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = env->n; i-- > 0;)
        if (strncmp(env->v[i], name, len) == 0 && env->v[i][len] == '=')
            return env->v[i][len + 1] ? env->v[i] + len + 1 : NULL;
    return NULL;
}

/* A field is its record's value, else the variable's. */
static void check_field(const char *got, const char *record, const struct strv *env,
                        const char *var)
{
    const char *want = record ? record : env_value(env, var);
    if (got != want && !(got && want && strcmp(got, want) == 0))
        fail("a field that is neither its record nor its KRUN_* variable");
}

/* Walk the records of an accepted file again and compare. */
static void check_records(const struct wl_source *src)
{
    const char *p = buf_start;
    size_t n_args = 0, n_env = 0;
    const char *exec = NULL, *workdir = NULL, *dev = NULL, *fstype = NULL, *opts = NULL;
    for (bool first = true; p < buf_end; first = false) {
        const char *key = p, *value = key + strlen(key) + 1, *next = value + strlen(value) + 1;
        if (next > buf_end)
            fail("an accepted file whose records run past its end");
        p = next;
        if (first)
            continue;
        if (strcmp(key, "arg") == 0) {
            if (n_args >= src->args.n || src->args.v[n_args++] != value)
                fail("arguments that are not the arg records in order");
        } else if (strcmp(key, "env") == 0) {
            if (n_env >= src->env.n || src->env.v[n_env++] != value)
                fail("an environment that is not the env records in order");
        } else if (strcmp(key, "exec") == 0) {
            exec = value;
        } else if (strcmp(key, "workdir") == 0) {
            workdir = value;
        } else if (strcmp(key, "block-root-device") == 0) {
            dev = value;
        } else if (strcmp(key, "block-root-fstype") == 0) {
            fstype = value;
        } else if (strcmp(key, "block-root-options") == 0) {
            opts = value;
        }
    }
    if (n_args != src->args.n || n_env != src->env.n)
        fail("more arguments or variables than records");
    check_field(src->exec, exec, &src->env, KRUN_ENV_INIT);
    check_field(src->workdir, workdir, &src->env, KRUN_ENV_WORKDIR);
    check_field(src->block_device, dev, &src->env, KRUN_ENV_BLOCK_ROOT_DEVICE);
    check_field(src->block_fstype, fstype, &src->env, KRUN_ENV_BLOCK_ROOT_FSTYPE);
    check_field(src->block_options, opts, &src->env, KRUN_ENV_BLOCK_ROOT_OPTIONS);
    check_field(src->config_path, NULL, &src->env, KRUN_ENV_CONFIG);
    check_field(src->dhcp, NULL, &src->env, KRUN_ENV_DHCP);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf_start = buf;
    buf_end = buf + size;

    struct wl_source src;
    char err[256] = "";
    int rc = wlfile_parse(buf, size, &src, err, sizeof(err));
    if (rc != 0) {
        if (rc != -1 || !err[0])
            fail("a file refused without a message");
    } else {
        if (!src.from_file)
            fail("from_file not set");
        check_str(src.exec);
        check_str(src.workdir);
        check_str(src.block_device);
        check_str(src.block_fstype);
        check_str(src.block_options);
        check_str(src.config_path);
        check_str(src.dhcp);
        check_strv(&src.args);
        check_strv(&src.env);
        for (size_t i = 0; i < src.rlimits.n; i++) {
            const struct rlimit_spec *r = &src.rlimits.v[i];
            if (r->resource < 0 || r->resource > RLIMIT_ID_MAX || r->cur > r->max)
                fail("an rlimit with a bad id or cur > max");
        }
        check_records(&src);
    }
    source_free(&src);
    free(buf);
    return 0;
}
