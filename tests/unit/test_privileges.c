/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/vm/privileges.c src/util/log.c src/util/sandbox.c src/util/thread.c */
/* krun_setuid/krun_setgid's drop: groups cleared, ids changed, root not regained (needs root). */
#include "test.h"

#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vm/privileges.h"
#include "util/thread.h"

/* Run fn in a child (privileges cannot be restored); its exit status is the result. */
static int in_child(int (*fn)(void))
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn());
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100;
}

static void *idle(void *arg)
{
    int *fd = arg;
    char c;
    ssize_t n = read(*fd, &c, 1); /* until the test is done */
    (void)n;
    return NULL;
}

static int drop_all(void)
{
    /* A sandboxed thread (guest output) exists when the drop happens, as in a VM. */
    unsetenv("KRUN_SECCOMP");
    int p[2];
    pthread_t t;
    if (pipe(p) < 0 || thread_start(&t, "output", SANDBOX_OUTPUT, idle, &p[0]) != 0)
        return 9;
    gid_t extra[] = {4, 24, 27};
    if (setgroups(3, extra) < 0 || getgroups(0, NULL) != 3)
        return 10;
    if (drop_privileges(true, 65534, true, 65534) != 0)
        return 11;
    if (getgroups(0, NULL) != 0)
        return 12;
    if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534 || getegid() != 65534)
        return 13;
    if (setuid(0) == 0 || setgid(0) == 0)
        return 14;
    return 0;
}

static int drop_group_only(void)
{
    if (drop_privileges(true, 100, false, 0) != 0)
        return 20;
    return getgid() == 100 && getuid() == 0 && getgroups(0, NULL) == 0 ? 0 : 21;
}

static int nothing_asked(void)
{
    gid_t extra[] = {4};
    if (setgroups(1, extra) < 0)
        return 30;
    /* No krun_setuid/krun_setgid: the caller's groups are none of our business. */
    return drop_privileges(false, 0, false, 0) == 0 && getgroups(0, NULL) == 1 ? 0 : 31;
}

static int unprivileged_cannot_become_root(void)
{
    if (setgroups(0, NULL) < 0 || setgid(1000) < 0 || setuid(1000) < 0)
        return 40;
    /* Asking for root without privileges fails, and says so. */
    return drop_privileges(false, 0, true, 0) == -EPERM ? 0 : 41;
}

static void test_drop(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_privileges needs root (CI runs as root)\n");
        CHECK(geteuid() == 0);
        return;
    }
    CHECK_EQ(in_child(drop_all), 0);
    CHECK_EQ(in_child(drop_group_only), 0);
    CHECK_EQ(in_child(nothing_asked), 0);
    CHECK_EQ(in_child(unprivileged_cannot_become_root), 0);
}

int main(void)
{
    RUN(test_drop);
    return TEST_EXIT();
}
