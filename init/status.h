/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The workload's exit status as the VMM reports it (upstream semantics):
 * its exit code, 128+N if signal N killed it, 125 if the init failed to set
 * it up, 126 if the program could not be executed, 127 if it was not found.
 */
#ifndef KRUN_INIT_STATUS_H
#define KRUN_INIT_STATUS_H

#include "abi/guest_abi.h"

/* What the child sends through its close-on-exec pipe when it fails
 * before or at execve: the stage and the errno. */
enum child_stage {
    CHILD_SETUP = 1, /* stdio, rlimits, chdir, credentials */
    CHILD_EXEC = 2,  /* execvp itself */
};

struct child_report {
    int stage;
    int err;
};

/* The status of a wait() status word. */
int status_from_wait(int wstatus);

/* The status for an execvp failure with errno err. */
int status_from_exec_errno(int err);

/* The workload's status: from the child's report if it sent one, else
 * from its wait status. */
int status_of_child(const struct child_report *report, int wstatus);

#endif
