/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: init/env.c init/strv.c */
/* The init's environment builder: one entry per name, hash-indexed. */
#include "../../init/env.h"

#include <errno.h>

#include "test.h"

static void test_basic(void)
{
    struct env e = {0};
    CHECK(env_get(&e, "A") == NULL);
    CHECK_EQ(env_put(&e, "A=1", ENV_OVERWRITE), 1);
    CHECK_EQ(env_put(&e, "B=x=y", ENV_KEEP), 1);
    CHECK_EQ(env_put(&e, "A=2", ENV_KEEP), 0);
    CHECK_STR(env_get(&e, "A"), "1");
    CHECK_EQ(env_put(&e, "A=3", ENV_OVERWRITE), 1);
    CHECK_STR(env_get(&e, "A"), "3");
    CHECK_STR(env_get(&e, "B"), "x=y");
    CHECK_EQ(env_set(&e, "C", "", ENV_KEEP), 1);
    CHECK_STR(env_get(&e, "C"), "");
    /* First-set order, replaced in place. */
    CHECK_EQ(e.vars.n, 3);
    CHECK_STR(e.vars.v[0], "A=3");
    CHECK_STR(e.vars.v[1], "B=x=y");
    CHECK_STR(e.vars.v[2], "C=");
    CHECK(e.vars.v[3] == NULL);
    /* Prefixes are other names. */
    CHECK(env_get(&e, "AB") == NULL);
    CHECK(env_get(&e, "") == NULL);
    env_free(&e);
}

static void test_invalid(void)
{
    struct env e = {0};
    CHECK_EQ(env_put(&e, "NOEQUALS", ENV_OVERWRITE), -EINVAL);
    CHECK_EQ(env_put(&e, "=value", ENV_OVERWRITE), -EINVAL);
    CHECK_EQ(env_set(&e, "A=B", "v", ENV_OVERWRITE), -EINVAL);
    CHECK_EQ(env_set(&e, "", "v", ENV_OVERWRITE), -EINVAL);
    CHECK_EQ(e.vars.n, 0);
    env_free(&e);
}

static void test_bytes(void)
{
    struct env e = {0};
    const char *v = "\"q\" 'q' a=b \t caf\xc3\xa9 \xf0\x9f\x98\x80 \x01\xff";
    CHECK_EQ(env_set(&e, "WEIRD", v, ENV_OVERWRITE), 1);
    CHECK_STR(env_get(&e, "WEIRD"), v);
    CHECK_EQ(env_set(&e, "caf\xc3\xa9", "1", ENV_OVERWRITE), 1);
    CHECK_STR(env_get(&e, "caf\xc3\xa9"), "1");
    env_free(&e);
}

static void test_many(void)
{
    /* Linear overall: 200k distinct names, then every one looked up. */
    struct env e = {0};
    char buf[64];
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        snprintf(buf, sizeof(buf), "VAR_%d=%d", i, i);
        CHECK_EQ(env_put(&e, buf, ENV_KEEP), 1);
    }
    for (int i = 0; i < n; i += 7) {
        snprintf(buf, sizeof(buf), "VAR_%d=again", i);
        CHECK_EQ(env_put(&e, buf, ENV_KEEP), 0);
    }
    CHECK_EQ(e.vars.n, n);
    int wrong = 0;
    for (int i = 0; i < n; i++) {
        char name[32], want[32];
        snprintf(name, sizeof(name), "VAR_%d", i);
        snprintf(want, sizeof(want), "%d", i);
        const char *got = env_get(&e, name);
        wrong += !got || strcmp(got, want) != 0;
    }
    CHECK_EQ(wrong, 0);
    CHECK(e.vars.v[n] == NULL);
    env_free(&e);
}

static void test_entry_is(void)
{
    CHECK(env_entry_is("HOME=/", "HOME"));
    CHECK(!env_entry_is("HOMEDIR=/", "HOME"));
    CHECK(!env_entry_is("HOME", "HOME"));
    CHECK(!env_entry_is("HOM=/", "HOME"));
}

int main(void)
{
    RUN(test_basic);
    RUN(test_invalid);
    RUN(test_bytes);
    RUN(test_many);
    RUN(test_entry_is);
    return TEST_EXIT();
}
