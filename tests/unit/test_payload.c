/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/vm/payload.c src/vm/cmdline.c src/vm/config.c src/loader/elf.c src/loader/bzimage.c src/loader/footprint.c src/loader/initramfs.c src/loader/cpio.c src/loader/load_error.c src/loader/decompress.c src/util/guest_mem.c src/util/log.c src/util/strbuf.c src/util/strvec.c */
/* LDLIBS: -lz -lbz2 -lzstd */
/* The payload: krun_set_kernel's file is read once, and what was checked is what is loaded. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include "../fuzz/synth_kernel.h"
#include "libkrun.h"
#include "util/log.h"
#include "vm/payload.h"
#include "vmm/machine.h"

#define RAM_SIZE (4u << 20)

static uint8_t ram[RAM_SIZE];
static char dir[] = "/tmp/krun-payload-XXXXXX";

static void test_kernel_read_once(void)
{
    static uint8_t img[SYNTH_ELF_SIZE];
    size_t len = synth_elf(img, false, SYNTH_ENTRY);
    char path[256];
    snprintf(path, sizeof(path), "%s/vmlinux", dir);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, img, len), (ssize_t)len);

    struct vm_config cfg;
    vm_config_init(&cfg);
    cfg.kernel_path = strdup(path);
    cfg.kernel_format = KRUN_KERNEL_FORMAT_ELF;
    struct payload p = {0};
    CHECK_EQ(payload_choose(&cfg, NULL, &p), 0);

    /* Someone rewrites the kernel after it was checked: a segment grows past
       the file and its bytes change. The VM must get what was checked. */
    static uint8_t evil[SYNTH_ELF_SIZE];
    memcpy(evil, img, len);
    memset(evil + SYNTH_SEG0_OFF, 0xee, SYNTH_ELF_SIZE - SYNTH_SEG0_OFF);
    Elf64_Phdr ph;
    memcpy(&ph, evil + sizeof(Elf64_Ehdr), sizeof(ph));
    ph.p_filesz = 1ull << 40;
    memcpy(evil + sizeof(Elf64_Ehdr), &ph, sizeof(ph));
    CHECK_EQ(pwrite(fd, evil, len, 0), (ssize_t)len);
    close(fd);

    struct machine m;
    memset(&m, 0, sizeof(m));
    memset(ram, 0, sizeof(ram));
    CHECK_EQ(gm_add_region(&m.mem, 0, RAM_SIZE, ram), 0);
    m.low = (struct ram_block){.host = ram, .size = RAM_SIZE};
    struct x86_boot boot = {0};
    CHECK_EQ(payload_load(&p, &m, &boot), 0);
    CHECK(memcmp(ram + SYNTH_SEG0_PADDR, img + SYNTH_SEG0_OFF, SYNTH_SEG0_SIZE) == 0);
    CHECK(memcmp(ram + SYNTH_SEG1_PADDR, img + SYNTH_SEG1_OFF, SYNTH_SEG1_FILESZ) == 0);
    CHECK_EQ(boot.entry, SYNTH_ENTRY);
    payload_free(&p);
    vm_config_free(&cfg);
    unlink(path);
}

static void test_missing_and_empty(void)
{
    struct vm_config cfg;
    vm_config_init(&cfg);
    struct payload p = {0};
    cfg.kernel_path = strdup("/nonexistent/vmlinux");
    CHECK_EQ(payload_choose(&cfg, NULL, &p), -EINVAL);
    payload_free(&p);
    free(cfg.kernel_path);
    char path[256];
    snprintf(path, sizeof(path), "%s/empty", dir);
    close(open(path, O_CREAT | O_WRONLY, 0644));
    cfg.kernel_path = strdup(path);
    CHECK_EQ(payload_choose(&cfg, NULL, &p), -EINVAL);
    payload_free(&p);
    vm_config_free(&cfg);
    unlink(path);
    /* No kernel and no bundle. */
    vm_config_init(&cfg);
    CHECK_EQ(payload_choose(&cfg, NULL, &p), -ENOENT);
    vm_config_free(&cfg);
}

int main(void)
{
    log_configure(2, LOG_OFF, 0, false);
    if (!mkdtemp(dir))
        return 1;
    RUN(test_kernel_read_once);
    RUN(test_missing_and_empty);
    rmdir(dir);
    return TEST_EXIT();
}
