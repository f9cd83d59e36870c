/* SPDX-License-Identifier: Apache-2.0 */
/* SRCS: init/rlimit.c */
/*
 * The guest init's rlimit parsers on arbitrary strings: one item
 * ("ID=CUR:MAX" or "ID:CUR:MAX"), a KRUN_RLIMITS list (optionally in
 * double quotes, comma separated, empty items skipped) and the OCI names
 * ("RLIMIT_NOFILE"). Each is compared with a plain reference written here
 * from docs/guest-contract.md: the same items accepted with the same
 * values, the same number refused; every accepted item has an id of 0 to
 * 15 and cur <= max.
 *
 * Input: byte 0 chooses what the rest (as a C string, cut at the first
 * NUL) goes to: bit 0 the list parser (else the item parser), bit 1 also
 * rlimit_id_by_name.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../init/rlimit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *s)
{
    fprintf(stderr, "fuzz_init_rlimit: %s: \"%s\"\n", what, s);
    abort();
}

/* Decimal digits in [p, end): at least one, nothing else, no overflow. */
static bool ref_number(const char *p, const char *end, uint64_t *v)
{
    if (p == end)
        return false;
    uint64_t x = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return false;
        if (__builtin_mul_overflow(x, 10, &x) ||
            __builtin_add_overflow(x, (uint64_t)(*p - '0'), &x))
            return false;
    }
    *v = x;
    return true;
}

/* The reference item parser over [s, end). */
static bool ref_item(const char *s, const char *end, struct rlimit_spec *out)
{
    const char *sep1 = s;
    while (sep1 < end && *sep1 >= '0' && *sep1 <= '9')
        sep1++;
    if (sep1 == end || (*sep1 != '=' && *sep1 != ':'))
        return false;
    const char *sep2 = memchr(sep1 + 1, ':', (size_t)(end - sep1 - 1));
    uint64_t id, cur, max;
    if (!sep2 || !ref_number(s, sep1, &id) || !ref_number(sep1 + 1, sep2, &cur) ||
        !ref_number(sep2 + 1, end, &max))
        return false;
    if (id > 15 || cur > max)
        return false;
    *out = (struct rlimit_spec){.resource = (int)id, .cur = cur, .max = max};
    return true;
}

static bool same(const struct rlimit_spec *a, const struct rlimit_spec *b)
{
    return a->resource == b->resource && a->cur == b->cur && a->max == b->max;
}

static void check_item(const char *s)
{
    struct rlimit_spec got, want;
    bool ok = rlimit_parse(s, &got) == 0;
    if (ok != ref_item(s, s + strlen(s), &want))
        fail(ok ? "accepted a malformed item" : "refused a good item", s);
    if (ok && (!same(&got, &want) || got.resource > RLIMIT_ID_MAX || got.cur > got.max))
        fail("an item read wrong", s);
}

static void check_list(const char *s)
{
    struct rlimit_list list = {0};
    int bad = rlimit_parse_list(s, &list);
    if (bad < 0)
        fail("out of memory", s);
    size_t len = strlen(s);
    const char *p = s, *end = s + len;
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
        p++;
        end--;
    }
    size_t good = 0;
    int refused = 0;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *item_end = comma ? comma : end;
        struct rlimit_spec want;
        if (item_end == p) {
            /* an empty item: skipped */
        } else if (ref_item(p, item_end, &want)) {
            if (good >= list.n || !same(&list.v[good], &want))
                fail("the list's good items differ", s);
            good++;
        } else {
            refused++;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    if (good != list.n || refused != bad)
        fail("the list's counts differ", s);
    for (size_t i = 0; i < list.n; i++)
        if (list.v[i].resource < 0 || list.v[i].resource > RLIMIT_ID_MAX ||
            list.v[i].cur > list.v[i].max)
            fail("a list item with a bad id or cur > max", s);
    rlimit_list_free(&list);
}

static void check_name(const char *s)
{
    /* Linux resource numbering (asm-generic/resource.h). */
    static const char *const names[16] = {
        "CPU",     "FSIZE", "DATA",  "STACK",      "CORE",     "RSS",  "NPROC",  "NOFILE",
        "MEMLOCK", "AS",    "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME",
    };
    int want = -1;
    for (int i = 0; i < 16; i++) {
        char full[32];
        snprintf(full, sizeof(full), "RLIMIT_%s", names[i]);
        if (strcmp(s, full) == 0)
            want = i;
    }
    if (rlimit_id_by_name(s) != want)
        fail("a name read wrong", s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *s = malloc(size);
    if (!s)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    if (data[0] & 1)
        check_list(s);
    else
        check_item(s);
    if (data[0] & 2)
        check_name(s);
    free(s);
    return 0;
}
