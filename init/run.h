/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Running the workload: as a child in its own foreground process group
 * while PID 1 reaps every zombie and forwards krun-signal bytes, or (with
 * KRUN_INIT_PID1=1) in place of the init.
 */
#ifndef KRUN_INIT_RUN_H
#define KRUN_INIT_RUN_H

#include "creds.h"
#include "plan.h"
#include "ports.h"

struct run_ctx {
    const struct plan *plan;
    const struct creds *creds;
    const struct ports *ports;
    int tty; /* the console terminal (close-on-exec), or -1 */
};

/* Fork, exec, wait for the workload; returns its status (status.h). */
int run_child(const struct run_ctx *ctx);

/* Become the workload; returns only on failure, with the status. */
int run_in_place(const struct run_ctx *ctx);

#endif
