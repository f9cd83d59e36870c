/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: init/status.c */
/* The workload's exit status: code, 128+signal, 125/126/127. */
#include "../../init/status.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

static int real_wait_status(int code, int sig)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (sig) {
            signal(sig, SIG_DFL);
            raise(sig);
        }
        _exit(code);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return st;
}

static void test_wait(void)
{
    CHECK_EQ(status_from_wait(real_wait_status(0, 0)), 0);
    CHECK_EQ(status_from_wait(real_wait_status(3, 0)), 3);
    CHECK_EQ(status_from_wait(real_wait_status(255, 0)), 255);
    CHECK_EQ(status_from_wait(real_wait_status(0, SIGKILL)), 137);
    CHECK_EQ(status_from_wait(real_wait_status(0, SIGTERM)), 143);
    CHECK_EQ(status_from_wait(real_wait_status(0, SIGINT)), 130);
}

static void test_exec_errors(void)
{
    CHECK_EQ(status_from_exec_errno(ENOENT), 127);
    CHECK_EQ(status_from_exec_errno(EACCES), 126);
    CHECK_EQ(status_from_exec_errno(ENOEXEC), 126);
    CHECK_EQ(status_from_exec_errno(E2BIG), 126);
    CHECK_EQ(status_from_exec_errno(ENOTDIR), 126);
}

static void test_reports(void)
{
    struct child_report exec_noent = {CHILD_EXEC, ENOENT};
    struct child_report exec_acces = {CHILD_EXEC, EACCES};
    struct child_report setup = {CHILD_SETUP, ENOENT};
    int exited_with_127 = real_wait_status(127, 0);
    CHECK_EQ(status_of_child(&exec_noent, exited_with_127), 127);
    CHECK_EQ(status_of_child(&exec_acces, real_wait_status(126, 0)), 126);
    /* The report wins over whatever the wait status says. */
    CHECK_EQ(status_of_child(&setup, 0), 125);
    CHECK_EQ(status_of_child(NULL, real_wait_status(42, 0)), 42);
    CHECK_EQ(status_of_child(NULL, real_wait_status(0, SIGHUP)), 129);
}

int main(void)
{
    RUN(test_wait);
    RUN(test_exec_errors);
    RUN(test_reports);
    return TEST_EXIT();
}
