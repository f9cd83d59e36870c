/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/vmm/ioapic.c */
/* The IOAPIC model: registers, edge and level delivery, EOI, routes for irqfds. */
#include "test.h"

#include <stdbool.h>

#include "vmm/ioapic.h"

#define REG_SELECT 0x00
#define REG_WINDOW 0x10

struct host {
    int msis;
    uint32_t msi_addr, msi_data;
    int route_updates;
    unsigned n_routes;
    struct ioapic_route routes[IOAPIC_PINS];
};

static void set_routes(void *opaque, const struct ioapic_route *routes, unsigned n)
{
    struct host *h = opaque;
    h->route_updates++;
    h->n_routes = n;
    memcpy(h->routes, routes, n * sizeof(*routes));
}

static void send_msi(void *opaque, uint32_t addr, uint32_t data)
{
    struct host *h = opaque;
    h->msis++;
    h->msi_addr = addr;
    h->msi_data = data;
}

static const struct ioapic_ops ops = {.set_routes = set_routes, .send_msi = send_msi};

static void wr(struct ioapic *io, uint32_t reg, uint32_t v)
{
    ioapic_mmio_write(io, REG_SELECT, (const uint8_t *)&reg, 4);
    ioapic_mmio_write(io, REG_WINDOW, (const uint8_t *)&v, 4);
}

static uint32_t rd(struct ioapic *io, uint32_t reg)
{
    uint32_t v = 0;
    ioapic_mmio_write(io, REG_SELECT, (const uint8_t *)&reg, 4);
    ioapic_mmio_read(io, REG_WINDOW, (uint8_t *)&v, 4);
    return v;
}

/* Program pin's redirection entry: low word, then destination APIC id in the high word. */
static void program(struct ioapic *io, unsigned pin, uint32_t low, uint8_t dest)
{
    wr(io, 0x10 + 2 * pin + 1, (uint32_t)dest << 24);
    wr(io, 0x10 + 2 * pin, low);
}

static void test_registers(void)
{
    struct host h = {0};
    struct ioapic *io = ioapic_new(3, &ops, &h);
    CHECK_EQ(rd(io, 0) >> 24, 3);             /* id */
    CHECK_EQ(rd(io, 1), (23u << 16) | 0x11);  /* version: 24 pins */
    CHECK_EQ(rd(io, 0x10 + 2 * 7), 1u << 16); /* masked after reset */
    wr(io, 0, 5u << 24);
    CHECK_EQ(rd(io, 0) >> 24, 5);
    /* Delivery status and remote IRR are read-only. */
    program(io, 2, 0x30 | (1u << 12) | (1u << 14), 0);
    CHECK_EQ(rd(io, 0x10 + 2 * 2), 0x30);
    /* Out-of-range registers read zero, writes do nothing. */
    wr(io, 0x10 + 2 * IOAPIC_PINS, 0xffffffff);
    CHECK_EQ(rd(io, 0x10 + 2 * IOAPIC_PINS), 0);
    ioapic_free(io);
}

static void test_edge(void)
{
    struct host h = {0};
    struct ioapic *io = ioapic_new(1, &ops, &h);
    ioapic_set_line(io, 4, true); /* masked: nothing */
    ioapic_set_line(io, 4, false);
    CHECK_EQ(h.msis, 0);
    program(io, 4, 0x31, 2); /* vector 0x31, fixed, edge, physical, APIC 2 */
    CHECK(h.route_updates > 0);
    CHECK_EQ(h.n_routes, 1);
    CHECK_EQ(h.routes[0].pin, 4);
    CHECK_EQ(h.routes[0].msi_addr, 0xfee00000u | (2u << 12));
    CHECK_EQ(h.routes[0].msi_data, 0x31);
    ioapic_set_line(io, 4, true);
    CHECK_EQ(h.msis, 1);
    CHECK_EQ(h.msi_data, 0x31);
    ioapic_set_line(io, 4, true); /* no new edge */
    CHECK_EQ(h.msis, 1);
    ioapic_set_line(io, 4, false);
    ioapic_set_line(io, 4, true);
    CHECK_EQ(h.msis, 2);
    /* Masking again removes the route. */
    program(io, 4, 0x31 | (1u << 16), 2);
    CHECK_EQ(h.n_routes, 0);
    ioapic_set_line(io, 99, true); /* no such pin */
    ioapic_free(io);
}

static void test_level_and_eoi(void)
{
    struct host h = {0};
    struct ioapic *io = ioapic_new(1, &ops, &h);
    program(io, 9, 0x40 | (1u << 15), 0); /* level-triggered */
    ioapic_set_line(io, 9, true);
    CHECK_EQ(h.msis, 1);
    CHECK(h.msi_data & (1u << 15));           /* trigger mode level in the MSI */
    CHECK(rd(io, 0x10 + 2 * 9) & (1u << 14)); /* remote IRR */
    ioapic_set_line(io, 9, true);             /* still in service: nothing */
    CHECK_EQ(h.msis, 1);
    ioapic_eoi(io, 0x41); /* another vector */
    CHECK_EQ(h.msis, 1);
    ioapic_eoi(io, 0x40); /* line still high: fires again */
    CHECK_EQ(h.msis, 2);
    ioapic_set_line(io, 9, false);
    ioapic_eoi(io, 0x40);
    CHECK_EQ(h.msis, 2);
    CHECK(!(rd(io, 0x10 + 2 * 9) & (1u << 14)));
    /* Unmasking a level line that is high delivers at once. */
    program(io, 10, 0x50 | (1u << 15) | (1u << 16), 0);
    ioapic_set_line(io, 10, true);
    CHECK_EQ(h.msis, 2);
    program(io, 10, 0x50 | (1u << 15), 0);
    CHECK_EQ(h.msis, 3);
    CHECK_EQ(h.msi_data & 0xff, 0x50);
    ioapic_free(io);
}

int main(void)
{
    RUN(test_registers);
    RUN(test_edge);
    RUN(test_level_and_eoi);
    return TEST_EXIT();
}
