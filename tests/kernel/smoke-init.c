/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PID 1 for tests/kernel/smoke.sh: prints a marker on the console, lists the
 * virtio devices the kernel found (virtio-mmio from the command line), then
 * ends the way the kernel command line asks (smoke_mode=exit|segv, passed
 * to init through its environment). The patched kernel must restart, not
 * panic.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static void list_virtio(void)
{
    mkdir("/sys", 0755);
    if (mount("sysfs", "/sys", "sysfs", 0, NULL) != 0) {
        perror("mount /sys");
        return;
    }
    DIR *d = opendir("/sys/bus/virtio/devices");
    if (!d) {
        perror("/sys/bus/virtio/devices");
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[512], id[32] = "?";
        snprintf(path, sizeof(path), "/sys/bus/virtio/devices/%s/device", e->d_name);
        FILE *f = fopen(path, "r");
        if (f) {
            if (fgets(id, sizeof(id), f))
                id[strcspn(id, "\n")] = 0;
            fclose(f);
        }
        printf("KRUN-SMOKE-VIRTIO %s device=%s\n", e->d_name, id);
    }
    closedir(d);
}

int main(void)
{
    const char *mode = getenv("smoke_mode");
    if (!mode)
        mode = "exit";
    printf("KRUN-SMOKE-MARKER pid=%d mode=%s\n", (int)getpid(), mode);
    list_virtio();
    fflush(stdout);
    if (strcmp(mode, "segv") == 0) {
        volatile int *volatile nowhere = NULL;
        *nowhere = 1;
    }
    return 7;
}
