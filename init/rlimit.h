/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resource limits for the workload: the upstream text forms
 * ("ID=CUR:MAX" or "ID:CUR:MAX", numeric Linux resource ids, a comma
 * separated list in KRUN_RLIMITS) and the OCI names ("RLIMIT_NOFILE").
 */
#ifndef KRUN_INIT_RLIMIT_H
#define KRUN_INIT_RLIMIT_H

#include <stddef.h>
#include <stdint.h>

/* Linux has resources 0..15 (RLIMIT_NLIMITS). */
#define RLIMIT_ID_MAX 15

struct rlimit_spec {
    int resource;
    uint64_t cur, max;
};

struct rlimit_list {
    struct rlimit_spec *v;
    size_t n, cap;
};

/* Parse one "ID=CUR:MAX" or "ID:CUR:MAX" (decimal, CUR <= MAX).
 * Returns 0 or -EINVAL. */
int rlimit_parse(const char *s, struct rlimit_spec *out);

/* Parse a KRUN_RLIMITS value: outer double quotes stripped, items comma
 * separated, empty items skipped. Good items are appended to list; the
 * return value is the number of bad items, or -ENOMEM. */
int rlimit_parse_list(const char *s, struct rlimit_list *list);

/* The resource id of an OCI name such as "RLIMIT_NOFILE", or -1. */
int rlimit_id_by_name(const char *name);

int rlimit_list_add(struct rlimit_list *list, const struct rlimit_spec *spec);
void rlimit_list_free(struct rlimit_list *list);

#endif
