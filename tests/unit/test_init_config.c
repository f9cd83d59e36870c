/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: init/config.c init/json.c init/rlimit.c init/strv.c init/log.c */
/* OCI runtime spec and Docker image config extraction, keys at any depth. */
#include "../../init/config.h"

#include "test.h"

struct loaded {
    struct json_doc doc;
    struct json_config cfg;
    char err[256];
    int r;
};

static void load(const char *text, struct loaded *l)
{
    struct json_error jerr;
    l->err[0] = '\0';
    if (json_parse(text, strlen(text), &l->doc, &jerr) < 0) {
        fprintf(stderr, "bad test JSON: %s at %zu\n", jerr.msg, jerr.offset);
        exit(2);
    }
    l->r = config_from_json(l->doc.root, &l->cfg, l->err, sizeof(l->err));
}

static void unload(struct loaded *l)
{
    config_free(&l->cfg);
    json_free(&l->doc);
}

static void test_oci(void)
{
    struct loaded l;
    load("{\"ociVersion\": \"1.0.2\","
         " \"process\": {\"terminal\": true,"
         "   \"user\": {\"uid\": 1000, \"gid\": 100, \"additionalGids\": [10, 20], \"umask\": 18},"
         "   \"args\": [\"/usr/bin/app\", \"--flag\", \"two words\"],"
         "   \"env\": [\"PATH=/usr/bin\", \"TERM=xterm\", \"Q=\\\"quoted\\\" = yes\"],"
         "   \"cwd\": \"/srv\","
         "   \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 4096, \"soft\": 1024},"
         "                 {\"type\": \"RLIMIT_BOGUS\", \"hard\": 1, \"soft\": 1}]},"
         " \"root\": {\"path\": \"rootfs\"},"
         " \"hostname\": \"box\","
         " \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
         "   {\"destination\": \"/run\", \"type\": \"tmpfs\", \"source\": \"tmpfs\","
         "    \"options\": [\"nosuid\", \"mode=755\", \"size=64m\"]},"
         "   {\"destination\": \"/tmp\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"},"
         "   {\"destination\": \"relative\", \"type\": \"tmpfs\"}],"
         " \"hooks\": {\"prestart\": [{\"path\": \"/hook\", \"args\": [\"hook\"], \"env\": "
         "[\"H=1\"]}]},"
         " \"annotations\": {\"Cmd\": \"not this\"}}",
         &l);
    CHECK_EQ(l.r, 0);
    CHECK_EQ(l.cfg.args.n, 3);
    CHECK_STR(l.cfg.args.v[0], "/usr/bin/app");
    CHECK_STR(l.cfg.args.v[2], "two words");
    CHECK(l.cfg.args.v[3] == NULL);
    CHECK_EQ(l.cfg.env.n, 3);
    CHECK_STR(l.cfg.env.v[2], "Q=\"quoted\" = yes");
    CHECK_STR(l.cfg.cwd, "/srv");
    CHECK(l.cfg.have_ids);
    CHECK_EQ(l.cfg.uid, 1000);
    CHECK_EQ(l.cfg.gid, 100);
    CHECK_EQ(l.cfg.n_groups, 2);
    CHECK_EQ(l.cfg.groups[1], 20);
    CHECK(l.cfg.have_umask);
    CHECK_EQ(l.cfg.umask, 18);
    CHECK(l.cfg.user == NULL);
    CHECK_EQ(l.cfg.rlimits.n, 1);
    CHECK_EQ(l.cfg.rlimits.v[0].resource, 7);
    CHECK_EQ(l.cfg.rlimits.v[0].cur, 1024);
    CHECK_EQ(l.cfg.rlimits.v[0].max, 4096);
    CHECK_STR(l.cfg.hostname, "box");
    CHECK_EQ(l.cfg.n_tmpfs, 2);
    CHECK_STR(l.cfg.tmpfs[0].dest, "/run");
    CHECK_STR(l.cfg.tmpfs[0].options, "nosuid,mode=755,size=64m");
    CHECK_STR(l.cfg.tmpfs[1].dest, "/tmp");
    CHECK_STR(l.cfg.tmpfs[1].options, "");
    unload(&l);
}

static void test_docker_flat(void)
{
    struct loaded l;
    load("{\"Cmd\": [\"/bin/echo\", \"hi\"], \"Env\": [\"A=1\"], \"WorkingDir\": \"/w\","
         " \"User\": \"1000:1000\"}",
         &l);
    CHECK_EQ(l.r, 0);
    CHECK_EQ(l.cfg.args.n, 2);
    CHECK_STR(l.cfg.args.v[1], "hi");
    CHECK_STR(l.cfg.env.v[0], "A=1");
    CHECK_STR(l.cfg.cwd, "/w");
    CHECK_STR(l.cfg.user, "1000:1000");
    CHECK(!l.cfg.have_ids);
    unload(&l);
}

static void test_muvm_nested(void)
{
    struct loaded l;
    load("{\"Config\": {\"Cmd\": [\"/usr/bin/muvm-guest\", \"--x\"],"
         " \"Env\": [\"DISPLAY=:0\", \"XDG_RUNTIME_DIR=/run/user/1000\"]}}",
         &l);
    CHECK_EQ(l.r, 0);
    CHECK_EQ(l.cfg.args.n, 2);
    CHECK_STR(l.cfg.args.v[0], "/usr/bin/muvm-guest");
    CHECK_EQ(l.cfg.env.n, 2);
    CHECK_STR(l.cfg.env.v[1], "XDG_RUNTIME_DIR=/run/user/1000");
    unload(&l);
}

static void test_entrypoint(void)
{
    struct loaded l;
    load("{\"config\": {\"Entrypoint\": [\"/ep\", \"-x\"], \"Cmd\": [\"a\", \"b\"]}}", &l);
    CHECK_EQ(l.r, 0);
    CHECK_EQ(l.cfg.args.n, 4);
    CHECK_STR(l.cfg.args.v[0], "/ep");
    CHECK_STR(l.cfg.args.v[1], "-x");
    CHECK_STR(l.cfg.args.v[2], "a");
    CHECK_STR(l.cfg.args.v[3], "b");
    unload(&l);

    load("{\"Entrypoint\": \"/single\", \"Cmd\": null}", &l);
    CHECK_EQ(l.r, 0);
    CHECK_EQ(l.cfg.args.n, 1);
    CHECK_STR(l.cfg.args.v[0], "/single");
    unload(&l);

    /* process.args wins over Entrypoint/Cmd in the same object. */
    load("{\"args\": [\"x\"], \"Cmd\": [\"y\"]}", &l);
    CHECK_EQ(l.cfg.args.n, 1);
    CHECK_STR(l.cfg.args.v[0], "x");
    unload(&l);
}

static void test_image_config(void)
{
    /* Docker's own order puts container_config (the build step) first. */
    struct loaded l;
    load("{\"container_config\": {\"Cmd\": [\"/bin/sh\", \"-c\", \"#(nop) CMD\"]},"
         " \"config\": {\"Env\": [\"PATH=/bin\"], \"Cmd\": [\"/app\"]},"
         " \"history\": [{\"Cmd\": \"x\"}]}",
         &l);
    CHECK_EQ(l.r, 0);
    CHECK_EQ(l.cfg.args.n, 1);
    CHECK_STR(l.cfg.args.v[0], "/app");
    unload(&l);

    load("{\"Id\": \"abc\", \"ContainerConfig\": {\"Cmd\": [\"nop\"]},"
         " \"Config\": {\"Cmd\": [\"/real\"], \"Labels\": {\"Cmd\": \"label\"}}}",
         &l);
    CHECK_STR(l.cfg.args.v[0], "/real");
    unload(&l);
}

static void test_shallowest(void)
{
    struct loaded l;
    load("{\"a\": {\"b\": {\"Cmd\": [\"deep\"]}}, \"c\": {\"Cmd\": [\"shallow\"]}}", &l);
    CHECK_STR(l.cfg.args.v[0], "shallow");
    unload(&l);
    load("{\"x\": {\"Cmd\": [\"first\"]}, \"y\": {\"Cmd\": [\"second\"]}}", &l);
    CHECK_STR(l.cfg.args.v[0], "first");
    unload(&l);
    /* Inside arrays too. */
    load("[{\"n\": 1}, {\"Env\": [\"IN=array\"]}]", &l);
    CHECK_EQ(l.r, 0);
    CHECK_STR(l.cfg.env.v[0], "IN=array");
    unload(&l);
    /* All process keys come from one object. */
    load("{\"p\": {\"Cmd\": [\"c\"]}, \"q\": {\"x\": {\"Env\": [\"E=1\"]}}}", &l);
    CHECK_EQ(l.cfg.args.n, 1);
    CHECK_EQ(l.cfg.env.n, 0);
    unload(&l);
}

static void test_empty(void)
{
    struct loaded l;
    load("{}", &l);
    CHECK_EQ(l.r, 0);
    CHECK_EQ(l.cfg.args.n, 0);
    CHECK(l.cfg.args.v == NULL);
    CHECK(l.cfg.cwd == NULL);
    CHECK(l.cfg.hostname == NULL);
    unload(&l);
    load("{\"Cmd\": [], \"WorkingDir\": \"\", \"Env\": null}", &l);
    CHECK_EQ(l.r, 0);
    CHECK_EQ(l.cfg.args.n, 0);
    CHECK(l.cfg.cwd == NULL);
    unload(&l);
}

static void expect_error(const char *text, const char *msg)
{
    struct loaded l;
    load(text, &l);
    CHECK_EQ(l.r, -1);
    if (!strstr(l.err, msg)) {
        fprintf(stderr, "error \"%s\" lacks \"%s\"\n", l.err, msg);
        CHECK(0);
    }
    unload(&l);
}

static void test_type_errors(void)
{
    expect_error("{\"process\": {\"args\": \"/bin/sh\"}}", "\"args\" must be an array of strings");
    expect_error("{\"Cmd\": [\"a\", 1]}", "\"Cmd\" must be an array of strings");
    expect_error("{\"Env\": {\"A\": \"1\"}}", "\"Env\" must be an array of strings");
    expect_error("{\"args\": [\"a\\u0000b\"]}", "\"args\" must be an array of strings");
    expect_error("{\"cwd\": 5}", "\"cwd\" must be a string");
    expect_error("{\"args\": [\"x\"], \"user\": {\"uid\": -1}}", "\"uid\" must be a 32-bit id");
    expect_error("{\"args\": [\"x\"], \"user\": {\"uid\": 4294967295}}", "\"uid\"");
    expect_error("{\"args\": [\"x\"], \"user\": {\"gid\": 1.5}}", "\"gid\"");
    expect_error("{\"args\": [\"x\"], \"user\": \"root\"}", "\"user\" must be an object");
    expect_error("{\"args\": [\"x\"], \"user\": {\"additionalGids\": [\"a\"]}}", "additionalGids");
    expect_error("{\"args\": [\"x\"], \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\"}]}", "rlimits");
    expect_error("{\"args\": [\"x\"], \"rlimits\": {}}", "\"rlimits\" must be an array");
    expect_error("{\"hostname\": 1}", "\"hostname\" must be a string");
}

int main(void)
{
    RUN(test_oci);
    RUN(test_docker_flat);
    RUN(test_muvm_nested);
    RUN(test_entrypoint);
    RUN(test_image_config);
    RUN(test_shallowest);
    RUN(test_empty);
    RUN(test_type_errors);
    return TEST_EXIT();
}
