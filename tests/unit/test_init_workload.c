/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: init/source.c init/rlimit.c init/strv.c init/log.c */
/* Workload sources: the /.krun_workload records and the upstream KRUN_*
 * environment with argv after "--". */
#include "../../init/source.h"

#include "test.h"

struct buf {
    char *p;
    size_t len;
};

static void rec(struct buf *b, const char *key, const char *value)
{
    size_t kl = strlen(key) + 1, vl = strlen(value) + 1;
    b->p = realloc(b->p, b->len + kl + vl);
    memcpy(b->p + b->len, key, kl);
    memcpy(b->p + b->len + kl, value, vl);
    b->len += kl + vl;
}

static void raw(struct buf *b, const char *bytes, size_t n)
{
    b->p = realloc(b->p, b->len + n);
    memcpy(b->p + b->len, bytes, n);
    b->len += n;
}

static int parse(struct buf *b, struct wl_source *src, char *err)
{
    return wlfile_parse(b->p, b->len, src, err, 256);
}

static void test_records(void)
{
    struct buf b = {0};
    struct wl_source src;
    char err[256];
    rec(&b, "krun-workload", "1");
    rec(&b, "exec", "/usr/bin/printf");
    rec(&b, "arg", "two words");
    rec(&b, "env", "Q=\"double\" 'single' a=b");
    rec(&b, "arg", "caf\xc3\xa9 \xe2\x82\xac");
    rec(&b, "arg", "");
    rec(&b, "workdir", "/work dir");
    rec(&b, "rlimit", "7=1024:4096");
    rec(&b, "rlimit", "6:10:20");
    rec(&b, "rlimit", "bogus");
    rec(&b, "env", "EMPTY=");
    rec(&b, "block-root-device", "/dev/vda");
    rec(&b, "block-root-fstype", "ext4");
    rec(&b, "block-root-options", "ro,noatime");
    rec(&b, "future-key", "whatever");
    CHECK_EQ(parse(&b, &src, err), 0);
    CHECK(src.from_file);
    CHECK_STR(src.exec, "/usr/bin/printf");
    CHECK_EQ(src.args.n, 3);
    CHECK_STR(src.args.v[0], "two words");
    CHECK_STR(src.args.v[1], "caf\xc3\xa9 \xe2\x82\xac");
    CHECK_STR(src.args.v[2], "");
    CHECK(src.args.v[3] == NULL);
    CHECK_EQ(src.env.n, 2);
    CHECK_STR(src.env.v[0], "Q=\"double\" 'single' a=b");
    CHECK_STR(src.workdir, "/work dir");
    CHECK_EQ(src.rlimits.n, 2);
    CHECK_EQ(src.rlimits.v[0].resource, 7);
    CHECK_EQ(src.rlimits.v[1].resource, 6);
    CHECK_EQ(src.rlimits.v[1].max, 20);
    CHECK_STR(src.block_device, "/dev/vda");
    CHECK_STR(src.block_fstype, "ext4");
    CHECK_STR(src.block_options, "ro,noatime");
    CHECK(src.config_path == NULL);
    source_free(&src);
    free(b.p);
}

static void expect_error(struct buf *b, const char *msg)
{
    struct wl_source src;
    char err[256] = "";
    CHECK_EQ(parse(b, &src, err), -1);
    if (!strstr(err, msg)) {
        fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, msg);
        CHECK(0);
    }
    source_free(&src);
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static void test_errors(void)
{
    struct buf b = {0};
    b.p = malloc(1);
    expect_error(&b, "empty");

    rec(&b, "exec", "/bin/sh");
    expect_error(&b, "no version record");

    rec(&b, "krun-workload", "2");
    expect_error(&b, "unsupported version");

    rec(&b, "krun-workload", "1");
    raw(&b, "exec", 4);
    expect_error(&b, "unterminated key");

    rec(&b, "krun-workload", "1");
    raw(&b, "exec\0/bin/sh", 12);
    expect_error(&b, "no terminated value");

    rec(&b, "krun-workload", "1");
    raw(&b, "exec\0", 5);
    expect_error(&b, "no terminated value");

    rec(&b, "krun-workload", "1");
    rec(&b, "", "x");
    expect_error(&b, "empty key");

    rec(&b, "krun-workload", "1");
    rec(&b, "exec", "/a");
    rec(&b, "exec", "/b");
    expect_error(&b, "given twice");

    rec(&b, "krun-workload", "1");
    rec(&b, "workdir", "/a");
    rec(&b, "workdir", "/a");
    expect_error(&b, "given twice");

    rec(&b, "krun-workload", "1");
    rec(&b, "krun-workload", "1");
    expect_error(&b, "repeated");
}

static void test_many(void)
{
    struct buf b = {0};
    struct wl_source src;
    char err[256], tmp[64];
    rec(&b, "krun-workload", "1");
    rec(&b, "exec", "/bin/true");
    for (int i = 0; i < 1000; i++) {
        snprintf(tmp, sizeof(tmp), "arg %d", i);
        rec(&b, "arg", tmp);
        snprintf(tmp, sizeof(tmp), "V%d=%d", i, i);
        rec(&b, "env", tmp);
    }
    CHECK_EQ(parse(&b, &src, err), 0);
    CHECK_EQ(src.args.n, 1000);
    CHECK_EQ(src.env.n, 1000);
    CHECK_STR(src.args.v[999], "arg 999");
    CHECK_STR(src.env.v[500], "V500=500");
    CHECK(src.args.v[1000] == NULL);
    source_free(&src);
    free(b.p);
}

static void test_file_env_controls(void)
{
    /* KRUN_* variables among the env records fill what no record gave. */
    struct buf b = {0};
    struct wl_source src;
    char err[256];
    rec(&b, "krun-workload", "1");
    rec(&b, "env", "KRUN_INIT=/from/env");
    rec(&b, "env", "KRUN_WORKDIR=/env/dir");
    rec(&b, "env", "KRUN_RLIMITS=6=1:2");
    rec(&b, "env", "KRUN_CONFIG=/cfg.json");
    rec(&b, "env", "KRUN_DHCP=eth0,eth1");
    rec(&b, "workdir", "/record/dir");
    CHECK_EQ(parse(&b, &src, err), 0);
    CHECK_STR(src.exec, "/from/env");
    CHECK_STR(src.workdir, "/record/dir");
    CHECK_EQ(src.rlimits.n, 1);
    CHECK_STR(src.config_path, "/cfg.json");
    CHECK_STR(src.dhcp, "eth0,eth1");
    source_free(&src);
    free(b.p);

    memset(&b, 0, sizeof(b));
    rec(&b, "krun-workload", "1");
    rec(&b, "exec", "/record");
    rec(&b, "env", "KRUN_INIT=/env");
    rec(&b, "rlimit", "7=1:2");
    rec(&b, "env", "KRUN_RLIMITS=6=1:2,8=3:4");
    CHECK_EQ(parse(&b, &src, err), 0);
    CHECK_STR(src.exec, "/record");
    CHECK_EQ(src.rlimits.n, 1);
    CHECK_EQ(src.rlimits.v[0].resource, 7);
    source_free(&src);
    free(b.p);
}

static void test_cmdline(void)
{
    char *envp[] = {
        "HOME=/",
        "TERM=linux",
        "KRUN_INIT=/bin/app",
        "KRUN_WORKDIR=/srv",
        "KRUN_RLIMITS=\"6=4096:8192,7:100:200,nonsense\"",
        "KRUN_BLOCK_ROOT_DEVICE=/dev/vda",
        "KRUN_BLOCK_ROOT_FSTYPE=auto",
        "USER_VAR=x y",
        "KRUN_DHCP=1",
        NULL,
    };
    char *argv[] = {"/init.krun", "-c", "echo hi", NULL};
    struct wl_source src;
    CHECK_EQ(source_from_cmdline(envp, 3, argv, &src), 0);
    CHECK(!src.from_file);
    CHECK_STR(src.exec, "/bin/app");
    CHECK_EQ(src.args.n, 2);
    CHECK_STR(src.args.v[0], "-c");
    CHECK_STR(src.args.v[1], "echo hi");
    CHECK_EQ(src.env.n, 9);
    CHECK_STR(src.workdir, "/srv");
    CHECK_EQ(src.rlimits.n, 2);
    CHECK_EQ(src.rlimits.v[0].resource, 6);
    CHECK_EQ(src.rlimits.v[0].cur, 4096);
    CHECK_EQ(src.rlimits.v[1].resource, 7);
    CHECK_EQ(src.rlimits.v[1].max, 200);
    CHECK_STR(src.block_device, "/dev/vda");
    CHECK_STR(src.block_fstype, "auto");
    CHECK(src.block_options == NULL);
    CHECK_STR(src.dhcp, "1");
    source_free(&src);

    /* Empty values count as unset; no arguments at all. */
    char *envp2[] = {"KRUN_INIT=", "KRUN_WORKDIR=", "KRUN_DHCP=", NULL};
    char *argv2[] = {"/init.krun", NULL};
    CHECK_EQ(source_from_cmdline(envp2, 1, argv2, &src), 0);
    CHECK(src.exec == NULL);
    CHECK(src.workdir == NULL);
    CHECK(src.dhcp == NULL);
    CHECK_EQ(src.args.n, 0);
    source_free(&src);
}

static void test_env_get(void)
{
    struct strv env = {0};
    strv_push(&env, "A=1");
    strv_push(&env, "AB=2");
    strv_push(&env, "A=3");
    strv_push(&env, "NOEQ");
    CHECK_STR(source_env_get(&env, "A"), "3");
    CHECK_STR(source_env_get(&env, "AB"), "2");
    CHECK(source_env_get(&env, "NOEQ") == NULL);
    CHECK(source_env_get(&env, "B") == NULL);
    strv_release(&env);
}

int main(void)
{
    RUN(test_records);
    RUN(test_errors);
    RUN(test_many);
    RUN(test_file_env_controls);
    RUN(test_cmdline);
    RUN(test_env_get);
    return TEST_EXIT();
}
