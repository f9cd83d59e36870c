/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal unit-test harness: each tests/unit/test_*.c is one program
 * whose main() calls RUN(test_fn) for each test. CHECK* record a failure
 * with its location and go on; the program exits 1 if anything failed.
 */
#ifndef KRUN_TEST_H
#define KRUN_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;
static const char *test_current = "";

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, test_current,     \
                    #cond);                                                                        \
            test_failures++;                                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
        if (va_ != vb_) {                                                                          \
            fprintf(stderr, "%s:%d: %s: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__,    \
                    test_current, #a, va_, #b, vb_);                                               \
            test_failures++;                                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                                               \
            fprintf(stderr, "%s:%d: %s: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__,      \
                    test_current, #a, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                 \
            test_failures++;                                                                       \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        int before_ = test_failures;                                                               \
        test_current = #fn;                                                                        \
        fn();                                                                                      \
        printf("%s %s\n", test_failures == before_ ? "ok  " : "FAIL", #fn);                        \
    } while (0)

#define TEST_EXIT()                                                                                \
    (test_failures ? (fprintf(stderr, "%d check(s) failed\n", test_failures), 1) : 0)

#endif
