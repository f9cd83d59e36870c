/* SPDX-License-Identifier: Apache-2.0 */
/* Xattr policy and device-node records of the passthrough; see pt_policy.h. */
#include "virtio/fs/pt_policy.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool pt_xattr_allowed(const char *name)
{
    if (has_prefix(name, "trusted."))
        return false;
    if (has_prefix(name, "security."))
        return strcmp(name, "security.capability") == 0;
    return !has_prefix(name, PT_XATTR_PRIVATE);
}

size_t pt_xattr_filter(char *list, size_t len)
{
    size_t in = 0, out = 0;
    while (in < len) {
        const char *nul = memchr(list + in, '\0', len - in);
        if (!nul)
            break;
        size_t n = (size_t)(nul - (list + in)) + 1;
        if (pt_xattr_allowed(list + in)) {
            memmove(list + out, list + in, n);
            out += n;
        }
        in += n;
    }
    return out;
}

int pt_devnode_format(const struct pt_devnode *d, char *buf, size_t size)
{
    if ((d->type != S_IFCHR && d->type != S_IFBLK) || (d->perm & ~07777u) ||
        d->major > PT_DEVNODE_MAJOR_MAX || d->minor > PT_DEVNODE_MINOR_MAX)
        return -1;
    char tmp[PT_DEVNODE_VALUE_MAX + 1];
    int n = snprintf(tmp, sizeof(tmp), "%c %04o %u:%u", d->type == S_IFCHR ? 'c' : 'b',
                     (unsigned)d->perm, d->major, d->minor);
    if (n < 0 || (size_t)n > size || n > PT_DEVNODE_VALUE_MAX)
        return -1;
    memcpy(buf, tmp, (size_t)n);
    return n;
}

/* A decimal number at *p (at most max, no sign, no leading zero); advances *p. */
static bool take_dec(const char **p, const char *end, unsigned max, unsigned *out)
{
    const char *s = *p;
    unsigned long v = 0;
    size_t digits = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > max)
            return false;
        s++;
        digits++;
    }
    if (digits == 0 || (digits > 1 && **p == '0'))
        return false;
    *p = s;
    *out = (unsigned)v;
    return true;
}

bool pt_devnode_parse(const char *buf, size_t len, struct pt_devnode *d)
{
    /* Shortest: "c 0000 0:0". */
    if (len < 10 || len > PT_DEVNODE_VALUE_MAX)
        return false;
    const char *p = buf, *end = buf + len;
    struct pt_devnode v;
    if (p[0] == 'c')
        v.type = S_IFCHR;
    else if (p[0] == 'b')
        v.type = S_IFBLK;
    else
        return false;
    if (p[1] != ' ' || p[6] != ' ')
        return false;
    v.perm = 0;
    for (int i = 2; i < 6; i++) {
        if (p[i] < '0' || p[i] > '7')
            return false;
        v.perm = v.perm * 8 + (mode_t)(p[i] - '0');
    }
    p += 7;
    if (!take_dec(&p, end, PT_DEVNODE_MAJOR_MAX, &v.major) || p >= end || *p++ != ':' ||
        !take_dec(&p, end, PT_DEVNODE_MINOR_MAX, &v.minor) || p != end)
        return false;
    *d = v;
    return true;
}
