/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: init/net.c init/readfile.c init/log.c */
/* The init's network setup: when the command line asks for TSI. */
#include "../../init/net.h"
#include "test.h"

static void test_cmdline_has_tsi(void)
{
    CHECK(net_cmdline_has_tsi("reboot=k virtio_mmio.device=4K@0xd0000000:5 tsi_hijack"));
    CHECK(net_cmdline_has_tsi("tsi_hijack tsi_hijack_unix -- a b"));
    CHECK(net_cmdline_has_tsi("a\ttsi_hijack\n"));
    /* Only before "--" (after it, words are the workload's arguments), and whole words. */
    CHECK(!net_cmdline_has_tsi("quiet -- tsi_hijack"));
    CHECK(!net_cmdline_has_tsi("tsi_hijack_unix"));
    CHECK(!net_cmdline_has_tsi("notsi_hijack tsi_hijackx"));
    CHECK(!net_cmdline_has_tsi("KRUN_X=tsi_hijack"));
    CHECK(!net_cmdline_has_tsi(""));
}

int main(void)
{
    RUN(test_cmdline_has_tsi);
    return TEST_EXIT();
}
