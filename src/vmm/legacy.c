/*
 * Legacy port I/O devices: the i8042's reset line (how the guest ends the
 * VM: `reboot=k` writes 0xfe to port 0x64), the panic port, and the POST
 * port that Linux writes for I/O delays.
 */
#include <stdint.h>
#include <string.h>

#include "util/log.h"
#include "vmm/vm_setup.h"

#define I8042_DATA      0x60
#define I8042_COMMAND   0x64
#define I8042_CMD_RESET 0xfe
#define POST_PORT       0x80
/*
 * The guest kernel's panic notifier writes here (the pvpanic ISA port and
 * protocol: bit 0 = panicked, bit 1 = crash loaded), see kernel/patches.
 */
#define PANIC_PORT     0x505
#define PANIC_PANICKED 1u

static void i8042_read(void *opaque, uint16_t port, uint8_t *data, unsigned len)
{
    (void)opaque;
    (void)port;
    /* Status 0: output buffer empty, input buffer free; data reads 0. */
    memset(data, 0, len);
}

static void i8042_write(void *opaque, uint16_t port, const uint8_t *data, unsigned len)
{
    struct vm *vm = opaque;
    if (port == I8042_COMMAND && len >= 1 && data[0] == I8042_CMD_RESET)
        vm_request_stop(vm, VM_STOP_RESET);
}

static void panic_read(void *opaque, uint16_t port, uint8_t *data, unsigned len)
{
    (void)opaque;
    (void)port;
    /* Reading the port tells the guest which events we understand. */
    memset(data, 0, len);
    data[0] = PANIC_PANICKED;
}

static void panic_write(void *opaque, uint16_t port, const uint8_t *data, unsigned len)
{
    struct vm *vm = opaque;
    (void)port;
    if (len >= 1 && (data[0] & PANIC_PANICKED))
        vm_request_stop(vm, VM_STOP_PANIC);
}

static void ignore_write(void *opaque, uint16_t port, const uint8_t *data, unsigned len)
{
    (void)opaque;
    (void)port;
    (void)data;
    (void)len;
}

int vm_add_legacy_devices(struct vm *vm)
{
    const struct pio_handler handlers[] = {
        {.base = I8042_DATA, .len = 5, .read = i8042_read, .write = i8042_write, .opaque = vm},
        {.base = PANIC_PORT, .len = 1, .read = panic_read, .write = panic_write, .opaque = vm},
        {.base = POST_PORT, .len = 1, .write = ignore_write},
    };
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
        int ret = vm_add_pio(vm, &handlers[i]);
        if (ret)
            return ret;
    }
    return vm_add_serial_ports(vm);
}

void vm_destroy_legacy_devices(struct vm *vm)
{
    vm_destroy_serial_ports(vm);
}
