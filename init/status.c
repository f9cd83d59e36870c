/* SPDX-License-Identifier: Apache-2.0 */
#include "status.h"

#include <errno.h>
#include <stddef.h>
#include <sys/wait.h>

int status_from_wait(int wstatus)
{
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus))
        return 128 + WTERMSIG(wstatus);
    /* Stopped or continued: never asked for, so the init is confused. */
    return KRUN_STATUS_INIT_FAILED;
}

int status_from_exec_errno(int err)
{
    return err == ENOENT ? KRUN_STATUS_NOT_FOUND : KRUN_STATUS_CANNOT_EXEC;
}

int status_of_child(const struct child_report *report, int wstatus)
{
    if (report && report->stage == CHILD_EXEC)
        return status_from_exec_errno(report->err);
    if (report && report->stage == CHILD_SETUP)
        return KRUN_STATUS_INIT_FAILED;
    return status_from_wait(wstatus);
}
