/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MP table (Intel MultiProcessor Specification 1.4): how a guest
 * without ACPI finds its processors, the IOAPIC and the ISA interrupt
 * wiring. Laid out at the end of base memory, where Linux looks for it.
 */
#include <errno.h>
#include <string.h>

#include "arch/x86_64/boot.h"
#include "arch/x86_64/layout.h"

#define MP_SPEC_REV       4
#define MP_LAPIC_VERSION  0x14
#define MP_IOAPIC_VERSION 0x11
#define MP_ISA_IRQS       16

struct mp_floating {
    char signature[4]; /* "_MP_" */
    uint32_t config_addr;
    uint8_t length; /* in 16-byte units */
    uint8_t spec_rev;
    uint8_t checksum;
    uint8_t features[5];
} __attribute__((packed));

struct mp_config {
    char signature[4]; /* "PCMP" */
    uint16_t length;
    uint8_t spec_rev;
    uint8_t checksum;
    char oem[8];
    char product[12];
    uint32_t oem_table;
    uint16_t oem_table_size;
    uint16_t entry_count;
    uint32_t lapic_addr;
    uint16_t ext_length;
    uint8_t ext_checksum;
    uint8_t reserved;
} __attribute__((packed));

struct mp_cpu {
    uint8_t type; /* 0 */
    uint8_t apic_id;
    uint8_t apic_version;
    uint8_t flags; /* 1: enabled, 2: boot processor */
    uint32_t signature;
    uint32_t features;
    uint32_t reserved[2];
} __attribute__((packed));

struct mp_bus {
    uint8_t type; /* 1 */
    uint8_t bus_id;
    char bus_type[6];
} __attribute__((packed));

struct mp_ioapic {
    uint8_t type; /* 2 */
    uint8_t apic_id;
    uint8_t version;
    uint8_t flags; /* 1: enabled */
    uint32_t addr;
} __attribute__((packed));

struct mp_irq {
    uint8_t type;     /* 3: I/O interrupt, 4: local interrupt */
    uint8_t irq_type; /* 0 INT, 1 NMI, 3 ExtINT */
    uint16_t flags;   /* 0: polarity and trigger conform to the bus */
    uint8_t src_bus;
    uint8_t src_irq;
    uint8_t dst_apic;
    uint8_t dst_pin;
} __attribute__((packed));

static uint8_t checksum(const void *p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + ((const uint8_t *)p)[i]);
    return (uint8_t)-sum;
}

int x86_write_mptable(const struct guest_mem *gm, unsigned n_cpus)
{
    if (n_cpus == 0 || n_cpus > 254)
        return -EINVAL;
    size_t body = n_cpus * sizeof(struct mp_cpu) + sizeof(struct mp_bus) +
                  sizeof(struct mp_ioapic) + MP_ISA_IRQS * sizeof(struct mp_irq) +
                  2 * sizeof(struct mp_irq);
    size_t total = sizeof(struct mp_floating) + sizeof(struct mp_config) + body;
    if (X86_EBDA_ADDR + total > X86_HIMEM_START)
        return -E2BIG;
    uint8_t *base = gm_ptr(gm, X86_EBDA_ADDR, total);
    if (!base)
        return -EFAULT;
    memset(base, 0, total);

    struct mp_floating *mpf = (struct mp_floating *)base;
    struct mp_config *cfg = (struct mp_config *)(mpf + 1);
    uint8_t *p = (uint8_t *)(cfg + 1);
    uint8_t ioapic_id = (uint8_t)n_cpus;
    uint16_t entries = 0;

    for (unsigned i = 0; i < n_cpus; i++, entries++) {
        struct mp_cpu c = {.type = 0,
                           .apic_id = (uint8_t)i,
                           .apic_version = MP_LAPIC_VERSION,
                           .flags = (uint8_t)(1 | (i == 0 ? 2 : 0)),
                           .signature = 0x600, /* family 6 */
                           .features = 0x201 /* FPU, APIC */};
        memcpy(p, &c, sizeof(c));
        p += sizeof(c);
    }
    struct mp_bus bus = {.type = 1, .bus_id = 0};
    memcpy(bus.bus_type, "ISA   ", 6);
    memcpy(p, &bus, sizeof(bus));
    p += sizeof(bus);
    entries++;
    struct mp_ioapic ioapic = {.type = 2,
                               .apic_id = ioapic_id,
                               .version = MP_IOAPIC_VERSION,
                               .flags = 1,
                               .addr = (uint32_t)X86_IOAPIC_ADDR};
    memcpy(p, &ioapic, sizeof(ioapic));
    p += sizeof(ioapic);
    entries++;
    for (uint8_t irq = 0; irq < MP_ISA_IRQS; irq++, entries++) {
        /* KVM wires the PIT (GSI 0) to IOAPIC pin 2, as on a PC; the rest 1:1. */
        struct mp_irq e = {.type = 3,
                           .irq_type = 0,
                           .src_bus = 0,
                           .src_irq = irq,
                           .dst_apic = ioapic_id,
                           .dst_pin = irq == 0 ? 2 : irq};
        memcpy(p, &e, sizeof(e));
        p += sizeof(e);
    }
    struct mp_irq lint[2] = {
        {.type = 4, .irq_type = 3, .dst_apic = 0xff, .dst_pin = 0}, /* ExtINT -> LINT0 */
        {.type = 4, .irq_type = 1, .dst_apic = 0xff, .dst_pin = 1}, /* NMI -> LINT1 */
    };
    memcpy(p, lint, sizeof(lint));
    entries += 2;

    memcpy(cfg->signature, "PCMP", 4);
    cfg->length = (uint16_t)(sizeof(*cfg) + body);
    cfg->spec_rev = MP_SPEC_REV;
    memcpy(cfg->oem, "LIBKRUNC", 8);
    memcpy(cfg->product, "MICROVM     ", 12);
    cfg->entry_count = entries;
    cfg->lapic_addr = (uint32_t)X86_LAPIC_ADDR;
    cfg->checksum = checksum(cfg, cfg->length);

    memcpy(mpf->signature, "_MP_", 4);
    mpf->config_addr = (uint32_t)(X86_EBDA_ADDR + sizeof(*mpf));
    mpf->length = 1;
    mpf->spec_rev = MP_SPEC_REV;
    mpf->checksum = checksum(mpf, sizeof(*mpf));
    return 0;
}
