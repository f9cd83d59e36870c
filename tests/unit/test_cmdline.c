/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/vm/cmdline.c src/util/strbuf.c src/util/strvec.c src/vm/config.c src/loader/cpio.c */
/* The kernel command line, the workload file, and the cpio writer. */
#include <errno.h>

#include "libkrun.h"
#include "vm/config.h"
#include "loader/cpio.h"
#include "test.h"
#include "vm/cmdline.h"

static struct strvec devices(void)
{
    struct strvec d = {0};
    strvec_push(&d, "virtio_mmio.device=4K@0xd0000000:5");
    return d;
}

static void test_default_line(void)
{
    struct vm_config cfg;
    vm_config_init(&cfg);
    struct strvec dev = devices();
    struct strbuf out = {0};
    char err[256] = "";
    CHECK_EQ(cmdline_build(&cfg, true, &dev, &out, err, sizeof(err)), 0);
    /* No network interface: the implicit vsock device does TSI (libkrun-behaviour.md 1.6, 2.6). */
    CHECK_STR(out.s,
              CMDLINE_DEFAULT " init=/init.krun virtio_mmio.device=4K@0xd0000000:5 tsi_hijack");
    sb_free(&out);
    strvec_clear(&dev);
    vm_config_free(&cfg);
}

static void test_console_replaced(void)
{
    struct vm_config cfg;
    vm_config_init(&cfg);
    cfg.kernel_console = strdup("ttyS0");
    struct strvec dev = {0};
    struct strbuf out = {0};
    char err[256] = "";
    CHECK_EQ(cmdline_build(&cfg, true, &dev, &out, err, sizeof(err)), 0);
    CHECK(strstr(out.s, " console=ttyS0 ") != NULL);
    CHECK(strstr(out.s, "hvc0") == NULL);
    sb_free(&out);
    vm_config_free(&cfg);
}

/* Upstream's encoding: KRUN_* words, quoted environment, arguments after "--". */
static void test_workload_on_cmdline(void)
{
    struct vm_config cfg;
    vm_config_init(&cfg);
    cfg.exec_path = strdup("/bin/my prog");
    cfg.workdir = strdup("/work");
    const char *args[] = {"a b", "c", NULL};
    const char *env[] = {"A=1", "B=two words", "NOEQUALS", NULL};
    const char *rl[] = {"6=1:2", "7=3:4", NULL};
    strvec_set(&cfg.argv, args, 10);
    strvec_set(&cfg.env, env, 10);
    strvec_set(&cfg.rlimits, rl, 10);
    struct strvec dev = devices();
    struct strbuf out = {0};
    char err[256] = "";
    CHECK_EQ(cmdline_build(&cfg, false, &dev, &out, err, sizeof(err)), 0);
    CHECK(strstr(out.s, " KRUN_INIT=\"/bin/my prog\" KRUN_WORKDIR=/work "
                        "KRUN_RLIMITS=6=1:2,7=3:4 A=1 \"B=two words\" "
                        "virtio_mmio.device=4K@0xd0000000:5 tsi_hijack -- \"a b\" c") != NULL);
    CHECK(strstr(out.s, "NOEQUALS") == NULL);
    sb_free(&out);
    strvec_clear(&dev);
    vm_config_free(&cfg);
}

/* The command line for cfg (workload in the file) ends with tail. */
static void check_tail(const struct vm_config *cfg, const char *tail)
{
    struct strvec dev = devices();
    struct strbuf out = {0};
    char err[256] = "";
    CHECK_EQ(cmdline_build(cfg, true, &dev, &out, err, sizeof(err)), 0);
    size_t n = strlen(tail);
    bool ends = out.len >= n && strcmp(out.s + out.len - n, tail) == 0;
    CHECK(ends);
    if (!ends)
        fprintf(stderr, "  got: %s\n", out.s);
    sb_free(&out);
    strvec_clear(&dev);
}

/* tsi_hijack / tsi_hijack_unix after the devices, as the vsock device proxies them (2.6). */
static void test_tsi_words(void)
{
    static const struct {
        enum vsock_mode mode;
        uint32_t tsi;
        size_t n_nets;
        const char *tail;
    } cases[] = {
        {VSOCK_IMPLICIT, 0, 0, ":5 tsi_hijack"},
        {VSOCK_IMPLICIT, 0, 1, ":5"}, /* a network interface: no implicit TSI */
        {VSOCK_DISABLED, 0, 0, ":5"},
        {VSOCK_EXPLICIT, 0, 0, ":5"},
        {VSOCK_EXPLICIT, VSOCK_TSI_UNIX, 0, ":5 tsi_hijack_unix"},
        {VSOCK_EXPLICIT, VSOCK_TSI_INET | VSOCK_TSI_UNIX, 1, ":5 tsi_hijack tsi_hijack_unix"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vm_config cfg;
        vm_config_init(&cfg);
        cfg.vsock.mode = cases[i].mode;
        cfg.vsock.tsi_features = cases[i].tsi;
        struct net_config net = {.fd = -1};
        if (cases[i].n_nets) {
            cfg.nets = &net;
            cfg.n_nets = 1;
        }
        check_tail(&cfg, cases[i].tail);
        cfg.nets = NULL;
        cfg.n_nets = 0;
        vm_config_free(&cfg);
    }
}

/* KRUN_DHCP after the TSI words: "1" for eth0 alone (upstream's value), else the interfaces. */
static void test_dhcp_word(void)
{
    static const struct {
        uint32_t flags[3];
        bool legacy;
        const char *tail;
    } cases[] = {
        {{0, 0, 0}, false, ":5"},
        {{NET_FLAG_DHCP_CLIENT, 0, 0}, false, ":5 KRUN_DHCP=1"},
        {{0, NET_FLAG_DHCP_CLIENT, 0}, false, ":5 KRUN_DHCP=eth1"},
        {{NET_FLAG_DHCP_CLIENT, 0, NET_FLAG_DHCP_CLIENT}, false, ":5 KRUN_DHCP=eth0,eth2"},
        {{0, 0, NET_FLAG_DHCP_CLIENT}, true, ":5 KRUN_DHCP=eth2"}, /* the legacy one is last */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vm_config cfg;
        vm_config_init(&cfg);
        struct net_config nets[3];
        for (int j = 0; j < 3; j++)
            nets[j] = (struct net_config){.fd = -1, .flags = cases[i].flags[j]};
        cfg.nets = nets;
        cfg.n_nets = cases[i].legacy ? 2 : 3;
        if (cases[i].legacy) {
            cfg.legacy_net_api = true;
            cfg.legacy_net = nets[2];
        }
        check_tail(&cfg, cases[i].tail);
        cfg.nets = NULL;
        cfg.n_nets = 0;
        cfg.legacy_net = (struct net_config){0};
        vm_config_free(&cfg);
    }
}

static void test_cmdline_limits(void)
{
    struct vm_config cfg;
    vm_config_init(&cfg);
    struct strvec dev = {0};
    struct strbuf out = {0};
    char err[256] = "";
    /* A double quote cannot be carried. */
    const char *bad[] = {"X=say \"hi\"", NULL};
    strvec_set(&cfg.env, bad, 10);
    CHECK_EQ(cmdline_build(&cfg, false, &dev, &out, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "double quote") != NULL);
    sb_free(&out);
    /* More variables than the kernel passes to init. */
    strvec_clear(&cfg.env);
    char name[32];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "V%d=x", i);
        strvec_push(&cfg.env, name);
    }
    err[0] = '\0';
    CHECK_EQ(cmdline_build(&cfg, false, &dev, &out, err, sizeof(err)), -E2BIG);
    CHECK(strstr(err, "40 environment variables") != NULL);
    sb_free(&out);
    /* The same workload goes into the file without complaint. */
    CHECK_EQ(cmdline_build(&cfg, true, &dev, &out, err, sizeof(err)), 0);
    sb_free(&out);
    vm_config_free(&cfg);
}

/* Find record `key` number `nth` in a workload file; returns its value or NULL. */
static const char *record(const struct strbuf *f, const char *key, int nth)
{
    const char *p = f->s, *end = f->s + f->len;
    while (p < end) {
        const char *k = p;
        const char *v = k + strlen(k) + 1;
        if (v >= end)
            return NULL;
        if (strcmp(k, key) == 0 && nth-- == 0)
            return v;
        p = v + strlen(v) + 1;
    }
    return NULL;
}

static void test_workload_file(void)
{
    struct vm_config cfg;
    vm_config_init(&cfg);
    cfg.exec_path = strdup("/bin/sh");
    const char *args[] = {"-c", "echo \"quoted\" 'x' ü", NULL};
    strvec_set(&cfg.argv, args, 10);
    for (int i = 0; i < 100; i++) {
        char v[64];
        snprintf(v, sizeof(v), "VAR%d=value %d", i, i);
        strvec_push(&cfg.env, v);
    }
    cfg.root_disk_device = strdup("/dev/vda");
    struct strbuf f = {0};
    CHECK_EQ(workload_file_build(&cfg, &f), 0);
    CHECK_STR(f.s, "krun-workload");
    CHECK_STR(record(&f, "krun-workload", 0), "1");
    CHECK_STR(record(&f, "exec", 0), "/bin/sh");
    CHECK_STR(record(&f, "arg", 0), "-c");
    CHECK_STR(record(&f, "arg", 1), "echo \"quoted\" 'x' ü");
    CHECK_STR(record(&f, "env", 99), "VAR99=value 99");
    CHECK_STR(record(&f, "block-root-device", 0), "/dev/vda");
    CHECK(record(&f, "workdir", 0) == NULL);
    sb_free(&f);
    vm_config_free(&cfg);
}

static unsigned long hexfield(const char *p)
{
    char buf[9];
    memcpy(buf, p, 8);
    buf[8] = '\0';
    return strtoul(buf, NULL, 16);
}

static void test_cpio(void)
{
    struct strbuf a = {0};
    sb_append(&a, "x", 1); /* a previous archive of odd length */
    CHECK_EQ(cpio_add_file(&a, ".krun_workload", 0400, "hello", 5), 0);
    CHECK_EQ(cpio_finish(&a), 0);
    const char *h = a.s + 4; /* padded to 4 */
    CHECK(memcmp(h, "070701", 6) == 0);
    CHECK_EQ(hexfield(h + 6 + 8), 0100400); /* mode */
    CHECK_EQ(hexfield(h + 6 + 6 * 8), 5);   /* file size */
    CHECK_EQ(hexfield(h + 6 + 11 * 8), 15); /* name size incl. NUL */
    CHECK_STR(h + 110, ".krun_workload");
    CHECK(memcmp(h + 128, "hello", 5) == 0); /* 110 + 15 padded to 128 */
    const char *trailer = h + 128 + 8;
    CHECK(memcmp(trailer, "070701", 6) == 0);
    CHECK_STR(trailer + 110, "TRAILER!!!");
    CHECK_EQ(a.len % 4, 0);
    sb_free(&a);
}

int main(void)
{
    RUN(test_default_line);
    RUN(test_console_replaced);
    RUN(test_workload_on_cmdline);
    RUN(test_tsi_words);
    RUN(test_dhcp_word);
    RUN(test_cmdline_limits);
    RUN(test_workload_file);
    RUN(test_cpio);
    return TEST_EXIT();
}
