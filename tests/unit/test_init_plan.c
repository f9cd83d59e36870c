/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: init/plan.c init/env.c init/config.c init/json.c init/source.c init/rlimit.c init/strv.c init/log.c */
/* Merging the workload source with the JSON config (docs/guest-contract.md). */
#include "../../init/plan.h"

#include "test.h"

struct fixture {
    struct wl_source src;
    struct json_doc doc;
    struct json_config cfg;
    int have_cfg;
    struct plan plan;
};

static void with_config(struct fixture *f, const char *json)
{
    struct json_error jerr;
    char err[256];
    f->have_cfg = json != NULL;
    if (!json)
        return;
    if (json_parse(json, strlen(json), &f->doc, &jerr) < 0 ||
        config_from_json(f->doc.root, &f->cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "bad test config\n");
        exit(2);
    }
}

static void cmdline(struct fixture *f, char **envp, char **argv, const char *json)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    memset(f, 0, sizeof(*f));
    CHECK_EQ(source_from_cmdline(envp, argc, argv, &f->src), 0);
    with_config(f, json);
    CHECK_EQ(plan_build(&f->src, f->have_cfg ? &f->cfg : NULL, &f->plan), 0);
}

static void done(struct fixture *f)
{
    plan_free(&f->plan);
    source_free(&f->src);
    if (f->have_cfg) {
        config_free(&f->cfg);
        json_free(&f->doc);
    }
}

static const char *envp_get(const struct plan *p, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < p->envp.n; i++)
        if (strncmp(p->envp.v[i], name, len) == 0 && p->envp.v[i][len] == '=')
            return p->envp.v[i] + len + 1;
    return NULL;
}

static void test_defaults(void)
{
    struct fixture f;
    char *envp[] = {NULL};
    char *argv[] = {"/init.krun", NULL};
    cmdline(&f, envp, argv, NULL);
    CHECK_EQ(f.plan.argv.n, 1);
    CHECK_STR(f.plan.argv.v[0], "/bin/sh");
    CHECK(f.plan.argv.v[1] == NULL);
    CHECK_STR(f.plan.hostname, "localhost");
    CHECK(f.plan.workdir == NULL);
    CHECK(!f.plan.pid1);
    CHECK(!f.plan.have_ids);
    CHECK_EQ(plan_finish_env(&f.plan, 0, NULL), 0);
    CHECK_STR(envp_get(&f.plan, "PATH"), DEFAULT_PATH);
    CHECK_STR(envp_get(&f.plan, "HOME"), "/root");
    CHECK_STR(envp_get(&f.plan, "TERM"), "xterm");
    CHECK_EQ(f.plan.envp.n, 3);
    CHECK(f.plan.envp.v[3] == NULL);
    done(&f);

    cmdline(&f, envp, argv, NULL);
    CHECK_EQ(plan_finish_env(&f.plan, 1000, NULL), 0);
    CHECK_STR(envp_get(&f.plan, "HOME"), "/");
    done(&f);
    cmdline(&f, envp, argv, NULL);
    CHECK_EQ(plan_finish_env(&f.plan, 1000, "/home/u"), 0);
    CHECK_STR(envp_get(&f.plan, "HOME"), "/home/u");
    done(&f);
}

static void test_upstream_kernel_env(void)
{
    /* Upstream's kernel always gives HOME=/ and TERM=linux: kept. */
    struct fixture f;
    char *envp[] = {"HOME=/", "TERM=linux", "KRUN_INIT=/bin/app", "A=1", NULL};
    char *argv[] = {"/init.krun", "x", NULL};
    cmdline(&f, envp, argv, NULL);
    CHECK_EQ(f.plan.argv.n, 2);
    CHECK_STR(f.plan.argv.v[0], "/bin/app");
    CHECK_STR(f.plan.argv.v[1], "x");
    CHECK_EQ(plan_finish_env(&f.plan, 0, NULL), 0);
    CHECK_STR(envp_get(&f.plan, "HOME"), "/");
    CHECK_STR(envp_get(&f.plan, "TERM"), "linux");
    CHECK_STR(envp_get(&f.plan, "A"), "1");
    CHECK(envp_get(&f.plan, "KRUN_INIT") == NULL);
    done(&f);
}

static void test_json_merge(void)
{
    struct fixture f;
    char *envp[] = {"HOME=/", "TERM=linux", "A=from-cmdline", "KRUN_CONFIG=/c.json", NULL};
    char *argv[] = {"/init.krun", NULL};
    cmdline(&f, envp, argv,
            "{\"process\": {\"args\": [\"/app\"], \"cwd\": \"/srv\","
            " \"env\": [\"A=from-json\", \"B=from-json\", \"HOME=/home/app\", \"TERM=vt100\","
            "           \"PATH=/opt/bin\", \"NOEQ\", \"=bad\"]}}");
    CHECK_STR(f.plan.argv.v[0], "/app");
    CHECK_STR(f.plan.workdir, "/srv");
    CHECK_EQ(plan_finish_env(&f.plan, 0, NULL), 0);
    CHECK_STR(envp_get(&f.plan, "A"), "from-cmdline"); /* the config only fills gaps */
    CHECK_STR(envp_get(&f.plan, "B"), "from-json");
    CHECK_STR(envp_get(&f.plan, "HOME"), "/home/app"); /* except HOME and TERM */
    CHECK_STR(envp_get(&f.plan, "TERM"), "vt100");
    CHECK_STR(envp_get(&f.plan, "PATH"), "/opt/bin"); /* defaults come last */
    CHECK_STR(envp_get(&f.plan, "KRUN_CONFIG"), "/c.json");
    done(&f);
}

static void test_krun_home_term(void)
{
    struct fixture f;
    char *envp[] = {"KRUN_HOME=/h", "KRUN_TERM=dumb", "KRUN_INIT_PID1=1", NULL};
    char *argv[] = {"/init.krun", NULL};
    cmdline(&f, envp, argv, "{\"Env\": [\"HOME=/json\", \"TERM=json\"]}");
    CHECK(f.plan.pid1);
    CHECK_EQ(plan_finish_env(&f.plan, 0, NULL), 0);
    CHECK_STR(envp_get(&f.plan, "HOME"), "/h");
    CHECK_STR(envp_get(&f.plan, "TERM"), "dumb");
    CHECK(envp_get(&f.plan, "KRUN_HOME") == NULL);
    CHECK(envp_get(&f.plan, "KRUN_TERM") == NULL);
    CHECK(envp_get(&f.plan, "KRUN_INIT_PID1") == NULL);
    done(&f);

    char *envp0[] = {"KRUN_INIT_PID1=0", NULL};
    cmdline(&f, envp0, argv, NULL);
    CHECK(!f.plan.pid1);
    done(&f);
}

static void test_argv_precedence(void)
{
    struct fixture f;
    char *with_init[] = {"KRUN_INIT=/prog", NULL};
    char *none[] = {NULL};
    char *args[] = {"/init.krun", "a1", "a2", NULL};
    char *noargs[] = {"/init.krun", NULL};
    const char *json = "{\"Entrypoint\": [\"/ep\"], \"Cmd\": [\"c1\"]}";

    cmdline(&f, with_init, args, json); /* program + args, config ignored */
    CHECK_EQ(f.plan.argv.n, 3);
    CHECK_STR(f.plan.argv.v[0], "/prog");
    CHECK_STR(f.plan.argv.v[2], "a2");
    done(&f);

    cmdline(&f, none, args, json); /* no program: the config's command */
    CHECK_EQ(f.plan.argv.n, 2);
    CHECK_STR(f.plan.argv.v[0], "/ep");
    CHECK_STR(f.plan.argv.v[1], "c1");
    done(&f);

    cmdline(&f, none, args, "{}"); /* no program, no config command: the args */
    CHECK_EQ(f.plan.argv.n, 2);
    CHECK_STR(f.plan.argv.v[0], "a1");
    done(&f);

    cmdline(&f, with_init, noargs, NULL);
    CHECK_EQ(f.plan.argv.n, 1);
    CHECK_STR(f.plan.argv.v[0], "/prog");
    done(&f);
}

static void test_workdir_rlimits_host(void)
{
    struct fixture f;
    char *envp[] = {"KRUN_WORKDIR=/w", "KRUN_RLIMITS=7=10:20", "HOSTNAME=fromenv", NULL};
    char *argv[] = {"/init.krun", NULL};
    const char *json = "{\"hostname\": \"fromjson\", \"process\": {\"cwd\": \"/json\","
                       " \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 1, \"hard\": 2},"
                       " {\"type\": \"RLIMIT_NPROC\", \"soft\": 3, \"hard\": 4}]}}";
    cmdline(&f, envp, argv, json);
    CHECK_STR(f.plan.workdir, "/w");
    CHECK_STR(f.plan.hostname, "fromenv");
    CHECK_EQ(f.plan.rlimits.n, 3);
    CHECK_EQ(f.plan.rlimits.v[0].resource, 7); /* config first ... */
    CHECK_EQ(f.plan.rlimits.v[0].cur, 1);
    CHECK_EQ(f.plan.rlimits.v[1].resource, 6);
    CHECK_EQ(f.plan.rlimits.v[2].resource, 7); /* ... the VMM's last, so they win */
    CHECK_EQ(f.plan.rlimits.v[2].cur, 10);
    CHECK_EQ(plan_finish_env(&f.plan, 0, NULL), 0);
    CHECK_STR(envp_get(&f.plan, "HOSTNAME"), "fromenv");
    CHECK(envp_get(&f.plan, "KRUN_WORKDIR") == NULL);
    CHECK(envp_get(&f.plan, "KRUN_RLIMITS") == NULL);
    done(&f);

    char *envp2[] = {NULL};
    cmdline(&f, envp2, argv, json);
    CHECK_STR(f.plan.workdir, "/json");
    CHECK_STR(f.plan.hostname, "fromjson");
    done(&f);

    /* HOSTNAME from the config's environment counts as set. */
    cmdline(&f, envp2, argv, "{\"hostname\": \"h1\", \"Env\": [\"HOSTNAME=h2\"]}");
    CHECK_STR(f.plan.hostname, "h2");
    done(&f);
}

static void test_credentials(void)
{
    struct fixture f;
    char *envp[] = {NULL};
    char *argv[] = {"/init.krun", NULL};
    cmdline(&f, envp, argv,
            "{\"process\": {\"args\": [\"x\"], \"user\": {\"uid\": 5, \"gid\": 6}}}");
    CHECK(f.plan.have_ids);
    CHECK_EQ(f.plan.uid, 5);
    CHECK_EQ(f.plan.gid, 6);
    CHECK(f.plan.user == NULL);
    done(&f);
    cmdline(&f, envp, argv, "{\"Cmd\": [\"x\"], \"User\": \"nobody:nogroup\"}");
    CHECK(!f.plan.have_ids);
    CHECK_STR(f.plan.user, "nobody:nogroup");
    done(&f);
}

static void test_file_source(void)
{
    /* Records: later env entries win, in the first one's position. */
    static const char file[] = "krun-workload\0"
                               "1\0"
                               "exec\0"
                               "/bin/env\0"
                               "env\0"
                               "A=1\0"
                               "env\0"
                               "B=\"two words\" x=y\0"
                               "env\0"
                               "A=2\0"
                               "env\0"
                               "JUNK\0";
    struct fixture f;
    char err[256];
    memset(&f, 0, sizeof(f));
    CHECK_EQ(wlfile_parse(file, sizeof(file) - 1, &f.src, err, sizeof(err)), 0);
    CHECK_EQ(plan_build(&f.src, NULL, &f.plan), 0);
    CHECK_EQ(plan_finish_env(&f.plan, 0, NULL), 0);
    CHECK_STR(f.plan.envp.v[0], "A=2");
    CHECK_STR(f.plan.envp.v[1], "B=\"two words\" x=y");
    CHECK_STR(f.plan.argv.v[0], "/bin/env");
    done(&f);
}

static void test_many(void)
{
    /* 50k variables from the source, 5k from the config: merging is quick. */
    struct fixture f;
    const int n = 50000;
    char **envp = calloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++) {
        envp[i] = malloc(32);
        snprintf(envp[i], 32, "V%d=%d", i, i);
    }
    size_t cap = 5000 * 24 + 64;
    char *json = malloc(cap), *p = json;
    p += sprintf(p, "{\"Env\": [");
    for (int i = 0; i < 5000; i++)
        p += sprintf(p, "%s\"V%d=json\"", i ? "," : "", i * 20);
    strcpy(p, "]}");
    char *argv[] = {"/init.krun", NULL};
    cmdline(&f, envp, argv, json);
    CHECK_EQ(plan_finish_env(&f.plan, 0, NULL), 0);
    CHECK_EQ(f.plan.envp.n, (size_t)n + 2500 + 3); /* V50000.. are new */
    CHECK_STR(envp_get(&f.plan, "V99980"), "json");
    CHECK_STR(envp_get(&f.plan, "V40"), "40");
    done(&f);
    for (int i = 0; i < n; i++)
        free(envp[i]);
    free(envp);
    free(json);
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_upstream_kernel_env);
    RUN(test_json_merge);
    RUN(test_krun_home_term);
    RUN(test_argv_precedence);
    RUN(test_workdir_rlimits_host);
    RUN(test_credentials);
    RUN(test_file_source);
    RUN(test_many);
    return TEST_EXIT();
}
