/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: init/run.c init/status.c init/ports.c init/readfile.c init/plan.c init/env.c init/config.c init/json.c init/source.c init/rlimit.c init/strv.c init/log.c */
/* Running a workload for real (as a child of the test, not PID 1): exit
 * codes, 125/126/127, environment, limits, signal forwarding, reaping. */
#include "../../init/run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../init/status.h"
#include "test.h"

struct job {
    struct wl_source src;
    struct plan plan;
    struct creds creds;
    struct ports ports;
};

/* argv[0] is KRUN_INIT; env entries as on the command line. */
static void job_init(struct job *j, char **argv, char **envp)
{
    int argc = 0;
    char *full[16] = {"/init.krun"};
    char *env[16] = {NULL};
    size_t n = 0;
    static char init_var[256];
    snprintf(init_var, sizeof(init_var), "KRUN_INIT=%s", argv[0]);
    env[n++] = init_var;
    for (size_t i = 0; envp && envp[i]; i++)
        env[n++] = envp[i];
    for (argc = 1; argv[argc]; argc++)
        full[argc] = argv[argc];
    memset(j, 0, sizeof(*j));
    CHECK_EQ(source_from_cmdline(env, argc, full, &j->src), 0);
    CHECK_EQ(plan_build(&j->src, NULL, &j->plan), 0);
    CHECK_EQ(plan_finish_env(&j->plan, 0, NULL), 0);
    ports_init(&j->ports);
}

static int job_run(struct job *j)
{
    struct run_ctx ctx = {.plan = &j->plan, .creds = &j->creds, .ports = &j->ports, .tty = -1};
    int st = run_child(&ctx);
    plan_free(&j->plan);
    source_free(&j->src);
    return st;
}

static int run(char **argv, char **envp)
{
    struct job j;
    job_init(&j, argv, envp);
    return job_run(&j);
}

static void test_exit_codes(void)
{
    CHECK_EQ(run((char *[]){"/bin/sh", "-c", "exit 0", NULL}, NULL), 0);
    CHECK_EQ(run((char *[]){"/bin/sh", "-c", "exit 3", NULL}, NULL), 3);
    CHECK_EQ(run((char *[]){"/bin/sh", "-c", "kill -TERM $$", NULL}, NULL), 143);
    CHECK_EQ(run((char *[]){"/bin/sh", "-c", "kill -KILL $$", NULL}, NULL), 137);
}

static void test_exec_failures(void)
{
    CHECK_EQ(run((char *[]){"/nonexistent/program", NULL}, NULL), 127);
    CHECK_EQ(run((char *[]){"no-such-program-in-path", NULL}, NULL), 127);
    /* In the build directory: /tmp may be mounted noexec. */
    const char *dir = getenv("KRUN_BUILD_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/krun-init-test-XXXXXX", dir ? dir : ".");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, "#!/bin/sh\nexit 0\n", 17) == 17);
    close(fd);
    chmod(path, 0644); /* not executable, even for root */
    CHECK_EQ(run((char *[]){path, NULL}, NULL), 126);
    chmod(path, 0755);
    CHECK_EQ(run((char *[]){path, NULL}, NULL), 0);
    unlink(path);
    CHECK_EQ(run((char *[]){"/bin/sh", "-c", "exit 0", NULL},
                 (char *[]){"KRUN_WORKDIR=/nonexistent/dir", NULL}),
             125);
}

static void test_environment(void)
{
    /* PATH of the workload's environment finds the program. */
    CHECK_EQ(run((char *[]){"sh", "-c", "test \"$FOO\" = \"a 'b' \\\"c\\\" = d\"", NULL},
                 (char *[]){"PATH=/usr/bin:/bin", "FOO=a 'b' \"c\" = d", NULL}),
             0);
    CHECK_EQ(run((char *[]){"/bin/sh", "-c",
                            "test \"$HOME\" = /root -a -n \"$PATH\" -a -z \"$KRUN_INIT\"", NULL},
                 NULL),
             0);
    CHECK_EQ(run((char *[]){"/bin/sh", "-c", "test \"$(pwd)\" = /tmp", NULL},
                 (char *[]){"KRUN_WORKDIR=/tmp", NULL}),
             0);
    CHECK_EQ(run((char *[]){"/bin/sh", "-c", "test \"$(ulimit -n)\" = 64", NULL},
                 (char *[]){"KRUN_RLIMITS=7=64:64", NULL}),
             0);
    /* The workload leads its own process group. */
    CHECK_EQ(run((char *[]){"/bin/sh", "-c", "test \"$(cut -d' ' -f5 /proc/$$/stat)\" = $$", NULL},
                 NULL),
             0);
}

static void test_many_args(void)
{
    /* 1000 arguments reach the program ("arg 1" is $0 of sh -c). */
    struct job j;
    job_init(&j,
             (char *[]){"/bin/sh", "-c",
                        "eval \"last=\\${$#}\"; test $# = 998 -a \"$0\" = 'arg 1' -a "
                        "\"$last\" = 'arg 999'",
                        NULL},
             NULL);
    static char bufs[1000][16];
    for (int i = 1; i < 1000; i++) {
        snprintf(bufs[i], sizeof(bufs[i]), "arg %d", i);
        strv_push(&j.plan.argv, bufs[i]);
    }
    CHECK_EQ(job_run(&j), 0);
}

static void test_signal_port(void)
{
    int p[2];
    CHECK_EQ(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    /* SIGKILL (9) and junk bytes are not forwarded; SIGTERM (15) is. */
    unsigned char bytes[] = {0, 9, 200, 15};
    CHECK(write(p[1], bytes, sizeof(bytes)) == (ssize_t)sizeof(bytes));
    struct job j;
    job_init(&j, (char *[]){"/bin/sh", "-c", "sleep 5", NULL}, NULL);
    j.ports.sig = p[0];
    CHECK_EQ(job_run(&j), 143);

    /* A closed host side is dropped, not spun on. */
    close(p[1]);
    job_init(&j, (char *[]){"/bin/sh", "-c", "sleep 0.2; exit 7", NULL}, NULL);
    j.ports.sig = p[0];
    CHECK_EQ(job_run(&j), 7);
    close(p[0]);
}

static void test_reaping(void)
{
    /* As subreaper the test gets orphans like PID 1 does: the one left by
     * the workload is reaped while waiting, and nothing is left after. A
     * file tells the workload that the orphan is about to exit. */
    char flag[1024];
    const char *dir = getenv("KRUN_BUILD_DIR");
    snprintf(flag, sizeof(flag), "%s/krun-init-orphan.%d", dir ? dir : ".", (int)getpid());
    unlink(flag);
    char script[4096];
    snprintf(script, sizeof(script),
             "(sh -c 'sleep 0.1; : > %s' &); i=0; while [ ! -e %s ] && [ $i -lt 200 ]; do "
             "sleep 0.05; i=$((i+1)); done; sleep 0.3; exit 4",
             flag, flag);
    CHECK_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    CHECK_EQ(run((char *[]){"/bin/sh", "-c", script, NULL}, NULL), 4);
    CHECK_EQ(waitpid(-1, NULL, WNOHANG), -1);
    CHECK_EQ(errno, ECHILD);
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    unlink(flag);
}

int main(void)
{
    RUN(test_exit_codes);
    RUN(test_exec_failures);
    RUN(test_environment);
    RUN(test_many_args);
    RUN(test_signal_port);
    RUN(test_reaping);
    return TEST_EXIT();
}
