/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest RAM: anonymous memory, backed lazily, in KVM memory slots around
 * the MMIO gap; the kernel bundle is mapped into it from its file.
 */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86_64/layout.h"
#include "util/log.h"
#include "vmm/machine.h"

static int add_memslot(struct machine *m, uint64_t gpa, uint64_t size, void *host)
{
    struct kvm_userspace_memory_region region = {
        .slot = m->next_slot,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uintptr_t)host,
    };
    if (ioctl(m->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        int err = errno;
        log_error("KVM_SET_USER_MEMORY_REGION (0x%llx, %llu MiB) failed: %s",
                  (unsigned long long)gpa, (unsigned long long)(size >> 20), strerror(err));
        return -err;
    }
    m->next_slot++;
    return 0;
}

struct phdr_search {
    uintptr_t ptr;
    uint64_t size;
    off_t offset;
    bool found;
};

static int find_file_offset(struct dl_phdr_info *info, size_t len, void *data)
{
    (void)len;
    struct phdr_search *s = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type != PT_LOAD || s->ptr < start || s->ptr - start >= ph->p_filesz)
            continue;
        if (s->size > ph->p_filesz - (s->ptr - start))
            return 1; /* partly bss: not all of it is in the file */
        s->offset = (off_t)(ph->p_offset + (s->ptr - start));
        s->found = true;
        return 1;
    }
    return 0;
}

/*
 * Map the kernel bundle into the guest from libkrunfw's file, privately:
 * no copy, page cache shared with other VMs, and every VM starts from the
 * pristine image even when one process runs several VMs in a row. Only if
 * the file is still the one that was loaded (same device and inode).
 */
static bool map_bundle_from_file(const struct kernel_bundle *b, void *dst)
{
    struct phdr_search s = {.ptr = (uintptr_t)b->host, .size = b->size};
    dl_iterate_phdr(find_file_offset, &s);
    long page = sysconf(_SC_PAGESIZE);
    if (!s.found || !b->path[0] || s.offset % page)
        return false;
    int fd = open(b->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    void *p = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_dev == b->dev && st.st_ino == b->ino)
        p = mmap(dst, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, s.offset);
    close(fd);
    return p != MAP_FAILED;
}

static void *map_ram(uint64_t size)
{
    /* Lazily backed: pages are allocated when the guest first touches them. */
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    madvise(p, size, MADV_DONTDUMP);
    return p;
}

int machine_create_memory(struct machine *m, uint64_t total, const struct kernel_bundle *bundle)
{
    m->low.size = total < X86_MMIO_GAP_START ? total : X86_MMIO_GAP_START;
    m->high.size = total - m->low.size;
    m->low.host = map_ram(m->low.size);
    if (!m->low.host || (m->high.size && !(m->high.host = map_ram(m->high.size)))) {
        log_error("cannot reserve %llu MiB of guest memory: %s", (unsigned long long)(total >> 20),
                  strerror(errno));
        return -ENOMEM;
    }
    int ret = gm_add_region(&m->mem, 0, m->low.size, m->low.host);
    if (!ret && m->high.size)
        ret = gm_add_region(&m->mem, X86_MMIO_GAP_END, m->high.size, m->high.host);
    if (ret)
        return ret;

    if (bundle) {
        if (bundle->load_addr + bundle->size > m->low.size) {
            log_error("the kernel bundle does not fit in guest memory");
            return -EINVAL;
        }
        uint8_t *dst = (uint8_t *)m->low.host + bundle->load_addr;
        m->bundle_mapped = map_bundle_from_file(bundle, dst);
        if (!m->bundle_mapped) {
            log_debug("kernel bundle: no file mapping possible, copying it");
            memcpy(dst, bundle->host, bundle->size);
        }
    }
    if (m->bundle_mapped) {
        /* The bundle gets a memslot of its own; host addresses stay contiguous. */
        uint64_t end = bundle->load_addr + bundle->size;
        uint8_t *low = m->low.host;
        ret = add_memslot(m, 0, bundle->load_addr, low);
        if (!ret)
            ret = add_memslot(m, bundle->load_addr, bundle->size, low + bundle->load_addr);
        if (!ret && end < m->low.size)
            ret = add_memslot(m, end, m->low.size - end, low + end);
    } else {
        ret = add_memslot(m, 0, m->low.size, m->low.host);
    }
    if (!ret && m->high.size)
        ret = add_memslot(m, X86_MMIO_GAP_END, m->high.size, m->high.host);
    return ret;
}
