/* Xattr policy of the passthrough; see pt_policy.h. */
#include "virtio/fs/pt_policy.h"

#include <string.h>

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
