/* SPDX-License-Identifier: Apache-2.0 */
#include "vm/stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "virtio/device.h"
#include "vm/vm.h"

void vm_times_now(struct vm_times *t)
{
    clock_gettime(CLOCK_MONOTONIC, &t->wall);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t->cpu);
}

static double us_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e6 + (double)(b->tv_nsec - a->tv_nsec) / 1e3;
}

void vm_log_setup_time(struct vm *vm)
{
    if (!log_enabled(LOG_INFO) || !vm->start.wall.tv_sec)
        return;
    struct vm_times now;
    vm_times_now(&now);
    log_info("stats: setup to first KVM_RUN: %.0f us CPU, %.0f us wall",
             us_between(&vm->start.cpu, &now.cpu), us_between(&vm->start.wall, &now.wall));
}

static bool inside(uintptr_t lo, uintptr_t hi, const void *base, uint64_t size)
{
    uintptr_t b = (uintptr_t)base;
    return base && lo >= b && hi <= b + size;
}

/* Resident KiB of the whole process and of the guest RAM mappings, from smaps. */
static void resident(const struct vm *vm, uint64_t *total_kib, uint64_t *guest_kib)
{
    *total_kib = *guest_kib = 0;
    FILE *f = fopen("/proc/self/smaps", "re");
    if (!f)
        return;
    char line[512];
    bool in_guest = false;
    while (fgets(line, sizeof(line), f)) {
        uintptr_t lo, hi;
        uint64_t kib;
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &lo, &hi) == 2 && strchr(line, ' ')) {
            in_guest = inside(lo, hi, vm->m.low.host, vm->m.low.size) ||
                       inside(lo, hi, vm->m.high.host, vm->m.high.size);
        } else if (sscanf(line, "Rss: %" SCNu64 " kB", &kib) == 1) {
            *total_kib += kib;
            if (in_guest)
                *guest_kib += kib;
        }
    }
    fclose(f);
}

void vm_log_final_stats(struct vm *vm)
{
    if (!log_enabled(LOG_INFO))
        return;
    uint64_t total, guest;
    resident(vm, &total, &guest);
    log_info("stats: RSS %" PRIu64 " KiB, of which guest RAM %" PRIu64 " KiB, VMM %" PRIu64 " KiB",
             total, guest, total - guest);
    log_info("stats: exits to the VMM: port I/O %lu, MMIO %lu, other %lu",
             atomic_load(&vm->m.exits_io), atomic_load(&vm->m.exits_mmio),
             atomic_load(&vm->m.exits_other));
    for (unsigned i = 0; i < vm->n_virtio; i++)
        log_info("stats: %s: %lu interrupts", vm->virtio[i]->name,
                 atomic_load(&vm->virtio[i]->n_interrupts));
}
