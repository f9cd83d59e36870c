/* SPDX-License-Identifier: Apache-2.0 */
#include "rlimit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Decimal digits at *s up to a byte in stop (or the end); no sign, no
 * blanks, no overflow. */
static int parse_u64(const char **s, const char *stop, uint64_t *out)
{
    const char *p = *s;
    uint64_t v = 0;
    if (*p < '0' || *p > '9')
        return -EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    if (*p != '\0' && !strchr(stop, *p))
        return -EINVAL;
    *s = p;
    *out = v;
    return 0;
}

int rlimit_parse(const char *s, struct rlimit_spec *out)
{
    uint64_t id, cur, max;
    if (parse_u64(&s, "=:", &id) < 0 || (*s != '=' && *s != ':'))
        return -EINVAL;
    s++;
    if (parse_u64(&s, ":", &cur) < 0 || *s != ':')
        return -EINVAL;
    s++;
    if (parse_u64(&s, "", &max) < 0 || *s != '\0')
        return -EINVAL;
    if (id > RLIMIT_ID_MAX || cur > max)
        return -EINVAL;
    out->resource = (int)id;
    out->cur = cur;
    out->max = max;
    return 0;
}

int rlimit_list_add(struct rlimit_list *list, const struct rlimit_spec *spec)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 8;
        if (cap < list->cap || cap > SIZE_MAX / sizeof(*list->v))
            return -ENOMEM;
        struct rlimit_spec *v = realloc(list->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        list->v = v;
        list->cap = cap;
    }
    list->v[list->n++] = *spec;
    return 0;
}

void rlimit_list_free(struct rlimit_list *list)
{
    free(list->v);
    list->v = NULL;
    list->n = list->cap = 0;
}

int rlimit_parse_list(const char *s, struct rlimit_list *list)
{
    size_t len = strlen(s);
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
        s++;
        len -= 2;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, s, len);
    copy[len] = '\0';

    int bad = 0;
    char *item = copy;
    while (item) {
        char *comma = strchr(item, ',');
        if (comma)
            *comma = '\0';
        struct rlimit_spec spec;
        if (*item == '\0') {
            /* "a,,b" or a trailing comma: nothing to apply */
        } else if (rlimit_parse(item, &spec) < 0) {
            bad++;
        } else if (rlimit_list_add(list, &spec) < 0) {
            free(copy);
            return -ENOMEM;
        }
        item = comma ? comma + 1 : NULL;
    }
    free(copy);
    return bad;
}

int rlimit_id_by_name(const char *name)
{
    /* Linux numbering (asm-generic/resource.h), same on x86_64. */
    static const char *const names[RLIMIT_ID_MAX + 1] = {
        "CPU",     "FSIZE", "DATA",  "STACK",      "CORE",     "RSS",  "NPROC",  "NOFILE",
        "MEMLOCK", "AS",    "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME",
    };
    if (strncmp(name, "RLIMIT_", 7) != 0)
        return -1;
    for (int i = 0; i <= RLIMIT_ID_MAX; i++)
        if (strcmp(name + 7, names[i]) == 0)
            return i;
    return -1;
}
