/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: init/mountopt.c init/mountinfo.c init/ports.c init/creds.c init/readfile.c init/log.c */
/* The pure helpers of the init's system code: mount options, mountinfo,
 * port names, user specs. */
#include "../../init/creds.h"
#include "../../init/mountinfo.h"
#include "../../init/mountopt.h"
#include "../../init/ports.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/mount.h>

#include "test.h"

static void test_mountopt(void)
{
    char data[128];
    unsigned long flags;
    CHECK_EQ(mountopt_split("nosuid,strictatime,mode=755,size=65536k,rprivate", &flags, data,
                            sizeof(data)),
             0);
    CHECK(flags == (MS_NOSUID | MS_STRICTATIME));
    CHECK_STR(data, "mode=755,size=65536k");
    CHECK_EQ(mountopt_split("ro,noatime,errors=remount-ro,rw", &flags, data, sizeof(data)), 0);
    CHECK(flags == MS_NOATIME);
    CHECK_STR(data, "errors=remount-ro");
    CHECK_EQ(mountopt_split(NULL, &flags, data, sizeof(data)), 0);
    CHECK(flags == 0);
    CHECK_STR(data, "");
    CHECK_EQ(mountopt_split(",,nodev,,", &flags, data, sizeof(data)), 0);
    CHECK(flags == MS_NODEV);
    CHECK_STR(data, "");
    CHECK_EQ(mountopt_split("size=1g", &flags, data, 4), -EINVAL);
}

static void test_mountinfo(void)
{
    const char *info = "22 1 0:20 / / rw,relatime shared:1 - virtiofs /dev/root rw\n"
                       "23 22 0:5 / /dev rw,nosuid shared:2 - devtmpfs devtmpfs rw\n"
                       "30 22 0:30 / /with\\040space rw - tmpfs tmpfs rw\n"
                       "31 22 0:31 / /back\\134slash rw - tmpfs tmpfs rw\n"
                       "32 22 0:32 / /run rw - tmpfs tmpfs rw";
    CHECK(mountinfo_has(info, "/"));
    CHECK(mountinfo_has(info, "/dev"));
    CHECK(mountinfo_has(info, "/dev/"));
    CHECK(mountinfo_has(info, "/run"));
    CHECK(mountinfo_has(info, "/with space"));
    CHECK(mountinfo_has(info, "/back\\slash"));
    CHECK(!mountinfo_has(info, "/de"));
    CHECK(!mountinfo_has(info, "/dev/shm"));
    CHECK(!mountinfo_has(info, "/with"));
    CHECK(!mountinfo_has(info, "/tmp"));
    CHECK(!mountinfo_has("", "/"));
    CHECK(!mountinfo_has("garbage line\n", "/"));
}

static void test_ports(void)
{
    CHECK(ports_entry_valid("vport0p0"));
    CHECK(ports_entry_valid("vport12p345"));
    CHECK(!ports_entry_valid("vport"));
    CHECK(!ports_entry_valid("vportp1"));
    CHECK(!ports_entry_valid("vport1p"));
    CHECK(!ports_entry_valid("vport1p2x"));
    CHECK(!ports_entry_valid("vport1p2/../x"));
    CHECK(!ports_entry_valid("hvc0"));
    CHECK_EQ(ports_role("krun-stdin\n"), 0);
    CHECK_EQ(ports_role("krun-stdout"), 1);
    CHECK_EQ(ports_role("krun-stderr\n"), 2);
    CHECK_EQ(ports_role("krun-signal\n"), 3);
    CHECK_EQ(ports_role("krun-exit\n"), PORT_EXIT);
    CHECK_EQ(ports_role("krun-stdin2\n"), -1);
    CHECK_EQ(ports_role("krun-std\n"), -1);
    CHECK_EQ(ports_role("\n"), -1);
    CHECK(ports_signal_allowed(SIGHUP) && ports_signal_allowed(SIGINT));
    CHECK(ports_signal_allowed(SIGQUIT) && ports_signal_allowed(SIGTERM));
    CHECK(ports_signal_allowed(SIGUSR1) && ports_signal_allowed(SIGUSR2));
    CHECK(!ports_signal_allowed(SIGKILL) && !ports_signal_allowed(SIGSTOP));
    CHECK(!ports_signal_allowed(0) && !ports_signal_allowed(255));
}

static void test_exit_port(void)
{
    struct ports p;
    int fds[2];
    char buf[32] = "";
    ports_init(&p);
    CHECK_EQ(ports_write_exit(&p, 3), -1); /* no port */
    CHECK_EQ(pipe2(fds, O_NONBLOCK), 0);
    p.exit = fds[1];
    CHECK_EQ(ports_write_exit(&p, 130), 0);
    CHECK_EQ(p.exit, -1);
    CHECK_EQ(read(fds[0], buf, sizeof(buf)), 4);
    CHECK_STR(buf, "130\n");
    /* The write end was closed: the reader sees EOF. */
    CHECK_EQ(read(fds[0], buf, sizeof(buf)), 0);
    close(fds[0]);

    /* A host that never reads costs a bounded wait, then it gives up. */
    CHECK_EQ(pipe2(fds, O_NONBLOCK), 0);
    while (write(fds[1], buf, sizeof(buf)) > 0)
        ;
    p.exit = fds[1];
    CHECK_EQ(ports_write_exit(&p, 1), -1);
    CHECK_EQ(p.exit, -1);
    close(fds[0]);
}

static void test_user_spec(void)
{
    char buf[64];
    const char *user, *group;
    CHECK_EQ(creds_split_user("1000:100", buf, sizeof(buf), &user, &group), 0);
    CHECK_STR(user, "1000");
    CHECK_STR(group, "100");
    CHECK_EQ(creds_split_user("nobody", buf, sizeof(buf), &user, &group), 0);
    CHECK_STR(user, "nobody");
    CHECK(group == NULL);
    CHECK_EQ(creds_split_user(":100", buf, sizeof(buf), &user, &group), -EINVAL);
    CHECK_EQ(creds_split_user("toolong", buf, 4, &user, &group), -EINVAL);

    unsigned id;
    CHECK_EQ(creds_parse_id("0", &id), 0);
    CHECK_EQ(id, 0);
    CHECK_EQ(creds_parse_id("4294967294", &id), 0);
    CHECK_EQ(id, 4294967294u);
    CHECK_EQ(creds_parse_id("4294967295", &id), -EINVAL);
    CHECK_EQ(creds_parse_id("99999999999999999999", &id), -EINVAL);
    CHECK_EQ(creds_parse_id("", &id), -EINVAL);
    CHECK_EQ(creds_parse_id("-1", &id), -EINVAL);
    CHECK_EQ(creds_parse_id("12a", &id), -EINVAL);
}

static void test_resolve(void)
{
    struct plan plan;
    struct creds c;
    char err[128];
    uint32_t groups[] = {7, 8};
    memset(&plan, 0, sizeof(plan));
    CHECK_EQ(creds_resolve(&plan, &c, err, sizeof(err)), 0);
    CHECK(!c.set);
    creds_free(&c);

    plan.have_ids = true;
    plan.uid = 1000;
    plan.gid = 100;
    plan.groups = groups;
    plan.n_groups = 2;
    CHECK_EQ(creds_resolve(&plan, &c, err, sizeof(err)), 0);
    CHECK(c.set);
    CHECK_EQ(c.uid, 1000);
    CHECK_EQ(c.gid, 100);
    CHECK_EQ(c.n_groups, 2);
    CHECK_EQ(c.groups[1], 8);
    creds_free(&c);

    /* Docker specs: numbers need no passwd entry; root is in any passwd. */
    memset(&plan, 0, sizeof(plan));
    plan.user = "4000:4001";
    CHECK_EQ(creds_resolve(&plan, &c, err, sizeof(err)), 0);
    CHECK(c.set);
    CHECK_EQ(c.uid, 4000);
    CHECK_EQ(c.gid, 4001);
    creds_free(&c);
    plan.user = "root";
    CHECK_EQ(creds_resolve(&plan, &c, err, sizeof(err)), 0);
    CHECK_EQ(c.uid, 0);
    CHECK_EQ(c.gid, 0);
    CHECK_STR(c.home, "/root");
    creds_free(&c);
    plan.user = "no-such-user-krun";
    CHECK_EQ(creds_resolve(&plan, &c, err, sizeof(err)), -1);
    CHECK(strstr(err, "not found") != NULL);
    creds_free(&c);
    plan.user = "0:no-such-group-krun";
    CHECK_EQ(creds_resolve(&plan, &c, err, sizeof(err)), -1);
    creds_free(&c);
}

int main(void)
{
    RUN(test_mountopt);
    RUN(test_mountinfo);
    RUN(test_ports);
    RUN(test_exit_port);
    RUN(test_user_spec);
    RUN(test_resolve);
    return TEST_EXIT();
}
