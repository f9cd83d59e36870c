/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: src/vmm/bus.c src/vmm/teardown.c src/util/log.c */
/* The address bus: registration rules and dispatch by offset; and the LIFO teardown list. */
#include "test.h"

#include <errno.h>
#include <stdbool.h>

#include "util/log.h"
#include "vmm/bus.h"
#include "vmm/teardown.h"

struct dev {
    int reads, writes;
    uint64_t last_off;
    unsigned last_len;
    uint8_t last_byte;
};

static void dev_read(void *opaque, uint64_t off, uint8_t *data, unsigned len)
{
    struct dev *d = opaque;
    d->reads++;
    d->last_off = off;
    d->last_len = len;
    memset(data, 0x5a, len);
}

static void dev_write(void *opaque, uint64_t off, const uint8_t *data, unsigned len)
{
    struct dev *d = opaque;
    d->writes++;
    d->last_off = off;
    d->last_len = len;
    d->last_byte = data[0];
}

static struct bus_range range(const char *name, uint64_t base, uint64_t len, struct dev *d)
{
    return (struct bus_range){
        .name = name, .base = base, .len = len, .read = dev_read, .write = dev_write, .opaque = d};
}

static void test_register_rules(void)
{
    struct bus b;
    struct dev d = {0};
    bus_init(&b, "test", 0xff);
    struct bus_range r = range("a", 0x100, 0x10, &d);
    CHECK_EQ(bus_register(&b, &r), 0);
    /* Identical, overlapping either end, inside, around: all refused. */
    uint64_t clash[][2] = {{0x100, 0x10}, {0xf8, 0x10}, {0x10f, 1}, {0x104, 2}, {0x80, 0x100}};
    for (size_t i = 0; i < sizeof(clash) / sizeof(clash[0]); i++) {
        r = range("b", clash[i][0], clash[i][1], &d);
        CHECK_EQ(bus_register(&b, &r), -EEXIST);
    }
    /* Touching ranges on both sides are fine. */
    r = range("below", 0xf0, 0x10, &d);
    CHECK_EQ(bus_register(&b, &r), 0);
    r = range("above", 0x110, 0x10, &d);
    CHECK_EQ(bus_register(&b, &r), 0);
    /* Empty and wrapping ranges. */
    r = range("empty", 0x1000, 0, &d);
    CHECK_EQ(bus_register(&b, &r), -EINVAL);
    r = range("wrap", UINT64_MAX - 1, 4, &d);
    CHECK_EQ(bus_register(&b, &r), -EINVAL);
    r = range("top", UINT64_MAX - 1, 2, &d);
    CHECK_EQ(bus_register(&b, &r), 0);
    CHECK_EQ(b.n, 4);
    for (size_t i = 1; i < b.n; i++)
        CHECK(b.ranges[i - 1].base < b.ranges[i].base);
    bus_free(&b);
}

static void test_dispatch(void)
{
    struct bus b;
    struct dev d1 = {0}, d2 = {0};
    bus_init(&b, "test", 0xff);
    /* Registered out of order. */
    struct bus_range r2 = range("d2", 0x3f8, 8, &d2), r1 = range("d1", 0x60, 5, &d1);
    CHECK_EQ(bus_register(&b, &r2), 0);
    CHECK_EQ(bus_register(&b, &r1), 0);
    uint8_t data[4] = {0xfe, 0, 0, 0};
    CHECK(bus_access(&b, 0x64, true, data, 1));
    CHECK_EQ(d1.writes, 1);
    CHECK_EQ(d1.last_off, 4);
    CHECK_EQ(d1.last_byte, 0xfe);
    CHECK(bus_access(&b, 0x3fd, false, data, 1));
    CHECK_EQ(d2.reads, 1);
    CHECK_EQ(d2.last_off, 5);
    CHECK_EQ(data[0], 0x5a);
    /* The last bytes of a range, with the access wholly inside. */
    CHECK(bus_access(&b, 0x3fc, false, data, 4));
    CHECK_EQ(d2.last_off, 4);
    CHECK_EQ(d2.last_len, 4);
    /* Nothing there, or straddling the end: no device, reads float. */
    memset(data, 0, sizeof(data));
    CHECK(!bus_access(&b, 0x80, false, data, 2));
    CHECK_EQ(data[0], 0xff);
    CHECK_EQ(data[1], 0xff);
    CHECK(!bus_access(&b, 0x3fe, false, data, 4));
    CHECK(!bus_access(&b, 0x5f, true, data, 2));
    CHECK_EQ(d1.writes, 1);
    CHECK_EQ(d2.reads, 2);
    bus_free(&b);
}

static void test_missing_handlers(void)
{
    struct bus b;
    bus_init(&b, "mmio", 0);
    struct bus_range r = {.name = "silent", .base = 0x1000, .len = 0x1000};
    CHECK_EQ(bus_register(&b, &r), 0);
    uint8_t data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    CHECK(bus_access(&b, 0x1800, false, data, 8));
    for (int i = 0; i < 8; i++)
        CHECK_EQ(data[i], 0);
    CHECK(bus_access(&b, 0x1800, true, data, 8)); /* dropped, not a crash */
    bus_free(&b);
}

static int order[8], n_order;

static void note(void *arg)
{
    order[n_order++] = (int)(intptr_t)arg;
}

static void test_teardown_lifo(void)
{
    struct teardown_list t = {0};
    n_order = 0;
    for (intptr_t i = 1; i <= 5; i++)
        CHECK_EQ(teardown_push(&t, note, (void *)i), 0);
    teardown_run(&t);
    CHECK_EQ(n_order, 5);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(order[i], 5 - i);
    /* Empty and reusable after a run. */
    CHECK_EQ(t.n, 0);
    CHECK_EQ(teardown_push(&t, note, (void *)9), 0);
    teardown_run(&t);
    CHECK_EQ(order[5], 9);
}

int main(void)
{
    log_configure(2, LOG_OFF, 0, false);
    RUN(test_register_rules);
    RUN(test_dispatch);
    RUN(test_missing_handlers);
    RUN(test_teardown_lifo);
    return TEST_EXIT();
}
