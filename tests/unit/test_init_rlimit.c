/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: init/rlimit.c */
/* Resource limit specs: "ID=CUR:MAX", "ID:CUR:MAX", KRUN_RLIMITS lists. */
#include "../../init/rlimit.h"

#include <errno.h>

#include "test.h"

static void test_one(void)
{
    struct rlimit_spec s;
    CHECK_EQ(rlimit_parse("7=1024:4096", &s), 0);
    CHECK_EQ(s.resource, 7);
    CHECK_EQ(s.cur, 1024);
    CHECK_EQ(s.max, 4096);
    CHECK_EQ(rlimit_parse("6:10:20", &s), 0);
    CHECK_EQ(s.resource, 6);
    CHECK_EQ(s.cur, 10);
    CHECK_EQ(s.max, 20);
    CHECK_EQ(rlimit_parse("0=0:0", &s), 0);
    CHECK_EQ(rlimit_parse("15=18446744073709551615:18446744073709551615", &s), 0);
    CHECK(s.max == UINT64_MAX);

    static const char *const bad[] = {
        "",        "7",      "7=",        "7=1",         "7=1:",   "=1:2",
        "7=1:2:3", "7=1:2x", "7 =1:2",    "7= 1:2",      "-1=1:2", "7=-1:2",
        "16=1:2",  "99=1:2", "7=5:4",     "7=1;2",       "x=1:2",  "7=18446744073709551616:1",
        "7==1:2",  "7:1=2",  "7=0x10:20", "7=1:2,8=1:2",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (rlimit_parse(bad[i], &s) != -EINVAL) {
            fprintf(stderr, "accepted \"%s\"\n", bad[i]);
            CHECK(0);
        }
    }
}

static void test_list(void)
{
    struct rlimit_list l = {0};
    CHECK_EQ(rlimit_parse_list("\"6=4096:8192,7:1:2\"", &l), 0);
    CHECK_EQ(l.n, 2);
    CHECK_EQ(l.v[0].resource, 6);
    CHECK_EQ(l.v[1].resource, 7);
    rlimit_list_free(&l);

    CHECK_EQ(rlimit_parse_list("6=1:2,,bad,7=3:4,8=9:1,", &l), 2);
    CHECK_EQ(l.n, 2);
    CHECK_EQ(l.v[1].resource, 7);
    CHECK_EQ(l.v[1].max, 4);
    rlimit_list_free(&l);

    CHECK_EQ(rlimit_parse_list("", &l), 0);
    CHECK_EQ(l.n, 0);
    CHECK_EQ(rlimit_parse_list("\"\"", &l), 0);
    CHECK_EQ(l.n, 0);
    /* Only matching outer quotes are stripped. */
    CHECK_EQ(rlimit_parse_list("\"6=1:2", &l), 1);
    CHECK_EQ(rlimit_parse_list("\"", &l), 1);
    rlimit_list_free(&l);
}

static void test_names(void)
{
    CHECK_EQ(rlimit_id_by_name("RLIMIT_CPU"), 0);
    CHECK_EQ(rlimit_id_by_name("RLIMIT_NPROC"), 6);
    CHECK_EQ(rlimit_id_by_name("RLIMIT_NOFILE"), 7);
    CHECK_EQ(rlimit_id_by_name("RLIMIT_MEMLOCK"), 8);
    CHECK_EQ(rlimit_id_by_name("RLIMIT_RTTIME"), 15);
    CHECK_EQ(rlimit_id_by_name("RLIMIT_nofile"), -1);
    CHECK_EQ(rlimit_id_by_name("NOFILE"), -1);
    CHECK_EQ(rlimit_id_by_name("RLIMIT_"), -1);
}

int main(void)
{
    RUN(test_one);
    RUN(test_list);
    RUN(test_names);
    return TEST_EXIT();
}
