/* SPDX-License-Identifier: Apache-2.0 */
#include "report.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "log.h"

static int root_fd = -1;

void report_init(void)
{
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    /* Without a console fds 0-2 are free: keep them for stdio. */
    if (fd >= 0 && fd < 3) {
        int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        close(fd);
        fd = high;
    }
    root_fd = fd;
}

int report_status(int status)
{
    struct statfs sf;
    if (root_fd < 0 || fstatfs(root_fd, &sf) < 0 || sf.f_type != FUSE_SUPER_MAGIC)
        return -1;
    return ioctl(root_fd, KRUN_EXIT_CODE_IOCTL, (unsigned long)(unsigned)status) < 0 ? -1 : 0;
}

noreturn void vm_end(int status, struct ports *ports)
{
    /* Output ports first, so that the workload's last bytes are taken
     * before the status that ends the VM (see ports.h). */
    int sent = -1;
    if (ports) {
        ports_close_outputs(ports);
        sent = ports_write_exit(ports, status);
    }
    if (report_status(status) < 0 && sent < 0)
        init_log("cannot report the exit status %d: no krun-exit port, no virtio-fs root", status);
    sync();
    reboot(RB_AUTOBOOT);
    /* Not PID 1, or not allowed: the patched kernel reboots when PID 1
     * exits anyway. */
    _exit(status);
}
