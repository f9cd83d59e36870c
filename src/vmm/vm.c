/* The VM object: KVM fds, guest memory, exit dispatch, stop and teardown. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86_64/layout.h"
#include "util/log.h"
#include "virtio/device.h"
#include "vmm/event_loop.h"
#include "vmm/vm_internal.h"
#include "vmm/builder_devices.h"
#include "vmm/vm_setup.h"

struct event_loop *vm_event_loop(struct vm *vm)
{
    return vm->loop;
}

void vm_set_exit_status(struct vm *vm, int status)
{
    atomic_store(&vm->exit_status, status);
}

void vm_request_stop(struct vm *vm, enum vm_stop reason)
{
    int expected = VM_RUNNING;
    if (atomic_compare_exchange_strong(&vm->stop_reason, &expected, (int)reason)) {
        uint64_t one = 1;
        ssize_t r = write(vm->exit_efd, &one, sizeof(one));
        (void)r;
    }
}

int vm_add_pio(struct vm *vm, const struct pio_handler *h)
{
    if (vm->n_pio == VM_MAX_PIO_HANDLERS)
        return -ENOSPC;
    vm->pio[vm->n_pio++] = *h;
    return 0;
}

void vm_handle_pio(struct vm *vm, uint16_t port, bool write, uint8_t *data, unsigned len)
{
    for (unsigned i = 0; i < vm->n_pio; i++) {
        const struct pio_handler *h = &vm->pio[i];
        if (port >= h->base && port - h->base < h->len) {
            if (write && h->write)
                h->write(h->opaque, port, data, len);
            else if (!write && h->read)
                h->read(h->opaque, port, data, len);
            else if (!write)
                memset(data, 0xff, len);
            return;
        }
    }
    /* Nothing there: reads float high, like an empty ISA bus. */
    if (!write)
        memset(data, 0xff, len);
}

void vm_handle_mmio(struct vm *vm, uint64_t addr, bool write, uint8_t *data, unsigned len)
{
    if (addr >= X86_VIRTIO_MMIO_BASE &&
        addr - X86_VIRTIO_MMIO_BASE < vm->n_devices * X86_VIRTIO_MMIO_SIZE) {
        uint64_t rel = addr - X86_VIRTIO_MMIO_BASE;
        struct virtio_device *dev = vm->devices[rel / X86_VIRTIO_MMIO_SIZE];
        uint64_t off = rel % X86_VIRTIO_MMIO_SIZE;
        if (write)
            virtio_mmio_write(dev, off, data, len);
        else
            virtio_mmio_read(dev, off, data, len);
        return;
    }
    if (vm_ioapic_mmio(vm, addr, write, data, len))
        return;
    if (!write)
        memset(data, 0, len);
}

/* ------------------------------------------------------------------ */
/* KVM                                                                 */
/* ------------------------------------------------------------------ */

int vm_open_kvm(struct vm *vm)
{
    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0) {
        int err = errno;
        if (err == ENOENT)
            log_error("/dev/kvm does not exist: KVM is not available on this host "
                      "(is the kvm_intel or kvm_amd module loaded?)");
        else if (err == EACCES || err == EPERM)
            log_error("no permission to open /dev/kvm: add the user to the group that owns "
                      "it (usually 'kvm')");
        else
            log_error("cannot open /dev/kvm: %s", strerror(err));
        return -err;
    }
    int version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
        log_error("/dev/kvm has API version %d, expected %d", version, KVM_API_VERSION);
        return -EINVAL;
    }
    static const struct {
        int cap;
        const char *name;
    } required[] = {
        {KVM_CAP_IRQCHIP, "IRQCHIP"},
        {KVM_CAP_IOEVENTFD, "IOEVENTFD"},
        {KVM_CAP_IRQFD, "IRQFD"},
        {KVM_CAP_USER_MEMORY, "USER_MEMORY"},
        {KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR"},
        {KVM_CAP_EXT_CPUID, "EXT_CPUID"},
        {KVM_CAP_PIT2, "PIT2"},
    };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, required[i].cap) <= 0) {
            log_error("/dev/kvm lacks the required capability KVM_CAP_%s", required[i].name);
            return -ENOTSUP;
        }
    }
    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        int err = errno;
        log_error("KVM_CREATE_VM on /dev/kvm failed: %s", strerror(err));
        return -err;
    }
    if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)X86_TSS_ADDR) < 0) {
        log_error("KVM_SET_TSS_ADDR failed: %s", strerror(errno));
        return -errno;
    }
    uint64_t ident = X86_IDENTITY_MAP_ADDR;
    if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
        log_debug("KVM_SET_IDENTITY_MAP_ADDR failed: %s", strerror(errno));
    return 0;
}

int vm_create_irqchip(struct vm *vm, bool split)
{
    if (split) {
        struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {VM_IOAPIC_PINS}};
        if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
            log_error("KVM split irqchip is not available: %s", strerror(errno));
            return -errno;
        }
        return vm_ioapic_init(vm);
    }
    if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        log_error("KVM_CREATE_IRQCHIP failed: %s", strerror(errno));
        return -errno;
    }
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
        log_error("KVM_CREATE_PIT2 failed: %s", strerror(errno));
        return -errno;
    }
    return 0;
}

static int add_memslot(struct vm *vm, uint64_t gpa, uint64_t size, void *host)
{
    struct kvm_userspace_memory_region region = {
        .slot = vm->next_slot,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uintptr_t)host,
    };
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        log_error("KVM_SET_USER_MEMORY_REGION (0x%llx, %llu MiB) failed: %s",
                  (unsigned long long)gpa, (unsigned long long)(size >> 20), strerror(errno));
        return -errno;
    }
    vm->next_slot++;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Guest memory                                                        */
/* ------------------------------------------------------------------ */

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

int vm_create_memory(struct vm *vm, uint64_t total, const struct kernel_bundle *bundle)
{
    vm->low_size = total < X86_MMIO_GAP_START ? total : X86_MMIO_GAP_START;
    vm->high_size = total - vm->low_size;
    vm->low_host = map_ram(vm->low_size);
    if (!vm->low_host || (vm->high_size && !(vm->high_host = map_ram(vm->high_size)))) {
        log_error("cannot reserve %llu MiB of guest memory: %s", (unsigned long long)(total >> 20),
                  strerror(errno));
        return -ENOMEM;
    }
    int ret = gm_add_region(&vm->mem, 0, vm->low_size, vm->low_host);
    if (!ret && vm->high_size)
        ret = gm_add_region(&vm->mem, X86_MMIO_GAP_END, vm->high_size, vm->high_host);
    if (ret)
        return ret;

    if (bundle) {
        if (bundle->load_addr + bundle->size > vm->low_size) {
            log_error("the kernel bundle does not fit in guest memory");
            return -EINVAL;
        }
        uint8_t *dst = (uint8_t *)vm->low_host + bundle->load_addr;
        vm->bundle_mapped = map_bundle_from_file(bundle, dst);
        if (!vm->bundle_mapped) {
            log_debug("kernel bundle: no file mapping possible, copying it");
            memcpy(dst, bundle->host, bundle->size);
        }
    }
    if (vm->bundle_mapped) {
        /* The bundle gets a memslot of its own; host addresses stay contiguous. */
        uint64_t end = bundle->load_addr + bundle->size;
        ret = add_memslot(vm, 0, bundle->load_addr, vm->low_host);
        if (!ret)
            ret = add_memslot(vm, bundle->load_addr, bundle->size,
                              (uint8_t *)vm->low_host + bundle->load_addr);
        if (!ret && end < vm->low_size)
            ret = add_memslot(vm, end, vm->low_size - end, (uint8_t *)vm->low_host + end);
    } else {
        ret = add_memslot(vm, 0, vm->low_size, vm->low_host);
    }
    if (!ret && vm->high_size)
        ret = add_memslot(vm, X86_MMIO_GAP_END, vm->high_size, vm->high_host);
    return ret;
}

/* ------------------------------------------------------------------ */
/* Teardown                                                            */
/* ------------------------------------------------------------------ */

void vm_destroy(struct vm *vm)
{
    if (!vm)
        return;
    vm_stop_vcpus(vm);
    for (unsigned i = 0; i < vm->n_devices; i++) {
        struct virtio_device *dev = vm->devices[i];
        dev->ops->destroy(dev);
        if (dev->irq_fd >= 0)
            close(dev->irq_fd);
        for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
            if (dev->kick_fds[q] >= 0)
                close(dev->kick_fds[q]);
        pthread_mutex_destroy(&dev->lock);
        free(dev);
    }
    vm_free_device_data(vm);
    vm_ioapic_destroy(vm);
    vm_destroy_legacy_devices(vm);
    term_restore_all(&vm->terms);
    vm_destroy_vcpus(vm);
    ev_loop_free(vm->loop);
    if (vm->exit_efd >= 0)
        close(vm->exit_efd);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    if (vm->low_host)
        munmap(vm->low_host, vm->low_size);
    if (vm->high_host)
        munmap(vm->high_host, vm->high_size);
    free(vm);
}

struct vm *vm_alloc(const struct vm_config *cfg)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return NULL;
    vm->cfg = cfg;
    vm->kvm_fd = vm->vm_fd = vm->exit_efd = vm->shutdown_efd = vm->signal_wfd = -1;
    atomic_init(&vm->exit_status, VM_NO_STATUS);
    atomic_init(&vm->stop_reason, VM_RUNNING);
    vm->exit_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    vm->loop = ev_loop_new();
    if (vm->exit_efd < 0 || !vm->loop) {
        vm_destroy(vm);
        return NULL;
    }
    return vm;
}
